//! Validated identifiers. Each can only be constructed through `parse` (or serde, which
//! calls it), so a value of these types is always well formed.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Why a string is not a valid identifier; the message is shown to users as is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidId(pub String);

impl fmt::Display for InvalidId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for InvalidId {}

/// Checks `value` against the shared rule of Linli ids: 1 to `max` characters out of
/// lowercase ASCII letters, digits and `-`, starting with a letter or digit.
fn check_slug(kind: &str, value: &str, max: usize) -> Result<(), InvalidId> {
    let ok_chars = value
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if value.is_empty() || value.len() > max || !ok_chars || value.starts_with('-') {
        // Shown, not stored: at most a little more than a valid id, so that a huge
        // value cannot fill a message or a log.
        let mut shown: String = value.chars().take(max + 1).collect();
        if shown.len() < value.len() {
            shown.push('…');
        }
        return Err(InvalidId(format!(
            "{kind} `{shown}` is not valid: use 1 to {max} lowercase letters, digits or '-', not starting with '-'"
        )));
    }
    Ok(())
}

macro_rules! slug_id {
    ($(#[$doc:meta])* $name:ident, $kind:literal, $max:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(value_type = String))]
        pub struct $name(String);

        impl $name {
            /// The longest valid value, in characters (all ASCII).
            pub const MAX_LEN: usize = $max;

            /// Validates `value` and wraps it.
            pub fn parse(value: impl Into<String>) -> Result<Self, InvalidId> {
                let value = value.into();
                check_slug($kind, &value, $max)?;
                Ok(Self(value))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = InvalidId;
            fn try_from(value: String) -> Result<Self, Self::Error> {
                Self::parse(value)
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.pad(&self.0)
            }
        }

        impl std::str::FromStr for $name {
            type Err = InvalidId;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::parse(s)
            }
        }
    };
}

slug_id!(
    /// A community (社区) id: lowercase pinyin such as `xingfuli`.
    CommunityId,
    "community id",
    32
);

slug_id!(
    /// A sign-in name such as `demo-commander` or `demo-grid-xingfuli`.
    Username,
    "username",
    64
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn community_ids_accept_pinyin_and_refuse_everything_else() {
        assert!(CommunityId::parse("xingfuli").is_ok());
        assert!(CommunityId::parse("grid-7").is_ok());
        for bad in [
            "",
            "XingFuLi",
            "幸福里",
            "-x",
            "a b",
            "a/b",
            &"x".repeat(33),
        ] {
            assert!(CommunityId::parse(bad).is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn serde_goes_through_validation() {
        let ok: Username = serde_json::from_str("\"demo-commander\"").unwrap();
        assert_eq!(ok.as_str(), "demo-commander");
        let err = serde_json::from_str::<Username>("\"Robert'); DROP TABLE\"").unwrap_err();
        assert!(err.to_string().contains("username"), "{err}");
    }
}
