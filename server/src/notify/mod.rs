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
//!   page the night shift every few minutes), unless the alert is critical: it waits
//!   for the storm's digest instead, one message per channel when the window has
//!   passed. A community whose roster sends warnings as a morning digest
//!   (`"warnings": "digest"`) gets its warnings and notices in one message per channel
//!   at `digest_at`. A digest goes out as a message of its first alert at
//!   [`DIGEST_LEVEL`](linli_domain::notify::DIGEST_LEVEL), which acknowledging that
//!   alert does not cancel.
//! - `alert.updated` acknowledged or resolved (on the screen, the tablet, or through the
//!   message's link after sign-in): the chain ends.
//! - `alert.updated` open and unacknowledged again after its chain ended that way: the
//!   rules reopened a warning they had cleared (the condition came back within
//!   `reopen_within_ms`). The chain starts again as a new round, whose messages are new
//!   (the storm rule above applies: within the window, the storm's digest).
//!
//! Deciding a message stores it in the outbox, in the same transaction as the cursor
//! and the chain. A sender takes what is due, several at once, and retries a failure
//! (5xx, 429, a timeout, a robot's rate limit) with backoff up to [`MAX_ATTEMPTS`]; a
//! 4xx or a robot's other error codes are not retried. Then the message has failed,
//! visibly (`alert.notify_failed`), and when no other message of its level got
//! through, the chain calls the next level at once. Acknowledging cancels what of the
//! alert is still waiting. A try whose outcome the database cannot take yet is kept in
//! memory until it can, and the message is not sent again meanwhile. A message the
//! receiver took is `alert.notified` and never sent again, restart or not; the same
//! `X-Linli-Delivery` id on every try lets a receiver drop a repeat after a crash
//! between its answer and our commit.

pub mod robots;
pub mod roster;

use crate::clock::{china_clock, Millis};
use crate::places::Place;
use crate::store::{Chain, DynStore, NewDelivery, NotifyWrite, PendingDelivery, StoredChannel};
use linli_domain::alerts::{Alert, AlertKind, AlertState, Severity};
use linli_domain::events::EventKind;
use linli_domain::notify::{ChannelKind, OnDuty, Roster, WarningDelivery, DIGEST_LEVEL};
use serde_json::json;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Notify;

/// How often the notifier looks at the log and the clock when nothing wakes it.
const TICK: Duration = Duration::from_secs(1);
/// A home and kind that started a chain this recently starts no other.
pub const STORM_WINDOW_MS: Millis = 10 * 60 * 1000;
/// Alerts named one by one in a digest; the rest are counted.
const DIGEST_LINES: usize = 20;
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
/// The most of a receiver's answer read.
const MAX_ANSWER: usize = 16 * 1024;
/// Messages sent at once.
const SENDING_AT_ONCE: usize = 32;

/// Starts the notifier; it runs until the process ends. `public_url` is where the
/// app is reached, for the links in messages.
pub fn start(
    store: DynStore,
    live: Arc<crate::live::Live>,
    names: Arc<crate::places::PlaceNames>,
    public_url: String,
) {
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
        names,
        unrecorded: Mutex::default(),
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
    /// Community and building names, for where an alert is.
    names: Arc<crate::places::PlaceNames>,
    /// Tries whose outcome the database could not take yet (kept until it does: such
    /// a message is never sent again meanwhile).
    unrecorded: Mutex<HashMap<i64, NotifyWrite>>,
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

/// Whether an alert still waits for somebody: open and not acknowledged.
fn needs_somebody(alert: &Alert) -> bool {
    alert.state == AlertState::Open && alert.acknowledged.is_none()
}

/// Why a chain ends, from the alert that ended it.
fn why_ended(alert: &Alert) -> &'static str {
    if alert.state == AlertState::Resolved {
        "resolved"
    } else {
        "acknowledged"
    }
}

/// Text from a roster or an alert as it goes into a robot's markdown or text: without
/// the characters that would make a mention or a link of it.
fn plain(text: &str) -> String {
    text.chars()
        .filter(|c| !matches!(c, '<' | '>' | '[' | ']' | '(' | ')' | '*' | '`'))
        .collect()
}

/// What marks a drill's alert in a message, before anything else.
fn drill_mark(alert: &Alert) -> &'static str {
    if alert.drill {
        linli_domain::drill::DRILL_MARK_ZH
    } else {
        ""
    }
}

