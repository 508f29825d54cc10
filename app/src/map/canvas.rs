//! Replays draw commands on a Canvas 2D context, and keeps pictures between frames:
//! the base map's tiles ([`TileCache`]) and the still overlays over them
//! ([`StillCache`]). The only code that draws.

use super::damage::{self, Piece};
use super::draw::DrawCommand;
use super::projection::Screen;
use super::tiles::{self, TileKey, TILE_MARGIN_PX, TILE_PX};
use super::viewport::Viewport;
use std::collections::{BTreeSet, HashMap, VecDeque};
use wasm_bindgen::JsCast as _;
use web_sys::{CanvasRenderingContext2d, CanvasWindingRule, HtmlCanvasElement};

/// Sizes the canvas backing store for the device pixel ratio (sharp on high-DPI
/// screens) and returns its 2D context, scaled so that commands use CSS pixels.
/// The context is opaque (every frame starts with the background) and meant for the
/// canvas on the page.
pub fn prepare(
    canvas: &HtmlCanvasElement,
    width: f64,
    height: f64,
    pixel_ratio: f64,
) -> Option<CanvasRenderingContext2d> {
    ON_THE_PAGE.with(|options| context(canvas, width, height, pixel_ratio, options))
}

/// Like [`prepare`], for a picture off the page: opaque, or transparent where
/// nothing is drawn.
fn prepare_picture(
    canvas: &HtmlCanvasElement,
    viewport: &Viewport,
    pixel_ratio: f64,
    opaque: bool,
) -> Option<CanvasRenderingContext2d> {
    let options = if opaque { &OPAQUE } else { &TRANSPARENT };
    options.with(|options| {
        context(
            canvas,
            viewport.width,
            viewport.height,
            pixel_ratio,
            options,
        )
    })
}

fn context(
    canvas: &HtmlCanvasElement,
    width: f64,
    height: f64,
    pixel_ratio: f64,
    options: &js_sys::Object,
) -> Option<CanvasRenderingContext2d> {
    let (w, h) = (
        (width * pixel_ratio).round() as u32,
        (height * pixel_ratio).round() as u32,
    );
    if canvas.width() != w || canvas.height() != h {
        canvas.set_width(w);
        canvas.set_height(h);
    }
    let ctx = canvas
        .get_context_with_context_options("2d", options)
        .ok()
        .flatten()?
        .dyn_into::<CanvasRenderingContext2d>()
        .ok()?;
    ctx.set_transform(pixel_ratio, 0.0, 0.0, pixel_ratio, 0.0, 0.0)
        .ok()?;
    Some(ctx)
}

thread_local! {
    /// The 2D context's options, made once (every frame asks for the context):
    /// opaque (every frame starts with the background) and desynchronized, so that the
    /// browser may show the canvas without handing each frame through the compositor's
    /// commit. `make bench` (busy screen, 2026-12-01) found that commit took 14.6 ms a
    /// frame, more than the drawing (6 ms); desynchronized, 0.8 ms. Browsers that
    /// ignore the hint draw as before.
    static ON_THE_PAGE: js_sys::Object = {
        let options = js_sys::Object::new();
        let _ = js_sys::Reflect::set(&options, &"alpha".into(), &false.into());
        let _ = js_sys::Reflect::set(&options, &"desynchronized".into(), &true.into());
        options
    };
    /// A picture off the page (a tile): opaque, and not
    /// desynchronized, which made copying from it two to three times slower (Chromium
    /// without a GPU, 2026-12-03).
    static OPAQUE: js_sys::Object = {
        let options = js_sys::Object::new();
        let _ = js_sys::Reflect::set(&options, &"alpha".into(), &false.into());
        options
    };
    /// A picture to be laid over another: transparent where nothing is drawn.
    static TRANSPARENT: js_sys::Object = js_sys::Object::new();
}

fn trace(ctx: &CanvasRenderingContext2d, points: &[Screen], close: bool) {
    let mut points = points.iter();
    if let Some(first) = points.next() {
        ctx.move_to(first.x, first.y);
        for p in points {
            ctx.line_to(p.x, p.y);
        }
        if close {
            ctx.close_path();
        }
    }
}

