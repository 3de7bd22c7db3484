//! HTTP Basic authentication (RFC 7617) and the authenticator hook, over
//! loopback with literal request bytes: success, failure, missing and
//! malformed credentials, an upload refused from its head, path prefixes,
//! callbacks, a bearer-token authenticator, weak htpasswd formats refused, and
//! no password in the logs (a capturing logger sees every record).

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};

use base64::Engine;
use common::{serve, Client};
use porter::{Authenticator, BasicAuth, Check, Protected, Request, Response, Router};

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
    // A bcrypt prefix on a hash that is not one: refused now, not at each login.
    std::fs::write(&path, format!("{}carol:$2y$junk\n", htpasswd())).unwrap();
    let err = BasicAuth::from_htpasswd("x", &path).unwrap_err().to_string();
    assert!(err.contains("line 5") && err.contains("malformed") && err.contains("carol"), "{err}");
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

/// An authenticator whose check is costly and waits for the test: its job says
/// when it starts (with the request's path) and accepts or refuses when the
/// test releases it. It also reports a cancelled check's path.
#[derive(Clone)]
struct Gate(Arc<GateState>);

struct GateState {
    started: Mutex<mpsc::Sender<String>>,
    release: Mutex<mpsc::Receiver<bool>>,
    cancelled: Mutex<mpsc::Sender<String>>,
}

/// The test's side of a [`Gate`].
struct GateControl {
    started: mpsc::Receiver<String>,
    release: mpsc::Sender<bool>,
    cancelled: mpsc::Receiver<String>,
}

impl GateControl {
    fn wait_started(&self) -> String {
        self.started.recv_timeout(common::SAFETY_TIMEOUT).expect("a costly check starts")
    }
}

fn gate() -> (Gate, GateControl) {
    let (started_tx, started) = mpsc::channel();
    let (release, release_rx) = mpsc::channel();
    let (cancelled_tx, cancelled) = mpsc::channel();
    let state = GateState {
        started: Mutex::new(started_tx),
        release: Mutex::new(release_rx),
        cancelled: Mutex::new(cancelled_tx),
    };
    (Gate(Arc::new(state)), GateControl { started, release, cancelled })
}

impl Authenticator for Gate {
    fn check(&self, request: &Request) -> Check {
        let (gate, path) = (self.0.clone(), request.path().to_string());
        Check::costly(move |verifying| {
            let on_cancel = gate.cancelled.lock().unwrap().clone();
            let cancelled_path = path.clone();
            verifying.on_cancel(move || drop(on_cancel.send(cancelled_path)));
            let _ = gate.started.lock().unwrap().send(path);
            // The timeout only keeps a failed test from leaving the thread stuck.
            match gate.release.lock().unwrap().recv_timeout(common::SAFETY_TIMEOUT * 3) {
                Ok(true) => Check::user("gatekeeper"),
                _ => Check::Refuse(Response::error(401)),
            }
        })
    }
}

