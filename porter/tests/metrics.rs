//! Prometheus metrics over loopback: requests with known statuses and sizes,
//! then a scrape through the mounted handler, parsed and checked exactly; the
//! histogram's buckets against its count; the open-connections gauge going
//! back to zero once clients leave; sums across several workers.

mod common;

use std::collections::HashMap;
use std::time::Duration;

use common::{wait_until, Client};
use porter::{Body, Metrics, Request, Response, Router, Server, ServerHandle};

fn app(metrics: &Metrics) -> Router {
    Router::new()
        .get("/ok", |_req| Response::text("hello"))
        .get("/moved", |_req| Response::new(302).header("Location", "/ok"))
        .get("/boom", |_req| Response::error(503))
        .post("/echo", |mut req: Request| Response::bytes(req.take_body()))
        .get("/metrics", metrics.clone())
}

fn serve(threads: usize, metrics: &Metrics) -> ServerHandle {
    Server::bind("127.0.0.1:0")
        .threads(threads)
        .metrics(metrics)
        .build(app(metrics))
        .expect("builds")
        .spawn()
        .expect("spawns")
}

/// Every sample line of an exposition, `name{labels}` → value; checks that
/// each sample's family was declared with `# TYPE` first.
fn parse(text: &str) -> HashMap<String, f64> {
    let mut declared = Vec::new();
    let mut samples = HashMap::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let mut words = rest.split(' ');
            declared.push(words.next().expect("a family name").to_string());
            assert!(matches!(words.next(), Some("counter" | "gauge" | "histogram")), "{line}");
            continue;
        }
        if line.starts_with("# HELP ") {
            continue;
        }
        let (series, value) = line.rsplit_once(' ').unwrap_or_else(|| panic!("bad sample line {line:?}"));
        let family = series.split('{').next().unwrap_or_default();
        let base = ["_bucket", "_sum", "_count"].iter().find_map(|s| family.strip_suffix(s)).unwrap_or(family);
        assert!(declared.iter().any(|d| d == family || d == base), "{family} sampled before its # TYPE");
        let value: f64 = value.parse().unwrap_or_else(|_| panic!("bad value in {line:?}"));
        assert!(samples.insert(series.to_string(), value).is_none(), "{series} twice");
    }
    samples
}

fn value(samples: &HashMap<String, f64>, series: &str) -> u64 {
    let v = *samples.get(series).unwrap_or_else(|| panic!("no {series} in {samples:?}"));
    v as u64
}

fn class(samples: &HashMap<String, f64>, class: &str) -> u64 {
    value(samples, &format!("porter_requests_total{{class=\"{class}\"}}"))
}

/// Buckets never decrease, and the `+Inf` bucket equals `_count`. Returns `_count`.
fn check_histogram(samples: &HashMap<String, f64>) -> u64 {
    let name = "porter_request_duration_seconds";
    let mut buckets: Vec<(f64, u64)> = samples
        .iter()
        .filter_map(|(series, v)| {
            let le = series.strip_prefix(&format!("{name}_bucket{{le=\""))?.strip_suffix("\"}")?;
            let le = if le == "+Inf" { f64::INFINITY } else { le.parse().expect("numeric le") };
            Some((le, *v as u64))
        })
        .collect();
    buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
    assert!(buckets.len() > 5, "{buckets:?}");
    assert!(buckets.windows(2).all(|w| w[0].1 <= w[1].1), "cumulative buckets: {buckets:?}");
    let count = value(samples, &format!("{name}_count"));
    assert_eq!(buckets.last().map(|b| (b.0, b.1)), Some((f64::INFINITY, count)));
    assert!(samples[&format!("{name}_sum")] >= 0.0);
    count
}

