//! The rules over simulated days: a home with a water meter and a gas detector lives
//! through normal days, then each anomaly; every test counts the signals it expects.

use super::*;
use crate::reading::Identity;
use serde_json::json;

const STEP_MS: Millis = 15 * MINUTE_MS;
/// 2026-11-02T00:00 local (UTC+8): a local midnight.
const START: Millis = 1_793_577_600_000 - 8 * HOUR_MS;

/// One home, its clock and everything the rules said, with the time they said it.
struct Sim {
    state: HomeState,
    t: Thresholds,
    now: Millis,
    meter: f64,
    said: Vec<(Millis, Signal)>,
}

impl Sim {
    fn new() -> Self {
        let mut state = HomeState::default();
        state
            .devices
            .insert("wm-1".into(), DeviceState::new(SensorKind::Water));
        state
            .devices
            .insert("gd-1".into(), DeviceState::new(SensorKind::Gas));
        Self {
            state,
            t: Thresholds::default(),
            now: START,
            meter: 1000.0,
            said: Vec::new(),
        }
    }

    fn read(&mut self, device: &str, metric: Metric, value: f64) {
        self.read_at(self.now, device, metric, value);
    }

    fn read_at(&mut self, at: Millis, device: &str, metric: Metric, value: f64) {
        let reading = Reading {
            device: device.into(),
            identity: Identity::MetricAt,
            at,
            metric,
            value,
        };
        let mut out = Vec::new();
        on_reading(&mut self.state, &reading, &self.t, &mut out);
        self.said.extend(out.into_iter().map(|s| (at, s)));
    }

    fn tick(&mut self) {
        let mut out = Vec::new();
        on_tick(&mut self.state, self.now, &self.t, &mut out);
        self.said.extend(out.into_iter().map(|s| (self.now, s)));
    }

    /// Lives until `end`, in 15-minute steps: the meter reports (10 litres more at :15 of
    /// each hour in `use_hours`), the gas detector sends its heartbeat, time is checked.
    fn live_until(&mut self, end: Millis, use_hours: &[u32]) {
        while self.now < end {
            self.now += STEP_MS;
            let minute = self.t.local_minute(self.now);
            if minute % 60 == 15 && use_hours.contains(&(minute / 60)) {
                self.meter += 10.0;
            }
            self.read("wm-1", Metric::WaterTotalL, self.meter);
            self.read("gd-1", Metric::Heartbeat, 1.0);
            self.tick();
        }
    }

    fn raised(&self, kind: AlertKind) -> Vec<Millis> {
        self.said
            .iter()
            .filter(|(_, s)| s.kind == kind && s.present)
            .map(|(at, _)| *at)
            .collect()
    }

    fn cleared(&self, kind: AlertKind) -> usize {
        self.said
            .iter()
            .filter(|(_, s)| s.kind == kind && !s.present)
            .count()
    }

    fn raised_any(&self) -> Vec<&Signal> {
        self.said
            .iter()
            .filter(|(_, s)| s.present)
            .map(|(_, s)| s)
            .collect()
    }
}

const EARLY_RISER: &[u32] = &[6, 7, 8, 11, 12, 17, 18, 19];
const LATE_RISER: &[u32] = &[9, 10, 12, 13, 18, 19, 20, 21];

fn day(n: i64) -> Millis {
    START + n * DAY_MS
}

fn at_local(n: i64, hour: i64, minute: i64) -> Millis {
    day(n) + hour * HOUR_MS + minute * MINUTE_MS
}

#[test]
fn thirty_normal_days_raise_nothing_and_teach_the_pattern() {
    let mut sim = Sim::new();
    sim.live_until(day(30), EARLY_RISER);
    assert!(sim.raised_any().is_empty(), "{:?}", sim.said);
    let pattern = &sim.state.water.pattern;
    assert!(pattern.days > 15.0, "days learned: {}", pattern.days);
    assert!(pattern.share(7) > 0.95 && pattern.share(3) < 0.01);
    assert_eq!(pattern.usual_litres(), Some(80.0));
}

