//! `hello ADDR [THREADS] [deferred]`: the benchmark server. `GET /plaintext`
//! answers `Hello, World!` (text/plain, with Server and Date); anything else is
//! 404. With `deferred`, every answer is made on a pool thread and travels back
//! through the loop's inbox (the cost of answering later, measured).

use std::sync::mpsc;
use std::sync::Mutex;
use std::thread;

use porter::{Reply, Request, Responder, Response, Router, Server};

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
    Server::bind(addr).threads(threads).run(router)
}
