//! The access log over loopback: Combined and JSON lines in a file, escaping of
//! hostile bytes, refused requests, reopening after a rename (log rotation),
//! and a writer that falls behind (lines dropped and counted, the loop never
//! waits). A file log is complete once `shutdown` returns, so most tests read
//! the file after it; the rotation test waits for lines with `wait_until`.

mod common;

use std::fs;
use std::io::Read;
use std::path::Path;
use std::time::Duration;

use common::{wait_until, Client, TempDir};
use porter::{AccessLog, Body, LogFormat, Metrics, Request, Response, Router, Server, ServerHandle};

fn app() -> Router {
    Router::new()
        .get("/", |_req| Response::text("hello"))
        .get("/empty", |_req| Response::new(204))
        .post("/echo", |mut req: Request| Response::bytes(req.take_body()))
}

fn serve_logged(log: AccessLog) -> ServerHandle {
    Server::bind("127.0.0.1:0").threads(1).access_log(log).build(app()).expect("builds").spawn().expect("spawns")
}

fn lines(path: &Path) -> Vec<String> {
    fs::read_to_string(path).unwrap_or_default().lines().map(str::to_string).collect()
}

/// `[06/Nov/1994:08:49:37 +0000]` → `[TIME]`, so whole lines can be compared.
fn without_time(line: &str) -> String {
    match (line.find('['), line.find(']')) {
        (Some(a), Some(b)) if a < b => format!("{}[TIME]{}", &line[..a], &line[b + 1..]),
        _ => line.to_string(),
    }
}

#[test]
fn combined_lines_go_to_the_file_in_request_order() {
    let dir = TempDir::new("log-combined");
    let path = dir.path().join("access.log");
    let server = serve_logged(AccessLog::file(&path));
    let mut c = Client::connect(server.local_addr());
    let r = c.round_trip("GET /?q=1 HTTP/1.1\r\nHost: h\r\nUser-Agent: curl/8.5\r\nReferer: http://r/x\r\n\r\n");
    assert_eq!(r.status, 200);
    assert_eq!(c.round_trip("GET /missing HTTP/1.1\r\nHost: h\r\n\r\n").status, 404);
    assert_eq!(c.round_trip("GET /empty HTTP/1.1\r\nHost: h\r\n\r\n").status, 204);
    c.send("HEAD / HTTP/1.1\r\nHost: h\r\n\r\n");
    assert_eq!(c.read_head_reply().status, 200);
    assert_eq!(c.round_trip("POST /echo HTTP/1.0\r\nContent-Length: 3\r\n\r\nabc").status, 200);
    drop(c); // HTTP/1.0 closes: the server lingers until the client's EOF
    server.shutdown(Duration::from_secs(5)).expect("shutdown");

    let got: Vec<String> = lines(&path).iter().map(|l| without_time(l)).collect();
    assert_eq!(
        got,
        [
            "127.0.0.1 - - [TIME] \"GET /?q=1 HTTP/1.1\" 200 5 \"http://r/x\" \"curl/8.5\"",
            "127.0.0.1 - - [TIME] \"GET /missing HTTP/1.1\" 404 14 \"-\" \"-\"",
            "127.0.0.1 - - [TIME] \"GET /empty HTTP/1.1\" 204 - \"-\" \"-\"",
            "127.0.0.1 - - [TIME] \"HEAD / HTTP/1.1\" 200 - \"-\" \"-\"",
            "127.0.0.1 - - [TIME] \"POST /echo HTTP/1.0\" 200 3 \"-\" \"-\"",
        ]
    );
    let stamp = &lines(&path)[0];
    let time = &stamp[stamp.find('[').unwrap() + 1..stamp.find(']').unwrap()];
    assert_eq!(time.len(), "06/Nov/1994:08:49:37 +0000".len(), "{stamp}");
    assert!(time.ends_with(" +0000") && time.as_bytes()[2] == b'/', "{stamp}");
}

