//! The SQL of notifications: channels, duty rosters, escalation chains and the outbox
//! (see `crate::notify`).

use super::any::JsonText;
use super::{append_event, count, SqlStore};
use crate::clock::Millis;
use crate::store::{
    Actor, Chain, Change, NewDelivery, NotifyWrite, PendingDelivery, StoreError, StoreResult,
    StoredChannel,
};
use linli_domain::alerts::{AlertKind, Severity};
use linli_domain::events::EventKind;
use linli_domain::notify::{ChannelKind, ChannelRequest, Delivery, DeliveryState, OnDuty, Roster};
use linli_domain::CommunityId;
use linli_domain::Timestamp;
use serde_json::json;
use sqlx::any::AnyRow;
use sqlx::{FromRow as _, Row as _};

/// Who the notifier acts as in the event log.
pub const NOTIFIER: Actor = Actor::System("notifier");

fn corrupt(what: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(anyhow::anyhow!(
        "a stored notification row is corrupt: {what}"
    ))
}

const CHANNEL_COLUMNS: &str = "id, name, kind, url, secret, communities, min_severity, created_ms";

/// A row of `notify_channels` as [`CHANNEL_COLUMNS`] selects it.
#[derive(sqlx::FromRow)]
struct ChannelRow {
    id: i64,
    name: String,
    #[sqlx(try_from = "String")]
    kind: ChannelKind,
    url: String,
    secret: Option<String>,
    communities: JsonText<Vec<CommunityId>>,
    #[sqlx(try_from = "String")]
    min_severity: Severity,
    created_ms: Millis,
}

impl From<ChannelRow> for StoredChannel {
    fn from(row: ChannelRow) -> StoredChannel {
        StoredChannel {
            id: row.id,
            name: row.name,
            kind: row.kind,
            url: row.url,
            secret: row.secret,
            communities: row.communities.0,
            min_severity: row.min_severity,
            created_ms: row.created_ms,
        }
    }
}

fn channel_from_row(row: &AnyRow) -> StoreResult<StoredChannel> {
    Ok(ChannelRow::from_row(row)?.into())
}

/// A delivery as [`SqlStore::deliveries_sql`] lists it: the outbox's row with its
/// channel's name and kind.
#[derive(sqlx::FromRow)]
struct DeliveryRow {
    id: i64,
    alert_id: i64,
    level: i64,
    level_title: String,
    person: Option<JsonText<OnDuty>>,
    #[sqlx(try_from = "String")]
    state: DeliveryState,
    attempts: i64,
    decided_ms: Millis,
    sent_ms: Option<Millis>,
    error: Option<String>,
    name: String,
    #[sqlx(try_from = "String")]
    kind: ChannelKind,
}

/// A delivery waiting in `notify_outbox` with its channel, as
/// [`SqlStore::outbox_due_sql`] selects it (the channel's columns unprefixed, the
/// delivery's id as `o_id`).
#[derive(sqlx::FromRow)]
struct DueRow {
    o_id: i64,
    alert_id: i64,
    round: i64,
    level: i64,
    level_title: String,
    person: Option<JsonText<OnDuty>>,
    message: JsonText<serde_json::Value>,
    attempts: i64,
    #[sqlx(flatten)]
    channel: ChannelRow,
}

/// A row of `notify_chains`.
#[derive(sqlx::FromRow)]
struct ChainRow {
    alert_id: i64,
    home: String,
    #[sqlx(try_from = "String")]
    kind: AlertKind,
    started_ms: Millis,
    round: i64,
    level: i64,
    next_ms: Option<Millis>,
    ended: Option<String>,
}

fn chain_from_row(row: &AnyRow) -> StoreResult<Chain> {
    let row = ChainRow::from_row(row)?;
    Ok(Chain {
        alert_id: row.alert_id,
        home: row.home,
        kind: row.kind,
        started_ms: row.started_ms,
        round: count(row.round)?,
        level: count(row.level)?,
        next_ms: row.next_ms,
        answered: matches!(row.ended.as_deref(), Some("acknowledged" | "resolved")),
    })
}

