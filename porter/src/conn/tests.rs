//! The connection state machine driven by a scripted transport: input arrives in
//! chosen pieces with `WouldBlock` between them, writes may be cut short, and the
//! replies must be identical however the bytes were split.

use std::io;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use super::script::{run_script, Script};
use super::{After, Conn, Ctx};
use crate::event_loop::remote::Remote;
use crate::handler::Handler;
use crate::limits::Limits;
use crate::request::Request;
use crate::response::Response;
use crate::sys::poller::Token;

/// Answers `METHOD path body-length body` so every reply names its request.
struct Echo;

impl Handler for Echo {
    fn handle(&self, req: Request) -> crate::Reply {
        if req.path() == "/panic" {
            panic!("handler panic (expected by the test)");
        }
        let text =
            format!("{} {} {} {}", req.method(), req.path(), req.body().len(), String::from_utf8_lossy(req.body()));
        Response::text(text).into()
    }

    fn before_body(&self, req: &Request) -> Option<Response> {
        (req.path() == "/refuse").then(|| Response::error(403))
    }
}

/// One loop inbox shared by every test (answers land in it and are read back).
fn remote() -> &'static Arc<Remote> {
    static REMOTE: OnceLock<Arc<Remote>> = OnceLock::new();
    REMOTE.get_or_init(|| Arc::new(Remote::new().expect("eventfd")))
}

fn ctx<'a>(limits: &'a Limits, now: Instant) -> Ctx<'a> {
    Ctx {
        handler: &Echo,
        limits,
        date_line: b"Date: Thu, 01 Jan 1970 00:00:00 GMT\r\n",
        server_line: b"Server: porter\r\n",
        observe: None,
        now,
        remote: remote(),
    }
}

/// Runs the connection until its script is exhausted; returns it.
fn drive(script: Script, limits: &Limits) -> Conn<Script> {
    let now = Instant::now();
    let cx = ctx(limits, now);
    let mut scratch = vec![0u8; 4096];
    let mut conn = Conn::new(script, Token(0), None, now, limits);
    for _ in 0..10_000 {
        conn.readable = true;
        conn.writable = true;
        if conn.on_ready(&cx, &mut scratch) == After::Free || !conn.io.eof && conn.io.input.is_empty() {
            break;
        }
    }
    conn
}

fn output_of(pieces: &[&[u8]]) -> String {
    String::from_utf8_lossy(&run_script(&Echo, &Limits::default(), pieces, None).output).into_owned()
}

/// Status codes of the responses in `out`, in order.
fn statuses(out: &str) -> Vec<u16> {
    out.split("HTTP/1.1 ").skip(1).filter_map(|r| r.get(..3)?.parse().ok()).collect()
}

const PIPELINE: &[u8] = b"GET /a HTTP/1.1\r\nHost: x\r\n\r\n\
POST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello\
POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3;ext=1\r\nabc\r\n2\r\nde\r\n0\r\nT: v\r\n\r\n\
HEAD /d HTTP/1.1\r\nHost: x\r\n\r\n\
GET /e HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";

#[test]
fn pipelined_replies_leave_in_order() {
    let out = output_of(&[PIPELINE]);
    assert_eq!(statuses(&out), [200, 200, 200, 200, 200]);
    let bodies: Vec<&str> = ["GET /a 0 ", "POST /b 5 hello", "POST /c 5 abcde", "GET /e 0 "].to_vec();
    let mut at = 0;
    for b in bodies {
        let found = out[at..].find(b).unwrap_or_else(|| panic!("{b:?} missing or out of order in {out}"));
        at += found + b.len();
    }
    assert!(!out.contains("HEAD /d"), "HEAD reply carries no body");
    assert!(out.ends_with("GET /e 0 "), "nothing after the close reply");
    assert!(out.contains("Connection: close\r\n"));
}

#[test]
fn every_split_of_a_pipeline_gives_the_same_replies() {
    let whole = output_of(&[PIPELINE]);
    for i in 1..PIPELINE.len() {
        let split = output_of(&[&PIPELINE[..i], &PIPELINE[i..]]);
        assert_eq!(split, whole, "split at byte {i}");
    }
}

#[test]
fn byte_by_byte_input_gives_the_same_replies() {
    let whole = output_of(&[PIPELINE]);
    let pieces: Vec<&[u8]> = PIPELINE.chunks(1).collect();
    assert_eq!(output_of(&pieces), whole);
}

/// Item 7 of the hardening issue: the connection keeps its head scan between
/// reads, so a 12 KiB head arriving one byte per read is scanned once and
/// handed to httparse at most twice, with its field line and with its head (it
/// used to be rescanned and re-parsed per read).
#[test]
fn a_head_trickled_a_byte_per_read_is_scanned_once() {
    let fields: String = (0..60).map(|i| format!("X-Field-{i}: {}\r\n", "v".repeat(200))).collect();
    let head = format!("GET /slow HTTP/1.1\r\nHost: x\r\n{fields}\r\n").into_bytes();
    let pieces: Vec<&[u8]> = head.chunks(1).collect();
    crate::proto::parse::scan_work();
    let out = output_of(&pieces);
    let (scanned, judged) = crate::proto::parse::scan_work();
    assert!(out.starts_with("HTTP/1.1 200 OK\r\n") && out.ends_with("GET /slow 0 "), "{out}");
    assert!(scanned <= head.len(), "{scanned} bytes scanned for a head of {}", head.len());
    // Each field line is judged as it ends, and the head once whole.
    assert!(judged <= 2 * head.len(), "{judged} bytes judged for a head of {}", head.len());
}

#[test]
fn ready_replies_are_coalesced_into_one_write() {
    let one = b"GET /p HTTP/1.1\r\nHost: x\r\n\r\n";
    let input: Vec<u8> = one.repeat(16);
    let conn = drive(Script::new(&[&input]), &Limits::default());
    assert_eq!(statuses(&String::from_utf8_lossy(&conn.io.output)).len(), 16);
    assert_eq!(conn.io.writes, 1, "16 pipelined replies, one write");
}

#[test]
fn short_writes_and_would_block_lose_nothing() {
    let whole = output_of(&[PIPELINE]);
    let mut script = Script::new(&[PIPELINE]);
    script.write_cap = Some(7);
    let limits = Limits::default();
    let now = Instant::now();
    let cx = ctx(&limits, now);
    let mut scratch = vec![0u8; 4096];
    let mut conn = Conn::new(script, Token(0), None, now, &limits);
    for _ in 0..10_000 {
        conn.io.write_budget = Some(3); // three writes per wake-up, then WouldBlock
        conn.readable = true;
        conn.writable = true;
        if conn.on_ready(&cx, &mut scratch) == After::Free {
            break;
        }
    }
    assert_eq!(String::from_utf8_lossy(&conn.io.output), whole);
}

