//! Timeouts, over real sockets with small limits: a slow head gets 408 (and
//! trickling does not extend the header timeout), a stalled body gets 408, an
//! idle keep-alive connection and a silent one are closed without a word.
//!
//! These tests assert on bytes and closure only, never on elapsed time; the
//! reads' safety timeout (10 s) is far above every limit set here.

mod common;

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use common::{echo, serve_with, Client, Log};
use porter::Limits;

fn short() -> Limits {
    Limits {
        header_timeout: Duration::from_millis(200),
        body_timeout: Duration::from_millis(200),
        idle_timeout: Duration::from_millis(200),
        ..Limits::default()
    }
}

#[test]
fn partial_head_gets_408_then_close() {
    let log = Log::new();
    let server = serve_with(short(), echo(&log));
    let mut c = Client::connect(server.local_addr());
    c.send("GET / HTTP/1.1\r\nHost:");
    let r = c.read_reply();
    assert_eq!(r.status, 408, "{}", r.head_text());
    assert!(r.says_close(), "{}", r.head_text());
    c.assert_closed("after 408 for a partial head");
    assert_eq!(log.count(), 0);
}

#[test]
fn partial_second_head_on_a_keep_alive_connection_gets_408() {
    let log = Log::new();
    let server = serve_with(short(), echo(&log));
    let mut c = Client::connect(server.local_addr());
    assert_eq!(c.round_trip("GET /first HTTP/1.1\r\nHost: t\r\n\r\n").status, 200);
    c.send("GET /second HTTP/1.1\r\n");
    let r = c.read_reply();
    assert_eq!(r.status, 408, "{}", r.head_text());
    assert!(r.says_close());
    c.assert_closed("after 408 for a partial second head");
    assert_eq!(log.lines(), ["GET /first"]);
}

#[test]
fn trickling_a_head_does_not_extend_the_header_timeout() {
    let log = Log::new();
    let server = serve_with(short(), echo(&log));
    let mut c = Client::connect(server.local_addr());
    c.send("GET / HTTP/1.1\r\nHost: t\r\nX-Slow: ");
    // The client's behaviour: one byte every 50 ms, for up to 30 s, a head that
    // never ends. If each byte extended the 200 ms header timeout, no reply could
    // come before the reader's 10 s safety timeout, and the test fails there.
    let done = Arc::new(AtomicBool::new(false));
    let mut writer = c.stream.try_clone().expect("clone stream");
    let writer_done = done.clone();
    let trickler = thread::spawn(move || {
        let mut sent = 0usize;
        while sent < 600 && !writer_done.load(Ordering::SeqCst) {
            if writer.write_all(b"a").is_err() {
                break;
            }
            sent += 1;
            thread::sleep(Duration::from_millis(50));
        }
        sent
    });
    let r = c.read_reply();
    done.store(true, Ordering::SeqCst);
    let sent = trickler.join().expect("trickler thread");
    assert_eq!(r.status, 408, "{}", r.head_text());
    assert!(r.says_close());
    assert!(sent < 600, "the 408 must come while the client is still trickling");
    c.assert_closed("after 408 for a trickled head");
    assert_eq!(log.count(), 0);
}

#[test]
fn partial_body_gets_408_then_close() {
    let log = Log::new();
    let server = serve_with(short(), echo(&log));
    let mut c = Client::connect(server.local_addr());
    c.send("POST /up HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\nhello");
    let r = c.read_reply();
    assert_eq!(r.status, 408, "{}", r.head_text());
    assert!(r.says_close(), "{}", r.head_text());
    c.assert_closed("after 408 for a partial body");
    assert_eq!(log.count(), 0, "the handler must not see an incomplete body");
}

#[test]
fn partial_chunked_body_gets_408_then_close() {
    let log = Log::new();
    let server = serve_with(short(), echo(&log));
    let mut c = Client::connect(server.local_addr());
    c.send("POST /up HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n");
    let r = c.read_reply();
    assert_eq!(r.status, 408, "{}", r.head_text());
    assert!(r.says_close());
    c.assert_closed("after 408 for a partial chunked body");
    assert_eq!(log.count(), 0);
}

#[test]
fn expected_body_that_never_comes_gets_408() {
    let log = Log::new();
    let server = serve_with(short(), echo(&log));
    let mut c = Client::connect(server.local_addr());
    c.send("POST /up HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n");
    let interim = c.read_reply();
    assert_eq!(interim.status, 100);
    let r = c.read_reply();
    assert_eq!(r.status, 408, "{}", r.head_text());
    assert!(r.says_close());
    c.assert_closed("after 408 for a body that never came");
    assert_eq!(log.count(), 0);
}