#[test]
fn a_scrape_counts_each_status_class_and_byte_exactly() {
    let metrics = Metrics::new();
    let server = serve(1, &metrics);
    let mut c = Client::connect(server.local_addr());
    let mut sent = 0;
    let mut body_bytes = 0;
    let mut request = |c: &mut Client, bytes: &str, status: u16| {
        sent += bytes.len();
        let r = c.round_trip(bytes);
        assert_eq!(r.status, status, "{bytes}");
        body_bytes += r.body.len();
    };
    for _ in 0..3 {
        request(&mut c, "GET /ok HTTP/1.1\r\nHost: h\r\n\r\n", 200);
    }
    request(&mut c, "POST /echo HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\n\r\nabcd", 200);
    request(&mut c, "GET /moved HTTP/1.1\r\nHost: h\r\n\r\n", 302);
    for _ in 0..2 {
        request(&mut c, "GET /nowhere HTTP/1.1\r\nHost: h\r\n\r\n", 404);
    }
    request(&mut c, "GET /boom HTTP/1.1\r\nHost: h\r\n\r\n", 503);

    let mut scraper = Client::connect(server.local_addr());
    let scrape = "GET /metrics HTTP/1.1\r\nHost: h\r\n\r\n";
    let reply = scraper.round_trip(scrape);
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("content-type"), Some("text/plain; version=0.0.4; charset=utf-8"));
    let s = parse(&reply.text());
    // The scrape's own reply is not counted yet (it is being written), its head is.
    assert_eq!([class(&s, "2xx"), class(&s, "3xx"), class(&s, "4xx"), class(&s, "5xx")], [4, 1, 2, 1]);
    assert_eq!(value(&s, "porter_response_body_bytes_total"), body_bytes as u64);
    assert_eq!(value(&s, "porter_request_bytes_total"), (sent + scrape.len()) as u64);
    assert_eq!(value(&s, "porter_connections_accepted_total"), 2);
    assert_eq!(value(&s, "porter_connections_open"), 2);
    assert_eq!(value(&s, "porter_access_log_dropped_lines_total"), 0);
    assert_eq!(check_histogram(&s), 8);
}

#[test]
fn the_open_connections_gauge_goes_back_down_when_clients_leave() {
    let metrics = Metrics::new();
    let server = serve(1, &metrics);
    let gauge = || value(&parse(&metrics.render()), "porter_connections_open");
    let mut clients: Vec<Client> = (0..3).map(|_| Client::connect(server.local_addr())).collect();
    for c in &mut clients {
        assert_eq!(c.round_trip("GET /ok HTTP/1.1\r\nHost: h\r\n\r\n").status, 200);
    }
    assert_eq!(gauge(), 3);
    clients.truncate(1);
    wait_until(|| gauge() == 1, "two closed connections leave the gauge");
    drop(clients);
    wait_until(|| gauge() == 0, "every connection has left the gauge");
    let s = parse(&metrics.render());
    assert_eq!(value(&s, "porter_connections_accepted_total"), 3);
    assert_eq!(class(&s, "2xx"), 3);
}

#[test]
fn several_workers_are_summed_and_a_server_restart_keeps_counting() {
    let metrics = Metrics::new();
    let server = serve(2, &metrics);
    let (connections, per_connection) = (8, 5);
    for _ in 0..connections {
        let mut c = Client::connect(server.local_addr());
        c.send("GET /ok HTTP/1.1\r\nHost: h\r\n\r\nGET /x HTTP/1.1\r\nHost: h\r\n\r\n".repeat(per_connection));
        let replies = c.read_replies(2 * per_connection);
        assert!(replies.chunks(2).all(|p| p[0].status == 200 && p[1].status == 404));
    }
    let total = |s: &HashMap<String, f64>| class(s, "2xx") + class(s, "4xx");
    let expected = (2 * connections * per_connection) as u64;
    wait_until(|| total(&parse(&metrics.render())) == expected, "every reply is counted");
    server.shutdown(Duration::from_secs(5)).expect("shutdown");
    let s = parse(&metrics.render());
    assert_eq!([class(&s, "2xx"), class(&s, "4xx")], [expected / 2, expected / 2]);
    assert_eq!(value(&s, "porter_connections_accepted_total"), connections as u64);
    assert_eq!(value(&s, "porter_connections_open"), 0);
    assert_eq!(check_histogram(&s), expected);

    // The same Metrics on a new server: the counts go on from there.
    let server = serve(1, &metrics);
    let mut c = Client::connect(server.local_addr());
    assert_eq!(c.round_trip("GET /ok HTTP/1.1\r\nHost: h\r\n\r\n").status, 200);
    // Counted just after the write, on the server's thread: wait for it.
    wait_until(|| class(&parse(&metrics.render()), "2xx") == expected / 2 + 1, "the new server counts on");
}