#[test]
fn a_quiet_meter_is_raised_at_the_hour_the_home_itself_is_usually_up() {
    let mut raised_at = Vec::new();
    for pattern in [EARLY_RISER, LATE_RISER] {
        let mut sim = Sim::new();
        sim.live_until(day(14), pattern);
        // Day 14: the last use is in the evening; then nothing until day 15 at noon.
        sim.live_until(at_local(14, 20, 0), pattern);
        sim.live_until(at_local(15, 12, 0), &[]);
        let raised = sim.raised(AlertKind::NoWaterUse);
        assert_eq!(raised.len(), 1, "raised once: {raised:?}");
        raised_at.push(sim.t.local_minute(raised[0]));
        // Water runs again: the alert's condition clears, once.
        sim.live_until(at_local(15, 14, 0), &[12, 13]);
        assert_eq!(sim.cleared(AlertKind::NoWaterUse), 1);
        assert_eq!(sim.raised(AlertKind::NoWaterUse).len(), 1);
    }
    let (early, late) = (raised_at[0], raised_at[1]);
    assert!(
        (6 * 60..9 * 60).contains(&early),
        "early riser raised at minute {early}"
    );
    assert!(
        (9 * 60..12 * 60).contains(&late),
        "late riser raised at minute {late}"
    );
}

#[test]
fn a_new_home_uses_the_district_default_day() {
    let mut sim = Sim::new();
    sim.live_until(at_local(0, 20, 0), EARLY_RISER);
    sim.live_until(at_local(1, 12, 0), &[]);
    let raised = sim.raised(AlertKind::NoWaterUse);
    assert_eq!(raised.len(), 1, "{raised:?}");
    let minute = sim.t.local_minute(raised[0]);
    // The default day (use in 4 of 10 hours from 07:00) reaches 3 expected hours of use
    // since 19:15 in the late morning; the night counts for little.
    assert!((7 * 60..12 * 60).contains(&minute), "minute {minute}");
}

#[test]
fn an_empty_day_away_is_not_learned() {
    let mut sim = Sim::new();
    sim.live_until(day(10), EARLY_RISER);
    let days = sim.state.water.pattern.days;
    sim.live_until(day(11), &[]);
    sim.live_until(day(11) + HOUR_MS, &[]);
    assert_eq!(sim.state.water.pattern.days, days);
    // The away day raised its one quiet-meter alert.
    assert_eq!(sim.raised(AlertKind::NoWaterUse).len(), 1);
}

#[test]
fn gas_is_critical_at_once_and_clears_only_well_below_the_alarm() {
    let mut sim = Sim::new();
    sim.read("gd-1", Metric::GasLelPct, 3.0);
    sim.read("gd-1", Metric::GasLelPct, 45.0);
    sim.read("gd-1", Metric::GasLelPct, 50.0);
    assert_eq!(
        sim.raised(AlertKind::Gas).len(),
        2,
        "each high reading says so"
    );
    assert_eq!(
        AlertKind::Gas.severity(),
        linli_domain::alerts::Severity::Critical
    );
    sim.read("gd-1", Metric::GasLelPct, 15.0);
    assert_eq!(sim.cleared(AlertKind::Gas), 0, "15 % is between the levels");
    sim.read("gd-1", Metric::GasLelPct, 5.0);
    sim.read("gd-1", Metric::GasLelPct, 4.0);
    assert_eq!(sim.cleared(AlertKind::Gas), 1);
}

#[test]
fn smoke_and_tampering_raise_and_clear() {
    let mut sim = Sim::new();
    sim.state
        .devices
        .insert("sd-1".into(), DeviceState::new(SensorKind::Smoke));
    sim.read("sd-1", Metric::SmokeAlarm, 0.0);
    sim.read("sd-1", Metric::SmokeAlarm, 1.0);
    sim.read("sd-1", Metric::Tamper, 1.0);
    sim.read("sd-1", Metric::Tamper, 1.0);
    sim.read("sd-1", Metric::SmokeAlarm, 0.0);
    sim.read("sd-1", Metric::Tamper, 0.0);
    assert_eq!(sim.raised(AlertKind::Smoke).len(), 1);
    assert_eq!(sim.cleared(AlertKind::Smoke), 1);
    assert_eq!(sim.raised(AlertKind::Tamper).len(), 1);
    assert_eq!(sim.cleared(AlertKind::Tamper), 1);
}

#[test]
fn a_home_condition_clears_only_when_no_device_shows_it() {
    let mut sim = Sim::new();
    sim.read("wm-1", Metric::Tamper, 1.0);
    sim.read("gd-1", Metric::Tamper, 1.0);
    sim.read("wm-1", Metric::Tamper, 0.0);
    assert_eq!(sim.cleared(AlertKind::Tamper), 0, "gd-1 is still open");
    sim.read("gd-1", Metric::Tamper, 0.0);
    assert_eq!(sim.cleared(AlertKind::Tamper), 1);
}

