//! The demo district's base map: streets, compounds of buildings, and the grids (网格)
//! of each community. Deterministic from a seed.
//!
//! Laid out in metres east/north of the centre, then turned into lon/lat. A grid of
//! streets (main roads every third line) cuts the subdistrict into blocks; each block
//! holds one or two residential compounds (小区) of slab or tower buildings, except the
//! Greenland Yinghai (绿地赢海) commercial block. Buildings are packed inside their
//! compound's rectangle, which lies inside its block minus the street and a setback, so
//! no building overlaps another or a road. A building belongs to the community that
//! contains its centre.

use super::{community_rings, polygon_lon_lat, to_lon_lat, SplitMix, COMMUNITIES};
use linli_domain::geometry::{point_in_ring, ring_centroid, Xy};
use linli_domain::place::{Feature, Geometry, Properties};
use serde_json::json;

/// West/east and south/north extent of the street grid, metres from the centre.
const HALF_WIDTH: f64 = 1620.0;
const HALF_HEIGHT: f64 = 1110.0;
/// Streets per direction (lines, including the two edges).
const X_LINES: usize = 12;
const Y_LINES: usize = 11;
/// Free space between a street's edge and the buildings.
const SETBACK: f64 = 7.0;
/// Width of the lane between two compounds of one block.
const LANE: f64 = 12.0;

const EAST_WEST_NAMES: [&str; Y_LINES] = [
    "南一环路",
    "太湖路",
    "芜湖路",
    "花园街",
    "望江东路",
    "曙光路",
    "铜陵路",
    "黄山路",
    "徽州大道",
    "九华山路",
    "包河大道",
];
const NORTH_SOUTH_NAMES: [&str; X_LINES] = [
    "金寨路",
    "宿松路",
    "宁国路",
    "桐城南路",
    "马鞍山路",
    "东至路",
    "青阳路",
    "贵池路",
    "合作化路",
    "屯溪路",
    "庐江路",
    "同安路",
];
/// Compound names; the first three are the source article's.
const COMPOUND_NAMES: [&str; 40] = [
    "信发小区",
    "电信小区",
    "珠光南苑",
    "望湖花园",
    "卫岗新村",
    "朱岗花园",
    "曙光新村",
    "红星小区",
    "南园小区",
    "金色池塘",
    "滨湖家园",
    "宁国新村",
    "安居苑",
    "和平小区",
    "春晖苑",
    "翠竹园",
    "绿景苑",
    "青年公寓",
    "阳光花园",
    "桂花园",
    "康乐小区",
    "富康苑",
    "紫云小区",
    "海棠苑",
    "兰亭苑",
    "梅园小区",
    "松竹苑",
    "学苑新村",
    "包河新村",
    "鸿运花园",
    "如意小区",
    "丰乐苑",
    "五里新村",
    "周谷堆小区",
    "分路口小区",
    "幸福里小区",
    "小葛郢新村",
    "合钢宿舍",
    "供电小区",
    "邮电新村",
];
const COMMERCIAL_BLOCK: &str = "绿地赢海";

