//! Validators and conditional requests (RFC 9110 §8.8, §13).
//!
//! Every file gets a strong `ETag` and a `Last-Modified` ([`Validators`]).
//! [`evaluate`] applies the preconditions in the order of RFC 9110 §13.2.2:
//! `If-Match`, else `If-Unmodified-Since` (→ 412); then `If-None-Match`, else
//! `If-Modified-Since` (→ 304 for GET and HEAD). [`if_range_holds`] decides
//! whether a `Range` may be honoured (§13.1.5).
//!
//! Invariants: dates compare at one-second resolution (an HTTP-date has no
//! finer); an unparseable date or a field sent twice where one value is allowed
//! is ignored, as §13.1.3 and §13.1.4 require; ETag lists accept `*`, weak tags,
//! empty list elements and optional whitespace.

use std::time::{Duration, SystemTime};

use super::encoding::Coding;
use super::source::Identity;

/// A file's validators, as sent and as compared.
#[derive(Clone, Debug)]
pub(super) struct Validators {
    /// The strong entity-tag, quotes included, e.g. `"6553f1a0.0-10000"`.
    pub(super) etag: String,
    /// The modification time at one-second resolution, never later than now.
    pub(super) last_modified: Option<SystemTime>,
}

impl Validators {
    /// The validators of a representation: `identity` from its source, `coding`
    /// when it is a precompressed variant (which gets its own tag), `now` to
    /// clamp a future modification time (RFC 9110 §8.8.2.1).
    pub(super) fn new(
        identity: Identity,
        coding: Option<Coding>,
        modified: Option<SystemTime>,
        now: SystemTime,
    ) -> Self {
        let mut etag = match identity {
            Identity::Stamp { secs, nanos, len } => format!("\"{secs:x}.{nanos:x}-{len:x}"),
            Identity::Hash(hash) => format!("\"{hash:016x}"),
        };
        if let Some(coding) = coding {
            etag.push('-');
            etag.push_str(coding.token());
        }
        etag.push('"');
        let last_modified = modified.map(|m| truncate_to_seconds(m.min(now)));
        Validators { etag, last_modified }
    }

    /// The `Last-Modified` value, an IMF-fixdate.
    pub(super) fn last_modified_text(&self) -> Option<String> {
        self.last_modified.map(httpdate::fmt_http_date)
    }
}

fn truncate_to_seconds(t: SystemTime) -> SystemTime {
    match t.duration_since(SystemTime::UNIX_EPOCH) {
        Ok(d) => SystemTime::UNIX_EPOCH + Duration::from_secs(d.as_secs()),
        Err(_) => SystemTime::UNIX_EPOCH,
    }
}

/// The conditional header fields of a request (each the field's combined value,
/// or `None` when absent; `Some(None)` marks a single-valued field sent twice).
#[derive(Clone, Debug, Default)]
pub(super) struct Conditions {
    pub(super) if_match: Option<String>,
    pub(super) if_none_match: Option<String>,
    pub(super) if_modified_since: Option<Option<String>>,
    pub(super) if_unmodified_since: Option<Option<String>>,
}

/// What the preconditions decided.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Outcome {
    /// Go on to send the representation (or a range of it).
    Proceed,
    /// 304 Not Modified.
    NotModified,
    /// 412 Precondition Failed.
    Failed,
}

/// RFC 9110 §13.2.2, for a GET or HEAD of an existing representation.
pub(super) fn evaluate(c: &Conditions, v: &Validators) -> Outcome {
    // Steps 1 and 2: If-Match, else If-Unmodified-Since.
    if let Some(value) = &c.if_match {
        if !if_match_holds(value, &v.etag) {
            return Outcome::Failed;
        }
    } else if let Some(since) = single_date(&c.if_unmodified_since) {
        // RFC 9110 §13.1.4: false when modified after the date.
        if v.last_modified.is_some_and(|lm| lm > since) {
            return Outcome::Failed;
        }
    }
    // Steps 3 and 4: If-None-Match, else If-Modified-Since (GET/HEAD only: the caller's).
    if let Some(value) = &c.if_none_match {
        if !if_none_match_holds(value, &v.etag) {
            return Outcome::NotModified;
        }
    } else if let Some(since) = single_date(&c.if_modified_since) {
        // RFC 9110 §13.1.3: not modified when the date is at or after Last-Modified.
        if v.last_modified.is_some_and(|lm| lm <= since) {
            return Outcome::NotModified;
        }
    }
    Outcome::Proceed
}

