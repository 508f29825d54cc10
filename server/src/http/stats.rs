//! `/api/v1/stats`: how the district has been doing, for the command screen's charts:
//! alerts per hour over the last day, what was resolved today, how fast alerts are
//! acknowledged and whether cases close by their due time. A grid worker gets their
//! communities' figures. [`activity`] works them out (pure, tested with a fixed clock).

use super::AppState;
use crate::auth::access::Caller;
use crate::clock::{day_start, now_ms, Millis};
use crate::error::ApiResult;
use crate::store::{AlertFilter, CaseFilter};
use axum::extract::State;
use axum::Json;
use linli_domain::alerts::Alert;
use linli_domain::api::Activity;
use linli_domain::cases::{due_hours, CaseSummary};
use linli_domain::ErrorBody;
use linli_domain::Timestamp;

const HOUR_MS: Millis = 3_600_000;
const DAY_MS: Millis = 24 * HOUR_MS;

/// The middle value (the mean of the two middle ones for an even count).
fn median(mut values: Vec<f64>) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    let m = if values.len().is_multiple_of(2) {
        (values[mid - 1] + values[mid]) / 2.0
    } else {
        values[mid]
    };
    Some((m * 10.0).round() / 10.0)
}

/// The figures at `now` from the alerts changed in the last 7 days and all cases.
pub fn activity(now: Millis, alerts: &[Alert], cases: &[CaseSummary]) -> Activity {
    let hour_now = now - now.rem_euclid(HOUR_MS);
    let first_hour = hour_now - 23 * HOUR_MS;
    let mut alerts_per_hour = vec![0_u32; 24];
    let today = day_start(now);
    let week_ago = now - 7 * DAY_MS;
    let mut to_acknowledge = Vec::new();
    let mut alerts_last_7_days = 0;
    let mut alerts_resolved_today = 0;
    for alert in alerts {
        let raised = alert.raised_at.millis();
        if raised >= first_hour && raised <= now {
            alerts_per_hour[((raised - first_hour) / HOUR_MS) as usize] += 1;
        }
        if raised >= week_ago {
            alerts_last_7_days += 1;
            // The time until a person took it on (a system stamp would say nothing).
            let by_person = alert
                .acknowledged
                .as_ref()
                .filter(|stamp| stamp.by.starts_with("user:"));
            if let Some(at) = by_person.map(|stamp| stamp.at.millis()) {
                to_acknowledge.push((at - raised) as f64 / 60_000.0);
            }
        }
        let resolved = alert.resolved.as_ref().map(|r| r.at.millis());
        if resolved.is_some_and(|at| at >= today) {
            alerts_resolved_today += 1;
        }
    }
    let month_ago = now - 30 * DAY_MS;
    let (mut on_time, mut late) = (0, 0);
    let (mut taken, mut allowed) = (Vec::new(), Vec::new());
    let mut cases_closed_today = 0;
    for case in cases {
        let Some(closed) = case.closed_at.map(Timestamp::millis) else {
            continue;
        };
        if closed >= today {
            cases_closed_today += 1;
        }
        if closed < month_ago {
            continue;
        }
        let opened = case.opened_at.millis();
        let hours = due_hours(case.category, case.priority);
        if closed <= opened + hours * HOUR_MS {
            on_time += 1;
        } else {
            late += 1;
        }
        taken.push((closed - opened) as f64 / HOUR_MS as f64);
        allowed.push(hours as f64);
    }
    Activity {
        as_of: Timestamp::from_millis(now),
        alerts_per_hour,
        alerts_resolved_today,
        cases_closed_today,
        median_minutes_to_acknowledge: median(to_acknowledge),
        alerts_last_7_days,
        closed_on_time: on_time,
        closed_late: late,
        median_hours_to_close: median(taken),
        median_hours_allowed: median(allowed),
    }
}

/// The command screen's figures for the caller's communities.
#[utoipa::path(get, path = "/stats", tag = "stats",
    responses(
        (status = 200, description = "Alerts per hour over 24 h, today's resolutions, acknowledgement and closing times", body = Activity),
        (status = 401, description = "Not signed in", body = ErrorBody),
    ))]
