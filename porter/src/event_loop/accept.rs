//! Accepting connections: how many a loop takes, the pause after running out
//! of descriptors, and the last accepts of a graceful shutdown.
//!
//! **The cap.** Each connection may hold two descriptors: its socket and the
//! file it is being sent. [`connection_cap`] divides the open-file limit in
//! force at start (less a reserve for listeners, epoll, eventfds, logs and
//! stdio) among the workers, and no loop holds more connections than its share
//! (nor more than `max_connections`). The clients beyond wait in the listen
//! backlog and are accepted as connections close, instead of being accepted
//! into a process that then cannot open the file they ask for (a 500).
//!
//! **The pause.** An accept failing for lack of descriptors or memory (the
//! limit is shared with whatever else the process opens) pauses accepting for
//! [`ACCEPT_BACKOFF`]: the listeners are removed from epoll, so neither a new
//! client nor a freed connection resumes accepting early (the backlog stays
//! readable: accepting again at once would spin), and added back when the
//! pause is over. The warning says so at most once per [`WARN_EVERY`], with
//! the number of pauses it did not report.
//!
//! **Closing a listener** (a graceful shutdown stops accepting, a reload
//! removes an address): it leaves epoll at once, so no new client is waited
//! for, but what the kernel already accepted into its backlog is still taken
//! and served, as the cap lets connections in (one freeing its place lets the
//! next in), and the socket is closed only when `accept` says the backlog is
//! empty (`EAGAIN`), or at the shutdown's deadline: closing a listener resets
//! the connections still in its backlog, which the client (or its balancer)
//! has already sent a request on. Running out of descriptors meanwhile pauses
//! as above and closes nothing.

use std::io;
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use super::{listener_token, Entry, EventLoop, Listener};
use crate::conn::transport::Stream;
use crate::conn::Conn;
use crate::sys::poller::Poller;
use crate::sys::socket;

/// Most connections accepted per listener per iteration (the rest wait their turn).
const ACCEPT_BATCH: usize = 128;
/// How long accepting pauses after running out of file descriptors or memory.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);
/// The least time between two "pausing accepts" warnings.
const WARN_EVERY: Duration = Duration::from_secs(1);
/// Descriptors one connection may hold: its socket and the file it is sent.
const FDS_PER_CONNECTION: u64 = 2;
/// Descriptors kept for what is not a connection: stdio, logs, the site's
/// root, the signal thread's, and room for a file opened outside a request.
const RESERVED_FDS: u64 = 32;
/// Descriptors each worker holds besides its connections: epoll, its eventfd.
const FDS_PER_WORKER: u64 = 2;

/// The most connections one of `workers` loops, each with `listeners`
/// listening sockets, may hold under an open-file limit of `fd_limit`
/// (`u64::MAX`: unlimited): its share of what the reserve leaves, at least
/// one, at most `max_connections`.
pub(crate) fn connection_cap(max_connections: usize, fd_limit: u64, workers: usize, listeners: usize) -> usize {
    let workers = workers.max(1) as u64;
    let fixed = RESERVED_FDS + workers * (FDS_PER_WORKER + listeners as u64);
    let share = fd_limit.saturating_sub(fixed) / FDS_PER_CONNECTION / workers;
    usize::try_from(share).unwrap_or(usize::MAX).clamp(1, max_connections.max(1))
}

/// A loop's accepting state.
#[derive(Debug)]
pub(super) struct Accepting {
    /// A listener may have connections waiting (an event came, a batch was
    /// cut short, a connection closed below the cap).
    pending: bool,
    /// While paused: when accepting resumes.
    paused_until: Option<Instant>,
    /// When the last warning was logged.
    warned_at: Option<Instant>,
    /// Pauses since then that logged nothing.
    unreported: u64,
}

impl Accepting {
    pub(super) fn new() -> Self {
        Accepting { pending: true, paused_until: None, warned_at: None, unreported: 0 }
    }

    /// Something may be waiting in a backlog; ignored while paused (the
    /// resumption accepts anyway).
    pub(super) fn wake(&mut self) {
        self.pending = true;
    }

    /// True when the loop should accept now.
    fn is_due(&self) -> bool {
        self.pending && self.paused_until.is_none()
    }

    /// True during a pause: the listeners are out of epoll.
    pub(super) fn is_paused(&self) -> bool {
        self.paused_until.is_some()
    }

    /// How long until the loop has accepting to do: zero when it has now, the
    /// end of the pause while paused, `None` when only an event can bring some.
    pub(super) fn next_in(&self, now: Instant) -> Option<Duration> {
        match self.paused_until {
            Some(t) => Some(t.saturating_duration_since(now)),
            None if self.pending => Some(Duration::ZERO),
            None => None,
        }
    }

