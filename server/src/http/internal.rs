//! `POST /internal/v1/engine`: an engine command another server of the cluster
//! forwards to this one, while it runs the rules (see `crate::cluster`). Taken only
//! with the secret this server recorded when it became the leader; not part of the API.

use super::AppState;
use crate::error::AppError;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::IntoResponse;

/// A forwarded batch of readings is the ingest body's readings, written out again:
/// room for the largest the ingest endpoint takes, several times over.
pub const INTERNAL_BODY_LIMIT: usize = 64 * 1024 * 1024;

pub async fn engine(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<impl IntoResponse, AppError> {
    let secret = crate::auth::token::bearer(&headers).unwrap_or_default();
    if !state.cluster.admits(secret) {
        return Err(AppError::Unavailable(
            "this server does not run the rules (now), or the call is not from its cluster".into(),
        ));
    }
    let call: crate::engine::Call = serde_json::from_slice(&body)
        .map_err(|e| AppError::BadRequest(format!("not an engine call: {e}")))?;
    Ok(axum::Json(state.engine.ask(call).await))
}
