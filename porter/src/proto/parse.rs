//! Request heads: the syntax by `httparse`, the framing and meaning by porter
//! (RFC 9112 for the wire, RFC 9110 for the fields).
//!
//! [`HeadScan::parse`] reads a request head from the start of a connection's
//! read buffer as it grows and returns a [`ParsedHead`]: [`Span`]s into that
//! buffer plus the decisions the connection needs (body framing, keep-alive,
//! `100-continue`). [`parse_head`] does the same in one call.
//!
//! Invariants:
//! - Pure and total: no I/O, no `unsafe`, no panic whatever the bytes.
//! - Linear: each call scans only the bytes that arrived since the last one
//!   ([`scan`]), and `httparse` runs once, when the head has ended or was cut
//!   short, so a head trickled a byte at a time costs what it costs at once.
//! - `Ok(None)` means "incomplete, within [`HeadLimits`] and no fault seen
//!   yet": the caller reads more and calls again with the same buffer start.
//!   Limits are checked on every call, so a head that can only grow past them
//!   fails at once. A bare CR or LF and a method byte that is not a token fail
//!   as soon as they arrive; other syntax errors show when the head ends.
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

mod scan;

use std::fmt;

#[cfg(test)]
pub(crate) use scan::work::take as scan_work;
pub use scan::HeadScan;
use scan::Scanned;

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
    /// grown since the last call: only the new bytes are scanned, and
    /// `httparse` runs once the head has ended (or was cut short).
    ///
    /// `Ok(None)`: incomplete, need more bytes (but never once a limit is already
    /// exceeded: that is an error at once). `Ok(Some(head))`: the head is the first
    /// `head.len` bytes of `buf`, and the scan starts over for the next head at
    /// the start of the buffer the caller leaves. Up to 128 header slots live on
    /// the stack; a larger `max_headers` is honoured with a heap-allocated slot array.
    ///
    /// Errors are decided in byte order: when the bytes break a size limit or hold
    /// a bare CR or LF or a method byte that is not a token, the bytes before that
    /// point are judged first, so the verdict (a 400 for an early syntax error, not
    /// a 414 for the line growing too long later) is the same however the bytes
    /// were split into reads.
    pub fn parse(&mut self, buf: &[u8], limits: &HeadLimits) -> Result<Option<ParsedHead>, ParseError> {
        let verdict = match self.scan(buf, limits) {
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
        let (start, end) = (self.lines.start, self.lines.line_end?);
        let line = buf.get(start..end)?;
        if classify_request_line(line).is_some() {
            return None;
        }
        let mut parts = line.split(|&b| b == b' ');
        let (method, target, version) = (parts.next()?, parts.next()?, parts.next()?);
        let target_start = start + method.len() + 1;
        let target_span = Span::new(target_start, target_start + target.len());
        parse_target(buf, method, target_span).ok()?;
        Some(RequestLine {
            method: Span::new(start, start + method.len()),
            target: target_span,
            version: if version == b"HTTP/1.0" { Version::Http10 } else { Version::Http11 },
        })
    }
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

/// Parses a buffer with no bare CR or LF that breaks no size limit.
fn parse_lines(buf: &[u8], lines: &Lines, limits: &HeadLimits) -> Result<Option<ParsedHead>, ParseError> {
    // A final CR ends a line or is a bare CR: the next byte tells. Until it
    // comes, judge the bytes before it, so an earlier fault shows at once.
    if let (None, Some(before_cr)) = (lines.head_end, buf.strip_suffix(b"\r")) {
        return parse_lines(before_cr, lines, limits);
    }
    let mut stack_slots = [httparse::EMPTY_HEADER; STACK_HEADERS];
    match stack_slots.get_mut(..limits.max_headers) {
        Some(slots) => parse_with_slots(buf, lines, slots),
        None => parse_with_slots(buf, lines, &mut vec![httparse::EMPTY_HEADER; limits.max_headers]),
    }
}

/// True for a `tchar` (RFC 9110 §5.6.2), the bytes of a token: methods,
/// field names, chunk extensions, and the names of headers handlers set.
#[inline]
pub fn is_tchar(b: u8) -> bool {
    TCHAR[usize::from(b)]
}

/// `tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." / "^" /
/// "_" / "`" / "|" / "~" / DIGIT / ALPHA` (RFC 9110 §5.6.2), one entry per byte.
const TCHAR: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0u8;
    loop {
        table[b as usize] = b.is_ascii_alphanumeric()
            || matches!(
                b,
                b'!' | b'#' | b'$' | b'%' | b'&' | b'\'' | b'*' | b'+' | b'-' | b'.' | b'^' | b'_' | b'`' | b'|' | b'~'
            );
        if b == u8::MAX {
            break table;
        }
        b += 1;
    }
};

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

