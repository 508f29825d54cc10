//! Large layers decoded and projected off the page's thread, in a Web Worker of our own
//! (`src/bin/linli-layers.rs`, built by trunk beside the staff app as
//! `linli-layers_loader.js`).
//!
//! A layer of 100,000 buildings takes about 0.35 s of decoding and projecting; on the
//! page's thread, even in slices, that is 0.35 s in which every frame and keystroke
//! shares the thread. The worker does it on the other core and answers with the
//! features packed ([`crate::map::packed`]), which the page copies out in slices.
//! Small layers (the demo district's) stay on the page: starting the worker (its own
//! Wasm to fetch and compile) would cost them more than it saves.
//!
//! The conversation: the worker says `"ready"` once its Wasm runs; the page sends
//! `[id, layer name, bytes]`; the worker answers `[id, true, packed bytes]` (the buffer
//! transferred, not copied) or `[id, false, why]`. Should the worker fail to start or
//! die, every question waiting on it is refused and [`project`] says so: the caller
//! decodes on the page instead, so the map loads either way.

use crate::map::{layers, packed};
use js_sys::{Array, ArrayBuffer, Function, Promise, Uint8Array};
use linli_domain::place::LayerName;
use std::cell::RefCell;
use std::collections::HashMap;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

/// Where trunk puts the worker's loader (workers' files are not hashed).
const LOADER: &str = "/linli-layers_loader.js";

/// What the worker does with one layer: decode it, project it and pack the features.
fn decode_and_project(layer: LayerName, bytes: &[u8]) -> Result<Vec<u8>, String> {
    let features = linli_domain::compact::decode_as::<Box<serde_json::value::RawValue>>(bytes)
        .map_err(|e| e.to_string())?;
    Ok(if layer == LayerName::Roads {
        packed::pack(&layers::project_lines(features))
    } else {
        packed::pack(&layers::project_areas(features))
    })
}

/// The worker's side: answers the page's questions until the page closes. Called by
/// the worker binary's `main`.
pub fn serve() {
    let scope: web_sys::DedicatedWorkerGlobalScope = js_sys::global().unchecked_into();
    let answering = scope.clone();
    let on_message =
        Closure::<dyn Fn(web_sys::MessageEvent)>::new(move |event: web_sys::MessageEvent| {
            answer(&answering, event.data().unchecked_into())
        });
    scope.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    on_message.forget();
    let _ = scope.post_message(&"ready".into());
}

/// Answers one question, `[id, layer name, bytes]`.
fn answer(scope: &web_sys::DedicatedWorkerGlobalScope, question: Array) {
    let id = question.get(0);
    let layer = question.get(1).as_string();
    let answer = match layer.as_deref().and_then(LayerName::parse) {
        Some(layer) => decode_and_project(layer, &Uint8Array::new(&question.get(2)).to_vec()),
        None => Err("no such layer".to_string()),
    };
    let sent = match answer {
        Ok(bytes) => {
            let buffer = Uint8Array::from(&bytes[..]).buffer();
            scope.post_message_with_transfer(
                &Array::of3(&id, &JsValue::TRUE, &buffer),
                &Array::of1(&buffer),
            )
        }
        Err(why) => scope.post_message(&Array::of3(&id, &JsValue::FALSE, &why.into())),
    };
    if let Err(e) = sent {
        web_sys::console::error_2(&"linli-layers: cannot answer".into(), &e);
    }
}

/// The page's side of one worker, started at the first large layer.
enum Worker {
    NotStarted,
    /// Loading its Wasm: questions wait here until it says it is ready.
    Starting(web_sys::Worker, Vec<Array>),
    Ready(web_sys::Worker),
    /// It could not start, or died: large layers are decoded on the page.
    Failed,
}

/// A question waiting for its answer: the promise's resolve and reject.
struct Waiting {
    resolve: Function,
    reject: Function,
}

thread_local! {
    static WORKER: RefCell<Worker> = const { RefCell::new(Worker::NotStarted) };
    static WAITING: RefCell<(u32, HashMap<u32, Waiting>)> = RefCell::new((0, HashMap::new()));
}

