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
use crate::ingest::parse::{Metric, Reading};
use linli_domain::alerts::AlertKind;
use linli_domain::care::SensorKind;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

pub const MINUTE_MS: Millis = 60 * 1000;
pub const HOUR_MS: Millis = 60 * MINUTE_MS;
pub const DAY_MS: Millis = 24 * HOUR_MS;

/// The limits the rules apply. The district sets them; a home may override them.
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

/// Some thresholds changed from what applies above them: a JSON object of
/// [`Thresholds`] fields (the district's, over the defaults; a home's, over the
/// district's).
pub type Overrides = serde_json::Map<String, serde_json::Value>;

impl Thresholds {
    /// These thresholds with `overrides` applied, or why that makes no sense (an
    /// unknown field, a wrong type, a value out of range).
    pub fn with(&self, overrides: &Overrides) -> Result<Thresholds, String> {
        let mut fields = match serde_json::to_value(self) {
            Ok(serde_json::Value::Object(fields)) => fields,
            _ => return Err("thresholds are not an object".into()),
        };
        fields.extend(overrides.iter().map(|(k, v)| (k.clone(), v.clone())));
        let merged: Thresholds =
            serde_json::from_value(serde_json::Value::Object(fields)).map_err(|e| e.to_string())?;
        merged.check()?;
        Ok(merged)
    }

    /// Why these thresholds make no sense, if they do not.
    pub fn check(&self) -> Result<(), String> {
        let positive = [
            ("offline_after_ms", self.offline_after_ms),
            ("continuous_flow_ms", self.continuous_flow_ms),
            ("no_use_max_ms", self.no_use_max_ms),
            (
                "escalate_unacknowledged_ms",
                self.escalate_unacknowledged_ms,
            ),
        ];
        if let Some((name, _)) = positive.iter().find(|(_, v)| *v <= 0) {
            return Err(format!("{name} must be positive"));
        }
        if !(0.0..=100.0).contains(&self.gas_clear_pct) || self.gas_clear_pct >= self.gas_alarm_pct
        {
            return Err("gas_clear_pct must lie below gas_alarm_pct, within 0–100".into());
        }
        if self.battery_ok_pct <= self.battery_low_pct {
            return Err("battery_ok_pct must lie above battery_low_pct".into());
        }
        if self.no_use_expected_hours <= 0.0 || self.unusual_use_factor <= 1.0 {
            return Err(
                "no_use_expected_hours must be positive and unusual_use_factor above 1".into(),
            );
        }
        if self.check_in_by_minute >= 24 * 60 {
            return Err("check_in_by_minute must be a time of day (0–1439)".into());
        }
        if self.utc_offset_ms.abs() > 14 * HOUR_MS {
            return Err("utc_offset_ms must lie within ±14 hours".into());
        }
        Ok(())
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
