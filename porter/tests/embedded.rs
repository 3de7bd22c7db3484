//! The embedded mode: porter driven by the caller's own `poll(2)` loop through
//! its pollable fd and `run_once`, including answers from other threads (which
//! must wake the fd) and a graceful stop.

mod common;

use std::thread;
use std::time::Duration;

use common::{Client, TempDir};
use porter::{AccessLog, Reply, Request, Response, Router, Server};
use rustix::event::{poll, PollFd, PollFlags, Timespec};

#[test]
fn a_callers_poll_loop_drives_the_server() {
    let router = Router::new().get("/now", |_req| Response::text("now")).get("/later", |req: Request| -> Reply {
        let (reply, responder) = req.defer();
        thread::spawn(move || responder.respond(Response::text("later")));
        reply
    });
    let mut server =
        Server::bind("127.0.0.1:0").threads(1).build(router).expect("build").into_embedded().expect("embed");
    let addr = server.local_addrs()[0];
    let stop = server.shutdown_handle();
    let client = thread::spawn(move || {
        let mut c = Client::connect(addr);
        let texts = [
            c.round_trip("GET /now HTTP/1.1\r\nHost: t\r\n\r\n").text(),
            c.round_trip("GET /later HTTP/1.1\r\nHost: t\r\n\r\n").text(),
        ];
        stop.shutdown(Duration::from_secs(5));
        texts
    });
    // The caller's loop: poll the fd (no longer than porter's next timer), then run_once.
    let mut turns = 0;
    loop {
        let timeout = server.next_timeout().unwrap_or(Duration::from_secs(1)).min(Duration::from_secs(1));
        let spec = Timespec { tv_sec: timeout.as_secs() as i64, tv_nsec: i64::from(timeout.subsec_nanos()) };
        let fd = server.poll_fd();
        let mut fds = [PollFd::new(&fd, PollFlags::IN)];
        poll(&mut fds, Some(&spec)).expect("poll");
        turns += 1;
        assert!(turns < 10_000, "the embedded server never finished");
        if !server.run_once(Duration::ZERO).expect("run_once") {
            break;
        }
    }
    assert_eq!(client.join().expect("client"), ["now".to_string(), "later".to_string()]);
}

#[test]
fn embedding_needs_a_single_worker() {
    let server = Server::bind("127.0.0.1:0").threads(2).build(|_req: Request| Response::text("x")).expect("build");
    assert!(server.into_embedded().is_err());
}

/// An embedded server dropped without a shutdown (its caller's loop ended,
/// or `run_once` failed) still closes its connections as a shutdown's end
/// does: a deferred request is cancelled and logged 444 (porter closed it).
/// Nothing was cancelled or logged before.
#[test]
fn dropping_an_embedded_server_cancels_and_logs_what_is_pending() {
    let dir = TempDir::new("embedded-drop");
    let path = dir.path().join("access.log");
    let (parked, parked_rx) = std::sync::mpsc::channel();
    let router = Router::new().get("/wait", move |req: Request| -> Reply {
        let (reply, responder) = req.defer();
        parked.send(responder).expect("the test holds the responder");
        reply
    });
    let server = Server::bind("127.0.0.1:0").threads(1).access_log(AccessLog::file(&path)).build(router);
    let mut server = server.expect("build").into_embedded().expect("embed");
    let mut c = Client::connect(server.local_addrs()[0]);
    c.send("GET /wait HTTP/1.1\r\nHost: t\r\n\r\n");
    let responder = loop {
        assert!(server.run_once(Duration::from_secs(5)).expect("run_once"), "the server stopped");
        if let Ok(responder) = parked_rx.try_recv() {
            break responder;
        }
    };
    assert!(!responder.is_cancelled());
    drop(server);
    assert!(responder.is_cancelled(), "the deferred request was cancelled");
    let log = std::fs::read_to_string(&path).expect("the access log");
    let lines: Vec<&str> = log.lines().collect();
    assert_eq!(lines.len(), 1, "{log}");
    assert!(lines[0].contains("\"GET /wait HTTP/1.1\" 444 - "), "{log}");
}
