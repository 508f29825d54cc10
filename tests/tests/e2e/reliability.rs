//! `kill -9` of the server during sustained ingest, 20 times (TARGETS.md, reliability):
//! no acknowledged reading lost, none stored twice, no alert lost or doubled.
//!
//! Three writers send batches of water-meter readings over HTTP, as gateways do, each
//! sending a batch again until it is acknowledged (as a device would after a broken
//! connection); a fourth sends one gas leak after another, each from another home. The
//! test kills the real `linli serve` with SIGKILL at random moments and starts it again
//! on the same database. Afterwards it checks the database itself: every reading once,
//! and every leak that was acknowledged has exactly one alert.

use anyhow::{Context as _, Result};
use linli_tests::{now_rfc3339, LinliServer};
use serde_json::{json, Value};
use sqlx::Row as _;
use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const KILLS: usize = 20;
const WRITERS: usize = 3;
const BATCH: usize = 300;

/// Sends `body` until the server answers 202; the answer.
async fn send_until_stored(base: &str, token: &str, body: &Value) -> Value {
    let client = reqwest::Client::new();
    loop {
        let answer = client
            .post(format!("{base}/api/v1/ingest"))
            .bearer_auth(token)
            .json(body)
            .timeout(Duration::from_secs(10))
            .send()
            .await;
        if let Ok(answer) = answer {
            if answer.status() == 202 {
                if let Ok(value) = answer.json::<Value>().await {
                    return value;
                }
            } else if !answer.status().is_server_error() {
                let status = answer.status();
                panic!(
                    "refused: {status} {}",
                    answer.text().await.unwrap_or_default()
                );
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn kill_9_during_sustained_ingest_loses_and_doubles_nothing() -> Result<()> {
    let mut server = LinliServer::start_demo().await?;
    let base = server.base_url.clone();
    let printed = server.linli(&["gateway", "add", "crash-test"]).await?;
    let token = printed
        .lines()
        .find_map(|l| l.strip_prefix("token: "))
        .context("gateway token")?
        .to_string();
    let commander = server.signed_in("demo-commander").await?;
    let homes: Vec<Value> = commander
        .get(server.url("/api/v1/homes"))
        .send()
        .await?
        .json()
        .await?;
    let sensors = |kind: &str| -> Vec<(String, String)> {
        homes
            .iter()
            .flat_map(|h| {
                h["sensors"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter(|s| s["kind"] == kind)
                    .map(|s| {
                        (
                            s["id"].as_str().unwrap().to_string(),
                            h["id"].as_str().unwrap().to_string(),
                        )
                    })
            })
            .collect()
    };
    let meters: Vec<String> = sensors("water").into_iter().map(|(d, _)| d).collect();
    let gas = sensors("gas");
    anyhow::ensure!(meters.len() >= WRITERS && gas.len() > KILLS, "demo sensors");

    let stop = Arc::new(AtomicBool::new(false));
    // Every batch sent (all end up acknowledged), and the homes whose leak was.
    let sent: Arc<Mutex<Vec<Value>>> = Arc::default();
    let leaks: Arc<Mutex<Vec<String>>> = Arc::default();
    let mut writers = Vec::new();
    for w in 0..WRITERS {
        let mine: Vec<String> = meters.iter().skip(w).step_by(WRITERS).cloned().collect();
        let (base, token, stop, sent) = (base.clone(), token.clone(), stop.clone(), sent.clone());
        writers.push(tokio::spawn(async move {
            // Each device counts its readings, as real ones do.
            let mut seqs = vec![0u64; mine.len()];
            let mut next = 0;
            let mut meter = 10_000.0;
            while !stop.load(Ordering::Relaxed) {
                meter += 1.5;
                let ts = now_rfc3339();
                let readings: Vec<Value> = (0..BATCH)
                    .map(|_| {
                        next = (next + 1) % mine.len();
                        seqs[next] += 1;
                        json!({"device": mine[next], "seq": seqs[next], "ts": ts,
                               "metric": "water_total_l", "value": meter})
                    })
                    .collect();
                let body = json!({ "readings": readings });
                send_until_stored(&base, &token, &body).await;
                sent.lock().unwrap().push(body);
            }
        }));
    }
    {
        let (base, token, stop, leaks, gas) = (
            base.clone(),
            token.clone(),
            stop.clone(),
            leaks.clone(),
            gas.clone(),
        );
        writers.push(tokio::spawn(async move {
            for (device, home) in gas {
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                let body = json!({"readings": [{"device": device, "seq": 1, "ts": now_rfc3339(),
                                                "metric": "gas_lel_pct", "value": 45.0}]});
                send_until_stored(&base, &token, &body).await;
                leaks.lock().unwrap().push(home);
                tokio::time::sleep(Duration::from_millis(150)).await;
            }
        }));
    }

    // Kill at moments that vary (a fixed sequence, so that a failure can be rerun).
    let mut random = 0x2545_f491_4f6c_dd1du64;
    for _ in 0..KILLS {
        random ^= random << 13;
        random ^= random >> 7;
        random ^= random << 17;
        tokio::time::sleep(Duration::from_millis(300 + random % 700)).await;
        server.kill_and_restart().await?;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    stop.store(true, Ordering::Relaxed);
    for writer in writers {
        writer.await?;
    }

    // The last batches sent again (as a gateway unsure of its last answers would): all
    // of it known already. Older ones lie too far behind each device's newest reading
    // to be told from repeats, and are refused (ingest::dedup).
    let sent = sent.lock().unwrap().clone();
    for body in sent.iter().rev().take(WRITERS * 2) {
        let answer = send_until_stored(&base, &token, body).await;
        let count = body["readings"].as_array().unwrap().len();
        assert_eq!(
            answer,
            json!({"accepted": 0, "duplicates": count, "refused": []})
        );
    }
    let mut expected = HashSet::new();
    for body in &sent {
        for r in body["readings"].as_array().unwrap() {
            expected.insert((
                r["device"].as_str().unwrap().to_string(),
                r["seq"].as_i64().unwrap(),
            ));
        }
    }
    anyhow::ensure!(
        sent.len() > 20 * WRITERS,
        "only {} batches were sent",
        sent.len()
    );

    // The database itself (SQLite, or PostgreSQL with LINLI_TEST_DATABASE=postgres):
    // each reading sent is there, once.
    let db = server.sql().await?;
    let rows = sqlx::query(
        "SELECT device, seq, COUNT(*) AS n FROM readings WHERE metric = 0 GROUP BY device, seq",
    )
    .fetch_all(&db)
    .await?;
    let mut stored = HashSet::new();
    for row in &rows {
        let key: (String, i64) = (row.try_get("device")?, row.try_get("seq")?);
        assert_eq!(row.try_get::<i64, _>("n")?, 1, "{key:?} stored twice");
        stored.insert(key);
    }
    assert_eq!(
        stored, expected,
        "every acknowledged reading, and nothing else"
    );

    // Each acknowledged leak has one alert, still active (critical alerts wait for a
    // person); no home has two.
    let leaks = leaks.lock().unwrap().clone();
    anyhow::ensure!(
        leaks.len() >= KILLS / 2,
        "only {} leaks were sent",
        leaks.len()
    );
    let alerts: Vec<Value> = server
        .signed_in("demo-commander")
        .await?
        .get(server.url("/api/v1/alerts?limit=1000"))
        .send()
        .await?
        .json()
        .await?;
    for home in &leaks {
        let of_home: Vec<&Value> = alerts
            .iter()
            .filter(|a| a["home"] == home.as_str() && a["kind"] == "gas")
            .collect();
        assert_eq!(of_home.len(), 1, "home {home}: {of_home:?}");
        assert_ne!(of_home[0]["state"], "resolved");
    }
    let raised = sqlx::query("SELECT COUNT(*) AS n FROM events WHERE kind = 'alert.raised' AND data LIKE '%\"kind\":\"gas\"%'")
        .fetch_one(&db)
        .await?
        .try_get::<i64, _>("n")?;
    assert_eq!(
        raised as usize,
        leaks.len(),
        "one alert.raised event per leak"
    );
    println!(
        "{KILLS} kills: {} batches, {} readings, {} leaks, nothing lost or doubled",
        sent.len(),
        expected.len(),
        leaks.len()
    );
    Ok(())
}
