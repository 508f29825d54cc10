//! The browser-facing defences through the real service: a signed-in clerk's browser
//! tricked by another site into a write (a cross-site `Origin`, or `Sec-Fetch-Site`
//! saying so) is refused with 403 and changes nothing, while the app's own requests
//! and clients that are not browsers go through; every response carries the security
//! headers.

use crate::support::*;
use serde_json::{json, Value};

fn new_case(title: &str) -> Value {
    json!({"title": title, "category": "environment", "source": "hotline",
           "community": "wulimiao", "position": [117.305, 31.845]})
}

async fn case_count(client: &reqwest::Client, app: &TestApp) -> usize {
    let cases: Vec<Value> = get_json(client, app.url("/api/v1/cases")).await;
    cases.len()
}

#[tokio::test]
async fn writes_from_another_site_are_refused_and_change_nothing() {
    let app = spawn_app().await;
    let clerk = app.signed_in("demo-commander").await;
    let before = case_count(&clerk, &app).await;
    let host = app.url("").trim_end_matches('/').to_string();
    for (name, value) in [
        ("origin", "https://evil.example"),
        ("origin", "null"),
        ("sec-fetch-site", "cross-site"),
        ("sec-fetch-site", "same-site"),
    ] {
        let refused = clerk
            .post(app.url("/api/v1/cases"))
            .header(name, value)
            .json(&new_case("跨站写入"))
            .send()
            .await
            .unwrap();
        let message = assert_error(refused, 403, "forbidden").await;
        assert!(message.contains("another site"), "{name}: {message}");
    }
    // Signing out counts as a write too: the session survives the attempt.
    let refused = clerk
        .delete(app.url("/api/v1/session"))
        .header("origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    assert_error(refused, 403, "forbidden").await;
    assert_eq!(
        case_count(&clerk, &app).await,
        before,
        "nothing was created"
    );

    // The app's own page, and a script with no browser headers, may write.
    for headers in [
        vec![("origin", host.as_str()), ("sec-fetch-site", "same-origin")],
        vec![("origin", host.as_str())],
        vec![],
    ] {
        let mut request = clerk
            .post(app.url("/api/v1/cases"))
            .json(&new_case("同源上报"));
        for (name, value) in headers {
            request = request.header(name, value);
        }
        assert_eq!(request.send().await.unwrap().status(), 201);
    }
    assert_eq!(case_count(&clerk, &app).await, before + 3);
    // Reading from another site's page is not a write (the cookie's SameSite and CORS
    // keep the answer from that page).
    let read = clerk
        .get(app.url("/api/v1/cases"))
        .header("sec-fetch-site", "cross-site")
        .send()
        .await
        .unwrap();
    assert_eq!(read.status(), 200);
}

#[tokio::test]
async fn every_response_carries_the_security_headers() {
    let app = spawn_app().await;
    for path in [
        "/healthz",
        "/api/v1/session",
        "/api/v1/no-such-thing",
        "/api/v1/public/status",
    ] {
        let response = reqwest::get(app.url(path)).await.unwrap();
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_string()
        };
        let policy = header("content-security-policy");
        assert!(
            policy.contains("frame-ancestors 'none'"),
            "{path}: {policy}"
        );
        assert!(
            policy.contains("script-src 'self' 'wasm-unsafe-eval'"),
            "{path}: {policy}"
        );
        assert_eq!(header("x-content-type-options"), "nosniff", "{path}");
        assert_eq!(header("x-frame-options"), "DENY", "{path}");
        assert_eq!(header("referrer-policy"), "same-origin", "{path}");
    }
}
