//! One event loop: an epoll instance, its listeners, its connections and their timers.
//!
//! Each worker thread runs one loop and shares nothing with the others (its own
//! SO_REUSEPORT listener, its own connections). An iteration has four phases, in
//! the order h2o uses:
//!
//! 1. **wait** in `epoll_wait`, no longer than the earliest timer (or not at all
//!    when some connection still has work from the last iteration);
//! 2. **dispatch** each event: remember the connection's readiness and run its
//!    turn (read, parse, handle, write); the listener accepts ([`accept`]:
//!    the per-loop cap, the pause when out of descriptors); the waker brings
//!    the inbox ([`remote`]): answers and wake-ups from other threads;
//! 3. **again**: connections that used up their read budget get another turn;
//! 4. **timers**: due deadlines fire (408 for slow heads and bodies, close for
//!    idle, stalled-write and lingering connections).
//!
//! A connection is freed only here, after its turn returns `Free`: it is removed
//! from epoll first and its fd closed after (by drop). If deferred requests are
//! still pending, they are cancelled and the connection's slot stays **Closed**
//! (no fd, no buffers: just the sequence numbers awaited) until each has answered
//! or been dropped; then the slot is freed (**dead**) and a late answer finds a
//! newer generation and is dropped. Sockets are registered edge-triggered, once:
//! see [`crate::sys::poller`] for why.
//!
//! A graceful shutdown has two stages. During the **lame-duck** period (the
//! server's `shutdown_delay`) the loop still accepts and serves, while
//! [`crate::Request::is_draining`] is true (so a health check can answer 503
//! and the balancer stops sending clients) and every reply says
//! `Connection: close`. Then it **stops accepting**: it takes what the
//! listen backlogs already hold (as its connection cap allows), closing each
//! listener once its backlog is empty ([`accept`]), and drains its
//! connections (`Conn::begin_drain`) until none is left or the grace period
//! ends.

mod accept;
pub(crate) use accept::connection_cap;
pub(crate) mod remote;
mod slots;
mod timers;

use std::io;
use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use crate::conn::transport::Stream;
use crate::conn::{After, Conn, Ctx};
use crate::handler::Handler;
use crate::limits::Limits;
use crate::observe::{ObserveConfig, Observer};
use crate::proto::date::DateCache;
use crate::sys::poller::{Poller, Token};
use accept::Accepting;
use remote::{Message, Remote};
use slots::{Slots, FIRST_RESERVED};
use timers::Timers;

/// The borrowed context a connection's turn needs, built from the loop's fields
/// (a macro, so the connection slab can stay mutably borrowed meanwhile).
macro_rules! ctx {
    ($loop:ident, $now:expr) => {
        Ctx {
            handler: &*$loop.config.handler,
            limits: &$loop.config.limits,
            date_line: $loop.date.line(),
            server_line: &$loop.config.server_line,
            observe: $loop.observer.as_ref(),
            now: $now,
            remote: &$loop.remote,
        }
    };
}

/// Size of the per-loop read scratch buffer.
const SCRATCH: usize = 64 * 1024;

const WAKER_TOKEN: Token = Token(u32::MAX as u64);

/// Listener tokens sit below the waker's, above every connection's.
const MAX_LISTENERS: usize = (u32::MAX - 1 - FIRST_RESERVED) as usize;

fn listener_token(i: usize) -> Token {
    Token::new(u32::MAX - 1 - i as u32, 0)
}

/// What every loop of a server shares (read-only).
pub(crate) struct LoopConfig {
    pub(crate) handler: Arc<dyn Handler>,
    pub(crate) limits: Limits,
    /// Most connections each loop holds: `limits.max_connections`, or fewer
    /// when the open-file limit cannot hold that many ([`accept::connection_cap`]).
    pub(crate) connection_cap: usize,
    /// `Server: ...\r\n`, or empty.
    pub(crate) server_line: Vec<u8>,
}

