//! Many clients at once: `max_connections` makes extra clients wait (and serves
//! them once a slot frees), 50 keep-alive clients × 20 requests against two
//! worker loops all get the right answers, and every worker of four accepts
//! connections on its own SO_REUSEPORT listener.

mod common;

use std::io::ErrorKind;
use std::io::Read;
use std::net::{Ipv6Addr, SocketAddr};
use std::thread;
use std::time::Duration;

use common::{echo, echoed, serve_threads, serve_with, Client, Log};
use porter::{Limits, Request, Response};

#[test]
fn max_connections_makes_the_next_client_wait_until_one_closes() {
    let log = Log::new();
    let server = serve_with(Limits { max_connections: 2, ..Limits::default() }, echo(&log));
    let addr = server.local_addr();
    let mut c1 = Client::connect(addr);
    let mut c2 = Client::connect(addr);
    assert_eq!(c1.round_trip("GET /c1 HTTP/1.1\r\nHost: t\r\n\r\n").status, 200);
    assert_eq!(c2.round_trip("GET /c2 HTTP/1.1\r\nHost: t\r\n\r\n").status, 200);

    // The kernel completes the third handshake (listen backlog); porter must not take it.
    let mut c3 = Client::connect(addr);
    c3.send("GET /c3 HTTP/1.1\r\nHost: t\r\n\r\n");
    // The first two keep being served meanwhile.
    assert_eq!(c1.round_trip("GET /c1-again HTTP/1.1\r\nHost: t\r\n\r\n").status, 200);
    assert_eq!(c2.round_trip("GET /c2-again HTTP/1.1\r\nHost: t\r\n\r\n").status, 200);
    // A negative check needs a bounded look: nothing may arrive on the third
    // connection. (This wait can only let a broken limit slip by; it cannot
    // fail a correct server.)
    c3.stream.set_read_timeout(Some(Duration::from_millis(300))).expect("set read timeout");
    let mut byte = [0u8; 1];
    match c3.stream.read(&mut byte) {
        Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
        other => panic!("the third connection was served over max_connections: {other:?}"),
    }
    c3.stream.set_read_timeout(Some(common::SAFETY_TIMEOUT)).expect("set read timeout");
    assert!(!log.lines().contains(&"GET /c3".to_string()), "the third request reached the handler");

    // One of the first two goes away: the third is accepted and answered.
    drop(c1);
    let r = c3.read_reply();
    assert_eq!((r.status, r.body), (200, echoed("GET", "/c3", b"")));
    c3.assert_alive("third connection once admitted");
    assert_eq!(c2.round_trip("GET /c2-last HTTP/1.1\r\nHost: t\r\n\r\n").status, 200);
}

#[test]
fn fifty_keep_alive_clients_times_twenty_requests_on_two_threads() {
    let log = Log::new();
    let server = serve_threads(2, Limits::default(), echo(&log));
    let addr = server.local_addr();
    thread::scope(|s| {
        for t in 0..50 {
            s.spawn(move || {
                let mut c = Client::connect(addr);
                for i in 0..20 {
                    let (req, want) = if i % 2 == 0 {
                        let target = format!("/t{t}/r{i}");
                        (format!("GET {target} HTTP/1.1\r\nHost: t\r\n\r\n").into_bytes(), echoed("GET", &target, b""))
                    } else {
                        let target = format!("/t{t}/p{i}");
                        let body = format!("body of client {t} request {i}");
                        let mut req =
                            format!("POST {target} HTTP/1.1\r\nHost: t\r\nContent-Length: {}\r\n\r\n", body.len())
                                .into_bytes();
                        req.extend_from_slice(body.as_bytes());
                        (req, echoed("POST", &target, body.as_bytes()))
                    };
                    let r = c.round_trip(&req);
                    assert_eq!(r.status, 200, "client {t} request {i}");
                    assert_eq!(r.body, want, "client {t} request {i}");
                    assert!(!r.says_close(), "client {t} request {i}");
                }
            });
        }
    });
    assert_eq!(log.count(), 1000);
    // Every client used one connection for its twenty requests.
    let seen = log.seen();
    for t in 0..50 {
        let prefix = format!("/t{t}/");
        let peers: std::collections::HashSet<_> =
            seen.iter().filter(|s| s.target.starts_with(&prefix)).map(|s| s.peer).collect();
        assert_eq!(peers.len(), 1, "client {t} used {} connections", peers.len());
    }
}

