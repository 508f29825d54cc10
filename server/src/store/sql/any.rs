//! The few things the SQL store needs that sqlx's `Any` driver lacks, so that one set of
//! queries serves SQLite and PostgreSQL alike:
//!
//! - [`Flag`]: a yes/no column, stored as `BOOLEAN` by PostgreSQL and as the integers
//!   0 and 1 by SQLite (which `Any` hands over as a number).
//! - [`JsonText`]: a JSON document kept in a `TEXT` column (`Any` has no JSON type).
//! - [`SqlBuilder`]: a query with a variable number of parameters (filters, `IN` lists,
//!   many rows at once). sqlx's own `QueryBuilder` writes `?` for `Any`, which
//!   PostgreSQL does not read. The queries written out use `$1, $2, …`, which both
//!   read; a built one uses `?` on SQLite, because SQLite looks a named parameter up
//!   by walking the list of all of them (with `$N`, a 10,000-value insert of readings
//!   spent 93 % of the server's time there, perf said, and HTTP ingest fell from
//!   256,000 to 11,000 readings/s).

use super::Backend;
use serde::de::DeserializeOwned;
use sqlx::any::{AnyArguments, AnyRow, AnyTypeInfo, AnyTypeInfoKind, AnyValueRef};
use sqlx::error::BoxDynError;
use sqlx::query::{Query, QueryAs, QueryScalar};
use sqlx::{Any, Arguments as _, Decode, Encode, Type, ValueRef as _};

/// A yes/no column as either database stores it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Flag(pub bool);

impl From<Flag> for bool {
    fn from(flag: Flag) -> bool {
        flag.0
    }
}

impl Type<Any> for Flag {
    fn type_info() -> AnyTypeInfo {
        <bool as Type<Any>>::type_info()
    }

    fn compatible(ty: &AnyTypeInfo) -> bool {
        ty.kind() == AnyTypeInfoKind::Bool || ty.kind().is_integer()
    }
}

impl<'r> Decode<'r, Any> for Flag {
    fn decode(value: AnyValueRef<'r>) -> Result<Self, BoxDynError> {
        if value.type_info().kind().is_integer() {
            Ok(Flag(<i64 as Decode<Any>>::decode(value)? != 0))
        } else {
            Ok(Flag(<bool as Decode<Any>>::decode(value)?))
        }
    }
}

/// A JSON document read from a `TEXT` column; `.0` is the value.
#[derive(Debug, Clone, PartialEq)]
pub struct JsonText<T>(pub T);

impl<T> Type<Any> for JsonText<T> {
    fn type_info() -> AnyTypeInfo {
        <String as Type<Any>>::type_info()
    }
}

impl<'r, T: DeserializeOwned> Decode<'r, Any> for JsonText<T> {
    fn decode(value: AnyValueRef<'r>) -> Result<Self, BoxDynError> {
        let text = <&str as Decode<Any>>::decode(value)?;
        Ok(JsonText(serde_json::from_str(text)?))
    }
}

/// A query put together piece by piece: text, and values bound where they are pushed.
pub struct SqlBuilder<'args> {
    backend: Backend,
    sql: String,
    arguments: AnyArguments<'args>,
    /// The first value that could not be bound: reported when the query runs.
    failed: Option<BoxDynError>,
}

impl<'args> SqlBuilder<'args> {
    /// A query for `backend` starting with `sql`, which must hold no parameter.
    pub fn new(backend: Backend, sql: impl Into<String>) -> Self {
        Self {
            backend,
            sql: sql.into(),
            arguments: AnyArguments::default(),
            failed: None,
        }
    }

    pub fn push(&mut self, sql: &str) -> &mut Self {
        self.sql.push_str(sql);
        self
    }

    /// Binds `value` and writes its placeholder.
    pub fn push_bind<T>(&mut self, value: T) -> &mut Self
    where
        T: 'args + Encode<'args, Any> + Type<Any>,
    {
        if let Err(err) = self.arguments.add(value) {
            self.failed.get_or_insert(err);
        }
        match self.backend {
            Backend::Sqlite => self.sql.push('?'),
            Backend::Postgres => {
                self.sql.push('$');
                self.sql.push_str(&self.arguments.len().to_string());
            }
        }
        self
    }

    /// Writes `(v1, v2, …)` for `values`, each bound (an empty list is `(NULL)`, which
    /// `IN` matches nothing against).
    pub fn push_list<T>(&mut self, values: impl IntoIterator<Item = T>) -> &mut Self
    where
        T: 'args + Encode<'args, Any> + Type<Any>,
    {
        self.push("(");
        let mut empty = true;
        for value in values {
            if !empty {
                self.push(", ");
            }
            self.push_bind(value);
            empty = false;
        }
        if empty {
            self.push("NULL");
        }
        self.push(")")
    }

    /// The query, ready to run; an error when a value could not be bound.
    pub fn build(&mut self) -> Result<Query<'_, Any, AnyArguments<'_>>, sqlx::Error> {
        let arguments = self.take_arguments()?;
        Ok(sqlx::query_with(&self.sql, arguments))
    }

    pub fn build_query_as<T>(
        &mut self,
    ) -> Result<QueryAs<'_, Any, T, AnyArguments<'_>>, sqlx::Error>
    where
        T: for<'r> sqlx::FromRow<'r, AnyRow>,
    {
        let arguments = self.take_arguments()?;
        Ok(sqlx::query_as_with(&self.sql, arguments))
    }

    pub fn build_query_scalar<T>(
        &mut self,
    ) -> Result<QueryScalar<'_, Any, T, AnyArguments<'_>>, sqlx::Error>
    where
        (T,): for<'r> sqlx::FromRow<'r, AnyRow>,
    {
        let arguments = self.take_arguments()?;
        Ok(sqlx::query_scalar_with(&self.sql, arguments))
    }

    fn take_arguments(&mut self) -> Result<AnyArguments<'args>, sqlx::Error> {
        match self.failed.take() {
            Some(err) => Err(sqlx::Error::Encode(err)),
            None => Ok(std::mem::take(&mut self.arguments)),
        }
    }
}
