//! `linli store copy`: every table of one database into another (SQLite to PostgreSQL
//! when an office moves, or back), ids and all, in one transaction on the target, from
//! one consistent view of the source (which a running server may go on writing to).
//! Each table is checked after: the same number of rows, and the same SHA-256 over
//! every value of every row read back in key order.

use super::any::{Flag, SqlBuilder};
use super::{Backend, SqlStore};
use sha2::{Digest as _, Sha256};
use sqlx::any::{AnyRow, AnyTypeInfoKind};
use sqlx::{AnyConnection, Row as _, ValueRef as _};

/// Every table, in an order in which each one's references are copied before it (and
/// emptied after it), with the columns its rows are read in order of. A test checks
/// that this is every table both schemas have.
pub const TABLES: [(&str, &str); 32] = [
    ("communities", "id"),
    ("users", "id"),
    ("user_communities", "user_id, community_id"),
    ("sessions", "token_hash"),
    ("features", "layer, id"),
    ("layer_versions", "layer"),
    ("homes", "id"),
    ("sensors", "id"),
    ("patrol_routes", "id"),
    ("patrol_runs", "id"),
    ("alerts", "id"),
    ("cases", "id"),
    ("case_events", "id"),
    ("case_photos", "id"),
    ("device_tokens", "device"),
    ("gateways", "id"),
    ("readings", "id"),
    ("rule_state", "id"),
    ("threshold_overrides", "home"),
    ("check_ins", "id"),
    ("notices", "id"),
    ("notify_channels", "id"),
    ("duty_rosters", "community"),
    ("notify_chains", "alert_id"),
    ("notify_outbox", "id"),
    ("notify_cursor", "\"only\""),
    ("notify_digest", "alert_id"),
    ("dispatches", "id"),
    ("dispatch_events", "id"),
    ("events", "id"),
    ("cluster_leader", "\"only\""),
    ("sign_in_failures", "id"),
];

/// Rows read and written at a time.
const PAGE: i64 = 2_000;

/// What one table's copy found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableCopied {
    pub table: &'static str,
    pub rows: u64,
    /// SHA-256 of the table's values, in key order, as hexadecimal.
    pub checksum: String,
}

/// The kinds of column the schemas use, as the target declares them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Integer,
    Real,
    Text,
    Blob,
    Bool,
}

/// One value as read from either database, typed as the target's column is.
#[derive(Debug, Clone, PartialEq)]
enum Value {
    Integer(Option<i64>),
    Real(Option<f64>),
    Text(Option<String>),
    Blob(Option<Vec<u8>>),
    Bool(Option<bool>),
}

impl Value {
    fn read(row: &AnyRow, i: usize, kind: Kind) -> sqlx::Result<Value> {
        Ok(match kind {
            // A PostgreSQL yes/no going to SQLite's 0/1.
            Kind::Integer if row.try_get_raw(i)?.type_info().kind() == AnyTypeInfoKind::Bool => {
                Value::Integer(row.try_get::<Option<bool>, _>(i)?.map(i64::from))
            }
            Kind::Integer => Value::Integer(row.try_get(i)?),
            Kind::Real => Value::Real(row.try_get(i)?),
            Kind::Text => Value::Text(row.try_get(i)?),
            Kind::Blob => Value::Blob(row.try_get(i)?),
            Kind::Bool => Value::Bool(row.try_get::<Option<Flag>, _>(i)?.map(bool::from)),
        })
    }

    fn bind(self, query: &mut SqlBuilder<'_>) {
        match self {
            Value::Integer(v) => query.push_bind(v),
            Value::Real(v) => query.push_bind(v),
            Value::Text(v) => query.push_bind(v),
            Value::Blob(v) => query.push_bind(v),
            Value::Bool(v) => query.push_bind(v),
        };
    }

    /// Feeds the value to a checksum, the same whichever database it came from (a
    /// yes/no as the 0 or 1 SQLite stores).
    fn hash(&self, hasher: &mut Sha256) {
        let (tag, bytes): (u8, Option<Vec<u8>>) = match self {
            Value::Integer(v) => (1, v.map(|v| v.to_le_bytes().to_vec())),
            Value::Bool(v) => (1, v.map(|v| i64::from(v).to_le_bytes().to_vec())),
            Value::Real(v) => (2, v.map(|v| v.to_bits().to_le_bytes().to_vec())),
            Value::Text(v) => (3, v.as_ref().map(|v| v.as_bytes().to_vec())),
            Value::Blob(v) => (4, v.clone()),
        };
        hasher.update([tag]);
        match bytes {
            None => hasher.update([0]),
            Some(bytes) => {
                hasher.update([1]);
                hasher.update((bytes.len() as u64).to_le_bytes());
                hasher.update(bytes);
            }
        }
    }
}

