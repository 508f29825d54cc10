//! The current time, read in one place so that everything else takes it as a value.

use time::OffsetDateTime;

/// Milliseconds since the Unix epoch, UTC: the unit of every timestamp Linli stores.
pub type Millis = i64;

/// Now, in milliseconds since the Unix epoch.
pub fn now_ms() -> Millis {
    let now = OffsetDateTime::now_utc();
    (now.unix_timestamp_nanos() / 1_000_000) as Millis
}

/// Formats a timestamp as RFC 3339 UTC, e.g. `2026-11-26T07:15:00.000Z`.
pub fn rfc3339(ms: Millis) -> String {
    let format = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
    );
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|t| t.format(&format).ok())
        .unwrap_or_else(|| format!("invalid-timestamp-{ms}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_milliseconds_as_rfc3339_utc() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339(1_795_677_300_250), "2026-11-26T07:15:00.250Z");
    }
}
