//! Session tokens and the cookie that carries them.
//!
//! A token is 32 random bytes, URL-safe base64; only its SHA-256 is stored.

use axum::http::{header, HeaderMap};
use base64::Engine as _;
use rand::RngCore as _;
use sha2::{Digest as _, Sha256};

/// Name of the session cookie.
pub const COOKIE_NAME: &str = "linli_session";

/// How long a session lasts: a week, so that a wall screen or a tablet is not signed
/// out in the middle of a shift.
pub const SESSION_LIFETIME_MS: i64 = 7 * 24 * 3600 * 1000;

/// A new random token.
pub fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// What the store keeps of a token.
pub fn token_hash(token: &str) -> String {
    let digest = Sha256::digest(token.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// The token of an `Authorization: Bearer …` header, if any.
pub fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(str::trim)
        .filter(|t| !t.is_empty())
}

/// The session token in a request's `Cookie` headers, if any.
pub fn token_from_headers(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE_NAME)
        .map(|(_, value)| value.to_string())
        .filter(|value| !value.is_empty())
}

/// `Set-Cookie` value that stores `token` for the session's lifetime. HttpOnly keeps it
/// from scripts; SameSite=Strict keeps other sites from sending it.
pub fn set_cookie(token: &str, secure: bool) -> String {
    format!(
        "{COOKIE_NAME}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}{}",
        SESSION_LIFETIME_MS / 1000,
        if secure { "; Secure" } else { "" }
    )
}

/// The cookie that tells the app a session may exist (`1`), readable by its scripts
/// unlike the session's own: without it the app does not ask `GET /api/v1/session`,
/// whose `401` browsers log as an error on every signed-out page. It holds nothing
/// secret; the session cookie alone signs requests in.
pub const HINT_COOKIE_NAME: &str = "linli_signed_in";

/// `Set-Cookie` value of the hint cookie: set with the session (`signed_in`), or
/// removed with it.
pub fn hint_cookie(signed_in: bool, secure: bool) -> String {
    format!(
        "{HINT_COOKIE_NAME}={}; Path=/; SameSite=Strict; Max-Age={}{}",
        if signed_in { "1" } else { "" },
        if signed_in {
            SESSION_LIFETIME_MS / 1000
        } else {
            0
        },
        if secure { "; Secure" } else { "" }
    )
}

/// `Set-Cookie` value that removes the session cookie.
pub fn clear_cookie(secure: bool) -> String {
    format!(
        "{COOKIE_NAME}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0{}",
        if secure { "; Secure" } else { "" }
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn tokens_are_long_random_and_hashed() {
        let (a, b) = (new_token(), new_token());
        assert_ne!(a, b);
        assert_eq!(a.len(), 43);
        assert_eq!(token_hash(&a).len(), 64);
        assert_ne!(token_hash(&a), a);
    }

    #[test]
    fn finds_the_session_among_other_cookies() {
        let mut headers = HeaderMap::new();
        headers.append(
            header::COOKIE,
            HeaderValue::from_static("theme=dark; linli_session=abc"),
        );
        assert_eq!(token_from_headers(&headers).as_deref(), Some("abc"));
        headers.clear();
        headers.append(header::COOKIE, HeaderValue::from_static("linli_session="));
        assert_eq!(token_from_headers(&headers), None);
    }
}
