//! Behind a real load balancer: HAProxy (Debian's package, installed by
//! `scripts/test.sh`) in front of two `porter --config` processes whose
//! listeners expect the PROXY protocol, with `send-proxy-v2` and health checks.
//!
//! - Traffic from a client on 127.0.0.2 reaches both porters through HAProxy
//!   (which connects from 127.0.0.1); each porter's access log names 127.0.0.2:
//!   the address from the PROXY header, not HAProxy's.
//! - A rolling restart: while a client keeps sending requests through HAProxy,
//!   each porter in turn gets SIGTERM, drains and exits, and a new one starts on
//!   its port. Not one request fails, and a large download in flight through
//!   HAProxy when its backend is told to stop completes intact. HAProxy retries
//!   only connections that fail (`retry-on conn-failure`, what a closed
//!   listener gives): a request porter dropped would show as a failure. Each
//!   porter has a `drain_delay`: its `/health` answers 503 from SIGTERM on, so
//!   HAProxy marks it down while it still accepts.

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use common::{connect, free_port, pattern, porter_command, read_head, wait_for, wait_until, Porter, Scratch, SAFETY};

/// One `porter --config` backend: it answers `/` with its name and logs to `access-NAME-N.log`.
struct Backend {
    name: &'static str,
    porter: Porter,
    log: PathBuf,
}

impl Backend {
    /// Starts backend `name` on `port` (0: any) with a PROXY-protocol listener.
    fn start(dir: &Scratch, name: &'static str, port: u16) -> Backend {
        // Each process its own log, so a restarted backend's lines are its own.
        static STARTS: AtomicUsize = AtomicUsize::new(0);
        let n = STARTS.fetch_add(1, Ordering::Relaxed);
        let log = dir.path(&format!("access-{name}-{n}.log"));
        let config = dir.path(&format!("porter-{name}-{n}.toml"));
        std::fs::write(&config, backend_config(name, port, &log, dir.dir())).expect("write porter config");
        let porter = Porter::spawn(porter_command().arg("--config").arg(&config).args(["--shutdown-grace", "20"]));
        Backend { name, porter, log }
    }

    fn addr(&self) -> SocketAddr {
        self.porter.addr
    }

    /// Waits for the drained process to exit, which must be clean; returns its port.
    fn wait_exit(mut self) -> u16 {
        let status = self.porter.wait_exit();
        assert!(status.success(), "porter {} after SIGTERM: {status}", self.name);
        self.addr().port()
    }

    /// The access log's lines (the writer thread may still hold the newest: callers wait).
    fn logged(&self) -> Vec<String> {
        std::fs::read_to_string(&self.log).unwrap_or_default().lines().map(str::to_string).collect()
    }
}

fn backend_config(name: &str, port: u16, log: &Path, root: &Path) -> String {
    format!(
        r#"[server]
threads = 1
server_name = "porter-{name}"
drain_delay = "1s"

[log]
access = "{log}"
format = "combined"

[[listen]]
address = "127.0.0.1:{port}"
proxy_protocol = true

[[host]]
names = ["localhost"]

[[host.location]]
path = "/health"
status = {{ code = 200, body = "ok\n", health = true }}

[[host.location]]
path = "/files"
root = "{root}"

[[host.location]]
path = "/"
status = {{ code = 200, body = "{name}\n" }}
"#,
        log = log.display(),
        root = root.display(),
    )
}

/// HAProxy in the foreground, balancing over the two backends.
struct Haproxy {
    child: Child,
    addr: SocketAddr,
}

impl Haproxy {
    fn start(dir: &Scratch, backends: [SocketAddr; 2]) -> Haproxy {
        let addr: SocketAddr = ([127, 0, 0, 1], free_port()).into();
        let config = dir.path("haproxy.cfg");
        std::fs::write(&config, haproxy_config(addr, backends)).expect("write haproxy config");
        let child = Command::new("haproxy")
            .arg("-db") // foreground, no daemon
            .arg("-f")
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("haproxy (Debian package haproxy) runs; ./scripts/test.sh installs what the tests need");
        Haproxy { child, addr }
    }

