//! Open311 GeoReport v2 (<http://wiki.open311.org/GeoReport_v2/>), read-only and public:
//! `GET /open311/v2/services.json` (one service per case category) and
//! `GET /open311/v2/requests.json` (cases, newest first).
//!
//! No sign-in, so nothing personal (CONTRACT.md, privacy rule), the same as the public
//! page: a request carries its category, stage and times, the community as its address
//! and the responsible party, but never the case's title, description or notes (staff
//! write names and rooms into them). A case tied to a home (about one: elder care or a
//! sensor alert; or at a building with a monitored home, or within about 100 m of one,
//! whatever its category) is placed at the centre of its cell of the public map's
//! 0.005° grid (about 500 m by 550 m here), a point shared by every home around. Cases
//! about a home of a community with fewer than [`MIN_GROUP`] monitored homes are left
//! out altogether: there, even the count could point at someone.

use super::public::MIN_GROUP;
use super::AppState;
use crate::error::{ApiResult, AppError};
use crate::store::CaseFilter;
use axum::extract::{Query, State};
use axum::Json;
use linli_domain::care::Home;
use linli_domain::cases::{CaseCategory, CaseSource, CaseStage, CaseSummary};
use linli_domain::place::Position;
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};

/// The public map's grid: cases tied to a home are shown per cell this many degrees wide.
pub const HOME_ROUNDING_DEG: f64 = 0.005;
/// "Near a home": within the same or a neighbouring cell this many degrees wide.
const NEAR_DEG: f64 = 0.001;

/// The cell, `size` degrees wide, of a position (integer coordinates).
fn grid_cell(position: Position, size: f64) -> (i64, i64) {
    (
        (position[0] / size).floor() as i64,
        (position[1] / size).floor() as i64,
    )
}

/// The public grid's cell of a position.
pub fn public_cell(position: Position) -> (i64, i64) {
    grid_cell(position, HOME_ROUNDING_DEG)
}

/// The centre of a cell of the public grid, `[lon, lat]`, without binary noise.
pub fn cell_centre(cell: (i64, i64)) -> Position {
    let centre = |k: i64| ((k as f64 + 0.5) * HOME_ROUNDING_DEG * 1e4).round() / 1e4;
    [centre(cell.0), centre(cell.1)]
}

/// Where the monitored homes are, to tell which cases are tied to one.
struct HomesNearby {
    per_community: HashMap<String, u32>,
    buildings: HashSet<String>,
    near_cells: HashSet<(i64, i64)>,
}

impl HomesNearby {
    fn new(homes: &[Home]) -> HomesNearby {
        let mut nearby = HomesNearby {
            per_community: HashMap::new(),
            buildings: HashSet::new(),
            near_cells: HashSet::new(),
        };
        for home in homes {
            *nearby
                .per_community
                .entry(home.community.to_string())
                .or_default() += 1;
            nearby.buildings.insert(home.building.clone());
            let (x, y) = grid_cell(home.position, NEAR_DEG);
            for dx in -1..=1 {
                for dy in -1..=1 {
                    nearby.near_cells.insert((x + dx, y + dy));
                }
            }
        }
        nearby
    }

    /// Whether the case is about a home, at a home's building, or near one.
    fn tied(&self, case: &CaseSummary) -> bool {
        concerns_a_home(case)
            || case
                .building
                .as_ref()
                .is_some_and(|b| self.buildings.contains(b))
            || self
                .near_cells
                .contains(&grid_cell(case.position, NEAR_DEG))
    }

    /// Whether the case may be published at all.
    fn publishable(&self, case: &CaseSummary) -> bool {
        !concerns_a_home(case)
            || self
                .per_community
                .get(case.community.as_str())
                .is_some_and(|n| *n >= MIN_GROUP)
    }
}
/// Requests in one answer at most (GeoReport v2 allows the server to cap it).
const MAX_REQUESTS: usize = 1_000;

#[derive(Debug, Serialize)]
pub struct Service {
    service_code: &'static str,
    service_name: &'static str,
    description: &'static str,
    metadata: bool,
    #[serde(rename = "type")]
    kind: &'static str,
    keywords: &'static str,
    group: &'static str,
}

fn service_of(category: CaseCategory) -> (&'static str, &'static str, &'static str) {
    // (name, description, group)
    match category {
        CaseCategory::Environment => (
            "Environment and sanitation 环境卫生",
            "Neglected spots, rubbish, green space taken over",
            "environment",
        ),
        CaseCategory::FacilitySafety => (
            "Facility safety 设施安全",
            "Gas, fire safety, lifts and shared facilities",
            "safety",
        ),
        CaseCategory::ElderCare => (
            "Elder care 养老关爱",
            "Welfare of elders living alone",
            "care",
        ),
        CaseCategory::Dispute => (
            "Dispute mediation 矛盾调解",
            "Neighbours, rents and shops",
            "mediation",
        ),
        CaseCategory::StreetOrder => (
            "Street and commercial order 街面秩序",
            "Parking, stalls and deliveries",
            "order",
        ),
        CaseCategory::Infrastructure => (
            "Infrastructure 基础设施",
            "Water mains, sewers, roads and lighting",
            "infrastructure",
        ),
        CaseCategory::Other => ("Other 其他", "Anything else", "other"),
    }
}

