//! The compact form of a layer: the same features as the GeoJSON FeatureCollection,
//! in a fraction of the bytes and parsed in a fraction of the time. The app asks for it
//! (`GET /api/v1/layers/{layer}?format=compact`) because 100,000 buildings as GeoJSON
//! take a second to parse in the browser; outside tools use the GeoJSON.
//!
//! Layout (version 1), all integers LEB128 varints unless noted:
//!
//! ```text
//! "LNLC" (4 bytes) · version (1 byte) · feature count
//! per feature:  id length · id (UTF-8) · geometry kind (1 byte) · geometry
//! properties:   length · a JSON array with one object per feature, in order
//! ```
//!
//! Geometry kinds: 0 Point, 1 LineString, 2 MultiLineString, 3 Polygon, 4 MultiPolygon.
//! A geometry is its nesting of counts (parts, rings, positions) with the positions
//! inline. A position is longitude and latitude in units of 10⁻⁷ degree (about 1 cm,
//! the precision of OpenStreetMap), each stored as the zigzag-encoded difference from
//! the previous position of the layer, so neighbouring points cost a byte or two.

use crate::place::{Feature, FeatureCollection, Geometry, Layer, Position};
use serde::de::DeserializeOwned;
use serde::Serialize;

const MAGIC: &[u8; 4] = b"LNLC";
const VERSION: u8 = 1;
/// Units per degree.
const SCALE: f64 = 1e7;

/// The media type of the compact form.
pub const MEDIA_TYPE: &str = "application/vnd.linli.layer";

/// Why bytes are not a compact layer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError(pub String);

impl std::fmt::Display for DecodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "not a compact layer: {}", self.0)
    }
}

impl std::error::Error for DecodeError {}

struct Writer {
    bytes: Vec<u8>,
    last: [i64; 2],
}

impl Writer {
    fn varint(&mut self, mut n: u64) {
        loop {
            let byte = (n & 0x7f) as u8;
            n >>= 7;
            if n == 0 {
                self.bytes.push(byte);
                return;
            }
            self.bytes.push(byte | 0x80);
        }
    }

    fn count(&mut self, n: usize) {
        self.varint(n as u64);
    }

    fn position(&mut self, p: Position) {
        for (axis, value) in p.into_iter().enumerate() {
            let units = (value * SCALE).round() as i64;
            let delta = units - self.last[axis];
            self.last[axis] = units;
            self.varint(((delta << 1) ^ (delta >> 63)) as u64);
        }
    }

    fn positions(&mut self, ps: &[Position]) {
        self.count(ps.len());
        for &p in ps {
            self.position(p);
        }
    }

    fn nested(&mut self, parts: &[Vec<Position>]) {
        self.count(parts.len());
        for part in parts {
            self.positions(part);
        }
    }
}

/// Encodes features with any serialisable properties.
pub fn encode<P: Serialize>(
    collection: &FeatureCollection<P>,
) -> Result<Vec<u8>, serde_json::Error> {
    let mut w = Writer {
        bytes: Vec::with_capacity(64 + collection.features.len() * 48),
        last: [0, 0],
    };
    w.bytes.extend_from_slice(MAGIC);
    w.bytes.push(VERSION);
    w.count(collection.features.len());
    for feature in &collection.features {
        w.count(feature.id.len());
        w.bytes.extend_from_slice(feature.id.as_bytes());
        match &feature.geometry {
            Geometry::Point(p) => {
                w.bytes.push(0);
                w.position(*p);
            }
            Geometry::LineString(line) => {
                w.bytes.push(1);
                w.positions(line);
            }
            Geometry::MultiLineString(lines) => {
                w.bytes.push(2);
                w.nested(lines);
            }
            Geometry::Polygon(rings) => {
                w.bytes.push(3);
                w.nested(rings);
            }
            Geometry::MultiPolygon(polygons) => {
                w.bytes.push(4);
                w.count(polygons.len());
                for rings in polygons {
                    w.nested(rings);
                }
            }
        }
    }
    let properties: Vec<&P> = collection.features.iter().map(|f| &f.properties).collect();
    let json = serde_json::to_vec(&properties)?;
    w.count(json.len());
    w.bytes.extend_from_slice(&json);
    Ok(w.bytes)
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
    last: [i64; 2],
}

