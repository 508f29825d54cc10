//! Frame times on the 100,000-building workload of TARGETS.md, for Linli and, side by
//! side in the same headless Chromium, for Leaflet 1.9.4 with its canvas renderer.
//!
//! Each run opens a fresh browser at 1600×1000 and measures:
//! - load: from navigation start to a complete map (Linli: its canvas reports every
//!   layer drawn; Leaflet: two animation frames after the GeoJSON layer was added),
//!   and the longest main-thread task meanwhile (Chromium's trace, see
//!   [`trace`](super::trace); recording it slows the load a little, and it stops once
//!   read, before the gestures);
//! - pan: a 3-second mouse drag in a circle over the whole-district view, then half a
//!   second for any redraw on release;
//! - zoom: twelve wheel turns (six in, six out, 200 ms apart) at different points,
//!   then a second for deferred redraws; Leaflet is set to zoom by exactly as much per
//!   wheel pixel as Linli (`zoomSnap: 0`, `wheelPxPerZoomLevel` 347);
//! - fit: from the zoomed-in view, "fit the district" to a complete frame;
//! - heap: the JS heap (`performance.memory`, precise) plus Linli's Wasm memory.
//!
//! Frame intervals come from `requestAnimationFrame` timestamps; headless Chromium
//! caps them at 16.7 ms, so frames over 33 ms and the worst frame show the real cost.

use super::trace::{main_thread, print_causes, print_longest, print_measures, MainThread};
use anyhow::{Context as _, Result};
use linli_tests::{Browser, LinliServer};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;
use tokio::process::Command;

const RUNS: usize = 3;
const WIDTH: u32 = 1600;
const HEIGHT: u32 = 1000;

/// Starts recording animation-frame timestamps into `window.__frames`.
const RECORD: &str = "window.__frames = []; window.__recording = true; \
    const tick = t => { window.__frames.push(t); if (window.__recording) requestAnimationFrame(tick); }; \
    requestAnimationFrame(tick); return true;";
/// Stops recording and returns the frame intervals, ms.
const STOP: &str = "window.__recording = false; const f = window.__frames; \
    return f.slice(1).map((t, i) => t - f[i]);";

#[derive(Debug, Default, Clone)]
pub struct Frames {
    pub count: usize,
    pub median: f64,
    pub p95: f64,
    pub worst: f64,
    pub over_33: usize,
}

impl Frames {
    fn of(mut intervals: Vec<f64>) -> Frames {
        intervals.sort_by(f64::total_cmp);
        let n = intervals.len();
        if n == 0 {
            return Frames::default();
        }
        let at = |q: f64| intervals[((n as f64 * q).ceil() as usize).clamp(1, n) - 1];
        Frames {
            count: n,
            median: at(0.5),
            p95: at(0.95),
            worst: intervals[n - 1],
            over_33: intervals.iter().filter(|&&t| t > 33.4).count(),
        }
    }
}

#[derive(Debug, Default, Clone)]
struct Run {
    load_ms: f64,
    /// The longest main-thread task while loading: input waits at least this long.
    load_task_ms: f64,
    /// The load's trace, for the app's own measures in it.
    load: MainThread,
    fit_ms: f64,
    pan: Frames,
    zoom: Frames,
    heap_mb: f64,
}

/// How to drive one map library in the page.
struct Subject {
    name: &'static str,
    url: String,
    /// Returns the load time (ms since navigation) once the map is complete, else null.
    loaded: &'static str,
    /// Fits the district; `arguments[0]` is a callback that gets the time it took.
    fit: &'static str,
    /// Returns the heap in bytes.
    heap: &'static str,
}

pub async fn frames_during(browser: &Browser, gesture: Value, settle: Duration) -> Result<Frames> {
    browser.script(RECORD, json!([])).await?;
    browser.actions(gesture).await?;
    tokio::time::sleep(settle).await;
    let intervals: Vec<f64> = serde_json::from_value(browser.script(STOP, json!([])).await?)?;
    Ok(Frames::of(intervals))
}

pub fn circle_drag() -> Value {
    let (cx, cy, r) = (f64::from(WIDTH) / 2.0, f64::from(HEIGHT) / 2.0, 150.0);
    let mut actions = vec![
        json!({"type": "pointerMove", "duration": 0, "x": (cx + r) as i64, "y": cy as i64, "origin": "viewport"}),
        json!({"type": "pointerDown", "button": 0}),
    ];
    for step in 1..=180 {
        let angle = f64::from(step) / 180.0 * std::f64::consts::TAU;
        actions.push(json!({"type": "pointerMove", "duration": 16, "origin": "viewport",
            "x": (cx + r * angle.cos()).round() as i64, "y": (cy + r * angle.sin()).round() as i64}));
    }
    actions.push(json!({"type": "pointerUp", "button": 0}));
    json!([{"type": "pointer", "id": "mouse", "parameters": {"pointerType": "mouse"}, "actions": actions}])
}