/// A listening socket and how to speak on it (TLS configuration, PROXY
/// protocol), shared by every worker listening on the same address.
pub(crate) struct Listener {
    pub(crate) socket: TcpListener,
    /// The address it is bound to.
    pub(crate) addr: SocketAddr,
    /// Other workers accept on the same socket (an adopted one): registered
    /// with `EPOLLEXCLUSIVE`.
    pub(crate) shared: bool,
    pub(crate) options: crate::listen::Resolved,
    /// Being closed: out of epoll, its backlog still taken ([`accept`]).
    pub(crate) closing: bool,
    /// Told once the socket is closed (a `stop_listening` waits for it).
    pub(crate) on_closed: Option<std::sync::mpsc::Sender<()>>,
}

/// A slot of the loop: a live connection, or what is left of one whose client
/// is gone while deferred requests are still pending.
enum Entry {
    Open {
        conn: Box<Conn<Stream>>,
        /// The deadline of this connection's live heap entry, if any.
        scheduled: Option<Instant>,
    },
    Closed {
        /// Sequence numbers of the cancelled requests still to be answered or dropped.
        awaited: Vec<u64>,
    },
}

/// A graceful shutdown under way.
#[derive(Clone, Copy, Debug)]
struct Shutdown {
    /// When accepting stops: the end of the lame-duck period.
    stop_at: Instant,
    /// When whatever is left is closed.
    deadline: Instant,
    /// Accepting has stopped; the connections drain.
    stopped: bool,
}

/// A worker's loop.
pub(crate) struct EventLoop {
    poller: Poller,
    /// Indexed by listener token: a closed listener leaves its place empty
    /// (reused by the next one opened), so the others keep their tokens.
    listeners: Vec<Option<Listener>>,
    conns: Slots<Entry>,
    timers: Timers,
    again: Vec<Token>,
    events: Vec<(Token, crate::sys::poller::Readiness)>,
    inbox: Vec<Message>,
    remote: Arc<Remote>,
    config: Arc<LoopConfig>,
    date: DateCache,
    /// This worker's access-log buffer and counters (`None`: nothing observed).
    observer: Option<Observer>,
    scratch: Box<[u8]>,
    now: Instant,
    accepting: Accepting,
    /// Set once a graceful shutdown began.
    shutdown: Option<Shutdown>,
}

impl Drop for EventLoop {
    /// A loop dropped without its end ([`EventLoop::run`] returning on an
    /// error, an embedded server dropped without a shutdown) still closes its
    /// connections: what is pending is cancelled and every request not
    /// answered in full is logged. Idempotent: after a normal end nothing is left.
    fn drop(&mut self) {
        self.close_all();
    }
}

impl EventLoop {
    /// A loop accepting on `listeners`; `observe` (the access log and
    /// metrics) is read once, here: later changes come as messages.
    pub(crate) fn new(
        listeners: Vec<Listener>,
        config: Arc<LoopConfig>,
        observe: &ObserveConfig,
        remote: Arc<Remote>,
    ) -> io::Result<Self> {
        let poller = Poller::new(1024)?;
        poller.add_reader(remote.waker(), WAKER_TOKEN)?;
        for (i, l) in listeners.iter().enumerate() {
            accept::register(&poller, l, i)?;
        }
        let observer = Observer::new(observe);
        Ok(EventLoop {
            poller,
            listeners: listeners.into_iter().map(Some).collect(),
            conns: Slots::new(),
            timers: Timers::default(),
            again: Vec::new(),
            events: Vec::with_capacity(1024),
            inbox: Vec::new(),
            remote,
            config,
            date: DateCache::new(),
            observer,
            scratch: vec![0u8; SCRATCH].into_boxed_slice(),
            now: Instant::now(),
            accepting: Accepting::new(),
            shutdown: None,
        })
    }

    /// Runs until stopped (or a graceful shutdown completes); then closes every
    /// connection, cancelling what is still pending.
    pub(crate) fn run(&mut self) -> io::Result<()> {
        while !self.is_finished() {
            self.iterate(None)?;
        }
        self.close_all();
        Ok(())
    }

