//! Request paths, before any filesystem access: percent-decoding, refusals,
//! dot-segment removal and hidden names.
//!
//! [`clean_path`] is pure. Its result, a [`CleanPath`], holds only plain file-name
//! segments: none empty, `.`, `..`, or holding `/`, `\` or NUL, and (unless hidden
//! files are served) none starting with `.`. It works segment by segment on the
//! raw path, so an encoded `/` (`%2F`) can be told from a real one.

/// Why a request path was refused before touching the filesystem.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum PathError {
    /// The path does not start with `/` (e.g. the `*` of `OPTIONS *`).
    NotAbsolute,
    /// A `%` not followed by two hex digits.
    BadEscape,
    /// A NUL, an encoded `/` or a `\`: bytes a file name here must not carry.
    ForbiddenByte,
    /// A `..` that would climb above the root.
    AboveRoot,
    /// A segment starting with `.`: dotfiles are hidden.
    Hidden,
}

impl PathError {
    /// Hidden names look missing (404); everything else is a malformed request
    /// (400): no correct client sends it (browsers and curl resolve `..` themselves).
    pub(super) fn status(self) -> u16 {
        match self {
            PathError::Hidden => 404,
            _ => 400,
        }
    }
}

/// A request path after [`clean_path`].
#[derive(Debug, PartialEq, Eq)]
pub(super) struct CleanPath {
    pub(super) segments: Vec<Vec<u8>>,
    /// The path ended with `/` (or a dot-segment): it asks for a directory.
    pub(super) trailing_slash: bool,
}

impl CleanPath {
    /// The path relative to the root as bytes, segments joined by `/` (empty for the root).
    pub(super) fn relative(&self) -> Vec<u8> {
        self.segments.join(&b'/')
    }

    /// The path as a percent-encoded absolute URL path ending with `/`, for a
    /// redirect. Built from the clean segments, so it always starts with exactly
    /// one `/` (a raw `//host` path would make a scheme-relative `Location`).
    pub(super) fn directory_url(&self) -> String {
        let mut url = String::from("/");
        for segment in &self.segments {
            percent_encode_into(segment, &mut url);
            url.push('/');
        }
        url
    }
}

/// Decodes, refuses, removes dot-segments and hides dotfiles (unless `show_hidden`).
///
/// `%2e%2e` is a dot-segment like `..` (RFC 3986 §6.2.2.2: encoded unreserved
/// characters are equivalent to the characters themselves). Empty segments
/// (`//`) are skipped.
pub(super) fn clean_path(raw: &str, show_hidden: bool) -> Result<CleanPath, PathError> {
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
    if !show_hidden && segments.iter().any(|s| is_hidden(s)) {
        return Err(PathError::Hidden);
    }
    Ok(CleanPath { segments, trailing_slash })
}

/// True for a dotfile or dot-directory name.
pub(super) fn is_hidden(name: &[u8]) -> bool {
    name.first() == Some(&b'.')
}

/// Decodes `%XX` escapes (RFC 3986 §2.1); any other `%` is an error. Bytes, not
/// text: file names on Unix need not be UTF-8.
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
pub(super) fn percent_encode_into(segment: &[u8], out: &mut String) {
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
        clean_path(raw, false).map(|c| {
            let segs = c.segments.iter().map(|s| String::from_utf8(s.clone()).unwrap()).collect();
            (segs, c.trailing_slash)
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
        for raw in ["/..", "/../etc/passwd", "/a/../../etc/passwd", "/%2e%2e/etc/passwd", "/%2E%2E", "/./../x"] {
            assert_eq!(clean(raw), Err(PathError::AboveRoot), "{raw}");
        }
        assert_eq!(PathError::AboveRoot.status(), 400);
    }

    #[test]
    fn forbidden_bytes_are_refused() {
        for raw in ["/a%00b", "/a%2fb", "/a%2Fb", "/..%2f..%2fetc", "/a\\b", "/a%5cb", "/a%5C..%5Cb", "/%00"] {
            assert_eq!(clean(raw), Err(PathError::ForbiddenByte), "{raw}");
        }
        assert_eq!(PathError::ForbiddenByte.status(), 400);
    }

    #[test]
    fn bad_escapes_and_relative_paths_are_refused() {
        assert_eq!(clean("/a%zz"), Err(PathError::BadEscape));
        assert_eq!(clean("/a%"), Err(PathError::BadEscape));
        assert_eq!(clean("*"), Err(PathError::NotAbsolute));
        assert_eq!(clean("a/b"), Err(PathError::NotAbsolute));
        assert_eq!(clean(""), Err(PathError::NotAbsolute));
        assert_eq!(PathError::BadEscape.status(), 400);
    }

    #[test]
    fn dotfiles_are_hidden_unless_asked_for() {
        for raw in ["/.env", "/.git/config", "/a/.htpasswd", "/%2egit/HEAD", "/a/.../b", "/.well-known/x"] {
            assert_eq!(clean(raw), Err(PathError::Hidden), "{raw}");
            assert!(clean_path(raw, true).is_ok(), "{raw}");
        }
        assert_eq!(PathError::Hidden.status(), 404);
    }

    #[test]
    fn directory_urls_are_single_slashed_and_encoded() {
        let url = |raw: &str| clean_path(raw, false).unwrap().directory_url();
        assert_eq!(url("/"), "/");
        assert_eq!(url("/a"), "/a/");
        assert_eq!(url("//evil.example"), "/evil.example/");
        assert_eq!(url("/my%20dir/x"), "/my%20dir/x/");
        assert_eq!(url("/a/../b"), "/b/");
        assert_eq!(url("/%e2%82%ac%3f%23"), "/%E2%82%AC%3F%23/");
    }

    #[test]
    fn relative_paths_are_joined_segments() {
        assert_eq!(clean_path("/a/b/../c%20d", false).unwrap().relative(), b"a/c d");
        assert_eq!(clean_path("/", false).unwrap().relative(), b"");
    }
}
