//! Names the app's own work in the browser's performance trace: [`measured`] wraps a
//! piece of work in a user timing measure (`performance.measure`), which Chromium's
//! trace shows beside the browser's own tasks. `make bench` reads them to say which
//! part of the app a long task was (see `tests/src/bin/bench/trace.rs`). Each entry
//! is cleared once recorded, so the page's timeline does not grow.

use leptos::prelude::window;

/// Runs `work`, recorded as the user timing measure `name`.
pub fn measured<T>(name: &str, work: impl FnOnce() -> T) -> T {
    let Some(performance) = window().performance() else {
        return work();
    };
    let started = performance.mark(name).is_ok();
    let out = work();
    if started {
        let _ = performance.measure_with_start_mark(name, name);
        performance.clear_marks_with_mark_name(name);
        performance.clear_measures_with_measure_name(name);
    }
    out
}
