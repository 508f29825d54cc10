//! The command screen's figures around the map: a row of KPI tiles (a click shows
//! only that on the map), charts a clerk can read across the room (alerts per hour
//! over the last day, open cases by community and stage, how fast alerts are taken on
//! and whether cases close in time) and a ticker of the newest alerts.
//!
//! The tiles and the case chart come from the live snapshot, so they move with the
//! stream; the rest from `GET /api/v1/stats`, asked again every minute.

use crate::api;
use crate::i18n::{china_clock, count, names, use_language, Lang, Msg};
use crate::live::{use_live, Live};
use crate::map::markers::MapFocus;
use leptos::prelude::*;
use linli_domain::alerts::Severity;
use linli_domain::api::{Activity, Snapshot};
use linli_domain::care::Health;
use linli_domain::cases::CaseStage;

/// How often the charts' figures are asked for again.
const STATS_EVERY: std::time::Duration = std::time::Duration::from_secs(60);

/// The figures of the KPI tiles.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Kpis {
    pub homes: usize,
    pub sensors: usize,
    /// Reporting, not offline: a sensor never heard from is not online.
    pub sensors_online: usize,
    /// Installed but never heard from.
    pub sensors_never_seen: usize,
    pub critical_alerts: usize,
    pub warning_alerts: usize,
    pub info_alerts: usize,
    pub open_cases: usize,
    pub overdue_cases: usize,
    pub patrols_out: usize,
}

impl Kpis {
    pub fn of(s: &Snapshot) -> Kpis {
        let sensors = s.homes.iter().flat_map(|h| &h.sensors);
        // Drills are practice: listed and marked, never counted.
        let alerts = |severity| {
            s.alerts
                .iter()
                .filter(|a| a.severity == severity && !a.drill)
                .count()
        };
        let open = s
            .cases
            .iter()
            .filter(|c| c.stage != CaseStage::Closed && !c.handling.drill);
        Kpis {
            homes: s.homes.len(),
            sensors: sensors.clone().count(),
            sensors_online: sensors
                .clone()
                .filter(|x| x.last_seen.is_some() && x.health != Health::Offline)
                .count(),
            sensors_never_seen: sensors.filter(|x| x.last_seen.is_none()).count(),
            critical_alerts: alerts(Severity::Critical),
            warning_alerts: alerts(Severity::Warning),
            info_alerts: alerts(Severity::Info),
            open_cases: open.clone().count(),
            overdue_cases: open.filter(|c| c.handling.overdue).count(),
            patrols_out: s.units.iter().filter(|u| u.ended_at.is_none()).count(),
        }
    }
}

/// Open cases per community and stage: (community, counts in the order of
/// [`CaseStage::ALL`] without `closed`), the busiest community first.
pub fn cases_by_community(s: &Snapshot) -> Vec<(String, Vec<usize>)> {
    let open_stages = &CaseStage::ALL[..CaseStage::ALL.len() - 1];
    let mut rows: Vec<(String, Vec<usize>)> = Vec::new();
    for case in s
        .cases
        .iter()
        .filter(|c| c.stage != CaseStage::Closed && !c.handling.drill)
    {
        let community = case.community.as_str();
        let index = match rows.iter().position(|(c, _)| c == community) {
            Some(i) => i,
            None => {
                rows.push((community.to_string(), vec![0; open_stages.len()]));
                rows.len() - 1
            }
        };
        if let Some(stage) = open_stages.iter().position(|st| *st == case.stage) {
            rows[index].1[stage] += 1;
        }
    }
    rows.sort_by(|a, b| {
        b.1.iter()
            .sum::<usize>()
            .cmp(&a.1.iter().sum())
            .then(a.0.cmp(&b.0))
    });
    rows
}

/// One colour per open stage, from reported (pale) to consolidating (deep).
const STAGE_COLOURS: [&str; 5] = ["#9ec5ff", "#6fa8ff", "#ffb454", "#ff7a59", "#3fb37f"];