impl Reader<'_> {
    fn fail<T>(&self, what: &str) -> Result<T, DecodeError> {
        Err(DecodeError(format!("{what} at byte {}", self.at)))
    }

    fn byte(&mut self) -> Result<u8, DecodeError> {
        let Some(&b) = self.bytes.get(self.at) else {
            return self.fail("truncated");
        };
        self.at += 1;
        Ok(b)
    }

    fn varint(&mut self) -> Result<u64, DecodeError> {
        let mut n = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            n |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(n);
            }
        }
        self.fail("a number too long")
    }

    /// A count of things that each take at least one more byte: never more than the
    /// bytes left, so a corrupt count cannot make us allocate gigabytes.
    fn count(&mut self) -> Result<usize, DecodeError> {
        let n = self.varint()?;
        if n > (self.bytes.len() - self.at) as u64 {
            return self.fail("a count larger than the data");
        }
        Ok(n as usize)
    }

    fn slice(&mut self, len: usize) -> Result<&[u8], DecodeError> {
        let end = self.at + len;
        let Some(s) = self.bytes.get(self.at..end) else {
            return self.fail("truncated");
        };
        self.at = end;
        Ok(s)
    }

    fn position(&mut self) -> Result<Position, DecodeError> {
        let mut p = [0.0; 2];
        for (axis, value) in p.iter_mut().enumerate() {
            let z = self.varint()?;
            let delta = (z >> 1) as i64 ^ -((z & 1) as i64);
            self.last[axis] = self.last[axis].wrapping_add(delta);
            *value = self.last[axis] as f64 / SCALE;
        }
        if !(-180.0..=180.0).contains(&p[0]) || !(-90.0..=90.0).contains(&p[1]) {
            return self.fail("a position outside longitude/latitude range");
        }
        Ok(p)
    }

    fn positions(&mut self) -> Result<Vec<Position>, DecodeError> {
        let n = self.count()?;
        (0..n).map(|_| self.position()).collect()
    }

    fn nested(&mut self) -> Result<Vec<Vec<Position>>, DecodeError> {
        let n = self.count()?;
        (0..n).map(|_| self.positions()).collect()
    }
}

/// Decodes a compact layer; properties come back as JSON objects.
pub fn decode(bytes: &[u8]) -> Result<Layer, DecodeError> {
    decode_as(bytes)
}

/// Decodes a compact layer with properties of type `P`: e.g. `Box<RawValue>` to keep
/// each feature's properties as JSON text and read them only when needed.
pub fn decode_as<P: DeserializeOwned>(bytes: &[u8]) -> Result<FeatureCollection<P>, DecodeError> {
    let mut decoding = Decoding::start(bytes)?;
    while !decoding.shapes(usize::MAX)? {}
    decoding.finish()
}

/// A compact layer decoded a slice at a time, so that a browser can let input in
/// between slices of a large layer: [`Decoding::start`] reads the header,
/// [`Decoding::shapes`] the next shapes, [`Decoding::finish`] the properties.
pub struct Decoding<'a> {
    reader: Reader<'a>,
    shapes: Vec<(String, Geometry)>,
    /// Shapes the header announced.
    count: usize,
}

impl<'a> Decoding<'a> {
    /// Checks the signature and version and reads how many features follow.
    pub fn start(bytes: &'a [u8]) -> Result<Self, DecodeError> {
        let mut reader = Reader {
            bytes,
            at: 0,
            last: [0, 0],
        };
        if reader.slice(4)? != MAGIC {
            return reader.fail("no LNLC signature");
        }
        let version = reader.byte()?;
        if version != VERSION {
            return reader.fail(&format!("version {version}, this reads {VERSION}"));
        }
        let count = reader.count()?;
        Ok(Decoding {
            // Never more room than the bytes could hold (a count is not trusted).
            shapes: Vec::with_capacity(count.min(bytes.len())),
            reader,
            count,
        })
    }

