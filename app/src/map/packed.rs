//! Projected features as bytes: what the layer worker (`crate::layer_worker`) hands the
//! page. Decoding and projecting a layer of 100,000 buildings takes about 0.35 s; the
//! worker does it off the page's thread and sends the [`Area`]s and [`Line`]s packed,
//! so that the page only copies them out (no varints, JSON or trigonometry), a slice
//! at a time ([`Unpacking`]).
//!
//! Layout, little-endian: a `u32` count of features, then per feature its fields in
//! the order of [`Packed::pack`]: strings as a `u32` length and UTF-8, numbers as `f64`,
//! nested lists of points as `u32` counts with the points inline (`x`, `y`).

use super::layers::{Area, Line, RawProperties};
use super::projection::World;
use super::viewport::Bounds;

/// A packed buffer that is not what [`pack`] wrote (cut short, or not UTF-8).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("a packed layer unreadable at byte {at}: {what}")]
pub struct UnpackError {
    pub at: usize,
    pub what: &'static str,
}

/// A feature that can travel packed.
pub trait Packed: Sized {
    fn pack(&self, out: &mut Vec<u8>);
    fn unpack(from: &mut Reader<'_>) -> Result<Self, UnpackError>;
}

/// Packs `features`, count first.
pub fn pack<T: Packed>(features: &[T]) -> Vec<u8> {
    let mut out = Vec::new();
    put_len(&mut out, features.len());
    for feature in features {
        feature.pack(&mut out);
    }
    out
}

/// Unpacks a whole buffer at once (tests, and small layers).
pub fn unpack<T: Packed>(bytes: &[u8]) -> Result<Vec<T>, UnpackError> {
    let mut unpacking = Unpacking::start(bytes)?;
    while !unpacking.next(usize::MAX)? {}
    unpacking.finish()
}

/// A packed buffer unpacked a slice at a time, so that the page can let input in
/// between slices of a large layer.
pub struct Unpacking<'a, T> {
    reader: Reader<'a>,
    count: usize,
    features: Vec<T>,
}

impl<'a, T: Packed> Unpacking<'a, T> {
    /// Reads the count.
    pub fn start(bytes: &'a [u8]) -> Result<Self, UnpackError> {
        let mut reader = Reader { bytes, at: 0 };
        let count = reader.len()?;
        Ok(Unpacking {
            // A count is not trusted beyond what the bytes could hold.
            features: Vec::with_capacity(count.min(bytes.len() / 8)),
            reader,
            count,
        })
    }

    /// Unpacks up to `max` more features; `true` once all are in.
    pub fn next(&mut self, max: usize) -> Result<bool, UnpackError> {
        for _ in 0..max.min(self.count - self.features.len()) {
            self.features.push(T::unpack(&mut self.reader)?);
        }
        Ok(self.features.len() == self.count)
    }

    /// The features; refuses a buffer not read to its end.
    pub fn finish(self) -> Result<Vec<T>, UnpackError> {
        if self.features.len() != self.count {
            return self.reader.fail("fewer features than its count");
        }
        if self.reader.at != self.reader.bytes.len() {
            return self.reader.fail("bytes after the last feature");
        }
        Ok(self.features)
    }
}

fn put_len(out: &mut Vec<u8>, n: usize) {
    out.extend_from_slice(&(n as u32).to_le_bytes());
}

fn put_f64(out: &mut Vec<u8>, x: f64) {
    out.extend_from_slice(&x.to_le_bytes());
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    put_len(out, s.len());
    out.extend_from_slice(s.as_bytes());
}

/// An absent string is written as length `u32::MAX`.
fn put_opt_str(out: &mut Vec<u8>, s: Option<&str>) {
    match s {
        Some(s) => put_str(out, s),
        None => out.extend_from_slice(&u32::MAX.to_le_bytes()),
    }
}

fn put_point(out: &mut Vec<u8>, p: World) {
    put_f64(out, p.x);
    put_f64(out, p.y);
}

fn put_points(out: &mut Vec<u8>, points: &[World]) {
    put_len(out, points.len());
    for p in points {
        put_point(out, *p);
    }
}

