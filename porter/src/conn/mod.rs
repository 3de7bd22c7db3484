//! One client connection: its socket, buffers, request reading and reply queue.
//!
//! The connection manager of the design: it owns the transport and both
//! buffers; parsed requests are dispatched in order and their replies queued in
//! order ([`queue`]); a request with a body switches reading to body mode until
//! the body is read or drained ([`input`]); replies are coalesced into one write
//! ([`output`]). On a PROXY listener the balancer's header comes first
//! ([`preface`]).
//!
//! Lifecycle: `Open` (reading requests) → `Closing` (no more requests will be
//! read; queued replies still go out) → `Lingering` (our side is shut down; the
//! peer's remaining bytes are read and dropped so the kernel does not answer them
//! with a reset that would destroy the last reply, RFC 9112 §9.6) → `Dead` (the
//! loop deregisters and frees it). A connection never frees itself.
//!
//! Invariants: at most `max_pipelined` replies are queued; the output buffer
//! grows past [`output::HIGH_WATER`] only by one encoded reply; an idle
//! keep-alive connection holds no buffer memory.

pub(crate) mod input;
pub(crate) mod output;
pub(crate) mod preface;
pub(crate) mod queue;
pub(crate) mod timer;
pub(crate) mod transport;

#[cfg(any(test, feature = "fuzzing"))]
pub(crate) mod script;
#[cfg(test)]
mod tests;

use std::io::{self, ErrorKind};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use bytes::BytesMut;

use crate::event_loop::remote::Remote;
use crate::handler::Handler;
use crate::limits::{deadline_after, Limits};
use crate::observe::{self, Finished, Observer};
use crate::proto::parse::HeadScan;
use crate::responder::Answer;
use crate::responder::Pending;
use crate::sys::poller::Token;
use input::Reading;
use output::{HeadContext, Output};
use preface::Preface;
use queue::ReplyQueue;
use timer::{InputState, Progress, Summary, TimerKind};
use transport::Transport;

/// The most bytes read from one connection per turn, so one busy client cannot
/// starve the others on its loop.
const READ_BUDGET: usize = 256 * 1024;

/// Where a connection is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Phase {
    Open,
    Closing,
    Lingering,
    Dead,
}

/// Everything a connection borrows from its loop for one turn.
pub(crate) struct Ctx<'a> {
    pub(crate) handler: &'a dyn Handler,
    pub(crate) limits: &'a Limits,
    pub(crate) date_line: &'a [u8],
    pub(crate) server_line: &'a [u8],
    /// The worker's access log and metrics; `None` when neither is configured.
    pub(crate) observe: Option<&'a Observer>,
    pub(crate) now: Instant,
    /// The loop's inbox, for answers and wake-ups from other threads.
    pub(crate) remote: &'a Arc<Remote>,
}

impl<T: Transport> Drop for Conn<T> {
    fn drop(&mut self) {
        if !self.out.is_idle() {
            // A reply is cut short (a failed body, a timeout, shutdown's end):
            // the transport must not announce a clean close.
            self.io.end_abruptly();
        }
    }
}

/// What the loop should do with a connection after a turn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum After {
    /// Wait for the next readiness event or timer.
    Wait,
    /// It still has work (read budget used up): run it again next iteration.
    Again,
    /// It is dead: deregister and free it.
    Free,
}

/// A client connection over transport `T`.
pub(crate) struct Conn<T: Transport> {
    io: T,
    /// This connection's token on its loop (answers from other threads name it).
    token: Token,
    /// The sequence number the next parsed request gets.
    next_seq: u64,
    /// The server stopped accepting: `Connection: close` on the next reply,
    /// and once idle after a request, a staged close (see [`Conn::begin_drain`]).
    draining: bool,
    peer: Option<SocketAddr>,
    /// The address the client connected to, when known.
    local: Option<SocketAddr>,
    rbuf: BytesMut,
    /// How far the head at the front of `rbuf` has been scanned: each read scans only its new bytes.
    head_scan: Option<Box<HeadScan>>,
    reading: Reading,
    replies: ReplyQueue,
    out: Output,
    phase: Phase,
    /// Readiness remembered between edge-triggered events.
    pub(crate) readable: bool,
    pub(crate) writable: bool,
    /// epoll reported the peer's FIN or an error: read until EOF or the error shows.
    pub(crate) hangup: bool,
    timer: TimerKind,
    deadline: Option<Instant>,
    /// A new request head began since the timer was last set.
    head_started: bool,
    /// When the head begun at the front of `rbuf` must be complete (see
    /// [`timer::deadline_of`]); `None` while no head is begun.
    head_deadline: Option<Instant>,
    /// The peer sent EOF (half-closed): no more bytes will come.
    peer_eof: bool,
    /// The client went away (its EOF while an answer was awaited, a reset):
    /// a request it got no byte of a reply to is logged 499, as nginx does.
    client_left: bool,
    /// `Some(largest v2 header)` while a PROXY protocol header is still awaited.
    proxy_header: Option<usize>,
}

