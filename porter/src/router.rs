//! `Router`: dispatch by method and path, with path parameters.
//!
//! Patterns are split on `/`. A segment is a literal, a `:name` parameter (one
//! non-empty segment) or, last, a `*name` wildcard (the rest of the path, maybe
//! empty). Matching is on the raw (still percent-encoded) path, and captured
//! values are raw too, so an encoded `/` (`%2F`) never splits a segment. Routes
//! are tried in the order added; the first match wins.
//!
//! A path that matches no route answers 404; one that matches only under other
//! methods answers 405 with `Allow` (RFC 9110 §15.5.6). Both are decided from
//! the head alone ([`Handler::before_body`]), so a refused request's body is
//! never read. `HEAD` is served by `GET` routes (RFC 9110 §9.3.2).
//!
//! `OPTIONS` (RFC 9110 §9.3.7) on a known path answers `204` with `Allow`: the
//! methods routed there, with `HEAD` when `GET` is, and `OPTIONS`; a route
//! registered for `OPTIONS` on that path answers instead. `OPTIONS *` asks
//! about the server: `204` with every routed method, plus those the fallback
//! lists in its own `2xx` answer to `OPTIONS *`, whether it answers at once,
//! from the head ([`Handler::before_body`]) or later ([`Request::defer`], e.g.
//! a [`Protected`](crate::Protected) fallback whose check runs off the loop):
//! the answer is the same however the fallback decides.

use std::sync::Arc;

use crate::handler::{BodyLimit, Handler, Reply, ReplyKind};
use crate::proto::parse::Span;
use crate::request::Request;
use crate::response::Response;

enum Segment {
    Literal(Box<str>),
    Param(Arc<str>),
    Rest(Arc<str>),
}

struct Route {
    method: Box<str>,
    segments: Vec<Segment>,
    handler: Box<dyn Handler>,
}

/// Routes requests to handlers by method and path pattern.
///
/// ```
/// use porter::{Response, Router};
/// let router = Router::new()
///     .get("/", |_req| Response::text("home"))
///     .get("/users/:id", |req: porter::Request| Response::text(format!("user {}", req.param("id").unwrap_or(""))))
///     .post("/upload", |req: porter::Request| Response::text(format!("{} bytes", req.body().len())));
/// ```
#[derive(Default)]
pub struct Router {
    routes: Vec<Route>,
    fallback: Option<Box<dyn Handler>>,
}

/// The outcome of looking a request up.
enum Lookup<'r> {
    Found(&'r Route, Vec<(Arc<str>, Span)>),
    /// The path exists under these methods only.
    WrongMethod(String),
    /// `OPTIONS *`: a question about the server (RFC 9110 §9.3.7).
    Server,
    NotFound,
}

impl Router {
    /// An empty router (everything is 404).
    pub fn new() -> Self {
        Router::default()
    }

    /// Adds a route for `method` (e.g. `"PUT"`) and `pattern` (e.g. `"/files/*path"`).
    ///
    /// # Panics
    /// If `pattern` does not start with `/` or has a `*` segment before its last:
    /// a programming error, caught the first time the router is built.
    pub fn route(mut self, method: &str, pattern: &str, handler: impl Handler) -> Self {
        let segments = parse_pattern(pattern);
        self.routes.push(Route { method: method.into(), segments, handler: Box::new(handler) });
        self
    }

    /// Adds a `GET` route (which also serves `HEAD`).
    pub fn get(self, pattern: &str, handler: impl Handler) -> Self {
        self.route("GET", pattern, handler)
    }

    /// Adds a `POST` route.
    pub fn post(self, pattern: &str, handler: impl Handler) -> Self {
        self.route("POST", pattern, handler)
    }

    /// Adds a `PUT` route.
    pub fn put(self, pattern: &str, handler: impl Handler) -> Self {
        self.route("PUT", pattern, handler)
    }

    /// Adds a `DELETE` route.
    pub fn delete(self, pattern: &str, handler: impl Handler) -> Self {
        self.route("DELETE", pattern, handler)
    }

    /// Answers requests no route matches (instead of 404), e.g. a [`Files`](crate::Files) handler.
    pub fn fallback(mut self, handler: impl Handler) -> Self {
        self.fallback = Some(Box::new(handler));
        self
    }