#[component]
fn Tile(
    live: Live,
    focus: MapFocus,
    label: Msg,
    test: &'static str,
    value: Signal<String>,
    #[prop(optional)] alarm: bool,
) -> impl IntoView {
    let lang = use_language();
    view! {
        <button class="kpi" class:alarm=alarm data-test=test
            class:chosen=move || live.map_focus.get() == focus && focus != MapFocus::Everything
            on:click=move |_| live.map_focus.update(|f| *f = if *f == focus { MapFocus::Everything } else { focus })>
            <span class="value">{value}</span>
            <span class="label">{move || lang.t(label)}</span>
        </button>
    }
}

/// The row of KPI tiles over the map.
#[component]
pub fn KpiBar(activity: RwSignal<Option<Activity>>) -> impl IntoView {
    let Some(live) = use_live() else {
        return ().into_any();
    };
    let lang = use_language();
    let kpis = Memo::new(move |_| {
        live.snapshot
            .with(|s| s.as_ref().map(Kpis::of).unwrap_or_default())
    });
    let figure = move |f: fn(&Kpis) -> String| Signal::derive(move || kpis.with(f));
    let resolved_today = Signal::derive(move || {
        activity.with(|a| {
            a.as_ref().map_or_else(
                || "…".to_string(),
                |a| count(u64::from(a.alerts_resolved_today + a.cases_closed_today)),
            )
        })
    });
    // A memo, so that the tile is rebuilt when the alarm starts or stops, not on every
    // change of the figures.
    let critical = Memo::new(move |_| kpis.with(|k| k.critical_alerts > 0));
    view! {
        <div class="kpi-bar" data-test="kpis">
            <Tile live=live focus=MapFocus::Everything label=Msg::HomesMonitored test="kpi-homes" value=figure(|k| count(k.homes as u64))/>
            <Tile live=live focus=MapFocus::OfflineSensors label=Msg::SensorsOnline test="kpi-sensors"
                value=Signal::derive(move || kpis.with(|k| {
                    let online = format!("{} / {}", count(k.sensors_online as u64), count(k.sensors as u64));
                    match k.sensors_never_seen {
                        0 => online,
                        n => format!("{online} · {} {}", count(n as u64), lang.t(Msg::NeverSeen)),
                    }
                }))/>
            {move || view! {
                <Tile live=live focus=MapFocus::CriticalAlerts label=Msg::CriticalAlerts test="kpi-critical"
                    alarm=critical.get() value=figure(|k| count(k.critical_alerts as u64))/>
            }}
            <Tile live=live focus=MapFocus::ActiveAlerts label=Msg::OtherAlerts test="kpi-alerts"
                value=figure(|k| format!("{} · {}", count(k.warning_alerts as u64), count(k.info_alerts as u64)))/>
            <Tile live=live focus=MapFocus::OpenCases label=Msg::OpenCases test="kpi-cases" value=figure(|k| count(k.open_cases as u64))/>
            <Tile live=live focus=MapFocus::OverdueCases label=Msg::Overdue test="kpi-overdue" value=figure(|k| count(k.overdue_cases as u64))/>
            <Tile live=live focus=MapFocus::PatrolsOut label=Msg::PatrolsOut test="kpi-patrols" value=figure(|k| count(k.patrols_out as u64))/>
            <Tile live=live focus=MapFocus::Everything label=Msg::ResolvedToday test="kpi-resolved" value=resolved_today/>
        </div>
    }
    .into_any()
}

/// Asks for `/api/v1/stats` now and every minute while the face is open.
pub fn follow_activity() -> RwSignal<Option<Activity>> {
    let answer = LocalResource::new(api::stats);
    if let Ok(timer) = set_interval_with_handle(move || answer.refetch(), STATS_EVERY) {
        on_cleanup(move || timer.clear());
    }
    // A reload that fails keeps the figures shown (a minute old at most).
    let activity = RwSignal::new(None);
    Effect::new(move |_| match answer.get() {
        Some(Ok(a)) => activity.set(Some(a)),
        Some(Err(e)) => leptos::logging::warn!("cannot load the figures: {e:?}"),
        None => {}
    });
    activity
}