#[test]
fn a_battery_is_low_below_15_and_fine_only_above_25() {
    let mut sim = Sim::new();
    for pct in [40.0, 14.0, 20.0, 13.0, 24.0, 30.0, 12.0] {
        sim.read("gd-1", Metric::BatteryPct, pct);
        sim.now += MINUTE_MS;
    }
    assert_eq!(sim.raised(AlertKind::LowBattery).len(), 2);
    assert_eq!(sim.cleared(AlertKind::LowBattery), 1);
}

#[test]
fn a_silent_device_goes_offline_once_and_comes_back() {
    let mut sim = Sim::new();
    sim.live_until(at_local(0, 10, 0), EARLY_RISER);
    let silent_from = sim.now;
    // The gas detector stops; the water meter carries on.
    while sim.now < silent_from + 3 * HOUR_MS {
        sim.now += STEP_MS;
        sim.meter += 1.0;
        sim.read("wm-1", Metric::WaterTotalL, sim.meter);
        sim.tick();
    }
    let offline: Vec<&Signal> = sim
        .raised_any()
        .into_iter()
        .filter(|s| s.kind == AlertKind::Offline)
        .collect();
    assert_eq!(offline.len(), 1);
    assert_eq!(offline[0].device.as_deref(), Some("gd-1"));
    let raised_after = sim.raised(AlertKind::Offline)[0] - silent_from;
    assert!(
        raised_after > sim.t.offline_after_ms && raised_after <= sim.t.offline_after_ms + STEP_MS
    );
    sim.read("gd-1", Metric::Heartbeat, 1.0);
    assert_eq!(sim.cleared(AlertKind::Offline), 1);
}

#[test]
fn water_running_for_an_hour_is_raised_once() {
    let mut sim = Sim::new();
    for minute in (0..=90).step_by(5) {
        sim.read_at(at_local(0, 10, minute), "wm-1", Metric::WaterFlowLpm, 2.0);
    }
    assert_eq!(
        sim.raised(AlertKind::ContinuousFlow),
        vec![at_local(0, 11, 0)]
    );
    sim.read_at(at_local(0, 11, 35), "wm-1", Metric::WaterFlowLpm, 0.0);
    assert_eq!(sim.cleared(AlertKind::ContinuousFlow), 1);
    // A short run afterwards is normal.
    for minute in (40..=55).step_by(5) {
        sim.read_at(at_local(0, 11, minute), "wm-1", Metric::WaterFlowLpm, 2.0);
    }
    assert_eq!(sim.raised(AlertKind::ContinuousFlow).len(), 1);
}

#[test]
fn a_day_far_above_the_usual_is_raised_once() {
    let mut sim = Sim::new();
    sim.live_until(day(14), EARLY_RISER);
    sim.live_until(at_local(14, 9, 0), EARLY_RISER);
    for _ in 0..6 {
        sim.meter += 100.0;
        sim.now += MINUTE_MS;
        sim.read("wm-1", Metric::WaterTotalL, sim.meter);
    }
    assert_eq!(sim.raised(AlertKind::UnusualWaterUse).len(), 1);
    assert!(sim
        .raised_any()
        .iter()
        .all(|s| s.kind == AlertKind::UnusualWaterUse));
}

#[test]
fn late_readings_change_nothing_but_a_late_alarm_is_still_raised() {
    let mut sim = Sim::new();
    sim.read_at(at_local(0, 10, 0), "gd-1", Metric::GasLelPct, 2.0);
    sim.read_at(at_local(0, 10, 0), "gd-1", Metric::BatteryPct, 80.0);
    sim.read_at(at_local(0, 9, 0), "gd-1", Metric::BatteryPct, 5.0);
    assert!(
        sim.raised_any().is_empty(),
        "an old battery level is old news"
    );
    // Another metric's newer reading does not make a gas reading late.
    sim.read_at(at_local(0, 10, 5), "gd-1", Metric::Heartbeat, 1.0);
    sim.read_at(at_local(0, 10, 1), "gd-1", Metric::GasLelPct, 3.0);
    assert_eq!(
        sim.state.devices["gd-1"].metric_at["gas_lel_pct"],
        at_local(0, 10, 1)
    );
    // A gas spike that arrives after a newer, calm reading is still raised, and the
    // device is not left "in alarm" by it.
    sim.read_at(at_local(0, 9, 30), "gd-1", Metric::GasLelPct, 60.0);
    assert_eq!(sim.raised(AlertKind::Gas).len(), 1);
    assert!(!sim.state.devices["gd-1"].gas_present);
    assert_eq!(sim.state.devices["gd-1"].last_at, Some(at_local(0, 10, 5)));
    // A reading of a device the home does not have is ignored.
    sim.read("xx-9", Metric::GasLelPct, 90.0);
    assert_eq!(sim.raised_any().len(), 1);
}

