//! `Request`: a parsed request head that owns its bytes, plus its body.
//!
//! The head is one immutable `Bytes` buffer split off the connection's read
//! buffer (no copy); method, target and headers are index spans into it, so a
//! request is `'static` and `Send`, and can be queued or moved to another thread.

use std::any::Any;
use std::fmt;
use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};

use bytes::Bytes;

use crate::handler::{Reply, ReplyKind};
use crate::proto::parse::{ParsedHead, Span, TargetForm};
use crate::responder::{Origin, Pending, Responder};
use crate::upload::BodyReader;

pub use crate::proto::parse::Version;

/// The two ends of the connection a request came on.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Endpoints {
    /// The client.
    pub(crate) peer: Option<SocketAddr>,
    /// The address the client connected to.
    pub(crate) local: Option<SocketAddr>,
}

/// An HTTP request: method, target, headers and (fully read) body.
pub struct Request {
    head: Bytes,
    parsed: ParsedHead,
    body: Bytes,
    params: Vec<(Arc<str>, Span)>,
    ends: Endpoints,
    origin: Origin,
    /// The streamed body's reader, for handlers that stream bodies.
    stream: Option<BodyReader>,
    /// Handed to a handler off the loop (after a costly check): a deferral
    /// made now holds its answer until the handler call returns.
    off_loop: bool,
    /// What the handler keeps with the request between its calls ([`Request::keep`]).
    kept: OnceLock<Arc<dyn Any + Send + Sync>>,
}

/// A handler that panics drops its request as the panic unwinds: the
/// request then names itself for the panic's log line (see `guard`).
impl Drop for Request {
    fn drop(&mut self) {
        crate::guard::RequestId::note_unwinding(self, self.origin.seq);
    }
}

impl Request {
    pub(crate) fn new(head: Bytes, parsed: ParsedHead, ends: Endpoints, origin: Origin) -> Self {
        let (body, params, kept) = (Bytes::new(), Vec::new(), OnceLock::new());
        Request { head, parsed, body, params, ends, origin, stream: None, off_loop: false, kept }
    }

    /// Answers this request later, from any thread: return the [`Reply`] from the
    /// handler and answer through the [`Responder`] (see its docs).
    ///
    /// ```no_run
    /// # use porter::{Request, Response, Reply};
    /// fn slow(req: Request) -> Reply {
    ///     let (reply, responder) = req.defer();
    ///     std::thread::spawn(move || responder.respond(Response::text("done")));
    ///     reply
    /// }
    /// ```
    pub fn defer(&self) -> (Reply, Responder) {
        let mut pending = Pending::new(crate::guard::RequestId::of(self, self.origin.seq));
        if self.off_loop {
            pending.hold();
        }
        let pending = Arc::new(pending);
        let responder = Responder::new(self.origin.clone(), pending.clone());
        (Reply(ReplyKind::Later { seq: self.origin.seq, pending }), responder)
    }

    /// True once the server's graceful shutdown has been asked
    /// ([`crate::ShutdownHandle::shutdown`], SIGTERM in the `porter` binary),
    /// from its lame-duck period ([`crate::ServerBuilder::shutdown_delay`]) on:
    /// a health check should then answer `503` so that the load balancer
    /// stops sending clients before porter stops accepting. Every request
    /// read from then on is its connection's last: its reply says
    /// `Connection: close` whatever the handler does.
    pub fn is_draining(&self) -> bool {
        self.origin.remote.is_draining()
    }

    /// Keeps `value` with this request until [`Request::take_kept`]: for a
    /// handler to carry what it decided in
    /// [`Handler::before_body`](crate::Handler::before_body), which sees only
    /// `&Request`, over to its [`Handler::handle`](crate::Handler::handle) of
    /// the same request (e.g. the configuration it checked the head against).
    /// One value per request: returns false, dropping `value`, when one is
    /// kept already.
    pub fn keep<T: Any + Send + Sync>(&self, value: Arc<T>) -> bool {
        self.kept.set(value).is_ok()
    }

    /// Takes back the value [`Request::keep`] kept, if it is a `T` (another
    /// type stays kept).
    pub fn take_kept<T: Any + Send + Sync>(&mut self) -> Option<Arc<T>> {
        match self.kept.take()?.downcast::<T>() {
            Ok(value) => Some(value),
            Err(other) => {
                let _ = self.kept.set(other);
                None
            }
        }
    }

