//! `/api/v1/public/status`: the public page's figures. No sign-in; aggregates only:
//! per community, and per cell of a coarse grid for the map. Figures about elder
//! homes are published only for communities with at least [`MIN_GROUP`] of them.
//!
//! The figures are worked out at most once per [`FRESH_FOR`] whatever the crowd of
//! readers, and carry an `ETag` and a short `max-age`, so browsers and proxies ask
//! again only when they may have changed (`304 Not Modified` otherwise).

use super::open311::{cell_centre, public_cell};
use super::AppState;
use crate::clock::{month_start, now_ms, Millis};
use crate::error::ApiResult;
use crate::store::{AlertFilter, CaseFilter, Community};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use linli_domain::alerts::{Alert, AlertState};
use linli_domain::api::{AreaStatus, CommunityStatus, Notice, PublicStatus};
use linli_domain::care::Home;
use linli_domain::cases::{CaseCategory, CaseOutcome, CaseStage, CaseSummary};
use linli_domain::Timestamp;
use sha2::{Digest as _, Sha256};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// The smallest group of homes a public figure may describe.
pub const MIN_GROUP: u32 = 5;

/// How long worked-out figures are served before they are worked out again, and how
/// long browsers may keep them.
pub const FRESH_FOR: Duration = Duration::from_secs(30);

/// The latest figures, as sent.
#[derive(Default)]
pub struct PublicCache {
    latest: tokio::sync::Mutex<Option<Cached>>,
}

struct Cached {
    made: Instant,
    /// The last notice change in the event log when it was made: a notice published or
    /// withdrawn through any server makes it stale at once.
    notices_at: i64,
    body: Bytes,
    etag: HeaderValue,
}

impl PublicCache {
    /// Drops the figures, so the next reader gets them worked out afresh: on the
    /// server that published or withdrew a notice, at once (every server, this one
    /// too, also sees the change in the event log, see [`Cached::notices_at`]).
    pub async fn forget(&self) {
        *self.latest.lock().await = None;
    }
}

/// Whether a case was closed as solved (with or without follow-up) at or after `since`.
fn solved_since(case: &CaseSummary, since: Millis) -> Option<Millis> {
    if !matches!(
        case.outcome,
        Some(CaseOutcome::Solved | CaseOutcome::SolvedWithFollowUp)
    ) {
        return None;
    }
    let closed = case.closed_at?.millis();
    (closed >= since).then_some(closed)
}

fn opened(case: &CaseSummary) -> Millis {
    case.opened_at.millis()
}

/// Whether a person (not the system) resolved `alert` at or after `since`.
fn answered_since(alert: &Alert, since: Millis) -> bool {
    alert
        .resolved
        .as_ref()
        .is_some_and(|r| r.by.starts_with("user:") && r.at.millis() >= since)
}

/// What the public figures are worked out from.
pub struct Records<'a> {
    pub communities: Vec<Community>,
    pub cases: &'a [CaseSummary],
    pub homes: &'a [Home],
    /// The homes with a check-in this month.
    pub visited: &'a std::collections::HashSet<String>,
    /// Alerts changed this month.
    pub alerts: &'a [Alert],
    /// The notices in force.
    pub notices: Vec<Notice>,
}

