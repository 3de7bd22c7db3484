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

/// A streaming upload under way when accepting stops is read to its end and
/// answered: the shutdown stops reading between requests, not inside a body.
#[test]
fn a_streamed_upload_in_progress_when_accepting_stops_is_finished() {
    use std::io::Read;
    let (started_tx, started) = mpsc::channel::<()>();
    let started_tx = Mutex::new(started_tx);
    let handler = porter::stream_body(move |mut req: Request| -> porter::Reply {
        let (reply, responder) = req.defer();
        let mut body = req.body_reader();
        started_tx.lock().unwrap().send(()).unwrap();
        std::thread::spawn(move || {
            let mut all = Vec::new();
            responder.respond(match body.read_to_end(&mut all) {
                Ok(n) => Response::text(format!("{n} bytes")),
                Err(e) => Response::error(400).header("X-Error", e.to_string()),
            })
        });
        reply
    });
    let server = Server::bind("127.0.0.1:0").threads(1).build(handler).unwrap().spawn().unwrap();
    let addr = server.local_addr();
    let mut c = Client::connect(addr);
    c.send("POST /up HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\nhello");
    started.recv_timeout(SAFETY_TIMEOUT).unwrap();
    server.shutdown_handle().shutdown(Duration::from_secs(30));
    common::wait_until(|| TcpStream::connect(addr).is_err(), "accepting stopped");
    c.send("world");
    let reply = c.read_reply();
    assert_eq!(reply.status, 200, "{} {:?}", reply.head_text(), reply.header("X-Error"));
    assert_eq!(reply.text(), "10 bytes");
    assert!(reply.says_close());
    c.assert_closed("after the last reply of a draining connection");
}

/// A buffered upload whose request is queued behind an unanswered one when
/// accepting stops is read, handled and answered after it.
#[test]
fn a_buffered_upload_behind_a_waiting_reply_when_accepting_stops_is_answered() {
    let (responder_tx, responder) = mpsc::channel::<porter::Responder>();
    let responder_tx = Mutex::new(responder_tx);
    let handler = move |req: Request| -> porter::Reply {
        match req.path() {
            "/wait" => {
                let (reply, responder) = req.defer();
                responder_tx.lock().unwrap().send(responder).unwrap();
                reply
            }
            _ => Response::text(format!("got {}", String::from_utf8_lossy(req.body()))).into(),
        }
    };
    let server = Server::bind("127.0.0.1:0").threads(1).build(handler).unwrap().spawn().unwrap();
    let addr = server.local_addr();
    let mut c = Client::connect(addr);
    c.send("GET /wait HTTP/1.1\r\nHost: t\r\n\r\nPOST /up HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\nhello");
    let waiting = responder.recv_timeout(SAFETY_TIMEOUT).unwrap();
    server.shutdown_handle().shutdown(Duration::from_secs(30));
    common::wait_until(|| TcpStream::connect(addr).is_err(), "accepting stopped");
    c.send("world");
    waiting.respond(Response::text("waited"));
    let replies = c.read_replies(2);
    assert_eq!(replies[0].text(), "waited");
    assert!(!replies[0].says_close(), "the upload behind it is still to be answered");
    assert_eq!(replies[1].text(), "got helloworld");
    assert!(replies[1].says_close());
    c.assert_closed("after the last reply of a draining connection");
}

struct EarlyAnswer;
impl porter::Handler for EarlyAnswer {
    fn handle(&self, _request: Request) -> porter::Reply {
        Response::text("late").into()
    }
    fn before_body(&self, _request: &Request) -> Option<Response> {
        Some(Response::text("early"))
    }
}

/// During the lame-duck period every reply says `Connection: close`, an
/// early answer (from the head, before the body) too.
#[test]
fn an_early_answer_during_the_lame_duck_period_says_close() {
    let server = Server::bind("127.0.0.1:0")
        .threads(1)
        .shutdown_delay(Duration::from_secs(600))
        .build(EarlyAnswer)
        .unwrap()
        .spawn()
        .unwrap();
    let mut c = Client::connect(server.local_addr());
    server.shutdown_handle().shutdown(Duration::from_secs(30));
    // The loop saw the shutdown: a request without a body is told close.
    let mut probe = Client::connect(server.local_addr());
    assert!(probe.round_trip("GET / HTTP/1.1\r\nHost: t\r\n\r\n").says_close());
    let reply = c.round_trip("POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\nabc");
    assert_eq!(reply.text(), "early");
    assert!(reply.says_close(), "{}", reply.head_text());
    server.stop().unwrap();
}
