//! The hostile-input conformance table (issue 7): one row of literal request
//! bytes per rule of RFC 9110 / RFC 9112 that a hostile or broken client can
//! test, sent over loopback on a fresh connection.
//!
//! Every row asserts three things:
//! - the statuses of the replies, in order (1xx interim replies included);
//! - whether porter then closes the connection (the next read returns 0 and the
//!   last reply says `Connection: close`) or keeps it (a probe request on the
//!   same connection is answered);
//! - exactly which requests reached the handler (`METHOD target`, and a body
//!   where it matters): a refused request reaches nothing, a smuggled request
//!   never appears.
//!
//! porter is strict where the RFC lets a server choose (RFC 9112 §2.2 bare LF,
//! §5.2 obs-fold, §6.3 Transfer-Encoding with Content-Length): a 400 and a close,
//! because a front end that read the same bytes differently could otherwise get
//! a request past it. The rows are grouped by RFC section; each group's heading
//! cites it. The server runs with small limits so the limit rows stay short.

mod common;

use std::panic::{self, AssertUnwindSafe};

use common::{serve_with, Client, Log};
use porter::{Limits, Request, Response, ServerHandle};

/// A smuggled request hidden in a body or after a framing error: the handler must never see it.
const SMUGGLED: &str = "GET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n";

fn limits() -> Limits {
    Limits {
        max_request_line: 256,
        max_head: 1024,
        max_headers: 10,
        max_body: 1000,
        max_chunk_line: 64,
        max_trailers: 128,
        ..Limits::default()
    }
}

/// One rule: the bytes, what porter must answer, and what the handler may see.
struct Row {
    rule: String,
    bytes: Vec<u8>,
    /// Statuses of the replies, in order.
    statuses: Vec<u16>,
    /// porter closes the connection after the last reply.
    closes: bool,
    /// `METHOD target` of every request the handler must see, in order (and no other).
    seen: Vec<&'static str>,
    /// The body the first request the handler sees must have.
    seen_body: Option<Vec<u8>>,
    /// Text the first reply's body must contain (the handler echoes the effective host).
    reply_has: Option<&'static str>,
    /// Half-close our side after sending (the peer says it sends nothing more).
    half_close: bool,
    /// The first request is HEAD: its reply has no body.
    head: bool,
}

