//! Validators and conditional requests (RFC 9110 §8.8, §13) over loopback:
//! ETag and Last-Modified on every file; If-None-Match (weak) and
//! If-Modified-Since → 304; If-Match and If-Unmodified-Since → 412; the
//! precedence of §13.2.2; and curl's `-z` and `--etag-compare`.

mod common;
mod files_support;

use common::Client;
use files_support::{curl, get, long_ago, request, url, Site};

const OLD: &str = "Sun, 13 Sep 2020 12:26:40 GMT"; // long_ago()
const BEFORE: &str = "Sun, 13 Sep 2020 12:26:39 GMT";
const AFTER: &str = "Sun, 13 Sep 2020 12:26:41 GMT";

/// A site whose `a.txt` was last modified at [`long_ago`], and its ETag.
fn setup(tag: &str) -> (Site, porter::ServerHandle, String) {
    let site = Site::new(tag);
    site.touch("a.txt", long_ago());
    let server = site.serve();
    let r = get(&server, "/a.txt", "");
    assert_eq!(r.header("last-modified"), Some(OLD));
    let etag = r.header("etag").expect("etag").to_string();
    (site, server, etag)
}

#[test]
fn every_file_has_an_etag_and_last_modified() {
    let site = Site::new("cond-every");
    let server = site.serve();
    let mut c = Client::connect(server.local_addr());
    let mut tags = Vec::new();
    for path in ["/a.txt", "/", "/big.bin", "/empty.txt", "/sub/b.css", "/link-in"] {
        let r = c.round_trip(format!("GET {path} HTTP/1.1\r\nHost: t\r\n\r\n"));
        assert_eq!(r.status, 200, "{path}");
        let etag = r.header("etag").unwrap_or_else(|| panic!("{path}: no ETag"));
        assert!(etag.starts_with('"') && etag.ends_with('"') && !etag.starts_with("W/"), "{path}: {etag}");
        assert!(httpdate::parse_http_date(r.header("last-modified").expect("Last-Modified")).is_ok(), "{path}");
        tags.push(etag.to_string());
    }
    assert_ne!(tags[0], tags[2], "different files, different tags");
    assert_eq!(tags[0], tags[5], "a symlink is the file it names");
}

#[test]
fn if_none_match_gives_304_by_weak_comparison() {
    let (_site, server, etag) = setup("cond-inm");
    for value in [etag.clone(), format!("W/{etag}"), format!("\"x\", {etag}"), "*".into(), format!(" , {etag} ,")] {
        let r = get(&server, "/a.txt", &format!("If-None-Match: {value}\r\n"));
        assert_eq!(r.status, 304, "If-None-Match: {value}");
        assert_eq!(r.header("etag"), Some(etag.as_str()));
        assert_eq!(r.header("vary"), Some("Accept-Encoding"));
        assert!(r.header("content-length").is_none() && r.body.is_empty(), "{}", r.head_text());
        assert!(r.header("content-type").is_none() && r.header("last-modified").is_none());
    }
    for value in ["\"x\"", "\"x\", \"y\"", "garbage"] {
        let r = get(&server, "/a.txt", &format!("If-None-Match: {value}\r\n"));
        assert_eq!((r.status, r.text().as_str()), (200, "alpha"), "If-None-Match: {value}");
    }
    // The list may span several field lines (RFC 9110 §5.3).
    let r = get(&server, "/a.txt", &format!("If-None-Match: \"x\"\r\nIf-None-Match: {etag}\r\n"));
    assert_eq!(r.status, 304);
    assert_eq!(request(&server, "HEAD", "/a.txt", &format!("If-None-Match: {etag}\r\n")).status, 304);
}

#[test]
fn if_modified_since_gives_304_when_not_newer() {
    let (_site, server, etag) = setup("cond-ims");
    for (date, want) in [(OLD, 304), (AFTER, 304), (BEFORE, 200), ("not a date", 200)] {
        let r = get(&server, "/a.txt", &format!("If-Modified-Since: {date}\r\n"));
        assert_eq!(r.status, want, "If-Modified-Since: {date}");
    }
    // Other HTTP-date formats (RFC 9110 §5.6.7).
    for date in ["Sunday, 13-Sep-20 12:26:40 GMT", "Sun Sep 13 12:26:40 2020"] {
        assert_eq!(get(&server, "/a.txt", &format!("If-Modified-Since: {date}\r\n")).status, 304, "{date}");
    }
    // Sent twice: ignored (RFC 9110 §13.1.3).
    let r = get(&server, "/a.txt", &format!("If-Modified-Since: {OLD}\r\nIf-Modified-Since: {OLD}\r\n"));
    assert_eq!(r.status, 200);
    // If-None-Match wins over If-Modified-Since (RFC 9110 §13.2.2 step 4).
    let r = get(&server, "/a.txt", &format!("If-None-Match: \"other\"\r\nIf-Modified-Since: {AFTER}\r\n"));
    assert_eq!(r.status, 200);
    let r = get(&server, "/a.txt", &format!("If-None-Match: {etag}\r\nIf-Modified-Since: {BEFORE}\r\n"));
    assert_eq!(r.status, 304);
}

