//! Real clients against an in-process server: the `ureq` crate, `curl` and
//! Python's `http.client`. Each checks statuses and bodies, what the handler
//! saw, and (through the peer address the handler recorded) that keep-alive
//! really reused one connection.
//!
//! `curl` and `python3` are required: if one is missing the test fails and says
//! that `./scripts/test.sh` (the README's test command) installs them.

mod common;

use std::collections::HashSet;
use std::io::Cursor;
use std::path::Path;
use std::process::Command;

use common::{echo, echoed, pattern, require_tool, serve, Log, TempDir};
use porter::{Body, Request, Response, Router};

/// One router for every client test: `/echo/*` and `/upload` echo through `log`,
/// `/stream` answers a chunked body of unknown length.
fn app(log: &Log) -> Router {
    Router::new()
        .get("/echo/*rest", echo(log))
        .post("/echo/*rest", echo(log))
        .post("/upload", echo(log))
        .get("/stream", |_req: Request| Response::new(200).body(Body::reader(Cursor::new(pattern(100_000)), None)))
}

/// The distinct client connections among the requests `log` saw.
fn connections(log: &Log) -> usize {
    log.seen().iter().map(|s| s.peer).collect::<HashSet<_>>().len()
}

// ---------------------------------------------------------------------------
// ureq

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder().http_status_as_error(false).build().into()
}

#[test]
fn ureq_get_and_post() {
    let log = Log::new();
    let server = serve(app(&log));
    let base = format!("http://{}", server.local_addr());
    let agent = agent();

    let mut r = agent.get(format!("{base}/echo/hello?q=1")).call().expect("GET");
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(r.headers().get("server").and_then(|v| v.to_str().ok()), Some("porter"));
    assert_eq!(r.body_mut().read_to_vec().expect("body"), echoed("GET", "/echo/hello?q=1", b""));

    let body = pattern(50_000);
    let mut r = agent.post(format!("{base}/upload")).send(&body[..]).expect("POST");
    assert_eq!(r.status().as_u16(), 200);
    let got = r.body_mut().with_config().limit(1 << 20).read_to_vec().expect("body");
    assert_eq!(got, echoed("POST", "/upload", &body));

    let mut r = agent.get(format!("{base}/nowhere")).call().expect("GET 404");
    assert_eq!(r.status().as_u16(), 404);
    let _ = r.body_mut().read_to_vec();

    let mut r = agent.get(format!("{base}/stream")).call().expect("GET stream");
    assert_eq!(r.headers().get("transfer-encoding").and_then(|v| v.to_str().ok()), Some("chunked"));
    assert_eq!(r.body_mut().with_config().limit(1 << 20).read_to_vec().expect("body"), pattern(100_000));

    assert_eq!(log.lines(), ["GET /echo/hello?q=1", "POST /upload"]);
    assert_eq!(log.seen()[1].body, body);
}

#[test]
fn ureq_chunked_upload() {
    let log = Log::new();
    let server = serve(app(&log));
    let body = pattern(70_000);
    let reader = Cursor::new(body.clone());
    let mut r = agent()
        .post(format!("http://{}/upload", server.local_addr()))
        .send(ureq::SendBody::from_owned_reader(reader))
        .expect("chunked POST");
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(
        r.body_mut().with_config().limit(1 << 20).read_to_vec().expect("body"),
        echoed("POST", "/upload", &body)
    );
    let seen = &log.seen()[0];
    assert_eq!(seen.header("transfer-encoding").as_deref(), Some("chunked"), "ureq should have sent chunked");
    assert_eq!(seen.body, body);
}

#[test]
fn ureq_agent_keeps_one_connection_alive() {
    let log = Log::new();
    let server = serve(app(&log));
    let base = format!("http://{}", server.local_addr());
    let agent = agent();
    for i in 0..25 {
        let mut r = if i % 2 == 0 {
            agent.get(format!("{base}/echo/{i}")).call().expect("GET")
        } else {
            agent.post(format!("{base}/echo/{i}")).send(format!("body {i}")).expect("POST")
        };
        assert_eq!(r.status().as_u16(), 200, "request {i}");
        let text = r.body_mut().read_to_string().expect("body");
        let method = if i % 2 == 0 { "GET" } else { "POST" };
        let want_body = if i % 2 == 0 { String::new() } else { format!("body {i}") };
        assert_eq!(text, format!("{method} /echo/{i}\n{want_body}"), "request {i}");
    }
    assert_eq!(log.count(), 25);
    assert_eq!(connections(&log), 1, "25 requests over one agent should share one keep-alive connection");
}

// ---------------------------------------------------------------------------
// curl

