//! Panels over the map: the details of what was clicked or tapped, and the layer
//! toggles with the legend of the markers' colours.

use super::case_panel::CaseDetails;
use super::check_in::CheckInButton;
use crate::i18n::{china_clock, date_time, names, tr, use_language, Lang, Msg};
use crate::map::layers::{text, Area, BaseShown, Hit, Line};
use crate::map::markers::{self, Shown};
use leptos::prelude::*;
use linli_domain::care::{Health, Home};
use linli_domain::cases::{CasePriority, CaseSummary};
use linli_domain::patrol::{PatrolRun, RouteProperties};
use linli_domain::Timestamp;

/// The phone number in `text` ("女儿 139-0000-1234"), for a `tel:` link: its longest
/// run of digits (with `+`, `-` and spaces) that has at least 7 digits.
pub fn phone_number(text: &str) -> Option<String> {
    text.split(|c: char| !(c.is_ascii_digit() || matches!(c, '+' | '-' | ' ')))
        .filter(|run| run.chars().filter(char::is_ascii_digit).count() >= 7)
        .max_by_key(|run| run.len())
        .map(|run| {
            run.chars()
                .filter(|c| c.is_ascii_digit() || *c == '+')
                .collect()
        })
}

/// The rows of a home's details: personal data, shown to staff only.
fn home_rows(lang: Lang, h: &Home, building: &str, community: String) -> Vec<(Msg, String)> {
    let mut rows = vec![
        (Msg::Age, h.age_band.clone()),
        (
            Msg::LivesAlone,
            tr(lang, if h.living_alone { Msg::Yes } else { Msg::No }).to_string(),
        ),
        (Msg::Care, names::care(lang, h.care_level).to_string()),
        (
            Msg::Address,
            match lang {
                Lang::Zh => format!("{building} {}单元{}室", h.unit, h.room),
                Lang::En => format!("{building}, unit {}, room {}", h.unit, h.room),
            },
        ),
        (Msg::Community, community),
    ];
    rows.extend(h.phone.iter().map(|p| (Msg::Phone, p.clone())));
    rows.extend(h.contact.iter().map(|c| (Msg::Contact, c.clone())));
    for s in &h.sensors {
        let battery = s
            .battery_pct
            .map(|b| format!(" · {} {b}%", tr(lang, Msg::Battery)))
            .unwrap_or_default();
        // A sensor never heard from has no health to tell.
        let health = match s.last_seen {
            None => tr(lang, Msg::NeverSeen),
            Some(_) => names::health(lang, s.health),
        };
        rows.push((
            Msg::Sensors,
            format!("{}: {health}{battery}", names::sensor(lang, s.kind)),
        ));
    }
    rows
}

fn case_rows(lang: Lang, c: &CaseSummary, community: String) -> Vec<(Msg, String)> {
    vec![
        (Msg::Category, names::category(lang, c.category).to_string()),
        (Msg::Priority, names::priority(lang, c.priority).to_string()),
        (Msg::Opened, date_time(lang, c.opened_at)),
        (Msg::Community, community),
    ]
}

fn checkpoint_rows(
    lang: Lang,
    route: &RouteProperties,
    index: usize,
    passed: Option<Timestamp>,
) -> Vec<(Msg, String)> {
    let mut rows = vec![
        (Msg::Route, route.name.clone()),
        (Msg::Schedule, route.schedule.clone()),
        (
            Msg::Checkpoint,
            format!("{} / {}", index + 1, route.checkpoints.len()),
        ),
    ];
    rows.extend(passed.map(|at| (Msg::Passed, date_time(lang, at))));
    rows
}

/// A patrol unit's run: where it goes, how far it got, and whether it strays or went
/// silent.
fn unit_rows(lang: Lang, run: &PatrolRun, route: Option<&RouteProperties>) -> Vec<(Msg, String)> {
    let state = super::patrol_list::run_state(run);
    let mut rows = vec![
        (
            Msg::Route,
            route.map_or_else(|| run.route.clone(), |r| r.name.clone()),
        ),
        (Msg::PatrolState, tr(lang, state).to_string()),
        (Msg::Started, date_time(lang, run.started_at)),
        (
            Msg::Coverage,
            format!("{} / {}", run.covered.len(), run.checkpoints),
        ),
        (
            Msg::OffRoutePositions,
            format!("{} / {}", run.off_route_positions, run.positions),
        ),
    ];
    rows.extend(run.last_seen.map(|at| (Msg::LastSeen, date_time(lang, at))));
    if let Some((_, reason)) = super::patrol_list::missed_text(run) {
        rows.push((
            Msg::MissedReason,
            reason.unwrap_or_else(|| tr(lang, Msg::NoReasonGiven).to_string()),
        ));
    }
    rows
}