#[test]
fn idle_keep_alive_connection_is_closed_silently() {
    let log = Log::new();
    let server = serve_with(short(), echo(&log));
    let mut c = Client::connect(server.local_addr());
    let r = c.round_trip("GET /once HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_eq!(r.status, 200);
    assert!(!r.says_close());
    // Nothing more is sent: after idle_timeout the server closes, without a 408.
    c.assert_closed("idle keep-alive connection");
    assert_eq!(log.lines(), ["GET /once"]);
}

#[test]
fn silent_connection_is_closed_without_a_reply() {
    let log = Log::new();
    let server = serve_with(short(), echo(&log));
    let mut c = Client::connect(server.local_addr());
    // Not one byte: the header timeout closes it without a 408 (no request began).
    c.assert_closed("connection that never sent a byte");
    assert_eq!(log.count(), 0);
}

#[test]
fn a_slow_but_steady_body_is_not_cut_off() {
    // body_timeout measures the pause between reads, so a body that keeps moving
    // (a byte every 50 ms for 1 s, against a 500 ms limit) is read in full.
    let log = Log::new();
    let limits = Limits { body_timeout: Duration::from_millis(500), ..Limits::default() };
    let server = serve_with(limits, echo(&log));
    let mut c = Client::connect(server.local_addr());
    let body = common::pattern(20);
    c.send("POST /slow HTTP/1.1\r\nHost: t\r\nContent-Length: 20\r\n\r\n");
    for byte in &body {
        thread::sleep(Duration::from_millis(50));
        c.send([*byte]);
    }
    let r = c.read_reply();
    assert_eq!(r.status, 200, "{}", r.head_text());
    assert_eq!(r.body, common::echoed("POST", "/slow", &body));
    c.assert_alive("after a slow body");
}

#[test]
fn a_client_that_stops_reading_is_dropped_after_write_timeout() {
    let limits = Limits { write_timeout: Duration::from_millis(200), ..Limits::default() };
    const LEN: u64 = 64 << 20;
    let server = serve_with(limits, |_req: porter::Request| {
        porter::Response::new(200)
            .body(porter::Body::reader(std::io::Read::take(std::io::repeat(b'z'), LEN), Some(LEN)))
    });
    let mut c = Client::connect(server.local_addr());
    c.send("GET /huge HTTP/1.1\r\nHost: t\r\n\r\n");
    // The client's behaviour: it does not read for a while (far beyond write_timeout).
    thread::sleep(Duration::from_millis(1500));
    // Then it drains: it gets what the kernel buffered, then the end of the connection
    // (a server that never gave up would send all 64 MB and then keep the
    // connection open, and the read would hit the 10 s safety net).
    let all = c.read_to_eof();
    assert!(all.starts_with(b"HTTP/1.1 200 OK\r\n"));
    assert!((all.len() as u64) < LEN, "the whole body arrived: the stalled connection was not dropped");
}

#[test]
fn backpressure_does_not_turn_into_a_false_header_timeout() {
    // A pipelining client sends 100 requests at once, then (its behaviour) reads
    // nothing for a while. porter stops reading at max_pipelined, with complete
    // requests still unparsed; that wait is porter's, not a slow head, so no 408.
    let limits = Limits { header_timeout: Duration::from_millis(200), max_pipelined: 8, ..Limits::default() };
    let server = serve_with(limits, |req: porter::Request| {
        let mut body = common::pattern(100_000);
        body[..8].copy_from_slice(format!("{:>8}", req.path()).as_bytes());
        porter::Response::bytes(body)
    });
    let mut c = Client::connect(server.local_addr());
    let batch: String = (0..100).map(|i| format!("GET /{i} HTTP/1.1\r\nHost: t\r\n\r\n")).collect();
    c.send(batch);
    thread::sleep(Duration::from_millis(1000));
    for i in 0..100 {
        let r = c.read_reply();
        assert_eq!(r.status, 200, "reply {i}: {}", r.head_text());
        assert_eq!(&r.body[..8], format!("{:>8}", format!("/{i}")).as_bytes(), "reply {i}");
    }
    c.assert_alive("after a slow-reading pipeline");
}

/// `write_timeout` as nginx's `send_timeout`: it holds for every kind of body,
/// a file going out with sendfile too. The client asks for a file far larger
/// than the socket buffers and never reads; with a long idle timeout, only the
/// write timeout can end the connection. It is seen ending server-side (the
/// open-connections gauge back to zero, with a safety timeout), then the client
/// reads what was in flight and finds the body cut short.
#[test]
fn a_client_that_stops_reading_a_file_is_dropped_after_write_timeout() {
    const LEN: usize = 32 << 20;
    let dir = common::TempDir::new("stalled-file");
    std::fs::write(dir.path().join("big.bin"), common::pattern(LEN)).expect("write the file");
    let limits = Limits {
        write_timeout: Duration::from_millis(200),
        idle_timeout: Duration::from_secs(600),
        ..Limits::default()
    };
    let metrics = porter::Metrics::new();
    let server = porter::Server::bind("127.0.0.1:0")
        .threads(1)
        .limits(limits)
        .metrics(&metrics)
        .build(porter::Files::new(dir.path()).expect("Files::new"))
        .expect("server builds")
        .spawn()
        .expect("server spawns");
    let mut c = Client::connect(server.local_addr());
    c.send("GET /big.bin HTTP/1.1\r\nHost: t\r\n\r\n");
    let closed = || {
        let text = metrics.render();
        text.contains("\nporter_connections_accepted_total 1\n") && text.contains("\nporter_connections_open 0\n")
    };
    common::wait_until(closed, "the server closed the connection of a client that stopped reading a file");
    let mut received = 0usize;
    let mut chunk = vec![0u8; 1 << 16];
    loop {
        match std::io::Read::read(&mut c.stream, &mut chunk) {
            Ok(0) | Err(_) => break, // EOF, or a reset: the connection is over either way
            Ok(n) => received += n,
        }
    }
    assert!(received < LEN, "the whole file arrived ({received} bytes): the stalled download was not cut");
}
