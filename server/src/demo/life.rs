//! The demo district's people and work: about 600 monitored elder homes with their
//! sensors, six patrol routes along the streets, and about 40 cases of the article's
//! kinds. Deterministic from a seed; times are counted back from the moment of seeding.

use super::district::BaseMap;
use super::{to_lon_lat, SplitMix};
use crate::clock::Millis;
use linli_domain::care::{CareLevel, Health, Home, Sensor, SensorKind};
use linli_domain::cases::{
    CaseCategory, CaseHandling, CaseOutcome, CasePriority, CaseSource, CaseStage, CaseSummary,
};
use linli_domain::geometry::{bbox, point_in_polygon, Xy};
use linli_domain::patrol::{Checkpoint, RouteProperties};
use linli_domain::place::{Feature, Geometry, Position, Properties};
use linli_domain::CommunityId;
use linli_domain::Timestamp;

/// How many homes the demo monitors.
pub const HOMES: usize = 600;
const DAY_MS: Millis = 24 * 3600 * 1000;

const SURNAMES: [&str; 20] = [
    "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡", "郭",
    "何", "高", "林", "罗",
];
const GIVEN_NAMES: [&str; 20] = [
    "秀英", "桂英", "秀兰", "玉兰", "桂兰", "凤英", "淑珍", "玉珍", "翠兰", "兰英", "德明", "建国",
    "国华", "志强", "永福", "长生", "金生", "光明", "文华", "玉林",
];
const RELATIONS: [&str; 4] = ["女儿", "儿子", "侄女", "邻居"];
const YOUNGER_NAMES: [&str; 8] = ["敏", "伟", "静", "磊", "婷", "军", "芳", "强"];

fn pick<'a, T>(rng: &mut SplitMix, items: &'a [T]) -> &'a T {
    &items[(rng.next_u64() % items.len() as u64) as usize]
}

fn phone(rng: &mut SplitMix) -> String {
    format!(
        "1{}{:08}",
        pick(rng, &["38", "39", "58", "86", "77"]),
        rng.next_u64() % 100_000_000
    )
}

fn text<'a>(p: &'a Properties, key: &str) -> Option<&'a str> {
    p.get(key).and_then(|v| v.as_str())
}

/// The grid whose polygon contains `p`, and its community.
fn grid_of(p: Position, grids: &[Feature<Properties>]) -> Option<(String, CommunityId)> {
    let grid = grids.iter().find(|g| match &g.geometry {
        Geometry::Polygon(rings) => point_in_polygon(p, rings),
        _ => false,
    })?;
    let community = text(&grid.properties, "community").and_then(|c| CommunityId::parse(c).ok())?;
    Some((grid.id.clone(), community))
}

