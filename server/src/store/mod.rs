//! The [`Store`] trait: the only way the rest of the server reaches data.
//!
//! Handlers and the command line see this trait and its plain record types, never SQL.
//! Its one implementation, [`sql::SqlStore`], runs on SQLite or PostgreSQL. Every
//! method that changes data takes a [`Change`] (who and when) and writes one event-log
//! row per change in the same transaction, so the log is complete and ordered: its id
//! is what browsers resume from.

pub mod sql;

use crate::clock::Millis;
use crate::reading::Reading;
use crate::sign_in_limits::{Attempt, Policy};
use async_trait::async_trait;
use linli_domain::alerts::{Alert, AlertState};
use linli_domain::api::{EventRecord, Notice};
use linli_domain::care::{Health, Home, SensorKind};
use linli_domain::cases::{Case, CaseStage, CaseStep, CaseSummary, NewCase, Party};
use linli_domain::dispatch::{Dispatch, DispatchStep};
use linli_domain::patrol::RouteProperties;
use linli_domain::place::{Feature, Geometry, LayerName, Properties};
use linli_domain::{CommunityId, Role, Username};
use std::sync::Arc;

/// A store shared by every request.
pub type DynStore = Arc<dyn Store>;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The thing to create exists already, or changed meanwhile.
    #[error("{0}")]
    Conflict(String),
    /// A step not allowed where the thing stands: what is, in `allowed`.
    #[error("{message}")]
    NotAllowed {
        message: String,
        allowed: Vec<String>,
    },
    /// The change refers to something that does not exist or breaks a rule.
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    NotFound(String),
    /// The caller may not touch this (outside their communities).
    #[error("{0}")]
    Forbidden(String),
    /// The database cannot write now (its disk is full, it fails to write, or it is
    /// busy): nothing of the change was stored, and it may work again later.
    #[error("{0}")]
    Unavailable(String),
    /// The database failed; the cause is for the log, not for users.
    #[error("database error: {0:#}")]
    Backend(anyhow::Error),
}

pub type StoreResult<T> = Result<T, StoreError>;

/// Who makes a change, as the event log records it (and as it travels between
/// servers: its label).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(into = "String")]
pub enum Actor {
    /// A signed-in user.
    User(Username),
    /// A part of the system acting on its own: `demo`, `cli`, later `rules`, `ingest`.
    System(&'static str),
}

/// The parts of the system that act on their own.
const SYSTEM_PARTS: [&str; 5] = ["cli", "demo", "import", "notifier", "rules"];

impl Actor {
    /// The form stored in the log: `user:<name>` or `system:<part>`.
    pub fn label(&self) -> String {
        match self {
            Actor::User(name) => format!("user:{name}"),
            Actor::System(part) => format!("system:{part}"),
        }
    }
}

impl From<Actor> for String {
    fn from(actor: Actor) -> String {
        actor.label()
    }
}

impl<'de> serde::Deserialize<'de> for Actor {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Actor::try_from(String::deserialize(deserializer)?).map_err(serde::de::Error::custom)
    }
}

impl TryFrom<String> for Actor {
    type Error = String;

    fn try_from(label: String) -> Result<Self, String> {
        if let Some(name) = label.strip_prefix("user:") {
            return Username::parse(name)
                .map(Actor::User)
                .map_err(|e| e.to_string());
        }
        label
            .strip_prefix("system:")
            .and_then(|part| SYSTEM_PARTS.into_iter().find(|p| *p == part))
            .map(Actor::System)
            .ok_or_else(|| format!("`{label}` is not an actor"))
    }
}

/// Who makes a change and when: what every event-log row records.
#[derive(Debug, Clone)]
pub struct Change {
    pub actor: Actor,
    pub at: Millis,
}

impl Change {
    pub fn new(actor: Actor, at: Millis) -> Self {
        Self { actor, at }
    }

    /// The same change, at `earliest` when it was made before that (a change done
    /// offline arriving after a later one: a thing's history keeps its order).
    pub fn not_before(&self, earliest: Millis) -> Change {
        Change::new(self.actor.clone(), self.at.max(earliest))
    }
}

/// The server that runs the rules, as the others reach it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Leader {
    /// A name for the server, for logs and `/readyz`.
    pub instance: String,
    /// Its base URL, e.g. `http://10.0.0.5:8080`.
    pub address: String,
    /// What a forwarded call carries to be taken (`Authorization: Bearer …`).
    pub secret: String,
}