impl<T: Transport> Conn<T> {
    /// A fresh connection, assumed readable and writable until told otherwise.
    pub(crate) fn new(io: T, token: Token, peer: Option<SocketAddr>, now: Instant, limits: &Limits) -> Self {
        Conn {
            io,
            token,
            next_seq: 0,
            draining: false,
            peer,
            local: None,
            rbuf: BytesMut::new(),
            head_scan: None,
            reading: Reading::Head,
            replies: ReplyQueue::default(),
            out: Output::default(),
            phase: Phase::Open,
            readable: true,
            writable: true,
            hangup: false,
            timer: TimerKind::Header,
            deadline: Some(deadline_after(now, limits.header_timeout)),
            head_started: false,
            head_deadline: None,
            peer_eof: false,
            client_left: false,
            proxy_header: None,
        }
    }

    /// Records the address the client connected to.
    pub(crate) fn set_local_addr(&mut self, local: Option<SocketAddr>) {
        self.local = local;
    }

    /// Makes the connection read a PROXY protocol header (v2 at most `max_v2`
    /// bytes) before anything else ([`preface`]).
    pub(crate) fn expect_proxy_header(&mut self, max_v2: usize) {
        self.proxy_header = Some(max_v2);
    }

    /// The address the client connected to. On a wildcard listener it is
    /// asked of the socket (getsockname) at the first request, not at accept,
    /// so a connection that never sends a head never pays for it.
    fn local_addr(&mut self) -> Option<SocketAddr> {
        if self.local.is_some_and(|a| a.ip().is_unspecified()) {
            self.local = self.io.raw_socket().and_then(|s| s.local_addr().ok());
        }
        self.local
    }

    /// The transport (the loop needs the fd to deregister it).
    pub(crate) fn transport(&self) -> &T {
        &self.io
    }

    /// When this connection's current timeout fires, if one applies.
    pub(crate) fn deadline(&self) -> Option<Instant> {
        self.deadline
    }

    /// Runs one turn: read what is readable, handle complete requests, write
    /// ready replies, until nothing moves or the read budget is spent.
    pub(crate) fn on_ready(&mut self, ctx: &Ctx<'_>, scratch: &mut [u8]) -> After {
        match self.try_read_preface(scratch) {
            Preface::Done => {}
            Preface::Wait => {
                self.settle(ctx.now, ctx.limits, Progress::default());
                return After::Wait;
            }
            Preface::Failed => {
                self.phase = Phase::Dead;
                return After::Free;
            }
        }
        let mut budget = READ_BUDGET;
        let mut progress = Progress::default();
        let after = loop {
            let read = self.try_read(scratch, &mut budget, ctx.limits);
            self.process_input(ctx);
            let wrote = self.try_flush(ctx, scratch);
            if self.draining && self.phase == Phase::Open && self.next_seq > 0 && self.is_idle() {
                self.phase = Phase::Closing; // a staged close, next line (RFC 9112 §9.6)
            }
            self.advance_phase();
            progress.read |= read;
            progress.wrote |= wrote;
            if self.phase == Phase::Dead {
                return After::Free;
            }
            if !(read || wrote) {
                break After::Wait;
            }
            if budget == 0 {
                break if self.readable { After::Again } else { After::Wait };
            }
        };
        self.settle(ctx.now, ctx.limits, progress);
        after
    }

    /// Delivers the answer to deferred request `seq` (false if it is not waiting).
    pub(crate) fn on_answer(&mut self, seq: u64, response: Answer) -> bool {
        self.replies.answer(seq, response)
    }