/// Fills the whole canvas with `colour`.
pub fn clear(ctx: &CanvasRenderingContext2d, width: f64, height: f64, colour: &str) {
    ctx.set_fill_style_str(colour);
    ctx.fill_rect(0.0, 0.0, width, height);
}

/// Draws `commands` in order.
pub fn replay(ctx: &CanvasRenderingContext2d, commands: &[DrawCommand]) {
    ctx.set_line_join("round");
    ctx.set_line_cap("round");
    ctx.set_text_align("center");
    ctx.set_text_baseline("middle");
    // The font is parsed each time it is set: set it when the size changes.
    let mut font_px = None;
    for command in commands {
        match command {
            DrawCommand::Polygons {
                rings,
                fill,
                stroke,
            } => {
                ctx.begin_path();
                for ring in rings.iter() {
                    trace(ctx, ring, true);
                }
                if let Some(fill) = fill {
                    ctx.set_fill_style_str(fill);
                    ctx.fill_with_canvas_winding_rule(CanvasWindingRule::Evenodd);
                }
                if let Some(stroke) = stroke {
                    ctx.set_stroke_style_str(stroke.colour);
                    ctx.set_line_width(stroke.width);
                    ctx.stroke();
                }
            }
            DrawCommand::Rects { rects, fill } => {
                ctx.set_fill_style_str(fill);
                for &[x, y, w, h] in rects {
                    ctx.fill_rect(x, y, w, h);
                }
            }
            DrawCommand::Circles {
                centres,
                radius,
                fill,
                stroke,
            } => {
                ctx.begin_path();
                for c in centres {
                    ctx.move_to(c.x + radius, c.y);
                    let _ = ctx.arc(c.x, c.y, *radius, 0.0, std::f64::consts::TAU);
                }
                if let Some(fill) = fill {
                    ctx.set_fill_style_str(fill);
                    ctx.fill();
                }
                if let Some(stroke) = stroke {
                    ctx.set_stroke_style_str(stroke.colour);
                    ctx.set_line_width(stroke.width);
                    ctx.stroke();
                }
            }
            DrawCommand::Lines { lines, stroke } => {
                ctx.begin_path();
                for line in lines.iter() {
                    trace(ctx, line, false);
                }
                ctx.set_stroke_style_str(stroke.colour);
                ctx.set_line_width(stroke.width);
                ctx.stroke();
            }
            DrawCommand::Label {
                at,
                text,
                size_px,
                colour,
                halo,
            } => {
                let px = size_px.round();
                if font_px != Some(px) {
                    font_px = Some(px);
                    ctx.set_font(&format!(
                        "600 {px:.0}px system-ui, 'Noto Sans CJK SC', 'Noto Sans SC', sans-serif"
                    ));
                }
                ctx.set_line_width(4.0);
                ctx.set_stroke_style_str(halo);
                let _ = ctx.stroke_text(text, at.x, at.y);
                ctx.set_fill_style_str(colour);
                let _ = ctx.fill_text(text, at.x, at.y);
            }
        }
    }
}

/// How long one frame may spend drawing missing tiles before it shows what it has
/// (stand-ins from other levels where tiles are missing) and leaves the rest to the
/// next frames. At least one tile is drawn per frame (unless a picture of this very
/// view already stands in), so the map always completes.
const TILE_BUDGET_MS: f64 = 3.0;
/// How long one frame may spend painting the first picture of a blank map, and the
/// most boxes one step of it paints. `make bench` (100,000 buildings, 2026-12-01): the
/// whole district in one pass was a task of 116-184 ms, long enough to block a click.
const FIRST_PICTURE_BUDGET_MS: f64 = 8.0;
const BOXES_PER_STEP: usize = 4_000;
const LINES_PER_STEP: usize = 1_000;
/// How many levels up to look for a stand-in for a missing tile (children, one level
/// down, stand in too).
const STAND_IN_LEVELS: u8 = 4;
/// Tiles kept beyond those on screen, for panning back and zooming out.
const SPARE_TILES: usize = 96;