/// Runs `curl` with `args`, returns stdout; fails the test on a non-zero exit.
fn curl(args: &[&str]) -> Vec<u8> {
    require_tool("curl");
    let out =
        Command::new("curl").args(["-sS", "--http1.1", "--max-time", "20"]).args(args).output().expect("run curl");
    assert!(out.status.success(), "curl {args:?} failed ({}): {}", out.status, String::from_utf8_lossy(&out.stderr));
    out.stdout
}

/// Splits `curl -i` output into (interim heads, final head, body).
fn split_curl(output: &[u8]) -> (Vec<String>, String, Vec<u8>) {
    let mut rest = output;
    let mut interim = Vec::new();
    loop {
        let end = common::find(rest, b"\r\n\r\n")
            .unwrap_or_else(|| panic!("no head in {:?}", String::from_utf8_lossy(output)))
            + 4;
        let head = String::from_utf8_lossy(&rest[..end]).into_owned();
        rest = &rest[end..];
        if head.starts_with("HTTP/1.1 1") {
            interim.push(head);
        } else {
            return (interim, head, rest.to_vec());
        }
    }
}

fn head_value<'h>(head: &'h str, name: &str) -> Option<&'h str> {
    head.split("\r\n")
        .filter_map(|l| l.split_once(':'))
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.trim())
}

fn write_file(dir: &TempDir, name: &str, data: &[u8]) -> String {
    let path = dir.path().join(name);
    std::fs::write(&path, data).expect("write upload file");
    format!("@{}", Path::new(&path).display())
}

#[test]
fn curl_get() {
    let log = Log::new();
    let server = serve(app(&log));
    let out = curl(&["-i", &format!("http://{}/echo/curl?x=y", server.local_addr())]);
    let (interim, head, body) = split_curl(&out);
    assert!(interim.is_empty());
    assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head}");
    assert_eq!(head_value(&head, "server"), Some("porter"));
    assert_eq!(body, echoed("GET", "/echo/curl?x=y", b""));
    assert_eq!(log.lines(), ["GET /echo/curl?x=y"]);
}

#[test]
fn curl_expect_100_continue_upload() {
    let log = Log::new();
    let server = serve(app(&log));
    let dir = TempDir::new("curl-expect");
    let data = pattern(100 * 1024);
    let file = write_file(&dir, "upload.bin", &data);
    let out = curl(&[
        "-i",
        "-H",
        "Expect: 100-continue",
        "--data-binary",
        &file,
        &format!("http://{}/upload", server.local_addr()),
    ]);
    let (interim, head, body) = split_curl(&out);
    assert_eq!(interim, ["HTTP/1.1 100 Continue\r\n\r\n"], "curl should have been told to continue");
    assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head}");
    assert_eq!(body, echoed("POST", "/upload", &data));
    let seen = &log.seen()[0];
    assert_eq!(seen.header("expect").as_deref(), Some("100-continue"));
    assert_eq!(seen.body, data);
}

#[test]
fn curl_expect_100_continue_to_an_unknown_route_gets_404() {
    let log = Log::new();
    let server = serve(app(&log));
    let dir = TempDir::new("curl-expect-404");
    let file = write_file(&dir, "upload.bin", &pattern(100 * 1024));
    let out = curl(&[
        "-i",
        "-H",
        "Expect: 100-continue",
        "--data-binary",
        &file,
        &format!("http://{}/nowhere", server.local_addr()),
    ]);
    let (interim, head, _) = split_curl(&out);
    assert!(interim.is_empty(), "no 100 Continue for a refused upload: {interim:?}");
    assert!(head.starts_with("HTTP/1.1 404 "), "{head}");
    assert_eq!(log.count(), 0);
}

#[test]
fn curl_chunked_upload() {
    let log = Log::new();
    let server = serve(app(&log));
    let dir = TempDir::new("curl-chunked");
    let data = pattern(100 * 1024);
    let file = write_file(&dir, "upload.bin", &data);
    let out = curl(&[
        "-i",
        "-H",
        "Transfer-Encoding: chunked",
        "--data-binary",
        &file,
        &format!("http://{}/upload", server.local_addr()),
    ]);
    let (_, head, body) = split_curl(&out);
    assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head}");
    assert_eq!(body, echoed("POST", "/upload", &data));
    let seen = &log.seen()[0];
    assert_eq!(seen.header("transfer-encoding").as_deref(), Some("chunked"));
    assert_eq!(seen.header("content-length"), None);
    assert_eq!(seen.body, data);
}

#[test]
fn curl_head() {
    let log = Log::new();
    let server = serve(app(&log));
    let out = curl(&["-I", &format!("http://{}/echo/h", server.local_addr())]);
    let text = String::from_utf8_lossy(&out).into_owned();
    assert!(text.starts_with("HTTP/1.1 200 OK\r\n"), "{text}");
    assert!(text.ends_with("\r\n\r\n"), "HEAD output must be the head only: {text:?}");
    assert_eq!(head_value(&text, "content-length"), Some(echoed("HEAD", "/echo/h", b"").len().to_string().as_str()));
    assert_eq!(log.lines(), ["HEAD /echo/h"]);
}

