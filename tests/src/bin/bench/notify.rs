//! Alarm to message: 100 gas alarms, one at a time, each raised by a detector's reading
//! over HTTP; the time from sending the reading to a local webhook receiver taking the
//! message the notifier sent for it (ingest, rules, event log, notifier, outbox, send).

use anyhow::Result;
use linli_tests::{LinliServer, Receiver};
use serde_json::json;
use std::time::{Duration, Instant};

const ALARMS: usize = 100;

pub async fn measure() -> Result<()> {
    let server = LinliServer::start_demo().await?;
    let receiver = Receiver::start().await;
    let commander = server.signed_in("demo-commander").await?;
    commander
        .post(server.url("/api/v1/notify/channels"))
        .json(
            &json!({"name": "bench", "kind": "webhook", "url": format!("{}/hook", receiver.base),
                      "min_severity": "critical"}),
        )
        .send()
        .await?
        .error_for_status()?;
    let homes = server.homes("demo-commander").await?;
    anyhow::ensure!(homes.len() >= ALARMS, "the demo has too few homes");
    let mut detectors = Vec::new();
    for home in homes.iter().take(ALARMS) {
        detectors.push(
            server
                .add_device(home["id"].as_str().unwrap(), "gas")
                .await?,
        );
    }
    let mut latencies = Vec::new();
    for (n, (device, token)) in detectors.iter().enumerate() {
        let started = Instant::now();
        server.report_gas_leak(device, token).await?;
        let deadline = started + Duration::from_secs(10);
        while receiver.all().len() <= n {
            anyhow::ensure!(
                Instant::now() < deadline,
                "no message within 10 s of alarm {n}"
            );
            tokio::time::sleep(Duration::from_micros(500)).await;
        }
        latencies.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    latencies.sort_by(f64::total_cmp);
    let at = |p: f64| latencies[((latencies.len() - 1) as f64 * p).round() as usize];
    println!(
        "  gas reading → message at a webhook receiver ({ALARMS} alarms, one at a time): p50 {:.0} ms, p99 {:.0} ms, worst {:.0} ms",
        at(0.5),
        at(0.99),
        at(1.0)
    );
    Ok(())
}
