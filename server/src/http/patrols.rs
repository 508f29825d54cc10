//! `/api/v1/patrols/…`: patrol routes with their checkpoints, and the units walking
//! them: a run starts and ends, positions come in from the field tablet, and the
//! server tracks the checkpoints covered, straying from the route and silence
//! (`linli_domain::patrol`).
//!
//! A grid worker sees and moves only the patrols of their communities' routes and of
//! the district-wide routes (no community), which are everyone's: the route named in
//! a body and the route of the run a unit is out on are both checked, by the store,
//! in the transaction that changes the run.

use super::extract::{check_position, check_text, ApiJson, ApiPath};
use super::AppState;
use crate::auth::access::Caller;
use crate::clock::{now_ms, Millis};
use crate::error::{ApiResult, AppError};
use crate::ingest::parse::FUTURE_TOLERANCE_MS;
use crate::store::Change;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use linli_domain::limits::MISSED_REASON_CHARS;
use linli_domain::patrol::{EndRun, PatrolRun, RouteLayer, StartRun, UnitPosition};
use linli_domain::place::FeatureCollection;
use linli_domain::Timestamp;
use linli_domain::{CommunityId, ErrorBody};

/// Patrol routes as a GeoJSON FeatureCollection of LineStrings; checkpoints in walking
/// order in each route's properties. A grid worker gets their communities' routes and
/// the district-wide ones.
#[utoipa::path(get, path = "/patrols/routes", tag = "patrols",
    responses(
        (status = 200, description = "GeoJSON FeatureCollection of routes", content_type = "application/geo+json", body = Object),
        (status = 401, description = "Not signed in", body = ErrorBody),
    ))]
pub async fn routes(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<impl axum::response::IntoResponse> {
    let content_type = [(
        axum::http::header::CONTENT_TYPE,
        axum::http::HeaderValue::from_static("application/geo+json"),
    )];
    Ok((content_type, Json(visible_routes(&state, &caller).await?)))
}

/// Whether a caller limited to `scope` may see a patrol of `community`: their own
/// communities' and the district-wide ones (no community).
fn in_scope(scope: &Option<Vec<CommunityId>>, community: Option<&str>) -> bool {
    match (scope, community) {
        (Some(scope), Some(c)) => scope.iter().any(|s| s.as_str() == c),
        _ => true,
    }
}

/// The patrol routes `caller` may see.
pub async fn visible_routes(state: &AppState, caller: &Caller) -> ApiResult<RouteLayer> {
    let scope = caller.community_scope();
    let mut features = state.store.routes().await?;
    features.retain(|r| in_scope(&scope, r.properties.community.as_deref()));
    Ok(FeatureCollection { features })
}

/// Positions may arrive this late (a tablet that was offline sends its queue).
const POSITION_LATE_MS: Millis = 3_600_000;

/// Who moves `unit`, as a change (viewers may not). Which runs they may move is the
/// store's to check, with the caller's communities.
fn mover(caller: &Caller, unit: &str) -> ApiResult<Change> {
    let actor = caller.author("report patrols")?;
    if !crate::ingest::parse::valid_device_id(unit) {
        return Err(AppError::BadRequest(format!(
            "`{unit}` is not a unit id: use 1–64 of a–z, 0–9 and -"
        )));
    }
    Ok(caller.change(actor))
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
    let mut runs = state.store.units().await?;
    runs.retain(|r| in_scope(&scope, r.community.as_deref()));
    Ok(runs)
}

/// A unit sets out on a route (the field tablet's "start patrol").
#[utoipa::path(post, path = "/patrols/units/{id}/run", tag = "patrols",
    params(("id" = String, Path, description = "Unit id: 1–64 of a–z, 0–9 and -", pattern = "^[a-z0-9-]{1,64}$")),
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
    ApiPath(unit): ApiPath<String>,
    ApiJson(body): ApiJson<StartRun>,
) -> ApiResult<(StatusCode, Json<PatrolRun>)> {
    let change = mover(&caller, &unit)?;
    let scope = caller.community_scope();
    let run = state
        .store
        .start_run(&change, &unit, &body.route, scope.as_deref())
        .await?;
    state.live.wake();
    Ok((StatusCode::CREATED, Json(run)))
}

/// The unit is back. The body, optional, says why checkpoints were missed; the run
/// lists the ones it missed.
#[utoipa::path(delete, path = "/patrols/units/{id}/run", tag = "patrols",
    params(("id" = String, Path, description = "Unit id: 1–64 of a–z, 0–9 and -", pattern = "^[a-z0-9-]{1,64}$")),
    request_body(content = Option<EndRun>, description = "Optional: why checkpoints were missed"),
    responses(
        (status = 200, description = "The run, ended, with its coverage and what it missed", body = PatrolRun),
        (status = 403, description = "A viewer, or another community's patrol", body = ErrorBody),
        (status = 409, description = "The unit is not out", body = ErrorBody),
        (status = 422, description = "A reason too long", body = ErrorBody),
    ))]
pub async fn end_run(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(unit): ApiPath<String>,
    // No body, `null` and `{}` all say nothing of missed checkpoints.
    body: Option<ApiJson<Option<EndRun>>>,
) -> ApiResult<Json<PatrolRun>> {
    let change = mover(&caller, &unit)?;
    let reason = body
        .and_then(|ApiJson(b)| b)
        .and_then(|b| b.missed_reason)
        .map(|r| r.trim().to_string())
        .filter(|r| !r.is_empty());
    if let Some(reason) = &reason {
        check_text("the reason", reason, MISSED_REASON_CHARS)?;
    }
    let scope = caller.community_scope();
    let run = state
        .store
        .end_run(&change, &unit, reason.as_deref(), scope.as_deref())
        .await?;
    state.live.wake();
    Ok(Json(run))
}

/// Where the unit is now (from the field tablet's geolocation, every few seconds while
/// a run is on); maps see it through the stream as `patrol.position`.
#[utoipa::path(post, path = "/patrols/units/{id}/position", tag = "patrols",
    params(("id" = String, Path, description = "Unit id: 1–64 of a–z, 0–9 and -", pattern = "^[a-z0-9-]{1,64}$")),
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
    ApiPath(unit): ApiPath<String>,
    ApiJson(body): ApiJson<UnitPosition>,
) -> ApiResult<Json<PatrolRun>> {
    let change = mover(&caller, &unit)?;
    check_position(body.position)?;
    let at = body.at.map_or(change.at, Timestamp::millis);
    let now = now_ms();
    if at > now + FUTURE_TOLERANCE_MS || at < now - POSITION_LATE_MS {
        return Err(AppError::Unprocessable(
            "`at` must lie within the last hour (and not in the future)".into(),
        ));
    }
    let scope = caller.community_scope();
    let run = state
        .store
        .record_position(&change, &unit, body.position, at, scope.as_deref())
        .await?;
    state.live.wake();
    Ok(Json(run))
}
