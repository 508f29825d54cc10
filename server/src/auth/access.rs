//! Access levels and their enforcement: the one place that decides who may call what.
//!
//! Every route is declared in `http::router` under one [`Access`] level; routes above
//! [`Access::Anyone`] get the [`enforce`] middleware, which resolves the session cookie
//! to a [`Caller`] (or refuses with `401`/`403`) before the handler runs. Handlers that
//! need to know who calls take a [`Caller`] argument. Finer rules inside a resource
//! (a grid worker's own communities) use the caller's role and communities.

use super::token::{token_from_headers, token_hash};
use crate::clock::now_ms;
use crate::error::AppError;
use crate::store::{DynStore, UserRecord};
use axum::extract::{FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::HeaderMap;
use axum::middleware::Next;
use axum::response::Response;
use linli_domain::access::may_see_community;
use linli_domain::cases::Party;
use linli_domain::{CommunityId, Role, SessionInfo};

/// Who may call an endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// No sign-in needed: public pages, health, sign-in itself.
    Anyone,
    /// Any signed-in user, partners too: the session itself and the cases (a partner
    /// only its organisation's, which the handlers see to).
    SignedIn,
    /// Street office staff: commanders, grid workers and viewers; not partners.
    Staff,
    /// Street office command only.
    Commander,
    /// Sensors and gateways, with a Bearer token from `linli device add` or
    /// `linli gateway add` (checked by the handler itself, not by a session).
    DeviceToken,
}

impl Access {
    /// A sentence for the API description.
    pub fn describe(self) -> &'static str {
        match self {
            Access::Anyone => "Access: anyone, no sign-in needed.",
            Access::SignedIn => {
                "Access: any signed-in user (session cookie); a partner only for the cases its organisation handles."
            }
            Access::Staff => {
                "Access: signed-in street office staff (session cookie): commanders, grid workers, viewers."
            }
            Access::Commander => "Access: signed-in commanders only (session cookie).",
            Access::DeviceToken => {
                "Access: devices and gateways (`Authorization: Bearer <token>`), no session."
            }
        }
    }

    /// Whether a signed-in user of `role` may call an endpoint of this level.
    pub fn admits(self, role: Role) -> bool {
        match self {
            Access::Anyone | Access::SignedIn => true,
            Access::Staff => role != Role::Partner,
            Access::Commander => role == Role::Commander,
            Access::DeviceToken => false,
        }
    }
}

/// The header with the time a change was made on the device, when that was before it
/// was sent (the app's outbox sends what was done offline later): RFC 3339.
pub const PRESSED_AT: &str = "linli-pressed-at";
/// How long a change may have waited on a device: an older `Linli-Pressed-At` counts
/// from this long ago (a wrong clock, most likely).
pub const MAX_WAITED_MS: crate::clock::Millis = 7 * 24 * 3_600_000;

/// The signed-in user behind a request, with the session it came with.
#[derive(Debug, Clone)]
pub struct Caller {
    pub user: UserRecord,
    pub token_hash: String,
    /// `Linli-Pressed-At`, when the request carries it.
    pub pressed_at: Option<crate::clock::Millis>,
}

impl Caller {
    /// The communities whose homes, alerts and cases the caller may see: `None` for
    /// all (commanders and viewers), a grid worker's own list otherwise. A partner's
    /// is its own list too (none: nothing), but partners see cases by organisation
    /// ([`Caller::case_scope`]).
    pub fn community_scope(&self) -> Option<Vec<CommunityId>> {
        match self.user.role {
            Role::Commander | Role::Viewer => None,
            Role::GridWorker | Role::Partner => Some(self.user.communities.clone()),
        }
    }

    /// The cases the caller may see: the communities (`None`: all) and, for a partner,
    /// the party that must handle them.
    pub fn case_scope(&self) -> (Option<Vec<CommunityId>>, Option<Party>) {
        match (self.user.role, self.user.org) {
            (Role::Partner, Some(org)) if self.user.communities.is_empty() => (None, Some(org)),
            (Role::Partner, Some(org)) => (Some(self.user.communities.clone()), Some(org)),
            // The database allows no partner without one; were there one, it sees nothing.
            (Role::Partner, None) => (Some(Vec::new()), None),
            _ => (self.community_scope(), None),
        }
    }

