//! [`GridIndex`]: a uniform grid over world metres for finding the features near a box
//! without looking at all of them: culling for drawing and candidates for hit testing.
//!
//! Each item is filed in the one cell holding its centre; a query widens its box by the
//! largest item's half size, so every item that overlaps the box is found, none twice.
//! Buildings and road segments are small and evenly spread, which suits a grid better
//! than a tree: building it is one pass, a query is a few cell lookups.

use super::projection::World;
use super::viewport::Bounds;

#[derive(Debug, Clone, PartialEq, Default)]
pub struct GridIndex {
    origin: World,
    cell: f64,
    cols: usize,
    rows: usize,
    /// Item indices per cell, row by row.
    cells: Vec<Vec<u32>>,
    /// Half the width and height of the largest item.
    reach: (f64, f64),
}

impl GridIndex {
    /// Indexes items by their bounds, with cells about `cell` metres wide (at most
    /// 1024 × 1024 cells; a huge extent gets larger cells).
    pub fn build(bounds: &[Bounds], cell: f64) -> GridIndex {
        let Some(all) = Bounds::around(bounds.iter().flat_map(|b| [b.min, b.max])) else {
            return GridIndex::default();
        };
        let cell = cell
            .max(all.width() / 1024.0)
            .max(all.height() / 1024.0)
            .max(1e-6);
        let cols = (all.width() / cell).floor() as usize + 1;
        let rows = (all.height() / cell).floor() as usize + 1;
        let mut index = GridIndex {
            origin: all.min,
            cell,
            cols,
            rows,
            cells: vec![Vec::new(); cols * rows],
            reach: (0.0, 0.0),
        };
        for (i, b) in bounds.iter().enumerate() {
            let (c, r) = index.cell_of(b.centre());
            index.cells[r * cols + c].push(i as u32);
            index.reach.0 = index.reach.0.max(b.width() / 2.0);
            index.reach.1 = index.reach.1.max(b.height() / 2.0);
        }
        index
    }

    fn cell_of(&self, p: World) -> (usize, usize) {
        let c = ((p.x - self.origin.x) / self.cell)
            .floor()
            .clamp(0.0, (self.cols - 1) as f64) as usize;
        let r = ((p.y - self.origin.y) / self.cell)
            .floor()
            .clamp(0.0, (self.rows - 1) as f64) as usize;
        (c, r)
    }

    /// Indices of the items whose centre could put them inside `area`: a superset of
    /// those overlapping it (callers check exact bounds when it matters).
    pub fn query(&self, area: Bounds) -> impl Iterator<Item = usize> + '_ {
        let empty = self.cells.is_empty();
        let widened = Bounds {
            min: World {
                x: area.min.x - self.reach.0,
                y: area.min.y - self.reach.1,
            },
            max: World {
                x: area.max.x + self.reach.0,
                y: area.max.y + self.reach.1,
            },
        };
        let (c0, r0) = if empty {
            (0, 0)
        } else {
            self.cell_of(widened.min)
        };
        let (c1, r1) = if empty {
            (0, 0)
        } else {
            self.cell_of(widened.max)
        };
        let outside = empty
            || widened.max.x < self.origin.x
            || widened.max.y < self.origin.y
            || widened.min.x > self.origin.x + self.cols as f64 * self.cell
            || widened.min.y > self.origin.y + self.rows as f64 * self.cell;
        let rows = if outside { 0..0 } else { r0..r1 + 1 };
        rows.flat_map(move |r| {
            (c0..=c1).flat_map(move |c| self.cells[r * self.cols + c].iter().map(|&i| i as usize))
        })
    }
}

/// Something with a bounding box in world metres.
pub trait Bounded {
    fn bounds(&self) -> Bounds;
}

/// Cell size for map features: a few city blocks.
const CELL_M: f64 = 250.0;

/// Items with a [`GridIndex`] over them. Derefs to the slice of items.
#[derive(Debug, Clone, PartialEq)]
pub struct Indexed<T> {
    items: Vec<T>,
    index: GridIndex,
}

impl<T> Default for Indexed<T> {
    fn default() -> Self {
        Indexed {
            items: Vec::new(),
            index: GridIndex::default(),
        }
    }
}

impl<T: Bounded> Indexed<T> {
    pub fn new(items: Vec<T>) -> Self {
        let bounds: Vec<Bounds> = items.iter().map(Bounded::bounds).collect();
        Indexed {
            index: GridIndex::build(&bounds, CELL_M),
            items,
        }
    }

    /// The items whose bounds overlap `area`.
    pub fn within(&self, area: Bounds) -> impl Iterator<Item = &T> + '_ {
        self.index
            .query(area)
            .map(|i| &self.items[i])
            .filter(move |item| {
                let b = item.bounds();
                b.min.x <= area.max.x
                    && b.max.x >= area.min.x
                    && b.min.y <= area.max.y
                    && b.max.y >= area.min.y
            })
    }
}

impl<T> std::ops::Deref for Indexed<T> {
    type Target = [T];
    fn deref(&self) -> &[T] {
        &self.items
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn square(x: f64, y: f64, size: f64) -> Bounds {
        Bounds {
            min: World { x, y },
            max: World {
                x: x + size,
                y: y + size,
            },
        }
    }

    fn overlaps(a: &Bounds, b: &Bounds) -> bool {
        a.min.x <= b.max.x && a.max.x >= b.min.x && a.min.y <= b.max.y && a.max.y >= b.min.y
    }

    #[test]
    fn finds_exactly_what_a_full_scan_finds_once_each() {
        // A deterministic scatter of sizes and places, queried with many boxes.
        let items: Vec<Bounds> = (0..5000u64)
            .map(|i| {
                let h = i.wrapping_mul(0x9E37_79B9_7F4A_7C15);
                square(
                    (h % 10_000) as f64,
                    ((h >> 20) % 8_000) as f64,
                    5.0 + (h >> 40) as f64 % 60.0,
                )
            })
            .collect();
        let index = GridIndex::build(&items, 200.0);
        for q in 0..200u64 {
            let area = square(
                (q * 47 % 10_000) as f64 - 300.0,
                (q * 89 % 8_000) as f64 - 300.0,
                50.0 + (q % 7) as f64 * 300.0,
            );
            let mut found: Vec<usize> = index
                .query(area)
                .filter(|&i| overlaps(&items[i], &area))
                .collect();
            let total = found.len();
            found.sort_unstable();
            found.dedup();
            assert_eq!(found.len(), total, "an item came twice");
            let expected: Vec<usize> = (0..items.len())
                .filter(|&i| overlaps(&items[i], &area))
                .collect();
            assert_eq!(found, expected, "query {q}");
        }
    }

    #[test]
    fn queries_far_away_or_on_an_empty_index_find_nothing() {
        let index = GridIndex::build(&[square(0.0, 0.0, 10.0)], 100.0);
        assert_eq!(index.query(square(5000.0, 5000.0, 10.0)).count(), 0);
        assert_eq!(
            GridIndex::default().query(square(0.0, 0.0, 10.0)).count(),
            0
        );
        assert_eq!(index.query(square(-5.0, -5.0, 6.0)).count(), 1);
    }
}
