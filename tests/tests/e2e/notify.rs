//! Notifications end to end with the real `linli` binary: journey 2 from the gas alarm
//! to the grid worker acknowledging it on the tablet through the WeCom message's
//! link, the community secretary called meanwhile, her escalating it into a case for
//! the gas utility, whose engineer sees only that case on a phone, adds a photo and a
//! note and marks the utility's part done before the office closes it; and a server SIGKILLed with
//! messages decided but not yet taken (their receiver down) and with an alarm only
//! just raised, which after its restart sends every message, each exactly once.

use crate::WAIT;
use linli_tests::{free_port, Browser, LinliServer, Receiver};
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

/// The alert as the server has it once `done` says so (or after 10 s, as it then is).
async fn alert_once(
    client: &reqwest::Client,
    server: &LinliServer,
    alert: i64,
    done: impl Fn(&Value) -> bool,
) -> anyhow::Result<Value> {
    let mut seen = Value::Null;
    for _ in 0..100 {
        seen = client
            .get(server.url(&format!("/api/v1/alerts/{alert}")))
            .send()
            .await?
            .json()
            .await?;
        if done(&seen) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok(seen)
}

/// Makes every running chain's wait run out now: what the clock does after 5 minutes.
async fn time_passes(server: &LinliServer) -> anyhow::Result<()> {
    sqlx::query("UPDATE notify_chains SET next_ms = 0 WHERE next_ms IS NOT NULL")
        .execute(&server.sql().await?)
        .await?;
    Ok(())
}

#[tokio::test]
async fn a_night_gas_alarm_climbs_is_acknowledged_from_the_link_and_its_case_reaches_the_gas_utility(
) -> anyhow::Result<()> {
    let server = LinliServer::start_demo().await?;
    let receiver = Receiver::start().await;
    let commander = server.signed_in("demo-commander").await?;
    let added = commander
        .post(server.url("/api/v1/notify/channels"))
        .json(&json!({"name": "五里庙网格群", "kind": "wecom",
                      "url": format!("{}/wecom?key=robot-key", receiver.base),
                      "communities": ["wulimiao"], "min_severity": "warning"}))
        .send()
        .await?;
    assert_eq!(added.status(), 201);
    let person = |name: &str, id: &str| json!({"name": name, "wecom": id});
    let roster = json!({"levels": [
        {"title": "网格员", "acknowledge_within_min": 5,
         "shifts": [{"from": "00:00", "to": "00:00", "person": person("王芳", "wangfang")}]},
        {"title": "社区书记", "acknowledge_within_min": 5,
         "shifts": [{"from": "00:00", "to": "00:00", "person": person("李书记", "lishuji")}]},
        {"title": "街道值班领导", "acknowledge_within_min": 10,
         "shifts": [{"from": "00:00", "to": "00:00", "person": person("张主任", "zhang")}]},
    ]});
    let set = commander
        .put(server.url("/api/v1/notify/rosters/wulimiao"))
        .json(&roster)
        .send()
        .await?;
    assert_eq!(set.status(), 200);
    let homes = server.homes("demo-commander").await?;
    let in_wulimiao: Vec<String> = homes
        .iter()
        .filter(|h| h["community"] == "wulimiao")
        .map(|h| h["id"].as_str().unwrap().to_string())
        .collect();

    // 02:13: the leak. The grid worker's WeCom group gets the message, mentioning her.
    server.raise_gas_alarm(&in_wulimiao[0]).await?;
    let first = receiver.wait_for("/wecom", 1).await;
    let content = first[0].body["markdown"]["content"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        content.contains("燃气泄漏") && content.contains("<@wangfang>"),
        "{content}"
    );
    // Nobody acknowledges in time: the community secretary is called.
    time_passes(&server).await?;
    let second = receiver.wait_for("/wecom", 2).await;
    let content = second[1].body["markdown"]["content"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(content.contains("<@lishuji>"), "{content}");

    // The grid worker opens the message's link on her tablet and signs in.
    let link = content
        .split("[处置](")
        .nth(1)
        .and_then(|rest| rest.split(')').next())
        .expect("a link in the message")
        .to_string();
    let alert: i64 = link.rsplit("alert=").next().unwrap().parse()?;
    let tablet = Browser::start(1280, 800, "zh-CN").await?;
    tablet.goto(&link).await?;
    tablet.wait_for_path("/login").await?;
    tablet.sign_in("demo-grid-wulimiao", "demo").await?;
    tablet.wait_for_path("/field").await?;
    let linked = tablet
        .wait_for(
            "the linked alert marked on the tablet",
            &format!(
                "const row = document.querySelector(\"[data-alert-id='{alert}']\"); \
                 return row && row.getAttribute('data-linked') === 'true' && location.search.includes('alert={alert}') ? row.textContent : null;"
            ),
            WAIT,
        )
        .await?;
    assert!(linked.as_str().unwrap().contains("紧急"), "{linked}");

    // The alert says who was told: 王芳 and the secretary, by the WeCom group.
    let notified = tablet
        .find(&format!("[data-alert-id='{alert}'] [data-test=notified]"))
        .await?;
    tablet.click(&notified).await?;
    let told = tablet
        .wait_for(
            "who was told, on the alert",
            &format!(
                "const l = document.querySelector(\"[data-alert-id='{alert}'] [data-test=notified-list]\"); \
                 return l && l.querySelectorAll('li').length === 2 ? l.textContent : null;"
            ),
            WAIT,
        )
        .await?;
    let told = told.as_str().unwrap();
    assert!(
        told.contains("网格员 王芳") && told.contains("社区书记 李书记"),
        "{told}"
    );
    assert!(
        told.contains("五里庙网格群") && told.contains("已送达"),
        "{told}"
    );

    // While the tablet is open, a second leak in her community rings it too.
    tablet
        .wait_for(
            "the live stream",
            "const b = document.querySelector('[data-test=live-badge]'); return b && b.classList.contains('live') ? true : null;",
            WAIT,
        )
        .await?;
    server.raise_gas_alarm(&in_wulimiao[1]).await?;
    let banner = tablet
        .wait_for(
            "the critical banner on the tablet",
            "const b = document.querySelector('[data-test=critical-banner]'); return b ? b.textContent : null;",
            WAIT,
        )
        .await;
    if banner.is_err() {
        tablet.screenshot("field-critical-banner-missing").await?;
        let state = tablet
            .script(
                "const m = document.querySelector('[data-test=mute]'); \
                 return {last: m && m.getAttribute('data-last-critical'), \
                 rows: [...document.querySelectorAll('[data-test=alert-row]')].map(r => r.getAttribute('data-alert-id')), \
                 banners: document.querySelectorAll('.critical-banner').length, \
                 mutes: document.querySelectorAll('[data-test=mute]').length};",
                json!([]),
            )
            .await?;
        eprintln!("tablet state when the banner was missing: {state}");
    }
    let banner = banner?;
    assert!(banner.as_str().unwrap().contains("紧急告警"), "{banner}");
    tablet.screenshot("field-critical-banner-from-link").await?;

    // She acknowledges the first: the chain stops; nobody else is called.
    let ack = tablet
        .find(&format!("[data-alert-id='{alert}'] [data-test=ack]"))
        .await?;
    tablet.click(&ack).await?;
    let acked = alert_once(&commander, &server, alert, |a| a["state"] == "acknowledged").await?;
    assert_eq!(acked["state"], "acknowledged");
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    time_passes(&server).await?;
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    let deliveries: Vec<Value> = commander
        .get(server.url(&format!("/api/v1/alerts/{alert}/deliveries")))
        .send()
        .await?
        .json()
        .await?;
    let levels: Vec<&Value> = deliveries.iter().map(|d| &d["level"]).collect();
    assert_eq!(levels, [&json!(1), &json!(2)], "{deliveries:?}");

    // She escalates it into a case: the form has the draft in Chinese, the gas utility
    // responsible; she adds a line and sends it.
    let escalate = tablet
        .find(&format!("[data-alert-id='{alert}'] [data-test=escalate]"))
        .await?;
    tablet.click(&escalate).await?;
    let title = tablet
        .wait_for(
            "the escalation form with its draft",
            "const t = document.querySelector('[data-test=escalate-title]'); return t && t.value ? t.value : null;",
            WAIT,
        )
        .await?;
    assert!(
        title.as_str().unwrap().starts_with("燃气泄漏 · "),
        "{title}"
    );
    let responsible = tablet
        .script(
            "return document.querySelector('[data-test=escalate-responsible]').value;",
            json!([]),
        )
        .await?;
    assert_eq!(responsible, "utilities");
    let note = tablet.find("[data-test=escalate-note]").await?;
    tablet
        .type_into(&note, "住户不在家，已通知燃气公司")
        .await?;
    let send = tablet.find("[data-test=confirm-escalate]").await?;
    tablet.click(&send).await?;
    let escalated = alert_once(&commander, &server, alert, |a| a["case_id"].is_i64()).await?;
    let case = escalated["case_id"]
        .as_i64()
        .expect("the escalation opened a case");
    tablet
        .wait_for(
            "the alert saying to whom it went",
            &format!(
                "const e = document.querySelector(\"[data-alert-id='{alert}'] [data-test=escalated-to]\"); \
                 return e && e.textContent.includes('水电气公司') ? e.textContent : null;"
            ),
            WAIT,
        )
        .await?;

    // The gas utility's engineer signs in on a phone: only that case.
    let phone = Browser::start(390, 844, "zh-CN").await?;
    phone.goto(&server.url("/login?next=/partner")).await?;
    phone.sign_in("demo-partner-utilities", "demo").await?;
    phone.wait_for_path("/partner").await?;
    let listed = phone
        .wait_for(
            "the partner's cases",
            "const l = [...document.querySelectorAll('[data-test=partner-case]')]; \
             return l.length ? l.map(c => c.getAttribute('data-case-id')) : null;",
            WAIT,
        )
        .await?;
    assert_eq!(listed, json!([case.to_string()]));
    phone
        .wait_for(
            "the case's details",
            "return document.querySelector('[data-test=partner-actions]') ? true : null;",
            WAIT,
        )
        .await?;
    // A photo after the work, from the phone's camera, and a note.
    let photo = linli_tests::artefacts().join("partner-valve.jpg");
    image::RgbImage::from_fn(800, 600, |x, y| {
        image::Rgb([(x / 4) as u8, (y / 3) as u8, 60])
    })
    .save(&photo)?;
    phone.choose("[data-test=photo-kind]", "after").await?;
    let input = phone.find("[data-test=photo-input]").await?;
    phone.type_into(&input, photo.to_str().unwrap()).await?;
    phone
        .wait_for(
            "the photo on the case",
            "const i = document.querySelector('[data-test=case-photo][data-kind=after] img'); \
             return i && i.complete && i.naturalWidth > 0 ? i.naturalWidth : null;",
            WAIT,
        )
        .await?;
    let note = phone.find("[data-test=case-note]").await?;
    phone.type_into(&note, "已关闭阀门，更换软管").await?;
    let add = phone.find("[data-test=case-add-note]").await?;
    phone.click(&add).await?;
    phone
        .wait_for(
            "the note on the timeline",
            "const t = document.querySelector('[data-test=case-timeline]'); \
             return t && t.textContent.includes('更换软管') ? true : null;",
            WAIT,
        )
        .await?;
    let done = phone.find("[data-test=case-part-done]").await?;
    phone.click(&done).await?;
    phone
        .wait_for(
            "the utility's part marked done",
            "return document.querySelector('[data-test=part-done]') ? true : null;",
            WAIT,
        )
        .await?;
    phone.screenshot("partner-case-done").await?;
    // The staff faces are not the partner's: it is sent back to its own.
    phone.goto(&server.url("/command")).await?;
    phone.wait_for_path("/partner").await?;

    // The office closes the case; the alert is resolved with it.
    for body in [
        json!({"action": "advance", "to": "identified"}),
        json!({"action": "advance", "to": "joint-handling"}),
        json!({"action": "close", "outcome": "solved", "note": "燃气公司已处置"}),
    ] {
        let stepped = commander
            .post(server.url(&format!("/api/v1/cases/{case}/events")))
            .json(&body)
            .send()
            .await?;
        assert_eq!(stepped.status(), 200, "{body}");
    }
    let closed: Value = commander
        .get(server.url(&format!("/api/v1/cases/{case}")))
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(closed["stage"], "closed");
    assert_eq!(closed["parties_done"], json!(["utilities"]));
    assert_eq!(closed["photos"][0]["kind"], "after");
    assert_eq!(closed["photos"][0]["by"], "user:demo-partner-utilities");
    let resolved: Value = commander
        .get(server.url(&format!("/api/v1/alerts/{alert}")))
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(resolved["state"], "resolved");
    Ok(())
}
