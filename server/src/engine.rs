//! The rules engine: one task that owns what the rules remember of every home and the
//! [`AlertBook`], and the only writer of readings and alerts.
//!
//! Everything that changes them arrives as a [`Call`] on one channel: readings (from
//! the HTTP endpoint, MQTT or the built-in simulator) and people's actions on alerts,
//! from this server or forwarded by another (`crate::cluster`); each gets an [`Answer`].
//! Waiting readings are taken together and committed in one transaction (group commit)
//! with every alert they cause: a reading is acknowledged only once it and its
//! consequences are durable, and after a crash nothing is half there. A timer runs the
//! time-based rules.
//!
//! Repeats (a device sending a reading again) are told apart here, in memory
//! ([`Seen`]), before anything is stored.
//!
//! What the rules remember, and which readings were seen, is saved as a checkpoint
//! every minute; on start the engine loads it and replays the readings stored after it
//! (quietly: their alerts were committed with them), so learned water patterns and the
//! repeat check survive restarts and crashes.

use crate::alerts::{ActError, AlertBook, HomePlace, Request};
use crate::clock::Millis;
use crate::ingest::dedup::{Seen, Verdict};
use crate::ingest::parse::Refused;
use crate::live::Live;
use crate::reading::Reading;
use crate::rules::{self, HomeState, Signal, Thresholds};
use crate::store::{Actor, DynStore, EngineWrite, SensorSeen, StoreError};
use linli_domain::alerts::{Alert, AlertKind, Refusal};
use linli_domain::care::ThresholdOverrides;
use linli_domain::care::{Health, SensorKind};
use linli_domain::CommunityId;
use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

/// Readings taken into one transaction at most.
const GROUP_MAX_READINGS: usize = 50_000;
/// How often the time-based rules run.
const TICK: Duration = Duration::from_secs(5);
/// How often the rules' state is saved.
const CHECKPOINT_MS: Millis = 60_000;
/// How often homes and devices are read again (imports, new devices, revocations).
const RESYNC_MS: Millis = 30_000;
/// Cleared alerts younger than this are loaded, so that they can reopen.
const REOPEN_LOOK_BACK_MS: Millis = 2 * 3_600_000;
/// Unknown device ids looked up per batch at most (the others are refused unlooked).
const UNKNOWN_LOOKUP: usize = 100;
/// Readings replayed per store query on start.
const REPLAY_PAGE: u32 = 20_000;

/// Who sent readings, which decides the devices they may be for.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Source {
    /// A device token: its own readings only.
    Device(String),
    /// A gateway token: devices of homes in these communities (all when empty).
    Gateway(Vec<CommunityId>),
    /// MQTT (the topic's device was checked against the payload) and the built-in
    /// simulator: any device Linli knows.
    Trusted,
}

/// Whether a gateway of `communities` (all when empty) sends for a device of a home in
/// `community` (`None`: a device without a known home).
pub fn gateway_covers(communities: &[CommunityId], community: Option<&CommunityId>) -> bool {
    communities.is_empty() || community.is_some_and(|c| communities.contains(c))
}

/// What became of a batch: readings stored, repeats skipped, and the records refused
/// (by their index in the batch given to [`EngineHandle::ingest`]).
#[derive(
    Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema,
)]
pub struct Accepted {
    pub accepted: usize,
    pub duplicates: usize,
    pub refused: Vec<Refused>,
}

impl Accepted {
    /// The answer numbered as the caller's body: the engine numbers the readings it was
    /// given (`indices[i]` is the body's number of reading `i`), to which the records
    /// the parser refused are added.
    pub fn numbered_as_sent(mut self, indices: &[usize], parser_refused: Vec<Refused>) -> Self {
        for refused in &mut self.refused {
            refused.index = indices[refused.index];
        }
        self.refused.extend(parser_refused);
        self.refused.sort_by_key(|r| r.index);
        self
    }

    /// A line for the log: how many records were refused, and the first few reasons.
    pub fn refusals_summary(&self) -> Option<String> {
        let first: Vec<String> = self
            .refused
            .iter()
            .take(3)
            .map(|r| format!("record {}: {}", r.index, r.reason))
            .collect();
        (!first.is_empty())
            .then(|| format!("{} refused ({})", self.refused.len(), first.join("; ")))
    }
}

#[derive(Debug, Clone, PartialEq, thiserror::Error, serde::Serialize, serde::Deserialize)]
pub enum IngestError {
    #[error("the readings could not be stored; send them again")]
    Unavailable,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error, serde::Serialize, serde::Deserialize)]
pub enum EngineActError {
    #[error("{0}")]
    Act(#[from] ActError),
    #[error("this is outside your communities")]
    Forbidden,
    /// The caller may not make this change (the message says why).
    #[error("{0}")]
    NotAllowed(String),
    #[error("there is no home `{0}`")]
    NoHome(String),
    #[error("{0}")]
    Invalid(String),
    /// The change clashes with what is there (the message says how).
    #[error("{0}")]
    Conflict(String),
    #[error("the change could not be stored; try again")]
    Unavailable,
}

/// What a commander does with a drill (see `linli_domain::drill`).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum DrillStep {
    /// Raise the alert of `kind` at `home`, marked as a drill.
    Start { home: String, kind: AlertKind },
    /// Resolve drill `id`'s alert as `drill-ended`, if it is still active.
    End { id: i64 },
}