    /// Empties the reply queue of a dying connection: the deferred requests
    /// still waiting, for the loop to cancel and keep track of. Every request
    /// not answered in full is recorded with `observer`: a reply cut short with
    /// the status sent and the body bytes that went out
    /// ([`output::Output::take_unfinished`]), one without a byte of reply as
    /// [`Conn::no_reply_status`] says.
    pub(crate) fn abandon(&mut self, observer: Option<&Observer>) -> Vec<(u64, Arc<Pending>)> {
        let (status, peer) = (self.no_reply_status(), self.peer);
        if let Some(observer) = observer {
            for done in self.out.take_unfinished(status) {
                observer.on_reply(&done, peer);
            }
        }
        self.abandon_queue(|_, meta| {
            if let Some(observer) = observer {
                Self::record_cut(observer, peer, status, meta);
            }
        })
    }

    /// Empties the reply queue: the requests queued behind the last reply that
    /// will go out never get one, nor does a request whose body is still being
    /// read (reading stops); each goes to `unanswered`, in order. Returns the
    /// deferred ones still waiting.
    fn abandon_queue(&mut self, mut unanswered: impl FnMut(&mut Output, queue::ReplyMeta)) -> Vec<(u64, Arc<Pending>)> {
        let out = &mut self.out;
        let waiting = self.replies.abandon(|meta| unanswered(out, meta));
        if let Some(meta) = self.reading.take_unanswered() {
            unanswered(&mut self.out, meta);
        }
        waiting
    }

    /// Records a request that got no byte of a reply: access-log line and
    /// metrics, with `status` and no body.
    fn record_cut(observer: &Observer, peer: Option<SocketAddr>, status: u16, meta: queue::ReplyMeta) {
        let done =
            Finished { status, body_bytes: 0, started: meta.started, log: meta.log, log_missed: meta.log_missed };
        observer.on_reply(&done, peer);
    }

    /// The status logged for a request that got no byte of a reply: 499 when
    /// the client left, 444 when porter closed (a timeout, the shutdown
    /// grace's end, a failure), the codes nginx logs for these.
    fn no_reply_status(&self) -> u16 {
        if self.client_left {
            observe::CLIENT_CLOSED
        } else {
            observe::NO_RESPONSE
        }
    }

    /// Starts a graceful shutdown: no new requests after those already begun,
    /// `Connection: close` on the last reply. Idle after a request (kept
    /// alive), the connection is closed in stages in its next turn (the loop
    /// gives it one at once): our FIN
    /// first, then the peer's bytes read and dropped until its own FIN (RFC
    /// 9112 §9.6), so that a request crossing our FIN meets an orderly close,
    /// not a reset. A connection that has sent no request yet is not idle but
    /// new (as Go's `Server.Shutdown` sees it): its client connected to send
    /// one, and that request is answered (with `Connection: close`) if it
    /// comes within the header timeout.
    /// A request whose body is being collected was begun too: it is read in
    /// full and answered, and its reply closes (its dispatch sees `draining`).
    pub(crate) fn begin_drain(&mut self) {
        self.draining = true;
        match self.reading {
            // Between requests: the queued replies are the last.
            Reading::Head if !self.is_idle() && self.replies.close_after_last() => self.reading = Reading::Stopped,
            Reading::Body(_) => self.close_after_body(),
            _ => {}
        }
    }

    /// True when nothing is begun: no partial request, no reply queued or going out.
    fn is_idle(&self) -> bool {
        matches!(self.reading, Reading::Head)
            && self.rbuf.is_empty()
            && self.replies.is_empty()
            && self.out.is_idle()
            && !self.io.wants_write() // TLS: the last reply's ciphertext is still held
    }

    /// Fires the current timeout if `now` has reached it.
    pub(crate) fn on_timer(&mut self, ctx: &Ctx<'_>, scratch: &mut [u8]) -> After {
        match self.deadline {
            Some(d) if d <= ctx.now => {}
            _ => return After::Wait,
        }
        log::debug!("{:?}: {:?} timeout", self.peer, self.timer);
        match self.timer {
            TimerKind::None => return After::Wait,
            // A connection that never sent a byte is closed without a word.
            TimerKind::Header if self.rbuf.is_empty() => self.phase = Phase::Dead,
            // RFC 9110 §15.5.9: 408 for a request that did not arrive in time.
            TimerKind::Header => self.reject(408),
            // Only a request still unanswered gets it; an answered one (its
            // body drained, or read by its streaming handler) just closes.
            TimerKind::Body => self.fail_body(408, ErrorKind::TimedOut, "request body timed out"),
            TimerKind::Idle | TimerKind::Write | TimerKind::Linger => self.phase = Phase::Dead,
        }
        self.deadline = None;
        self.timer = TimerKind::None;
        if self.phase == Phase::Dead {
            return After::Free;
        }
        self.on_ready(ctx, scratch)
    }

