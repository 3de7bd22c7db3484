//! Entry points for the fuzz targets in `fuzz/` (feature `fuzzing`; not a public API).
//!
//! Each `fuzz_*` function takes the raw bytes libFuzzer generates, drives one
//! part of porter with them and panics (so libFuzzer reports a crash) when an
//! invariant breaks. The checks live here, next to the code, so the targets stay
//! one line each and a crash input replays with `cargo fuzz run <target> <file>`.
//!
//! - [`fuzz_head`]: `proto::parse::parse_head`. Every span lies in the head, the
//!   head lies in the input and within the limits, every field is well formed,
//!   and the verdict does not depend on where the input is cut (a prefix of a
//!   complete head is incomplete; a prefix of a bad head is incomplete or fails
//!   with the same status), nor on the reads it arrives in (one `HeadScan` fed
//!   pieces, or a byte at a time, decides as one call does). And a reference
//!   from outside the scanner: a head porter accepts is one `httparse` accepts,
//!   alike, and complete lines `httparse` refuses are refused, not waited on.
//! - [`fuzz_chunked`]: the chunked (and length) body decoder over arbitrary bytes
//!   cut into arbitrary pieces. `consumed` never exceeds the input, data lies in
//!   the consumed part, non-empty input always makes progress, and the outcome
//!   (data, bytes consumed, end or error) is the same however the input is cut.
//! - [`fuzz_conn`]: the whole connection state machine over the scripted
//!   transport (`conn::script::run_script_with`). Replies come back in request
//!   order (the handler numbers them), every request the handler saw is
//!   answered (but a streamed upload whose body never ended), a porter error or
//!   `Connection: close` reply is the last thing written, the output parses as
//!   HTTP/1.1 responses, and buffers stay bounded. Uploads to `/u…` and `/v…`
//!   stream (`/v…` under its own 100-byte limit): the harness drains their
//!   readers between turns, so a 413 before streaming, a reader failing mid-body
//!   and `100 Continue` on the first read are fuzzed too.
//! - [`fuzz_proxy`]: the PROXY protocol v1/v2 decoder (`proto::proxy::decode`).
//!   A decoded header lies in the input and within its bound, and every prefix
//!   of the input is either still undecided or decides exactly as the whole.
//!
//! Input layout: the first byte selects limits and options; for `fuzz_chunked`
//! and `fuzz_conn` the second byte says how many piece sizes follow (0–3), then
//! those sizes (cycled; 0 means "the rest at once"), then the payload. A seed of
//! `[0, 0]` followed by a request is the request delivered in one read.

use std::io::{ErrorKind, Read};
use std::sync::{Arc, Mutex, PoisonError};

use crate::conn::script::run_script_with;
use crate::handler::{BodyLimit, Handler, Reply};
use crate::limits::Limits;
use crate::proto::body::{ChunkedLimits, Decoder};
use crate::proto::parse::{
    is_tchar, parse_head, BodyKind, HeadLimits, HeadScan, ParseError, ParsedHead, TargetForm, Version,
};
use crate::request::Request;
use crate::responder::Responder;
use crate::response::{Body, Response};
use crate::upload::BodyReader;

// ---------------------------------------------------------------------------
// (a) the head parser

/// Parses `data[1..]` as a request head under limits chosen by `data[0]` and
/// checks the result and the result for a few prefixes.
pub fn fuzz_head(data: &[u8]) {
    let Some((&selector, input)) = data.split_first() else { return };
    let limits = head_limits(selector);
    let verdict = parse_head(input, &limits);
    match &verdict {
        Ok(Some(head)) => check_head(input, head, &limits),
        // Incomplete is only said while the input is still within the limits.
        Ok(None) => assert!(input.len() <= limits.max_head, "incomplete past max_head"),
        Err(_) => {}
    }
    for cut in cut_points(input.len(), selector) {
        check_prefix(input, cut, &verdict, &limits);
    }
    let piece = 1 + usize::from(selector >> 2);
    assert_eq!(scan_in_pieces(input, piece, &limits), verdict, "a scan fed {piece}-byte pieces decides otherwise");
    assert_eq!(scan_in_pieces(input, 1, &limits), verdict, "a scan fed a byte at a time decides otherwise");
    check_against_httparse(input, &verdict, &limits);
}

