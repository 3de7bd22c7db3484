//! Byte ranges (RFC 9110 §14): parse a `Range` value and decide what to send.
//!
//! [`plan`] turns `Range: bytes=...` and the representation's length into a
//! [`Plan`]: ignore the field (send 200), refuse it (416), or send these parts
//! (206). The parts are sorted and coalesced, so they never overlap and never
//! sit closer than [`MERGE_GAP`] bytes: a response is at most the file plus
//! one part header per part, and there are at most [`MAX_RANGES`] parts.
//!
//! Decisions (RFC 9110 §14.2 leaves them to the server):
//! - another unit than `bytes` is ignored (MUST); so is a zero-length
//!   representation (MAY): the whole, empty file is sent;
//! - a malformed ranges-specifier, or one with no satisfiable range, is 416;
//! - more than [`MAX_RANGES`] ranges is ignored (200), as nginx's `max_ranges`
//!   and Apache's `MaxRanges` do: a list that long is abuse, not a client need;
//! - overlapping, adjacent or nearly adjacent ranges are coalesced, and the
//!   parts go out in ascending order (§15.3.7.2 allows coalescing).

/// The most ranges one request may list before the field is ignored.
pub(super) const MAX_RANGES: usize = 32;
/// Ranges separated by fewer bytes than this are merged: a gap that small costs
/// less to send than another part's header (§15.3.7.2).
pub(super) const MERGE_GAP: u64 = 80;

/// An inclusive byte range `first..=last` within the representation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct ByteRange {
    pub(super) first: u64,
    pub(super) last: u64,
}

impl ByteRange {
    /// The number of bytes in the range.
    pub(super) fn len(self) -> u64 {
        self.last - self.first + 1
    }

    /// The `Content-Range` value for this range of a `complete`-byte representation.
    pub(super) fn content_range(self, complete: u64) -> String {
        format!("bytes {}-{}/{complete}", self.first, self.last)
    }
}

/// What to do with a `Range` field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Plan {
    /// Send the whole representation (200).
    Ignore,
    /// 416 with `Content-Range: bytes */len`.
    Unsatisfiable,
    /// 206: one part, or several as multipart/byteranges. Never empty.
    Parts(Vec<ByteRange>),
}

/// One range-spec as written (RFC 9110 §14.1.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Spec {
    /// `first-last` or `first-` (`last` = None).
    From { first: u64, last: Option<u64> },
    /// `-suffix`: the last `suffix` bytes.
    Suffix(u64),
}

/// Decides what to send for `Range: value` on a representation of `len` bytes.
pub(super) fn plan(value: &str, len: u64) -> Plan {
    let (unit, set) = value.split_once('=').unwrap_or((value, ""));
    // RFC 9110 §14.1: range units are case-insensitive; unknown ones are ignored (§14.2).
    if !unit.trim().eq_ignore_ascii_case("bytes") {
        return Plan::Ignore;
    }
    let specs = match parse_specs(set) {
        Some(specs) if specs.is_empty() => return Plan::Unsatisfiable,
        Some(specs) => specs,
        None => return Plan::Unsatisfiable,
    };
    if specs.len() > MAX_RANGES || len == 0 {
        return Plan::Ignore;
    }
    let ranges: Vec<ByteRange> = specs.into_iter().filter_map(|s| resolve(s, len)).collect();
    if ranges.is_empty() {
        return Plan::Unsatisfiable;
    }
    Plan::Parts(coalesce(ranges))
}

/// Parses `range-set`: `1#range-spec` with optional whitespace and empty elements
/// (RFC 9110 §5.6.1); `None` when malformed. Stops counting past [`MAX_RANGES`]
/// plus one, so a huge list costs no more than that to reject.
fn parse_specs(set: &str) -> Option<Vec<Spec>> {
    let mut specs = Vec::new();
    for element in set.split(',') {
        let element = element.trim_matches([' ', '\t']);
        if element.is_empty() {
            continue;
        }
        if specs.len() > MAX_RANGES {
            return Some(specs);
        }
        specs.push(parse_spec(element)?);
    }
    Some(specs)
}

fn parse_spec(spec: &str) -> Option<Spec> {
    let (first, last) = spec.split_once('-')?;
    if first.is_empty() {
        return Some(Spec::Suffix(number(last)?));
    }
    let first = number(first)?;
    if last.is_empty() {
        return Some(Spec::From { first, last: None });
    }
    let last = number(last)?;
    // RFC 9110 §14.1.1: a last-pos below first-pos makes the spec invalid.
    (last >= first).then_some(Spec::From { first, last: Some(last) })
}

/// `1*DIGIT`; values beyond u64 saturate (they are past any file's end anyway).
fn number(text: &str) -> Option<u64> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(text.bytes().fold(0u64, |n, b| n.saturating_mul(10).saturating_add(u64::from(b - b'0'))))
}

/// The bytes a spec selects in a `len`-byte representation (`len > 0`), if any.
fn resolve(spec: Spec, len: u64) -> Option<ByteRange> {
    match spec {
        // RFC 9110 §14.1.1: satisfiable when first-pos is below the length; last is clamped.
        Spec::From { first, last } if first < len => {
            Some(ByteRange { first, last: last.unwrap_or(u64::MAX).min(len - 1) })
        }
        Spec::From { .. } => None,
        // A suffix is satisfiable when non-zero; a longer one means the whole file.
        Spec::Suffix(0) => None,
        Spec::Suffix(n) => Some(ByteRange { first: len.saturating_sub(n), last: len - 1 }),
    }
}

