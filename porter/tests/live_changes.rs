//! A running server changed through its `ShutdownHandle`: a listener opened
//! (every worker accepts on it), one closed (new connections refused, the
//! other keeps serving), a TLS listener's certificates replaced (the next
//! handshake gets the new ones), and the access log replaced (lines go to the
//! new file). Loopback, real sockets, a rustls client.

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::{mpsc, Mutex};

use porter::{AccessLog, ListenOptions, Metrics, Reply, Request, Response, Server, TlsConfig};
use rustls::pki_types::ServerName;
use rustls::{ClientConnection, StreamOwned};

use common::pki::Pki;
use common::{wait_until, Client, TempDir, SAFETY_TIMEOUT};

fn get(addr: SocketAddr, path: &str) -> String {
    let mut tcp = TcpStream::connect(addr).expect("connect");
    tcp.set_read_timeout(Some(SAFETY_TIMEOUT)).expect("timeout");
    write!(tcp, "GET {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n").expect("send");
    let mut reply = String::new();
    tcp.read_to_string(&mut reply).expect("reply");
    reply
}

/// `GET /` over TLS, trusting the test CA and checking the certificate names `name`.
fn get_tls(pki: &Pki, addr: SocketAddr, name: &str) -> std::io::Result<String> {
    let tcp = TcpStream::connect(addr)?;
    tcp.set_read_timeout(Some(SAFETY_TIMEOUT))?;
    let server_name = ServerName::try_from(name.to_string()).expect("name");
    let conn = ClientConnection::new(pki.client_config(), server_name).expect("client");
    let mut tls = StreamOwned::new(conn, tcp);
    tls.write_all(b"GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")?;
    let mut reply = String::new();
    tls.read_to_string(&mut reply)?;
    Ok(reply)
}

/// The worker thread that answers `GET /` on a new connection to `addr`.
fn worker(addr: SocketAddr) -> String {
    let reply = get(addr, "/");
    assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
    reply.rsplit("\r\n\r\n").next().unwrap_or_default().to_string()
}

#[test]
fn listeners_open_and_close_on_a_running_server() {
    let name = |_req| Response::text(std::thread::current().name().unwrap_or("?").to_string());
    let server = Server::bind("127.0.0.1:0").threads(2).build(name).expect("build");
    let control = server.shutdown_handle();
    let server = server.spawn().expect("spawn");
    let first = server.local_addr();
    let second = control.listen("127.0.0.1:0".parse().unwrap(), ListenOptions::new()).expect("listen");
    assert_ne!(first, second);
    assert_eq!(control.local_addrs(), [first, second]);
    // Both workers accept on the new port: connections until each has answered
    // (SO_REUSEPORT spreads them by address hash: missing one of two sockets
    // 400 times running has a chance of about 2^-399).
    let mut workers = std::collections::BTreeSet::new();
    for _ in 0..400 {
        workers.insert(worker(second));
        if workers.len() == 2 {
            break;
        }
    }
    assert_eq!(workers.len(), 2, "connections reached only {workers:?}");
    control.stop_listening(first).expect("stop listening");
    assert_eq!(control.local_addrs(), [second]);
    wait_until(|| TcpStream::connect(first).is_err(), "the closed listener refuses connections");
    assert!(worker(second).starts_with("porter-"));
    assert_eq!(control.stop_listening(first).unwrap_err().kind(), std::io::ErrorKind::NotFound);
    server.shutdown(SAFETY_TIMEOUT).expect("shutdown");
    assert!(
        control.listen("127.0.0.1:0".parse().unwrap(), ListenOptions::new()).is_err(),
        "no listener after a shutdown"
    );
}

#[test]
fn certificates_change_for_the_next_handshake() {
    let pki = Pki::new();
    let server = Server::builder()
        .listen_tls("127.0.0.1:0", pki.config())
        .threads(1)
        .build(|_req| Response::text("secure"))
        .expect("build")
        .spawn()
        .expect("spawn");
    let control = server.shutdown_handle();
    let addr = server.local_addr();
    assert!(get_tls(&pki, addr, "localhost").expect("localhost").ends_with("secure"));
    assert!(get_tls(&pki, addr, "api.test").is_ok(), "api.test by SNI");

    // Only the api.test certificate, as the default: a client expecting localhost now refuses it.
    let api_only = TlsConfig::from_pem(pki.api.0.as_bytes(), pki.api.1.as_bytes()).expect("pem");
    assert_eq!(control.listen(addr, ListenOptions::new().tls(api_only)).expect("new certificates"), addr);
    assert!(get_tls(&pki, addr, "localhost").is_err(), "the old certificate is gone");
    assert!(get_tls(&pki, addr, "api.test").expect("api.test").ends_with("secure"));
}

