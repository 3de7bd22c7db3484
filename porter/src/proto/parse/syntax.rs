//! The `httparse` adapter: a head's bytes to a [`ParsedHead`], `httparse`
//! judging the wire syntax and porter naming what is wrong
//! ([`ParseError`]) and applying its own rules to what `httparse` accepted.

use std::mem::MaybeUninit;

use super::fields::Fields;
use super::target::parse_target;
use super::token::is_tchar;
use super::{HeadLimits, Lines, ParseError, ParsedHead, Span, Version, STACK_HEADERS};

/// Parses a buffer with no bare CR or LF that breaks no size limit.
pub(super) fn parse_lines(buf: &[u8], lines: &Lines, limits: &HeadLimits) -> Result<Option<ParsedHead>, ParseError> {
    // A final CR ends a line or is a bare CR: the next byte tells. Until it
    // comes, judge the bytes before it, so an earlier fault shows at once.
    if let (None, Some(before_cr)) = (lines.head_end, buf.strip_suffix(b"\r")) {
        return parse_lines(before_cr, lines, limits);
    }
    // No more slots than the buffer can hold header lines (each at least
    // `a:` and CRLF, 4 bytes): a huge `max_headers` costs no huge allocation.
    // Uninitialised slots: httparse writes those it fills, so a parse does
    // not first zero a few KiB of stack (it did: 5% of pipelined hello).
    let slots = limits.max_headers.min(buf.len() / 4 + 1);
    let mut stack_slots = [MaybeUninit::<httparse::Header<'_>>::uninit(); STACK_HEADERS];
    match stack_slots.get_mut(..slots) {
        Some(slots) => parse_with_slots(buf, lines, slots),
        None => parse_with_slots(buf, lines, &mut vec![MaybeUninit::uninit(); slots]),
    }
}

/// Whether complete field lines (each with its CRLF, no final empty line)
/// hold a fault `httparse` sees, or more than `allowance` fields: the error to
/// cut the head with. The head's own parse then names the first fault.
pub(super) fn field_lines_fault(lines: &[u8], allowance: usize) -> Option<ParseError> {
    super::scan::work::judged(lines.len());
    let verdict = with_slots(allowance, |slots| httparse::parse_headers(lines, slots).map(|_| ()));
    match verdict {
        Ok(()) => None,
        Err(httparse::Error::TooManyHeaders) => Some(ParseError::TooManyHeaders),
        Err(httparse::Error::HeaderValue) => Some(ParseError::BadHeaderValue),
        Err(_) => Some(name_fault(lines)),
    }
}

/// Runs `f` with `n` empty header slots (for `httparse::parse_headers`, which
/// takes initialised ones): on the stack up to [`STACK_HEADERS`],
/// else in a heap `Vec`.
fn with_slots<'b, R>(n: usize, f: impl FnOnce(&mut [httparse::Header<'b>]) -> R) -> R {
    let mut stack_slots = [httparse::EMPTY_HEADER; STACK_HEADERS];
    match stack_slots.get_mut(..n) {
        Some(slots) => f(slots),
        None => f(&mut vec![httparse::EMPTY_HEADER; n]),
    }
}

fn parse_with_slots<'b>(
    buf: &'b [u8],
    lines: &Lines,
    slots: &mut [MaybeUninit<httparse::Header<'b>>],
) -> Result<Option<ParsedHead>, ParseError> {
    let mut request = httparse::Request::new(&mut []);
    super::scan::work::judged(buf.len());
    match request.parse_with_uninit_headers(buf, slots) {
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
        E::HeaderName => {
            let fields = lines.head(buf).get(lines.line_end.map_or(0, |end| end + 2)..).unwrap_or_default();
            return Err(name_fault(fields));
        }
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

/// Names the first field line of `fields` (the lines after the request line)
/// whose name `httparse` refused: a fold or a bad name.
fn name_fault(fields: &[u8]) -> ParseError {
    for line in fields.split(|&b| b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        // RFC 9112 §5.2: obs-fold in a request MUST be rejected or replaced; we reject.
        if line.starts_with(b" ") || line.starts_with(b"\t") {
            return ParseError::ObsFold;
        }
        // RFC 9112 §5.1: whitespace between name and colon MUST be rejected with
        // 400; RFC 9110 §5.1: the name is a token.
        let name = line.split(|&b| b == b':').next().unwrap_or_default();
        if line.is_empty() || name.len() == line.len() || name.is_empty() || !name.iter().all(|&b| is_tchar(b)) {
            return ParseError::BadHeaderName;
        }
    }
    ParseError::BadHeaderName
}

/// Names what is wrong with a request line (RFC 9112 §3), or `None` if nothing is.
pub(super) fn classify_request_line(line: &[u8]) -> Option<ParseError> {
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
