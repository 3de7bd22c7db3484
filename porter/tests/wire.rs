//! Loopback tests with literal request bytes on a plain `TcpStream`: pipelining
//! and request bodies (Content-Length, chunked, 100-continue, bodies refused from
//! the head and drained, bodies over `max_body`).
//!
//! Every test asserts the status, whether the connection was closed afterwards
//! (the next read returns 0) or kept open (a probe request is answered), and,
//! where it matters, what the handler saw.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use common::{chunked, echo, echoed, pattern, serve, serve_with, Client, Log};
use porter::{Limits, Request, Response, Router};

// ---------------------------------------------------------------------------
// Pipelining

#[test]
fn pipelined_get_post_chunked_head_answer_in_order() {
    let log = Log::new();
    let server = serve(echo(&log));
    let mut c = Client::connect(server.local_addr());
    let batch = concat!(
        "GET /a?x=1 HTTP/1.1\r\nHost: t\r\n\r\n",
        "POST /b HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nhello",
        "POST /c HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n",
        "5;name=value\r\nhello\r\n6;quoted=\"a;b\"\r\n world\r\n0;last\r\nX-Trailer: yes\r\nX-Other: 2\r\n\r\n",
        "HEAD /d HTTP/1.1\r\nHost: t\r\n\r\n",
    );
    c.send(batch);
    let a = c.read_reply();
    let b = c.read_reply();
    let chunked_reply = c.read_reply();
    let head = c.read_head_reply();
    assert_eq!((a.status, a.body.as_slice()), (200, echoed("GET", "/a?x=1", b"").as_slice()));
    assert_eq!((b.status, b.body.as_slice()), (200, echoed("POST", "/b", b"hello").as_slice()));
    assert_eq!(
        (chunked_reply.status, chunked_reply.body.as_slice()),
        (200, echoed("POST", "/c", b"hello world").as_slice())
    );
    assert_eq!(head.status, 200);
    // HEAD: the Content-Length a GET would get, and not one byte of body (the
    // reader would otherwise see the body where the probe reply must start).
    assert_eq!(head.header("content-length"), Some(echoed("HEAD", "/d", b"").len().to_string().as_str()));
    assert!(head.raw.ends_with(b"\r\n\r\n"), "HEAD reply must end at its head: {:?}", head.head_text());
    assert_eq!(c.assert_alive("after pipelined batch").status, 200);
    assert_eq!(log.lines(), ["GET /a?x=1", "POST /b", "POST /c", "HEAD /d", "GET /alive-probe"]);
    assert_eq!(log.seen()[2].body, b"hello world", "chunked body with extensions and trailers, decoded");
}

#[test]
fn hundred_pipelined_gets_answer_in_order() {
    let log = Log::new();
    let server = serve(echo(&log));
    let mut c = Client::connect(server.local_addr());
    let batch: String = (0..100).map(|i| format!("GET /req/{i} HTTP/1.1\r\nHost: t\r\n\r\n")).collect();
    c.send(batch);
    for i in 0..100 {
        let r = c.read_reply();
        assert_eq!(r.status, 200, "reply {i}");
        assert_eq!(r.text(), format!("GET /req/{i}\n"), "reply {i} out of order");
        assert!(!r.says_close(), "reply {i} must keep the connection");
    }
    c.assert_alive("after 100 pipelined GETs");
    let want: Vec<String> = (0..100).map(|i| format!("GET /req/{i}")).collect();
    assert_eq!(log.lines()[..100], want[..]);
}

#[test]
fn pipelined_batch_sent_one_byte_per_write() {
    let log = Log::new();
    let server = serve(echo(&log));
    let mut c = Client::connect(server.local_addr());
    let batch = concat!(
        "POST /one HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\nabc",
        "POST /two HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nde\r\n1;x\r\nf\r\n0\r\n\r\n",
        "GET /three HTTP/1.1\r\nHost: t\r\n\r\n",
    );
    for b in batch.as_bytes() {
        c.send([*b]);
    }
    let replies = c.read_replies(3);
    assert_eq!(replies[0].body, echoed("POST", "/one", b"abc"));
    assert_eq!(replies[1].body, echoed("POST", "/two", b"def"));
    assert_eq!(replies[2].body, echoed("GET", "/three", b""));
    c.assert_alive("after byte-by-byte batch");
}

