//! Response heads and chunked framing, written into the connection's output buffer.
//!
//! porter always answers `HTTP/1.1` (RFC 9110 §6.2: a server sends the highest
//! minor version it supports within the request's major version) and decides the
//! framing itself from the body and the request (RFC 9112 §6).

use std::io::Write;

/// How the body of a response is delimited on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Framing {
    /// No body may follow: 1xx, 204, 304 (RFC 9110 §15.2, §15.3.5, §15.4.5).
    /// No Content-Length is sent either (RFC 9110 §8.6 forbids it on 1xx and 204).
    NoBody,
    /// `Content-Length: n`.
    Length(u64),
    /// `Transfer-Encoding: chunked` (HTTP/1.1 only, RFC 9112 §7.1).
    Chunked,
    /// Length unknown and the client speaks HTTP/1.0: the body ends when the
    /// connection closes (RFC 9112 §6.3 rule 8).
    UntilClose,
}

/// The fixed parts of every response head.
pub(crate) struct HeadParts<'a> {
    pub(crate) status: u16,
    pub(crate) headers: &'a [(bytes::Bytes, bytes::Bytes)],
    pub(crate) framing: Framing,
    /// Send `Connection: close` (porter closes after this response).
    pub(crate) close: bool,
    /// Send `Connection: keep-alive` (an HTTP/1.0 client asked for it).
    pub(crate) keep_alive_10: bool,
    /// The cached `Date: ...\r\n` line.
    pub(crate) date_line: &'a [u8],
    /// The cached `Server: ...\r\n` line (may be empty).
    pub(crate) server_line: &'a [u8],
}

/// Appends a complete response head (status line, headers, blank line) to `out`.
pub(crate) fn encode_head(out: &mut Vec<u8>, head: &HeadParts<'_>) {
    out.extend_from_slice(b"HTTP/1.1 ");
    push_u64(out, u64::from(head.status));
    out.push(b' ');
    out.extend_from_slice(reason_phrase(head.status).as_bytes());
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(head.server_line);
    out.extend_from_slice(head.date_line);
    for (name, value) in head.headers {
        out.extend_from_slice(name);
        out.extend_from_slice(b": ");
        out.extend_from_slice(value);
        out.extend_from_slice(b"\r\n");
    }
    match head.framing {
        Framing::Length(n) => {
            out.extend_from_slice(b"Content-Length: ");
            push_u64(out, n);
            out.extend_from_slice(b"\r\n");
        }
        Framing::Chunked => out.extend_from_slice(b"Transfer-Encoding: chunked\r\n"),
        Framing::NoBody | Framing::UntilClose => {}
    }
    if head.close {
        out.extend_from_slice(b"Connection: close\r\n");
    } else if head.keep_alive_10 {
        out.extend_from_slice(b"Connection: keep-alive\r\n");
    }
    out.extend_from_slice(b"\r\n");
}

/// Appends an interim `100 Continue` (RFC 9110 §15.2.1).
pub(crate) fn encode_continue(out: &mut Vec<u8>) {
    out.extend_from_slice(b"HTTP/1.1 100 Continue\r\n\r\n");
}

/// Appends one chunk: size line, data, CRLF (RFC 9112 §7.1). Empty data is skipped:
/// a zero-size chunk would end the body.
pub(crate) fn encode_chunk(out: &mut Vec<u8>, data: &[u8]) {
    if data.is_empty() {
        return;
    }
    let _ = write!(out, "{:x}\r\n", data.len());
    out.extend_from_slice(data);
    out.extend_from_slice(b"\r\n");
}

/// Appends the last chunk and an empty trailer section.
pub(crate) fn encode_last_chunk(out: &mut Vec<u8>) {
    out.extend_from_slice(b"0\r\n\r\n");
}

/// True when responses with this status never carry a body.
pub(crate) fn status_has_no_body(status: u16) -> bool {
    (100..200).contains(&status) || status == 204 || status == 304
}

