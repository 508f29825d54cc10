//! Changes made on a tablet without a network keep the time they were made (issue 16):
//! the outbox sends them later with `Linli-Pressed-At`, and the acknowledgement, the
//! case's step and the task's step are stamped with that time, not with the time the
//! network came back, so that time-to-acknowledge figures stay true. A time after the
//! server's clock counts as now; one before the thing's last change counts from that
//! change, so that its history keeps its order; an unreadable one is refused.

use crate::support::{
    assert_error, case_report, create_case, get_json, raise_gas_alert, spawn_app,
};
use linli_domain::cases::CaseCategory;
use linli_server::clock::{now_ms, rfc3339};
use linli_server::store::parse_rfc3339;
use serde_json::{json, Value};

const PRESSED_AT: &str = "Linli-Pressed-At";

fn at(value: &Value) -> i64 {
    parse_rfc3339(value.as_str().unwrap()).unwrap_or_else(|| panic!("not a time: {value}"))
}

#[tokio::test]
async fn an_acknowledgement_made_offline_keeps_the_time_it_was_pressed() {
    let app = spawn_app().await;
    let worker = app.signed_in("demo-grid-wulimiao").await;
    let (id, _) = raise_gas_alert(&app, "wulimiao").await;
    let alert: Value = get_json(&worker, app.url(&format!("/api/v1/alerts/{id}"))).await;
    let raised = at(&alert["raised_at"]);
    let ack = |pressed: String| {
        worker
            .post(app.url(&format!("/api/v1/alerts/{id}/ack")))
            .header(PRESSED_AT, pressed)
            .send()
    };
    // Unreadable times are refused, and nothing changes.
    for bad in ["yesterday", "2026-13-01T00:00:00Z", "1733040000000", ""] {
        assert_error(ack(bad.into()).await.unwrap(), 400, "bad_request").await;
    }
    let still: Value = get_json(&worker, app.url(&format!("/api/v1/alerts/{id}"))).await;
    assert_eq!(still["state"], "open");

    // Pressed 2 seconds after the alarm, sent 3 seconds later.
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    let pressed = raised + 2_000;
    let acknowledged: Value = ack(rfc3339(pressed)).await.unwrap().json().await.unwrap();
    assert_eq!(acknowledged["state"], "acknowledged", "{acknowledged}");
    assert_eq!(at(&acknowledged["acknowledged"]["at"]), pressed);
    assert!(now_ms() - pressed >= 1_000, "sent later than pressed");
}

#[tokio::test]
async fn a_time_in_the_future_counts_as_now_and_one_before_the_last_change_after_it() {
    let app = spawn_app().await;
    let commander = app.signed_in("demo-commander").await;
    let (id, _) = raise_gas_alert(&app, "wulimiao").await;
    // A tablet whose clock runs an hour fast.
    let before = now_ms();
    let acknowledged: Value = commander
        .post(app.url(&format!("/api/v1/alerts/{id}/ack")))
        .header(PRESSED_AT, rfc3339(now_ms() + 3_600_000))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let stamped = at(&acknowledged["acknowledged"]["at"]);
    assert!(stamped >= before && stamped <= now_ms(), "{acknowledged}");

    // A case: a note written offline an hour ago arrives after a step taken since; it
    // goes after that step on the timeline.
    let report = case_report("楼道堆物", CaseCategory::Environment, [117.33, 31.85]);
    let case_id = create_case(&commander, &app, &report).await.summary.id;
    let step = |body: Value, pressed: Option<i64>| {
        let mut request = commander
            .post(app.url(&format!("/api/v1/cases/{case_id}/events")))
            .json(&body);
        if let Some(pressed) = pressed {
            request = request.header(PRESSED_AT, rfc3339(pressed));
        }
        request.send()
    };
    let advanced: Value = step(json!({"action": "advance", "to": "identified"}), None)
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let advanced_at = at(&advanced["timeline"][1]["at"]);
    let noted: Value = step(
        json!({"action": "note", "note": "三楼楼道，已拍照"}),
        Some(now_ms() - 3_600_000),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let timeline = noted["timeline"].as_array().unwrap();
    assert_eq!(timeline.len(), 3, "{noted}");
    assert_eq!(timeline[2]["step"]["action"], "note");
    assert_eq!(
        at(&timeline[2]["at"]),
        advanced_at,
        "no earlier than the step before it"
    );

    // A case opened offline two hours ago is due from then.
    let opened_offline = now_ms() - 2 * 3_600_000;
    let late: Value = commander
        .post(app.url("/api/v1/cases"))
        .header(PRESSED_AT, rfc3339(opened_offline))
        .json(
            &json!({"title": "路灯不亮", "category": "infrastructure", "source": "patrol",
                      "community": "wulimiao", "position": [117.33, 31.85]}),
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(at(&late["opened_at"]), opened_offline, "{late}");
    assert_eq!(at(&late["timeline"][0]["at"]), opened_offline);
}

#[tokio::test]
async fn a_task_step_and_a_patrol_ended_offline_keep_the_time_they_were_pressed() {
    let app = spawn_app().await;
    let commander = app.signed_in("demo-commander").await;
    let worker = app.signed_in("demo-grid-wulimiao").await;
    let (alert, _) = raise_gas_alert(&app, "wulimiao").await;
    let task: Value = commander
        .post(app.url("/api/v1/dispatches"))
        .json(&json!({"assignee": "demo-grid-wulimiao", "alert_id": alert}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let sent = at(&task["sent_at"]);
    // Accepted a second after it was sent, without a network; synced two seconds later.
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    let pressed = sent + 1_000;
    let accepted: Value = worker
        .post(app.url(&format!("/api/v1/dispatches/{}/events", task["id"])))
        .header(PRESSED_AT, rfc3339(pressed))
        .json(&json!({"action": "accept"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let last = accepted["events"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(last["action"], "accept", "{accepted}");
    assert_eq!(at(&last["at"]), pressed);

    // A run ended offline ends when "end" was pressed, not when it synced, and never
    // before the last position it sent.
    let route = crate::support::community_route(&commander, &app).await;
    let community = crate::support::route_community(&route);
    let walker = app.signed_in(&format!("demo-grid-{community}")).await;
    let unit = |what: &str| app.url(&format!("/api/v1/patrols/units/team-9/{what}"));
    walker
        .post(unit("run"))
        .json(&json!({"route": route.id}))
        .send()
        .await
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    let seen_at = now_ms() - 500;
    walker
        .post(unit("position"))
        .json(&json!({"position": route.checkpoints[0].position, "at": rfc3339(seen_at)}))
        .send()
        .await
        .unwrap();
    let ended: Value = walker
        .delete(unit("run"))
        .header(PRESSED_AT, rfc3339(seen_at - 60_000))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        at(&ended["ended_at"]),
        seen_at,
        "not before its last position: {ended}"
    );
    walker
        .post(unit("run"))
        .json(&json!({"route": route.id}))
        .send()
        .await
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    let pressed = now_ms() - 1_500;
    let ended: Value = walker
        .delete(unit("run"))
        .header(PRESSED_AT, rfc3339(pressed))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(at(&ended["ended_at"]), pressed, "{ended}");
}