/// A change of the thresholds at one level, as someone asks for it.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct ThresholdChange {
    /// The home, or `None` for the district.
    pub home: Option<String>,
    /// What is to differ from what applies above (all of it: `{}` takes it back).
    pub overrides: ThresholdOverrides,
    /// Why, in the asker's words: needed to loosen (see `rules::loosened`), recorded
    /// with the change when given.
    pub reason: Option<String>,
    pub by: Actor,
    /// The caller's communities, when limited to some.
    pub scope: Option<Vec<CommunityId>>,
    /// Whether the caller may loosen thresholds (commanders); others may only
    /// tighten them.
    pub may_loosen: bool,
}

/// Thresholds as they apply, and what the office changed of them at that level.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct ThresholdsView {
    /// The home, or none for the district.
    pub home: Option<String>,
    /// What the rules apply (`rules::Thresholds`).
    #[schema(value_type = Object)]
    pub effective: Thresholds,
    /// The fields changed at this level (over the defaults for the district, over the
    /// district's for a home).
    #[schema(value_type = Object)]
    pub overrides: ThresholdOverrides,
}

/// Readings waiting for the group commit, with where to send the answer.
type Waiting = (Source, Vec<Reading>, Reply);

/// A handle to the engine, cheap to clone.
#[derive(Clone)]
pub struct EngineHandle {
    commands: mpsc::Sender<(Call, Reply)>,
}

impl EngineHandle {
    /// Sends `call` and waits for the engine's answer (that it is unavailable when the
    /// engine is gone or gave none).
    pub async fn ask(&self, call: Call) -> Answer {
        let unavailable = call.unavailable();
        let (reply, answer) = oneshot::channel();
        if self.commands.send((call, Reply(reply))).await.is_err() {
            return unavailable;
        }
        answer.await.unwrap_or(unavailable)
    }

    /// Sends readings and waits until they are durable (or refused).
    pub async fn ingest(
        &self,
        source: Source,
        readings: Vec<Reading>,
    ) -> Result<Accepted, IngestError> {
        match self.ask(Call::Ingest { source, readings }).await {
            Answer::Ingest(answer) => answer,
            _ => Err(IngestError::Unavailable),
        }
    }

    /// A person acts on an alert, at `at` (when it was done on the device; the
    /// engine's clock when that is later).
    pub async fn act(
        &self,
        alert: i64,
        request: Request,
        by: Actor,
        at: Millis,
        scope: Option<Vec<CommunityId>>,
    ) -> Result<Alert, EngineActError> {
        let call = Call::Act {
            alert,
            request,
            by,
            at,
            scope,
        };
        match self.ask(call).await {
            Answer::Act(answer) => answer,
            _ => Err(EngineActError::Unavailable),
        }
    }

    /// The thresholds of the district (`home` is `None`) or of a home.
    pub async fn thresholds(
        &self,
        home: Option<String>,
        scope: Option<Vec<CommunityId>>,
    ) -> Result<ThresholdsView, EngineActError> {
        match self.ask(Call::Thresholds { home, scope }).await {
            Answer::Thresholds(answer) => answer,
            _ => Err(EngineActError::Unavailable),
        }
    }

    /// Replaces what the office changed of the thresholds at one level: refused when
    /// the result breaks a bound (`rules::LIMITS`), or loosens a threshold and the
    /// caller may not, or gave no reason.
    pub async fn set_thresholds(
        &self,
        change: ThresholdChange,
    ) -> Result<ThresholdsView, EngineActError> {
        match self.ask(Call::SetThresholds { change }).await {
            Answer::Thresholds(answer) => answer,
            _ => Err(EngineActError::Unavailable),
        }
    }

    /// Starts a drill (its new alert) or ends one (its alert, if a person had not
    /// resolved it yet).
    pub async fn drill(
        &self,
        step: DrillStep,
        by: Actor,
        at: Millis,
    ) -> Result<Option<Alert>, EngineActError> {
        match self.ask(Call::Drill { step, by, at }).await {
            Answer::Drill(answer) => answer,
            _ => Err(EngineActError::Unavailable),
        }
    }

    /// Records a home's morning check-in made at `at`.
    pub async fn check_in(
        &self,
        home: String,
        at: Millis,
        note: String,
        by: Actor,
        scope: Option<Vec<CommunityId>>,
    ) -> Result<(), EngineActError> {
        let call = Call::CheckIn {
            home,
            at,
            note,
            by,
            scope,
        };
        match self.ask(call).await {
            Answer::CheckIn(answer) => answer,
            _ => Err(EngineActError::Unavailable),
        }
    }
}

/// An engine command as one server sends it to another (`crate::cluster`): what it
/// asks, without where the answer goes.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub enum Call {
    Ingest {
        source: Source,
        readings: Vec<Reading>,
    },
    Act {
        alert: i64,
        request: Request,
        by: Actor,
        at: Millis,
        scope: Option<Vec<CommunityId>>,
    },
    Thresholds {
        home: Option<String>,
        scope: Option<Vec<CommunityId>>,
    },
    SetThresholds {
        change: ThresholdChange,
    },
    CheckIn {
        home: String,
        at: Millis,
        note: String,
        by: Actor,
        scope: Option<Vec<CommunityId>>,
    },
    Drill {
        step: DrillStep,
        by: Actor,
        at: Millis,
    },
}

