//! Who may do what, as a matrix: every endpoint that exists, called by each kind of
//! caller (nobody signed in, a viewer, the grid worker of the community concerned, a
//! grid worker of another community, a commander, a partner organisation's account),
//! with the status each must get.
//! Refusals change nothing, so the rows run in one district one after another; where
//! a success would change what the next caller meets (acknowledging an alert, setting
//! out on a run) only the callers named in the row are asked.

use crate::support::*;
use linli_domain::alerts::Alert;
use linli_domain::api::{Activity, Notice, NoticeRequest, SessionInfo, Snapshot};
use linli_domain::care::Home;
use linli_domain::cases::{Case, CaseCategory, CaseSource, CaseSummary, NewCase, Party};
use linli_domain::{CommunityId, Role};
use serde_json::{json, Value};

/// The callers, in the order of each row's expected statuses.
const CALLERS: [&str; 6] = [
    "nobody",
    "viewer",
    "own grid worker",
    "other grid worker",
    "commander",
    "partner (the gas utility)",
];

/// Not asked in this row.
const SKIP: u16 = 0;

struct Row {
    method: &'static str,
    path: String,
    body: Option<Value>,
    expected: [u16; 6],
}

fn row(
    method: &'static str,
    path: impl Into<String>,
    body: Option<Value>,
    expected: [u16; 6],
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
    let community = route_community(&route);
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
    let alert = open_alert_of(&commander, &app, &home).await.id;
    let hotline = |title: &str, category, community: &str| NewCase {
        source: CaseSource::Hotline,
        community: CommunityId::parse(community).unwrap(),
        ..case_report(title, category, [117.305, 31.845])
    };
    let case = create_case(
        &commander,
        &app,
        &hotline("楼道堆物", CaseCategory::Environment, &community),
    )
    .await
    .summary
    .id;
    // Another community's open case, which the rows name as a second object.
    let elsewhere = create_case(
        &commander,
        &app,
        &hotline("占道经营", CaseCategory::Environment, other),
    )
    .await
    .summary
    .id;
    // A case the gas utility handles: the partner's one.
    let assigned = NewCase {
        responsible: Some(Party::PropertyManagement),
        cooperating: vec![Party::Utilities],
        ..hotline("燃气管道漏气", CaseCategory::FacilitySafety, &community)
    };
    let assigned = create_case(&commander, &app, &assigned).await.summary.id;
    let checkpoint = route.checkpoints[0].position;
    let notice: Notice = commander
        .post(app.url("/api/v1/notices"))
        .json(&NoticeRequest {
            title: "停水通知".into(),
            body: "周三 9:00–12:00 停水".into(),
            until: None,
        })
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let notice = notice.id;

    let callers = [
        reqwest::Client::builder()
            .cookie_store(true)
            .build()
            .unwrap(),
        app.signed_in("demo-viewer").await,
        app.signed_in(&format!("demo-grid-{community}")).await,
        app.signed_in(&format!("demo-grid-{other}")).await,
        commander.clone(),
        app.signed_in("demo-partner-utilities").await,
    ];
    let new_case = json!({"title": "共享单车乱停", "category": "street-order", "source": "patrol",
                          "community": community, "position": [117.305, 31.845]});
    let unit = "/api/v1/patrols/units/team-9";
    let rows = [
        row(
            "GET",
            "/api/v1/session",
            None,
            [401, 200, 200, 200, 200, 200],
        ),
        row("GET", "/api/v1/homes", None, [401, 200, 200, 200, 200, 403]),
        row(
            "GET",
            "/api/v1/snapshot",
            None,
            [401, 200, 200, 200, 200, 403],
        ),
        row("GET", "/api/v1/stats", None, [401, 200, 200, 200, 200, 403]),
        row(
            "GET",
            "/api/v1/stream",
            None,
            [401, 200, 200, 200, 200, 403],
        ),
        row(
            "GET",
            "/api/v1/events",
            None,
            [401, 403, 403, 403, 200, 403],
        ),
        row(
            "GET",
            "/api/v1/thresholds",
            None,
            [401, 200, 200, 200, 200, 403],
        ),
        row(
            "PUT",
            "/api/v1/thresholds",
            Some(json!({})),
            [401, 403, 403, 403, 200, 403],
        ),
        row(
            "GET",
            format!("/api/v1/homes/{home}/thresholds"),
            None,
            [401, 200, 200, 403, 200, 403],
        ),
        row(
            "PUT",
            format!("/api/v1/homes/{home}/thresholds"),
            Some(json!({})),
            [401, 403, 200, 403, 200, 403],
        ),
        // Loosening a home's gas alarm: a commander's, with a reason (none here).
        row(
            "PUT",
            format!("/api/v1/homes/{home}/thresholds"),
            Some(json!({"gas_alarm_pct": 22})),
            [401, 403, 403, 403, 422, 403],
        ),
        row(
            "PUT",
            format!("/api/v1/homes/{home}/thresholds"),
            Some(json!({"gas_alarm_pct": 22, "reason": "厨房误报"})),
            [401, 403, 403, 403, SKIP, 403],
        ),
        // Switching it off: nobody, whatever the reason.
        row(
            "PUT",
            format!("/api/v1/homes/{home}/thresholds"),
            Some(json!({"gas_alarm_pct": 100, "reason": "厨房误报"})),
            [401, 403, 422, 403, 422, 403],
        ),
        row(
            "PUT",
            "/api/v1/thresholds",
            Some(json!({"offline_after_ms": 977_616_000_000_i64, "reason": "省电"})),
            [401, 403, 403, 403, 422, 403],
        ),
        row(
            "POST",
            format!("/api/v1/homes/{home}/check-ins"),
            Some(json!({})),
            [401, 403, 201, 403, 201, 403],
        ),
        row(
            "GET",
            "/api/v1/alerts",
            None,
            [401, 200, 200, 200, 200, 403],
        ),
        row(
            "GET",
            format!("/api/v1/alerts/{alert}"),
            None,
            [401, 200, 200, 403, 200, 403],
        ),
        row(
            "POST",
            format!("/api/v1/alerts/{alert}/ack"),
            Some(json!({})),
            [401, 403, 200, 403, SKIP, 403],
        ),
        row(
            "GET",
            format!("/api/v1/alerts/{alert}/escalation"),
            None,
            [401, 200, 200, 403, 200, 403],
        ),
        row(
            "POST",
            format!("/api/v1/alerts/{alert}/escalate"),
            Some(json!({})),
            [401, 403, SKIP, 403, SKIP, 403],
        ),
        row(
            "POST",
            format!("/api/v1/alerts/{alert}/resolve"),
            Some(json!({"outcome": "safe"})),
            [401, 403, SKIP, 403, 200, 403],
        ),
        row("GET", "/api/v1/cases", None, [401, 200, 200, 200, 200, 200]),
        row(
            "POST",
            "/api/v1/cases",
            Some(new_case),
            [401, 403, 201, 403, 201, 403],
        ),
        row(
            "GET",
            format!("/api/v1/cases/{case}"),
            None,
            [401, 200, 200, 403, 200, 403],
        ),
        row(
            "POST",
            format!("/api/v1/cases/{case}/events"),
            Some(json!({"action": "note", "note": "已走访"})),
            [401, 403, 200, 403, 200, 403],
        ),
        // The partner's own case: read, a note, its part done; nothing more.
        row(
            "GET",
            format!("/api/v1/cases/{assigned}"),
            None,
            [401, 200, 200, 403, 200, 200],
        ),
        row(
            "POST",
            format!("/api/v1/cases/{assigned}/events"),
            Some(json!({"action": "note", "note": "已派抢修"})),
            [401, 403, 200, 403, 200, 200],
        ),
        row(
            "POST",
            format!("/api/v1/cases/{assigned}/events"),
            Some(json!({"action": "part-done", "party": "police"})),
            [401, 403, 422, 403, 422, 403],
        ),
        row(
            "POST",
            format!("/api/v1/cases/{assigned}/events"),
            Some(json!({"action": "part-done", "party": "utilities", "note": "已关阀"})),
            [401, 403, SKIP, 403, SKIP, 200],
        ),
        row(
            "POST",
            format!("/api/v1/cases/{assigned}/events"),
            Some(json!({"action": "advance", "to": "identified"})),
            [401, 403, SKIP, 403, SKIP, 403],
        ),
        row(
            "POST",
            format!("/api/v1/cases/{assigned}/events"),
            Some(json!({"action": "assign", "responsible": "utilities"})),
            [401, 403, SKIP, 403, SKIP, 403],
        ),
        // Merging into another community's case: the second case is checked too (a
        // commander sees both, but a case merges only within its community).
        row(
            "POST",
            format!("/api/v1/cases/{case}/events"),
            Some(json!({"action": "close", "outcome": "duplicate", "duplicate_of": elsewhere})),
            [401, 403, 403, 403, 422, 403],
        ),
        row(
            "GET",
            "/api/v1/patrols/routes",
            None,
            [401, 200, 200, 200, 200, 403],
        ),
        row(
            "GET",
            "/api/v1/patrols/units",
            None,
            [401, 200, 200, 200, 200, 403],
        ),
        row(
            "POST",
            format!("{unit}/run"),
            Some(json!({"route": route.id})),
            [401, 403, 201, 403, SKIP, 403],
        ),
        row(
            "POST",
            format!("{unit}/position"),
            Some(json!({"position": checkpoint})),
            [401, 403, 200, 403, 200, 403],
        ),
        row(
            "DELETE",
            format!("{unit}/run"),
            None,
            [401, 403, SKIP, 403, 200, 403],
        ),
        row(
            "GET",
            format!("/api/v1/alerts/{alert}/deliveries"),
            None,
            [401, 200, 200, 403, 200, 403],
        ),
        row(
            "GET",
            "/api/v1/notify/channels",
            None,
            [401, 403, 403, 403, 200, 403],
        ),
        row(
            "POST",
            "/api/v1/notify/channels",
            Some(
                json!({"name": "值班群", "kind": "webhook", "url": "http://127.0.0.1:9/hook",
                        "min_severity": "critical"}),
            ),
            [401, 403, 403, 403, 201, 403],
        ),
        row(
            "DELETE",
            "/api/v1/notify/channels/999999",
            None,
            [401, 403, 403, 403, 404, 403],
        ),
        row(
            "GET",
            format!("/api/v1/notify/rosters/{community}"),
            None,
            [401, 404, 404, 403, 404, 403],
        ),
        row(
            "PUT",
            format!("/api/v1/notify/rosters/{community}"),
            Some(
                json!({"levels": [{"title": "网格员", "acknowledge_within_min": 5,
                "shifts": [{"from": "00:00", "to": "00:00", "person": {"name": "王芳"}}]}]}),
            ),
            [401, 403, 403, 403, 200, 403],
        ),
        row(
            "GET",
            "/api/v1/dispatches",
            None,
            [401, 200, 200, 200, 200, 403],
        ),
        row(
            "GET",
            format!("/api/v1/dispatches/candidates?case_id={assigned}"),
            None,
            [401, 403, 403, 403, 200, 403],
        ),
        row(
            "POST",
            "/api/v1/dispatches",
            Some(json!({"assignee": "unit:nobody", "case_id": assigned})),
            [401, 403, 403, 403, 422, 403],
        ),
        row(
            "POST",
            "/api/v1/dispatches/999999/events",
            Some(json!({"action": "accept"})),
            [401, 403, 404, 404, 404, 403],
        ),
        row(
            "GET",
            "/api/v1/notices",
            None,
            [401, 200, 200, 200, 200, 403],
        ),
        row(
            "POST",
            "/api/v1/notices",
            Some(json!({"title": "社区义诊"})),
            [401, 403, 403, 403, 201, 403],
        ),
        row(
            "DELETE",
            format!("/api/v1/notices/{notice}"),
            None,
            [401, 403, 403, 403, 200, 403],
        ),
        row(
            "POST",
            "/api/v1/ingest",
            Some(json!({"readings": []})),
            [401, 401, 401, 401, 401, 401],
        ),
        row(
            "GET",
            "/api/v1/public/status",
            None,
            [200, 200, 200, 200, 200, 200],
        ),
        row(
            "GET",
            "/api/v1/layers/buildings",
            None,
            [200, 200, 200, 200, 200, 200],
        ),
        row(
            "GET",
            "/open311/v2/requests.json",
            None,
            [200, 200, 200, 200, 200, 200],
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

    // A partner lists only the cases its organisation handles, and knows its own.
    let partner = &callers[5];
    let cases: Vec<CaseSummary> = get_json(partner, app.url("/api/v1/cases")).await;
    assert_eq!(cases.iter().map(|c| c.id).collect::<Vec<_>>(), [assigned]);
    let done: Case = get_json(partner, app.url(&format!("/api/v1/cases/{assigned}"))).await;
    assert_eq!(done.summary.handling.parties_done, [Party::Utilities]);
    let session: SessionInfo = get_json(partner, app.url("/api/v1/session")).await;
    assert_eq!(session.role, Role::Partner);
    assert_eq!(session.org, Some(Party::Utilities));

    // What a grid worker reads is limited to their communities.
    let theirs = &callers[3];
    let homes: Vec<Home> = get_json(theirs, app.url("/api/v1/homes")).await;
    assert!(!homes.is_empty() && homes.iter().all(|h| h.community.as_str() == other));
    let snapshot: Snapshot = get_json(theirs, app.url("/api/v1/snapshot")).await;
    let communities: [(&str, Vec<&str>); 3] = [
        (
            "homes",
            snapshot
                .homes
                .iter()
                .map(|h| h.community.as_str())
                .collect(),
        ),
        (
            "alerts",
            snapshot
                .alerts
                .iter()
                .map(|a| a.community.as_str())
                .collect(),
        ),
        (
            "cases",
            snapshot
                .cases
                .iter()
                .map(|c| c.community.as_str())
                .collect(),
        ),
    ];
    for (list, of) in communities {
        assert!(
            of.iter().all(|c| *c == other),
            "{list} of another community in a grid worker's snapshot"
        );
    }
    // Routes: their communities' and the district-wide ones (no community).
    let routes: RouteLayer = get_json(theirs, app.url("/api/v1/patrols/routes")).await;
    for routes in [&routes, &snapshot.routes] {
        assert!(
            routes.features.iter().all(|r| r
                .properties
                .community
                .as_ref()
                .is_none_or(|c| c == other)),
            "another community's route for a grid worker"
        );
    }
    let cases: Vec<CaseSummary> = get_json(theirs, app.url("/api/v1/cases")).await;
    assert!(cases.iter().all(|c| c.community.as_str() == other));
    let alerts: Vec<Alert> = get_json(theirs, app.url("/api/v1/alerts")).await;
    assert!(alerts.iter().all(|a| a.community.as_str() == other));
    // The gas alert counts in the district's and its community's figures, not another's.
    let raised = |stats: Activity| stats.alerts_last_7_days;
    let mine = raised(get_json(&callers[2], app.url("/api/v1/stats")).await);
    let district = raised(get_json(&commander, app.url("/api/v1/stats")).await);
    let elsewhere = raised(get_json(theirs, app.url("/api/v1/stats")).await);
    assert!(
        mine >= 1 && district >= mine + elsewhere,
        "{mine} {district} {elsewhere}"
    );
    let stats: Activity = get_json(&commander, app.url("/api/v1/stats")).await;
    assert_eq!(stats.alerts_per_hour.len(), 24);
    assert!(stats.alerts_per_hour[23] >= 1, "the gas alert, this hour");
}

/// Opens a case of `category` in `community` at `position`, as `client`: the case.
async fn open_case(
    client: &reqwest::Client,
    app: &TestApp,
    community: &str,
    category: &str,
    position: [f64; 2],
) -> Value {
    let response = client
        .post(app.url("/api/v1/cases"))
        .json(
            &json!({"title": "垃圾堆放", "category": category, "source": "grid-visit",
                      "community": community, "position": position}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    response.json().await.unwrap()
}

/// Takes a step on case `id`, as `client`.
async fn step(client: &reqwest::Client, app: &TestApp, id: i64, body: Value) -> reqwest::Response {
    client
        .post(app.url(&format!("/api/v1/cases/{id}/events")))
        .json(&body)
        .send()
        .await
        .unwrap()
}

/// The case ids a case names: its possible duplicates and the case it recurs.
fn named_cases(case: &Value) -> Vec<i64> {
    let mut ids: Vec<i64> = case["possible_duplicates"]
        .as_array()
        .map(|d| d.iter().map(|id| id.as_i64().unwrap()).collect())
        .unwrap_or_default();
    ids.extend(case["recurs"].as_i64());
    ids
}

/// Asserts `client` may open every case in `ids`.
async fn may_open_all(client: &reqwest::Client, app: &TestApp, ids: &[i64], what: &str) {
    for id in ids {
        let response = client
            .get(app.url(&format!("/api/v1/cases/{id}")))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{what} names case {id}");
    }
}

/// A spot on the border of two communities, and weigang's cases there: one solved
/// (a report there "recurs" it) and one open (a report there may "duplicate" it):
/// (spot, solved, open).
async fn weigang_cases_at_the_border(
    app: &TestApp,
    commander: &reqwest::Client,
) -> ([f64; 2], i64, i64) {
    let spot = [117.3051, 31.8451];
    let solved = open_case(commander, app, "weigang", "environment", spot).await;
    let solved = solved["id"].as_i64().unwrap();
    for body in [
        json!({"action": "advance", "to": "identified"}),
        json!({"action": "advance", "to": "joint-handling"}),
        json!({"action": "close", "outcome": "solved"}),
    ] {
        assert_eq!(step(commander, app, solved, body).await.status(), 200);
    }
    let open = open_case(commander, app, "weigang", "environment", spot).await;
    assert_eq!(open["recurs"], solved, "weigang's own report recurs");
    (spot, solved, open["id"].as_i64().unwrap())
}

#[tokio::test]
async fn a_case_names_only_cases_the_caller_may_see() {
    let app = spawn_app().await;
    let commander = app.signed_in("demo-commander").await;
    let mine = app.signed_in("demo-grid-xingfuli").await;
    let (spot, solved, theirs) = weigang_cases_at_the_border(&app, &commander).await;

    // The xingfuli grid worker reports at the same spot: the report, its details and
    // the case list name no weigang case, by duplicate or by recurrence.
    let reported = open_case(&mine, &app, "xingfuli", "environment", spot).await;
    let case = reported["id"].as_i64().unwrap();
    for named in [
        &reported,
        &get_json(&mine, app.url(&format!("/api/v1/cases/{case}"))).await,
    ] {
        let ids = named_cases(named);
        assert!(
            !ids.contains(&theirs) && !ids.contains(&solved),
            "names weigang's cases: {named}"
        );
        may_open_all(&mine, &app, &ids, "the report").await;
    }
    let listed: Vec<Value> = get_json(&mine, app.url("/api/v1/cases")).await;
    for c in &listed {
        may_open_all(&mine, &app, &named_cases(c), "the case list").await;
    }
    // Within xingfuli, the same spot is still found: a second report names the first.
    let again = open_case(&mine, &app, "xingfuli", "environment", spot).await;
    assert!(named_cases(&again).contains(&case), "{again}");
    // Even for a commander, a case names only cases of its own community.
    let as_commander: Value = get_json(&commander, app.url(&format!("/api/v1/cases/{case}"))).await;
    assert!(!named_cases(&as_commander).contains(&theirs));
    // A `recurs` stored before that rule (naming another community's case) is not shown.
    let mut legacy: linli_domain::cases::CaseSummary =
        serde_json::from_value(reported.clone()).unwrap();
    legacy.id = 0;
    legacy.handling.recurs = Some(solved);
    let change = linli_server::store::Change::new(
        linli_server::store::Actor::System("test"),
        linli_server::clock::now_ms(),
    );
    let legacy = app.store.insert_case(&change, &legacy).await.unwrap();
    let shown: Value = get_json(&mine, app.url(&format!("/api/v1/cases/{}", legacy.id))).await;
    assert_eq!(shown["recurs"], Value::Null, "{shown}");
}

#[tokio::test]
async fn a_case_merges_only_into_a_case_the_caller_may_see() {
    let app = spawn_app().await;
    let commander = app.signed_in("demo-commander").await;
    let mine = app.signed_in("demo-grid-xingfuli").await;
    let (spot, solved, theirs) = weigang_cases_at_the_border(&app, &commander).await;
    let case = open_case(&mine, &app, "xingfuli", "environment", spot).await;
    let case = case["id"].as_i64().unwrap();
    let again = open_case(&mine, &app, "xingfuli", "environment", spot).await;
    let again_id = again["id"].as_i64().unwrap();

    // Merging into weigang's case: refused, and nothing changes on either case (nor
    // in the log). The attacker's variants: with and without a note, and as a
    // transfer, which takes no `duplicate_of`.
    let before_mine: Value = get_json(&mine, app.url(&format!("/api/v1/cases/{case}"))).await;
    let before_theirs: Value =
        get_json(&commander, app.url(&format!("/api/v1/cases/{theirs}"))).await;
    let events_before: Value = get_json(&commander, app.url("/api/v1/snapshot")).await;
    let events_before = events_before["last_event_id"].as_i64().unwrap();
    for body in [
        json!({"action": "close", "outcome": "duplicate", "duplicate_of": theirs}),
        json!({"action": "close", "outcome": "duplicate", "duplicate_of": theirs, "note": "同一处"}),
        json!({"action": "close", "outcome": "duplicate", "duplicate_of": solved}),
    ] {
        assert_error(step(&mine, &app, case, body).await, 403, "forbidden").await;
    }
    let transfer = json!({"action": "close", "outcome": "transferred", "duplicate_of": theirs});
    assert_error(
        step(&mine, &app, case, transfer).await,
        422,
        "unprocessable",
    )
    .await;
    assert_eq!(
        get_json::<Value>(&mine, app.url(&format!("/api/v1/cases/{case}"))).await["timeline"],
        before_mine["timeline"]
    );
    assert_eq!(
        get_json::<Value>(&commander, app.url(&format!("/api/v1/cases/{theirs}"))).await
            ["timeline"],
        before_theirs["timeline"]
    );
    let log: Vec<Value> = get_json(
        &commander,
        app.url(&format!("/api/v1/events?after={events_before}&limit=1000")),
    )
    .await;
    assert!(
        log.iter()
            .all(|e| !e["kind"].as_str().unwrap().starts_with("case.")),
        "{log:?}"
    );
    // A commander may see both, but a case merges only within its community.
    let across = json!({"action": "close", "outcome": "duplicate", "duplicate_of": theirs});
    assert_error(
        step(&commander, &app, case, across).await,
        422,
        "unprocessable",
    )
    .await;
    // Into itself, into no case, into a closed case: refused as before.
    let into = |id: i64| json!({"action": "close", "outcome": "duplicate", "duplicate_of": id});
    assert_error(
        step(&mine, &app, case, into(case)).await,
        422,
        "unprocessable",
    )
    .await;
    assert_error(
        step(&mine, &app, case, into(999_999)).await,
        422,
        "unprocessable",
    )
    .await;
    let closed = open_case(&mine, &app, "xingfuli", "dispute", [117.31, 31.84]).await;
    let closed = closed["id"].as_i64().unwrap();
    let close = json!({"action": "close", "outcome": "not-solvable"});
    assert_eq!(step(&mine, &app, closed, close).await.status(), 200);
    assert_error(step(&mine, &app, case, into(closed)).await, 409, "conflict").await;
    // Into another open case of their own: merged, with a note on the original.
    let merged = step(&mine, &app, again_id, into(case)).await;
    assert_eq!(merged.status(), 200);
    let original: Value = get_json(&mine, app.url(&format!("/api/v1/cases/{case}"))).await;
    let note = original["timeline"].as_array().unwrap().last().unwrap()["step"]["note"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(note.contains(&format!("case {again_id}")), "{note}");
}

#[tokio::test]
async fn patrols_of_another_community_are_neither_listed_nor_moved() {
    let app = spawn_app().await;
    let commander = app.signed_in("demo-commander").await;
    let route = community_route(&commander, &app).await;
    let community = route_community(&route);
    let other = if community == "xingfuli" {
        "wulimiao"
    } else {
        "xingfuli"
    };
    let own = app.signed_in(&format!("demo-grid-{community}")).await;
    let theirs = app.signed_in(&format!("demo-grid-{other}")).await;
    // A district-wide route (no community): everyone's.
    let routes: RouteLayer = get_json(&commander, app.url("/api/v1/patrols/routes")).await;
    let mut wide = routes
        .features
        .into_iter()
        .find(|r| r.properties.id == route.id)
        .unwrap();
    wide.id = "route-district".into();
    wide.properties.id = "route-district".into();
    wide.properties.community = None;
    let change = linli_server::store::Change::new(
        linli_server::store::Actor::System("test"),
        linli_server::clock::now_ms(),
    );
    app.store.save_routes(&change, &[wide]).await.unwrap();

    // Lists: the other community's grid worker gets their routes and the district's,
    // in the list and in the snapshot; a commander gets all.
    let ids = |routes: &Value| -> Vec<(String, Value)> {
        routes["features"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                (
                    r["properties"]["id"].as_str().unwrap().to_string(),
                    r["properties"]["community"].clone(),
                )
            })
            .collect()
    };
    let listed = ids(&get_json(&theirs, app.url("/api/v1/patrols/routes")).await);
    let snapshot: Value = get_json(&theirs, app.url("/api/v1/snapshot")).await;
    for seen in [&listed, &ids(&snapshot["routes"])] {
        assert!(
            seen.iter()
                .all(|(_, c)| c.is_null() || c.as_str() == Some(other)),
            "another community's route: {seen:?}"
        );
        assert!(seen.iter().any(|(id, _)| id == "route-district"));
        assert!(!seen.iter().any(|(id, _)| *id == route.id));
    }
    let all = ids(&get_json(&commander, app.url("/api/v1/patrols/routes")).await);
    assert!(all.iter().any(|(id, _)| *id == route.id));

    let unit = |name: &str, what: &str| app.url(&format!("/api/v1/patrols/units/{name}/{what}"));
    let checkpoint = route.checkpoints[0].position;
    // The other grid worker may not set a unit out on this community's route …
    let started = theirs
        .post(unit("team-x", "run"))
        .json(&json!({"route": route.id}))
        .send()
        .await
        .unwrap();
    assert_error(started, 403, "forbidden").await;
    // … nor move or end a unit of this community that is out on it.
    let started = own
        .post(unit("team-a", "run"))
        .json(&json!({"route": route.id}))
        .send()
        .await
        .unwrap();
    assert_eq!(started.status(), 201);
    let moved = theirs
        .post(unit("team-a", "position"))
        .json(&json!({"position": checkpoint}))
        .send()
        .await
        .unwrap();
    assert_error(moved, 403, "forbidden").await;
    let ended = theirs.delete(unit("team-a", "run")).send().await.unwrap();
    assert_error(ended, 403, "forbidden").await;
    let units: Vec<Value> = get_json(&theirs, app.url("/api/v1/patrols/units")).await;
    assert!(units.iter().all(|u| u["unit"] != "team-a"), "{units:?}");
    let units: Vec<Value> = get_json(&commander, app.url("/api/v1/patrols/units")).await;
    assert!(
        units.iter().all(|u| u["unit"] != "team-x"),
        "no run started"
    );
    let team_a = units.iter().find(|u| u["unit"] == "team-a").unwrap();
    assert_eq!(team_a["positions"], 0);
    assert_eq!(team_a["ended_at"], Value::Null);

    // A run on the district-wide route is everyone's.
    let started = theirs
        .post(unit("team-d", "run"))
        .json(&json!({"route": "route-district"}))
        .send()
        .await
        .unwrap();
    assert_eq!(started.status(), 201);
    for who in [&theirs, &own] {
        let moved = who
            .post(unit("team-d", "position"))
            .json(&json!({"position": checkpoint}))
            .send()
            .await
            .unwrap();
        assert_eq!(moved.status(), 200);
    }
    let ended = own.delete(unit("team-d", "run")).send().await.unwrap();
    assert_eq!(ended.status(), 200);
}
