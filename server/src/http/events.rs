//! `/api/v1/events`: the append-only event log, page by page, for the command centre's
//! audit trail. (The live stream to maps arrives with `/api/v1/stream`.)

use super::extract::ApiQuery;
use super::AppState;
use crate::error::{ApiResult, AppError};
use axum::extract::State;
use axum::Json;
use linli_domain::api::EventRecord;
use linli_domain::ErrorBody;
use serde::Deserialize;

const MAX_PAGE: u32 = 1000;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct EventsQuery {
    /// Return events with an id greater than this (default 0: from the start).
    #[serde(default)]
    #[param(minimum = 0)]
    pub after: i64,
    /// At most this many events (default 100, at most 1000).
    #[serde(default = "default_limit")]
    #[param(minimum = 1, maximum = 1000)]
    pub limit: u32,
}

fn default_limit() -> u32 {
    100
}

/// Event-log rows after an id, oldest first.
#[utoipa::path(get, path = "/events", tag = "events", params(EventsQuery),
    responses(
        (status = 200, description = "Events, oldest first", body = [EventRecord]),
        (status = 400, description = "Bad query", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Not a commander", body = ErrorBody),
    ))]
pub async fn list(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<EventsQuery>,
) -> ApiResult<Json<Vec<EventRecord>>> {
    if query.limit == 0 || query.limit > MAX_PAGE {
        return Err(AppError::BadRequest(format!(
            "limit must be between 1 and {MAX_PAGE}"
        )));
    }
    if query.after < 0 {
        return Err(AppError::BadRequest("after must not be negative".into()));
    }
    Ok(Json(
        state.store.events_after(query.after, query.limit).await?,
    ))
}
