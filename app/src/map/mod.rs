//! The map engine.
//!
//! Data flows one way: features in WGS84 are projected once to Web Mercator metres
//! ([`projection`]); a [`viewport::Viewport`] (an immutable value) maps metres to CSS
//! pixels; [`layers`] turn projected features plus a viewport into a list of
//! [`draw::DrawCommand`]s in screen space; [`canvas`] replays that list on a
//! `<canvas>`, the only module that talks to the browser's 2D context (a WebGL backend
//! could replay the same list). The base layers are drawn per [`tiles`] tile into
//! bitmaps kept between frames, so panning and zooming mostly copy bitmaps. [`markers`] adds the operational layers (homes, cases,
//! routes) with [`cluster`]ing. Everything but `canvas` and [`view`] is plain Rust,
//! tested natively.

pub mod canvas;
pub mod cluster;
pub mod draw;
pub mod index;
pub mod layers;
pub mod markers;
pub mod panels;
pub mod projection;
pub mod theme;
pub mod tiles;
pub mod view;
pub mod viewport;

pub use theme::Theme;
pub use view::MapView;
