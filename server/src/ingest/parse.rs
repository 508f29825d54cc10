//! One parser for every way readings arrive: the JSON batch of `POST /api/v1/ingest`,
//! SenML (RFC 8428), and MQTT payloads (one reading object, a batch, or SenML). See
//! `CONTRACT.md`, "Sensor readings".
//!
//! A batch is checked whole: the first bad record rejects it, naming the record's index
//! and what is wrong, so nothing of a bad batch is ever stored. Time comes in as a
//! value (`now`), never read here.

use crate::clock::Millis;
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
/// SenML names Linli reads: `urn:linli:device:<device id>:<metric>`.
const SENML_PREFIX: &str = "urn:linli:device:";

/// What a reading measures, and which values make sense for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
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
    fn check(self, value: f64) -> Result<(), String> {
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Identity {
    /// The device's own counter (JSON readings).
    Seq(u64),
    /// SenML has no counter: the metric and the time identify a record.
    MetricAt,
}

/// One checked reading.
#[derive(Debug, Clone, PartialEq)]
pub struct Reading {
    pub device: String,
    pub identity: Identity,
    /// When it was measured.
    pub at: Millis,
    pub metric: Metric,
    pub value: f64,
}

/// Why a batch was refused: the record (0-based) and the problem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    pub record: Option<usize>,
    pub problem: String,
}

impl std::fmt::Display for Rejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.record {
            Some(i) => write!(f, "record {i}: {}", self.problem),
            None => f.write_str(&self.problem),
        }
    }
}

