//! Request paths, normalized: the one place a raw request path becomes the
//! decoded segments porter serves, for [`Files`](crate::Files) and for routing
//! written in front of it.
//!
//! [`CleanPath::parse`] is pure. It works segment by segment on the raw path, so
//! an encoded `/` (`%2F`) can be told from a real one: it percent-decodes each
//! segment (RFC 3986 §2.1), refuses the bytes a file name here must not carry,
//! and removes dot-segments (RFC 3986 §5.2.4). Invariant: a [`CleanPath`] holds
//! only plain name segments, none empty, `.` or `..`, and none holding `/`, `\`
//! or NUL.

use std::fmt;

/// Why a request path does not normalize. No correct client sends one of these
/// (browsers and curl resolve `..` themselves): [`Files`](crate::Files) answers
/// each with `400`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum PathError {
    /// The path does not start with `/` (e.g. the `*` of `OPTIONS *`).
    NotAbsolute,
    /// A `%` not followed by two hex digits.
    BadEscape,
    /// A NUL, an encoded `/` or a `\`: bytes a file name here must not carry.
    ForbiddenByte,
    /// A `..` that would climb above the root.
    AboveRoot,
}

impl fmt::Display for PathError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PathError::NotAbsolute => "the path does not start with `/`",
            PathError::BadEscape => "a `%` not followed by two hex digits",
            PathError::ForbiddenByte => "a NUL, an encoded `/` or a `\\` in a path segment",
            PathError::AboveRoot => "a `..` above the root",
        })
    }
}

impl std::error::Error for PathError {}

/// A request path, normalized exactly as [`Files`](crate::Files) normalizes the
/// paths it serves: percent-decoded segments with dot-segments removed and
/// empty segments dropped. `/%61pi/x`, `//api/x` and `/v1/../api/./x` are all
/// the same path, `/api/x`.
///
/// Routing in front of `Files` that matches on a `CleanPath` sees what `Files`
/// will serve, so an encoded or dotted spelling cannot slip past a prefix check:
///
/// ```
/// use porter::{CleanPath, Request, Response};
///
/// fn route(request: &Request) -> Response {
///     let Ok(path) = CleanPath::parse(request.path()) else { return Response::error(400) };
///     if path.starts_with(&["admin"]) {
///         return Response::error(403);
///     }
///     Response::text(format!("you asked for {}", path.encoded()))
/// }
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct CleanPath {
    segments: Vec<Vec<u8>>,
    trailing_slash: bool,
}

impl CleanPath {
    /// Normalizes `raw`, a request path as sent (percent-encoded, without the
    /// query: what [`Request::path`](crate::Request::path) returns).
    ///
    /// `%2e%2e` is a dot-segment like `..` (RFC 3986 §6.2.2.2: encoded
    /// unreserved characters are equivalent to the characters themselves).
    ///
    /// ```
    /// use porter::{CleanPath, PathError};
    ///
    /// let path = CleanPath::parse("/a/./b/../my%20file.txt").unwrap();
    /// assert_eq!(path.segments(), [b"a".to_vec(), b"my file.txt".to_vec()]);
    /// assert_eq!(CleanPath::parse("/a/%2e%2e/%2e%2e/etc/passwd"), Err(PathError::AboveRoot));
    /// assert_eq!(CleanPath::parse("/a%2Fb"), Err(PathError::ForbiddenByte));
    /// assert_eq!(CleanPath::parse("*"), Err(PathError::NotAbsolute));
    /// ```
    pub fn parse(raw: &str) -> Result<CleanPath, PathError> {
        let rest = raw.strip_prefix('/').ok_or(PathError::NotAbsolute)?;
        let mut segments: Vec<Vec<u8>> = Vec::new();
        let mut trailing_slash = true; // "/" itself names the root directory
        for raw_segment in rest.split('/') {
            let segment = percent_decode(raw_segment.as_bytes())?;
            if segment.iter().any(|&b| matches!(b, b'\0' | b'/' | b'\\')) {
                return Err(PathError::ForbiddenByte);
            }
            // RFC 3986 §5.2.4: "." is dropped, ".." removes the previous segment; a
            // path ending in either names a directory ("/a/.." is "/").
            match segment.as_slice() {
                b"" | b"." => trailing_slash = true,
                b".." => {
                    segments.pop().ok_or(PathError::AboveRoot)?;
                    trailing_slash = true;
                }
                _ => {
                    segments.push(segment);
                    trailing_slash = false;
                }
            }
        }
        Ok(CleanPath { segments, trailing_slash })
    }

