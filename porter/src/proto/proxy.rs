//! The PROXY protocol header (HAProxy's `proxy-protocol.txt`, versions 1 and 2):
//! the preface a load balancer writes before anything else on a connection,
//! naming the client it accepted.
//!
//! [`decode`] reads the header from the start of a connection's first bytes:
//! - `Ok(None)`: valid so far but incomplete: read more and call again with
//!   the same start. Never an error.
//! - `Ok(Some(header))`: the first [`ProxyHeader::len`] bytes are the header;
//!   what follows is the connection's own stream (HTTP, or a TLS handshake).
//! - `Err(_)`: not a PROXY header, or a broken one. Final: the receiver "must
//!   not try to guess" (§2), so the connection is closed without a reply.
//!
//! Invariants:
//! - Pure and total: no I/O, no panic whatever the bytes.
//! - The verdict does not depend on how the bytes arrive: every prefix of the
//!   input gives `Ok(None)` or the very verdict of the whole input.
//! - Only the header's own bytes are examined, never what follows it.
//! - Strict: v1 addresses, ports and single spaces exactly as §2.1 writes
//!   them; v2 version, command, family and transport only as §2.2 defines them.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// §2.1: a v1 line is at most 107 bytes, CRLF included.
pub(crate) const V1_MAX: usize = 107;
/// §2.1: every v1 header starts with these six bytes.
const V1_PREFIX: &[u8] = b"PROXY ";
/// §2.2: the v2 signature.
const V2_SIGNATURE: &[u8; 12] = b"\r\n\r\n\0\r\nQUIT\n";
/// §2.2: signature, version/command, family/transport, length.
const V2_FIXED: usize = 16;
/// §2.2: the `LOCAL` and `PROXY` commands.
const LOCAL: u8 = 0x0;
const PROXY: u8 = 0x1;
/// §2.2: `TCP over IPv4` and `TCP over IPv6`, the family/transport bytes
/// whose addresses porter uses.
const TCP4: u8 = 0x11;
const TCP6: u8 = 0x21;

/// A complete PROXY header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ProxyHeader {
    /// The bytes the header takes at the start of the stream.
    pub(crate) len: usize,
    /// The connection as the balancer accepted it; `None` means "use the
    /// socket's own addresses": a `LOCAL` command (the balancer's own health
    /// check), v1 `UNKNOWN`, or a v2 family porter does not map (UNIX, UNSPEC).
    pub(crate) addrs: Option<Proxied>,
}

/// The two ends of the client's connection to the balancer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Proxied {
    /// The client.
    pub(crate) source: SocketAddr,
    /// The address the client connected to (on the balancer).
    pub(crate) destination: SocketAddr,
}

/// Why a header was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ProxyError {
    /// Neither signature: not a PROXY header at all.
    NotProxy,
    /// v1: no CRLF within 107 bytes (§2.1).
    V1TooLong,
    /// v1: a malformed protocol, address or port, or a stray space (§2.1).
    V1Syntax,
    /// v2: a version other than 2 (§2.2).
    V2Version,
    /// v2: a command other than LOCAL or PROXY (§2.2).
    V2Command,
    /// v2: an undefined address family or transport protocol (§2.2).
    V2Family,
    /// v2: a length too short for the family's addresses (§2.2).
    V2AddressLength,
    /// v2: longer than the listener accepts.
    V2TooLong,
}

impl fmt::Display for ProxyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ProxyError::NotProxy => "no PROXY protocol signature",
            ProxyError::V1TooLong => "PROXY v1 line longer than 107 bytes",
            ProxyError::V1Syntax => "malformed PROXY v1 line",
            ProxyError::V2Version => "PROXY v2 header with a version other than 2",
            ProxyError::V2Command => "PROXY v2 header with an unknown command",
            ProxyError::V2Family => "PROXY v2 header with an unknown family or transport",
            ProxyError::V2AddressLength => "PROXY v2 header too short for its addresses",
            ProxyError::V2TooLong => "PROXY v2 header longer than the listener accepts",
        })
    }
}

