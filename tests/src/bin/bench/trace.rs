//! Reads a Chromium performance trace (the events of
//! [`Browser::trace_events`](linli_tests::Browser::trace_events)) the way DevTools'
//! Performance panel does: the page's main thread (`CrRendererMain`), its tasks
//! (`RunTask`), and for the long ones what ran inside them, so that `make bench` names
//! the work that takes a frame's time instead of only counting late frames.

use serde_json::Value;

/// A task longer than this takes a whole frame at 60 Hz.
pub const LONG_TASK_MS: f64 = 16.0;

/// The main thread's tasks in a trace.
#[derive(Debug, Default, Clone)]
pub struct MainThread {
    pub tasks: usize,
    pub longest_ms: f64,
    /// Tasks longer than [`LONG_TASK_MS`].
    pub long: usize,
    /// What ran directly inside the long tasks.
    pub causes: Causes,
    /// The app's own measures (`performance.measure`, see `app/src/timing.rs`) in the
    /// window, whatever the length of their task.
    pub measures: Causes,
    /// What ran directly inside the longest task, and the app's measures in it.
    pub in_longest: Causes,
}

/// Time by what it was spent on: (what, total ms, times), most time first once
/// [`Causes::sorted`].
#[derive(Debug, Default, Clone)]
pub struct Causes(pub Vec<(String, f64, usize)>);

impl Causes {
    pub fn add(&mut self, what: &str, ms: f64, times: usize) {
        match self.0.iter_mut().find(|c| c.0 == what) {
            Some(c) => {
                c.1 += ms;
                c.2 += times;
            }
            None => self.0.push((what.to_string(), ms, times)),
        }
    }

    /// Several runs' causes added together, sorted.
    pub fn merged<'a>(all: impl IntoIterator<Item = &'a Causes>) -> Self {
        let mut merged = Causes::default();
        for (what, ms, times) in all.into_iter().flat_map(|c| &c.0) {
            merged.add(what, *ms, *times);
        }
        merged.sorted()
    }

    pub fn sorted(mut self) -> Self {
        self.0.sort_by(|a, b| b.1.total_cmp(&a.1));
        self
    }
}

/// One complete (`ph: X`) event on a thread, times in µs.
#[derive(Debug, Clone)]
struct Span {
    start: f64,
    end: f64,
    label: String,
}

impl Span {
    fn contains(&self, other: &Span) -> bool {
        self.start <= other.start && other.end <= self.end
    }
    fn ms(&self) -> f64 {
        (self.end - self.start) / 1000.0
    }
}

/// What an event was, with the detail that tells like events apart: which DOM event
/// was dispatched, which script function was called, which timer fired.
fn label(event: &Value) -> String {
    let name = event["name"].as_str().unwrap_or("?");
    let data = &event["args"]["data"];
    let detail = match name {
        "EventDispatch" => data["type"].as_str().map(str::to_string),
        "FunctionCall" => data["functionName"]
            .as_str()
            .filter(|f| !f.is_empty())
            .map(str::to_string),
        _ => None,
    };
    match detail {
        Some(detail) => format!("{name}({detail})"),
        None => name.to_string(),
    }
}