#[test]
fn fifty_clients_pipelining_on_one_thread() {
    let log = Log::new();
    let server = serve_threads(1, Limits::default(), echo(&log));
    let addr = server.local_addr();
    thread::scope(|s| {
        for t in 0..50 {
            s.spawn(move || {
                let mut c = Client::connect(addr);
                let batch: String = (0..20).map(|i| format!("GET /t{t}/{i} HTTP/1.1\r\nHost: t\r\n\r\n")).collect();
                c.send(batch);
                for i in 0..20 {
                    let r = c.read_reply();
                    assert_eq!(r.body, echoed("GET", &format!("/t{t}/{i}"), b""), "client {t} reply {i}");
                }
            });
        }
    });
    assert_eq!(log.count(), 1000);
}

#[test]
fn five_thousand_pipelined_requests_from_one_client() {
    // More than the per-turn read budget and far more than max_pipelined: the
    // client writes from one thread while it reads on another, as a real
    // pipelining client must.
    let log = Log::new();
    let server = serve_threads(1, Limits::default(), echo(&log));
    let mut c = Client::connect(server.local_addr());
    let mut writer = c.stream.try_clone().expect("clone stream");
    let sender = thread::spawn(move || {
        let batch: String = (0..5000).map(|i| format!("GET /{i} HTTP/1.1\r\nHost: t\r\n\r\n")).collect();
        std::io::Write::write_all(&mut writer, batch.as_bytes()).expect("write the batch");
    });
    for i in 0..5000 {
        let r = c.read_reply();
        assert_eq!(r.body, echoed("GET", &format!("/{i}"), b""), "reply {i}");
    }
    sender.join().expect("sender thread");
    c.assert_alive("after 5000 pipelined requests");
    assert_eq!(log.count(), 5001);
}

#[test]
fn four_worker_threads_serve_many_connections() {
    let log = Log::new();
    let server = serve_threads(4, Limits::default(), echo(&log));
    let addr = server.local_addr();
    thread::scope(|s| {
        for t in 0..40 {
            s.spawn(move || {
                for i in 0..5 {
                    // A fresh connection each time, closed by the request.
                    let mut c = Client::connect(addr);
                    let r = c.round_trip(format!("GET /w{t}/{i} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"));
                    assert_eq!(r.body, echoed("GET", &format!("/w{t}/{i}"), b""));
                    c.assert_closed("Connection: close");
                }
            });
        }
    });
    assert_eq!(log.count(), 200);
    server.stop().expect("stop a four-thread server");
}

