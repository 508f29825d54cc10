//! Types shared by the Linli server (`linli`) and the browser app.
//!
//! Everything here is plain data with serde: no database, no HTTP framework, no browser
//! API, so it builds for both `wasm32-unknown-unknown` and native targets. Values that
//! have rules (a community id, a username) can only be built valid ("parse, don't
//! validate"): the server and the app both go through the same constructors.
//!
//! - [`access`]: roles, the faces of the app, and who may see which community.
//! - [`api`]: request and response bodies of `/api/v1`, and the JSON error body.
//! - [`geometry`]: plane geometry (areas, centres, containment, distances) for both sides.
//! - [`ids`]: validated identifiers.
//! - [`place`]: the subdistrict's communities as they appear in the layers API.

pub mod access;
pub mod api;
pub mod geometry;
pub mod ids;
pub mod place;

pub use access::{Face, Role};
pub use api::{ErrorBody, ErrorDetail, SessionInfo, SignIn};
pub use ids::{CommunityId, InvalidId, Username};