    fn lookup(&self, request: &Request) -> Lookup<'_> {
        let method = request.method();
        let (path, base) = (request.path(), request.path_span());
        if path == "*" && method == "OPTIONS" {
            return Lookup::Server;
        }
        let mut allowed: Vec<&str> = Vec::new();
        for route in &self.routes {
            let Some(params) = match_path(&route.segments, path, base) else { continue };
            if serves(&route.method, method) {
                return Lookup::Found(route, params);
            }
            allowed.push(&route.method);
        }
        if allowed.is_empty() {
            return Lookup::NotFound;
        }
        Lookup::WrongMethod(allow_header(allowed))
    }

    fn refusal(&self, request: &Request, lookup: &Lookup<'_>) -> Option<Response> {
        match lookup {
            Lookup::Found(..) => None,
            Lookup::NotFound if self.fallback.is_some() => None,
            Lookup::NotFound => Some(Response::error(404)),
            // The fallback's methods are in its answer (see `before_body`).
            Lookup::Server if self.fallback.is_some() => None,
            Lookup::Server => Some(self.server_options(None)),
            // RFC 9110 §9.3.7: OPTIONS describes the resource's methods.
            Lookup::WrongMethod(allow) if request.method() == "OPTIONS" => {
                Some(Response::new(204).header("Allow", allow.clone()))
            }
            // RFC 9110 §15.5.6: 405 must list the methods the resource supports.
            Lookup::WrongMethod(allow) => Some(Response::error(405).header("Allow", allow.clone())),
        }
    }

    /// The `204` to `OPTIONS *`: every routed method, and those of the
    /// fallback's own successful answer to it, if any (RFC 9110 §9.3.7).
    fn server_options(&self, fallback_answer: Option<Response>) -> Response {
        server_options(self.routes.iter().map(|r| &*r.method).collect(), fallback_answer)
    }

    /// `OPTIONS *` given to the fallback: its answer, now or deferred, merged
    /// into the router's.
    fn ask_fallback_about_server(&self, fallback: &dyn Handler, request: Request) -> Reply {
        match fallback.handle(request) {
            Reply(ReplyKind::Now(answer)) => self.server_options(Some(answer)).into(),
            Reply(ReplyKind::Later { seq, pending }) => {
                let routed: Vec<Box<str>> = self.routes.iter().map(|r| r.method.clone()).collect();
                pending.then_restyle(move |answer| server_options(routed.iter().map(|m| &**m).collect(), Some(answer)));
                Reply(ReplyKind::Later { seq, pending })
            }
        }
    }
}

/// The `204` to `OPTIONS *` (see [`Router::server_options`]) from the routed
/// methods.
fn server_options(routed: Vec<&str>, fallback_answer: Option<Response>) -> Response {
    let fallback_allow = fallback_answer
        .filter(|answer| (200..300).contains(&answer.status))
        .and_then(|answer| answer.header_value("allow").map(|v| String::from_utf8_lossy(v).into_owned()))
        .unwrap_or_default();
    let mut methods = routed;
    methods.extend(fallback_allow.split(',').map(str::trim).filter(|m| !m.is_empty()));
    Response::new(204).header("Allow", allow_header(methods))
}

impl Handler for Router {
    fn before_body(&self, request: &Request) -> Option<Response> {
        let lookup = self.lookup(request);
        match (&lookup, &self.fallback) {
            (Lookup::NotFound, Some(fallback)) => fallback.before_body(request),
            (Lookup::Found(route, _), _) => route.handler.before_body(request),
            // Its answer from the head, merged as one given later would be.
            (Lookup::Server, Some(fallback)) => {
                fallback.before_body(request).map(|answer| self.server_options(Some(answer)))
            }
            _ => self.refusal(request, &lookup),
        }
    }

    fn streams_body(&self, request: &Request) -> Option<BodyLimit> {
        match (self.lookup(request), &self.fallback) {
            (Lookup::Found(route, _), _) => route.handler.streams_body(request),
            (Lookup::NotFound | Lookup::Server, Some(fallback)) => fallback.streams_body(request),
            _ => None,
        }
    }

    fn handle(&self, mut request: Request) -> Reply {
        let lookup = self.lookup(&request);
        if let Some(refused) = self.refusal(&request, &lookup) {
            return refused.into();
        }
        match lookup {
            Lookup::Found(route, params) => {
                request.set_params(params);
                route.handler.handle(request)
            }
            Lookup::Server => match &self.fallback {
                Some(fallback) => self.ask_fallback_about_server(&**fallback, request),
                None => self.server_options(None).into(),
            },
            _ => match &self.fallback {
                Some(fallback) => fallback.handle(request),
                None => Response::error(404).into(),
            },
        }
    }
}

/// True when a route for `route_method` serves a request with `method`.
fn serves(route_method: &str, method: &str) -> bool {
    route_method == method || (route_method == "GET" && method == "HEAD")
}

