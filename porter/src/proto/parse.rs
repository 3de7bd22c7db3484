//! Request heads: the syntax by `httparse`, the framing and meaning by porter
//! (RFC 9112 for the wire, RFC 9110 for the fields).
//!
//! [`HeadScan::parse`] reads a request head from the start of a connection's
//! read buffer as it grows and returns a [`ParsedHead`]: [`Span`]s into that
//! buffer plus the decisions the connection needs (body framing, keep-alive,
//! `100-continue`). [`parse_head`] does the same in one call.
//!
//! The work is split by concern: [`scan`] finds where the lines end as the
//! bytes arrive; [`syntax`] runs `httparse` over a head and names its faults;
//! [`target`] is the request-target and authority grammar; [`fields`] gives
//! the fields porter interprets their meaning; [`token`] holds the helpers
//! shared with the rest of the crate. This file has the types and the driver.
//!
//! Invariants:
//! - Pure and total: no I/O, no `unsafe`, no panic whatever the bytes.
//! - Linear: each call scans only the bytes that arrived since the last one
//!   ([`scan`]); `httparse` judges each field line once as it ends (when a read
//!   leaves the head incomplete) and the head once, when it has ended or was
//!   cut short, so a head trickled a byte at a time costs what it costs at once.
//! - `Ok(None)` means "incomplete, within [`HeadLimits`] and no fault seen
//!   yet": the caller reads more and calls again with the same buffer start.
//!   Limits are checked on every call, so a head that can only grow past them
//!   fails at once. A bare CR or LF and a method byte that is not a token fail
//!   as soon as they arrive, a bad request line or field line as soon as it
//!   ends (a client waiting for its answer gets it); the rules that need the
//!   whole head (Host, framing, Expect) apply when the head ends.
//! - An `Err` is final: the caller answers [`ParseError::status`] and closes the
//!   connection, since after a bad head the stream can no longer be trusted.
//! - Only the first [`ParsedHead::len`] bytes are examined for a complete head:
//!   whatever follows (a body, a pipelined request) is left untouched.
//! - The verdict does not depend on how the bytes arrived: every prefix of a
//!   valid head is `Ok(None)`, every prefix of a bad one `Ok(None)` or the same
//!   error, and the full head gives the same result as when sent at once.
//! - Strict by choice: where RFC 9112 lets a server accept sloppy framing
//!   (bare LF, obs-fold, whitespace before a colon, TE with CL), porter rejects,
//!   because two parsers disagreeing about where a message ends is how request
//!   smuggling works.

mod fields;
mod scan;
mod syntax;
mod target;
mod token;

use std::fmt;

#[cfg(test)]
pub(crate) use scan::work::take as scan_work;
pub use scan::HeadScan;
use scan::Scanned;
use syntax::{classify_request_line, parse_lines};
use target::parse_target;
pub use token::is_tchar;
pub(crate) use token::parse_decimal;

/// Header slots kept on the stack; `max_headers` above this uses a heap `Vec`.
const STACK_HEADERS: usize = 128;

/// Spans are `u32` offsets, so no head may be longer than this.
const MAX_SPAN_OFFSET: usize = u32::MAX as usize;

/// Limits the head parser enforces.
#[derive(Clone, Copy, Debug)]
pub struct HeadLimits {
    /// Longest request line in bytes, without its CRLF; beyond: 414.
    pub max_request_line: usize,
    /// Largest head in bytes, from the first byte (ignored empty lines
    /// included) through the final empty line; beyond: 431.
    pub max_head: usize,
    /// Most header fields; beyond: 431.
    pub max_headers: usize,
}

impl Default for HeadLimits {
    fn default() -> Self {
        HeadLimits { max_request_line: 8192, max_head: 16384, max_headers: 64 }
    }
}

/// Byte range into the head buffer (u32 offsets).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Span {
    /// Offset of the first byte.
    pub start: u32,
    /// Offset one past the last byte.
    pub end: u32,
}

impl Span {
    fn new(start: usize, end: usize) -> Span {
        let to_u32 = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
        Span { start: to_u32(start), end: to_u32(end) }
    }

    /// The bytes of `buf` this span covers; empty if it lies outside `buf`.
    pub fn get<'a>(&self, buf: &'a [u8]) -> &'a [u8] {
        buf.get(self.start as usize..self.end as usize).unwrap_or(&[])
    }

    /// True if the span covers no bytes.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Number of bytes covered.
    pub fn len(&self) -> usize {
        self.end.saturating_sub(self.start) as usize
    }
}

/// The protocol version of a request; porter speaks only HTTP/1.x.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Version {
    /// `HTTP/1.0`.
    Http10,
    /// `HTTP/1.1`.
    Http11,
}

/// The form of the request-target (RFC 9112 §3.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TargetForm {
    /// `/path?query` (RFC 9112 §3.2.1).
    Origin,
    /// `http://authority/path?query` (RFC 9112 §3.2.2).
    Absolute,
    /// `*`, only with `OPTIONS` (RFC 9112 §3.2.4).
    Asterisk,
}

/// How the request body is delimited (RFC 9112 §6.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BodyKind {
    /// No body (no framing field, or `Content-Length: 0`).
    None,
    /// Exactly this many bytes (never 0).
    Length(u64),
    /// `Transfer-Encoding: chunked`.
    Chunked,
}

/// Everything porter needs from a parsed head; spans index the buffer passed to [`parse_head`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParsedHead {
    /// Bytes the head takes: ignored empty lines, request line, fields and the final CRLF.
    pub len: usize,
    /// The method token, case-sensitive (RFC 9110 §9.1).
    pub method: Span,
    /// The request-target exactly as sent.
    pub target: Span,
    /// `HTTP/1.0` or `HTTP/1.1`.
    pub version: Version,
    /// Which of the accepted target forms `target` has.
    pub form: TargetForm,
    /// The path, never including `?`. Origin-form: from the leading `/`.
    /// Absolute-form: what follows the authority, an empty span (at the end of
    /// the authority) when there is none, which means `/` (RFC 9110 §4.2.3).
    /// Asterisk-form: the `*`.
    pub path: Span,
    /// What follows the first `?`, without it (there is never a fragment).
    pub query: Option<Span>,
    /// The effective authority: an absolute-form target's (the Host field is
    /// then ignored, RFC 9112 §3.2.2), else the Host field's value; `None`
    /// when the Host field is absent or empty.
    pub host: Option<Span>,
    /// Every field as `(name, value)` in order; values without surrounding OWS.
    pub headers: Vec<(Span, Span)>,
    /// How the body is delimited.
    pub body: BodyKind,
    /// True if the connection may carry another request after this one.
    pub keep_alive: bool,
    /// True for `Expect: 100-continue` in an HTTP/1.1 request.
    pub expect_continue: bool,
}

