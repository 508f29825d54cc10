//! The server at the district's full size: 20,000 elder homes with 60,000 sensors
//! imported (`linli import homes`) into the demo district, the server restarted so it
//! loads them, then its memory at rest and after a commander's snapshot, and the
//! cached public status under a crowd of readers (TARGETS.md: RSS ≤ 150 MB,
//! ≥ 30,000 requests/s); on SQLite and on PostgreSQL.

use crate::live::On;
use anyhow::{Context as _, Result};
use linli_tests::{LinliServer, Postgres};
use serde_json::Value;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const HOMES: usize = 20_000;
const READERS: usize = 64;
const CROWD_SECONDS: u64 = 5;

/// A homes CSV of `HOMES` homes spread over the demo homes' buildings, each with a
/// water meter, a gas and a smoke detector, placed at its building's centre.
fn homes_csv(templates: &[Value]) -> Result<String> {
    let mut csv = String::from(
        "id,building,community,unit,floor,room,resident,age_band,living_alone,care_level,sensors\n",
    );
    for n in 0..HOMES {
        let t = &templates[n % templates.len()];
        let (building, community) = (
            t["building"].as_str().context("a home's building")?,
            t["community"].as_str().context("a home's community")?,
        );
        csv.push_str(&format!(
            "bench-{n:05},{building},{community},1,{floor},{room},测试{n},80-89,yes,attention,\
             water:bw-{n:05};gas:bg-{n:05};smoke:bs-{n:05}\n",
            floor = 1 + n % 30,
            room = 100 + n % 900,
        ));
    }
    Ok(csv)
}

fn megabytes(server: &LinliServer) -> f64 {
    server.rss_bytes().unwrap_or(0) as f64 / 1_048_576.0
}

/// Requests per second that `READERS` concurrent readers get from the public status,
/// with `if_none_match` sent when given.
async fn crowd(server: &LinliServer, if_none_match: Option<&str>) -> Result<f64> {
    let client = reqwest::Client::new();
    let served = Arc::new(AtomicU64::new(0));
    let until = Instant::now() + Duration::from_secs(CROWD_SECONDS);
    let mut readers = Vec::with_capacity(READERS);
    for _ in 0..READERS {
        let (client, served, url) = (
            client.clone(),
            served.clone(),
            server.url("/api/v1/public/status"),
        );
        let tag = if_none_match.map(str::to_string);
        readers.push(tokio::spawn(async move {
            while Instant::now() < until {
                let mut request = client.get(&url);
                if let Some(tag) = &tag {
                    request = request.header("if-none-match", tag);
                }
                let response = request.send().await?;
                let ok = response.status().is_success() || response.status() == 304;
                response.bytes().await?;
                if ok {
                    served.fetch_add(1, Ordering::Relaxed);
                }
            }
            anyhow::Ok(())
        }));
    }
    for reader in readers {
        reader.await??;
    }
    Ok(served.load(Ordering::Relaxed) as f64 / CROWD_SECONDS as f64)
}

pub async fn measure(on: On) -> Result<()> {
    let postgres = (on == On::Postgres).then(|| Postgres::start(&[]));
    let mut server = match &postgres {
        None => {
            println!("at district size, on SQLite:");
            LinliServer::start_demo_with(&["--no-static"]).await?
        }
        Some(postgres) => {
            println!("at district size, on PostgreSQL (a private one):");
            LinliServer::start_on(&postgres.database().await, true, &["--no-static"]).await?
        }
    };
    let templates = server.homes("demo-commander").await?;
    let file = tempfile::NamedTempFile::new()?;
    std::fs::write(file.path(), homes_csv(&templates)?)?;
    let started = Instant::now();
    let path = file.path().to_string_lossy().to_string();
    server.linli(&["import", "homes", &path]).await?;
    println!(
        "import of {HOMES} homes with {} sensors: {:.1} s",
        3 * HOMES,
        started.elapsed().as_secs_f64()
    );
    server.kill_and_restart().await?;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let at_rest = megabytes(&server);
    let commander = server.signed_in("demo-commander").await?;
    let snapshot: Value = commander
        .get(server.url("/api/v1/snapshot"))
        .send()
        .await?
        .json()
        .await?;
    let homes = snapshot["homes"].as_array().map_or(0, Vec::len);
    anyhow::ensure!(homes >= HOMES, "the snapshot has {homes} homes");
    println!(
        "server RSS with {homes} homes and their sensors: {at_rest:.0} MB at rest, {:.0} MB after a snapshot   (target ≤ 150 MB)",
        megabytes(&server)
    );
    let first = reqwest::get(server.url("/api/v1/public/status")).await?;
    let tag = first
        .headers()
        .get("etag")
        .and_then(|t| t.to_str().ok())
        .map(str::to_string);
    first.bytes().await?;
    let full = crowd(&server, None).await?;
    let unchanged = crowd(&server, tag.as_deref()).await?;
    println!(
        "public status, cached, {READERS} readers for {CROWD_SECONDS} s: {full:.0} requests/s with the body, {unchanged:.0} requests/s answered 304   (target ≥ 30,000)"
    );
    Ok(())
}