/// The page's main thread in `events` (the renderer whose main frame navigated to an
/// http address; without one, the renderer main thread with the most tasks), its tasks
/// and what the long ones spent time on: with `between`, only the tasks that end after
/// the first user timing mark (`performance.mark`) and start before the second;
/// without, those from the page's navigation on.
pub fn main_thread(events: &[Value], between: Option<(&str, &str)>) -> MainThread {
    let mark = |name: &str| {
        events
            .iter()
            .find(|e| e["name"] == name)
            .and_then(|e| e["ts"].as_f64())
    };
    // The page under test: its main frame navigated to an http address (the
    // browser's own new-tab page, loaded first, runs in a renderer of its own).
    let page = events.iter().find(|e| {
        e["name"] == "navigationStart"
            && e["args"]["data"]["documentLoaderURL"]
                .as_str()
                .is_some_and(|url| url.starts_with("http"))
    });
    let (from, to) = match between {
        Some((first, last)) => match (mark(first), mark(last)) {
            (Some(from), Some(to)) => (from, to),
            _ => return MainThread::default(),
        },
        None => (
            page.and_then(|e| e["ts"].as_f64()).unwrap_or(f64::MIN),
            f64::MAX,
        ),
    };
    let task_count = |pid: &Value, tid: &Value| {
        events
            .iter()
            .filter(|e| e["name"] == "RunTask" && &e["pid"] == pid && &e["tid"] == tid)
            .count()
    };
    let busiest = || {
        events
            .iter()
            .filter(|e| {
                e["ph"] == "M"
                    && e["name"] == "thread_name"
                    && e["args"]["name"] == "CrRendererMain"
            })
            .map(|e| (e["pid"].clone(), e["tid"].clone()))
            .max_by_key(|(pid, tid)| task_count(pid, tid))
    };
    let main = page
        .map(|e| (e["pid"].clone(), e["tid"].clone()))
        .or_else(busiest);
    let Some((pid, tid)) = main else {
        return MainThread::default();
    };
    let mut spans: Vec<(bool, Span)> = events
        .iter()
        .filter(|e| e["ph"] == "X" && e["pid"] == pid && e["tid"] == tid)
        .filter_map(|e| {
            let start = e["ts"].as_f64()?;
            let span = Span {
                start,
                end: start + e["dur"].as_f64()?,
                label: label(e),
            };
            Some((e["name"] == "RunTask", span))
        })
        .collect();
    spans.sort_by(|a, b| a.1.start.total_cmp(&b.1.start));
    let tasks: Vec<&Span> = spans
        .iter()
        .filter(|s| s.0 && s.1.end >= from && s.1.start <= to)
        .map(|s| &s.1)
        .collect();
    let inner: Vec<&Span> = spans.iter().filter(|s| !s.0).map(|s| &s.1).collect();
    let mut out = MainThread {
        tasks: tasks.len(),
        longest_ms: tasks.iter().map(|t| t.ms()).fold(0.0, f64::max),
        ..MainThread::default()
    };
    // The outermost events of a task: not inside another one of its events.
    let outermost = |task: &Span, causes: &mut Causes| {
        let within: Vec<&Span> = inner.iter().copied().filter(|s| task.contains(s)).collect();
        let outer = within.iter().filter(|s| {
            !within
                .iter()
                .any(|o| !std::ptr::eq(*o, **s) && o.contains(s) && o.ms() > s.ms())
        });
        for span in outer {
            causes.add(&span.label, span.ms(), 1);
        }
    };
    let mut causes = Causes::default();
    for task in tasks.iter().filter(|t| t.ms() > LONG_TASK_MS) {
        out.long += 1;
        outermost(task, &mut causes);
    }
    out.causes = causes.sorted();
    out.measures = measures(events, from, to);
    if let Some(longest) = tasks.iter().max_by(|a, b| a.ms().total_cmp(&b.ms())) {
        outermost(longest, &mut out.in_longest);
        let own = measures(events, longest.start, longest.end);
        out.in_longest.0.extend(own.0);
        out.in_longest = std::mem::take(&mut out.in_longest).sorted();
    }
    out
}

/// The user timing measures that start within `from`..`to` (µs), by name. Chromium
/// writes each as a begin (`ph: b`) and an end (`ph: e`) event with the same id.
fn measures(events: &[Value], from: f64, to: f64) -> Causes {
    let mut open: Vec<(&Value, &str, f64)> = Vec::new();
    let mut found = Causes::default();
    let user_timing = events
        .iter()
        .filter(|e| e["cat"] == "blink.user_timing" && (e["ph"] == "b" || e["ph"] == "e"));
    for event in user_timing {
        let (Some(name), Some(ts)) = (event["name"].as_str(), event["ts"].as_f64()) else {
            continue;
        };
        let id = &event["id2"]["local"];
        let id = if id.is_null() { &event["id"] } else { id };
        if event["ph"] == "b" {
            open.push((id, name, ts));
        } else if let Some(at) = open.iter().position(|o| o.0 == id && o.1 == name) {
            let (_, _, start) = open.swap_remove(at);
            if (from..=to).contains(&start) {
                found.add(name, (ts - start) / 1000.0, 1);
            }
        }
    }
    found.sorted()
}

/// What ran in the long tasks of `runs` together, most time first, under `title`.
pub fn print_causes(title: &str, runs: &[&MainThread]) {
    let all = Causes::merged(runs.iter().map(|r| &r.causes)).0;
    if runs.iter().all(|r| r.tasks == 0) {
        println!("  trace, {title}: no tasks (chromedriver's log may have been full)");
        return;
    }
    if all.is_empty() {
        println!("  trace, {title}: no main-thread task over {LONG_TASK_MS} ms");
        return;
    }
    println!("  trace, {title}: what ran in the tasks over {LONG_TASK_MS} ms (most time first):");
    for (what, ms, times) in all.iter().take(8) {
        println!("    {what:<40} {ms:>8.1} ms in {times} events");
    }
}

/// Each run's longest task: how long, and what ran in it (the app's measures
/// included), under `title`.
pub fn print_longest(title: &str, runs: &[&MainThread]) {
    println!("  trace: {title}:");
    for run in runs {
        let parts: Vec<String> = run
            .in_longest
            .0
            .iter()
            .take(5)
            .map(|(what, ms, times)| format!("{what} {ms:.1} ms ×{times}"))
            .collect();
        println!("    {:>6.1} ms: {}", run.longest_ms, parts.join(", "));
    }
}