    /// True once stopped, or once a graceful shutdown has completed.
    pub(crate) fn is_finished(&self) -> bool {
        self.remote.is_stopped() || self.shutdown_is_over()
    }

    /// One iteration: wait (no longer than `max_wait`, nor than the next
    /// timer), dispatch, accept, run leftovers and due timers.
    pub(crate) fn iterate(&mut self, max_wait: Option<Duration>) -> io::Result<()> {
        self.wait(max_wait)?;
        self.dispatch_events();
        self.accept_all();
        self.stop_accepting_if_due();
        self.run_again();
        self.run_timers();
        if let Some(observer) = &self.observer {
            observer.flush(); // this iteration's access-log lines go to the writer
        }
        Ok(())
    }

    /// How long the loop may sleep before it has work (a timer, leftovers),
    /// `None` meaning "until an fd is ready".
    pub(crate) fn next_wake(&self) -> Option<Duration> {
        let now = Instant::now();
        if !self.again.is_empty() {
            return Some(Duration::ZERO);
        }
        let shutdown = self.shutdown.map(|s| if s.stopped { s.deadline } else { s.stop_at });
        [self.timers.next_in(now), self.accepting.next_in(now), shutdown.map(|t| t.saturating_duration_since(now))]
            .into_iter()
            .flatten()
            .min()
    }