#[test]
fn hostile_bytes_cannot_forge_a_line_or_a_field() {
    let dir = TempDir::new("log-hostile");
    let path = dir.path().join("access.log");
    let server = serve_logged(AccessLog::file(&path));
    let mut c = Client::connect(server.local_addr());
    // A quote to close the field, a fake status, a backslash and obs-text bytes.
    let mut request = b"GET / HTTP/1.1\r\nHost: h\r\nUser-Agent: a\" 200 9 \"x\\y\xff\xe9\tz\r\n\r\n".to_vec();
    request.extend_from_slice(b"GET / HTTP/1.1\r\nHost: h\r\nReferer: \"\r\n\r\n");
    c.send(&request);
    assert_eq!(c.read_replies(2).iter().map(|r| r.status).collect::<Vec<_>>(), [200, 200]);
    server.shutdown(Duration::from_secs(5)).expect("shutdown");

    let got: Vec<String> = lines(&path).iter().map(|l| without_time(l)).collect();
    assert_eq!(
        got,
        [
            "127.0.0.1 - - [TIME] \"GET / HTTP/1.1\" 200 5 \"-\" \"a\\x22 200 9 \\x22x\\x5Cy\\xFF\\xE9\\x09z\"",
            "127.0.0.1 - - [TIME] \"GET / HTTP/1.1\" 200 5 \"\\x22\" \"-\"",
        ]
    );
}

#[test]
fn json_lines_parse_and_carry_every_field() {
    let dir = TempDir::new("log-json");
    let path = dir.path().join("access.json");
    let server = serve_logged(AccessLog::file(&path).format(LogFormat::Json));
    let mut c = Client::connect(server.local_addr());
    c.send(b"GET /?a=\"b\" HTTP/1.1\r\nHost: example.com\r\nUser-Agent: t\"\\\xff\r\n\r\n");
    assert_eq!(c.read_reply().status, 200);
    assert_eq!(c.round_trip("GET /nope HTTP/1.1\r\nHost: example.com\r\n\r\n").status, 404);
    server.shutdown(Duration::from_secs(5)).expect("shutdown");

    let got = lines(&path);
    assert_eq!(got.len(), 2, "{got:?}");
    let first: serde_json::Value = serde_json::from_str(&got[0]).expect("a JSON object per line");
    assert_eq!(first["remote"], "127.0.0.1");
    assert_eq!(first["method"], "GET");
    assert_eq!(first["target"], "/?a=\\x22b\\x22");
    assert_eq!(first["protocol"], "HTTP/1.1");
    assert_eq!(first["status"], 200);
    assert_eq!(first["bytes"], 5);
    assert_eq!(first["referer"], serde_json::Value::Null);
    assert_eq!(first["user_agent"], "t\\x22\\x5C\\xFF");
    assert_eq!(first["host"], "example.com");
    assert_eq!(first["user"], serde_json::Value::Null);
    assert!(first["duration_us"].is_u64(), "{first}");
    let time = first["time"].as_str().expect("time is a string");
    assert!(time.len() == 20 && time.ends_with('Z') && &time[10..11] == "T", "RFC 3339 time: {time}");
    let second: serde_json::Value = serde_json::from_str(&got[1]).expect("a JSON object per line");
    assert_eq!((second["status"].as_u64(), second["bytes"].as_u64()), (Some(404), Some(14)));
}

#[test]
fn a_refused_request_is_logged_with_a_dash_for_its_request_line() {
    let dir = TempDir::new("log-refused");
    let path = dir.path().join("access.log");
    let server = serve_logged(AccessLog::file(&path));
    let mut c = Client::connect(server.local_addr());
    let bad = c.round_trip("GARBAGE\r\n\r\n");
    assert_eq!(bad.status, 400);
    c.assert_closed("after a 400");
    drop(c); // the server lingers on a closed connection until the client's EOF
    let mut c = Client::connect(server.local_addr());
    let r = c.round_trip("POST /echo HTTP/1.1\r\nHost: h\r\nContent-Length: 99999999999\r\n\r\n");
    assert_eq!(r.status, 413);
    drop(c); // else the server lingers on the refused connection until shutdown's grace ends
    server.shutdown(Duration::from_secs(5)).expect("shutdown");

    let got: Vec<String> = lines(&path).iter().map(|l| without_time(l)).collect();
    assert_eq!(
        got,
        [
            format!("127.0.0.1 - - [TIME] \"-\" 400 {} \"-\" \"-\"", bad.body.len()),
            format!("127.0.0.1 - - [TIME] \"POST /echo HTTP/1.1\" 413 {} \"-\" \"-\"", r.body.len()),
        ]
    );
}

