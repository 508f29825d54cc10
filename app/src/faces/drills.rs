//! Drills (应急演练, `linli_domain::drill`) in the app: a commander starts one from an
//! elder home's panel on the map (the meter goes quiet, gas, a missed check-in) and
//! ends it from its alert's row; every alert and case of a drill carries a "演练"
//! badge, the critical banner and the ticker say so, and the KPI tiles leave drills
//! out (see `dashboard.rs`).

use crate::api;
use crate::i18n::{use_language, Msg};
use crate::live::use_live;
use crate::outbox::refusal_message;
use crate::session::use_session;
use leptos::prelude::*;
use linli_domain::drill::{DrillScenario, StartDrill};
use linli_domain::events::EventKind;

/// The mark on every alert and case of a drill.
#[component]
pub fn DrillBadge() -> impl IntoView {
    let lang = use_language();
    view! { <span class="drill-badge" data-test="drill-badge">{lang.text(Msg::Drill)}</span> }
}

/// What each scenario's button says.
fn scenario_label(scenario: DrillScenario) -> Msg {
    match scenario {
        DrillScenario::NoWater => Msg::DrillNoWater,
        DrillScenario::Gas => Msg::DrillGas,
        DrillScenario::MissedCheckIn => Msg::DrillMissedCheckIn,
    }
}

/// On an elder home's panel, for commanders: start a drill there.
#[component]
pub fn StartDrillButtons(home: String) -> impl IntoView {
    let lang = use_language();
    let (Some(live), true) = (use_live(), use_session().is_commander()) else {
        return ().into_any();
    };
    let start = Action::new_unsync(move |start: &StartDrill| {
        let start = start.clone();
        async move {
            let drill = api::start_drill(&start).await?;
            live.show_change(EventKind::AlertRaised, &drill.alert);
            Ok::<(), api::ApiError>(())
        }
    });
    let answer = move || {
        (!start.pending().get())
            .then(|| start.value().get())
            .flatten()
            .map(|a| a.map_err(|e| refusal_message(lang.0.get(), &e)))
    };
    view! {
        <details class="drill-start" data-test="drill-start">
            <summary>{lang.text(Msg::StartDrill)}</summary>
            <div class="drill-scenarios">
                {DrillScenario::ALL.iter().map(|scenario| {
                    let scenario = *scenario;
                    let home = home.clone();
                    view! {
                        <button data-test="drill-scenario" data-scenario=scenario.as_str()
                            on:click=move |_| { start.dispatch(StartDrill { home: home.clone(), scenario }); }>
                            {move || lang.t(scenario_label(scenario))}
                        </button>
                    }
                }).collect_view()}
            </div>
            {move || answer().map(|a| match a {
                Ok(()) => view! { <p class="ok" data-test="drill-started">{lang.text(Msg::DrillStarted)}</p> }.into_any(),
                Err(e) => view! { <p class="error" role="alert">{e}</p> }.into_any(),
            })}
        </details>
    }
    .into_any()
}

/// On a drill's alert row, for commanders: end the drill (its alert, and its case).
#[component]
pub fn EndDrillButton(alert: i64) -> impl IntoView {
    let lang = use_language();
    let (Some(live), true) = (use_live(), use_session().is_commander()) else {
        return ().into_any();
    };
    let end = Action::new_unsync(move |_: &()| async move {
        let drill = api::end_drill(alert).await?;
        live.show_change(EventKind::AlertUpdated, &drill.alert);
        Ok::<(), api::ApiError>(())
    });
    let error = move || {
        let failed = end.value().get().and_then(Result::err);
        failed.map(|e| refusal_message(lang.0.get(), &e))
    };
    view! {
        <button data-test="end-drill" on:click=move |_| { end.dispatch(()); }>{lang.text(Msg::EndDrill)}</button>
        {move || error().map(|e| view! { <p class="error" role="alert">{e}</p> })}
    }
    .into_any()
}
