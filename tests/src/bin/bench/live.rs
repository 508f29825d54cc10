//! The server figures of TARGETS.md: ingest over HTTP and MQTT, reading-to-alert
//! latency at an SSE client under background load, and fan-out to 2,000 SSE clients
//! with the server's memory. The release `linli serve --demo` with a private Mosquitto;
//! the load comes from `linli simulate` (the same machine, as TARGETS.md says). Once on
//! SQLite and once on a private PostgreSQL (durable: its default settings), where a
//! second server joins for the latency (probes sent to it, forwarded to the leader,
//! the alert streamed from it) and the leader is then killed to time the failover.

use anyhow::{Context as _, Result};
use linli_tests::{linli_binary, Broker, LinliServer, Postgres};
use serde_json::json;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::process::Command;

const RUNS: usize = 3;
const LOAD_SECONDS: &str = "10";
const PROBES: usize = 100;
const FAN_OUT_CLIENTS: usize = 2_000;
const FAN_OUT_EVENTS: usize = 20;

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn percentile(values: &mut [f64], p: f64) -> f64 {
    values.sort_by(f64::total_cmp);
    let i = ((values.len() as f64 - 1.0) * p).round() as usize;
    values[i]
}

/// Runs `linli simulate` against the server's database; its summary line.
async fn simulate(server: &LinliServer, args: &[&str]) -> Result<String> {
    let database = server.database_url();
    let out = Command::new(linli_binary()?)
        .arg("simulate")
        .args(args)
        .args(["--anomaly-every", "0", "--database-url", &database])
        .env("RUST_LOG", "error")
        .output()
        .await?;
    anyhow::ensure!(
        out.status.success(),
        "linli simulate failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(String::from_utf8(out.stdout)?.trim().to_string())
}

/// "sent N readings in S s (R/s): A accepted, …" → (accepted, seconds).
fn accepted_rate(summary: &str) -> Option<f64> {
    let seconds: f64 = summary
        .split(" in ")
        .nth(1)?
        .split(' ')
        .next()?
        .parse()
        .ok()?;
    let accepted: f64 = summary
        .split(": ")
        .nth(1)?
        .split(' ')
        .next()?
        .parse()
        .ok()?;
    Some(accepted / seconds)
}

async fn mqtt_stored(server: &LinliServer) -> Result<f64> {
    let metrics = reqwest::get(server.url("/metrics")).await?.text().await?;
    Ok(metrics
        .lines()
        .find_map(|l| l.strip_prefix("linli_mqtt_messages_total{outcome=\"stored\"} "))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(0.0))
}

/// A device token for probes: (device id, token).
async fn probe_device(server: &LinliServer) -> Result<(String, String)> {
    let homes = server.homes("demo-commander").await?;
    let home = homes[0]["id"].as_str().context("a demo home")?;
    server.add_device(home, "gas").await
}

/// Alert events for `device` seen by SSE clients: (client, event id, when).
type Seen = Arc<Mutex<Vec<(usize, i64, Instant)>>>;

/// Opens `count` SSE streams as the commander, each recording the alert events of
/// `device`; returns once all are open.
async fn open_streams(server: &LinliServer, count: usize, device: &str) -> Result<Seen> {
    let client = server.signed_in("demo-commander").await?;
    let seen: Seen = Arc::default();
    let mut opened = Vec::with_capacity(count);
    for n in 0..count {
        let (client, url, seen, device) = (
            client.clone(),
            server.url("/api/v1/stream"),
            seen.clone(),
            format!("\"device\":\"{device}\""),
        );
        opened.push(tokio::spawn(async move {
            let mut response = client.get(url).send().await?;
            anyhow::ensure!(
                response.status() == 200,
                "stream refused: {}",
                response.status()
            );
            tokio::spawn(async move {
                let mut text = String::new();
                while let Ok(Some(chunk)) = response.chunk().await {
                    let at = Instant::now();
                    text.push_str(&String::from_utf8_lossy(&chunk));
                    while let Some(end) = text.find("\n\n") {
                        let block: String = text.drain(..end + 2).collect();
                        if !(block.contains("event: alert.") && block.contains(&device)) {
                            continue;
                        }
                        let id = block
                            .lines()
                            .find_map(|l| l.strip_prefix("id:"))
                            .and_then(|v| v.trim().parse().ok())
                            .unwrap_or(0);
                        seen.lock().unwrap().push((n, id, at));
                    }
                }
            });
            Ok(())
        }));
    }
    for task in opened {
        task.await??;
    }
    Ok(seen)
}

/// Sends gas readings alternately high and low: each one changes the probe alert (raised
/// or back, then cleared), so each makes exactly one alert event. Returns when each was
/// sent.
async fn probe(
    server: &LinliServer,
    (device, token): &(String, String),
    seq: &mut u64,
    value: f64,
) -> Result<Instant> {
    *seq += 1;
    let body = json!({"readings": [{"device": device, "seq": *seq, "ts": linli_tests::now_rfc3339(),
                                    "metric": "gas_lel_pct", "value": value}]});
    let sent = Instant::now();
    let answer = reqwest::Client::new()
        .post(server.url("/api/v1/ingest"))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await?;
    anyhow::ensure!(answer.status() == 202, "probe refused: {}", answer.status());
    Ok(sent)
}

/// Waits until `seen` holds `count` events per client (or 10 s pass).
async fn wait_seen(seen: &Seen, count: usize) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while seen.lock().unwrap().len() < count && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// The database the server figures are measured on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum On {
    Sqlite,
    Postgres,
}

