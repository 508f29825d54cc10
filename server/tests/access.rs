//! Who may do what, as a matrix: every endpoint that exists, called by each kind of
//! caller (nobody signed in, a viewer, the grid worker of the community concerned, a
//! grid worker of another community, a commander), with the status each must get.
//! Refusals change nothing, so the rows run in one district one after another; where
//! a success would change what the next caller meets (acknowledging an alert, setting
//! out on a run) only the callers named in the row are asked.

mod support;

use serde_json::{json, Value};
use support::*;

/// The callers, in the order of each row's expected statuses.
const CALLERS: [&str; 5] = [
    "nobody",
    "viewer",
    "own grid worker",
    "other grid worker",
    "commander",
];

/// Not asked in this row.
const SKIP: u16 = 0;

struct Row {
    method: &'static str,
    path: String,
    body: Option<Value>,
    expected: [u16; 5],
}

fn row(
    method: &'static str,
    path: impl Into<String>,
    body: Option<Value>,
    expected: [u16; 5],
) -> Row {
    Row {
        method,
        path: path.into(),
        body,
        expected,
    }
}

#[tokio::test]
async fn every_endpoint_answers_each_role_as_it_may() {
    let app = spawn_app().await;
    let commander = app.signed_in("demo-commander").await;
    // A community with its own patrol route, and everything in it the rows act on.
    let route = community_route(&commander, &app).await;
    let community = route["community"].as_str().unwrap().to_string();
    let other = if community == "xingfuli" {
        "wulimiao"
    } else {
        "xingfuli"
    };
    let (device, gas_token, home) =
        new_device(&app, Some(&community), linli_domain::care::SensorKind::Gas).await;
    let ingest = reqwest::Client::new()
        .post(app.url("/api/v1/ingest"))
        .bearer_auth(&gas_token)
        .json(&json!({"readings": [reading(&device, 1, "gas_lel_pct", 45.0)]}))
        .send()
        .await
        .unwrap();
    assert_eq!(ingest.status(), 202);
    let alert = wait_for_alert(&commander, &app, &home).await;
    let case: Value = commander
        .post(app.url("/api/v1/cases"))
        .json(
            &json!({"title": "楼道堆物", "category": "environment", "source": "hotline",
                      "community": community, "position": [117.305, 31.845]}),
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let case = case["id"].as_i64().unwrap();
    let checkpoint = route["checkpoints"][0]["position"].clone();
    let notice: Value = commander
        .post(app.url("/api/v1/notices"))
        .json(&json!({"title": "停水通知", "body": "周三 9:00–12:00 停水"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let notice = notice["id"].as_i64().unwrap();

    let callers = [
        reqwest::Client::builder()
            .cookie_store(true)
            .build()
            .unwrap(),
        app.signed_in("demo-viewer").await,
        app.signed_in(&format!("demo-grid-{community}")).await,
        app.signed_in(&format!("demo-grid-{other}")).await,
        commander.clone(),
    ];
    let new_case = json!({"title": "共享单车乱停", "category": "street-order", "source": "patrol",
                          "community": community, "position": [117.305, 31.845]});
    let unit = "/api/v1/patrols/units/team-9";
    let rows = [
        row("GET", "/api/v1/session", None, [401, 200, 200, 200, 200]),
        row("GET", "/api/v1/homes", None, [401, 200, 200, 200, 200]),
        row("GET", "/api/v1/snapshot", None, [401, 200, 200, 200, 200]),
        row("GET", "/api/v1/stats", None, [401, 200, 200, 200, 200]),
        row("GET", "/api/v1/stream", None, [401, 200, 200, 200, 200]),
        row("GET", "/api/v1/events", None, [401, 403, 403, 403, 200]),
        row("GET", "/api/v1/thresholds", None, [401, 200, 200, 200, 200]),
        row(
            "PUT",
            "/api/v1/thresholds",
            Some(json!({})),
            [401, 403, 403, 403, 200],
        ),
        row(
            "GET",
            format!("/api/v1/homes/{home}/thresholds"),
            None,
            [401, 200, 200, 403, 200],
        ),
        row(
            "PUT",
            format!("/api/v1/homes/{home}/thresholds"),
            Some(json!({})),
            [401, 403, 200, 403, 200],
        ),
        row(
            "POST",
            format!("/api/v1/homes/{home}/check-ins"),
            Some(json!({})),
            [401, 403, 201, 403, 201],
        ),
        row("GET", "/api/v1/alerts", None, [401, 200, 200, 200, 200]),
        row(
            "GET",
            format!("/api/v1/alerts/{alert}"),
            None,
            [401, 200, 200, 403, 200],
        ),
        row(
            "POST",
            format!("/api/v1/alerts/{alert}/ack"),
            Some(json!({})),
            [401, 403, 200, 403, SKIP],
        ),
        row(
            "POST",
            format!("/api/v1/alerts/{alert}/escalate"),
            Some(json!({})),
            [401, 403, SKIP, 403, SKIP],
        ),
        row(
            "POST",
            format!("/api/v1/alerts/{alert}/resolve"),
            Some(json!({"outcome": "safe"})),
            [401, 403, SKIP, 403, 200],
        ),
        row("GET", "/api/v1/cases", None, [401, 200, 200, 200, 200]),
        row(
            "POST",
            "/api/v1/cases",
            Some(new_case),
            [401, 403, 201, 403, 201],
        ),
        row(
            "GET",
            format!("/api/v1/cases/{case}"),
            None,
            [401, 200, 200, 403, 200],
        ),
        row(
            "POST",
            format!("/api/v1/cases/{case}/events"),
            Some(json!({"action": "note", "note": "已走访"})),
            [401, 403, 200, 403, 200],
        ),
        row(
            "GET",
            "/api/v1/patrols/routes",
            None,
            [401, 200, 200, 200, 200],
        ),
        row(
            "GET",
            "/api/v1/patrols/units",
            None,
            [401, 200, 200, 200, 200],
        ),
        row(
            "POST",
            format!("{unit}/run"),
            Some(json!({"route": route["id"]})),
            [401, 403, 201, 403, SKIP],
        ),
        row(
            "POST",
            format!("{unit}/position"),
            Some(json!({"position": checkpoint})),
            [401, 403, 200, 403, 200],
        ),
        row(
            "DELETE",
            format!("{unit}/run"),
            None,
            [401, 403, SKIP, 403, 200],
        ),
        row("GET", "/api/v1/notices", None, [401, 200, 200, 200, 200]),
        row(
            "POST",
            "/api/v1/notices",
            Some(json!({"title": "社区义诊"})),
            [401, 403, 403, 403, 201],
        ),
        row(
            "DELETE",
            format!("/api/v1/notices/{notice}"),
            None,
            [401, 403, 403, 403, 200],
        ),
        row(
            "POST",
            "/api/v1/ingest",
            Some(json!({"readings": []})),
            [401, 401, 401, 401, 401],
        ),
        row(
            "GET",
            "/api/v1/public/status",
            None,
            [200, 200, 200, 200, 200],
        ),
        row(
            "GET",
            "/api/v1/layers/buildings",
            None,
            [200, 200, 200, 200, 200],
        ),
        row(
            "GET",
            "/open311/v2/requests.json",
            None,
            [200, 200, 200, 200, 200],
        ),
    ];
    let mut wrong = Vec::new();
    for row in &rows {
        for (caller, (client, expected)) in CALLERS.iter().zip(callers.iter().zip(row.expected)) {
            if expected == SKIP {
                continue;
            }
            let mut request = client.request(row.method.parse().unwrap(), app.url(&row.path));
            if let Some(body) = &row.body {
                request = request.json(body);
            }
            let status = request.send().await.unwrap().status().as_u16();
            if status != expected {
                wrong.push(format!(
                    "{} {} by {caller}: {status}, expected {expected}",
                    row.method, row.path
                ));
            }
        }
    }
    assert!(wrong.is_empty(), "wrong answers:\n{}", wrong.join("\n"));

    // What a grid worker reads is limited to their communities.
    let theirs = &callers[3];
    let homes: Vec<Value> = get_json(theirs, app.url("/api/v1/homes")).await;
    assert!(!homes.is_empty() && homes.iter().all(|h| h["community"] == other));
    let snapshot: Value = get_json(theirs, app.url("/api/v1/snapshot")).await;
    for list in ["homes", "alerts", "cases"] {
        assert!(
            snapshot[list]
                .as_array()
                .unwrap()
                .iter()
                .all(|item| item["community"] == other),
            "{list} of another community in a grid worker's snapshot"
        );
    }
    let cases: Vec<Value> = get_json(theirs, app.url("/api/v1/cases")).await;
    assert!(cases.iter().all(|c| c["community"] == other));
    let alerts: Vec<Value> = get_json(theirs, app.url("/api/v1/alerts")).await;
    assert!(alerts.iter().all(|a| a["community"] == other));
    // The gas alert counts in the district's and its community's figures, not another's.
    let raised = |stats: Value| stats["alerts_last_7_days"].as_u64().unwrap();
    let mine = raised(get_json(&callers[2], app.url("/api/v1/stats")).await);
    let district = raised(get_json(&commander, app.url("/api/v1/stats")).await);
    let elsewhere = raised(get_json(theirs, app.url("/api/v1/stats")).await);
    assert!(
        mine >= 1 && district >= mine + elsewhere,
        "{mine} {district} {elsewhere}"
    );
    let stats: Value = get_json(&commander, app.url("/api/v1/stats")).await;
    assert_eq!(stats["alerts_per_hour"].as_array().unwrap().len(), 24);
    assert!(
        stats["alerts_per_hour"][23].as_u64().unwrap() >= 1,
        "the gas alert, this hour"
    );
}

/// The id of the alert the engine raised for `home`, once it is there.
async fn wait_for_alert(client: &reqwest::Client, app: &TestApp, home: &str) -> i64 {
    for _ in 0..200 {
        let alerts: Vec<Value> = get_json(client, app.url("/api/v1/alerts")).await;
        if let Some(alert) = alerts.iter().find(|a| a["home"] == home) {
            return alert["id"].as_i64().unwrap();
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("no alert for {home}");
}