/// The `Allow` value for a set of route methods: sorted, unique, HEAD with GET.
fn allow_header(mut methods: Vec<&str>) -> String {
    if methods.contains(&"GET") {
        methods.push("HEAD");
    }
    methods.push("OPTIONS");
    methods.sort_unstable();
    methods.dedup();
    methods.join(", ")
}

fn parse_pattern(pattern: &str) -> Vec<Segment> {
    assert!(pattern.starts_with('/'), "route pattern {pattern:?} must start with '/'");
    let parts: Vec<&str> = pattern[1..].split('/').collect();
    let last = parts.len() - 1;
    parts
        .iter()
        .enumerate()
        .map(|(i, part)| {
            if let Some(name) = part.strip_prefix(':') {
                Segment::Param(name.into())
            } else if let Some(name) = part.strip_prefix('*') {
                assert!(i == last, "wildcard in route pattern {pattern:?} must be the last segment");
                Segment::Rest(name.into())
            } else {
                Segment::Literal((*part).into())
            }
        })
        .collect()
}

/// Matches `path` (which starts at offset `base.start` of the head) against a
/// pattern; returns the captured parameters as spans into the head.
fn match_path(segments: &[Segment], path: &str, base: Span) -> Option<Vec<(Arc<str>, Span)>> {
    let rest = path.strip_prefix('/')?;
    // Offsets into the head are only meaningful when `path` is the head's span.
    let offset = if base.len() == path.len() { base.start + 1 } else { 0 };
    let mut params = Vec::new();
    let mut parts = rest.split('/');
    let mut pos = offset;
    for segment in segments {
        if let Segment::Rest(name) = segment {
            let start = pos.min(offset + rest.len() as u32);
            params.push((name.clone(), Span { start, end: offset + rest.len() as u32 }));
            return Some(params);
        }
        let part = parts.next()?;
        match segment {
            Segment::Literal(lit) if **lit == *part => {}
            Segment::Param(name) if !part.is_empty() => {
                params.push((name.clone(), Span { start: pos, end: pos + part.len() as u32 }));
            }
            _ => return None,
        }
        pos += part.len() as u32 + 1;
    }
    parts.next().is_none().then_some(params)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Captured `(name, value)` pairs, or `None` for no match.
    type Captures = Option<Vec<(String, String)>>;

    fn spans(pattern: &str, path: &str) -> Captures {
        let base = Span { start: 0, end: path.len() as u32 };
        match_path(&parse_pattern(pattern), path, base).map(|ps| {
            ps.into_iter()
                .map(|(n, s)| (n.to_string(), String::from_utf8_lossy(s.get(path.as_bytes())).into()))
                .collect()
        })
    }

    fn caps(pairs: &[(&str, &str)]) -> Captures {
        Some(pairs.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect())
    }

    #[test]
    fn pattern_matching_table() {
        let cases: &[(&str, &str, Captures)] = &[
            ("/", "/", caps(&[])),
            ("/", "/x", None),
            ("/plaintext", "/plaintext", caps(&[])),
            ("/plaintext", "/plaintext/", None),
            ("/users/:id", "/users/42", caps(&[("id", "42")])),
            ("/users/:id", "/users/", None),
            ("/users/:id", "/users/42/x", None),
            ("/a/:x/b/:y", "/a/1/b/2", caps(&[("x", "1"), ("y", "2")])),
            ("/files/*path", "/files/a/b/c.txt", caps(&[("path", "a/b/c.txt")])),
            ("/files/*path", "/files/", caps(&[("path", "")])),
            ("/files/*path", "/files", caps(&[("path", "")])),
            ("/users/:id", "/users/a%2Fb", caps(&[("id", "a%2Fb")])),
        ];
        for (pattern, path, want) in cases {
            assert_eq!(&spans(pattern, path), want, "{pattern} vs {path}");
        }
    }

    #[test]
    fn allow_lists_head_with_get_and_options() {
        assert_eq!(allow_header(vec!["GET"]), "GET, HEAD, OPTIONS");
        assert_eq!(allow_header(vec!["POST", "DELETE", "POST"]), "DELETE, OPTIONS, POST");
    }

    #[test]
    fn head_is_served_by_get() {
        assert!(serves("GET", "HEAD"));
        assert!(!serves("POST", "HEAD"));
        assert!(!serves("GET", "get"), "methods are case-sensitive (RFC 9110 §9.1)");
    }

    #[test]
    #[should_panic(expected = "must start with '/'")]
    fn pattern_without_slash_is_a_programming_error() {
        let _ = Router::new().get("users", |_r: Request| Response::text(""));
    }
}
