//! The escalation form: the case an alert would open, as the server drafted it in
//! Chinese (what, where down to the room, when, how bad, and the parties who usually
//! handle it), for the person to change before it is opened. Sent through the outbox
//! like every alert action; when the draft cannot be read (offline), the alert is
//! escalated with the server's defaults. A commander may send someone with the case.

use super::parties::PartiesPicker;
use crate::i18n::{use_language, Msg};
use crate::outbox::Sending;
use leptos::prelude::*;
use linli_domain::alerts::EscalateAlert;
use linli_domain::cases::Party;
use linli_domain::limits::{CASE_TEXT_CHARS, CASE_TITLE_CHARS, NOTE_CHARS};

#[component]
pub fn EscalateForm(
    alert: i64,
    /// The alert row's sending, which shows the result.
    send: Sending,
    open: RwSignal<bool>,
) -> impl IntoView {
    let lang = use_language();
    let title = RwSignal::new(String::new());
    let description = RwSignal::new(String::new());
    let note = RwSignal::new(String::new());
    let responsible = RwSignal::new(None::<Party>);
    let cooperating = RwSignal::new(Vec::<Party>::new());
    // Commanders may send someone with the new case.
    let commander = crate::session::use_session()
        .user()
        .is_some_and(|u| u.role == linli_domain::Role::Commander);
    let send_to = RwSignal::new(String::new());
    let answer = LocalResource::new(move || crate::api::escalation_draft(alert));
    // Whether the draft came (`Some(true)`), could not be read, or is still awaited.
    let draft = move || answer.with(|a| a.as_ref().map(Result::is_ok));
    // The fields start as the draft says.
    Effect::new(move |_| {
        answer.with(|a| {
            if let Some(Ok(d)) = a {
                title.set(d.title.clone());
                description.set(d.description.clone());
                responsible.set(d.responsible);
                cooperating.set(d.cooperating.clone());
            }
        })
    });
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let mut body = EscalateAlert {
            note: note.get_untracked(),
            ..EscalateAlert::default()
        };
        if answer.with_untracked(|a| matches!(a, Some(Ok(_)))) {
            body.title = Some(title.get_untracked());
            body.description = Some(description.get_untracked());
            body.responsible = responsible.get_untracked();
            body.cooperating = Some(cooperating.get_untracked());
        }
        let who = send_to.get_untracked().trim().to_string();
        body.dispatch = (!who.is_empty()).then_some(who);
        open.set(false);
        super::alerts::act(send, alert, "escalate", lang.t(Msg::Escalate).into(), &body);
    };
    view! {
        <form class="escalate-form" data-test="escalate-form" on:submit=submit>
            <p class="hint">{lang.text(Msg::EscalateToCase)}</p>
            {move || (draft() == Some(false)).then(|| view! {
                <p class="error" data-test="escalate-no-draft">{lang.text(Msg::DraftUnavailable)}</p>
            })}
            {move || (draft() == Some(true)).then(|| view! {
                <label>{lang.text(Msg::Title)}
                    <input type="text" data-test="escalate-title" maxlength=CASE_TITLE_CHARS required
                        prop:value=move || title.get()
                        on:input=move |ev| title.set(event_target_value(&ev))/>
                </label>
                <label>{lang.text(Msg::Description)}
                    <textarea data-test="escalate-description" rows="3" maxlength=CASE_TEXT_CHARS
                        prop:value=move || description.get()
                        on:input=move |ev| description.set(event_target_value(&ev))></textarea>
                </label>
                <PartiesPicker responsible=responsible cooperating=cooperating test="escalate"/>
            })}
            {commander.then(|| view! {
                <label>{lang.text(Msg::SendWho)}
                    <input type="text" data-test="escalate-dispatch"
                        on:input=move |ev| send_to.set(event_target_value(&ev))/>
                </label>
            })}
            <label>{lang.text(Msg::Note)}
                <textarea data-test="escalate-note" rows="2" maxlength=NOTE_CHARS
                    on:input=move |ev| note.set(event_target_value(&ev))></textarea>
            </label>
            <button type="submit" class="primary" data-test="confirm-escalate"
                disabled=move || draft().is_none()>
                {lang.text(Msg::Escalate)}
            </button>
            <button type="button" class="link" on:click=move |_| open.set(false)>{lang.text(Msg::Cancel)}</button>
        </form>
    }
}