/// porter's verdict against `httparse`'s own, where both decide: a head porter
/// accepts is one `httparse` accepts with the same length, method, target and
/// field count; and when `httparse` refuses the complete lines of the input,
/// porter has refused them too rather than waiting for more bytes (it may
/// refuse more: porter is the stricter).
fn check_against_httparse(input: &[u8], verdict: &Result<Option<ParsedHead>, ParseError>, limits: &HeadLimits) {
    let mut slots = vec![httparse::EMPTY_HEADER; limits.max_headers];
    let mut request = httparse::Request::new(&mut slots);
    match verdict {
        Ok(Some(head)) => {
            let status = request.parse(input);
            assert_eq!(status, Ok(httparse::Status::Complete(head.len)), "httparse on a head porter accepted");
            assert_eq!(request.method.map(str::as_bytes), Some(head.method.get(input)), "method");
            assert_eq!(request.path.map(str::as_bytes), Some(head.target.get(input)), "target");
            assert_eq!(request.headers.len(), head.headers.len(), "field count");
        }
        Ok(None) => {
            let lines_end = input.windows(2).rposition(|w| w == b"\r\n").map_or(0, |at| at + 2);
            let status = request.parse(input.get(..lines_end).unwrap_or_default());
            assert!(status.is_ok(), "porter waits on complete lines httparse refuses: {status:?}");
        }
        Err(_) => {}
    }
}

/// What one [`HeadScan`] says when `input` arrives in `piece`-byte reads, as on
/// a connection: the first head or error, else `Ok(None)`.
fn scan_in_pieces(input: &[u8], piece: usize, limits: &HeadLimits) -> Result<Option<ParsedHead>, ParseError> {
    let mut scan = HeadScan::default();
    for cut in (piece..input.len()).step_by(piece).chain([input.len()]) {
        match scan.parse(input.get(..cut).unwrap_or_default(), limits) {
            Ok(None) => {}
            verdict => return verdict,
        }
    }
    Ok(None)
}

fn head_limits(selector: u8) -> HeadLimits {
    match selector & 3 {
        0 => HeadLimits::default(),
        1 => HeadLimits { max_request_line: 64, max_head: 256, max_headers: 4 },
        2 => HeadLimits { max_request_line: 16, max_head: 48, max_headers: 0 },
        _ => HeadLimits { max_request_line: 1024, max_head: 4096, max_headers: 200 },
    }
}

/// A few places to cut the input: the middle, one short of the end, and one
/// chosen by the selector's high bits.
fn cut_points(len: usize, selector: u8) -> Vec<usize> {
    let mut cuts = vec![len / 2, len.saturating_sub(1), len * usize::from(selector >> 2) / 64];
    cuts.retain(|&cut| cut < len);
    cuts
}

/// What parsing `input[..cut]` may say given what parsing all of `input` said.
fn check_prefix(input: &[u8], cut: usize, whole: &Result<Option<ParsedHead>, ParseError>, limits: &HeadLimits) {
    let prefix = input.get(..cut).unwrap_or_default();
    let part = parse_head(prefix, limits);
    match (whole, &part) {
        (Ok(Some(head)), Ok(Some(early))) => {
            assert!(cut >= head.len, "a head completed early at {cut} (whole head is {} bytes)", head.len);
            assert_eq!(early, head, "bytes after the head changed the head");
        }
        (Ok(Some(head)), _) => assert!(cut < head.len && matches!(part, Ok(None)), "prefix {cut} of a head: {part:?}"),
        (Ok(None), _) => assert!(matches!(part, Ok(None)), "prefix {cut} of an incomplete head: {part:?}"),
        (Err(error), Err(early)) => {
            assert_eq!(early.status(), error.status(), "prefix {cut} fails as {early:?}, the whole as {error:?}")
        }
        (Err(error), _) => assert!(matches!(part, Ok(None)), "prefix {cut} of a bad head ({error:?}): {part:?}"),
    }
}

