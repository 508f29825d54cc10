//! The office's thresholds for the rules (district and per home) and the morning
//! check-in, through the API of a running server: who may change what, bad input of
//! every kind refused with nothing applied, and a home's own check-in time raising a
//! missed check-in alert that a recorded check-in clears.

use crate::support::*;
use linli_domain::alerts::{Alert, AlertKind, AlertOutcome, AlertState, Severity};
use linli_domain::care::{CheckIn, Home};
use linli_server::clock::{now_ms, rfc3339};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

/// A demo home of `community`.
async fn home_in(app: &TestApp, community: &str) -> String {
    let commander = app.signed_in("demo-commander").await;
    let homes: Vec<Home> = get_json(&commander, app.url("/api/v1/homes")).await;
    homes
        .into_iter()
        .find(|h| h.community.as_str() == community)
        .expect("a demo home")
        .id
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
    // (Gas counting as gone sooner loosens the district's thresholds: with a reason.)
    let response = put(
        &commander,
        district_url.clone(),
        r#"{"gas_clear_pct": 12, "gas_alarm_pct": 13, "reason": "新型传感器噪声更低"}"#,
    )
    .await;
    assert_eq!(response.status(), 200);
    let after: Value = get_json(&grid, home_url).await;
    assert_eq!(after["effective"]["gas_alarm_pct"], 13.0);
    assert_eq!(after["effective"]["check_in_by_minute"], 660);
}

