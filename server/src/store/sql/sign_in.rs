//! The SQL of sign-in limits (`crate::sign_in_limits`): the failures of the last
//! window, kept for every server on the database, counted in one transaction with the
//! attempt they decide on (under a lock of their own on PostgreSQL, not the writes').

use super::{SqlBuilder, SqlStore};
use crate::clock::Millis;
use crate::sign_in_limits::{Attempt, Policy, Recent};
use crate::store::StoreResult;
use sqlx::AnyConnection;
use std::time::Duration;

/// Which failures count for which limit.
enum Count {
    /// The account at this address, not forgiven.
    Pair,
    /// This address, any account.
    Address,
    /// The account from anywhere, not forgiven.
    Account,
}

impl SqlStore {
    /// The newest failure times of `count` since the window's start, at most `limit`.
    async fn newest(
        &self,
        conn: &mut AnyConnection,
        count: Count,
        attempt: &Attempt,
        since: Millis,
        limit: usize,
    ) -> StoreResult<Vec<Millis>> {
        let mut query = SqlBuilder::new(self.backend, "SELECT at_ms FROM sign_in_failures WHERE ");
        match count {
            Count::Pair => query
                .push("account = ")
                .push_bind(attempt.account.as_str())
                .push(" AND address = ")
                .push_bind(attempt.address.as_str())
                .push(" AND NOT pair_forgiven"),
            Count::Address => query.push("address = ").push_bind(attempt.address.as_str()),
            Count::Account => query
                .push("account = ")
                .push_bind(attempt.account.as_str())
                .push(" AND NOT account_forgiven"),
        };
        query
            .push(" AND at_ms > ")
            .push_bind(since)
            .push(" ORDER BY at_ms DESC, id DESC LIMIT ")
            .push_bind(limit as i64);
        Ok(query.build_query_scalar()?.fetch_all(conn).await?)
    }

    /// The failures that count for `attempt` since the window's start.
    async fn recent(
        &self,
        conn: &mut AnyConnection,
        attempt: &Attempt,
        policy: &Policy,
        since: Millis,
    ) -> StoreResult<Recent> {
        let pair = self.newest(conn, Count::Pair, attempt, since, policy.per_pair);
        let pair = pair.await?;
        let address = self.newest(conn, Count::Address, attempt, since, policy.per_address);
        let address = address.await?;
        let account = self.newest(conn, Count::Account, attempt, since, policy.per_account);
        let account = account.await?;
        Ok(Recent {
            pair,
            address,
            account,
        })
    }

    pub(super) async fn begin_sign_in_sql(
        &self,
        attempt: &Attempt,
        policy: &Policy,
        now: Millis,
    ) -> StoreResult<Result<i64, Duration>> {
        let since = policy.since(now);
        // A refused attempt costs three reads and takes no lock, so that a flood of
        // them queues behind nothing.
        let mut conn = self.pool.acquire().await?;
        if let Some(wait) = policy.wait(&self.recent(&mut conn, attempt, policy, since).await?, now)
        {
            return Ok(Err(wait));
        }
        drop(conn);
        // Counted again under the lock: concurrent attempts see each other's rows.
        let mut tx = self.lock_sign_ins().await?;
        if let Some(wait) = policy.wait(&self.recent(&mut tx, attempt, policy, since).await?, now) {
            return Ok(Err(wait));
        }
        // What left the window is forgotten, a bounded number at a time.
        sqlx::query(
            "DELETE FROM sign_in_failures WHERE id IN \
             (SELECT id FROM sign_in_failures WHERE at_ms <= $1 LIMIT 1000)",
        )
        .bind(since)
        .execute(&mut *tx)
        .await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO sign_in_failures (account, address, at_ms) VALUES ($1, $2, $3) \
             RETURNING id",
        )
        .bind(&attempt.account)
        .bind(&attempt.address)
        .bind(now)
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Ok(id))
    }

    pub(super) async fn end_sign_in_sql(
        &self,
        id: i64,
        succeeded: Option<&Attempt>,
    ) -> StoreResult<()> {
        let mut tx = self.lock_sign_ins().await?;
        sqlx::query("DELETE FROM sign_in_failures WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        if let Some(attempt) = succeeded {
            sqlx::query("UPDATE sign_in_failures SET account_forgiven = TRUE WHERE account = $1")
                .bind(&attempt.account)
                .execute(&mut *tx)
                .await?;
            sqlx::query(
                "UPDATE sign_in_failures SET pair_forgiven = TRUE \
                 WHERE account = $1 AND address = $2",
            )
            .bind(&attempt.account)
            .bind(&attempt.address)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }
}