/// Everything a complete head promises about itself.
fn check_head(input: &[u8], head: &ParsedHead, limits: &HeadLimits) {
    assert!(head.len <= input.len() && head.len <= limits.max_head, "head length {}", head.len);
    let bytes = input.get(..head.len).unwrap_or_default();
    assert!(bytes.ends_with(b"\r\n\r\n"), "a head ends with an empty line");
    assert!(has_only_crlf(bytes), "a head has no bare CR or LF");
    let spans = [head.method, head.target, head.path].into_iter().chain(head.query).chain(head.host);
    for span in spans.chain(head.headers.iter().flat_map(|&(name, value)| [name, value])) {
        assert!(span.start <= span.end && span.end as usize <= head.len, "span {span:?} outside the head");
    }
    let method = head.method.get(bytes);
    assert!(!method.is_empty() && method.iter().all(|&b| is_tchar(b)), "method {method:?}");
    let target = head.target.get(bytes);
    assert!(!target.is_empty() && target.iter().all(|&b| b.is_ascii_graphic() && b != b'#'), "target {target:?}");
    check_target_parts(head);
    assert!(head.headers.len() <= limits.max_headers, "{} fields", head.headers.len());
    for &(name, value) in &head.headers {
        check_field(name.get(bytes), value.get(bytes));
    }
    assert!(head.body != BodyKind::Length(0), "Content-Length: 0 is no body");
    assert!(!(head.expect_continue && head.version == Version::Http10), "100-continue in HTTP/1.0");
    let line_start = bytes.iter().position(|&b| b != b'\r' && b != b'\n').unwrap_or(0);
    let line_len = bytes.get(line_start..).and_then(|l| l.windows(2).position(|w| w == b"\r\n")).unwrap_or(0);
    assert!(line_len <= limits.max_request_line, "request line of {line_len} bytes");
}

/// Path, query and authority lie inside the target.
fn check_target_parts(head: &ParsedHead) {
    let inside = |span: crate::proto::parse::Span| span.start >= head.target.start && span.end <= head.target.end;
    assert!(inside(head.path) && head.query.is_none_or(inside), "path or query outside the target");
    if head.form == TargetForm::Absolute {
        assert!(head.host.is_some_and(inside), "absolute-form authority outside the target");
    }
}

/// A field name is a token; a value has no controls but HTAB and no OWS around it.
fn check_field(name: &[u8], value: &[u8]) {
    assert!(!name.is_empty() && name.iter().all(|&b| is_tchar(b)), "field name {name:?}");
    assert!(value.iter().all(|&b| b == b'\t' || (b >= 0x20 && b != 0x7f)), "field value {value:?}");
    let is_ows = |b: Option<&u8>| matches!(b, Some(b' ' | b'\t'));
    assert!(!is_ows(value.first()) && !is_ows(value.last()), "untrimmed value {value:?}");
}

fn has_only_crlf(bytes: &[u8]) -> bool {
    bytes.iter().enumerate().all(|(i, &b)| match b {
        b'\r' => bytes.get(i + 1) == Some(&b'\n'),
        b'\n' => i > 0 && bytes.get(i - 1) == Some(&b'\r'),
        _ => true,
    })
}

// ---------------------------------------------------------------------------
// (b) the body decoders

/// What feeding a whole body gave.
#[derive(Debug, PartialEq, Eq)]
struct Outcome {
    data: Vec<u8>,
    consumed: usize,
    done: bool,
}

/// Decodes the payload as a chunked body at once and in the chosen pieces (and
/// as a `Content-Length` body), checking every step.
pub fn fuzz_chunked(data: &[u8]) {
    let Some((selector, sizes, payload)) = split_input(data) else { return };
    let limits = match selector & 3 {
        0 => ChunkedLimits::default(),
        1 => ChunkedLimits { max_chunk_line: 8, max_trailers: 16 },
        2 => ChunkedLimits { max_chunk_line: 1, max_trailers: 0 },
        _ => ChunkedLimits { max_chunk_line: 64, max_trailers: 256 },
    };
    let whole = feed(Decoder::chunked(limits), payload, &[]);
    let pieces = feed(Decoder::chunked(limits), payload, &sizes);
    assert_eq!(whole, pieces, "the outcome depends on how the body was cut ({sizes:?})");
    let bytewise = feed(Decoder::chunked(limits), payload, &[1]);
    assert_eq!(whole, bytewise, "the outcome differs byte by byte");
    let length = u64::from(selector >> 2) * 3;
    let want = payload.len().min(length as usize);
    let got = feed(Decoder::length(length), payload, &sizes);
    assert_eq!(got.map(|o| (o.consumed, o.done)), Ok((want, want as u64 == length)), "length decoder");
}

