//! TLS over loopback: certificates made at test time with `rcgen` (a test CA
//! and leaf certificates for `localhost` and `api.test`), real clients (curl
//! with `--cacert`, rustls over a `TcpStream`, `openssl s_client` for SNI and
//! ALPN), and the bad clients of a TLS port (plain HTTP, garbage, a stalled
//! handshake, a wrong SNI name).
//!
//! Assertions are on bytes, certificates and closure, never on elapsed time;
//! reads carry the shared safety timeout only against hangs.

mod common;

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use common::pki::Pki;
use common::{chunked, find, pattern, require_tool, TempDir, SAFETY_TIMEOUT};
use porter::{Body, Files, Handler, Limits, Request, Response, Router, Server, ServerHandle, TlsConfig};
use rustls::pki_types::ServerName;
use rustls::{ClientConfig, ClientConnection, StreamOwned};

/// A server with one plain and one TLS listener; returns (handle, http, https).
fn serve_tls(pki: &Pki, limits: Limits, handler: impl Handler) -> (ServerHandle, SocketAddr, SocketAddr) {
    serve_tls_config(pki.config(), limits, handler)
}

fn serve_tls_config(tls: TlsConfig, limits: Limits, handler: impl Handler) -> (ServerHandle, SocketAddr, SocketAddr) {
    let server = Server::builder()
        .listen("127.0.0.1:0")
        .listen_tls("127.0.0.1:0", tls)
        .threads(1)
        .limits(limits)
        .build(handler)
        .unwrap()
        .spawn()
        .unwrap();
    let (http, https) = (server.local_addrs()[0], server.local_addrs()[1]);
    (server, http, https)
}

fn app() -> Router {
    Router::new()
        .get("/", |_req| Response::text("hello over tls"))
        .get("/n/:n", |req: Request| Response::text(format!("reply {}", req.param("n").unwrap_or("?"))))
        .post("/echo", |mut req: Request| Response::bytes(req.take_body()))
        .get("/later", |req: Request| {
            let (reply, responder) = req.defer();
            thread::spawn(move || responder.respond(Response::text("answered later")));
            reply
        })
        .get("/big", |_req| Response::bytes(pattern(3 << 20)))
}

type Tls = StreamOwned<ClientConnection, TcpStream>;

/// A rustls client connection (blocking, with the safety timeout).
fn connect(pki: &Pki, addr: SocketAddr, name: &str) -> Tls {
    connect_with(pki.client_config(), addr, name)
}

fn connect_with(config: Arc<ClientConfig>, addr: SocketAddr, name: &str) -> Tls {
    let tcp = TcpStream::connect(addr).unwrap();
    tcp.set_read_timeout(Some(SAFETY_TIMEOUT)).unwrap();
    let conn = ClientConnection::new(config, ServerName::try_from(name.to_string()).unwrap()).unwrap();
    StreamOwned::new(conn, tcp)
}

/// A reply: status, headers (lower-cased names), body (chunked decoded).
struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }
}

/// Reads replies off a stream, keeping leftovers between calls.
struct Reader<S> {
    stream: S,
    buf: Vec<u8>,
}

impl<S: Read + Write> Reader<S> {
    fn new(stream: S) -> Self {
        Reader { stream, buf: Vec::new() }
    }

    fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).unwrap();
        self.stream.flush().unwrap();
    }

    fn fill(&mut self) -> usize {
        let mut chunk = [0u8; 16 * 1024];
        let n = self.stream.read(&mut chunk).unwrap_or_else(|e| panic!("read: {e}"));
        self.buf.extend_from_slice(&chunk[..n]);
        n
    }

    fn need(&mut self, n: usize) {
        while self.buf.len() < n {
            assert!(self.fill() > 0, "closed early; have {:?}", String::from_utf8_lossy(&self.buf));
        }
    }

    fn line(&mut self) -> Vec<u8> {
        loop {
            if let Some(i) = find(&self.buf, b"\r\n") {
                let line = self.buf[..i].to_vec();
                self.buf.drain(..i + 2);
                return line;
            }
            let len = self.buf.len();
            self.need(len + 1);
        }
    }

    fn reply(&mut self) -> Reply {
        let status_line = String::from_utf8(self.line()).unwrap();
        let status = status_line.get(9..12).and_then(|s| s.parse().ok()).unwrap_or(0);
        let mut headers = Vec::new();
        loop {
            let line = String::from_utf8(self.line()).unwrap();
            if line.is_empty() {
                break;
            }
            let (n, v) = line.split_once(':').unwrap();
            headers.push((n.to_ascii_lowercase(), v.trim().to_string()));
        }
        let mut reply = Reply { status, headers, body: Vec::new() };
        if reply.status < 200 || reply.status == 204 || reply.status == 304 {
            return reply;
        }
        if reply.header("transfer-encoding").is_some() {
            loop {
                let size = usize::from_str_radix(std::str::from_utf8(&self.line()).unwrap().trim(), 16).unwrap();
                if size == 0 {
                    self.line();
                    break;
                }
                self.need(size + 2);
                reply.body.extend(self.buf.drain(..size));
                self.buf.drain(..2);
            }
        } else {
            let len: usize = reply.header("content-length").map_or(0, |v| v.parse().unwrap());
            self.need(len);
            reply.body = self.buf.drain(..len).collect();
        }
        reply
    }
}

fn curl(args: &[&str]) -> std::process::Output {
    require_tool("curl");
    Command::new("curl").args(["-sS", "--max-time", "10"]).args(args).output().unwrap()
}

fn resolve(addr: SocketAddr, name: &str) -> String {
    format!("{name}:{}:127.0.0.1", addr.port())
}

#[test]
fn curl_with_cacert_gets_the_page_and_plain_http_runs_beside_it() {
    let pki = Pki::new();
    let (_server, http, https) = serve_tls(&pki, Limits::default(), app());
    let ca = pki.ca_file();
    let url = format!("https://localhost:{}/", https.port());
    let out = curl(&["--cacert", ca.to_str().unwrap(), "--resolve", &resolve(https, "localhost"), &url]);
    assert!(out.status.success(), "curl failed: {}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(out.stdout, b"hello over tls");
    // Several requests on one TLS connection (keep-alive), and the HTTP listener.
    let url2 = format!("https://localhost:{}/n/2", https.port());
    let out = curl(&["--cacert", ca.to_str().unwrap(), "--resolve", &resolve(https, "localhost"), &url, &url2]);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "hello over tlsreply 2");
    let out = curl(&[&format!("http://{http}/n/3")]);
    assert_eq!(out.stdout, b"reply 3");
}

#[test]
fn rust_client_pipelines_and_gets_replies_in_order() {
    let pki = Pki::new();
    let (_server, _, https) = serve_tls(&pki, Limits::default(), app());
    let mut c = Reader::new(connect(&pki, https, "localhost"));
    let mut batch = Vec::new();
    for i in 0..20 {
        batch.extend_from_slice(format!("GET /n/{i} HTTP/1.1\r\nHost: localhost\r\n\r\n").as_bytes());
    }
    c.send(&batch);
    for i in 0..20 {
        let r = c.reply();
        assert_eq!(r.status, 200);
        assert_eq!(r.body, format!("reply {i}").as_bytes());
    }
    assert_eq!(c.stream.conn.alpn_protocol(), Some(&b"http/1.1"[..]));
}

#[test]
fn chunked_upload_with_100_continue_and_large_replies() {
    let pki = Pki::new();
    let (_server, _, https) = serve_tls(&pki, Limits::default(), app());
    let mut c = Reader::new(connect(&pki, https, "localhost"));
    let body = pattern(200_000);
    c.send(b"POST /echo HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\nExpect: 100-continue\r\n\r\n");
    assert_eq!(c.reply().status, 100);
    c.send(&chunked(&body, 7000));
    let r = c.reply();
    assert_eq!(r.status, 200, "{:?}", r.headers);
    assert_eq!(r.body, body);
    // A 3 MiB reply crosses rustls' 64 KiB buffer many times.
    c.send(b"GET /big HTTP/1.1\r\nHost: localhost\r\n\r\n");
    let r = c.reply();
    assert_eq!(r.body.len(), 3 << 20);
    assert!(r.body == pattern(3 << 20));
}

