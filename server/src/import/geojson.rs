//! The GeoJSON (RFC 7946) reader of `linli import`: bytes of a file in, every feature
//! of one layer out, or the list of everything wrong with it.
//!
//! Pure: no I/O, no store. The whole file is checked before anything is returned, so a
//! caller either gets all features, ready to store, or problems that each name the
//! feature (its index in the file and its id when it has one) and what is wrong.
//!
//! What is accepted: a FeatureCollection or a single Feature; foreign members (`bbox`,
//! `crs`, `name`, extra keys on features) are ignored; a feature's id is its `id`, else
//! `properties.id`, a string or a number (a number becomes its decimal text); properties
//! are kept as they came (`null` becomes an empty object); a third number in a position
//! (altitude) is dropped. What is refused is listed by the tests at the end.

use super::{Import, Place, Problem, Problems};
use crate::store::Community;
use linli_domain::place::{Feature, Geometry, LayerName, Position, Properties, Ring};
use linli_domain::CommunityId;
use serde_json::Value;
use std::collections::HashMap;

/// Reads a GeoJSON file's bytes as features of `layer`. `progress` is called after
/// each feature with the number checked so far and the number in the file.
pub fn parse(
    layer: LayerName,
    bytes: &[u8],
    progress: &mut dyn FnMut(usize, usize),
) -> Result<Import, Problems> {
    // Some editors start UTF-8 files with a byte-order mark, which JSON does not allow.
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let root: Value = serde_json::from_slice(bytes)
        .map_err(|e| Problems::one(Problem::file(format!("the file is not valid JSON: {e}"))))?;
    let features = top_level(root).map_err(|message| Problems::one(Problem::file(message)))?;

    let total = features.len();
    let mut problems = Problems::default();
    let mut first_with_id: HashMap<String, usize> = HashMap::with_capacity(features.len());
    let mut items = Vec::with_capacity(features.len());
    for (index, value) in features.into_iter().enumerate() {
        let (id, checked) = feature(layer, value);
        let mut messages = match checked {
            Ok(item) => {
                items.push(item);
                Vec::new()
            }
            Err(messages) => messages,
        };
        if let Some(id) = &id {
            match first_with_id.get(id) {
                Some(first) => messages.push(format!("the same id as feature {}", first + 1)),
                None => {
                    first_with_id.insert(id.clone(), index);
                }
            }
        }
        for message in messages {
            problems.push(Problem::at(Place::Feature(index), id.as_deref(), message));
        }
        progress(index + 1, total);
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    Ok(match layer {
        LayerName::Communities => Import::Communities(
            items
                .into_iter()
                .filter_map(|item| match item {
                    Item::Community(c) => Some(c),
                    Item::Feature(_) => None,
                })
                .collect(),
        ),
        _ => Import::Features(
            items
                .into_iter()
                .filter_map(|item| match item {
                    Item::Feature(f) => Some(f),
                    Item::Community(_) => None,
                })
                .collect(),
        ),
    })
}

/// One checked feature, in the form its layer stores.
enum Item {
    Feature(Feature<Properties>),
    Community(Community),
}

/// How a JSON value is called in messages.
fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// The features of the file: those of a FeatureCollection, or a single Feature.
fn top_level(root: Value) -> Result<Vec<Value>, String> {
    let Value::Object(mut object) = root else {
        return Err(format!(
            "the file is {}, not a GeoJSON FeatureCollection or Feature",
            kind(&root)
        ));
    };
    match object.get("type").and_then(Value::as_str) {
        Some("FeatureCollection") => match object.remove("features") {
            Some(Value::Array(features)) if features.is_empty() => {
                Err("the FeatureCollection has no features: nothing to import".into())
            }
            Some(Value::Array(features)) => Ok(features),
            Some(other) => Err(format!(
                "the FeatureCollection's `features` is {}, not an array",
                kind(&other)
            )),
            None => Err("the FeatureCollection has no `features` member".into()),
        },
        Some("Feature") => Ok(vec![Value::Object(object)]),
        Some(other) => Err(format!(
            "the file is a GeoJSON {other}, not a FeatureCollection or Feature"
        )),
        None => {
            Err("the file has no GeoJSON `type`: expected a FeatureCollection or a Feature".into())
        }
    }
}

/// Checks one feature: its id (when it can be read, even if something else is wrong)
/// and the feature in its layer's form, or what is wrong with it.
fn feature(layer: LayerName, value: Value) -> (Option<String>, Result<Item, Vec<String>>) {
    let Value::Object(mut object) = value else {
        return (
            None,
            Err(vec![format!("is {}, not a GeoJSON Feature", kind(&value))]),
        );
    };
    let mut problems = Vec::new();
    match object.get("type") {
        Some(Value::String(t)) if t == "Feature" => {}
        // Anything else (a bare geometry, say) has nothing more worth reporting.
        Some(Value::String(t)) => {
            return (None, Err(vec![format!("is a GeoJSON {t}, not a Feature")]))
        }
        _ => problems.push("has no `\"type\": \"Feature\"`".into()),
    }
    let properties = match object.remove("properties") {
        None | Some(Value::Null) => Properties::new(),
        Some(Value::Object(map)) => map,
        Some(other) => {
            problems.push(format!(
                "its properties are {}, not an object",
                kind(&other)
            ));
            Properties::new()
        }
    };
    let id = match object.get("id").filter(|v| !v.is_null()) {
        Some(id) => feature_id(id, "its id"),
        None => match properties.get("id").filter(|v| !v.is_null()) {
            Some(id) => feature_id(id, "its properties.id"),
            None => Err("has no id: give it an `id` or a `properties.id`".into()),
        },
    };
    let id = match id {
        Ok(id) => Some(id),
        Err(message) => {
            problems.push(message);
            None
        }
    };
    let geometry = match object.get("geometry") {
        None => {
            problems.push("has no geometry".into());
            None
        }
        Some(Value::Null) => {
            problems.push("has a null geometry".into());
            None
        }
        Some(value) => match geometry(layer, value) {
            Ok(geometry) => Some(geometry),
            Err(mut messages) => {
                problems.append(&mut messages);
                None
            }
        },
    };
    let community = layer_rules(layer, id.as_deref(), &properties, &mut problems);
    let (Some(feature_id), Some(geometry), true) = (id.clone(), geometry, problems.is_empty())
    else {
        return (id, Err(problems));
    };
    let item = match community {
        Some((community_id, name, name_en)) => Item::Community(Community {
            id: community_id,
            name,
            name_en,
            geometry,
        }),
        None => Item::Feature(Feature {
            id: feature_id,
            geometry,
            properties,
        }),
    };
    (id, Ok(item))
}

/// A feature id: a non-empty string as it is, or a number as its decimal text.
fn feature_id(value: &Value, what: &str) -> Result<String, String> {
    match value {
        Value::String(s) if s.trim().is_empty() => Err(format!("{what} is empty")),
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_string()),
        other => Err(format!(
            "{what} is {}, not a string or a number",
            kind(other)
        )),
    }
}