fn parse_with_slots<'b>(
    buf: &'b [u8],
    lines: &Lines,
    slots: &mut [httparse::Header<'b>],
) -> Result<Option<ParsedHead>, ParseError> {
    let mut request = httparse::Request::new(slots);
    scan::work::judged(buf.len());
    match request.parse(buf) {
        Ok(httparse::Status::Complete(len)) => build_head(buf, len, &request).map(Some),
        Ok(httparse::Status::Partial) => Ok(None),
        Err(error) => map_syntax_error(error, buf, lines),
    }
}

/// Turns an `httparse` error into porter's, looking at the bytes for detail.
fn map_syntax_error(error: httparse::Error, buf: &[u8], lines: &Lines) -> Result<Option<ParsedHead>, ParseError> {
    use httparse::Error as E;
    let line_error = match error {
        E::TooManyHeaders => return Err(ParseError::TooManyHeaders),
        E::HeaderValue => return Err(ParseError::BadHeaderValue),
        // RFC 9112 §5.2: obs-fold in a request MUST be rejected or replaced; we reject.
        E::HeaderName if has_folded_line(lines.head(buf)) => return Err(ParseError::ObsFold),
        // RFC 9112 §5.1: whitespace between name and colon MUST be rejected with 400.
        E::HeaderName => return Err(ParseError::BadHeaderName),
        E::Token | E::Version | E::NewLine | E::Status => classify_request_line(lines.request_line(buf)),
    };
    match line_error {
        // httparse gives up on a version as soon as it differs from HTTP/1.x;
        // whether it is 400 or 505 shows only once the whole line is there.
        Some(ParseError::BadVersion | ParseError::UnsupportedVersion) if lines.line_end.is_none() => Ok(None),
        Some(error) => Err(error),
        None => Err(ParseError::BadHeaderName),
    }
}

/// True if a line after the request line starts with SP or HTAB.
fn has_folded_line(head: &[u8]) -> bool {
    head.windows(3).any(|w| matches!(w, [b'\r', b'\n', b' ' | b'\t']))
}

/// Names what is wrong with a request line (RFC 9112 §3), or `None` if nothing is.
fn classify_request_line(line: &[u8]) -> Option<ParseError> {
    let mut parts = line.split(|&b| b == b' ');
    let method = parts.next().unwrap_or_default();
    if method.is_empty() || !method.iter().all(|&b| is_tchar(b)) {
        return Some(ParseError::BadMethod);
    }
    let target = match parts.next() {
        Some(target) if !target.is_empty() => target,
        _ => return Some(ParseError::BadRequestLine),
    };
    if !target.iter().all(u8::is_ascii_graphic) {
        return Some(ParseError::BadTarget);
    }
    // No version at all is HTTP/0.9's `GET /`, which porter does not speak.
    let Some(version) = parts.next() else { return Some(ParseError::BadRequestLine) };
    if parts.next().is_some() {
        return Some(ParseError::BadRequestLine);
    }
    match version {
        b"HTTP/1.0" | b"HTTP/1.1" => None,
        // RFC 9112 §2.3: HTTP-version = "HTTP/" DIGIT "." DIGIT, case-sensitive.
        [b'H', b'T', b'T', b'P', b'/', major, b'.', minor] if major.is_ascii_digit() && minor.is_ascii_digit() => {
            // RFC 9110 §15.6.6: 505 for a major version (or, by porter's choice, any
            // version other than 1.0 and 1.1) the server does not support.
            Some(ParseError::UnsupportedVersion)
        }
        _ => Some(ParseError::BadVersion),
    }
}

