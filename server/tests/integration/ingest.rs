//! Ingest, alerts and the live stream through the real HTTP service and SQLite store:
//! device tokens (checked before the body is read), durable and idempotent batches,
//! bad records refused by index while the good ones beside them are stored, a device
//! that one forged reading cannot blind, a gas reading's critical alert taken through
//! its life, and the stream resuming with exactly the missed events.

use crate::support::{
    acknowledge, assert_error, eventually, get_json, new_device, reading, spawn_app, TestApp, WAIT,
};
use linli_domain::alerts::{Alert, AlertKind, AlertState, Severity};
use linli_domain::care::{Health, SensorKind};
use linli_domain::cases::{CaseCategory, CasePriority, CaseSource, CaseSummary};
use linli_domain::events::{EventKind, SensorStatus};
use linli_domain::{CommunityId, ErrorBody};
use linli_server::auth::token::{new_token, token_hash};
use linli_server::clock::{now_ms, rfc3339};
use linli_server::engine::Accepted;
use linli_server::store::{Actor, Change, Community};
use serde_json::{json, Value};

async fn post(app: &TestApp, token: &str, body: &Value) -> reqwest::Response {
    reqwest::Client::new()
        .post(app.url("/api/v1/ingest"))
        .bearer_auth(token)
        .json(body)
        .send()
        .await
        .unwrap()
}

async fn stored_readings(app: &TestApp) -> usize {
    app.store.readings_after(0, 100_000).await.unwrap().len()
}

/// The `refused` list of an answer: (index, reason) each.
fn refused(body: &Accepted) -> Vec<(usize, String)> {
    body.refused
        .iter()
        .map(|r| (r.index, r.reason.clone()))
        .collect()
}

/// Posts a batch and reads a `202` answer.
async fn post_accepted(app: &TestApp, token: &str, body: &Value) -> Accepted {
    let response = post(app, token, body).await;
    assert_eq!(response.status(), 202, "for {body}");
    response.json().await.unwrap()
}

/// Reads a `422` answer: the error, and the same counts and list as a `202`.
async fn nothing_accepted(response: reqwest::Response) -> (ErrorBody, Accepted) {
    assert_eq!(response.status(), 422);
    let text = response.text().await.unwrap();
    (
        serde_json::from_str(&text).unwrap(),
        serde_json::from_str(&text).unwrap(),
    )
}

/// Open alerts of `kind` at `home`, as the commander sees them.
async fn open_alerts(app: &TestApp, home: &str, kind: AlertKind) -> Vec<Alert> {
    let commander = app.signed_in("demo-commander").await;
    let open: Vec<Alert> = get_json(&commander, app.url("/api/v1/alerts?state=open")).await;
    open.into_iter()
        .filter(|a| a.home == home && a.kind == kind)
        .collect()
}

