//! The gesture controller: pointers, wheel and keys in, changes of the view out.
//!
//! Plain Rust, tested natively: [`Gestures`] remembers the pointers pressed on the map
//! and turns each event into what the map should do (pan and zoom by a [`Move`], open
//! what was clicked, ask to report at a long-pressed spot); [`key_action`] and
//! [`wheel_factor`] read the keyboard and the wheel. The component in
//! `faces::map_view` only converts browser events into these calls and applies the
//! answers.

use super::projection::Screen;
use super::viewport::Viewport;
use std::collections::HashMap;

/// Zoom limits, metres per CSS pixel: from a doorway to a whole city.
pub const MIN_RESOLUTION: f64 = 0.05;
pub const MAX_RESOLUTION: f64 = 60.0;
/// A press that moves less than this is a click or tap, not a drag.
pub const CLICK_SLOP_PX: f64 = 6.0;
/// How far the arrow keys move the map.
pub const KEY_PAN_PX: f64 = 80.0;

/// Zooms `v` by `factor` around `at`, within the zoom limits.
pub fn zoom_limited(v: Viewport, factor: f64, at: Screen) -> Viewport {
    let target = (v.resolution / factor).clamp(MIN_RESOLUTION, MAX_RESOLUTION);
    v.zoomed_at(v.resolution / target, at)
}

/// A change of view made by hand: pan by `(dx, dy)` CSS pixels, then zoom by `factor`
/// around `around`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Move {
    pub dx: f64,
    pub dy: f64,
    pub factor: f64,
    pub around: Screen,
}

impl Move {
    pub fn apply(self, v: Viewport) -> Viewport {
        zoom_limited(v.panned_by(self.dx, self.dy), self.factor, self.around)
    }
}

/// The pointers currently pressed on the map, by pointer id, and where the press began.
#[derive(Debug, Default)]
pub struct Gestures {
    pointers: HashMap<i32, Screen>,
    start: Option<Screen>,
    /// How far the pointers travelled since the press began, CSS pixels.
    moved: f64,
    /// Counts presses, so a long-press timer knows whether its press still lasts.
    presses: u32,
    /// The press still down turned into a long press: its lifting must not click.
    long_pressed: bool,
}

impl Gestures {
    /// A pointer went down at `at`. The first of a press answers the press's number,
    /// for [`Gestures::held`] after the long-press time.
    pub fn press(&mut self, pointer: i32, at: Screen) -> Option<u32> {
        let first = self.pointers.is_empty();
        if first {
            self.start = Some(at);
            self.moved = 0.0;
            self.presses = self.presses.wrapping_add(1);
        }
        self.pointers.insert(pointer, at);
        first.then_some(self.presses)
    }

    /// A pressed pointer moved to `at`: one pointer drags; with a second, their
    /// midpoint pans and their spread zooms around it. `None` for a pointer not pressed.
    pub fn drag(&mut self, pointer: i32, at: Screen) -> Option<Move> {
        // A mouse moving over the map without a button down is no drag.
        let before = *self.pointers.get(&pointer)?;
        self.pointers.insert(pointer, at);
        self.moved += distance(before, at);
        let other = self
            .pointers
            .iter()
            .find(|(id, _)| **id != pointer)
            .map(|(_, p)| *p);
        Some(match other {
            None => Move {
                dx: at.x - before.x,
                dy: at.y - before.y,
                factor: 1.0,
                around: at,
            },
            Some(other) => {
                let mid = |a: Screen| Screen {
                    x: (a.x + other.x) / 2.0,
                    y: (a.y + other.y) / 2.0,
                };
                let (m0, m1) = (mid(before), mid(at));
                Move {
                    dx: m1.x - m0.x,
                    dy: m1.y - m0.y,
                    factor: distance(at, other).max(1.0) / distance(before, other).max(1.0),
                    around: m1,
                }
            }
        })
    }

    /// Whether a hand is on the map now (a pointer pressed): the map then goes where
    /// the hand moves it, not where an alert would send it.
    pub fn holding(&self) -> bool {
        !self.pointers.is_empty()
    }

