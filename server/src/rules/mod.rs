//! The sensor rules: pure functions of a home's state, a reading or the time, and the
//! [`Thresholds`] that apply to the home. They never read a clock or a database; they
//! say what they see as [`Signal`]s ("gas is present", "the water meter is quiet no
//! longer"), and `crate::alerts` turns signals into alerts, one open alert per home and
//! kind.
//!
//! - [`on_reading`]: gas and smoke (critical at once), tampering, battery, water use and
//!   continuous flow, and a device coming back online.
//! - [`on_tick`]: what only the passing of time shows: a device gone silent, a water
//!   meter quiet while the home is normally active, a missed morning check-in; and the
//!   day's water use learned into the home's own pattern ([`water::Pattern`]).
//!
//! Hysteresis lives here: gas raises at [`Thresholds::gas_alarm_pct`] and clears only
//! below [`Thresholds::gas_clear_pct`], a battery is low below one level and fine again
//! only above a higher one, and each time-based condition is raised once per episode.

pub mod water;

use crate::clock::Millis;
use crate::reading::{Metric, Reading};
use linli_domain::alerts::AlertKind;
use linli_domain::care::SensorKind;
use linli_domain::care::ThresholdOverrides;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

pub const MINUTE_MS: Millis = 60 * 1000;
pub const HOUR_MS: Millis = 60 * MINUTE_MS;
pub const DAY_MS: Millis = 24 * HOUR_MS;

/// The limits the rules apply. The district sets them; a home may override them,
/// within the hard bounds and tighter directions of [`LIMITS`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Thresholds {
    /// Local time is UTC plus this (China: 8 hours).
    pub utc_offset_ms: Millis,
    /// Gas at or above this % LEL raises a critical alert …
    pub gas_alarm_pct: f64,
    /// … and the condition clears only below this.
    pub gas_clear_pct: f64,
    pub battery_low_pct: f64,
    /// A low battery counts as fine again only above this.
    pub battery_ok_pct: f64,
    /// A device that sent nothing for this long is offline (three missed heartbeats of
    /// the usual 15 minutes).
    pub offline_after_ms: Millis,
    /// Flow at or above this (litres per minute) counts as water running.
    pub flow_min_lpm: f64,
    /// Water running without a break for this long raises "continuous flow".
    pub continuous_flow_ms: Millis,
    /// "No water use" is raised once the home, by its own pattern, would have used
    /// water in this many hours since its last use (see [`water::Pattern`]).
    pub no_use_expected_hours: f64,
    /// … or, whatever the pattern, after this long without use.
    pub no_use_max_ms: Millis,
    /// A day's use above this multiple of the home's usual day …
    pub unusual_use_factor: f64,
    /// … and above this many litres is unusual.
    pub unusual_use_min_l: f64,
    /// Whether the home needs a morning check-in (晨安) recorded every day.
    pub check_in_required: bool,
    /// The check-in is due by this local time, minutes after midnight (09:30).
    pub check_in_by_minute: u32,
    /// A critical alert nobody acknowledged for this long is escalated.
    pub escalate_unacknowledged_ms: Millis,
    /// A condition that returns within this time of its alert clearing reopens that
    /// alert instead of raising a new one (flapping does not spam).
    pub reopen_within_ms: Millis,
}

impl Default for Thresholds {
    fn default() -> Self {
        Self {
            utc_offset_ms: 8 * HOUR_MS,
            gas_alarm_pct: 20.0,
            gas_clear_pct: 10.0,
            battery_low_pct: 15.0,
            battery_ok_pct: 25.0,
            offline_after_ms: 45 * MINUTE_MS,
            flow_min_lpm: 0.3,
            continuous_flow_ms: 60 * MINUTE_MS,
            no_use_expected_hours: 3.0,
            no_use_max_ms: 24 * HOUR_MS,
            unusual_use_factor: 3.0,
            unusual_use_min_l: 300.0,
            check_in_required: false,
            check_in_by_minute: 9 * 60 + 30,
            escalate_unacknowledged_ms: 5 * MINUTE_MS,
            reopen_within_ms: 30 * MINUTE_MS,
        }
    }
}