fn push_u64(out: &mut Vec<u8>, n: u64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    let mut n = n;
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[i..]);
}

/// The reason phrase for a status code (RFC 9110 §15); empty for unknown codes
/// (the phrase is optional on the wire, RFC 9112 §4).
pub fn reason_phrase(status: u16) -> &'static str {
    match status {
        100 => "Continue",
        101 => "Switching Protocols",
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        203 => "Non-Authoritative Information",
        204 => "No Content",
        205 => "Reset Content",
        206 => "Partial Content",
        300 => "Multiple Choices",
        301 => "Moved Permanently",
        302 => "Found",
        303 => "See Other",
        304 => "Not Modified",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        406 => "Not Acceptable",
        408 => "Request Timeout",
        409 => "Conflict",
        410 => "Gone",
        411 => "Length Required",
        412 => "Precondition Failed",
        413 => "Content Too Large",
        414 => "URI Too Long",
        415 => "Unsupported Media Type",
        416 => "Range Not Satisfiable",
        417 => "Expectation Failed",
        421 => "Misdirected Request",
        422 => "Unprocessable Content",
        426 => "Upgrade Required",
        428 => "Precondition Required",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        505 => "HTTP Version Not Supported",
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    fn head(status: u16, framing: Framing, close: bool) -> Vec<u8> {
        let headers = [(Bytes::from_static(b"Content-Type"), Bytes::from_static(b"text/plain"))];
        let mut out = Vec::new();
        encode_head(
            &mut out,
            &HeadParts {
                status,
                headers: &headers,
                framing,
                close,
                keep_alive_10: false,
                date_line: b"Date: X\r\n",
                server_line: b"Server: porter\r\n",
            },
        );
        out
    }

    #[test]
    fn heads_for_each_framing() {
        let cases: &[(u16, Framing, bool, &str)] = &[
            (200, Framing::Length(13), false, "HTTP/1.1 200 OK\r\nServer: porter\r\nDate: X\r\nContent-Type: text/plain\r\nContent-Length: 13\r\n\r\n"),
            (200, Framing::Chunked, false, "HTTP/1.1 200 OK\r\nServer: porter\r\nDate: X\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n"),
            (204, Framing::NoBody, false, "HTTP/1.1 204 No Content\r\nServer: porter\r\nDate: X\r\nContent-Type: text/plain\r\n\r\n"),
            (400, Framing::Length(0), true, "HTTP/1.1 400 Bad Request\r\nServer: porter\r\nDate: X\r\nContent-Type: text/plain\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"),
            (599, Framing::UntilClose, true, "HTTP/1.1 599 \r\nServer: porter\r\nDate: X\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\n"),
        ];
        for (status, framing, close, want) in cases {
            assert_eq!(String::from_utf8(head(*status, *framing, *close)).unwrap(), *want);
        }
    }

    #[test]
    fn chunks_are_hex_sized_and_empty_ones_skipped() {
        let mut out = Vec::new();
        encode_chunk(&mut out, &[b'a'; 26]);
        encode_chunk(&mut out, b"");
        encode_last_chunk(&mut out);
        let mut want = b"1a\r\n".to_vec();
        want.extend_from_slice(&[b'a'; 26]);
        want.extend_from_slice(b"\r\n0\r\n\r\n");
        assert_eq!(out, want);
    }

    #[test]
    fn numbers_encode_exactly() {
        for n in [0u64, 7, 10, 13, 65536, u64::MAX] {
            let mut out = Vec::new();
            push_u64(&mut out, n);
            assert_eq!(out, n.to_string().into_bytes());
        }
    }

    #[test]
    fn bodiless_statuses() {
        for s in [100, 101, 199, 204, 304] {
            assert!(status_has_no_body(s), "{s}");
        }
        for s in [200, 205, 206, 301, 404, 500] {
            assert!(!status_has_no_body(s), "{s}");
        }
    }
}