#[test]
fn deferred_answers_arrive_over_tls() {
    let pki = Pki::new();
    let (_server, _, https) = serve_tls(&pki, Limits::default(), app());
    let mut c = Reader::new(connect(&pki, https, "localhost"));
    c.send(b"GET /later HTTP/1.1\r\nHost: localhost\r\n\r\nGET /n/1 HTTP/1.1\r\nHost: localhost\r\n\r\n");
    assert_eq!(c.reply().body, b"answered later");
    assert_eq!(c.reply().body, b"reply 1");
}

#[test]
fn static_files_go_out_in_pieces_over_tls() {
    let pki = Pki::new();
    let root = TempDir::new("tls-files");
    let data = pattern(5 << 20);
    std::fs::write(root.path().join("big.bin"), &data).unwrap();
    let (_server, http, https) = serve_tls(&pki, Limits::default(), Files::new(root.path()).unwrap());
    let ca = pki.ca_file();
    let url = format!("https://localhost:{}/big.bin", https.port());
    let out = curl(&["--cacert", ca.to_str().unwrap(), "--resolve", &resolve(https, "localhost"), &url]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.stdout == data, "TLS file body differs ({} bytes)", out.stdout.len());
    // A range, and the same file over plain HTTP (sendfile).
    let out =
        curl(&["--cacert", ca.to_str().unwrap(), "--resolve", &resolve(https, "localhost"), "-r", "100-199", &url]);
    assert_eq!(out.stdout, &data[100..200]);
    let out = curl(&[&format!("http://{http}/big.bin")]);
    assert!(out.stdout == data);
}

