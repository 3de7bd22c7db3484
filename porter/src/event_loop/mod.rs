//! One event loop: an epoll instance, its listeners, its connections and their timers.
//!
//! Each worker thread runs one loop and shares nothing with the others (its own
//! SO_REUSEPORT listener, its own connections). An iteration has four phases, in
//! the order h2o uses:
//!
//! 1. **wait** in `epoll_wait`, no longer than the earliest timer (or not at all
//!    when some connection still has work from the last iteration);
//! 2. **dispatch** each event: remember the connection's readiness and run its
//!    turn (read, parse, handle, write); the listener accepts; the waker brings
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

pub(crate) mod remote;
mod slots;
mod timers;

use std::io;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use crate::conn::transport::Stream;
use crate::conn::{After, Conn, Ctx};
use crate::handler::Handler;
use crate::limits::Limits;
use crate::observe::{ObserveConfig, Observer};
use crate::proto::date::DateCache;
use crate::sys::poller::{Poller, Token};
use crate::sys::socket;
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

/// Most connections accepted per listener per iteration (the rest wait their turn).
const ACCEPT_BATCH: usize = 128;
/// How long accepting pauses after running out of file descriptors or memory.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);
/// Size of the per-loop read scratch buffer.
const SCRATCH: usize = 64 * 1024;

const WAKER_TOKEN: Token = Token(u32::MAX as u64);

/// Listener tokens sit below the waker's, above every connection's.
const MAX_LISTENERS: usize = (u32::MAX - 1 - FIRST_RESERVED) as usize;

fn listener_token(i: usize) -> Token {
    Token::new(u32::MAX - 1 - i as u32, 0)
}

/// Registers listener number `i` with the poller.
fn register_listener(poller: &Poller, listener: &Listener, i: usize) -> io::Result<()> {
    match listener.shared {
        true => poller.add_shared_listener(&listener.socket, listener_token(i)),
        false => poller.add_reader(&listener.socket, listener_token(i)),
    }
}

