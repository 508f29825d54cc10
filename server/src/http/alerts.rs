//! `/api/v1/alerts`: the alerts the rules raised, and what people do about them.
//! Staff only; a grid worker sees and acts on their own communities' alerts, a viewer
//! only reads. Changes go through the rules engine, which holds the active alerts.

use super::extract::{check_text, checked_note};
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
use linli_domain::alerts::{
    Alert, AlertOutcome, AlertState, EscalateAlert, EscalationDraft, ResolveAlert,
};
use linli_domain::cases::check_parties;
use linli_domain::limits::{CASE_TEXT_CHARS, CASE_TITLE_CHARS};
use linli_domain::ErrorBody;
use serde::Deserialize;

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
            .act(id, request, by, caller.done_at(), caller.community_scope())
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
            EngineActError::Conflict(_) => AppError::Conflict(message),
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
    let note = checked_note(&body.note)?;
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

/// The case escalating would open, made from the alert in Chinese (what, where down to
/// unit and room, when, how bad) with the parties who usually handle its kind: the
/// form shows it, and the person changes what they like before escalating.
#[utoipa::path(get, path = "/alerts/{id}/escalation", tag = "alerts",
    params(("id" = i64, Path, description = "Alert id")),
    responses(
        (status = 200, description = "The case escalating would open", body = EscalationDraft),
        (status = 403, description = "Outside the caller's communities", body = ErrorBody),
        (status = 404, description = "No such alert", body = ErrorBody),
    ))]
pub async fn escalation_draft(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<EscalationDraft>> {
    let alert = visible(&state, &caller, id).await?;
    Ok(Json(draft(&state, &alert).await?))
}

async fn draft(state: &AppState, alert: &Alert) -> ApiResult<EscalationDraft> {
    let place = state.places.of(state.store.as_ref(), alert).await?;
    let raised = alert.raised_at.millis();
    Ok(EscalationDraft::new(
        alert,
        &place.describe(),
        &crate::clock::china_date_time(raised),
    ))
}

/// Escalate into a case, linked both ways: by default the alert's draft
/// (`GET /alerts/{id}/escalation`); title, description and parties as given. Also after
/// the rules escalated an unacknowledged alert to the command: every alert can get its
/// case, once.
#[utoipa::path(post, path = "/alerts/{id}/escalate", tag = "alerts",
    params(("id" = i64, Path, description = "Alert id")),
    request_body(content = Option<EscalateAlert>, description = "Optional: without a body the alert is escalated into its draft as it is"),
    responses(
        (status = 200, description = "The alert, escalated, with its case id", body = Alert),
        (status = 403, description = "A viewer, or outside the caller's communities", body = ErrorBody),
        (status = 404, description = "No such alert", body = ErrorBody),
        (status = 409, description = "It has its case already, or is resolved", body = ErrorBody),
        (status = 422, description = "A bad field: too long, empty title, a party twice", body = ErrorBody),
    ))]
pub async fn escalate(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
    body: Bytes,
) -> ApiResult<Json<Alert>> {
    // The body is optional: no body escalates with the draft as it is.
    let body: EscalateAlert = if body.iter().all(u8::is_ascii_whitespace) {
        EscalateAlert::default()
    } else {
        serde_json::from_slice(&body).map_err(|e| {
            AppError::Unprocessable(format!(
                "the body is not an escalation (`note`, `title`, `description`, `responsible`, \
                 `cooperating`, `dispatch`): {e}"
            ))
        })?
    };
    caller.author("act on alerts")?;
    let note = checked_note(&body.note)?;
    let alert = visible(&state, &caller, id).await?;
    let mut case = draft(&state, &alert).await?;
    if let Some(title) = body.title {
        case.title = title.trim().to_string();
        if case.title.is_empty() {
            return Err(AppError::Unprocessable("a case needs a title".into()));
        }
        check_text("the title", &case.title, CASE_TITLE_CHARS)?;
    }
    if let Some(description) = body.description {
        check_text("the description", &description, CASE_TEXT_CHARS)?;
        case.description = description.trim().to_string();
    }
    if body.responsible.is_some() {
        case.responsible = body.responsible;
    }
    match body.cooperating {
        Some(cooperating) => case.cooperating = cooperating,
        // A responsible party given alone drops itself from the draft's cooperating.
        None => case.cooperating.retain(|p| Some(*p) != case.responsible),
    }
    check_parties(case.responsible, &case.cooperating).map_err(AppError::Unprocessable)?;
    // Whoever is sent is checked before anything changes.
    let dispatch = match body.dispatch {
        Some(assignee) => {
            let by = caller.commander("send people on tasks")?;
            let assignee = assignee.trim().to_string();
            super::dispatches::check_assignee(&state, &assignee, &alert.community).await?;
            Some((by, assignee))
        }
        None => None,
    };
    let escalated = act(&state, &caller, id, Request::Escalate { note, case }).await?;
    if let (Some((by, assignee)), Some(case_id)) = (dispatch, escalated.case_id) {
        let task = linli_domain::dispatch::NewDispatch {
            assignee,
            alert_id: None,
            case_id: Some(case_id),
            note: String::new(),
        };
        super::dispatches::send(&state, &caller.change(by), task).await?;
    }
    Ok(escalated)
}
