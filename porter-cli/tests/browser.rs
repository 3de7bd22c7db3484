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

mod common;

use std::path::Path;
use std::process::Command;

use common::{exchange, porter_command, Porter, Scratch, SAFETY};

const CHROMIUM: &str = "/usr/bin/chromium";
/// The status line the demo's script writes when all four assets arrived.
const RENDERED: &str = "JavaScript ran; stylesheet applied; logo loaded.";
const ASSETS: [&str; 4] = ["/", "/style.css", "/app.js", "/logo.svg"];

/// Starts `porter` with `extra` flags; its access log goes to stderr, read by the test.
fn start(extra: &[&str]) -> Porter {
    Porter::spawn(porter_command().args(["--listen", "127.0.0.1:0", "--threads", "1"]).args(extra))
}

/// Requests `path` itself and returns every log line up to that request's.
fn log_until_sentinel(porter: &Porter, path: &str) -> Vec<String> {
    let request = format!("GET {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
    let reply = exchange(porter.addr, request.as_bytes());
    assert!(reply.starts_with(b"HTTP/1.1 "), "sentinel reply: {:?}", String::from_utf8_lossy(&reply));
    let mut seen = Vec::new();
    loop {
        let line = porter.next_line();
        let done = line.contains(&format!("\"GET {path} HTTP/1.1\""));
        seen.push(line);
        if done {
            return seen;
        }
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
    let profile = Scratch::new(&format!("browser-{tag}"));
    let first = dump_dom(&format!("{}/", porter.url()), profile.dir());
    assert!(first.contains(RENDERED) && first.contains("class=\"status ok\""), "first load rendered:\n{first}");
    assert!(first.contains("<h1>porter</h1>"), "{first}");
    let log = log_until_sentinel(porter, "/sentinel-1");
    for path in ASSETS {
        assert_eq!(statuses(&log, path).first(), Some(&200), "first load of {path}; log:\n{}", log.join("\n"));
    }

    let second = dump_dom(&format!("{}/", porter.url()), profile.dir());
    assert!(second.contains(RENDERED), "second load rendered:\n{second}");
    let log = log_until_sentinel(porter, "/sentinel-2");
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
    let porter = start(&[]);
    loads_then_revalidates("embedded", &porter);
}

#[test]
fn chromium_renders_the_demo_from_disk_and_revalidates_it() {
    let demo = Path::new(env!("CARGO_MANIFEST_DIR")).join("demo");
    let root = demo.to_str().expect("utf-8 path");
    let porter = start(&["--root", root, "--cache-control", "no-cache"]);
    loads_then_revalidates("disk", &porter);
}
