//! `Router` and `OPTIONS` (RFC 9110 §9.3.7), over loopback with literal
//! request bytes: a known path lists its methods in `Allow` (`HEAD` with
//! `GET`, and `OPTIONS`), a route registered for `OPTIONS` answers instead,
//! an unknown path is `404`, and `OPTIONS *` lists the server's methods: the
//! routes' and those the fallback (here `Files`) gives for itself.

mod common;

use common::{serve, Client};
use porter::{Files, Request, Response, Router};

/// The reply head with its `Date` line blanked, to compare whole heads.
fn head_without_date(r: &common::Reply) -> String {
    r.head_text().lines().map(|l| if l.starts_with("Date: ") { "Date: -" } else { l }).collect::<Vec<_>>().join("\n")
}

fn api() -> Router {
    let ok = |_req: Request| Response::text("ok");
    Router::new()
        .get("/items", ok)
        .post("/items", ok)
        .delete("/items/:id", ok)
        .put("/items/:id", ok)
        .route("OPTIONS", "/cors", |_req| Response::new(200).header("Access-Control-Allow-Origin", "*"))
        .get("/cors", ok)
}

#[test]
fn options_on_a_known_path_lists_its_methods() {
    let server = serve(api());
    let mut c = Client::connect(server.local_addr());
    let r = c.round_trip("OPTIONS /items HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_eq!(
        head_without_date(&r),
        "HTTP/1.1 204 No Content\nServer: porter\nDate: -\nAllow: GET, HEAD, OPTIONS, POST\n",
        "{}",
        r.head_text()
    );
    assert!(r.body.is_empty());
    let r = c.round_trip("OPTIONS /items/42 HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_eq!((r.status, r.header("allow")), (204, Some("DELETE, OPTIONS, PUT")));
    // A body on OPTIONS is read and the connection goes on.
    let r =
        c.round_trip("OPTIONS /items HTTP/1.1\r\nHost: t\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nhi");
    assert_eq!(r.status, 204, "{}", r.head_text());
    let r = c.round_trip("OPTIONS /nowhere HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_eq!(r.status, 404, "{}", r.head_text());
    c.assert_alive("after OPTIONS");
}

#[test]
fn a_route_for_options_answers_instead() {
    let server = serve(api());
    let mut c = Client::connect(server.local_addr());
    let r = c.round_trip("OPTIONS /cors HTTP/1.1\r\nHost: t\r\nOrigin: http://a\r\n\r\n");
    assert_eq!(r.status, 200, "{}", r.head_text());
    assert_eq!(r.header("access-control-allow-origin"), Some("*"));
    // Its methods, for a 405, include the OPTIONS route.
    let r = c.round_trip("PUT /cors HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n");
    assert_eq!((r.status, r.header("allow")), (405, Some("GET, HEAD, OPTIONS")));
}

#[test]
fn options_asterisk_lists_the_routes_and_the_fallbacks_methods() {
    let dir = common::TempDir::new("router-options");
    std::fs::write(dir.path().join("index.html"), "hi").unwrap();
    let app = Router::new().post("/api/items", |_req| Response::text("made")).fallback(Files::new(dir.path()).unwrap());
    let server = serve(app);
    let mut c = Client::connect(server.local_addr());
    let r = c.round_trip("OPTIONS * HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_eq!(
        head_without_date(&r),
        "HTTP/1.1 204 No Content\nServer: porter\nDate: -\nAllow: GET, HEAD, OPTIONS, POST\n",
        "{}",
        r.head_text()
    );
    // A path only the fallback knows is the fallback's to describe.
    let r = c.round_trip("OPTIONS /index.html HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_eq!((r.status, r.header("allow")), (204, Some("GET, HEAD, OPTIONS")));
}

#[test]
fn options_asterisk_without_an_answer_from_the_fallback_lists_the_routes() {
    let app = Router::new()
        .get("/", |_req| Response::text("home"))
        .put("/doc", |_req| Response::text("put"))
        .fallback(|_req| Response::error(404));
    let server = serve(app);
    let mut c = Client::connect(server.local_addr());
    let r = c.round_trip("OPTIONS * HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_eq!((r.status, r.header("allow")), (204, Some("GET, HEAD, OPTIONS, PUT")), "{}", r.head_text());
    assert_eq!(c.round_trip("GET /other HTTP/1.1\r\nHost: t\r\n\r\n").status, 404, "the fallback still answers");
}

#[test]
fn options_asterisk_is_the_same_however_a_protected_fallback_decides() {
    use porter::{Check, Protected};
    // The fallback names PUT for the server; the check lets `X-Key: k` in.
    let fallback = |_req: Request| Response::new(204).header("Allow", "PUT");
    let verdict = |req: &Request| match req.header("x-key") {
        Some("k") => Check::user("u"),
        _ => Check::Refuse(Response::error(401)),
    };
    let cheap = move |req: &Request| verdict(req);
    let costly = move |req: &Request| {
        let verdict = verdict(req);
        Check::costly(move |_| verdict)
    };
    let cheap_app = Router::new().get("/a", |_req| Response::text("a")).fallback(Protected::new(cheap, fallback));
    let costly_app = Router::new().get("/a", |_req| Response::text("a")).fallback(Protected::new(costly, fallback));
    for (name, server) in [("cheap", serve(cheap_app)), ("costly", serve(costly_app))] {
        let mut c = Client::connect(server.local_addr());
        let r = c.round_trip("OPTIONS * HTTP/1.1\r\nHost: t\r\nX-Key: k\r\n\r\n");
        assert_eq!((r.status, r.header("allow")), (204, Some("GET, HEAD, OPTIONS, PUT")), "{name}: {}", r.head_text());
        // Refused by the fallback: the routes' methods alone.
        let r = c.round_trip("OPTIONS * HTTP/1.1\r\nHost: t\r\n\r\n");
        assert_eq!((r.status, r.header("allow")), (204, Some("GET, HEAD, OPTIONS")), "{name}: {}", r.head_text());
    }
}
