//! The layers over the base map, bottom to top, as one list ([`OVERLAYS`]) that the
//! map component's frame walks: each turns what the frame knows ([`Frame`]) into draw
//! commands. The base map under them (community tints, roads, buildings, borders) comes
//! from tiles ([`super::canvas::TileCache`], drawn by [`super::layers::draw_all`]).
//!
//! A new layer is one more entry: a function of the frame, in its place in the order.

use super::draw::DrawCommand;
use super::layers::{self, MapData};
use super::markers::{self, Operations, Shown};
use super::projection::Screen;
use super::theme::Palette;
use super::viewport::Viewport;
use linli_domain::api::AreaStatus;

/// What one frame draws over the base map.
#[derive(Debug)]
pub struct Frame<'a> {
    pub data: &'a MapData,
    pub viewport: &'a Viewport,
    pub palette: &'a Palette,
    /// Community names in Chinese (else in English).
    pub chinese: bool,
    /// Homes, alerts, cases, routes and units (staff maps).
    pub operations: &'a Operations,
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

/// Bottom to top.
pub const OVERLAYS: [Overlay; 6] = [
    |f| markers::draw(f.operations, f.viewport, f.shown, f.palette.label_halo),
    |f| markers::alert_rings(f.operations, f.viewport, f.pulse),
    |f| markers::area_circles(f.public_areas, f.viewport),
    |f| {
        f.report_pin
            .map(|at| markers::pin(at).to_vec())
            .unwrap_or_default()
    },
    |f| markers::here_and_destination(f.here, f.destination),
    |f| layers::community_names(&f.data.communities, f.viewport, f.palette, f.chinese),
];

/// Every overlay's commands for `frame`, in order.
pub fn draw(frame: &Frame) -> Vec<DrawCommand> {
    OVERLAYS.iter().flat_map(|overlay| overlay(frame)).collect()
}
