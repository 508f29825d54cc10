//! Going to a place from the tablet: the "navigate" button on a list row, and the bar
//! over the map that says how far the chosen place is and how long the walk takes,
//! follows the device as it moves, says when the worker has arrived, and hands the
//! place to the device's own maps app (a `geo:` link) for the streets in between.
//! The map shows the worker and the place together, with a line between them
//! (`faces/map_view.rs`, `map/markers.rs`).

use crate::here::{distance_text, geo_uri, use_here, walking_text};
use crate::i18n::{use_language, Msg};
use leptos::prelude::*;

/// Within this many metres the worker has arrived.
const ARRIVED_WITHIN_M: f64 = 30.0;

/// "Navigate" to `position`, on the faces that follow the device.
#[component]
pub fn NavigateButton(position: [f64; 2], label: String) -> impl IntoView {
    let lang = use_language();
    let Some(here) = use_here() else {
        return ().into_any();
    };
    view! {
        <button class="navigate" data-test="navigate" on:click=move |_| here.go_to(position, label.clone())>
            {lang.text(Msg::Navigate)}
        </button>
    }
    .into_any()
}

/// How far the row's place is from the device, once it knows ("350 m").
#[component]
pub fn DistanceFromHere(position: [f64; 2]) -> impl IntoView {
    let here = use_here();
    move || {
        here.and_then(|h| h.metres_to(position)).map(|m| {
            view! { <span class="distance" data-test="distance" data-metres=format!("{m:.0}")>{distance_text(m)}</span> }
        })
    }
}

/// The bar over the map while the worker is on the way somewhere.
#[component]
pub fn NavigationBar() -> impl IntoView {
    let lang = use_language();
    let Some(here) = use_here() else {
        return ().into_any();
    };
    let bar = move || {
        here.destination.get().map(|to| {
            let position = to.position;
            let metres = move || here.metres_to(position);
            let how_far = move || match metres() {
                Some(m) if m <= ARRIVED_WITHIN_M => lang.t(Msg::Arrived).to_string(),
                Some(m) => format!("{} · {}", distance_text(m), walking_text(lang.0.get(), m)),
                None if here.unavailable.get() => lang.t(Msg::PositionUnavailable).to_string(),
                None => lang.t(Msg::WaitingForPosition).to_string(),
            };
            view! {
                <div class="navigation" data-test="navigation" role="status"
                    data-metres=move || metres().map(|m| format!("{m:.0}")).unwrap_or_default()>
                    <span class="to">{lang.text(Msg::GoingTo)}" "<strong>{to.label}</strong></span>
                    <span class="how-far" data-test="navigation-distance">{how_far}</span>
                    <a class="button" data-test="navigation-app" href=geo_uri(position)>
                        {lang.text(Msg::OpenInMapsApp)}
                    </a>
                    <button data-test="navigation-stop" on:click=move |_| here.destination.set(None)>
                        {lang.text(Msg::StopGuiding)}
                    </button>
                </div>
            }
        })
    };
    bar.into_any()
}