    /// Sends `GET path` through HAProxy on a new connection; the reply's status and body.
    fn get(&self, path: &str) -> std::io::Result<(u16, String)> {
        get_via(self.addr, path)
    }

    /// Waits until both backends answer through HAProxy (both are up in its view).
    fn wait_both_up(&self, names: [&str; 2]) {
        let mut seen = [false, false];
        let both_seen = || {
            if let Ok((200, body)) = self.get("/") {
                for (i, name) in names.iter().enumerate() {
                    seen[i] |= body.trim() == *name;
                }
            }
            seen == [true, true]
        };
        wait_until(both_seen, "HAProxy reaches both backends");
    }
}

impl Drop for Haproxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Round robin over the two backends with PROXY v2 (checks too), quick health
/// checks, and retries elsewhere for what a draining backend refuses.
fn haproxy_config(front: SocketAddr, backends: [SocketAddr; 2]) -> String {
    let [a, b] = backends;
    format!(
        "global
    maxconn 512

defaults
    mode http
    timeout connect 2s
    timeout client 30s
    timeout server 30s
    retries 3
    option redispatch 1
    retry-on conn-failure

frontend web
    bind {front}
    default_backend porters

backend porters
    balance roundrobin
    option httpchk
    http-check send meth GET uri /health ver HTTP/1.1 hdr Host localhost
    default-server send-proxy-v2 check check-send-proxy inter 100ms fall 1 rise 1
    server a {a}
    server b {b}
"
    )
}

/// `GET path` from the HAProxy at `addr` on a new connection.
fn get_via(addr: SocketAddr, path: &str) -> std::io::Result<(u16, String)> {
    let mut stream = TcpStream::connect(addr)?;
    stream.set_read_timeout(Some(SAFETY))?;
    write!(stream, "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")?;
    let mut raw = String::new();
    stream.read_to_string(&mut raw)?;
    Ok(parse_reply(&raw))
}

fn parse_reply(raw: &str) -> (u16, String) {
    let status = raw.get(9..12).and_then(|s| s.parse().ok()).unwrap_or(0);
    let body = raw.split_once("\r\n\r\n").map_or("", |(_, body)| body).to_string();
    (status, body)
}

