//! `/api/v1/layers/…`: the map's base layers as GeoJSON FeatureCollections.

use super::AppState;
use crate::error::ApiResult;
use axum::extract::State;
use axum::Json;
use linli_domain::place::{CommunityLayer, CommunityProperties, Feature, FeatureCollection};

/// The communities (社区) of the subdistrict with their boundaries.
#[utoipa::path(get, path = "/layers/communities", tag = "layers",
    responses((status = 200, description = "GeoJSON FeatureCollection (RFC 7946) of community boundaries", content_type = "application/geo+json", body = Object)))]
pub async fn communities(State(state): State<AppState>) -> ApiResult<Json<CommunityLayer>> {
    let features = state
        .store
        .communities()
        .await?
        .into_iter()
        .map(|c| Feature {
            id: c.id.to_string(),
            geometry: c.geometry,
            properties: CommunityProperties {
                id: c.id,
                name: c.name,
                name_en: c.name_en,
            },
        })
        .collect();
    Ok(Json(FeatureCollection { features }))
}