#[test]
fn a_missed_morning_check_in_is_raised_once_a_day() {
    let mut sim = Sim::new();
    sim.t.check_in_required = true;
    sim.live_until(at_local(0, 12, 0), EARLY_RISER);
    assert_eq!(
        sim.raised(AlertKind::MissedCheckIn),
        vec![at_local(0, 9, 30)]
    );
    let mut out = Vec::new();
    on_check_in(&mut sim.state, at_local(0, 12, 5), &sim.t, &mut out);
    assert_eq!(out.len(), 1);
    assert!(!out[0].present);
    // Day 1: checked in at 08:00, nothing raised.
    sim.live_until(at_local(1, 8, 0), EARLY_RISER);
    on_check_in(&mut sim.state, sim.now, &sim.t, &mut Vec::new());
    sim.live_until(at_local(1, 23, 0), EARLY_RISER);
    assert_eq!(sim.raised(AlertKind::MissedCheckIn).len(), 1);
}

#[test]
fn thresholds_are_checked() {
    assert_eq!(Thresholds::default().check(), Ok(()));
    let bad = [
        Thresholds {
            gas_clear_pct: 30.0,
            ..Thresholds::default()
        },
        Thresholds {
            battery_ok_pct: 10.0,
            ..Thresholds::default()
        },
        Thresholds {
            offline_after_ms: 0,
            ..Thresholds::default()
        },
        Thresholds {
            check_in_by_minute: 1440,
            ..Thresholds::default()
        },
    ];
    for t in bad {
        assert!(t.check().is_err(), "{t:?}");
    }
}

#[test]
fn overrides_change_only_the_fields_they_name_and_must_make_sense() {
    let overrides = |json: serde_json::Value| json.as_object().unwrap().clone();
    let district = Thresholds::default()
        .with(&overrides(
            json!({"check_in_required": true, "gas_alarm_pct": 15.0}),
        ))
        .unwrap();
    assert!(district.check_in_required);
    assert_eq!(district.gas_alarm_pct, 15.0);
    assert_eq!(
        district.battery_low_pct,
        Thresholds::default().battery_low_pct
    );
    // A home over the district: its own change and the district's.
    let home = district
        .with(&overrides(json!({"check_in_by_minute": 600})))
        .unwrap();
    assert_eq!((home.check_in_by_minute, home.gas_alarm_pct), (600, 15.0));
    for (bad, says) in [
        (json!({"gas_alarm_pct": 5.0}), "gas_clear_pct"),
        (json!({"no_such_threshold": 1}), "unknown field"),
        (json!({"offline_after_ms": "soon"}), "invalid type"),
        (json!({"check_in_by_minute": -1}), "invalid value"),
    ] {
        let error = district.with(&overrides(bad.clone())).unwrap_err();
        assert!(error.contains(says), "{bad}: {error}");
    }
}

#[test]
fn every_threshold_has_one_limit_and_the_defaults_keep_them() {
    let Ok(serde_json::Value::Object(fields)) = serde_json::to_value(Thresholds::default()) else {
        panic!("thresholds are an object");
    };
    let mut named: Vec<&str> = LIMITS.iter().map(|l| l.field).collect();
    named.sort_unstable();
    let mut fields: Vec<&str> = fields.keys().map(String::as_str).collect();
    fields.sort_unstable();
    assert_eq!(named, fields, "LIMITS names each field of Thresholds once");
    for l in &LIMITS {
        let value = l.of(&Thresholds::default());
        assert!(
            l.min <= value && value <= l.max,
            "{} default {value}",
            l.field
        );
    }
}

