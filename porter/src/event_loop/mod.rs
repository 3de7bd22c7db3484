//! One event loop: an epoll instance, its listeners, its connections and their timers.
//!
//! Each worker thread runs one loop and shares nothing with the others (its own
//! SO_REUSEPORT listener, its own connections). An iteration has four phases, in
//! the order h2o uses:
//!
//! 1. **wait** in `epoll_wait`, no longer than the earliest timer (or not at all
//!    when some connection still has work from the last iteration);
//! 2. **dispatch** each event: remember the connection's readiness and run its
//!    turn (read, parse, handle, write); the listener accepts; the waker drains;
//! 3. **again**: connections that used up their read budget get another turn;
//! 4. **timers**: due deadlines fire (408 for slow heads and bodies, close for
//!    idle, stalled-write and lingering connections).
//!
//! A connection is freed only here, after its turn returns `Free`: it is removed
//! from epoll first and its fd closed after (by drop). Sockets are registered
//! edge-triggered, once: see [`crate::sys::poller`] for why.

mod slots;
mod timers;

use std::io;
use std::net::TcpListener;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use crate::conn::{After, Conn, Ctx};
use crate::handler::Handler;
use crate::limits::Limits;
use crate::proto::date::DateCache;
use crate::sys::poller::{Poller, Readiness, Token};
use crate::sys::socket;
use crate::sys::waker::Waker;
use slots::{Slots, FIRST_RESERVED};
use timers::Timers;

/// Most connections accepted per listener per iteration (the rest wait their turn).
const ACCEPT_BATCH: usize = 128;
/// How long accepting pauses after running out of file descriptors or memory.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);
/// Size of the per-loop read scratch buffer.
const SCRATCH: usize = 64 * 1024;

const WAKER_TOKEN: Token = Token(u32::MAX as u64);

fn listener_token(i: usize) -> Token {
    Token::new(u32::MAX - 1 - i as u32, 0)
}

/// What every loop of a server shares (read-only).
pub(crate) struct LoopConfig {
    pub(crate) handler: Arc<dyn Handler>,
    pub(crate) limits: Limits,
    /// `Server: ...\r\n`, or empty.
    pub(crate) server_line: Vec<u8>,
    pub(crate) access_log: bool,
}

/// The part of a loop other threads may touch: its waker and its stop flag.
#[derive(Debug)]
pub(crate) struct Remote {
    waker: Waker,
    stop: AtomicBool,
}

impl Remote {
    pub(crate) fn new() -> io::Result<Self> {
        Ok(Remote { waker: Waker::new()?, stop: AtomicBool::new(false) })
    }

    /// Asks the loop to stop and wakes it.
    pub(crate) fn stop(&self) {
        self.stop.store(true, Ordering::Release);
        self.waker.wake();
    }

    fn is_stopped(&self) -> bool {
        self.stop.load(Ordering::Acquire)
    }
}

struct Entry {
    conn: Conn<std::net::TcpStream>,
    /// The deadline of this connection's live heap entry, if any.
    scheduled: Option<Instant>,
}

/// A worker's loop.
pub(crate) struct EventLoop {
    poller: Poller,
    listeners: Vec<TcpListener>,
    conns: Slots<Entry>,
    timers: Timers,
    again: Vec<Token>,
    events: Vec<(Token, Readiness)>,
    remote: Arc<Remote>,
    config: Arc<LoopConfig>,
    date: DateCache,
    scratch: Box<[u8]>,
    now: Instant,
    accept_pending: bool,
    accept_resume_at: Option<Instant>,
}

impl EventLoop {
    pub(crate) fn new(listeners: Vec<TcpListener>, config: Arc<LoopConfig>, remote: Arc<Remote>) -> io::Result<Self> {
        let poller = Poller::new(1024)?;
        poller.add_reader(&remote.waker, WAKER_TOKEN)?;
        for (i, l) in listeners.iter().enumerate() {
            poller.add_reader(l, listener_token(i))?;
        }
        Ok(EventLoop {
            poller,
            listeners,
            conns: Slots::new(),
            timers: Timers::default(),
            again: Vec::new(),
            events: Vec::with_capacity(1024),
            remote,
            config,
            date: DateCache::new(),
            scratch: vec![0u8; SCRATCH].into_boxed_slice(),
            now: Instant::now(),
            accept_pending: true,
            accept_resume_at: None,
        })
    }

    /// Runs until stopped; then closes every connection.
    pub(crate) fn run(&mut self) -> io::Result<()> {
        while !self.remote.is_stopped() {
            self.wait()?;
            self.dispatch_events();
            if self.accept_pending {
                self.accept_all();
            }
            self.run_again();
            self.run_timers();
        }
        self.close_all();
        Ok(())
    }

