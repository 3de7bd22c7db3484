//! `Cache-Control` per path pattern, with a default for the whole root.
//!
//! Rules are tried in the order they were added; the first whose pattern
//! matches the served file's path wins, else the default, else no header.
//! Patterns are globs over the path from the root, segment by segment:
//! `*` matches any run of characters within a segment, `?` one character, and
//! a segment `**` any number of whole segments. A pattern without `/` matches
//! the file name alone (`*.css`); one with `/` matches the whole path
//! (`/assets/**`, leading `/` optional). Matching is linear-time in practice
//! (segment globs are matched with the classic two-pointer algorithm, `**` with
//! a small table), so a long request path cannot make it expensive.

use std::io;

use bytes::Bytes;

/// The configured `Cache-Control` values.
#[derive(Clone, Debug, Default)]
pub(super) struct CacheRules {
    default: Option<Bytes>,
    rules: Vec<(Pattern, Bytes)>,
}

impl CacheRules {
    /// Sets the value for files no rule matches.
    pub(super) fn set_default(&mut self, value: &str) -> io::Result<()> {
        self.default = Some(checked_value(value)?);
        Ok(())
    }

    /// Adds a rule after the existing ones.
    pub(super) fn add(&mut self, pattern: &str, value: &str) -> io::Result<()> {
        let value = checked_value(value)?;
        self.rules.push((Pattern::new(pattern)?, value));
        Ok(())
    }

    /// The value for the file at `path` (relative to the root, segments joined by `/`).
    pub(super) fn for_path(&self, path: &[u8]) -> Option<&Bytes> {
        self.rules.iter().find(|(p, _)| p.matches(path)).map(|(_, v)| v).or(self.default.as_ref())
    }
}

/// A header value: visible ASCII, spaces and tabs only (RFC 9110 §5.5), not empty.
fn checked_value(value: &str) -> io::Result<Bytes> {
    let value = value.trim();
    let ok = !value.is_empty() && value.bytes().all(|b| b == b'\t' || (0x20..0x7f).contains(&b));
    if ok {
        Ok(Bytes::copy_from_slice(value.as_bytes()))
    } else {
        Err(io::Error::new(io::ErrorKind::InvalidInput, format!("invalid Cache-Control value {value:?}")))
    }
}

/// A compiled glob.
#[derive(Clone, Debug)]
struct Pattern {
    /// Match the file name only (the pattern had no `/`).
    name_only: bool,
    segments: Vec<Vec<u8>>,
}

impl Pattern {
    fn new(text: &str) -> io::Result<Pattern> {
        let name_only = !text.contains('/');
        let segments: Vec<Vec<u8>> = text.split('/').filter(|s| !s.is_empty()).map(|s| s.as_bytes().to_vec()).collect();
        if segments.is_empty() {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, format!("empty cache pattern {text:?}")));
        }
        Ok(Pattern { name_only, segments })
    }

    fn matches(&self, path: &[u8]) -> bool {
        let path: Vec<&[u8]> = path.split(|&b| b == b'/').filter(|s| !s.is_empty()).collect();
        if self.name_only {
            return path.last().is_some_and(|name| glob(&self.segments[0], name));
        }
        segments_match(&self.segments, &path)
    }
}

/// Whole-path matching with `**`: `reach[j]` is true when the pattern so far
/// can end right before path segment `j`.
fn segments_match(pattern: &[Vec<u8>], path: &[&[u8]]) -> bool {
    let mut reach = vec![false; path.len() + 1];
    reach[0] = true;
    for seg in pattern {
        let mut next = vec![false; path.len() + 1];
        if seg == b"**" {
            // Zero or more segments: everything at or after the first reachable point.
            if let Some(first) = reach.iter().position(|&r| r) {
                next[first..].iter_mut().for_each(|n| *n = true);
            }
        } else {
            for j in 0..path.len() {
                next[j + 1] = reach[j] && glob(seg, path[j]);
            }
        }
        reach = next;
    }
    reach[path.len()]
}