/// `curl` from source address 127.0.0.2 (loopback holds all of 127/8): the body.
fn curl_from_127_0_0_2(url: &str) -> String {
    let out = Command::new("curl")
        .args(["-sS", "--max-time", "20", "--interface", "127.0.0.2", url])
        .output()
        .expect("curl runs; ./scripts/test.sh installs it");
    assert!(out.status.success(), "curl {url}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Waits until `backend`'s access log has a line for `path` (or a path it starts); returns the line.
fn wait_logged(backend: &Backend, path: &str) -> String {
    let wanted = format!("\"GET {path}");
    // The log writer thread flushes on its own schedule.
    let line = || backend.logged().into_iter().find(|l| l.contains(&wanted));
    wait_for(line, &format!("porter {} logs {path}", backend.name))
}

#[test]
fn porter_logs_the_client_address_haproxy_sends_in_proxy_v2() {
    let dir = Scratch::new("haproxy-address");
    let (a, b) = (Backend::start(&dir, "a", 0), Backend::start(&dir, "b", 0));
    let haproxy = Haproxy::start(&dir, [a.addr(), b.addr()]);
    haproxy.wait_both_up(["a", "b"]);

    // Round robin: four requests reach both backends.
    let mut answered_by = Vec::new();
    for i in 0..4 {
        let body = curl_from_127_0_0_2(&format!("http://{}/probe-{i}", haproxy.addr));
        answered_by.push(body.trim().to_string());
    }
    for backend in [&a, &b] {
        let probes: Vec<usize> = (0..4).filter(|&i| answered_by[i] == backend.name).collect();
        assert!(!probes.is_empty(), "{} answered none of {answered_by:?}", backend.name);
        for i in probes {
            let line = wait_logged(backend, &format!("/probe-{i}"));
            // Combined Log Format starts with the client address: HAProxy's client, not HAProxy.
            assert!(line.starts_with("127.0.0.2 "), "porter {} logged {line:?}", backend.name);
        }
    }
}

/// A download through HAProxy, its head read, its body still in flight.
struct Download {
    stream: TcpStream,
    /// The backend serving it, from the `Server: porter-NAME` header.
    backend: String,
}

impl Download {
    fn start(haproxy: &Haproxy, path: &str) -> Download {
        let mut stream = connect(haproxy.addr);
        write!(stream, "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").expect("send");
        let head = read_head(&mut stream);
        assert!(head.starts_with("HTTP/1.1 200"), "{head}");
        let server = head.lines().find_map(|l| l.strip_prefix("server: porter-").or(l.strip_prefix("Server: porter-")));
        Download { stream, backend: server.unwrap_or_else(|| panic!("no Server header: {head}")).to_string() }
    }

    /// Reads the rest of the body until HAProxy closes.
    fn finish(mut self) -> Vec<u8> {
        let mut body = Vec::new();
        self.stream.read_to_end(&mut body).expect("the rest of the download");
        body
    }
}

const BIG: usize = 32 << 20;

#[test]
fn a_rolling_restart_behind_haproxy_loses_no_request() {
    let dir = Scratch::new("haproxy-rolling");
    std::fs::create_dir_all(dir.path("files")).expect("files dir");
    std::fs::write(dir.path("files/big.bin"), pattern(BIG)).expect("big file");
    let (a, b) = (Backend::start(&dir, "a", 0), Backend::start(&dir, "b", 0));
    let haproxy = Haproxy::start(&dir, [a.addr(), b.addr()]);
    haproxy.wait_both_up(["a", "b"]);

    let stop = Arc::new(AtomicBool::new(false));
    let sent = Arc::new(AtomicUsize::new(0));
    let client = {
        // The client holds the address only: a failing test still drops (and kills) HAProxy.
        let (front, stop, sent) = (haproxy.addr, stop.clone(), sent.clone());
        std::thread::spawn(move || {
            let mut failures = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                let n = sent.fetch_add(1, Ordering::Relaxed);
                match get_via(front, &format!("/req-{n}")) {
                    Ok((200, _)) => {}
                    other => {
                        failures.push(format!("request {n}: {other:?}"));
                    }
                }
            }
            failures
        })
    };

    // A download far larger than the socket buffers and HAProxy's, unread for
    // now: it is in flight when its backend is told to stop, and must complete.
    let download = Download::start(&haproxy, "/files/big.bin");
    let (first, second) = if download.backend == "a" { (a, b) } else { (b, a) };

    // Restart that backend, then the other: each drains on SIGTERM and a new
    // one takes its port. Requests keep flowing before, while a backend is
    // down, and after.
    wait_more(&sent, 10);
    first.porter.signal("TERM");
    wait_more(&sent, 10);
    let body = download.finish();
    assert!(
        body.len() == BIG && body == pattern(BIG),
        "the download in flight completed intact ({} bytes)",
        body.len()
    );
    let (name, port) = (first.name, first.wait_exit());
    let first = Backend::start(&dir, name, port);
    // The client's own requests reaching the new porter prove HAProxy routes to it again.
    wait_logged(&first, "/req-");
    second.porter.signal("TERM");
    let (name, port) = (second.name, second.wait_exit());
    wait_more(&sent, 10);
    let second = Backend::start(&dir, name, port);
    wait_logged(&second, "/req-");
    wait_more(&sent, 10);

    stop.store(true, Ordering::Relaxed);
    let failures = client.join().expect("client thread");
    let total = sent.load(Ordering::Relaxed);
    assert!(failures.is_empty(), "{} of {total} requests failed: {failures:?}", failures.len());
    drop((first, second));
}

/// Waits until the client has sent `n` more requests than now.
fn wait_more(sent: &AtomicUsize, n: usize) {
    let target = sent.load(Ordering::Relaxed) + n;
    wait_until(|| sent.load(Ordering::Relaxed) >= target, "the client sends more requests");
}