/// Bodies that leave a piece at a time (a reader of unknown length, a channel,
/// a file through sendfile, a deferred answer) count the bytes that went out,
/// in the metrics and in the access log alike.
#[test]
fn streamed_file_and_deferred_bodies_count_the_bytes_that_went_out() {
    let dir = common::TempDir::new("metrics-bodies");
    let file_path = dir.path().join("blob.bin");
    std::fs::write(&file_path, common::pattern(300_000)).expect("write the file");
    let log_path = dir.path().join("access.log");
    let app = Router::new()
        .get("/reader", |_req| {
            Response::new(200).body(Body::reader(std::io::Cursor::new(common::pattern(70_000)), None))
        })
        .get("/channel", |req: Request| {
            let (reply, responder) = req.defer();
            let (sender, body) = Body::channel(None);
            responder.respond(Response::new(200).body(body));
            std::thread::spawn(move || (0..3).try_for_each(|_| sender.send(common::pattern(10_000))));
            reply
        })
        .get("/file", move |_req| {
            let file = std::fs::File::open(&file_path).expect("open the blob");
            Response::new(200).body(Body::file(file, 1000, 250_000))
        })
        .get("/deferred", |req: Request| {
            let (reply, responder) = req.defer();
            std::thread::spawn(move || responder.respond(Response::text("later")));
            reply
        });
    let metrics = Metrics::new();
    let server = Server::bind("127.0.0.1:0")
        .threads(1)
        .metrics(&metrics)
        .access_log(porter::AccessLog::file(&log_path))
        .build(app)
        .expect("builds")
        .spawn()
        .expect("spawns");
    let mut c = Client::connect(server.local_addr());
    let (mut sizes, mut on_wire) = (Vec::new(), Vec::new());
    for target in ["/reader", "/channel", "/file", "/deferred"] {
        let r = c.round_trip(format!("GET {target} HTTP/1.1\r\nHost: h\r\n\r\n"));
        assert_eq!(r.status, 200, "{target}");
        sizes.push(r.body.len() as u64);
        let head = common::find(&r.raw, b"\r\n\r\n").expect("a head") + 4;
        on_wire.push((r.raw.len() - head) as u64);
    }
    assert_eq!(sizes, [70_000, 30_000, 250_000, 5]);
    // Body bytes count as they go on the wire: the chunked ones with their framing.
    let sizes = on_wire;
    assert!(sizes[0] > 70_000 && sizes[1] > 30_000 && sizes[2..] == [250_000, 5], "{sizes:?}");
    drop(c);
    server.shutdown(Duration::from_secs(5)).expect("shutdown");
    let s = parse(&metrics.render());
    assert_eq!(value(&s, "porter_response_body_bytes_total"), sizes.iter().sum::<u64>());
    assert_eq!(class(&s, "2xx"), 4);
    let logged: Vec<u64> = std::fs::read_to_string(&log_path)
        .expect("the log")
        .lines()
        .map(|l| l.split(' ').nth(9).and_then(|b| b.parse().ok()).unwrap_or_else(|| panic!("bytes in {l:?}")))
        .collect();
    assert_eq!(logged, sizes);
}
