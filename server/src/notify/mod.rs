//! Notifications: alarms reach people, by the channels the office set up and the
//! duty roster of the alert's community, level after level until somebody
//! acknowledges.
//!
//! The notifier follows the event log (from its own cursor, kept in the database), so
//! that no alert is missed across a restart:
//!
//! - `alert.raised`: the channels carrying the alert's community and severity each get
//!   a message for the roster's first level (mentioning the person on duty), or, with
//!   no roster, one for the channel itself (level 0). A chain starts: unless the alert
//!   is acknowledged within the level's time (critical), or that time times the
//!   roster's `warning_slowdown` (warnings), the next level is called, and so on to the
//!   last. Info alerts call the first level only. A home whose alert of the same kind
//!   started a chain within [`STORM_WINDOW_MS`] starts none (a flapping sensor does not
//!   page the night shift every few minutes).
//! - `alert.updated` acknowledged or resolved (on the screen, the tablet, or through the
//!   message's link after sign-in): the chain ends.
//!
//! Deciding a message stores it in the outbox, in the same transaction as the cursor
//! and the chain. A sender takes what is due, several at once, and retries a failure
//! (5xx, timeout, a robot's error code) with backoff up to [`MAX_ATTEMPTS`]; a 4xx is
//! not retried. Then the message has failed, visibly (`alert.notify_failed`), and when
//! no other message of its level got through, the chain calls the next level at once. A message the receiver took is `alert.notified` and never sent again,
//! restart or not; the same `X-Linli-Delivery` id on every try lets a receiver drop a
//! repeat after a crash between its answer and our commit.

pub mod robots;
pub mod roster;

use crate::clock::{china_clock, Millis};
use crate::store::{Chain, DynStore, NewDelivery, NotifyWrite, PendingDelivery, StoredChannel};
use linli_domain::alerts::{Alert, AlertKind, AlertState, Severity};
use linli_domain::notify::{ChannelKind, OnDuty, Roster};
use serde_json::{json, Value};
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Notify;

/// How often the notifier looks at the log and the clock when nothing wakes it.
const TICK: Duration = Duration::from_secs(1);
/// A home and kind that started a chain this recently starts no other.
pub const STORM_WINDOW_MS: Millis = 10 * 60 * 1000;
/// Tries of one message before it has failed.
pub const MAX_ATTEMPTS: u32 = 6;
/// The wait before the second try; doubled each time up to [`MAX_BACKOFF_MS`].
const FIRST_BACKOFF_MS: Millis = 2_000;
const MAX_BACKOFF_MS: Millis = 60_000;
/// How long a receiver has to answer.
const SEND_TIMEOUT: Duration = Duration::from_secs(10);
/// How often the cursor is saved when the events read decide nothing.
const CURSOR_SAVE_MS: Millis = 5_000;
/// Events read per step.
const PAGE: u32 = 500;
/// Messages sent at once.
const SENDING_AT_ONCE: usize = 32;

/// Starts the notifier; it runs until the process ends. `public_url` is where the
/// app is reached, for the links in messages.
pub fn start(store: DynStore, live: Arc<crate::live::Live>, public_url: String) {
    let notifier = Arc::new(Notifier {
        store,
        public_url: public_url.trim_end_matches('/').to_string(),
        client: reqwest::Client::builder()
            .timeout(SEND_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("an HTTP client with defaults builds"),
        sending: Mutex::default(),
        outbox: Notify::new(),
        cursor: Mutex::default(),
        buildings: Mutex::default(),
    });
    tokio::spawn(Arc::clone(&notifier).decide(live));
    tokio::spawn(notifier.send());
}

struct Notifier {
    store: DynStore,
    public_url: String,
    client: reqwest::Client,
    /// Messages being sent now, and those whose try ended since the sender last read
    /// the outbox (that read may predate their commit): neither is taken again.
    sending: Mutex<Sending>,
    /// Woken when messages were decided.
    outbox: Notify,
    /// The last event read, and when the cursor was last saved.
    cursor: Mutex<Option<(i64, Millis)>>,
    /// Building names by id, and the buildings layer's version they are of.
    buildings: Mutex<(i64, HashMap<String, String>)>,
}

#[derive(Default)]
struct Sending {
    now: HashSet<i64>,
    ended: HashSet<i64>,
}

/// Whether a channel carries alerts of this community and severity.
fn carries(channel: &StoredChannel, alert: &Alert) -> bool {
    alert.severity >= channel.min_severity
        && (channel.communities.is_empty() || channel.communities.contains(&alert.community))
}

/// How long level `level` (0 is the first) waits before the next is called, for an
/// alert of `severity`; `None` when no level follows.
fn wait_before_next(roster: &Roster, level: usize, severity: Severity) -> Option<Millis> {
    roster.levels.get(level + 1)?;
    let minutes = Millis::from(roster.levels[level].acknowledge_within_min);
    match severity {
        Severity::Critical => Some(minutes * 60_000),
        Severity::Warning if roster.warning_slowdown > 0 => {
            Some(minutes * 60_000 * Millis::from(roster.warning_slowdown))
        }
        _ => None,
    }
}

/// What an alert is called in a message.
fn kind_name(kind: AlertKind) -> &'static str {
    match kind {
        AlertKind::Gas => "燃气报警",
        AlertKind::Smoke => "烟雾报警",
        AlertKind::NoWaterUse => "长时间无用水",
        AlertKind::ContinuousFlow => "持续流水",
        AlertKind::UnusualWaterUse => "用水量异常",
        AlertKind::Offline => "设备离线",
        AlertKind::LowBattery => "设备电量低",
        AlertKind::Tamper => "设备被拆动",
        AlertKind::MissedCheckIn => "未晨安打卡",
    }
}

