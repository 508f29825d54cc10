//! Where two draw lists of the same view differ, as areas of the screen: a picture kept
//! between frames (the still overlays', [`super::canvas::StillCache`]) is then drawn
//! again only there instead of whole.
//!
//! Under 100 alert events a second the still overlays change with every stream batch
//! (ten times a second), yet each batch recolours a handful of homes. `make bench`
//! (busy command screen, 2026-12-03): a frame that drew the whole picture again took
//! 9.4 ms on average and up to 17.5 ms, most of it Chromium rasterizing a transparent
//! picture a margin larger than the view; a frame that only laid the picture, 1.0 ms.
//!
//! A list is cut into [`Piece`]s: one per circle or rectangle, one per label, polygon
//! set or line set. Two lists differ where a piece is in one and not the other. This is
//! exact as long as the pieces the two lists share come in the same order, and as long
//! as adding or removing a circle to a command changes paint only within its own
//! reach: true for a command of one fill and one stroke (the fills are one union,
//! painted before every stroke). When the shared pieces change their order,
//! [`changed`] asks for the whole picture instead.

use super::draw::{DrawCommand, Shapes, Stroke};
use super::projection::Screen;
use std::collections::HashMap;
use std::hash::{BuildHasher as _, BuildHasherDefault, Hash, Hasher};

/// A box on screen, CSS pixels.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Area {
    pub min: Screen,
    pub max: Screen,
}

impl Area {
    fn around(centre: Screen, half_width: f64, half_height: f64) -> Area {
        Area {
            min: Screen {
                x: centre.x - half_width,
                y: centre.y - half_height,
            },
            max: Screen {
                x: centre.x + half_width,
                y: centre.y + half_height,
            },
        }
    }

    /// The box around `points`, `grown` on every side; `None` when there are none.
    fn of_points<'a>(points: impl IntoIterator<Item = &'a Screen>, grown: f64) -> Option<Area> {
        let mut points = points.into_iter();
        let first = *points.next()?;
        let mut area = Area {
            min: first,
            max: first,
        };
        for p in points {
            area.min.x = area.min.x.min(p.x);
            area.min.y = area.min.y.min(p.y);
            area.max.x = area.max.x.max(p.x);
            area.max.y = area.max.y.max(p.y);
        }
        Some(area.grown(grown))
    }

    pub fn grown(self, by: f64) -> Area {
        Area::around(
            Screen {
                x: (self.min.x + self.max.x) / 2.0,
                y: (self.min.y + self.max.y) / 2.0,
            },
            (self.max.x - self.min.x) / 2.0 + by,
            (self.max.y - self.min.y) / 2.0 + by,
        )
    }

    pub fn meets(&self, other: &Area) -> bool {
        self.min.x <= other.max.x
            && other.min.x <= self.max.x
            && self.min.y <= other.max.y
            && other.min.y <= self.max.y
    }

    pub fn size(&self) -> f64 {
        (self.max.x - self.min.x).max(0.0) * (self.max.y - self.min.y).max(0.0)
    }
}

/// Paint beyond a shape's geometry: anti-aliasing's pixel.
const SMOOTHING_PX: f64 = 1.0;

/// One shape of a draw list: how it looks (a hash of its geometry and style) and
/// where it can leave paint.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Piece {
    look: u64,
    pub reach: Area,
}

fn hasher() -> impl Hasher {
    BuildHasherDefault::<std::collections::hash_map::DefaultHasher>::default().build_hasher()
}

fn hash_point(h: &mut impl Hasher, p: &Screen) {
    p.x.to_bits().hash(h);
    p.y.to_bits().hash(h);
}

fn hash_stroke(h: &mut impl Hasher, stroke: Option<&Stroke>) {
    if let Some(s) = stroke {
        s.colour.hash(h);
        s.width.to_bits().hash(h);
    }
}

fn hash_shapes(h: &mut impl Hasher, shapes: &Shapes) {
    for shape in shapes.iter() {
        shape.len().hash(h);
        shape.iter().for_each(|p| hash_point(h, p));
    }
}

fn half_width(stroke: Option<&Stroke>) -> f64 {
    stroke.map_or(0.0, |s| s.width / 2.0)
}

/// How far a circle's paint reaches from its centre.
fn circle_reach(radius: f64, stroke: Option<&Stroke>) -> f64 {
    radius + half_width(stroke) + SMOOTHING_PX
}