#[test]
fn a_costly_check_does_not_hold_up_the_loop() {
    let (gate, control) = gate();
    let app = Router::new()
        .get("/slow", Protected::new(gate, |_req| Response::text("slow")))
        .get("/fast", |_req| Response::text("fast"));
    let server = serve(app); // one loop thread
    let mut slow = Client::connect(server.local_addr());
    slow.send("GET /slow HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_eq!(control.wait_started(), "/slow");
    // The check is in progress; another client of the same loop is served.
    let mut fast = Client::connect(server.local_addr());
    let r = get(&mut fast, "/fast", None);
    assert_eq!((r.status, r.text()), (200, "fast".to_string()));
    control.release.send(true).unwrap();
    let r = slow.read_reply();
    assert_eq!((r.status, r.text()), (200, "slow".to_string()));
    slow.assert_alive("after a costly check");
}

#[test]
fn pipelined_replies_keep_their_order_around_a_costly_check() {
    let (gate, control) = gate();
    let app = Router::new()
        .get("/slow", Protected::new(gate, |_req| Response::text("slow")))
        .get("/fast", |_req| Response::text("fast"));
    let server = serve(app);
    let mut c = Client::connect(server.local_addr());
    c.send("GET /slow HTTP/1.1\r\nHost: t\r\n\r\nGET /fast HTTP/1.1\r\nHost: t\r\n\r\n");
    control.wait_started();
    control.release.send(false).unwrap();
    let replies = c.read_replies(2);
    assert_eq!(replies[0].status, 401, "{}", replies[0].head_text());
    assert_eq!((replies[1].status, replies[1].text()), (200, "fast".to_string()));
}

#[test]
fn a_check_is_cancelled_when_its_client_leaves() {
    let (gate, control) = gate();
    let handled = Arc::new(AtomicUsize::new(0));
    let seen = handled.clone();
    let app = Protected::new(gate, move |req: Request| {
        seen.fetch_add(1, Ordering::SeqCst);
        Response::text(req.path().to_string())
    })
    .verifiers(1, 4);
    let server = serve(app);
    let mut leaving = Client::connect(server.local_addr());
    leaving.send("GET /leaving HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_eq!(control.wait_started(), "/leaving");
    drop(leaving);
    let cancelled = control.cancelled.recv_timeout(common::SAFETY_TIMEOUT).expect("the check is cancelled");
    assert_eq!(cancelled, "/leaving");
    // Accepted after its client left: the handler must not run for it.
    control.release.send(true).unwrap();
    // One verifier thread: the next check starts once the cancelled one is done.
    let mut next = Client::connect(server.local_addr());
    next.send("GET /next HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_eq!(control.wait_started(), "/next");
    control.release.send(true).unwrap();
    assert_eq!(next.read_reply().text(), "/next");
    assert_eq!(handled.load(Ordering::SeqCst), 1, "the handler ran only for the client still there");
}

/// A callback verifier that counts its calls; `gate:...` blocks until released.
fn counted_callback(calls: &Arc<AtomicUsize>, control: Option<(mpsc::Sender<()>, mpsc::Receiver<()>)>) -> BasicAuth {
    let calls = calls.clone();
    let control = control.map(|(started, release)| (Mutex::new(started), Mutex::new(release)));
    BasicAuth::with_callback("staff", move |user, password| {
        calls.fetch_add(1, Ordering::SeqCst);
        if let (Some((started, release)), "gate") = (&control, user) {
            started.lock().unwrap().send(()).unwrap();
            let _ = release.lock().unwrap().recv_timeout(common::SAFETY_TIMEOUT * 3);
        }
        password == "right"
    })
    .cache(16)
}

#[test]
fn a_verified_password_is_remembered_and_a_wrong_one_is_checked_every_time() {
    let calls = Arc::new(AtomicUsize::new(0));
    let server = serve(counted_callback(&calls, None).protect(|_req| Response::text("ok")));
    let mut c = Client::connect(server.local_addr());
    for round in 1..=3 {
        assert_eq!(get(&mut c, "/", Some(&basic("alice:right"))).status, 200);
        assert_eq!(calls.load(Ordering::SeqCst), 1, "round {round}: verified once, then from the cache");
    }
    for round in 1..=3 {
        assert_refused(&get(&mut c, "/", Some(&basic("alice:wrong"))), "wrong password");
        assert_eq!(calls.load(Ordering::SeqCst), 1 + round, "a failure is never remembered");
    }
    assert_eq!(get(&mut c, "/", Some(&basic("alice:right"))).status, 200);
    assert_refused(&get(&mut c, "/", Some(&basic("bob:right2"))), "another user");
    assert_eq!(calls.load(Ordering::SeqCst), 5);
}

#[test]
fn a_full_queue_answers_503_and_remembered_credentials_still_pass() {
    let calls = Arc::new(AtomicUsize::new(0));
    let (started_tx, started) = mpsc::channel();
    let (release, release_rx) = mpsc::channel();
    let basic_auth = counted_callback(&calls, Some((started_tx, release_rx)));
    // Says when the loop has handed `/queued` over (submitting follows the
    // check on the loop thread, before it reads anything else).
    let (seen_tx, seen) = mpsc::channel();
    let seen_tx = Mutex::new(seen_tx);
    let auth = move |req: &Request| {
        let check = basic_auth.check(req);
        if req.path() == "/queued" {
            seen_tx.lock().unwrap().send(()).unwrap();
        }
        check
    };
    let server = serve(Protected::new(auth, |_req| Response::text("ok")).verifiers(1, 1));
    let mut c = Client::connect(server.local_addr());
    assert_eq!(get(&mut c, "/", Some(&basic("alice:right"))).status, 200, "verified and remembered");
    // The only verifier is busy, and one more check fills the queue.
    let mut busy = Client::connect(server.local_addr());
    busy.send(format!("GET / HTTP/1.1\r\nHost: t\r\nAuthorization: {}\r\n\r\n", basic("gate:x")));
    started.recv_timeout(common::SAFETY_TIMEOUT).expect("the verifier is busy");
    let mut queued = Client::connect(server.local_addr());
    queued.send(format!("GET /queued HTTP/1.1\r\nHost: t\r\nAuthorization: {}\r\n\r\n", basic("alice:wrong")));
    seen.recv_timeout(common::SAFETY_TIMEOUT).expect("the loop checks /queued");
    // No room left: refused at once, not queued.
    let r = get(&mut c, "/", Some(&basic("bob:wrong")));
    assert_eq!(r.status, 503, "{}", r.head_text());
    // A remembered credential needs no verifier.
    assert_eq!(get(&mut c, "/", Some(&basic("alice:right"))).status, 200);
    release.send(()).unwrap();
    assert_refused(&busy.read_reply(), "gate:x");
    assert_refused(&queued.read_reply(), "queued wrong password");
    assert_eq!(calls.load(Ordering::SeqCst), 3, "alice once, gate, the queued one; never the refused or cached");
}

#[test]
fn any_authenticator_names_the_user_in_the_access_log() {
    let dir = common::TempDir::new("auth-user");
    let path = dir.path().join("access.log");
    let (gate, control) = gate();
    // A scheme of the test's own: a closure that names its user, on the loop.
    let token = |req: &Request| match req.header("x-token") {
        Some("c4rol") => Ok("carol".to_string()),
        _ => Err(Response::error(401)),
    };
    let app = Router::new()
        .get("/token", Protected::new(token, |_req| Response::text("token")))
        .get("/gate", Protected::new(gate, |_req| Response::text("gate")));
    let server = serve_logging_to(&path, app);
    let mut c = Client::connect(server.local_addr());
    assert_eq!(c.round_trip("GET /token HTTP/1.1\r\nHost: t\r\nX-Token: c4rol\r\n\r\n").status, 200);
    assert_eq!(c.round_trip("GET /token HTTP/1.1\r\nHost: t\r\nX-Token: nope\r\n\r\n").status, 401);
    c.send("GET /gate HTTP/1.1\r\nHost: t\r\n\r\n");
    control.wait_started();
    control.release.send(true).unwrap(); // accepted off the loop, as "gatekeeper"
    assert_eq!(c.read_reply().status, 200);
    drop(c);
    server.shutdown(std::time::Duration::from_secs(5)).expect("shutdown");
    assert_logged_users(&path, &["carol", "-", "gatekeeper"]);
}

#[test]
fn a_streamed_upload_is_not_read_before_a_costly_check_accepts() {
    use std::io::Read;
    let (gate, control) = gate();
    let count = |mut req: Request| {
        let (reply, responder) = req.defer();
        let mut body = req.body_reader();
        std::thread::spawn(move || {
            let mut data = Vec::new();
            let answer = match body.read_to_end(&mut data) {
                Ok(n) => Response::text(format!("{n} bytes")),
                Err(_) => Response::error(400),
            };
            responder.respond(answer);
        });
        reply
    };
    let server = serve(Protected::new(gate, porter::stream_body(count)));
    let upload = "POST /up HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n";
    // Refused: no 100 Continue, the body is never asked for.
    let mut refused = Client::connect(server.local_addr());
    refused.send(upload);
    control.wait_started();
    control.release.send(false).unwrap();
    assert_eq!(refused.read_reply().status, 401);
    // Accepted: only then does the handler read, and 100 Continue go out.
    let mut accepted = Client::connect(server.local_addr());
    accepted.send(upload);
    control.wait_started();
    control.release.send(true).unwrap();
    assert_eq!(accepted.read_reply().status, 100);
    accepted.send("hello");
    let r = accepted.read_reply();
    assert_eq!((r.status, r.text()), (200, "5 bytes".to_string()));
}

/// An inner handler that refuses uploads from their head (`413`) and counts
/// the requests it handles.
struct NoUploads(Arc<AtomicUsize>);

impl porter::Handler for NoUploads {
    fn handle(&self, _request: Request) -> porter::Reply {
        self.0.fetch_add(1, Ordering::SeqCst);
        Response::text("handled").into()
    }

    fn before_body(&self, request: &Request) -> Option<Response> {
        (request.method() == "POST").then(|| Response::error(413))
    }
}

/// Accepts off the loop (as `"u"`), or refuses `/refused`.
fn costly(request: &Request) -> Check {
    let refuse = request.path() == "/refused";
    Check::costly(move |_| if refuse { Check::Refuse(Response::error(401)) } else { Check::user("u") })
}

#[test]
fn the_inner_before_body_is_asked_once_a_costly_check_accepts() {
    let handled = Arc::new(AtomicUsize::new(0));
    let server = serve(Protected::new(costly, NoUploads(handled.clone())));
    let mut c = Client::connect(server.local_addr());
    let upload = |path: &str| format!("POST {path} HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\nabc");
    let r = c.round_trip(upload("/x"));
    assert_eq!(r.status, 413, "the inner refusal: {}", r.head_text());
    assert_eq!(handled.load(Ordering::SeqCst), 0, "a request the inner handler refuses is never handled");
    // A refused client learns nothing of the inner handler.
    assert_eq!(c.round_trip(upload("/refused")).status, 401);
    assert_eq!(c.round_trip("GET /x HTTP/1.1\r\nHost: t\r\n\r\n").text(), "handled");
    assert_eq!(handled.load(Ordering::SeqCst), 1);
}

#[test]
fn a_check_forgets_its_cancellation_callback_when_it_returns() {
    // The first job's callback holds a value that says when it is dropped;
    // the next job (of the same check) looks whether it was.
    struct SaysDropped(mpsc::Sender<()>);
    impl Drop for SaysDropped {
        fn drop(&mut self) {
            let _ = self.0.send(());
        }
    }
    let (dropped_tx, dropped) = mpsc::channel();
    let (dropped_tx, dropped) = (Mutex::new(dropped_tx), Arc::new(Mutex::new(dropped)));
    let auth = move |_req: &Request| {
        let says = SaysDropped(dropped_tx.lock().unwrap().clone());
        let dropped = dropped.clone();
        Check::costly(move |verifying| {
            verifying.on_cancel(move || drop(says));
            Check::costly(move |_| match dropped.lock().unwrap().try_recv() {
                Ok(()) => Check::user("u"),
                Err(_) => Check::Refuse(Response::error(409)), // still registered: may fire later
            })
        })
    };
    let server = serve(Protected::new(auth, |_req| Response::text("ok")));
    let mut c = Client::connect(server.local_addr());
    let r = get(&mut c, "/", None);
    assert_eq!(r.status, 200, "the first job's callback outlived it: {}", r.head_text());
}

/// Panics when dropped.
struct PanicsOnDrop;

impl Drop for PanicsOnDrop {
    fn drop(&mut self) {
        panic!("a value dropped by porter panics (expected by the test)");
    }
}

#[test]
fn a_panic_anywhere_in_a_costly_task_spares_its_verifier() {
    // `/leave`: the first job waits until its client has left, then chains a
    // job holding a value that panics when dropped; the task, seeing the
    // client gone, drops that job unrun. The only verifier must live on.
    let (left_tx, left) = mpsc::channel::<()>();
    let left = Arc::new(Mutex::new(left));
    let (waiting_tx, waiting) = mpsc::channel::<()>();
    let waiting_tx = Mutex::new(waiting_tx);
    let auth = move |req: &Request| {
        if req.path() != "/leave" {
            return Check::costly(|_| Check::user("u"));
        }
        let (left, waiting) = (left.clone(), waiting_tx.lock().unwrap().clone());
        let left_tx = Mutex::new(left_tx.clone());
        Check::costly(move |verifying| {
            verifying.on_cancel(move || {
                let _ = left_tx.lock().unwrap().send(());
            });
            waiting.send(()).unwrap();
            let _ = left.lock().unwrap().recv_timeout(common::SAFETY_TIMEOUT);
            let bomb = PanicsOnDrop;
            Check::costly(move |_| {
                let _bomb = &bomb;
                Check::user("u")
            })
        })
    };
    let server = serve(Protected::new(auth, |_req| Response::text("ok")).verifiers(1, 4));
    let mut leaving = Client::connect(server.local_addr());
    leaving.send("GET /leave HTTP/1.1\r\nHost: t\r\n\r\n");
    waiting.recv_timeout(common::SAFETY_TIMEOUT).expect("the first job runs");
    drop(leaving);
    let mut c = Client::connect(server.local_addr());
    let r = get(&mut c, "/next", None);
    assert_eq!((r.status, r.text()), (200, "ok".to_string()), "the verifier thread lives on");
}

#[test]
fn a_user_accepted_inside_a_costly_check_is_logged() {
    let dir = common::TempDir::new("auth-inner-user");
    let path = dir.path().join("access.log");
    let anonymous = |_req: &Request| Check::costly(|_| Check::Accept(None));
    let named = |name: &'static str| move |_req: &Request| Check::costly(move |_| Check::user(name));
    let cheap = |_req: &Request| Check::user("cheap");
    let app = Router::new()
        .get("/costly", Protected::new(anonymous, Protected::new(named("inner"), |_req| Response::text("ok"))))
        .get("/cheap", Protected::new(anonymous, Protected::new(cheap, |_req| Response::text("ok"))))
        .get("/both", Protected::new(named("outer"), Protected::new(cheap, |_req| Response::text("ok"))));
    let server = serve_logging_to(&path, app);
    let mut c = Client::connect(server.local_addr());
    for path in ["/costly", "/cheap", "/both"] {
        assert_eq!(get(&mut c, path, None).status, 200, "{path}");
    }
    drop(c);
    server.shutdown(std::time::Duration::from_secs(5)).expect("shutdown");
    assert_logged_users(&path, &["inner", "cheap", "outer"]);
}

#[test]
fn a_wrapper_authenticator_chains_onto_a_costly_verdict() {
    // Any user with the right password passes BasicAuth; the wrapper lets only
    // alice in, whether the verdict comes off the loop or from the cache.
    let passwords = BasicAuth::with_callback("staff", |_user, password| password == "right").cache(16);
    let alice_only = move |req: &Request| {
        passwords.check(req).map(|verdict| match verdict {
            Check::Accept(Some(user)) if user == "alice" => Check::user(format!("{user} (admin)")),
            Check::Accept(_) => Check::Refuse(Response::error(403)),
            other => other,
        })
    };
    let server = serve(Protected::new(alice_only, |_req| Response::text("admin")));
    let mut c = Client::connect(server.local_addr());
    for round in ["verified", "remembered"] {
        assert_eq!(get(&mut c, "/", Some(&basic("alice:right"))).text(), "admin", "{round}");
        assert_eq!(get(&mut c, "/", Some(&basic("bob:right"))).status, 403, "{round}");
        assert_refused(&get(&mut c, "/", Some(&basic("alice:wrong"))), round);
    }
}

#[test]
fn a_remembered_callback_verdict_expires_with_its_ttl() {
    // The callback stops accepting the password (revoked); a remembered
    // success is trusted for its TTL only (zero here: the test needs no clock).
    for (ttl, after_revoking) in [(None, 200), (Some(std::time::Duration::ZERO), 401)] {
        let accepting = Arc::new(std::sync::atomic::AtomicBool::new(true));
        let flag = accepting.clone();
        let auth = BasicAuth::with_callback("staff", move |_user, _password| flag.load(Ordering::SeqCst)).cache(16);
        let auth = match ttl {
            Some(ttl) => auth.cache_for(ttl),
            None => auth, // the default: five minutes
        };
        let server = serve(auth.protect(|_req| Response::text("ok")));
        let mut c = Client::connect(server.local_addr());
        assert_eq!(get(&mut c, "/", Some(&basic("alice:pw"))).status, 200);
        accepting.store(false, Ordering::SeqCst);
        let r = get(&mut c, "/", Some(&basic("alice:pw")));
        assert_eq!(r.status, after_revoking, "ttl {ttl:?}: {}", r.head_text());
    }
}

/// Asserts the `%u` field (the third) of each line of the access log at `path`.
fn assert_logged_users(path: &std::path::Path, want: &[&str]) {
    let log = std::fs::read_to_string(path).unwrap_or_default();
    let users: Vec<&str> = log.lines().map(|l| l.split(' ').nth(2).unwrap_or_default()).collect();
    assert_eq!(users, want, "{log}");
}

/// `app` on one loop, its access log written to `path`.
fn serve_logging_to(path: &std::path::Path, app: impl porter::Handler) -> porter::ServerHandle {
    let server = porter::Server::bind("127.0.0.1:0").threads(1).access_log(porter::AccessLog::file(path));
    server.build(app).expect("builds").spawn().expect("spawns")
}
