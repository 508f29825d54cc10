//! The SQLite side of patrol runs: starting and ending a unit's run on a route, and
//! each position it posts, which covers checkpoints and may stray from the route
//! (`linli_domain::patrol`), stored with a `patrol.position` event for the maps.
//! Whether the caller may touch the run (the route's community against the caller's)
//! is checked inside the same transaction, on the route as stored.

use super::any::{Flag, JsonText};
use super::{append_event, corrupt, count, SqlStore};
use crate::clock::{now_ms, Millis};
use crate::store::{Change, StoreError, StoreResult};
use linli_domain::events::EventKind;
use linli_domain::patrol::{
    is_off_route, newly_covered, not_covered, progress_along, Checkpoint, Covered, PatrolRun,
    SILENT_AFTER_MS,
};
use linli_domain::place::Position;
use linli_domain::CommunityId;
use linli_domain::Timestamp;
use sqlx::any::AnyRow;
use sqlx::AnyConnection;
use sqlx::{FromRow as _, Row as _};

const RUN_COLUMNS: &str = "r.id, r.unit, r.route, p.community, r.started_ms, r.ended_ms, \
     r.covered, p.checkpoints, p.path, r.positions, r.off_route_positions, r.lon, r.lat, r.last_ms, \
     r.off_route, r.missed_reason";

/// A run joined with its route, as [`RUN_COLUMNS`] selects it.
#[derive(sqlx::FromRow)]
struct RunRow {
    id: i64,
    unit: String,
    route: String,
    community: Option<String>,
    started_ms: Millis,
    ended_ms: Option<Millis>,
    covered: JsonText<Vec<Covered>>,
    checkpoints: JsonText<Vec<Checkpoint>>,
    path: JsonText<Vec<Position>>,
    positions: i64,
    off_route_positions: i64,
    lon: Option<f64>,
    lat: Option<f64>,
    last_ms: Option<Millis>,
    #[sqlx(try_from = "Flag")]
    off_route: bool,
    missed_reason: Option<String>,
}

/// A run as the API shows it: its progress, silence and missed checkpoints worked out
/// from the row.
fn run_from_row(row: &AnyRow) -> StoreResult<PatrolRun> {
    let row = RunRow::from_row(row)?;
    let (checkpoints, covered) = (row.checkpoints.0, row.covered.0);
    let position = row.lon.zip(row.lat).map(|(lon, lat)| [lon, lat]);
    let missed = match row.ended_ms {
        Some(_) => not_covered(&checkpoints, &covered)
            .into_iter()
            .cloned()
            .collect(),
        None => Vec::new(),
    };
    Ok(PatrolRun {
        id: row.id,
        unit: row.unit,
        route: row.route,
        community: row.community,
        started_at: Timestamp::from_millis(row.started_ms),
        ended_at: row.ended_ms.map(Timestamp::from_millis),
        covered,
        checkpoints: checkpoints.len(),
        positions: count(row.positions)?,
        off_route_positions: count(row.off_route_positions)?,
        position,
        last_seen: row.last_ms.map(Timestamp::from_millis),
        off_route: row.off_route,
        progress: position.and_then(|p| progress_along(&row.path.0, p)),
        silent: row.ended_ms.is_none()
            && now_ms() - row.last_ms.unwrap_or(row.started_ms) > SILENT_AFTER_MS,
        missed,
        missed_reason: row.missed_reason,
    })
}

async fn open_run(conn: &mut AnyConnection, unit: &str) -> StoreResult<Option<PatrolRun>> {
    sqlx::query(&format!(
        "SELECT {RUN_COLUMNS} FROM patrol_runs r JOIN patrol_routes p ON p.id = r.route \
         WHERE r.unit = $1 AND r.ended_ms IS NULL"
    ))
    .bind(unit)
    .fetch_optional(&mut *conn)
    .await?
    .as_ref()
    .map(run_from_row)
    .transpose()
}