// ---------------------------------------------------------------------------
// Request bodies

#[test]
fn content_length_body_is_echoed() {
    let log = Log::new();
    let server = serve(echo(&log));
    let mut c = Client::connect(server.local_addr());
    let body = pattern(100_000);
    let mut req = format!("POST /up HTTP/1.1\r\nHost: t\r\nContent-Length: {}\r\n\r\n", body.len()).into_bytes();
    req.extend_from_slice(&body);
    let r = c.round_trip(&req);
    assert_eq!(r.status, 200);
    assert_eq!(r.body, echoed("POST", "/up", &body));
    c.assert_alive("after a Content-Length body");
    assert_eq!(log.seen()[0].body, body);
}

#[test]
fn five_megabyte_upload_is_read_whole() {
    let server =
        serve(|req: Request| Response::text(format!("{} {}", req.body().len(), req.body() == pattern(5 << 20))));
    let mut c = Client::connect(server.local_addr());
    let body = pattern(5 << 20);
    let mut req = format!("POST /big HTTP/1.1\r\nHost: t\r\nContent-Length: {}\r\n\r\n", body.len()).into_bytes();
    req.extend_from_slice(&body);
    assert_eq!(c.round_trip(&req).text(), format!("{} true", 5 << 20));
    let mut req = b"POST /big HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
    req.extend_from_slice(&chunked(&body, 100_000));
    assert_eq!(c.round_trip(&req).text(), format!("{} true", 5 << 20));
    c.assert_alive("after two 5 MB uploads");
}

#[test]
fn chunked_body_is_echoed() {
    let log = Log::new();
    let server = serve(echo(&log));
    let mut c = Client::connect(server.local_addr());
    let body = pattern(100_000);
    let mut req = b"POST /up HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
    req.extend_from_slice(&chunked(&body, 999));
    let r = c.round_trip(&req);
    assert_eq!(r.status, 200);
    assert_eq!(r.body, echoed("POST", "/up", &body));
    c.assert_alive("after a chunked body");
    assert_eq!(log.seen()[0].body, body);
}

#[test]
fn empty_bodies_are_fine() {
    let log = Log::new();
    let server = serve(echo(&log));
    let mut c = Client::connect(server.local_addr());
    c.send("POST /cl0 HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n");
    c.send("POST /ch0 HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n");
    let replies = c.read_replies(2);
    assert_eq!(replies[0].body, echoed("POST", "/cl0", b""));
    assert_eq!(replies[1].body, echoed("POST", "/ch0", b""));
    c.assert_alive("after empty bodies");
}

fn small_body_limits() -> Limits {
    Limits { max_body: 1000, ..Limits::default() }
}

#[test]
fn announced_body_over_max_body_is_413_and_close() {
    let log = Log::new();
    let server = serve_with(small_body_limits(), echo(&log));
    let mut c = Client::connect(server.local_addr());
    let mut req = b"POST /up HTTP/1.1\r\nHost: t\r\nContent-Length: 1001\r\n\r\n".to_vec();
    req.extend_from_slice(&pattern(1001));
    let r = c.round_trip(&req);
    assert_eq!(r.status, 413, "{}", r.head_text());
    assert!(r.says_close(), "413 must say Connection: close: {}", r.head_text());
    c.assert_closed("after 413 for an announced length");
    assert_eq!(log.count(), 0, "the handler must not see an oversized request");

    // Exactly max_body is fine.
    let mut c = Client::connect(server.local_addr());
    let mut req = b"POST /up HTTP/1.1\r\nHost: t\r\nContent-Length: 1000\r\n\r\n".to_vec();
    req.extend_from_slice(&pattern(1000));
    assert_eq!(c.round_trip(&req).status, 200);
    c.assert_alive("after a body of exactly max_body");
}