/// The public figures at `now` from everything stored.
pub fn figures(now: Millis, records: Records<'_>) -> PublicStatus {
    let Records {
        communities,
        cases,
        homes,
        visited,
        alerts,
        notices,
    } = records;
    const DAY_MS: f64 = 86_400_000.0;
    let since = month_start(now);
    let communities = communities
        .into_iter()
        .map(|c| {
            let own: Vec<&CaseSummary> = cases.iter().filter(|k| k.community == c.id).collect();
            let solve_days: Vec<f64> = own
                .iter()
                .filter_map(|k| Some((solved_since(k, since)? - opened(k)) as f64 / DAY_MS))
                .collect();
            let own_homes: Vec<&Home> = homes.iter().filter(|h| h.community == c.id).collect();
            let published = own_homes.len() as u32 >= MIN_GROUP;
            let answered = alerts
                .iter()
                .filter(|a| a.community == c.id && answered_since(a, since))
                .count() as u32;
            CommunityStatus {
                id: c.id,
                name: c.name,
                name_en: c.name_en,
                open_cases: own.iter().filter(|k| k.stage != CaseStage::Closed).count() as u32,
                solved_this_month: solve_days.len() as u32,
                reported_this_month: own.iter().filter(|k| opened(k) >= since).count() as u32,
                average_days_to_solve: (!solve_days.is_empty()).then(|| {
                    let mean = solve_days.iter().sum::<f64>() / solve_days.len() as f64;
                    (mean * 10.0).round() / 10.0
                }),
                homes_monitored: published.then_some(own_homes.len() as u32),
                elders_visited_this_month: published
                    .then(|| own_homes.iter().filter(|h| visited.contains(&h.id)).count() as u32),
                elder_needs_met_this_month: published.then(|| {
                    own.iter()
                        .filter(|k| {
                            k.category == CaseCategory::ElderCare
                                && solved_since(k, since).is_some()
                        })
                        .count() as u32
                }),
                alerts_answered_this_month: published.then_some(answered),
            }
        })
        .collect();
    // Cells keyed by their integer grid coordinates, so the same cell adds up.
    let mut cells: BTreeMap<(i64, i64), AreaStatus> = BTreeMap::new();
    for case in cases {
        let open = case.stage != CaseStage::Closed;
        let solved = solved_since(case, since).is_some();
        if !open && !solved {
            continue;
        }
        let key = public_cell(case.position);
        let cell = cells.entry(key).or_insert_with(|| AreaStatus {
            centre: cell_centre(key),
            open_cases: 0,
            solved_this_month: 0,
        });
        cell.open_cases += u32::from(open);
        cell.solved_this_month += u32::from(solved);
    }
    PublicStatus {
        communities,
        areas: cells.into_values().collect(),
        as_of: Timestamp::from_millis(now),
        notices,
    }
}

async fn work_out(state: &AppState) -> ApiResult<Cached> {
    let now = now_ms();
    // Read first: a change seen while this works makes these figures stale already.
    let notices_at = state.live.last_notice_change();
    // Drills are practice: never on the public page.
    let mut cases = state.store.cases(&CaseFilter::default()).await?;
    cases.retain(|c| !c.handling.drill);
    let homes = state.store.homes(None).await?;
    let visited = state
        .store
        .check_ins_since(month_start(now))
        .await?
        .into_iter()
        .map(|(home, _)| home)
        .collect();
    let alerts = state
        .store
        .alerts(&AlertFilter {
            state: Some(AlertState::Resolved),
            changed_since: Some(month_start(now)),
            communities: None,
            limit: u32::MAX,
            drill: Some(false),
        })
        .await?;
    let records = Records {
        communities: state.store.communities().await?,
        cases: &cases,
        homes: &homes,
        visited: &visited,
        alerts: &alerts,
        notices: state.store.notices(now).await?,
    };
    let status = figures(now, records);
    let body = Bytes::from(serde_json::to_vec(&status).map_err(anyhow::Error::from)?);
    let digest = Sha256::digest(&body);
    let tag = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&digest[..12]);
    Ok(Cached {
        made: Instant::now(),
        notices_at,
        etag: HeaderValue::from_str(&format!("\"{tag}\"")).map_err(anyhow::Error::from)?,
        body,
    })
}

/// Per-community public figures and the coarse map of cases.
#[utoipa::path(get, path = "/public/status", tag = "public",
    responses(
        (status = 200, description = "Aggregates per community and per coarse cell; no personal data. Cacheable: `ETag`, `Cache-Control: public, max-age=30`", body = PublicStatus),
        (status = 304, description = "Unchanged since the `If-None-Match` tag"),
    ))]
