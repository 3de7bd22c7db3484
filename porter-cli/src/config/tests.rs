//! Config parsing and validation: what a good file becomes, and the exact
//! `FILE:LINE:COL: message` of each kind of mistake.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::*;

/// A scratch directory with a web root, an error page and an htpasswd file.
struct Scratch(PathBuf);

impl Scratch {
    fn new(tag: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!("porter-config-unit-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("www")).unwrap();
        std::fs::create_dir_all(dir.join("errors")).unwrap();
        std::fs::write(dir.join("www/index.html"), "home").unwrap();
        std::fs::write(dir.join("errors/404.html"), "<h1>gone</h1>").unwrap();
        let hash = bcrypt::hash("pw", 4).unwrap();
        std::fs::write(dir.join("htpasswd"), format!("alice:{hash}\n")).unwrap();
        Scratch(dir)
    }

    fn file(&self) -> PathBuf {
        self.0.join("porter.toml")
    }

    /// Every diagnostic of `text`, rendered with the file name `p.toml`.
    fn errors(&self, text: &str) -> Vec<String> {
        let diags = parse(&self.file(), text).expect_err("the config is refused");
        diags.iter().map(|d| d.render(Path::new("p.toml"), text)).collect()
    }

    fn ok(&self, text: &str) -> Config {
        match parse(&self.file(), text) {
            Ok(config) => config,
            Err(diags) => {
                panic!("refused: {:?}", diags.iter().map(|d| d.render(Path::new("p.toml"), text)).collect::<Vec<_>>())
            }
        }
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

const LISTEN: &str = "[[listen]]\naddress = \"127.0.0.1:0\"\n";

fn with_listen(hosts: &str) -> String {
    format!("{LISTEN}{hosts}")
}

#[test]
fn a_full_config_becomes_plain_values() {
    let s = Scratch::new("full");
    let config = s.ok(r#"
[server]
threads = 2
server_name = ""
drain_delay = "1500ms"
limits = { max_body = "1MiB", header_timeout = "500ms", idle_timeout = "2m", max_headers = 32 }

[log]
access = "off"

[[listen]]
address = "127.0.0.1:0"
proxy_protocol = true

[[listen]]
systemd = true

[[host]]
names = ["Example.com", "*.example.com"]
limits = { max_body = 1000 }
error_pages = { 404 = "errors/404.html" }

[[host.location]]
path = "/health"
status = { code = 200, body = "ok\n" }

[[host.location]]
path = "/old"
redirect = { status = 308, to = "https://example.com$path$is_args$query" }

[[host.location]]
path = "/admin"
auth = { htpasswd = "htpasswd", realm = "staff" }
root = "www"

[[host.location]]
path = "/metrics"
metrics = true

[[host.location]]
path = "/"
root = "www"
listing = true
index = "home.html"
cache = [{ pattern = "*.css", value = "max-age=60" }]
cache_control = "no-cache"

[[host]]
names = ["other.test"]
default = true
"#);
    assert_eq!((config.threads, config.server_name.as_deref()), (2, None));
    assert_eq!(config.drain_delay, Some(Duration::from_millis(1500)));
    assert_eq!(config.limits.max_body, 1 << 20);
    assert_eq!(config.limits.header_timeout, Duration::from_millis(500));
    assert_eq!(config.limits.idle_timeout, Duration::from_secs(120));
    assert_eq!(config.limits.max_headers, 32);
    assert_eq!(config.limits.max_head, porter::Limits::default().max_head);
    assert_eq!(config.log, LogSettings { access: AccessLog::Off, format: LogFormat::Combined });
    assert!(config.listeners[0].proxy_protocol);
    assert_eq!(config.listeners[1].source, ListenSource::Systemd);
    assert_eq!(config.default_host, 1);
    let host = &config.hosts[0];
    assert_eq!(host.names, ["example.com", "*.example.com"]);
    assert_eq!(host.max_body, Some(1000));
    assert_eq!(host.error_pages[0].status, 404);
    assert_eq!(host.error_pages[0].body, b"<h1>gone</h1>");
    assert_eq!(host.error_pages[0].content_type, "text/html; charset=utf-8");
    assert_eq!(host.locations.len(), 5);
    assert!(matches!(&host.locations[0].kind, LocationKind::Status { code: 200, body, .. } if body == "ok\n"));
    assert!(matches!(host.locations[1].kind, LocationKind::Redirect { status: 308, .. }));
    assert_eq!(host.locations[2].auth.as_ref().map(|a| a.realm.as_str()), Some("staff"));
    assert!(matches!(host.locations[3].kind, LocationKind::Metrics));
    let LocationKind::Files { options, .. } = &host.locations[4].kind else { panic!("a root location") };
    assert!(options.listing && options.precompressed);
    assert_eq!((options.index.as_str(), options.cache_control.as_deref()), ("home.html", Some("no-cache")));
    assert_eq!(summary(&config), "2 listeners, 2 hosts, 5 locations");
}

#[test]
fn defaults_when_sections_are_left_out() {
    let s = Scratch::new("defaults");
    let config = s.ok(&with_listen("[[host]]\nnames = [\"a.test\"]\n"));
    assert_eq!((config.threads, config.server_name.as_deref()), (0, Some("porter")));
    assert_eq!(config.limits, porter::Limits::default());
    assert_eq!(config.drain_delay, None, "--drain-delay applies");
    assert_eq!(config.log, LogSettings { access: AccessLog::Stderr, format: LogFormat::Combined });
    assert_eq!(config.default_host, 0, "no default = true: the first host");
}

#[test]
fn syntax_errors_are_located() {
    let s = Scratch::new("syntax");
    assert_eq!(s.errors("[server\nthreads = 1\n"), ["p.toml:1:8: unclosed table, expected `]`"]);
    assert_eq!(
        s.errors("a = \nb = \"x\n"),
        [
            "p.toml:1:5: string values must be quoted, expected literal string",
            "p.toml:2:7: invalid basic string, expected `\"`"
        ],
        "each syntax error in one pass"
    );
}

#[test]
fn unknown_sections_and_fields() {
    let s = Scratch::new("unknown");
    let text = with_listen("[srever]\n[[host]]\nnames = [\"a.test\"]\nnmaes = 1\n[[host.location]]\npath = \"/\"\nroot = \"www\"\nlisting = true\nlistng = true\n");
    assert_eq!(
        s.errors(&text),
        [
            "p.toml:3:2: unknown section `srever`, expected `server`, `log`, `listen` or `host`",
            "p.toml:6:1: unknown field `nmaes`, expected one of `names`, `default`, `limits`, `error_pages`",
            "p.toml:11:1: unknown field `listng`, expected one of `path`, `root`, `redirect`, `status`, `metrics`, \
             `auth`, `index`, `listing`, `cache_control`, `cache`, `precompressed`, `follow_symlinks`, `hidden_files`",
        ]
    );
}

#[test]
fn every_problem_of_one_table_is_reported() {
    let s = Scratch::new("every");
    // A bad value, then unknown fields, in one section and in one location.
    let text = with_listen(
        "[server]\nthreads = \"four\"\ncolour = 1\nshape = 2\n[[host]]\nnames = [\"a.test\"]\n[[host.location]]\npath = 7\nroot = \"www\"\nlistng = true\n",
    );
    assert_eq!(
        s.errors(&text),
        [
            "p.toml:4:11: invalid type: string \"four\", expected i64",
            "p.toml:5:1: unknown field `colour`, expected one of `threads`, `server_name`, `drain_delay`, `limits`",
            "p.toml:6:1: unknown field `shape`, expected one of `threads`, `server_name`, `drain_delay`, `limits`",
            "p.toml:10:8: invalid type: integer `7`, expected a string",
            "p.toml:12:1: unknown field `listng`, expected one of `path`, `root`, `redirect`, `status`, `metrics`, \
             `auth`, `index`, `listing`, `cache_control`, `cache`, `precompressed`, `follow_symlinks`, `hidden_files`",
        ]
    );
}

/// An unknown field inside an inline table is that field's one error: the
/// table keeps its other fields (no false "missing" or "needs" error after
/// it), and every unknown field of the inner table is reported.
#[test]
fn unknown_fields_inside_an_inline_table() {
    let s = Scratch::new("inline");
    let text = with_listen(
        "[[host]]\nnames = [\"a.test\"]\nlimits = { colour = 1, shape = 2 }\n[[host.location]]\npath = \"/\"\nstatus = { code = 200, colour = 1 }\n",
    );
    let limits = "`max_connections`";
    let errors = s.errors(&text);
    assert_eq!(errors.len(), 3, "{errors:#?}");
    assert!(
        errors[0].starts_with("p.toml:5:12: unknown field `colour`, ") && errors[0].contains(limits),
        "{errors:#?}"
    );
    assert!(errors[1].starts_with("p.toml:5:24: unknown field `shape`, ") && errors[1].contains(limits), "{errors:#?}");
    assert_eq!(
        errors[2],
        "p.toml:8:24: unknown field `colour`, expected one of `code`, `body`, `content_type`, `health`"
    );
}

#[test]
fn location_kinds() {
    let s = Scratch::new("kinds");
    let text = with_listen(
        r#"[[host]]
names = ["a.test"]
[[host.location]]
path = "/none"
[[host.location]]
path = "/two"
root = "www"
status = { code = 200 }
[[host.location]]
path = "/bad"
status = { code = 99 }
[[host.location]]
path = "/nobody"
status = { code = 204, body = "x" }
[[host.location]]
path = "/r"
redirect = { status = 200, to = "https://x$nope" }
[[host.location]]
path = "/r2"
redirect = { to = "https://x/\r\nSet-Cookie: a" }
[[host.location]]
path = "/files"
status = { code = 200 }
listing = true
[[host.location]]
path = "relative"
metrics = true
[[host.location]]
path = "/missing"
root = "no-such-dir"
"#,
    );
    assert_eq!(
        s.errors(&text),
        [
            "p.toml:5:1: a location needs one of `root`, `redirect`, `status` or `metrics = true`",
            "p.toml:10:10: a location has one kind, but this one has both `root` and `status`",
            "p.toml:13:19: status code 99 is not a final status (200 to 599)",
            "p.toml:16:19: a 204 reply has no body: remove `body`",
            "p.toml:19:23: redirect status 200 is not one of 301, 302, 303, 307, 308",
            "p.toml:19:33: unknown variable `$nope` (known: $scheme, $host, $path, $query, $is_args, $request_uri; \
             `${name}` separates a name from following letters)",
            "p.toml:22:19: a redirect target must not contain control characters (CR, LF, ...)",
            "p.toml:26:11: `listing` applies only to a `root` location",
            "p.toml:28:8: a location path starts with `/` and has no `..` above the root, `%2F` or NUL",
            &format!("p.toml:32:8: root {}: No such file or directory", s.0.join("no-such-dir").display()),
        ]
    );
}

#[test]
fn shadowed_locations_are_refused() {
    let s = Scratch::new("shadow");
    let text = with_listen(
        "[[host]]\nnames = [\"a.test\"]\n[[host.location]]\npath = \"/api\"\nstatus = { code = 200 }\n\
         [[host.location]]\npath = \"/api/v1\"\nstatus = { code = 201 }\n[[host.location]]\npath = \"/apix\"\nstatus = { code = 202 }\n",
    );
    assert_eq!(
        s.errors(&text),
        ["p.toml:9:8: location `/api/v1` is never used: the earlier location `/api` matches every path it would \
          (the first match wins)"]
    );
}

#[test]
fn hosts_names_defaults_and_limits() {
    let s = Scratch::new("hosts");
    let text = with_listen(
        r#"[[host]]
names = ["a.test", "b.test:8080", "x.*.test", "*.ok.test"]
default = true
limits = { max_body = "9GiB", header_timeout = "1s", idle_timeout = "1s", body_timeout = "1s" }
error_pages = { 404 = "errors/missing.html", 302 = "errors/404.html" }
[[host]]
names = ["A.test", []]
[[host]]
names = []
default = true
"#,
    );
    let missing = s.0.join("errors/missing.html");
    assert_eq!(
        s.errors(&text),
        [
            "p.toml:4:20: bad host name `b.test:8080`: host names have no port (the port of a request is ignored)",
            "p.toml:4:35: bad host name `x.*.test`: `*` is allowed only as a leading `*.`",
            "p.toml:6:23: a host's `max_body` (9663676416 bytes) cannot exceed the global one (8388608 bytes), \
             which porter enforces first; raise [server.limits] max_body",
            "p.toml:6:48: `header_timeout` cannot be set per host: porter reads the request head, and enforces \
             this, before it knows the host; set it in [server.limits]",
            "p.toml:6:69: `idle_timeout` cannot be set per host: it applies to a connection, which may carry \
             requests for several hosts; set it in [server.limits]",
            "p.toml:6:90: `body_timeout` cannot be set per host: porter enforces it while decoding the body, \
             before any handler runs; set it in [server.limits]",
            &format!("p.toml:7:23: error page {}: No such file or directory", missing.display()),
            "p.toml:7:52: error page for `302`: error pages are for statuses 400 to 599",
            "p.toml:9:20: invalid type: sequence, expected a string",
            "p.toml:11:9: `names` must list at least one host name",
            "p.toml:12:11: only one host may have `default = true`",
        ]
    );
}

#[test]
fn listeners_server_and_log() {
    let s = Scratch::new("listen");
    let text = r#"[server]
threads = -2
limits = { max_body = "8MB", idle_timeout = 30, write_timeout = "0s", max_head = 0 }
[log]
access = "no-such-dir/access.log"
format = "xml"
[[listen]]
address = "127.0.0.1"
[[listen]]
proxy_protocol = true
[[listen]]
address = "127.0.0.1:1"
systemd = true
[[listen]]
address = "127.0.0.1:2"
tls = { cert = "missing.pem", key = "missing.key" }
[[host]]
names = ["a.test"]
"#;
    let errors = s.errors(text);
    // Each bad value of an inline table (the one at fault is taken out and the table read again).
    assert_eq!(errors[0], "p.toml:3:23: unknown size unit `MB` (use B, KiB, MiB or GiB)", "{errors:?}");
    assert_eq!(errors[1], "p.toml:3:45: a duration needs a unit: write \"30s\" or \"30ms\"", "{errors:?}");
    let errors = &errors[1..];
    let rest: Vec<&str> = errors[1..].iter().map(|e| e.split(": ").take(2).collect::<Vec<_>>()[0]).collect();
    assert_eq!(
        rest,
        ["p.toml:5:10", "p.toml:6:10", "p.toml:8:11", "p.toml:9:1", "p.toml:12:11", "p.toml:16:16"],
        "{errors:#?}"
    );
    assert!(errors[1].ends_with("does not exist"), "{errors:?}");
    assert!(errors[2].ends_with("unknown log format `xml`, expected \"combined\" or \"json\""));
    assert!(errors[3].contains("bad address `127.0.0.1`"), "{errors:?}");
    assert!(errors[4].ends_with("a `[[listen]]` needs an `address` (or `systemd = true`)"));
    assert!(errors[5].ends_with("a listener has an `address` or `systemd = true`, not both"));
    assert!(errors[6].contains("TLS certificate and key"), "{errors:?}");

    let limits = "[server]\nlimits = { max_body = \"8MB\" }\n";
    assert_eq!(
        s.errors(&format!("{limits}{LISTEN}[[host]]\nnames = [\"a.test\"]\n")),
        ["p.toml:2:23: unknown size unit `MB` (use B, KiB, MiB or GiB)"]
    );
    let limits = "[server]\nthreads = -2\nlimits = { write_timeout = \"0s\", max_head = 0 }\n";
    assert_eq!(
        s.errors(&format!("{limits}{LISTEN}[[host]]\nnames = [\"a.test\"]\n")),
        [
            "p.toml:2:11: `threads` must be 0 (one per core) or more",
            "p.toml:3:28: `write_timeout` must be longer than zero",
            "p.toml:3:45: `max_head` must be at least 1",
        ]
    );
    // The library's own check (`porter::Limits::validate`), reported at each value.
    let limits = "[server]\nlimits = { max_trailers = 0, max_pipelined = 0, idle_timeout = \"9999999h\" }\n";
    assert_eq!(
        s.errors(&format!("{limits}{LISTEN}[[host]]\nnames = [\"a.test\"]\n")),
        [
            "p.toml:2:46: `max_pipelined` must be at least 1",
            "p.toml:2:64: `idle_timeout` must be at most 31536000 seconds (one year)",
        ]
    );
}

#[test]
fn missing_sections() {
    let s = Scratch::new("missing");
    assert_eq!(
        s.errors(""),
        [
            "p.toml: no `[[listen]]` section: say where to listen",
            "p.toml: no `[[host]]` section: add one with at least one location"
        ]
    );
    assert_eq!(s.errors("host = []\n[[listen]]\naddress = \"127.0.0.1:0\"\n"), ["p.toml:1:8: `host` has no entries"]);
    assert_eq!(
        s.errors("listen = 1\n[[host]]\nnames=[\"a\"]\n"),
        ["p.toml:1:10: `listen` must be an array of tables: write `[[listen]]`"]
    );
}

#[test]
fn scheme_needs_listeners_that_agree() {
    let s = Scratch::new("scheme");
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = rcgen::CertificateParams::new(vec!["localhost".to_string()]).unwrap().self_signed(&key).unwrap();
    std::fs::write(s.0.join("cert.pem"), cert.pem()).unwrap();
    std::fs::write(s.0.join("key.pem"), key.serialize_pem()).unwrap();
    let hosts = "[[host]]\nnames = [\"a.test\"]\n[[host.location]]\npath = \"/\"\nredirect = { to = \"$scheme://b.test$path\" }\n";
    let tls = "[[listen]]\naddress = \"127.0.0.1:0\"\ntls = { cert = \"cert.pem\", key = \"key.pem\" }\n";
    let config = s.ok(&with_listen(hosts));
    assert!(matches!(config.hosts[0].locations[0].kind, LocationKind::Redirect { status: 302, .. }), "302 by default");
    assert_eq!(config.listeners[0].tls, []);
    let config = s.ok(&format!("{tls}{hosts}"));
    assert_eq!(config.listeners[0].tls.len(), 1);
    assert_eq!(
        s.errors(&format!("{LISTEN}{tls}{hosts}")),
        ["p.toml:10:19: `$scheme` needs every listener to be HTTP, or every one HTTPS: write the scheme out"]
    );
}

#[test]
fn htpasswd_problems_are_located() {
    let s = Scratch::new("htpasswd");
    std::fs::write(s.0.join("weak"), "bob:{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=\n").unwrap();
    let text = with_listen("[[host]]\nnames = [\"a.test\"]\n[[host.location]]\npath = \"/\"\nstatus = { code = 200 }\nauth = { htpasswd = \"weak\" }\n");
    let errors = s.errors(&text);
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(errors[0].starts_with("p.toml:8:21: htpasswd: "), "{errors:?}");
}
