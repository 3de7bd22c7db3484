//! Input: bytes in, requests out.
//!
//! Reading alternates between two modes. In head mode every complete request head
//! in the buffer is parsed ([`crate::proto::parse`], each read scanning only the
//! bytes it added) and, if it has no body, dispatched at once. A head announcing a body switches to body mode, where the
//! decoder ([`crate::proto::body`]) consumes exactly the body's bytes, so the
//! next pipelined request is never misread as body and vice versa. A body the
//! handler declined (an early answer) is drained the same way, or the connection
//! is closed.

use bytes::{Buf, Bytes, BytesMut};

use super::queue::{ReplyMeta, Slot};
use super::{Conn, Ctx, Phase};
use crate::conn::transport::Transport;
use crate::guard::{self, RequestId};
use crate::handler::{BodyLimit, Reply, ReplyKind};
use crate::observe::LogInfo;
use crate::proto::body::Decoder;
use crate::proto::parse::{BodyKind, HeadScan, ParseError, RequestLine};
use crate::request::{Endpoints, Request};
use crate::responder::Origin;
use crate::response::Response;
use crate::upload::{self, PipeWriter};

/// What the connection is reading.
pub(crate) enum Reading {
    /// The next request head.
    Head,
    /// A request body; `request` is `None` when the body is being drained.
    Body(Box<BodyRead>),
    /// Nothing more: an error, `Connection: close` or the peer's EOF ended the request stream.
    Stopped,
}

/// A body being read for one request.
pub(crate) struct BodyRead {
    decoder: Decoder,
    sink: Sink,
    received: u64,
}

/// Where body bytes go.
// The buffered variant carries the whole request; `BodyRead` is boxed already,
// so the size difference costs one allocation per body, not per connection.
#[allow(clippy::large_enum_variant)]
enum Sink {
    /// Collected for a handler that runs once the body is complete.
    Buffer { request: Request, meta: ReplyMeta, body: BytesMut },
    /// Handed to a handler already running ([`crate::upload`]); `seq` is its
    /// request and `continue_due` says a `100 Continue` awaits its first read.
    /// `close_after`: the reply closes the connection, once the body is in.
    /// `max_body`: the handler's [`BodyLimit`], in bytes.
    Pipe { writer: PipeWriter, seq: u64, continue_due: bool, close_after: bool, max_body: u64 },
    /// Nobody's (the request was answered without it): read and dropped.
    Drain,
}

impl<T: Transport> Conn<T> {
    /// Parses and dispatches every complete request in the buffer, as far as the
    /// reply queue has room.
    pub(super) fn process_input(&mut self, ctx: &Ctx<'_>) {
        while self.phase == Phase::Open && self.replies.len() < ctx.limits.max_pipelined && !self.holds_file() {
            let progressed = match self.reading {
                Reading::Head => self.parse_next(ctx),
                Reading::Body(_) => self.read_body(ctx),
                Reading::Stopped => false,
            };
            if !progressed {
                break;
            }
        }
        let all_dispatched = self.replies.len() < ctx.limits.max_pipelined && !self.holds_file();
        if self.peer_eof && self.reading.is_accepting() && all_dispatched {
            // RFC 9112 §9.6: the peer half-closed. Every complete request has been
            // dispatched and still gets its reply; a trailing partial one never
            // will: one whose body it left unfinished is logged 499 (it left).
            if let (Some(meta), Some(observer)) = (self.reading.take_unanswered(), ctx.observe) {
                Self::record_cut(observer, self.peer, crate::observe::CLIENT_CLOSED, meta);
            }
            self.rbuf.clear();
            self.stop_reading();
        }
    }

