//! Telling a new reading from one that arrives again, in memory.
//!
//! A device retransmits what it is not sure was received, so the same reading can come
//! twice; it must be stored and counted once (CONTRACT.md: idempotent per (device,
//! seq); SenML records per (device, metric, time)). A unique index over every reading
//! ever stored would say so, but keeping such an index up to date costs a random page
//! write per reading, which caps ingest far below TARGETS.md. Devices count upwards, so
//! the engine (the only writer of readings) remembers instead, per device, the highest
//! [`SEQ_KEPT`] sequence numbers it stored (as spans of consecutive numbers: a device
//! that counts one by one needs one span), and per SenML metric the last
//! [`TIMES_KEPT`] times. This memory is saved with the rules' checkpoint and rebuilt by
//! replaying the readings stored after it, so it is exact across restarts and crashes.
//!
//! What it keeps is numbers *stored*, not the numbers below the highest: a window
//! below the highest number let one reading with a huge `seq` (forged with a stolen
//! token, or a device's corrupted counter) make every genuine reading after it look
//! ancient, and blinded the device for good. Here such a reading takes one place of
//! [`SEQ_KEPT`]; the device's genuine readings go on being new.
//!
//! A number kept already is a repeat when its time is no newer than the newest reading
//! kept (a retransmission carries its first time); with a newer time the device's
//! counter started again (a reset, a replaced board), and the memory starts again too,
//! keeping the old numbers aside to tell their repeats. A number below everything
//! kept, once [`SEQ_KEPT`] are kept, cannot be told from a repeat: with an older time it
//! is refused with the reason, with a newer one it is a restarted counter again.
//!
//! Times are remembered no later than [`CLOCK_SLACK`] past their arrival, so forged
//! times from the future cannot hold a device's genuine readings back for long: to
//! have them refused an attacker with the device's token must send more than
//! [`SEQ_KEPT`] readings above them (or [`TIMES_KEPT`] SenML records of a metric) and
//! do it again every [`CLOCK_SLACK`]; a number taken ahead by a forged reading is won
//! back by the genuine one's newer time.

use crate::clock::Millis;
use crate::reading::{Identity, Reading};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// Sequence numbers remembered per device: its highest stored.
pub const SEQ_KEPT: u64 = 512;
/// SenML times remembered per device and metric.
pub const TIMES_KEPT: usize = 64;
/// A reading's time is remembered no later than this past its arrival (device clocks
/// run a little ahead; forged ones run far ahead).
pub const CLOCK_SLACK: Millis = 60_000;

/// Some of one device's sequence numbers, as sorted, disjoint, non-adjacent spans.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
struct SeqSet {
    /// `[first, last]`, inclusive.
    spans: Vec<(u64, u64)>,
    /// How many numbers the spans hold.
    len: u64,
    /// The newest time of the readings stored.
    at: Millis,
}

impl SeqSet {
    fn contains(&self, seq: u64) -> bool {
        let after = self.spans.partition_point(|(first, _)| *first <= seq);
        after > 0 && self.spans[after - 1].1 >= seq
    }

    fn lowest(&self) -> Option<u64> {
        self.spans.first().map(|(first, _)| *first)
    }

    fn highest(&self) -> Option<u64> {
        self.spans.last().map(|(_, last)| *last)
    }

    /// Adds `seq`, which it does not hold.
    fn insert(&mut self, seq: u64, at: Millis) {
        self.len += 1;
        self.at = self.at.max(at);
        let after = self.spans.partition_point(|(first, _)| *first <= seq);
        let joins_before = after > 0 && self.spans[after - 1].1.checked_add(1) == Some(seq);
        let joins_after =
            after < self.spans.len() && seq.checked_add(1) == Some(self.spans[after].0);
        match (joins_before, joins_after) {
            (true, true) => {
                self.spans[after - 1].1 = self.spans[after].1;
                self.spans.remove(after);
            }
            (true, false) => self.spans[after - 1].1 = seq,
            (false, true) => self.spans[after].0 = seq,
            (false, false) => self.spans.insert(after, (seq, seq)),
        }
    }

