//! The browser-facing defences every response and request goes through:
//!
//! - [`headers`]: a Content-Security-Policy the Wasm app works under (its scripts only
//!   from this origin or, for the one inline loader trunk writes into `index.html`, by
//!   that script's hash; Wasm compiled; no framing), `nosniff`, no referrer leaving the
//!   site.
//! - [`same_origin_writes`]: a write (`POST`, `PUT`, `PATCH`, `DELETE`) that a browser
//!   says comes from another site is refused with 403 before it reaches a handler. The
//!   session cookie is `SameSite=Strict` already; this is the second lock, and it
//!   also covers browsers that ignore SameSite. Clients that are not browsers (sensors,
//!   gateways, scripts) send neither header and are not affected.

use crate::error::AppError;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use sha2::{Digest as _, Sha256};
use std::path::Path;
use std::sync::Arc;

/// The Content-Security-Policy for the app in `static_dir` (the inline scripts of its
/// pages allowed by hash), or for the API alone.
pub fn content_security_policy(static_dir: Option<&Path>) -> String {
    let pages: Vec<String> = static_dir
        .map(|dir| {
            super::app_pages()
                .iter()
                .filter_map(|page| std::fs::read_to_string(dir.join(page)).ok())
                .collect()
        })
        .unwrap_or_default();
    let hashes: String = pages
        .iter()
        .flat_map(|page| inline_scripts(page))
        .map(|script| {
            let digest = Sha256::digest(script.as_bytes());
            format!(
                " 'sha256-{}'",
                base64::engine::general_purpose::STANDARD.encode(digest)
            )
        })
        .collect();
    // Styles: the app sets a few `style` attributes (legend swatches), which only
    // 'unsafe-inline' allows; no script can run from a style.
    format!(
        "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'{hashes}; \
         style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; connect-src 'self'; \
         object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
    )
}

/// The bodies of the `<script>` elements of `html` that have no `src`.
fn inline_scripts(html: &str) -> impl Iterator<Item = &str> {
    html.split("<script").skip(1).filter_map(|rest| {
        let (attributes, after) = rest.split_once('>')?;
        if attributes.contains("src=") {
            return None;
        }
        after.split_once("</script>").map(|(body, _)| body)
    })
}

/// Adds the security headers to every response (a handler's own value stays).
pub async fn headers(State(policy): State<Arc<str>>, request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let h = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&policy) {
        h.entry(header::CONTENT_SECURITY_POLICY).or_insert(value);
    }
    for (name, value) in [
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::REFERRER_POLICY, "same-origin"),
    ] {
        h.entry(name).or_insert(HeaderValue::from_static(value));
    }
    response
}

/// Whether the browser says the request comes from another site: `Sec-Fetch-Site`
/// when it sends one, else an `Origin` that is not this host.
fn from_another_site(headers: &HeaderMap) -> bool {
    if let Some(site) = headers.get("sec-fetch-site") {
        // `none` is the user's own doing (typed address, bookmark).
        return !matches!(site.as_bytes(), b"same-origin" | b"none");
    }
    let Some(origin) = headers.get(header::ORIGIN) else {
        return false;
    };
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
    let origin_host = origin
        .to_str()
        .ok()
        .and_then(|o| o.split_once("://"))
        .map(|(_, rest)| rest.trim_end_matches('/'));
    match (origin_host, host) {
        (Some(origin), Some(host)) => !origin.eq_ignore_ascii_case(host),
        // `Origin: null` (a sandboxed frame, a file) or no Host: not ours.
        _ => true,
    }
}

/// Refuses cross-site writes.
pub async fn same_origin_writes(request: Request, next: Next) -> Response {
    let writes = !matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    );
    if writes && from_another_site(request.headers()) {
        return AppError::Forbidden(
            "a change from another site's page is refused; use Linli's own pages".into(),
        )
        .into_response();
    }
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        pairs
            .iter()
            .map(|(k, v)| {
                (
                    header::HeaderName::from_static(k),
                    HeaderValue::from_static(v),
                )
            })
            .collect()
    }

    #[test]
    fn other_sites_are_told_apart_from_this_one() {
        let ours = [("host", "127.0.0.1:8080")];
        assert!(!from_another_site(&headers(&ours)), "no browser headers");
        assert!(!from_another_site(&headers(&[
            ("host", "127.0.0.1:8080"),
            ("origin", "http://127.0.0.1:8080")
        ])));
        assert!(from_another_site(&headers(&[
            ("host", "127.0.0.1:8080"),
            ("origin", "https://evil.example")
        ])));
        assert!(from_another_site(&headers(&[
            ("host", "127.0.0.1:8080"),
            ("origin", "null")
        ])));
        assert!(from_another_site(&headers(&[
            ("host", "127.0.0.1:8080"),
            ("origin", "http://127.0.0.1:8080"),
            ("sec-fetch-site", "cross-site")
        ])));
        assert!(from_another_site(&headers(&[(
            "sec-fetch-site",
            "same-site"
        )])));
        assert!(!from_another_site(&headers(&[(
            "sec-fetch-site",
            "same-origin"
        )])));
    }

    #[test]
    fn inline_loader_scripts_are_found_and_external_ones_skipped() {
        let html = "<head><script type=\"module\">import init from '/a.js';</script>\
                    <script src=\"/b.js\"></script><script>x()</script></head>";
        let found: Vec<&str> = inline_scripts(html).collect();
        assert_eq!(found, ["import init from '/a.js';", "x()"]);
        let policy = content_security_policy(None);
        assert!(policy.contains("frame-ancestors 'none'"));
        assert!(!policy.contains("sha256"), "no app, no hashes: {policy}");
    }
}
