//! The broker's side of device identities, with Mosquitto's dynamic-security plugin:
//! a broker that admits only Linli and the registered devices and gateways, each
//! publishing only where it may.
//!
//! - [`broker_config`] (`linli mqtt broker-config --dir DIR`) writes `mosquitto.conf` and
//!   the plugin's state (`dynamic-security.json`, made by Mosquitto's own
//!   `mosquitto_ctrl dynsec init`) with one client, `linli`, which may subscribe to the
//!   sensors' topics and administer the plugin. Anonymous clients are refused.
//! - [`Dynsec`] speaks the plugin's API (JSON commands on
//!   `$CONTROL/dynamic-security/v1`, answers on `…/response`): `linli device add` creates
//!   a client named by the device id with its token as password and a role allowing
//!   only `linli/sensors/<id>/up`; `linli gateway add` a client whose role allows the
//!   topics of its communities' devices (and each later device of them is added to
//!   it); revoking deletes the client, which the broker disconnects at once.
//!
//! Mosquitto 2.0 does not expand `%u` in the plugin's ACLs (measured: an ACL
//! `linli/sensors/%u/up` let nothing through), hence one role per device.

use crate::mqtt::MqttUrl;
use anyhow::{bail, Context as _};
use rumqttc::{AsyncClient, Event, Packet, QoS};
use serde_json::{json, Value};
use std::path::Path;
use std::time::Duration;

const CONTROL: &str = "$CONTROL/dynamic-security/v1";
const RESPONSE: &str = "$CONTROL/dynamic-security/v1/response";
/// How long the broker has to answer a command.
const ANSWER_WITHIN: Duration = Duration::from_secs(10);
/// Where Debian and others put the plugin.
const PLUGIN_PATHS: [&str; 4] = [
    "/usr/lib/x86_64-linux-gnu/mosquitto_dynamic_security.so",
    "/usr/lib/aarch64-linux-gnu/mosquitto_dynamic_security.so",
    "/usr/lib/mosquitto_dynamic_security.so",
    "/usr/local/lib/mosquitto_dynamic_security.so",
];

/// Whose account at the broker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Account {
    Device,
    Gateway,
}

impl Account {
    pub fn name(self) -> &'static str {
        match self {
            Account::Device => "device",
            Account::Gateway => "gateway",
        }
    }
}

/// Names that are Linli's own at the broker (its account, its roles' prefix): no
/// gateway may take them, nothing may delete them.
pub fn reserved(id: &str) -> bool {
    id == "linli" || id.starts_with("linli-")
}

fn device_role(device: &str) -> String {
    format!("linli-device-{device}")
}

fn gateway_role(gateway: &str) -> String {
    format!("linli-gateway-{gateway}")
}

fn publish_acl(topic: &str) -> Value {
    json!({"acltype": "publishClientSend", "topic": topic, "allow": true})
}