async fn run_by_id(conn: &mut AnyConnection, id: i64) -> StoreResult<PatrolRun> {
    let row = sqlx::query(&format!(
        "SELECT {RUN_COLUMNS} FROM patrol_runs r JOIN patrol_routes p ON p.id = r.route WHERE r.id = $1"
    ))
    .bind(id)
    .fetch_one(&mut *conn)
    .await?;
    run_from_row(&row)
}

/// A run as it now stands, after it started or ended, with its `patrol.run` event.
async fn run_changed(conn: &mut AnyConnection, change: &Change, id: i64) -> StoreResult<PatrolRun> {
    let run = run_by_id(conn, id).await?;
    append_event(
        conn,
        change,
        EventKind::PatrolRun,
        serde_json::to_value(&run).map_err(corrupt)?,
    )
    .await?;
    Ok(run)
}

/// Refuses a run on a route of `community` to a caller limited to `scope`; runs on
/// district-wide routes (no community) are everyone's.
fn check_scope(scope: Option<&[CommunityId]>, community: Option<&str>) -> StoreResult<()> {
    match (scope, community) {
        (Some(scope), Some(community)) if !scope.iter().any(|c| c.as_str() == community) => {
            Err(StoreError::Forbidden(format!(
                "this patrol belongs to another community (`{community}`)"
            )))
        }
        _ => Ok(()),
    }
}

/// The unit's run under way, when `scope` may touch it.
async fn open_run_in_scope(
    conn: &mut AnyConnection,
    unit: &str,
    scope: Option<&[CommunityId]>,
) -> StoreResult<PatrolRun> {
    let run = open_run(conn, unit).await?.ok_or_else(|| no_run(unit))?;
    check_scope(scope, run.community.as_deref())?;
    Ok(run)
}

fn no_run(unit: &str) -> StoreError {
    StoreError::Conflict(format!(
        "unit `{unit}` is not out on a run; start one with POST /api/v1/patrols/units/{unit}/run"
    ))
}

impl SqlStore {
    pub(super) async fn start_run_sql(
        &self,
        change: &Change,
        unit: &str,
        route: &str,
        scope: Option<&[CommunityId]>,
    ) -> StoreResult<PatrolRun> {
        let mut tx = self.write().await?;
        let community: Option<Option<String>> =
            sqlx::query_scalar("SELECT community FROM patrol_routes WHERE id = $1")
                .bind(route)
                .fetch_optional(&mut *tx)
                .await?;
        let Some(community) = community else {
            return Err(StoreError::Invalid(format!(
                "there is no patrol route `{route}`"
            )));
        };
        check_scope(scope, community.as_deref())?;
        if open_run(&mut tx, unit).await?.is_some() {
            return Err(StoreError::Conflict(format!(
                "unit `{unit}` is already out on a run; end it first"
            )));
        }
        let id = sqlx::query_scalar::<_, i64>(
            "INSERT INTO patrol_runs (unit, route, started_ms, started_by) VALUES ($1, $2, $3, $4) RETURNING id",
        )
        .bind(unit)
        .bind(route)
        .bind(change.at)
        .bind(change.actor.label())
        .fetch_one(&mut *tx)
        .await?;
        let run = run_changed(&mut tx, change, id).await?;
        tx.commit().await?;
        Ok(run)
    }

    pub(super) async fn end_run_sql(
        &self,
        change: &Change,
        unit: &str,
        missed_reason: Option<&str>,
        scope: Option<&[CommunityId]>,
    ) -> StoreResult<PatrolRun> {
        let mut tx = self.write().await?;
        let run = open_run_in_scope(&mut tx, unit, scope).await?;
        // A run ends no earlier than its last position (a tablet's queue may hold both).
        let ended = change.not_before(
            run.last_seen
                .map_or(0, Timestamp::millis)
                .max(run.started_at.millis()),
        );
        sqlx::query("UPDATE patrol_runs SET ended_ms = $1, missed_reason = $2 WHERE id = $3")
            .bind(ended.at)
            .bind(missed_reason)
            .bind(run.id)
            .execute(&mut *tx)
            .await?;
        let run = run_changed(&mut tx, &ended, run.id).await?;
        tx.commit().await?;
        Ok(run)
    }

