//! Dispatch (派单) on the staff faces: the tasks tab, where the one sent sees the task
//! with the way there and answers accept, arrived, done or decline (through the
//! outbox, so a step taken without a network is kept), and the command screen follows
//! every task's state live; and the commander's "send" form on an alert or a case,
//! which offers the free patrol units nearest first (or a grid worker's name).

use super::navigation::NavigateButton;
use crate::i18n::{china_clock, names, use_language, Msg};
use crate::live::{use_live, Live};
use crate::outbox::{last_delivery, sending_action, use_outbox, DeliveryNote, Pending};
use crate::session::use_session;
use leptos::prelude::*;
use linli_domain::dispatch::{Candidate, Dispatch, DispatchAction};
use linli_domain::dispatch::{DispatchStep, NewDispatch};
use linli_domain::events::EventKind;
use linli_domain::limits::NOTE_CHARS;
use linli_domain::SessionInfo;

fn may_act(user: &SessionInfo, task: &Dispatch) -> bool {
    task.may_act(user.role, user.username.as_str(), &user.communities)
}

/// The open tasks the face sees, the caller's own first.
#[component]
pub fn TaskList() -> impl IntoView {
    let lang = use_language();
    let Some(live) = use_live() else {
        return ().into_any();
    };
    let user = use_session().user();
    let tasks = Memo::new(move |_| {
        let list: Vec<Dispatch> = live
            .snapshot
            .with(|s| s.as_ref().map(|s| s.dispatches.clone()).unwrap_or_default());
        match &user {
            // The user's own tasks first, each part in its order.
            Some(user) => {
                let (mine, others): (Vec<Dispatch>, Vec<Dispatch>) =
                    list.into_iter().partition(|t| may_act(user, t));
                mine.into_iter().chain(others).collect()
            }
            None => list,
        }
    });
    view! {
        <section class="list-panel" data-test="task-panel">
            {move || tasks.with(Vec::is_empty).then(|| view! {
                <p class="empty">{lang.text(Msg::NoTasks)}</p>
            })}
            <ul class="item-list">
                <For each=move || tasks.get() key=|t| (t.id, t.updated_at) let:task>
                    <TaskRow task=task live=live/>
                </For>
            </ul>
        </section>
    }
    .into_any()
}

#[component]
fn TaskRow(task: Dispatch, live: Live) -> impl IntoView {
    let lang = use_language();
    let send = sending_action(use_outbox(), Some(live));
    let mine = use_session().user().is_some_and(|u| may_act(&u, &task));
    let (id, state, position) = (task.id, task.state, task.position);
    let step = move |action: DispatchAction| {
        send.dispatch(Pending::new(
            format!(
                "{} #{id}",
                names::dispatch_action(lang.0.get_untracked(), action)
            ),
            format!("/api/v1/dispatches/{id}/events"),
            &DispatchStep {
                action,
                note: String::new(),
            },
            Some(EventKind::DispatchUpdated),
        ));
    };
    let allowed: Vec<DispatchAction> = DispatchAction::ALL
        .iter()
        .copied()
        .filter(|a| a.apply(state).is_ok())
        .collect();
    let title = task.title.clone();
    view! {
        <li class="task-row" data-test="task-row" data-task-id=id.to_string() data-state=state.as_str()>
            <strong>{task.title.clone()}</strong>
            <span class="who">{task.assignee.clone()}" · "{move || names::dispatch_state(lang.0.get(), state)}
                " · "{china_clock(task.sent_at)}</span>
            {(!task.note.is_empty()).then(|| view! { <q>{task.note.clone()}</q> })}
            {mine.then(|| view! {
                <NavigateButton position=position label=title.clone()/>
                <div class="alert-actions">
                    {allowed.into_iter().map(|action| view! {
                        <button data-test=format!("task-{}", action.as_str()) on:click=move |_| step(action)>
                            {move || names::dispatch_action(lang.0.get(), action)}
                        </button>
                    }).collect_view()}
                </div>
            })}
            {move || last_delivery(send, lang).map(|d| view! { <DeliveryNote delivery=d/> })}
        </li>
    }
}

