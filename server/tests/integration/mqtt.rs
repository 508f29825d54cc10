//! MQTT ingest through a real Mosquitto that each test starts on a free port: readings
//! published on a device's topic are stored and raise alerts, bad messages are refused
//! without stopping the others, and ingest resumes by itself after the broker restarts.

use crate::support::{
    eventually, get_json, new_device, reading, spawn_app_taking_from, spawn_app_with_mqtt, Broker,
    TestApp, WAIT,
};
use linli_domain::care::SensorKind;
use linli_server::mqtt::Subscriber;
use rumqttc::{AsyncClient, MqttOptions, QoS};
use serde_json::{json, Value};
use std::time::Duration;

/// A sensor publishing to the broker, over TLS when the broker speaks it (its event
/// loop driven in the background).
async fn publisher(broker: &Broker, name: &str) -> AsyncClient {
    let mut options = crate::support::broker_url(broker).options(name);
    options.set_keep_alive(Duration::from_secs(5));
    let (client, mut events) = AsyncClient::new(options, 100);
    tokio::spawn(async move { while events.poll().await.is_ok() {} });
    client
}

async fn publish(client: &AsyncClient, device: &str, payload: String) {
    client
        .publish(
            format!("linli/sensors/{device}/up"),
            QoS::AtLeastOnce,
            false,
            payload,
        )
        .await
        .unwrap();
}

/// Waits (up to 30 s) until the store holds `count` readings.
async fn wait_for_readings(app: &TestApp, count: usize) {
    let what = format!("{count} readings stored");
    eventually(&what, Duration::from_secs(30), async || {
        let stored = app.store.readings_after(0, 10_000).await.unwrap().len();
        (stored >= count).then_some(())
    })
    .await
}

#[tokio::test]
async fn a_gas_reading_published_over_mqtt_raises_a_critical_alert() {
    let broker = Broker::start();
    let app = spawn_app_with_mqtt(&broker).await;
    let gas = new_device(&app, None, SensorKind::Gas).await.0;
    let sensor = publisher(&broker, "sensor-1").await;
    // Bad messages first: not JSON, another device's reading, an absurd value. They
    // are refused and acknowledged; the good one after them still gets through.
    publish(&sensor, &gas, "gas!".into()).await;
    publish(
        &sensor,
        &gas,
        reading("gd-999999", 1, "gas_lel_pct", 50.0).to_string(),
    )
    .await;
    publish(
        &sensor,
        &gas,
        reading(&gas, 1, "gas_lel_pct", 250.0).to_string(),
    )
    .await;
    let leak = reading(&gas, 2, "gas_lel_pct", 45.0).to_string();
    publish(&sensor, &gas, leak.clone()).await;
    // SenML on the same topic.
    let senml = json!([{"bn": format!("urn:linli:device:{gas}:"), "n": "battery_pct", "v": 90}]);
    publish(&sensor, &gas, senml.to_string()).await;
    wait_for_readings(&app, 2).await;

    let commander = app.signed_in("demo-commander").await;
    let alerts: Vec<Value> = get_json(&commander, app.url("/api/v1/alerts?state=open")).await;
    assert_eq!(
        alerts.len(),
        1,
        "{alerts:?} {:?}",
        app.store.readings_after(0, 100).await.unwrap()
    );
    assert_eq!(alerts[0]["kind"], "gas");
    assert_eq!(alerts[0]["severity"], "critical");
    assert_eq!(alerts[0]["device"], gas.as_str());
    let metrics = app.metrics().await;
    assert!(
        metrics.contains("linli_mqtt_messages_total{outcome=\"refused\"} 3"),
        "{metrics}"
    );
    // Published again, the same bytes (a sensor that missed the broker's PUBACK):
    // stored once.
    publish(&sensor, &gas, leak).await;
    publish(
        &sensor,
        &gas,
        reading(&gas, 3, "heartbeat", 1.0).to_string(),
    )
    .await;
    wait_for_readings(&app, 3).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(app.store.readings_after(0, 100).await.unwrap().len(), 3);
}