/// A digest (Chinese): how many alerts of the community, and each one's what, where,
/// when and whether it is still waiting for somebody.
pub fn digest_message(alerts: &[Alert], places: &[Place], link: String) -> robots::Message {
    let community = places
        .first()
        .map(|p| plain(&p.community))
        .unwrap_or_default();
    let waiting = alerts.iter().filter(|a| needs_somebody(a)).count();
    let headline = format!(
        "【告警汇总】{community} {} 条，{waiting} 条待处理",
        alerts.len()
    );
    let mut lines: Vec<String> = alerts
        .iter()
        .zip(places)
        .take(DIGEST_LINES)
        .map(|(alert, place)| {
            let raised = alert.raised_at.millis();
            let state = if needs_somebody(alert) {
                "待处理"
            } else {
                "已处理"
            };
            format!(
                "{}{} {} · {}{} · {state}",
                drill_mark(alert),
                china_clock(raised),
                alert.kind.name_zh(),
                plain(&place.building),
                place.unit_room.as_deref().map(plain).unwrap_or_default()
            )
        })
        .collect();
    if alerts.len() > DIGEST_LINES {
        lines.push(format!("另有 {} 条", alerts.len() - DIGEST_LINES));
    }
    robots::Message {
        delivery: 0,
        headline,
        lines,
        link,
        alert: json!({"digest": alerts.iter().map(|a| a.id).collect::<Vec<_>>()}),
        level: DIGEST_LEVEL,
        level_title: "告警汇总".to_string(),
    }
}

/// The message for an alert at a level (Chinese): what, where, how bad, who is called.
pub fn message(
    alert: &Alert,
    place: &Place,
    level: u32,
    level_title: &str,
    person: Option<&OnDuty>,
    link: String,
) -> robots::Message {
    let mut headline = format!(
        "{}【{}】{} · {} {}",
        drill_mark(alert),
        alert.severity.name_zh(),
        alert.kind.name_zh(),
        plain(&place.community),
        plain(&place.building)
    );
    if let Some(unit_room) = &place.unit_room {
        headline.push_str(unit_room);
    }
    let raised = alert.raised_at.millis();
    let mut lines = vec![match (alert.kind, alert.value) {
        (AlertKind::Gas, Some(value)) => {
            format!("燃气浓度 {value:.0}% LEL，{} 报警", china_clock(raised))
        }
        _ => format!("{} 报警", china_clock(raised)),
    }];
    let title = plain(level_title);
    match (level, person.map(|p| plain(&p.name))) {
        (0, _) => {}
        (1, Some(name)) => lines.push(format!("请 {title} {name} 立即确认处置")),
        (_, Some(name)) => lines.push(format!("上一级未确认，升级至 {title} {name}")),
        (_, None) => lines.push(format!("{title} 请确认处置")),
    }
    robots::Message {
        delivery: 0,
        headline,
        lines,
        link,
        alert: json!({
            "id": alert.id, "kind": alert.kind, "severity": alert.severity, "drill": alert.drill,
            "community": alert.community, "home": alert.home, "building": alert.building,
            "raised_at": alert.raised_at, "value": alert.value,
        }),
        level,
        level_title: level_title.to_string(),
    }
}