fn put_bounds(out: &mut Vec<u8>, b: Bounds) {
    put_point(out, b.min);
    put_point(out, b.max);
}

/// Reads what the `put_` functions wrote.
pub struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn fail<T>(&self, what: &'static str) -> Result<T, UnpackError> {
        Err(UnpackError { at: self.at, what })
    }

    fn take<const N: usize>(&mut self) -> Result<[u8; N], UnpackError> {
        match self.bytes.get(self.at..self.at + N) {
            Some(b) => {
                self.at += N;
                Ok(b.try_into().expect("N bytes"))
            }
            None => self.fail("cut short"),
        }
    }

    fn u32(&mut self) -> Result<u32, UnpackError> {
        self.take().map(u32::from_le_bytes)
    }

    fn len(&mut self) -> Result<usize, UnpackError> {
        self.u32().map(|n| n as usize)
    }

    fn f64(&mut self) -> Result<f64, UnpackError> {
        self.take().map(f64::from_le_bytes)
    }

    fn flag(&mut self) -> Result<bool, UnpackError> {
        self.take::<1>().map(|[b]| b != 0)
    }

    fn text(&mut self, len: usize) -> Result<String, UnpackError> {
        let Some(bytes) = self.bytes.get(self.at..self.at + len) else {
            return self.fail("cut short");
        };
        let text = std::str::from_utf8(bytes).or_else(|_| self.fail("text not UTF-8"))?;
        self.at += len;
        Ok(text.to_string())
    }

    fn str(&mut self) -> Result<String, UnpackError> {
        let len = self.len()?;
        self.text(len)
    }

    fn opt_str(&mut self) -> Result<Option<String>, UnpackError> {
        match self.u32()? {
            u32::MAX => Ok(None),
            len => self.text(len as usize).map(Some),
        }
    }

    fn point(&mut self) -> Result<World, UnpackError> {
        Ok(World {
            x: self.f64()?,
            y: self.f64()?,
        })
    }

    /// A list of `len` items, never reserving more than the bytes left could hold.
    fn list<T>(
        &mut self,
        min_item_bytes: usize,
        mut item: impl FnMut(&mut Self) -> Result<T, UnpackError>,
    ) -> Result<Vec<T>, UnpackError> {
        let len = self.len()?;
        let room = (self.bytes.len() - self.at) / min_item_bytes.max(1);
        let mut items = Vec::with_capacity(len.min(room));
        for _ in 0..len {
            items.push(item(self)?);
        }
        Ok(items)
    }

    fn points(&mut self) -> Result<Vec<World>, UnpackError> {
        self.list(16, Self::point)
    }

    fn bounds(&mut self) -> Result<Bounds, UnpackError> {
        Ok(Bounds {
            min: self.point()?,
            max: self.point()?,
        })
    }
}

impl Packed for Area {
    fn pack(&self, out: &mut Vec<u8>) {
        put_str(out, &self.id);
        put_len(out, self.polygons.len());
        for rings in &self.polygons {
            put_len(out, rings.len());
            for ring in rings {
                put_points(out, ring);
            }
        }
        put_bounds(out, self.bounds);
        put_point(out, self.label_at);
        put_opt_str(out, self.name.as_deref());
        put_opt_str(out, self.name_en.as_deref());
        out.push(self.commercial.into());
        put_str(out, self.properties.as_str());
    }

    fn unpack(r: &mut Reader<'_>) -> Result<Self, UnpackError> {
        Ok(Area {
            id: r.str()?,
            polygons: r.list(4, |r| r.list(4, Reader::points))?,
            bounds: r.bounds()?,
            label_at: r.point()?,
            name: r.opt_str()?,
            name_en: r.opt_str()?,
            commercial: r.flag()?,
            properties: RawProperties::from(r.str()?),
        })
    }
}

impl Packed for Line {
    fn pack(&self, out: &mut Vec<u8>) {
        put_str(out, &self.id);
        put_len(out, self.parts.len());
        for part in &self.parts {
            put_points(out, part);
        }
        put_bounds(out, self.bounds);
        out.push(self.primary.into());
        match self.width_m {
            Some(w) => {
                out.push(1);
                put_f64(out, w);
            }
            None => out.push(0),
        }
        put_str(out, self.properties.as_str());
    }

