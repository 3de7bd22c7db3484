//! Access-log lines: the Combined Log Format and JSON lines.
//!
//! Every byte that came from the client (method, target, Referer, User-Agent,
//! Host) is escaped the way nginx escapes its log: `"`, `\` and every byte
//! outside printable ASCII become `\xHH`. A client therefore cannot end a line,
//! forge a field or break the JSON; in JSON the escape's backslash is itself
//! escaped, so a field's value reads exactly as the Combined field does. The
//! user (`%u`), the one such field the Combined format does not quote, has its
//! spaces escaped too (`\x20`), in both formats: a line always splits into the
//! same fields.
//!
//! Timestamps come from a [`Clock`] the loop sets once per iteration and that
//! re-formats only when the second changes: no system call per line.

use std::io::Write;
use std::net::IpAddr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::proto::parse::Version;

/// How each access-log line is written.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum LogFormat {
    /// Apache's Combined Log Format:
    /// `%h - %u [%d/%b/%Y:%H:%M:%S +0000] "%r" %>s %b "%{Referer}i" "%{User-Agent}i"`,
    /// with `-` for an absent value and for an empty body.
    #[default]
    Combined,
    /// One JSON object per line: `time` (RFC 3339, UTC), `remote`, `user`,
    /// `method`, `target`, `protocol`, `status`, `bytes`, `referer`,
    /// `user_agent`, `host`, `duration_us`; absent values are `null`.
    Json,
}

impl std::str::FromStr for LogFormat {
    type Err = String;

    /// `"combined"` or `"json"`, as config files and command lines spell them.
    fn from_str(name: &str) -> Result<LogFormat, String> {
        match name {
            "combined" => Ok(LogFormat::Combined),
            "json" => Ok(LogFormat::Json),
            other => Err(format!("unknown log format `{other}`, expected \"combined\" or \"json\"")),
        }
    }
}

/// The parts of the request an access-log line shows (client bytes, unescaped).
#[derive(Clone, Copy, Debug)]
pub(crate) struct RequestFields<'a> {
    pub(crate) method: &'a [u8],
    pub(crate) target: &'a [u8],
    pub(crate) version: Version,
    pub(crate) referer: Option<&'a [u8]>,
    pub(crate) user_agent: Option<&'a [u8]>,
    pub(crate) host: Option<&'a [u8]>,
    /// The authenticated user, if any.
    pub(crate) user: Option<&'a [u8]>,
}

/// One finished reply, as the log shows it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Entry<'a> {
    pub(crate) remote: Option<IpAddr>,
    /// `None` when no valid request line came (a 400 for garbage, a 408); a
    /// head refused after a valid request line shows that line.
    pub(crate) request: Option<RequestFields<'a>>,
    pub(crate) status: u16,
    pub(crate) bytes: u64,
    pub(crate) duration: Duration,
}

/// The current second in both log formats, re-formatted when the second changes.
#[derive(Debug)]
pub(crate) struct Clock {
    second: u64,
    /// `30/Nov/2026:08:07:50 +0000`
    clf: String,
    /// `2026-11-30T08:07:50Z`
    rfc3339: String,
}

const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

impl Clock {
    /// A clock showing `now`.
    pub(crate) fn new(now: SystemTime) -> Self {
        let mut clock = Clock { second: u64::MAX, clf: String::new(), rfc3339: String::new() };
        clock.set(now);
        clock
    }

    /// Moves the clock to `now`; formats only when the second changed.
    pub(crate) fn set(&mut self, now: SystemTime) {
        let second = now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
        if second == self.second {
            return;
        }
        self.second = second;
        let (year, month, day) = civil_from_days((second / 86_400) as i64);
        let secs = second % 86_400;
        let (h, m, s) = (secs / 3600, secs / 60 % 60, secs % 60);
        let name = MONTHS[(month - 1) as usize % 12];
        self.clf = format!("{day:02}/{name}/{year:04}:{h:02}:{m:02}:{s:02} +0000");
        self.rfc3339 = format!("{year:04}-{month:02}-{day:02}T{h:02}:{m:02}:{s:02}Z");
    }
}

/// Days since 1970-01-01 → (year, month 1–12, day 1–31), proleptic Gregorian
/// (Howard Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Appends one line (newline included) in `format`.
pub(crate) fn write_line(out: &mut Vec<u8>, format: LogFormat, clock: &Clock, entry: &Entry<'_>) {
    match format {
        LogFormat::Combined => write_combined(out, clock, entry),
        LogFormat::Json => write_json(out, clock, entry),
    }
    out.push(b'\n');
}

