//! [`MapView`]: the map component, the map engine ([`crate::map`]) put on a page. Loads
//! the layers, keeps the canvas the size of its container, hands mouse, touch and keys
//! to the gesture controller ([`crate::map::gesture`]) and applies the views it
//! answers, redraws at most once per animation frame (the base map from tiles, then
//! [`crate::map::overlays`] in their order), and opens the details of what
//! was clicked or tapped (see [`super::map_panels`]). Staff who may change things
//! report a case by right-clicking or long-pressing the spot.
//!
//! The staff faces' map: it also draws the caller's snapshot (elder homes, open cases
//! and patrol routes). The public page puts the same engine on its page without
//! Leptos (`crate::public`).

use super::map_panels::{staff_actions, FeaturePanel, LayerPanel};
use super::new_case::{NewCaseForm, Spot};
use crate::api;
use crate::i18n::{use_language, Lang, Msg};
use crate::live::use_live;
use crate::map::frame::{self, Painter};
use crate::map::gesture::{
    key_action, wheel_factor, zoom_limited, Gestures, KeyAction, MAX_RESOLUTION,
};
use crate::map::layers::{self, BaseShown, Hit, MapData};
use crate::map::markers::{self, MarkerKind, Operations, Shown};
use crate::map::overlays;
use crate::map::projection::{unproject, Screen};
use crate::map::theme::Theme;
use crate::map::viewport::{follow, Bounds, Follow, Viewport};
use crate::session::use_session;
use leptos::ev::{KeyboardEvent, PointerEvent, WheelEvent};
use leptos::html::{Canvas, Div};
use leptos::prelude::*;
use leptos::task::spawn_local;
use linli_domain::Role;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast as _;

/// Free space around the district when the map fits it, CSS pixels.
const FIT_PADDING_PX: f64 = 24.0;
/// How close the map comes when it flies to an alert, metres per CSS pixel.
const FOCUS_RESOLUTION: f64 = 1.0;
/// Room around the worker and their destination when the map shows both, and the
/// height of the navigation bar over the map's top, CSS pixels.
const NAVIGATION_PADDING_PX: f64 = 60.0;
const NAVIGATION_BAR_PX: f64 = 120.0;
/// The new-case form's width with its margin (`.new-case` in style.css), CSS pixels.
const FORM_WIDTH_PX: f64 = 416.0;
/// How often the rings of open alerts move on while nothing else changes: 20 times a
/// second is smooth for a pulse of [`markers::PULSE_MS`].
const PULSE_FRAME_EVERY: std::time::Duration = std::time::Duration::from_millis(50);
/// A finger held this long without moving asks to report a case there.
const LONG_PRESS_MS: u64 = 600;

#[derive(Debug, Clone, Copy, PartialEq)]
enum Loading {
    Busy,
    Done,
    Failed,
}

/// Centres the view on `target`, close enough to see the building (never farther out).
fn change_view_to(viewport: RwSignal<Option<Viewport>>, target: crate::map::projection::World) {
    viewport.update(|v| {
        if let Some(v) = v {
            let closer = v.resolution.min(FOCUS_RESOLUTION);
            let mut next = *v;
            next.centre = target;
            next.resolution = closer;
            *v = next;
        }
    });
}

/// The map, with the caller's snapshot on it.
///
/// It is made a task after the page around it: the page's first task (the Wasm
/// starting, the page's own views and the requests they start) is the longest of a
/// load, and input waits behind it. `make bench` (100,000 buildings, the then Leptos
/// public page, 2026-12-01): that task was 41-60 ms with the map made in it.
#[component]
pub fn MapView(theme: Theme) -> impl IntoView {
    let made = RwSignal::new(false);
    // (Setting a signal of a map already gone does nothing.)
    set_timeout(move || made.set(true), std::time::Duration::ZERO);
    move || made.get().then(|| view! { <Map theme=theme/> })
}

