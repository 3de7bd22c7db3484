//! Request paths as locations see them: percent-decoded segments with
//! dot-segments removed (RFC 3986 §5.2.4) and empty segments dropped, so
//! `/%61dmin`, `/x/../admin` and `//admin` all match the location `/admin`,
//! as they all reach the same file under a `root`. Refusals mirror
//! `porter::Files`: a bad `%` escape, an encoded `/`, a `\` or a NUL, or a `..`
//! above the root is a `400`.

/// A normalized request path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CleanPath {
    /// Decoded segments, none empty, `.` or `..`.
    pub segments: Vec<Vec<u8>>,
    /// The path ended with `/` (or a dot-segment).
    pub trailing_slash: bool,
}

/// Normalizes a raw (percent-encoded) request path; `None` when it must be refused (400).
pub fn clean(raw: &str) -> Option<CleanPath> {
    let rest = raw.strip_prefix('/')?;
    let mut segments: Vec<Vec<u8>> = Vec::new();
    let mut trailing_slash = true;
    for raw_segment in rest.split('/') {
        let segment = percent_decode(raw_segment.as_bytes())?;
        if segment.iter().any(|&b| matches!(b, b'\0' | b'/' | b'\\')) {
            return None;
        }
        match segment.as_slice() {
            b"" | b"." => trailing_slash = true,
            b".." => {
                segments.pop()?;
                trailing_slash = true;
            }
            _ => {
                segments.push(segment);
                trailing_slash = false;
            }
        }
    }
    Some(CleanPath { segments, trailing_slash })
}

impl CleanPath {
    /// True when `prefix` (a location's segments) covers this path: `/api`
    /// matches `/api` and `/api/x`, never `/apix`; `/` matches everything.
    pub fn starts_with(&self, prefix: &[String]) -> bool {
        prefix.len() <= self.segments.len() && prefix.iter().zip(&self.segments).all(|(p, s)| p.as_bytes() == &s[..])
    }

    /// The path re-encoded: exactly one leading `/` (so it can never read as a
    /// `//host` scheme-relative reference), RFC 3986 `pchar`s kept, everything
    /// else percent-encoded, the trailing slash kept.
    pub fn encoded(&self) -> String {
        let mut url = String::from("/");
        for (i, segment) in self.segments.iter().enumerate() {
            if i > 0 {
                url.push('/');
            }
            encode_into(segment, &mut url);
        }
        if self.trailing_slash && !self.segments.is_empty() {
            url.push('/');
        }
        url
    }
}

fn percent_decode(input: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while i < input.len() {
        if input[i] == b'%' {
            let hex = input.get(i + 1..i + 3).and_then(|h| std::str::from_utf8(h).ok())?;
            out.push(u8::from_str_radix(hex, 16).ok().filter(|_| hex.bytes().all(|b| b.is_ascii_hexdigit()))?);
            i += 3;
        } else {
            out.push(input[i]);
            i += 1;
        }
    }
    Some(out)
}

fn encode_into(segment: &[u8], out: &mut String) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for &b in segment {
        if b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 0xf)]));
        }
    }
}

/// A location path from the config file as segments (`None` when it is not
/// an absolute path or does not normalize).
pub fn location_segments(path: &str) -> Option<Vec<String>> {
    let clean = clean(path)?;
    clean.segments.into_iter().map(|s| String::from_utf8(s).ok()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prefix(p: &str) -> Vec<String> {
        location_segments(p).unwrap()
    }

    #[test]
    fn prefixes_match_on_segment_boundaries() {
        let api = prefix("/api");
        for yes in ["/api", "/api/", "/api/x", "/api/x/y", "//api", "/%61pi/x", "/x/../api", "/./api"] {
            assert!(clean(yes).unwrap().starts_with(&api), "{yes}");
        }
        for no in ["/apix", "/ap", "/", "/v1/api", "/API"] {
            assert!(!clean(no).unwrap().starts_with(&api), "{no}");
        }
        assert!(clean("/anything/at/all").unwrap().starts_with(&prefix("/")));
        assert_eq!(prefix("/api/"), api, "a trailing slash on a location changes nothing");
    }

    #[test]
    fn refusals() {
        for bad in ["*", "", "/%2F", "/a%2fb", "/%00", "/a\\b", "/%zz", "/%4", "/..", "/a/../.."] {
            assert!(clean(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn encoded_paths_are_safe() {
        assert_eq!(clean("/").unwrap().encoded(), "/");
        assert_eq!(clean("//evil.example/x").unwrap().encoded(), "/evil.example/x");
        assert_eq!(clean("/a/b/").unwrap().encoded(), "/a/b/");
        assert_eq!(clean("/a%20b/%0d%0a").unwrap().encoded(), "/a%20b/%0D%0A");
        assert_eq!(clean("/x/./y/..").unwrap().encoded(), "/x/");
    }
}