#[tokio::test]
async fn ingest_needs_a_token_for_the_devices_it_sends() {
    let app = spawn_app().await;
    let (gas, gas_token, _) = new_device(&app, Some("wulimiao"), SensorKind::Gas).await;
    let (water, _, _) = new_device(&app, Some("xingfuli"), SensorKind::Water).await;
    let batch = json!({"readings": [reading(&gas, 1, "heartbeat", 1.0)]});
    let client = reqwest::Client::new();
    let url = app.url("/api/v1/ingest");

    // No token, a token Linli never issued, a session instead of a token.
    assert_error(
        client.post(&url).json(&batch).send().await.unwrap(),
        401,
        "unauthorized",
    )
    .await;
    assert_error(post(&app, &new_token(), &batch).await, 401, "unauthorized").await;
    let commander = app.signed_in("demo-commander").await;
    assert_error(
        commander.post(&url).json(&batch).send().await.unwrap(),
        401,
        "unauthorized",
    )
    .await;

    // A device token sending its own reading and another device's: its own is stored,
    // the other refused by index.
    let theirs = json!({"readings": [reading(&gas, 2, "heartbeat", 1.0), reading(&water, 1, "heartbeat", 1.0)]});
    let body = post_accepted(&app, &gas_token, &theirs).await;
    assert_eq!((body.accepted, body.duplicates), (1, 0));
    let list = refused(&body);
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].0, 1);
    assert!(
        list[0].1.contains(&water) && list[0].1.contains("may not"),
        "{list:?}"
    );
    // Only the other device's: nothing taken, 422 with the same list.
    let only_theirs = json!({"readings": [reading(&water, 1, "heartbeat", 1.0)]});
    let (error, body) = nothing_accepted(post(&app, &gas_token, &only_theirs).await).await;
    assert_eq!(error.error.code, "unprocessable");
    assert!(error.error.message.contains(&water), "{error:?}");
    assert_eq!(refused(&body).len(), 1);
    assert_eq!(body.accepted, 0);

    // A gateway for 五里庙 only, sending for a device there, elsewhere, and unknown.
    let gateway_token = new_token();
    app.store
        .add_gateway(
            &Change::new(Actor::System("test"), now_ms()),
            "gw-wulimiao",
            &[CommunityId::parse("wulimiao").unwrap()],
            &token_hash(&gateway_token),
        )
        .await
        .unwrap();
    let body = post_accepted(&app, &gateway_token, &batch).await;
    assert_eq!(body.accepted, 1);
    let body = post_accepted(&app, &gateway_token, &theirs).await;
    assert_eq!((body.accepted, body.duplicates), (0, 1));
    assert_eq!(refused(&body)[0].0, 1);
    let unknown = json!({"readings": [reading("wm-999999", 1, "heartbeat", 1.0)]});
    let (_, body) = nothing_accepted(post(&app, &gateway_token, &unknown).await).await;
    assert!(
        refused(&body)[0].1.contains("no device `wm-999999`"),
        "{body:?}"
    );

    // Neither JSON nor SenML; a body above the limit.
    let text = client
        .post(&url)
        .bearer_auth(&gas_token)
        .header("content-type", "text/plain")
        .body(batch.to_string())
        .send()
        .await
        .unwrap();
    assert_error(text, 415, "unsupported_media_type").await;
    let huge = client
        .post(&url)
        .bearer_auth(&gas_token)
        .header("content-type", "application/json")
        .body(vec![b' '; 5 * 1024 * 1024])
        .send()
        .await
        .unwrap();
    assert_error(huge, 413, "payload_too_large").await;
    assert_eq!(
        stored_readings(&app).await,
        2,
        "the gateway's heartbeat and the device's own"
    );
}

/// The token is looked at before the body: a caller without one is answered at once,
/// without the server waiting for (or reading) the megabytes it announced.
#[tokio::test]
async fn the_token_is_checked_before_the_body_is_read() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = spawn_app().await;
    let address = app.address();
    for authorization in ["", "Authorization: Bearer not-a-token\r\n"] {
        let mut socket = tokio::net::TcpStream::connect(&address).await.unwrap();
        let head = format!(
            "POST /api/v1/ingest HTTP/1.1\r\nHost: x\r\n{authorization}Content-Type: application/json\r\nContent-Length: 4000000\r\n\r\n{{\"readings\": ["
        );
        socket.write_all(head.as_bytes()).await.unwrap();
        let mut answer = vec![0u8; 1024];
        let read =
            tokio::time::timeout(std::time::Duration::from_secs(5), socket.read(&mut answer))
                .await
                .expect("answered without the body")
                .unwrap();
        let answer = String::from_utf8_lossy(&answer[..read]);
        assert!(answer.starts_with("HTTP/1.1 401"), "{answer}");
    }
}