fn wheel_sequence() -> Value {
    let mut actions = Vec::new();
    for (i, delta) in [
        -120, -120, -120, -120, -120, -120, 120, 120, 120, 120, 120, 120,
    ]
    .into_iter()
    .enumerate()
    {
        let x = 600 + 40 * (i as i64 % 5);
        let y = 400 + 30 * (i as i64 % 4);
        actions.push(json!({"type": "scroll", "x": x, "y": y, "deltaX": 0, "deltaY": delta, "duration": 0, "origin": "viewport"}));
        actions.push(json!({"type": "pause", "duration": 200}));
    }
    json!([{"type": "wheel", "id": "wheel", "actions": actions}])
}

async fn measure(subject: &Subject) -> Result<Run> {
    let browser = Browser::start_traced(WIDTH, HEIGHT, "zh-CN").await?;
    browser.goto(&subject.url).await?;
    let load_ms = browser
        .wait_for(
            &format!("{} to load", subject.name),
            subject.loaded,
            Duration::from_secs(120),
        )
        .await?
        .as_f64()
        .context("load time")?;
    let load = main_thread(&browser.trace_events().await?, None);
    // Let the browser settle after the load (garbage, late tasks).
    tokio::time::sleep(Duration::from_millis(500)).await;
    let pan = frames_during(&browser, circle_drag(), Duration::from_millis(500)).await?;
    let zoom = frames_during(&browser, wheel_sequence(), Duration::from_millis(1000)).await?;
    // Zoom in a little so that fitting has work to do.
    browser.wheel((800.0, 500.0), -480).await?;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let fit_ms = browser
        .execute_async(subject.fit, json!([]))
        .await?
        .as_f64()
        .context("fit time")?;
    let heap = browser.script(subject.heap, json!([])).await?;
    Ok(Run {
        load_ms,
        load_task_ms: load.longest_ms,
        load,
        fit_ms,
        pan,
        zoom,
        heap_mb: heap.as_f64().unwrap_or(f64::NAN) / 1_048_576.0,
    })
}

/// The Leaflet page: the same buildings GeoJSON on a canvas renderer, fitted.
fn leaflet_page(dir: &Path, workload: &Path) -> Result<()> {
    let leaflet = linli_tests::workspace().join("tools/node_modules/leaflet/dist");
    anyhow::ensure!(
        leaflet.join("leaflet.js").is_file(),
        "Leaflet is missing: run `scripts/setup-tools.sh bench` (make bench does)"
    );
    for file in ["leaflet.js", "leaflet.css"] {
        std::fs::copy(leaflet.join(file), dir.join(file))?;
    }
    std::os::unix::fs::symlink(
        workload.join("buildings.geojson"),
        dir.join("buildings.geojson"),
    )?;
    std::fs::write(
        dir.join("index.html"),
        r#"<!doctype html><html><head><meta charset="utf-8">
<link rel="stylesheet" href="leaflet.css">
<style>html,body,#map{margin:0;width:100%;height:100%}</style></head>
<body><div id="map"></div><script src="leaflet.js"></script><script>
const map = L.map('map', {renderer: L.canvas(), zoomSnap: 0, wheelPxPerZoomLevel: 347});
fetch('buildings.geojson').then(r => r.json()).then(data => {
  const layer = L.geoJSON(data, {style: {color: '#5b6170', weight: 1, fillColor: '#c9ccd3', fillOpacity: 1}}).addTo(map);
  window.bounds = layer.getBounds();
  map.fitBounds(window.bounds, {animate: false});
  requestAnimationFrame(() => requestAnimationFrame(() => { window.loadedMs = performance.now(); }));
});
</script></body></html>"#,
    )?;
    Ok(())
}