    /// Whether this press moved the map rather than clicking it.
    pub fn dragged(&self) -> bool {
        self.moved >= CLICK_SLOP_PX
    }

    /// A pointer came up: where the press began, when that was a click or tap (the
    /// last pointer up, hardly moved).
    pub fn lift(&mut self, pointer: i32) -> Option<Screen> {
        let pressed = self.pointers.remove(&pointer).is_some();
        (pressed && self.pointers.is_empty() && !self.dragged())
            .then_some(self.start)
            .flatten()
    }

    /// The browser took the pointer away (a scroll, a system gesture): no click.
    pub fn cancel(&mut self, pointer: i32) {
        self.pointers.remove(&pointer);
        self.moved = f64::INFINITY;
    }

    /// The long-press time of press `press` has passed: where it was held, when it is
    /// still that press, one finger, hardly moved. Its lifting then clicks nothing.
    pub fn held(&mut self, press: u32) -> Option<Screen> {
        let still = self.presses == press && self.pointers.len() == 1 && !self.dragged();
        if !still {
            return None;
        }
        self.moved = f64::INFINITY;
        self.long_pressed = true;
        self.start
    }

    /// Whether the finger just lifted ended a long press (once).
    pub fn take_long_pressed(&mut self) -> bool {
        std::mem::take(&mut self.long_pressed)
    }
}

fn distance(a: Screen, b: Screen) -> f64 {
    ((a.x - b.x).powi(2) + (a.y - b.y).powi(2)).sqrt()
}

/// What a key pressed on the map does.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum KeyAction {
    /// Move the map by `(dx, dy)` CSS pixels (the arrows).
    Pan(f64, f64),
    /// Zoom around the middle by a factor (`+`, `-`).
    Zoom(f64),
    /// Show the whole district (`0`).
    Fit,
    /// Close what is open (`Escape`).
    Close,
}

/// The map's keys; other keys are left to the page.
pub fn key_action(key: &str) -> Option<KeyAction> {
    Some(match key {
        "ArrowLeft" => KeyAction::Pan(KEY_PAN_PX, 0.0),
        "ArrowRight" => KeyAction::Pan(-KEY_PAN_PX, 0.0),
        "ArrowUp" => KeyAction::Pan(0.0, KEY_PAN_PX),
        "ArrowDown" => KeyAction::Pan(0.0, -KEY_PAN_PX),
        "+" | "=" => KeyAction::Zoom(2.0),
        "-" | "_" => KeyAction::Zoom(0.5),
        "0" => KeyAction::Fit,
        "Escape" => KeyAction::Close,
        _ => return None,
    })
}

