//! The HTTP API against a real server on port 0 with a temporary SQLite database:
//! sign-in, sessions, rate limits, access levels, error bodies, limits, layers,
//! operations endpoints and the OpenAPI document.

use crate::support::{assert_error, get_json, spawn_app, spawn_app_with, TestApp};
use linli_domain::api::{EventRecord, Notice, PublicStatus, SessionInfo};
use linli_domain::events::EventKind;
use linli_domain::Role;
use linli_server::clock::now_ms;
use linli_server::sign_in_limits::Policy;
use serde_json::{json, Value};
use std::time::Duration;

#[tokio::test]
async fn signing_in_sets_a_strict_http_only_cookie_and_says_who_signed_in() {
    let app = spawn_app().await;
    let client = app.browser();
    let response = app.sign_in(&client, "demo-grid-xingfuli", "demo").await;
    assert_eq!(response.status(), 200);
    let cookie = response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(cookie.starts_with("linli_session="), "{cookie}");
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(
            cookie.contains(attribute),
            "{attribute} missing in {cookie}"
        );
    }
    // Beside it, a hint the app's scripts can read (so that a signed-out page asks
    // nothing and logs no 401): it holds no secret.
    let cookies: Vec<&str> = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap())
        .collect();
    assert_eq!(cookies.len(), 2, "{cookies:?}");
    assert!(cookies[1].starts_with("linli_signed_in=1;"), "{cookies:?}");
    assert!(!cookies[1].contains("HttpOnly") && cookies[1].contains("SameSite=Strict"));
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body,
        json!({"username": "demo-grid-xingfuli", "role": "grid-worker", "communities": ["xingfuli"]})
    );

    let me: SessionInfo = get_json(&client, app.url("/api/v1/session")).await;
    assert_eq!(me.username.as_str(), "demo-grid-xingfuli");
}

#[tokio::test]
async fn signing_out_ends_the_session_on_the_server() {
    let app = spawn_app().await;
    let client = app.signed_in("demo-commander").await;
    // Keep the cookie to replay it after sign-out, as a thief would.
    let stolen = app
        .sign_in(&reqwest::Client::new(), "demo-commander", "demo")
        .await;
    let stolen_cookie = stolen.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();

    let response = client
        .delete(app.url("/api/v1/session"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
    // Both the session cookie and the hint are removed.
    let cleared: Vec<&str> = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap())
        .collect();
    assert_eq!(cleared.len(), 2, "{cleared:?}");
    assert!(
        cleared.iter().all(|c| c.contains("Max-Age=0")),
        "{cleared:?}"
    );
    assert!(cleared[1].starts_with("linli_signed_in=;"), "{cleared:?}");
    assert_error(
        client.get(app.url("/api/v1/session")).send().await.unwrap(),
        401,
        "unauthorized",
    )
    .await;

    // The other session is separate and still valid until it is signed out too.
    let plain = reqwest::Client::new();
    let with_cookie = || {
        plain
            .get(app.url("/api/v1/session"))
            .header("cookie", &stolen_cookie)
    };
    assert_eq!(with_cookie().send().await.unwrap().status(), 200);
    let out = plain
        .delete(app.url("/api/v1/session"))
        .header("cookie", &stolen_cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), 204);
    assert_error(with_cookie().send().await.unwrap(), 401, "unauthorized").await;
    // Signing out without a session is fine.
    assert_eq!(
        plain
            .delete(app.url("/api/v1/session"))
            .send()
            .await
            .unwrap()
            .status(),
        204
    );
}

#[tokio::test]
async fn a_wrong_password_and_an_unknown_user_get_the_same_answer() {
    let app = spawn_app().await;
    let client = app.browser();
    let wrong = assert_error(
        app.sign_in(&client, "demo-commander", "guess").await,
        401,
        "unauthorized",
    )
    .await;
    let unknown = assert_error(
        app.sign_in(&client, "nobody", "guess").await,
        401,
        "unauthorized",
    )
    .await;
    let malformed = assert_error(
        app.sign_in(&client, "Robert'); DROP TABLE users;--", "x")
            .await,
        401,
        "unauthorized",
    )
    .await;
    assert_eq!(wrong, unknown);
    assert_eq!(wrong, malformed);
    let refused = app.sign_in(&client, "demo-commander", "guess").await;
    assert!(refused.headers().get("set-cookie").is_none());
}

#[tokio::test]
async fn forged_and_empty_session_cookies_are_refused() {
    let app = spawn_app().await;
    let client = reqwest::Client::new();
    for cookie in [
        "linli_session=forged",
        "linli_session=",
        "other=1",
        "linli_session=a; linli_session=b",
    ] {
        let response = client
            .get(app.url("/api/v1/session"))
            .header("cookie", cookie)
            .send()
            .await
            .unwrap();
        assert_error(response, 401, "unauthorized").await;
    }
}

/// Signs in as `username` from the client address `from` (the test server trusts
/// 127.0.0.1 as a proxy, so `X-Forwarded-For` names the client).
async fn sign_in_from(
    app: &TestApp,
    from: &str,
    username: &str,
    password: &str,
) -> reqwest::Response {
    reqwest::Client::new()
        .post(app.url("/api/v1/session"))
        .header("x-forwarded-for", from)
        .json(&json!({"username": username, "password": password}))
        .send()
        .await
        .unwrap()
}

fn retry_after(response: &reqwest::Response) -> u64 {
    response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap()
}

