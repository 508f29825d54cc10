//! The case workflow through the API: a grid worker reports a problem, takes it through
//! the article's loop to its close and reopens it when it comes back; every refused step
//! and bad body answers with a reason and changes nothing; the timeline and the stream
//! show each step.

use crate::support::*;
use linli_domain::alerts::{Alert, AlertOutcome, AlertState, EscalationDraft};
use linli_domain::api::EventRecord;
use linli_domain::cases::{
    Case, CaseCategory, CaseOutcome, CasePriority, CaseStage, CaseStep, CaseSummary, NewCase, Party,
};
use linli_domain::events::EventKind;
use linli_domain::ErrorBody;
use serde_json::{json, Value};

fn new_case() -> Value {
    json!({"title": "绿地被开垦成菜地", "description": "3号楼北侧公共绿地被个别居民开垦种菜",
           "category": "environment", "source": "grid-visit", "community": "wulimiao",
           "position": [117.305, 31.845]})
}

#[tokio::test]
async fn a_case_goes_through_the_loop_and_comes_back() {
    let app = spawn_app().await;
    let grid = app.signed_in("demo-grid-wulimiao").await;
    let response = grid
        .post(app.url("/api/v1/cases"))
        .json(&new_case())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let case: Case = response.json().await.unwrap();
    let id = case.summary.id;
    assert_eq!(case.summary.stage, CaseStage::Reported);
    assert_eq!(case.summary.priority, CasePriority::Normal);
    assert!(!case.summary.handling.overdue);
    assert_eq!(case.next_stages, [CaseStage::Identified]);
    assert_eq!(case.timeline.len(), 1);
    assert!(
        matches!(case.timeline[0].step, CaseStep::Report { .. }),
        "the report opens the timeline"
    );
    // Due three days after it was opened (environment, normal priority).
    let due = case.summary.handling.due_at.expect("a due time");
    assert_eq!(
        due.millis() - case.summary.opened_at.millis(),
        72 * 3_600_000
    );

    let step = |body: Value| {
        grid.post(app.url(&format!("/api/v1/cases/{id}/events")))
            .json(&body)
            .send()
    };
    // Not allowed yet: skipping ahead, closing as solved before any handling. Told
    // apart from a change by someone else: `not_allowed`, with where it can go.
    let refused = step(json!({"action": "advance", "to": "consolidating"}))
        .await
        .unwrap();
    assert_eq!(refused.status(), 409);
    let body: ErrorBody = refused.json().await.unwrap();
    assert_eq!(body.error.code, "not_allowed", "{body:?}");
    assert_eq!(body.error.allowed, ["identified"], "{body:?}");
    assert!(body.error.message.contains("it can move to: identified"));
    let refused = step(json!({"action": "close", "outcome": "solved"}))
        .await
        .unwrap();
    assert_error(refused, 409, "not_allowed").await;
    for bad in [
        // A report is the case itself, not a step of it.
        json!({"action": "report", "note": "又一份报告"}),
        json!({"action": "advance", "to": "done"}),
        json!({"action": "fly"}),
        json!({"action": "note", "note": "   "}),
        json!({"action": "note", "note": "x".repeat(4_001)}),
        json!({"action": "assign", "responsible": "the-mayor"}),
    ] {
        assert_error(step(bad.clone()).await.unwrap(), 422, "unprocessable").await;
    }
    let unchanged: Case = get_json(&grid, app.url(&format!("/api/v1/cases/{id}"))).await;
    assert_eq!(unchanged.summary.stage, CaseStage::Reported);
    assert_eq!(unchanged.timeline.len(), 1, "nothing of the refused steps");

    for body in [
        json!({"action": "advance", "to": "identified", "note": "核实：约40平方米"}),
        json!({"action": "assign", "responsible": "community-committee", "cooperating": ["property-management"]}),
        json!({"action": "advance", "to": "negotiating", "note": "入户沟通"}),
        json!({"action": "advance", "to": "joint-handling"}),
        json!({"action": "advance", "to": "consolidating", "note": "补植绿化"}),
        json!({"action": "close", "outcome": "solved-with-follow-up", "note": "每月回访"}),
    ] {
        let response = step(body.clone()).await.unwrap();
        assert_eq!(response.status(), 200, "{body}");
    }
    let closed: Case = get_json(&grid, app.url(&format!("/api/v1/cases/{id}"))).await;
    let summary = &closed.summary;
    assert_eq!(summary.stage, CaseStage::Closed);
    assert_eq!(summary.outcome, Some(CaseOutcome::SolvedWithFollowUp));
    assert_eq!(
        summary.handling.responsible,
        Some(Party::CommunityCommittee)
    );
    assert_eq!(summary.handling.cooperating, [Party::PropertyManagement]);
    assert!(summary.closed_at.is_some_and(|at| at >= summary.opened_at));
    let stages: Vec<CaseStage> = closed.timeline.iter().map(|e| e.stage).collect();
    use CaseStage::*;
    assert_eq!(
        stages,
        [
            Reported,
            Identified,
            Identified,
            Negotiating,
            JointHandling,
            Consolidating,
            Closed
        ]
    );
    assert!(
        closed.timeline.windows(2).all(|e| e[0].at <= e[1].at),
        "the timeline in time order"
    );
    assert_eq!(closed.timeline[1].by, "user:demo-grid-wulimiao");
    assert!(matches!(
        &closed.timeline[1].step,
        CaseStep::Advance { note, .. } if note == "核实：约40平方米"
    ));

    // The plots are back: the case reopens and counts it.
    let closed_again = step(json!({"action": "advance", "to": "identified"}))
        .await
        .unwrap();
    assert_error(closed_again, 409, "conflict").await;
    let not_closed = step(json!({"action": "close", "outcome": "solved"}))
        .await
        .unwrap();
    assert_error(not_closed, 409, "conflict").await;
    let reopened: Case = step(json!({"action": "reopen", "note": "又有人种菜"}))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let summary = &reopened.summary;
    assert_eq!(summary.stage, CaseStage::Identified);
    assert_eq!(summary.handling.reopened, 1);
    assert!(summary.outcome.is_none() && summary.closed_at.is_none());

    // Each change is in the event log the stream follows.
    let commander = app.signed_in("demo-commander").await;
    let events: Vec<EventRecord> = get_json(&commander, app.url("/api/v1/events?limit=1000")).await;
    let updates = events
        .iter()
        .filter(|e| e.kind == EventKind::CaseUpdated && e.data["id"] == id)
        .count();
    assert_eq!(updates, 7);
}

