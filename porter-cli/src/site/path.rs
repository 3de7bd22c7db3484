//! Location paths: a config file's `path = "/admin"` as the decoded segments a
//! request's [`CleanPath`] is matched against with [`CleanPath::starts_with`].
//!
//! Both sides are normalized by `porter::CleanPath`, the code `porter::Files`
//! serves by, so `/%61dmin`, `/x/../admin` and `//admin` all match the location
//! `/admin`, as they all reach the same file under a `root`.

use porter::CleanPath;

/// A location path from the config file as segments (`None` when it is not
/// an absolute path, does not normalize, or is not UTF-8 once decoded).
pub fn location_segments(path: &str) -> Option<Vec<String>> {
    let clean = CleanPath::parse(path).ok()?;
    clean.segments().iter().map(|s| String::from_utf8(s.clone()).ok()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prefix(p: &str) -> Vec<String> {
        location_segments(p).unwrap()
    }

    fn clean(raw: &str) -> CleanPath {
        CleanPath::parse(raw).unwrap()
    }

    #[test]
    fn prefixes_match_on_segment_boundaries() {
        let api = prefix("/api");
        for yes in ["/api", "/api/", "/api/x", "/api/x/y", "//api", "/%61pi/x", "/x/../api", "/./api"] {
            assert!(clean(yes).starts_with(&api), "{yes}");
        }
        for no in ["/apix", "/ap", "/", "/v1/api", "/API"] {
            assert!(!clean(no).starts_with(&api), "{no}");
        }
        assert!(clean("/anything/at/all").starts_with(&prefix("/")));
        assert_eq!(prefix("/api/"), api, "a trailing slash on a location changes nothing");
        assert_eq!(prefix("/%61pi/./v1"), ["api", "v1"], "a location is normalized like a request");
    }

    #[test]
    fn refusals() {
        for bad in ["*", "", "api", "/%2F", "/a%00b", "/..", "/%zz", "/%ff"] {
            assert!(location_segments(bad).is_none(), "{bad}");
        }
    }
}
