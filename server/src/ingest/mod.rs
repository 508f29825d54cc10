//! Sensor readings coming in: [`parse`], the one parser every path (HTTP batches,
//! SenML, MQTT payloads) goes through, and [`dedup`], which tells a reading sent again
//! from a new one. The engine (`crate::engine`) stores them and runs the rules.

pub mod dedup;
pub mod parse;