fn severity_name(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical => "紧急",
        Severity::Warning => "警告",
        Severity::Info => "提示",
    }
}

/// Where an alert is, for staff: community, building, unit and room.
pub struct Place {
    pub community: String,
    pub building: String,
    pub unit_room: Option<String>,
}

/// The message for an alert at a level (Chinese): what, where, how bad, who is called.
pub fn message(
    alert: &Alert,
    place: &Place,
    level: u32,
    level_title: &str,
    person: Option<&OnDuty>,
    link: String,
    now: Millis,
) -> robots::Message {
    let mut headline = format!(
        "【{}】{} · {} {}",
        severity_name(alert.severity),
        kind_name(alert.kind),
        place.community,
        place.building
    );
    if let Some(unit_room) = &place.unit_room {
        headline.push_str(unit_room);
    }
    let raised = crate::store::parse_rfc3339(&alert.raised_at).unwrap_or(now);
    let mut lines = vec![match (alert.kind, alert.value) {
        (AlertKind::Gas, Some(value)) => {
            format!("燃气浓度 {value:.0}% LEL，{} 报警", china_clock(raised))
        }
        _ => format!("{} 报警", china_clock(raised)),
    }];
    match (level, person) {
        (0, _) => {}
        (1, Some(person)) => lines.push(format!("请 {level_title} {} 立即确认处置", person.name)),
        (_, Some(person)) => lines.push(format!(
            "上一级未在时限内确认，升级至 {level_title} {}",
            person.name
        )),
        (_, None) => lines.push(format!("{level_title} 请确认处置")),
    }
    robots::Message {
        delivery: 0,
        headline,
        lines,
        link,
        alert: json!({
            "id": alert.id, "kind": alert.kind, "severity": alert.severity,
            "community": alert.community, "home": alert.home, "building": alert.building,
            "raised_at": alert.raised_at, "value": alert.value,
        }),
        level,
        level_title: level_title.to_string(),
    }
}

fn message_json(message: &robots::Message) -> Value {
    json!({
        "headline": message.headline, "lines": message.lines, "link": message.link,
        "alert": message.alert, "level": message.level, "level_title": message.level_title,
    })
}

