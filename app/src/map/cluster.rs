//! Screen-space clustering: points in the same cell on screen merge into one marker
//! that counts them and takes the worst severity among them. The cells are fixed to
//! the world ([`Grid`]), not to the screen's corner, so a cluster holds still while the
//! map is dragged, and a picture larger than the view (the still overlays' bitmap,
//! [`super::canvas::StillCache`]) holds the very clusters that the view's own hit test
//! finds.

use super::projection::Screen;
use std::collections::HashMap;

/// A marker standing for one or more points.
#[derive(Debug, Clone, PartialEq)]
pub struct Cluster {
    /// The mean position of its points.
    pub at: Screen,
    pub count: usize,
    /// The highest severity among its points.
    pub worst: u8,
    /// Index (into the input) of one point with the worst severity: what a tap opens
    /// when the cluster holds a single point.
    pub example: usize,
}

/// Square cells of `cell_px` screen pixels, one of whose corners is at `anchor` (the
/// screen position of a fixed world point): the same cells wherever the view is.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Grid {
    pub anchor: Screen,
    pub cell_px: f64,
}

impl Grid {
    /// The cell that holds `p`.
    pub fn cell(&self, p: Screen) -> (i64, i64) {
        (
            ((p.x - self.anchor.x) / self.cell_px).floor() as i64,
            ((p.y - self.anchor.y) / self.cell_px).floor() as i64,
        )
    }

    /// Whether `p`'s cell reaches into the box from `min` to `max`.
    pub fn cell_meets(&self, p: Screen, min: Screen, max: Screen) -> bool {
        let (i, j) = self.cell(p);
        let left = self.anchor.x + i as f64 * self.cell_px;
        let top = self.anchor.y + j as f64 * self.cell_px;
        left <= max.x && left + self.cell_px >= min.x && top <= max.y && top + self.cell_px >= min.y
    }
}

/// Groups `points` (position and severity) by the cells of `grid`. Output order
/// follows the first point of each cell, so it is stable frame to frame.
pub fn cluster(points: impl IntoIterator<Item = (Screen, u8)>, grid: Grid) -> Vec<Cluster> {
    let mut cells: HashMap<(i64, i64), usize> = HashMap::new();
    let mut out: Vec<(Cluster, f64, f64)> = Vec::new();
    for (i, (p, severity)) in points.into_iter().enumerate() {
        let key = grid.cell(p);
        match cells.get(&key) {
            Some(&slot) => {
                let (c, sx, sy) = &mut out[slot];
                c.count += 1;
                *sx += p.x;
                *sy += p.y;
                if severity > c.worst {
                    c.worst = severity;
                    c.example = i;
                }
            }
            None => {
                cells.insert(key, out.len());
                out.push((
                    Cluster {
                        at: p,
                        count: 1,
                        worst: severity,
                        example: i,
                    },
                    p.x,
                    p.y,
                ));
            }
        }
    }
    out.into_iter()
        .map(|(c, sx, sy)| Cluster {
            at: Screen {
                x: sx / c.count as f64,
                y: sy / c.count as f64,
            },
            ..c
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(x: f64, y: f64) -> Screen {
        Screen { x, y }
    }

    fn grid(cell_px: f64) -> Grid {
        Grid {
            anchor: at(0.0, 0.0),
            cell_px,
        }
    }

    #[test]
    fn near_points_merge_and_keep_their_worst() {
        let clusters = cluster(
            [
                (at(1.0, 1.0), 0),
                (at(9.0, 9.0), 3),
                (at(50.0, 5.0), 1),
                (at(5.0, 5.0), 2),
            ],
            grid(20.0),
        );
        assert_eq!(clusters.len(), 2);
        assert_eq!(clusters[0].count, 3);
        assert_eq!(clusters[0].worst, 3);
        assert_eq!(clusters[0].example, 1);
        assert_eq!(clusters[0].at, at(5.0, 5.0));
        assert_eq!(
            clusters[1],
            Cluster {
                at: at(50.0, 5.0),
                count: 1,
                worst: 1,
                example: 2
            }
        );
    }

    #[test]
    fn every_point_is_counted_once() {
        let points: Vec<(Screen, u8)> = (0..1000)
            .map(|i| {
                (
                    at((i * 37 % 800) as f64, (i * 91 % 600) as f64),
                    (i % 4) as u8,
                )
            })
            .collect();
        let clusters = cluster(points.iter().copied(), grid(40.0));
        assert_eq!(clusters.iter().map(|c| c.count).sum::<usize>(), 1000);
        assert!(clusters.len() <= (800 / 40 + 1) * (600 / 40 + 1));
    }

    #[test]
    fn the_cells_move_with_their_anchor() {
        let points = [(at(5.0, 5.0), 0), (at(15.0, 5.0), 1)];
        // Cells from 0: both in one. Moved by half a cell: the cells' edge falls
        // between them.
        assert_eq!(cluster(points, grid(20.0)).len(), 1);
        let moved = Grid {
            anchor: at(10.0, 0.0),
            cell_px: 20.0,
        };
        assert_eq!(cluster(points, moved).len(), 2);
        // A cell meets a box when any of it is inside, even if its point is not.
        let g = grid(20.0);
        assert!(g.cell_meets(at(5.0, 5.0), at(19.0, 19.0), at(100.0, 100.0)));
        assert!(!g.cell_meets(at(5.0, 5.0), at(21.0, 0.0), at(100.0, 100.0)));
        assert!(g.cell_meets(at(-5.0, 5.0), at(-1.0, 0.0), at(100.0, 100.0)));
    }
}