#[tokio::test]
async fn ingest_resumes_by_itself_after_the_broker_restarts() {
    let mut broker = Broker::start();
    let app = spawn_app_with_mqtt(&broker).await;
    let water = new_device(&app, None, SensorKind::Water).await.0;
    let sensor = publisher(&broker, "meter-1").await;
    publish(
        &sensor,
        &water,
        reading(&water, 1, "water_total_l", 10.0).to_string(),
    )
    .await;
    wait_for_readings(&app, 1).await;

    broker.restart();
    // The sensor reconnects like a real one would; Linli reconnects by itself.
    // The broker keeps nothing: until Linli has subscribed again, messages find no
    // subscriber, so the sensor sends its reading (same seq) until it is stored.
    let sensor = publisher(&broker, "meter-1-again").await;
    let again = reading(&water, 2, "water_total_l", 12.0).to_string();
    for _ in 0..60 {
        publish(&sensor, &water, again.clone()).await;
        tokio::time::sleep(Duration::from_millis(500)).await;
        if app.store.readings_after(0, 100).await.unwrap().len() == 2 {
            return;
        }
    }
    panic!("no reading was stored within 30 s of the broker's restart");
}

/// Issue 14: `mqtts://` was refused. Over TLS, with the broker's authority given
/// (`--mqtt-ca`), readings are taken; a broker whose certificate comes from an
/// authority Linli was not told to trust is not connected to.
#[tokio::test]
async fn readings_come_over_tls_from_a_broker_of_a_trusted_authority_only() {
    let broker = Broker::start_tls();
    let app = spawn_app_with_mqtt(&broker).await;
    let gas = new_device(&app, None, SensorKind::Gas).await.0;
    let sensor = publisher(&broker, "tls-sensor").await;
    publish(
        &sensor,
        &gas,
        reading(&gas, 1, "gas_lel_pct", 45.0).to_string(),
    )
    .await;
    wait_for_readings(&app, 1).await;
    let commander = app.signed_in("demo-commander").await;
    let alerts: Vec<Value> = get_json(&commander, app.url("/api/v1/alerts?state=open")).await;
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert_eq!(alerts[0]["severity"], "critical");

    // The same broker, its authority not given: the system's authorities do not vouch
    // for it, so Linli never subscribes, and says so.
    let untrusting = spawn_app_taking_from(Subscriber::new(broker.url().parse().unwrap())).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let ready = reqwest::get(untrusting.url("/readyz")).await.unwrap();
    assert_eq!(ready.status(), 503);
    // Nor does a plain MQTT client get anything through the TLS port.
    let mut plain = MqttOptions::new("plain", "127.0.0.1", broker.port);
    plain.set_keep_alive(Duration::from_secs(5));
    let (_client, mut events) = AsyncClient::new(plain, 10);
    let first = tokio::time::timeout(Duration::from_secs(5), events.poll()).await;
    assert!(
        !matches!(
            first,
            Ok(Ok(rumqttc::Event::Incoming(rumqttc::Packet::ConnAck(_))))
        ),
        "a plain client connected: {first:?}"
    );
}

/// Waits until `/readyz` answers `status`.
async fn wait_for_readiness(app: &TestApp, status: u16) {
    eventually(&format!("/readyz answering {status}"), WAIT, async || {
        let answer = reqwest::get(app.url("/readyz")).await.unwrap().status();
        (answer == status).then_some(())
    })
    .await
}

