//! The handler contract: what porter calls for each request.
//!
//! A handler is called on the worker loop that parsed the request, once the body
//! has been read. It must not block for long: every connection of that loop waits
//! while it runs. A handler that panics is caught: its client gets a 500 and the
//! connection and the worker live on (as for every call into the application's
//! code: see `crate::guard`).

use crate::request::Request;
use crate::response::Response;

/// What a handler gives back for a request: a [`Response`] now (`Response`
/// converts into `Reply`, so handlers usually just return one), or the promise
/// of one later, made by [`Request::defer`].
#[derive(Debug)]
pub struct Reply(pub(crate) ReplyKind);

#[derive(Debug)]
pub(crate) enum ReplyKind {
    Now(Response),
    /// A [`Responder`](crate::Responder) will answer request `seq`; the loop
    /// keeps `pending` to cancel it if the client goes away.
    Later {
        seq: u64,
        pending: std::sync::Arc<crate::responder::Pending>,
    },
}

impl From<Response> for Reply {
    fn from(response: Response) -> Self {
        Reply(ReplyKind::Now(response))
    }
}

/// Answers requests. Implemented for every `Fn(Request) -> impl Into<Reply>`
/// closure, and by [`Router`](crate::Router) and [`Files`](crate::Files).
pub trait Handler: Send + Sync + 'static {
    /// Answers one request whose body (if any) has been read in full.
    fn handle(&self, request: Request) -> Reply;

    /// Called with the request head before its body is read. Returning a response
    /// answers the request without reading the body (no `100 Continue` is sent, the
    /// body is drained or the connection closed): routers use it for 404 and 405,
    /// authentication for 401. It is asked before `max_body` is checked, so its
    /// answer wins over a `413` (a body over `max_body` is then not drained: the
    /// connection closes). The default reads every body.
    fn before_body(&self, _request: &Request) -> Option<Response> {
        None
    }

    /// Return `Some` to be called as soon as the head is parsed, with the body
    /// still arriving: read it with [`Request::body_reader`] (on another thread,
    /// after [`Request::defer`]). Bodies then pass through bounded memory.
    /// The [`BodyLimit`] still applies: a larger announced length is refused
    /// with `413` before the handler is called, and a chunked body growing past
    /// it fails the reader with [`std::io::ErrorKind::FileTooLarge`] and closes
    /// the connection. The default (`None`) buffers the whole body (up to
    /// `max_body`) before calling [`Handler::handle`].
    fn streams_body(&self, _request: &Request) -> Option<BodyLimit> {
        None
    }
}

/// The most body bytes a streaming handler takes (see [`Handler::streams_body`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum BodyLimit {
    /// The server's [`Limits::max_body`](crate::Limits::max_body).
    #[default]
    Server,
    /// This many bytes (`u64::MAX`: any body), whatever `max_body` says: a large
    /// upload route needs no large `max_body`, which every buffered route would
    /// then hold in memory.
    Bytes(u64),
}

/// Wraps a handler so that it streams request bodies (see [`Handler::streams_body`]).
///
/// ```no_run
/// # use porter::{Request, Response, Reply, Router, stream_body};
/// use std::io::Read;
/// fn count(mut req: Request) -> Reply {
///     let (reply, responder) = req.defer();
///     let mut body = req.body_reader();
///     std::thread::spawn(move || {
///         let n = std::io::copy(&mut body, &mut std::io::sink());
///         responder.respond(match n {
///             Ok(n) => Response::text(format!("{n} bytes")),
///             Err(_) => Response::error(400),
///         });
///     });
///     reply
/// }
/// let app = Router::new().post("/upload", stream_body(count));
/// ```
pub fn stream_body<H: Handler>(handler: H) -> StreamBody<H> {
    StreamBody { handler, limit: BodyLimit::Server }
}

/// A handler that streams request bodies; made by [`stream_body`].
#[derive(Debug)]
pub struct StreamBody<H> {
    handler: H,
    limit: BodyLimit,
}

impl<H> StreamBody<H> {
    /// Takes bodies of up to `bytes` (`u64::MAX`: any size) instead of the
    /// server's `max_body`, for this handler's requests only:
    /// `stream_body(upload).max_body(u64::MAX)`.
    pub fn max_body(mut self, bytes: u64) -> Self {
        self.limit = BodyLimit::Bytes(bytes);
        self
    }
}

impl<H: Handler> Handler for StreamBody<H> {
    fn handle(&self, request: Request) -> Reply {
        self.handler.handle(request)
    }

    fn before_body(&self, request: &Request) -> Option<Response> {
        self.handler.before_body(request)
    }

    fn streams_body(&self, _request: &Request) -> Option<BodyLimit> {
        Some(self.limit)
    }
}

impl<F, R> Handler for F
where
    F: Fn(Request) -> R + Send + Sync + 'static,
    R: Into<Reply>,
{
    fn handle(&self, request: Request) -> Reply {
        self(request).into()
    }
}
