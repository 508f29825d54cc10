//! Dispatch through the API: the commander is offered the free patrol units nearest to
//! a gas alarm, sends one, and the grid worker walking with it accepts, arrives and
//! finishes; a person is sent to a case; the escalation form sends someone with the new
//! case; every bad request is refused and changes nothing, and only the one sent acts.

use crate::support::*;
use linli_domain::alerts::Alert;
use linli_domain::api::EventRecord;
use linli_domain::dispatch::{Candidate, Dispatch, DispatchAction, DispatchState};
use linli_domain::events::EventKind;
use serde_json::{json, Value};

/// Sets `unit` out on `route` as `client` and reports it at `position`.
async fn out_at(
    client: &reqwest::Client,
    app: &TestApp,
    unit: &str,
    route: &str,
    position: [f64; 2],
) {
    let started = client
        .post(app.url(&format!("/api/v1/patrols/units/{unit}/run")))
        .json(&json!({"route": route}))
        .send()
        .await
        .unwrap();
    assert_eq!(started.status(), 201);
    let moved = client
        .post(app.url(&format!("/api/v1/patrols/units/{unit}/position")))
        .json(&json!({"position": position}))
        .send()
        .await
        .unwrap();
    assert_eq!(moved.status(), 200);
}

async fn post(
    client: &reqwest::Client,
    app: &TestApp,
    path: &str,
    body: Value,
) -> reqwest::Response {
    client.post(app.url(path)).json(&body).send().await.unwrap()
}

