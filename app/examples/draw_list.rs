//! `make bench` helper: the native time to turn a district into a full-screen draw list
//! (1600×1000 CSS pixels), the work the app does for every frame before the canvas
//! replays it.
//!
//! `cargo run --release -p linli-app --example draw_list -- DIR [DIR …]` where each DIR
//! holds `buildings.geojson` and `roads.geojson` (the demo district as the API serves
//! it, or `../shared/bench/gen_district.py` output).

use linli_app::map::index::Indexed;
use linli_app::map::layers::{self, BaseShown, MapData};
use linli_app::map::theme::Theme;
use linli_app::map::viewport::Viewport;
use linli_domain::place::Layer;
use std::path::Path;
use std::time::Instant;

const RUNS: usize = 21;

/// Reads a FeatureCollection; numeric feature ids become strings.
fn read_layer(path: &Path) -> Layer {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let mut value: serde_json::Value = serde_json::from_str(&text).expect("GeoJSON");
    for feature in value["features"].as_array_mut().into_iter().flatten() {
        if let Some(n) = feature["id"].as_i64() {
            feature["id"] = serde_json::Value::String(n.to_string());
        }
        if feature["properties"].is_null() {
            feature["properties"] = serde_json::json!({});
        }
    }
    serde_json::from_value(value).expect("a FeatureCollection of Linli geometries")
}

fn median_ms(mut f: impl FnMut() -> usize) -> (f64, f64, usize) {
    let mut times = Vec::with_capacity(RUNS);
    let mut size = 0;
    for _ in 0..RUNS {
        let started = Instant::now();
        size = f();
        times.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    times.sort_by(f64::total_cmp);
    (times[RUNS / 2], times[RUNS - 1], size)
}

fn main() {
    let dirs: Vec<String> = std::env::args().skip(1).collect();
    assert!(!dirs.is_empty(), "usage: draw_list DIR [DIR …]");
    let palette = Theme::Dark.palette();
    for dir in dirs {
        let dir = Path::new(&dir);
        let started = Instant::now();
        let buildings = read_layer(&dir.join("buildings.geojson"));
        let roads = read_layer(&dir.join("roads.geojson"));
        let parsed = started.elapsed();
        let data = MapData {
            buildings: Indexed::new(layers::project_areas(buildings)),
            roads: Indexed::new(layers::project_lines(roads)),
            ..MapData::default()
        };
        let prepared = started.elapsed() - parsed;
        let fitted = Viewport::fit(data.extent().expect("features"), 1600.0, 1000.0, 24.0);
        let street = Viewport {
            resolution: 0.5,
            ..fitted
        };
        println!(
            "native draw list, {} ({} buildings, {} roads): parse {:.0} ms, project + index {:.0} ms",
            dir.display(),
            data.buildings.len(),
            data.roads.len(),
            parsed.as_secs_f64() * 1000.0,
            prepared.as_secs_f64() * 1000.0
        );
        for (name, view) in [
            ("whole district", fitted),
            ("street level, 0.5 m/px", street),
        ] {
            let (median, worst, commands) =
                median_ms(|| layers::draw_all(&data, &view, &palette, BaseShown::default()).len());
            println!("  {name:<24} median {median:>7.2} ms, worst {worst:>7.2} ms ({commands} draw commands, {RUNS} runs)");
        }
    }
}
