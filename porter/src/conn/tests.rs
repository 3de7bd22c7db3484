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
    assert!(conn.io.vectored >= 2, "each head left with its body in one vectored write");
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