/// The engine's answer to a [`Call`].
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub enum Answer {
    Ingest(Result<Accepted, IngestError>),
    Act(Result<Alert, EngineActError>),
    Thresholds(Result<ThresholdsView, EngineActError>),
    CheckIn(Result<(), EngineActError>),
    Drill(Result<Option<Alert>, EngineActError>),
}

impl Call {
    /// The answer that says the engine could not be reached: nothing was done.
    pub fn unavailable(&self) -> Answer {
        match self {
            Call::Ingest { .. } => Answer::Ingest(Err(IngestError::Unavailable)),
            Call::Act { .. } => Answer::Act(Err(EngineActError::Unavailable)),
            Call::Thresholds { .. } | Call::SetThresholds { .. } => {
                Answer::Thresholds(Err(EngineActError::Unavailable))
            }
            Call::CheckIn { .. } => Answer::CheckIn(Err(EngineActError::Unavailable)),
            Call::Drill { .. } => Answer::Drill(Err(EngineActError::Unavailable)),
        }
    }
}

/// Where a call's answer goes.
pub struct Reply(oneshot::Sender<Answer>);

impl Reply {
    pub fn send(self, answer: Answer) {
        let _ = self.0.send(answer);
    }
}

impl EngineHandle {
    /// A handle, and the calls sent through it for whichever takes them: the engine
    /// ([`start`]) on the server that runs the rules, a forwarder on the others.
    pub fn channel() -> (EngineHandle, Commands) {
        let (commands, receiver) = mpsc::channel(1024);
        (EngineHandle { commands }, Commands(receiver))
    }
}

/// The calls sent through an [`EngineHandle`], not yet taken.
pub struct Commands(mpsc::Receiver<(Call, Reply)>);

impl Commands {
    /// The next call and where its answer goes; `None` once every handle is gone.
    pub async fn next(&mut self) -> Option<(Call, Reply)> {
        self.0.recv().await
    }
}

struct Device {
    home: String,
    revoked: bool,
}

struct HomeEntry {
    place: HomePlace,
    state: HomeState,
    /// The home's own thresholds, when the office changed some.
    thresholds: Option<Thresholds>,
}

struct Engine {
    store: DynStore,
    live: Arc<Live>,
    clock: fn() -> Millis,
    /// The built-in defaults, …
    defaults: Thresholds,
    /// … what the office changed of them for the district and for homes, …
    overrides: HashMap<Option<String>, ThresholdOverrides>,
    /// … and the district's thresholds that result (homes' are in their entry).
    district: Thresholds,
    devices: HashMap<String, Device>,
    homes: HashMap<String, HomeEntry>,
    book: AlertBook,
    /// Which readings each device sent, to tell repeats.
    seen: Seen,
    /// The health last written per device.
    health: HashMap<String, Health>,
    last_reading_id: i64,
    /// Devices heard from since the last checkpoint.
    heard: BTreeSet<String>,
    last_checkpoint: Millis,
    last_resync: Millis,
    /// Unknown device ids recently looked up, and when.
    unknown_checked: HashMap<String, Millis>,
    /// A failed commit left the memory ahead of the store and reading it again failed.
    stale: bool,
}

/// Loads the engine's state from the store and starts its task.
pub async fn start(
    store: DynStore,
    live: Arc<Live>,
    thresholds: Thresholds,
    clock: fn() -> Millis,
    commands: Commands,
) -> Result<(), StoreError> {
    let now = clock();
    let mut engine = Engine {
        store,
        live,
        clock,
        district: thresholds.clone(),
        defaults: thresholds,
        overrides: HashMap::new(),
        devices: HashMap::new(),
        homes: HashMap::new(),
        book: AlertBook::default(),
        seen: Seen::default(),
        health: HashMap::new(),
        last_reading_id: 0,
        heard: BTreeSet::new(),
        last_checkpoint: now,
        last_resync: now,
        unknown_checked: HashMap::new(),
        stale: false,
    };
    engine.load().await?;
    tokio::spawn(engine.run(commands.0));
    Ok(())
}

impl Engine {
    /// Reads everything again from the store: homes and devices, the checkpoint and
    /// the readings after it, and the alerts.
    async fn load(&mut self) -> Result<(), StoreError> {
        let now = (self.clock)();
        self.homes.clear();
        self.sync_homes().await?;
        self.overrides = self
            .store
            .threshold_overrides()
            .await?
            .into_iter()
            .collect();
        self.apply_thresholds();
        let (mut after, saved) = self.store.rule_state().await?.unwrap_or((0, "{}".into()));
        let saved = Checkpoint::read(&saved);
        self.seen = saved.seen;
        for (id, state) in saved.homes {
            if let Some(home) = self.homes.get_mut(&id) {
                let devices = std::mem::take(&mut home.state.devices);
                home.state = state;
                // Devices as stored now: keep what was remembered of those still there.
                let mut remembered = std::mem::take(&mut home.state.devices);
                home.state.devices = devices
                    .into_iter()
                    .map(|(id, fresh)| {
                        let state = remembered.remove(&id).filter(|d| d.kind == fresh.kind);
                        (id, state.unwrap_or(fresh))
                    })
                    .collect();
            }
        }
        let mut ignored = Vec::new();
        loop {
            let page = self.store.readings_after(after, REPLAY_PAGE).await?;
            let Some((last, _)) = page.last() else { break };
            after = *last;
            for (_, reading) in &page {
                self.seen.remember(reading);
                if let Some(home) = self
                    .devices
                    .get(&reading.device)
                    .and_then(|d| self.homes.get_mut(&d.home))
                {
                    let t = home.thresholds.as_ref().unwrap_or(&self.district);
                    rules::on_reading(&mut home.state, reading, t, &mut ignored);
                    ignored.clear();
                }
            }
        }
        self.last_reading_id = after;
        // Check-ins are not in the checkpoint: today's are read again.
        for (home, at) in self.store.check_ins_since(now - rules::DAY_MS).await? {
            if let Some(home) = self.homes.get_mut(&home) {
                let t = home.thresholds.as_ref().unwrap_or(&self.district);
                rules::on_check_in(&mut home.state, at, t, &mut ignored);
                ignored.clear();
            }
        }
        self.book = AlertBook::new(
            self.store.engine_alerts(now - REOPEN_LOOK_BACK_MS).await?,
            self.store.max_alert_id().await?,
        );
        self.health.clear();
        let homes: Vec<String> = self.homes.keys().cloned().collect();
        for home in homes {
            for (device, health, _) in self.device_health(&home) {
                self.health.insert(device, health);
            }
        }
        self.last_resync = now;
        Ok(())
    }