    fn forget_lowest(&mut self) {
        if let Some((first, last)) = self.spans.first_mut() {
            self.len = self.len.saturating_sub(1);
            if first == last {
                self.spans.remove(0);
            } else {
                *first += 1;
            }
        }
    }

    /// Reads the window checkpoints held before: the newest number `top` and bit `i`
    /// of `bits` for `top - i`.
    fn from_window(top: u64, at: Millis, bits: &[u64]) -> SeqSet {
        let mut set = SeqSet::default();
        for behind in (0..bits.len() as u64 * 64).rev() {
            let stored = bits[(behind / 64) as usize] & (1 << (behind % 64)) != 0;
            if let (true, Some(seq)) = (stored, top.checked_sub(behind)) {
                set.insert(seq, at);
            }
        }
        set
    }
}

/// What the engine remembers of one device's readings.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(from = "StoredDeviceSeen")]
pub struct DeviceSeen {
    /// The highest numbers stored since the counter last started again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    seqs: Option<SeqSet>,
    /// Those of before the counter started again, to tell their repeats.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    earlier: Option<SeqSet>,
    /// Per metric code: the times of SenML records stored, oldest first.
    #[serde(default, skip_serializing_if = "HashMap::is_empty")]
    times: HashMap<i64, Vec<Millis>>,
}

/// [`DeviceSeen`] as checkpoints hold it, also those written before [`SeqSet`]: the
/// newest number `top` and a window `seqs` of 512 bits below it.
#[derive(Deserialize)]
struct StoredDeviceSeen {
    #[serde(default)]
    seqs: Option<serde_json::Value>,
    #[serde(default)]
    earlier: Option<SeqSet>,
    #[serde(default)]
    times: HashMap<i64, Vec<Millis>>,
    #[serde(default)]
    top: Option<(u64, Millis)>,
}

impl From<StoredDeviceSeen> for DeviceSeen {
    fn from(stored: StoredDeviceSeen) -> DeviceSeen {
        let seqs = match (stored.seqs, stored.top) {
            (Some(window), Some((top, at))) => serde_json::from_value::<Vec<u64>>(window)
                .ok()
                .map(|bits| SeqSet::from_window(top, at, &bits)),
            (Some(set), None) => serde_json::from_value::<SeqSet>(set).ok().map(|mut set| {
                set.len = set
                    .spans
                    .iter()
                    .map(|(a, b)| b.saturating_sub(*a) + 1)
                    .sum();
                set
            }),
            (None, Some((top, at))) => Some(SeqSet::from_window(top, at, &[1])),
            (None, None) => None,
        };
        DeviceSeen {
            seqs,
            earlier: stored.earlier,
            times: stored.times,
        }
    }
}

/// The verdict on one reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    New,
    Repeat,
    /// Too far behind the newest to tell; the newest sequence number, or time.
    TooOld {
        newest: u64,
    },
}

impl DeviceSeen {
    /// Decides on `reading`, arrived at `now`, and, when it is new, remembers it.
    pub fn admit(&mut self, reading: &Reading, now: Millis) -> Verdict {
        match reading.identity {
            Identity::Seq(seq) => self.admit_seq(seq, reading.at, now),
            Identity::MetricAt => self.admit_time(reading.metric.code(), reading.at, now),
        }
    }

    fn admit_seq(&mut self, seq: u64, at: Millis, now: Millis) -> Verdict {
        let at = at.min(now.saturating_add(CLOCK_SLACK));
        let seqs = self.seqs.get_or_insert_with(SeqSet::default);
        if seqs.contains(seq) {
            if at <= seqs.at {
                return Verdict::Repeat;
            }
            // Newer than anything of this count: the counter started again.
            return self.restart(seq, at);
        }
        // A number of the count before a restart, with a time of back then.
        if let Some(earlier) = &self.earlier {
            if earlier.contains(seq) && at <= earlier.at {
                return Verdict::Repeat;
            }
        }
        let full = seqs.len >= SEQ_KEPT;
        if full && seqs.lowest().is_some_and(|lowest| seq < lowest) {
            if at <= seqs.at {
                return Verdict::TooOld {
                    newest: seqs.highest().unwrap_or_default(),
                };
            }
            return self.restart(seq, at);
        }
        seqs.insert(seq, at);
        if seqs.len > SEQ_KEPT {
            seqs.forget_lowest();
        }
        Verdict::New
    }