/// The rules of the layer's properties. For communities, returns the id, name and
/// English name when they are all valid.
fn layer_rules(
    layer: LayerName,
    id: Option<&str>,
    properties: &Properties,
    problems: &mut Vec<String>,
) -> Option<(CommunityId, String, String)> {
    match layer {
        LayerName::Communities => {
            let community = match id.map(CommunityId::parse) {
                Some(Ok(community)) => Some(community),
                Some(Err(e)) => {
                    problems.push(e.to_string());
                    None
                }
                None => None,
            };
            let name = match properties.get("name") {
                Some(Value::String(name)) if !name.trim().is_empty() => Some(name.clone()),
                _ => {
                    problems.push(
                        "properties.name must be a string: the community's Chinese name".into(),
                    );
                    None
                }
            };
            let name_en = match properties.get("name_en") {
                None | Some(Value::Null) => community.as_ref().map(|c| c.to_string()),
                Some(Value::String(name_en)) => Some(name_en.clone()),
                Some(other) => {
                    problems.push(format!(
                        "properties.name_en is {}, not a string",
                        kind(other)
                    ));
                    None
                }
            };
            Some((community?, name?, name_en?))
        }
        LayerName::Grids => {
            match properties.get("community") {
                Some(Value::String(community)) => {
                    if let Err(e) = CommunityId::parse(community.as_str()) {
                        problems.push(format!("properties.community: {e}"));
                    }
                }
                _ => problems.push(
                    "properties.community must be a string: the id of the grid's community".into(),
                ),
            }
            None
        }
        LayerName::Buildings | LayerName::Roads => None,
    }
}