fn message_from_json(id: i64, value: &Value) -> robots::Message {
    let text = |key: &str| value[key].as_str().unwrap_or_default().to_string();
    robots::Message {
        delivery: id,
        headline: text("headline"),
        lines: value["lines"]
            .as_array()
            .map(|lines| {
                lines
                    .iter()
                    .filter_map(|l| l.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default(),
        link: text("link"),
        alert: value["alert"].clone(),
        level: value["level"].as_u64().unwrap_or_default() as u32,
        level_title: text("level_title"),
    }
}

impl Notifier {
    /// Follows the event log and the chains' clocks, deciding messages.
    async fn decide(self: Arc<Self>, live: Arc<crate::live::Live>) {
        let mut events = live.subscribe().receiver;
        loop {
            if let Err(e) = self.step().await {
                tracing::warn!("the notifier cannot go on now: {e}; trying again");
            }
            tokio::select! {
                _ = events.recv() => {}
                () = tokio::time::sleep(TICK) => {}
            }
        }
    }

    /// Reads the new events and calls the chains that are due.
    async fn step(&self) -> Result<(), crate::store::StoreError> {
        let known = *self.cursor.lock().expect("cursor lock");
        let (mut cursor, mut saved_ms) = match known {
            Some(known) => known,
            None => match self.store.notify_cursor().await? {
                Some(cursor) => (cursor, crate::clock::now_ms()),
                None => {
                    // First start: what happened before is nobody's to be paged for now.
                    let end = self.store.last_event_id().await?;
                    let now = crate::clock::now_ms();
                    self.store.notify_apply(now, Some(end), Vec::new()).await?;
                    (end, now)
                }
            },
        };
        loop {
            let events = self.store.events_after(cursor, PAGE).await?;
            let Some(last) = events.last().map(|e| e.id) else {
                break;
            };
            let now = crate::clock::now_ms();
            let mut writes = Vec::new();
            for event in &events {
                let alert = match event.kind.as_str() {
                    "alert.raised" | "alert.updated" => {
                        serde_json::from_value::<Alert>(event.data.clone()).ok()
                    }
                    _ => None,
                };
                let Some(alert) = alert else { continue };
                if event.kind == "alert.raised" {
                    self.on_raised(&alert, now, &mut writes).await?;
                } else if alert.state != AlertState::Open || alert.acknowledged.is_some() {
                    let why = if alert.state == AlertState::Resolved {
                        "resolved"
                    } else {
                        "acknowledged"
                    };
                    writes.push(NotifyWrite::EndChain {
                        alert_id: alert.id,
                        why,
                    });
                }
            }
            // The cursor is saved with what it decided, or every few seconds: read
            // again after a restart, events decide nothing twice (see `on_raised`).
            if !writes.is_empty() || now - saved_ms >= CURSOR_SAVE_MS {
                let decided = writes.iter().any(|w| matches!(w, NotifyWrite::Enqueue(_)));
                self.store.notify_apply(now, Some(last), writes).await?;
                saved_ms = now;
                if decided {
                    self.outbox.notify_one();
                }
            }
            cursor = last;
            *self.cursor.lock().expect("cursor lock") = Some((cursor, saved_ms));
        }
        self.escalate_due().await
    }

    /// Where an alert is, by names.
    async fn place(&self, alert: &Alert) -> Result<Place, crate::store::StoreError> {
        let community = self
            .store
            .communities()
            .await?
            .into_iter()
            .find(|c| c.id == alert.community)
            .map(|c| c.name)
            .unwrap_or_else(|| alert.community.to_string());
        let version = self
            .store
            .layer_version(linli_domain::place::LayerName::Buildings)
            .await?;
        let stale = self.buildings.lock().expect("buildings lock").0 != version;
        if stale {
            let features = self
                .store
                .features(linli_domain::place::LayerName::Buildings)
                .await?;
            let names = features
                .into_iter()
                .filter_map(|f| Some((f.id, f.properties.get("name")?.as_str()?.to_string())))
                .collect();
            *self.buildings.lock().expect("buildings lock") = (version, names);
        }
        let building = self
            .buildings
            .lock()
            .expect("buildings lock")
            .1
            .get(&alert.building)
            .cloned()
            .unwrap_or_else(|| alert.building.clone());
        let homes = self
            .store
            .homes(Some(std::slice::from_ref(&alert.community)))
            .await?;
        let unit_room = homes
            .iter()
            .find(|h| h.id == alert.home)
            .map(|h| format!(" {}单元{}", h.unit, h.room));
        Ok(Place {
            community,
            building,
            unit_room,
        })
    }

    fn link(&self, alert: &Alert) -> String {
        format!("{}/field?alert={}", self.public_url, alert.id)
    }

    /// Messages for level `level` (1 is the first; 0: no roster) on every channel
    /// that carries the alert.
    async fn enqueue_level(
        &self,
        alert: &Alert,
        channels: &[StoredChannel],
        roster: Option<&Roster>,
        level: u32,
        now: Millis,
        writes: &mut Vec<NotifyWrite>,
    ) -> Result<(), crate::store::StoreError> {
        let (title, person) = match roster {
            Some(roster) => {
                let index = level as usize - 1;
                (
                    roster.levels[index].title.clone(),
                    roster::on_duty(roster, index, now).cloned(),
                )
            }
            None => ("值班群".to_string(), None),
        };
        let place = self.place(alert).await?;
        let message = message(
            alert,
            &place,
            level,
            &title,
            person.as_ref(),
            self.link(alert),
            now,
        );
        for channel in channels {
            writes.push(NotifyWrite::Enqueue(NewDelivery {
                alert_id: alert.id,
                level,
                level_title: title.clone(),
                channel_id: channel.id,
                person: person.clone(),
                message: message_json(&message),
            }));
        }
        Ok(())
    }

    async fn on_raised(
        &self,
        alert: &Alert,
        now: Millis,
        writes: &mut Vec<NotifyWrite>,
    ) -> Result<(), crate::store::StoreError> {
        let channels: Vec<StoredChannel> = self
            .store
            .channels()
            .await?
            .into_iter()
            .filter(|c| carries(c, alert))
            .collect();
        if channels.is_empty() {
            return Ok(());
        }
        // Read again (after a restart), or no longer waiting for anybody: nothing new.
        if !self.store.chains(&[alert.id]).await?.is_empty() {
            return Ok(());
        }
        let current = self.store.alert(alert.id).await?;
        if !current.is_some_and(|a| a.state == AlertState::Open && a.acknowledged.is_none()) {
            return Ok(());
        }
        if self
            .store
            .chain_started_since(&alert.home, alert.kind, now - STORM_WINDOW_MS)
            .await?
        {
            tracing::info!(
                alert = alert.id,
                "no new messages: {} at {} paged within the last 10 minutes",
                alert.kind.as_str(),
                alert.home
            );
            return Ok(());
        }
        let roster = self.store.roster(&alert.community).await?;
        let level = u32::from(roster.is_some());
        self.enqueue_level(alert, &channels, roster.as_ref(), level, now, writes)
            .await?;
        let next_ms = roster
            .as_ref()
            .and_then(|r| wait_before_next(r, 0, alert.severity))
            .map(|wait| now + wait);
        writes.push(NotifyWrite::Chain(Chain {
            alert_id: alert.id,
            home: alert.home.clone(),
            kind: alert.kind,
            started_ms: now,
            level,
            next_ms,
        }));
        Ok(())
    }

    /// Calls the next level of every chain whose time ran out.
    async fn escalate_due(&self) -> Result<(), crate::store::StoreError> {
        let now = crate::clock::now_ms();
        let due = self.store.chains_due(now).await?;
        if due.is_empty() {
            return Ok(());
        }
        let mut writes = Vec::new();
        for chain in due {
            let alert = self.store.alert(chain.alert_id).await?;
            let Some(alert) =
                alert.filter(|a| a.state == AlertState::Open && a.acknowledged.is_none())
            else {
                writes.push(NotifyWrite::EndChain {
                    alert_id: chain.alert_id,
                    why: "acknowledged",
                });
                continue;
            };
            let roster = self.store.roster(&alert.community).await?;
            let Some(roster) = roster.filter(|r| (chain.level as usize) < r.levels.len()) else {
                writes.push(NotifyWrite::Chain(Chain {
                    next_ms: None,
                    ..chain
                }));
                continue;
            };
            let channels: Vec<StoredChannel> = self
                .store
                .channels()
                .await?
                .into_iter()
                .filter(|c| carries(c, &alert))
                .collect();
            let level = chain.level + 1;
            self.enqueue_level(&alert, &channels, Some(&roster), level, now, &mut writes)
                .await?;
            let next_ms = wait_before_next(&roster, level as usize - 1, alert.severity)
                .map(|wait| now + wait);
            writes.push(NotifyWrite::Chain(Chain {
                level,
                next_ms,
                ..chain
            }));
        }
        self.store.notify_apply(now, None, writes).await?;
        self.outbox.notify_one();
        Ok(())
    }

    /// Sends what is due, several at once, until the process ends.
    async fn send(self: Arc<Self>) {
        loop {
            let now = crate::clock::now_ms();
            self.sending.lock().expect("sending lock").ended.clear();
            match self.store.outbox_due(now, 200).await {
                Ok(due) => {
                    for delivery in due {
                        let fresh = {
                            let mut sending = self.sending.lock().expect("sending lock");
                            sending.now.len() < SENDING_AT_ONCE
                                && !sending.ended.contains(&delivery.id)
                                && sending.now.insert(delivery.id)
                        };
                        if fresh {
                            tokio::spawn(Arc::clone(&self).send_one(delivery));
                        }
                    }
                }
                Err(e) => tracing::warn!("cannot read the outbox: {e}"),
            }
            tokio::select! {
                () = self.outbox.notified() => {}
                () = tokio::time::sleep(Duration::from_millis(500)) => {}
            }
        }
    }

    /// One try of one message, and what it leads to.
    async fn send_one(self: Arc<Self>, delivery: PendingDelivery) {
        let now = crate::clock::now_ms();
        let message = message_from_json(delivery.id, &delivery.new.message);
        let channel = &delivery.channel;
        let outcome = match robots::request(
            channel.kind,
            &channel.url,
            channel.secret.as_deref(),
            &message,
            delivery.new.person.as_ref(),
            now,
        ) {
            Ok(request) => self.post(channel.kind, request).await,
            Err(robots::Unsendable(why)) => Err((why, false)),
        };
        let attempts = delivery.attempts + 1;
        let event = json!({
            "alert": delivery.new.alert_id, "delivery": delivery.id, "level": delivery.new.level,
            "level_title": delivery.new.level_title, "channel": channel.name, "kind": channel.kind,
            "person": delivery.new.person.as_ref().map(|p| &p.name), "attempts": attempts,
        });
        let mut writes = Vec::new();
        match outcome {
            Ok(()) => writes.push(NotifyWrite::Sent {
                id: delivery.id,
                event,
            }),
            Err((error, retry)) if retry && attempts < MAX_ATTEMPTS => {
                let backoff = (FIRST_BACKOFF_MS << (attempts - 1).min(10)).min(MAX_BACKOFF_MS);
                tracing::info!(
                    delivery = delivery.id,
                    "{} did not take message: {error}; again in {backoff} ms",
                    channel.name
                );
                writes.push(NotifyWrite::Retry {
                    id: delivery.id,
                    next_try_ms: now + backoff,
                    error,
                });
            }
            Err((error, _)) => {
                tracing::warn!(
                    delivery = delivery.id,
                    "giving up on a message by {}: {error}",
                    channel.name
                );
                let mut event = event;
                event["error"] = json!(error);
                writes.push(NotifyWrite::Failed {
                    id: delivery.id,
                    error,
                    event,
                });
                // When no message of its level got through or may still, that level
                // did not hear of the alert: call the next now.
                let level_reached = self
                    .store
                    .deliveries(delivery.new.alert_id)
                    .await
                    .map(|all| {
                        all.iter().any(|d| {
                            d.id != delivery.id
                                && d.level == delivery.new.level
                                && d.state != linli_domain::notify::DeliveryState::Failed
                        })
                    })
                    .unwrap_or(true);
                let chains = if level_reached {
                    Ok(Vec::new())
                } else {
                    self.store.chains(&[delivery.new.alert_id]).await
                };
                if let Ok(chains) = chains {
                    for chain in chains {
                        if chain.level == delivery.new.level && chain.next_ms.is_some() {
                            writes.push(NotifyWrite::Chain(Chain {
                                next_ms: Some(now),
                                ..chain
                            }));
                        }
                    }
                }
            }
        }
        if let Err(e) = self.store.notify_apply(now, None, writes).await {
            tracing::warn!(delivery = delivery.id, "cannot record a message's try: {e}");
        }
        {
            let mut sending = self.sending.lock().expect("sending lock");
            sending.now.remove(&delivery.id);
            sending.ended.insert(delivery.id);
        }
        self.outbox.notify_one();
    }

    /// Posts a request; `Err((why, worth retrying))`.
    async fn post(
        &self,
        kind: ChannelKind,
        request: robots::Outgoing,
    ) -> Result<(), (String, bool)> {
        let mut builder = self
            .client
            .post(&request.url)
            .header("content-type", "application/json; charset=utf-8")
            .body(request.body);
        for (name, value) in request.headers {
            builder = builder.header(name, value);
        }
        let answer = builder.send().await.map_err(|e| {
            let why = if e.is_timeout() {
                format!("no answer within {SEND_TIMEOUT:?}")
            } else {
                format!("cannot reach the receiver: {e}")
            };
            (why, true)
        })?;
        let status = answer.status().as_u16();
        let body = answer.bytes().await.unwrap_or_default();
        robots::accepted(kind, status, &body).map_err(|why| (why, robots::worth_retrying(status)))
    }
}