/// RFC 9110 §13.1.5: true when a range may be sent. A date holds only if it
/// equals `Last-Modified` and that is a strong validator (at least a second
/// before `now`, §8.8.2.2); an entity-tag holds only by strong comparison.
pub(super) fn if_range_holds(value: Option<&str>, v: &Validators, now: SystemTime) -> bool {
    let Some(value) = value else { return false };
    let value = value.trim();
    if value.starts_with('"') || value.starts_with("W/") {
        return match parse_tag_list(value) {
            Some(TagList::Tags(tags)) => tags.len() == 1 && strong_eq(tags[0], &v.etag),
            _ => false,
        };
    }
    match (httpdate::parse_http_date(value), v.last_modified) {
        (Ok(date), Some(lm)) => date == lm && lm + Duration::from_secs(1) <= now,
        _ => false,
    }
}

/// RFC 9110 §13.1.1: `*` or a strong match with one of the listed tags.
fn if_match_holds(value: &str, etag: &str) -> bool {
    match parse_tag_list(value) {
        Some(TagList::Any) => true,
        Some(TagList::Tags(tags)) => tags.iter().any(|t| strong_eq(t, etag)),
        None => false, // malformed: nothing matches
    }
}

/// RFC 9110 §13.1.2: false for `*` or a weak match with one of the listed tags.
fn if_none_match_holds(value: &str, etag: &str) -> bool {
    match parse_tag_list(value) {
        Some(TagList::Any) => false,
        Some(TagList::Tags(tags)) => !tags.iter().any(|t| weak_eq(t, etag)),
        None => true, // malformed: ignored, the representation is sent
    }
}

/// A date field that was sent once and parses; anything else is ignored.
fn single_date(field: &Option<Option<String>>) -> Option<SystemTime> {
    match field {
        Some(Some(text)) => httpdate::parse_http_date(text.trim()).ok(),
        _ => None,
    }
}

/// A parsed `If-Match`/`If-None-Match` value.
#[derive(Debug, PartialEq, Eq)]
enum TagList<'a> {
    Any,
    /// Each tag as sent, `W/` and quotes included.
    Tags(Vec<&'a str>),
}

/// RFC 9110 §8.8.3 and §5.6.1: `*` or `#entity-tag`; `None` when malformed.
fn parse_tag_list(value: &str) -> Option<TagList<'_>> {
    let trimmed = value.trim_matches([' ', '\t']);
    if trimmed == "*" {
        return Some(TagList::Any);
    }
    let mut tags = Vec::new();
    let mut rest = trimmed;
    loop {
        rest = rest.trim_start_matches([' ', '\t', ',']);
        if rest.is_empty() {
            return Some(TagList::Tags(tags));
        }
        let (tag, after) = split_tag(rest)?;
        tags.push(tag);
        let after = after.trim_start_matches([' ', '\t']);
        if !(after.is_empty() || after.starts_with(',')) {
            return None;
        }
        rest = after;
    }
}

/// Splits one entity-tag off the front of `s`: `[W/]"etagc*"`.
fn split_tag(s: &str) -> Option<(&str, &str)> {
    let body_start = if s.starts_with("W/") { 2 } else { 0 };
    let bytes = s.as_bytes();
    if bytes.get(body_start) != Some(&b'"') {
        return None;
    }
    // etagc = %x21 / %x23-7E / obs-text
    let close = bytes[body_start + 1..].iter().position(|&b| b == b'"')? + body_start + 1;
    let inner = &bytes[body_start + 1..close];
    if inner.iter().any(|&b| b < 0x21 || b == 0x7f) {
        return None;
    }
    Some(s.split_at(close + 1))
}

