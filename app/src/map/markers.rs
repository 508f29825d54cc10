//! The operational layers drawn over the base map: elder homes coloured by their
//! sensors' health, open cases by priority with a glyph for their category (and a red
//! badge when overdue), patrol routes with their checkpoints (green once the run out on
//! the route has passed them) and the patrol units where they last were. Homes and
//! cases cluster when the map is zoomed out.
//!
//! [`markers`] computes what stands where on screen; drawing and hit testing both use
//! it, so what a tap finds is exactly what is drawn.

use super::cluster::{cluster, Grid};
use super::draw::{DrawCommand, Stroke};
use super::projection::{project, Screen, World};
use super::viewport::{Bounds, Viewport};
use linli_domain::alerts::{Alert, AlertState, Severity};
use linli_domain::api::Snapshot;
use linli_domain::care::{Health, Home};
use linli_domain::cases::{CaseCategory, CasePriority, CaseStage, CaseSummary};
use linli_domain::patrol::{PatrolRun, RouteProperties};
use linli_domain::place::Geometry;

/// Above this many metres per pixel, homes and cases are clustered.
pub const CLUSTER_ABOVE_RESOLUTION: f64 = 1.2;
const CLUSTER_CELL_PX: f64 = 56.0;
/// Homes and cases this far off the screen still get their markers (a marker's edge
/// shows).
const NEAR_SCREEN_PX: f64 = 20.0;
const HOME_RADIUS_PX: f64 = 5.0;
const HOME_RIM_PX: f64 = 1.5;
const CASE_RADIUS_PX: f64 = 11.0;
const UNIT_RADIUS_PX: f64 = 10.0;
const COVERED_COLOUR: &str = "#3fb37f";
const OVERDUE_COLOUR: &str = "#ff1f3d";
/// A finger needs some slack around a marker.
const TAP_SLACK_PX: f64 = 6.0;
const ROUTE_COLOURS: [&str; 3] = ["#b67cff", "#2ec4b6", "#ff8fab"];

/// Something placed at a world point.
#[derive(Debug, Clone, PartialEq)]
pub struct Placed<T> {
    pub at: World,
    pub item: T,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Route {
    pub line: Vec<World>,
    pub bounds: Bounds,
    pub checkpoints: Vec<World>,
    /// Per checkpoint: passed by the run out on this route now.
    pub covered: Vec<bool>,
    pub properties: RouteProperties,
}

/// The operational data of the caller's snapshot, projected.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Operations {
    pub homes: Vec<Placed<Home>>,
    /// Open cases only: closed ones belong to lists and reports, not the live map.
    pub cases: Vec<Placed<CaseSummary>>,
    pub routes: Vec<Route>,
    /// Alerts not resolved, drawn as rings around their homes.
    pub alerts: Vec<Placed<Alert>>,
    /// Units out on a run, where they last were.
    pub units: Vec<Placed<PatrolRun>>,
}

impl Operations {
    pub fn from_snapshot(snapshot: &Snapshot) -> Self {
        let place = |p: [f64; 2]| project(p.into());
        Operations {
            homes: snapshot
                .homes
                .iter()
                .map(|h| Placed {
                    at: place(h.position),
                    item: h.clone(),
                })
                .collect(),
            alerts: snapshot
                .alerts
                .iter()
                .map(|a| Placed {
                    at: place(a.position),
                    item: a.clone(),
                })
                .collect(),
            cases: snapshot
                .cases
                .iter()
                .filter(|c| c.stage != CaseStage::Closed)
                .map(|c| Placed {
                    at: place(c.position),
                    item: c.clone(),
                })
                .collect(),
            routes: snapshot
                .routes
                .features
                .iter()
                .filter_map(|f| {
                    let Geometry::LineString(line) = &f.geometry else {
                        return None;
                    };
                    let line: Vec<World> = line.iter().map(|&p| place(p)).collect();
                    let run = snapshot
                        .units
                        .iter()
                        .find(|u| u.route == f.properties.id && u.ended_at.is_none());
                    let checkpoints = &f.properties.checkpoints;
                    Some(Route {
                        bounds: Bounds::around(line.iter().copied())?,
                        line,
                        checkpoints: checkpoints.iter().map(|c| place(c.position)).collect(),
                        covered: checkpoints
                            .iter()
                            .map(|c| {
                                run.is_some_and(|r| r.covered.iter().any(|d| d.checkpoint == c.id))
                            })
                            .collect(),
                        properties: f.properties.clone(),
                    })
                })
                .collect(),
            units: snapshot
                .units
                .iter()
                .filter(|u| u.ended_at.is_none())
                .filter_map(|u| {
                    Some(Placed {
                        at: place(u.position?),
                        item: u.clone(),
                    })
                })
                .collect(),
        }
    }
}

