//! The case list beside the map: the face's cases filtered by stage, category,
//! community and "overdue only", the most pressing first (overdue, then priority, then,
//! on the tablet, the nearest, then the nearest due time). A row flies the map to the case and opens its details.
//! Closed cases are left out unless asked for.

use super::navigation::{DistanceFromHere, NavigateButton};
use crate::here::{use_here, Here};
use crate::i18n::{date_time, names, tr, use_language, Msg};
use crate::live::{use_live, Live};
use leptos::prelude::*;
use linli_domain::cases::{CaseCategory, CaseStage, CaseSummary};
use linli_domain::geometry::metres_between;
use std::cmp::Reverse;

/// What the list shows.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CaseFilter {
    pub stage: Option<CaseStage>,
    pub category: Option<CaseCategory>,
    pub community: Option<String>,
    pub overdue_only: bool,
    pub include_closed: bool,
}

impl CaseFilter {
    fn admits(&self, c: &CaseSummary) -> bool {
        self.stage.is_none_or(|s| c.stage == s)
            && self.category.is_none_or(|k| c.category == k)
            && self
                .community
                .as_deref()
                .is_none_or(|id| c.community.as_str() == id)
            && (!self.overdue_only || c.handling.overdue)
            && (self.include_closed
                || self.stage == Some(CaseStage::Closed)
                || c.stage != CaseStage::Closed)
    }
}

/// The cases `filter` admits, the most pressing first; among equally pressing ones, the
/// nearest to `here` when the device knows where it is.
pub fn pressing_first(
    cases: &[CaseSummary],
    filter: &CaseFilter,
    here: Option<[f64; 2]>,
) -> Vec<CaseSummary> {
    let mut list: Vec<CaseSummary> = cases.iter().filter(|c| filter.admits(c)).cloned().collect();
    let metres = |c: &CaseSummary| here.map_or(0.0, |h| metres_between(h, c.position));
    list.sort_by(|a, b| {
        let key = |c: &CaseSummary| {
            (
                c.stage == CaseStage::Closed,
                Reverse(c.handling.overdue),
                Reverse(c.priority),
            )
        };
        key(a)
            .cmp(&key(b))
            .then_with(|| metres(a).total_cmp(&metres(b)))
            // RFC 3339 times in UTC sort as text.
            .then_with(|| a.handling.due_at.cmp(&b.handling.due_at))
            .then(b.id.cmp(&a.id))
    });
    list
}

#[component]
fn CaseRow(case: CaseSummary, live: Live) -> impl IntoView {
    let lang = use_language();
    let community_id = case.community.as_str().to_string();
    // The names arrive after the list may have been drawn.
    let community = move || live.community_name(&community_id, lang.0.get());
    let (id, position, stage, category, priority) = (
        case.id,
        case.position,
        case.stage,
        case.category,
        case.priority,
    );
    let overdue = case.handling.overdue;
    let drill = case.handling.drill;
    let title = case.title.clone();
    let due_at = case.handling.due_at;
    view! {
        <li class="case-row" class:overdue=overdue data-test="case-row" data-case-id=id.to_string()
            data-stage=stage.as_str() data-overdue=overdue.to_string()>
            <button class="case-summary" on:click=move |_| {
                live.focus.set(Some(position));
                live.open_case.set(Some(id));
            }>
                <strong class="title">{drill.then(|| view! { <super::drills::DrillBadge/> })}{case.title.clone()}</strong>
                <span class="id">"#"{id}</span>
                <span class="meta">
                    {move || names::category(lang.0.get(), category)}" · "
                    {move || names::stage(lang.0.get(), stage)}" · "
                    {move || names::priority(lang.0.get(), priority)}
                </span>
                <span class="meta">{community}</span>
                {due_at.map(|due| view! {
                    <span class="due">
                        {lang.text(Msg::Due)}" "{move || date_time(lang.0.get(), due)}
                        {overdue.then(|| view! { <strong>" "{lang.text(Msg::Overdue)}</strong> })}
                    </span>
                })}
                <DistanceFromHere position=position/>
            </button>
            <NavigateButton position=position label=title/>
        </li>
    }
}

