//! The Linli browser app: one map, three faces.
//!
//! - [`faces`]: the routes: `/login`, `/command` (street office wall screen), `/field`
//!   (grid worker tablet), `/partner`, and the header they share.
//! - [`public`]: `/public` (status page, no sign-in), built as an app of its own
//!   (`src/bin/linli-public.rs`) without Leptos, on plain DOM ([`dom`]), so that a
//!   resident's phone downloads only what that page needs.
//! - [`map`]: the canvas map engine, and [`base_layers`] that it draws, from the server. Projection, viewport and layers are pure Rust and
//!   tested natively; `map::canvas` is the only module that touches the 2D context.
//! - [`api`]: typed calls to the server's `/api/v1`.
//! - [`layer_worker`]: large layers decoded and projected in a Web Worker of our own
//!   (`src/bin/linli-layers.rs`).
//! - [`live`]: the staff faces' snapshot kept current by the server's event stream.
//! - [`outbox`]: changes made offline, kept and sent when the network returns.
//! - [`paced`]: lists that make their new rows a few at a time under a storm of events.
//! - [`here`]: the tablet's own position and where its user is going.
//! - [`route`]: which page shows: the address bar's path and query as signals.
//! - [`session`]: who is signed in, shared through context.
//! - [`i18n`]: Chinese (zh-CN) and English strings; follows the browser, with a switch.
//! - [`timing`]: the app's own work named in the browser's performance trace.

pub mod api;
pub mod base_layers;
pub mod dom;
pub mod faces;
pub mod here;
pub mod i18n;
pub mod layer_worker;
pub mod live;
pub mod map;
pub mod outbox;
pub mod paced;
pub mod public;
pub mod route;
pub mod session;
pub mod timing;

use leptos::prelude::*;

/// The whole app: shared state, then the page the path names (made again only when
/// the path changes).
#[component]
pub fn App() -> impl IntoView {
    i18n::provide_language();
    session::provide_session();
    let location = route::provide_location();
    move || match location.path().as_str() {
        "/" => view! { <faces::Landing/> }.into_any(),
        "/login" => view! { <faces::login::Login/> }.into_any(),
        "/command" => view! { <faces::command::Command/> }.into_any(),
        "/field" => view! { <faces::field::Field/> }.into_any(),
        "/partner" => view! { <faces::partner::Partner/> }.into_any(),
        _ => view! { <faces::NotFound/> }.into_any(),
    }
}
