//! Overload: the `porter` binary run out of file descriptors (RLIMIT_NOFILE
//! lowered with `prlimit` for the child process only) keeps serving the
//! connections it has; at its connection cap the others wait in the backlog
//! and are served in turn; out of descriptors it pauses accepting for 100 ms
//! at a time (counted from its warnings: no pause ends early), with one
//! warning a second at most, and the clients that waited are served once
//! descriptors are back; a shutdown at the cap answers every client in the
//! backlog; a pipelining client holds one file at a time; and far more
//! clients at once than it has descriptors for are all served, each in its
//! turn (the loops take no more connections than leave a descriptor for the
//! file each one asks for), with a bounded number of warnings.

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Barrier};
use std::time::Instant;

use common::{free_port, wait_listening, Porter, Scratch, PORTER, SAFETY};

/// The porter binary, with its fd limit lowered to `nofile`, serving the
/// built-in demo site (from memory: answering needs no descriptor) on an
/// ephemeral port. Returns the child and its address.
fn porter_with_fd_limit(nofile: u32) -> (Child, SocketAddr) {
    let port = free_port();
    let child = Command::new("prlimit")
        .arg(format!("--nofile={nofile}:{nofile}"))
        .arg("--")
        .arg(PORTER)
        .args(["--listen", &format!("127.0.0.1:{port}"), "--threads", "1", "--quiet"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("prlimit (util-linux) runs porter; ./scripts/test.sh installs what the tests need");
    let addr: SocketAddr = ([127, 0, 0, 1], port).into();
    wait_listening(addr);
    (child, addr)
}

/// Sends a GET for `/plaintext` and reads the whole reply (head and body).
fn get(stream: &mut TcpStream) -> String {
    stream.write_all(b"GET /plaintext HTTP/1.1\r\nHost: t\r\n\r\n").expect("write");
    let mut reply = Vec::new();
    let mut buf = [0u8; 1024];
    let complete = |r: &[u8]| r.windows(4).position(|w| w == b"\r\n\r\n").is_some_and(|end| r.len() > end + 4);
    while !complete(&reply) {
        let n = stream.read(&mut buf).expect("a reply");
        assert!(n > 0, "connection closed mid-reply: {:?}", String::from_utf8_lossy(&reply));
        reply.extend_from_slice(&buf[..n]);
    }
    String::from_utf8_lossy(&reply).into_owned()
}

#[test]
fn at_its_connection_cap_porter_serves_what_it_has_and_the_backlog_in_turn() {
    // 32 descriptors leave room for one connection: the cap is 1.
    let (mut child, addr) = porter_with_fd_limit(32);
    let mut kept = TcpStream::connect(addr).expect("first connection");
    kept.set_read_timeout(Some(SAFETY)).expect("timeout");
    assert!(get(&mut kept).starts_with("HTTP/1.1 200"));

    // Far more clients than the cap: they wait in the listen backlog.
    let flood: Vec<TcpStream> = (0..80)
        .map(|_| {
            let mut stream = TcpStream::connect(addr).expect("the backlog takes the client");
            stream.write_all(b"GET /plaintext HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n").expect("send");
            stream
        })
        .collect();
    // The connection it has is still served, again and again.
    for _ in 0..20 {
        let reply = get(&mut kept);
        assert!(reply.starts_with("HTTP/1.1 200"), "an existing connection is still served: {reply:?}");
    }
    // Once it leaves, the waiting clients are served, each in its turn (and
    // each closes its end, so that porter's lingering close ends at once).
    drop(kept);
    for mut stream in flood {
        stream.set_read_timeout(Some(SAFETY)).expect("timeout");
        let mut reply = String::new();
        stream.read_to_string(&mut reply).expect("a reply in its turn");
        assert!(reply.starts_with("HTTP/1.1 200"), "{reply:?}");
    }
    child.kill().expect("kill porter");
    child.wait().expect("reap porter");
}

/// How many clients connect at once in [`more_clients_than_descriptors_all_get_their_file`].
const CLIENTS: usize = 600;

#[test]
fn more_clients_than_descriptors_all_get_their_file() {
    let site = Scratch::new("overload-files");
    site.write("small.txt", "a small file\n");
    let mut prlimit = Command::new("prlimit");
    prlimit.env_remove("RUST_LOG").stdin(Stdio::null()).stdout(Stdio::null());
    prlimit.args(["--nofile=256:256", "--", PORTER, "--listen", "127.0.0.1:0", "--threads", "2", "--no-access-log"]);
    let mut porter = Porter::spawn(prlimit.arg("--root").arg(site.dir()));

    // Every client is connected (the kernel holds what porter has not
    // accepted yet in the listen backlog) before any sends its request.
    let connected = Arc::new(Barrier::new(CLIENTS));
    let clients: Vec<_> = (0..CLIENTS)
        .map(|_| {
            let (addr, connected) = (porter.addr, connected.clone());
            std::thread::spawn(move || {
                let stream = TcpStream::connect(addr);
                connected.wait();
                let mut stream = stream.map_err(|e| format!("connect: {e}"))?;
                stream.set_read_timeout(Some(SAFETY)).map_err(|e| e.to_string())?;
                stream
                    .write_all(b"GET /small.txt HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
                    .map_err(|e| format!("send: {e}"))?;
                let mut reply = Vec::new();
                stream.read_to_end(&mut reply).map_err(|e| format!("read: {e}"))?;
                let reply = String::from_utf8_lossy(&reply).into_owned();
                match reply.starts_with("HTTP/1.1 200") && reply.ends_with("a small file\n") {
                    true => Ok(()),
                    false => Err(reply.lines().next().unwrap_or("nothing").to_string()),
                }
            })
        })
        .collect();
    let failures: Vec<String> = clients.into_iter().filter_map(|c| c.join().expect("client thread").err()).collect();
    assert!(
        failures.is_empty(),
        "{} of {CLIENTS} clients failed: {:?}",
        failures.len(),
        &failures[..failures.len().min(10)]
    );

    porter.signal("TERM");
    assert!(porter.wait_exit().success());
    let warnings: Vec<String> = porter.rest_of_stderr().into_iter().filter(|l| l.contains("accept")).collect();
    assert!(warnings.len() <= 5, "{} accept warnings: {:?}", warnings.len(), &warnings[..warnings.len().min(5)]);
}

/// Sets the soft open-file limit of the running process `pid` (its hard limit stays).
fn set_soft_fd_limit(pid: u32, soft: usize) {
    let status = Command::new("prlimit")
        .args(["--pid", &pid.to_string(), &format!("--nofile={soft}:")])
        .status()
        .expect("prlimit (util-linux) runs");
    assert!(status.success(), "prlimit --pid {pid} --nofile={soft}:");
}

#[test]
fn out_of_descriptors_the_pause_holds_warns_once_a_second_and_everyone_is_served_after() {
    let mut porter =
        Porter::spawn(common::porter_command().args(["--listen", "127.0.0.1:0", "--threads", "1", "--no-access-log"]));
    let mut kept = TcpStream::connect(porter.addr).expect("first connection");
    kept.set_read_timeout(Some(SAFETY)).expect("timeout");
    assert!(get(&mut kept).starts_with("HTTP/1.1 200"));
    // The limit drops to what porter holds now (its connection cap was
    // computed from the old one): every accept fails with EMFILE.
    let pid = porter.child.id();
    let open = std::fs::read_dir(format!("/proc/{pid}/fd")).expect("porter's fds").count();
    let start = Instant::now();
    set_soft_fd_limit(pid, open);
    // Each client that arrives is a listener event, and the round trip on the
    // kept connection after it shows the loop has seen that event: none may
    // end the pause early (before, each one started an accept and a warning).
    let mut clients: Vec<TcpStream> = (0..200)
        .map(|_| {
            let mut stream = TcpStream::connect(porter.addr).expect("the backlog takes the client");
            stream.write_all(b"GET /plaintext HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n").expect("send");
            assert!(get(&mut kept).starts_with("HTTP/1.1 200"), "the kept connection is served meanwhile");
            stream
        })
        .collect();
    // The clients wait in the backlog: each pause's end tries an accept,
    // which fails, and pauses again. A second warning, a second after the
    // first, counts the pauses between: each lasted its full 100 ms.
    let mut warnings = Vec::new();
    while warnings.len() < 2 {
        let line = porter.next_line();
        if line.contains("pausing accepts") {
            warnings.push(line);
        }
    }
    let pauses = warnings.len() + warnings.iter().map(|w| unreported_pauses(w)).sum::<usize>();
    let elapsed = start.elapsed();
    assert!(pauses >= 2, "{warnings:?}");
    assert!(
        pauses as u128 <= elapsed.as_millis() / 100 + 2,
        "{pauses} pauses of 100 ms in {elapsed:?}: one ended early ({warnings:?})"
    );
    set_soft_fd_limit(pid, 4096);
    let elapsed = start.elapsed();
    for stream in &mut clients {
        stream.set_read_timeout(Some(SAFETY)).expect("timeout");
        let mut reply = String::new();
        stream.read_to_string(&mut reply).expect("a reply once descriptors are back");
        assert!(reply.starts_with("HTTP/1.1 200"), "{reply:?}");
    }

    porter.signal("TERM");
    assert!(porter.wait_exit().success());
    let rest = porter.rest_of_stderr().into_iter().filter(|l| l.contains("pausing accepts"));
    let warnings: Vec<String> = warnings.into_iter().chain(rest).collect();
    // One warning a second at most (and one more for the second in progress).
    let bound = 2 + elapsed.as_secs() as usize;
    assert!(
        warnings.len() <= bound,
        "{} warnings in {elapsed:?}: {:?}",
        warnings.len(),
        &warnings[..warnings.len().min(3)]
    );
}

/// Sends `request` on a new connection to `addr` without reading the reply.
fn send_on_new(addr: SocketAddr, request: &[u8]) -> TcpStream {
    let mut stream = TcpStream::connect(addr).expect("the backlog takes the client");
    stream.write_all(request).expect("send");
    stream
}

/// A shutdown while the loop sits at its connection cap with a full backlog
/// behind it: every client waiting in the backlog is answered (as connections
/// free up), none reset by closing the listener with them still in it.
#[test]
fn a_shutdown_at_the_connection_cap_answers_every_client_in_the_backlog() {
    let site = Scratch::new("overload-drain");
    site.write("small.txt", "a small file\n");
    let mut prlimit = Command::new("prlimit");
    prlimit.env_remove("RUST_LOG").stdin(Stdio::null()).stdout(Stdio::null());
    // 64 descriptors, one worker: a cap of 14 connections.
    prlimit.args(["--nofile=64:64", "--", PORTER, "--listen", "127.0.0.1:0", "--threads", "1", "--no-access-log"]);
    let mut porter = Porter::spawn(prlimit.arg("--root").arg(site.dir()));
    // More keep-alive clients than the cap: the loop sits at it.
    let holders: Vec<TcpStream> =
        (0..20).map(|_| send_on_new(porter.addr, b"GET /small.txt HTTP/1.1\r\nHost: t\r\n\r\n")).collect();
    let waiting: Vec<TcpStream> = (0..150)
        .map(|_| send_on_new(porter.addr, b"GET /small.txt HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"))
        .collect();
    porter.signal("TERM");
    let failures: Vec<String> = waiting
        .into_iter()
        .filter_map(|mut stream| {
            stream.set_read_timeout(Some(SAFETY)).expect("timeout");
            let mut reply = Vec::new();
            match stream.read_to_end(&mut reply) {
                Ok(_) if reply.starts_with(b"HTTP/1.1 200") => None,
                Ok(_) => Some(String::from_utf8_lossy(&reply).lines().next().unwrap_or("nothing").to_string()),
                Err(e) => Some(format!("read: {e}")),
            }
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{} of 150 waiting clients failed: {:?}",
        failures.len(),
        &failures[..failures.len().min(5)]
    );
    drop(holders);
    assert!(porter.wait_exit_within_safety().success());
}

/// A pipelining client holds one open file at most (the connection cap
/// counts a socket and one file per connection): its requests for files are
/// all answered, none with a 500 for want of a descriptor.
#[test]
fn pipelined_file_requests_hold_one_file_at_a_time() {
    const REQUESTS: usize = 60;
    let site = Scratch::new("overload-pipelined");
    site.write("small.txt", "a small file\n");
    let mut prlimit = Command::new("prlimit");
    prlimit.env_remove("RUST_LOG").stdin(Stdio::null()).stdout(Stdio::null());
    prlimit.args(["--nofile=64:64", "--", PORTER, "--listen", "127.0.0.1:0", "--threads", "1", "--no-access-log"]);
    let porter = Porter::spawn(prlimit.arg("--root").arg(site.dir()));
    let mut requests = b"GET /small.txt HTTP/1.1\r\nHost: t\r\n\r\n".repeat(REQUESTS - 1);
    requests.extend_from_slice(b"GET /small.txt HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
    let mut stream = send_on_new(porter.addr, &requests);
    stream.set_read_timeout(Some(SAFETY)).expect("timeout");
    let mut replies = String::new();
    stream.read_to_string(&mut replies).expect("every reply, then the close");
    let ok = replies.matches("HTTP/1.1 200 OK\r\n").count();
    let failed = replies.matches("HTTP/1.1 500").count();
    assert_eq!((ok, failed), (REQUESTS, 0), "{REQUESTS} pipelined file requests");
}

/// The `N` of a warning's "(N more pauses since the last warning)", else 0.
fn unreported_pauses(warning: &str) -> usize {
    let Some((before, _)) = warning.split_once(" more pauses since the last warning") else { return 0 };
    before.rsplit('(').next().and_then(|n| n.parse().ok()).expect("a count of pauses")
}
