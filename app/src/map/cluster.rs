//! Screen-space clustering: points closer than a cell on screen merge into one marker
//! that counts them and takes the worst severity among them.

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

/// Groups `points` (position and severity) by square cells of `cell_px` pixels.
/// Output order follows the first point of each cell, so it is stable frame to frame.
pub fn cluster(points: impl IntoIterator<Item = (Screen, u8)>, cell_px: f64) -> Vec<Cluster> {
    let mut cells: HashMap<(i64, i64), usize> = HashMap::new();
    let mut out: Vec<(Cluster, f64, f64)> = Vec::new();
    for (i, (p, severity)) in points.into_iter().enumerate() {
        let key = (
            (p.x / cell_px).floor() as i64,
            (p.y / cell_px).floor() as i64,
        );
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

    #[test]
    fn near_points_merge_and_keep_their_worst() {
        let clusters = cluster(
            [
                (at(1.0, 1.0), 0),
                (at(9.0, 9.0), 3),
                (at(50.0, 5.0), 1),
                (at(5.0, 5.0), 2),
            ],
            20.0,
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
        let clusters = cluster(points.iter().copied(), 40.0);
        assert_eq!(clusters.iter().map(|c| c.count).sum::<usize>(), 1000);
        assert!(clusters.len() <= (800 / 40 + 1) * (600 / 40 + 1));
    }
}
