//! Layers: projected features plus a viewport in, draw commands out; and hit testing,
//! which answers "what is under this pixel" from the same projected features.

use super::draw::{DrawCommand, Shapes, Stroke};
use super::index::{Bounded, Indexed};
use super::projection::{project, Screen, World};
use super::theme::Palette;
use super::viewport::{Bounds, Viewport};
use linli_domain::geometry::{distance_to_line, point_in_polygon, ring_area, ring_centroid, Xy};
use linli_domain::place::{Feature, FeatureCollection, Geometry, Properties};
use linli_domain::Timestamp;

/// A feature's properties as the JSON text that came with it, read in full only when
/// someone opens the feature (100,000 buildings need not become 100,000 parsed maps in
/// memory). What drawing needs is read once into [`Area`] and [`Line`] fields.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RawProperties(Box<str>);

impl RawProperties {
    /// The JSON text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// All properties, parsed.
    pub fn parse(&self) -> Properties {
        serde_json::from_str(&self.0).unwrap_or_default()
    }

    /// The text of one property, if it is a string.
    pub fn text(&self, key: &str) -> Option<String> {
        text(&self.parse(), key).map(str::to_string)
    }

    fn glimpse(&self) -> Glimpse<'_> {
        serde_json::from_str(&self.0).unwrap_or_default()
    }
}

impl From<String> for RawProperties {
    fn from(json: String) -> Self {
        RawProperties(json.into())
    }
}

impl From<Box<serde_json::value::RawValue>> for RawProperties {
    fn from(raw: Box<serde_json::value::RawValue>) -> Self {
        RawProperties(raw.get().into())
    }
}

impl From<Properties> for RawProperties {
    fn from(properties: Properties) -> Self {
        RawProperties(serde_json::Value::Object(properties).to_string().into())
    }
}

/// The few properties that drawing uses, read without building the whole object.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
struct Glimpse<'a> {
    #[serde(rename = "use", borrow)]
    usage: Option<std::borrow::Cow<'a, str>>,
    name: Option<String>,
    name_en: Option<String>,
    #[serde(borrow)]
    class: Option<std::borrow::Cow<'a, str>>,
    width_m: Option<f64>,
}

/// A polygon feature projected to world metres, ready to draw at any viewport.
#[derive(Debug, Clone, PartialEq)]
pub struct Area {
    pub id: String,
    /// Polygons, each a list of rings (outer first).
    pub polygons: Vec<Vec<Vec<World>>>,
    pub bounds: Bounds,
    /// Where a name goes: the centre of the largest outer ring.
    pub label_at: World,
    /// `properties.name` and `name_en`.
    pub name: Option<String>,
    pub name_en: Option<String>,
    /// Drawn in the commercial colour (`properties.use` is `commercial`).
    pub commercial: bool,
    pub properties: RawProperties,
}

/// A line feature projected to world metres.
#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    pub id: String,
    pub parts: Vec<Vec<World>>,
    pub bounds: Bounds,
    /// A main road (`properties.class` is `primary`), else a side street.
    pub primary: bool,
    /// `properties.width_m`: how wide it is on the ground.
    pub width_m: Option<f64>,
    pub properties: RawProperties,
}

/// Everything the map draws, projected once when it arrives.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MapData {
    pub communities: Vec<Area>,
    pub grids: Vec<Area>,
    pub roads: Indexed<Line>,
    pub buildings: Indexed<Area>,
}

impl Bounded for Area {
    fn bounds(&self) -> Bounds {
        self.bounds
    }
}

impl Bounded for Line {
    fn bounds(&self) -> Bounds {
        self.bounds
    }
}

impl MapData {
    /// The box around all communities (the district), else around everything.
    pub fn extent(&self) -> Option<Bounds> {
        let corners = |b: &Bounds| [b.min, b.max];
        Bounds::around(self.communities.iter().flat_map(|a| corners(&a.bounds))).or_else(|| {
            Bounds::around(
                self.buildings
                    .iter()
                    .map(|a| a.bounds)
                    .chain(self.roads.iter().map(|l| l.bounds))
                    .flat_map(|b| corners(&b)),
            )
        })
    }
}

/// Projects in place: a ring of positions becomes a ring of world points in the same
/// allocation.
fn project_ring(ring: Vec<[f64; 2]>) -> Vec<World> {
    ring.into_iter().map(|p| project(p.into())).collect()
}

/// Projects the polygons of a layer, consuming it; other geometries are skipped.
pub fn project_areas<P: Into<RawProperties>>(layer: FeatureCollection<P>) -> Vec<Area> {
    layer
        .features
        .into_iter()
        .filter_map(project_area)
        .collect()
}

