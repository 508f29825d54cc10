//! `/api/v1/drills`: drills (应急演练, `linli_domain::drill`). A commander starts one
//! at a home, which raises the alert the rule would raise there, marked as a drill;
//! people then answer it as they would a real one. Ending it resolves its alert as
//! `drill-ended` (if nobody resolved it yet) and closes the case it was escalated into.
//! Staff see the drills of their communities; only commanders start and end them.

use super::extract::{ApiJson, ApiPath};
use super::AppState;
use crate::auth::access::Caller;
use crate::engine::{DrillStep, EngineActError};
use crate::error::{ApiResult, AppError};
use crate::store::AlertFilter;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use linli_domain::alerts::Alert;
use linli_domain::cases::{CaseOutcome, CaseStage, CaseStep};
use linli_domain::drill::{Drill, DrillScenario, StartDrill};
use linli_domain::ErrorBody;

/// The drills listed at most, newest first.
const LISTED: u32 = 100;

/// Whether `alert` was escalated into a case that is still open.
async fn case_open(state: &AppState, alert: &Alert) -> ApiResult<bool> {
    Ok(match alert.case_id {
        Some(case) => state
            .store
            .case(case)
            .await?
            .is_some_and(|c| c.summary.stage != CaseStage::Closed),
        None => false,
    })
}

/// The drill of `alert`, with whether it is still on: its alert waits for a person,
/// or the case it was escalated into is open.
async fn drill_of(state: &AppState, alert: Alert) -> ApiResult<Drill> {
    let case_open = case_open(state, &alert).await?;
    let scenario = DrillScenario::of_kind(alert.kind).ok_or_else(|| {
        AppError::Internal(anyhow::anyhow!(
            "drill {} has a kind no drill raises",
            alert.id
        ))
    })?;
    Ok(Drill {
        id: alert.id,
        scenario,
        running: alert.is_active() || case_open,
        alert,
    })
}

/// The drills of the caller's communities, newest first (at most 100).
#[utoipa::path(get, path = "/drills", tag = "drills",
    responses(
        (status = 200, description = "Drills, newest first", body = [Drill]),
        (status = 401, description = "Not signed in", body = ErrorBody),
    ))]
pub async fn list(State(state): State<AppState>, caller: Caller) -> ApiResult<Json<Vec<Drill>>> {
    let alerts = state
        .store
        .alerts(&AlertFilter {
            communities: caller.community_scope(),
            drill: Some(true),
            limit: LISTED,
            ..Default::default()
        })
        .await?;
    let mut drills = Vec::with_capacity(alerts.len());
    for alert in alerts {
        drills.push(drill_of(&state, alert).await?);
    }
    Ok(Json(drills))
}

/// Starts a drill: the home's alert of the scenario's kind, marked as a drill, on
/// every screen and in every message as a real one would be.
#[utoipa::path(post, path = "/drills", tag = "drills", request_body = StartDrill,
    responses(
        (status = 201, description = "The drill, its alert raised", body = Drill),
        (status = 403, description = "Not a commander", body = ErrorBody),
        (status = 409, description = "The home has this drill on already", body = ErrorBody),
        (status = 422, description = "No such home, or a bad scenario", body = ErrorBody),
    ))]
pub async fn start(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<StartDrill>,
) -> ApiResult<(StatusCode, Json<Drill>)> {
    let change = caller.change(caller.commander("start drills")?);
    let step = DrillStep::Start {
        home: body.home,
        kind: body.scenario.alert_kind(),
    };
    let alert = state
        .engine
        .drill(step, change.actor, change.at)
        .await
        .map_err(|e| match e {
            // The home is named in the body: not a missing resource but a bad field.
            EngineActError::NoHome(_) => AppError::Unprocessable(e.to_string()),
            other => other.into(),
        })?
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("a drill started without its alert")))?;
    state.live.wake();
    Ok((StatusCode::CREATED, Json(drill_of(&state, alert).await?)))
}

/// Ends a drill: its alert is resolved as `drill-ended` unless a person resolved it,
/// and its case, if it has one still open, is closed as `drill-ended`. Ending it again
/// changes nothing.
#[utoipa::path(delete, path = "/drills/{id}", tag = "drills",
    params(("id" = i64, Path, description = "Drill id (its alert's)")),
    responses(
        (status = 200, description = "The drill, ended", body = Drill),
        (status = 403, description = "Not a commander", body = ErrorBody),
        (status = 404, description = "No such drill (a real alert is not one)", body = ErrorBody),
    ))]
pub async fn end(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<Drill>> {
    let change = caller.change(caller.commander("end drills")?);
    let no_drill = || AppError::NotFound(format!("there is no drill {id}"));
    let alert = state.store.alert(id).await?.ok_or_else(no_drill)?;
    if !alert.drill {
        return Err(no_drill());
    }
    state
        .engine
        .drill(DrillStep::End { id }, change.actor.clone(), change.at)
        .await?;
    if let (Some(case), true) = (alert.case_id, case_open(&state, &alert).await?) {
        let close = CaseStep::Close {
            outcome: CaseOutcome::DrillEnded,
            note: String::new(),
            duplicate_of: None,
        };
        state.store.step_case(&change, case, &close, None).await?;
    }
    state.live.wake();
    let alert = state.store.alert(id).await?.ok_or_else(no_drill)?;
    Ok(Json(drill_of(&state, alert).await?))
}
