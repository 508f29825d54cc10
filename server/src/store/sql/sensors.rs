//! The SQLite side of sensors: device and gateway credentials, readings committed in
//! groups with the alerts they cause, the rules' checkpoint, and alerts.
//!
//! `commit_readings` is the ingest path's one transaction: the new readings appended
//! by multi-row inserts, with the alerts, cases and events the engine decided on.

use super::{and_community_in, append_event, corrupt, named, Constraints, SqlStore};
use linli_domain::events::{EventKind, SensorStatus};
use linli_domain::Timestamp;

/// What can be revoked: a device's token or a gateway's.
#[derive(Debug, Clone, Copy)]
pub(super) enum Revocable {
    Device,
    Gateway,
}
use super::any::SqlBuilder;
use super::any::{Flag, JsonText};
use crate::clock::Millis;
use crate::reading::{Identity, Metric, Reading};
use crate::store::{
    AlertFilter, Change, Committed, Credential, DeviceRecord, EngineWrite, GatewayRecord, OpenCase,
    SensorSeen, StoreError, StoreResult, StoredAlert,
};
use linli_domain::alerts::Alert;
use linli_domain::care::SensorKind;
use linli_domain::care::ThresholdOverrides;
use linli_domain::CommunityId;
use serde_json::json;
use sqlx::AnyConnection;
use sqlx::{FromRow as _, Row as _};

/// Rows per insert statement: 5 values each, well under SQLite's 32,766 variables.
const ROWS_PER_INSERT: usize = 2_000;

fn device_prefix(kind: SensorKind) -> &'static str {
    match kind {
        SensorKind::Water => "wm-",
        SensorKind::Gas => "gd-",
        SensorKind::Smoke => "sd-",
    }
}

/// A row of `readings` (the metric as its code; `seq` absent for a device that
/// numbers nothing).
#[derive(sqlx::FromRow)]
struct ReadingRow {
    id: i64,
    device: String,
    seq: Option<i64>,
    at_ms: Millis,
    metric: i64,
    value: f64,
}

/// A row of `alerts`: the alert as last written (JSON), and its times as numbers.
#[derive(sqlx::FromRow)]
struct AlertRow {
    data: JsonText<Alert>,
    raised_ms: Millis,
    updated_ms: Millis,
    resolved_ms: Option<Millis>,
}

fn alert_from_row(row: &sqlx::any::AnyRow) -> StoreResult<StoredAlert> {
    let row = AlertRow::from_row(row)?;
    Ok(StoredAlert {
        alert: row.data.0,
        raised_ms: row.raised_ms,
        updated_ms: row.updated_ms,
        resolved_ms: row.resolved_ms,
    })
}

/// Appends readings (the engine told repeats apart already, so there is no unique
/// index to keep up to date: an index over every reading would cost a random page
/// write per reading).
async fn insert_readings(
    conn: &mut AnyConnection,
    backend: super::Backend,
    readings: &[Reading],
) -> StoreResult<()> {
    for chunk in readings.chunks(ROWS_PER_INSERT) {
        let mut query = SqlBuilder::new(
            backend,
            "INSERT INTO readings (device, seq, at_ms, metric, value) VALUES ",
        );
        for (i, r) in chunk.iter().enumerate() {
            let seq = match r.identity {
                Identity::Seq(seq) => Some(seq as i64),
                Identity::MetricAt => None,
            };
            query.push(if i == 0 { "(" } else { ", (" });
            query.push_bind(r.device.as_str()).push(", ");
            query.push_bind(seq).push(", ");
            query.push_bind(r.at).push(", ");
            query.push_bind(r.metric.code()).push(", ");
            query.push_bind(r.value).push(")");
        }
        query.build()?.execute(&mut *conn).await?;
    }
    Ok(())
}