/// The base map's tiles drawn so far, as bitmaps at the device's pixel ratio.
#[derive(Default)]
pub struct TileCache {
    tiles: HashMap<TileKey, (HtmlCanvasElement, u64)>,
    /// The whole view drawn in one pass, and the view it shows: what a blank map shows
    /// first (one pass over the features is quicker than dozens of tiles), and a
    /// stand-in under missing tiles afterwards.
    snapshot: Option<(HtmlCanvasElement, Viewport)>,
    /// The snapshot's commands not painted yet: a first picture is painted over
    /// several frames, a few milliseconds each, and shown as far as it got.
    unpainted: Option<(CanvasRenderingContext2d, VecDeque<DrawCommand>)>,
    /// What the bitmaps show (data, visible layers, pixel ratio): when it changes,
    /// every tile is stale.
    content: u64,
    frame: u64,
}

/// What [`TileCache::draw_base`] managed in one frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BaseDrawn {
    /// The base map on screen is sharp and whole.
    pub complete: bool,
    /// Tiles are still missing: draw another frame.
    pub more: bool,
}

fn now_ms() -> f64 {
    web_sys::window()
        .and_then(|w| w.performance())
        .map_or(0.0, |p| p.now())
}

/// A canvas that is not on the page.
fn offscreen() -> Option<HtmlCanvasElement> {
    web_sys::window()?
        .document()?
        .create_element("canvas")
        .ok()?
        .dyn_into::<HtmlCanvasElement>()
        .ok()
}

/// A new canvas of `viewport`'s size, filled with `background`.
fn blank(
    viewport: &Viewport,
    pixel_ratio: f64,
    background: &str,
) -> Option<(HtmlCanvasElement, CanvasRenderingContext2d)> {
    let canvas = offscreen()?;
    let ctx = prepare_picture(&canvas, viewport, pixel_ratio, true)?;
    clear(&ctx, viewport.width, viewport.height, background);
    Some((canvas, ctx))
}

/// A new canvas of `viewport`'s size with `commands` drawn on `background`.
fn paint(
    viewport: &Viewport,
    pixel_ratio: f64,
    background: &str,
    commands: &[DrawCommand],
) -> Option<HtmlCanvasElement> {
    let (canvas, ctx) = blank(viewport, pixel_ratio, background)?;
    replay(&ctx, commands);
    Some(canvas)
}

/// `commands` as steps of moderate size: a command of many boxes or lines becomes
/// several. (Polygons come in paths of moderate size already; a path of holes cannot
/// be cut anywhere.)
fn in_steps(commands: Vec<DrawCommand>) -> VecDeque<DrawCommand> {
    let mut steps = VecDeque::with_capacity(commands.len());
    for command in commands {
        match command {
            DrawCommand::Rects { rects, fill } if rects.len() > BOXES_PER_STEP => {
                steps.extend(rects.chunks(BOXES_PER_STEP).map(|part| DrawCommand::Rects {
                    rects: part.to_vec(),
                    fill,
                }));
            }
            DrawCommand::Lines { lines, stroke } if lines.len() > LINES_PER_STEP => {
                steps.extend(lines.chunks(LINES_PER_STEP).map(|part| DrawCommand::Lines {
                    lines: part,
                    stroke: stroke.clone(),
                }));
            }
            other => steps.push_back(other),
        }
    }
    steps
}

impl TileCache {
    /// Drops every bitmap when what they show has changed.
    pub fn show(&mut self, content: u64) {
        if content != self.content {
            self.tiles.clear();
            self.snapshot = None;
            self.unpainted = None;
            self.content = content;
        }
    }

