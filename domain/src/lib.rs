//! Types shared by the Linli server (`linli`) and the browser app.
//!
//! Everything here is plain data with serde: no database, no HTTP framework, no browser
//! API, so it builds for both `wasm32-unknown-unknown` and native targets. Values that
//! have rules (a community id, a username) can only be built valid ("parse, don't
//! validate"): the server and the app both go through the same constructors.
//!
//! - [`access`]: roles, the faces of the app, and who may see which community.
//! - [`alerts`]: alerts raised by the sensor rules and their lifecycle.
//! - [`api`]: request and response bodies of `/api/v1`, and the JSON error body.
//! - [`compact`]: the compact binary form of a layer, for the app.
//! - [`drill`]: drills (应急演练) that raise marked alerts on demand.
//! - [`events`]: the event log's kinds and the live stream's payloads.
//! - [`care`]: elder homes and their sensors (staff only: personal data).
//! - [`cases`]: residents' problems and the stages of the article's case loop.
//! - [`geometry`]: areas, centres, containment and distances for both sides, by `geo`.
//! - [`ids`]: validated identifiers.
//! - [`limits`]: how long the texts people write may be.
//! - [`patrol`]: patrol routes and checkpoints.
//! - [`place`]: the base map as the layers API serves it (GeoJSON).
//! - [`time`]: [`Timestamp`], every moment on the wire.

/// A fieldless enum with a fixed text name per variant: serde uses the name, `as_str`
/// and `parse` convert, `ALL` lists the variants in order.
macro_rules! named_enum {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, ::serde::Serialize, ::serde::Deserialize)]
        pub enum $name {
            $($(#[$vdoc])* #[serde(rename = $text)] $variant),+
        }

        // By hand: the derive does not see `rename` through the macro and would
        // describe the Rust names (`Closed`) instead of the wire's (`closed`).
        #[cfg(feature = "openapi")]
        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                utoipa::openapi::schema::ObjectBuilder::new()
                    .schema_type(utoipa::openapi::schema::Type::String)
                    .enum_values(Some([$($text),+]))
                    .into()
            }
        }

        #[cfg(feature = "openapi")]
        impl utoipa::ToSchema for $name {}

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            pub fn parse(value: &str) -> Option<$name> {
                Self::ALL.iter().copied().find(|v| v.as_str() == value)
            }
        }

        // For readers that take a type from its text (the server's database rows).
        impl TryFrom<String> for $name {
            type Error = crate::UnknownName;
            fn try_from(value: String) -> Result<Self, Self::Error> {
                Self::parse(&value).ok_or(crate::UnknownName {
                    kind: stringify!($name),
                    value,
                })
            }
        }
    };
}

pub mod access;
pub mod alerts;
pub mod api;
pub mod care;
pub mod cases;
pub mod compact;
pub mod dispatch;
pub mod drill;
pub mod events;
pub mod geometry;
pub mod ids;
pub mod limits;
pub mod notify;
pub mod patrol;
pub mod place;
pub mod time;

/// A text that names none of a named enum's variants.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {kind} `{value}`")]
pub struct UnknownName {
    pub kind: &'static str,
    pub value: String,
}

pub use access::{Face, Role};
pub use api::{ErrorBody, ErrorDetail, SessionInfo, SignIn};
pub use ids::{CommunityId, InvalidId, Username};
pub use time::Timestamp;