/// The guesser's address is locked out of the account, even with the right password;
/// the owner, from another address, waits a few seconds at most.
#[tokio::test]
async fn failed_sign_ins_lock_the_guesser_out_and_only_slow_the_owner() {
    let app = spawn_app().await;
    for _ in 0..5 {
        assert_error(
            sign_in_from(&app, "10.9.0.1", "demo-commander", "wrong").await,
            401,
            "unauthorized",
        )
        .await;
    }
    let locked = sign_in_from(&app, "10.9.0.1", "demo-commander", "demo").await;
    let wait = retry_after(&locked);
    assert!((60..=900).contains(&wait), "retry after {wait}");
    let message = assert_error(locked, 429, "rate_limited").await;
    assert!(message.contains("try again"), "{message}");
    // Case does not dodge the lock.
    assert_error(
        sign_in_from(&app, "10.9.0.1", "DEMO-COMMANDER", "demo").await,
        429,
        "rate_limited",
    )
    .await;
    // Other accounts from there are not affected (below the address limit).
    assert_eq!(
        sign_in_from(&app, "10.9.0.1", "demo-viewer", "demo")
            .await
            .status(),
        200
    );
    // The owner from elsewhere: in at once, or after a wait of at most 5 seconds.
    let mut owner = sign_in_from(&app, "10.9.0.2", "demo-commander", "demo").await;
    if owner.status() == 429 {
        let wait = retry_after(&owner);
        assert!(wait <= 5, "the owner waits {wait} s");
        tokio::time::sleep(std::time::Duration::from_secs(wait)).await;
        owner = sign_in_from(&app, "10.9.0.2", "demo-commander", "demo").await;
    }
    assert_eq!(owner.status(), 200);
}

/// Issue 14: 60 concurrent wrong passwords for one account got 37 checks (the limit
/// was checked before and recorded after the hash). Now each attempt is counted first.
#[tokio::test]
async fn concurrent_guesses_get_no_more_checks_than_the_limit() {
    let app = spawn_app().await;
    let mut guesses = tokio::task::JoinSet::new();
    for _ in 0..60 {
        let url = app.url("/api/v1/session");
        guesses.spawn(async move {
            reqwest::Client::new()
                .post(url)
                .header("x-forwarded-for", "10.9.1.1")
                .json(&json!({"username": "demo-commander", "password": "wrong"}))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        });
    }
    let statuses = guesses.join_all().await;
    let checked = statuses.iter().filter(|s| **s == 401).count();
    let limited = statuses.iter().filter(|s| **s == 429).count();
    assert_eq!(checked, 5, "{statuses:?}");
    assert_eq!(checked + limited, 60, "{statuses:?}");
}

/// Issue 14: 20 wrong passwords from one address locked every account for everyone
/// behind it (behind a proxy, the whole office). With the proxy trusted, each client
/// counts by its own address.
#[tokio::test]
async fn one_guesser_behind_the_office_proxy_locks_out_nobody_else() {
    let app = spawn_app().await;
    for i in 0..25 {
        let status = sign_in_from(&app, "192.168.1.66", &format!("guess-{i}"), "x")
            .await
            .status();
        assert_eq!(status, if i < 20 { 401 } else { 429 }, "attempt {i}");
    }
    for (from, who) in [
        ("192.168.1.10", "demo-commander"),
        ("192.168.1.11", "demo-grid-xingfuli"),
    ] {
        assert_eq!(
            sign_in_from(&app, from, who, "demo").await.status(),
            200,
            "{who}"
        );
    }
}

#[tokio::test]
async fn failed_sign_ins_lock_the_address_across_accounts_until_the_window_passes() {
    let policy = Policy {
        window: Duration::from_secs(2),
        per_pair: 100,
        per_address: 4,
        per_account: 100,
        account_spacing: Duration::from_secs(1),
    };
    let app = spawn_app_with(policy, true).await;
    let client = app.browser();
    for i in 0..4 {
        assert_error(
            app.sign_in(&client, &format!("guess-{i}"), "x").await,
            401,
            "unauthorized",
        )
        .await;
    }
    assert_error(
        app.sign_in(&client, "demo-commander", "demo").await,
        429,
        "rate_limited",
    )
    .await;
    tokio::time::sleep(Duration::from_millis(2100)).await;
    assert_eq!(
        app.sign_in(&client, "demo-commander", "demo")
            .await
            .status(),
        200
    );
}

