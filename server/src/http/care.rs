//! The office's settings for the rules and the morning check-in (晨安), through the
//! rules engine, which applies them at once:
//! - `GET/PUT /api/v1/thresholds`: the district's thresholds (changing them:
//!   commanders);
//! - `GET/PUT /api/v1/homes/{id}/thresholds`: one home's (a grid worker for the homes
//!   of their communities, a commander for any);
//!
//! Nobody sets a threshold beyond its hard bounds (`rules::LIMITS`, `422`). A grid
//! worker may only tighten a home's thresholds (more alarms, sooner); a change that
//! loosens any threshold, at either level, is a commander's and needs a `"reason"`
//! beside the fields, which the `thresholds.changed` event records.
//! - `POST /api/v1/homes/{id}/check-ins`: staff or a volunteer saw the elder this
//!   morning; it clears a missed check-in alert.

use super::extract::{checked_note, ApiJson, ApiPath};
use super::AppState;
use crate::auth::access::Caller;
use crate::clock::{now_ms, Millis};
use crate::engine::{ThresholdChange, ThresholdsView};
use crate::error::{ApiResult, AppError};
use crate::ingest::parse::FUTURE_TOLERANCE_MS;
use crate::rules::DAY_MS;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use linli_domain::care::{CheckIn, NewCheckIn, ThresholdOverrides};
use linli_domain::ErrorBody;
use linli_domain::Timestamp;

/// Longest note on a check-in.
/// Longest reason for a change of thresholds.
const MAX_REASON_CHARS: usize = 500;

/// Takes the optional `"reason"` out of a body of thresholds (it is not a threshold;
/// every other key is one): text of 1–500 characters, trimmed.
fn take_reason(body: &mut ThresholdOverrides) -> ApiResult<Option<String>> {
    match body.remove("reason") {
        None => Ok(None),
        Some(serde_json::Value::String(text)) => {
            let text = text.trim();
            if text.is_empty() {
                return Err(AppError::Unprocessable(
                    "`reason` needs some text, or leave it out".into(),
                ));
            }
            if text.chars().count() > MAX_REASON_CHARS {
                return Err(AppError::Unprocessable(format!(
                    "`reason` may be at most {MAX_REASON_CHARS} characters"
                )));
            }
            Ok(Some(text.to_string()))
        }
        Some(other) => Err(AppError::Unprocessable(format!(
            "`reason` must be text, not {other}"
        ))),
    }
}

/// The district's thresholds: what applies, and what the office changed of the
/// defaults.
#[utoipa::path(get, path = "/thresholds", tag = "care",
    responses(
        (status = 200, description = "The district's thresholds", body = ThresholdsView),
        (status = 401, description = "Not signed in", body = ErrorBody),
    ))]
pub async fn district(State(state): State<AppState>) -> ApiResult<Json<ThresholdsView>> {
    Ok(Json(state.engine.thresholds(None, None).await?))
}

/// Replaces what the office changed of the default thresholds, e.g.
/// `{"check_in_required": true, "check_in_by_minute": 570}`; `{}` goes back to the
/// defaults. Commanders only; a change that loosens a threshold needs a `"reason"`
/// beside the fields. Every threshold has hard bounds nobody passes.
#[utoipa::path(put, path = "/thresholds", tag = "care",
    request_body(content = Object, description = "Fields of the thresholds to change"),
    responses(
        (status = 200, description = "The district's thresholds, changed", body = ThresholdsView),
        (status = 403, description = "Not a commander", body = ErrorBody),
        (status = 422, description = "An unknown field, a value beyond its bounds or that makes no sense, or a loosening without a reason", body = ErrorBody),
    ))]
pub async fn set_district(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(mut overrides): ApiJson<ThresholdOverrides>,
) -> ApiResult<Json<ThresholdsView>> {
    let by = caller.commander("change the district's thresholds")?;
    let reason = take_reason(&mut overrides)?;
    let change = ThresholdChange {
        home: None,
        overrides,
        reason,
        by,
        scope: None,
        may_loosen: true,
    };
    Ok(Json(state.engine.set_thresholds(change).await?))
}