#[tokio::test]
async fn a_batch_is_stored_once_and_a_bad_record_alone_is_refused() {
    let app = spawn_app().await;
    let (water, token, _) = new_device(&app, Some("xingfuli"), SensorKind::Water).await;
    let batch = json!({"readings": [
        reading(&water, 1, "water_total_l", 100.0),
        reading(&water, 2, "water_total_l", 110.0),
        reading(&water, 3, "battery_pct", 80.0),
        reading(&water, 3, "battery_pct", 80.0),
    ]});
    let body = post_accepted(&app, &token, &batch).await;
    let counted = |accepted, duplicates| Accepted {
        accepted,
        duplicates,
        refused: Vec::new(),
    };
    assert_eq!(body, counted(3, 1));
    // Sent again (a device that did not hear the answer): nothing new.
    let body = post_accepted(&app, &token, &batch).await;
    assert_eq!(body, counted(0, 4));
    assert_eq!(stored_readings(&app).await, 3);

    // SenML, identified by (device, metric, time).
    let senml = json!([
        {"bn": format!("urn:linli:device:{water}:"), "bt": (now_ms() / 1000) as f64 - 60.0,
         "n": "water_total_l", "v": 120.0},
        {"n": "water_flow_lpm", "t": 1, "v": 0.0},
    ]);
    let send_senml = || async {
        reqwest::Client::new()
            .post(app.url("/api/v1/ingest"))
            .bearer_auth(&token)
            .header("content-type", "application/senml+json")
            .body(senml.to_string())
            .send()
            .await
            .unwrap()
    };
    let body: Accepted = send_senml().await.json().await.unwrap();
    assert_eq!(
        (body.accepted, body.duplicates, body.refused.len()),
        (2, 0, 0)
    );
    let body: Accepted = send_senml().await.json().await.unwrap();
    assert_eq!(
        (body.accepted, body.duplicates, body.refused.len()),
        (0, 2, 0)
    );

    // Bad records, each between two good readings: refused by index, the good ones
    // stored.
    let bad_records = [
        (reading(&water, 0, "water_total_l", -5.0), "between"),
        (reading(&water, 0, "gas_lel_pct", 120.0), "between"),
        (reading(&water, 0, "smoke_alarm", 0.5), "0 or 1"),
        (reading(&water, 0, "pressure", 1.0), "unknown metric"),
        (
            json!({"device": water, "seq": 0, "ts": rfc3339(now_ms() + 3_600_000), "metric": "heartbeat", "value": 1}),
            "future",
        ),
        (
            json!({"device": water, "seq": 0, "ts": "2020-01-01T00:00:00Z", "metric": "heartbeat", "value": 1}),
            "year old",
        ),
        (
            json!({"device": water, "seq": 0, "metric": "heartbeat", "value": 1}),
            "missing field",
        ),
        (json!([1, 2]), "invalid type"),
        (
            json!({"device": "../../etc", "seq": 1, "ts": rfc3339(now_ms()), "metric": "heartbeat", "value": 1}),
            "not a device id",
        ),
    ];
    let mut seq = 10;
    for (bad, expected) in bad_records {
        let body = json!({"readings": [reading(&water, seq, "heartbeat", 1.0), bad, reading(&water, seq + 1, "heartbeat", 1.0)]});
        seq += 2;
        let answer = post_accepted(&app, &token, &body).await;
        assert_eq!(answer.accepted, 2, "{answer:?}");
        let list = refused(&answer);
        assert_eq!(list.len(), 1, "{answer:?}");
        assert_eq!(list[0].0, 1);
        assert!(
            list[0].1.contains(expected),
            "expected `{expected}` in {list:?}"
        );
    }
    assert_eq!(stored_readings(&app).await, 5 + 18);
    // Unreadable bodies are refused whole.
    for unreadable in [
        json!({"readings": []}),
        json!([1, 2, 3]),
        json!({"readings": 5}),
    ] {
        assert_error(post(&app, &token, &unreadable).await, 400, "bad_request").await;
    }
    // Every record bad: 422 with the list.
    let response = post(
        &app,
        &token,
        &json!({"readings": [reading(&water, 99, "volts", 1.0), reading(&water, 100, "battery_pct", 150.0)]}),
    )
    .await;
    let (_, body) = nothing_accepted(response).await;
    assert_eq!(
        refused(&body).iter().map(|r| r.0).collect::<Vec<_>>(),
        [0, 1]
    );
    assert_eq!(stored_readings(&app).await, 5 + 18);

    // Far out of order: below the 512 highest numbers the device stored, with an
    // older time (so not a counter that started again), cannot be told from a repeat;
    // the good reading beside it is stored.
    let many: Vec<Value> = (1_000..1_600)
        .map(|s| reading(&water, s, "heartbeat", 1.0))
        .collect();
    assert_eq!(
        post_accepted(&app, &token, &json!({"readings": many}))
            .await
            .accepted,
        600
    );
    let behind = json!({"device": water, "seq": 7, "ts": rfc3339(now_ms() - 60_000),
                        "metric": "heartbeat", "value": 1});
    let body = post_accepted(
        &app,
        &token,
        &json!({"readings": [reading(&water, 1_600, "heartbeat", 1.0), behind]}),
    )
    .await;
    assert_eq!(body.accepted, 1);
    let list = refused(&body);
    assert_eq!(list[0].0, 1);
    assert!(list[0].1.contains("already sent 1600"), "{list:?}");
}

