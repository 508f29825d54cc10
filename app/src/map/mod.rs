//! The map engine.
//!
//! Data flows one way: features in WGS84 are projected once to Web Mercator metres
//! ([`projection`]); a [`viewport::Viewport`] (an immutable value) maps metres to CSS
//! pixels; [`layers`] turn projected features plus a viewport into a list of
//! [`draw::DrawCommand`]s in screen space; [`canvas`] replays that list on a
//! `<canvas>`, the only module that talks to the browser's 2D context (a WebGL backend
//! could replay the same list). The base layers are drawn per [`tiles`] tile into
//! bitmaps kept between frames, so panning and zooming mostly copy bitmaps. [`markers`]
//! adds the operational layers (homes, cases, routes) with [`cluster`]ing; [`overlays`]
//! lists every layer over the base map in the order a frame draws them. The
//! [`gesture`] controller turns pointers, wheel and keys into changes of the view.
//! Everything but `canvas` is plain Rust, tested natively.
//!
//! The engine knows nothing of the app around it (no session, stream or face): the
//! component that puts it on a page, [`crate::faces::map_view::MapView`], and the
//! panels it opens live with the faces.
//!
//! Why an engine of its own rather than a map library: on the 100,000-building
//! workload of TARGETS.md, in the same headless Chromium (`make bench`, 2026-11-27,
//! medians of 3 runs, README "Benchmarks"), this engine loaded in 903 ms, fitted in
//! 10 ms, kept panning at 16.8 ms worst and held 68 MB of heap; Leaflet 1.9.4's canvas
//! renderer took 3094 ms, 1738 ms, 883 ms and 897 MB. The geometry it shares with the
//! server is `geo`'s (through `linli_domain::geometry`).

pub mod canvas;
pub mod cluster;
pub mod damage;
pub mod draw;
pub mod frame;
pub mod gesture;
pub mod index;
pub mod layers;
pub mod markers;
pub mod overlays;
pub mod packed;
pub mod projection;
pub mod theme;
pub mod tiles;
pub mod viewport;

pub use theme::Theme;
