//! Replays draw commands on a Canvas 2D context: the only code that draws.

use super::draw::DrawCommand;
use super::projection::Screen;
use web_sys::{CanvasRenderingContext2d, CanvasWindingRule, HtmlCanvasElement};

/// Sizes the canvas backing store for the device pixel ratio (sharp on high-DPI
/// screens) and returns its 2D context, scaled so that commands use CSS pixels.
pub fn prepare(
    canvas: &HtmlCanvasElement,
    width: f64,
    height: f64,
    pixel_ratio: f64,
) -> Option<CanvasRenderingContext2d> {
    let (w, h) = (
        (width * pixel_ratio).round() as u32,
        (height * pixel_ratio).round() as u32,
    );
    if canvas.width() != w || canvas.height() != h {
        canvas.set_width(w);
        canvas.set_height(h);
    }
    use wasm_bindgen::JsCast as _;
    let ctx = canvas
        .get_context("2d")
        .ok()
        .flatten()?
        .dyn_into::<CanvasRenderingContext2d>()
        .ok()?;
    ctx.set_transform(pixel_ratio, 0.0, 0.0, pixel_ratio, 0.0, 0.0)
        .ok()?;
    Some(ctx)
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

/// Clears to `background` and draws `commands` in order.
pub fn replay(
    ctx: &CanvasRenderingContext2d,
    width: f64,
    height: f64,
    background: &str,
    commands: &[DrawCommand],
) {
    ctx.set_fill_style_str(background);
    ctx.fill_rect(0.0, 0.0, width, height);
    ctx.set_line_join("round");
    ctx.set_line_cap("round");
    for command in commands {
        match command {
            DrawCommand::Polygons {
                rings,
                fill,
                stroke,
            } => {
                ctx.begin_path();
                for ring in rings {
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
                for line in lines {
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
                ctx.set_font(&format!(
                    "600 {size_px:.0}px system-ui, 'Noto Sans CJK SC', 'Noto Sans SC', sans-serif"
                ));
                ctx.set_text_align("center");
                ctx.set_text_baseline("middle");
                ctx.set_line_width(4.0);
                ctx.set_stroke_style_str(halo);
                let _ = ctx.stroke_text(text, at.x, at.y);
                ctx.set_fill_style_str(colour);
                let _ = ctx.fill_text(text, at.x, at.y);
            }
        }
    }
}
