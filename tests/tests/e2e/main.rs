//! End-to-end tests, one binary (linking once instead of once per file): the real `linli`
//! binary started as a user starts it, driven over HTTP and MQTT and through headless
//! Chromium (see the `linli_tests` library). Each module is one area; the `journey_*`
//! tests walk ../shared/docs/JOURNEYS.md step by step.
//!
//! Run one area with `cargo test -p linli-tests --test e2e map::`.

use std::time::Duration;

/// How long a test waits for what a user would see appear.
const WAIT: Duration = Duration::from_secs(20);

mod alerts;
mod browser;
mod dispatch;
mod hardening;
mod map;
mod notify;
mod panels;
mod reliability;
