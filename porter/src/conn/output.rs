//! Output: ready replies are encoded into one buffer and written together.
//!
//! Every reply at the front of the queue that is ready is encoded (head and, for
//! small in-memory bodies, the body) into one buffer, so pipelined replies leave
//! in one write per wake-up. A larger in-memory body is not copied: it goes out
//! from its own shared `Bytes`, behind the buffered head in the same `writev`,
//! so N slow clients of one 10 MiB body cost one 10 MiB body, not N. A streamed
//! body (reader or channel) is pulled into the buffer only while it is below
//! the high-water mark, and a file goes out with sendfile once the buffer is
//! empty, so a slow reader never makes porter buffer a large body. A body that
//! does not go through the buffer holds the front until it is done.
//!
//! Positions count the bytes of the connection's output stream since it began:
//! each reply knows where it starts and where its body starts, and `sent` says
//! how far the transport took the stream. When the server observes replies
//! (access log, metrics), each finished reply leaves a [`Finished`] record,
//! handed back ([`Output::pop_written`]) once `sent` passes its end; a reply
//! the connection never finishes is handed back by [`Output::take_unfinished`]
//! with the body bytes that actually went out.
//!
//! A body reader is the application's code: it is read through
//! [`crate::guard`]. If it panics before any byte of its reply went out, the
//! reply becomes a `500` (its head is taken back out of the buffer); after
//! that, the connection is cut like for any failed body.

use std::collections::VecDeque;
use std::fs::File;
use std::io::{self, IoSlice, Read};
use std::net::SocketAddr;
use std::sync::Arc;

use bytes::{Buf, Bytes};

use crate::conn::queue::{ReplyMeta, Slot};
use crate::conn::timer::OutputState;
use crate::conn::transport::Transport;
use crate::event_loop::remote::Remote;
use crate::guard::{self, Owned, Panicked, RequestId};
use crate::observe::Finished;
use crate::proto::encode::{self, Framing, HeadParts};
use crate::proto::parse::Version;
use crate::response::{BodyKind, Response};
use crate::stream::{Pull, Receiver};
use crate::sys::poller::Token;

/// Stop encoding or pulling body data once this much output is waiting.
pub(crate) const HIGH_WATER: usize = 64 * 1024;
/// The most a streamed body contributes to the buffer per pull.
const STREAM_PIECE: usize = 16 * 1024;
/// In-memory bodies this large or larger are written from their own `Bytes`
/// instead of being copied into the buffer (smaller ones are copied, so that
/// pipelined replies still leave together).
pub(crate) const SHARED_BODY: usize = 16 * 1024;
/// What an empty output buffer reserves before its first reply: a typical head
/// and small body fit without the buffer growing header by header (the buffer
/// is given back at the end of every turn that leaves it empty, so this is
/// once per burst of replies).
const FIRST_CAPACITY: usize = 1024;

/// Static bits every response head needs, owned by the loop.
pub(crate) struct HeadContext<'a> {
    pub(crate) date_line: &'a [u8],
    pub(crate) server_line: &'a [u8],
}

/// The reply whose head has been encoded but whose body is still going out.
pub(crate) struct InFlight {
    pub(crate) meta: ReplyMeta,
    pub(crate) status: u16,
    extent: Extent,
    body: Option<Streaming>,
}

/// Where one reply lies in the output stream, and its body's size so far.
#[derive(Clone, Copy, Debug)]
struct Extent {
    /// The position of its head's first byte.
    start: u64,
    /// The position of its body's first byte.
    body: u64,
    /// Body bytes produced, as they go on the wire (chunk framing included,
    /// as nginx's `$body_bytes_sent` counts them): the whole length of an
    /// in-memory or file body, what has been encoded so far of a reader or
    /// channel. Finished and cut replies are counted the same way.
    payload: u64,
}

impl Extent {
    /// The body bytes that went out once the transport took the stream up to `sent`.
    fn body_sent(&self, sent: u64) -> u64 {
        self.payload.min(sent.saturating_sub(self.body))
    }
}

/// A reply encoded in full whose last byte is not written yet.
struct Unwritten {
    end: u64,
    extent: Extent,
    done: Finished,
}

