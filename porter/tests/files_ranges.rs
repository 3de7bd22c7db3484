//! Ranges (RFC 9110 §14) and zero-copy bodies over loopback: literal requests
//! for single, suffix and multiple ranges, 416, If-Range, abusive lists, HEAD;
//! curl for `-r` and resumed downloads; large files sent whole and in part; an
//! aborted transfer closes its file.

mod common;
mod files_support;

use common::{pattern, Client};
use files_support::{curl, get, long_ago, multipart_parts, open_fds_to, request, url, Site, BIG};

#[test]
fn whole_files_advertise_ranges() {
    let site = Site::new("ranges-accept");
    let server = site.serve();
    let r = get(&server, "/ten.txt", "");
    assert_eq!((r.status, r.header("accept-ranges")), (200, Some("bytes")));
}

#[test]
fn a_single_range_is_206_with_content_range() {
    let site = Site::new("ranges-single");
    let server = site.serve();
    for (range, want_range, want_body) in [
        ("bytes=0-3", "bytes 0-3/10", "0123"),
        ("bytes=7-", "bytes 7-9/10", "789"),
        ("bytes=-2", "bytes 8-9/10", "89"),
        ("bytes=-50", "bytes 0-9/10", "0123456789"),
        ("bytes=5-500", "bytes 5-9/10", "56789"),
        ("bytes=9-9", "bytes 9-9/10", "9"),
        ("BYTES = 1-1", "bytes 1-1/10", "1"),
        ("bytes=0-0,2-2", "bytes 0-2/10", "012"), // close enough to coalesce
    ] {
        let r = get(&server, "/ten.txt", &format!("Range: {range}\r\n"));
        assert_eq!(r.status, 206, "{range}: {}", r.head_text());
        assert_eq!(r.header("content-range"), Some(want_range), "{range}");
        assert_eq!(r.text(), want_body, "{range}");
        assert_eq!(r.header("content-type"), Some("text/plain; charset=utf-8"), "{range}");
        assert!(r.header("etag").is_some() && r.header("last-modified").is_some(), "{range}");
    }
}

#[test]
fn several_ranges_are_multipart_byteranges() {
    let site = Site::new("ranges-multi");
    let server = site.serve();
    let r = get(&server, "/big.bin", "Range: bytes=0-9, 5000-5009, -4\r\n");
    assert_eq!(r.status, 206, "{}", r.head_text());
    let content_type = r.header("content-type").expect("content-type");
    assert!(content_type.starts_with("multipart/byteranges; boundary="), "{content_type}");
    assert!(r.header("content-range").is_none(), "the parts carry their own");
    let parts = multipart_parts(content_type, &r.body);
    let all = pattern(BIG);
    let want = [(0, 9), (5000, 5009), (BIG - 4, BIG - 1)];
    assert_eq!(parts.len(), want.len());
    for ((head, data), (first, last)) in parts.iter().zip(want) {
        assert!(head.contains(&format!("Content-Range: bytes {first}-{last}/{BIG}")), "{head}");
        assert!(head.contains("Content-Type: application/octet-stream"), "{head}");
        assert_eq!(&data[..], &all[first..=last]);
    }
}

#[test]
fn unsatisfiable_and_malformed_ranges_are_416() {
    let site = Site::new("ranges-416");
    let server = site.serve();
    for range in ["bytes=10-", "bytes=10-20", "bytes=-0", "bytes=5-4", "bytes=x-y", "bytes=", "bytes=1-2-3"] {
        let r = get(&server, "/ten.txt", &format!("Range: {range}\r\n"));
        assert_eq!((r.status, r.header("content-range")), (416, Some("bytes */10")), "{range}");
    }
    for range in ["items=0-1", "none"] {
        let r = get(&server, "/ten.txt", &format!("Range: {range}\r\n"));
        assert_eq!((r.status, r.text().as_str()), (200, "0123456789"), "unknown unit {range} is ignored");
    }
}

