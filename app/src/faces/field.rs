//! `/field`: the grid worker's tablet: the map with the worker's live alerts, cases
//! and patrols, with big buttons to acknowledge, resolve or escalate, and a long press
//! on the map to report a case. Check-ins and starting patrol runs arrive with later
//! issues.

use super::side_panel::SidePanel;
use super::{Header, StaffOnly};
use crate::live::provide_live;
use crate::map::{MapView, Theme};
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
    provide_live();
    view! {
        <div class="face face-field theme-light">
            <Header face=Face::Field/>
            <div class="face-body">
                <MapView theme=Theme::Light staff=true/>
                <SidePanel field=true/>
            </div>
        </div>
    }
}