/// What the channel's event says of it: never its secret or its URL's query (a
/// robot's key).
fn channel_event(channel: &StoredChannel) -> serde_json::Value {
    json!({
        "id": channel.id,
        "name": channel.name,
        "kind": channel.kind,
        "communities": channel.communities,
        "min_severity": channel.min_severity,
    })
}

impl SqlStore {
    pub(super) async fn channels_sql(&self) -> StoreResult<Vec<StoredChannel>> {
        let rows = sqlx::query(&format!(
            "SELECT {CHANNEL_COLUMNS} FROM notify_channels WHERE deleted_ms IS NULL ORDER BY id"
        ))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(channel_from_row).collect()
    }

    pub(super) async fn add_channel_sql(
        &self,
        change: &Change,
        request: &ChannelRequest,
    ) -> StoreResult<StoredChannel> {
        let mut tx = self.write().await?;
        let communities = serde_json::to_string(&request.communities).map_err(corrupt)?;
        let id = sqlx::query_scalar::<_, i64>(
            "INSERT INTO notify_channels (name, kind, url, secret, communities, min_severity, created_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        )
        .bind(&request.name)
        .bind(request.kind.as_str())
        .bind(&request.url)
        .bind(&request.secret)
        .bind(&communities)
        .bind(request.min_severity.as_str())
        .bind(change.at)
        .fetch_one(&mut *tx)
        .await?;
        let channel = StoredChannel {
            id,
            name: request.name.clone(),
            kind: request.kind,
            url: request.url.clone(),
            secret: request.secret.clone(),
            communities: request.communities.clone(),
            min_severity: request.min_severity,
            created_ms: change.at,
        };
        append_event(
            &mut tx,
            change,
            EventKind::NotifyChannelAdded,
            channel_event(&channel),
        )
        .await?;
        tx.commit().await?;
        Ok(channel)
    }

    pub(super) async fn delete_channel_sql(
        &self,
        change: &Change,
        id: i64,
    ) -> StoreResult<StoredChannel> {
        let mut tx = self.write().await?;
        let row = sqlx::query(&format!(
            "SELECT {CHANNEL_COLUMNS} FROM notify_channels WHERE id = $1 AND deleted_ms IS NULL"
        ))
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("there is no channel {id}")))?;
        let channel = channel_from_row(&row)?;
        sqlx::query("UPDATE notify_channels SET deleted_ms = $1 WHERE id = $2")
            .bind(change.at)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "UPDATE notify_outbox SET state = 'failed', error = 'the channel was deleted' \
             WHERE channel_id = $1 AND state = 'pending'",
        )
        .bind(id)
        .execute(&mut *tx)
        .await?;
        append_event(
            &mut tx,
            change,
            EventKind::NotifyChannelDeleted,
            channel_event(&channel),
        )
        .await?;
        tx.commit().await?;
        Ok(channel)
    }

    pub(super) async fn roster_sql(&self, community: &CommunityId) -> StoreResult<Option<Roster>> {
        let row = sqlx::query("SELECT roster FROM duty_rosters WHERE community = $1")
            .bind(community.as_str())
            .fetch_optional(&self.pool)
            .await?;
        row.map(|row| {
            let text: String = row.try_get("roster")?;
            serde_json::from_str(&text).map_err(corrupt)
        })
        .transpose()
    }

    pub(super) async fn set_roster_sql(
        &self,
        change: &Change,
        community: &CommunityId,
        roster: &Roster,
    ) -> StoreResult<()> {
        let mut tx = self.write().await?;
        let known = sqlx::query("SELECT 1 FROM communities WHERE id = $1")
            .bind(community.as_str())
            .fetch_optional(&mut *tx)
            .await?;
        if known.is_none() {
            return Err(StoreError::NotFound(format!(
                "there is no community `{community}`"
            )));
        }
        sqlx::query(
            "INSERT INTO duty_rosters (community, roster, updated_ms) VALUES ($1, $2, $3) \
             ON CONFLICT (community) DO UPDATE SET roster = excluded.roster, updated_ms = excluded.updated_ms",
        )
        .bind(community.as_str())
        .bind(serde_json::to_string(roster).map_err(corrupt)?)
        .bind(change.at)
        .execute(&mut *tx)
        .await?;
        let levels: Vec<&str> = roster.levels.iter().map(|l| l.title.as_str()).collect();
        append_event(
            &mut tx,
            change,
            EventKind::NotifyRosterSet,
            json!({"community": community, "levels": levels}),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    pub(super) async fn notify_cursor_sql(&self) -> StoreResult<Option<i64>> {
        let row = sqlx::query("SELECT event_id FROM notify_cursor WHERE \"only\" = 1")
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|row| row.try_get("event_id")).transpose()?)
    }

    pub(super) async fn notify_apply_sql(
        &self,
        at: Millis,
        cursor: Option<i64>,
        writes: Vec<NotifyWrite>,
    ) -> StoreResult<()> {
        let mut tx = self.write().await?;
        let change = Change::new(NOTIFIER, at);
        for write in writes {
            match write {
                NotifyWrite::Chain(chain) => {
                    sqlx::query(
                        "INSERT INTO notify_chains (alert_id, home, kind, started_ms, round, level, next_ms, ended) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (alert_id) DO UPDATE SET \
                         started_ms = excluded.started_ms, round = excluded.round, \
                         level = excluded.level, next_ms = excluded.next_ms, ended = excluded.ended",
                    )
                    .bind(chain.alert_id)
                    .bind(&chain.home)
                    .bind(chain.kind.as_str())
                    .bind(chain.started_ms)
                    .bind(i64::from(chain.round))
                    .bind(i64::from(chain.level))
                    .bind(chain.next_ms)
                    .bind(chain.next_ms.is_none().then_some("last-level"))
                    .execute(&mut *tx)
                    .await?;
                }
                NotifyWrite::EndChain { alert_id, why } => {
                    sqlx::query(
                        "UPDATE notify_chains SET next_ms = NULL, ended = $1 \
                         WHERE alert_id = $2 AND (next_ms IS NOT NULL OR ended = 'last-level')",
                    )
                    .bind(why)
                    .bind(alert_id)
                    .execute(&mut *tx)
                    .await?;
                    // A digest anchored on this alert carries others too: it goes.
                    sqlx::query(
                        "UPDATE notify_outbox SET state = 'cancelled', error = $1 \
                         WHERE alert_id = $2 AND state = 'pending' AND level < $3",
                    )
                    .bind(format!("not sent: {why} first"))
                    .bind(alert_id)
                    .bind(i64::from(linli_domain::notify::DIGEST_LEVEL))
                    .execute(&mut *tx)
                    .await?;
                }
                NotifyWrite::Enqueue(new) => {
                    sqlx::query(
                        "INSERT INTO notify_outbox (alert_id, round, level, level_title, channel_id, person, \
                         message, state, next_try_ms, decided_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, 'pending', $8, $9) \
                         ON CONFLICT (alert_id, round, level, channel_id) DO NOTHING",
                    )
                    .bind(new.alert_id)
                    .bind(i64::from(new.round))
                    .bind(i64::from(new.level))
                    .bind(&new.level_title)
                    .bind(new.channel_id)
                    .bind(
                        new.person
                            .as_ref()
                            .map(serde_json::to_string)
                            .transpose()
                            .map_err(corrupt)?,
                    )
                    .bind(new.message.to_string())
                    .bind(at)
                    .bind(at)
                    .execute(&mut *tx)
                    .await?;
                }
                NotifyWrite::Digest {
                    alert_id,
                    community,
                    why,
                    due_ms,
                } => {
                    sqlx::query(
                        "INSERT INTO notify_digest (alert_id, community, why, due_ms) \
                         VALUES ($1, $2, $3, $4) ON CONFLICT (alert_id) DO NOTHING",
                    )
                    .bind(alert_id)
                    .bind(community.as_str())
                    .bind(why)
                    .bind(due_ms)
                    .execute(&mut *tx)
                    .await?;
                }
                NotifyWrite::Digested { alert_ids, anchor } => {
                    for alert_id in alert_ids {
                        sqlx::query(
                            "UPDATE notify_digest SET sent_with = $1 \
                             WHERE alert_id = $2 AND sent_with IS NULL",
                        )
                        .bind(anchor)
                        .bind(alert_id)
                        .execute(&mut *tx)
                        .await?;
                    }
                }
                NotifyWrite::Sent { id, event } => {
                    // Taken by its receiver, even if cancelled meanwhile: it was sent.
                    let changed = sqlx::query(
                        "UPDATE notify_outbox SET state = 'sent', sent_ms = $1, attempts = attempts + 1, \
                         error = NULL WHERE id = $2 AND state IN ('pending', 'cancelled')",
                    )
                    .bind(at)
                    .bind(id)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                    if changed == 1 {
                        append_event(&mut tx, &change, EventKind::AlertNotified, event).await?;
                    }
                }
                NotifyWrite::Retry {
                    id,
                    next_try_ms,
                    error,
                } => {
                    sqlx::query(
                        "UPDATE notify_outbox SET attempts = attempts + 1, next_try_ms = $1, error = $2 \
                         WHERE id = $3 AND state = 'pending'",
                    )
                    .bind(next_try_ms)
                    .bind(&error)
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                }
                NotifyWrite::Failed {
                    id,
                    alert_id,
                    round,
                    level,
                    error,
                    event,
                } => {
                    let changed = sqlx::query(
                        "UPDATE notify_outbox SET state = 'failed', attempts = attempts + 1, error = $1 \
                         WHERE id = $2 AND state = 'pending'",
                    )
                    .bind(&error)
                    .bind(id)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                    if changed == 1 {
                        append_event(&mut tx, &change, EventKind::AlertNotifyFailed, event).await?;
                        // Nobody of this level heard of it: the next level now.
                        sqlx::query(
                            "UPDATE notify_chains SET next_ms = $1 WHERE alert_id = $2 AND round = $3 \
                             AND level = $4 AND next_ms IS NOT NULL AND NOT EXISTS (SELECT 1 FROM \
                             notify_outbox WHERE alert_id = $5 AND round = $6 AND level = $7 \
                             AND state IN ('pending', 'sent'))",
                        )
                        .bind(at)
                        .bind(alert_id)
                        .bind(i64::from(round))
                        .bind(i64::from(level))
                        .bind(alert_id)
                        .bind(i64::from(round))
                        .bind(i64::from(level))
                        .execute(&mut *tx)
                        .await?;
                    }
                }
            }
        }
        if let Some(cursor) = cursor {
            sqlx::query(
                "INSERT INTO notify_cursor (\"only\", event_id) VALUES (1, $1) \
                 ON CONFLICT (\"only\") DO UPDATE SET event_id = excluded.event_id",
            )
            .bind(cursor)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    pub(super) async fn chains_sql(&self, alert_ids: &[i64]) -> StoreResult<Vec<Chain>> {
        if alert_ids.is_empty() {
            return Ok(Vec::new());
        }
        let rows = super::SqlBuilder::new(
            self.backend,
            "SELECT * FROM notify_chains WHERE alert_id IN ",
        )
        .push_list(alert_ids.iter().copied())
        .build()?
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(chain_from_row).collect()
    }

    pub(super) async fn chains_due_sql(&self, now: Millis) -> StoreResult<Vec<Chain>> {
        let rows = sqlx::query(
            "SELECT * FROM notify_chains WHERE next_ms IS NOT NULL AND next_ms <= $1 ORDER BY next_ms LIMIT 500",
        )
        .bind(now)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(chain_from_row).collect()
    }

    pub(super) async fn digest_due_sql(&self, now: Millis) -> StoreResult<Vec<(i64, CommunityId)>> {
        let rows: Vec<(i64, String)> = sqlx::query_as(
            "SELECT alert_id, community FROM notify_digest \
             WHERE sent_with IS NULL AND due_ms <= $1 ORDER BY alert_id LIMIT 500",
        )
        .bind(now)
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|(alert, community)| Ok((alert, CommunityId::parse(community).map_err(corrupt)?)))
            .collect()
    }

    pub(super) async fn chain_started_since_sql(
        &self,
        home: &str,
        kind: AlertKind,
        since: Millis,
    ) -> StoreResult<bool> {
        let row = sqlx::query(
            "SELECT 1 FROM notify_chains WHERE home = $1 AND kind = $2 AND started_ms >= $3 LIMIT 1",
        )
        .bind(home)
        .bind(kind.as_str())
        .bind(since)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.is_some())
    }

    pub(super) async fn outbox_due_sql(
        &self,
        now: Millis,
        limit: u32,
    ) -> StoreResult<Vec<PendingDelivery>> {
        let rows: Vec<DueRow> = sqlx::query_as(&format!(
            "SELECT o.id AS o_id, o.alert_id, o.round, o.level, o.level_title, o.person, o.message, o.attempts, \
             {} FROM notify_outbox o JOIN notify_channels c ON c.id = o.channel_id \
             WHERE o.state = 'pending' AND o.next_try_ms <= $1 AND c.deleted_ms IS NULL \
             ORDER BY o.next_try_ms, o.id LIMIT $2",
            CHANNEL_COLUMNS
                .split(", ")
                .map(|c| format!("c.{c}"))
                .collect::<Vec<_>>()
                .join(", ")
        ))
        .bind(now)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|row| {
                let channel = StoredChannel::from(row.channel);
                Ok(PendingDelivery {
                    id: row.o_id,
                    new: NewDelivery {
                        alert_id: row.alert_id,
                        round: count(row.round)?,
                        level: count(row.level)?,
                        level_title: row.level_title,
                        channel_id: channel.id,
                        person: row.person.map(|p| p.0),
                        message: row.message.0,
                    },
                    channel,
                    attempts: count(row.attempts)?,
                })
            })
            .collect()
    }

    pub(super) async fn home_place_sql(&self, home: &str) -> StoreResult<Option<(i64, String)>> {
        let row = sqlx::query("SELECT unit, room FROM homes WHERE id = $1")
            .bind(home)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|row| Ok((row.try_get("unit")?, row.try_get("room")?)))
            .transpose()
    }

    pub(super) async fn deliveries_sql(&self, alert_id: i64) -> StoreResult<Vec<Delivery>> {
        let rows: Vec<DeliveryRow> = sqlx::query_as(
            "SELECT o.id, o.alert_id, o.level, o.level_title, o.person, o.state, o.attempts, \
             o.decided_ms, o.sent_ms, o.error, c.name, c.kind FROM notify_outbox o \
             JOIN notify_channels c ON c.id = o.channel_id WHERE o.alert_id = $1 ORDER BY o.id",
        )
        .bind(alert_id)
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|row| {
                Ok(Delivery {
                    id: row.id,
                    alert_id: row.alert_id,
                    level: count(row.level)?,
                    title: row.level_title,
                    person: row.person.map(|p| p.0.name),
                    channel: row.name,
                    kind: row.kind,
                    state: row.state,
                    attempts: count(row.attempts)?,
                    decided_at: Timestamp::from_millis(row.decided_ms),
                    sent_at: row.sent_ms.map(Timestamp::from_millis),
                    error: row.error,
                })
            })
            .collect()
    }
}
