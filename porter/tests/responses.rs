//! Loopback tests with literal request bytes: HTTP/1.0 and `Connection`
//! handling, half-closed clients, response framing (Date/Server, bodiless
//! statuses, streamed bodies, refused headers), handler panics and a `Files`
//! smoke test.
//!
//! Every test asserts the status, whether the connection was closed afterwards
//! (the next read returns 0) or kept open (a probe request is answered), and,
//! where it matters, what the handler saw.

mod common;

use std::io::Cursor;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use common::{echo, echoed, pattern, serve, serve_with, Client, Log, TempDir};
use porter::{Body, Files, Limits, Request, Response, Router};

const GET: &str = "GET / HTTP/1.1\r\nHost: t\r\n\r\n";

// ---------------------------------------------------------------------------
// HTTP/1.0 and Connection

#[test]
fn http10_closes_by_default() {
    let log = Log::new();
    let server = serve(echo(&log));
    let mut c = Client::connect(server.local_addr());
    let r = c.round_trip("GET /old HTTP/1.0\r\n\r\n");
    assert_eq!(r.status, 200);
    assert_eq!(r.body, echoed("GET", "/old", b""));
    assert_ne!(r.header("connection").map(str::to_ascii_lowercase).as_deref(), Some("keep-alive"));
    c.assert_closed("after an HTTP/1.0 request without keep-alive");
}

