//! `/field`: the grid worker's tablet. For now the map; the worker's alerts and cases,
//! check-ins and patrol runs arrive with later issues.

use super::{Header, StaffOnly};
use crate::map::{MapView, Theme};
use leptos::prelude::*;
use linli_domain::Face;

#[component]
pub fn Field() -> impl IntoView {
    view! {
        <StaffOnly face=Face::Field>
            <div class="face face-field theme-light">
                <Header face=Face::Field/>
                <MapView theme=Theme::Light staff=true/>
            </div>
        </StaffOnly>
    }
}