/// The route's checkpoints in walking order, each passed (with the time) or not yet.
fn checklist(run: &PatrolRun, route: &RouteProperties) -> impl IntoView {
    let items = route
        .checkpoints
        .iter()
        .map(|c| {
            let passed = run.covered.iter().find(|d| d.checkpoint == c.id);
            let time = passed.map(|d| china_clock(d.at)).unwrap_or_default();
            let missed = run.missed.iter().any(|m| m.id == c.id);
            let tick = match (passed, missed) {
                (Some(_), _) => "✓",
                (None, true) => "✗",
                (None, false) => "○",
            };
            view! {
                <li class:passed=passed.is_some() class:missed=missed data-test="unit-checkpoint"
                    data-passed=passed.is_some().to_string()>
                    <span class="tick">{tick}</span>
                    " " {c.name.clone()} " " <span class="when">{time}</span>
                </li>
            }
        })
        .collect_view();
    view! { <ol class="checklist" data-test="unit-checkpoints">{items}</ol> }
}

/// What staff may do with a clicked home (check in, drills) or case (its whole
/// record), shown under its details.
pub fn staff_actions(hit: &Hit) -> AnyView {
    match hit {
        Hit::Home(home, _) => view! {
            <CheckInButton home=home.id.clone()/>
            <super::drills::StartDrillButtons home=home.id.clone()/>
        }
        .into_any(),
        Hit::Case(case) => view! { <CaseDetails id=case.id/> }.into_any(),
        _ => ().into_any(),
    }
}

/// What a panel says of a feature: its kind, its title, and rows of label and value.
pub type Details = (Msg, String, Vec<(Msg, String)>);

/// A community id as its name in `lang`, as the communities layer gives it.
pub fn community_name(communities: &[Area], lang: Lang, id: &str) -> String {
    communities
        .iter()
        .find(|c| c.id == id)
        .and_then(|c| match lang {
            Lang::Zh => c.name.clone(),
            Lang::En => c.name_en.clone(),
        })
        .unwrap_or_else(|| id.to_string())
}

/// A building's details: its compound, floors and community.
pub fn building_details(b: &Area, community_name: &dyn Fn(&str) -> String) -> Details {
    let p = &b.properties.parse();
    let mut rows = Vec::new();
    rows.extend(text(p, "compound").map(|c| (Msg::Compound, c.to_string())));
    rows.extend(
        p.get("levels")
            .and_then(|v| v.as_u64())
            .map(|n| (Msg::Levels, n.to_string())),
    );
    rows.extend(text(p, "community").map(|c| (Msg::Community, community_name(c))));
    (
        Msg::Building,
        text(p, "name").unwrap_or(&b.id).to_string(),
        rows,
    )
}

/// A road's details: its name.
pub fn road_details(r: &Line) -> Details {
    (
        Msg::Road,
        r.properties.text("name").unwrap_or_else(|| r.id.clone()),
        vec![],
    )
}

/// Details of a clicked feature, and below them the `actions` the face offers.
#[component]
pub fn FeaturePanel(
    hit: Hit,
    actions: AnyView,
    communities: Vec<Area>,
    on_close: impl Fn() + Send + Sync + 'static,
) -> impl IntoView {
    let lang = use_language();
    let l = lang.0.get_untracked();
    let community_name = |id: &str| community_name(&communities, l, id);
    let checkpoints = match &hit {
        Hit::Unit(run, Some(route)) => Some(checklist(run, route)),
        _ => None,
    };
    let (kind, title, rows): Details = match &hit {
        Hit::Home(h, building) => {
            let building = building.as_deref().unwrap_or(&h.building);
            let rows = home_rows(l, h, building, community_name(h.community.as_str()));
            (Msg::Resident, h.resident.clone(), rows)
        }
        Hit::Case(c) => (
            Msg::Case,
            c.title.clone(),
            case_rows(l, c, community_name(c.community.as_str())),
        ),
        Hit::Checkpoint(route, index, passed) => {
            let name = route
                .checkpoints
                .get(*index)
                .map(|c| c.name.clone())
                .unwrap_or_default();
            (
                Msg::Checkpoint,
                name,
                checkpoint_rows(l, route, *index, *passed),
            )
        }
        Hit::Unit(run, route) => (
            Msg::PatrolUnit,
            run.unit.clone(),
            unit_rows(l, run, route.as_ref()),
        ),
        Hit::Building(b) => building_details(b, &community_name),
        Hit::Road(r) => road_details(r),
        Hit::Community(c) => (Msg::Community, community_name(&c.id), vec![]),
    };
    view! {
        <aside class="feature-panel" data-test="feature-panel">
            <button class="close" title=lang.text(Msg::Close) on:click=move |_| on_close()>"×"</button>
            <p class="kind">{move || lang.t(kind)}</p>
            <h2 data-test="feature-title">{title}</h2>
            <dl>
                {rows
                    .into_iter()
                    .map(|(label, value)| {
                        // A phone number is one tap to call.
                        let number = matches!(label, Msg::Phone | Msg::Contact)
                            .then(|| phone_number(&value))
                            .flatten();
                        let value = match number {
                            Some(n) => view! { <a href=format!("tel:{n}") data-test="call">{value}</a> }.into_any(),
                            None => value.into_any(),
                        };
                        view! { <dt>{move || lang.t(label)}</dt><dd>{value}</dd> }
                    })
                    .collect_view()}
            </dl>
            {checkpoints}
            {actions}
        </aside>
    }
}