/// The span of `part`, a subslice of `buf` that `httparse` handed back.
fn span_of(buf: &[u8], part: &[u8]) -> Span {
    let start = (part.as_ptr() as usize).saturating_sub(buf.as_ptr() as usize);
    Span::new(start, start.saturating_add(part.len()))
}

/// Applies porter's rules to a head `httparse` accepted.
fn build_head(buf: &[u8], len: usize, request: &httparse::Request<'_, '_>) -> Result<ParsedHead, ParseError> {
    let (Some(method), Some(target), Some(minor)) = (request.method, request.path, request.version) else {
        return Err(ParseError::BadRequestLine);
    };
    let version = if minor == 0 { Version::Http10 } else { Version::Http11 };
    let target = span_of(buf, target.as_bytes());
    let parts = parse_target(buf, method.as_bytes(), target)?;
    let headers: Vec<(Span, Span)> =
        request.headers.iter().map(|h| (span_of(buf, h.name.as_bytes()), span_of(buf, h.value))).collect();
    let fields = Fields::collect(buf, &headers)?;
    let host = fields.effective_host(buf, version, parts.authority)?;
    let body = fields.body_kind(version)?;
    let expect_continue = fields.expect_continue(version)?;
    Ok(ParsedHead {
        len,
        method: span_of(buf, method.as_bytes()),
        target,
        version,
        form: parts.form,
        path: parts.path,
        query: parts.query,
        host,
        headers,
        body,
        keep_alive: fields.keep_alive(version),
        expect_continue,
    })
}

/// The pieces of a request-target.
struct TargetParts {
    form: TargetForm,
    path: Span,
    query: Option<Span>,
    authority: Option<Span>,
}

/// Checks the target and splits it (RFC 9112 §3.2).
fn parse_target(buf: &[u8], method: &[u8], target: Span) -> Result<TargetParts, ParseError> {
    let bytes = target.get(buf);
    // RFC 3986 §2: a URI is visible ASCII (httparse lets bytes >= 0x80 through);
    // RFC 9112 §3.2: the target has no fragment, so `#` has no business here.
    if bytes.is_empty() || !bytes.iter().all(|&b| b.is_ascii_graphic() && b != b'#') {
        return Err(ParseError::BadTarget);
    }
    // RFC 9112 §3.2.3: authority-form belongs to CONNECT, which porter does not
    // implement: RFC 9110 §15.6.2 makes that a 501, whatever the target.
    if method == b"CONNECT" {
        return Err(ParseError::ConnectNotSupported);
    }
    let offset = target.start as usize;
    match bytes {
        [b'/', ..] => {
            let (path, query) = split_query(bytes, offset);
            Ok(TargetParts { form: TargetForm::Origin, path, query, authority: None })
        }
        // RFC 9112 §3.2.4: asterisk-form only for a server-wide OPTIONS.
        b"*" if method == b"OPTIONS" => {
            Ok(TargetParts { form: TargetForm::Asterisk, path: target, query: None, authority: None })
        }
        b"*" => Err(ParseError::BadTarget),
        _ => absolute_form(bytes, offset),
    }
}

/// Splits `path?query` found at `offset` in the buffer.
fn split_query(path_and_query: &[u8], offset: usize) -> (Span, Option<Span>) {
    let end = offset + path_and_query.len();
    match path_and_query.iter().position(|&b| b == b'?') {
        Some(q) => (Span::new(offset, offset + q), Some(Span::new(offset + q + 1, end))),
        None => (Span::new(offset, end), None),
    }
}

