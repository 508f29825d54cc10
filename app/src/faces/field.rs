//! `/field`: the grid worker's tablet: the map with the worker's live alerts, cases
//! and patrols, the most urgent first and, among equally urgent ones, the nearest
//! first; big buttons to acknowledge, resolve or escalate, to navigate to a place, to
//! record a morning check-in and to go on patrol; a long press on the map reports a
//! case. A new critical alert of the worker's communities rings and shows a banner as
//! on the command screen. A notification's link (`/field?alert=ID`) marks its alert
//! and flies the map to it. The tablet follows its own position (see `here.rs`) while
//! this face is open.

use super::alerts::CriticalBanner;
use super::map_view::MapView;
use super::navigation::NavigationBar;
use super::patrol_control::share_while_on_patrol;
use super::side_panel::SidePanel;
use super::{Header, StaffOnly};
use crate::here::Here;
use crate::live::provide_live;
use crate::map::Theme;
use crate::outbox::Outbox;
use leptos::prelude::*;
use linli_domain::Face;

#[component]
pub fn Field() -> impl IntoView {
    view! {
        <StaffOnly face=Face::Field>
            <FieldTablet/>
        </StaffOnly>
    }
}

#[component]
fn FieldTablet() -> impl IntoView {
    Outbox::provide(provide_live());
    Here::provide();
    share_while_on_patrol();
    view! {
        <div class="face face-field theme-light">
            <Header face=Face::Field/>
            <CriticalBanner/>
            <div class="face-body">
                <div class="map-column">
                    <NavigationBar/>
                    <MapView theme=Theme::Light/>
                </div>
                <SidePanel field=true/>
            </div>
        </div>
    }
}