enum Streaming {
    Reader {
        reader: Owned<dyn Read + Send>,
        remaining: Option<u64>,
        chunked: bool,
    },
    Channel {
        receiver: Receiver,
        remaining: Option<u64>,
        chunked: bool,
    },
    File {
        file: File,
        offset: u64,
        remaining: u64,
    },
    /// An in-memory body written from its own `Bytes`; what is left of it.
    Shared(Bytes),
}

/// Why a streamed body could not be completed: the connection must close,
/// because the client has been promised bytes that will not come.
#[derive(Debug)]
pub(crate) struct BodyFailed;

/// The output buffer and the reply in flight.
#[derive(Default)]
pub(crate) struct Output {
    buf: Vec<u8>,
    /// How much of `buf` has been written.
    written: usize,
    /// How much of the output stream the transport has taken.
    sent: u64,
    pub(crate) in_flight: Option<InFlight>,
    /// Observed replies encoded in full, in order, until written.
    finished: VecDeque<Unwritten>,
}

impl Output {
    /// Bytes encoded but not yet written.
    pub(crate) fn pending(&self) -> usize {
        self.buf.len() - self.written
    }

    /// True when nothing is buffered and no body is streaming.
    pub(crate) fn is_idle(&self) -> bool {
        self.pending() == 0 && self.in_flight.is_none()
    }

    /// True while a file body is going out (its file is open).
    pub(crate) fn sends_file(&self) -> bool {
        matches!(self.in_flight.as_ref().map(|f| &f.body), Some(Some(Streaming::File { .. })))
    }

    /// True when the buffer is full enough to stop producing more.
    pub(crate) fn is_full(&self) -> bool {
        self.pending() >= HIGH_WATER
    }

    /// The buffer's allocated size (tests check that shared bodies stay out of it).
    #[cfg(test)]
    pub(crate) fn capacity(&self) -> usize {
        self.buf.capacity()
    }

    /// The output stream's position where the next encoded byte goes.
    fn position(&self) -> u64 {
        self.sent + self.pending() as u64
    }

    /// What the output holds, for the connection's timer ([`crate::conn::timer`]).
    pub(crate) fn state(&self) -> OutputState {
        if self.pending() > 0 {
            return OutputState::Buffered;
        }
        match self.in_flight.as_ref().map(|f| &f.body) {
            None => OutputState::Idle,
            // Encoded in full: finished by the next pass over the queue.
            Some(None) => OutputState::Buffered,
            Some(Some(Streaming::Reader { .. })) => OutputState::Reader,
            Some(Some(Streaming::Channel { .. })) => OutputState::Channel,
            Some(Some(Streaming::File { .. })) => OutputState::File,
            Some(Some(Streaming::Shared(_))) => OutputState::Shared,
        }
    }

    /// Gives the buffer's memory back (idle keep-alive connections hold none).
    pub(crate) fn release_memory(&mut self) {
        if self.is_idle() {
            self.buf = Vec::new();
            self.written = 0;
        }
    }

    /// Hands the next bytes to `io`: the buffer (with a shared body behind it
    /// in the same `writev`, or corked in front of a file body so head and
    /// body share packets), else the rest of a shared body, else the next part
    /// of a file with sendfile. `None` when nothing is ready to write.
    pub(crate) fn write_to(&mut self, io: &mut impl Transport) -> Option<io::Result<usize>> {
        let unwritten = &self.buf[self.written..];
        let body = self.in_flight.as_mut().and_then(|f| f.body.as_mut());
        let result = match body {
            Some(Streaming::Shared(shared)) if !unwritten.is_empty() => {
                io.write_pieces(&[IoSlice::new(unwritten), IoSlice::new(shared)])
            }
            Some(Streaming::File { remaining, .. }) if !unwritten.is_empty() && *remaining > 0 => {
                io.write_more(unwritten)
            }
            _ if !unwritten.is_empty() => io.write(unwritten),
            Some(Streaming::Shared(shared)) if !shared.is_empty() => io.write(shared),
            Some(Streaming::File { file, offset, remaining }) if *remaining > 0 => {
                send_file_part(io, file, offset, remaining)
            }
            _ => return None,
        };
        if let Ok(n) = result {
            self.advance(n);
        }
        Some(result)
    }