#[test]
fn chunked_body_over_max_body_is_413_and_close() {
    let log = Log::new();
    let server = serve_with(small_body_limits(), echo(&log));
    let mut c = Client::connect(server.local_addr());
    let mut req = b"POST /up HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
    req.extend_from_slice(&chunked(&pattern(1500), 300));
    let r = c.round_trip(&req);
    assert_eq!(r.status, 413, "{}", r.head_text());
    assert!(r.says_close(), "413 must say Connection: close: {}", r.head_text());
    c.assert_closed("after 413 for a chunked body");
    assert_eq!(log.count(), 0, "the handler must not see an oversized request");

    // A chunked body of exactly max_body is fine.
    let mut c = Client::connect(server.local_addr());
    let mut req = b"POST /up HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
    req.extend_from_slice(&chunked(&pattern(1000), 300));
    assert_eq!(c.round_trip(&req).status, 200);
    c.assert_alive("after a chunked body of exactly max_body");
}

#[test]
fn expect_continue_gets_100_before_the_body_is_sent() {
    let log = Log::new();
    let server = serve(echo(&log));
    let mut c = Client::connect(server.local_addr());
    c.send("POST /up HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n");
    let interim = c.read_reply();
    assert_eq!(interim.raw, b"HTTP/1.1 100 Continue\r\n\r\n", "interim reply: {:?}", interim.head_text());
    assert_eq!(log.count(), 0, "the handler runs only once the body is read");
    c.send("hello");
    let r = c.read_reply();
    assert_eq!(r.status, 200);
    assert_eq!(r.body, echoed("POST", "/up", b"hello"));
    c.assert_alive("after 100-continue");
    assert_eq!(log.seen()[0].body, b"hello");
}

#[test]
fn expect_continue_chunked_gets_100_before_the_body_is_sent() {
    let log = Log::new();
    let server = serve(echo(&log));
    let mut c = Client::connect(server.local_addr());
    c.send("POST /up HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nTransfer-Encoding: chunked\r\n\r\n");
    let interim = c.read_reply();
    assert_eq!(interim.raw, b"HTTP/1.1 100 Continue\r\n\r\n");
    c.send(chunked(b"hello", 2));
    let r = c.read_reply();
    assert_eq!(r.body, echoed("POST", "/up", b"hello"));
    c.assert_alive("after chunked 100-continue");
}

#[test]
fn expect_continue_with_the_body_already_sent_gets_no_100() {
    let log = Log::new();
    let server = serve(echo(&log));
    let mut c = Client::connect(server.local_addr());
    let r = c.round_trip("POST /up HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\nhello");
    // RFC 9110 §10.1.1 lets a server omit the 100 when the body already arrived;
    // either way the final reply must follow, in order.
    let r = if r.status == 100 { c.read_reply() } else { r };
    assert_eq!(r.status, 200);
    assert_eq!(r.body, echoed("POST", "/up", b"hello"));
    c.assert_alive("after an eager 100-continue body");
}

fn upload_router(log: &Log, smuggled: &Arc<AtomicUsize>) -> Router {
    let smuggled = smuggled.clone();
    Router::new().post("/upload", echo(log)).get("/real", echo(log)).get("/alive-probe", echo(log)).get(
        "/smuggled",
        move |_req: Request| {
            smuggled.fetch_add(1, Ordering::SeqCst);
            Response::text("smuggled!")
        },
    )
}

#[test]
fn expect_continue_to_an_unknown_route_is_404_without_100_and_close() {
    let log = Log::new();
    let smuggled = Arc::new(AtomicUsize::new(0));
    let server = serve(upload_router(&log, &smuggled));
    let mut c = Client::connect(server.local_addr());
    c.send("POST /nowhere HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n");
    let r = c.read_reply();
    assert_eq!(r.status, 404, "no 100 Continue for a refused request: {}", r.head_text());
    assert!(r.says_close(), "{}", r.head_text());
    c.assert_closed("after a 404 that refused an expected body");
    assert_eq!(log.count(), 0);
}

#[test]
fn expect_continue_with_wrong_method_is_405_without_100_and_close() {
    let log = Log::new();
    let smuggled = Arc::new(AtomicUsize::new(0));
    let server = serve(upload_router(&log, &smuggled));
    let mut c = Client::connect(server.local_addr());
    c.send("PUT /upload HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n");
    let r = c.read_reply();
    assert_eq!(r.status, 405, "{}", r.head_text());
    assert_eq!(r.header("allow"), Some("OPTIONS, POST"));
    assert!(r.says_close(), "{}", r.head_text());
    c.assert_closed("after a 405 that refused an expected body");
}

