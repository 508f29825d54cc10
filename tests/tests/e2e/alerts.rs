//! Journey 2 end to end: a gas detector reports 45 % LEL over MQTT, through a real
//! Mosquitto, to the real `linli serve`; the command screen in headless Chromium shows
//! the critical alert (list row, banner, ring on the map), and acknowledging it there
//! changes it on the server. And a tablet that loses its network keeps its changes,
//! sends them when it is back, and shows what the server refused. Screenshots go to
//! `target/e2e/`.

use crate::WAIT;
use linli_tests::{Broker, Browser, LinliServer};
use rumqttc::{AsyncClient, MqttOptions, QoS};
use serde_json::{json, Value};
use std::time::Duration;

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
    let homes = server.homes("demo-commander").await?;
    let home = homes
        .iter()
        .find(|h| h["community"] == "wulimiao")
        .expect("a home in 五里庙");
    let (device, _) = server
        .add_device(home["id"].as_str().unwrap(), "gas")
        .await?;

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

/// Waits until the server has alert `id` in `state`; returns it.
async fn alert_on_server(
    client: &reqwest::Client,
    server: &LinliServer,
    id: i64,
    state: &str,
) -> anyhow::Result<Value> {
    let mut alert = Value::Null;
    for _ in 0..300 {
        alert = client
            .get(server.url(&format!("/api/v1/alerts/{id}")))
            .send()
            .await?
            .json()
            .await?;
        if alert["state"] == state {
            return Ok(alert);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    anyhow::bail!("alert {id} is not {state} on the server: {alert}")
}

#[tokio::test]
async fn a_tablet_offline_keeps_its_changes_sends_them_when_back_and_shows_conflicts(
) -> anyhow::Result<()> {
    let server = LinliServer::start_demo().await?;
    let commander = server.signed_in("demo-commander").await?;
    let homes = server.homes("demo-grid-xingfuli").await?;
    let home = homes[0]["id"].as_str().unwrap().to_string();
    server.raise_gas_alarm(&home).await?;

    let browser = Browser::start(1280, 800, "zh-CN").await?;
    browser.goto(&server.url("/login?next=/field")).await?;
    browser.sign_in("demo-grid-xingfuli", "demo").await?;
    browser.wait_for_path("/field").await?;
    let id: i64 = browser
        .wait_for(
            "the gas alert on the tablet",
            "const row = document.querySelector('[data-test=alert-row][data-kind=gas][data-state=open]'); \
             return row ? row.getAttribute('data-alert-id') : null",
            WAIT,
        )
        .await?
        .as_str()
        .unwrap()
        .parse()?;

    // The signal drops; the worker acknowledges anyway.
    browser.set_offline(true).await?;
    let ack = browser
        .find(&format!("[data-alert-id='{id}'] [data-test=ack]"))
        .await?;
    browser.click(&ack).await?;
    browser
        .find(&format!("[data-alert-id='{id}'] [data-test=queued]"))
        .await?;
    // The row says it is acknowledged, waiting to be sent, and offers no second tap.
    let row = browser
        .script(
            &format!(
                "const row = document.querySelector(\"[data-alert-id='{id}']\"); \
                 return [row.dataset.waiting, row.querySelector('.state').textContent, \
                         !!row.querySelector('[data-test=ack]')];"
            ),
            json!([]),
        )
        .await?;
    assert_eq!(row[0], "ack", "{row}");
    assert!(
        row[1].as_str().unwrap().contains("已确认（待同步）"),
        "{row}"
    );
    assert_eq!(row[2], false, "no ack button while it waits: {row}");
    let waiting = browser.find("[data-test=outbox-waiting]").await?;
    assert!(browser.text(&waiting).await?.contains('1'));
    browser.screenshot("field-offline-queued").await?;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let still: Value = commander
        .get(server.url(&format!("/api/v1/alerts/{id}")))
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(
        still["state"], "open",
        "nothing reached the server while offline"
    );

    // Back online: the acknowledgement goes through, as the worker's, stamped with
    // the time it was pressed, not the time the network came back.
    let back_online = linli_tests::now_rfc3339();
    browser.set_offline(false).await?;
    let acknowledged = alert_on_server(&commander, &server, id, "acknowledged").await?;
    assert_eq!(
        acknowledged["acknowledged"]["by"],
        "user:demo-grid-xingfuli"
    );
    // (Both UTC with milliseconds: they compare as text.)
    let pressed = acknowledged["acknowledged"]["at"].as_str().unwrap();
    assert!(
        pressed < back_online.as_str(),
        "acknowledged at {pressed}, before the network came back at {back_online}"
    );
    browser
        .wait_for(
            "the outbox to empty and the row to show it acknowledged",
            &format!(
                "const row = document.querySelector(\"[data-alert-id='{id}']\"); \
                 return !document.querySelector('[data-test=outbox-waiting]') && row && row.dataset.state === 'acknowledged' ? true : null"
            ),
            WAIT,
        )
        .await?;

    // Offline again, the worker resolves it while the office resolves it too: the
    // worker's change comes back refused and is shown, not lost.
    browser.set_offline(true).await?;
    let resolve = browser
        .find(&format!("[data-alert-id='{id}'] [data-test=resolve]"))
        .await?;
    browser.click(&resolve).await?;
    let confirm = browser
        .find(&format!(
            "[data-alert-id='{id}'] [data-test=confirm-resolve]"
        ))
        .await?;
    browser.click(&confirm).await?;
    browser.find("[data-test=outbox-waiting]").await?;
    commander
        .post(server.url(&format!("/api/v1/alerts/{id}/resolve")))
        .json(&json!({"outcome": "handled", "note": "指挥中心已处置"}))
        .send()
        .await?
        .error_for_status()?;
    browser.set_offline(false).await?;
    let conflict = browser
        .wait_for(
            "the refused change shown",
            "const c = document.querySelector('[data-test=outbox-conflicts]'); return c ? c.textContent : null",
            WAIT,
        )
        .await?;
    let conflict = conflict.as_str().unwrap();
    assert!(
        conflict.contains(&format!("#{id}")) && conflict.contains("已被他人处理"),
        "the alert, and why in the worker's language: {conflict}"
    );
    browser.screenshot("field-conflict-shown").await?;
    let resolved = alert_on_server(&commander, &server, id, "resolved").await?;
    assert_eq!(
        resolved["resolved"]["outcome"], "handled",
        "the office's stands"
    );

    // A note on a case, written where there is no signal, reaches the case's timeline
    // once the tablet is back.
    let tab = browser.find("[data-test=tab-cases]").await?;
    browser.click(&tab).await?;
    browser.find("[data-test=case-row]").await?;
    let case: i64 = browser
        .script(
            "return document.querySelector('[data-test=case-row]').dataset.caseId",
            json!([]),
        )
        .await?
        .as_str()
        .unwrap()
        .parse()?;
    let open = browser.find("[data-test=case-row] .case-summary").await?;
    browser.click(&open).await?;
    let note = browser.find("[data-test=case-note]").await?;
    browser.set_offline(true).await?;
    browser.type_into(&note, "已上门查看，住户不在家").await?;
    let add = browser.find("[data-test=case-add-note]").await?;
    browser.click(&add).await?;
    browser
        .find("[data-test=case-details] [data-test=queued]")
        .await?;
    browser.set_offline(false).await?;
    let mut timeline = Value::Null;
    for _ in 0..200 {
        let case: Value = commander
            .get(server.url(&format!("/api/v1/cases/{case}")))
            .send()
            .await?
            .json()
            .await?;
        timeline = case["timeline"].clone();
        if timeline.to_string().contains("已上门查看") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let last = timeline
        .as_array()
        .and_then(|t| t.last())
        .cloned()
        .unwrap_or_default();
    assert_eq!(last["step"]["note"], "已上门查看，住户不在家", "{timeline}");
    assert_eq!(last["by"], "user:demo-grid-xingfuli", "{timeline}");

    // A photo taken where there is no signal waits in the outbox (in the browser's
    // storage, shown on the case as waiting), and reaches the case once the tablet is
    // back: made smaller on the tablet (a 12-megapixel camera's 4,000 px photo arrives
    // at 1,600 px), so that several fit in the browser's storage.
    let photo = linli_tests::artefacts().join("offline-corridor.jpg");
    image::RgbImage::from_fn(4000, 3000, |x, y| {
        image::Rgb([(x / 16) as u8, (y / 12) as u8, 90])
    })
    .save(&photo)?;
    browser.set_offline(true).await?;
    browser.choose("[data-test=photo-kind]", "during").await?;
    let input = browser.find("[data-test=photo-input]").await?;
    browser.type_into(&input, photo.to_str().unwrap()).await?;
    browser
        .wait_for(
            "the photo shown as waiting to upload",
            "const i = document.querySelector('[data-test=queued-photo] img'); \
             return i && i.complete && i.naturalWidth > 0 ? i.naturalWidth : null;",
            WAIT,
        )
        .await?;
    let kept = browser
        .script(
            "const q = JSON.parse(localStorage.getItem('linli.outbox') || '[]'); \
             return q.map(p => [p.url, (p.photo || '').slice(0, 23), (p.photo || '').length]);",
            json!([]),
        )
        .await?;
    assert_eq!(
        kept[0][0],
        format!("/api/v1/cases/{case}/photos?kind=during"),
        "{kept}"
    );
    assert_eq!(kept[0][1], "data:image/jpeg;base64,", "{kept}");
    assert!(
        kept[0][2].as_u64().unwrap() < 1_000_000,
        "small enough to keep several: {kept}"
    );
    browser.screenshot("field-offline-photo-waiting").await?;
    let case_photos = |case: Value| case["photos"].as_array().cloned().unwrap_or_default();
    let before: Value = commander
        .get(server.url(&format!("/api/v1/cases/{case}")))
        .send()
        .await?
        .json()
        .await?;
    assert!(case_photos(before).is_empty(), "nothing sent while offline");
    browser.set_offline(false).await?;
    browser
        .wait_for(
            "the photo on the case, no longer waiting",
            "const i = document.querySelector('[data-test=case-photo][data-kind=during] img'); \
             return i && i.complete && i.naturalWidth > 0 \
               && !document.querySelector('[data-test=queued-photo]') ? true : null;",
            WAIT,
        )
        .await?;
    let after: Value = commander
        .get(server.url(&format!("/api/v1/cases/{case}")))
        .send()
        .await?
        .json()
        .await?;
    let photos = case_photos(after);
    assert_eq!(photos.len(), 1, "sent once: {photos:?}");
    assert_eq!(photos[0]["kind"], "during");
    assert_eq!(photos[0]["by"], "user:demo-grid-xingfuli");
    assert_eq!(
        (photos[0]["width"].as_u64(), photos[0]["height"].as_u64()),
        (Some(1600), Some(1200))
    );

    // With the browser's storage full, a photo taken offline is not claimed kept: the
    // worker is told, and nothing waits that a reload would lose.
    browser.set_offline(true).await?;
    browser
        .script(
            "let i = 0; \
             for (const size of [262144, 16384, 1024, 64, 1]) { \
               const chunk = 'x'.repeat(size); \
               try { for (;;) localStorage.setItem('filler-' + i++, chunk); } catch (e) {} \
             } \
             return i;",
            json!([]),
        )
        .await?;
    let input = browser.find("[data-test=photo-input]").await?;
    browser.type_into(&input, photo.to_str().unwrap()).await?;
    let refused = browser
        .wait_for(
            "the worker told the photo was not kept",
            "const e = document.querySelector('[data-test=photo-error]'); return e ? e.textContent : null;",
            WAIT,
        )
        .await?;
    assert!(refused.as_str().unwrap().contains("存储已满"), "{refused}");
    let waiting = browser
        .script(
            "return [document.querySelectorAll('[data-test=queued-photo]').length, \
                     JSON.parse(localStorage.getItem('linli.outbox') || '[]').length];",
            json!([]),
        )
        .await?;
    assert_eq!(waiting, json!([0, 0]), "nothing queued");
    browser.set_offline(false).await?;
    Ok(())
}