    /// Brings homes and devices up to date with the store, keeping what the rules
    /// remember of those that stay.
    async fn sync_homes(&mut self) -> Result<(), StoreError> {
        let homes = self.store.homes(None).await?;
        let devices = self.store.devices().await?;
        let mut old = std::mem::take(&mut self.homes);
        for home in homes {
            let mut entry = old.remove(&home.id).unwrap_or_else(|| HomeEntry {
                place: HomePlace {
                    id: home.id.clone(),
                    community: home.community.clone(),
                    building: home.building.clone(),
                    grid: home.grid.clone(),
                    position: home.position,
                },
                state: HomeState::default(),
                thresholds: None,
            });
            entry.place.community = home.community;
            entry.place.building = home.building;
            entry.place.grid = home.grid;
            entry.place.position = home.position;
            entry
                .state
                .devices
                .retain(|id, _| devices.iter().any(|d| &d.id == id && d.home == home.id));
            self.homes.insert(home.id, entry);
        }
        self.devices.clear();
        for d in devices {
            if let Some(home) = self.homes.get_mut(&d.home) {
                home.state
                    .devices
                    .entry(d.id.clone())
                    .or_insert_with(|| rules::DeviceState::new(d.kind));
            }
            self.devices.insert(
                d.id,
                Device {
                    home: d.home,
                    revoked: d.revoked,
                },
            );
        }
        self.last_resync = (self.clock)();
        self.apply_thresholds();
        Ok(())
    }

    /// The thresholds `overrides` would give the district and each home with some of
    /// its own, or the first that makes no sense.
    fn thresholds_from(
        &self,
        overrides: &HashMap<Option<String>, ThresholdOverrides>,
    ) -> Result<(Thresholds, HashMap<String, Thresholds>), String> {
        let district = match overrides.get(&None) {
            Some(o) => self
                .defaults
                .with(o)
                .map_err(|e| format!("district: {e}"))?,
            None => self.defaults.clone(),
        };
        let mut homes = HashMap::new();
        for (home, o) in overrides {
            if let Some(home) = home {
                let t = district
                    .with(o)
                    .map_err(|e| format!("home `{home}`: {e}"))?;
                homes.insert(home.clone(), t);
            }
        }
        Ok((district, homes))
    }

    /// Works out the thresholds of the district and of every home from the overrides.
    /// Changes are checked before they are stored, but overrides stored before a bound
    /// existed may break it: such a field is dropped (and logged), at that level only,
    /// so that one home's senseless override neither applies nor takes the others'
    /// with it.
    fn apply_thresholds(&mut self) {
        let district_overrides = self.overrides.get(&None).cloned().unwrap_or_default();
        let (district, kept, dropped) = self.defaults.with_sensible(&district_overrides);
        if !dropped.is_empty() {
            for refusal in &dropped {
                tracing::error!("stored district threshold dropped: {refusal}");
            }
            self.overrides.insert(None, kept);
        }
        let mut homes = HashMap::new();
        for (home, overrides) in &mut self.overrides {
            let Some(home) = home else { continue };
            let (t, kept, dropped) = district.with_sensible(overrides);
            if !dropped.is_empty() {
                for refusal in &dropped {
                    tracing::error!("stored threshold of home `{home}` dropped: {refusal}");
                }
                *overrides = kept;
            }
            homes.insert(home.clone(), t);
        }
        self.district = district;
        for (id, home) in &mut self.homes {
            home.thresholds = homes.remove(id);
        }
    }

    /// The thresholds that apply to `home` (the district's when `None` or when it has
    /// none of its own).
    fn effective(&self, home: Option<&str>) -> Thresholds {
        home.and_then(|h| self.homes.get(h))
            .and_then(|h| h.thresholds.clone())
            .unwrap_or_else(|| self.district.clone())
    }

    fn thresholds_view(&self, home: Option<String>) -> ThresholdsView {
        let effective = self.effective(home.as_deref());
        ThresholdsView {
            overrides: self.overrides.get(&home).cloned().unwrap_or_default(),
            home,
            effective,
        }
    }