fn refuse<T>(record: Option<usize>, problem: impl Into<String>) -> Result<T, Rejection> {
    Err(Rejection {
        record,
        problem: problem.into(),
    })
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

fn check_time(record: usize, at: Millis, now: Millis) -> Result<Millis, Rejection> {
    if at > now + FUTURE_TOLERANCE_MS {
        return refuse(
            Some(record),
            format!(
                "the time {} lies in the future (more than 5 minutes ahead of the server)",
                crate::clock::rfc3339(at)
            ),
        );
    }
    if at < now - OLDEST_MS {
        return refuse(
            Some(record),
            format!(
                "the time {} is more than a year old",
                crate::clock::rfc3339(at)
            ),
        );
    }
    Ok(at)
}

fn reading(
    record: usize,
    device: &str,
    identity: Identity,
    at: Millis,
    metric: &str,
    value: f64,
    now: Millis,
) -> Result<Reading, Rejection> {
    if !valid_device_id(device) {
        return refuse(
            Some(record),
            format!("`{device}` is not a device id (1–64 of a–z, 0–9, -)"),
        );
    }
    let Some(metric) = Metric::parse(metric) else {
        let known: Vec<&str> = Metric::ALL.iter().map(|m| m.as_str()).collect();
        return refuse(
            Some(record),
            format!(
                "unknown metric `{metric}`; the metrics are {}",
                known.join(", ")
            ),
        );
    };
    metric.check(value).or_else(|e| refuse(Some(record), e))?;
    Ok(Reading {
        device: device.to_string(),
        identity,
        at: check_time(record, at, now)?,
        metric,
        value,
    })
}

fn json_records(records: Vec<Value>, now: Millis) -> Result<Vec<Reading>, Rejection> {
    records
        .into_iter()
        .enumerate()
        .map(|(i, record)| {
            let r: JsonReading =
                serde_json::from_value(record).or_else(|e| refuse(Some(i), e.to_string()))?;
            if i64::try_from(r.seq).is_err() {
                return refuse(Some(i), format!("`seq` must be below 2^63, not {}", r.seq));
            }
            let Some(at) = crate::store::parse_rfc3339(&r.ts) else {
                return refuse(Some(i), format!("`ts` is not an RFC 3339 time: `{}`", r.ts));
            };
            reading(
                i,
                &r.device,
                Identity::Seq(r.seq),
                at,
                &r.metric,
                r.value,
                now,
            )
        })
        .collect()
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

fn senml_records(records: Vec<Value>, now: Millis) -> Result<Vec<Reading>, Rejection> {
    let (mut base_name, mut base_time) = (String::new(), 0.0);
    let mut out = Vec::with_capacity(records.len());
    for (i, record) in records.into_iter().enumerate() {
        let r: SenMlRecord =
            serde_json::from_value(record).or_else(|e| refuse(Some(i), e.to_string()))?;
        if let Some(bn) = r.bn {
            base_name = bn;
        }
        if let Some(bt) = r.bt {
            base_time = bt;
        }
        let name = format!("{base_name}{}", r.n.as_deref().unwrap_or_default());
        let Some((device, metric)) = name
            .strip_prefix(SENML_PREFIX)
            .and_then(|rest| rest.rsplit_once(':'))
        else {
            return refuse(
                Some(i),
                format!("the name `{name}` is not `{SENML_PREFIX}<device>:<metric>`"),
            );
        };
        let value = match (r.v, r.vb) {
            (Some(v), None) => v,
            (None, Some(b)) => f64::from(u8::from(b)),
            _ => return refuse(Some(i), "a record needs exactly one of `v` and `vb`"),
        };
        let seconds = base_time + r.t.unwrap_or(0.0);
        if !seconds.is_finite() {
            return refuse(Some(i), "the time is not a finite number");
        }
        let at = if seconds < SENML_RELATIVE_BELOW_S {
            now + (seconds * 1000.0).round() as Millis
        } else {
            (seconds * 1000.0).round() as Millis
        };
        out.push(reading(
            i,
            device,
            Identity::MetricAt,
            at,
            metric,
            value,
            now,
        )?);
    }
    Ok(out)
}

/// Parses and checks a body of readings; any bad record rejects all of it.
pub fn parse(body: &[u8], encoding: Encoding, now: Millis) -> Result<Vec<Reading>, Rejection> {
    let value: Value = serde_json::from_slice(body)
        .or_else(|e| refuse(None, format!("the body is not JSON: {e}")))?;
    let records = match (encoding, value) {
        (Encoding::SenMl, Value::Array(records)) => records,
        (Encoding::SenMl, _) => return refuse(None, "SenML is a JSON array of records"),
        (Encoding::Json, Value::Object(mut batch)) if batch.contains_key("readings") => {
            if batch.len() > 1 {
                return refuse(None, "a batch has only the field `readings`");
            }
            match batch.remove("readings") {
                Some(Value::Array(records)) => records,
                _ => return refuse(None, "`readings` must be an array"),
            }
        }
        (Encoding::Json, Value::Object(one)) => vec![Value::Object(one)],
        (Encoding::Json, _) => {
            return refuse(None, "send {\"readings\": [...]} or one reading object")
        }
    };
    if records.is_empty() {
        return refuse(None, "the batch holds no readings");
    }
    if records.len() > MAX_BATCH {
        return refuse(
            None,
            format!(
                "{} readings in one batch; at most {MAX_BATCH}",
                records.len()
            ),
        );
    }
    match encoding {
        Encoding::Json => json_records(records, now),
        Encoding::SenMl => senml_records(records, now),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// 2026-11-26T07:15:00Z
    const NOW: Millis = 1_795_677_300_000;

    type Parsed = Result<Vec<Reading>, Rejection>;

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
        let readings = json(batch).unwrap();
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
        .unwrap();
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
        .unwrap();
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
        .unwrap();
        assert_eq!((relative[0].at, relative[1].at), (NOW - 10_000, NOW));
    }

    /// Every kind of bad input, each rejecting the whole batch with the record's index.
    #[test]
    fn refuses_bad_batches_whole_naming_the_record_and_the_problem() {
        let good = one(
            "wm-1",
            1,
            "2026-11-26T07:00:00Z",
            "water_total_l",
            json!(1.0),
        );
        let with_bad = |bad: Value| json(json!({"readings": [good.clone(), bad]}));
        let cases: Vec<(Parsed, Option<usize>, &str)> = vec![
            (parse(b"{not json", Encoding::Json, NOW), None, "not JSON"),
            (json(json!([1, 2])), None, "one reading object"),
            (json(json!({"readings": []})), None, "no readings"),
            (json(json!({"readings": {}})), None, "must be an array"),
            (
                json(json!({"readings": [], "extra": 1})),
                None,
                "only the field",
            ),
            (
                json(json!({"readings": vec![good.clone(); MAX_BATCH + 1]})),
                None,
                "at most 10000",
            ),
            (with_bad(json!("a string")), Some(1), "invalid type"),
            (
                with_bad(
                    json!({"device": "wm-1", "seq": 2, "ts": "2026-11-26T07:00:00Z", "metric": "water_total_l"}),
                ),
                Some(1),
                "missing field `value`",
            ),
            (
                with_bad(
                    json!({"device": "wm-1", "seq": 2, "ts": "2026-11-26T07:00:00Z", "metric": "water_total_l", "value": 1, "volts": 3}),
                ),
                Some(1),
                "unknown field `volts`",
            ),
            (
                with_bad(one(
                    "wm-1",
                    2,
                    "2026-11-26T07:00:00Z",
                    "water_total_l",
                    json!("12"),
                )),
                Some(1),
                "invalid type",
            ),
            (
                with_bad(
                    json!({"device": "wm-1", "seq": -1, "ts": "2026-11-26T07:00:00Z", "metric": "water_total_l", "value": 1}),
                ),
                Some(1),
                "invalid value",
            ),
            (
                with_bad(
                    json!({"device": "wm-1", "seq": u64::MAX, "ts": "2026-11-26T07:00:00Z", "metric": "water_total_l", "value": 1}),
                ),
                Some(1),
                "below 2^63",
            ),
            (
                with_bad(one(
                    "WM 1",
                    2,
                    "2026-11-26T07:00:00Z",
                    "water_total_l",
                    json!(1),
                )),
                Some(1),
                "not a device id",
            ),
            (
                with_bad(one("wm-1", 2, "yesterday", "water_total_l", json!(1))),
                Some(1),
                "not an RFC 3339 time",
            ),
            (
                with_bad(one(
                    "wm-1",
                    2,
                    "2026-11-26T07:25:00Z",
                    "water_total_l",
                    json!(1),
                )),
                Some(1),
                "in the future",
            ),
            (
                with_bad(one(
                    "wm-1",
                    2,
                    "2020-01-01T00:00:00Z",
                    "water_total_l",
                    json!(1),
                )),
                Some(1),
                "more than a year old",
            ),
            (
                with_bad(one("wm-1", 2, "2026-11-26T07:00:00Z", "volts", json!(1))),
                Some(1),
                "unknown metric `volts`",
            ),
            (
                with_bad(one(
                    "wm-1",
                    2,
                    "2026-11-26T07:00:00Z",
                    "water_total_l",
                    json!(-5),
                )),
                Some(1),
                "between 0 and 1000000000",
            ),
            (
                with_bad(one(
                    "wm-1",
                    2,
                    "2026-11-26T07:00:00Z",
                    "gas_lel_pct",
                    json!(250),
                )),
                Some(1),
                "between 0 and 100",
            ),
            (
                with_bad(one(
                    "wm-1",
                    2,
                    "2026-11-26T07:00:00Z",
                    "smoke_alarm",
                    json!(0.5),
                )),
                Some(1),
                "0 or 1",
            ),
            (
                json(json!({"readings": [good.clone(), good.clone(), {"seq": 3}]})),
                Some(2),
                "missing field",
            ),
            (senml(json!({"bn": "x"})), None, "JSON array"),
            (
                senml(json!([{"n": "sensor-1", "v": 1}])),
                Some(0),
                "is not `urn:linli:device:",
            ),
            (
                senml(json!([{"n": "urn:linli:device:d-1:tamper"}])),
                Some(0),
                "exactly one of `v` and `vb`",
            ),
            (
                senml(json!([{"n": "urn:linli:device:d-1:tamper", "v": 1, "vb": true}])),
                Some(0),
                "exactly one of `v` and `vb`",
            ),
            (
                senml(
                    json!([{"n": "urn:linli:device:d-1:heartbeat", "v": 0}, {"n": "urn:linli:device:d-1:heartbeat", "t": 4_000_000_000u64, "v": 0}]),
                ),
                Some(1),
                "in the future",
            ),
        ];
        for (result, record, expected) in cases {
            let rejection = result.expect_err(expected);
            assert_eq!(rejection.record, record, "{expected}: {rejection}");
            assert!(
                rejection.to_string().contains(expected),
                "expected `{expected}` in `{rejection}`"
            );
        }
    }

    #[test]
    fn every_metric_has_a_name_that_parses_back() {
        for m in Metric::ALL {
            assert_eq!(Metric::parse(m.as_str()), Some(m));
        }
        assert_eq!(Metric::parse("Water_Total_L"), None);
    }
}