/// Why a request head was refused. Every error is final: porter answers
/// [`ParseError::status`] and closes the connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParseError {
    /// The request line is not `method SP target SP version` (e.g. HTTP/0.9, extra spaces).
    BadRequestLine,
    /// The method is not a token.
    BadMethod,
    /// The target is not an accepted form, or has bytes outside visible ASCII, or a fragment.
    BadTarget,
    /// The version is not `HTTP/<digit>.<digit>`.
    BadVersion,
    /// A well-formed version other than HTTP/1.0 and HTTP/1.1 (505).
    UnsupportedVersion,
    /// `CONNECT`, which porter does not implement (501).
    ConnectNotSupported,
    /// The request line is longer than `max_request_line` (414).
    UriTooLong,
    /// The head is larger than `max_head` (431).
    HeadersTooLarge,
    /// More fields than `max_headers` (431).
    TooManyHeaders,
    /// A field name is not a token, or is followed by whitespace before the colon.
    BadHeaderName,
    /// A field value holds a control character.
    BadHeaderValue,
    /// A field line starts with whitespace (obs-fold, RFC 9112 §5.2).
    ObsFold,
    /// A line ends in LF without CR.
    BareLf,
    /// A CR not followed by LF.
    BareCr,
    /// An HTTP/1.1 request without Host.
    MissingHost,
    /// More than one Host field.
    DuplicateHost,
    /// A Host value that is not `host[:port]`.
    BadHost,
    /// A Content-Length that is not a decimal number fitting in 64 bits.
    BadContentLength,
    /// Several Content-Length values that differ.
    ConflictingContentLength,
    /// Both Transfer-Encoding and Content-Length.
    TransferEncodingWithLength,
    /// Transfer-Encoding whose final coding is not `chunked`, or with `chunked` twice.
    ChunkedNotLast,
    /// A transfer coding before `chunked` that porter does not implement (501).
    UnknownTransferCoding,
    /// Transfer-Encoding in an HTTP/1.0 request.
    TransferEncodingInHttp10,
    /// An expectation other than `100-continue` (417).
    UnsupportedExpectation,
}

impl ParseError {
    /// The status code to answer with before closing.
    pub fn status(self) -> u16 {
        use ParseError::*;
        match self {
            UnsupportedVersion => 505,
            ConnectNotSupported | UnknownTransferCoding => 501,
            UriTooLong => 414,
            HeadersTooLarge | TooManyHeaders => 431,
            UnsupportedExpectation => 417,
            _ => 400,
        }
    }

    /// Short human text for logs and the error body.
    pub fn reason(self) -> &'static str {
        use ParseError::*;
        match self {
            BadRequestLine => "malformed request line",
            BadMethod => "invalid method",
            BadTarget => "invalid request target",
            BadVersion => "malformed HTTP version",
            UnsupportedVersion => "HTTP version not supported",
            ConnectNotSupported => "CONNECT not supported",
            UriTooLong => "request line too long",
            HeadersTooLarge => "request head too large",
            TooManyHeaders => "too many header fields",
            BadHeaderName => "invalid header field name",
            BadHeaderValue => "invalid header field value",
            ObsFold => "folded header field line",
            BareLf => "line ending without CR",
            BareCr => "CR without LF",
            MissingHost => "missing Host header",
            DuplicateHost => "more than one Host header",
            BadHost => "invalid Host header",
            BadContentLength => "invalid Content-Length",
            ConflictingContentLength => "conflicting Content-Length values",
            TransferEncodingWithLength => "both Transfer-Encoding and Content-Length",
            ChunkedNotLast => "chunked is not the final transfer coding",
            UnknownTransferCoding => "unsupported transfer coding",
            TransferEncodingInHttp10 => "Transfer-Encoding in an HTTP/1.0 request",
            UnsupportedExpectation => "unsupported expectation",
        }
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.reason())
    }
}

impl std::error::Error for ParseError {}

/// Parses the request head at the start of `buf` in one call: what a fresh
/// [`HeadScan`] says about it.
#[cfg(any(test, feature = "fuzzing"))]
pub fn parse_head(buf: &[u8], limits: &HeadLimits) -> Result<Option<ParsedHead>, ParseError> {
    HeadScan::default().parse(buf, limits)
}

impl HeadScan {
    /// Parses the request head at the start of `buf`, a buffer that has only
    /// grown since the last call: only the new bytes are scanned, the field
    /// lines they complete are judged (once each), and `httparse` runs on the
    /// whole head once it has ended (or was cut short).
    ///
    /// `Ok(None)`: incomplete, need more bytes (but never once a limit is already
    /// exceeded: that is an error at once). `Ok(Some(head))`: the head is the first
    /// `head.len` bytes of `buf`, and the scan starts over for the next head at
    /// the start of the buffer the caller leaves. Up to 128 header slots live on
    /// the stack; a larger `max_headers` is honoured with a heap-allocated slot array.
    ///
    /// Errors are decided in byte order: when the bytes break a size limit or hold
    /// a bare CR or LF, a method byte that is not a token or a bad line, the bytes
    /// before that point are judged first, so the verdict (a 400 for an early syntax error, not
    /// a 414 for the line growing too long later) is the same however the bytes
    /// were split into reads.
    pub fn parse(&mut self, buf: &[u8], limits: &HeadLimits) -> Result<Option<ParsedHead>, ParseError> {
        let scanned = match self.scan(buf, limits) {
            Scanned::Incomplete => self.judge_new_fields(buf, limits),
            scanned => scanned,
        };
        let verdict = match scanned {
            Scanned::Incomplete => return Ok(None),
            Scanned::Complete(end) => parse_lines(buf.get(..end).unwrap_or(buf), &self.lines, limits),
            Scanned::Cut(at, error) => parse_before_fault(buf.get(..at).unwrap_or_default(), error, limits),
        };
        if let Ok(Some(_)) = verdict {
            *self = HeadScan::default();
        }
        verdict
    }

    /// The request line of a head this scan refused, when it had ended and was
    /// valid (the head failed on a field, a limit or a byte after it): the
    /// access log still shows what was asked.
    pub fn request_line(&self, buf: &[u8]) -> Option<RequestLine> {
        judge_request_line(buf, self.lines.start, self.lines.line_end?).ok()
    }
}

