//! SIGHUP: `porter --config FILE` re-reads the file. A valid file changes
//! what new requests see (a new location, a new host), which listeners are
//! open, the certificates and the access log, while a download under way
//! finishes intact; an invalid file is reported problem by problem, and a
//! file that cannot be applied (a port taken) is undone; either way the old
//! configuration keeps serving. Without `--config`, SIGHUP is logged and
//! ignored: porter keeps serving.
//!
//! Each test waits for porter's own log line saying what the reload did (its
//! stderr, read line by line), never for a while.

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::mpsc;

use common::{connect, exchange, free_port, pattern, porter_command, read_head, wait_until, Porter, Scratch, SAFETY};

/// Starts `porter --config FILE --no-access-log`.
fn start(file: &Path) -> Porter {
    Porter::spawn(porter_command().arg("--config").arg(file).arg("--no-access-log"))
}

/// Rewrites the config file, sends SIGHUP and returns porter's line about the
/// reload (`reloaded`, or `still serving` the previous configuration), with
/// the lines before it (problems, warnings).
fn reload(porter: &Porter, file: &Path, text: &str) -> Vec<String> {
    std::fs::write(file, text).expect("rewrite the config");
    porter.signal("HUP");
    let mut lines = Vec::new();
    loop {
        let line = porter.next_line();
        let done = line.contains("SIGHUP: reloaded") || line.contains("still serving the previous configuration");
        lines.push(line);
        if done {
            return lines;
        }
    }
}