/// Publishes `messages` (device, seq) as fast as the broker takes them; answers those
/// the broker acknowledged. The client sends them in order and says which packet id
/// each went out with, so each PUBACK names its message.
async fn publish_burst<'m>(
    broker: &Broker,
    messages: &'m [(String, u64)],
) -> Vec<&'m (String, u64)> {
    let mut options = crate::support::broker_url(broker).options("burst");
    options
        .set_keep_alive(Duration::from_secs(5))
        .set_inflight(500);
    let (client, mut events) = AsyncClient::new(options, messages.len());
    for (meter, seq) in messages {
        let payload = reading(meter, *seq, "water_total_l", *seq as f64).to_string();
        client
            .publish(
                format!("linli/sensors/{meter}/up"),
                QoS::AtLeastOnce,
                false,
                payload,
            )
            .await
            .unwrap();
    }
    let (mut sent, mut in_flight) = (0, std::collections::HashMap::new());
    let mut acknowledged = Vec::new();
    while acknowledged.len() < messages.len() {
        match events.poll().await.expect("the broker is up") {
            rumqttc::Event::Outgoing(rumqttc::Outgoing::Publish(pkid)) => {
                in_flight.insert(pkid, &messages[sent]);
                sent += 1;
            }
            rumqttc::Event::Incoming(rumqttc::Packet::PubAck(ack)) => {
                acknowledged.push(in_flight.remove(&ack.pkid).expect("a message in flight"));
            }
            _ => {}
        }
    }
    acknowledged
}

/// Issue 14: the broker restarts. Readings it acknowledged to a sensor before Linli
/// was back (queued for Linli's persistent sessions, kept by the broker across a
/// graceful restart) are all stored once Linli has reconnected, and `/readyz` answers
/// 503 while Linli is not subscribed.
#[tokio::test]
async fn acknowledged_readings_survive_broker_restarts_and_readyz_tells_meanwhile() {
    let mut broker = Broker::start_persistent();
    let app = spawn_app_with_mqtt(&broker).await;
    let mut meters = Vec::new();
    for _ in 0..4 {
        meters.push(new_device(&app, None, SensorKind::Water).await.0);
    }
    let messages: Vec<(String, u64)> = (1..=400u64)
        .flat_map(|seq| meters.iter().map(move |m| (m.clone(), seq)))
        .collect();

    broker.stop_gracefully();
    wait_for_readiness(&app, 503).await;
    // Long enough for Linli's reconnection attempts to be 2 s apart: the burst below
    // most likely reaches the broker before Linli is back, and waits in its sessions.
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    broker.start_again();
    let acknowledged = publish_burst(&broker, &messages).await;
    let linli_was_back = reqwest::get(app.url("/readyz")).await.unwrap().status() == 200;
    // Stopped again with the burst queued for Linli: the broker saves it.
    broker.stop_gracefully();
    broker.start_again();

    let stored_of = |stored: Vec<(i64, linli_server::reading::Reading)>| {
        stored
            .into_iter()
            .filter_map(|(_, r)| match r.identity {
                linli_server::reading::Identity::Seq(s) => Some((r.device, s)),
                _ => None,
            })
            .collect::<std::collections::HashSet<_>>()
    };
    let mut missing = Vec::new();
    for _ in 0..300 {
        let stored = stored_of(app.store.readings_after(0, 10_000).await.unwrap());
        missing = acknowledged
            .iter()
            .filter(|m| !stored.contains(**m))
            .collect();
        if missing.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        missing.is_empty(),
        "{} of {} acknowledged readings lost (Linli back before the second restart: {linli_was_back}), e.g. {:?}",
        missing.len(),
        acknowledged.len(),
        &missing[..missing.len().min(5)]
    );
    wait_for_readiness(&app, 200).await;
}

