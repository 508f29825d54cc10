//! A case's details, under the map's feature panel for staff and on a partner's page:
//! when it is due, who handles it (responsible and cooperating parties, with those
//! whose part is done), its timeline (who did what, when, with the photos taken). Staff who
//! may act get buttons for the stages it can move to, closing with an outcome,
//! reopening, assigning the parties and adding a note; a partner adds notes and photos
//! and marks its organisation's part done. Each button sends
//! one step (`POST /api/v1/cases/{id}/events`, through the outbox, so a step taken
//! without a network is kept and sent later) and shows the case as the server then
//! has it; the stream moves its marker on every map. A new report next to an open case
//! of its kind offers to merge it as a duplicate; one at a spot solved before says the
//! problem came back.

use crate::api;
use crate::i18n::{date_time, names, tr, use_language, Lang, Msg};
use crate::live::use_live;
use crate::outbox::{self, sending_action, use_outbox, Delivery, DeliveryNote, Pending, Sent};
use crate::session::use_session;
use leptos::prelude::*;
use linli_domain::cases::{Case, CaseEvent, CaseOutcome, CasePhoto, CaseStage, CaseStep, Party};
use linli_domain::events::EventKind;
use linli_domain::Role;

/// One line of a case's timeline: a step, or a photo.
enum Entry<'a> {
    Step(&'a CaseEvent),
    Photo(&'a CasePhoto),
}

/// The case's steps and photos in the order they happened (a step before a photo of
/// the same moment).
fn timeline(case: &Case) -> Vec<Entry<'_>> {
    let mut entries: Vec<Entry> = case
        .timeline
        .iter()
        .map(Entry::Step)
        .chain(case.photos.iter().map(Entry::Photo))
        .collect();
    entries.sort_by_key(|entry| match entry {
        Entry::Step(e) => e.at,
        Entry::Photo(p) => p.at,
    });
    entries
}