/// The status and body of `GET path` for `host` on a new connection.
fn get(addr: SocketAddr, host: &str, path: &str) -> (u16, String) {
    let raw = exchange(addr, format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n").as_bytes());
    let text = String::from_utf8_lossy(&raw);
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or_else(|| panic!("no reply head in {text:?}"));
    let status = head.split(' ').nth(1).and_then(|s| s.parse().ok()).expect("a status");
    (status, body.to_string())
}

/// A config: one plain listener on an ephemeral port, then `rest`.
fn config(rest: &str) -> String {
    format!("[server]\nthreads = 2\n\n[[listen]]\naddress = \"127.0.0.1:0\"\n\n{rest}")
}

const ONE_HOST: &str = r#"
[[host]]
names = ["a.test"]

[[host.location]]
path = "/files"
root = "www"

[[host.location]]
path = "/"
status = { code = 200, body = "first" }
"#;

const TWO_HOSTS: &str = r#"
[[host]]
names = ["a.test"]

[[host.location]]
path = "/new"
status = { code = 200, body = "new location" }

[[host.location]]
path = "/"
status = { code = 200, body = "second" }

[[host]]
names = ["b.test"]

[[host.location]]
path = "/"
status = { code = 200, body = "host b" }
"#;

#[test]
fn sighup_applies_new_hosts_and_locations_and_the_download_under_way_finishes() {
    const BIG: usize = 48 << 20;
    let s = Scratch::new("reload-site");
    s.write("www/files/big.bin", pattern(BIG));
    let file = s.write("porter.toml", config(ONE_HOST));
    let porter = start(&file);
    assert_eq!(get(porter.addr, "b.test", "/new"), (200, "first".into()), "a.test is the only host");
    // A download far larger than the socket buffers, read only after the reload.
    let mut download = connect(porter.addr);
    download.write_all(b"GET /files/big.bin HTTP/1.1\r\nHost: a.test\r\n\r\n").expect("send");
    let head = read_head(&mut download);
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");

    let lines = reload(&porter, &file, &config(TWO_HOSTS));
    let last = lines.last().expect("a line");
    assert!(last.contains("SIGHUP: reloaded") && last.contains(&format!("http://{}", porter.addr)), "{lines:?}");
    assert_eq!(get(porter.addr, "a.test", "/new"), (200, "new location".into()));
    assert_eq!(get(porter.addr, "a.test", "/"), (200, "second".into()));
    assert_eq!(get(porter.addr, "b.test", "/"), (200, "host b".into()));
    assert_eq!(get(porter.addr, "a.test", "/files/big.bin").0, 200, "the new site's / answers, not the old root");

    let mut body = vec![0u8; BIG];
    download.read_exact(&mut body).expect("the whole download");
    assert!(body == pattern(BIG), "the download begun before the reload arrives intact");
}

#[test]
fn an_invalid_file_is_reported_and_the_old_configuration_keeps_serving() {
    let s = Scratch::new("reload-invalid");
    s.write("www/files/a.txt", "a");
    let file = s.write("porter.toml", config(ONE_HOST));
    let porter = start(&file);
    let broken = config(ONE_HOST).replace("threads = 2", "threads = -1\ncolour = \"blue\"");
    let lines = reload(&porter, &file, &broken);
    let name = file.display().to_string();
    assert!(lines.iter().any(|l| l.contains(&format!("{name}:2:11: `threads` must be 0"))), "{lines:?}");
    assert!(lines.iter().any(|l| l.contains(&format!("{name}:3:1: unknown field `colour`"))), "{lines:?}");
    let last = lines.last().expect("a line");
    assert!(last.contains("2 errors in") && last.contains("still serving the previous configuration"), "{last}");
    assert_eq!(get(porter.addr, "a.test", "/"), (200, "first".into()));
    assert_eq!(get(porter.addr, "a.test", "/files/a.txt"), (200, "a".into()));
}

/// The `http://` addresses a reload line names, in order.
fn urls(line: &str) -> Vec<SocketAddr> {
    let words = line.split([' ', ',']).filter_map(|w| w.strip_prefix("http://"));
    words.map(|w| w.parse().expect("an address")).collect()
}

#[test]
fn listeners_added_open_and_listeners_removed_close() {
    let s = Scratch::new("reload-listeners");
    s.write("www/files/a.txt", "a");
    let file = s.write("porter.toml", config(ONE_HOST));
    let porter = start(&file);
    // A second ephemeral port, on another loopback address (named apart from the first).
    let both = config(ONE_HOST).replace("[[host]]", "[[listen]]\naddress = \"127.0.0.2:0\"\n\n[[host]]");
    let lines = reload(&porter, &file, &both);
    let urls_now = urls(lines.last().expect("a line"));
    assert_eq!(urls_now.len(), 2, "{lines:?}");
    let second = urls_now[1];
    assert_eq!(urls_now, [porter.addr, second], "{lines:?}");
    assert_eq!(second.ip().to_string(), "127.0.0.2", "{lines:?}");
    assert_eq!(get(second, "a.test", "/"), (200, "first".into()));
    assert_eq!(get(porter.addr, "a.test", "/"), (200, "first".into()), "the first listener keeps its port");

    let only_second = both.replacen("[[listen]]\naddress = \"127.0.0.1:0\"\n\n", "", 1);
    let lines = reload(&porter, &file, &only_second);
    assert_eq!(urls(lines.last().expect("a line")), [second], "{lines:?}");
    wait_until(|| TcpStream::connect(porter.addr).is_err(), "the removed listener refuses connections");
    assert_eq!(get(second, "a.test", "/"), (200, "first".into()));
}

#[test]
fn a_file_that_cannot_be_applied_changes_nothing() {
    let s = Scratch::new("reload-busy");
    s.write("www/files/a.txt", "a");
    let file = s.write("porter.toml", config(ONE_HOST));
    let porter = start(&file);
    // A port something else holds (without SO_REUSEPORT): porter cannot bind it.
    let holder = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let busy = holder.local_addr().expect("address");
    let free: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().expect("address");
    let listeners = format!("[[listen]]\naddress = \"{free}\"\n\n[[listen]]\naddress = \"{busy}\"\n\n[[host]]");
    let text = config(TWO_HOSTS).replacen("[[host]]", &listeners, 1);
    let lines = reload(&porter, &file, &text);
    let last = lines.last().expect("a line");
    assert!(last.contains("cannot apply") && last.contains(&busy.to_string()), "{lines:?}");
    assert!(last.contains("still serving the previous configuration"), "{last}");
    assert_eq!(get(porter.addr, "a.test", "/new"), (200, "first".into()), "the old site");
    wait_until(|| TcpStream::connect(free).is_err(), "the listener opened for the failed reload is closed again");
    // The next valid file applies as usual.
    let lines = reload(&porter, &file, &config(TWO_HOSTS));
    assert!(lines.last().expect("a line").contains("SIGHUP: reloaded"), "{lines:?}");
    assert_eq!(get(porter.addr, "a.test", "/new"), (200, "new location".into()));
}

/// A self-signed certificate for `localhost`, written as `NAME.pem` and `NAME.key`.
fn certificate(s: &Scratch, name: &str) -> (PathBuf, PathBuf) {
    let key = rcgen::KeyPair::generate().expect("key");
    let params = rcgen::CertificateParams::new(vec!["localhost".to_string()]).expect("params");
    let cert = params.self_signed(&key).expect("certificate");
    (s.write(&format!("{name}.pem"), cert.pem()), s.write(&format!("{name}.key"), key.serialize_pem()))
}

/// Whether curl, trusting only `ca`, completes `GET /` on `https://localhost:PORT`.
fn curl_trusts(addr: SocketAddr, ca: &Path) -> bool {
    let url = format!("https://localhost:{}/", addr.port());
    let out = Command::new("curl")
        .args(["-sS", "-H", "Host: a.test", "--resolve", &format!("localhost:{}:127.0.0.1", addr.port())])
        .arg("--cacert")
        .arg(ca)
        .arg(&url)
        .output()
        .expect("curl runs; ./scripts/test.sh installs it");
    out.status.success()
}

#[test]
fn certificates_are_reloaded_and_the_access_log_follows_the_file() {
    let s = Scratch::new("reload-tls");
    s.write("www/files/a.txt", "a");
    let (old_cert, old_key) = certificate(&s, "old");
    let (new_cert, _) = certificate(&s, "new");
    let log = s.path("access.log");
    let https = format!("127.0.0.1:{}", free_port());
    let text = |log_section: &str| {
        config(ONE_HOST).replace(
            "[[host]]",
            &format!(
                "[[listen]]\naddress = \"{https}\"\ntls = {{ cert = \"tls.pem\", key = \"tls.key\" }}\n\n{log_section}\n[[host]]"
            ),
        )
    };
    std::fs::copy(&old_cert, s.path("tls.pem")).expect("cert");
    std::fs::copy(&old_key, s.path("tls.key")).expect("key");
    let file = s.write("porter.toml", text("[log]\naccess = \"off\"\n"));
    let porter = Porter::spawn(porter_command().arg("--config").arg(&file));
    let https: SocketAddr = https.parse().expect("address");
    assert!(curl_trusts(https, &old_cert) && !curl_trusts(https, &new_cert));

    // Renewed certificates under the same names, and an access log from now on.
    std::fs::copy(&new_cert, s.path("tls.pem")).expect("cert");
    std::fs::copy(s.path("new.key"), s.path("tls.key")).expect("key");
    let lines = reload(&porter, &file, &text(&format!("[log]\naccess = \"{}\"\nformat = \"json\"\n", log.display())));
    assert!(lines.last().expect("a line").contains("SIGHUP: reloaded"), "{lines:?}");
    assert!(curl_trusts(https, &new_cert) && !curl_trusts(https, &old_cert));
    assert_eq!(get(porter.addr, "a.test", "/logged"), (200, "first".into()));
    let logged = || std::fs::read_to_string(&log).ok().filter(|t| t.contains(r#""target":"/logged""#));
    common::wait_for(logged, "the request in the new access log");
}

#[test]
fn without_a_config_file_sighup_is_logged_and_ignored() {
    let s = Scratch::new("reload-none");
    s.write("a.txt", "still here");
    let porter =
        Porter::spawn(porter_command().args(["--listen", "127.0.0.1:0", "--no-access-log", "--root"]).arg(s.dir()));
    porter.signal("HUP");
    let line = porter.next_line();
    assert!(line.contains("SIGHUP: ignored"), "{line}");
    assert_eq!(get(porter.addr, "x", "/a.txt"), (200, "still here".into()));
}

/// A setting that changes only with a restart is warned about while the file
/// differs from what runs, not from the file loaded last: threads 2 → 4 warns,
/// back to 2 does not.
#[test]
fn restart_only_settings_are_compared_with_what_runs() {
    let s = Scratch::new("reload-fixed");
    s.write("www/files/a.txt", "a");
    let file = s.write("porter.toml", config(ONE_HOST));
    let porter = start(&file);
    let warned =
        |lines: &[String]| lines.iter().any(|l| l.contains("[server] threads changes only when porter restarts"));
    let lines = reload(&porter, &file, &config(ONE_HOST).replace("threads = 2", "threads = 4"));
    assert!(warned(&lines) && lines.last().expect("a line").contains("SIGHUP: reloaded"), "{lines:?}");
    let lines = reload(&porter, &file, &config(ONE_HOST));
    assert!(!warned(&lines) && lines.last().expect("a line").contains("SIGHUP: reloaded"), "{lines:?}");
}

/// `[server] drain_delay` applies to the SIGTERM after a reload: porter
/// announces it, and still accepts while the health check answers 503.
#[test]
fn the_drain_delay_follows_the_file() {
    let s = Scratch::new("reload-delay");
    s.write("www/files/a.txt", "a");
    let file = s.write("porter.toml", config(ONE_HOST));
    let mut porter = start(&file);
    let health = ONE_HOST.replace("body = \"first\" }", "body = \"up\", health = true }");
    let delayed = config(&health).replace("threads = 2", "threads = 2\ndrain_delay = \"60s\"");
    let lines = reload(&porter, &file, &delayed);
    assert!(lines.last().expect("a line").contains("SIGHUP: reloaded"), "{lines:?}");
    porter.signal("TERM");
    let line = porter.next_line();
    assert!(line.contains("SIGTERM: health checks fail for 60s"), "{line}");
    assert_eq!(get(porter.addr, "a.test", "/").0, 503, "still accepting, the health check failing");
    porter.signal("TERM");
    porter.wait_exit_within_safety();
}

/// A reload that hangs (an htpasswd path naming a FIFO nobody writes to)
/// runs on a thread of its own: SIGTERM is still answered and porter exits.
#[test]
fn a_reload_that_hangs_keeps_no_signal_waiting() {
    let s = Scratch::new("reload-fifo");
    s.write("www/files/a.txt", "a");
    let file = s.write("porter.toml", config(ONE_HOST));
    let mut porter = start(&file);
    let fifo = s.path("htpasswd");
    assert!(Command::new("mkfifo").arg(&fifo).status().expect("mkfifo").success());
    let auth = ONE_HOST.replace("root = \"www\"", "root = \"www\"\nauth = { htpasswd = \"htpasswd\" }");
    std::fs::write(&file, config(&auth)).expect("rewrite the config");
    porter.signal("HUP");
    // Opening the FIFO to write returns once porter opened it to read: the
    // reload is under way, and its read waits while this end stays open.
    let (opened, open) = mpsc::channel();
    std::thread::spawn(move || opened.send(std::fs::OpenOptions::new().write(true).open(fifo)));
    let writer = open.recv_timeout(SAFETY).expect("porter opens the FIFO").expect("open the FIFO");
    porter.signal("TERM");
    assert!(porter.wait_exit_within_safety().success(), "porter drains and exits");
    drop(writer);
}

/// A listener moved to the same port on another address (`127.0.0.1:P` to
/// `0.0.0.0:P`): the old socket closes before the new one binds, so the
/// reload applies (there is a short gap while neither listens); a second
/// reload moving it back applies too.
#[test]
fn a_listener_moves_to_another_address_on_its_port() {
    let s = Scratch::new("reload-move");
    s.write("www/files/a.txt", "a");
    let file = s.write("porter.toml", config(ONE_HOST));
    let porter = start(&file);
    let port = porter.addr.port();
    let moved = config(ONE_HOST).replace("address = \"127.0.0.1:0\"", &format!("address = \"0.0.0.0:{port}\""));
    let lines = reload(&porter, &file, &moved);
    let last = lines.last().expect("a line");
    assert!(last.contains("SIGHUP: reloaded") && last.contains(&format!("0.0.0.0:{port}")), "{lines:?}");
    assert_eq!(get(porter.addr, "a.test", "/"), (200, "first".into()));
    let back = config(ONE_HOST).replace("address = \"127.0.0.1:0\"", &format!("address = \"127.0.0.1:{port}\""));
    let lines = reload(&porter, &file, &back);
    let last = lines.last().expect("a line");
    assert!(last.contains("SIGHUP: reloaded") && last.contains(&format!("127.0.0.1:{port}")), "{lines:?}");
    assert_eq!(get(porter.addr, "a.test", "/"), (200, "first".into()));
}
