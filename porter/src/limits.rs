//! `Limits`: every bound porter puts on a client, with its default.
//!
//! Each limit exists to keep one client from hurting the others: a slow or
//! hostile peer meets a clear status (408, 413, 414, 431) and a closed
//! connection, never unbounded memory or a held worker.
//!
//! [`Limits::validate`] is the one check of a setting: [`ServerBuilder::build`]
//! refuses limits that fail it, and the CLI, its config file and the C API
//! report its error rather than checking on their own.
//!
//! [`ServerBuilder::build`]: crate::ServerBuilder::build

use std::fmt;
use std::time::{Duration, Instant};

/// Bounds on requests and connections. `Limits::default()` is a sound
/// production setting; change single fields with struct update syntax.
/// Every count must be at least 1 (but `max_body` and `max_trailers`: 0 means
/// no body, no trailers), every timeout longer than zero and at most
/// [`Limits::MAX_TIMEOUT`]; [`Limits::validate`] says which are not.
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
    /// Most header fields in one request; beyond: 431. Any value is safe: a
    /// head of `max_head` bytes holds no more than `max_head / 4` fields, and
    /// no more slots than that are ever allocated.
    pub max_headers: usize,
    /// Largest request body in bytes, after chunked decoding; beyond: 413 and close.
    /// It applies to streamed bodies too, unless the
    /// [`stream_body`](crate::stream_body) handler sets its own
    /// ([`StreamBody::max_body`](crate::StreamBody::max_body)): a large upload
    /// route then needs no large `max_body`, which every buffered route holds.
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
    /// The longest timeout: one year. Longer ones are refused (a deadline
    /// must stay a representable [`Instant`]; `Duration::MAX` is not one).
    pub const MAX_TIMEOUT: Duration = Duration::from_secs(365 * 24 * 60 * 60);

    /// Checks every field; the error lists each one that porter cannot work
    /// with. [`ServerBuilder::build`](crate::ServerBuilder::build) runs it.
    ///
    /// ```
    /// let limits = porter::Limits { max_pipelined: 0, ..porter::Limits::default() };
    /// let e = limits.validate().unwrap_err();
    /// assert_eq!(e.fields().collect::<Vec<_>>(), ["max_pipelined"]);
    /// ```
    pub fn validate(&self) -> Result<(), LimitsError> {
        // A zero count makes every request (or every chunked body) fail, or,
        // for `max_pipelined` and `max_connections`, none ever be read. Zero
        // is a real setting for `max_body` and `max_trailers`: none allowed.
        let counts = [
            ("max_request_line", self.max_request_line),
            ("max_head", self.max_head),
            ("max_headers", self.max_headers),
            ("max_chunk_line", self.max_chunk_line),
            ("max_pipelined", self.max_pipelined),
            ("max_connections", self.max_connections),
        ];
        let timeouts = [
            ("header_timeout", self.header_timeout),
            ("body_timeout", self.body_timeout),
            ("idle_timeout", self.idle_timeout),
            ("write_timeout", self.write_timeout),
        ];
        let zero_counts = counts.into_iter().filter(|&(_, n)| n == 0).map(|(field, _)| (field, Problem::Zero));
        let bad_timeouts = timeouts.into_iter().filter_map(|(field, d)| match d {
            Duration::ZERO => Some((field, Problem::ZeroTime)),
            d if d > Self::MAX_TIMEOUT => Some((field, Problem::TooLong)),
            _ => None,
        });
        let problems: Vec<InvalidLimit> =
            zero_counts.chain(bad_timeouts).map(|(field, problem)| InvalidLimit { field, problem }).collect();
        if problems.is_empty() {
            Ok(())
        } else {
            Err(LimitsError { problems })
        }
    }

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

/// The deadline `d` after `now`. `d` is at most [`Limits::MAX_TIMEOUT`] for
/// validated limits; a longer one (a shutdown grace) waits that long: never
/// an overflow panic.
pub(crate) fn deadline_after(now: Instant, d: Duration) -> Instant {
    let d = d.min(Limits::MAX_TIMEOUT);
    now.checked_add(d).unwrap_or(now)
}

/// Limits that [`Limits::validate`] refused: every offending field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LimitsError {
    problems: Vec<InvalidLimit>,
}

/// One refused [`Limits`] field.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InvalidLimit {
    field: &'static str,
    problem: Problem,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Problem {
    Zero,
    ZeroTime,
    TooLong,
}