/// A geometry of one of the types the layer takes, or what is wrong with it.
fn geometry(layer: LayerName, value: &Value) -> Result<Geometry, Vec<String>> {
    let Value::Object(object) = value else {
        return Err(vec![format!(
            "its geometry is {}, not a GeoJSON geometry object",
            kind(value)
        )]);
    };
    let Some(geometry_type) = object.get("type").and_then(Value::as_str) else {
        return Err(vec!["its geometry has no `type`".into()]);
    };
    let allowed = match layer {
        LayerName::Roads => ["LineString", "MultiLineString"],
        _ => ["Polygon", "MultiPolygon"],
    };
    if !allowed.contains(&geometry_type) {
        return Err(vec![format!(
            "its geometry is a {geometry_type}; {} take a {} or a {}",
            layer.as_str(),
            allowed[0],
            allowed[1]
        )]);
    }
    let Some(coordinates) = object.get("coordinates") else {
        return Err(vec![format!("its {geometry_type} has no coordinates")]);
    };
    let mut problems = Vec::new();
    let geometry = match geometry_type {
        "LineString" => line(coordinates, "the line", &mut problems).map(Geometry::LineString),
        "MultiLineString" => many(coordinates, "the MultiLineString", "lines", &mut problems)
            .and_then(|lines| {
                let parsed: Vec<_> = lines
                    .iter()
                    .enumerate()
                    .map(|(i, l)| line(l, &format!("line {i}"), &mut problems))
                    .collect();
                parsed
                    .into_iter()
                    .collect::<Option<Vec<_>>>()
                    .map(Geometry::MultiLineString)
            }),
        "Polygon" => polygon(coordinates, "", &mut problems).map(Geometry::Polygon),
        _ => {
            many(coordinates, "the MultiPolygon", "polygons", &mut problems).and_then(|polygons| {
                let parsed: Vec<_> = polygons
                    .iter()
                    .enumerate()
                    .map(|(i, p)| polygon(p, &format!("polygon {i}, "), &mut problems))
                    .collect();
                parsed
                    .into_iter()
                    .collect::<Option<Vec<_>>>()
                    .map(Geometry::MultiPolygon)
            })
        }
    };
    match geometry {
        Some(geometry) if problems.is_empty() => Ok(geometry),
        _ => Err(problems),
    }
}

/// The members of a non-empty array of `what` (lines, polygons, rings).
fn many<'a>(
    value: &'a Value,
    at: &str,
    what: &str,
    problems: &mut Vec<String>,
) -> Option<&'a Vec<Value>> {
    match value {
        Value::Array(items) if items.is_empty() => {
            problems.push(format!("{at} has no {what}"));
            None
        }
        Value::Array(items) => Some(items),
        other => {
            problems.push(format!("{at} is {}, not an array of {what}", kind(other)));
            None
        }
    }
}

/// A polygon: outer ring, then holes. `at` prefixes ring names (`polygon 1, `).
fn polygon(value: &Value, at: &str, problems: &mut Vec<String>) -> Option<Vec<Ring>> {
    let name = if at.is_empty() {
        "the polygon".to_string()
    } else {
        at.trim_end_matches(", ").to_string()
    };
    let rings = many(value, &name, "rings", problems)?;
    let parsed: Vec<_> = rings
        .iter()
        .enumerate()
        .map(|(i, r)| ring(r, &format!("{at}ring {i}"), problems))
        .collect();
    parsed.into_iter().collect()
}

/// A linear ring: at least 4 positions, the last equal to the first.
fn ring(value: &Value, at: &str, problems: &mut Vec<String>) -> Option<Ring> {
    let ring = positions(value, at, problems)?;
    if ring.len() < 4 {
        problems.push(format!(
            "{at} has {} position{}; a ring needs at least 4, the last equal to the first",
            ring.len(),
            if ring.len() == 1 { "" } else { "s" }
        ));
        return None;
    }
    if ring.first() != ring.last() {
        problems.push(format!(
            "{at} is not closed: its last position differs from its first"
        ));
        return None;
    }
    Some(ring)
}

/// A line string: at least 2 positions.
fn line(value: &Value, at: &str, problems: &mut Vec<String>) -> Option<Vec<Position>> {
    let line = positions(value, at, problems)?;
    if line.len() < 2 {
        problems.push(format!(
            "{at} has {} position{}; a line needs at least 2",
            line.len(),
            if line.len() == 1 { "" } else { "s" }
        ));
        return None;
    }
    Some(line)
}

