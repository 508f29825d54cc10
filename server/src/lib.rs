//! The Linli server, a guided tour.
//!
//! Sensors in elder homes report readings, grid workers and the command centre act on
//! alerts and cases, and every change is pushed to the maps in the browsers. This crate
//! is the server side of that loop; the binary `linli` (see `main.rs`) is a thin shell
//! around [`cli::main`].
//!
//! - [`cli`]: the `linli` command line (`serve`, `user add`, `import`) and its typed settings.
//! - [`startup`]: [`startup::Application`] opens the store, seeds the demo, binds the
//!   port and assembles the HTTP service; tests build it on port 0.
//! - [`listen`]: the accept loop, with the connection cap, header and request time
//!   limits, and a shutdown that ends live streams and does not wait forever.
//! - [`store`]: the [`store::Store`] trait, the only way handlers reach data, with its
//!   SQLite implementation and migrations. Every change writes an event-log row in the
//!   same transaction.
//! - [`auth`]: passwords (Argon2id), session tokens and the access levels every route
//!   declares.
//! - [`sign_in_limits`]: how many failed sign-ins an account and an address may have
//!   (the counts are kept by the store, for every server).
//! - [`http`]: the routes, one module per resource, the generated OpenAPI document, and
//!   the static app with its single-page fallback.
//! - [`error`]: [`error::AppError`], the one error type of the HTTP layer, turned into
//!   the JSON error body; internals are logged, never sent.
//! - [`metrics`]: request counters and latency histograms in Prometheus text format.
//! - [`demo`]: the deterministic demo subdistrict (Tong'an) and its accounts.
//! - [`import`]: `linli import`, base-map layers from GeoJSON files and elder homes
//!   from CSV files, checked whole before one transaction stores them.
//! - [`ingest`]: sensor readings coming in: the one parser for JSON batches, SenML and
//!   MQTT payloads.
//! - [`reading`]: a checked reading, as the parser makes it and rules and store take it.
//! - [`engine`]: the rules engine, the one writer of readings and alerts: group commits
//!   readings with the alerts they cause, runs the time-based rules, keeps a checkpoint.
//! - [`mqtt`]: readings through an MQTT broker (persistent session, QoS 1, acknowledged
//!   once stored).
//! - [`dynsec`]: the broker's accounts for devices and gateways (Mosquitto's
//!   dynamic-security plugin), and `linli mqtt broker-config`.
//! - [`alerts`]: the alert book: signals and people's actions become alert changes.
//! - [`live`]: the event log as it grows, handed to the live streams.
//! - [`notify`]: alarms reach people: channels (WeCom, DingTalk, Feishu, webhook, SMS),
//!   the duty roster's escalation chain, and a durable outbox.
//! - [`rules`]: the sensor rules, pure functions of a home's state, a reading or the time.
//! - [`simulate`]: the sensor simulator (`serve --simulate`, `linli simulate`), also the
//!   load generator of `make bench`.
//! - [`clock`]: the current time, read in one place.

pub mod alerts;
pub mod auth;
pub mod cli;
pub mod clock;
pub mod cluster;
pub mod demo;
pub mod dynsec;
pub mod engine;
pub mod error;
pub mod export;
pub mod http;
pub mod import;
pub mod ingest;
pub mod listen;
pub mod live;
pub mod metrics;
pub mod mqtt;
pub mod notify;
pub mod photos;
pub mod places;
pub mod reading;
pub mod rules;
pub mod sign_in_limits;
pub mod simulate;
pub mod startup;
pub mod store;
