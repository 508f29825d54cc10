//! `make bench`: the figures of ../shared/docs/TARGETS.md that exist so far, measured
//! with the release server and headless Chromium on this machine.
//!
//! - Each face's transfer size: the Wasm, JS and CSS of the staff app and of the public
//!   page's own build as the server sends them (the gzip file `make app` wrote beside
//!   each), against their budgets (500 and 150 KB); `gzip -9` of each for comparison.
//! - Load to a complete map, demo district: from navigation start to the canvas having
//!   drawn every layer (`data-drawn-ms`, set by the app right after drawing), on
//!   `/public` at 1600×1000, each run in a fresh browser profile; median and worst.
//! - The command screen panned while 100 alert events/s arrive (see [`busy`]).
//! - Frame times while panning and zooming the 100,000-building workload whose
//!   directory is the first argument, beside Leaflet (see [`frames`]).
//! - Server: ingest over HTTP and MQTT, reading-to-alert latency at an SSE client under
//!   load, fan-out to 2,000 SSE clients and the server's memory, on SQLite and on
//!   PostgreSQL with a second server and a failover (see [`live`]).
//! - Alarm to message: a gas reading to the notifier's message at a webhook receiver
//!   (see [`notify`]); `LINLI_BENCH=notify` measures only this.
//! - The server at full size: memory with 20,000 homes and 60,000 sensors, and the
//!   cached public status under a crowd of readers (see [`scale`]).
//! - Residents do not slow the staff: the commander's snapshot while 100 residents load
//!   `/public` in a process of their own (see [`readers`]); `LINLI_BENCH=readers` only
//!   this.
//!   `LINLI_BENCH=server` measures only the server, `LINLI_BENCH=live` only its
//!   ingest, latency, fan-out and failover on both databases; `LINLI_BENCH=scale` only this, and
//!   `LINLI_BENCH=busy` only the command screen under alerts, `LINLI_BENCH=frames` only
//!   the frame times on the workload, `LINLI_BENCH=sizes` only each face's bytes,
//!   `LINLI_BENCH=load` only the demo's load to a complete map.
//! - It also saves the demo's buildings and roads to `target/bench/demo/` for the
//!   native draw-list measurement (`app/examples/draw_list.rs`), which `make bench`
//!   runs next.

mod busy;
mod frames;
mod live;
mod notify;
mod readers;
mod scale;
mod trace;

use anyhow::{Context, Result};
use linli_tests::{dist_dir, Browser, LinliServer};
use std::io::Write as _;
use std::time::Duration;

const RUNS: usize = 7;

fn gzip_size(bytes: &[u8]) -> Result<usize> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(bytes)?;
    Ok(encoder.finish()?.len())
}

/// Each face's download: the staff app (one build for `/login`, `/command`, `/field`
/// and `/partner`) and the public page's own build, each against its budget.
fn transfer_sizes() -> Result<()> {
    let dist = dist_dir()?;
    let worker = |name: &str| name.starts_with(LAYER_WORKER);
    face_bytes(
        "staff faces (/login, /command, /field, /partner; dist/)",
        &dist,
        500,
        |name| !worker(name),
    )?;
    face_bytes(
        "public page (/public, residents' phones; dist/public/)",
        &dist.join("public"),
        150,
        |_| true,
    )?;
    face_bytes(
        "layer worker (either page, only for a layer over 1 MB; dist/)",
        &dist,
        150,
        worker,
    )
}

/// The layer worker's files in `dist/` (`app/src/layer_worker.rs`).
const LAYER_WORKER: &str = "linli-layers";

/// The Wasm, JS and CSS files of one build in `dir` whose names `include` takes: raw,
/// `gzip -9`, and as sent (the `.gz` beside each, which the server sends to any
/// browser that takes gzip).
fn face_bytes(
    face: &str,
    dir: &std::path::Path,
    budget_kb: usize,
    include: impl Fn(&str) -> bool,
) -> Result<()> {
    let mut total = (0, 0, 0);
    println!("transfer size, {face}:");
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        let kind = path
            .extension()
            .and_then(|e| e.to_str())
            .unwrap_or_default()
            .to_string();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        if !["wasm", "js", "css"].contains(&kind.as_str()) || !include(name) {
            continue;
        }
        let bytes = std::fs::read(&path)?;
        let gz = gzip_size(&bytes)?;
        let mut beside = path.into_os_string();
        beside.push(".gz");
        let sent = std::fs::metadata(&beside)
            .with_context(|| format!("{beside:?}: run `make app`, which writes it"))?
            .len() as usize;
        total = (total.0 + bytes.len(), total.1 + gz, total.2 + sent);
        println!(
            "  {kind:<5} {:>8.1} KB raw {:>8.1} KB gzip -9 {:>8.1} KB sent",
            bytes.len() as f64 / 1024.0,
            gz as f64 / 1024.0,
            sent as f64 / 1024.0
        );
    }
    println!(
        "  total {:>8.1} KB raw {:>8.1} KB gzip -9 {:>8.1} KB sent   (target ≤ {budget_kb} KB sent, gzip; MapLibre GL JS alone ≈ 230 KB)",
        total.0 as f64 / 1024.0,
        total.1 as f64 / 1024.0,
        total.2 as f64 / 1024.0
    );
    Ok(())
}

