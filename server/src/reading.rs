//! A sensor reading once checked: what it measures ([`Metric`], with the values that make
//! sense for it), when, and what makes it the same reading when it arrives twice.
//! [`crate::ingest::parse`] makes them from every wire format; the rules, the store and
//! the simulator take them as they are.

use crate::clock::Millis;

/// What a reading measures, and which values make sense for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Metric {
    /// Water meter index, litres.
    WaterTotalL,
    /// Water flowing now, litres per minute.
    WaterFlowLpm,
    /// Gas, percent of the lower explosive limit.
    GasLelPct,
    /// Smoke detector: 0 or 1.
    SmokeAlarm,
    BatteryPct,
    /// "I am alive"; the value is ignored.
    Heartbeat,
    /// Casing opened or device moved: 0 or 1.
    Tamper,
}

impl Metric {
    pub const ALL: [Metric; 7] = [
        Metric::WaterTotalL,
        Metric::WaterFlowLpm,
        Metric::GasLelPct,
        Metric::SmokeAlarm,
        Metric::BatteryPct,
        Metric::Heartbeat,
        Metric::Tamper,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Metric::WaterTotalL => "water_total_l",
            Metric::WaterFlowLpm => "water_flow_lpm",
            Metric::GasLelPct => "gas_lel_pct",
            Metric::SmokeAlarm => "smoke_alarm",
            Metric::BatteryPct => "battery_pct",
            Metric::Heartbeat => "heartbeat",
            Metric::Tamper => "tamper",
        }
    }

    pub fn parse(name: &str) -> Option<Metric> {
        Metric::ALL.into_iter().find(|m| m.as_str() == name)
    }

    /// The number the store keeps: the index in [`Metric::ALL`].
    pub fn code(self) -> i64 {
        Metric::ALL
            .iter()
            .position(|m| *m == self)
            .unwrap_or_default() as i64
    }

    pub fn from_code(code: i64) -> Option<Metric> {
        usize::try_from(code)
            .ok()
            .and_then(|i| Metric::ALL.get(i).copied())
    }

    /// Why `value` cannot be a reading of this metric, if it cannot.
    pub fn check(self, value: f64) -> Result<(), String> {
        if !value.is_finite() {
            return Err("the value is not a finite number".into());
        }
        let range = match self {
            Metric::Heartbeat => return Ok(()),
            Metric::SmokeAlarm | Metric::Tamper => {
                return if value == 0.0 || value == 1.0 {
                    Ok(())
                } else {
                    Err(format!("{} is 0 or 1, not {value}", self.as_str()))
                };
            }
            Metric::WaterTotalL => 0.0..=1e9,
            // A home's supply pipe carries well under 200 l/min.
            Metric::WaterFlowLpm => 0.0..=200.0,
            Metric::GasLelPct | Metric::BatteryPct => 0.0..=100.0,
        };
        if range.contains(&value) {
            Ok(())
        } else {
            Err(format!(
                "{} must lie between {} and {}, not {value}",
                self.as_str(),
                range.start(),
                range.end()
            ))
        }
    }
}

/// What makes a reading the same reading when it arrives twice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Identity {
    /// The device's own counter (JSON readings).
    Seq(u64),
    /// SenML has no counter: the metric and the time identify a record.
    MetricAt,
}

/// One checked reading.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Reading {
    pub device: String,
    pub identity: Identity,
    /// When it was measured.
    pub at: Millis,
    pub metric: Metric,
    pub value: f64,
}
