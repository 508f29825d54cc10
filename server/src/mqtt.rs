//! MQTT ingest: readings published to `linli/sensors/{device_id}/up` (QoS 1) through a
//! broker such as Mosquitto.
//!
//! Linli subscribes over one connection with a persistent session (its client id,
//! [`Subscriber::client_id`]), so that what arrives while Linli or the broker restarts
//! waits at the broker. Each message goes through the same parser and rules engine as
//! the HTTP endpoint, in parallel, and is acknowledged to the broker (PUBACK, in the
//! order received, as MQTT asks) only once its readings are committed. A lost
//! connection is retried with back-off up to a few seconds, and unacknowledged
//! messages come again (and count as duplicates if they were stored).
//!
//! Several server instances split the load with a shared subscription
//! ([`Subscriber::shared`], `$share/linli/…`), each with its own client id. Not the
//! default: Mosquitto before 2.0.12 (Debian 12 ships 2.0.11) forgets shared
//! subscriptions when it restarts, and drops what devices send until Linli has
//! subscribed again, though it acknowledged it to them; a plain subscription it keeps.
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
use rumqttc::{AsyncClient, Event, MqttOptions, Packet, Publish, QoS, TlsConfiguration, Transport};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::pem::PemObject as _;
use tokio_rustls::rustls::pki_types::CertificateDer;

/// What Linli subscribes to.
pub const SUBSCRIPTION: &str = "linli/sensors/+/up";
/// The same, shared between server instances.
pub const SHARED_SUBSCRIPTION: &str = "$share/linli/linli/sensors/+/up";
/// The client id of Linli's session when none is given.
pub const DEFAULT_CLIENT_ID: &str = "linli-ingest";
/// Requests (acknowledgements, subscriptions) queued for a connection's event loop.
const REQUESTS: usize = 4_096;
/// The longest wait between reconnection attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(2);
/// Messages above this are parsed off the async threads.
const PARSE_INLINE_MAX: usize = 64 * 1024;
/// Largest message accepted (a batch of 10,000 readings fits).
const MAX_MESSAGE: usize = 4 * 1024 * 1024;

/// A broker address: `mqtt://[user:password@]host[:port]` (port 1883 when left out), or
/// `mqtts://…` for TLS (port 8883), the broker's certificate checked against the
/// system's authorities or those of a CA file ([`MqttUrl::trusting`]). The user and
/// password (percent-encoded where they hold `:`, `@` or `/`) are the credentials Linli
/// logs in with, e.g. those `linli mqtt broker-config` printed.
#[derive(Clone, PartialEq, Eq)]
pub struct MqttUrl {
    pub host: String,
    pub port: u16,
    pub credentials: Option<(String, String)>,
    /// `None` for plain MQTT.
    pub tls: Option<Authorities>,
}

/// Whom a TLS broker's certificate must come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Authorities {
    /// The system's certificate authorities.
    System,
    /// Those of a CA file (PEM).
    File(Vec<CertificateDer<'static>>),
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
            "not an MQTT URL: use mqtt://HOST:PORT, mqtt://USER:PASSWORD@HOST:PORT or \
             mqtts://… for TLS, e.g. mqtt://127.0.0.1:1883"
                .to_string()
        };
        let (rest, tls, default_port) = if let Some(rest) = url.strip_prefix("mqtt://") {
            (rest, None, 1883)
        } else if let Some(rest) = url.strip_prefix("mqtts://") {
            (rest, Some(Authorities::System), 8883)
        } else {
            return Err(bad());
        };
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
            None => (rest, default_port),
        };
        if host.is_empty() || host.contains('/') || port == 0 {
            return Err(bad());
        }
        Ok(MqttUrl {
            host: host.to_string(),
            port,
            credentials,
            tls,
        })
    }
}

impl MqttUrl {
    /// Trusts the certificate authorities of `ca_file` (PEM) instead of the system's:
    /// for a broker whose certificate an office's own authority signed.
    pub fn trusting(mut self, ca_file: &Path) -> Result<MqttUrl, String> {
        if self.tls.is_none() {
            return Err("a CA file is for TLS: give an mqtts:// URL".into());
        }
        let file = ca_file.display();
        let certificates = CertificateDer::pem_file_iter(ca_file)
            .and_then(|certificates| certificates.collect::<Result<Vec<_>, _>>())
            .map_err(|e| format!("cannot read the CA file {file}: {e}"))?;
        if certificates.is_empty() {
            return Err(format!("the CA file {file} holds no PEM certificate"));
        }
        self.tls = Some(Authorities::File(certificates));
        Ok(self)
    }

    /// Connection options for a client of this broker, logged in when the URL says so.
    pub fn options(&self, client_id: impl Into<String>) -> MqttOptions {
        let mut options = MqttOptions::new(client_id, self.host.clone(), self.port);
        if let Some((user, password)) = &self.credentials {
            options.set_credentials(user.clone(), password.clone());
        }
        if let Some(authorities) = &self.tls {
            options.set_transport(Transport::tls_with_config(TlsConfiguration::Rustls(
                Arc::new(authorities.client_config()),
            )));
        }
        options
    }

    fn scheme(&self) -> &'static str {
        if self.tls.is_some() {
            "mqtts"
        } else {
            "mqtt"
        }
    }
}

