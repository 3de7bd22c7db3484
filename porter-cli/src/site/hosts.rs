//! Virtual hosts: which `[[host]]` answers a request, from its Host (RFC 9110
//! §7.2) or its absolute-form target's authority.
//!
//! Names compare case-insensitively (RFC 9110 §4.2.3: the host is
//! case-insensitive), without the port and without a trailing dot. An exact
//! name wins over a wildcard; `*.example.com` matches any name ending in
//! `.example.com` (`a.example.com`, `a.b.example.com`, never `example.com`),
//! and the longest matching wildcard wins. Anything else, and a request
//! without a host (HTTP/1.0), goes to the default host.

use std::borrow::Cow;
use std::collections::HashMap;

/// Host names to host indexes.
#[derive(Debug, Default)]
pub struct HostTable {
    exact: HashMap<String, usize>,
    /// `(".example.com", index)`, longest suffix first.
    wildcards: Vec<(String, usize)>,
    default: usize,
}

impl HostTable {
    /// A table for `hosts`' names (lowercased, as the config stores them); the
    /// first host listing a name keeps it.
    pub fn new<'a>(hosts: impl IntoIterator<Item = &'a [String]>, default: usize) -> Self {
        let mut table = HostTable { default, ..HostTable::default() };
        for (index, names) in hosts.into_iter().enumerate() {
            for name in names {
                match name.strip_prefix('*') {
                    Some(suffix) => table.wildcards.push((suffix.to_string(), index)),
                    None => {
                        table.exact.entry(name.clone()).or_insert(index);
                    }
                }
            }
        }
        table.wildcards.sort_by_key(|(suffix, _)| std::cmp::Reverse(suffix.len()));
        table
    }

    /// The index of the host that answers a request for `authority` (the Host
    /// header's value), or the default host.
    pub fn pick(&self, authority: Option<&str>) -> usize {
        let Some(name) = authority.and_then(host_name) else { return self.default };
        if let Some(&index) = self.exact.get(&*name) {
            return index;
        }
        let wildcard = self.wildcards.iter().find(|(suffix, _)| name.len() > suffix.len() && name.ends_with(suffix));
        wildcard.map_or(self.default, |&(_, index)| index)
    }
}

/// The host name in an authority (`Example.COM:8080` → `example.com`,
/// `[::1]:80` → `[::1]`), lowercased, without port or trailing dot. `None`
/// when it has characters no host name has (RFC 3986 §3.2.2). Borrowed when
/// already lowercase: no allocation for the usual request.
pub fn host_name(authority: &str) -> Option<Cow<'_, str>> {
    let host = match authority.strip_prefix('[') {
        Some(rest) => &authority[..rest.find(']')? + 2],
        None => authority.rsplit_once(':').map_or(authority, |(host, _port)| host),
    };
    let host = host.strip_suffix('.').unwrap_or(host);
    let allowed = |b: u8| b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=%:[]".contains(&b);
    if host.is_empty() || !host.bytes().all(allowed) {
        return None;
    }
    match host.bytes().any(|b| b.is_ascii_uppercase()) {
        true => Some(Cow::Owned(host.to_ascii_lowercase())),
        false => Some(Cow::Borrowed(host)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> HostTable {
        let hosts: Vec<Vec<String>> = vec![
            vec!["example.com".into(), "www.example.com".into()],
            vec!["*.example.com".into()],
            vec!["*.api.example.com".into(), "[::1]".into(), "127.0.0.1".into()],
            vec!["other.test".into()],
        ];
        HostTable::new(hosts.iter().map(|h| h.as_slice()), 3)
    }

    #[test]
    fn exact_names_case_and_port() {
        let t = table();
        for (authority, want) in [
            ("example.com", 0),
            ("EXAMPLE.com", 0),
            ("example.com:8080", 0),
            ("example.com.", 0),
            ("www.example.com", 0),
            ("[::1]:8080", 2),
            ("[::1]", 2),
            ("127.0.0.1:80", 2),
            ("other.test", 3),
        ] {
            assert_eq!(t.pick(Some(authority)), want, "{authority}");
        }
    }

    #[test]
    fn wildcards_and_default() {
        let t = table();
        assert_eq!(t.pick(Some("a.example.com")), 1);
        assert_eq!(t.pick(Some("A.B.Example.Com:443")), 1);
        assert_eq!(t.pick(Some("v1.api.example.com")), 2, "the longest wildcard wins");
        assert_eq!(t.pick(Some("api.example.com")), 1, "*.api.example.com does not match api.example.com");
        assert_eq!(t.pick(Some("notexample.com")), 3, "a wildcard needs its dot");
        assert_eq!(t.pick(Some("unknown.test")), 3);
        assert_eq!(t.pick(None), 3, "no Host: the default");
        assert_eq!(t.pick(Some("bad host")), 3, "a malformed name: the default");
    }

    #[test]
    fn host_names() {
        assert_eq!(host_name("Example.COM:8080").as_deref(), Some("example.com"));
        assert_eq!(host_name("[::1]:80").as_deref(), Some("[::1]"));
        assert_eq!(host_name("[::1"), None);
        assert_eq!(host_name("a b"), None);
        assert_eq!(host_name(":80"), None);
        assert_eq!(host_name("a\r\nb"), None);
    }
}