impl LimitsError {
    /// The refused fields, by their names in [`Limits`] (`"max_pipelined"`).
    pub fn fields(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.problems.iter().map(|p| p.field)
    }

    /// Each refused field with what is wrong with it.
    pub fn problems(&self) -> &[InvalidLimit] {
        &self.problems
    }
}

impl InvalidLimit {
    /// The field's name in [`Limits`].
    pub fn field(&self) -> &'static str {
        self.field
    }
}

impl fmt::Display for InvalidLimit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let field = self.field;
        match self.problem {
            Problem::Zero => write!(f, "`{field}` must be at least 1"),
            Problem::ZeroTime => write!(f, "`{field}` must be longer than zero"),
            Problem::TooLong => {
                write!(f, "`{field}` must be at most {} seconds (one year)", Limits::MAX_TIMEOUT.as_secs())
            }
        }
    }
}

impl fmt::Display for LimitsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("invalid limits: ")?;
        for (i, problem) in self.problems.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{problem}")?;
        }
        Ok(())
    }
}

impl std::error::Error for LimitsError {}

impl From<LimitsError> for std::io::Error {
    fn from(e: LimitsError) -> Self {
        std::io::Error::new(std::io::ErrorKind::InvalidInput, e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Sets one field of the defaults to a count or a duration.
    fn with(field: &str, count: usize, time: Duration) -> Limits {
        let mut l = Limits::default();
        match field {
            "max_request_line" => l.max_request_line = count,
            "max_head" => l.max_head = count,
            "max_headers" => l.max_headers = count,
            "max_body" => l.max_body = count as u64,
            "max_chunk_line" => l.max_chunk_line = count,
            "max_trailers" => l.max_trailers = count,
            "max_pipelined" => l.max_pipelined = count,
            "max_connections" => l.max_connections = count,
            "header_timeout" => l.header_timeout = time,
            "body_timeout" => l.body_timeout = time,
            "idle_timeout" => l.idle_timeout = time,
            "write_timeout" => l.write_timeout = time,
            _ => unreachable!("{field}"),
        }
        l
    }

    fn refused(limits: &Limits) -> Vec<&'static str> {
        limits.validate().err().map(|e| e.fields().collect()).unwrap_or_default()
    }

    #[test]
    fn every_field_is_checked() {
        assert_eq!(Limits::default().validate(), Ok(()));
        // (field, zero refused, too long refused): every field of `Limits`.
        let table = [
            ("max_request_line", true, false),
            ("max_head", true, false),
            ("max_headers", true, false),
            ("max_body", false, false),
            ("max_chunk_line", true, false),
            ("max_trailers", false, false),
            ("max_pipelined", true, false),
            ("max_connections", true, false),
            ("header_timeout", true, true),
            ("body_timeout", true, true),
            ("idle_timeout", true, true),
            ("write_timeout", true, true),
        ];
        for (field, zero_refused, long_refused) in table {
            let want = |refused: bool| if refused { vec![field] } else { vec![] };
            assert_eq!(refused(&with(field, 0, Duration::ZERO)), want(zero_refused), "{field} = 0");
            assert_eq!(refused(&with(field, 1, Duration::MAX)), want(long_refused), "{field} = MAX");
            let longest = with(field, usize::MAX, Limits::MAX_TIMEOUT);
            assert_eq!(refused(&longest), Vec::<&str>::new(), "{field} at its largest");
            assert_eq!(refused(&with(field, 1, Duration::from_nanos(1))), Vec::<&str>::new(), "{field} at its least");
        }
    }

    #[test]
    fn the_error_lists_every_field() {
        let limits = Limits { max_pipelined: 0, idle_timeout: Duration::MAX, ..Limits::default() };
        let e = limits.validate().unwrap_err();
        assert_eq!(e.fields().collect::<Vec<_>>(), ["max_pipelined", "idle_timeout"]);
        assert_eq!(
            e.to_string(),
            "invalid limits: `max_pipelined` must be at least 1; `idle_timeout` must be at most 31536000 seconds (one year)"
        );
        assert_eq!(std::io::Error::from(e).kind(), std::io::ErrorKind::InvalidInput);
    }

    #[test]
    fn deadlines_never_overflow() {
        let now = Instant::now();
        assert_eq!(deadline_after(now, Duration::MAX), now + Limits::MAX_TIMEOUT);
        assert_eq!(deadline_after(now, Duration::from_secs(1)), now + Duration::from_secs(1));
    }
}