/// Vertical bars, one per value, scaled to the largest; `labels` under some of them.
fn bars(values: &[u32], labels: &[(usize, String)], test: &'static str) -> impl IntoView {
    const WIDTH: f64 = 480.0;
    const HEIGHT: f64 = 120.0;
    let top = values.iter().copied().max().unwrap_or(0).max(1) as f64;
    let step = WIDTH / values.len().max(1) as f64;
    let rects = values
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let h = f64::from(*v) / top * (HEIGHT - 16.0);
            view! {
                <rect x=format!("{:.1}", i as f64 * step + 1.0) y=format!("{:.1}", HEIGHT - 16.0 - h)
                    width=format!("{:.1}", step - 2.0) height=format!("{h:.1}") class="bar"
                    data-value=v.to_string()><title>{v.to_string()}</title></rect>
            }
        })
        .collect_view();
    let texts = labels
        .iter()
        .map(|(i, text)| {
            view! { <text x=format!("{:.1}", *i as f64 * step + step / 2.0) y=HEIGHT - 2.0 class="axis">{text.clone()}</text> }
        })
        .collect_view();
    view! {
        <svg viewBox=format!("0 0 {WIDTH} {HEIGHT}") class="chart" data-test=test role="img">
            {rects}{texts}
        </svg>
    }
}

/// The charts panel over the bottom of the map.
#[component]
pub fn Charts(activity: RwSignal<Option<Activity>>) -> impl IntoView {
    let lang = use_language();
    let Some(live) = use_live() else {
        return ().into_any();
    };
    let hourly = move || {
        activity.get().map(|a| {
            // Every sixth hour labelled with its China-time hour.
            let labels = (0..a.alerts_per_hour.len())
                .filter(|i| i % 6 == 5)
                .map(|i| {
                    let hours_ago = (a.alerts_per_hour.len() - 1 - i) as i64;
                    let hour = i64::from(a.as_of.in_china().hour);
                    (i, format!("{:02}", (hour - hours_ago).rem_euclid(24)))
                })
                .collect::<Vec<_>>();
            bars(&a.alerts_per_hour, &labels, "chart-alerts-per-hour")
        })
    };
    // A memo: every stream batch changes the snapshot, seldom the cases.
    let case_counts = Memo::new(move |_| {
        live.snapshot
            .with(|s| s.as_ref().map(cases_by_community).unwrap_or_default())
    });
    let by_community = move || {
        let l = lang.0.get();
        let rows = case_counts.get();
        let top = rows
            .iter()
            .map(|(_, c)| c.iter().sum::<usize>())
            .max()
            .unwrap_or(1)
            .max(1);
        rows.into_iter()
            .map(|(community, counts)| {
                let segments = counts
                    .iter()
                    .zip(STAGE_COLOURS)
                    .filter(|(n, _)| **n > 0)
                    .map(|(n, colour)| {
                        let width = format!("width:{:.1}%;background:{colour}", *n as f64 / top as f64 * 100.0);
                        view! { <span class="segment" style=width title=n.to_string()>{n.to_string()}</span> }
                    })
                    .collect_view();
                let name = live.community_name(&community, l);
                view! {
                    <li data-test="chart-community" data-community=community>
                        <span class="name">{name}</span>
                        <span class="stack">{segments}</span>
                    </li>
                }
            })
            .collect_view()
    };
    let legend = move || {
        let l = lang.0.get();
        CaseStage::ALL[..5]
            .iter()
            .zip(STAGE_COLOURS)
            .map(|(stage, colour)| view! { <li><span class="swatch" style=format!("background:{colour}")></span>{names::stage(l, *stage)}</li> })
            .collect_view()
    };
    let timeliness = move || {
        activity.get().map(|a| {
            let minutes = a
                .median_minutes_to_acknowledge
                .map_or_else(|| "—".to_string(), |m| format!("{m:.1}"));
            let closed = a.closed_on_time + a.closed_late;
            let on_time = if closed == 0 { 0.0 } else { f64::from(a.closed_on_time) / f64::from(closed) * 100.0 };
            let hours = |h: Option<f64>| h.map_or_else(|| "—".to_string(), |h| format!("{h:.1}"));
            view! {
                <dl class="timeliness" data-test="chart-timeliness">
                    <dt>{lang.text(Msg::MinutesToAcknowledge)}</dt><dd data-test="minutes-to-ack">{minutes}</dd>
                    <dt>{lang.text(Msg::ClosedOnTime)}</dt>
                    <dd>
                        <span class="ratio"><span class="on-time" style=format!("width:{on_time:.0}%")></span></span>
                        {format!(" {} / {closed}", a.closed_on_time)}
                    </dd>
                    <dt>{lang.text(Msg::HoursToClose)}</dt>
                    <dd>{hours(a.median_hours_to_close)}" / "{hours(a.median_hours_allowed)}</dd>
                </dl>
            }
        })
    };
    view! {
        <details class="charts" data-test="charts" open>
            <summary>{lang.text(Msg::Charts)}</summary>
            <div class="chart-row">
                <figure>
                    <figcaption>{lang.text(Msg::AlertsPerHour)}</figcaption>
                    {hourly}
                </figure>
                <figure>
                    <figcaption>{lang.text(Msg::CasesByCommunity)}</figcaption>
                    // The legend first: the communities below may scroll, the key stays.
                    <ul class="legend inline" data-test="stage-legend">{legend}</ul>
                    <ul class="stacks">{by_community}</ul>
                </figure>
                <figure>
                    <figcaption>{lang.text(Msg::Timeliness)}</figcaption>
                    {timeliness}
                </figure>
            </div>
        </details>
    }
    .into_any()
}

