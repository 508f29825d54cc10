//! The sensor simulator: every home's devices report as real ones would, with a daily
//! rhythm of water use, and now and then one of each kind of anomaly.
//!
//! [`Simulator`] makes readings (deterministic from a seed, given the times asked for);
//! [`run`] paces them at a rate and hands them to a [`Sink`]: straight to the rules
//! engine (`linli serve --simulate`), or over the real protocols, HTTP batches with a
//! gateway token or one MQTT message per reading (`linli simulate`, also the load
//! generator of `make bench`).
//!
//! Anomalies, one every `anomaly_every` on a random home: a gas leak, smoke, a battery
//! running low, tampering, a device falling silent, water left running, and a resident
//! away (no water use for a day).

use crate::clock::{now_ms, Millis};
use crate::demo::SplitMix;
use crate::engine::{EngineHandle, Source};
use crate::reading::{Identity, Metric, Reading};
use crate::rules::{HOUR_MS, MINUTE_MS};
use linli_domain::care::SensorKind;
use serde_json::json;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A device the simulator plays.
#[derive(Debug, Clone)]
pub struct SimDevice {
    pub id: String,
    pub home: String,
    pub kind: SensorKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Anomaly {
    GasLeak,
    Smoke,
    LowBattery,
    Tamper,
    Silent,
    WaterRunning,
    Away,
}

const ANOMALIES: [(Anomaly, Millis); 7] = [
    (Anomaly::GasLeak, 4 * MINUTE_MS),
    (Anomaly::Smoke, 3 * MINUTE_MS),
    (Anomaly::LowBattery, 2 * HOUR_MS),
    (Anomaly::Tamper, 10 * MINUTE_MS),
    (Anomaly::Silent, 90 * MINUTE_MS),
    (Anomaly::WaterRunning, 80 * MINUTE_MS),
    (Anomaly::Away, 26 * HOUR_MS),
];

struct HomeRhythm {
    /// Local minutes of the day when the resident gets up and goes to bed.
    wakes: u32,
    sleeps: u32,
    /// Litres per minute of use while water runs.
    litres: f64,
}

struct Episode {
    anomaly: Anomaly,
    home: String,
    until: Millis,
}

struct DeviceState {
    meter: f64,
    last_at: Option<Millis>,
    reports: u64,
    battery: f64,
}

pub struct Simulator {
    devices: Vec<SimDevice>,
    state: Vec<DeviceState>,
    rhythms: HashMap<String, HomeRhythm>,
    homes: Vec<String>,
    episodes: Vec<Episode>,
    rng: SplitMix,
    next_device: usize,
    anomaly_every: Option<Millis>,
    next_anomaly: Millis,
    /// Every device counts its readings up from here, like a real device's counter;
    /// from the start time, so that a later run's numbers follow an earlier run's.
    first_seq: u64,
    utc_offset_ms: Millis,
}

impl Simulator {
    /// A simulator for `devices`, starting at `now`, with an anomaly every
    /// `anomaly_every` (none when `None`).
    pub fn new(
        devices: Vec<SimDevice>,
        seed: u64,
        anomaly_every: Option<Millis>,
        now: Millis,
    ) -> Self {
        let mut rng = SplitMix::new(seed);
        let mut rhythms = HashMap::new();
        let mut homes = Vec::new();
        for d in &devices {
            if !rhythms.contains_key(&d.home) {
                let wakes = 330 + (rng.next_u64() % 180) as u32; // 05:30–08:30
                let sleeps = 1_260 + (rng.next_u64() % 120) as u32; // 21:00–23:00
                let litres = 4.0 + (rng.next_u64() % 40) as f64 / 10.0;
                rhythms.insert(
                    d.home.clone(),
                    HomeRhythm {
                        wakes,
                        sleeps,
                        litres,
                    },
                );
                homes.push(d.home.clone());
            }
        }
        let state = devices
            .iter()
            .map(|_| DeviceState {
                meter: 10_000.0 + (rng.next_u64() % 50_000) as f64,
                last_at: None,
                reports: 0,
                battery: 60.0 + (rng.next_u64() % 40) as f64,
            })
            .collect();
        Simulator {
            devices,
            state,
            rhythms,
            homes,
            episodes: Vec::new(),
            rng,
            next_device: 0,
            anomaly_every,
            next_anomaly: now + anomaly_every.unwrap_or(0),
            first_seq: (now.max(0) as u64) * 1_000,
            utc_offset_ms: 8 * HOUR_MS,
        }
    }

