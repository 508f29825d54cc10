//! Geometry shared by the server (demo district, import checks, the community of a
//! point) and the app (labels, hit testing), on `[x, y]` pairs, done by the `geo`
//! crate: these functions only say what Linli asks of it, in its own terms. Planar
//! functions work in any planar unit (Web Mercator metres in the app); distances
//! between `[lon, lat]` points are great-circle metres.

use geo::{
    Area, BoundingRect, Centroid, Contains, Coord, Distance, Euclidean, Haversine, InteriorPoint,
    Intersects, Line, LineLocatePoint, LineString, Point, Polygon,
};

/// A point `[x, y]`.
pub type Xy = [f64; 2];

fn coord(p: Xy) -> Coord {
    Coord { x: p[0], y: p[1] }
}

fn xy(p: Point) -> Xy {
    [p.x(), p.y()]
}

fn line_string<P: Copy + Into<Xy>>(points: &[P]) -> LineString {
    points.iter().map(|p| coord((*p).into())).collect()
}

/// A polygon of an outer ring and holes; `None` without an outer ring.
fn polygon<P: Copy + Into<Xy>, R: AsRef<[P]>>(rings: &[R]) -> Option<Polygon> {
    let (outer, holes) = rings.split_first()?;
    Some(Polygon::new(
        line_string(outer.as_ref()),
        holes.iter().map(|h| line_string(h.as_ref())).collect(),
    ))
}

/// Signed area; positive for counter-clockwise rings. For any point type that converts
/// to `[x, y]` (so callers need not copy their rings into a type of their own); closed
/// and open rings alike.
pub fn ring_area<P: Copy + Into<Xy>>(ring: &[P]) -> f64 {
    Polygon::new(line_string(ring), Vec::new()).signed_area()
}

/// The area-weighted centre of a ring; `None` for a ring without area. It can lie
/// outside an L-shaped or courtyard ring: see [`interior_point`].
pub fn ring_centroid<P: Copy + Into<Xy>>(ring: &[P]) -> Option<Xy> {
    let polygon = Polygon::new(line_string(ring), Vec::new());
    if polygon.unsigned_area() < 1e-12 {
        return None;
    }
    polygon.centroid().map(xy)
}

/// A point surely inside a polygon (outer ring first, then holes), near its middle:
/// where a home goes in a building of any shape. `None` without area.
pub fn interior_point(rings: &[Vec<Xy>]) -> Option<Xy> {
    let polygon = polygon(rings)?;
    if polygon.unsigned_area() < 1e-12 {
        return None;
    }
    polygon.interior_point().map(xy)
}

/// Whether `p` lies inside the ring (points on an edge are not).
pub fn point_in_ring<P: Copy + Into<Xy>>(p: Xy, ring: &[P]) -> bool {
    point_in_polygon(p, &[ring])
}

/// Whether `p` lies inside a polygon: inside its outer ring and in none of its holes.
/// Rings of any point type that converts to `[x, y]`.
pub fn point_in_polygon<P: Copy + Into<Xy>, R: AsRef<[P]>>(p: Xy, rings: &[R]) -> bool {
    polygon(rings).is_some_and(|polygon| polygon.contains(&Point::from(coord(p))))
}

/// The box around `points` as `[min x, min y, max x, max y]` (inverted for none).
pub fn bbox(points: &[Xy]) -> [f64; 4] {
    match line_string(points).bounding_rect() {
        Some(r) => [r.min().x, r.min().y, r.max().x, r.max().y],
        None => [f64::MAX, f64::MAX, f64::MIN, f64::MIN],
    }
}

/// Great-circle metres between two `[lon, lat]` points.
pub fn metres_between(a: Xy, b: Xy) -> f64 {
    Haversine.distance(Point::from(coord(a)), Point::from(coord(b)))
}

/// Distance from `p` to a polyline (infinite for an empty one).
pub fn distance_to_line<P: Copy + Into<Xy>>(p: Xy, line: &[P]) -> f64 {
    if line.is_empty() {
        return f64::INFINITY;
    }
    Euclidean.distance(&Point::from(coord(p)), &line_string(line))
}

/// How far along a polyline the point of it nearest `p` lies, as a share of its
/// length: 0 at its start, 1 at its end (`None` for a line without length).
pub fn share_along_line<P: Copy + Into<Xy>>(p: Xy, line: &[P]) -> Option<f64> {
    let has_length = line.windows(2).any(|w| w[0].into() != w[1].into());
    if !has_length {
        return None;
    }
    line_string(line)
        .line_locate_point(&Point::from(coord(p)))
        .filter(|share| share.is_finite())
}

/// Whether segments `a1`–`a2` and `b1`–`b2` cross or touch.
pub fn segments_intersect(a1: Xy, a2: Xy, b1: Xy, b2: Xy) -> bool {
    Line::new(coord(a1), coord(a2)).intersects(&Line::new(coord(b1), coord(b2)))
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
        assert!(!point_in_polygon::<Xy, Vec<Xy>>([1.0, 1.0], &[]));
    }

    #[test]
    fn distances_to_lines_and_between_places() {
        let along = [[0.0, 0.0], [4.0, 0.0]];
        assert!((distance_to_line([2.0, 3.0], &along) - 3.0).abs() < 1e-12);
        assert!((distance_to_line([7.0, 4.0], &along) - 5.0).abs() < 1e-12);
        assert!((distance_to_line([5.0, 2.0], &SQUARE) - 1.0).abs() < 1e-12);
        assert!((distance_to_line([5.0, 5.0], &SQUARE) - 2f64.sqrt()).abs() < 1e-12);
        assert_eq!(distance_to_line::<Xy>([0.0, 0.0], &[]), f64::INFINITY);
        // A thousandth of a degree of latitude is about 111 m; of longitude at Hefei's
        // latitude (31.8°), about 94 m.
        let hefei = [117.28, 31.86];
        let north = metres_between(hefei, [117.28, 31.861]);
        let east = metres_between(hefei, [117.281, 31.86]);
        assert!((north - 111.2).abs() < 0.1, "{north}");
        assert!((east - 94.44).abs() < 0.05, "{east}");
    }

    #[test]
    fn an_l_shaped_building_keeps_its_interior_point_inside_where_its_centroid_is_not() {
        // An L whose arms are long and thin: the centroid falls in the corner's notch.
        let l = vec![vec![
            [0.0, 0.0],
            [10.0, 0.0],
            [10.0, 1.0],
            [1.0, 1.0],
            [1.0, 10.0],
            [0.0, 10.0],
            [0.0, 0.0],
        ]];
        let centroid = ring_centroid(&l[0]).unwrap();
        assert!(!point_in_polygon(centroid, &l), "{centroid:?}");
        let inside = interior_point(&l).unwrap();
        assert!(point_in_polygon(inside, &l), "{inside:?}");
        assert_eq!(
            interior_point(&[vec![[0.0, 0.0], [1.0, 1.0], [2.0, 2.0]]]),
            None
        );
        assert_eq!(bbox(&l[0]), [0.0, 0.0, 10.0, 10.0]);
        assert_eq!(bbox(&[]), [f64::MAX, f64::MAX, f64::MIN, f64::MIN]);
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
