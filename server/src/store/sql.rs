//! [`SqlStore`]: the store on SQLite (the embedded default, in WAL mode) or PostgreSQL,
//! through sqlx's `Any` driver: one set of queries for both.
//!
//! The queries are written in the SQL both databases read: `$1, $2, …` parameters,
//! `RETURNING`, `ON CONFLICT`, JSON documents as text and yes/no columns read through
//! [`any::Flag`]. What does differ is said here, in [`Backend`]: how a write
//! transaction takes the write lock, which errors mean "cannot write now", and each
//! database's migrations (`migrations/sqlite/`, `migrations/postgres/`, embedded in the
//! binary and run when the store opens).

use super::{
    AlertFilter, CaseFilter, Chain, Change, Committed, Community, Credential, DeviceRecord,
    DispatchFilter, EngineWrite, GatewayRecord, HomesImported, Leader, NewDispatchRecord,
    NewNotice, NewPhoto, NewUser, NotifyWrite, PendingDelivery, SensorSeen, Store, StoreError,
    StoreResult, StoredAlert, StoredChannel, UserRecord,
};
use crate::clock::Millis;
use crate::reading::Reading;
use crate::sign_in_limits::{Attempt, Policy};
use any::{Flag, JsonText, SqlBuilder};
use anyhow::Context as _;
use async_trait::async_trait;
use linli_domain::alerts::Alert;
use linli_domain::api::{EventRecord, Notice};
use linli_domain::care::{CareLevel, Health, Home, Sensor, SensorKind};
use linli_domain::cases::{
    due_hours, is_overdue, CaseCategory, CaseHandling, CaseOutcome, CasePriority, CaseSource,
    CaseStage, CaseSummary, Party,
};
use linli_domain::cases::{Case, CaseStep, NewCase};
use linli_domain::dispatch::{Dispatch, DispatchStep};
use linli_domain::events::EventKind;
use linli_domain::patrol::{Checkpoint, RouteProperties};
use linli_domain::place::Geometry;
use linli_domain::place::{Feature, LayerName, Properties};
use linli_domain::Timestamp;
use linli_domain::{CommunityId, Role, Username};
use serde_json::json;
use sqlx::any::{AnyConnectOptions, AnyPoolOptions, AnyRow};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode};
use sqlx::{
    AnyConnection, AnyPool, ConnectOptions as _, Connection as _, Executor as _, FromRow as _,
    Row as _,
};
use std::str::FromStr as _;
use std::time::Duration;

mod any;
mod cases;
pub mod copy;
mod dispatch;
mod notices;
mod notify;
mod patrols;
mod sensors;
mod sign_in;

pub struct SqlStore {
    pool: AnyPool,
    backend: Backend,
    /// The leadership's term this server claimed, once it leads: every write checks
    /// that no other server has claimed it since (see [`SqlStore::write`]).
    term: std::sync::OnceLock<i64>,
}

/// Which database a [`SqlStore`] is on: what differs between the two.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// PostgreSQL's advisory locks, "Linli" then a number: the one every write
/// transaction takes (see [`SqlStore::write`]); the one whose holder leads the servers
/// on the database (a session lock, `crate::cluster`); the one that orders sign-in
/// counts (see [`SqlStore::lock_sign_ins`]), apart from the writes so that a flood of
/// sign-ins does not queue up with readings.
const POSTGRES_WRITE_LOCK: i64 = 0x4c69_6e6c_6901;
pub const POSTGRES_LEADER_LOCK: i64 = 0x4c69_6e6c_6902;
const POSTGRES_SIGN_IN_LOCK: i64 = 0x4c69_6e6c_6903;

/// SQLite's primary result codes that mean "cannot write now" rather than a bug:
/// SQLITE_BUSY, SQLITE_IOERR, SQLITE_FULL (`sqlite3.h`).
const SQLITE_UNAVAILABLE: [i64; 3] = [5, 10, 13];

/// SQLITE_BUSY: another connection (or program) held the write lock past the busy
/// timeout.
const SQLITE_BUSY: i64 = 5;

/// PostgreSQL's error classes and codes that mean "cannot write now" (Appendix A of
/// its manual): a connection lost (08), out of disk or connections (53), the server
/// shutting down or starting (57P01–57P03), a standby that cannot write (25006), a
/// deadlock or serialization failure (40001, 40P01: the change may be tried again).
const POSTGRES_UNAVAILABLE: [&str; 8] = [
    "08", "53", "57P01", "57P02", "57P03", "25006", "40001", "40P01",
];

/// When a write last failed for want of the disk (see `SqlStore::open`).
static LAST_WRITE_FAILURE: std::sync::Mutex<Option<std::time::Instant>> =
    std::sync::Mutex::new(None);

/// Why the database cannot write now, when that is what `err` says rather than a bug.
fn unavailable_because(err: &sqlx::Error) -> Option<&'static str> {
    let database = match err {
        sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut => {
            return Some("it cannot be reached or is out of space")
        }
        sqlx::Error::Database(database) => database,
        _ => return None,
    };
    if database
        .try_downcast_ref::<sqlx::sqlite::SqliteError>()
        .is_some()
    {
        let primary = database.code()?.parse::<i64>().ok()? & 0xff;
        return match primary {
            SQLITE_BUSY => Some("it is busy with other writes"),
            code if SQLITE_UNAVAILABLE.contains(&code) => Some("is its disk full?"),
            _ => None,
        };
    }
    let postgres = database.try_downcast_ref::<sqlx::postgres::PgDatabaseError>()?;
    POSTGRES_UNAVAILABLE
        .iter()
        .any(|code| postgres.code().starts_with(code))
        .then_some("it cannot be reached, is out of space or is shutting down")
}

impl From<sqlx::Error> for StoreError {
    fn from(err: sqlx::Error) -> Self {
        let Some(why) = unavailable_because(&err) else {
            return StoreError::Backend(err.into());
        };
        tracing::error!("the database cannot write: {err}");
        *LAST_WRITE_FAILURE.lock().unwrap_or_else(|p| p.into_inner()) =
            Some(std::time::Instant::now());
        StoreError::Unavailable(format!(
            "the database cannot store this now ({why}); nothing was changed, try again"
        ))
    }
}