/// Serves `dir` over HTTP with Python's standard library (as a static file host would).
async fn static_server(dir: &Path) -> Result<(tokio::process::Child, String)> {
    let port = linli_tests::free_port()?;
    let child = Command::new("python3")
        .args([
            "-m",
            "http.server",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
        ])
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .context("cannot start python3 -m http.server")?;
    let url = format!("http://127.0.0.1:{port}/");
    for _ in 0..100 {
        if reqwest::get(&url).await.is_ok() {
            return Ok((child, url));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    anyhow::bail!("the static server did not start")
}

fn median(values: impl Iterator<Item = f64>) -> f64 {
    let mut v: Vec<f64> = values.collect();
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

fn summary(runs: &[Run]) -> Run {
    let frames = |f: &dyn Fn(&Run) -> &Frames| Frames {
        count: median(runs.iter().map(|r| f(r).count as f64)) as usize,
        median: median(runs.iter().map(|r| f(r).median)),
        p95: median(runs.iter().map(|r| f(r).p95)),
        worst: median(runs.iter().map(|r| f(r).worst)),
        over_33: median(runs.iter().map(|r| f(r).over_33 as f64)) as usize,
    };
    Run {
        load_ms: median(runs.iter().map(|r| r.load_ms)),
        load_task_ms: median(runs.iter().map(|r| r.load_task_ms)),
        load: MainThread::default(),
        fit_ms: median(runs.iter().map(|r| r.fit_ms)),
        pan: frames(&|r| &r.pan),
        zoom: frames(&|r| &r.zoom),
        heap_mb: median(runs.iter().map(|r| r.heap_mb)),
    }
}

/// Measures Linli and Leaflet on the workload in `workload` (gen_district.py output).
pub async fn compare(workload: PathBuf) -> Result<()> {
    let workload = workload
        .canonicalize()
        .with_context(|| format!("no workload at {}", workload.display()))?;
    let buildings = workload.join("buildings.geojson");
    let roads = workload.join("roads.geojson");
    println!(
        "frame times, {} (1600×1000, headless Chromium, software rendering; medians of {RUNS} runs):",
        workload.display()
    );
    let server =
        LinliServer::start_imported(&[("buildings", &buildings), ("roads", &roads)]).await?;
    let page = tempfile::tempdir()?;
    leaflet_page(page.path(), &workload)?;
    let (_python, leaflet_url) = static_server(page.path()).await?;
    let subjects = [
        Subject {
            name: "Linli",
            url: server.url("/public"),
            loaded: "const c = document.querySelector('canvas#map'); \
                return c && Number(c.getAttribute('data-buildings')) > 0 \
                    && !document.querySelector('.map-status') && Number(c.getAttribute('data-drawn-ms')) || null",
            fit: "const done = arguments[arguments.length - 1]; \
                const c = document.querySelector('canvas#map'); const before = c.getAttribute('data-view'); \
                const t0 = performance.now(); document.querySelector('[data-test=fit]').click(); \
                const check = () => { const d = Number(c.getAttribute('data-drawn-ms')); \
                    if (c.getAttribute('data-view') !== before && d > t0) done(d - t0); else requestAnimationFrame(check); }; \
                requestAnimationFrame(check);",
            heap: "const c = document.querySelector('canvas#map'); \
                return performance.memory.usedJSHeapSize + Number(c.getAttribute('data-wasm-bytes'));",
        },
        Subject {
            name: "Leaflet 1.9.4 (canvas)",
            url: leaflet_url,
            loaded: "return window.loadedMs || null",
            fit: "const done = arguments[arguments.length - 1]; const t0 = performance.now(); \
                map.fitBounds(window.bounds, {animate: false}); \
                requestAnimationFrame(() => requestAnimationFrame(() => done(performance.now() - t0)));",
            heap: "return performance.memory.usedJSHeapSize;",
        },
    ];
    println!(
        "  {:<24} {:>8} {:>10} {:>8} {:>20} {:>20} {:>10} {:>9}",
        "", "load", "load task", "fit", "pan p95/worst", "zoom p95/worst", ">33 ms", "heap"
    );
    let mut results = Vec::new();
    for subject in &subjects {
        let mut runs = Vec::new();
        for _ in 0..RUNS {
            runs.push(
                measure(subject)
                    .await
                    .with_context(|| format!("measuring {}", subject.name))?,
            );
        }
        let r = summary(&runs);
        println!(
            "  {:<24} {:>6.0}ms {:>8.0}ms {:>6.0}ms {:>9.1}/{:>6.1} ms {:>9.1}/{:>6.1} ms {:>4}/{:<3} {:>3}/{:<3} {:>6.0} MB",
            subject.name,
            r.load_ms,
            r.load_task_ms,
            r.fit_ms,
            r.pan.p95,
            r.pan.worst,
            r.zoom.p95,
            r.zoom.worst,
            r.pan.over_33,
            r.pan.count,
            r.zoom.over_33,
            r.zoom.count,
            r.heap_mb
        );
        let loads: Vec<&MainThread> = runs.iter().map(|r| &r.load).collect();
        if loads.iter().any(|l| !l.measures.0.is_empty()) {
            print_causes(&format!("{} loading ({RUNS} runs)", subject.name), &loads);
            print_measures(
                &format!(
                    "{}'s own measures while loading ({RUNS} runs)",
                    subject.name
                ),
                &loads,
            );
            print_longest(
                &format!("{}'s longest task while loading, each run", subject.name),
                &loads,
            );
        }
        results.push((subject.name, r));
    }
    println!("  (load task: the longest main-thread task while loading, which input waits behind, \
              the load traced; \
              >33 ms: frames over 33 ms of all frames, pan then zoom; heap: JS heap, plus Wasm memory for Linli)");
    println!("  targets: load ≤ 1000 ms, fit ≤ 100 ms, pan and zoom p95 ≤ 16.7 ms and worst ≤ 50 ms, heap ≤ 150 MB");
    if let Some((_, linli)) = results.first() {
        if let Some((_, leaflet)) = results.get(1) {
            println!(
                "  worst frame, Leaflet ÷ Linli: pan {:.1}×, zoom {:.1}× (target ≥ 15× better than the best peer)",
                leaflet.pan.worst / linli.pan.worst,
                leaflet.zoom.worst / linli.zoom.worst
            );
        }
    }
    Ok(())
}
