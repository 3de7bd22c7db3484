//! Response bodies produced on another thread (`Body::channel`): chunked or
//! with a length, backpressure against a client that does not read, and the
//! producer released when the client goes away.

mod common;

use std::io::Read;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc};
use std::thread;
use std::time::Duration;

use common::{serve, Client, SAFETY_TIMEOUT};
use porter::{Body, BodySender, Reply, Request, Response, ServerHandle};

const PIECE: usize = 64 * 1024;

/// Serves `/stream/N` as N pieces of 64 KiB produced on a new thread; the byte
/// at offset i is `i % 251`. Reports each producer's outcome on the channel.
fn producer_server(sent: Arc<AtomicU64>) -> (ServerHandle, mpsc::Receiver<std::io::Result<()>>) {
    let (done_tx, done_rx) = mpsc::channel();
    let done_tx = std::sync::Mutex::new(done_tx);
    let server = serve(move |req: Request| -> Reply {
        let pieces: usize = req.path().trim_start_matches("/stream/").parse().unwrap_or(1);
        let len = (req.query() == Some("len")).then_some((pieces * PIECE) as u64);
        let (reply, responder) = req.defer();
        let (sender, body) = Body::channel(len);
        responder.respond(Response::new(200).body(body));
        let (sent, done) = (sent.clone(), done_tx.lock().expect("lock").clone());
        thread::spawn(move || done.send(produce(&sender, pieces, &sent)).expect("test listens"));
        reply
    });
    (server, done_rx)
}

fn produce(sender: &BodySender, pieces: usize, sent: &AtomicU64) -> std::io::Result<()> {
    for p in 0..pieces {
        let piece: Vec<u8> = (0..PIECE).map(|i| ((p * PIECE + i) % 251) as u8).collect();
        sender.send(piece)?;
        sent.fetch_add(PIECE as u64, Ordering::SeqCst);
    }
    Ok(())
}

fn check_pattern(body: &[u8]) {
    for (i, b) in body.iter().enumerate() {
        assert_eq!(*b, (i % 251) as u8, "byte {i} of the streamed body");
    }
}

#[test]
fn a_body_from_another_thread_arrives_chunked_and_whole() {
    let (server, done) = producer_server(Arc::default());
    let mut client = Client::connect(server.local_addr());
    let reply = client.round_trip("GET /stream/40 HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_eq!(reply.header("Transfer-Encoding"), Some("chunked"));
    assert_eq!(reply.body.len(), 40 * PIECE);
    check_pattern(&reply.body);
    done.recv_timeout(SAFETY_TIMEOUT).expect("producer ended").expect("producer succeeded");
    client.assert_alive("after a streamed body");
}

#[test]
fn a_body_with_a_length_goes_out_with_content_length() {
    let (server, _done) = producer_server(Arc::default());
    let mut client = Client::connect(server.local_addr());
    let reply = client.round_trip("GET /stream/3?len HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_eq!(reply.header("Content-Length"), Some(&*(3 * PIECE).to_string()));
    check_pattern(&reply.body);
}

#[test]
fn a_client_that_does_not_read_holds_the_producer_back() {
    let sent = Arc::new(AtomicU64::new(0));
    let (server, done) = producer_server(sent.clone());
    let mut client = Client::connect(server.local_addr());
    let total = 1024 * PIECE; // 64 MiB, twice the bound below
    client.send("GET /stream/1024 HTTP/1.1\r\nHost: t\r\n\r\n");
    // Client behaviour: read nothing for a while. Only porter's bounded queue,
    // its output buffer and the kernel's socket buffers may fill meanwhile.
    thread::sleep(Duration::from_millis(500));
    let buffered = sent.load(Ordering::SeqCst);
    assert!(buffered < 32 << 20, "{buffered} bytes produced for a client that read none");
    // Now read it all: every byte arrives, in order, and the producer completes.
    let reply = client.read_reply();
    assert_eq!(reply.body.len(), total);
    check_pattern(&reply.body);
    done.recv_timeout(SAFETY_TIMEOUT).expect("producer ended").expect("producer succeeded");
}

#[test]
fn the_producer_learns_when_the_client_goes_away() {
    let (server, done) = producer_server(Arc::default());
    let mut client = Client::connect(server.local_addr());
    client.send("GET /stream/100000 HTTP/1.1\r\nHost: t\r\n\r\n");
    let mut first = [0u8; 1024];
    client.stream.read_exact(&mut first).expect("the reply starts");
    drop(client);
    let outcome = done.recv_timeout(SAFETY_TIMEOUT).expect("the producer was released");
    let err = outcome.expect_err("sending to a gone client fails");
    assert_eq!(err.kind(), std::io::ErrorKind::BrokenPipe);
}

#[test]
fn head_drops_the_body_and_releases_the_producer() {
    let (server, done) = producer_server(Arc::default());
    let mut client = Client::connect(server.local_addr());
    client.send("HEAD /stream/100000 HTTP/1.1\r\nHost: t\r\n\r\n");
    let reply = client.read_head_reply();
    assert_eq!(reply.status, 200);
    assert!(reply.body.is_empty());
    let outcome = done.recv_timeout(SAFETY_TIMEOUT).expect("the producer was released");
    assert!(outcome.is_err(), "nobody reads a HEAD body");
    client.assert_alive("after HEAD of a streamed body");
}

#[test]
fn an_aborted_body_closes_the_connection_without_the_last_chunk() {
    let server = serve(|req: Request| -> Reply {
        let (reply, responder) = req.defer();
        let (sender, body) = Body::channel(None);
        responder.respond(Response::new(200).body(body));
        thread::spawn(move || {
            sender.send("partial").expect("client is there");
            sender.abort();
        });
        reply
    });
    let mut client = Client::connect(server.local_addr());
    client.send("GET / HTTP/1.1\r\nHost: t\r\n\r\n");
    let raw = client.read_to_eof();
    let text = String::from_utf8_lossy(&raw);
    assert!(text.contains("7\r\npartial\r\n"), "{text}");
    assert!(!text.ends_with("0\r\n\r\n"), "no last chunk after an abort: {text}");
}