/// Judges the request line `buf[start..end]` (without its CRLF): its parts,
/// or what is wrong with it (RFC 9112 §3).
fn judge_request_line(buf: &[u8], start: usize, end: usize) -> Result<RequestLine, ParseError> {
    let line = buf.get(start..end).unwrap_or_default();
    if let Some(error) = classify_request_line(line) {
        return Err(error);
    }
    let mut parts = line.split(|&b| b == b' ');
    let (method, target, version) = (parts.next(), parts.next(), parts.next());
    let (Some(method), Some(target), Some(version)) = (method, target, version) else {
        return Err(ParseError::BadRequestLine); // never: classified above
    };
    let target_start = start + method.len() + 1;
    let target_span = Span::new(target_start, target_start + target.len());
    parse_target(buf, method, target_span)?;
    Ok(RequestLine {
        method: Span::new(start, start + method.len()),
        target: target_span,
        version: if version == b"HTTP/1.0" { Version::Http10 } else { Version::Http11 },
    })
}

/// A valid request line: method, target and version, as spans of the buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RequestLine {
    /// The method token.
    pub method: Span,
    /// The request-target exactly as sent.
    pub target: Span,
    /// `HTTP/1.0` or `HTTP/1.1`.
    pub version: Version,
}

/// Judges the bytes before a fault: their own error if they have one, a head
/// if one completes before the fault, else the fault's `error`.
fn parse_before_fault(prefix: &[u8], error: ParseError, limits: &HeadLimits) -> Result<Option<ParsedHead>, ParseError> {
    let mut scan = HeadScan::default();
    if let Scanned::Cut(_, early) = scan.scan(prefix, limits) {
        return Err(early); // never: the prefix is all before the first cut
    }
    match parse_lines(prefix, &scan.lines, limits)? {
        Some(head) => Ok(Some(head)),
        None => Err(error),
    }
}

/// Where the lines of a (possibly partial) head lie in the buffer.
#[derive(Clone, Debug, Default)]
struct Lines {
    /// First byte of the request line, after ignored empty lines.
    start: usize,
    /// The CR ending the request line, once seen.
    line_end: Option<usize>,
    /// Just past the LF of the empty line ending the head, once seen.
    head_end: Option<usize>,
}