/// About [`HOMES`] homes in the older, low-rise residential buildings, each with a
/// water meter and most with gas and smoke detectors.
pub fn homes(map: &BaseMap, seed: u64, now: Millis) -> Vec<Home> {
    let mut rng = SplitMix::new(seed ^ 0x40E5);
    let candidates: Vec<&Feature<Properties>> = map
        .buildings
        .iter()
        .filter(|b| text(&b.properties, "use") == Some("residential"))
        .filter(|b| {
            b.properties
                .get("levels")
                .and_then(|v| v.as_u64())
                .unwrap_or(99)
                <= 7
        })
        .collect();
    let stride = (candidates.len() / HOMES).max(1);
    let mut homes = Vec::with_capacity(HOMES);
    for (n, building) in candidates.iter().step_by(stride).take(HOMES).enumerate() {
        let Some(ring) = building.geometry.outer_ring() else {
            continue;
        };
        let b = bbox(ring);
        let units = 2 + (rng.next_u64() % 3) as u16;
        let unit = 1 + (rng.next_u64() % u64::from(units)) as u16;
        let floor = 1 + (rng.next_u64() % 6) as i16;
        // Along the building's length, in the lower part every footprint keeps whole.
        let position = [
            b[0] + (b[2] - b[0]) * (f64::from(unit) - 0.5) / f64::from(units),
            b[1] + (b[3] - b[1]) * 0.3,
        ];
        let position = [
            (position[0] * 1e7).round() / 1e7,
            (position[1] * 1e7).round() / 1e7,
        ];
        // The home's grid and community are where the home is (a building may straddle
        // a community border).
        let Some((grid, community)) = grid_of(position, &map.grids) else {
            continue;
        };
        let surname = *pick(&mut rng, &SURNAMES);
        let number = n + 1;
        let mut sensors = vec![sensor(&mut rng, SensorKind::Water, number, now)];
        if rng.next_u64() % 100 < 85 {
            sensors.push(sensor(&mut rng, SensorKind::Gas, number, now));
        }
        if rng.next_u64() % 100 < 75 {
            sensors.push(sensor(&mut rng, SensorKind::Smoke, number, now));
        }
        let age = 65 + rng.next_u64() % 33;
        homes.push(Home {
            id: format!("h{number:04}"),
            building: building.id.clone(),
            grid: Some(grid),
            community,
            unit,
            floor,
            room: format!("{floor}0{}", 1 + rng.next_u64() % 3),
            resident: format!("{surname}{}", pick(&mut rng, &GIVEN_NAMES)),
            age_band: match age {
                ..=69 => "65-69",
                70..=79 => "70-79",
                80..=89 => "80-89",
                _ => "90+",
            }
            .to_string(),
            living_alone: rng.next_u64() % 100 < 80,
            care_level: *pick(
                &mut rng,
                &[
                    CareLevel::Independent,
                    CareLevel::Independent,
                    CareLevel::Attention,
                    CareLevel::Intensive,
                ],
            ),
            phone: (rng.next_u64() % 100 < 70).then(|| phone(&mut rng)),
            contact: Some(format!(
                "{} {}{} {}",
                pick(&mut rng, &RELATIONS),
                surname,
                pick(&mut rng, &YOUNGER_NAMES),
                phone(&mut rng)
            )),
            position,
            sensors,
        });
    }
    homes
}

fn sensor(rng: &mut SplitMix, kind: SensorKind, home: usize, now: Millis) -> Sensor {
    let prefix = match kind {
        SensorKind::Water => "wm",
        SensorKind::Gas => "gs",
        SensorKind::Smoke => "sm",
    };
    // About one sensor in seventy needs a battery, one in a hundred is offline.
    let battery = if rng.next_u64() % 1000 < 15 {
        8 + (rng.next_u64() % 12) as u8
    } else {
        25 + (rng.next_u64() % 76) as u8
    };
    let (health, last_seen) = if rng.next_u64() % 100 < 1 {
        (
            Health::Offline,
            now - DAY_MS / 2 - (rng.next_u64() % 3_600_000) as Millis,
        )
    } else {
        let health = if battery < 20 {
            Health::Warning
        } else {
            Health::Ok
        };
        (health, now - (rng.next_u64() % 900_000) as Millis)
    };
    Sensor {
        id: format!("{prefix}-{home:06}"),
        kind,
        health,
        battery_pct: Some(battery),
        last_seen: Some(Timestamp::from_millis(last_seen)),
    }
}

