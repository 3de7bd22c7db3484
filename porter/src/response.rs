//! `Response` and `Body`: what a handler hands back.
//!
//! Framing headers (`Content-Length`, `Transfer-Encoding`, `Connection`) and
//! `Date`/`Server` belong to porter, which sets them from the body and the
//! connection state; a handler that sets them has them ignored. Header names and
//! values are checked when added: anything that could split the response (CR,
//! LF, NUL, other controls) is refused, and a response carrying a refused header
//! goes out as a bare 500 instead.

use std::fmt;
use std::fs::File;
use std::io::{self, Read};

use bytes::Bytes;

use crate::proto::parse::is_tchar;

/// An HTTP response under construction.
#[derive(Debug)]
pub struct Response {
    pub(crate) status: u16,
    pub(crate) headers: Vec<(Bytes, Bytes)>,
    pub(crate) body: Body,
    pub(crate) invalid: Option<HeaderError>,
    pub(crate) close: bool,
}

/// A header that [`Response::try_header`] refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HeaderError {
    /// The name is empty or has a byte that is not a token character (RFC 9110 §5.1).
    InvalidName,
    /// The value has CR, LF, NUL or another control character (RFC 9110 §5.5).
    InvalidValue,
}

impl fmt::Display for HeaderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            HeaderError::InvalidName => "invalid header name",
            HeaderError::InvalidValue => "invalid header value (control character)",
        })
    }
}

impl std::error::Error for HeaderError {}

impl Response {
    /// An empty response with `status`: 200–599 (RFC 9110 §15). Anything else
    /// becomes 500, including 1xx, which is never a final response.
    pub fn new(status: u16) -> Self {
        let status = if (200..=599).contains(&status) { status } else { 500 };
        Response { status, headers: Vec::new(), body: Body::empty(), invalid: None, close: false }
    }

    /// `200 OK` with a `text/plain; charset=utf-8` body.
    pub fn text(body: impl Into<Bytes>) -> Self {
        Response::new(200).header("Content-Type", "text/plain; charset=utf-8").body(body.into())
    }

    /// `200 OK` with a `text/html; charset=utf-8` body.
    pub fn html(body: impl Into<Bytes>) -> Self {
        Response::new(200).header("Content-Type", "text/html; charset=utf-8").body(body.into())
    }

    /// `200 OK` with an `application/octet-stream` body.
    pub fn bytes(body: impl Into<Bytes>) -> Self {
        Response::new(200).header("Content-Type", "application/octet-stream").body(body.into())
    }

    /// A response with `status` and a short plain-text body naming it, e.g. `404 Not Found`.
    pub fn error(status: u16) -> Self {
        let reason = crate::proto::encode::reason_phrase(status);
        Response::new(status).header("Content-Type", "text/plain; charset=utf-8").body(format!("{status} {reason}\n"))
    }

    /// Why porter refuses a body over its limit: the reason its own `413` gives
    /// (`Response::error_because(413, Response::BODY_TOO_LARGE)`), and the
    /// message of a streaming reader's `FileTooLarge` error.
    pub const BODY_TOO_LARGE: &'static str = "request body larger than the server accepts";

    /// [`Response::error`] that also says why, e.g. `400 Bad Request: missing Host header`:
    /// what porter's own refusals of a request it cannot take look like, for an
    /// application refusing the same way.
    pub fn error_because(status: u16, why: &str) -> Self {
        let reason = crate::proto::encode::reason_phrase(status);
        Response::text(format!("{status} {reason}: {why}\n")).status(status)
    }

    /// Sets the status code.
    pub fn status(mut self, status: u16) -> Self {
        self.status = Response::new(status).status;
        self
    }

    /// The status code.
    pub fn status_code(&self) -> u16 {
        self.status
    }

    /// Adds a header. An invalid name or value is refused and turns this
    /// response into a 500 when sent (see [`Response::try_header`] to handle it).
    pub fn header(mut self, name: impl Into<Bytes>, value: impl Into<Bytes>) -> Self {
        if let Err(e) = self.add_header(name, value) {
            log::error!("response header refused: {e}");
            self.invalid = Some(e);
        }
        self
    }

    /// Adds a header, or says why it cannot be sent.
    pub fn try_header(mut self, name: impl Into<Bytes>, value: impl Into<Bytes>) -> Result<Self, HeaderError> {
        self.add_header(name, value)?;
        Ok(self)
    }

