//! Replays draw commands on a Canvas 2D context, and keeps pictures between frames:
//! the base map's tiles ([`TileCache`]), the base map at the view's resolution while
//! it pans ([`BasePicture`]), and the still overlays over it ([`StillCache`]). The
//! only code that draws.

use super::damage::{self, Piece};
use super::draw::DrawCommand;
use super::projection::{Screen, World};
use super::tiles::{self, TileKey, TILE_MARGIN_PX, TILE_PX};
use super::viewport::Viewport;
use std::collections::{BTreeSet, HashMap, VecDeque};

/// What draws a layer's commands for a viewport. Taken as a trait object, so that the
/// long functions that use it are compiled once (the app's download counts).
pub type DrawList<'a> = dyn FnMut(&Viewport) -> Vec<DrawCommand> + 'a;
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
        draw_list: &mut DrawList,
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
        if !painting {
            let one_at_least = !snapshot_is_view;
            self.draw_missing(
                &needed,
                one_at_least,
                started,
                pixel_ratio,
                background,
                draw_list,
            );
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

    /// Draws the tiles of `needed` not drawn yet, in order, until [`TILE_BUDGET_MS`]
    /// since `started` is spent (after one tile at least, if `one_at_least`).
    fn draw_missing(
        &mut self,
        needed: &[TileKey],
        one_at_least: bool,
        started: f64,
        pixel_ratio: f64,
        background: &str,
        draw_list: &mut DrawList,
    ) {
        let mut drawn = 0;
        for key in needed {
            if self.tiles.contains_key(key) {
                continue;
            }
            if (drawn > 0 || !one_at_least) && now_ms() - started > TILE_BUDGET_MS {
                break;
            }
            let tile_view = key.viewport();
            if let Some(canvas) = paint(&tile_view, pixel_ratio, background, &draw_list(&tile_view))
            {
                self.tiles.insert(*key, (canvas, self.frame));
            }
            drawn += 1;
        }
    }

    /// Draws missing tiles of `viewport` for a frame's budget (one at least), and
    /// answers whether all of them are drawn now.
    fn fill(
        &mut self,
        viewport: &Viewport,
        pixel_ratio: f64,
        background: &str,
        draw_list: &mut DrawList,
    ) -> bool {
        let needed = tiles::covering(viewport);
        self.draw_missing(&needed, true, now_ms(), pixel_ratio, background, draw_list);
        let mut all = true;
        for key in &needed {
            match self.tiles.get_mut(key) {
                // In use: kept when others are let go.
                Some((_, used)) => *used = self.frame,
                None => all = false,
            }
        }
        all
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

/// The base map at the view's own resolution, a margin larger than the view, kept
/// while the view pans at one resolution. Tiles are drawn at their level's resolution,
/// and scaling them to the view's is a cost per frame that Chromium without a GPU pays
/// in software on the page's main thread (a micro-page, 2026-12-03: 7.3 ms to lay a
/// screen of scaled tiles, 0.5 ms to copy a picture pixel for pixel).
///
/// The picture wraps around: the map is an endless plane of device pixels, and the
/// canvas holds a window of it, each pixel at its position modulo the canvas's size.
/// When the view pans towards the window's edge, the window moves along by drawing
/// only the strips that come into it, from the tiles, over the strips that left it;
/// nothing is copied. The view is laid from at most four parts of the canvas. A zoom,
/// new data, or a tile still missing leaves the frame to the tiles.
#[derive(Default)]
pub struct BasePicture {
    picture: Option<Wrapped>,
    /// The view of the frame before.
    last: Option<Viewport>,
    /// The view has panned since it last zoomed.
    panned: bool,
    /// Tiles of the picture's window are still to be drawn: draw another frame.
    pub waiting: bool,
}

/// A picture that wraps around; positions on the plane in whole device pixels.
struct Wrapped {
    canvas: HtmlCanvasElement,
    /// The world point at the plane's (0, 0), and the plane's resolution.
    origin: World,
    resolution: f64,
    pixel_ratio: f64,
    /// What it shows (the tiles' content stamp).
    content: u64,
    /// The canvas's size, device pixels.
    size: (i64, i64),
    /// The top left corner of the window it holds, on the plane.
    window: (i64, i64),
}

/// A rectangle on the plane or on a canvas, device pixels: left, top, width, height.
type PixelRect = (i64, i64, i64, i64);

impl Wrapped {
    /// Where the top left corner of `viewport` lies on the plane, to the nearest
    /// device pixel.
    fn corner_of(&self, viewport: &Viewport) -> (i64, i64) {
        let corner = viewport.to_world(Screen { x: 0.0, y: 0.0 });
        let k = self.pixel_ratio / self.resolution;
        (
            ((corner.x - self.origin.x) * k).round() as i64,
            ((self.origin.y - corner.y) * k).round() as i64,
        )
    }

    /// Whether the window holds the plane's rectangle `rect`.
    fn holds(&self, (x, y, w, h): PixelRect) -> bool {
        let (left, top) = self.window;
        left <= x && top <= y && x + w <= left + self.size.0 && y + h <= top + self.size.1
    }

    /// Draws the plane's rectangle `rect` on the canvas from `tiles` (all drawn).
    fn draw_from_tiles(
        &self,
        rect: PixelRect,
        tiles: &mut TileCache,
        background: &str,
        draw_list: &mut DrawList,
    ) {
        let Some(ctx) = self
            .canvas
            .get_context_with_context_options("2d", &OPAQUE.with(Clone::clone))
            .ok()
            .flatten()
            .and_then(|c| c.dyn_into::<CanvasRenderingContext2d>().ok())
        else {
            return;
        };
        let k = self.pixel_ratio;
        for ((cx, cy, cw, ch), (ox, oy)) in parts(rect, self.size) {
            // The part as a view of its own, drawn with its corner at the part's.
            let (px, py) = ((rect.0 + ox) as f64 / k, (rect.1 + oy) as f64 / k);
            let (width, height) = (cw as f64 / k, ch as f64 / k);
            let part = Viewport {
                centre: World {
                    x: self.origin.x + (px + width / 2.0) * self.resolution,
                    y: self.origin.y - (py + height / 2.0) * self.resolution,
                },
                resolution: self.resolution,
                width,
                height,
            };
            let _ = ctx.set_transform(k, 0.0, 0.0, k, cx as f64, cy as f64);
            ctx.save();
            ctx.begin_path();
            ctx.rect(0.0, 0.0, width, height);
            ctx.clip();
            tiles.draw_base(&ctx, &part, k, background, draw_list);
            ctx.restore();
        }
    }

    /// Lays the plane's rectangle at `corner` of the view's size on `ctx`.
    fn lay(&self, ctx: &CanvasRenderingContext2d, corner: (i64, i64), viewport: &Viewport) {
        let k = self.pixel_ratio;
        let size = device_size(viewport, k);
        for ((cx, cy, cw, ch), (ox, oy)) in parts((corner.0, corner.1, size.0, size.1), self.size) {
            let px = |v: i64| v as f64;
            let _ = ctx
                .draw_image_with_html_canvas_element_and_sw_and_sh_and_dx_and_dy_and_dw_and_dh(
                    &self.canvas,
                    px(cx),
                    px(cy),
                    px(cw),
                    px(ch),
                    px(ox) / k,
                    px(oy) / k,
                    px(cw) / k,
                    px(ch) / k,
                );
        }
    }
}

/// The size of `viewport` in whole device pixels.
fn device_size(viewport: &Viewport, pixel_ratio: f64) -> (i64, i64) {
    (
        (viewport.width * pixel_ratio).round() as i64,
        (viewport.height * pixel_ratio).round() as i64,
    )
}

/// The plane's rectangle `rect` (no larger than `size`) on a canvas of `size` that
/// wraps around: (the part of the canvas, where that part starts within `rect`).
fn parts((x, y, w, h): PixelRect, size: (i64, i64)) -> Vec<(PixelRect, (i64, i64))> {
    let split = |start: i64, length: i64, size: i64| {
        let at = start.rem_euclid(size);
        let first = length.min(size - at);
        let mut out = vec![(at, first, 0)];
        if first < length {
            out.push((0, length - first, first));
        }
        out
    };
    let mut out = Vec::with_capacity(4);
    for (cx, cw, ox) in split(x, w, size.0) {
        for &(cy, ch, oy) in &split(y, h, size.1) {
            out.push(((cx, cy, cw, ch), (ox, oy)));
        }
    }
    out
}

/// The plane's rectangles in `new` and not in `old` (windows of one size): the strips
/// a moved window must draw.
fn strips(old: PixelRect, new: PixelRect) -> Vec<PixelRect> {
    let ((ox, oy, w, h), (nx, ny, ..)) = (old, new);
    if (nx - ox).abs() >= w || (ny - oy).abs() >= h {
        return vec![new];
    }
    let mut out = Vec::new();
    match nx.cmp(&ox) {
        std::cmp::Ordering::Less => out.push((nx, ny, ox - nx, h)),
        std::cmp::Ordering::Greater => out.push((ox + w, ny, nx - ox, h)),
        std::cmp::Ordering::Equal => {}
    }
    match ny.cmp(&oy) {
        std::cmp::Ordering::Less => out.push((nx, ny, w, oy - ny)),
        std::cmp::Ordering::Greater => out.push((nx, oy + h, w, ny - oy)),
        std::cmp::Ordering::Equal => {}
    }
    out
}

/// How far the view may move from the middle of the picture's window before the
/// window moves along, CSS pixels: it then draws strips about this wide.
const TRAVEL_PX: f64 = MARGIN_PX * 0.75;

impl BasePicture {
    /// Lays the base map for `viewport` on `ctx` from the picture of what `tiles`
    /// show, first making the picture or moving its window when the view pans. False,
    /// with nothing drawn, when the frame is to be drawn from `tiles` (they are given a
    /// frame's budget to fill in the window first when that is all it waits for).
    pub fn draw(
        &mut self,
        ctx: &CanvasRenderingContext2d,
        viewport: &Viewport,
        pixel_ratio: f64,
        tiles: &mut TileCache,
        background: &str,
        draw_list: &mut DrawList,
    ) -> bool {
        let last = self.last.replace(*viewport);
        let panning = last.is_some_and(|l| {
            l.resolution == viewport.resolution
                && (l.width, l.height) == (viewport.width, viewport.height)
        });
        let larger = with_margin(viewport);
        let size = device_size(&larger, pixel_ratio);
        let stale = |p: &Wrapped| {
            p.content != tiles.content
                || p.resolution != viewport.resolution
                || p.pixel_ratio != pixel_ratio
                || p.size != size
        };
        if !panning || self.picture.as_ref().is_some_and(stale) {
            self.picture = None;
        }
        // Made only once the view pans: a map that stands still (loading, say) is
        // drawn once and needs no picture.
        self.panned = panning && (self.panned || last.is_some_and(|l| l.centre != viewport.centre));
        self.waiting = false;
        if !self.panned {
            return false;
        }
        let view_size = device_size(viewport, pixel_ratio);
        let margin = (MARGIN_PX * pixel_ratio).round() as i64;
        let travel = (TRAVEL_PX * pixel_ratio).round() as i64;
        let wanted_window =
            |corner: (i64, i64)| (corner.0 - margin, corner.1 - margin, size.0, size.1);
        let settled = self.picture.as_ref().is_some_and(|p| {
            let (x, y) = p.corner_of(viewport);
            p.holds((
                x - margin + travel,
                y - margin + travel,
                view_size.0 + 2 * (margin - travel),
                view_size.1 + 2 * (margin - travel),
            ))
        });
        if !settled {
            let _moving = crate::timing::Measure::start("linli: base picture moved");
            // The tiles of the whole window, all drawn, before any of them is used.
            self.waiting = !tiles.fill(&larger, pixel_ratio, background, draw_list);
            if self.waiting {
                return self.picture.as_ref().is_some_and(|p| {
                    let (x, y) = p.corner_of(viewport);
                    p.holds((x, y, view_size.0, view_size.1)) && {
                        p.lay(ctx, (x, y), viewport);
                        true
                    }
                });
            }
            if self.picture.is_none() {
                let Some(canvas) = offscreen() else {
                    return false;
                };
                if prepare_picture(&canvas, &larger, pixel_ratio, true).is_none() {
                    return false;
                }
                let origin = larger.to_world(Screen { x: 0.0, y: 0.0 });
                self.picture = Some(Wrapped {
                    canvas,
                    origin,
                    resolution: viewport.resolution,
                    pixel_ratio,
                    content: tiles.content,
                    size,
                    // Nothing held yet: a window far away.
                    window: (i64::MIN / 4, i64::MIN / 4),
                });
            }
            let Some(p) = self.picture.as_mut() else {
                return false;
            };
            let new = wanted_window(p.corner_of(viewport));
            let old = (p.window.0, p.window.1, size.0, size.1);
            for strip in strips(old, new) {
                p.draw_from_tiles(strip, tiles, background, draw_list);
            }
            p.window = (new.0, new.1);
        }
        match &self.picture {
            Some(p) => {
                p.lay(ctx, p.corner_of(viewport), viewport);
                true
            }
            None => false,
        }
    }
}

/// Where the top left corner of a picture of `shown` lies on the screen of
/// `viewport`, on the nearest whole device pixel.
fn corner_on(shown: &Viewport, viewport: &Viewport, pixel_ratio: f64) -> Screen {
    let corner = viewport.to_screen(shown.to_world(Screen { x: 0.0, y: 0.0 }));
    Screen {
        x: (corner.x * pixel_ratio).round() / pixel_ratio,
        y: (corner.y * pixel_ratio).round() / pixel_ratio,
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
    let at = match pixel_ratio {
        Some(ratio) => corner_on(shown, viewport, ratio),
        None => viewport.to_screen(shown.to_world(Screen { x: 0.0, y: 0.0 })),
    };
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
        draw_list: &mut DrawList,
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
            // Out to whole device pixels, so that the clip's edges blend nothing: what
            // is drawn there is what a whole picture would hold. The same areas choose
            // what is drawn again, so nothing the clip clears is left out.
            let ratio = self.pixel_ratio;
            let outward = |a: &damage::Area| damage::Area {
                min: Screen {
                    x: (a.min.x * ratio).floor() / ratio,
                    y: (a.min.y * ratio).floor() / ratio,
                },
                max: Screen {
                    x: (a.max.x * ratio).ceil() / ratio,
                    y: (a.max.y * ratio).ceil() / ratio,
                },
            };
            let areas: Vec<damage::Area> = areas.iter().map(outward).collect();
            ctx.save();
            ctx.begin_path();
            for a in &areas {
                ctx.rect(a.min.x, a.min.y, a.max.x - a.min.x, a.max.y - a.min.y);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rectangle_of_the_plane_lies_on_a_wrapping_canvas_in_up_to_four_parts() {
        let size = (100, 50);
        // Within the canvas: one part.
        assert_eq!(
            parts((210, 60, 30, 20), size),
            vec![((10, 10, 30, 20), (0, 0))]
        );
        // Across both edges, from below the plane's zero too: four parts that tile
        // the rectangle and the canvas once each.
        let four = parts((-20, 40, 100, 50), size);
        assert_eq!(
            four,
            vec![
                ((80, 40, 20, 10), (0, 0)),
                ((80, 0, 20, 40), (0, 10)),
                ((0, 40, 80, 10), (20, 0)),
                ((0, 0, 80, 40), (20, 10)),
            ]
        );
        let area: i64 = four.iter().map(|((_, _, w, h), _)| w * h).sum();
        assert_eq!(area, 100 * 50);
    }

    #[test]
    fn a_moved_window_draws_only_what_came_into_it() {
        let old = (0, 0, 100, 50);
        assert_eq!(strips(old, old), vec![]);
        // Right by 10 and up by 5: a column on the right, a row on top.
        assert_eq!(
            strips(old, (10, -5, 100, 50)),
            vec![(100, -5, 10, 50), (10, -5, 100, 5)]
        );
        assert_eq!(
            strips(old, (-3, 7, 100, 50)),
            vec![(-3, 7, 3, 50), (-3, 50, 100, 7)]
        );
        // Further than its size: all of it.
        assert_eq!(strips(old, (100, 0, 100, 50)), vec![(100, 0, 100, 50)]);
    }
}
