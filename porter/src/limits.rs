//! `Limits`: every bound porter puts on a client, with its default.
//!
//! Each limit exists to keep one client from hurting the others: a slow or
//! hostile peer meets a clear status (408, 413, 414, 431) and a closed
//! connection, never unbounded memory or a held worker.

use std::time::Duration;

/// Bounds on requests and connections. `Limits::default()` is a sound
/// production setting; change single fields with struct update syntax:
///
/// ```
/// let limits = porter::Limits { max_body: 64 << 20, ..porter::Limits::default() };
/// # assert_eq!(limits.max_headers, 64);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Longest request line (method, target, version) in bytes; beyond: 414.
    pub max_request_line: usize,
    /// Largest request head (request line + headers) in bytes; beyond: 431.
    pub max_head: usize,
    /// Most header fields in one request; beyond: 431.
    pub max_headers: usize,
    /// Largest request body in bytes, after chunked decoding; beyond: 413 and close.
    pub max_body: u64,
    /// Longest chunk-size line (size plus extensions) in a chunked body; beyond: 400.
    pub max_chunk_line: usize,
    /// Largest trailer section of a chunked body in bytes; beyond: 400.
    pub max_trailers: usize,
    /// Most requests parsed ahead of their replies on one connection (pipelining);
    /// beyond, porter stops reading that connection until replies go out.
    pub max_pipelined: usize,
    /// Time allowed for a whole request head to arrive, from its first byte; then
    /// 408 and close. The slowloris defence: trickling bytes does not extend it.
    pub header_timeout: Duration,
    /// Longest pause between two reads of a request body; then 408 and close.
    pub body_timeout: Duration,
    /// How long a keep-alive connection may sit idle between requests; then it is closed.
    pub idle_timeout: Duration,
    /// Longest time a reply may make no progress towards a client that does not
    /// read, whatever its body (buffered, in memory, a file, a stream, TLS
    /// records), as nginx's `send_timeout`; then the connection is closed.
    pub write_timeout: Duration,
    /// Most open connections per worker loop; further clients wait in the
    /// listen backlog until a connection closes.
    pub max_connections: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_request_line: 8 * 1024,
            max_head: 16 * 1024,
            max_headers: 64,
            max_body: 8 * 1024 * 1024,
            max_chunk_line: 4 * 1024,
            max_trailers: 8 * 1024,
            max_pipelined: 64,
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(30),
            idle_timeout: Duration::from_secs(60),
            write_timeout: Duration::from_secs(30),
            max_connections: 16 * 1024,
        }
    }
}

impl Limits {
    pub(crate) fn head_limits(&self) -> crate::proto::parse::HeadLimits {
        crate::proto::parse::HeadLimits {
            max_request_line: self.max_request_line,
            max_head: self.max_head,
            max_headers: self.max_headers,
        }
    }

    pub(crate) fn chunked_limits(&self) -> crate::proto::body::ChunkedLimits {
        crate::proto::body::ChunkedLimits { max_chunk_line: self.max_chunk_line, max_trailers: self.max_trailers }
    }
}