/// Projects one feature of an area layer; `None` for a geometry that is no polygon.
pub fn project_area<P: Into<RawProperties>>(feature: Feature<P>) -> Option<Area> {
    let polygons: Vec<Vec<Vec<World>>> = match feature.geometry {
        Geometry::Polygon(rings) => vec![rings.into_iter().map(project_ring).collect()],
        Geometry::MultiPolygon(polys) => polys
            .into_iter()
            .map(|rings| rings.into_iter().map(project_ring).collect())
            .collect(),
        _ => return None,
    };
    let bounds = Bounds::around(polygons.iter().flatten().flatten().copied())?;
    let largest = polygons
        .iter()
        .filter_map(|p| p.first())
        .max_by(|a, b| ring_area(a).abs().total_cmp(&ring_area(b).abs()))?;
    let label_at = ring_centroid(largest)
        .map(|[x, y]| World { x, y })
        .unwrap_or(bounds.centre());
    let properties: RawProperties = feature.properties.into();
    let glimpse = properties.glimpse();
    Some(Area {
        id: feature.id,
        polygons,
        bounds,
        label_at,
        name: glimpse.name,
        name_en: glimpse.name_en,
        commercial: glimpse.usage.as_deref() == Some("commercial"),
        properties,
    })
}

/// Projects the lines of a layer, consuming it; other geometries are skipped.
pub fn project_lines<P: Into<RawProperties>>(layer: FeatureCollection<P>) -> Vec<Line> {
    layer
        .features
        .into_iter()
        .filter_map(|feature| {
            let parts: Vec<Vec<World>> = match feature.geometry {
                Geometry::LineString(line) => vec![project_ring(line)],
                Geometry::MultiLineString(lines) => lines.into_iter().map(project_ring).collect(),
                _ => return None,
            };
            let bounds = Bounds::around(parts.iter().flatten().copied())?;
            let properties: RawProperties = feature.properties.into();
            let glimpse = properties.glimpse();
            Some(Line {
                id: feature.id,
                parts,
                bounds,
                primary: glimpse.class.as_deref() == Some("primary"),
                width_m: glimpse.width_m,
                properties,
            })
        })
        .collect()
}

fn overlaps(a: &Bounds, b: &Bounds) -> bool {
    a.min.x <= b.max.x && a.max.x >= b.min.x && a.min.y <= b.max.y && a.max.y >= b.min.y
}

fn to_screen<'a>(ring: &'a [World], viewport: &'a Viewport) -> impl Iterator<Item = Screen> + 'a {
    ring.iter().map(|&w| viewport.to_screen(w))
}

/// The text of a property, if it is a string.
pub fn text<'a>(properties: &'a Properties, key: &str) -> Option<&'a str> {
    properties.get(key).and_then(|v| v.as_str())
}

/// Which base layers are shown (communities always are: they are the frame).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct BaseShown {
    pub grids: bool,
    pub roads: bool,
    pub buildings: bool,
}

impl Default for BaseShown {
    fn default() -> Self {
        BaseShown {
            grids: true,
            roads: true,
            buildings: true,
        }
    }
}

/// The base map in drawing order: community tints, roads, buildings, grid and community
/// borders. Community names ([`community_names`]) go on top of everything, markers too.
pub fn draw_all(
    data: &MapData,
    viewport: &Viewport,
    palette: &Palette,
    shown: BaseShown,
) -> Vec<DrawCommand> {
    let visible = viewport.visible();
    let mut commands = Vec::new();
    for (i, c) in data.communities.iter().enumerate() {
        if overlaps(&c.bounds, &visible) {
            commands.push(DrawCommand::Polygons {
                rings: c
                    .polygons
                    .iter()
                    .flatten()
                    .map(|r| to_screen(r, viewport))
                    .collect(),
                fill: Some(palette.community_fills[i % palette.community_fills.len()]),
                stroke: None,
            });
        }
    }
    if shown.roads {
        commands.extend(roads(&data.roads, viewport, palette));
    }
    if shown.buildings {
        commands.extend(buildings(&data.buildings, viewport, palette));
    }
    let borders = |items: &[Area], colour, width| {
        let rings: Shapes = items
            .iter()
            .filter(|a| overlaps(&a.bounds, &visible))
            .flat_map(|a| a.polygons.iter().flatten().map(|r| to_screen(r, viewport)))
            .collect();
        (!rings.is_empty()).then_some(DrawCommand::Polygons {
            rings,
            fill: None,
            stroke: Some(Stroke { colour, width }),
        })
    };
    if shown.grids {
        commands.extend(borders(&data.grids, palette.grid_border, 1.0));
    }
    commands.extend(borders(&data.communities, palette.community_border, 2.0));
    commands
}