    /// A partner's organisation; `None` for staff.
    pub fn partner_org(&self) -> Option<Party> {
        match self.user.role {
            Role::Partner => self.user.org,
            _ => None,
        }
    }

    /// Refuses with `403` when the caller may not see `community`.
    pub fn check_community(&self, community: &CommunityId) -> Result<(), AppError> {
        if may_see_community(self.user.role, &self.user.communities, community) {
            Ok(())
        } else {
            Err(AppError::Forbidden(format!(
                "you may only see your own communities, not `{community}`"
            )))
        }
    }

    /// The caller as the author of a change, or `403` for a viewer, who only reads
    /// (`what`: what they tried, e.g. "act on alerts").
    pub fn author(&self, what: &str) -> Result<crate::store::Actor, AppError> {
        if self.user.role == Role::Viewer {
            return Err(AppError::Forbidden(format!(
                "viewers may look but not {what}"
            )));
        }
        Ok(crate::store::Actor::User(self.user.username.clone()))
    }

    /// The caller as the author of a change only commanders make, or `403` (`what`:
    /// the change, e.g. "publish notices").
    pub fn commander(&self, what: &str) -> Result<crate::store::Actor, AppError> {
        if self.user.role != Role::Commander {
            return Err(AppError::Forbidden(format!("only commanders {what}")));
        }
        Ok(crate::store::Actor::User(self.user.username.clone()))
    }

    /// When the caller did what it asks: the time its device says it was done
    /// (`Linli-Pressed-At`), no later than now (a fast clock) and no earlier than
    /// [`MAX_WAITED_MS`] before it; now without one. What it changes may raise it to
    /// that thing's last change, so that a thing's history keeps its order.
    pub fn done_at(&self) -> crate::clock::Millis {
        let now = now_ms();
        self.pressed_at
            .map_or(now, |at| at.clamp(now - MAX_WAITED_MS, now))
    }

    /// A change by `actor` (the caller as [`Caller::author`] or
    /// [`Caller::commander`] named it) at [`Caller::done_at`].
    pub fn change(&self, actor: crate::store::Actor) -> crate::store::Change {
        crate::store::Change::new(actor, self.done_at())
    }

    pub fn session_info(&self) -> SessionInfo {
        SessionInfo {
            username: self.user.username.clone(),
            role: self.user.role,
            communities: self.user.communities.clone(),
            org: self.partner_org(),
        }
    }
}

/// Resolves the session cookie of a request, if it carries a valid one.
pub async fn caller_from_headers(
    store: &DynStore,
    headers: &HeaderMap,
) -> Result<Option<Caller>, AppError> {
    let Some(token) = token_from_headers(headers) else {
        return Ok(None);
    };
    let hash = token_hash(&token);
    let user = store.session_user(&hash, now_ms()).await?;
    let pressed_at = match headers.get(PRESSED_AT) {
        None => None,
        Some(value) => Some(
            value
                .to_str()
                .ok()
                .and_then(crate::store::parse_rfc3339)
                .ok_or_else(|| {
                    AppError::BadRequest(format!(
                        "`{PRESSED_AT}` is an RFC 3339 time (2026-12-01T08:30:00+08:00)"
                    ))
                })?,
        ),
    };
    Ok(user.map(|user| Caller {
        user,
        token_hash: hash,
        pressed_at,
    }))
}

/// The middleware behind every route above [`Access::Anyone`].
pub async fn enforce(
    store: DynStore,
    access: Access,
    mut request: Request,
    next: Next,
) -> Result<Response, AppError> {
    let caller = caller_from_headers(&store, request.headers())
        .await?
        .ok_or_else(AppError::not_signed_in)?;
    if !access.admits(caller.user.role) {
        return Err(AppError::Forbidden(format!(
            "a {} may not do this; {}",
            caller.user.role,
            access.describe().to_lowercase()
        )));
    }
    request.extensions_mut().insert(caller);
    Ok(next.run(request).await)
}

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        // Only present behind `enforce`; a handler on a public route that asks for a
        // caller therefore refuses rather than guessing.
        parts
            .extensions
            .get::<Caller>()
            .cloned()
            .ok_or_else(AppError::not_signed_in)
    }
}
