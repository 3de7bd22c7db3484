//! Shared helpers for the loopback tests: start an in-process server, talk to it
//! over a plain `TcpStream` with literal bytes, and read its replies with a tiny
//! test-only HTTP/1.1 response reader (Content-Length, chunked, close-delimited,
//! bodiless statuses and HEAD).
//!
//! Reads carry a generous timeout only as a safety net against hangs: a test that
//! hits it fails with a message naming what it was waiting for. Nothing here
//! sleeps or uses timeouts to synchronise with the server.

#![allow(dead_code)]

pub mod logs;
pub mod pki;

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use std::sync::{Arc, Mutex};

use porter::{Handler, Limits, Request, Response, Server, ServerHandle};

/// The safety net against a hung server: no read waits longer than this.
pub const SAFETY_TIMEOUT: Duration = Duration::from_secs(10);

/// Starts a one-thread server on an ephemeral loopback port with default limits.
pub fn serve(handler: impl Handler) -> ServerHandle {
    serve_with(Limits::default(), handler)
}

/// Starts a one-thread server on an ephemeral loopback port with `limits`.
pub fn serve_with(limits: Limits, handler: impl Handler) -> ServerHandle {
    serve_threads(1, limits, handler)
}

/// Starts a server with `threads` worker loops on an ephemeral loopback port.
pub fn serve_threads(threads: usize, limits: Limits, handler: impl Handler) -> ServerHandle {
    Server::bind("127.0.0.1:0")
        .threads(threads)
        .limits(limits)
        .build(handler)
        .expect("server builds")
        .spawn()
        .expect("server spawns")
}

/// What a handler saw of one request.
#[derive(Clone, Debug)]
pub struct Seen {
    pub method: String,
    pub target: String,
    pub headers: Vec<(String, Vec<u8>)>,
    pub body: Vec<u8>,
    pub peer: Option<SocketAddr>,
}

impl Seen {
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| String::from_utf8_lossy(v).into_owned())
    }
}

/// Records every request a handler was called with.
#[derive(Clone, Default)]
pub struct Log(Arc<Mutex<Vec<Seen>>>);

impl Log {
    pub fn new() -> Log {
        Log::default()
    }

