//! `/public`: the public status page, no sign-in. The communities on the map (never an
//! individual elder home) and per-community figures: open cases and cases solved this
//! month. Everything here comes from public endpoints with aggregates only.

use super::Header;
use crate::api;
use crate::i18n::{use_language, Lang, Msg};
use crate::map::{MapView, Theme};
use leptos::prelude::*;
use leptos::task::spawn_local;
use linli_domain::api::PublicStatus;
use linli_domain::Face;

#[component]
pub fn Public() -> impl IntoView {
    let lang = use_language();
    let status = RwSignal::new(None::<PublicStatus>);
    spawn_local(async move {
        match api::public_status().await {
            Ok(s) => status.set(Some(s)),
            Err(e) => leptos::logging::warn!("cannot load the public status: {e:?}"),
        }
    });
    let rows = move || {
        let chinese = lang.0.get() == Lang::Zh;
        status.get().map(|s| {
            s.communities
                .into_iter()
                .map(|c| {
                    view! {
                        <tr data-test="community-status">
                            <th scope="row">{if chinese { c.name } else { c.name_en }}</th>
                            <td>{c.open_cases}</td>
                            <td>{c.solved_this_month}</td>
                        </tr>
                    }
                })
                .collect_view()
        })
    };
    view! {
        <div class="face face-public theme-light">
            <Header face=Face::Public/>
            <p class="intro">{move || lang.t(Msg::PublicIntro)}</p>
            <div class="public-body">
                <MapView theme=Theme::Light/>
                <table class="status-table">
                    <thead>
                        <tr>
                            <th scope="col">{move || lang.t(Msg::Community)}</th>
                            <th scope="col">{move || lang.t(Msg::OpenCases)}</th>
                            <th scope="col">{move || lang.t(Msg::SolvedThisMonth)}</th>
                        </tr>
                    </thead>
                    <tbody>{rows}</tbody>
                </table>
            </div>
        </div>
    }
}