/// Item 13 of the hardening issue: a head refused after a valid request line
/// (a missing Host, a bad field, a head too large) keeps that line in the log;
/// only a request line that is itself at fault is a dash.
#[test]
fn a_head_refused_after_a_valid_request_line_is_logged_with_that_line() {
    let dir = TempDir::new("log-refused-line");
    let path = dir.path().join("access.log");
    let server = serve_logged(AccessLog::file(&path));
    let requests = [
        "GET /no-host?q=1 HTTP/1.1\r\n\r\n",
        "POST /echo HTTP/1.0\r\nContent-Length: x\r\n\r\n",
        "GET /folded HTTP/1.1\r\nHost: h\r\nX: a\r\n b\r\n\r\n",
        "GET /a#frag HTTP/1.1\r\nHost: h\r\n\r\n",
        "GET / HTTP/2.0\r\nHost: h\r\n\r\n",
    ];
    let mut sizes = Vec::new();
    for request in requests {
        let mut c = Client::connect(server.local_addr());
        let r = c.round_trip(request);
        assert_eq!(r.status, if request.contains("HTTP/2.0") { 505 } else { 400 }, "{request:?}");
        sizes.push(r.body.len());
        drop(c);
    }
    server.shutdown(Duration::from_secs(5)).expect("shutdown");

    let got: Vec<String> = lines(&path).iter().map(|l| without_time(l)).collect();
    assert_eq!(
        got,
        [
            format!("127.0.0.1 - - [TIME] \"GET /no-host?q=1 HTTP/1.1\" 400 {} \"-\" \"-\"", sizes[0]),
            format!("127.0.0.1 - - [TIME] \"POST /echo HTTP/1.0\" 400 {} \"-\" \"-\"", sizes[1]),
            format!("127.0.0.1 - - [TIME] \"GET /folded HTTP/1.1\" 400 {} \"-\" \"-\"", sizes[2]),
            format!("127.0.0.1 - - [TIME] \"-\" 400 {} \"-\" \"-\"", sizes[3]),
            format!("127.0.0.1 - - [TIME] \"-\" 505 {} \"-\" \"-\"", sizes[4]),
        ]
    );
}

#[test]
fn reopen_after_rename_sends_new_lines_to_the_new_file_and_loses_none() {
    let dir = TempDir::new("log-reopen");
    let path = dir.path().join("access.log");
    let rotated = dir.path().join("access.log.1");
    let server = serve_logged(AccessLog::file(&path));
    let mut c = Client::connect(server.local_addr());
    let get = |c: &mut Client, target: &str| {
        let r = c.round_trip(format!("GET {target} HTTP/1.1\r\nHost: h\r\n\r\n"));
        assert_eq!(r.status, 404, "{target}");
    };
    get(&mut c, "/before-rename");
    wait_until(|| lines(&path).len() == 1, "the first line is in the file");
    fs::rename(&path, &rotated).expect("rename the log, as logrotate does");
    // Until reopened, the server still appends to the renamed file.
    get(&mut c, "/after-rename");
    wait_until(|| lines(&rotated).len() == 2, "the second line reached the renamed file");
    // Reopened from another thread, as a signal-handling thread would.
    let handle = server.shutdown_handle();
    std::thread::spawn(move || handle.reopen_logs()).join().expect("no panic").expect("reopen");
    assert!(path.exists(), "reopening creates the file again");
    get(&mut c, "/after-reopen-1");
    get(&mut c, "/after-reopen-2");
    server.shutdown(Duration::from_secs(5)).expect("shutdown");

    let target = |l: &String| l.split('"').nth(1).unwrap_or_default().to_string();
    let old: Vec<String> = lines(&rotated).iter().map(target).collect();
    let new: Vec<String> = lines(&path).iter().map(target).collect();
    assert_eq!(old, ["GET /before-rename HTTP/1.1", "GET /after-rename HTTP/1.1"]);
    assert_eq!(new, ["GET /after-reopen-1 HTTP/1.1", "GET /after-reopen-2 HTTP/1.1"]);
}

#[test]
fn reopen_is_a_no_op_without_a_file_log() {
    let server = Server::bind("127.0.0.1:0").threads(1).build(app()).expect("builds").spawn().expect("spawns");
    server.reopen_logs().expect("nothing to reopen");
    let handle = server.shutdown_handle();
    server.stop().expect("stop");
    handle.reopen_logs().expect("the server is gone: still fine");
}

