//! MQTT ingest: readings published to `linli/sensors/{device_id}/up` (QoS 1) through a
//! broker such as Mosquitto.
//!
//! Linli subscribes with a shared subscription (`$share/linli/…`), over a few
//! connections, so that the broker spreads messages over them and over several server
//! instances. Each message goes through the same parser and rules engine as the HTTP
//! endpoint, and is acknowledged to the broker (PUBACK, in the order received, as MQTT
//! asks) only once its readings are committed. Sessions are persistent, so what arrives
//! while Linli restarts waits at the broker; a lost connection is retried with back-off
//! up to a few seconds, and unacknowledged messages come again (and count as duplicates
//! if they were stored).
//!
//! A message's readings are taken as sent by the device its topic names, as if with
//! that device's token over HTTP: a reading of another device in the payload, or of an
//! unknown or revoked device, is refused by its index while the others are stored.
//! That the topic's device is who published is the broker's to enforce: with the
//! accounts of `linli mqtt broker-config` (`crate::dynsec`) it is; Linli warns when it
//! connects to a broker without an account of its own. A
//! message of which nothing can be stored is logged, counted and acknowledged, so that
//! it does not come back forever.

use crate::clock::now_ms;
use crate::engine::{Accepted, EngineHandle, IngestError, Source};
use crate::ingest::parse::{parse, Batch, Encoding};
use crate::metrics::Metrics;
use rumqttc::{AsyncClient, Event, MqttOptions, Packet, Publish, QoS};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

/// What Linli subscribes to.
pub const SUBSCRIPTION: &str = "$share/linli/linli/sensors/+/up";
/// Connections sharing the subscription.
const CONNECTIONS: usize = 4;
/// Requests (acknowledgements, subscriptions) queued for a connection's event loop.
const REQUESTS: usize = 4_096;
/// The longest wait between reconnection attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(2);
/// Messages above this are parsed off the async threads.
const PARSE_INLINE_MAX: usize = 64 * 1024;
/// Largest message accepted (a batch of 10,000 readings fits).
const MAX_MESSAGE: usize = 4 * 1024 * 1024;

/// A broker address: `mqtt://[user:password@]host[:port]` (port 1883 when left out).
/// The user and password (percent-encoded where they hold `:`, `@` or `/`) are the
/// credentials Linli logs in with, e.g. those `linli mqtt broker-config` printed.
#[derive(Clone, PartialEq, Eq)]
pub struct MqttUrl {
    pub host: String,
    pub port: u16,
    pub credentials: Option<(String, String)>,
}

/// Decodes `%XX` escapes; `None` when one is broken.
fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = text.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

impl std::str::FromStr for MqttUrl {
    type Err = String;

    fn from_str(url: &str) -> Result<Self, Self::Err> {
        // The URL may hold a password: messages never repeat it.
        let bad = || {
            "not an MQTT URL: use mqtt://HOST:PORT or mqtt://USER:PASSWORD@HOST:PORT, e.g. mqtt://127.0.0.1:1883"
                .to_string()
        };
        if url.starts_with("mqtts://") {
            return Err(
                "TLS to the broker (mqtts://) is not built yet; reach the broker over a \
                 trusted network or a TLS tunnel (stunnel, a VPN) with mqtt://"
                    .into(),
            );
        }
        let rest = url.strip_prefix("mqtt://").ok_or_else(bad)?;
        let rest = rest.trim_end_matches('/');
        let (credentials, rest) = match rest.rsplit_once('@') {
            Some((userinfo, rest)) => {
                let (user, password) = userinfo.split_once(':').ok_or_else(bad)?;
                let user = percent_decode(user)
                    .filter(|u| !u.is_empty())
                    .ok_or_else(bad)?;
                let password = percent_decode(password).ok_or_else(bad)?;
                (Some((user, password)), rest)
            }
            None => (None, rest),
        };
        let (host, port) = match rest.rsplit_once(':') {
            Some((host, port)) => (host, port.parse().map_err(|_| bad())?),
            None => (rest, 1883),
        };
        if host.is_empty() || host.contains('/') || port == 0 {
            return Err(bad());
        }
        Ok(MqttUrl {
            host: host.to_string(),
            port,
            credentials,
        })
    }
}

impl MqttUrl {
    /// Connection options for a client of this broker, logged in when the URL says so.
    pub fn options(&self, client_id: impl Into<String>) -> MqttOptions {
        let mut options = MqttOptions::new(client_id, self.host.clone(), self.port);
        if let Some((user, password)) = &self.credentials {
            options.set_credentials(user.clone(), password.clone());
        }
        options
    }
}