#[test]
fn abusive_range_lists_are_coalesced_or_ignored() {
    let site = Site::new("ranges-abuse");
    let server = site.serve();
    // Overlapping whole-file ranges: one part, the file once, not 32 times.
    let overlapping = vec!["0-"; 32].join(",");
    let r = get(&server, "/big.bin", &format!("Range: bytes={overlapping}\r\n"));
    assert_eq!((r.status, r.body.len()), (206, BIG));
    assert_eq!(r.header("content-range"), Some(format!("bytes 0-{}/{BIG}", BIG - 1).as_str()));
    // Many tiny ranges a few bytes apart, out of order: coalesced into one part.
    let tiny: Vec<String> = (0..32).rev().map(|i| format!("{}-{}", i * 10, i * 10)).collect();
    let r = get(&server, "/big.bin", &format!("Range: bytes={}\r\n", tiny.join(",")));
    assert_eq!((r.status, r.header("content-range")), (206, Some(format!("bytes 0-310/{BIG}").as_str())));
    // Too many ranges: the field is ignored and the file sent whole (200).
    let many: Vec<String> = (0..33).map(|i| format!("{}-{}", i * 1000, i * 1000)).collect();
    let r = get(&server, "/ten.txt", &format!("Range: bytes={}\r\n", many.join(",")));
    assert_eq!(r.status, 200);
    // Spread ranges stay separate, but the reply never exceeds the file plus part headers.
    let spread: Vec<String> = (0..32).map(|i| format!("{}-{}", i * 100_000, i * 100_000 + 99)).collect();
    let r = get(&server, "/big.bin", &format!("Range: bytes={}\r\n", spread.join(",")));
    let parts = multipart_parts(r.header("content-type").expect("type"), &r.body);
    assert_eq!(parts.len(), 32);
    assert!(r.body.len() < 32 * (100 + 200), "{} bytes", r.body.len());
}

#[test]
fn if_range_decides_between_206_and_200() {
    let site = Site::new("ranges-ifrange");
    site.touch("ten.txt", long_ago());
    let server = site.serve();
    let whole = get(&server, "/ten.txt", "");
    let etag = whole.header("etag").expect("etag").to_string();
    let date = whole.header("last-modified").expect("last-modified").to_string();
    for (if_range, want) in [
        (etag.clone(), 206),
        (date.clone(), 206),
        ("\"stale\"".to_string(), 200),
        (format!("W/{etag}"), 200), // If-Range compares strongly
        ("Thu, 01 Jan 2015 00:00:00 GMT".to_string(), 200),
        ("not a date".to_string(), 200),
    ] {
        let r = get(&server, "/ten.txt", &format!("Range: bytes=0-1\r\nIf-Range: {if_range}\r\n"));
        assert_eq!(r.status, want, "If-Range: {if_range}");
        let body = if want == 206 { "01" } else { "0123456789" };
        assert_eq!(r.text(), body, "If-Range: {if_range}");
    }
}

#[test]
fn ranges_apply_to_get_only() {
    let site = Site::new("ranges-head");
    let server = site.serve();
    let r = request(&server, "HEAD", "/ten.txt", "Range: bytes=0-1\r\n");
    assert_eq!((r.status, r.header("content-length")), (200, Some("10")));
    // A Range field sent twice is not a range request (RFC 9110 §5.3: not a list).
    let r = get(&server, "/ten.txt", "Range: bytes=0-1\r\nRange: bytes=2-3\r\n");
    assert_eq!(r.status, 200);
}

#[test]
fn large_files_are_sent_whole_and_in_part() {
    let site = Site::new("ranges-big");
    let server = site.serve();
    let all = pattern(BIG);
    let mut c = Client::connect(server.local_addr());
    // Pipelined: the whole file, a middle range, then a small file, in order.
    c.send(
        "GET /big.bin HTTP/1.1\r\nHost: t\r\n\r\nGET /big.bin HTTP/1.1\r\nHost: t\r\nRange: bytes=3000000-3999999\r\n\r\n\
         GET /a.txt HTTP/1.1\r\nHost: t\r\n\r\n",
    );
    let replies = c.read_replies(3);
    assert_eq!((replies[0].status, replies[0].body.len()), (200, BIG));
    assert!(replies[0].body == all, "whole body differs");
    assert_eq!(replies[1].status, 206);
    assert!(replies[1].body[..] == all[3_000_000..4_000_000], "range body differs");
    assert_eq!(replies[2].text(), "alpha");
}

