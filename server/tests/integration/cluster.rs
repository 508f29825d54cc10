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

/// A server on `database` (the demo loaded when `demo`), without the app.
async fn serve(database: &str, demo: bool) -> LinliServer {
    LinliServer::start_on(database, demo, &["--no-static"])
        .await
        .unwrap()
}

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
    let mut first = serve(&database, true).await;
    assert_eq!(role(&first).await.as_deref(), Some("leader"));
    let second = serve(&database, true).await;
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
    let third = serve(&database, false).await;
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

/// What a stream delivered: the ids of its events, reconnecting to whichever server
/// answers (with `Last-Event-ID`) whenever its server goes, until `stop`.
async fn follow_stream(servers: Vec<String>, stop: tokio::sync::watch::Receiver<bool>) -> Vec<i64> {
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .unwrap();
    let mut ids: Vec<i64> = Vec::new();
    let mut turn = 0;
    while !*stop.borrow() {
        let base = &servers[turn % servers.len()];
        turn += 1;
        let signed_in = client
            .post(format!("{base}/api/v1/session"))
            .json(&json!({"username": "demo-commander", "password": "demo"}))
            .send()
            .await;
        if !signed_in.is_ok_and(|r| r.status() == 200) {
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        }
        let mut request = client.get(format!("{base}/api/v1/stream"));
        if let Some(last) = ids.last() {
            request = request.header("last-event-id", last.to_string());
        }
        let Ok(mut response) = request.send().await else {
            continue;
        };
        let mut text = String::new();
        loop {
            let chunk = tokio::select! {
                chunk = response.chunk() => chunk,
                _ = tokio::time::sleep(Duration::from_millis(200)) => {
                    if *stop.borrow() { return ids } else { continue }
                }
            };
            let Ok(Some(chunk)) = chunk else { break };
            text.push_str(&String::from_utf8_lossy(&chunk));
            while let Some(end) = text.find("\n\n") {
                let block: String = text.drain(..end + 2).collect();
                let id = block
                    .lines()
                    .find_map(|l| l.strip_prefix("id:"))
                    .and_then(|v| v.trim().parse::<i64>().ok());
                if let Some(id) = id {
                    assert!(
                        ids.last().is_none_or(|last| id > *last),
                        "{id} after {ids:?}"
                    );
                    ids.push(id);
                }
            }
        }
    }
    ids
}