impl Notifier {
    /// Follows the event log and the chains' clocks, deciding messages.
    async fn decide(self: Arc<Self>, live: Arc<crate::live::Live>) {
        let mut events = live.subscribe().receiver;
        loop {
            if let Err(e) = self.step().await {
                tracing::warn!("the notifier cannot read the log now: {e}; trying again");
            }
            // Whatever the log did, the chains' clocks run.
            if let Err(e) = self.escalate_due().await {
                tracing::warn!("the notifier cannot call the next levels now: {e}; trying again");
            }
            if let Err(e) = self.send_digests().await {
                tracing::warn!("the notifier cannot send the digests now: {e}; trying again");
            }
            // Woken by alert events only (the stream carries many others); what came
            // meanwhile is read from the log by the next step anyway.
            let deadline = tokio::time::sleep(TICK);
            tokio::pin!(deadline);
            loop {
                tokio::select! {
                    event = events.recv() => match event {
                        Ok(event) if event.kind.is_alert() => break,
                        Ok(_) => {}
                        Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => break,
                        Err(tokio::sync::broadcast::error::RecvError::Closed) => {
                            deadline.as_mut().await;
                            break;
                        }
                    },
                    () = &mut deadline => break,
                }
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
            // Chains these events end, not yet applied.
            let mut answered_now = HashSet::new();
            for event in &events {
                if !event.kind.is_alert() {
                    continue;
                }
                let Ok(alert) = serde_json::from_value::<Alert>(event.data.clone()) else {
                    continue;
                };
                if event.kind == EventKind::AlertRaised {
                    self.on_raised(&alert, now, &mut writes).await?;
                } else if needs_somebody(&alert) {
                    self.on_waiting(&alert, &answered_now, now, &mut writes)
                        .await?;
                    answered_now.remove(&alert.id);
                } else {
                    answered_now.insert(alert.id);
                    writes.push(NotifyWrite::EndChain {
                        alert_id: alert.id,
                        why: why_ended(&alert),
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
        Ok(())
    }

    /// The channels that carry an alert.
    async fn carrying(
        &self,
        alert: &Alert,
    ) -> Result<Vec<StoredChannel>, crate::store::StoreError> {
        let channels = self.store.channels().await?;
        Ok(channels.into_iter().filter(|c| carries(c, alert)).collect())
    }

    fn link(&self, alert: &Alert) -> String {
        format!("{}/field?alert={}", self.public_url, alert.id)
    }

    /// Messages for level `level` (1 is the first; 0: no roster) of the chain's round
    /// `round` on every channel that carries the alert.
    async fn enqueue_level(
        &self,
        alert: &Alert,
        channels: &[StoredChannel],
        roster: Option<&Roster>,
        (round, level): (u32, u32),
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
        let place = self.names.of(self.store.as_ref(), alert).await?;
        let message = message(
            alert,
            &place,
            level,
            &title,
            person.as_ref(),
            self.link(alert),
        );
        let has_phone = person.as_ref().is_some_and(|p| p.phone.is_some());
        for channel in channels {
            if channel.kind == ChannelKind::Sms && !has_phone {
                continue;
            }
            writes.push(NotifyWrite::Enqueue(NewDelivery {
                alert_id: alert.id,
                round,
                level,
                level_title: title.clone(),
                channel_id: channel.id,
                person: person.clone(),
                message: serde_json::to_value(&message).unwrap_or_default(),
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
        // Read again (after a restart): nothing new.
        if !self.store.chains(&[alert.id]).await?.is_empty() {
            return Ok(());
        }
        self.start(alert, 1, now, writes).await
    }

    /// An alert open and waiting for somebody again: when its chain had ended because
    /// it was answered (`answered_now`: in the events not yet applied), the rules
    /// reopened it (a warning they cleared came back): the chain starts again as a new
    /// round. Any other update of a waiting alert changes nothing.
    async fn on_waiting(
        &self,
        alert: &Alert,
        answered_now: &HashSet<i64>,
        now: Millis,
        writes: &mut Vec<NotifyWrite>,
    ) -> Result<(), crate::store::StoreError> {
        let Some(chain) = self.store.chains(&[alert.id]).await?.pop() else {
            return Ok(());
        };
        // An answered chain has ended (`next_ms` is cleared with it).
        if !(chain.answered || answered_now.contains(&alert.id)) {
            return Ok(());
        }
        self.start(alert, chain.round + 1, now, writes).await
    }

    /// Starts round `round` of the alert's chain: its first level's messages, or a
    /// place in the storm's or the morning's digest.
    async fn start(
        &self,
        alert: &Alert,
        round: u32,
        now: Millis,
        writes: &mut Vec<NotifyWrite>,
    ) -> Result<(), crate::store::StoreError> {
        let channels = self.carrying(alert).await?;
        if channels.is_empty() {
            return Ok(());
        }
        // No longer waiting for anybody: nothing new.
        let current = self.store.alert(alert.id).await?;
        if !current.as_ref().is_some_and(needs_somebody) {
            return Ok(());
        }
        // A critical alarm always pages, even one raised again at once.
        let storm = alert.severity < Severity::Critical
            && self
                .store
                .chain_started_since(&alert.home, alert.kind, now - STORM_WINDOW_MS)
                .await?;
        if storm {
            tracing::info!(
                alert = alert.id,
                "for the storm's digest: {} at {} paged within the last 10 minutes",
                alert.kind.as_str(),
                alert.home
            );
            writes.push(NotifyWrite::Digest {
                alert_id: alert.id,
                community: alert.community.clone(),
                why: "storm",
                due_ms: now + STORM_WINDOW_MS,
            });
            return Ok(());
        }
        let roster = self.store.roster(&alert.community).await?;
        let morning = roster.as_ref().filter(|r| {
            alert.severity < Severity::Critical && r.warnings == WarningDelivery::Digest
        });
        if let Some(minute) = morning.and_then(roster::digest_minute) {
            writes.push(NotifyWrite::Digest {
                alert_id: alert.id,
                community: alert.community.clone(),
                why: "morning",
                due_ms: crate::clock::next_china_minute(now, minute),
            });
            return Ok(());
        }
        let level = u32::from(roster.is_some());
        self.enqueue_level(
            alert,
            &channels,
            roster.as_ref(),
            (round, level),
            now,
            writes,
        )
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
            round,
            level,
            next_ms,
            answered: false,
        }));
        Ok(())
    }

    /// Sends the digests that are due: per community, one message on every channel
    /// that carries its alerts, naming each alert (what, where, when, whether somebody
    /// is on it), as a message of the first of them.
    async fn send_digests(&self) -> Result<(), crate::store::StoreError> {
        let now = crate::clock::now_ms();
        let due = self.store.digest_due(now).await?;
        if due.is_empty() {
            return Ok(());
        }
        let mut by_community: Vec<(linli_domain::CommunityId, Vec<i64>)> = Vec::new();
        for (alert, community) in due {
            match by_community.iter_mut().find(|(c, _)| *c == community) {
                Some((_, alerts)) => alerts.push(alert),
                None => by_community.push((community, vec![alert])),
            }
        }
        let mut writes = Vec::new();
        for (_, alert_ids) in by_community {
            let mut alerts = Vec::new();
            for id in &alert_ids {
                if let Some(alert) = self.store.alert(*id).await? {
                    alerts.push(alert);
                }
            }
            let Some(anchor) = alerts.first().cloned() else {
                continue;
            };
            let mut places = Vec::new();
            for alert in &alerts {
                places.push(self.names.of(self.store.as_ref(), alert).await?);
            }
            let message = digest_message(&alerts, &places, self.link(&anchor));
            for channel in self.carrying(&anchor).await? {
                // A digest names no person on duty: nobody to text.
                if channel.kind == ChannelKind::Sms {
                    continue;
                }
                writes.push(NotifyWrite::Enqueue(NewDelivery {
                    alert_id: anchor.id,
                    round: 1,
                    level: DIGEST_LEVEL,
                    level_title: message.level_title.clone(),
                    channel_id: channel.id,
                    person: None,
                    message: serde_json::to_value(&message).unwrap_or_default(),
                }));
            }
            writes.push(NotifyWrite::Digested {
                alert_ids,
                anchor: anchor.id,
            });
        }
        self.store.notify_apply(now, None, writes).await?;
        self.outbox.notify_one();
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
            let alert = match alert {
                Some(alert) if needs_somebody(&alert) => alert,
                other => {
                    writes.push(NotifyWrite::EndChain {
                        alert_id: chain.alert_id,
                        why: other.as_ref().map_or("resolved", why_ended),
                    });
                    continue;
                }
            };
            let roster = self.store.roster(&alert.community).await?;
            let Some(roster) = roster.filter(|r| (chain.level as usize) < r.levels.len()) else {
                writes.push(NotifyWrite::Chain(Chain {
                    next_ms: None,
                    ..chain
                }));
                continue;
            };
            let channels = self.carrying(&alert).await?;
            let level = chain.level + 1;
            self.enqueue_level(
                &alert,
                &channels,
                Some(&roster),
                (chain.round, level),
                now,
                &mut writes,
            )
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
            self.record_unrecorded().await;
            let now = crate::clock::now_ms();
            self.sending.lock().expect("sending lock").ended.clear();
            // A message cannot be fenced like a write: a leader that another server
            // replaced (it stops within seconds) sends nothing more meanwhile.
            if !self.store.still_leads().await.unwrap_or(false) {
                tokio::time::sleep(Duration::from_millis(500)).await;
                continue;
            }
            match self.store.outbox_due(now, 200).await {
                Ok(due) => {
                    let unrecorded = self.unrecorded.lock().expect("unrecorded lock");
                    let mut sending = self.sending.lock().expect("sending lock");
                    for delivery in due {
                        let fresh = sending.now.len() < SENDING_AT_ONCE
                            && !sending.ended.contains(&delivery.id)
                            && !unrecorded.contains_key(&delivery.id)
                            && sending.now.insert(delivery.id);
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

    /// Records the outcomes the database could not take before.
    async fn record_unrecorded(&self) {
        let waiting: Vec<(i64, NotifyWrite)> = self
            .unrecorded
            .lock()
            .expect("unrecorded lock")
            .iter()
            .map(|(id, write)| (*id, write.clone()))
            .collect();
        for (id, write) in waiting {
            if self
                .store
                .notify_apply(crate::clock::now_ms(), None, vec![write])
                .await
                .is_ok()
            {
                self.unrecorded.lock().expect("unrecorded lock").remove(&id);
            }
        }
    }

    /// One try of one message, and what it leads to.
    async fn send_one(self: Arc<Self>, delivery: PendingDelivery) {
        let channel = &delivery.channel;
        let request = serde_json::from_value(delivery.new.message.clone())
            .map_err(|e| robots::Unsendable(format!("the stored message is unreadable: {e}")))
            .and_then(|message: robots::Message| {
                let message = robots::Message {
                    delivery: delivery.id,
                    ..message
                };
                robots::request(
                    channel.kind,
                    &channel.url,
                    channel.secret.as_deref(),
                    &message,
                    delivery.new.person.as_ref(),
                    crate::clock::now_ms(),
                )
            });
        let outcome = match request {
            Ok(request) => self.post(channel.kind, request).await,
            Err(robots::Unsendable(why)) => Err(robots::NotTaken { why, retry: false }),
        };
        // After the answer (or the timeout): the backoff counts from here.
        let now = crate::clock::now_ms();
        let attempts = delivery.attempts + 1;
        let event = json!({
            "alert": delivery.new.alert_id, "delivery": delivery.id, "level": delivery.new.level,
            "level_title": delivery.new.level_title, "channel": channel.name, "kind": channel.kind,
            "person": delivery.new.person.as_ref().map(|p| &p.name), "attempts": attempts,
        });
        let write = match outcome {
            Ok(()) => NotifyWrite::Sent {
                id: delivery.id,
                event,
            },
            Err(robots::NotTaken { why, retry: true }) if attempts < MAX_ATTEMPTS => {
                let backoff = (FIRST_BACKOFF_MS << (attempts - 1).min(10)).min(MAX_BACKOFF_MS);
                tracing::info!(
                    delivery = delivery.id,
                    "{} did not take a message: {why}; again in {backoff} ms",
                    channel.name
                );
                NotifyWrite::Retry {
                    id: delivery.id,
                    next_try_ms: now + backoff,
                    error: why,
                }
            }
            Err(robots::NotTaken { why, .. }) => {
                tracing::warn!(
                    delivery = delivery.id,
                    "giving up on a message by {}: {why}",
                    channel.name
                );
                let mut event = event;
                event["error"] = json!(why);
                NotifyWrite::Failed {
                    id: delivery.id,
                    alert_id: delivery.new.alert_id,
                    round: delivery.new.round,
                    level: delivery.new.level,
                    error: why,
                    event,
                }
            }
        };
        if let Err(e) = self
            .store
            .notify_apply(now, None, vec![write.clone()])
            .await
        {
            // Sent or not, it must not go again before this is recorded.
            tracing::warn!(
                delivery = delivery.id,
                "cannot record a message's try yet: {e}"
            );
            self.unrecorded
                .lock()
                .expect("unrecorded lock")
                .insert(delivery.id, write);
        }
        {
            let mut sending = self.sending.lock().expect("sending lock");
            sending.now.remove(&delivery.id);
            sending.ended.insert(delivery.id);
        }
        self.outbox.notify_one();
    }

    /// Posts a request and reads at most [`MAX_ANSWER`] of the answer.
    async fn post(
        &self,
        kind: ChannelKind,
        request: robots::Outgoing,
    ) -> Result<(), robots::NotTaken> {
        let mut builder = self
            .client
            .post(&request.url)
            .header("content-type", "application/json; charset=utf-8")
            .body(request.body);
        for (name, value) in request.headers {
            builder = builder.header(name, value);
        }
        let unreachable = |e: reqwest::Error| {
            // Never the URL: it holds the robot's key.
            let e = e.without_url();
            let why = if e.is_timeout() {
                format!("no answer within {SEND_TIMEOUT:?}")
            } else {
                let cause = std::error::Error::source(&e)
                    .map(|c| format!(": {c}"))
                    .unwrap_or_default();
                format!("cannot reach the receiver ({e}{cause})")
            };
            robots::NotTaken { why, retry: true }
        };
        let mut answer = builder.send().await.map_err(unreachable)?;
        let status = answer.status().as_u16();
        let mut body = Vec::new();
        while body.len() < MAX_ANSWER {
            match answer.chunk().await {
                Ok(Some(chunk)) => body.extend_from_slice(&chunk),
                _ => break,
            }
        }
        body.truncate(MAX_ANSWER);
        robots::accepted(kind, status, &body)
    }
}
