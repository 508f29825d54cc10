//! Journey 2 end to end: a gas detector reports 45 % LEL over MQTT, through a real
//! Mosquitto, to the real `linli serve`; the command screen in headless Chromium shows
//! the critical alert (list row, banner, ring on the map), and acknowledging it there
//! changes it on the server. Screenshots go to `target/e2e/`.

use linli_tests::{Broker, Browser, LinliServer};
use rumqttc::{AsyncClient, MqttOptions, QoS};
use serde_json::{json, Value};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(20);

#[tokio::test]
async fn a_gas_reading_over_mqtt_becomes_a_critical_alert_acknowledged_on_the_command_screen(
) -> anyhow::Result<()> {
    let broker = Broker::start();
    let server = LinliServer::start_demo_with(&["--mqtt-url", &broker.url()]).await?;
    let commander = server.signed_in("demo-commander").await?;
    for _ in 0..200 {
        if reqwest::get(server.url("/readyz")).await?.status() == 200 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let homes: Vec<Value> = commander
        .get(server.url("/api/v1/homes"))
        .send()
        .await?
        .json()
        .await?;
    let home = homes
        .iter()
        .find(|h| h["community"] == "wulimiao")
        .expect("a home in 五里庙");
    let added = server
        .linli(&[
            "device",
            "add",
            "--home",
            home["id"].as_str().unwrap(),
            "--kind",
            "gas",
        ])
        .await?;
    let device = added
        .lines()
        .find_map(|l| l.strip_prefix("device: "))
        .expect("a device id")
        .to_string();

    let browser = Browser::start(1600, 1000, "zh-CN").await?;
    browser.goto(&server.url("/command")).await?;
    browser.wait_for_path("/login").await?;
    browser.sign_in("demo-commander", "demo").await?;
    browser.wait_for_path("/command").await?;
    browser
        .wait_for(
            "the map and the live stream",
            r#"const c = document.querySelector('canvas#map');
               const badge = document.querySelector('[data-test=live-badge]');
               return c && Number(c.getAttribute('data-homes')) > 0 && badge && badge.classList.contains('live') ? true : null;"#,
            WAIT,
        )
        .await?;

    // 02:13, 五里庙: the detector reports over MQTT.
    let mut options = MqttOptions::new("gas-detector", "127.0.0.1", broker.port);
    options.set_keep_alive(Duration::from_secs(5));
    let (sensor, mut events) = AsyncClient::new(options, 10);
    tokio::spawn(async move { while events.poll().await.is_ok() {} });
    let reading = json!({"device": device, "seq": 1, "ts": linli_tests::now_rfc3339(),
                         "metric": "gas_lel_pct", "value": 45.0});
    sensor
        .publish(
            format!("linli/sensors/{device}/up"),
            QoS::AtLeastOnce,
            false,
            reading.to_string(),
        )
        .await?;

    let shown = browser
        .wait_for(
            "the critical alert on the command screen",
            r#"const row = document.querySelector('[data-test=alert-row][data-kind=gas]');
               const banner = document.querySelector('[data-test=critical-banner]');
               const rings = Number(document.querySelector('canvas#map').getAttribute('data-alerts'));
               return row && banner && rings > 0
                 ? { id: row.getAttribute('data-alert-id'), state: row.getAttribute('data-state'),
                     banner: banner.textContent, row: row.textContent }
                 : null;"#,
            WAIT,
        )
        .await?;
    browser.screenshot("command-critical-alert").await?;
    assert_eq!(shown["state"], "open", "{shown}");
    assert!(
        shown["banner"].as_str().unwrap().contains("燃气泄漏"),
        "{shown}"
    );
    assert!(shown["row"].as_str().unwrap().contains("紧急"), "{shown}");
    let id: i64 = shown["id"].as_str().unwrap().parse()?;

    let ack = browser
        .find(&format!("[data-alert-id='{id}'] [data-test=ack]"))
        .await?;
    browser.click(&ack).await?;
    let mut on_server = Value::Null;
    for _ in 0..100 {
        on_server = commander
            .get(server.url(&format!("/api/v1/alerts/{id}")))
            .send()
            .await?
            .json()
            .await?;
        if on_server["state"] == "acknowledged" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(on_server["state"], "acknowledged", "{on_server}");
    assert_eq!(on_server["acknowledged"]["by"], "user:demo-commander");
    browser
        .wait_for(
            "the row to show it acknowledged",
            &format!(
                "const row = document.querySelector(\"[data-alert-id='{id}']\"); \
                 return row && row.getAttribute('data-state') === 'acknowledged' ? true : null;"
            ),
            WAIT,
        )
        .await?;
    browser.screenshot("command-alert-acknowledged").await?;
    Ok(())
}
