//! [`Metrics`]: request, byte and connection counters in the Prometheus text
//! exposition format (version 0.0.4).
//!
//! Each worker owns a [`WorkerCounters`]: atomics only it writes (a relaxed
//! load and store, no read-modify-write, no lock), which a scrape reads and
//! sums. A scrape may run while workers count, so a sum can be one request
//! behind another; within the histogram, `_count` and the `+Inf` bucket are the
//! same sum, so they always agree.

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use crate::handler::{Handler, Reply};
use crate::request::Request;
use crate::response::Response;

/// Upper bounds of the request-duration histogram's buckets, in seconds.
const BUCKETS: [f64; 14] =
    [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 2.5, 10.0];
/// Status classes counted: 2xx–5xx (porter sends no other final status).
const CLASSES: [&str; 4] = ["2xx", "3xx", "4xx", "5xx"];

/// A counter one thread writes and any thread reads.
#[derive(Debug, Default)]
struct Counter(AtomicU64);

impl Counter {
    /// Adds `n`. Only the owning worker writes, so a plain load and store suffices.
    fn add(&self, n: u64) {
        self.0.store(self.0.load(Ordering::Relaxed).wrapping_add(n), Ordering::Relaxed);
    }

    fn sub(&self, n: u64) {
        self.0.store(self.0.load(Ordering::Relaxed).wrapping_sub(n), Ordering::Relaxed);
    }

    fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// One worker's counters (written by that worker only).
#[derive(Debug, Default)]
pub(crate) struct WorkerCounters {
    requests: [Counter; CLASSES.len()],
    response_bytes: Counter,
    request_bytes: Counter,
    open: Counter,
    accepted: Counter,
    /// Observations per bucket (not cumulative); the last one is above every bound.
    buckets: [Counter; BUCKETS.len() + 1],
    duration_nanos: Counter,
}

impl WorkerCounters {
    /// A request is done: its reply went out in full, was cut short, or
    /// never began (then `status` is 499 or 444 and `body_bytes` 0).
    pub(crate) fn on_reply(&self, status: u16, body_bytes: u64, duration: Duration) {
        let class = usize::from(status / 100).saturating_sub(2).min(CLASSES.len() - 1);
        self.requests[class].add(1);
        self.response_bytes.add(body_bytes);
        let seconds = duration.as_secs_f64();
        let bucket = BUCKETS.iter().position(|&le| seconds <= le).unwrap_or(BUCKETS.len());
        self.buckets[bucket].add(1);
        self.duration_nanos.add(u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX));
    }

    /// Request bytes (heads, and bodies as decoded) came in.
    pub(crate) fn on_request_bytes(&self, n: u64) {
        self.request_bytes.add(n);
    }

    /// A connection was accepted.
    pub(crate) fn on_open(&self) {
        self.accepted.add(1);
        self.open.add(1);
    }

    /// A connection was closed.
    pub(crate) fn on_close(&self) {
        self.open.sub(1);
    }
}

/// Counters for one or more servers, rendered in the Prometheus text format.
///
/// Give it to [`ServerBuilder::metrics`](crate::ServerBuilder::metrics) and
/// mount it (it is a [`Handler`]) on the route you like:
///
/// ```no_run
/// use porter::{Metrics, Response, Router, Server};
/// # fn main() -> std::io::Result<()> {
/// let metrics = Metrics::new();
/// let app = Router::new().get("/", |_req| Response::text("hi")).get("/metrics", metrics.clone());
/// Server::bind("127.0.0.1:8080").metrics(&metrics).run(app)
/// # }
/// ```
///
/// Series: `porter_requests_total{class="2xx"}` (and 3xx, 4xx, 5xx),
/// `porter_response_body_bytes_total` (as on the wire: a chunked body with
/// its framing, like nginx's `$body_bytes_sent`), `porter_request_bytes_total` (heads,
/// and bodies after chunked decoding), `porter_connections_open`,
/// `porter_connections_accepted_total`, the histogram
/// `porter_request_duration_seconds` (from the loop wake-up that read the
/// request's head to its reply's last byte handed to the socket), and
/// `porter_access_log_dropped_lines_total`. A request counts once its reply
/// has gone out in full, or when its connection ends before (a reply cut
/// short counts under the status sent and with the body bytes that went out;
/// a request without a byte of reply as `499` or `444`, see
/// [`AccessLog`](crate::AccessLog)); a refusal before any head was parsed (a `400` for garbage, a
/// `408`) counts with zero duration. Workers count without locks; a scrape
/// sums them.
#[derive(Clone, Debug, Default)]
pub struct Metrics {
    registry: Arc<Registry>,
}

