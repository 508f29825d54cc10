//! Reporting a case at a spot picked on the map (right-click, or a long press on a
//! tablet): title, category, priority, source, who is to handle it and a description.
//! The spot's community and building come from the map. The new case goes to the
//! server (`POST /api/v1/cases`, through the outbox: without a network it is kept and
//! sent later), lands on this map at once (the stream brings it to the others) and its
//! details open, where a possible duplicate can be merged.

use crate::i18n::{names, use_language, Msg};
use crate::live::use_live;
use crate::outbox::{self, sending_action, use_outbox, Pending, Sent};
use crate::session::use_session;
use leptos::prelude::*;
use linli_domain::cases::{CaseCategory, CasePriority, CaseSource, NewCase, Party};
use linli_domain::events::EventKind;
use linli_domain::limits::{CASE_TEXT_CHARS, CASE_TITLE_CHARS};
use linli_domain::place::Position;
use linli_domain::{CommunityId, Role};

/// Where a new case is to be: the point, and the community and building under it.
#[derive(Debug, Clone, PartialEq)]
pub struct Spot {
    pub position: Position,
    /// The community's id and its name as shown.
    pub community: Option<(String, String)>,
    /// The building's id and its name as shown.
    pub building: Option<(String, String)>,
    /// The patrol run it was found on: the source is `patrol`, and the category
    /// street order until the worker says otherwise.
    pub patrol_run: Option<i64>,
}

/// A `<select>` of one of the domain's enumerations, named in the current language.
fn choice<T: Copy + PartialEq + Send + Sync + 'static>(
    test: &'static str,
    all: &'static [T],
    chosen: RwSignal<T>,
    as_str: fn(T) -> &'static str,
    name: fn(crate::i18n::Lang, T) -> &'static str,
) -> impl IntoView {
    let lang = use_language();
    view! {
        <select data-test=test on:change=move |ev| {
            let value = event_target_value(&ev);
            if let Some(v) = all.iter().find(|v| as_str(**v) == value) {
                chosen.set(*v);
            }
        }>
            {all.iter().map(|v| {
                let v = *v;
                view! {
                    <option value=as_str(v) selected=move || chosen.get() == v>
                        {move || name(lang.0.get(), v)}
                    </option>
                }
            }).collect_view()}
        </select>
    }
}

/// What the app reads of a new case's answer: its number, to open it.
#[derive(serde::Deserialize)]
struct Created {
    id: i64,
}