    fn episode(&self, home: &str, anomaly: Anomaly) -> bool {
        self.episodes
            .iter()
            .any(|e| e.anomaly == anomaly && e.home == home)
    }

    /// Starts and ends anomalies due at `now`.
    fn schedule(&mut self, now: Millis) {
        self.episodes.retain(|e| e.until > now);
        let Some(every) = self.anomaly_every else {
            return;
        };
        while self.next_anomaly <= now && !self.homes.is_empty() {
            let home = self.homes[(self.rng.next_u64() % self.homes.len() as u64) as usize].clone();
            let (anomaly, lasts) =
                ANOMALIES[(self.rng.next_u64() % ANOMALIES.len() as u64) as usize];
            tracing::info!(home, ?anomaly, "simulator: anomaly");
            self.episodes.push(Episode {
                anomaly,
                home,
                until: now + lasts,
            });
            self.next_anomaly += every;
        }
    }

    /// Litres a home used between two moments, by its rhythm (sampled per minute).
    fn water_used(&mut self, home: &str, from: Millis, to: Millis) -> f64 {
        if self.episode(home, Anomaly::Away) {
            return 0.0;
        }
        let Some(rhythm) = self.rhythms.get(home) else {
            return 0.0;
        };
        let (wakes, sleeps, litres) = (rhythm.wakes, rhythm.sleeps, rhythm.litres);
        let mut used = 0.0;
        let mut minute = from.max(to - 24 * HOUR_MS);
        while minute < to {
            let local = ((minute + self.utc_offset_ms).rem_euclid(24 * HOUR_MS) / MINUTE_MS) as u32;
            let awake = (wakes..sleeps).contains(&local);
            // Mornings and evenings are busiest.
            let chance = match () {
                _ if !awake => 0,
                _ if local < wakes + 90 || local + 150 > sleeps => 12,
                _ => 4,
            };
            if self.rng.next_u64() % 100 < chance {
                used += litres;
            }
            minute += MINUTE_MS;
        }
        used
    }

    /// The next `count` readings at `now`, devices in turn.
    pub fn readings(&mut self, now: Millis, count: usize) -> Vec<Reading> {
        self.schedule(now);
        let mut out = Vec::with_capacity(count);
        let mut silent_skips = 0;
        while out.len() < count && !self.devices.is_empty() && silent_skips < self.devices.len() {
            let index = self.next_device;
            self.next_device = (self.next_device + 1) % self.devices.len();
            let device = self.devices[index].clone();
            if self.episode(&device.home, Anomaly::Silent) && device.kind != SensorKind::Water {
                silent_skips += 1;
                continue;
            }
            let seq = self.first_seq + self.state[index].reports;
            let (metric, value) = self.measure(index, &device, now);
            out.push(Reading {
                device: device.id,
                identity: Identity::Seq(seq),
                at: now,
                metric,
                value,
            });
        }
        out
    }

