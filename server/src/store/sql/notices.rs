//! The SQL of public notices: publish, withdraw, and those in force.

use super::{append_event, SqlStore};
use crate::clock::Millis;
use crate::store::{Change, NewNotice, StoreError, StoreResult};
use linli_domain::api::Notice;
use linli_domain::events::EventKind;
use linli_domain::Timestamp;
use serde_json::json;
use sqlx::any::AnyRow;
use sqlx::FromRow as _;

const COLUMNS: &str = "id, title, body, published_ms, until_ms";
/// In force at `$1`: published, not withdrawn, not past its end.
const IN_FORCE: &str =
    "withdrawn_ms IS NULL AND published_ms <= $1 AND (until_ms IS NULL OR until_ms > $1)";

/// A row of `notices` as [`COLUMNS`] selects it.
#[derive(sqlx::FromRow)]
struct NoticeRow {
    id: i64,
    title: String,
    body: String,
    published_ms: Millis,
    until_ms: Option<Millis>,
}

fn notice_from_row(row: &AnyRow) -> StoreResult<Notice> {
    let row = NoticeRow::from_row(row)?;
    Ok(Notice {
        id: row.id,
        title: row.title,
        body: row.body,
        published_at: Timestamp::from_millis(row.published_ms),
        until: row.until_ms.map(Timestamp::from_millis),
    })
}

impl SqlStore {
    pub(super) async fn publish_notice_sql(
        &self,
        change: &Change,
        new: &NewNotice,
    ) -> StoreResult<Notice> {
        let mut tx = self.write().await?;
        let id = sqlx::query_scalar::<_, i64>(
            "INSERT INTO notices (title, body, published_ms, published_by, until_ms) VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(&new.title)
        .bind(&new.body)
        .bind(change.at)
        .bind(change.actor.label())
        .bind(new.until)
        .fetch_one(&mut *tx)
        .await?;
        let notice = Notice {
            id,
            title: new.title.clone(),
            body: new.body.clone(),
            published_at: Timestamp::from_millis(change.at),
            until: new.until.map(Timestamp::from_millis),
        };
        append_event(&mut tx, change, EventKind::NoticePublished, json!(notice)).await?;
        tx.commit().await?;
        Ok(notice)
    }

    pub(super) async fn withdraw_notice_sql(
        &self,
        change: &Change,
        id: i64,
    ) -> StoreResult<Notice> {
        let mut tx = self.write().await?;
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM notices WHERE {IN_FORCE} AND id = $2"
        ))
        .bind(change.at)
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("no notice {id} is in force")))?;
        let notice = notice_from_row(&row)?;
        sqlx::query("UPDATE notices SET withdrawn_ms = $1 WHERE id = $2")
            .bind(change.at)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        append_event(
            &mut tx,
            change,
            EventKind::NoticeWithdrawn,
            json!({"id": id}),
        )
        .await?;
        tx.commit().await?;
        Ok(notice)
    }

    pub(super) async fn notices_sql(&self, now: Millis) -> StoreResult<Vec<Notice>> {
        sqlx::query(&format!(
            "SELECT {COLUMNS} FROM notices WHERE {IN_FORCE} ORDER BY published_ms DESC, id DESC"
        ))
        .bind(now)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(notice_from_row)
        .collect()
    }
}
