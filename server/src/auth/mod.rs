//! Who is calling and what they may do.
//!
//! - [`password`]: Argon2id hashing and verification.
//! - [`token`]: session tokens and the session cookie.
//! - [`address`]: the client's address, through trusted proxies.
//! - [`access`]: the access level every route declares and the one middleware that
//!   enforces it, putting the [`access::Caller`] into the request.

pub mod access;
pub mod address;
pub mod password;
pub mod token;
