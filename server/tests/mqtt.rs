//! MQTT ingest through a real Mosquitto that each test starts on a free port: readings
//! published on a device's topic are stored and raise alerts, bad messages are refused
//! without stopping the others, and ingest resumes by itself after the broker restarts.

mod support;

use linli_domain::care::SensorKind;
use rumqttc::{AsyncClient, MqttOptions, QoS};
use serde_json::{json, Value};
use std::time::Duration;
use support::{get_json, new_device, reading, spawn_app_with_mqtt, Broker, TestApp};

/// A sensor publishing to the broker (its event loop driven in the background).
async fn publisher(broker: &Broker, name: &str) -> AsyncClient {
    let mut options = MqttOptions::new(name, "127.0.0.1", broker.port);
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
    for _ in 0..300 {
        if app.store.readings_after(0, 10_000).await.unwrap().len() >= count {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{count} readings were not stored within 30 s");
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
    publish(
        &sensor,
        &gas,
        reading(&gas, 2, "gas_lel_pct", 45.0).to_string(),
    )
    .await;
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
    let metrics = reqwest::get(app.url("/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("linli_mqtt_messages_total{outcome=\"refused\"} 3"),
        "{metrics}"
    );
    // Published again (a sensor that missed the broker's PUBACK): stored once.
    publish(
        &sensor,
        &gas,
        reading(&gas, 2, "gas_lel_pct", 45.0).to_string(),
    )
    .await;
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