    /// Adds a header in place, or says why it cannot be sent (the response is
    /// then unchanged): for code that holds a `&mut Response`, such as bindings.
    pub fn add_header(&mut self, name: impl Into<Bytes>, value: impl Into<Bytes>) -> Result<(), HeaderError> {
        let (name, value) = (name.into(), value.into());
        check_header(&name, &value)?;
        if is_framing_header(&name) {
            log::debug!("ignoring handler-set framing header {:?}", String::from_utf8_lossy(&name));
        } else {
            self.headers.push((name, value));
        }
        Ok(())
    }

    /// The value of the first header named `name` (case-insensitive).
    pub fn header_value(&self, name: &str) -> Option<&[u8]> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name.as_bytes())).map(|(_, v)| &v[..])
    }

    /// Sets the body.
    pub fn body(mut self, body: impl Into<Body>) -> Self {
        self.set_body(body);
        self
    }

    /// Sets the body in place (the old one is dropped): for code that holds a `&mut Response`.
    #[inline]
    pub fn set_body(&mut self, body: impl Into<Body>) {
        self.body = body.into();
    }

    /// Asks porter to close the connection after this response (`Connection: close`).
    pub fn close(mut self) -> Self {
        self.close = true;
        self
    }

    /// A copy to send while this one is kept: a response built once (a canned
    /// page, a health answer) can answer many requests. Headers and in-memory
    /// bodies are shared, not copied (`Bytes` counts references); a file body
    /// gets its own descriptor (the error if it cannot). A body read from a
    /// stream can be sent only once: `ErrorKind::Unsupported`.
    pub fn try_clone(&self) -> io::Result<Response> {
        let body = match &self.body.0 {
            BodyKind::Empty => Body::empty(),
            BodyKind::Bytes(bytes) => Body(BodyKind::Bytes(bytes.clone())),
            BodyKind::File { file, offset, len } => Body::file(file.try_clone()?, *offset, *len),
            BodyKind::Reader { .. } | BodyKind::Channel { .. } => {
                return Err(io::Error::new(io::ErrorKind::Unsupported, "a streamed body can be sent only once"))
            }
        };
        Ok(Response {
            status: self.status,
            headers: self.headers.clone(),
            body,
            invalid: self.invalid,
            close: self.close,
        })
    }
}

fn check_header(name: &[u8], value: &[u8]) -> Result<(), HeaderError> {
    // Every byte is judged, without stopping at the first bad one: valid
    // headers are the rule, and a loop without early exits runs several times
    // faster (the value loop vectorizes).
    if name.is_empty() || !name.iter().fold(true, |ok, &b| ok & is_tchar(b)) {
        return Err(HeaderError::InvalidName);
    }
    // RFC 9110 §5.5: field values are VCHAR, SP, HTAB and obs-text; CR, LF and NUL
    // in particular would let a value start a new header or end the head.
    if value.iter().fold(false, |bad, &b| bad | ((b < 0x20) & (b != b'\t')) | (b == 0x7f)) {
        return Err(HeaderError::InvalidValue);
    }
    Ok(())
}

fn is_framing_header(name: &[u8]) -> bool {
    ["content-length", "transfer-encoding", "connection", "date", "server"]
        .iter()
        .any(|h| name.eq_ignore_ascii_case(h.as_bytes()))
}

/// A response body: nothing, bytes in memory, a reader streamed piece by piece,
/// or a file region sent with sendfile(2).
pub struct Body(pub(crate) BodyKind);

// A u64 tag puts every variant's fields 8-aligned after it. With rustc's own
// layout the file descriptor sat at offset 4, so every move of a body copied
// bytes 4..40 with unaligned loads straddling the 8-byte stores just made
// (store-forwarding stalls: a third of `Response::try_clone`'s time in perf;
// the C hello, which moves responses across more calls, gained 6.5% pipelined).
#[repr(u64)]
pub(crate) enum BodyKind {
    Empty,
    Bytes(Bytes),
    /// Pulled into the output buffer as the socket drains. `len: None` means
    /// unknown length: chunked on HTTP/1.1, close-delimited on HTTP/1.0.
    /// The application's code: read and dropped through [`crate::guard`].
    Reader {
        reader: crate::guard::Owned<dyn Read + Send>,
        len: Option<u64>,
    },
    File {
        file: File,
        offset: u64,
        len: u64,
    },
    /// Fed by a [`BodySender`](crate::BodySender) on another thread.
    Channel {
        receiver: crate::stream::Receiver,
        len: Option<u64>,
    },
}