/// Streets as lines as wide as they are on the ground, at least a pixel.
pub fn roads(items: &Indexed<Line>, viewport: &Viewport, palette: &Palette) -> Vec<DrawCommand> {
    let visible = viewport.visible();
    let mut out = Vec::new();
    for (class, colour, default_width_m) in [
        ("secondary", palette.secondary_road, 16.0),
        ("primary", palette.primary_road, 24.0),
    ] {
        let mut width_m = default_width_m;
        let lines: Shapes = items
            .within(visible)
            .filter(|l| l.primary == (class == "primary"))
            .flat_map(|l| {
                width_m = l.width_m.unwrap_or(default_width_m);
                l.parts.iter().map(|p| to_screen(p, viewport))
            })
            .collect();
        if !lines.is_empty() {
            let width = (width_m / viewport.resolution).clamp(1.0, 60.0);
            out.push(DrawCommand::Lines {
                lines,
                stroke: Stroke { colour, width },
            });
        }
    }
    out
}

/// Footprints smaller than this on screen are drawn as their bounding box.
pub const SIMPLIFY_BELOW_PX: f64 = 4.0;
/// At most about this many rings go into one path.
const RINGS_PER_PATH: usize = 512;

/// Building footprints, residential and commercial in their own colours; outlined only
/// when they are large enough on screen for an outline to help.
pub fn buildings(
    items: &Indexed<Area>,
    viewport: &Viewport,
    palette: &Palette,
) -> Vec<DrawCommand> {
    let visible = viewport.visible();
    let outline = (viewport.resolution < 1.5).then_some(Stroke {
        colour: palette.building_border,
        width: 1.0,
    });
    let mut out = Vec::new();
    for (commercial, fill) in [
        (false, palette.building_fill),
        (true, palette.commercial_fill),
    ] {
        let mut rings = Shapes::default();
        let mut boxes = Vec::new();
        for a in items.within(visible).filter(|a| a.commercial == commercial) {
            // Level of detail: a footprint a few pixels wide is drawn as its box.
            if a.bounds.width().max(a.bounds.height()) / viewport.resolution < SIMPLIFY_BELOW_PX {
                let (lo, hi) = (
                    viewport.to_screen(a.bounds.min),
                    viewport.to_screen(a.bounds.max),
                );
                boxes.push([lo.x, hi.y, hi.x - lo.x, lo.y - hi.y]);
            } else {
                for ring in a.polygons.iter().flatten() {
                    rings.push(to_screen(ring, viewport));
                }
                // Paths of moderate size: a canvas fills many small paths faster than
                // one huge one (split between features, so holes stay with theirs).
                if rings.len() >= RINGS_PER_PATH {
                    out.push(DrawCommand::Polygons {
                        rings: std::mem::take(&mut rings),
                        fill: Some(fill),
                        stroke: outline.clone(),
                    });
                }
            }
        }
        if !boxes.is_empty() {
            out.push(DrawCommand::Rects { rects: boxes, fill });
        }
        if !rings.is_empty() {
            out.push(DrawCommand::Polygons {
                rings,
                fill: Some(fill),
                stroke: outline.clone(),
            });
        }
    }
    out
}

/// Community names in the chosen language, sized with the community on screen.
pub fn community_names(
    items: &[Area],
    viewport: &Viewport,
    palette: &Palette,
    chinese: bool,
) -> Vec<DrawCommand> {
    let visible = viewport.visible();
    items
        .iter()
        .filter(|c| overlaps(&c.bounds, &visible))
        .map(|c| {
            let b = c.bounds;
            let size_px = (b.width().min(b.height()) / viewport.resolution / 8.0).clamp(11.0, 28.0);
            let name = if chinese { &c.name } else { &c.name_en };
            let name = name.as_deref().unwrap_or(&c.id);
            DrawCommand::Label {
                at: viewport.to_screen(c.label_at),
                text: name.to_string(),
                size_px,
                colour: palette.label,
                halo: palette.label_halo,
            }
        })
        .collect()
}

