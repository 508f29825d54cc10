//! Building and changing a page's elements without a framework, for the public page's
//! own build (`crate::public`): a resident's phone downloads no Leptos. Elements are
//! made with [`el`] and its builder methods; [`on`] listens for an event for the
//! page's whole life.

use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;
use web_sys::{Document, Element, Event, EventTarget};

pub fn document() -> Document {
    web_sys::window()
        .and_then(|w| w.document())
        .expect("a page has a document")
}

/// An element being built.
pub struct El(pub Element);

/// A new `<tag>`.
pub fn el(tag: &str) -> El {
    El(document().create_element(tag).expect("a known tag name"))
}

impl El {
    pub fn class(self, class: &str) -> El {
        self.0.set_class_name(class);
        self
    }

    pub fn attr(self, name: &str, value: &str) -> El {
        let _ = self.0.set_attribute(name, value);
        self
    }

    pub fn text(self, text: &str) -> El {
        self.0.set_text_content(Some(text));
        self
    }

    pub fn child(self, child: impl AsRef<Element>) -> El {
        let _ = self.0.append_child(child.as_ref());
        self
    }

    /// Calls `handler` on each `event` for as long as the page lives.
    pub fn on(self, event: &str, handler: impl FnMut(Event) + 'static) -> El {
        on(&self.0, event, handler);
        self
    }

    /// The element, typed as what its tag makes it (`HtmlCanvasElement` for `canvas`).
    pub fn into<T: JsCast>(self) -> T {
        self.0.unchecked_into()
    }
}

impl AsRef<Element> for El {
    fn as_ref(&self) -> &Element {
        &self.0
    }
}

/// Calls `handler` on each `event` at `target` for as long as the page lives (one small
/// closure per listener, kept: the page's elements are never taken away).
pub fn on(target: &EventTarget, event: &str, handler: impl FnMut(Event) + 'static) {
    let callback = Closure::<dyn FnMut(Event)>::new(handler);
    let _ = target.add_event_listener_with_callback(event, callback.as_ref().unchecked_ref());
    callback.forget();
}

/// Runs `f` at the next animation frame.
pub fn next_frame(f: impl FnOnce() + 'static) {
    let callback = Closure::once_into_js(f);
    if let Some(w) = web_sys::window() {
        let _ = w.request_animation_frame(callback.unchecked_ref());
    }
}

/// Runs `f` after `ms` milliseconds.
pub fn after(ms: i32, f: impl FnOnce() + 'static) {
    let callback = Closure::once_into_js(f);
    if let Some(w) = web_sys::window() {
        let _ =
            w.set_timeout_with_callback_and_timeout_and_arguments_0(callback.unchecked_ref(), ms);
    }
}