impl Body {
    /// No body (Content-Length: 0 where a length applies).
    pub fn empty() -> Self {
        Body(BodyKind::Empty)
    }

    /// A body read from `reader` as the client drains the connection. With `len`
    /// it is sent with Content-Length (the reader must yield exactly that many
    /// bytes, else the connection is closed); without, it is sent chunked.
    /// A reader that panics (in `read` or in its drop) is caught: its client
    /// gets a 500 if nothing of the reply was sent yet, else the connection is
    /// cut; the worker lives on.
    pub fn reader(reader: impl Read + Send + 'static, len: Option<u64>) -> Self {
        Body(BodyKind::Reader { reader: crate::guard::Owned::new(Box::new(reader)), len })
    }

    /// A body produced piece by piece on another thread: the returned
    /// [`BodySender`](crate::BodySender) feeds it, with backpressure (see its
    /// docs). With `len` it is sent with Content-Length (the sender must supply
    /// exactly that many bytes, else the connection is closed); without, chunked.
    ///
    /// ```no_run
    /// # use porter::{Body, Request, Response, Reply};
    /// fn numbers(req: Request) -> Reply {
    ///     let (reply, responder) = req.defer();
    ///     let (sender, body) = Body::channel(None);
    ///     responder.respond(Response::new(200).body(body));
    ///     std::thread::spawn(move || {
    ///         for i in 0..1000 {
    ///             if sender.send(format!("{i}\n")).is_err() { break } // client gone
    ///         }
    ///     });
    ///     reply
    /// }
    /// ```
    pub fn channel(len: Option<u64>) -> (crate::BodySender, Body) {
        let (sender, receiver) = crate::stream::channel(crate::stream::DEFAULT_CAPACITY);
        (sender, Body(BodyKind::Channel { receiver, len }))
    }

    /// `len` bytes of `file` from `offset`, sent with sendfile(2) on plain TCP.
    pub fn file(file: File, offset: u64, len: u64) -> Self {
        Body(BodyKind::File { file, offset, len })
    }

    /// The body's length, if known in advance.
    pub fn len(&self) -> Option<u64> {
        match &self.0 {
            BodyKind::Empty => Some(0),
            BodyKind::Bytes(b) => Some(b.len() as u64),
            BodyKind::Reader { len, .. } => *len,
            BodyKind::File { len, .. } => Some(*len),
            BodyKind::Channel { len, .. } => *len,
        }
    }

    /// True when the body is known to be empty.
    pub fn is_empty(&self) -> bool {
        self.len() == Some(0)
    }
}

impl fmt::Debug for Body {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            BodyKind::Empty => f.write_str("Body::Empty"),
            BodyKind::Bytes(b) => write!(f, "Body::Bytes({} bytes)", b.len()),
            BodyKind::Reader { len, .. } => write!(f, "Body::Reader(len {len:?})"),
            BodyKind::File { offset, len, .. } => write!(f, "Body::File({offset}+{len})"),
            BodyKind::Channel { len, .. } => write!(f, "Body::Channel(len {len:?})"),
        }
    }
}

/// A `Bytes` with an owner of the application's (`Bytes::from_owner`): the
/// owner's `Drop` runs where porter lets go of the last copy, on a worker's
/// loop, outside the boundary that catches the application's panics: it must
/// neither panic nor block.
impl From<Bytes> for Body {
    #[inline]
    fn from(b: Bytes) -> Self {
        if b.is_empty() {
            Body::empty()
        } else {
            Body(BodyKind::Bytes(b))
        }
    }
}

impl From<Vec<u8>> for Body {
    fn from(v: Vec<u8>) -> Self {
        Body::from(Bytes::from(v))
    }
}

impl From<String> for Body {
    fn from(s: String) -> Self {
        Body::from(Bytes::from(s))
    }
}

impl From<&'static str> for Body {
    fn from(s: &'static str) -> Self {
        Body::from(Bytes::from_static(s.as_bytes()))
    }
}