    fn parse_next(&mut self, ctx: &Ctx<'_>) -> bool {
        if self.rbuf.is_empty() {
            return false;
        }
        // A head that arrives in one read is scanned from the stack; one that
        // spans reads keeps its scan in a box until it ends (an idle
        // connection holds none).
        let mut fresh = HeadScan::default();
        let scan = self.head_scan.as_deref_mut().unwrap_or(&mut fresh);
        let verdict = scan.parse(&self.rbuf, &ctx.limits.head_limits());
        let line = verdict.is_err().then(|| scan.request_line(&self.rbuf)).flatten();
        match verdict {
            Ok(None) => {
                if self.head_scan.is_none() {
                    self.head_scan = Some(Box::new(fresh));
                }
                false
            }
            Err(e) => {
                log::debug!("{:?}: bad request: {e}", self.peer);
                self.refuse_head(ctx, e, line);
                false
            }
            Ok(Some(parsed)) => {
                self.head_scan = None;
                let head = if parsed.len == self.rbuf.len() {
                    // The usual case, one request per read: the whole buffer
                    // becomes the head without the shared header a split needs.
                    std::mem::take(&mut self.rbuf).freeze()
                } else {
                    self.rbuf.split_to(parsed.len).freeze()
                };
                self.head_started = true;
                let origin = Origin { remote: ctx.remote.clone(), token: self.token, seq: self.next_seq };
                self.next_seq += 1;
                let ends = Endpoints { peer: self.peer, local: self.local_addr() };
                let request = Request::new(head, parsed, ends, origin);
                self.start_request(ctx, request);
                true
            }
        }
    }

    fn start_request(&mut self, ctx: &Ctx<'_>, request: Request) {
        let observe = ctx.observe.map(|o| (o, ctx.now));
        if let Some(o) = ctx.observe {
            o.on_request_bytes(request.head_bytes().len());
        }
        let mut meta = ReplyMeta::of(&request, self.next_seq - 1, observe);
        // Draining: every reply to this request (an early one too) says close.
        meta.close |= self.draining || ctx.remote.is_draining();
        let (body, expect_continue) = (request.parsed().body, request.parsed().expect_continue);
        let decoder = match body {
            BodyKind::None => return self.dispatch(ctx, request, meta),
            BodyKind::Length(n) => Decoder::length(n),
            BodyKind::Chunked => Decoder::chunked(ctx.limits.chunked_limits()),
        };
        let seq = meta.seq;
        let id = || Some(RequestId::of(&request, seq));
        let streams = call_handler(id, || ctx.handler.streams_body(&request)).unwrap_or(None);
        // A streaming handler may take more (or less) than the buffered routes.
        let max_body = match streams {
            Some(BodyLimit::Bytes(n)) => n,
            Some(BodyLimit::Server) | None => ctx.limits.max_body,
        };
        // The handler's own refusal from the head (a 405, a 401) comes first:
        // it says more than a 413 would, and neither reads the body.
        let early = call_handler(id, || ctx.handler.before_body(&request)).unwrap_or_else(Some);
        meta.note_user();
        let too_large = matches!(body, BodyKind::Length(n) if n > max_body);
        if let Some(early) = early {
            // A body over max_body is not drained either: the connection closes.
            return self.answer_early(early, meta, decoder, expect_continue || too_large);
        }
        if too_large {
            // RFC 9110 §15.5.14: refuse a body announced larger than we accept,
            // before reading any of it (a streaming handler's too).
            return self.reject_request(413, Response::BODY_TOO_LARGE, &meta);
        }
        // RFC 9110 §10.1.1: 100 Continue only when we will read the body, and
        // only if the client is still waiting for it (no body bytes yet).
        let continue_due = expect_continue && self.rbuf.is_empty();
        if streams.is_some() {
            return self.start_streaming(ctx, request, meta, decoder, continue_due, max_body);
        }
        if continue_due {
            self.replies.push(Slot::Continue);
        }
        let capacity = decoder.remaining_hint().unwrap_or(0).min(64 * 1024) as usize;
        let sink = Sink::Buffer { request, meta, body: BytesMut::with_capacity(capacity) };
        self.reading = Reading::Body(Box::new(BodyRead { decoder, sink, received: 0 }));
    }

    /// Body-reader mode: the handler runs now and reads the body as it arrives,
    /// up to `max_body` bytes; `100 Continue` waits for its first read.
    fn start_streaming(
        &mut self,
        ctx: &Ctx<'_>,
        mut request: Request,
        meta: ReplyMeta,
        decoder: Decoder,
        continue_due: bool,
        max_body: u64,
    ) {
        let (writer, reader) = upload::pipe();
        request.set_stream(reader);
        let seq = self.next_seq - 1;
        let sink = Sink::Pipe { writer, seq, continue_due, close_after: false, max_body };
        self.reading = Reading::Body(Box::new(BodyRead { decoder, sink, received: 0 }));
        self.dispatch(ctx, request, meta);
    }