#[test]
fn an_unwritable_log_path_is_a_build_error() {
    let dir = TempDir::new("log-bad-path");
    let err = Server::bind("127.0.0.1:0")
        .access_log(AccessLog::file(dir.path().join("no/such/dir/access.log")))
        .build(app())
        .err()
        .expect("build fails");
    assert!(err.to_string().contains("access log"), "{err}");
}

/// The log is a FIFO nobody reads until the end: the writer blocks on it, the
/// queue fills, and lines are dropped and counted while every request is still
/// answered at once. Afterwards, lines written + lines dropped = requests.
#[test]
fn a_writer_that_falls_behind_drops_and_counts_lines_but_never_stalls_the_loop() {
    common::require_tool("mkfifo");
    let dir = TempDir::new("log-fifo");
    let fifo = dir.path().join("access.fifo");
    let made = std::process::Command::new("mkfifo").arg(&fifo).status().expect("run mkfifo");
    assert!(made.success(), "mkfifo failed");
    let (release, released) = std::sync::mpsc::channel::<()>();
    let reader_path = fifo.clone();
    let reader = std::thread::spawn(move || {
        let mut pipe = fs::File::open(&reader_path).expect("open the FIFO's read end");
        released.recv().expect("the test releases the reader");
        let mut text = String::new();
        pipe.read_to_string(&mut text).expect("read the FIFO");
        text.lines().count()
    });
    let metrics = Metrics::new();
    let log = AccessLog::file(&fifo).buffer_size(1).queue(1);
    let server = Server::bind("127.0.0.1:0")
        .threads(1)
        .access_log(log)
        .metrics(&metrics)
        .build(app())
        .expect("builds")
        .spawn()
        .expect("spawns");
    // ~90 bytes a line: far more than the pipe's 64 KiB, so the writer blocks.
    let (connections, per_connection) = (4, 500);
    for _ in 0..connections {
        let mut c = Client::connect(server.local_addr());
        c.send("GET /missing HTTP/1.1\r\nHost: h\r\n\r\n".repeat(per_connection));
        let statuses = c.read_replies(per_connection).iter().filter(|r| r.status == 404).count();
        assert_eq!(statuses, per_connection, "every request answered while the log is stuck");
    }
    let dropped = || {
        let text = metrics.render();
        let line = text.lines().find(|l| l.starts_with("porter_access_log_dropped_lines_total ")).map(str::to_string);
        line.and_then(|l| l.rsplit(' ').next()?.parse::<usize>().ok()).expect("the dropped-lines series")
    };
    wait_until(|| dropped() > 0, "lines are dropped while the writer is stuck");
    release.send(()).expect("release the reader");
    server.shutdown(Duration::from_secs(5)).expect("shutdown");
    let written = reader.join().expect("reader thread");
    assert_eq!(written + dropped(), connections * per_connection, "written {written}, dropped {}", dropped());
}

#[test]
fn the_user_is_the_one_basic_auth_accepted() {
    use porter::{BasicAuth, Protected};
    let dir = TempDir::new("log-user");
    let path = dir.path().join("access.log");
    let auth = BasicAuth::with_callback("area", |user, password| user == "alice" && password == "secret");
    let app = Router::new()
        .get("/open", |_req| Response::text("open"))
        .get("/admin", Protected::new(auth, |_req: Request| Response::text("admin")));
    let server = Server::bind("127.0.0.1:0")
        .threads(1)
        .access_log(AccessLog::file(&path))
        .build(app)
        .expect("builds")
        .spawn()
        .expect("spawns");
    let mut c = Client::connect(server.local_addr());
    let request = |target: &str, credentials: &str| {
        format!("GET {target} HTTP/1.1\r\nHost: h\r\nAuthorization: Basic {credentials}\r\n\r\n")
    };
    // alice:secret, alice:wrong, then alice:secret on a route nobody protects.
    assert_eq!(c.round_trip(request("/admin", "YWxpY2U6c2VjcmV0")).status, 200);
    assert_eq!(c.round_trip(request("/admin", "YWxpY2U6d3Jvbmc=")).status, 401);
    assert_eq!(c.round_trip(request("/open", "YWxpY2U6c2VjcmV0")).status, 200);
    drop(c);
    server.shutdown(Duration::from_secs(5)).expect("shutdown");

    let users: Vec<String> = lines(&path).iter().map(|l| l.split(' ').nth(2).unwrap_or_default().to_string()).collect();
    assert_eq!(users, ["alice", "-", "-"]);
}

