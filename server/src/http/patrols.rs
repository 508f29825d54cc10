//! `/api/v1/patrols/…`: patrol routes with their checkpoints.

use super::AppState;
use crate::error::ApiResult;
use axum::extract::State;
use axum::Json;
use linli_domain::patrol::RouteLayer;
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
