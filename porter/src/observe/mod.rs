//! Observability: the access log ([`AccessLog`]) and Prometheus metrics
//! ([`Metrics`]).
//!
//! Each worker loop owns an [`Observer`] when either is configured (none
//! otherwise: then a connection's only cost is testing `Option::is_none`). The
//! observer counts into the worker's own [`metrics::WorkerCounters`] and
//! formats log lines into the worker's own buffer, which goes to the server's
//! writer thread when full and at the end of every loop iteration. Nothing on
//! this path takes a lock or waits for another thread: the hand-off is a
//! `try_send` (which may wake the writer thread, a futex call, once per
//! iteration that logged something).
//!
//! A reply is recorded once its last byte has been handed to the socket
//! ([`Finished`] records wait in the connection's output until then).

pub(crate) mod access_log;
pub(crate) mod format;
pub(crate) mod metrics;
pub(crate) mod user;
mod writer;

use std::cell::RefCell;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use bytes::Bytes;

pub use access_log::AccessLog;
pub use format::LogFormat;
pub use metrics::Metrics;

use crate::proto::parse::{Span, Version};
use access_log::LogShared;
use format::{Clock, Entry, RequestFields};
use metrics::WorkerCounters;

/// What a server observes, shared by its loops.
#[derive(Clone, Debug, Default)]
pub(crate) struct ObserveConfig {
    pub(crate) log: Option<Arc<LogShared>>,
    pub(crate) metrics: Option<Metrics>,
}

/// The request fields an access-log line needs, as spans into the head's bytes
/// (shared, not copied).
#[derive(Clone, Debug)]
pub(crate) struct LogInfo {
    pub(crate) head: Bytes,
    pub(crate) method: Span,
    pub(crate) target: Span,
    pub(crate) version: Version,
    pub(crate) referer: Option<Span>,
    pub(crate) user_agent: Option<Span>,
    pub(crate) host: Option<Span>,
    /// The user an [`Authenticator`](crate::Authenticator) accepted for this request.
    pub(crate) user: Option<Box<str>>,
}

/// The status logged for a request whose client left before any byte of its
/// reply went out (nginx's "client closed request").
pub(crate) const CLIENT_CLOSED: u16 = 499;
/// The status logged for a request porter closed the connection of before any
/// byte of its reply went out (nginx's "no response"): a timeout, the end of
/// the shutdown grace, a failure.
pub(crate) const NO_RESPONSE: u16 = 444;

/// One reply for the access log and metrics: encoded in full and waiting to be
/// written out, or cut short (then with the body bytes that did go out).
/// Body bytes count as they go on the wire: a chunked body with its framing
/// (nginx's `$body_bytes_sent`), so a whole reply and a cut one agree.
#[derive(Debug)]
pub(crate) struct Finished {
    pub(crate) status: u16,
    pub(crate) body_bytes: u64,
    /// When its request's head came in (`None`: a refusal before any head).
    pub(crate) started: Option<Instant>,
    pub(crate) log: Option<LogInfo>,
    /// Its request came in before the access log was switched on: no line.
    pub(crate) log_missed: bool,
}

/// One worker's observer: its counters and its log buffer.
pub(crate) struct Observer {
    metrics: Option<Arc<WorkerCounters>>,
    log: Option<WorkerLog>,
}

struct WorkerLog {
    shared: Arc<LogShared>,
    state: RefCell<LogBuffer>,
}

struct LogBuffer {
    lines: Vec<u8>,
    count: u64,
    clock: Clock,
}

impl Observer {
    /// A worker's observer, or `None` when nothing is observed.
    pub(crate) fn new(config: &ObserveConfig) -> Option<Observer> {
        if config.log.is_none() && config.metrics.is_none() {
            return None;
        }
        let log = config.log.clone().map(WorkerLog::new);
        Some(Observer { metrics: config.metrics.as_ref().map(Metrics::new_worker), log })
    }