/// Strong comparison (RFC 9110 §8.8.3.2): both strong and identical.
fn strong_eq(tag: &str, etag: &str) -> bool {
    !tag.starts_with("W/") && tag == etag
}

/// Weak comparison: identical opaque-tags, weakness ignored.
fn weak_eq(tag: &str, etag: &str) -> bool {
    tag.strip_prefix("W/").unwrap_or(tag) == etag.strip_prefix("W/").unwrap_or(etag)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TAG: &str = "\"abc\"";

    fn validators(lm_secs: u64) -> Validators {
        Validators { etag: TAG.into(), last_modified: Some(SystemTime::UNIX_EPOCH + Duration::from_secs(lm_secs)) }
    }

    fn date(secs: u64) -> String {
        httpdate::fmt_http_date(SystemTime::UNIX_EPOCH + Duration::from_secs(secs))
    }

    #[test]
    fn tag_lists_parse() {
        assert_eq!(parse_tag_list("*"), Some(TagList::Any));
        assert_eq!(parse_tag_list(" * "), Some(TagList::Any));
        assert_eq!(parse_tag_list("\"a\""), Some(TagList::Tags(vec!["\"a\""])));
        assert_eq!(parse_tag_list("W/\"a\", \"b\""), Some(TagList::Tags(vec!["W/\"a\"", "\"b\""])));
        assert_eq!(parse_tag_list(" , \"a\" ,, \"b\","), Some(TagList::Tags(vec!["\"a\"", "\"b\""])));
        assert_eq!(parse_tag_list("\"\""), Some(TagList::Tags(vec!["\"\""])));
        assert_eq!(parse_tag_list(""), Some(TagList::Tags(vec![])));
        for bad in ["a", "\"a", "\"a\"b", "w/\"a\"", "\"a b\"", "\"a\" \"b\"", "*, \"a\""] {
            assert_eq!(parse_tag_list(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn comparisons() {
        // RFC 9110 §8.8.3.2's table.
        assert!(!strong_eq("W/\"1\"", "W/\"1\"") && weak_eq("W/\"1\"", "W/\"1\""));
        assert!(!strong_eq("W/\"1\"", "W/\"2\"") && !weak_eq("W/\"1\"", "W/\"2\""));
        assert!(!strong_eq("W/\"1\"", "\"1\"") && weak_eq("W/\"1\"", "\"1\""));
        assert!(strong_eq("\"1\"", "\"1\"") && weak_eq("\"1\"", "\"1\""));
    }

    #[test]
    fn precedence_of_rfc_9110_section_13_2_2() {
        let v = validators(1000);
        let c = |im: Option<&str>, ius: Option<u64>, inm: Option<&str>, ims: Option<u64>| Conditions {
            if_match: im.map(String::from),
            if_unmodified_since: ius.map(|s| Some(date(s))),
            if_none_match: inm.map(String::from),
            if_modified_since: ims.map(|s| Some(date(s))),
        };
        use Outcome::*;
        let cases = [
            (c(None, None, None, None), Proceed),
            (c(Some(TAG), None, None, None), Proceed),
            (c(Some("*"), None, None, None), Proceed),
            (c(Some("\"other\""), None, None, None), Failed),
            (c(Some("W/\"abc\""), None, None, None), Failed), // If-Match is strong
            (c(None, Some(999), None, None), Failed),
            (c(None, Some(1000), None, None), Proceed),
            // If-Match present: If-Unmodified-Since is not evaluated.
            (c(Some(TAG), Some(1), None, None), Proceed),
            (c(None, None, Some(TAG), None), NotModified),
            (c(None, None, Some("W/\"abc\""), None), NotModified), // If-None-Match is weak
            (c(None, None, Some("*"), None), NotModified),
            (c(None, None, Some("\"x\", \"abc\""), None), NotModified),
            (c(None, None, Some("\"x\""), None), Proceed),
            (c(None, None, None, Some(1000)), NotModified),
            (c(None, None, None, Some(2000)), NotModified),
            (c(None, None, None, Some(999)), Proceed),
            // If-None-Match present: If-Modified-Since is not evaluated.
            (c(None, None, Some("\"x\""), Some(2000)), Proceed),
            // 412 before 304.
            (c(Some("\"x\""), None, Some(TAG), None), Failed),
            (c(None, Some(1), None, Some(2000)), Failed),
        ];
        for (i, (conditions, want)) in cases.iter().enumerate() {
            assert_eq!(evaluate(conditions, &v), *want, "case {i}: {conditions:?}");
        }
    }

    #[test]
    fn bad_or_repeated_dates_are_ignored() {
        let v = validators(1000);
        for ims in [Some(Some("yesterday".to_string())), Some(None)] {
            let c = Conditions { if_modified_since: ims.clone(), ..Conditions::default() };
            assert_eq!(evaluate(&c, &v), Outcome::Proceed, "{ims:?}");
            let c = Conditions { if_unmodified_since: ims.clone(), ..Conditions::default() };
            assert_eq!(evaluate(&c, &v), Outcome::Proceed, "{ims:?}");
        }
        // All three HTTP-date formats are accepted (RFC 9110 §5.6.7).
        for text in ["Thu, 01 Jan 1970 00:16:40 GMT", "Thursday, 01-Jan-70 00:16:40 GMT", "Thu Jan  1 00:16:40 1970"] {
            let c = Conditions { if_modified_since: Some(Some(text.into())), ..Conditions::default() };
            assert_eq!(evaluate(&c, &v), Outcome::NotModified, "{text}");
        }
    }

    #[test]
    fn malformed_tag_lists() {
        let v = validators(1000);
        let c = Conditions { if_match: Some("abc".into()), ..Conditions::default() };
        assert_eq!(evaluate(&c, &v), Outcome::Failed);
        let c = Conditions { if_none_match: Some("abc".into()), ..Conditions::default() };
        assert_eq!(evaluate(&c, &v), Outcome::Proceed);
    }

    #[test]
    fn if_range() {
        let v = validators(1000);
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(5000);
        assert!(if_range_holds(Some(TAG), &v, now));
        assert!(!if_range_holds(Some("W/\"abc\""), &v, now));
        assert!(!if_range_holds(Some("\"x\""), &v, now));
        assert!(!if_range_holds(Some("\"abc\", \"x\""), &v, now));
        assert!(if_range_holds(Some(&date(1000)), &v, now));
        assert!(!if_range_holds(Some(&date(1001)), &v, now), "dates must match exactly");
        assert!(!if_range_holds(Some(&date(999)), &v, now));
        let just_now = SystemTime::UNIX_EPOCH + Duration::from_millis(1_000_500);
        assert!(!if_range_holds(Some(&date(1000)), &v, just_now), "a date this fresh is weak");
        assert!(!if_range_holds(Some("garbage"), &v, now));
        assert!(!if_range_holds(None, &v, now));
    }

    #[test]
    fn etags_and_dates_are_built_from_identity() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(10_000);
        let stamp = Identity::Stamp { secs: 0x6553, nanos: 0x10, len: 0x400 };
        let modified = Some(SystemTime::UNIX_EPOCH + Duration::from_millis(5_500));
        let v = Validators::new(stamp, None, modified, now);
        assert_eq!(v.etag, "\"6553.10-400\"");
        assert_eq!(v.last_modified_text().unwrap(), "Thu, 01 Jan 1970 00:00:05 GMT");
        assert_eq!(Validators::new(stamp, Some(Coding::Br), modified, now).etag, "\"6553.10-400-br\"");
        assert_eq!(
            Validators::new(Identity::Hash(0xab), Some(Coding::Gzip), None, now).etag,
            "\"00000000000000ab-gzip\""
        );
        let future = Some(now + Duration::from_secs(3600));
        assert_eq!(Validators::new(stamp, None, future, now).last_modified, Some(now), "clamped to now");
    }
}