/// A user account as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct UserRecord {
    pub id: i64,
    pub username: Username,
    /// Argon2id PHC string.
    pub password_hash: String,
    pub role: Role,
    pub communities: Vec<CommunityId>,
    /// A partner's organisation.
    pub org: Option<Party>,
    /// Disabled accounts cannot sign in and have no sessions.
    pub disabled: bool,
}

/// A user account to create.
#[derive(Debug, Clone)]
pub struct NewUser {
    pub username: Username,
    pub password_hash: String,
    pub role: Role,
    pub communities: Vec<CommunityId>,
    /// A partner's organisation (none for staff).
    pub org: Option<Party>,
}

/// A photo for a case, as the server re-encoded it.
#[derive(Debug, Clone)]
pub struct NewPhoto {
    pub kind: linli_domain::cases::PhotoKind,
    pub note: String,
    pub width: u32,
    pub height: u32,
    /// JPEG.
    pub image: Vec<u8>,
    /// JPEG, at most [`crate::photos::THUMB_SIDE`] pixels a side.
    pub thumb: Vec<u8>,
}

/// A task to record: who goes where, for what.
#[derive(Debug, Clone)]
pub struct NewDispatchRecord {
    pub assignee: String,
    pub alert_id: Option<i64>,
    pub case_id: Option<i64>,
    pub community: CommunityId,
    pub title: String,
    pub position: linli_domain::place::Position,
    pub note: String,
}

/// Which tasks to list.
#[derive(Debug, Clone)]
pub struct DispatchFilter {
    /// Only these communities (a grid worker's), when given.
    pub communities: Option<Vec<CommunityId>>,
    /// Only tasks still sent, accepted or arrived.
    pub open_only: bool,
    pub limit: u32,
}

/// Which cases to list.
#[derive(Debug, Clone, Default)]
pub struct CaseFilter {
    /// Only these communities (a grid worker's), when given.
    pub communities: Option<Vec<CommunityId>>,
    pub community: Option<CommunityId>,
    pub stage: Option<CaseStage>,
    pub category: Option<linli_domain::cases::CaseCategory>,
    /// Only cases overdue now (`true`) or not (`false`).
    pub overdue: Option<bool>,
    /// Only cases this party handles, responsible or cooperating (a partner's).
    pub party: Option<Party>,
}

/// A community (社区) with its boundary.
#[derive(Debug, Clone, PartialEq)]
pub struct Community {
    pub id: CommunityId,
    pub name: String,
    pub name_en: String,
    pub geometry: Geometry,
}

/// What [`Store::import_homes`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HomesImported {
    /// Homes whose id was not stored (every home, with `replace_all`).
    pub added: usize,
    /// Stored homes replaced by a home with the same id.
    pub replaced: usize,
    /// Stored homes removed first, with `replace_all`.
    pub removed: usize,
}

/// Who may send readings, as a token proves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credential {
    /// A device, for its own readings only.
    Device(String),
    /// A gateway, for the devices of homes in its communities (all when empty).
    Gateway {
        id: String,
        communities: Vec<CommunityId>,
    },
}

/// A sensor as the rules engine knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceRecord {
    pub id: String,
    pub home: String,
    pub kind: SensorKind,
    /// Whether its token was revoked (its readings are refused).
    pub revoked: bool,
}

/// A gateway: the communities it sends for (all when empty), and whether revoked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GatewayRecord {
    pub id: String,
    pub communities: Vec<CommunityId>,
    pub revoked: bool,
}

/// An alert as stored, with the times the engine compares in milliseconds.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredAlert {
    pub alert: Alert,
    pub raised_ms: Millis,
    pub updated_ms: Millis,
    pub resolved_ms: Option<Millis>,
}

/// A notice to publish, checked by the handler.
#[derive(Debug, Clone)]
pub struct NewNotice {
    pub title: String,
    pub body: String,
    pub until: Option<Millis>,
}

/// A notification channel as the notifier needs it: with its whole URL and secret.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredChannel {
    pub id: i64,
    pub name: String,
    pub kind: linli_domain::notify::ChannelKind,
    pub url: String,
    pub secret: Option<String>,
    pub communities: Vec<CommunityId>,
    pub min_severity: linli_domain::alerts::Severity,
    pub created_ms: Millis,
}

