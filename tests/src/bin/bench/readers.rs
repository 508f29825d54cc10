//! Residents do not slow the staff (issue 16, JOURNEYS.md 5.3): the commander's
//! snapshot (`GET /api/v1/snapshot`, the demo district) timed quiet, then while 100
//! residents load what `/public` loads (the page, its script, Wasm and style, the four
//! base-map layers, the public status) over and over. The readers run in a process of
//! their own at the lowest CPU priority (`nice -n 19`), standing in for phones on other
//! machines: on a two-core machine their client would otherwise compete with the
//! server for the cores and measure itself. Target: the snapshot's median within 3× of
//! quiet.

use anyhow::{Context as _, Result};
use linli_tests::LinliServer;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const READERS: usize = 100;
const SNAPSHOTS: usize = 60;
const CROWD_SECONDS: u64 = 20;

/// Medians of `SNAPSHOTS` commander snapshots, one after another, in ms.
async fn snapshot_median(client: &reqwest::Client, url: &str) -> Result<f64> {
    let mut times = Vec::with_capacity(SNAPSHOTS);
    for _ in 0..SNAPSHOTS {
        let started = Instant::now();
        let body = client
            .get(url)
            .send()
            .await?
            .error_for_status()?
            .bytes()
            .await?;
        anyhow::ensure!(body.len() > 1_000, "a snapshot of {} bytes", body.len());
        times.push(started.elapsed().as_secs_f64() * 1e3);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    times.sort_by(f64::total_cmp);
    Ok(times[SNAPSHOTS / 2])
}

/// What `/public` loads, as URLs under `base`: the page, the assets it names, the
/// layers and the status.
async fn public_page_urls(base: &str) -> Result<Vec<String>> {
    let page = reqwest::get(format!("{base}/public")).await?.text().await?;
    let mut urls = vec![format!("{base}/public")];
    for piece in page.split(['"', '\'']) {
        if piece.starts_with('/')
            && [".js", ".wasm", ".css"]
                .iter()
                .any(|end| piece.ends_with(end))
        {
            urls.push(format!("{base}{piece}"));
        }
    }
    anyhow::ensure!(urls.len() >= 4, "the page names its assets: {urls:?}");
    for layer in ["communities", "roads", "grids", "buildings"] {
        urls.push(format!("{base}/api/v1/layers/{layer}?format=compact"));
    }
    urls.push(format!("{base}/api/v1/public/status"));
    urls.dedup();
    Ok(urls)
}

/// The readers' process (`LINLI_BENCH=readers-crowd BASE SECONDS`): `READERS` phones
/// loading the public page again and again; prints the pages loaded per second.
pub async fn crowd(base: String, seconds: u64) -> Result<()> {
    let urls = Arc::new(public_page_urls(&base).await?);
    let client = reqwest::Client::new();
    let pages = Arc::new(AtomicU64::new(0));
    let until = Instant::now() + Duration::from_secs(seconds);
    let mut readers = Vec::with_capacity(READERS);
    for _ in 0..READERS {
        let (client, urls, pages) = (client.clone(), urls.clone(), pages.clone());
        readers.push(tokio::spawn(async move {
            while Instant::now() < until {
                for url in urls.iter() {
                    let response = client
                        .get(url)
                        .header("accept-encoding", "gzip")
                        .send()
                        .await?
                        .error_for_status()?;
                    response.bytes().await?;
                }
                pages.fetch_add(1, Ordering::Relaxed);
            }
            anyhow::Ok(())
        }));
    }
    for reader in readers {
        reader.await??;
    }
    println!(
        "{:.1}",
        pages.load(Ordering::Relaxed) as f64 / seconds as f64
    );
    Ok(())
}

pub async fn measure() -> Result<()> {
    let server = LinliServer::start_demo().await?;
    let commander = server.signed_in("demo-commander").await?;
    let url = server.url("/api/v1/snapshot");
    // Warm: the first snapshot reads everything from disk.
    snapshot_median(&commander, &url).await?;
    let quiet = snapshot_median(&commander, &url).await?;

    let readers = tokio::process::Command::new("nice")
        .args(["-n", "19"])
        .arg(std::env::current_exe()?)
        .arg(server.url(""))
        .arg(CROWD_SECONDS.to_string())
        .env("LINLI_BENCH", "readers-crowd")
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .context("cannot start the readers' process")?;
    // Let the crowd arrive before timing.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let loaded = snapshot_median(&commander, &url).await?;
    let output = readers.wait_with_output().await?;
    anyhow::ensure!(output.status.success(), "the readers' process failed");
    let pages: f64 = String::from_utf8_lossy(&output.stdout).trim().parse()?;
    println!(
        "commander snapshot while {READERS} residents load /public (readers in their own process, nice 19): \
         median {loaded:.1} ms vs {quiet:.1} ms quiet ({:.1}×), residents served {pages:.0} page loads/s   (target ≤ 3× quiet)",
        loaded / quiet
    );
    Ok(())
}
