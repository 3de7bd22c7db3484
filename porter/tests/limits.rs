//! Limits are checked once, when the server is built: a zero that can never
//! work (`max_pipelined = 0` would never read a request) or a timeout too long
//! for a deadline (`Duration::MAX` used to panic the worker at its first reply)
//! is an `InvalidInput` error naming the field, and a shutdown grace of any
//! length is safe.

mod common;

use std::io::ErrorKind;
use std::time::Duration;

use common::{serve, Client};
use porter::{Limits, LimitsError, Request, Response, Server};

fn build_error(limits: Limits) -> std::io::Error {
    let built = Server::bind("127.0.0.1:0").threads(1).limits(limits).build(|_req: Request| Response::text("x"));
    built.err().expect("the limits are refused")
}

#[test]
fn build_refuses_limits_that_cannot_work() {
    let cases = [
        (Limits { max_pipelined: 0, ..Limits::default() }, vec!["max_pipelined"]),
        (Limits { idle_timeout: Duration::MAX, ..Limits::default() }, vec!["idle_timeout"]),
        (
            Limits { max_connections: 0, header_timeout: Duration::ZERO, ..Limits::default() },
            vec!["max_connections", "header_timeout"],
        ),
    ];
    for (limits, fields) in cases {
        let e = build_error(limits);
        assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
        let inner = e.get_ref().and_then(|e| e.downcast_ref::<LimitsError>()).expect("a LimitsError inside");
        assert_eq!(inner.fields().collect::<Vec<_>>(), fields);
        for field in fields {
            assert!(e.to_string().contains(field), "{e}");
        }
    }
}

#[test]
fn the_longest_timeouts_serve() {
    let long = Limits {
        header_timeout: Limits::MAX_TIMEOUT,
        body_timeout: Limits::MAX_TIMEOUT,
        idle_timeout: Limits::MAX_TIMEOUT,
        write_timeout: Limits::MAX_TIMEOUT,
        ..Limits::default()
    };
    let server = common::serve_with(long, |_req: Request| Response::text("ok"));
    let mut c = Client::connect(server.local_addr());
    assert_eq!(c.round_trip("GET / HTTP/1.1\r\nHost: t\r\n\r\n").text(), "ok");
    assert_eq!(c.round_trip("GET / HTTP/1.1\r\nHost: t\r\n\r\n").text(), "ok");
}

#[test]
fn a_shutdown_grace_of_any_length_is_safe() {
    let server = serve(|_req: Request| Response::text("ok"));
    let mut c = Client::connect(server.local_addr());
    assert_eq!(c.round_trip("GET / HTTP/1.1\r\nHost: t\r\n\r\n").text(), "ok");
    drop(c);
    server.shutdown(Duration::MAX).expect("a graceful shutdown");
}

/// The largest `max_headers` validation lets through serves: header slots are
/// bounded by the head's size, not allocated `max_headers` at a time (which
/// panicked the worker on every request at `usize::MAX`).
#[test]
fn max_headers_at_its_validated_largest_serves_and_still_counts() {
    for max_headers in [usize::MAX, usize::MAX / 64, 1 << 30] {
        let limits = Limits { max_headers, ..Limits::default() };
        assert!(limits.validate().is_ok());
        let server = common::serve_with(limits, |req: Request| Response::text(format!("{}", req.headers().count())));
        let mut c = Client::connect(server.local_addr());
        let reply = c.round_trip("GET / HTTP/1.1\r\nHost: t\r\nA: 1\r\nB: 2\r\n\r\n");
        assert_eq!(reply.text(), "3", "max_headers = {max_headers}");
    }
    // A small one is still enforced (RFC 6585 §5: 431).
    let server =
        common::serve_with(Limits { max_headers: 2, ..Limits::default() }, |_req: Request| Response::text("x"));
    let reply = Client::connect(server.local_addr()).round_trip("GET / HTTP/1.1\r\nHost: t\r\nA: 1\r\nB: 2\r\n\r\n");
    assert_eq!(reply.status, 431);
}