    /// Decodes up to `max` more shapes; `true` once every shape is in.
    pub fn shapes(&mut self, max: usize) -> Result<bool, DecodeError> {
        let r = &mut self.reader;
        for _ in 0..max.min(self.count - self.shapes.len()) {
            let len = r.count()?;
            let at = r.at;
            let id = std::str::from_utf8(r.slice(len)?)
                .map_err(|_| DecodeError(format!("an id that is not UTF-8 at byte {at}")))?
                .to_string();
            let geometry = match r.byte()? {
                0 => Geometry::Point(r.position()?),
                1 => Geometry::LineString(r.positions()?),
                2 => Geometry::MultiLineString(r.nested()?),
                3 => Geometry::Polygon(r.nested()?),
                4 => {
                    let polygons = r.count()?;
                    Geometry::MultiPolygon(
                        (0..polygons)
                            .map(|_| r.nested())
                            .collect::<Result<_, _>>()?,
                    )
                }
                kind => return r.fail(&format!("geometry kind {kind}")),
            };
            self.shapes.push((id, geometry));
        }
        Ok(self.shapes.len() == self.count)
    }

    /// Reads the properties (one JSON array, after every shape) and joins them to the
    /// shapes; refuses a layer whose shapes are not all read or with bytes left over.
    pub fn finish<P: DeserializeOwned>(mut self) -> Result<FeatureCollection<P>, DecodeError> {
        let n = self.count;
        if self.shapes.len() != n {
            return self
                .reader
                .fail(&format!("{} of {n} shapes read", self.shapes.len()));
        }
        let r = &mut self.reader;
        let len = r.count()?;
        let properties: Vec<P> = serde_json::from_slice(r.slice(len)?)
            .map_err(|e| DecodeError(format!("properties: {e}")))?;
        if properties.len() != n {
            return Err(DecodeError(format!(
                "{} property objects for {n} features",
                properties.len()
            )));
        }
        if r.at != r.bytes.len() {
            return r.fail("trailing data");
        }
        Ok(FeatureCollection {
            features: self
                .shapes
                .into_iter()
                .zip(properties)
                .map(|((id, geometry), properties)| Feature {
                    id,
                    geometry,
                    properties,
                })
                .collect(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::place::Properties;
    use serde_json::json;

    fn feature(id: &str, geometry: Geometry, properties: serde_json::Value) -> Feature<Properties> {
        Feature {
            id: id.into(),
            geometry,
            properties: properties.as_object().cloned().unwrap_or_default(),
        }
    }

    fn sample() -> Layer {
        let square =
            |x: f64, y: f64, s: f64| vec![[x, y], [x + s, y], [x + s, y + s], [x, y + s], [x, y]];
        FeatureCollection {
            features: vec![
                feature(
                    "b-1",
                    Geometry::Polygon(vec![
                        square(117.3051234, 31.8451234, 0.001),
                        square(117.3053, 31.8453, 0.0002),
                    ]),
                    json!({"name": "1号楼", "levels": 6}),
                ),
                feature(
                    "b-2",
                    Geometry::MultiPolygon(vec![
                        vec![square(117.31, 31.85, 0.0003)],
                        vec![square(-179.9999999, -89.9999999, 0.0000001)],
                    ]),
                    json!({}),
                ),
                feature(
                    "r-1",
                    Geometry::LineString(vec![[117.3, 31.84], [117.31, 31.845]]),
                    json!({"class": "primary", "width_m": 24.5}),
                ),
                feature(
                    "r-2",
                    Geometry::MultiLineString(vec![
                        vec![[180.0, 90.0], [-180.0, -90.0]],
                        vec![[0.0, 0.0], [0.0000001, -0.0000001]],
                    ]),
                    json!({"nested": {"a": [1, 2]}}),
                ),
                feature("p", Geometry::Point([117.305, 31.845]), json!({"id": "p"})),
            ],
        }
    }

    #[test]
    fn round_trips_every_geometry_and_properties_to_a_centimetre() {
        let layer = sample();
        let bytes = encode(&layer).expect("encodes");
        let back = decode(&bytes).expect("decodes");
        assert_eq!(back.features.len(), layer.features.len());
        for (a, b) in layer.features.iter().zip(&back.features) {
            assert_eq!(a.id, b.id);
            assert_eq!(a.properties, b.properties);
            let (pa, pb): (Vec<_>, Vec<_>) = (
                a.geometry.positions().collect(),
                b.geometry.positions().collect(),
            );
            assert_eq!(pa.len(), pb.len());
            for (p, q) in pa.iter().zip(&pb) {
                assert!(
                    (p[0] - q[0]).abs() < 0.6e-7 && (p[1] - q[1]).abs() < 0.6e-7,
                    "{p:?} vs {q:?}"
                );
            }
            // Same kind of geometry with the same nesting.
            assert_eq!(
                std::mem::discriminant(&a.geometry),
                std::mem::discriminant(&b.geometry)
            );
        }
        // Positions already on the 10⁻⁷ degree grid come back exactly.
        let again = decode(&encode(&back).expect("encodes")).expect("decodes");
        assert_eq!(again, back);
    }

    #[test]
    fn decoding_a_slice_at_a_time_gives_the_same_layer_and_needs_every_slice() {
        let bytes = encode(&sample()).expect("encodes");
        let whole = decode(&bytes).expect("decodes");
        let mut decoding = Decoding::start(&bytes).expect("a header");
        let mut slices = 1;
        while !decoding.shapes(2).expect("shapes") {
            slices += 1;
        }
        assert!(slices > 1, "the sample is more than one slice of two");
        assert_eq!(decoding.finish::<Properties>().expect("properties"), whole);
        // Properties asked for before every shape is read: refused, not misjoined.
        let mut early = Decoding::start(&bytes).expect("a header");
        early.shapes(1).expect("a shape");
        let refused = early.finish::<Properties>().unwrap_err().0;
        assert!(refused.contains("shapes read"), "{refused}");
    }

    #[test]
    fn is_much_smaller_than_geojson() {
        let layer = sample();
        let compact = encode(&layer).expect("encodes").len();
        let geojson = serde_json::to_vec(&layer).expect("serialises").len();
        assert!(
            compact * 2 < geojson,
            "compact {compact} B, GeoJSON {geojson} B"
        );
    }

    #[test]
    fn refuses_damaged_bytes_without_panicking() {
        let bytes = encode(&sample()).expect("encodes");
        // Every truncation is refused, none panics.
        for len in 0..bytes.len() {
            assert!(
                decode(&bytes[..len]).is_err(),
                "accepted {len} of {} bytes",
                bytes.len()
            );
        }
        // Every single-byte corruption either fails cleanly or decodes to something.
        for i in 0..bytes.len() {
            let mut damaged = bytes.clone();
            damaged[i] ^= 0x5a;
            let _ = decode(&damaged);
        }
        let mut trailing = bytes.clone();
        trailing.push(0);
        assert!(decode(&trailing).unwrap_err().0.contains("trailing"));
        let mut other_version = bytes.clone();
        other_version[4] = 9;
        assert!(decode(&other_version).unwrap_err().0.contains("version 9"));
        assert!(decode(b"{\"type\":\"FeatureCollection\"}")
            .unwrap_err()
            .0
            .contains("signature"));
        // A count of a billion features in a few bytes is refused before allocating.
        let mut huge = b"LNLC\x01".to_vec();
        huge.extend_from_slice(&[0x80, 0x94, 0xeb, 0xdc, 0x03]);
        assert!(decode(&huge).unwrap_err().0.contains("count larger"));
    }
}