/// Never shows the password.
impl std::fmt::Display for MqttUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.credentials {
            Some((user, _)) => write!(f, "mqtt://{user}:***@{}:{}", self.host, self.port),
            None => write!(f, "mqtt://{}:{}", self.host, self.port),
        }
    }
}

impl std::fmt::Debug for MqttUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(self, f)
    }
}

/// How many connections are subscribed right now (for `/readyz`).
#[derive(Debug, Default)]
pub struct MqttStatus {
    subscribed: [std::sync::atomic::AtomicBool; CONNECTIONS],
}

impl MqttStatus {
    pub fn subscribed(&self) -> usize {
        self.subscribed
            .iter()
            .filter(|s| s.load(Ordering::SeqCst))
            .count()
    }
}

/// Starts the subscribing connections; they run until the process ends.
pub fn start(url: &MqttUrl, engine: EngineHandle, metrics: Arc<Metrics>) -> Arc<MqttStatus> {
    if url.credentials.is_none() {
        tracing::warn!(
            "{url} without an account: unless the broker checks who publishes, anyone who \
             reaches it can send readings for any device (see `linli mqtt broker-config`)"
        );
    }
    let status = Arc::new(MqttStatus::default());
    for n in 0..CONNECTIONS {
        tokio::spawn(consume(
            url.clone(),
            n,
            engine.clone(),
            metrics.clone(),
            status.clone(),
        ));
    }
    status
}

/// The topic a device publishes on: `linli/sensors/{device}/up`.
pub fn device_topic(device: &str) -> String {
    format!("linli/sensors/{device}/up")
}

/// The device a topic names: `linli/sensors/{device}/up`.
fn topic_device(topic: &str) -> Option<&str> {
    topic
        .strip_prefix("linli/sensors/")?
        .strip_suffix("/up")
        .filter(|d| !d.contains('/'))
}

/// Reads a message: the device its topic names and its readings, those of another
/// device refused.
fn readings_of(publish: &Publish) -> Result<(String, Batch), String> {
    let device = topic_device(&publish.topic)
        .ok_or_else(|| format!("`{}` is not linli/sensors/<device>/up", publish.topic))?;
    let first = publish.payload.iter().find(|b| !b.is_ascii_whitespace());
    let encoding = if first == Some(&b'[') {
        Encoding::SenMl
    } else {
        Encoding::Json
    };
    let mut batch = parse(&publish.payload, encoding, now_ms()).map_err(|e| e.to_string())?;
    batch.refuse_where(|r| {
        (r.device != device).then(|| {
            format!(
                "the reading is of device `{}` but was published on the topic of `{device}`",
                r.device
            )
        })
    });
    Ok((device.to_string(), batch))
}

/// Stores one message's readings, waiting for the store as long as it takes; whether
/// any were stored (`false`: refused for good, acknowledge and forget).
async fn store(publish: &Publish, engine: &EngineHandle, metrics: &Metrics) -> bool {
    let refused = |why: &dyn std::fmt::Display| {
        tracing::warn!(topic = %publish.topic, "MQTT message refused: {why}");
        metrics.count("linli_mqtt_messages_total", "refused");
        false
    };
    // Big payloads are parsed off the async threads, as over HTTP.
    let read = if publish.payload.len() <= PARSE_INLINE_MAX {
        readings_of(publish)
    } else {
        let message = publish.clone();
        match tokio::task::spawn_blocking(move || readings_of(&message)).await {
            Ok(read) => read,
            Err(e) => Err(format!("the parser failed: {e}")),
        }
    };
    let (device, batch) = match read {
        Ok(read) => read,
        Err(problem) => return refused(&problem),
    };
    let mut wait = Duration::from_millis(50);
    let answer = loop {
        if batch.readings.is_empty() {
            break Accepted::default();
        }
        match engine
            .ingest(Source::Device(device.clone()), batch.readings.clone())
            .await
        {
            Ok(answer) => break answer,
            Err(IngestError::Unavailable) => {
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(MAX_BACKOFF);
            }
        }
    };
    let answer = answer.numbered_as_sent(&batch.indices, batch.refused);
    if answer.accepted + answer.duplicates == 0 {
        let why = answer.refusals_summary().unwrap_or_default();
        return refused(&format_args!("nothing of it can be stored: {why}"));
    }
    if let Some(summary) = answer.refusals_summary() {
        tracing::warn!(topic = %publish.topic, "MQTT message partly refused: {summary}");
    }
    metrics.count("linli_mqtt_messages_total", "stored");
    true
}