/// The face's cases with filters.
#[component]
pub fn CaseList() -> impl IntoView {
    let lang = use_language();
    let Some(live) = use_live() else {
        return ().into_any();
    };
    let filter = RwSignal::new(CaseFilter::default());
    let communities = live.communities;
    let here_now = use_here();
    let cases = Memo::new(move |_| {
        let here = here_now.and_then(Here::position);
        live.snapshot.with(|s| {
            s.as_ref()
                .map(|s| pressing_first(&s.cases, &filter.get(), here))
                .unwrap_or_default()
        })
    });
    let select = move |test: &'static str,
                       all: Msg,
                       options: Vec<(String, String)>,
                       set: fn(&mut CaseFilter, Option<String>)| {
        view! {
            <select data-test=test on:change=move |ev| {
                let value = event_target_value(&ev);
                filter.update(|f| set(f, (!value.is_empty()).then_some(value)));
            }>
                <option value="">{move || lang.t(all)}</option>
                {options.into_iter().map(|(value, name)| view! { <option value=value>{name}</option> }).collect_view()}
            </select>
        }
    };
    let filters = move || {
        let l = lang.0.get();
        let stages = CaseStage::ALL
            .iter()
            .map(|s| (s.as_str().to_string(), names::stage(l, *s).to_string()))
            .collect();
        let categories = CaseCategory::ALL
            .iter()
            .map(|c| (c.as_str().to_string(), names::category(l, *c).to_string()))
            .collect();
        let places = communities
            .get()
            .iter()
            .map(|c| (c.id.clone(), c.shown(l)))
            .collect();
        view! {
            {select("case-filter-stage", Msg::AllStages, stages, |f, v| f.stage = v.as_deref().and_then(CaseStage::parse))}
            {select("case-filter-category", Msg::AllCategories, categories, |f, v| f.category = v.as_deref().and_then(CaseCategory::parse))}
            {select("case-filter-community", Msg::AllCommunities, places, |f, v| f.community = v)}
        }
    };
    view! {
        <section class="list-panel case-list-panel" data-test="case-list">
            <header>
                <h2>{lang.text(Msg::Cases)} " " <span data-test="case-count">{move || cases.with(Vec::len)}</span></h2>
            </header>
            <p class="hint">{lang.text(Msg::NewCaseHint)}</p>
            <div class="filters">
                {filters}
                <label class="toggle">
                    <input type="checkbox" data-test="case-filter-overdue"
                        on:change=move |ev| filter.update(|f| f.overdue_only = event_target_checked(&ev))/>
                    {lang.text(Msg::OverdueOnly)}
                </label>
                <label class="toggle">
                    <input type="checkbox" data-test="case-filter-closed"
                        on:change=move |ev| filter.update(|f| f.include_closed = event_target_checked(&ev))/>
                    {lang.text(Msg::ShowClosed)}
                </label>
            </div>
            <ul class="item-list">
                <For each=move || cases.get() key=|c| (c.id, c.updated_at, c.handling.overdue) let:case>
                    <CaseRow case=case live=live/>
                </For>
            </ul>
            {move || cases.with(Vec::is_empty).then(|| view! { <p class="empty">{tr(lang.0.get(), Msg::NoCases)}</p> })}
        </section>
    }
    .into_any()
}

#[cfg(test)]
mod tests {
    use super::*;
    use linli_domain::cases::{CaseHandling, CasePriority, CaseSource};
    use linli_domain::CommunityId;
    use linli_domain::Timestamp;