/// An array of positions. Reports only the first bad position, so one broken ring of
/// a thousand points does not bury every other problem.
fn positions(value: &Value, at: &str, problems: &mut Vec<String>) -> Option<Vec<Position>> {
    let Value::Array(items) = value else {
        problems.push(format!(
            "{at} is {}, not an array of positions",
            kind(value)
        ));
        return None;
    };
    let mut out = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        match position(item) {
            Ok(p) => out.push(p),
            Err(message) => {
                problems.push(format!("{at}, position {i}: {message}"));
                return None;
            }
        }
    }
    Some(out)
}

/// `[longitude, latitude]` or `[longitude, latitude, altitude]` in WGS84 degrees; the
/// altitude is dropped.
fn position(value: &Value) -> Result<Position, String> {
    let Value::Array(numbers) = value else {
        return Err(format!(
            "is {}, not an array of 2 or 3 numbers",
            kind(value)
        ));
    };
    if !(2..=3).contains(&numbers.len()) {
        return Err(format!(
            "has {} numbers; a position is [longitude, latitude] or [longitude, latitude, altitude]",
            numbers.len()
        ));
    }
    let mut xyz = [0.0; 3];
    for (slot, number) in xyz.iter_mut().zip(numbers) {
        match number.as_f64() {
            Some(v) if v.is_finite() => *slot = v,
            _ => {
                return Err(format!(
                    "holds {} where a finite number belongs",
                    kind(number)
                ))
            }
        }
    }
    let [lon, lat, _] = xyz;
    if !(-180.0..=180.0).contains(&lon) {
        return Err(format!("longitude {lon} is outside [-180, 180]"));
    }
    if !(-90.0..=90.0).contains(&lat) {
        let swapped = if (-90.0..=90.0).contains(&lon) {
            " (longitude and latitude swapped? GeoJSON puts longitude first)"
        } else {
            ""
        };
        return Err(format!("latitude {lat} is outside [-90, 90]{swapped}"));
    }
    Ok([lon, lat])
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn square(x: f64, y: f64, size: f64) -> Value {
        json!([
            [x, y],
            [x + size, y],
            [x + size, y + size],
            [x, y + size],
            [x, y]
        ])
    }

    fn polygon_feature(id: Value, properties: Value) -> Value {
        json!({"type": "Feature", "id": id, "properties": properties,
               "geometry": {"type": "Polygon", "coordinates": [square(117.3, 31.8, 0.001)]}})
    }

    fn collection(features: Vec<Value>) -> Vec<u8> {
        serde_json::to_vec(&json!({"type": "FeatureCollection", "features": features})).unwrap()
    }

    fn features(layer: LayerName, bytes: &[u8]) -> Vec<Feature<Properties>> {
        match parse(layer, bytes, &mut |_, _| {}) {
            Ok(Import::Features(features)) => features,
            other => panic!("expected features, got {other:?}"),
        }
    }

    fn problems(layer: LayerName, bytes: &[u8]) -> Vec<String> {
        match parse(layer, bytes, &mut |_, _| {}) {
            Err(problems) => problems.lines(),
            Ok(ok) => panic!("expected problems, got {ok:?}"),
        }
    }

    /// Asserts there is one problem and that it contains `expected`.
    fn refused(layer: LayerName, bytes: &[u8], expected: &str) {
        let problems = problems(layer, bytes);
        assert_eq!(problems.len(), 1, "{problems:#?}");
        assert!(
            problems[0].contains(expected),
            "`{}` does not contain `{expected}`",
            problems[0]
        );
    }

    #[test]
    fn a_collection_of_buildings_with_foreign_members_reads_as_it_is() {
        let bytes = serde_json::to_vec(&json!({
            "type": "FeatureCollection",
            "name": "buildings",
            "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:OGC:1.3:CRS84"}},
            "bbox": [117.3, 31.8, 117.31, 31.81],
            "features": [
                {"type": "Feature", "id": "way/123", "bbox": [117.3, 31.8, 117.301, 31.801],
                 "source": "survey", "properties": {"name": "1栋", "levels": 6},
                 "geometry": {"type": "Polygon", "coordinates": [square(117.3, 31.8, 0.001)]}},
                polygon_feature(json!(17), json!(null)),
            ]
        }))
        .unwrap();
        let mut seen = Vec::new();
        let got = match parse(LayerName::Buildings, &bytes, &mut |n, total| {
            seen.push((n, total))
        }) {
            Ok(Import::Features(features)) => features,
            other => panic!("{other:?}"),
        };
        assert_eq!(seen, vec![(1, 2), (2, 2)]);
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].id, "way/123");
        assert_eq!(got[0].properties["name"], "1栋");
        assert_eq!(got[0].properties["levels"], 6);
        assert_eq!(
            got[0].properties.len(),
            2,
            "foreign members are not properties"
        );
        assert_eq!(got[1].id, "17");
        assert!(got[1].properties.is_empty(), "null properties are empty");
        assert_eq!(
            got[0].geometry,
            Geometry::Polygon(vec![vec![
                [117.3, 31.8],
                [117.301, 31.8],
                [117.301, 31.801],
                [117.3, 31.801],
                [117.3, 31.8]
            ]])
        );
    }

    #[test]
    fn a_multipolygon_with_holes_keeps_every_ring_and_drops_altitudes() {
        let outer = json!([
            [117.3, 31.8, 12.5],
            [117.31, 31.8, 12.5],
            [117.31, 31.81, 12.5],
            [117.3, 31.81, 12.5],
            [117.3, 31.8, 12.5]
        ]);
        let hole = square(117.302, 31.802, 0.002);
        let bytes = collection(vec![json!({
            "type": "Feature", "id": "r1",
            "properties": {"building": "yes"},
            "geometry": {"type": "MultiPolygon", "coordinates": [
                [outer, hole], [square(117.32, 31.8, 0.001)]
            ]}
        })]);
        let got = features(LayerName::Buildings, &bytes);
        let Geometry::MultiPolygon(polygons) = &got[0].geometry else {
            panic!("{:?}", got[0].geometry)
        };
        assert_eq!(polygons.len(), 2);
        assert_eq!(polygons[0].len(), 2, "outer ring and hole");
        assert_eq!(polygons[0][0][1], [117.31, 31.8]);
        assert_eq!(polygons[0][1][0], [117.302, 31.802]);
        assert_eq!(got[0].geometry.positions().count(), 15);
    }

    #[test]
    fn a_single_feature_and_an_id_in_the_properties_are_enough() {
        let bytes = serde_json::to_vec(&json!({
            "type": "Feature", "properties": {"id": "road-1", "name": "同安路"},
            "geometry": {"type": "LineString", "coordinates": [[117.3, 31.8], [117.31, 31.8]]}
        }))
        .unwrap();
        let got = features(LayerName::Roads, &bytes);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].id, "road-1");
        assert_eq!(got[0].properties["name"], "同安路");
        let numeric = serde_json::to_vec(&json!({
            "type": "Feature", "properties": {"id": 42},
            "geometry": {"type": "MultiLineString", "coordinates": [
                [[117.3, 31.8], [117.31, 31.8]], [[117.31, 31.8], [117.31, 31.81], [117.32, 31.81]]
            ]}
        }))
        .unwrap();
        let got = features(LayerName::Roads, &numeric);
        assert_eq!(got[0].id, "42");
        assert!(matches!(&got[0].geometry, Geometry::MultiLineString(l) if l.len() == 2));
    }

    #[test]
    fn a_byte_order_mark_is_skipped() {
        let mut bytes = b"\xEF\xBB\xBF".to_vec();
        bytes.extend(collection(vec![polygon_feature(json!("a"), json!({}))]));
        assert_eq!(features(LayerName::Buildings, &bytes).len(), 1);
    }

    #[test]
    fn communities_become_communities_with_the_english_name_defaulting_to_the_id() {
        let bytes = collection(vec![
            polygon_feature(
                json!("xingfuli"),
                json!({"name": "幸福里", "name_en": "Xingfuli"}),
            ),
            polygon_feature(json!(null), json!({"id": "zhugang", "name": "朱岗"})),
        ]);
        let Ok(Import::Communities(got)) = parse(LayerName::Communities, &bytes, &mut |_, _| {})
        else {
            panic!("not communities")
        };
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].id.as_str(), "xingfuli");
        assert_eq!(
            (got[0].name.as_str(), got[0].name_en.as_str()),
            ("幸福里", "Xingfuli")
        );
        assert_eq!(
            (got[1].name.as_str(), got[1].name_en.as_str()),
            ("朱岗", "zhugang")
        );
    }

    #[test]
    fn grids_name_their_community() {
        let bytes = collection(vec![polygon_feature(
            json!("xingfuli-1"),
            json!({"community": "xingfuli", "name": "幸福里第1网格"}),
        )]);
        assert_eq!(
            features(LayerName::Grids, &bytes)[0].properties["community"],
            "xingfuli"
        );
    }

    #[test]
    fn broken_json_is_refused_with_line_and_column() {
        let bytes = b"{\"type\": \"FeatureCollection\",\n  \"features\": [\n    {\"type\": \"Feature\",, }\n]}";
        refused(LayerName::Buildings, bytes, "the file is not valid JSON");
        refused(LayerName::Buildings, bytes, "line 3 column 24");
        refused(LayerName::Buildings, b"", "EOF while parsing");
    }

    #[test]
    fn a_file_that_is_no_feature_collection_or_feature_is_refused() {
        let point = json!({"type": "Point", "coordinates": [117.3, 31.8]});
        refused(
            LayerName::Buildings,
            &serde_json::to_vec(&point).unwrap(),
            "the file is a GeoJSON Point, not a FeatureCollection or Feature",
        );
        refused(LayerName::Buildings, b"[1, 2]", "the file is an array");
        refused(
            LayerName::Buildings,
            b"{\"features\": []}",
            "no GeoJSON `type`",
        );
        refused(
            LayerName::Buildings,
            b"{\"type\": \"FeatureCollection\"}",
            "no `features` member",
        );
    }

    #[test]
    fn an_empty_collection_is_refused() {
        refused(LayerName::Buildings, &collection(vec![]), "has no features");
    }

    #[test]
    fn a_feature_without_any_id_is_refused() {
        let bytes = collection(vec![
            polygon_feature(json!("a"), json!({})),
            polygon_feature(json!(null), json!({"name": "no id"})),
        ]);
        assert_eq!(
            problems(LayerName::Buildings, &bytes),
            vec!["feature 2: has no id: give it an `id` or a `properties.id`"]
        );
        let odd = collection(vec![polygon_feature(json!({"osm": 1}), json!({}))]);
        refused(
            LayerName::Buildings,
            &odd,
            "its id is an object, not a string or a number",
        );
        let empty = collection(vec![polygon_feature(json!(" "), json!({}))]);
        refused(LayerName::Buildings, &empty, "its id is empty");
    }

    #[test]
    fn duplicate_ids_are_refused_naming_both_features() {
        let bytes = collection(vec![
            polygon_feature(json!("way/99"), json!({})),
            polygon_feature(json!("b"), json!({})),
            polygon_feature(json!(null), json!({"id": "way/99"})),
        ]);
        assert_eq!(
            problems(LayerName::Buildings, &bytes),
            vec![r#"feature 3 (id "way/99"): the same id as feature 1"#]
        );
        // A number id and the same text are the same id.
        let mixed = collection(vec![
            polygon_feature(json!(17), json!({})),
            polygon_feature(json!("17"), json!({})),
        ]);
        refused(LayerName::Buildings, &mixed, "the same id as feature 1");
    }

    #[test]
    fn a_geometry_of_the_wrong_type_for_the_layer_is_refused() {
        let line = json!({"type": "Feature", "id": "x", "properties": {},
            "geometry": {"type": "LineString", "coordinates": [[117.3, 31.8], [117.31, 31.8]]}});
        let bytes = collection(vec![line]);
        for layer in [
            LayerName::Buildings,
            LayerName::Grids,
            LayerName::Communities,
        ] {
            let lines = problems(layer, &bytes);
            assert!(
                lines[0].contains(&format!(
                    "its geometry is a LineString; {} take a Polygon or a MultiPolygon",
                    layer.as_str()
                )),
                "{lines:?}"
            );
        }
        let polygon = collection(vec![polygon_feature(json!("x"), json!({}))]);
        refused(
            LayerName::Roads,
            &polygon,
            r#"feature 1 (id "x"): its geometry is a Polygon; roads take a LineString or a MultiLineString"#,
        );
        let point = collection(vec![json!({"type": "Feature", "id": "p", "properties": {},
            "geometry": {"type": "Point", "coordinates": [117.3, 31.8]}})]);
        refused(LayerName::Buildings, &point, "its geometry is a Point");
    }

    #[test]
    fn a_null_or_missing_geometry_is_refused() {
        let bytes = collection(vec![
            json!({"type": "Feature", "id": "a", "properties": {}, "geometry": null}),
            json!({"type": "Feature", "id": "b", "properties": {}}),
        ]);
        assert_eq!(
            problems(LayerName::Buildings, &bytes),
            vec![
                r#"feature 1 (id "a"): has a null geometry"#,
                r#"feature 2 (id "b"): has no geometry"#
            ]
        );
    }

    #[test]
    fn positions_must_be_two_or_three_numbers() {
        let with = |ring: Value| {
            collection(vec![json!({"type": "Feature", "id": "a", "properties": {},
                "geometry": {"type": "Polygon", "coordinates": [ring]}})])
        };
        refused(
            LayerName::Buildings,
            &with(json!([
                [117.3, 31.8],
                [117.31, 31.8, 1.0, 2.0],
                [117.31, 31.81],
                [117.3, 31.8]
            ])),
            "ring 0, position 1: has 4 numbers",
        );
        refused(
            LayerName::Buildings,
            &with(json!([
                [117.3, 31.8],
                [117.31],
                [117.31, 31.81],
                [117.3, 31.8]
            ])),
            "ring 0, position 1: has 1 numbers",
        );
        refused(
            LayerName::Buildings,
            &with(json!([
                [117.3, 31.8],
                ["117.31", 31.8],
                [117.31, 31.81],
                [117.3, 31.8]
            ])),
            "ring 0, position 1: holds a string where a finite number belongs",
        );
        refused(
            LayerName::Buildings,
            &with(json!([[117.3, 31.8], null, [117.31, 31.81], [117.3, 31.8]])),
            "ring 0, position 1: is null, not an array of 2 or 3 numbers",
        );
    }

    #[test]
    fn longitudes_and_latitudes_out_of_range_are_refused() {
        let road = |line: Value| {
            collection(vec![json!({"type": "Feature", "id": "r", "properties": {},
                "geometry": {"type": "LineString", "coordinates": line}})])
        };
        refused(
            LayerName::Roads,
            &road(json!([[117.3, 31.8], [181.0, 31.8]])),
            r#"feature 1 (id "r"): the line, position 1: longitude 181 is outside [-180, 180]"#,
        );
        refused(
            LayerName::Roads,
            &road(json!([[117.3, 31.8], [117.3, -90.5]])),
            "the line, position 1: latitude -90.5 is outside [-90, 90]",
        );
        refused(
            LayerName::Roads,
            &road(json!([[31.8, 117.3], [31.8, 117.31]])),
            "latitude 117.3 is outside [-90, 90] (longitude and latitude swapped?",
        );
    }

    #[test]
    fn rings_with_fewer_than_four_positions_are_refused() {
        let bytes = collection(vec![json!({"type": "Feature", "id": "t", "properties": {},
            "geometry": {"type": "Polygon",
                         "coordinates": [[[117.3, 31.8], [117.31, 31.8], [117.3, 31.8]]]}})]);
        refused(
            LayerName::Buildings,
            &bytes,
            r#"feature 1 (id "t"): ring 0 has 3 positions; a ring needs at least 4"#,
        );
        let no_rings = collection(vec![json!({"type": "Feature", "id": "t", "properties": {},
            "geometry": {"type": "Polygon", "coordinates": []}})]);
        refused(LayerName::Buildings, &no_rings, "the polygon has no rings");
    }

    #[test]
    fn unclosed_rings_are_refused_naming_polygon_and_ring() {
        let open = json!([
            [117.3, 31.8],
            [117.31, 31.8],
            [117.31, 31.81],
            [117.3, 31.81]
        ]);
        let bytes = collection(vec![
            json!({"type": "Feature", "id": "way/99", "properties": {},
            "geometry": {"type": "Polygon", "coordinates": [open]}}),
        ]);
        refused(
            LayerName::Buildings,
            &bytes,
            r#"feature 1 (id "way/99"): ring 0 is not closed"#,
        );
        let multi = collection(vec![json!({"type": "Feature", "id": "m", "properties": {},
        "geometry": {"type": "MultiPolygon", "coordinates": [
            [square(117.3, 31.8, 0.01)], [square(117.32, 31.8, 0.01), open]
        ]}})]);
        refused(
            LayerName::Buildings,
            &multi,
            "polygon 1, ring 1 is not closed",
        );
        let empty = collection(vec![json!({"type": "Feature", "id": "m", "properties": {},
            "geometry": {"type": "MultiPolygon", "coordinates": []}})]);
        refused(
            LayerName::Buildings,
            &empty,
            "the MultiPolygon has no polygons",
        );
    }

    #[test]
    fn lines_with_fewer_than_two_positions_are_refused() {
        let bytes = collection(vec![json!({"type": "Feature", "id": "r", "properties": {},
        "geometry": {"type": "MultiLineString", "coordinates": [
            [[117.3, 31.8], [117.31, 31.8]], [[117.3, 31.8]]
        ]}})]);
        refused(
            LayerName::Roads,
            &bytes,
            r#"feature 1 (id "r"): line 1 has 1 position; a line needs at least 2"#,
        );
        let empty = collection(vec![json!({"type": "Feature", "id": "r", "properties": {},
            "geometry": {"type": "LineString", "coordinates": []}})]);
        refused(LayerName::Roads, &empty, "the line has 0 positions");
    }

    #[test]
    fn communities_need_a_valid_id_and_a_name() {
        let bytes = collection(vec![
            polygon_feature(json!("Xing Fu Li"), json!({"name": "幸福里"})),
            polygon_feature(json!("zhugang"), json!({"name_en": "Zhugang"})),
            polygon_feature(json!("weigang"), json!({"name": "卫岗", "name_en": 7})),
        ]);
        let lines = problems(LayerName::Communities, &bytes);
        assert_eq!(lines.len(), 3, "{lines:#?}");
        assert!(
            lines[0].starts_with(
                r#"feature 1 (id "Xing Fu Li"): community id `Xing Fu Li` is not valid"#
            ),
            "{}",
            lines[0]
        );
        assert_eq!(
            lines[1],
            r#"feature 2 (id "zhugang"): properties.name must be a string: the community's Chinese name"#
        );
        assert_eq!(
            lines[2],
            r#"feature 3 (id "weigang"): properties.name_en is a number, not a string"#
        );
    }

    #[test]
    fn grids_without_a_valid_community_are_refused() {
        let bytes = collection(vec![
            polygon_feature(json!("g1"), json!({"name": "第1网格"})),
            polygon_feature(json!("g2"), json!({"community": "幸福里"})),
        ]);
        let lines = problems(LayerName::Grids, &bytes);
        assert_eq!(
            lines[0],
            r#"feature 1 (id "g1"): properties.community must be a string: the id of the grid's community"#
        );
        assert!(
            lines[1].starts_with(
                r#"feature 2 (id "g2"): properties.community: community id `幸福里` is not valid"#
            ),
            "{}",
            lines[1]
        );
    }

    #[test]
    fn items_that_are_not_features_are_refused() {
        let bytes = collection(vec![
            json!({"type": "Polygon", "coordinates": [square(117.3, 31.8, 0.01)]}),
            json!("way/1"),
            json!({"type": "Feature", "id": "p", "properties": [1], "geometry":
                {"type": "Polygon", "coordinates": [square(117.3, 31.8, 0.01)]}}),
        ]);
        let lines = problems(LayerName::Buildings, &bytes);
        assert_eq!(
            lines,
            vec![
                "feature 1: is a GeoJSON Polygon, not a Feature",
                "feature 2: is a string, not a GeoJSON Feature",
                r#"feature 3 (id "p"): its properties are an array, not an object"#,
            ]
        );
    }

    #[test]
    fn at_most_twenty_problems_are_listed_and_the_rest_counted() {
        let bytes = collection(
            (0..25)
                .map(|i| json!({"type": "Feature", "id": i, "properties": {}, "geometry": null}))
                .collect(),
        );
        let Err(problems) = parse(LayerName::Buildings, &bytes, &mut |_, _| {}) else {
            panic!("accepted")
        };
        assert_eq!(problems.total(), 25);
        let lines = problems.lines();
        assert_eq!(lines.len(), 21);
        assert_eq!(lines[19], r#"feature 20 (id "19"): has a null geometry"#);
        assert_eq!(lines[20], "and 5 more problems");
    }
}