/// Writes `DIR/mosquitto.conf` and `DIR/dynamic-security.json` for a broker on `port`
/// that admits only Linli and registered devices; returns the URL Linli connects with.
pub fn broker_config(dir: &Path, port: u16) -> anyhow::Result<MqttUrl> {
    let state = dir.join("dynamic-security.json");
    anyhow::ensure!(
        !state.exists(),
        "{} exists already: the broker has its accounts; remove the folder to start afresh",
        state.display()
    );
    let plugin = PLUGIN_PATHS
        .iter()
        .find(|p| Path::new(p).exists())
        .context("Mosquitto's dynamic-security plugin is missing: install Debian's `mosquitto` (2.0 or later)")?;
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let secret = crate::auth::token::new_token();
    // The secret goes by standard input (it asks twice), never on a command line
    // that `ps` shows.
    let mut init = std::process::Command::new("mosquitto_ctrl")
        .args(["dynsec", "init"])
        .arg(&state)
        .arg("linli")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .context("cannot run mosquitto_ctrl (part of Debian's `mosquitto`)")?;
    if let Some(mut stdin) = init.stdin.take() {
        use std::io::Write as _;
        stdin.write_all(format!("{secret}\n{secret}\n").as_bytes())?;
    }
    let made = init.wait_with_output()?;
    if !made.status.success() {
        bail!(
            "mosquitto_ctrl dynsec init failed: {}",
            String::from_utf8_lossy(&made.stderr)
        );
    }
    let config = format!(
        "# Written by `linli mqtt broker-config`: only Linli and the devices and gateways\n\
         # `linli device add` / `linli gateway add` register may connect.\n\
         listener {port}\n\
         allow_anonymous false\n\
         plugin {plugin}\n\
         plugin_opt_config_file {state}\n\
         persistence true\n\
         persistence_location {dir}/\n\
         # Linli acknowledges each message once stored: room for that, and for what\n\
         # arrives while Linli restarts.\n\
         max_inflight_messages 1000\n\
         max_queued_messages 1000000\n",
        state = state.display(),
        dir = dir.display(),
    );
    std::fs::write(dir.join("mosquitto.conf"), config)?;
    hand_to_broker_user(dir)?;
    Ok(MqttUrl {
        host: "127.0.0.1".into(),
        port,
        credentials: Some(("linli".into(), secret)),
        tls: None,
    })
}

/// Started as root, Mosquitto runs as the `mosquitto` user, which must be able to
/// write its state and persistence in `dir`: when `linli` runs as root and that user
/// exists, `dir` becomes its.
fn hand_to_broker_user(dir: &Path) -> anyhow::Result<()> {
    use std::os::unix::fs::MetadataExt as _;
    let as_root = std::fs::metadata(dir.join("mosquitto.conf"))?.uid() == 0;
    let broker_user = std::process::Command::new("id")
        .args(["-u", "mosquitto"])
        .output()
        .is_ok_and(|out| out.status.success());
    if as_root && broker_user {
        let handed = std::process::Command::new("chown")
            .args(["-R", "mosquitto:"])
            .arg(dir)
            .status()
            .context("cannot run chown")?;
        anyhow::ensure!(
            handed.success(),
            "cannot give {} to the mosquitto user",
            dir.display()
        );
    }
    Ok(())
}

/// A connection to the broker's dynamic-security API.
pub struct Dynsec {
    client: AsyncClient,
    answers: tokio::sync::mpsc::Receiver<Value>,
}

impl Dynsec {
    /// Connects as Linli (the URL's credentials) and listens for the plugin's answers.
    pub async fn connect(url: &MqttUrl) -> anyhow::Result<Dynsec> {
        let mut options = url.options(format!("linli-admin-{:08x}", rand::random::<u32>()));
        options.set_keep_alive(Duration::from_secs(15));
        let (client, mut events) = AsyncClient::new(options, 16);
        let (ready, ready_now) = tokio::sync::oneshot::channel::<Result<(), String>>();
        let (answer, answers) = tokio::sync::mpsc::channel(16);
        tokio::spawn(async move {
            let mut ready = Some(ready);
            loop {
                match events.poll().await {
                    Ok(Event::Incoming(Packet::SubAck(_))) => {
                        if let Some(ready) = ready.take() {
                            let _ = ready.send(Ok(()));
                        }
                    }
                    Ok(Event::Incoming(Packet::Publish(p))) if p.topic == RESPONSE => {
                        if let Ok(value) = serde_json::from_slice(&p.payload) {
                            let _ = answer.send(value).await;
                        }
                    }
                    Ok(_) => {}
                    Err(e) => {
                        if let Some(ready) = ready.take() {
                            let _ = ready.send(Err(e.to_string()));
                        }
                        return;
                    }
                }
            }
        });
        client.subscribe(RESPONSE, QoS::AtLeastOnce).await?;
        match tokio::time::timeout(ANSWER_WITHIN, ready_now).await {
            Ok(Ok(Ok(()))) => Ok(Dynsec { client, answers }),
            Ok(Ok(Err(e))) => bail!("cannot log in to the broker {url}: {e}"),
            _ => bail!("the broker {url} did not answer within {ANSWER_WITHIN:?}"),
        }
    }