/// What the command screen asked the map to show (a KPI tile clicked).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum MapFocus {
    #[default]
    Everything,
    /// Homes with an open critical alert.
    CriticalAlerts,
    /// Homes with any active alert.
    ActiveAlerts,
    /// Homes with a sensor offline.
    OfflineSensors,
    OpenCases,
    OverdueCases,
    /// Patrol units out, on their routes.
    PatrolsOut,
}

impl Operations {
    /// Only what `focus` asks for (routes stay as the frame of reference).
    pub fn focused(mut self, focus: MapFocus) -> Self {
        // Homes (with the alerts on them) that `keep` accepts; nothing else.
        let only_homes = |mut ops: Operations, keep: &dyn Fn(&Home, &[Placed<Alert>]) -> bool| {
            let alerts = std::mem::take(&mut ops.alerts);
            ops.homes.retain(|h| keep(&h.item, &alerts));
            ops.alerts = alerts
                .into_iter()
                .filter(|a| ops.homes.iter().any(|h| h.item.id == a.item.home))
                .collect();
            ops.cases.clear();
            ops.units.clear();
            ops
        };
        let alerted =
            |h: &Home, alerts: &[Placed<Alert>]| alerts.iter().any(|a| a.item.home == h.id);
        match focus {
            MapFocus::Everything => self,
            MapFocus::CriticalAlerts => {
                self.alerts
                    .retain(|a| a.item.severity == Severity::Critical);
                only_homes(self, &alerted)
            }
            MapFocus::ActiveAlerts => only_homes(self, &alerted),
            MapFocus::OfflineSensors => only_homes(self, &|h, _| {
                h.sensors.iter().any(|s| s.health == Health::Offline)
            }),
            MapFocus::OpenCases | MapFocus::OverdueCases => {
                if focus == MapFocus::OverdueCases {
                    self.cases.retain(|c| c.item.handling.overdue);
                }
                self.homes.clear();
                self.alerts.clear();
                self.units.clear();
                self
            }
            MapFocus::PatrolsOut => {
                self.homes.clear();
                self.alerts.clear();
                self.cases.clear();
                self
            }
        }
    }
}

/// Which operational layers are shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Shown {
    pub homes: bool,
    pub cases: bool,
    pub routes: bool,
}

impl Default for Shown {
    fn default() -> Self {
        Shown {
            homes: true,
            cases: true,
            routes: true,
        }
    }
}

pub fn health_severity(h: Health) -> u8 {
    match h {
        Health::Ok => 0,
        Health::Warning => 1,
        Health::Offline => 2,
        Health::Alarm => 3,
    }
}

pub fn health_colour(severity: u8) -> &'static str {
    ["#3fb37f", "#f2b33d", "#8a96a8", "#ff4d4f"][severity.min(3) as usize]
}

pub fn priority_severity(p: CasePriority) -> u8 {
    match p {
        CasePriority::Low => 0,
        CasePriority::Normal => 1,
        CasePriority::High => 2,
        CasePriority::Urgent => 3,
    }
}

pub fn priority_colour(severity: u8) -> &'static str {
    ["#7f8ea3", "#4f8cff", "#ff9f40", "#ff4d4f"][severity.min(3) as usize]
}

/// One character that says a case's category on its marker.
pub fn category_glyph(c: CaseCategory) -> &'static str {
    match c {
        CaseCategory::Environment => "环",
        CaseCategory::FacilitySafety => "安",
        CaseCategory::ElderCare => "老",
        CaseCategory::Dispute => "调",
        CaseCategory::StreetOrder => "序",
        CaseCategory::Infrastructure => "修",
        CaseCategory::Other => "他",
    }
}

/// What a marker stands for.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum MarkerKind {
    /// Index into `Operations::homes`.
    Home(usize),
    /// Index into `Operations::cases`.
    Case(usize),
    HomeCluster {
        count: usize,
        worst: u8,
    },
    CaseCluster {
        count: usize,
        worst: u8,
    },
    /// Route index and checkpoint index.
    Checkpoint(usize, usize),
    /// Index into `Operations::units`.
    Unit(usize),
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Marker {
    pub at: Screen,
    pub radius: f64,
    pub kind: MarkerKind,
}

fn on_screen(p: Screen, v: &Viewport, margin: f64) -> bool {
    p.x >= -margin && p.y >= -margin && p.x <= v.width + margin && p.y <= v.height + margin
}

