//! Lists that follow a fast-changing list a few rows at a time.
//!
//! Under a storm of alerts (100 events a second) every stream batch brings new rows to
//! the alert list, and making a row (its buttons, forms and reactive parts) is the
//! page's most expensive work: `make bench` (LINLI_BENCH=busy) traced one batch's rows
//! as a 24 ms task, long enough to drop frames of the map being dragged beside it.
//! [`paced`] shows the rows the list already has at once, in the new order, and makes
//! at most a few new ones per task, yielding to the browser in between, so that no task
//! is long; the list catches up within a few frames. A row that changed keeps its old
//! version in its new place until its turn comes; a row that left goes at once.
//! [`pace_step`] is the pure rule, tested natively.

use leptos::prelude::*;
use std::cell::Cell;
use std::collections::{HashMap, HashSet};
use std::hash::Hash;
use std::rc::Rc;

/// One step from `shown` towards `target`: every row of `target` already shown (same
/// `key`), and up to `budget` rows that are not; a changed row (same `id`, other key)
/// beyond the budget stays as it was shown. In `target`'s order. Answers the rows and
/// whether they are `target` (nothing left to make).
pub fn pace_step<T: Clone, K: Eq + Hash, I: Eq + Hash>(
    shown: &[T],
    target: &[T],
    key: impl Fn(&T) -> K,
    id: impl Fn(&T) -> I,
    mut budget: usize,
) -> (Vec<T>, bool) {
    let shown_keys: HashSet<K> = shown.iter().map(&key).collect();
    let shown_by_id: HashMap<I, &T> = shown.iter().map(|row| (id(row), row)).collect();
    let mut done = true;
    let mut rows = Vec::with_capacity(target.len());
    for row in target {
        if shown_keys.contains(&key(row)) {
            rows.push(row.clone());
        } else if budget > 0 {
            budget -= 1;
            rows.push(row.clone());
        } else {
            done = false;
            if let Some(old) = shown_by_id.get(&id(row)) {
                rows.push((*old).clone());
            }
        }
    }
    (rows, done)
}

/// `target`'s rows, as a list to render: new rows are made at most `per_task` at a time
/// (see the module comment).
pub fn paced<T, K, I>(
    target: Memo<Vec<T>>,
    key: fn(&T) -> K,
    id: fn(&T) -> I,
    per_task: usize,
) -> ReadSignal<Vec<T>>
where
    T: Clone + Send + Sync + 'static,
    K: Eq + Hash + 'static,
    I: Eq + Hash + 'static,
{
    let (shown, set_shown) = signal(Vec::new());
    // Whether a later step is already waiting (it reads the newest target itself).
    // Plain Rust, not a reactive value: a step may come after the list is gone.
    let waiting = Rc::new(Cell::new(false));
    // `Some(done)`; `None` once the list is gone (another tab chosen meanwhile), whose
    // values can no longer be read.
    let step = move || {
        let (rows, done) = target.try_with_untracked(|target| {
            shown.try_with_untracked(|shown| pace_step(shown, target, key, id, per_task))
        })??;
        set_shown.try_set(rows);
        Some(done)
    };
    fn step_later(step: impl Fn() -> Option<bool> + Copy + 'static, waiting: Rc<Cell<bool>>) {
        waiting.set(true);
        set_timeout(
            move || {
                waiting.set(false);
                if step() == Some(false) {
                    step_later(step, waiting);
                }
            },
            std::time::Duration::ZERO,
        );
    }
    Effect::new(move |_| {
        target.track();
        if !waiting.get() && step() == Some(false) {
            step_later(step, Rc::clone(&waiting));
        }
    });
    shown
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (id, version)
    type Row = (u32, u32);

    fn step(shown: &[Row], target: &[Row], budget: usize) -> (Vec<Row>, bool) {
        pace_step(shown, target, |r| *r, |r| r.0, budget)
    }

    #[test]
    fn new_rows_come_a_few_at_a_time_in_the_targets_order() {
        let target = [(5, 0), (4, 0), (3, 0), (2, 0), (1, 0)];
        let (first, done) = step(&[], &target, 2);
        assert_eq!(first, [(5, 0), (4, 0)]);
        assert!(!done);
        let (second, done) = step(&first, &target, 2);
        assert_eq!(second, [(5, 0), (4, 0), (3, 0), (2, 0)]);
        assert!(!done);
        let (third, done) = step(&second, &target, 2);
        assert_eq!(third, target);
        assert!(done);
    }

    #[test]
    fn rows_shown_follow_the_new_order_at_once_and_rows_gone_leave_at_once() {
        let shown = [(1, 0), (2, 0), (3, 0)];
        let (rows, done) = step(&shown, &[(3, 0), (1, 0)], 0);
        assert_eq!(rows, [(3, 0), (1, 0)]);
        assert!(done, "nothing new to make");
    }

    #[test]
    fn a_changed_row_keeps_its_old_version_until_its_turn() {
        let shown = [(1, 0), (2, 0)];
        let target = [(9, 0), (2, 1), (1, 0)];
        let (rows, done) = step(&shown, &target, 1);
        assert_eq!(
            rows,
            [(9, 0), (2, 0), (1, 0)],
            "the new row first, the changed one as it was"
        );
        assert!(!done);
        let (rows, done) = step(&rows, &target, 1);
        assert_eq!(rows, target);
        assert!(done);
    }
}