    /// Draws the base map for `viewport` on `ctx` from tiles, first drawing missing
    /// ones with `draw_list` (the draw list for a viewport) for as long as the
    /// frame's budget lasts, with stand-ins where they are still missing. A map that
    /// would be blank is drawn whole in one picture instead (painted over a few
    /// frames, shown as far as it got), and its tiles follow in later frames.
    pub fn draw_base(
        &mut self,
        ctx: &CanvasRenderingContext2d,
        viewport: &Viewport,
        pixel_ratio: f64,
        background: &str,
        mut draw_list: impl FnMut(&Viewport) -> Vec<DrawCommand>,
    ) -> BaseDrawn {
        self.frame += 1;
        let needed = tiles::covering(viewport);
        let present = |cache: &Self, k: &TileKey| cache.tiles.contains_key(k);
        let shows_something = self.snapshot.is_some()
            || needed.iter().any(|k| {
                present(self, k)
                    || self.stand_in(k).is_some()
                    || k.children().iter().any(|c| present(self, c))
            });
        // Listing the first picture takes a frame's time of its own (10-16 ms for
        // 100,000 buildings, `make bench`): its painting starts next frame.
        let mut listed = false;
        if !shows_something {
            let commands =
                crate::timing::measured("linli: first picture listed", || draw_list(viewport));
            let made = crate::timing::measured("linli: first picture made", || {
                blank(viewport, pixel_ratio, background)
            });
            if let Some((canvas, picture)) = made {
                self.snapshot = Some((canvas, *viewport));
                self.unpainted = Some((picture, in_steps(commands)));
                listed = true;
            }
        }
        let started = now_ms();
        if let Some((picture, steps)) = self.unpainted.as_mut().filter(|_| !listed) {
            crate::timing::measured("linli: first picture painted", || {
                while let Some(step) = steps.pop_front() {
                    replay(picture, std::slice::from_ref(&step));
                    if now_ms() - started > FIRST_PICTURE_BUDGET_MS {
                        break;
                    }
                }
            });
            if steps.is_empty() {
                self.unpainted = None;
            }
        }
        let painting = self.unpainted.is_some();
        let snapshot_is_view = !painting && matches!(&self.snapshot, Some((_, v)) if v == viewport);
        // Missing tiles, nearest the middle first, until the budget is spent; at
        // least one per frame unless the snapshot already shows this very view. None
        // while the first picture is being painted: that takes the frame's time.
        let mut drawn = 0;
        for key in &needed {
            if painting || present(self, key) {
                continue;
            }
            if (drawn > 0 || snapshot_is_view) && now_ms() - started > TILE_BUDGET_MS {
                break;
            }
            let tile_view = key.viewport();
            if let Some(canvas) = paint(&tile_view, pixel_ratio, background, &draw_list(&tile_view))
            {
                self.tiles.insert(*key, (canvas, self.frame));
            }
            drawn += 1;
        }
        let missing: Vec<&TileKey> = needed.iter().filter(|k| !present(self, k)).collect();
        let mut stand_ins = BTreeSet::new();
        let mut uncovered = false;
        for key in &missing {
            let parent = self.stand_in(key);
            let children: Vec<TileKey> = key
                .children()
                .into_iter()
                .filter(|c| present(self, c))
                .collect();
            uncovered |= parent.is_none() && children.len() < 4;
            stand_ins.extend(parent);
            stand_ins.extend(children);
        }
        // Under missing tiles: the snapshot where other tiles cannot stand in (copying
        // a whole screen costs a few milliseconds), then a blurry parent or sharper
        // children.
        if uncovered {
            if let Some((canvas, shown)) = &self.snapshot {
                let _copying = crate::timing::Measure::start("linli: picture shown");
                lay(ctx, canvas, shown, viewport, None);
            }
        }
        for key in stand_ins.iter().chain(needed.iter().rev()) {
            if let Some((canvas, used)) = self.tiles.get_mut(key) {
                *used = self.frame;
                let p = key.placement(viewport, pixel_ratio);
                let (margin, side) = (TILE_MARGIN_PX * pixel_ratio, TILE_PX * pixel_ratio);
                let _ = ctx
                    .draw_image_with_html_canvas_element_and_sw_and_sh_and_dx_and_dy_and_dw_and_dh(
                        canvas, margin, margin, side, side, p.at.x, p.at.y, p.width, p.height,
                    );
            }
        }
        self.evict(needed.len() + SPARE_TILES);
        BaseDrawn {
            complete: !painting && (missing.is_empty() || snapshot_is_view),
            more: painting || !missing.is_empty(),
        }
    }