fn write_combined(out: &mut Vec<u8>, clock: &Clock, e: &Entry<'_>) {
    match e.remote {
        Some(ip) => {
            let _ = write!(out, "{ip}");
        }
        None => out.push(b'-'),
    }
    // `%l` (identd) is always `-`.
    out.extend_from_slice(b" - ");
    match e.request.and_then(|r| r.user) {
        Some(user) if !user.is_empty() => push_user(out, user, false),
        _ => out.push(b'-'),
    }
    let _ = write!(out, " [{}] \"", clock.clf);
    match &e.request {
        Some(r) => {
            push_escaped(out, r.method, false);
            out.push(b' ');
            push_escaped(out, r.target, false);
            out.push(b' ');
            out.extend_from_slice(protocol(r.version).as_bytes());
        }
        None => out.push(b'-'),
    }
    let _ = write!(out, "\" {} ", e.status);
    // `%b`: `-` for no body bytes, as Apache writes it.
    match e.bytes {
        0 => out.push(b'-'),
        n => {
            let _ = write!(out, "{n}");
        }
    }
    out.extend_from_slice(b" \"");
    push_or_dash(out, e.request.and_then(|r| r.referer));
    out.extend_from_slice(b"\" \"");
    push_or_dash(out, e.request.and_then(|r| r.user_agent));
    out.push(b'"');
}

fn write_json(out: &mut Vec<u8>, clock: &Clock, e: &Entry<'_>) {
    let _ = write!(out, "{{\"time\":\"{}\",\"remote\":", clock.rfc3339);
    match e.remote {
        Some(ip) => {
            let _ = write!(out, "\"{ip}\"");
        }
        None => out.extend_from_slice(b"null"),
    }
    let r = e.request.as_ref();
    out.extend_from_slice(b",\"user\":");
    match r.and_then(|r| r.user) {
        Some(user) => {
            out.push(b'"');
            push_user(out, user, true);
            out.push(b'"');
        }
        None => out.extend_from_slice(b"null"),
    }
    out.extend_from_slice(b",\"method\":");
    push_json(out, r.map(|r| r.method));
    out.extend_from_slice(b",\"target\":");
    push_json(out, r.map(|r| r.target));
    out.extend_from_slice(b",\"protocol\":");
    push_json(out, r.map(|r| protocol(r.version).as_bytes()));
    let _ = write!(out, ",\"status\":{},\"bytes\":{},\"referer\":", e.status, e.bytes);
    push_json(out, r.and_then(|r| r.referer));
    out.extend_from_slice(b",\"user_agent\":");
    push_json(out, r.and_then(|r| r.user_agent));
    out.extend_from_slice(b",\"host\":");
    push_json(out, r.and_then(|r| r.host));
    let _ = write!(out, ",\"duration_us\":{}}}", e.duration.as_micros());
}

fn protocol(version: Version) -> &'static str {
    match version {
        Version::Http10 => "HTTP/1.0",
        Version::Http11 => "HTTP/1.1",
    }
}

fn push_or_dash(out: &mut Vec<u8>, value: Option<&[u8]>) {
    match value {
        Some(v) if !v.is_empty() => push_escaped(out, v, false),
        _ => out.push(b'-'),
    }
}

fn push_json(out: &mut Vec<u8>, value: Option<&[u8]>) {
    match value {
        Some(v) => {
            out.push(b'"');
            push_escaped(out, v, true);
            out.push(b'"');
        }
        None => out.extend_from_slice(b"null"),
    }
}

/// nginx's log escaping: `"`, `\` and bytes outside printable ASCII become
/// `\xHH`; in a JSON string the backslash is written `\\`.
fn push_escaped(out: &mut Vec<u8>, bytes: &[u8], json: bool) {
    push_escaped_but(out, bytes, json, |b| (0x20..0x7f).contains(&b) && b != b'"' && b != b'\\');
}

/// The user, escaped as other fields are and its spaces too (it stands
/// unquoted in the Combined format: see the module docs).
fn push_user(out: &mut Vec<u8>, user: &[u8], json: bool) {
    push_escaped_but(out, user, json, |b| (0x21..0x7f).contains(&b) && b != b'"' && b != b'\\');
}

