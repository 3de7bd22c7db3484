//! Loopback edge cases with literal request bytes: target forms, lenient but
//! valid inputs, pipelining backpressure, the order of `100 Continue`, HTTP/1.0
//! expectations, handler-made 1xx, failing response bodies, custom
//! `before_body`, `server_name(None)` and stopping the server.
//!
//! Every test asserts the status, whether the connection was closed afterwards
//! (the next read returns 0) or kept open (a probe request is answered), and,
//! where it matters, what the handler saw.

mod common;

use std::io::Cursor;
use std::sync::Arc;

use common::{echo, echoed, pattern, serve, serve_with, Client, Log};
use porter::{Body, Limits, Request, Response, Router};

const GET: &str = "GET / HTTP/1.1\r\nHost: t\r\n\r\n";

// ---------------------------------------------------------------------------
// More edges: forms of the target, lenient inputs, backpressure, ordering of
// 100 Continue, failing response bodies, custom `before_body`, lifecycle.

#[test]
fn absolute_form_and_asterisk_targets() {
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let record = seen.clone();
    let server = serve(move |req: Request| {
        let line = format!(
            "{} {} path={} query={:?} host={:?}",
            req.method(),
            req.target(),
            req.path(),
            req.query(),
            req.host()
        );
        record.lock().unwrap_or_else(|e| e.into_inner()).push(line.clone());
        Response::text(line)
    });
    let mut c = Client::connect(server.local_addr());
    let r = c.round_trip("GET http://example.com:8080/a/b?x=1 HTTP/1.1\r\nHost: example.com:8080\r\n\r\n");
    assert_eq!(r.status, 200, "{}", r.head_text());
    assert_eq!(
        r.text(),
        "GET http://example.com:8080/a/b?x=1 path=/a/b query=Some(\"x=1\") host=Some(\"example.com:8080\")"
    );
    let r = c.round_trip("OPTIONS * HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_eq!(r.status, 200, "{}", r.head_text());
    assert_eq!(r.text(), "OPTIONS * path=* query=None host=Some(\"t\")");
    c.assert_alive("after absolute-form and asterisk targets");
}

#[test]
fn router_answers_options_asterisk() {
    let log = Log::new();
    let server = serve(Router::new().get("/a", echo(&log)).post("/b", echo(&log)));
    let mut c = Client::connect(server.local_addr());
    let r = c.round_trip("OPTIONS * HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_eq!(r.status, 204, "{}", r.head_text());
    assert_eq!(r.header("allow"), Some("GET, HEAD, OPTIONS, POST"));
    assert_eq!(r.header("content-length"), None);
}

#[test]
fn lenient_but_valid_inputs_are_accepted() {
    let log = Log::new();
    let server = serve(echo(&log));
    let mut c = Client::connect(server.local_addr());
    // RFC 9112 §2.2: an empty line before the request line is ignored.
    let r = c.round_trip("\r\nGET /after-empty-line HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_eq!(r.status, 200, "{}", r.head_text());
    // Header names are case-insensitive; optional whitespace around values.
    let r = c.round_trip("POST /ws HTTP/1.1\r\nhOsT: t\r\ncontent-length:   3  \r\n\r\nabc");
    assert_eq!(r.body, echoed("POST", "/ws", b"abc"), "{}", r.head_text());
    // Leading zeros in Content-Length; upper-case hex and leading zeros in chunk sizes.
    let r = c.round_trip("POST /zeros HTTP/1.1\r\nHost: t\r\nContent-Length: 003\r\n\r\nxyz");
    assert_eq!(r.body, echoed("POST", "/zeros", b"xyz"), "{}", r.head_text());
    let r = c.round_trip(
        "POST /hex HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: Chunked\r\n\r\n000A\r\n0123456789\r\n0\r\n\r\n",
    );
    assert_eq!(r.body, echoed("POST", "/hex", b"0123456789"), "{}", r.head_text());
    // `Connection: Close` in any case closes.
    let r = c.round_trip("GET /bye HTTP/1.1\r\nHost: t\r\nConnection: Close\r\n\r\n");
    assert!(r.says_close(), "{}", r.head_text());
    c.assert_closed("after Connection: Close");
}

#[test]
fn max_pipelined_one_still_answers_fifty_pipelined_requests_in_order() {
    let log = Log::new();
    let server = serve_with(Limits { max_pipelined: 1, ..Limits::default() }, echo(&log));
    let mut c = Client::connect(server.local_addr());
    let batch: String = (0..50)
        .map(|i| {
            if i % 3 == 0 {
                format!("POST /p{i} HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\n\r\nb{i:03}")
            } else {
                format!("GET /g{i} HTTP/1.1\r\nHost: t\r\n\r\n")
            }
        })
        .collect();
    c.send(batch);
    for i in 0..50 {
        let r = c.read_reply();
        let want = if i % 3 == 0 {
            echoed("POST", &format!("/p{i}"), format!("b{i:03}").as_bytes())
        } else {
            echoed("GET", &format!("/g{i}"), b"")
        };
        assert_eq!(r.body, want, "reply {i}");
    }
    c.assert_alive("after backpressured pipeline");
}

#[test]
fn many_large_pipelined_replies_to_a_client_that_reads_late() {
    // 100 requests whose replies (100 KB each, 10 MB in all) far exceed the
    // socket buffers: porter must stop reading, write as the client drains, and
    // resume, without losing or reordering anything.
    let server = serve(|req: Request| {
        let n: usize = req.path().trim_start_matches("/big/").parse().unwrap_or(0);
        let mut body = pattern(100_000);
        body[..8].copy_from_slice(format!("{n:08}").as_bytes());
        Response::bytes(body)
    });
    let mut c = Client::connect(server.local_addr());
    let batch: String = (0..100).map(|i| format!("GET /big/{i} HTTP/1.1\r\nHost: t\r\n\r\n")).collect();
    c.send(batch);
    for i in 0..100 {
        let r = c.read_reply();
        assert_eq!(r.status, 200);
        assert_eq!(r.body.len(), 100_000, "reply {i}");
        assert_eq!(&r.body[..8], format!("{i:08}").as_bytes(), "reply {i} out of order");
        assert_eq!(r.body[8..], pattern(100_000)[8..], "reply {i} body");
    }
    c.assert_alive("after 10 MB of pipelined replies");
}

#[test]
fn continue_never_overtakes_an_earlier_reply() {
    let log = Log::new();
    let server = serve(echo(&log));
    let mut c = Client::connect(server.local_addr());
    c.send(concat!(
        "GET /first HTTP/1.1\r\nHost: t\r\n\r\n",
        "POST /second HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n",
    ));
    let first = c.read_reply();
    assert_eq!(first.body, echoed("GET", "/first", b""), "{}", first.head_text());
    let interim = c.read_reply();
    assert_eq!(interim.raw, b"HTTP/1.1 100 Continue\r\n\r\n");
    c.send("ok");
    let second = c.read_reply();
    assert_eq!(second.body, echoed("POST", "/second", b"ok"));
    c.assert_alive("after 100 Continue in a pipeline");
}

#[test]
fn http10_expect_continue_is_ignored() {
    let log = Log::new();
    let server = serve(echo(&log));
    let addr = server.local_addr();
    let mut c = Client::connect(addr);
    c.send("POST /old HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n");
    // A barrier, not a sleep: a round trip on another connection of the same
    // (single) loop, so the head above has been seen before the body is sent.
    let mut other = Client::connect(addr);
    assert_eq!(other.round_trip("GET /barrier HTTP/1.1\r\nHost: t\r\n\r\n").status, 200);
    c.send("hi");
    let r = c.read_reply();
    // RFC 9110 §10.1.1: a server MUST ignore a 100-continue expectation from HTTP/1.0.
    assert_eq!(r.status, 200, "no 100 Continue to an HTTP/1.0 client: {}", r.head_text());
    assert_eq!(r.body, echoed("POST", "/old", b"hi"));
    c.assert_closed("after an HTTP/1.0 request");
}

// Regression: porter once sent a handler's `Response::new(1xx)` as the final reply.
#[test]
fn a_1xx_status_from_a_handler_is_never_sent_as_a_final_reply() {
    // A handler-made 1xx cannot be a final response (RFC 9110 §15.2): a client
    // would take it as interim and wait forever for the real one.
    let server = serve(|req: Request| match req.path() {
        "/103" => Response::new(103).header("Link", "</s.css>; rel=preload"),
        "/101" => Response::new(101),
        _ => Response::text("after"),
    });
    let mut c = Client::connect(server.local_addr());
    for path in ["/103", "/101"] {
        c.send(format!("GET {path} HTTP/1.1\r\nHost: t\r\n\r\nGET /after HTTP/1.1\r\nHost: t\r\n\r\n"));
        let r = c.read_reply();
        assert!(
            r.status >= 200,
            "a handler's Response::new({}) went out as the final reply for {path}: {:?}",
            r.status,
            r.head_text()
        );
        let after = c.read_reply();
        assert_eq!(after.text(), "after");
    }
}

/// A reader that yields `good` bytes, then fails.
struct FailingReader {
    good: usize,
}

impl std::io::Read for FailingReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.good == 0 {
            return Err(std::io::Error::other("disk on fire (test)"));
        }
        let n = self.good.min(buf.len());
        buf[..n].fill(b'x');
        self.good -= n;
        Ok(n)
    }
}

#[test]
fn a_failing_response_body_closes_the_connection_visibly() {
    let server = serve(|req: Request| match req.path() {
        "/chunked" => Response::new(200).body(Body::reader(FailingReader { good: 1000 }, None)),
        "/short" => Response::new(200).body(Body::reader(Cursor::new(vec![b'y'; 1000]), Some(5000))),
        _ => Response::text("ok"),
    });
    // Unknown length: chunks, then the connection closes without the last chunk.
    let mut c = Client::connect(server.local_addr());
    c.send("GET /chunked HTTP/1.1\r\nHost: t\r\n\r\n");
    let all = c.read_to_eof();
    let text = String::from_utf8_lossy(&all);
    assert!(text.starts_with("HTTP/1.1 200 OK\r\n"), "{text}");
    assert!(text.contains("Transfer-Encoding: chunked\r\n"), "{text}");
    assert!(!all.ends_with(b"0\r\n\r\n"), "a failed body must not look complete: {text}");
    // Known length: fewer bytes than announced, then close.
    let mut c = Client::connect(server.local_addr());
    c.send("GET /short HTTP/1.1\r\nHost: t\r\n\r\n");
    let all = c.read_to_eof();
    let head_end = common::find(&all, b"\r\n\r\n").expect("a head") + 4;
    assert!(String::from_utf8_lossy(&all[..head_end]).contains("Content-Length: 5000\r\n"));
    assert!(all.len() - head_end < 5000, "a short body must end with the connection");
    // The server lives on.
    let mut c = Client::connect(server.local_addr());
    assert_eq!(c.round_trip(GET).text(), "ok");
}

/// A handler that refuses requests without `Authorization` from the head alone.
struct Guarded {
    log: Log,
}

impl porter::Handler for Guarded {
    fn before_body(&self, request: &Request) -> Option<Response> {
        if request.path() == "/explode" {
            panic!("before_body panic (expected by the test)");
        }
        request.header("authorization").is_none().then(|| Response::error(401))
    }

    fn handle(&self, request: Request) -> porter::Reply {
        self.log.record(&request);
        Response::bytes(request.body().to_vec()).into()
    }
}

#[test]
fn before_body_refusals_drain_the_body_and_keep_the_connection() {
    let log = Log::new();
    let server = serve(Guarded { log: log.clone() });
    let mut c = Client::connect(server.local_addr());
    let inner = "GET /smuggled HTTP/1.1\r\nHost: t\r\n\r\n";
    c.send(format!("POST /up HTTP/1.1\r\nHost: t\r\nContent-Length: {}\r\n\r\n{inner}", inner.len()));
    c.send(concat!(
        "POST /up HTTP/1.1\r\nHost: t\r\nAuthorization: yes\r\nContent-Length: 2\r\n\r\nok",
        "POST /explode HTTP/1.1\r\nHost: t\r\nAuthorization: yes\r\nContent-Length: 3\r\n\r\nabc",
        "POST /up HTTP/1.1\r\nHost: t\r\nAuthorization: yes\r\nContent-Length: 5\r\n\r\nafter",
    ));
    let statuses: Vec<u16> = c.read_replies(4).iter().map(|r| r.status).collect();
    assert_eq!(statuses, [401, 200, 500, 200]);
    assert_eq!(log.lines(), ["POST /up", "POST /up"]);
    assert_eq!(log.seen()[1].body, b"after");
}

#[test]
fn server_name_none_sends_no_server_header() {
    let server = porter::Server::bind("127.0.0.1:0")
        .threads(1)
        .server_name(None)
        .build(|_req: Request| Response::text("anon"))
        .expect("build")
        .spawn()
        .expect("spawn");
    let mut c = Client::connect(server.local_addr());
    let r = c.round_trip(GET);
    assert_eq!(r.header("server"), None, "{}", r.head_text());
    assert!(r.header("date").is_some());
}

#[test]
fn stopping_the_server_closes_open_connections() {
    let server = serve(|_req: Request| Response::text("up"));
    let addr = server.local_addr();
    let mut c = Client::connect(addr);
    assert_eq!(c.round_trip(GET).text(), "up");
    server.stop().expect("stop joins the workers");
    c.assert_closed("an idle connection when the server stops");
    assert!(std::net::TcpStream::connect(addr).is_err(), "nothing listens after stop");
}