/// Feeds `input` the way the connection does: a buffer that grows by one piece
/// and shrinks by what each step consumed.
fn feed(mut decoder: Decoder, input: &[u8], piece_sizes: &[usize]) -> Result<Outcome, crate::proto::body::BodyError> {
    let mut outcome = Outcome { data: Vec::new(), consumed: 0, done: false };
    let (mut buffer, mut offered) = (Vec::new(), 0);
    let mut sizes = piece_sizes.iter().copied().filter(|&n| n > 0).cycle();
    while offered < input.len() && !decoder.is_done() {
        let piece = sizes.next().unwrap_or(input.len()).min(input.len() - offered);
        buffer.extend_from_slice(input.get(offered..offered + piece).unwrap_or_default());
        offered += piece;
        while !decoder.is_done() {
            let step = decoder.decode(&buffer)?;
            assert!(step.consumed <= buffer.len(), "consumed {} of {}", step.consumed, buffer.len());
            assert!(step.data.start <= step.data.end && step.data.end <= step.consumed, "data {:?}", step.data);
            if step.consumed == 0 {
                assert!(buffer.is_empty(), "no progress on {} buffered bytes", buffer.len());
                break;
            }
            outcome.data.extend_from_slice(buffer.get(step.data).unwrap_or_default());
            outcome.consumed += step.consumed;
            buffer.drain(..step.consumed);
        }
    }
    outcome.done = decoder.is_done();
    if outcome.done {
        assert_eq!(decoder.decode(b"GET"), Ok(crate::proto::body::Step { consumed: 0, data: 0..0 }), "past the end");
    }
    Ok(outcome)
}

/// `[selector, k, size_1 .. size_k, payload..]` with k taken mod 4.
fn split_input(data: &[u8]) -> Option<(u8, Vec<usize>, &[u8])> {
    let (&selector, rest) = data.split_first()?;
    let (&count, rest) = rest.split_first()?;
    let count = usize::from(count & 3).min(rest.len());
    let (sizes, payload) = rest.split_at(count);
    Some((selector, sizes.iter().map(|&s| usize::from(s)).collect(), payload))
}

// ---------------------------------------------------------------------------
// (c) the connection

/// The size of the `/b` reply body: more than the output high-water mark.
const BIG_REPLY: usize = 70 * 1024;
/// Slack on the bounds: one read, one encoded head.
const SLACK: usize = 8 * 1024;

/// Runs a connection over the payload, cut into the chosen pieces, and checks
/// the replies and the buffer sizes.
pub fn fuzz_conn(data: &[u8]) {
    let Some((selector, sizes, payload)) = split_input(data) else { return };
    let limits = conn_limits(selector);
    let write_cap = [None, Some(4093), Some(7), None][usize::from(selector >> 1 & 3)];
    let pieces = cut(payload, &sizes);
    let handler = Numbering::default();
    let run = run_script_with(&handler, &limits, &pieces, write_cap, &|| handler.read_uploads());
    assert!(run.max_read_buffer <= limits.max_head + 64 * 1024, "read buffer {}", run.max_read_buffer);
    assert!(run.max_pending_output <= 64 * 1024 + BIG_REPLY + SLACK, "pending output {}", run.max_pending_output);
    assert!(run.max_queued <= limits.max_pipelined + 2, "{} replies queued", run.max_queued);
    let events = handler.events.lock().unwrap_or_else(PoisonError::into_inner).clone();
    check_replies(&run.output, &events);
}

fn conn_limits(selector: u8) -> Limits {
    if selector & 1 == 0 {
        return Limits::default();
    }
    Limits {
        max_request_line: 128,
        max_head: 512,
        max_headers: 8,
        max_body: 1024,
        max_chunk_line: 32,
        max_trailers: 64,
        max_pipelined: 3,
        ..Limits::default()
    }
}

/// The payload cut at the given sizes (cycled; none or 0: one piece).
fn cut<'a>(payload: &'a [u8], sizes: &[usize]) -> Vec<&'a [u8]> {
    let mut sizes = sizes.iter().copied().cycle();
    let mut pieces = Vec::new();
    let mut rest = payload;
    while !rest.is_empty() {
        let size = match sizes.next() {
            Some(0) | None => rest.len(),
            Some(n) => n.min(rest.len()),
        };
        let (piece, after) = rest.split_at(size);
        pieces.push(piece);
        rest = after;
    }
    pieces
}

