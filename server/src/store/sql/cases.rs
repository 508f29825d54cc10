//! The SQLite side of the case workflow: a new case with the first entry of its
//! timeline, a case with its timeline, and a step (stage change, closing, reopening,
//! assignment, note) applied in one transaction with its `case.updated` event. Which
//! steps are allowed is decided by `linli_domain::cases` (`CaseStage::after`), and
//! which earlier cases a report repeats by `linli_domain::cases::related`.

use super::any::JsonText;
use super::{append_event, case_from_row, corrupt, count, insert_case, SqlStore, CASE_COLUMNS};
use crate::clock::Millis;
use crate::store::{step_refused, Change, NewPhoto, StoreError, StoreResult};
use linli_domain::cases::{
    related, Case, CaseEvent, CaseHandling, CaseOutcome, CasePhoto, CaseStage, CaseStep,
    CaseSummary, NewCase, Party, PhotoKind, Related, SAME_SPOT_METRES,
};
use linli_domain::events::EventKind;
use linli_domain::CommunityId;
use linli_domain::Timestamp;
use sqlx::AnyConnection;

/// Earlier cases at the spot of a report of `case` made at `at`: the open ones it may
/// repeat, and the newest solved one it shows to have come back. Only cases of the
/// same community: a case names no case that someone who may see it could not open
/// (a grid worker sees their own communities only), and merges only within its
/// community (across a border the case is `transferred`).
async fn related_cases(
    conn: &mut AnyConnection,
    case: &CaseSummary,
    at: Millis,
) -> StoreResult<(Vec<i64>, Option<i64>)> {
    // A box a little larger than the spot radius, then the exact test.
    let lat_margin = SAME_SPOT_METRES * 1.5 / 111_000.0;
    let lon_margin = lat_margin / case.position[1].to_radians().cos().max(0.1);
    let rows = sqlx::query(&format!(
        "SELECT {CASE_COLUMNS} FROM cases WHERE category = $1 AND community = $2 AND id != $3 \
         AND opened_ms <= $4 AND lat BETWEEN $5 AND $6 AND lon BETWEEN $7 AND $8 ORDER BY id"
    ))
    .bind(case.category.as_str())
    .bind(case.community.as_str())
    .bind(case.id)
    .bind(at)
    .bind(case.position[1] - lat_margin)
    .bind(case.position[1] + lat_margin)
    .bind(case.position[0] - lon_margin)
    .bind(case.position[0] + lon_margin)
    .fetch_all(&mut *conn)
    .await?;
    let (mut duplicates, mut recurs) = (Vec::new(), None);
    let mut newest_solved = Millis::MIN;
    for row in &rows {
        let earlier = case_from_row(row)?;
        let opened = earlier.opened_at.millis();
        let closed = earlier.closed_at.map(Timestamp::millis);
        match related(
            case.category,
            &case.title,
            case.position,
            at,
            &earlier,
            opened,
            closed,
        ) {
            Some(Related::PossibleDuplicate) => duplicates.push(earlier.id),
            Some(Related::Recurs) if closed.unwrap_or_default() > newest_solved => {
                newest_solved = closed.unwrap_or_default();
                recurs = Some(earlier.id);
            }
            _ => {}
        }
    }
    Ok((duplicates, recurs))
}