/// The services: one per case category.
pub async fn services() -> Json<Vec<Service>> {
    Json(
        CaseCategory::ALL
            .iter()
            .map(|c| {
                let (name, description, group) = service_of(*c);
                Service {
                    service_code: c.as_str(),
                    service_name: name,
                    description,
                    metadata: false,
                    kind: "realtime",
                    keywords: c.as_str(),
                    group,
                }
            })
            .collect(),
    )
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequestsQuery {
    service_code: Option<String>,
    /// `open` or `closed`.
    status: Option<String>,
    /// RFC 3339: requests made at or after.
    start_date: Option<String>,
    /// RFC 3339: requests made at or before.
    end_date: Option<String>,
    /// Accepted and ignored: Linli serves one jurisdiction.
    jurisdiction_id: Option<String>,
}

/// One request, with exactly the GeoReport v2 fields.
#[derive(Debug, Serialize)]
pub struct ServiceRequest {
    service_request_id: String,
    status: &'static str,
    status_notes: String,
    service_name: &'static str,
    service_code: &'static str,
    description: String,
    agency_responsible: String,
    service_notice: String,
    requested_datetime: String,
    updated_datetime: String,
    expected_datetime: String,
    address: String,
    address_id: String,
    zipcode: String,
    lat: f64,
    long: f64,
    media_url: String,
}

/// Whether a case is about one home (and so its position must not be shown exactly).
pub fn concerns_a_home(case: &CaseSummary) -> bool {
    case.category == CaseCategory::ElderCare
        || case.source == CaseSource::SensorAlert
        || case.handling.alert_id.is_some()
}

/// `(lat, long)` as published: a cell's centre for a case tied to a home.
fn public_position(case: &CaseSummary, homes: &HomesNearby) -> (f64, f64) {
    let [lon, lat] = if homes.tied(case) {
        cell_centre(public_cell(case.position))
    } else {
        case.position.map(|v| (v * 1e5).round() / 1e5)
    };
    (lat, lon)
}

fn request_of(
    case: &CaseSummary,
    communities: &HashMap<String, String>,
    homes: &HomesNearby,
) -> ServiceRequest {
    let (name, _, _) = service_of(case.category);
    let (lat, long) = public_position(case, homes);
    ServiceRequest {
        service_request_id: case.id.to_string(),
        status: if case.stage == CaseStage::Closed {
            "closed"
        } else {
            "open"
        },
        status_notes: match case.outcome {
            Some(outcome) => format!("closed: {}", outcome.as_str()),
            None => format!("stage: {}", case.stage.as_str()),
        },
        service_name: name,
        service_code: case.category.as_str(),
        description: name.to_string(),
        agency_responsible: case
            .handling
            .responsible
            .map(|p| p.as_str().to_string())
            .unwrap_or_default(),
        service_notice: String::new(),
        requested_datetime: case.opened_at.to_string(),
        updated_datetime: case.updated_at.to_string(),
        expected_datetime: case
            .handling
            .due_at
            .map(|t| t.to_string())
            .unwrap_or_default(),
        address: communities
            .get(case.community.as_str())
            .cloned()
            .unwrap_or_default(),
        address_id: String::new(),
        zipcode: String::new(),
        lat,
        long,
        media_url: String::new(),
    }
}

fn time(name: &str, value: Option<&str>) -> ApiResult<Option<i64>> {
    value
        .map(|v| {
            crate::store::parse_rfc3339(v).ok_or_else(|| {
                AppError::BadRequest(format!("{name} is not an RFC 3339 time: `{v}`"))
            })
        })
        .transpose()
}

/// Cases as service requests, newest first (at most 1,000).
pub async fn requests(
    State(state): State<AppState>,
    query: Result<Query<RequestsQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Json<Vec<ServiceRequest>>> {
    let Query(query) = query.map_err(|e| AppError::BadRequest(e.body_text()))?;
    let category = query
        .service_code
        .as_deref()
        .map(|c| {
            CaseCategory::parse(c).ok_or_else(|| {
                AppError::BadRequest(format!(
                    "unknown service_code `{c}`; see /open311/v2/services.json"
                ))
            })
        })
        .transpose()?;
    let closed = match query.status.as_deref() {
        None => None,
        Some("open") => Some(false),
        Some("closed") => Some(true),
        Some(other) => {
            return Err(AppError::BadRequest(format!(
                "status is `open` or `closed`, not `{other}`"
            )))
        }
    };
    let start = time("start_date", query.start_date.as_deref())?;
    let end = time("end_date", query.end_date.as_deref())?;
    let _ = query.jurisdiction_id;
    let communities = crate::store::community_names(state.store.as_ref()).await?;
    let filter = CaseFilter {
        category,
        ..CaseFilter::default()
    };
    let homes = HomesNearby::new(&state.store.homes(None).await?);
    let mut out = Vec::new();
    for case in state.store.cases(&filter).await? {
        // A drill's case is practice: never public.
        if case.handling.drill || !homes.publishable(&case) {
            continue;
        }
        let opened = case.opened_at.millis();
        if closed.is_some_and(|c| c != (case.stage == CaseStage::Closed))
            || start.is_some_and(|s| opened < s)
            || end.is_some_and(|e| opened > e)
        {
            continue;
        }
        out.push(request_of(&case, &communities, &homes));
        if out.len() == MAX_REQUESTS {
            break;
        }
    }
    Ok(Json(out))
}