    fn case(
        id: i64,
        stage: CaseStage,
        priority: CasePriority,
        overdue: bool,
        due: &str,
    ) -> CaseSummary {
        CaseSummary {
            id,
            title: format!("case {id}"),
            category: if id % 2 == 0 {
                CaseCategory::Environment
            } else {
                CaseCategory::StreetOrder
            },
            stage,
            priority,
            source: CaseSource::Patrol,
            community: CommunityId::parse(if id < 5 { "xingfuli" } else { "wulimiao" }).unwrap(),
            grid: None,
            position: [117.3, 31.8],
            building: None,
            opened_at: Timestamp::parse("2026-11-01T00:00:00.000Z").unwrap(),
            updated_at: Timestamp::parse("2026-11-01T00:00:00.000Z").unwrap(),
            closed_at: None,
            outcome: None,
            handling: CaseHandling {
                due_at: Timestamp::parse(due),
                overdue,
                ..Default::default()
            },
        }
    }

    fn cases() -> Vec<CaseSummary> {
        vec![
            case(
                1,
                CaseStage::Reported,
                CasePriority::Low,
                false,
                "2026-11-30T00:00:00.000Z",
            ),
            case(
                2,
                CaseStage::Identified,
                CasePriority::Urgent,
                false,
                "2026-12-02T00:00:00.000Z",
            ),
            case(
                3,
                CaseStage::Negotiating,
                CasePriority::Normal,
                true,
                "2026-11-20T00:00:00.000Z",
            ),
            case(
                4,
                CaseStage::Closed,
                CasePriority::Urgent,
                false,
                "2026-11-10T00:00:00.000Z",
            ),
            case(
                5,
                CaseStage::Reported,
                CasePriority::Urgent,
                false,
                "2026-12-01T00:00:00.000Z",
            ),
            case(
                6,
                CaseStage::Reported,
                CasePriority::Low,
                true,
                "2026-11-25T00:00:00.000Z",
            ),
        ]
    }

    fn ids(list: Vec<CaseSummary>) -> Vec<i64> {
        list.into_iter().map(|c| c.id).collect()
    }

    #[test]
    fn overdue_first_then_priority_then_due_time_and_closed_left_out() {
        assert_eq!(
            ids(pressing_first(&cases(), &CaseFilter::default(), None)),
            [3, 6, 5, 2, 1]
        );
        let with_closed = CaseFilter {
            include_closed: true,
            ..Default::default()
        };
        assert_eq!(
            ids(pressing_first(&cases(), &with_closed, None)),
            [3, 6, 5, 2, 1, 4]
        );
    }

    #[test]
    fn among_equally_pressing_cases_the_nearest_comes_first() {
        let mut list = cases();
        // 5 and 2 are both urgent and not overdue: 5 is due sooner, but 2 is nearer.
        list[1].position = [117.301, 31.8];
        list[4].position = [117.31, 31.8];
        let here = Some([117.3, 31.8]);
        assert_eq!(
            ids(pressing_first(&list, &CaseFilter::default(), here)),
            [3, 6, 2, 5, 1]
        );
        assert_eq!(
            ids(pressing_first(&list, &CaseFilter::default(), None)),
            [3, 6, 5, 2, 1],
            "without a position the due time decides"
        );
    }

    #[test]
    fn filters_combine() {
        let f = |filter: CaseFilter| ids(pressing_first(&cases(), &filter, None));
        assert_eq!(
            f(CaseFilter {
                stage: Some(CaseStage::Reported),
                ..Default::default()
            }),
            [6, 5, 1]
        );
        assert_eq!(
            f(CaseFilter {
                stage: Some(CaseStage::Closed),
                ..Default::default()
            }),
            [4],
            "asking for closed cases shows them"
        );
        assert_eq!(
            f(CaseFilter {
                category: Some(CaseCategory::Environment),
                ..Default::default()
            }),
            [6, 2]
        );
        assert_eq!(
            f(CaseFilter {
                community: Some("wulimiao".into()),
                overdue_only: true,
                ..Default::default()
            }),
            [6]
        );
    }
}