#[derive(Debug, Default)]
struct Registry {
    workers: Mutex<Vec<Arc<WorkerCounters>>>,
    log_drops: Mutex<LogDrops>,
}

/// The dropped-line counts of every access log the metrics were tied to.
#[derive(Debug, Default)]
struct LogDrops {
    /// Lines dropped by access logs that have ended (replaced, then closed).
    ended: u64,
    /// The counters of the logs still in use (each shared with its log).
    open: Vec<Arc<AtomicU64>>,
}

impl LogDrops {
    /// Folds the count of every log that has ended (nothing else holds its
    /// counter: the count is final) into `ended`, so that a server whose log
    /// is replaced again and again keeps no counter per replacement.
    fn fold_ended(&mut self) {
        let ended = &mut self.ended;
        self.open.retain(|dropped| {
            let gone = Arc::strong_count(dropped) == 1;
            if gone {
                *ended += dropped.load(Ordering::Relaxed);
            }
            !gone
        });
    }

    fn total(&mut self) -> u64 {
        self.fold_ended();
        self.ended + self.open.iter().map(|d| d.load(Ordering::Relaxed)).sum::<u64>()
    }
}

/// The sums of every worker's counters at one scrape.
#[derive(Default)]
struct Totals {
    requests: [u64; CLASSES.len()],
    response_bytes: u64,
    request_bytes: u64,
    open: u64,
    accepted: u64,
    buckets: [u64; BUCKETS.len() + 1],
    duration_nanos: u64,
    dropped_lines: u64,
}

impl Metrics {
    /// Empty counters.
    pub fn new() -> Self {
        Metrics::default()
    }

    /// Counters for a new worker loop (registered once, when the loop starts).
    pub(crate) fn new_worker(&self) -> Arc<WorkerCounters> {
        let counters = Arc::new(WorkerCounters::default());
        lock(&self.registry.workers).push(counters.clone());
        counters
    }

    /// Shows an access log's dropped-line count.
    pub(crate) fn watch_log_drops(&self, dropped: Arc<AtomicU64>) {
        let mut drops = lock(&self.registry.log_drops);
        drops.fold_ended();
        drops.open.push(dropped);
    }

    fn totals(&self) -> Totals {
        let mut t = Totals::default();
        for w in lock(&self.registry.workers).iter() {
            for (sum, c) in t.requests.iter_mut().zip(&w.requests) {
                *sum += c.get();
            }
            for (sum, c) in t.buckets.iter_mut().zip(&w.buckets) {
                *sum += c.get();
            }
            t.response_bytes += w.response_bytes.get();
            t.request_bytes += w.request_bytes.get();
            t.open += w.open.get();
            t.accepted += w.accepted.get();
            t.duration_nanos += w.duration_nanos.get();
        }
        t.dropped_lines = lock(&self.registry.log_drops).total();
        t
    }

