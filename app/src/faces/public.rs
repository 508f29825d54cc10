//! `/public`: the public status page, no sign-in. For now the communities on the map;
//! the per-community figures arrive with a later issue. Never shows personal data.

use super::Header;
use crate::i18n::{use_language, Msg};
use crate::map::{MapView, Theme};
use leptos::prelude::*;
use linli_domain::Face;

#[component]
pub fn Public() -> impl IntoView {
    let lang = use_language();
    view! {
        <div class="face face-public theme-light">
            <Header face=Face::Public/>
            <p class="intro">{move || lang.t(Msg::PublicIntro)}</p>
            <MapView theme=Theme::Light/>
        </div>
    }
}