/// One request the handler saw: whether it was HEAD, and for a streamed
/// upload whether its body is still unfinished (it may then go unanswered).
#[derive(Clone, Copy, Debug)]
struct Event {
    is_head: bool,
    unfinished_upload: bool,
}

/// A streamed upload being read: its number, reader, responder and bytes so far.
struct Upload {
    seq: usize,
    reader: BodyReader,
    responder: Responder,
    received: usize,
}

/// A handler that numbers every request it sees (in `before_body` for early
/// answers, in `handle` otherwise) and says the number in `X-Seq`. The path
/// picks the reply: `/r…` refused before the body (403), `/c…` closes, `/s…`
/// streams a body of unknown length, `/b…` is large, `/u…` and `/v…` stream
/// the request body (`/v…` under its own 100-byte limit) and answer once it
/// is read ([`Numbering::read_uploads`]), anything else is small.
#[derive(Default)]
struct Numbering {
    events: Arc<Mutex<Vec<Event>>>,
    uploads: Mutex<Vec<Upload>>,
}

impl Numbering {
    fn next(&self, request: &Request) -> usize {
        let mut events = self.events.lock().unwrap_or_else(PoisonError::into_inner);
        let unfinished_upload = self.streams_body(request).is_some();
        events.push(Event { is_head: request.is_head(), unfinished_upload });
        events.len() - 1
    }

    /// Reads what arrived for each streamed upload, as the handler's thread
    /// would, and answers those whose body ended (`N bytes`) or failed (413 when
    /// too large, else 400).
    fn read_uploads(&self) {
        let mut uploads = self.uploads.lock().unwrap_or_else(PoisonError::into_inner);
        for mut upload in std::mem::take(&mut *uploads) {
            let response = match upload.reader.take_arrived() {
                Ok((n, false)) => {
                    upload.received += n;
                    uploads.push(upload);
                    continue;
                }
                Ok((n, true)) => Response::new(200).body(format!("seq {} {}", upload.seq, upload.received + n)),
                Err(e) if e.kind() == ErrorKind::FileTooLarge => Response::new(413),
                Err(_) => Response::new(400),
            };
            let mut events = self.events.lock().unwrap_or_else(PoisonError::into_inner);
            if let Some(event) = events.get_mut(upload.seq) {
                event.unfinished_upload = false;
            }
            upload.responder.respond(response.header("X-Seq", upload.seq.to_string()));
        }
    }
}

impl Handler for Numbering {
    fn before_body(&self, request: &Request) -> Option<Response> {
        if !request.path().starts_with("/r") {
            return None;
        }
        let seq = self.next(request);
        Some(Response::new(403).header("X-Seq", seq.to_string()))
    }

    fn streams_body(&self, request: &Request) -> Option<BodyLimit> {
        match request.path().get(..2) {
            Some("/u") => Some(BodyLimit::Server),
            Some("/v") => Some(BodyLimit::Bytes(100)),
            _ => None,
        }
    }

    fn handle(&self, mut request: Request) -> Reply {
        let seq = self.next(&request);
        if self.streams_body(&request).is_some() {
            let (reply, responder) = request.defer();
            let upload = Upload { seq, reader: request.body_reader(), responder, received: 0 };
            self.uploads.lock().unwrap_or_else(PoisonError::into_inner).push(upload);
            return reply;
        }
        let response = Response::new(200).header("X-Seq", seq.to_string());
        let path = request.path();
        let response = if path.starts_with("/c") {
            response.close().body(format!("seq {seq}"))
        } else if path.starts_with("/s") {
            response.body(Body::reader(std::io::repeat(b's').take(5000), None))
        } else if path.starts_with("/b") {
            response.body(vec![b'b'; BIG_REPLY])
        } else {
            response.body(format!("seq {seq} {}", request.body().len()))
        };
        response.into()
    }
}

/// One response as written.
struct Written {
    status: u16,
    seq: Option<usize>,
    close: bool,
    /// The body ran to the end of the output (no length, not chunked).
    close_delimited: bool,
}

