//! `/command`: the street office's wall screen: KPI tiles over the map (a click shows
//! only that on the map), charts under it, the live alerts, cases and patrols beside
//! it, a ticker of the newest alerts, and a banner and sound for every new critical
//! alert (the map flies to it).

use super::alerts::CriticalBanner;
use super::dashboard::{follow_activity, AlertTicker, Charts, KpiBar};
use super::map_view::MapView;
use super::side_panel::SidePanel;
use super::{Header, StaffOnly};
use crate::live::provide_live;
use crate::map::Theme;
use crate::outbox::Outbox;
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
    Outbox::provide(provide_live());
    let activity = follow_activity();
    view! {
        <div class="face face-command theme-dark">
            <Header face=Face::Command/>
            <CriticalBanner/>
            <KpiBar activity=activity/>
            <div class="face-body">
                <div class="map-column">
                    <MapView theme=Theme::Dark/>
                    <Charts activity=activity/>
                </div>
                <SidePanel/>
            </div>
            <AlertTicker/>
        </div>
    }
}
