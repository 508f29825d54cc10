//! Layers: projected features plus a viewport in, draw commands out.

use super::draw::{DrawCommand, Stroke};
use super::projection::{project, World};
use super::theme::Palette;
use super::viewport::{Bounds, Viewport};
use linli_domain::place::{CommunityLayer, Geometry};

/// A community projected to world metres, ready to draw at any viewport.
#[derive(Debug, Clone, PartialEq)]
pub struct ProjectedCommunity {
    pub name: String,
    pub name_en: String,
    /// Polygons, each a list of rings (outer first).
    pub polygons: Vec<Vec<Vec<World>>>,
    pub bounds: Bounds,
    /// Where the name goes: the area-weighted centre of the largest outer ring.
    pub label_at: World,
}

/// Projects the communities layer once, when it arrives.
pub fn project_communities(layer: &CommunityLayer) -> Vec<ProjectedCommunity> {
    layer
        .features
        .iter()
        .filter_map(|feature| {
            let polygons: Vec<Vec<Vec<World>>> = match &feature.geometry {
                Geometry::Polygon(rings) => vec![project_rings(rings)],
                Geometry::MultiPolygon(polys) => polys.iter().map(|r| project_rings(r)).collect(),
                _ => return None,
            };
            let bounds = Bounds::around(polygons.iter().flatten().flatten().copied())?;
            let largest = polygons
                .iter()
                .filter_map(|p| p.first())
                .max_by(|a, b| ring_area(a).abs().total_cmp(&ring_area(b).abs()))?;
            Some(ProjectedCommunity {
                name: feature.properties.name.clone(),
                name_en: feature.properties.name_en.clone(),
                label_at: ring_centroid(largest).unwrap_or(bounds.centre()),
                polygons,
                bounds,
            })
        })
        .collect()
}

fn project_rings(rings: &[Vec<[f64; 2]>]) -> Vec<Vec<World>> {
    rings
        .iter()
        .map(|ring| ring.iter().map(|&p| project(p.into())).collect())
        .collect()
}

/// Signed area (shoelace), positive for counter-clockwise rings. Computed relative to
/// the first vertex: Web Mercator values are ~10⁷ m, and their products would cancel.
fn ring_area(ring: &[World]) -> f64 {
    let Some(&o) = ring.first() else { return 0.0 };
    ring.windows(2)
        .map(|w| (w[0].x - o.x) * (w[1].y - o.y) - (w[1].x - o.x) * (w[0].y - o.y))
        .sum::<f64>()
        / 2.0
}

fn ring_centroid(ring: &[World]) -> Option<World> {
    let &o = ring.first()?;
    let area = ring_area(ring);
    if area.abs() < f64::EPSILON {
        return None;
    }
    let (mut cx, mut cy) = (0.0, 0.0);
    for w in ring.windows(2) {
        let (a, b) = ((w[0].x - o.x, w[0].y - o.y), (w[1].x - o.x, w[1].y - o.y));
        let cross = a.0 * b.1 - b.0 * a.1;
        cx += (a.0 + b.0) * cross;
        cy += (a.1 + b.1) * cross;
    }
    Some(World {
        x: o.x + cx / (6.0 * area),
        y: o.y + cy / (6.0 * area),
    })
}

/// Community boundaries, tinted, with their names in the chosen language.
pub fn communities(
    items: &[ProjectedCommunity],
    viewport: &Viewport,
    palette: &Palette,
    chinese_names: bool,
) -> Vec<DrawCommand> {
    let visible = viewport.visible();
    let mut fills = Vec::new();
    let mut labels = Vec::new();
    for (i, c) in items.iter().enumerate() {
        let b = c.bounds;
        if b.max.x < visible.min.x
            || b.min.x > visible.max.x
            || b.max.y < visible.min.y
            || b.min.y > visible.max.y
        {
            continue;
        }
        for polygon in &c.polygons {
            fills.push(DrawCommand::Polygon {
                rings: polygon
                    .iter()
                    .map(|ring| ring.iter().map(|&w| viewport.to_screen(w)).collect())
                    .collect(),
                fill: Some(palette.community_fills[i % palette.community_fills.len()]),
                stroke: Some(Stroke {
                    colour: palette.community_border,
                    width: 2.0,
                }),
            });
        }
        // Names scale with the community's size on screen, within readable limits.
        let size_px = (b.width().min(b.height()) / viewport.resolution / 8.0).clamp(11.0, 28.0);
        labels.push(DrawCommand::Label {
            at: viewport.to_screen(c.label_at),
            text: if chinese_names {
                c.name.clone()
            } else {
                c.name_en.clone()
            },
            size_px,
            colour: palette.label,
            halo: palette.label_halo,
        });
    }
    // Labels last, so no fill covers a name.
    fills.extend(labels);
    fills
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::map::theme::Theme;
    use linli_domain::place::{CommunityProperties, Feature, FeatureCollection};
    use linli_domain::CommunityId;

    fn square(id: &str, lon: f64) -> Feature<CommunityProperties> {
        let ring = vec![
            [lon, 31.84],
            [lon + 0.01, 31.84],
            [lon + 0.01, 31.85],
            [lon, 31.85],
            [lon, 31.84],
        ];
        Feature {
            id: id.into(),
            geometry: Geometry::Polygon(vec![ring]),
            properties: CommunityProperties {
                id: CommunityId::parse(id).unwrap(),
                name: format!("{id}-zh"),
                name_en: format!("{id}-en"),
            },
        }
    }

    #[test]
    fn draws_each_visible_community_and_its_name_on_top() {
        let layer = FeatureCollection {
            features: vec![square("a", 117.30), square("b", 117.31)],
        };
        let items = project_communities(&layer);
        let all = Bounds::around(items.iter().flat_map(|c| [c.bounds.min, c.bounds.max])).unwrap();
        let view = Viewport::fit(all, 800.0, 600.0, 20.0);
        let commands = communities(&items, &view, &Theme::Light.palette(), true);
        assert_eq!(commands.len(), 4);
        assert!(matches!(commands[0], DrawCommand::Polygon { .. }));
        match &commands[3] {
            DrawCommand::Label { text, at, .. } => {
                assert_eq!(text, "b-zh");
                assert!(at.x > 400.0, "b lies east, right of the middle: {at:?}");
            }
            other => panic!("expected a label, got {other:?}"),
        }
    }

    #[test]
    fn skips_communities_outside_the_view() {
        let layer = FeatureCollection {
            features: vec![square("a", 117.30), square("far", 120.0)],
        };
        let items = project_communities(&layer);
        let view = Viewport::fit(items[0].bounds, 800.0, 600.0, 20.0);
        let commands = communities(&items, &view, &Theme::Dark.palette(), false);
        assert_eq!(commands.len(), 2, "one fill and one label");
    }

    #[test]
    fn the_label_sits_inside_its_square() {
        let items = project_communities(&FeatureCollection {
            features: vec![square("a", 117.30)],
        });
        let (c, b) = (items[0].label_at, items[0].bounds);
        assert!((c.x - b.centre().x).abs() < 1e-6 && (c.y - b.centre().y).abs() < 1e-6);
    }
}
