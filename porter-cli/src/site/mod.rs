//! The handler a config file describes: virtual hosts ([`hosts`]), each with
//! its locations tried in order by path prefix ([`path`]), each location a
//! static-file root, a [`redirect`], a fixed [`status`] reply or metrics,
//! optionally behind Basic authentication, and the host's error pages and
//! `max_body` around them all.
//!
//! [`build`] is the one place a [`Config`]'s hosts become a handler; the
//! server serves it through [`live::Live`], which a reload swaps.

pub mod hosts;
pub mod live;
pub mod path;
pub mod redirect;
pub mod status;

use porter::{BasicAuth, CleanPath, ErrorPages, Handler, Reply, Request, Response};

use crate::config::{Config, Host, Location, LocationKind};
use hosts::HostTable;

/// Every virtual host of a config.
pub struct Site {
    table: HostTable,
    hosts: Vec<ErrorPages<HostHandler>>,
}

/// One host's locations and body limit.
struct HostHandler {
    max_body: Option<u64>,
    locations: Vec<(Vec<String>, Box<dyn Handler>)>,
}

/// A boxed handler as a `Handler` (to wrap it in `Protected`).
struct Boxed(Box<dyn Handler>);

/// The handler for `config`'s hosts. Fails when a file or directory named in
/// the config cannot be loaded (it was checked, but may have changed since).
pub fn build(config: &Config, metrics: &porter::Metrics) -> Result<Site, String> {
    let hosts = config.hosts.iter().map(|h| host(config, h, metrics)).collect::<Result<Vec<_>, _>>()?;
    let table = HostTable::new(config.hosts.iter().map(|h| h.names.as_slice()), config.default_host);
    Ok(Site { table, hosts })
}

fn host(config: &Config, host: &Host, metrics: &porter::Metrics) -> Result<ErrorPages<HostHandler>, String> {
    let locations = host.locations.iter().map(|l| Ok((l.segments.clone(), location(config, host, l, metrics)?)));
    let handler = HostHandler { max_body: host.max_body, locations: locations.collect::<Result<_, String>>()? };
    let pages = host.error_pages.iter();
    Ok(pages.fold(ErrorPages::new(handler), |h, p| h.page(p.status, p.content_type.clone(), p.body.clone())))
}

/// One location's handler, behind its authentication if it has one.
fn location(
    config: &Config,
    host: &Host,
    location: &Location,
    metrics: &porter::Metrics,
) -> Result<Box<dyn Handler>, String> {
    let inner: Box<dyn Handler> = match &location.kind {
        LocationKind::Files { root, options } => {
            let files =
                porter::Files::new(root).map_err(|e| format!("{}: {}", root.display(), crate::os_message(&e)))?;
            Box::new(options.configure(files, None).map_err(|e| e.to_string())?)
        }
        LocationKind::Redirect { status, to } => Box::new(redirect::Redirect {
            status: *status,
            to: to.clone(),
            scheme: scheme(config),
            fallback_host: host.names.first().map_or(String::new(), |n| n.trim_start_matches("*.").to_string()),
        }),
        LocationKind::Status { code, body, content_type, health } => Box::new(status::Status {
            code: *code,
            body: body.clone().into(),
            content_type: content_type.clone().into(),
            health: *health,
        }),
        LocationKind::Metrics => Box::new(metrics.clone()),
    };
    let Some(auth) = &location.auth else { return Ok(inner) };
    let basic = BasicAuth::from_htpasswd(&auth.realm, &auth.htpasswd).map_err(|e| e.to_string())?;
    Ok(Box::new(basic.protect(Boxed(inner))))
}

/// `$scheme`: validation allows it only when every listener agrees.
fn scheme(config: &Config) -> &'static str {
    match config.listeners.iter().all(|l| !l.tls.is_empty()) {
        true => "https",
        false => "http",
    }
}

impl Site {
    fn host(&self, request: &Request) -> &ErrorPages<HostHandler> {
        &self.hosts[self.table.pick(request.host())]
    }
}

impl Handler for Site {
    fn handle(&self, request: Request) -> Reply {
        self.host(&request).handle(request)
    }

    fn before_body(&self, request: &Request) -> Option<Response> {
        self.host(request).before_body(request)
    }
}

impl HostHandler {
    /// The location for this request, or the refusal (400 for a malformed path, 404 for none).
    fn location(&self, request: &Request) -> Result<&dyn Handler, Response> {
        let path = CleanPath::parse(request.path()).map_err(|_| Response::error(400))?;
        let found = self.locations.iter().find(|(prefix, _)| path.starts_with(prefix));
        found.map(|(_, handler)| &**handler).ok_or_else(|| Response::error(404))
    }

    /// 413 when the declared body is over this host's limit (RFC 9110 §15.5.14);
    /// the connection closes rather than read it.
    fn declared_too_large(&self, request: &Request) -> Option<Response> {
        let max = self.max_body?;
        let declared = request.header("content-length")?.trim().parse::<u64>().ok()?;
        (declared > max).then(|| too_large().close())
    }
}

/// This host's 413, saying why as porter's own does.
fn too_large() -> Response {
    Response::error_because(413, Response::BODY_TOO_LARGE)
}

impl Handler for HostHandler {
    fn handle(&self, request: Request) -> Reply {
        // A chunked body has no declared length: it was read (up to the global
        // max_body) and is measured now.
        if self.max_body.is_some_and(|max| request.body().len() as u64 > max) {
            return too_large().into();
        }
        match self.location(&request) {
            Ok(handler) => handler.handle(request),
            Err(refusal) => refusal.into(),
        }
    }

    fn before_body(&self, request: &Request) -> Option<Response> {
        match self.location(request) {
            // The location's own refusal (a 405, a 401) says more than a 413,
            // as porter's before_body comes before its max_body.
            Ok(handler) => handler.before_body(request).or_else(|| self.declared_too_large(request)),
            Err(refusal) => Some(refusal),
        }
    }
}

impl Handler for Boxed {
    fn handle(&self, request: Request) -> Reply {
        self.0.handle(request)
    }

    fn before_body(&self, request: &Request) -> Option<Response> {
        self.0.before_body(request)
    }
}
