//! `/command`: the street office's wall screen. For now the full-bleed map of the
//! subdistrict; KPI panels, charts and the alert ticker arrive with later issues.

use super::{Header, StaffOnly};
use crate::map::{MapView, Theme};
use leptos::prelude::*;
use linli_domain::Face;

#[component]
pub fn Command() -> impl IntoView {
    view! {
        <StaffOnly face=Face::Command>
            <div class="face face-command theme-dark">
                <Header face=Face::Command/>
                <MapView theme=Theme::Dark staff=true/>
            </div>
        </StaffOnly>
    }
}
