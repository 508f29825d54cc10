//! `/api/v1/layers/{layer}`: the base map as GeoJSON FeatureCollections (RFC 7946,
//! WGS84 lon/lat): communities, grids, buildings and roads; with `?format=compact`, the
//! same features in the app's compact binary form ([`linli_domain::compact`]).
//!
//! Each answer carries an ETag made of the layer's version (the id of the event that
//! last changed it); a browser that has the current version gets `304 Not Modified`.
//! The serialised body of each layer is kept in memory per version, plain and gzipped,
//! so thousands of buildings are encoded and compressed once per change, not once per
//! request (compressing 100,000 buildings takes longer than sending them).
//!
//! The layers are public, and an imported file may carry any property (an OSM export
//! of a compound can name who lives where): only the properties of
//! [`PUBLIC_PROPERTIES`] are sent; the store keeps the rest.

use super::extract::{ApiPath, ApiQuery};
use super::AppState;
use crate::error::{ApiResult, AppError};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use linli_domain::compact;
use linli_domain::place::{CommunityProperties, Feature, FeatureCollection, LayerName};
use linli_domain::ErrorBody;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::Mutex;
use utoipa::{IntoParams, ToSchema};

/// The feature properties a layer's readers get: names, the community and compound, and
/// what a building or road is. Anything else an import brought stays in the store.
pub const PUBLIC_PROPERTIES: [&str; 22] = [
    "id",
    "name",
    "name_en",
    "name:zh",
    "name:en",
    "community",
    "compound",
    "number",
    "levels",
    "building:levels",
    "height",
    "use",
    "building",
    "amenity",
    "class",
    "highway",
    "width_m",
    "ref",
    "oneway",
    "lanes",
    "bridge",
    "tunnel",
];

/// How a layer is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// GeoJSON FeatureCollection (RFC 7946).
    #[default]
    Geojson,
    /// The compact binary form the app reads (`application/vnd.linli.layer`).
    Compact,
}

impl Format {
    fn media_type(self) -> &'static str {
        match self {
            Format::Geojson => "application/geo+json",
            Format::Compact => compact::MEDIA_TYPE,
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct LayerQuery {
    /// `geojson` (the default) or `compact`.
    #[serde(default)]
    #[param(inline)]
    format: Format,
}

/// A serialised layer, as is and gzipped.
#[derive(Debug, Clone)]
struct Body {
    plain: Bytes,
    gzip: Bytes,
}

impl Body {
    fn new(plain: Vec<u8>) -> std::io::Result<Body> {
        use std::io::Write as _;
        let mut encoder = flate2::write::GzEncoder::new(
            Vec::with_capacity(plain.len() / 3),
            flate2::Compression::fast(),
        );
        encoder.write_all(&plain)?;
        Ok(Body {
            gzip: encoder.finish()?.into(),
            plain: plain.into(),
        })
    }
}

/// Serialised layers by name and format, each with the version it was made from.
#[derive(Debug, Default)]
pub struct LayerCache(Mutex<HashMap<(LayerName, Format), (i64, Body)>>);

impl LayerCache {
    fn get(&self, layer: (LayerName, Format), version: i64) -> Option<Body> {
        let entries = self.0.lock().unwrap_or_else(|p| p.into_inner());
        entries
            .get(&layer)
            .filter(|(v, _)| *v == version)
            .map(|(_, body)| body.clone())
    }

    fn put(&self, layer: (LayerName, Format), version: i64, body: Body) {
        let mut entries = self.0.lock().unwrap_or_else(|p| p.into_inner());
        entries.insert(layer, (version, body));
    }
}

fn encode<P: Serialize>(
    collection: &FeatureCollection<P>,
    format: Format,
) -> Result<Vec<u8>, serde_json::Error> {
    match format {
        Format::Geojson => serde_json::to_vec(collection),
        Format::Compact => compact::encode(collection),
    }
}

async fn serialise(state: &AppState, layer: LayerName, format: Format) -> ApiResult<Body> {
    let bytes = match layer {
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
            encode(&FeatureCollection { features }, format)
        }
        other => {
            let mut features = state.store.features(other).await?;
            for feature in &mut features {
                feature
                    .properties
                    .retain(|key, _| PUBLIC_PROPERTIES.contains(&key.as_str()));
            }
            encode(&FeatureCollection { features }, format)
        }
    };
    let plain = bytes.map_err(|e| AppError::Internal(e.into()))?;
    // Compressing megabytes takes a while: off the async threads.
    tokio::task::spawn_blocking(move || Body::new(plain))
        .await
        .map_err(|e| AppError::Internal(e.into()))?
        .map_err(|e| AppError::Internal(e.into()))
}

/// The items of a comma-separated list header, over all its lines, trimmed.
fn list_items(headers: &HeaderMap, name: header::HeaderName) -> impl Iterator<Item = &str> {
    headers
        .get_all(name)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
}

/// A base-map layer.
#[utoipa::path(get, path = "/layers/{layer}", tag = "layers",
    params(("layer" = String, Path, description = "`communities`, `grids`, `buildings` or `roads`"), LayerQuery),
    responses(
        (status = 200, description = "GeoJSON FeatureCollection (RFC 7946); of the properties imported, those of an allow-list (names, community, compound, levels, kind of building or road). With `format=compact`, the same in the binary form of `linli_domain::compact` (`application/vnd.linli.layer`)", content_type = "application/geo+json", body = Object),
        (status = 304, description = "The layer has not changed since the ETag in If-None-Match"),
        (status = 404, description = "No such layer", body = ErrorBody),
    ))]
pub async fn layer(
    State(state): State<AppState>,
    ApiPath(name): ApiPath<String>,
    ApiQuery(LayerQuery { format }): ApiQuery<LayerQuery>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let layer = LayerName::parse(&name).ok_or_else(|| {
        AppError::NotFound(format!(
            "there is no layer `{name}`; the layers are communities, grids, buildings and roads"
        ))
    })?;
    let version = state.store.layer_version(layer).await?;
    let suffix = match format {
        Format::Geojson => "",
        Format::Compact => "-compact",
    };
    let etag = HeaderValue::from_str(&format!("\"{}-{version}{suffix}\"", layer.as_str()))
        .map_err(|e| AppError::Internal(e.into()))?;
    let cache_headers = [
        (header::ETAG, etag.clone()),
        (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
        (header::VARY, HeaderValue::from_static("accept-encoding")),
    ];
    let matches = list_items(&headers, header::IF_NONE_MATCH)
        .any(|tag| tag == etag.to_str().unwrap_or_default() || tag == "*");
    if matches {
        return Ok((StatusCode::NOT_MODIFIED, cache_headers).into_response());
    }
    let body = match state.layers.get((layer, format), version) {
        Some(body) => body,
        None => {
            let body = serialise(&state, layer, format).await?;
            state.layers.put((layer, format), version, body.clone());
            body
        }
    };
    let gzip = list_items(&headers, header::ACCEPT_ENCODING).any(|coding| {
        let mut parts = coding.split(';').map(str::trim);
        parts.next() == Some("gzip") && !parts.any(|q| q == "q=0" || q == "q=0.0")
    });
    let content_type = [(
        header::CONTENT_TYPE,
        HeaderValue::from_static(format.media_type()),
    )];
    // A response that already has a Content-Encoding is left alone by the server's
    // compression layer.
    Ok(if gzip {
        let encoding = [(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"))];
        (cache_headers, content_type, encoding, body.gzip).into_response()
    } else {
        (cache_headers, content_type, body.plain).into_response()
    })
}
