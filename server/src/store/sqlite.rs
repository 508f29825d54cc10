//! [`SqliteStore`]: the embedded default store, SQLite in WAL mode through sqlx.
//!
//! The only module with SQLite SQL in it. Migrations in `migrations/sqlite/` are
//! embedded in the binary and run when the store opens.

use super::{Change, Community, NewUser, Store, StoreError, StoreResult, UserRecord};
use crate::clock::{rfc3339, Millis};
use anyhow::Context as _;
use async_trait::async_trait;
use linli_domain::api::EventRecord;
use linli_domain::place::{Feature, LayerName, Properties};
use linli_domain::{CommunityId, Role, Username};
use serde_json::json;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePool, SqlitePoolOptions,
    SqliteRow, SqliteSynchronous,
};
use sqlx::Row as _;
use std::str::FromStr as _;
use std::time::Duration;

pub struct SqliteStore {
    pool: SqlitePool,
}

impl From<sqlx::Error> for StoreError {
    fn from(err: sqlx::Error) -> Self {
        StoreError::Backend(err.into())
    }
}

impl SqliteStore {
    /// Opens (creating the file and its folder if needed) and migrates the database at
    /// a `sqlite://PATH` URL.
    pub async fn open(url: &str) -> anyhow::Result<Self> {
        let options = SqliteConnectOptions::from_str(url)
            .with_context(|| format!("`{url}` is not a valid SQLite URL"))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // With WAL, NORMAL survives a crash of the process (not of the OS) without
            // losing committed transactions, at a fraction of FULL's fsyncs.
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(5))
            .foreign_keys(true);
        let file = options.get_filename().to_path_buf();
        if let Some(folder) = file.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(folder).with_context(|| {
                format!("cannot create the database folder {}", folder.display())
            })?;
        }
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options)
            .await
            .with_context(|| format!("cannot open the SQLite database {}", file.display()))?;
        sqlx::migrate!("migrations/sqlite")
            .run(&pool)
            .await
            .with_context(|| format!("cannot migrate the SQLite database {}", file.display()))?;
        Ok(Self { pool })
    }
}

/// Appends one row to the event log inside the caller's transaction.
async fn append_event(
    conn: &mut SqliteConnection,
    change: &Change,
    kind: &str,
    data: serde_json::Value,
) -> StoreResult<i64> {
    let id = sqlx::query("INSERT INTO events (at_ms, actor, kind, data) VALUES (?, ?, ?, ?)")
        .bind(change.at)
        .bind(change.actor.label())
        .bind(kind)
        .bind(data.to_string())
        .execute(&mut *conn)
        .await?
        .last_insert_rowid();
    Ok(id)
}

/// Records that `layer` changed with the event `event_id`.
async fn bump_layer(
    conn: &mut SqliteConnection,
    layer: LayerName,
    event_id: i64,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO layer_versions (layer, version) VALUES (?, ?) \
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
    conn: &mut SqliteConnection,
    change: &Change,
    c: &Community,
) -> StoreResult<()> {
    let geometry = serde_json::to_string(&c.geometry)
        .map_err(|e| StoreError::Invalid(format!("community `{}`: {e}", c.id)))?;
    sqlx::query(
        "INSERT INTO communities (id, name, name_en, geometry) VALUES (?, ?, ?, ?) \
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
        "community.saved",
        json!({"id": c.id, "name": c.name, "name_en": c.name_en}),
    )
    .await?;
    bump_layer(conn, LayerName::Communities, event).await
}

fn parse_role(value: &str) -> StoreResult<Role> {
    Role::parse(value)
        .ok_or_else(|| StoreError::Backend(anyhow::anyhow!("unknown role `{value}` in database")))
}

fn corrupt(err: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(anyhow::anyhow!("unreadable row: {err}"))
}

impl SqliteStore {
    /// Completes a `users` row (id, username, password_hash, role) with its communities.
    async fn user_record(&self, row: Option<SqliteRow>) -> StoreResult<Option<UserRecord>> {
        let Some(row) = row else { return Ok(None) };
        let id: i64 = row.try_get("id")?;
        let communities = sqlx::query_scalar::<_, String>(
            "SELECT community_id FROM user_communities WHERE user_id = ? ORDER BY community_id",
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
        }))
    }
}

