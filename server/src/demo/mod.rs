//! The demo subdistrict, Tong'an (同安街道), and its accounts, loaded by `serve --demo`.
//!
//! Deterministic: the same data on every machine and every run, so tests and
//! screenshots are reproducible. The seven communities of the source article tile a
//! synthetic subdistrict near 31.845°N 117.305°E: four in a northern row, three in a
//! southern one, with shared, slightly irregular borders (neighbours share every border
//! vertex exactly, so the tiling has no gaps or overlaps).

pub mod district;
pub mod life;

use crate::auth::password;
use crate::store::{Actor, Change, Community, NewUser, Store};
use linli_domain::cases::Party;
use linli_domain::geometry::Xy;
use linli_domain::place::{Geometry, LayerName, Position};
use linli_domain::{CommunityId, Role, Username};

/// Centre of the demo subdistrict, `[lon, lat]`.
pub const CENTRE: Position = [117.305, 31.845];
/// The seed of everything random in the demo.
pub const SEED: u64 = 2025;
/// The demo accounts' password.
pub const DEMO_PASSWORD: &str = "demo";

/// The article's communities: id (pinyin), Chinese name, English name; north row first,
/// west to east, then the south row.
pub const COMMUNITIES: [(&str, &str, &str); 7] = [
    ("xiaogeying", "小葛郢", "Xiaogeying"),
    ("weigang", "卫岗", "Weigang"),
    ("zhougudui", "周谷堆", "Zhougudui"),
    ("wulimiao", "五里庙", "Wulimiao"),
    ("xingfuli", "幸福里", "Xingfuli"),
    ("zhugang", "朱岗", "Zhugang"),
    ("fenlukou", "分路口", "Fenlukou"),
];

/// Size of the subdistrict in metres (east-west, north-south).
const WIDTH_M: f64 = 3400.0;
const HEIGHT_M: f64 = 2400.0;

/// A small deterministic generator (SplitMix64), independent of any crate's versions.
#[derive(Debug, Clone)]
pub struct SplitMix(u64);

impl SplitMix {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `[-1, 1)`.
    pub fn signed_unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 52) as f64 - 1.0
    }
}

/// Turns metres east/north of [`CENTRE`] into `[lon, lat]`, rounded to 7 decimals (1 cm).
pub fn to_lon_lat(x_m: f64, y_m: f64) -> Position {
    let metres_per_degree_lat = 111_320.0;
    let metres_per_degree_lon = metres_per_degree_lat * CENTRE[1].to_radians().cos();
    let round = |v: f64| (v * 1e7).round() / 1e7;
    [
        round(CENTRE[0] + x_m / metres_per_degree_lon),
        round(CENTRE[1] + y_m / metres_per_degree_lat),
    ]
}

/// Turns `[lon, lat]` back into metres east/north of [`CENTRE`].
pub fn to_metres(p: Position) -> Xy {
    let metres_per_degree_lat = 111_320.0;
    let metres_per_degree_lon = metres_per_degree_lat * CENTRE[1].to_radians().cos();
    [
        (p[0] - CENTRE[0]) * metres_per_degree_lon,
        (p[1] - CENTRE[1]) * metres_per_degree_lat,
    ]
}