#[component]
pub fn CaseDetails(id: i64) -> impl IntoView {
    let lang = use_language();
    let user = use_session().user();
    let role = user.as_ref().map(|u| u.role);
    let can_act = matches!(role, Some(Role::Commander | Role::GridWorker));
    // A partner's organisation: what it may mark done.
    let org = user
        .as_ref()
        .filter(|u| u.role == Role::Partner)
        .and_then(|u| u.org);
    let responsible = RwSignal::new(None::<Party>);
    let cooperating = RwSignal::new(Vec::<Party>::new());
    let case = RwSignal::new(None::<Case>);
    let error = RwSignal::new(None::<String>);
    let note = RwSignal::new(String::new());
    let outcome = RwSignal::new(CaseOutcome::Solved);
    let show = move |result: Result<Case, api::ApiError>| match result {
        Ok(c) => {
            responsible.set(c.summary.handling.responsible);
            cooperating.set(c.summary.handling.cooperating.clone());
            case.set(Some(c));
            error.set(None);
        }
        Err(e) => error.set(Some(outbox::refusal_message(lang.0.get_untracked(), &e))),
    };
    let live = use_live();
    let loaded = LocalResource::new(move || api::case(id));
    Effect::new(move |_| {
        if let Some(answer) = loaded.get() {
            show(answer);
        }
    });
    // "#12 楼道堆物" for a case the face knows.
    let label = move |id: i64| {
        let title = live.and_then(|live| {
            live.snapshot.with_untracked(|s| {
                s.as_ref()?
                    .cases
                    .iter()
                    .find(|c| c.id == id)
                    .map(|c| c.title.clone())
            })
        });
        format!("#{id} {}", title.unwrap_or_default())
    };
    // Why an earlier case is offered as the same problem: how far, and when it was
    // reported ("相距 40 米 · 10月17日 20:11 上报"), for one the face knows.
    let why_related = move |earlier: i64, here: [f64; 2]| {
        let l = lang.0.get_untracked();
        live.and_then(|live| {
            live.snapshot.with_untracked(|s| {
                let e = s.as_ref()?.cases.iter().find(|c| c.id == earlier)?;
                let metres = linli_domain::geometry::metres_between(e.position, here).round();
                let when = date_time(l, e.opened_at);
                Some(match l {
                    Lang::Zh => format!("相距 {metres} 米 · {when} 上报"),
                    Lang::En => format!("{metres} m away · reported {when}"),
                })
            })
        })
    };
    let queued = RwSignal::new(None::<Pending>);
    let sending = sending_action(use_outbox(), live);
    Effect::new(move |_| match sending.value().get() {
        Some(Ok(Sent::Done(answer))) => {
            note.set(String::new());
            queued.set(None);
            show(answer.read());
        }
        Some(Ok(Sent::Queued(pending))) => {
            note.set(String::new());
            queued.set(Some(pending));
        }
        Some(Err(e)) => error.set(Some(outbox::refusal_message(lang.0.get_untracked(), &e))),
        None => {}
    });
    // Through the outbox: a step taken without a network is kept and sent later.
    let send = move |step: CaseStep| {
        let pending = Pending::new(
            label(id),
            format!("/api/v1/cases/{id}/events"),
            &step,
            Some(EventKind::CaseUpdated),
        );
        sending.dispatch(pending);
    };
    let text = move || note.get_untracked().trim().to_string();
    // What became of the last step: kept offline, or refused and why. Shown with the
    // buttons, which stay in view at the panel's bottom (`sticky-actions`).
    let feedback = move || {
        view! {
            {move || queued.get().map(|p| view! { <DeliveryNote delivery=Delivery::Queued(p)/> })}
            {move || error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
        }
    };
    view! {
        <section class="case-details" data-test="case-details">
            {move || case.get().map(|c| {
                let l = lang.0.get();
                let s = &c.summary;
                let stage = s.stage;
                let description = c.description.trim().to_string();
                view! {
                    {s.handling.drill.then(|| view! { <super::drills::DrillBadge/> })}
                    {(!description.is_empty()).then(|| view! {
                        <p class="case-description" data-test="case-description">
                            <span class="muted">{lang.text(Msg::Description)}" "</span>{description}
                        </p>
                    })}
                    <p data-test="case-stage" data-stage=stage.as_str()>
                        {lang.text(Msg::Stage)}" "{names::stage(l, stage)}
                        {s.outcome.map(|o| format!(" · {}", names::case_outcome(l, o)))}
                    </p>
                    {s.handling.due_at.map(|due| view! {
                        <p class=if s.handling.overdue { "due overdue" } else { "due" }>
                            {lang.text(Msg::Due)}" "{date_time(l, due)}
                            {s.handling.overdue.then(|| view! { <strong>" "{lang.text(Msg::Overdue)}</strong> })}
                        </p>
                    })}
                    {s.handling.recurs.map(|earlier| view! {
                        <p class="recurs" data-test="case-recurs">{lang.text(Msg::Recurs)}" "{label(earlier)}
                            {why_related(earlier, s.position).map(|why| view! { <span class="muted">" （"{why}"）"</span> })}
                        </p>
                    })}
                    {(can_act && stage == CaseStage::Reported && !c.possible_duplicates.is_empty()).then(|| view! {
                        <div class="duplicates" data-test="case-duplicates">
                            <p>{lang.text(Msg::PossibleDuplicates)}</p>
                            <ul>
                                {c.possible_duplicates.iter().map(|&original| view! {
                                    <li>
                                        {label(original)}" "
                                        {why_related(original, s.position).map(|why| view! {
                                            <span class="muted" data-test="related-why">"（"{why}"）"</span>" "
                                        })}
                                        <button data-test=format!("case-merge-{original}")
                                            on:click=move |_| send(CaseStep::Close {
                                                outcome: CaseOutcome::Duplicate,
                                                note: text(),
                                                duplicate_of: Some(original),
                                            })>
                                            {lang.text(Msg::MergeAsDuplicate)}
                                        </button>
                                    </li>
                                }).collect_view()}
                            </ul>
                        </div>
                    })}
                    <p class="parties" data-test="case-parties">
                        {lang.text(Msg::Responsible)}" "
                        {super::parties::describe(l, s.handling.responsible, &s.handling.cooperating)}
                        {s.handling.parties_done.iter().map(|p| view! {
                            <span class="done" data-test="part-done">" ✓ "{names::party(l, *p)}</span>
                        }).collect_view()}
                    </p>
                    <p class="tasks"><super::dispatch::TasksFor case=id/></p>
                    {(role == Some(Role::Commander) && stage != CaseStage::Closed).then(|| view! {
                        <div class="case-actions"><super::dispatch::SendForm case=id/></div>
                    })}
                    <h3>{lang.text(Msg::Timeline)}</h3>
                    <ol class="timeline" data-test="case-timeline">
                        {timeline(&c).into_iter().map(|entry| match entry {
                            Entry::Step(e) => {
                                let what = match &e.step {
                                    CaseStep::Report { .. } => names::source(l, s.source),
                                    CaseStep::Close { outcome, .. } => names::case_outcome(l, *outcome),
                                    CaseStep::Note { .. } => tr(l, Msg::Note),
                                    CaseStep::Reopen { .. } => tr(l, Msg::Reopen),
                                    CaseStep::Assign { responsible, .. } => names::party(l, *responsible),
                                    CaseStep::Advance { .. } => names::stage(l, e.stage),
                                    CaseStep::PartDone { party, .. } => names::party(l, *party),
                                };
                                let done = matches!(e.step, CaseStep::PartDone { .. })
                                    .then(|| format!(" {}", tr(l, Msg::PartDone)));
                                let note = e.step.note().to_string();
                                view! {
                                    <li>
                                        <span class="when">{date_time(l, e.at)}</span>" "
                                        <span class="who">{e.by.trim_start_matches("user:").to_string()}</span>" · "
                                        {what}{done}
                                        {(!note.is_empty()).then(|| view! { <q>{note}</q> })}
                                    </li>
                                }.into_any()
                            }
                            Entry::Photo(p) => view! {
                                <li data-test="case-photo" data-kind=p.kind.as_str()>
                                    <span class="when">{date_time(l, p.at)}</span>" "
                                    <span class="who">{p.by.trim_start_matches("user:").to_string()}</span>" · "
                                    {names::photo_kind(l, p.kind)}
                                    {(!p.note.is_empty()).then(|| view! { <q>{p.note.clone()}</q> })}
                                    <super::photos::PhotoThumb case=id photo=p.clone()/>
                                </li>
                            }.into_any(),
                        }).collect_view()}
                    </ol>
                    {can_act.then(|| view! {
                        <div class="case-actions sticky-actions">
                            <input type="text" data-test="case-note" placeholder=lang.text(Msg::Note)
                                prop:value=move || note.get()
                                on:input=move |ev| note.set(event_target_value(&ev))/>
                            {c.next_stages.iter().map(|to| {
                                let to = *to;
                                view! {
                                    <button data-test=format!("case-to-{}", to.as_str())
                                        on:click=move |_| send(CaseStep::Advance { to, note: text() })>
                                        {lang.text(Msg::MoveTo)}" "{move || names::stage(lang.0.get(), to)}
                                    </button>
                                }
                            }).collect_view()}
                            {(stage != CaseStage::Closed).then(|| view! {
                                <select data-test="case-outcome"
                                    on:change=move |ev| if let Some(o) = CaseOutcome::parse(&event_target_value(&ev)) { outcome.set(o) }>
                                    {CaseOutcome::ALL.iter().filter(|o| **o != CaseOutcome::DrillEnded).map(|o| view! {
                                        <option value=o.as_str()>{move || names::case_outcome(lang.0.get(), *o)}</option>
                                    }).collect_view()}
                                </select>
                                <button data-test="case-close"
                                    on:click=move |_| send(CaseStep::Close { outcome: outcome.get_untracked(), note: text(), duplicate_of: None })>
                                    {lang.text(Msg::CloseCase)}
                                </button>
                            })}
                            {(stage == CaseStage::Closed).then(|| view! {
                                <button data-test="case-reopen" on:click=move |_| send(CaseStep::Reopen { note: text() })>
                                    {lang.text(Msg::Reopen)}
                                </button>
                            })}
                            <button data-test="case-add-note"
                                on:click=move |_| if !text().is_empty() { send(CaseStep::Note { note: text() }) }>
                                {lang.text(Msg::AddNote)}
                            </button>
                            {feedback()}
                        </div>
                        {(stage != CaseStage::Closed).then(|| view! {
                            <div class="case-assign" data-test="case-assign">
                                <super::parties::PartiesPicker responsible=responsible cooperating=cooperating test="assign"/>
                                <button data-test="case-assign-submit" on:click=move |_| {
                                    if let Some(r) = responsible.get_untracked() {
                                        send(CaseStep::Assign { responsible: r, cooperating: cooperating.get_untracked(), note: text() });
                                    }
                                }>{lang.text(Msg::Assign)}</button>
                            </div>
                        })}
                    })}
                    {(org.is_some() && stage != CaseStage::Closed).then(|| {
                        let ours_done = org.is_some_and(|o| s.handling.parties_done.contains(&o));
                        view! {
                            <div class="case-actions sticky-actions" data-test="partner-actions">
                                <input type="text" data-test="case-note" placeholder=lang.text(Msg::Note)
                                    prop:value=move || note.get()
                                    on:input=move |ev| note.set(event_target_value(&ev))/>
                                <button data-test="case-add-note"
                                    on:click=move |_| if !text().is_empty() { send(CaseStep::Note { note: text() }) }>
                                    {lang.text(Msg::AddNote)}
                                </button>
                                {(!ours_done).then(|| view! {
                                    <button class="primary" data-test="case-part-done" on:click=move |_| {
                                        if let Some(party) = org { send(CaseStep::PartDone { party, note: text() }) }
                                    }>{lang.text(Msg::MarkPartDone)}</button>
                                })}
                                {feedback()}
                            </div>
                        }
                    })}
                    {((can_act || org.is_some()) && stage != CaseStage::Closed).then(|| view! {
                        <super::photos::AddPhoto case=id
                            on_added=Callback::new(move |updated: Case| show(Ok(updated)))/>
                    })}
                }
            })}
            // Nobody acts here (a viewer, a closed case for a partner): said below.
            {move || {
                let acting = case.with(|c| {
                    c.as_ref().is_some_and(|c| can_act || (org.is_some() && c.summary.stage != CaseStage::Closed))
                });
                (!acting).then(feedback)
            }}
        </section>
    }
}
