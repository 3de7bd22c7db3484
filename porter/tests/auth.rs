//! HTTP Basic authentication (RFC 7617) and the authenticator hook, over
//! loopback with literal request bytes: success, failure, missing and
//! malformed credentials, an upload refused from its head, path prefixes,
//! callbacks, a bearer-token authenticator, weak htpasswd formats refused, and
//! no password in the logs (a capturing logger sees every record).

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use base64::Engine;
use common::{serve, Client};
use porter::{BasicAuth, Protected, Request, Response, Router};

const CHALLENGE: &str = "Basic realm=\"staff\", charset=\"UTF-8\"";

fn basic(user_pass: &str) -> String {
    format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(user_pass))
}

/// An htpasswd text with bcrypt (cost 4: fast tests) entries.
fn htpasswd() -> String {
    let alice = bcrypt::hash("wonderland", 4).unwrap();
    let bob = bcrypt::hash("pä55wörd", 4).unwrap();
    format!("# staff\nalice:{alice}\n\nbob:{bob}\n")
}

fn staff() -> BasicAuth {
    BasicAuth::from_htpasswd_str("staff", &htpasswd()).unwrap()
}

fn get(c: &mut Client, path: &str, authorization: Option<&str>) -> common::Reply {
    let auth = authorization.map_or(String::new(), |a| format!("Authorization: {a}\r\n"));
    c.round_trip(format!("GET {path} HTTP/1.1\r\nHost: t\r\n{auth}\r\n"))
}

fn assert_refused(r: &common::Reply, context: &str) {
    assert_eq!(r.status, 401, "{context}: {}", r.head_text());
    assert_eq!(r.header("www-authenticate"), Some(CHALLENGE), "{context}");
}

#[test]
fn right_credentials_pass_and_wrong_ones_get_401_with_the_challenge() {
    let server = serve(staff().protect(|req: Request| Response::text(format!("hi {}", req.path()))));
    let mut c = Client::connect(server.local_addr());
    for _ in 0..3 {
        // The later rounds come from the cache of successful checks.
        let r = get(&mut c, "/x", Some(&basic("alice:wonderland")));
        assert_eq!(r.status, 200, "{}", r.head_text());
        assert_eq!(r.text(), "hi /x");
    }
    assert_eq!(get(&mut c, "/", Some(&basic("bob:pä55wörd"))).status, 200, "UTF-8 password");
    assert_refused(&get(&mut c, "/", Some(&basic("alice:wrong"))), "wrong password");
    assert_refused(&get(&mut c, "/", Some(&basic("alice:wonderlan"))), "prefix of the password");
    assert_refused(&get(&mut c, "/", Some(&basic("mallory:wonderland"))), "unknown user");
    assert_refused(&get(&mut c, "/", Some(&basic("bob:wonderland"))), "another user's password");
    // The connection survives refusals.
    assert_eq!(get(&mut c, "/", Some(&basic("alice:wonderland"))).status, 200);
}

#[test]
fn missing_and_malformed_credentials_get_401() {
    let server = serve(staff().protect(|_req| Response::text("secret")));
    let mut c = Client::connect(server.local_addr());
    assert_refused(&get(&mut c, "/", None), "no Authorization");
    let token = base64::engine::general_purpose::STANDARD.encode("alice:wonderland");
    for bad in [
        "Basic".to_string(),
        "Basic ".to_string(),
        "Basic not*base64".to_string(),
        format!("Bearer {token}"),
        format!("Digest {token}"),
        basic("alice"),                 // no colon
        basic("alice:wonder\u{1}land"), // control character
        format!("Basic {token}====="),
    ] {
        assert_refused(&get(&mut c, "/", Some(&bad)), &bad);
    }
    // The scheme is case-insensitive (RFC 9110 §11.1).
    assert_eq!(get(&mut c, "/", Some(&format!("bAsIc {token}"))).status, 200);
}

