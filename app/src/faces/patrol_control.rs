//! Setting out on a patrol from the tablet: choose one of your routes, start, and the
//! tablet shares where it is (the browser's geolocation) while the run lasts: at most
//! every [`SHARE_EVERY_MS`], through the outbox, so positions taken without a signal
//! arrive later with their own times. Ending the run stops the sharing.

use crate::api;
use crate::i18n::{use_language, Msg};
use crate::live::{use_live, Live};
use crate::outbox::{self, use_outbox, Outbox, Pending};
use crate::session::use_session;
use leptos::prelude::*;
use leptos::task::spawn_local;
use linli_domain::{Role, SessionInfo};
use serde_json::json;
use std::cell::RefCell;
use std::rc::Rc;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast as _;

/// The least time between two positions sent.
const SHARE_EVERY_MS: f64 = 10_000.0;

/// The routes `user` may walk: their communities' and the district's own.
fn my_routes(live: Live, user: &SessionInfo) -> Vec<(String, String)> {
    live.snapshot.with(|s| {
        s.as_ref()
            .map(|s| {
                s.routes
                    .features
                    .iter()
                    .map(|f| &f.properties)
                    .filter(|r| {
                        user.role == Role::Commander
                            || r.community.as_deref().is_none_or(|c| {
                                user.communities.iter().any(|mine| mine.as_str() == c)
                            })
                    })
                    .map(|r| (r.id.clone(), r.name.clone()))
                    .collect()
            })
            .unwrap_or_default()
    })
}

/// Sends one position of `unit`, taken `at`, through the outbox.
fn send_position(live: Live, outbox: Option<Outbox>, unit: &str, position: [f64; 2], at: String) {
    let pending = Pending {
        label: format!("{unit} @ {at}"),
        url: format!("/api/v1/patrols/units/{unit}/position"),
        body: json!({"position": position, "at": at}),
        event: Some("patrol.position".into()),
    };
    spawn_local(async move {
        if let Err(e) = outbox::send(outbox, live, pending).await {
            leptos::logging::warn!("position refused: {}", outbox::refusal_message(&e));
        }
    });
}

/// Follows the device's position and sends it for `unit`, at most every
/// [`SHARE_EVERY_MS`]: a position that comes sooner waits, and the newest waiting one
/// goes when the time is up (so the last place the unit reached is never lost). The
/// sharing, to stop it.
fn share_position(live: Live, outbox: Option<Outbox>, unit: String) -> Option<Sharing> {
    let geolocation = window().navigator().geolocation().ok()?;
    // Plain shared state, not signals: this is called from an effect, whose reactive
    // values go away each time it runs again.
    let state = Rc::new(RefCell::new(ShareState {
        last_sent: f64::NEG_INFINITY,
        waiting: None,
        planned: false,
    }));
    let send_waiting = {
        let state = Rc::clone(&state);
        move || {
            let mut s = state.borrow_mut();
            s.planned = false;
            if let Some((position, at)) = s.waiting.take() {
                s.last_sent = js_sys::Date::now();
                send_position(live, outbox, &unit, position, at);
            }
        }
    };
    let on_position = Closure::<dyn Fn(web_sys::Position)>::new(move |p: web_sys::Position| {
        let coords = p.coords();
        let at = js_sys::Date::new_0()
            .to_iso_string()
            .as_string()
            .unwrap_or_default();
        let wait = {
            let mut s = state.borrow_mut();
            s.waiting = Some(([coords.longitude(), coords.latitude()], at));
            let wait = s.last_sent + SHARE_EVERY_MS - js_sys::Date::now();
            if wait > 0.0 && s.planned {
                return;
            }
            s.planned = wait > 0.0;
            wait
        };
        if wait <= 0.0 {
            send_waiting();
        } else {
            let later = send_waiting.clone();
            set_timeout(later, std::time::Duration::from_millis(wait as u64));
        }
    });
    let callback: js_sys::Function = on_position
        .as_ref()
        .unchecked_ref::<js_sys::Function>()
        .clone();
    let watch = geolocation.watch_position(&callback).ok()?;
    // A device standing still may report nothing: ask anyway, so that a unit busy at a
    // checkpoint is not taken for a silent one.
    let timer = set_interval_with_handle(
        move || {
            if let Ok(g) = window().navigator().geolocation() {
                let _ = g.get_current_position(&callback);
            }
        },
        std::time::Duration::from_millis(SHARE_EVERY_MS as u64),
    )
    .ok();
    // Kept for the page's life: the watch and the timer, not the closure, are stopped
    // when the run ends.
    on_position.forget();
    Some(Sharing { watch, timer })
}