    /// Records that the transport took `n` more bytes: the buffer's first,
    /// then a shared body's (a file part leaves with the buffer empty).
    fn advance(&mut self, n: usize) {
        self.sent += n as u64;
        let from_buf = n.min(self.pending());
        self.written += from_buf;
        if self.written == self.buf.len() {
            self.buf.clear();
            self.written = 0;
        }
        if let Some(InFlight { body: Some(Streaming::Shared(shared)), .. }) = self.in_flight.as_mut() {
            shared.advance(n - from_buf);
        }
    }

    /// The next finished reply whose last byte has been written, if any.
    pub(crate) fn pop_written(&mut self) -> Option<Finished> {
        match self.finished.front() {
            Some(u) if u.end <= self.sent => self.finished.pop_front().map(|u| u.done),
            _ => None,
        }
    }

    /// Every observed reply not written in full, in order: finished ones whose
    /// bytes still wait, then the one in flight. Each carries the status the
    /// client began to receive, or `no_reply` when not one byte of it went
    /// out, and the body bytes that did go out. The reply in flight stays in
    /// flight: the connection is dropped with it, and its transport must know
    /// that the close is not a clean one.
    pub(crate) fn take_unfinished(&mut self, no_reply: u16) -> Vec<Finished> {
        let mut cut = Vec::with_capacity(self.finished.len() + 1);
        let records = self.finished.drain(..).map(|u| (u.extent, u.done));
        let flight = self.in_flight.as_mut().map(|f| (f.extent, f.take_record()));
        for (extent, mut done) in records.chain(flight) {
            if self.sent <= extent.start {
                done.status = no_reply;
            }
            done.body_bytes = extent.body_sent(self.sent);
            cut.push(done);
        }
        cut
    }

    /// Records a request that will get no reply because the reply before it
    /// closes the connection: its `status` (nothing of it goes out) is
    /// reported after that reply's, in order ([`Output::pop_written`]).
    pub(crate) fn push_unanswered(&mut self, meta: ReplyMeta, status: u16) {
        let at = self.position();
        let extent = Extent { start: at, body: at, payload: 0 };
        let done =
            Finished { status, body_bytes: 0, started: meta.started, log: meta.log, log_missed: meta.log_missed };
        self.finished.push_back(Unwritten { end: at, extent, done });
    }

    /// Encodes `slot` (the queue's front). Starts streaming its body if needed.
    pub(crate) fn start(&mut self, slot: Slot, cx: &HeadContext<'_>) {
        if self.buf.capacity() == 0 {
            // One allocation for a typical reply instead of a growth per header.
            self.buf.reserve(FIRST_CAPACITY);
        }
        match slot {
            Slot::Continue => encode::encode_continue(&mut self.buf),
            Slot::Ready(response, meta) => self.start_response(response, meta, cx),
            // `ReplyQueue::pop_ready` never hands out a waiting slot.
            Slot::Waiting { .. } => {}
        }
    }

    fn start_response(&mut self, response: Response, mut meta: ReplyMeta, cx: &HeadContext<'_>) {
        // A refused header, or a 1xx from a handler: a 1xx is never a final
        // response (RFC 9110 §15.2), and sending one would desynchronise the client.
        let response = if response.invalid.is_some() || response.status < 200 {
            log::error!("handler response unusable (status {}); answering 500", response.status);
            Response::error(500)
        } else {
            response
        };
        meta.close |= response.close;
        let framing = choose_framing(&response, &meta);
        if framing == Framing::UntilClose {
            meta.close = true;
        }
        let head = HeadParts {
            status: response.status,
            headers: &response.headers,
            framing,
            close: meta.close,
            keep_alive_10: meta.keep_alive_10 && !meta.close,
            date_line: cx.date_line,
            server_line: cx.server_line,
        };
        let start = self.position();
        encode::encode_head(&mut self.buf, &head);
        let status = response.status;
        let skip_body = meta.is_head || framing == Framing::NoBody;
        let body_start = self.position();
        let body = if skip_body { None } else { self.begin_body(response.body.0, framing) };
        // For the access log: what went into the buffer, plus a body that
        // goes out from where it is; a streamed body counts as it is pulled.
        let aside = match &body {
            Some(Streaming::Shared(b)) => b.len() as u64,
            Some(Streaming::File { remaining, .. }) => *remaining,
            _ => 0,
        };
        let payload = self.position() - body_start + aside;
        let extent = Extent { start, body: body_start, payload };
        self.in_flight = Some(InFlight { meta, status, extent, body });
    }