/// Two server instances with `--mqtt-shared`, each with its own client id, split the
/// readings between them: each stores a part, together all.
#[tokio::test]
async fn instances_sharing_the_subscription_split_the_readings() {
    let broker = Broker::start();
    let shared = |client_id: &str| Subscriber {
        url: crate::support::broker_url(&broker),
        client_id: client_id.into(),
        shared: true,
    };
    let (first, second) = (
        spawn_app_taking_from(shared("linli-a")).await,
        spawn_app_taking_from(shared("linli-b")).await,
    );
    wait_for_readiness(&first, 200).await;
    wait_for_readiness(&second, 200).await;
    // The same demo district in both databases: the same device ids.
    let meter = new_device(&first, None, SensorKind::Water).await.0;
    assert_eq!(new_device(&second, None, SensorKind::Water).await.0, meter);
    let sensor = publisher(&broker, "shared-meter").await;
    for seq in 1..=100 {
        let payload = reading(&meter, seq, "water_total_l", seq as f64).to_string();
        publish(&sensor, &meter, payload).await;
    }
    let mut counts = (0, 0);
    for _ in 0..100 {
        counts = (
            first.store.readings_after(0, 1_000).await.unwrap().len(),
            second.store.readings_after(0, 1_000).await.unwrap().len(),
        );
        if counts.0 + counts.1 == 100 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(counts.0 + counts.1, 100, "{counts:?}");
    assert!(
        counts.0 > 0 && counts.1 > 0,
        "one instance took all: {counts:?}"
    );
}

/// A sensor logged in to the broker as `user`; `Err` when the broker refuses it.
async fn logged_in(broker: &Broker, user: &str, password: &str) -> Result<AsyncClient, String> {
    let mut options = MqttOptions::new(
        format!("{user}-{}", rand_suffix()),
        "127.0.0.1",
        broker.port,
    );
    options.set_keep_alive(Duration::from_secs(5));
    options.set_credentials(user, password);
    let (client, mut events) = AsyncClient::new(options, 100);
    let (connected, answer) = tokio::sync::oneshot::channel();
    tokio::spawn(async move {
        let mut connected = Some(connected);
        loop {
            match events.poll().await {
                Ok(rumqttc::Event::Incoming(rumqttc::Packet::ConnAck(_))) => {
                    if let Some(c) = connected.take() {
                        let _ = c.send(Ok(()));
                    }
                }
                Ok(_) => {}
                Err(e) => {
                    if let Some(c) = connected.take() {
                        let _ = c.send(Err(e.to_string()));
                    }
                    return;
                }
            }
        }
    });
    answer.await.unwrap().map(|()| client)
}

fn rand_suffix() -> u32 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos()
}

/// `linli device add` / `gateway add` against the app's database and the broker:
/// (id, token).
fn register(app: &TestApp, broker: &Broker, what: &[&str]) -> (String, String) {
    let mut args = what.to_vec();
    args.extend(["--database-url", &app.database_url]);
    let url = broker.url();
    args.extend(["--mqtt-url", &url]);
    let out = crate::support::run_linli(&args, &[], "");
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "{what:?}: {stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let line = |key: &str| {
        stdout
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .unwrap()
            .to_string()
    };
    let id = line(if what[0] == "device" {
        "device: "
    } else {
        "gateway: "
    });
    (id, line("token: "))
}

async fn open_gas_alerts(app: &TestApp, home: &str) -> usize {
    let commander = app.signed_in("demo-commander").await;
    let alerts: Vec<Value> = get_json(&commander, app.url("/api/v1/alerts?state=open")).await;
    alerts
        .iter()
        .filter(|a| a["home"] == home && a["kind"] == "gas")
        .count()
}

