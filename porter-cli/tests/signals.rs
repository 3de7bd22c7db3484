//! Signals: the `porter` binary drains on SIGTERM/SIGINT. A download in flight
//! when the signal arrives still completes intact, an idle keep-alive connection
//! is closed, new connections are refused, and porter exits with status 0; a
//! second signal, or the end of the grace period, stops it with the download cut.
//! SIGUSR1 reopens the access-log file after it was renamed (log rotation).
//!
//! The download is a file far larger than loopback's socket buffers, read only
//! after the signal: it is certainly still in flight when the signal lands.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

const BIG: usize = 48 << 20;

/// A directory holding `big.bin` (BIG bytes of a known pattern), unique per test.
fn site(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("porter-signals-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("site dir");
    std::fs::write(dir.join("big.bin"), pattern()).expect("big file");
    dir
}

fn pattern() -> Vec<u8> {
    (0..BIG).map(|i| (i % 251) as u8).collect()
}

/// Starts `porter --root DIR` on an ephemeral port with the given grace; returns
/// once its startup line says it listens.
fn porter(root: &PathBuf, grace_secs: u64) -> (Child, SocketAddr) {
    porter_with(root, grace_secs, &["--no-access-log"])
}

fn porter_with(root: &PathBuf, grace_secs: u64, flags: &[&str]) -> (Child, SocketAddr) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_porter"))
        .args(["--listen", "127.0.0.1:0", "--threads", "1"])
        .args(flags)
        .args(["--shutdown-grace", &grace_secs.to_string()])
        .arg("--root")
        .arg(root)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn porter");
    let mut stderr = BufReader::new(child.stderr.take().expect("stderr"));
    let mut line = String::new();
    stderr.read_line(&mut line).expect("startup line");
    let url = line.split("http://").nth(1).expect("an http:// address in the startup line");
    let addr: SocketAddr = url.split_whitespace().next().expect("address").parse().expect("socket address");
    // Keep draining stderr so porter never blocks on a full pipe.
    std::thread::spawn(move || std::io::copy(&mut stderr, &mut std::io::sink()));
    (child, addr)
}

fn connect(addr: SocketAddr) -> TcpStream {
    let s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(60))).expect("read timeout");
    s
}

/// Sends a GET and reads the reply head; the body is left in the socket.
fn request_head(stream: &mut TcpStream, path: &str) -> String {
    write!(stream, "GET {path} HTTP/1.1\r\nHost: t\r\n\r\n").expect("send");
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        assert_eq!(stream.read(&mut byte).expect("head"), 1, "closed inside the head");
        head.push(byte[0]);
    }
    String::from_utf8_lossy(&head).into_owned()
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

fn signal(child: &Child, name: &str) {
    let status = Command::new("kill").args([&format!("-{name}"), &child.id().to_string()]).status().expect("kill");
    assert!(status.success(), "kill -{name}");
}

/// Waits until porter refuses new connections: the proof the signal was taken.
fn wait_refused(addr: SocketAddr) {
    let give_up = Instant::now() + Duration::from_secs(30);
    while TcpStream::connect(addr).is_ok() {
        assert!(Instant::now() < give_up, "porter still accepts after the signal");
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn wait_exit(child: &mut Child) -> ExitStatus {
    child.wait().expect("porter exits")
}

#[test]
fn sigterm_finishes_the_download_in_flight_closes_idle_and_exits_cleanly() {
    let root = site("graceful");
    let (mut child, addr) = porter(&root, 60);
    let mut idle = connect(addr);
    let idle_head = request_head(&mut idle, "/missing");
    assert!(idle_head.starts_with("HTTP/1.1 404"), "{idle_head}");
    let _ = read_to_len(&mut idle, content_length(&idle_head));
    let mut download = connect(addr);
    let head = request_head(&mut download, "/big.bin");
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");

    signal(&child, "TERM");
    wait_refused(addr);
    assert!(read_to_close(&mut idle).is_empty(), "the idle connection is closed without a word");
    let body = read_to_close(&mut download);
    assert_eq!(body.len(), BIG, "the download in flight completes");
    assert!(body == pattern(), "and arrives intact");
    assert!(wait_exit(&mut child).success(), "a drained porter exits with status 0");
    std::fs::remove_dir_all(root).ok();
}

#[test]
fn a_second_signal_stops_at_once() {
    let root = site("second");
    let (mut child, addr) = porter(&root, 600);
    let mut download = connect(addr);
    assert!(request_head(&mut download, "/big.bin").starts_with("HTTP/1.1 200"));

    signal(&child, "TERM");
    wait_refused(addr);
    signal(&child, "INT");
    // The grace is ten minutes: only the second signal can end porter this soon.
    let status = wait_exit(&mut child);
    assert!(status.success(), "{status}");
    assert!(read_to_close(&mut download).len() < BIG, "the download was cut");
    std::fs::remove_dir_all(root).ok();
}

#[test]
fn the_grace_period_bounds_a_stalled_download() {
    let root = site("grace");
    let (mut child, addr) = porter(&root, 1);
    let mut download = connect(addr);
    assert!(request_head(&mut download, "/big.bin").starts_with("HTTP/1.1 200"));

    signal(&child, "TERM");
    // The client reads nothing: porter must end by itself when the grace is over.
    let status = wait_exit(&mut child);
    assert!(status.success(), "{status}");
    assert!(read_to_close(&mut download).len() < BIG, "the stalled download was cut");
    std::fs::remove_dir_all(root).ok();
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

/// Waits until the file at `path` has a line containing `needle`.
fn wait_line(path: &std::path::Path, needle: &str) {
    let give_up = Instant::now() + Duration::from_secs(30);
    while !std::fs::read_to_string(path).unwrap_or_default().contains(needle) {
        assert!(Instant::now() < give_up, "{} never got {needle:?}", path.display());
        std::thread::sleep(Duration::from_millis(10)); // the log writer thread flushes on its own
    }
}

#[test]
fn sigusr1_reopens_a_renamed_access_log() {
    let root = site("rotate");
    let log = root.join("access.log");
    let rotated = root.join("access.log.1");
    let (mut child, addr) = porter_with(&root, 5, &["--access-log-file", log.to_str().expect("utf-8 path")]);
    let get = |path: &str| {
        let mut c = connect(addr);
        let head = request_head(&mut c, path);
        assert!(head.starts_with("HTTP/1.1 404"), "{head}");
    };
    get("/before");
    wait_line(&log, "\"GET /before HTTP/1.1\" 404");
    std::fs::rename(&log, &rotated).expect("rotate");
    // Until porter reopens, lines still go to the renamed file (its open handle).
    get("/renamed");
    wait_line(&rotated, "/renamed");
    signal(&child, "USR1");
    let give_up = Instant::now() + Duration::from_secs(30);
    while !log.exists() {
        assert!(Instant::now() < give_up, "SIGUSR1 did not reopen {}", log.display());
        std::thread::sleep(Duration::from_millis(10));
    }
    get("/after");
    wait_line(&log, "\"GET /after HTTP/1.1\" 404");
    let old = std::fs::read_to_string(&rotated).expect("rotated log");
    assert!(old.contains("/before") && !old.contains("/after"), "{old}");
    signal(&child, "TERM");
    assert!(wait_exit(&mut child).success());
    std::fs::remove_dir_all(root).ok();
}