/// Sorts `ranges` and merges those that overlap or lie within [`MERGE_GAP`].
fn coalesce(mut ranges: Vec<ByteRange>) -> Vec<ByteRange> {
    ranges.sort_by_key(|r| r.first);
    let mut out: Vec<ByteRange> = Vec::with_capacity(ranges.len());
    for r in ranges {
        match out.last_mut() {
            Some(prev) if r.first <= prev.last.saturating_add(MERGE_GAP + 1) => prev.last = prev.last.max(r.last),
            _ => out.push(r),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(list: &[(u64, u64)]) -> Plan {
        Plan::Parts(list.iter().map(|&(first, last)| ByteRange { first, last }).collect())
    }

    #[test]
    fn single_ranges() {
        let cases = [
            ("bytes=0-0", parts(&[(0, 0)])),
            ("bytes=0-99", parts(&[(0, 99)])),
            ("bytes=10-", parts(&[(10, 9999)])),
            ("bytes=-1", parts(&[(9999, 9999)])),
            ("bytes=-500", parts(&[(9500, 9999)])),
            ("bytes=-20000", parts(&[(0, 9999)])),
            ("bytes=9000-20000", parts(&[(9000, 9999)])),
            ("bytes=9999-", parts(&[(9999, 9999)])),
            ("bytes=0-99999999999999999999999", parts(&[(0, 9999)])),
            ("Bytes = 5-6", parts(&[(5, 6)])),
            ("bytes= 1-2 ,", parts(&[(1, 2)])),
        ];
        for (value, want) in cases {
            assert_eq!(plan(value, 10_000), want, "{value}");
        }
    }

    #[test]
    fn unsatisfiable_and_malformed() {
        for value in [
            "bytes=10000-",
            "bytes=10000-10001",
            "bytes=-0",
            "bytes=99999999999999999999999-",
            "bytes=20000-, -0",
            "bytes=",
            "bytes=,",
            "bytes=5-4",
            "bytes=a-b",
            "bytes=1-2-3",
            "bytes=-",
            "bytes=+1-2",
            "bytes=1 -2",
            "bytes=0x10-",
            "bytes",
        ] {
            assert_eq!(plan(value, 10_000), Plan::Unsatisfiable, "{value:?}");
        }
    }

    #[test]
    fn ignored() {
        assert_eq!(plan("items=0-5", 10_000), Plan::Ignore);
        assert_eq!(plan("none", 10_000), Plan::Ignore);
        assert_eq!(plan("", 10_000), Plan::Ignore);
        assert_eq!(plan("bytes=0-5", 0), Plan::Ignore, "empty representation");
        let many: Vec<String> = (0..=MAX_RANGES as u64).map(|i| format!("{}-{}", i * 1000, i * 1000)).collect();
        assert_eq!(plan(&format!("bytes={}", many.join(",")), 1 << 20), Plan::Ignore);
        let enough = &many[..MAX_RANGES];
        assert!(
            matches!(plan(&format!("bytes={}", enough.join(",")), 1 << 20), Plan::Parts(p) if p.len() == MAX_RANGES)
        );
    }

    #[test]
    fn several_ranges_are_sorted_and_coalesced() {
        let cases = [
            ("bytes=0-9,500-599", parts(&[(0, 9), (500, 599)])),
            ("bytes=500-599,0-9", parts(&[(0, 9), (500, 599)])),
            ("bytes=0-99,50-149", parts(&[(0, 149)])),
            ("bytes=0-99,100-199", parts(&[(0, 199)])),
            ("bytes=0-9,90-99", parts(&[(0, 99)])),
            ("bytes=0-9,91-99", parts(&[(0, 9), (91, 99)])),
            ("bytes=0-0,2-2,4-4,6-6,8-8", parts(&[(0, 8)])),
            ("bytes=0-,0-,0-", parts(&[(0, 9999)])),
            ("bytes=-100,0-0", parts(&[(0, 0), (9900, 9999)])),
            ("bytes=0-9,20000-", parts(&[(0, 9)])),
            ("bytes=9990-,-5", parts(&[(9990, 9999)])),
        ];
        for (value, want) in cases {
            assert_eq!(plan(value, 10_000), want, "{value}");
        }
    }

    #[test]
    fn amplification_is_bounded() {
        // Every allowed request: parts never overlap, so the bytes sent are at most the file.
        let value = format!("bytes={}", vec!["0-"; MAX_RANGES].join(","));
        assert_eq!(plan(&value, 10_000), parts(&[(0, 9999)]));
        let spread: Vec<String> =
            (0..MAX_RANGES as u64).rev().map(|i| format!("{}-{}", i * 200, i * 200 + 150)).collect();
        let Plan::Parts(p) = plan(&format!("bytes={}", spread.join(",")), 10_000) else { panic!() };
        assert!(p.windows(2).all(|w| w[0].last + MERGE_GAP < w[1].first));
        assert!(p.iter().map(|r| r.len()).sum::<u64>() <= 10_000);
    }

    #[test]
    fn content_range_text() {
        assert_eq!(ByteRange { first: 0, last: 99 }.content_range(1000), "bytes 0-99/1000");
        assert_eq!(ByteRange { first: 5, last: 5 }.len(), 1);
    }
}