/// A detector that publishes one reading every 100 ms over MQTT (QoS 1), the 20th and
/// later saying there is gas, until `stop`: how many it published. The broker
/// acknowledges each to the device; Linli acknowledges it to the broker only once it
/// is stored, so a server killed before that leaves it with the broker, which gives it
/// again when that server's session (its client id) comes back.
async fn publish_over_mqtt(
    broker: String,
    device: String,
    leaks_from: u64,
    stopped: tokio::sync::watch::Receiver<bool>,
) -> (String, u64) {
    let url: linli_server::mqtt::MqttUrl = broker.parse().unwrap();
    let (client, mut events) = rumqttc::AsyncClient::new(url.options(&device), 100);
    let acknowledged = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let counted = acknowledged.clone();
    tokio::spawn(async move {
        while let Ok(event) = events.poll().await {
            if let rumqttc::Event::Incoming(rumqttc::Packet::PubAck(_)) = event {
                counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            }
        }
    });
    let mut seq = 0;
    while !*stopped.borrow() {
        seq += 1;
        let gas = if seq >= leaks_from { 45.0 } else { 0.0 };
        let payload = json!({"readings": [reading(&device, seq, "gas_lel_pct", gas)]});
        let topic = format!("linli/sensors/{device}/up");
        let qos = rumqttc::QoS::AtLeastOnce;
        client
            .publish(topic, qos, false, payload.to_string())
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The broker's acknowledgements of the last ones (a plain loop: an async closure
    // here would make this future not `Send`).
    let waited = Instant::now();
    while acknowledged.load(std::sync::atomic::Ordering::SeqCst) < seq {
        assert!(
            waited.elapsed() < Duration::from_secs(10),
            "the broker acknowledges"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    (device, seq)
}

#[tokio::test]
async fn five_leaders_killed_lose_no_acknowledged_reading_alert_or_streamed_event() {
    let database = Postgres::shared().database().await;
    let broker = linli_tests::Broker::start();
    let serve = async |demo: bool, client_id: &str| {
        let mqtt = [
            "--mqtt-url",
            &broker.url(),
            "--mqtt-shared",
            "--mqtt-client-id",
            client_id,
        ];
        let flags = [&["--no-static"][..], &mqtt[..]].concat();
        LinliServer::start_on(&database, demo, &flags)
            .await
            .unwrap()
    };
    let mut servers = [serve(true, "linli-a").await, serve(false, "linli-b").await];
    let store = SqlStore::open(&database.parse().unwrap()).await.unwrap();
    // Eight homes, each with a gas detector that will leak once, during the kills:
    // five send over HTTP, three over MQTT.
    let homes: Vec<String> = store.homes(None).await.unwrap()[..8]
        .iter()
        .map(|h| h.id.clone())
        .collect();
    let change = Change::new(Actor::System("cli"), linli_server::clock::now_ms());
    let mut detectors = Vec::new();
    for home in &homes {
        let token = linli_server::auth::token::new_token();
        let device = store
            .add_device(
                &change,
                home,
                SensorKind::Gas,
                &linli_server::auth::token::token_hash(&token),
            )
            .await
            .unwrap();
        detectors.push((device, token));
    }
    let over_mqtt = detectors.split_off(5);
    let urls: Vec<String> = servers.iter().map(|s| s.url("")).collect();
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let stream = tokio::spawn(follow_stream(urls.clone(), stopped.clone()));
    let mut publishers = Vec::new();
    for (n, (device, _)) in over_mqtt.into_iter().enumerate() {
        let leaks_from = 25 + 10 * n as u64;
        let publishing = publish_over_mqtt(broker.url(), device, leaks_from, stopped.clone());
        publishers.push(tokio::spawn(publishing));
    }

    // Each detector sends a reading every 100 ms to one server or the other, the same
    // reading again (to the other) until one answers 202, as a device does; the 20th
    // and later say there is gas. Acknowledged readings are counted.
    let mut senders = Vec::new();
    for (n, (device, token)) in detectors.clone().into_iter().enumerate() {
        let urls = urls.clone();
        let stopped = stopped.clone();
        senders.push(tokio::spawn(async move {
            let client = reqwest::Client::builder()
                .timeout(Duration::from_secs(5))
                .build()
                .unwrap();
            let mut acknowledged = 0u64;
            let mut seq = 0u64;
            while !*stopped.borrow() {
                seq += 1;
                let gas = if seq >= 20 + 10 * n as u64 { 45.0 } else { 0.0 };
                let batch = json!({"readings": [reading(&device, seq, "gas_lel_pct", gas)]});
                let mut to = seq as usize;
                loop {
                    let sent = client
                        .post(format!("{}/api/v1/ingest", urls[to % urls.len()]))
                        .bearer_auth(&token)
                        .json(&batch)
                        .send()
                        .await;
                    if sent.is_ok_and(|r| r.status() == 202) {
                        acknowledged += 1;
                        break;
                    }
                    to += 1;
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            (device, acknowledged)
        }));
    }

    let mut without_leader = Vec::new();
    for _ in 0..5 {
        tokio::time::sleep(Duration::from_millis(1_500)).await;
        let mut leader = None;
        for (i, server) in servers.iter().enumerate() {
            if role(server).await.as_deref() == Some("leader") {
                leader = Some(i);
            }
        }
        let leader = leader.expect("a leader");
        servers[leader].kill().await.unwrap();
        let killed = Instant::now();
        let survivor = &servers[1 - leader];
        eventually("the survivor leads", Duration::from_secs(10), async || {
            (role(survivor).await.as_deref() == Some("leader")).then_some(())
        })
        .await;
        without_leader.push(killed.elapsed());
        servers[leader].kill_and_restart().await.unwrap();
    }
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    stop.send(true).unwrap();
    let mut acknowledged = Vec::new();
    for sender in senders {
        acknowledged.push(sender.await.unwrap());
    }
    let streamed = stream.await.unwrap();
    let mut published = Vec::new();
    for publisher in publishers {
        published.push(publisher.await.unwrap());
    }

    // Every reading was acknowledged in the end (sent again until it was), and each is
    // stored exactly once.
    // Over MQTT, the last ones may still be on their way from the broker.
    let everything_stored = async || {
        let stored = stored_sequences(&store).await;
        let all = acknowledged.iter().chain(&published);
        let complete = all
            .clone()
            .all(|(device, count)| stored.get(device).map(Vec::len).unwrap_or(0) as u64 >= *count);
        complete.then_some(stored)
    };
    let stored = eventually(
        "every reading stored",
        Duration::from_secs(30),
        everything_stored,
    )
    .await;
    for (device, count) in acknowledged.iter().chain(&published) {
        assert_eq!(stored[device], (1..=*count).collect::<Vec<_>>(), "{device}");
    }
    // Every leak is one alert.
    let alerts = store
        .alerts(&AlertFilter {
            limit: 1_000,
            ..Default::default()
        })
        .await
        .unwrap();
    for home in &homes {
        let gas: Vec<_> = alerts
            .iter()
            .filter(|a| &a.home == home && a.kind == AlertKind::Gas)
            .collect();
        assert_eq!(gas.len(), 1, "{home}: {gas:?}");
    }
    // The stream, reconnecting across the kills, missed no streamed event.
    let log: Vec<i64> = store
        .events_after(0, 100_000)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.kind.is_streamed())
        .map(|e| e.id)
        .collect();
    let first = streamed.first().copied().expect("events streamed");
    let last = streamed.last().copied().unwrap();
    let expected: Vec<i64> = log
        .into_iter()
        .filter(|id| (first..=last).contains(id))
        .collect();
    assert_eq!(streamed, expected);
    println!(
        "without a leader: {without_leader:?}; acknowledged over HTTP: {acknowledged:?}; \
         published over MQTT: {published:?}"
    );
}

/// The sequence numbers of every stored reading, by device, in order.
async fn stored_sequences(store: &SqlStore) -> std::collections::HashMap<String, Vec<u64>> {
    let mut stored = std::collections::HashMap::<String, Vec<u64>>::new();
    let mut after = 0;
    loop {
        let page = store.readings_after(after, 10_000).await.unwrap();
        let Some((last, _)) = page.last() else { break };
        after = *last;
        for (_, r) in page {
            if let linli_server::reading::Identity::Seq(seq) = r.identity {
                stored.entry(r.device).or_default().push(seq);
            }
        }
    }
    for seqs in stored.values_mut() {
        seqs.sort_unstable();
    }
    stored
}

/// A user for the fencing test: what a write of one server or the other creates.
fn new_user(name: &str) -> linli_server::store::NewUser {
    linli_server::store::NewUser {
        username: linli_domain::Username::parse(name).unwrap(),
        password_hash: "not a hash".into(),
        role: linli_domain::Role::Viewer,
        communities: Vec::new(),
        org: None,
    }
}

/// Fencing: a leader that lost the leadership without knowing it (its lock's
/// connection cut, its process alive) may not write beside the new leader. The
/// database refuses it from the moment the new leader's claim committed.
#[tokio::test]
async fn a_leader_that_another_server_replaced_is_refused_every_write() {
    let database = Postgres::shared().database().await;
    let url = database.parse().unwrap();
    let (old, new) = (
        SqlStore::open(&url).await.unwrap(),
        SqlStore::open(&url).await.unwrap(),
    );
    let leader = |name: &str| linli_server::store::Leader {
        instance: name.into(),
        address: format!("http://{name}"),
        secret: "s".into(),
    };
    let change = Change::new(Actor::System("cli"), linli_server::clock::now_ms());
    let first = old.claim_leadership(&leader("old"), 1).await.unwrap();
    old.create_user(&change, new_user("before")).await.unwrap();
    let second = new.claim_leadership(&leader("new"), 2).await.unwrap();
    assert_eq!(second, first + 1);
    let refused = old.create_user(&change, new_user("after")).await;
    assert!(
        matches!(
            refused,
            Err(linli_server::store::StoreError::Unavailable(_))
        ),
        "{refused:?}"
    );
    new.create_user(&change, new_user("by-new")).await.unwrap();
    let name = |n: &str| linli_domain::Username::parse(n).unwrap();
    assert!(new.user_by_name(&name("before")).await.unwrap().is_some());
    assert!(new.user_by_name(&name("after")).await.unwrap().is_none());
    assert_eq!(new.leader().await.unwrap().unwrap().instance, "new");
}

/// The same, with the real servers: the leader's lock connection is ended by the
/// database (as a network cut or an administrator would), the follower takes over,
/// and the old leader stops by itself (its supervisor starts it again, as a follower).
#[tokio::test]
async fn a_leader_whose_lock_connection_is_cut_stops_and_the_other_leads() {
    let database = Postgres::shared().database().await;
    let mut first = serve(&database, true).await;
    let second = serve(&database, false).await;
    assert_eq!(role(&first).await.as_deref(), Some("leader"));
    let pool = sqlx::PgPool::connect(&database).await.unwrap();
    // The leadership lock is the advisory lock 0x4c69_6e6c_6902 on this database,
    // held by a session of the leader.
    let ended: Vec<bool> = sqlx::query_scalar(
        "SELECT pg_terminate_backend(pid) FROM pg_locks \
         WHERE locktype = 'advisory' AND classid = 19561 AND objid = 1852598530 AND granted \
         AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(ended, [true], "one session held the leadership");
    eventually(
        "the other server leads",
        Duration::from_secs(10),
        async || (role(&second).await.as_deref() == Some("leader")).then_some(()),
    )
    .await;
    let code = first.exited_within(Duration::from_secs(10)).await;
    assert_eq!(code, Some(Some(70)), "the old leader stops");
}

/// A guesser behind a load balancer gets no more tries than from one server: the
/// failures are counted in the database.
#[tokio::test]
async fn failed_sign_ins_count_on_every_server() {
    let database = Postgres::shared().database().await;
    let servers = [serve(&database, true).await, serve(&database, false).await];
    let mut statuses = Vec::new();
    for i in 0..8 {
        let status = reqwest::Client::new()
            .post(servers[i % 2].url("/api/v1/session"))
            .json(&json!({"username": "demo-commander", "password": "wrong"}))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16();
        statuses.push(status);
    }
    // Five failures of one account from one address, then locked, on both servers.
    assert_eq!(statuses, [401, 401, 401, 401, 401, 429, 429, 429]);
}

/// `linli store copy` into a database a server runs on is refused: that server would
/// go on writing into the copy, its leadership's term overwritten.
#[tokio::test]
async fn a_copy_into_a_database_that_a_server_runs_on_is_refused() {
    let database = Postgres::shared().database().await;
    let mut server = serve(&database, true).await;
    let folder = tempfile::tempdir().unwrap();
    let source_url = format!("sqlite://{}", folder.path().join("office.db").display());
    let source = SqlStore::open(&source_url.parse().unwrap()).await.unwrap();
    let target = SqlStore::open(&database.parse().unwrap()).await.unwrap();
    let refused = source.copy_to(&target, true, |_| {}).await.unwrap_err();
    assert!(
        refused.to_string().contains("a Linli server is running"),
        "{refused:#}"
    );
    // Nothing was removed: the demo's homes are still there.
    assert!(!target.homes(None).await.unwrap().is_empty());
    // Once the server is gone (its session, and lock, end with its connection), the
    // copy goes ahead.
    server.kill().await.unwrap();
    eventually("the copy goes ahead", Duration::from_secs(10), async || {
        source.copy_to(&target, true, |_| {}).await.ok()
    })
    .await;
    assert!(target.homes(None).await.unwrap().is_empty());
}

/// A notice published through one server is on every server's public page at once,
/// not after its cached figures (30 s) run out.
#[tokio::test]
async fn a_notice_published_on_one_server_is_public_on_every_server_at_once() {
    let database = Postgres::shared().database().await;
    let first = serve(&database, true).await;
    let second = serve(&database, false).await;
    let notices = async |server: &LinliServer| {
        let status: linli_domain::api::PublicStatus =
            reqwest::get(server.url("/api/v1/public/status"))
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
        status.notices
    };
    // The second server's figures are worked out and cached before the notice.
    assert!(notices(&second).await.is_empty());
    let commander = first.signed_in("demo-commander").await.unwrap();
    let notice = linli_domain::api::NoticeRequest {
        title: "停水通知".into(),
        body: "周三 9:00–12:00 停水".into(),
        until: None,
    };
    let published = commander
        .post(first.url("/api/v1/notices"))
        .json(&notice)
        .send()
        .await
        .unwrap();
    assert_eq!(published.status(), 201);
    let shown = Instant::now();
    eventually(
        "the notice on the other server",
        Duration::from_secs(5),
        async || {
            let titles: Vec<String> = notices(&second)
                .await
                .into_iter()
                .map(|n| n.title)
                .collect();
            (titles == ["停水通知"]).then_some(())
        },
    )
    .await;
    println!("public on the other server after {:?}", shown.elapsed());
}
