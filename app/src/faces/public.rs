//! `/public`: the public status page, no sign-in. The communities on the map with
//! circles for the cases of each area of about 500 m (never an individual elder home),
//! and per-community figures: open cases, reported and solved this month, the average
//! days to solve, and for communities with enough homes, the service figures: elders
//! visited, elder-care needs met (errands, repairs), alerts answered. The street
//! office's notices come first. Everything here comes from public endpoints with
//! aggregates only.

use super::map_view::MapView;
use super::notices::PublicNotices;
use super::Header;
use crate::api;
use crate::i18n::{count, date_time, use_language, Lang, Msg};
use crate::map::Theme;
use leptos::prelude::*;
use linli_domain::Face;

#[component]
pub fn Public() -> impl IntoView {
    let lang = use_language();
    let answer = LocalResource::new(api::public_status);
    let status = Signal::derive(move || answer.get().and_then(Result::ok));
    let failed = move || matches!(answer.get(), Some(Err(_)));
    let areas = RwSignal::new(Vec::new());
    let notices = Signal::derive(move || {
        status.with(|s| s.as_ref().map(|s| s.notices.clone()).unwrap_or_default())
    });
    Effect::new(move |_| {
        if let Some(s) = status.get() {
            areas.set(s.areas);
        }
    });
    let rows = move || {
        let l = lang.0.get();
        let chinese = l == Lang::Zh;
        let figure = |n: Option<u32>| n.map_or_else(|| "—".to_string(), |n| count(n.into()));
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
                            <td>{count(c.open_cases.into())}</td>
                            <td>{count(c.reported_this_month.into())}</td>
                            <td>{count(c.solved_this_month.into())}</td>
                            <td>{days}</td>
                            <td>{figure(c.elders_visited_this_month)}</td>
                            <td>{figure(c.elder_needs_met_this_month)}</td>
                            <td>{figure(c.alerts_answered_this_month)}</td>
                        </tr>
                    }
                })
                .collect_view()
        })
    };
    let as_of = move || status.get().map(|s| date_time(lang.0.get(), &s.as_of));
    view! {
        <div class="face face-public theme-light">
            <Header face=Face::Public/>
            <p class="intro">{move || lang.t(Msg::PublicIntro)}</p>
            <div class="public-body">
                <MapView theme=Theme::Light public_areas=areas/>
                <section class="public-figures">
                    <PublicNotices notices=notices/>
                    {move || failed().then(|| view! {
                        <p class="error" role="alert">{lang.t(Msg::FiguresFailed)}</p>
                    })}
                    <table class="status-table">
                        <thead>
                            <tr>
                                <th scope="col">{move || lang.t(Msg::Community)}</th>
                                <th scope="col">{move || lang.t(Msg::OpenCases)}</th>
                                <th scope="col">{move || lang.t(Msg::ReportedThisMonth)}</th>
                                <th scope="col">{move || lang.t(Msg::SolvedThisMonth)}</th>
                                <th scope="col">{move || lang.t(Msg::AverageDaysToSolve)}</th>
                                <th scope="col">{move || lang.t(Msg::EldersVisited)}</th>
                                <th scope="col">{move || lang.t(Msg::ElderNeedsMet)}</th>
                                <th scope="col">{move || lang.t(Msg::AlertsAnswered)}</th>
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
