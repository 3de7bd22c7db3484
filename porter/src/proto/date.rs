//! The `Date` header line (RFC 9110 §6.6.1), formatted at most once a second.
//!
//! Each loop owns one cache; formatting an IMF-fixdate costs far more than
//! copying 37 bytes, and the value only changes once a second.

use std::time::{SystemTime, UNIX_EPOCH};

/// `Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n` for the current second.
pub(crate) struct DateCache {
    second: u64,
    line: Vec<u8>,
}

impl DateCache {
    /// A cache holding the current time.
    pub(crate) fn new() -> Self {
        let mut cache = DateCache { second: u64::MAX, line: Vec::with_capacity(40) };
        cache.refresh(SystemTime::now());
        cache
    }

    /// Re-formats the line if `now` is in a later second than the cached one.
    pub(crate) fn refresh(&mut self, now: SystemTime) {
        let second = now.duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
        if second == self.second {
            return;
        }
        self.second = second;
        self.line.clear();
        self.line.extend_from_slice(b"Date: ");
        self.line.extend_from_slice(httpdate::fmt_http_date(now).as_bytes());
        self.line.extend_from_slice(b"\r\n");
    }

    /// The full header line, CRLF included.
    pub(crate) fn line(&self) -> &[u8] {
        &self.line
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn formats_imf_fixdate() {
        let mut c = DateCache::new();
        c.refresh(UNIX_EPOCH + Duration::from_secs(784_111_777));
        assert_eq!(c.line(), b"Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n");
    }

    #[test]
    fn same_second_keeps_line_and_next_second_changes_it() {
        let mut c = DateCache::new();
        let t = UNIX_EPOCH + Duration::from_secs(784_111_777);
        c.refresh(t);
        c.refresh(t + Duration::from_millis(999));
        assert_eq!(c.line(), b"Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n");
        c.refresh(t + Duration::from_secs(1));
        assert_eq!(c.line(), b"Date: Sun, 06 Nov 1994 08:49:38 GMT\r\n");
    }
}