    /// The nearest drawn tile of a level above that covers `key`.
    fn stand_in(&self, key: &TileKey) -> Option<TileKey> {
        std::iter::successors(key.parent(), TileKey::parent)
            .take(usize::from(STAND_IN_LEVELS))
            .find(|a| self.tiles.contains_key(a))
    }

    /// Keeps the `keep` most recently used tiles.
    fn evict(&mut self, keep: usize) {
        if self.tiles.len() <= keep {
            return;
        }
        let mut ages: Vec<u64> = self.tiles.values().map(|(_, used)| *used).collect();
        ages.sort_unstable_by(|a, b| b.cmp(a));
        let cutoff = ages[keep - 1];
        let mut over = self.tiles.len() - keep;
        self.tiles.retain(|_, (_, used)| {
            let drop = *used < cutoff && over > 0;
            over -= usize::from(drop);
            !drop
        });
    }
}

/// Lays `picture`, a canvas that shows `shown`, on `ctx`, which shows `viewport`:
/// where its world lies, scaled when the resolutions differ. With `pixel_ratio`, the
/// picture's corner is put on a whole device pixel, so that a picture of the same
/// resolution is copied pixel for pixel rather than blurred between them.
fn lay(
    ctx: &CanvasRenderingContext2d,
    picture: &HtmlCanvasElement,
    shown: &Viewport,
    viewport: &Viewport,
    pixel_ratio: Option<f64>,
) {
    let mut at = viewport.to_screen(shown.to_world(Screen { x: 0.0, y: 0.0 }));
    if let Some(ratio) = pixel_ratio {
        at.x = (at.x * ratio).round() / ratio;
        at.y = (at.y * ratio).round() / ratio;
    }
    let scale = shown.resolution / viewport.resolution;
    let _ = ctx.draw_image_with_html_canvas_element_and_sw_and_sh_and_dx_and_dy_and_dw_and_dh(
        picture,
        0.0,
        0.0,
        f64::from(picture.width()),
        f64::from(picture.height()),
        at.x,
        at.y,
        shown.width * scale,
        shown.height * scale,
    );
}

/// Room drawn around the view in the still overlays' picture, CSS pixels: a drag
/// that stays within it moves the picture instead of drawing it again. (At 1600×1000
/// and a pixel ratio of 1 the picture is 11 MB; at 2, four times that.)
const MARGIN_PX: f64 = 192.0;

/// `viewport` with [`MARGIN_PX`] more on every side.
fn with_margin(viewport: &Viewport) -> Viewport {
    viewport.with_size(
        viewport.width + 2.0 * MARGIN_PX,
        viewport.height + 2.0 * MARGIN_PX,
    )
}

/// The overlays that hold still between their changes (homes, cases, routes, units,
/// community names), kept as one transparent picture a margin larger than the view.
/// A frame that only moves the view (a drag, an alert's ring pulsing) lays the picture
/// where it belongs instead of drawing every marker again. When what it shows changes
/// (a batch of events, at most ten times a second), only the parts that changed are
/// drawn again ([`super::damage`]); when the view zooms or a drag leaves its margin,
/// all of it. `make bench` (busy command screen, 2026-12-02): drawing the overlays
/// every frame took 1.95 ms of the frame's 2.5 ms of drawing, up to 10.9 ms.
#[derive(Default)]
pub struct StillCache {
    picture: Option<StillPicture>,
}

struct StillPicture {
    canvas: HtmlCanvasElement,
    /// The view it shows, the margin included.
    shown: Viewport,
    pixel_ratio: f64,
    /// A stamp of what it shows, and the pieces of its draw list.
    content: u64,
    pieces: Vec<Piece>,
}

/// Beyond this share of the picture changed, it is drawn again whole.
const MOST_CHANGED: f64 = 0.25;

