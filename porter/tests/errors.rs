//! Every error status porter answers from literal request bytes (400, 413, 414,
//! 417, 431, 501, 505; 404 and 405 from a Router), each followed by a close
//! (except 404/405), and the limits' boundaries.
//!
//! Every test asserts the status, whether the connection was closed afterwards
//! (the next read returns 0) or kept open (a probe request is answered), and,
//! where it matters, what the handler saw.

mod common;

use std::panic::{self, AssertUnwindSafe};

use common::{echo, serve, serve_with, Client, Log};
use porter::{Limits, Router};

// ---------------------------------------------------------------------------
// Every error status, from literal bytes

fn error_limits() -> Limits {
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

fn error_cases() -> Vec<(&'static str, Vec<u8>, u16)> {
    let h = |s: &str| s.as_bytes().to_vec();
    let long_uri = format!("GET /{} HTTP/1.1\r\nHost: t\r\n\r\n", "a".repeat(400));
    let unterminated_line = format!("GET /{}", "a".repeat(4000));
    let many_headers: String = (0..20).map(|i| format!("X-H{i}: v\r\n")).collect();
    let big_block: String = (0..9).map(|i| format!("X-Big{i}: {}\r\n", "b".repeat(150))).collect();
    let unterminated_block: String = (0..9).map(|i| format!("X-Big{i}: {}\r\n", "b".repeat(150))).collect();
    let post_chunked = "POST /up HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n";
    let big_trailers: String = (0..4).map(|i| format!("X-T{i}: {}\r\n", "t".repeat(60))).collect();
    vec![
        ("bad request line (bad method char)", h("G(T / HTTP/1.1\r\nHost: t\r\n\r\n"), 400),
        ("bad request line (no version)", h("GET /\r\nHost: t\r\n\r\n"), 400),
        ("bad request line (garbage)", h("\x01\x02\x03 hello\r\n\r\n"), 400),
        ("target without a leading slash", h("GET index.html HTTP/1.1\r\nHost: t\r\n\r\n"), 400),
        ("target with a fragment", h("GET /a#frag HTTP/1.1\r\nHost: t\r\n\r\n"), 400),
        ("header name with a bad byte", h("GET / HTTP/1.1\r\nHost: t\r\nX(A: b\r\n\r\n"), 400),
        ("empty header name", h("GET / HTTP/1.1\r\nHost: t\r\n: b\r\n\r\n"), 400),
        ("bad Host value", h("GET / HTTP/1.1\r\nHost: a b\r\n\r\n"), 400),
        ("missing Host in HTTP/1.1", h("GET / HTTP/1.1\r\nAccept: */*\r\n\r\n"), 400),
        ("two Host headers", h("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"), 400),
        ("Content-Length +5", h("POST / HTTP/1.1\r\nHost: t\r\nContent-Length: +5\r\n\r\nhello"), 400),
        ("Content-Length not a number", h("POST / HTTP/1.1\r\nHost: t\r\nContent-Length: abc\r\n\r\n"), 400),
        (
            "two different Content-Lengths",
            h("POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!"),
            400,
        ),
        (
            "Transfer-Encoding with Content-Length",
            h("POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
            400,
        ),
        ("obs-fold", h("GET / HTTP/1.1\r\nHost: t\r\nX-A: a\r\n  folded\r\n\r\n"), 400),
        ("space before colon", h("GET / HTTP/1.1\r\nHost : t\r\n\r\n"), 400),
        ("bare LF line endings", h("GET / HTTP/1.1\nHost: t\n\n"), 400),
        ("bare LF after headers", h("GET / HTTP/1.1\r\nHost: t\n\r\n"), 400),
        ("NUL in a header value", h("GET / HTTP/1.1\r\nHost: t\r\nX-A: a\0b\r\n\r\n"), 400),
        ("chunked not last", h("POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n"), 400),
        // RFC 9112 §6.3 rule 4: a request whose final coding is not chunked MUST get 400;
        // a coding porter does not implement before a final chunked is a 501 (RFC 9112 §6.1).
        (
            "Transfer-Encoding: gzip (not chunked-final)",
            h("POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: gzip\r\n\r\n"),
            400,
        ),
        (
            "Transfer-Encoding: gzip, chunked",
            h("POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: gzip, chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"),
            501,
        ),
        ("CONNECT", h("CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n"), 501),
        ("Transfer-Encoding in HTTP/1.0", h("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"), 400),
        ("HTTP/2.0 request line", h("GET / HTTP/2.0\r\nHost: t\r\n\r\n"), 505),
        ("HTTP/2 preface", h("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"), 505),
        ("URI over max_request_line", long_uri.into_bytes(), 414),
        ("unterminated request line over max_request_line", unterminated_line.into_bytes(), 414),
        ("too many headers", format!("GET / HTTP/1.1\r\nHost: t\r\n{many_headers}\r\n").into_bytes(), 431),
        ("header block over max_head", format!("GET / HTTP/1.1\r\nHost: t\r\n{big_block}\r\n").into_bytes(), 431),
        (
            "unterminated header block over max_head",
            format!("GET / HTTP/1.1\r\nHost: t\r\n{unterminated_block}").into_bytes(),
            431,
        ),
        ("Content-Length over max_body", h("POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 1001\r\n\r\n"), 413),
        (
            "Expect: 100-continue with Content-Length over max_body (413, no 100)",
            h("POST / HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 5000\r\n\r\n"),
            413,
        ),
        (
            "Expect: 100-continue, foo",
            h("POST / HTTP/1.1\r\nHost: t\r\nExpect: 100-continue, foo\r\nContent-Length: 1\r\n\r\nx"),
            417,
        ),
        (
            "Expect: something-else",
            h("POST / HTTP/1.1\r\nHost: t\r\nExpect: something-else\r\nContent-Length: 1\r\n\r\nx"),
            417,
        ),
        (
            "chunk size overflowing u64",
            format!("{post_chunked}fffffffffffffffff\r\nhello\r\n0\r\n\r\n").into_bytes(),
            400,
        ),
        (
            "huge chunk size, data past max_body",
            format!("{post_chunked}fffffff\r\n{}", "d".repeat(2000)).into_bytes(),
            413,
        ),
        ("bad chunk size", format!("{post_chunked}zz\r\nhello\r\n0\r\n\r\n").into_bytes(), 400),
        ("chunk data without CRLF", format!("{post_chunked}5\r\nhelloXX0\r\n\r\n").into_bytes(), 400),
        (
            "chunk line over max_chunk_line",
            format!("{post_chunked}5;{}\r\nhello\r\n0\r\n\r\n", "e".repeat(200)).into_bytes(),
            400,
        ),
        (
            "trailers over max_trailers",
            format!("{post_chunked}5\r\nhello\r\n0\r\n{big_trailers}\r\n").into_bytes(),
            400,
        ),
    ]
}

#[test]
fn each_malformed_request_gets_its_status_and_a_close() {
    let log = Log::new();
    let server = serve_with(error_limits(), echo(&log));
    let addr = server.local_addr();
    let mut failures = Vec::new();
    for (label, bytes, want) in error_cases() {
        let result = panic::catch_unwind(AssertUnwindSafe(|| {
            let mut c = Client::connect(addr);
            c.send(&bytes);
            let r = c.read_reply();
            assert_eq!(r.status, want, "status; reply head: {:?}", r.head_text());
            assert!(r.says_close(), "reply must say Connection: close: {:?}", r.head_text());
            assert!(r.header("date").is_some() && r.header("server") == Some("porter"), "{:?}", r.head_text());
            c.assert_closed(label);
        }));
        if let Err(e) = result {
            let msg = e
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            let shown = String::from_utf8_lossy(&bytes[..bytes.len().min(120)]).into_owned();
            failures.push(format!("[{label}] input {shown:?} ({} bytes): {msg}", bytes.len()));
        }
    }
    assert!(failures.is_empty(), "{} case(s) failed:\n{}", failures.len(), failures.join("\n"));
    assert_eq!(log.lines(), Vec::<String>::new(), "no malformed request may reach the handler");
}

#[test]
fn limits_are_inclusive() {
    let log = Log::new();
    let server = serve_with(error_limits(), echo(&log));
    let mut c = Client::connect(server.local_addr());
    // Ten headers (Host plus nine) is exactly max_headers.
    let nine: String = (0..9).map(|i| format!("X-H{i}: v\r\n")).collect();
    let r = c.round_trip(format!("GET /ten HTTP/1.1\r\nHost: t\r\n{nine}\r\n"));
    assert_eq!(r.status, 200, "{}", r.head_text());
    // A request line of exactly max_request_line bytes (CRLF not counted... or
    // counted: stay a few bytes under to be fair to either reading).
    let path = "p".repeat(256 - "GET / HTTP/1.1".len() - 4);
    let r = c.round_trip(format!("GET /{path} HTTP/1.1\r\nHost: t\r\n\r\n"));
    assert_eq!(r.status, 200, "{}", r.head_text());
    c.assert_alive("after requests at the limits");
}

#[test]
fn not_found_and_method_not_allowed_keep_the_connection() {
    let log = Log::new();
    let router = Router::new().get("/x", echo(&log)).post("/form", echo(&log)).get("/alive-probe", echo(&log));
    let server = serve(router);
    let mut c = Client::connect(server.local_addr());

    let r = c.round_trip("GET /missing HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_eq!(r.status, 404);
    assert!(!r.says_close(), "{}", r.head_text());
    c.assert_alive("after 404");

    let r = c.round_trip("DELETE /x HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_eq!(r.status, 405);
    assert_eq!(r.header("allow"), Some("GET, HEAD, OPTIONS"));
    assert!(!r.says_close(), "{}", r.head_text());
    c.assert_alive("after 405");

    // A refused POST's body is drained, not read by the handler.
    let r = c.round_trip("PUT /form HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\n\r\nabcd");
    assert_eq!(r.status, 405);
    assert_eq!(r.header("allow"), Some("OPTIONS, POST"));
    c.assert_alive("after 405 with a body");

    let r = c.round_trip("OPTIONS /x HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_eq!(r.status, 204);
    assert_eq!(r.header("allow"), Some("GET, HEAD, OPTIONS"));
    c.assert_alive("after OPTIONS");

    // HEAD is served by the GET route.
    c.send("HEAD /x HTTP/1.1\r\nHost: t\r\n\r\n");
    let r = c.read_head_reply();
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-length"), Some("8"), "{}", r.head_text());
    c.assert_alive("after HEAD");
    assert_eq!(
        log.lines(),
        ["GET /alive-probe", "GET /alive-probe", "GET /alive-probe", "GET /alive-probe", "HEAD /x", "GET /alive-probe"]
    );
}
