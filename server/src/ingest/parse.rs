//! One parser for every way readings arrive: the JSON batch of `POST /api/v1/ingest`,
//! SenML (RFC 8428), and MQTT payloads (one reading object, a batch, or SenML). See
//! `CONTRACT.md`, "Sensor readings".
//!
//! Only a body that cannot be read as a batch at all (not JSON, not a batch, empty or
//! too long) is refused whole. Otherwise each record is checked on its own: one that
//! fails is refused by its index with the reason, and the good records beside it (a
//! gas alarm among them) go on. Time comes in as a value (`now`), never read here.

use crate::clock::Millis;
use crate::reading::{Identity, Metric, Reading};
use serde::Deserialize;
use serde_json::Value;

/// At most this many readings in one batch.
pub const MAX_BATCH: usize = 10_000;
/// A reading may be this far ahead of the server's clock (devices' clocks drift).
pub const FUTURE_TOLERANCE_MS: Millis = 5 * 60 * 1000;
/// Readings older than this are refused as absurd (a device with a dead clock).
pub const OLDEST_MS: Millis = 365 * 24 * 3600 * 1000;
/// SenML: times below 2²⁸ seconds are relative to now (RFC 8428, section 4.5.3).
const SENML_RELATIVE_BELOW_S: f64 = 268_435_456.0;
/// The longest SenML name (base name and name together) Linli reads.
const MAX_SENML_NAME: usize = 128;
/// SenML names Linli reads: `urn:linli:device:<device id>:<metric>`.
const SENML_PREFIX: &str = "urn:linli:device:";

/// Why a body was refused whole: it is not a batch of readings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unreadable(pub String);

impl std::fmt::Display for Unreadable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A record of a batch refused on its own: its index (0-based) and why.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct Refused {
    pub index: usize,
    pub reason: String,
}

/// A readable batch: the records that passed their own checks, with their indices in
/// the body, and those that did not.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Batch {
    pub readings: Vec<Reading>,
    /// `indices[i]` is the index in the body of `readings[i]`.
    pub indices: Vec<usize>,
    pub refused: Vec<Refused>,
}

impl Batch {
    fn take(&mut self, index: usize, record: Result<Reading, String>) {
        match record {
            Ok(reading) => {
                self.readings.push(reading);
                self.indices.push(index);
            }
            Err(reason) => self.refused.push(Refused { index, reason }),
        }
    }

    /// Refuses the readings for which `why` has a reason (checks beyond the parser's:
    /// an MQTT topic's device, say).
    pub fn refuse_where(&mut self, mut why: impl FnMut(&Reading) -> Option<String>) {
        let (mut readings, mut indices) = (Vec::new(), Vec::new());
        for (reading, index) in self.readings.drain(..).zip(self.indices.drain(..)) {
            match why(&reading) {
                Some(reason) => self.refused.push(Refused { index, reason }),
                None => {
                    readings.push(reading);
                    indices.push(index);
                }
            }
        }
        self.readings = readings;
        self.indices = indices;
        self.refused.sort_by_key(|r| r.index);
    }
}

/// How a body is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// `{"readings": [...]}`, or one reading object (MQTT).
    Json,
    /// `application/senml+json`: an array of SenML records.
    SenMl,
}

/// A device id as `linli device add` makes them: 1–64 of a–z, 0–9, `-`.
pub fn valid_device_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonReading {
    device: String,
    seq: u64,
    ts: String,
    metric: String,
    value: f64,
}

/// At most `max` characters of a sender's text, for a reason: a huge value must not
/// come back whole in the answer.
fn shown(text: &str, max: usize) -> String {
    let mut shown: String = text.chars().take(max).collect();
    if shown.len() < text.len() {
        shown.push('…');
    }
    shown
}

fn check_time(at: Millis, now: Millis) -> Result<Millis, String> {
    if at > now + FUTURE_TOLERANCE_MS {
        return Err(format!(
            "the time {} lies in the future (more than 5 minutes ahead of the server)",
            crate::clock::rfc3339(at)
        ));
    }
    if at < now - OLDEST_MS {
        return Err(format!(
            "the time {} is more than a year old",
            crate::clock::rfc3339(at)
        ));
    }
    Ok(at)
}