impl From<&'static [u8]> for Body {
    fn from(s: &'static [u8]) -> Self {
        Body::from(Bytes::from_static(s))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_splitting_bytes_are_refused() {
        for value in ["a\r\nX-Evil: 1", "a\nb", "a\rb", "a\0b", "a\x0bb", "a\x7fb"] {
            let r = Response::new(200).try_header("X-A", value.to_string());
            assert_eq!(r.unwrap_err(), HeaderError::InvalidValue, "{value:?}");
        }
        for name in ["", "X A", "X:A", "X\r\nA", "X\0"] {
            let r = Response::new(200).try_header(name.to_string(), "v");
            assert_eq!(r.unwrap_err(), HeaderError::InvalidName, "{name:?}");
        }
    }

    #[test]
    fn try_clone_shares_in_memory_bodies_and_refuses_streams() {
        let canned = Response::text("ready").header("X-A", "1").close();
        let copy = canned.try_clone().expect("a bytes body");
        assert_eq!((copy.status, copy.close, copy.body.len()), (200, true, Some(5)));
        assert_eq!(copy.header_value("x-a"), Some(&b"1"[..]));
        assert_eq!(canned.header_value("x-a"), Some(&b"1"[..]), "the original is kept");
        let (BodyKind::Bytes(original), BodyKind::Bytes(copied)) = (&canned.body.0, &copy.body.0) else {
            panic!("both bodies are bytes");
        };
        assert_eq!(original.as_ptr(), copied.as_ptr(), "shared, not copied");
        assert!(Response::new(204).try_clone().is_ok_and(|r| r.body.is_empty()));
        let file = File::open("Cargo.toml").expect("a file");
        let sent = Response::new(200).body(Body::file(file, 3, 4)).try_clone().expect("a file body");
        assert!(matches!(sent.body.0, BodyKind::File { offset: 3, len: 4, .. }));
        let stream = Response::new(200).body(Body::reader(std::io::empty(), None));
        let refused = stream.try_clone().expect_err("a stream can be sent once");
        assert_eq!(refused.kind(), io::ErrorKind::Unsupported);
        let (_sender, channel) = Body::channel(Some(1));
        assert!(Response::new(200).body(channel).try_clone().is_err());
    }

    #[test]
    fn add_header_adds_in_place_and_a_refusal_changes_nothing() {
        let mut r = Response::new(200);
        assert_eq!(r.add_header("X-A", "1"), Ok(()));
        assert_eq!(r.add_header("X-B", "2\r\nX-Evil: 1"), Err(HeaderError::InvalidValue));
        assert_eq!(r.add_header("X B", "3"), Err(HeaderError::InvalidName));
        assert_eq!(r.add_header("Content-Length", "9"), Ok(()), "porter's own framing header: ignored");
        assert_eq!((r.header_value("x-a"), r.headers.len(), r.invalid), (Some(&b"1"[..]), 1, None));
    }

    #[test]
    fn set_body_replaces_the_body_in_place() {
        let mut r = Response::text("old");
        r.set_body("a longer body");
        assert_eq!((r.body.len(), r.header_value("content-type").is_some()), (Some(13), true));
    }

    #[test]
    fn refused_header_marks_response_invalid() {
        let r = Response::text("x").header("X-A", "b\r\nc");
        assert_eq!(r.invalid, Some(HeaderError::InvalidValue));
        assert!(r.header_value("X-A").is_none());
    }

    #[test]
    fn framing_headers_are_porters() {
        let r = Response::text("x").header("Content-Length", "99").header("connection", "keep-alive");
        assert!(r.header_value("content-length").is_none());
        assert!(r.header_value("connection").is_none());
        assert_eq!(r.header_value("content-type"), Some(&b"text/plain; charset=utf-8"[..]));
    }

    #[test]
    fn tabs_and_obs_text_are_allowed_in_values() {
        assert!(Response::new(200).try_header("X-A", "a\tb\u{e9}").is_ok());
    }

    #[test]
    fn out_of_range_status_becomes_500() {
        for bad in [42, 100, 103, 199, 600, 999, 1000] {
            assert_eq!(Response::new(bad).status_code(), 500, "{bad}");
        }
        assert_eq!(Response::new(204).status_code(), 204);
    }
}
