//! `hello ADDR [THREADS]`: the benchmark server. `GET /plaintext` answers
//! `Hello, World!` (text/plain, with Server and Date); anything else is 404.

use porter::{Response, Router, Server};

fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let addr = args.next().unwrap_or_else(|| "127.0.0.1:8080".into());
    let threads = args.next().and_then(|t| t.parse().ok()).unwrap_or(1);
    let router = Router::new()
        .get("/plaintext", |_req| Response::new(200).header("Content-Type", "text/plain").body("Hello, World!"));
    Server::bind(addr).threads(threads).run(router)
}