    /// Logs to `log` from now on (`None`: no more lines); the lines
    /// collected so far go to the old log first.
    pub(crate) fn set_log(&mut self, log: Option<Arc<LogShared>>) {
        self.flush();
        self.log = log.map(WorkerLog::new);
    }

    /// True when replies need their request's [`LogInfo`].
    pub(crate) fn wants_log_info(&self) -> bool {
        self.log.is_some()
    }

    /// Sets the log's clock (called once per loop iteration, on the loop's
    /// thread, before any request of the iteration is handled).
    pub(crate) fn set_clock(&self, now: SystemTime) {
        if let Some(log) = &self.log {
            log.state.borrow_mut().clock.set(now);
            // Here rather than once: an embedded loop may move between threads.
            user::want_on_this_thread();
        }
    }

    /// Counts and logs a request that is done: its reply's last byte just
    /// went out, or its connection ended before (see [`Finished`]).
    pub(crate) fn on_reply(&self, done: &Finished, peer: Option<SocketAddr>) {
        // A clock read only where the duration is shown: metrics and JSON lines.
        let shows_duration =
            self.metrics.is_some() || self.log.as_ref().is_some_and(|l| l.shared.format == LogFormat::Json);
        let duration = done.started.filter(|_| shows_duration).map(|s| s.elapsed()).unwrap_or_default();
        if let Some(m) = &self.metrics {
            m.on_reply(done.status, done.body_bytes, duration);
        }
        let Some(log) = &self.log else { return };
        if done.log_missed || !log.shared.is_enabled() {
            return;
        }
        let request = done.log.as_ref().map(|i| RequestFields {
            method: i.method.get(&i.head),
            target: i.target.get(&i.head),
            version: i.version,
            referer: i.referer.map(|s| s.get(&i.head)),
            user_agent: i.user_agent.map(|s| s.get(&i.head)),
            host: i.host.map(|s| s.get(&i.head)),
            user: i.user.as_deref().map(str::as_bytes),
        });
        let entry =
            Entry { remote: peer.map(|p| p.ip()), request, status: done.status, bytes: done.body_bytes, duration };
        let mut state = log.state.borrow_mut();
        let state = &mut *state;
        format::write_line(&mut state.lines, log.shared.format, &state.clock, &entry);
        state.count += 1;
        if state.lines.len() >= log.shared.buffer_size {
            hand_off(&log.shared, state);
        }
    }

    /// Counts request bytes received.
    pub(crate) fn on_request_bytes(&self, n: usize) {
        if let Some(m) = &self.metrics {
            m.on_request_bytes(n as u64);
        }
    }

    /// Counts an accepted connection.
    pub(crate) fn on_open(&self) {
        if let Some(m) = &self.metrics {
            m.on_open();
        }
    }

    /// Counts a closed connection.
    pub(crate) fn on_close(&self) {
        if let Some(m) = &self.metrics {
            m.on_close();
        }
    }

    /// Hands the lines collected so far to the writer (end of a loop iteration).
    pub(crate) fn flush(&self) {
        if let Some(log) = &self.log {
            let mut state = log.state.borrow_mut();
            if state.count > 0 {
                hand_off(&log.shared, &mut state);
            }
        }
    }
}

impl WorkerLog {
    fn new(shared: Arc<LogShared>) -> Self {
        let state = RefCell::new(LogBuffer { lines: Vec::new(), count: 0, clock: Clock::new(SystemTime::now()) });
        WorkerLog { shared, state }
    }
}

fn hand_off(shared: &LogShared, state: &mut LogBuffer) {
    // The next buffer starts as large as this one grew: few reallocations.
    let capacity = state.lines.len().min(shared.buffer_size);
    let lines = std::mem::replace(&mut state.lines, Vec::with_capacity(capacity));
    shared.hand_off(lines, std::mem::take(&mut state.count));
}
