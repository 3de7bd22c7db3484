//! `ErrorPages`: a handler wrapper that replaces the body of error replies
//! (status 400–599) with pages of the operator's choosing, keeping the status.
//!
//! Only the body and the headers that describe it (`Content-Type`,
//! `Content-Encoding`, `Content-Language`, `ETag`, `Last-Modified`) change;
//! every other header stays, so a `401` keeps its `WWW-Authenticate`, a `405`
//! its `Allow` and a `416` its `Content-Range` (RFC 9110 §15.5.2, §15.5.6,
//! §15.5.17). Refusals made from the head ([`Handler::before_body`]) get the
//! page too, and so does a deferred reply ([`Request::defer`], e.g. a
//! [`Protected`](crate::Protected) check run off the loop): its answer is
//! restyled when it reaches the loop.

use std::collections::HashMap;
use std::sync::Arc;

use bytes::Bytes;

use crate::handler::{Handler, Reply, ReplyKind};
use crate::request::Request;
use crate::response::{Body, Response};

/// Headers that describe the body being replaced, dropped with it.
const BODY_HEADERS: [&str; 5] = ["content-type", "content-encoding", "content-language", "etag", "last-modified"];

/// Wraps a handler and gives its error replies custom bodies.
///
/// ```
/// use porter::{ErrorPages, Response};
/// let app = ErrorPages::new(|_req| Response::error(404))
///     .page(404, "text/html; charset=utf-8", "<h1>Nothing here</h1>");
/// # let _ = app;
/// ```
#[derive(Debug)]
pub struct ErrorPages<H> {
    inner: H,
    pages: Arc<Pages>,
}

/// Status → (Content-Type, body).
type Pages = HashMap<u16, (Bytes, Bytes)>;

impl<H: Handler> ErrorPages<H> {
    /// Wraps `inner` with no pages yet: replies pass unchanged.
    pub fn new(inner: H) -> Self {
        ErrorPages { inner, pages: Arc::default() }
    }

    /// Sends `body` with `content_type` for replies with `status` (400–599;
    /// other statuses are ignored). An invalid `content_type` makes those
    /// replies a 500, as [`Response::header`] does.
    pub fn page(mut self, status: u16, content_type: impl Into<Bytes>, body: impl Into<Bytes>) -> Self {
        if (400..=599).contains(&status) {
            Arc::make_mut(&mut self.pages).insert(status, (content_type.into(), body.into()));
        }
        self
    }
}

/// The reply with its body replaced when its status has a page.
fn restyle(pages: &Pages, response: Response) -> Response {
    let Some((content_type, body)) = pages.get(&response.status) else { return response };
    let mut response = response;
    response.headers.retain(|(name, _)| !BODY_HEADERS.iter().any(|h| name.eq_ignore_ascii_case(h.as_bytes())));
    response.header("Content-Type", content_type.clone()).body(Body::from(body.clone()))
}

impl<H: Handler> Handler for ErrorPages<H> {
    fn handle(&self, request: Request) -> Reply {
        match self.inner.handle(request) {
            Reply(ReplyKind::Now(response)) => restyle(&self.pages, response).into(),
            Reply(ReplyKind::Later { seq, pending }) => {
                let pages = self.pages.clone();
                pending.then_restyle(move |response| restyle(&pages, response));
                Reply(ReplyKind::Later { seq, pending })
            }
        }
    }

    fn before_body(&self, request: &Request) -> Option<Response> {
        self.inner.before_body(request).map(|response| restyle(&self.pages, response))
    }

    fn streams_body(&self, request: &Request) -> Option<crate::BodyLimit> {
        self.inner.streams_body(request)
    }
}