    /// The handler answered from the head alone: the body is not for anyone.
    /// It is drained unless `undrainable` (then the connection closes).
    fn answer_early(&mut self, response: Response, mut meta: ReplyMeta, decoder: Decoder, undrainable: bool) {
        meta.close |= response.close;
        if undrainable || meta.close {
            // RFC 9110 §10.1.1: a client told "no" without a 100 may never send the
            // body, so it cannot be drained: close after this reply. And after a
            // closing reply nothing more is read (RFC 9112 §9.6).
            meta.close = true;
            self.replies.push(Slot::Ready(response, meta));
            self.stop_reading();
            return;
        }
        self.replies.push(Slot::Ready(response, meta));
        self.reading = Reading::Body(Box::new(BodyRead { decoder, sink: Sink::Drain, received: 0 }));
    }

    /// Consumes body bytes from the buffer; dispatches the request when complete.
    fn read_body(&mut self, ctx: &Ctx<'_>) -> bool {
        if !self.pipe_is_ready(ctx) {
            return false;
        }
        let Reading::Body(state) = &mut self.reading else { return false };
        let mut progressed = false;
        while !self.rbuf.is_empty() && !state.decoder.is_done() {
            let step = match state.decoder.decode(&self.rbuf) {
                Ok(step) => step,
                Err(e) => {
                    log::debug!("{:?}: bad request body: {e}", self.peer);
                    self.fail_body(e.status(), std::io::ErrorKind::InvalidData, e.reason());
                    return false;
                }
            };
            if step.consumed == 0 {
                break;
            }
            progressed = true;
            state.received += step.data.len() as u64;
            if let Some(o) = ctx.observe {
                o.on_request_bytes(step.data.len());
            }
            if state.received > state.sink.max_body(ctx.limits.max_body) {
                // RFC 9110 §15.5.14; a chunked body has no announced length to check
                // earlier. A streaming handler's reader fails and the connection closes.
                // The handler tells "too large" from "malformed" by the kind.
                self.fail_body(413, std::io::ErrorKind::FileTooLarge, Response::BODY_TOO_LARGE);
                return false;
            }
            state.sink.take(&mut self.rbuf, step.data, step.consumed);
            if let Sink::Pipe { writer, .. } = &state.sink {
                if !writer.has_room(ctx.remote, self.token) {
                    return true; // backpressure: the reader will wake us
                }
            }
        }
        if !state.decoder.is_done() {
            return progressed;
        }
        let Reading::Body(state) = std::mem::replace(&mut self.reading, Reading::Head) else { return true };
        self.head_started = !self.rbuf.is_empty();
        match state.sink {
            Sink::Buffer { mut request, meta, body } => {
                request.set_body(body.freeze());
                self.dispatch(ctx, request, meta);
            }
            Sink::Pipe { writer, close_after, .. } => {
                writer.complete();
                if close_after {
                    self.stop_reading();
                }
            }
            Sink::Drain => {}
        }
        true
    }

    /// For a streamed body: sends a due `100 Continue` once the reader started,
    /// switches to draining once the reader is gone, and says whether the pipe
    /// takes bytes now (else the reader will wake the loop).
    fn pipe_is_ready(&mut self, ctx: &Ctx<'_>) -> bool {
        let Reading::Body(state) = &mut self.reading else { return true };
        let Sink::Pipe { writer, seq, continue_due, .. } = &mut state.sink else { return true };
        if writer.is_reader_gone() {
            if *continue_due {
                // RFC 9110 §10.1.1: the client still waits for a 100 that will
                // not come; it may never send the body: close after the reply.
                self.stop_reading();
            } else {
                state.sink = Sink::Drain;
            }
            return true;
        }
        if *continue_due && writer.is_started(ctx.remote, self.token) {
            *continue_due = false;
            self.replies.insert_continue_before(*seq);
        }
        writer.has_room(ctx.remote, self.token)
    }

