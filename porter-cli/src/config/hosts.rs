//! Checks `[[host]]` and `[[host.location]]`: names, the default host,
//! per-host limits, error pages (read now), and each location's path, kind
//! and files (each loaded once now, so a config that checks also starts).
//!
//! Per-host limits: only `max_body` can apply per host. porter reads a request
//! head, and enforces every head limit and timeout, before it can know the
//! host; connection limits span requests for any host; and chunked-body limits
//! are enforced while decoding, before any handler. So those are refused here
//! with a message that says so, and `max_body` is checked against
//! `Content-Length` from the head (413, body unread) and, for chunked bodies,
//! against the body read under the global `max_body`, which it may not exceed.

use std::collections::HashMap;
use std::ops::Range;
use std::path::Path;

use toml::Spanned;

use super::diag::Diagnostics;
use super::raw::{RawHost, RawLimits};
use super::read::RawConfig;
use super::validate::Settings;
use super::{ErrorPage, Host};

mod location;

/// Checks every host; returns them with the default host's index.
pub fn hosts(
    config: &RawConfig,
    dir: &Path,
    settings: &Option<Settings>,
    diags: &mut Diagnostics,
) -> Option<(Vec<Host>, usize)> {
    let raw = &config.hosts;
    if raw.is_empty() {
        if !config.seen.iter().any(|s| s == "host") {
            diags.0.push(super::Diagnostic::whole_file("no `[[host]]` section: add one with at least one location"));
        }
        return None;
    }
    let mut names_seen: HashMap<String, Range<usize>> = HashMap::new();
    let mut default: Option<usize> = None;
    let mut hosts = Vec::new();
    for (index, entry) in raw.iter().enumerate() {
        let Some(host) = &entry.host else { continue };
        if let Some(flag) = host.default.as_ref().filter(|d| *d.get_ref()) {
            match default {
                Some(_) => diags.at(flag.span(), "only one host may have `default = true`"),
                None => default = Some(index),
            }
        }
        let names = names(host, &mut names_seen, diags);
        let max_body = host.limits.as_ref().and_then(|l| host_limits(l, settings, diags));
        let error_pages = error_pages(host, dir, diags);
        let locations = location::locations(&entry.locations, dir, settings, diags);
        hosts.push(Host { names, max_body, error_pages, locations });
    }
    (hosts.len() == raw.len()).then_some((hosts, default.unwrap_or(0)))
}

/// The host's names, lowercased; bad and repeated names are errors.
fn names(host: &RawHost, seen: &mut HashMap<String, Range<usize>>, diags: &mut Diagnostics) -> Vec<String> {
    if host.names.get_ref().is_empty() {
        diags.at(host.names.span(), "`names` must list at least one host name");
    }
    let mut names = Vec::new();
    for name in host.names.get_ref() {
        let lower = name.get_ref().to_ascii_lowercase();
        if let Err(why) = check_name(&lower) {
            diags.at(name.span(), format!("bad host name `{}`: {why}", name.get_ref()));
        } else if seen.contains_key(&lower) {
            diags.at(name.span(), format!("host name `{lower}` is already used by another host"));
        } else {
            seen.insert(lower.clone(), name.span());
            names.push(lower);
        }
    }
    names
}

/// A host name is `name`, `*.name`, an IPv4 address or a bracketed IPv6 one; no port.
fn check_name(name: &str) -> Result<(), &'static str> {
    let plain = name.strip_prefix("*.").unwrap_or(name);
    if plain.starts_with('[') && plain.ends_with(']') && plain[1..plain.len() - 1].parse::<std::net::Ipv6Addr>().is_ok()
    {
        return Ok(());
    }
    if plain.contains(':') {
        return Err("host names have no port (the port of a request is ignored)");
    }
    if plain.contains('*') {
        return Err("`*` is allowed only as a leading `*.`");
    }
    let label_ok = |l: &str| !l.is_empty() && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if plain.strip_suffix('.').unwrap_or(plain).split('.').all(label_ok) {
        Ok(())
    } else {
        Err("expected letters, digits, `-` and dots, e.g. `example.com` or `*.example.com`")
    }
}

/// A host's `limits`: `max_body` only (see the module docs).
fn host_limits(raw: &RawLimits, settings: &Option<Settings>, diags: &mut Diagnostics) -> Option<u64> {
    let head = "cannot be set per host: porter reads the request head, and enforces this, before it knows the host; \
                set it in [server.limits]";
    let connection = "cannot be set per host: it applies to a connection, which may carry requests for several \
                      hosts; set it in [server.limits]";
    let body = "cannot be set per host: porter enforces it while decoding the body, before any handler runs; \
                set it in [server.limits]";
    let refused: [(Option<Range<usize>>, &str, &str); 11] = [
        (raw.max_request_line.as_ref().map(Spanned::span), "max_request_line", head),
        (raw.max_head.as_ref().map(Spanned::span), "max_head", head),
        (raw.max_headers.as_ref().map(Spanned::span), "max_headers", head),
        (raw.header_timeout.as_ref().map(Spanned::span), "header_timeout", head),
        (raw.idle_timeout.as_ref().map(Spanned::span), "idle_timeout", connection),
        (raw.write_timeout.as_ref().map(Spanned::span), "write_timeout", connection),
        (raw.max_connections.as_ref().map(Spanned::span), "max_connections", connection),
        (raw.max_pipelined.as_ref().map(Spanned::span), "max_pipelined", connection),
        (raw.body_timeout.as_ref().map(Spanned::span), "body_timeout", body),
        (raw.max_chunk_line.as_ref().map(Spanned::span), "max_chunk_line", body),
        (raw.max_trailers.as_ref().map(Spanned::span), "max_trailers", body),
    ];
    for (span, name, why) in refused {
        if let Some(span) = span {
            diags.at(span, format!("`{name}` {why}"));
        }
    }
    let max_body = raw.max_body.as_ref()?;
    let global = settings.as_ref().map_or(u64::MAX, |s| s.limits.max_body);
    let value = max_body.get_ref().0;
    if value == 0 {
        diags.at(max_body.span(), "`max_body` must be at least 1");
    } else if value > global {
        diags.at(
            max_body.span(),
            format!("a host's `max_body` ({value} bytes) cannot exceed the global one ({global} bytes), which porter enforces first; raise [server.limits] max_body"),
        );
    }
    Some(value)
}

/// `error_pages = { 404 = "errors/404.html" }`: each file read now.
fn error_pages(host: &RawHost, dir: &Path, diags: &mut Diagnostics) -> Vec<ErrorPage> {
    let mut pages = Vec::new();
    for (status, file) in &host.error_pages {
        let Some(status) = status.parse::<u16>().ok().filter(|s| (400..=599).contains(s)) else {
            diags.at(file.span(), format!("error page for `{status}`: error pages are for statuses 400 to 599"));
            continue;
        };
        let path = dir.join(file.get_ref());
        match std::fs::read(&path) {
            Ok(body) => {
                let content_type = porter::media_type(&path.to_string_lossy()).into_owned();
                pages.push(ErrorPage { status, content_type, body });
            }
            Err(e) => diags.at(file.span(), format!("error page {}: {}", path.display(), crate::os_message(&e))),
        }
    }
    pages
}