/// A case step refused where the case stands (at `stage`), as the store reports it:
/// not allowed (with the stages it may move to), changed meanwhile, or not a step.
pub fn step_refused(
    stage: linli_domain::cases::CaseStage,
    refusal: linli_domain::cases::StepRefusal,
) -> StoreError {
    use linli_domain::cases::RefusalKind;
    let message = refusal.to_string();
    match refusal.kind() {
        RefusalKind::NotAllowed => StoreError::NotAllowed {
            message,
            allowed: stage
                .next_stages()
                .iter()
                .map(|s| s.as_str().to_string())
                .collect(),
        },
        RefusalKind::Changed => StoreError::Conflict(message),
        RefusalKind::Invalid => StoreError::Invalid(message),
    }
}

/// An alert's escalation chain (see `notify`).
#[derive(Debug, Clone, PartialEq)]
pub struct Chain {
    pub alert_id: i64,
    pub home: String,
    pub kind: linli_domain::alerts::AlertKind,
    pub started_ms: Millis,
    /// 1, and one more each time the chain starts again for an alert that came back
    /// after it was answered (see `notify`).
    pub round: u32,
    /// The level called last (1 is the first).
    pub level: u32,
    /// When the next level is called, unless acknowledged; `None` once ended.
    pub next_ms: Option<Millis>,
    /// Whether it ended because somebody acknowledged or resolved the alert (or the
    /// rules cleared it). Read only: a [`NotifyWrite::Chain`] with `next_ms` `None`
    /// ends a chain at its last level, a [`NotifyWrite::EndChain`] as answered.
    pub answered: bool,
}

/// A message the notifier decided to send.
#[derive(Debug, Clone, PartialEq)]
pub struct NewDelivery {
    pub alert_id: i64,
    /// The chain's round (see [`Chain::round`]).
    pub round: u32,
    pub level: u32,
    pub level_title: String,
    pub channel_id: i64,
    pub person: Option<linli_domain::notify::OnDuty>,
    /// `notify::robots::Message` without its id (JSON).
    pub message: serde_json::Value,
}

/// A message waiting to be sent, with its channel.
#[derive(Debug, Clone, PartialEq)]
pub struct PendingDelivery {
    pub id: i64,
    pub new: NewDelivery,
    pub channel: StoredChannel,
    pub attempts: u32,
}

/// What the notifier changes, applied together (with the event-log cursor it read up
/// to) by [`Store::notify_apply`].
#[derive(Debug, Clone, PartialEq)]
pub enum NotifyWrite {
    /// A chain starts, or moves to its next level (`next_ms` `None`: none follows).
    Chain(Chain),
    /// A chain ends as answered: somebody acknowledged or resolved the alert (before
    /// its last level or after). Its messages not yet sent are cancelled.
    EndChain { alert_id: i64, why: &'static str },
    /// A message is decided: stored once per (alert, round, level, channel).
    Enqueue(NewDelivery),
    /// The receiver took it: `alert.notified` event with `event`.
    Sent { id: i64, event: serde_json::Value },
    /// It failed; tried again at `next_try_ms`.
    Retry {
        id: i64,
        next_try_ms: Millis,
        error: String,
    },
    /// An alert waits for a digest (`why`: `morning` or `storm`), due at `due_ms`;
    /// recorded once.
    Digest {
        alert_id: i64,
        community: CommunityId,
        why: &'static str,
        due_ms: Millis,
    },
    /// These alerts went out in the digest message of `anchor`.
    Digested { alert_ids: Vec<i64>, anchor: i64 },
    /// Given up: `alert.notify_failed` event with `event`. When no message of its
    /// level got through or may still, the alert's running chain calls the next level
    /// now.
    Failed {
        id: i64,
        alert_id: i64,
        round: u32,
        level: u32,
        error: String,
        event: serde_json::Value,
    },
}

/// Which alerts to list.
#[derive(Debug, Clone, Default)]
pub struct AlertFilter {
    pub state: Option<AlertState>,
    /// Only these communities (a grid worker's), when given.
    pub communities: Option<Vec<CommunityId>>,
    /// Only alerts changed (raised, acted on or resolved) at or after this time.
    pub changed_since: Option<Millis>,
    /// Only drills' alerts (`true`) or only real ones (`false`), when given.
    pub drill: Option<bool>,
    /// At most this many, newest first.
    pub limit: u32,
}

/// A case an escalation opens: its summary, description, and the note its timeline
/// starts with.
#[derive(Debug, Clone)]
pub struct OpenCase {
    pub summary: CaseSummary,
    pub description: String,
    pub note: String,
}

/// A change the rules engine makes, committed with the readings that caused it.
#[derive(Debug, Clone)]
pub enum EngineWrite {
    /// Insert or update an alert (the engine assigns ids), with its event when `event`
    /// is given (`alert.raised`, `alert.updated`); with `open_case`, a case is created
    /// first and linked both ways.
    Alert {
        alert: StoredAlert,
        event: Option<linli_domain::events::EventKind>,
        actor: Actor,
        open_case: Option<OpenCase>,
    },
    /// The district's thresholds (`home` is `None`) or a home's changed from what
    /// applies above them: stored, with a `thresholds.changed` event that carries the
    /// reason given and the thresholds the change loosened.
    Thresholds {
        home: Option<String>,
        overrides: linli_domain::care::ThresholdOverrides,
        actor: Actor,
        reason: Option<String>,
        loosened: Vec<&'static str>,
    },
    /// Someone recorded a home's morning check-in: stored, with a `home.check_in` event.
    CheckIn {
        home: String,
        community: CommunityId,
        at: Millis,
        note: String,
        actor: Actor,
    },
    /// A sensor's health changed: stored, with a `sensor.status` event.
    SensorStatus {
        device: String,
        home: String,
        community: CommunityId,
        health: Health,
        battery_pct: Option<u8>,
        last_seen: Option<Millis>,
    },
}

/// What [`Store::commit_readings`] did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Committed {
    /// The id of the last reading stored (0 when none).
    pub last_reading_id: i64,
    /// (alert id, case id) of each case opened.
    pub cases: Vec<(i64, i64)>,
}