impl SqlStore {
    /// A write transaction, holding the database's one write lock from its start, so
    /// that writes happen one after the other (and event ids are committed in order,
    /// which readers resuming from an id rely on). SQLite: `BEGIN IMMEDIATE`, waiting
    /// up to the busy timeout (a deferred `BEGIN` that first reads fails at its first
    /// write, with no waiting, when another connection wrote in between). PostgreSQL:
    /// a transaction-scoped advisory lock, held by one transaction of every server on
    /// the database at a time.
    ///
    /// Fencing: on a server that claimed the leadership, the lock's holder then checks
    /// that the term is still its own. A leader that lost its lock without knowing it
    /// (the lock's connection cut, the process alive) is refused from the moment the
    /// next leader's claim committed: the claim takes the same lock, so no write of
    /// the old leader can slip in after it.
    async fn write(&self) -> StoreResult<sqlx::Transaction<'static, sqlx::Any>> {
        let mut tx = self.begin_under(POSTGRES_WRITE_LOCK).await?;
        if let Some(own) = self.term.get() {
            // A statement of its own: its snapshot is taken after the lock.
            let term = leadership_term(&mut tx).await?;
            if term != Some(*own) {
                tracing::error!(
                    own,
                    now = ?term,
                    "another server has taken the leadership: this one may not write"
                );
                return Err(StoreError::Unavailable(
                    "this server no longer runs the rules; nothing was changed, try again"
                        .to_string(),
                ));
            }
        }
        Ok(tx)
    }

    /// A transaction for the sign-in counts (`sign_in.rs`): SQLite's one write lock;
    /// on PostgreSQL a lock of their own, not fenced (any server may count sign-ins).
    async fn lock_sign_ins(&self) -> StoreResult<sqlx::Transaction<'static, sqlx::Any>> {
        self.begin_under(POSTGRES_SIGN_IN_LOCK).await
    }

    /// A transaction holding SQLite's write lock, or PostgreSQL's advisory lock `lock`.
    async fn begin_under(&self, lock: i64) -> StoreResult<sqlx::Transaction<'static, sqlx::Any>> {
        match self.backend {
            Backend::Sqlite => Ok(self.pool.begin_with("BEGIN IMMEDIATE").await?),
            Backend::Postgres => {
                let mut tx = self.pool.begin().await?;
                sqlx::query("SELECT 1 FROM pg_advisory_xact_lock($1)")
                    .bind(lock)
                    .execute(&mut *tx)
                    .await?;
                Ok(tx)
            }
        }
    }

    /// Whether this server still leads, as far as the database knows: always, unless
    /// it claimed the leadership and another server has claimed it since.
    async fn still_leads_sql(&self) -> StoreResult<bool> {
        let Some(own) = self.term.get() else {
            return Ok(true);
        };
        let mut conn = self.pool.acquire().await?;
        Ok(leadership_term(&mut conn).await? == Some(*own))
    }

    /// Opens and migrates the database at `url`: `sqlite://PATH` (creating the file
    /// and its folder if needed) or `postgres://…` (the database must exist).
    pub async fn open(url: &super::DatabaseUrl) -> anyhow::Result<Self> {
        sqlx::any::install_default_drivers();
        let (backend, options, name) = match url {
            super::DatabaseUrl::Sqlite(url) => {
                let options = SqliteConnectOptions::from_str(url)
                    .with_context(|| format!("`{url}` is not a valid SQLite URL"))?
                    .create_if_missing(true);
                let file = options.get_filename().to_path_buf();
                if let Some(folder) = file.parent().filter(|p| !p.as_os_str().is_empty()) {
                    std::fs::create_dir_all(folder).with_context(|| {
                        format!("cannot create the database folder {}", folder.display())
                    })?;
                }
                // WAL is a property of the file: set once here, with the file made.
                // Setting it on every connection needs a lock that cannot wait, and
                // fails while another connection writes.
                let name = format!("the SQLite database {}", file.display());
                sqlx::SqliteConnection::connect_with(
                    &options.clone().journal_mode(SqliteJournalMode::Wal),
                )
                .await
                .with_context(|| format!("cannot open {name}"))?
                .close()
                .await?;
                // The options made a URL again for the `Any` driver: from the absolute
                // path, since a relative one can read as a host and port (`db:file`),
                // which sqlx's URL panics on.
                let absolute = std::path::absolute(&file)
                    .with_context(|| format!("no absolute path for {}", file.display()))?;
                let any = AnyConnectOptions::from_url(&options.filename(absolute).to_url_lossy())?;
                (Backend::Sqlite, any, name)
            }
            super::DatabaseUrl::Postgres(url) => {
                let any = AnyConnectOptions::from_str(url)
                    .with_context(|| format!("`{url}` is not a valid PostgreSQL URL"))?;
                (
                    Backend::Postgres,
                    any,
                    "the PostgreSQL database".to_string(),
                )
            }
        };
        let pool = AnyPoolOptions::new()
            .max_connections(8)
            .acquire_timeout(Duration::from_secs(10))
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        // With WAL, NORMAL survives a crash of the process (not of the
                        // OS) without losing committed transactions, at a fraction of
                        // FULL's fsyncs. (sqlx sets foreign keys on and a busy timeout
                        // of 5 s by itself.)
                        conn.execute("PRAGMA synchronous = NORMAL").await?;
                    }
                    Ok(())
                })
            })
            // A write the database could not finish (a full disk) can leave a
            // connection inside its transaction, holding the write lock for good:
            // connections opened before such a failure are closed, not reused.
            .before_acquire(|_, meta| {
                Box::pin(async move {
                    let opened = std::time::Instant::now().checked_sub(meta.age);
                    let failed = *LAST_WRITE_FAILURE.lock().unwrap_or_else(|p| p.into_inner());
                    Ok(match (opened, failed) {
                        (Some(opened), Some(failed)) => opened > failed,
                        _ => true,
                    })
                })
            })
            .connect_with(options)
            .await
            .with_context(|| format!("cannot open {name}"))?;
        let migrated = match backend {
            Backend::Sqlite => sqlx::migrate!("migrations/sqlite").run(&pool).await,
            Backend::Postgres => sqlx::migrate!("migrations/postgres").run(&pool).await,
        };
        migrated.with_context(|| format!("cannot migrate {name}"))?;
        Ok(Self {
            pool,
            backend,
            term: std::sync::OnceLock::new(),
        })
    }
}

/// The leadership's term as the database has it (none before a server first led).
async fn leadership_term(conn: &mut AnyConnection) -> StoreResult<Option<i64>> {
    Ok(sqlx::query_scalar("SELECT term FROM cluster_leader")
        .fetch_optional(conn)
        .await?)
}

/// Appends one row to the event log inside the caller's transaction.
async fn append_event(
    conn: &mut AnyConnection,
    change: &Change,
    kind: EventKind,
    data: serde_json::Value,
) -> StoreResult<i64> {
    let id = sqlx::query_scalar::<_, i64>(
        "INSERT INTO events (at_ms, actor, kind, data) VALUES ($1, $2, $3, $4) RETURNING id",
    )
    .bind(change.at)
    .bind(change.actor.label())
    .bind(kind.as_str())
    .bind(data.to_string())
    .fetch_one(&mut *conn)
    .await?;
    Ok(id)
}

/// Records that `layer` changed with the event `event_id`.
async fn bump_layer(conn: &mut AnyConnection, layer: LayerName, event_id: i64) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO layer_versions (layer, version) VALUES ($1, $2) \
         ON CONFLICT (layer) DO UPDATE SET version = excluded.version",
    )
    .bind(layer.as_str())
    .bind(event_id)
    .execute(conn)
    .await?;
    Ok(())
}

/// Adds or replaces one community inside the caller's transaction, with its event.
async fn upsert_community(
    conn: &mut AnyConnection,
    change: &Change,
    c: &Community,
) -> StoreResult<()> {
    let geometry = serde_json::to_string(&c.geometry)
        .map_err(|e| StoreError::Invalid(format!("community `{}`: {e}", c.id)))?;
    sqlx::query(
        "INSERT INTO communities (id, name, name_en, geometry) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (id) DO UPDATE SET name = excluded.name, \
         name_en = excluded.name_en, geometry = excluded.geometry",
    )
    .bind(c.id.as_str())
    .bind(&c.name)
    .bind(&c.name_en)
    .bind(geometry)
    .execute(&mut *conn)
    .await?;
    let event = append_event(
        conn,
        change,
        EventKind::CommunitySaved,
        json!({"id": c.id, "name": c.name, "name_en": c.name_en}),
    )
    .await?;
    bump_layer(conn, LayerName::Communities, event).await
}

