//! Checks one host's `[[host.location]]` entries: the path (absolute,
//! normalized, not shadowed by an earlier location: the first match wins),
//! exactly one kind (`root`, `redirect`, `status` or `metrics`), the kind's
//! own settings, file options only beside `root`, and `auth`'s htpasswd file.

use std::ops::Range;
use std::path::Path;

use toml::Spanned;

use super::super::diag::Diagnostics;
use super::super::raw::{RawLocation, RawRedirect, RawStatus};
use super::super::validate::Settings;
use super::super::{Auth, Location, LocationKind};
use crate::args::{CacheRule, FileOptions};
use crate::site::path::location_segments;
use crate::site::redirect::Template;

const KINDS: &str = "`root`, `redirect`, `status` or `metrics = true`";

/// Checks every location of one host, in order.
pub fn locations(
    raw: &[Spanned<RawLocation>],
    dir: &Path,
    settings: &Option<Settings>,
    diags: &mut Diagnostics,
) -> Vec<Location> {
    let mut checked: Vec<Location> = Vec::new();
    for entry in raw {
        let Some(location) = location(entry, dir, settings, diags) else { continue };
        if let Some(earlier) = checked.iter().find(|l| location.segments.starts_with(&l.segments)) {
            let why = format!(
                "location `{}` is never used: the earlier location `{}` matches every path it would (the first \
                 match wins)",
                location.path, earlier.path
            );
            diags.at(entry.get_ref().path.span(), why);
        }
        checked.push(location);
    }
    checked
}

fn location(
    entry: &Spanned<RawLocation>,
    dir: &Path,
    settings: &Option<Settings>,
    diags: &mut Diagnostics,
) -> Option<Location> {
    let raw = entry.get_ref();
    let segments = location_segments(raw.path.get_ref());
    if segments.is_none() {
        diags.at(raw.path.span(), "a location path starts with `/` and has no `..` above the root, `%2F` or NUL");
    }
    let kind = kind(entry, dir, settings, diags);
    let auth = raw.auth.as_ref().and_then(|a| auth(a, dir, diags));
    if raw.auth.is_some() && auth.is_none() {
        return None;
    }
    Some(Location { path: raw.path.get_ref().clone(), segments: segments?, auth, kind: kind? })
}

/// The one kind of this location, checked.
fn kind(
    entry: &Spanned<RawLocation>,
    dir: &Path,
    settings: &Option<Settings>,
    diags: &mut Diagnostics,
) -> Option<LocationKind> {
    let raw = entry.get_ref();
    let metrics = raw.metrics.as_ref().filter(|m| *m.get_ref());
    let kinds: Vec<(&str, Range<usize>)> = [
        raw.root.as_ref().map(|r| ("root", r.span())),
        raw.redirect.as_ref().map(|r| ("redirect", r.span())),
        raw.status.as_ref().map(|s| ("status", s.span())),
        metrics.map(|m| ("metrics", m.span())),
    ]
    .into_iter()
    .flatten()
    .collect();
    check_file_options_need_root(raw, diags);
    match kinds.as_slice() {
        [] => {
            diags.at(entry.span(), format!("a location needs one of {KINDS}"));
            None
        }
        [_] => one_kind(raw, dir, settings, diags),
        [(first, _), (second, span), ..] => {
            diags.at(span.clone(), format!("a location has one kind, but this one has both `{first}` and `{second}`"));
            None
        }
    }
}

fn one_kind(
    raw: &RawLocation,
    dir: &Path,
    settings: &Option<Settings>,
    diags: &mut Diagnostics,
) -> Option<LocationKind> {
    if let Some(root) = &raw.root {
        return files(raw, root, dir, diags);
    }
    if let Some(redirect) = &raw.redirect {
        return self::redirect(redirect.get_ref(), settings, diags);
    }
    if let Some(status) = &raw.status {
        return self::status(status.get_ref(), diags);
    }
    Some(LocationKind::Metrics)
}

/// File options (`index`, `listing`, ...) only mean something beside `root`.
fn check_file_options_need_root(raw: &RawLocation, diags: &mut Diagnostics) {
    if raw.root.is_some() {
        return;
    }
    let options: [(&str, Option<Range<usize>>); 7] = [
        ("index", raw.index.as_ref().map(Spanned::span)),
        ("listing", raw.listing.as_ref().map(Spanned::span)),
        ("cache_control", raw.cache_control.as_ref().map(Spanned::span)),
        ("cache", raw.cache.as_ref().map(Spanned::span)),
        ("precompressed", raw.precompressed.as_ref().map(Spanned::span)),
        ("follow_symlinks", raw.follow_symlinks.as_ref().map(Spanned::span)),
        ("hidden_files", raw.hidden_files.as_ref().map(Spanned::span)),
    ];
    for (name, span) in options {
        if let Some(span) = span {
            diags.at(span, format!("`{name}` applies only to a `root` location"));
        }
    }
}

