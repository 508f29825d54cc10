//! The SQL of dispatch: a task sent, the tasks a caller may see, and a step on one,
//! each change with its `dispatch.created` or `dispatch.updated` event (the task as it
//! then stands, which the live stream sends).

use super::{and_community_in, append_event, corrupt, Constraints, SqlStore};
use crate::store::{Change, DispatchFilter, NewDispatchRecord, StoreError, StoreResult};
use linli_domain::dispatch::{
    Dispatch, DispatchAction, DispatchEvent, DispatchState, DispatchStep,
};
use linli_domain::events::EventKind;
use linli_domain::CommunityId;
use linli_domain::Timestamp;
use sqlx::any::AnyRow;
use sqlx::AnyConnection;
use sqlx::FromRow as _;

const COLUMNS: &str = "id, assignee, alert_id, case_id, community, title, lon, lat, note, \
                       state, sent_by, sent_ms, updated_ms";

/// A row of `dispatches` as [`COLUMNS`] selects it.
#[derive(sqlx::FromRow)]
struct DispatchRow {
    id: i64,
    assignee: String,
    alert_id: Option<i64>,
    case_id: Option<i64>,
    #[sqlx(try_from = "String")]
    community: CommunityId,
    title: String,
    lon: f64,
    lat: f64,
    note: String,
    #[sqlx(try_from = "String")]
    state: DispatchState,
    sent_by: String,
    sent_ms: i64,
    updated_ms: i64,
}

/// A task without its steps (`events`, read apart).
fn dispatch_from_row(row: &AnyRow) -> StoreResult<Dispatch> {
    let row = DispatchRow::from_row(row)?;
    Ok(Dispatch {
        id: row.id,
        assignee: row.assignee,
        alert_id: row.alert_id,
        case_id: row.case_id,
        community: row.community,
        title: row.title,
        position: [row.lon, row.lat],
        note: row.note,
        state: row.state,
        sent_by: row.sent_by,
        sent_at: Timestamp::from_millis(row.sent_ms),
        updated_at: Timestamp::from_millis(row.updated_ms),
        events: Vec::new(),
    })
}

/// The task `id` with its steps.
async fn full(conn: &mut AnyConnection, id: i64) -> StoreResult<Option<Dispatch>> {
    let Some(row) = sqlx::query(&format!("SELECT {COLUMNS} FROM dispatches WHERE id = $1"))
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?
    else {
        return Ok(None);
    };
    let mut dispatch = dispatch_from_row(&row)?;
    dispatch.events = events(conn, id).await?;
    Ok(Some(dispatch))
}

/// The task `id` as a change left it, with its event (`kind`) carrying it.
async fn recorded(
    conn: &mut AnyConnection,
    change: &Change,
    id: i64,
    kind: EventKind,
) -> StoreResult<Dispatch> {
    let dispatch = full(conn, id)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("there is no dispatch {id}")))?;
    append_event(
        conn,
        change,
        kind,
        serde_json::to_value(&dispatch).map_err(corrupt)?,
    )
    .await?;
    Ok(dispatch)
}

/// A row of `dispatch_events`: one step of a task.
#[derive(sqlx::FromRow)]
struct DispatchEventRow {
    at_ms: i64,
    actor: String,
    #[sqlx(try_from = "String")]
    action: DispatchAction,
    note: String,
}

async fn events(conn: &mut AnyConnection, id: i64) -> StoreResult<Vec<DispatchEvent>> {
    let rows: Vec<DispatchEventRow> = sqlx::query_as(
        "SELECT at_ms, actor, action, note FROM dispatch_events WHERE dispatch_id = $1 ORDER BY id",
    )
    .bind(id)
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|row| DispatchEvent {
            at: Timestamp::from_millis(row.at_ms),
            by: row.actor,
            action: row.action,
            note: row.note,
        })
        .collect())
}

impl SqlStore {
    pub(super) async fn create_dispatch_sql(
        &self,
        change: &Change,
        new: &NewDispatchRecord,
    ) -> StoreResult<Dispatch> {
        let mut tx = self.write().await?;
        let id = sqlx::query_scalar::<_, i64>(
            "INSERT INTO dispatches (assignee, alert_id, case_id, community, title, lon, lat, note, \
             state, sent_by, sent_ms, updated_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'sent', $9, $10, $11) RETURNING id",
        )
        .bind(&new.assignee)
        .bind(new.alert_id)
        .bind(new.case_id)
        .bind(new.community.as_str())
        .bind(&new.title)
        .bind(new.position[0])
        .bind(new.position[1])
        .bind(&new.note)
        .bind(change.actor.label())
        .bind(change.at)
        .bind(change.at)
        .fetch_one(&mut *tx)
        .await
        .or_invalid(|| "the alert or case to go to does not exist".into())?;
        let dispatch = recorded(&mut tx, change, id, EventKind::DispatchCreated).await?;
        tx.commit().await?;
        Ok(dispatch)
    }

    pub(super) async fn dispatches_sql(
        &self,
        filter: &DispatchFilter,
    ) -> StoreResult<Vec<Dispatch>> {
        let mut query = super::SqlBuilder::new(
            self.backend,
            format!("SELECT {COLUMNS} FROM dispatches WHERE 1 = 1"),
        );
        if let Some(ids) = &filter.communities {
            if ids.is_empty() {
                return Ok(Vec::new());
            }
            and_community_in(&mut query, ids);
        }
        if filter.open_only {
            query.push(" AND state IN ('sent', 'accepted', 'arrived')");
        }
        query
            .push(" ORDER BY id DESC LIMIT ")
            .push_bind(i64::from(filter.limit));
        let mut conn = self.pool.acquire().await?;
        let rows = query.build()?.fetch_all(&mut *conn).await?;
        let mut list = Vec::with_capacity(rows.len());
        for row in &rows {
            let mut dispatch = dispatch_from_row(row)?;
            dispatch.events = events(&mut conn, dispatch.id).await?;
            list.push(dispatch);
        }
        Ok(list)
    }

    pub(super) async fn dispatch_sql(&self, id: i64) -> StoreResult<Option<Dispatch>> {
        let mut conn = self.pool.acquire().await?;
        full(&mut conn, id).await
    }

    pub(super) async fn step_dispatch_sql(
        &self,
        change: &Change,
        id: i64,
        step: &DispatchStep,
    ) -> StoreResult<Dispatch> {
        let mut tx = self.write().await?;
        let current = full(&mut tx, id)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("there is no dispatch {id}")))?;
        let next = step
            .action
            .apply(current.state)
            .map_err(StoreError::Conflict)?;
        // Done offline before a later change arrived: after it, so the task's history
        // keeps its order.
        let change = &change.not_before(current.updated_at.millis());
        sqlx::query("UPDATE dispatches SET state = $1, updated_ms = $2 WHERE id = $3")
            .bind(next.as_str())
            .bind(change.at)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO dispatch_events (dispatch_id, at_ms, actor, action, note) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(id)
        .bind(change.at)
        .bind(change.actor.label())
        .bind(step.action.as_str())
        .bind(&step.note)
        .execute(&mut *tx)
        .await?;
        let dispatch = recorded(&mut tx, change, id, EventKind::DispatchUpdated).await?;
        tx.commit().await?;
        Ok(dispatch)
    }
}
