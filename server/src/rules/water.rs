//! A home's water use and its own daily pattern, learned from its history.
//!
//! Each local day is summed up as the hours in which water ran and the litres used. A
//! day with any use is folded into the home's [`Pattern`]: for each hour of the day, the
//! share of days with use in that hour, with older days weighing less (about four weeks
//! of memory). A day without any use is not learned: the resident was away, or
//! something is wrong, and neither should teach the home that silence is normal.
//!
//! "No water use" asks the pattern how many hours *with use* the home would usually
//! have had since its last use: an early riser's quiet morning raises the alert early,
//! a late sleeper's later, and nobody is alarmed over a quiet night. A new home borrows
//! the district's default day until it has a week of its own.

use super::{Thresholds, DAY_MS, HOUR_MS};
use crate::clock::Millis;
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;

/// Days of history after which a home's own pattern fully replaces the default.
pub const MIN_DAYS: f64 = 7.0;
/// Older days fade with this weight per day: about four weeks of memory.
const DAY_WEIGHT: f64 = 1.0 - 1.0 / 28.0;
/// Daily totals kept for "far above the usual day".
const DAILY_TOTALS_KEPT: usize = 14;
/// A meter step at or below this is noise, not use (litres).
const METER_NOISE_L: f64 = 0.5;
/// The expected-use sum looks back at most this far.
const LOOK_BACK_MS: Millis = 48 * HOUR_MS;

/// The district's default day for homes without a pattern of their own: water is
/// used in 4 of 10 hours from 07:00 to 21:59, rarely at night: a cautious
/// guess, so that a home without history is not alarmed over an afternoon nap.
fn default_share(hour: usize) -> f64 {
    if (7..=21).contains(&hour) {
        0.4
    } else {
        0.05
    }
}

/// When water ran in a home, hour by hour, learned over days.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Pattern {
    /// Per local hour, the (fading) number of learned days with use in that hour.
    pub hour_days: [f64; 24],
    /// The (fading) number of learned days.
    pub days: f64,
    /// Litres used on the most recent learned days, newest last.
    pub daily_litres: VecDeque<f64>,
}

impl Pattern {
    /// Folds one day in: `hours` has bit `h` set when water ran in local hour `h`.
    pub fn learn(&mut self, hours: u32, litres: f64) {
        for (h, days) in self.hour_days.iter_mut().enumerate() {
            *days = *days * DAY_WEIGHT + f64::from((hours >> h) & 1);
        }
        self.days = self.days * DAY_WEIGHT + 1.0;
        self.daily_litres.push_back(litres);
        if self.daily_litres.len() > DAILY_TOTALS_KEPT {
            self.daily_litres.pop_front();
        }
    }

    /// How likely the home uses water in local hour `hour` (0–23): its own share once
    /// it has [`MIN_DAYS`] of history, blended with the district default before.
    pub fn share(&self, hour: usize) -> f64 {
        if self.days >= MIN_DAYS {
            self.hour_days[hour] / self.days
        } else {
            (self.hour_days[hour] + default_share(hour) * (MIN_DAYS - self.days)) / MIN_DAYS
        }
    }

    /// The number of hours with use the home would usually have had between `since`
    /// and `now` (partial hours count in part).
    pub fn expected_use_hours(&self, since: Millis, now: Millis, t: &Thresholds) -> f64 {
        let mut from = since.max(now - LOOK_BACK_MS);
        let mut sum = 0.0;
        while from < now {
            let local = from + t.utc_offset_ms;
            let hour_end = local - local.rem_euclid(HOUR_MS) + HOUR_MS - t.utc_offset_ms;
            let to = hour_end.min(now);
            let hour = (local.rem_euclid(DAY_MS) / HOUR_MS) as usize;
            sum += self.share(hour) * (to - from) as f64 / HOUR_MS as f64;
            from = to;
        }
        sum
    }