#[component]
pub fn NewCaseForm(
    spot: Spot,
    on_close: impl Fn() + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let lang = use_language();
    let live = use_live();
    let role = use_session().user().map(|u| u.role);
    let title = RwSignal::new(String::new());
    let description = RwSignal::new(String::new());
    let category = RwSignal::new(if spot.patrol_run.is_some() {
        CaseCategory::StreetOrder
    } else {
        CaseCategory::Environment
    });
    let priority = RwSignal::new(CasePriority::Normal);
    let source = RwSignal::new(match (spot.patrol_run, role) {
        (Some(_), _) => CaseSource::Patrol,
        (None, Some(Role::GridWorker)) => CaseSource::GridVisit,
        (None, _) => CaseSource::ResidentReport,
    });
    // `None` is "not assigned yet": the first entry of the list below.
    let responsible = RwSignal::new(None::<Party>);
    let error = RwSignal::new(None::<String>);
    let send = sending_action(use_outbox(), live);
    // Sent: its details open (the form is done with). Kept until the network returns:
    // the outbox's bar counts it, and the form is done with too.
    Effect::new(move |_| match send.value().get() {
        Some(Ok(Sent::Done(answer))) => {
            if let (Some(live), Ok(case)) = (live, answer.read::<Created>()) {
                live.open_case.set(Some(case.id));
            }
            on_close();
        }
        Some(Ok(Sent::Queued(_))) => on_close(),
        Some(Err(e)) => error.set(Some(outbox::refusal_message(lang.0.get_untracked(), &e))),
        None => {}
    });
    let community = spot.community.clone();
    let building = spot.building.clone();
    // Reported from a patrol: the rest has its defaults, so the title is what to type.
    let title_input = NodeRef::<leptos::html::Input>::new();
    if spot.patrol_run.is_some() {
        Effect::new(move |_| {
            if let Some(input) = title_input.get() {
                let _ = input.focus();
            }
        });
    }
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let Some(community) = spot
            .community
            .as_ref()
            .and_then(|(id, _)| CommunityId::parse(id).ok())
        else {
            error.set(Some(lang.t(Msg::NoCommunityHere).to_string()));
            return;
        };
        let text = title.get_untracked().trim().to_string();
        if text.is_empty() {
            error.set(Some(lang.t(Msg::TitleRequired).to_string()));
            return;
        }
        let new = NewCase {
            title: text,
            description: description.get_untracked().trim().to_string(),
            category: category.get_untracked(),
            priority: priority.get_untracked(),
            source: source.get_untracked(),
            community,
            grid: None,
            position: spot.position,
            building: spot.building.as_ref().map(|(id, _)| id.clone()),
            responsible: responsible.get_untracked(),
            cooperating: vec![],
            // Only while the source still says so: a worker who changes it is not
            // reporting from the patrol.
            patrol_run: spot
                .patrol_run
                .filter(|_| source.get_untracked() == CaseSource::Patrol),
        };
        if live.is_none() {
            return;
        }
        error.set(None);
        send.dispatch(Pending::new(
            new.title.clone(),
            "/api/v1/cases",
            &new,
            Some(EventKind::CaseCreated),
        ));
    };
    let parties = move || {
        let l = lang.0.get();
        std::iter::once(view! {
            <option value="" selected=move || responsible.get().is_none()>{crate::i18n::tr(l, Msg::NotAssigned)}</option>
        }.into_any())
        .chain(Party::ALL.iter().map(|p| {
            let p = *p;
            view! {
                <option value=p.as_str() selected=move || responsible.get() == Some(p)>{names::party(l, p)}</option>
            }.into_any()
        }))
        .collect_view()
    };
    view! {
        <form class="new-case" data-test="new-case" on:submit=submit>
            <button type="button" class="close" title=lang.text(Msg::Close) on:click=move |_| on_close()>"×"</button>
            <h2>{lang.text(Msg::NewCase)}</h2>
            <p class="spot" data-test="new-case-community">
                {community.map_or_else(|| lang.t(Msg::NoCommunityHere).to_string(), |(_, name)| name)}
                {building.map(|(_, name)| format!(" · {name}"))}
            </p>
            <label>{lang.text(Msg::Title)}
                <input type="text" data-test="new-case-title" maxlength=CASE_TITLE_CHARS required node_ref=title_input
                    on:input=move |ev| title.set(event_target_value(&ev))/>
            </label>
            <label>{lang.text(Msg::Category)}
                {choice("new-case-category", CaseCategory::ALL, category, CaseCategory::as_str, names::category)}
            </label>
            <label>{lang.text(Msg::Priority)}
                {choice("new-case-priority", CasePriority::ALL, priority, CasePriority::as_str, names::priority)}
            </label>
            <label>{lang.text(Msg::Source)}
                {choice("new-case-source", CaseSource::ALL, source, CaseSource::as_str, names::source)}
            </label>
            <label>{lang.text(Msg::Responsible)}
                <select data-test="new-case-responsible"
                    on:change=move |ev| responsible.set(Party::parse(&event_target_value(&ev)))>
                    {parties}
                </select>
            </label>
            <label>{lang.text(Msg::Description)}
                <textarea data-test="new-case-description" rows="3" maxlength=CASE_TEXT_CHARS
                    on:input=move |ev| description.set(event_target_value(&ev))></textarea>
            </label>
            <div class="sticky-actions">
                <button type="submit" class="primary" data-test="new-case-submit" disabled=move || send.pending().get()>
                    {lang.text(Msg::Report)}
                </button>
                {move || error.get().map(|e| view! { <p class="error" role="alert" data-test="new-case-error">{e}</p> })}
            </div>
        </form>
    }
}
