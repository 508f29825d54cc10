//! `/public`: the public status page, no sign-in. The communities on the map with
//! circles for the cases of each area of about 500 m (never an individual elder home),
//! and per-community figures: open cases, reported and solved this month, the average
//! days to solve, and for communities with enough homes, the elders visited. Everything
//! here comes from public endpoints with aggregates only.

use super::Header;
use crate::api;
use crate::i18n::{china_date_time, use_language, Lang, Msg};
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
    let areas = RwSignal::new(Vec::new());
    Effect::new(move |_| {
        if let Some(s) = status.get() {
            areas.set(s.areas);
        }
    });
    let rows = move || {
        let l = lang.0.get();
        let chinese = l == Lang::Zh;
        let count = |n: Option<u32>| n.map_or_else(|| "—".to_string(), |n| n.to_string());
        status.get().map(|s| {
            s.communities
                .into_iter()
                .map(|c| {
                    let days = c
                        .average_days_to_solve
                        .map_or_else(|| "—".to_string(), |d| format!("{d:.1}"));
                    view! {
                        <tr data-test="community-status" data-community=c.id.as_str().to_string()>
                            <th scope="row">{if chinese { c.name } else { c.name_en }}</th>
                            <td>{c.open_cases}</td>
                            <td>{c.reported_this_month}</td>
                            <td>{c.solved_this_month}</td>
                            <td>{days}</td>
                            <td>{count(c.elders_visited_this_month)}</td>
                        </tr>
                    }
                })
                .collect_view()
        })
    };
    let as_of = move || status.get().map(|s| china_date_time(&s.as_of));
    view! {
        <div class="face face-public theme-light">
            <Header face=Face::Public/>
            <p class="intro">{move || lang.t(Msg::PublicIntro)}</p>
            <div class="public-body">
                <MapView theme=Theme::Light public_areas=areas/>
                <section class="public-figures">
                    <table class="status-table">
                        <thead>
                            <tr>
                                <th scope="col">{move || lang.t(Msg::Community)}</th>
                                <th scope="col">{move || lang.t(Msg::OpenCases)}</th>
                                <th scope="col">{move || lang.t(Msg::ReportedThisMonth)}</th>
                                <th scope="col">{move || lang.t(Msg::SolvedThisMonth)}</th>
                                <th scope="col">{move || lang.t(Msg::AverageDaysToSolve)}</th>
                                <th scope="col">{move || lang.t(Msg::EldersVisited)}</th>
                            </tr>
                        </thead>
                        <tbody>{rows}</tbody>
                    </table>
                    <p class="note">{move || lang.t(Msg::AreasLegend)}</p>
                    <p class="note" data-test="as-of">{move || lang.t(Msg::AsOf)}" "{as_of}</p>
                </section>
            </div>
        </div>
    }
}