#[test]
fn a_client_that_stops_reading_holds_back_only_its_own_file() {
    use std::io::Read;
    let site = Site::new("ranges-backpressure");
    let server = site.serve();
    let mut slow = Client::connect(server.local_addr());
    slow.send("GET /big.bin HTTP/1.1\r\nHost: t\r\n\r\n");
    // Read just the head (and whatever body came with it).
    let mut got = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        let n = slow.stream.read(&mut chunk).expect("read the head");
        assert!(n > 0, "closed before the head");
        got.extend_from_slice(&chunk[..n]);
        if let Some(i) = common::find(&got, b"\r\n\r\n") {
            break i + 4;
        }
    };
    assert!(got.starts_with(b"HTTP/1.1 200 OK\r\n"));
    // The slow client reads nothing more: sendfile meets a full socket and waits
    // for it to drain (BIG is far beyond the unread socket buffers), while the
    // same single-threaded loop goes on serving others.
    let mut other = Client::connect(server.local_addr());
    for _ in 0..3 {
        assert_eq!(other.round_trip("GET /ten.txt HTTP/1.1\r\nHost: t\r\n\r\n").text(), "0123456789");
    }
    let mut body = got.split_off(head_end);
    while body.len() < BIG {
        let n = slow.stream.read(&mut chunk).expect("read the body");
        assert!(n > 0, "closed after {} of {BIG} bytes", body.len());
        body.extend_from_slice(&chunk[..n]);
    }
    assert!(body == pattern(BIG), "the stalled download completes intact");
}

#[test]
fn an_aborted_transfer_closes_its_file() {
    let site = Site::new("ranges-abort");
    let server = site.serve();
    let big = std::fs::canonicalize(site.path("big.bin")).expect("canonical big.bin");
    let mut c = Client::connect(server.local_addr());
    c.send("GET /big.bin HTTP/1.1\r\nHost: t\r\n\r\n");
    // Wait for the head (the file is open and streaming), then abort unread.
    let mut first = [0u8; 1];
    std::io::Read::read_exact(&mut c.stream, &mut first).expect("first byte");
    assert_eq!(open_fds_to(&big), 1, "big.bin is open while it streams");
    drop(c);
    // The abort (a reset, since bytes were left unread) reaches the server's loop
    // before this connection's requests, which it answers in turn.
    let mut probe = Client::connect(server.local_addr());
    for _ in 0..2 {
        assert_eq!(probe.round_trip("GET /a.txt HTTP/1.1\r\nHost: t\r\n\r\n").status, 200);
    }
    assert_eq!(open_fds_to(&big), 0, "big.bin is still open after its client went away");
}

#[test]
fn curl_range_requests() {
    let site = Site::new("ranges-curl");
    let server = site.serve();
    let out = curl(&["-r", "2-5", "-w", "\n%{http_code}", &url(&server, "/ten.txt")]);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "2345\n206");
    let out = curl(&["-r", "0-0,50000-50009", "-i", &url(&server, "/big.bin")]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.starts_with("HTTP/1.1 206"), "{text}");
    let (first, second) = (format!("bytes 0-0/{BIG}"), format!("bytes 50000-50009/{BIG}"));
    assert!(text.contains(&first) && text.contains(&second), "{text}");
    assert!(text.contains("Content-Type: multipart/byteranges; boundary="), "{text}");
    let out = curl(&["-r", "20-30", "-w", "%{http_code}", "-o", "/dev/null", &url(&server, "/ten.txt")]);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "416");
}

#[test]
fn curl_resumes_a_download() {
    let site = Site::new("ranges-resume");
    let server = site.serve();
    let all = pattern(BIG);
    let partial = site.dir.path().join("download.bin");
    std::fs::write(&partial, &all[..1_234_567]).expect("write partial download");
    let target = partial.to_str().expect("utf-8 path");
    let out = curl(&["-C", "-", "-o", target, "-w", "%{http_code}", &url(&server, "/big.bin")]);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "206");
    assert!(std::fs::read(&partial).expect("download") == all, "resumed file differs");
}
