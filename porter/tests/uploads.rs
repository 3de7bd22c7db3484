//! Streamed request bodies (body-reader mode): large uploads through bounded
//! memory, backpressure on a handler that does not read, `100 Continue` only
//! when the handler reads, and the buffered reader for ordinary handlers.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::thread;
use std::time::Duration;

use common::{serve_with, Client, SAFETY_TIMEOUT};
use porter::{stream_body, BodyReader, Limits, Reply, Request, Response, Router, ServerHandle};

/// [`upload_server_with`] taking bodies of any size (`max_body` applies to
/// streamed bodies too).
fn upload_server() -> (ServerHandle, mpsc::Receiver<(BodyReader, porter::Responder)>) {
    upload_server_with(Limits { max_body: u64::MAX, ..Limits::default() })
}

/// `/count` streams the body on a new thread and answers `N bytes, sum S`;
/// `/count-any` too, for bodies of any size whatever `max_body` says.
/// `/hold` hands the reader to the test before reading (see `held`).
fn upload_server_with(limits: Limits) -> (ServerHandle, mpsc::Receiver<(BodyReader, porter::Responder)>) {
    let (held_tx, held_rx) = mpsc::channel();
    let held_tx = Mutex::new(held_tx);
    let router = Router::new()
        .post("/count", stream_body(count_later))
        .post("/count-any", stream_body(count_later).max_body(u64::MAX))
        .post(
            "/hold",
            stream_body(move |mut req: Request| -> Reply {
                let (reply, responder) = req.defer();
                held_tx.lock().expect("lock").send((req.body_reader(), responder)).expect("test listens");
                reply
            }),
        )
        .post(
            "/refuse",
            stream_body(|req: Request| {
                drop(req); // the reader goes unread
                Response::error(413)
            }),
        )
        .post("/buffered", |mut req: Request| count(&mut req.body_reader()));
    (serve_with(limits, router), held_rx)
}

/// Counts the streamed body on another thread.
fn count_later(mut req: Request) -> Reply {
    let (reply, responder) = req.defer();
    let mut body = req.body_reader();
    thread::spawn(move || responder.respond(count(&mut body)));
    reply
}

/// `N bytes, sum S` for the body; a reader error is a 400, or a 413 when the
/// body is over the limit.
fn count(body: &mut impl Read) -> Response {
    let mut buf = vec![0u8; 64 * 1024];
    let (mut n, mut sum) = (0u64, 0u64);
    loop {
        match body.read(&mut buf) {
            Ok(0) => return Response::text(format!("{n} bytes, sum {sum}")),
            Ok(k) => {
                n += k as u64;
                sum = buf[..k].iter().fold(sum, |s, &b| s.wrapping_add(u64::from(b)));
            }
            Err(e) if e.kind() == std::io::ErrorKind::FileTooLarge => {
                return Response::error(413).header("X-Error", e.to_string())
            }
            Err(e) => return Response::error(400).header("X-Error", e.to_string()),
        }
    }
}

fn expected(len: u64) -> String {
    let sum = (0..len).fold(0u64, |s, i| s.wrapping_add(i % 251));
    format!("{len} bytes, sum {sum}")
}

/// Writes a `len`-byte body (byte i = i % 251) after `head`, counting progress.
fn send_body(mut stream: TcpStream, len: u64, written: Arc<AtomicU64>) -> thread::JoinHandle<TcpStream> {
    thread::spawn(move || {
        let mut piece = vec![0u8; 64 * 1024];
        let mut at = 0u64;
        while at < len {
            let k = (len - at).min(piece.len() as u64) as usize;
            for (i, b) in piece[..k].iter_mut().enumerate() {
                *b = ((at + i as u64) % 251) as u8;
            }
            stream.write_all(&piece[..k]).expect("upload write");
            at += k as u64;
            written.store(at, Ordering::SeqCst);
        }
        stream
    })
}

#[test]
fn a_large_upload_streams_through_to_the_handler() {
    let (server, _held) = upload_server();
    let len = 48u64 << 20;
    let mut client = Client::connect(server.local_addr());
    client.send(format!("POST /count HTTP/1.1\r\nHost: t\r\nContent-Length: {len}\r\n\r\n"));
    let stream = client.stream.try_clone().expect("clone");
    let writer = send_body(stream, len, Arc::default());
    let reply = client.read_reply();
    writer.join().expect("writer");
    assert_eq!((reply.status, reply.text()), (200, expected(len)));
    client.assert_alive("after a streamed upload");
}