    /// Copies a small in-memory body into the buffer; returns the streaming
    /// (or shared) state otherwise.
    fn begin_body(&mut self, body: BodyKind, framing: Framing) -> Option<Streaming> {
        let chunked = framing == Framing::Chunked;
        match body {
            BodyKind::Empty => {
                if chunked {
                    encode::encode_last_chunk(&mut self.buf);
                }
                None
            }
            BodyKind::Bytes(b) if b.len() >= SHARED_BODY => Some(Streaming::Shared(b)),
            BodyKind::Bytes(b) => {
                self.buf.extend_from_slice(&b);
                None
            }
            BodyKind::Reader { reader, len } => Some(Streaming::Reader { reader, remaining: len, chunked }),
            BodyKind::File { file, offset, len } => Some(Streaming::File { file, offset, remaining: len }),
            BodyKind::Channel { receiver, len } => Some(Streaming::Channel { receiver, remaining: len, chunked }),
        }
    }

    /// Moves the in-flight body forward into the buffer (readers) as far as the
    /// high-water mark allows. Returns Ok(true) when the reply is complete.
    /// A channel body with no data ready leaves `remote`/`token` to be woken by.
    /// A reader that panics before anything of the reply went out turns it
    /// into a 500 (with `cx`); `peer` names the client in the panic's log line.
    pub(crate) fn pump_body(
        &mut self,
        scratch: &mut [u8],
        (remote, token): (&Arc<Remote>, Token),
        cx: &HeadContext<'_>,
        peer: Option<SocketAddr>,
    ) -> Result<bool, BodyFailed> {
        let sent = self.sent;
        let Some(flight) = self.in_flight.as_mut() else { return Ok(true) };
        let before = self.buf.len();
        let pumped = match &mut flight.body {
            None => Ok(true),
            Some(Streaming::Reader { reader, remaining, chunked }) => {
                let request = (peer, flight.meta.seq);
                match pump_reader((&mut self.buf, self.written), reader, remaining, *chunked, scratch, request) {
                    Ok(pumped) => pumped,
                    Err(Panicked) if sent <= flight.extent.start => return Ok(self.answer_500_instead(cx)),
                    Err(Panicked) => Err(BodyFailed),
                }
            }
            Some(Streaming::Channel { receiver, remaining, chunked }) => {
                pump_channel((&mut self.buf, self.written), receiver, remaining, *chunked, (remote, token))
            }
            // Files and shared bodies go out from where they are, in `write_to`.
            Some(Streaming::File { remaining, .. }) => Ok(*remaining == 0),
            Some(Streaming::Shared(shared)) => Ok(shared.is_empty()),
        };
        // The pieces pulled, framed as they will go out (the buffer only grows here).
        flight.extent.payload += (self.buf.len() - before) as u64;
        pumped
    }

    /// Replaces the in-flight reply, none of which was written, with a 500:
    /// its head leaves the buffer, its body is dropped. Returns true (the 500
    /// is complete in the buffer).
    fn answer_500_instead(&mut self, cx: &HeadContext<'_>) -> bool {
        let Some(InFlight { meta, extent, .. }) = self.in_flight.take() else { return true };
        // The head's first byte sits this far behind the written mark.
        let unsent = usize::try_from(extent.start - self.sent).unwrap_or(usize::MAX);
        self.buf.truncate(self.written.saturating_add(unsent));
        self.start_response(Response::error(500), meta, cx);
        true
    }

    /// Ends the in-flight reply. When `observed`, its record is kept until
    /// its last byte is written ([`Output::pop_written`]). Returns whether the
    /// connection closes after it (`None`: no reply was in flight).
    pub(crate) fn finish(&mut self, observed: bool) -> Option<bool> {
        let mut flight = self.in_flight.take()?;
        let close = flight.meta.close;
        if observed {
            let end = self.position();
            self.finished.push_back(Unwritten { end, extent: flight.extent, done: flight.take_record() });
        }
        Some(close)
    }
}

impl InFlight {
    /// The access-log and metrics record of this reply, as if sent in full
    /// (taken once: the request's log fields move into it).
    fn take_record(&mut self) -> Finished {
        let (started, log) = (self.meta.started, self.meta.log.take());
        Finished {
            status: self.status,
            body_bytes: self.extent.payload,
            started,
            log,
            log_missed: self.meta.log_missed,
        }
    }
}

