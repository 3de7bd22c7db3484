//! `echo ADDR`: the conformance server. `GET /` answers `OK`; any `POST` echoes
//! the request body; `/echo` (any method) lists the request's headers as
//! `Name: value` lines, one per line.

use porter::{Request, Response, Server};

fn echo(req: Request) -> Response {
    if req.path() == "/echo" {
        let mut lines = Vec::new();
        for (name, value) in req.headers() {
            lines.extend_from_slice(name.as_bytes());
            lines.extend_from_slice(b": ");
            lines.extend_from_slice(value);
            lines.push(b'\n');
        }
        return Response::new(200).header("Content-Type", "text/plain").body(lines);
    }
    match req.method() {
        "POST" => {
            let mut req = req;
            Response::bytes(req.take_body())
        }
        "GET" | "HEAD" if req.path() == "/" => Response::text("OK"),
        "GET" | "HEAD" => Response::error(404),
        _ => Response::error(405).header("Allow", "GET, HEAD, POST"),
    }
}

fn main() -> std::io::Result<()> {
    let addr = std::env::args().nth(1).unwrap_or_else(|| "127.0.0.1:8080".into());
    Server::bind(addr).threads(1).run(echo)
}
