//! Fuzzing on stable Rust, bounded in time: seed inputs (`fixtures/fuzz/`, the import
//! fixtures, a compact layer) are mutated at random (bytes flipped, inserted, cut,
//! doubled, spliced with another seed, numbers and tokens swapped for awkward ones) and
//! fed to every parser of outside input: the ingest parser (JSON batches, single MQTT
//! readings, SenML), the GeoJSON and CSV imports, and the compact layer codec. None may
//! panic, and what a parser accepts must hold its promises (every reading it passes is
//! valid; each record is either read or refused, once). Imports check whole files before
//! their one transaction, so a parser that cannot panic leaves nothing half-written.
//!
//! Each target runs `LINLI_FUZZ_CASES` cases (20,000 by default), stopping early after
//! [`BUDGET`]. A crashing input is written to `target/fuzz/` and the test fails naming
//! it; add it to `fixtures/fuzz/` so that it is tried on every run.

use linli_domain::place::LayerName;
use linli_server::import::{geojson, homes};
use linli_server::ingest::parse::{parse, valid_device_id, Encoding};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The longest one target runs.
const BUDGET: Duration = Duration::from_secs(20);

/// 2026-11-26T07:15:00Z, near the seeds' times.
const NOW: i64 = 1_795_677_300_000;

/// A small, reproducible random source (xorshift64*).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Values that break careless parsers.
const AWKWARD: [&str; 18] = [
    "-1",
    "0",
    "1e309",
    "-1e309",
    "NaN",
    "9223372036854775808",
    "18446744073709551616",
    "null",
    "true",
    "[]",
    "{}",
    "\"\"",
    "\"\\u0000\"",
    "\"\\ud800\"",
    "\"幸福里\"",
    "1.7976931348623157e308",
    ",",
    "\"2026-02-30T25:61:61Z\"",
];

/// One random change to `input`, sometimes with a piece of `other`.
fn mutate(rng: &mut Rng, input: &[u8], other: &[u8]) -> Vec<u8> {
    let mut out = input.to_vec();
    for _ in 0..=rng.below(4) {
        let at = rng.below(out.len() + 1);
        match rng.below(7) {
            0 if !out.is_empty() => {
                let i = rng.below(out.len());
                out[i] ^= 1 << rng.below(8);
            }
            1 => out.insert(at, rng.next() as u8),
            2 if at < out.len() => {
                let end = (at + 1 + rng.below(16)).min(out.len());
                out.drain(at..end);
            }
            3 if at < out.len() => {
                let end = (at + 1 + rng.below(64)).min(out.len());
                let piece = out[at..end].to_vec();
                out.splice(at..at, piece);
            }
            4 if !other.is_empty() => {
                let from = rng.below(other.len());
                let end = (from + 1 + rng.below(128)).min(other.len());
                out.splice(at..at, other[from..end].iter().copied());
            }
            5 => {
                // Swap a number or token for an awkward value.
                let token = AWKWARD[rng.below(AWKWARD.len())].as_bytes();
                let end = out[at..]
                    .iter()
                    .position(|b| b",}] \n".contains(b))
                    .map_or(out.len(), |n| at + n);
                out.splice(at..end, token.iter().copied());
            }
            _ => {
                let token = AWKWARD[rng.below(AWKWARD.len())].as_bytes();
                out.splice(at..at, token.iter().copied());
            }
        }
    }
    out
}

fn fixture(path: &str) -> Vec<u8> {
    std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures")
            .join(path),
    )
    .unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn seeds(folder: &str, extension: &str) -> Vec<Vec<u8>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(folder);
    let mut names: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == extension))
        .collect();
    names.sort();
    names.iter().map(|p| std::fs::read(p).unwrap()).collect()
}

