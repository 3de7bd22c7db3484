//! Overload: the `porter` binary run out of file descriptors (RLIMIT_NOFILE
//! lowered with `prlimit` for the child process only) backs off instead of
//! spinning on `accept`, and keeps serving the connections it has.

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{free_port, wait_listening, PORTER};

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

/// User + system CPU time of `pid`, in clock ticks (fields 14 and 15 of stat).
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("proc stat");
    let after_name = &stat[stat.rfind(')').expect("stat format") + 2..];
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    fields[11].parse::<u64>().expect("utime") + fields[12].parse::<u64>().expect("stime")
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
fn out_of_descriptors_porter_backs_off_and_keeps_serving() {
    let (mut child, addr) = porter_with_fd_limit(32);
    let mut kept = TcpStream::connect(addr).expect("first connection");
    kept.set_read_timeout(Some(Duration::from_secs(10))).expect("timeout");
    assert!(get(&mut kept).starts_with("HTTP/1.1 200"));

    // Far more connections than descriptors: the backlog stays readable and
    // every accept fails with EMFILE.
    let flood: Vec<TcpStream> = (0..80).filter_map(|_| TcpStream::connect(addr).ok()).collect();
    assert!(flood.len() >= 40, "the listen backlog took the flood");
    let (ticks_before, start) = (cpu_ticks(child.id()), Instant::now());
    std::thread::sleep(Duration::from_millis(1500)); // the window we watch porter in
    let ticks = cpu_ticks(child.id()) - ticks_before;
    let wall_ticks = start.elapsed().as_millis() as u64 / 10;
    assert!(ticks * 4 < wall_ticks, "porter used {ticks} of {wall_ticks} ticks: it spins on EMFILE");

    // The connection it already had is still served.
    let reply = get(&mut kept);
    assert!(reply.starts_with("HTTP/1.1 200"), "an existing connection is still served: {reply:?}");
    drop(flood);
    child.kill().expect("kill porter");
    child.wait().expect("reap porter");
}
