//! A graceful shutdown loses no request: the connections in the window a
//! rolling restart used to lose are put there deterministically and answered.
//!
//! - A connection the kernel accepted while the loop was busy (it sits in the
//!   listen backlog) and whose request arrives after the shutdown began is
//!   served, not reset with the listener.
//! - During the lame-duck period (`shutdown_delay`) porter still accepts, a
//!   health check sees `Request::is_draining`, and an idle keep-alive
//!   connection's next request is answered with `Connection: close`.
//! - Without a delay, an idle keep-alive connection is closed in stages (RFC
//!   9112 §9.6): a request crossing porter's FIN meets an orderly close, not a reset.
//! - A new connection that sends nothing is kept for its request no longer
//!   than the header timeout.

mod common;

use std::net::TcpStream;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{Client, SAFETY_TIMEOUT};
use porter::{Request, Response, Server, ServerHandle};

/// A one-thread server whose `/block` requests hold the loop until the test
/// says so (each sends `()` on `entered`, then waits on the released channel);
/// `/health` answers 503 while draining; anything else answers `served`.
fn blocking_server(delay: Duration) -> (ServerHandle, mpsc::Receiver<()>, mpsc::Sender<()>) {
    let (entered_tx, entered) = mpsc::channel();
    let (release, released) = mpsc::channel::<()>();
    let released = Mutex::new(released);
    let entered_tx = Mutex::new(entered_tx);
    let handler = move |req: Request| match req.path() {
        "/block" => {
            entered_tx.lock().unwrap().send(()).unwrap();
            released.lock().unwrap().recv_timeout(SAFETY_TIMEOUT).expect("the test releases the loop");
            Response::text("unblocked")
        }
        "/health" if req.is_draining() => Response::new(503),
        _ => Response::text("served"),
    };
    let server = Server::bind("127.0.0.1:0")
        .threads(1)
        .shutdown_delay(delay)
        .build(handler)
        .expect("server builds")
        .spawn()
        .expect("server spawns");
    (server, entered, release)
}

#[test]
fn a_connection_still_in_the_backlog_when_shutdown_begins_is_answered() {
    let (server, entered, release) = blocking_server(Duration::ZERO);
    let addr = server.local_addr();
    let mut busy = Client::connect(addr);
    busy.send("GET /block HTTP/1.1\r\nHost: t\r\n\r\n");
    entered.recv_timeout(SAFETY_TIMEOUT).expect("the loop is in the handler");

    // The loop is blocked: the kernel completes this connection into the
    // backlog, porter has not accepted it.
    let mut queued = Client::connect(addr);
    let handle = server.shutdown_handle();
    handle.shutdown(Duration::from_secs(30));
    // The balancer sends its request now, after the shutdown began.
    queued.send("GET /late HTTP/1.1\r\nHost: t\r\n\r\n");
    release.send(()).expect("the handler waits");

    let reply = busy.read_reply();
    assert_eq!((reply.status, reply.text().as_str()), (200, "unblocked"));
    busy.assert_closed("the busy connection, idle after its reply, is closed");
    let reply = queued.read_reply();
    assert_eq!((reply.status, reply.text().as_str()), (200, "served"), "the queued connection is served");
    assert!(reply.says_close());
    queued.assert_closed("after the last reply of a shutdown");
    assert!(TcpStream::connect(addr).is_err(), "then the listener is closed");
    server.shutdown(Duration::from_secs(30)).expect("the server ends");
}

#[test]
fn the_lame_duck_period_accepts_fails_health_checks_and_answers_idle_connections() {
    let (server, _entered, _release) = blocking_server(Duration::from_secs(600));
    let addr = server.local_addr();
    let mut idle = Client::connect(addr);
    let reply = idle.round_trip("GET /health HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_eq!(reply.status, 200, "healthy before the shutdown");
    assert!(!reply.says_close());

    server.shutdown_handle().shutdown(Duration::from_secs(30));
    // The idle keep-alive connection's next request, sent right after the
    // shutdown began: answered, and the last on that connection.
    let reply = idle.round_trip("GET /page HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_eq!((reply.status, reply.text().as_str()), (200, "served"));
    assert!(reply.says_close(), "{}", reply.head_text());
    idle.assert_closed("after a Connection: close reply");
    // New connections are still accepted; the health check says draining.
    let mut checker = Client::connect(addr);
    let reply = checker.round_trip("GET /health HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_eq!(reply.status, 503, "the health check fails during the lame-duck period");
    assert!(reply.says_close());
    server.stop().expect("the server stops");
}

#[test]
fn an_idle_connection_is_closed_in_stages_so_a_crossing_request_meets_no_reset() {
    let (server, _entered, _release) = blocking_server(Duration::ZERO);
    let mut idle = Client::connect(server.local_addr());
    assert_eq!(idle.round_trip("GET /first HTTP/1.1\r\nHost: t\r\n\r\n").status, 200);
    let ends = Arc::new(Mutex::new(None));
    let stopper = {
        let ends = ends.clone();
        std::thread::spawn(move || *ends.lock().unwrap() = Some(server.shutdown(Duration::from_secs(30))))
    };
    // porter's FIN arrives; a request already on its way (sent before the
    // client saw the FIN) is read and dropped by the lingering server.
    idle.assert_closed("the idle connection is half-closed by porter");
    idle.send("GET /crossing HTTP/1.1\r\nHost: t\r\n\r\n");
    idle.shutdown_write();
    let mut rest = [0u8; 64];
    let end = std::io::Read::read(&mut idle.stream, &mut rest);
    assert!(matches!(end, Ok(0)), "an orderly end, not a reset: {end:?}");
    stopper.join().expect("stopper thread");
    assert!(ends.lock().unwrap().take().expect("shutdown returned").is_ok());
}

#[test]
fn a_new_connection_that_sends_nothing_holds_the_drain_no_longer_than_the_header_timeout() {
    let limits = porter::Limits { header_timeout: Duration::from_millis(200), ..porter::Limits::default() };
    let server = common::serve_with(limits, |_req: Request| Response::text("served"));
    let mut silent = Client::connect(server.local_addr());
    common::wait_until(|| server.connections() == 1, "porter accepts the connection");
    // The idle timeout (60 s) and the grace (10 min) are far beyond the safety net.
    let stopper = std::thread::spawn(move || server.shutdown(Duration::from_secs(600)));
    assert!(silent.read_to_eof().is_empty(), "closed without a word once the header timeout ran out");
    stopper.join().expect("stopper thread").expect("the server ends");
}
