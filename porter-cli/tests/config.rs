//! `porter --config FILE` and `porter check FILE`, end to end: the real binary
//! started with a config written to a scratch directory, talked to with
//! literal requests over loopback.
//!
//! Covered: two hosts answering differently (exact, wildcard, case, port, the
//! default), a redirect, a status location, Basic auth (401 with the custom
//! page and the challenge, 200 with credentials, no bypass through an encoded
//! path), a custom 404 page, per-host max_body (declared and chunked), and
//! `porter check`'s output and exit status, including on the example config.

mod common;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use base64::Engine;

use common::{exchange, porter_command, wait_for, wait_listening, Porter, Scratch, PORTER};

/// Starts `porter --config CONFIG` without an access log.
fn start(config: &Path) -> Porter {
    Porter::spawn(porter_command().arg("--config").arg(config).arg("--no-access-log"))
}

/// Requests with literal bytes, each on a new connection.
trait Requests {
    /// Sends `request` (which should say `Connection: close`) and reads the whole reply.
    fn send(&self, request: &str) -> Reply;
    /// `GET path` for `host`.
    fn get(&self, host: &str, path: &str) -> Reply;
}

impl Requests for Porter {
    fn send(&self, request: &str) -> Reply {
        Reply::parse(&exchange(self.addr, request.as_bytes()))
    }

    fn get(&self, host: &str, path: &str) -> Reply {
        self.send(&format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"))
    }
}

/// A parsed reply: status, headers, body.
struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Reply {
    fn parse(raw: &[u8]) -> Reply {
        let text = String::from_utf8_lossy(raw);
        let (head, body) = text.split_once("\r\n\r\n").unwrap_or_else(|| panic!("no reply head in {text:?}"));
        let mut lines = head.split("\r\n");
        let status_line = lines.next().unwrap_or_default();
        let status = status_line.split(' ').nth(1).and_then(|s| s.parse().ok()).expect("a status");
        let headers = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(n, v)| (n.to_ascii_lowercase(), v.trim().to_string()))
            .collect();
        Reply { status, headers, body: body.to_string() }
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }
}

/// A site with two hosts and one location of each kind.
fn two_host_site(s: &Scratch) -> PathBuf {
    s.write("www/index.html", "home page");
    s.write("www/admin/index.html", "admin page");
    s.write("errors/404.html", "<h1>custom not found</h1>");
    s.write("errors/401.html", "<h1>please sign in</h1>");
    s.write("b/index.html", "site b");
    let hash = bcrypt::hash("s3cret", 4).expect("bcrypt");
    s.write("htpasswd", format!("alice:{hash}\n"));
    s.write(
        "porter.toml",
        r#"
[server]
threads = 1

[[listen]]
address = "127.0.0.1:0"

[[host]]
names = ["a.test", "*.a.test"]
limits = { max_body = 10 }
error_pages = { 404 = "errors/404.html", 401 = "errors/401.html" }

[[host.location]]
path = "/healthz"
status = { code = 200, body = "ok\n", content_type = "text/plain" }

[[host.location]]
path = "/old"
redirect = { status = 301, to = "https://new.test$path$is_args$query" }

[[host.location]]
path = "/admin"
root = "www"
auth = { htpasswd = "htpasswd", realm = "staff" }

[[host.location]]
path = "/"
root = "www"

[[host]]
names = ["b.test"]
default = true

[[host.location]]
path = "/"
root = "b"
"#,
    )
}

#[test]
fn hosts_answer_by_name_with_the_default_for_the_rest() {
    let s = Scratch::new("config-hosts");
    let porter = start(&two_host_site(&s));
    for host in ["a.test", "A.TEST:8080", "www.a.test", "x.y.a.test"] {
        let r = porter.get(host, "/");
        assert_eq!((r.status, r.body.as_str()), (200, "home page"), "Host: {host}");
    }
    for host in ["b.test", "unknown.test", "a.test.evil"] {
        let r = porter.get(host, "/");
        assert_eq!((r.status, r.body.as_str()), (200, "site b"), "Host: {host}");
    }
    let r = porter.send("GET / HTTP/1.0\r\n\r\n");
    assert_eq!((r.status, r.body.as_str()), (200, "site b"), "no Host: the default host");
}