pub async fn status(State(state): State<AppState>, request: HeaderMap) -> ApiResult<Response> {
    // One reader works the figures out; the others wait for them.
    let mut latest = state.public.latest.lock().await;
    let notices_at = state.live.last_notice_change();
    if latest
        .as_ref()
        .is_none_or(|c| c.made.elapsed() >= FRESH_FOR || c.notices_at != notices_at)
    {
        *latest = Some(work_out(&state).await?);
    }
    let Some(cached) = latest.as_ref() else {
        unreachable!("worked out just above");
    };
    let cache_control = HeaderValue::from_str(&format!("public, max-age={}", FRESH_FOR.as_secs()))
        .map_err(anyhow::Error::from)?;
    let headers = [
        (header::ETAG, cached.etag.clone()),
        (header::CACHE_CONTROL, cache_control),
    ];
    let unchanged = request
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|tags| tags.split(',').any(|t| t.trim() == cached.etag));
    if unchanged {
        return Ok((StatusCode::NOT_MODIFIED, headers).into_response());
    }
    let json = HeaderValue::from_static("application/json");
    Ok((headers, [(header::CONTENT_TYPE, json)], cached.body.clone()).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;
    use linli_domain::care::CareLevel;
    use linli_domain::place::Geometry;
    use linli_domain::CommunityId;

    fn community(id: &str) -> Community {
        Community {
            id: CommunityId::parse(id).unwrap(),
            name: id.into(),
            name_en: id.into(),
            geometry: Geometry::Polygon(vec![]),
        }
    }

    fn home(id: usize, community: &str) -> Home {
        Home {
            id: format!("{community}-{id}"),
            building: "b1".into(),
            community: CommunityId::parse(community).unwrap(),
            grid: None,
            unit: 1,
            floor: 1,
            room: "101".into(),
            resident: "王秀英".into(),
            age_band: "80-89".into(),
            living_alone: true,
            care_level: CareLevel::Attention,
            phone: None,
            contact: None,
            position: [117.3, 31.8],
            sensors: vec![],
        }
    }

    #[test]
    fn figures_about_homes_are_published_only_for_groups_of_five() {
        let homes: Vec<Home> = (0..5)
            .map(|i| home(i, "xingfuli"))
            .chain((0..4).map(|i| home(i, "wulimiao")))
            .collect();
        let visited = [
            "xingfuli-0".to_string(),
            "xingfuli-3".into(),
            "wulimiao-1".into(),
        ]
        .into_iter()
        .collect();
        // 2026-11-27, China time; the month began on the 1st.
        let now = 1_795_677_300_000;
        let this_month = "2026-11-20T02:00:00.000Z";
        let last_month = "2026-10-20T02:00:00.000Z";
        let elder_care = |id: i64, community: &str, closed: &str| -> CaseSummary {
            serde_json::from_value(serde_json::json!({
                "id": id, "title": "代购药品", "category": "elder-care", "stage": "closed",
                "priority": "normal", "source": "grid-visit", "community": community, "grid": null,
                "position": [117.3, 31.8], "building": null, "opened_at": last_month,
                "updated_at": closed, "closed_at": closed, "outcome": "solved",
                "due_at": closed, "overdue": false
            }))
            .unwrap()
        };
        let cases = [
            elder_care(1, "xingfuli", this_month),
            elder_care(2, "xingfuli", last_month),
            elder_care(3, "wulimiao", this_month),
        ];
        let alert = |id: i64, community: &str, by: &str| -> Alert {
            serde_json::from_value(serde_json::json!({
                "id": id, "home": format!("{community}-0"), "community": community,
                "building": "b1", "position": [117.3, 31.8], "kind": "no-water-use",
                "severity": "warning", "state": "resolved", "device": null, "detail": "",
                "value": null, "occurrences": 1, "cleared": false, "raised_at": this_month,
                "updated_at": this_month, "acknowledged": null, "escalated": null,
                "resolved": {"by": by, "at": this_month, "outcome": "safe", "note": ""},
                "case_id": null
            }))
            .unwrap()
        };
        let alerts = [
            alert(1, "xingfuli", "user:demo-grid-xingfuli"),
            alert(2, "xingfuli", "system:rules"),
            alert(3, "wulimiao", "user:demo-grid-wulimiao"),
        ];
        let status = figures(
            now,
            Records {
                communities: vec![community("xingfuli"), community("wulimiao")],
                cases: &cases,
                homes: &homes,
                visited: &visited,
                alerts: &alerts,
                notices: vec![],
            },
        );
        let [big, small] = &status.communities[..] else {
            panic!("two communities")
        };
        assert_eq!(
            (big.homes_monitored, big.elders_visited_this_month),
            (Some(5), Some(2))
        );
        assert_eq!(
            (small.homes_monitored, small.elders_visited_this_month),
            (None, None),
            "four homes are too few to publish anything about them"
        );
        assert_eq!(
            (
                big.elder_needs_met_this_month,
                big.alerts_answered_this_month
            ),
            (Some(1), Some(1)),
            "last month's errand and the alert the system cleared do not count"
        );
        assert_eq!(
            (
                small.elder_needs_met_this_month,
                small.alerts_answered_this_month
            ),
            (None, None)
        );
    }
}