    /// Marks the request as handled off the loop, answering in the place of
    /// an earlier deferral (see [`Responder::follow`](crate::Responder)).
    pub(crate) fn set_off_loop(&mut self) {
        self.off_loop = true;
    }

    pub(crate) fn set_body(&mut self, body: Bytes) {
        self.body = body;
    }

    pub(crate) fn parsed(&self) -> &ParsedHead {
        &self.parsed
    }

    pub(crate) fn head_bytes(&self) -> &Bytes {
        &self.head
    }

    fn text(&self, span: Span) -> &str {
        // The parser admits only visible ASCII in the method and target.
        std::str::from_utf8(span.get(&self.head)).unwrap_or("")
    }

    /// The method, e.g. `"GET"` (case-sensitive, RFC 9110 §9.1).
    pub fn method(&self) -> &str {
        self.text(self.parsed.method)
    }

    /// True for `HEAD`, whose response carries no body.
    pub fn is_head(&self) -> bool {
        self.method() == "HEAD"
    }

    /// The request-target exactly as sent: `/a/b?q=1`, `http://host/a`, or `*`.
    pub fn target(&self) -> &str {
        self.text(self.parsed.target)
    }

    /// The path of the target, still percent-encoded (`/` for `*` and an empty absolute path).
    pub fn path(&self) -> &str {
        match self.parsed.form {
            TargetForm::Asterisk => "*",
            _ if self.parsed.path.is_empty() => "/",
            _ => self.text(self.parsed.path),
        }
    }

    /// The query string after `?`, without the `?`.
    pub fn query(&self) -> Option<&str> {
        self.parsed.query.map(|q| self.text(q))
    }

    /// The HTTP version of the request.
    pub fn version(&self) -> Version {
        self.parsed.version
    }

    /// The authority the request is for: the absolute-form target's, else the Host header's.
    pub fn host(&self) -> Option<&str> {
        self.parsed.host.map(|h| self.text(h))
    }

    /// The first value of header `name` (case-insensitive), if present and valid UTF-8.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.header_bytes(name).and_then(|v| std::str::from_utf8(v).ok())
    }

    /// The first value of header `name` (case-insensitive) as raw bytes.
    pub fn header_bytes(&self, name: &str) -> Option<&[u8]> {
        self.headers().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v)
    }

    /// Every header in the order received: `(name, value)`; a repeated header appears repeatedly.
    pub fn headers(&self) -> impl Iterator<Item = (&str, &[u8])> + '_ {
        self.parsed.headers.iter().map(|&(n, v)| (self.text(n), v.get(&self.head)))
    }

    /// The request body (empty when there is none).
    pub fn body(&self) -> &[u8] {
        &self.body
    }

    pub(crate) fn set_stream(&mut self, reader: BodyReader) {
        self.stream = Some(reader);
    }

    /// A reader for the body. For a handler that streams bodies
    /// ([`Handler::streams_body`](crate::Handler::streams_body)) it yields the
    /// body as it arrives and blocks while none is there (read it on another
    /// thread); otherwise it reads the body already received. Taken once: a
    /// second call reads nothing.
    pub fn body_reader(&mut self) -> BodyReader {
        match self.stream.take() {
            Some(reader) => reader,
            None => BodyReader::buffered(self.take_body()),
        }
    }

    /// Takes the body out of the request without copying it.
    pub fn take_body(&mut self) -> Bytes {
        std::mem::take(&mut self.body)
    }

    /// A path parameter captured by the [`Router`](crate::Router), e.g. `id` in `/users/:id`.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params.iter().find(|(n, _)| &**n == name).map(|&(_, v)| self.text(v))
    }

    pub(crate) fn set_params(&mut self, params: Vec<(Arc<str>, Span)>) {
        self.params = params;
    }

    /// The span of the path within the head, for routers that capture parameters.
    pub(crate) fn path_span(&self) -> Span {
        self.parsed.path
    }

    /// The client's address: the socket's peer or, on a PROXY protocol
    /// listener ([`ListenOptions::proxy_protocol`](crate::ListenOptions::proxy_protocol)),
    /// the client the load balancer names.
    pub fn peer_addr(&self) -> Option<SocketAddr> {
        self.ends.peer
    }

    /// The address the client connected to: the server socket's own or, on a
    /// PROXY protocol listener, the balancer's address the header names.
    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.ends.local
    }
}

impl fmt::Debug for Request {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Request")
            .field("method", &self.method())
            .field("target", &self.target())
            .field("version", &self.version())
            .field("body_len", &self.body.len())
            .finish()
    }
}
