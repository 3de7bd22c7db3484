//! The PROXY protocol over loopback, with literal header bytes: versions 1
//! (TCP4, TCP6, UNKNOWN) and 2 (PROXY, LOCAL, IPv4, IPv6, TLVs), headers
//! split across reads and followed by pipelined requests in the same write,
//! the ways a header can be bad or missing (closed without a reply), a plain
//! listener that does not interpret one (400), HTTPS after the header, the
//! header timeout, and the access log and `local_addr` naming the real ends.
//!
//! The handler answers with the peer address it sees, so every assertion is
//! on bytes and closure, never on time.

mod common;

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;

use common::{find, wait_until, Client, SAFETY_TIMEOUT};
use porter::{ListenOptions, Request, Response, Server, ServerHandle};

/// Answers `peer target` (the peer as the handler sees it).
fn who(req: Request) -> Response {
    let peer = req.peer_addr().map_or_else(|| "-".to_string(), |p| p.to_string());
    Response::text(format!("{peer} {}", req.target()))
}

fn serve(options: ListenOptions) -> ServerHandle {
    Server::builder().listen_with("127.0.0.1:0", options).threads(1).build(who).unwrap().spawn().unwrap()
}

fn serve_proxy() -> ServerHandle {
    serve(ListenOptions::new().proxy_protocol(true))
}

const GET: &[u8] = b"GET /a HTTP/1.1\r\nHost: t\r\n\r\n";

/// Sends `header` and a GET in one write; returns what the handler saw.
fn seen_after(header: &[u8]) -> (String, SocketAddr) {
    let server = serve_proxy();
    let mut client = Client::connect(server.local_addr());
    client.send([header, GET].concat());
    let reply = client.read_reply();
    assert_eq!(reply.status, 200, "{}", reply.head_text());
    (reply.text(), client.stream.local_addr().unwrap())
}

/// A v2 header: signature, version/command, family, then `block`.
fn v2(version_command: u8, family: u8, block: &[u8]) -> Vec<u8> {
    let mut out = b"\r\n\r\n\0\r\nQUIT\n".to_vec();
    out.extend_from_slice(&[version_command, family]);
    out.extend_from_slice(&(block.len() as u16).to_be_bytes());
    out.extend_from_slice(block);
    out
}

/// 192.0.2.1:51000 -> 198.51.100.2:443.
const INET4: [u8; 12] = [192, 0, 2, 1, 198, 51, 100, 2, 0xc7, 0x38, 0x01, 0xbb];

/// Asserts the server closed the connection without sending a byte (a reset
/// counts: the server may close with the client's bytes unread).
fn assert_dropped(mut stream: TcpStream, context: &str) {
    stream.set_read_timeout(Some(SAFETY_TIMEOUT)).unwrap();
    let mut got = Vec::new();
    match stream.read_to_end(&mut got) {
        Ok(_) => {}
        Err(e) if e.kind() == ErrorKind::ConnectionReset => {}
        Err(e) => panic!("{context}: expected the server to close, read failed: {e}"),
    }
    assert!(got.is_empty(), "{context}: expected no reply, got {:?}", String::from_utf8_lossy(&got));
}

fn dropped_after(bytes: &[u8], context: &str) {
    let server = serve_proxy();
    let mut stream = TcpStream::connect(server.local_addr()).unwrap();
    stream.write_all(bytes).unwrap();
    assert_dropped(stream, context);
}

#[test]
fn v1_tcp4_names_the_client() {
    let (seen, _) = seen_after(b"PROXY TCP4 192.0.2.1 198.51.100.2 51000 443\r\n");
    assert_eq!(seen, "192.0.2.1:51000 /a");
}

#[test]
fn v1_tcp6_names_the_client() {
    let (seen, _) = seen_after(b"PROXY TCP6 2001:db8::7 2001:db8::1 40000 443\r\n");
    assert_eq!(seen, "[2001:db8::7]:40000 /a");
}

#[test]
fn v1_unknown_keeps_the_socket_address() {
    let (seen, local) = seen_after(b"PROXY UNKNOWN\r\n");
    assert_eq!(seen, format!("{local} /a"));
    let (seen, local) = seen_after(b"PROXY UNKNOWN ffff::1 ffff::2 65535 65535\r\n");
    assert_eq!(seen, format!("{local} /a"));
}

