//! Directory listings and Cache-Control over loopback: the optional HTML
//! listing (names escaped, sorted, sizes and dates, hidden and escaping entries
//! left out) and `Cache-Control` per path pattern and per root, on 200, 206
//! and 304 alike.

mod common;
mod files_support;

use files_support::{get, long_ago, request, Site};

fn listing_site(tag: &str) -> Site {
    let site = Site::new(tag);
    std::fs::create_dir_all(site.path("docs/z-dir")).expect("mkdir");
    for (name, body) in [("docs/b.txt", "bb"), ("docs/a.txt", "a"), ("docs/<img src=x onerror=alert(1)>.txt", "x")] {
        std::fs::write(site.path(name), body).expect("write");
    }
    std::fs::write(site.path("docs/.secret"), "s").expect("write");
    std::fs::write(site.path("docs/quote\"amp&.txt"), "q").expect("write");
    std::os::unix::fs::symlink("../../outside/secret.txt", site.path("docs/escape")).expect("symlink");
    site.touch("docs/a.txt", long_ago());
    site
}

#[test]
fn listings_are_off_by_default() {
    let site = listing_site("list-off");
    let server = site.serve();
    assert_eq!(get(&server, "/docs/", "").status, 404);
}

#[test]
fn a_listing_is_sorted_escaped_and_complete() {
    let site = listing_site("list-on");
    let server = common::serve(site.files().listing(true));
    let r = get(&server, "/docs/", "");
    assert_eq!((r.status, r.header("content-type")), (200, Some("text/html; charset=utf-8")));
    let page = r.text();
    assert!(page.contains("<title>Index of /docs/</title>"), "{page}");
    // Escaped text, encoded links: the odd name cannot inject markup.
    assert!(!page.contains("<img"), "{page}");
    assert!(page.contains("&lt;img src=x onerror=alert(1)&gt;.txt</a>"), "{page}");
    assert!(page.contains("href=\"./%3Cimg%20src=x%20onerror=alert(1)%3E.txt\""), "{page}");
    assert!(page.contains("href=\"./quote%22amp&.txt\">quote&quot;amp&amp;.txt</a>"), "{page}");
    // Sorted, directories first, with sizes and dates.
    let at = |needle: &str| page.find(needle).unwrap_or_else(|| panic!("{needle} missing from {page}"));
    assert!(at(">z-dir/</a>") < at(">a.txt</a>") && at(">a.txt</a>") < at(">b.txt</a>"));
    assert!(page.contains(">a.txt</a></td><td class=\"size\">1</td><td>Sun, 13 Sep 2020 12:26:40 GMT</td>"), "{page}");
    assert!(page.contains(">b.txt</a></td><td class=\"size\">2</td>"), "{page}");
    assert!(page.contains("href=\"../\""), "a parent link below the root");
    // Left out: dotfiles and a symlink leading out of the root.
    assert!(!page.contains("secret") && !page.contains("escape"), "{page}");
    // No filesystem path anywhere.
    assert!(!page.contains(&site.root().display().to_string()), "{page}");
    // Each link leads somewhere that is served.
    assert_eq!(get(&server, "/docs/%3Cimg%20src=x%20onerror=alert(1)%3E.txt", "").text(), "x");
    assert_eq!(get(&server, "/docs/z-dir", "").status, 301);
}

#[test]
fn the_index_file_wins_and_head_works() {
    let site = listing_site("list-index");
    let server = common::serve(site.files().listing(true));
    assert_eq!(get(&server, "/", "").text(), "<!doctype html><h1>home</h1>");
    let r = request(&server, "HEAD", "/docs/", "");
    assert_eq!((r.status, r.body.len()), (200, 0));
    assert!(r.header("content-length").is_some_and(|n| n != "0"));
    assert_eq!(get(&server, "/empty/", "").status, 200, "an empty directory lists nothing, not 404");
}

#[test]
fn cache_control_per_pattern_and_per_root() {
    let site = Site::new("cache-rules");
    let files = site
        .files()
        .cache_rule("*.html", "no-cache")
        .and_then(|f| f.cache_rule("/sub/**", "max-age=31536000, immutable"))
        .and_then(|f| f.cache_control("max-age=60"))
        .expect("valid cache rules");
    let server = common::serve(files);
    for (path, want) in [
        ("/", "no-cache"),
        ("/index.html", "no-cache"),
        ("/sub/b.css", "max-age=31536000, immutable"),
        ("/a.txt", "max-age=60"),
        ("/big.bin", "max-age=60"),
    ] {
        assert_eq!(get(&server, path, "").header("cache-control"), Some(want), "{path}");
    }
    let etag = get(&server, "/a.txt", "").header("etag").expect("etag").to_string();
    let r = get(&server, "/a.txt", &format!("If-None-Match: {etag}\r\n"));
    assert_eq!((r.status, r.header("cache-control")), (304, Some("max-age=60")), "RFC 9110 §15.4.5");
    let r = get(&server, "/a.txt", "Range: bytes=0-0\r\n");
    assert_eq!((r.status, r.header("cache-control")), (206, Some("max-age=60")));
    assert_eq!(get(&server, "/missing", "").header("cache-control"), None, "errors are not cached by rule");
    let plain = site.serve();
    assert_eq!(get(&plain, "/a.txt", "").header("cache-control"), None, "none unless configured");
}

#[test]
fn bad_cache_values_are_refused_when_configured() {
    let site = Site::new("cache-bad");
    assert!(site.files().cache_control("max-age=1\r\nSet-Cookie: a=b").is_err());
    assert!(site.files().cache_rule("*.css", "").is_err());
    assert!(site.files().cache_rule("", "no-cache").is_err());
}
