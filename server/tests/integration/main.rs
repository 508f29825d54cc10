//! The server's integration tests, one binary (linking the server once instead of once per
//! file): each module is one capability, run against the real server on port 0 with a
//! database of its own, SQLite or PostgreSQL (see [`support`]), a real Mosquitto where MQTT is tested,
//! and the `linli` binary itself for the command line.
//!
//! Run one capability with `cargo test -p linli-server --test integration cases::`.

mod support;

mod access;
mod api;
mod care;
mod cases;
mod cli;
mod cluster;
mod copy;
mod dispatch;
mod drills;
mod export;
mod fuzz;
mod hardening;
mod import;
mod ingest;
mod mqtt;
mod notify;
mod offline;
mod open311;
mod partners;
mod patrols;
mod security;
mod store;