/// Sends the next part of a file body with `io`'s sendfile.
fn send_file_part(io: &mut impl Transport, file: &File, offset: &mut u64, remaining: &mut u64) -> io::Result<usize> {
    let want = usize::try_from(*remaining).unwrap_or(usize::MAX);
    let sent = io.send_file(file, offset, want)?;
    if sent == 0 {
        // The file shrank under us: the promised length cannot be met.
        return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "file ended early"));
    }
    *remaining -= sent as u64;
    Ok(sent)
}

/// RFC 9112 §6.1–6.3, RFC 9110 §8.6: how this response's body is delimited.
fn choose_framing(response: &Response, meta: &ReplyMeta) -> Framing {
    if encode::status_has_no_body(response.status) {
        return Framing::NoBody;
    }
    match response.body.len() {
        Some(n) => Framing::Length(n),
        // Chunked is HTTP/1.1 only (RFC 9112 §7); a 1.0 client reads until close.
        None if meta.version == Version::Http11 => Framing::Chunked,
        None => Framing::UntilClose,
    }
}

/// The output buffer and its written mark.
type BodyOut<'a> = (&'a mut Vec<u8>, usize);

/// Pulls the application's reader; the outer error is a panic in it (logged
/// by the guard), the inner result the body's progress.
fn pump_reader(
    (buf, written): BodyOut<'_>,
    reader: &mut Owned<dyn Read + Send>,
    remaining: &mut Option<u64>,
    chunked: bool,
    scratch: &mut [u8],
    (peer, seq): (Option<SocketAddr>, u64),
) -> Result<Result<bool, BodyFailed>, Panicked> {
    while buf.len() - written < HIGH_WATER {
        let want = remaining.map_or(STREAM_PIECE, |r| r.min(STREAM_PIECE as u64) as usize).min(scratch.len());
        if want == 0 {
            return Ok(Ok(true));
        }
        // The request is named only if the reader panics: nothing per piece.
        let name = || Some(RequestId::numbered(peer, seq));
        let read =
            guard::call_naming("a response body reader (Body::reader)", name, || reader.read(&mut scratch[..want]))?;
        let n = match read {
            Ok(n) if n > want => {
                log::warn!("response body reader returned {n} bytes read into a buffer of {want}");
                return Ok(Err(BodyFailed));
            }
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => {
                log::warn!("response body reader failed: {e}");
                return Ok(Err(BodyFailed));
            }
        };
        if n == 0 {
            return Ok(finish_reader(buf, *remaining, chunked));
        }
        if chunked {
            encode::encode_chunk(buf, &scratch[..n]);
        } else {
            buf.extend_from_slice(&scratch[..n]);
        }
        if let Some(r) = remaining {
            *r -= n as u64;
        }
    }
    Ok(Ok(false))
}

fn pump_channel(
    (buf, written): BodyOut<'_>,
    receiver: &Receiver,
    remaining: &mut Option<u64>,
    chunked: bool,
    (remote, token): (&Arc<Remote>, Token),
) -> Result<bool, BodyFailed> {
    while buf.len() - written < HIGH_WATER {
        match receiver.pull(remote, token) {
            Pull::Data(data) => {
                let data = match remaining {
                    Some(r) if data.len() as u64 > *r => {
                        log::warn!("channel body sent more than its Content-Length; closing");
                        return Err(BodyFailed);
                    }
                    _ => data,
                };
                if chunked {
                    encode::encode_chunk(buf, &data);
                } else {
                    buf.extend_from_slice(&data);
                }
                if let Some(r) = remaining {
                    *r -= data.len() as u64;
                }
            }
            Pull::Empty => return Ok(false),
            Pull::Finished => return finish_reader(buf, *remaining, chunked),
            Pull::Aborted => return Err(BodyFailed),
        }
    }
    Ok(false)
}

fn finish_reader(buf: &mut Vec<u8>, remaining: Option<u64>, chunked: bool) -> Result<bool, BodyFailed> {
    match remaining {
        Some(r) if r > 0 => {
            log::warn!("response body reader ended {r} bytes short of its Content-Length");
            Err(BodyFailed)
        }
        _ => {
            if chunked {
                encode::encode_last_chunk(buf);
            }
            Ok(true)
        }
    }
}