pub async fn stats(State(state): State<AppState>, caller: Caller) -> ApiResult<Json<Activity>> {
    let now = now_ms();
    let scope = caller.community_scope();
    let alerts = state
        .store
        .alerts(&AlertFilter {
            communities: scope.clone(),
            changed_since: Some(now - 7 * DAY_MS),
            limit: 100_000,
            // Drills are practice: no figure counts them.
            drill: Some(false),
            ..Default::default()
        })
        .await?;
    let mut cases = state
        .store
        .cases(&CaseFilter {
            communities: scope,
            ..Default::default()
        })
        .await?;
    cases.retain(|c| !c.handling.drill);
    Ok(Json(activity(now, &alerts, &cases)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use linli_domain::alerts::{AlertKind, AlertOutcome, AlertState, Resolution, Severity, Stamp};
    use linli_domain::cases::{CaseCategory, CasePriority, CaseSource, CaseStage};
    use linli_domain::CommunityId;

    /// 2026-11-26T07:15Z: 15:15 in Hefei.
    const NOW: Millis = 1_795_677_300_000;

    fn alert(
        raised: Millis,
        acknowledged: Option<(Millis, &str)>,
        resolved: Option<Millis>,
    ) -> Alert {
        Alert {
            id: 1,
            home: "h1".into(),
            community: CommunityId::parse("xingfuli").unwrap(),
            building: "b1".into(),
            position: [117.3, 31.8],
            kind: AlertKind::Gas,
            severity: Severity::Critical,
            state: AlertState::Open,
            device: None,
            detail: String::new(),
            value: None,
            occurrences: 1,
            cleared: false,
            raised_at: Timestamp::from_millis(raised),
            updated_at: Timestamp::from_millis(raised),
            acknowledged: acknowledged.map(|(at, by)| Stamp {
                by: by.into(),
                at: Timestamp::from_millis(at),
            }),
            escalated: None,
            resolved: resolved.map(|at| Resolution {
                by: "user:a".into(),
                at: Timestamp::from_millis(at),
                outcome: AlertOutcome::Safe,
                note: String::new(),
            }),
            case_id: None,
            drill: false,
        }
    }

    fn case(opened: Millis, closed: Option<Millis>) -> CaseSummary {
        CaseSummary {
            id: 1,
            title: "t".into(),
            // Environment, normal priority: 72 hours allowed.
            category: CaseCategory::Environment,
            stage: if closed.is_some() {
                CaseStage::Closed
            } else {
                CaseStage::Reported
            },
            priority: CasePriority::Normal,
            source: CaseSource::Hotline,
            community: CommunityId::parse("xingfuli").unwrap(),
            grid: None,
            position: [117.3, 31.8],
            building: None,
            opened_at: Timestamp::from_millis(opened),
            updated_at: Timestamp::from_millis(opened),
            closed_at: closed.map(Timestamp::from_millis),
            outcome: None,
            handling: Default::default(),
        }
    }

    #[test]
    fn alerts_are_counted_per_hour_and_acknowledgement_is_timed_for_people_only() {
        let alerts = [
            // In the hour now under way, acknowledged by a person after 4 minutes.
            alert(NOW - 60_000, Some((NOW + 3 * 60_000, "user:li")), None),
            // Two hours ago, acknowledged after 10 minutes, resolved today.
            alert(
                NOW - 2 * HOUR_MS,
                Some((NOW - 2 * HOUR_MS + 600_000, "user:li")),
                Some(NOW - HOUR_MS),
            ),
            // Stamped by the system, not by a person: not timed.
            alert(
                NOW - 3 * HOUR_MS,
                Some((NOW - 3 * HOUR_MS + 60_000, "system:clock")),
                None,
            ),
            // Yesterday afternoon: outside the 24 hours, resolved before today began.
            alert(NOW - 25 * HOUR_MS, None, Some(NOW - 24 * HOUR_MS)),
        ];
        let a = activity(NOW, &alerts, &[]);
        assert_eq!(a.alerts_per_hour.len(), 24);
        assert_eq!(a.alerts_per_hour[23], 1);
        assert_eq!(a.alerts_per_hour[21], 1);
        assert_eq!(a.alerts_per_hour[20], 1);
        assert_eq!(a.alerts_per_hour.iter().sum::<u32>(), 3);
        assert_eq!(a.alerts_last_7_days, 4);
        assert_eq!(a.median_minutes_to_acknowledge, Some(7.0));
        assert_eq!(a.alerts_resolved_today, 1);
    }

    #[test]
    fn cases_close_on_time_or_late_against_their_due_hours() {
        let cases = [
            // 10 hours, closed today.
            case(NOW - 10 * HOUR_MS, Some(NOW - 60_000)),
            // 100 hours, closed yesterday: late.
            case(NOW - 120 * HOUR_MS, Some(NOW - 20 * HOUR_MS)),
            // Closed 40 days ago: outside the 30 days.
            case(NOW - 41 * DAY_MS, Some(NOW - 40 * DAY_MS)),
            case(NOW - HOUR_MS, None),
        ];
        let a = activity(NOW, &[], &cases);
        assert_eq!((a.closed_on_time, a.closed_late), (1, 1));
        assert_eq!(a.median_hours_to_close, Some(55.0));
        assert_eq!(a.median_hours_allowed, Some(72.0));
        assert_eq!(a.cases_closed_today, 1);
        assert_eq!(activity(NOW, &[], &[]).median_hours_to_close, None);
    }
}