#[test]
fn if_match_and_if_unmodified_since_give_412() {
    let (_site, server, etag) = setup("cond-412");
    for (field, want) in [
        (format!("If-Match: {etag}"), 200),
        ("If-Match: *".to_string(), 200),
        (format!("If-Match: \"x\", {etag}"), 200),
        ("If-Match: \"x\"".to_string(), 412),
        (format!("If-Match: W/{etag}"), 412), // strong comparison
        (format!("If-Unmodified-Since: {OLD}"), 200),
        (format!("If-Unmodified-Since: {AFTER}"), 200),
        (format!("If-Unmodified-Since: {BEFORE}"), 412),
        ("If-Unmodified-Since: nonsense".to_string(), 200),
        // If-Match present: If-Unmodified-Since is not evaluated (step 2).
        (format!("If-Match: {etag}\r\nIf-Unmodified-Since: {BEFORE}"), 200),
    ] {
        let r = get(&server, "/a.txt", &format!("{field}\r\n"));
        assert_eq!(r.status, want, "{field}");
    }
    let r = get(&server, "/a.txt", "If-Match: \"x\"\r\n");
    assert!(r.header("etag").is_none() && r.text().starts_with("412"), "{}", r.head_text());
}

#[test]
fn preconditions_are_evaluated_in_order() {
    let (_site, server, etag) = setup("cond-order");
    // 412 is decided before 304 (steps 1-2 before 3-4).
    let r = get(&server, "/a.txt", &format!("If-Match: \"x\"\r\nIf-None-Match: {etag}\r\n"));
    assert_eq!(r.status, 412);
    let r = get(&server, "/a.txt", &format!("If-Unmodified-Since: {BEFORE}\r\nIf-Modified-Since: {AFTER}\r\n"));
    assert_eq!(r.status, 412);
    // Preconditions before ranges (step 5): a 304 is never a 206 or 416.
    let r = get(&server, "/a.txt", &format!("If-None-Match: {etag}\r\nRange: bytes=0-1\r\n"));
    assert_eq!(r.status, 304);
    let r = get(&server, "/a.txt", &format!("If-None-Match: {etag}\r\nRange: bytes=99-\r\n"));
    assert_eq!(r.status, 304);
    let r = get(&server, "/a.txt", &format!("If-Match: {etag}\r\nRange: bytes=1-2\r\n"));
    assert_eq!((r.status, r.text().as_str()), (206, "lp"));
}

#[test]
fn validators_change_with_the_file() {
    let (site, server, etag) = setup("cond-change");
    std::fs::write(site.path("a.txt"), "alpha, edited").expect("rewrite");
    let r = get(&server, "/a.txt", &format!("If-None-Match: {etag}\r\n"));
    assert_eq!((r.status, r.text().as_str()), (200, "alpha, edited"));
    assert_ne!(r.header("etag"), Some(etag.as_str()));
}

#[test]
fn curl_revalidates_by_date_and_by_etag() {
    let (site, server, _) = setup("cond-curl");
    let out = curl(&["-z", OLD, "-w", "%{http_code}", "-o", "/dev/null", &url(&server, "/a.txt")]);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "304");
    let out = curl(&["-z", BEFORE, "-w", "%{http_code}", "-o", "/dev/null", &url(&server, "/a.txt")]);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "200");
    let etag_file = site.dir.path().join("etag.txt");
    let etag_file = etag_file.to_str().expect("utf-8 path");
    let out = curl(&["--etag-save", etag_file, "-o", "/dev/null", "-w", "%{http_code}", &url(&server, "/a.txt")]);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "200");
    let out = curl(&["--etag-compare", etag_file, "-o", "/dev/null", "-w", "%{http_code}", &url(&server, "/a.txt")]);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "304");
}