#[test]
fn http10_keep_alive_when_asked() {
    let log = Log::new();
    let server = serve(echo(&log));
    let mut c = Client::connect(server.local_addr());
    let r = c.round_trip("GET /one HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    assert_eq!(r.status, 200);
    assert!(r.header("connection").is_some_and(|v| v.eq_ignore_ascii_case("keep-alive")), "{}", r.head_text());
    let r = c.round_trip("POST /two HTTP/1.0\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\nhi");
    assert_eq!(r.body, echoed("POST", "/two", b"hi"));
    assert!(r.header("connection").is_some_and(|v| v.eq_ignore_ascii_case("keep-alive")), "{}", r.head_text());
    // The third one does not ask: the connection closes after it.
    let r = c.round_trip("GET /three HTTP/1.0\r\n\r\n");
    assert_eq!(r.status, 200);
    c.assert_closed("after an HTTP/1.0 request without keep-alive");
    assert_eq!(log.lines(), ["GET /one", "POST /two", "GET /three"]);
}

#[test]
fn http11_connection_close_closes() {
    let log = Log::new();
    let server = serve(echo(&log));
    let mut c = Client::connect(server.local_addr());
    let r = c.round_trip("GET /bye HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
    assert_eq!(r.status, 200);
    assert!(r.says_close(), "{}", r.head_text());
    c.assert_closed("after Connection: close");
}

#[test]
fn requests_pipelined_after_connection_close_are_not_answered() {
    let log = Log::new();
    let server = serve(echo(&log));
    let mut c = Client::connect(server.local_addr());
    c.send(concat!(
        "GET /first HTTP/1.1\r\nHost: t\r\n\r\n",
        "GET /last HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
        "GET /ignored HTTP/1.1\r\nHost: t\r\n\r\n",
    ));
    let first = c.read_reply();
    let last = c.read_reply();
    assert!(!first.says_close());
    assert!(last.says_close(), "{}", last.head_text());
    c.assert_closed("after Connection: close in a pipeline");
    assert_eq!(log.lines(), ["GET /first", "GET /last"]);
}

#[test]
fn an_error_mid_pipeline_comes_after_the_earlier_replies_and_ends_the_connection() {
    let log = Log::new();
    let server = serve_with(Limits { max_body: 1000, ..Limits::default() }, echo(&log));
    for (label, bad, status) in [
        ("413", "POST /big HTTP/1.1\r\nHost: t\r\nContent-Length: 5000\r\n\r\n", 413),
        ("400", "GET /x HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400),
        ("400 garbage", "\x16\x03\x01\x02\x00\x01\x00\x01\x7c\x03\x03", 400),
    ] {
        let mut c = Client::connect(server.local_addr());
        c.send(format!(
            "GET /a HTTP/1.1\r\nHost: t\r\n\r\nPOST /b HTTP/1.1\r\nHost: t\r\nContent-Length: 1\r\n\r\nb{bad}GET /c HTTP/1.1\r\nHost: t\r\n\r\n"
        ));
        let replies = c.read_replies(3);
        let statuses: Vec<u16> = replies.iter().map(|r| r.status).collect();
        assert_eq!(statuses, [200, 200, status], "{label}");
        assert_eq!(replies[1].body, echoed("POST", "/b", b"b"), "{label}");
        assert!(!replies[1].says_close() && replies[2].says_close(), "{label}: {}", replies[2].head_text());
        c.assert_closed(label);
    }
    assert_eq!(log.lines(), ["GET /a", "POST /b", "GET /a", "POST /b", "GET /a", "POST /b"]);
}

#[test]
fn half_closed_client_with_a_partial_request_gets_the_complete_ones_answered() {
    let log = Log::new();
    let server = serve(echo(&log));
    let mut c = Client::connect(server.local_addr());
    c.send("GET /whole HTTP/1.1\r\nHost: t\r\n\r\nGET /partial HTTP/1.1\r\nHo");
    c.shutdown_write();
    let r = c.read_reply();
    assert_eq!(r.body, echoed("GET", "/whole", b""));
    c.assert_closed("after the client half-closed mid-request");
    assert_eq!(log.lines(), ["GET /whole"]);
}

#[test]
fn half_closed_client_still_gets_its_replies() {
    let log = Log::new();
    let server = serve(echo(&log));
    let mut c = Client::connect(server.local_addr());
    c.send("GET /a HTTP/1.1\r\nHost: t\r\n\r\nPOST /b HTTP/1.1\r\nHost: t\r\nContent-Length: 1\r\n\r\nz");
    c.shutdown_write();
    let replies = c.read_replies(2);
    assert_eq!(replies[0].body, echoed("GET", "/a", b""));
    assert_eq!(replies[1].body, echoed("POST", "/b", b"z"));
    c.assert_closed("after the client half-closed");
}

// ---------------------------------------------------------------------------
// Responses

#[test]
fn date_and_server_headers_are_present() {
    let server = serve(|_req: Request| Response::text("hi"));
    let mut c = Client::connect(server.local_addr());
    let r = c.round_trip(GET);
    assert_eq!(r.header("server"), Some("porter"));
    let date = r.header("date").expect("Date header");
    // IMF-fixdate: `Sun, 06 Nov 1994 08:49:37 GMT`.
    assert_eq!(date.len(), 29, "{date:?}");
    assert!(date.ends_with(" GMT") && date.as_bytes()[3] == b',', "{date:?}");
    assert_eq!(r.header_count("date"), 1);
    assert_eq!(r.header("content-type"), Some("text/plain; charset=utf-8"));
    assert_eq!(r.header("content-length"), Some("2"));
}

#[test]
fn no_body_statuses_have_no_length_and_no_body() {
    let server = serve(|req: Request| match req.path() {
        "/204" => Response::new(204),
        "/204-with-body" => Response::new(204).body("must not be sent"),
        "/304" => Response::new(304).header("ETag", "\"v1\""),
        "/304-with-body" => Response::new(304).body("must not be sent"),
        _ => Response::text("after"),
    });
    let mut c = Client::connect(server.local_addr());
    c.send(concat!(
        "GET /204 HTTP/1.1\r\nHost: t\r\n\r\n",
        "GET /204-with-body HTTP/1.1\r\nHost: t\r\n\r\n",
        "GET /304 HTTP/1.1\r\nHost: t\r\n\r\n",
        "GET /304-with-body HTTP/1.1\r\nHost: t\r\n\r\n",
        "GET /after HTTP/1.1\r\nHost: t\r\n\r\n",
    ));
    for want in [204, 204, 304, 304] {
        let r = c.read_reply();
        assert_eq!(r.status, want);
        assert_eq!(r.header("content-length"), None, "{}", r.head_text());
        assert_eq!(r.header("transfer-encoding"), None, "{}", r.head_text());
        assert!(r.raw.ends_with(b"\r\n\r\n"), "no body bytes: {:?}", String::from_utf8_lossy(&r.raw));
    }
    // Had any body bytes been sent, this reply would not parse.
    let after = c.read_reply();
    assert_eq!((after.status, after.text()), (200, "after".to_string()));
    c.assert_alive("after bodiless replies");
}

fn streaming_handler(len: usize) -> impl Fn(Request) -> Response + Send + Sync + 'static {
    move |req: Request| match req.path() {
        "/known" => Response::new(200).body(Body::reader(Cursor::new(pattern(len)), Some(len as u64))),
        _ => Response::new(200).body(Body::reader(Cursor::new(pattern(len)), None)),
    }
}

#[test]
fn streamed_body_of_unknown_length_is_chunked_on_http11() {
    let server = serve(streaming_handler(200_000));
    let mut c = Client::connect(server.local_addr());
    let r = c.round_trip("GET /stream HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_eq!(r.status, 200);
    assert_eq!(r.header("transfer-encoding"), Some("chunked"), "{}", r.head_text());
    assert_eq!(r.header("content-length"), None);
    assert_eq!(r.body, pattern(200_000));
    c.assert_alive("after a chunked streamed reply");

    // HEAD of a streamed body: headers only.
    c.send("HEAD /stream HTTP/1.1\r\nHost: t\r\n\r\n");
    let head = c.read_head_reply();
    assert_eq!(head.status, 200);
    assert!(head.raw.ends_with(b"\r\n\r\n"));
    c.assert_alive("after HEAD of a streamed reply");
}

#[test]
fn streamed_body_of_unknown_length_is_close_delimited_on_http10() {
    let server = serve(streaming_handler(200_000));
    let mut c = Client::connect(server.local_addr());
    // Even when the 1.0 client asks for keep-alive, an unknown length can only end with the connection.
    let r = c.round_trip("GET /stream HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    assert_eq!(r.status, 200);
    assert_eq!(r.header("transfer-encoding"), None, "no chunked to an HTTP/1.0 client: {}", r.head_text());
    assert_eq!(r.header("content-length"), None);
    assert!(r.close_delimited);
    assert!(r.says_close(), "{}", r.head_text());
    assert_eq!(r.body.len(), 200_000);
    assert_eq!(r.body, pattern(200_000));
    c.assert_closed("after a close-delimited reply");
}

#[test]
fn streamed_body_of_known_length_has_content_length() {
    let server = serve(streaming_handler(150_000));
    let mut c = Client::connect(server.local_addr());
    let r = c.round_trip("GET /known HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_eq!(r.header("content-length"), Some("150000"), "{}", r.head_text());
    assert_eq!(r.header("transfer-encoding"), None);
    assert_eq!(r.body, pattern(150_000));
    c.assert_alive("after a streamed reply of known length");
}

#[test]
fn response_header_with_crlf_becomes_500_never_a_split_response() {
    let server = serve(|req: Request| match req.path() {
        "/crlf" => Response::text("x").header("X-Evil", "a\r\nInjected: yes"),
        "/lf" => Response::text("x").header("X-Evil", "a\nInjected: yes"),
        "/name" => Response::text("x").header("X-Evil\r\nInjected", "yes"),
        _ => Response::text("ok"),
    });
    let mut c = Client::connect(server.local_addr());
    for path in ["/crlf", "/lf", "/name"] {
        let r = c.round_trip(format!("GET {path} HTTP/1.1\r\nHost: t\r\n\r\n"));
        assert_eq!(r.status, 500, "{path}: {}", r.head_text());
        assert!(common::find(&r.raw, b"Injected").is_none(), "{path}: split response: {:?}", r.head_text());
        assert!(r.header("x-evil").is_none(), "{path}");
        assert_eq!(c.assert_alive(path).status, 200);
    }
}

#[test]
fn handler_set_framing_headers_are_ignored() {
    let server = serve(|_req: Request| {
        Response::text("four")
            .header("Content-Length", "99")
            .header("Transfer-Encoding", "chunked")
            .header("Connection", "close")
            .header("X-Kept", "yes")
    });
    let mut c = Client::connect(server.local_addr());
    let r = c.round_trip(GET);
    assert_eq!(r.header("content-length"), Some("4"), "{}", r.head_text());
    assert_eq!(r.header_count("content-length"), 1);
    assert_eq!(r.header("transfer-encoding"), None);
    assert_eq!(r.header("x-kept"), Some("yes"));
    assert_eq!(r.text(), "four");
    c.assert_alive("after a handler tried to set framing headers");
}

#[test]
fn response_close_closes_the_connection() {
    let server =
        serve(|req: Request| if req.path() == "/close" { Response::text("bye").close() } else { Response::text("hi") });
    let mut c = Client::connect(server.local_addr());
    c.send("GET /close HTTP/1.1\r\nHost: t\r\n\r\nGET /never HTTP/1.1\r\nHost: t\r\n\r\n");
    let r = c.read_reply();
    assert_eq!(r.text(), "bye");
    assert!(r.says_close(), "{}", r.head_text());
    c.assert_closed("after Response::close");
}

// ---------------------------------------------------------------------------
// Handler panics

#[test]
fn handler_panic_answers_500_and_the_connection_lives_on() {
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = calls.clone();
    let router = Router::new()
        .get("/panic", |_req: Request| -> Response { panic!("handler panic (expected by the test)") })
        .post("/panic", |_req: Request| -> Response { panic!("handler panic (expected by the test)") })
        .get("/ok", move |_req: Request| {
            counter.fetch_add(1, Ordering::SeqCst);
            Response::text("ok")
        });
    let server = serve(router);
    let mut c = Client::connect(server.local_addr());
    c.send(concat!(
        "GET /panic HTTP/1.1\r\nHost: t\r\n\r\n",
        "GET /ok HTTP/1.1\r\nHost: t\r\n\r\n",
        "POST /panic HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\nabc",
        "GET /ok HTTP/1.1\r\nHost: t\r\n\r\n",
    ));
    let replies = c.read_replies(4);
    let statuses: Vec<u16> = replies.iter().map(|r| r.status).collect();
    assert_eq!(statuses, [500, 200, 500, 200]);
    assert_eq!(replies[1].text(), "ok");
    // Another connection is served too.
    let mut other = Client::connect(server.local_addr());
    assert_eq!(other.round_trip("GET /ok HTTP/1.1\r\nHost: t\r\n\r\n").text(), "ok");
    assert_eq!(c.round_trip("GET /ok HTTP/1.1\r\nHost: t\r\n\r\n").text(), "ok");
    assert_eq!(calls.load(Ordering::SeqCst), 4);
}

// ---------------------------------------------------------------------------
// Files (smoke test; files.rs has its own tests)

#[test]
fn files_serves_a_file_with_its_content_type() {
    let dir = TempDir::new("files");
    std::fs::write(dir.path().join("hello.txt"), b"hello from a file\n").expect("write hello.txt");
    std::fs::write(dir.path().join("style.css"), b"body { color: red }\n").expect("write style.css");
    let server = serve(Files::new(dir.path()).expect("Files::new"));
    let mut c = Client::connect(server.local_addr());
    let r = c.round_trip("GET /hello.txt HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_eq!(r.status, 200, "{}", r.head_text());
    assert_eq!(r.header("content-type"), Some("text/plain; charset=utf-8"));
    assert_eq!(r.text(), "hello from a file\n");
    let r = c.round_trip("GET /style.css HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_eq!(r.header("content-type"), Some("text/css; charset=utf-8"));
    assert_eq!(r.text(), "body { color: red }\n");
    let r = c.round_trip("GET /missing.txt HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_eq!(r.status, 404);
    c.assert_alive("after Files replies");
}

/// A body reader claiming to have read more than the buffer it was given.
struct Liar;
impl std::io::Read for Liar {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        Ok(buf.len() + 1)
    }
}

/// A reader that says it read more than it was given is a failed body (the
/// connection is cut), not a panic of the worker: the next client is served.
#[test]
fn a_reader_claiming_more_than_the_buffer_fails_its_reply_only() {
    let server = serve(|req: Request| match req.path() {
        "/liar" => Response::new(200).body(Body::reader(Liar, Some(100))),
        _ => Response::text("ok"),
    });
    let mut c = Client::connect(server.local_addr());
    c.send("GET /liar HTTP/1.1\r\nHost: t\r\n\r\n");
    // The connection ends (cut: reset or not); the worker lives on.
    c.stream.set_read_timeout(Some(common::SAFETY_TIMEOUT)).unwrap();
    let _ = std::io::Read::read_to_end(&mut c.stream, &mut Vec::new());
    let mut next = Client::connect(server.local_addr());
    assert_eq!(next.round_trip(GET).text(), "ok");
}