/// The output is a sequence of complete HTTP/1.1 responses answering the
/// handler's requests in order; a porter error or closing reply ends it.
fn check_replies(mut output: &[u8], events: &[Event]) {
    let mut next = 0;
    while !output.is_empty() {
        let (written, rest) = read_response(output, events);
        output = rest;
        if (100..200).contains(&written.status) {
            assert!(written.seq.is_none(), "an interim reply with a number");
            continue;
        }
        match written.seq {
            Some(seq) => {
                assert_eq!(seq, next, "reply for request {seq} where {next} was due");
                next += 1;
            }
            // porter's own error replies always close the connection.
            None => assert!(written.status >= 400 && written.close, "unnumbered {} without close", written.status),
        }
        if written.close || written.close_delimited {
            assert!(output.is_empty(), "{} bytes after a closing reply", output.len());
        }
    }
    // Only a streamed upload whose body never ended may go unanswered, and
    // after its body nothing more could be read.
    let unanswered = events.get(next..).unwrap_or_default();
    assert!(
        unanswered.is_empty() || (unanswered.len() == 1 && unanswered.iter().all(|e| e.unfinished_upload)),
        "requests the handler saw but never answered: {unanswered:?}"
    );
}

/// Reads one response off the front of `output`.
fn read_response<'a>(output: &'a [u8], events: &[Event]) -> (Written, &'a [u8]) {
    let mut headers = [httparse::EMPTY_HEADER; 32];
    let mut response = httparse::Response::new(&mut headers);
    let head_len = match response.parse(output) {
        Ok(httparse::Status::Complete(len)) => len,
        other => panic!("unreadable response ({other:?}): {:?}", String::from_utf8_lossy(output)),
    };
    assert_eq!(response.version, Some(1), "responses are HTTP/1.1");
    let status = response.code.unwrap_or(0);
    let field = |name: &str| response.headers.iter().find(|h| h.name.eq_ignore_ascii_case(name)).map(|h| h.value);
    let seq = field("x-seq").and_then(|v| std::str::from_utf8(v).ok()).and_then(|v| v.parse::<usize>().ok());
    let close = field("connection").is_some_and(|v| v.eq_ignore_ascii_case(b"close"));
    let is_head = seq.and_then(|s| events.get(s)).is_some_and(|e| e.is_head);
    let rest = output.get(head_len..).unwrap_or_default();
    let mut written = Written { status, seq, close, close_delimited: false };
    if is_head || (100..200).contains(&status) || status == 204 || status == 304 {
        return (written, rest);
    }
    let body_len = if field("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case(b"chunked")) {
        chunked_len(rest)
    } else if let Some(length) = field("content-length") {
        let length = std::str::from_utf8(length).ok().and_then(|l| l.parse::<usize>().ok());
        length.filter(|&l| l <= rest.len()).unwrap_or_else(|| panic!("bad or short Content-Length {length:?}"))
    } else {
        written.close_delimited = true;
        rest.len()
    };
    (written, rest.get(body_len..).unwrap_or_default())
}

/// The length of the chunked body at the start of `bytes`, read with porter's own decoder.
fn chunked_len(bytes: &[u8]) -> usize {
    let mut decoder = Decoder::chunked(ChunkedLimits::default());
    let mut at = 0;
    while !decoder.is_done() {
        let step = match decoder.decode(bytes.get(at..).unwrap_or_default()) {
            Ok(step) if step.consumed > 0 => step,
            other => panic!("bad chunked response body at {at}: {other:?}"),
        };
        at += step.consumed;
    }
    at
}

// ---------------------------------------------------------------------------
// (d) the PROXY protocol decoder

