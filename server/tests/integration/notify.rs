//! Notifications (issue 15): channels and duty rosters through the API, and alarms
//! reaching real local HTTP receivers that stand in for the WeCom, DingTalk and Feishu
//! robots, a webhook and an SMS gateway. The receivers check signatures the way the
//! robots do; one fails and recovers; one refuses for good.

use crate::support::{
    acknowledge, assert_error, eventually, get_json, new_device, raise_gas_alert, reading,
    spawn_app, TestApp, WAIT,
};
use linli_domain::care::SensorKind;
use linli_tests::{Received, Receiver};
use serde_json::{json, Value};
use std::time::Duration;

fn hmac_base64(key: &[u8], message: &[u8]) -> String {
    use base64::Engine as _;
    use hmac::Mac as _;
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(key).unwrap();
    mac.update(message);
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

fn percent_decode(text: &str) -> String {
    let mut out = Vec::new();
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            out.push(u8::from_str_radix(&text[i + 1..i + 3], 16).unwrap());
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).unwrap()
}

/// A receiver's check of a DingTalk request: its timestamp within an hour, its sign
/// HMAC-SHA256(secret, "timestamp\nsecret").
fn dingtalk_signed(request: &Received, secret: &str) -> bool {
    let param = |name: &str| {
        request
            .query
            .split('&')
            .find_map(|kv| kv.strip_prefix(&format!("{name}=")))
            .map(percent_decode)
    };
    let (Some(timestamp), Some(sign)) = (param("timestamp"), param("sign")) else {
        return false;
    };
    let age = linli_server::clock::now_ms() - timestamp.parse::<i64>().unwrap();
    age.abs() < 3_600_000
        && sign
            == hmac_base64(
                secret.as_bytes(),
                format!("{timestamp}\n{secret}").as_bytes(),
            )
}

/// A receiver's check of a Feishu request: HMAC-SHA256 keyed by "timestamp\nsecret" of
/// nothing.
fn feishu_signed(request: &Received, secret: &str) -> bool {
    let timestamp = request.body["timestamp"].as_str().unwrap_or_default();
    request.body["sign"].as_str()
        == Some(&hmac_base64(
            format!("{timestamp}\n{secret}").as_bytes(),
            b"",
        ))
}

/// A receiver's check of Linli's own signature.
fn linli_signed(request: &Received, secret: &str) -> bool {
    let header = |name: &str| request.headers[name].to_str().unwrap().to_string();
    let expected = linli_server::notify::robots::linli_signature(
        secret,
        header("x-linli-timestamp").parse().unwrap(),
        &request.body.to_string(),
    );
    header("x-linli-signature") == expected
}

