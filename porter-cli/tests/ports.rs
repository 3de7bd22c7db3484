//! A taken port: a second `porter` on the address a first one serves (both with
//! several workers, so both would use SO_REUSEPORT) fails with "Address already
//! in use" and exit status 1, and the first one keeps serving.

mod common;

use std::io::Read;
use std::process::Stdio;

use common::{exchange, porter_command, Porter};

#[test]
fn a_second_porter_on_a_taken_port_fails_and_the_first_serves_on() {
    let first = Porter::spawn(porter_command().args(["--listen", "127.0.0.1:0", "--threads", "2", "--no-access-log"]));
    let addr = first.addr.to_string();
    let child = porter_command()
        .args(["--listen", &addr, "--threads", "2", "--no-access-log"])
        .stderr(Stdio::piped())
        .spawn()
        .expect("start a second porter");
    // Adopted: a second porter that serves (the bug) is killed when the test fails.
    let mut second = Porter::adopt(child, first.addr);
    let status = second.wait_exit_within_safety();
    let mut stderr = String::new();
    second.child.stderr.take().expect("stderr").read_to_string(&mut stderr).expect("its stderr");
    assert_eq!(status.code(), Some(1), "the second porter must fail: {stderr}");
    assert!(stderr.contains("Address already in use"), "{stderr}");
    assert!(!stderr.contains("serving"), "{stderr}");
    for _ in 0..20 {
        let reply = exchange(first.addr, b"GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
        assert!(reply.starts_with(b"HTTP/1.1 200 OK\r\n"), "{}", String::from_utf8_lossy(&reply));
    }
}
