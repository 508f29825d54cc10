//! Drills (应急演练) through the API: a commander makes a home go quiet; the drill's
//! alert is answered like a real one (acknowledged, escalated into a case) while no
//! figure, public page or report counts it, and a real alert of the same kind at the
//! same home is raised beside it. Ending the drill resolves its alert and closes its
//! case. Refused: other roles, unknown homes and scenarios, unknown fields, a second
//! drill of the same kind at the home, ending what is not a drill, and people using
//! the `drill-ended` outcome themselves.

use crate::support::*;
use linli_domain::alerts::{Alert, AlertKind, AlertOutcome, AlertState, Severity};
use linli_domain::api::{EventRecord, PublicStatus};
use linli_domain::care::Home;
use linli_domain::cases::{Case, CaseOutcome, CaseStage, CaseSummary};
use linli_domain::drill::Drill;
use linli_domain::events::EventKind;
use serde_json::{json, Value};

async fn activity(app: &TestApp, who: &reqwest::Client) -> (Value, Value) {
    let stats: Value = get_json(who, app.url("/api/v1/stats")).await;
    (
        stats["alerts_last_7_days"].clone(),
        stats["alerts_per_hour"].clone(),
    )
}

#[tokio::test]
async fn a_drill_is_answered_like_a_real_alert_but_counted_nowhere_and_ends_with_its_case() {
    let app = spawn_app().await;
    let commander = app.signed_in("demo-commander").await;
    let grid = app.signed_in("demo-grid-wulimiao").await;
    let viewer = app.signed_in("demo-viewer").await;
    let homes: Vec<Home> = get_json(&grid, app.url("/api/v1/homes")).await;
    let home = homes[0].id.clone();
    let figures_before = activity(&app, &commander).await;
    let drills = app.url("/api/v1/drills");
    let start = |who: &reqwest::Client, body: Value| who.post(&drills).json(&body).send();

    // Who may start one, and with what.
    for (who, body, status, code) in [
        (
            &grid,
            json!({"home": home, "scenario": "no-water"}),
            403,
            "forbidden",
        ),
        (
            &viewer,
            json!({"home": home, "scenario": "no-water"}),
            403,
            "forbidden",
        ),
        (
            &commander,
            json!({"home": "no-such-home", "scenario": "no-water"}),
            422,
            "unprocessable",
        ),
        (
            &commander,
            json!({"home": home, "scenario": "flood"}),
            422,
            "unprocessable",
        ),
        (&commander, json!({"home": home}), 422, "unprocessable"),
        (
            &commander,
            json!({"home": home, "scenario": "gas", "level": 45}),
            422,
            "unprocessable",
        ),
    ] {
        assert_error(start(who, body).await.unwrap(), status, code).await;
    }
    let listed: Vec<Drill> = get_json(&commander, drills.clone()).await;
    assert!(
        listed.is_empty(),
        "refused drills start nothing: {listed:?}"
    );

    // The home goes quiet: the alert the rule would raise, marked as a drill.
    let response = start(&commander, json!({"home": home, "scenario": "no-water"}))
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let drill: Drill = response.json().await.unwrap();
    let id = drill.id;
    assert_eq!(drill.alert.id, id);
    assert_eq!(drill.alert.kind, AlertKind::NoWaterUse);
    assert_eq!(drill.alert.severity, Severity::Warning);
    assert!(drill.alert.drill);
    assert!(drill.running);
    assert_error(
        start(&commander, json!({"home": home, "scenario": "no-water"}))
            .await
            .unwrap(),
        409,
        "conflict",
    )
    .await;
    // The grid worker sees it among their alerts, and in their snapshot.
    let open: Vec<Alert> = get_json(&grid, app.url("/api/v1/alerts?state=open")).await;
    assert!(open.iter().any(|a| a.id == id && a.drill));
    let events: Vec<EventRecord> = get_json(&commander, app.url("/api/v1/events?limit=1000")).await;
    assert!(events.iter().any(|e| e.kind == EventKind::AlertRaised
        && e.data["id"] == id
        && e.data["drill"] == true));

    // A real leak at another home raises its own alert, and a drill of gas beside it
    // at the same home does not take its place.
    let (real, real_home) = raise_gas_alert(&app, "wulimiao").await;
    let gas_drill: Drill = start(&commander, json!({"home": real_home, "scenario": "gas"}))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_ne!(gas_drill.id, real);
    let open: Vec<Alert> = get_json(&commander, app.url("/api/v1/alerts?state=open")).await;
    let mut at_real_home: Vec<(i64, bool)> = open
        .iter()
        .filter(|a| a.home == real_home && a.kind == AlertKind::Gas)
        .map(|a| (a.id, a.drill))
        .collect();
    at_real_home.sort_unstable();
    assert_eq!(
        at_real_home,
        [(real, false), (gas_drill.id, true)],
        "the real alert and the drill's"
    );

    // Answered like a real one: acknowledged, escalated into a case.
    let act = |what: &str, body: Value| {
        grid.post(app.url(&format!("/api/v1/alerts/{id}/{what}")))
            .json(&body)
            .send()
    };
    assert_eq!(act("ack", json!({})).await.unwrap().status(), 200);
    // Nobody resolves an alert as `drill-ended` by hand.
    assert_error(
        act("resolve", json!({"outcome": "drill-ended"}))
            .await
            .unwrap(),
        409,
        "conflict",
    )
    .await;
    let escalated = act("escalate", json!({"note": "演练：上门未见人"}))
        .await
        .unwrap();
    assert_eq!(escalated.status(), 200);
    let escalated: Alert = escalated.json().await.unwrap();
    let case_id = escalated.case_id.expect("the case it opened");
    let case: CaseSummary = get_json::<Case>(&grid, app.url(&format!("/api/v1/cases/{case_id}")))
        .await
        .summary;
    assert!(case.handling.drill);
    let close_by_hand = grid
        .post(app.url(&format!("/api/v1/cases/{case_id}/events")))
        .json(&json!({"action": "close", "outcome": "drill-ended"}))
        .send()
        .await
        .unwrap();
    assert_error(close_by_hand, 422, "unprocessable").await;

    // Counted nowhere: the office's figures, the public page, Open311.
    assert_eq!(
        activity(&app, &commander).await.0,
        figures_before.0.as_u64().map(|n| json!(n + 1)).unwrap(),
        "the real leak counts, neither drill does"
    );
    let cases: Vec<CaseSummary> = get_json(&commander, app.url("/api/v1/cases")).await;
    let real_open = cases
        .iter()
        .filter(|c| c.stage != CaseStage::Closed && !c.handling.drill)
        .count();
    let public: PublicStatus = reqwest::get(app.url("/api/v1/public/status"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let public_open: u32 = public.communities.iter().map(|c| c.open_cases).sum();
    assert_eq!(public_open as usize, real_open);
    let requests: Vec<Value> = reqwest::get(app.url("/open311/v2/requests.json"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(requests
        .iter()
        .all(|r| r["service_request_id"] != json!(case_id.to_string())));

    // Ending: only commanders, only drills.
    let end = |who: &reqwest::Client, id: i64| {
        who.delete(app.url(&format!("/api/v1/drills/{id}"))).send()
    };
    assert_error(end(&grid, id).await.unwrap(), 403, "forbidden").await;
    assert_error(end(&commander, real).await.unwrap(), 404, "not_found").await;
    assert_error(end(&commander, 999_999).await.unwrap(), 404, "not_found").await;
    let ended: Drill = end(&commander, id).await.unwrap().json().await.unwrap();
    let drill_ended = |drill: &Drill| {
        drill
            .alert
            .resolved
            .as_ref()
            .is_some_and(|r| r.outcome == AlertOutcome::DrillEnded)
    };
    assert!(!ended.running);
    assert_eq!(ended.alert.state, AlertState::Resolved);
    assert!(drill_ended(&ended));
    let case: Case = get_json(&grid, app.url(&format!("/api/v1/cases/{case_id}"))).await;
    assert_eq!(case.summary.stage, CaseStage::Closed);
    assert_eq!(case.summary.outcome, Some(CaseOutcome::DrillEnded));
    let again = end(&commander, id).await.unwrap();
    assert_eq!(again.status(), 200, "ending again changes nothing");
    let again: Drill = again.json().await.unwrap();
    assert_eq!(again.alert.resolved, ended.alert.resolved);

    // A critical drill ends too, and the real leak is still there.
    let ended: Drill = end(&commander, gas_drill.id)
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(drill_ended(&ended));
    let real_alert: Alert = get_json(&commander, app.url(&format!("/api/v1/alerts/{real}"))).await;
    assert_eq!(real_alert.state, AlertState::Open);
    let listed: Vec<Drill> = get_json(&commander, drills.clone()).await;
    assert_eq!(listed.len(), 2);
    assert!(listed.iter().all(|d| !d.running));
    let theirs: Vec<Drill> = get_json(&app.signed_in("demo-grid-xingfuli").await, drills).await;
    assert!(theirs.is_empty(), "another community's drills");
}