#[test]
fn connection_close_ends_with_close_notify() {
    let pki = Pki::new();
    let (_server, _, https) = serve_tls(&pki, Limits::default(), app());
    let mut c = Reader::new(connect(&pki, https, "localhost"));
    c.send(b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    assert_eq!(c.reply().body, b"hello over tls");
    // rustls reports Ok(0) only after a close_notify (a bare FIN is UnexpectedEof).
    let mut rest = [0u8; 64];
    assert_eq!(c.stream.read(&mut rest).unwrap(), 0);
}

#[test]
fn a_reply_cut_short_ends_without_close_notify() {
    // RFC 9112 §9.8: an incomplete close is how a client learns a body may be
    // cut; a close_notify after part of a body would say it was all there.
    let pki = Pki::new();
    let app = || {
        Router::new().get("/cut", |req: Request| {
            let (reply, responder) = req.defer();
            let (sender, body) = Body::channel(Some(1000));
            responder.respond(Response::new(200).body(body));
            // 15 of the 1000 bytes promised, then the sender is gone: porter closes.
            thread::spawn(move || sender.send("only part of it").is_ok());
            reply
        })
    };
    // Observed too: recording the cut reply (access log, metrics) must not make it look whole.
    let metrics = porter::Metrics::new();
    let observed = Server::builder().listen_tls("127.0.0.1:0", pki.config()).threads(1).metrics(&metrics);
    let observed = observed.build(app()).unwrap().spawn().unwrap();
    let (_server, _, https) = serve_tls(&pki, Limits::default(), app());
    for addr in [https, observed.local_addr()] {
        let mut c = Reader::new(connect(&pki, addr, "localhost"));
        c.send(b"GET /cut HTTP/1.1\r\nHost: localhost\r\n\r\n");
        let mut chunk = [0u8; 4096];
        let end = loop {
            match c.stream.read(&mut chunk) {
                Ok(0) => break None,
                Ok(n) => c.buf.extend_from_slice(&chunk[..n]),
                Err(e) => break Some(e.kind()),
            }
        };
        assert!(c.buf.ends_with(b"only part of it"), "{:?}", String::from_utf8_lossy(&c.buf));
        // rustls says UnexpectedEof for a close without close_notify, Ok(0) after one.
        assert_eq!(end, Some(ErrorKind::UnexpectedEof));
    }
}

#[test]
fn sessions_resume() {
    let pki = Pki::new();
    let (_server, _, https) = serve_tls(&pki, Limits::default(), app());
    let config = pki.client_config(); // rustls clients keep a session cache per config
    for round in 0..2 {
        let mut c = Reader::new(connect_with(config.clone(), https, "localhost"));
        c.send(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n");
        assert_eq!(c.reply().status, 200);
        let kind = c.stream.conn.handshake_kind();
        if round == 1 {
            assert_eq!(kind, Some(rustls::HandshakeKind::Resumed));
        }
    }
}

#[test]
fn header_timeout_gives_408_over_tls() {
    let pki = Pki::new();
    let limits = Limits { header_timeout: Duration::from_millis(200), ..Limits::default() };
    let (_server, _, https) = serve_tls(&pki, limits, app());
    let mut c = Reader::new(connect(&pki, https, "localhost"));
    c.send(b"GET / HTTP/1.1\r\nHost:");
    let r = c.reply();
    assert_eq!(r.status, 408);
    let mut rest = [0u8; 64];
    assert_eq!(c.stream.read(&mut rest).unwrap(), 0, "closed with close_notify after the 408");
}

/// Runs `openssl s_client` with `args` and returns its stdout + stderr.
fn s_client(addr: SocketAddr, args: &[&str]) -> String {
    let found = Command::new("openssl").arg("version").output().is_ok_and(|o| o.status.success());
    assert!(found, "`openssl` is not installed; ./scripts/test.sh installs it");
    let mut child = Command::new("openssl")
        .args(["s_client", "-connect", &addr.to_string()])
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Closing stdin ends the session after the handshake.
    drop(child.stdin.take());
    let out = child.wait_with_output().unwrap();
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

#[test]
fn openssl_sees_sni_choice_and_alpn() {
    let pki = Pki::new();
    let (_server, _, https) = serve_tls(&pki, Limits::default(), app());
    let api = s_client(https, &["-servername", "api.test", "-alpn", "http/1.1"]);
    assert!(api.contains("CN = api.test") || api.contains("CN=api.test"), "{api}");
    assert!(api.contains("ALPN protocol: http/1.1"), "{api}");
    let default = s_client(https, &["-servername", "localhost"]);
    assert!(default.contains("CN = localhost") || default.contains("CN=localhost"), "{default}");
    // An unknown name gets the default certificate (the client judges it).
    let unknown = s_client(https, &["-servername", "other.test"]);
    assert!(unknown.contains("CN = localhost") || unknown.contains("CN=localhost"), "{unknown}");
    // Only h2 offered: no common protocol, an alert (RFC 7301 §3.2).
    let h2 = s_client(https, &["-servername", "localhost", "-alpn", "h2"]);
    assert!(h2.contains("no application protocol") || h2.contains("alert"), "{h2}");
}

#[test]
fn wrong_sni_name_fails_the_clients_check_or_gets_an_alert_when_strict() {
    let pki = Pki::new();
    let (_server, _, https) = serve_tls(&pki, Limits::default(), app());
    // The rustls client asks for a name the default certificate does not carry.
    let mut c = connect(&pki, https, "wrong.test");
    let err = c.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").and_then(|_| c.flush()).unwrap_err();
    assert!(err.to_string().contains("certificate"), "{err}");
    // Strict SNI: the server refuses the handshake with an alert.
    let (_strict, _, https) = serve_tls_config(pki.config().strict_sni(true), Limits::default(), app());
    let out = s_client(https, &["-servername", "other.test"]);
    assert!(out.contains("alert"), "{out}");
    let ok = s_client(https, &["-servername", "api.test"]);
    assert!(ok.contains("CN = api.test") || ok.contains("CN=api.test"), "{ok}");
}

/// Reads a raw socket to EOF (or reset), returning what came.
fn read_to_end(tcp: &mut TcpStream) -> Vec<u8> {
    tcp.set_read_timeout(Some(SAFETY_TIMEOUT)).unwrap();
    let mut out = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        match tcp.read(&mut chunk) {
            Ok(0) => return out,
            Ok(n) => out.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == ErrorKind::ConnectionReset => return out,
            Err(e) => panic!("expected the server to close, got {e} after {out:?}"),
        }
    }
}

/// A good client on the same server still gets served.
fn assert_good_client_served(pki: &Pki, https: SocketAddr) {
    let mut c = Reader::new(connect(pki, https, "localhost"));
    c.send(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n");
    assert_eq!(c.reply().body, b"hello over tls");
}

#[test]
fn plain_http_on_the_tls_port_gets_a_readable_400() {
    let pki = Pki::new();
    let (_server, _, https) = serve_tls(&pki, Limits::default(), app());
    let mut good = Reader::new(connect(&pki, https, "localhost"));
    good.send(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n");
    assert_eq!(good.reply().status, 200);
    let mut tcp = TcpStream::connect(https).unwrap();
    tcp.write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n").unwrap();
    let answer = String::from_utf8_lossy(&read_to_end(&mut tcp)).into_owned();
    assert!(answer.starts_with("HTTP/1.1 400 "), "{answer}");
    assert!(answer.contains("HTTPS"), "{answer}");
    // The client already connected keeps working, and new ones are served.
    good.send(b"GET /n/5 HTTP/1.1\r\nHost: localhost\r\n\r\n");
    assert_eq!(good.reply().body, b"reply 5");
    assert_good_client_served(&pki, https);
}

#[test]
fn garbage_gets_an_alert_and_a_close_with_bounded_reading() {
    let pki = Pki::new();
    let (server, _, https) = serve_tls(&pki, Limits::default(), app());
    // A record header claiming a handshake record of 0xffff bytes (too long:
    // record_overflow), then a flood the server must not buffer.
    let mut tcp = TcpStream::connect(https).unwrap();
    let mut bytes = vec![0x16, 0x03, 0x01, 0xff, 0xff];
    bytes.extend(std::iter::repeat_n(0xa5u8, 64 * 1024));
    let _ = tcp.write_all(&bytes); // the server may close before taking it all
    let answer = read_to_end(&mut tcp);
    // A TLS alert record (content type 21), or at least a close.
    assert!(answer.is_empty() || answer[0] == 21, "{answer:?}");
    // Binary noise that is not a TLS record at all.
    let mut tcp = TcpStream::connect(https).unwrap();
    let _ = tcp.write_all(&[0x00, 0x01, 0x02, 0xff, 0xfe, 0x7f, 0x80, 0x10, 0x20, 0x30]);
    let answer = read_to_end(&mut tcp);
    assert!(answer.is_empty() || answer[0] == 21, "{answer:?}");
    assert_good_client_served(&pki, https);
    common::wait_until(|| server.connections() == 0, "the bad connections are freed");
}

#[test]
fn a_stalled_handshake_is_closed_by_the_header_timeout() {
    let pki = Pki::new();
    let limits = Limits {
        header_timeout: Duration::from_millis(200),
        idle_timeout: Duration::from_secs(3600), // would hold it for an hour if it applied
        ..Limits::default()
    };
    let (_server, _, https) = serve_tls(&pki, limits, app());
    // Connected, silent.
    let mut silent = TcpStream::connect(https).unwrap();
    // The first bytes of a ClientHello, then nothing.
    let mut partial = TcpStream::connect(https).unwrap();
    partial.write_all(&[0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00]).unwrap();
    assert_good_client_served(&pki, https);
    assert!(read_to_end(&mut silent).is_empty());
    let answer = read_to_end(&mut partial);
    assert!(answer.is_empty() || answer[0] == 21, "{answer:?}");
}

#[test]
fn basic_auth_over_tls_with_curl() {
    let pki = Pki::new();
    let auth = porter::BasicAuth::with_callback("tls", |u, p| u == "alice" && p == "wonderland");
    let (_server, _, https) = serve_tls(&pki, Limits::default(), auth.protect(app()));
    let ca = pki.ca_file();
    let url = format!("https://localhost:{}/", https.port());
    let base = ["--cacert", ca.to_str().unwrap(), "--resolve", &resolve(https, "localhost")];
    let out = curl(&[&base[..], &["-u", "alice:wonderland", &url]].concat());
    assert_eq!(out.stdout, b"hello over tls");
    let out = curl(&[&base[..], &["-u", "alice:nope", "-o", "/dev/null", "-w", "%{http_code}", &url]].concat());
    assert_eq!(out.stdout, b"401");
}

#[test]
fn add_pem_files_names_a_certificate_by_its_dns_names() {
    let pki = Pki::new();
    let (cert, key) = (pki.dir.path().join("api.pem"), pki.dir.path().join("api.key"));
    std::fs::write(&cert, &pki.api.0).unwrap();
    std::fs::write(&key, &pki.api.1).unwrap();
    let tls = TlsConfig::from_pem(pki.localhost.0.as_bytes(), pki.localhost.1.as_bytes())
        .unwrap()
        .add_pem_files(&cert, &key)
        .unwrap();
    let (_server, _, https) = serve_tls_config(tls, Limits::default(), app());
    // The client verifies the name: only the api.test certificate passes.
    let mut c = Reader::new(connect(&pki, https, "api.test"));
    c.send(b"GET / HTTP/1.1\r\nHost: api.test\r\n\r\n");
    assert_eq!(c.reply().body, b"hello over tls");
    // A key that does not fit its certificate is refused when loaded.
    let err = TlsConfig::from_pem(pki.localhost.0.as_bytes(), pki.api.1.as_bytes()).unwrap_err();
    assert!(err.to_string().contains("do not fit"), "{err}");
}

/// An in-memory body large enough to be written from its shared `Bytes`
/// leaves with its head in one `write_vectored` into rustls, so head and
/// body start share the first TLS record (they used to take a record each:
/// the default `write_vectored` wrote the head alone). The client reads the
/// raw records off the socket one by one.
#[test]
fn a_shared_body_starts_in_the_record_of_its_head() {
    let pki = Pki::new();
    let (_server, _, https) = serve_tls(&pki, Limits::default(), app());
    let tcp = TcpStream::connect(https).unwrap();
    tcp.set_read_timeout(Some(SAFETY_TIMEOUT)).unwrap();
    let mut tcp = tcp;
    let mut conn = ClientConnection::new(pki.client_config(), ServerName::try_from("localhost").unwrap()).unwrap();
    while conn.is_handshaking() {
        conn.complete_io(&mut tcp).unwrap();
    }
    conn.writer().write_all(b"GET /big HTTP/1.1\r\nHost: localhost\r\n\r\n").unwrap();
    while conn.wants_write() {
        conn.write_tls(&mut tcp).unwrap();
    }
    // Records one at a time until one carries plaintext (tickets carry none).
    let first = loop {
        let mut header = [0u8; 5];
        tcp.read_exact(&mut header).unwrap();
        let len = usize::from(u16::from_be_bytes([header[3], header[4]]));
        let mut record = header.to_vec();
        record.resize(5 + len, 0);
        tcp.read_exact(&mut record[5..]).unwrap();
        let mut rest = &record[..];
        while !rest.is_empty() {
            conn.read_tls(&mut rest).unwrap();
            conn.process_new_packets().unwrap();
        }
        let mut plain = vec![0u8; 64 * 1024];
        match conn.reader().read(&mut plain) {
            Ok(n) if n > 0 => break plain[..n].to_vec(),
            Ok(_) => panic!("the server closed before the reply"),
            Err(e) if e.kind() == ErrorKind::WouldBlock => {}
            Err(e) => panic!("{e}"),
        }
    };
    assert!(first.starts_with(b"HTTP/1.1 200 OK\r\n"), "{:?}", String::from_utf8_lossy(&first));
    let head = find(&first, b"\r\n\r\n").expect("the whole head in the first record") + 4;
    assert!(first.len() > head, "the body starts in the head's record ({} bytes, head {head})", first.len());
    assert_eq!(&first[head..], &pattern(3 << 20)[..first.len() - head]);
}
