//! Draw commands: what layers produce and backends replay. Screen-space CSS pixels,
//! colours as CSS strings. One command may carry many shapes of one style, so a layer
//! of thousands of buildings is one fill and one stroke.

use super::projection::Screen;

#[derive(Debug, Clone, PartialEq)]
pub struct Stroke {
    pub colour: &'static str,
    pub width: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub enum DrawCommand {
    /// Closed rings filled together with the even-odd rule (so holes stay empty), then
    /// stroked.
    Polygons {
        rings: Vec<Vec<Screen>>,
        fill: Option<&'static str>,
        stroke: Option<Stroke>,
    },
    /// Circles of one size and style.
    Circles {
        centres: Vec<Screen>,
        radius: f64,
        fill: Option<&'static str>,
        stroke: Option<Stroke>,
    },
    /// Open polylines, stroked with round joins and caps.
    Lines {
        lines: Vec<Vec<Screen>>,
        stroke: Stroke,
    },
    /// A label centred on `at`, with a halo so it reads on any background.
    Label {
        at: Screen,
        text: String,
        size_px: f64,
        colour: &'static str,
        halo: &'static str,
    },
}