/// Waits for the home's open alert of `kind`, or its absence (`open` false).
async fn wait_for_alert(app: &TestApp, home: &str, kind: AlertKind, open: bool) -> Option<Alert> {
    let commander = app.signed_in("demo-commander").await;
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let alerts: Vec<Alert> = get_json(&commander, app.url("/api/v1/alerts?state=open")).await;
        let found = alerts
            .into_iter()
            .find(|a| a.home == home && a.kind == kind);
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
    let alert = wait_for_alert(&app, &home, AlertKind::MissedCheckIn, true)
        .await
        .expect("a missed check-in alert");
    assert_eq!(alert.severity, Severity::Warning);

    let url = app.url(&format!("/api/v1/homes/{home}/check-ins"));
    let post = |who: &reqwest::Client, body: Value| who.post(url.clone()).json(&body).send();
    // Bad check-ins, and people who may not record one.
    let now = now_ms();
    for body in [
        json!({"at": rfc3339(now + 3_600_000)}),
        json!({"at": rfc3339(now - 2 * 86_400_000)}),
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
    // Times that are no RFC 3339 time: the message says what is wanted.
    for at in [
        json!("this morning"),
        json!("2026-02-30T08:00:00Z"),
        json!("2026-12-01 08:00:00Z"),
        json!("2026-12-01T08:00:00"),
        json!(1_795_677_300_000_i64),
    ] {
        let message = assert_error(
            post(&grid, json!({ "at": at })).await.unwrap(),
            422,
            "unprocessable",
        )
        .await;
        assert!(message.contains("RFC 3339"), "{at}: {message}");
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
        wait_for_alert(&app, &home, AlertKind::MissedCheckIn, true)
            .await
            .is_some(),
        "refused check-ins change nothing"
    );

    let response = post(&grid, json!({"note": "王阿姨在家，一切安好"}))
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let recorded: CheckIn = response.json().await.unwrap();
    assert_eq!(recorded.home, home.as_str());
    assert_eq!(recorded.by, "demo-grid-wulimiao");
    assert_eq!(recorded.note, "王阿姨在家，一切安好");
    assert!(
        (recorded.at.millis() - now_ms()).abs() < 60_000,
        "stamped now: {}",
        recorded.at
    );
    assert!(
        wait_for_alert(&app, &home, AlertKind::MissedCheckIn, false)
            .await
            .is_none(),
        "the check-in cleared the alert"
    );
    let resolved: Alert = get_json(&grid, app.url(&format!("/api/v1/alerts/{}", alert.id))).await;
    assert_eq!(resolved.state, AlertState::Resolved);
    let resolution = resolved.resolved.expect("how it was resolved");
    assert_eq!(resolution.outcome, AlertOutcome::Cleared);
    assert_eq!(resolution.by, "system:rules");
    // Once checked in today, the rules do not raise it again.
    tokio::time::sleep(Duration::from_secs(6)).await;
    assert!(wait_for_alert(&app, &home, AlertKind::MissedCheckIn, false)
        .await
        .is_none());
}

/// PUTs `body` as JSON to `url`.
async fn put_json(client: &reqwest::Client, url: &str, body: &Value) -> reqwest::Response {
    client.put(url).json(body).send().await.unwrap()
}

/// Every event in the log, oldest first (commanders only).
async fn all_events(app: &TestApp, commander: &reqwest::Client) -> Vec<Value> {
    let mut events = Vec::new();
    loop {
        let after = events
            .last()
            .map_or(0, |e: &Value| e["id"].as_i64().unwrap());
        let page: Vec<Value> = get_json(
            commander,
            app.url(&format!("/api/v1/events?after={after}&limit=1000")),
        )
        .await;
        if page.is_empty() {
            return events;
        }
        events.extend(page);
    }
}

const THIRTY_ONE_YEARS_MS: i64 = 31 * 365 * 86_400_000;

#[tokio::test]
async fn nobody_switches_a_safety_alarm_off_with_a_threshold() {
    let app = spawn_app().await;
    let home = home_in(&app, "wulimiao").await;
    let commander = app.signed_in("demo-commander").await;
    let grid = app.signed_in("demo-grid-wulimiao").await;
    let home_url = app.url(&format!("/api/v1/homes/{home}/thresholds"));
    let district_url = app.url("/api/v1/thresholds");
    let home_before: Value = get_json(&commander, home_url.clone()).await;
    let district_before: Value = get_json(&commander, district_url.clone()).await;
    let unchanged = |what: &str| format!("nothing changed after {what}");

    // The attack as found: the home's grid worker sets its gas alarm to 100 % LEL and
    // its offline alert to 31 years (together and each alone), which switches both
    // off. Beyond the bounds: refused for them, and for a commander with a reason too.
    let reason = "现场核实后调整";
    for body in [
        json!({"gas_alarm_pct": 100, "offline_after_ms": THIRTY_ONE_YEARS_MS}),
        json!({"gas_alarm_pct": 100}),
        json!({"offline_after_ms": THIRTY_ONE_YEARS_MS}),
        json!({"escalate_unacknowledged_ms": THIRTY_ONE_YEARS_MS}),
    ] {
        let status = put_json(&grid, &home_url, &body).await.status();
        assert!(
            status == 422 || status == 403,
            "{body} by the grid worker: {status}"
        );
        let mut with_reason = body.clone();
        with_reason["reason"] = json!(reason);
        for url in [&home_url, &district_url] {
            let response = put_json(&commander, url, &with_reason).await;
            assert_error(response, 422, "unprocessable").await;
        }
    }

    // The hard bounds hold for a commander with a reason, at both levels; the refusal
    // names the field and the bound. At the bound itself the change is taken.
    for (field, past, bound, text) in [
        ("gas_alarm_pct", json!(30), json!(25.0), "25 %"),
        ("gas_alarm_pct", json!(25.01), json!(25.0), "25 %"),
        (
            "offline_after_ms",
            json!(86_400_001),
            json!(86_400_000),
            "86400000 ms",
        ),
        (
            "escalate_unacknowledged_ms",
            json!(3_600_001),
            json!(3_600_000),
            "3600000 ms",
        ),
    ] {
        for url in [&home_url, &district_url] {
            let body = json!({ field: past, "reason": reason });
            let message =
                assert_error(put_json(&commander, url, &body).await, 422, "unprocessable").await;
            assert!(
                message.contains(field) && message.contains(text),
                "{body}: {message}"
            );
        }
        let at_bound = json!({ field: bound, "reason": reason });
        let response = put_json(&commander, &home_url, &at_bound).await;
        assert_eq!(response.status(), 200, "{at_bound}");
        let changed: Value = response.json().await.unwrap();
        assert_eq!(changed["effective"][field], bound);
        let back = put_json(&commander, &home_url, &json!({"reason": reason})).await;
        assert_eq!(back.status(), 200);
    }
    assert_eq!(
        get_json::<Value>(&commander, home_url.clone()).await,
        home_before,
        "{}",
        unchanged("the bounds")
    );

    // Garbage of every kind: negative and zero times, times that overflow when added
    // to a clock, numbers beyond any sense, wrong types, the clock itself, unknown or
    // misspelt fields, and bad reasons. Refused by the grid worker's and the
    // commander's hand, at both levels, and nothing changes.
    let garbage = [
        json!({"offline_after_ms": -1}),
        json!({"offline_after_ms": 0}),
        json!({"offline_after_ms": 60_000}),
        json!({"escalate_unacknowledged_ms": -300_000}),
        json!({"escalate_unacknowledged_ms": 0}),
        json!({"offline_after_ms": i64::MAX}),
        json!({"reopen_within_ms": i64::MAX}),
        json!({"no_use_max_ms": i64::MIN}),
        json!({"continuous_flow_ms": i64::MAX}),
        json!({"offline_after_ms": 1500.5}),
        json!({"offline_after_ms": 1e30}),
        json!({"gas_alarm_pct": 1e308}),
        json!({"gas_alarm_pct": -5}),
        json!({"gas_alarm_pct": 0}),
        json!({"gas_clear_pct": -1}),
        json!({"battery_low_pct": 0}),
        json!({"battery_ok_pct": 1000}),
        json!({"flow_min_lpm": 0}),
        json!({"flow_min_lpm": -1}),
        json!({"no_use_expected_hours": 0}),
        json!({"no_use_expected_hours": 1e9}),
        json!({"unusual_use_factor": 1}),
        json!({"unusual_use_min_l": 1e12}),
        json!({"check_in_by_minute": 1440}),
        json!({"check_in_by_minute": -1}),
        json!({"check_in_by_minute": 4_294_967_296_u64}),
        json!({"check_in_by_minute": 9.5}),
        json!({"check_in_required": "yes"}),
        json!({"check_in_required": 1}),
        json!({"gas_alarm_pct": "15"}),
        json!({"gas_alarm_pct": null}),
        json!({"gas_alarm_pct": [15]}),
        json!({"gas_alarm_pct": {"value": 15}}),
        json!({"utc_offset_ms": 0}),
        json!({"utc_offset_ms": 8 * 3_600_000}),
        json!({"utc_offset_ms": 40 * 3_600_000}),
        json!({"no_such_threshold": 1}),
        json!({"Gas_alarm_pct": 15}),
        json!({"gas_alarm_pct ": 15}),
        json!({"gas_alarm_pct": 15, "reason": 5}),
        json!({"gas_alarm_pct": 15, "reason": ""}),
        json!({"gas_alarm_pct": 15, "reason": "   "}),
        json!({"gas_alarm_pct": 15, "reason": null}),
        json!({"gas_alarm_pct": 15, "reason": ["因为"]}),
        json!({"gas_alarm_pct": 15, "reason": "长".repeat(501)}),
    ];
    for body in &garbage {
        for (who, url) in [
            (&grid, &home_url),
            (&commander, &home_url),
            (&commander, &district_url),
        ] {
            let mut body = body.clone();
            if body.get("reason").is_none() {
                // So that only the garbage is refused, not a loosening without reason.
                body["reason"] = json!(reason);
            }
            let response = put_json(who, url, &body).await;
            assert_eq!(response.status(), 422, "{body} to {url}");
        }
    }
    // Not even JSON: NaN and infinities have no JSON form, 1e400 no f64.
    for raw in [
        r#"{"gas_alarm_pct": NaN}"#,
        r#"{"gas_alarm_pct": Infinity}"#,
        r#"{"gas_alarm_pct": -Infinity}"#,
        r#"{"gas_alarm_pct": 1e400}"#,
    ] {
        for url in [&home_url, &district_url] {
            let status = put(&commander, url.clone(), raw).await.status();
            assert!(status == 400 || status == 422, "{raw}: {status}");
        }
    }
    assert_eq!(
        get_json::<Value>(&grid, home_url.clone()).await,
        home_before,
        "{}",
        unchanged("garbage")
    );
    assert_eq!(
        get_json::<Value>(&commander, district_url).await,
        district_before,
        "{}",
        unchanged("garbage")
    );
}

#[tokio::test]
async fn a_grid_worker_only_tightens_and_a_commander_loosens_with_a_reason() {
    let app = spawn_app().await;
    let home = home_in(&app, "wulimiao").await;
    let commander = app.signed_in("demo-commander").await;
    let grid = app.signed_in("demo-grid-wulimiao").await;
    let home_url = app.url(&format!("/api/v1/homes/{home}/thresholds"));
    let district_url = app.url("/api/v1/thresholds");

    // Tighter than the district's: more alarms, sooner. The grid worker's own.
    let tight = json!({"gas_alarm_pct": 15, "offline_after_ms": 1_800_000,
                       "escalate_unacknowledged_ms": 120_000, "check_in_required": true,
                       "check_in_by_minute": 540, "battery_low_pct": 20});
    let response = put_json(&grid, &home_url, &tight).await;
    assert_eq!(response.status(), 200);
    let tightened: Value = response.json().await.unwrap();
    assert_eq!(tightened["effective"]["gas_alarm_pct"], 15.0);
    assert_eq!(tightened["effective"]["offline_after_ms"], 1_800_000);
    assert_eq!(tightened["effective"]["check_in_required"], true);

    // Looser than what applies now, in each way: refused to the grid worker (with a
    // reason too), and nothing changes. Taking back the tighter overrides (`{}`)
    // loosens as well; so does a gas alarm still tighter than the district's 20 %.
    let with = |changes: Value| {
        let mut body = tight.clone();
        for (k, v) in changes.as_object().unwrap() {
            match v {
                Value::Null => body.as_object_mut().unwrap().remove(k),
                v => body.as_object_mut().unwrap().insert(k.clone(), v.clone()),
            };
        }
        body
    };
    for body in [
        json!({}),
        json!({"reason": "家属要求"}),
        with(json!({"gas_alarm_pct": 18})),
        with(json!({"gas_alarm_pct": 22, "reason": "厨房误报"})),
        with(json!({"offline_after_ms": 2_700_000})),
        with(json!({"escalate_unacknowledged_ms": null})),
        with(json!({"check_in_required": false})),
        with(json!({"check_in_by_minute": 600})),
        with(json!({"battery_low_pct": 10})),
        with(json!({"gas_clear_pct": 12})),
        with(json!({"flow_min_lpm": 0.2})),
        with(json!({"reopen_within_ms": 7_200_000})),
    ] {
        let message = assert_error(put_json(&grid, &home_url, &body).await, 403, "forbidden").await;
        assert!(message.contains("loosen"), "{body}: {message}");
    }
    assert_eq!(
        get_json::<Value>(&grid, home_url.clone()).await,
        tightened,
        "refused loosenings change nothing"
    );
    // Tighter still: fine.
    let tighter = with(json!({"gas_alarm_pct": 12, "check_in_by_minute": 480}));
    assert_eq!(put_json(&grid, &home_url, &tighter).await.status(), 200);

    // A commander loosens, but only with a reason, which the event log keeps.
    let message = assert_error(
        put_json(&commander, &home_url, &json!({})).await,
        422,
        "unprocessable",
    )
    .await;
    assert!(
        message.contains("reason") && message.contains("gas_alarm_pct"),
        "{message}"
    );
    let reason = "燃气灶旁误报，已移位传感器；恢复街道默认值";
    let response = put_json(&commander, &home_url, &json!({"reason": reason})).await;
    assert_eq!(response.status(), 200);
    let loosened: Value = response.json().await.unwrap();
    assert_eq!(loosened["overrides"], json!({}));
    assert_eq!(loosened["effective"]["gas_alarm_pct"], 20.0);
    let events = all_events(&app, &commander).await;
    let changes: Vec<&Value> = events
        .iter()
        .filter(|e| e["kind"] == "thresholds.changed" && e["data"]["home"] == home.as_str())
        .collect();
    assert_eq!(changes.len(), 3, "{changes:?}");
    assert_eq!(changes[0]["actor"], "user:demo-grid-wulimiao");
    assert_eq!(changes[0]["data"]["reason"], Value::Null);
    assert_eq!(changes[0]["data"]["loosened"], json!([]));
    let last = changes[2];
    assert_eq!(last["actor"], "user:demo-commander");
    assert_eq!(last["data"]["reason"], reason);
    assert_eq!(last["data"]["overrides"], json!({}));
    for field in [
        "gas_alarm_pct",
        "offline_after_ms",
        "escalate_unacknowledged_ms",
        "check_in_required",
        "battery_low_pct",
    ] {
        assert!(
            last["data"]["loosened"]
                .as_array()
                .unwrap()
                .contains(&json!(field)),
            "{field} in {last}"
        );
    }

    // The district's too: tightening needs no reason, loosening does.
    assert_eq!(
        put_json(&commander, &district_url, &json!({"gas_alarm_pct": 18}))
            .await
            .status(),
        200
    );
    assert_error(
        put_json(&commander, &district_url, &json!({"gas_alarm_pct": 22})).await,
        422,
        "unprocessable",
    )
    .await;
    assert_error(
        put_json(&commander, &district_url, &json!({})).await,
        422,
        "unprocessable",
    )
    .await;
    let district: Value = get_json(&commander, district_url.clone()).await;
    assert_eq!(district["effective"]["gas_alarm_pct"], 18.0);
    let body = json!({"gas_alarm_pct": 22, "reason": "全区更换新型传感器"});
    let response = put_json(&commander, &district_url, &body).await;
    assert_eq!(response.status(), 200);
    let district: Value = response.json().await.unwrap();
    assert_eq!(district["effective"]["gas_alarm_pct"], 22.0);
}
