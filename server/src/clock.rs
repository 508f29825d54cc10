//! The current time, read in one place so that everything else takes it as a value.

use linli_domain::Timestamp;
use time::OffsetDateTime;

/// Milliseconds since the Unix epoch, UTC: the unit of every timestamp Linli stores.
pub type Millis = i64;

/// Now, in milliseconds since the Unix epoch.
pub fn now_ms() -> Millis {
    let now = OffsetDateTime::now_utc();
    (now.unix_timestamp_nanos() / 1_000_000) as Millis
}

/// Formats a timestamp as RFC 3339 UTC, e.g. `2026-11-26T07:15:00.000Z`: the wire's
/// form ([`Timestamp`]'s), for texts and files.
pub fn rfc3339(ms: Millis) -> String {
    Timestamp::from_millis(ms).to_string()
}

/// China Standard Time, UTC+8, the street office's clock.
const CHINA_OFFSET_MS: Millis = linli_domain::time::CHINA_OFFSET_MINUTES * 60_000;

/// The first moment of the month containing `now`, China time, in UTC milliseconds.
pub fn month_start(now: Millis) -> Millis {
    let local = time::OffsetDateTime::from_unix_timestamp_nanos(
        i128::from(now + CHINA_OFFSET_MS) * 1_000_000,
    )
    .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    let first = local
        .date()
        .replace_day(1)
        .unwrap_or(local.date())
        .midnight()
        .assume_utc();
    (first.unix_timestamp_nanos() / 1_000_000) as Millis - CHINA_OFFSET_MS
}

/// The first moment of the day containing `now`, China time, in UTC milliseconds.
pub fn day_start(now: Millis) -> Millis {
    const DAY_MS: Millis = 24 * 3600 * 1000;
    (now + CHINA_OFFSET_MS).div_euclid(DAY_MS) * DAY_MS - CHINA_OFFSET_MS
}

/// The next moment after `now` that is `minute` minutes after midnight, China time.
pub fn next_china_minute(now: Millis, minute: u32) -> Millis {
    let today = day_start(now) + Millis::from(minute) * 60_000;
    if today > now {
        today
    } else {
        today + 24 * 3600 * 1000
    }
}

/// Minutes in a week.
pub const WEEK_MINUTES: u32 = 7 * 24 * 60;

/// The minute of the week containing `now`, China time, Monday 00:00 being 0 (the
/// clock duty rosters run on).
pub fn week_minute(now: Millis) -> u32 {
    const DAY_MS: Millis = 24 * 3600 * 1000;
    let local = now + CHINA_OFFSET_MS;
    // 1970-01-01 was a Thursday, day 3 of a week that starts on Monday.
    let weekday = (local.div_euclid(DAY_MS) + 3).rem_euclid(7);
    (weekday * 24 * 60 + local.rem_euclid(DAY_MS) / 60_000) as u32
}

/// `HH:MM` China time, for messages.
pub fn china_clock(now: Millis) -> String {
    let t = Timestamp::from_millis(now).in_china();
    format!("{:02}:{:02}", t.hour, t.minute)
}

/// `2026年11月26日 15:15` China time, for case descriptions.
pub fn china_date_time(now: Millis) -> String {
    let t = Timestamp::from_millis(now).in_china();
    format!(
        "{}年{}月{}日 {:02}:{:02}",
        t.year, t.month, t.day, t.hour, t.minute
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_week_runs_from_monday_midnight_china_time() {
        // 2026-11-26T07:15Z: Thursday 15:15 in Hefei.
        assert_eq!(week_minute(1_795_677_300_000), 3 * 1440 + 15 * 60 + 15);
        assert_eq!(china_clock(1_795_677_300_000), "15:15");
        assert_eq!(china_date_time(1_795_677_300_000), "2026年11月26日 15:15");
        // 15:15 in Hefei: the next 08:00 is tomorrow's, the next 16:00 today's.
        let next = next_china_minute(1_795_677_300_000, 8 * 60);
        assert_eq!(china_date_time(next), "2026年11月27日 08:00");
        let later = next_china_minute(1_795_677_300_000, 16 * 60);
        assert_eq!(china_date_time(later), "2026年11月26日 16:00");
        // 2026-11-29T16:00Z: Monday 00:00 there; a minute before, Sunday 23:59.
        assert_eq!(week_minute(1_795_968_000_000), 0);
        assert_eq!(week_minute(1_795_967_940_000), WEEK_MINUTES - 1);
    }

    #[test]
    fn formats_milliseconds_as_rfc3339_utc() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339(1_795_677_300_250), "2026-11-26T07:15:00.250Z");
    }
    #[test]
    fn the_month_starts_at_midnight_china_time() {
        // 2026-11-26T07:15Z is 15:15 in Hefei; the month began 2026-11-01T00:00+08:00,
        // which is 2026-10-31T16:00Z.
        assert_eq!(
            rfc3339(month_start(1_795_677_300_000)),
            "2026-10-31T16:00:00.000Z"
        );
        // 2026-10-31T20:00Z is already 1 November in Hefei.
        assert_eq!(
            rfc3339(month_start(1_793_476_800_000)),
            "2026-10-31T16:00:00.000Z"
        );
        // One minute before that midnight it is still October there.
        assert_eq!(
            rfc3339(month_start(1_793_462_340_000)),
            "2026-09-30T16:00:00.000Z"
        );
    }

    #[test]
    fn the_day_starts_at_midnight_china_time() {
        // 2026-11-26T07:15Z is 15:15 in Hefei; that day began at 2026-11-25T16:00Z.
        assert_eq!(
            rfc3339(day_start(1_795_677_300_000)),
            "2026-11-25T16:00:00.000Z"
        );
        // 2026-11-25T16:00Z itself is the first moment of the 26th there.
        assert_eq!(
            rfc3339(day_start(1_795_622_400_000)),
            "2026-11-25T16:00:00.000Z"
        );
        assert_eq!(
            rfc3339(day_start(1_795_622_399_999)),
            "2026-11-24T16:00:00.000Z"
        );
    }
}