/// Issue 14's first attack: from a gas detector's own token, one reading with the
/// largest `seq` and a time 4 minutes ahead. Before, every later genuine reading was
/// refused for good; now the detector's next reading, a leak, raises its alarm.
#[tokio::test]
async fn one_forged_reading_cannot_blind_a_gas_detector() {
    let app = spawn_app().await;
    let (gas, token, home) = new_device(&app, Some("wulimiao"), SensorKind::Gas).await;
    let genuine: Vec<Value> = (4_000..4_712)
        .map(|s| reading(&gas, s, "gas_lel_pct", 0.0))
        .collect();
    post_accepted(&app, &token, &json!({"readings": genuine})).await;
    let forged = json!({"device": gas, "seq": 9_223_372_036_854_775_807u64,
        "ts": rfc3339(now_ms() + 4 * 60_000), "metric": "gas_lel_pct", "value": 0});
    post_accepted(&app, &token, &json!({"readings": [forged]})).await;
    let body = post_accepted(
        &app,
        &token,
        &json!({"readings": [reading(&gas, 4_712, "gas_lel_pct", 90.0)]}),
    )
    .await;
    assert_eq!(body.accepted, 1, "{body:?}");
    let alerts = open_alerts(&app, &home, AlertKind::Gas).await;
    assert_eq!(alerts.len(), 1, "the leak raised its alarm");
    assert_eq!(alerts[0].severity, Severity::Critical);
}

/// A gateway batch with broken records around a gas alarm: the alarm is stored and
/// raised, the broken records are listed.
#[tokio::test]
async fn a_gas_alarm_beside_bad_records_is_stored_and_raised() {
    let app = spawn_app().await;
    let (gas, _, home) = new_device(&app, Some("wulimiao"), SensorKind::Gas).await;
    let gateway_token = new_token();
    app.store
        .add_gateway(
            &Change::new(Actor::System("test"), now_ms()),
            "gw-all",
            &[],
            &token_hash(&gateway_token),
        )
        .await
        .unwrap();
    let body = post_accepted(
        &app,
        &gateway_token,
        &json!({"readings": [
            {"device": gas, "seq": "one"},
            reading("wm-unknown-1", 1, "heartbeat", 1.0),
            reading(&gas, 1, "gas_lel_pct", 90.0),
            reading(&gas, 2, "gas_lel_pct", 900.0),
        ]}),
    )
    .await;
    assert_eq!(body.accepted, 1, "{body:?}");
    assert_eq!(
        refused(&body).iter().map(|r| r.0).collect::<Vec<_>>(),
        [0, 1, 3]
    );
    assert_eq!(open_alerts(&app, &home, AlertKind::Gas).await.len(), 1);
}