    fn wait(&mut self) -> io::Result<()> {
        let timeout = if !self.again.is_empty() || (self.accept_pending && self.accept_resume_at.is_none()) {
            Some(Duration::ZERO)
        } else {
            let timer = self.timers.next_in(Instant::now());
            let backoff = self.accept_resume_at.map(|t| t.saturating_duration_since(Instant::now()));
            match (timer, backoff) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            }
        };
        self.events.clear();
        self.events.extend(self.poller.wait(timeout)?);
        self.now = Instant::now();
        self.date.refresh(SystemTime::now());
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
                self.remote.waker.drain();
            } else if token.slot() >= FIRST_RESERVED {
                self.accept_pending = true;
            } else if let Some(entry) = self.conns.get_mut(token) {
                entry.conn.readable |= ready.readable;
                entry.conn.writable |= ready.writable;
                entry.conn.hangup |= ready.hangup;
                self.turn(token);
            }
        }
    }

    fn run_again(&mut self) {
        for token in std::mem::take(&mut self.again) {
            self.turn(token);
        }
    }

    /// Runs one connection's turn and acts on the result.
    fn turn(&mut self, token: Token) {
        let Some(entry) = self.conns.get_mut(token) else { return };
        let ctx = Ctx {
            handler: &*self.config.handler,
            limits: &self.config.limits,
            date_line: self.date.line(),
            server_line: &self.config.server_line,
            access_log: self.config.access_log,
            now: self.now,
        };
        let after = entry.conn.on_ready(&ctx, &mut self.scratch);
        self.after_turn(token, after);
    }

    fn after_turn(&mut self, token: Token, after: After) {
        match after {
            After::Free => return self.free(token),
            After::Again => self.again.push(token),
            After::Wait => {}
        }
        let Some(entry) = self.conns.get_mut(token) else { return };
        if let Some(deadline) = entry.conn.deadline() {
            // Lazy heap: push only when the deadline moves earlier than the live
            // entry; a later deadline is picked up when the early entry fires.
            if entry.scheduled.is_none_or(|s| deadline < s) {
                entry.scheduled = Some(deadline);
                self.timers.schedule(deadline, token);
            }
        }
    }

    fn run_timers(&mut self) {
        let now = Instant::now();
        while let Some((when, token)) = self.timers.pop_due(now) {
            let Some(entry) = self.conns.get_mut(token) else { continue };
            if entry.scheduled != Some(when) {
                continue; // superseded by an earlier entry
            }
            entry.scheduled = None;
            match entry.conn.deadline() {
                Some(d) if d <= now => {
                    let ctx = Ctx {
                        handler: &*self.config.handler,
                        limits: &self.config.limits,
                        date_line: self.date.line(),
                        server_line: &self.config.server_line,
                        access_log: self.config.access_log,
                        now,
                    };
                    let after = entry.conn.on_timer(&ctx, &mut self.scratch);
                    self.after_turn(token, after);
                }
                Some(d) => {
                    entry.scheduled = Some(d);
                    self.timers.schedule(d, token);
                }
                None => {}
            }
        }
    }

    fn accept_all(&mut self) {
        self.accept_pending = false;
        for i in 0..self.listeners.len() {
            self.accept_from(i);
        }
    }

    fn accept_from(&mut self, i: usize) {
        for _ in 0..ACCEPT_BATCH {
            if self.conns.len() >= self.config.limits.max_connections {
                // Resumed by `free` when a connection closes; clients wait in the backlog.
                return;
            }
            match socket::accept(&self.listeners[i]) {
                Ok((stream, peer)) => self.add_connection(stream, peer),
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

    fn add_connection(&mut self, stream: std::net::TcpStream, peer: Option<std::net::SocketAddr>) {
        let Some(token) = self.conns.next_token() else { return };
        if let Err(e) = self.poller.add_socket(&stream, token) {
            log::error!("epoll add: {e}");
            return;
        }
        let conn = Conn::new(stream, peer, self.now, &self.config.limits);
        let deadline = conn.deadline();
        let token = self.conns.insert(Entry { conn, scheduled: deadline });
        if let Some(d) = deadline {
            self.timers.schedule(d, token);
        }
    }

    fn free(&mut self, token: Token) {
        let Some(entry) = self.conns.remove(token) else { return };
        // Deregister before the fd is closed (when `entry` drops).
        if let Err(e) = self.poller.delete(entry.conn.transport()) {
            log::debug!("epoll delete: {e}");
        }
        drop(entry);
        if self.conns.len() + 1 >= self.config.limits.max_connections {
            self.accept_pending = true;
        }
    }

    fn close_all(&mut self) {
        let entries: Vec<Entry> = self.conns.drain().collect();
        for entry in entries {
            let _ = self.poller.delete(entry.conn.transport());
        }
    }
}