/// What an alert or a case shows of the tasks sent to it: "unit:team-9 · 已到达".
#[component]
pub fn TasksFor(
    #[prop(optional)] alert: Option<i64>,
    #[prop(optional)] case: Option<i64>,
) -> impl IntoView {
    let lang = use_language();
    let Some(live) = use_live() else {
        return ().into_any();
    };
    // A memo: every stream batch changes the snapshot, but seldom this row's tasks.
    let tasks = Memo::new(move |_| {
        live.snapshot.with(|s| {
            s.as_ref()
                .map(|s| {
                    s.dispatches
                        .iter()
                        .filter(|d| {
                            (alert.is_some() && d.alert_id == alert)
                                || (case.is_some() && d.case_id == case)
                        })
                        .map(|d| (d.assignee.clone(), d.state))
                        .collect::<Vec<_>>()
                })
                .unwrap_or_default()
        })
    });
    view! {
        {move || tasks.get().into_iter().map(|(who, state)| view! {
            <span class="task-state" data-test="task-state" data-state=state.as_str()>
                {lang.text(Msg::Dispatched)}" "{who.clone()}" · "{move || names::dispatch_state(lang.0.get(), state)}
            </span>
        }).collect_view()}
    }
    .into_any()
}

/// The commander's "send someone" form for an alert or a case.
#[component]
pub fn SendForm(
    #[prop(optional)] alert: Option<i64>,
    #[prop(optional)] case: Option<i64>,
) -> impl IntoView {
    let lang = use_language();
    let Some(live) = use_live() else {
        return ().into_any();
    };
    let sending = sending_action(use_outbox(), Some(live));
    let open = RwSignal::new(false);
    let assignee = RwSignal::new(String::new());
    let note = RwSignal::new(String::new());
    let query = match (alert, case) {
        (Some(a), _) => format!("alert_id={a}"),
        (_, Some(c)) => format!("case_id={c}"),
        _ => return ().into_any(),
    };
    // Who could go, nearest first: asked for again each time the form opens.
    let candidates = LocalResource::new(move || {
        let (opened, query) = (open.get(), query.clone());
        async move {
            if !opened {
                return Vec::new();
            }
            crate::api::dispatch_candidates(&query)
                .await
                .unwrap_or_default()
        }
    });
    // The nearest who is free is proposed.
    Effect::new(move |_| {
        candidates.with(|list| {
            let first = list.iter().flatten().find(|c: &&Candidate| !c.busy);
            if let Some(first) = first {
                assignee.set(first.assignee.clone());
            }
        })
    });
    let toggle = move |_| open.update(|o| *o = !*o);
    let send = move |_| {
        let who = assignee.get_untracked().trim().to_string();
        if who.is_empty() {
            return;
        }
        let pending = Pending::new(
            format!("{} {who}", lang.t(Msg::Dispatch)),
            "/api/v1/dispatches",
            &NewDispatch {
                assignee: who,
                alert_id: alert,
                case_id: case,
                note: note.get_untracked(),
            },
            Some(EventKind::DispatchCreated),
        );
        open.set(false);
        sending.dispatch(pending);
    };
    view! {
        <button data-test="dispatch" on:click=toggle>{lang.text(Msg::Dispatch)}</button>
        {move || open.get().then(|| view! {
            <div class="escalate-form" data-test="dispatch-form">
                <label>{lang.text(Msg::SendWho)}
                    <input type="text" data-test="dispatch-assignee" list="dispatch-candidates"
                        prop:value=move || assignee.get()
                        on:input=move |ev| assignee.set(event_target_value(&ev))/>
                </label>
                <datalist id="dispatch-candidates">
                    {move || candidates.get().unwrap_or_default().into_iter().map(|c| {
                        let label = match (c.distance_m, c.busy) {
                            (Some(m), false) => format!("{m:.0} m"),
                            (Some(m), true) => format!("{m:.0} m · {}", lang.t(Msg::Busy)),
                            (None, true) => lang.t(Msg::Busy).to_string(),
                            (None, false) => String::new(),
                        };
                        view! { <option value=c.assignee.clone()>{label}</option> }
                    }).collect_view()}
                </datalist>
                <label>{lang.text(Msg::Note)}
                    <input type="text" data-test="dispatch-note" maxlength=NOTE_CHARS
                        on:input=move |ev| note.set(event_target_value(&ev))/>
                </label>
                <button type="button" class="primary" data-test="confirm-dispatch" on:click=send>
                    {lang.text(Msg::Dispatch)}
                </button>
            </div>
        })}
        {move || last_delivery(sending, lang).map(|d| view! { <DeliveryNote delivery=d/> })}
    }
    .into_any()
}