/// The seven community boundaries as closed rings in metres east/north of [`CENTRE`],
/// counter-clockwise, in the order of [`COMMUNITIES`].
pub fn community_rings(seed: u64) -> Vec<Vec<Xy>> {
    let mut rng = SplitMix::new(seed);
    let (w, h) = (WIDTH_M, HEIGHT_M);
    let mut jitter = |amount: f64| rng.signed_unit() * amount;

    // Column borders of each row, as fractions of the width, jittered inside.
    let mut columns = |fractions: &[f64]| -> Vec<f64> {
        let last = fractions.len() - 1;
        fractions
            .iter()
            .enumerate()
            .map(|(k, &f)| {
                if k == 0 || k == last {
                    f
                } else {
                    f + jitter(0.04)
                }
            })
            .collect()
    };
    let north_cols = columns(&[0.0, 0.25, 0.5, 0.75, 1.0]);
    let south_cols = columns(&[0.0, 1.0 / 3.0, 2.0 / 3.0, 1.0]);

    // The middle border runs through every column border of both rows.
    let mut mid_xs: Vec<f64> = north_cols.iter().chain(&south_cols).copied().collect();
    mid_xs.sort_by(f64::total_cmp);
    mid_xs.dedup();
    let mid: Vec<(f64, f64)> = mid_xs.iter().map(|&f| (f * w, jitter(90.0))).collect();
    let mid_at = |f: f64| {
        mid.iter()
            .position(|&(x, _)| (x - f * w).abs() < 1e-9)
            .expect("column border on the middle line")
    };
    // Outer edges: a vertex at each column border, gently wavy.
    let north_edge: Vec<(f64, f64)> = north_cols
        .iter()
        .map(|&f| (f * w, h / 2.0 + jitter(60.0)))
        .collect();
    let south_edge: Vec<(f64, f64)> = south_cols
        .iter()
        .map(|&f| (f * w, -h / 2.0 + jitter(60.0)))
        .collect();
    // Each inner column border bends once halfway.
    let bend = |from: (f64, f64), to: (f64, f64), offset: f64| {
        ((from.0 + to.0) / 2.0 + offset, (from.1 + to.1) / 2.0)
    };
    let north_bends: Vec<(f64, f64)> = (0..north_cols.len())
        .map(|i| bend(mid[mid_at(north_cols[i])], north_edge[i], jitter(70.0)))
        .collect();
    let south_bends: Vec<(f64, f64)> = (0..south_cols.len())
        .map(|i| bend(mid[mid_at(south_cols[i])], south_edge[i], jitter(70.0)))
        .collect();

    let ring = |points: Vec<(f64, f64)>| {
        let mut ring: Vec<Xy> = points.into_iter().map(|(x, y)| [x - w / 2.0, y]).collect();
        ring.push(ring[0]);
        ring
    };
    let mut boundaries = Vec::with_capacity(7);
    // North cells, counter-clockwise: along the middle eastward, up the east border,
    // along the north edge westward, down the west border.
    for i in 0..north_cols.len() - 1 {
        let (a, b) = (mid_at(north_cols[i]), mid_at(north_cols[i + 1]));
        let mut points: Vec<(f64, f64)> = mid[a..=b].to_vec();
        points.extend([
            north_bends[i + 1],
            north_edge[i + 1],
            north_edge[i],
            north_bends[i],
        ]);
        boundaries.push(ring(points));
    }
    // South cells, counter-clockwise: along the south edge eastward, up the east
    // border, along the middle westward, down the west border.
    for i in 0..south_cols.len() - 1 {
        let (a, b) = (mid_at(south_cols[i]), mid_at(south_cols[i + 1]));
        let mut points = vec![south_edge[i], south_edge[i + 1], south_bends[i + 1]];
        points.extend(mid[a..=b].iter().rev());
        points.push(south_bends[i]);
        boundaries.push(ring(points));
    }
    boundaries
}

/// A ring in metres as a GeoJSON polygon in lon/lat.
pub fn polygon_lon_lat(ring: &[Xy]) -> Geometry {
    Geometry::Polygon(vec![ring.iter().map(|p| to_lon_lat(p[0], p[1])).collect()])
}

/// The demo communities, ready to store.
pub fn communities() -> Vec<Community> {
    COMMUNITIES
        .iter()
        .zip(community_rings(SEED))
        .map(|(&(id, name, name_en), ring)| Community {
            id: CommunityId::parse(id).expect("demo ids are valid"),
            name: name.into(),
            name_en: name_en.into(),
            geometry: polygon_lon_lat(&ring),
        })
        .collect()
}

/// The demo accounts: `demo-commander`, `demo-viewer`, one `demo-grid-<community>`
/// per community and `demo-partner-utilities` of the gas utility, all with the
/// password [`DEMO_PASSWORD`]: (name, role, communities, organisation).
pub fn accounts() -> Vec<(Username, Role, Vec<CommunityId>, Option<Party>)> {
    let name = |n: String| Username::parse(n).expect("demo usernames are valid");
    let mut accounts = vec![
        (name("demo-commander".into()), Role::Commander, vec![], None),
        (name("demo-viewer".into()), Role::Viewer, vec![], None),
    ];
    for (id, _, _) in COMMUNITIES {
        accounts.push((
            name(format!("demo-grid-{id}")),
            Role::GridWorker,
            vec![CommunityId::parse(id).expect("demo ids are valid")],
            None,
        ));
    }
    accounts.push((
        name("demo-partner-utilities".into()),
        Role::Partner,
        vec![],
        Some(Party::Utilities),
    ));
    accounts
}

