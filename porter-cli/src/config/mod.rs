//! The config file: `porter --config FILE` runs it, `porter check FILE`
//! validates it. `examples/config/porter.toml` shows and explains every setting.
//!
//! Reading goes in three steps, each collecting every problem it can find:
//! [`read`] (TOML syntax and shape, unknown fields), [`validate`] (server,
//! log and listeners) and [`hosts`] (virtual hosts and their locations); the
//! result is a [`Config`] of plain values, with every referenced file checked.
//! Every problem is a [`Diagnostic`] that renders as `FILE:LINE:COL: message`.
//!
//! Two functions turn a `Config` into a running server, and are where new
//! library features get wired: [`apply()`] (the `ServerBuilder`: listeners,
//! threads, limits, logging) and `crate::site::build` (the handler).

mod apply;
mod diag;
mod hosts;
mod raw;
mod read;
mod units;
mod validate;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

pub use apply::{access_log, apply, listen_options, Bound};
pub use diag::Diagnostic;

use crate::args::FileOptions;
use crate::site::redirect::Template;

/// A checked config file.
#[derive(Debug)]
pub struct Config {
    /// The file it came from.
    pub file: PathBuf,
    /// Worker threads (0: one per core).
    pub threads: usize,
    /// Global limits: porter's defaults with `[server.limits]` applied.
    pub limits: porter::Limits,
    /// The `Server` header (`None`: no header).
    pub server_name: Option<String>,
    /// `[server] drain_delay`: the lame-duck period on SIGTERM (`None`: `--drain-delay`'s).
    pub drain_delay: Option<std::time::Duration>,
    /// `[log]`.
    pub log: LogSettings,
    /// Every `[[listen]]`, in file order.
    pub listeners: Vec<Listener>,
    /// Every `[[host]]`, in file order.
    pub hosts: Vec<Host>,
    /// Index in `hosts` of the host for requests no name matches.
    pub default_host: usize,
}

/// Where and how requests are logged.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogSettings {
    /// Where the access log goes.
    pub access: AccessLog,
    /// How each line looks.
    pub format: LogFormat,
}

/// `[log] access`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AccessLog {
    /// `"off"`: no access log.
    Off,
    /// `"stderr"` (the default): with porter's other messages.
    Stderr,
    /// A file path (relative to the config file), appended to and reopenable.
    File(PathBuf),
}

/// `[log] format`: `"combined"` (the default) or `"json"`, the library's own formats.
pub use porter::LogFormat;

/// One `[[listen]]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Listener {
    /// Where the sockets come from.
    pub source: ListenSource,
    /// Certificate/key pairs: empty for plain HTTP; the first pair is the
    /// default, later ones serve the DNS names in their certificates (SNI).
    pub tls: Vec<TlsFiles>,
    /// Expect a PROXY protocol header (v1 or v2) before each connection's first request.
    pub proxy_protocol: bool,
}

/// Where a listener's sockets come from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ListenSource {
    /// `address = "HOST:PORT"`, resolved (a name may give several addresses).
    Address(Vec<SocketAddr>),
    /// `systemd = true`: the sockets systemd passes (`LISTEN_FDS`).
    Systemd,
}

/// One certificate chain and its private key (absolute or config-relative paths resolved).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlsFiles {
    /// PEM certificate chain.
    pub cert: PathBuf,
    /// PEM private key.
    pub key: PathBuf,
}

/// One virtual host.
#[derive(Clone, Debug)]
pub struct Host {
    /// Names, lowercased: `example.com`, or `*.example.com` for any subdomain.
    pub names: Vec<String>,
    /// This host's own body limit (at most the global one).
    pub max_body: Option<u64>,
    /// Pages for error statuses, read when the config was loaded.
    pub error_pages: Vec<ErrorPage>,
    /// Locations in file order: the first whose path matches answers.
    pub locations: Vec<Location>,
}

/// An error page: the body sent for `status`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ErrorPage {
    /// 400–599.
    pub status: u16,
    /// From the file's extension.
    pub content_type: String,
    /// The file's bytes.
    pub body: Vec<u8>,
}

/// One `[[host.location]]`.
#[derive(Clone, Debug)]
pub struct Location {
    /// The path prefix as written.
    pub path: String,
    /// Its decoded segments, matched against the request path's.
    pub segments: Vec<String>,
    /// Basic authentication in front of `kind`.
    pub auth: Option<Auth>,
    /// What answers.
    pub kind: LocationKind,
}

/// `auth = { htpasswd, realm }`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Auth {
    /// The htpasswd file (bcrypt entries).
    pub htpasswd: PathBuf,
    /// The realm named in the challenge.
    pub realm: String,
}