    /// A body could not be read (`why`, an error of `kind`): answer `status`
    /// if its request is still unanswered (its own record moves into the
    /// refusal, so it is logged once, with its request line). A drained
    /// body's request already has its answer, and a streaming handler learns
    /// of the failure from its reader and answers itself: no new reply, just
    /// close after the queued ones.
    pub(super) fn fail_body(&mut self, status: u16, kind: std::io::ErrorKind, why: &'static str) {
        if let Some(meta) = self.reading.take_unanswered() {
            return self.reject_request(status, why, &meta);
        }
        if let Reading::Body(state) = &self.reading {
            if let Sink::Pipe { writer, .. } = &state.sink {
                writer.fail(kind, why);
            }
        }
        self.stop_reading();
    }

    /// A graceful shutdown began while a body is read: its request is let
    /// finish. A streamed body is read to its end, then reading stops; a
    /// buffered one's request is dispatched (saying close, as the connection
    /// drains); a body nobody wants is not read any further.
    pub(super) fn close_after_body(&mut self) {
        let Reading::Body(state) = &mut self.reading else { return };
        match &mut state.sink {
            Sink::Pipe { close_after, .. } => *close_after = true,
            Sink::Buffer { .. } => {}
            Sink::Drain => self.stop_reading(),
        }
    }

    /// True while a streaming handler's pipe is full (reading waits for it).
    pub(super) fn is_pipe_full(&self) -> bool {
        match &self.reading {
            Reading::Body(state) => matches!(&state.sink, Sink::Pipe { writer, .. } if writer.is_full()),
            _ => false,
        }
    }

    /// Runs the handler and queues its reply (a panic becomes a 500, see [`crate::guard`]).
    fn dispatch(&mut self, ctx: &Ctx<'_>, request: Request, mut meta: ReplyMeta) {
        let seq = self.next_seq - 1;
        // RFC 9112 §9.6-style drain: once a shutdown is asked (from its lame-duck
        // period on), this is the connection's last request.
        meta.close |= self.draining || ctx.remote.is_draining();
        let peer = self.peer;
        let reply = call_handler(|| Some(RequestId::unwound(peer, seq)), || ctx.handler.handle(request));
        meta.note_user();
        let slot = match reply {
            Ok(Reply(ReplyKind::Now(response))) => {
                meta.close |= response.close;
                Slot::Ready(response, meta)
            }
            Ok(Reply(ReplyKind::Later { seq: s, pending })) if s == seq => Slot::Waiting { seq, pending, meta },
            Ok(Reply(ReplyKind::Later { .. })) => {
                log::error!("a handler returned another request's deferred reply; answering 500");
                Slot::Ready(Response::error(500), meta)
            }
            Err(response) => Slot::Ready(response, meta),
        };
        let close = matches!(&slot, Slot::Ready(_, m) | Slot::Waiting { meta: m, .. } if m.close);
        self.replies.push(slot);
        match &mut self.reading {
            // A streamed body is still coming: stop once it is in.
            Reading::Body(state) if close => match &mut state.sink {
                Sink::Pipe { close_after, .. } => *close_after = true,
                _ => self.stop_reading(),
            },
            _ if close => self.stop_reading(),
            _ => {}
        }
    }

    /// Answers a request porter refuses with `status`, then closes: after a
    /// framing error the rest of the stream cannot be trusted (RFC 9112 §6.3).
    pub(super) fn reject(&mut self, status: u16) {
        self.reject_with(Response::error(status), ReplyMeta::for_error());
    }

    /// Refuses a head that could not be parsed, saying why. When its request
    /// line was valid, the reply follows it (a refused HEAD gets no body, RFC
    /// 9110 §9.3.2) and the access log keeps it.
    fn refuse_head(&mut self, ctx: &Ctx<'_>, error: ParseError, line: Option<RequestLine>) {
        let mut meta = ReplyMeta::for_error();
        if let Some(line) = line {
            meta.is_head = line.method.get(&self.rbuf) == b"HEAD";
            meta.version = line.version;
            let wants_log = ctx.observe.is_some_and(|o| o.wants_log_info());
            meta.log = wants_log.then(|| self.log_info_of(line)).flatten();
        }
        self.reject_with(Response::error_because(error.status(), error.reason()), meta);
    }

