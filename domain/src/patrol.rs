//! Patrol routes (联合巡查) with their ordered checkpoints.

use crate::place::Position;
use crate::Timestamp;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Checkpoint {
    pub id: String,
    pub name: String,
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<f64>, min_items = 2, max_items = 2))]
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

/// A position within this of a checkpoint covers it.
pub const CHECKPOINT_RADIUS_M: f64 = 30.0;
/// A position farther than this from the route's path is off the route.
pub const OFF_ROUTE_M: f64 = 60.0;
/// A unit out on a run that sent no position for this long is flagged silent.
pub const SILENT_AFTER_MS: i64 = 5 * 60_000;

/// A checkpoint reached on a run, and when.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Covered {
    pub checkpoint: String,
    pub at: Timestamp,
}

/// One walk of a route by a patrol unit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PatrolRun {
    pub id: i64,
    pub unit: String,
    pub route: String,
    pub community: Option<String>,
    pub started_at: Timestamp,
    pub ended_at: Option<Timestamp>,
    /// In the order reached.
    pub covered: Vec<Covered>,
    /// How many checkpoints the route has.
    pub checkpoints: usize,
    pub positions: u32,
    /// Positions farther than [`OFF_ROUTE_M`] from the route.
    pub off_route_positions: u32,
    /// The last position, `[lon, lat]`, and when.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Vec<f64>>))]
    pub position: Option<Position>,
    pub last_seen: Option<Timestamp>,
    /// The last position was off the route.
    pub off_route: bool,
    /// How far along the route's path the last position is, 0 (its start) to 1 (its
    /// end): where the path passes nearest to it. None before the first position.
    #[serde(default)]
    pub progress: Option<f64>,
    /// Out on the run, but nothing heard for [`SILENT_AFTER_MS`] (as of when read).
    pub silent: bool,
    /// Once the run ended: the route's checkpoints it did not reach, in walking order.
    #[serde(default)]
    pub missed: Vec<Checkpoint>,
    /// Why they were missed, as the team said when it ended the run.
    #[serde(default)]
    pub missed_reason: Option<String>,
}

/// How a unit ends its run (`DELETE /api/v1/patrols/units/{id}/run`, body optional).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct EndRun {
    /// Why checkpoints were left out (road works, called to an alert), at most
    /// [`crate::limits::MISSED_REASON_CHARS`] characters.
    #[serde(default)]
    pub missed_reason: Option<String>,
}

/// The checkpoints of a route that `covered` does not hold, in walking order.
pub fn not_covered<'a>(checkpoints: &'a [Checkpoint], covered: &[Covered]) -> Vec<&'a Checkpoint> {
    checkpoints
        .iter()
        .filter(|c| !covered.iter().any(|done| done.checkpoint == c.id))
        .collect()
}

/// A position a patrol unit posts (`POST /api/v1/patrols/units/{id}/position`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct UnitPosition {
    /// `[lon, lat]`, from the tablet's geolocation.
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<f64>, min_items = 2, max_items = 2))]
    pub position: Position,
    /// Now when left out.
    #[serde(default)]
    pub at: Option<Timestamp>,
}

/// The route a unit sets out on (`POST /api/v1/patrols/units/{id}/run`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct StartRun {
    pub route: String,
}

/// `[lon, lat]` as metres east and north of `origin` (fine over a subdistrict).
fn local_metres(origin: Position, p: Position) -> crate::geometry::Xy {
    const METRES_PER_DEGREE: f64 = 111_195.0;
    [
        (p[0] - origin[0]) * METRES_PER_DEGREE * origin[1].to_radians().cos(),
        (p[1] - origin[1]) * METRES_PER_DEGREE,
    ]
}

/// The checkpoints `position` covers that `covered` does not hold yet, in walking order.
pub fn newly_covered<'a>(
    checkpoints: &'a [Checkpoint],
    covered: &[Covered],
    position: Position,
) -> Vec<&'a Checkpoint> {
    not_covered(checkpoints, covered)
        .into_iter()
        .filter(|c| crate::geometry::metres_between(c.position, position) <= CHECKPOINT_RADIUS_M)
        .collect()
}