    /// The counter started again at `seq`: its numbers so far are kept aside.
    fn restart(&mut self, seq: u64, at: Millis) -> Verdict {
        self.earlier = self.seqs.take();
        let mut fresh = SeqSet::default();
        fresh.insert(seq, at);
        self.seqs = Some(fresh);
        Verdict::New
    }

    fn admit_time(&mut self, metric: i64, at: Millis, now: Millis) -> Verdict {
        let times = self.times.entry(metric).or_default();
        // Kept times from beyond the clock's slack are forged: they do not make an
        // older record untellable.
        let trusted_oldest = times
            .first()
            .is_some_and(|t| *t <= now.saturating_add(CLOCK_SLACK));
        match times.binary_search(&at) {
            Ok(_) => Verdict::Repeat,
            Err(0) if times.len() >= TIMES_KEPT && trusted_oldest => Verdict::TooOld {
                newest: times.last().copied().unwrap_or_default() as u64,
            },
            Err(position) => {
                times.insert(position, at);
                if times.len() > TIMES_KEPT {
                    times.remove(0);
                }
                Verdict::New
            }
        }
    }
}

/// What the engine remembers of every device's readings.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Seen {
    devices: HashMap<String, DeviceSeen>,
}

impl Seen {
    /// Decides on one reading of a device Linli knows, arrived at `now`, and, when it
    /// is new, remembers it (a reading twice in a batch is new once).
    pub fn admit(&mut self, reading: &Reading, now: Millis) -> Verdict {
        match self.devices.get_mut(&reading.device) {
            Some(seen) => seen.admit(reading, now),
            None => self
                .devices
                .entry(reading.device.clone())
                .or_default()
                .admit(reading, now),
        }
    }

    /// Remembers a reading read back from the store (replay after a checkpoint).
    pub fn remember(&mut self, reading: &Reading) {
        // When it arrived is not stored: as late as its time allows.
        self.admit(reading, reading.at);
    }

