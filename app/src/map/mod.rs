//! The map engine.
//!
//! Data flows one way: features in WGS84 are projected once to Web Mercator metres
//! ([`projection`]); a [`viewport::Viewport`] (an immutable value) maps metres to CSS
//! pixels; [`layers`] turn projected features plus a viewport into a list of
//! [`draw::DrawCommand`]s in screen space; [`canvas`] replays that list on a
//! `<canvas>`, the only module that talks to the browser's 2D context (a WebGL backend
//! could replay the same list). The base layers are drawn per [`tiles`] tile into
//! bitmaps kept between frames, so panning and zooming mostly copy bitmaps. [`markers`]
//! adds the operational layers (homes, cases, routes) with [`cluster`]ing. The
//! [`gesture`] controller turns pointers, wheel and keys into changes of the view.
//! Everything but `canvas` is plain Rust, tested natively.
//!
//! The engine knows nothing of the app around it (no session, stream or face): the
//! component that puts it on a page, [`crate::faces::map_view::MapView`], and the
//! panels it opens live with the faces.

pub mod canvas;
pub mod cluster;
pub mod draw;
pub mod gesture;
pub mod index;
pub mod layers;
pub mod markers;
pub mod projection;
pub mod theme;
pub mod tiles;
pub mod viewport;

pub use theme::Theme;
