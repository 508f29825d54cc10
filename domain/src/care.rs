//! Elder homes (独居/高龄老人) and their sensors, as staff see them.
//!
//! Personal data lives here (names, phones, rooms): these types only travel on
//! endpoints for signed-in staff, never on public ones.

use crate::place::Position;
use crate::{CommunityId, Timestamp};
use serde::{Deserialize, Serialize};

/// What a sensor measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum SensorKind {
    /// Smart water meter (物联网远传水表).
    Water,
    /// Gas-leak detector (燃气泄漏报警器).
    Gas,
    /// Smoke detector (烟感报警器).
    Smoke,
}

impl SensorKind {
    pub const ALL: [SensorKind; 3] = [SensorKind::Water, SensorKind::Gas, SensorKind::Smoke];

    pub fn as_str(self) -> &'static str {
        match self {
            SensorKind::Water => "water",
            SensorKind::Gas => "gas",
            SensorKind::Smoke => "smoke",
        }
    }

    pub fn parse(value: &str) -> Option<SensorKind> {
        SensorKind::ALL.into_iter().find(|k| k.as_str() == value)
    }
}

/// How a sensor (or, at its worst, a home) is doing. Ordered from good to bad, so the
/// worst of several is their maximum.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Health {
    Ok,
    /// Low battery, tampering, or a reading worth a look.
    Warning,
    /// No heartbeat within its interval.
    Offline,
    /// An open alert.
    Alarm,
}

impl Health {
    pub const ALL: [Health; 4] = [Health::Ok, Health::Warning, Health::Offline, Health::Alarm];

    pub fn as_str(self) -> &'static str {
        match self {
            Health::Ok => "ok",
            Health::Warning => "warning",
            Health::Offline => "offline",
            Health::Alarm => "alarm",
        }
    }

    pub fn parse(value: &str) -> Option<Health> {
        Health::ALL.into_iter().find(|h| h.as_str() == value)
    }
}

/// A sensor in a home.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Sensor {
    /// Device id, e.g. `wm-000123`.
    pub id: String,
    pub kind: SensorKind,
    pub health: Health,
    pub battery_pct: Option<u8>,
    /// When it last reported.
    pub last_seen: Option<Timestamp>,
}

/// How much care a resident needs, as the community records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum CareLevel {
    /// Lives independently.
    Independent,
    /// Needs regular visits.
    Attention,
    /// Frail or ill: daily checks.
    Intensive,
}

/// A monitored elder home.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Home {
    pub id: String,
    /// The building (layer `buildings`) the home is in.
    pub building: String,
    pub community: CommunityId,
    /// The grid (网格) id, when known.
    pub grid: Option<String>,
    /// Unit (单元), floor and room, e.g. unit 2, floor 3, room `302`.
    pub unit: u16,
    pub floor: i16,
    pub room: String,
    pub resident: String,
    /// Age band such as `80-89`.
    pub age_band: String,
    pub living_alone: bool,
    pub care_level: CareLevel,
    pub phone: Option<String>,
    /// Family or neighbour to call, e.g. `女儿 王敏 139…`.
    pub contact: Option<String>,
    /// `[lon, lat]` inside the building.
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<f64>, min_items = 2, max_items = 2))]
    pub position: Position,
    pub sensors: Vec<Sensor>,
}

impl Home {
    /// The worst health of the home's sensors (`Ok` without sensors).
    pub fn health(&self) -> Health {
        self.sensors
            .iter()
            .map(|s| s.health)
            .max()
            .unwrap_or(Health::Ok)
    }
}

/// `POST /api/v1/homes/{id}/check-ins`: somebody saw the elder (看望).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewCheckIn {
    /// When the elder was seen; now when left out. Today or yesterday.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<Timestamp>,
    /// Up to [`crate::limits::NOTE_CHARS`] characters.
    #[serde(default)]
    pub note: String,
}

/// A check-in as recorded: the answer to `POST /api/v1/homes/{id}/check-ins`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CheckIn {
    pub home: String,
    pub at: Timestamp,
    /// The username of whoever recorded it.
    pub by: String,
    pub note: String,
}

/// Some alarm thresholds changed from what applies above them (`PUT
/// /api/v1/thresholds`, `PUT /api/v1/homes/{id}/thresholds`): a JSON object of the
/// server's threshold fields, checked by the server's rules.
pub type ThresholdOverrides = serde_json::Map<String, serde_json::Value>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_worst_sensor_is_the_home_health() {
        assert!(
            Health::Alarm > Health::Offline
                && Health::Offline > Health::Warning
                && Health::Warning > Health::Ok
        );
        for h in Health::ALL {
            assert_eq!(Health::parse(h.as_str()), Some(h));
            assert_eq!(
                serde_json::to_string(&h).unwrap(),
                format!("\"{}\"", h.as_str())
            );
        }
    }
}