/// The markers on screen, bottom to top: checkpoints, homes, cases, patrol units (homes
/// and cases each in order of severity, the worst on top).
pub fn markers(ops: &Operations, v: &Viewport, shown: Shown) -> Vec<Marker> {
    let mut out = Vec::new();
    if shown.routes {
        for (r, route) in ops.routes.iter().enumerate() {
            for (c, &at) in route.checkpoints.iter().enumerate() {
                let at = v.to_screen(at);
                if on_screen(at, v, 10.0) {
                    out.push(Marker {
                        at,
                        radius: 4.5,
                        kind: MarkerKind::Checkpoint(r, c),
                    });
                }
            }
        }
    }
    let clustered = v.resolution > CLUSTER_ABOVE_RESOLUTION;
    if shown.homes {
        let points = ops
            .homes
            .iter()
            .map(|h| (v.to_screen(h.at), health_severity(h.item.health())));
        out.extend(place(
            points,
            v,
            clustered,
            HOME_RADIUS_PX,
            MarkerKind::Home,
            |count, worst| MarkerKind::HomeCluster { count, worst },
        ));
    }
    if shown.cases {
        let points = ops
            .cases
            .iter()
            .map(|c| (v.to_screen(c.at), priority_severity(c.item.priority)));
        out.extend(place(
            points,
            v,
            clustered,
            CASE_RADIUS_PX,
            MarkerKind::Case,
            |count, worst| MarkerKind::CaseCluster { count, worst },
        ));
    }
    if shown.routes {
        for (i, unit) in ops.units.iter().enumerate() {
            let at = v.to_screen(unit.at);
            if on_screen(at, v, 20.0) {
                out.push(Marker {
                    at,
                    radius: UNIT_RADIUS_PX,
                    kind: MarkerKind::Unit(i),
                });
            }
        }
    }
    out
}

/// Individual markers, or clusters when `clustered` (a cluster of one is shown as
/// the point itself).
fn place(
    points: impl Iterator<Item = (Screen, u8)>,
    v: &Viewport,
    clustered: bool,
    radius: f64,
    single: fn(usize) -> MarkerKind,
    group: fn(usize, u8) -> MarkerKind,
) -> Vec<Marker> {
    // Cells fixed to the world: a cluster comes out the same for this view and for a
    // larger picture around it, as long as all of its cell's points are taken, so a
    // point counts when any of its cell is near the screen.
    let grid = Grid {
        anchor: v.to_screen(World { x: 0.0, y: 0.0 }),
        cell_px: CLUSTER_CELL_PX,
    };
    let (near_min, near_max) = (
        Screen {
            x: -NEAR_SCREEN_PX,
            y: -NEAR_SCREEN_PX,
        },
        Screen {
            x: v.width + NEAR_SCREEN_PX,
            y: v.height + NEAR_SCREEN_PX,
        },
    );
    let visible: Vec<(usize, Screen, u8)> = points
        .enumerate()
        .filter(|(_, (p, _))| {
            if clustered {
                grid.cell_meets(*p, near_min, near_max)
            } else {
                on_screen(*p, v, NEAR_SCREEN_PX)
            }
        })
        .map(|(i, (p, s))| (i, p, s))
        .collect();
    // Worse on top: an alarm is never hidden under a home that is fine, and homes of
    // one colour follow each other (one path each, see [`draw`]).
    let placed: Vec<(u8, Marker)> = if clustered {
        cluster(visible.iter().map(|(_, p, s)| (*p, *s)), grid)
            .into_iter()
            .map(|c| {
                let marker = if c.count == 1 {
                    Marker {
                        at: c.at,
                        radius,
                        kind: single(visible[c.example].0),
                    }
                } else {
                    Marker {
                        at: c.at,
                        radius: (radius + 2.5 * (c.count as f64).log2()).min(26.0),
                        kind: group(c.count, c.worst),
                    }
                };
                (c.worst, marker)
            })
            .collect()
    } else {
        visible
            .into_iter()
            .map(|(i, at, severity)| {
                let kind = single(i);
                (severity, Marker { at, radius, kind })
            })
            .collect()
    };
    let worst = placed
        .iter()
        .map(|(severity, _)| *severity)
        .max()
        .unwrap_or(0);
    (0..=worst)
        .flat_map(|level| {
            placed
                .iter()
                .filter(move |(severity, _)| *severity == level)
                .map(|(_, marker)| *marker)
        })
        .collect()
}

