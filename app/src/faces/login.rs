//! `/login`: username and password. On success the user goes back where they were
//! sent from (`?next=`), else to their role's face.

use crate::api::{self, ApiError};
use crate::i18n::{use_language, Msg};
use crate::route::use_location;
use crate::session::{use_session, SessionState};
use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use linli_domain::Face;

/// Where to go after signing in: `next` if it is one of the app's faces, else `home`.
pub fn destination(next: Option<&str>, home: Face) -> &'static str {
    [Face::Command, Face::Field, Face::Public]
        .into_iter()
        .map(Face::path)
        .find(|path| Some(*path) == next)
        .unwrap_or(home.path())
}

#[component]
pub fn Login() -> impl IntoView {
    let lang = use_language();
    let session = use_session();
    let location = use_location();
    let username = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let sign_in = Action::new_unsync(|(name, pass): &(String, String)| {
        let (name, pass) = (name.trim().to_string(), pass.clone());
        async move { api::sign_in(&name, &pass).await }
    });
    let busy = sign_in.pending();
    // What the last attempt came to, while no other is on its way.
    let error = move || match sign_in.value().get() {
        Some(Err(e)) if !busy.get() => Some(match e {
            ApiError::Refused { status: 429, .. } => Msg::TooManyAttempts,
            ApiError::Refused {
                status: 401 | 422, ..
            } => Msg::WrongCredentials,
            _ => Msg::NetworkError,
        }),
        _ => None,
    };
    Effect::new(move |_| match sign_in.value().get() {
        Some(Ok(info)) => session.0.set(SessionState::SignedIn(info)),
        Some(Err(_)) => password.set(String::new()),
        None => {}
    });

    // Signed in (now or already): go on.
    Effect::new(move |_| {
        if let SessionState::SignedIn(info) = session.0.get() {
            let next = location.query("next");
            let alert = location
                .linked_alert()
                .map(|id| format!("?alert={id}"))
                .unwrap_or_default();
            location.navigate(
                &format!(
                    "{}{alert}",
                    destination(next.as_deref(), info.role.home_face())
                ),
                false,
            );
        }
    });

    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        if !busy.get_untracked() {
            sign_in.dispatch((username.get_untracked(), password.get_untracked()));
        }
    };

    view! {
        <main class="login theme-light">
            <form class="card" on:submit=submit>
                <h1>{lang.text(Msg::AppName)} " · " {lang.text(Msg::Subdistrict)}</h1>
                <label>
                    {lang.text(Msg::Username)}
                    <input name="username" autocomplete="username" required
                        prop:value=move || username.get()
                        on:input=move |ev| username.set(event_target_value(&ev))/>
                </label>
                <label>
                    {lang.text(Msg::Password)}
                    <input name="password" type="password" autocomplete="current-password" required
                        prop:value=move || password.get()
                        on:input=move |ev| password.set(event_target_value(&ev))/>
                </label>
                <p class="error" role="alert" data-test="login-error">
                    {move || error().map(|m| lang.t(m))}
                </p>
                <button type="submit" data-test="sign-in" disabled=move || busy.get()>
                    {move || lang.t(if busy.get() { Msg::SigningIn } else { Msg::SignIn })}
                </button>
                <button type="button" class="link" on:click=move |_| lang.switch()>
                    {lang.text(Msg::LanguageSwitch)}
                </button>
            </form>
        </main>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_must_be_one_of_the_faces() {
        assert_eq!(destination(Some("/field"), Face::Command), "/field");
        assert_eq!(
            destination(Some("https://evil.example"), Face::Command),
            "/command"
        );
        assert_eq!(destination(Some("//evil.example"), Face::Field), "/field");
        assert_eq!(destination(None, Face::Field), "/field");
    }
}
