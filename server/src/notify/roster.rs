//! The duty roster (值班表): checking one as a commander wrote it, and reading who is on
//! duty at a level at a given time.
//!
//! A roster is weekly, on China time. Each level's shifts must cover the whole week
//! exactly once: a gap would leave an alarm with nobody to call, an overlap would make
//! it unclear who is called; both are refused, naming the first such time.

use crate::clock::{Millis, WEEK_MINUTES};
use linli_domain::notify::{OnDuty, Roster};

const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
const DAY_MINUTES: u32 = 24 * 60;
pub const MAX_LEVELS: usize = 5;
const MAX_SHIFTS: usize = 200;
/// The longest a level may wait for an acknowledgement (issue 14's bound on
/// escalation).
pub const MAX_ACKNOWLEDGE_MIN: u32 = 60;
const MAX_WARNING_SLOWDOWN: u32 = 10;

/// `HH:MM` to minutes of the day.
fn clock_minutes(text: &str) -> Option<u32> {
    let (hours, minutes) = text.split_once(':')?;
    if hours.len() != 2 || minutes.len() != 2 {
        return None;
    }
    let (hours, minutes): (u32, u32) = (hours.parse().ok()?, minutes.parse().ok()?);
    (hours < 24 && minutes < 60).then_some(hours * 60 + minutes)
}

/// The minute of the day the roster's morning digest goes out.
pub fn digest_minute(roster: &Roster) -> Option<u32> {
    clock_minutes(&roster.digest_at)
}

/// A week minute as `Tue 08:00`.
fn when(minute: u32) -> String {
    let day = DAYS[(minute / DAY_MINUTES) as usize % 7];
    let minute = minute % DAY_MINUTES;
    format!("{day} {:02}:{:02}", minute / 60, minute % 60)
}

fn check_person(person: &OnDuty) -> Result<(), String> {
    let name = person.name.trim();
    if name.is_empty() || name.chars().count() > 40 {
        return Err("a person on duty needs a name of 1 to 40 characters".into());
    }
    if let Some(phone) = &person.phone {
        if phone.len() != 11
            || !phone.starts_with('1')
            || !phone.bytes().all(|b| b.is_ascii_digit())
        {
            return Err(format!(
                "`{phone}` is not a mobile number (11 digits, starting with 1)"
            ));
        }
    }
    for id in [&person.wecom, &person.dingtalk, &person.feishu]
        .into_iter()
        .flatten()
    {
        let fits = (1..=64).contains(&id.len())
            && id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"_.@-".contains(&b));
        if !fits {
            return Err(format!(
                "`{id}` is not a user id (1 to 64 letters, digits, `_.@-`)"
            ));
        }
    }
    Ok(())
}

/// The week's intervals `[start, end)` of one level, each with its shift's index,
/// sorted; a shift over Sunday midnight is split in two.
fn intervals(level: &linli_domain::notify::RosterLevel) -> Result<Vec<(u32, u32, usize)>, String> {
    let mut out = Vec::new();
    for (index, shift) in level.shifts.iter().enumerate() {
        let bad_time = |t: &str| format!("`{t}` is not a time of day (HH:MM)");
        let from = clock_minutes(&shift.from).ok_or_else(|| bad_time(&shift.from))?;
        let to = clock_minutes(&shift.to).ok_or_else(|| bad_time(&shift.to))?;
        let length = if to > from {
            to - from
        } else {
            to + DAY_MINUTES - from
        };
        let days: Vec<u32> = if shift.days.is_empty() {
            (0..7).collect()
        } else {
            let mut days = Vec::new();
            for day in &shift.days {
                let n = DAYS
                    .iter()
                    .position(|d| d.eq_ignore_ascii_case(day))
                    .ok_or_else(|| format!("`{day}` is not a day (mon … sun)"))?;
                days.push(n as u32);
            }
            days
        };
        check_person(&shift.person)?;
        for day in days {
            let start = day * DAY_MINUTES + from;
            let end = start + length;
            if end <= WEEK_MINUTES {
                out.push((start, end, index));
            } else {
                out.push((start, WEEK_MINUTES, index));
                out.push((0, end - WEEK_MINUTES, index));
            }
        }
    }
    out.sort_unstable();
    Ok(out)
}

/// Checks a roster: levels, timers and people of sensible size, and every level's
/// shifts covering the week exactly once.
pub fn check(roster: &Roster) -> Result<(), String> {
    if roster.levels.is_empty() || roster.levels.len() > MAX_LEVELS {
        return Err(format!("a roster has 1 to {MAX_LEVELS} levels"));
    }
    if roster.warning_slowdown > MAX_WARNING_SLOWDOWN {
        return Err(format!("`warning_slowdown` is 0 to {MAX_WARNING_SLOWDOWN}"));
    }
    if digest_minute(roster).is_none() {
        return Err(format!(
            "`digest_at` is a time of day as HH:MM, not `{}`",
            roster.digest_at
        ));
    }
    for (n, level) in roster.levels.iter().enumerate() {
        let name = format!("level {} ({})", n + 1, level.title.trim());
        let title = level.title.trim();
        if title.is_empty() || title.chars().count() > 20 {
            return Err(format!("level {}: a title of 1 to 20 characters", n + 1));
        }
        if !(1..=MAX_ACKNOWLEDGE_MIN).contains(&level.acknowledge_within_min) {
            return Err(format!(
                "{name}: `acknowledge_within_min` is 1 to {MAX_ACKNOWLEDGE_MIN}"
            ));
        }
        if level.shifts.is_empty() || level.shifts.len() > MAX_SHIFTS {
            return Err(format!("{name}: 1 to {MAX_SHIFTS} shifts"));
        }
        let intervals = intervals(level).map_err(|e| format!("{name}: {e}"))?;
        let mut gaps = Vec::new();
        let mut covered_to = 0;
        for (start, end, _) in intervals {
            if start < covered_to {
                return Err(format!("{name}: two shifts overlap at {}", when(start)));
            }
            if start > covered_to {
                gaps.push((covered_to, start));
            }
            covered_to = end;
        }
        if covered_to < WEEK_MINUTES {
            gaps.push((covered_to, WEEK_MINUTES));
        }
        // A gap over Sunday midnight is one gap.
        if gaps.len() > 1 && gaps[0].0 == 0 && gaps[gaps.len() - 1].1 == WEEK_MINUTES {
            let first = gaps.remove(0);
            let last = gaps.len() - 1;
            gaps[last].1 = first.1;
        }
        if let Some((from, to)) = gaps.first() {
            return Err(format!(
                "{name}: nobody is on duty from {} to {}",
                when(*from),
                when(*to)
            ));
        }
    }
    Ok(())
}