/// Parses `scheme://authority[path][?query]` (RFC 9112 §3.2.2).
fn absolute_form(target: &[u8], offset: usize) -> Result<TargetParts, ParseError> {
    let scheme_end = target.windows(3).position(|w| w == b"://").ok_or(ParseError::BadTarget)?;
    let (scheme, rest) = target.split_at(scheme_end);
    // porter serves only the http and https schemes (RFC 9110 §4.2); scheme names
    // are case-insensitive (RFC 3986 §3.1).
    if !(scheme.eq_ignore_ascii_case(b"http") || scheme.eq_ignore_ascii_case(b"https")) {
        return Err(ParseError::BadTarget);
    }
    let rest = rest.get(3..).unwrap_or_default();
    let authority_len = rest.iter().position(|&b| b == b'/' || b == b'?').unwrap_or(rest.len());
    let (authority, path_and_query) = rest.split_at(authority_len);
    // RFC 9110 §4.2.1: an empty host is invalid; §4.2.4: userinfo is an error.
    if !is_valid_authority(authority) {
        return Err(ParseError::BadTarget);
    }
    let authority_start = offset + scheme_end + 3;
    let authority_end = authority_start + authority_len;
    let (path, query) = split_query(path_and_query, authority_end);
    Ok(TargetParts {
        form: TargetForm::Absolute,
        path,
        query,
        authority: Some(Span::new(authority_start, authority_end)),
    })
}

/// `host [ ":" port ]` (RFC 3986 §3.2) with a non-empty host and no userinfo.
fn is_valid_authority(authority: &[u8]) -> bool {
    let Some((host, port)) = split_port(authority) else { return false };
    let is_host_ok = match host.first() {
        None => false,
        Some(b'[') => is_ip_literal(host),
        Some(_) => is_reg_name(host),
    };
    is_host_ok && port.is_none_or(is_valid_port)
}

/// Splits `host[:port]`; `None` if junk follows an IP literal.
fn split_port(authority: &[u8]) -> Option<(&[u8], Option<&[u8]>)> {
    let host_end = if authority.first() == Some(&b'[') {
        authority.iter().position(|&b| b == b']').map_or(authority.len(), |close| close + 1)
    } else {
        authority.iter().position(|&b| b == b':').unwrap_or(authority.len())
    };
    let (host, rest) = authority.split_at(host_end);
    match rest.split_first() {
        None => Some((host, None)),
        Some((b':', port)) => Some((host, Some(port))),
        Some(_) => None,
    }
}

/// RFC 3986 §3.2.3: `port = *DIGIT`, empty allowed; porter also requires <= 65535.
fn is_valid_port(port: &[u8]) -> bool {
    port.is_empty() || parse_decimal(port).is_some_and(|n| n <= u64::from(u16::MAX))
}

/// RFC 3986 §3.2.2: `reg-name = *( unreserved / pct-encoded / sub-delims )`;
/// IPv4 addresses are a subset. `@` (userinfo) is not among these bytes.
fn is_reg_name(host: &[u8]) -> bool {
    host.iter().all(|&b| is_unreserved(b) || is_sub_delim(b) || b == b'%')
        && host.split(|&b| b == b'%').skip(1).all(|after| after.get(..2).is_some_and(is_hex_pair))
}

fn is_hex_pair(pair: &[u8]) -> bool {
    pair.iter().all(u8::is_ascii_hexdigit)
}

/// RFC 3986 §3.2.2: `"[" ( IPv6address / IPvFuture ) "]"`. The IPv6 check is
/// loose (hex digits, `:` and `.`, at least one `:`); the address is not used
/// for routing, only passed on.
fn is_ip_literal(host: &[u8]) -> bool {
    let Some(inner) = host.strip_prefix(b"[").and_then(|h| h.strip_suffix(b"]")) else { return false };
    match inner.split_first() {
        Some((b'v' | b'V', future)) => is_ip_future(future),
        _ => inner.contains(&b':') && inner.iter().all(|&b| b.is_ascii_hexdigit() || b == b':' || b == b'.'),
    }
}

/// The part of `IPvFuture` after the `v`: `1*HEXDIG "." 1*( unreserved / sub-delims / ":" )`.
fn is_ip_future(rest: &[u8]) -> bool {
    let Some(dot) = rest.iter().position(|&b| b == b'.') else { return false };
    let (version, tail) = rest.split_at(dot);
    let tail = tail.get(1..).unwrap_or_default();
    !version.is_empty()
        && version.iter().all(u8::is_ascii_hexdigit)
        && !tail.is_empty()
        && tail.iter().all(|&b| is_unreserved(b) || is_sub_delim(b) || b == b':')
}

fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

