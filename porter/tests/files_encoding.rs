//! Precompressed siblings over loopback: `.br`/`.gz` chosen by
//! `Accept-Encoding` with q-values, `Vary: Accept-Encoding`, their own ETags,
//! stale siblings ignored; and curl `--compressed` decoding a real gzip sibling.

mod common;
mod files_support;

use files_support::{curl, get, gzip_stored, long_ago, url, Site};

const CSS: &str = "body { color: rebeccapurple }\n";

/// `site.css` with a gzip sibling and a (fake) brotli sibling, both newer.
fn site(tag: &str) -> Site {
    let site = Site::new(tag);
    std::fs::write(site.path("site.css"), CSS).expect("site.css");
    site.touch("site.css", long_ago());
    std::fs::write(site.path("site.css.gz"), gzip_stored(CSS.as_bytes())).expect("site.css.gz");
    std::fs::write(site.path("site.css.br"), b"BROTLI").expect("site.css.br");
    site
}

#[test]
fn the_preferred_sibling_is_served() {
    let site = site("enc-choice");
    let server = site.serve();
    for (accept, want) in [
        ("gzip, deflate, br, zstd", Some("br")),
        ("gzip", Some("gzip")),
        ("x-gzip", Some("gzip")),
        ("br;q=0.5, gzip", Some("gzip")),
        ("br;q=0, gzip;q=0.1", Some("gzip")),
        ("*", Some("br")),
        ("*;q=0.5, gzip;q=0.4", Some("br")),
        ("gzip;q=0.5, identity", None),
        ("identity", None),
        ("deflate, zstd", None),
        ("", None),
    ] {
        let r = get(&server, "/site.css", &format!("Accept-Encoding: {accept}\r\n"));
        assert_eq!((r.status, r.header("content-encoding")), (200, want), "Accept-Encoding: {accept}");
        assert_eq!(r.header("content-type"), Some("text/css; charset=utf-8"), "the original's type");
        assert_eq!(r.header("vary"), Some("Accept-Encoding"));
        let body = match want {
            Some("br") => b"BROTLI".to_vec(),
            Some(_) => gzip_stored(CSS.as_bytes()),
            None => CSS.as_bytes().to_vec(),
        };
        assert_eq!(r.body, body, "Accept-Encoding: {accept}");
    }
    let r = get(&server, "/site.css", "");
    assert_eq!((r.header("content-encoding"), r.text().as_str()), (None, CSS), "no Accept-Encoding: identity");
    assert_eq!(r.header("vary"), Some("Accept-Encoding"));
}

#[test]
fn each_variant_has_its_own_etag() {
    let site = site("enc-etags");
    let server = site.serve();
    let tag = |accept: &str| {
        let r = get(&server, "/site.css", &format!("Accept-Encoding: {accept}\r\n"));
        r.header("etag").expect("etag").to_string()
    };
    let (plain, gz, br) = (tag("identity"), tag("gzip"), tag("br"));
    assert!(plain != gz && gz != br && plain != br, "{plain} {gz} {br}");
    // A cached gzip variant revalidates as gzip only.
    let r = get(&server, "/site.css", &format!("Accept-Encoding: gzip\r\nIf-None-Match: {gz}\r\n"));
    assert_eq!((r.status, r.header("etag")), (304, Some(gz.as_str())));
    let r = get(&server, "/site.css", &format!("Accept-Encoding: br\r\nIf-None-Match: {gz}\r\n"));
    assert_eq!((r.status, r.header("content-encoding")), (200, Some("br")));
}

#[test]
fn stale_or_lone_siblings_are_not_served() {
    let site = site("enc-stale");
    // The original is rewritten after its siblings were made: they are stale.
    std::fs::write(site.path("site.css"), "body { color: teal }\n").expect("rewrite");
    // (File times may be coarser than the time between writes: make the order explicit.)
    site.touch("site.css.br", long_ago());
    site.touch("site.css.gz", long_ago());
    let server = site.serve();
    let r = get(&server, "/site.css", "Accept-Encoding: br, gzip\r\n");
    assert_eq!((r.header("content-encoding"), r.text().as_str()), (None, "body { color: teal }\n"));
    // A sibling without its original is not served in its place.
    std::fs::write(site.path("lone.js.gz"), gzip_stored(b"1;")).expect("lone");
    assert_eq!(get(&server, "/lone.js", "Accept-Encoding: gzip\r\n").status, 404);
    // Asked for by name, a sibling is just a file.
    let r = get(&server, "/site.css.br", "Accept-Encoding: br\r\n");
    assert_eq!((r.status, r.header("content-encoding")), (200, None));
}

#[test]
fn ranges_and_the_switch_off() {
    let site = site("enc-range");
    let server = site.serve();
    // With a Range, the bytes are the file's own (what a resumed download expects).
    let r = get(&server, "/site.css", "Accept-Encoding: br\r\nRange: bytes=0-3\r\n");
    assert_eq!((r.status, r.header("content-encoding"), r.text().as_str()), (206, None, "body"));
    let off = common::serve(site.files().precompressed(false));
    let r = get(&off, "/site.css", "Accept-Encoding: br, gzip\r\n");
    assert_eq!((r.header("content-encoding"), r.header("vary")), (None, None));
}

#[test]
fn curl_decodes_the_gzip_sibling() {
    let site = site("enc-curl");
    std::fs::remove_file(site.path("site.css.br")).expect("drop br: curl may not decode it");
    let server = site.serve();
    let out = curl(&["--compressed", "-D", "-", &url(&server, "/site.css")]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("Content-Encoding: gzip"), "{text}");
    assert!(text.ends_with(CSS), "{text}");
}