impl Lines {
    /// The request line without its CRLF, or as much of it as has arrived.
    fn request_line<'a>(&self, buf: &'a [u8]) -> &'a [u8] {
        // A trailing CR may be the start of the CRLF: it is not part of the line.
        let end = self.line_end.unwrap_or(buf.len() - usize::from(buf.ends_with(b"\r")));
        buf.get(self.start..end).unwrap_or(&[])
    }

    /// The head, or as much of it as has arrived.
    fn head<'a>(&self, buf: &'a [u8]) -> &'a [u8] {
        buf.get(..self.head_end.unwrap_or(buf.len())).unwrap_or(buf)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use ParseError::*;

    /// What a table row expects from `parse_head`.
    #[derive(Debug)]
    enum Want {
        /// A head whose summary holds every one of these space-separated tokens.
        Head(&'static str),
        Incomplete,
        Fails(ParseError),
    }
    use Want::*;

    #[test]
    fn tchar_table_is_the_rfc_9110_list() {
        let listed: Vec<u8> = (0..=255u8).filter(|&b| is_tchar(b)).collect();
        let rfc: Vec<u8> = b"!#$%&'*+-.0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ^_`abcdefghijklmnopqrstuvwxyz|~".to_vec();
        assert_eq!(listed, rfc);
    }

    fn row(input: &[u8], want: Want) -> (Vec<u8>, Want) {
        (input.to_vec(), want)
    }

    /// The input for a failure message, cut short.
    fn show(input: &[u8]) -> String {
        format!("{:?}", String::from_utf8_lossy(&input[..input.len().min(120)]))
    }

    /// `name=value` tokens describing a parsed head.
    fn summary(buf: &[u8], head: &ParsedHead) -> Vec<String> {
        let text = |span: Span| String::from_utf8_lossy(span.get(buf)).into_owned();
        let optional = |span: Option<Span>| span.map_or_else(|| "-".to_string(), text);
        vec![
            format!("len={}", head.len),
            format!("method={}", text(head.method)),
            format!("target={}", text(head.target)),
            format!("version={:?}", head.version),
            format!("form={:?}", head.form),
            format!("path={}", text(head.path)),
            format!("query={}", optional(head.query)),
            format!("host={}", optional(head.host)),
            format!("body={:?}", head.body),
            format!("keep_alive={}", head.keep_alive),
            format!("continue={}", head.expect_continue),
            format!("headers={}", head.headers.len()),
        ]
    }

    fn check(input: &[u8], want: &Want, limits: &HeadLimits) {
        let shown = show(input);
        match (want, parse_head(input, limits)) {
            (Head(tokens), Ok(Some(head))) => {
                let got = summary(input, &head);
                for token in tokens.split_whitespace() {
                    assert!(got.iter().any(|t| t == token), "{shown}: want {token}, got {got:.200?}");
                }
            }
            (Incomplete, Ok(None)) => {}
            (Fails(error), Err(got)) if *error == got => {}
            (want, got) => panic!("{shown}: want {want:?}, got {:?}", got.map(|h| h.map(|h| h.len))),
        }
    }

    /// Every strict prefix is incomplete or already fails the same way; a head
    /// is never accepted early and never differently.
    /// Long inputs are cut every `stride` bytes and at each of their last few bytes.
    fn check_prefixes(input: &[u8], want: &Want, limits: &HeadLimits, stride: usize) {
        let full_len = match parse_head(input, limits) {
            Ok(Some(head)) => head.len,
            _ => input.len(),
        };
        let cuts = (0..full_len).step_by(stride).chain(full_len.saturating_sub(4)..full_len);
        for cut in cuts {
            let prefix = &input[..cut];
            match (parse_head(prefix, limits), want) {
                (Ok(None), _) => {}
                (Err(got), Fails(error)) if got == *error => {}
                (got, _) => {
                    panic!("{} cut at {cut}: got {:?}, want {want:?}", show(input), got.map(|h| h.map(|h| h.len)))
                }
            }
        }
    }

    fn table() -> Vec<(Vec<u8>, Want)> {
        vec![
            // Basics, versions, keep-alive (RFC 9112 §9.3).
            row(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n", Head("len=27 method=GET target=/ version=Http11 form=Origin path=/ query=- host=a body=None keep_alive=true continue=false headers=1")),
            row(b"GET /x HTTP/1.0\r\n\r\n", Head("len=19 version=Http10 host=- keep_alive=false headers=0")),
            row(b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", Head("version=Http10 keep_alive=true")),
            row(b"GET / HTTP/1.0\r\nConnection: Keep-Alive, close\r\n\r\n", Head("keep_alive=false")),
            row(b"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", Head("keep_alive=false")),
            row(b"GET / HTTP/1.1\r\nHost: a\r\nConnection: upgrade,\tCLOSE\r\n\r\n", Head("keep_alive=false")),
            row(b"GET / HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, upgrade\r\n\r\n", Head("keep_alive=true")),
            row(b"POST /submit HTTP/1.1\r\nHost: a\r\n\r\n", Head("method=POST path=/submit")),
            row(b"M-SEARCH * HTTP/1.1\r\nHost: a\r\n\r\n", Fails(BadTarget)),
            // Leading empty lines (RFC 9112 §2.2) and pipelining.
            row(b"\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", Head("len=31 method=GET target=/")),
            row(b"GET /1 HTTP/1.1\r\nHost: a\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\n\r\n", Head("len=28 target=/1")),
            row(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n\n\r\x00junk", Head("len=27")),
            row(b"", Incomplete),
            row(b"\r\n", Incomplete),
            row(b"GET / HTTP/1.1\r\nHost: a\r\n", Incomplete),
            // Origin-form targets (RFC 9112 §3.2.1).
            row(b"GET /a/b?x=1&y=2 HTTP/1.1\r\nHost: a\r\n\r\n", Head("form=Origin path=/a/b query=x=1&y=2")),
            row(b"GET /a? HTTP/1.1\r\nHost: a\r\n\r\n", Head("path=/a query=")),
            row(b"GET /a?b?c HTTP/1.1\r\nHost: a\r\n\r\n", Head("path=/a query=b?c")),
            row(b"GET /a#frag HTTP/1.1\r\nHost: a\r\n\r\n", Fails(BadTarget)),
            row(b"GET /caf\xc3\xa9 HTTP/1.1\r\nHost: a\r\n\r\n", Fails(BadTarget)),
            row(b"GET /\xff HTTP/1.1\r\nHost: a\r\n\r\n", Fails(BadTarget)),
            row(b"GET /a\x01b HTTP/1.1\r\nHost: a\r\n\r\n", Fails(BadTarget)),
            row(b"GET /a\x7fb HTTP/1.1\r\nHost: a\r\n\r\n", Fails(BadTarget)),
            // Absolute-form (RFC 9112 §3.2.2): the target's authority wins over Host.
            row(b"GET http://example.com/p?q HTTP/1.1\r\nHost: other\r\n\r\n", Head("form=Absolute host=example.com path=/p query=q")),
            row(b"GET http://example.com HTTP/1.1\r\nHost: x\r\n\r\n", Head("form=Absolute host=example.com path= query=-")),
            row(b"GET HTTPS://h:8080?x HTTP/1.1\r\nHost: x\r\n\r\n", Head("host=h:8080 path= query=x")),
            row(b"GET http://[::1]:80/ HTTP/1.1\r\nHost: x\r\n\r\n", Head("host=[::1]:80 path=/")),
            row(b"GET http://h/ HTTP/1.1\r\n\r\n", Fails(MissingHost)),
            row(b"GET ftp://h/ HTTP/1.1\r\nHost: h\r\n\r\n", Fails(BadTarget)),
            row(b"GET http://u@h/ HTTP/1.1\r\nHost: h\r\n\r\n", Fails(BadTarget)),
            row(b"GET http:///x HTTP/1.1\r\nHost: h\r\n\r\n", Fails(BadTarget)),
            row(b"GET http://h:x/ HTTP/1.1\r\nHost: h\r\n\r\n", Fails(BadTarget)),
            row(b"GET http:/h/ HTTP/1.1\r\nHost: h\r\n\r\n", Fails(BadTarget)),
            // Authority-form and CONNECT (RFC 9112 §3.2.3), asterisk-form (§3.2.4).
            row(b"GET example.com:80 HTTP/1.1\r\nHost: example.com\r\n\r\n", Fails(BadTarget)),
            row(b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n", Fails(ConnectNotSupported)),
            row(b"OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n", Head("method=OPTIONS form=Asterisk target=* path=* query=-")),
            row(b"GET * HTTP/1.1\r\nHost: a\r\n\r\n", Fails(BadTarget)),
            row(b"OPTIONS *x HTTP/1.1\r\nHost: a\r\n\r\n", Fails(BadTarget)),
            // The request line's shape (RFC 9112 §3) and version (§2.3).
            row(b"GET /a b HTTP/1.1\r\nHost: a\r\n\r\n", Fails(BadRequestLine)),
            row(b"GET  / HTTP/1.1\r\nHost: a\r\n\r\n", Fails(BadRequestLine)),
            row(b"GET / HTTP/1.1 \r\nHost: a\r\n\r\n", Fails(BadRequestLine)),
            row(b"GET\t/ HTTP/1.1\r\nHost: a\r\n\r\n", Fails(BadMethod)),
            row(b"GET /\r\n\r\n", Fails(BadRequestLine)),
            row(b"GET\r\n\r\n", Fails(BadRequestLine)),
            row(b"G(T / HTTP/1.1\r\nHost: a\r\n\r\n", Fails(BadMethod)),
            row(b" / HTTP/1.1\r\nHost: a\r\n\r\n", Fails(BadMethod)),
            row(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", Fails(BadMethod)),
            row(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", Fails(UnsupportedVersion)),
            row(b"GET / HTTP/2.0\r\nHost: a\r\n\r\n", Fails(UnsupportedVersion)),
            row(b"GET / HTTP/1.2\r\nHost: a\r\n\r\n", Fails(UnsupportedVersion)),
            row(b"GET / HTTP/0.9\r\n\r\n", Fails(UnsupportedVersion)),
            row(b"GET / HTTP/2", Incomplete),
            row(b"GET / http/1.1\r\nHost: a\r\n\r\n", Fails(BadVersion)),
            row(b"GET / HTTP/1.10\r\nHost: a\r\n\r\n", Fails(BadVersion)),
            row(b"GET / HTTP/1\r\nHost: a\r\n\r\n", Fails(BadVersion)),
            row(b"GET / HTTP/1.1x\r\nHost: a\r\n\r\n", Fails(BadVersion)),
            row(b"GET / HTTPS/1.1\r\nHost: a\r\n\r\n", Fails(BadVersion)),
            // Line endings (RFC 9112 §2.2): bare LF and bare CR are refused.
            row(b"GET / HTTP/1.1\nHost: a\n\n", Fails(BareLf)),
            row(b"GET / HTTP/1.1\r\nHost: a\n\r\n", Fails(BareLf)),
            row(b"GET / HTTP/1.1\r\nHost: a\r\n\n", Fails(BareLf)),
            row(b"\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", Fails(BareLf)),
            row(b"GET / HTTP/1.1\r\nHost: a\rb\r\n\r\n", Fails(BareCr)),
            row(b"GET /\r HTTP/1.1\r\nHost: a\r\n\r\n", Fails(BareCr)),
            row(b"\r\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", Fails(BareCr)),
            row(b"GET / HTTP/1.1\r\nHost: a\r\n\r\r", Fails(BareCr)),
            // Field syntax (RFC 9112 §5, RFC 9110 §5.5).
            row(b"GET / HTTP/1.1\r\nHost: a\r\nX: a\x00b\r\n\r\n", Fails(BadHeaderValue)),
            row(b"GET / HTTP/1.1\r\nHost: a\r\nX: a\x0bb\r\n\r\n", Fails(BadHeaderValue)),
            row(b"GET / HTTP/1.1\r\nHost: a\r\nX: a\x7fb\r\n\r\n", Fails(BadHeaderValue)),
            row(b"GET / HTTP/1.1\r\nHost: a\r\nX: \x1b[0m\r\n\r\n", Fails(BadHeaderValue)),
            row(b"GET / HTTP/1.1\r\nHost: a\r\nX-\x00: b\r\n\r\n", Fails(BadHeaderName)),
            row(b"GET / HTTP/1.1\r\nHost: a\r\nX: caf\xe9\tb\r\nY:\r\n\r\n", Head("headers=3")),
            row(b"GET / HTTP/1.1\r\nHost: a\r\nX: b\r\n c\r\n\r\n", Fails(ObsFold)),
            row(b"GET / HTTP/1.1\r\nHost: a\r\nX: b\r\n\tc\r\n\r\n", Fails(ObsFold)),
            row(b"GET / HTTP/1.1\r\n Host: a\r\n\r\n", Fails(ObsFold)),
            // The first bad line names the fault, whatever follows (found by proptest).
            row(b"GET / HTTP/1.1\r\nHost: a\r\nM\t:5\r\n\tvk\r\n\r\n", Fails(BadHeaderName)),
            row(b"GET / HTTP/1.1\r\nHost: a\r\n: x\r\n\r\n", Fails(BadHeaderName)),
            row(b"GET / HTTP/1.1\r\nHost : a\r\n\r\n", Fails(BadHeaderName)),
            row(b"GET / HTTP/1.1\r\nHost\t: a\r\n\r\n", Fails(BadHeaderName)),
            row(b"GET / HTTP/1.1\r\nHost a\r\n\r\n", Fails(BadHeaderName)),
            row(b"GET / HTTP/1.1\r\nX(y): a\r\nHost: a\r\n\r\n", Fails(BadHeaderName)),
            row(b"GET / HTTP/1.1\r\nHost: a\r\nX\ry: a\r\n\r\n", Fails(BareCr)),
            row(b"GET / HTTP/1.1\r\nHost: a\r\nX\r\n\r\n", Fails(BadHeaderName)),
            // Host (RFC 9112 §3.2, RFC 3986 §3.2).
            row(b"GET / HTTP/1.1\r\n\r\n", Fails(MissingHost)),
            row(b"GET / HTTP/1.1\r\nHost: a\r\nhost: a\r\n\r\n", Fails(DuplicateHost)),
            row(b"GET / HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n", Fails(DuplicateHost)),
            row(b"GET / HTTP/1.1\r\nHost: u@h\r\n\r\n", Fails(BadHost)),
            row(b"GET / HTTP/1.1\r\nHost: u:p@h:80\r\n\r\n", Fails(BadHost)),
            row(b"GET / HTTP/1.1\r\nHost: h:abc\r\n\r\n", Fails(BadHost)),
            row(b"GET / HTTP/1.1\r\nHost: h:99999\r\n\r\n", Fails(BadHost)),
            row(b"GET / HTTP/1.1\r\nHost: h:65536\r\n\r\n", Fails(BadHost)),
            row(b"GET / HTTP/1.1\r\nHost: h:65535\r\n\r\n", Head("host=h:65535")),
            row(b"GET / HTTP/1.1\r\nHost: h:\r\n\r\n", Head("host=h:")),
            row(b"GET / HTTP/1.1\r\nHost:\r\n\r\n", Head("host=- headers=1")),
            row(b"GET / HTTP/1.1\r\nHost: 192.0.2.1:8080\r\n\r\n", Head("host=192.0.2.1:8080")),
            row(b"GET / HTTP/1.1\r\nHost: [2001:db8::1]:8080\r\n\r\n", Head("host=[2001:db8::1]:8080")),
            row(b"GET / HTTP/1.1\r\nHost: [v1.fe80::a+en1]\r\n\r\n", Head("host=[v1.fe80::a+en1]")),
            row(b"GET / HTTP/1.1\r\nHost: [::1\r\n\r\n", Fails(BadHost)),
            row(b"GET / HTTP/1.1\r\nHost: [::1]x\r\n\r\n", Fails(BadHost)),
            row(b"GET / HTTP/1.1\r\nHost: [zz]\r\n\r\n", Fails(BadHost)),
            row(b"GET / HTTP/1.1\r\nHost: ex%41mple\r\n\r\n", Head("host=ex%41mple")),
            row(b"GET / HTTP/1.1\r\nHost: ex%4\r\n\r\n", Fails(BadHost)),
            row(b"GET / HTTP/1.1\r\nHost: :80\r\n\r\n", Fails(BadHost)),
            row(b"GET / HTTP/1.1\r\nHost: a b\r\n\r\n", Fails(BadHost)),
            row(b"GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", Fails(BadHost)),
            row(b"GET / HTTP/1.0\r\nHost: a/b\r\n\r\n", Fails(BadHost)),
            row(b"GET http://a/ HTTP/1.1\r\nHost: u@x\r\n\r\n", Fails(BadHost)),
            // Content-Length (RFC 9110 §8.6, RFC 9112 §6.3).
            row(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\n", Head("body=Length(5)")),
            row(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n", Head("body=None")),
            row(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 00005\r\n\r\n", Head("body=Length(5)")),
            row(b"POST / HTTP/1.1\r\nHost: a\r\ncontent-length: \t7\t \r\n\r\n", Head("body=Length(7)")),
            row(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 18446744073709551615\r\n\r\n", Head("body=Length(18446744073709551615)")),
            row(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 18446744073709551616\r\n\r\n", Fails(BadContentLength)),
            row(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999999\r\n\r\n", Fails(BadContentLength)),
            row(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +5\r\n\r\n", Fails(BadContentLength)),
            row(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -5\r\n\r\n", Fails(BadContentLength)),
            row(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length:  5 5\r\n\r\n", Fails(BadContentLength)),
            row(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0x5\r\n\r\n", Fails(BadContentLength)),
            row(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5.0\r\n\r\n", Fails(BadContentLength)),
            row(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length:\r\n\r\n", Fails(BadContentLength)),
            row(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5,\r\n\r\n", Fails(BadContentLength)),
            row(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 5\r\n\r\n", Head("body=Length(5)")),
            row(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n", Head("body=Length(5)")),
            row(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 6\r\n\r\n", Fails(ConflictingContentLength)),
            row(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n", Fails(ConflictingContentLength)),
            // Transfer-Encoding (RFC 9112 §6.1, §6.3, §7).
            row(b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n", Head("body=Chunked")),
            row(b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked \r\n\r\n", Head("body=Chunked")),
            row(b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: CHUNKED\r\n\r\n", Head("body=Chunked")),
            row(b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding:\tchunked\t\r\n\r\n", Head("body=Chunked")),
            row(b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: , chunked,\r\n\r\n", Head("body=Chunked")),
            row(b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: xchunked\r\n\r\n", Fails(ChunkedNotLast)),
            row(b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, identity\r\n\r\n", Fails(ChunkedNotLast)),
            row(b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: identity\r\n\r\n", Fails(ChunkedNotLast)),
            row(b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, chunked\r\n\r\n", Fails(ChunkedNotLast)),
            row(b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked;q=1\r\n\r\n", Fails(ChunkedNotLast)),
            row(b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding:\r\n\r\n", Fails(ChunkedNotLast)),
            row(b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n\r\n", Fails(ChunkedNotLast)),
            row(b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n", Fails(UnknownTransferCoding)),
            row(b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip ,\tchunked\r\n\r\n", Fails(UnknownTransferCoding)),
            row(b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: identity, chunked\r\n\r\n", Fails(UnknownTransferCoding)),
            row(b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n", Fails(TransferEncodingWithLength)),
            row(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", Fails(TransferEncodingWithLength)),
            row(b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", Fails(TransferEncodingInHttp10)),
            // Expect (RFC 9110 §10.1.1).
            row(b"POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\n", Head("continue=true body=Length(1)")),
            row(b"POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-Continue\r\n\r\n", Head("continue=true")),
            row(b"POST / HTTP/1.1\r\nHost: a\r\nExpect:\r\n\r\n", Head("continue=false")),
            row(b"POST / HTTP/1.1\r\nHost: a\r\nExpect: foo\r\n\r\n", Fails(UnsupportedExpectation)),
            row(b"POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue, foo\r\n\r\n", Fails(UnsupportedExpectation)),
            row(b"POST / HTTP/1.0\r\nExpect: 100-continue\r\n\r\n", Head("continue=false")),
            row(b"POST / HTTP/1.0\r\nExpect: foo\r\n\r\n", Head("continue=false")),
        ]
    }

    /// Rows that need generated input; all under the default limits.
    fn limit_rows() -> Vec<(Vec<u8>, Want)> {
        let with_headers = |count: usize| {
            let fields: String = (0..count).map(|i| format!("X-{i}: v\r\n")).collect();
            format!("GET / HTTP/1.1\r\nHost: a\r\n{fields}\r\n").into_bytes()
        };
        let with_line = |line_len: usize| {
            let path = "a".repeat(line_len - "GET / HTTP/1.1".len());
            format!("GET /{path} HTTP/1.1\r\nHost: a\r\n\r\n").into_bytes()
        };
        let with_head = |head_len: usize| {
            let filler = "b".repeat(head_len - "GET / HTTP/1.1\r\nHost: a\r\nX: \r\n\r\n".len());
            format!("GET / HTTP/1.1\r\nHost: a\r\nX: {filler}\r\n\r\n").into_bytes()
        };
        let long_partial_line = format!("GET /{}", "a".repeat(9000)).into_bytes();
        let long_partial_head = with_head(20000)[..16385].to_vec();
        vec![
            (with_headers(63), Head("headers=64")),
            (with_headers(64), Fails(TooManyHeaders)),
            (with_line(8192), Head("len=8205")),
            (with_line(8193), Fails(UriTooLong)),
            (long_partial_line, Fails(UriTooLong)),
            (with_head(16384), Head("len=16384")),
            (with_head(16385), Fails(HeadersTooLarge)),
            (long_partial_head, Fails(HeadersTooLarge)),
            ("\r\n".repeat(8193).into_bytes(), Fails(HeadersTooLarge)),
        ]
    }

    #[test]
    fn table_rows_parse_as_expected() {
        let rows = table();
        assert!(rows.len() >= 60, "{} rows", rows.len());
        for (input, want) in &rows {
            check(input, want, &HeadLimits::default());
        }
    }

    #[test]
    fn limit_rows_parse_as_expected() {
        for (input, want) in &limit_rows() {
            check(input, want, &HeadLimits::default());
        }
    }

    #[test]
    fn every_prefix_is_incomplete_or_the_same_error() {
        for (input, want) in &table() {
            check_prefixes(input, want, &HeadLimits::default(), 1);
        }
        for (input, want) in &limit_rows() {
            check_prefixes(input, want, &HeadLimits::default(), 61);
        }
    }

    /// Found by `fuzz/run.sh` (target `head`): a request line that was both too
    /// long and malformed earlier on was a 414 when it arrived at once but a 400
    /// when the first read ended before the limit. The earlier fault now wins.
    #[test]
    fn the_first_fault_in_byte_order_decides_however_the_bytes_arrive() {
        let crash: &[u8] = b"\r\n\r\nE/G T p;q=1 HTTP/2.\0\0\0\0\0\0\0\0ctio\x03\x03\x03\x03\x03\x03\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xffConteni LengtGET h: \r\n";
        let small = HeadLimits { max_request_line: 64, max_head: 256, max_headers: 4 };
        let long = "a".repeat(100);
        let early_name_fault: &[u8] = b"POST / HTTP/1.1\r\nHost: a\r\nConten\0GET / H\x1c\0\0\x001.1\r\n\xff\xff\xff\xff\xff\xff\xfft-Length: 5, \xff\xff\xff\xff5\r";
        let mut cut_after_cr = early_name_fault.strip_suffix(b"\r").unwrap_or_default().to_vec();
        cut_after_cr.resize(small.max_head - 1, b'5');
        cut_after_cr.extend_from_slice(b"\r\n\r\n");
        let rows: Vec<(Vec<u8>, Want)> = vec![
            (crash.to_vec(), Fails(BadMethod)),
            (format!("G(T /{long} HTTP/1.1\r\n").into_bytes(), Fails(BadMethod)),
            (format!("GET /\x01{long} HTTP/1.1\r\n").into_bytes(), Fails(BadTarget)),
            (format!("GET /{long}\x01 HTTP/1.1\r\n").into_bytes(), Fails(UriTooLong)),
            (format!("GET / HTTP/1.1\r\nX y: {long}{long}{long}\r\n").into_bytes(), Fails(BadHeaderName)),
            (format!("GET / HTTP/1.1\r\nX: {long}{long}{long}\n\r\n").into_bytes(), Fails(HeadersTooLarge)),
            (format!("GET / HTTP/1.1\r\nX: a\n{long}{long}{long}\r\n").into_bytes(), Fails(BareLf)),
            // The version is judged when the request line ends, before a bare LF later on.
            (b"GET / HTTP/0.1\r\n\xff\xff\x01\0\0\n\xff\xff\nX: b\r\n c\r/\r\n".to_vec(), Fails(UnsupportedVersion)),
            (b"GET / HTTP/1.1\r\nX y: z\nHost: a\r\n\r\n".to_vec(), Fails(BadHeaderName)),
            // A field line's fault shows as soon as the line ends.
            (early_name_fault.to_vec(), Fails(BadHeaderName)),
            // A fault before a final CR shows when the limit cuts right after that CR.
            (cut_after_cr, Fails(BadHeaderName)),
            (b"GET / HTTP/1.1\r\nX: z\rHost: a\r\n\x00\r\n".to_vec(), Fails(BareCr)),
        ];
        for (input, want) in &rows {
            check(input, want, &small);
            check_prefixes(input, want, &small, 1);
        }
    }

    /// Review of the incremental scan: a bad line used to wait for the head's
    /// end (or a limit, or the timeout) before it was refused. Now the request
    /// line is judged when it ends and field lines as they end.
    #[test]
    fn a_bad_line_fails_as_soon_as_it_ends() {
        let small = HeadLimits { max_request_line: 64, max_head: 256, max_headers: 4 };
        let rows: [(&[u8], ParseError); 12] = [
            (b"GET /\r\n", BadRequestLine),
            (b"EHLO example.org\r\n", BadRequestLine),
            (b"GET / HTTP/2.0\r\n", UnsupportedVersion),
            (b"GET / HTTP/1.1x\r\n", BadVersion),
            (b"GET /\x01 HTTP/1.1\r\n", BadTarget),
            (b"GET /a#b HTTP/1.1\r\nHost: a\r\nX y: z\r\n", BadTarget),
            (b"CONNECT h:443 HTTP/1.1\r\n", ConnectNotSupported),
            (b"GET / HTTP/1.1\r\nHost: a\r\nBad Name: y\r\n", BadHeaderName),
            (b"GET / HTTP/1.1\r\nX: \0\r\n", BadHeaderValue),
            (b"GET / HTTP/1.1\r\nHost: x\r\n folded\r\nX y: z\r\n", ObsFold),
            (b"GET / HTTP/1.1\r\nHost: x\r\nX: y\r\nNoColon\r\n", BadHeaderName),
            (b"GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\nE: 5\r\n", TooManyHeaders),
        ];
        for (input, error) in rows {
            check(input, &Fails(error), &small);
            check_prefixes(input, &Fails(error), &small, 1);
            for piece in [1, 2, 7] {
                assert_eq!(parse_in_pieces(input, piece, &small), Err(error), "{} in pieces of {piece}", show(input));
            }
        }
    }

    #[test]
    fn heads_split_anywhere_parse_the_same() {
        let input =
            b"\r\nPOST /up?x=1 HTTP/1.1\r\nHost: h:8\r\nTransfer-Encoding: chunked\r\nX:  v w \t\r\n\r\n1\r\na\r\n";
        let whole = parse_head(input, &HeadLimits::default()).unwrap().unwrap();
        let mut buf = Vec::new();
        for (i, &byte) in input.iter().enumerate() {
            buf.push(byte);
            match parse_head(&buf, &HeadLimits::default()).unwrap() {
                None => assert!(i + 1 < whole.len, "incomplete at {}", i + 1),
                Some(head) => {
                    assert_eq!(i + 1, whole.len);
                    assert_eq!(summary(&buf, &head), summary(input, &whole));
                    return;
                }
            }
        }
        panic!("never complete");
    }

    /// The verdict of feeding `input` to one scan in pieces of `piece` bytes,
    /// as a connection does: the first head or error, else `Ok(None)`.
    fn parse_in_pieces(input: &[u8], piece: usize, limits: &HeadLimits) -> Result<Option<ParsedHead>, ParseError> {
        let mut scan = HeadScan::default();
        let cuts = (piece..input.len()).step_by(piece).chain([input.len()]);
        for cut in cuts {
            if let verdict @ (Ok(Some(_)) | Err(_)) = scan.parse(&input[..cut], limits) {
                return verdict;
            }
        }
        Ok(None)
    }

    #[test]
    fn a_scan_fed_in_pieces_decides_as_parse_head_does() {
        let small = HeadLimits { max_request_line: 64, max_head: 256, max_headers: 4 };
        let rows = table().into_iter().chain(limit_rows());
        for (input, limits) in rows.map(|(input, _)| (input, HeadLimits::default())).chain(
            [&b"GET /aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n"[..], b"\r\n\r\n\r"]
                .into_iter()
                .map(|input| (input.to_vec(), small)),
        ) {
            let whole = parse_head(&input, &limits);
            for piece in [1, 2, 7, 61] {
                let got = parse_in_pieces(&input, piece, &limits);
                assert_eq!(got, whole, "{} in pieces of {piece}", show(&input));
            }
        }
    }

    /// Item 7 of the hardening issue: each read used to rescan (and re-parse)
    /// every buffered byte, so a head trickled a byte at a time cost its length
    /// squared. Now every byte is examined once, and handed to `httparse` at
    /// most twice: with its field line as that line ends, and with its head.
    #[test]
    fn a_head_fed_a_byte_at_a_time_is_scanned_once_and_parsed_once() {
        let fields: String = (0..60).map(|i| format!("X-Field-{i}: {}\r\n", "v".repeat(200))).collect();
        let head = format!("\r\nPOST /upload?x=1 HTTP/1.1\r\nHost: a\r\n{fields}\r\n");
        let next = "GET /next HTTP/1.1\r\nHost: a\r\n\r\n";
        let wire = format!("{head}{next}").into_bytes();
        let limits = HeadLimits::default();
        let (mut buf, mut heads, mut scan) = (Vec::new(), Vec::new(), HeadScan::default());
        scan::work::take();
        for &byte in &wire {
            buf.push(byte);
            if let Some(parsed) = scan.parse(&buf, &limits).unwrap() {
                heads.push(summary(&buf, &parsed)[1..3].join(" "));
                buf.drain(..parsed.len);
            }
        }
        let (scanned, judged) = scan::work::take();
        assert_eq!(heads, ["method=POST target=/upload?x=1", "method=GET target=/next"]);
        let head_bytes = head.len() + next.len();
        assert!(head.len() > 12_000, "a head of {} bytes", head.len());
        assert!(scanned <= head_bytes, "{scanned} bytes scanned for {head_bytes} bytes of heads");
        // Each field line is judged once as it ends, and the head once whole.
        assert!(judged >= head_bytes, "httparse judged the heads: {judged} bytes");
        assert!(judged <= 2 * head_bytes, "{judged} bytes judged for {head_bytes} bytes of heads");
    }

    #[test]
    fn a_refused_head_keeps_its_request_line_only_when_that_line_is_valid() {
        let rows: [(&[u8], Option<&str>); 8] = [
            (b"GET /x?q HTTP/1.1\r\n\r\n", Some("GET /x?q Http11")),
            (b"\r\nPOST http://h/p HTTP/1.0\r\nContent-Length: x\r\n\r\n", Some("POST http://h/p Http10")),
            (b"GET / HTTP/1.1\r\nHost: a\r\nX: a\nb", Some("GET / Http11")),
            (b"GET /a#b HTTP/1.1\r\nHost: a\r\n\r\n", None),
            (b"CONNECT h:443 HTTP/1.1\r\nHost: h:443\r\n\r\n", None),
            (b"GET / HTTP/2.0\r\nHost: a\r\n\r\n", None),
            (b"GET /a b HTTP/1.1\r\nHost: a\r\n\r\n", None),
            (b"G(T / HTTP/1.1\r\n", None),
        ];
        for (input, want) in rows {
            let mut scan = HeadScan::default();
            assert!(scan.parse(input, &HeadLimits::default()).is_err(), "{}", show(input));
            let text = |span: Span| String::from_utf8_lossy(span.get(input)).into_owned();
            let got =
                scan.request_line(input).map(|l| format!("{} {} {:?}", text(l.method), text(l.target), l.version));
            assert_eq!(got.as_deref(), want, "{}", show(input));
        }
    }

    #[test]
    fn headers_keep_order_case_and_trimmed_values() {
        let input = b"GET / HTTP/1.1\r\nHost: a\r\nX-Long:  a b \t\r\nx-long:\r\n\r\n";
        let head = parse_head(input, &HeadLimits::default()).unwrap().unwrap();
        let fields: Vec<(&[u8], &[u8])> = head.headers.iter().map(|(n, v)| (n.get(input), v.get(input))).collect();
        assert_eq!(fields, [(&b"Host"[..], &b"a"[..]), (b"X-Long", b"a b"), (b"x-long", b"")]);
        assert_eq!(head.method.get(input), b"GET");
        assert_eq!(head.method.len(), 3);
        assert!(!head.method.is_empty());
    }

    #[test]
    fn header_limit_above_the_stack_array_uses_the_heap() {
        let fields: String = (0..199).map(|i| format!("X-{i}: v\r\n")).collect();
        let input = format!("GET / HTTP/1.1\r\nHost: a\r\n{fields}\r\n").into_bytes();
        let roomy = HeadLimits { max_headers: 200, max_head: 1 << 20, ..HeadLimits::default() };
        check(&input, &Head("headers=200"), &roomy);
        check(&input, &Fails(TooManyHeaders), &HeadLimits { max_headers: 199, ..roomy });
        check(b"GET / HTTP/1.0\r\nX: y\r\n\r\n", &Fails(TooManyHeaders), &HeadLimits { max_headers: 0, ..roomy });
        check(b"GET / HTTP/1.0\r\n\r\n", &Head("headers=0"), &HeadLimits { max_headers: 0, ..roomy });
    }

    #[test]
    fn statuses_and_reasons() {
        let cases = [
            (BadRequestLine, 400),
            (UnsupportedVersion, 505),
            (ConnectNotSupported, 501),
            (UriTooLong, 414),
            (HeadersTooLarge, 431),
            (TooManyHeaders, 431),
            (UnknownTransferCoding, 501),
            (UnsupportedExpectation, 417),
            (ChunkedNotLast, 400),
        ];
        for (error, status) in cases {
            assert_eq!(error.status(), status, "{error:?}");
            assert_eq!(error.to_string(), error.reason());
            assert!(!error.reason().is_empty());
        }
    }

    #[test]
    fn span_outside_the_buffer_is_empty() {
        let span = Span { start: 5, end: 50 };
        assert_eq!(span.get(b"short"), b"");
        assert_eq!(Span { start: 3, end: 1 }.len(), 0);
        assert!(Span::default().is_empty());
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(input in proptest::collection::vec(any::<u8>(), 0..512)) {
            check_invariants(&input);
        }

        #[test]
        fn arbitrary_fields_never_panic(tail in proptest::collection::vec(any::<u8>(), 0..256)) {
            let mut input = b"POST /p HTTP/1.1\r\nHost: a\r\n".to_vec();
            input.extend_from_slice(&tail);
            check_invariants(&input);
        }

        #[test]
        fn printable_fields_never_panic(tail in "[ -~\t]{0,40}(\r\n[ -~\t]{0,40}){0,4}\r\n\r\n") {
            let input = format!("GET /p HTTP/1.1\r\nHost: a\r\n{tail}").into_bytes();
            check_invariants(&input);
        }
    }

    /// A parsed head lies within the buffer and every span lies within the head;
    /// a scan fed in pieces decides as one call does.
    fn check_invariants(input: &[u8]) {
        let small = HeadLimits { max_request_line: 64, max_head: 256, max_headers: 4 };
        for limits in [HeadLimits::default(), small] {
            let whole = parse_head(input, &limits);
            assert_eq!(parse_in_pieces(input, 1 + input.len() % 5, &limits), whole, "{}", show(input));
            if let Ok(Some(head)) = whole {
                assert!(head.len <= input.len() && head.len <= limits.max_head);
                let spans = [head.method, head.target, head.path].into_iter().chain(head.query).chain(head.host);
                for span in spans.chain(head.headers.iter().flat_map(|&(n, v)| [n, v])) {
                    assert!(span.start <= span.end && span.end as usize <= head.len);
                }
            }
        }
    }
}
