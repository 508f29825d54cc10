//! Places of the subdistrict as the layers API serves them: a GeoJSON FeatureCollection
//! (RFC 7946, WGS84 longitude/latitude) whose features carry typed properties.

use crate::CommunityId;
use serde::{Deserialize, Serialize};

/// Properties of an imported or generated feature, kept as they came (GeoJSON's
/// `properties` object). Linli reads conventional keys such as `name`, `community`,
/// `compound`, `levels`, `class`.
pub type Properties = serde_json::Map<String, serde_json::Value>;

/// A position, `[longitude, latitude]` in degrees, as GeoJSON orders it.
pub type Position = [f64; 2];

/// A closed ring: first and last positions are equal.
pub type Ring = Vec<Position>;

/// The geometries Linli stores. Polygons list the outer ring first, then holes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", content = "coordinates")]
pub enum Geometry {
    Point(Position),
    LineString(Vec<Position>),
    MultiLineString(Vec<Vec<Position>>),
    Polygon(Vec<Ring>),
    MultiPolygon(Vec<Vec<Ring>>),
}

impl Geometry {
    /// The outer ring of a Polygon, or of a MultiPolygon's first polygon.
    pub fn outer_ring(&self) -> Option<&Ring> {
        match self {
            Geometry::Polygon(rings) => rings.first(),
            Geometry::MultiPolygon(polys) => polys.first().and_then(|p| p.first()),
            _ => None,
        }
    }

    /// Every position of the geometry, in order.
    pub fn positions(&self) -> Box<dyn Iterator<Item = Position> + '_> {
        match self {
            Geometry::Point(p) => Box::new(std::iter::once(*p)),
            Geometry::LineString(line) => Box::new(line.iter().copied()),
            Geometry::MultiLineString(lines) | Geometry::Polygon(lines) => {
                Box::new(lines.iter().flatten().copied())
            }
            Geometry::MultiPolygon(polys) => Box::new(polys.iter().flatten().flatten().copied()),
        }
    }
}

/// A GeoJSON Feature with properties of type `P`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename = "Feature")]
pub struct Feature<P> {
    pub id: String,
    pub geometry: Geometry,
    pub properties: P,
}

/// A GeoJSON FeatureCollection with properties of type `P`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename = "FeatureCollection")]
pub struct FeatureCollection<P> {
    pub features: Vec<Feature<P>>,
}

/// Properties of a community (社区) feature.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CommunityProperties {
    pub id: CommunityId,
    /// The Chinese name, e.g. 幸福里.
    pub name: String,
    /// The pinyin or English name, e.g. Xingfuli.
    pub name_en: String,
}

/// `GET /api/v1/layers/communities`.
pub type CommunityLayer = FeatureCollection<CommunityProperties>;

/// The base-map layers of `GET /api/v1/layers/{layer}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum LayerName {
    Communities,
    Grids,
    Buildings,
    Roads,
}

impl LayerName {
    pub const ALL: [LayerName; 4] = [
        LayerName::Communities,
        LayerName::Grids,
        LayerName::Buildings,
        LayerName::Roads,
    ];

    /// The name in URLs, the command line and the database.
    pub fn as_str(self) -> &'static str {
        match self {
            LayerName::Communities => "communities",
            LayerName::Grids => "grids",
            LayerName::Buildings => "buildings",
            LayerName::Roads => "roads",
        }
    }

    pub fn parse(value: &str) -> Option<LayerName> {
        LayerName::ALL.into_iter().find(|l| l.as_str() == value)
    }
}

/// `GET /api/v1/layers/{grids|buildings|roads}`.
pub type Layer = FeatureCollection<Properties>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_community_layer_reads_and_writes_rfc7946_json() {
        let json = r#"{"type":"FeatureCollection","features":[{"type":"Feature","id":"xingfuli",
            "geometry":{"type":"Polygon","coordinates":[[[117.3,31.84],[117.31,31.84],[117.31,31.85],[117.3,31.84]]]},
            "properties":{"id":"xingfuli","name":"幸福里","name_en":"Xingfuli"}}]}"#;
        let layer: CommunityLayer = serde_json::from_str(json).unwrap();
        assert_eq!(layer.features[0].properties.name, "幸福里");
        assert_eq!(layer.features[0].geometry.positions().count(), 4);
        let back = serde_json::to_value(&layer).unwrap();
        assert_eq!(back["type"], "FeatureCollection");
        assert_eq!(back["features"][0]["geometry"]["type"], "Polygon");
    }
}
