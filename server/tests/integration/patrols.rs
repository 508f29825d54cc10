//! Patrol runs through the API: a grid worker's unit sets out on a demo route, walks
//! past its checkpoints with one detour, and comes back; the run records what it
//! covered and when, and the detour; each position is a `patrol.position` event for the
//! maps. It ends with a checkpoint missed and the team's reason. A problem found on the
//! walk is a case of the run. Bad positions, times, units, reasons, runs and people are
//! refused and change nothing.

use crate::support::*;
use linli_domain::api::{EventRecord, Snapshot};
use linli_domain::cases::{Case, CaseSource, CaseSummary};
use linli_domain::events::EventKind;
use linli_server::clock::{now_ms, rfc3339};
use serde_json::{json, Value};

#[tokio::test]
async fn a_unit_walks_a_route_and_the_server_tracks_its_coverage() {
    let app = spawn_app().await;
    let commander = app.signed_in("demo-commander").await;
    let route = community_route(&commander, &app).await;
    let route_id = route.id.as_str();
    let community = route_community(&route);
    let checkpoints = route.checkpoints.clone();
    assert!(checkpoints.len() >= 2);
    let grid = app.signed_in(&format!("demo-grid-{community}")).await;
    let other = if community == "xingfuli" {
        "demo-grid-wulimiao"
    } else {
        "demo-grid-xingfuli"
    };
    let other = app.signed_in(other).await;
    let viewer = app.signed_in("demo-viewer").await;
    let unit_url = |what: &str| app.url(&format!("/api/v1/patrols/units/team-1/{what}"));
    let post = |who: &reqwest::Client, what: &str, body: Value| {
        who.post(unit_url(what)).json(&body).send()
    };

    // Not out yet: positions are refused.
    let first = checkpoints[0].position;
    assert_error(
        post(&grid, "position", json!({"position": first}))
            .await
            .unwrap(),
        409,
        "conflict",
    )
    .await;
    // Who may start it, and with what.
    assert_error(
        post(&viewer, "run", json!({"route": route_id}))
            .await
            .unwrap(),
        403,
        "forbidden",
    )
    .await;
    assert_error(
        post(&other, "run", json!({"route": route_id}))
            .await
            .unwrap(),
        403,
        "forbidden",
    )
    .await;
    assert_error(
        post(&grid, "run", json!({"route": "no-such-route"}))
            .await
            .unwrap(),
        422,
        "unprocessable",
    )
    .await;
    assert_error(
        post(&grid, "run", json!({"route": route_id, "speed": 3}))
            .await
            .unwrap(),
        422,
        "unprocessable",
    )
    .await;
    let bad_unit = grid
        .post(app.url("/api/v1/patrols/units/Team%201/run"))
        .json(&json!({"route": route_id}))
        .send()
        .await
        .unwrap();
    assert_error(bad_unit, 400, "bad_request").await;

    let started = post(&grid, "run", json!({"route": route_id}))
        .await
        .unwrap();
    assert_eq!(started.status(), 201);
    let run: PatrolRun = started.json().await.unwrap();
    assert!(run.covered.is_empty());
    assert_eq!(run.checkpoints, checkpoints.len());
    assert_eq!(
        (run.unit.as_str(), run.route.as_str()),
        ("team-1", route_id)
    );
    assert_error(
        post(&grid, "run", json!({"route": route_id}))
            .await
            .unwrap(),
        409,
        "conflict",
    )
    .await;

    // Bad positions change nothing.
    for body in [
        json!({"position": [190.0, 31.8]}),
        json!({"position": [117.3]}),
        json!({"position": first, "at": rfc3339(now_ms() + 3_600_000)}),
        json!({"position": first, "at": rfc3339(now_ms() - 2 * 3_600_000)}),
        json!({"position": first, "at": "now"}),
    ] {
        assert_error(
            post(&grid, "position", body.clone()).await.unwrap(),
            422,
            "unprocessable",
        )
        .await;
    }
    for who in [&viewer, &other] {
        assert_error(
            post(who, "position", json!({"position": first}))
                .await
                .unwrap(),
            403,
            "forbidden",
        )
        .await;
    }

    // The walk: every checkpoint but the last, with a detour 300 m north in between.
    let walk: Vec<[f64; 2]> = checkpoints[..checkpoints.len() - 1]
        .iter()
        .map(|c| c.position)
        .collect();
    let mut last = run;
    let mut progress = Vec::new();
    for (i, position) in walk.iter().enumerate() {
        last = post(&grid, "position", json!({"position": position}))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert!(!last.off_route, "at checkpoint {i}");
        progress.push(last.progress.unwrap());
        if i == 0 {
            let detour = [position[0], position[1] + 0.0027];
            let away: PatrolRun = post(&grid, "position", json!({"position": detour}))
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            assert!(away.off_route);
        }
    }
    let covered: Vec<&str> = last.covered.iter().map(|c| c.checkpoint.as_str()).collect();
    let expected: Vec<&str> = checkpoints[..checkpoints.len() - 1]
        .iter()
        .map(|c| c.id.as_str())
        .collect();
    assert_eq!(covered, expected, "each checkpoint passed, once, in order");
    // Checkpoint after checkpoint, further along the route.
    assert!(
        progress.windows(2).all(|p| p[0] < p[1])
            && progress.iter().all(|p| (0.0..=1.0).contains(p)),
        "{progress:?}"
    );
    assert_eq!(last.positions as usize, walk.len() + 1);
    assert_eq!(last.off_route_positions, 1);
    // Every time is the server's, in order.
    assert!(last.covered.windows(2).all(|c| c[0].at <= c[1].at));
    assert!(last.started_at <= last.covered[0].at);
    assert!(last
        .last_seen
        .is_some_and(|seen| seen >= last.covered[0].at));

    let units: Vec<PatrolRun> = get_json(&commander, app.url("/api/v1/patrols/units")).await;
    let ours = units.iter().find(|u| u.unit == "team-1").unwrap();
    assert!(!ours.silent);
    assert!(ours.ended_at.is_none());
    let theirs: Vec<PatrolRun> = get_json(&other, app.url("/api/v1/patrols/units")).await;
    assert!(
        theirs.iter().all(|u| u.unit != "team-1"),
        "another community's patrol"
    );

    let events: Vec<EventRecord> = get_json(&commander, app.url("/api/v1/events?limit=1000")).await;
    let of_team_1 = |e: &&EventRecord| e.data["unit"] == "team-1";
    let positions = events
        .iter()
        .filter(|e| e.kind == EventKind::PatrolPosition)
        .filter(of_team_1)
        .count();
    assert_eq!(
        positions,
        walk.len() + 1,
        "one event per position, none for refused ones"
    );
    // Maps get the whole run with each position, and the run in their snapshot.
    let newest = events
        .iter()
        .rev()
        .find(|e| e.kind == EventKind::PatrolPosition)
        .unwrap();
    assert_eq!(
        serde_json::from_value::<PatrolRun>(newest.data.clone()).unwrap(),
        *ours
    );
    assert!(events
        .iter()
        .filter(of_team_1)
        .any(|e| e.kind == EventKind::PatrolRun));
    let snapshot: Snapshot = get_json(&grid, app.url("/api/v1/snapshot")).await;
    assert_eq!(
        snapshot.units.iter().filter(|u| u.unit == "team-1").count(),
        1
    );
    let theirs: Snapshot = get_json(&other, app.url("/api/v1/snapshot")).await;
    assert!(theirs.units.iter().all(|u| u.unit != "team-1"));

    // Ending with a checkpoint missed: bad reasons are refused and the run stays out.
    let end = || grid.delete(unit_url("run"));
    let too_long = "路".repeat(201);
    for (request, status, code) in [
        (
            end().json(&json!({"missed_reason": too_long})),
            422,
            "unprocessable",
        ),
        (end().json(&json!({"reason": "施工"})), 422, "unprocessable"),
        (
            end().json(&json!({"missed_reason": 5})),
            422,
            "unprocessable",
        ),
        (
            end().body(r#"{"missed_reason": "施工"}"#),
            415,
            "unsupported_media_type",
        ),
        (
            end()
                .header("content-type", "application/json")
                .body("{\"missed"),
            400,
            "bad_request",
        ),
        (
            viewer
                .delete(unit_url("run"))
                .json(&json!({"missed_reason": "x"})),
            403,
            "forbidden",
        ),
    ] {
        assert_error(request.send().await.unwrap(), status, code).await;
    }
    let units: Vec<PatrolRun> = get_json(&commander, app.url("/api/v1/patrols/units")).await;
    let ours = units.iter().find(|u| u.unit == "team-1").unwrap();
    assert!(ours.ended_at.is_none(), "still out after refused ends");
    assert!(ours.missed.is_empty(), "nothing missed while out");

    let ended: PatrolRun = end()
        .json(&json!({"missed_reason": "  道路施工，无法通行 "}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(ended.ended_at.is_some_and(|end| end >= ended.started_at));
    assert_eq!(ended.covered.len(), checkpoints.len() - 1);
    assert_eq!(ended.missed, [checkpoints.last().unwrap().clone()]);
    assert_eq!(ended.missed_reason.as_deref(), Some("道路施工，无法通行"));
    let units: Vec<PatrolRun> = get_json(&commander, app.url("/api/v1/patrols/units")).await;
    let ours = units.iter().find(|u| u.unit == "team-1").unwrap();
    assert_eq!(
        *ours, ended,
        "the command screen sees what was missed and why"
    );
    let again = grid.delete(unit_url("run")).send().await.unwrap();
    assert_error(again, 409, "conflict").await;
}

#[tokio::test]
async fn a_unit_unheard_for_five_minutes_is_silent_and_a_late_position_does_not_move_it_back() {
    let app = spawn_app().await;
    let commander = app.signed_in("demo-commander").await;
    let routes: RouteLayer = get_json(&commander, app.url("/api/v1/patrols/routes")).await;
    let route = &routes.features[0].properties;
    let checkpoints = &route.checkpoints;
    let unit_url = |what: &str| app.url(&format!("/api/v1/patrols/units/team-2/{what}"));
    let post = |what: &str, body: Value| commander.post(unit_url(what)).json(&body).send();
    let unit = |units: Vec<PatrolRun>| units.into_iter().find(|u| u.unit == "team-2").unwrap();
    assert_eq!(
        post("run", json!({"route": route.id}))
            .await
            .unwrap()
            .status(),
        201
    );
    let units = get_json(&commander, app.url("/api/v1/patrols/units")).await;
    assert!(!unit(units).silent, "just set out");

    // Its newest position is six minutes old: silent.
    let six_minutes_ago = rfc3339(now_ms() - 6 * 60_000);
    let moved = post(
        "position",
        json!({"position": checkpoints[1].position, "at": six_minutes_ago}),
    )
    .await
    .unwrap();
    assert_eq!(moved.status(), 200);
    let units = get_json(&commander, app.url("/api/v1/patrols/units")).await;
    let silent = unit(units);
    assert!(silent.silent);
    assert_eq!(silent.position, Some(checkpoints[1].position));

    // A position older still (sent late from a tablet that was offline) covers its
    // checkpoint, in time order, but the unit stays where it was last seen.
    let ten_minutes_ago = rfc3339(now_ms() - 10 * 60_000);
    let late: PatrolRun = post(
        "position",
        json!({"position": checkpoints[0].position, "at": ten_minutes_ago}),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert_eq!(late.position, Some(checkpoints[1].position));
    assert_eq!(late.last_seen, silent.last_seen);
    assert_eq!(late.positions, 2);
    let covered: Vec<&str> = late.covered.iter().map(|c| c.checkpoint.as_str()).collect();
    assert_eq!(covered, [&checkpoints[0].id, &checkpoints[1].id]);
    assert!(
        late.covered[0].at < late.covered[1].at,
        "in time order: the late position was the earlier"
    );

    // A fresh position: heard again.
    let fresh: PatrolRun = post("position", json!({"position": checkpoints[1].position}))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(!fresh.silent);
}

#[tokio::test]
async fn a_problem_found_on_a_run_is_a_case_of_that_run() {
    let app = spawn_app().await;
    let commander = app.signed_in("demo-commander").await;
    let route = community_route(&commander, &app).await;
    let community = route_community(&route);
    let grid = app.signed_in(&format!("demo-grid-{community}")).await;
    let other_community = if community == "xingfuli" {
        "wulimiao"
    } else {
        "xingfuli"
    };
    let other = app.signed_in(&format!("demo-grid-{other_community}")).await;
    let run: PatrolRun = grid
        .post(app.url("/api/v1/patrols/units/team-3/run"))
        .json(&json!({"route": route.id}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let run_id = run.id;
    let spot = route.checkpoints[0].position;
    let report = |community: &str, source: &str, run: Value| {
        json!({"title": "共享单车堵住骑手停车点", "category": "street-order", "source": source,
               "community": community, "position": spot, "patrol_run": run})
    };
    let cases_before: Vec<CaseSummary> = get_json(&commander, app.url("/api/v1/cases")).await;

    // A run that is not there, a source that says otherwise, another community's run,
    // a run id that is not a number: refused, and no case is opened.
    for (who, body, status, code) in [
        (
            &grid,
            report(&community, "patrol", json!(999_999)),
            422,
            "unprocessable",
        ),
        (
            &grid,
            report(&community, "grid-visit", json!(run_id)),
            422,
            "unprocessable",
        ),
        (
            &other,
            report(other_community, "patrol", json!(run_id)),
            403,
            "forbidden",
        ),
        (
            &grid,
            report(&community, "patrol", json!("run-1")),
            422,
            "unprocessable",
        ),
    ] {
        let response = who
            .post(app.url("/api/v1/cases"))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_error(response, status, code).await;
    }
    let cases_after: Vec<CaseSummary> = get_json(&commander, app.url("/api/v1/cases")).await;
    assert_eq!(
        cases_after.len(),
        cases_before.len(),
        "nothing half-applied"
    );

    let response = grid
        .post(app.url("/api/v1/cases"))
        .json(&report(&community, "patrol", json!(run_id)))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let case: Case = response.json().await.unwrap();
    assert_eq!(case.summary.source, CaseSource::Patrol);
    assert_eq!(case.summary.handling.patrol_run, Some(run_id));
    assert_eq!(case.summary.position, spot);
    let listed: Vec<CaseSummary> = get_json(&commander, app.url("/api/v1/cases")).await;
    let listed = listed.iter().find(|c| c.id == case.summary.id).unwrap();
    assert_eq!(
        listed.handling.patrol_run,
        Some(run_id),
        "the list keeps the link"
    );
}