/// A route as a loop around the streets of blocks `west..=east` × `south..=north`
/// (street line indices), with a checkpoint at each corner and along each side.
fn route(
    map: &BaseMap,
    id: &str,
    name: &str,
    community: Option<&str>,
    schedule: &str,
    lines: [usize; 4],
) -> Feature<RouteProperties> {
    let [west, east, south, north] = lines;
    let (xs, ys) = (&map.street_xs, &map.street_ys);
    let corners = [(west, south), (east, south), (east, north), (west, north)];
    let mut path: Vec<Xy> = Vec::new();
    let mut checkpoints = Vec::new();
    for k in 0..4 {
        let (a, b) = (corners[k], corners[(k + 1) % 4]);
        let start = [xs[a.0].0, ys[a.1].0];
        let end = [xs[b.0].0, ys[b.1].0];
        path.push(start);
        checkpoints.push((start, format!("{}与{}路口", xs[a.0].1, ys[a.1].1)));
        // Along the side: every crossing street between the corners.
        let steps = a.0.abs_diff(b.0).max(a.1.abs_diff(b.1));
        for s in 1..steps {
            let t = s as f64 / steps as f64;
            let p = [
                start[0] + (end[0] - start[0]) * t,
                start[1] + (end[1] - start[1]) * t,
            ];
            path.push(p);
            let street = if a.0 == b.0 { xs[a.0].1 } else { ys[a.1].1 };
            checkpoints.push((p, format!("{street}{}号点", checkpoints.len() + 1)));
        }
    }
    path.push(path[0]);
    Feature {
        id: id.into(),
        geometry: Geometry::LineString(path.iter().map(|p| to_lon_lat(p[0], p[1])).collect()),
        properties: RouteProperties {
            id: id.into(),
            name: name.into(),
            community: community.map(Into::into),
            schedule: schedule.into(),
            checkpoints: checkpoints
                .into_iter()
                .enumerate()
                .map(|(i, (p, name))| Checkpoint {
                    id: format!("{id}-cp{}", i + 1),
                    name,
                    position: to_lon_lat(p[0], p[1]),
                })
                .collect(),
        },
    }
}

/// The street line just west/south of a point, so a loop from it encloses the point.
fn line_before(lines: &[(f64, &str)], at: f64) -> usize {
    lines
        .iter()
        .rposition(|(l, _)| *l <= at)
        .unwrap_or(0)
        .min(lines.len() - 2)
}

/// The middle of the first building of a compound, in metres from the centre.
fn compound_centre(map: &BaseMap, compound: &str) -> Option<Xy> {
    let building = map
        .buildings
        .iter()
        .find(|b| text(&b.properties, "compound") == Some(compound))?;
    let b = bbox(building.geometry.outer_ring()?);
    let lon_lat = [(b[0] + b[2]) / 2.0, (b[1] + b[3]) / 2.0];
    Some(super::to_metres(lon_lat))
}

/// Six joint patrol routes, among them the Greenland Yinghai evening run of 12
/// checkpoints and the green-space patrol at 电信小区.
pub fn routes(map: &BaseMap) -> Vec<Feature<RouteProperties>> {
    let around = |compound: &str, wide: usize, high: usize| {
        let c = compound_centre(map, compound).unwrap_or([0.0, 0.0]);
        let (i, j) = (
            line_before(&map.street_xs, c[0]),
            line_before(&map.street_ys, c[1]),
        );
        let i = i
            .saturating_sub(wide / 2)
            .min(map.street_xs.len() - 1 - wide);
        let j = j
            .saturating_sub(high / 2)
            .min(map.street_ys.len() - 1 - high);
        [i, i + wide, j, j + high]
    };
    let community_of = |compound: &str| {
        map.buildings
            .iter()
            .find(|b| text(&b.properties, "compound") == Some(compound))
            .and_then(|b| text(&b.properties, "community"))
            .map(str::to_string)
    };
    let plans: [(&str, &str, &str, &str, usize, usize); 6] = [
        (
            "route-yinghai",
            "绿地赢海夜间联合巡查",
            "绿地赢海",
            "每日 19:00",
            3,
            3,
        ),
        (
            "route-dianxin",
            "电信小区绿地巡查",
            "电信小区",
            "每周一、四 09:00",
            1,
            1,
        ),
        (
            "route-xinfa",
            "信发小区安全巡查",
            "信发小区",
            "每日 08:30",
            2,
            1,
        ),
        (
            "route-zhuguang",
            "珠光南苑环境巡查",
            "珠光南苑",
            "每周三 15:00",
            1,
            2,
        ),
        (
            "route-market",
            "周谷堆小区秩序巡查",
            "周谷堆小区",
            "每日 10:00",
            2,
            2,
        ),
        (
            "route-bikes",
            "分路口共享单车巡查",
            "分路口小区",
            "每日 17:30",
            2,
            1,
        ),
    ];
    plans
        .iter()
        .map(|&(id, name, compound, schedule, wide, high)| {
            let community = community_of(compound);
            route(
                map,
                id,
                name,
                community.as_deref(),
                schedule,
                around(compound, wide, high),
            )
        })
        .collect()
}

