//! Plane geometry on `[x, y]` pairs, shared by the server (demo district, import
//! checks, community of a point) and the app (labels, hit testing). Works in any planar
//! unit; for lon/lat it is a local approximation, fine at the scale of a subdistrict.

/// A point `[x, y]`.
pub type Xy = [f64; 2];

/// Signed area by the shoelace formula; positive for counter-clockwise rings; for any
/// point type that converts to `[x, y]` (so callers need not copy their rings). Computed
/// relative to the first vertex so large coordinates (Web Mercator metres) keep their
/// precision. Works for closed and open rings alike.
pub fn ring_area<P: Copy + Into<Xy>>(ring: &[P]) -> f64 {
    let Some(&o) = ring.first() else { return 0.0 };
    let o: Xy = o.into();
    let n = ring.len();
    (0..n)
        .map(|i| {
            let (a, b): (Xy, Xy) = (ring[i].into(), ring[(i + 1) % n].into());
            (a[0] - o[0]) * (b[1] - o[1]) - (b[0] - o[0]) * (a[1] - o[1])
        })
        .sum::<f64>()
        / 2.0
}

/// The area-weighted centre of a ring; `None` for a degenerate one.
pub fn ring_centroid<P: Copy + Into<Xy>>(ring: &[P]) -> Option<Xy> {
    let o: Xy = (*ring.first()?).into();
    let area = ring_area(ring);
    if area.abs() < 1e-12 {
        return None;
    }
    let n = ring.len();
    let (mut cx, mut cy) = (0.0, 0.0);
    for i in 0..n {
        let (p, q): (Xy, Xy) = (ring[i].into(), ring[(i + 1) % n].into());
        let a = [p[0] - o[0], p[1] - o[1]];
        let b = [q[0] - o[0], q[1] - o[1]];
        let cross = a[0] * b[1] - b[0] * a[1];
        cx += (a[0] + b[0]) * cross;
        cy += (a[1] + b[1]) * cross;
    }
    Some([o[0] + cx / (6.0 * area), o[1] + cy / (6.0 * area)])
}

/// Whether `p` lies inside the ring (even-odd rule; points on an edge may go either way).
pub fn point_in_ring(p: Xy, ring: &[Xy]) -> bool {
    let n = ring.len();
    let mut inside = false;
    let mut j = n.wrapping_sub(1);
    for i in 0..n {
        let (a, b) = (ring[i], ring[j]);
        if (a[1] > p[1]) != (b[1] > p[1])
            && p[0] < (b[0] - a[0]) * (p[1] - a[1]) / (b[1] - a[1]) + a[0]
        {
            inside = !inside;
        }
        j = i;
    }
    inside
}

/// Whether `p` lies inside a polygon: inside its outer ring and in none of its holes.
pub fn point_in_polygon(p: Xy, rings: &[Vec<Xy>]) -> bool {
    match rings.split_first() {
        Some((outer, holes)) => {
            point_in_ring(p, outer) && !holes.iter().any(|h| point_in_ring(p, h))
        }
        None => false,
    }
}

/// The box around `points` as `[min x, min y, max x, max y]` (inverted for none).
pub fn bbox(points: &[Xy]) -> [f64; 4] {
    points
        .iter()
        .fold([f64::MAX, f64::MAX, f64::MIN, f64::MIN], |b, p| {
            [
                b[0].min(p[0]),
                b[1].min(p[1]),
                b[2].max(p[0]),
                b[3].max(p[1]),
            ]
        })
}

/// Metres between two `[lon, lat]` points (equirectangular: within a fraction of a
/// per cent over a subdistrict, the distances cases and patrols compare).
pub fn metres_between(a: Xy, b: Xy) -> f64 {
    const EARTH_RADIUS_M: f64 = 6_371_008.8;
    let mean_lat = ((a[1] + b[1]) / 2.0).to_radians();
    let dx = (b[0] - a[0]).to_radians() * mean_lat.cos();
    let dy = (b[1] - a[1]).to_radians();
    EARTH_RADIUS_M * (dx * dx + dy * dy).sqrt()
}

/// Distance from `p` to the segment `a`–`b`.
pub fn distance_to_segment(p: Xy, a: Xy, b: Xy) -> f64 {
    let (dx, dy) = (b[0] - a[0], b[1] - a[1]);
    let length2 = dx * dx + dy * dy;
    let t = if length2 == 0.0 {
        0.0
    } else {
        (((p[0] - a[0]) * dx + (p[1] - a[1]) * dy) / length2).clamp(0.0, 1.0)
    };
    let (cx, cy) = (a[0] + t * dx, a[1] + t * dy);
    ((p[0] - cx).powi(2) + (p[1] - cy).powi(2)).sqrt()
}

