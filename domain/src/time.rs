//! [`Timestamp`]: every moment Linli sends or receives, as one type.
//!
//! On the wire a timestamp is RFC 3339 text in UTC with milliseconds
//! (`2026-11-26T07:15:00.000Z`); inside it is milliseconds since the Unix epoch, the
//! unit the server stores, so values compare, sort and subtract as numbers. Reading
//! accepts any RFC 3339 time (another offset, more or fewer second digits) and keeps
//! milliseconds. [`Timestamp::in_china`] gives the calendar and clock of the street
//! office (UTC+8 all year) for display.
//!
//! Hand-written rather than through the `time` crate (which the server uses for its
//! clock): the browser app reads and shows timestamps too, and the staff faces are
//! over their download budget, so the app takes no date crate; the calendar arithmetic
//! here (two functions of H. Hinnant's, about 25 lines) is what the app already had
//! for display, now shared and tested once.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// A moment, to the millisecond.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Timestamp(i64);

/// A moment's calendar date and clock time in one time zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CivilTime {
    pub year: i64,
    /// 1 to 12.
    pub month: u8,
    /// 1 to 31.
    pub day: u8,
    pub hour: u8,
    pub minute: u8,
    pub second: u8,
    pub millisecond: u16,
}

const MS_PER_MINUTE: i64 = 60_000;
const MS_PER_DAY: i64 = 1_440 * MS_PER_MINUTE;
/// China Standard Time, UTC+8 all year.
pub const CHINA_OFFSET_MINUTES: i64 = 8 * 60;

impl Timestamp {
    pub const fn from_millis(millis: i64) -> Timestamp {
        Timestamp(millis)
    }

    /// Milliseconds since 1970-01-01T00:00:00Z.
    pub const fn millis(self) -> i64 {
        self.0
    }

    /// Reads an RFC 3339 time: `YYYY-MM-DDTHH:MM:SS`, an optional fraction of a second
    /// (kept to the millisecond), then `Z` or `±HH:MM`. `None` for anything else,
    /// including dates that do not exist (`2026-02-30`).
    pub fn parse(text: &str) -> Option<Timestamp> {
        let b = text.as_bytes();
        let digits = |from: usize, len: usize| -> Option<i64> {
            let part = b.get(from..from + len)?;
            part.iter()
                .all(u8::is_ascii_digit)
                .then(|| part.iter().fold(0, |n, d| n * 10 + i64::from(d - b'0')))
        };
        let separator = |at: usize, allowed: &[u8]| b.get(at).is_some_and(|c| allowed.contains(c));
        if !(separator(4, b"-")
            && separator(7, b"-")
            && separator(10, b"Tt")
            && separator(13, b":")
            && separator(16, b":"))
        {
            return None;
        }
        let (year, month, day) = (digits(0, 4)?, digits(5, 2)?, digits(8, 2)?);
        let (hour, minute, second) = (digits(11, 2)?, digits(14, 2)?, digits(17, 2)?);
        if !(1..=12).contains(&month)
            || day < 1
            || day > days_in_month(year, month)
            || hour > 23
            || minute > 59
            || second > 59
        {
            return None;
        }
        let mut at = 19;
        let mut millisecond = 0;
        if b.get(at) == Some(&b'.') {
            at += 1;
            let start = at;
            while b.get(at).is_some_and(u8::is_ascii_digit) {
                if at - start < 3 {
                    millisecond = millisecond * 10 + i64::from(b[at] - b'0');
                }
                at += 1;
            }
            match at - start {
                0 => return None,
                1 => millisecond *= 100,
                2 => millisecond *= 10,
                _ => {}
            }
        }
        let offset_minutes = match b.get(at)? {
            b'Z' | b'z' if at + 1 == b.len() => 0,
            sign @ (b'+' | b'-') if at + 6 == b.len() && b[at + 3] == b':' => {
                let (hours, minutes) = (digits(at + 1, 2)?, digits(at + 4, 2)?);
                if hours > 23 || minutes > 59 {
                    return None;
                }
                let minutes = hours * 60 + minutes;
                if *sign == b'-' {
                    -minutes
                } else {
                    minutes
                }
            }
            _ => return None,
        };
        let minutes =
            days_from_civil(year, month, day) * 1_440 + hour * 60 + minute - offset_minutes;
        Some(Timestamp(
            minutes * MS_PER_MINUTE + second * 1_000 + millisecond,
        ))
    }

    /// The date and clock time at `offset_minutes` east of UTC.
    pub fn civil(self, offset_minutes: i64) -> CivilTime {
        let local = self.0.saturating_add(offset_minutes * MS_PER_MINUTE);
        let (year, month, day) = civil_from_days(local.div_euclid(MS_PER_DAY));
        let in_day = local.rem_euclid(MS_PER_DAY);
        // Each part is within its unit's range, so the narrowing cannot truncate.
        CivilTime {
            year,
            month: month as u8,
            day: day as u8,
            hour: (in_day / 3_600_000) as u8,
            minute: (in_day / MS_PER_MINUTE % 60) as u8,
            second: (in_day / 1_000 % 60) as u8,
            millisecond: (in_day % 1_000) as u16,
        }
    }

    /// The date and clock time in China, where the street office is.
    pub fn in_china(self) -> CivilTime {
        self.civil(CHINA_OFFSET_MINUTES)
    }
}