/// Routes and markers as draw commands.
pub fn draw(ops: &Operations, v: &Viewport, shown: Shown, halo: &'static str) -> Vec<DrawCommand> {
    let visible = v.visible();
    let mut out = Vec::new();
    if shown.routes {
        for (r, route) in ops.routes.iter().enumerate() {
            let b = route.bounds;
            if b.max.x < visible.min.x
                || b.min.x > visible.max.x
                || b.max.y < visible.min.y
                || b.min.y > visible.max.y
            {
                continue;
            }
            let colour = ROUTE_COLOURS[r % ROUTE_COLOURS.len()];
            out.push(DrawCommand::Lines {
                lines: [route.line.iter().map(|&w| v.to_screen(w))]
                    .into_iter()
                    .collect(),
                stroke: Stroke { colour, width: 3.0 },
            });
        }
    }
    for m in markers(ops, v, shown) {
        match m.kind {
            MarkerKind::Checkpoint(r, c) => out.push(DrawCommand::Circles {
                centres: vec![m.at],
                radius: m.radius,
                fill: Some(if ops.routes[r].covered[c] {
                    COVERED_COLOUR
                } else {
                    "#ffffff"
                }),
                stroke: Some(Stroke {
                    colour: ROUTE_COLOURS[r % ROUTE_COLOURS.len()],
                    width: 2.5,
                }),
            }),
            MarkerKind::Unit(i) => {
                let run = &ops.units[i].item;
                out.push(DrawCommand::Circles {
                    centres: vec![m.at],
                    radius: m.radius,
                    fill: Some(unit_colour(run)),
                    stroke: Some(Stroke {
                        colour: if run.off_route { "#ff9f1c" } else { "#ffffff" },
                        width: if run.off_route { 4.0 } else { 2.0 },
                    }),
                });
                out.push(label(m.at, "巡", 11.0));
            }
            MarkerKind::Home(i) => {
                let fill = Some(health_colour(health_severity(ops.homes[i].item.health())));
                // Homes come in order of colour (see `place`): one path for each.
                match out.last_mut() {
                    Some(DrawCommand::Circles {
                        centres,
                        radius,
                        fill: last_fill,
                        stroke: Some(Stroke { colour, width }),
                    }) if *radius == m.radius
                        && *last_fill == fill
                        && *colour == halo
                        && *width == HOME_RIM_PX =>
                    {
                        centres.push(m.at);
                    }
                    _ => out.push(DrawCommand::Circles {
                        centres: vec![m.at],
                        radius: m.radius,
                        fill,
                        stroke: Some(Stroke {
                            colour: halo,
                            width: HOME_RIM_PX,
                        }),
                    }),
                }
            }
            MarkerKind::Case(i) => {
                let case = &ops.cases[i].item;
                out.push(DrawCommand::Circles {
                    centres: vec![m.at],
                    radius: m.radius,
                    fill: Some(priority_colour(priority_severity(case.priority))),
                    stroke: Some(Stroke {
                        colour: "#ffffff",
                        width: 2.0,
                    }),
                });
                out.push(label(m.at, category_glyph(case.category), 12.0));
                out.push(stage_arc(m.at, m.radius + 3.0, case.stage));
                if case.handling.overdue {
                    let badge = Screen {
                        x: m.at.x + m.radius * 0.75,
                        y: m.at.y - m.radius * 0.75,
                    };
                    out.push(DrawCommand::Circles {
                        centres: vec![badge],
                        radius: 5.5,
                        fill: Some(OVERDUE_COLOUR),
                        stroke: Some(Stroke {
                            colour: "#ffffff",
                            width: 1.5,
                        }),
                    });
                    out.push(label(badge, "!", 9.0));
                }
            }
            MarkerKind::HomeCluster { count, worst } | MarkerKind::CaseCluster { count, worst } => {
                let fill = if matches!(m.kind, MarkerKind::HomeCluster { .. }) {
                    health_colour(worst)
                } else {
                    priority_colour(worst)
                };
                out.push(DrawCommand::Circles {
                    centres: vec![m.at],
                    radius: m.radius,
                    fill: Some(fill),
                    stroke: Some(Stroke {
                        colour: "#ffffff",
                        width: 2.0,
                    }),
                });
                out.push(label(m.at, &count.to_string(), 12.0));
            }
        }
    }
    out
}

/// How far a case has come through the loop, as an arc around its marker clockwise
/// from the top: a sixth at `reported`, five sixths at `consolidating`.
pub fn stage_arc(at: Screen, radius: f64, stage: CaseStage) -> DrawCommand {
    const SEGMENTS: usize = 36;
    let done = CaseStage::ALL.iter().position(|s| *s == stage).unwrap_or(0) + 1;
    let steps = SEGMENTS * done / CaseStage::ALL.len();
    let point = |i: usize| {
        let angle = std::f64::consts::TAU * i as f64 / SEGMENTS as f64;
        Screen {
            x: at.x + radius * angle.sin(),
            y: at.y - radius * angle.cos(),
        }
    };
    DrawCommand::Lines {
        lines: [(0..=steps).map(point)].into_iter().collect(),
        stroke: Stroke {
            colour: "#ffd166",
            width: 3.0,
        },
    }
}

