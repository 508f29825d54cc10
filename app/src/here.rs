//! Where this device is, and where its user is going. The field tablet follows the
//! browser's geolocation while it is open: its lists put the nearer of equally urgent
//! items first and say how far each is, the map shows the worker and guides them to a
//! chosen destination, and a patrol run shares the position (see
//! `faces/patrol_control.rs`). The command screen and the public page never ask.

use crate::i18n::{tr, Lang, Msg};
use leptos::prelude::*;
use linli_domain::geometry::metres_between;
use linli_domain::Timestamp;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast as _;

/// How often a device standing still (which may report nothing) is asked anyway.
pub const ASK_EVERY: std::time::Duration = std::time::Duration::from_secs(10);

/// Walking speed for the time to a destination: 4.5 km/h.
const WALKING_M_PER_MIN: f64 = 75.0;

/// One position of this device.
#[derive(Debug, Clone, PartialEq)]
pub struct Fix {
    /// `[lon, lat]`.
    pub position: [f64; 2],
    /// When it was taken.
    pub at: Timestamp,
}

/// A place the worker chose to go to.
#[derive(Debug, Clone, PartialEq)]
pub struct Destination {
    pub position: [f64; 2],
    /// What is there, for people: "王秀英 · 302", a case's title.
    pub label: String,
}

/// This device's position and the chosen destination, shared by a face.
#[derive(Debug, Clone, Copy)]
pub struct Here {
    pub fix: RwSignal<Option<Fix>>,
    /// The browser refused or cannot tell (no permission, no receiver).
    pub unavailable: RwSignal<bool>,
    pub destination: RwSignal<Option<Destination>>,
    /// The map keeps the worker in its middle as they walk (set when a patrol starts
    /// or by the map's button; dragging the map ends it).
    pub follow: RwSignal<bool>,
}

impl Here {
    /// Follows the device's position while the calling component lives.
    pub fn provide() -> Here {
        let here = Here {
            fix: RwSignal::new(None),
            unavailable: RwSignal::new(false),
            destination: RwSignal::new(None),
            follow: RwSignal::new(false),
        };
        provide_context(here);
        let Ok(geolocation) = window().navigator().geolocation() else {
            here.unavailable.set(true);
            return here;
        };
        let on_position = Closure::<dyn Fn(web_sys::Position)>::new(move |p: web_sys::Position| {
            let coords = p.coords();
            let at = Timestamp::from_millis(p.timestamp() as i64);
            // `try_`: an answer may still come after the face has gone.
            here.unavailable.try_set(false);
            here.fix.try_set(Some(Fix {
                position: [coords.longitude(), coords.latitude()],
                at,
            }));
        });
        let on_error = Closure::<dyn Fn(wasm_bindgen::JsValue)>::new(move |_| {
            here.unavailable.try_set(true);
        });
        let options = web_sys::PositionOptions::new();
        options.set_enable_high_accuracy(true);
        let (position_fn, error_fn): (js_sys::Function, js_sys::Function) = (
            on_position
                .as_ref()
                .unchecked_ref::<js_sys::Function>()
                .clone(),
            on_error
                .as_ref()
                .unchecked_ref::<js_sys::Function>()
                .clone(),
        );
        let watch = geolocation
            .watch_position_with_error_callback_and_options(&position_fn, Some(&error_fn), &options)
            .ok();
        let timer = set_interval_with_handle(
            move || {
                if let Ok(g) = window().navigator().geolocation() {
                    let _ = g.get_current_position_with_error_callback_and_options(
                        &position_fn,
                        Some(&error_fn),
                        &options,
                    );
                }
            },
            ASK_EVERY,
        )
        .ok();
        // The callbacks live as long as the page: the watch and the timer are what stop.
        on_position.forget();
        on_error.forget();
        on_cleanup(move || {
            if let (Some(watch), Ok(g)) = (watch, window().navigator().geolocation()) {
                g.clear_watch(watch);
            }
            if let Some(timer) = timer {
                timer.clear();
            }
        });
        here
    }

    /// Where the device is, once it knows (tracked).
    pub fn position(self) -> Option<[f64; 2]> {
        self.fix.with(|f| f.as_ref().map(|f| f.position))
    }

    /// Metres from here to `position`, once the device knows where it is (tracked).
    pub fn metres_to(self, position: [f64; 2]) -> Option<f64> {
        self.position().map(|p| metres_between(p, position))
    }

    /// Guides the worker to `position`.
    pub fn go_to(self, position: [f64; 2], label: String) {
        self.destination.set(Some(Destination { position, label }));
    }
}

/// The face's [`Here`], on the faces that follow the device.
pub fn use_here() -> Option<Here> {
    use_context::<Here>()
}

/// "80 m", "1.2 km".
pub fn distance_text(metres: f64) -> String {
    let rounded = (metres / 10.0).round() * 10.0;
    if rounded < 1_000.0 {
        format!("{rounded} m")
    } else {
        format!("{:.1} km", metres / 1_000.0)
    }
}

/// "步行约 4 分钟" / "about 4 min on foot".
pub fn walking_text(lang: Lang, metres: f64) -> String {
    let minutes = (metres / WALKING_M_PER_MIN).ceil().max(1.0);
    format!(
        "{} {minutes} {}",
        tr(lang, Msg::WalkAbout),
        tr(lang, Msg::MinutesOnFoot)
    )
}

/// A `geo:` link for the device's own maps app (RFC 5870).
pub fn geo_uri(position: [f64; 2]) -> String {
    format!(
        "geo:{lat:.6},{lon:.6}?q={lat:.6},{lon:.6}",
        lat = position[1],
        lon = position[0]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distances_read_in_round_metres_then_kilometres() {
        assert_eq!(distance_text(84.0), "80 m");
        assert_eq!(distance_text(995.0), "1.0 km");
        assert_eq!(distance_text(1_234.0), "1.2 km");
        assert_eq!(
            geo_uri([118.1, 24.7]),
            "geo:24.700000,118.100000?q=24.700000,118.100000"
        );
    }
}