    /// Refuses a case's `patrol_run` that names no run, or one `scope` may not see.
    pub(super) async fn check_patrol_run(
        conn: &mut AnyConnection,
        id: i64,
        scope: Option<&[CommunityId]>,
    ) -> StoreResult<()> {
        let community: Option<Option<String>> = sqlx::query_scalar(
            "SELECT p.community FROM patrol_runs r JOIN patrol_routes p ON p.id = r.route \
             WHERE r.id = $1",
        )
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?;
        let Some(community) = community else {
            return Err(StoreError::Invalid(format!("there is no patrol run {id}")));
        };
        check_scope(scope, community.as_deref())
    }

    pub(super) async fn record_position_sql(
        &self,
        change: &Change,
        unit: &str,
        position: Position,
        at: Millis,
        scope: Option<&[CommunityId]>,
    ) -> StoreResult<PatrolRun> {
        let mut tx = self.write().await?;
        let run = open_run_in_scope(&mut tx, unit, scope).await?;
        let row = sqlx::query("SELECT path, checkpoints FROM patrol_routes WHERE id = $1")
            .bind(&run.route)
            .fetch_one(&mut *tx)
            .await?;
        let path: Vec<Position> =
            serde_json::from_str(&row.try_get::<String, _>("path")?).map_err(corrupt)?;
        let checkpoints: Vec<Checkpoint> =
            serde_json::from_str(&row.try_get::<String, _>("checkpoints")?).map_err(corrupt)?;
        let mut covered = run.covered.clone();
        for checkpoint in newly_covered(&checkpoints, &covered, position) {
            covered.push(Covered {
                checkpoint: checkpoint.id.clone(),
                at: Timestamp::from_millis(at),
            });
        }
        // A late position (queued on a tablet offline) still counts, in time order,
        // but does not move the unit back to where it was.
        covered.sort_by_key(|c| c.at);
        let off_route = is_off_route(&path, position);
        let last = run.last_seen.map(Timestamp::millis);
        let (shown, shown_at, shown_off_route) = match (last, run.position) {
            (Some(last), Some(newer)) if last > at => (newer, last, run.off_route),
            _ => (position, at, off_route),
        };
        sqlx::query(
            "UPDATE patrol_runs SET covered = $1, positions = positions + 1, \
             off_route_positions = off_route_positions + $2, lon = $3, lat = $4, last_ms = $5, \
             off_route = $6 WHERE id = $7",
        )
        .bind(serde_json::to_string(&covered).map_err(corrupt)?)
        .bind(i64::from(off_route))
        .bind(shown[0])
        .bind(shown[1])
        .bind(shown_at)
        .bind(shown_off_route)
        .bind(run.id)
        .execute(&mut *tx)
        .await?;
        let run = run_by_id(&mut tx, run.id).await?;
        append_event(
            &mut tx,
            change,
            EventKind::PatrolPosition,
            serde_json::to_value(&run).map_err(corrupt)?,
        )
        .await?;
        tx.commit().await?;
        Ok(run)
    }

    /// Each unit's latest run.
    pub(super) async fn units_sql(&self) -> StoreResult<Vec<PatrolRun>> {
        sqlx::query(&format!(
            "SELECT {RUN_COLUMNS} FROM patrol_runs r JOIN patrol_routes p ON p.id = r.route \
             WHERE r.id IN (SELECT MAX(id) FROM patrol_runs GROUP BY unit) ORDER BY r.unit"
        ))
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(run_from_row)
        .collect()
    }
}
