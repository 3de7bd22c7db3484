//! Fixed replies: `status = { code = 200, body = "ok\n", content_type = "text/plain" }`,
//! for health checks and placeholders. Answered from the request head, so a
//! request body is never read; `HEAD` gets the same head without the body.
//!
//! While porter drains (from SIGTERM on, through its `drain_delay`), a
//! location configured with a success code answers `503 Service Unavailable`
//! instead (RFC 9110 §15.6.4): a load balancer's health check then takes porter
//! out of rotation before it stops accepting.

use bytes::Bytes;
use porter::{Handler, Reply, Request, Response};

/// A location that always answers the same.
#[derive(Debug)]
pub struct Status {
    pub code: u16,
    pub body: Bytes,
    pub content_type: Bytes,
}

impl Status {
    fn respond(&self, request: &Request) -> Response {
        if request.is_draining() && (200..300).contains(&self.code) {
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