#[tokio::test]
async fn only_the_right_people_open_and_change_cases_and_bad_cases_are_refused() {
    let app = spawn_app().await;
    let grid = app.signed_in("demo-grid-wulimiao").await;
    let create =
        |who: &reqwest::Client, body: Value| who.post(app.url("/api/v1/cases")).json(&body).send();
    let mut bad_cases = Vec::new();
    for (field, value) in [
        ("title", json!("  ")),
        ("title", json!("x".repeat(201))),
        ("category", json!("noise")),
        ("source", json!("rumour")),
        ("priority", json!("whenever")),
        ("position", json!([200.0, 31.8])),
        ("position", json!([117.3])),
        ("community", json!("Not An Id")),
        ("unexpected", json!(1)),
    ] {
        let mut body = new_case();
        body[field] = value;
        bad_cases.push(body);
    }
    let mut no_title = new_case();
    no_title.as_object_mut().unwrap().remove("title");
    bad_cases.push(no_title);
    for body in bad_cases {
        let response = create(&grid, body.clone()).await.unwrap();
        assert_eq!(response.status(), 422, "{body}");
    }
    // A community that does not exist, or not the grid worker's.
    let commander = app.signed_in("demo-commander").await;
    let mut nowhere = new_case();
    nowhere["community"] = json!("nowhere");
    assert_error(
        create(&commander, nowhere).await.unwrap(),
        422,
        "unprocessable",
    )
    .await;
    let other = app.signed_in("demo-grid-xingfuli").await;
    assert_error(create(&other, new_case()).await.unwrap(), 403, "forbidden").await;
    let viewer = app.signed_in("demo-viewer").await;
    assert_error(create(&viewer, new_case()).await.unwrap(), 403, "forbidden").await;
    let before: Vec<CaseSummary> = get_json(&commander, app.url("/api/v1/cases")).await;

    let case: Case = create(&grid, new_case())
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = case.summary.id;
    let after: Vec<CaseSummary> = get_json(&commander, app.url("/api/v1/cases")).await;
    assert_eq!(
        after.len(),
        before.len() + 1,
        "only the good case was stored"
    );
    let step_url = app.url(&format!("/api/v1/cases/{id}/events"));
    let advance = json!({"action": "advance", "to": "identified"});
    for (who, status) in [(&other, 403), (&viewer, 403)] {
        let response = who
            .post(step_url.clone())
            .json(&advance)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), status);
    }
    let response = other
        .get(app.url(&format!("/api/v1/cases/{id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
    let missing = commander
        .post(app.url("/api/v1/cases/999999/events"))
        .json(&advance)
        .send()
        .await
        .unwrap();
    assert_error(missing, 404, "not_found").await;
    let response = commander
        .post(step_url)
        .json(&advance)
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.status(),
        200,
        "a commander acts in every community"
    );
}

#[tokio::test]
async fn a_report_at_the_spot_of_an_open_case_is_offered_for_merging_and_a_solved_spot_that_comes_back_recurs(
) {
    let app = spawn_app().await;
    let grid = app.signed_in("demo-grid-wulimiao").await;
    let (grid, app) = (&grid, &app);
    let create = |case: NewCase| async move { create_case(grid, app, &case).await };
    let step = |id: i64, body: Value| {
        grid.post(app.url(&format!("/api/v1/cases/{id}/events")))
            .json(&body)
            .send()
    };
    let green_space = NewCase {
        description: "3号楼北侧公共绿地被个别居民开垦种菜".into(),
        ..case_report(
            "绿地被开垦成菜地",
            CaseCategory::Environment,
            [117.305, 31.845],
        )
    };
    let first = create(green_space.clone()).await;
    let first_id = first.summary.id;
    assert_eq!(first.possible_duplicates, Vec::<i64>::new());
    assert_eq!(first.summary.handling.recurs, None);
    // About 30 m away, the same kind of problem; and another kind at the same spot.
    let again = NewCase {
        position: [117.3053, 31.845],
        ..green_space.clone()
    };
    let second = create(again.clone()).await;
    let second_id = second.summary.id;
    assert_eq!(second.possible_duplicates, [first_id]);
    let other_kind = NewCase {
        category: CaseCategory::StreetOrder,
        ..green_space.clone()
    };
    assert_eq!(
        create(other_kind).await.possible_duplicates,
        Vec::<i64>::new()
    );
    // The same category at the same spot, but another problem: not offered.
    let other_problem = NewCase {
        title: "垃圾桶满溢无人清运".into(),
        ..green_space
    };
    assert_eq!(
        create(other_problem).await.possible_duplicates,
        Vec::<i64>::new()
    );

    // Merging: only as `duplicate`, only into another open case.
    for (body, status) in [
        (
            json!({"action": "close", "outcome": "solved", "duplicate_of": first_id}),
            422,
        ),
        (
            json!({"action": "close", "outcome": "duplicate", "duplicate_of": second_id}),
            422,
        ),
        (
            json!({"action": "close", "outcome": "duplicate", "duplicate_of": 999_999}),
            422,
        ),
    ] {
        let response = step(second_id, body.clone()).await.unwrap();
        assert_eq!(response.status(), status, "{body}");
    }
    let merged: Case = step(
        second_id,
        json!({"action": "close", "outcome": "duplicate", "duplicate_of": first_id}),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert_eq!(merged.summary.outcome, Some(CaseOutcome::Duplicate));
    let original: Case = get_json(grid, app.url(&format!("/api/v1/cases/{first_id}"))).await;
    let last = original.timeline.last().unwrap();
    assert!(
        matches!(&last.step, CaseStep::Note { note } if note.contains(&format!("case {second_id}"))),
        "{last:?}"
    );

    // The first case is solved; a new report there is a recurrence.
    for body in [
        json!({"action": "advance", "to": "identified"}),
        json!({"action": "advance", "to": "joint-handling"}),
        json!({"action": "close", "outcome": "solved"}),
    ] {
        assert_eq!(step(first_id, body).await.unwrap().status(), 200);
    }
    let back = create(again).await;
    assert_eq!(back.summary.handling.recurs, Some(first_id));
    assert_eq!(
        back.possible_duplicates,
        Vec::<i64>::new(),
        "the spot's cases are closed"
    );
}

#[tokio::test]
async fn closing_the_case_an_alert_was_escalated_into_resolves_the_alert() {
    let app = spawn_app().await;
    let (alert_id, _) = raise_gas_alert(&app, "wulimiao").await;
    let grid = app.signed_in("demo-grid-wulimiao").await;
    let escalated: Alert = grid
        .post(app.url(&format!("/api/v1/alerts/{alert_id}/escalate")))
        .json(&json!({"note": "上门查看"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let case_id = escalated.case_id.expect("the case it opened");
    let case: Case = get_json(&grid, app.url(&format!("/api/v1/cases/{case_id}"))).await;
    assert_eq!(case.summary.handling.alert_id, Some(alert_id));
    assert_eq!(case.summary.category, CaseCategory::FacilitySafety);
    assert_eq!(case.summary.priority, CasePriority::Urgent);
    for body in [
        json!({"action": "advance", "to": "identified"}),
        json!({"action": "advance", "to": "joint-handling", "note": "燃气公司关阀"}),
        json!({"action": "close", "outcome": "solved", "note": "更换软管"}),
    ] {
        let response = grid
            .post(app.url(&format!("/api/v1/cases/{case_id}/events")))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{body}");
    }
    let resolved: Alert = get_json(&grid, app.url(&format!("/api/v1/alerts/{alert_id}"))).await;
    assert_eq!(resolved.state, AlertState::Resolved);
    let resolution = resolved.resolved.expect("how it was resolved");
    assert_eq!(resolution.outcome, AlertOutcome::Handled);
    assert_eq!(resolution.by, "user:demo-grid-wulimiao");
    assert!(resolution
        .note
        .contains(&format!("case {case_id} closed (solved)")));
}

#[tokio::test]
async fn an_alert_escalates_into_a_case_in_chinese_with_the_parties_the_form_chose() {
    let app = spawn_app().await;
    let (id, home) = raise_gas_alert(&app, "wulimiao").await;
    let grid = app.signed_in("demo-grid-wulimiao").await;

    // The draft the form shows: what and where in Chinese, the gas utility responsible.
    let draft: EscalationDraft =
        get_json(&grid, app.url(&format!("/api/v1/alerts/{id}/escalation"))).await;
    let title = draft.title.as_str();
    assert!(title.starts_with("燃气泄漏 · "), "{title}");
    assert!(!title.contains(home.as_str()), "no internal id: {title}");
    assert!(title.contains("单元"), "unit and room: {title}");
    let description = draft.description.as_str();
    assert!(description.contains("45% LEL"), "{description}");
    assert!(
        description.contains(&format!("告警 #{id}")),
        "{description}"
    );
    assert_eq!(draft.responsible, Some(Party::Utilities));
    assert_eq!(draft.priority, CasePriority::Urgent);
    assert_eq!(
        draft.cooperating,
        [Party::PropertyManagement, Party::CommunityCommittee]
    );
    // Another community's alert, and a viewer's escalation, are refused.
    let other = app.signed_in("demo-grid-xingfuli").await;
    let response = other
        .get(app.url(&format!("/api/v1/alerts/{id}/escalation")))
        .send()
        .await
        .unwrap();
    assert_error(response, 403, "forbidden").await;
    let viewer = app.signed_in("demo-viewer").await;
    let response = viewer
        .post(app.url(&format!("/api/v1/alerts/{id}/escalate")))
        .send()
        .await
        .unwrap();
    assert_error(response, 403, "forbidden").await;

    let escalate = |body: Value| {
        grid.post(app.url(&format!("/api/v1/alerts/{id}/escalate")))
            .json(&body)
            .send()
    };
    // Bad forms change nothing: a party twice, the responsible one cooperating too, an
    // empty or endless title, an unknown party or field.
    for (bad, why) in [
        (json!({"cooperating": ["police", "police"]}), "named twice"),
        (
            json!({"responsible": "police", "cooperating": ["police"]}),
            "responsible already",
        ),
        (json!({"title": "   "}), "needs a title"),
        (json!({"title": "长".repeat(201)}), "at most 200"),
        (json!({"description": "长".repeat(4_001)}), "at most 4000"),
        (json!({"responsible": "fire-brigade"}), "fire-brigade"),
        (json!({"urgent": true}), "urgent"),
    ] {
        let message =
            assert_error(escalate(bad.clone()).await.unwrap(), 422, "unprocessable").await;
        assert!(message.contains(why), "{bad}: {message}");
    }
    // Sending someone with it is a commander's.
    assert_error(
        escalate(json!({"dispatch": "demo-grid-wulimiao"}))
            .await
            .unwrap(),
        403,
        "forbidden",
    )
    .await;
    let alert: Alert = get_json(&grid, app.url(&format!("/api/v1/alerts/{id}"))).await;
    assert!(alert.escalated.is_none(), "nothing half-applied");

    // The form as the grid worker left it: police responsible, the title kept.
    let escalated: Alert = escalate(json!({"note": "住户不在家", "responsible": "police"}))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let escalation = escalated.escalated.expect("escalated");
    assert_eq!(escalation.by, "user:demo-grid-wulimiao");
    assert_eq!(escalation.responsible, Some(Party::Police));
    let case_id = escalated.case_id.expect("the case it opened");
    let case: Case = get_json(&grid, app.url(&format!("/api/v1/cases/{case_id}"))).await;
    assert_eq!(case.summary.title, draft.title);
    assert_eq!(case.description, draft.description);
    assert_eq!(case.summary.handling.responsible, Some(Party::Police));
    assert_eq!(case.summary.handling.cooperating, draft.cooperating);
    assert_eq!(case.summary.handling.alert_id, Some(id));
    assert!(matches!(
        &case.timeline[0].step,
        CaseStep::Report { note } if note == "住户不在家"
    ));
    // One case per alert.
    assert_error(escalate(json!({})).await.unwrap(), 409, "conflict").await;
}