/// Which way a threshold moves to raise more alarms, sooner: "tighter". Anyone who
/// may change a home's thresholds may tighten them; loosening (the other way) is for
/// commanders, with a reason (see [`loosened`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tighter {
    /// A lower value is tighter.
    Lower,
    /// A higher value is tighter (`true` above `false`).
    Higher,
    /// The check-in time: earlier is tighter, but only while a check-in is required
    /// both before and after the change; without one the time raises nothing.
    EarlierCheckIn,
    /// Each way silences some rule, so any change loosens.
    Neither,
    /// Not a threshold: nobody changes it through the API (it is refused).
    Fixed,
}

/// The unit a threshold is given in, for messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Unit {
    Millis,
    Percent,
    LitresPerMinute,
    Litres,
    Hours,
    Factor,
    Flag,
    MinuteOfDay,
}

/// One threshold's hard bounds and tighter direction.
#[derive(Debug, Clone, Copy)]
pub struct Limit {
    pub field: &'static str,
    pub tighter: Tighter,
    /// The least value anyone may set (inclusive) …
    pub min: f64,
    /// … and the most (inclusive): safe bounds that not even a commander passes.
    pub max: f64,
    /// Why the bounds lie there.
    pub why: &'static str,
    unit: Unit,
    value: fn(&Thresholds) -> f64,
}

impl Limit {
    /// This threshold's value in `t`, as a number (`true` is 1).
    pub fn of(&self, t: &Thresholds) -> f64 {
        (self.value)(t)
    }

    /// A value of this threshold for people: `3600000 ms (1 h)`, `25 % LEL`, …
    fn show(&self, value: f64) -> String {
        match self.unit {
            Unit::Millis => {
                let ms = value as i64;
                let human = if ms % HOUR_MS == 0 {
                    format!("{} h", ms / HOUR_MS)
                } else {
                    format!("{} min", ms / MINUTE_MS)
                };
                format!("{ms} ms ({human})")
            }
            Unit::Percent => format!("{value} %"),
            Unit::LitresPerMinute => format!("{value} l/min"),
            Unit::Litres => format!("{value} litres"),
            Unit::Hours => format!("{value} hours"),
            Unit::Factor => format!("{value}×"),
            Unit::Flag => (value != 0.0).to_string(),
            Unit::MinuteOfDay => {
                let m = value as i64;
                format!("{m} ({:02}:{:02})", m / 60, m % 60)
            }
        }
    }
}

