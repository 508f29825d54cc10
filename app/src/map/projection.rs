//! Coordinates: [`LonLat`] (WGS84 degrees) and [`World`] (Web Mercator, EPSG:3857, in
//! metres at the equator), with the projection between them. Screen pixels are
//! [`Screen`], produced by the viewport.

/// Radius of the Web Mercator sphere, metres.
pub const EARTH_RADIUS_M: f64 = 6_378_137.0;
/// Latitudes beyond this do not fit the square Web Mercator world.
pub const MAX_LATITUDE: f64 = 85.051_128_779_806_59;

/// Longitude and latitude in degrees (WGS84), as GeoJSON gives them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LonLat {
    pub lon: f64,
    pub lat: f64,
}

/// A point in Web Mercator metres; `y` grows northwards.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct World {
    pub x: f64,
    pub y: f64,
}

/// A point on screen in CSS pixels from the map's top-left corner; `y` grows downwards.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Screen {
    pub x: f64,
    pub y: f64,
}

impl From<[f64; 2]> for LonLat {
    fn from([lon, lat]: [f64; 2]) -> Self {
        LonLat { lon, lat }
    }
}

impl From<World> for [f64; 2] {
    fn from(w: World) -> Self {
        [w.x, w.y]
    }
}

/// Projects to Web Mercator; latitudes are clamped to [`MAX_LATITUDE`].
pub fn project(p: LonLat) -> World {
    let lat = p.lat.clamp(-MAX_LATITUDE, MAX_LATITUDE).to_radians();
    World {
        x: EARTH_RADIUS_M * p.lon.to_radians(),
        y: EARTH_RADIUS_M * (std::f64::consts::FRAC_PI_4 + lat / 2.0).tan().ln(),
    }
}

/// The inverse of [`project`].
pub fn unproject(w: World) -> LonLat {
    LonLat {
        lon: (w.x / EARTH_RADIUS_M).to_degrees(),
        lat: (2.0 * (w.y / EARTH_RADIUS_M).exp().atan() - std::f64::consts::FRAC_PI_2).to_degrees(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_points_project_where_epsg_3857_puts_them() {
        let origin = project(LonLat { lon: 0.0, lat: 0.0 });
        assert!(origin.x.abs() < 1e-9 && origin.y.abs() < 1e-9);
        let edge = project(LonLat {
            lon: 180.0,
            lat: MAX_LATITUDE,
        });
        assert!((edge.x - 20_037_508.342_789_244).abs() < 1e-6);
        assert!((edge.y - 20_037_508.342_789_244).abs() < 1e-3);
    }

    #[test]
    fn projection_round_trips_across_the_world() {
        for lon in (-180..=180).step_by(15) {
            for lat in (-85..=85).step_by(5) {
                let p = LonLat {
                    lon: f64::from(lon),
                    lat: f64::from(lat),
                };
                let back = unproject(project(p));
                assert!(
                    (back.lon - p.lon).abs() < 1e-9 && (back.lat - p.lat).abs() < 1e-9,
                    "{p:?} -> {back:?}"
                );
            }
        }
    }
}