#[component]
fn Map(theme: Theme) -> impl IntoView {
    let lang = use_language();
    let container = NodeRef::<Div>::new();
    let canvas_ref = NodeRef::<Canvas>::new();
    let data = RwSignal::new(MapData::default());
    let loading = RwSignal::new(Loading::Busy);
    let size = RwSignal::new((0.0_f64, 0.0_f64));
    let viewport = RwSignal::new(None::<Viewport>);
    let selected = RwSignal::new(None::<Hit>);
    let ops = RwSignal::new(Operations::default());
    let base_shown = RwSignal::new(BaseShown::default());
    let shown = RwSignal::new(Shown::default());
    let gestures = StoredValue::new(Gestures::default());
    let creating = RwSignal::new(None::<Spot>);
    let here = crate::here::use_here();
    let may_report = use_session().user().is_some_and(|u| u.role != Role::Viewer);
    // Bumped whenever a layer arrives: the base tiles depend on it. And whenever the
    // operations change: the still overlays' picture depends on them.
    let data_version = StoredValue::new(0_u64);
    let ops_version = StoredValue::new(0_u64);

    // Every layer is asked for at once; each is drawn as soon as it arrives (the
    // small communities layer first fits the view). The map is complete when the
    // last one is in.
    let outstanding = StoredValue::new(crate::base_layers::ALL.len() + 1);
    let arrived = move |what: &str, result: Result<(), api::ApiError>| match result {
        Ok(()) => {
            outstanding.update_value(|n| *n -= 1);
            if outstanding.get_value() == 0 && loading.get_untracked() == Loading::Busy {
                loading.set(Loading::Done);
            }
        }
        Err(e) => {
            leptos::logging::warn!("cannot load {what}: {e:?}");
            loading.set(Loading::Failed);
        }
    };
    for layer in crate::base_layers::ALL {
        // A task of its own rather than a resource: each layer is moved into `data`
        // once (a resource's value is copied out on every read), and the work stops
        // between slices once the map is gone (the user moved on): its values can no
        // longer be read, and nothing is left to show.
        spawn_local(async move {
            match crate::base_layers::load(layer, move || data.is_disposed()).await {
                Ok(Some(loaded)) => {
                    data_version.update_value(|n| *n += 1);
                    data.update(|d| loaded.put(d));
                    arrived(layer.as_str(), Ok(()));
                }
                Ok(None) => {}
                Err(e) => arrived(layer.as_str(), Err(e)),
            }
        });
    }
    // Staff maps draw the face's live view of homes, alerts, cases and routes.
    let live = use_live();
    if let Some(live) = live {
        let counted = StoredValue::new(false);
        Effect::new(move |_| {
            if live.failed.get() {
                arrived(
                    "the snapshot",
                    Err(api::ApiError::Network("snapshot".into())),
                );
            }
            live.snapshot.with(|s| {
                if let Some(s) = s {
                    ops.set(crate::timing::measured(
                        "linli: map markers rebuilt",
                        || Operations::from_snapshot(s).focused(live.map_focus.get()),
                    ));
                    ops_version.update_value(|n| *n += 1);
                    if !counted.get_value() {
                        counted.set_value(true);
                        arrived("the snapshot", Ok(()));
                    }
                }
            });
        });
    }

    // The last view fitted to the whole district: while the map still shows it, a
    // layer arriving or the map changing size fits it again.
    let last_fit = StoredValue::new(None::<Viewport>);
    let fit = move || {
        let (w, h) = size.get_untracked();
        let fitted = data
            .with_untracked(|d| d.extent())
            .map(|e| Viewport::fit(e, w, h, FIT_PADDING_PX));
        if fitted.is_some() {
            last_fit.set_value(fitted);
            viewport.set(fitted);
        }
    };
    let measure = move || {
        if let Some(el) = container.get_untracked() {
            let rect = el.get_bounding_client_rect();
            size.set((rect.width(), rect.height()));
        }
    };
    // Fly to where the face points: a clicked alert, a new critical one; not while a
    // hand holds the map (the banner still tells of the alert).
    if let Some(live) = live {
        Effect::new(move |_| {
            let Some(position) = live.focus.get() else {
                return;
            };
            if gestures.with_value(Gestures::holding) {
                return;
            }
            let target = crate::map::projection::project(position.into());
            change_view_to(viewport, target);
        });
    }
    // On the way somewhere: show the worker and the destination together (just the
    // destination while the device does not know where it is).
    if let Some(here) = here {
        Effect::new(move |_| {
            let Some(to) = here.destination.get() else {
                return;
            };
            let target = crate::map::projection::project(to.position.into());
            let from = here.fix.with_untracked(|f| {
                f.as_ref()
                    .map(|f| crate::map::projection::project(f.position.into()))
            });
            let (w, h) = size.get_untracked();
            match from.and_then(|from| Bounds::around([from, target])) {
                Some(both) => {
                    // Fitted into the map below the bar, then made the map's size again.
                    let mut fitted =
                        Viewport::fit(both, w, h - NAVIGATION_BAR_PX, NAVIGATION_PADDING_PX);
                    fitted.resolution = fitted.resolution.clamp(FOCUS_RESOLUTION, MAX_RESOLUTION);
                    fitted.centre.y += NAVIGATION_BAR_PX / 2.0 * fitted.resolution;
                    viewport.set(Some(fitted.with_size(w, h)));
                }
                None => change_view_to(viewport, target),
            }
        });
    }
    // Open the case the face asks for (a list row, a case just reported).
    if let Some(live) = live {
        Effect::new(move |_| {
            let Some(id) = live.open_case.get() else {
                return;
            };
            let case = live.snapshot.with_untracked(|s| {
                s.as_ref()
                    .and_then(|s| s.cases.iter().find(|c| c.id == id).cloned())
            });
            if let Some(case) = case {
                creating.set(None);
                selected.set(Some(Hit::Case(case)));
            }
            live.open_case.set(None);
        });
    }
    // The container can change size without the window doing so (a panel or table
    // appearing beside the map), so watch the container itself.
    Effect::new(move |_| {
        let Some(el) = container.get() else { return };
        measure();
        // One small closure per mounted map, kept for the page's life; the observer
        // is disconnected when the map goes, so it is never called after that.
        let callback = Closure::<dyn Fn()>::new(measure);
        if let Ok(watch) = web_sys::ResizeObserver::new(callback.as_ref().unchecked_ref()) {
            watch.observe(&el);
            on_cleanup(move || watch.disconnect());
        }
        callback.forget();
    });

    // The view follows the container's size and the data (`viewport::follow`).
    Effect::new(move |_| {
        let (w, h) = size.get();
        let has_data = data.with(|d| d.extent().is_some());
        let current = viewport.get_untracked();
        match follow(current, last_fit.get_value(), (w, h), has_data) {
            Follow::Fit => fit(),
            Follow::Resize(v) => viewport.set(Some(v)),
            Follow::Stay => {}
        }
    });

    // Redraw once per animation frame with whatever is current then. The base map
    // comes from tiles kept between frames; when some are still missing, the frame
    // shows stand-ins and asks for another frame.
    let painter = StoredValue::new_local(Painter::default());
    let frame_pending = StoredValue::new(false);
    let unfinished = RwSignal::new(0_u64);
    let pulse_due = StoredValue::new(false);
    let draw = move || {
        // A frame asked for just before the map went (another face chosen): nothing to
        // draw, and its values can no longer be read.
        if data.is_disposed() {
            return;
        }
        frame_pending.set_value(false);
        let (Some(canvas), Some(v)) = (canvas_ref.get_untracked(), viewport.get_untracked()) else {
            return;
        };
        let palette = theme.palette();
        let on_screen = |p: [f64; 2]| v.to_screen(crate::map::projection::project(p.into()));
        let painted = data.with_untracked(|d| {
            ops.with_untracked(|o| {
                let frame = overlays::Frame {
                    data: d,
                    viewport: &v,
                    palette: &palette,
                    chinese: lang.0.get_untracked() == Lang::Zh,
                    operations: o,
                    operations_version: ops_version.get_value(),
                    shown: shown.get_untracked(),
                    pulse: frame::pulse_now(),
                    public_areas: &[],
                    report_pin: creating
                        .with_untracked(|s| s.as_ref().map(|s| on_screen(s.position))),
                    here: here.and_then(|h| {
                        h.fix
                            .with_untracked(|f| f.as_ref().map(|f| on_screen(f.position)))
                    }),
                    destination: here.and_then(|h| {
                        h.destination
                            .with_untracked(|d| d.as_ref().map(|d| on_screen(d.position)))
                    }),
                };
                painter
                    .try_update_value(|p| {
                        p.paint(
                            &canvas,
                            &frame,
                            data_version.get_value(),
                            base_shown.get_untracked(),
                        )
                    })
                    .flatten()
            })
        });
        let Some(painted) = painted else {
            return;
        };
        // Tiles still missing: draw again next frame. Open alerts pulse: draw again
        // soon, at a rate a ring needs (every frame is a full canvas for the browser
        // to take: `make bench` found that costs more than the drawing).
        if painted.more {
            unfinished.update(|n| *n += 1);
        } else if painted.pulsing && !pulse_due.get_value() {
            pulse_due.set_value(true);
            set_timeout(
                // (The map may be gone by then: nothing to do.)
                move || {
                    pulse_due.try_update_value(|due| *due = false);
                    unfinished.try_update(|n| *n += 1);
                },
                PULSE_FRAME_EVERY,
            );
        }
    };
    Effect::new(move |_| {
        viewport.track();
        data.track();
        ops.track();
        base_shown.track();
        shown.track();
        lang.0.track();
        unfinished.track();
        creating.track();
        if let Some(here) = here {
            here.fix.track();
            here.destination.track();
        }
        if !frame_pending.get_value() {
            frame_pending.set_value(true);
            request_animation_frame(move || crate::timing::measured("linli: map drawn", draw));
        }
    });

    let local = move |x: f64, y: f64| {
        canvas_ref.get_untracked().map(|c| {
            let r = c.get_bounding_client_rect();
            Screen {
                x: x - r.left(),
                y: y - r.top(),
            }
        })
    };
    let change_view = move |f: &dyn Fn(Viewport) -> Viewport| viewport.update(|v| *v = v.map(f));

    // The spot at `world`: where it is, and the community and building there.
    let spot_at = move |world: crate::map::projection::World, patrol_run: Option<i64>| {
        let lon_lat = unproject(world);
        let round = |degrees: f64| (degrees * 1e6).round() / 1e6;
        let chinese = lang.0.get_untracked() == Lang::Zh;
        data.with_untracked(|d| Spot {
            position: [round(lon_lat.lon), round(lon_lat.lat)],
            community: layers::community_at(d, world).map(|c| {
                let name = if chinese { &c.name } else { &c.name_en };
                (c.id.clone(), name.clone().unwrap_or_else(|| c.id.clone()))
            }),
            building: layers::building_at(d, world)
                .map(|b| (b.id.clone(), b.name.clone().unwrap_or_else(|| b.id.clone()))),
            patrol_run,
        })
    };
    // A face asks for a report at a point (a patrol's "report a problem here").
    if let Some(live) = live {
        Effect::new(move |_| {
            let Some(report) = live.report_at.get() else {
                return;
            };
            live.report_at.set(None);
            let world = crate::map::projection::project(report.position.into());
            selected.set(None);
            creating.set(Some(spot_at(world, report.patrol_run)));
            if !here.is_some_and(|h| h.follow.get_untracked()) {
                change_view_to(viewport, world);
            }
        });
    }
    // Following the worker: each new position of the device is the map's middle.
    if let Some(here) = here {
        Effect::new(move |_| {
            if !here.follow.get() || here.destination.with(Option::is_some) {
                return;
            }
            if let Some(position) = here.position() {
                change_view_to(viewport, crate::map::projection::project(position.into()));
            }
        });
    }
    let start_report = move |at: Screen| {
        if let Some(v) = viewport.get_untracked() {
            selected.set(None);
            creating.set(Some(spot_at(v.to_world(at), None)));
            // On a wide map, slide the spot out from under the form.
            if v.width > 2.0 * FORM_WIDTH_PX && at.x < FORM_WIDTH_PX {
                change_view(&|v| v.panned_by((v.width + FORM_WIDTH_PX) / 2.0 - at.x, 0.0));
            }
        }
    };
    let on_context_menu = move |ev: leptos::ev::MouseEvent| {
        if !may_report {
            return;
        }
        ev.prevent_default();
        if let Some(at) = local(f64::from(ev.client_x()), f64::from(ev.client_y())) {
            start_report(at);
        }
    };

    let on_pointer_down = move |ev: PointerEvent| {
        // Only the main button drags and clicks; the right one reports a case.
        if ev.button() != 0 {
            return;
        }
        let Some(at) = local(f64::from(ev.client_x()), f64::from(ev.client_y())) else {
            return;
        };
        if let Some(c) = canvas_ref.get_untracked() {
            let _ = c.set_pointer_capture(ev.pointer_id());
            // Focus for the arrow keys, without scrolling the page under the finger.
            let options = web_sys::FocusOptions::new();
            options.set_prevent_scroll(true);
            let _ = c.focus_with_options(&options);
        }
        let press = gestures
            .try_update_value(|g| g.press(ev.pointer_id(), at))
            .flatten();
        // A finger held still on the map reports a case there (a mouse right-clicks).
        if let (Some(press), true) = (press, may_report && ev.pointer_type() != "mouse") {
            set_timeout(
                move || {
                    if let Some(at) = gestures.try_update_value(|g| g.held(press)).flatten() {
                        start_report(at);
                    }
                },
                std::time::Duration::from_millis(LONG_PRESS_MS),
            );
        }
    };
    let on_pointer_move = move |ev: PointerEvent| {
        let Some(at) = local(f64::from(ev.client_x()), f64::from(ev.client_y())) else {
            return;
        };
        let Some(step) = gestures
            .try_update_value(|g| g.drag(ev.pointer_id(), at))
            .flatten()
        else {
            return;
        };
        // Moving the map by hand lets the worker walk off it again.
        if gestures.with_value(Gestures::dragged) {
            if let Some(here) = here {
                here.follow.set(false);
            }
        }
        change_view(&|v| step.apply(v));
    };
    // A click or tap: a cluster zooms in, a marker or feature opens its details.
    let open_at = move |at: Screen, v: Viewport| {
        let found = ops.with_untracked(|o| {
            let marker = markers::marker_at(o, &v, shown.get_untracked(), at)?;
            Some(match marker.kind {
                MarkerKind::HomeCluster { .. } | MarkerKind::CaseCluster { .. } => Err(marker.at),
                MarkerKind::Home(i) => {
                    let home = o.homes[i].item.clone();
                    let building = data.with_untracked(|d| {
                        d.buildings
                            .iter()
                            .find(|b| b.id == home.building)
                            .and_then(|b| b.name.clone())
                    });
                    Ok(Hit::Home(home, building))
                }
                MarkerKind::Case(i) => Ok(Hit::Case(o.cases[i].item.clone())),
                MarkerKind::Checkpoint(r, c) => {
                    let route = &o.routes[r].properties;
                    let passed = o
                        .units
                        .iter()
                        .find(|u| u.item.route == route.id)
                        .and_then(|u| {
                            let id = &route.checkpoints.get(c)?.id;
                            let covered = u.item.covered.iter().find(|d| &d.checkpoint == id)?;
                            Some(covered.at)
                        });
                    Ok(Hit::Checkpoint(route.clone(), c, passed))
                }
                MarkerKind::Unit(i) => {
                    let run = o.units[i].item.clone();
                    let route = o
                        .routes
                        .iter()
                        .find(|r| r.properties.id == run.route)
                        .map(|r| r.properties.clone());
                    Ok(Hit::Unit(run, route))
                }
            })
        });
        match found {
            Some(Err(cluster)) => change_view(&|v| zoom_limited(v, 3.0, cluster)),
            Some(Ok(hit)) => selected.set(Some(hit)),
            None => selected.set(
                data.with_untracked(|d| layers::hit_test(d, &v, at, base_shown.get_untracked())),
            ),
        }
    };
    let on_pointer_up = move |ev: PointerEvent| {
        let click = gestures
            .try_update_value(|g| g.lift(ev.pointer_id()))
            .flatten();
        if let (Some(at), Some(v)) = (click, viewport.get_untracked()) {
            open_at(at, v);
        }
    };
    let on_pointer_cancel = move |ev: PointerEvent| {
        gestures.update_value(|g| g.cancel(ev.pointer_id()));
    };
    // The browser turns a lifted finger into a click where it lifts, which after a long
    // press would land on the form that just opened under it.
    let on_touch_end = move |ev: leptos::ev::TouchEvent| {
        if gestures
            .try_update_value(Gestures::take_long_pressed)
            .unwrap_or(false)
        {
            ev.prevent_default();
        }
    };
    let on_wheel = move |ev: WheelEvent| {
        ev.prevent_default();
        let Some(at) = local(f64::from(ev.client_x()), f64::from(ev.client_y())) else {
            return;
        };
        let factor = wheel_factor(ev.delta_y(), ev.delta_mode());
        change_view(&|v| zoom_limited(v, factor, at));
    };
    let on_double_click = move |ev: leptos::ev::MouseEvent| {
        if let Some(at) = local(f64::from(ev.client_x()), f64::from(ev.client_y())) {
            change_view(&|v| zoom_limited(v, 2.0, at));
        }
    };
    let centre = move || {
        viewport.get_untracked().map(|v| Screen {
            x: v.width / 2.0,
            y: v.height / 2.0,
        })
    };
    let zoom_by = move |factor: f64| {
        if let Some(c) = centre() {
            change_view(&|v| zoom_limited(v, factor, c));
        }
    };
    let on_key = move |ev: KeyboardEvent| {
        let Some(action) = key_action(&ev.key()) else {
            return;
        };
        ev.prevent_default();
        match action {
            KeyAction::Pan(dx, dy) => {
                if let Some(here) = here {
                    here.follow.set(false);
                }
                change_view(&|v| v.panned_by(dx, dy));
            }
            KeyAction::Zoom(factor) => zoom_by(factor),
            KeyAction::Fit => fit(),
            KeyAction::Close => selected.set(None),
        }
    };

    let status = move || match loading.get() {
        Loading::Busy => Some(lang.t(Msg::MapLoading)),
        Loading::Failed => Some(lang.t(Msg::MapFailed)),
        Loading::Done => None,
    };
    view! {
        <div class="map" node_ref=container>
            <canvas id="map" node_ref=canvas_ref tabindex="0" role="img"
                aria-label=lang.text(Msg::MapLabel)
                on:pointerdown=on_pointer_down
                on:pointermove=on_pointer_move
                on:pointerup=on_pointer_up
                on:pointercancel=on_pointer_cancel
                on:wheel=on_wheel
                on:dblclick=on_double_click
                on:contextmenu=on_context_menu
                on:touchend=on_touch_end
                on:keydown=on_key></canvas>
            <LayerPanel base_shown=base_shown shown=shown/>
            <div class="map-controls">
                <button data-test="zoom-in" title=lang.text(Msg::ZoomIn) on:click=move |_| zoom_by(2.0)>"+"</button>
                <button data-test="zoom-out" title=lang.text(Msg::ZoomOut) on:click=move |_| zoom_by(0.5)>"−"</button>
                <button data-test="fit" title=lang.text(Msg::FitDistrict) on:click=move |_| fit()>"⤢"</button>
                {here.map(|here| view! {
                    <button data-test="follow-me" class:on=move || here.follow.get()
                        aria-pressed=move || here.follow.get().to_string()
                        title=lang.text(Msg::FollowMe)
                        on:click=move |_| here.follow.update(|f| *f = !*f)>"◎"</button>
                })}
            </div>
            {move || status().map(|text| view! { <p class="map-status">{text}</p> })}
            {move || selected.get().map(|hit| {
                let actions = staff_actions(&hit);
                view! { <FeaturePanel hit=hit actions=actions communities=data.with_untracked(|d| d.communities.clone()) on_close=move || selected.set(None)/> }
            })}
            {move || creating.get().map(|spot| view! {
                <NewCaseForm spot=spot on_close=move || creating.set(None)/>
            })}
        </div>
    }
}