/// `2026-11-26T07:15:00.000Z`: UTC, always with milliseconds.
impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let t = self.civil(0);
        write!(
            f,
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
            t.year, t.month, t.day, t.hour, t.minute, t.second, t.millisecond
        )
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Timestamp, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = Timestamp;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an RFC 3339 time such as 2026-11-26T07:15:00.000Z")
            }
            fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<Timestamp, E> {
                Timestamp::parse(text)
                    .ok_or_else(|| E::invalid_value(serde::de::Unexpected::Str(text), &self))
            }
        }
        deserializer.deserialize_str(Visitor)
    }
}

#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for Timestamp {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::schema::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .format(Some(utoipa::openapi::schema::SchemaFormat::KnownFormat(
                utoipa::openapi::schema::KnownFormat::DateTime,
            )))
            .examples(["2026-11-26T07:15:00.000Z"])
            .into()
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for Timestamp {}

fn is_leap_year(year: i64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if is_leap_year(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a calendar date (proleptic Gregorian; H. Hinnant's
/// `days_from_civil`).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let day_of_year = (153 * (month + if month > 2 { -3 } else { 9 }) + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// The calendar date of a day counted from 1970-01-01: (year, month, day).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z - era * 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let mp = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    (year_of_era + era * 400 + i64::from(month <= 2), month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_utc_with_milliseconds_and_reads_it_back() {
        assert_eq!(
            Timestamp::from_millis(0).to_string(),
            "1970-01-01T00:00:00.000Z"
        );
        let t = Timestamp::from_millis(1_795_677_300_250);
        assert_eq!(t.to_string(), "2026-11-26T07:15:00.250Z");
        assert_eq!(Timestamp::parse(&t.to_string()), Some(t));
        // Before 1970, and a leap day.
        let old = Timestamp::parse("1969-12-31T23:59:59.999Z").unwrap();
        assert_eq!(old.millis(), -1);
        assert_eq!(old.to_string(), "1969-12-31T23:59:59.999Z");
        let leap = Timestamp::parse("2028-02-29T12:00:00Z").unwrap();
        assert_eq!(leap.to_string(), "2028-02-29T12:00:00.000Z");
        assert_eq!(
            serde_json::to_string(&t).unwrap(),
            "\"2026-11-26T07:15:00.250Z\""
        );
        assert_eq!(
            serde_json::from_str::<Timestamp>("\"2026-11-26T15:15:00.250+08:00\"").unwrap(),
            t
        );
    }

    #[test]
    fn reads_other_offsets_and_precisions_to_the_same_moment() {
        let t = Timestamp::from_millis(1_795_677_300_000); // 2026-11-26T07:15:00Z
        for same in [
            "2026-11-26T07:15:00Z",
            "2026-11-26t07:15:00z",
            "2026-11-26T07:15:00.0Z",
            "2026-11-26T07:15:00.000000Z",
            "2026-11-26T15:15:00+08:00",
            "2026-11-25T23:15:00-08:00",
            "2026-11-26T07:15:00.0009Z",
        ] {
            assert_eq!(Timestamp::parse(same), Some(t), "{same}");
        }
        assert_eq!(
            Timestamp::parse("2026-11-26T07:15:00.5Z"),
            Some(Timestamp::from_millis(t.millis() + 500))
        );
        assert_eq!(
            Timestamp::parse("2026-11-26T07:15:00.25Z"),
            Some(Timestamp::from_millis(t.millis() + 250))
        );
    }

    #[test]
    fn refuses_what_is_not_an_rfc_3339_time() {
        for bad in [
            "",
            "2026-11-26",
            "2026-11-26 07:15:00Z",
            "2026-11-26T07:15Z",
            "2026-11-26T07:15:00",
            "2026-11-26T07:15:00.Z",
            "2026-11-26T07:15:00+0800",
            "2026-11-26T07:15:00+08:00x",
            "2026-11-26T07:15:00Zjunk",
            "2026-13-01T00:00:00Z",
            "2026-02-29T00:00:00Z",
            "2026-04-31T00:00:00Z",
            "2026-11-00T00:00:00Z",
            "2026-11-26T24:00:00Z",
            "2026-11-26T07:60:00Z",
            "2026-11-26T07:15:60Z",
            "2026-11-26T07:15:00+24:00",
            "+026-11-26T07:15:00Z",
            "２026-11-26T07:15:00Z",
            "1795677300000",
        ] {
            assert_eq!(Timestamp::parse(bad), None, "{bad:?}");
        }
        let error = serde_json::from_str::<Timestamp>("\"yesterday\"").unwrap_err();
        assert!(error.to_string().contains("RFC 3339"), "{error}");
        assert!(serde_json::from_str::<Timestamp>("1795677300000").is_err());
    }

    #[test]
    fn shows_the_calendar_and_clock_in_china() {
        // 2026-11-26T16:30Z is already the 27th, 00:30, in China.
        let t = Timestamp::parse("2026-11-26T16:30:05.007Z")
            .unwrap()
            .in_china();
        assert_eq!(
            (
                t.year,
                t.month,
                t.day,
                t.hour,
                t.minute,
                t.second,
                t.millisecond
            ),
            (2026, 11, 27, 0, 30, 5, 7)
        );
        let new_year = Timestamp::parse("2026-12-31T16:00:00Z").unwrap().in_china();
        assert_eq!((new_year.year, new_year.month, new_year.day), (2027, 1, 1));
    }
}
