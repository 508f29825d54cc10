//! Base-map tiles: which square pieces of the world a view needs and where each goes on
//! screen. The base layers (community tints, roads, buildings, borders) are drawn once
//! per tile into bitmaps that [`super::canvas::TileCache`] keeps, so a pan only copies
//! bitmaps and a zoom scales them until sharper ones are drawn; with 100,000 buildings
//! that is the difference between a smooth map and a stuttering one.
//!
//! Tiles follow the usual Web Mercator pyramid: at level `z` the world is 2^z × 2^z
//! tiles of [`TILE_PX`] CSS pixels, numbered from the north-west corner. A view uses
//! the coarsest level whose tiles are at least as sharp as the view, so tiles are only
//! ever drawn at their size or smaller, never blurred by enlarging.

use super::projection::{Screen, World};
use super::viewport::{Bounds, Viewport};

/// The side of a tile, CSS pixels.
pub const TILE_PX: f64 = 256.0;
/// Extra pixels drawn around a tile's own square, so that a wide road or a border
/// whose centre line lies just outside the tile still paints its edge inside it.
pub const TILE_MARGIN_PX: f64 = 32.0;
/// Half the width of the Web Mercator world, metres.
const HALF_WORLD: f64 = 20_037_508.342_789_244;
/// The deepest level (about 0.6 mm per pixel): far beyond the map's zoom limit.
const MAX_LEVEL: u8 = 28;

/// One tile of the pyramid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TileKey {
    pub level: u8,
    /// Column from the west edge of the world.
    pub x: i64,
    /// Row from the north edge of the world.
    pub y: i64,
}

/// Metres per CSS pixel of the tiles of `level`.
pub fn resolution(level: u8) -> f64 {
    2.0 * HALF_WORLD / TILE_PX / f64::from(1u32 << level)
}

/// The coarsest level whose tiles are at least as sharp as `resolution`.
pub fn level_for(resolution: f64) -> u8 {
    let ideal = (2.0 * HALF_WORLD / TILE_PX / resolution).log2();
    // A hair of tolerance, so that a view exactly at a level's resolution uses it.
    (ideal - 1e-9).ceil().clamp(0.0, f64::from(MAX_LEVEL)) as u8
}

impl TileKey {
    /// The tile's square in world metres.
    pub fn bounds(&self) -> Bounds {
        let size = TILE_PX * resolution(self.level);
        let west = -HALF_WORLD + self.x as f64 * size;
        let north = HALF_WORLD - self.y as f64 * size;
        Bounds {
            min: World {
                x: west,
                y: north - size,
            },
            max: World {
                x: west + size,
                y: north,
            },
        }
    }

    /// The viewport that draws this tile and [`TILE_MARGIN_PX`] around it: the tile's
    /// own square starts at (`TILE_MARGIN_PX`, `TILE_MARGIN_PX`).
    pub fn viewport(&self) -> Viewport {
        Viewport {
            centre: self.bounds().centre(),
            resolution: resolution(self.level),
            width: TILE_PX + 2.0 * TILE_MARGIN_PX,
            height: TILE_PX + 2.0 * TILE_MARGIN_PX,
        }
    }

    /// The tile of the level above that contains this one.
    pub fn parent(&self) -> Option<TileKey> {
        (self.level > 0).then(|| TileKey {
            level: self.level - 1,
            x: self.x.div_euclid(2),
            y: self.y.div_euclid(2),
        })
    }

    /// The four tiles of the level below.
    pub fn children(&self) -> [TileKey; 4] {
        let (level, x, y) = (self.level + 1, self.x * 2, self.y * 2);
        [(0, 0), (1, 0), (0, 1), (1, 1)].map(|(dx, dy)| TileKey {
            level,
            x: x + dx,
            y: y + dy,
        })
    }

    /// Where the tile goes on the screen of `viewport`, its edges on whole device
    /// pixels so that neighbouring tiles meet without a seam.
    pub fn placement(&self, viewport: &Viewport, pixel_ratio: f64) -> Placement {
        let b = self.bounds();
        let snap = |v: f64| (v * pixel_ratio).round() / pixel_ratio;
        let top_left = viewport.to_screen(World {
            x: b.min.x,
            y: b.max.y,
        });
        let bottom_right = viewport.to_screen(World {
            x: b.max.x,
            y: b.min.y,
        });
        let (x0, y0) = (snap(top_left.x), snap(top_left.y));
        Placement {
            at: Screen { x: x0, y: y0 },
            width: snap(bottom_right.x) - x0,
            height: snap(bottom_right.y) - y0,
        }
    }
}

/// A tile's rectangle on screen, CSS pixels.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Placement {
    pub at: Screen,
    pub width: f64,
    pub height: f64,
}

