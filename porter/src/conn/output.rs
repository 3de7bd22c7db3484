//! Output: ready replies are encoded into one buffer and written together.
//!
//! Every reply at the front of the queue that is ready is encoded (head and, for
//! in-memory bodies, the body) into one buffer, so pipelined replies leave in one
//! write per wake-up. A streamed body (reader or file) holds the front until it is
//! done: readers are pulled into the buffer only while it is below the
//! high-water mark, and files go out with sendfile once the buffer is empty, so a
//! slow reader never makes porter buffer a large body.
//!
//! A body reader is the application's code: it is read through
//! [`crate::guard`]. If it panics before any byte of its reply went out, the
//! reply becomes a `500` (its head is taken back out of the buffer); after
//! that, the connection is cut like for any failed body.
//!
//! When the server observes replies (access log, metrics), each finished reply
//! leaves a [`Finished`] record marking where it ends in the buffer; the record
//! is handed back ([`Output::pop_written`]) once the write reaches that mark.

use std::collections::VecDeque;
use std::fs::File;
use std::io::{self, Read};
use std::net::SocketAddr;
use std::sync::Arc;

use crate::conn::queue::{ReplyMeta, Slot};
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
    pub(crate) sent_body: u64,
    body: Option<Streaming>,
    /// Where this reply's head starts in the buffer, while none of it has
    /// been written (`None` once some has).
    head_at: Option<usize>,
}

enum Streaming {
    Reader { reader: Owned<dyn Read + Send>, remaining: Option<u64>, chunked: bool },
    Channel { receiver: Receiver, remaining: Option<u64>, chunked: bool },
    File { file: File, offset: u64, remaining: u64 },
}

/// Why a streamed body could not be completed: the connection must close,
/// because the client has been promised bytes that will not come.
#[derive(Debug)]
pub(crate) struct BodyFailed;

/// The output buffer and the reply in flight.
#[derive(Default)]
pub(crate) struct Output {
    buf: Vec<u8>,
    written: usize,
    pub(crate) in_flight: Option<InFlight>,
    /// Replies encoded in full, each with the buffer offset where it ends.
    finished: VecDeque<(usize, Finished)>,
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

    /// True when the buffer is full enough to stop producing more.
    pub(crate) fn is_full(&self) -> bool {
        self.pending() >= HIGH_WATER
    }

    /// Gives the buffer's memory back (idle keep-alive connections hold none).
    pub(crate) fn release_memory(&mut self) {
        if self.is_idle() {
            self.buf = Vec::new();
            self.written = 0;
        }
    }

    /// The bytes waiting to be written.
    pub(crate) fn unwritten(&self) -> &[u8] {
        &self.buf[self.written..]
    }

    /// Records that `n` bytes of [`Output::unwritten`] went out.
    pub(crate) fn consume(&mut self, n: usize) {
        self.written += n;
        if let Some(flight) = &mut self.in_flight {
            if flight.head_at.is_some_and(|at| self.written > at) {
                flight.head_at = None;
            }
        }
        if self.written == self.buf.len() {
            self.buf.clear();
            self.written = 0;
            // Every mark was reached; offsets start over with the empty buffer.
            self.finished.iter_mut().for_each(|(end, _)| *end = 0);
        }
    }

    /// Keeps `done` until the bytes encoded so far have been written.
    pub(crate) fn mark_finished(&mut self, done: Finished) {
        self.finished.push_back((self.buf.len(), done));
    }

    /// The next finished reply whose last byte has been written, if any.
    pub(crate) fn pop_written(&mut self) -> Option<Finished> {
        match self.finished.front() {
            Some(&(end, _)) if end <= self.written => self.finished.pop_front().map(|(_, f)| f),
            _ => None,
        }
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
        let head_at = Some(self.buf.len());
        encode::encode_head(&mut self.buf, &head);
        let status = response.status;
        let skip_body = meta.is_head || framing == Framing::NoBody;
        // For the access log: in-memory bodies now; streamed ones as they go out.
        let sent_body = match (&response.body.0, skip_body) {
            (BodyKind::Bytes(b), false) => b.len() as u64,
            _ => 0,
        };
        let body = if skip_body { None } else { self.begin_body(response.body.0, framing) };
        self.in_flight = Some(InFlight { meta, status, sent_body, body, head_at });
    }