/// Every threshold with its hard bounds and its tighter direction: the one place
/// that says how far and which way each may move. The bounds hold for the district
/// and for every home, whoever changes them; they keep an alarm from being switched
/// off by a "threshold" it can never reach, and every time small enough that adding
/// it to a time cannot overflow.
pub const LIMITS: [Limit; 16] = [
    Limit {
        field: "utc_offset_ms",
        tighter: Tighter::Fixed,
        min: -14.0 * HOUR_MS as f64,
        max: 14.0 * HOUR_MS as f64,
        why: "it is the district's clock (China, UTC+8), not a threshold: moving it would move every check-in deadline and day boundary",
        unit: Unit::Millis,
        value: |t| t.utc_offset_ms as f64,
    },
    Limit {
        field: "gas_alarm_pct",
        tighter: Tighter::Lower,
        min: 1.0,
        max: 25.0,
        why: "a gas alarm looser than 25 % of the lower explosive limit may sound too late; below 1 % a sensor's own noise sets it off",
        unit: Unit::Percent,
        value: |t| t.gas_alarm_pct,
    },
    Limit {
        field: "gas_clear_pct",
        // Gas counts as gone only below this: lower keeps the alarm standing longer,
        // and staff are not told "cleared" while gas is still near the alarm level.
        tighter: Tighter::Lower,
        min: 0.0,
        max: 24.0,
        why: "gas counts as gone only below it, and it must lie below the alarm level",
        unit: Unit::Percent,
        value: |t| t.gas_clear_pct,
    },
    Limit {
        field: "battery_low_pct",
        tighter: Tighter::Higher,
        min: 5.0,
        max: 90.0,
        why: "below 5 % a battery may die before anyone changes it",
        unit: Unit::Percent,
        value: |t| t.battery_low_pct,
    },
    Limit {
        field: "battery_ok_pct",
        // A low battery counts as fine again only above this: higher keeps it low.
        tighter: Tighter::Higher,
        min: 6.0,
        max: 100.0,
        why: "a battery is fine again only above its low level, at most when full",
        unit: Unit::Percent,
        value: |t| t.battery_ok_pct,
    },
    Limit {
        field: "offline_after_ms",
        tighter: Tighter::Lower,
        min: 15.0 * MINUTE_MS as f64,
        max: DAY_MS as f64,
        why: "a sensor silent for a day must be missed; under one heartbeat (15 min) healthy sensors would count as offline",
        unit: Unit::Millis,
        value: |t| t.offline_after_ms as f64,
    },
    Limit {
        field: "flow_min_lpm",
        // Lower makes a trickle count as running water (continuous flow sooner), but
        // also as use (a quiet home later): each way silences one rule.
        tighter: Tighter::Neither,
        min: 0.05,
        max: 5.0,
        why: "below 0.05 l/min a meter's noise runs; above 5 l/min an open tap does not count",
        unit: Unit::LitresPerMinute,
        value: |t| t.flow_min_lpm,
    },
    Limit {
        field: "continuous_flow_ms",
        tighter: Tighter::Lower,
        min: 10.0 * MINUTE_MS as f64,
        max: 4.0 * HOUR_MS as f64,
        why: "water running 4 hours floods a flat; under 10 minutes every shower is raised",
        unit: Unit::Millis,
        value: |t| t.continuous_flow_ms as f64,
    },
    Limit {
        field: "no_use_expected_hours",
        tighter: Tighter::Lower,
        min: 1.0,
        max: 24.0,
        why: "the hours of use a home would usually have had: at least one, at most a day's",
        unit: Unit::Hours,
        value: |t| t.no_use_expected_hours,
    },
    Limit {
        field: "no_use_max_ms",
        tighter: Tighter::Lower,
        min: 2.0 * HOUR_MS as f64,
        max: 2.0 * DAY_MS as f64,
        why: "nobody may go unnoticed for more than two days without water; under 2 hours a nap is raised",
        unit: Unit::Millis,
        value: |t| t.no_use_max_ms as f64,
    },
    Limit {
        field: "unusual_use_factor",
        tighter: Tighter::Lower,
        min: 1.5,
        max: 20.0,
        why: "under 1.5× the usual day is ordinary; above 20× a burst pipe goes unnoticed",
        unit: Unit::Factor,
        value: |t| t.unusual_use_factor,
    },
    Limit {
        field: "unusual_use_min_l",
        tighter: Tighter::Lower,
        min: 0.0,
        max: 2_000.0,
        why: "a home using 2,000 litres in a day has a leak whatever its usual day",
        unit: Unit::Litres,
        value: |t| t.unusual_use_min_l,
    },
    Limit {
        field: "check_in_required",
        tighter: Tighter::Higher,
        min: 0.0,
        max: 1.0,
        why: "true or false",
        unit: Unit::Flag,
        value: |t| f64::from(u8::from(t.check_in_required)),
    },
    Limit {
        field: "check_in_by_minute",
        tighter: Tighter::EarlierCheckIn,
        min: 0.0,
        max: (24 * 60 - 1) as f64,
        why: "a time of day in minutes after midnight (0–1439)",
        unit: Unit::MinuteOfDay,
        value: |t| f64::from(t.check_in_by_minute),
    },
    Limit {
        field: "escalate_unacknowledged_ms",
        tighter: Tighter::Lower,
        min: MINUTE_MS as f64,
        max: HOUR_MS as f64,
        why: "a critical alert nobody answers must reach the office within the hour; under a minute nobody can answer first",
        unit: Unit::Millis,
        value: |t| t.escalate_unacknowledged_ms as f64,
    },
    Limit {
        field: "reopen_within_ms",
        // Shorter: a condition that comes back is a new alert (with its banner and
        // sound) rather than the old one reopened.
        tighter: Tighter::Lower,
        min: MINUTE_MS as f64,
        max: 2.0 * HOUR_MS as f64,
        why: "under a minute a flapping sensor floods the office with alerts; cleared alerts are remembered for 2 hours",
        unit: Unit::Millis,
        value: |t| t.reopen_within_ms as f64,
    },
];