/// One home's thresholds: what applies, and what was changed of the district's.
#[utoipa::path(get, path = "/homes/{id}/thresholds", tag = "care",
    params(("id" = String, Path, description = "Home id: 1–64 ASCII letters, digits, - or _", pattern = "^[A-Za-z0-9_-]{1,64}$")),
    responses(
        (status = 200, description = "The home's thresholds", body = ThresholdsView),
        (status = 403, description = "Outside the caller's communities", body = ErrorBody),
        (status = 404, description = "No such home", body = ErrorBody),
    ))]
pub async fn home(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<ThresholdsView>> {
    Ok(Json(
        state
            .engine
            .thresholds(Some(id), caller.community_scope())
            .await?,
    ))
}

/// Replaces what was changed of the district's thresholds for one home, e.g. a home
/// that needs its morning check-in: `{"check_in_required": true}`. Its grid worker may
/// only tighten them; loosening (also taking back a tighter override) is for
/// commanders, with a `"reason"` beside the fields.
#[utoipa::path(put, path = "/homes/{id}/thresholds", tag = "care",
    params(("id" = String, Path, description = "Home id: 1–64 ASCII letters, digits, - or _", pattern = "^[A-Za-z0-9_-]{1,64}$")),
    request_body(content = Object, description = "Fields of the thresholds to change"),
    responses(
        (status = 200, description = "The home's thresholds, changed", body = ThresholdsView),
        (status = 403, description = "A viewer, outside the caller's communities, or a grid worker loosening a threshold", body = ErrorBody),
        (status = 404, description = "No such home", body = ErrorBody),
        (status = 422, description = "An unknown field, a value beyond its bounds or that makes no sense, or a loosening without a reason", body = ErrorBody),
    ))]
pub async fn set_home(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    ApiJson(mut overrides): ApiJson<ThresholdOverrides>,
) -> ApiResult<Json<ThresholdsView>> {
    let by = caller.author("change thresholds")?;
    let reason = take_reason(&mut overrides)?;
    let change = ThresholdChange {
        home: Some(id),
        overrides,
        reason,
        by,
        scope: caller.community_scope(),
        may_loosen: caller.commander("loosen thresholds").is_ok(),
    };
    Ok(Json(state.engine.set_thresholds(change).await?))
}

fn check_in_time(at: Option<Timestamp>, now: Millis) -> ApiResult<Millis> {
    let Some(at) = at.map(Timestamp::millis) else {
        return Ok(now);
    };
    if at > now + FUTURE_TOLERANCE_MS {
        return Err(AppError::Unprocessable("`at` lies in the future".into()));
    }
    if at < now - DAY_MS {
        return Err(AppError::Unprocessable(
            "`at` lies more than a day back; a check-in is recorded the day it is made".into(),
        ));
    }
    Ok(at)
}

/// Records the morning check-in of a home (晨安日历): someone saw or spoke to the elder.
#[utoipa::path(post, path = "/homes/{id}/check-ins", tag = "care",
    params(("id" = String, Path, description = "Home id: 1–64 ASCII letters, digits, - or _", pattern = "^[A-Za-z0-9_-]{1,64}$")),
    request_body = NewCheckIn,
    responses(
        (status = 201, description = "Recorded", body = CheckIn),
        (status = 403, description = "A viewer, or outside the caller's communities", body = ErrorBody),
        (status = 404, description = "No such home", body = ErrorBody),
        (status = 422, description = "A bad time or note", body = ErrorBody),
    ))]
pub async fn check_in(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<NewCheckIn>,
) -> ApiResult<(StatusCode, Json<CheckIn>)> {
    let by = caller.author("record check-ins")?;
    let at = check_in_time(body.at, now_ms())?;
    let note = checked_note(&body.note)?;
    state
        .engine
        .check_in(id.clone(), at, note.clone(), by, caller.community_scope())
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(CheckIn {
            home: id,
            at: Timestamp::from_millis(at),
            by: caller.user.username.to_string(),
            note,
        }),
    ))
}