/// Reads a PROXY header (v1 or v2) from the start of `buf`. A v2 header longer
/// than `max_v2` bytes in all is refused; v1 has its own bound of 107.
pub(crate) fn decode(buf: &[u8], max_v2: usize) -> Result<Option<ProxyHeader>, ProxyError> {
    if starts_like(buf, V2_SIGNATURE) {
        decode_v2(buf, max_v2)
    } else if starts_like(buf, V1_PREFIX) {
        decode_v1(buf)
    } else {
        Err(ProxyError::NotProxy)
    }
}

/// True when `buf` and `signature` agree on their common length.
fn starts_like(buf: &[u8], signature: &[u8]) -> bool {
    let n = buf.len().min(signature.len());
    buf[..n] == signature[..n]
}

/// §2.1: `PROXY TCP4|TCP6 src dst sport dport\r\n` or `PROXY UNKNOWN...\r\n`.
fn decode_v1(buf: &[u8]) -> Result<Option<ProxyHeader>, ProxyError> {
    let window = &buf[..buf.len().min(V1_MAX)];
    let Some(end) = window.windows(2).position(|w| w == b"\r\n") else {
        return if buf.len() >= V1_MAX { Err(ProxyError::V1TooLong) } else { Ok(None) };
    };
    let line = std::str::from_utf8(&window[..end]).map_err(|_| ProxyError::V1Syntax)?;
    let rest = line.get(V1_PREFIX.len()..).ok_or(ProxyError::V1Syntax)?;
    let (protocol, addresses) = match rest.split_once(' ') {
        Some((protocol, addresses)) => (protocol, Some(addresses)),
        None => (rest, None),
    };
    let addrs = match (protocol, addresses) {
        // §2.1: with UNKNOWN the rest of the line is ignored and the real
        // connection's addresses are used.
        ("UNKNOWN", _) => None,
        ("TCP4", Some(text)) => Some(v1_addresses(text, false)?),
        ("TCP6", Some(text)) => Some(v1_addresses(text, true)?),
        _ => return Err(ProxyError::V1Syntax),
    };
    Ok(Some(ProxyHeader { len: end + 2, addrs }))
}

/// `src dst sport dport`, single spaces, addresses of the announced family.
fn v1_addresses(text: &str, v6: bool) -> Result<Proxied, ProxyError> {
    let mut fields = text.split(' ');
    let (Some(src), Some(dst), Some(sport), Some(dport), None) =
        (fields.next(), fields.next(), fields.next(), fields.next(), fields.next())
    else {
        return Err(ProxyError::V1Syntax);
    };
    let ip = |s: &str| -> Result<IpAddr, ProxyError> {
        let parsed = if v6 { s.parse::<Ipv6Addr>().map(IpAddr::V6) } else { s.parse::<Ipv4Addr>().map(IpAddr::V4) };
        parsed.map_err(|_| ProxyError::V1Syntax)
    };
    Ok(Proxied {
        source: SocketAddr::new(ip(src)?, v1_port(sport)?),
        destination: SocketAddr::new(ip(dst)?, v1_port(dport)?),
    })
}

/// §2.1: a port is decimal, 0 to 65535, without leading zeroes.
fn v1_port(text: &str) -> Result<u16, ProxyError> {
    if text.len() > 5 || (text.len() > 1 && text.starts_with('0')) {
        return Err(ProxyError::V1Syntax);
    }
    crate::proto::parse::parse_decimal(text.as_bytes()).and_then(|n| u16::try_from(n).ok()).ok_or(ProxyError::V1Syntax)
}

