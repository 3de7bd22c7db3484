//! Signals: the `porter` binary drains on SIGTERM/SIGINT. A download in flight
//! when the signal arrives still completes intact, an idle keep-alive connection
//! is closed, new connections are refused, and porter exits with status 0; a
//! second signal, or the end of the grace period, stops it with the download cut.
//! SIGUSR1 reopens the access-log file after it was renamed (log rotation).
//!
//! The download is a file far larger than loopback's socket buffers, read only
//! after the signal: it is certainly still in flight when the signal lands.

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;

use common::{connect, pattern, porter_command, read_head, wait_until, Porter, Scratch};

const BIG: usize = 48 << 20;

/// A scratch directory holding `big.bin` (BIG bytes of a known pattern), unique per test.
fn site(name: &str) -> Scratch {
    let site = Scratch::new(&format!("signals-{name}"));
    site.write("big.bin", pattern(BIG));
    site
}

/// Starts `porter --root DIR` on an ephemeral port with the given grace; returns
/// once its startup line says it listens.
fn porter(root: &Path, grace_secs: u64) -> Porter {
    porter_with(root, grace_secs, &["--no-access-log"])
}

fn porter_with(root: &Path, grace_secs: u64, flags: &[&str]) -> Porter {
    Porter::spawn(
        porter_command()
            .args(["--listen", "127.0.0.1:0", "--threads", "1"])
            .args(flags)
            .args(["--shutdown-grace", &grace_secs.to_string()])
            .arg("--root")
            .arg(root),
    )
}

/// Sends a GET and reads the reply head; the body is left in the socket.
fn request_head(stream: &mut TcpStream, path: &str) -> String {
    write!(stream, "GET {path} HTTP/1.1\r\nHost: t\r\n\r\n").expect("send");
    read_head(stream)
}

/// Reads until the peer closes; returns everything read.
fn read_to_close(stream: &mut TcpStream) -> Vec<u8> {
    let mut rest = Vec::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return rest,
            Ok(n) => rest.extend_from_slice(&buf[..n]),
            // A reset after a cut transfer ends the stream too.
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return rest,
            Err(e) => panic!("read: {e}"),
        }
    }
}

/// Waits until porter refuses new connections: the proof the signal was taken.
fn wait_refused(addr: SocketAddr) {
    wait_until(|| TcpStream::connect(addr).is_err(), "porter refuses new connections after the signal");
}

#[test]
fn sigterm_finishes_the_download_in_flight_closes_idle_and_exits_cleanly() {
    let root = site("graceful");
    let mut porter = porter(root.dir(), 60);
    let mut idle = connect(porter.addr);
    let idle_head = request_head(&mut idle, "/missing");
    assert!(idle_head.starts_with("HTTP/1.1 404"), "{idle_head}");
    let _ = read_to_len(&mut idle, content_length(&idle_head));
    let mut download = connect(porter.addr);
    let head = request_head(&mut download, "/big.bin");
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");

    porter.signal("TERM");
    wait_refused(porter.addr);
    assert!(read_to_close(&mut idle).is_empty(), "the idle connection is closed without a word");
    let body = read_to_close(&mut download);
    assert_eq!(body.len(), BIG, "the download in flight completes");
    assert!(body == pattern(BIG), "and arrives intact");
    assert!(porter.wait_exit().success(), "a drained porter exits with status 0");
}

#[test]
fn a_second_signal_stops_at_once() {
    let root = site("second");
    let mut porter = porter(root.dir(), 600);
    let mut download = connect(porter.addr);
    assert!(request_head(&mut download, "/big.bin").starts_with("HTTP/1.1 200"));

    porter.signal("TERM");
    wait_refused(porter.addr);
    porter.signal("INT");
    // The grace is ten minutes, the safety net one: only the second signal can
    // end porter in time (a porter that ignored it fails here).
    let status = porter.wait_exit_within_safety();
    assert!(status.success(), "{status}");
    assert!(read_to_close(&mut download).len() < BIG, "the download was cut");
}

