//! The built-in demo site, served when no `--root` is given.
//!
//! Its files live in `porter-cli/demo/` and are compiled into the binary with
//! `include_bytes!`, then served by `porter::Files::embedded`: the same code as
//! `--root` (validators, conditional requests, ranges, HEAD/OPTIONS/405), so a
//! browser revalidates them with 304s. Their ETags hash the bytes; their
//! `Last-Modified` is the executable's modification time (the content changes
//! only with the binary). They are sent with `Cache-Control: no-cache` unless
//! the command line says otherwise. `/plaintext` answers `Hello, World!` for
//! benchmarks.

use std::time::SystemTime;

use porter::{Files, Handler, Response, Router};

/// The demo site's files: URL path and bytes.
pub const ASSETS: [(&str, &[u8]); 4] = [
    ("/index.html", include_bytes!("../demo/index.html")),
    ("/style.css", include_bytes!("../demo/style.css")),
    ("/app.js", include_bytes!("../demo/app.js")),
    ("/logo.svg", include_bytes!("../demo/logo.svg")),
];

/// The demo's files, for the command line to configure further.
pub fn files() -> Files {
    Files::embedded(ASSETS, built_at())
}

/// The demo site's handler: `/plaintext`, else `files`.
pub fn site(files: Files) -> impl Handler {
    Router::new().get("/plaintext", |_| Response::text("Hello, World!")).fallback(files)
}

/// When the running executable was last modified, else now.
fn built_at() -> SystemTime {
    std::env::current_exe()
        .and_then(|exe| exe.metadata())
        .and_then(|meta| meta.modified())
        .unwrap_or_else(|_| SystemTime::now())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn asset(path: &str) -> &'static str {
        let (_, bytes) = ASSETS.iter().find(|(p, _)| *p == path).unwrap();
        std::str::from_utf8(bytes).unwrap()
    }

    #[test]
    fn the_page_links_its_assets_and_has_a_status_element() {
        let html = asset("/index.html");
        for needle in ["/style.css", "/app.js", "/logo.svg", "id=\"status\""] {
            assert!(html.contains(needle), "{needle}");
        }
        let js = asset("/app.js");
        assert!(js.contains("getElementById(\"status\")") && js.contains("JavaScript ran"));
        assert!(asset("/style.css").contains("--porter-css: loaded"), "app.js checks this marker");
    }

    #[test]
    fn built_at_is_not_in_the_future() {
        assert!(built_at() <= SystemTime::now());
    }
}
