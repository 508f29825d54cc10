//! `/api/v1/patrols/…`: patrol routes with their checkpoints, and the units walking
//! them: a run starts and ends, positions come in from the field tablet, and the
//! server tracks the checkpoints covered, straying from the route and silence
//! (`linli_domain::patrol`).

use super::extract::{check_position, ApiJson};
use super::AppState;
use crate::auth::access::Caller;
use crate::clock::{now_ms, Millis};
use crate::error::{ApiResult, AppError};
use crate::ingest::parse::FUTURE_TOLERANCE_MS;
use crate::store::Change;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use linli_domain::patrol::{PatrolRun, RouteLayer, StartRun, UnitPosition};
use linli_domain::place::FeatureCollection;
use linli_domain::ErrorBody;

/// Patrol routes as a GeoJSON FeatureCollection of LineStrings; checkpoints in walking
/// order in each route's properties.
#[utoipa::path(get, path = "/patrols/routes", tag = "patrols",
    responses(
        (status = 200, description = "GeoJSON FeatureCollection of routes", content_type = "application/geo+json", body = Object),
        (status = 401, description = "Not signed in", body = ErrorBody),
    ))]
pub async fn routes(State(state): State<AppState>) -> ApiResult<Json<RouteLayer>> {
    Ok(Json(FeatureCollection {
        features: state.store.routes().await?,
    }))
}

/// Positions may arrive this late (a tablet that was offline sends its queue).
const POSITION_LATE_MS: Millis = 3_600_000;

/// Who may move `unit`, as a change; checks the route's community for grid workers.
fn mover(caller: &Caller, unit: &str, community: Option<&str>) -> ApiResult<Change> {
    let actor = caller.author("report patrols")?;
    if !crate::ingest::parse::valid_device_id(unit) {
        return Err(AppError::BadRequest(format!(
            "`{unit}` is not a unit id: use 1–64 of a–z, 0–9 and -"
        )));
    }
    if let (Some(scope), Some(community)) = (caller.community_scope(), community) {
        if !scope.iter().any(|c| c.as_str() == community) {
            return Err(AppError::Forbidden(
                "this patrol belongs to another community".into(),
            ));
        }
    }
    Ok(Change::new(actor, now_ms()))
}

/// The community of the run `unit` is out on, if any.
async fn run_community(state: &AppState, unit: &str) -> ApiResult<Option<String>> {
    Ok(state
        .store
        .units()
        .await?
        .into_iter()
        .find(|r| r.unit == unit && r.ended_at.is_none())
        .and_then(|r| r.community))
}

/// Each patrol unit's latest run: where it is, what it covered, whether it strays or
/// went silent. A grid worker sees their communities' patrols.
#[utoipa::path(get, path = "/patrols/units", tag = "patrols",
    responses(
        (status = 200, description = "Each unit's latest run", body = [PatrolRun]),
        (status = 401, description = "Not signed in", body = ErrorBody),
    ))]
pub async fn units(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<Json<Vec<PatrolRun>>> {
    Ok(Json(visible_units(&state, &caller).await?))
}

/// Each unit's latest run that `caller` may see: a grid worker sees their communities'
/// patrols and the district's own.
pub async fn visible_units(state: &AppState, caller: &Caller) -> ApiResult<Vec<PatrolRun>> {
    let scope = caller.community_scope();
    let runs = state.store.units().await?;
    Ok(runs
        .into_iter()
        .filter(|r| match (&scope, &r.community) {
            (Some(scope), Some(c)) => scope.iter().any(|s| s.as_str() == c),
            _ => true,
        })
        .collect())
}

/// A unit sets out on a route (the field tablet's "start patrol").
#[utoipa::path(post, path = "/patrols/units/{id}/run", tag = "patrols",
    params(("id" = String, Path, description = "Unit id")),
    request_body = StartRun,
    responses(
        (status = 201, description = "The run, under way", body = PatrolRun),
        (status = 403, description = "A viewer, or another community's route", body = ErrorBody),
        (status = 409, description = "The unit is out already", body = ErrorBody),
        (status = 422, description = "No such route", body = ErrorBody),
    ))]
pub async fn start_run(
    State(state): State<AppState>,
    caller: Caller,
    Path(unit): Path<String>,
    ApiJson(body): ApiJson<StartRun>,
) -> ApiResult<(StatusCode, Json<PatrolRun>)> {
    let routes = state.store.routes().await?;
    let community = routes
        .iter()
        .find(|r| r.id == body.route)
        .and_then(|r| r.properties.community.clone());
    let change = mover(&caller, &unit, community.as_deref())?;
    let run = state.store.start_run(&change, &unit, &body.route).await?;
    state.live.wake();
    Ok((StatusCode::CREATED, Json(run)))
}

/// The unit is back.
#[utoipa::path(delete, path = "/patrols/units/{id}/run", tag = "patrols",
    params(("id" = String, Path, description = "Unit id")),
    responses(
        (status = 200, description = "The run, ended, with its coverage", body = PatrolRun),
        (status = 403, description = "A viewer, or another community's patrol", body = ErrorBody),
        (status = 409, description = "The unit is not out", body = ErrorBody),
    ))]
pub async fn end_run(
    State(state): State<AppState>,
    caller: Caller,
    Path(unit): Path<String>,
) -> ApiResult<Json<PatrolRun>> {
    let community = run_community(&state, &unit).await?;
    let change = mover(&caller, &unit, community.as_deref())?;
    let run = state.store.end_run(&change, &unit).await?;
    state.live.wake();
    Ok(Json(run))
}

/// Where the unit is now (from the field tablet's geolocation, every few seconds while
/// a run is on); maps see it through the stream as `patrol.position`.
#[utoipa::path(post, path = "/patrols/units/{id}/position", tag = "patrols",
    params(("id" = String, Path, description = "Unit id")),
    request_body = UnitPosition,
    responses(
        (status = 200, description = "The run with what it covered", body = PatrolRun),
        (status = 403, description = "A viewer, or another community's patrol", body = ErrorBody),
        (status = 409, description = "The unit is not out on a run", body = ErrorBody),
        (status = 422, description = "A bad position or time", body = ErrorBody),
    ))]
pub async fn position(
    State(state): State<AppState>,
    caller: Caller,
    Path(unit): Path<String>,
    ApiJson(body): ApiJson<UnitPosition>,
) -> ApiResult<Json<PatrolRun>> {
    let community = run_community(&state, &unit).await?;
    let change = mover(&caller, &unit, community.as_deref())?;
    check_position(body.position)?;
    let at = match body.at.as_deref() {
        None => change.at,
        Some(text) => crate::store::parse_rfc3339(text).ok_or_else(|| {
            AppError::Unprocessable(format!("`at` is not an RFC 3339 time: `{text}`"))
        })?,
    };
    if at > change.at + FUTURE_TOLERANCE_MS || at < change.at - POSITION_LATE_MS {
        return Err(AppError::Unprocessable(
            "`at` must lie within the last hour (and not in the future)".into(),
        ));
    }
    let run = state
        .store
        .record_position(&change, &unit, body.position, at)
        .await?;
    state.live.wake();
    Ok(Json(run))
}