async fn load_to_map() -> Result<()> {
    let server = LinliServer::start_demo().await?;
    let out = linli_tests::workspace().join("target/bench/demo");
    std::fs::create_dir_all(&out)?;
    for layer in ["buildings", "roads"] {
        let body = reqwest::get(server.url(&format!("/api/v1/layers/{layer}")))
            .await?
            .bytes()
            .await?;
        std::fs::write(out.join(format!("{layer}.geojson")), body)?;
    }
    let mut times = Vec::with_capacity(RUNS);
    let (mut wasm_arrived, mut layers_arrived) = (Vec::new(), Vec::new());
    for _ in 0..RUNS {
        let browser = Browser::start(1600, 1000, "zh-CN").await?;
        browser.goto(&server.url("/public")).await?;
        let drawn = browser
            .wait_for(
                "the map",
                "const c = document.querySelector('canvas#map'); \
                 return c && Number(c.getAttribute('data-buildings')) > 0 && !document.querySelector('.map-status') && Number(c.getAttribute('data-drawn-ms')) || null",
                Duration::from_secs(30),
            )
            .await?;
        times.push(drawn.as_f64().unwrap_or(f64::NAN));
        // Where the time went: when the Wasm and the last layer had arrived.
        let arrived = browser
            .script(
                "const done = (test) => Math.max(0, ...performance.getEntriesByType('resource') \
                     .filter(e => test(new URL(e.name).pathname)).map(e => e.responseEnd)); \
                 return [done(p => p.endsWith('.wasm')), done(p => p.startsWith('/api/v1/layers/'))]",
                serde_json::json!([]),
            )
            .await?;
        let at = |i: usize| arrived[i].as_f64().unwrap_or(f64::NAN);
        wasm_arrived.push(at(0));
        layers_arrived.push(at(1));
    }
    let median = |mut values: Vec<f64>| {
        values.sort_by(f64::total_cmp);
        values[values.len() / 2]
    };
    times.sort_by(f64::total_cmp);
    println!(
        "load to a complete map, demo district (/public, 1600×1000, {RUNS} cold runs): median {:.0} ms, worst {:.0} ms   (target ≤ 500 ms; Leaflet 340 ms, MapLibre 1090 ms)",
        times[RUNS / 2],
        times[RUNS - 1]
    );
    println!(
        "  of which (medians, ms since navigation): the Wasm arrived at {:.0}, the last layer at {:.0}",
        median(wasm_arrived),
        median(layers_arrived)
    );
    Ok(())
}

#[tokio::main]
async fn main() -> Result<()> {
    // `server`, `scale`, `busy`, `frames`, … measure only that part; anything else, everything.
    let only = std::env::var("LINLI_BENCH").unwrap_or_default();
    match only.as_str() {
        "readers-crowd" => {
            let mut args = std::env::args().skip(1);
            let base = args.next().unwrap_or_default();
            let seconds = args.next().and_then(|s| s.parse().ok()).unwrap_or(10);
            return readers::crowd(base, seconds).await;
        }
        "readers" => return readers::measure().await,
        "live" => {
            live::measure(live::On::Sqlite).await?;
            return live::measure(live::On::Postgres).await;
        }
        "live-postgres" => return live::measure(live::On::Postgres).await,
        "scale" => {
            scale::measure(live::On::Sqlite).await?;
            return scale::measure(live::On::Postgres).await;
        }
        "busy" => return busy::measure().await,
        "notify" => return notify::measure().await,
        "sizes" => return transfer_sizes(),
        "load" => return load_to_map().await,
        "frames" => {
            let workload = std::env::args().nth(1).unwrap_or_default();
            return frames::compare(workload.into()).await;
        }
        _ => {}
    }
    live::measure(live::On::Sqlite).await?;
    live::measure(live::On::Postgres).await?;
    notify::measure().await?;
    scale::measure(live::On::Sqlite).await?;
    scale::measure(live::On::Postgres).await?;
    readers::measure().await?;
    if only == "server" {
        return Ok(());
    }
    transfer_sizes()?;
    load_to_map().await?;
    busy::measure().await?;
    match std::env::args().nth(1) {
        Some(workload) => frames::compare(workload.into()).await,
        None => Ok(()),
    }
}
