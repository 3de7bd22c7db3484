//! The meaning of the fields porter interprets itself (RFC 9110, RFC 9112):
//! Host, Content-Length, Transfer-Encoding, Connection and Expect, gathered in
//! one pass and turned into the head's authority, body framing, keep-alive
//! and `100-continue`.

use super::target::is_valid_authority;
use super::token::parse_decimal;
use super::{BodyKind, ParseError, Span, Version};

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
pub(super) struct Fields {
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
    pub(super) fn collect(buf: &[u8], headers: &[(Span, Span)]) -> Result<Fields, ParseError> {
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
    pub(super) fn effective_host(
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
    pub(super) fn body_kind(&self, version: Version) -> Result<BodyKind, ParseError> {
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
    pub(super) fn keep_alive(&self, version: Version) -> bool {
        !self.has_close && (version == Version::Http11 || self.has_keep_alive)
    }

    /// RFC 9110 §10.1.1: only `100-continue` is defined; anything else is 417.
    /// An HTTP/1.0 request's expectations are ignored (the RFC says so for
    /// `100-continue`; porter extends it to all of them).
    pub(super) fn expect_continue(&self, version: Version) -> Result<bool, ParseError> {
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
