//! `ErrorPages`: error replies get the configured body and Content-Type and
//! keep their status and other headers (a 401's challenge, a 405's Allow);
//! refusals made from the head and deferred replies get the page too; success
//! replies and statuses without a page pass unchanged.

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

    let r = c.round_trip("GET /later HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_eq!((r.status, r.text().as_str()), (404, "<h1>not here</h1>"), "a deferred reply, restyled on arrival");
    assert_eq!(r.header_count("content-type"), 1);
}

#[test]
fn a_refusal_decided_off_the_loop_gets_the_page() {
    // bcrypt runs on a verifier thread: the 401 is a deferred answer.
    let htpasswd = format!("alice:{}\n", bcrypt::hash("right", 4).unwrap());
    let auth = porter::BasicAuth::from_htpasswd_str("x", &htpasswd).unwrap();
    let server = serve(ErrorPages::new(auth.protect(|_req| Response::error(404))).page(401, "text/plain", "sign in\n"));
    let mut c = Client::connect(server.local_addr());
    let wrong = "Authorization: Basic YWxpY2U6d3Jvbmc=\r\n"; // alice:wrong
    let r = c.round_trip(format!("GET / HTTP/1.1\r\nHost: t\r\n{wrong}\r\n"));
    assert_eq!((r.status, r.text().as_str()), (401, "sign in\n"), "{}", r.head_text());
    assert_eq!(r.header("www-authenticate"), Some("Basic realm=\"x\", charset=\"UTF-8\""), "the challenge stays");
}

#[test]
fn other_replies_pass_unchanged() {
    let server = serve(app());
    let mut c = Client::connect(server.local_addr());
    let r = c.round_trip("GET /ok HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_eq!((r.status, r.text().as_str()), (200, "fine"), "no page for 200");
    let r = c.round_trip("GET /busy HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_eq!((r.status, r.text().as_str()), (503, "503 Service Unavailable\n"), "no page for 503");
    c.send("HEAD /missing HTTP/1.1\r\nHost: t\r\n\r\n");
    let r = c.read_head_reply();
    assert_eq!((r.status, r.header("content-length")), (404, Some("17")), "HEAD: the page's length, no body");
}

#[test]
fn a_deferred_answer_behind_a_costly_check_gets_the_inner_page() {
    // The inner handler defers again, off the loop, and answers at once
    // (before ErrorPages has even returned): its own page still applies.
    let inner = ErrorPages::new(|req: Request| {
        let (reply, responder) = req.defer();
        responder.respond(Response::error(404));
        reply
    })
    .page(404, "text/plain", "inner 404");
    let costly = |_req: &Request| porter::Check::costly(|_| porter::Check::user("u"));
    let server = serve(ErrorPages::new(porter::Protected::new(costly, inner)).page(500, "text/plain", "outer 500"));
    let mut c = Client::connect(server.local_addr());
    let r = c.round_trip("GET /x HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_eq!((r.status, r.text().as_str()), (404, "inner 404"), "{}", r.head_text());
    assert_eq!(r.header("content-type"), Some("text/plain"));
}

#[test]
fn pages_between_two_costly_checks_apply_too() {
    // Two costly checks deep, the handler defers and answers 404 at once; the
    // page of the ErrorPages between the two checks applies.
    let costly = |_req: &Request| porter::Check::costly(|_| porter::Check::user("u"));
    let deepest = |req: Request| {
        let (reply, responder) = req.defer();
        responder.respond(Response::error(404));
        reply
    };
    let middle = ErrorPages::new(porter::Protected::new(costly, deepest)).page(404, "text/plain", "middle 404");
    let server = serve(porter::Protected::new(costly, middle));
    let mut c = Client::connect(server.local_addr());
    for _ in 0..3 {
        let r = c.round_trip("GET /x HTTP/1.1\r\nHost: t\r\n\r\n");
        assert_eq!((r.status, r.text().as_str()), (404, "middle 404"), "{}", r.head_text());
    }
}