    fn measure(&mut self, index: usize, device: &SimDevice, now: Millis) -> (Metric, f64) {
        let home = device.home.as_str();
        let reports = self.state[index].reports;
        self.state[index].reports += 1;
        let last_at = self.state[index].last_at.replace(now);
        if self.episode(home, Anomaly::LowBattery) {
            self.state[index].battery = 9.0;
        } else if self.state[index].battery < 20.0 {
            self.state[index].battery = 95.0; // replaced
        }
        if reports % 12 == 5 {
            return (Metric::BatteryPct, self.state[index].battery.round());
        }
        if reports % 12 == 9 {
            let tampered = self.episode(home, Anomaly::Tamper);
            return (Metric::Tamper, if tampered { 1.0 } else { 0.0 });
        }
        match device.kind {
            SensorKind::Gas => {
                let leak = self.episode(home, Anomaly::GasLeak);
                let noise = (self.rng.next_u64() % 30) as f64 / 10.0;
                (
                    Metric::GasLelPct,
                    if leak { 35.0 + noise * 8.0 } else { noise },
                )
            }
            SensorKind::Smoke => {
                let smoke = self.episode(home, Anomaly::Smoke);
                (Metric::SmokeAlarm, if smoke { 1.0 } else { 0.0 })
            }
            SensorKind::Water if self.episode(home, Anomaly::WaterRunning) => {
                if reports.is_multiple_of(2) {
                    (Metric::WaterFlowLpm, 4.5)
                } else {
                    let from = last_at.unwrap_or(now);
                    self.state[index].meter += 4.5 * (now - from) as f64 / MINUTE_MS as f64;
                    (
                        Metric::WaterTotalL,
                        (self.state[index].meter * 10.0).round() / 10.0,
                    )
                }
            }
            SensorKind::Water => {
                let used = last_at.map_or(0.0, |from| self.water_used(home, from, now));
                self.state[index].meter += used;
                (
                    Metric::WaterTotalL,
                    (self.state[index].meter * 10.0).round() / 10.0,
                )
            }
        }
    }
}

/// Where simulated readings go.
pub enum Sink {
    /// Straight to the rules engine, in the server's own process.
    Engine(EngineHandle),
    /// `POST /api/v1/ingest` batches with a gateway token.
    Http {
        client: reqwest::Client,
        url: String,
        token: String,
    },
    /// One message per reading on `linli/sensors/{device}/up`, QoS 1.
    Mqtt(rumqttc::AsyncClient),
}

/// What a run sent and what came back.
#[derive(Debug, Default, Clone, Copy)]
pub struct Tally {
    pub sent: u64,
    pub accepted: u64,
    pub duplicates: u64,
    pub failed: u64,
}

/// Readings per HTTP batch.
const HTTP_BATCH: usize = 1_000;
/// Batches or messages in flight at once.
const IN_FLIGHT: usize = 8;

impl Sink {
    async fn send(&self, readings: Vec<Reading>, tally: &Arc<std::sync::Mutex<Tally>>) {
        let count = readings.len() as u64;
        let result: Result<(u64, u64), String> = match self {
            Sink::Engine(engine) => engine
                .ingest(Source::Trusted, readings)
                .await
                .map(|a| (a.accepted as u64, a.duplicates as u64))
                .map_err(|e| e.to_string()),
            Sink::Http { client, url, token } => {
                let body =
                    json!({"readings": readings.iter().map(reading_json).collect::<Vec<_>>()});
                match client.post(url).bearer_auth(token).json(&body).send().await {
                    Ok(r) if r.status().as_u16() == 202 => {
                        let v: serde_json::Value = r.json().await.unwrap_or_default();
                        Ok((
                            v["accepted"].as_u64().unwrap_or(0),
                            v["duplicates"].as_u64().unwrap_or(0),
                        ))
                    }
                    Ok(r) => Err(format!(
                        "{}: {}",
                        r.status(),
                        r.text().await.unwrap_or_default()
                    )),
                    Err(e) => Err(e.to_string()),
                }
            }
            Sink::Mqtt(client) => {
                let mut failed = None;
                for r in &readings {
                    let topic = crate::mqtt::device_topic(&r.device);
                    let payload = reading_json(r).to_string();
                    if let Err(e) = client
                        .publish(topic, rumqttc::QoS::AtLeastOnce, false, payload)
                        .await
                    {
                        failed = Some(e.to_string());
                        break;
                    }
                }
                failed.map_or(Ok((count, 0)), Err)
            }
        };
        let mut tally = tally.lock().expect("tally lock");
        tally.sent += count;
        match result {
            Ok((accepted, duplicates)) => {
                tally.accepted += accepted;
                tally.duplicates += duplicates;
            }
            Err(e) => {
                tally.failed += count;
                tracing::warn!("simulator: readings not delivered: {e}");
            }
        }
    }
}

/// A reading as the JSON batch and MQTT carry it.
pub fn reading_json(r: &Reading) -> serde_json::Value {
    let seq = match r.identity {
        Identity::Seq(seq) => seq,
        Identity::MetricAt => 0,
    };
    json!({"device": r.device, "seq": seq, "ts": crate::clock::rfc3339(r.at),
           "metric": r.metric.as_str(), "value": r.value})
}

/// Sends readings at `rate` per second (as fast as the sink takes them when `None`)
/// until `duration` has passed (forever when `None`).
pub async fn run(
    mut simulator: Simulator,
    sink: Sink,
    rate: Option<f64>,
    duration: Option<Duration>,
) -> Tally {
    let sink = Arc::new(sink);
    let tally = Arc::new(std::sync::Mutex::new(Tally::default()));
    let started = Instant::now();
    let mut owed = 0.0;
    let mut last = Instant::now();
    let mut in_flight = tokio::task::JoinSet::new();
    let step = Duration::from_millis(50);
    while duration.is_none_or(|d| started.elapsed() < d) {
        let count = match rate {
            Some(rate) => {
                owed += rate * last.elapsed().as_secs_f64();
                last = Instant::now();
                let whole = owed.floor();
                owed -= whole;
                whole as usize
            }
            None => HTTP_BATCH,
        };
        for chunk in simulator.readings(now_ms(), count).chunks(HTTP_BATCH) {
            while in_flight.len() >= IN_FLIGHT {
                in_flight.join_next().await;
            }
            let (sink, tally, chunk) = (sink.clone(), tally.clone(), chunk.to_vec());
            in_flight.spawn(async move { sink.send(chunk, &tally).await });
        }
        if rate.is_some() {
            tokio::time::sleep(step).await;
        }
    }
    while in_flight.join_next().await.is_some() {}
    let tally = *tally.lock().expect("tally lock");
    tally
}

#[cfg(test)]
mod tests {
    use super::*;