fn reading(
    device: &str,
    identity: Identity,
    at: Millis,
    metric: &str,
    value: f64,
    now: Millis,
) -> Result<Reading, String> {
    if !valid_device_id(device) {
        return Err(format!(
            "`{}` is not a device id (1–64 of a–z, 0–9, -)",
            shown(device, 80)
        ));
    }
    let Some(metric) = Metric::parse(metric) else {
        let known: Vec<&str> = Metric::ALL.iter().map(|m| m.as_str()).collect();
        return Err(format!(
            "unknown metric `{}`; the metrics are {}",
            shown(metric, 40),
            known.join(", ")
        ));
    };
    metric.check(value)?;
    Ok(Reading {
        device: device.to_string(),
        identity,
        at: check_time(at, now)?,
        metric,
        value,
    })
}

fn json_record(record: Value, now: Millis) -> Result<Reading, String> {
    let r: JsonReading = serde_json::from_value(record).map_err(|e| e.to_string())?;
    if i64::try_from(r.seq).is_err() {
        return Err(format!("`seq` must be below 2^63, not {}", r.seq));
    }
    let Some(at) = crate::store::parse_rfc3339(&r.ts) else {
        return Err(format!(
            "`ts` is not an RFC 3339 time: `{}`",
            shown(&r.ts, 40)
        ));
    };
    reading(&r.device, Identity::Seq(r.seq), at, &r.metric, r.value, now)
}

/// The fields of a SenML record that Linli reads; base fields carry over to the
/// records after them.
#[derive(Deserialize, Default)]
struct SenMlRecord {
    bn: Option<String>,
    bt: Option<f64>,
    n: Option<String>,
    t: Option<f64>,
    v: Option<f64>,
    vb: Option<bool>,
}

/// SenML base fields carry over to the records after them; a record whose own fields
/// cannot be read but that sets a base leaves every later record without one.
fn senml_records(records: Vec<Value>, now: Millis, batch: &mut Batch) {
    let (mut base_name, mut base_time) = (String::new(), 0.0);
    let mut lost_base: Option<usize> = None;
    for (i, record) in records.into_iter().enumerate() {
        if let Some(lost) = lost_base {
            batch.take(
                i,
                Err(format!(
                    "follows record {lost}, whose base name or time could not be read"
                )),
            );
            continue;
        }
        let sets_base = record
            .as_object()
            .is_some_and(|o| o.contains_key("bn") || o.contains_key("bt"));
        let r: SenMlRecord = match serde_json::from_value(record) {
            Ok(r) => r,
            Err(e) => {
                if sets_base {
                    lost_base = Some(i);
                }
                batch.take(i, Err(e.to_string()));
                continue;
            }
        };
        if let Some(bn) = &r.bn {
            base_name.clone_from(bn);
        }
        if let Some(bt) = r.bt {
            base_time = bt;
        }
        batch.take(i, senml_record(&base_name, base_time, r, now));
    }
}

fn senml_record(
    base_name: &str,
    base_time: f64,
    r: SenMlRecord,
    now: Millis,
) -> Result<Reading, String> {
    let n = r.n.as_deref().unwrap_or_default();
    // `urn:linli:device:` + a 64-character id + `:` + a metric fits well within this;
    // checked before the name is put together, so a huge base name costs nothing.
    if base_name.len() + n.len() > MAX_SENML_NAME {
        return Err(format!(
            "the name is {} bytes long; at most {MAX_SENML_NAME}",
            base_name.len() + n.len()
        ));
    }
    let name = format!("{base_name}{n}");
    let Some((device, metric)) = name
        .strip_prefix(SENML_PREFIX)
        .and_then(|rest| rest.rsplit_once(':'))
    else {
        return Err(format!(
            "the name `{}` is not `{SENML_PREFIX}<device>:<metric>`",
            shown(&name, 100)
        ));
    };
    let value = match (r.v, r.vb) {
        (Some(v), None) => v,
        (None, Some(b)) => f64::from(u8::from(b)),
        _ => return Err("a record needs exactly one of `v` and `vb`".into()),
    };
    let seconds = base_time + r.t.unwrap_or(0.0);
    if !seconds.is_finite() || seconds.abs() > 1e12 {
        return Err("the time is not a sensible number of seconds".into());
    }
    let at = if seconds < SENML_RELATIVE_BELOW_S {
        now + (seconds * 1000.0).round() as Millis
    } else {
        (seconds * 1000.0).round() as Millis
    };
    reading(device, Identity::MetricAt, at, metric, value, now)
}