#[test]
fn pipelining_is_bounded_by_max_pipelined_while_the_client_does_not_read() {
    let limits = Limits { max_pipelined: 4, ..Limits::default() };
    let one = b"GET /p HTTP/1.1\r\nHost: x\r\n\r\n";
    let mut script = Script::new(&[&one.repeat(10)]);
    script.write_budget = Some(0); // the client never reads
    let now = Instant::now();
    let cx = ctx(&limits, now);
    let mut scratch = vec![0u8; 4096];
    let mut conn = Conn::new(script, Token(0), None, now, &limits);
    conn.on_ready(&cx, &mut scratch);
    assert!(conn.replies.len() <= 4, "queued {}", conn.replies.len());
    conn.io.write_budget = None;
    for _ in 0..100 {
        conn.readable = true;
        conn.writable = true;
        conn.on_ready(&cx, &mut scratch);
    }
    assert_eq!(statuses(&String::from_utf8_lossy(&conn.io.output)).len(), 10);
}

#[test]
fn bad_request_answers_400_and_closes_after_earlier_replies() {
    let out = output_of(&[b"GET /ok HTTP/1.1\r\nHost: x\r\n\r\nGET /bad\x01 HTTP/1.1\r\nHost: x\r\n\r\nGET /never HTTP/1.1\r\nHost: x\r\n\r\n"]);
    assert_eq!(statuses(&out), [200, 400]);
    assert!(!out.contains("/never"));
    assert!(out.ends_with("\r\n\r\n400 Bad Request: invalid request target\n"), "{out}");
}

#[test]
fn expect_continue_gets_100_before_the_body_is_read() {
    let head = b"POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n";
    let out = output_of(&[head, b"abc"]);
    assert_eq!(statuses(&out), [100, 200]);
    assert!(out.starts_with("HTTP/1.1 100 Continue\r\n\r\n"));
}

#[test]
fn early_refusal_with_expect_sends_no_100_and_closes() {
    let head = b"POST /refuse HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n";
    let conn = drive(Script::new(&[head]), &Limits::default());
    let out = String::from_utf8_lossy(&conn.io.output);
    assert_eq!(statuses(&out), [403]);
    assert!(out.contains("Connection: close"));
}

#[test]
fn early_refusal_without_expect_drains_the_body_and_keeps_going() {
    let out = output_of(&[
        b"POST /refuse HTTP/1.1\r\nHost: x\r\nContent-Length: 26\r\n\r\nGET /smuggled HTTP/1.1\r\n\r\n",
        b"GET /next HTTP/1.1\r\nHost: x\r\n\r\n",
    ]);
    assert_eq!(statuses(&out), [403, 200]);
    assert!(!out.contains("smuggled"), "the drained body is never parsed as a request");
    assert!(out.contains("GET /next 0"));
}