/// `*` and `?` within one segment: the two-pointer wildcard match.
fn glob(pattern: &[u8], text: &[u8]) -> bool {
    let (mut p, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match pattern.get(p) {
            Some(b'*') => {
                star = Some((p, t));
                p += 1;
            }
            Some(&c) if c == b'?' || c == text[t] => {
                p += 1;
                t += 1;
            }
            _ => match star {
                // Let the last `*` swallow one more character and retry.
                Some((sp, st)) => {
                    p = sp + 1;
                    t = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    pattern[p..].iter().all(|&c| c == b'*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_within_a_segment() {
        let cases = [
            ("*", "", true),
            ("*", "abc", true),
            ("*.css", "site.css", true),
            ("*.css", "site.css.map", false),
            ("a?c", "abc", true),
            ("a?c", "ac", false),
            ("*a*b*c", "xxaxxbxxc", true),
            ("*a*b*c", "xxaxxcxxb", false),
            ("index.html", "index.html", true),
            ("index.html", "index.htm", false),
        ];
        for (pattern, text, want) in cases {
            assert_eq!(glob(pattern.as_bytes(), text.as_bytes()), want, "{pattern} ~ {text}");
        }
    }

    #[test]
    fn path_patterns() {
        let cases = [
            ("*.css", "a/b/site.css", true),
            ("*.css", "site.css", true),
            ("*.css", "css/site.js", false),
            ("/assets/**", "assets/a/b/c.png", true),
            ("assets/**", "assets/x.png", true),
            ("/assets/**", "other/assets/x.png", false),
            ("/assets/*", "assets/a/b.png", false),
            ("/assets/*", "assets/b.png", true),
            ("/**/*.html", "index.html", true),
            ("/**/*.html", "a/b/index.html", true),
            ("/a/**/z.txt", "a/z.txt", true),
            ("/a/**/z.txt", "a/b/c/z.txt", true),
            ("/a/**/z.txt", "b/z.txt", false),
            ("/index.html", "index.html", true),
            ("/index.html", "sub/index.html", false),
        ];
        for (pattern, path, want) in cases {
            assert_eq!(Pattern::new(pattern).unwrap().matches(path.as_bytes()), want, "{pattern} ~ {path}");
        }
    }

    #[test]
    fn first_rule_wins_then_the_default() {
        let mut rules = CacheRules::default();
        assert_eq!(rules.for_path(b"a.css"), None);
        rules.add("*.html", "no-cache").unwrap();
        rules.add("/assets/**", "max-age=31536000, immutable").unwrap();
        rules.add("*.css", "max-age=60").unwrap();
        rules.set_default("max-age=3600").unwrap();
        assert_eq!(rules.for_path(b"index.html").unwrap(), "no-cache");
        assert_eq!(rules.for_path(b"assets/index.html").unwrap(), "no-cache");
        assert_eq!(rules.for_path(b"assets/site.css").unwrap(), "max-age=31536000, immutable");
        assert_eq!(rules.for_path(b"site.css").unwrap(), "max-age=60");
        assert_eq!(rules.for_path(b"logo.png").unwrap(), "max-age=3600");
    }

    #[test]
    fn bad_values_and_patterns_are_refused() {
        let mut rules = CacheRules::default();
        for bad in ["", "  ", "a\r\nSet-Cookie: x", "a\0", "caf\u{e9}"] {
            assert!(rules.set_default(bad).is_err(), "{bad:?}");
            assert!(rules.add("*", bad).is_err(), "{bad:?}");
        }
        assert!(rules.add("/", "no-cache").is_err());
        assert!(rules.add("", "no-cache").is_err());
    }

    #[test]
    fn long_paths_stay_cheap() {
        let pattern = Pattern::new("/**/*a*a*a*a*a*b").unwrap();
        let path = format!("{}/{}", vec!["x"; 2000].join("/"), "a".repeat(4000));
        assert!(!pattern.matches(path.as_bytes()));
    }
}