async fn add_channel(commander: &reqwest::Client, app: &TestApp, body: Value) -> Value {
    let response = commander
        .post(app.url("/api/v1/notify/channels"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201, "{body}");
    response.json().await.unwrap()
}

/// A roster for `wulimiao`: a grid worker around the clock, then the community
/// secretary, then the street's duty leader.
fn three_levels() -> Value {
    let person = |name: &str, phone: &str, id: &str| json!({"name": name, "phone": phone, "wecom": id, "dingtalk": id, "feishu": format!("ou_{id}")});
    json!({"levels": [
        {"title": "网格员", "acknowledge_within_min": 5,
         "shifts": [{"from": "08:00", "to": "20:00", "person": person("王芳", "13800000001", "wangfang")},
                    {"from": "20:00", "to": "08:00", "person": person("王芳", "13800000001", "wangfang")}]},
        {"title": "社区书记", "acknowledge_within_min": 5,
         "shifts": [{"from": "00:00", "to": "00:00", "person": person("李书记", "13800000002", "lishuji")}]},
        {"title": "街道值班领导", "acknowledge_within_min": 10,
         "shifts": [{"from": "00:00", "to": "00:00", "person": person("张主任", "13800000003", "zhang")}]},
    ]})
}

/// `PUT`s a roster for `community` as `client`; the answer.
async fn put_roster(
    client: &reqwest::Client,
    app: &TestApp,
    community: &str,
    roster: &Value,
) -> reqwest::Response {
    client
        .put(app.url(&format!("/api/v1/notify/rosters/{community}")))
        .json(roster)
        .send()
        .await
        .unwrap()
}

/// Makes the chains' waits run out now: what the clock would do after 5 minutes.
async fn time_passes(app: &TestApp) {
    let pool = app.sql().await;
    sqlx::query("UPDATE notify_chains SET next_ms = 0 WHERE next_ms IS NOT NULL")
        .execute(&pool)
        .await
        .unwrap();
}

#[tokio::test]
async fn channels_and_rosters_are_set_up_by_commanders_and_bad_ones_refused() {
    let app = spawn_app().await;
    let commander = app.signed_in("demo-commander").await;
    let grid = app.signed_in("demo-grid-wulimiao").await;
    let url = app.url("/api/v1/notify/channels");

    let channel = add_channel(
        &commander,
        &app,
        json!({"name": " 五里庙网格群 ", "kind": "dingtalk",
               "url": "https://oapi.dingtalk.com/robot/send?access_token=SECRET-TOKEN",
               "secret": "SEC-secret", "communities": ["wulimiao"], "min_severity": "warning"}),
    )
    .await;
    assert_eq!(channel["name"], "五里庙网格群");
    assert_eq!(channel["url"], "https://oapi.dingtalk.com/…");
    assert_eq!(channel["has_secret"], true);
    let listed: Value = get_json(&commander, url.clone()).await;
    let text = listed.to_string();
    assert!(
        !text.contains("SEC-secret") && !text.contains("SECRET-TOKEN"),
        "{text}"
    );
    // Nor does the event log tell them.
    let events: Value = get_json(&commander, app.url("/api/v1/events?limit=50")).await;
    assert!(!events.to_string().contains("SEC-secret"));
    assert!(!events.to_string().contains("SECRET-TOKEN"));

    // Bad input, each refused and nothing added.
    for (body, status) in [
        (
            json!({"name": "x", "kind": "telegram", "url": "https://a/", "min_severity": "info"}),
            422,
        ),
        (
            json!({"name": "x", "kind": "webhook", "url": "ftp://a/", "min_severity": "info"}),
            422,
        ),
        (
            json!({"name": "x", "kind": "webhook", "url": "not a url", "min_severity": "info"}),
            422,
        ),
        // Addresses no robot has: the cloud's metadata service, in several spellings.
        (
            json!({"name": "x", "kind": "webhook", "url": "http://169.254.169.254/latest/meta-data/", "min_severity": "info"}),
            422,
        ),
        (
            json!({"name": "x", "kind": "webhook", "url": "http://2852039166/", "min_severity": "info"}),
            422,
        ),
        (
            json!({"name": "x", "kind": "webhook", "url": "http://[::ffff:169.254.169.254]/", "min_severity": "info"}),
            422,
        ),
        (
            json!({"name": "x", "kind": "webhook", "url": "http://[fe80::1]/", "min_severity": "info"}),
            422,
        ),
        (
            json!({"name": "x", "kind": "webhook", "url": "http://0.0.0.0:8080/", "min_severity": "info"}),
            422,
        ),
        (
            json!({"name": "", "kind": "webhook", "url": "https://a/", "min_severity": "info"}),
            422,
        ),
        (
            json!({"name": "x", "kind": "webhook", "url": "https://a/", "min_severity": "loud"}),
            422,
        ),
        (
            json!({"name": "x", "kind": "webhook", "url": "https://a/", "min_severity": "info",
                "communities": ["atlantis"]}),
            422,
        ),
        (
            json!({"name": "x", "kind": "webhook", "url": "https://a/", "min_severity": "info",
                "secret": ""}),
            422,
        ),
        (
            json!({"name": "x", "kind": "webhook", "url": "https://a/", "min_severity": "info",
                "colour": "red"}),
            422,
        ),
    ] {
        let response = commander.post(&url).json(&body).send().await.unwrap();
        assert_eq!(response.status(), status, "{body}");
    }
    let response = grid
        .post(&url)
        .json(&json!({"name": "x", "kind": "webhook", "url": "https://a/", "min_severity": "info"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
    assert_eq!(grid.get(&url).send().await.unwrap().status(), 403);
    let listed: Vec<Value> = get_json(&commander, url.clone()).await;
    assert_eq!(listed.len(), 1);

    // Deleting: once; then 404.
    let gone = format!("{url}/{}", channel["id"]);
    assert_eq!(commander.delete(&gone).send().await.unwrap().status(), 200);
    assert_error(
        commander.delete(&gone).send().await.unwrap(),
        404,
        "not_found",
    )
    .await;

    // Rosters: gaps and overlaps named; a good one read back by the community's staff.
    let roster_url = app.url("/api/v1/notify/rosters/wulimiao");
    let mut gap = three_levels();
    gap["levels"][0]["shifts"][1]["from"] = json!("21:00");
    let message = assert_error(
        put_roster(&commander, &app, "wulimiao", &gap).await,
        422,
        "unprocessable",
    )
    .await;
    assert!(
        message.contains("nobody is on duty from mon 20:00 to mon 21:00"),
        "{message}"
    );
    let mut overlap = three_levels();
    overlap["levels"][0]["shifts"][1]["from"] = json!("19:00");
    let message = assert_error(
        put_roster(&commander, &app, "wulimiao", &overlap).await,
        422,
        "unprocessable",
    )
    .await;
    assert!(message.contains("overlap"), "{message}");
    let mut slow = three_levels();
    slow["levels"][2]["acknowledge_within_min"] = json!(90);
    let status = |r: reqwest::Response| r.status();
    assert_eq!(
        status(put_roster(&commander, &app, "wulimiao", &slow).await),
        422
    );
    assert_eq!(
        status(put_roster(&grid, &app, "wulimiao", &three_levels()).await),
        403
    );
    assert_error(
        grid.get(&roster_url).send().await.unwrap(),
        404,
        "not_found",
    )
    .await;
    assert_eq!(
        status(put_roster(&commander, &app, "wulimiao", &three_levels()).await),
        200
    );
    let read: Value = get_json(&grid, roster_url.clone()).await;
    assert_eq!(read["levels"][1]["title"], "社区书记");
    let elsewhere = app.url("/api/v1/notify/rosters/xingfuli");
    assert_eq!(grid.get(&elsewhere).send().await.unwrap().status(), 403);
    assert_eq!(
        status(put_roster(&commander, &app, "atlantis", &three_levels()).await),
        404
    );
}

/// Journey 2 at the server: a gas leak at night reaches the grid worker by every
/// channel, signed as each robot checks; unacknowledged, the community secretary is
/// called; acknowledged, nobody else is. The alert says who was told when.
#[tokio::test]
async fn a_gas_alarm_climbs_the_roster_until_acknowledged() {
    let app = spawn_app().await;
    let commander = app.signed_in("demo-commander").await;
    let receiver = Receiver::start().await;
    let base = receiver.base.clone();
    for (kind, secret) in [
        ("wecom", None),
        ("dingtalk", Some("SECding")),
        ("feishu", Some("fs-secret")),
        ("webhook", Some("hook-key")),
        ("sms", None),
    ] {
        add_channel(
            &commander,
            &app,
            json!({"name": format!("{kind} 群"), "kind": kind, "url": format!("{base}/{kind}?key=k"),
                   "secret": secret, "communities": ["wulimiao"], "min_severity": "critical"}),
        )
        .await;
    }
    // A channel for another community hears nothing of this one.
    add_channel(
        &commander,
        &app,
        json!({"name": "幸福里", "kind": "webhook", "url": format!("{base}/elsewhere"),
               "communities": ["xingfuli"], "min_severity": "info"}),
    )
    .await;
    let set = put_roster(&commander, &app, "wulimiao", &three_levels()).await;
    assert_eq!(set.status(), 200);

    let (alert, _home) = raise_gas_alert(&app, "wulimiao").await;
    let wecom = receiver.wait_for("/wecom", 1).await;
    let content = wecom[0].body["markdown"]["content"].as_str().unwrap();
    assert!(
        content.contains("燃气泄漏") && content.contains("五里庙"),
        "{content}"
    );
    assert!(
        content.contains("<@wangfang>") && content.contains("单元"),
        "{content}"
    );
    assert!(
        content.contains(&format!("/field?alert={alert}")),
        "{content}"
    );
    let ding = receiver.wait_for("/dingtalk", 1).await;
    assert!(dingtalk_signed(&ding[0], "SECding"), "{:?}", ding[0].query);
    assert_eq!(ding[0].body["at"]["atMobiles"][0], "13800000001");
    let feishu = receiver.wait_for("/feishu", 1).await;
    assert!(feishu_signed(&feishu[0], "fs-secret"), "{}", feishu[0].body);
    let hook = receiver.wait_for("/webhook", 1).await;
    assert!(linli_signed(&hook[0], "hook-key"));
    assert_eq!(hook[0].body["alert"]["id"], alert);
    assert_eq!(hook[0].body["level"], 1);
    let sms = receiver.wait_for("/sms", 1).await;
    assert_eq!(sms[0].body["phone"], "13800000001");
    assert!(receiver.on("/elsewhere").is_empty());

    // Five minutes pass, nobody acknowledges: the secretary is called, by name.
    time_passes(&app).await;
    let wecom = receiver.wait_for("/wecom", 2).await;
    let content = wecom[1].body["markdown"]["content"].as_str().unwrap();
    assert!(
        content.contains("<@lishuji>") && content.contains("社区书记"),
        "{content}"
    );
    assert_eq!(
        receiver.wait_for("/sms", 2).await[1].body["phone"],
        "13800000002"
    );

    // The grid worker acknowledges on the tablet: the chain stops there.
    let grid = app.signed_in("demo-grid-wulimiao").await;
    acknowledge(&grid, &app, alert).await;
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    time_passes(&app).await;
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    assert_eq!(
        receiver.on("/wecom").len(),
        2,
        "a third level was called after the acknowledgement"
    );

    // The alert tells who was told, by what, when: each message once.
    let deliveries: Vec<Value> = get_json(
        &grid,
        app.url(&format!("/api/v1/alerts/{alert}/deliveries")),
    )
    .await;
    assert_eq!(deliveries.len(), 10, "{deliveries:?}");
    assert!(
        deliveries.iter().all(|d| d["state"] == "sent"),
        "{deliveries:?}"
    );
    assert_eq!(deliveries[0]["person"], "王芳");
    assert_eq!(deliveries[9]["title"], "社区书记");
    assert_eq!(receiver.all().len(), 10);
    let elsewhere = app.signed_in("demo-grid-xingfuli").await;
    let response = elsewhere
        .get(app.url(&format!("/api/v1/alerts/{alert}/deliveries")))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
}

/// A receiver that answers 503 twice gets the message on the third try, once, and the
/// level was reached: nobody else is called early. A channel that refuses for good
/// (404) is given up on at once, visibly; when no message of a level got through, the
/// next level is called without waiting.
#[tokio::test]
async fn failures_are_retried_then_given_up_on_and_the_next_level_called() {
    let app = spawn_app().await;
    let commander = app.signed_in("demo-commander").await;
    let receiver = Receiver::start().await;
    let base = receiver.base.clone();
    receiver.fail_first("/flaky", 2);
    let flaky = add_channel(
        &commander,
        &app,
        json!({"name": "flaky", "kind": "webhook", "url": format!("{base}/flaky"), "min_severity": "warning"}),
    )
    .await;
    add_channel(
        &commander,
        &app,
        json!({"name": "gone", "kind": "wecom", "url": format!("{base}/gone"), "min_severity": "warning"}),
    )
    .await;
    // A receiver nobody listens on, its key in the URL: the error it gets must not
    // tell the key to those who read deliveries.
    let closed = add_channel(
        &commander,
        &app,
        json!({"name": "closed", "kind": "webhook", "url": "http://127.0.0.1:9/hook?key=TOPSECRET",
               "min_severity": "warning"}),
    )
    .await;
    for community in ["wulimiao", "xingfuli"] {
        let set = put_roster(&commander, &app, community, &three_levels()).await;
        assert_eq!(set.status(), 200);
    }
    let deliveries = |alert: i64| {
        let (commander, url) = (
            &commander,
            app.url(&format!("/api/v1/alerts/{alert}/deliveries")),
        );
        async move { get_json::<Vec<Value>>(commander, url).await }
    };

    let (alert, _) = raise_gas_alert(&app, "wulimiao").await;
    let got = receiver.wait_for("/flaky", 1).await;
    assert_eq!(got[0].body["level"], 1);
    eventually(
        "the first level's messages sent, failed and retried",
        WAIT,
        async || {
            let sent = deliveries(alert).await;
            let is = |channel: &str, state: &str| {
                sent.iter()
                    .any(|d| d["channel"] == channel && d["state"] == state)
            };
            let closed_tried = sent
                .iter()
                .any(|d| d["channel"] == "closed" && d["error"].is_string());
            (is("flaky", "sent") && is("gone", "failed") && closed_tried).then_some(())
        },
    )
    .await;
    // Time for anybody wrongly called next to show up.
    tokio::time::sleep(Duration::from_millis(1_000)).await;
    let sent = deliveries(alert).await;
    let by = |channel: &str| {
        sent.iter()
            .find(|d| d["channel"] == channel)
            .unwrap()
            .clone()
    };
    assert_eq!(by("flaky")["state"], "sent");
    assert_eq!(by("flaky")["attempts"], 3, "two 503s, then taken");
    assert_eq!(by("gone")["state"], "failed");
    assert_eq!(by("gone")["attempts"], 1, "a 404 is not tried again");
    assert!(by("gone")["error"].as_str().unwrap().contains("404"));
    assert_eq!(
        by("closed")["state"],
        "pending",
        "retried while it cannot be reached"
    );
    let error = by("closed")["error"].as_str().unwrap().to_string();
    assert!(
        error.contains("cannot reach") && !error.contains("TOPSECRET"),
        "{error}"
    );
    assert_eq!(
        sent.len(),
        3,
        "the flaky channel reached level 1: nobody else called: {sent:?}"
    );
    assert_eq!(receiver.on("/flaky").len(), 1, "each message once");
    let events: Value = get_json(&commander, app.url("/api/v1/events?limit=1000")).await;
    assert!(events.to_string().contains("alert.notify_failed"));

    // Acknowledged: what still waits is not sent.
    acknowledge(&commander, &app, alert).await;
    eventually("the closed channel's message cancelled", WAIT, async || {
        let sent = deliveries(alert).await;
        let closed = sent.iter().find(|d| d["channel"] == "closed").unwrap();
        (closed["state"] == "cancelled").then_some(())
    })
    .await;

    // Only the dead channel left: every level fails, and each calls the next at once.
    for channel in [&flaky, &closed] {
        let url = app.url(&format!("/api/v1/notify/channels/{}", channel["id"]));
        assert_eq!(commander.delete(&url).send().await.unwrap().status(), 200);
    }
    let (alert, _) = raise_gas_alert(&app, "xingfuli").await;
    let sent = eventually("three levels called, each failing", WAIT, async || {
        let sent = deliveries(alert).await;
        let done = sent.len() == 3 && sent.iter().all(|d| d["state"] == "failed");
        done.then_some(sent)
    })
    .await;
    let levels: Vec<u64> = sent.iter().map(|d| d["level"].as_u64().unwrap()).collect();
    assert_eq!(levels, [1, 2, 3], "{sent:?}");
}

#[tokio::test]
async fn warnings_wait_for_the_morning_digest_while_a_gas_alarm_pages_at_once() {
    let app = spawn_app().await;
    let commander = app.signed_in("demo-commander").await;
    let receiver = Receiver::start().await;
    add_channel(
        &commander,
        &app,
        json!({"name": "五里庙值班群", "kind": "webhook", "url": format!("{}/hook", receiver.base),
               "communities": ["wulimiao"], "min_severity": "info"}),
    )
    .await;
    let mut roster = three_levels();
    roster["warnings"] = json!("digest");
    for bad in ["25:00", "7:30", "早上"] {
        roster["digest_at"] = json!(bad);
        let refused = put_roster(&commander, &app, "wulimiao", &roster).await;
        let message = assert_error(refused, 422, "unprocessable").await;
        assert!(message.contains("digest_at"), "{bad}: {message}");
    }
    roster["digest_at"] = json!("07:30");
    assert_eq!(
        put_roster(&commander, &app, "wulimiao", &roster)
            .await
            .status(),
        200
    );

    // In the evening: a detector is tampered with (a warning) and its battery runs low
    // (a notice); then a gas leak elsewhere in the community.
    let (device, token, _) = new_device(&app, Some("wulimiao"), SensorKind::Gas).await;
    let response = reqwest::Client::new()
        .post(app.url("/api/v1/ingest"))
        .bearer_auth(&token)
        .json(&json!({"readings": [reading(&device, 1, "tamper", 1.0),
                                   reading(&device, 2, "battery_pct", 5.0)]}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 202);
    let (gas, _) = raise_gas_alert(&app, "wulimiao").await;
    let paged = receiver.wait_for("/hook", 1).await;
    assert_eq!(
        paged[0].body["alert"]["id"], gas,
        "the gas alarm pages at once"
    );
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    assert_eq!(
        receiver.on("/hook").len(),
        1,
        "the warnings wait for the morning"
    );
    let pool = app.sql().await;
    let waiting: Vec<(i64, i64)> =
        sqlx::query_as("SELECT alert_id, due_ms FROM notify_digest WHERE sent_with IS NULL")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(waiting.len(), 2, "{waiting:?}");
    let now = linli_server::clock::now_ms();
    for (_, due) in &waiting {
        assert!(
            *due > now && *due <= now + 24 * 3_600_000,
            "due at the next 07:30"
        );
        assert_eq!(
            linli_server::clock::china_date_time(*due).split(' ').nth(1),
            Some("07:30")
        );
    }

    // 07:30: one message with both, naming what, where and that nobody is on them yet.
    sqlx::query("UPDATE notify_digest SET due_ms = 0")
        .execute(&pool)
        .await
        .unwrap();
    let both = receiver.wait_for("/hook", 2).await;
    let digest = &both[1].body;
    let text = digest["text"].as_str().unwrap();
    assert!(
        text.contains("【告警汇总】") && text.contains("2 条，2 条待处理"),
        "{text}"
    );
    assert!(
        text.contains("设备被拆动") && text.contains("电量低"),
        "{text}"
    );
    assert_eq!(digest["level_title"], "告警汇总");
    let first = waiting.iter().map(|(id, _)| *id).min().unwrap();
    assert_eq!(digest["alert"]["digest"].as_array().unwrap().len(), 2);
    // Acknowledging the digest's first alert afterwards cancels nothing of it, and
    // nothing is sent twice.
    acknowledge(&commander, &app, first).await;
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    assert_eq!(receiver.on("/hook").len(), 2);
    let deliveries: Vec<Value> = get_json(
        &commander,
        app.url(&format!("/api/v1/alerts/{first}/deliveries")),
    )
    .await;
    assert_eq!(deliveries.len(), 1);
    assert_eq!(deliveries[0]["state"], "sent");
    assert_eq!(deliveries[0]["title"], "告警汇总");
}

/// The open alerts of `home`: (id, kind).
async fn open_alerts_of(
    commander: &reqwest::Client,
    app: &TestApp,
    home: &str,
) -> Vec<(i64, String)> {
    let alerts: Vec<Value> = get_json(commander, app.url("/api/v1/alerts?state=open")).await;
    alerts
        .iter()
        .filter(|a| a["home"] == home)
        .map(|a| {
            (
                a["id"].as_i64().unwrap(),
                a["kind"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[tokio::test]
async fn a_flapping_detector_pages_once_then_waits_for_the_storms_digest_but_gas_always_pages() {
    let app = spawn_app().await;
    let commander = app.signed_in("demo-commander").await;
    let receiver = Receiver::start().await;
    add_channel(
        &commander,
        &app,
        json!({"name": "五里庙值班群", "kind": "webhook", "url": format!("{}/hook", receiver.base),
               "communities": ["wulimiao"], "min_severity": "info"}),
    )
    .await;
    let (device, token, home) = new_device(&app, Some("wulimiao"), SensorKind::Gas).await;
    let mut seq = 0;
    // The detector is tampered with, the alert is resolved, and it happens again: three
    // times within ten minutes.
    let mut tampers = Vec::new();
    for round in 0..3 {
        seq += 1;
        ingest(&app, &token, &device, seq, "tamper", 1.0).await;
        let id = eventually(&format!("round {round}'s tamper alert"), WAIT, async || {
            open_alerts_of(&commander, &app, &home)
                .await
                .into_iter()
                .find(|(_, kind)| kind == "tamper")
                .map(|(id, _)| id)
        })
        .await;
        if round == 0 {
            let paged = receiver.wait_for("/hook", 1).await;
            assert_eq!(paged[0].body["alert"]["id"], id, "the first one pages");
        }
        tampers.push(id);
        let resolved = commander
            .post(app.url(&format!("/api/v1/alerts/{id}/resolve")))
            .json(&json!({"outcome": "false-alarm", "note": "住户误碰"}))
            .send()
            .await
            .unwrap();
        assert_eq!(resolved.status(), 200, "round {round}");
        // The casing closed again, until the next time.
        seq += 1;
        ingest(&app, &token, &device, seq, "tamper", 0.0).await;
    }
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    assert_eq!(
        receiver.on("/hook").len(),
        1,
        "the repeats page nobody within the window"
    );
    let pool = app.sql().await;
    // The notifier writes each repeat's digest row on its own time: wait for both.
    let wanted: Vec<(i64, String)> =
        vec![(tampers[1], "storm".into()), (tampers[2], "storm".into())];
    let mut waiting: Vec<(i64, String)> = Vec::new();
    for _ in 0..100 {
        waiting = sqlx::query_as(
            "SELECT alert_id, why FROM notify_digest WHERE sent_with IS NULL ORDER BY alert_id",
        )
        .fetch_all(&pool)
        .await
        .unwrap();
        if waiting.len() >= wanted.len() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(waiting, wanted);

    // A gas leak at the same home is critical: it pages at once, storm or not, and
    // again when it comes back.
    for round in 0..2 {
        seq += 1;
        ingest(&app, &token, &device, seq, "gas_lel_pct", 45.0).await;
        let got = receiver.wait_for("/hook", 2 + round).await;
        let gas = got.last().unwrap().body["alert"].clone();
        assert_eq!(gas["kind"], "gas", "round {round}: {gas}");
        let resolved = commander
            .post(app.url(&format!("/api/v1/alerts/{}/resolve", gas["id"])))
            .json(&json!({"outcome": "handled", "note": "已通风"}))
            .send()
            .await
            .unwrap();
        assert_eq!(resolved.status(), 200);
        // Clear, so that the next reading is a new leak.
        seq += 1;
        ingest(&app, &token, &device, seq, "gas_lel_pct", 0.0).await;
    }

    // The window passes: one digest with both repeats, though both are resolved.
    sqlx::query("UPDATE notify_digest SET due_ms = 0")
        .execute(&pool)
        .await
        .unwrap();
    let all = receiver.wait_for("/hook", 4).await;
    let digest = &all[3].body;
    let text = digest["text"].as_str().unwrap();
    assert!(text.contains("【告警汇总】"), "{text}");
    assert!(text.contains("设备被拆动"), "{text}");
    assert_eq!(digest["alert"]["digest"], json!(tampers[1..]), "{digest}");
    assert!(text.contains("2 条，0 条待处理"), "{text}");
    tokio::time::sleep(Duration::from_millis(2_000)).await;
    assert_eq!(receiver.on("/hook").len(), 4, "nothing sent twice");
}

/// Posts one reading of `device` (as the device).
async fn ingest(app: &TestApp, token: &str, device: &str, seq: u64, metric: &str, value: f64) {
    let response = reqwest::Client::new()
        .post(app.url("/api/v1/ingest"))
        .bearer_auth(token)
        .json(&json!({"readings": [reading(device, seq, metric, value)]}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 202);
}

/// Waits until alert `id` is in `state` with `occurrences`.
async fn alert_becomes(
    client: &reqwest::Client,
    app: &TestApp,
    id: i64,
    state: &str,
    occurrences: i64,
) {
    let what = format!("alert {id} {state} ×{occurrences}");
    eventually(&what, WAIT, async || {
        let alert: Value = get_json(client, app.url(&format!("/api/v1/alerts/{id}"))).await;
        (alert["state"] == state && alert["occurrences"] == occurrences).then_some(())
    })
    .await
}

#[tokio::test]
async fn a_warning_the_rules_cleared_pages_again_when_it_comes_back() {
    let app = spawn_app().await;
    let commander = app.signed_in("demo-commander").await;
    let receiver = Receiver::start().await;
    add_channel(
        &commander,
        &app,
        json!({"name": "五里庙值班群", "kind": "webhook", "url": format!("{}/hook", receiver.base),
               "communities": ["wulimiao"], "min_severity": "warning"}),
    )
    .await;
    assert_eq!(
        put_roster(&commander, &app, "wulimiao", &three_levels())
            .await
            .status(),
        200
    );
    let (device, token, _) = new_device(&app, Some("wulimiao"), SensorKind::Gas).await;
    ingest(&app, &token, &device, 1, "tamper", 1.0).await;
    let first = receiver.wait_for("/hook", 1).await;
    let id = first[0].body["alert"]["id"].as_i64().unwrap();
    assert_eq!(first[0].body["level"], 1);

    // The casing closes: the rules clear the warning, and its chain ends.
    ingest(&app, &token, &device, 2, "tamper", 0.0).await;
    alert_becomes(&commander, &app, id, "resolved", 1).await;
    let pool = app.sql().await;
    // The notifier follows the event log: it ends the chain a moment later.
    let chain: (Option<i64>, Option<String>, i64) =
        eventually("the chain ended", WAIT, async || {
            let chain: (Option<i64>, Option<String>, i64) = sqlx::query_as(
                "SELECT next_ms, ended, round FROM notify_chains WHERE alert_id = $1",
            )
            .bind(id)
            .fetch_one(&pool)
            .await
            .unwrap();
            chain.1.is_some().then_some(chain)
        })
        .await;
    assert_eq!(chain, (None::<i64>, Some("resolved".to_string()), 1_i64));

    // Back within the storm window: the same alert reopens, and waits for the storm's
    // digest instead of paging again.
    ingest(&app, &token, &device, 3, "tamper", 1.0).await;
    alert_becomes(&commander, &app, id, "open", 2).await;
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    assert_eq!(
        receiver.on("/hook").len(),
        1,
        "no second page within the window"
    );
    let storm: Vec<(i64, String)> = sqlx::query_as("SELECT alert_id, why FROM notify_digest")
        .fetch_all(&pool)
        .await
        .unwrap();
    assert_eq!(storm, vec![(id, "storm".to_string())]);

    // Cleared again, and back after the window: a new round pages the first level
    // again, and that round climbs like the first.
    ingest(&app, &token, &device, 4, "tamper", 0.0).await;
    alert_becomes(&commander, &app, id, "resolved", 2).await;
    sqlx::query("UPDATE notify_chains SET started_ms = started_ms - 11 * 60 * 1000")
        .execute(&pool)
        .await
        .unwrap();
    ingest(&app, &token, &device, 5, "tamper", 1.0).await;
    alert_becomes(&commander, &app, id, "open", 3).await;
    let again = receiver.wait_for("/hook", 2).await;
    assert_eq!(again[1].body["alert"]["id"], id);
    assert_eq!(again[1].body["level"], 1, "the first level, again");
    time_passes(&app).await;
    let climbed = receiver.wait_for("/hook", 3).await;
    assert_eq!(climbed[2].body["level"], 2, "{:?}", climbed[2].body);

    // Acknowledged: that round ends too; nothing more.
    acknowledge(&commander, &app, id).await;
    time_passes(&app).await;
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    assert_eq!(receiver.on("/hook").len(), 3);
    let deliveries: Vec<Value> = get_json(
        &commander,
        app.url(&format!("/api/v1/alerts/{id}/deliveries")),
    )
    .await;
    assert_eq!(deliveries.len(), 3, "{deliveries:?}");
    assert!(
        deliveries.iter().all(|d| d["state"] == "sent"),
        "{deliveries:?}"
    );
}

#[tokio::test]
async fn a_drills_alarm_pages_like_a_real_one_marked_as_a_drill_in_every_message() {
    let app = spawn_app().await;
    let commander = app.signed_in("demo-commander").await;
    let receiver = Receiver::start().await;
    let base = receiver.base.clone();
    for kind in ["wecom", "webhook", "sms"] {
        add_channel(
            &commander,
            &app,
            json!({"name": kind, "kind": kind, "url": format!("{base}/{kind}"),
                   "communities": ["wulimiao"], "min_severity": "critical"}),
        )
        .await;
    }
    assert_eq!(
        put_roster(&commander, &app, "wulimiao", &three_levels())
            .await
            .status(),
        200
    );
    let grid = app.signed_in("demo-grid-wulimiao").await;
    let homes: Vec<Value> = get_json(&grid, app.url("/api/v1/homes")).await;
    let drill: Value = commander
        .post(app.url("/api/v1/drills"))
        .json(&json!({"home": homes[0]["id"], "scenario": "gas"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let wecom = receiver.wait_for("/wecom", 1).await;
    let content = wecom[0].body["markdown"]["content"].as_str().unwrap();
    assert!(content.contains("【演练】【紧急】燃气泄漏"), "{content}");
    let hook = receiver.wait_for("/webhook", 1).await;
    assert_eq!(hook[0].body["alert"]["id"], drill["id"]);
    assert_eq!(hook[0].body["alert"]["drill"], true);
    assert!(
        hook[0].body["text"]
            .as_str()
            .unwrap()
            .starts_with("【演练】"),
        "{}",
        hook[0].body
    );
    let sms = receiver.wait_for("/sms", 1).await;
    assert!(
        sms[0].body["text"]
            .as_str()
            .unwrap()
            .starts_with("【演练】"),
        "{}",
        sms[0].body
    );
}
