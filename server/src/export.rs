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

/// A value with a leading `=`, `+`, `-` or `@` defused, so that a spreadsheet does not
/// run a title as a formula.
fn defused(value: &str) -> String {
    if value.starts_with(['=', '+', '-', '@']) {
        format!("'{value}")
    } else {
        value.to_string()
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
        case.opened_at.to_string(),
        case.updated_at.to_string(),
        text(h.due_at.map(|t| t.to_string()).as_deref()),
        h.overdue.to_string(),
        text(case.closed_at.map(|t| t.to_string()).as_deref()),
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

/// The cases as CSV with a header row, quoted where needed by the `csv` crate.
pub fn csv(cases: &[CaseSummary]) -> String {
    let mut out = ::csv::WriterBuilder::new()
        .terminator(::csv::Terminator::CRLF)
        .from_writer("\u{feff}".as_bytes().to_vec());
    // Writing to memory cannot fail.
    out.write_record(COLUMNS).expect("in memory");
    for case in cases {
        let row = values(case).map(|v| defused(&v));
        out.write_record(&row).expect("in memory");
    }
    let bytes = out.into_inner().expect("in memory");
    String::from_utf8(bytes).expect("written from strings")
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
        let field = |value: &str| {
            let mut out = ::csv::Writer::from_writer(Vec::new());
            out.write_record([defused(value)]).unwrap();
            String::from_utf8(out.into_inner().unwrap()).unwrap()
        };
        assert_eq!(field("plain"), "plain\n");
        assert_eq!(field("a,b"), "\"a,b\"\n");
        assert_eq!(field("say \"hi\""), "\"say \"\"hi\"\"\"\n");
        assert_eq!(field("two\nlines"), "\"two\nlines\"\n");
        assert_eq!(field("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"\n");
        assert_eq!(field("-1"), "'-1\n");
        assert_eq!(field("绿地被开垦"), "绿地被开垦\n");
    }
}