async fn record_step(
    conn: &mut AnyConnection,
    change: &Change,
    case: i64,
    step: &CaseStep,
    stage: CaseStage,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO case_events (case_id, at_ms, actor, step, stage) VALUES ($1, $2, $3, $4, $5)",
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

/// Inserts a new case with its description and the first entry of its timeline (the
/// report, with `note`), inside the caller's transaction.
pub(super) async fn open_case(
    conn: &mut AnyConnection,
    change: &Change,
    summary: &CaseSummary,
    description: &str,
    note: &str,
) -> StoreResult<CaseSummary> {
    let stored = insert_case(conn, change, summary).await?;
    sqlx::query("UPDATE cases SET description = $1 WHERE id = $2")
        .bind(description)
        .bind(stored.id)
        .execute(&mut *conn)
        .await?;
    record_report(conn, change, &stored, note).await?;
    Ok(stored)
}

/// The first entry of a case's timeline: its report, at the time it was opened.
pub(super) async fn record_report(
    conn: &mut AnyConnection,
    change: &Change,
    case: &CaseSummary,
    note: &str,
) -> StoreResult<()> {
    let report = CaseStep::Report { note: note.into() };
    let opened = Change {
        at: case.opened_at.millis(),
        ..change.clone()
    };
    record_step(conn, &opened, case.id, &report, CaseStage::Reported).await
}

async fn summary(conn: &mut AnyConnection, id: i64) -> StoreResult<Option<CaseSummary>> {
    sqlx::query(&format!("SELECT {CASE_COLUMNS} FROM cases WHERE id = $1"))
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?
        .as_ref()
        .map(case_from_row)
        .transpose()
}

/// A row of `case_events`: one step of a case's timeline.
#[derive(sqlx::FromRow)]
struct CaseEventRow {
    at_ms: Millis,
    actor: String,
    step: JsonText<CaseStep>,
    #[sqlx(try_from = "String")]
    stage: CaseStage,
}

/// A row of `case_photos` (its image is read apart).
#[derive(sqlx::FromRow)]
struct CasePhotoRow {
    id: i64,
    at_ms: Millis,
    actor: String,
    #[sqlx(try_from = "String")]
    kind: PhotoKind,
    note: String,
    width: i64,
    height: i64,
}

async fn full_case(conn: &mut AnyConnection, id: i64) -> StoreResult<Option<Case>> {
    let Some(summary) = summary(conn, id).await? else {
        return Ok(None);
    };
    let description: String = sqlx::query_scalar("SELECT description FROM cases WHERE id = $1")
        .bind(id)
        .fetch_one(&mut *conn)
        .await?;
    let timeline = sqlx::query_as::<_, CaseEventRow>(
        "SELECT at_ms, actor, step, stage FROM case_events WHERE case_id = $1 ORDER BY at_ms, id",
    )
    .bind(id)
    .fetch_all(&mut *conn)
    .await?
    .into_iter()
    .map(|row| CaseEvent {
        at: Timestamp::from_millis(row.at_ms),
        by: row.actor,
        step: row.step.0,
        stage: row.stage,
    })
    .collect();
    let possible_duplicates = if summary.stage == CaseStage::Reported {
        related_cases(conn, &summary, summary.opened_at.millis())
            .await?
            .0
    } else {
        Vec::new()
    };
    let photos = sqlx::query_as::<_, CasePhotoRow>(
        "SELECT id, at_ms, actor, kind, note, width, height FROM case_photos \
         WHERE case_id = $1 ORDER BY id",
    )
    .bind(id)
    .fetch_all(&mut *conn)
    .await?
    .into_iter()
    .map(|row| {
        Ok(CasePhoto {
            id: row.id,
            at: Timestamp::from_millis(row.at_ms),
            by: row.actor,
            kind: row.kind,
            note: row.note,
            width: count(row.width)?,
            height: count(row.height)?,
        })
    })
    .collect::<StoreResult<Vec<_>>>()?;
    Ok(Some(Case {
        next_stages: summary.stage.next_stages().to_vec(),
        summary,
        description,
        timeline,
        possible_duplicates,
        photos,
    }))
}

/// The case `id` as a change left it, with its `case.updated` event (the summary,
/// which the live stream sends), inside the change's transaction.
async fn changed_case(conn: &mut AnyConnection, change: &Change, id: i64) -> StoreResult<Case> {
    let case = full_case(conn, id)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("there is no case {id}")))?;
    append_event(
        conn,
        change,
        EventKind::CaseUpdated,
        serde_json::to_value(&case.summary).map_err(corrupt)?,
    )
    .await?;
    Ok(case)
}

/// The case `id` for a change by `for_party` (a partner's, when given): `NotFound`,
/// or `Forbidden` when that party does not handle it now.
async fn case_for_change(
    conn: &mut AnyConnection,
    id: i64,
    for_party: Option<Party>,
) -> StoreResult<CaseSummary> {
    let current = summary(conn, id)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("there is no case {id}")))?;
    if let Some(party) = for_party.filter(|p| !current.handling.handles(*p)) {
        return Err(StoreError::Forbidden(format!(
            "case {id} is not assigned to `{}`",
            party.as_str()
        )));
    }
    Ok(current)
}