#[test]
fn refused_body_is_drained_never_parsed_as_a_request() {
    let log = Log::new();
    let smuggled = Arc::new(AtomicUsize::new(0));
    let server = serve(upload_router(&log, &smuggled));
    let mut c = Client::connect(server.local_addr());
    let inner = "GET /smuggled HTTP/1.1\r\nHost: t\r\n\r\n";
    c.send(format!("POST /nowhere HTTP/1.1\r\nHost: t\r\nContent-Length: {}\r\n\r\n{inner}", inner.len()));
    c.send("GET /real HTTP/1.1\r\nHost: t\r\n\r\n");
    let refused = c.read_reply();
    assert_eq!(refused.status, 404, "{}", refused.head_text());
    assert!(!refused.says_close(), "a drained body keeps the connection: {}", refused.head_text());
    let real = c.read_reply();
    assert_eq!((real.status, real.text()), (200, "GET /real\n".to_string()), "{}", real.head_text());
    c.assert_alive("after a drained body");
    assert_eq!(smuggled.load(Ordering::SeqCst), 0, "the body of a refused request was run as a request");
    assert_eq!(log.lines(), ["GET /real", "GET /alive-probe"]);
}

#[test]
fn refused_chunked_body_is_drained_never_parsed_as_a_request() {
    let log = Log::new();
    let smuggled = Arc::new(AtomicUsize::new(0));
    let server = serve(upload_router(&log, &smuggled));
    let mut c = Client::connect(server.local_addr());
    let inner = b"GET /smuggled HTTP/1.1\r\nHost: t\r\n\r\n";
    let mut req = b"POST /nowhere HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
    req.extend_from_slice(&chunked(inner, 7));
    req.extend_from_slice(b"GET /real HTTP/1.1\r\nHost: t\r\n\r\n");
    c.send(req);
    assert_eq!(c.read_reply().status, 404);
    let real = c.read_reply();
    assert_eq!((real.status, real.text()), (200, "GET /real\n".to_string()));
    c.assert_alive("after a drained chunked body");
    assert_eq!(smuggled.load(Ordering::SeqCst), 0, "the body of a refused request was run as a request");
}

// Regression: an early answer (`Handler::before_body`, e.g. a Router 404/405) to a
// request that ends the connection once kept reading, so requests pipelined
// behind it still ran.
#[test]
fn no_request_after_a_refused_connection_close_request_reaches_a_handler() {
    // RFC 9112 §9.6: after a request with `Connection: close` the server SHOULD NOT
    // process further requests on the connection. Here the first request is refused
    // from its head (404, body drained); the pipelined request behind it must not run.
    let log = Log::new();
    let smuggled = Arc::new(AtomicUsize::new(0));
    let after = Arc::new(AtomicUsize::new(0));
    let counter = after.clone();
    let router = upload_router(&log, &smuggled).get("/after", move |_req: Request| {
        counter.fetch_add(1, Ordering::SeqCst);
        Response::text("after")
    });
    let server = serve(router);
    for (label, first) in [
        (
            "HTTP/1.1 Connection: close",
            "POST /nowhere HTTP/1.1\r\nHost: t\r\nConnection: close\r\nContent-Length: 5\r\n\r\nhello",
        ),
        ("HTTP/1.0 without keep-alive", "POST /nowhere HTTP/1.0\r\nContent-Length: 5\r\n\r\nhello"),
    ] {
        let mut c = Client::connect(server.local_addr());
        c.send(format!("{first}GET /after HTTP/1.1\r\nHost: t\r\n\r\n"));
        let r = c.read_reply();
        assert_eq!(r.status, 404, "{label}: {}", r.head_text());
        assert!(r.says_close(), "{label}: {}", r.head_text());
        c.assert_closed(label);
    }
    assert_eq!(
        after.load(Ordering::SeqCst),
        0,
        "a request pipelined after a refused `Connection: close` request was handled (its reply was discarded)"
    );
}