    /// Forgets devices that no longer exist.
    pub fn retain(&mut self, mut keep: impl FnMut(&str) -> bool) {
        self.devices.retain(|id, _| keep(id));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reading::Metric;

    /// An arrival time after every reading of these tests: times are taken as sent.
    const LATER: Millis = Millis::MAX / 4;

    fn seq(device: &str, seq: u64, at: Millis) -> Reading {
        Reading {
            device: device.into(),
            identity: Identity::Seq(seq),
            at,
            metric: Metric::WaterTotalL,
            value: 1.0,
        }
    }

    fn senml(device: &str, metric: Metric, at: Millis) -> Reading {
        Reading {
            device: device.into(),
            identity: Identity::MetricAt,
            at,
            metric,
            value: 1.0,
        }
    }

    /// The verdicts on readings given one at a time.
    fn verdicts(seen: &mut Seen, readings: &[Reading]) -> Vec<Verdict> {
        readings.iter().map(|r| seen.admit(r, LATER)).collect()
    }

    fn new_or_not(seen: &mut Seen, readings: &[Reading]) -> Vec<bool> {
        verdicts(seen, readings)
            .into_iter()
            .map(|v| match v {
                Verdict::New => true,
                Verdict::Repeat => false,
                Verdict::TooOld { .. } => panic!("too old: {readings:?}"),
            })
            .collect()
    }

    #[test]
    fn a_reading_is_new_once_in_any_order_within_the_window() {
        let mut seen = Seen::default();
        let order = [5u64, 1, 3, 2, 4, 300, 250, 300, 299];
        let first = new_or_not(&mut seen, &order.map(|s| seq("d", s, s as Millis)));
        assert_eq!(
            first,
            [true, true, true, true, true, true, true, false, true]
        );
        for s in order {
            assert_eq!(
                seen.admit(&seq("d", s, 0), LATER),
                Verdict::Repeat,
                "seq {s}"
            );
        }
        // The device counts on to 1,100: 1 to 5 are now more than 512 behind, with
        // older times: they cannot be told.
        for s in 301..=1_100u64 {
            seen.admit(&seq("d", s, s as Millis), LATER);
        }
        for s in [1u64, 2, 3, 4, 5] {
            assert_eq!(
                seen.admit(&seq("d", s, s as Millis), LATER),
                Verdict::TooOld { newest: 1_100 }
            );
        }
    }

    #[test]
    fn the_window_shifts_across_word_boundaries() {
        let mut seen = Seen::default();
        let mut stored = Vec::new();
        // Every third number, then the others, in steps that cross words unevenly.
        for s in (1..1_500u64).step_by(3) {
            assert_eq!(seen.admit(&seq("d", s, 0), LATER), Verdict::New);
            stored.push(s);
        }
        let top = *stored.last().unwrap();
        for s in top.saturating_sub(SEQ_KEPT - 1)..=top {
            let expected = if stored.contains(&s) {
                Verdict::Repeat
            } else {
                Verdict::New
            };
            assert_eq!(seen.admit(&seq("d", s, 0), LATER), expected, "seq {s}");
        }
    }

    #[test]
    fn repeats_within_a_batch_count_once_and_devices_are_apart() {
        let mut seen = Seen::default();
        let batch = [
            seq("a", 1, 0),
            seq("a", 1, 0),
            seq("b", 1, 0),
            seq("a", 2, 0),
        ];
        assert_eq!(new_or_not(&mut seen, &batch), [true, false, true, true]);
        assert_eq!(new_or_not(&mut seen, &batch), [false; 4]);
    }

    #[test]
    fn a_counter_that_starts_again_with_newer_times_is_followed() {
        let mut seen = Seen::default();
        for s in 89_000..=90_000u64 {
            seen.admit(&seq("a", s, 1_000), LATER);
        }
        assert_eq!(
            seen.admit(&seq("a", 5, 1_000), LATER),
            Verdict::TooOld { newest: 90_000 }
        );
        assert_eq!(seen.admit(&seq("a", 1, 2_000), LATER), Verdict::New);
        assert_eq!(seen.admit(&seq("a", 2, 2_001), LATER), Verdict::New);
        assert_eq!(seen.admit(&seq("a", 1, 2_000), LATER), Verdict::Repeat);
        // The old count is still known: its repeats stay repeats …
        assert_eq!(seen.admit(&seq("a", 90_000, 1_000), LATER), Verdict::Repeat);
        // … but the new count passing the old numbers, later, is new.
        assert_eq!(seen.admit(&seq("a", 89_999, 3_000), LATER), Verdict::New);
    }

    /// The attack of issue 14: one reading with the largest `seq` there is and a time
    /// just inside the accepted window made every later genuine reading "too old".
    #[test]
    fn one_forged_reading_with_a_huge_seq_blinds_nothing() {
        let mut seen = Seen::default();
        let now = 1_000_000_000;
        for s in 4_000..=4_711u64 {
            assert_eq!(seen.admit(&seq("gas", s, now - 1_000), LATER), Verdict::New);
        }
        let forged = seq("gas", i64::MAX as u64, now + 4 * 60_000);
        assert_eq!(seen.admit(&forged, LATER), Verdict::New);
        // The detector goes on counting, minutes before the forged time: all new.
        for s in 4_712..6_000u64 {
            assert_eq!(
                seen.admit(&seq("gas", s, now + s as Millis), LATER),
                Verdict::New
            );
        }
        assert_eq!(seen.admit(&seq("gas", 5_999, now), LATER), Verdict::Repeat);
        assert_eq!(seen.admit(&forged, LATER), Verdict::Repeat);
        // The largest numbers do not overflow anything.
        assert_eq!(seen.admit(&seq("gas", u64::MAX, now), LATER), Verdict::New);
        assert_eq!(
            seen.admit(&seq("gas", u64::MAX - 1, now), LATER),
            Verdict::New
        );
        assert_eq!(
            seen.admit(&seq("gas", u64::MAX, now), LATER),
            Verdict::Repeat
        );
        assert_eq!(seen.admit(&seq("gas", 6_000, now), LATER), Verdict::New);
    }

    #[test]
    fn hundreds_of_forged_readings_do_not_push_out_the_devices_own() {
        let mut seen = Seen::default();
        let now = 1_000_000_000;
        for s in 1..=1_000u64 {
            seen.admit(&seq("d", s, now), LATER);
        }
        for k in 0..(SEQ_KEPT - 10) {
            seen.admit(&seq("d", 1_000_000 + k * 7, now + 299_000), LATER);
        }
        for s in 1_001..=2_000u64 {
            assert_eq!(
                seen.admit(&seq("d", s, now + 1), LATER),
                Verdict::New,
                "seq {s}"
            );
        }
        assert!(seen.devices["d"].seqs.as_ref().unwrap().spans.len() <= SEQ_KEPT as usize);
    }

    /// Random forged readings (any seq, any time the parser lets through), a few
    /// hundred in all, between the readings of a device: each genuine reading is new,
    /// or a repeat only where a forged reading took its number first (the forger had
    /// the device's token: one reading claims one number and no more).
    #[test]
    fn forged_readings_cost_at_most_the_numbers_they_take() {
        let mut rng = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = move || {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            rng
        };
        for trial in 0..50 {
            let mut seen = Seen::default();
            let now: Millis = 1_800_000_000_000;
            let genuine_at = |s: u64| now - 3_600_000 + s as Millis * 1_000;
            let mut taken = std::collections::HashSet::new();
            for s in 1..=600u64 {
                seen.admit(&seq("d", s, genuine_at(s)), LATER);
            }
            for s in 601..=3_600u64 {
                if next() % 10 == 0 {
                    let forged_seq = match next() % 4 {
                        0 => next() >> 1,
                        1 => s + next() % 2_000,
                        2 => s.saturating_sub(next() % 5_000),
                        _ => u64::MAX - next() % 3,
                    };
                    let at = now - 3_600_000 + (next() % 3_900_000) as Millis;
                    if seen.admit(&seq("d", forged_seq, at), LATER) == Verdict::New {
                        taken.insert(forged_seq);
                    }
                }
                let verdict = seen.admit(&seq("d", s, genuine_at(s)), LATER);
                assert!(
                    verdict == Verdict::New || (verdict == Verdict::Repeat && taken.contains(&s)),
                    "trial {trial}, seq {s}: {verdict:?}"
                );
            }
        }
    }

    #[test]
    fn spans_stay_few_sorted_and_exact() {
        let mut set = SeqSet::default();
        for s in [5u64, 7, 6, 1, 3, 2, 10, 4, 9, 8] {
            assert!(!set.contains(s));
            set.insert(s, 0);
            assert!(set.contains(s));
        }
        assert_eq!(set.spans, [(1, 10)]);
        assert_eq!(set.len, 10);
        set.forget_lowest();
        assert_eq!((set.spans.clone(), set.lowest()), (vec![(2, 10)], Some(2)));
        assert!(!set.contains(1) && !set.contains(11) && !set.contains(0));
    }

    #[test]
    fn senml_records_are_told_apart_by_metric_and_time() {
        let mut seen = Seen::default();
        let gas = |at| senml("g", Metric::GasLelPct, at);
        let battery = |at| senml("g", Metric::BatteryPct, at);
        assert_eq!(
            new_or_not(&mut seen, &[gas(10), battery(10), gas(10), gas(5)]),
            [true, true, false, true]
        );
        for at in 100..100 + TIMES_KEPT as Millis {
            assert_eq!(seen.admit(&gas(at), LATER), Verdict::New);
        }
        // The oldest kept is now 100: 5 and 10 fell out, 150 is remembered.
        assert_eq!(seen.admit(&gas(150), LATER), Verdict::Repeat);
        assert_eq!(
            seen.admit(&gas(10), LATER),
            Verdict::TooOld {
                newest: 100 + TIMES_KEPT as u64 - 1
            }
        );
        // Between kept times: new.
        assert_eq!(new_or_not(&mut seen, &[gas(1_000), gas(500)]), [true, true]);
    }

    #[test]
    fn what_is_remembered_survives_a_checkpoint() {
        let mut seen = Seen::default();
        let readings = [
            seq("a", 7, 1),
            seq("a", 9_000, 2),
            senml("b", Metric::SmokeAlarm, 9),
        ];
        new_or_not(&mut seen, &readings);
        let json = serde_json::to_string(&seen).unwrap();
        let mut back: Seen = serde_json::from_str(&json).unwrap();
        assert_eq!(back, seen);
        assert_eq!(new_or_not(&mut back, &readings), [false, false, false]);
    }

    /// A device that restarts before it has stored 512 readings: its new count is
    /// followed, not taken for repeats of the old one.
    #[test]
    fn a_young_device_that_restarts_is_not_blinded() {
        let mut seen = Seen::default();
        for s in 1..=100u64 {
            assert_eq!(
                seen.admit(&seq("d", s, s as Millis * 1_000), LATER),
                Verdict::New
            );
        }
        // Retransmits of the old count, with their first times: repeats.
        assert_eq!(seen.admit(&seq("d", 50, 50_000), LATER), Verdict::Repeat);
        // Restarted: the same numbers, newer times.
        for s in 1..=100u64 {
            let at = 200_000 + s as Millis * 1_000;
            assert_eq!(seen.admit(&seq("d", s, at), LATER), Verdict::New, "seq {s}");
        }
        assert_eq!(seen.admit(&seq("d", 50, 250_000), LATER), Verdict::Repeat);
        assert_eq!(seen.admit(&seq("d", 50, 50_000), LATER), Verdict::Repeat);
    }

    /// A number taken ahead by a forged reading (the attacker knows the count) is won
    /// back by the genuine reading's newer time; forged future times are remembered no
    /// later than a minute past their arrival.
    #[test]
    fn a_number_taken_ahead_is_won_back_by_the_genuine_reading() {
        let mut seen = Seen::default();
        let now = 1_000_000_000;
        for s in 1..=10u64 {
            seen.admit(&seq("gas", s, now + s as Millis), now + s as Millis);
        }
        // Forged: 11 and 12, dated 4 minutes ahead, arriving at `now + 20`.
        for s in [11u64, 12] {
            let forged = seq("gas", s, now + 240_000);
            assert_eq!(seen.admit(&forged, now + 20), Verdict::New);
        }
        // The genuine 11 and 12, two minutes later: new (their time is past what was
        // remembered of the forged ones).
        for s in [11u64, 12] {
            let at = now + 120_000 + s as Millis;
            assert_eq!(seen.admit(&seq("gas", s, at), at), Verdict::New, "seq {s}");
        }
    }

    /// 64 forged SenML records from the future do not make a metric's genuine records
    /// "too old".
    #[test]
    fn forged_future_senml_times_refuse_nothing() {
        let mut seen = Seen::default();
        let now = 1_000_000_000;
        for k in 0..TIMES_KEPT as Millis {
            let forged = senml("g", Metric::GasLelPct, now + 240_000 + k);
            assert_eq!(seen.admit(&forged, now), Verdict::New);
        }
        let genuine = senml("g", Metric::GasLelPct, now + 1_000);
        assert_eq!(seen.admit(&genuine, now + 1_000), Verdict::New);
    }

    #[test]
    fn a_checkpoint_from_before_spans_is_read() {
        // Device `a` had stored 7 and 5 (bits 0 and 2 below 7).
        let old = r#"{"a": {"top": [7, 1], "seqs": [5, 0, 0, 0, 0, 0, 0, 0]}}"#;
        let mut seen: Seen = serde_json::from_str(old).unwrap();
        assert_eq!(
            verdicts(&mut seen, &[seq("a", 7, 1), seq("a", 5, 1), seq("a", 6, 1)]),
            [Verdict::Repeat, Verdict::Repeat, Verdict::New]
        );
    }
}