/// What a location does.
#[derive(Clone, Debug)]
pub enum LocationKind {
    /// `root = "DIR"`: static files; the whole request path is looked up under `DIR`.
    Files {
        /// The directory.
        root: PathBuf,
        /// Index, listing, cache rules... (the CLI's file flags).
        options: FileOptions,
    },
    /// `redirect = { status, to }`.
    Redirect {
        /// 301, 302, 303, 307 or 308.
        status: u16,
        /// The `Location` template.
        to: Template,
    },
    /// `status = { code, body, content_type, health }`.
    Status {
        /// 200–599.
        code: u16,
        /// The body.
        body: String,
        /// Its `Content-Type`.
        content_type: String,
        /// A health check: 503 while porter drains.
        health: bool,
    },
    /// `metrics = true`: Prometheus metrics.
    Metrics,
}

/// The directory of `file` (`.` for a bare file name).
fn config_dir(file: &Path) -> &Path {
    match file.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    }
}

/// Reads and checks the config file at `path`: the config, or every problem
/// found, each rendered as `FILE:LINE:COL: message`.
pub fn load(path: &Path) -> Result<Config, Vec<String>> {
    let text =
        std::fs::read_to_string(path).map_err(|e| vec![format!("{}: {}", path.display(), crate::os_message(&e))])?;
    parse(path, &text).map_err(|diags| diags.iter().map(|d| d.render(path, &text)).collect())
}

/// Checks `text`, the contents of the config file `path` (relative paths in it
/// resolve against `path`'s directory).
pub fn parse(path: &Path, text: &str) -> Result<Config, Vec<Diagnostic>> {
    let mut diags = diag::Diagnostics::default();
    let Some(raw) = read::read(text, &mut diags) else { return Err(diags.0) };
    let dir = config_dir(path);
    let settings = validate::settings(&raw, dir, &mut diags);
    let hosts = hosts::hosts(&raw, dir, &settings, &mut diags);
    match (diags.is_empty(), settings, hosts) {
        (true, Some(settings), Some((hosts, default_host))) => Ok(Config {
            file: path.to_path_buf(),
            threads: settings.threads,
            limits: settings.limits,
            server_name: settings.server_name,
            drain_delay: settings.drain_delay,
            log: settings.log,
            listeners: settings.listeners,
            hosts,
            default_host,
        }),
        _ => {
            let mut all = diags.0;
            all.sort_by_key(|d| d.span.as_ref().map_or(0, |s| s.start));
            if all.is_empty() {
                all.push(Diagnostic::whole_file("invalid config"));
            }
            Err(all)
        }
    }
}

/// `porter check FILE`: prints every problem (or a one-line summary) and
/// returns the exit status: 0 valid, 1 not.
pub fn check(path: &Path) -> std::process::ExitCode {
    match load(path) {
        Ok(config) => {
            println!("{}: ok: {}", path.display(), summary(&config));
            std::process::ExitCode::SUCCESS
        }
        Err(problems) => {
            for problem in &problems {
                eprintln!("{problem}");
            }
            eprintln!("porter: {}", problems_summary(&problems, path));
            std::process::ExitCode::FAILURE
        }
    }
}

/// `3 errors in FILE`.
pub fn problems_summary(problems: &[String], path: &Path) -> String {
    let plural = if problems.len() == 1 { "" } else { "s" };
    format!("{} error{plural} in {}", problems.len(), path.display())
}

/// `2 listeners, 3 hosts, 7 locations`.
pub fn summary(config: &Config) -> String {
    let count = |n: usize, what: &str| format!("{n} {what}{}", if n == 1 { "" } else { "s" });
    let locations = config.hosts.iter().map(|h| h.locations.len()).sum();
    format!(
        "{}, {}, {}",
        count(config.listeners.len(), "listener"),
        count(config.hosts.len(), "host"),
        count(locations, "location")
    )
}

/// `porter --config FILE`: loads and checks the file, builds the handler and
/// binds every listener. The caller announces and runs the returned server,
/// and reloads the file with the returned `Reloader`.
pub fn server(path: &Path, args: &crate::args::Args) -> Result<(porter::Server, crate::reload::Reloader), String> {
    let config = load(path).map_err(|problems| format!("invalid config:\n{}", problems.join("\n")))?;
    // One set of counters, shared by the server that counts and the locations that show them.
    let metrics = porter::Metrics::new();
    let site = crate::site::live::Live::new(crate::site::build(&config, &metrics)?);
    let builder = apply(&config, &metrics)?;
    let builder = if args.access_log() { builder } else { builder.access_log(None) };
    let builder =
        builder.shutdown_delay(config.drain_delay.unwrap_or(std::time::Duration::from_secs(args.drain_delay)));
    let server = builder.build(site.clone()).map_err(|e| e.to_string())?;
    let bound = apply::bound(&config, server.local_addrs());
    let control = server.shutdown_handle();
    let reloader = crate::reload::Reloader {
        built: crate::reload::Fixed::of(&config),
        config,
        bound,
        site,
        metrics,
        control,
        access_log: args.access_log(),
        drain_delay: std::time::Duration::from_secs(args.drain_delay),
    };
    Ok((server, reloader))
}

#[cfg(test)]
mod tests;