/// The columns of `table` in the database `conn` is on, with their kinds.
async fn columns(
    conn: &mut AnyConnection,
    backend: Backend,
    table: &str,
) -> anyhow::Result<Vec<(String, Kind)>> {
    let declared: Vec<(String, String)> = match backend {
        Backend::Sqlite => {
            sqlx::query_as("SELECT name, type FROM pragma_table_info($1) ORDER BY cid")
        }
        Backend::Postgres => sqlx::query_as(
            "SELECT column_name::text, data_type::text FROM information_schema.columns \
             WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position",
        ),
    }
    .bind(table)
    .fetch_all(&mut *conn)
    .await?;
    anyhow::ensure!(!declared.is_empty(), "the database has no table `{table}`");
    declared
        .into_iter()
        .map(|(name, declared)| {
            let kind = match declared.to_ascii_uppercase().as_str() {
                "INTEGER" | "BIGINT" => Kind::Integer,
                "REAL" | "DOUBLE PRECISION" => Kind::Real,
                "TEXT" => Kind::Text,
                "BLOB" | "BYTEA" => Kind::Blob,
                "BOOLEAN" => Kind::Bool,
                other => {
                    anyhow::bail!("`{table}.{name}` has a type `{other}` the copy does not know")
                }
            };
            Ok((name, kind))
        })
        .collect()
}

/// Reads `table` page by page in key order, handing each page to `page`; the checksum
/// and the number of rows of it all. Tables keyed by a numeric `id` are read from the
/// last id read (their pages cost the same however far in), the others by offset.
async fn read_table(
    conn: &mut AnyConnection,
    table: &str,
    key: &str,
    columns: &[(String, Kind)],
    mut page: impl AsyncFnMut(Vec<Vec<Value>>) -> anyhow::Result<()>,
) -> anyhow::Result<(u64, String)> {
    let names = quoted_names(columns);
    let id_column = columns
        .iter()
        .position(|column| *column == ("id".to_string(), Kind::Integer));
    let by_id = key == "id" && id_column.is_some();
    let sql = match by_id {
        true => format!("SELECT {names} FROM {table} WHERE id > $2 ORDER BY id LIMIT $1"),
        false => format!("SELECT {names} FROM {table} ORDER BY {key} LIMIT $1 OFFSET $2"),
    };
    let mut hasher = Sha256::new();
    let mut rows = 0u64;
    // The last id read, or the rows read so far.
    let mut after = if by_id { i64::MIN } else { 0 };
    loop {
        let read = sqlx::query(&sql)
            .bind(PAGE)
            .bind(after)
            .fetch_all(&mut *conn)
            .await?;
        let count = read.len();
        let mut values = Vec::with_capacity(count);
        for row in &read {
            let row = columns
                .iter()
                .enumerate()
                .map(|(i, (_, kind))| Value::read(row, i, *kind))
                .collect::<sqlx::Result<Vec<_>>>()?;
            row.iter().for_each(|value| value.hash(&mut hasher));
            values.push(row);
        }
        rows += count as u64;
        after = match (by_id, id_column, values.last()) {
            (true, Some(i), Some(last)) => match last[i] {
                Value::Integer(Some(id)) => id,
                _ => anyhow::bail!("`{table}` has a row without an id"),
            },
            _ => after + count as i64,
        };
        page(values).await?;
        if (count as i64) < PAGE {
            return Ok((rows, hex(&hasher.finalize())));
        }
    }
}