fn is_sub_delim(b: u8) -> bool {
    matches!(b, b'!' | b'$' | b'&' | b'\'' | b'(' | b')' | b'*' | b'+' | b',' | b';' | b'=')
}

/// `1*DIGIT` as a number; `None` if empty, not all digits, or above `u64::MAX`.
pub(crate) fn parse_decimal(digits: &[u8]) -> Option<u64> {
    if digits.is_empty() {
        return None;
    }
    digits.iter().try_fold(0u64, |n, &b| {
        let digit = b.is_ascii_digit().then(|| u64::from(b - b'0'))?;
        n.checked_mul(10)?.checked_add(digit)
    })
}

/// The elements of a comma-separated list (RFC 9110 §5.6.1): OWS around each
/// trimmed, empty elements ignored.
fn list_elements(value: &[u8]) -> impl Iterator<Item = &[u8]> {
    value.split(|&b| b == b',').map(trim_ows).filter(|element| !element.is_empty())
}

/// Strips SP and HTAB (OWS, RFC 9110 §5.6.3) from both ends.
fn trim_ows(bytes: &[u8]) -> &[u8] {
    let is_ows = |b: &u8| *b == b' ' || *b == b'\t';
    let start = bytes.iter().position(|b| !is_ows(b)).unwrap_or(bytes.len());
    let end = bytes.iter().rposition(|b| !is_ows(b)).map_or(start, |last| last + 1);
    bytes.get(start..end).unwrap_or_default()
}

/// What the fields porter interprets itself say, gathered in one pass.
#[derive(Default)]
struct Fields {
    host: Option<Span>,
    host_count: usize,
    content_length: Option<u64>,
    codings: Codings,
    has_close: bool,
    has_keep_alive: bool,
    has_continue: bool,
    has_unknown_expectation: bool,
}

impl Fields {
    fn collect(buf: &[u8], headers: &[(Span, Span)]) -> Result<Fields, ParseError> {
        let mut fields = Fields::default();
        for &(name, value) in headers {
            fields.add(name.get(buf), value, value.get(buf))?;
        }
        Ok(fields)
    }

    fn add(&mut self, name: &[u8], value_span: Span, value: &[u8]) -> Result<(), ParseError> {
        if name.eq_ignore_ascii_case(b"host") {
            self.host_count += 1;
            self.host = Some(value_span);
        } else if name.eq_ignore_ascii_case(b"content-length") {
            self.add_content_length(value)?;
        } else if name.eq_ignore_ascii_case(b"transfer-encoding") {
            self.codings.add(value);
        } else if name.eq_ignore_ascii_case(b"connection") {
            for option in list_elements(value) {
                self.has_close |= option.eq_ignore_ascii_case(b"close");
                self.has_keep_alive |= option.eq_ignore_ascii_case(b"keep-alive");
            }
        } else if name.eq_ignore_ascii_case(b"expect") {
            for expectation in list_elements(value) {
                let is_continue = expectation.eq_ignore_ascii_case(b"100-continue");
                self.has_continue |= is_continue;
                self.has_unknown_expectation |= !is_continue;
            }
        }
        Ok(())
    }

    /// RFC 9110 §8.6: `Content-Length = 1*DIGIT`. A list or repeated field of
    /// identical values MAY be taken as one value; differing values are an
    /// unrecoverable error (RFC 9112 §6.3 rule 5). An empty element is invalid.
    fn add_content_length(&mut self, value: &[u8]) -> Result<(), ParseError> {
        for element in value.split(|&b| b == b',').map(trim_ows) {
            let length = parse_decimal(element).ok_or(ParseError::BadContentLength)?;
            if self.content_length.is_some_and(|seen| seen != length) {
                return Err(ParseError::ConflictingContentLength);
            }
            self.content_length = Some(length);
        }
        Ok(())
    }