/// Decodes `data[1..]` as a PROXY header, with the v2 length bound chosen by
/// `data[0]`, and checks the verdict against every prefix of the input.
pub fn fuzz_proxy(data: &[u8]) {
    let Some((&selector, input)) = data.split_first() else { return };
    // Headers are short: longer inputs add nothing but time per prefix.
    let input = &input[..input.len().min(2048)];
    let max_v2 = 16 + usize::from(selector) * 4;
    crate::proto::proxy::check_invariants(input, max_v2);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seeded(selector: u8, request: &[u8]) -> Vec<u8> {
        [&[selector, 0][..], request].concat()
    }

    #[test]
    fn targets_accept_simple_inputs() {
        fuzz_head(b"\x00GET / HTTP/1.1\r\nHost: a\r\n\r\n");
        fuzz_head(b"\x01GET / HTTP/1.1\r\nHost: a\r\nX: \x00\r\n\r\n");
        // Bad complete lines are refused, not waited on (httparse as reference).
        fuzz_head(b"\x00GET / HTTP/2.0\r\n");
        fuzz_head(b"\x01GET / HTTP/1.1\r\nBad Name: y\r\n");
        fuzz_chunked(&seeded(0, b"5\r\nhello\r\n0\r\nX: y\r\n\r\nGET"));
        fuzz_chunked(&seeded(0x41, b"5;a=\"b\"\r\nhel"));
        fuzz_proxy(b"\x00PROXY TCP4 192.0.2.1 192.0.2.2 5555 80\r\nGET");
        fuzz_proxy(b"\xffPROXY UNKNOWN\r\n");
        let pipelined =
            b"GET /a HTTP/1.1\r\nHost: a\r\n\r\nHEAD /b HTTP/1.1\r\nHost: a\r\n\r\nGET /s HTTP/1.1\r\nHost: a\r\n\r\n";
        for selector in 0..8 {
            fuzz_conn(&seeded(selector, pipelined));
        }
        fuzz_conn(&seeded(0, b"POST /r HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabcGET /c HTTP/1.0\r\n\r\n"));
        fuzz_conn(&[&[1u8, 2, 3, 5][..], b"GET /b HTTP/1.1\r\nHost: a\r\n\r\nGET / HTTP/1.1\r\n\r\n"].concat());
    }

    /// The streaming routes reach the paths they are there for: a body read
    /// whole (after `100 Continue`), a declared body over `max_body` refused
    /// before streaming, a reader failing mid-body (too large, malformed), and
    /// a body cut short by the client's EOF (its request left unanswered).
    #[test]
    fn uploads_stream_and_fail_as_they_should() {
        let chunked = |path: &str, body: &str| {
            format!("POST {path} HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n{body}").into_bytes()
        };
        let long_chunk = format!("96\r\n{}\r\n0\r\n\r\n", "x".repeat(150));
        let rows: [(u8, Vec<u8>, &[&str]); 6] = [
            (
                0,
                b"POST /u HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\nhelloGET / HTTP/1.1\r\nHost: a\r\n\r\n".to_vec(),
                &["HTTP/1.1 100 Continue", "seq 0 5", "seq 1 0"],
            ),
            (1, b"POST /u HTTP/1.1\r\nHost: a\r\nContent-Length: 1025\r\n\r\n".to_vec(), &["HTTP/1.1 413 "]),
            (0, chunked("/v", &long_chunk), &["HTTP/1.1 413 ", "X-Seq: 0"]),
            (0, chunked("/u", &long_chunk), &["seq 0 150"]),
            (0, chunked("/u", "zz\r\n"), &["HTTP/1.1 400 ", "X-Seq: 0"]),
            (0, b"POST /u HTTP/1.1\r\nHost: a\r\nContent-Length: 9\r\n\r\nhalf".to_vec(), &[]),
        ];
        for (selector, request, wants) in rows {
            let handler = Numbering::default();
            let limits = conn_limits(selector);
            // The head in one read, the rest in the next (a 100 is only sent
            // while the client waits for it).
            let head_end = crate::proto::parse::parse_head(&request, &limits.head_limits())
                .ok()
                .flatten()
                .map_or(request.len(), |head| head.len);
            let pieces: Vec<&[u8]> =
                [&request[..head_end], &request[head_end..]].into_iter().filter(|p| !p.is_empty()).collect();
            let run = run_script_with(&handler, &limits, &pieces, None, &|| handler.read_uploads());
            let output = String::from_utf8_lossy(&run.output);
            for want in wants {
                assert!(output.contains(want), "{want:?} in {output:?}");
            }
            fuzz_conn(&seeded(selector, &request));
            for split in [1u8, 7] {
                fuzz_conn(&[&[selector, 1, split][..], &request].concat());
            }
        }
    }

    /// The committed seed corpus (`fuzz/seeds/<target>/`) replays cleanly.
    #[test]
    fn the_seed_corpus_replays() {
        let seeds = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/seeds");
        type Target = fn(&[u8]);
        let targets: [(&str, Target); 4] =
            [("head", fuzz_head), ("chunked", fuzz_chunked), ("conn", fuzz_conn), ("proxy", fuzz_proxy)];
        for (target, run) in targets {
            let files = std::fs::read_dir(seeds.join(target)).expect("the seed corpus");
            for file in files {
                let path = file.expect("a seed").path();
                run(&std::fs::read(&path).expect("a readable seed"));
            }
        }
    }
}