/// The combined line's status and body-byte fields, and the request line.
fn status_and_bytes(line: &str) -> (String, u16, u64) {
    let request = line.split('"').nth(1).unwrap_or_default().to_string();
    let fields: Vec<&str> = line.split('"').nth(2).unwrap_or_default().split_whitespace().collect();
    let status = fields.first().and_then(|s| s.parse().ok()).unwrap_or_else(|| panic!("status in {line:?}"));
    let bytes = match fields.get(1) {
        Some(&"-") => 0,
        other => other.and_then(|b| b.parse().ok()).unwrap_or_else(|| panic!("bytes in {line:?}")),
    };
    (request, status, bytes)
}

/// The value of the sample `series` in a metrics scrape.
fn sample(metrics: &Metrics, series: &str) -> u64 {
    let text = metrics.render();
    let line = text.lines().find(|l| l.rsplit_once(' ').is_some_and(|(s, _)| s == series));
    line.and_then(|l| l.rsplit(' ').next()?.parse().ok()).unwrap_or_else(|| panic!("no {series} in\n{text}"))
}

fn serve_observed(app: Router, path: &Path, metrics: &Metrics) -> ServerHandle {
    let log = AccessLog::file(path);
    let server = Server::bind("127.0.0.1:0").threads(1).access_log(log).metrics(metrics).build(app);
    server.expect("builds").spawn().expect("spawns")
}

/// A client that leaves in the middle of a download: its line has the status
/// it got and the body bytes that went out (fewer than the body, at least what
/// it read), and the metrics count those same bytes.
#[test]
fn a_download_the_client_abandons_is_logged_with_the_bytes_sent() {
    const LEN: usize = 32 << 20;
    let dir = TempDir::new("log-abandoned");
    let path = dir.path().join("access.log");
    let body = bytes::Bytes::from(common::pattern(LEN));
    let app = Router::new().get("/big", move |_req| Response::new(200).body(body.clone()));
    let metrics = Metrics::new();
    let server = serve_observed(app, &path, &metrics);
    let mut c = Client::connect(server.local_addr());
    c.send("GET /big HTTP/1.1\r\nHost: h\r\n\r\n");
    let mut got = Vec::new();
    let mut chunk = [0u8; 64 * 1024];
    while got.len() < 1 << 20 {
        let n = c.stream.read(&mut chunk).expect("read the start of the download");
        assert!(n > 0, "the server closed during the download");
        got.extend_from_slice(&chunk[..n]);
    }
    let head = common::find(&got, b"\r\n\r\n").expect("the reply head") + 4;
    assert!(got.starts_with(b"HTTP/1.1 200 OK\r\n"));
    drop(c); // unread bytes: the kernel resets the connection
    wait_until(|| sample(&metrics, "porter_connections_open") == 0, "the server saw the client leave");
    server.shutdown(Duration::from_secs(5)).expect("shutdown");

    let got_lines = lines(&path);
    assert_eq!(got_lines.len(), 1, "{got_lines:?}");
    let (request, status, sent) = status_and_bytes(&got_lines[0]);
    assert_eq!((request.as_str(), status), ("GET /big HTTP/1.1", 200), "{}", got_lines[0]);
    assert!(sent >= (got.len() - head) as u64 && sent < LEN as u64, "{sent} bytes logged: {}", got_lines[0]);
    assert_eq!(sample(&metrics, "porter_response_body_bytes_total"), sent);
    assert_eq!(sample(&metrics, "porter_requests_total{class=\"2xx\"}"), 1);
}

/// A client that leaves while its deferred request waits for an answer: the
/// request is cancelled and logged 499 (nginx's "client closed request").
#[test]
fn a_request_cancelled_before_its_answer_is_logged_499() {
    let dir = TempDir::new("log-cancelled");
    let path = dir.path().join("access.log");
    let (parked, parked_rx) = std::sync::mpsc::channel();
    let app = Router::new().get("/wait", move |req: Request| {
        let (reply, responder) = req.defer();
        parked.send(responder).expect("the test holds the responder");
        reply
    });
    let metrics = Metrics::new();
    let server = serve_observed(app, &path, &metrics);
    let mut c = Client::connect(server.local_addr());
    c.send("GET /wait HTTP/1.1\r\nHost: h\r\n\r\n");
    let responder = parked_rx.recv().expect("the handler ran");
    c.shutdown_write(); // the client gives up
    wait_until(|| responder.is_cancelled(), "the request was cancelled");
    server.shutdown(Duration::from_secs(5)).expect("shutdown");

    let got: Vec<String> = lines(&path).iter().map(|l| without_time(l)).collect();
    assert_eq!(got, ["127.0.0.1 - - [TIME] \"GET /wait HTTP/1.1\" 499 - \"-\" \"-\""]);
    assert_eq!(sample(&metrics, "porter_requests_total{class=\"4xx\"}"), 1);
    assert_eq!(sample(&metrics, "porter_response_body_bytes_total"), 0);
}

