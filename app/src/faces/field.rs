//! `/field`: the grid worker's tablet: the map and the worker's live alerts, with big
//! buttons to acknowledge, resolve or escalate. Cases, check-ins and patrol runs arrive
//! with later issues.

use super::alerts::AlertPanel;
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
                <AlertPanel/>
            </div>
        </div>
    }
}
