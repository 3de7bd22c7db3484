//! The user-code boundary: a panic in the application's code — a handler, a
//! body reader before or after its reply's head went out, a cancellation
//! callback, a reader's drop — is caught. The client gets a 500 while nothing of
//! its reply was sent, else its connection is cut; the panic is logged once with
//! the request; and the one worker of the server lives on to serve the next
//! request (a panic that escaped would end its thread, and the next connection
//! would be refused).

mod common;

use std::io::{Cursor, Read};
use std::net::SocketAddr;
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::Mutex;

use common::{serve, wait_until, Client, SAFETY_TIMEOUT};
use porter::{Body, Reply, Request, Responder, Response, ServerHandle};

/// Yields `good` bytes, then panics.
struct PanicsAfter {
    good: usize,
}

impl Read for PanicsAfter {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.good == 0 {
            panic!("body reader panic (expected by the test)");
        }
        let n = self.good.min(buf.len());
        buf[..n].fill(b'x');
        self.good -= n;
        Ok(n)
    }
}

/// Reads its bytes, then panics when dropped.
struct PanicsOnDrop(Cursor<&'static [u8]>);

impl Read for PanicsOnDrop {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.0.read(buf)
    }
}

impl Drop for PanicsOnDrop {
    fn drop(&mut self) {
        panic!("reader drop panic (expected by the test)");
    }
}

/// A one-thread server whose paths misbehave. `/cancel` defers, registers a
/// callback that reports on `cancelled` and then panics, and hands its
/// responder to `responders` (so the request stays pending).
fn server(responders: Sender<Responder>, cancelled: Sender<()>) -> ServerHandle {
    let (responders, cancelled) = (Mutex::new(responders), Mutex::new(cancelled));
    serve(move |req: Request| -> Reply {
        match req.path() {
            "/handler" => panic!("handler panic (expected by the test)"),
            "/handler-keeps" => {
                std::mem::forget(req); // not dropped as the panic unwinds
                panic!("handler panic (expected by the test)")
            }
            "/reader-first" => Response::new(200).body(Body::reader(PanicsAfter { good: 0 }, None)).into(),
            "/reader-late" => Response::new(200).body(Body::reader(PanicsAfter { good: 1 << 20 }, None)).into(),
            "/drop" => Response::new(200).body(Body::reader(PanicsOnDrop(Cursor::new(b"hello")), Some(5))).into(),
            "/cancel" => {
                let (reply, responder) = req.defer();
                let cancelled = cancelled.lock().unwrap().clone();
                responder.on_cancel(move || {
                    cancelled.send(()).unwrap();
                    panic!("on_cancel panic (expected by the test)");
                });
                responders.lock().unwrap().send(responder).unwrap();
                reply
            }
            _ => Response::text("alive").into(),
        }
    })
}

struct Fixture {
    server: ServerHandle,
    responders: Receiver<Responder>,
    cancelled: Receiver<()>,
}

fn fixture() -> Fixture {
    common::logs::captured(); // before the server runs, so no record is missed
    let (responders_tx, responders) = channel();
    let (cancelled_tx, cancelled) = channel();
    Fixture { server: server(responders_tx, cancelled_tx), responders, cancelled }
}

const GET_ALIVE: &str = "GET /alive HTTP/1.1\r\nHost: t\r\n\r\n";

/// The one worker still serves: a new connection gets its answer.
fn assert_worker_lives(addr: SocketAddr) {
    let mut c = Client::connect(addr);
    assert_eq!(c.round_trip(GET_ALIVE).text(), "alive", "the worker must live on");
}

/// Exactly one log record mentions `needle` (the request) and a panic of
/// `what`, counted once the record is there and the server's one worker
/// has served a request after it (so a second record it would have logged
/// while handling the panic is there too), which shows it lives on.
fn assert_logged_once(needle: &str, what: &str, server: SocketAddr) {
    let count = || {
        let records = common::logs::captured().lock().unwrap();
        records.iter().filter(|r| r.contains(needle) && r.contains("panicked") && r.contains(what)).count()
    };
    wait_until(|| count() > 0, &format!("the panic of {what} on {needle} is logged"));
    assert_worker_lives(server);
    let records = common::logs::captured().lock().unwrap().clone();
    assert_eq!(count(), 1, "logged once: {records:#?}");
}