    fn unpack(r: &mut Reader<'_>) -> Result<Self, UnpackError> {
        Ok(Line {
            id: r.str()?,
            parts: r.list(4, Reader::points)?,
            bounds: r.bounds()?,
            primary: r.flag()?,
            width_m: if r.flag()? { Some(r.f64()?) } else { None },
            properties: RawProperties::from(r.str()?),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::map::layers::{project_area, project_lines};
    use linli_domain::place::{Feature, FeatureCollection, Geometry, Properties};

    fn feature(id: &str, geometry: Geometry, properties: serde_json::Value) -> Feature<Properties> {
        Feature {
            id: id.into(),
            geometry,
            properties: serde_json::from_value(properties).unwrap(),
        }
    }

    fn square(x: f64) -> Vec<Vec<[f64; 2]>> {
        vec![vec![
            [x, 31.8],
            [x + 0.001, 31.8],
            [x + 0.001, 31.801],
            [x, 31.801],
            [x, 31.8],
        ]]
    }

    fn areas() -> Vec<Area> {
        [
            feature(
                "b-1",
                Geometry::Polygon(square(117.3)),
                serde_json::json!({"name": "一号楼", "use": "commercial"}),
            ),
            feature(
                "b-2",
                Geometry::MultiPolygon(vec![square(117.31), square(117.32)]),
                serde_json::json!({"name_en": "Block 2", "floors": 6}),
            ),
            feature(
                "b-3",
                Geometry::Polygon(square(117.33)),
                serde_json::json!({}),
            ),
        ]
        .into_iter()
        .filter_map(project_area)
        .collect()
    }

    #[test]
    fn areas_and_lines_come_back_as_they_went() {
        let areas = areas();
        assert_eq!(areas.len(), 3);
        assert_eq!(unpack::<Area>(&pack(&areas)).unwrap(), areas);

        let lines = project_lines(FeatureCollection {
            features: vec![
                feature(
                    "r-1",
                    Geometry::LineString(vec![[117.3, 31.8], [117.31, 31.81]]),
                    serde_json::json!({"class": "primary", "width_m": 12.5}),
                ),
                feature(
                    "r-2",
                    Geometry::MultiLineString(vec![
                        vec![[117.3, 31.8], [117.3, 31.9]],
                        vec![[117.4, 31.8], [117.5, 31.8]],
                    ]),
                    serde_json::json!({"name": "同安路"}),
                ),
            ],
        });
        assert_eq!(lines.len(), 2);
        assert_eq!(unpack::<Line>(&pack(&lines)).unwrap(), lines);
    }

    #[test]
    fn unpacks_in_slices() {
        let areas = areas();
        let bytes = pack(&areas);
        let mut unpacking = Unpacking::<Area>::start(&bytes).unwrap();
        assert!(!unpacking.next(2).unwrap());
        assert!(unpacking.next(2).unwrap());
        assert_eq!(unpacking.finish().unwrap(), areas);
    }

    #[test]
    fn refuses_damaged_buffers_without_panicking() {
        let bytes = pack(&areas());
        // Every cut short of the end fails, none panics.
        for end in 0..bytes.len() {
            assert!(unpack::<Area>(&bytes[..end]).is_err(), "cut at {end}");
        }
        // A count far beyond the bytes reserves nothing huge and fails.
        let mut huge = bytes.clone();
        huge[..4].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(unpack::<Area>(&huge).is_err());
        // Bytes after the last feature.
        let mut longer = bytes.clone();
        longer.push(0);
        assert_eq!(
            unpack::<Area>(&longer).unwrap_err().what,
            "bytes after the last feature"
        );
        // A name that is not UTF-8: the first feature's id starts at byte 8.
        let mut broken = bytes;
        broken[8] = 0xff;
        assert_eq!(unpack::<Area>(&broken).unwrap_err().what, "text not UTF-8");
    }
}