#[test]
fn the_safe_bounds_hold_whoever_asks() {
    let overrides = |json: serde_json::Value| json.as_object().unwrap().clone();
    let t = Thresholds::default();
    for (bad, names) in [
        // The attack as found: gas alarm and offline alert switched off.
        (
            json!({"gas_alarm_pct": 100}),
            "gas_alarm_pct must be at most 25 %",
        ),
        (
            json!({"offline_after_ms": 31_i64 * 365 * DAY_MS}),
            "offline_after_ms must be at most 86400000 ms (24 h)",
        ),
        (
            json!({"escalate_unacknowledged_ms": 3_600_001}),
            "escalate_unacknowledged_ms must be at most 3600000 ms (1 h)",
        ),
        // Times that overflow when added to a clock; negative ones.
        (json!({"reopen_within_ms": i64::MAX}), "reopen_within_ms"),
        (json!({"no_use_max_ms": i64::MIN}), "no_use_max_ms"),
        (
            json!({"escalate_unacknowledged_ms": -1}),
            "escalate_unacknowledged_ms",
        ),
        (json!({"gas_alarm_pct": 1e308}), "gas_alarm_pct"),
        (json!({"flow_min_lpm": 0.0}), "flow_min_lpm"),
        // The clock is not a threshold.
        (
            json!({"utc_offset_ms": 0}),
            "utc_offset_ms cannot be changed",
        ),
    ] {
        let error = t.with(&overrides(bad.clone())).unwrap_err();
        assert!(error.contains(names), "{bad}: {error}");
    }
    // At the bound itself: taken.
    let at = t
        .with(&overrides(
            json!({"gas_alarm_pct": 25, "offline_after_ms": DAY_MS,
                                "escalate_unacknowledged_ms": HOUR_MS}),
        ))
        .unwrap();
    assert_eq!(at.gas_alarm_pct, 25.0);
    // NaN cannot come from JSON, but is out of bounds all the same.
    let nan = Thresholds {
        gas_alarm_pct: f64::NAN,
        ..Thresholds::default()
    };
    assert!(nan.check().is_err());
}

#[test]
fn loosening_is_told_apart_from_tightening_field_by_field() {
    let overrides = |json: serde_json::Value| json.as_object().unwrap().clone();
    let district = Thresholds::default();
    let tight = district
        .with(&overrides(
            json!({"gas_alarm_pct": 15, "offline_after_ms": 30 * MINUTE_MS,
                                "battery_low_pct": 20, "check_in_required": true,
                                "check_in_by_minute": 540}),
        ))
        .unwrap();
    assert_eq!(loosened(&district, &tight), Vec::<&str>::new());
    assert_eq!(loosened(&tight, &tight), Vec::<&str>::new());
    // Back to the district's: every tightened field loosens (the check-in time only
    // counts while a check-in is required on both sides).
    assert_eq!(
        loosened(&tight, &district),
        [
            "gas_alarm_pct",
            "battery_low_pct",
            "offline_after_ms",
            "check_in_required"
        ]
    );
    let later = tight
        .with(&overrides(json!({"check_in_by_minute": 600})))
        .unwrap();
    assert_eq!(loosened(&tight, &later), ["check_in_by_minute"]);
    // Without a check-in required, its time raises nothing: not a loosening.
    let late_riser = district
        .with(&overrides(json!({"check_in_by_minute": 660})))
        .unwrap();
    assert_eq!(loosened(&district, &late_riser), Vec::<&str>::new());
    // Either way of the flow threshold silences a rule.
    for flow in [0.1, 1.0] {
        let changed = district
            .with(&overrides(json!({ "flow_min_lpm": flow })))
            .unwrap();
        assert_eq!(loosened(&district, &changed), ["flow_min_lpm"]);
    }
    for (field, looser) in [
        ("gas_clear_pct", json!(12)),
        ("battery_ok_pct", json!(20)),
        ("continuous_flow_ms", json!(2 * HOUR_MS)),
        ("no_use_expected_hours", json!(5)),
        ("no_use_max_ms", json!(36 * HOUR_MS)),
        ("unusual_use_factor", json!(4)),
        ("unusual_use_min_l", json!(500)),
        ("escalate_unacknowledged_ms", json!(10 * MINUTE_MS)),
        ("reopen_within_ms", json!(HOUR_MS)),
    ] {
        let changed = district.with(&overrides(json!({ field: looser }))).unwrap();
        assert_eq!(loosened(&district, &changed), [field]);
        assert_eq!(loosened(&changed, &district), Vec::<&str>::new(), "{field}");
    }
}

#[test]
fn stored_overrides_beyond_a_bound_drop_only_the_fields_to_blame() {
    let overrides = |json: serde_json::Value| json.as_object().unwrap().clone();
    let stored = overrides(json!({"gas_alarm_pct": 100, "check_in_required": true,
                                  "offline_after_ms": 31_i64 * 365 * DAY_MS,
                                  "utc_offset_ms": 0}));
    let (t, kept, dropped) = Thresholds::default().with_sensible(&stored);
    assert_eq!(kept, overrides(json!({"check_in_required": true})));
    assert_eq!(dropped.len(), 3);
    assert!(t.check_in_required);
    assert_eq!(t.gas_alarm_pct, 20.0);
    assert_eq!(t.offline_after_ms, 45 * MINUTE_MS);
    assert_eq!(t.utc_offset_ms, 8 * HOUR_MS);
}