/// Loads whatever of the demo is missing: the communities into an empty map, and each
/// demo account that does not exist yet. Returns the accounts.
pub async fn seed(
    store: &dyn Store,
    at: crate::clock::Millis,
) -> anyhow::Result<Vec<(Username, Role)>> {
    let change = Change::new(Actor::System("demo"), at);
    if store.communities().await?.is_empty() {
        store.save_communities(&change, &communities()).await?;
    }
    if store.layer_version(LayerName::Buildings).await? == 0 {
        let map = district::base_map(SEED);
        for (layer, features) in [
            (LayerName::Grids, &map.grids),
            (LayerName::Roads, &map.roads),
            (LayerName::Buildings, &map.buildings),
        ] {
            store.save_features(&change, layer, features, false).await?;
        }
        store
            .save_homes(&change, &life::homes(&map, SEED, at))
            .await?;
        store.save_routes(&change, &life::routes(&map)).await?;
        for case in life::cases(&map, SEED, at) {
            store.insert_case(&change, &case).await?;
        }
    }
    let mut seeded = Vec::new();
    for (username, role, own, org) in accounts() {
        if store.user_by_name(&username).await?.is_none() {
            let password_hash =
                tokio::task::spawn_blocking(|| password::hash(DEMO_PASSWORD)).await??;
            store
                .create_user(
                    &change,
                    NewUser {
                        username: username.clone(),
                        password_hash,
                        role,
                        communities: own,
                        org,
                    },
                )
                .await?;
        }
        seeded.push((username, role));
    }
    Ok(seeded)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn rings() -> Vec<Vec<Position>> {
        communities()
            .into_iter()
            .map(|c| match c.geometry {
                Geometry::Polygon(mut rings) => rings.remove(0),
                other => panic!("not a polygon: {other:?}"),
            })
            .collect()
    }

    /// Twice the signed area in lon/lat units; positive is counter-clockwise.
    fn signed_area(ring: &[Position]) -> f64 {
        ring.windows(2)
            .map(|w| w[0][0] * w[1][1] - w[1][0] * w[0][1])
            .sum()
    }

    #[test]
    fn seven_closed_counter_clockwise_rings_near_the_centre() {
        let rings = rings();
        assert_eq!(rings.len(), 7);
        for ring in &rings {
            assert_eq!(ring.first(), ring.last());
            assert!(signed_area(ring) > 0.0, "clockwise ring {ring:?}");
            for p in ring {
                assert!(
                    (p[0] - CENTRE[0]).abs() < 0.03 && (p[1] - CENTRE[1]).abs() < 0.02,
                    "{p:?}"
                );
            }
        }
    }

    #[test]
    fn the_communities_tile_the_subdistrict_without_gaps() {
        // In a tiling, every inner edge is shared by exactly two rings in opposite
        // directions and every outer edge belongs to one ring only; the areas add up
        // to the outline's area.
        let rings = rings();
        let key = |p: Position| ((p[0] * 1e7) as i64, (p[1] * 1e7) as i64);
        type Vertex = (i64, i64);
        let mut edges: HashMap<(Vertex, Vertex), i32> = HashMap::new();
        for ring in &rings {
            for w in ring.windows(2) {
                *edges.entry((key(w[0]), key(w[1]))).or_default() += 1;
            }
        }
        for (&(a, b), &n) in &edges {
            assert_eq!(n, 1, "edge {a:?}->{b:?} used twice in one direction");
        }
        let outer: Vec<_> = edges
            .keys()
            .filter(|(a, b)| !edges.contains_key(&(*b, *a)))
            .collect();
        // The outline: 4 + 3 edges along the north and south, and on each side two
        // bent borders of two edges each.
        assert_eq!(outer.len(), 4 + 3 + 4 + 4, "outline edges {outer:?}");
        let total: f64 = rings.iter().map(|r| signed_area(r)).sum();
        assert!(total > 0.0);
    }

    #[test]
    fn the_demo_is_the_same_every_time() {
        assert_eq!(communities(), communities());
        assert_eq!(accounts().len(), 10);
    }
}