#[test]
fn the_access_log_is_replaced() {
    let dir = TempDir::new("live-log");
    let (old, new) = (dir.path().join("old.log"), dir.path().join("new.log"));
    let server = Server::bind("127.0.0.1:0")
        .threads(1)
        .access_log(AccessLog::file(&old))
        .build(|_req| Response::text("hi"))
        .expect("build")
        .spawn()
        .expect("spawn");
    let control = server.shutdown_handle();
    get(server.local_addr(), "/before");
    control.set_access_log(AccessLog::file(&new)).expect("new log");
    get(server.local_addr(), "/after");
    let logged = |path: &std::path::Path, what: &str| std::fs::read_to_string(path).is_ok_and(|t| t.contains(what));
    wait_until(|| logged(&new, "GET /after"), "the new log has the later request");
    wait_until(|| logged(&old, "GET /before"), "the old log has the earlier request");
    assert!(!logged(&old, "GET /after"), "the old log has only the earlier one");
    assert!(!logged(&new, "GET /before"));
    let missing = dir.path().join("no-such-dir/x.log");
    assert!(control.set_access_log(AccessLog::file(missing)).is_err(), "a log that cannot open");
    get(server.local_addr(), "/still");
    wait_until(|| logged(&new, "GET /still"), "the log in use stays after a failed change");
}

/// A request under way when the access log is switched on came in while no
/// fields were collected for a line: its reply is counted in the metrics but
/// gets no line (never a line of `-` fields); the next request is logged in
/// full. With and without metrics (a worker with nothing observed at all
/// builds its observer at the switch).
#[test]
fn a_request_under_way_when_the_log_is_switched_on_gets_no_garbage_line() {
    for metrics in [None, Some(Metrics::new())] {
        let dir = TempDir::new("live-log-on");
        let log = dir.path().join("new.log");
        let (tx, rx) = mpsc::channel();
        let tx = Mutex::new(tx);
        let builder = Server::bind("127.0.0.1:0").threads(1);
        let builder = match &metrics {
            Some(m) => builder.metrics(m),
            None => builder,
        };
        let server = builder
            .build(move |req: Request| -> Reply {
                let (reply, responder) = req.defer();
                tx.lock().unwrap().send(responder).unwrap();
                reply
            })
            .expect("build");
        let control = server.shutdown_handle();
        let server = server.spawn().expect("spawn");
        let mut client = Client::connect(server.local_addr());
        client.send("GET /in-flight HTTP/1.1\r\nHost: t\r\n\r\n");
        let first = rx.recv_timeout(SAFETY_TIMEOUT).expect("first request");
        control.set_access_log(AccessLog::file(&log)).expect("log");
        // Handled after the worker took the new log (messages come before requests).
        client.send("GET /second HTTP/1.1\r\nHost: t\r\nUser-Agent: ua\r\n\r\n");
        let second = rx.recv_timeout(SAFETY_TIMEOUT).expect("second request");
        first.respond(Response::text("done"));
        second.respond(Response::text("done"));
        client.read_replies(2);
        wait_until(|| std::fs::read_to_string(&log).is_ok_and(|t| t.contains("GET /second")), "the second line");
        if let Some(metrics) = &metrics {
            wait_until(|| metrics.render().contains("porter_requests_total{class=\"2xx\"} 2"), "both counted");
        }
        server.shutdown(SAFETY_TIMEOUT).expect("shutdown");
        let text = std::fs::read_to_string(&log).expect("log");
        assert_eq!(text.lines().count(), 1, "only the request that began with the log:\n{text}");
        assert!(text.contains("\"GET /second HTTP/1.1\" 200 4 \"-\" \"ua\""), "{text}");
    }
}
