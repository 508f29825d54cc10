//! `/api/v1/dispatches`: the street office sends a person or a patrol unit to an alert
//! or a case (派单), and the one sent says how far it got: accepted, arrived, done or
//! declined (`linli_domain::dispatch`). Commanders send; whoever was sent acts on the
//! task: the user named, or for a patrol unit (`unit:<id>`) the grid workers of the
//! task's community, whose tablet walks with the unit; commanders may act for anyone.
//! A grid worker sees the tasks of their communities, a viewer reads all. Every task
//! and step is an event, which the live stream carries to the command screen.

use super::extract::{checked_note, ApiJson, ApiPath, ApiQuery};
use super::AppState;
use crate::auth::access::Caller;
use crate::error::{ApiResult, AppError};
use crate::store::{Change, DispatchFilter, NewDispatchRecord};
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use linli_domain::alerts::AlertState;
use linli_domain::cases::CaseStage;
use linli_domain::dispatch::{Candidate, Dispatch, DispatchStep, NewDispatch, UNIT_PREFIX};
use linli_domain::geometry::metres_between;
use linli_domain::{CommunityId, ErrorBody, Role, Username};
use serde::Deserialize;

/// Where a task goes: the alert or case, its community, place and title.
struct Target {
    alert_id: Option<i64>,
    case_id: Option<i64>,
    community: CommunityId,
    position: linli_domain::place::Position,
    title: String,
}

/// The alert or case a request names (exactly one), still needing somebody: `422` for
/// none or both or one that does not exist, `409` for one resolved or closed.
async fn target(
    state: &AppState,
    alert_id: Option<i64>,
    case_id: Option<i64>,
) -> ApiResult<Target> {
    match (alert_id, case_id) {
        (Some(id), None) => {
            let alert = state
                .store
                .alert(id)
                .await?
                .ok_or_else(|| AppError::Unprocessable(format!("there is no alert {id}")))?;
            if alert.state == AlertState::Resolved {
                return Err(AppError::Conflict(format!(
                    "alert {id} is resolved already"
                )));
            }
            let place = state.places.of(state.store.as_ref(), &alert).await?;
            Ok(Target {
                alert_id: Some(id),
                case_id: None,
                title: format!("{} · {}", alert.kind.name_zh(), place.describe()),
                community: alert.community,
                position: alert.position,
            })
        }
        (None, Some(id)) => {
            let case = state
                .store
                .case(id)
                .await?
                .ok_or_else(|| AppError::Unprocessable(format!("there is no case {id}")))?;
            if case.summary.stage == CaseStage::Closed {
                return Err(AppError::Conflict(format!("case {id} is closed")));
            }
            Ok(Target {
                alert_id: None,
                case_id: Some(id),
                title: case.summary.title,
                community: case.summary.community,
                position: case.summary.position,
            })
        }
        _ => Err(AppError::Unprocessable(
            "name exactly one of alert_id and case_id".into(),
        )),
    }
}

/// Checks that `assignee` can be sent to `community`: a patrol unit that has been out,
/// or a grid worker of the community, or a commander.
pub async fn check_assignee(
    state: &AppState,
    assignee: &str,
    community: &CommunityId,
) -> ApiResult<()> {
    if let Some(unit) = assignee.strip_prefix(UNIT_PREFIX) {
        let units = state.store.units().await?;
        if units.iter().any(|run| run.unit == unit) {
            return Ok(());
        }
        let known: Vec<String> = units
            .iter()
            .map(|r| format!("{UNIT_PREFIX}{}", r.unit))
            .collect();
        return Err(AppError::Unprocessable(format!(
            "there is no patrol unit `{unit}`; the units are: {}",
            if known.is_empty() {
                "none yet".into()
            } else {
                known.join(", ")
            }
        )));
    }
    let name = Username::parse(assignee).map_err(|e| {
        AppError::Unprocessable(format!(
            "the assignee is a user's name or `{UNIT_PREFIX}<unit id>`: {e}"
        ))
    })?;
    let user = state
        .store
        .user_by_name(&name)
        .await?
        .filter(|u| !u.disabled)
        .ok_or_else(|| AppError::Unprocessable(format!("there is no user `{name}`")))?;
    match user.role {
        Role::Commander => Ok(()),
        Role::GridWorker if user.communities.contains(community) => Ok(()),
        Role::GridWorker => Err(AppError::Unprocessable(format!(
            "`{name}` is not a grid worker of `{community}`"
        ))),
        Role::Viewer | Role::Partner => Err(AppError::Unprocessable(format!(
            "a {} is not sent on tasks; send a grid worker or a patrol unit",
            user.role
        ))),
    }
}

/// Sends a person or patrol unit to an alert or a case.
#[utoipa::path(post, path = "/dispatches", tag = "dispatches", request_body = NewDispatch,
    responses(
        (status = 201, description = "The task, sent", body = Dispatch),
        (status = 403, description = "Not a commander", body = ErrorBody),
        (status = 409, description = "The alert is resolved or the case closed", body = ErrorBody),
        (status = 422, description = "No such alert, case, user or unit; both or neither named; note too long", body = ErrorBody),
    ))]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(new): ApiJson<NewDispatch>,
) -> ApiResult<(StatusCode, Json<Dispatch>)> {
    let change = caller.change(caller.commander("send people on tasks")?);
    Ok((StatusCode::CREATED, Json(send(&state, &change, new).await?)))
}

