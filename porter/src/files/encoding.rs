//! Content negotiation for precompressed siblings (RFC 9110 §12.5.3).
//!
//! A file `a.js` may have siblings `a.js.br` and `a.js.gz`, made ahead of time;
//! porter never compresses on the hot path. [`preferences`] reads
//! `Accept-Encoding` (q-values honoured) and lists the codings worth trying, best
//! first; the caller serves the first sibling that exists.
//!
//! Rules: a coding is acceptable when its q-value (its own, else `*`'s) is above
//! zero and not below identity's, when identity is weighted (by its own q or
//! `*`'s; unweighted, identity is the last resort). Ties prefer the
//! smaller result: `br` over `gzip`, either over identity. No `Accept-Encoding`
//! at all gets identity (the safe reading; RFC 9110 §12.5.3 would allow any
//! coding). `x-gzip` is `gzip` (§8.4.1.3). A member with a malformed q-value is
//! ignored.

/// A content coding porter can serve from a sibling file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Coding {
    Br,
    Gzip,
}

impl Coding {
    /// The coding's name in `Content-Encoding`.
    pub(super) fn token(self) -> &'static str {
        match self {
            Coding::Br => "br",
            Coding::Gzip => "gzip",
        }
    }

    /// The suffix of the sibling file that holds this coding.
    pub(super) fn suffix(self) -> &'static [u8] {
        match self {
            Coding::Br => b".br",
            Coding::Gzip => b".gz",
        }
    }
}

/// The codings to try, best first (at most both).
pub(super) fn preferences(accept_encoding: &str) -> Vec<Coding> {
    let weights = Weights::parse(accept_encoding);
    // Identity weighs only when given (itself or through `*`); otherwise any
    // acceptable coding beats it, whatever its q.
    let identity = weights.identity.or(weights.any).unwrap_or(0);
    let mut out: Vec<(Coding, u16)> = [(Coding::Br, weights.br), (Coding::Gzip, weights.gzip)]
        .into_iter()
        .filter_map(|(coding, q)| q.or(weights.any).map(|q| (coding, q)))
        .filter(|&(_, q)| q > 0 && q >= identity)
        .collect();
    // Stable: equal weights keep br before gzip.
    out.sort_by_key(|&(_, q)| std::cmp::Reverse(q));
    out.into_iter().map(|(coding, _)| coding).collect()
}

/// The q-values (in thousandths) the header gave, per coding of interest.
#[derive(Debug, Default)]
struct Weights {
    br: Option<u16>,
    gzip: Option<u16>,
    identity: Option<u16>,
    any: Option<u16>,
}

impl Weights {
    fn parse(value: &str) -> Weights {
        let mut w = Weights::default();
        for member in value.split(',') {
            let mut parts = member.split(';');
            let name = parts.next().unwrap_or("").trim();
            let Some(q) = qvalue(parts) else { continue };
            let slot = match name.to_ascii_lowercase().as_str() {
                "br" => &mut w.br,
                "gzip" | "x-gzip" => &mut w.gzip,
                "identity" => &mut w.identity,
                "*" => &mut w.any,
                _ => continue,
            };
            // A coding listed twice: the more generous weight wins.
            *slot = Some(slot.map_or(q, |old| old.max(q)));
        }
        w
    }
}

/// The `q` parameter among `params` (RFC 9110 §12.4.2), 1000 when absent; `None` if malformed.
fn qvalue<'a>(params: impl Iterator<Item = &'a str>) -> Option<u16> {
    let mut q = 1000;
    for param in params {
        let (name, value) = param.split_once('=')?;
        if name.trim().eq_ignore_ascii_case("q") {
            q = parse_qvalue(value.trim())?;
        }
    }
    Some(q)
}

/// `qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] )`, in thousandths.
fn parse_qvalue(text: &str) -> Option<u16> {
    let (int, frac) = text.split_once('.').unwrap_or((text, ""));
    if frac.len() > 3 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let thousandths = frac.bytes().zip([100, 10, 1]).map(|(b, scale)| u16::from(b - b'0') * scale).sum::<u16>();
    match int {
        "0" => Some(thousandths),
        "1" if thousandths == 0 => Some(1000),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Coding::*;

    #[test]
    fn qvalues() {
        let cases = [("1", Some(1000)), ("1.000", Some(1000)), ("0", Some(0)), ("0.5", Some(500))];
        let more = [("0.005", Some(5)), ("0.25", Some(250)), ("1.", Some(1000)), ("1.5", None)];
        let bad = [("2", None), ("0.1234", None), ("-1", None), ("", None), ("0.x", None), (".5", None)];
        for (text, want) in cases.iter().chain(&more).chain(&bad) {
            assert_eq!(parse_qvalue(text), *want, "{text:?}");
        }
    }

    #[test]
    fn preferences_follow_q_values() {
        let cases: &[(&str, &[Coding])] = &[
            ("", &[]),
            ("identity", &[]),
            ("gzip", &[Gzip]),
            ("br", &[Br]),
            ("gzip, deflate, br, zstd", &[Br, Gzip]),
            ("gzip;q=1, br;q=0.5", &[Gzip, Br]),
            ("br;q=0.001", &[Br]),
            ("br;q=0, gzip", &[Gzip]),
            ("BR, GZip", &[Br, Gzip]),
            ("x-gzip", &[Gzip]),
            ("*", &[Br, Gzip]),
            ("*;q=0.5, gzip", &[Gzip, Br]),
            ("*;q=0", &[]),
            ("gzip;q=0.5, identity", &[]),
            ("gzip;q=0.5, identity;q=0.5", &[Gzip]),
            ("gzip;q=0.5, *;q=0", &[Gzip]),
            ("gzip ; q=0.8 , br ; Q=0.9", &[Br, Gzip]),
            ("gzip;q=2, br", &[Br]),
            ("gzip;level=1", &[Gzip]),
            ("gzip;q", &[]),
            ("compress, deflate", &[]),
        ];
        for (header, want) in cases {
            assert_eq!(preferences(header), *want, "{header:?}");
        }
    }

    #[test]
    fn tokens_and_suffixes() {
        assert_eq!((Br.token(), Br.suffix()), ("br", &b".br"[..]));
        assert_eq!((Gzip.token(), Gzip.suffix()), ("gzip", &b".gz"[..]));
    }
}
