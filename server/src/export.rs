//! `linli export cases --format csv|geojson`: every case, for the office's reports.
//! CSV (RFC 4180, UTF-8 with a byte-order mark so that spreadsheet programs read the
//! Chinese) with one row per case; GeoJSON (RFC 7946) with one Point feature per case.
//! These go to staff, so they carry case titles (unlike Open311).

use linli_domain::cases::CaseSummary;
use serde_json::{json, Value};

/// The columns, in order.
const COLUMNS: [&str; 20] = [
    "id",
    "title",
    "category",
    "stage",
    "priority",
    "source",
    "community",
    "grid",
    "building",
    "lon",
    "lat",
    "opened_at",
    "updated_at",
    "due_at",
    "overdue",
    "closed_at",
    "outcome",
    "responsible",
    "cooperating",
    "recurs",
];

/// One CSV field: quoted when it must be, and a leading `=`, `+`, `-` or `@` defused
/// so that a spreadsheet does not run a title as a formula.
fn field(value: &str) -> String {
    let value = if value.starts_with(['=', '+', '-', '@']) {
        format!("'{value}")
    } else {
        value.to_string()
    };
    if value.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value
    }
}

fn values(case: &CaseSummary) -> [String; 20] {
    let h = &case.handling;
    let text = |v: Option<&str>| v.unwrap_or_default().to_string();
    [
        case.id.to_string(),
        case.title.clone(),
        case.category.as_str().into(),
        case.stage.as_str().into(),
        case.priority.as_str().into(),
        case.source.as_str().into(),
        case.community.to_string(),
        text(case.grid.as_deref()),
        text(case.building.as_deref()),
        format!("{:.6}", case.position[0]),
        format!("{:.6}", case.position[1]),
        case.opened_at.clone(),
        case.updated_at.clone(),
        h.due_at.clone(),
        h.overdue.to_string(),
        text(case.closed_at.as_deref()),
        text(case.outcome.map(|o| o.as_str())),
        text(h.responsible.map(|p| p.as_str())),
        h.cooperating
            .iter()
            .map(|p| p.as_str())
            .collect::<Vec<_>>()
            .join(";"),
        h.recurs.map(|r| r.to_string()).unwrap_or_default(),
    ]
}

/// The cases as CSV with a header row.
pub fn csv(cases: &[CaseSummary]) -> String {
    let mut out = String::from("\u{feff}");
    out.push_str(&COLUMNS.join(","));
    out.push_str("\r\n");
    for case in cases {
        let row: Vec<String> = values(case).iter().map(|v| field(v)).collect();
        out.push_str(&row.join(","));
        out.push_str("\r\n");
    }
    out
}

/// The cases as a GeoJSON FeatureCollection of points.
pub fn geojson(cases: &[CaseSummary]) -> Value {
    let features: Vec<Value> = cases
        .iter()
        .map(|case| {
            let mut properties = serde_json::Map::new();
            for (name, value) in COLUMNS.iter().zip(values(case)) {
                if !matches!(*name, "id" | "lon" | "lat") {
                    properties.insert(name.to_string(), Value::String(value));
                }
            }
            json!({"type": "Feature", "id": case.id,
                   "geometry": {"type": "Point", "coordinates": case.position},
                   "properties": properties})
        })
        .collect();
    json!({"type": "FeatureCollection", "features": features})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_quoted_and_formulas_defused() {
        assert_eq!(field("plain"), "plain");
        assert_eq!(field("a,b"), "\"a,b\"");
        assert_eq!(field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(field("two\nlines"), "\"two\nlines\"");
        assert_eq!(field("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(field("-1"), "'-1");
        assert_eq!(field("绿地被开垦"), "绿地被开垦");
    }
}