#[test]
fn status_and_redirect_locations() {
    let s = Scratch::new("config-kinds");
    let porter = start(&two_host_site(&s));
    let r = porter.get("a.test", "/healthz");
    assert_eq!((r.status, r.body.as_str(), r.header("content-type")), (200, "ok\n", Some("text/plain")));
    let r = porter.get("a.test", "/healthzx");
    assert_eq!(r.status, 404, "prefixes match whole segments");

    let r = porter.get("a.test", "/old/post%20one?x=1&y=2");
    assert_eq!(r.status, 301);
    assert_eq!(r.header("location"), Some("https://new.test/old/post%20one?x=1&y=2"));
    let r = porter.get("a.test", "/old/../old//a/./b");
    assert_eq!(r.header("location"), Some("https://new.test/old/a/b"), "the path is normalized");
    let r = porter.get("a.test", "/old/%0d%0aSet-Cookie:%20x=1");
    assert_eq!(r.header("location"), Some("https://new.test/old/%0D%0ASet-Cookie:%20x=1"), "CR/LF stay encoded");
    assert!(r.header("set-cookie").is_none());
}

#[test]
fn auth_guards_a_location_and_error_pages_keep_the_challenge() {
    let s = Scratch::new("config-auth");
    let porter = start(&two_host_site(&s));
    for path in ["/admin/", "/%61dmin/", "//admin/", "/x/../admin/"] {
        let r = porter.get("a.test", path);
        assert_eq!(r.status, 401, "{path}: no credentials");
        assert_eq!(r.body, "<h1>please sign in</h1>", "{path}: the custom page");
        assert_eq!(r.header("content-type"), Some("text/html; charset=utf-8"));
        assert_eq!(r.header("www-authenticate"), Some("Basic realm=\"staff\", charset=\"UTF-8\""), "{path}");
    }
    let good = base64::engine::general_purpose::STANDARD.encode("alice:s3cret");
    let bad = base64::engine::general_purpose::STANDARD.encode("alice:nope");
    let ask = |credentials: &str| {
        porter.send(&format!(
            "GET /admin/ HTTP/1.1\r\nHost: a.test\r\nAuthorization: Basic {credentials}\r\nConnection: close\r\n\r\n"
        ))
    };
    let r = ask(&good);
    assert_eq!((r.status, r.body.as_str()), (200, "admin page"));
    assert_eq!(ask(&bad).status, 401);
}

#[test]
fn custom_404_page_keeps_the_status() {
    let s = Scratch::new("config-notfound");
    let porter = start(&two_host_site(&s));
    let r = porter.get("a.test", "/no-such-page");
    assert_eq!((r.status, r.body.as_str()), (404, "<h1>custom not found</h1>"));
    assert_eq!(r.header("content-type"), Some("text/html; charset=utf-8"));
    assert_eq!(r.header("content-length"), Some("25"));
    let r = porter.get("b.test", "/no-such-page");
    assert_eq!((r.status, r.body.as_str()), (404, "404 Not Found\n"), "host b has no custom page");
}