#[async_trait]
impl Store for SqliteStore {
    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn create_user(&self, change: &Change, user: NewUser) -> StoreResult<UserRecord> {
        let mut tx = self.pool.begin().await?;
        let inserted = sqlx::query(
            "INSERT INTO users (username, password_hash, role, created_ms) VALUES (?, ?, ?, ?)",
        )
        .bind(user.username.as_str())
        .bind(&user.password_hash)
        .bind(user.role.as_str())
        .bind(change.at)
        .execute(&mut *tx)
        .await;
        let id = match inserted {
            Ok(done) => done.last_insert_rowid(),
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                return Err(StoreError::Conflict(format!(
                    "a user named `{}` exists already",
                    user.username
                )))
            }
            Err(e) => return Err(e.into()),
        };
        for community in &user.communities {
            let known = sqlx::query("SELECT 1 FROM communities WHERE id = ?")
                .bind(community.as_str())
                .fetch_optional(&mut *tx)
                .await?;
            if known.is_none() {
                return Err(StoreError::Invalid(format!(
                    "there is no community `{community}`"
                )));
            }
            sqlx::query("INSERT INTO user_communities (user_id, community_id) VALUES (?, ?)")
                .bind(id)
                .bind(community.as_str())
                .execute(&mut *tx)
                .await?;
        }
        append_event(
            &mut tx,
            change,
            "user.created",
            json!({"username": user.username, "role": user.role, "communities": user.communities}),
        )
        .await?;
        tx.commit().await?;
        Ok(UserRecord {
            id,
            username: user.username,
            password_hash: user.password_hash,
            role: user.role,
            communities: user.communities,
        })
    }

    async fn user_by_name(&self, username: &Username) -> StoreResult<Option<UserRecord>> {
        let row =
            sqlx::query("SELECT id, username, password_hash, role FROM users WHERE username = ?")
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
        let mut tx = self.pool.begin().await?;
        // Expired sessions are swept whenever a new one starts.
        sqlx::query("DELETE FROM sessions WHERE expires_ms <= ?")
            .bind(change.at)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO sessions (token_hash, user_id, created_ms, expires_ms) VALUES (?, ?, ?, ?)",
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
            "session.opened",
            json!({"user_id": user_id}),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn session_user(&self, token_hash: &str, now: Millis) -> StoreResult<Option<UserRecord>> {
        let row = sqlx::query(
            "SELECT u.id, u.username, u.password_hash, u.role FROM sessions s \
             JOIN users u ON u.id = s.user_id WHERE s.token_hash = ? AND s.expires_ms > ?",
        )
        .bind(token_hash)
        .bind(now)
        .fetch_optional(&self.pool)
        .await?;
        self.user_record(row).await
    }

    async fn delete_session(&self, change: &Change, token_hash: &str) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        let user: Option<i64> =
            sqlx::query_scalar("DELETE FROM sessions WHERE token_hash = ? RETURNING user_id")
                .bind(token_hash)
                .fetch_optional(&mut *tx)
                .await?;
        if let Some(user_id) = user {
            append_event(
                &mut tx,
                change,
                "session.closed",
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
        let mut tx = self.pool.begin().await?;
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
        let mut tx = self.pool.begin().await?;
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
                 WHERE uc.community_id = ? ORDER BY u.username",
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
            sqlx::query("DELETE FROM communities WHERE id = ?")
                .bind(id)
                .execute(&mut *tx)
                .await?;
            let event =
                append_event(&mut tx, change, "community.deleted", json!({"id": id})).await?;
            bump_layer(&mut tx, LayerName::Communities, event).await?;
        }
        for c in communities {
            upsert_community(&mut tx, change, c).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn communities(&self) -> StoreResult<Vec<Community>> {
        sqlx::query("SELECT id, name, name_en, geometry FROM communities ORDER BY id")
            .fetch_all(&self.pool)
            .await?
            .into_iter()
            .map(|row| {
                Ok(Community {
                    id: CommunityId::parse(row.try_get::<String, _>("id")?).map_err(corrupt)?,
                    name: row.try_get("name")?,
                    name_en: row.try_get("name_en")?,
                    geometry: serde_json::from_str(&row.try_get::<String, _>("geometry")?)
                        .map_err(corrupt)?,
                })
            })
            .collect()
    }

    async fn events_after(&self, after: i64, limit: u32) -> StoreResult<Vec<EventRecord>> {
        sqlx::query(
            "SELECT id, at_ms, actor, kind, data FROM events WHERE id > ? ORDER BY id LIMIT ?",
        )
        .bind(after)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?
        .into_iter()
        .map(|row| {
            Ok(EventRecord {
                id: row.try_get("id")?,
                at: rfc3339(row.try_get("at_ms")?),
                actor: row.try_get("actor")?,
                kind: row.try_get("kind")?,
                data: serde_json::from_str(&row.try_get::<String, _>("data")?).map_err(corrupt)?,
            })
        })
        .collect()
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
        let mut tx = self.pool.begin().await?;
        if replace_layer {
            sqlx::query("DELETE FROM features WHERE layer = ?")
                .bind(layer.as_str())
                .execute(&mut *tx)
                .await?;
        }
        for (written, feature) in features.iter().enumerate() {
            let community = feature.properties.get("community").and_then(|v| v.as_str());
            sqlx::query(
                "INSERT INTO features (layer, id, community, properties, geometry) VALUES (?, ?, ?, ?, ?) \
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
            "layer.saved",
            json!({"layer": layer.as_str(), "features": features.len(), "replaced_layer": replace_layer}),
        )
        .await?;
        bump_layer(&mut tx, layer, event).await?;
        tx.commit().await?;
        Ok(event)
    }

    async fn features(&self, layer: LayerName) -> StoreResult<Vec<Feature<Properties>>> {
        sqlx::query("SELECT id, properties, geometry FROM features WHERE layer = ? ORDER BY id")
            .bind(layer.as_str())
            .fetch_all(&self.pool)
            .await?
            .into_iter()
            .map(|row| {
                Ok(Feature {
                    id: row.try_get("id")?,
                    properties: serde_json::from_str(&row.try_get::<String, _>("properties")?)
                        .map_err(corrupt)?,
                    geometry: serde_json::from_str(&row.try_get::<String, _>("geometry")?)
                        .map_err(corrupt)?,
                })
            })
            .collect()
    }

    async fn layer_version(&self, layer: LayerName) -> StoreResult<i64> {
        let version: Option<i64> =
            sqlx::query_scalar("SELECT version FROM layer_versions WHERE layer = ?")
                .bind(layer.as_str())
                .fetch_optional(&self.pool)
                .await?;
        Ok(version.unwrap_or(0))
    }
}
