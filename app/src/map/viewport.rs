//! [`Viewport`]: which part of the world the map shows, at what scale, on how many
//! pixels. An immutable value: every change makes a new one, so a frame always draws
//! with one consistent viewport.

use super::projection::{Screen, World};

/// An axis-aligned box in world metres.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bounds {
    pub min: World,
    pub max: World,
}

impl Bounds {
    /// The smallest box around `points`; `None` when there are none.
    pub fn around(points: impl IntoIterator<Item = World>) -> Option<Bounds> {
        points.into_iter().fold(None, |acc, p| {
            Some(match acc {
                None => Bounds { min: p, max: p },
                Some(b) => Bounds {
                    min: World {
                        x: b.min.x.min(p.x),
                        y: b.min.y.min(p.y),
                    },
                    max: World {
                        x: b.max.x.max(p.x),
                        y: b.max.y.max(p.y),
                    },
                },
            })
        })
    }

    pub fn centre(&self) -> World {
        World {
            x: (self.min.x + self.max.x) / 2.0,
            y: (self.min.y + self.max.y) / 2.0,
        }
    }

    pub fn width(&self) -> f64 {
        self.max.x - self.min.x
    }

    pub fn height(&self) -> f64 {
        self.max.y - self.min.y
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Viewport {
    /// The world point at the middle of the map.
    pub centre: World,
    /// Metres per CSS pixel.
    pub resolution: f64,
    /// Size of the map in CSS pixels.
    pub width: f64,
    pub height: f64,
}

impl Viewport {
    /// The viewport that shows all of `bounds` as large as it fits, with `padding` CSS
    /// pixels free on every side.
    pub fn fit(bounds: Bounds, width: f64, height: f64, padding: f64) -> Viewport {
        let usable_w = (width - 2.0 * padding).max(1.0);
        let usable_h = (height - 2.0 * padding).max(1.0);
        let resolution = (bounds.width() / usable_w)
            .max(bounds.height() / usable_h)
            .max(1e-3);
        Viewport {
            centre: bounds.centre(),
            resolution,
            width,
            height,
        }
    }

    pub fn to_screen(&self, w: World) -> Screen {
        Screen {
            x: self.width / 2.0 + (w.x - self.centre.x) / self.resolution,
            y: self.height / 2.0 - (w.y - self.centre.y) / self.resolution,
        }
    }

    pub fn to_world(&self, s: Screen) -> World {
        World {
            x: self.centre.x + (s.x - self.width / 2.0) * self.resolution,
            y: self.centre.y - (s.y - self.height / 2.0) * self.resolution,
        }
    }

    /// The world box the map shows.
    pub fn visible(&self) -> Bounds {
        let a = self.to_world(Screen { x: 0.0, y: 0.0 });
        let b = self.to_world(Screen {
            x: self.width,
            y: self.height,
        });
        Bounds {
            min: World {
                x: a.x.min(b.x),
                y: a.y.min(b.y),
            },
            max: World {
                x: a.x.max(b.x),
                y: a.y.max(b.y),
            },
        }
    }

    /// The same view on a map of another size (the centre stays put).
    pub fn with_size(self, width: f64, height: f64) -> Viewport {
        Viewport {
            width,
            height,
            ..self
        }
    }

    /// Zoomed in by `factor` (> 1 zooms in) keeping the world point under `around` fixed.
    pub fn zoomed_at(self, factor: f64, around: Screen) -> Viewport {
        let anchor = self.to_world(around);
        let resolution = self.resolution / factor;
        let centre = World {
            x: anchor.x - (around.x - self.width / 2.0) * resolution,
            y: anchor.y + (around.y - self.height / 2.0) * resolution,
        };
        Viewport {
            centre,
            resolution,
            ..self
        }
    }

    /// Moved so that the content follows a drag of `(dx, dy)` CSS pixels.
    pub fn panned_by(self, dx: f64, dy: f64) -> Viewport {
        let centre = World {
            x: self.centre.x - dx * self.resolution,
            y: self.centre.y + dy * self.resolution,
        };
        Viewport { centre, ..self }
    }
}

/// What a map's view does when the map changes size or more of its data arrives.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Follow {
    /// Fit the whole district into the view.
    Fit,
    /// The same view on the map's new size.
    Resize(Viewport),
    /// Keep the view as it is.
    Stay,
}

/// The rule both maps follow: the first data fits the view, and so does each later layer
/// or size while the view is still the last fitted one (nobody has moved it); a moved view
/// keeps its centre and scale at a new size. Nothing is fitted into an empty map.
pub fn follow(
    current: Option<Viewport>,
    last_fit: Option<Viewport>,
    (width, height): (f64, f64),
    has_data: bool,
) -> Follow {
    let can_fit = has_data && width > 0.0 && height > 0.0;
    match current {
        Some(_) if can_fit && current == last_fit => Follow::Fit,
        Some(v) if v.width != width || v.height != height => {
            Follow::Resize(v.with_size(width, height))
        }
        None if can_fit => Follow::Fit,
        _ => Follow::Stay,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view() -> Viewport {
        Viewport {
            centre: World {
                x: 1000.0,
                y: 2000.0,
            },
            resolution: 2.5,
            width: 800.0,
            height: 600.0,
        }
    }

    fn close(a: World, b: World) -> bool {
        (a.x - b.x).abs() < 1e-6 && (a.y - b.y).abs() < 1e-6
    }

    #[test]
    fn screen_and_world_are_inverse_and_north_is_up() {
        let v = view();
        let p = World {
            x: 1234.5,
            y: 1900.0,
        };
        assert!(close(v.to_world(v.to_screen(p)), p));
        let north = v.to_screen(World {
            x: 1000.0,
            y: 2100.0,
        });
        assert!(north.y < 300.0, "north should be above the middle");
    }

    #[test]
    fn zooming_keeps_the_point_under_the_pointer_fixed() {
        let v = view();
        for (factor, at) in [
            (2.0, Screen { x: 10.0, y: 590.0 }),
            (0.3, Screen { x: 700.0, y: 20.0 }),
        ] {
            let before = v.to_world(at);
            let zoomed = v.zoomed_at(factor, at);
            assert!(close(zoomed.to_world(at), before));
            assert!((zoomed.resolution - v.resolution / factor).abs() < 1e-12);
        }
    }

    #[test]
    fn panning_moves_content_with_the_pointer() {
        let v = view();
        let p = World {
            x: 1100.0,
            y: 2050.0,
        };
        let (before, after) = (v.to_screen(p), v.panned_by(30.0, -12.0).to_screen(p));
        assert!(
            (after.x - before.x - 30.0).abs() < 1e-9 && (after.y - before.y + 12.0).abs() < 1e-9
        );
    }

    #[test]
    fn fit_shows_all_of_the_bounds_inside_the_padding() {
        let bounds = Bounds::around([
            World { x: 0.0, y: 0.0 },
            World {
                x: 3400.0,
                y: 2400.0,
            },
        ])
        .unwrap();
        let v = Viewport::fit(bounds, 1600.0, 1000.0, 40.0);
        for corner in [bounds.min, bounds.max] {
            let s = v.to_screen(corner);
            assert!((40.0 - 1e-6..=1560.0 + 1e-6).contains(&s.x), "{s:?}");
            assert!((40.0 - 1e-6..=960.0 + 1e-6).contains(&s.y), "{s:?}");
        }
    }

    #[test]
    fn the_view_fits_the_data_until_someone_moves_it_then_keeps_its_place() {
        let size = (800.0, 600.0);
        // No view yet: fit once there is data and room for it.
        assert_eq!(follow(None, None, size, true), Follow::Fit);
        assert_eq!(follow(None, None, size, false), Follow::Stay);
        assert_eq!(follow(None, None, (0.0, 600.0), true), Follow::Stay);
        // Still the fitted view: a new layer or a new size fits again.
        let fitted = view();
        assert_eq!(follow(Some(fitted), Some(fitted), size, true), Follow::Fit);
        assert_eq!(
            follow(Some(fitted), Some(fitted), (1024.0, 768.0), true),
            Follow::Fit
        );
        // Moved by hand: a new size keeps centre and scale, the same size changes nothing.
        let moved = fitted.panned_by(40.0, 0.0);
        assert_eq!(
            follow(Some(moved), Some(fitted), (1024.0, 768.0), true),
            Follow::Resize(moved.with_size(1024.0, 768.0))
        );
        assert_eq!(follow(Some(moved), Some(fitted), size, true), Follow::Stay);
    }
}