/// Records on `original` that case `case` was closed as its duplicate: another open
/// case of the same community.
async fn merge_into(
    conn: &mut AnyConnection,
    change: &Change,
    case: &CaseSummary,
    outcome: CaseOutcome,
    original: i64,
) -> StoreResult<()> {
    let id = case.id;
    if outcome != CaseOutcome::Duplicate {
        return Err(StoreError::Invalid(
            "duplicate_of goes with the outcome `duplicate`".into(),
        ));
    }
    if original == id {
        return Err(StoreError::Invalid("a case cannot duplicate itself".into()));
    }
    let target = summary(conn, original)
        .await?
        .ok_or_else(|| StoreError::Invalid(format!("there is no case {original}")))?;
    if target.community != case.community {
        return Err(StoreError::Invalid(format!(
            "case {original} is another community's: a case merges only into one of its own \
             community; close this one as `transferred` instead"
        )));
    }
    if target.stage == CaseStage::Closed {
        return Err(StoreError::Conflict(format!(
            "case {original} is closed; reopen it, or close this one otherwise"
        )));
    }
    let note = CaseStep::Note {
        // Said in both languages: the timeline shows notes as they were written.
        note: format!("#{id} 重复上报，已合并 · case {id} reported the same, merged here"),
    };
    record_step(conn, change, original, &note, target.stage).await?;
    sqlx::query("UPDATE cases SET updated_ms = $1 WHERE id = $2")
        .bind(change.at)
        .bind(original)
        .execute(&mut *conn)
        .await?;
    append_event(
        conn,
        change,
        EventKind::CaseUpdated,
        serde_json::to_value(&target).map_err(corrupt)?,
    )
    .await?;
    Ok(())
}