/// The limit of a field, if it is one.
pub fn limit(field: &str) -> Option<&'static Limit> {
    LIMITS.iter().find(|l| l.field == field)
}

/// Why thresholds cannot be what was asked: the fields concerned (the first is the
/// one to blame) and a sentence naming them and the bound.
#[derive(Debug, Clone, PartialEq)]
pub struct Refusal {
    pub fields: Vec<String>,
    pub message: String,
}

impl Refusal {
    fn new(fields: &[&str], message: String) -> Self {
        Self {
            fields: fields.iter().map(|f| f.to_string()).collect(),
            message,
        }
    }
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// The fields of `to` that are looser than in `from`, in [`LIMITS`] order: a change
/// from `from` to `to` with any is a loosening (commanders only, with a reason).
pub fn loosened(from: &Thresholds, to: &Thresholds) -> Vec<&'static str> {
    LIMITS
        .iter()
        .filter(|l| {
            let (before, after) = (l.of(from), l.of(to));
            match l.tighter {
                Tighter::Lower => after > before,
                Tighter::Higher => after < before,
                Tighter::EarlierCheckIn => {
                    from.check_in_required && to.check_in_required && after > before
                }
                Tighter::Neither | Tighter::Fixed => after != before,
            }
        })
        .map(|l| l.field)
        .collect()
}

impl Thresholds {
    /// These thresholds with `overrides` applied, or why that makes no sense (an
    /// unknown or fixed field, a wrong type, a value beyond its bounds).
    pub fn with(&self, overrides: &ThresholdOverrides) -> Result<Thresholds, String> {
        self.try_with(overrides).map_err(|r| r.message)
    }

    /// [`Thresholds::with`], saying which field is to blame.
    pub fn try_with(&self, overrides: &ThresholdOverrides) -> Result<Thresholds, Refusal> {
        let fields = match serde_json::to_value(self) {
            Ok(serde_json::Value::Object(fields)) => fields,
            _ => return Err(Refusal::new(&[], "thresholds are not an object".into())),
        };
        // Each field on its own first, so that a refusal names it.
        for (field, value) in overrides {
            let Some(limit) = limit(field) else {
                let known: Vec<&str> = LIMITS.iter().map(|l| l.field).collect();
                return Err(Refusal::new(
                    &[field],
                    format!(
                        "unknown field `{field}`; thresholds are {}",
                        known.join(", ")
                    ),
                ));
            };
            if limit.tighter == Tighter::Fixed {
                return Err(Refusal::new(
                    &[field],
                    format!("{field} cannot be changed: {}", limit.why),
                ));
            }
            let mut one = fields.clone();
            one.insert(field.clone(), value.clone());
            if let Err(e) = serde_json::from_value::<Thresholds>(serde_json::Value::Object(one)) {
                return Err(Refusal::new(&[field], format!("{field}: {e}")));
            }
        }
        let mut merged = fields;
        merged.extend(overrides.iter().map(|(k, v)| (k.clone(), v.clone())));
        let merged: Thresholds = serde_json::from_value(serde_json::Value::Object(merged))
            .map_err(|e| Refusal::new(&[], e.to_string()))?;
        merged.refusal().map_or(Ok(merged), Err)
    }

    /// These thresholds with as much of `overrides` as makes sense: fields are dropped,
    /// one at a time, until the rest does (for overrides stored before a bound
    /// existed). Returns the thresholds, the overrides kept and the refusals of the
    /// fields dropped.
    pub fn with_sensible(
        &self,
        overrides: &ThresholdOverrides,
    ) -> (Thresholds, ThresholdOverrides, Vec<Refusal>) {
        let mut kept = overrides.clone();
        let mut dropped = Vec::new();
        loop {
            match self.try_with(&kept) {
                Ok(t) => return (t, kept, dropped),
                Err(refusal) => {
                    let blamed = refusal
                        .fields
                        .iter()
                        .find(|f| kept.contains_key(*f))
                        .cloned();
                    dropped.push(refusal);
                    match blamed {
                        Some(field) => {
                            kept.remove(&field);
                        }
                        // Nothing of the overrides to blame: what applies above stands.
                        None => return (self.clone(), ThresholdOverrides::new(), dropped),
                    }
                }
            }
        }
    }