#[test]
fn curl_reuses_one_connection_for_several_urls() {
    let log = Log::new();
    let server = serve(app(&log));
    let base = format!("http://{}", server.local_addr());
    let urls: Vec<String> = (0..5).map(|i| format!("{base}/echo/{i}")).collect();
    let args: Vec<&str> = urls.iter().map(String::as_str).collect();
    let out = curl(&args);
    let want: Vec<u8> = (0..5).flat_map(|i| echoed("GET", &format!("/echo/{i}"), b"")).collect();
    assert_eq!(String::from_utf8_lossy(&out), String::from_utf8_lossy(&want));
    assert_eq!(connections(&log), 1, "curl should reuse its keep-alive connection");
}

#[test]
fn curl_streamed_chunked_reply() {
    let log = Log::new();
    let server = serve(app(&log));
    let out = curl(&["-i", &format!("http://{}/stream", server.local_addr())]);
    let (_, head, body) = split_curl(&out);
    assert_eq!(head_value(&head, "transfer-encoding"), Some("chunked"), "{head}");
    assert_eq!(body, pattern(100_000));
}

// ---------------------------------------------------------------------------
// Python http.client

const PY_CLIENT: &str = r#"
import http.client, sys
port = int(sys.argv[1])
conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
def show(name, r):
    body = r.read()
    te = r.getheader("Transfer-Encoding") or "-"
    cl = r.getheader("Content-Length") or "-"
    print("\t".join([name, str(r.status), str(r.version), cl, te, body.hex()]))
conn.request("GET", "/echo/py-get?a=b")
show("get", conn.getresponse())
conn.request("POST", "/echo/py-post", body=b"posted by python", headers={"Content-Type": "text/plain"})
show("post", conn.getresponse())
conn.request("POST", "/echo/py-chunked", body=iter([b"chunk-one;", b"chunk-two;", b"chunk-three"]), encode_chunked=True)
show("chunked", conn.getresponse())
conn.request("HEAD", "/echo/py-head")
show("head", conn.getresponse())
for i in range(5):
    conn.request("GET", "/echo/py-again/%d" % i)
    show("again%d" % i, conn.getresponse())
conn.request("GET", "/stream")
show("stream", conn.getresponse())
conn.close()
"#;

struct PyLine {
    name: String,
    status: u16,
    version: String,
    content_length: String,
    transfer_encoding: String,
    body: Vec<u8>,
}

fn from_hex(hex: &str) -> Vec<u8> {
    (0..hex.len()).step_by(2).map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex")).collect()
}

#[test]
fn python_http_client() {
    require_tool("python3");
    let log = Log::new();
    let server = serve(app(&log));
    let out = Command::new("python3")
        .args(["-c", PY_CLIENT, &server.local_addr().port().to_string()])
        .output()
        .expect("run python3");
    assert!(out.status.success(), "python3 http.client failed: {}", String::from_utf8_lossy(&out.stderr));
    let lines: Vec<PyLine> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            assert_eq!(f.len(), 6, "bad line from the python client: {l:?}");
            PyLine {
                name: f[0].into(),
                status: f[1].parse().expect("status"),
                version: f[2].into(),
                content_length: f[3].into(),
                transfer_encoding: f[4].into(),
                body: from_hex(f[5]),
            }
        })
        .collect();
    let names: Vec<&str> = lines.iter().map(|l| l.name.as_str()).collect();
    assert_eq!(names, ["get", "post", "chunked", "head", "again0", "again1", "again2", "again3", "again4", "stream"]);
    for l in &lines {
        assert_eq!((l.status, l.version.as_str()), (200, "11"), "{}", l.name);
    }
    assert_eq!(lines[0].body, echoed("GET", "/echo/py-get?a=b", b""));
    assert_eq!(lines[1].body, echoed("POST", "/echo/py-post", b"posted by python"));
    assert_eq!(lines[2].body, echoed("POST", "/echo/py-chunked", b"chunk-one;chunk-two;chunk-three"));
    assert_eq!(lines[3].body, b"", "HEAD has no body");
    assert_eq!(lines[3].content_length, echoed("HEAD", "/echo/py-head", b"").len().to_string());
    for (i, l) in lines[4..9].iter().enumerate() {
        assert_eq!(l.body, echoed("GET", &format!("/echo/py-again/{i}"), b""));
    }
    assert_eq!(lines[9].transfer_encoding, "chunked");
    assert_eq!(lines[9].body, pattern(100_000));

    let seen = log.seen();
    assert_eq!(seen[2].header("transfer-encoding").as_deref(), Some("chunked"), "python should have sent chunked");
    assert_eq!(seen.len(), 9);
    assert_eq!(connections(&log), 1, "one HTTPConnection should have used one keep-alive connection");
}
