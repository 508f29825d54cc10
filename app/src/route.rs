//! Which page the staff app shows: the address bar's path and query as signals, changed
//! by [`Location::navigate`] (the History API) and by the browser's back and forward
//! buttons (`popstate`).
//!
//! Hand-written rather than `leptos_router`: the app has five fixed paths and reads
//! two query parameters (`next`, `alert`), and leaving the router out took the staff
//! app's Wasm from 550.0 to 506.0 KB gzip -9 (measured 2026-12-02), in a download
//! that was over its 500 KB budget. Links between the faces are rare (the header's
//! sign-in, the not-found page's way home) and load the page.

use leptos::prelude::*;
use wasm_bindgen::prelude::*;

/// The paths this app answers; any other is loaded from the server (`/public` is an
/// app of its own).
const PATHS: [&str; 5] = ["/", "/login", "/command", "/field", "/partner"];

/// The address the app shows, shared through context.
#[derive(Debug, Clone, Copy)]
pub struct Location {
    path: RwSignal<String>,
    /// The query, with its `?` (empty when none).
    search: RwSignal<String>,
}

/// Reads the address bar into a [`Location`], follows the browser's back and forward
/// buttons for the life of the page, and provides it to the app.
pub fn provide_location() -> Location {
    let location = Location {
        path: RwSignal::new(String::new()),
        search: RwSignal::new(String::new()),
    };
    location.read_address_bar();
    let on_pop = Closure::<dyn Fn()>::new(move || location.read_address_bar());
    if window()
        .add_event_listener_with_callback("popstate", on_pop.as_ref().unchecked_ref())
        .is_ok()
    {
        // The app lives as long as the page: so does its listener.
        on_pop.forget();
    }
    provide_context(location);
    location
}

/// The app's [`Location`]; panics outside [`provide_location`] (a programming error).
pub fn use_location() -> Location {
    expect_context::<Location>()
}

impl Location {
    /// The path shown, e.g. `/command` (tracked).
    pub fn path(&self) -> String {
        self.path.get()
    }

    /// A query parameter's value, decoded (not tracked: read when a page starts).
    pub fn query(&self, name: &str) -> Option<String> {
        let search = self.search.get_untracked();
        web_sys::UrlSearchParams::new_with_str(&search)
            .ok()?
            .get(name)
    }

    /// The alert a link names (`?alert=ID`, as notifications' links do), if any.
    pub fn linked_alert(&self) -> Option<i64> {
        self.query("alert")?.parse().ok()
    }

    /// Shows `to` (a path with an optional query): in the app when it is one of its
    /// pages, else by loading it. `replace` keeps the browser's back button from
    /// returning to where the app was (a redirect).
    pub fn navigate(&self, to: &str, replace: bool) {
        let (path, search) = to.find('?').map_or((to, ""), |at| to.split_at(at));
        if !PATHS.contains(&path) {
            let location = window().location();
            let loaded = if replace {
                location.replace(to)
            } else {
                location.assign(to)
            };
            if let Err(e) = loaded {
                leptos::logging::warn!("cannot open {to}: {e:?}");
            }
            return;
        }
        if let Ok(history) = window().history() {
            let changed = if replace {
                history.replace_state_with_url(&JsValue::NULL, "", Some(to))
            } else {
                history.push_state_with_url(&JsValue::NULL, "", Some(to))
            };
            if let Err(e) = changed {
                leptos::logging::warn!("cannot show {to}: {e:?}");
            }
        }
        self.show(path, search);
    }

    fn read_address_bar(&self) {
        let location = window().location();
        let path = location.pathname().unwrap_or_else(|_| "/".into());
        let search = location.search().unwrap_or_default();
        self.show(&path, &search);
    }

    /// Sets the signals, each only when it changes (a new query on the same path keeps
    /// the page).
    fn show(&self, path: &str, search: &str) {
        if self.search.get_untracked() != search {
            self.search.set(search.to_string());
        }
        if self.path.get_untracked() != path {
            self.path.set(path.to_string());
        }
    }
}