/// The public map's cells of cases: a circle per cell, growing with its cases, with
/// their number.
pub fn area_circles(areas: &[linli_domain::api::AreaStatus], v: &Viewport) -> Vec<DrawCommand> {
    let mut out = Vec::new();
    for area in areas {
        let total = area.open_cases + area.solved_this_month;
        let at = v.to_screen(project(area.centre.into()));
        if total == 0 || !on_screen(at, v, 40.0) {
            continue;
        }
        out.push(DrawCommand::Circles {
            centres: vec![at],
            radius: (10.0 + 5.0 * f64::from(total).sqrt()).min(36.0),
            fill: Some("rgba(79, 140, 255, 0.35)"),
            stroke: Some(Stroke {
                colour: "#2f5fc4",
                width: 2.0,
            }),
        });
        out.push(label(at, &total.to_string(), 12.0));
    }
    out
}

/// Where a case is being reported: a ring with a dot, until the form closes.
pub fn pin(at: Screen) -> [DrawCommand; 2] {
    [
        DrawCommand::Circles {
            centres: vec![at],
            radius: 9.0,
            fill: None,
            stroke: Some(Stroke {
                colour: "#ffd166",
                width: 4.0,
            }),
        },
        DrawCommand::Circles {
            centres: vec![at],
            radius: 3.0,
            fill: Some("#ffd166"),
            stroke: None,
        },
    ]
}

/// The tablet's own position (a blue dot with a white rim) and, while it guides the
/// worker somewhere, the destination (a green ring) and a straight line between them.
pub fn here_and_destination(here: Option<Screen>, destination: Option<Screen>) -> Vec<DrawCommand> {
    let mut out = Vec::new();
    if let (Some(from), Some(to)) = (here, destination) {
        out.push(DrawCommand::Lines {
            lines: std::iter::once([from, to]).collect(),
            stroke: Stroke {
                colour: "rgba(46, 160, 67, 0.8)",
                width: 4.0,
            },
        });
    }
    if let Some(to) = destination {
        out.push(DrawCommand::Circles {
            centres: vec![to],
            radius: 12.0,
            fill: None,
            stroke: Some(Stroke {
                colour: "#2ea043",
                width: 5.0,
            }),
        });
    }
    if let Some(at) = here {
        out.push(DrawCommand::Circles {
            centres: vec![at],
            radius: 8.0,
            fill: Some("#1a73e8"),
            stroke: Some(Stroke {
                colour: "#ffffff",
                width: 3.0,
            }),
        });
    }
    out
}

/// A unit's fill: grey when it went silent, else the patrol blue.
pub fn unit_colour(run: &PatrolRun) -> &'static str {
    if run.silent {
        "#8a96a8"
    } else {
        "#1f6feb"
    }
}

/// One pulse of an open alert's ring, milliseconds.
pub const PULSE_MS: f64 = 1_200.0;

/// Colour and base radius of an alert's ring by severity: critical ones are big and red.
fn ring_style(severity: Severity) -> (&'static str, f64, f64) {
    match severity {
        Severity::Critical => ("#ff1f3d", 16.0, 4.0),
        Severity::Warning => ("#ff9f1c", 12.0, 3.0),
        Severity::Info => ("#4ea8ff", 9.0, 2.0),
    }
}

/// Rings around homes with alerts, worst on top. Open alerts pulse (`pulse` runs from 0
/// to 1 over [`PULSE_MS`]); acknowledged ones hold still.
pub fn alert_rings(ops: &Operations, v: &Viewport, pulse: f64) -> Vec<DrawCommand> {
    let on_view: Vec<&Placed<Alert>> = ops
        .alerts
        .iter()
        .filter(|a| on_screen(v.to_screen(a.at), v, 40.0))
        .collect();
    // Severities from the least (`Severity::ALL` is in order): the worst drawn last.
    let alerts = Severity::ALL
        .iter()
        .flat_map(|&severity| on_view.iter().filter(move |a| a.item.severity == severity));
    let mut out = Vec::new();
    for a in alerts {
        let at = v.to_screen(a.at);
        let (colour, radius, width) = ring_style(a.item.severity);
        if a.item.state == AlertState::Open {
            // A wave going out and fading, over a steady ring.
            let alpha = 1.0 - pulse;
            out.push(DrawCommand::Circles {
                centres: vec![at],
                radius: radius + pulse * radius * 1.5,
                fill: None,
                stroke: Some(Stroke {
                    colour: if alpha > 0.5 {
                        colour
                    } else {
                        "rgba(255,255,255,0.35)"
                    },
                    width: width * alpha.max(0.3),
                }),
            });
        }
        out.push(DrawCommand::Circles {
            centres: vec![at],
            radius,
            fill: None,
            stroke: Some(Stroke { colour, width }),
        });
    }
    out
}