/// A `root` location: the directory opens and the options apply (as the CLI's flags).
fn files(raw: &RawLocation, root: &Spanned<String>, dir: &Path, diags: &mut Diagnostics) -> Option<LocationKind> {
    let defaults = FileOptions::default();
    let value = |v: &Option<Spanned<bool>>, default: bool| v.as_ref().map_or(default, |v| *v.get_ref());
    let options = FileOptions {
        index: raw.index.as_ref().map_or(defaults.index, |i| i.get_ref().clone()),
        listing: value(&raw.listing, defaults.listing),
        cache_control: raw.cache_control.as_ref().map(|c| c.get_ref().clone()),
        cache_rules: raw.cache.as_ref().map_or_else(Vec::new, |rules| {
            let rule = |r: &super::super::raw::RawCacheRule| CacheRule {
                pattern: r.pattern.get_ref().clone(),
                value: r.value.get_ref().clone(),
            };
            rules.get_ref().iter().map(rule).collect()
        }),
        precompressed: value(&raw.precompressed, defaults.precompressed),
        follow_symlinks: value(&raw.follow_symlinks, defaults.follow_symlinks),
        hidden_files: value(&raw.hidden_files, defaults.hidden_files),
    };
    let path = dir.join(root.get_ref());
    let files = match porter::Files::new(&path) {
        Ok(files) => files,
        Err(e) => {
            diags.at(root.span(), format!("root {}: {}", path.display(), crate::os_message(&e)));
            return None;
        }
    };
    if !cache_settings_apply(raw, &files, diags) {
        return None;
    }
    Some(LocationKind::Files { root: path, options })
}

/// Each cache rule and `cache_control` applied to `files`, each error at its own value.
fn cache_settings_apply(raw: &RawLocation, files: &porter::Files, diags: &mut Diagnostics) -> bool {
    let mut ok = true;
    for rule in raw.cache.as_ref().map_or(&[][..], |r| r.get_ref().as_slice()) {
        if let Err(e) = files.clone().cache_rule(rule.pattern.get_ref(), rule.value.get_ref()) {
            diags.at(rule.pattern.span(), format!("cache rule: {e}"));
            ok = false;
        }
    }
    if let Some(value) = &raw.cache_control {
        if let Err(e) = files.clone().cache_control(value.get_ref()) {
            diags.at(value.span(), format!("cache_control: {e}"));
            ok = false;
        }
    }
    ok
}

fn redirect(raw: &RawRedirect, settings: &Option<Settings>, diags: &mut Diagnostics) -> Option<LocationKind> {
    let status = match &raw.status {
        None => Some(302),
        Some(s) if matches!(s.get_ref(), 301 | 302 | 303 | 307 | 308) => Some(*s.get_ref() as u16),
        Some(s) => {
            diags.at(s.span(), format!("redirect status {} is not one of 301, 302, 303, 307, 308", s.get_ref()));
            None
        }
    };
    let to = match Template::parse(raw.to.get_ref()) {
        Ok(to) => Some(to),
        Err(why) => {
            diags.at(raw.to.span(), why);
            None
        }
    };
    if let (Some(to), Some(settings)) = (&to, settings) {
        let tls = settings.listeners.iter().filter(|l| !l.tls.is_empty()).count();
        if to.uses_scheme() && tls != 0 && tls != settings.listeners.len() {
            diags.at(
                raw.to.span(),
                "`$scheme` needs every listener to be HTTP, or every one HTTPS: write the scheme out",
            );
        }
    }
    Some(LocationKind::Redirect { status: status?, to: to? })
}

fn status(raw: &RawStatus, diags: &mut Diagnostics) -> Option<LocationKind> {
    let code = *raw.code.get_ref();
    let content_type = raw.content_type.as_ref().map_or("text/plain; charset=utf-8", |c| c.get_ref().as_str());
    let mut ok = true;
    if !(200..=599).contains(&code) {
        diags.at(raw.code.span(), format!("status code {code} is not a final status (200 to 599)"));
        ok = false;
    } else if matches!(code, 204 | 304) && !raw.body.is_empty() {
        // RFC 9110 §15.3.5, §15.4.5.
        diags.at(raw.code.span(), format!("a {code} reply has no body: remove `body`"));
        ok = false;
    }
    if let Some(c) = raw.content_type.as_ref().filter(|c| c.get_ref().chars().any(|ch| ch.is_control())) {
        diags.at(c.span(), "`content_type` must not contain control characters");
        ok = false;
    }
    ok.then(|| LocationKind::Status {
        code: code as u16,
        body: raw.body.clone(),
        content_type: content_type.into(),
        health: raw.health,
    })
}

fn auth(raw: &Spanned<super::super::raw::RawAuth>, dir: &Path, diags: &mut Diagnostics) -> Option<Auth> {
    let raw = raw.get_ref();
    let realm = raw.realm.as_ref().map_or("porter", |r| r.get_ref().as_str()).to_string();
    let htpasswd = dir.join(raw.htpasswd.get_ref());
    match porter::BasicAuth::from_htpasswd(&realm, &htpasswd) {
        Ok(_) => Some(Auth { htpasswd, realm }),
        Err(e) => {
            diags.at(raw.htpasswd.span(), format!("htpasswd: {}", crate::os_message(&e)));
            None
        }
    }
}