#[test]
fn announced_body_over_the_limit_is_413_without_reading_it() {
    let limits = Limits { max_body: 4, ..Limits::default() };
    let conn = drive(Script::new(&[b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"]), &limits);
    let out = String::from_utf8_lossy(&conn.io.output);
    assert_eq!(statuses(&out), [413]);
    assert!(out.contains("Connection: close"));
}

#[test]
fn chunked_body_over_the_limit_is_413() {
    let limits = Limits { max_body: 4, ..Limits::default() };
    let input = b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n3\r\ndef\r\n0\r\n\r\n";
    let out = String::from_utf8_lossy(&drive(Script::new(&[input]), &limits).io.output).into_owned();
    assert_eq!(statuses(&out), [413]);
}

#[test]
fn handler_panic_becomes_500_and_the_connection_lives_on() {
    let out = output_of(&[b"GET /panic HTTP/1.1\r\nHost: x\r\n\r\nGET /after HTTP/1.1\r\nHost: x\r\n\r\n"]);
    assert_eq!(statuses(&out), [500, 200]);
}

#[test]
fn http10_closes_unless_keep_alive_is_asked() {
    let out = output_of(&[b"GET /a HTTP/1.0\r\n\r\nGET /b HTTP/1.0\r\n\r\n"]);
    assert_eq!(statuses(&out), [200]);
    assert!(out.contains("Connection: close"));
    let out = output_of(&[b"GET /a HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /b HTTP/1.0\r\n\r\n"]);
    assert_eq!(statuses(&out), [200, 200]);
    assert!(out.contains("Connection: keep-alive"));
}

#[test]
fn half_closed_client_still_gets_its_replies_and_then_the_connection_dies() {
    let conn = drive(Script::new(&[b"GET /a HTTP/1.1\r\nHost: x\r\n\r\n"]), &Limits::default());
    assert_eq!(statuses(&String::from_utf8_lossy(&conn.io.output)), [200]);
    assert_eq!(conn.phase, super::Phase::Dead);
}

#[test]
fn idle_connection_holds_no_buffers() {
    let mut script = Script::new(&[b"GET /a HTTP/1.1\r\nHost: x\r\n\r\n"]);
    script.eof = false;
    let conn = drive(script, &Limits::default());
    assert_eq!(conn.rbuf.capacity(), 0);
    assert!(conn.out.is_idle());
    assert_eq!(conn.timer, super::TimerKind::Idle);
}

#[test]
fn slow_head_times_out_with_408_even_while_trickling() {
    let limits = Limits { header_timeout: Duration::from_secs(10), ..Limits::default() };
    let mut script = Script::new(&[b"GET /a HTTP/1.1\r\n"]);
    script.eof = false;
    let start = Instant::now();
    let mut scratch = vec![0u8; 4096];
    let mut conn = Conn::new(script, Token(0), None, start, &limits);
    conn.on_ready(&ctx(&limits, start), &mut scratch);
    let deadline = conn.deadline().expect("a header deadline");
    // One more byte five seconds later does not move the deadline.
    conn.io.input.push_back(Some(b"H".to_vec()));
    conn.readable = true;
    conn.on_ready(&ctx(&limits, start + Duration::from_secs(5)), &mut scratch);
    assert_eq!(conn.deadline(), Some(deadline));
    conn.on_timer(&ctx(&limits, deadline), &mut scratch);
    let out = String::from_utf8_lossy(&conn.io.output).into_owned();
    assert_eq!(statuses(&out), [408]);
    assert!(out.contains("Connection: close"));
}

#[test]
fn each_request_restarts_the_idle_timeout() {
    let limits = Limits::default();
    let mut script = Script::new(&[b"GET /a HTTP/1.1\r\nHost: x\r\n\r\n"]);
    script.eof = false;
    let start = Instant::now();
    let mut scratch = vec![0u8; 4096];
    let mut conn = Conn::new(script, Token(0), None, start, &limits);
    conn.on_ready(&ctx(&limits, start), &mut scratch);
    assert_eq!(conn.timer, super::TimerKind::Idle);
    let first = conn.deadline().expect("idle deadline");
    // A whole request read, answered and done within one turn, 50 s later.
    let later = start + Duration::from_secs(50);
    conn.io.input.clear();
    conn.io.input.push_back(Some(b"GET /b HTTP/1.1\r\nHost: x\r\n\r\n".to_vec()));
    conn.readable = true;
    conn.on_ready(&ctx(&limits, later), &mut scratch);
    assert_eq!(conn.timer, super::TimerKind::Idle);
    assert_eq!(conn.deadline(), Some(later + limits.idle_timeout));
    assert!(conn.deadline() > Some(first));
}

#[test]
fn idle_timeout_closes_silently() {
    let limits = Limits::default();
    let mut script = Script::new(&[b"GET /a HTTP/1.1\r\nHost: x\r\n\r\n"]);
    script.eof = false;
    let conn_start = Instant::now();
    let mut conn = drive(script, &limits);
    let written = conn.io.output.len();
    let deadline = conn.deadline().expect("idle deadline");
    assert!(deadline >= conn_start + limits.idle_timeout);
    let mut scratch = vec![0u8; 4096];
    assert_eq!(conn.on_timer(&ctx(&limits, deadline), &mut scratch), After::Free);
    assert_eq!(conn.io.output.len(), written, "no bytes on an idle close");
}

#[test]
fn a_reader_body_streams_chunked_and_a_short_reader_closes() {
    struct Streams;
    impl Handler for Streams {
        fn handle(&self, req: Request) -> crate::Reply {
            let data = vec![b'z'; 100_000];
            let body = match req.path() {
                "/chunked" => crate::Body::reader(io::Cursor::new(data), None),
                _ => crate::Body::reader(io::Cursor::new(data), Some(200_000)),
            };
            Response::new(200).body(body).into()
        }
    }
    let limits = Limits::default();
    let now = Instant::now();
    let cx = Ctx { handler: &Streams, ..ctx(&limits, now) };
    let mut scratch = vec![0u8; 16 * 1024];
    let mut conn = Conn::new(Script::new(&[b"GET /chunked HTTP/1.1\r\nHost: x\r\n\r\n"]), Token(0), None, now, &limits);
    for _ in 0..100 {
        conn.readable = true;
        conn.writable = true;
        if conn.on_ready(&cx, &mut scratch) == After::Free {
            break;
        }
    }
    let out = String::from_utf8_lossy(&conn.io.output).into_owned();
    assert!(out.contains("Transfer-Encoding: chunked\r\n"));
    assert!(out.ends_with("\r\n0\r\n\r\n"));
    assert_eq!(out.matches('z').count(), 100_000);

    let mut conn = Conn::new(Script::new(&[b"GET /short HTTP/1.1\r\nHost: x\r\n\r\n"]), Token(0), None, now, &limits);
    let mut after = After::Wait;
    for _ in 0..100 {
        conn.readable = true;
        conn.writable = true;
        after = conn.on_ready(&cx, &mut scratch);
        if after == After::Free {
            break;
        }
    }
    assert_eq!(after, After::Free, "a body shorter than its Content-Length ends the connection");
}

#[test]
fn a_streaming_handler_that_does_not_read_stops_the_socket_reads() {
    use std::sync::Mutex;
    /// Streams bodies and parks each reader, unread.
    struct Parks(Mutex<Vec<crate::BodyReader>>);
    impl Handler for Parks {
        fn handle(&self, mut req: Request) -> crate::Reply {
            self.0.lock().unwrap().push(req.body_reader());
            let (reply, responder) = req.defer();
            std::mem::forget(responder); // never answers within this test
            reply
        }
        fn streams_body(&self, _req: &Request) -> Option<crate::BodyLimit> {
            Some(crate::BodyLimit::Server)
        }
    }
    let handler = Parks(Mutex::new(Vec::new()));
    let limits = Limits::default();
    let now = Instant::now();
    let cx = Ctx { handler: &handler, ..ctx(&limits, now) };
    let body_len = 8 << 20;
    let mut input = format!("POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: {body_len}\r\n\r\n").into_bytes();
    input.resize(input.len() + body_len, b'b');
    let mut script = Script::new(&[&input]);
    script.eof = false;
    let mut scratch = vec![0u8; 16 * 1024];
    let mut conn = Conn::new(script, Token(0), None, now, &limits);
    for _ in 0..1000 {
        conn.readable = true;
        conn.writable = true;
        conn.on_ready(&cx, &mut scratch);
    }
    let unread: usize = conn.io.input.iter().flatten().map(Vec::len).sum();
    let taken = input.len() - unread;
    let bound = crate::upload::PIPE_CAPACITY + 2 * scratch.len() + 1024;
    assert!(taken <= bound, "took {taken} bytes off the socket for a reader that read none (bound {bound})");
    assert!(taken >= crate::upload::PIPE_CAPACITY, "the pipe itself was filled ({taken})");
    assert_eq!(handler.0.lock().unwrap().len(), 1);
}

#[test]
fn a_flood_without_a_head_end_keeps_the_read_buffer_bounded() {
    let limits = Limits::default();
    let flood = vec![b'a'; 4 << 20];
    let pieces: Vec<&[u8]> = flood.chunks(4096).collect();
    let run = run_script(&Echo, &limits, &pieces, None);
    assert!(run.max_read_buffer <= limits.max_head + 64 * 1024, "read buffer grew to {}", run.max_read_buffer);
    assert_eq!(statuses(&String::from_utf8_lossy(&run.output)), [414]);
}

/// Serves `/file` from a temporary file of known bytes, `/text` from memory.
struct FileServer(std::path::PathBuf);

impl Handler for FileServer {
    fn handle(&self, req: Request) -> crate::Reply {
        if req.path() != "/file" {
            return Response::text("in memory").into();
        }
        let file = std::fs::File::open(&self.0).expect("the test file");
        let len = file.metadata().expect("its metadata").len();
        Response::new(200).body(crate::response::Body::file(file, 0, len)).into()
    }
}

#[test]
fn a_head_before_a_file_body_is_written_corked_and_nothing_else_is() {
    let path = std::env::temp_dir().join(format!("porter-corked-{}", std::process::id()));
    std::fs::write(&path, b"file bytes").expect("write the test file");
    let limits = Limits::default();
    let now = Instant::now();
    let handler = FileServer(path.clone());
    let cx = Ctx { handler: &handler, ..ctx(&limits, now) };
    let mut conn = Conn::new(
        Script::new(&[b"GET /text HTTP/1.1\r\nHost: x\r\n\r\nGET /file HTTP/1.1\r\nHost: x\r\n\r\n"]),
        Token(0),
        None,
        now,
        &limits,
    );
    let mut scratch = vec![0u8; 4096];
    for _ in 0..16 {
        conn.readable = true;
        conn.writable = true;
        if conn.on_ready(&cx, &mut scratch) == After::Free {
            break;
        }
    }
    std::fs::remove_file(&path).expect("remove the test file");
    let out = String::from_utf8_lossy(&conn.io.output).into_owned();
    let corked = String::from_utf8_lossy(&conn.io.corked).into_owned();
    assert!(out.ends_with("\r\n\r\nfile bytes"), "{out}");
    // Both heads (and the first reply's body) were waiting in one buffer in front of
    // the file: all of it goes out corked, the file itself (sendfile's job) does not.
    assert!(corked.starts_with("HTTP/1.1 200 OK\r\n") && corked.contains("in memory"), "{corked}");
    assert!(corked.ends_with("\r\n\r\n") && !corked.contains("file bytes"), "{corked}");
    assert_eq!(statuses(&out), [200, 200]);
}

#[test]
fn the_transport_hears_the_output_ended_once_the_last_reply_is_written() {
    // TLS queues close_notify at that moment: after the last byte of the last
    // reply (the pipelined one before it included), before the FIN, and never
    // on a connection that stays open. Writes are cut short and refused in
    // between, so the replies take many passes of the write loop.
    let limits = Limits::default();
    let close = b"GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    for (write_cap, write_budget) in [(None, None), (Some(7), None), (Some(7), Some(3))] {
        let script = Script { eof: false, write_cap, write_budget, ..Script::new(&[close]) };
        let mut conn = drive(script, &limits);
        while !conn.io.shut_down && write_budget.is_some() {
            conn.io.write_budget = Some(3); // the socket drains: the loop resumes
            conn.writable = true;
            conn.on_ready(&ctx(&limits, Instant::now()), &mut [0u8; 4096]);
        }
        let out = String::from_utf8_lossy(&conn.io.output).into_owned();
        assert_eq!(statuses(&out), [200, 200], "{write_cap:?} {write_budget:?}");
        assert!(conn.io.shut_down);
        let told = &conn.io.end_of_output_at;
        assert!(!told.is_empty() && told.iter().all(|&at| at == (out.len(), false)), "{told:?} of {}", out.len());
    }
    let keep_alive = b"GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n";
    let open = drive(Script { eof: false, ..Script::new(&[keep_alive]) }, &limits);
    assert!(open.io.end_of_output_at.is_empty() && !open.io.shut_down);
}

#[test]
fn replies_without_a_file_body_are_never_corked() {
    let limits = Limits::default();
    let conn = drive(Script::new(&[PIPELINE]), &limits);
    assert!(!conn.io.output.is_empty());
    assert!(conn.io.corked.is_empty());
}

/// Replies answered so far according to `metrics` (every status class summed).
fn recorded(metrics: &crate::Metrics) -> usize {
    let text = metrics.render();
    let counts = text.lines().filter(|l| l.starts_with("porter_requests_total{"));
    counts.filter_map(|l| l.rsplit(' ').next()?.parse::<usize>().ok()).sum()
}

#[test]
fn a_reply_is_observed_only_once_its_last_byte_is_written() {
    let whole = output_of(&[PIPELINE]);
    // Where each reply ends in the complete output.
    let mut ends: Vec<usize> = whole.match_indices("HTTP/1.1 2").map(|(i, _)| i).skip(1).collect();
    ends.push(whole.len());
    let metrics = crate::Metrics::new();
    let config = crate::observe::ObserveConfig { log: None, metrics: Some(metrics.clone()) };
    let observer = crate::observe::Observer::new(&config).expect("metrics are observed");
    let limits = Limits::default();
    let now = Instant::now();
    let cx = Ctx { observe: Some(&observer), ..ctx(&limits, now) };
    let mut script = Script::new(&[PIPELINE]);
    script.write_cap = Some(7);
    script.write_budget = Some(0);
    let mut scratch = vec![0u8; 4096];
    let mut conn = Conn::new(script, Token(0), None, now, &limits);
    conn.on_ready(&cx, &mut scratch);
    assert!(conn.out.pending() > 0, "replies are encoded");
    assert_eq!(recorded(&metrics), 0, "nothing is written yet, so nothing is observed");
    for _ in 0..10_000 {
        conn.io.write_budget = Some(3);
        conn.readable = true;
        conn.writable = true;
        let after = conn.on_ready(&cx, &mut scratch);
        let complete = ends.iter().filter(|&&end| conn.io.output.len() >= end).count();
        assert_eq!(recorded(&metrics), complete, "after {} bytes written", conn.io.output.len());
        if after == After::Free {
            break;
        }
    }
    assert_eq!(String::from_utf8_lossy(&conn.io.output), whole);
    assert_eq!(recorded(&metrics), 5);
}

/// One 10 MiB body shared by every reply (as a cached page would be).
fn shared_body() -> &'static bytes::Bytes {
    static BODY: OnceLock<bytes::Bytes> = OnceLock::new();
    BODY.get_or_init(|| (0..10 << 20).map(|i: u32| (i % 251) as u8).collect::<Vec<u8>>().into())
}

#[test]
fn a_large_shared_body_goes_out_from_its_bytes_not_through_the_buffer() {
    struct Shares;
    impl Handler for Shares {
        fn handle(&self, _req: Request) -> crate::Reply {
            Response::new(200).body(shared_body().clone()).into()
        }
    }
    let limits = Limits::default();
    let now = Instant::now();
    let cx = Ctx { handler: &Shares, ..ctx(&limits, now) };
    // A slow client: 64 KiB per write, three writes per turn; two pipelined requests.
    let two = b"GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n";
    let script = Script { write_cap: Some(64 * 1024), eof: false, ..Script::new(&[two]) };
    let mut conn = Conn::new(script, Token(0), None, now, &limits);
    let mut scratch = vec![0u8; 4096];
    let mut largest = 0;
    for _ in 0..10_000 {
        conn.io.write_budget = Some(3);
        conn.readable = true;
        conn.writable = true;
        conn.on_ready(&cx, &mut scratch);
        largest = largest.max(conn.out.capacity());
        if conn.out.is_idle() && conn.replies.is_empty() && conn.io.input.is_empty() {
            break;
        }
    }
    assert!(largest <= 4096, "the output buffer grew to {largest} bytes for a shared body");
    let out = &conn.io.output;
    let body = &shared_body()[..];
    let head_end = |from: usize| from + out[from..].windows(4).position(|w| w == b"\r\n\r\n").expect("a head") + 4;
    let first = head_end(0);
    assert!(out.starts_with(b"HTTP/1.1 200 OK\r\n"));
    assert!(String::from_utf8_lossy(&out[..first]).contains(&format!("Content-Length: {}\r\n", body.len())));
    assert_eq!(&out[first..first + body.len()], body, "the first body, byte for byte");
    let second = head_end(first + body.len());
    assert_eq!(&out[second..], body, "the second body, byte for byte, and nothing after");
    // Two vectored writes, one per reply: each took its whole head and the
    // start of its body in one call.
    let calls = &conn.io.vectored;
    assert_eq!(calls.len(), 2, "{calls:?}");
    assert!(calls.iter().all(|&(head, wrote)| wrote > head && wrote == 64 * 1024), "{calls:?}");
}

/// An observer with an access log (to a file of its own) and metrics, for
/// tests that check what was recorded.
struct Observed {
    metrics: crate::Metrics,
    config: crate::observe::ObserveConfig,
    observer: crate::observe::Observer,
    path: std::path::PathBuf,
}

impl Observed {
    fn new(name: &str) -> Self {
        let path = std::env::temp_dir().join(format!("porter-conn-{name}-{}.log", std::process::id()));
        let _ = std::fs::remove_file(&path);
        let log = crate::observe::access_log::LogShared::start(crate::AccessLog::file(&path)).expect("the log");
        let metrics = crate::Metrics::new();
        let config = crate::observe::ObserveConfig { log: Some(Arc::new(log)), metrics: Some(metrics.clone()) };
        let observer = crate::observe::Observer::new(&config).expect("observed");
        Observed { metrics, config, observer, path }
    }

    /// Every line logged, as (request line, status, body bytes), once the writer is done.
    fn lines(self) -> Vec<(String, u16, u64)> {
        self.observer.flush();
        let Observed { config, observer, path, .. } = self;
        drop(observer);
        drop(config); // the writer thread writes everything and ends
        let text = std::fs::read_to_string(&path).expect("the log file");
        let _ = std::fs::remove_file(&path);
        text.lines()
            .map(|line| {
                let fields: Vec<&str> = line.split('"').collect();
                let mut numbers = fields[2].split_whitespace();
                let status = numbers.next().and_then(|s| s.parse().ok()).expect("a status");
                let bytes = numbers.next().and_then(|s| s.parse().ok()).unwrap_or(0);
                (fields[1].to_owned(), status, bytes)
            })
            .collect()
    }

    fn body_bytes_total(&self) -> u64 {
        let text = self.metrics.render();
        let line = text.lines().find(|l| l.starts_with("porter_response_body_bytes_total "));
        line.and_then(|l| l.rsplit(' ').next()?.parse().ok()).expect("the body bytes sample")
    }
}

/// Where the first reply's body starts in `out`.
fn body_start(out: &[u8]) -> usize {
    out.windows(4).position(|w| w == b"\r\n\r\n").expect("a reply head") + 4
}

/// A reader giving `0` bytes of `x`, one per read.
struct OneByte(usize);

impl io::Read for OneByte {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.0 == 0 || buf.is_empty() {
            return Ok(0);
        }
        self.0 -= 1;
        buf[0] = b'x';
        Ok(1)
    }
}