/// What a sensor showed last, saved with the rules' checkpoint.
#[derive(Debug, Clone, PartialEq)]
pub struct SensorSeen {
    pub device: String,
    pub battery_pct: Option<u8>,
    pub last_seen: Millis,
}

#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Checks that the database answers.
    async fn ping(&self) -> StoreResult<()>;
    /// Records that server `instance` runs the rules now, reached by the others at
    /// `address` with `secret` (see `crate::cluster`), under a new term: from then on
    /// this store's writes are refused (`Unavailable`) once another server claims it.
    async fn claim_leadership(&self, leader: &Leader, at: Millis) -> StoreResult<i64>;
    /// The server that runs the rules, as it last recorded itself.
    async fn leader(&self) -> StoreResult<Option<Leader>>;
    /// Whether no other server has claimed the leadership since this one did (always
    /// true on a server that never claimed it): what the leader checks before it does
    /// what the database cannot fence, such as sending a message.
    async fn still_leads(&self) -> StoreResult<bool>;

    /// Counts a sign-in attempt as a failure before its password is checked (see
    /// `crate::sign_in_limits`), forgetting failures older than the policy's window:
    /// the attempt's id, or how long the account or address must wait (nothing
    /// recorded then).
    async fn begin_sign_in(
        &self,
        attempt: &Attempt,
        policy: &Policy,
        now: Millis,
    ) -> StoreResult<Result<i64, std::time::Duration>>;
    /// Takes back an attempt whose password was never checked (the server was busy).
    async fn withdraw_sign_in(&self, id: i64) -> StoreResult<()>;
    /// The password was right: the attempt was no failure, and the account's failures
    /// (from every address) and the account's at this address stop counting; the
    /// address keeps counting its own.
    async fn sign_in_succeeded(&self, id: i64, attempt: &Attempt) -> StoreResult<()>;

    /// Creates an account; `Conflict` if the name is taken, `Invalid` if a community
    /// does not exist.
    async fn create_user(&self, change: &Change, user: NewUser) -> StoreResult<UserRecord>;
    async fn user_by_name(&self, username: &Username) -> StoreResult<Option<UserRecord>>;

    /// Stores a session by the hash of its token.
    async fn create_session(
        &self,
        change: &Change,
        user_id: i64,
        token_hash: &str,
        expires_at: Millis,
    ) -> StoreResult<()>;
    /// The user of a session that has not expired at `now`.
    async fn session_user(&self, token_hash: &str, now: Millis) -> StoreResult<Option<UserRecord>>;
    /// Ends a session; ending one that does not exist is not an error.
    async fn delete_session(&self, change: &Change, token_hash: &str) -> StoreResult<()>;
    /// Sets a new password hash and ends every session of the user; `NotFound` for
    /// an unknown user.
    async fn set_password(
        &self,
        change: &Change,
        username: &Username,
        password_hash: &str,
    ) -> StoreResult<()>;
    /// Disables (ending every session) or enables an account; `NotFound` for an unknown
    /// user. Doing what is done already changes nothing and logs nothing.
    async fn set_user_disabled(
        &self,
        change: &Change,
        username: &Username,
        disabled: bool,
    ) -> StoreResult<()>;

    /// Adds or replaces communities, all or none.
    async fn save_communities(&self, change: &Change, communities: &[Community])
        -> StoreResult<()>;
    /// Makes the stored communities exactly `communities`: adds or replaces those given
    /// and deletes the others, all or none. `Invalid` (nothing changed) when a user is
    /// bound to a community that would be deleted.
    async fn replace_communities(
        &self,
        change: &Change,
        communities: &[Community],
    ) -> StoreResult<()>;
    async fn communities(&self) -> StoreResult<Vec<Community>>;

    /// Adds features to a base-map layer (grids, buildings or roads), replacing those
    /// with the same id, or replacing the whole layer when `replace_layer`; all or
    /// nothing, recorded as one event. Returns the layer's new version.
    async fn save_features(
        &self,
        change: &Change,
        layer: LayerName,
        features: &[Feature<Properties>],
        replace_layer: bool,
    ) -> StoreResult<i64> {
        self.save_features_reporting(change, layer, features, replace_layer, &|_| {})
            .await
    }
    /// [`Store::save_features`], calling `progress` with the number of features
    /// written so far (for `linli import`'s progress bar).
    async fn save_features_reporting(
        &self,
        change: &Change,
        layer: LayerName,
        features: &[Feature<Properties>],
        replace_layer: bool,
        progress: &(dyn Fn(usize) + Sync),
    ) -> StoreResult<i64>;
    /// All features of a base-map layer, ordered by id.
    async fn features(&self, layer: LayerName) -> StoreResult<Vec<Feature<Properties>>>;
    /// The layer's version (0 while it was never changed).
    async fn layer_version(&self, layer: LayerName) -> StoreResult<i64>;

    /// Adds or replaces homes (by id) with all their sensors, as one event.
    async fn save_homes(&self, change: &Change, homes: &[Home]) -> StoreResult<()>;
    /// `linli import homes`: adds homes with their sensors, replacing stored homes with
    /// the same id (and their sensors), or, with `replace_all`, removing every stored
    /// home and sensor first; all or nothing, recorded as one `homes.imported` event.
    /// `Conflict` (nothing changed) when a sensor belongs to a stored home that stays,
    /// `Invalid` when a community does not exist. Calls `progress` with the number of
    /// homes written so far.
    async fn import_homes(
        &self,
        change: &Change,
        homes: &[Home],
        replace_all: bool,
        progress: &(dyn Fn(usize) + Sync),
    ) -> StoreResult<HomesImported>;
    /// Homes, of the given communities only when `communities` is `Some`.
    async fn homes(&self, communities: Option<&[CommunityId]>) -> StoreResult<Vec<Home>>;

    /// Adds or replaces patrol routes (by id), as one event.
    async fn save_routes(
        &self,
        change: &Change,
        routes: &[Feature<RouteProperties>],
    ) -> StoreResult<()>;
    async fn routes(&self) -> StoreResult<Vec<Feature<RouteProperties>>>;
    /// A unit sets out on a route; `Conflict` when it is out already, `Invalid` for an
    /// unknown route, `Forbidden` for a route of a community outside `scope` (the
    /// caller's communities, when limited to some; district-wide routes are
    /// everyone's). Checked in the transaction that starts the run.
    async fn start_run(
        &self,
        change: &Change,
        unit: &str,
        route: &str,
        scope: Option<&[CommunityId]>,
    ) -> StoreResult<linli_domain::patrol::PatrolRun>;
    /// Ends the unit's run (with why it missed checkpoints, if it did); `Conflict` when it is not out, `Forbidden` when its route
    /// belongs to a community outside `scope`.
    async fn end_run(
        &self,
        change: &Change,
        unit: &str,
        missed_reason: Option<&str>,
        scope: Option<&[CommunityId]>,
    ) -> StoreResult<linli_domain::patrol::PatrolRun>;
    /// Records where the unit is on its run, with a `patrol.position` event; `Conflict`
    /// when it is not out, `Forbidden` when its route belongs to a community outside
    /// `scope`.
    async fn record_position(
        &self,
        change: &Change,
        unit: &str,
        position: linli_domain::place::Position,
        at: Millis,
        scope: Option<&[CommunityId]>,
    ) -> StoreResult<linli_domain::patrol::PatrolRun>;
    /// Each unit's latest run (under way or ended).
    async fn units(&self) -> StoreResult<Vec<linli_domain::patrol::PatrolRun>>;

    /// Records a case as given (the demo's history), with its report (empty) at the
    /// time it was opened as the first entry of its timeline. The id is assigned by
    /// the store.
    async fn insert_case(&self, change: &Change, case: &CaseSummary) -> StoreResult<CaseSummary>;
    /// Cases matching the filter, newest first.
    async fn cases(&self, filter: &CaseFilter) -> StoreResult<Vec<CaseSummary>>;
    /// Opens a case at `reported`, with a `case.created` event; `Invalid` for an
    /// unknown community or patrol run, `Forbidden` for a run outside `scope`.
    async fn create_case(
        &self,
        change: &Change,
        new: &NewCase,
        scope: Option<&[CommunityId]>,
    ) -> StoreResult<Case>;
    /// A case with its timeline.
    async fn case(&self, id: i64) -> StoreResult<Option<Case>>;
    /// Takes a step on a case, with a `case.updated` event; `Conflict` with the reason
    /// when the step is not allowed where the case stands, `NotFound` for no such case.
    /// Closing as a duplicate merges only into another open case of the same community
    /// (`Invalid` otherwise, `Conflict` for a closed one).
    /// With `for_party` (a partner's step), the case must be one that party handles
    /// now (`Forbidden` otherwise, checked in the step's transaction). `part-done`
    /// names a party handling the case (`Invalid` otherwise; `Conflict` when marked
    /// already); reassigning keeps the marks of parties still on the case, reopening
    /// clears them.
    async fn step_case(
        &self,
        change: &Change,
        id: i64,
        step: &CaseStep,
        for_party: Option<Party>,
    ) -> StoreResult<Case>;

    /// Adds a photo (already re-encoded) to case `id`, with a `case.updated` event;
    /// `NotFound`, `Forbidden` as for [`Store::step_case`], `Conflict` for a closed case.
    async fn add_case_photo(
        &self,
        change: &Change,
        id: i64,
        photo: &NewPhoto,
        for_party: Option<Party>,
    ) -> StoreResult<Case>;
    /// A photo's JPEG (its thumbnail with `thumb`), if case `case` has photo `photo`.
    async fn case_photo(&self, case: i64, photo: i64, thumb: bool) -> StoreResult<Option<Vec<u8>>>;

    /// Records a task sent, with a `dispatch.created` event; `Invalid` when its alert or
    /// case does not exist.
    async fn create_dispatch(
        &self,
        change: &Change,
        new: &NewDispatchRecord,
    ) -> StoreResult<Dispatch>;
    /// Tasks, newest first.
    async fn dispatches(&self, filter: &DispatchFilter) -> StoreResult<Vec<Dispatch>>;
    async fn dispatch(&self, id: i64) -> StoreResult<Option<Dispatch>>;
    /// A step on a task, with a `dispatch.updated` event; `Conflict` when it does not
    /// follow from where the task stands (`DispatchAction::apply`), `NotFound`.
    async fn step_dispatch(
        &self,
        change: &Change,
        id: i64,
        step: &DispatchStep,
    ) -> StoreResult<Dispatch>;

    /// Publishes a notice for the public page, shown from now until `until` (when
    /// given) or until withdrawn; with a `notice.published` event.
    async fn publish_notice(&self, change: &Change, notice: &NewNotice) -> StoreResult<Notice>;
    /// Withdraws a notice in force, with a `notice.withdrawn` event; `NotFound` when no
    /// notice `id` is in force.
    async fn withdraw_notice(&self, change: &Change, id: i64) -> StoreResult<Notice>;
    /// The notices in force at `now`, newest first.
    async fn notices(&self, now: Millis) -> StoreResult<Vec<Notice>>;

    /// The notification channels not deleted, oldest first.
    async fn channels(&self) -> StoreResult<Vec<StoredChannel>>;
    /// Adds a checked channel, with a `notify.channel_added` event (without its secret).
    async fn add_channel(
        &self,
        change: &Change,
        channel: &linli_domain::notify::ChannelRequest,
    ) -> StoreResult<StoredChannel>;
    /// Deletes a channel (its messages not yet sent fail), with a
    /// `notify.channel_deleted` event; `NotFound` when there is no such channel.
    async fn delete_channel(&self, change: &Change, id: i64) -> StoreResult<StoredChannel>;
    /// A community's duty roster, when it has one.
    async fn roster(
        &self,
        community: &CommunityId,
    ) -> StoreResult<Option<linli_domain::notify::Roster>>;
    /// Sets a community's checked roster, with a `notify.roster_set` event; `NotFound`
    /// for an unknown community.
    async fn set_roster(
        &self,
        change: &Change,
        community: &CommunityId,
        roster: &linli_domain::notify::Roster,
    ) -> StoreResult<()>;
    /// The last event the notifier has read; `None` before it first started.
    async fn notify_cursor(&self) -> StoreResult<Option<i64>>;
    /// Applies the notifier's `writes` in one transaction, moving its cursor to
    /// `cursor` when given.
    async fn notify_apply(
        &self,
        at: Millis,
        cursor: Option<i64>,
        writes: Vec<NotifyWrite>,
    ) -> StoreResult<()>;
    /// The chains of `alert_ids` (running or ended).
    async fn chains(&self, alert_ids: &[i64]) -> StoreResult<Vec<Chain>>;
    /// Running chains whose next level is due at `now`.
    async fn chains_due(&self, now: Millis) -> StoreResult<Vec<Chain>>;
    /// Alerts waiting for a digest that is due at `now`: (alert, community), oldest
    /// first.
    async fn digest_due(&self, now: Millis) -> StoreResult<Vec<(i64, CommunityId)>>;
    /// Whether a chain for this home and kind started at or after `since`.
    async fn chain_started_since(
        &self,
        home: &str,
        kind: linli_domain::alerts::AlertKind,
        since: Millis,
    ) -> StoreResult<bool>;
    /// Messages waiting whose next try is due at `now`, oldest first, at most `limit`.
    async fn outbox_due(&self, now: Millis, limit: u32) -> StoreResult<Vec<PendingDelivery>>;
    /// Where a home is inside its building: (unit, room).
    async fn home_place(&self, home: &str) -> StoreResult<Option<(i64, String)>>;
    /// The messages decided for an alert, in order.
    async fn deliveries(&self, alert_id: i64) -> StoreResult<Vec<linli_domain::notify::Delivery>>;

    /// Adds a sensor to a home with a new device id (`wm-`, `gd-` or `sd-` and a
    /// number) and the hash of its token; `NotFound` when the home does not exist.
    async fn add_device(
        &self,
        change: &Change,
        home: &str,
        kind: SensorKind,
        token_hash: &str,
    ) -> StoreResult<String>;
    /// Adds a gateway; `Conflict` when the id is taken, `Invalid` for an unknown community.
    async fn add_gateway(
        &self,
        change: &Change,
        id: &str,
        communities: &[CommunityId],
        token_hash: &str,
    ) -> StoreResult<()>;
    /// Revokes a device's token (the sensor stays, with its history); `NotFound` for
    /// an unknown device, `Conflict` when it is revoked already.
    async fn revoke_device(&self, change: &Change, id: &str) -> StoreResult<()>;
    /// Revokes a gateway's token; `NotFound` / `Conflict` as for devices.
    async fn revoke_gateway(&self, change: &Change, id: &str) -> StoreResult<()>;
    /// What a token (by its hash) may send for, unless revoked.
    async fn credential(&self, token_hash: &str) -> StoreResult<Option<Credential>>;
    /// Every sensor, with whether its token was revoked.
    async fn devices(&self) -> StoreResult<Vec<DeviceRecord>>;
    /// Every gateway.
    async fn gateways(&self) -> StoreResult<Vec<GatewayRecord>>;
    /// Which of `ids` are stored sensors (one indexed lookup, for ids the engine does
    /// not know yet).
    async fn known_devices(&self, ids: &[String]) -> StoreResult<Vec<String>>;

    /// Stores `readings` (new ones: the engine told repeats apart, see
    /// `ingest::dedup`) and the engine's `writes` they caused, in one transaction:
    /// nothing is acknowledged to a sensor that is not durable, and no alert is lost
    /// or doubled. The engine is the only writer of readings.
    async fn commit_readings(
        &self,
        at: Millis,
        readings: &[Reading],
        writes: Vec<EngineWrite>,
    ) -> StoreResult<Committed>;
    /// Readings stored after `after` (by reading id), oldest first, at most `limit`.
    async fn readings_after(&self, after: i64, limit: u32) -> StoreResult<Vec<(i64, Reading)>>;
    /// The rules' checkpoint: the last reading it includes and the homes' state (JSON).
    async fn rule_state(&self) -> StoreResult<Option<(i64, String)>>;
    /// Saves the rules' checkpoint and what sensors showed last.
    async fn save_rule_state(
        &self,
        at: Millis,
        reading_id: i64,
        homes: &str,
        sensors: &[SensorSeen],
    ) -> StoreResult<()>;

    /// The thresholds changed by the office: (`None` for the district or the home, the
    /// overrides).
    async fn threshold_overrides(
        &self,
    ) -> StoreResult<Vec<(Option<String>, linli_domain::care::ThresholdOverrides)>>;
    /// Check-ins made at or after `since`: (home, when).
    async fn check_ins_since(&self, since: Millis) -> StoreResult<Vec<(String, Millis)>>;

    /// Alerts not resolved, and those resolved at or after `resolved_since`.
    async fn engine_alerts(&self, resolved_since: Millis) -> StoreResult<Vec<StoredAlert>>;
    /// The highest alert id (0 when none).
    async fn max_alert_id(&self) -> StoreResult<i64>;
    /// Alerts matching the filter, newest first.
    async fn alerts(&self, filter: &AlertFilter) -> StoreResult<Vec<Alert>>;
    async fn alert(&self, id: i64) -> StoreResult<Option<Alert>>;

    /// The id of the newest event-log row (0 when empty).
    async fn last_event_id(&self) -> StoreResult<i64>;

    /// Event-log rows with an id greater than `after`, oldest first, at most `limit`.
    async fn events_after(&self, after: i64, limit: u32) -> StoreResult<Vec<EventRecord>>;
}

