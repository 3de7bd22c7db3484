//! Checks `[server]`, `[server.limits]`, `[log]` and `[[listen]]`: numbers in
//! range, addresses that resolve, certificate files that load. Each problem is
//! recorded at the value it is about; checking goes on, so one pass reports
//! them all.

use std::net::{SocketAddr, ToSocketAddrs};
use std::ops::Range;
use std::path::Path;
use std::time::Duration;

use toml::Spanned;

use super::diag::Diagnostics;
use super::raw::{RawLimits, RawListen, RawLog, RawServer};
use super::read::RawConfig;
use super::units::{Interval, Size};
use super::{AccessLog, ListenSource, Listener, LogFormat, LogSettings, TlsFiles};

/// Everything outside `[[host]]`, checked.
#[derive(Debug)]
pub struct Settings {
    pub threads: usize,
    pub limits: porter::Limits,
    pub server_name: Option<String>,
    pub drain_delay: Option<Duration>,
    pub log: LogSettings,
    pub listeners: Vec<Listener>,
}

/// Checks the server, log and listener sections (`None` when one is unusable).
pub fn settings(raw: &RawConfig, dir: &Path, diags: &mut Diagnostics) -> Option<Settings> {
    let threads = threads(&raw.server, diags);
    let limits = raw.server.limits.as_ref().map_or_else(porter::Limits::default, |l| limits(l, diags));
    let server_name = server_name(&raw.server, diags);
    let log = log(&raw.log, dir, diags);
    let listeners = listeners(&raw.listen, raw.seen.iter().any(|s| s == "listen"), dir, diags);
    // Any length, zero included: the lame-duck period of a graceful shutdown.
    let drain_delay = raw.server.drain_delay.as_ref().map(|d| d.get_ref().0);
    Some(Settings {
        threads: threads?,
        limits,
        server_name: server_name?,
        drain_delay,
        log: log?,
        listeners: listeners?,
    })
}

fn threads(server: &RawServer, diags: &mut Diagnostics) -> Option<usize> {
    let Some(threads) = &server.threads else { return Some(0) };
    let n = usize::try_from(*threads.get_ref()).ok();
    if n.is_none() {
        diags.at(threads.span(), "`threads` must be 0 (one per core) or more");
    }
    n
}

fn server_name(server: &RawServer, diags: &mut Diagnostics) -> Option<Option<String>> {
    let Some(name) = &server.server_name else { return Some(Some("porter".into())) };
    match name.get_ref().as_str() {
        "" => Some(None),
        text if text.chars().any(|c| c.is_control()) => {
            diags.at(name.span(), "`server_name` must not contain control characters");
            None
        }
        text => Some(Some(text.into())),
    }
}

/// porter's default limits with the ones given, checked by the library
/// ([`porter::Limits::validate`]): each refused field is reported at its value.
pub fn limits(raw: &RawLimits, diags: &mut Diagnostics) -> porter::Limits {
    let d = porter::Limits::default();
    let size = |v: &Option<Spanned<Size>>, default: u64| v.as_ref().map_or(default, |v| v.get_ref().0);
    let count =
        |v: &Option<Spanned<Size>>, default: usize| usize::try_from(size(v, default as u64)).unwrap_or(usize::MAX);
    let time = |v: &Option<Spanned<Interval>>, default: Duration| v.as_ref().map_or(default, |v| v.get_ref().0);
    let limits = porter::Limits {
        max_request_line: count(&raw.max_request_line, d.max_request_line),
        max_head: count(&raw.max_head, d.max_head),
        max_headers: count(&raw.max_headers, d.max_headers),
        max_body: size(&raw.max_body, d.max_body),
        max_chunk_line: count(&raw.max_chunk_line, d.max_chunk_line),
        max_trailers: count(&raw.max_trailers, d.max_trailers),
        max_pipelined: count(&raw.max_pipelined, d.max_pipelined),
        header_timeout: time(&raw.header_timeout, d.header_timeout),
        body_timeout: time(&raw.body_timeout, d.body_timeout),
        idle_timeout: time(&raw.idle_timeout, d.idle_timeout),
        write_timeout: time(&raw.write_timeout, d.write_timeout),
        max_connections: count(&raw.max_connections, d.max_connections),
    };
    if let Err(e) = limits.validate() {
        // A refused field was given (the defaults pass): its span is known.
        let mut found: Vec<_> =
            e.problems().iter().map(|p| (field_span(raw, p.field()).unwrap_or(0..0), p.to_string())).collect();
        found.sort_by_key(|(span, _)| span.start); // in file order
        found.into_iter().for_each(|(span, message)| diags.at(span, message));
    }
    limits
}