#[tokio::test]
async fn each_endpoint_admits_only_its_access_level() {
    let app = spawn_app().await;
    let anonymous = reqwest::Client::new();
    let events = app.url("/api/v1/events");

    let message = assert_error(
        anonymous.get(&events).send().await.unwrap(),
        401,
        "unauthorized",
    )
    .await;
    assert!(message.contains("sign in"), "{message}");
    assert_error(
        anonymous
            .get(app.url("/api/v1/session"))
            .send()
            .await
            .unwrap(),
        401,
        "unauthorized",
    )
    .await;

    for refused in ["demo-grid-weigang", "demo-viewer"] {
        let client = app.signed_in(refused).await;
        let message =
            assert_error(client.get(&events).send().await.unwrap(), 403, "forbidden").await;
        assert!(message.contains("commanders only"), "{message}");
        assert_eq!(
            client
                .get(app.url("/api/v1/session"))
                .send()
                .await
                .unwrap()
                .status(),
            200
        );
    }

    let commander = app.signed_in("demo-commander").await;
    assert_eq!(commander.get(&events).send().await.unwrap().status(), 200);
    // Public data needs no session.
    assert_eq!(
        anonymous
            .get(app.url("/api/v1/layers/communities"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
}

#[tokio::test]
async fn the_event_log_records_every_change_with_increasing_ids_and_its_author() {
    let app = spawn_app().await;
    app.add_user("wang-lan", "long-password", Role::GridWorker, &["xingfuli"])
        .await;
    let commander = app.signed_in("demo-commander").await;
    let events: Vec<EventRecord> = get_json(&commander, app.url("/api/v1/events?limit=1000")).await;
    let ids: Vec<i64> = events.iter().map(|e| e.id).collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "{ids:?}");
    assert!(
        events.windows(2).all(|w| w[0].at <= w[1].at),
        "times in order"
    );
    let kinds = |kind: EventKind| events.iter().filter(|e| e.kind == kind).count();
    assert_eq!(kinds(EventKind::CommunitySaved), 7);
    assert_eq!(
        kinds(EventKind::LayerSaved),
        3,
        "grids, roads and buildings, one event each"
    );
    assert_eq!(
        kinds(EventKind::UserCreated),
        11,
        "10 demo accounts and wang-lan"
    );
    let created = events
        .iter()
        .find(|e| e.data["username"] == "wang-lan")
        .unwrap();
    assert_eq!(created.actor, "system:test");
    assert_eq!(created.data["communities"], json!(["xingfuli"]));
    let signed_in = events.last().unwrap();
    assert_eq!(signed_in.kind, EventKind::SessionOpened);
    assert_eq!(signed_in.actor, "user:demo-commander");

    // Paging: `after` gives exactly the later events.
    let after = ids[ids.len() - 3];
    let page: Vec<EventRecord> = get_json(
        &commander,
        app.url(&format!("/api/v1/events?after={after}")),
    )
    .await;
    assert_eq!(
        page.iter().map(|e| e.id).collect::<Vec<_>>(),
        ids[ids.len() - 2..]
    );
}

#[tokio::test]
async fn bad_bodies_get_a_clear_json_error_and_change_nothing() {
    let app = spawn_app().await;
    let client = reqwest::Client::new();
    let session = app.url("/api/v1/session");
    let post = |body: &'static str, content_type: &'static str| {
        client
            .post(&session)
            .header("content-type", content_type)
            .body(body)
            .send()
    };
    // Broken JSON, a missing field, a wrong type, an unknown field, not JSON at all.
    let broken = assert_error(
        post("{\"username\": ", "application/json").await.unwrap(),
        400,
        "bad_request",
    )
    .await;
    assert!(
        broken.contains("EOF") || broken.contains("parse"),
        "{broken}"
    );
    let missing = assert_error(
        post("{\"username\": \"x\"}", "application/json")
            .await
            .unwrap(),
        422,
        "unprocessable",
    )
    .await;
    assert!(missing.contains("password"), "{missing}");
    assert_error(
        post("{\"username\": 1, \"password\": \"x\"}", "application/json")
            .await
            .unwrap(),
        422,
        "unprocessable",
    )
    .await;
    let unknown = assert_error(
        post(
            "{\"username\": \"x\", \"password\": \"y\", \"admin\": true}",
            "application/json",
        )
        .await
        .unwrap(),
        422,
        "unprocessable",
    )
    .await;
    assert!(unknown.contains("admin"), "{unknown}");
    assert_error(
        post("username=x&password=y", "application/x-www-form-urlencoded")
            .await
            .unwrap(),
        415,
        "unsupported_media_type",
    )
    .await;

    // A body over the limit, and a password too long to be worth hashing.
    let huge = format!(
        "{{\"username\": \"x\", \"password\": \"{}\"}}",
        "a".repeat(100_000)
    );
    let response = client
        .post(&session)
        .header("content-type", "application/json")
        .body(huge)
        .send()
        .await
        .unwrap();
    assert_error(response, 413, "payload_too_large").await;
    let long = json!({"username": "demo-commander", "password": "a".repeat(2000)});
    assert_error(
        client.post(&session).json(&long).send().await.unwrap(),
        422,
        "unprocessable",
    )
    .await;

    // None of that signed anybody in or counted as a guess at a password.
    assert_eq!(
        app.sign_in(&client, "demo-commander", "demo")
            .await
            .status(),
        200
    );
}

#[tokio::test]
async fn bad_queries_unknown_paths_and_wrong_methods_get_json_errors() {
    let app = spawn_app().await;
    let commander = app.signed_in("demo-commander").await;
    for query in [
        "limit=0",
        "limit=5000",
        "after=-1",
        "limit=ten",
        "after=1&colour=red",
    ] {
        let response = commander
            .get(app.url(&format!("/api/v1/events?{query}")))
            .send()
            .await
            .unwrap();
        assert_error(response, 400, "bad_request").await;
    }
    let client = reqwest::Client::new();
    for path in [
        "/api/v1/nothing-here",
        "/api/v2/session",
        "/api",
        "/no-app-here",
    ] {
        assert_error(
            client.get(app.url(path)).send().await.unwrap(),
            404,
            "not_found",
        )
        .await;
    }
    assert_error(
        client.put(app.url("/api/v1/session")).send().await.unwrap(),
        405,
        "method_not_allowed",
    )
    .await;
    assert_error(
        client
            .post(app.url("/api/v1/layers/communities"))
            .send()
            .await
            .unwrap(),
        405,
        "method_not_allowed",
    )
    .await;
}

#[tokio::test]
async fn the_communities_layer_is_public_geojson() {
    let app = spawn_app().await;
    let response = reqwest::Client::new()
        .get(app.url("/api/v1/layers/communities"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let layer: Value = response.json().await.unwrap();
    assert_eq!(layer["type"], "FeatureCollection");
    let features = layer["features"].as_array().unwrap();
    let mut ids: Vec<&str> = features.iter().map(|f| f["id"].as_str().unwrap()).collect();
    ids.sort_unstable();
    assert_eq!(
        ids,
        [
            "fenlukou",
            "weigang",
            "wulimiao",
            "xiaogeying",
            "xingfuli",
            "zhougudui",
            "zhugang"
        ]
    );
    let xingfuli = features.iter().find(|f| f["id"] == "xingfuli").unwrap();
    assert_eq!(xingfuli["properties"]["name"], "幸福里");
    assert_eq!(xingfuli["geometry"]["type"], "Polygon");
    let ring = xingfuli["geometry"]["coordinates"][0].as_array().unwrap();
    assert_eq!(ring.first(), ring.last(), "closed ring");
    let lon = ring[0][0].as_f64().unwrap();
    let lat = ring[0][1].as_f64().unwrap();
    assert!(
        (117.28..117.33).contains(&lon) && (31.83..31.86).contains(&lat),
        "{lon},{lat}"
    );
}

#[tokio::test]
async fn every_base_layer_is_public_geojson_revalidated_by_etag() {
    let app = spawn_app().await;
    let client = reqwest::Client::new();
    for (layer, geometry, at_least) in [
        ("grids", "Polygon", 21),
        ("roads", "LineString", 200),
        ("buildings", "Polygon", 2700),
    ] {
        let response = client
            .get(app.url(&format!("/api/v1/layers/{layer}")))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{layer}");
        assert_eq!(response.headers()["content-type"], "application/geo+json");
        let etag = response.headers()["etag"].to_str().unwrap().to_string();
        assert!(etag.starts_with(&format!("\"{layer}-")), "{etag}");
        let body: Value = response.json().await.unwrap();
        let features = body["features"].as_array().unwrap();
        assert!(features.len() >= at_least, "{layer}: {}", features.len());
        assert!(
            features.iter().all(|f| f["geometry"]["type"] == geometry),
            "{layer}"
        );
        assert!(
            features.iter().all(|f| f["properties"]["id"] == f["id"]),
            "{layer}"
        );

        let again = client
            .get(app.url(&format!("/api/v1/layers/{layer}")))
            .header("if-none-match", &etag)
            .send()
            .await
            .unwrap();
        assert_eq!(again.status(), 304, "{layer}");
        assert_eq!(again.headers()["etag"].to_str().unwrap(), etag);
        let stale = client
            .get(app.url(&format!("/api/v1/layers/{layer}")))
            .header("if-none-match", "\"buildings-0\"")
            .send()
            .await
            .unwrap();
        assert_eq!(stale.status(), 200, "{layer}");
    }
    let buildings: Value = client
        .get(app.url("/api/v1/layers/buildings"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let first = &buildings["features"][0]["properties"];
    for key in ["name", "compound", "levels", "community", "use"] {
        assert!(
            !first[key].is_null(),
            "building property {key} missing: {first}"
        );
    }
    let message = assert_error(
        client
            .get(app.url("/api/v1/layers/sewers"))
            .send()
            .await
            .unwrap(),
        404,
        "not_found",
    )
    .await;
    assert!(
        message.contains("communities, grids, buildings and roads"),
        "{message}"
    );
}

#[tokio::test]
async fn the_compact_form_of_a_layer_holds_the_same_features_in_fewer_bytes() {
    let app = spawn_app().await;
    let client = reqwest::Client::new();
    for layer in ["communities", "grids", "roads", "buildings"] {
        let geojson = client
            .get(app.url(&format!("/api/v1/layers/{layer}")))
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        let response = client
            .get(app.url(&format!("/api/v1/layers/{layer}?format=compact")))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{layer}");
        assert_eq!(
            response.headers()["content-type"],
            "application/vnd.linli.layer"
        );
        let etag = response.headers()["etag"].to_str().unwrap().to_string();
        assert!(etag.ends_with("-compact\""), "{etag}");
        let compact = response.bytes().await.unwrap();
        assert!(
            compact.len() * 2 < geojson.len(),
            "{layer}: compact {} B, GeoJSON {} B",
            compact.len(),
            geojson.len()
        );
        let decoded = linli_domain::compact::decode(&compact).unwrap();
        let expected: linli_domain::place::Layer = serde_json::from_slice(&geojson).unwrap();
        assert_eq!(decoded.features.len(), expected.features.len(), "{layer}");
        for (a, b) in decoded.features.iter().zip(&expected.features) {
            assert_eq!((&a.id, &a.properties), (&b.id, &b.properties));
            for (p, q) in a.geometry.positions().zip(b.geometry.positions()) {
                assert!((p[0] - q[0]).abs() < 1e-7 && (p[1] - q[1]).abs() < 1e-7);
            }
        }
        let again = client
            .get(app.url(&format!("/api/v1/layers/{layer}?format=compact")))
            .header("if-none-match", &etag)
            .send()
            .await
            .unwrap();
        assert_eq!(again.status(), 304, "{layer}");
    }
    // Unknown formats and parameters are refused, naming what was wrong.
    for query in ["format=shapefile", "format=", "fromat=compact"] {
        let message = assert_error(
            client
                .get(app.url(&format!("/api/v1/layers/roads?{query}")))
                .send()
                .await
                .unwrap(),
            400,
            "bad_request",
        )
        .await;
        assert!(message.contains("format"), "{query}: {message}");
    }
}

#[tokio::test]
async fn responses_are_compressed_for_clients_that_accept_gzip() {
    let app = spawn_app().await;
    let response = reqwest::Client::new()
        .get(app.url("/api/v1/layers/communities"))
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["content-encoding"], "gzip");
    // Layers are kept compressed: the gzipped body unpacks to the plain one, once.
    let client = reqwest::Client::new();
    for (query, accept) in [("", "gzip, br"), ("?format=compact", "deflate;q=0.5, gzip")] {
        let url = app.url(&format!("/api/v1/layers/buildings{query}"));
        let plain = client.get(&url).send().await.unwrap();
        assert!(plain.headers().get("content-encoding").is_none());
        let plain = plain.bytes().await.unwrap();
        let packed = client
            .get(&url)
            .header("accept-encoding", accept)
            .send()
            .await
            .unwrap();
        assert_eq!(packed.headers()["content-encoding"], "gzip", "{query}");
        assert_eq!(packed.headers()["vary"], "accept-encoding");
        let packed = packed.bytes().await.unwrap();
        assert!(packed.len() * 2 < plain.len(), "{query}");
        let mut unpacked = Vec::new();
        std::io::Read::read_to_end(
            &mut flate2::read::GzDecoder::new(&packed[..]),
            &mut unpacked,
        )
        .unwrap();
        assert_eq!(unpacked, plain, "{query}");
    }
    let refused = client
        .get(app.url("/api/v1/layers/roads"))
        .header("accept-encoding", "gzip;q=0")
        .send()
        .await
        .unwrap();
    assert!(refused.headers().get("content-encoding").is_none());
}

#[tokio::test]
async fn operations_endpoints_report_health_readiness_and_metrics() {
    let app = spawn_app().await;
    let client = reqwest::Client::new();
    let health: Value = client
        .get(app.url("/healthz"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(health["status"], "ok");
    let ready: Value = client
        .get(app.url("/readyz"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(ready["status"], "ready");

    app.sign_in(&client, "demo-commander", "wrong").await;
    let metrics = client.get(app.url("/metrics")).send().await.unwrap();
    assert!(metrics.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/plain; version=0.0.4"));
    let text = metrics.text().await.unwrap();
    assert!(
        text.contains(
            "linli_http_requests_total{method=\"GET\",route=\"/readyz\",status=\"200\"} 1"
        ),
        "{text}"
    );
    assert!(
        text.contains(
            "linli_http_requests_total{method=\"POST\",route=\"/api/v1/session\",status=\"401\"} 1"
        ),
        "{text}"
    );
    assert!(
        text.contains("linli_sign_ins_total{outcome=\"refused\"} 1"),
        "{text}"
    );
    assert!(text.contains("# TYPE linli_http_request_duration_seconds histogram"));
}

#[tokio::test]
async fn the_openapi_document_lists_every_route_with_its_access() {
    let app = spawn_app().await;
    let doc: Value = reqwest::get(app.url("/api/v1/openapi.json"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let paths = doc["paths"].as_object().unwrap();
    let mut listed: Vec<String> = paths
        .iter()
        .flat_map(|(path, item)| {
            item.as_object()
                .unwrap()
                .keys()
                .map(move |m| format!("{} {path}", m.to_uppercase()))
        })
        .collect();
    listed.sort();
    assert_eq!(
        listed,
        [
            "DELETE /drills/{id}",
            "DELETE /notices/{id}",
            "DELETE /notify/channels/{id}",
            "DELETE /patrols/units/{id}/run",
            "DELETE /session",
            "GET /alerts",
            "GET /alerts/{id}",
            "GET /alerts/{id}/deliveries",
            "GET /alerts/{id}/escalation",
            "GET /cases",
            "GET /cases/{id}",
            "GET /cases/{id}/photos/{photo}",
            "GET /dispatches",
            "GET /dispatches/candidates",
            "GET /drills",
            "GET /events",
            "GET /homes",
            "GET /homes/{id}/thresholds",
            "GET /layers/{layer}",
            "GET /notices",
            "GET /notify/channels",
            "GET /notify/rosters/{community}",
            "GET /patrols/routes",
            "GET /patrols/units",
            "GET /public/status",
            "GET /session",
            "GET /snapshot",
            "GET /stats",
            "GET /stream",
            "GET /thresholds",
            "POST /alerts/{id}/ack",
            "POST /alerts/{id}/escalate",
            "POST /alerts/{id}/resolve",
            "POST /cases",
            "POST /cases/{id}/events",
            "POST /cases/{id}/photos",
            "POST /dispatches",
            "POST /dispatches/{id}/events",
            "POST /drills",
            "POST /homes/{id}/check-ins",
            "POST /ingest",
            "POST /notices",
            "POST /notify/channels",
            "POST /patrols/units/{id}/position",
            "POST /patrols/units/{id}/run",
            "POST /session",
            "PUT /homes/{id}/thresholds",
            "PUT /notify/rosters/{community}",
            "PUT /thresholds"
        ]
    );
    let access = |method: &str, path: &str| {
        doc["paths"][path][method]["description"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert!(access("get", "/events").contains("commanders only"));
    assert!(access("post", "/notify/channels").contains("commanders only"));
    assert!(access("get", "/session").contains("any signed-in user"));
    assert!(access("post", "/session").contains("anyone"));
    assert!(access("post", "/ingest").contains("Bearer"));
    assert_eq!(
        doc["paths"]["/ingest"]["post"]["security"],
        json!([{"device_token": []}])
    );
    assert_eq!(
        doc["paths"]["/events"]["get"]["security"],
        json!([{"session_cookie": []}])
    );
    assert!(doc["paths"]["/session"]["post"].get("security").is_none());
    // A body the handler does without is optional in the document, every other one
    // required: a client (and Schemathesis) leaving out a required one is refused.
    let optional_bodies: Vec<&String> = listed
        .iter()
        .filter(|entry| {
            let (method, path) = entry.split_once(' ').unwrap();
            let body = &doc["paths"][path][method.to_lowercase()]["requestBody"];
            body.is_object() && body["required"] != true
        })
        .collect();
    assert_eq!(
        optional_bodies,
        [
            "DELETE /patrols/units/{id}/run",
            "POST /alerts/{id}/escalate"
        ]
    );
    assert_eq!(
        doc["components"]["securitySchemes"]["session_cookie"]["in"],
        "cookie"
    );

    // Every documented operation exists: none answers 404 or 405.
    let client = reqwest::Client::new();
    for entry in &listed {
        let (method, path) = entry.split_once(' ').unwrap();
        let path = path.replace("{layer}", "buildings").replace("{id}", "1");
        let url = app.url(&format!("/api/v1{path}"));
        let status = client
            .request(method.parse().unwrap(), url)
            .send()
            .await
            .unwrap()
            .status();
        assert!(status != 404 && status != 405, "{entry} answered {status}");
    }
}

#[tokio::test]
async fn the_demo_loads_once_however_often_the_server_starts() {
    let app = spawn_app().await;
    let url = app.database_url.clone();
    let events_before = app.store.events_after(0, 1000).await.unwrap().len();
    // A second server on the same database finds everything there already.
    let again = linli_server::startup::Application::build(linli_server::startup::Settings {
        addr: "127.0.0.1:0".parse().unwrap(),
        database_url: url.parse().unwrap(),
        demo: true,
        static_dir: None,
        secure_cookies: false,
        sign_in_policy: Policy::default(),
        mqtt: None,
        simulate: false,
        trusted_proxies: Vec::new(),
        limits: Default::default(),
        public_url: None,
        cluster_url: None,
    })
    .await
    .unwrap();
    assert_eq!(again.demo_accounts.len(), 10);
    assert_eq!(again.store().communities().await.unwrap().len(), 7);
    assert_eq!(
        again.store().events_after(0, 1000).await.unwrap().len(),
        events_before
    );
}

#[tokio::test]
async fn without_the_demo_the_map_starts_empty_and_nobody_can_sign_in() {
    let app = spawn_app_with(Policy::default(), false).await;
    let layer: Value = reqwest::get(app.url("/api/v1/layers/communities"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(layer["features"], json!([]));
    assert_error(
        app.sign_in(&reqwest::Client::new(), "demo-commander", "demo")
            .await,
        401,
        "unauthorized",
    )
    .await;
}

#[tokio::test]
async fn homes_cases_routes_and_snapshot_are_for_staff_only() {
    let app = spawn_app().await;
    let anonymous = reqwest::Client::new();
    for path in [
        "/api/v1/homes",
        "/api/v1/cases",
        "/api/v1/patrols/routes",
        "/api/v1/snapshot",
    ] {
        assert_error(
            anonymous.get(app.url(path)).send().await.unwrap(),
            401,
            "unauthorized",
        )
        .await;
    }
}

#[tokio::test]
async fn a_grid_worker_sees_only_their_communitys_homes_and_cases() {
    let app = spawn_app().await;
    let get = |client: reqwest::Client, path: &'static str| {
        let url = app.url(path);
        async move {
            client
                .get(url)
                .send()
                .await
                .unwrap()
                .json::<Vec<Value>>()
                .await
                .unwrap()
        }
    };
    let all_homes = get(app.signed_in("demo-commander").await, "/api/v1/homes").await;
    assert_eq!(all_homes.len(), 600);
    let home = &all_homes[0];
    for key in [
        "resident", "room", "phone", "contact", "position", "sensors", "grid", "building",
    ] {
        assert!(home.get(key).is_some(), "home lacks {key}: {home}");
    }
    assert_eq!(
        get(app.signed_in("demo-viewer").await, "/api/v1/homes")
            .await
            .len(),
        600
    );

    let worker = app.signed_in("demo-grid-xingfuli").await;
    let own = get(worker.clone(), "/api/v1/homes").await;
    assert!(!own.is_empty() && own.len() < 600);
    assert!(own.iter().all(|h| h["community"] == "xingfuli"));
    assert_eq!(
        own.len(),
        all_homes
            .iter()
            .filter(|h| h["community"] == "xingfuli")
            .count()
    );

    let all_cases = get(app.signed_in("demo-commander").await, "/api/v1/cases").await;
    assert_eq!(all_cases.len(), 40);
    let own_cases = get(worker.clone(), "/api/v1/cases").await;
    assert!(own_cases.iter().all(|c| c["community"] == "xingfuli"));
    assert_eq!(
        own_cases.len(),
        all_cases
            .iter()
            .filter(|c| c["community"] == "xingfuli")
            .count()
    );

    let refused = worker
        .get(app.url("/api/v1/cases?community=weigang"))
        .send()
        .await
        .unwrap();
    let message = assert_error(refused, 403, "forbidden").await;
    assert!(message.contains("weigang"), "{message}");

    let snapshot: Value = worker
        .get(app.url("/api/v1/snapshot"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(snapshot["last_event_id"].as_i64().unwrap() > 0);
    assert_eq!(snapshot["homes"].as_array().unwrap().len(), own.len());
    assert_eq!(snapshot["cases"].as_array().unwrap().len(), own_cases.len());
    // Routes: xingfuli's and the district-wide ones (no community), not the others'.
    let all_routes: Value = get_json(
        &app.signed_in("demo-commander").await,
        app.url("/api/v1/patrols/routes"),
    )
    .await;
    let theirs = |routes: &Value| -> Vec<Value> {
        routes["features"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| {
                let c = &r["properties"]["community"];
                c.is_null() || c == "xingfuli"
            })
            .cloned()
            .collect()
    };
    assert_eq!(all_routes["features"].as_array().unwrap().len(), 6);
    let routes = snapshot["routes"]["features"].as_array().unwrap();
    assert!(!routes.is_empty() && routes.len() < 6);
    assert_eq!(*routes, theirs(&all_routes));
}

#[tokio::test]
async fn cases_filter_by_stage_and_community_and_refuse_unknown_values() {
    let app = spawn_app().await;
    let commander = app.signed_in("demo-commander").await;
    let closed: Vec<Value> = commander
        .get(app.url("/api/v1/cases?stage=closed"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(!closed.is_empty());
    assert!(closed
        .iter()
        .all(|c| c["stage"] == "closed" && !c["outcome"].is_null()));
    let weigang: Vec<Value> = commander
        .get(app.url("/api/v1/cases?community=weigang"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(weigang.iter().all(|c| c["community"] == "weigang"));
    assert!(
        weigang.iter().any(|c| c["title"] == "小区绿地被围成菜地"),
        "the article's green-space case is in 卫岗"
    );
    let cases = |query: &'static str| {
        let commander = commander.clone();
        let url = app.url(&format!("/api/v1/cases?{query}"));
        async move { get_json::<Vec<Value>>(&commander, url).await }
    };
    let environment = cases("category=environment").await;
    assert!(!environment.is_empty());
    assert!(environment.iter().all(|c| c["category"] == "environment"));
    let overdue = cases("overdue=true").await;
    assert!(
        !overdue.is_empty(),
        "the demo has cases open past their due time"
    );
    assert!(overdue
        .iter()
        .all(|c| c["overdue"] == true && c["stage"] != "closed"));
    let in_time = cases("overdue=false").await;
    assert!(in_time.iter().all(|c| c["overdue"] == false));
    assert_eq!(
        overdue.len() + in_time.len(),
        cases("").await.len(),
        "every case is one or the other"
    );
    for query in [
        "stage=done",
        "community=Wei Gang",
        "colour=red",
        "category=noise",
        "overdue=maybe",
    ] {
        let response = commander
            .get(app.url(&format!("/api/v1/cases?{query}")))
            .send()
            .await
            .unwrap();
        assert_error(response, 400, "bad_request").await;
    }
}

#[tokio::test]
async fn patrol_routes_are_geojson_loops_with_ordered_checkpoints() {
    let app = spawn_app().await;
    let routes: Value = app
        .signed_in("demo-commander")
        .await
        .get(app.url("/api/v1/patrols/routes"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let features = routes["features"].as_array().unwrap();
    assert_eq!(features.len(), 6);
    let yinghai = features
        .iter()
        .find(|f| {
            f["properties"]["name"]
                .as_str()
                .unwrap()
                .contains("绿地赢海")
        })
        .unwrap();
    assert_eq!(yinghai["geometry"]["type"], "LineString");
    assert_eq!(
        yinghai["properties"]["checkpoints"]
            .as_array()
            .unwrap()
            .len(),
        12
    );
}

#[tokio::test]
async fn the_public_status_has_aggregates_and_no_personal_data() {
    let app = spawn_app().await;
    let commander = app.signed_in("demo-commander").await;
    let homes: Vec<Value> = commander
        .get(app.url("/api/v1/homes"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let cases: Vec<Value> = commander
        .get(app.url("/api/v1/cases"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();

    let response = reqwest::Client::new()
        .get(app.url("/api/v1/public/status"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let text = response.text().await.unwrap();
    let status: Value = serde_json::from_str(&text).unwrap();
    let communities = status["communities"].as_array().unwrap();
    assert_eq!(communities.len(), 7);
    let open_total: u64 = communities
        .iter()
        .map(|c| c["open_cases"].as_u64().unwrap())
        .sum();
    assert_eq!(
        open_total as usize,
        cases.iter().filter(|c| c["stage"] != "closed").count()
    );
    for c in communities {
        let monitored = c["homes_monitored"].as_u64().unwrap();
        assert!(monitored >= 5);
        assert_eq!(
            monitored as usize,
            homes.iter().filter(|h| h["community"] == c["id"]).count()
        );
    }
    // Nothing that names or places a person: no resident, phone, room or home position.
    for home in &homes {
        for key in ["resident", "phone", "room"] {
            // As a JSON string anywhere (a room "202" is also part of "2026-…").
            let value = home[key].as_str().unwrap_or_default();
            assert!(
                value.is_empty() || !text.contains(&format!("\"{value}\"")),
                "public status leaks {key} {value}"
            );
        }
        let lon = format!("{}", home["position"][0]);
        assert!(!text.contains(&lon), "public status leaks a home position");
    }
    for key in [
        "resident", "phone", "room", "position", "contact", "sensors",
    ] {
        assert!(
            !text.contains(&format!("\"{key}\"")),
            "public status has a `{key}` field"
        );
    }
}

#[tokio::test]
async fn the_public_figures_are_worked_out_once_and_revalidated_by_etag() {
    let app = spawn_app().await;
    let commander = app.signed_in("demo-commander").await;
    // A case reported and solved this month, before anyone reads the figures.
    let case: Value = commander
        .post(app.url("/api/v1/cases"))
        .json(
            &json!({"title": "路灯不亮", "category": "infrastructure", "source": "hotline",
                      "community": "wulimiao", "position": [117.3051, 31.8452]}),
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = case["id"].as_i64().unwrap();
    for step in [
        json!({"action": "advance", "to": "identified"}),
        json!({"action": "advance", "to": "joint-handling"}),
        json!({"action": "close", "outcome": "solved"}),
    ] {
        let response = commander
            .post(app.url(&format!("/api/v1/cases/{id}/events")))
            .json(&step)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
    }

    let public = reqwest::Client::new();
    let first = public
        .get(app.url("/api/v1/public/status"))
        .send()
        .await
        .unwrap();
    assert_eq!(first.status(), 200);
    assert_eq!(first.headers()["cache-control"], "public, max-age=30");
    let etag = first.headers()["etag"].to_str().unwrap().to_string();
    assert!(etag.starts_with('"') && etag.ends_with('"'), "{etag}");
    let status: Value = first.json().await.unwrap();
    let wulimiao = status["communities"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "wulimiao")
        .unwrap();
    assert!(wulimiao["reported_this_month"].as_u64().unwrap() >= 1);
    assert!(wulimiao["solved_this_month"].as_u64().unwrap() >= 1);
    assert!(wulimiao["average_days_to_solve"].as_f64().unwrap() >= 0.0);
    assert!(wulimiao["elders_visited_this_month"].is_u64());
    // The coarse map holds every open case and every case solved this month.
    let sum = |rows: &Value, key: &str| -> u64 {
        rows.as_array()
            .unwrap()
            .iter()
            .map(|r| r[key].as_u64().unwrap())
            .sum()
    };
    assert_eq!(
        sum(&status["areas"], "open_cases"),
        sum(&status["communities"], "open_cases")
    );
    assert_eq!(
        sum(&status["areas"], "solved_this_month"),
        sum(&status["communities"], "solved_this_month")
    );
    let cell = status["areas"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["centre"] == json!([117.3075, 31.8475]))
        .expect("the solved case's cell, centred on the 0.005° grid");
    assert!(cell["solved_this_month"].as_u64().unwrap() >= 1);

    // A browser that has these figures is told they did not change.
    let again = public
        .get(app.url("/api/v1/public/status"))
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 304);
    assert_eq!(again.headers()["etag"], etag.as_str());
    assert!(again.bytes().await.unwrap().is_empty());
    let other = public
        .get(app.url("/api/v1/public/status"))
        .header("if-none-match", "\"something-else\"")
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), 200);
    // A crowd of readers within the half minute gets the same worked-out figures: a
    // new case does not send each of them to the store.
    commander
        .post(app.url("/api/v1/cases"))
        .json(
            &json!({"title": "井盖松动", "category": "infrastructure", "source": "hotline",
                      "community": "wulimiao", "position": [117.3052, 31.8453]}),
        )
        .send()
        .await
        .unwrap();
    for _ in 0..20 {
        let response = public
            .get(app.url("/api/v1/public/status"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.headers()["etag"], etag.as_str());
    }

    // A notice is different: the public sees it at once, and no longer once withdrawn.
    let published = commander
        .post(app.url("/api/v1/notices"))
        .json(
            &json!({"title": "停水通知", "body": "12月2日 9:00–12:00 五里庙片区停水",
                      "until": "2099-01-01T00:00:00Z"}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(
        published.status(),
        422,
        "an end more than a year ahead is refused"
    );
    let published = commander
        .post(app.url("/api/v1/notices"))
        .json(&json!({"title": "停水通知", "body": "12月2日 9:00–12:00 五里庙片区停水"}))
        .send()
        .await
        .unwrap();
    assert_eq!(published.status(), 201);
    let notice: Notice = published.json().await.unwrap();
    assert!(notice.until.is_none() && notice.published_at.millis() <= now_ms());
    let shown = public
        .get(app.url("/api/v1/public/status"))
        .send()
        .await
        .unwrap();
    assert_ne!(shown.headers()["etag"], etag.as_str());
    let text = shown.text().await.unwrap();
    assert!(
        !text.contains("demo-commander"),
        "who published it stays inside the office"
    );
    let shown: PublicStatus = serde_json::from_str(&text).unwrap();
    assert_eq!(shown.notices, std::slice::from_ref(&notice));
    let withdrawn = commander
        .delete(app.url(&format!("/api/v1/notices/{}", notice.id)))
        .send()
        .await
        .unwrap();
    assert_eq!(withdrawn.status(), 200);
    let again = commander
        .delete(app.url(&format!("/api/v1/notices/{}", notice.id)))
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 404, "withdrawn already");
    let shown: PublicStatus = get_json(&public, app.url("/api/v1/public/status")).await;
    assert!(shown.notices.is_empty());
    // Bad input changes nothing.
    for bad in [
        json!({"title": ""}),
        json!({"title": "通知", "until": "next week"}),
        json!({"title": "通知", "until": "2020-01-01T00:00:00Z"}),
        json!({"title": "通知", "colour": "red"}),
        json!({"body": "no title"}),
    ] {
        let response = commander
            .post(app.url("/api/v1/notices"))
            .json(&bad)
            .send()
            .await
            .unwrap();
        assert!(
            response.status() == 422 || response.status() == 400,
            "{bad}: {}",
            response.status()
        );
    }
    let listed: Vec<Notice> = get_json(&commander, app.url("/api/v1/notices")).await;
    assert!(listed.is_empty(), "{listed:?}");
}

/// Issue 14: a dangling `$ref` (`Format`), enums in Rust spelling (`Closed`) where the
/// wire says `closed`, and query parameters described as path parameters: a client
/// generated from the document would break. (Schemathesis checks the rest against the
/// running server in `make test`.)
#[tokio::test]
async fn the_openapi_document_is_true_to_the_wire() {
    let app = spawn_app().await;
    let document: Value = get_json(&reqwest::Client::new(), app.url("/api/v1/openapi.json")).await;
    let text = document.to_string();
    let schemas = document["components"]["schemas"].as_object().unwrap();
    for reference in text.split("#/components/schemas/").skip(1) {
        let name: String = reference.chars().take_while(|c| *c != '"').collect();
        assert!(schemas.contains_key(&name), "dangling $ref {name}");
    }
    assert_eq!(
        schemas["CaseStage"]["enum"],
        json!([
            "reported",
            "identified",
            "negotiating",
            "joint-handling",
            "consolidating",
            "closed"
        ])
    );
    for (name, schema) in schemas {
        for value in schema["enum"].as_array().into_iter().flatten() {
            let value = value.as_str().unwrap();
            assert_eq!(
                value,
                value.to_lowercase(),
                "{name}: `{value}` is not on the wire"
            );
        }
    }
    for (path, item) in document["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            for parameter in operation["parameters"].as_array().into_iter().flatten() {
                let place = parameter["in"].as_str().unwrap();
                let name = parameter["name"].as_str().unwrap();
                let in_path = path.contains(&format!("{{{name}}}"));
                assert_eq!(
                    place == "path",
                    in_path,
                    "{method} {path}: {name} is `in: {place}`"
                );
            }
            let responses = operation["responses"].as_object().unwrap();
            if operation.get("security").is_some() {
                assert!(responses.contains_key("401"), "{method} {path} without 401");
            }
        }
    }
}