/// Writes one engine decision inside the caller's transaction.
async fn apply_write(
    conn: &mut AnyConnection,
    at: Millis,
    write: EngineWrite,
    committed: &mut Committed,
) -> StoreResult<()> {
    match write {
        EngineWrite::Alert {
            alert,
            event,
            actor,
            open_case,
        } => {
            write_alert(
                conn,
                &Change::new(actor, at),
                alert,
                event,
                open_case,
                committed,
            )
            .await
        }
        EngineWrite::Thresholds {
            home,
            overrides,
            actor,
            reason,
            loosened,
        } => {
            let change = Change::new(actor, at);
            let data = json!({"home": home, "overrides": overrides, "reason": reason,
                              "loosened": loosened});
            write_thresholds(conn, &change, home.as_deref(), &overrides).await?;
            append_event(conn, &change, EventKind::ThresholdsChanged, data).await?;
            Ok(())
        }
        EngineWrite::CheckIn {
            home,
            community,
            at: checked_at,
            note,
            actor,
        } => {
            let change = Change::new(actor, at);
            write_check_in(conn, &change, &home, checked_at, &note).await?;
            let data = json!({"home": home, "community": community,
                              "at": crate::clock::rfc3339(checked_at), "note": note});
            append_event(conn, &change, EventKind::HomeCheckIn, data).await?;
            Ok(())
        }
        EngineWrite::SensorStatus {
            device,
            home,
            community,
            health,
            battery_pct,
            last_seen,
        } => {
            let status = SensorStatus {
                last_seen: last_seen.map(Timestamp::from_millis),
                device,
                home,
                community,
                health,
                battery_pct,
            };
            write_sensor_status(conn, at, status, last_seen).await
        }
    }
}

/// An alert raised or changed by the engine (with its event, when it has one); with
/// `open_case`, the case it escalates into is opened first and linked both ways.
async fn write_alert(
    conn: &mut AnyConnection,
    change: &Change,
    mut alert: StoredAlert,
    event: Option<EventKind>,
    open_case: Option<OpenCase>,
    committed: &mut Committed,
) -> StoreResult<()> {
    if let Some(case) = open_case {
        let case =
            super::cases::open_case(conn, change, &case.summary, &case.description, &case.note)
                .await?;
        alert.alert.case_id = Some(case.id);
        committed.cases.push((alert.alert.id, case.id));
    }
    let a = &alert.alert;
    let data = serde_json::to_string(a).map_err(corrupt)?;
    sqlx::query(
        "INSERT INTO alerts (id, home, community, kind, severity, state, raised_ms, updated_ms, resolved_ms, data, drill) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT (id) DO UPDATE SET \
         state = excluded.state, severity = excluded.severity, updated_ms = excluded.updated_ms, \
         resolved_ms = excluded.resolved_ms, data = excluded.data",
    )
    .bind(a.id)
    .bind(&a.home)
    .bind(a.community.as_str())
    .bind(a.kind.as_str())
    .bind(a.severity.as_str())
    .bind(a.state.as_str())
    .bind(alert.raised_ms)
    .bind(alert.updated_ms)
    .bind(alert.resolved_ms)
    .bind(&data)
    .bind(a.drill)
    .execute(&mut *conn)
    .await
    .or_conflict(|| {
        format!(
            "home `{}` already has an active `{}` alert",
            a.home,
            a.kind.as_str()
        )
    })?;
    if let Some(kind) = event {
        let data = serde_json::to_value(a).map_err(corrupt)?;
        append_event(conn, change, kind, data).await?;
    }
    Ok(())
}

/// The district's thresholds (`home` none) or a home's, changed from what applies
/// above them.
async fn write_thresholds(
    conn: &mut AnyConnection,
    change: &Change,
    home: Option<&str>,
    overrides: &ThresholdOverrides,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO threshold_overrides (home, overrides, updated_ms, updated_by) \
         VALUES ($1, $2, $3, $4) ON CONFLICT (home) DO UPDATE SET \
         overrides = excluded.overrides, updated_ms = excluded.updated_ms, \
         updated_by = excluded.updated_by",
    )
    .bind(home.unwrap_or(""))
    .bind(serde_json::Value::Object(overrides.clone()).to_string())
    .bind(change.at)
    .bind(change.actor.label())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Somebody saw the elder at `checked_at`.