/// Issue 14: readings from the broker were trusted whoever published them, and Linli
/// could not log in to a broker that requires credentials. With `linli mqtt
/// broker-config`, only Linli and registered devices and gateways get in; a device
/// publishes only on its own topic, a gateway only on its communities' devices'.
#[tokio::test]
async fn only_registered_devices_publish_and_only_on_their_own_topics() {
    let broker = Broker::start_with_accounts(std::path::Path::new(env!("CARGO_BIN_EXE_linli")));
    let app = spawn_app_with_mqtt(&broker).await;
    let home_in = |community: &str| {
        let app = &app;
        let community = community.to_string();
        async move {
            let c = linli_domain::CommunityId::parse(community).unwrap();
            app.store.homes(Some(&[c])).await.unwrap()[0].id.clone()
        }
    };
    let (mine, theirs) = (home_in("wulimiao").await, home_in("xingfuli").await);
    let (gas_a, token_a) = register(
        &app,
        &broker,
        &["device", "add", "--home", &mine, "--kind", "gas"],
    );
    let (gas_b, token_b) = register(
        &app,
        &broker,
        &["device", "add", "--home", &theirs, "--kind", "gas"],
    );
    let (gateway, gateway_token) = register(
        &app,
        &broker,
        &["gateway", "add", "gw-wulimiao", "--community", "wulimiao"],
    );

    // Nobody, and a wrong password, are not let in.
    let refused = logged_in(&broker, "", "").await;
    assert!(refused.is_err(), "an anonymous client got in");
    assert!(logged_in(&broker, &gas_a, "wrong").await.is_err());
    assert!(logged_in(&broker, &gateway, &token_b).await.is_err());

    // Device A, on B's topic: dropped by the broker, raises nothing. On its own topic,
    // a batch with a broken record beside a leak: the leak is raised.
    let a = logged_in(&broker, &gas_a, &token_a).await.unwrap();
    publish(
        &a,
        &gas_b,
        reading(&gas_b, 1, "gas_lel_pct", 90.0).to_string(),
    )
    .await;
    let batch = json!({"readings": [{"device": gas_a, "seq": "x"}, reading(&gas_a, 1, "gas_lel_pct", 90.0)]});
    publish(&a, &gas_a, batch.to_string()).await;
    wait_for_readings(&app, 1).await;
    assert_eq!(open_gas_alerts(&app, &mine).await, 1);

    // The gateway, for a device of its community and for one elsewhere.
    let g = logged_in(&broker, &gateway, &gateway_token).await.unwrap();
    publish(
        &g,
        &gas_b,
        reading(&gas_b, 2, "gas_lel_pct", 90.0).to_string(),
    )
    .await;
    publish(&g, &gas_a, reading(&gas_a, 2, "heartbeat", 1.0).to_string()).await;
    wait_for_readings(&app, 2).await;
    // B's own, genuine reading: the only one of B's stored.
    let b = logged_in(&broker, &gas_b, &token_b).await.unwrap();
    publish(&b, &gas_b, reading(&gas_b, 3, "heartbeat", 1.0).to_string()).await;
    wait_for_readings(&app, 3).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let stored = app.store.readings_after(0, 100).await.unwrap();
    let of_b: Vec<u64> = stored
        .iter()
        .filter(|(_, r)| r.device == gas_b)
        .filter_map(|(_, r)| match r.identity {
            linli_server::reading::Identity::Seq(s) => Some(s),
            _ => None,
        })
        .collect();
    assert_eq!(of_b, [3], "only B's own reading of B");
    assert_eq!(
        open_gas_alerts(&app, &theirs).await,
        0,
        "no forged leak at B"
    );

    // Revoked: A cannot log in again.
    let out = crate::support::run_linli(
        &[
            "device",
            "revoke",
            &gas_a,
            "--database-url",
            &app.database_url,
            "--mqtt-url",
            &broker.url(),
        ],
        &[],
        "",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(logged_in(&broker, &gas_a, &token_a).await.is_err());

    // Three registrations at once: each hears its own answers from the broker (every
    // admin client hears all), and each device gets in.
    let added: Vec<(String, String)> = std::thread::scope(|scope| {
        let runs: Vec<_> = (0..3)
            .map(|_| {
                let (app, broker, home) = (&app, &broker, &mine);
                scope.spawn(move || {
                    register(
                        app,
                        broker,
                        &["device", "add", "--home", home, "--kind", "smoke"],
                    )
                })
            })
            .collect();
        runs.into_iter().map(|r| r.join().unwrap()).collect()
    });
    for (device, token) in &added {
        assert!(logged_in(&broker, device, token).await.is_ok(), "{device}");
    }
}