/// Where `[server.limits]` gives the field named `field`.
fn field_span(raw: &RawLimits, field: &str) -> Option<Range<usize>> {
    let size = |v: &Option<Spanned<Size>>| v.as_ref().map(Spanned::span);
    let time = |v: &Option<Spanned<Interval>>| v.as_ref().map(Spanned::span);
    match field {
        "max_request_line" => size(&raw.max_request_line),
        "max_head" => size(&raw.max_head),
        "max_headers" => size(&raw.max_headers),
        "max_body" => size(&raw.max_body),
        "max_chunk_line" => size(&raw.max_chunk_line),
        "max_trailers" => size(&raw.max_trailers),
        "max_pipelined" => size(&raw.max_pipelined),
        "max_connections" => size(&raw.max_connections),
        "header_timeout" => time(&raw.header_timeout),
        "body_timeout" => time(&raw.body_timeout),
        "idle_timeout" => time(&raw.idle_timeout),
        "write_timeout" => time(&raw.write_timeout),
        _ => None,
    }
}

fn log(raw: &RawLog, dir: &Path, diags: &mut Diagnostics) -> Option<LogSettings> {
    let access = match raw.access.as_ref().map(|a| (a.get_ref().as_str(), a.span())) {
        None | Some(("stderr", _)) => Some(AccessLog::Stderr),
        Some(("off", _)) => Some(AccessLog::Off),
        Some(("", span)) => {
            diags.at(span, "`access` is \"stderr\", \"off\" or a file path");
            None
        }
        Some((path, span)) => {
            let path = dir.join(path);
            let parent = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
            if parent.is_dir() {
                Some(AccessLog::File(path))
            } else {
                diags.at(span, format!("access log directory {} does not exist", parent.display()));
                None
            }
        }
    };
    let format = match &raw.format {
        None => Some(LogFormat::Combined),
        Some(name) => name.get_ref().parse().map_err(|e: String| diags.at(name.span(), e)).ok(),
    };
    Some(LogSettings { access: access?, format: format? })
}

fn listeners(raw: &[Spanned<RawListen>], seen: bool, dir: &Path, diags: &mut Diagnostics) -> Option<Vec<Listener>> {
    if raw.is_empty() && !seen {
        diags.0.push(super::Diagnostic::whole_file("no `[[listen]]` section: say where to listen"));
        return None;
    }
    if raw.is_empty() {
        return None;
    }
    let checked: Vec<Option<Listener>> = raw.iter().map(|l| listener(l, dir, diags)).collect();
    if raw.iter().filter(|l| is_systemd(l.get_ref())).count() > 1 {
        let second = raw.iter().filter(|l| is_systemd(l.get_ref())).nth(1).map_or(0..0, |l| l.span());
        diags.at(second, "only one `[[listen]]` may take the sockets systemd passes");
    }
    checked.into_iter().collect()
}

fn is_systemd(raw: &RawListen) -> bool {
    raw.systemd.as_ref().is_some_and(|s| *s.get_ref())
}

fn listener(raw: &Spanned<RawListen>, dir: &Path, diags: &mut Diagnostics) -> Option<Listener> {
    let l = raw.get_ref();
    let source = match (&l.address, is_systemd(l)) {
        (Some(address), false) => resolve(address, diags).map(ListenSource::Address),
        (None, true) => Some(ListenSource::Systemd),
        (Some(address), true) => {
            diags.at(address.span(), "a listener has an `address` or `systemd = true`, not both");
            None
        }
        (None, false) => {
            diags.at(raw.span(), "a `[[listen]]` needs an `address` (or `systemd = true`)");
            None
        }
    };
    let tls = tls_files(l, dir, diags);
    Some(Listener { source: source?, tls: tls?, proxy_protocol: l.proxy_protocol })
}

fn resolve(address: &Spanned<String>, diags: &mut Diagnostics) -> Option<Vec<SocketAddr>> {
    let text = address.get_ref();
    let why = match text.to_socket_addrs() {
        Ok(addrs) => {
            let addrs: Vec<SocketAddr> = addrs.collect();
            if !addrs.is_empty() {
                return Some(addrs);
            }
            "resolves to no address".to_string()
        }
        Err(e) => e.to_string(),
    };
    diags.at(address.span(), format!("bad address `{text}`: {why} (expected HOST:PORT)"));
    None
}

/// The listener's certificate pairs, each loaded once to check it.
fn tls_files(raw: &RawListen, dir: &Path, diags: &mut Diagnostics) -> Option<Vec<TlsFiles>> {
    let mut files = Vec::new();
    let mut ok = true;
    for pair in &raw.tls.0 {
        let cert = dir.join(pair.cert.get_ref());
        let key = dir.join(pair.key.get_ref());
        if let Err(e) = porter::TlsConfig::from_pem_files(&cert, &key) {
            diags.at(pair.cert.span(), format!("TLS certificate and key: {}", crate::os_message(&e)));
            ok = false;
        }
        files.push(TlsFiles { cert, key });
    }
    ok.then_some(files)
}