/// Parses and checks a body of readings: refused whole only when it is not a batch;
/// otherwise each record on its own.
pub fn parse(body: &[u8], encoding: Encoding, now: Millis) -> Result<Batch, Unreadable> {
    let refuse = |problem: &str| Err(Unreadable(problem.to_string()));
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| Unreadable(format!("the body is not JSON: {e}")))?;
    let records = match (encoding, value) {
        (Encoding::SenMl, Value::Array(records)) => records,
        (Encoding::SenMl, _) => return refuse("SenML is a JSON array of records"),
        (Encoding::Json, Value::Object(mut batch)) if batch.contains_key("readings") => {
            if batch.len() > 1 {
                return refuse("a batch has only the field `readings`");
            }
            match batch.remove("readings") {
                Some(Value::Array(records)) => records,
                _ => return refuse("`readings` must be an array"),
            }
        }
        (Encoding::Json, Value::Object(one)) => vec![Value::Object(one)],
        (Encoding::Json, _) => return refuse("send {\"readings\": [...]} or one reading object"),
    };
    if records.is_empty() {
        return refuse("the batch holds no readings");
    }
    if records.len() > MAX_BATCH {
        return Err(Unreadable(format!(
            "{} readings in one batch; at most {MAX_BATCH}",
            records.len()
        )));
    }
    let mut batch = Batch::default();
    match encoding {
        Encoding::Json => {
            for (i, record) in records.into_iter().enumerate() {
                batch.take(i, json_record(record, now));
            }
        }
        Encoding::SenMl => senml_records(records, now, &mut batch),
    }
    Ok(batch)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// 2026-11-26T07:15:00Z
    const NOW: Millis = 1_795_677_300_000;

    type Parsed = Result<Batch, Unreadable>;

    fn json(body: Value) -> Parsed {
        parse(body.to_string().as_bytes(), Encoding::Json, NOW)
    }

    fn senml(body: Value) -> Parsed {
        parse(body.to_string().as_bytes(), Encoding::SenMl, NOW)
    }

    fn one(device: &str, seq: u64, ts: &str, metric: &str, value: Value) -> Value {
        json!({"device": device, "seq": seq, "ts": ts, "metric": metric, "value": value})
    }

    #[test]
    fn reads_the_contract_example_and_a_single_mqtt_reading() {
        let batch = json!({"readings": [
            one("wm-000123", 4711, "2026-11-26T07:15:00Z", "water_total_l", json!(18342.5)),
            one("gs-000007", 12, "2026-11-26T07:14:59.5+08:00", "gas_lel_pct", json!(0)),
        ]});
        let readings = json(batch).unwrap().readings;
        assert_eq!(
            readings[0],
            Reading {
                device: "wm-000123".into(),
                identity: Identity::Seq(4711),
                at: NOW,
                metric: Metric::WaterTotalL,
                value: 18342.5,
            }
        );
        // +08:00 is Beijing time: eight hours earlier in UTC.
        assert_eq!(readings[1].at, NOW - 8 * 3600 * 1000 - 500);
        let single = json(one(
            "sm-1",
            1,
            "2026-11-26T07:00:00Z",
            "smoke_alarm",
            json!(1),
        ))
        .unwrap()
        .readings;
        assert_eq!(single.len(), 1);
        assert_eq!(single[0].metric, Metric::SmokeAlarm);
    }

    #[test]
    fn reads_senml_with_base_name_base_time_and_booleans() {
        let readings = senml(json!([
            {"bn": "urn:linli:device:wm-000123:", "bt": 1_795_677_000.0, "n": "water_total_l", "v": 100.0},
            {"n": "water_flow_lpm", "t": 60, "v": 4.5},
            {"bn": "urn:linli:device:sm-9:", "n": "smoke_alarm", "vb": true, "t": 120},
            {"n": "battery_pct", "t": -30, "v": 88},
        ]))
        .unwrap()
        .readings;
        let summary: Vec<(&str, Metric, Millis, f64)> = readings
            .iter()
            .map(|r| (r.device.as_str(), r.metric, r.at, r.value))
            .collect();
        assert_eq!(
            summary,
            [
                ("wm-000123", Metric::WaterTotalL, 1_795_677_000_000, 100.0),
                ("wm-000123", Metric::WaterFlowLpm, 1_795_677_060_000, 4.5),
                ("sm-9", Metric::SmokeAlarm, 1_795_677_120_000, 1.0),
                ("sm-9", Metric::BatteryPct, 1_795_676_970_000, 88.0),
            ]
        );
        assert!(readings.iter().all(|r| r.identity == Identity::MetricAt));
        // Small times are relative to now; none means now.
        let relative = senml(json!([
            {"n": "urn:linli:device:d-1:heartbeat", "t": -10, "v": 0},
            {"n": "urn:linli:device:d-1:tamper", "v": 0},
        ]))
        .unwrap()
        .readings;
        assert_eq!((relative[0].at, relative[1].at), (NOW - 10_000, NOW));
    }

    /// Bodies that are not a batch at all: refused whole.
    #[test]
    fn refuses_unreadable_bodies_whole() {
        let good = one(
            "wm-1",
            1,
            "2026-11-26T07:00:00Z",
            "water_total_l",
            json!(1.0),
        );
        let cases: Vec<(Parsed, &str)> = vec![
            (parse(b"{not json", Encoding::Json, NOW), "not JSON"),
            (parse(b"", Encoding::Json, NOW), "not JSON"),
            (parse(&[0xff, 0xfe], Encoding::SenMl, NOW), "not JSON"),
            (json(json!([1, 2])), "one reading object"),
            (json(json!("readings")), "one reading object"),
            (json(json!({"readings": []})), "no readings"),
            (json(json!({"readings": {}})), "must be an array"),
            (json(json!({"readings": null})), "must be an array"),
            (json(json!({"readings": [], "extra": 1})), "only the field"),
            (
                json(json!({"readings": vec![good.clone(); MAX_BATCH + 1]})),
                "at most 10000",
            ),
            (senml(json!({"bn": "x"})), "JSON array"),
            (senml(json!([])), "no readings"),
        ];
        for (result, expected) in cases {
            let rejection = result.expect_err(expected);
            assert!(
                rejection.to_string().contains(expected),
                "expected `{expected}` in `{rejection}`"
            );
        }
    }

    /// Every kind of bad record, each between two good ones: refused by its index with
    /// the reason, and both good ones kept.
    #[test]
    fn refuses_a_bad_record_by_its_index_and_keeps_the_others() {
        let good = |seq| {
            one(
                "gs-1",
                seq,
                "2026-11-26T07:00:00Z",
                "gas_lel_pct",
                json!(90.0),
            )
        };
        let cases: Vec<(Value, &str)> = vec![
            (json!("a string"), "invalid type"),
            (json!(null), "invalid type"),
            (
                json!({"device": "wm-1", "seq": 2, "ts": "2026-11-26T07:00:00Z", "metric": "water_total_l"}),
                "missing field `value`",
            ),
            (
                json!({"device": "wm-1", "seq": 2, "ts": "2026-11-26T07:00:00Z", "metric": "water_total_l", "value": 1, "volts": 3}),
                "unknown field `volts`",
            ),
            (
                one(
                    "wm-1",
                    2,
                    "2026-11-26T07:00:00Z",
                    "water_total_l",
                    json!("12"),
                ),
                "invalid type",
            ),
            (
                json!({"device": "wm-1", "seq": -1, "ts": "2026-11-26T07:00:00Z", "metric": "water_total_l", "value": 1}),
                "invalid value",
            ),
            (
                json!({"device": "wm-1", "seq": u64::MAX, "ts": "2026-11-26T07:00:00Z", "metric": "water_total_l", "value": 1}),
                "below 2^63",
            ),
            (
                json!({"device": "wm-1", "seq": 1.5, "ts": "2026-11-26T07:00:00Z", "metric": "water_total_l", "value": 1}),
                "invalid type",
            ),
            (
                one("WM 1", 2, "2026-11-26T07:00:00Z", "water_total_l", json!(1)),
                "not a device id",
            ),
            (
                one(
                    &"x".repeat(65),
                    2,
                    "2026-11-26T07:00:00Z",
                    "water_total_l",
                    json!(1),
                ),
                "not a device id",
            ),
            (
                one("wm-1", 2, "yesterday", "water_total_l", json!(1)),
                "not an RFC 3339 time",
            ),
            (
                one("wm-1", 2, "2026-11-26T07:25:00Z", "water_total_l", json!(1)),
                "in the future",
            ),
            (
                one("wm-1", 2, "2020-01-01T00:00:00Z", "water_total_l", json!(1)),
                "more than a year old",
            ),
            (
                one("wm-1", 2, "2026-11-26T07:00:00Z", "volts", json!(1)),
                "unknown metric `volts`",
            ),
            (
                one(
                    "wm-1",
                    2,
                    "2026-11-26T07:00:00Z",
                    "water_total_l",
                    json!(-5),
                ),
                "between 0 and 1000000000",
            ),
            (
                one("wm-1", 2, "2026-11-26T07:00:00Z", "gas_lel_pct", json!(250)),
                "between 0 and 100",
            ),
            (
                one("wm-1", 2, "2026-11-26T07:00:00Z", "smoke_alarm", json!(0.5)),
                "0 or 1",
            ),
            (json!({"seq": 3}), "missing field"),
        ];
        for (bad, expected) in cases {
            let batch = json(json!({"readings": [good(1), bad, good(3)]})).unwrap();
            assert_eq!(batch.indices, [0, 2], "{expected}");
            assert_eq!(batch.readings.len(), 2);
            assert_eq!(batch.refused.len(), 1, "{expected}");
            assert_eq!(batch.refused[0].index, 1);
            assert!(
                batch.refused[0].reason.contains(expected),
                "expected `{expected}` in `{}`",
                batch.refused[0].reason
            );
        }
    }

    #[test]
    fn refuses_bad_senml_records_by_index_and_never_guesses_a_lost_base() {
        let batch = senml(json!([
            {"n": "sensor-1", "v": 1},
            {"n": "urn:linli:device:d-1:tamper"},
            {"n": "urn:linli:device:d-1:tamper", "v": 1, "vb": true},
            {"n": "urn:linli:device:d-1:heartbeat", "t": 4_000_000_000u64, "v": 0},
            {"n": "urn:linli:device:d-1:heartbeat", "t": 1e300, "v": 0},
            {"n": "urn:linli:device:d-1:gas_lel_pct", "v": 95},
            {"bn": "urn:linli:device:d-2:", "bt": "soon", "n": "smoke_alarm", "v": 1},
            {"n": "gas_lel_pct", "v": 50},
        ]))
        .unwrap();
        let refused: Vec<(usize, bool)> = batch
            .refused
            .iter()
            .map(|r| (r.index, !r.reason.is_empty()))
            .collect();
        assert_eq!(
            refused,
            [0, 1, 2, 3, 4, 6, 7].map(|i| (i, true)),
            "{:?}",
            batch.refused
        );
        let reasons: Vec<&str> = batch.refused.iter().map(|r| r.reason.as_str()).collect();
        for (reason, expected) in reasons.iter().zip([
            "is not `urn:linli:device:",
            "exactly one of `v` and `vb`",
            "exactly one of `v` and `vb`",
            "in the future",
            "not a sensible number",
            "invalid type",
            "follows record 6",
        ]) {
            assert!(
                reason.contains(expected),
                "expected `{expected}` in `{reason}`"
            );
        }
        // The gas reading of d-1 is kept; record 7 is not taken for d-1's.
        assert_eq!(batch.indices, [5]);
        assert_eq!(batch.readings[0].device, "d-1");
        assert_eq!(batch.readings[0].value, 95.0);
    }

    #[test]
    fn every_metric_has_a_name_that_parses_back() {
        for m in Metric::ALL {
            assert_eq!(Metric::parse(m.as_str()), Some(m));
        }
        assert_eq!(Metric::parse("Water_Total_L"), None);
    }
}
