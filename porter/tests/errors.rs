//! The limits' boundaries (exactly at a limit passes, one past it fails) and
//! the router's 404/405, which keep the connection. Every malformed-request
//! rule, with its status and close, is in the table of `conformance.rs`.
//!
//! Every test asserts the status, whether the connection was closed afterwards
//! (the next read returns 0) or kept open (a probe request is answered), and,
//! where it matters, what the handler saw.

mod common;

use common::{echo, serve, serve_with, Client, Log};
use porter::{Limits, Router};

// ---------------------------------------------------------------------------
// Limits

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

// ---------------------------------------------------------------------------
// Why

/// Item 13 of the hardening issue: a `400` gave no reason. Every refusal porter
/// makes itself (a head it cannot parse, a body it cannot decode, a body over
/// `max_body`) says why in its body, and closes.
#[test]
fn porters_own_refusals_say_why() {
    let log = Log::new();
    let server = serve_with(error_limits(), echo(&log));
    let long_path = "p".repeat(300);
    let rows: [(&str, &[u8], &str); 9] = [
        ("missing Host", b"GET / HTTP/1.1\r\n\r\n", "400 Bad Request: missing Host header\n"),
        ("two Hosts", b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", "400 Bad Request: more than one Host header\n"),
        ("bare LF", b"GET / HTTP/1.1\nHost: a\n\n", "400 Bad Request: line ending without CR\n"),
        ("garbage", b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", "400 Bad Request: invalid method\n"),
        (
            "bad Content-Length",
            b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1x\r\n\r\n",
            "400 Bad Request: invalid Content-Length\n",
        ),
        (
            "bad chunk size",
            b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
            "400 Bad Request: invalid chunk size\n",
        ),
        (
            "declared body over max_body",
            b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1001\r\n\r\n",
            "413 Content Too Large: request body larger than the server accepts\n",
        ),
        (
            "HTTP/2.0",
            b"GET / HTTP/2.0\r\nHost: a\r\n\r\n",
            "505 HTTP Version Not Supported: HTTP version not supported\n",
        ),
        ("long request line", long_path.as_bytes(), "414 URI Too Long: request line too long\n"),
    ];
    for (label, request, body) in rows {
        let mut c = Client::connect(server.local_addr());
        c.send(request);
        let r = c.read_reply();
        assert_eq!(r.text(), body, "{label}: {}", r.head_text());
        assert_eq!(r.header("content-type"), Some("text/plain; charset=utf-8"), "{label}");
        assert!(r.says_close(), "{label}: {}", r.head_text());
        c.assert_closed(label);
    }
    assert!(log.lines().is_empty(), "{:?}", log.lines());
}

/// Review: a head refused after a valid request line was answered as if its
/// method were unknown, so a refused HEAD got a body (RFC 9110 §9.3.2 forbids
/// one). The reply now follows the refused request line.
#[test]
fn a_refused_head_request_gets_no_body() {
    let log = Log::new();
    let server = serve_with(error_limits(), echo(&log));
    for request in ["HEAD / HTTP/1.1\r\n\r\n", "HEAD / HTTP/1.1\r\nHost: a\r\nContent-Length: x\r\n\r\n"] {
        let mut c = Client::connect(server.local_addr());
        c.send(request);
        let wire = c.read_to_eof();
        let head_end = common::find(&wire, b"\r\n\r\n").map(|at| at + 4);
        let text = String::from_utf8_lossy(&wire);
        assert!(text.starts_with("HTTP/1.1 400 "), "{request:?}: {text:?}");
        assert_eq!(head_end, Some(wire.len()), "{request:?}: a body after the head: {text:?}");
    }
    assert!(log.lines().is_empty(), "{:?}", log.lines());
}