/// Distance from `p` to a polyline (infinite for an empty one).
pub fn distance_to_line(p: Xy, line: &[Xy]) -> f64 {
    match line {
        [] => f64::INFINITY,
        [only] => distance_to_segment(p, *only, *only),
        _ => line
            .windows(2)
            .map(|w| distance_to_segment(p, w[0], w[1]))
            .fold(f64::INFINITY, f64::min),
    }
}

/// Whether segments `a1`–`a2` and `b1`–`b2` cross or touch.
pub fn segments_intersect(a1: Xy, a2: Xy, b1: Xy, b2: Xy) -> bool {
    let orient =
        |p: Xy, q: Xy, r: Xy| (q[0] - p[0]) * (r[1] - p[1]) - (q[1] - p[1]) * (r[0] - p[0]);
    let on_segment = |p: Xy, q: Xy, r: Xy| {
        r[0] >= p[0].min(q[0])
            && r[0] <= p[0].max(q[0])
            && r[1] >= p[1].min(q[1])
            && r[1] <= p[1].max(q[1])
    };
    let (d1, d2) = (orient(b1, b2, a1), orient(b1, b2, a2));
    let (d3, d4) = (orient(a1, a2, b1), orient(a1, a2, b2));
    if ((d1 > 0.0 && d2 < 0.0) || (d1 < 0.0 && d2 > 0.0))
        && ((d3 > 0.0 && d4 < 0.0) || (d3 < 0.0 && d4 > 0.0))
    {
        return true;
    }
    (d1 == 0.0 && on_segment(b1, b2, a1))
        || (d2 == 0.0 && on_segment(b1, b2, a2))
        || (d3 == 0.0 && on_segment(a1, a2, b1))
        || (d4 == 0.0 && on_segment(a1, a2, b2))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SQUARE: [Xy; 5] = [[0.0, 0.0], [4.0, 0.0], [4.0, 4.0], [0.0, 4.0], [0.0, 0.0]];

    #[test]
    fn area_and_centre_of_a_square_closed_or_open() {
        assert!((ring_area(&SQUARE) - 16.0).abs() < 1e-12);
        assert!((ring_area(&SQUARE[..4]) - 16.0).abs() < 1e-12);
        let reversed: Vec<Xy> = SQUARE.iter().rev().copied().collect();
        assert!((ring_area(&reversed) + 16.0).abs() < 1e-12);
        assert_eq!(ring_centroid(&SQUARE), Some([2.0, 2.0]));
        assert_eq!(ring_centroid(&[[1.0, 1.0], [2.0, 2.0], [3.0, 3.0]]), None);
    }

    #[test]
    fn large_coordinates_keep_their_precision() {
        let far: Vec<Xy> = SQUARE
            .iter()
            .map(|p| [p[0] + 1.3e7, p[1] + 3.7e6])
            .collect();
        let c = ring_centroid(&far).unwrap();
        assert!((c[0] - (1.3e7 + 2.0)).abs() < 1e-6 && (c[1] - (3.7e6 + 2.0)).abs() < 1e-6);
    }

    #[test]
    fn points_inside_outside_and_in_holes() {
        let hole = vec![[1.0, 1.0], [2.0, 1.0], [2.0, 2.0], [1.0, 2.0], [1.0, 1.0]];
        let polygon = vec![SQUARE.to_vec(), hole];
        assert!(point_in_polygon([3.0, 3.0], &polygon));
        assert!(!point_in_polygon([1.5, 1.5], &polygon));
        assert!(!point_in_polygon([5.0, 1.0], &polygon));
        assert!(!point_in_polygon([1.0, 1.0], &[]));
    }

    #[test]
    fn distances_to_segments_and_lines() {
        assert!((distance_to_segment([2.0, 3.0], [0.0, 0.0], [4.0, 0.0]) - 3.0).abs() < 1e-12);
        assert!((distance_to_segment([7.0, 4.0], [0.0, 0.0], [4.0, 0.0]) - 5.0).abs() < 1e-12);
        assert!((distance_to_line([5.0, 2.0], &SQUARE) - 1.0).abs() < 1e-12);
        assert!((distance_to_line([5.0, 5.0], &SQUARE) - 2f64.sqrt()).abs() < 1e-12);
        assert_eq!(distance_to_line([0.0, 0.0], &[]), f64::INFINITY);
    }

    #[test]
    fn crossing_touching_and_apart_segments() {
        assert!(segments_intersect(
            [0.0, 0.0],
            [2.0, 2.0],
            [0.0, 2.0],
            [2.0, 0.0]
        ));
        assert!(segments_intersect(
            [0.0, 0.0],
            [2.0, 0.0],
            [2.0, 0.0],
            [3.0, 1.0]
        ));
        assert!(!segments_intersect(
            [0.0, 0.0],
            [1.0, 0.0],
            [0.0, 1.0],
            [1.0, 1.0]
        ));
        assert!(!segments_intersect(
            [0.0, 0.0],
            [1.0, 1.0],
            [2.0, 2.0],
            [3.0, 3.0]
        ));
    }
}
