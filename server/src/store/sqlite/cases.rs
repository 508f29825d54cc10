//! The SQLite side of the case workflow: a new case with the first entry of its
//! timeline, a case with its timeline, and a step (stage change, closing, reopening,
//! assignment, note) applied in one transaction with its `case.updated` event. Which
//! steps are allowed is decided by `linli_domain::cases` (`CaseStage::after`).

use super::{append_event, case_from_row, corrupt, insert_case, named, SqliteStore, CASE_COLUMNS};
use crate::clock::rfc3339;
use crate::store::{Change, StoreError, StoreResult};
use linli_domain::cases::{
    Case, CaseEvent, CaseHandling, CaseStage, CaseStep, CaseSummary, NewCase,
};
use sqlx::sqlite::SqliteConnection;
use sqlx::Row as _;

async fn record_step(
    conn: &mut SqliteConnection,
    change: &Change,
    case: i64,
    step: &CaseStep,
    stage: CaseStage,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO case_events (case_id, at_ms, actor, step, stage) VALUES (?, ?, ?, ?, ?)",
    )
    .bind(case)
    .bind(change.at)
    .bind(change.actor.label())
    .bind(serde_json::to_string(step).map_err(corrupt)?)
    .bind(stage.as_str())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

async fn summary(conn: &mut SqliteConnection, id: i64) -> StoreResult<Option<CaseSummary>> {
    sqlx::query(&format!("SELECT {CASE_COLUMNS} FROM cases WHERE id = ?"))
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?
        .as_ref()
        .map(case_from_row)
        .transpose()
}

async fn full_case(conn: &mut SqliteConnection, id: i64) -> StoreResult<Option<Case>> {
    let Some(summary) = summary(conn, id).await? else {
        return Ok(None);
    };
    let description: String = sqlx::query_scalar("SELECT description FROM cases WHERE id = ?")
        .bind(id)
        .fetch_one(&mut *conn)
        .await?;
    let timeline = sqlx::query(
        "SELECT at_ms, actor, step, stage FROM case_events WHERE case_id = ? ORDER BY id",
    )
    .bind(id)
    .fetch_all(&mut *conn)
    .await?
    .iter()
    .map(|row| {
        Ok(CaseEvent {
            at: rfc3339(row.try_get("at_ms")?),
            by: row.try_get("actor")?,
            step: serde_json::from_str(&row.try_get::<String, _>("step")?).map_err(corrupt)?,
            stage: named(&row.try_get::<String, _>("stage")?, CaseStage::parse)?,
        })
    })
    .collect::<StoreResult<Vec<_>>>()?;
    Ok(Some(Case {
        next_stages: summary.stage.next_stages().to_vec(),
        summary,
        description,
        timeline,
    }))
}

impl SqliteStore {
    pub(super) async fn create_case_sql(
        &self,
        change: &Change,
        new: &NewCase,
    ) -> StoreResult<Case> {
        let at = rfc3339(change.at);
        let summary = CaseSummary {
            id: 0,
            title: new.title.clone(),
            category: new.category,
            stage: CaseStage::Reported,
            priority: new.priority,
            source: new.source,
            community: new.community.clone(),
            grid: new.grid.clone(),
            position: new.position,
            building: new.building.clone(),
            opened_at: at.clone(),
            updated_at: at,
            closed_at: None,
            outcome: None,
            handling: CaseHandling {
                responsible: new.responsible,
                cooperating: new.cooperating.clone(),
                ..CaseHandling::default()
            },
        };
        let mut tx = self.pool.begin().await?;
        let stored = insert_case(&mut tx, change, &summary).await?;
        sqlx::query("UPDATE cases SET description = ? WHERE id = ?")
            .bind(&new.description)
            .bind(stored.id)
            .execute(&mut *tx)
            .await?;
        let report = CaseStep::Note {
            note: format!("reported ({})", new.source.as_str()),
        };
        record_step(&mut tx, change, stored.id, &report, CaseStage::Reported).await?;
        let case = full_case(&mut tx, stored.id)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("there is no case {}", stored.id)))?;
        tx.commit().await?;
        Ok(case)
    }

    pub(super) async fn case_sql(&self, id: i64) -> StoreResult<Option<Case>> {
        let mut conn = self.pool.acquire().await?;
        full_case(&mut conn, id).await
    }

    pub(super) async fn step_case_sql(
        &self,
        change: &Change,
        id: i64,
        step: &CaseStep,
    ) -> StoreResult<Case> {
        let mut tx = self.pool.begin().await?;
        let current = summary(&mut tx, id)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("there is no case {id}")))?;
        let stage = current
            .stage
            .after(step)
            .map_err(|refusal| StoreError::Conflict(refusal.to_string()))?;
        let update = match step {
            CaseStep::Close { outcome, .. } => sqlx::query(
                "UPDATE cases SET stage = ?, outcome = ?, closed_ms = ?, updated_ms = ? WHERE id = ?",
            )
            .bind(stage.as_str())
            .bind(outcome.as_str())
            .bind(change.at),
            CaseStep::Reopen { .. } => sqlx::query(
                "UPDATE cases SET stage = ?, outcome = NULL, closed_ms = NULL, \
                 reopened = reopened + 1, updated_ms = ? WHERE id = ?",
            )
            .bind(stage.as_str()),
            CaseStep::Assign {
                responsible,
                cooperating,
                ..
            } => sqlx::query(
                "UPDATE cases SET responsible = ?, cooperating = ?, updated_ms = ? WHERE id = ?",
            )
            .bind(responsible.as_str())
            .bind(serde_json::to_string(cooperating).map_err(corrupt)?),
            CaseStep::Advance { .. } | CaseStep::Note { .. } => {
                sqlx::query("UPDATE cases SET stage = ?, updated_ms = ? WHERE id = ?")
                    .bind(stage.as_str())
            }
        };
        update.bind(change.at).bind(id).execute(&mut *tx).await?;
        record_step(&mut tx, change, id, step, stage).await?;
        let case = full_case(&mut tx, id)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("there is no case {id}")))?;
        append_event(
            &mut tx,
            change,
            "case.updated",
            serde_json::to_value(&case.summary).map_err(corrupt)?,
        )
        .await?;
        tx.commit().await?;
        Ok(case)
    }
}