/// What a click or tap found.
#[derive(Debug, Clone, PartialEq)]
pub enum Hit {
    /// A home and the name of its building, when the buildings layer knows it.
    Home(linli_domain::care::Home, Option<String>),
    Case(linli_domain::cases::CaseSummary),
    /// A route, the index of one of its checkpoints, and when the run out on the route
    /// passed it.
    Checkpoint(
        linli_domain::patrol::RouteProperties,
        usize,
        Option<Timestamp>,
    ),
    /// A patrol unit's run, with its route when the map knows it.
    Unit(
        linli_domain::patrol::PatrolRun,
        Option<linli_domain::patrol::RouteProperties>,
    ),
    Building(Area),
    Road(Line),
    Community(Area),
}

fn contains(area: &Area, p: World) -> bool {
    let b = area.bounds;
    b.min.x <= p.x
        && p.x <= b.max.x
        && b.min.y <= p.y
        && p.y <= b.max.y
        && area
            .polygons
            .iter()
            .any(|poly| point_in_polygon(Xy::from(p), poly))
}

/// The building standing on world point `p`, if any.
pub fn building_at(data: &MapData, p: World) -> Option<&Area> {
    data.buildings
        .within(Bounds { min: p, max: p })
        .find(|b| contains(b, p))
}

/// The community whose area holds world point `p`, if any.
pub fn community_at(data: &MapData, p: World) -> Option<&Area> {
    data.communities.iter().find(|c| contains(c, p))
}

/// How close to a road a tap must be, in CSS pixels: a finger is not a mouse pointer.
pub const ROAD_TOLERANCE_PX: f64 = 8.0;

