//! The built-in demo site, served when no `--root` is given.
//!
//! Its files live in `porter-cli/demo/` and are compiled into the binary with
//! `include_bytes!`, so `porter` with no arguments serves a working page (HTML,
//! CSS, JavaScript, an SVG image) from anywhere. `/plaintext` answers
//! `Hello, World!` for benchmarks. The bodies are static, so a request copies
//! nothing. No validators (ETag, Last-Modified) are sent: the content changes
//! only with the binary.

use porter::{Handler, Reply, Request, Response};

/// One file of the demo site.
struct Asset {
    path: &'static str,
    content_type: &'static str,
    body: &'static [u8],
}

const HTML: &str = "text/html; charset=utf-8";

const ASSETS: &[Asset] = &[
    Asset { path: "/", content_type: HTML, body: include_bytes!("../demo/index.html") },
    Asset { path: "/index.html", content_type: HTML, body: include_bytes!("../demo/index.html") },
    Asset { path: "/style.css", content_type: "text/css; charset=utf-8", body: include_bytes!("../demo/style.css") },
    Asset { path: "/app.js", content_type: "text/javascript; charset=utf-8", body: include_bytes!("../demo/app.js") },
    Asset { path: "/logo.svg", content_type: "image/svg+xml", body: include_bytes!("../demo/logo.svg") },
    Asset { path: "/plaintext", content_type: "text/plain; charset=utf-8", body: b"Hello, World!" },
];

/// The demo site's handler: the assets above for `GET`/`HEAD`, 404 elsewhere, 405 for other methods.
pub struct Demo;

impl Handler for Demo {
    fn handle(&self, request: Request) -> Reply {
        if let Some(refusal) = refuse_method(&request) {
            return refusal.into();
        }
        match find(request.path()) {
            Some(asset) => Response::new(200).header("Content-Type", asset.content_type).body(asset.body).into(),
            None => Response::error(404).into(),
        }
    }

    /// Refuses other methods before their bodies are read.
    fn before_body(&self, request: &Request) -> Option<Response> {
        refuse_method(request)
    }
}

/// The asset at `path` (the raw request path: the demo's names need no decoding).
fn find(path: &str) -> Option<&'static Asset> {
    ASSETS.iter().find(|asset| asset.path == path)
}

/// `405` with `Allow` for anything but `GET` and `HEAD` (RFC 9110 §15.5.6).
fn refuse_method(request: &Request) -> Option<Response> {
    match request.method() {
        "GET" | "HEAD" => None,
        _ => Some(Response::error(405).header("Allow", "GET, HEAD")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_page_is_found() {
        for path in ["/", "/index.html", "/style.css", "/app.js", "/logo.svg", "/plaintext"] {
            assert!(find(path).is_some(), "{path}");
        }
        for path in ["/nope", "/index.html/", "/Style.css", "", "*"] {
            assert!(find(path).is_none(), "{path}");
        }
    }

    #[test]
    fn plaintext_is_hello_world() {
        let asset = find("/plaintext").unwrap();
        assert_eq!(asset.body, b"Hello, World!");
        assert_eq!(asset.content_type, "text/plain; charset=utf-8");
    }

    #[test]
    fn the_page_links_its_assets_and_has_a_status_element() {
        let html = std::str::from_utf8(find("/").unwrap().body).unwrap();
        for needle in ["/style.css", "/app.js", "/logo.svg", "id=\"status\""] {
            assert!(html.contains(needle), "{needle}");
        }
        let js = std::str::from_utf8(find("/app.js").unwrap().body).unwrap();
        assert!(js.contains("getElementById(\"status\")") && js.contains("JavaScript ran"));
    }
}
