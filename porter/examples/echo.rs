//! `echo ADDR`: the conformance server. `GET /` answers `OK`; any `POST` echoes
//! the request body; `/echo` (any method, `OPTIONS` too) lists the request's
//! headers as `Name: value` lines, one per line. `OPTIONS` elsewhere answers
//! `204` with `Allow` (RFC 9110 §9.3.7): for `/` and for `OPTIONS *` (the whole
//! server) `GET, HEAD, OPTIONS, POST`, for other paths `OPTIONS, POST`; other
//! methods get `405` with the same `Allow` (RFC 9110 §15.5.6).

use porter::{Request, Response, Server};

/// The methods `path` answers (`*`: the server's).
fn allowed(path: &str) -> &'static str {
    match path {
        "/" | "*" => "GET, HEAD, OPTIONS, POST",
        _ => "OPTIONS, POST",
    }
}

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
        "OPTIONS" => Response::new(204).header("Allow", allowed(req.path())),
        "GET" | "HEAD" if req.path() == "/" => Response::text("OK"),
        "GET" | "HEAD" => Response::error(404),
        _ => Response::error(405).header("Allow", allowed(req.path())),
    }
}

fn main() -> std::io::Result<()> {
    let addr = std::env::args().nth(1).unwrap_or_else(|| "127.0.0.1:8080".into());
    Server::bind(addr).threads(1).run(echo)
}

/// The loopback test helpers of porter's own tests.
#[cfg(test)]
#[path = "../tests/common/mod.rs"]
mod common;

#[cfg(test)]
mod tests {
    //! The echo server over loopback, with literal request bytes.

    use super::common::{serve, Client};

    #[test]
    fn options_lists_the_methods_of_a_path_and_of_the_server() {
        let server = serve(super::echo);
        let mut c = Client::connect(server.local_addr());
        for (target, allow) in
            [("*", "GET, HEAD, OPTIONS, POST"), ("/", "GET, HEAD, OPTIONS, POST"), ("/x", "OPTIONS, POST")]
        {
            let r = c.round_trip(format!("OPTIONS {target} HTTP/1.1\r\nHost: t\r\n\r\n"));
            assert_eq!((r.status, r.header("allow")), (204, Some(allow)), "{target}: {}", r.head_text());
            assert_eq!(r.header("content-length"), None, "{target}: a 204 has no Content-Length (RFC 9110 §8.6)");
        }
        let r = c.round_trip("DELETE / HTTP/1.1\r\nHost: t\r\n\r\n");
        assert_eq!((r.status, r.header("allow")), (405, Some("GET, HEAD, OPTIONS, POST")));
        // `/echo` answers every method itself, OPTIONS included.
        let r = c.round_trip("OPTIONS /echo HTTP/1.1\r\nHost: t\r\nX-A: 1\r\n\r\n");
        assert_eq!((r.status, r.text()), (200, "Host: t\nX-A: 1\n".to_string()));
        let r = c.round_trip("POST /x HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\nabc");
        assert_eq!((r.status, r.text()), (200, "abc".to_string()));
        c.assert_alive("after OPTIONS");
    }
}