/// The newest alerts running along the bottom of the screen.
#[component]
pub fn AlertTicker() -> impl IntoView {
    let lang = use_language();
    let Some(live) = use_live() else {
        return ().into_any();
    };
    let items = move || {
        let l: Lang = lang.0.get();
        live.snapshot.with(|s| {
            let mut alerts: Vec<_> = s.as_ref().map(|s| s.alerts.clone()).unwrap_or_default();
            alerts.sort_by_key(|a| std::cmp::Reverse(a.raised_at));
            alerts
                .into_iter()
                .take(12)
                .map(|a| {
                    view! {
                        <span class=format!("tick severity-{}", a.severity.as_str())>
                            {super::alerts::drill_mark(l, &a)}{china_clock(a.raised_at)}" "{names::alert_kind(l, a.kind)}" · "{live.community_name(a.community.as_str(), l)}
                        </span>
                    }
                })
                .collect_view()
        })
    };
    view! {
        <div class="ticker" data-test="ticker" aria-live="off">
            <div class="ticker-run">{items}</div>
        </div>
    }
    .into_any()
}

#[cfg(test)]
mod tests {
    use super::*;
    use linli_domain::cases::{CaseCategory, CasePriority, CaseSource, CaseSummary};
    use linli_domain::place::FeatureCollection;
    use linli_domain::CommunityId;
    use linli_domain::Timestamp;

    fn case(id: i64, community: &str, stage: CaseStage, overdue: bool) -> CaseSummary {
        CaseSummary {
            id,
            title: "t".into(),
            category: CaseCategory::Environment,
            stage,
            priority: CasePriority::Normal,
            source: CaseSource::Hotline,
            community: CommunityId::parse(community).unwrap(),
            grid: None,
            position: [117.3, 31.8],
            building: None,
            opened_at: Timestamp::from_millis(0),
            updated_at: Timestamp::from_millis(0),
            closed_at: None,
            outcome: None,
            handling: linli_domain::cases::CaseHandling {
                overdue,
                ..Default::default()
            },
        }
    }