#[test]
fn v2_proxy_ipv4_and_ipv6() {
    let (seen, _) = seen_after(&v2(0x21, 0x11, &INET4));
    assert_eq!(seen, "192.0.2.1:51000 /a");
    let mut block = [0u8; 36];
    block[..16].copy_from_slice(&"2001:db8::7".parse::<std::net::Ipv6Addr>().unwrap().octets());
    block[16..32].copy_from_slice(&std::net::Ipv6Addr::LOCALHOST.octets());
    block[32..].copy_from_slice(&[0x9c, 0x40, 0x01, 0xbb]);
    let (seen, _) = seen_after(&v2(0x21, 0x21, &block));
    assert_eq!(seen, "[2001:db8::7]:40000 /a");
}

#[test]
fn v2_tlvs_are_skipped() {
    // PP2_TYPE_AUTHORITY "example.com", PP2_TYPE_UNIQUE_ID, a PP2_TYPE_NOOP.
    let mut block = INET4.to_vec();
    block.extend_from_slice(&[0x02, 0x00, 0x0b]);
    block.extend_from_slice(b"example.com");
    block.extend_from_slice(&[0x05, 0x00, 0x04, 1, 2, 3, 4, 0x04, 0x00, 0x00]);
    let (seen, _) = seen_after(&v2(0x21, 0x11, &block));
    assert_eq!(seen, "192.0.2.1:51000 /a");
}

#[test]
fn v2_local_keeps_the_socket_address() {
    // A balancer's health check: LOCAL, usually with family UNSPEC.
    let (seen, local) = seen_after(&v2(0x20, 0x00, &[]));
    assert_eq!(seen, format!("{local} /a"));
    let (seen, local) = seen_after(&v2(0x20, 0x11, &INET4));
    assert_eq!(seen, format!("{local} /a"));
}

#[test]
fn local_addr_is_the_balancer_address_the_header_names() {
    let local = |req: Request| Response::text(format!("{:?}", req.local_addr()));
    let proxied = Server::builder()
        .listen_with("127.0.0.1:0", ListenOptions::new().proxy_protocol(true))
        .threads(1)
        .build(local)
        .unwrap()
        .spawn()
        .unwrap();
    let mut client = Client::connect(proxied.local_addr());
    client.send([&b"PROXY TCP4 192.0.2.1 198.51.100.2 51000 443\r\n"[..], GET].concat());
    assert_eq!(client.read_reply().text(), "Some(198.51.100.2:443)");
    // LOCAL: the socket's own address.
    let mut client = Client::connect(proxied.local_addr());
    client.send([&v2(0x20, 0x00, &[])[..], GET].concat());
    assert_eq!(client.read_reply().text(), format!("Some({})", proxied.local_addr()));
    // A wildcard listener reports the address each client reached.
    let wildcard = Server::builder().listen("0.0.0.0:0").threads(1).build(local).unwrap().spawn().unwrap();
    let reached = SocketAddr::from(([127, 0, 0, 1], wildcard.local_addr().port()));
    assert_eq!(Client::connect(reached).round_trip(GET).text(), format!("Some({reached})"));
}

#[test]
fn header_split_across_reads() {
    let server = serve_proxy();
    for header in [b"PROXY TCP4 192.0.2.1 198.51.100.2 51000 443\r\n".to_vec(), v2(0x21, 0x11, &INET4)] {
        let mut client = Client::connect(server.local_addr());
        for piece in header.chunks(7) {
            client.send(piece);
            // A round trip on another connection through the same (single)
            // loop: by its reply the loop has seen this piece arrive.
            let mut other = Client::connect(server.local_addr());
            other.send(b"PROXY UNKNOWN\r\n");
            assert_eq!(other.round_trip(GET).status, 200);
        }
        client.send(GET);
        assert_eq!(client.read_reply().text(), "192.0.2.1:51000 /a");
    }
}

#[test]
fn pipelined_requests_in_the_header_packet() {
    let server = serve_proxy();
    let mut client = Client::connect(server.local_addr());
    let get = |path: &str| format!("GET {path} HTTP/1.1\r\nHost: t\r\n\r\n").into_bytes();
    client.send([&b"PROXY TCP4 192.0.2.9 198.51.100.2 1234 80\r\n"[..], &get("/1"), &get("/2"), &get("/3")].concat());
    let bodies: Vec<String> = client.read_replies(3).iter().map(|r| r.text()).collect();
    assert_eq!(bodies, ["192.0.2.9:1234 /1", "192.0.2.9:1234 /2", "192.0.2.9:1234 /3"]);
    // Later requests on the connection keep the proxied address.
    assert_eq!(client.round_trip(get("/4")).text(), "192.0.2.9:1234 /4");
}