fn label(at: Screen, text: &str, size_px: f64) -> DrawCommand {
    DrawCommand::Label {
        at,
        text: text.to_string(),
        size_px,
        colour: "#ffffff",
        halo: "rgba(0,0,0,0.45)",
    }
}

/// The topmost marker under `at`, with some slack for fingers.
pub fn marker_at(ops: &Operations, v: &Viewport, shown: Shown, at: Screen) -> Option<Marker> {
    markers(ops, v, shown).into_iter().rev().find(|m| {
        let reach = m.radius + TAP_SLACK_PX;
        (m.at.x - at.x).powi(2) + (m.at.y - at.y).powi(2) <= reach * reach
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use linli_domain::care::{CareLevel, Sensor, SensorKind};
    use linli_domain::cases::{CaseSource, CaseStage};
    use linli_domain::place::FeatureCollection;
    use linli_domain::CommunityId;
    use linli_domain::Timestamp;

    fn home(id: &str, lon: f64, health: Health) -> Home {
        Home {
            id: id.into(),
            building: "b1".into(),
            community: CommunityId::parse("xingfuli").unwrap(),
            grid: None,
            unit: 1,
            floor: 1,
            room: "101".into(),
            resident: "王秀英".into(),
            age_band: "80-89".into(),
            living_alone: true,
            care_level: CareLevel::Attention,
            phone: None,
            contact: None,
            position: [lon, 31.845],
            sensors: vec![Sensor {
                id: format!("wm-{id}"),
                kind: SensorKind::Water,
                health,
                battery_pct: None,
                last_seen: None,
            }],
        }
    }

    fn case(id: i64, lon: f64, stage: CaseStage) -> CaseSummary {
        CaseSummary {
            id,
            title: "共享单车乱停放".into(),
            category: CaseCategory::StreetOrder,
            stage,
            priority: CasePriority::High,
            source: CaseSource::Patrol,
            community: CommunityId::parse("xingfuli").unwrap(),
            grid: None,
            position: [lon, 31.846],
            building: None,
            opened_at: Timestamp::parse("2026-11-01T00:00:00.000Z").unwrap(),
            updated_at: Timestamp::parse("2026-11-01T00:00:00.000Z").unwrap(),
            closed_at: None,
            outcome: None,
            handling: Default::default(),
        }
    }

    fn ops() -> Operations {
        Operations::from_snapshot(&Snapshot {
            last_event_id: 1,
            homes: vec![
                home("a", 117.3000, Health::Ok),
                home("b", 117.3001, Health::Offline),
                home("c", 117.3200, Health::Warning),
            ],
            alerts: vec![],
            cases: vec![
                case(1, 117.310, CaseStage::Reported),
                case(2, 117.311, CaseStage::Closed),
            ],
            routes: FeatureCollection { features: vec![] },
            units: vec![],
            dispatches: vec![],
        })
    }

    fn view(lon: f64, resolution: f64) -> Viewport {
        Viewport {
            centre: project([lon, 31.845].into()),
            resolution,
            width: 1600.0,
            height: 1000.0,
        }
    }

    #[test]
    fn closed_cases_stay_off_the_map() {
        assert_eq!(ops().cases.len(), 1);
    }

    #[test]
    fn zoomed_out_near_homes_cluster_with_their_worst_health() {
        let m = markers(&ops(), &view(117.31, 2.5), Shown::default());
        let clusters: Vec<_> = m
            .iter()
            .filter(|m| matches!(m.kind, MarkerKind::HomeCluster { .. }))
            .collect();
        assert_eq!(clusters.len(), 1, "{m:?}");
        assert_eq!(
            clusters[0].kind,
            MarkerKind::HomeCluster { count: 2, worst: 2 }
        );
        assert!(
            m.iter().any(|m| m.kind == MarkerKind::Home(2)),
            "the far home stands alone"
        );
    }

    #[test]
    fn zoomed_in_every_home_has_its_own_marker_and_a_tap_finds_it() {
        let ops = ops();
        let v = view(117.30005, 0.5);
        let m = markers(&ops, &v, Shown::default());
        let homes: Vec<_> = m
            .iter()
            .filter(|m| matches!(m.kind, MarkerKind::Home(_)))
            .collect();
        assert_eq!(
            homes.len(),
            2,
            "home c and the case are off screen at this zoom: {m:?}"
        );
        let b = v.to_screen(ops.homes[1].at);
        let tap = Screen {
            x: b.x + HOME_RADIUS_PX + 2.0,
            y: b.y,
        };
        assert_eq!(
            marker_at(&ops, &v, Shown::default(), tap).map(|m| m.kind),
            Some(MarkerKind::Home(1))
        );
        assert_eq!(
            marker_at(
                &ops,
                &v,
                Shown {
                    homes: false,
                    ..Shown::default()
                },
                tap
            ),
            None
        );
    }

    #[test]
    fn the_worse_of_two_homes_on_one_spot_lies_on_top_and_one_colour_is_one_path() {
        let mut ops = ops();
        ops.homes = ["ok1", "alarm", "ok2"]
            .iter()
            .map(|id| {
                let health = if *id == "alarm" {
                    Health::Alarm
                } else {
                    Health::Ok
                };
                let h = home(id, 117.3000, health);
                Placed {
                    at: project(h.position.into()),
                    item: h,
                }
            })
            .collect();
        let v = view(117.3000, 0.5);
        let circles: Vec<(Option<&str>, usize)> = draw(&ops, &v, Shown::default(), "#000")
            .iter()
            .filter_map(|c| match c {
                DrawCommand::Circles { centres, fill, .. } if *fill != Some("#ffffff") => {
                    Some((*fill, centres.len()))
                }
                _ => None,
            })
            .collect();
        assert_eq!(
            circles[..2],
            [(Some(health_colour(0)), 2), (Some(health_colour(3)), 1)],
            "{circles:?}"
        );
        let spot = v.to_screen(ops.homes[0].at);
        assert_eq!(
            marker_at(&ops, &v, Shown::default(), spot).map(|m| m.kind),
            Some(MarkerKind::Home(1))
        );
    }

    #[test]
    fn a_picture_larger_than_the_view_holds_the_markers_of_the_view_and_of_it_dragged() {
        // 400 homes over about 1.5 km, clustered at this zoom.
        let snapshot = Snapshot {
            homes: (0..400)
                .map(|i| {
                    let mut h = home(&format!("h{i}"), 117.30, Health::Ok);
                    h.position = [
                        117.30 + f64::from(i * 37 % 400) * 0.00004,
                        31.84 + f64::from(i * 91 % 400) * 0.00004,
                    ];
                    if i % 7 == 0 {
                        h.sensors[0].health = Health::Offline;
                    }
                    h
                })
                .collect(),
            last_event_id: 1,
            alerts: vec![],
            cases: vec![],
            routes: FeatureCollection { features: vec![] },
            units: vec![],
            dispatches: vec![],
        };
        let ops = Operations::from_snapshot(&snapshot);
        let v = Viewport {
            centre: project([117.307, 31.847].into()),
            resolution: 2.0,
            width: 600.0,
            height: 400.0,
        };
        let larger = v.with_size(v.width + 300.0, v.height + 300.0);
        let in_larger = markers(&ops, &larger, Shown::default());
        let dragged = Viewport {
            centre: World {
                x: v.centre.x + 37.3 * v.resolution,
                y: v.centre.y - 12.9 * v.resolution,
            },
            ..v
        };
        for view in [v, dragged] {
            let own = markers(&ops, &view, Shown::default());
            assert!(
                own.iter()
                    .any(|m| matches!(m.kind, MarkerKind::HomeCluster { .. })),
                "{own:?}"
            );
            for m in own {
                let at = larger.to_screen(view.to_world(m.at));
                let same = in_larger.iter().any(|l| {
                    l.kind == m.kind
                        && l.radius == m.radius
                        && (l.at.x - at.x).abs() < 1e-6
                        && (l.at.y - at.y).abs() < 1e-6
                });
                assert!(same, "{m:?} of the view is not in the larger picture");
            }
        }
    }

    fn patrol(ended: bool) -> Operations {
        use linli_domain::patrol::{Checkpoint, Covered};
        use linli_domain::place::{Feature, Geometry};
        let checkpoint = |id: &str, lon: f64| Checkpoint {
            id: id.into(),
            name: id.into(),
            position: [lon, 31.845],
        };
        let route = Feature {
            id: "r1".into(),
            geometry: Geometry::LineString(vec![[117.300, 31.845], [117.302, 31.845]]),
            properties: RouteProperties {
                id: "r1".into(),
                name: "绿地赢海".into(),
                community: None,
                schedule: "每日 19:00".into(),
                checkpoints: vec![checkpoint("a", 117.300), checkpoint("b", 117.302)],
            },
        };
        let run = PatrolRun {
            id: 1,
            unit: "team-1".into(),
            route: "r1".into(),
            community: None,
            started_at: Timestamp::parse("2026-11-27T11:00:00.000Z").unwrap(),
            ended_at: ended.then(|| Timestamp::parse("2026-11-27T12:00:00.000Z").unwrap()),
            covered: vec![Covered {
                checkpoint: "a".into(),
                at: Timestamp::parse("2026-11-27T11:01:00.000Z").unwrap(),
            }],
            checkpoints: 2,
            positions: 2,
            off_route_positions: 0,
            position: Some([117.302, 31.845]),
            last_seen: Some(Timestamp::parse("2026-11-27T11:05:00.000Z").unwrap()),
            off_route: false,
            progress: Some(1.0),
            silent: false,
            missed: vec![],
            missed_reason: None,
        };
        Operations::from_snapshot(&Snapshot {
            last_event_id: 1,
            homes: vec![],
            alerts: vec![],
            cases: vec![],
            routes: FeatureCollection {
                features: vec![route],
            },
            units: vec![run],
            dispatches: vec![],
        })
    }

    #[test]
    fn a_unit_out_on_its_route_marks_the_checkpoints_it_passed_and_stands_on_top() {
        let ops = patrol(false);
        assert_eq!(ops.routes[0].covered, [true, false]);
        assert_eq!(ops.units.len(), 1);
        let v = view(117.302, 0.5);
        let at = v.to_screen(ops.units[0].at);
        assert_eq!(
            marker_at(&ops, &v, Shown::default(), at).map(|m| m.kind),
            Some(MarkerKind::Unit(0)),
            "the unit is drawn over the checkpoint it stands on"
        );
        let ended = patrol(true);
        assert!(
            ended.units.is_empty(),
            "a unit back from its run leaves the map"
        );
        assert_eq!(ended.routes[0].covered, [false, false]);
    }

    #[test]
    fn overdue_cases_carry_a_badge() {
        let mut ops = ops();
        let v = view(117.310, 0.5);
        let badges = |ops: &Operations| {
            draw(ops, &v, Shown::default(), "#000")
                .into_iter()
                .filter(|c| matches!(c, DrawCommand::Label { text, .. } if text == "!"))
                .count()
        };
        assert_eq!(badges(&ops), 0);
        ops.cases[0].item.handling.overdue = true;
        assert_eq!(badges(&ops), 1);
    }

    #[test]
    fn the_stage_arc_grows_through_the_loop() {
        let at = Screen { x: 0.0, y: 0.0 };
        let end = |stage| match stage_arc(at, 10.0, stage) {
            DrawCommand::Lines { lines, .. } => {
                let line: Vec<Screen> = lines.iter().next().unwrap().to_vec();
                (line.len(), *line.last().unwrap())
            }
            _ => unreachable!(),
        };
        let (points, last) = end(CaseStage::Reported);
        assert_eq!(points, 7, "a sixth of the circle");
        assert!((last.x - 10.0 * (std::f64::consts::TAU / 6.0).sin()).abs() < 1e-9);
        let (_, last) = end(CaseStage::Negotiating);
        assert!(
            last.y > 9.99 && last.x.abs() < 1e-9,
            "half way round at the third stage: {last:?}"
        );
    }

    #[test]
    fn a_focus_keeps_only_what_it_names() {
        let mut snapshot = Snapshot {
            last_event_id: 1,
            homes: vec![
                home("a", 117.3000, Health::Ok),
                home("b", 117.3001, Health::Offline),
            ],
            alerts: vec![],
            cases: vec![case(1, 117.310, CaseStage::Reported)],
            routes: FeatureCollection { features: vec![] },
            units: vec![],
            dispatches: vec![],
        };
        snapshot.cases[0].handling.overdue = true;
        let focus = |f| Operations::from_snapshot(&snapshot).focused(f);
        let offline = focus(MapFocus::OfflineSensors);
        assert_eq!(offline.homes.len(), 1);
        assert_eq!(offline.homes[0].item.id, "b");
        assert!(offline.cases.is_empty());
        assert!(focus(MapFocus::ActiveAlerts).homes.is_empty(), "no alerts");
        let overdue = focus(MapFocus::OverdueCases);
        assert_eq!((overdue.homes.len(), overdue.cases.len()), (0, 1));
        assert_eq!(
            focus(MapFocus::Everything),
            Operations::from_snapshot(&snapshot)
        );
    }
}