    /// The epoll fd: readable whenever the loop has events to handle, so a
    /// caller's own poll/select loop can watch it.
    pub(crate) fn poll_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        self.poller.as_fd()
    }

    /// Closes every connection now (the end of an embedded loop).
    pub(crate) fn close(&mut self) {
        self.close_all();
    }

    fn shutdown_is_over(&self) -> bool {
        let drained = || self.conns.len() == 0 && self.listeners.iter().all(Option::is_none);
        self.shutdown.is_some_and(|s| s.stopped && (self.now >= s.deadline || drained()))
    }

    fn wait(&mut self, max_wait: Option<Duration>) -> io::Result<()> {
        let timeout = match (self.next_wake(), max_wait) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        self.events.clear();
        self.events.extend(self.poller.wait(timeout)?);
        self.now = Instant::now();
        let wall = SystemTime::now();
        self.date.refresh(wall);
        if let Some(observer) = &self.observer {
            observer.set_clock(wall);
        }
        self.resume_accepting_if_due();
        Ok(())
    }

    fn dispatch_events(&mut self) {
        for i in 0..self.events.len() {
            let (token, ready) = self.events[i];
            if token == WAKER_TOKEN {
                self.read_inbox();
            } else if token.slot() >= FIRST_RESERVED {
                self.accepting.wake();
            } else if let Some(Entry::Open { conn, .. }) = self.conns.get_mut(token) {
                conn.readable |= ready.readable;
                conn.writable |= ready.writable;
                conn.hangup |= ready.hangup;
                self.turn(token);
            }
        }
    }

    /// Handles every message other threads left since the last wake-up.
    fn read_inbox(&mut self) {
        let mut inbox = std::mem::take(&mut self.inbox);
        self.remote.take_messages(&mut inbox);
        let mut touched = Vec::new();
        for message in inbox.drain(..) {
            match message {
                Message::Answer { token, seq, response } => {
                    if self.on_answer(token, seq, *response) {
                        touched.push(token);
                    }
                }
                Message::Wake { token } => touched.push(token),
                Message::Shutdown { stop_at, deadline } => self.begin_shutdown(stop_at, deadline),
                Message::AddListener(listener) => self.add_listener(listener),
                Message::SetListenOptions { addr, options } => self.set_listen_options(addr, options),
                Message::RemoveListener { addr, done } => self.remove_listener(addr, done),
                Message::SetAccessLog(log) => self.set_access_log(log),
            }
        }
        self.inbox = inbox;
        // One turn per connection after every answer is in: its ready replies
        // then leave in one write, as on the direct path.
        touched.sort_unstable_by_key(|t| t.0);
        touched.dedup();
        for token in touched {
            self.turn(token);
        }
    }

    /// Delivers an answer; true when its connection should take a turn.
    fn on_answer(&mut self, token: Token, seq: u64, response: crate::responder::Answer) -> bool {
        match self.conns.get_mut(token) {
            Some(Entry::Open { conn, .. }) => conn.on_answer(seq, response),
            Some(Entry::Closed { awaited }) => {
                // The client is gone: the answer is dropped, the wait is over.
                awaited.retain(|&s| s != seq);
                if awaited.is_empty() {
                    self.conns.remove(token);
                    self.resume_accepting();
                    self.remote.set_live(self.conns.len());
                }
                false
            }
            // A newer tenant, or nothing: the answer is for a connection long gone.
            None => false,
        }
    }

    fn run_again(&mut self) {
        for token in std::mem::take(&mut self.again) {
            self.turn(token);
        }
    }

    /// Runs one connection's turn and acts on the result.
    fn turn(&mut self, token: Token) {
        let Some(Entry::Open { conn, .. }) = self.conns.get_mut(token) else { return };
        let after = conn.on_ready(&ctx!(self, self.now), &mut self.scratch);
        self.after_turn(token, after);
    }

    fn after_turn(&mut self, token: Token, after: After) {
        match after {
            After::Free => return self.free(token),
            After::Again => self.again.push(token),
            After::Wait => {}
        }
        let Some(Entry::Open { conn, scheduled }) = self.conns.get_mut(token) else { return };
        if let Some(deadline) = conn.deadline() {
            // Lazy heap: push only when the deadline moves earlier than the live
            // entry; a later deadline is picked up when the early entry fires.
            if scheduled.is_none_or(|s| deadline < s) {
                *scheduled = Some(deadline);
                self.timers.schedule(deadline, token);
            }
        }
    }

    fn run_timers(&mut self) {
        let now = Instant::now();
        while let Some((when, token)) = self.timers.pop_due(now) {
            let Some(Entry::Open { conn, scheduled }) = self.conns.get_mut(token) else { continue };
            if *scheduled != Some(when) {
                continue; // superseded by an earlier entry
            }
            *scheduled = None;
            match conn.deadline() {
                Some(d) if d <= now => {
                    let after = conn.on_timer(&ctx!(self, now), &mut self.scratch);
                    self.after_turn(token, after);
                }
                Some(d) => {
                    *scheduled = Some(d);
                    self.timers.schedule(d, token);
                }
                None => {}
            }
        }
    }

    /// Ends a connection: deregister, close, cancel what is pending.
    fn free(&mut self, token: Token) {
        let Some(entry) = self.conns.get_mut(token) else { return };
        let Entry::Open { conn, .. } = std::mem::replace(entry, Entry::Closed { awaited: Vec::new() }) else {
            return;
        };
        let awaited = self.close_conn(conn);
        match self.conns.get_mut(token) {
            Some(Entry::Closed { awaited: slot }) if !awaited.is_empty() => *slot = awaited,
            _ => {
                self.conns.remove(token);
            }
        }
        self.resume_accepting();
        self.remote.set_live(self.conns.len());
    }

    /// Deregisters and closes a connection's socket, cancels its pending
    /// requests, and returns their sequence numbers.
    fn close_conn(&mut self, mut conn: Box<Conn<Stream>>) -> Vec<u64> {
        // Deregister before the fd is closed (when `conn` drops).
        if let Err(e) = self.poller.delete(conn.transport()) {
            log::debug!("epoll delete: {e}");
        }
        // Requests not answered in full get their access-log line here.
        let pending = conn.abandon(self.observer.as_ref());
        drop(conn);
        if let Some(observer) = &self.observer {
            observer.on_close();
        }
        pending
            .into_iter()
            .map(|(seq, pending)| {
                pending.cancel();
                seq
            })
            .collect()
    }

    fn resume_accepting(&mut self) {
        if self.conns.len() < self.config.connection_cap {
            self.accepting.wake();
        }
    }

    /// Graceful shutdown: serve on as a lame duck until `stop_at`, then stop
    /// accepting and drain (see the module docs); [`EventLoop::run`] ends when
    /// no connection is left or at `deadline`. A second request may only make
    /// either time earlier.
    fn begin_shutdown(&mut self, stop_at: Instant, deadline: Instant) {
        self.shutdown = Some(match self.shutdown {
            None => Shutdown { stop_at, deadline, stopped: false },
            Some(s) => Shutdown { stop_at: s.stop_at.min(stop_at), deadline: s.deadline.min(deadline), ..s },
        });
        self.stop_accepting_if_due();
    }

    /// At the end of the lame-duck period: stop accepting (serving what the
    /// backlogs hold), then drain every connection.
    fn stop_accepting_if_due(&mut self) {
        let Some(shutdown) = &mut self.shutdown else { return };
        if shutdown.stopped || self.now < shutdown.stop_at {
            return;
        }
        shutdown.stopped = true;
        self.stop_accepting();
        // Take what the backlogs hold now (as the cap allows): a listener whose
        // backlog is empty closes here, before any idle client sees our FIN,
        // so a client that connects after that is refused, never left waiting.
        self.accept_all();
        for token in self.conns.tokens() {
            if let Some(Entry::Open { conn, .. }) = self.conns.get_mut(token) {
                conn.begin_drain();
                self.turn(token);
            }
        }
    }

    /// Starts accepting on a listener opened while the loop runs (not once
    /// a shutdown began: the socket is closed).
    fn add_listener(&mut self, listener: Listener) {
        if self.shutdown.is_some() {
            return;
        }
        let free = self.listeners.iter().position(Option::is_none).unwrap_or(self.listeners.len());
        if free >= MAX_LISTENERS {
            log::error!("cannot listen on {}: a worker serves at most {MAX_LISTENERS} listeners", listener.addr);
            return;
        }
        // While accepting is paused the listeners are out of epoll: the
        // resumption registers this one with the others.
        if !self.accepting.is_paused() {
            if let Err(e) = accept::register(&self.poller, &listener, free) {
                log::error!("cannot listen on {}: {e}", listener.addr);
                return;
            }
        }
        match self.listeners.get_mut(free) {
            Some(slot) => *slot = Some(listener),
            None => self.listeners.push(Some(listener)),
        }
        self.accepting.wake();
    }

    /// How the listener on `addr` speaks to the connections it accepts from now on.
    fn set_listen_options(&mut self, addr: SocketAddr, options: crate::listen::Resolved) {
        if let Some(listener) = self.listeners.iter_mut().flatten().find(|l| l.addr == addr && !l.closing) {
            listener.options = options;
        }
    }

    /// Stops accepting on `addr`: the connections waiting in its backlog are
    /// accepted first (closing a socket resets them), then it is closed.
    /// Connections it accepted earlier carry on.
    fn remove_listener(&mut self, addr: SocketAddr, done: std::sync::mpsc::Sender<()>) {
        let Some(i) = self.listeners.iter().position(|l| l.as_ref().is_some_and(|l| l.addr == addr && !l.closing))
        else {
            let _ = done.send(());
            return;
        };
        if let Some(Some(listener)) = self.listeners.get_mut(i) {
            listener.on_closed = Some(done);
        }
        self.close_listener(i);
        // Its backlog now, as the cap allows: an empty one closes it at once.
        self.accept_from(i);
    }

    /// Replaces the access log: this worker's lines so far go to the old one.
    fn set_access_log(&mut self, log: Option<Arc<crate::observe::access_log::LogShared>>) {
        match &mut self.observer {
            Some(observer) => observer.set_log(log),
            None => self.observer = Observer::new(&ObserveConfig { log, metrics: None }),
        }
    }

    fn close_all(&mut self) {
        for token in self.conns.tokens() {
            if let Some(Entry::Open { conn, .. }) = self.conns.remove(token) {
                self.close_conn(conn);
            }
        }
        self.remote.set_live(0);
        if let Some(observer) = &self.observer {
            observer.flush(); // the lines of the replies just cut
        }
    }
}