async fn consume(
    url: MqttUrl,
    n: usize,
    engine: EngineHandle,
    metrics: Arc<Metrics>,
    status: Arc<MqttStatus>,
) {
    let mut options = url.options(format!("linli-ingest-{n}"));
    options
        .set_keep_alive(Duration::from_secs(15))
        .set_clean_session(false)
        .set_manual_acks(true)
        .set_max_packet_size(MAX_MESSAGE, MAX_MESSAGE);
    let (client, mut events) = AsyncClient::new(options, REQUESTS);
    // The connection a pending acknowledgement belongs to: after a reconnect the broker
    // sends unacknowledged messages again, and old packet ids mean nothing.
    let connection = Arc::new(AtomicU64::new(0));
    // Unbounded on purpose: the broker sends no more unacknowledged messages than its
    // in-flight window, so this queue stays that small. A bounded one could deadlock:
    // this loop waiting for room in it while the acker waits for the event loop (this
    // loop) to take its acknowledgement.
    let (pending, mut acks) =
        mpsc::unbounded_channel::<(u64, Publish, tokio::task::JoinHandle<bool>)>();
    let acker = {
        let (client, connection) = (client.clone(), connection.clone());
        async move {
            while let Some((generation, publish, stored)) = acks.recv().await {
                let _ = stored.await;
                if generation == connection.load(Ordering::SeqCst) {
                    let _ = client.ack(&publish).await;
                }
            }
        }
    };
    tokio::spawn(acker);
    let mut backoff = Duration::from_millis(100);
    loop {
        match events.poll().await {
            Ok(Event::Incoming(Packet::ConnAck(_))) => {
                let generation = connection.fetch_add(1, Ordering::SeqCst) + 1;
                tracing::info!("MQTT connection {n} to {url} up (#{generation})");
                backoff = Duration::from_millis(100);
                let client = client.clone();
                tokio::spawn(async move {
                    if let Err(e) = client.subscribe(SUBSCRIPTION, QoS::AtLeastOnce).await {
                        tracing::error!("cannot subscribe to {SUBSCRIPTION}: {e}");
                    }
                });
            }
            Ok(Event::Incoming(Packet::Publish(publish))) => {
                let (engine, metrics) = (engine.clone(), metrics.clone());
                let message = publish.clone();
                let stored = tokio::spawn(async move { store(&message, &engine, &metrics).await });
                let generation = connection.load(Ordering::SeqCst);
                if pending.send((generation, publish, stored)).is_err() {
                    return;
                }
            }
            Ok(Event::Incoming(Packet::SubAck(ack))) => {
                let granted = ack
                    .return_codes
                    .iter()
                    .all(|c| !matches!(c, rumqttc::SubscribeReasonCode::Failure));
                if !granted {
                    tracing::error!(
                        "the broker refused Linli's subscription to {SUBSCRIPTION}: give Linli's account the right to subscribe"
                    );
                }
                status.subscribed[n].store(granted, Ordering::SeqCst);
            }
            Ok(_) => {}
            Err(e) => {
                status.subscribed[n].store(false, Ordering::SeqCst);
                tracing::warn!("MQTT connection {n} to {url}: {e}; retrying in {backoff:?}");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_and_topics() {
        let url: MqttUrl = "mqtt://127.0.0.1:18830".parse().unwrap();
        assert_eq!((url.host.as_str(), url.port), ("127.0.0.1", 18830));
        assert_eq!("mqtt://broker".parse::<MqttUrl>().unwrap().port, 1883);
        for bad in [
            "tcp://x:1",
            "mqtt://",
            "mqtt://x:port",
            "mqtt://x:0",
            "mqtt://a/b:1",
            "mqtt://user@host:1",
            "mqtt://:pw@host:1",
            "mqtt://u:%zz@host:1",
            "mqtts://u:secret@host:8883",
        ] {
            let error = bad.parse::<MqttUrl>().unwrap_err();
            assert!(!error.contains("secret"), "{error}");
        }
        let with: MqttUrl = "mqtt://linli:p%40ss%3Aword@broker:1884".parse().unwrap();
        assert_eq!(
            with.credentials,
            Some(("linli".to_string(), "p@ss:word".to_string()))
        );
        assert_eq!((with.host.as_str(), with.port), ("broker", 1884));
        assert_eq!(with.to_string(), "mqtt://linli:***@broker:1884");
        assert_eq!(format!("{with:?}"), "mqtt://linli:***@broker:1884");
        assert_eq!(
            topic_device("linli/sensors/gd-000001/up"),
            Some("gd-000001")
        );
        assert_eq!(topic_device("linli/sensors/a/b/up"), None);
        assert_eq!(topic_device("linli/other/gd-1/up"), None);
    }
}