    /// Why these thresholds make no sense, if they do not.
    pub fn check(&self) -> Result<(), String> {
        self.refusal().map_or(Ok(()), |r| Err(r.message))
    }

    /// Why these thresholds make no sense: a field beyond its bounds (see [`LIMITS`]),
    /// or two that contradict each other.
    pub fn refusal(&self) -> Option<Refusal> {
        for l in &LIMITS {
            let value = l.of(self);
            // NaN is beyond every bound.
            if value.is_nan() || value < l.min {
                return Some(Refusal::new(
                    &[l.field],
                    format!(
                        "{} must be at least {}, not {}: {}",
                        l.field,
                        l.show(l.min),
                        l.show(value),
                        l.why
                    ),
                ));
            }
            if value > l.max {
                return Some(Refusal::new(
                    &[l.field],
                    format!(
                        "{} must be at most {}, not {}: {}",
                        l.field,
                        l.show(l.max),
                        l.show(value),
                        l.why
                    ),
                ));
            }
        }
        if self.gas_clear_pct >= self.gas_alarm_pct {
            return Some(Refusal::new(
                &["gas_clear_pct", "gas_alarm_pct"],
                format!(
                    "gas_clear_pct ({}) must lie below gas_alarm_pct ({})",
                    self.gas_clear_pct, self.gas_alarm_pct
                ),
            ));
        }
        if self.battery_ok_pct <= self.battery_low_pct {
            return Some(Refusal::new(
                &["battery_ok_pct", "battery_low_pct"],
                format!(
                    "battery_ok_pct ({}) must lie above battery_low_pct ({})",
                    self.battery_ok_pct, self.battery_low_pct
                ),
            ));
        }
        None
    }

    /// The local day number of a moment (days since 1970-01-01, local time).
    pub fn local_day(&self, at: Millis) -> i64 {
        (at + self.utc_offset_ms).div_euclid(DAY_MS)
    }

    /// Minutes since local midnight.
    pub fn local_minute(&self, at: Millis) -> u32 {
        ((at + self.utc_offset_ms).rem_euclid(DAY_MS) / MINUTE_MS) as u32
    }
}

/// A condition a rule sees, or sees gone.
#[derive(Debug, Clone, PartialEq)]
pub struct Signal {
    pub kind: AlertKind,
    /// `true`: the condition holds; `false`: it cleared.
    pub present: bool,
    pub device: Option<String>,
    pub value: Option<f64>,
    /// For staff, in a sentence.
    pub detail: String,
}

impl Signal {
    fn raise(kind: AlertKind, device: Option<&str>, value: Option<f64>, detail: String) -> Self {
        Self {
            kind,
            present: true,
            device: device.map(str::to_string),
            value,
            detail,
        }
    }

    fn clear(kind: AlertKind, device: Option<&str>) -> Self {
        Self {
            kind,
            present: false,
            device: device.map(str::to_string),
            value: None,
            detail: String::new(),
        }
    }
}

/// What the rules remember of one device.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeviceState {
    pub kind: SensorKind,
    /// The time of its newest reading.
    pub last_at: Option<Millis>,
    /// The time of its newest reading of each metric (by name): an older one arriving
    /// later is late.
    #[serde(default)]
    pub metric_at: BTreeMap<String, Millis>,
    pub battery_pct: Option<f64>,
    pub battery_low: bool,
    pub tampered: bool,
    pub gas_present: bool,
    pub smoke_present: bool,
    pub offline: bool,
}

impl DeviceState {
    pub fn new(kind: SensorKind) -> Self {
        Self {
            kind,
            last_at: None,
            metric_at: BTreeMap::new(),
            battery_pct: None,
            battery_low: false,
            tampered: false,
            gas_present: false,
            smoke_present: false,
            offline: false,
        }
    }
}

/// What the rules remember of one home.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct HomeState {
    pub devices: BTreeMap<String, DeviceState>,
    pub water: water::WaterState,
    /// The local day of the last morning check-in recorded.
    pub checked_in_day: Option<i64>,
    /// The local day a missed check-in was last raised for.
    pub missed_check_in_day: Option<i64>,
}