pub async fn measure(on: On) -> Result<()> {
    let broker = Broker::start();
    let mqtt = ["--mqtt-url", &broker.url(), "--no-static"];
    let postgres = (on == On::Postgres).then(|| Postgres::start(&[]));
    let (mut server, database) = match &postgres {
        None => {
            println!("server on SQLite (release `linli serve --demo`, private Mosquitto, load from `linli simulate` on this machine):");
            (LinliServer::start_demo_with(&mqtt[..2]).await?, None)
        }
        Some(postgres) => {
            println!("server on PostgreSQL (a private one, durable; otherwise as above):");
            let database = postgres.database().await;
            (
                LinliServer::start_on(&database, true, &mqtt).await?,
                Some(database),
            )
        }
    };
    for _ in 0..200 {
        if reqwest::get(server.url("/readyz")).await?.status() == 200 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let base = server.base_url.clone();

    // HTTP: batches of 1,000 readings, 8 in flight, durable before 202.
    let mut rates = Vec::new();
    for _ in 0..RUNS {
        let summary = simulate(&server, &["--url", &base, "--duration", LOAD_SECONDS]).await?;
        rates.push(accepted_rate(&summary).context(summary)?);
    }
    println!(
        "  HTTP ingest, durable before 202: median {:.0} readings/s ({} runs of {LOAD_SECONDS} s: {})   (target ≥ 100,000; ThingsBoard ≤ 5–10K)",
        median(rates.clone()),
        RUNS,
        rates.iter().map(|r| format!("{r:.0}")).collect::<Vec<_>>().join(", ")
    );

    // MQTT: one QoS 1 message per reading; counted when Linli has stored them.
    let mut rates = Vec::new();
    for _ in 0..RUNS {
        let before = mqtt_stored(&server).await?;
        let started = Instant::now();
        simulate(
            &server,
            &["--mqtt-url", &broker.url(), "--duration", LOAD_SECONDS],
        )
        .await?;
        let (mut last, mut last_change) = (before, started);
        loop {
            tokio::time::sleep(Duration::from_millis(250)).await;
            let now = mqtt_stored(&server).await?;
            if now > last {
                (last, last_change) = (now, Instant::now());
            } else if last_change.elapsed() > Duration::from_secs(2) {
                break;
            }
        }
        let seconds = last_change.duration_since(started).as_secs_f64();
        rates.push(if last > before {
            (last - before) / seconds
        } else {
            0.0
        });
    }
    println!(
        "  MQTT ingest, QoS 1 through Mosquitto, stored: median {:.0} messages/s ({})   (target ≥ 30,000; ThingsBoard 3.5K)",
        median(rates.clone()),
        rates.iter().map(|r| format!("{r:.0}")).collect::<Vec<_>>().join(", ")
    );

    // Latency: a reading's alert event at an SSE client, under 10,000 readings/s. On
    // PostgreSQL through a second server: the probes sent to it and forwarded to the
    // leader, the alert streamed from it.
    let second = match &database {
        Some(database) => Some(LinliServer::start_on(database, false, &["--no-static"]).await?),
        None => None,
    };
    let prober = second.as_ref().unwrap_or(&server);
    let background = {
        let database = server.database_url();
        let base = base.clone();
        tokio::spawn(async move {
            Command::new(linli_binary()?)
                .args([
                    "simulate",
                    "--url",
                    &base,
                    "--rate",
                    "10000",
                    "--duration",
                    "30",
                ])
                .args(["--anomaly-every", "0", "--database-url", &database])
                .env("RUST_LOG", "error")
                .output()
                .await
                .map(|out| String::from_utf8_lossy(&out.stdout).trim().to_string())
                .map_err(anyhow::Error::from)
        })
    };
    tokio::time::sleep(Duration::from_secs(2)).await;
    // The probe's detector is fitted once the load generator has read the devices it
    // plays: its own readings of it (gas 0, its own counter) would clear the probe's
    // alert and take the probe's counter as theirs, leaving probes without an event.
    let device = probe_device(&server).await?;
    let seen = open_streams(prober, 1, &device.0).await?;
    let mut seq = 0;
    let mut latencies = Vec::new();
    for i in 0..PROBES {
        let sent = probe(
            prober,
            &device,
            &mut seq,
            if i % 2 == 0 { 45.0 } else { 0.0 },
        )
        .await?;
        wait_seen(&seen, i + 1).await;
        if let Some((_, _, at)) = seen.lock().unwrap().get(i) {
            latencies.push(at.duration_since(sent).as_secs_f64() * 1000.0);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let load = background.await??;
    println!(
        "  reading → alert event at an SSE client ({} probes over HTTP{}, background {load}): p50 {:.1} ms, p99 {:.1} ms   (target p99 ≤ 50 ms; ≤ 100 ms with two servers)",
        latencies.len(),
        if second.is_some() { " through the second server" } else { "" },
        percentile(&mut latencies, 0.5),
        percentile(&mut latencies, 0.99)
    );

    // Fan-out: every alert event to 2,000 open streams.
    let rss_before = server.rss_bytes().unwrap_or(0);
    let seen = open_streams(&server, FAN_OUT_CLIENTS, &device.0).await?;
    let rss_idle = server.rss_bytes().unwrap_or(0);
    let mut delivery = Vec::new();
    let mut rss_peak = rss_idle;
    for i in 0..FAN_OUT_EVENTS {
        let value = if (PROBES + i).is_multiple_of(2) {
            45.0
        } else {
            0.0
        };
        let sent = probe(&server, &device, &mut seq, value).await?;
        // Each event's deliveries are taken out once all clients have it.
        wait_seen(&seen, FAN_OUT_CLIENTS).await;
        rss_peak = rss_peak.max(server.rss_bytes().unwrap_or(0));
        let arrived: Vec<(usize, i64, Instant)> = seen.lock().unwrap().drain(..).collect();
        delivery.extend(
            arrived
                .iter()
                .map(|(_, _, at)| at.duration_since(sent).as_secs_f64() * 1000.0),
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let expected = FAN_OUT_CLIENTS * FAN_OUT_EVENTS;
    println!(
        "  fan-out to {FAN_OUT_CLIENTS} SSE clients ({FAN_OUT_EVENTS} alert events, {} of {expected} deliveries): p50 {:.0} ms, p99 {:.0} ms; server RSS {:.0} MB before the clients (after the ingest runs above), {:.0} MB with them open, peak {:.0} MB   (target p99 ≤ 250 ms, RSS ≤ 200 MB)",
        delivery.len(),
        percentile(&mut delivery, 0.5),
        percentile(&mut delivery, 0.99),
        rss_before as f64 / 1e6,
        rss_idle as f64 / 1e6,
        rss_peak as f64 / 1e6
    );
    if let Some(second) = second {
        failover(&mut server, &second).await?;
    }
    Ok(())
}

/// Kills the leader with SIGKILL and times until the second server leads.
async fn failover(leader: &mut LinliServer, second: &LinliServer) -> Result<()> {
    let role = async || -> Result<String> {
        let ready: serde_json::Value = reqwest::get(second.url("/readyz")).await?.json().await?;
        Ok(ready["role"].as_str().unwrap_or_default().to_string())
    };
    anyhow::ensure!(
        role().await? == "follower",
        "the second server should follow"
    );
    leader.kill().await?;
    let killed = Instant::now();
    while role().await? != "leader" {
        anyhow::ensure!(
            killed.elapsed() < Duration::from_secs(30),
            "no new leader in 30 s"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    println!(
        "  failover: the leader killed (SIGKILL), the second server led after {:.0} ms   (target ≤ 10 s)",
        killed.elapsed().as_secs_f64() * 1000.0
    );
    Ok(())
}