impl Row {
    fn new(rule: &str, bytes: impl AsRef<[u8]>, statuses: &[u16], closes: bool, seen: &[&'static str]) -> Row {
        Row {
            rule: rule.to_string(),
            bytes: bytes.as_ref().to_vec(),
            statuses: statuses.to_vec(),
            closes,
            seen: seen.to_vec(),
            seen_body: None,
            reply_has: None,
            half_close: false,
            head: false,
        }
    }

    fn seen_body(mut self, body: impl AsRef<[u8]>) -> Row {
        self.seen_body = Some(body.as_ref().to_vec());
        self
    }

    fn reply_has(mut self, text: &'static str) -> Row {
        self.reply_has = Some(text);
        self
    }

    fn half_close(mut self) -> Row {
        self.half_close = true;
        self
    }

    fn head(mut self) -> Row {
        self.head = true;
        self
    }
}

/// Refused with 400 and a close; the handler sees nothing.
fn bad(rule: &str, bytes: impl AsRef<[u8]>) -> Row {
    Row::new(rule, bytes, &[400], true, &[])
}

/// Refused with `status` and a close; the handler sees nothing.
fn refused(rule: &str, bytes: impl AsRef<[u8]>, status: u16) -> Row {
    Row::new(rule, bytes, &[status], true, &[])
}

/// Accepted: one 200 per request in `seen`, and the connection stays open.
fn ok(rule: &str, bytes: impl AsRef<[u8]>, seen: &[&'static str]) -> Row {
    Row::new(rule, bytes, &vec![200; seen.len()], false, seen)
}

/// A POST with the given extra header lines and body bytes.
fn post(fields: &str, body: impl AsRef<[u8]>) -> Vec<u8> {
    [format!("POST / HTTP/1.1\r\nHost: a\r\n{fields}\r\n").as_bytes(), body.as_ref()].concat()
}

/// A chunked POST with `body` (already chunk-framed) after the head.
fn chunked(body: impl AsRef<[u8]>) -> Vec<u8> {
    post("Transfer-Encoding: chunked\r\n", body)
}

/// A GET with one extra header line.
fn get_with(field: &[u8]) -> Vec<u8> {
    [&b"GET / HTTP/1.1\r\nHost: a\r\n"[..], field, b"\r\n\r\n"].concat()
}

// ---------------------------------------------------------------------------
// The table

/// RFC 9112 §2.2, §3: message and request-line syntax.
fn request_line_rows() -> Vec<Row> {
    vec![
        ok(
            "§2.2: one empty line (CRLF) before the request line is ignored",
            "\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n",
            &["GET /"],
        ),
        ok(
            "§2.2: several empty lines before the request line are ignored",
            "\r\n\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n",
            &["GET /"],
        ),
        ok(
            "§2.2: an empty line between pipelined requests is ignored",
            "GET /1 HTTP/1.1\r\nHost: a\r\n\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\n\r\n",
            &["GET /1", "GET /2"],
        ),
        Row::new("§2.2: a request line of only CRLF, then nothing, gets no reply", "\r\n", &[], true, &[]).half_close(),
        bad("§2.2: an empty line of bare LF before the request line", "\nGET / HTTP/1.1\r\nHost: a\r\n\r\n"),
        bad("§2.2: bare LF ending the request line", "GET / HTTP/1.1\nHost: a\r\n\r\n"),
        bad("§2.2: bare LF ending a field line", "GET / HTTP/1.1\r\nHost: a\nX: y\r\n\r\n"),
        bad("§2.2: bare LF ending the head", "GET / HTTP/1.1\r\nHost: a\r\n\n"),
        bad("§2.2: bare LF everywhere", "GET / HTTP/1.1\nHost: a\n\n"),
        bad("§2.2: bare CR in the request line", "GET /\r HTTP/1.1\r\nHost: a\r\n\r\n"),
        bad("§2.2: bare CR ending the request line", "GET / HTTP/1.1\rHost: a\r\n\r\n"),
        bad("§2.2: bare CR in a field name", "GET / HTTP/1.1\r\nHost: a\r\nX\rY: z\r\n\r\n"),
        bad("§2.2: bare CR in a field value", "GET / HTTP/1.1\r\nHost: a\r\nX: a\rb\r\n\r\n"),
        bad("§2.2: CR CR LF ending a line", "GET / HTTP/1.1\r\nHost: a\r\r\n\r\n"),
        bad("§2.2: bare CR before the final CRLF", "GET / HTTP/1.1\r\nHost: a\r\n\r\r\n"),
        bad("§3: method with a bad character", "G(T / HTTP/1.1\r\nHost: a\r\n\r\n"),
        bad("§3: method with NUL", "G\0T / HTTP/1.1\r\nHost: a\r\n\r\n"),
        bad("§3: method with a non-ASCII byte", "G\u{e9}T / HTTP/1.1\r\nHost: a\r\n\r\n"),
        bad("§3: empty method", " / HTTP/1.1\r\nHost: a\r\n\r\n"),
        bad("§3: leading space before the method", " GET / HTTP/1.1\r\nHost: a\r\n\r\n"),
        ok(
            "§3 / RFC 9110 §9.1: methods are case-sensitive tokens (get is not GET)",
            "get / HTTP/1.1\r\nHost: a\r\n\r\n",
            &["get /"],
        ),
        ok("RFC 9110 §9.1: an extension method token", "X-M!#$ / HTTP/1.1\r\nHost: a\r\n\r\n", &["X-M!#$ /"]),
        bad("§3: two spaces between method and target", "GET  / HTTP/1.1\r\nHost: a\r\n\r\n"),
        bad("§3: HTAB as a separator", "GET\t/ HTTP/1.1\r\nHost: a\r\n\r\n"),
        bad("§3: a space inside the target", "GET /a b HTTP/1.1\r\nHost: a\r\n\r\n"),
        bad("§3: trailing space after the version", "GET / HTTP/1.1 \r\nHost: a\r\n\r\n"),
        bad("§3.2: NUL in the target", "GET /a\0b HTTP/1.1\r\nHost: a\r\n\r\n"),
        bad("§3.2: a control byte in the target", "GET /a\x01b HTTP/1.1\r\nHost: a\r\n\r\n"),
        bad("§3.2: DEL in the target", "GET /a\x7fb HTTP/1.1\r\nHost: a\r\n\r\n"),
        bad("§3.2: VT in the target", "GET /a\x0bb HTTP/1.1\r\nHost: a\r\n\r\n"),
        bad("§3.2: a raw non-ASCII byte in the target", b"GET /caf\xe9 HTTP/1.1\r\nHost: a\r\n\r\n"),
        bad("§3.2: a fragment in the target", "GET /a#frag HTTP/1.1\r\nHost: a\r\n\r\n"),
        bad("§3.2: a relative target without a leading slash", "GET index.html HTTP/1.1\r\nHost: a\r\n\r\n"),
        bad("§3.2.3: authority-form with a method other than CONNECT", "GET a.example:80 HTTP/1.1\r\nHost: a\r\n\r\n"),
        refused(
            "§3.2.3 / RFC 9110 §9.3.6: CONNECT is not implemented",
            "CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n",
            501,
        ),
        bad("§3.2.4: asterisk-form with a method other than OPTIONS", "GET * HTTP/1.1\r\nHost: a\r\n\r\n"),
        ok("§3.2.4: OPTIONS *", "OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n", &["OPTIONS *"]),
        bad("§3.2.2: absolute-form with a scheme other than http(s)", "GET ftp://a/ HTTP/1.1\r\nHost: a\r\n\r\n"),
        bad("§3.2.2: absolute-form with userinfo", "GET http://u@a/ HTTP/1.1\r\nHost: a\r\n\r\n"),
        bad("§3.2.2: absolute-form with an empty host", "GET http:/// HTTP/1.1\r\nHost: a\r\n\r\n"),
        bad("§2.3: HTTP/0.9 (no version)", "GET /\r\n\r\n"),
        bad("§2.3: HTTP/0.9 with a header", "GET /\r\nHost: a\r\n\r\n"),
        refused("§2.3 / RFC 9110 §15.6.6: HTTP/2.0 request line", "GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505),
        refused(
            "§2.3 / RFC 9110 §15.6.6: HTTP/1.2 (a minor version porter does not speak)",
            "GET / HTTP/1.2\r\nHost: a\r\n\r\n",
            505,
        ),
        refused("§2.3 / RFC 9110 §15.6.6: HTTP/3.0", "GET / HTTP/3.0\r\nHost: a\r\n\r\n", 505),
        refused("RFC 9113 §3.4: the HTTP/2 connection preface", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 505),
        bad("§2.3: version is case-sensitive", "GET / http/1.1\r\nHost: a\r\n\r\n"),
        bad("§2.3: version with two-digit minor", "GET / HTTP/1.10\r\nHost: a\r\n\r\n"),
        bad("§2.3: version without minor", "GET / HTTP/1\r\nHost: a\r\n\r\n"),
        bad("§2.3: garbage instead of a request", b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n"),
    ]
}

/// RFC 9112 §5, RFC 9110 §5: field syntax.
fn field_rows() -> Vec<Row> {
    vec![
        bad("§5.1: space between field name and colon", "GET / HTTP/1.1\r\nHost : a\r\n\r\n"),
        bad("§5.1: HTAB between field name and colon", "GET / HTTP/1.1\r\nHost\t: a\r\n\r\n"),
        bad("§5.1: space before colon on Content-Length", post("Content-Length : 5\r\n", "hello")),
        bad("§5.2: obs-fold with SP", get_with(b"X: a\r\n b")),
        bad("§5.2: obs-fold with HTAB", get_with(b"X: a\r\n\tb")),
        bad("§5.2: the first field line folded", "GET / HTTP/1.1\r\n Host: a\r\n\r\n"),
        bad("§5.2: folded Transfer-Encoding", post("Transfer-Encoding:\r\n chunked\r\n", "0\r\n\r\n")),
        bad("§5.1: empty field name", get_with(b": b")),
        bad("§5.1: field line without a colon", get_with(b"NoColon")),
        bad("§5.1: NUL in a field name", get_with(b"X\0Y: z")),
        bad("§5.1: a control byte in a field name", get_with(b"X\x01: z")),
        bad("§5.1: DEL in a field name", get_with(b"X\x7f: z")),
        bad("§5.1: a non-token character in a field name", get_with(b"X(Y): z")),
        bad("§5.1: a non-ASCII byte in a field name", get_with(b"X\xe9: z")),
        bad("RFC 9110 §5.5: NUL in a field value", get_with(b"X: a\0b")),
        bad("RFC 9110 §5.5: a control byte in a field value", get_with(b"X: a\x01b")),
        bad("RFC 9110 §5.5: ESC in a field value", get_with(b"X: \x1b[0m")),
        bad("RFC 9110 §5.5: VT in a field value", get_with(b"X: a\x0bb")),
        bad("RFC 9110 §5.5: FF in a field value", get_with(b"X: a\x0cb")),
        bad("RFC 9110 §5.5: DEL in a field value", get_with(b"X: a\x7fb")),
        ok("RFC 9110 §5.5: HTAB and obs-text in a field value are allowed", get_with(b"X: a\tcaf\xe9"), &["GET /"]),
        ok("RFC 9110 §5.5: an empty field value is allowed", get_with(b"X:"), &["GET /"]),
    ]
}

/// RFC 9112 §3.2, RFC 9110 §7.2: Host and the effective authority.
fn host_rows() -> Vec<Row> {
    vec![
        bad("§3.2: HTTP/1.1 without Host", "GET / HTTP/1.1\r\nX: y\r\n\r\n"),
        Row::new("§3.2: HTTP/1.0 without Host is fine", "GET / HTTP/1.0\r\n\r\n", &[200], true, &["GET /"]),
        bad("§3.2: two Host fields", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"),
        bad("§3.2: two identical Host fields", "GET / HTTP/1.1\r\nHost: a\r\nhost: a\r\n\r\n"),
        bad("§3.2: Host as a list", "GET / HTTP/1.1\r\nHost: a, b\r\n\r\n"),
        bad("§3.2: Host with a non-numeric port", "GET / HTTP/1.1\r\nHost: a:http\r\n\r\n"),
        bad("§3.2: Host with a port over 65535", "GET / HTTP/1.1\r\nHost: a:65536\r\n\r\n"),
        bad("§3.2: Host with userinfo", "GET / HTTP/1.1\r\nHost: u@a\r\n\r\n"),
        bad("§3.2: Host with user and password", "GET / HTTP/1.1\r\nHost: u:p@a:80\r\n\r\n"),
        bad("§3.2: Host with a path", "GET / HTTP/1.1\r\nHost: a/b\r\n\r\n"),
        bad("§3.2: Host with a space", "GET / HTTP/1.1\r\nHost: a b\r\n\r\n"),
        bad("§3.2: Host with only a port", "GET / HTTP/1.1\r\nHost: :80\r\n\r\n"),
        bad("§3.2: Host with an unclosed IPv6 literal", "GET / HTTP/1.1\r\nHost: [::1\r\n\r\n"),
        ok("§3.2: Host with an IPv6 literal and port", "GET / HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n", &["GET /"])
            .reply_has("host=[::1]:8080"),
        ok("§3.2: an empty Host (no authority) is allowed", "GET / HTTP/1.1\r\nHost:\r\n\r\n", &["GET /"])
            .reply_has("host=-"),
        ok(
            "§3.2.2: an absolute-form target overrides a different Host",
            "GET http://target.example:81/p?q HTTP/1.1\r\nHost: other.example\r\n\r\n",
            &["GET http://target.example:81/p?q"],
        )
        .reply_has("host=target.example:81 path=/p"),
        bad("§3.2.2: absolute-form still needs Host in HTTP/1.1", "GET http://a/ HTTP/1.1\r\n\r\n"),
        bad("§3.2.2: absolute-form with an invalid Host field", "GET http://a/ HTTP/1.1\r\nHost: u@b\r\n\r\n"),
        bad("§3.2.2: absolute-form with two Host fields", "GET http://a/ HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n"),
    ]
}

/// RFC 9112 §6.1-§6.3, RFC 9110 §8.6: Content-Length and Transfer-Encoding.
fn framing_rows() -> Vec<Row> {
    vec![
        ok("§6.3 rule 6: Content-Length body", post("Content-Length: 5\r\n", "hello"), &["POST /"]).seen_body("hello"),
        ok("RFC 9110 §8.6: OWS around the value", post("Content-Length: \t5 \r\n", "hello"), &["POST /"])
            .seen_body("hello"),
        ok("RFC 9110 §8.6: leading zeros", post("Content-Length: 0005\r\n", "hello"), &["POST /"]).seen_body("hello"),
        ok(
            "RFC 9110 §8.6: more leading zeros than u64 has digits",
            post(&format!("Content-Length: {}5\r\n", "0".repeat(30)), "hello"),
            &["POST /"],
        )
        .seen_body("hello"),
        ok(
            "§6.3 rule 5: identical repeated Content-Length",
            post("Content-Length: 5\r\nContent-Length: 5\r\n", "hello"),
            &["POST /"],
        )
        .seen_body("hello"),
        ok(
            "§6.3 rule 5: identical comma-listed Content-Length",
            post("Content-Length: 5, 5\r\n", "hello"),
            &["POST /"],
        )
        .seen_body("hello"),
        bad(
            "§6.3 rule 5: repeated Content-Length with different values",
            post("Content-Length: 5\r\nContent-Length: 6\r\n", "hello!"),
        ),
        bad(
            "§6.3 rule 5: comma-listed Content-Length with different values",
            post("Content-Length: 5, 6\r\n", "hello!"),
        ),
        bad("RFC 9110 §8.6: Content-Length with +", post("Content-Length: +5\r\n", "hello")),
        bad("RFC 9110 §8.6: Content-Length with -", post("Content-Length: -5\r\n", "hello")),
        bad("RFC 9110 §8.6: Content-Length with an inner space", post("Content-Length: 5 5\r\n", "hello")),
        bad("RFC 9110 §8.6: Content-Length in hex", post("Content-Length: 0x5\r\n", "hello")),
        bad("RFC 9110 §8.6: Content-Length with hex digits", post("Content-Length: 5a\r\n", "hello")),
        bad("RFC 9110 §8.6: Content-Length with a fraction", post("Content-Length: 5.0\r\n", "hello")),
        bad("RFC 9110 §8.6: Content-Length with an exponent", post("Content-Length: 5e0\r\n", "hello")),
        bad("RFC 9110 §8.6: empty Content-Length", post("Content-Length:\r\n", "")),
        bad("RFC 9110 §8.6: Content-Length with an empty list element", post("Content-Length: 5,\r\n", "hello")),
        bad("RFC 9110 §8.6: Content-Length one past u64::MAX", post("Content-Length: 18446744073709551616\r\n", "")),
        bad("RFC 9110 §8.6: Content-Length far past u64::MAX", post("Content-Length: 99999999999999999999999\r\n", "")),
        bad(
            "RFC 9110 §8.6: leading zeros before a value past u64::MAX",
            post("Content-Length: 00018446744073709551616\r\n", ""),
        ),
        refused(
            "RFC 9110 §15.5.14: Content-Length u64::MAX is over max_body",
            post("Content-Length: 18446744073709551615\r\n", ""),
            413,
        ),
        bad(
            "§6.3 rule 3: Transfer-Encoding with Content-Length",
            post("Transfer-Encoding: chunked\r\nContent-Length: 5\r\n", "0\r\n\r\n"),
        ),
        bad(
            "§6.3 rule 3: Content-Length with Transfer-Encoding",
            post("Content-Length: 5\r\nTransfer-Encoding: chunked\r\n", "0\r\n\r\n"),
        ),
        bad(
            "§6.3 rule 3: Content-Length: 0 with Transfer-Encoding",
            post("Content-Length: 0\r\nTransfer-Encoding: chunked\r\n", "0\r\n\r\n"),
        ),
        ok("§6.1: chunked", chunked("5\r\nhello\r\n0\r\n\r\n"), &["POST /"]).seen_body("hello"),
        ok(
            "§6.1: chunked with trailing space",
            post("Transfer-Encoding: chunked \r\n", "5\r\nhello\r\n0\r\n\r\n"),
            &["POST /"],
        )
        .seen_body("hello"),
        ok(
            "§6.1: codings are case-insensitive",
            post("Transfer-Encoding: CHUNKED\r\n", "5\r\nhello\r\n0\r\n\r\n"),
            &["POST /"],
        )
        .seen_body("hello"),
        ok(
            "§6.1: HTAB around the value",
            post("Transfer-Encoding:\tchunked\t\r\n", "5\r\nhello\r\n0\r\n\r\n"),
            &["POST /"],
        )
        .seen_body("hello"),
        ok("§6.1: field name case", post("tRANSFER-eNCODING: chunked\r\n", "5\r\nhello\r\n0\r\n\r\n"), &["POST /"])
            .seen_body("hello"),
        ok(
            "RFC 9110 §5.6.1: empty list elements are ignored",
            post("Transfer-Encoding: , chunked,\r\n", "0\r\n\r\n"),
            &["POST /"],
        ),
        bad("§6.1: VT before chunked", post("Transfer-Encoding: \x0bchunked\r\n", "0\r\n\r\n")),
        bad("§6.1: VT after chunked", post("Transfer-Encoding: chunked\x0b\r\n", "0\r\n\r\n")),
        bad("§6.1: FF before chunked", post("Transfer-Encoding:\x0cchunked\r\n", "0\r\n\r\n")),
        bad("§6.3 rule 4: xchunked (not chunked)", post("Transfer-Encoding: xchunked\r\n", "0\r\n\r\n")),
        bad("§6.3 rule 4: chunked with a parameter", post("Transfer-Encoding: chunked;q=1\r\n", "0\r\n\r\n")),
        bad(
            "§6.3 rule 4: chunked, identity (chunked not last)",
            post("Transfer-Encoding: chunked, identity\r\n", "0\r\n\r\n"),
        ),
        bad("§6.3 rule 4: chunked, gzip (chunked not last)", post("Transfer-Encoding: chunked, gzip\r\n", "0\r\n\r\n")),
        bad("§6.3 rule 4: identity alone", post("Transfer-Encoding: identity\r\n", "hello")),
        bad("§6.3 rule 4: gzip alone (MUST 400, beats §6.1's 501)", post("Transfer-Encoding: gzip\r\n", "hello")),
        bad("§6.3 rule 4: empty Transfer-Encoding", post("Transfer-Encoding:\r\n", "hello")),
        bad("§6.1: chunked twice in one field", post("Transfer-Encoding: chunked, chunked\r\n", "0\r\n\r\n")),
        bad(
            "§6.1: chunked in two fields",
            post("Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n", "0\r\n\r\n"),
        ),
        bad(
            "§6.1: chunked then gzip in two fields",
            post("Transfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n", "0\r\n\r\n"),
        ),
        refused(
            "§6.1: gzip, chunked (a coding porter lacks) is 501",
            post("Transfer-Encoding: gzip, chunked\r\n", "0\r\n\r\n"),
            501,
        ),
        refused(
            "§6.1: gzip then chunked in two fields is 501",
            post("Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n", "0\r\n\r\n"),
            501,
        ),
        refused("§6.1: identity, chunked is 501", post("Transfer-Encoding: identity, chunked\r\n", "0\r\n\r\n"), 501),
        bad("§6.1: Transfer-Encoding in HTTP/1.0", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
        ok(
            "§6.3 rule 7: a GET may carry a Content-Length body",
            "GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc",
            &["GET /"],
        )
        .seen_body("abc"),
        Row::new(
            "§6.3 rule 7: a body shorter than Content-Length, then EOF, gets no reply",
            post("Content-Length: 10\r\n", "hello"),
            &[],
            true,
            &[],
        )
        .half_close(),
    ]
}

/// RFC 9112 §7.1: chunked bodies.
fn chunked_rows() -> Vec<Row> {
    vec![
        ok(
            "§7.1: several chunks, upper- and lower-case hex",
            chunked("3\r\nabc\r\nA\r\n0123456789\r\na\r\n9876543210\r\n0\r\n\r\n"),
            &["POST /"],
        )
        .seen_body("abc01234567899876543210"),
        ok("§7.1: leading zeros in chunk-size", chunked("0005\r\nhello\r\n000\r\n\r\n"), &["POST /"])
            .seen_body("hello"),
        bad("§7.1: chunk-size of 17 hex digits (u64 overflow)", chunked("10000000000000005\r\nhello\r\n0\r\n\r\n")),
        bad("§7.1: chunk-size 17 f's", chunked("fffffffffffffffff\r\nhello\r\n0\r\n\r\n")),
        bad("§7.1: negative chunk-size", chunked("-5\r\nhello\r\n0\r\n\r\n")),
        bad("§7.1: chunk-size with +", chunked("+5\r\nhello\r\n0\r\n\r\n")),
        bad("§7.1: chunk-size with 0x", chunked("0x5\r\nhello\r\n0\r\n\r\n")),
        bad("§7.1: chunk-size with leading space", chunked(" 5\r\nhello\r\n0\r\n\r\n")),
        bad("§7.1: chunk-size with trailing space and no extension", chunked("5 \r\nhello\r\n0\r\n\r\n")),
        bad("§7.1: empty chunk-size", chunked("\r\nhello\r\n0\r\n\r\n")),
        bad("§7.1: chunk-size not hex", chunked("zz\r\nhello\r\n0\r\n\r\n")),
        bad("§7.1: bare LF after chunk-size", chunked("5\nhello\r\n0\r\n\r\n")),
        bad("§7.1: bare CR after chunk-size", chunked("5\rhello\r\n0\r\n\r\n")),
        bad("§7.1: bare LF after chunk data", chunked("5\r\nhello\n0\r\n\r\n")),
        bad("§7.1: bare CR after chunk data", chunked("5\r\nhello\r0\r\n\r\n")),
        bad("§7.1: chunk data longer than its size (no CRLF after it)", chunked("5\r\nhelloXX\r\n0\r\n\r\n")),
        bad("§7.1: bare LF after last-chunk", chunked("5\r\nhello\r\n0\n\r\n")),
        bad("§7.1: bare LF as the final line", chunked("5\r\nhello\r\n0\r\n\n")),
        Row::new("§7.1: missing final CRLF, then EOF, gets no reply", chunked("5\r\nhello\r\n0\r\n"), &[], true, &[])
            .half_close(),
        ok("§7.1.1: chunk extensions are ignored", chunked("5 ;a=b; c=\"d;e\"\r\nhello\r\n0;x\r\n\r\n"), &["POST /"])
            .seen_body("hello"),
        bad("§7.1.1: chunk extension without a name", chunked("5;\r\nhello\r\n0\r\n\r\n")),
        bad("§7.1.1: chunk extension with an unclosed quote", chunked("5;a=\"b\r\nhello\r\n0\r\n\r\n")),
        bad("§7.1.1: bare LF inside a quoted extension", chunked("5;a=\"\n\"\r\nhello\r\n0\r\n\r\n")),
        bad("§7.1.1: NUL in a chunk extension", chunked("5;a\0\r\nhello\r\n0\r\n\r\n")),
        bad(
            "§7.1.1: oversized chunk extension (max_chunk_line)",
            chunked(format!("5;{}\r\nhello\r\n0\r\n\r\n", "e".repeat(100))),
        ),
        ok("§7.1.2: a trailer field is read and dropped", chunked("5\r\nhello\r\n0\r\nX-Sum: 1\r\n\r\n"), &["POST /"])
            .seen_body("hello"),
        bad(
            "§7.1.2 / RFC 9110 §6.5.1: Content-Length trailer",
            chunked("5\r\nhello\r\n0\r\nContent-Length: 5\r\n\r\n"),
        ),
        bad(
            "§7.1.2 / RFC 9110 §6.5.1: Transfer-Encoding trailer",
            chunked("5\r\nhello\r\n0\r\nTransfer-Encoding: chunked\r\n\r\n"),
        ),
        bad("§7.1.2 / RFC 9110 §6.5.1: Host trailer", chunked("5\r\nhello\r\n0\r\nhost: b\r\n\r\n")),
        bad("§7.1.2: trailer with space before the colon", chunked("5\r\nhello\r\n0\r\nX : 1\r\n\r\n")),
        bad("§7.1.2: folded trailer", chunked("5\r\nhello\r\n0\r\nX: 1\r\n 2\r\n\r\n")),
        bad("§7.1.2: NUL in a trailer value", chunked("5\r\nhello\r\n0\r\nX: \0\r\n\r\n")),
        bad("§7.1.2: trailer section over max_trailers", chunked(format!("0\r\nX: {}\r\n\r\n", "t".repeat(200)))),
    ]
}

/// RFC 9112 §6.3, §9.3: pipelined pairs where the first body could hide the second.
fn smuggling_rows() -> Vec<Row> {
    let inner_len = SMUGGLED.len();
    vec![
        bad(
            "CL.TE: Content-Length covers a chunked body and a request",
            post(
                &format!("Content-Length: {}\r\nTransfer-Encoding: chunked\r\n", 5 + inner_len),
                format!("0\r\n\r\n{SMUGGLED}"),
            ),
        ),
        bad(
            "TE.CL: chunked body ends early by Content-Length",
            post(
                "Transfer-Encoding: chunked\r\nContent-Length: 4\r\n",
                format!("{inner_len:x}\r\n{SMUGGLED}\r\n0\r\n\r\n"),
            ),
        ),
        bad(
            "TE.TE: obfuscated xchunked with Content-Length",
            post("Transfer-Encoding: xchunked\r\nContent-Length: 5\r\n", format!("0\r\n\r\n{SMUGGLED}")),
        ),
        bad(
            "TE.TE: Transfer-Encoding with space before the colon",
            post("Transfer-Encoding : chunked\r\nContent-Length: 5\r\n", format!("0\r\n\r\n{SMUGGLED}")),
        ),
        bad(
            "TE.TE: Transfer-Encoding hidden by a bare LF",
            post("X: y\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n", format!("0\r\n\r\n{SMUGGLED}")),
        ),
        bad(
            "TE.TE: Transfer-Encoding hidden by obs-fold",
            post("X: y\r\n Transfer-Encoding: chunked\r\nContent-Length: 5\r\n", format!("0\r\n\r\n{SMUGGLED}")),
        ),
        bad(
            "CL.CL: two lengths, one covering a request",
            post(&format!("Content-Length: 0\r\nContent-Length: {inner_len}\r\n"), SMUGGLED),
        ),
        bad(
            "HTTP/1.0 TE.CL",
            [
                format!("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\nContent-Length: {inner_len}\r\n\r\n"),
                SMUGGLED.to_string(),
            ]
            .concat(),
        ),
        bad("chunk-size lying short: data runs into a request", chunked(format!("3\r\nhello\r\n0\r\n\r\n{SMUGGLED}"))),
        bad(
            "chunk-size overflowing to a small value",
            chunked(format!("10000000000000000\r\n\r\n0\r\n\r\n{SMUGGLED}")),
        ),
        bad("last-chunk without the final CRLF, a request after it", chunked(format!("0\r\n{SMUGGLED}"))),
        ok(
            "Content-Length body that looks like a request is only a body",
            post(&format!("Content-Length: {inner_len}\r\n"), SMUGGLED),
            &["POST /"],
        )
        .seen_body(SMUGGLED),
        ok(
            "chunked body that looks like a request is only a body",
            chunked(format!("{inner_len:x}\r\n{SMUGGLED}\r\n0\r\n\r\n")),
            &["POST /"],
        )
        .seen_body(SMUGGLED),
        ok(
            "GET with a Content-Length body that looks like a request",
            format!("GET / HTTP/1.1\r\nHost: a\r\nContent-Length: {inner_len}\r\n\r\n{SMUGGLED}"),
            &["GET /"],
        )
        .seen_body(SMUGGLED),
        ok(
            "after a Content-Length body the next request is the next request",
            post("Content-Length: 5\r\n", "helloGET /next HTTP/1.1\r\nHost: a\r\n\r\n"),
            &["POST /", "GET /next"],
        )
        .seen_body("hello"),
        ok(
            "after a chunked body the next request is the next request",
            chunked("5\r\nhello\r\n0\r\n\r\nGET /next HTTP/1.1\r\nHost: a\r\n\r\n"),
            &["POST /", "GET /next"],
        )
        .seen_body("hello"),
        Row::new(
            "a bad request after a good one: the first is answered, the second refused",
            format!("GET /1 HTTP/1.1\r\nHost: a\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\nX: \0\r\n\r\n{SMUGGLED}"),
            &[200, 400],
            true,
            &["GET /1"],
        ),
        Row::new(
            "Connection: close ends the request stream",
            format!("GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n{SMUGGLED}"),
            &[200],
            true,
            &["GET /"],
        ),
    ]
}

/// RFC 9110 §10.1.1 (Expect) and the limits (RFC 9112 §3, RFC 6585 §5, RFC 9110 §15.5.14).
fn expect_and_limit_rows() -> Vec<Row> {
    let fields: String = (0..12).map(|i| format!("X-{i}: v\r\n")).collect();
    vec![
        refused(
            "RFC 9110 §10.1.1: an unknown expectation is 417",
            post("Expect: teapot\r\nContent-Length: 1\r\n", "x"),
            417,
        ),
        refused(
            "RFC 9110 §10.1.1: 100-continue listed with an unknown one",
            post("Expect: 100-continue, x\r\nContent-Length: 1\r\n", "x"),
            417,
        ),
        ok(
            "RFC 9110 §10.1.1: 100-continue with the body already sent gets no 100",
            post("Expect: 100-continue\r\nContent-Length: 1\r\n", "x"),
            &["POST /"],
        ),
        Row::new(
            "RFC 9110 §10.1.1: HTTP/1.0 expectations are ignored",
            "POST / HTTP/1.0\r\nExpect: teapot\r\nContent-Length: 1\r\n\r\nx",
            &[200],
            true,
            &["POST /"],
        ),
        refused(
            "§3: request line over max_request_line is 414",
            format!("GET /{} HTTP/1.1\r\nHost: a\r\n\r\n", "a".repeat(300)),
            414,
        ),
        refused("§3: unterminated request line over max_request_line is 414", format!("GET /{}", "a".repeat(300)), 414),
        bad("§3: a bad method before the line grows too long is 400, not 414", format!("G(T /{}", "a".repeat(300))),
        refused("RFC 6585 §5: head over max_head is 431", get_with(format!("X: {}", "b".repeat(1100)).as_bytes()), 431),
        refused(
            "RFC 6585 §5: unterminated head over max_head is 431",
            format!("GET / HTTP/1.1\r\nHost: a\r\nX: {}", "b".repeat(1100)),
            431,
        ),
        refused(
            "RFC 6585 §5: more than max_headers fields is 431",
            format!("GET / HTTP/1.1\r\nHost: a\r\n{fields}\r\n"),
            431,
        ),
        refused("§2.2 / RFC 6585 §5: endless empty lines count against max_head", "\r\n".repeat(600), 431),
        refused("RFC 9110 §15.5.14: Content-Length over max_body is 413", post("Content-Length: 1001\r\n", ""), 413),
        refused(
            "RFC 9110 §15.5.14: chunked body over max_body is 413",
            chunked(format!("7d1\r\n{}\r\n0\r\n\r\n", "d".repeat(2001))),
            413,
        ),
    ]
}

fn table() -> Vec<Row> {
    [
        request_line_rows(),
        field_rows(),
        host_rows(),
        framing_rows(),
        chunked_rows(),
        smuggling_rows(),
        expect_and_limit_rows(),
    ]
    .into_iter()
    .flatten()
    .collect()
}

// ---------------------------------------------------------------------------
// Running a row

/// Records each request and answers 200 with what it saw: `METHOD target`, the
/// effective host (`-` for none) and the path.
fn handler(log: &Log) -> impl Fn(Request) -> Response + Send + Sync + 'static {
    let log = log.clone();
    move |req: Request| {
        log.record(&req);
        let host = req.host().unwrap_or("-").to_string();
        Response::text(format!("{} {} host={host} path={}\n", req.method(), req.target(), req.path()))
    }
}

/// Sends one row on a fresh connection and checks replies, close and what the handler saw.
fn run_row(server: &ServerHandle, log: &Log, row: &Row) {
    let before = log.count();
    let mut c = Client::connect(server.local_addr());
    c.send(&row.bytes);
    if row.half_close {
        c.shutdown_write();
    }
    let mut statuses = Vec::new();
    for i in 0..row.statuses.len() {
        let reply = if i == 0 && row.head { c.read_head_reply() } else { c.read_reply() };
        if i == 0 {
            if let Some(text) = row.reply_has {
                assert!(reply.text().contains(text), "reply body {:?} lacks {text:?}", reply.text());
            }
        }
        let is_last = i + 1 == row.statuses.len();
        if is_last && !(100..200).contains(&reply.status) {
            assert_eq!(reply.says_close(), row.closes, "Connection: close on the last reply: {}", reply.head_text());
        }
        statuses.push(reply.status);
    }
    assert_eq!(statuses, row.statuses, "statuses");
    if row.closes {
        c.assert_closed(&row.rule);
    } else {
        c.assert_alive(&row.rule);
    }
    let seen: Vec<_> = log.seen().into_iter().skip(before).filter(|s| s.target != "/alive-probe").collect();
    let lines: Vec<String> = seen.iter().map(|s| format!("{} {}", s.method, s.target)).collect();
    assert_eq!(lines, row.seen, "requests the handler saw");
    if let Some(body) = &row.seen_body {
        assert_eq!(seen.first().map(|s| &s.body), Some(body), "body the handler saw");
    }
}

#[test]
fn every_rule_gets_its_status_close_and_handler_view() {
    let log = Log::new();
    let server = serve_with(limits(), handler(&log));
    let rows = table();
    let mut failures = Vec::new();
    for row in &rows {
        if let Err(e) = panic::catch_unwind(AssertUnwindSafe(|| run_row(&server, &log, row))) {
            let msg = e
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            let shown = String::from_utf8_lossy(&row.bytes[..row.bytes.len().min(100)]).into_owned();
            failures.push(format!("[{}] {shown:?}: {msg}", row.rule));
        }
    }
    assert!(failures.is_empty(), "{} of {} rows failed:\n{}", failures.len(), rows.len(), failures.join("\n"));
    assert!(log.lines().iter().all(|l| !l.contains("smuggled")), "a smuggled request reached the handler");
}

#[test]
fn every_rule_has_a_unique_name() {
    let rows = table();
    let mut names: Vec<&str> = rows.iter().map(|r| r.rule.as_str()).collect();
    names.sort_unstable();
    let before = names.len();
    names.dedup();
    assert_eq!(names.len(), before, "duplicate rule names");
    assert!(before >= 150, "{before} rows");
}

/// RFC 9110 §9.3.2: a server MUST NOT send content in a response to HEAD. A
/// HEAD request whose announced body is over `max_body` is refused with 413
/// from `conn::input` (`reject`), whose error replies are built with
/// `ReplyMeta::for_error()` (`is_head: false`), so the 413 carries its body
/// text: a client reading a HEAD reply sees 22 stray bytes. The fix belongs in
/// conn/ (reject with the request's `ReplyMeta` once the head is parsed).
#[test]
// Regression: a 413 to HEAD once carried a body.
fn head_refused_for_its_body_size_gets_no_body() {
    let log = Log::new();
    let server = serve_with(limits(), handler(&log));
    let row = refused(
        "RFC 9110 §15.5.14: HEAD with a Content-Length over max_body is 413 without a body",
        "HEAD / HTTP/1.1\r\nHost: a\r\nContent-Length: 1001\r\n\r\n",
        413,
    )
    .head();
    run_row(&server, &log, &row);
}
