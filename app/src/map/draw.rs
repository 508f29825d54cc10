//! Draw commands: what layers produce and backends replay. Screen-space CSS pixels,
//! colours as CSS strings.

use super::projection::Screen;

#[derive(Debug, Clone, PartialEq)]
pub struct Stroke {
    pub colour: &'static str,
    pub width: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub enum DrawCommand {
    /// Closed rings filled with the even-odd rule (so holes stay empty), then stroked.
    Polygon {
        rings: Vec<Vec<Screen>>,
        fill: Option<&'static str>,
        stroke: Option<Stroke>,
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
