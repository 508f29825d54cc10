//! The patrol list beside the map: each unit's latest run, out or back, with its route,
//! how many checkpoints it has passed, how far along the route it is (while out), and
//! whether it strays or went silent; a run
//! that is back names the checkpoints it missed and why. A row flies the map to where
//! the unit last was.

use super::patrol_control::PatrolControl;
use crate::i18n::{china_clock, use_language, Msg};
use crate::live::{use_live, Live};
use leptos::prelude::*;
use linli_domain::patrol::PatrolRun;

/// What a run's row says of its state.
pub fn run_state(run: &PatrolRun) -> Msg {
    if run.ended_at.is_some() {
        Msg::RunEnded
    } else if run.silent {
        Msg::Silent
    } else if run.off_route {
        Msg::OffRoute
    } else {
        Msg::OnRoute
    }
}

/// For a run that is back with checkpoints missed: their names, and the team's reason.
pub fn missed_text(run: &PatrolRun) -> Option<(String, Option<String>)> {
    (!run.missed.is_empty()).then(|| {
        let names: Vec<&str> = run.missed.iter().map(|c| c.name.as_str()).collect();
        (names.join("、"), run.missed_reason.clone())
    })
}

#[component]
fn PatrolRow(run: PatrolRun, route: String, live: Live) -> impl IntoView {
    let lang = use_language();
    let state = run_state(&run);
    let position = run.position;
    let missed = missed_text(&run);
    // While out: how far along its route, in whole percent.
    let progress = run
        .progress
        .filter(|_| run.ended_at.is_none())
        .map(|share| (share * 100.0).round() as u32);
    view! {
        <li class="patrol-row" data-test="patrol-row" data-unit=run.unit.clone()
            data-covered=run.covered.len().to_string() data-state=format!("{state:?}")
            data-progress=progress.map(|p| p.to_string())>
            <button class="case-summary" on:click=move |_| live.focus.set(position)>
                <strong class="title">{run.unit.clone()}</strong>
                <span class="id">{move || lang.t(state)}</span>
                <span class="meta">{route}</span>
                <span class="meta">
                    {lang.text(Msg::Coverage)}" "{run.covered.len()}" / "{run.checkpoints}
                    {run.last_seen.map(|at| format!(" · {}", china_clock(at)))}
                </span>
                {progress.map(|p| view! {
                    <span class="meta" data-test="patrol-progress">{lang.text(Msg::RouteProgress)}" "{p}"%"</span>
                })}
                {missed.map(|(names, reason)| view! {
                    <span class="meta missed" data-test="patrol-missed">
                        {lang.text(Msg::MissedCheckpoints)}"："{names}" · "
                        {move || reason.clone().unwrap_or_else(|| lang.t(Msg::NoReasonGiven).to_string())}
                    </span>
                })}
            </button>
        </li>
    }
}

/// With `control`, the tablet's own patrol can be started and ended here.
#[component]
pub fn PatrolList(#[prop(optional)] control: bool) -> impl IntoView {
    let lang = use_language();
    let Some(live) = use_live() else {
        return ().into_any();
    };
    // Out first, then by unit.
    let runs = Memo::new(move |_| {
        live.snapshot.with(|s| {
            let Some(s) = s else { return vec![] };
            let mut runs: Vec<(PatrolRun, String)> = s
                .units
                .iter()
                .map(|run| {
                    let route = s
                        .routes
                        .features
                        .iter()
                        .find(|r| r.properties.id == run.route)
                        .map_or_else(|| run.route.clone(), |r| r.properties.name.clone());
                    (run.clone(), route)
                })
                .collect();
            runs.sort_by(|a, b| {
                (a.0.ended_at.is_some(), &a.0.unit).cmp(&(b.0.ended_at.is_some(), &b.0.unit))
            });
            runs
        })
    });
    view! {
        <section class="list-panel" data-test="patrol-list">
            <header><h2>{lang.text(Msg::Patrols)}</h2></header>
            {control.then(|| view! { <PatrolControl/> })}
            <ul class="item-list">
                <For each=move || runs.get() key=|(r, _)| (r.id, r.positions, r.ended_at, r.silent) let:item>
                    <PatrolRow run=item.0 route=item.1 live=live/>
                </For>
            </ul>
            {move || runs.with(Vec::is_empty).then(|| view! { <p class="empty">{lang.text(Msg::NoPatrols)}</p> })}
        </section>
    }
    .into_any()
}
