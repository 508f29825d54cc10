//! `/api/v1/session`: sign in, who am I, sign out.

use super::extract::ApiJson;
use super::AppState;
use crate::auth::access::{caller_from_headers, Caller};
use crate::auth::{password, token};
use crate::clock::now_ms;
use crate::error::{ApiResult, AppError};
use crate::sign_in_limits::Attempt;
use crate::store::{Actor, Change};
use axum::extract::{ConnectInfo, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{AppendHeaders, IntoResponse, Response};
use linli_domain::{ErrorBody, SessionInfo, SignIn, Username};
use std::net::SocketAddr;

/// Longer passwords are refused before hashing, so a huge one cannot tie up a core.
const MAX_PASSWORD_BYTES: usize = 1024;

const WRONG_CREDENTIALS: &str = "wrong username or password";

/// Sign in with a username and password.
///
/// On success sets the HttpOnly, SameSite=Strict session cookie and returns who signed
/// in. Attempts are limited per account at an address, per address, and (only slowed)
/// per account; past a limit the answer is `429` with `Retry-After`, even for the
/// right password. When too many passwords are being checked at once the answer is
/// `503` with `Retry-After`.
#[utoipa::path(post, path = "/session", tag = "session", request_body = SignIn,
    responses(
        (status = 200, description = "Signed in; the session cookie is set", body = SessionInfo),
        (status = 400, description = "Not JSON", body = ErrorBody),
        (status = 401, description = "Wrong username or password", body = ErrorBody),
        (status = 403, description = "The account is disabled", body = ErrorBody),
        (status = 415, description = "Not `application/json`", body = ErrorBody),
        (status = 422, description = "Malformed body", body = ErrorBody),
        (status = 429, description = "Too many failed attempts", body = ErrorBody),
        (status = 503, description = "Too many sign-ins at once; try again shortly", body = ErrorBody),
    ))]
pub async fn sign_in(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<SignIn>,
) -> ApiResult<Response> {
    if body.password.len() > MAX_PASSWORD_BYTES {
        return Err(AppError::Unprocessable(format!(
            "the password is longer than {MAX_PASSWORD_BYTES} bytes"
        )));
    }
    // What is logged and counted of a username: never more than a name can be.
    let claimed: String = body.username.chars().take(Username::MAX_LEN).collect();
    let address = state.proxies.client(peer.ip(), &headers);
    let attempt = Attempt::new(&claimed, address);
    let attempt_id = match (state.store)
        .begin_sign_in(&attempt, &state.sign_in_policy, now_ms())
        .await?
    {
        Ok(id) => id,
        Err(wait) => {
            state.metrics.count("linli_sign_ins_total", "rate_limited");
            return Err(AppError::RateLimited {
                message: format!(
                    "too many failed sign-ins; try again in {} seconds",
                    wait.as_secs()
                ),
                retry_after_secs: wait.as_secs(),
            });
        }
    };

    let user = match Username::parse(body.username.as_str()) {
        Ok(name) => state.store.user_by_name(&name).await?,
        Err(_) => None,
    };
    let password = body.password;
    let checked = state
        .hashing
        .run(move || match user {
            Some(user) if password::verify(&password, &user.password_hash) => Some(user),
            Some(_) => None,
            None => {
                password::verify_against_nobody(&password);
                None
            }
        })
        .await;
    let verified = match checked {
        Ok(verified) => verified,
        Err(password::Busy) => {
            if let Err(err) = state.store.withdraw_sign_in(attempt_id).await {
                // It stays counted as a failure: the safer side.
                tracing::warn!("cannot take back a sign-in attempt: {err}");
            }
            state.metrics.count("linli_sign_ins_total", "busy");
            return Err(AppError::Busy(
                "too many sign-ins at once; try again in a second".into(),
            ));
        }
    };

    let Some(user) = verified else {
        state.metrics.count("linli_sign_ins_total", "refused");
        tracing::info!(username = %claimed, %address, "sign-in refused");
        return Err(AppError::Unauthorized(WRONG_CREDENTIALS.into()));
    };

    if let Err(err) = state.store.sign_in_succeeded(attempt_id, &attempt).await {
        // The owner is let in; their attempt stays counted as a failure.
        tracing::warn!("cannot forgive the failed sign-ins of {claimed}: {err}");
    }
    if user.disabled {
        return Err(AppError::Forbidden(
            "this account is disabled; the street office can enable it again".into(),
        ));
    }
    let session_token = token::new_token();
    let now = now_ms();
    state
        .store
        .create_session(
            &Change::new(Actor::User(user.username.clone()), now),
            user.id,
            &token::token_hash(&session_token),
            now + token::SESSION_LIFETIME_MS,
        )
        .await?;
    state.metrics.count("linli_sign_ins_total", "accepted");
    tracing::info!(username = %user.username, role = %user.role, "signed in");
    let info = SessionInfo {
        username: user.username,
        role: user.role,
        communities: user.communities,
        org: user.org,
    };
    Ok((
        AppendHeaders([
            (
                header::SET_COOKIE,
                token::set_cookie(&session_token, state.secure_cookies),
            ),
            (
                header::SET_COOKIE,
                token::hint_cookie(true, state.secure_cookies),
            ),
        ]),
        axum::Json(info),
    )
        .into_response())
}

/// Who is signed in on this session.
#[utoipa::path(get, path = "/session", tag = "session",
    responses(
        (status = 200, description = "The signed-in user", body = SessionInfo),
        (status = 401, description = "Not signed in", body = ErrorBody),
    ))]
pub async fn who_am_i(caller: Caller) -> axum::Json<SessionInfo> {
    axum::Json(caller.session_info())
}

/// Sign out: ends the session and clears the cookie. Signing out without a session is
/// not an error.
#[utoipa::path(delete, path = "/session", tag = "session",
    responses((status = 204, description = "Signed out; the cookie is cleared")))]
pub async fn sign_out(State(state): State<AppState>, headers: HeaderMap) -> ApiResult<Response> {
    if let Some(caller) = caller_from_headers(&state.store, &headers).await? {
        let change = Change::new(Actor::User(caller.user.username.clone()), now_ms());
        state
            .store
            .delete_session(&change, &caller.token_hash)
            .await?;
    }
    Ok((
        StatusCode::NO_CONTENT,
        AppendHeaders([
            (
                header::SET_COOKIE,
                token::clear_cookie(state.secure_cookies),
            ),
            (
                header::SET_COOKIE,
                token::hint_cookie(false, state.secure_cookies),
            ),
        ]),
    )
        .into_response())
}