/// The base-map feature under `at`: a building first, then a road within
/// [`ROAD_TOLERANCE_PX`], then the community. Hidden layers are not hit.
pub fn hit_test(data: &MapData, viewport: &Viewport, at: Screen, shown: BaseShown) -> Option<Hit> {
    let p = viewport.to_world(at);
    if let Some(b) = building_at(data, p).filter(|_| shown.buildings) {
        return Some(Hit::Building(b.clone()));
    }
    let tolerance = ROAD_TOLERANCE_PX * viewport.resolution;
    let near = Bounds {
        min: World {
            x: p.x - tolerance,
            y: p.y - tolerance,
        },
        max: World {
            x: p.x + tolerance,
            y: p.y + tolerance,
        },
    };
    let nearest_road = data
        .roads
        .within(near)
        .filter(|_| shown.roads)
        .map(|l| {
            let d = l
                .parts
                .iter()
                .map(|part| distance_to_line(Xy::from(p), part))
                .fold(f64::INFINITY, f64::min);
            (d, l)
        })
        .filter(|(d, _)| *d <= tolerance)
        .min_by(|a, b| a.0.total_cmp(&b.0));
    if let Some((_, road)) = nearest_road {
        return Some(Hit::Road(road.clone()));
    }
    community_at(data, p).map(|c| Hit::Community(c.clone()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::map::theme::Theme;
    use linli_domain::place::{Feature, FeatureCollection};
    use serde_json::json;

    fn props(value: serde_json::Value) -> Properties {
        value.as_object().unwrap().clone()
    }

    fn square(
        id: &str,
        lon: f64,
        lat: f64,
        size: f64,
        extra: serde_json::Value,
    ) -> Feature<Properties> {
        let ring = vec![
            [lon, lat],
            [lon + size, lat],
            [lon + size, lat + size],
            [lon, lat + size],
            [lon, lat],
        ];
        let mut properties =
            props(json!({"id": id, "name": format!("{id}-zh"), "name_en": format!("{id}-en")}));
        properties.extend(props(extra));
        Feature {
            id: id.into(),
            geometry: Geometry::Polygon(vec![ring]),
            properties,
        }
    }

    fn road(id: &str, from: [f64; 2], to: [f64; 2]) -> Feature<Properties> {
        Feature {
            id: id.into(),
            geometry: Geometry::LineString(vec![from, to]),
            properties: props(json!({"class": "primary"})),
        }
    }

    fn data() -> MapData {
        MapData {
            communities: project_areas(FeatureCollection {
                features: vec![
                    square("a", 117.30, 31.84, 0.01, json!({})),
                    square("b", 117.31, 31.84, 0.01, json!({})),
                ],
            }),
            grids: vec![],
            roads: Indexed::new(project_lines(FeatureCollection {
                features: vec![road("r1", [117.30, 31.845], [117.32, 31.845])],
            })),
            buildings: Indexed::new(project_areas(FeatureCollection {
                features: vec![square(
                    "house",
                    117.302,
                    31.846,
                    0.0005,
                    json!({"use": "residential"}),
                )],
            })),
        }
    }

    fn view(data: &MapData) -> Viewport {
        Viewport::fit(data.extent().unwrap(), 800.0, 400.0, 20.0)
    }

    #[test]
    fn draws_tints_roads_buildings_borders_then_names() {
        let data = data();
        let (v, palette) = (view(&data), Theme::Light.palette());
        let mut commands = draw_all(&data, &v, &palette, BaseShown::default());
        commands.extend(community_names(&data.communities, &v, &palette, true));
        let kinds: Vec<&str> = commands
            .iter()
            .map(|c| match c {
                DrawCommand::Polygons { fill: Some(_), .. } => "fill",
                DrawCommand::Polygons { fill: None, .. } => "border",
                DrawCommand::Lines { .. } => "road",
                DrawCommand::Label { .. } => "label",
                DrawCommand::Circles { .. } => "marker",
                DrawCommand::Rects { .. } => "box",
            })
            .collect();
        assert_eq!(
            kinds,
            ["fill", "fill", "road", "fill", "border", "label", "label"]
        );
        match &commands[6] {
            DrawCommand::Label { text, at, .. } => {
                assert_eq!(text, "b-zh");
                assert!(at.x > 400.0, "b lies east, right of the middle: {at:?}");
            }
            other => panic!("expected a label, got {other:?}"),
        }
        let hidden = draw_all(
            &data,
            &v,
            &palette,
            BaseShown {
                roads: false,
                buildings: false,
                grids: false,
            },
        );
        assert_eq!(hidden.len(), 3, "two tints and the borders: {hidden:?}");
    }

    #[test]
    fn culls_what_lies_outside_the_view() {
        let data = data();
        let only_a = Viewport::fit(data.communities[0].bounds, 800.0, 400.0, 20.0)
            .zoomed_at(4.0, Screen { x: 100.0, y: 300.0 });
        let names = community_names(&data.communities, &only_a, &Theme::Dark.palette(), false);
        let labels: Vec<&str> = names
            .iter()
            .filter_map(|c| match c {
                DrawCommand::Label { text, .. } => Some(text.as_str()),
                _ => None,
            })
            .collect();
        assert_eq!(labels, ["a-en"]);
    }

    #[test]
    fn small_footprints_are_drawn_as_boxes() {
        let data = data();
        let far = Viewport::fit(data.extent().unwrap(), 100.0, 50.0, 0.0);
        let near = Viewport::fit(data.buildings[0].bounds, 800.0, 400.0, 20.0);
        let palette = Theme::Light.palette();
        match &buildings(&data.buildings, &far, &palette)[..] {
            [DrawCommand::Rects { rects, .. }] => assert_eq!(rects.len(), 1, "one box"),
            other => panic!("expected one box, got {other:?}"),
        }
        match &buildings(&data.buildings, &near, &palette)[..] {
            [DrawCommand::Polygons { rings, .. }] => {
                let rings: Vec<&[Screen]> = rings.iter().collect();
                assert_eq!(rings.len(), 1);
                assert_eq!(rings[0].len(), 5, "the closed footprint ring");
            }
            other => panic!("expected the footprint, got {other:?}"),
        }
    }

    #[test]
    fn hit_testing_finds_the_building_then_the_road_then_the_community() {
        let data = data();
        let v = view(&data);
        let house = v.to_screen(data.buildings[0].label_at);
        assert!(
            matches!(hit_test(&data, &v, house, BaseShown::default()), Some(Hit::Building(b)) if b.id == "house")
        );
        let on_road = v.to_screen(project([117.315, 31.845].into()));
        let near_road = Screen {
            x: on_road.x,
            y: on_road.y + ROAD_TOLERANCE_PX - 1.0,
        };
        assert!(
            matches!(hit_test(&data, &v, near_road, BaseShown::default()), Some(Hit::Road(r)) if r.id == "r1")
        );
        let off_road = Screen {
            x: on_road.x,
            y: on_road.y + ROAD_TOLERANCE_PX + 20.0,
        };
        assert!(
            matches!(hit_test(&data, &v, off_road, BaseShown::default()), Some(Hit::Community(c)) if c.id == "b")
        );
        assert_eq!(
            hit_test(&data, &v, Screen { x: 1.0, y: 1.0 }, BaseShown::default()),
            None
        );
    }

    #[test]
    fn the_label_sits_at_the_centre_of_a_square() {
        let data = data();
        let (c, b) = (data.communities[0].label_at, data.communities[0].bounds);
        assert!((c.x - b.centre().x).abs() < 1e-6 && (c.y - b.centre().y).abs() < 1e-6);
    }
}
