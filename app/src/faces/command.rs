//! `/command`: the street office's wall screen: the full-bleed map with the live
//! alerts, cases and patrols beside it, and a banner and sound for every new critical
//! alert (the map flies to it). KPI panels, charts and the ticker arrive with later
//! issues.

use super::alerts::CriticalBanner;
use super::side_panel::SidePanel;
use super::{Header, StaffOnly};
use crate::live::provide_live;
use crate::map::{MapView, Theme};
use leptos::prelude::*;
use linli_domain::Face;

#[component]
pub fn Command() -> impl IntoView {
    view! {
        <StaffOnly face=Face::Command>
            <CommandScreen/>
        </StaffOnly>
    }
}

#[component]
fn CommandScreen() -> impl IntoView {
    provide_live();
    view! {
        <div class="face face-command theme-dark">
            <Header face=Face::Command/>
            <CriticalBanner/>
            <div class="face-body">
                <MapView theme=Theme::Dark staff=true/>
                <SidePanel/>
            </div>
        </div>
    }
}