/// How far a label's paint reaches from its centre. Text is measured only by the
/// browser: this is a bound, a full em per character (CJK is that wide, Latin
/// narrower) and its halo (`canvas::replay` strokes it 4 px wide).
fn label_reach(at: Screen, text: &str, size_px: f64) -> Area {
    const HALO_PX: f64 = 2.0;
    let characters = text.chars().count() as f64;
    Area::around(
        at,
        characters * size_px / 2.0 + HALO_PX + SMOOTHING_PX,
        size_px * 0.75 + HALO_PX + SMOOTHING_PX,
    )
}

/// Calls `each` with every shape of `command` that can be drawn apart (a circle, a
/// rectangle), or the command whole: its look and reach.
fn for_each_piece(command: &DrawCommand, mut each: impl FnMut(Piece)) {
    let mut h = hasher();
    std::mem::discriminant(command).hash(&mut h);
    match command {
        DrawCommand::Circles {
            centres,
            radius,
            fill,
            stroke,
        } => {
            radius.to_bits().hash(&mut h);
            fill.hash(&mut h);
            hash_stroke(&mut h, stroke.as_ref());
            let style = h.finish();
            let reach = circle_reach(*radius, stroke.as_ref());
            for c in centres {
                let mut h = hasher();
                style.hash(&mut h);
                hash_point(&mut h, c);
                each(Piece {
                    look: h.finish(),
                    reach: Area::around(*c, reach, reach),
                });
            }
        }
        DrawCommand::Rects { rects, fill } => {
            fill.hash(&mut h);
            let style = h.finish();
            for &[x, y, w, hgt] in rects {
                let mut h = hasher();
                style.hash(&mut h);
                [x, y, w, hgt].map(f64::to_bits).hash(&mut h);
                let corner = Screen { x, y };
                let far = Screen {
                    x: x + w,
                    y: y + hgt,
                };
                if let Some(reach) = Area::of_points([&corner, &far], SMOOTHING_PX) {
                    each(Piece {
                        look: h.finish(),
                        reach,
                    });
                }
            }
        }
        DrawCommand::Polygons {
            rings,
            fill,
            stroke,
        } => {
            fill.hash(&mut h);
            hash_stroke(&mut h, stroke.as_ref());
            hash_shapes(&mut h, rings);
            let grown = half_width(stroke.as_ref()) + SMOOTHING_PX;
            if let Some(reach) = Area::of_points(rings.iter().flatten(), grown) {
                each(Piece {
                    look: h.finish(),
                    reach,
                });
            }
        }
        DrawCommand::Lines { lines, stroke } => {
            hash_stroke(&mut h, Some(stroke));
            hash_shapes(&mut h, lines);
            let grown = half_width(Some(stroke)) + SMOOTHING_PX;
            if let Some(reach) = Area::of_points(lines.iter().flatten(), grown) {
                each(Piece {
                    look: h.finish(),
                    reach,
                });
            }
        }
        DrawCommand::Label {
            at,
            text,
            size_px,
            colour,
            halo,
        } => {
            hash_point(&mut h, at);
            (text, size_px.to_bits(), colour, halo).hash(&mut h);
            each(Piece {
                look: h.finish(),
                reach: label_reach(*at, text, *size_px),
            });
        }
    }
}

/// The pieces of `commands`, in drawing order.
pub fn pieces(commands: &[DrawCommand]) -> Vec<Piece> {
    let mut out = Vec::new();
    for command in commands {
        for_each_piece(command, |piece| out.push(piece));
    }
    out
}

/// Splits `pieces` into those whose look is also in `others` (as often as there, in
/// order: their looks) and the others (their reach).
fn shared_and_own(pieces: &[Piece], others: &[Piece]) -> (Vec<u64>, Vec<Area>) {
    let mut left: HashMap<u64, usize> = HashMap::with_capacity(others.len());
    for p in others {
        *left.entry(p.look).or_default() += 1;
    }
    let (mut shared, mut own) = (Vec::new(), Vec::new());
    for p in pieces {
        match left.get_mut(&p.look) {
            Some(n) if *n > 0 => {
                *n -= 1;
                shared.push(p.look);
            }
            _ => own.push(p.reach),
        }
    }
    (shared, own)
}

/// Where a picture of `old` must be drawn again to show `new`: the reach of every
/// piece in only one of them. `None` when the pieces in both come in another order
/// (the whole picture is to be drawn again).
pub fn changed(old: &[Piece], new: &[Piece]) -> Option<Vec<Area>> {
    let (kept_before, mut areas) = shared_and_own(old, new);
    let (kept_after, added) = shared_and_own(new, old);
    if kept_before != kept_after {
        return None;
    }
    areas.extend(added);
    Some(areas)
}