/// The zoom factor of one wheel event: `delta_y` in pixels, lines or pages
/// (`delta_mode` 0, 1, 2; Firefox sends lines).
pub fn wheel_factor(delta_y: f64, delta_mode: u32) -> f64 {
    let pixels = delta_y * [1.0, 16.0, 400.0][delta_mode.min(2) as usize];
    (-pixels * 0.002).exp()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(x: f64, y: f64) -> Screen {
        Screen { x, y }
    }

    #[test]
    fn a_press_that_hardly_moves_clicks_where_it_began_and_a_drag_does_not() {
        let mut g = Gestures::default();
        assert!(!g.holding());
        assert_eq!(g.press(1, at(100.0, 100.0)), Some(1));
        assert!(g.holding());
        assert!(g.drag(1, at(103.0, 102.0)).is_some());
        assert_eq!(g.lift(1), Some(at(100.0, 100.0)));
        assert!(!g.holding());

        assert_eq!(g.press(1, at(100.0, 100.0)), Some(2));
        let moved = g.drag(1, at(130.0, 90.0)).unwrap();
        assert_eq!((moved.dx, moved.dy, moved.factor), (30.0, -10.0, 1.0));
        assert!(g.dragged());
        assert_eq!(g.lift(1), None);
        // A pointer never pressed (a mouse hovering) moves nothing, lifts to nothing,
        // and leaves the next click a click.
        assert_eq!(g.drag(7, at(1.0, 1.0)), None);
        assert_eq!(g.lift(7), None);
        assert_eq!(g.drag(7, at(1.0, 1.0)), None);
        assert_eq!(g.press(7, at(5.0, 5.0)), Some(3), "a press of its own");
        assert_eq!(g.lift(7), Some(at(5.0, 5.0)));
    }

    #[test]
    fn two_fingers_pan_by_their_midpoint_and_zoom_by_their_spread() {
        let mut g = Gestures::default();
        g.press(1, at(100.0, 100.0));
        assert_eq!(g.press(2, at(200.0, 100.0)), None, "the same press");
        let pinch = g.drag(2, at(300.0, 100.0)).unwrap();
        // Midpoint from 150 to 200; spread from 100 to 200.
        assert_eq!((pinch.dx, pinch.dy, pinch.factor), (50.0, 0.0, 2.0));
        assert_eq!(pinch.around, at(200.0, 100.0));
        assert_eq!(g.lift(2), None, "one finger still down");
        assert_eq!(g.lift(1), None, "a pinch is no tap");
    }

    #[test]
    fn a_long_press_reports_once_and_its_lifting_clicks_nothing() {
        let mut g = Gestures::default();
        let press = g.press(1, at(50.0, 60.0)).unwrap();
        assert_eq!(g.held(press), Some(at(50.0, 60.0)));
        assert_eq!(g.held(press), None, "only once");
        assert_eq!(g.lift(1), None);
        assert!(g.take_long_pressed());
        assert!(!g.take_long_pressed());

        // A timer of an earlier press, or of a press that dragged or pinched, is late.
        let earlier = g.press(1, at(0.0, 0.0)).unwrap();
        g.lift(1);
        g.press(1, at(0.0, 0.0));
        assert_eq!(g.held(earlier), None);
        g.lift(1);
        let dragged = g.press(1, at(0.0, 0.0)).unwrap();
        g.drag(1, at(20.0, 0.0));
        assert_eq!(g.held(dragged), None);
        g.lift(1);
        let pinched = g.press(1, at(0.0, 0.0)).unwrap();
        g.press(2, at(10.0, 0.0));
        assert_eq!(g.held(pinched), None);
    }

    #[test]
    fn a_cancelled_pointer_clicks_nothing() {
        let mut g = Gestures::default();
        g.press(1, at(10.0, 10.0));
        g.cancel(1);
        g.press(1, at(10.0, 10.0));
        // A new press starts afresh.
        assert_eq!(g.lift(1), Some(at(10.0, 10.0)));
        g.press(1, at(10.0, 10.0));
        g.cancel(1);
        assert_eq!(g.lift(1), None);
    }

    #[test]
    fn zoom_stays_within_a_doorway_and_a_city() {
        let v = Viewport {
            centre: crate::map::projection::World { x: 0.0, y: 0.0 },
            resolution: 1.0,
            width: 800.0,
            height: 600.0,
        };
        let middle = at(400.0, 300.0);
        assert_eq!(zoom_limited(v, 1e6, middle).resolution, MIN_RESOLUTION);
        assert_eq!(zoom_limited(v, 1e-6, middle).resolution, MAX_RESOLUTION);
        let moved = Move {
            dx: 10.0,
            dy: 0.0,
            factor: 2.0,
            around: middle,
        }
        .apply(v);
        assert_eq!(moved.resolution, 0.5);
        assert!((moved.centre.x - -10.0).abs() < 1e-9, "{:?}", moved.centre);
    }

    #[test]
    fn keys_and_wheel() {
        assert_eq!(
            key_action("ArrowLeft"),
            Some(KeyAction::Pan(KEY_PAN_PX, 0.0))
        );
        assert_eq!(key_action("="), Some(KeyAction::Zoom(2.0)));
        assert_eq!(key_action("0"), Some(KeyAction::Fit));
        assert_eq!(key_action("Escape"), Some(KeyAction::Close));
        assert_eq!(key_action("a"), None);
        assert!(wheel_factor(100.0, 0) < 1.0 && wheel_factor(-100.0, 0) > 1.0);
        // Three lines zoom as far as 48 pixels.
        assert_eq!(wheel_factor(3.0, 1), wheel_factor(48.0, 0));
        assert_eq!(wheel_factor(0.0, 9), 1.0);
    }
}
