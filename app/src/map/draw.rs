//! Draw commands: what layers produce and backends replay. Screen-space CSS pixels,
//! colours as CSS strings. One command may carry many shapes of one style, so a layer
//! of thousands of buildings is one fill and one stroke.

use super::projection::Screen;

/// Many polylines or rings in one flat list of points (one allocation, not one per
/// shape: a frame of 100,000 buildings would otherwise make 100,000 vectors).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Shapes {
    points: Vec<Screen>,
    /// Where each shape ends in `points`.
    ends: Vec<usize>,
}

impl Shapes {
    /// Adds one shape; an empty one is skipped.
    pub fn push(&mut self, shape: impl IntoIterator<Item = Screen>) {
        self.points.extend(shape);
        if self.ends.last().copied().unwrap_or(0) < self.points.len() {
            self.ends.push(self.points.len());
        }
    }

    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// The shapes in runs of at most `per` each, in order (a long path drawn in parts,
    /// a frame's time at most each).
    pub fn chunks(&self, per: usize) -> impl Iterator<Item = Shapes> + '_ {
        self.ends.chunks(per.max(1)).scan(0, |start, ends| {
            let end = *ends.last()?;
            let part = Shapes {
                points: self.points[*start..end].to_vec(),
                ends: ends.iter().map(|e| e - *start).collect(),
            };
            *start = end;
            Some(part)
        })
    }

    /// The shapes in the order they were added.
    pub fn iter(&self) -> impl Iterator<Item = &[Screen]> + '_ {
        let starts = std::iter::once(0).chain(self.ends.iter().copied());
        starts.zip(&self.ends).map(|(a, &b)| &self.points[a..b])
    }
}

impl<S: IntoIterator<Item = Screen>> FromIterator<S> for Shapes {
    fn from_iter<I: IntoIterator<Item = S>>(shapes: I) -> Self {
        let mut out = Shapes::default();
        for shape in shapes {
            out.push(shape);
        }
        out
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Stroke {
    pub colour: &'static str,
    pub width: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub enum DrawCommand {
    /// Closed rings filled together with the even-odd rule (so holes stay empty), then
    /// stroked.
    Polygons {
        rings: Shapes,
        fill: Option<&'static str>,
        stroke: Option<Stroke>,
    },
    /// Axis-aligned rectangles `[x, y, width, height]`, filled: the cheap stand-in for
    /// shapes only a few pixels wide (a canvas fills thousands of rectangles far faster
    /// than one path of thousands of rings).
    Rects {
        rects: Vec<[f64; 4]>,
        fill: &'static str,
    },
    /// Circles of one size and style.
    Circles {
        centres: Vec<Screen>,
        radius: f64,
        fill: Option<&'static str>,
        stroke: Option<Stroke>,
    },
    /// Open polylines, stroked with round joins and caps.
    Lines { lines: Shapes, stroke: Stroke },
    /// A label centred on `at`, with a halo so it reads on any background.
    Label {
        at: Screen,
        text: String,
        size_px: f64,
        colour: &'static str,
        halo: &'static str,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_keep_their_points_apart_and_skip_empty_ones() {
        let p = |x: f64| Screen { x, y: -x };
        let shapes: Shapes = [vec![p(1.0), p(2.0)], vec![], vec![p(3.0)]]
            .into_iter()
            .collect();
        assert_eq!(shapes.len(), 2);
        let back: Vec<Vec<Screen>> = shapes.iter().map(<[Screen]>::to_vec).collect();
        assert_eq!(back, [vec![p(1.0), p(2.0)], vec![p(3.0)]]);
        assert!(Shapes::default().is_empty());
    }

    #[test]
    fn shapes_in_runs_keep_every_shape_once_in_order() {
        let p = |x: f64| Screen { x, y: x };
        let shapes: Shapes = (0..7).map(|i| vec![p(i as f64); 1 + i % 3]).collect();
        let runs: Vec<Shapes> = shapes.chunks(3).collect();
        assert_eq!(runs.iter().map(Shapes::len).collect::<Vec<_>>(), [3, 3, 1]);
        let rejoined: Vec<Vec<Screen>> = runs
            .iter()
            .flat_map(|r| r.iter().map(<[Screen]>::to_vec).collect::<Vec<_>>())
            .collect();
        let all: Vec<Vec<Screen>> = shapes.iter().map(<[Screen]>::to_vec).collect();
        assert_eq!(rejoined, all);
        assert_eq!(Shapes::default().chunks(3).count(), 0);
    }
}