#[test]
fn the_grace_period_bounds_a_stalled_download() {
    let root = site("grace");
    let mut porter = porter(root.dir(), 1);
    let mut download = connect(porter.addr);
    assert!(request_head(&mut download, "/big.bin").starts_with("HTTP/1.1 200"));

    porter.signal("TERM");
    // The client reads nothing: porter must end by itself when the grace is over.
    let status = porter.wait_exit();
    assert!(status.success(), "{status}");
    assert!(read_to_close(&mut download).len() < BIG, "the stalled download was cut");
}

fn content_length(head: &str) -> usize {
    head.lines()
        .find_map(|l| l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().parse().expect("length")))
        .expect("a Content-Length")
}

fn read_to_len(stream: &mut TcpStream, len: usize) -> Vec<u8> {
    let mut body = vec![0u8; len];
    stream.read_exact(&mut body).expect("body");
    body
}

/// Waits until the file at `path` has a line containing `needle` (the log
/// writer thread flushes on its own schedule).
fn wait_line(path: &Path, needle: &str) {
    let has_line = || std::fs::read_to_string(path).unwrap_or_default().contains(needle);
    wait_until(has_line, &format!("{} gets {needle:?}", path.display()));
}

#[test]
fn sigusr1_reopens_a_renamed_access_log() {
    let root = site("rotate");
    let log = root.path("access.log");
    let rotated = root.path("access.log.1");
    let mut porter = porter_with(root.dir(), 5, &["--access-log-file", log.to_str().expect("utf-8 path")]);
    let get = |path: &str| {
        let mut c = connect(porter.addr);
        let head = request_head(&mut c, path);
        assert!(head.starts_with("HTTP/1.1 404"), "{head}");
    };
    get("/before");
    wait_line(&log, "\"GET /before HTTP/1.1\" 404");
    std::fs::rename(&log, &rotated).expect("rotate");
    // Until porter reopens, lines still go to the renamed file (its open handle).
    get("/renamed");
    wait_line(&rotated, "/renamed");
    porter.signal("USR1");
    wait_until(|| log.exists(), &format!("SIGUSR1 reopens {}", log.display()));
    get("/after");
    wait_line(&log, "\"GET /after HTTP/1.1\" 404");
    let old = std::fs::read_to_string(&rotated).expect("rotated log");
    assert!(old.contains("/before") && !old.contains("/after"), "{old}");
    porter.signal("TERM");
    assert!(porter.wait_exit().success());
}

#[test]
fn during_the_drain_delay_health_checks_fail_and_porter_still_serves() {
    let dir = Scratch::new("signals-drain-delay");
    let config = dir.write(
        "porter.toml",
        r#"[server]
threads = 1
drain_delay = "10m"

[log]
access = "off"

[[listen]]
address = "127.0.0.1:0"

[[host]]
names = ["t"]

[[host.location]]
path = "/health"
status = { code = 200, body = "ok\n", health = true }

[[host.location]]
path = "/"
status = { code = 200, body = "page\n" }
"#,
    );
    let mut porter = Porter::spawn(porter_command().arg("--config").arg(&config));
    let mut idle = connect(porter.addr);
    let head = request_head(&mut idle, "/page");
    assert!(head.starts_with("HTTP/1.1 200") && !head.contains("close"), "{head}");
    let _ = read_to_len(&mut idle, content_length(&head));

    porter.signal("TERM");
    // New connections are still accepted; the health check says 503 once the signal is taken.
    let health = || {
        let mut check = connect(porter.addr);
        request_head(&mut check, "/health").starts_with("HTTP/1.1 503").then_some(())
    };
    common::wait_for(health, "the health check answers 503 after SIGTERM");
    // The idle keep-alive connection's next request is answered, and is its last.
    let head = request_head(&mut idle, "/page");
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(head.to_ascii_lowercase().contains("connection: close"), "{head}");
    assert_eq!(read_to_close(&mut idle), b"page\n");
    // A second signal ends the ten-minute lame-duck period at once.
    porter.signal("INT");
    assert!(porter.wait_exit_within_safety().success());
}