/// The article's case kinds: category, title, and the compound where it happens.
const CASE_TEMPLATES: [(CaseCategory, &str, &str); 20] = [
    (CaseCategory::Environment, "小区绿地被围成菜地", "电信小区"),
    (CaseCategory::Environment, "卫生死角垃圾堆积", "卫岗新村"),
    (CaseCategory::Environment, "楼道杂物堆放", "信发小区"),
    (CaseCategory::Environment, "垃圾分类点满溢", "曙光新村"),
    (
        CaseCategory::Infrastructure,
        "自来水主管爆裂，停水",
        "珠光南苑",
    ),
    (CaseCategory::Infrastructure, "雨污管道错接", "红星小区"),
    (CaseCategory::Infrastructure, "商业街路面坑洼", "绿地赢海"),
    (
        CaseCategory::Infrastructure,
        "地铁施工后道路未恢复",
        "南园小区",
    ),
    (CaseCategory::Infrastructure, "路灯不亮", "望湖花园"),
    (CaseCategory::StreetOrder, "共享单车乱停放", "分路口小区"),
    (CaseCategory::StreetOrder, "外卖骑手无处停车", "绿地赢海"),
    (CaseCategory::StreetOrder, "占道经营", "周谷堆小区"),
    (CaseCategory::Dispute, "房屋租赁纠纷", "幸福里小区"),
    (CaseCategory::Dispute, "商户之间经营纠纷", "绿地赢海"),
    (CaseCategory::Dispute, "邻里噪音纠纷", "朱岗花园"),
    (CaseCategory::ElderCare, "独居老人需要送餐", "幸福里小区"),
    (CaseCategory::ElderCare, "高龄老人就医陪同", "五里新村"),
    (CaseCategory::FacilitySafety, "电动车楼道充电", "信发小区"),
    (CaseCategory::FacilitySafety, "消防通道被堵", "小葛郢新村"),
    (CaseCategory::Other, "居民咨询养老补贴政策", "卫岗新村"),
];