    /// Starts a pause at `now` after `error`; returns the warning to log, if one is due.
    fn pause(&mut self, now: Instant, error: &io::Error) -> Option<String> {
        self.paused_until = Some(now + ACCEPT_BACKOFF);
        if self.warned_at.is_some_and(|at| now < at + WARN_EVERY) {
            self.unreported += 1;
            return None;
        }
        let unreported = std::mem::take(&mut self.unreported);
        self.warned_at = Some(now);
        let mut line = format!("accept: {error}; pausing accepts for {ACCEPT_BACKOFF:?}");
        if unreported > 0 {
            line.push_str(&format!(" ({unreported} more pauses since the last warning)"));
        }
        Some(line)
    }

    /// Ends the pause if it is over at `now`; true when it just ended.
    fn resume_if_over(&mut self, now: Instant) -> bool {
        if self.paused_until.is_some_and(|t| t <= now) {
            self.paused_until = None;
            self.pending = true;
            return true;
        }
        false
    }
}

/// Registers a listener with a loop's poller (shared ones with `EPOLLEXCLUSIVE`).
pub(super) fn register(poller: &Poller, listener: &Listener, i: usize) -> io::Result<()> {
    if listener.shared {
        poller.add_shared_listener(&listener.socket, listener_token(i))
    } else {
        poller.add_reader(&listener.socket, listener_token(i))
    }
}

impl EventLoop {
    /// Ends a pause that is over: the listeners are watched again.
    pub(super) fn resume_accepting_if_due(&mut self) {
        if !self.accepting.resume_if_over(self.now) {
            return;
        }
        for (i, listener) in self.listeners.iter().enumerate() {
            let Some(listener) = listener.as_ref().filter(|l| !l.closing) else { continue };
            if let Err(e) = register(&self.poller, listener, i) {
                log::error!("epoll add (listener {}): {e}", listener.addr);
            }
        }
    }

    /// Accepts from every listener, if anything may be waiting and no pause holds.
    pub(super) fn accept_all(&mut self) {
        if !self.accepting.is_due() {
            return;
        }
        self.accepting.pending = false;
        for i in 0..self.listeners.len() {
            if self.accepting.paused_until.is_some() {
                return;
            }
            self.accept_from(i);
        }
    }

    pub(super) fn accept_from(&mut self, i: usize) {
        for _ in 0..ACCEPT_BATCH {
            if self.conns.len() >= self.config.connection_cap {
                // Resumed when a connection is freed; clients wait in the backlog.
                return;
            }
            if !self.accept_one(i) {
                return;
            }
        }
        self.accepting.pending = true; // more may be waiting: continue next iteration
    }

    /// Accepts one connection from listener `i`; false when there is nothing
    /// more to take from it now (empty backlog, a pause, an error). A closing
    /// listener whose backlog is empty (or fails) is closed.
    fn accept_one(&mut self, i: usize) -> bool {
        let Some(Some(listener)) = self.listeners.get(i) else { return false };
        match socket::accept(&listener.socket) {
            Ok((stream, peer)) => {
                self.add_connection(stream, peer, i);
                true
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                self.finish_closing(i);
                false
            }
            Err(e) if socket::is_transient_accept_error(&e) => true,
            Err(e) if socket::is_resource_exhaustion(&e) => {
                self.pause_accepting(&e);
                false
            }
            Err(e) => {
                log::error!("accept: {e}");
                self.finish_closing(i);
                false
            }
        }
    }

    /// Closes listener `i` if it is closing: its backlog is empty.
    fn finish_closing(&mut self, i: usize) {
        let Some(slot) = self.listeners.get_mut(i) else { return };
        if !slot.as_ref().is_some_and(|l| l.closing) {
            return;
        }
        if let Some(Listener { socket, on_closed, .. }) = slot.take() {
            drop(socket);
            if let Some(on_closed) = on_closed {
                let _ = on_closed.send(());
            }
        }
    }

    /// Out of descriptors or memory: stop watching the listeners until the pause is over.
    fn pause_accepting(&mut self, error: &io::Error) {
        if let Some(warning) = self.accepting.pause(self.now, error) {
            log::warn!("{warning}");
        }
        for listener in self.listeners.iter().flatten() {
            let _ = self.poller.delete(&listener.socket);
        }
    }

    /// Stops accepting for good: every listener closes (see the module docs).
    pub(super) fn stop_accepting(&mut self) {
        for i in 0..self.listeners.len() {
            self.close_listener(i);
        }
    }

