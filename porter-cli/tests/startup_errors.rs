//! Settings porter cannot start with are one error line and exit status 1:
//! a taken port (a second `porter` on the address a first one serves, both with
//! several workers, so both would use SO_REUSEPORT: it fails with "Address
//! already in use" and the first one keeps serving), and limits the library
//! refuses (its own message, not a check of the CLI's).

mod common;

use std::io::Read;
use std::net::SocketAddr;
use std::process::{ExitStatus, Stdio};

use common::{exchange, porter_command, Porter};

/// Runs porter with `args` until it exits by itself, and returns its status and
/// stderr. A porter that starts serving instead fails the test after the safety
/// timeout (and is killed).
fn run_to_exit(args: &[&str]) -> (ExitStatus, String) {
    let child = porter_command().args(args).stderr(Stdio::piped()).spawn().expect("start porter");
    let mut porter = Porter::adopt(child, SocketAddr::from(([127, 0, 0, 1], 0)));
    let status = porter.wait_exit_within_safety();
    let mut stderr = String::new();
    porter.child.stderr.take().expect("stderr").read_to_string(&mut stderr).expect("its stderr");
    (status, stderr)
}

#[test]
fn a_second_porter_on_a_taken_port_fails_and_the_first_serves_on() {
    let first = Porter::spawn(porter_command().args(["--listen", "127.0.0.1:0", "--threads", "2", "--no-access-log"]));
    let addr = first.addr.to_string();
    let (status, stderr) = run_to_exit(&["--listen", &addr, "--threads", "2", "--no-access-log"]);
    assert_eq!(status.code(), Some(1), "the second porter must fail: {stderr}");
    assert!(stderr.contains("Address already in use"), "{stderr}");
    assert!(!stderr.contains("serving"), "{stderr}");
    for _ in 0..20 {
        let reply = exchange(first.addr, b"GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
        assert!(reply.starts_with(b"HTTP/1.1 200 OK\r\n"), "{}", String::from_utf8_lossy(&reply));
    }
}

#[test]
fn limits_the_library_refuses_are_reported() {
    for (flag, value, message) in [
        ("--header-timeout", "0", "`header_timeout` must be longer than zero"),
        ("--idle-timeout", "18446744073709551615", "`idle_timeout` must be at most 31536000 seconds (one year)"),
        ("--max-connections", "0", "`max_connections` must be at least 1"),
    ] {
        let (status, stderr) = run_to_exit(&["--listen", "127.0.0.1:0", "--no-access-log", flag, value]);
        assert_eq!(status.code(), Some(1), "{flag} {value}: {stderr}");
        assert_eq!(stderr.trim_end(), format!("porter: invalid limits: {message}"), "{flag} {value}");
    }
}