/// Deletes a home and its sensors inside the caller's transaction; whether it existed.
async fn delete_home(conn: &mut AnyConnection, id: &str) -> StoreResult<bool> {
    sqlx::query("DELETE FROM sensors WHERE home = $1")
        .bind(id)
        .execute(&mut *conn)
        .await?;
    let deleted = sqlx::query("DELETE FROM homes WHERE id = $1")
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok(deleted.rows_affected() > 0)
}

/// Inserts a home with its sensors inside the caller's transaction. `Invalid` when its
/// community does not exist, `Conflict` when one of its sensors belongs to another home.
async fn insert_home(conn: &mut AnyConnection, home: &Home) -> StoreResult<()> {
    let known = sqlx::query("SELECT 1 FROM communities WHERE id = $1")
        .bind(home.community.as_str())
        .fetch_optional(&mut *conn)
        .await?;
    if known.is_none() {
        return Err(StoreError::Invalid(format!(
            "home `{}`: there is no community `{}`",
            home.id, home.community
        )));
    }
    sqlx::query(
        "INSERT INTO homes (id, building, community, grid, unit, floor, room, resident, age_band, \
         living_alone, care_level, phone, contact, lon, lat) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
    )
    .bind(&home.id)
    .bind(&home.building)
    .bind(home.community.as_str())
    .bind(&home.grid)
    .bind(i64::from(home.unit))
    .bind(i64::from(home.floor))
    .bind(&home.room)
    .bind(&home.resident)
    .bind(&home.age_band)
    .bind(home.living_alone)
    .bind(care_level_name(home.care_level))
    .bind(&home.phone)
    .bind(&home.contact)
    .bind(home.position[0])
    .bind(home.position[1])
    .execute(&mut *conn)
    .await
    .or_conflict(|| format!("home `{}` is twice in the same change", home.id))?;
    for sensor in &home.sensors {
        // Asked before inserting, not after a refused insert: PostgreSQL reads nothing
        // more in a transaction once a statement of it failed.
        let owner: Option<String> = sqlx::query_scalar("SELECT home FROM sensors WHERE id = $1")
            .bind(&sensor.id)
            .fetch_optional(&mut *conn)
            .await?;
        if let Some(owner) = owner {
            let owner = match owner == home.id {
                true => "this home already".to_string(),
                false => format!("home `{owner}`"),
            };
            return Err(StoreError::Conflict(format!(
                "home `{}`: sensor `{}` belongs to {owner}",
                home.id, sensor.id
            )));
        }
        sqlx::query(
            "INSERT INTO sensors (id, home, kind, health, battery_pct, last_seen_ms) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&sensor.id)
        .bind(&home.id)
        .bind(sensor.kind.as_str())
        .bind(sensor.health.as_str())
        .bind(sensor.battery_pct.map(i64::from))
        .bind(sensor.last_seen.map(Timestamp::millis))
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// Inserts a case with its `case.created` event inside the caller's transaction.
async fn insert_case(
    conn: &mut AnyConnection,
    change: &Change,
    case: &CaseSummary,
) -> StoreResult<CaseSummary> {
    let id = sqlx::query_scalar::<_, i64>(
        "INSERT INTO cases (title, category, stage, priority, source, community, grid, lon, lat, building, \
         opened_ms, updated_ms, closed_ms, outcome, due_ms, responsible, cooperating, alert_id, recurs, \
         patrol_run, drill) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21) RETURNING id",
    )
    .bind(&case.title)
    .bind(case.category.as_str())
    .bind(case.stage.as_str())
    .bind(case.priority.as_str())
    .bind(case.source.as_str())
    .bind(case.community.as_str())
    .bind(&case.grid)
    .bind(case.position[0])
    .bind(case.position[1])
    .bind(&case.building)
    .bind(case.opened_at.millis())
    .bind(case.updated_at.millis())
    .bind(case.closed_at.map(Timestamp::millis))
    .bind(case.outcome.map(CaseOutcome::as_str))
    .bind(due_ms(case)?)
    .bind(case.handling.responsible.map(Party::as_str))
    .bind(serde_json::to_string(&case.handling.cooperating).map_err(corrupt)?)
    .bind(case.handling.alert_id)
    .bind(case.handling.recurs)
    .bind(case.handling.patrol_run)
    .bind(case.handling.drill)
    .fetch_one(&mut *conn)
    .await
    .or_invalid(|| format!("there is no community `{}`", case.community))?;
    let mut stored = CaseSummary { id, ..case.clone() };
    stored.handling.due_at = Some(Timestamp::from_millis(due_ms(case)?));
    append_event(
        conn,
        change,
        EventKind::CaseCreated,
        serde_json::to_value(&stored).map_err(corrupt)?,
    )
    .await?;
    Ok(stored)
}

/// Adds ` AND community IN (…)` for `ids` (not empty) to a query.
fn and_community_in<'q>(query: &mut SqlBuilder<'q>, ids: &'q [CommunityId]) {
    query
        .push(" AND community IN ")
        .push_list(ids.iter().map(CommunityId::as_str));
}

fn parse_role(value: &str) -> StoreResult<Role> {
    Role::parse(value)
        .ok_or_else(|| StoreError::Backend(anyhow::anyhow!("unknown role `{value}` in database")))
}

/// Parses a stored name with `parse`, or reports a corrupt row.
fn named<T>(value: &str, parse: fn(&str) -> Option<T>) -> StoreResult<T> {
    parse(value).ok_or_else(|| corrupt(format!("unknown value `{value}`")))
}

fn care_level_name(level: CareLevel) -> &'static str {
    match level {
        CareLevel::Independent => "independent",
        CareLevel::Attention => "attention",
        CareLevel::Intensive => "intensive",
    }
}

fn parse_care_level(value: &str) -> Option<CareLevel> {
    [
        CareLevel::Independent,
        CareLevel::Attention,
        CareLevel::Intensive,
    ]
    .into_iter()
    .find(|l| care_level_name(*l) == value)
}

/// When `case` is due: as given, or from its category and priority.
fn due_ms(case: &CaseSummary) -> StoreResult<Millis> {
    if let Some(due) = case.handling.due_at {
        return Ok(due.millis());
    }
    Ok(case.opened_at.millis() + due_hours(case.category, case.priority) * 3_600_000)
}

/// The columns [`case_from_row`] reads, from `cases` (not aliased). `recurs` names only
/// a case of the same community: one stored before that rule is left out.
const CASE_COLUMNS: &str =
    "id, title, category, stage, priority, source, community, grid, lon, lat, \
     building, opened_ms, updated_ms, closed_ms, outcome, due_ms, responsible, cooperating, \
     alert_id, patrol_run, drill, reopened, parties_done, \
     (SELECT r.id FROM cases AS r WHERE r.id = cases.recurs AND r.community = cases.community) \
     AS recurs";

/// A row of `communities`.
#[derive(sqlx::FromRow)]
struct CommunityRow {
    #[sqlx(try_from = "String")]
    id: CommunityId,
    name: String,
    name_en: String,
    geometry: JsonText<Geometry>,
}

/// A row of `features`: one feature of a base layer.
#[derive(sqlx::FromRow)]
struct FeatureRow {
    id: String,
    properties: JsonText<Properties>,
    geometry: JsonText<Geometry>,
}

/// A row of `patrol_routes`.
#[derive(sqlx::FromRow)]
struct RouteRow {
    id: String,
    name: String,
    community: Option<String>,
    schedule: String,
    path: JsonText<Vec<linli_domain::place::Position>>,
    checkpoints: JsonText<Vec<Checkpoint>>,
}

/// A row of the event log.
#[derive(sqlx::FromRow)]
struct EventRow {
    id: i64,
    at_ms: Millis,
    actor: String,
    #[sqlx(try_from = "String")]
    kind: EventKind,
    data: JsonText<serde_json::Value>,
}

/// A row of `homes` (a unit or floor out of range is clamped, as the import allows).
#[derive(sqlx::FromRow)]
struct HomeRow {
    id: String,
    building: String,
    #[sqlx(try_from = "String")]
    community: CommunityId,
    grid: Option<String>,
    unit: i64,
    floor: i64,
    room: String,
    resident: String,
    age_band: String,
    #[sqlx(try_from = "Flag")]
    living_alone: bool,
    care_level: String,
    phone: Option<String>,
    contact: Option<String>,
    lon: f64,
    lat: f64,
}

/// A row of `sensors`.
#[derive(sqlx::FromRow)]
struct SensorRow {
    id: String,
    home: String,
    kind: String,
    health: String,
    battery_pct: Option<i64>,
    last_seen_ms: Option<Millis>,
}

/// A row of `cases` as [`CASE_COLUMNS`] selects it.
#[derive(sqlx::FromRow)]
struct CaseRow {
    id: i64,
    title: String,
    #[sqlx(try_from = "String")]
    category: CaseCategory,
    #[sqlx(try_from = "String")]
    stage: CaseStage,
    #[sqlx(try_from = "String")]
    priority: CasePriority,
    #[sqlx(try_from = "String")]
    source: CaseSource,
    #[sqlx(try_from = "String")]
    community: CommunityId,
    grid: Option<String>,
    lon: f64,
    lat: f64,
    building: Option<String>,
    opened_ms: Millis,
    updated_ms: Millis,
    closed_ms: Option<Millis>,
    outcome: Option<String>,
    due_ms: Option<Millis>,
    responsible: Option<String>,
    cooperating: JsonText<Vec<Party>>,
    alert_id: Option<i64>,
    patrol_run: Option<i64>,
    #[sqlx(try_from = "Flag")]
    drill: bool,
    reopened: i64,
    parties_done: JsonText<Vec<Party>>,
    recurs: Option<i64>,
}

/// A case as the API shows it: its due time (stored, or from its category and
/// priority) and whether it is overdue now.
fn case_from_row(row: &AnyRow) -> StoreResult<CaseSummary> {
    let row = CaseRow::from_row(row)?;
    let due = row
        .due_ms
        .unwrap_or(row.opened_ms + due_hours(row.category, row.priority) * 3_600_000);
    let handling = CaseHandling {
        due_at: Some(Timestamp::from_millis(due)),
        overdue: is_overdue(row.stage, due, crate::clock::now_ms()),
        responsible: row
            .responsible
            .map(|p| named(&p, Party::parse))
            .transpose()?,
        cooperating: row.cooperating.0,
        alert_id: row.alert_id,
        patrol_run: row.patrol_run,
        drill: row.drill,
        reopened: count(row.reopened)?,
        recurs: row.recurs,
        parties_done: row.parties_done.0,
    };
    Ok(CaseSummary {
        handling,
        id: row.id,
        title: row.title,
        category: row.category,
        stage: row.stage,
        priority: row.priority,
        source: row.source,
        community: row.community,
        grid: row.grid,
        position: [row.lon, row.lat],
        building: row.building,
        opened_at: Timestamp::from_millis(row.opened_ms),
        updated_at: Timestamp::from_millis(row.updated_ms),
        closed_at: row.closed_ms.map(Timestamp::from_millis),
        outcome: row
            .outcome
            .map(|o| named(&o, CaseOutcome::parse))
            .transpose()?,
    })
}

fn corrupt(err: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(anyhow::anyhow!("unreadable row: {err}"))
}

/// A stored count (SQLite's integers are signed) as the API's unsigned one; a negative
/// or huge one is a corrupt row.
fn count(n: i64) -> StoreResult<u32> {
    u32::try_from(n).map_err(|_| corrupt(format!("count {n} out of range")))
}

/// Whether `err` is the database refusing a write for breaking a constraint of `kind`.
fn violates(err: &sqlx::Error, kind: sqlx::error::ErrorKind) -> bool {
    matches!(err, sqlx::Error::Database(d) if d.kind() == kind)
}

/// What a broken constraint means to the caller, said once: a unique key already taken
/// is a conflict (409), a reference to nothing is invalid input (422).
trait Constraints<T> {
    fn or_conflict(self, message: impl FnOnce() -> String) -> StoreResult<T>;
    fn or_invalid(self, message: impl FnOnce() -> String) -> StoreResult<T>;
}

impl<T> Constraints<T> for Result<T, sqlx::Error> {
    fn or_conflict(self, message: impl FnOnce() -> String) -> StoreResult<T> {
        self.map_err(
            |e| match violates(&e, sqlx::error::ErrorKind::UniqueViolation) {
                true => StoreError::Conflict(message()),
                false => e.into(),
            },
        )
    }

    fn or_invalid(self, message: impl FnOnce() -> String) -> StoreResult<T> {
        self.map_err(
            |e| match violates(&e, sqlx::error::ErrorKind::ForeignKeyViolation) {
                true => StoreError::Invalid(message()),
                false => e.into(),
            },
        )
    }
}

impl SqlStore {
    /// Completes a `users` row (id, username, password_hash, role) with its communities.
    async fn user_record(&self, row: Option<AnyRow>) -> StoreResult<Option<UserRecord>> {
        let Some(row) = row else { return Ok(None) };
        let id: i64 = row.try_get("id")?;
        let communities = sqlx::query_scalar::<_, String>(
            "SELECT community_id FROM user_communities WHERE user_id = $1 ORDER BY community_id",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?
        .into_iter()
        .map(|id| CommunityId::parse(id).map_err(corrupt))
        .collect::<StoreResult<Vec<_>>>()?;
        Ok(Some(UserRecord {
            id,
            username: Username::parse(row.try_get::<String, _>("username")?).map_err(corrupt)?,
            password_hash: row.try_get("password_hash")?,
            role: parse_role(&row.try_get::<String, _>("role")?)?,
            communities,
            org: row
                .try_get::<Option<String>, _>("org")?
                .map(|o| named::<Party>(&o, Party::parse))
                .transpose()?,
            disabled: row.try_get::<Option<i64>, _>("disabled_ms")?.is_some(),
        }))
    }
}

/// Ends every session of a user; how many there were.
async fn end_sessions(tx: &mut sqlx::AnyConnection, user_id: i64) -> StoreResult<u64> {
    Ok(sqlx::query("DELETE FROM sessions WHERE user_id = $1")
        .bind(user_id)
        .execute(&mut *tx)
        .await?
        .rows_affected())
}

use sensors::Revocable;

#[async_trait]
impl Store for SqlStore {
    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn claim_leadership(&self, leader: &Leader, at: Millis) -> StoreResult<i64> {
        // Under the write lock, so that every write after it sees the new term.
        let mut tx = self.write().await?;
        let term: i64 = sqlx::query_scalar(
            "INSERT INTO cluster_leader (\"only\", instance, address, secret, since_ms, term) \
             VALUES (1, $1, $2, $3, $4, 1) ON CONFLICT (\"only\") DO UPDATE SET \
             instance = excluded.instance, address = excluded.address, \
             secret = excluded.secret, since_ms = excluded.since_ms, \
             term = cluster_leader.term + 1 \
             RETURNING term",
        )
        .bind(&leader.instance)
        .bind(&leader.address)
        .bind(&leader.secret)
        .bind(at)
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        if self.term.set(term).is_err() {
            return Err(StoreError::Backend(anyhow::anyhow!(
                "this server claimed the leadership twice"
            )));
        }
        Ok(term)
    }

    async fn begin_sign_in(
        &self,
        attempt: &Attempt,
        policy: &Policy,
        now: Millis,
    ) -> StoreResult<Result<i64, Duration>> {
        self.begin_sign_in_sql(attempt, policy, now).await
    }

    async fn withdraw_sign_in(&self, id: i64) -> StoreResult<()> {
        self.end_sign_in_sql(id, None).await
    }

    async fn sign_in_succeeded(&self, id: i64, attempt: &Attempt) -> StoreResult<()> {
        self.end_sign_in_sql(id, Some(attempt)).await
    }

    async fn still_leads(&self) -> StoreResult<bool> {
        self.still_leads_sql().await
    }

    async fn leader(&self) -> StoreResult<Option<Leader>> {
        let row: Option<(String, String, String)> =
            sqlx::query_as("SELECT instance, address, secret FROM cluster_leader")
                .fetch_optional(&self.pool)
                .await?;
        Ok(row.map(|(instance, address, secret)| Leader {
            instance,
            address,
            secret,
        }))
    }

    async fn create_user(&self, change: &Change, user: NewUser) -> StoreResult<UserRecord> {
        let mut tx = self.write().await?;
        let inserted = sqlx::query_scalar::<_, i64>(
            "INSERT INTO users (username, password_hash, role, org, created_ms) VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(user.username.as_str())
        .bind(&user.password_hash)
        .bind(user.role.as_str())
        .bind(user.org.map(Party::as_str))
        .bind(change.at)
        .fetch_one(&mut *tx)
        .await;
        let id =
            inserted.or_conflict(|| format!("a user named `{}` exists already", user.username))?;
        for community in &user.communities {
            let known = sqlx::query("SELECT 1 FROM communities WHERE id = $1")
                .bind(community.as_str())
                .fetch_optional(&mut *tx)
                .await?;
            if known.is_none() {
                return Err(StoreError::Invalid(format!(
                    "there is no community `{community}`"
                )));
            }
            sqlx::query("INSERT INTO user_communities (user_id, community_id) VALUES ($1, $2)")
                .bind(id)
                .bind(community.as_str())
                .execute(&mut *tx)
                .await?;
        }
        append_event(
            &mut tx,
            change,
            EventKind::UserCreated,
            json!({"username": user.username, "role": user.role, "communities": user.communities,
                   "org": user.org}),
        )
        .await?;
        tx.commit().await?;
        Ok(UserRecord {
            id,
            username: user.username,
            password_hash: user.password_hash,
            role: user.role,
            communities: user.communities,
            org: user.org,
            disabled: false,
        })
    }

    async fn user_by_name(&self, username: &Username) -> StoreResult<Option<UserRecord>> {
        let row = sqlx::query(
            "SELECT id, username, password_hash, role, org, disabled_ms FROM users WHERE username = $1",
        )
        .bind(username.as_str())
        .fetch_optional(&self.pool)
        .await?;
        self.user_record(row).await
    }

    async fn create_session(
        &self,
        change: &Change,
        user_id: i64,
        token_hash: &str,
        expires_at: Millis,
    ) -> StoreResult<()> {
        let mut tx = self.write().await?;
        // Expired sessions are swept whenever a new one starts.
        sqlx::query("DELETE FROM sessions WHERE expires_ms <= $1")
            .bind(change.at)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO sessions (token_hash, user_id, created_ms, expires_ms) VALUES ($1, $2, $3, $4)",
        )
        .bind(token_hash)
        .bind(user_id)
        .bind(change.at)
        .bind(expires_at)
        .execute(&mut *tx)
        .await?;
        append_event(
            &mut tx,
            change,
            EventKind::SessionOpened,
            json!({"user_id": user_id}),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn session_user(&self, token_hash: &str, now: Millis) -> StoreResult<Option<UserRecord>> {
        let row = sqlx::query(
            "SELECT u.id, u.username, u.password_hash, u.role, u.org, u.disabled_ms FROM sessions s \
             JOIN users u ON u.id = s.user_id \
             WHERE s.token_hash = $1 AND s.expires_ms > $2 AND u.disabled_ms IS NULL",
        )
        .bind(token_hash)
        .bind(now)
        .fetch_optional(&self.pool)
        .await?;
        self.user_record(row).await
    }

    async fn set_password(
        &self,
        change: &Change,
        username: &Username,
        password_hash: &str,
    ) -> StoreResult<()> {
        let mut tx = self.write().await?;
        let id: Option<i64> = sqlx::query_scalar(
            "UPDATE users SET password_hash = $1 WHERE username = $2 RETURNING id",
        )
        .bind(password_hash)
        .bind(username.as_str())
        .fetch_optional(&mut *tx)
        .await?;
        let id =
            id.ok_or_else(|| StoreError::NotFound(format!("there is no user `{username}`")))?;
        let ended = end_sessions(&mut tx, id).await?;
        append_event(
            &mut tx,
            change,
            EventKind::UserPasswordChanged,
            json!({"username": username, "sessions_ended": ended}),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn set_user_disabled(
        &self,
        change: &Change,
        username: &Username,
        disabled: bool,
    ) -> StoreResult<()> {
        let mut tx = self.write().await?;
        let row: Option<(i64, Option<i64>)> =
            sqlx::query_as("SELECT id, disabled_ms FROM users WHERE username = $1")
                .bind(username.as_str())
                .fetch_optional(&mut *tx)
                .await?;
        let (id, was) =
            row.ok_or_else(|| StoreError::NotFound(format!("there is no user `{username}`")))?;
        if was.is_some() == disabled {
            return Ok(());
        }
        sqlx::query("UPDATE users SET disabled_ms = $1 WHERE id = $2")
            .bind(disabled.then_some(change.at))
            .bind(id)
            .execute(&mut *tx)
            .await?;
        let ended = if disabled {
            end_sessions(&mut tx, id).await?
        } else {
            0
        };
        let kind = if disabled {
            EventKind::UserDisabled
        } else {
            EventKind::UserEnabled
        };
        append_event(
            &mut tx,
            change,
            kind,
            json!({"username": username, "sessions_ended": ended}),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn delete_session(&self, change: &Change, token_hash: &str) -> StoreResult<()> {
        let mut tx = self.write().await?;
        let user: Option<i64> =
            sqlx::query_scalar("DELETE FROM sessions WHERE token_hash = $1 RETURNING user_id")
                .bind(token_hash)
                .fetch_optional(&mut *tx)
                .await?;
        if let Some(user_id) = user {
            append_event(
                &mut tx,
                change,
                EventKind::SessionClosed,
                json!({"user_id": user_id}),
            )
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn save_communities(
        &self,
        change: &Change,
        communities: &[Community],
    ) -> StoreResult<()> {
        let mut tx = self.write().await?;
        for c in communities {
            upsert_community(&mut tx, change, c).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn replace_communities(
        &self,
        change: &Change,
        communities: &[Community],
    ) -> StoreResult<()> {
        let mut tx = self.write().await?;
        let kept: std::collections::HashSet<&str> =
            communities.iter().map(|c| c.id.as_str()).collect();
        let stored: Vec<String> = sqlx::query_scalar("SELECT id FROM communities ORDER BY id")
            .fetch_all(&mut *tx)
            .await?;
        let dropped: Vec<String> = stored
            .into_iter()
            .filter(|id| !kept.contains(id.as_str()))
            .collect();
        for id in &dropped {
            let users: Vec<String> = sqlx::query_scalar(
                "SELECT u.username FROM user_communities uc JOIN users u ON u.id = uc.user_id \
                 WHERE uc.community_id = $1 ORDER BY u.username",
            )
            .bind(id)
            .fetch_all(&mut *tx)
            .await?;
            if !users.is_empty() {
                let who = match users.as_slice() {
                    [one] => format!("a user is bound to it: {one}"),
                    many => format!("users are bound to it: {}", many.join(", ")),
                };
                return Err(StoreError::Invalid(format!(
                    "community `{id}` would be deleted, but {who}"
                )));
            }
        }
        for id in &dropped {
            sqlx::query("DELETE FROM communities WHERE id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?;
            let event = append_event(
                &mut tx,
                change,
                EventKind::CommunityDeleted,
                json!({"id": id}),
            )
            .await?;
            bump_layer(&mut tx, LayerName::Communities, event).await?;
        }
        for c in communities {
            upsert_community(&mut tx, change, c).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn communities(&self) -> StoreResult<Vec<Community>> {
        let rows: Vec<CommunityRow> =
            sqlx::query_as("SELECT id, name, name_en, geometry FROM communities ORDER BY id")
                .fetch_all(&self.pool)
                .await?;
        Ok(rows
            .into_iter()
            .map(|row| Community {
                id: row.id,
                name: row.name,
                name_en: row.name_en,
                geometry: row.geometry.0,
            })
            .collect())
    }

    async fn events_after(&self, after: i64, limit: u32) -> StoreResult<Vec<EventRecord>> {
        let rows: Vec<EventRow> = sqlx::query_as(
            "SELECT id, at_ms, actor, kind, data FROM events WHERE id > $1 ORDER BY id LIMIT $2",
        )
        .bind(after)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|row| EventRecord {
                id: row.id,
                at: Timestamp::from_millis(row.at_ms),
                actor: row.actor,
                kind: row.kind,
                data: row.data.0,
            })
            .collect())
    }

    async fn save_features_reporting(
        &self,
        change: &Change,
        layer: LayerName,
        features: &[Feature<Properties>],
        replace_layer: bool,
        progress: &(dyn Fn(usize) + Sync),
    ) -> StoreResult<i64> {
        if layer == LayerName::Communities {
            return Err(StoreError::Invalid(
                "communities are saved as communities".into(),
            ));
        }
        let mut tx = self.write().await?;
        if replace_layer {
            sqlx::query("DELETE FROM features WHERE layer = $1")
                .bind(layer.as_str())
                .execute(&mut *tx)
                .await?;
        }
        for (written, feature) in features.iter().enumerate() {
            let community = feature.properties.get("community").and_then(|v| v.as_str());
            sqlx::query(
                "INSERT INTO features (layer, id, community, properties, geometry) VALUES ($1, $2, $3, $4, $5) \
                 ON CONFLICT (layer, id) DO UPDATE SET community = excluded.community, \
                 properties = excluded.properties, geometry = excluded.geometry",
            )
            .bind(layer.as_str())
            .bind(&feature.id)
            .bind(community)
            .bind(serde_json::Value::Object(feature.properties.clone()).to_string())
            .bind(serde_json::to_string(&feature.geometry).map_err(|e| StoreError::Invalid(e.to_string()))?)
            .execute(&mut *tx)
            .await?;
            progress(written + 1);
        }
        let event = append_event(
            &mut tx,
            change,
            EventKind::LayerSaved,
            json!({"layer": layer.as_str(), "features": features.len(), "replaced_layer": replace_layer}),
        )
        .await?;
        bump_layer(&mut tx, layer, event).await?;
        tx.commit().await?;
        Ok(event)
    }

    async fn features(&self, layer: LayerName) -> StoreResult<Vec<Feature<Properties>>> {
        let rows: Vec<FeatureRow> = sqlx::query_as(
            "SELECT id, properties, geometry FROM features WHERE layer = $1 ORDER BY id",
        )
        .bind(layer.as_str())
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|row| Feature {
                id: row.id,
                properties: row.properties.0,
                geometry: row.geometry.0,
            })
            .collect())
    }

    async fn layer_version(&self, layer: LayerName) -> StoreResult<i64> {
        let version: Option<i64> =
            sqlx::query_scalar("SELECT version FROM layer_versions WHERE layer = $1")
                .bind(layer.as_str())
                .fetch_optional(&self.pool)
                .await?;
        Ok(version.unwrap_or(0))
    }

    async fn save_homes(&self, change: &Change, homes: &[Home]) -> StoreResult<()> {
        let mut tx = self.write().await?;
        for home in homes {
            delete_home(&mut tx, &home.id).await?;
            insert_home(&mut tx, home).await?;
        }
        append_event(
            &mut tx,
            change,
            EventKind::HomesSaved,
            json!({"homes": homes.len()}),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn import_homes(
        &self,
        change: &Change,
        homes: &[Home],
        replace_all: bool,
        progress: &(dyn Fn(usize) + Sync),
    ) -> StoreResult<HomesImported> {
        let mut tx = self.write().await?;
        let mut done = HomesImported::default();
        if replace_all {
            sqlx::query("DELETE FROM sensors").execute(&mut *tx).await?;
            done.removed = usize::try_from(
                sqlx::query("DELETE FROM homes")
                    .execute(&mut *tx)
                    .await?
                    .rows_affected(),
            )
            .unwrap_or(usize::MAX);
        } else {
            // Every replaced home goes before any is written, so a sensor may move
            // between homes of the file whatever their order.
            for home in homes {
                if delete_home(&mut tx, &home.id).await? {
                    done.replaced += 1;
                }
            }
        }
        done.added = homes.len() - done.replaced;
        for (written, home) in homes.iter().enumerate() {
            insert_home(&mut tx, home).await?;
            progress(written + 1);
        }
        append_event(
            &mut tx,
            change,
            EventKind::HomesImported,
            json!({
                "homes": homes.len(),
                "added": done.added,
                "replaced": done.replaced,
                "removed": done.removed,
                "replaced_all": replace_all,
            }),
        )
        .await?;
        tx.commit().await?;
        Ok(done)
    }

    async fn homes(&self, communities: Option<&[CommunityId]>) -> StoreResult<Vec<Home>> {
        let mut query = SqlBuilder::new(
            self.backend,
            "SELECT id, building, community, grid, unit, floor, room, resident, age_band, living_alone, \
             care_level, phone, contact, lon, lat FROM homes WHERE 1 = 1",
        );
        if let Some(ids) = communities {
            if ids.is_empty() {
                return Ok(Vec::new());
            }
            and_community_in(&mut query, ids);
        }
        query.push(" ORDER BY id");
        let rows: Vec<HomeRow> = query.build_query_as()?.fetch_all(&self.pool).await?;
        let mut sensors: std::collections::HashMap<String, Vec<Sensor>> =
            std::collections::HashMap::new();
        let sensor_rows: Vec<SensorRow> = sqlx::query_as(
            "SELECT id, home, kind, health, battery_pct, last_seen_ms FROM sensors ORDER BY id",
        )
        .fetch_all(&self.pool)
        .await?;
        for row in sensor_rows {
            sensors.entry(row.home).or_default().push(Sensor {
                id: row.id,
                kind: named(&row.kind, SensorKind::parse)?,
                health: named(&row.health, Health::parse)?,
                battery_pct: row.battery_pct.map(|b| b.clamp(0, 100) as u8),
                last_seen: row.last_seen_ms.map(Timestamp::from_millis),
            });
        }
        rows.into_iter()
            .map(|row| {
                Ok(Home {
                    sensors: sensors.remove(&row.id).unwrap_or_default(),
                    id: row.id,
                    building: row.building,
                    community: row.community,
                    grid: row.grid,
                    unit: row.unit.clamp(0, i64::from(u16::MAX)) as u16,
                    floor: row.floor.clamp(i64::from(i16::MIN), i64::from(i16::MAX)) as i16,
                    room: row.room,
                    resident: row.resident,
                    age_band: row.age_band,
                    living_alone: row.living_alone,
                    care_level: named(&row.care_level, parse_care_level)?,
                    phone: row.phone,
                    contact: row.contact,
                    position: [row.lon, row.lat],
                })
            })
            .collect()
    }

    async fn save_routes(
        &self,
        change: &Change,
        routes: &[Feature<RouteProperties>],
    ) -> StoreResult<()> {
        let mut tx = self.write().await?;
        for route in routes {
            let Geometry::LineString(path) = &route.geometry else {
                return Err(StoreError::Invalid(format!(
                    "route `{}` is not a LineString",
                    route.id
                )));
            };
            let p = &route.properties;
            sqlx::query(
                "INSERT INTO patrol_routes (id, name, community, schedule, path, checkpoints) VALUES ($1, $2, $3, $4, $5, $6) \
                 ON CONFLICT (id) DO UPDATE SET name = excluded.name, community = excluded.community, \
                 schedule = excluded.schedule, path = excluded.path, checkpoints = excluded.checkpoints",
            )
            .bind(&route.id)
            .bind(&p.name)
            .bind(&p.community)
            .bind(&p.schedule)
            .bind(serde_json::to_string(path).map_err(corrupt)?)
            .bind(serde_json::to_string(&p.checkpoints).map_err(corrupt)?)
            .execute(&mut *tx)
            .await?;
        }
        append_event(
            &mut tx,
            change,
            EventKind::RoutesSaved,
            json!({"routes": routes.len()}),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn routes(&self) -> StoreResult<Vec<Feature<RouteProperties>>> {
        let rows: Vec<RouteRow> = sqlx::query_as(
            "SELECT id, name, community, schedule, path, checkpoints FROM patrol_routes ORDER BY id",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|row| Feature {
                geometry: Geometry::LineString(row.path.0),
                properties: RouteProperties {
                    id: row.id.clone(),
                    name: row.name,
                    community: row.community,
                    schedule: row.schedule,
                    checkpoints: row.checkpoints.0,
                },
                id: row.id,
            })
            .collect())
    }

    async fn insert_case(&self, change: &Change, case: &CaseSummary) -> StoreResult<CaseSummary> {
        let mut tx = self.write().await?;
        let stored = insert_case(&mut tx, change, case).await?;
        cases::record_report(&mut tx, change, &stored, "").await?;
        tx.commit().await?;
        Ok(stored)
    }

    async fn start_run(
        &self,
        change: &Change,
        unit: &str,
        route: &str,
        scope: Option<&[CommunityId]>,
    ) -> StoreResult<linli_domain::patrol::PatrolRun> {
        self.start_run_sql(change, unit, route, scope).await
    }

    async fn end_run(
        &self,
        change: &Change,
        unit: &str,
        missed_reason: Option<&str>,
        scope: Option<&[CommunityId]>,
    ) -> StoreResult<linli_domain::patrol::PatrolRun> {
        self.end_run_sql(change, unit, missed_reason, scope).await
    }

    async fn record_position(
        &self,
        change: &Change,
        unit: &str,
        position: linli_domain::place::Position,
        at: Millis,
        scope: Option<&[CommunityId]>,
    ) -> StoreResult<linli_domain::patrol::PatrolRun> {
        self.record_position_sql(change, unit, position, at, scope)
            .await
    }

    async fn units(&self) -> StoreResult<Vec<linli_domain::patrol::PatrolRun>> {
        self.units_sql().await
    }

    async fn create_case(
        &self,
        change: &Change,
        new: &NewCase,
        scope: Option<&[CommunityId]>,
    ) -> StoreResult<Case> {
        self.create_case_sql(change, new, scope).await
    }

    async fn case(&self, id: i64) -> StoreResult<Option<Case>> {
        self.case_sql(id).await
    }

    async fn step_case(
        &self,
        change: &Change,
        id: i64,
        step: &CaseStep,
        for_party: Option<Party>,
    ) -> StoreResult<Case> {
        self.step_case_sql(change, id, step, for_party).await
    }

    async fn add_case_photo(
        &self,
        change: &Change,
        id: i64,
        photo: &NewPhoto,
        for_party: Option<Party>,
    ) -> StoreResult<Case> {
        self.add_case_photo_sql(change, id, photo, for_party).await
    }

    async fn case_photo(&self, case: i64, photo: i64, thumb: bool) -> StoreResult<Option<Vec<u8>>> {
        self.case_photo_sql(case, photo, thumb).await
    }

    async fn create_dispatch(
        &self,
        change: &Change,
        new: &NewDispatchRecord,
    ) -> StoreResult<Dispatch> {
        self.create_dispatch_sql(change, new).await
    }

    async fn dispatches(&self, filter: &DispatchFilter) -> StoreResult<Vec<Dispatch>> {
        self.dispatches_sql(filter).await
    }

    async fn dispatch(&self, id: i64) -> StoreResult<Option<Dispatch>> {
        self.dispatch_sql(id).await
    }

    async fn step_dispatch(
        &self,
        change: &Change,
        id: i64,
        step: &DispatchStep,
    ) -> StoreResult<Dispatch> {
        self.step_dispatch_sql(change, id, step).await
    }

    async fn publish_notice(&self, change: &Change, notice: &NewNotice) -> StoreResult<Notice> {
        self.publish_notice_sql(change, notice).await
    }

    async fn withdraw_notice(&self, change: &Change, id: i64) -> StoreResult<Notice> {
        self.withdraw_notice_sql(change, id).await
    }

    async fn notices(&self, now: Millis) -> StoreResult<Vec<Notice>> {
        self.notices_sql(now).await
    }

    async fn channels(&self) -> StoreResult<Vec<StoredChannel>> {
        self.channels_sql().await
    }

    async fn add_channel(
        &self,
        change: &Change,
        channel: &linli_domain::notify::ChannelRequest,
    ) -> StoreResult<StoredChannel> {
        self.add_channel_sql(change, channel).await
    }

    async fn delete_channel(&self, change: &Change, id: i64) -> StoreResult<StoredChannel> {
        self.delete_channel_sql(change, id).await
    }

    async fn roster(
        &self,
        community: &CommunityId,
    ) -> StoreResult<Option<linli_domain::notify::Roster>> {
        self.roster_sql(community).await
    }

    async fn set_roster(
        &self,
        change: &Change,
        community: &CommunityId,
        roster: &linli_domain::notify::Roster,
    ) -> StoreResult<()> {
        self.set_roster_sql(change, community, roster).await
    }

    async fn notify_cursor(&self) -> StoreResult<Option<i64>> {
        self.notify_cursor_sql().await
    }

    async fn notify_apply(
        &self,
        at: Millis,
        cursor: Option<i64>,
        writes: Vec<NotifyWrite>,
    ) -> StoreResult<()> {
        self.notify_apply_sql(at, cursor, writes).await
    }

    async fn chains(&self, alert_ids: &[i64]) -> StoreResult<Vec<Chain>> {
        self.chains_sql(alert_ids).await
    }

    async fn chains_due(&self, now: Millis) -> StoreResult<Vec<Chain>> {
        self.chains_due_sql(now).await
    }

    async fn digest_due(&self, now: Millis) -> StoreResult<Vec<(i64, CommunityId)>> {
        self.digest_due_sql(now).await
    }

    async fn chain_started_since(
        &self,
        home: &str,
        kind: linli_domain::alerts::AlertKind,
        since: Millis,
    ) -> StoreResult<bool> {
        self.chain_started_since_sql(home, kind, since).await
    }

    async fn outbox_due(&self, now: Millis, limit: u32) -> StoreResult<Vec<PendingDelivery>> {
        self.outbox_due_sql(now, limit).await
    }

    async fn home_place(&self, home: &str) -> StoreResult<Option<(i64, String)>> {
        self.home_place_sql(home).await
    }

    async fn deliveries(&self, alert_id: i64) -> StoreResult<Vec<linli_domain::notify::Delivery>> {
        self.deliveries_sql(alert_id).await
    }

    async fn cases(&self, filter: &CaseFilter) -> StoreResult<Vec<CaseSummary>> {
        let mut query = SqlBuilder::new(
            self.backend,
            format!("SELECT {CASE_COLUMNS} FROM cases WHERE 1 = 1"),
        );
        if let Some(ids) = &filter.communities {
            if ids.is_empty() {
                return Ok(Vec::new());
            }
            and_community_in(&mut query, ids);
        }
        if let Some(community) = &filter.community {
            query
                .push(" AND community = ")
                .push_bind(community.as_str());
        }
        if let Some(stage) = filter.stage {
            query.push(" AND stage = ").push_bind(stage.as_str());
        }
        if let Some(category) = filter.category {
            query.push(" AND category = ").push_bind(category.as_str());
        }
        if let Some(party) = filter.party {
            // `cooperating` is a JSON list of party names (plain words, never escaped):
            // the quoted name inside it is the party, in both databases' SQL.
            query
                .push(" AND (responsible = ")
                .push_bind(party.as_str())
                .push(" OR cooperating LIKE ")
                .push_bind(format!("%\"{}\"%", party.as_str()))
                .push(")");
        }
        query.push(" ORDER BY opened_ms DESC, id DESC");
        let cases = query
            .build()?
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(case_from_row)
            .collect::<StoreResult<Vec<_>>>()?;
        Ok(match filter.overdue {
            Some(overdue) => cases
                .into_iter()
                .filter(|c| c.handling.overdue == overdue)
                .collect(),
            None => cases,
        })
    }

    async fn add_device(
        &self,
        change: &Change,
        home: &str,
        kind: SensorKind,
        token_hash: &str,
    ) -> StoreResult<String> {
        self.add_device_sql(change, home, kind, token_hash).await
    }

    async fn add_gateway(
        &self,
        change: &Change,
        id: &str,
        communities: &[CommunityId],
        token_hash: &str,
    ) -> StoreResult<()> {
        self.add_gateway_sql(change, id, communities, token_hash)
            .await
    }

    async fn gateways(&self) -> StoreResult<Vec<GatewayRecord>> {
        self.gateways_sql().await
    }

    async fn known_devices(&self, ids: &[String]) -> StoreResult<Vec<String>> {
        self.known_devices_sql(ids).await
    }

    async fn revoke_device(&self, change: &Change, id: &str) -> StoreResult<()> {
        self.revoke_sql(change, Revocable::Device, id).await
    }

    async fn revoke_gateway(&self, change: &Change, id: &str) -> StoreResult<()> {
        self.revoke_sql(change, Revocable::Gateway, id).await
    }

    async fn credential(&self, token_hash: &str) -> StoreResult<Option<Credential>> {
        self.credential_sql(token_hash).await
    }

    async fn devices(&self) -> StoreResult<Vec<DeviceRecord>> {
        self.devices_sql().await
    }

    async fn commit_readings(
        &self,
        at: Millis,
        readings: &[Reading],
        writes: Vec<EngineWrite>,
    ) -> StoreResult<Committed> {
        self.commit_readings_sql(at, readings, writes).await
    }

    async fn readings_after(&self, after: i64, limit: u32) -> StoreResult<Vec<(i64, Reading)>> {
        self.readings_after_sql(after, limit).await
    }

    async fn rule_state(&self) -> StoreResult<Option<(i64, String)>> {
        self.rule_state_sql().await
    }

    async fn save_rule_state(
        &self,
        at: Millis,
        reading_id: i64,
        homes: &str,
        sensors: &[SensorSeen],
    ) -> StoreResult<()> {
        self.save_rule_state_sql(at, reading_id, homes, sensors)
            .await
    }

    async fn threshold_overrides(
        &self,
    ) -> StoreResult<Vec<(Option<String>, linli_domain::care::ThresholdOverrides)>> {
        self.threshold_overrides_sql().await
    }

    async fn check_ins_since(&self, since: Millis) -> StoreResult<Vec<(String, Millis)>> {
        self.check_ins_since_sql(since).await
    }

    async fn engine_alerts(&self, resolved_since: Millis) -> StoreResult<Vec<StoredAlert>> {
        self.engine_alerts_sql(resolved_since).await
    }

    async fn max_alert_id(&self) -> StoreResult<i64> {
        self.max_alert_id_sql().await
    }

    async fn alerts(&self, filter: &AlertFilter) -> StoreResult<Vec<Alert>> {
        self.alerts_sql(filter).await
    }

    async fn alert(&self, id: i64) -> StoreResult<Option<Alert>> {
        self.alert_sql(id).await
    }

    async fn last_event_id(&self) -> StoreResult<i64> {
        let id: Option<i64> = sqlx::query_scalar("SELECT MAX(id) FROM events")
            .fetch_one(&self.pool)
            .await?;
        Ok(id.unwrap_or(0))
    }
}