#[test]
fn a_chunked_upload_streams_too() {
    let (server, _held) = upload_server();
    let data: Vec<u8> = (0..300_000u64).map(|i| (i % 251) as u8).collect();
    let mut client = Client::connect(server.local_addr());
    let mut request = b"POST /count HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
    request.extend_from_slice(&common::chunked(&data, 7000));
    let reply = client.round_trip(request);
    assert_eq!(reply.text(), expected(300_000));
}

/// The most the kernel may buffer for one loopback connection: the receiver's
/// and the sender's socket buffer maxima (porter's own bound is proved exactly
/// by the scripted-transport unit test).
fn kernel_buffering() -> u64 {
    let max_of = |path: &str| -> u64 {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        text.split_whitespace().last().and_then(|v| v.parse().ok()).unwrap_or(8 << 20)
    };
    max_of("/proc/sys/net/ipv4/tcp_rmem") + max_of("/proc/sys/net/ipv4/tcp_wmem")
}

#[test]
fn a_handler_that_does_not_read_holds_the_client_back() {
    let (server, held) = upload_server();
    let bound = kernel_buffering() + (4 << 20);
    let len = bound + (16 << 20);
    let mut client = Client::connect(server.local_addr());
    client.send(format!("POST /hold HTTP/1.1\r\nHost: t\r\nContent-Length: {len}\r\n\r\n"));
    let written = Arc::new(AtomicU64::new(0));
    let writer = send_body(client.stream.try_clone().expect("clone"), len, written.clone());
    let (mut body, responder) = held.recv_timeout(SAFETY_TIMEOUT).expect("the handler ran at head time");
    // Handler behaviour: do not read for a while. Only porter's bounded pipe, its
    // read buffer and the kernel's socket buffers may fill meanwhile.
    thread::sleep(Duration::from_millis(500));
    let sent = written.load(Ordering::SeqCst);
    assert!(sent < bound, "{sent} bytes accepted while the handler read none (bound {bound})");
    responder.respond(count(&mut body));
    writer.join().expect("writer");
    assert_eq!(client.read_reply().text(), expected(len));
}

/// Item 13 of the hardening issue: `max_body` did not apply to `stream_body`
/// handlers. A declared length over it is refused with `413` before the
/// handler runs (`/hold` would hand its reader to the test); exactly
/// `max_body` streams through.
#[test]
fn max_body_refuses_a_declared_streamed_body_before_the_handler_runs() {
    let (server, held) = upload_server_with(Limits { max_body: 1000, ..Limits::default() });
    let mut client = Client::connect(server.local_addr());
    client.send("POST /hold HTTP/1.1\r\nHost: t\r\nContent-Length: 1001\r\n\r\n");
    let reply = client.read_reply();
    assert_eq!(reply.status, 413, "{}", reply.head_text());
    assert_eq!(reply.text(), "413 Content Too Large: request body larger than the server accepts\n");
    assert!(reply.says_close(), "{}", reply.head_text());
    client.assert_closed("after refusing a body over max_body");
    assert!(held.try_recv().is_err(), "the handler ran");

    let mut client = Client::connect(server.local_addr());
    let body: Vec<u8> = (0..1000u64).map(|i| (i % 251) as u8).collect();
    let mut request = b"POST /count HTTP/1.1\r\nHost: t\r\nContent-Length: 1000\r\n\r\n".to_vec();
    request.extend_from_slice(&body);
    assert_eq!(client.round_trip(request).text(), expected(1000));
    client.assert_alive("after a body of exactly max_body");
}

/// A chunked streamed body has no length to check first: once it grows past
/// `max_body` the handler's reader fails (no byte past the limit reaches it)
/// and the connection is cut after the handler's answer.
#[test]
fn max_body_cuts_a_chunked_streamed_body_that_grows_past_it() {
    let (server, _held) = upload_server_with(Limits { max_body: 1000, ..Limits::default() });
    let data: Vec<u8> = (0..1500u64).map(|i| (i % 251) as u8).collect();
    let mut client = Client::connect(server.local_addr());
    let mut request = b"POST /count HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
    request.extend_from_slice(&common::chunked(&data, 100));
    let reply = client.round_trip(request);
    assert_eq!(reply.status, 413, "the handler's answer to its reader's FileTooLarge: {}", reply.head_text());
    assert_eq!(reply.header("x-error"), Some("request body larger than the server accepts"));
    assert!(reply.says_close(), "{}", reply.head_text());
    client.assert_closed("after a chunked body past max_body");

    // Exactly max_body in chunks streams through.
    let mut client = Client::connect(server.local_addr());
    let mut request = b"POST /count HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
    request.extend_from_slice(&common::chunked(&data[..1000], 100));
    assert_eq!(client.round_trip(request).text(), expected(1000));
    client.assert_alive("after a chunked body of exactly max_body");
}