fn quoted_names(columns: &[(String, Kind)]) -> String {
    columns
        .iter()
        .map(|(name, _)| format!("\"{name}\""))
        .collect::<Vec<_>>()
        .join(", ")
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl SqlStore {
    /// Copies every table of this store into `target`, which must be empty unless
    /// `replace` (its rows are then removed first, in the same transaction). Nothing
    /// of the target changes if anything fails or a table's check does not match.
    pub async fn copy_to(
        &self,
        target: &SqlStore,
        replace: bool,
        mut progress: impl FnMut(&TableCopied),
    ) -> anyhow::Result<Vec<TableCopied>> {
        // One view of the source for the whole copy, whatever a server writes meanwhile.
        let mut source = match self.backend {
            Backend::Sqlite => self.pool.begin().await?,
            Backend::Postgres => {
                self.pool
                    .begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                    .await?
            }
        };
        let mut into = target.write().await?;
        if target.backend == Backend::Postgres {
            // A server leading on the target would go on writing into the copy (and its
            // term, copied over, would fence it off or, older, let an old leader in).
            let free: bool = sqlx::query_scalar("SELECT pg_try_advisory_xact_lock($1)")
                .bind(super::POSTGRES_LEADER_LOCK)
                .fetch_one(&mut *into)
                .await?;
            anyhow::ensure!(
                free,
                "a Linli server is running on the target database; stop every server \
                 on it before copying into it"
            );
        }
        let mut filled = Vec::new();
        for (table, _) in TABLES {
            let any: Option<i64> = sqlx::query_scalar(&format!("SELECT 1 FROM {table} LIMIT 1"))
                .fetch_optional(&mut *into)
                .await?;
            if any.is_some() {
                filled.push(table);
            }
        }
        if !filled.is_empty() {
            anyhow::ensure!(
                replace,
                "the target database is not empty (it has rows in {}); copy into an empty \
                 database, or give --replace to remove what it holds first",
                filled.join(", ")
            );
            target.empty_tables(&mut into).await?;
        }
        let mut copied = Vec::with_capacity(TABLES.len());
        for (table, key) in TABLES {
            let columns = columns(&mut into, target.backend, table).await?;
            let names = quoted_names(&columns);
            let per_insert = (30_000 / columns.len()).max(1);
            let (rows, checksum) = read_table(&mut source, table, key, &columns, async |page| {
                for chunk in page.chunks(per_insert) {
                    let mut insert = SqlBuilder::new(
                        target.backend,
                        format!("INSERT INTO {table} ({names}) VALUES "),
                    );
                    for (i, row) in chunk.iter().enumerate() {
                        insert.push(if i == 0 { "(" } else { ", (" });
                        for (j, value) in row.iter().enumerate() {
                            if j > 0 {
                                insert.push(", ");
                            }
                            value.clone().bind(&mut insert);
                        }
                        insert.push(")");
                    }
                    insert.build()?.execute(&mut *into).await?;
                }
                Ok(())
            })
            .await?;
            let (rows_back, checksum_back) =
                read_table(&mut into, table, key, &columns, async |_| Ok(())).await?;
            anyhow::ensure!(
                (rows_back, &checksum_back) == (rows, &checksum),
                "`{table}` did not copy faithfully: {rows} rows read ({checksum}), \
                 {rows_back} found in the target ({checksum_back}); nothing was changed"
            );
            let done = TableCopied {
                table,
                rows,
                checksum,
            };
            progress(&done);
            copied.push(done);
        }
        target.continue_ids(&mut into).await?;
        into.commit().await?;
        source.rollback().await?;
        Ok(copied)
    }

    /// Removes every row of every table inside the caller's transaction, the event
    /// log's refusal to be emptied set aside for it.
    async fn empty_tables(&self, conn: &mut AnyConnection) -> anyhow::Result<()> {
        let triggers: Vec<String> = match self.backend {
            Backend::Sqlite => {
                let triggers: Vec<(String, String)> = sqlx::query_as(
                    "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'events'",
                )
                .fetch_all(&mut *conn)
                .await?;
                for (name, _) in &triggers {
                    sqlx::query(&format!("DROP TRIGGER \"{name}\""))
                        .execute(&mut *conn)
                        .await?;
                }
                triggers.into_iter().map(|(_, sql)| sql).collect()
            }
            Backend::Postgres => {
                sqlx::query("ALTER TABLE events DISABLE TRIGGER USER")
                    .execute(&mut *conn)
                    .await?;
                vec!["ALTER TABLE events ENABLE TRIGGER USER".to_string()]
            }
        };
        for (table, _) in TABLES.iter().rev() {
            sqlx::query(&format!("DELETE FROM {table}"))
                .execute(&mut *conn)
                .await?;
        }
        for statement in triggers {
            sqlx::query(&statement).execute(&mut *conn).await?;
        }
        Ok(())
    }

    /// After rows came with their ids: new rows continue after the highest. SQLite
    /// does so by itself; PostgreSQL's identity columns are told.
    async fn continue_ids(&self, conn: &mut AnyConnection) -> anyhow::Result<()> {
        if self.backend == Backend::Postgres {
            let tables: Vec<String> = sqlx::query_scalar(
                "SELECT table_name::text FROM information_schema.columns \
                 WHERE table_schema = current_schema() AND column_name = 'id' AND is_identity = 'YES'",
            )
            .fetch_all(&mut *conn)
            .await?;
            for table in tables {
                sqlx::query(&format!(
                    "SELECT setval(pg_get_serial_sequence('{table}', 'id'), MAX(id)) \
                     FROM {table} HAVING MAX(id) IS NOT NULL"
                ))
                .execute(&mut *conn)
                .await?;
            }
        }
        Ok(())
    }

    /// Every table this database has (not the migrations' own), for the test that
    /// [`TABLES`] lists them all.
    pub async fn table_names(&self) -> anyhow::Result<Vec<String>> {
        let mut names: Vec<String> = match self.backend {
            Backend::Sqlite => sqlx::query_scalar(
                "SELECT name FROM sqlite_master WHERE type = 'table' \
                 AND name NOT LIKE 'sqlite_%' AND name != '_sqlx_migrations'",
            ),
            Backend::Postgres => sqlx::query_scalar(
                "SELECT table_name::text FROM information_schema.tables \
                 WHERE table_schema = current_schema() AND table_name != '_sqlx_migrations'",
            ),
        }
        .fetch_all(&self.pool)
        .await?;
        names.sort();
        Ok(names)
    }
}