#[test]
fn an_unauthenticated_upload_is_refused_from_its_head() {
    let calls = Arc::new(AtomicUsize::new(0));
    let seen = calls.clone();
    let server = serve(staff().protect(move |mut req: Request| {
        seen.fetch_add(1, Ordering::SeqCst);
        Response::text(format!("{} bytes", req.take_body().len()))
    }));
    let mut c = Client::connect(server.local_addr());
    // Expect: 100-continue: a refused client is never told to send its body.
    c.send("POST /up HTTP/1.1\r\nHost: t\r\nContent-Length: 1000000\r\nExpect: 100-continue\r\n\r\n");
    let r = c.read_reply();
    assert_refused(&r, "upload without credentials");
    assert_eq!(calls.load(Ordering::SeqCst), 0);
    // With credentials the body is read and the handler runs.
    let mut c = Client::connect(server.local_addr());
    let auth = basic("alice:wonderland");
    c.send(format!("POST /up HTTP/1.1\r\nHost: t\r\nAuthorization: {auth}\r\nContent-Length: 5\r\n\r\nhello"));
    let r = c.read_reply();
    assert_eq!((r.status, r.text()), (200, "5 bytes".to_string()));
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

#[test]
fn a_prefix_is_protected_and_the_rest_is_public() {
    let app = Router::new().get("/*rest", |req: Request| Response::text(req.path().to_string()));
    let server = serve(Protected::new(staff(), app).under("/admin/"));
    let mut c = Client::connect(server.local_addr());
    assert_eq!(get(&mut c, "/public", None).status, 200);
    assert_eq!(get(&mut c, "/administrator", None).status, 200, "not under /admin");
    assert_refused(&get(&mut c, "/admin", None), "/admin");
    assert_refused(&get(&mut c, "/admin/users", None), "/admin/users");
    assert_eq!(get(&mut c, "/admin/users", Some(&basic("alice:wonderland"))).text(), "/admin/users");
    // Other spellings of the same path (what Files would serve) are protected too.
    for spelling in ["/%61dmin/users", "//admin/users", "/x/../admin/users", "/admin/./users"] {
        assert_refused(&get(&mut c, spelling, None), spelling);
    }
}

#[test]
fn a_route_is_protected_through_the_router() {
    let app = Router::new()
        .get("/", |_req| Response::text("public"))
        .get("/secret", Protected::new(staff(), |_req| Response::text("secret")));
    let server = serve(app);
    let mut c = Client::connect(server.local_addr());
    assert_eq!(get(&mut c, "/", None).text(), "public");
    assert_refused(&get(&mut c, "/secret", None), "protected route");
    assert_eq!(get(&mut c, "/secret", Some(&basic("alice:wonderland"))).text(), "secret");
}

#[test]
fn credentials_from_a_callback() {
    let auth = BasicAuth::with_callback("staff", |user, password| user == "svc" && password == "token-123");
    let server = serve(auth.protect(|_req| Response::text("ok")));
    let mut c = Client::connect(server.local_addr());
    assert_eq!(get(&mut c, "/", Some(&basic("svc:token-123"))).status, 200);
    assert_refused(&get(&mut c, "/", Some(&basic("svc:token-124"))), "callback said no");
}

#[test]
fn another_scheme_through_the_hook() {
    // A bearer-token authenticator is a closure (RFC 6750 §3 for its challenge).
    let bearer = |req: &Request| match req.header("authorization") {
        Some("Bearer let-me-in") => Ok(()),
        _ => Err(Response::error(401).header("WWW-Authenticate", "Bearer realm=\"api\"")),
    };
    let server = serve(Protected::new(bearer, |_req| Response::text("api")));
    let mut c = Client::connect(server.local_addr());
    assert_eq!(get(&mut c, "/", Some("Bearer let-me-in")).text(), "api");
    let r = get(&mut c, "/", Some("Bearer nope"));
    assert_eq!(r.status, 401);
    assert_eq!(r.header("www-authenticate"), Some("Bearer realm=\"api\""));
}

#[test]
fn weak_htpasswd_formats_are_refused_when_loaded() {
    let dir = common::TempDir::new("htpasswd");
    let path = dir.path().join("htpasswd");
    std::fs::write(&path, format!("{}carol:{{SHA}}W6ph5Mm5Pz8GgiULbPgzG37mj9g=\n", htpasswd())).unwrap();
    let err = BasicAuth::from_htpasswd("x", &path).unwrap_err().to_string();
    assert!(err.contains("line 5") && err.contains("{SHA}") && err.contains("carol"), "{err}");
    std::fs::write(&path, htpasswd()).unwrap();
    assert!(BasicAuth::from_htpasswd("x", &path).is_ok());
}

#[test]
fn a_wrong_password_is_never_logged() {
    let records = common::logs::captured();
    let server = common::serve_threads(1, porter::Limits::default(), staff().protect(|_req| Response::text("ok")));
    let mut c = Client::connect(server.local_addr());
    let secret = "Tr0ub4dor-wrong-guess";
    assert_refused(&get(&mut c, "/", Some(&basic(&format!("alice:{secret}")))), "wrong password");
    drop(server);
    let records = records.lock().unwrap();
    assert!(records.iter().any(|r| r.contains("basic auth")), "the refusal is logged: {records:?}");
    let encoded = base64::engine::general_purpose::STANDARD.encode(format!("alice:{secret}"));
    for r in records.iter() {
        assert!(!r.contains(secret) && !r.contains(&encoded), "a log record holds the password: {r}");
    }
}