    /// The community of `home`, when the caller may act on it.
    fn home_in_scope(
        &self,
        home: &str,
        scope: &Option<Vec<CommunityId>>,
    ) -> Result<CommunityId, EngineActError> {
        let entry = self
            .homes
            .get(home)
            .ok_or_else(|| EngineActError::NoHome(home.to_string()))?;
        match scope {
            Some(s) if !s.contains(&entry.place.community) => Err(EngineActError::Forbidden),
            _ => Ok(entry.place.community.clone()),
        }
    }

    async fn run(mut self, mut commands: mpsc::Receiver<(Call, Reply)>) {
        let mut tick = tokio::time::interval(TICK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                command = commands.recv() => {
                    let Some(command) = command else { break };
                    let mut group = vec![command];
                    let mut readings = 0;
                    while readings < GROUP_MAX_READINGS {
                        match commands.try_recv() {
                            Ok(command) => {
                                if let (Call::Ingest { readings: r, .. }, _) = &command {
                                    readings += r.len();
                                }
                                group.push(command);
                            }
                            Err(_) => break,
                        }
                    }
                    self.handle(group).await;
                }
                _ = tick.tick() => self.tick().await,
            }
        }
        self.checkpoint().await;
    }

    async fn handle(&mut self, group: Vec<(Call, Reply)>) {
        let mut batches = Vec::new();
        for (call, reply) in group {
            let answer = match call {
                Call::Ingest { source, readings } => {
                    batches.push((source, readings, reply));
                    continue;
                }
                Call::Act {
                    alert,
                    request,
                    by,
                    at,
                    scope,
                } => Answer::Act(self.act(alert, request, by, at, scope).await),
                Call::Thresholds { home, scope } => {
                    let result = match &home {
                        Some(h) => self.home_in_scope(h, &scope).map(|_| ()),
                        None => Ok(()),
                    };
                    Answer::Thresholds(result.map(|()| self.thresholds_view(home)))
                }
                Call::SetThresholds { change } => {
                    Answer::Thresholds(self.set_thresholds(change).await)
                }
                Call::CheckIn {
                    home,
                    at,
                    note,
                    by,
                    scope,
                } => Answer::CheckIn(self.check_in(home, at, note, by, scope).await),
                Call::Drill { step, by, at } => Answer::Drill(self.drill(step, by, at).await),
            };
            reply.send(answer);
        }
        if !batches.is_empty() {
            self.ingest(batches).await;
        }
    }

    /// Why `source` may not send each reading, if it may not. Device ids the engine does
    /// not know are looked up (one indexed query for up to [`UNKNOWN_LOOKUP`] of them,
    /// each at most once a second); only when one of them is stored (added by `linli
    /// device add` in another process) are homes and devices read again. Made-up ids
    /// cost a small query, never a reload.
    async fn refusals(&mut self, source: &Source, readings: &[Reading]) -> Vec<Option<String>> {
        let now = (self.clock)();
        let mut unknown: Vec<String> = Vec::new();
        // The usual batch names only known devices: nothing to sweep or look up.
        if readings
            .iter()
            .any(|r| !self.devices.contains_key(&r.device))
        {
            self.unknown_checked.retain(|_, at| now - *at < 1_000);
            unknown = readings
                .iter()
                .filter(|r| {
                    !self.devices.contains_key(&r.device)
                        && !self.unknown_checked.contains_key(&r.device)
                })
                .map(|r| r.device.clone())
                .collect();
        }
        unknown.sort_unstable();
        unknown.dedup();
        unknown.truncate(UNKNOWN_LOOKUP);
        if !unknown.is_empty() {
            match self.store.known_devices(&unknown).await {
                Ok(found) if !found.is_empty() => {
                    if let Err(e) = self.sync_homes().await {
                        tracing::error!("cannot read devices: {e}");
                    }
                }
                Ok(_) => {}
                Err(e) => tracing::error!("cannot look devices up: {e}"),
            }
            if self.unknown_checked.len() < 100_000 {
                self.unknown_checked
                    .extend(unknown.into_iter().map(|d| (d, now)));
            }
        }
        readings
            .iter()
            .map(|r| {
                let Some(known) = self.devices.get(&r.device) else {
                    return Some(format!(
                        "there is no device `{}`; add it with `linli device add`",
                        r.device
                    ));
                };
                if known.revoked {
                    return Some(format!("device `{}` is revoked", r.device));
                }
                let allowed = match source {
                    Source::Trusted => true,
                    Source::Device(id) => *id == r.device,
                    Source::Gateway(communities) => gateway_covers(
                        communities,
                        self.homes.get(&known.home).map(|h| &h.place.community),
                    ),
                };
                (!allowed)
                    .then(|| format!("this token may not send readings of device `{}`", r.device))
            })
            .collect()
    }

    /// Decides on each reading of a batch: refused (who sent it may not, or it cannot
    /// be told from a repeat), a repeat, or new. Returns the answer and the new ones.
    async fn admit(&mut self, source: &Source, readings: Vec<Reading>) -> (Accepted, Vec<Reading>) {
        let refusals = self.refusals(source, &readings).await;
        let now = (self.clock)();
        let mut answer = Accepted::default();
        let mut new = Vec::with_capacity(readings.len());
        for (index, (reading, refusal)) in readings.into_iter().zip(refusals).enumerate() {
            if let Some(reason) = refusal {
                answer.refused.push(Refused { index, reason });
                continue;
            }
            match self.seen.admit(&reading, now) {
                Verdict::New => {
                    answer.accepted += 1;
                    new.push(reading);
                }
                Verdict::Repeat => answer.duplicates += 1,
                Verdict::TooOld { newest } => answer.refused.push(Refused {
                    index,
                    reason: format!(
                        "device `{}` already sent {newest}; a reading this far behind cannot be told from a repeat",
                        reading.device
                    ),
                }),
            }
        }
        (answer, new)
    }

    async fn ingest(&mut self, batches: Vec<Waiting>) {
        // After a failed commit the memory of which readings were seen may be ahead of
        // the store: nothing is taken until it has been read again.
        if self.stale {
            self.recover().await;
            if self.stale {
                for (_, _, reply) in batches {
                    reply.send(Answer::Ingest(Err(IngestError::Unavailable)));
                }
                return;
            }
        }
        let mut all = Vec::new();
        let mut waiting = Vec::new();
        for (source, readings, reply) in batches {
            let (answer, new) = self.admit(&source, readings).await;
            // A repeat is answered after the group's commit too: what it repeats may
            // be in this very group.
            if answer.accepted + answer.duplicates == 0 {
                reply.send(Answer::Ingest(Ok(answer)));
                continue;
            }
            all.extend(new);
            waiting.push((answer, reply));
        }
        if waiting.is_empty() {
            return;
        }
        let now = (self.clock)();
        let writes = self.decide(&all, now);
        match self.store.commit_readings(now, &all, writes).await {
            Ok(committed) => {
                self.last_reading_id = self.last_reading_id.max(committed.last_reading_id);
                for (answer, reply) in waiting {
                    reply.send(Answer::Ingest(Ok(answer)));
                }
                self.committed(&committed.cases);
            }
            Err(e) => {
                tracing::error!("cannot store readings: {e}");
                for (_, reply) in waiting {
                    reply.send(Answer::Ingest(Err(IngestError::Unavailable)));
                }
                self.recover().await;
            }
        }
    }

    /// The rules' verdict on new readings: alert and health changes.
    fn decide(&mut self, readings: &[Reading], now: Millis) -> Vec<EngineWrite> {
        let mut writes = Vec::new();
        let mut signals = Vec::new();
        let mut touched = BTreeSet::new();
        for reading in readings {
            let Some(device) = self.devices.get(&reading.device) else {
                continue;
            };
            let Some(home) = self.homes.get_mut(&device.home) else {
                continue;
            };
            let t = home.thresholds.as_ref().unwrap_or(&self.district);
            rules::on_reading(&mut home.state, reading, t, &mut signals);
            for signal in signals.drain(..) {
                self.book
                    .on_signal(&home.place, signal, now, t, &mut writes);
            }
            touched.insert(device.home.clone());
            self.heard.insert(reading.device.clone());
        }
        for home in touched {
            self.health_writes(&home, &mut writes);
        }
        writes
    }

    /// Each device of a home with its health and battery, from the rules' state and
    /// the active alerts.
    fn device_health(&self, home: &str) -> Vec<(String, Health, Option<u8>)> {
        let Some(entry) = self.homes.get(home) else {
            return Vec::new();
        };
        entry
            .state
            .devices
            .iter()
            .map(|(id, d)| {
                // An active alert this device raised.
                let raised_by_it = |kind| {
                    self.book
                        .active_of(home, kind)
                        .is_some_and(|a| a.device.as_deref() == Some(id.as_str()))
                };
                let alarm = match d.kind {
                    SensorKind::Water => [
                        AlertKind::NoWaterUse,
                        AlertKind::ContinuousFlow,
                        AlertKind::UnusualWaterUse,
                    ]
                    .into_iter()
                    .any(raised_by_it),
                    SensorKind::Gas => raised_by_it(AlertKind::Gas),
                    SensorKind::Smoke => raised_by_it(AlertKind::Smoke),
                };
                let health = if alarm || d.gas_present || d.smoke_present {
                    Health::Alarm
                } else if d.offline {
                    Health::Offline
                } else if d.battery_low || d.tampered {
                    Health::Warning
                } else {
                    Health::Ok
                };
                let battery = d.battery_pct.map(|b| b.clamp(0.0, 100.0).round() as u8);
                (id.clone(), health, battery)
            })
            .collect()
    }

    /// `sensor.status` writes for the devices of `home` whose health changed.
    fn health_writes(&mut self, home: &str, writes: &mut Vec<EngineWrite>) {
        let Some(community) = self.homes.get(home).map(|h| h.place.community.clone()) else {
            return;
        };
        for (device, health, battery_pct) in self.device_health(home) {
            if self.health.get(&device) == Some(&health) {
                continue;
            }
            let last_seen = self
                .homes
                .get(home)
                .and_then(|h| h.state.devices.get(&device))
                .and_then(|d| d.last_at);
            // A device never heard from keeps the health it was stored with.
            if last_seen.is_none() {
                continue;
            }
            self.health.insert(device.clone(), health);
            writes.push(EngineWrite::SensorStatus {
                device,
                home: home.to_string(),
                community: community.clone(),
                health,
                battery_pct,
                last_seen,
            });
        }
    }

    /// Commits changes that no reading brought (people's actions, the clock).
    async fn commit_writes(
        &self,
        now: Millis,
        writes: Vec<EngineWrite>,
    ) -> Result<crate::store::Committed, StoreError> {
        self.store.commit_readings(now, &[], writes).await
    }

    /// Commits a person's change (`what`, for the log): on success the opened cases are
    /// linked and the stream woken; on failure the engine reads its state again and
    /// the person is told to try again.
    async fn commit_change(
        &mut self,
        now: Millis,
        writes: Vec<EngineWrite>,
        what: &str,
    ) -> Result<crate::store::Committed, EngineActError> {
        match self.commit_writes(now, writes).await {
            Ok(committed) => {
                self.committed(&committed.cases);
                Ok(committed)
            }
            Err(e) => {
                tracing::error!("cannot store {what}: {e}");
                self.recover().await;
                Err(EngineActError::Unavailable)
            }
        }
    }

    /// After a commit: link opened cases and wake the live stream.
    fn committed(&mut self, cases: &[(i64, i64)]) {
        for (alert, case) in cases {
            self.book.link_case(*alert, *case);
        }
        self.live.wake();
    }

    /// After a failed commit the engine's memory may be ahead of the store: read it all
    /// again (and keep trying on later ticks if the store is still away).
    async fn recover(&mut self) {
        match self.load().await {
            Ok(()) => self.stale = false,
            Err(e) => {
                tracing::error!("cannot reload the rules' state: {e}");
                self.last_resync = 0;
                self.stale = true;
            }
        }
    }

    async fn set_thresholds(
        &mut self,
        change: ThresholdChange,
    ) -> Result<ThresholdsView, EngineActError> {
        let ThresholdChange {
            home,
            overrides,
            reason,
            by,
            scope,
            may_loosen,
        } = change;
        if let Some(h) = &home {
            self.home_in_scope(h, &scope)?;
        }
        let mut changed = self.overrides.clone();
        changed.insert(home.clone(), overrides.clone());
        let (district, homes) = self
            .thresholds_from(&changed)
            .map_err(EngineActError::Invalid)?;
        let level = home
            .as_ref()
            .and_then(|h| homes.get(h))
            .unwrap_or(&district);
        // Looser than what applies now, at this level (taking back a tighter override
        // loosens too). Checked here, in the one task that changes thresholds, so
        // that nothing can come between the comparison and the change.
        let loosened = rules::loosened(&self.effective(home.as_deref()), level);
        if !loosened.is_empty() {
            let fields = loosened.join(", ");
            if !may_loosen {
                return Err(EngineActError::NotAllowed(format!(
                    "only commanders may loosen thresholds, with a reason; this change loosens {fields}"
                )));
            }
            if reason.is_none() {
                return Err(EngineActError::Invalid(format!(
                    "this change loosens {fields}: say why in `reason` (text of 1–500 characters)"
                )));
            }
        }
        // Stored as the rules read them (`15` becomes `15.0`).
        let Ok(serde_json::Value::Object(read)) = serde_json::to_value(level) else {
            return Err(EngineActError::Unavailable);
        };
        let overrides: ThresholdOverrides = overrides
            .keys()
            .filter_map(|k| Some((k.clone(), read.get(k)?.clone())))
            .collect();
        changed.insert(home.clone(), overrides.clone());
        let now = (self.clock)();
        let write = EngineWrite::Thresholds {
            home: home.clone(),
            overrides,
            actor: by,
            reason,
            loosened,
        };
        if let Err(e) = self.commit_writes(now, vec![write]).await {
            tracing::error!("cannot store thresholds: {e}");
            return Err(EngineActError::Unavailable);
        }
        self.overrides = changed;
        self.apply_thresholds();
        self.live.wake();
        Ok(self.thresholds_view(home))
    }

    async fn check_in(
        &mut self,
        home: String,
        at: Millis,
        note: String,
        by: Actor,
        scope: Option<Vec<CommunityId>>,
    ) -> Result<(), EngineActError> {
        let community = self.home_in_scope(&home, &scope)?;
        let now = (self.clock)();
        let mut writes = vec![EngineWrite::CheckIn {
            home: home.clone(),
            community,
            at,
            note,
            actor: by,
        }];
        let mut signals = Vec::new();
        if let Some(entry) = self.homes.get_mut(&home) {
            let t = entry.thresholds.as_ref().unwrap_or(&self.district);
            rules::on_check_in(&mut entry.state, at, t, &mut signals);
            for signal in signals {
                self.book
                    .on_signal(&entry.place, signal, now, t, &mut writes);
            }
        }
        self.commit_change(now, writes, "a check-in").await?;
        Ok(())
    }

    async fn act(
        &mut self,
        alert: i64,
        request: Request,
        by: Actor,
        at: Millis,
        scope: Option<Vec<CommunityId>>,
    ) -> Result<Alert, EngineActError> {
        let now = (self.clock)();
        let Some(current) = self.book.get(alert) else {
            // Not active: resolved already, or no such alert.
            return match self.store.alert(alert).await {
                Ok(Some(a)) if scope.as_ref().is_some_and(|s| !s.contains(&a.community)) => {
                    Err(EngineActError::Forbidden)
                }
                Ok(Some(_)) => Err(ActError::Refused(Refusal::AlreadyResolved).into()),
                Ok(None) => Err(ActError::NotFound(alert).into()),
                Err(_) => Err(EngineActError::Unavailable),
            };
        };
        if scope
            .as_ref()
            .is_some_and(|s| !s.contains(&current.community))
        {
            return Err(EngineActError::Forbidden);
        }
        let home_id = current.home.clone();
        let place = self.homes.get(&home_id).map(|h| h.place.clone());
        let mut writes = Vec::new();
        let mut changed =
            self.book
                .act(alert, request, by, at.min(now), place.as_ref(), &mut writes)?;
        self.health_writes(&home_id, &mut writes);
        let committed = self.commit_change(now, writes, "an alert change").await?;
        if let Some((_, case)) = committed.cases.first() {
            changed.case_id = Some(*case);
        }
        Ok(changed)
    }

    async fn drill(
        &mut self,
        step: DrillStep,
        by: Actor,
        at: Millis,
    ) -> Result<Option<Alert>, EngineActError> {
        let now = (self.clock)();
        let at = at.min(now);
        let mut writes = Vec::new();
        let changed = match step {
            DrillStep::Start { home, kind } => {
                let place = self
                    .homes
                    .get(&home)
                    .map(|h| h.place.clone())
                    .ok_or_else(|| EngineActError::NoHome(home.clone()))?;
                let raised = self.book.start_drill(&place, kind, by, at, &mut writes);
                if raised.is_none() {
                    return Err(EngineActError::Conflict(format!(
                        "home `{home}` has a `{}` drill on already; end it first",
                        kind.as_str()
                    )));
                }
                raised
            }
            DrillStep::End { id } => self.book.end_drill(id, by, at, &mut writes),
        };
        if !writes.is_empty() {
            self.commit_change(now, writes, "a drill").await?;
        }
        Ok(changed)
    }

    /// The time-based rules, unacknowledged critical alerts, and the housekeeping:
    /// reading homes and devices again, saving the checkpoint.
    async fn tick(&mut self) {
        let now = (self.clock)();
        if now - self.last_resync > RESYNC_MS {
            if self.last_resync == 0 {
                self.recover().await;
            } else if let Err(e) = self.sync_homes().await {
                tracing::error!("cannot read homes and devices: {e}");
            }
        }
        let mut writes = Vec::new();
        let mut signals: Vec<Signal> = Vec::new();
        let mut touched = Vec::new();
        for (id, home) in &mut self.homes {
            let t = home.thresholds.as_ref().unwrap_or(&self.district);
            rules::on_tick(&mut home.state, now, t, &mut signals);
            if !signals.is_empty() {
                touched.push(id.clone());
            }
            for signal in signals.drain(..) {
                self.book
                    .on_signal(&home.place, signal, now, t, &mut writes);
            }
        }
        let (homes, district) = (&self.homes, &self.district);
        let thresholds_of = |home: &str| {
            homes
                .get(home)
                .and_then(|h| h.thresholds.clone())
                .unwrap_or_else(|| district.clone())
        };
        self.book.on_tick(now, thresholds_of, &mut writes);
        for home in touched {
            self.health_writes(&home, &mut writes);
        }
        if !writes.is_empty() {
            match self.commit_writes(now, writes).await {
                Ok(committed) => self.committed(&committed.cases),
                Err(e) => {
                    tracing::error!("cannot store what the time-based rules found: {e}");
                    self.recover().await;
                }
            }
        }
        if now - self.last_checkpoint >= CHECKPOINT_MS {
            self.checkpoint().await;
        }
    }

    /// Saves what the rules remember, and what each device showed last.
    async fn checkpoint(&mut self) {
        let now = (self.clock)();
        let checkpoint = SavedCheckpoint {
            homes: self.homes.iter().map(|(id, h)| (id, &h.state)).collect(),
            seen: &self.seen,
        };
        let json = match serde_json::to_string(&checkpoint) {
            Ok(json) => json,
            Err(e) => {
                tracing::error!("cannot write the rules' checkpoint: {e}");
                return;
            }
        };
        let seen: Vec<SensorSeen> = self
            .heard
            .iter()
            .filter_map(|id| {
                let device = self.devices.get(id)?;
                let state = self.homes.get(&device.home)?.state.devices.get(id)?;
                Some(SensorSeen {
                    device: id.clone(),
                    battery_pct: state.battery_pct.map(|b| b.clamp(0.0, 100.0).round() as u8),
                    last_seen: state.last_at?,
                })
            })
            .collect();
        match self
            .store
            .save_rule_state(now, self.last_reading_id, &json, &seen)
            .await
        {
            Ok(()) => {
                self.heard.clear();
                self.last_checkpoint = now;
            }
            Err(e) => tracing::error!("cannot save the rules' checkpoint: {e}"),
        }
    }
}

/// What the engine saves every minute: the rules' state of every home and which
/// readings were seen ([`SavedCheckpoint`] writes it without copying).
#[derive(Default, serde::Deserialize)]
struct Checkpoint {
    homes: HashMap<String, HomeState>,
    #[serde(default)]
    seen: Seen,
}

/// A [`Checkpoint`] being written, borrowed from the engine.
#[derive(serde::Serialize)]
struct SavedCheckpoint<'a> {
    homes: HashMap<&'a String, &'a HomeState>,
    seen: &'a Seen,
}

impl Checkpoint {
    /// Reads a saved checkpoint; one from before repeats were told in memory is only
    /// the homes' state (its readings were checked by the store's unique index).
    fn read(json: &str) -> Checkpoint {
        serde_json::from_str(json)
            .or_else(|_| {
                serde_json::from_str(json).map(|homes| Checkpoint {
                    homes,
                    seen: Seen::default(),
                })
            })
            .unwrap_or_else(|e| {
                tracing::warn!(
                    "the rules' checkpoint is unreadable ({e}); starting from empty state"
                );
                Checkpoint::default()
            })
    }
}