    /// The decoded segments, in order; none for the root. Bytes, not text: file
    /// names on Unix need not be UTF-8.
    ///
    /// ```
    /// let path = porter::CleanPath::parse("/docs//caf%C3%A9/").unwrap();
    /// assert_eq!(path.segments(), ["docs".as_bytes(), "café".as_bytes()]);
    /// assert!(porter::CleanPath::parse("/").unwrap().segments().is_empty());
    /// ```
    pub fn segments(&self) -> &[Vec<u8>] {
        &self.segments
    }

    /// True when the path ends with `/` or a dot-segment (`/a/`, `/a/.`, `/b/..`,
    /// and `/` itself): it asks for a directory.
    ///
    /// ```
    /// use porter::CleanPath;
    ///
    /// assert!(CleanPath::parse("/a/").unwrap().has_trailing_slash());
    /// assert!(CleanPath::parse("/a/b/..").unwrap().has_trailing_slash());
    /// assert!(!CleanPath::parse("/a/b").unwrap().has_trailing_slash());
    /// ```
    pub fn has_trailing_slash(&self) -> bool {
        self.trailing_slash
    }

    /// True when `prefix`, a list of decoded segments, covers this path, whole
    /// segments at a time: `["api"]` matches `/api` and `/api/x`, never `/apix`;
    /// an empty prefix matches every path.
    ///
    /// ```
    /// use porter::CleanPath;
    ///
    /// let path = CleanPath::parse("/%61pi/v1/users").unwrap();
    /// assert!(path.starts_with(&["api", "v1"]));
    /// assert!(!path.starts_with(&["ap"]));
    /// assert!(path.starts_with::<&str>(&[]));
    /// ```
    pub fn starts_with<S: AsRef<[u8]>>(&self, prefix: &[S]) -> bool {
        prefix.len() <= self.segments.len()
            && prefix.iter().zip(&self.segments).all(|(p, s)| p.as_ref() == s.as_slice())
    }

    /// The path percent-encoded again, for a `Location` or a link: exactly one
    /// leading `/` (so it never reads as a `//host` scheme-relative reference),
    /// RFC 3986 `pchar`s kept, every other byte encoded (so no CR or LF), and the
    /// trailing slash kept.
    ///
    /// ```
    /// use porter::CleanPath;
    ///
    /// assert_eq!(CleanPath::parse("//evil.example/x").unwrap().encoded(), "/evil.example/x");
    /// assert_eq!(CleanPath::parse("/a%20b/%0d%0a/").unwrap().encoded(), "/a%20b/%0D%0A/");
    /// ```
    pub fn encoded(&self) -> String {
        let mut url = String::from("/");
        for (i, segment) in self.segments.iter().enumerate() {
            if i > 0 {
                url.push('/');
            }
            percent_encode_into(segment, &mut url);
        }
        if self.trailing_slash && !self.segments.is_empty() {
            url.push('/');
        }
        url
    }
}

