//! Patrol routes (联合巡查) with their ordered checkpoints.

use crate::place::Position;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Checkpoint {
    pub id: String,
    pub name: String,
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<f64>))]
    pub position: Position,
}

/// Properties of a route feature in `GET /api/v1/patrols/routes` (a LineString).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RouteProperties {
    pub id: String,
    pub name: String,
    /// The community the team belongs to, if one.
    pub community: Option<String>,
    /// When the team walks it, e.g. `每日 19:00`.
    pub schedule: String,
    /// In walking order.
    pub checkpoints: Vec<Checkpoint>,
}

pub type RouteLayer = crate::place::FeatureCollection<RouteProperties>;
