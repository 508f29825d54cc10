//! Request counters and latency histograms, rendered in the Prometheus text format for
//! `GET /metrics`. Small and dependency-free: a mutex around a few maps, touched once
//! per request.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Upper bounds of the latency histogram buckets, in seconds.
const BUCKETS: [f64; 11] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
];

#[derive(Debug, Default, Clone)]
struct Histogram {
    /// Cumulative counts per bucket of `BUCKETS`.
    buckets: [u64; BUCKETS.len()],
    count: u64,
    sum_secs: f64,
}

#[derive(Debug)]
pub struct Metrics {
    started: Instant,
    /// `(method, route, status)` → count.
    requests: Mutex<BTreeMap<(String, String, u16), u64>>,
    /// `(method, route)` → latency.
    latency: Mutex<BTreeMap<(String, String), Histogram>>,
    /// Named counters with one label, e.g. sign-in outcomes.
    counters: Mutex<BTreeMap<(&'static str, &'static str), u64>>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self {
            started: Instant::now(),
            requests: Mutex::default(),
            latency: Mutex::default(),
            counters: Mutex::default(),
        }
    }
}

impl Metrics {
    /// Records one finished HTTP request. `route` is the matched route pattern (never the
    /// raw path, which would let clients create unbounded label values).
    pub fn record_request(&self, method: &str, route: &str, status: u16, elapsed: Duration) {
        let key = (method.to_string(), route.to_string());
        *lock(&self.requests)
            .entry((key.0.clone(), key.1.clone(), status))
            .or_default() += 1;
        let secs = elapsed.as_secs_f64();
        let mut latency = lock(&self.latency);
        let histogram = latency.entry(key).or_default();
        histogram.count += 1;
        histogram.sum_secs += secs;
        for (bucket, bound) in histogram.buckets.iter_mut().zip(BUCKETS) {
            if secs <= bound {
                *bucket += 1;
            }
        }
    }

    /// Adds one to the counter `name{outcome="…"}`.
    pub fn count(&self, name: &'static str, outcome: &'static str) {
        *lock(&self.counters).entry((name, outcome)).or_default() += 1;
    }

    /// Everything in the Prometheus text exposition format.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "# HELP linli_uptime_seconds Seconds since the server started."
        );
        let _ = writeln!(out, "# TYPE linli_uptime_seconds gauge");
        let _ = writeln!(
            out,
            "linli_uptime_seconds {:.3}",
            self.started.elapsed().as_secs_f64()
        );

        let _ = writeln!(
            out,
            "# HELP linli_http_requests_total HTTP requests by route and status."
        );
        let _ = writeln!(out, "# TYPE linli_http_requests_total counter");
        for ((method, route, status), n) in lock(&self.requests).iter() {
            let _ = writeln!(
                out,
                "linli_http_requests_total{{method=\"{method}\",route=\"{}\",status=\"{status}\"}} {n}",
                escape(route)
            );
        }

        let _ = writeln!(
            out,
            "# HELP linli_http_request_duration_seconds HTTP request latency."
        );
        let _ = writeln!(out, "# TYPE linli_http_request_duration_seconds histogram");
        for ((method, route), h) in lock(&self.latency).iter() {
            let labels = format!("method=\"{method}\",route=\"{}\"", escape(route));
            for (bound, n) in BUCKETS.iter().zip(h.buckets) {
                let _ = writeln!(
                    out,
                    "linli_http_request_duration_seconds_bucket{{{labels},le=\"{bound}\"}} {n}"
                );
            }
            let _ = writeln!(
                out,
                "linli_http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}",
                h.count
            );
            let _ = writeln!(
                out,
                "linli_http_request_duration_seconds_sum{{{labels}}} {}",
                h.sum_secs
            );
            let _ = writeln!(
                out,
                "linli_http_request_duration_seconds_count{{{labels}}} {}",
                h.count
            );
        }

        let counters = lock(&self.counters);
        let mut last_name = "";
        for ((name, outcome), n) in counters.iter() {
            if *name != last_name {
                let _ = writeln!(out, "# TYPE {name} counter");
                last_name = name;
            }
            let _ = writeln!(out, "{name}{{outcome=\"{outcome}\"}} {n}");
        }
        out
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn escape(label: &str) -> String {
    label.replace('\\', "\\\\").replace('"', "\\\"")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_and_cumulative_buckets() {
        let m = Metrics::default();
        m.record_request("GET", "/healthz", 200, Duration::from_millis(3));
        m.record_request("GET", "/healthz", 200, Duration::from_millis(30));
        m.count("linli_sign_ins_total", "refused");
        let text = m.render();
        assert!(text.contains(
            "linli_http_requests_total{method=\"GET\",route=\"/healthz\",status=\"200\"} 2"
        ));
        assert!(text.contains("le=\"0.005\"} 1"), "{text}");
        assert!(text.contains("le=\"0.05\"} 2"), "{text}");
        assert!(text.contains("le=\"+Inf\"} 2"), "{text}");
        assert!(text.contains("linli_sign_ins_total{outcome=\"refused\"} 1"));
    }
}