/// The shutdown grace ends with a reply half sent (a channel body whose
/// producer stalls after 5 of its 10 bytes) and a deferred request never
/// answered: the first is logged with its status and the 5 bytes sent, the
/// second 444 (porter closed it without a reply, as nginx logs that).
#[test]
fn replies_cut_by_the_end_of_the_shutdown_grace_are_logged() {
    grace_cuts_a_channel_body(Some(10), b"\r\n\r\nhello", 5);
}

/// The same with a chunked body: its bytes count as they went on the wire,
/// framing included (`5\r\nhello\r\n`, 10 bytes), as for a chunked reply
/// sent in full (they used to count the 5 data bytes when cut, the same
/// minimum of data and wire bytes a whole reply did not use).
#[test]
fn a_chunked_reply_cut_by_the_end_of_the_shutdown_grace_counts_its_wire_bytes() {
    grace_cuts_a_channel_body(None, b"\r\n\r\n5\r\nhello\r\n", 10);
}

/// Sends 5 bytes of a channel body of `len`, reads up to `seen` (the head's
/// end and what followed), ends the shutdown grace, and checks the lines:
/// the cut reply with `logged` body bytes, a deferred request never
/// answered with 444.
fn grace_cuts_a_channel_body(len: Option<u64>, seen: &[u8], logged: u64) {
    let dir = TempDir::new("log-grace");
    let path = dir.path().join("access.log");
    // The test keeps the channel's sender and the responder, unused, until the end.
    let (parked, parked_rx) = std::sync::mpsc::channel::<Box<dyn std::any::Any + Send>>();
    let park = parked.clone();
    let app = Router::new()
        .get("/stream", move |_req| {
            let (sender, body) = Body::channel(len);
            sender.send("hello").expect("room for 5 bytes");
            park.send(Box::new(sender)).expect("the test holds the sender");
            Response::new(200).body(body)
        })
        .get("/wait", move |req: Request| {
            let (reply, responder) = req.defer();
            parked.send(Box::new(responder)).expect("the test holds the responder");
            reply
        });
    let metrics = Metrics::new();
    let server = serve_observed(app, &path, &metrics);
    let mut streaming = Client::connect(server.local_addr());
    streaming.send("GET /stream HTTP/1.1\r\nHost: h\r\n\r\n");
    let mut got = Vec::new();
    let mut chunk = [0u8; 1024];
    while !got.ends_with(seen) {
        let n = streaming.stream.read(&mut chunk).expect("read the head and the first 5 bytes");
        assert!(n > 0, "closed before the first 5 bytes");
        got.extend_from_slice(&chunk[..n]);
    }
    let mut waiting = Client::connect(server.local_addr());
    waiting.send("GET /wait HTTP/1.1\r\nHost: h\r\n\r\n");
    let _held: Vec<_> = (0..2).map(|_| parked_rx.recv().expect("both handlers ran")).collect();
    server.shutdown(Duration::from_millis(300)).expect("shutdown");

    let mut got: Vec<String> = lines(&path).iter().map(|l| without_time(l)).collect();
    got.sort();
    assert_eq!(
        got,
        [
            format!("127.0.0.1 - - [TIME] \"GET /stream HTTP/1.1\" 200 {logged} \"-\" \"-\""),
            "127.0.0.1 - - [TIME] \"GET /wait HTTP/1.1\" 444 - \"-\" \"-\"".to_owned(),
        ]
    );
    assert_eq!(sample(&metrics, "porter_response_body_bytes_total"), logged);
    assert_eq!(sample(&metrics, "porter_requests_total{class=\"2xx\"}"), 1);
    assert_eq!(sample(&metrics, "porter_requests_total{class=\"4xx\"}"), 1);
}
