//! Changes made on a tablet without a network keep the time they were made (issue 16):
//! the outbox sends them later with `Linli-Pressed-At`, and the acknowledgement, the
//! case's step and the task's step are stamped with that time, not with the time the
//! network came back, so that time-to-acknowledge figures stay true. A time after the
//! server's clock counts as now; one before the thing's last change counts from that
//! change, so that its history keeps its order; an unreadable one is refused.

use crate::support::{
    assert_error, case_report, create_case, get_json, raise_gas_alert, spawn_app, PatrolRun,
};
use linli_domain::alerts::{Alert, AlertState};
use linli_domain::cases::{Case, CaseCategory, CaseStep};
use linli_domain::dispatch::{Dispatch, DispatchAction};
use linli_server::clock::{now_ms, rfc3339};
use serde_json::{json, Value};

const PRESSED_AT: &str = "Linli-Pressed-At";

#[tokio::test]
async fn an_acknowledgement_made_offline_keeps_the_time_it_was_pressed() {
    let app = spawn_app().await;
    let worker = app.signed_in("demo-grid-wulimiao").await;
    let (id, _) = raise_gas_alert(&app, "wulimiao").await;
    let alert: Alert = get_json(&worker, app.url(&format!("/api/v1/alerts/{id}"))).await;
    let raised = alert.raised_at.millis();
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
    let still: Alert = get_json(&worker, app.url(&format!("/api/v1/alerts/{id}"))).await;
    assert_eq!(still.state, AlertState::Open);

    // Pressed 2 seconds after the alarm, sent 3 seconds later.
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    let pressed = raised + 2_000;
    let acknowledged: Alert = ack(rfc3339(pressed)).await.unwrap().json().await.unwrap();
    assert_eq!(acknowledged.state, AlertState::Acknowledged);
    assert_eq!(
        acknowledged.acknowledged.map(|stamp| stamp.at.millis()),
        Some(pressed)
    );
    assert!(now_ms() - pressed >= 1_000, "sent later than pressed");
}

#[tokio::test]
async fn a_time_in_the_future_counts_as_now_and_one_before_the_last_change_after_it() {
    let app = spawn_app().await;
    let commander = app.signed_in("demo-commander").await;
    let (id, _) = raise_gas_alert(&app, "wulimiao").await;
    // A tablet whose clock runs an hour fast.
    let before = now_ms();
    let acknowledged: Alert = commander
        .post(app.url(&format!("/api/v1/alerts/{id}/ack")))
        .header(PRESSED_AT, rfc3339(now_ms() + 3_600_000))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let stamped = acknowledged.acknowledged.expect("acknowledged").at.millis();
    assert!(stamped >= before && stamped <= now_ms(), "{stamped}");

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
    let advanced: Case = step(json!({"action": "advance", "to": "identified"}), None)
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let advanced_at = advanced.timeline[1].at;
    let noted: Case = step(
        json!({"action": "note", "note": "三楼楼道，已拍照"}),
        Some(now_ms() - 3_600_000),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let timeline = &noted.timeline;
    assert_eq!(timeline.len(), 3, "{timeline:?}");
    assert!(matches!(timeline[2].step, CaseStep::Note { .. }));
    assert_eq!(
        timeline[2].at, advanced_at,
        "no earlier than the step before it"
    );

    // A case opened offline two hours ago is due from then.
    let opened_offline = now_ms() - 2 * 3_600_000;
    let late: Case = commander
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
    assert_eq!(late.summary.opened_at.millis(), opened_offline);
    assert_eq!(late.timeline[0].at.millis(), opened_offline);
}

#[tokio::test]
async fn a_task_step_and_a_patrol_ended_offline_keep_the_time_they_were_pressed() {
    let app = spawn_app().await;
    let commander = app.signed_in("demo-commander").await;
    let worker = app.signed_in("demo-grid-wulimiao").await;
    let (alert, _) = raise_gas_alert(&app, "wulimiao").await;
    let task: Dispatch = commander
        .post(app.url("/api/v1/dispatches"))
        .json(&json!({"assignee": "demo-grid-wulimiao", "alert_id": alert}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let sent = task.sent_at.millis();
    // Accepted a second after it was sent, without a network; synced two seconds later.
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    let pressed = sent + 1_000;
    let accepted: Dispatch = worker
        .post(app.url(&format!("/api/v1/dispatches/{}/events", task.id)))
        .header(PRESSED_AT, rfc3339(pressed))
        .json(&json!({"action": "accept"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let last = accepted.events.last().unwrap();
    assert_eq!(last.action, DispatchAction::Accept, "{accepted:?}");
    assert_eq!(last.at.millis(), pressed);

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
    let ended: PatrolRun = walker
        .delete(unit("run"))
        .header(PRESSED_AT, rfc3339(seen_at - 60_000))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        ended.ended_at.map(|at| at.millis()),
        Some(seen_at),
        "not before its last position"
    );
    walker
        .post(unit("run"))
        .json(&json!({"route": route.id}))
        .send()
        .await
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    let pressed = now_ms() - 1_500;
    let ended: PatrolRun = walker
        .delete(unit("run"))
        .header(PRESSED_AT, rfc3339(pressed))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(ended.ended_at.map(|at| at.millis()), Some(pressed));
}
