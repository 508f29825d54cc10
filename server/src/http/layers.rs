//! `/api/v1/layers/{layer}`: the base map as GeoJSON FeatureCollections (RFC 7946,
//! WGS84 lon/lat): communities, grids, buildings and roads.
//!
//! Each answer carries an ETag made of the layer's version (the id of the event that
//! last changed it); a browser that has the current version gets `304 Not Modified`.
//! The serialised body of each layer is kept in memory per version, so thousands of
//! buildings are turned into JSON once per change, not once per request.

use super::AppState;
use crate::error::{ApiResult, AppError};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use linli_domain::place::{CommunityProperties, Feature, FeatureCollection, LayerName};
use linli_domain::ErrorBody;
use std::collections::HashMap;
use std::sync::Mutex;

/// Serialised layers by name, each with the version it was made from.
#[derive(Debug, Default)]
pub struct LayerCache(Mutex<HashMap<LayerName, (i64, Bytes)>>);

impl LayerCache {
    fn get(&self, layer: LayerName, version: i64) -> Option<Bytes> {
        let entries = self.0.lock().unwrap_or_else(|p| p.into_inner());
        entries
            .get(&layer)
            .filter(|(v, _)| *v == version)
            .map(|(_, body)| body.clone())
    }

    fn put(&self, layer: LayerName, version: i64, body: Bytes) {
        let mut entries = self.0.lock().unwrap_or_else(|p| p.into_inner());
        entries.insert(layer, (version, body));
    }
}

async fn serialise(state: &AppState, layer: LayerName) -> ApiResult<Bytes> {
    let json = match layer {
        LayerName::Communities => {
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
            serde_json::to_vec(&FeatureCollection { features })
        }
        other => serde_json::to_vec(&FeatureCollection {
            features: state.store.features(other).await?,
        }),
    };
    Ok(Bytes::from(json.map_err(|e| AppError::Internal(e.into()))?))
}

/// A base-map layer.
#[utoipa::path(get, path = "/layers/{layer}", tag = "layers",
    params(("layer" = String, Path, description = "`communities`, `grids`, `buildings` or `roads`")),
    responses(
        (status = 200, description = "GeoJSON FeatureCollection (RFC 7946); properties as stored or imported", content_type = "application/geo+json", body = Object),
        (status = 304, description = "The layer has not changed since the ETag in If-None-Match"),
        (status = 404, description = "No such layer", body = ErrorBody),
    ))]
pub async fn layer(
    State(state): State<AppState>,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let layer = LayerName::parse(&name).ok_or_else(|| {
        AppError::NotFound(format!(
            "there is no layer `{name}`; the layers are communities, grids, buildings and roads"
        ))
    })?;
    let version = state.store.layer_version(layer).await?;
    let etag = HeaderValue::from_str(&format!("\"{}-{version}\"", layer.as_str()))
        .map_err(|e| AppError::Internal(e.into()))?;
    let cache_headers = [
        (header::ETAG, etag.clone()),
        (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
    ];
    let matches = headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|tag| tag.trim() == etag.to_str().unwrap_or_default() || tag.trim() == "*");
    if matches {
        return Ok((StatusCode::NOT_MODIFIED, cache_headers).into_response());
    }
    let body = match state.layers.get(layer, version) {
        Some(body) => body,
        None => {
            let body = serialise(&state, layer).await?;
            state.layers.put(layer, version, body.clone());
            body
        }
    };
    Ok((
        cache_headers,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/geo+json"),
        )],
        body,
    )
        .into_response())
}
