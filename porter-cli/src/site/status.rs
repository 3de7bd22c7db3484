//! Fixed replies: `status = { code = 200, body = "ok\n", content_type = "text/plain" }`,
//! for health checks and placeholders. Answered from the request head, so a
//! request body is never read; `HEAD` gets the same head without the body.
//!
//! A health check (`health = true`) answers `503 Service Unavailable` instead
//! while porter drains (from SIGTERM on, through its `drain_delay`, RFC 9110
//! §15.6.4): the load balancer then takes porter out of rotation before it
//! stops accepting.

use bytes::Bytes;
use porter::{Handler, Reply, Request, Response};

/// A location that always answers the same.
#[derive(Debug)]
pub struct Status {
    pub code: u16,
    pub body: Bytes,
    pub content_type: Bytes,
    /// A health check: 503 while porter drains.
    pub health: bool,
}

impl Status {
    fn respond(&self, request: &Request) -> Response {
        if self.health && request.is_draining() {
            return Response::new(503).header("Content-Type", "text/plain").body("draining\n");
        }
        let response = Response::new(self.code);
        // RFC 9110 §15.3.5, §15.4.5: 204 and 304 have no body (validation refuses one).
        if self.body.is_empty() {
            return response;
        }
        response.header("Content-Type", self.content_type.clone()).body(self.body.clone())
    }
}

impl Handler for Status {
    fn handle(&self, request: Request) -> Reply {
        self.respond(&request).into()
    }

    fn before_body(&self, request: &Request) -> Option<Response> {
        Some(self.respond(request))
    }
}