/// §2.2: signature, version and command, family and transport, length, then
/// the address block and TLVs (skipped).
fn decode_v2(buf: &[u8], max_len: usize) -> Result<Option<ProxyHeader>, ProxyError> {
    let Some(&version_command) = buf.get(12) else { return Ok(None) };
    if version_command >> 4 != 2 {
        return Err(ProxyError::V2Version);
    }
    let command = version_command & 0x0f;
    if command != LOCAL && command != PROXY {
        return Err(ProxyError::V2Command);
    }
    let Some(&family) = buf.get(13) else { return Ok(None) };
    // Families UNSPEC, INET, INET6, UNIX; transports UNSPEC, STREAM, DGRAM.
    if family >> 4 > 3 || family & 0x0f > 2 {
        return Err(ProxyError::V2Family);
    }
    let Some(&[high, low]) = buf.get(14..16) else { return Ok(None) };
    let len = V2_FIXED + usize::from(u16::from_be_bytes([high, low]));
    if len > max_len {
        return Err(ProxyError::V2TooLong);
    }
    // LOCAL: "the receiver must ... discard the protocol block including the family".
    if command == PROXY && len - V2_FIXED < address_block(family) {
        return Err(ProxyError::V2AddressLength);
    }
    let Some(block) = buf.get(V2_FIXED..len) else { return Ok(None) };
    let addrs = match (command, family) {
        (PROXY, TCP4) => inet4(block),
        (PROXY, TCP6) => inet6(block),
        _ => None,
    };
    Ok(Some(ProxyHeader { len, addrs }))
}

/// §2.2: the size of the address block of each family.
fn address_block(family: u8) -> usize {
    match family >> 4 {
        1 => 12,
        2 => 36,
        3 => 216,
        _ => 0,
    }
}

fn inet4(block: &[u8]) -> Option<Proxied> {
    let b: [u8; 12] = block.get(..12)?.try_into().ok()?;
    let ip = |at: usize| IpAddr::V4(Ipv4Addr::new(b[at], b[at + 1], b[at + 2], b[at + 3]));
    let port = |at: usize| u16::from_be_bytes([b[at], b[at + 1]]);
    Some(Proxied { source: SocketAddr::new(ip(0), port(8)), destination: SocketAddr::new(ip(4), port(10)) })
}

fn inet6(block: &[u8]) -> Option<Proxied> {
    let b: [u8; 36] = block.get(..36)?.try_into().ok()?;
    let ip = |at: usize| {
        let octets: [u8; 16] = b[at..at + 16].try_into().unwrap_or([0; 16]);
        IpAddr::V6(Ipv6Addr::from(octets))
    };
    let port = |at: usize| u16::from_be_bytes([b[at], b[at + 1]]);
    Some(Proxied { source: SocketAddr::new(ip(0), port(32)), destination: SocketAddr::new(ip(16), port(34)) })
}

