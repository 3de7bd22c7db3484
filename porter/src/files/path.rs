//! Request paths as `Files` takes them, before any filesystem access:
//! normalized by [`CleanPath::parse`] (percent-decoding, refusals, dot-segment
//! removal), then hidden names refused, and each refusal given its status.
//!
//! [`clean_path`] is pure. Its result holds only plain file-name segments (see
//! [`CleanPath`]) and, unless hidden files are served, none starting with `.`.

use crate::path::{CleanPath, PathError};

/// Why `Files` refuses a request path before touching the filesystem.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Refusal {
    /// The path does not normalize.
    Malformed(PathError),
    /// A segment starting with `.`: dotfiles are hidden.
    Hidden,
}

impl Refusal {
    /// Hidden names look missing (404); everything else is a malformed request
    /// (400): no correct client sends it (browsers and curl resolve `..` themselves).
    pub(super) fn status(self) -> u16 {
        match self {
            Refusal::Hidden => 404,
            Refusal::Malformed(_) => 400,
        }
    }
}

/// Normalizes and hides dotfiles (unless `show_hidden`). Hiding looks at the
/// normalized path: `/.git/../x` is `/x` and is served.
pub(super) fn clean_path(raw: &str, show_hidden: bool) -> Result<CleanPath, Refusal> {
    let clean = CleanPath::parse(raw).map_err(Refusal::Malformed)?;
    if !show_hidden && clean.segments().iter().any(|s| is_hidden(s)) {
        return Err(Refusal::Hidden);
    }
    Ok(clean)
}

/// True for a dotfile or dot-directory name.
pub(super) fn is_hidden(name: &[u8]) -> bool {
    name.first() == Some(&b'.')
}

/// The path relative to the root as bytes, segments joined by `/` (empty for the root).
pub(super) fn relative(clean: &CleanPath) -> Vec<u8> {
    clean.segments().join(&b'/')
}

/// The path as a percent-encoded absolute URL path ending with `/`, for a
/// redirect. [`CleanPath::encoded`] starts it with exactly one `/` (a raw
/// `//host` path would make a scheme-relative `Location`).
pub(super) fn directory_url(clean: &CleanPath) -> String {
    let mut url = clean.encoded();
    if !url.ends_with('/') {
        url.push('/');
    }
    url
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn malformed_paths_are_400() {
        let cases = [
            ("/../etc/passwd", PathError::AboveRoot),
            ("/a%2fb", PathError::ForbiddenByte),
            ("/a%zz", PathError::BadEscape),
            ("*", PathError::NotAbsolute),
        ];
        for (raw, error) in cases {
            assert_eq!(clean_path(raw, false), Err(Refusal::Malformed(error)), "{raw}");
            assert_eq!(clean_path(raw, true), Err(Refusal::Malformed(error)), "{raw}: hidden or not");
            assert_eq!(Refusal::Malformed(error).status(), 400);
        }
    }

    #[test]
    fn dotfiles_are_hidden_unless_asked_for() {
        for raw in ["/.env", "/.git/config", "/a/.htpasswd", "/%2egit/HEAD", "/a/.../b", "/.well-known/x"] {
            assert_eq!(clean_path(raw, false), Err(Refusal::Hidden), "{raw}");
            assert!(clean_path(raw, true).is_ok(), "{raw}");
        }
        assert_eq!(Refusal::Hidden.status(), 404);
        assert!(clean_path("/.git/../x", false).is_ok(), "hidden names are looked for after normalizing");
    }

    #[test]
    fn directory_urls_are_single_slashed_and_encoded() {
        let url = |raw: &str| directory_url(&clean_path(raw, false).unwrap());
        assert_eq!(url("/"), "/");
        assert_eq!(url("/a"), "/a/");
        assert_eq!(url("//evil.example"), "/evil.example/");
        assert_eq!(url("/my%20dir/x"), "/my%20dir/x/");
        assert_eq!(url("/a/../b"), "/b/");
        assert_eq!(url("/%e2%82%ac%3f%23"), "/%E2%82%AC%3F%23/");
    }

    #[test]
    fn relative_paths_are_joined_segments() {
        assert_eq!(relative(&clean_path("/a/b/../c%20d", false).unwrap()), b"a/c d");
        assert_eq!(relative(&clean_path("/", false).unwrap()), b"");
    }
}
