//! The panel beside the map on the staff faces: what waits in the outbox and what the
//! server refused of it, then tabs for the live alerts, the cases, the tasks sent
//! (派单) and the patrols, each with the number it holds, and on the command screen the
//! public notices.

use super::alerts::AlertPanel;
use super::case_list::CaseList;
use super::dispatch::TaskList;
use super::notices::NoticeBoard;
use super::patrol_list::PatrolList;
use crate::i18n::{use_language, Msg};
use crate::live::use_live;
use crate::outbox::use_outbox;
use leptos::prelude::*;
use linli_domain::cases::CaseStage;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tab {
    Alerts,
    Cases,
    Tasks,
    Patrols,
    Notices,
}

/// `field`: the tablet's panel, where the worker's own patrol is started.
#[component]
pub fn SidePanel(#[prop(optional)] field: bool) -> impl IntoView {
    let lang = use_language();
    let tab = RwSignal::new(Tab::Alerts);
    let live = use_live();
    // Active alerts, open cases, units out, open tasks.
    let counts = move || {
        live.and_then(|live| {
            live.snapshot.with(|s| {
                s.as_ref().map(|s| {
                    (
                        s.alerts.len(),
                        s.cases
                            .iter()
                            .filter(|c| c.stage != CaseStage::Closed)
                            .count(),
                        s.units.iter().filter(|u| u.ended_at.is_none()).count(),
                        s.dispatches.len(),
                    )
                })
            })
        })
        .unwrap_or_default()
    };
    let button = move |which: Tab,
                       label: Msg,
                       test: &'static str,
                       count: fn((usize, usize, usize, usize)) -> usize| {
        view! {
            <button role="tab" data-test=test class:chosen=move || tab.get() == which
                aria-selected=move || (tab.get() == which).to_string()
                on:click=move |_| tab.set(which)>
                {move || lang.t(label)} " " <span class="count">{move || count(counts())}</span>
            </button>
        }
    };
    let outbox = use_outbox();
    let waiting = move || outbox.map_or(0, |o| o.pending.with(Vec::len));
    let conflicts = move || outbox.map(|o| o.conflicts.get()).unwrap_or_default();
    view! {
        <aside class="side-panel" data-test="side-panel">
            {move || (waiting() > 0).then(|| view! {
                <p class="outbox-waiting" data-test="outbox-waiting" role="status">
                    {lang.text(Msg::WaitingToSend)}" "{waiting}
                </p>
            })}
            {move || (!conflicts().is_empty()).then(|| view! {
                <div class="outbox-conflicts" data-test="outbox-conflicts" role="alert">
                    <p>{lang.text(Msg::ConflictsTitle)}</p>
                    <ul>
                        {conflicts().into_iter().map(|c| view! { <li><strong>{c.label}</strong>" · "{c.message}</li> }).collect_view()}
                    </ul>
                    <button on:click=move |_| if let Some(o) = outbox { o.dismiss_conflicts() }>
                        {lang.text(Msg::Dismiss)}
                    </button>
                </div>
            })}
            <nav class="tabs" role="tablist">
                {button(Tab::Alerts, Msg::Alerts, "tab-alerts", |c| c.0)}
                {button(Tab::Cases, Msg::Cases, "tab-cases", |c| c.1)}
                {button(Tab::Tasks, Msg::Tasks, "tab-tasks", |c| c.3)}
                {button(Tab::Patrols, Msg::Patrols, "tab-patrols", |c| c.2)}
                {(!field).then(|| view! {
                    <button role="tab" data-test="tab-notices" class:chosen=move || tab.get() == Tab::Notices
                        aria-selected=move || (tab.get() == Tab::Notices).to_string()
                        on:click=move |_| tab.set(Tab::Notices)>
                        {lang.text(Msg::Notices)}
                    </button>
                })}
            </nav>
            {move || match tab.get() {
                Tab::Alerts => view! { <AlertPanel/> }.into_any(),
                Tab::Cases => view! { <CaseList/> }.into_any(),
                Tab::Tasks => view! { <TaskList/> }.into_any(),
                Tab::Patrols => view! { <PatrolList control=field/> }.into_any(),
                Tab::Notices => view! { <NoticeBoard/> }.into_any(),
            }}
        </aside>
    }
}