    /// Closes listener `i`: out of epoll now; what its backlog already holds
    /// is still accepted, as the cap allows, and it is closed once that is
    /// empty (see the module docs). Connections it accepted carry on.
    pub(super) fn close_listener(&mut self, i: usize) {
        let Some(Some(listener)) = self.listeners.get_mut(i) else { return };
        let _ = self.poller.delete(&listener.socket);
        listener.closing = true;
        self.accepting.wake();
    }

    fn add_connection(&mut self, tcp: TcpStream, peer: Option<SocketAddr>, listener: usize) {
        let Some(token) = self.conns.next_token() else { return };
        let Some(Some(Listener { options, addr, .. })) = self.listeners.get(listener) else { return };
        // A wildcard listener's connections learn their own address at their
        // first request (`Conn::local_addr`), not here: no syscall per accept.
        let local = Some(*addr);
        // An HTTPS listener's connection starts its handshake with its first read.
        let stream = match &options.tls {
            None => Stream::Plain(tcp),
            Some(tls) => match crate::tls::stream::TlsStream::new(tcp, &tls.config) {
                Ok(tls) => Stream::Tls(Box::new(tls)),
                Err(e) => {
                    log::error!("TLS session: {e}");
                    return;
                }
            },
        };
        if let Err(e) = self.poller.add_socket(&stream, token) {
            log::error!("epoll add: {e}");
            return;
        }
        let mut conn = Box::new(Conn::new(stream, token, peer, self.now, &self.config.limits));
        conn.set_local_addr(local);
        if self.shutdown.is_some_and(|s| s.stopped) {
            conn.begin_drain(); // taken from a closing backlog: one request, then close
        }
        if let Some(max_v2) = options.proxy_header {
            conn.expect_proxy_header(max_v2);
        }
        let deadline = conn.deadline();
        let token = self.conns.insert(Entry::Open { conn, scheduled: deadline });
        self.remote.set_live(self.conns.len());
        if let Some(observer) = &self.observer {
            observer.on_open();
        }
        if let Some(d) = deadline {
            self.timers.schedule(d, token);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cap_shares_what_the_reserve_leaves_two_descriptors_a_connection() {
        // 256 - 32 reserved - 2 workers × (2 + 1 listener) = 218 → 109 connections → 54 a worker.
        assert_eq!(connection_cap(16 * 1024, 256, 2, 1), 54);
        assert_eq!(connection_cap(16 * 1024, 256, 1, 1), (256 - 32 - 3) / 2);
        // max_connections still bounds it, and an unlimited limit leaves it alone.
        assert_eq!(connection_cap(100, 1 << 20, 4, 2), 100);
        assert_eq!(connection_cap(16 * 1024, u64::MAX, 8, 1), 16 * 1024);
    }

    #[test]
    fn a_limit_below_the_reserve_still_lets_one_connection_in() {
        assert_eq!(connection_cap(16 * 1024, 10, 4, 1), 1);
        assert_eq!(connection_cap(0, 1024, 1, 1), 1);
    }

    #[test]
    fn a_pause_holds_until_its_end_whatever_wakes_it() {
        let mut a = Accepting::new();
        let t0 = Instant::now();
        assert!(a.is_due());
        assert!(a.pause(t0, &io::Error::from_raw_os_error(24)).is_some());
        a.wake(); // a listener event, a freed connection
        assert!(!a.is_due(), "nothing resumes accepting before the pause is over");
        assert_eq!(a.next_in(t0), Some(ACCEPT_BACKOFF));
        assert!(!a.resume_if_over(t0 + ACCEPT_BACKOFF / 2));
        assert!(a.resume_if_over(t0 + ACCEPT_BACKOFF));
        assert!(a.is_due(), "and then it accepts again");
        assert_eq!(a.next_in(t0), Some(Duration::ZERO));
    }

    #[test]
    fn one_warning_a_second_counting_the_pauses_it_did_not_report() {
        let mut a = Accepting::new();
        let emfile = io::Error::from_raw_os_error(24);
        let t0 = Instant::now();
        let first = a.pause(t0, &emfile).expect("the first pause is reported");
        assert!(first.contains("pausing accepts for 100ms") && !first.contains("more pauses"), "{first}");
        let mut now = t0;
        for _ in 0..9 {
            now += ACCEPT_BACKOFF;
            assert!(a.resume_if_over(now));
            assert_eq!(a.pause(now, &emfile), None, "within a second of the last warning: counted, not logged");
        }
        now += ACCEPT_BACKOFF;
        assert!(a.resume_if_over(now));
        let next = a.pause(now, &emfile).expect("a second later: reported");
        assert!(next.ends_with("(9 more pauses since the last warning)"), "{next}");
    }
}
