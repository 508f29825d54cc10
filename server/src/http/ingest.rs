//! `POST /api/v1/ingest`: sensor readings from devices and gateways, with a Bearer
//! token instead of a session. The token is checked before the body is read. The body
//! is a JSON batch or SenML (CONTRACT.md); each record is checked on its own, the good
//! ones go to the rules engine, and `202` is sent only once they are committed, with
//! the refused records listed by index.

use super::AppState;
use crate::auth::token::token_hash;
use crate::clock::now_ms;
use crate::engine::{Accepted, IngestError, Source};
use crate::error::{ApiResult, AppError};
use crate::ingest::parse::{parse, Encoding, Refused};
use crate::store::{Credential, DynStore};
use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use linli_domain::{ErrorBody, ErrorDetail};
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
            IngestError::Unavailable => AppError::Unavailable(err.to_string()),
        }
    }
}

/// The answer when no record of a batch could be taken: `422`, the error body, and the
/// same counts and list of refused records as a `202`.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct NothingAccepted {
    error: ErrorDetail,
    #[serde(flatten)]
    answer: Accepted,
}

/// Stores a batch of readings.
///
/// `Authorization: Bearer <device or gateway token>` (from `linli device add` or
/// `linli gateway add`). A device token may send only its own readings, a gateway token
/// only those of its communities' devices. Each record is checked on its own: one that
/// is not valid, of a device this token may not send for, or too far behind its
/// device's count to tell from a repeat is listed in `refused` by its index, and the
/// others are stored. Sending a batch again is harmless: repeats count as duplicates.
#[utoipa::path(post, path = "/ingest", tag = "ingest",
    request_body(content = Object, description = "`{\"readings\": [...]}` (application/json) or SenML (application/senml+json)"),
    responses(
        (status = 202, description = "Durable: what was stored, repeated and refused", body = Accepted),
        (status = 400, description = "Not a batch of readings at all", body = ErrorBody),
        (status = 401, description = "No valid device or gateway token", body = ErrorBody),
        (status = 413, description = "Body above 4 MiB", body = ErrorBody),
        (status = 415, description = "Neither JSON nor SenML", body = ErrorBody),
        (status = 422, description = "No record could be taken; each is listed with why", body = NothingAccepted),
        (status = 503, description = "Not stored; send again", body = ErrorBody),
    ))]
pub async fn ingest(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Response> {
    let token = crate::auth::token::bearer(&headers).ok_or_else(|| {
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
    let too_large = || {
        AppError::PayloadTooLarge(format!(
            "a batch body may be at most {} MiB",
            INGEST_BODY_LIMIT / 1024 / 1024
        ))
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if declared.is_some_and(|n| n > INGEST_BODY_LIMIT as u64) {
        return Err(too_large());
    }
    let body = axum::body::to_bytes(body, INGEST_BODY_LIMIT)
        .await
        .map_err(|e| {
            if std::error::Error::source(&e)
                .is_some_and(|s| s.is::<http_body_util::LengthLimitError>())
            {
                too_large()
            } else {
                AppError::BadRequest(format!("the body could not be read: {e}"))
            }
        })?;
    let now = now_ms();
    let parsed = if body.len() <= PARSE_INLINE_MAX {
        parse(&body, encoding, now)
    } else {
        tokio::task::spawn_blocking(move || parse(&body, encoding, now))
            .await
            .map_err(|e| AppError::Internal(anyhow::anyhow!("parser task failed: {e}")))?
    };
    let batch = parsed.map_err(|r| AppError::BadRequest(r.to_string()))?;
    let answer = if batch.readings.is_empty() {
        Accepted::default()
    } else {
        state.engine.ingest(source, batch.readings).await?
    };
    Ok(answer_response(
        answer.numbered_as_sent(&batch.indices, batch.refused),
    ))
}

/// `202` with the answer, or `422` when nothing was taken.
fn answer_response(answer: Accepted) -> Response {
    if answer.accepted + answer.duplicates > 0 {
        return (StatusCode::ACCEPTED, Json(answer)).into_response();
    }
    let first: Vec<String> = answer
        .refused
        .iter()
        .take(3)
        .map(|Refused { index, reason }| format!("record {index}: {reason}"))
        .collect();
    let more = match answer.refused.len().saturating_sub(first.len()) {
        0 => String::new(),
        n => format!(" (and {n} more)"),
    };
    let body = NothingAccepted {
        error: ErrorDetail {
            allowed: Vec::new(),
            code: "unprocessable".into(),
            message: format!(
                "no record of the batch was taken: {}{more}",
                first.join("; ")
            ),
        },
        answer,
    };
    (StatusCode::UNPROCESSABLE_ENTITY, Json(body)).into_response()
}