/// Who is on duty at `level` (0 is the first) at `now`, in a checked roster.
pub fn on_duty(roster: &Roster, level: usize, now: Millis) -> Option<&OnDuty> {
    let level = roster.levels.get(level)?;
    let minute = crate::clock::week_minute(now);
    let intervals = intervals(level).ok()?;
    intervals
        .iter()
        .find(|(start, end, _)| (*start..*end).contains(&minute))
        .map(|(_, _, index)| &level.shifts[*index].person)
}

#[cfg(test)]
mod tests {
    use super::*;
    use linli_domain::notify::{RosterLevel, Shift, WarningDelivery};

    fn person(name: &str) -> OnDuty {
        OnDuty {
            name: name.into(),
            phone: Some("13800000001".into()),
            wecom: None,
            dingtalk: None,
            feishu: None,
        }
    }

    fn shift(days: &[&str], from: &str, to: &str, name: &str) -> Shift {
        Shift {
            days: days.iter().map(|d| d.to_string()).collect(),
            from: from.into(),
            to: to.into(),
            person: person(name),
        }
    }

    fn roster(shifts: Vec<Shift>) -> Roster {
        Roster {
            levels: vec![RosterLevel {
                title: "网格员".into(),
                acknowledge_within_min: 5,
                shifts,
            }],
            warning_slowdown: 3,
            warnings: WarningDelivery::Chain,
            digest_at: "08:00".into(),
        }
    }

    #[test]
    fn day_and_night_shifts_cover_the_week_and_say_who_is_on() {
        let week = roster(vec![
            shift(&[], "08:00", "20:00", "王芳"),
            shift(&[], "20:00", "08:00", "李强"),
        ]);
        assert_eq!(check(&week), Ok(()));
        // Thursday 15:15 China time; Monday 00:00 (the night shift begun Sunday).
        assert_eq!(on_duty(&week, 0, 1_795_677_300_000).unwrap().name, "王芳");
        assert_eq!(on_duty(&week, 0, 1_795_968_000_000).unwrap().name, "李强");
        assert!(on_duty(&week, 1, 1_795_968_000_000).is_none());
    }

    #[test]
    fn gaps_overlaps_and_bad_fields_are_refused_by_name() {
        let gap = roster(vec![
            shift(&[], "08:00", "20:00", "王芳"),
            shift(
                &["mon", "tue", "wed", "thu", "fri", "sat"],
                "20:00",
                "08:00",
                "李强",
            ),
        ]);
        assert_eq!(
            check(&gap).unwrap_err(),
            "level 1 (网格员): nobody is on duty from sun 20:00 to mon 08:00"
        );
        let hole = roster(vec![
            shift(&[], "08:00", "20:00", "王芳"),
            shift(&[], "21:00", "08:00", "李强"),
        ]);
        assert!(check(&hole)
            .unwrap_err()
            .contains("from mon 20:00 to mon 21:00"));
        let overlap = roster(vec![
            shift(&[], "08:00", "20:00", "王芳"),
            shift(&[], "19:00", "08:00", "李强"),
        ]);
        assert!(check(&overlap)
            .unwrap_err()
            .contains("overlap at mon 19:00"));
        let bad_time = roster(vec![shift(&[], "8:00", "20:00", "王芳")]);
        assert!(check(&bad_time).unwrap_err().contains("`8:00`"));
        let bad_day = roster(vec![shift(&["monday"], "00:00", "00:00", "王芳")]);
        assert!(check(&bad_day).unwrap_err().contains("`monday`"));
        let mut bad_phone = roster(vec![shift(&[], "00:00", "00:00", "王芳")]);
        bad_phone.levels[0].shifts[0].person.phone = Some("12345".into());
        assert!(check(&bad_phone).unwrap_err().contains("mobile"));
        let mut slow = roster(vec![shift(&[], "00:00", "00:00", "王芳")]);
        assert_eq!(check(&slow), Ok(()), "one 24-hour shift a day");
        slow.levels[0].acknowledge_within_min = 61;
        assert!(check(&slow).unwrap_err().contains("1 to 60"));
        assert!(check(&Roster {
            levels: vec![],
            ..slow.clone()
        })
        .is_err());
        slow.levels[0].acknowledge_within_min = 5;
        for bad in ["24:00", "8:00", "08:60", ""] {
            slow.digest_at = bad.into();
            assert!(check(&slow).unwrap_err().contains("digest_at"), "{bad}");
        }
        slow.digest_at = "23:59".into();
        assert_eq!(check(&slow), Ok(()));
    }
}
