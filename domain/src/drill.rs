//! Drills (应急演练): a commander makes a chosen home go quiet, leak gas or miss its
//! morning check-in, so that journeys 1 and 2 can be practised on the real system. A
//! drill raises the alert the rule would raise, marked as a drill; everything after it
//! (acknowledging, calling, escalating into a case, dispatching, notifications) works
//! as for a real alert, shown as a drill on every screen and message and counted in no
//! figure. Ending the drill resolves its alert and closes its case. A drill never
//! touches readings (the home's learned pattern stays as it was), and never stands in
//! for a real alert: the home's real alerts of the same kind are raised beside it.

use crate::alerts::{Alert, AlertKind};
use serde::{Deserialize, Serialize};

named_enum!(
    /// What the drill makes happen at the home.
    DrillScenario {
        /// The water meter goes quiet: a "no water use" warning.
        NoWater = "no-water",
        /// The gas detector alarms: a critical gas alert.
        Gas = "gas",
        /// Nobody records the morning check-in: a "missed check-in" warning.
        MissedCheckIn = "missed-check-in",
    }
);

impl DrillScenario {
    /// The alert the rule would raise.
    pub fn alert_kind(self) -> AlertKind {
        match self {
            DrillScenario::NoWater => AlertKind::NoWaterUse,
            DrillScenario::Gas => AlertKind::Gas,
            DrillScenario::MissedCheckIn => AlertKind::MissedCheckIn,
        }
    }

    /// The scenario whose alert is of `kind`, if one.
    pub fn of_kind(kind: AlertKind) -> Option<DrillScenario> {
        Self::ALL.iter().copied().find(|s| s.alert_kind() == kind)
    }
}

/// `POST /api/v1/drills`: starts a drill at a home.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct StartDrill {
    pub home: String,
    pub scenario: DrillScenario,
}

/// A drill: its alert, as it stands (`GET /api/v1/drills`, the answer of starting and
/// ending one). Its id is the alert's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Drill {
    pub id: i64,
    pub scenario: DrillScenario,
    pub alert: Alert,
    /// Whether the drill is still on: its alert waits for a person, or its case is open.
    pub running: bool,
}

/// Prefixed to the headline of every notification of a drill's alert.
pub const DRILL_MARK_ZH: &str = "【演练】";