    /// The access log's view of `line`, the valid request line of the refused
    /// head at the front of `rbuf`.
    fn log_info_of(&self, line: RequestLine) -> Option<LogInfo> {
        // The spans index the buffer's start; the log needs no more than the target.
        let head = Bytes::copy_from_slice(self.rbuf.get(..line.target.end as usize)?);
        Some(LogInfo {
            head,
            method: line.method,
            target: line.target,
            version: line.version,
            referer: None,
            user_agent: None,
            host: None,
            user: None,
        })
    }

    /// Like [`Conn::reject`], for a request whose head was parsed, saying
    /// why: a refused HEAD still gets no body (RFC 9110 §9.3.2).
    fn reject_request(&mut self, status: u16, why: &str, request: &ReplyMeta) {
        let meta = ReplyMeta {
            is_head: request.is_head,
            log: request.log.clone(),
            log_missed: request.log_missed,
            started: request.started,
            ..ReplyMeta::for_error()
        };
        self.reject_with(Response::error_because(status, why), meta);
    }

    fn reject_with(&mut self, response: Response, meta: ReplyMeta) {
        self.replies.drop_pending_continue();
        self.replies.push(Slot::Ready(response, meta));
        self.stop_reading();
    }

    /// No more requests will be read; the last reply says `Connection: close`.
    pub(super) fn stop_reading(&mut self) {
        self.reading = Reading::Stopped;
        self.replies.drop_pending_continue();
        if self.replies.close_after_last() {
            return;
        }
        match self.out.in_flight.as_mut() {
            Some(flight) => flight.meta.close = true,
            None if self.phase == Phase::Open => self.phase = Phase::Closing,
            None => {}
        }
    }
}

impl Sink {
    /// The most body bytes this sink takes: a streaming handler's own limit,
    /// else the server's `max_body`.
    fn max_body(&self, server: u64) -> u64 {
        match self {
            Sink::Pipe { max_body, .. } => *max_body,
            Sink::Buffer { .. } | Sink::Drain => server,
        }
    }

    /// Takes one decoded step's bytes out of `rbuf`: `data` (a range of it) goes
    /// to the sink, and `consumed` bytes are removed.
    fn take(&mut self, rbuf: &mut BytesMut, data: std::ops::Range<usize>, consumed: usize) {
        match self {
            Sink::Buffer { body, .. } => body.extend_from_slice(&rbuf[data]),
            Sink::Pipe { writer, .. } => {
                // Zero-copy: the piece is split off the read buffer.
                let mut rest = rbuf.split_to(consumed);
                rest.advance(data.start);
                rest.truncate(data.len());
                writer.push(rest.freeze());
                return;
            }
            Sink::Drain => {}
        }
        rbuf.advance(consumed);
    }
}

impl Reading {
    /// True while more request bytes are wanted.
    pub(crate) fn is_accepting(&self) -> bool {
        matches!(self, Reading::Head | Reading::Body(_))
    }

    /// True while the body of a request whose handler has not run yet is
    /// being collected.
    pub(crate) fn holds_unanswered(&self) -> bool {
        matches!(self, Reading::Body(state) if matches!(state.sink, Sink::Buffer { .. }))
    }

    /// The record of a request whose body is being collected: its handler
    /// has not run, so no reply is queued for it. Taken when its reading
    /// ends without the body (reading stops: nothing more is read); every
    /// other request is in the reply queue or the output already.
    pub(crate) fn take_unanswered(&mut self) -> Option<ReplyMeta> {
        if !self.holds_unanswered() {
            return None;
        }
        let Reading::Body(state) = std::mem::replace(self, Reading::Stopped) else { return None };
        let Sink::Buffer { meta, .. } = state.sink else { return None };
        Some(meta)
    }
}

/// Calls the handler (the application's code) on `request` through the
/// user-code boundary: a panic is logged and becomes a 500 response.
fn call_handler<R>(request: impl FnOnce() -> Option<RequestId>, f: impl FnOnce() -> R) -> Result<R, Response> {
    guard::call_naming("the request handler", request, f).map_err(|_| Response::error(500))
}
