//! A real browser against the real binary: headless Chromium (Debian's
//! `chromium`, installed by `scripts/test.sh`) loads the demo site from
//! `porter`, the test checks what rendered, then loads it again with the same
//! profile and sees every asset revalidated with a 304.
//!
//! What rendered: the demo's script writes into `#status` whether it ran,
//! whether the stylesheet applied (a CSS custom property only `style.css` sets)
//! and whether the logo image decoded; `--dump-dom` prints the DOM after the
//! page's `load` event. The 304s: porter's access log (stderr), read up to a
//! sentinel request the test makes after Chromium exits, so no sleeping is
//! needed to know every line is in.
//!
//! Both ways of serving are covered: the built-in demo (embedded assets) and
//! `--root porter-cli/demo` (the same files from disk).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::time::Duration;

const CHROMIUM: &str = "/usr/bin/chromium";
/// The status line the demo's script writes when all four assets arrived.
const RENDERED: &str = "JavaScript ran; stylesheet applied; logo loaded.";
const ASSETS: [&str; 4] = ["/", "/style.css", "/app.js", "/logo.svg"];
/// A safety net against hangs, never a synchronisation: a test that hits it fails.
const SAFETY: Duration = Duration::from_secs(60);

/// A running `porter` and the lines of its stderr.
struct Porter {
    child: Child,
    url: String,
    lines: Receiver<String>,
}

impl Porter {
    fn start(extra: &[&str]) -> Porter {
        let mut child = Command::new(env!("CARGO_BIN_EXE_porter"))
            .args(["--listen", "127.0.0.1:0", "--threads", "1"])
            .args(extra)
            .env_remove("RUST_LOG")
            .stderr(Stdio::piped())
            .spawn()
            .expect("start porter");
        let (send, lines) = mpsc::channel();
        let stderr = child.stderr.take().expect("porter's stderr");
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if send.send(line).is_err() {
                    return;
                }
            }
        });
        let startup = lines.recv_timeout(SAFETY).expect("porter's startup line");
        let url = startup
            .split_whitespace()
            .find(|word| word.starts_with("http://"))
            .unwrap_or_else(|| panic!("no URL in {startup:?}"))
            .trim_end_matches(',')
            .to_string();
        Porter { child, url, lines }
    }

    /// Requests `path` itself and returns every log line up to that request's.
    fn log_until_sentinel(&self, path: &str) -> Vec<String> {
        let addr = self.url.trim_start_matches("http://");
        let mut stream = TcpStream::connect(addr).expect("connect to porter");
        stream.set_read_timeout(Some(SAFETY)).expect("timeout");
        write!(stream, "GET {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n").expect("send sentinel");
        let mut reply = Vec::new();
        stream.read_to_end(&mut reply).expect("sentinel reply");
        let mut seen = Vec::new();
        loop {
            let line = self.lines.recv_timeout(SAFETY).expect("porter's access log");
            let done = line.contains(&format!("\"GET {path} HTTP/1.1\""));
            seen.push(line);
            if done {
                return seen;
            }
        }
    }
}

impl Drop for Porter {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A fresh, empty Chromium profile directory, removed afterwards.
struct Profile(PathBuf);

impl Profile {
    fn new(tag: &str) -> Profile {
        let dir = std::env::temp_dir().join(format!("porter-browser-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("profile dir");
        Profile(dir)
    }
}

impl Drop for Profile {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Loads `url` in headless Chromium with `profile` and returns the DOM after `load`.
fn dump_dom(url: &str, profile: &Path) -> String {
    assert!(
        Path::new(CHROMIUM).exists(),
        "{CHROMIUM} is missing: run the README's test command, ./scripts/test.sh, which installs Debian's chromium"
    );
    let output = Command::new("timeout")
        .arg(SAFETY.as_secs().to_string())
        .arg(CHROMIUM)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--virtual-time-budget=5000",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg("--dump-dom")
        .arg(url)
        .output()
        .expect("run chromium");
    let dom = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "chromium failed ({}): {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    dom
}

/// The status porter logged for each `GET path` among `lines`, in order.
fn statuses(lines: &[String], path: &str) -> Vec<u16> {
    let needle = format!("\"GET {path} HTTP/1.1\" ");
    lines
        .iter()
        .filter_map(|line| line.split_once(&needle))
        .filter_map(|(_, rest)| rest.split_whitespace().next()?.parse().ok())
        .collect()
}

/// Two page loads with one profile: rendered both times, 200s then 304s.
fn loads_then_revalidates(tag: &str, porter: &Porter) {
    let profile = Profile::new(tag);
    let first = dump_dom(&format!("{}/", porter.url), &profile.0);
    assert!(first.contains(RENDERED) && first.contains("class=\"status ok\""), "first load rendered:\n{first}");
    assert!(first.contains("<h1>porter</h1>"), "{first}");
    let log = porter.log_until_sentinel("/sentinel-1");
    for path in ASSETS {
        assert_eq!(statuses(&log, path).first(), Some(&200), "first load of {path}; log:\n{}", log.join("\n"));
    }

    let second = dump_dom(&format!("{}/", porter.url), &profile.0);
    assert!(second.contains(RENDERED), "second load rendered:\n{second}");
    let log = porter.log_until_sentinel("/sentinel-2");
    for path in ASSETS {
        let seen = statuses(&log, path);
        assert!(
            !seen.is_empty() && seen.iter().all(|&s| s == 304),
            "reload of {path}: {seen:?}; log:\n{}",
            log.join("\n")
        );
    }
}

#[test]
fn chromium_renders_the_built_in_demo_and_revalidates_it() {
    let porter = Porter::start(&[]);
    loads_then_revalidates("embedded", &porter);
}

#[test]
fn chromium_renders_the_demo_from_disk_and_revalidates_it() {
    let demo = Path::new(env!("CARGO_MANIFEST_DIR")).join("demo");
    let root = demo.to_str().expect("utf-8 path");
    let porter = Porter::start(&["--root", root, "--cache-control", "no-cache"]);
    loads_then_revalidates("disk", &porter);
}