    /// Copies an in-memory body into the buffer; returns the streaming state otherwise.
    fn begin_body(&mut self, body: BodyKind, framing: Framing) -> Option<Streaming> {
        let chunked = framing == Framing::Chunked;
        match body {
            BodyKind::Empty => {
                if chunked {
                    encode::encode_last_chunk(&mut self.buf);
                }
                None
            }
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
        let Some(flight) = self.in_flight.as_mut() else { return Ok(true) };
        let done = match &mut flight.body {
            None => true,
            Some(Streaming::Reader { reader, remaining, chunked }) => {
                let body = (&mut self.buf, self.written, &mut flight.sent_body);
                let request = RequestId::numbered(peer, flight.meta.seq);
                match pump_reader(body, reader, remaining, *chunked, scratch, &request) {
                    Ok(pumped) => pumped?,
                    Err(Panicked) if flight.head_at.is_some() => return Ok(self.answer_500_instead(cx)),
                    Err(Panicked) => return Err(BodyFailed),
                }
            }
            Some(Streaming::Channel { receiver, remaining, chunked }) => {
                let body = (&mut self.buf, self.written, &mut flight.sent_body);
                pump_channel(body, receiver, remaining, *chunked, (remote, token))?
            }
            // Files wait for an empty buffer, then go out with sendfile in `send_file_part`.
            Some(Streaming::File { remaining, .. }) => *remaining == 0,
        };
        Ok(done)
    }

    /// Replaces the in-flight reply, none of which was written, with a 500:
    /// its head leaves the buffer, its body is dropped. Returns true (the 500
    /// is complete in the buffer).
    fn answer_500_instead(&mut self, cx: &HeadContext<'_>) -> bool {
        let Some(InFlight { meta, head_at: Some(at), .. }) = self.in_flight.take() else { return true };
        self.buf.truncate(at);
        self.start_response(Response::error(500), meta, cx);
        true
    }

    /// True when the in-flight body is a file ready for sendfile (buffer drained).
    pub(crate) fn wants_sendfile(&self) -> bool {
        self.pending() == 0 && self.file_body_left()
    }

    /// True while buffered bytes (the reply head) wait in front of a file body:
    /// they are written with `Transport::write_more` so head and body share packets.
    pub(crate) fn file_follows(&self) -> bool {
        self.pending() > 0 && self.file_body_left()
    }

    /// True when the in-flight body is a file with bytes still to send.
    fn file_body_left(&self) -> bool {
        matches!(self.in_flight.as_ref().and_then(|f| f.body.as_ref()), Some(Streaming::File { remaining, .. }) if *remaining > 0)
    }

    /// Sends the next part of the in-flight file body through `send`.
    pub(crate) fn send_file_part(
        &mut self,
        send: impl FnOnce(&File, &mut u64, usize) -> io::Result<usize>,
    ) -> io::Result<usize> {
        let Some(InFlight { body: Some(Streaming::File { file, offset, remaining }), sent_body, .. }) =
            self.in_flight.as_mut()
        else {
            return Ok(0);
        };
        let want = usize::try_from(*remaining).unwrap_or(usize::MAX);
        let sent = send(file, offset, want)?;
        if sent == 0 {
            // The file shrank under us: the promised length cannot be met.
            return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "file ended early"));
        }
        *remaining -= sent as u64;
        *sent_body += sent as u64;
        Ok(sent)
    }

    /// Ends the in-flight reply, returning it for logging and the close decision.
    pub(crate) fn finish(&mut self) -> Option<InFlight> {
        self.in_flight.take()
    }
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

/// The output buffer, its written mark, and the reply's body-byte count.
type BodyOut<'a> = (&'a mut Vec<u8>, usize, &'a mut u64);

/// Pulls the application's reader; the outer error is a panic in it (logged
/// by the guard), the inner result the body's progress.
fn pump_reader(
    (buf, written, sent): BodyOut<'_>,
    reader: &mut Owned<dyn Read + Send>,
    remaining: &mut Option<u64>,
    chunked: bool,
    scratch: &mut [u8],
    request: &RequestId,
) -> Result<Result<bool, BodyFailed>, Panicked> {
    while buf.len() - written < HIGH_WATER {
        let want = remaining.map_or(STREAM_PIECE, |r| r.min(STREAM_PIECE as u64) as usize).min(scratch.len());
        if want == 0 {
            return Ok(Ok(true));
        }
        let read =
            guard::call("a response body reader (Body::reader)", Some(request), || reader.read(&mut scratch[..want]))?;
        let n = match read {
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
        *sent += n as u64;
        if let Some(r) = remaining {
            *r -= n as u64;
        }
    }
    Ok(Ok(false))
}

fn pump_channel(
    (buf, written, sent): BodyOut<'_>,
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
                *sent += data.len() as u64;
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