fn peer_of(c: &Client) -> String {
    c.stream.local_addr().unwrap().to_string()
}

#[test]
fn a_panicking_handler_gets_500_and_the_connection_lives() {
    let f = fixture();
    let mut c = Client::connect(f.server.local_addr());
    assert_eq!(c.round_trip("GET /handler HTTP/1.1\r\nHost: t\r\n\r\n").status, 500);
    assert_eq!(c.round_trip(GET_ALIVE).text(), "alive");
    assert_logged_once(
        &format!("\"GET /handler\", request 1 of its connection from {}", peer_of(&c)),
        "handler",
        f.server.local_addr(),
    );
}

#[test]
fn a_reader_panicking_before_the_head_went_out_gets_500() {
    let f = fixture();
    let mut c = Client::connect(f.server.local_addr());
    let r = c.round_trip("GET /reader-first HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_eq!(r.status, 500, "{}", r.head_text());
    // Nothing of the 200 was sent: the connection carries on.
    assert_eq!(c.round_trip(GET_ALIVE).text(), "alive");
    assert_logged_once(
        &format!("request 1 of its connection from {}", peer_of(&c)),
        "body reader",
        f.server.local_addr(),
    );
}

#[test]
fn a_reader_panicking_after_the_head_went_out_cuts_its_connection() {
    let f = fixture();
    let mut c = Client::connect(f.server.local_addr());
    let peer = peer_of(&c);
    c.send("GET /reader-late HTTP/1.1\r\nHost: t\r\n\r\n");
    let all = c.read_to_eof();
    let text = String::from_utf8_lossy(&all[..all.len().min(200)]).into_owned();
    assert!(text.starts_with("HTTP/1.1 200 OK\r\n"), "{text}");
    assert!(text.contains("Transfer-Encoding: chunked\r\n"), "{text}");
    assert!(!all.ends_with(b"0\r\n\r\n"), "a cut body must not look complete");
    assert_logged_once(&format!("request 1 of its connection from {peer}"), "body reader", f.server.local_addr());
}

#[test]
fn a_reader_panicking_in_its_drop_leaves_the_connection_alive() {
    let f = fixture();
    let mut c = Client::connect(f.server.local_addr());
    assert_eq!(c.round_trip("GET /drop HTTP/1.1\r\nHost: t\r\n\r\n").text(), "hello");
    assert_eq!(c.round_trip(GET_ALIVE).text(), "alive");
    // HEAD: the body is dropped unread.
    c.send("HEAD /drop HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_eq!(c.read_head_reply().status, 200);
    assert_eq!(c.round_trip(GET_ALIVE).text(), "alive");
    assert_worker_lives(f.server.local_addr());
}

#[test]
fn a_panicking_cancel_callback_leaves_the_worker_alive() {
    let f = fixture();
    let mut c = Client::connect(f.server.local_addr());
    let peer = peer_of(&c);
    c.send("GET /cancel HTTP/1.1\r\nHost: t\r\n\r\n");
    let responder = f.responders.recv_timeout(SAFETY_TIMEOUT).expect("the request is pending");
    drop(c); // the client goes away: the request is cancelled on the loop thread
    f.cancelled.recv_timeout(SAFETY_TIMEOUT).expect("the cancel callback ran");
    assert_logged_once(
        &format!("\"GET /cancel\", request 1 of its connection from {peer}"),
        "cancellation callback",
        f.server.local_addr(),
    );
    assert!(responder.is_cancelled());
}

#[test]
fn a_handler_panicking_with_a_request_it_did_not_drop_is_named_by_number() {
    let f = fixture();
    let mut c = Client::connect(f.server.local_addr());
    assert_eq!(c.round_trip("GET /handler-keeps HTTP/1.1\r\nHost: t\r\n\r\n").status, 500);
    let needle = format!("panicked on request 1 of its connection from {}", peer_of(&c));
    assert_logged_once(&needle, "handler", f.server.local_addr());
}