/// Decodes `%XX` escapes (RFC 3986 §2.1); any other `%` is an error.
fn percent_decode(input: &[u8]) -> Result<Vec<u8>, PathError> {
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while i < input.len() {
        if input[i] != b'%' {
            out.push(input[i]);
            i += 1;
            continue;
        }
        let hi = input.get(i + 1).copied().and_then(hex_value);
        let lo = input.get(i + 2).copied().and_then(hex_value);
        match (hi, lo) {
            (Some(hi), Some(lo)) => out.push(hi << 4 | lo),
            _ => return Err(PathError::BadEscape),
        }
        i += 3;
    }
    Ok(out)
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Appends `segment` with every byte outside RFC 3986 `pchar` (less `%`) percent-encoded.
pub(crate) fn percent_encode_into(segment: &[u8], out: &mut String) {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn clean(raw: &str) -> Result<(Vec<String>, bool), PathError> {
        CleanPath::parse(raw).map(|c| {
            let segs = c.segments().iter().map(|s| String::from_utf8(s.clone()).unwrap()).collect();
            (segs, c.has_trailing_slash())
        })
    }

    fn ok(segs: &[&str], slash: bool) -> Result<(Vec<String>, bool), PathError> {
        Ok((segs.iter().map(|s| s.to_string()).collect(), slash))
    }

    #[test]
    fn percent_decoding() {
        let cases: &[(&str, Result<&[u8], PathError>)] = &[
            ("abc", Ok(b"abc")),
            ("a%20b", Ok(b"a b")),
            ("%41%6a%6A", Ok(b"Ajj")),
            ("%e2%82%ac", Ok("€".as_bytes())),
            ("%ff", Ok(b"\xff")),
            ("%", Err(PathError::BadEscape)),
            ("%4", Err(PathError::BadEscape)),
            ("a%4", Err(PathError::BadEscape)),
            ("%zz", Err(PathError::BadEscape)),
            ("%g0", Err(PathError::BadEscape)),
            ("%+1", Err(PathError::BadEscape)),
        ];
        for (input, want) in cases {
            assert_eq!(percent_decode(input.as_bytes()).as_deref(), want.as_deref(), "{input:?}");
        }
    }

    #[test]
    fn plain_paths() {
        assert_eq!(clean("/"), ok(&[], true));
        assert_eq!(clean("/a.txt"), ok(&["a.txt"], false));
        assert_eq!(clean("/a/b.css"), ok(&["a", "b.css"], false));
        assert_eq!(clean("/a/"), ok(&["a"], true));
        assert_eq!(clean("//a//b"), ok(&["a", "b"], false));
        assert_eq!(clean("/my%20file.txt"), ok(&["my file.txt"], false));
        assert_eq!(clean("/a..b/c."), ok(&["a..b", "c."], false));
        // Hiding dotfiles is `Files`' rule, not normalization's.
        assert_eq!(clean("/.well-known/x"), ok(&[".well-known", "x"], false));
    }

    #[test]
    fn dot_segments_are_removed() {
        assert_eq!(clean("/./a"), ok(&["a"], false));
        assert_eq!(clean("/a/./b"), ok(&["a", "b"], false));
        assert_eq!(clean("/a/b/../c"), ok(&["a", "c"], false));
        assert_eq!(clean("/a/.."), ok(&[], true));
        assert_eq!(clean("/a/."), ok(&["a"], true));
        assert_eq!(clean("/a/b/../../c/"), ok(&["c"], true));
        assert_eq!(clean("/a/%2e%2E/b"), ok(&["b"], false));
        assert_eq!(clean("/a/%2e/b"), ok(&["a", "b"], false));
        assert_eq!(clean("/.git/../x"), ok(&["x"], false));
    }

    #[test]
    fn climbing_above_the_root_is_refused() {
        for raw in
            ["/..", "/../etc/passwd", "/a/../../etc/passwd", "/%2e%2e/etc/passwd", "/%2E%2E", "/./../x", "/a/../.."]
        {
            assert_eq!(clean(raw), Err(PathError::AboveRoot), "{raw}");
        }
    }

    #[test]
    fn forbidden_bytes_are_refused() {
        for raw in ["/a%00b", "/a%2fb", "/a%2Fb", "/..%2f..%2fetc", "/a\\b", "/a%5cb", "/a%5C..%5Cb", "/%00", "/%2F"] {
            assert_eq!(clean(raw), Err(PathError::ForbiddenByte), "{raw}");
        }
    }

    #[test]
    fn bad_escapes_and_relative_paths_are_refused() {
        for raw in ["/a%zz", "/a%", "/%zz", "/%4"] {
            assert_eq!(clean(raw), Err(PathError::BadEscape), "{raw}");
        }
        for raw in ["*", "a/b", ""] {
            assert_eq!(clean(raw), Err(PathError::NotAbsolute), "{raw}");
        }
    }

    #[test]
    fn prefixes_match_whole_segments() {
        let path = |raw: &str| CleanPath::parse(raw).unwrap();
        for yes in ["/api", "/api/", "/api/x", "/api/x/y", "//api", "/%61pi/x", "/x/../api", "/./api"] {
            assert!(path(yes).starts_with(&["api"]), "{yes}");
        }
        for no in ["/apix", "/ap", "/", "/v1/api", "/API"] {
            assert!(!path(no).starts_with(&["api"]), "{no}");
        }
        assert!(path("/anything/at/all").starts_with::<String>(&[]));
        assert!(path("/caf%C3%A9/x").starts_with(&["café".as_bytes()]));
    }

    #[test]
    fn encoded_paths_are_single_slashed_and_safe() {
        let cases = [
            ("/", "/"),
            ("//evil.example/x", "/evil.example/x"),
            ("/a/b/", "/a/b/"),
            ("/a%20b/%0d%0a", "/a%20b/%0D%0A"),
            ("/x/./y/..", "/x/"),
            ("/%e2%82%ac%3f%23", "/%E2%82%AC%3F%23"),
        ];
        for (raw, want) in cases {
            assert_eq!(CleanPath::parse(raw).unwrap().encoded(), want, "{raw}");
        }
    }

    #[test]
    fn errors_say_what_was_wrong() {
        assert_eq!(PathError::AboveRoot.to_string(), "a `..` above the root");
        assert_eq!(PathError::BadEscape.to_string(), "a `%` not followed by two hex digits");
    }
}