impl Authorities {
    /// A TLS client configuration (ring's cryptography) trusting these authorities.
    fn client_config(&self) -> rustls::ClientConfig {
        let mut roots = rustls::RootCertStore::empty();
        match self {
            Authorities::System => {
                let found = rustls_native_certs::load_native_certs();
                for error in &found.errors {
                    tracing::warn!("a system certificate authority cannot be read: {error}");
                }
                roots.add_parsable_certificates(found.certs);
            }
            Authorities::File(certificates) => {
                roots.add_parsable_certificates(certificates.iter().cloned());
            }
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("ring supports TLS 1.2 and 1.3")
            .with_root_certificates(roots)
            .with_no_client_auth()
    }
}

/// Never shows the password.
impl std::fmt::Display for MqttUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let scheme = self.scheme();
        match &self.credentials {
            Some((user, _)) => write!(f, "{scheme}://{user}:***@{}:{}", self.host, self.port),
            None => write!(f, "{scheme}://{}:{}", self.host, self.port),
        }
    }
}

impl std::fmt::Debug for MqttUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(self, f)
    }
}

/// Where and how Linli takes readings over MQTT.
#[derive(Debug, Clone)]
pub struct Subscriber {
    pub url: MqttUrl,
    /// The client id of Linli's persistent session at the broker. Each server
    /// instance needs its own: a second connection with the same id takes the session
    /// over.
    pub client_id: String,
    /// Subscribe with [`SHARED_SUBSCRIPTION`], so that the server instances sharing
    /// it each take part of the messages.
    pub shared: bool,
}

impl Subscriber {
    /// One server instance, not sharing.
    pub fn new(url: MqttUrl) -> Subscriber {
        Subscriber {
            url,
            client_id: DEFAULT_CLIENT_ID.into(),
            shared: false,
        }
    }

    fn topic_filter(&self) -> &'static str {
        if self.shared {
            SHARED_SUBSCRIPTION
        } else {
            SUBSCRIPTION
        }
    }
}

/// Whether Linli is subscribed right now (for `/readyz`).
#[derive(Debug, Default)]
pub struct MqttStatus {
    subscribed: std::sync::atomic::AtomicBool,
}

impl MqttStatus {
    pub fn subscribed(&self) -> bool {
        self.subscribed.load(Ordering::SeqCst)
    }
}

/// Starts subscribing; it goes on until the process ends.
pub fn start(
    subscriber: Subscriber,
    engine: EngineHandle,
    metrics: Arc<Metrics>,
) -> Arc<MqttStatus> {
    let url = &subscriber.url;
    if url.credentials.is_none() {
        tracing::warn!(
            "{url} without an account: unless the broker checks who publishes, anyone who \
             reaches it can send readings for any device (see `linli mqtt broker-config`)"
        );
    }
    let status = Arc::new(MqttStatus::default());
    tokio::spawn(consume(subscriber, engine, metrics, status.clone()));
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
    subscriber: Subscriber,
    engine: EngineHandle,
    metrics: Arc<Metrics>,
    status: Arc<MqttStatus>,
) {
    let (url, filter) = (&subscriber.url, subscriber.topic_filter());
    let mut options = url.options(subscriber.client_id.clone());
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
                tracing::info!("MQTT connection to {url} up (#{generation})");
                backoff = Duration::from_millis(100);
                // Again on every connection: a broker that lost the session (or,
                // before Mosquitto 2.0.12, a shared subscription) has it again.
                let client = client.clone();
                tokio::spawn(async move {
                    if let Err(e) = client.subscribe(filter, QoS::AtLeastOnce).await {
                        tracing::error!("cannot subscribe to {filter}: {e}");
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
                        "the broker refused Linli's subscription to {filter}: give Linli's account the right to subscribe"
                    );
                }
                status.subscribed.store(granted, Ordering::SeqCst);
            }
            Ok(_) => {}
            Err(e) => {
                status.subscribed.store(false, Ordering::SeqCst);
                tracing::warn!("MQTT connection to {url}: {e}; retrying in {backoff:?}");
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
            "mqtts://u:secret@host:port",
            "mqtts:/u:secret@host",
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
        let tls: MqttUrl = "mqtts://linli:secret@broker".parse().unwrap();
        assert_eq!(
            (tls.port, tls.tls.clone()),
            (8883, Some(Authorities::System))
        );
        assert_eq!(tls.to_string(), "mqtts://linli:***@broker:8883");
        let error = with.trusting(Path::new("/nonexistent")).unwrap_err();
        assert!(error.contains("mqtts://"), "{error}");
        let error = tls
            .clone()
            .trusting(Path::new("/nonexistent/ca.pem"))
            .unwrap_err();
        assert!(error.contains("/nonexistent/ca.pem"), "{error}");
        let not_pem = std::env::temp_dir().join(format!("linli-not-pem-{}", std::process::id()));
        std::fs::write(&not_pem, "hello").unwrap();
        let error = tls.trusting(&not_pem).unwrap_err();
        std::fs::remove_file(&not_pem).unwrap();
        assert!(error.contains("no PEM certificate"), "{error}");
        assert_eq!(
            topic_device("linli/sensors/gd-000001/up"),
            Some("gd-000001")
        );
        assert_eq!(topic_device("linli/sensors/a/b/up"), None);
        assert_eq!(topic_device("linli/other/gd-1/up"), None);
    }
}