/// The communities' names by id (for messages and public listings).
pub async fn community_names(
    store: &dyn Store,
) -> StoreResult<std::collections::HashMap<String, String>> {
    Ok(store
        .communities()
        .await?
        .into_iter()
        .map(|c| (c.id.to_string(), c.name))
        .collect())
}

/// Parses an RFC 3339 time (as the API and `clock::rfc3339` write it) to milliseconds.
pub fn parse_rfc3339(value: &str) -> Option<Millis> {
    linli_domain::Timestamp::parse(value).map(linli_domain::Timestamp::millis)
}

/// Opens the store a database URL names, creating and migrating it as needed.
pub async fn open(url: &DatabaseUrl) -> anyhow::Result<DynStore> {
    Ok(Arc::new(sql::SqlStore::open(url).await?))
}

/// A database URL, checked for a scheme Linli knows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    Sqlite(String),
    Postgres(String),
}

impl std::str::FromStr for DatabaseUrl {
    type Err = String;

    fn from_str(url: &str) -> Result<Self, Self::Err> {
        if url.starts_with("sqlite:") {
            // In memory, each pooled connection would be a database of its own, and
            // nothing would outlive the process: no place for the office's records.
            if url.contains(":memory:") || url.contains("mode=memory") {
                return Err(format!(
                    "`{url}` is an in-memory SQLite database, which keeps nothing: use sqlite://PATH (e.g. sqlite://data/linli.db)"
                ));
            }
            Ok(DatabaseUrl::Sqlite(url.to_string()))
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(DatabaseUrl::Postgres(url.to_string()))
        } else {
            Err(format!(
                "`{url}` is not a database URL Linli knows: use sqlite://PATH (e.g. sqlite://data/linli.db) or postgres://USER@HOST/DB"
            ))
        }
    }
}

impl std::fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DatabaseUrl::Sqlite(u) | DatabaseUrl::Postgres(u) => f.write_str(u),
        }
    }
}
