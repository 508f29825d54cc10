//! `linli export cases`: every case as CSV or GeoJSON from the server's database,
//! titles with commas, quotes and a leading `=` kept intact and harmless, and a bad
//! format refused.

use crate::support::*;
use linli_domain::cases::{CaseCategory, CaseSource, NewCase};
use serde_json::{json, Value};

#[tokio::test]
async fn cases_export_as_csv_and_geojson() {
    let app = spawn_app().await;
    let grid = app.signed_in("demo-grid-wulimiao").await;
    let title = "=SUM(1,2) \"堆物\", 楼道";
    let report = NewCase {
        source: CaseSource::Patrol,
        ..case_report(title, CaseCategory::Environment, [117.3051, 31.8452])
    };
    let id = create_case(&grid, &app, &report).await.summary.id;
    let commander = app.signed_in("demo-commander").await;
    let cases: Vec<Value> = get_json(&commander, app.url("/api/v1/cases")).await;

    let db = app.database_url.as_str();
    let out = run_linli(
        &["export", "cases", "--format", "csv", "--database-url", db],
        &[],
        "",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let csv = String::from_utf8(out.stdout).unwrap();
    let csv = csv
        .strip_prefix('\u{feff}')
        .expect("a byte-order mark for spreadsheets");
    let lines: Vec<&str> = csv.split("\r\n").filter(|l| !l.is_empty()).collect();
    assert!(lines[0].starts_with("id,title,category,stage,priority"));
    assert_eq!(lines.len(), cases.len() + 1, "a header and a row per case");
    let ours = lines
        .iter()
        .find(|l| l.starts_with(&format!("{id},")))
        .unwrap();
    assert!(
        ours.starts_with(&format!(
            "{id},\"'=SUM(1,2) \"\"堆物\"\", 楼道\",environment,reported,normal,patrol,wulimiao"
        )),
        "{ours}"
    );

    let out = run_linli(
        &[
            "export",
            "cases",
            "--format",
            "geojson",
            "--database-url",
            db,
        ],
        &[],
        "",
    );
    assert!(out.status.success());
    let collection: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(collection["type"], "FeatureCollection");
    let features = collection["features"].as_array().unwrap();
    assert_eq!(features.len(), cases.len());
    let feature = features.iter().find(|f| f["id"] == id).unwrap();
    assert_eq!(
        feature["geometry"],
        json!({"type": "Point", "coordinates": [117.3051, 31.8452]})
    );
    assert_eq!(feature["properties"]["title"], title);
    assert_eq!(feature["properties"]["stage"], "reported");

    let out = run_linli(
        &["export", "cases", "--format", "xlsx", "--database-url", db],
        &[],
        "",
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("possible values: csv, geojson"));
}