#[test]
fn every_worker_accepts_connections_on_its_own_listener() {
    // SO_REUSEPORT: each worker has its own listening socket and the kernel
    // spreads connections among them by address hash. The chance that 400
    // connections miss one of four sockets is about 4 * (3/4)^400.
    let server = serve_threads(4, Limits::default(), |_req: Request| {
        Response::text(thread::current().name().unwrap_or("?").to_string())
    });
    let mut workers = std::collections::BTreeSet::new();
    for _ in 0..400 {
        let mut c = Client::connect(server.local_addr());
        let r = c.round_trip("GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
        workers.insert(String::from_utf8_lossy(&r.body).into_owned());
        if workers.len() == 4 {
            break;
        }
    }
    assert_eq!(workers.len(), 4, "connections reached only {workers:?}");
    assert!(workers.iter().all(|name| name.starts_with("porter-")), "{workers:?}");
    // And each has a listener of its own: four sockets listen on the port.
    // /proc/net/tcp rows: slot, local address (hex IP:port), remote, state (0A = LISTEN).
    let port = format!(":{:04X}", server.local_addr().port());
    let tcp = std::fs::read_to_string("/proc/net/tcp").expect("/proc/net/tcp");
    let listening = tcp
        .lines()
        .map(|row| row.split_whitespace().collect::<Vec<_>>())
        .filter(|f| f.len() > 3 && f[1].ends_with(&port) && f[3] == "0A")
        .count();
    assert_eq!(listening, 4, "one SO_REUSEPORT listener per worker");
}

/// How long the byte stream of two replies of `len`-byte bodies is, once
/// both heads are in `got` (`None` before).
fn two_replies_len(got: &[u8], len: usize) -> Option<usize> {
    let first = common::find(got, b"\r\n\r\n")? + 4;
    let second = first + len + common::find(got.get(first + len..)?, b"\r\n\r\n")? + 4;
    Some(second + len)
}

/// One 10 MiB in-memory body, shared by every reply, to 16 clients that all
/// read slowly: one thread takes 16 KiB from each connection in turn, so every
/// reply is in flight at once. Each client gets exactly the body, twice
/// (keep-alive), with its Content-Length. (That the body is not copied per
/// connection is checked in the unit tests, where the buffer can be seen.)
#[test]
fn many_slow_clients_of_one_shared_body_each_get_it_exactly() {
    const LEN: usize = 10 << 20;
    let body = bytes::Bytes::from(common::pattern(LEN));
    let served = body.clone();
    let server = serve_threads(1, Limits::default(), move |_req: Request| Response::new(200).body(served.clone()));
    let mut clients: Vec<Client> = (0..16).map(|_| Client::connect(server.local_addr())).collect();
    for c in &mut clients {
        c.send("GET /a HTTP/1.1\r\nHost: t\r\n\r\nGET /b HTTP/1.1\r\nHost: t\r\n\r\n");
    }
    let mut received: Vec<Vec<u8>> = vec![Vec::new(); clients.len()];
    let mut chunk = vec![0u8; 16 * 1024];
    while received.iter().any(|got| two_replies_len(got, LEN) != Some(got.len())) {
        for (c, got) in clients.iter_mut().zip(&mut received) {
            if two_replies_len(got, LEN) == Some(got.len()) {
                continue;
            }
            let n = c.stream.read(&mut chunk).expect("read a piece of the reply");
            assert!(n > 0, "the server closed a keep-alive connection");
            got.extend_from_slice(&chunk[..n]);
        }
    }
    let content_length = format!("\r\nContent-Length: {LEN}\r\n");
    for got in &received {
        let first = common::find(got, b"\r\n\r\n").expect("a head") + 4;
        let rest = &got[first + LEN..];
        let second = common::find(rest, b"\r\n\r\n").expect("a second head") + 4;
        for head in [&got[..first], &rest[..second]] {
            assert!(head.starts_with(b"HTTP/1.1 200 OK\r\n"), "{}", String::from_utf8_lossy(head));
            assert!(common::find(head, content_length.as_bytes()).is_some(), "{}", String::from_utf8_lossy(head));
        }
        assert!(got[first..first + LEN] == body[..], "the first body, byte for byte");
        assert!(rest[second..] == body[..], "the second body, byte for byte");
    }
    for c in &mut clients {
        c.assert_alive("after two shared bodies");
    }
}

#[test]
fn a_second_server_on_a_taken_port_fails_and_the_first_serves_on() {
    // Both with several workers, so both would set SO_REUSEPORT: the kernel would
    // let the second join the first one's group and split the clients.
    let first = serve_threads(2, Limits::default(), |_req: Request| Response::text("first"));
    let addr = first.local_addr();
    for threads in [2, 1] {
        let second = porter::Server::bind(addr).threads(threads).build(|_req: Request| Response::text("second"));
        let e = second.err().unwrap_or_else(|| panic!("a second server ({threads} threads) bound {addr}"));
        assert_eq!(e.kind(), ErrorKind::AddrInUse, "{e}");
        assert!(e.to_string().contains(&addr.to_string()), "{e}");
    }
    for _ in 0..20 {
        let mut c = Client::connect(addr);
        let r = c.round_trip("GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
        assert_eq!(r.text(), "first");
    }
}

/// An IPv6 listener is IPv6 only: `0.0.0.0:P` and `[::]:P` are two listeners
/// of one server, with any number of workers (dual-stack, `[::]` took the
/// IPv4 port too and the second bind failed with `AddrInUse`).
#[test]
fn the_ipv4_and_ipv6_wildcards_share_a_port() {
    for threads in [2, 1] {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let server = porter::Server::builder()
            .listen(("0.0.0.0", port))
            .listen(("::", port))
            .threads(threads)
            .build(|req: Request| {
                Response::text(if req.local_addr().is_some_and(|a| a.is_ipv4()) { "v4" } else { "v6" })
            })
            .unwrap_or_else(|e| panic!("{threads} threads: {e}"))
            .spawn()
            .unwrap();
        for (addr, family) in
            [(SocketAddr::from(([127, 0, 0, 1], port)), "v4"), ((Ipv6Addr::LOCALHOST, port).into(), "v6")]
        {
            let mut c = Client::connect(addr);
            assert_eq!(c.round_trip("GET / HTTP/1.1\r\nHost: t\r\n\r\n").text(), family, "{threads} threads, {addr}");
        }
        server.stop().unwrap();
    }
}