    fn snapshot() -> Snapshot {
        Snapshot {
            last_event_id: 0,
            homes: vec![],
            alerts: vec![],
            cases: vec![
                case(1, "wulimiao", CaseStage::Reported, true),
                case(2, "wulimiao", CaseStage::JointHandling, false),
                case(3, "xingfuli", CaseStage::Reported, false),
                case(4, "xingfuli", CaseStage::Closed, true),
            ],
            routes: FeatureCollection { features: vec![] },
            units: vec![],
            dispatches: vec![],
        }
    }

    #[test]
    fn a_sensor_never_heard_from_is_not_online() {
        use linli_domain::care::{CareLevel, Home, Sensor, SensorKind};
        let sensor = |id: &str, health, last_seen: Option<&str>| Sensor {
            id: id.into(),
            kind: SensorKind::Water,
            health,
            battery_pct: None,
            last_seen: last_seen.map(|t| Timestamp::parse(t).unwrap()),
        };
        let seen = Some("2026-12-01T08:00:00.000Z");
        let mut s = snapshot();
        s.homes = vec![Home {
            id: "h1".into(),
            building: "b1".into(),
            community: CommunityId::parse("xingfuli").unwrap(),
            grid: None,
            unit: 1,
            floor: 1,
            room: "101".into(),
            resident: "王秀英".into(),
            age_band: "80-89".into(),
            living_alone: true,
            care_level: CareLevel::Independent,
            phone: None,
            contact: None,
            position: [117.3, 31.8],
            sensors: vec![
                sensor("wm-1", Health::Ok, None),
                sensor("wm-2", Health::Ok, seen),
                sensor("wm-3", Health::Offline, seen),
                sensor("wm-4", Health::Warning, seen),
            ],
        }];
        let k = Kpis::of(&s);
        assert_eq!(
            (k.sensors, k.sensors_online, k.sensors_never_seen),
            (4, 2, 1)
        );
    }

    #[test]
    fn tiles_count_open_and_overdue_cases_only() {
        let k = Kpis::of(&snapshot());
        assert_eq!((k.open_cases, k.overdue_cases), (3, 1));
        assert_eq!((k.homes, k.sensors, k.patrols_out), (0, 0, 0));
    }

    #[test]
    fn drills_are_counted_in_no_tile_or_chart() {
        let mut s = snapshot();
        let mut drill_case = case(5, "xingfuli", CaseStage::Reported, true);
        drill_case.handling.drill = true;
        s.cases.push(drill_case);
        let alert = |id: i64, drill: bool| {
            serde_json::from_value::<linli_domain::alerts::Alert>(serde_json::json!({
                "id": id, "home": "h1", "community": "xingfuli", "building": "b1",
                "position": [117.3, 31.8], "kind": "gas", "severity": "critical",
                "state": "open", "device": null, "detail": "", "value": null,
                "occurrences": 1, "cleared": false, "raised_at": "2026-11-27T02:13:00.000Z",
                "updated_at": "2026-11-27T02:13:00.000Z",
                "acknowledged": null, "escalated": null, "resolved": null, "case_id": null,
                "drill": drill
            }))
            .unwrap()
        };
        s.alerts = vec![alert(1, false), alert(2, true)];
        let k = Kpis::of(&s);
        assert_eq!(k.critical_alerts, 1, "the real alarm only");
        assert_eq!(
            (k.open_cases, k.overdue_cases),
            (3, 1),
            "as without the drill"
        );
        assert_eq!(cases_by_community(&s), cases_by_community(&snapshot()));
    }

    #[test]
    fn open_cases_stack_by_stage_per_community_busiest_first() {
        assert_eq!(
            cases_by_community(&snapshot()),
            [
                ("wulimiao".to_string(), vec![1, 0, 0, 1, 0]),
                ("xingfuli".to_string(), vec![1, 0, 0, 0, 0]),
            ]
        );
    }
}