/// The tiles that cover `viewport`, nearest the middle first (drawn first when there
/// is not time for all in one frame).
pub fn covering(viewport: &Viewport) -> Vec<TileKey> {
    let level = level_for(viewport.resolution);
    let size = TILE_PX * resolution(level);
    let visible = viewport.visible();
    let last = (1i64 << level) - 1;
    let column = |x: f64| (((x + HALF_WORLD) / size).floor() as i64).clamp(0, last);
    let row = |y: f64| (((HALF_WORLD - y) / size).floor() as i64).clamp(0, last);
    let (x0, x1) = (column(visible.min.x), column(visible.max.x));
    let (y0, y1) = (row(visible.max.y), row(visible.min.y));
    let mut keys: Vec<TileKey> = (y0..=y1)
        .flat_map(|y| (x0..=x1).map(move |x| TileKey { level, x, y }))
        .collect();
    let centre = viewport.centre;
    let distance = |k: &TileKey| {
        let c = k.bounds().centre();
        (c.x - centre.x).powi(2) + (c.y - centre.y).powi(2)
    };
    keys.sort_by(|a, b| distance(a).total_cmp(&distance(b)));
    keys
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::map::projection::project;

    fn district_view(resolution: f64) -> Viewport {
        Viewport {
            centre: project([117.305, 31.845].into()),
            resolution,
            width: 1600.0,
            height: 1000.0,
        }
    }

    #[test]
    fn levels_are_never_blurrier_than_the_view() {
        for wanted in [0.05, 0.3, 1.0, 2.5, 9.55, 12.0, 60.0, 156_543.0] {
            let level = level_for(wanted);
            assert!(resolution(level) <= wanted * (1.0 + 1e-9), "{wanted}");
            if level > 0 {
                assert!(
                    resolution(level - 1) > wanted,
                    "{wanted}: a coarser level would do"
                );
            }
        }
        assert_eq!(
            level_for(resolution(14)),
            14,
            "exactly a level's resolution uses it"
        );
    }

    #[test]
    fn covering_tiles_fill_the_screen_without_gaps_or_overlaps() {
        for resolution in [0.07, 0.8, 3.3, 12.0, 45.0] {
            for pixel_ratio in [1.0, 1.5, 2.0] {
                let v = district_view(resolution);
                let keys = covering(&v);
                assert!(!keys.is_empty());
                // Count how many tiles cover sample points spread over the screen.
                for sx in (0..=16).map(|i| f64::from(i) * 100.0 - 0.5) {
                    for sy in (0..=10).map(|i| f64::from(i) * 100.0 - 0.5) {
                        let (sx, sy) = (sx.clamp(0.5, 1599.5), sy.clamp(0.5, 999.5));
                        let covers = keys
                            .iter()
                            .map(|k| k.placement(&v, pixel_ratio))
                            .filter(|p| {
                                p.at.x <= sx
                                    && sx < p.at.x + p.width
                                    && p.at.y <= sy
                                    && sy < p.at.y + p.height
                            })
                            .count();
                        assert_eq!(
                            covers, 1,
                            "({sx},{sy}) at {resolution} m/px, ratio {pixel_ratio}"
                        );
                    }
                }
                // Neighbours meet on the same device pixel.
                let p: Vec<_> = keys
                    .iter()
                    .map(|k| (k, k.placement(&v, pixel_ratio)))
                    .collect();
                for (a, pa) in &p {
                    if let Some((_, pb)) = p.iter().find(|(b, _)| b.y == a.y && b.x == a.x + 1) {
                        assert!((pa.at.x + pa.width - pb.at.x).abs() < 1e-9);
                    }
                }
                // Middle first.
                let first = keys[0].bounds();
                assert!(first.min.x <= v.centre.x && v.centre.x <= first.max.x);
            }
        }
    }

    #[test]
    fn a_tile_is_drawn_at_its_size_or_smaller() {
        for resolution in [0.07, 0.8, 3.3, 12.0] {
            let v = district_view(resolution);
            let p = covering(&v)[0].placement(&v, 1.0);
            assert!(
                p.width <= TILE_PX + 1.0 && p.width > TILE_PX / 2.0 - 1.0,
                "{p:?}"
            );
        }
    }

    #[test]
    fn parents_contain_their_children() {
        let key = covering(&district_view(1.0))[0];
        let parent = key.parent().unwrap();
        assert!(parent.children().contains(&key));
        let (pb, kb) = (parent.bounds(), key.bounds());
        assert!(
            pb.min.x <= kb.min.x
                && kb.max.x <= pb.max.x
                && pb.min.y <= kb.min.y
                && kb.max.y <= pb.max.y
        );
        assert_eq!(
            TileKey {
                level: 0,
                x: 0,
                y: 0
            }
            .parent(),
            None
        );
    }

    #[test]
    fn the_tile_viewport_puts_the_tile_inside_its_margin() {
        let key = covering(&district_view(2.0))[3];
        let v = key.viewport();
        let b = key.bounds();
        let corner = v.to_screen(World {
            x: b.min.x,
            y: b.max.y,
        });
        assert!(
            (corner.x - TILE_MARGIN_PX).abs() < 1e-6 && (corner.y - TILE_MARGIN_PX).abs() < 1e-6
        );
        let far = v.to_screen(World {
            x: b.max.x,
            y: b.min.y,
        });
        assert!((far.x - TILE_MARGIN_PX - TILE_PX).abs() < 1e-6);
    }
}