/// What every loop of a server shares (read-only).
pub(crate) struct LoopConfig {
    pub(crate) handler: Arc<dyn Handler>,
    pub(crate) limits: Limits,
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
    accept_pending: bool,
    accept_resume_at: Option<Instant>,
    /// Set once a graceful shutdown began: when it must end.
    shutdown_deadline: Option<Instant>,
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
            register_listener(&poller, l, i)?;
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
            accept_pending: true,
            accept_resume_at: None,
            shutdown_deadline: None,
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
        if self.accept_pending {
            self.accept_all();
        }
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
        if !self.again.is_empty() || (self.accept_pending && self.accept_resume_at.is_none()) {
            return Some(Duration::ZERO);
        }
        [self.timers.next_in(now), self.accept_resume_at.map(|t| t.saturating_duration_since(now))]
            .into_iter()
            .chain([self.shutdown_deadline.map(|t| t.saturating_duration_since(now))])
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
        self.shutdown_deadline.is_some_and(|d| self.conns.len() == 0 || self.now >= d)
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
        if self.accept_resume_at.is_some_and(|t| t <= self.now) {
            self.accept_resume_at = None;
            self.accept_pending = true;
        }
        Ok(())
    }

    fn dispatch_events(&mut self) {
        for i in 0..self.events.len() {
            let (token, ready) = self.events[i];
            if token == WAKER_TOKEN {
                self.read_inbox();
            } else if token.slot() >= FIRST_RESERVED {
                self.accept_pending = true;
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
                Message::Shutdown { deadline } => self.begin_shutdown(deadline),
                Message::AddListener(listener) => self.add_listener(listener),
                Message::SetListenOptions { addr, options } => self.set_listen_options(addr, options),
                Message::RemoveListener { addr } => self.remove_listener(addr),
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
    fn on_answer(&mut self, token: Token, seq: u64, response: crate::Response) -> bool {
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

    fn accept_all(&mut self) {
        self.accept_pending = false;
        for i in 0..self.listeners.len() {
            if self.listeners[i].is_some() {
                self.accept_from(i);
            }
        }
    }

    fn accept_from(&mut self, i: usize) {
        for _ in 0..ACCEPT_BATCH {
            if self.conns.len() >= self.config.limits.max_connections {
                // Resumed when a connection is freed; clients wait in the backlog.
                return;
            }
            let Some(listener) = &self.listeners[i] else { return };
            match socket::accept(&listener.socket) {
                Ok((stream, peer)) => self.add_connection(stream, peer, i),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if socket::is_transient_accept_error(&e) => continue,
                Err(e) if socket::is_resource_exhaustion(&e) => {
                    // Retrying at once would spin: the backlog stays readable.
                    log::warn!("accept: {e}; pausing accepts for {ACCEPT_BACKOFF:?}");
                    self.accept_resume_at = Some(self.now + ACCEPT_BACKOFF);
                    return;
                }
                Err(e) => {
                    log::error!("accept: {e}");
                    return;
                }
            }
        }
        self.accept_pending = true; // more may be waiting: continue next iteration
    }

    fn add_connection(&mut self, tcp: TcpStream, peer: Option<SocketAddr>, listener: usize) {
        let Some(token) = self.conns.next_token() else { return };
        let Some(Listener { options, addr, .. }) = &self.listeners[listener] else { return };
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
        let pending = conn.abandon();
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
        if self.shutdown_deadline.is_none() && self.conns.len() < self.config.limits.max_connections {
            self.accept_pending = true;
        }
    }

    /// Graceful shutdown: stop accepting, close idle connections now and the
    /// others after their current requests; [`EventLoop::run`] ends when none is
    /// left or at `deadline`.
    fn begin_shutdown(&mut self, deadline: Instant) {
        if self.shutdown_deadline.is_some_and(|d| d <= deadline) {
            return;
        }
        self.shutdown_deadline = Some(deadline);
        self.accept_pending = false;
        for listener in self.listeners.drain(..).flatten() {
            let _ = self.poller.delete(&listener.socket);
        }
        for token in self.conns.tokens() {
            if let Some(Entry::Open { conn, .. }) = self.conns.get_mut(token) {
                let after = conn.begin_drain();
                self.after_turn(token, after);
                self.turn(token);
            }
        }
    }

    /// Starts accepting on a listener opened while the loop runs (not once
    /// a shutdown began: the socket is closed).
    fn add_listener(&mut self, listener: Listener) {
        if self.shutdown_deadline.is_some() {
            return;
        }
        let free = self.listeners.iter().position(Option::is_none).unwrap_or(self.listeners.len());
        if free >= MAX_LISTENERS {
            log::error!("cannot listen on {}: a worker serves at most {MAX_LISTENERS} listeners", listener.addr);
            return;
        }
        if let Err(e) = register_listener(&self.poller, &listener, free) {
            log::error!("cannot listen on {}: {e}", listener.addr);
            return;
        }
        match self.listeners.get_mut(free) {
            Some(slot) => *slot = Some(listener),
            None => self.listeners.push(Some(listener)),
        }
        self.accept_pending = true;
    }

    /// How the listener on `addr` speaks to the connections it accepts from now on.
    fn set_listen_options(&mut self, addr: SocketAddr, options: crate::listen::Resolved) {
        if let Some(listener) = self.listeners.iter_mut().flatten().find(|l| l.addr == addr) {
            listener.options = options;
        }
    }

    /// Stops accepting on `addr`: the connections waiting in its backlog are
    /// accepted first (closing a socket resets them), then it is closed.
    /// Connections it accepted earlier carry on.
    fn remove_listener(&mut self, addr: SocketAddr) {
        let Some(i) = self.listeners.iter().position(|l| l.as_ref().is_some_and(|l| l.addr == addr)) else { return };
        self.accept_from(i);
        if let Some(listener) = self.listeners[i].take() {
            let _ = self.poller.delete(&listener.socket);
        }
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
    }
}