fn local_clock(t: &Thresholds, at: Millis) -> String {
    let minute = t.local_minute(at);
    format!("{:02}:{:02}", minute / 60, minute % 60)
}

/// What one reading shows. A reading older than the device's newest one of the same
/// metric (late, or out of order) is kept by the store but changes nothing here: newer
/// readings already told the rules more. Only a late gas or smoke alarm is still raised.
pub fn on_reading(state: &mut HomeState, reading: &Reading, t: &Thresholds, out: &mut Vec<Signal>) {
    let from = out.len();
    device_reading(state, reading, t, out);
    // The home's alert of a kind clears only when no other device still shows it.
    let said: Vec<Signal> = out
        .drain(from..)
        .filter(|s| s.present || !still_shown(state, s.kind))
        .collect();
    out.extend(said);
}

/// Whether some device of the home still shows a device condition.
fn still_shown(state: &HomeState, kind: AlertKind) -> bool {
    state.devices.values().any(|d| match kind {
        AlertKind::Offline => d.offline,
        AlertKind::LowBattery => d.battery_low,
        AlertKind::Tamper => d.tampered,
        AlertKind::Gas => d.gas_present,
        AlertKind::Smoke => d.smoke_present,
        _ => false,
    })
}

fn device_reading(state: &mut HomeState, reading: &Reading, t: &Thresholds, out: &mut Vec<Signal>) {
    let Some(device) = state.devices.get_mut(&reading.device) else {
        return;
    };
    let id = Some(reading.device.as_str());
    let value = reading.value;
    let metric = reading.metric.as_str();
    if device
        .metric_at
        .get(metric)
        .is_some_and(|last| reading.at < *last)
    {
        // Late: a newer reading of this metric already told more. Only an alarm is
        // still worth raising (a gas spike is news even when it has passed).
        let alarm = match reading.metric {
            Metric::GasLelPct => value >= t.gas_alarm_pct,
            Metric::SmokeAlarm => value >= 1.0,
            _ => false,
        };
        if alarm {
            let kind = if reading.metric == Metric::GasLelPct {
                AlertKind::Gas
            } else {
                AlertKind::Smoke
            };
            let detail = format!(
                "{} reported late: {value:.0} at {}",
                metric,
                local_clock(t, reading.at)
            );
            out.push(Signal::raise(kind, id, Some(value), detail));
        }
        return;
    }
    device.metric_at.insert(metric.to_string(), reading.at);
    device.last_at = Some(
        device
            .last_at
            .map_or(reading.at, |last| last.max(reading.at)),
    );
    if device.offline {
        device.offline = false;
        out.push(Signal::clear(AlertKind::Offline, id));
    }
    match reading.metric {
        Metric::Heartbeat => {}
        Metric::BatteryPct => {
            device.battery_pct = Some(value);
            if !device.battery_low && value < t.battery_low_pct {
                device.battery_low = true;
                out.push(Signal::raise(
                    AlertKind::LowBattery,
                    id,
                    Some(value),
                    format!("battery at {value:.0} %"),
                ));
            } else if device.battery_low && value > t.battery_ok_pct {
                device.battery_low = false;
                out.push(Signal::clear(AlertKind::LowBattery, id));
            }
        }
        Metric::Tamper => {
            let tampered = value >= 1.0;
            if tampered != device.tampered {
                device.tampered = tampered;
                out.push(if tampered {
                    Signal::raise(
                        AlertKind::Tamper,
                        id,
                        None,
                        "the device reports its casing opened or moved".into(),
                    )
                } else {
                    Signal::clear(AlertKind::Tamper, id)
                });
            }
        }
        Metric::GasLelPct => {
            if value >= t.gas_alarm_pct {
                device.gas_present = true;
                out.push(Signal::raise(
                    AlertKind::Gas,
                    id,
                    Some(value),
                    format!("gas at {value:.0} % of the lower explosive limit"),
                ));
            } else if device.gas_present && value < t.gas_clear_pct {
                device.gas_present = false;
                out.push(Signal::clear(AlertKind::Gas, id));
            }
        }
        Metric::SmokeAlarm => {
            let smoke = value >= 1.0;
            if smoke {
                device.smoke_present = true;
                out.push(Signal::raise(
                    AlertKind::Smoke,
                    id,
                    Some(value),
                    "the smoke detector is sounding".into(),
                ));
            } else if device.smoke_present {
                device.smoke_present = false;
                out.push(Signal::clear(AlertKind::Smoke, id));
            }
        }
        Metric::WaterTotalL => {
            if state.water.meter_index(reading.at, value, t) {
                water_used(state, id, t, out);
            }
        }
        Metric::WaterFlowLpm => {
            let running = value >= t.flow_min_lpm;
            if running {
                state.water.mark_use(reading.at, 0.0, t);
                water_used(state, id, t, out);
            }
            match (running, state.water.flow_since) {
                (true, None) => state.water.flow_since = Some(reading.at),
                (true, Some(since))
                    if reading.at - since >= t.continuous_flow_ms && !state.water.flow_raised =>
                {
                    state.water.flow_raised = true;
                    out.push(Signal::raise(
                        AlertKind::ContinuousFlow,
                        id,
                        Some(value),
                        format!(
                            "water has run without a break since {} ({value:.1} l/min now)",
                            local_clock(t, since)
                        ),
                    ));
                }
                (false, Some(_)) => {
                    state.water.flow_since = None;
                    state.water.flow_raised = false;
                    out.push(Signal::clear(AlertKind::ContinuousFlow, id));
                }
                _ => {}
            }
        }
    }
}