/// Answers with a chunked body of 1000 one-byte pieces.
struct Trickle;

impl Handler for Trickle {
    fn handle(&self, _req: Request) -> crate::Reply {
        Response::new(200).body(crate::response::Body::reader(OneByte(1000), None)).into()
    }
}

/// Review item 1: a chunked reply's body bytes are counted as they go on the
/// wire, chunk framing included (nginx's `$body_bytes_sent`), the same way
/// whether the reply went out in full or was cut (it used to be the data
/// bytes for the one, the wire bytes for the other).
#[test]
fn a_chunked_body_is_counted_as_it_goes_on_the_wire_whole_or_cut() {
    for cut in [Some(600), None] {
        let observed = Observed::new("chunked");
        let limits = Limits::default();
        let now = Instant::now();
        let cx = Ctx { observe: Some(&observed.observer), handler: &Trickle, ..ctx(&limits, now) };
        let mut script = Script { eof: false, ..Script::new(&[b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"]) };
        script.write_cap = cut;
        script.write_budget = cut.map(|_| 1);
        let mut conn = Conn::new(script, Token(0), None, now, &limits);
        conn.on_ready(&cx, &mut [0u8; 4096]);
        let _ = conn.abandon(Some(&observed.observer));
        let out = conn.io.output.clone();
        let body = (out.len() - body_start(&out)) as u64;
        assert_eq!(cut.is_none(), out.ends_with(b"0\r\n\r\n"), "{cut:?}");
        assert_eq!(observed.body_bytes_total(), body, "{cut:?}");
        assert_eq!(observed.lines(), [("GET / HTTP/1.1".to_owned(), 200, body)], "{cut:?}");
    }
}

const HALF_BODY: &[u8] = b"POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nabc";

/// Review item 2: a request whose body was being read when the connection
/// ended (a reset, a write timeout, the end of the shutdown grace) is logged,
/// with its request line, as porter's close (444); when the client half-closes
/// in the middle of the body, as the client's (499).
#[test]
fn a_request_whose_body_is_being_read_is_logged_when_the_connection_ends() {
    let observed = Observed::new("mid-body");
    let limits = Limits::default();
    let now = Instant::now();
    let cx = Ctx { observe: Some(&observed.observer), ..ctx(&limits, now) };
    let mut conn = Conn::new(Script { eof: false, ..Script::new(&[HALF_BODY]) }, Token(0), None, now, &limits);
    conn.on_ready(&cx, &mut [0u8; 4096]);
    assert!(conn.abandon(Some(&observed.observer)).is_empty());
    assert!(conn.abandon(Some(&observed.observer)).is_empty(), "abandoned twice, logged once");

    let mut conn = Conn::new(Script::new(&[HALF_BODY]), Token(0), None, now, &limits);
    let mut after = After::Wait;
    for _ in 0..10 {
        conn.readable = true;
        conn.writable = true;
        after = conn.on_ready(&cx, &mut [0u8; 4096]);
        if after == After::Free {
            break;
        }
    }
    assert_eq!(after, After::Free, "the half-closed connection ends");
    let _ = conn.abandon(Some(&observed.observer));
    assert!(conn.io.output.is_empty());
    let post = "POST /up HTTP/1.1".to_owned();
    assert_eq!(observed.lines(), [(post.clone(), 444, 0), (post, 499, 0)]);
}

/// Review items 2 and 3: the body timeout answers 408 only a request still
/// waiting for its body, logged once with its request line; a request
/// already answered (its body drained after an early answer, or read by a
/// streaming handler that replied) gets no second reply: the connection closes
/// after the replies queued.
#[test]
fn a_body_timeout_answers_only_a_request_without_a_reply() {
    struct Streams;
    impl Handler for Streams {
        fn handle(&self, _req: Request) -> crate::Reply {
            Response::text("taken").into()
        }
        fn streams_body(&self, _req: &Request) -> Option<crate::BodyLimit> {
            Some(crate::BodyLimit::Server)
        }
    }
    let cases: [(&dyn Handler, &[u8], u16); 3] = [
        (&Echo, HALF_BODY, 408),
        (&Echo, b"POST /refuse HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nabc", 403),
        (&Streams, HALF_BODY, 200),
    ];
    for (handler, input, status) in cases {
        let observed = Observed::new("body-timeout");
        let limits = Limits::default();
        let now = Instant::now();
        let cx = Ctx { observe: Some(&observed.observer), handler, ..ctx(&limits, now) };
        let mut conn = Conn::new(Script { eof: false, ..Script::new(&[input]) }, Token(0), None, now, &limits);
        conn.on_ready(&cx, &mut [0u8; 4096]);
        assert_eq!(conn.deadline(), Some(now + limits.body_timeout), "{status}");
        let later = Ctx { now: now + limits.body_timeout, ..cx };
        let mut after = conn.on_timer(&later, &mut [0u8; 4096]);
        for _ in 0..10 {
            if after == After::Free {
                break;
            }
            conn.readable = true;
            conn.writable = true;
            after = conn.on_ready(&later, &mut [0u8; 4096]);
        }
        let _ = conn.abandon(Some(&observed.observer));
        let out = String::from_utf8_lossy(&conn.io.output).into_owned();
        assert_eq!(statuses(&out), [status], "{out}");
        assert!(conn.io.shut_down, "closed after the reply: {out}");
        let lines = observed.lines();
        assert_eq!(lines.len(), 1, "{lines:?}");
        let request_line = String::from_utf8_lossy(&input[..body_start(input) - 4]).lines().next().map(str::to_owned);
        assert_eq!((Some(lines[0].0.clone()), lines[0].1), (request_line, status));
    }
}

/// Defers every request; the test holds the responders.
struct Defers(std::sync::Mutex<Vec<crate::Responder>>);

impl Handler for Defers {
    fn handle(&self, req: Request) -> crate::Reply {
        let (reply, responder) = req.defer();
        self.0.lock().expect("the responders").push(responder);
        reply
    }
}

/// Review item 4: with `max_pipelined` replies awaited from the application,
/// porter stops parsing: the next head, complete in the buffer, is not the
/// client's delay and gets no header timeout (it used to get a 408).
#[test]
fn a_request_held_back_by_a_full_queue_gets_no_timeout() {
    let limits = Limits { max_pipelined: 2, ..Limits::default() };
    let now = Instant::now();
    let handler = Defers(std::sync::Mutex::new(Vec::new()));
    let cx = Ctx { handler: &handler, ..ctx(&limits, now) };
    let three =
        b"GET /1 HTTP/1.1\r\nHost: x\r\n\r\nGET /2 HTTP/1.1\r\nHost: x\r\n\r\nGET /3 HTTP/1.1\r\nHost: x\r\n\r\n";
    let mut conn = Conn::new(Script { eof: false, ..Script::new(&[three]) }, Token(0), None, now, &limits);
    conn.on_ready(&cx, &mut [0u8; 4096]);
    assert_eq!((conn.replies.len(), handler.0.lock().expect("responders").len()), (2, 2));
    assert!(!conn.rbuf.is_empty(), "the third request waits unparsed");
    assert_eq!(conn.deadline(), None);
    let later = Ctx { now: now + limits.header_timeout, ..cx };
    assert_eq!(conn.on_timer(&later, &mut [0u8; 4096]), After::Wait);
    assert!(conn.io.output.is_empty(), "{:?}", String::from_utf8_lossy(&conn.io.output));
}

/// Review item 5: a begun head keeps the deadline of its first byte across a
/// pause for writing (the client not taking an earlier reply); it used to
/// get a fresh header timeout each time the timer came back to it.
#[test]
fn a_begun_head_keeps_its_deadline_across_a_write_pause() {
    struct Big;
    impl Handler for Big {
        fn handle(&self, _req: Request) -> crate::Reply {
            Response::new(200).body(bytes::Bytes::from(vec![b'y'; 100_000])).into()
        }
    }
    let limits = Limits::default();
    let now = Instant::now();
    let cx = Ctx { handler: &Big, ..ctx(&limits, now) };
    let input = b"GET /1 HTTP/1.1\r\nHost: x\r\n\r\nGET /2 HT";
    let script = Script { eof: false, write_budget: Some(0), ..Script::new(&[input]) };
    let mut conn = Conn::new(script, Token(0), None, now, &limits);
    conn.on_ready(&cx, &mut [0u8; 4096]);
    assert_eq!(conn.deadline(), Some(now + limits.write_timeout), "the reply waits for the client");
    let later = Ctx { now: now + limits.header_timeout / 2, ..cx };
    conn.io.write_budget = None; // the client takes the whole reply
    conn.writable = true;
    conn.on_ready(&later, &mut [0u8; 4096]);
    assert_eq!(statuses(&String::from_utf8_lossy(&conn.io.output)), [200]);
    assert_eq!(conn.deadline(), Some(now + limits.header_timeout), "the head's first byte set it");
}

/// Answers `/shared` with a 100 000-byte in-memory body (sent from its
/// `Bytes`), `/reader` with a reader body, `/channel` with a channel body
/// whose 64 KiB are queued already, anything else with a small text.
struct Stalls;

impl Handler for Stalls {
    fn handle(&self, req: Request) -> crate::Reply {
        use crate::response::Body;
        match req.path() {
            "/shared" => Response::new(200).body(bytes::Bytes::from(vec![b's'; 100_000])).into(),
            "/reader" => Response::new(200).body(Body::reader(io::repeat(b'r'), Some(1 << 20))).into(),
            "/channel" => {
                let (sender, body) = Body::channel(Some(1 << 20));
                (0..4).try_for_each(|_| sender.send(vec![b'c'; 16 * 1024])).expect("room in the channel");
                std::mem::forget(sender); // the producer stalls, it does not end
                Response::new(200).body(body).into()
            }
            _ => Response::text("small").into(),
        }
    }
}

/// Item "tests that assert too little": for each kind of reply body that
/// waits on the client (a shared in-memory body, a reader, a channel with
/// data queued, TLS records held by the transport), driven through the real
/// connection: the write timeout runs from the last write, a read does not
/// extend it, and when it fires the connection ends and the reply is logged
/// with the body bytes that went out.
#[test]
fn every_reply_waiting_on_the_client_has_the_write_timeout() {
    for (path, hold_writes, output) in [
        ("/shared", false, super::timer::OutputState::Shared),
        ("/reader", false, super::timer::OutputState::Buffered),
        ("/channel", false, super::timer::OutputState::Buffered),
        ("/small", true, super::timer::OutputState::Idle),
    ] {
        let observed = Observed::new("write-timeout");
        let limits = Limits::default();
        let now = Instant::now();
        let cx = Ctx { observe: Some(&observed.observer), handler: &Stalls, ..ctx(&limits, now) };
        let request = format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n");
        let script = Script {
            eof: false,
            write_cap: Some(if hold_writes { 10 } else { 1000 }),
            write_budget: Some(2),
            hold_writes,
            ..Script::new(&[request.as_bytes()])
        };
        let mut conn = Conn::new(script, Token(0), None, now, &limits);
        conn.on_ready(&cx, &mut [0u8; 4096]);
        assert_eq!(conn.out.state(), output, "{path}");
        assert_eq!(!conn.io.held.is_empty(), hold_writes, "{path}");
        assert_eq!(conn.deadline(), Some(now + limits.write_timeout), "{path}");
        // The client sends the start of its next request but takes nothing.
        let soon = Ctx { now: now + limits.write_timeout / 2, ..cx };
        conn.io.input = [Some(b"GET /next HT".to_vec())].into();
        conn.io.write_budget = Some(0);
        conn.readable = true;
        conn.writable = true;
        conn.on_ready(&soon, &mut [0u8; 4096]);
        // A full output buffer (a reader's, a channel's) holds reading back.
        assert_eq!(conn.io.input.is_empty(), !conn.out.is_full(), "{path}: the bytes were read");
        assert_eq!(conn.deadline(), Some(now + limits.write_timeout), "{path}: reading does not extend it");
        let late = Ctx { now: now + limits.write_timeout, ..cx };
        assert_eq!(conn.on_timer(&late, &mut [0u8; 4096]), After::Free, "{path}");
        let _ = conn.abandon(Some(&observed.observer));
        // TLS: the reply was taken whole into records (and logged then).
        let out = &conn.io.output;
        let body = if hold_writes { 5 } else { (out.len() - body_start(out)) as u64 };
        assert!(body > 0, "{path}");
        assert_eq!(observed.lines(), [(format!("GET {path} HTTP/1.1"), 200, body)], "{path}");
    }
}

/// Answers `/big` with 20 000 `B`s (a shared body), `/nm` with a 304 that
/// carries a large body (never sent, RFC 9110 §15.4.5), anything else with
/// `small`.
struct Mixed;

impl Handler for Mixed {
    fn handle(&self, req: Request) -> crate::Reply {
        match req.path() {
            "/big" => Response::new(200).body(bytes::Bytes::from(vec![b'B'; 20_000])).into(),
            "/nm" => Response::new(304).body(bytes::Bytes::from(vec![b'N'; 20_000])).into(),
            _ => Response::text("small").into(),
        }
    }
}

/// The body bytes in `out`, the output of [`Mixed`]'s replies.
fn mixed_body_bytes(out: &str) -> u64 {
    let smalls: usize = out
        .match_indices("\r\n\r\n")
        .map(|(i, _)| out[i + 4..].bytes().zip(b"small").take_while(|(a, b)| a == *b).count())
        .sum();
    (out.matches('B').count() + smalls) as u64
}

/// Shared bodies mixed with copied ones, a HEAD of a shared body and a 304
/// with a large body, the output cut (7-byte writes) at points inside each
/// reply: every request is logged once, in order, and the body bytes logged
/// are those on the wire (the stream positions of shared and copied bodies
/// agree).
#[test]
fn mixed_shared_and_copied_replies_cut_anywhere_are_logged_with_their_bytes() {
    let requests: &[u8] = b"GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /big HTTP/1.1\r\nHost: x\r\n\r\n\
HEAD /big HTTP/1.1\r\nHost: x\r\n\r\nGET /nm HTTP/1.1\r\nHost: x\r\n\r\n\
GET /big HTTP/1.1\r\nHost: x\r\n\r\nGET /c HTTP/1.1\r\nHost: x\r\n\r\n";
    let targets = ["GET /a", "GET /big", "HEAD /big", "GET /nm", "GET /big", "GET /c"];
    for cut_at in [0usize, 50, 150, 300, 10_000, 20_150, 20_400, 40_000, 40_500, usize::MAX] {
        let observed = Observed::new("mixed");
        let limits = Limits::default();
        let now = Instant::now();
        let cx = Ctx { observe: Some(&observed.observer), handler: &Mixed, ..ctx(&limits, now) };
        let script = Script { eof: false, write_cap: Some(7), write_budget: Some(0), ..Script::new(&[requests]) };
        let mut conn = Conn::new(script, Token(0), None, now, &limits);
        conn.on_ready(&cx, &mut [0u8; 4096]);
        while conn.io.output.len() < cut_at && !(conn.out.is_idle() && conn.replies.is_empty()) {
            conn.io.write_budget = Some(1);
            conn.writable = true;
            conn.on_ready(&cx, &mut [0u8; 4096]);
        }
        let _ = conn.abandon(Some(&observed.observer));
        let out = String::from_utf8_lossy(&conn.io.output).into_owned();
        let want = mixed_body_bytes(&out);
        assert_eq!(observed.body_bytes_total(), want, "cut at {cut_at}");
        let lines = observed.lines();
        let logged: Vec<&str> = lines.iter().map(|(request, ..)| request.trim_end_matches(" HTTP/1.1")).collect();
        assert_eq!(logged, targets, "cut at {cut_at}");
        assert_eq!(lines.iter().map(|l| l.2).sum::<u64>(), want, "cut at {cut_at}: {lines:?}");
        if cut_at == usize::MAX {
            assert_eq!(statuses(&out), [200, 200, 200, 304, 200, 200]);
            assert_eq!(want, 40_010);
        }
    }
}

/// In-memory bodies below [`super::output::SHARED_BODY`] are copied into the
/// buffer (pipelined replies still leave together); from it on, they go out
/// from their own `Bytes`, behind their head in one vectored write.
#[test]
fn in_memory_bodies_are_shared_from_16_kib_on() {
    struct Sized;
    impl Handler for Sized {
        fn handle(&self, req: Request) -> crate::Reply {
            let len: usize = req.path()[1..].parse().expect("a length");
            Response::new(200).body(bytes::Bytes::from(vec![b'z'; len])).into()
        }
    }
    assert_eq!(super::output::SHARED_BODY, 16 * 1024);
    for (len, shared) in [(16 * 1024 - 1, false), (16 * 1024, true)] {
        let limits = Limits::default();
        let now = Instant::now();
        let cx = Ctx { handler: &Sized, ..ctx(&limits, now) };
        let request = format!("GET /{len} HTTP/1.1\r\nHost: x\r\n\r\n");
        let mut conn =
            Conn::new(Script { eof: false, ..Script::new(&[request.as_bytes()]) }, Token(0), None, now, &limits);
        conn.on_ready(&cx, &mut [0u8; 4096]);
        let out = &conn.io.output;
        assert_eq!(out.len() - body_start(out), len);
        assert!(out.ends_with(&vec![b'z'; len]));
        assert_eq!(conn.io.writes, 1, "{len}: head and body in one write");
        let head = body_start(out);
        let want: &[(usize, usize)] = if shared { &[(head, head + len)] } else { &[] };
        assert_eq!(conn.io.vectored, want, "{len}");
    }
}

/// Requests queued behind a reply that closes the connection get no reply;
/// their lines (444) come after that reply's own, in request order (they
/// used to be written first, before the closing reply's last byte went out).
#[test]
fn requests_cut_by_a_closing_reply_are_logged_after_it() {
    let observed = Observed::new("closing");
    let limits = Limits::default();
    let now = Instant::now();
    let handler = Defers(std::sync::Mutex::new(Vec::new()));
    let cx = Ctx { observe: Some(&observed.observer), handler: &handler, ..ctx(&limits, now) };
    let three = b"GET /1 HTTP/1.1\r\nHost: x\r\n\r\nGET /2 HTTP/1.1\r\nHost: x\r\n\r\nPOST /3 HTTP/1.1\r\nHost: x\r\nContent-Length: 9\r\n\r\nabc";
    let script = Script { eof: false, write_cap: Some(7), write_budget: Some(0), ..Script::new(&[three]) };
    let mut conn = Conn::new(script, Token(0), None, now, &limits);
    conn.on_ready(&cx, &mut [0u8; 4096]);
    assert!(conn.on_answer(0, answer(Response::text("first").close())));
    for _ in 0..1000 {
        conn.io.write_budget = Some(1);
        conn.writable = true;
        if conn.on_ready(&cx, &mut [0u8; 4096]) == After::Free || conn.io.shut_down {
            break;
        }
    }
    assert!(conn.io.shut_down, "the closing reply went out and the connection closed");
    let responders = handler.0.lock().expect("responders");
    assert!(responders[1].is_cancelled(), "the second request was cancelled");
    let _ = conn.abandon(Some(&observed.observer));
    let lines = observed.lines();
    let got: Vec<(&str, u16)> = lines.iter().map(|(request, status, _)| (request.as_str(), *status)).collect();
    assert_eq!(got, [("GET /1 HTTP/1.1", 200), ("GET /2 HTTP/1.1", 444), ("POST /3 HTTP/1.1", 444)]);
}

/// A drain that begins while a request's body is being collected (behind a
/// reply still awaited) lets that begun request finish: it is read,
/// answered, and its reply closes the connection. Reading used to stop at
/// once, dropping the request without a reply or a log line.
#[test]
fn a_drain_lets_a_request_whose_body_is_coming_finish() {
    let observed = Observed::new("drain-body");
    let limits = Limits::default();
    let now = Instant::now();
    let handler = Defers(std::sync::Mutex::new(Vec::new()));
    let cx = Ctx { observe: Some(&observed.observer), handler: &handler, ..ctx(&limits, now) };
    let start = b"GET /1 HTTP/1.1\r\nHost: x\r\n\r\nPOST /2 HTTP/1.1\r\nHost: x\r\nContent-Length: 6\r\n\r\nabc";
    let mut conn = Conn::new(Script { eof: false, ..Script::new(&[start]) }, Token(0), None, now, &limits);
    conn.on_ready(&cx, &mut [0u8; 4096]);
    conn.begin_drain();
    conn.io.input = [Some(b"def".to_vec())].into();
    conn.readable = true;
    conn.on_ready(&cx, &mut [0u8; 4096]);
    assert_eq!(handler.0.lock().expect("responders").len(), 2, "the second request was dispatched");
    assert!(conn.on_answer(0, answer(Response::text("first"))));
    assert!(conn.on_answer(1, answer(Response::text("second"))));
    conn.writable = true;
    conn.on_ready(&cx, &mut [0u8; 4096]);
    let out = String::from_utf8_lossy(&conn.io.output).into_owned();
    assert_eq!(statuses(&out), [200, 200], "{out}");
    let second = out.find("first").map(|i| &out[i..]).expect("the first reply's body");
    assert!(second.contains("Connection: close\r\n") && second.ends_with("second"), "{out}");
    assert_eq!(out.matches("Connection: close").count(), 1, "only the last reply closes: {out}");
    assert!(conn.io.shut_down);
    let _ = conn.abandon(Some(&observed.observer));
    let lines = observed.lines();
    let got: Vec<(&str, u16)> = lines.iter().map(|(request, status, _)| (request.as_str(), *status)).collect();
    assert_eq!(got, [("GET /1 HTTP/1.1", 200), ("POST /2 HTTP/1.1", 200)]);
}

/// A deferred answer as a responder of no wrapping handler sends it.
fn answer(response: Response) -> crate::responder::Answer {
    let from = std::sync::Arc::new(crate::responder::Pending::new(crate::guard::RequestId::numbered(None, 0)));
    crate::responder::Answer { response, from }
}

/// Review of the incremental head scan: a bad request line or field line used
/// to wait for the head's end, so a client that sent it and waited got a 408
/// after the header timeout (and a half-closing one a silent close).
#[test]
fn a_bad_line_is_answered_at_once_while_the_client_waits() {
    let limits = Limits::default();
    let rows: [(&[u8], &str); 7] = [
        (b"GET / HTTP/2.0\r\n", "505"),
        (b"GET /\r\n", "400"),
        (b"GET /\x01 HTTP/1.1\r\n", "400"),
        (b"EHLO example.org\r\n", "400"),
        (b"GET / HTTP/1.1\r\nHost: a\r\nBad Name: y\r\n", "400"),
        (b"GET / HTTP/1.1\r\nX: \0\r\n", "400"),
        (b"GET / HTTP/1.1\r\nHost: x\r\n folded\r\n", "400"),
    ];
    for (input, status) in rows {
        // The client neither closes nor sends more: only an answer at once passes.
        let conn = drive(Script { eof: false, ..Script::new(&[input]) }, &limits);
        let out = String::from_utf8_lossy(&conn.io.output).into_owned();
        assert!(out.starts_with(&format!("HTTP/1.1 {status} ")), "{:?}: {out:?}", String::from_utf8_lossy(input));
        assert!(out.contains("Connection: close\r\n"), "{out:?}");
    }
    // A half-closing client gets its answer too, not a silent close.
    assert_eq!(statuses(&output_of(&[b"GET /\r\n"])), [400]);
}