/// Writes `bytes`, those `plain` refuses as `\xHH` (see [`push_escaped`]).
fn push_escaped_but(out: &mut Vec<u8>, bytes: &[u8], json: bool, plain: impl Fn(u8) -> bool) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for &b in bytes {
        if plain(b) {
            out.push(b);
            continue;
        }
        if json {
            out.push(b'\\');
        }
        out.extend_from_slice(&[b'\\', b'x', HEX[usize::from(b >> 4)], HEX[usize::from(b & 15)]]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clock() -> Clock {
        // Sun, 06 Nov 1994 08:49:37 GMT
        Clock::new(UNIX_EPOCH + Duration::from_secs(784_111_777))
    }

    fn request<'a>(target: &'a [u8], ua: Option<&'a [u8]>) -> RequestFields<'a> {
        RequestFields {
            method: b"GET",
            target,
            version: Version::Http11,
            referer: None,
            user_agent: ua,
            host: Some(b"example.com"),
            user: None,
        }
    }

    fn line(format: LogFormat, entry: &Entry<'_>) -> String {
        let mut out = Vec::new();
        write_line(&mut out, format, &clock(), entry);
        String::from_utf8(out).unwrap()
    }

    fn entry<'a>(request: Option<RequestFields<'a>>, bytes: u64) -> Entry<'a> {
        Entry {
            remote: Some("192.0.2.7".parse().unwrap()),
            request,
            status: 200,
            bytes,
            duration: Duration::from_micros(1500),
        }
    }

    #[test]
    fn clock_formats_both_styles_and_dates_across_eras() {
        let c = clock();
        assert_eq!((c.clf.as_str(), c.rfc3339.as_str()), ("06/Nov/1994:08:49:37 +0000", "1994-11-06T08:49:37Z"));
        let cases = [(0, (1970, 1, 1)), (11_016, (2000, 2, 29)), (11_017, (2000, 3, 1)), (-1, (1969, 12, 31))];
        for (days, want) in cases {
            assert_eq!(civil_from_days(days), want, "day {days}");
        }
    }

    #[test]
    fn combined_line_with_dashes_for_absent_values() {
        let e = entry(Some(request(b"/a?b=1", Some(b"curl/8"))), 12);
        assert_eq!(
            line(LogFormat::Combined, &e),
            "192.0.2.7 - - [06/Nov/1994:08:49:37 +0000] \"GET /a?b=1 HTTP/1.1\" 200 12 \"-\" \"curl/8\"\n"
        );
        let e = Entry { remote: None, ..entry(None, 0) };
        assert_eq!(line(LogFormat::Combined, &e), "- - - [06/Nov/1994:08:49:37 +0000] \"-\" 200 - \"-\" \"-\"\n");
    }

    #[test]
    fn hostile_bytes_are_escaped_as_nginx_does() {
        let ua: &[u8] = b"x\" 200 1\n\\\x01\xff";
        let e = entry(Some(request(b"/", Some(ua))), 1);
        let text = line(LogFormat::Combined, &e);
        assert!(text.ends_with("\"x\\x22 200 1\\x0A\\x5C\\x01\\xFF\"\n"), "{text}");
        assert_eq!(text.matches('\n').count(), 1);
    }

    #[test]
    fn the_user_is_escaped_in_both_formats() {
        let fields = RequestFields { user: Some(b"al\"ice"), ..request(b"/", None) };
        let e = entry(Some(fields), 1);
        assert!(line(LogFormat::Combined, &e).starts_with("192.0.2.7 - al\\x22ice ["));
        assert!(line(LogFormat::Json, &e).contains(",\"user\":\"al\\\\x22ice\","));
    }

    #[test]
    fn a_user_with_spaces_stays_one_combined_field() {
        let fields = RequestFields { user: Some(b"Alice Smith \xc3\xa9\t"), ..request(b"/", None) };
        let e = entry(Some(fields), 1);
        let text = line(LogFormat::Combined, &e);
        assert!(text.starts_with("192.0.2.7 - Alice\\x20Smith\\x20\\xC3\\xA9\\x09 ["), "{text}");
        assert!(line(LogFormat::Json, &e).contains(",\"user\":\"Alice\\\\x20Smith\\\\x20\\\\xC3\\\\xA9\\\\x09\","));
    }

    #[test]
    fn json_line_parses_and_round_trips_escapes() {
        let ua: &[u8] = b"a\"b\\c\n\xe9";
        let e = entry(Some(request(b"/p", Some(ua))), 0);
        let text = line(LogFormat::Json, &e);
        assert_eq!(
            text,
            "{\"time\":\"1994-11-06T08:49:37Z\",\"remote\":\"192.0.2.7\",\"user\":null,\"method\":\"GET\",\
             \"target\":\"/p\",\"protocol\":\"HTTP/1.1\",\"status\":200,\"bytes\":0,\"referer\":null,\
             \"user_agent\":\"a\\\\x22b\\\\x5Cc\\\\x0A\\\\xE9\",\"host\":\"example.com\",\"duration_us\":1500}\n"
        );
    }
}