    pub fn record(&self, req: &Request) {
        let seen = Seen {
            method: req.method().to_string(),
            target: req.target().to_string(),
            headers: req.headers().map(|(n, v)| (n.to_string(), v.to_vec())).collect(),
            body: req.body().to_vec(),
            peer: req.peer_addr(),
        };
        self.0.lock().unwrap_or_else(|e| e.into_inner()).push(seen);
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub fn count(&self) -> usize {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// `METHOD target` of every request seen, in order.
    pub fn lines(&self) -> Vec<String> {
        self.seen().iter().map(|s| format!("{} {}", s.method, s.target)).collect()
    }
}

/// A handler that records each request and answers `200` with
/// `METHOD target\n` followed by the request body.
pub fn echo(log: &Log) -> impl Handler {
    let log = log.clone();
    move |req: Request| {
        log.record(&req);
        let mut body = format!("{} {}\n", req.method(), req.target()).into_bytes();
        body.extend_from_slice(req.body());
        Response::new(200).header("Content-Type", "text/plain").body(body)
    }
}

/// The body [`echo`] answers for a request.
pub fn echoed(method: &str, target: &str, body: &[u8]) -> Vec<u8> {
    let mut out = format!("{method} {target}\n").into_bytes();
    out.extend_from_slice(body);
    out
}

/// One parsed response.
#[derive(Clone, Debug)]
pub struct Reply {
    pub status: u16,
    pub reason: String,
    /// Headers in order, names as sent.
    pub headers: Vec<(String, String)>,
    /// The decoded body (chunked framing removed).
    pub body: Vec<u8>,
    /// The exact bytes of this response on the wire, head and body.
    pub raw: Vec<u8>,
    /// Trailer fields of a chunked body.
    pub trailers: Vec<(String, String)>,
    /// The body was delimited by the connection closing (no length, not chunked).
    pub close_delimited: bool,
}

impl Reply {
    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// How many times header `name` appears.
    pub fn header_count(&self, name: &str) -> usize {
        self.headers.iter().filter(|(n, _)| n.eq_ignore_ascii_case(name)).count()
    }

    /// The body as UTF-8 (lossy).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// True when the reply announces `Connection: close`.
    pub fn says_close(&self) -> bool {
        self.header("connection").is_some_and(|v| v.eq_ignore_ascii_case("close"))
    }

    /// The head as text, for failure messages.
    pub fn head_text(&self) -> String {
        let end = find(&self.raw, b"\r\n\r\n").map_or(self.raw.len(), |i| i + 4);
        String::from_utf8_lossy(&self.raw[..end]).into_owned()
    }
}

/// A raw client connection with a read buffer.
pub struct Client {
    pub stream: TcpStream,
    buf: Vec<u8>,
    eof: bool,
}

impl Client {
    /// Connects to `addr`; every read is bounded by [`SAFETY_TIMEOUT`].
    pub fn connect(addr: SocketAddr) -> Client {
        let stream = TcpStream::connect(addr).expect("connect to the test server");
        stream.set_read_timeout(Some(SAFETY_TIMEOUT)).expect("set read timeout");
        stream.set_nodelay(true).expect("set nodelay");
        Client { stream, buf: Vec::new(), eof: false }
    }

    /// Writes all of `bytes` in one `write_all`.
    pub fn send(&mut self, bytes: impl AsRef<[u8]>) {
        self.stream.write_all(bytes.as_ref()).expect("write request bytes");
    }

    /// Half-closes our side (the server sees EOF).
    pub fn shutdown_write(&mut self) {
        self.stream.shutdown(Shutdown::Write).expect("shutdown(Write)");
    }

    /// Reads more bytes into the buffer; returns how many (0 at EOF).
    fn fill(&mut self, waiting_for: &str) -> usize {
        if self.eof {
            return 0;
        }
        let mut chunk = [0u8; 16 * 1024];
        loop {
            match self.stream.read(&mut chunk) {
                Ok(0) => {
                    self.eof = true;
                    return 0;
                }
                Ok(n) => {
                    self.buf.extend_from_slice(&chunk[..n]);
                    return n;
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => panic!(
                    "no bytes from the server for {SAFETY_TIMEOUT:?} while waiting for {waiting_for}; \
                     buffered so far: {:?}",
                    String::from_utf8_lossy(&self.buf)
                ),
                Err(e) => panic!(
                    "read failed ({e}) while waiting for {waiting_for}; buffered so far: {:?}",
                    String::from_utf8_lossy(&self.buf)
                ),
            }
        }
    }

    /// Makes sure at least `n` bytes are buffered, or panics at EOF.
    fn need(&mut self, n: usize, waiting_for: &str) {
        while self.buf.len() < n {
            if self.fill(waiting_for) == 0 {
                panic!(
                    "connection closed while waiting for {waiting_for}; buffered: {:?}",
                    String::from_utf8_lossy(&self.buf)
                );
            }
        }
    }

    /// Position just past the next CRLF at or after `from`, reading as needed.
    fn line_end(&mut self, from: usize, waiting_for: &str) -> usize {
        loop {
            if let Some(i) = find(&self.buf[from..], b"\r\n") {
                return from + i + 2;
            }
            let len = self.buf.len();
            self.need(len + 1, waiting_for);
        }
    }

    /// Reads one response to a request that was not HEAD. An interim (1xx)
    /// response is returned as such; call again for the final one.
    pub fn read_reply(&mut self) -> Reply {
        self.read_reply_to("GET")
    }

    /// Reads one response to a HEAD request (never a body).
    pub fn read_head_reply(&mut self) -> Reply {
        self.read_reply_to("HEAD")
    }

    /// Reads one response to a request with `method`.
    pub fn read_reply_to(&mut self, method: &str) -> Reply {
        let head_end = loop {
            if let Some(i) = find(&self.buf, b"\r\n\r\n") {
                break i + 4;
            }
            if self.fill("a response head") == 0 {
                panic!("connection closed before a complete response head; buffered: {:?}", self.buffered_text());
            }
        };
        let head = String::from_utf8(self.buf[..head_end].to_vec())
            .unwrap_or_else(|_| panic!("response head is not UTF-8: {:?}", self.buffered_text()));
        let (status, reason, headers) = parse_head(&head);
        let no_body = method == "HEAD" || (100..200).contains(&status) || status == 204 || status == 304;
        let te = headers.iter().find(|(n, _)| n.eq_ignore_ascii_case("transfer-encoding")).map(|(_, v)| v.clone());
        let cl = headers.iter().find(|(n, _)| n.eq_ignore_ascii_case("content-length")).map(|(_, v)| v.clone());
        let mut reply = Reply {
            status,
            reason,
            headers,
            body: Vec::new(),
            raw: Vec::new(),
            trailers: Vec::new(),
            close_delimited: false,
        };
        let end = if no_body {
            head_end
        } else if let Some(te) = te {
            assert!(te.eq_ignore_ascii_case("chunked"), "unexpected response Transfer-Encoding {te:?}");
            self.read_chunked(head_end, &mut reply)
        } else if let Some(cl) = cl {
            let n: usize = cl.parse().unwrap_or_else(|_| panic!("bad response Content-Length {cl:?}"));
            self.need(head_end + n, "a Content-Length response body");
            reply.body = self.buf[head_end..head_end + n].to_vec();
            head_end + n
        } else {
            while self.fill("a close-delimited body") > 0 {}
            reply.body = self.buf[head_end..].to_vec();
            reply.close_delimited = true;
            self.buf.len()
        };
        reply.raw = self.buf.drain(..end).collect();
        reply
    }

    fn read_chunked(&mut self, start: usize, reply: &mut Reply) -> usize {
        let mut pos = start;
        loop {
            let line_end = self.line_end(pos, "a chunk-size line");
            let line = std::str::from_utf8(&self.buf[pos..line_end - 2]).expect("chunk-size line is ASCII").to_string();
            let size_text = line.split(';').next().unwrap_or("").trim();
            let size = usize::from_str_radix(size_text, 16).unwrap_or_else(|_| panic!("bad chunk-size line {line:?}"));
            pos = line_end;
            if size == 0 {
                break;
            }
            self.need(pos + size + 2, "chunk data");
            reply.body.extend_from_slice(&self.buf[pos..pos + size]);
            assert_eq!(&self.buf[pos + size..pos + size + 2], b"\r\n", "chunk data must end with CRLF");
            pos += size + 2;
        }
        loop {
            let line_end = self.line_end(pos, "the trailer section");
            let line = String::from_utf8_lossy(&self.buf[pos..line_end - 2]).into_owned();
            pos = line_end;
            if line.is_empty() {
                return pos;
            }
            let (n, v) = line.split_once(':').unwrap_or_else(|| panic!("bad trailer line {line:?}"));
            reply.trailers.push((n.to_string(), v.trim().to_string()));
        }
    }

    /// Reads `n` responses to non-HEAD requests.
    pub fn read_replies(&mut self, n: usize) -> Vec<Reply> {
        (0..n).map(|_| self.read_reply()).collect()
    }

    /// Sends `request` and reads its (non-HEAD) reply.
    pub fn round_trip(&mut self, request: impl AsRef<[u8]>) -> Reply {
        self.send(request);
        self.read_reply()
    }

    /// Asserts that the server closed the connection with nothing more to say:
    /// no bytes are buffered and the next read returns 0 (a reset fails too: it
    /// can destroy a reply the client has not read yet, RFC 9112 §9.6).
    pub fn assert_closed(&mut self, context: &str) {
        assert!(
            self.buf.is_empty(),
            "{context}: unexpected bytes after the last reply: {:?}",
            String::from_utf8_lossy(&self.buf)
        );
        let n = self.fill("the server to close the connection");
        assert_eq!(
            n,
            0,
            "{context}: expected the connection to be closed, got more bytes: {:?}",
            String::from_utf8_lossy(&self.buf)
        );
    }

    /// Asserts the connection is still usable: a plain GET gets a reply.
    /// Returns that reply (its status depends on the handler).
    pub fn assert_alive(&mut self, context: &str) -> Reply {
        assert!(
            self.buf.is_empty(),
            "{context}: unexpected bytes after the last reply: {:?}",
            String::from_utf8_lossy(&self.buf)
        );
        if let Err(e) = self.stream.write_all(b"GET /alive-probe HTTP/1.1\r\nHost: t\r\n\r\n") {
            panic!("{context}: connection unusable (write failed: {e})");
        }
        let mut chunk = [0u8; 16 * 1024];
        while find(&self.buf, b"\r\n\r\n").is_none() {
            match self.stream.read(&mut chunk) {
                Ok(0) => panic!("{context}: expected the connection to stay open, but the server closed it"),
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => panic!("{context}: expected the connection to stay open; read failed: {e}"),
            }
        }
        let reply = self.read_reply();
        assert_ne!(
            reply.status,
            400,
            "{context}: the probe request after the reply was refused: {}",
            reply.head_text()
        );
        reply
    }

    /// Bytes buffered but not yet consumed as a reply.
    pub fn buffered(&self) -> &[u8] {
        &self.buf
    }

    fn buffered_text(&self) -> String {
        String::from_utf8_lossy(&self.buf).into_owned()
    }

    /// Reads whatever arrives until EOF and returns it (for close-delimited checks).
    pub fn read_to_eof(&mut self) -> Vec<u8> {
        while self.fill("EOF") > 0 {}
        std::mem::take(&mut self.buf)
    }
}

/// Parses a strict response head: status line and `Name: value` lines, CRLF only.
fn parse_head(head: &str) -> (u16, String, Vec<(String, String)>) {
    let body = head.strip_suffix("\r\n\r\n").expect("head ends with CRLFCRLF");
    assert!(!body.replace("\r\n", "").contains(['\r', '\n']), "bare CR or LF in response head: {head:?}");
    let mut lines = body.split("\r\n");
    let status_line = lines.next().unwrap_or("");
    let rest = status_line
        .strip_prefix("HTTP/1.1 ")
        .unwrap_or_else(|| panic!("response does not start with `HTTP/1.1 `: {head:?}"));
    let (code, reason) = rest.split_at(3.min(rest.len()));
    let status: u16 = code.parse().unwrap_or_else(|_| panic!("bad status code in {status_line:?}"));
    let reason = reason.strip_prefix(' ').unwrap_or_else(|| panic!("no SP after status code: {status_line:?}"));
    let headers = lines
        .map(|line| {
            let (n, v) = line.split_once(':').unwrap_or_else(|| panic!("bad header line {line:?} in {head:?}"));
            assert!(!n.is_empty() && !n.contains(' '), "bad header name in {line:?}");
            (n.to_string(), v.trim().to_string())
        })
        .collect();
    (status, reason.to_string(), headers)
}

/// First index of `needle` in `hay`.
pub fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// A fresh, empty directory under the system temp dir (removed by the returned guard).
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        static N: AtomicUsize = AtomicUsize::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!("porter-test-{tag}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).expect("create temp dir");
        TempDir(path)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Fails the test (never skips it) when an external client program is missing.
pub fn require_tool(tool: &str) {
    let found = Command::new(tool).arg("--version").output().is_ok_and(|o| o.status.success());
    assert!(
        found,
        "`{tool}` is not installed (or `{tool} --version` failed), and the loopback tests need it as a real \
         client. Run the README's test command, `./scripts/test.sh`, which installs curl and python3 \
         before running the tests."
    );
}

/// Deterministic test bytes: `n` bytes of a repeating, position-dependent pattern.
pub fn pattern(n: usize) -> Vec<u8> {
    (0..n).map(|i| b"abcdefghijklmnopqrstuvwxyz0123456789"[(i * 7 + i / 36) % 36]).collect()
}

/// A simple chunked encoding of `data` in pieces of `piece` bytes.
pub fn chunked(data: &[u8], piece: usize) -> Vec<u8> {
    let mut out = Vec::new();
    for c in data.chunks(piece) {
        out.extend_from_slice(format!("{:x}\r\n", c.len()).as_bytes());
        out.extend_from_slice(c);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"0\r\n\r\n");
    out
}

/// Waits for a condition the server reaches asynchronously (connections freed,
/// requests cancelled). Bounded by [`SAFETY_TIMEOUT`]; the wait is on the
/// condition, never on a fixed time.
pub fn wait_until(mut condition: impl FnMut() -> bool, what: &str) {
    let give_up = std::time::Instant::now() + SAFETY_TIMEOUT;
    while !condition() {
        assert!(std::time::Instant::now() < give_up, "timed out waiting until {what}");
        std::thread::sleep(Duration::from_millis(1));
    }
}
