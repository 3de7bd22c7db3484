//! `hello ADDR [THREADS] [deferred]`: the benchmark server. `GET /plaintext`
//! answers `Hello, World!` (text/plain, with Server and Date); anything else is
//! 404. With `deferred`, every answer is made on a pool thread and travels back
//! through the loop's inbox (the cost of answering later, measured).
//!
//! To measure what observing costs: `HELLO_ACCESS_LOG=PATH` writes a Combined
//! access log to PATH, `HELLO_METRICS=1` counts into [`porter::Metrics`]
//! (served at `/metrics`).

use std::sync::mpsc;
use std::sync::Mutex;
use std::thread;

use porter::{AccessLog, Metrics, Reply, Request, Responder, Response, Router, Server};

fn hello() -> Response {
    Response::new(200).header("Content-Type", "text/plain").body("Hello, World!")
}

/// A one-thread pool that answers whatever it is handed.
fn pool() -> Mutex<mpsc::Sender<Responder>> {
    let (tx, rx) = mpsc::channel::<Responder>();
    thread::spawn(move || {
        for responder in rx {
            responder.respond(hello());
        }
    });
    Mutex::new(tx)
}

fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let addr = args.next().unwrap_or_else(|| "127.0.0.1:8080".into());
    let threads = args.next().and_then(|t| t.parse().ok()).unwrap_or(1);
    let router = if args.next().as_deref() == Some("deferred") {
        let pool = pool();
        Router::new().get("/plaintext", move |req: Request| -> Reply {
            let (reply, responder) = req.defer();
            match pool.lock().map(|tx| tx.send(responder)) {
                Ok(Ok(())) => reply,
                _ => hello().into(),
            }
        })
    } else {
        Router::new().get("/plaintext", |_req| hello())
    };
    let mut server = Server::bind(addr).threads(threads);
    if let Some(path) = std::env::var_os("HELLO_ACCESS_LOG") {
        server = server.access_log(AccessLog::file(path));
    }
    let router = match std::env::var_os("HELLO_METRICS") {
        Some(_) => {
            let metrics = Metrics::new();
            server = server.metrics(&metrics);
            router.get("/metrics", metrics)
        }
        None => router,
    };
    server.run(router)
}