async fn write_check_in(
    conn: &mut AnyConnection,
    change: &Change,
    home: &str,
    checked_at: Millis,
    note: &str,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO check_ins (home, at_ms, by_actor, note, recorded_ms) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(home)
    .bind(checked_at)
    .bind(change.actor.label())
    .bind(note)
    .bind(change.at)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// A sensor's health, battery or last contact as the rules now see it.
async fn write_sensor_status(
    conn: &mut AnyConnection,
    at: Millis,
    status: SensorStatus,
    last_seen: Option<Millis>,
) -> StoreResult<()> {
    sqlx::query(
        "UPDATE sensors SET health = $1, battery_pct = COALESCE($2, battery_pct), \
         last_seen_ms = COALESCE($3, last_seen_ms) WHERE id = $4",
    )
    .bind(status.health.as_str())
    .bind(status.battery_pct.map(i64::from))
    .bind(last_seen)
    .bind(&status.device)
    .execute(&mut *conn)
    .await?;
    let change = Change::new(crate::store::Actor::System("rules"), at);
    let data = serde_json::to_value(status).map_err(corrupt)?;
    append_event(conn, &change, EventKind::SensorStatus, data).await?;
    Ok(())
}

impl SqlStore {
    pub(super) async fn add_device_sql(
        &self,
        change: &Change,
        home: &str,
        kind: SensorKind,
        token_hash: &str,
    ) -> StoreResult<String> {
        let mut tx = self.write().await?;
        let exists = sqlx::query("SELECT 1 FROM homes WHERE id = $1")
            .bind(home)
            .fetch_optional(&mut *tx)
            .await?;
        if exists.is_none() {
            return Err(StoreError::NotFound(format!("there is no home `{home}`")));
        }
        let prefix = device_prefix(kind);
        let numbers: Vec<String> = sqlx::query_scalar(
            "SELECT substr(id, 4) FROM sensors WHERE id LIKE $1 || '%' \
             UNION SELECT substr(device, 4) FROM device_tokens WHERE device LIKE $2 || '%'",
        )
        .bind(prefix)
        .bind(prefix)
        .fetch_all(&mut *tx)
        .await?;
        let next = numbers
            .iter()
            .filter_map(|n| n.parse::<u64>().ok())
            .max()
            .unwrap_or(0)
            + 1;
        let id = format!("{prefix}{next:06}");
        sqlx::query(
            "INSERT INTO sensors (id, home, kind, health, battery_pct, last_seen_ms) VALUES ($1, $2, $3, 'ok', NULL, NULL)",
        )
        .bind(&id)
        .bind(home)
        .bind(kind.as_str())
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO device_tokens (device, token_hash, created_ms) VALUES ($1, $2, $3)",
        )
        .bind(&id)
        .bind(token_hash)
        .bind(change.at)
        .execute(&mut *tx)
        .await?;
        append_event(
            &mut tx,
            change,
            EventKind::DeviceAdded,
            json!({"device": id, "home": home, "kind": kind}),
        )
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Revokes the token of a device or a gateway, as an event in the log.
    pub(super) async fn revoke_sql(
        &self,
        change: &Change,
        what: Revocable,
        id: &str,
    ) -> StoreResult<()> {
        let (table, key, name, kind) = match what {
            Revocable::Device => (
                "device_tokens",
                "device",
                "device",
                EventKind::DeviceRevoked,
            ),
            Revocable::Gateway => ("gateways", "id", "gateway", EventKind::GatewayRevoked),
        };
        let mut tx = self.write().await?;
        let revoked: Option<Option<i64>> =
            sqlx::query_scalar(&format!("SELECT revoked_ms FROM {table} WHERE {key} = $1"))
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?;
        match revoked {
            None => return Err(StoreError::NotFound(format!("there is no {name} `{id}`"))),
            Some(Some(_)) => {
                return Err(StoreError::Conflict(format!(
                    "{name} `{id}` is revoked already"
                )))
            }
            Some(None) => {}
        }
        sqlx::query(&format!(
            "UPDATE {table} SET revoked_ms = $1 WHERE {key} = $2 AND revoked_ms IS NULL"
        ))
        .bind(change.at)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        append_event(&mut tx, change, kind, json!({ name: id })).await?;
        tx.commit().await?;
        Ok(())
    }

    pub(super) async fn add_gateway_sql(
        &self,
        change: &Change,
        id: &str,
        communities: &[CommunityId],
        token_hash: &str,
    ) -> StoreResult<()> {
        let mut tx = self.write().await?;
        for community in communities {
            let known = sqlx::query("SELECT 1 FROM communities WHERE id = $1")
                .bind(community.as_str())
                .fetch_optional(&mut *tx)
                .await?;
            if known.is_none() {
                return Err(StoreError::Invalid(format!(
                    "there is no community `{community}`"
                )));
            }
        }
        let list = serde_json::to_string(communities).map_err(corrupt)?;
        let inserted = sqlx::query(
            "INSERT INTO gateways (id, token_hash, communities, created_ms) VALUES ($1, $2, $3, $4)",
        )
        .bind(id)
        .bind(token_hash)
        .bind(&list)
        .bind(change.at)
        .execute(&mut *tx)
        .await;
        inserted.or_conflict(|| format!("there is a gateway `{id}` already"))?;
        append_event(
            &mut tx,
            change,
            EventKind::GatewayAdded,
            json!({"gateway": id, "communities": communities}),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    pub(super) async fn credential_sql(&self, token_hash: &str) -> StoreResult<Option<Credential>> {
        let device: Option<String> = sqlx::query_scalar(
            "SELECT device FROM device_tokens WHERE token_hash = $1 AND revoked_ms IS NULL",
        )
        .bind(token_hash)
        .fetch_optional(&self.pool)
        .await?;
        if let Some(device) = device {
            return Ok(Some(Credential::Device(device)));
        }
        let gateway: Option<(String, JsonText<Vec<CommunityId>>)> = sqlx::query_as(
            "SELECT id, communities FROM gateways WHERE token_hash = $1 AND revoked_ms IS NULL",
        )
        .bind(token_hash)
        .fetch_optional(&self.pool)
        .await?;
        Ok(gateway.map(|(id, communities)| Credential::Gateway {
            id,
            communities: communities.0,
        }))
    }

    pub(super) async fn devices_sql(&self) -> StoreResult<Vec<DeviceRecord>> {
        let rows: Vec<(String, String, String, Flag)> = sqlx::query_as(
            "SELECT s.id, s.home, s.kind, t.revoked_ms IS NOT NULL AS revoked \
             FROM sensors s LEFT JOIN device_tokens t ON t.device = s.id ORDER BY s.id",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|(id, home, kind, revoked)| {
                Ok(DeviceRecord {
                    id,
                    home,
                    kind: named(&kind, SensorKind::parse)?,
                    revoked: revoked.0,
                })
            })
            .collect()
    }

    pub(super) async fn known_devices_sql(&self, ids: &[String]) -> StoreResult<Vec<String>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut query = SqlBuilder::new(self.backend, "SELECT id FROM sensors WHERE id IN ");
        query.push_list(ids.iter().map(String::as_str));
        Ok(query.build_query_scalar()?.fetch_all(&self.pool).await?)
    }

    pub(super) async fn gateways_sql(&self) -> StoreResult<Vec<GatewayRecord>> {
        let rows: Vec<(String, JsonText<Vec<CommunityId>>, Flag)> = sqlx::query_as(
            "SELECT id, communities, revoked_ms IS NOT NULL AS revoked FROM gateways ORDER BY id",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(id, communities, revoked)| GatewayRecord {
                id,
                communities: communities.0,
                revoked: revoked.0,
            })
            .collect())
    }

    pub(super) async fn commit_readings_sql(
        &self,
        at: Millis,
        readings: &[Reading],
        writes: Vec<EngineWrite>,
    ) -> StoreResult<Committed> {
        let mut tx = self.write().await?;
        insert_readings(&mut tx, self.backend, readings).await?;
        let last_reading_id: Option<i64> = sqlx::query_scalar("SELECT MAX(id) FROM readings")
            .fetch_one(&mut *tx)
            .await?;
        let mut committed = Committed {
            last_reading_id: last_reading_id.unwrap_or(0),
            ..Committed::default()
        };
        for write in writes {
            apply_write(&mut tx, at, write, &mut committed).await?;
        }
        tx.commit().await?;
        Ok(committed)
    }

    pub(super) async fn readings_after_sql(
        &self,
        after: i64,
        limit: u32,
    ) -> StoreResult<Vec<(i64, Reading)>> {
        let rows: Vec<ReadingRow> = sqlx::query_as(
            "SELECT id, device, seq, at_ms, metric, value FROM readings WHERE id > $1 ORDER BY id LIMIT $2",
        )
        .bind(after)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|row| {
                let metric = Metric::from_code(row.metric)
                    .ok_or_else(|| corrupt(format!("unknown metric code {}", row.metric)))?;
                Ok((
                    row.id,
                    Reading {
                        device: row.device,
                        identity: match row.seq {
                            Some(seq) => Identity::Seq(seq as u64),
                            None => Identity::MetricAt,
                        },
                        at: row.at_ms,
                        metric,
                        value: row.value,
                    },
                ))
            })
            .collect()
    }

    pub(super) async fn rule_state_sql(&self) -> StoreResult<Option<(i64, String)>> {
        sqlx::query("SELECT reading_id, homes FROM rule_state WHERE id = 1")
            .fetch_optional(&self.pool)
            .await?
            .map(|row| Ok((row.try_get("reading_id")?, row.try_get("homes")?)))
            .transpose()
    }

    pub(super) async fn save_rule_state_sql(
        &self,
        at: Millis,
        reading_id: i64,
        homes: &str,
        sensors: &[SensorSeen],
    ) -> StoreResult<()> {
        let mut tx = self.write().await?;
        sqlx::query(
            "INSERT INTO rule_state (id, reading_id, saved_ms, homes) VALUES (1, $1, $2, $3) \
             ON CONFLICT (id) DO UPDATE SET reading_id = excluded.reading_id, \
             saved_ms = excluded.saved_ms, homes = excluded.homes",
        )
        .bind(reading_id)
        .bind(at)
        .bind(homes)
        .execute(&mut *tx)
        .await?;
        for seen in sensors {
            sqlx::query(
                "UPDATE sensors SET battery_pct = COALESCE($1, battery_pct), last_seen_ms = $2 WHERE id = $3",
            )
            .bind(seen.battery_pct.map(i64::from))
            .bind(seen.last_seen)
            .bind(&seen.device)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    pub(super) async fn threshold_overrides_sql(
        &self,
    ) -> StoreResult<Vec<(Option<String>, linli_domain::care::ThresholdOverrides)>> {
        sqlx::query("SELECT home, overrides FROM threshold_overrides ORDER BY home")
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|row| {
                let home: String = row.try_get("home")?;
                let overrides: String = row.try_get("overrides")?;
                Ok((
                    (!home.is_empty()).then_some(home),
                    serde_json::from_str(&overrides).map_err(corrupt)?,
                ))
            })
            .collect()
    }

    pub(super) async fn check_ins_since_sql(
        &self,
        since: Millis,
    ) -> StoreResult<Vec<(String, Millis)>> {
        sqlx::query("SELECT home, at_ms FROM check_ins WHERE at_ms >= $1 ORDER BY at_ms")
            .bind(since)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|row| Ok((row.try_get("home")?, row.try_get("at_ms")?)))
            .collect()
    }

    pub(super) async fn engine_alerts_sql(
        &self,
        resolved_since: Millis,
    ) -> StoreResult<Vec<StoredAlert>> {
        sqlx::query(
            "SELECT raised_ms, updated_ms, resolved_ms, data FROM alerts \
             WHERE state != 'resolved' OR resolved_ms >= $1 ORDER BY id",
        )
        .bind(resolved_since)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(alert_from_row)
        .collect()
    }

    pub(super) async fn max_alert_id_sql(&self) -> StoreResult<i64> {
        let id: Option<i64> = sqlx::query_scalar("SELECT MAX(id) FROM alerts")
            .fetch_one(&self.pool)
            .await?;
        Ok(id.unwrap_or(0))
    }

    pub(super) async fn alerts_sql(&self, filter: &AlertFilter) -> StoreResult<Vec<Alert>> {
        let mut query = SqlBuilder::new(
            self.backend,
            "SELECT raised_ms, updated_ms, resolved_ms, data FROM alerts WHERE 1 = 1",
        );
        if let Some(ids) = &filter.communities {
            if ids.is_empty() {
                return Ok(Vec::new());
            }
            and_community_in(&mut query, ids);
        }
        if let Some(state) = filter.state {
            query.push(" AND state = ").push_bind(state.as_str());
        }
        if let Some(since) = filter.changed_since {
            query.push(" AND updated_ms >= ").push_bind(since);
        }
        if let Some(drill) = filter.drill {
            query.push(" AND drill = ").push_bind(drill);
        }
        query
            .push(" ORDER BY id DESC LIMIT ")
            .push_bind(i64::from(filter.limit));
        query
            .build()?
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|row| alert_from_row(row).map(|a| a.alert))
            .collect()
    }

    pub(super) async fn alert_sql(&self, id: i64) -> StoreResult<Option<Alert>> {
        sqlx::query("SELECT raised_ms, updated_ms, resolved_ms, data FROM alerts WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(|row| alert_from_row(row).map(|a| a.alert))
            .transpose()
    }
}