#[test]
fn a_host_max_body_refuses_declared_and_chunked_bodies() {
    let s = Scratch::new("config-maxbody");
    let porter = start(&two_host_site(&s));
    let ask = |method: &str, host: &str, path: &str, body: &str| {
        porter.send(&format!(
            "{method} {path} HTTP/1.1\r\nHost: {host}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        ))
    };
    // Files take GET with a body (and read it).
    assert_eq!(ask("GET", "a.test", "/", "0123456789").status, 200, "at the limit");
    let r = ask("GET", "a.test", "/", "0123456789x");
    assert_eq!(r.status, 413, "over host a's 10 bytes");
    assert_eq!(r.body, "413 Content Too Large: request body larger than the server accepts\n", "porter's reason");
    assert_eq!(r.header("connection"), Some("close"));
    // A location's own answer from the head wins over the host's 413, as over
    // porter's own (Handler::before_body): a refusal says more, and the body
    // is not read either way.
    assert_eq!(ask("POST", "a.test", "/", "0123456789x").status, 405, "files refuse POST first");
    assert_eq!(ask("POST", "a.test", "/healthz", "0123456789x").status, 200, "a status location answers from the head");
    // A chunked body has no declared length: a location that reads bodies (files
    // take GET with a body) gets it measured after reading, under the global limit.
    let chunked = "GET / HTTP/1.1\r\nHost: a.test\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n\
                   6\r\n012345\r\n6\r\n678901\r\n0\r\n\r\n";
    assert_eq!(porter.send(chunked).status, 413, "a chunked body over the limit");
    let small = chunked.replace("6\r\n678901\r\n", "");
    assert_eq!(porter.send(&small).status, 200, "a chunked body under it");
    assert_eq!(ask("GET", "b.test", "/", "0123456789x").status, 200, "host b has no such limit");
}

fn porter_check(file: &Path) -> Output {
    Command::new(PORTER).arg("check").arg(file).output().expect("run porter check")
}

#[test]
fn check_accepts_a_valid_file_with_a_summary() {
    let s = Scratch::new("config-check-ok");
    let file = two_host_site(&s);
    let out = porter_check(&file);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(stdout, format!("{}: ok: 1 listener, 2 hosts, 5 locations\n", file.display()));
    assert!(out.stderr.is_empty());
}

#[test]
fn check_prints_each_error_with_line_and_column() {
    let s = Scratch::new("config-check-bad");
    let file = s.write(
        "bad.toml",
        "[[listen]]\naddress = \"nowhere\"\n\n[[host]]\nnames = [\"a.test\"]\ndefault = true\n\n\
         [[host.location]]\npath = \"/\"\nstatus = { code = 200 }\nroot = \"www\"\n\n\
         [[host]]\nnames = [\"b.test\"]\ndefault = true\ncolour = \"blue\"\n",
    );
    let out = porter_check(&file);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    let f = file.display();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 5, "{stderr}");
    assert!(lines[0].starts_with(&format!("{f}:2:11: bad address `nowhere`: ")), "{stderr}");
    assert_eq!(lines[1], format!("{f}:10:10: a location has one kind, but this one has both `root` and `status`"));
    // The unknown field does not hide the problem beside it in the same host.
    assert_eq!(lines[2], format!("{f}:15:11: only one host may have `default = true`"));
    assert_eq!(
        lines[3],
        format!("{f}:16:1: unknown field `colour`, expected one of `names`, `default`, `limits`, `error_pages`")
    );
    assert_eq!(lines[4], format!("porter: 4 errors in {f}"));

    let out = porter_check(&s.path("absent.toml"));
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        stderr.lines().next(),
        Some(format!("{}: No such file or directory", s.path("absent.toml").display()).as_str())
    );
}

#[test]
fn the_example_config_checks() {
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/config");
    let s = Scratch::new("config-example");
    copy_dir(&example, s.dir());
    // The example's certificate pair is made by the user (see its header); here, by rcgen.
    let key = rcgen::KeyPair::generate().expect("key");
    let cert = rcgen::CertificateParams::new(vec!["localhost".to_string()]).expect("params");
    let cert = cert.self_signed(&key).expect("certificate");
    s.write("tls/cert.pem", cert.pem());
    s.write("tls/key.pem", key.serialize_pem());
    let out = porter_check(&s.path("porter.toml"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(String::from_utf8_lossy(&out.stdout).ends_with(": ok: 3 listeners, 2 hosts, 6 locations\n"));
    assert!(stderr.is_empty(), "{stderr}");
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read example dir") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).expect("copy");
        }
    }
}

#[test]
fn config_refuses_flags_it_replaces() {
    let s = Scratch::new("config-flags");
    let file = two_host_site(&s);
    let out = Command::new(PORTER).arg("--config").arg(&file).args(["--root", "."]).output().expect("run porter");
    assert_eq!(out.status.code(), Some(2), "a flag error");
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot be used with"));
}

