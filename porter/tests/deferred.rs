//! Answers from other threads: order, dropped responders, cancellation when the
//! client goes away, and graceful shutdown with a request in flight.

mod common;

use std::net::TcpStream;
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use common::{serve, serve_threads, wait_until, Client, SAFETY_TIMEOUT};
use porter::{Limits, Reply, Request, Responder, Response, Router};

/// A router whose `/slow` requests are deferred: their responders are handed to
/// the test through the returned channel; `/fast` answers at once.
fn deferring_router() -> (Router, mpsc::Receiver<(String, Responder)>) {
    let (tx, rx) = mpsc::channel();
    let tx = std::sync::Mutex::new(tx);
    let router = Router::new()
        .get("/slow/:name", move |req: Request| -> Reply {
            let (reply, responder) = req.defer();
            let name = req.param("name").unwrap_or("").to_string();
            tx.lock().expect("sender").send((name, responder)).expect("test is listening");
            reply
        })
        .get("/fast/:name", |req: Request| Response::text(format!("fast {}", req.param("name").unwrap_or(""))));
    (router, rx)
}

fn next_responder(rx: &mpsc::Receiver<(String, Responder)>) -> (String, Responder) {
    rx.recv_timeout(SAFETY_TIMEOUT).expect("the handler deferred a request")
}

#[test]
fn an_answer_from_another_thread_reaches_the_client() {
    let (router, rx) = deferring_router();
    let server = serve(router);
    let mut client = Client::connect(server.local_addr());
    client.send("GET /slow/a HTTP/1.1\r\nHost: t\r\n\r\n");
    let (name, responder) = next_responder(&rx);
    thread::spawn(move || responder.respond(Response::text(format!("later {name}"))));
    let reply = client.read_reply();
    assert_eq!((reply.status, reply.text()), (200, "later a".to_string()));
    client.assert_alive("after a deferred answer");
}

#[test]
fn pipelined_replies_keep_request_order_when_a_later_one_is_answered_first() {
    let (router, rx) = deferring_router();
    let server = serve(router);
    let mut client = Client::connect(server.local_addr());
    // The fast request's handler has run (its answer is ready) before the slow
    // one is answered: the fast reply must still wait its turn.
    client.send("GET /slow/1 HTTP/1.1\r\nHost: t\r\n\r\nGET /fast/2 HTTP/1.1\r\nHost: t\r\n\r\nGET /slow/3 HTTP/1.1\r\nHost: t\r\n\r\n");
    let (_, first) = next_responder(&rx);
    let (_, third) = next_responder(&rx);
    third.respond(Response::text("slow 3"));
    first.respond(Response::text("slow 1"));
    let texts: Vec<String> = client.read_replies(3).iter().map(|r| r.text()).collect();
    assert_eq!(texts, ["slow 1", "fast 2", "slow 3"]);
}

#[test]
fn a_dropped_responder_answers_500_and_the_connection_lives_on() {
    let (router, rx) = deferring_router();
    let server = serve(router);
    let mut client = Client::connect(server.local_addr());
    client.send("GET /slow/x HTTP/1.1\r\nHost: t\r\n\r\n");
    drop(next_responder(&rx));
    assert_eq!(client.read_reply().status, 500);
    client.assert_alive("after a dropped responder");
}

#[test]
fn a_client_that_goes_away_cancels_its_pending_request() {
    let (router, rx) = deferring_router();
    let server = serve(router);
    let mut client = Client::connect(server.local_addr());
    client.send("GET /slow/gone HTTP/1.1\r\nHost: t\r\n\r\n");
    let (_, responder) = next_responder(&rx);
    let (cancelled_tx, cancelled_rx) = mpsc::channel();
    responder.on_cancel(move || cancelled_tx.send(()).expect("test is listening"));
    assert!(!responder.is_cancelled());
    drop(client);
    cancelled_rx.recv_timeout(SAFETY_TIMEOUT).expect("the cancel callback ran");
    assert!(responder.is_cancelled());
    // A late answer is dropped quietly; the connection's record goes with it.
    responder.respond(Response::text("too late"));
    wait_until(|| server.connections() == 0, "the closed connection is freed after its last answer");
}

