//! One frame of the map on its canvas ([`Painter::paint`]): the base map from tiles
//! (or from its picture while the view pans), the still overlays from their picture,
//! the moving ones drawn afresh, and the canvas attributes that the browser tests and
//! `make bench` read. Both pages that show a map use it: the staff faces' Leptos
//! component (`faces::map_view`) and the public page's plain one (`crate::public`).

use super::canvas::{self, BaseDrawn, BasePicture, StillCache, TileCache};
use super::layers::{self, BaseShown};
use super::markers::{self, Placed};
use super::overlays::{Frame, MOVING};
use super::viewport::Viewport;
use linli_domain::alerts::{Alert, AlertState};
use wasm_bindgen::JsCast as _;
use web_sys::HtmlCanvasElement;

/// Attributes of the canvas that the browser tests and `make bench` read: what was
/// drawn, and when. Written when they change, never again on every frame.
#[derive(Debug, Default)]
struct TestHooks(Vec<(&'static str, Option<String>)>);

impl TestHooks {
    fn set(&mut self, canvas: &web_sys::Element, name: &'static str, value: impl ToString) {
        self.write(canvas, name, Some(value.to_string()));
    }

    fn write(&mut self, canvas: &web_sys::Element, name: &'static str, value: Option<String>) {
        let index = match self.0.iter().position(|(n, _)| *n == name) {
            Some(index) => index,
            None => {
                self.0.push((name, None));
                self.0.len() - 1
            }
        };
        if self.0[index].1 == value {
            return;
        }
        let _ = match &value {
            Some(text) => canvas.set_attribute(name, text),
            None => canvas.remove_attribute(name),
        };
        self.0[index].1 = value;
    }
}

/// One number for everything the base tiles depend on.
fn content_stamp(content: impl std::hash::Hash) -> u64 {
    use std::hash::{BuildHasher as _, BuildHasherDefault};
    BuildHasherDefault::<std::collections::hash_map::DefaultHasher>::default().hash_one(content)
}

/// What a painted frame asks of the next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Painted {
    /// Tiles are still missing: draw again next frame.
    pub more: bool,
    /// Open alerts pulse: draw again soon.
    pub pulsing: bool,
}

/// What stays from frame to frame: the base map's tiles and its picture while the
/// view pans, the still overlays' picture, and what was last drawn.
#[derive(Default)]
pub struct Painter {
    tiles: TileCache,
    base: BasePicture,
    still: StillCache,
    /// The view and content that last stood complete.
    completed: Option<(Viewport, u64)>,
    hooks: TestHooks,
}

impl Painter {
    /// Draws `frame` on `canvas`. `data_version` changes whenever a layer of
    /// `frame.data` arrives, and `base` says which base layers show: the tiles depend
    /// on both.
    pub fn paint(
        &mut self,
        canvas: &HtmlCanvasElement,
        frame: &Frame,
        data_version: u64,
        base: BaseShown,
    ) -> Option<Painted> {
        let v = frame.viewport;
        let pixel_ratio = web_sys::window()?.device_pixel_ratio();
        let ctx = canvas::prepare(canvas, v.width, v.height, pixel_ratio)?;
        let background = frame.palette.background;
        let content = content_stamp((data_version, base, pixel_ratio.to_bits()));
        self.tiles.show(content);
        let mut draw_list =
            |view: &Viewport| layers::draw_all(frame.data, view, frame.palette, base);
        let from_picture = self.base.draw(
            &ctx,
            v,
            pixel_ratio,
            &mut self.tiles,
            background,
            &mut draw_list,
        );
        let base_drawn = if from_picture {
            BaseDrawn {
                complete: true,
                more: false,
            }
        } else {
            canvas::clear(&ctx, v.width, v.height, background);
            self.tiles
                .draw_base(&ctx, v, pixel_ratio, background, &mut draw_list)
        };
        crate::timing::measured("linli: overlays drawn", || {
            let still = content_stamp((content, frame.still_inputs()));
            self.still.draw(&ctx, v, pixel_ratio, still, &mut |larger| {
                frame.draw_still(larger)
            });
            canvas::replay(&ctx, &frame.draw(&MOVING));
        });

        let (hooks, d, o) = (&mut self.hooks, frame.data, frame.operations);
        hooks.set(
            canvas,
            "data-base",
            if from_picture { "picture" } else { "tiles" },
        );
        hooks.set(canvas, "data-homes", o.homes.len());
        hooks.set(canvas, "data-alerts", o.alerts.len());
        hooks.set(canvas, "data-cases", o.cases.len());
        hooks.set(canvas, "data-communities", d.communities.len());
        hooks.set(canvas, "data-buildings", d.buildings.len());
        let view = format!("{:.3},{:.3},{:.6}", v.centre.x, v.centre.y, v.resolution);
        hooks.set(canvas, "data-view", view);
        // The moment this view of this content first stood complete (later frames
        // that only fill in tiles behind an identical picture do not count), in ms
        // since navigation, with the Wasm memory then.
        let first_complete = base_drawn.complete && self.completed != Some((*v, content));
        self.completed = base_drawn.complete.then_some((*v, content));
        if first_complete {
            if let Some(performance) = web_sys::window().and_then(|w| w.performance()) {
                hooks.set(canvas, "data-drawn-ms", format!("{:.1}", performance.now()));
            }
            let wasm_bytes = wasm_bindgen::memory()
                .dyn_into::<js_sys::WebAssembly::Memory>()
                .map(|m| {
                    m.buffer()
                        .unchecked_into::<js_sys::ArrayBuffer>()
                        .byte_length()
                });
            if let Ok(bytes) = wasm_bytes {
                hooks.set(canvas, "data-wasm-bytes", bytes);
            }
        } else if !base_drawn.complete {
            hooks.write(canvas, "data-drawn-ms", None);
        }
        let open = |a: &Placed<Alert>| a.item.state == AlertState::Open;
        Some(Painted {
            more: base_drawn.more || self.base.waiting,
            pulsing: o.alerts.iter().any(open),
        })
    }
}

/// Where the rings of open alerts are in their pulse now, 0 to 1.
pub fn pulse_now() -> f64 {
    web_sys::window()
        .and_then(|w| w.performance())
        .map_or(0.0, |p| (p.now() / markers::PULSE_MS).fract())
}