/// Review: raising `max_body` for one large streamed upload raised what every
/// buffered route holds in memory. `stream_body(..).max_body(n)` sets the
/// streaming handler's own limit; buffered routes keep the server's.
#[test]
fn a_stream_body_limit_lets_one_route_take_more_than_max_body() {
    let (server, _held) = upload_server_with(Limits { max_body: 1000, ..Limits::default() });
    let mut client = Client::connect(server.local_addr());
    let reply = client.round_trip("POST /buffered HTTP/1.1\r\nHost: t\r\nContent-Length: 1001\r\n\r\n");
    assert_eq!(reply.status, 413, "a buffered route keeps max_body: {}", reply.head_text());
    client.assert_closed("after refusing a body over max_body");

    let data: Vec<u8> = (0..10_000u64).map(|i| (i % 251) as u8).collect();
    let mut client = Client::connect(server.local_addr());
    let mut request = b"POST /count-any HTTP/1.1\r\nHost: t\r\nContent-Length: 10000\r\n\r\n".to_vec();
    request.extend_from_slice(&data);
    assert_eq!(client.round_trip(request).text(), expected(10_000));
    let mut request = b"POST /count-any HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
    request.extend_from_slice(&common::chunked(&data, 1000));
    assert_eq!(client.round_trip(request).text(), expected(10_000));
    client.assert_alive("after streamed bodies past max_body");
}

#[test]
fn continue_is_sent_when_the_handler_reads() {
    let (server, _held) = upload_server();
    let mut client = Client::connect(server.local_addr());
    client.send("POST /count HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n");
    let interim = client.read_reply();
    assert_eq!(interim.status, 100);
    client.send("hello");
    let reply = client.read_reply();
    assert_eq!((reply.status, reply.text()), (200, "5 bytes, sum 532".to_string()));
}

#[test]
fn no_continue_when_the_handler_answers_without_reading() {
    let (server, _held) = upload_server();
    let mut client = Client::connect(server.local_addr());
    client.send("POST /refuse HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n");
    let reply = client.read_reply();
    assert_eq!(reply.status, 413, "the final status comes first, with no 100 before it");
    assert!(reply.says_close(), "the body was never asked for: close");
    client.assert_closed("after refusing an expected body");
}

#[test]
fn an_unread_body_without_expect_is_drained_and_the_connection_lives_on() {
    let (server, _held) = upload_server();
    let mut client = Client::connect(server.local_addr());
    client.send("POST /refuse HTTP/1.1\r\nHost: t\r\nContent-Length: 26\r\n\r\nGET /smuggled HTTP/1.1\r\n\r\n");
    assert_eq!(client.read_reply().status, 413);
    client.assert_alive("after a drained streamed body");
}

#[test]
fn a_streamed_upload_with_connection_close_is_read_whole_before_closing() {
    let (server, _held) = upload_server();
    let mut client = Client::connect(server.local_addr());
    let reply =
        client.round_trip("POST /count HTTP/1.1\r\nHost: t\r\nConnection: close\r\nContent-Length: 3\r\n\r\nabc");
    assert_eq!(reply.text(), "3 bytes, sum 294");
    client.assert_closed("after Connection: close");
}

#[test]
fn ordinary_handlers_read_the_buffered_body_through_the_same_reader() {
    let (server, _held) = upload_server();
    let mut client = Client::connect(server.local_addr());
    let reply = client.round_trip("POST /buffered HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\nabc");
    assert_eq!(reply.text(), "3 bytes, sum 294");
}

#[test]
fn the_reader_fails_when_the_client_goes_away_mid_body() {
    let (server, held) = upload_server();
    let mut client = Client::connect(server.local_addr());
    client.send("POST /hold HTTP/1.1\r\nHost: t\r\nContent-Length: 1000000\r\n\r\npartial");
    let (mut body, responder) = held.recv_timeout(SAFETY_TIMEOUT).expect("the handler ran");
    drop(client);
    let mut all = Vec::new();
    let err = body.read_to_end(&mut all).expect_err("an incomplete body is an error, never a short success");
    assert_eq!(err.kind(), std::io::ErrorKind::ConnectionAborted);
    assert!(responder.is_cancelled() || all.len() <= 7);
}