#[tokio::test]
async fn the_nearest_free_unit_is_sent_and_says_how_far_it_got() {
    let app = spawn_app().await;
    let commander = app.signed_in("demo-commander").await;
    // A community with a route of its own, its grid worker, and another community.
    let route = community_route(&commander, &app).await;
    let community = route_community(&route);
    let elsewhere = if community == "xingfuli" {
        "wulimiao"
    } else {
        "xingfuli"
    };
    let route = route.id;
    let worker = app.signed_in(&format!("demo-grid-{community}")).await;
    let (alert, _) = raise_gas_alert(&app, &community).await;
    let at: Alert = get_json(&commander, app.url(&format!("/api/v1/alerts/{alert}"))).await;
    let spot = at.position;
    out_at(
        &worker,
        &app,
        "team-far",
        &route,
        [spot[0] + 0.004, spot[1]],
    )
    .await;
    out_at(
        &worker,
        &app,
        "team-near",
        &route,
        [spot[0] + 0.0005, spot[1]],
    )
    .await;

    let candidates: Vec<Candidate> = get_json(
        &commander,
        app.url(&format!("/api/v1/dispatches/candidates?alert_id={alert}")),
    )
    .await;
    let order: Vec<&str> = candidates.iter().map(|c| c.assignee.as_str()).collect();
    assert_eq!(order, ["unit:team-near", "unit:team-far"]);
    let near = candidates[0].distance_m.expect("a distance");
    assert!((30.0..70.0).contains(&near), "{near} m");

    // Bad requests: nothing is sent.
    for (body, status, code) in [
        (json!({"assignee": "unit:team-near"}), 422, "unprocessable"),
        (
            json!({"assignee": "unit:team-near", "alert_id": alert, "case_id": 1}),
            422,
            "unprocessable",
        ),
        (
            json!({"assignee": "unit:ghost", "alert_id": alert}),
            422,
            "unprocessable",
        ),
        (
            json!({"assignee": format!("demo-grid-{elsewhere}"), "alert_id": alert}),
            422,
            "unprocessable",
        ),
        (
            json!({"assignee": "demo-viewer", "alert_id": alert}),
            422,
            "unprocessable",
        ),
        (
            json!({"assignee": "demo-partner-utilities", "alert_id": alert}),
            422,
            "unprocessable",
        ),
        (
            json!({"assignee": "Bad Name", "alert_id": alert}),
            422,
            "unprocessable",
        ),
        (
            json!({"assignee": "unit:team-near", "alert_id": 999_999}),
            422,
            "unprocessable",
        ),
        (
            json!({"assignee": "unit:team-near", "alert_id": alert, "note": "长".repeat(2_001)}),
            422,
            "unprocessable",
        ),
        (
            json!({"assignee": "unit:team-near", "alert_id": alert, "urgent": true}),
            422,
            "unprocessable",
        ),
        (
            json!({"assignee": 7, "alert_id": alert}),
            422,
            "unprocessable",
        ),
    ] {
        let response = post(&commander, &app, "/api/v1/dispatches", body.clone()).await;
        let message = assert_error(response, status, code).await;
        assert!(!message.is_empty(), "{body}");
    }
    let refused = post(
        &worker,
        &app,
        "/api/v1/dispatches",
        json!({"assignee": "unit:team-near", "alert_id": alert}),
    )
    .await;
    assert_error(refused, 403, "forbidden").await;
    let none: Vec<Dispatch> = get_json(&commander, app.url("/api/v1/dispatches")).await;
    assert!(none.is_empty(), "{none:?}");

    let sent = post(
        &commander,
        &app,
        "/api/v1/dispatches",
        json!({"assignee": "unit:team-near", "alert_id": alert, "note": "先关总阀"}),
    )
    .await;
    assert_eq!(sent.status(), 201);
    let task: Dispatch = sent.json().await.unwrap();
    let id = task.id;
    assert_eq!(task.state, DispatchState::Sent);
    assert_eq!(task.community.as_str(), community.as_str());
    assert!(task.title.starts_with("燃气泄漏 · "), "{task:?}");
    assert_eq!(task.sent_by, "user:demo-commander");
    assert_eq!(
        (task.alert_id, task.note.as_str()),
        (Some(alert), "先关总阀")
    );
    // It is busy now: the other unit is offered first.
    let candidates: Vec<Candidate> = get_json(
        &commander,
        app.url(&format!("/api/v1/dispatches/candidates?alert_id={alert}")),
    )
    .await;
    assert_eq!(candidates[0].assignee, "unit:team-far");
    assert!(candidates[1].busy);

    // Seen by the community's grid worker, not by another's; acted on only by the
    // unit's community.
    let listed: Vec<Dispatch> = get_json(&worker, app.url("/api/v1/dispatches")).await;
    assert_eq!(listed.len(), 1);
    let other = app.signed_in(&format!("demo-grid-{elsewhere}")).await;
    let theirs: Vec<Dispatch> = get_json(&other, app.url("/api/v1/dispatches")).await;
    assert!(theirs.is_empty());
    let step_path = format!("/api/v1/dispatches/{id}/events");
    assert_error(
        post(&other, &app, &step_path, json!({"action": "accept"})).await,
        403,
        "forbidden",
    )
    .await;
    let viewer = app.signed_in("demo-viewer").await;
    assert_error(
        post(&viewer, &app, &step_path, json!({"action": "accept"})).await,
        403,
        "forbidden",
    )
    .await;
    for (bad, status) in [
        (json!({"action": "fly"}), 422),
        (json!({"action": "accept", "note": "长".repeat(2_001)}), 422),
        (json!({"action": "done"}), 409),
    ] {
        let response = post(&worker, &app, &step_path, bad.clone()).await;
        assert_eq!(response.status(), status, "{bad}");
    }
    assert_error(
        post(
            &worker,
            &app,
            "/api/v1/dispatches/999999/events",
            json!({"action": "accept"}),
        )
        .await,
        404,
        "not_found",
    )
    .await;

    for action in ["accept", "arrive", "done"] {
        let response = post(
            &worker,
            &app,
            &step_path,
            json!({"action": action, "note": action}),
        )
        .await;
        assert_eq!(response.status(), 200, "{action}");
    }
    let over = post(&worker, &app, &step_path, json!({"action": "decline"})).await;
    let message = assert_error(over, 409, "conflict").await;
    assert!(message.contains("it is over"), "{message}");
    let done: Vec<Dispatch> = get_json(&commander, app.url("/api/v1/dispatches?open=false")).await;
    assert_eq!(done[0].state, DispatchState::Done);
    let steps: Vec<DispatchAction> = done[0].events.iter().map(|e| e.action).collect();
    use DispatchAction::*;
    assert_eq!(steps, [Accept, Arrive, Done]);
    assert_eq!(done[0].events[0].by, format!("user:demo-grid-{community}"));
    assert!(
        done[0].events.windows(2).all(|e| e[0].at <= e[1].at)
            && done[0].sent_at <= done[0].events[0].at,
        "steps in time order"
    );
    let open: Vec<Dispatch> = get_json(&commander, app.url("/api/v1/dispatches")).await;
    assert!(open.is_empty(), "done is not open");

    // The log has each change, with the task as it then stood.
    let events: Vec<EventRecord> = get_json(&commander, app.url("/api/v1/events?limit=1000")).await;
    let kinds: Vec<EventKind> = events
        .iter()
        .filter(|e| e.data["id"] == id && e.kind.as_str().starts_with("dispatch."))
        .map(|e| e.kind)
        .collect();
    use EventKind::{DispatchCreated, DispatchUpdated};
    assert_eq!(
        kinds,
        [
            DispatchCreated,
            DispatchUpdated,
            DispatchUpdated,
            DispatchUpdated
        ]
    );
}