/// After water was used: a quiet meter is quiet no longer, and a day far above the
/// home's pattern is unusual.
fn water_used(state: &mut HomeState, device: Option<&str>, t: &Thresholds, out: &mut Vec<Signal>) {
    if state.water.quiet_raised_since.take().is_some() {
        out.push(Signal::clear(AlertKind::NoWaterUse, device));
    }
    if let Some(litres) = state.water.unusual_today(t) {
        out.push(Signal::raise(
            AlertKind::UnusualWaterUse,
            device,
            Some(litres),
            format!(
                "{litres:.0} litres today, more than {:.0}× the home's usual day",
                t.unusual_use_factor
            ),
        ));
    }
}

/// What the passing of time shows at `now`.
pub fn on_tick(state: &mut HomeState, now: Millis, t: &Thresholds, out: &mut Vec<Signal>) {
    state.water.roll_day(now, t);
    let mut water_device = None;
    for (id, device) in &mut state.devices {
        let silent_since = device
            .last_at
            .filter(|last| now - last > t.offline_after_ms);
        if let (Some(last), false) = (silent_since, device.offline) {
            device.offline = true;
            out.push(Signal::raise(
                AlertKind::Offline,
                Some(id),
                None,
                format!("no word from the device since {}", local_clock(t, last)),
            ));
        }
        if device.kind == SensorKind::Water && !device.offline && device.last_at.is_some() {
            water_device = Some(id.as_str());
        }
    }
    if let Some(device) = water_device {
        if let Some((since, expected)) = state.water.quiet_for(now, t) {
            out.push(Signal::raise(
                AlertKind::NoWaterUse,
                Some(device),
                Some(expected),
                format!(
                    "no water used since {}, though the home would usually have used water in about {expected:.0} hours since",
                    local_clock(t, since)
                ),
            ));
        }
    }
    let today = t.local_day(now);
    if t.check_in_required
        && t.local_minute(now) >= t.check_in_by_minute
        && state.checked_in_day != Some(today)
        && state.missed_check_in_day != Some(today)
    {
        state.missed_check_in_day = Some(today);
        out.push(Signal::raise(
            AlertKind::MissedCheckIn,
            None,
            None,
            format!(
                "no morning check-in recorded by {:02}:{:02}",
                t.check_in_by_minute / 60,
                t.check_in_by_minute % 60
            ),
        ));
    }
}

/// Staff or a volunteer recorded the morning check-in.
pub fn on_check_in(state: &mut HomeState, at: Millis, t: &Thresholds, out: &mut Vec<Signal>) {
    state.checked_in_day = Some(t.local_day(at));
    out.push(Signal::clear(AlertKind::MissedCheckIn, None));
}

#[cfg(test)]
mod tests;