/// The app's own measures of `runs` together (see `app/src/timing.rs`), under `title`.
pub fn print_measures(title: &str, runs: &[&MainThread]) {
    println!("  trace: {title}:");
    let merged = Causes::merged(runs.iter().map(|r| &r.measures)).0;
    // The app's own: the browser's own pages (its new-tab page) measure too.
    for (what, ms, times) in merged.into_iter().filter(|m| m.0.starts_with("linli")) {
        println!(
            "    {what:<40} {ms:>8.1} ms in {times} times, {:.2} ms each",
            ms / times as f64
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_long_tasks_of_the_main_thread_are_found_with_what_ran_in_them() {
        let x = |tid: i64, name: &str, ts: f64, dur: f64, data: Value| {
            json!({"ph": "X", "pid": 1, "tid": tid, "name": name, "ts": ts, "dur": dur,
                   "args": {"data": data}})
        };
        let events = vec![
            json!({"ph": "M", "pid": 1, "tid": 7, "name": "thread_name", "args": {"name": "CrRendererMain"}}),
            json!({"ph": "M", "pid": 1, "tid": 8, "name": "thread_name", "args": {"name": "Compositor"}}),
            // A short task, and a long one on another thread: neither counts.
            x(7, "RunTask", 0.0, 2_000.0, json!({})),
            x(8, "RunTask", 0.0, 90_000.0, json!({})),
            // A 30 ms task: a pointermove handler (with a call inside it) and a GC.
            x(7, "RunTask", 10_000.0, 30_000.0, json!({})),
            x(
                7,
                "EventDispatch",
                10_100.0,
                20_000.0,
                json!({"type": "pointermove"}),
            ),
            x(
                7,
                "FunctionCall",
                10_200.0,
                19_000.0,
                json!({"functionName": "f"}),
            ),
            x(7, "MinorGC", 31_000.0, 5_000.0, json!({})),
            // A 20 ms animation frame.
            x(7, "RunTask", 50_000.0, 20_000.0, json!({})),
            x(7, "FireAnimationFrame", 50_000.0, 19_500.0, json!({})),
        ];
        let main = main_thread(&events, None);
        assert_eq!(main.tasks, 3);
        assert_eq!(main.long, 2);
        assert!((main.longest_ms - 30.0).abs() < 1e-9);
        let names: Vec<&str> = main.causes.0.iter().map(|c| c.0.as_str()).collect();
        assert_eq!(
            names,
            [
                "EventDispatch(pointermove)",
                "FireAnimationFrame",
                "MinorGC"
            ]
        );
        assert!((main.causes.0[0].1 - 20.0).abs() < 1e-9);
        // The longest task (30 ms) by itself: the GC is in it, the frame is not.
        let in_longest: Vec<&str> = main.in_longest.0.iter().map(|c| c.0.as_str()).collect();
        assert_eq!(in_longest, ["EventDispatch(pointermove)", "MinorGC"]);
        // Between two marks: the animation frame's task only.
        let mut marked = events.clone();
        marked.push(json!({"ph": "R", "pid": 1, "tid": 7, "name": "from", "ts": 45_000.0}));
        marked.push(json!({"ph": "R", "pid": 1, "tid": 7, "name": "to", "ts": 80_000.0}));
        let main = main_thread(&marked, Some(("from", "to")));
        assert_eq!((main.tasks, main.long), (1, 1));
        assert!((main.longest_ms - 20.0).abs() < 1e-9);
        // Measures: begin and end paired by id and name, counted when they start
        // within the window.
        let measure = |ph: &str, id: &str, ts: f64| {
            json!({"cat": "blink.user_timing", "ph": ph, "name": "draw", "id2": {"local": id},
                   "pid": 1, "tid": 7, "ts": ts})
        };
        marked.extend([
            measure("b", "0x1", 46_000.0),
            measure("b", "0x2", 50_000.0),
            measure("e", "0x1", 49_000.0),
            measure("e", "0x2", 54_000.0),
            measure("b", "0x3", 90_000.0),
            measure("e", "0x3", 95_000.0),
        ]);
        let main = main_thread(&marked, Some(("from", "to")));
        assert_eq!(main.measures.0, [("draw".to_string(), 7.0, 2)]);
        // The longest task of the window (the frame, 50–70 ms) holds the second draw.
        assert!(main.in_longest.0.contains(&("draw".to_string(), 4.0, 1)));
        // Marks missing from the trace: nothing to say rather than the whole trace.
        assert_eq!(main_thread(&events, Some(("from", "to"))).tasks, 0);
    }

    #[test]
    fn a_trace_without_the_page_thread_says_nothing() {
        let main = main_thread(
            &[json!({"ph": "X", "name": "RunTask", "ts": 0, "dur": 99_000})],
            None,
        );
        assert_eq!(main.tasks, 0);
        assert!(main.causes.0.is_empty());
    }
}