#[tokio::test]
async fn a_person_is_sent_to_a_case_and_only_they_act() {
    let app = spawn_app().await;
    let commander = app.signed_in("demo-commander").await;
    app.add_user(
        "li-ming",
        "a-long-password",
        linli_domain::Role::GridWorker,
        &["wulimiao"],
    )
    .await;
    let colleague = app.browser();
    app.sign_in(&colleague, "li-ming", "a-long-password").await;
    let case: Value = post(
        &commander,
        &app,
        "/api/v1/cases",
        json!({"title": "楼道堆物", "category": "environment", "source": "hotline",
               "community": "wulimiao", "position": [117.305, 31.845]}),
    )
    .await
    .json()
    .await
    .unwrap();
    let case = case["id"].as_i64().unwrap();
    let task: Value = post(
        &commander,
        &app,
        "/api/v1/dispatches",
        json!({"assignee": "demo-grid-wulimiao", "case_id": case}),
    )
    .await
    .json()
    .await
    .unwrap();
    let path = format!("/api/v1/dispatches/{}/events", task["id"]);
    assert_eq!(task["title"], "楼道堆物");
    assert_error(
        post(&colleague, &app, &path, json!({"action": "accept"})).await,
        403,
        "forbidden",
    )
    .await;
    let worker = app.signed_in("demo-grid-wulimiao").await;
    let declined = post(
        &worker,
        &app,
        &path,
        json!({"action": "decline", "note": "在处理燃气报警"}),
    )
    .await;
    assert_eq!(declined.status(), 200);

    // A closed case takes nobody.
    for body in [json!({"action": "close", "outcome": "not-solvable"})] {
        assert_eq!(
            post(
                &commander,
                &app,
                &format!("/api/v1/cases/{case}/events"),
                body
            )
            .await
            .status(),
            200
        );
    }
    let closed = post(
        &commander,
        &app,
        "/api/v1/dispatches",
        json!({"assignee": "demo-grid-wulimiao", "case_id": case}),
    )
    .await;
    assert_error(closed, 409, "conflict").await;
}

#[tokio::test]
async fn the_escalation_form_sends_someone_with_the_new_case() {
    let app = spawn_app().await;
    let commander = app.signed_in("demo-commander").await;
    let (alert, _) = raise_gas_alert(&app, "wulimiao").await;
    let path = format!("/api/v1/alerts/{alert}/escalate");
    // Someone who cannot go: nothing escalated, nothing sent.
    let refused = post(
        &commander,
        &app,
        &path,
        json!({"dispatch": "demo-grid-xingfuli"}),
    )
    .await;
    assert_error(refused, 422, "unprocessable").await;
    let unchanged: Value = get_json(&commander, app.url(&format!("/api/v1/alerts/{alert}"))).await;
    assert_eq!(unchanged["case_id"], Value::Null);
    let escalated: Value = post(
        &commander,
        &app,
        &path,
        json!({"dispatch": "demo-grid-wulimiao"}),
    )
    .await
    .json()
    .await
    .unwrap();
    let case = escalated["case_id"].as_i64().unwrap();
    let tasks: Vec<Value> = get_json(&commander, app.url("/api/v1/dispatches")).await;
    assert_eq!(tasks.len(), 1);
    assert_eq!(tasks[0]["case_id"], case);
    assert_eq!(tasks[0]["assignee"], "demo-grid-wulimiao");
}