    /// Sends commands and checks every answer; `tolerate` names errors that are fine
    /// (e.g. deleting what is gone already). Every admin client hears every answer:
    /// ours carry the correlation data our commands were sent with, others' are
    /// passed over (two `linli device add` at once).
    async fn run(&mut self, mut commands: Vec<Value>, tolerate: &[&str]) -> anyhow::Result<()> {
        let count = commands.len();
        let ours = format!("linli-{:016x}", rand::random::<u64>());
        for (i, command) in commands.iter_mut().enumerate() {
            command["correlationData"] = json!(format!("{ours}-{i}"));
        }
        let body = json!({ "commands": commands }).to_string();
        self.client
            .publish(CONTROL, QoS::AtLeastOnce, false, body)
            .await?;
        let deadline = tokio::time::Instant::now() + ANSWER_WITHIN;
        let responses = loop {
            let answer = tokio::time::timeout_at(deadline, self.answers.recv())
                .await
                .context("the broker did not answer the dynamic-security command")?
                .context("the connection to the broker ended")?;
            let responses = answer["responses"].as_array().cloned().unwrap_or_default();
            let mine = |r: &Value| {
                r["correlationData"]
                    .as_str()
                    .is_some_and(|c| c.starts_with(&ours))
            };
            if responses.iter().any(mine) {
                anyhow::ensure!(
                    responses.len() == count && responses.iter().all(mine),
                    "the broker answered {answer} to {count} commands"
                );
                break responses;
            }
        };
        for response in responses {
            if let Some(error) = response["error"].as_str() {
                if !tolerate.iter().any(|t| error.contains(t)) {
                    bail!("the broker refused `{}`: {error}", response["command"]);
                }
            }
        }
        Ok(())
    }

    /// Registers a device: it may log in with its token and publish on its topic; the
    /// `gateways` (those sending for its community) may publish there too.
    pub async fn add_device(
        &mut self,
        device: &str,
        token: &str,
        gateways: &[String],
    ) -> anyhow::Result<()> {
        let topic = crate::mqtt::device_topic(device);
        let mut commands = vec![
            json!({"command": "createRole", "rolename": device_role(device),
                   "acls": [publish_acl(&topic)]}),
            json!({"command": "createClient", "username": device, "password": token,
                   "roles": [{"rolename": device_role(device)}]}),
        ];
        for gateway in gateways {
            let mut acl = publish_acl(&topic);
            acl["command"] = "addRoleACL".into();
            acl["rolename"] = gateway_role(gateway).into();
            commands.push(acl);
        }
        // A gateway added without the broker has no role there: nothing to extend.
        self.run(commands, &["Role not found"]).await
    }

    /// Registers a gateway that may publish on the topics of `devices`.
    pub async fn add_gateway(
        &mut self,
        gateway: &str,
        token: &str,
        devices: &[String],
    ) -> anyhow::Result<()> {
        let acls: Vec<Value> = devices
            .iter()
            .map(|d| publish_acl(&crate::mqtt::device_topic(d)))
            .collect();
        self.run(
            vec![
                json!({"command": "createRole", "rolename": gateway_role(gateway), "acls": acls}),
                json!({"command": "createClient", "username": gateway, "password": token,
                       "roles": [{"rolename": gateway_role(gateway)}]}),
            ],
            &[],
        )
        .await
    }

    /// Removes a device's or gateway's client and role: it is disconnected and can no
    /// longer log in. What is gone already is no error.
    pub async fn remove(&mut self, what: Account, id: &str) -> anyhow::Result<()> {
        anyhow::ensure!(!reserved(id), "`{id}` is Linli's own account");
        let role = match what {
            Account::Device => device_role(id),
            Account::Gateway => gateway_role(id),
        };
        self.run(
            vec![
                json!({"command": "deleteClient", "username": id}),
                json!({"command": "deleteRole", "rolename": role}),
            ],
            &["not found"],
        )
        .await
    }
}