/// Sends a task as `change` says (a commander, when): checked, recorded, streamed.
pub async fn send(state: &AppState, change: &Change, new: NewDispatch) -> ApiResult<Dispatch> {
    let note = checked_note(&new.note)?;
    let target = target(state, new.alert_id, new.case_id).await?;
    let assignee = new.assignee.trim().to_string();
    check_assignee(state, &assignee, &target.community).await?;
    let record = NewDispatchRecord {
        assignee,
        alert_id: target.alert_id,
        case_id: target.case_id,
        community: target.community,
        title: target.title,
        position: target.position,
        note,
    };
    let dispatch = state.store.create_dispatch(change, &record).await?;
    state.live.wake();
    Ok(dispatch)
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct DispatchesQuery {
    /// `true` (default): only tasks still sent, accepted or arrived.
    pub open: Option<bool>,
}

/// Tasks the caller may see, newest first (at most 500).
#[utoipa::path(get, path = "/dispatches", tag = "dispatches", params(DispatchesQuery),
    responses((status = 200, description = "Tasks, newest first", body = [Dispatch])))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<DispatchesQuery>,
) -> ApiResult<Json<Vec<Dispatch>>> {
    let filter = DispatchFilter {
        communities: caller.community_scope(),
        open_only: query.open.unwrap_or(true),
        limit: 500,
    };
    Ok(Json(state.store.dispatches(&filter).await?))
}

/// The one sent says how far it got: `{"action": "accept"|"arrive"|"done"|"decline",
/// "note"?}`.
#[utoipa::path(post, path = "/dispatches/{id}/events", tag = "dispatches",
    params(("id" = i64, Path, description = "Dispatch id")),
    request_body = DispatchStep,
    responses(
        (status = 200, description = "The task after the step", body = Dispatch),
        (status = 403, description = "Not the one sent (nor a commander)", body = ErrorBody),
        (status = 404, description = "No such task", body = ErrorBody),
        (status = 409, description = "The step does not follow; the message says which do", body = ErrorBody),
        (status = 422, description = "A bad step or a note too long", body = ErrorBody),
    ))]
pub async fn step(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
    ApiJson(step): ApiJson<DispatchStep>,
) -> ApiResult<Json<Dispatch>> {
    let by = caller.author("act on tasks")?;
    let step = DispatchStep {
        note: checked_note(&step.note)?,
        ..step
    };
    let dispatch = state
        .store
        .dispatch(id)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("there is no dispatch {id}")))?;
    caller.check_community(&dispatch.community)?;
    let user = &caller.user;
    if !dispatch.may_act(user.role, user.username.as_str(), &user.communities) {
        return Err(AppError::Forbidden(format!(
            "task {id} was sent to `{}`",
            dispatch.assignee
        )));
    }
    let dispatch = state
        .store
        .step_dispatch(&caller.change(by), id, &step)
        .await?;
    state.live.wake();
    Ok(Json(dispatch))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct CandidatesQuery {
    pub alert_id: Option<i64>,
    pub case_id: Option<i64>,
}

/// Who could go to an alert or a case: the patrol units out on a run, free ones
/// first, nearest first.
#[utoipa::path(get, path = "/dispatches/candidates", tag = "dispatches", params(CandidatesQuery),
    responses(
        (status = 200, description = "Units, free and nearest first", body = [Candidate]),
        (status = 403, description = "Not a commander", body = ErrorBody),
        (status = 409, description = "The alert is resolved or the case closed", body = ErrorBody),
        (status = 422, description = "Not exactly one existing alert or case", body = ErrorBody),
    ))]
pub async fn candidates(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<CandidatesQuery>,
) -> ApiResult<Json<Vec<Candidate>>> {
    caller.commander("send people on tasks")?;
    let target = target(&state, query.alert_id, query.case_id).await?;
    let busy: Vec<String> = state
        .store
        .dispatches(&DispatchFilter {
            communities: None,
            open_only: true,
            limit: 10_000,
        })
        .await?
        .into_iter()
        .map(|d| d.assignee)
        .collect();
    let mut list: Vec<Candidate> = state
        .store
        .units()
        .await?
        .into_iter()
        .filter(|run| run.ended_at.is_none())
        .map(|run| {
            let assignee = format!("{UNIT_PREFIX}{}", run.unit);
            Candidate {
                distance_m: run
                    .position
                    .map(|p| metres_between(p, target.position).round()),
                busy: busy.contains(&assignee),
                assignee,
            }
        })
        .collect();
    list.sort_by(|a, b| {
        a.busy.cmp(&b.busy).then(
            a.distance_m
                .unwrap_or(f64::MAX)
                .total_cmp(&b.distance_m.unwrap_or(f64::MAX)),
        )
    });
    Ok(Json(list))
}