/// The decoder's invariants, for the unit tests and the `proxy` fuzz target:
/// a decoded header lies in `input` and within its bound, and every prefix of
/// `input` gives `Ok(None)` or the whole input's verdict (a complete header is
/// found as soon as its last byte is in). Panics when one breaks.
#[cfg(any(test, feature = "fuzzing"))]
pub(crate) fn check_invariants(input: &[u8], max_v2: usize) {
    let whole = decode(input, max_v2);
    if let Ok(Some(header)) = &whole {
        assert!(header.len <= input.len(), "a header longer than its input");
        assert!(header.len <= max_v2.max(V1_MAX), "a header past its bound");
    }
    for cut in 0..input.len() {
        let part = decode(&input[..cut], max_v2);
        match &part {
            Ok(None) => assert!(!matches!(&whole, Ok(Some(h)) if h.len <= cut), "prefix {cut} holds a whole header"),
            _ => assert_eq!(part, whole, "the prefix of {cut} bytes decides differently"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use ProxyError::*;
    use Want::Fails;

    const MAX: usize = 536;

    /// What a table row expects from `decode`.
    #[derive(Debug)]
    enum Want {
        /// A header of this many bytes naming `source -> destination`.
        Addrs(usize, &'static str, &'static str),
        /// A header of this many bytes that keeps the socket's addresses.
        Keep(usize),
        Incomplete,
        Fails(ProxyError),
    }

    fn check(input: &[u8], want: &Want) {
        let got = decode(input, MAX);
        let ok = match (want, &got) {
            (Want::Addrs(len, src, dst), Ok(Some(h))) => {
                h.len == *len
                    && h.addrs.is_some_and(|a| a.source.to_string() == *src && a.destination.to_string() == *dst)
            }
            (Want::Keep(len), Ok(Some(h))) => h.len == *len && h.addrs.is_none(),
            (Want::Incomplete, Ok(None)) => true,
            (Want::Fails(e), Err(g)) => e == g,
            _ => false,
        };
        assert!(ok, "input {:?}: want {want:?}, got {got:?}", String::from_utf8_lossy(input));
    }

    #[test]
    fn v1_table() {
        let rows: &[(&[u8], Want)] = &[
            (
                b"PROXY TCP4 192.0.2.1 198.51.100.2 51000 443\r\n",
                Want::Addrs(45, "192.0.2.1:51000", "198.51.100.2:443"),
            ),
            (b"PROXY TCP4 1.2.3.4 5.6.7.8 0 65535\r\nGET", Want::Addrs(36, "1.2.3.4:0", "5.6.7.8:65535")),
            (b"PROXY TCP6 2001:db8::1 ::1 1234 80\r\n", Want::Addrs(36, "[2001:db8::1]:1234", "[::1]:80")),
            (b"PROXY TCP6 ::ffff:1.2.3.4 ::1 1 2\r\n", Want::Addrs(35, "[::ffff:1.2.3.4]:1", "[::1]:2")),
            (b"PROXY UNKNOWN\r\n", Want::Keep(15)),
            (b"PROXY UNKNOWN ffff::1 ffff::2 65535 65535\r\nGET / HTTP/1.1", Want::Keep(43)),
            (b"PROXY UNKNOWN anything at all\r\n", Want::Keep(31)),
            // Incomplete, still plausible.
            (b"", Want::Incomplete),
            (b"P", Want::Incomplete),
            (b"PROXY", Want::Incomplete),
            (b"PROXY TCP4 1.2.3.4 5.6.7.8 1 2", Want::Incomplete),
            (b"PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r", Want::Incomplete),
            // Not a PROXY header.
            (b"GET / HTTP/1.1\r\n\r\n", Fails(NotProxy)),
            (b"proxy TCP4", Fails(NotProxy)),
            (b"PROXY\r\n", Fails(NotProxy)),
            (b"PROXYTCP4", Fails(NotProxy)),
            // §2.1 syntax: protocols, spaces, addresses, ports.
            (b"PROXY TCP5 1.2.3.4 5.6.7.8 1 2\r\n", Fails(V1Syntax)),
            (b"PROXY tcp4 1.2.3.4 5.6.7.8 1 2\r\n", Fails(V1Syntax)),
            (b"PROXY TCP4\r\n", Fails(V1Syntax)),
            (b"PROXY  TCP4 1.2.3.4 5.6.7.8 1 2\r\n", Fails(V1Syntax)),
            (b"PROXY TCP4 1.2.3.4  5.6.7.8 1 2\r\n", Fails(V1Syntax)),
            (b"PROXY TCP4 1.2.3.4 5.6.7.8 1 2 \r\n", Fails(V1Syntax)),
            (b"PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n", Fails(V1Syntax)),
            (b"PROXY TCP4 1.2.3.4 5.6.7.8 1 2 3\r\n", Fails(V1Syntax)),
            (b"PROXY TCP4 1.2.3.4\t5.6.7.8 1 2\r\n", Fails(V1Syntax)),
            (b"PROXY TCP4 ::1 5.6.7.8 1 2\r\n", Fails(V1Syntax)),
            (b"PROXY TCP6 1.2.3.4 ::1 1 2\r\n", Fails(V1Syntax)),
            (b"PROXY TCP4 1.2.3.256 5.6.7.8 1 2\r\n", Fails(V1Syntax)),
            (b"PROXY TCP4 01.2.3.4 5.6.7.8 1 2\r\n", Fails(V1Syntax)),
            (b"PROXY TCP4 1.2.3 5.6.7.8 1 2\r\n", Fails(V1Syntax)),
            (b"PROXY TCP4 1.2.3.4 5.6.7.8 65536 2\r\n", Fails(V1Syntax)),
            (b"PROXY TCP4 1.2.3.4 5.6.7.8 080 2\r\n", Fails(V1Syntax)),
            (b"PROXY TCP4 1.2.3.4 5.6.7.8 +80 2\r\n", Fails(V1Syntax)),
            (b"PROXY TCP4 1.2.3.4 5.6.7.8 -1 2\r\n", Fails(V1Syntax)),
            (b"PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n", Want::Incomplete),
            (b"PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\r\n", Fails(V1Syntax)),
            (b"PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n\r\n", Fails(V1Syntax)),
            (b"PROXY TCP4 1.2.3.4 5.6.7.8 1 \xff\r\n", Fails(V1Syntax)),
            (b"PROXY TCP6 fe80::1%eth0 ::1 1 2\r\n", Fails(V1Syntax)),
        ];
        for (input, want) in rows {
            check(input, want);
        }
    }

    #[test]
    fn v1_line_is_at_most_107_bytes() {
        // The longest legal line (§2.1's worst case) is exactly 107 bytes.
        let longest = b"PROXY UNKNOWN ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n";
        assert_eq!(longest.len(), V1_MAX);
        check(longest, &Want::Keep(V1_MAX));
        let mut too_long = longest.to_vec();
        too_long.insert(20, b'f');
        check(&too_long, &Fails(V1TooLong));
        check(&too_long[..V1_MAX - 1], &Want::Incomplete);
        check(&[b'P'; 200], &Fails(NotProxy));
        let mut spaces = b"PROXY UNKNOWN".to_vec();
        spaces.resize(V1_MAX, b' ');
        check(&spaces, &Fails(V1TooLong));
    }

    /// A v2 header: signature, version/command byte, family byte, then `body`.
    fn v2(version_command: u8, family: u8, body: &[u8]) -> Vec<u8> {
        let mut out = V2_SIGNATURE.to_vec();
        out.extend_from_slice(&[version_command, family]);
        out.extend_from_slice(&(body.len() as u16).to_be_bytes());
        out.extend_from_slice(body);
        out
    }

    const INET4: [u8; 12] = [192, 0, 2, 1, 198, 51, 100, 2, 0xc7, 0x38, 0x01, 0xbb];

    fn inet6_block() -> Vec<u8> {
        let mut b = "2001:db8::1".parse::<Ipv6Addr>().unwrap().octets().to_vec();
        b.extend_from_slice(&Ipv6Addr::LOCALHOST.octets());
        b.extend_from_slice(&[0x04, 0xd2, 0x00, 0x50]);
        b
    }

    #[test]
    fn v2_table() {
        let with_tlvs = [&INET4[..], &[0x04, 0x00, 0x03, b'a', b'b', b'c', 0x03, 0x00, 0x04, 1, 2, 3, 4]].concat();
        let rows: Vec<(Vec<u8>, Want)> = vec![
            (v2(0x21, 0x11, &INET4), Want::Addrs(28, "192.0.2.1:51000", "198.51.100.2:443")),
            (v2(0x21, 0x21, &inet6_block()), Want::Addrs(52, "[2001:db8::1]:1234", "[::1]:80")),
            (v2(0x21, 0x11, &with_tlvs), Want::Addrs(41, "192.0.2.1:51000", "198.51.100.2:443")),
            // LOCAL: the balancer's own connection; the block (and family) is ignored.
            (v2(0x20, 0x00, &[]), Want::Keep(16)),
            (v2(0x20, 0x11, &INET4), Want::Keep(28)),
            (v2(0x20, 0x11, &[]), Want::Keep(16)),
            // Families porter does not map keep the socket's addresses.
            (v2(0x21, 0x00, &[]), Want::Keep(16)),
            (v2(0x21, 0x31, &[0; 216]), Want::Keep(232)),
            (v2(0x21, 0x12, &INET4), Want::Keep(28)),
            (v2(0x21, 0x10, &INET4), Want::Keep(28)),
            // Refused.
            (v2(0x11, 0x11, &INET4), Fails(V2Version)),
            (v2(0x31, 0x11, &INET4), Fails(V2Version)),
            (v2(0x22, 0x11, &INET4), Fails(V2Command)),
            (v2(0x2f, 0x11, &INET4), Fails(V2Command)),
            (v2(0x21, 0x41, &INET4), Fails(V2Family)),
            (v2(0x21, 0x13, &INET4), Fails(V2Family)),
            (v2(0x21, 0x11, &INET4[..11]), Fails(V2AddressLength)),
            (v2(0x21, 0x21, &INET4), Fails(V2AddressLength)),
            (v2(0x21, 0x31, &[0; 215]), Fails(V2AddressLength)),
            (v2(0x21, 0x11, &[0; MAX - 15]), Fails(V2TooLong)),
            (b"\r\n\r\n\0\r\nQUIT\n".iter().chain(&[0x21, 0x11, 0xff, 0xff]).copied().collect(), Fails(V2TooLong)),
            (b"\r\n\r\n\0\r\nQUIX\n".to_vec(), Fails(NotProxy)),
            (b"\r\n\r\nGET".to_vec(), Fails(NotProxy)),
            // Incomplete.
            (b"\r\n\r\n\0\r\nQU".to_vec(), Want::Incomplete),
            (V2_SIGNATURE.to_vec(), Want::Incomplete),
            (v2(0x21, 0x11, &INET4)[..27].to_vec(), Want::Incomplete),
        ];
        for (input, want) in &rows {
            check(input, want);
        }
        // The largest header the limit allows.
        check(&v2(0x21, 0x11, &[0; MAX - 16]), &Want::Addrs(MAX, "0.0.0.0:0", "0.0.0.0:0"));
    }

    #[test]
    fn bytes_after_the_header_are_not_examined() {
        let mut input = v2(0x21, 0x11, &INET4);
        input.extend_from_slice(b"\x16\x03\x01 a TLS ClientHello");
        check(&input, &Want::Addrs(28, "192.0.2.1:51000", "198.51.100.2:443"));
        check(b"PROXY UNKNOWN\r\n\xff\xff", &Want::Keep(15));
    }

    /// Valid headers of every kind, for the split and mutation properties.
    fn headers() -> impl Strategy<Value = Vec<u8>> {
        let v4 = (any::<[u8; 4]>(), any::<[u8; 4]>(), any::<u16>(), any::<u16>());
        let v1_tcp4 = v4.prop_map(|(s, d, sp, dp)| {
            format!("PROXY TCP4 {} {} {sp} {dp}\r\n", Ipv4Addr::from(s), Ipv4Addr::from(d)).into_bytes()
        });
        let v1_tcp6 = (any::<[u8; 16]>(), any::<[u8; 16]>(), any::<u16>()).prop_map(|(s, d, p)| {
            format!("PROXY TCP6 {} {} {p} 443\r\n", Ipv6Addr::from(s), Ipv6Addr::from(d)).into_bytes()
        });
        let families = prop::sample::select(vec![0x00u8, 0x01, 0x02, 0x10, 0x11, 0x12, 0x20, 0x21, 0x22, 0x30, 0x31]);
        let v2_any = (0x20u8..0x22, families, proptest::collection::vec(any::<u8>(), 0..64)).prop_map(
            |(command, family, tlvs)| {
                let mut body = vec![7u8; address_block(family)];
                body.extend_from_slice(&tlvs);
                v2(command, family, &body)
            },
        );
        prop_oneof![v1_tcp4, v1_tcp6, v2_any, Just(b"PROXY UNKNOWN\r\n".to_vec())]
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(input in proptest::collection::vec(any::<u8>(), 0..700)) {
            check_invariants(&input, MAX);
        }

        #[test]
        fn bytes_after_a_signature_never_panic(tail in proptest::collection::vec(any::<u8>(), 0..600), v1 in any::<bool>()) {
            let mut input = if v1 { V1_PREFIX.to_vec() } else { V2_SIGNATURE.to_vec() };
            input.extend_from_slice(&tail);
            check_invariants(&input, MAX);
        }

        #[test]
        fn no_split_changes_a_header(header in headers(), tail in proptest::collection::vec(any::<u8>(), 0..32)) {
            let mut input = header.clone();
            input.extend_from_slice(&tail);
            let whole = decode(&input, MAX);
            prop_assert!(matches!(whole, Ok(Some(h)) if h.len == header.len()), "{:?}", whole);
            check_invariants(&input, MAX);
        }

        #[test]
        fn mutated_headers_keep_the_invariants(header in headers(), at in any::<prop::sample::Index>(), byte in any::<u8>()) {
            let mut input = header;
            let i = at.index(input.len());
            input[i] = byte;
            check_invariants(&input, MAX);
        }
    }
}
