//! Names the app's own work in the browser's performance trace: [`measured`] wraps a
//! piece of work in a user timing measure (`performance.measure`), which Chromium's
//! trace shows beside the browser's own tasks. `make bench` reads them to say which
//! part of the app a long task was (see `tests/src/bin/bench/trace.rs`). Each entry
//! is cleared once recorded, so the page's timeline does not grow.
//! [`yield_to_browser`] splits long work into tasks, so that input waits less.

/// Runs `work`, recorded as the user timing measure `name`.
pub fn measured<T>(name: &'static str, work: impl FnOnce() -> T) -> T {
    let _measure = Measure::start(name);
    work()
}

/// A measure that ends when dropped: for work with early returns or borrows that a
/// closure for [`measured`] would not allow.
#[must_use]
pub struct Measure(&'static str);

impl Measure {
    pub fn start(name: &'static str) -> Measure {
        if let Some(performance) = web_sys::window().and_then(|w| w.performance()) {
            let _ = performance.mark(name);
        }
        Measure(name)
    }
}

impl Drop for Measure {
    fn drop(&mut self) {
        if let Some(performance) = web_sys::window().and_then(|w| w.performance()) {
            if performance.measure_with_start_mark(self.0, self.0).is_ok() {
                performance.clear_marks_with_mark_name(self.0);
                performance.clear_measures_with_measure_name(self.0);
            }
        }
    }
}

/// Lets the browser run what waits (input, a frame) before the caller goes on: the
/// rest runs as a task of its own (a zero `setTimeout`).
pub async fn yield_to_browser() {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        if let Some(w) = web_sys::window() {
            let _ = w.set_timeout_with_callback(&resolve);
        }
    });
    let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
}