/// About 40 cases over the last two months: two per template, the older one mostly
/// closed with an outcome, the newer one at some open stage.
pub fn cases(map: &BaseMap, seed: u64, now: Millis) -> Vec<CaseSummary> {
    let mut rng = SplitMix::new(seed ^ 0xCA5E);
    let open_stages = [
        CaseStage::Reported,
        CaseStage::Identified,
        CaseStage::Negotiating,
        CaseStage::JointHandling,
        CaseStage::Consolidating,
    ];
    let outcomes = [
        CaseOutcome::Solved,
        CaseOutcome::Solved,
        CaseOutcome::SolvedWithFollowUp,
        CaseOutcome::Transferred,
        CaseOutcome::NotSolvable,
    ];
    let sources = [
        CaseSource::GridVisit,
        CaseSource::ResidentReport,
        CaseSource::Hotline,
        CaseSource::Patrol,
    ];
    let mut out = Vec::new();
    for round in 0..2 {
        for (category, title, compound) in CASE_TEMPLATES {
            let buildings: Vec<&Feature<Properties>> = map
                .buildings
                .iter()
                .filter(|b| text(&b.properties, "compound") == Some(compound))
                .collect();
            let Some(building) =
                buildings.get((rng.next_u64() % buildings.len().max(1) as u64) as usize)
            else {
                continue;
            };
            let Some(ring) = building.geometry.outer_ring() else {
                continue;
            };
            let b = bbox(ring);
            // Just outside the building's south side: the spot, not anybody's home.
            let position = [(b[0] + b[2]) / 2.0, b[1] - 0.00004];
            let Some((grid, community)) = grid_of(position, &map.grids) else {
                continue;
            };
            let closed = round == 0 && rng.next_u64() % 100 < 75;
            let opened = now
                - (if round == 0 {
                    25 + rng.next_u64() % 35
                } else {
                    rng.next_u64() % 20
                }) as Millis
                    * DAY_MS
                - (rng.next_u64() % DAY_MS as u64) as Millis;
            let updated = opened + ((now - opened) as f64 * 0.6) as Millis;
            let stage = if closed {
                CaseStage::Closed
            } else {
                *pick(&mut rng, &open_stages)
            };
            out.push(CaseSummary {
                id: 0,
                title: title.into(),
                category,
                stage,
                priority: *pick(
                    &mut rng,
                    &[
                        CasePriority::Normal,
                        CasePriority::Normal,
                        CasePriority::High,
                        CasePriority::Low,
                    ],
                ),
                source: *pick(&mut rng, &sources),
                grid: Some(grid),
                community,
                position,
                building: Some(building.id.clone()),
                opened_at: Timestamp::from_millis(opened),
                updated_at: Timestamp::from_millis(updated),
                closed_at: closed.then(|| Timestamp::from_millis(updated)),
                outcome: closed.then(|| *pick(&mut rng, &outcomes)),
                handling: CaseHandling::default(),
            });
        }
    }
    out.sort_by_key(|c| c.opened_at);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::demo::{district::base_map, COMMUNITIES, SEED};
    use linli_domain::geometry::point_in_ring;

    const NOW: Millis = 1_795_677_300_000;

    #[test]
    fn six_hundred_homes_each_inside_its_building_with_a_water_meter() {
        let map = base_map(SEED);
        let homes = homes(&map, SEED, NOW);
        assert_eq!(homes.len(), HOMES);
        for home in &homes {
            let building = map
                .buildings
                .iter()
                .find(|b| b.id == home.building)
                .expect("building exists");
            assert!(
                point_in_ring(home.position, building.geometry.outer_ring().unwrap()),
                "{} outside {}",
                home.id,
                home.building
            );
            assert_eq!(home.sensors[0].kind, SensorKind::Water);
            assert!(
                home.grid
                    .as_deref()
                    .is_some_and(|g| g.starts_with(home.community.as_str())),
                "{home:?}"
            );
        }
        let gas = homes
            .iter()
            .filter(|h| h.sensors.iter().any(|s| s.kind == SensorKind::Gas))
            .count();
        assert!(gas > HOMES * 3 / 4, "gas on most: {gas}");
        let ill = homes.iter().filter(|h| h.health() != Health::Ok).count();
        assert!(ill > 5 && ill < HOMES / 5, "a few homes need a look: {ill}");
        for (id, _, _) in COMMUNITIES {
            assert!(
                homes.iter().any(|h| h.community.as_str() == id),
                "no homes in {id}"
            );
        }
    }

    #[test]
    fn six_closed_routes_along_streets_with_the_yinghai_run_of_twelve_checkpoints() {
        let map = base_map(SEED);
        let routes = routes(&map);
        assert_eq!(routes.len(), 6);
        for r in &routes {
            let Geometry::LineString(path) = &r.geometry else {
                panic!()
            };
            assert_eq!(path.first(), path.last(), "{} is a loop", r.id);
            assert!(r.properties.checkpoints.len() >= 4, "{}", r.id);
        }
        let yinghai = routes.iter().find(|r| r.id == "route-yinghai").unwrap();
        assert_eq!(yinghai.properties.checkpoints.len(), 12);
    }

    #[test]
    fn forty_cases_of_every_kind_some_closed_with_an_outcome() {
        let map = base_map(SEED);
        let cases = cases(&map, SEED, NOW);
        assert_eq!(cases.len(), 40);
        for category in CaseCategory::ALL {
            assert!(
                cases.iter().any(|c| c.category == *category),
                "{category:?}"
            );
        }
        let closed: Vec<_> = cases
            .iter()
            .filter(|c| c.stage == CaseStage::Closed)
            .collect();
        assert!((5..=20).contains(&closed.len()), "{}", closed.len());
        assert!(closed
            .iter()
            .all(|c| c.outcome.is_some() && c.closed_at.is_some()));
        assert!(cases
            .iter()
            .filter(|c| c.stage != CaseStage::Closed)
            .all(|c| c.outcome.is_none()));
        assert_eq!(cases, super::cases(&map, SEED, NOW), "deterministic");
    }
}
