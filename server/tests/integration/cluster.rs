//! Several `linli serve` on one PostgreSQL database (the real binary, a private
//! PostgreSQL): one runs the rules and the others forward to it; killed with SIGKILL,
//! the leader is replaced by a survivor, and no acknowledged reading is lost or raises
//! its alert twice. Runs on PostgreSQL whichever database the rest of the suite uses.

use crate::support::{eventually, reading};
use linli_domain::alerts::{AlertKind, AlertState};
use linli_domain::care::SensorKind;
use linli_server::store::sql::SqlStore;
use linli_server::store::{Actor, AlertFilter, Change, Store as _};
use linli_tests::{LinliServer, Postgres};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

/// What `/readyz` says a server is: `leader` or `follower`.
async fn role(server: &LinliServer) -> Option<String> {
    let ready: Value = reqwest::get(server.url("/readyz"))
        .await
        .ok()?
        .json()
        .await
        .ok()?;
    ready["role"].as_str().map(str::to_string)
}

/// Sends `batch` to `server` with `token`: the status.
async fn send(server: &LinliServer, token: &str, batch: Value) -> u16 {
    reqwest::Client::new()
        .post(server.url("/api/v1/ingest"))
        .bearer_auth(token)
        .json(&batch)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn the_servers_on_one_database_share_the_rules_and_a_survivor_takes_them_over() {
    let database = Postgres::shared().database().await;
    let mut first = LinliServer::start_on(&database, true, &["--no-static"])
        .await
        .unwrap();
    assert_eq!(role(&first).await.as_deref(), Some("leader"));
    let second = LinliServer::start_on(&database, true, &["--no-static"])
        .await
        .unwrap();
    assert_eq!(role(&second).await.as_deref(), Some("follower"));

    // A gas detector on a demo home, and its token.
    let store = SqlStore::open(&database.parse().unwrap()).await.unwrap();
    let home = store.homes(None).await.unwrap()[0].id.clone();
    let token = linli_server::auth::token::new_token();
    let change = Change::new(Actor::System("cli"), linli_server::clock::now_ms());
    let gas = store
        .add_device(
            &change,
            &home,
            SensorKind::Gas,
            &linli_server::auth::token::token_hash(&token),
        )
        .await
        .unwrap();
    let open_gas_alerts = async || {
        store
            .alerts(&AlertFilter {
                limit: 100,
                ..Default::default()
            })
            .await
            .unwrap()
            .into_iter()
            .filter(|a| a.home == home && a.kind == AlertKind::Gas)
            .filter(|a| a.state != AlertState::Resolved)
            .count()
    };

    // A leak reported to the follower is acknowledged once the leader committed it,
    // and raises one alert. The follower's new device is known at once (its token is
    // checked in the database).
    let leak = |seq: u64| json!({"readings": [reading(&gas, seq, "gas_lel_pct", 45.0)]});
    assert_eq!(send(&second, &token, leak(1)).await, 202);
    eventually(
        "the leak raises its alert",
        Duration::from_secs(10),
        async || (open_gas_alerts().await == 1).then_some(()),
    )
    .await;

    // The leader dies without a word. The follower takes over the rules within 10 s,
    // and the leak's alert is not raised a second time by the new engine.
    first.kill().await.unwrap();
    let killed = Instant::now();
    eventually("the survivor leads", Duration::from_secs(10), async || {
        (role(&second).await.as_deref() == Some("leader")).then_some(())
    })
    .await;
    let without_leader = killed.elapsed();
    let after = leak(2);
    assert_eq!(send(&second, &token, after.clone()).await, 202);
    // The same reading again (no answer reached the device) is a repeat: not stored
    // again, no second alert.
    assert_eq!(send(&second, &token, after).await, 202);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(open_gas_alerts().await, 1);

    // A new server joins as a follower of the survivor, and forwards to it.
    let third = LinliServer::start_on(&database, false, &["--no-static"])
        .await
        .unwrap();
    assert_eq!(role(&third).await.as_deref(), Some("follower"));
    assert_eq!(send(&third, &token, leak(3)).await, 202);
    let readings = store.readings_after(0, 100).await.unwrap();
    assert_eq!(
        readings.iter().filter(|(_, r)| r.device == gas).count(),
        3,
        "each acknowledged reading stored once: {readings:?}"
    );
    println!("without a leader for {without_leader:?}");
}