    fn try_read(&mut self, scratch: &mut [u8], budget: &mut usize, limits: &Limits) -> bool {
        let mut progressed = false;
        while self.readable && *budget > 0 && self.wants_input(limits) {
            match self.io.read(scratch) {
                Ok(0) => {
                    self.on_peer_eof();
                    return true;
                }
                Ok(n) => {
                    *budget = budget.saturating_sub(n);
                    progressed = true;
                    // A short read drained the socket: bytes arriving later raise a
                    // new edge, so skip the read that would only say EAGAIN (as
                    // nginx does). Not when a FIN is pending: it must be read as EOF.
                    // TLS: rustls may hold more (an EOF after plaintext) than the socket.
                    if n < scratch.len() && !self.hangup && !self.io.has_buffered_input() {
                        self.readable = false;
                    }
                    if self.phase == Phase::Lingering {
                        continue; // drop the peer's leftovers
                    }
                    if self.rbuf.is_empty() && matches!(self.reading, Reading::Head) {
                        self.head_started = true;
                    }
                    self.rbuf.extend_from_slice(&scratch[..n]);
                    // Parse before reading more, so a flood is bounded by the limits.
                    return true;
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => self.readable = false,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => {
                    self.on_io_error("read", &e);
                    return true;
                }
            }
        }
        progressed
    }

    /// True when the connection should read now: not while the reply queue or
    /// the output buffer is full (backpressure on pipelining clients).
    fn wants_input(&self, limits: &Limits) -> bool {
        match self.phase {
            Phase::Open => {
                self.reading.is_accepting()
                    && self.replies.len() < limits.max_pipelined
                    && !self.out.is_full()
                    && !self.is_pipe_full()
                    && !self.holds_file()
            }
            Phase::Lingering => true,
            Phase::Closing | Phase::Dead => false,
        }
    }

    /// True while a reply holding an open file is queued or going out: the
    /// next request is not read until it is sent, so a pipelining client
    /// holds one file at most, as the connection cap assumes (its socket and
    /// one file, see `event_loop::accept`). (A deferred answer's file is the
    /// application's, opened off the loop.)
    fn holds_file(&self) -> bool {
        self.replies.ends_with_file() || self.out.sends_file()
    }

    fn on_peer_eof(&mut self) {
        self.readable = false;
        match self.phase {
            Phase::Lingering => self.phase = Phase::Dead,
            // RFC 9112 §9.6: a half-closed client still gets its queued replies;
            // an incomplete request is simply abandoned.
            // A client gone while a deferred answer is pending is treated as an
            // abort (as nginx does for proxied requests): cancel, don't answer.
            _ if self.replies.has_waiting() => {
                self.client_left = true;
                self.phase = Phase::Dead;
            }
            // The buffered requests are still processed (see `process_input`).
            _ => self.peer_eof = true,
        }
    }

    fn on_io_error(&mut self, what: &str, e: &io::Error) {
        log::debug!("{:?}: {what} failed: {e}", self.peer);
        self.client_left |=
            matches!(e.kind(), ErrorKind::BrokenPipe | ErrorKind::ConnectionReset | ErrorKind::ConnectionAborted);
        self.phase = Phase::Dead;
    }

    /// Writes what is ready: encode replies, write, repeat until the socket
    /// pushes back or nothing is left. Returns true if any byte went out.
    fn try_flush(&mut self, ctx: &Ctx<'_>, scratch: &mut [u8]) -> bool {
        let mut progressed = false;
        while self.writable && matches!(self.phase, Phase::Open | Phase::Closing) {
            self.fill_output(ctx, scratch);
            if self.phase == Phase::Closing && self.out.is_idle() && self.replies.is_empty() {
                // The last reply is in the transport: TLS queues close_notify
                // behind it, to leave in the same write (idempotent).
                self.io.end_of_output();
            }
            let result = match self.out.write_to(&mut self.io) {
                Some(written) => written.inspect(|_| {
                    if let Some(observer) = ctx.observe {
                        self.report_written(observer);
                    }
                }),
                // TLS: ciphertext rustls still holds after our output is all written.
                None if self.io.wants_write() => self.io.flush_pending(),
                None => break,
            };
            match result {
                Ok(0) => {
                    self.on_io_error("write", &io::Error::from(ErrorKind::WriteZero));
                    break;
                }
                Ok(_) => progressed = true,
                Err(e) if e.kind() == ErrorKind::WouldBlock => self.writable = false,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => self.on_io_error("write", &e),
            }
        }
        progressed
    }

    /// Encodes ready replies into the output buffer, in order, up to the high-water mark.
    fn fill_output(&mut self, ctx: &Ctx<'_>, scratch: &mut [u8]) {
        let head_cx = HeadContext { date_line: ctx.date_line, server_line: ctx.server_line };
        while matches!(self.phase, Phase::Open | Phase::Closing) {
            if self.out.in_flight.is_some() {
                match self.out.pump_body(scratch, (ctx.remote, self.token), &head_cx, self.peer) {
                    Ok(true) => self.finish_reply(ctx),
                    Ok(_) => return,
                    // The client was promised bytes that will not come: close.
                    Err(_) => self.phase = Phase::Dead,
                }
                continue;
            }
            if self.out.is_full() {
                return;
            }
            match self.replies.pop_ready() {
                Some(slot) => self.out.start(slot, &head_cx),
                None => return,
            }
        }
    }

    fn finish_reply(&mut self, ctx: &Ctx<'_>) {
        let observed = ctx.observe.is_some();
        let Some(close) = self.out.finish(observed) else { return };
        if close {
            // RFC 9112 §9.6: after a reply with `Connection: close`, send nothing
            // more. Requests still waiting for an answer will never get one
            // out: their responders hear it now, as when the client leaves.
            // They are logged after the closing reply, in order.
            let status = self.no_reply_status();
            let unanswered = |out: &mut Output, meta| {
                if observed {
                    out.push_unanswered(meta, status);
                }
            };
            for (_, pending) in self.abandon_queue(unanswered) {
                pending.cancel();
            }
            self.stop_reading();
            self.phase = Phase::Closing;
        }
        if let Some(observer) = ctx.observe {
            self.report_written(observer);
        }
    }

    /// Records the replies whose last byte has been written.
    fn report_written(&mut self, observer: &Observer) {
        while let Some(done) = self.out.pop_written() {
            observer.on_reply(&done, self.peer);
        }
    }

    /// Moves Closing → Lingering once every reply is out.
    fn advance_phase(&mut self) {
        if self.phase != Phase::Closing || !self.out.is_idle() || !self.replies.is_empty() || self.io.wants_write() {
            return;
        }
        if !self.readable && self.rbuf.is_empty() && self.peer_done() {
            self.phase = Phase::Dead;
            return;
        }
        match self.io.shutdown_write() {
            Ok(()) => {
                self.phase = Phase::Lingering;
                self.rbuf = BytesMut::new();
            }
            Err(_) => self.phase = Phase::Dead,
        }
    }

    fn peer_done(&self) -> bool {
        self.peer_eof
    }

    /// After a turn: release idle memory and pick the timeout that now applies
    /// ([`timer`]).
    fn settle(&mut self, now: Instant, limits: &Limits, mut progress: Progress) {
        if self.rbuf.is_empty() && self.rbuf.capacity() > 0 {
            self.rbuf = BytesMut::new();
        }
        self.out.release_memory();
        self.replies.release_memory();
        let summary = self.summary(limits);
        let kind = timer::timer_for(&summary);
        progress.head_started = std::mem::take(&mut self.head_started);
        let begun = summary.input == (InputState::Head { begun: true });
        // A head's clock starts at its first byte, and starts over when the
        // application held the input back (paused, no timeout) in between.
        if !begun {
            self.head_deadline = None;
        } else if progress.head_started || self.head_deadline.is_none() || self.timer == TimerKind::None {
            self.head_deadline = Some(deadline_after(now, limits.header_timeout));
        }
        if timer::restarts(kind, self.timer, progress) {
            self.timer = kind;
            self.deadline = timer::deadline_of(kind, self.head_deadline, now, limits);
        }
    }

    /// The parts of this connection's state its timeout depends on.
    fn summary(&self, limits: &Limits) -> Summary {
        let input = match self.reading {
            Reading::Head => InputState::Head { begun: !self.rbuf.is_empty() },
            Reading::Body(_) => InputState::Body,
            Reading::Stopped => InputState::Stopped,
        };
        Summary {
            phase: self.phase,
            proxy_header: self.proxy_header.is_some(),
            handshaking: self.io.is_handshaking(),
            input,
            paused: self.phase == Phase::Open && self.reading.is_accepting() && !self.wants_input(limits),
            output: self.out.state(),
            transport_held: self.io.wants_write(),
            replies_queued: !self.replies.is_empty(),
            draining_unused: self.draining && self.next_seq == 0,
        }
    }
}
