//! `/partner`: a partner organisation's page (the gas utility, the property company,
//! the police station…): the cases assigned to it, newest first, and the chosen one's
//! details, where it adds notes and photos and marks its part done. No map and no
//! live stream: a partner sees nothing of homes, alerts or other cases.

use super::case_panel::CaseDetails;
use super::{Header, StaffOnly};
use crate::api;
use crate::i18n::{date_time, names, use_language, Msg};
use crate::outbox::refusal_message;
use leptos::prelude::*;
use linli_domain::Face;

#[component]
pub fn Partner() -> impl IntoView {
    view! {
        <StaffOnly face=Face::Partner>
            <PartnerDesk/>
        </StaffOnly>
    }
}

#[component]
fn PartnerDesk() -> impl IntoView {
    let lang = use_language();
    let answer = LocalResource::new(api::cases);
    let cases = move || {
        answer
            .get()
            .map(|a| a.map_err(|e| refusal_message(lang.0.get(), &e)))
    };
    let chosen = RwSignal::new(None::<i64>);
    // The first case is open from the start.
    Effect::new(move |_| {
        if let Some(Ok(list)) = answer.get() {
            if chosen.get_untracked().is_none() {
                chosen.set(list.first().map(|c| c.id));
            }
        }
    });
    view! {
        <div class="face face-partner theme-light">
            <Header face=Face::Partner/>
            <div class="partner-body">
                <section class="list-panel partner-cases" data-test="partner-cases">
                    <p class="hint">{lang.text(Msg::PartnerHint)}</p>
                    {move || match cases() {
                        None => ().into_any(),
                        Some(Err(e)) => view! { <p class="error" role="alert">{e}</p> }.into_any(),
                        Some(Ok(list)) if list.is_empty() => view! {
                            <p class="muted">{lang.text(Msg::NoCases)}</p>
                        }.into_any(),
                        Some(Ok(list)) => view! {
                            <ul>
                                {list.into_iter().map(|c| {
                                    let id = c.id;
                                    let stage = c.stage;
                                    view! {
                                        <li data-test="partner-case" data-case-id=id.to_string()
                                            class:chosen=move || chosen.get() == Some(id)>
                                            <button on:click=move |_| chosen.set(Some(id))>
                                                <strong>{format!("#{id} {}", c.title)}</strong>
                                                <span>{move || names::stage(lang.0.get(), stage)}</span>
                                                <span class="when">{move || date_time(lang.0.get(), c.opened_at)}</span>
                                            </button>
                                        </li>
                                    }
                                }).collect_view()}
                            </ul>
                        }.into_any(),
                    }}
                </section>
                <section class="partner-case">
                    {move || chosen.get().map(|id| view! { <CaseDetails id=id/> })}
                </section>
            </div>
        </div>
    }
}