/// Feeds mutated seeds to `target`; fails, keeping the input, if it panics.
fn fuzz(name: &str, seeds: &[Vec<u8>], target: impl Fn(&[u8]) + std::panic::RefUnwindSafe) {
    let cases: usize = std::env::var("LINLI_FUZZ_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(20_000);
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ name.len() as u64);
    let started = Instant::now();
    let mut tried = 0;
    // The seeds themselves first, then mutations of them.
    let inputs = seeds.iter().cloned().chain((0..cases).map(|_| {
        let seed = &seeds[rng.below(seeds.len())];
        let other = &seeds[rng.below(seeds.len())];
        mutate(&mut rng, seed, other)
    }));
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    for input in inputs {
        if started.elapsed() > BUDGET {
            break;
        }
        tried += 1;
        if std::panic::catch_unwind(|| target(&input)).is_err() {
            std::panic::set_hook(hook);
            let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/fuzz");
            std::fs::create_dir_all(&dir).unwrap();
            let path = dir.join(format!("{name}-crash-{tried}"));
            std::fs::write(&path, &input).unwrap();
            panic!(
                "{name}: input {tried} panicked; it is in {}",
                path.display()
            );
        }
    }
    std::panic::set_hook(hook);
    println!(
        "{name}: {tried} inputs in {:?}, no panic",
        started.elapsed()
    );
}

/// What the ingest parser accepts holds its promises.
fn check_batch(input: &[u8], encoding: Encoding) {
    let Ok(batch) = parse(input, encoding, NOW) else {
        return;
    };
    assert_eq!(batch.readings.len(), batch.indices.len());
    let mut seen: Vec<usize> = batch
        .indices
        .iter()
        .copied()
        .chain(batch.refused.iter().map(|r| r.index))
        .collect();
    seen.sort_unstable();
    let count = seen.len();
    seen.dedup();
    assert_eq!(seen.len(), count, "a record read and refused, or twice");
    assert_eq!(
        seen,
        (0..count).collect::<Vec<_>>(),
        "every record accounted for"
    );
    for reading in &batch.readings {
        assert!(valid_device_id(&reading.device));
        assert!(reading.value.is_finite());
        assert!(reading.at <= NOW + 5 * 60 * 1000);
    }
    for refused in &batch.refused {
        assert!(!refused.reason.is_empty());
        assert!(refused.reason.len() < 2_000, "a reason echoes too much");
    }
}

#[test]
fn the_ingest_parser_survives_anything() {
    let seeds = seeds("fuzz", "json");
    fuzz("ingest-json", &seeds, |input| {
        check_batch(input, Encoding::Json)
    });
    fuzz("ingest-senml", &seeds, |input| {
        check_batch(input, Encoding::SenMl)
    });
}

#[test]
fn the_geojson_import_survives_anything() {
    let seeds = seeds("import", "geojson");
    for layer in [
        LayerName::Buildings,
        LayerName::Roads,
        LayerName::Grids,
        LayerName::Communities,
    ] {
        fuzz(&format!("geojson-{}", layer.as_str()), &seeds, |input| {
            let _ = geojson::parse(layer, input, &mut |_, _| {});
        });
    }
}

#[test]
fn the_homes_import_survives_anything() {
    let buildings = geojson::parse(
        LayerName::Buildings,
        &fixture("import/buildings.geojson"),
        &mut |_, _| {},
    )
    .unwrap();
    let communities = geojson::parse(
        LayerName::Communities,
        &fixture("import/communities.geojson"),
        &mut |_, _| {},
    )
    .unwrap();
    let mut context = homes::Context::default();
    if let linli_server::import::Import::Features(features) = buildings {
        context.buildings = features.into_iter().map(|f| (f.id, f.geometry)).collect();
    }
    if let linli_server::import::Import::Communities(list) = communities {
        context.communities = list.into_iter().map(|c| c.id).collect();
    }
    let seeds = seeds("import", "csv");
    fuzz("homes-csv", &seeds, |input| {
        let _ = homes::parse(input, &context, &mut |_, _| {});
    });
}

#[test]
fn the_compact_codec_survives_anything() {
    let layer = geojson::parse(
        LayerName::Roads,
        &fixture("import/roads.osm.geojson"),
        &mut |_, _| {},
    )
    .unwrap();
    let linli_server::import::Import::Features(features) = layer else {
        panic!("roads are features");
    };
    let collection = linli_domain::place::FeatureCollection { features };
    let encoded = linli_domain::compact::encode(&collection).unwrap();
    // What is encoded decodes to the same.
    let decoded = linli_domain::compact::decode(&encoded).unwrap();
    assert_eq!(decoded.features.len(), collection.features.len());
    fuzz("compact", &[encoded], |input| {
        let _ = linli_domain::compact::decode(input);
    });
}