/// The part of `commands` that paints within `areas`: every circle and rectangle
/// that reaches into one of them, and every other command that does. Drawn under a
/// clip to `areas`, it paints what the whole list would.
pub fn within(commands: &[DrawCommand], areas: &[Area]) -> Vec<DrawCommand> {
    let meets = |reach: &Area| areas.iter().any(|a| a.meets(reach));
    let mut out = Vec::new();
    for command in commands {
        match command {
            DrawCommand::Circles {
                centres,
                radius,
                fill,
                stroke,
            } => {
                let reach = circle_reach(*radius, stroke.as_ref());
                let kept: Vec<Screen> = centres
                    .iter()
                    .filter(|c| meets(&Area::around(**c, reach, reach)))
                    .copied()
                    .collect();
                if !kept.is_empty() {
                    out.push(DrawCommand::Circles {
                        centres: kept,
                        radius: *radius,
                        fill: *fill,
                        stroke: stroke.clone(),
                    });
                }
            }
            other => {
                let mut reaches = false;
                for_each_piece(other, |piece| reaches |= meets(&piece.reach));
                if reaches {
                    out.push(other.clone());
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(x: f64, y: f64) -> Screen {
        Screen { x, y }
    }

    fn homes(fill: &'static str, centres: &[Screen]) -> DrawCommand {
        DrawCommand::Circles {
            centres: centres.to_vec(),
            radius: 5.0,
            fill: Some(fill),
            stroke: Some(Stroke {
                colour: "#fff",
                width: 2.0,
            }),
        }
    }

    fn label(x: f64, text: &str) -> DrawCommand {
        DrawCommand::Label {
            at: at(x, 50.0),
            text: text.into(),
            size_px: 12.0,
            colour: "#fff",
            halo: "#000",
        }
    }

    #[test]
    fn a_recoloured_circle_is_redrawn_where_it_was_and_nothing_else() {
        let (a, b, c) = (at(10.0, 10.0), at(100.0, 10.0), at(200.0, 10.0));
        let old = [homes("green", &[a, b, c]), label(300.0, "同安")];
        let new = [
            homes("green", &[a, c]),
            homes("red", &[b]),
            label(300.0, "同安"),
        ];
        let areas = changed(&pieces(&old), &pieces(&new)).expect("same order");
        // Removed green b and added red b: both b's reach (radius 5, half the rim,
        // a pixel of smoothing).
        assert_eq!(areas.len(), 2);
        for area in &areas {
            assert_eq!(area, &Area::around(b, 7.0, 7.0));
        }
        // Only b's command and nothing of a, c or the label is drawn there again.
        let redrawn = within(&new, &areas);
        assert_eq!(
            redrawn,
            vec![homes("red", &[b])],
            "a and c are 90 px away from b"
        );
        assert_eq!(changed(&pieces(&new), &pieces(&new)), Some(vec![]));
    }

    #[test]
    fn labels_lines_and_boxes_are_pieces_too() {
        let line = |x: f64| DrawCommand::Lines {
            lines: [[at(x, 0.0), at(x + 10.0, 20.0)]].into_iter().collect(),
            stroke: Stroke {
                colour: "#abc",
                width: 4.0,
            },
        };
        let boxes = DrawCommand::Rects {
            rects: vec![[0.0, 0.0, 4.0, 4.0], [50.0, 50.0, 4.0, 4.0]],
            fill: "#123",
        };
        let old = [line(0.0), boxes.clone(), label(100.0, "12")];
        let new = [line(5.0), boxes, label(100.0, "13")];
        let areas = changed(&pieces(&old), &pieces(&new)).expect("same order");
        // The moved line where it was and where it is (3 px of stroke and
        // smoothing around); the label's text changed in place.
        assert!(areas.contains(&Area {
            min: at(-3.0, -3.0),
            max: at(13.0, 23.0)
        }));
        assert!(areas.contains(&Area {
            min: at(2.0, -3.0),
            max: at(18.0, 23.0)
        }));
        assert_eq!(
            areas
                .iter()
                .filter(|a| a.meets(&label_reach(at(100.0, 50.0), "12", 12.0)))
                .count(),
            2
        );
        assert_eq!(areas.len(), 4, "the boxes stayed");
    }

    #[test]
    fn pieces_that_change_their_order_ask_for_the_whole_picture() {
        let (a, b) = (at(10.0, 10.0), at(12.0, 10.0));
        let before = [homes("green", &[a]), homes("red", &[b])];
        let after = [homes("red", &[b]), homes("green", &[a])];
        assert_eq!(changed(&pieces(&before), &pieces(&after)), None);
        // The same look twice is two pieces: one more of them is a change.
        let twice = [homes("green", &[a, a])];
        let once = [homes("green", &[a])];
        assert_eq!(
            changed(&pieces(&once), &pieces(&twice)).map(|a| a.len()),
            Some(1)
        );
    }
}