/// Reads a stream until `count` events arrived: (id, event, data) each.
async fn read_events(response: &mut reqwest::Response, count: usize) -> Vec<(i64, String, Value)> {
    let mut text = String::new();
    let mut events = Vec::new();
    while events.len() < count {
        let chunk = tokio::time::timeout(std::time::Duration::from_secs(10), response.chunk())
            .await
            .expect("an event within 10 s")
            .unwrap()
            .expect("the stream stays open");
        text.push_str(std::str::from_utf8(&chunk).unwrap());
        while let Some(end) = text.find("\n\n") {
            let block: String = text.drain(..end + 2).collect();
            let field = |name: &str| {
                block
                    .lines()
                    .find_map(|l| l.strip_prefix(&format!("{name}:")))
                    .map(|v| v.trim().to_string())
            };
            if let (Some(id), Some(event), Some(data)) =
                (field("id"), field("event"), field("data"))
            {
                events.push((
                    id.parse().unwrap(),
                    event,
                    serde_json::from_str(&data).unwrap(),
                ));
            }
        }
    }
    events
}

#[tokio::test]
async fn a_gas_reading_raises_one_critical_alert_that_people_take_through_its_life() {
    let app = spawn_app().await;
    let (gas, token, home) = new_device(&app, Some("wulimiao"), SensorKind::Gas).await;
    let commander = app.signed_in("demo-commander").await;
    let mut stream = commander
        .get(app.url("/api/v1/stream"))
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status(), 200);
    assert!(stream.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/event-stream"));

    let leak = json!({"readings": [reading(&gas, 1, "gas_lel_pct", 45.0), reading(&gas, 2, "gas_lel_pct", 50.0)]});
    assert_eq!(post(&app, &token, &leak).await.status(), 202);
    let events = read_events(&mut stream, 2).await;
    let raised = events
        .iter()
        .find(|e| e.1 == "alert.raised")
        .expect("alert.raised");
    let status = events
        .iter()
        .find(|e| e.1 == "sensor.status")
        .expect("sensor.status");
    let status: SensorStatus = serde_json::from_value(status.2.clone()).unwrap();
    assert_eq!(
        (status.device.as_str(), status.health),
        (gas.as_str(), Health::Alarm)
    );
    let alert: Alert = serde_json::from_value(raised.2.clone()).unwrap();
    assert_eq!(alert.home, home);
    assert_eq!(alert.kind, AlertKind::Gas);
    assert_eq!(alert.severity, Severity::Critical);
    assert_eq!(alert.state, AlertState::Open);
    let id = alert.id;

    let open: Vec<Alert> = get_json(&commander, app.url("/api/v1/alerts?state=open")).await;
    assert_eq!(open.len(), 1);
    assert_eq!(open[0].id, id);
    assert_eq!(open[0].occurrences, 2, "one alert for both readings");

    let act = |who: &reqwest::Client, what: &str, body: Value| {
        who.post(app.url(&format!("/api/v1/alerts/{id}/{what}")))
            .json(&body)
            .send()
    };
    // Another community's grid worker, and a viewer, may not act on it.
    let stranger = app.signed_in("demo-grid-xingfuli").await;
    assert_error(
        act(&stranger, "ack", json!({})).await.unwrap(),
        403,
        "forbidden",
    )
    .await;
    assert_error(
        stranger
            .get(app.url(&format!("/api/v1/alerts/{id}")))
            .send()
            .await
            .unwrap(),
        403,
        "forbidden",
    )
    .await;
    let viewer = app.signed_in("demo-viewer").await;
    assert_error(
        act(&viewer, "ack", json!({})).await.unwrap(),
        403,
        "forbidden",
    )
    .await;

    let worker = app.signed_in("demo-grid-wulimiao").await;
    let acked: Alert = act(&worker, "ack", json!({}))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(acked.state, AlertState::Acknowledged);
    assert_eq!(acked.acknowledged.unwrap().by, "user:demo-grid-wulimiao");
    assert_error(
        act(&worker, "ack", json!({})).await.unwrap(),
        409,
        "conflict",
    )
    .await;

    let escalated: Alert = act(
        &commander,
        "escalate",
        json!({"note": "gas utility called"}),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let case_id = escalated.case_id.expect("a linked case");
    let cases: Vec<CaseSummary> = get_json(&commander, app.url("/api/v1/cases")).await;
    let case = cases
        .iter()
        .find(|c| c.id == case_id)
        .expect("the case is listed");
    assert_eq!(
        (case.category, case.source, case.priority),
        (
            CaseCategory::FacilitySafety,
            CaseSource::SensorAlert,
            CasePriority::Urgent
        )
    );
    assert_error(
        act(&commander, "escalate", json!({})).await.unwrap(),
        409,
        "conflict",
    )
    .await;

    // Bad resolutions: unknown outcome, the system's own outcome, an endless note.
    for bad in [
        json!({"outcome": "fine"}),
        json!({"outcome": "cleared"}),
        json!({"outcome": "handled", "note": "x".repeat(2_001)}),
        json!({"outcome": "handled", "extra": 1}),
    ] {
        assert_error(
            act(&worker, "resolve", bad).await.unwrap(),
            422,
            "unprocessable",
        )
        .await;
    }
    let resolved: Alert = act(
        &worker,
        "resolve",
        json!({"outcome": "handled", "note": "valve shut"}),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert_eq!(resolved.state, AlertState::Resolved);
    assert_eq!(resolved.resolved.unwrap().note, "valve shut");
    assert_eq!(resolved.case_id, Some(case_id));
    assert_error(
        act(&worker, "resolve", json!({"outcome": "safe"}))
            .await
            .unwrap(),
        409,
        "conflict",
    )
    .await;
    assert_error(
        commander
            .post(app.url("/api/v1/alerts/999999/ack"))
            .send()
            .await
            .unwrap(),
        404,
        "not_found",
    )
    .await;

    // Each step reached the stream, in order, with who did it.
    let steps = read_events(&mut stream, 4).await;
    let kinds: Vec<&str> = steps.iter().map(|e| e.1.as_str()).collect();
    assert!(kinds.contains(&"case.created"), "{kinds:?}");
    let states: Vec<String> = steps
        .iter()
        .filter(|e| e.1 == "alert.updated")
        .map(|e| e.2["state"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(states, ["acknowledged", "acknowledged", "resolved"]);
    assert!(steps.windows(2).all(|w| w[0].0 < w[1].0), "ids increase");
}

#[tokio::test]
async fn the_stream_resumes_with_exactly_the_missed_events_or_asks_for_a_resync() {
    let app = spawn_app().await;
    let (smoke, token, _) = new_device(&app, Some("zhugang"), SensorKind::Smoke).await;
    let commander = app.signed_in("demo-commander").await;
    let stream_from = |after: Option<i64>| {
        let mut request = commander.get(app.url("/api/v1/stream"));
        if let Some(id) = after {
            request = request.header("last-event-id", id.to_string());
        }
        request.send()
    };
    let mut first = stream_from(None).await.unwrap();
    // Alarm on and off five times: each time raises or updates the one alert.
    let mut seq = 0;
    let mut send = |value: f64| {
        seq += 1;
        let body = json!({"readings": [reading(&smoke, seq, "smoke_alarm", value)]});
        let token = token.clone();
        let app = &app;
        async move { assert_eq!(post(app, &token, &body).await.status(), 202) }
    };
    send(1.0).await;
    let seen = read_events(&mut first, 2).await;
    let last_seen = seen.last().unwrap().0;
    drop(first);
    // While disconnected: the alarm stops, and the alert is acknowledged.
    send(0.0).await;
    let alerts: Vec<Value> = get_json(&commander, app.url("/api/v1/alerts")).await;
    let id = alerts[0]["id"].as_i64().unwrap();
    acknowledge(&commander, &app, id).await;
    let log: Vec<Value> = get_json(
        &commander,
        app.url(&format!("/api/v1/events?after={last_seen}")),
    )
    .await;
    let missed: Vec<i64> = log
        .iter()
        .filter(|e| {
            EventKind::parse(e["kind"].as_str().unwrap()).is_some_and(EventKind::is_streamed)
        })
        .map(|e| e["id"].as_i64().unwrap())
        .collect();
    // The alert marked cleared (a critical one waits for a person), then acknowledged.
    assert_eq!(missed.len(), 2, "{log:?}");
    let mut resumed = stream_from(Some(last_seen)).await.unwrap();
    let again = read_events(&mut resumed, missed.len()).await;
    assert_eq!(again.iter().map(|e| e.0).collect::<Vec<_>>(), missed);
    // And then the new ones, none twice.
    send(1.0).await;
    let next = read_events(&mut resumed, 1).await;
    assert!(next[0].0 > *missed.last().unwrap());

    // Too far behind: more than 10,000 log rows since the id sent.
    let many: Vec<Community> = (0..10_001)
        .map(|i| Community {
            id: CommunityId::parse(format!("filler{i}")).unwrap(),
            name: format!("填充{i}"),
            name_en: format!("Filler {i}"),
            geometry: serde_json::from_value(
                json!({"type": "Point", "coordinates": [117.3, 31.8]}),
            )
            .unwrap(),
        })
        .collect();
    app.store
        .save_communities(&Change::new(Actor::System("test"), now_ms()), &many)
        .await
        .unwrap();
    // Something streamed after them, so that the stream has passed them for sure.
    commander
        .post(app.url(&format!("/api/v1/alerts/{id}/resolve")))
        .json(&json!({"outcome": "false-alarm"}))
        .send()
        .await
        .unwrap();
    assert_eq!(read_events(&mut resumed, 1).await[0].1, "alert.updated");
    let mut behind = stream_from(Some(0)).await.unwrap();
    let told = read_events(&mut behind, 1).await;
    assert_eq!(told[0].1, "resync");
    assert!(told[0].2["last_event_id"].as_i64().unwrap() > 10_001);
    assert_error(stream_from(Some(-1)).await.unwrap(), 400, "bad_request").await;
}

#[tokio::test]
async fn linli_device_add_prints_a_token_the_running_server_accepts() {
    let app = spawn_app().await;
    let home = app.store.homes(None).await.unwrap()[0].id.clone();
    let db = app.database_url.clone();
    let out = crate::support::run_linli(
        &[
            "device",
            "add",
            "--home",
            &home,
            "--kind",
            "gas",
            "--database-url",
            &db,
        ],
        &[],
        "",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let printed = String::from_utf8(out.stdout).unwrap();
    let field = |name: &str| {
        printed
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{name}: ")))
            .unwrap_or_else(|| panic!("no `{name}:` in {printed}"))
            .to_string()
    };
    let (device, token) = (field("device"), field("token"));
    assert!(device.starts_with("gd-"), "{device}");
    let batch = json!({"readings": [reading(&device, 1, "heartbeat", 1.0)]});
    assert_eq!(post(&app, &token, &batch).await.status(), 202);

    let out = crate::support::run_linli(
        &["gateway", "add", "gw-all", "--database-url", &db],
        &[],
        "",
    );
    assert!(out.status.success());
    let gateway_token = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("token: ").map(str::to_string))
        .unwrap();
    let batch = json!({"readings": [reading(&device, 2, "heartbeat", 1.0)]});
    assert_eq!(post(&app, &gateway_token, &batch).await.status(), 202);

    // Refused: a home that does not exist, a kind Linli has no rules for, a second
    // gateway of the same name, a gateway for a community that does not exist.
    let refusals: [(&[&str], &str); 4] = [
        (
            &["device", "add", "--home", "nowhere", "--kind", "gas"],
            "no home `nowhere`",
        ),
        (
            &["device", "add", "--home", &home, "--kind", "radon"],
            "water, gas or smoke",
        ),
        (&["gateway", "add", "gw-all"], "already"),
        (
            &["gateway", "add", "gw-2", "--community", "atlantis"],
            "no community `atlantis`",
        ),
    ];
    for (args, expected) in refusals {
        let mut args = args.to_vec();
        args.extend(["--database-url", &db]);
        let out = crate::support::run_linli(&args, &[], "");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            !out.status.success() && err.contains(expected),
            "{args:?}: {err}"
        );
    }
}

#[tokio::test]
async fn the_simulators_speak_the_real_protocol_and_the_demo_comes_alive() {
    // The external simulator over HTTP, with a gateway it adds for itself.
    let app = spawn_app().await;
    let db = app.database_url.clone();
    let base = app.base.clone();
    let out = tokio::task::spawn_blocking(move || {
        crate::support::run_linli(
            &[
                "simulate",
                "--url",
                &base,
                "--homes",
                "20",
                "--rate",
                "400",
                "--duration",
                "2",
                "--anomaly-every",
                "0.5",
                "--database-url",
                &db,
            ],
            &[],
            "",
        )
    })
    .await
    .unwrap();
    let printed = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(printed.contains(" 0 failed"), "{printed}");
    let stored = stored_readings(&app).await;
    assert!(stored > 300, "{stored} readings stored; {printed}");
    assert!(printed.contains(&format!("{stored} accepted")), "{printed}");
    // Bad settings are refused before anything is sent.
    let out = crate::support::run_linli(&["simulate", "--homes", "2"], &[], "");
    assert!(!out.status.success());
    let out = crate::support::run_linli(
        &[
            "simulate",
            "--url",
            "http://127.0.0.1:9",
            "--rate",
            "0",
            "--database-url",
            &app.database_url,
        ],
        &[],
        "",
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("--rate"));

    // `serve --simulate`: readings flow in without anybody sending them.
    let alive = crate::support::spawn_app_simulating().await;
    eventually(
        "the built-in simulator storing readings",
        WAIT,
        async || (stored_readings(&alive).await > 0).then_some(()),
    )
    .await;
}

/// Devices added one right after the other (by `linli device add` beside the running
/// server) report at once: each unknown id is looked up, not left to a periodic reload.
/// Made-up ids beside them are refused and change nothing.
#[tokio::test]
async fn devices_added_back_to_back_report_at_once() {
    let app = spawn_app().await;
    for n in 0..3 {
        let (device, token, _) = new_device(&app, Some("xingfuli"), SensorKind::Gas).await;
        let body = post_accepted(
            &app,
            &token,
            &json!({"readings": [reading(&device, 1, "heartbeat", 1.0)]}),
        )
        .await;
        assert_eq!(body.accepted, 1, "device {n}: {body:?}");
    }
    let gateway_token = new_token();
    app.store
        .add_gateway(
            &Change::new(Actor::System("test"), now_ms()),
            "gw-made-up",
            &[],
            &token_hash(&gateway_token),
        )
        .await
        .unwrap();
    let made_up: Vec<Value> = (0..500)
        .map(|i| reading(&format!("zz-{i:06}"), 1, "heartbeat", 1.0))
        .collect();
    let response = post(&app, &gateway_token, &json!({"readings": made_up})).await;
    let (_, body) = nothing_accepted(response).await;
    assert_eq!(refused(&body).len(), 500);
}