#[test]
fn requests_behind_a_closing_reply_are_cancelled() {
    // RFC 9112 §9.6: nothing is sent after a reply with `Connection: close`, so
    // the pipelined requests behind it will never be answered: their
    // responders must hear so, as when the client goes away.
    let (router, rx) = deferring_router();
    let server = serve(router);
    let mut client = Client::connect(server.local_addr());
    client.send("GET /slow/first HTTP/1.1\r\nHost: t\r\n\r\nGET /slow/second HTTP/1.1\r\nHost: t\r\n\r\n");
    let (_, first) = next_responder(&rx);
    let (_, second) = next_responder(&rx);
    let (cancelled_tx, cancelled_rx) = mpsc::channel();
    second.on_cancel(move || cancelled_tx.send(()).expect("test is listening"));
    first.respond(Response::text("closing").close());
    let reply = client.read_reply();
    assert_eq!((reply.status, reply.text()), (200, "closing".to_string()));
    client.assert_closed("the reply said Connection: close");
    cancelled_rx.recv_timeout(SAFETY_TIMEOUT).expect("the request behind the closing reply was cancelled");
    assert!(second.is_cancelled());
}

#[test]
fn on_cancel_registered_after_cancellation_runs_at_once() {
    let (router, rx) = deferring_router();
    let server = serve(router);
    let mut client = Client::connect(server.local_addr());
    client.send("GET /slow/late HTTP/1.1\r\nHost: t\r\n\r\n");
    let (_, responder) = next_responder(&rx);
    drop(client);
    wait_until(|| responder.is_cancelled(), "the request is cancelled");
    let (tx, rx2) = mpsc::channel();
    responder.on_cancel(move || tx.send(()).expect("listening"));
    rx2.try_recv().expect("callback ran synchronously");
}

#[test]
fn graceful_shutdown_finishes_the_request_in_flight_and_closes_idle_connections() {
    let (router, rx) = deferring_router();
    let server = serve_threads(1, Limits::default(), router);
    let addr = server.local_addr();
    let mut idle = Client::connect(addr);
    assert_eq!(idle.round_trip("GET /fast/i HTTP/1.1\r\nHost: t\r\n\r\n").status, 200);
    let mut busy = Client::connect(addr);
    busy.send("GET /slow/b HTTP/1.1\r\nHost: t\r\n\r\n");
    let (_, responder) = next_responder(&rx);

    let stopper = thread::spawn(move || server.shutdown(Duration::from_secs(30)));
    idle.assert_closed("an idle connection is closed by a graceful shutdown");
    assert!(TcpStream::connect(addr).is_err(), "no new connections once shutdown began");

    responder.respond(Response::text("finished"));
    let reply = busy.read_reply();
    assert_eq!((reply.status, reply.text()), (200, "finished".to_string()));
    assert!(reply.says_close(), "the last reply says Connection: close");
    busy.assert_closed("after the last reply of a shutdown");
    stopper.join().expect("stopper thread").expect("shutdown returns Ok");
}

#[test]
fn shutdown_grace_expiry_cancels_what_is_still_pending() {
    let (router, rx) = deferring_router();
    let server = serve(router);
    let mut client = Client::connect(server.local_addr());
    client.send("GET /slow/never HTTP/1.1\r\nHost: t\r\n\r\n");
    let (_, responder) = next_responder(&rx);
    server.shutdown(Duration::from_millis(50)).expect("shutdown returns Ok");
    assert!(responder.is_cancelled(), "grace ran out: the pending request was cancelled");
    assert!(client.read_to_eof().is_empty(), "no reply, just the close");
}
