//! The office's thresholds for the rules (district and per home) and the morning
//! check-in, through the API of a running server: who may change what, bad input of
//! every kind refused with nothing applied, and a home's own check-in time raising a
//! missed check-in alert that a recorded check-in clears.

mod support;

use linli_server::clock::{now_ms, rfc3339};
use serde_json::{json, Value};
use std::time::{Duration, Instant};
use support::*;

/// A demo home of `community`.
async fn home_in(app: &TestApp, community: &str) -> String {
    let commander = app.signed_in("demo-commander").await;
    let homes: Vec<Value> = get_json(&commander, app.url("/api/v1/homes")).await;
    homes
        .iter()
        .find(|h| h["community"] == community)
        .and_then(|h| h["id"].as_str())
        .expect("a demo home")
        .to_string()
}

async fn put(client: &reqwest::Client, url: String, body: &str) -> reqwest::Response {
    client
        .put(url)
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn thresholds_are_changed_by_the_right_people_and_only_to_sensible_values() {
    let app = spawn_app().await;
    let home = home_in(&app, "wulimiao").await;
    let commander = app.signed_in("demo-commander").await;
    let grid = app.signed_in("demo-grid-wulimiao").await;
    let other_grid = app.signed_in("demo-grid-xingfuli").await;
    let viewer = app.signed_in("demo-viewer").await;
    let district_url = app.url("/api/v1/thresholds");
    let home_url = app.url(&format!("/api/v1/homes/{home}/thresholds"));

    let district: Value = get_json(&viewer, district_url.clone()).await;
    assert_eq!(district["overrides"], json!({}));
    assert_eq!(district["effective"]["gas_alarm_pct"], 20.0);

    // Bad input: refused with a reason, and nothing changes.
    for (body, status) in [
        (r#"{"no_such_threshold": 1}"#, 422),
        (r#"{"gas_alarm_pct": 5}"#, 422),
        (r#"{"offline_after_ms": "soon"}"#, 422),
        (r#"{"check_in_by_minute": 1440}"#, 422),
        (r#"[1, 2]"#, 422),
        (r#"{"gas_alarm_pct": "#, 400),
    ] {
        let response = put(&commander, district_url.clone(), body).await;
        assert_eq!(response.status(), status, "{body}");
    }
    for who in [&grid, &viewer] {
        let response = put(who, district_url.clone(), r#"{"gas_alarm_pct": 15}"#).await;
        assert_error(response, 403, "forbidden").await;
    }
    let unchanged: Value = get_json(&commander, district_url.clone()).await;
    assert_eq!(unchanged, district, "nothing of the refused changes");

    // The commander lowers the gas alarm for the district; a home inherits it.
    let changed: Value = put(&commander, district_url.clone(), r#"{"gas_alarm_pct": 15}"#)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(changed["overrides"], json!({"gas_alarm_pct": 15.0}));
    assert_eq!(changed["effective"]["gas_alarm_pct"], 15.0);
    let of_home: Value = get_json(&grid, home_url.clone()).await;
    assert_eq!(of_home["home"], home.as_str());
    assert_eq!(of_home["overrides"], json!({}));
    assert_eq!(of_home["effective"]["gas_alarm_pct"], 15.0);

    // The home's grid worker changes the home; others may not.
    assert_error(
        put(
            &other_grid,
            home_url.clone(),
            r#"{"check_in_by_minute": 660}"#,
        )
        .await,
        403,
        "forbidden",
    )
    .await;
    assert_error(
        put(&viewer, home_url.clone(), r#"{"check_in_by_minute": 660}"#).await,
        403,
        "forbidden",
    )
    .await;
    let response = put(
        &grid,
        app.url("/api/v1/homes/no-such-home/thresholds"),
        "{}",
    )
    .await;
    assert_error(response, 404, "not_found").await;
    // Below the district's clear level: makes no sense for this home.
    let response = put(&grid, home_url.clone(), r#"{"gas_alarm_pct": 8}"#).await;
    assert_error(response, 422, "unprocessable").await;
    let mine: Value = put(&grid, home_url.clone(), r#"{"check_in_by_minute": 660}"#)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(mine["effective"]["check_in_by_minute"], 660);
    assert_eq!(
        mine["effective"]["gas_alarm_pct"], 15.0,
        "still the district's"
    );

    // A district change that would make the home's own thresholds senseless: refused.
    let response = put(
        &commander,
        district_url.clone(),
        r#"{"gas_alarm_pct": 15, "check_in_by_minute": 2000}"#,
    )
    .await;
    assert_error(response, 422, "unprocessable").await;
    let response = put(
        &commander,
        district_url.clone(),
        r#"{"gas_clear_pct": 12, "gas_alarm_pct": 13}"#,
    )
    .await;
    assert_eq!(response.status(), 200);
    let after: Value = get_json(&grid, home_url).await;
    assert_eq!(after["effective"]["gas_alarm_pct"], 13.0);
    assert_eq!(after["effective"]["check_in_by_minute"], 660);
}

/// Waits for the home's open alert of `kind`, or its absence (`open` false).
async fn wait_for_alert(app: &TestApp, home: &str, kind: &str, open: bool) -> Option<Value> {
    let commander = app.signed_in("demo-commander").await;
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let alerts: Vec<Value> = get_json(&commander, app.url("/api/v1/alerts?state=open")).await;
        let found = alerts
            .into_iter()
            .find(|a| a["home"] == home && a["kind"] == kind);
        if found.is_some() == open || Instant::now() > deadline {
            return found;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn a_home_without_its_morning_check_in_is_raised_and_a_check_in_clears_it() {
    let app = spawn_app().await;
    let home = home_in(&app, "wulimiao").await;
    let grid = app.signed_in("demo-grid-wulimiao").await;
    // This home's check-in is due from midnight: it is missed as soon as the rules
    // look (every 5 s).
    let response = put(
        &grid,
        app.url(&format!("/api/v1/homes/{home}/thresholds")),
        r#"{"check_in_required": true, "check_in_by_minute": 0}"#,
    )
    .await;
    assert_eq!(response.status(), 200);
    let alert = wait_for_alert(&app, &home, "missed-check-in", true)
        .await
        .expect("a missed check-in alert");
    assert_eq!(alert["severity"], "warning");

    let url = app.url(&format!("/api/v1/homes/{home}/check-ins"));
    let post = |who: &reqwest::Client, body: Value| who.post(url.clone()).json(&body).send();
    // Bad check-ins, and people who may not record one.
    let now = now_ms();
    for body in [
        json!({"at": rfc3339(now + 3_600_000)}),
        json!({"at": rfc3339(now - 2 * 86_400_000)}),
        json!({"at": "this morning"}),
        json!({"note": "x".repeat(2_001)}),
        json!({"when": "now"}),
    ] {
        assert_error(
            post(&grid, body.clone()).await.unwrap(),
            422,
            "unprocessable",
        )
        .await;
    }
    for who in ["demo-viewer", "demo-grid-xingfuli"] {
        let client = app.signed_in(who).await;
        assert_error(post(&client, json!({})).await.unwrap(), 403, "forbidden").await;
    }
    let nowhere = grid
        .post(app.url("/api/v1/homes/no-such-home/check-ins"))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_error(nowhere, 404, "not_found").await;
    assert!(
        wait_for_alert(&app, &home, "missed-check-in", true)
            .await
            .is_some(),
        "refused check-ins change nothing"
    );

    let response = post(&grid, json!({"note": "王阿姨在家，一切安好"}))
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let recorded: Value = response.json().await.unwrap();
    assert_eq!(recorded["home"], home.as_str());
    assert_eq!(recorded["by"], "demo-grid-wulimiao");
    assert_eq!(recorded["note"], "王阿姨在家，一切安好");
    assert!(
        wait_for_alert(&app, &home, "missed-check-in", false)
            .await
            .is_none(),
        "the check-in cleared the alert"
    );
    let resolved: Value =
        get_json(&grid, app.url(&format!("/api/v1/alerts/{}", alert["id"]))).await;
    assert_eq!(resolved["state"], "resolved");
    assert_eq!(resolved["resolved"]["outcome"], "cleared");
    assert_eq!(resolved["resolved"]["by"], "system:rules");
    // Once checked in today, the rules do not raise it again.
    tokio::time::sleep(Duration::from_secs(6)).await;
    assert!(wait_for_alert(&app, &home, "missed-check-in", false)
        .await
        .is_none());
}
