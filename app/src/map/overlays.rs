//! The layers over the base map, bottom to top, as two lists that the map component's
//! frame walks: each turns what the frame knows ([`Frame`]) into draw commands. The
//! still ones ([`STILL`]: homes, cases, routes, units, community names) change only
//! with the data and are kept as one picture between their changes
//! ([`super::canvas::StillCache`]); the moving ones ([`MOVING`]: alert rings that pulse,
//! the report pin, the worker's own position) are drawn every frame over them. The base
//! map under both (community tints, roads, buildings, borders) comes from tiles
//! ([`super::canvas::TileCache`], drawn by [`super::layers::draw_all`]).
//!
//! A new layer is one more entry: a function of the frame, in its place in the order
//! and in the list that says how often it changes. A still layer may use only what
//! [`Frame::still_inputs`] lists.

use super::draw::DrawCommand;
use super::layers::{self, MapData};
use super::markers::{self, Operations, Shown};
use super::projection::Screen;
use super::theme::Palette;
use super::viewport::Viewport;
use linli_domain::api::AreaStatus;

/// What one frame draws over the base map.
#[derive(Debug, Clone, Copy)]
pub struct Frame<'a> {
    pub data: &'a MapData,
    pub viewport: &'a Viewport,
    pub palette: &'a Palette,
    /// Community names in Chinese (else in English).
    pub chinese: bool,
    /// Homes, alerts, cases, routes and units (staff maps).
    pub operations: &'a Operations,
    /// Changes whenever `operations` or `public_areas` do (the still layers' picture
    /// depends on them).
    pub operations_version: u64,
    pub shown: Shown,
    /// Where the rings of open alerts are in their pulse, 0 to 1.
    pub pulse: f64,
    /// The public page's coarse cells of cases.
    pub public_areas: &'a [AreaStatus],
    /// Where a case is being reported, on screen.
    pub report_pin: Option<Screen>,
    /// Where the device is, and where its user is heading, on screen.
    pub here: Option<Screen>,
    pub destination: Option<Screen>,
}

/// One layer over the base map.
pub type Overlay = fn(&Frame) -> Vec<DrawCommand>;

/// The layers that change only with the data, bottom to top.
pub const STILL: [Overlay; 3] = [
    |f| markers::draw(f.operations, f.viewport, f.shown, f.palette.label_halo),
    |f| markers::area_circles(f.public_areas, f.viewport),
    |f| layers::community_names(&f.data.communities, f.viewport, f.palette, f.chinese),
];

/// The layers that move from frame to frame, bottom to top, over the still ones.
pub const MOVING: [Overlay; 3] = [
    |f| markers::alert_rings(f.operations, f.viewport, f.pulse),
    |f| {
        f.report_pin
            .map(|at| markers::pin(at).to_vec())
            .unwrap_or_default()
    },
    |f| markers::here_and_destination(f.here, f.destination),
];

impl Frame<'_> {
    /// The commands of `layers` for this frame, in order.
    pub fn draw(&self, layers: &[Overlay]) -> Vec<DrawCommand> {
        layers.iter().flat_map(|layer| layer(self)).collect()
    }

    /// The commands of the still layers for `viewport` instead of the frame's own.
    pub fn draw_still(&self, viewport: &Viewport) -> Vec<DrawCommand> {
        Frame { viewport, ..*self }.draw(&STILL)
    }

    /// What the still layers show besides the view and the base layers (the
    /// community names come with those): the picture of them is drawn again when it
    /// changes.
    pub fn still_inputs(&self) -> (u64, Shown, bool, Palette) {
        (
            self.operations_version,
            self.shown,
            self.chinese,
            *self.palette,
        )
    }
}
