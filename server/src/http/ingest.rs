//! `POST /api/v1/ingest`: sensor readings from devices and gateways, with a Bearer
//! token instead of a session. The body is a JSON batch or SenML (CONTRACT.md); it is
//! checked whole, then handed to the rules engine, and `202` is sent only once every
//! reading of it is committed.

use super::AppState;
use crate::auth::token::token_hash;
use crate::clock::now_ms;
use crate::engine::{Accepted, IngestError, Source};
use crate::error::{ApiResult, AppError};
use crate::ingest::parse::{parse, Encoding};
use crate::store::{Credential, DynStore};
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::Json;
use linli_domain::ErrorBody;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Largest ingest body: a full batch of 10,000 readings with room to spare.
pub const INGEST_BODY_LIMIT: usize = 4 * 1024 * 1024;
/// Bodies above this are parsed off the async threads.
const PARSE_INLINE_MAX: usize = 64 * 1024;
/// How long a token's meaning is remembered (a revoked token stops within this).
const CREDENTIAL_TTL: Duration = Duration::from_secs(30);

/// Tokens already looked up, by hash, so that a busy gateway costs no query per batch.
#[derive(Default)]
pub struct Credentials {
    known: Mutex<HashMap<String, (Option<Credential>, Instant)>>,
}

impl Credentials {
    pub async fn resolve(&self, store: &DynStore, token: &str) -> ApiResult<Option<Credential>> {
        let hash = token_hash(token);
        if let Some((credential, at)) = self.known.lock().expect("credentials lock").get(&hash) {
            if at.elapsed() < CREDENTIAL_TTL {
                return Ok(credential.clone());
            }
        }
        let credential = store.credential(&hash).await?;
        let mut known = self.known.lock().expect("credentials lock");
        if known.len() > 100_000 {
            known.clear();
        }
        known.insert(hash, (credential.clone(), Instant::now()));
        Ok(credential)
    }
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(str::trim)
        .filter(|t| !t.is_empty())
}

fn encoding(headers: &HeaderMap) -> ApiResult<Encoding> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    match essence.as_str() {
        "application/json" => Ok(Encoding::Json),
        "application/senml+json" => Ok(Encoding::SenMl),
        _ => Err(AppError::UnsupportedMediaType(format!(
            "send readings as `application/json` (a batch) or `application/senml+json` (SenML), not `{content_type}`"
        ))),
    }
}

impl From<IngestError> for AppError {
    fn from(err: IngestError) -> Self {
        match err {
            IngestError::UnknownDevice { .. } | IngestError::TooOld { .. } => {
                AppError::Unprocessable(err.to_string())
            }
            IngestError::Revoked { .. } | IngestError::NotYours { .. } => {
                AppError::Forbidden(err.to_string())
            }
            IngestError::Unavailable => AppError::Unavailable(err.to_string()),
        }
    }
}

/// Stores a batch of readings.
///
/// `Authorization: Bearer <device or gateway token>` (from `linli device add` or
/// `linli gateway add`). A device token may send only its own readings, a gateway token
/// only those of its communities' devices. Any invalid record refuses the whole batch,
/// naming the record. Sending a batch again is harmless: repeats count as duplicates.
#[utoipa::path(post, path = "/ingest", tag = "ingest",
    request_body(content = Object, description = "`{\"readings\": [...]}` (application/json) or SenML (application/senml+json)"),
    responses(
        (status = 202, description = "Durable: `{\"accepted\": N, \"duplicates\": M}`", body = Object),
        (status = 400, description = "Not a valid batch; names the record and the problem", body = ErrorBody),
        (status = 401, description = "No valid device or gateway token", body = ErrorBody),
        (status = 403, description = "The token may not send for a device, or the device is revoked", body = ErrorBody),
        (status = 413, description = "Body above 4 MiB", body = ErrorBody),
        (status = 415, description = "Neither JSON nor SenML", body = ErrorBody),
        (status = 422, description = "A device Linli does not know", body = ErrorBody),
        (status = 503, description = "Not stored; send again", body = ErrorBody),
    ))]
pub async fn ingest(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<(StatusCode, Json<Accepted>)> {
    let token = bearer(&headers).ok_or_else(|| {
        AppError::Unauthorized("send `Authorization: Bearer <device or gateway token>`".into())
    })?;
    let source = match state.credentials.resolve(&state.store, token).await? {
        Some(Credential::Device(id)) => Source::Device(id),
        Some(Credential::Gateway { communities, .. }) => Source::Gateway(communities),
        None => {
            return Err(AppError::Unauthorized(
                "the token is not a device or gateway token Linli knows (or it was revoked)".into(),
            ))
        }
    };
    let encoding = encoding(&headers)?;
    let body = body.map_err(|e| match e.status() {
        StatusCode::PAYLOAD_TOO_LARGE => AppError::PayloadTooLarge(format!(
            "a batch body may be at most {} MiB",
            INGEST_BODY_LIMIT / 1024 / 1024
        )),
        _ => AppError::BadRequest(e.body_text()),
    })?;
    let now = now_ms();
    let parsed = if body.len() <= PARSE_INLINE_MAX {
        parse(&body, encoding, now)
    } else {
        tokio::task::spawn_blocking(move || parse(&body, encoding, now))
            .await
            .map_err(|e| AppError::Internal(anyhow::anyhow!("parser task failed: {e}")))?
    };
    let readings = parsed.map_err(|r| AppError::BadRequest(r.to_string()))?;
    let accepted = state.engine.ingest(source, readings).await?;
    Ok((StatusCode::ACCEPTED, Json(accepted)))
}