/// What the sharing remembers between positions.
struct ShareState {
    last_sent: f64,
    /// The newest position not sent yet, with its time.
    waiting: Option<([f64; 2], String)>,
    /// A send is planned for when the interval is up.
    planned: bool,
}

/// Position sharing under way.
#[derive(Debug, Clone, Copy)]
struct Sharing {
    watch: i32,
    timer: Option<IntervalHandle>,
}

impl Sharing {
    fn stop(self) {
        if let Ok(g) = window().navigator().geolocation() {
            g.clear_watch(self.watch);
        }
        if let Some(timer) = self.timer {
            timer.clear();
        }
    }
}

#[component]
pub fn PatrolControl() -> impl IntoView {
    let lang = use_language();
    let (Some(live), Some(user)) = (use_live(), use_session().user()) else {
        return ().into_any();
    };
    if user.role == Role::Viewer {
        return ().into_any();
    }
    let outbox = use_outbox();
    let unit = user.username.to_string();
    let routes = {
        let user = user.clone();
        Memo::new(move |_| my_routes(live, &user))
    };
    let chosen = RwSignal::new(None::<String>);
    let error = RwSignal::new(None::<String>);
    let sharing = StoredValue::new(None::<Sharing>);
    let my_run = {
        let unit = unit.clone();
        Memo::new(move |_| {
            live.snapshot.with(|s| {
                s.as_ref().and_then(|s| {
                    s.units
                        .iter()
                        .find(|u| u.unit == unit && u.ended_at.is_none())
                        .cloned()
                })
            })
        })
    };
    // Share the position while a run of this unit is on, whoever started it.
    {
        let unit = unit.clone();
        Effect::new(move |_| {
            let out = my_run.with(Option::is_some);
            match (out, sharing.get_value()) {
                (true, None) => sharing.set_value(share_position(live, outbox, unit.clone())),
                (false, Some(on)) => {
                    on.stop();
                    sharing.set_value(None);
                }
                _ => {}
            }
        });
    }
    on_cleanup(move || {
        if let Some(on) = sharing.get_value() {
            on.stop();
        }
    });
    let start = {
        let unit = unit.clone();
        move |_| {
            let Some(route) = chosen
                .get_untracked()
                .or_else(|| routes.with_untracked(|r| r.first().map(|(id, _)| id.clone())))
            else {
                return;
            };
            let unit = unit.clone();
            spawn_local(async move {
                let url = format!("/api/v1/patrols/units/{unit}/run");
                match api::post_json(&url, &json!({"route": route})).await {
                    Ok(run) => {
                        error.set(None);
                        live.show_change("patrol.run", &run);
                    }
                    Err(e) => error.set(Some(outbox::refusal_message(&e))),
                }
            });
        }
    };
    let end = move |_| {
        let unit = unit.clone();
        spawn_local(async move {
            match api::end_run(&unit).await {
                Ok(run) => {
                    error.set(None);
                    live.show_change("patrol.run", &run);
                }
                Err(e) => error.set(Some(outbox::refusal_message(&e))),
            }
        });
    };
    view! {
        <div class="patrol-control" data-test="patrol-control">
            {move || match my_run.get() {
                None => view! {
                    <label>{move || lang.t(Msg::Route)}
                        <select data-test="patrol-route" on:change=move |ev| chosen.set(Some(event_target_value(&ev)))>
                            {routes.get().into_iter().map(|(id, name)| view! { <option value=id>{name}</option> }).collect_view()}
                        </select>
                    </label>
                    <button class="primary" data-test="patrol-start" on:click=start.clone()>{move || lang.t(Msg::StartPatrol)}</button>
                }.into_any(),
                Some(run) => view! {
                    <p class="sharing" data-test="patrol-sharing">
                        {move || lang.t(Msg::SharingPosition)}" · "{move || lang.t(Msg::Coverage)}" "
                        {run.covered.len()}" / "{run.checkpoints}
                    </p>
                    <button class="primary" data-test="patrol-end" on:click=end.clone()>{move || lang.t(Msg::EndPatrol)}</button>
                }.into_any(),
            }}
            {move || error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
        </div>
    }
    .into_any()
}