impl StillCache {
    /// Lays the still overlays for `viewport` on `ctx`, first drawing them with
    /// `draw_list` (the draw list for a viewport) when the picture does not cover the
    /// view or `content` (a stamp of everything they show) has changed.
    pub fn draw(
        &mut self,
        ctx: &CanvasRenderingContext2d,
        viewport: &Viewport,
        pixel_ratio: f64,
        content: u64,
        mut draw_list: impl FnMut(&Viewport) -> Vec<DrawCommand>,
    ) {
        let usable = |p: &StillPicture| p.pixel_ratio == pixel_ratio && covers(&p.shown, viewport);
        let current = match self.picture.as_mut() {
            Some(picture) if usable(picture) && picture.content == content => true,
            Some(picture) if usable(picture) => {
                let _drawing = crate::timing::Measure::start("linli: still overlays changed");
                let commands = draw_list(&picture.shown);
                picture.redraw_changes(commands, content)
            }
            _ => false,
        };
        if !current {
            let _drawing = crate::timing::Measure::start("linli: still overlays drawn");
            let larger = with_margin(viewport);
            let commands = draw_list(&larger);
            let canvas = self.picture.take().map(|p| p.canvas).or_else(offscreen);
            self.picture =
                canvas.and_then(|c| StillPicture::draw(c, larger, pixel_ratio, content, &commands));
        }
        match &self.picture {
            Some(p) => lay(ctx, &p.canvas, &p.shown, viewport, Some(pixel_ratio)),
            // No picture to be had: the overlays are drawn on the view itself.
            None => replay(ctx, &draw_list(viewport)),
        }
    }
}

impl StillPicture {
    /// A picture of `commands` on `canvas`, which shows `shown`.
    fn draw(
        canvas: HtmlCanvasElement,
        shown: Viewport,
        pixel_ratio: f64,
        content: u64,
        commands: &[DrawCommand],
    ) -> Option<StillPicture> {
        let ctx = prepare_picture(&canvas, &shown, pixel_ratio, false)?;
        ctx.clear_rect(0.0, 0.0, shown.width, shown.height);
        replay(&ctx, commands);
        Some(StillPicture {
            canvas,
            shown,
            pixel_ratio,
            content,
            pieces: damage::pieces(commands),
        })
    }

    /// Draws again the parts of the picture where `commands`, its new draw list,
    /// differ from the last. False when that would be most of it (or the pieces came
    /// in another order): the picture is to be drawn whole.
    fn redraw_changes(&mut self, commands: Vec<DrawCommand>, content: u64) -> bool {
        let pieces = damage::pieces(&commands);
        let Some(areas) = damage::changed(&self.pieces, &pieces) else {
            return false;
        };
        let (width, height) = (self.shown.width, self.shown.height);
        if areas.iter().map(damage::Area::size).sum::<f64>() > MOST_CHANGED * width * height {
            return false;
        }
        let Some(ctx) = prepare_picture(&self.canvas, &self.shown, self.pixel_ratio, false) else {
            return false;
        };
        if !areas.is_empty() {
            // Clipped to whole device pixels, so that the edges of the areas blend
            // nothing: what is drawn there is what a whole picture would hold.
            let ratio = self.pixel_ratio;
            let outward = |a: &damage::Area| {
                let (left, top) = (
                    (a.min.x * ratio).floor() / ratio,
                    (a.min.y * ratio).floor() / ratio,
                );
                let (right, bottom) = (
                    (a.max.x * ratio).ceil() / ratio,
                    (a.max.y * ratio).ceil() / ratio,
                );
                (left, top, right - left, bottom - top)
            };
            ctx.save();
            ctx.begin_path();
            for area in &areas {
                let (x, y, w, h) = outward(area);
                ctx.rect(x, y, w, h);
            }
            ctx.clip();
            ctx.clear_rect(0.0, 0.0, width, height);
            replay(&ctx, &damage::within(&commands, &areas));
            ctx.restore();
        }
        self.content = content;
        self.pieces = pieces;
        true
    }
}

/// Whether a picture of `shown` holds all of `viewport` at its very resolution.
fn covers(shown: &Viewport, viewport: &Viewport) -> bool {
    let (outer, inner) = (shown.visible(), viewport.visible());
    shown.resolution == viewport.resolution
        && outer.min.x <= inner.min.x
        && outer.min.y <= inner.min.y
        && inner.max.x <= outer.max.x
        && inner.max.y <= outer.max.y
}
