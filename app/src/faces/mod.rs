//! The app's pages. Each face is a route; the staff faces are wrapped in [`StaffOnly`],
//! which sends signed-out users to `/login` and back afterwards.

pub mod alerts;
pub mod case_list;
pub mod case_panel;
pub mod check_in;
pub mod command;
pub mod dashboard;
pub mod dispatch;
pub mod drills;
pub mod escalate;
pub mod field;
pub mod login;
pub mod map_panels;
pub mod map_view;
pub mod navigation;
pub mod new_case;
pub mod notices;
pub mod parties;
pub mod partner;
pub mod patrol_control;
pub mod patrol_list;
pub mod photos;
pub mod side_panel;

use crate::i18n::{use_language, Msg};
use crate::route::use_location;
use crate::session::{use_session, SessionState};
use leptos::prelude::*;
use linli_domain::{Face, Role};

/// `/`: signed-in users go to their face, everyone else to the public page (a page
/// load: the public page is its own, smaller app, `linli-public`).
#[component]
pub fn Landing() -> impl IntoView {
    let session = use_session();
    let location = use_location();
    Effect::new(move |_| match session.0.get() {
        SessionState::Loading => {}
        SessionState::SignedOut => location.navigate(Face::Public.path(), true),
        SessionState::SignedIn(info) => location.navigate(info.role.home_face().path(), true),
    });
    let lang = use_language();
    view! { <p class="centred">{lang.text(Msg::Loading)}</p> }
}

#[component]
pub fn NotFound() -> impl IntoView {
    let lang = use_language();
    view! {
        <main class="centred">
            <h1>{lang.text(Msg::NotFound)}</h1>
            <a href="/">{lang.text(Msg::BackHome)}</a>
        </main>
    }
}

/// Shows `children` to signed-in users only; sends others to `/login?next=<face>`
/// (keeping the alert a notification's link names). A partner's account has only its
/// own face: the staff faces send it there.
#[component]
pub fn StaffOnly(face: Face, children: ChildrenFn) -> impl IntoView {
    let session = use_session();
    let location = use_location();
    Effect::new(move |_| match session.0.get() {
        SessionState::SignedOut => {
            let alert = location
                .linked_alert()
                .map(|id| format!("&alert={id}"))
                .unwrap_or_default();
            location.navigate(&format!("/login?next={}{alert}", face.path()), true);
        }
        SessionState::SignedIn(info) if info.role == Role::Partner && face != Face::Partner => {
            location.navigate(Face::Partner.path(), true);
        }
        _ => {}
    });
    move || match session.0.get() {
        SessionState::SignedIn(info) if info.role == Role::Partner && face != Face::Partner => None,
        SessionState::SignedIn(_) => Some(children()),
        _ => None,
    }
}

/// The bar on top of every face: app and place, the face's name, the user, the
/// language switch and sign-in or sign-out.
#[component]
pub fn Header(face: Face) -> impl IntoView {
    let lang = use_language();
    let session = use_session();
    let face_name = move || {
        lang.t(match face {
            Face::Command => Msg::CommandFace,
            Face::Field => Msg::FieldFace,
            Face::Public => Msg::PublicFace,
            Face::Partner => Msg::PartnerFace,
        })
    };
    let role_name = move |role: Role| {
        lang.t(match role {
            Role::Commander => Msg::RoleCommander,
            Role::GridWorker => Msg::RoleGridWorker,
            Role::Viewer => Msg::RoleViewer,
            Role::Partner => Msg::RolePartner,
        })
    };
    let user = move || {
        session.user().map(|info| {
            view! {
                <span class="user" data-test="user">
                    <strong>{info.username.to_string()}</strong>
                    " · "
                    {role_name(info.role)}
                </span>
                <button class="link" data-test="sign-out" on:click=move |_| session.sign_out()>
                    {lang.text(Msg::SignOut)}
                </button>
            }
        })
    };
    let sign_in_link = move || {
        (session.user().is_none()).then(|| {
            view! { <a class="link" href="/login">{lang.text(Msg::StaffSignIn)}</a> }
        })
    };
    view! {
        <header class="bar">
            <span class="brand">{lang.text(Msg::AppName)}</span>
            <span class="place">{lang.text(Msg::Subdistrict)}</span>
            <span class="face-name" data-test="face">{face_name}</span>
            <span class="spacer"></span>
            {user}
            {sign_in_link}
            <button class="link" data-test="language" on:click=move |_| lang.switch()>
                {lang.text(Msg::LanguageSwitch)}
            </button>
        </header>
    }
}
