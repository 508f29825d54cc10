//! `/api/v1/alerts`: the alerts the rules raised, and what people do about them.
//! Staff only; a grid worker sees and acts on their own communities' alerts, a viewer
//! only reads. Changes go through the rules engine, which holds the active alerts.

use super::extract::{ApiJson, ApiPath, ApiQuery};
use super::AppState;
use crate::alerts::{ActError, Request};
use crate::auth::access::Caller;
use crate::engine::EngineActError;
use crate::error::{ApiResult, AppError};
use crate::store::AlertFilter;
use axum::body::Bytes;
use axum::extract::State;
use axum::Json;
use linli_domain::alerts::{Alert, AlertOutcome, AlertState, EscalateAlert, ResolveAlert};
use linli_domain::ErrorBody;
use serde::Deserialize;

/// Longest note on a resolution or escalation.
pub const MAX_NOTE_CHARS: usize = 2_000;
const MAX_LIST: u32 = 1_000;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AlertsQuery {
    /// Only alerts in this state: `open`, `acknowledged` or `resolved`.
    #[param(value_type = Option<linli_domain::alerts::AlertState>)]
    pub state: Option<String>,
    /// At most this many, newest first (default 200, at most 1000).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u32>,
}

/// Alerts the caller may see, newest first.
#[utoipa::path(get, path = "/alerts", tag = "alerts", params(AlertsQuery),
    responses(
        (status = 200, description = "Alerts, newest first", body = [Alert]),
        (status = 400, description = "Bad query", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
    ))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<AlertsQuery>,
) -> ApiResult<Json<Vec<Alert>>> {
    let alert_state = query
        .state
        .as_deref()
        .map(|s| {
            AlertState::parse(s).ok_or_else(|| {
                AppError::BadRequest(format!(
                    "state must be open, acknowledged or resolved, not `{s}`"
                ))
            })
        })
        .transpose()?;
    let limit = query.limit.unwrap_or(200);
    if limit == 0 || limit > MAX_LIST {
        return Err(AppError::BadRequest(format!(
            "limit must be between 1 and {MAX_LIST}"
        )));
    }
    let filter = AlertFilter {
        state: alert_state,
        communities: caller.community_scope(),
        limit,
        ..Default::default()
    };
    Ok(Json(state.store.alerts(&filter).await?))
}

pub(super) async fn visible(state: &AppState, caller: &Caller, id: i64) -> ApiResult<Alert> {
    let alert = state
        .store
        .alert(id)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("there is no alert {id}")))?;
    caller.check_community(&alert.community)?;
    Ok(alert)
}

/// One alert.
#[utoipa::path(get, path = "/alerts/{id}", tag = "alerts",
    params(("id" = i64, Path, description = "Alert id")),
    responses(
        (status = 200, description = "The alert", body = Alert),
        (status = 403, description = "Outside the caller's communities", body = ErrorBody),
        (status = 404, description = "No such alert", body = ErrorBody),
    ))]
pub async fn get_one(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<Alert>> {
    Ok(Json(visible(&state, &caller, id).await?))
}

fn check_note(note: &str) -> ApiResult<String> {
    if note.chars().count() > MAX_NOTE_CHARS {
        return Err(AppError::Unprocessable(format!(
            "a note may be at most {MAX_NOTE_CHARS} characters"
        )));
    }
    Ok(note.trim().to_string())
}

async fn act(
    state: &AppState,
    caller: &Caller,
    id: i64,
    request: Request,
) -> ApiResult<Json<Alert>> {
    let by = caller.author("act on alerts")?;
    Ok(Json(
        state
            .engine
            .act(id, request, by, caller.community_scope())
            .await?,
    ))
}

impl From<EngineActError> for AppError {
    fn from(err: EngineActError) -> Self {
        let message = err.to_string();
        match err {
            EngineActError::Act(ActError::NotFound(_)) | EngineActError::NoHome(_) => {
                AppError::NotFound(message)
            }
            EngineActError::Act(ActError::Refused(_)) => AppError::Conflict(message),
            EngineActError::Forbidden | EngineActError::NotAllowed(_) => {
                AppError::Forbidden(message)
            }
            EngineActError::Invalid(_) => AppError::Unprocessable(message),
            EngineActError::Unavailable => AppError::Unavailable(message),
        }
    }
}

/// Acknowledge: "I am on it". The command screen sees who and when.
#[utoipa::path(post, path = "/alerts/{id}/ack", tag = "alerts",
    params(("id" = i64, Path, description = "Alert id")),
    responses(
        (status = 200, description = "The alert, acknowledged", body = Alert),
        (status = 403, description = "A viewer, or outside the caller's communities", body = ErrorBody),
        (status = 404, description = "No such alert", body = ErrorBody),
        (status = 409, description = "Already acknowledged or resolved", body = ErrorBody),
    ))]
pub async fn acknowledge(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<Alert>> {
    act(&state, &caller, id, Request::Acknowledge).await
}

/// Resolve with what was found (`cleared` is the system's own outcome).
#[utoipa::path(post, path = "/alerts/{id}/resolve", tag = "alerts",
    params(("id" = i64, Path, description = "Alert id")),
    request_body = ResolveAlert,
    responses(
        (status = 200, description = "The alert, resolved", body = Alert),
        (status = 403, description = "A viewer, or outside the caller's communities", body = ErrorBody),
        (status = 404, description = "No such alert", body = ErrorBody),
        (status = 409, description = "Already resolved, or `cleared` given by a person", body = ErrorBody),
        (status = 422, description = "Bad body", body = ErrorBody),
    ))]
pub async fn resolve(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<ResolveAlert>,
) -> ApiResult<Json<Alert>> {
    let note = check_note(&body.note)?;
    if body.outcome == AlertOutcome::Cleared {
        return Err(AppError::Unprocessable(
            "`cleared` is recorded by the system when a condition goes away; say what you found"
                .into(),
        ));
    }
    let request = Request::Resolve {
        outcome: body.outcome,
        note,
    };
    act(&state, &caller, id, request).await
}

/// Escalate into a case (a welfare visit, or a safety case for gas and smoke), linked
/// both ways.
#[utoipa::path(post, path = "/alerts/{id}/escalate", tag = "alerts",
    params(("id" = i64, Path, description = "Alert id")),
    request_body = EscalateAlert,
    responses(
        (status = 200, description = "The alert, escalated, with its case id", body = Alert),
        (status = 403, description = "A viewer, or outside the caller's communities", body = ErrorBody),
        (status = 404, description = "No such alert", body = ErrorBody),
        (status = 409, description = "Already escalated or resolved", body = ErrorBody),
    ))]
pub async fn escalate(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
    body: Bytes,
) -> ApiResult<Json<Alert>> {
    // The body is optional: no body escalates without a note.
    let body: EscalateAlert = if body.iter().all(u8::is_ascii_whitespace) {
        EscalateAlert::default()
    } else {
        serde_json::from_slice(&body).map_err(|e| {
            AppError::Unprocessable(format!("the body is not `{{\"note\": \"…\"}}`: {e}"))
        })?
    };
    let note = check_note(&body.note)?;
    act(&state, &caller, id, Request::Escalate { note }).await
}