#[test]
fn bad_headers_close_without_a_reply() {
    let rows: &[(&[u8], &str)] = &[
        (b"PROXY TCP4 192.0.2.1 198.51.100.2 99999 443\r\nGET / HTTP/1.1\r\n\r\n", "v1 port out of range"),
        (b"PROXY TCP4 ::1 ::1 1 2\r\nGET / HTTP/1.1\r\n\r\n", "v1 family mismatch"),
        (b"PROXY TCP4  192.0.2.1 198.51.100.2 1 2\r\n", "v1 double space"),
        (b"PROXY TCP9 192.0.2.1 198.51.100.2 1 2\r\n", "v1 unknown protocol"),
        (&[b"PROXY UNKNOWN ".as_slice(), &[b'x'; 120], b"\r\n"].concat(), "v1 longer than 107 bytes"),
        (&v2(0x11, 0x11, &INET4), "v2 version 1"),
        (&v2(0x23, 0x11, &INET4), "v2 unknown command"),
        (&v2(0x21, 0x51, &INET4), "v2 unknown family"),
        (&v2(0x21, 0x21, &INET4), "v2 block too short for IPv6"),
        (&v2(0x21, 0x11, &[0; 5000]), "v2 longer than the default 4096"),
    ];
    for (bytes, context) in rows {
        dropped_after(bytes, context);
    }
}