/// Decodes and projects `bytes` (a compact `layer`) in the worker: the features
/// packed. `Err` when the worker cannot do it (it failed to start, died, or refused
/// the bytes): the caller decodes on the page instead.
pub async fn project(layer: LayerName, bytes: &ArrayBuffer) -> Result<Vec<u8>, String> {
    let question_id = WAITING.with_borrow_mut(|(next, _)| {
        *next = next.wrapping_add(1);
        *next
    });
    let mut waiting = None;
    let promise = Promise::new(&mut |resolve, reject| {
        waiting = Some(Waiting { resolve, reject });
    });
    let waiting = waiting.expect("a promise calls its executor at once");
    // The bytes are copied, not transferred: the page keeps them to decode itself
    // should the worker fail.
    let question = Array::of3(&question_id.into(), &layer.as_str().into(), bytes);
    WORKER.with_borrow_mut(|worker| ask(worker, question))?;
    WAITING.with_borrow_mut(|(_, all)| all.insert(question_id, waiting));
    match wasm_bindgen_futures::JsFuture::from(promise).await {
        Ok(buffer) => Ok(Uint8Array::new(&buffer).to_vec()),
        Err(why) => Err(why.as_string().unwrap_or_else(|| format!("{why:?}"))),
    }
}

/// Sends `question` to the worker, starting it if need be.
fn ask(worker: &mut Worker, question: Array) -> Result<(), String> {
    if matches!(worker, Worker::NotStarted) {
        *worker = match start() {
            Ok(started) => Worker::Starting(started, Vec::new()),
            Err(why) => {
                web_sys::console::warn_2(&"linli: no layer worker".into(), &why);
                Worker::Failed
            }
        };
    }
    match worker {
        Worker::Starting(_, queued) => {
            queued.push(question);
            Ok(())
        }
        Worker::Ready(w) => w.post_message(&question).map_err(|e| format!("{e:?}")),
        Worker::Failed | Worker::NotStarted => Err("the layer worker did not start".into()),
    }
}

fn start() -> Result<web_sys::Worker, JsValue> {
    let worker = web_sys::Worker::new(LOADER)?;
    let on_message = Closure::<dyn Fn(web_sys::MessageEvent)>::new(heard);
    worker.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    on_message.forget();
    let on_error = Closure::<dyn Fn(web_sys::Event)>::new(|event: web_sys::Event| {
        event.prevent_default();
        let why = event.dyn_ref::<web_sys::ErrorEvent>().map(|e| e.message());
        fail(why.as_deref().unwrap_or("the layer worker failed"));
    });
    worker.set_onerror(Some(on_error.as_ref().unchecked_ref()));
    on_error.forget();
    // A worker whose Wasm never starts (a failed compile rejects a promise inside the
    // worker, which the page never hears of) must not keep the map waiting.
    let not_ready = Closure::once_into_js(|| {
        if WORKER.with_borrow(|worker| matches!(worker, Worker::Starting(..))) {
            fail("the layer worker did not start in time");
        }
    });
    if let Some(window) = web_sys::window() {
        window.set_timeout_with_callback_and_timeout_and_arguments_0(
            not_ready.unchecked_ref(),
            READY_WITHIN_MS,
        )?;
    }
    Ok(worker)
}

/// How long the worker may take to fetch and start its Wasm.
const READY_WITHIN_MS: i32 = 10_000;

/// Gives up on the worker: stops it and refuses every waiting question (their callers
/// decode on the page), and every later one.
fn fail(why: &str) {
    web_sys::console::warn_1(&format!("linli: {why}; large layers are decoded on the page").into());
    if let Worker::Ready(w) | Worker::Starting(w, _) =
        WORKER.with_borrow_mut(|worker| std::mem::replace(worker, Worker::Failed))
    {
        w.terminate();
    }
    let waiting = WAITING.with_borrow_mut(|(_, all)| std::mem::take(all));
    for (_, w) in waiting {
        let _ = w.reject.call1(&JsValue::NULL, &why.into());
    }
}

/// A message from the worker: that it is ready, or an answer.
fn heard(event: web_sys::MessageEvent) {
    let data = event.data();
    if data.as_string().as_deref() == Some("ready") {
        WORKER.with_borrow_mut(|worker| {
            if let Worker::Starting(w, queued) = std::mem::replace(worker, Worker::Failed) {
                for question in queued {
                    if let Err(e) = w.post_message(&question) {
                        refuse(&question.get(0), &e);
                    }
                }
                *worker = Worker::Ready(w);
            }
        });
        return;
    }
    let answer: Array = data.unchecked_into();
    let Some(waiting) = take_waiting(&answer.get(0)) else {
        return;
    };
    let callback = if answer.get(1).is_truthy() {
        waiting.resolve
    } else {
        waiting.reject
    };
    let _ = callback.call1(&JsValue::NULL, &answer.get(2));
}

fn take_waiting(id: &JsValue) -> Option<Waiting> {
    let id = id.as_f64()? as u32;
    WAITING.with_borrow_mut(|(_, all)| all.remove(&id))
}

/// Refuses the question `id`: its caller decodes on the page.
fn refuse(id: &JsValue, why: &JsValue) {
    if let Some(waiting) = take_waiting(id) {
        let _ = waiting.reject.call1(&JsValue::NULL, why);
    }
}