    fn devices(homes: usize) -> Vec<SimDevice> {
        (0..homes)
            .flat_map(|h| {
                [SensorKind::Water, SensorKind::Gas, SensorKind::Smoke]
                    .into_iter()
                    .map(move |kind| SimDevice {
                        id: format!("{}-{h}", kind.as_str()),
                        home: format!("h{h}"),
                        kind,
                    })
            })
            .collect()
    }

    #[test]
    fn readings_are_valid_unique_and_take_turns() {
        let start = 1_795_000_000_000;
        let mut sim = Simulator::new(devices(10), 7, Some(MINUTE_MS), start);
        let mut seen = std::collections::HashSet::new();
        for step in 0..200 {
            for r in sim.readings(start + step * 30_000, 30) {
                let line = reading_json(&r).to_string();
                let batch = crate::ingest::parse::parse(
                    line.as_bytes(),
                    crate::ingest::parse::Encoding::Json,
                    r.at,
                )
                .unwrap();
                assert!(
                    batch.refused.is_empty(),
                    "the simulator speaks the protocol"
                );
                let Identity::Seq(seq) = r.identity else {
                    panic!("seq")
                };
                assert!(seen.insert((r.device.clone(), seq)), "unique per device");
            }
        }
        assert!(seen.len() >= 5_000);
    }

    #[test]
    fn every_kind_of_anomaly_comes_up_and_shows_in_the_readings() {
        let start = 1_795_000_000_000;
        let mut sim = Simulator::new(devices(3), 11, Some(MINUTE_MS), start);
        let mut gas_high = false;
        let mut smoke = false;
        let mut kinds = std::collections::HashSet::new();
        for step in 0..600 {
            let now = start + step * MINUTE_MS;
            for r in sim.readings(now, 9) {
                gas_high |= r.metric == Metric::GasLelPct && r.value >= 20.0;
                smoke |= r.metric == Metric::SmokeAlarm && r.value == 1.0;
            }
            kinds.extend(sim.episodes.iter().map(|e| e.anomaly));
        }
        assert_eq!(kinds.len(), ANOMALIES.len(), "{kinds:?}");
        assert!(gas_high && smoke);
    }
}