#[test]
fn a_missing_header_closes_without_a_reply() {
    dropped_after(GET, "plain HTTP on a PROXY listener");
    dropped_after(b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03", "a TLS ClientHello without a header");
}

#[test]
fn eof_inside_the_header_frees_the_connection() {
    let server = serve_proxy();
    let mut stream = TcpStream::connect(server.local_addr()).unwrap();
    stream.write_all(b"PROXY TCP4 192.0.2.1 198.5").unwrap();
    stream.shutdown(std::net::Shutdown::Write).unwrap();
    assert_dropped(stream, "EOF inside a v1 header");
    wait_until(|| server.connections() == 0, "the connection is freed");
}

#[test]
fn the_header_timeout_bounds_the_header() {
    // A short header timeout and the default (long) idle timeout: a silent or
    // stalled balancer connection is closed by the former.
    let limits = porter::Limits { header_timeout: std::time::Duration::from_millis(100), ..Default::default() };
    let server = Server::builder()
        .listen_with("127.0.0.1:0", ListenOptions::new().proxy_protocol(true))
        .threads(1)
        .limits(limits)
        .build(who)
        .unwrap()
        .spawn()
        .unwrap();
    assert_dropped(TcpStream::connect(server.local_addr()).unwrap(), "a connection that sends nothing");
    let mut stalled = TcpStream::connect(server.local_addr()).unwrap();
    stalled.write_all(b"PROXY TCP4 192.0.2.1 ").unwrap();
    assert_dropped(stalled, "a header that stops halfway");
    wait_until(|| server.connections() == 0, "both connections are freed");
}

#[test]
fn the_header_length_bound_is_a_knob() {
    let server = serve(ListenOptions::new().proxy_protocol(true).max_proxy_header(64));
    let fits = v2(0x21, 0x11, &[&INET4[..], &[0x04, 0x00, 33], &[0; 33]].concat());
    assert_eq!(fits.len(), 64);
    let mut client = Client::connect(server.local_addr());
    client.send([&fits[..], GET].concat());
    assert_eq!(client.read_reply().text(), "192.0.2.1:51000 /a");
    let too_long = v2(0x21, 0x11, &[&INET4[..], &[0x04, 0x00, 34], &[0; 34]].concat());
    let mut stream = TcpStream::connect(server.local_addr()).unwrap();
    stream.write_all(&[&too_long[..], GET].concat()).unwrap();
    assert_dropped(stream, "a v2 header one byte over the bound");
}

#[test]
fn a_plain_listener_does_not_interpret_proxy() {
    let server = serve(ListenOptions::new());
    let mut client = Client::connect(server.local_addr());
    client.send([&b"PROXY TCP4 192.0.2.1 198.51.100.2 51000 443\r\n"[..], GET].concat());
    assert_eq!(client.read_reply().status, 400);
    // Without a header the socket's address is the peer.
    let mut client = Client::connect(server.local_addr());
    let local = client.stream.local_addr().unwrap();
    assert_eq!(client.round_trip(GET).text(), format!("{local} /a"));
}

#[test]
fn several_workers_each_read_headers() {
    let server = Server::builder()
        .listen_with("127.0.0.1:0", ListenOptions::new().proxy_protocol(true))
        .threads(2)
        .build(who)
        .unwrap()
        .spawn()
        .unwrap();
    for i in 1..=8u8 {
        let mut client = Client::connect(server.local_addr());
        client.send([format!("PROXY TCP4 192.0.2.{i} 198.51.100.2 1000 80\r\n").as_bytes(), GET].concat());
        assert_eq!(client.read_reply().text(), format!("192.0.2.{i}:1000 /a"));
    }
}

#[test]
fn the_access_log_names_the_real_client() {
    let records = common::logs::captured();
    let server = Server::builder()
        .listen_with("127.0.0.1:0", ListenOptions::new().proxy_protocol(true))
        .threads(1)
        .access_log(porter::AccessLog::log_crate())
        .build(who)
        .unwrap()
        .spawn()
        .unwrap();
    let mut client = Client::connect(server.local_addr());
    client.send(b"PROXY TCP4 203.0.113.77 198.51.100.2 5555 80\r\nGET /logged HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_eq!(client.read_reply().status, 200);
    let access_line = || {
        let lines = records.lock().unwrap_or_else(|e| e.into_inner());
        lines.iter().find(|l| l.starts_with("porter::access ") && l.contains("/logged")).cloned()
    };
    wait_until(|| access_line().is_some(), "the access line is written");
    let line = access_line().unwrap();
    assert!(line.starts_with("porter::access 203.0.113.77 "), "access line {line:?} must name the proxied client");
}

mod tls {
    use super::*;
    use common::pki::Pki;
    use rustls::pki_types::ServerName;
    use rustls::{ClientConfig, ClientConnection, StreamOwned};

    /// Server and client TLS configurations from a test PKI (`localhost`).
    fn pki() -> (porter::TlsConfig, Arc<ClientConfig>) {
        let pki = Pki::new();
        (pki.config(), pki.client_config())
    }

    /// Writes `header` and the ClientHello in one write, then one request with
    /// `Connection: close`; returns the reply body.
    fn get_over_tls(addr: SocketAddr, client: &Arc<ClientConfig>, header: &[u8]) -> String {
        let tcp = TcpStream::connect(addr).unwrap();
        tcp.set_read_timeout(Some(SAFETY_TIMEOUT)).unwrap();
        let name = ServerName::try_from("localhost").unwrap();
        let mut conn = ClientConnection::new(client.clone(), name).unwrap();
        let mut first = header.to_vec();
        conn.write_tls(&mut first).unwrap();
        (&tcp).write_all(&first).unwrap();
        let mut tls = StreamOwned::new(conn, tcp);
        tls.write_all(b"GET /tls HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").unwrap();
        let mut reply = Vec::new();
        tls.read_to_end(&mut reply).unwrap();
        let at = find(&reply, b"\r\n\r\n").expect("a complete reply head");
        assert!(reply.starts_with(b"HTTP/1.1 200 "), "{}", String::from_utf8_lossy(&reply));
        String::from_utf8_lossy(&reply[at + 4..]).into_owned()
    }

    #[test]
    fn the_header_comes_before_the_handshake() {
        let (server_tls, client) = pki();
        let server = serve(ListenOptions::new().tls(server_tls).proxy_protocol(true));
        let addr = server.local_addr();
        let v1 = get_over_tls(addr, &client, b"PROXY TCP4 192.0.2.1 198.51.100.2 51000 443\r\n");
        assert_eq!(v1, "192.0.2.1:51000 /tls");
        assert_eq!(get_over_tls(addr, &client, &v2(0x21, 0x11, &INET4)), "192.0.2.1:51000 /tls");
        // A ClientHello without a header is refused like anything else.
        let mut conn = ClientConnection::new(client.clone(), ServerName::try_from("localhost").unwrap()).unwrap();
        let mut hello = Vec::new();
        conn.write_tls(&mut hello).unwrap();
        let mut stream = TcpStream::connect(addr).unwrap();
        stream.write_all(&hello).unwrap();
        assert_dropped(stream, "TLS without a PROXY header");
    }
}
