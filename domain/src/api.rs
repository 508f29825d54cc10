//! Bodies of the `/api/v1` endpoints that both sides use, and the error body every
//! refusal carries: `{"error":{"code":"…","message":"…"}}`.

use crate::{CommunityId, Role, Timestamp, Username};
use serde::{Deserialize, Serialize};

/// `POST /api/v1/session`: sign in.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SignIn {
    pub username: String,
    pub password: String,
}

/// `GET /api/v1/session` and the answer to a sign-in: who the caller is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SessionInfo {
    pub username: Username,
    pub role: Role,
    /// The communities a grid worker (or a partner, if any) is bound to.
    pub communities: Vec<CommunityId>,
    /// A partner's organisation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub org: Option<crate::cases::Party>,
}

/// The body of every error answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

/// A stable machine-readable `code` and a sentence for people.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorDetail {
    /// One of `bad_request`, `unauthorized`, `forbidden`, `not_found`,
    /// `method_not_allowed`, `conflict`, `payload_too_large`, `unsupported_media_type`,
    /// `unprocessable`, `rate_limited`, `unavailable`, `internal`; and `not_allowed`
    /// (409): the step is not allowed where the thing stands, nobody changed it, and
    /// `allowed` says what is.
    pub code: String,
    pub message: String,
    /// With `not_allowed`: what may be done instead (a case's stages it may move to).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allowed: Vec<String>,
}

/// `POST /api/v1/notices`: a notice for residents, as a commander writes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NoticeRequest {
    /// 1 to [`crate::limits::NOTICE_TITLE_CHARS`] characters.
    pub title: String,
    /// Up to [`crate::limits::NOTICE_BODY_CHARS`] characters.
    #[serde(default)]
    pub body: String,
    /// When it stops being shown (in the future, within a year); shown until withdrawn
    /// when left out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<Timestamp>,
}

/// One row of the append-only event log, as `GET /api/v1/events` returns it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EventRecord {
    /// Strictly increasing; later the SSE event id.
    pub id: i64,
    /// When it was recorded.
    pub at: Timestamp,
    /// Who made the change: `user:<name>` or `system:<part>`.
    pub actor: String,
    /// What happened, e.g. `user.created`, `community.saved`.
    pub kind: crate::events::EventKind,
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub data: serde_json::Value,
}

/// `GET /api/v1/snapshot`: everything a face needs at load for the caller's role.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Snapshot {
    /// The id of the newest event this snapshot includes.
    pub last_event_id: i64,
    pub homes: Vec<crate::care::Home>,
    /// Alerts not resolved yet.
    pub alerts: Vec<crate::alerts::Alert>,
    pub cases: Vec<crate::cases::CaseSummary>,
    /// GeoJSON FeatureCollection of patrol routes.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub routes: crate::patrol::RouteLayer,
    /// Each patrol unit's latest run (out now, or back with its coverage).
    #[serde(default)]
    pub units: Vec<crate::patrol::PatrolRun>,
    /// Tasks still open (sent, accepted, arrived), newest first.
    #[serde(default)]
    pub dispatches: Vec<crate::dispatch::Dispatch>,
}

/// `GET /api/v1/public/status`: what anybody may see. Aggregates only: no person, room
/// or home position is ever part of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PublicStatus {
    pub communities: Vec<CommunityStatus>,
    /// Where cases are, coarsely: counts per cell of a 0.005° grid (about 500 m).
    #[serde(default)]
    pub areas: Vec<AreaStatus>,
    /// When these figures were worked out.
    pub as_of: Timestamp,
    /// The street office's notices in force, newest first.
    #[serde(default)]
    pub notices: Vec<Notice>,
}

/// A notice the street office publishes for residents (`POST /api/v1/notices`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Notice {
    pub id: i64,
    pub title: String,
    pub body: String,
    pub published_at: Timestamp,
    /// When it stops being shown; shown until withdrawn when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<Timestamp>,
}

/// The cases in one cell of the public map's coarse grid.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AreaStatus {
    /// The cell's centre, `[lon, lat]`.
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<f64>, min_items = 2, max_items = 2))]
    pub centre: [f64; 2],
    pub open_cases: u32,
    pub solved_this_month: u32,
}

/// One community's public figures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CommunityStatus {
    pub id: CommunityId,
    pub name: String,
    pub name_en: String,
    /// Cases not closed yet.
    pub open_cases: u32,
    /// Cases closed as solved (with or without follow-up) since the 1st of this month,
    /// China time.
    pub solved_this_month: u32,
    /// Cases reported since the 1st of this month, China time.
    #[serde(default)]
    pub reported_this_month: u32,
    /// Mean days from report to close of the cases solved this month, to a tenth;
    /// none when nothing was solved.
    #[serde(default)]
    pub average_days_to_solve: Option<f64>,
    /// Monitored elder homes, only when there are at least 5 (smaller groups are not
    /// published, so nobody can be singled out).
    pub homes_monitored: Option<u32>,
    /// Elders someone checked on this month (a morning check-in recorded), published
    /// with `homes_monitored` only.
    #[serde(default)]
    pub elders_visited_this_month: Option<u32>,
    /// Elder-care cases (errands run, repairs, help at home) solved this month,
    /// published with `homes_monitored` only.
    #[serde(default)]
    pub elder_needs_met_this_month: Option<u32>,
    /// Alerts of the community's homes that a person answered and closed this month
    /// (not those the system cleared by itself), published with `homes_monitored` only.
    #[serde(default)]
    pub alerts_answered_this_month: Option<u32>,
}

/// `GET /api/v1/stats`: how the district has been doing, for the command screen's
/// charts (within the caller's communities).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Activity {
    /// When these were worked out.
    pub as_of: Timestamp,
    /// Alerts raised in each of the last 24 hours, oldest first; the last is the hour
    /// now under way.
    pub alerts_per_hour: Vec<u32>,
    /// Alerts resolved and cases closed since midnight, China time.
    pub alerts_resolved_today: u32,
    pub cases_closed_today: u32,
    /// Alerts raised in the last 7 days: the median minutes until a person
    /// acknowledged them (those nobody acknowledged are left out), and how many there were.
    pub median_minutes_to_acknowledge: Option<f64>,
    pub alerts_last_7_days: u32,
    /// Cases closed in the last 30 days: by their due time, or after it.
    pub closed_on_time: u32,
    pub closed_late: u32,
    /// Of the same cases, the median hours from report to close, and the median hours
    /// they were given (from category and priority).
    pub median_hours_to_close: Option<f64>,
    pub median_hours_allowed: Option<f64>,
}