    /// The usual day's litres (the median of recent days), once there is a week.
    pub fn usual_litres(&self) -> Option<f64> {
        if self.days < MIN_DAYS || self.daily_litres.is_empty() {
            return None;
        }
        let mut days: Vec<f64> = self.daily_litres.iter().copied().collect();
        days.sort_by(f64::total_cmp);
        Some(days[days.len() / 2])
    }
}

/// The local day being counted.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Day {
    /// Local day number (0 before the first reading).
    pub day: i64,
    /// Bit `h` set when water ran in local hour `h`.
    pub hours: u32,
    pub litres: f64,
    /// Whether the day was watched from its start (a first, partial day is not learned).
    pub whole: bool,
    pub unusual_raised: bool,
}

/// What the rules remember of a home's water.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct WaterState {
    /// The newest meter index: (time, litres).
    pub last_index: Option<(Millis, f64)>,
    pub last_use_at: Option<Millis>,
    /// The first water reading ever seen (the quiet clock starts here before any use).
    pub first_seen: Option<Millis>,
    /// Since when water has run without a break.
    pub flow_since: Option<Millis>,
    /// Whether this run of flow was raised already.
    pub flow_raised: bool,
    /// The last use (or first sighting) a "no water use" was raised for.
    pub quiet_raised_since: Option<Millis>,
    pub today: Day,
    pub pattern: Pattern,
}

impl WaterState {
    /// Starts a new local day when `at` lies in one, learning the day that ended.
    pub fn roll_day(&mut self, at: Millis, t: &Thresholds) {
        let day = t.local_day(at);
        if self.today.day == 0 {
            self.today = Day {
                day,
                ..Day::default()
            };
        } else if day > self.today.day {
            if self.today.whole && self.today.hours != 0 {
                self.pattern.learn(self.today.hours, self.today.litres);
            }
            self.today = Day {
                day,
                whole: day == self.today.day + 1,
                ..Day::default()
            };
        }
    }

    /// Water ran at `at` (`litres` of it, when known).
    pub fn mark_use(&mut self, at: Millis, litres: f64, t: &Thresholds) {
        self.roll_day(at, t);
        if t.local_day(at) == self.today.day {
            self.today.hours |= 1 << (t.local_minute(at) / 60);
            self.today.litres += litres;
        }
        self.first_seen.get_or_insert(at);
        self.last_use_at = Some(self.last_use_at.map_or(at, |last| last.max(at)));
    }

    /// A new meter index; whether it shows use since the previous one.
    pub fn meter_index(&mut self, at: Millis, litres: f64, t: &Thresholds) -> bool {
        self.roll_day(at, t);
        self.first_seen.get_or_insert(at);
        let previous = self.last_index.replace((at, litres));
        match previous {
            Some((_, before)) if litres - before > METER_NOISE_L => {
                self.mark_use(at, litres - before, t);
                true
            }
            _ => false,
        }
    }

    /// Today's litres, once, when they are far above the home's usual day.
    pub fn unusual_today(&mut self, t: &Thresholds) -> Option<f64> {
        let usual = self.pattern.usual_litres()?;
        let litres = self.today.litres;
        if self.today.unusual_raised
            || litres <= t.unusual_use_min_l
            || litres <= usual * t.unusual_use_factor
        {
            return None;
        }
        self.today.unusual_raised = true;
        Some(litres)
    }

    /// When the meter has been quiet for longer than the home's pattern allows (and this
    /// quiet spell was not raised yet): since when, and the hours of use expected since.
    pub fn quiet_for(&mut self, now: Millis, t: &Thresholds) -> Option<(Millis, f64)> {
        let since = self.last_use_at.or(self.first_seen)?;
        if self.quiet_raised_since == Some(since) {
            return None;
        }
        let expected = self.pattern.expected_use_hours(since, now, t);
        if expected >= t.no_use_expected_hours || now - since >= t.no_use_max_ms {
            self.quiet_raised_since = Some(since);
            Some((since, expected))
        } else {
            None
        }
    }
}