/// Layer toggles, and the legend of home and case colours.
#[component]
pub fn LayerPanel(base_shown: RwSignal<BaseShown>, shown: RwSignal<Shown>) -> impl IntoView {
    let lang = use_language();
    let toggle = move |msg: Msg,
                       test: &'static str,
                       get: fn(BaseShown, Shown) -> bool,
                       set: fn(&mut BaseShown, &mut Shown, bool)| {
        view! {
            <label class="toggle">
                <input type="checkbox" data-test=test
                    prop:checked=move || get(base_shown.get(), shown.get())
                    on:change=move |ev| {
                        let (mut b, mut s) = (base_shown.get_untracked(), shown.get_untracked());
                        set(&mut b, &mut s, event_target_checked(&ev));
                        base_shown.set(b);
                        shown.set(s);
                    }/>
                {move || lang.t(msg)}
            </label>
        }
    };
    let swatches = |items: Vec<(&'static str, &'static str)>| {
        items
            .into_iter()
            .map(|(colour, name)| view! { <li><span class="swatch" style=format!("background:{colour}")></span>{name}</li> })
            .collect_view()
    };
    let legend = move || {
        let l = lang.0.get();
        let health = Health::ALL
            .iter()
            .map(|h| {
                (
                    markers::health_colour(markers::health_severity(*h)),
                    names::health(l, *h),
                )
            })
            .collect();
        let priority = CasePriority::ALL
            .iter()
            .map(|p| {
                (
                    markers::priority_colour(markers::priority_severity(*p)),
                    names::priority(l, *p),
                )
            })
            .collect();
        view! {
            <p class="legend-title">{tr(l, Msg::HomeHealth)}</p>
            <ul class="legend">{swatches(health)}</ul>
            <p class="legend-title">{tr(l, Msg::CasePriorityLegend)}</p>
            <ul class="legend">{swatches(priority)}</ul>
        }
    };
    view! {
        <details class="layer-panel" data-test="layers">
            <summary>{lang.text(Msg::Layers)}</summary>
            {toggle(Msg::Grids, "layer-grids", |b, _| b.grids, |b, _, on| b.grids = on)}
            {toggle(Msg::Roads, "layer-roads", |b, _| b.roads, |b, _, on| b.roads = on)}
            {toggle(Msg::Buildings, "layer-buildings", |b, _| b.buildings, |b, _, on| b.buildings = on)}
            {toggle(Msg::Homes, "layer-homes", |_, s| s.homes, |_, s, on| s.homes = on)}
            {toggle(Msg::Cases, "layer-cases", |_, s| s.cases, |_, s, on| s.cases = on)}
            {toggle(Msg::Routes, "layer-routes", |_, s| s.routes, |_, s, on| s.routes = on)}
            {legend}
        </details>
    }
}

#[cfg(test)]
mod tests {
    use super::phone_number;

    #[test]
    fn the_number_to_call_is_found_in_what_was_written() {
        assert_eq!(phone_number("13800000001").as_deref(), Some("13800000001"));
        assert_eq!(
            phone_number("女儿 139-0000-1234").as_deref(),
            Some("13900001234")
        );
        assert_eq!(
            phone_number("+86 138 0000 0001 (儿子)").as_deref(),
            Some("+8613800000001")
        );
        assert_eq!(phone_number("邻居王阿姨, 3号楼 2单元").as_deref(), None);
        assert_eq!(
            phone_number("座机 0551-6288 1234").as_deref(),
            Some("055162881234")
        );
    }
}