/// The district's base layers in lon/lat, ready to store.
#[derive(Debug, Clone, PartialEq)]
pub struct BaseMap {
    pub grids: Vec<Feature<Properties>>,
    pub roads: Vec<Feature<Properties>>,
    pub buildings: Vec<Feature<Properties>>,
    /// Centre lines of the north-south streets (metres east) and east-west streets
    /// (metres north), west to east and south to north, with their names.
    pub street_xs: Vec<(f64, &'static str)>,
    pub street_ys: Vec<(f64, &'static str)>,
}

/// A street line: position across, its class and its half width.
#[derive(Debug, Clone, Copy)]
struct Street {
    at: f64,
    primary: bool,
}

impl Street {
    fn half_width(self) -> f64 {
        if self.primary {
            12.0
        } else {
            8.0
        }
    }
}

/// Street positions from `-half` to `half`: edges fixed, inner lines jittered.
fn streets(count: usize, half: f64, rng: &mut SplitMix) -> Vec<Street> {
    let step = 2.0 * half / (count - 1) as f64;
    (0..count)
        .map(|i| {
            let edge = i == 0 || i == count - 1;
            let jitter = if edge {
                0.0
            } else {
                rng.signed_unit() * step * 0.12
            };
            Street {
                at: -half + i as f64 * step + jitter,
                primary: edge || i % 3 == 0,
            }
        })
        .collect()
}

/// An axis-aligned rectangle in metres.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rect {
    pub x0: f64,
    pub y0: f64,
    pub x1: f64,
    pub y1: f64,
}

impl Rect {
    fn width(&self) -> f64 {
        self.x1 - self.x0
    }
    fn height(&self) -> f64 {
        self.y1 - self.y0
    }
    fn centre(&self) -> Xy {
        [(self.x0 + self.x1) / 2.0, (self.y0 + self.y1) / 2.0]
    }
    /// Closed counter-clockwise ring.
    fn ring(&self) -> Vec<Xy> {
        vec![
            [self.x0, self.y0],
            [self.x1, self.y0],
            [self.x1, self.y1],
            [self.x0, self.y1],
            [self.x0, self.y0],
        ]
    }
}

/// A footprint inside `r`: the rectangle, or an L with a notch cut from one corner.
fn footprint(r: Rect, notch: Option<(f64, f64)>) -> Vec<Xy> {
    match notch {
        None => r.ring(),
        Some((fx, fy)) => {
            let (cx, cy) = (r.x0 + r.width() * fx, r.y0 + r.height() * fy);
            vec![
                [r.x0, r.y0],
                [r.x1, r.y0],
                [r.x1, cy],
                [cx, cy],
                [cx, r.y1],
                [r.x0, r.y1],
                [r.x0, r.y0],
            ]
        }
    }
}

/// A building before it is turned into a feature.
struct Planned {
    ring: Vec<Xy>,
    /// Index into the compounds; `None` for the commercial block.
    compound: Option<usize>,
    number: usize,
    levels: u32,
    usage: &'static str,
}

/// Packs slab rows or point towers into a compound rectangle.
fn residential(compound: Rect, index: usize, rng: &mut SplitMix) -> Vec<Planned> {
    let towers = rng.next_u64() % 10 < 3;
    let (length, depth, row_gap, col_gap, levels) = if towers {
        (
            24.0 + 6.0 * rng.signed_unit().abs(),
            24.0,
            26.0,
            22.0,
            [18, 26, 33],
        )
    } else {
        let length = 40.0 + 12.0 * rng.signed_unit();
        (
            length,
            12.0 + rng.signed_unit().abs() * 2.0,
            15.0 + 3.0 * rng.signed_unit().abs(),
            9.0,
            [6, 6, 7],
        )
    };
    let cols = ((compound.width() + col_gap) / (length + col_gap))
        .floor()
        .max(0.0) as usize;
    let rows = ((compound.height() + row_gap) / (depth + row_gap))
        .floor()
        .max(0.0) as usize;
    // Centre the pattern in the compound.
    let used_w = cols as f64 * (length + col_gap) - col_gap;
    let used_h = rows as f64 * (depth + row_gap) - row_gap;
    let (ox, oy) = (
        compound.x0 + (compound.width() - used_w) / 2.0,
        compound.y0 + (compound.height() - used_h) / 2.0,
    );
    let compound_levels = levels[(rng.next_u64() % 3) as usize];
    let mut out = Vec::with_capacity(rows * cols);
    for row in 0..rows {
        for col in 0..cols {
            let x0 = ox + col as f64 * (length + col_gap);
            let y0 = oy + row as f64 * (depth + row_gap);
            let r = Rect {
                x0,
                y0,
                x1: x0 + length,
                y1: y0 + depth,
            };
            let notch = (!towers && rng.next_u64() % 100 < 15)
                .then(|| (0.55 + 0.2 * rng.signed_unit().abs(), 0.5));
            out.push(Planned {
                ring: footprint(r, notch),
                compound: Some(index),
                number: out.len() + 1,
                levels: compound_levels,
                usage: "residential",
            });
        }
    }
    out
}

/// Greenland Yinghai: three towers on a podium row and shops along the streets.
fn commercial(block: Rect) -> Vec<Planned> {
    let mut out = Vec::new();
    let mut add = |r: Rect, levels: u32| {
        out.push(Planned {
            ring: r.ring(),
            compound: None,
            number: out.len() + 1,
            levels,
            usage: "commercial",
        })
    };
    let c = block.centre();
    for i in 0..3 {
        let x0 = c[0] - 75.0 + i as f64 * 52.0;
        add(
            Rect {
                x0,
                y0: c[1] + 10.0,
                x1: x0 + 38.0,
                y1: c[1] + 48.0,
            },
            [28, 33, 24][i],
        );
    }
    add(
        Rect {
            x0: c[0] - 80.0,
            y0: c[1] - 40.0,
            x1: c[0] + 80.0,
            y1: c[1] - 4.0,
        },
        4,
    );
    let mut x = block.x0;
    while x + 20.0 <= block.x1 {
        add(
            Rect {
                x0: x,
                y0: block.y0,
                x1: x + 20.0,
                y1: block.y0 + 14.0,
            },
            2,
        );
        add(
            Rect {
                x0: x,
                y0: block.y1 - 14.0,
                x1: x + 20.0,
                y1: block.y1,
            },
            2,
        );
        x += 26.0;
    }
    out
}

/// Compounds the journeys name, and the community each must lie in.
const PLACED_COMPOUNDS: [(&str, &str); 8] = [
    ("电信小区", "weigang"),
    ("卫岗新村", "weigang"),
    ("幸福里小区", "xingfuli"),
    ("五里新村", "wulimiao"),
    ("周谷堆小区", "zhougudui"),
    ("分路口小区", "fenlukou"),
    ("小葛郢新村", "xiaogeying"),
    ("朱岗花园", "zhugang"),
];

/// Names for the compounds: those of [`PLACED_COMPOUNDS`] go to a compound of at least
/// twelve buildings in their community, the others follow [`COMPOUND_NAMES`] in order
/// (with 二期, 三期… once the list is used up).
fn compound_names(compounds: &[Rect], planned: &[Planned], communities: &[Vec<Xy>]) -> Vec<String> {
    let mut names: Vec<Option<String>> = vec![None; compounds.len()];
    let size = |c: usize| planned.iter().filter(|b| b.compound == Some(c)).count();
    for (name, community) in PLACED_COMPOUNDS {
        let wanted = COMMUNITIES.iter().position(|c| c.0 == community);
        let chosen = (0..compounds.len()).find(|&c| {
            names[c].is_none()
                && size(c) >= 12
                && community_of(compounds[c].centre(), communities) == wanted
        });
        if let Some(c) = chosen {
            names[c] = Some(name.to_string());
        }
    }
    let placed: Vec<&str> = names.iter().flatten().map(String::as_str).collect();
    let mut rest = COMPOUND_NAMES
        .iter()
        .filter(|n| !placed.contains(n))
        .copied()
        .collect::<Vec<_>>()
        .into_iter()
        .cycle()
        .enumerate();
    let free = COMPOUND_NAMES.len() - placed.len();
    names
        .into_iter()
        .map(|name| {
            name.unwrap_or_else(|| {
                let (n, name) = rest.next().expect("cycle never ends");
                match n / free {
                    0 => name.to_string(),
                    round => format!("{name}{}期", ["", "二", "三", "四", "五"][round.min(4)]),
                }
            })
        })
        .collect()
}

/// Sutherland–Hodgman: the part of a (closed) ring with `lo <= x <= hi`.
fn clip_to_strip(ring: &[Xy], lo: f64, hi: f64) -> Vec<Xy> {
    let clip = |points: Vec<Xy>, keep: &dyn Fn(Xy) -> bool, cut_at: f64| {
        let mut out = Vec::new();
        let n = points.len();
        for i in 0..n {
            let (a, b) = (points[i], points[(i + 1) % n]);
            let cross = |a: Xy, b: Xy| {
                let t = (cut_at - a[0]) / (b[0] - a[0]);
                [cut_at, a[1] + t * (b[1] - a[1])]
            };
            match (keep(a), keep(b)) {
                (true, true) => out.push(b),
                (true, false) => out.push(cross(a, b)),
                (false, true) => {
                    out.push(cross(a, b));
                    out.push(b);
                }
                (false, false) => {}
            }
        }
        out
    };
    let open: Vec<Xy> = ring[..ring.len() - 1].to_vec();
    let left = clip(open, &|p| p[0] >= lo, lo);
    let mut both = clip(left, &|p| p[0] <= hi, hi);
    if let Some(&first) = both.first() {
        both.push(first);
    }
    both
}

/// The community index whose ring contains `p`.
fn community_of(p: Xy, rings: &[Vec<Xy>]) -> Option<usize> {
    rings.iter().position(|ring| point_in_ring(p, ring))
}

pub fn base_map(seed: u64) -> BaseMap {
    let mut rng = SplitMix::new(seed ^ 0xD15_7A1C7);
    let communities = community_rings(seed);
    let xs = streets(X_LINES, HALF_WIDTH, &mut rng);
    let ys = streets(Y_LINES, HALF_HEIGHT, &mut rng);

    // Roads: one feature per street segment between crossings, so they form a network.
    let mut roads = Vec::new();
    let mut road = |name: &str, street: Street, from: Xy, to: Xy| {
        let id = format!("road-{}", roads.len() + 1);
        roads.push(Feature {
            id: id.clone(),
            geometry: Geometry::LineString(vec![
                to_lon_lat(from[0], from[1]),
                to_lon_lat(to[0], to[1]),
            ]),
            properties: properties(json!({
                "id": id, "name": name,
                "class": if street.primary { "primary" } else { "secondary" },
                "width_m": street.half_width() * 2.0,
            })),
        });
    };
    for (j, y) in ys.iter().enumerate() {
        for w in xs.windows(2) {
            road(EAST_WEST_NAMES[j], *y, [w[0].at, y.at], [w[1].at, y.at]);
        }
    }
    for (i, x) in xs.iter().enumerate() {
        for w in ys.windows(2) {
            road(NORTH_SOUTH_NAMES[i], *x, [x.at, w[0].at], [x.at, w[1].at]);
        }
    }

    // Blocks and their buildings.
    let commercial_centre = [620.0, -330.0];
    let commercial_block = (0..X_LINES - 1)
        .flat_map(|i| (0..Y_LINES - 1).map(move |j| (i, j)))
        .min_by(|&(a, b), &(c, d)| {
            let dist = |i: usize, j: usize| {
                let cx = (xs[i].at + xs[i + 1].at) / 2.0 - commercial_centre[0];
                let cy = (ys[j].at + ys[j + 1].at) / 2.0 - commercial_centre[1];
                cx * cx + cy * cy
            };
            dist(a, b).total_cmp(&dist(c, d))
        })
        .expect("the grid has blocks");
    let mut planned = Vec::new();
    let mut compounds: Vec<Rect> = Vec::new();
    for i in 0..X_LINES - 1 {
        for j in 0..Y_LINES - 1 {
            let block = Rect {
                x0: xs[i].at + xs[i].half_width() + SETBACK,
                x1: xs[i + 1].at - xs[i + 1].half_width() - SETBACK,
                y0: ys[j].at + ys[j].half_width() + SETBACK,
                y1: ys[j + 1].at - ys[j + 1].half_width() - SETBACK,
            };
            if (i, j) == commercial_block {
                planned.extend(commercial(block));
                continue;
            }
            let parts = if block.width() > 220.0 {
                let split = block.x0 + block.width() * (0.5 + 0.1 * rng.signed_unit());
                vec![
                    Rect {
                        x1: split - LANE / 2.0,
                        ..block
                    },
                    Rect {
                        x0: split + LANE / 2.0,
                        ..block
                    },
                ]
            } else {
                vec![block]
            };
            for part in parts {
                compounds.push(part);
                planned.extend(residential(part, compounds.len() - 1, &mut rng));
            }
        }
    }
    let names = compound_names(&compounds, &planned, &communities);
    let buildings = planned
        .into_iter()
        .filter_map(|b| {
            let centre = ring_centroid(&b.ring)?;
            let community = COMMUNITIES[community_of(centre, &communities)?].0;
            Some((b, community))
        })
        .enumerate()
        .map(|(n, (b, community))| {
            let id = format!("b{:04}", n + 1);
            let compound = b.compound.map_or(COMMERCIAL_BLOCK, |c| names[c].as_str());
            let name = if b.usage == "commercial" {
                format!("{compound} {}号楼", b.number)
            } else {
                format!("{compound} {}栋", b.number)
            };
            Feature {
                id: id.clone(),
                geometry: polygon_lon_lat(&b.ring),
                properties: properties(json!({
                    "id": id, "name": name, "compound": compound, "number": b.number,
                    "levels": b.levels, "use": b.usage, "community": community,
                })),
            }
        })
        .collect();

    // Grids: each community cut into 3 to 5 north-south strips.
    let mut grids = Vec::new();
    for (c, ring) in communities.iter().enumerate() {
        let (lo, hi) = ring.iter().fold((f64::MAX, f64::MIN), |(lo, hi), p| {
            (lo.min(p[0]), hi.max(p[0]))
        });
        let count = 3 + (rng.next_u64() % 3) as usize;
        let (id, name, name_en) = COMMUNITIES[c];
        for g in 0..count {
            let (a, b) = (
                lo + (hi - lo) * g as f64 / count as f64,
                lo + (hi - lo) * (g + 1) as f64 / count as f64,
            );
            let part = clip_to_strip(ring, a, b);
            if part.len() < 4 {
                continue;
            }
            let grid_id = format!("{id}-{}", g + 1);
            grids.push(Feature {
                id: grid_id.clone(),
                geometry: polygon_lon_lat(&part),
                properties: properties(json!({
                    "id": grid_id, "community": id,
                    "name": format!("{name}第{}网格", g + 1),
                    "name_en": format!("{name_en} grid {}", g + 1),
                })),
            });
        }
    }
    BaseMap {
        grids,
        roads,
        buildings,
        street_xs: xs
            .iter()
            .zip(NORTH_SOUTH_NAMES)
            .map(|(s, n)| (s.at, n))
            .collect(),
        street_ys: ys
            .iter()
            .zip(EAST_WEST_NAMES)
            .map(|(s, n)| (s.at, n))
            .collect(),
    }
}

fn properties(value: serde_json::Value) -> Properties {
    match value {
        serde_json::Value::Object(map) => map,
        _ => unreachable!("properties are built as objects"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use linli_domain::geometry::{bbox, ring_area, segments_intersect};

    fn outer_ring(g: &Geometry) -> Vec<Xy> {
        g.outer_ring().expect("a polygon").clone()
    }

    #[test]
    fn about_three_thousand_buildings_in_named_compounds_of_every_community() {
        let map = base_map(super::super::SEED);
        let n = map.buildings.len();
        assert!((2700..=3300).contains(&n), "{n} buildings");
        for name in ["信发小区", "电信小区", "珠光南苑", "绿地赢海"] {
            assert!(
                map.buildings
                    .iter()
                    .any(|b| b.properties["compound"] == name),
                "no {name}"
            );
        }
        for (id, _, _) in COMMUNITIES {
            let count = map
                .buildings
                .iter()
                .filter(|b| b.properties["community"] == id)
                .count();
            assert!(count > 100, "{id} has only {count} buildings");
            let grids = map
                .grids
                .iter()
                .filter(|g| g.properties["community"] == id)
                .count();
            assert!((3..=5).contains(&grids), "{id} has {grids} grids");
        }
        assert_eq!(map, base_map(super::super::SEED), "deterministic");
    }

    #[test]
    fn buildings_overlap_neither_each_other_nor_roads() {
        let map = base_map(super::super::SEED);
        let boxes: Vec<[f64; 4]> = map
            .buildings
            .iter()
            .map(|b| bbox(&outer_ring(&b.geometry)))
            .collect();
        // Footprints lie inside their boxes, so disjoint boxes mean disjoint buildings.
        let mut order: Vec<usize> = (0..boxes.len()).collect();
        order.sort_by(|&a, &b| boxes[a][0].total_cmp(&boxes[b][0]));
        for (k, &a) in order.iter().enumerate() {
            for &b in &order[k + 1..] {
                if boxes[b][0] >= boxes[a][2] {
                    break;
                }
                let apart = boxes[a][3] <= boxes[b][1] || boxes[b][3] <= boxes[a][1];
                assert!(
                    apart,
                    "{} overlaps {}",
                    map.buildings[a].id, map.buildings[b].id
                );
            }
        }
        // No road centre line crosses a building edge (roads also keep a setback, which
        // the layout guarantees; this checks the layout).
        for road in &map.roads {
            let Geometry::LineString(line) = &road.geometry else {
                panic!("road geometry")
            };
            let rb = bbox(line);
            for (b, building) in boxes.iter().zip(&map.buildings) {
                if b[2] < rb[0] || b[0] > rb[2] || b[3] < rb[1] || b[1] > rb[3] {
                    continue;
                }
                let ring = outer_ring(&building.geometry);
                for edge in ring.windows(2) {
                    assert!(
                        !segments_intersect(line[0], line[1], edge[0], edge[1]),
                        "{} crosses {}",
                        road.id,
                        building.id
                    );
                }
            }
        }
    }

    #[test]
    fn grids_tile_their_community() {
        let map = base_map(super::super::SEED);
        let communities = community_rings(super::super::SEED);
        for (c, ring) in communities.iter().enumerate() {
            let lon_lat: Vec<Xy> = ring.iter().map(|p| to_lon_lat(p[0], p[1])).collect();
            let whole = ring_area(&lon_lat);
            let parts: f64 = map
                .grids
                .iter()
                .filter(|g| g.properties["community"] == COMMUNITIES[c].0)
                .map(|g| ring_area(&outer_ring(&g.geometry)))
                .sum();
            // Clipped vertices are rounded to 1 cm, hence the tolerance.
            assert!(
                (parts - whole).abs() / whole < 1e-5,
                "{}: {parts} vs {whole}",
                COMMUNITIES[c].0
            );
        }
    }
}