impl SqlStore {
    pub(super) async fn create_case_sql(
        &self,
        change: &Change,
        new: &NewCase,
        scope: Option<&[CommunityId]>,
    ) -> StoreResult<Case> {
        let at = Timestamp::from_millis(change.at);
        let mut summary = CaseSummary {
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
            opened_at: at,
            updated_at: at,
            closed_at: None,
            outcome: None,
            handling: CaseHandling {
                responsible: new.responsible,
                cooperating: new.cooperating.clone(),
                patrol_run: new.patrol_run,
                ..CaseHandling::default()
            },
        };
        let mut tx = self.write().await?;
        if let Some(run) = new.patrol_run {
            Self::check_patrol_run(&mut tx, run, scope).await?;
        }
        summary.handling.recurs = related_cases(&mut tx, &summary, change.at).await?.1;
        let stored = open_case(&mut tx, change, &summary, &new.description, "").await?;
        let case = full_case(&mut tx, stored.id)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("there is no case {}", stored.id)))?;
        tx.commit().await?;
        Ok(case)
    }

    pub(super) async fn add_case_photo_sql(
        &self,
        change: &Change,
        id: i64,
        photo: &NewPhoto,
        for_party: Option<Party>,
    ) -> StoreResult<Case> {
        let mut tx = self.write().await?;
        let current = case_for_change(&mut tx, id, for_party).await?;
        if current.stage == CaseStage::Closed {
            return Err(StoreError::Conflict(format!(
                "case {id} is closed; reopen it first"
            )));
        }
        let photo_id = sqlx::query_scalar::<_, i64>(
            "INSERT INTO case_photos (case_id, at_ms, actor, kind, note, width, height, image, thumb) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
        )
        .bind(id)
        .bind(change.at)
        .bind(change.actor.label())
        .bind(photo.kind.as_str())
        .bind(&photo.note)
        .bind(i64::from(photo.width))
        .bind(i64::from(photo.height))
        .bind(&photo.image)
        .bind(&photo.thumb)
        .fetch_one(&mut *tx)
        .await?;
        sqlx::query("UPDATE cases SET updated_ms = $1 WHERE id = $2")
            .bind(change.at)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        append_event(
            &mut tx,
            change,
            EventKind::CasePhoto,
            serde_json::json!({"case": id, "photo": photo_id, "kind": photo.kind,
                               "community": &current.community}),
        )
        .await?;
        let case = changed_case(&mut tx, change, id).await?;
        tx.commit().await?;
        Ok(case)
    }

    pub(super) async fn case_photo_sql(
        &self,
        case: i64,
        photo: i64,
        thumb: bool,
    ) -> StoreResult<Option<Vec<u8>>> {
        let column = if thumb { "thumb" } else { "image" };
        Ok(sqlx::query_scalar(&format!(
            "SELECT {column} FROM case_photos WHERE case_id = $1 AND id = $2"
        ))
        .bind(case)
        .bind(photo)
        .fetch_optional(&self.pool)
        .await?)
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
        for_party: Option<Party>,
    ) -> StoreResult<Case> {
        let mut tx = self.write().await?;
        let current = case_for_change(&mut tx, id, for_party).await?;
        // Done offline before a later change arrived: after it, so the timeline keeps
        // its order.
        let change = &change.not_before(current.updated_at.millis());
        let handles = |party: Party| current.handling.handles(party);
        let stage = current
            .stage
            .after(step)
            .map_err(|refusal| step_refused(current.stage, refusal))?;
        let mut done = current.handling.parties_done.clone();
        match step {
            CaseStep::PartDone { party, .. } if !handles(*party) => {
                return Err(StoreError::Invalid(format!(
                    "`{}` does not handle case {id}",
                    party.as_str()
                )))
            }
            CaseStep::PartDone { party, .. } if done.contains(party) => {
                return Err(StoreError::Conflict(format!(
                    "`{}` marked its part of case {id} done already",
                    party.as_str()
                )))
            }
            CaseStep::PartDone { party, .. } => done.push(*party),
            CaseStep::Assign {
                responsible,
                cooperating,
                ..
            } => done.retain(|p| p == responsible || cooperating.contains(p)),
            CaseStep::Reopen { .. } => done.clear(),
            _ => {}
        }
        let done = serde_json::to_string(&done).map_err(corrupt)?;
        if let CaseStep::Close {
            outcome,
            duplicate_of: Some(original),
            ..
        } = step
        {
            merge_into(&mut tx, change, &current, *outcome, *original).await?;
        }
        let update = match step {
            CaseStep::Close { outcome, .. } => sqlx::query(
                "UPDATE cases SET stage = $1, outcome = $2, closed_ms = $3, updated_ms = $4 WHERE id = $5",
            )
            .bind(stage.as_str())
            .bind(outcome.as_str())
            .bind(change.at),
            CaseStep::Reopen { .. } => sqlx::query(
                "UPDATE cases SET stage = $1, outcome = NULL, closed_ms = NULL, \
                 reopened = reopened + 1, parties_done = $2, updated_ms = $3 WHERE id = $4",
            )
            .bind(stage.as_str())
            .bind(&done),
            CaseStep::Assign {
                responsible,
                cooperating,
                ..
            } => sqlx::query(
                "UPDATE cases SET responsible = $1, cooperating = $2, parties_done = $3, \
                 updated_ms = $4 WHERE id = $5",
            )
            .bind(responsible.as_str())
            .bind(serde_json::to_string(cooperating).map_err(corrupt)?)
            .bind(&done),
            CaseStep::PartDone { .. } => {
                sqlx::query("UPDATE cases SET parties_done = $1, updated_ms = $2 WHERE id = $3")
                    .bind(&done)
            }
            // (A report is refused by `after` above.)
            CaseStep::Advance { .. } | CaseStep::Note { .. } | CaseStep::Report { .. } => {
                sqlx::query("UPDATE cases SET stage = $1, updated_ms = $2 WHERE id = $3")
                    .bind(stage.as_str())
            }
        };
        update.bind(change.at).bind(id).execute(&mut *tx).await?;
        record_step(&mut tx, change, id, step, stage).await?;
        let case = changed_case(&mut tx, change, id).await?;
        tx.commit().await?;
        Ok(case)
    }
}
