//! Notifications survive a server killed while they wait: the real `linli` binary,
//! SIGKILLed with messages decided but not yet taken (their receiver down) and with an
//! alarm only just raised; restarted, it sends every message, each exactly once.

use linli_tests::{free_port, LinliServer, Receiver};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::time::Duration;

#[tokio::test]
async fn every_decided_message_arrives_exactly_once_across_a_kill() -> anyhow::Result<()> {
    let mut server = LinliServer::start_demo().await?;
    let port = free_port()?;
    let commander = server.signed_in("demo-commander").await?;
    let added = commander
        .post(server.url("/api/v1/notify/channels"))
        .json(&json!({"name": "值班群", "kind": "webhook", "url": format!("http://127.0.0.1:{port}/hook"),
                      "min_severity": "critical"}))
        .send()
        .await?;
    assert_eq!(added.status(), 201);
    let homes = server.homes("demo-commander").await?;
    let home = |i: usize| homes[i]["id"].as_str().unwrap().to_string();

    // Three alarms while the receiver is down: decided, tried, waiting.
    for i in 0..3 {
        server.raise_gas_alarm(&home(i)).await?;
    }
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    // A fourth, and the kill right after it: decided or not yet, it is not lost.
    server.raise_gas_alarm(&home(3)).await?;
    server.kill_and_restart().await?;

    let receiver = Receiver::start_on(port).await;
    let got = receiver.wait_for("/hook", 4).await;
    // Longer than the retries' spacing: nothing comes twice.
    tokio::time::sleep(Duration::from_secs(5)).await;
    let got_later = receiver.on("/hook");
    let mut per_alert: HashMap<i64, usize> = HashMap::new();
    for message in &got_later {
        *per_alert
            .entry(message.body["alert"]["id"].as_i64().unwrap())
            .or_default() += 1;
    }
    assert_eq!(got.len(), 4);
    assert_eq!(per_alert.len(), 4, "{per_alert:?}");
    assert!(
        per_alert.values().all(|n| *n == 1),
        "a message came twice: {per_alert:?}"
    );
    let delivery_ids: Vec<&Value> = got_later.iter().map(|m| &m.body["delivery"]).collect();
    assert_eq!(delivery_ids.len(), 4);
    Ok(())
}