    /// The current values in the Prometheus text exposition format 0.0.4.
    pub fn render(&self) -> String {
        let t = self.totals();
        let mut out = String::with_capacity(2048);
        header(&mut out, "porter_requests_total", "counter", "Requests answered, by status class.");
        for (class, n) in CLASSES.iter().zip(t.requests) {
            let _ = writeln!(out, "porter_requests_total{{class=\"{class}\"}} {n}");
        }
        let simple = [
            ("porter_response_body_bytes_total", "counter", "Response body bytes sent.", t.response_bytes),
            ("porter_request_bytes_total", "counter", "Request head and body bytes received.", t.request_bytes),
            ("porter_connections_open", "gauge", "Client connections open now.", t.open),
            ("porter_connections_accepted_total", "counter", "Client connections accepted.", t.accepted),
        ];
        for (name, kind, help, value) in simple {
            header(&mut out, name, kind, help);
            let _ = writeln!(out, "{name} {value}");
        }
        render_histogram(&mut out, &t);
        let name = "porter_access_log_dropped_lines_total";
        header(&mut out, name, "counter", "Access-log lines dropped because the writer fell behind or failed.");
        let _ = writeln!(out, "{name} {}", t.dropped_lines);
        out
    }
}

fn render_histogram(out: &mut String, t: &Totals) {
    let name = "porter_request_duration_seconds";
    header(out, name, "histogram", "Time from a request's head to its reply's last byte.");
    let mut cumulative = 0;
    for (le, n) in BUCKETS.iter().zip(t.buckets) {
        cumulative += n;
        let _ = writeln!(out, "{name}_bucket{{le=\"{le}\"}} {cumulative}");
    }
    cumulative += t.buckets[BUCKETS.len()];
    let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {cumulative}");
    let _ = writeln!(out, "{name}_sum {}", t.duration_nanos as f64 / 1e9);
    let _ = writeln!(out, "{name}_count {cumulative}");
}

fn header(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Answers any request with the rendered metrics.
impl Handler for Metrics {
    fn handle(&self, _request: Request) -> Reply {
        Response::new(200).header("Content-Type", "text/plain; version=0.0.4; charset=utf-8").body(self.render()).into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A replaced log's count stays in the total once the log has ended, and
    /// its counter is let go: one entry per log in use, not per replacement.
    #[test]
    fn ended_logs_fold_their_dropped_lines_into_the_total() {
        let m = Metrics::new();
        let mut in_use = Arc::new(AtomicU64::new(0));
        for n in 1..=5 {
            in_use.fetch_add(n, Ordering::Relaxed);
            m.watch_log_drops(in_use.clone());
            // Replaced: the old log ends (its counter dropped), a new one begins.
            in_use = Arc::new(AtomicU64::new(0));
        }
        m.watch_log_drops(in_use.clone());
        in_use.fetch_add(100, Ordering::Relaxed);
        assert!(m.render().contains("porter_access_log_dropped_lines_total 115"), "{}", m.render());
        assert_eq!(lock(&m.registry.log_drops).open.len(), 1, "only the log in use is watched");
    }

    #[test]
    fn buckets_are_cumulative_and_count_matches_inf() {
        let m = Metrics::new();
        let w = m.new_worker();
        w.on_reply(200, 10, Duration::from_micros(50));
        w.on_reply(404, 5, Duration::from_millis(3));
        w.on_reply(503, 0, Duration::from_secs(20));
        let text = m.render();
        for want in [
            "porter_requests_total{class=\"2xx\"} 1",
            "porter_requests_total{class=\"4xx\"} 1",
            "porter_requests_total{class=\"5xx\"} 1",
            "porter_response_body_bytes_total 15",
            "porter_request_duration_seconds_bucket{le=\"0.0001\"} 1",
            "porter_request_duration_seconds_bucket{le=\"0.005\"} 2",
            "porter_request_duration_seconds_bucket{le=\"10\"} 2",
            "porter_request_duration_seconds_bucket{le=\"+Inf\"} 3",
            "porter_request_duration_seconds_count 3",
        ] {
            assert!(text.lines().any(|l| l == want), "missing {want:?} in\n{text}");
        }
    }

    #[test]
    fn gauge_goes_up_and_down() {
        let m = Metrics::new();
        let (a, b) = (m.new_worker(), m.new_worker());
        a.on_open();
        b.on_open();
        b.on_open();
        b.on_close();
        let text = m.render();
        assert!(text.contains("\nporter_connections_open 2\n"), "{text}");
        assert!(text.contains("\nporter_connections_accepted_total 3\n"), "{text}");
    }
}
