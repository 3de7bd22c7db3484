//! `ErrorPages`: error replies get the configured body and Content-Type and
//! keep their status and other headers (a 401's challenge, a 405's Allow);
//! refusals made from the head get the page too; success replies, statuses
//! without a page and deferred replies pass unchanged.

mod common;

use common::{serve, Client};
use porter::{ErrorPages, Request, Response, Router};

fn app() -> ErrorPages<Router> {
    let router = Router::new()
        .get("/ok", |_req| Response::text("fine"))
        .get("/private", |_req| {
            Response::error(401).header("WWW-Authenticate", "Basic realm=\"x\"").header("ETag", "\"e\"")
        })
        .get("/busy", |_req| Response::error(503))
        .get("/later", |req: Request| {
            let (reply, responder) = req.defer();
            responder.respond(Response::error(404));
            reply
        });
    ErrorPages::new(router)
        .page(404, "text/html; charset=utf-8", "<h1>not here</h1>")
        .page(401, "text/html; charset=utf-8", "<h1>sign in</h1>")
        .page(405, "text/plain", "wrong method\n")
        .page(200, "text/plain", "ignored: not an error status")
}

#[test]
fn error_replies_get_the_page_and_keep_status_and_headers() {
    let server = serve(app());
    let mut c = Client::connect(server.local_addr());

    let r = c.round_trip("GET /missing HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_eq!((r.status, r.text().as_str()), (404, "<h1>not here</h1>"), "the router's 404, from the head");
    assert_eq!(r.header("content-type"), Some("text/html; charset=utf-8"));
    assert_eq!(r.header_count("content-type"), 1);

    let r = c.round_trip("GET /private HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_eq!((r.status, r.text().as_str()), (401, "<h1>sign in</h1>"));
    assert_eq!(r.header("www-authenticate"), Some("Basic realm=\"x\""), "the challenge stays");
    assert_eq!(r.header("etag"), None, "validators of the replaced body go");

    let r = c.round_trip("POST /ok HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n");
    assert_eq!((r.status, r.text().as_str()), (405, "wrong method\n"));
    assert!(r.header("allow").is_some_and(|a| a.contains("GET")), "Allow stays: {}", r.head_text());
}

#[test]
fn other_replies_pass_unchanged() {
    let server = serve(app());
    let mut c = Client::connect(server.local_addr());
    let r = c.round_trip("GET /ok HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_eq!((r.status, r.text().as_str()), (200, "fine"), "no page for 200");
    let r = c.round_trip("GET /busy HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_eq!((r.status, r.text().as_str()), (503, "503 Service Unavailable\n"), "no page for 503");
    let r = c.round_trip("GET /later HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_eq!((r.status, r.text().as_str()), (404, "404 Not Found\n"), "a deferred reply is the responder's");
    c.send("HEAD /missing HTTP/1.1\r\nHost: t\r\n\r\n");
    let r = c.read_head_reply();
    assert_eq!((r.status, r.header("content-length")), (404, Some("17")), "HEAD: the page's length, no body");
}
