//! The request-target and authority grammar (RFC 9112 §3.2, RFC 3986 §3.2):
//! which form a target has, where its path, query and authority lie, and
//! whether a Host value is a valid `host[:port]`.

use super::token::parse_decimal;
use super::{ParseError, Span, TargetForm};

/// The pieces of a request-target.
pub(super) struct TargetParts {
    pub(super) form: TargetForm,
    pub(super) path: Span,
    pub(super) query: Option<Span>,
    pub(super) authority: Option<Span>,
}

/// Checks the target and splits it (RFC 9112 §3.2).
pub(super) fn parse_target(buf: &[u8], method: &[u8], target: Span) -> Result<TargetParts, ParseError> {
    let bytes = target.get(buf);
    // RFC 3986 §2: a URI is visible ASCII (httparse lets bytes >= 0x80 through);
    // RFC 9112 §3.2: the target has no fragment, so `#` has no business here.
    if bytes.is_empty() || !bytes.iter().all(|&b| b.is_ascii_graphic() && b != b'#') {
        return Err(ParseError::BadTarget);
    }
    // RFC 9112 §3.2.3: authority-form belongs to CONNECT, which porter does not
    // implement: RFC 9110 §15.6.2 makes that a 501, whatever the target.
    if method == b"CONNECT" {
        return Err(ParseError::ConnectNotSupported);
    }
    let offset = target.start as usize;
    match bytes {
        [b'/', ..] => {
            let (path, query) = split_query(bytes, offset);
            Ok(TargetParts { form: TargetForm::Origin, path, query, authority: None })
        }
        // RFC 9112 §3.2.4: asterisk-form only for a server-wide OPTIONS.
        b"*" if method == b"OPTIONS" => {
            Ok(TargetParts { form: TargetForm::Asterisk, path: target, query: None, authority: None })
        }
        b"*" => Err(ParseError::BadTarget),
        _ => absolute_form(bytes, offset),
    }
}

/// Splits `path?query` found at `offset` in the buffer.
fn split_query(path_and_query: &[u8], offset: usize) -> (Span, Option<Span>) {
    let end = offset + path_and_query.len();
    match path_and_query.iter().position(|&b| b == b'?') {
        Some(q) => (Span::new(offset, offset + q), Some(Span::new(offset + q + 1, end))),
        None => (Span::new(offset, end), None),
    }
}

/// Parses `scheme://authority[path][?query]` (RFC 9112 §3.2.2).
fn absolute_form(target: &[u8], offset: usize) -> Result<TargetParts, ParseError> {
    let scheme_end = target.windows(3).position(|w| w == b"://").ok_or(ParseError::BadTarget)?;
    let (scheme, rest) = target.split_at(scheme_end);
    // porter serves only the http and https schemes (RFC 9110 §4.2); scheme names
    // are case-insensitive (RFC 3986 §3.1).
    if !(scheme.eq_ignore_ascii_case(b"http") || scheme.eq_ignore_ascii_case(b"https")) {
        return Err(ParseError::BadTarget);
    }
    let rest = rest.get(3..).unwrap_or_default();
    let authority_len = rest.iter().position(|&b| b == b'/' || b == b'?').unwrap_or(rest.len());
    let (authority, path_and_query) = rest.split_at(authority_len);
    // RFC 9110 §4.2.1: an empty host is invalid; §4.2.4: userinfo is an error.
    if !is_valid_authority(authority) {
        return Err(ParseError::BadTarget);
    }
    let authority_start = offset + scheme_end + 3;
    let authority_end = authority_start + authority_len;
    let (path, query) = split_query(path_and_query, authority_end);
    Ok(TargetParts {
        form: TargetForm::Absolute,
        path,
        query,
        authority: Some(Span::new(authority_start, authority_end)),
    })
}

/// `host [ ":" port ]` (RFC 3986 §3.2) with a non-empty host and no userinfo.
pub(super) fn is_valid_authority(authority: &[u8]) -> bool {
    let Some((host, port)) = split_port(authority) else { return false };
    let is_host_ok = match host.first() {
        None => false,
        Some(b'[') => is_ip_literal(host),
        Some(_) => is_reg_name(host),
    };
    is_host_ok && port.is_none_or(is_valid_port)
}

/// Splits `host[:port]`; `None` if junk follows an IP literal.
fn split_port(authority: &[u8]) -> Option<(&[u8], Option<&[u8]>)> {
    let host_end = if authority.first() == Some(&b'[') {
        authority.iter().position(|&b| b == b']').map_or(authority.len(), |close| close + 1)
    } else {
        authority.iter().position(|&b| b == b':').unwrap_or(authority.len())
    };
    let (host, rest) = authority.split_at(host_end);
    match rest.split_first() {
        None => Some((host, None)),
        Some((b':', port)) => Some((host, Some(port))),
        Some(_) => None,
    }
}

/// RFC 3986 §3.2.3: `port = *DIGIT`, empty allowed; porter also requires <= 65535.
fn is_valid_port(port: &[u8]) -> bool {
    port.is_empty() || parse_decimal(port).is_some_and(|n| n <= u64::from(u16::MAX))
}

/// RFC 3986 §3.2.2: `reg-name = *( unreserved / pct-encoded / sub-delims )`;
/// IPv4 addresses are a subset. `@` (userinfo) is not among these bytes.
fn is_reg_name(host: &[u8]) -> bool {
    host.iter().all(|&b| is_unreserved(b) || is_sub_delim(b) || b == b'%')
        && host.split(|&b| b == b'%').skip(1).all(|after| after.get(..2).is_some_and(is_hex_pair))
}

fn is_hex_pair(pair: &[u8]) -> bool {
    pair.iter().all(u8::is_ascii_hexdigit)
}

/// RFC 3986 §3.2.2: `"[" ( IPv6address / IPvFuture ) "]"`. The IPv6 check is
/// loose (hex digits, `:` and `.`, at least one `:`); the address is not used
/// for routing, only passed on.
fn is_ip_literal(host: &[u8]) -> bool {
    let Some(inner) = host.strip_prefix(b"[").and_then(|h| h.strip_suffix(b"]")) else { return false };
    match inner.split_first() {
        Some((b'v' | b'V', future)) => is_ip_future(future),
        _ => inner.contains(&b':') && inner.iter().all(|&b| b.is_ascii_hexdigit() || b == b':' || b == b'.'),
    }
}

/// The part of `IPvFuture` after the `v`: `1*HEXDIG "." 1*( unreserved / sub-delims / ":" )`.
fn is_ip_future(rest: &[u8]) -> bool {
    let Some(dot) = rest.iter().position(|&b| b == b'.') else { return false };
    let (version, tail) = rest.split_at(dot);
    let tail = tail.get(1..).unwrap_or_default();
    !version.is_empty()
        && version.iter().all(u8::is_ascii_hexdigit)
        && !tail.is_empty()
        && tail.iter().all(|&b| is_unreserved(b) || is_sub_delim(b) || b == b':')
}

fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

fn is_sub_delim(b: u8) -> bool {
    matches!(b, b'!' | b'$' | b'&' | b'\'' | b'(' | b')' | b'*' | b'+' | b',' | b';' | b'=')
}