#[test]
fn the_log_section_writes_json_lines_to_its_file() {
    let s = Scratch::new("config-jsonlog");
    let file = two_host_site(&s);
    let log = s.path("access.json");
    let text = std::fs::read_to_string(&file).expect("config");
    let with_log = format!("threads = 1\n\n[log]\naccess = \"{}\"\nformat = \"json\"\n", log.display());
    let file = s.write("json.toml", text.replace("threads = 1", &with_log));
    let porter = Porter::spawn(porter_command().arg("--config").arg(&file));
    assert_eq!(porter.get("a.test", "/healthz").status, 200);
    // The writer thread hands the line to the file on its own schedule: wait for it.
    let first_line = || std::fs::read_to_string(&log).ok()?.lines().next().map(str::to_string);
    let line = wait_for(first_line, &format!("an access line in {}", log.display()));
    assert!(line.starts_with('{') && line.ends_with('}'), "{line}");
    assert!(line.contains(r#""target":"/healthz""#) && line.contains(r#""status":200"#), "{line}");
    assert!(line.contains(r#""host":"a.test""#), "{line}");
}

/// `two_host_site` with `first_location` (TOML) as the `a.test` host's first location.
fn site_with(s: &Scratch, name: &str, first_location: &str) -> PathBuf {
    let text = std::fs::read_to_string(two_host_site(s)).expect("config");
    let text = text.replacen("[[host.location]]", &format!("{first_location}\n[[host.location]]"), 1);
    s.write(name, text)
}

#[test]
fn a_metrics_location_shows_the_servers_own_counters() {
    let s = Scratch::new("config-metrics");
    let file = site_with(&s, "metrics.toml", "[[host.location]]\npath = \"/metrics\"\nmetrics = true\n");
    let porter = start(&file);
    assert_eq!(porter.get("a.test", "/healthz").status, 200);
    assert_eq!(porter.get("a.test", "/healthz").status, 200);
    assert_eq!(porter.get("a.test", "/missing").status, 404);
    let scrape = porter.get("a.test", "/metrics");
    assert_eq!(scrape.status, 200);
    assert!(scrape.header("content-type").is_some_and(|t| t.starts_with("text/plain; version=0.0.4")));
    // The scrape itself is counted only once its reply is written: after this text.
    assert!(scrape.body.lines().any(|l| l == r#"porter_requests_total{class="2xx"} 2"#), "{}", scrape.body);
    assert!(scrape.body.lines().any(|l| l == r#"porter_requests_total{class="4xx"} 1"#), "{}", scrape.body);
    assert!(scrape.body.contains("porter_request_duration_seconds_bucket{le=\"+Inf\"} 3"), "{}", scrape.body);
}

#[test]
fn a_systemd_listener_serves_the_socket_systemd_passes() {
    if Command::new("systemd-socket-activate").arg("--help").output().is_err() {
        panic!("systemd-socket-activate (Debian package systemd) is missing; ./scripts/test.sh installs it");
    }
    let s = Scratch::new("config-systemd");
    let file = two_host_site(&s);
    let text = std::fs::read_to_string(&file).expect("config");
    let file = s.write("systemd.toml", text.replace("address = \"127.0.0.1:0\"", "systemd = true"));
    let addr: SocketAddr = ([127, 0, 0, 1], common::free_port()).into();
    // systemd-socket-activate binds the port, and at the first connection execs porter with it as fd 3.
    let child = Command::new("systemd-socket-activate")
        .args(["-l", &addr.to_string(), PORTER, "--config"])
        .arg(&file)
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start systemd-socket-activate");
    wait_listening(addr);
    let mut porter = Porter::adopt(child, addr);
    assert_eq!(porter.get("a.test", "/healthz").body, "ok\n");
    assert_eq!(porter.get("b.test", "/").body, "site b");
    // The exec'd porter has systemd-socket-activate's pid: SIGTERM drains it, and it exits cleanly.
    porter.signal("TERM");
    let status = porter.wait_exit();
    assert!(status.success(), "{status}");
}
