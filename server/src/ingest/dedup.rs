//! Telling a new reading from one that arrives again, in memory.
//!
//! A device retransmits what it is not sure was received, so the same reading can come
//! twice; it must be stored and counted once (CONTRACT.md: idempotent per (device,
//! seq); SenML records per (device, metric, time)). A unique index over every reading
//! ever stored would say so, but keeping such an index up to date costs a random page
//! write per reading, which caps ingest far below TARGETS.md. Devices count upwards, so
//! the engine (the only writer of readings) remembers instead, per device, the newest
//! sequence number and which of the [`SEQ_WINDOW`] before it arrived, and per SenML
//! metric the last [`TIMES_KEPT`] times. This memory is saved with the rules'
//! checkpoint and rebuilt by replaying the readings stored after it, so it is exact
//! across restarts and crashes.
//!
//! What falls behind the window cannot be told from a repeat and is refused with the
//! reason, except for a device whose counter started again (a reset or a replaced
//! board): a small number with a newer time than anything before starts a new count.

use super::parse::{Identity, Reading};
use crate::clock::Millis;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// Sequence numbers remembered below a device's newest.
pub const SEQ_WINDOW: u64 = 512;
/// SenML times remembered per device and metric.
pub const TIMES_KEPT: usize = 64;
const WORDS: usize = (SEQ_WINDOW / 64) as usize;

/// What the engine remembers of one device's readings.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DeviceSeen {
    /// The newest sequence number stored, and the time of the newest such reading.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    top: Option<(u64, Millis)>,
    /// Bit `i` (word `i / 64`): sequence number `top - i` was stored.
    #[serde(default, skip_serializing_if = "is_empty")]
    seqs: [u64; WORDS],
    /// Per metric code: the times of SenML records stored, oldest first.
    #[serde(default, skip_serializing_if = "HashMap::is_empty")]
    times: HashMap<i64, Vec<Millis>>,
}