    /// RFC 9112 §3.2: exactly one Host in HTTP/1.1, never more than one, and a
    /// valid value; an empty value is allowed (the target then has no authority).
    fn effective_host(
        &self,
        buf: &[u8],
        version: Version,
        authority: Option<Span>,
    ) -> Result<Option<Span>, ParseError> {
        if self.host_count > 1 {
            return Err(ParseError::DuplicateHost);
        }
        if self.host_count == 0 && version == Version::Http11 {
            return Err(ParseError::MissingHost);
        }
        let host = self.host.filter(|span| !span.is_empty());
        if host.is_some_and(|span| !is_valid_authority(span.get(buf))) {
            return Err(ParseError::BadHost);
        }
        // RFC 9112 §3.2.2: with an absolute-form target the Host field is ignored.
        Ok(authority.or(host))
    }

    /// RFC 9112 §6.3: the framing of a request body.
    fn body_kind(&self, version: Version) -> Result<BodyKind, ParseError> {
        if self.codings.is_present {
            // RFC 9112 §6.1: Transfer-Encoding in HTTP/1.0 means faulty framing.
            if version == Version::Http10 {
                return Err(ParseError::TransferEncodingInHttp10);
            }
            // RFC 9112 §6.1, §6.3 rule 3: TE with CL "ought to be handled as an
            // error" (a smuggling attempt); porter answers 400 and closes.
            if self.content_length.is_some() {
                return Err(ParseError::TransferEncodingWithLength);
            }
            return self.codings.body_kind();
        }
        // RFC 9112 §6.3 rules 6 and 7: Content-Length, else no body.
        Ok(match self.content_length {
            None | Some(0) => BodyKind::None,
            Some(length) => BodyKind::Length(length),
        })
    }

    /// RFC 9112 §9.3: HTTP/1.1 persists unless `close`; HTTP/1.0 only with `keep-alive`.
    fn keep_alive(&self, version: Version) -> bool {
        !self.has_close && (version == Version::Http11 || self.has_keep_alive)
    }

    /// RFC 9110 §10.1.1: only `100-continue` is defined; anything else is 417.
    /// An HTTP/1.0 request's expectations are ignored (the RFC says so for
    /// `100-continue`; porter extends it to all of them).
    fn expect_continue(&self, version: Version) -> Result<bool, ParseError> {
        if version == Version::Http10 {
            return Ok(false);
        }
        if self.has_unknown_expectation {
            return Err(ParseError::UnsupportedExpectation);
        }
        Ok(self.has_continue)
    }
}

/// The transfer codings of all Transfer-Encoding fields, as one list in order.
#[derive(Default)]
struct Codings {
    is_present: bool,
    chunked_count: usize,
    other_count: usize,
    is_last_chunked: bool,
}

impl Codings {
    /// RFC 9112 §6.1: a comma list, tokens case-insensitive. Only the bare
    /// token `chunked` counts as chunked: `chunked;x=1` is an unknown coding.
    fn add(&mut self, value: &[u8]) {
        self.is_present = true;
        for coding in list_elements(value) {
            self.is_last_chunked = coding.eq_ignore_ascii_case(b"chunked");
            if self.is_last_chunked {
                self.chunked_count += 1;
            } else {
                self.other_count += 1;
            }
        }
    }

    fn body_kind(&self) -> Result<BodyKind, ParseError> {
        // RFC 9112 §6.3 rule 4: chunked not final → length unknowable → 400; §6.1:
        // chunked MUST NOT be applied twice. An empty list has no final chunked.
        if !self.is_last_chunked || self.chunked_count != 1 {
            return Err(ParseError::ChunkedNotLast);
        }
        // RFC 9112 §6.1: a transfer coding the server does not understand is a 501.
        if self.other_count > 0 {
            return Err(ParseError::UnknownTransferCoding);
        }
        Ok(BodyKind::Chunked)
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
            // A field's fault shows once the head ends or is cut short, not before.
            (early_name_fault.to_vec(), Incomplete),
            // A fault before a final CR shows when the limit cuts right after that CR.
            (cut_after_cr, Fails(BadHeaderName)),
            (b"GET / HTTP/1.1\r\nX: z\rHost: a\r\n\x00\r\n".to_vec(), Fails(BareCr)),
        ];
        for (input, want) in &rows {
            check(input, want, &small);
            check_prefixes(input, want, &small, 1);
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
    /// squared. Now every byte is examined once and `httparse` runs once per head.
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
        assert_eq!(judged, head_bytes, "httparse runs once per head");
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
