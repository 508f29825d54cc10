//! Sensor readings coming in. So far: [`parse`], the one parser every path (HTTP
//! batches, SenML, MQTT payloads) goes through. Storing readings, the endpoint, MQTT and
//! the rules that turn readings into alerts arrive with the rest of the ingest issue.

pub mod parse;
