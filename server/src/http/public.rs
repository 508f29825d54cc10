//! `/api/v1/public/status`: the public page's figures. No sign-in; aggregates only,
//! and groups of fewer than [`MIN_GROUP`] homes are not published.

use super::AppState;
use crate::clock::{now_ms, Millis};
use crate::error::ApiResult;
use crate::store::CaseFilter;
use axum::extract::State;
use axum::Json;
use linli_domain::api::{CommunityStatus, PublicStatus};
use linli_domain::cases::{CaseOutcome, CaseStage};

/// The smallest group of homes a public figure may describe.
pub const MIN_GROUP: u32 = 5;

/// China Standard Time, UTC+8, the street office's clock.
const CHINA_OFFSET_MS: Millis = 8 * 3600 * 1000;

/// The first moment of the month containing `now`, China time, in UTC milliseconds.
pub fn month_start(now: Millis) -> Millis {
    let local = time::OffsetDateTime::from_unix_timestamp_nanos(
        i128::from(now + CHINA_OFFSET_MS) * 1_000_000,
    )
    .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    let first = local
        .date()
        .replace_day(1)
        .unwrap_or(local.date())
        .midnight()
        .assume_utc();
    (first.unix_timestamp_nanos() / 1_000_000) as Millis - CHINA_OFFSET_MS
}

/// Per-community public figures.
#[utoipa::path(get, path = "/public/status", tag = "public",
    responses((status = 200, description = "Aggregates per community; no personal data", body = PublicStatus)))]
pub async fn status(State(state): State<AppState>) -> ApiResult<Json<PublicStatus>> {
    let since = month_start(now_ms());
    let cases = state.store.cases(&CaseFilter::default()).await?;
    let homes = state.store.homes(None).await?;
    let communities = state
        .store
        .communities()
        .await?
        .into_iter()
        .map(|c| {
            let own = cases.iter().filter(|k| k.community == c.id);
            let open_cases = own.clone().filter(|k| k.stage != CaseStage::Closed).count() as u32;
            let solved_this_month = own
                .filter(|k| {
                    matches!(
                        k.outcome,
                        Some(CaseOutcome::Solved | CaseOutcome::SolvedWithFollowUp)
                    )
                })
                .filter(|k| {
                    k.closed_at
                        .as_deref()
                        .and_then(crate::store::parse_rfc3339)
                        .is_some_and(|t| t >= since)
                })
                .count() as u32;
            let monitored = homes.iter().filter(|h| h.community == c.id).count() as u32;
            CommunityStatus {
                id: c.id,
                name: c.name,
                name_en: c.name_en,
                open_cases,
                solved_this_month,
                homes_monitored: (monitored >= MIN_GROUP).then_some(monitored),
            }
        })
        .collect();
    Ok(Json(PublicStatus { communities }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_month_starts_at_midnight_china_time() {
        // 2026-11-26T07:15Z is 15:15 in Hefei; the month began 2026-11-01T00:00+08:00,
        // which is 2026-10-31T16:00Z.
        assert_eq!(
            crate::clock::rfc3339(month_start(1_795_677_300_000)),
            "2026-10-31T16:00:00.000Z"
        );
        // 2026-10-31T20:00Z is already 1 November in Hefei.
        assert_eq!(
            crate::clock::rfc3339(month_start(1_793_476_800_000)),
            "2026-10-31T16:00:00.000Z"
        );
        // One minute before that midnight it is still October there.
        assert_eq!(
            crate::clock::rfc3339(month_start(1_793_462_340_000)),
            "2026-09-30T16:00:00.000Z"
        );
    }
}
