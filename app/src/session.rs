//! Who is signed in, shared through context. Loaded once from `GET /api/v1/session` at
//! start, set by the login page, cleared by signing out.

use crate::api;
use leptos::prelude::*;
use leptos::task::spawn_local;
use linli_domain::SessionInfo;

#[derive(Debug, Clone, PartialEq)]
pub enum SessionState {
    /// Still asking the server.
    Loading,
    SignedOut,
    SignedIn(SessionInfo),
}

#[derive(Debug, Clone, Copy)]
pub struct Session(pub RwSignal<SessionState>);

impl Session {
    pub fn user(self) -> Option<SessionInfo> {
        match self.0.get() {
            SessionState::SignedIn(info) => Some(info),
            _ => None,
        }
    }

    /// Whether a commander is signed in (what only commanders see).
    pub fn is_commander(self) -> bool {
        self.user()
            .is_some_and(|u| u.role == linli_domain::Role::Commander)
    }

    /// Ends the session on the server and here.
    pub fn sign_out(self) {
        spawn_local(async move {
            if let Err(e) = api::sign_out().await {
                leptos::logging::warn!("sign-out failed: {e:?}");
            }
            self.0.set(SessionState::SignedOut);
        });
    }
}

/// Starts loading the session and shares it.
pub fn provide_session() {
    let state = RwSignal::new(SessionState::Loading);
    spawn_local(async move {
        let loaded = match api::current_session().await {
            Ok(Some(info)) => SessionState::SignedIn(info),
            Ok(None) => SessionState::SignedOut,
            Err(e) => {
                leptos::logging::warn!("cannot load the session: {e:?}");
                SessionState::SignedOut
            }
        };
        state.set(loaded);
    });
    provide_context(Session(state));
}

pub fn use_session() -> Session {
    expect_context::<Session>()
}