/// How far along the route's `path` a unit at `position` is, 0 (its start) to 1 (its
/// end): the share of the path's length up to the point of it nearest the unit.
pub fn progress_along(path: &[Position], position: Position) -> Option<f64> {
    let local: Vec<crate::geometry::Xy> = path.iter().map(|p| local_metres(position, *p)).collect();
    crate::geometry::share_along_line([0.0, 0.0], &local)
}

/// Whether `position` lies farther than [`OFF_ROUTE_M`] from the route's `path`.
pub fn is_off_route(path: &[Position], position: Position) -> bool {
    let local: Vec<crate::geometry::Xy> = path.iter().map(|p| local_metres(position, *p)).collect();
    crate::geometry::distance_to_line([0.0, 0.0], &local) > OFF_ROUTE_M
}

#[cfg(test)]
mod tests {
    use super::*;

    fn checkpoint(id: &str, position: Position) -> Checkpoint {
        Checkpoint {
            id: id.into(),
            name: id.into(),
            position,
        }
    }

    #[test]
    fn a_recorded_track_covers_the_checkpoints_it_passes_and_strays_where_it_leaves_the_path() {
        // A route east along 31.845°N for about 380 m, checkpoints at both ends and the
        // middle.
        let path = [[117.300, 31.845], [117.304, 31.845]];
        let checkpoints = [
            checkpoint("a", [117.300, 31.845]),
            checkpoint("b", [117.302, 31.845]),
            checkpoint("c", [117.304, 31.845]),
        ];
        // A walk: start near a, along the street 10 m north of the line, a detour 110 m
        // south, back, and stopping 40 m short of c (outside its 30 m).
        let track = [
            [117.3001, 31.84509],
            [117.3010, 31.84509],
            [117.3020, 31.84509],
            [117.3025, 31.84401],
            [117.3030, 31.84509],
            [117.30358, 31.84509],
        ];
        let mut covered: Vec<Covered> = Vec::new();
        let mut off = Vec::new();
        for (i, position) in track.iter().enumerate() {
            for c in newly_covered(&checkpoints, &covered, *position) {
                covered.push(Covered {
                    checkpoint: c.id.clone(),
                    at: crate::Timestamp::from_millis(i as i64),
                });
            }
            off.push(is_off_route(&path, *position));
        }
        let reached: Vec<(&str, i64)> = covered
            .iter()
            .map(|c| (c.checkpoint.as_str(), c.at.millis()))
            .collect();
        assert_eq!(reached, [("a", 0), ("b", 2)]);
        assert_eq!(off, [false, false, false, true, false, false]);
        // Reaching c later covers it once.
        let at_c = [117.304, 31.84501];
        assert_eq!(newly_covered(&checkpoints, &covered, at_c).len(), 1);
        covered.push(Covered {
            checkpoint: "c".into(),
            at: crate::Timestamp::from_millis(6),
        });
        assert!(newly_covered(&checkpoints, &covered, at_c).is_empty());
    }

    #[test]
    fn progress_is_the_share_of_the_path_up_to_the_point_nearest_the_unit() {
        // East about 380 m, then north about 380 m (an L, one degree of latitude is
        // the same length as 1 / cos(31.845°) degrees of longitude here).
        let east = 0.004;
        let north = east * 31.845_f64.to_radians().cos();
        let path = [
            [117.300, 31.845],
            [117.300 + east, 31.845],
            [117.300 + east, 31.845 + north],
        ];
        let at = |p: Position| (progress_along(&path, p).unwrap() * 100.0).round();
        assert_eq!(at(path[0]), 0.0);
        // Halfway along the first leg, 20 m to its side.
        assert_eq!(at([117.300 + east / 2.0, 31.8452]), 25.0);
        assert_eq!(at(path[1]), 50.0);
        assert_eq!(at([117.300 + east, 31.845 + north / 2.0]), 75.0);
        assert_eq!(at(path[2]), 100.0);
        // Before the start and past the end: the ends.
        assert_eq!(at([117.299, 31.845]), 0.0);
        assert_eq!(at([117.300 + east, 31.846 + north]), 100.0);
        // A path without length says nothing.
        assert_eq!(progress_along(&[path[0]], path[1]), None);
        assert_eq!(progress_along(&[], path[1]), None);
    }
}