fn is_empty(bits: &[u64; WORDS]) -> bool {
    bits.iter().all(|w| *w == 0)
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
    fn seq_bit(&self, behind: u64) -> bool {
        self.seqs[(behind / 64) as usize] & (1 << (behind % 64)) != 0
    }

    fn set_seq_bit(&mut self, behind: u64) {
        self.seqs[(behind / 64) as usize] |= 1 << (behind % 64);
    }

    /// Moves the window up by `by` sequence numbers.
    fn shift(&mut self, by: u64) {
        if by >= SEQ_WINDOW {
            self.seqs = [0; WORDS];
            return;
        }
        let (words, bits) = ((by / 64) as usize, by % 64);
        let old = self.seqs;
        for i in 0..WORDS {
            let low = i.checked_sub(words).map_or(0, |j| old[j]);
            let carry = if bits == 0 {
                0
            } else {
                i.checked_sub(words + 1)
                    .map_or(0, |j| old[j] >> (64 - bits))
            };
            self.seqs[i] = (low << bits) | carry;
        }
    }

    /// Decides on `reading` and, when it is new, remembers it.
    pub fn admit(&mut self, reading: &Reading) -> Verdict {
        match reading.identity {
            Identity::Seq(seq) => self.admit_seq(seq, reading.at),
            Identity::MetricAt => self.admit_time(reading.metric.code(), reading.at),
        }
    }

    fn admit_seq(&mut self, seq: u64, at: Millis) -> Verdict {
        let Some((top, top_at)) = self.top else {
            self.top = Some((seq, at));
            self.set_seq_bit(0);
            return Verdict::New;
        };
        if seq > top {
            self.shift(seq - top);
            self.top = Some((seq, at.max(top_at)));
            self.set_seq_bit(0);
            return Verdict::New;
        }
        let behind = top - seq;
        if behind < SEQ_WINDOW {
            if self.seq_bit(behind) {
                return Verdict::Repeat;
            }
            self.set_seq_bit(behind);
            return Verdict::New;
        }
        if at > top_at && seq < SEQ_WINDOW {
            // The counter started again.
            self.seqs = [0; WORDS];
            self.top = Some((seq, at));
            self.set_seq_bit(0);
            return Verdict::New;
        }
        Verdict::TooOld { newest: top }
    }

    fn admit_time(&mut self, metric: i64, at: Millis) -> Verdict {
        let times = self.times.entry(metric).or_default();
        match times.binary_search(&at) {
            Ok(_) => Verdict::Repeat,
            Err(0) if times.len() >= TIMES_KEPT => Verdict::TooOld {
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

/// A reading of a batch that cannot be told from a repeat.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TooOld {
    pub index: usize,
    pub newest: u64,
}

impl Seen {
    /// Decides on a whole batch: per reading, whether it is new (a reading twice in
    /// the batch is new once). Nothing is remembered when one of them is too old.
    pub fn admit_batch(&mut self, readings: &[Reading]) -> Result<Vec<bool>, TooOld> {
        let mut touched: HashMap<&str, DeviceSeen> = HashMap::new();
        let mut new = Vec::with_capacity(readings.len());
        for (index, reading) in readings.iter().enumerate() {
            let seen = touched.entry(&reading.device).or_insert_with(|| {
                self.devices
                    .get(&reading.device)
                    .cloned()
                    .unwrap_or_default()
            });
            match seen.admit(reading) {
                Verdict::New => new.push(true),
                Verdict::Repeat => new.push(false),
                Verdict::TooOld { newest } => return Err(TooOld { index, newest }),
            }
        }
        for (device, seen) in touched {
            self.devices.insert(device.to_string(), seen);
        }
        Ok(new)
    }

    /// Remembers a reading read back from the store (replay after a checkpoint).
    pub fn remember(&mut self, reading: &Reading) {
        let seen = self.devices.entry(reading.device.clone()).or_default();
        seen.admit(reading);
    }

    /// Forgets devices that no longer exist.
    pub fn retain(&mut self, mut keep: impl FnMut(&str) -> bool) {
        self.devices.retain(|id, _| keep(id));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::parse::Metric;

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

    #[test]
    fn a_reading_is_new_once_in_any_order_within_the_window() {
        let mut seen = Seen::default();
        let order = [5u64, 1, 3, 2, 4, 700, 600, 250, 600, 699];
        let first: Vec<bool> = order
            .iter()
            .map(|s| seen.admit_batch(&[seq("d", *s, *s as Millis)]).unwrap()[0])
            .collect();
        // 1..=5 arrive before the window moves on; 250 is within 512 of 700; 600
        // again is a repeat; 699 is new.
        assert_eq!(
            first,
            [true, true, true, true, true, true, true, true, false, true]
        );
        for s in [1u64, 2, 3, 4, 5] {
            // Now more than 512 behind 700: cannot be told, and the reset rule does
            // not apply (older times).
            assert_eq!(
                seen.admit_batch(&[seq("d", s, s as Millis)]),
                Err(TooOld {
                    index: 0,
                    newest: 700
                })
            );
        }
        for s in [700u64, 600, 250, 699] {
            assert_eq!(seen.admit_batch(&[seq("d", s, 0)]).unwrap(), [false]);
        }
    }

    #[test]
    fn the_window_shifts_across_word_boundaries() {
        let mut seen = Seen::default();
        let mut stored = Vec::new();
        // Every third number, then the others, in steps that cross words unevenly.
        for s in (1..1_500u64).step_by(3) {
            assert_eq!(seen.admit_batch(&[seq("d", s, 0)]).unwrap(), [true]);
            stored.push(s);
        }
        let top = *stored.last().unwrap();
        for s in top.saturating_sub(SEQ_WINDOW - 1)..=top {
            let expected = !stored.contains(&s);
            assert_eq!(
                seen.admit_batch(&[seq("d", s, 0)]).unwrap(),
                [expected],
                "seq {s}"
            );
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
        assert_eq!(seen.admit_batch(&batch).unwrap(), [true, false, true, true]);
        assert_eq!(seen.admit_batch(&batch).unwrap(), [false; 4]);
    }

    #[test]
    fn a_batch_with_a_reading_too_old_is_not_remembered_at_all() {
        let mut seen = Seen::default();
        seen.admit_batch(&[seq("a", 1_000, 10)]).unwrap();
        let batch = [seq("b", 1, 0), seq("a", 1_001, 11), seq("a", 10, 5)];
        assert_eq!(
            seen.admit_batch(&batch),
            Err(TooOld {
                index: 2,
                newest: 1_001
            })
        );
        // Nothing of it was remembered: all of it is new when sent right.
        assert_eq!(
            seen.admit_batch(&batch[..2]).unwrap(),
            [true, true],
            "the refused batch left nothing behind"
        );
    }

    #[test]
    fn a_counter_that_starts_again_with_newer_times_is_followed() {
        let mut seen = Seen::default();
        seen.admit_batch(&[seq("a", 90_000, 1_000)]).unwrap();
        assert_eq!(seen.admit_batch(&[seq("a", 1, 2_000)]).unwrap(), [true]);
        assert_eq!(seen.admit_batch(&[seq("a", 2, 2_001)]).unwrap(), [true]);
        assert_eq!(seen.admit_batch(&[seq("a", 1, 2_000)]).unwrap(), [false]);
    }

    #[test]
    fn senml_records_are_told_apart_by_metric_and_time() {
        let mut seen = Seen::default();
        let gas = |at| senml("g", Metric::GasLelPct, at);
        let battery = |at| senml("g", Metric::BatteryPct, at);
        assert_eq!(
            seen.admit_batch(&[gas(10), battery(10), gas(10), gas(5)])
                .unwrap(),
            [true, true, false, true]
        );
        for at in 100..100 + TIMES_KEPT as Millis {
            assert_eq!(seen.admit_batch(&[gas(at)]).unwrap(), [true]);
        }
        // The oldest kept is now 100: 5 and 10 fell out, 150 is remembered.
        assert_eq!(seen.admit_batch(&[gas(150)]).unwrap(), [false]);
        assert_eq!(
            seen.admit_batch(&[gas(10)]),
            Err(TooOld {
                index: 0,
                newest: 100 + TIMES_KEPT as u64 - 1
            })
        );
        // Between kept times: new.
        assert_eq!(
            seen.admit_batch(&[gas(1_000), gas(500)]).unwrap(),
            [true, true]
        );
    }

    #[test]
    fn what_is_remembered_survives_a_checkpoint() {
        let mut seen = Seen::default();
        seen.admit_batch(&[seq("a", 7, 1), senml("b", Metric::SmokeAlarm, 9)])
            .unwrap();
        let json = serde_json::to_string(&seen).unwrap();
        let mut back: Seen = serde_json::from_str(&json).unwrap();
        assert_eq!(back, seen);
        assert_eq!(
            back.admit_batch(&[seq("a", 7, 1), senml("b", Metric::SmokeAlarm, 9)])
                .unwrap(),
            [false, false]
        );
    }
}
