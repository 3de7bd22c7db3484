//! From a chosen representation to the response: validators, preconditions,
//! ranges, and the headers each status carries.
//!
//! Statuses and what they carry:
//! - 200: `Content-Type`, `Content-Encoding` (a precompressed variant), `ETag`,
//!   `Last-Modified`, `Cache-Control`, `Vary`, `Accept-Ranges`; the body as a
//!   sendfile(2) region of the open file;
//! - 206: the same, with `Content-Range` (one part, sendfile) or a
//!   `multipart/byteranges` body (RFC 9110 §14.6);
//! - 304: `ETag`, `Cache-Control` and `Vary`, as RFC 9110 §15.4.5 requires, and
//!   no other representation metadata;
//! - 412 (RFC 9110 §13.1.1, §13.1.4) and 416 with `Content-Range: bytes */LEN`
//!   (§15.5.17): short error bodies.
//!
//! The request is seen through [`Ask`], so unit tests can drive this without a
//! connection.

use std::borrow::Cow;
use std::time::SystemTime;

use bytes::Bytes;

use crate::request::Request;
use crate::response::{Body, Response};

use super::conditional::{self, Conditions, Outcome, Validators};
use super::encoding::Coding;
use super::media;
use super::multipart::multipart;
use super::range::{self, ByteRange, Plan};
use super::source::{Content, Entity};

/// What `Files` needs to know about a request.
pub(super) trait Ask {
    /// The method, e.g. `GET`.
    fn method(&self) -> &str;
    /// The raw, percent-encoded path (`*` for `OPTIONS *`).
    fn path(&self) -> &str;
    /// The query, without `?`.
    fn query(&self) -> Option<&str>;
    /// Calls `f` with each value of header `name` (case-insensitive), in order.
    fn each_header(&self, name: &str, f: &mut dyn FnMut(&[u8]));

    /// Every value of a list-valued header, joined by `, ` (RFC 9110 §5.3); `None` when absent.
    fn header_list(&self, name: &str) -> Option<String> {
        let mut joined: Option<String> = None;
        self.each_header(name, &mut |value| {
            let value = String::from_utf8_lossy(value);
            match &mut joined {
                Some(text) => {
                    text.push_str(", ");
                    text.push_str(&value);
                }
                None => joined = Some(value.into_owned()),
            }
        });
        joined
    }

    /// A single-valued header: `None` when absent, `Some(None)` when sent more than once.
    fn header_once(&self, name: &str) -> Option<Option<String>> {
        let mut seen: Option<Option<String>> = None;
        self.each_header(name, &mut |value| {
            seen = match seen.take() {
                None => Some(Some(String::from_utf8_lossy(value).into_owned())),
                Some(_) => Some(None),
            };
        });
        seen
    }
}

impl Ask for Request {
    fn method(&self) -> &str {
        Request::method(self)
    }

    fn path(&self) -> &str {
        Request::path(self)
    }

    fn query(&self) -> Option<&str> {
        Request::query(self)
    }

    fn each_header(&self, name: &str, f: &mut dyn FnMut(&[u8])) {
        for (n, v) in self.headers() {
            if n.eq_ignore_ascii_case(name) {
                f(v);
            }
        }
    }
}

/// One representation of a file, about to be sent.
pub(super) struct Representation {
    pub(super) entity: Entity,
    /// Set when `entity` is a precompressed sibling.
    pub(super) coding: Option<Coding>,
    content_type: Cow<'static, str>,
    cache_control: Option<Bytes>,
    vary: bool,
}

impl Representation {
    /// The file at `rel` as it is; its type comes from `rel`, whatever variant is sent.
    pub(super) fn new(entity: Entity, rel: &[u8], cache_control: Option<Bytes>, vary: bool) -> Self {
        Representation { entity, coding: None, content_type: media::content_type(rel), cache_control, vary }
    }

    /// The response to `ask` (a GET or HEAD).
    pub(super) fn respond(self, ask: &impl Ask) -> Response {
        let now = SystemTime::now();
        let v = Validators::new(self.entity.identity, self.coding, self.entity.modified, now);
        match conditional::evaluate(&conditions(ask), &v) {
            Outcome::NotModified => return self.metadata(Response::new(304), &v, false),
            Outcome::Failed => return Response::error(412),
            Outcome::Proceed => {}
        }
        let len = self.entity.len;
        match range_plan(ask, &v, len, now) {
            Plan::Ignore => self.full(v),
            Plan::Unsatisfiable => Response::error(416).header("Content-Range", format!("bytes */{len}")),
            Plan::Parts(parts) if parts.len() == 1 => self.single(v, parts[0]),
            Plan::Parts(parts) => self.multi(v, &parts),
        }
    }

    /// The `Content-Type` value, copied only if it was not a static string.
    fn content_type_value(&self) -> Bytes {
        match &self.content_type {
            Cow::Borrowed(s) => Bytes::from_static(s.as_bytes()),
            Cow::Owned(s) => Bytes::copy_from_slice(s.as_bytes()),
        }
    }

    /// 200 with the whole representation.
    fn full(self, v: Validators) -> Response {
        let mut response = Response::new(200).header("Content-Type", self.content_type_value());
        if let Some(coding) = self.coding {
            response = response.header("Content-Encoding", coding.token());
        }
        let response = self.metadata(response, &v, true);
        let len = self.entity.len;
        response.body(body_of(self.entity.content, 0, len))
    }

    /// 206 with one range (RFC 9110 §14.4, §15.3.7.1).
    fn single(self, v: Validators, part: ByteRange) -> Response {
        let response = Response::new(206)
            .header("Content-Type", self.content_type_value())
            .header("Content-Range", part.content_range(self.entity.len));
        let response = self.metadata(response, &v, true);
        response.body(body_of(self.entity.content, part.first, part.len()))
    }

    /// 206 with several ranges as multipart/byteranges (RFC 9110 §14.6, §15.3.7.2).
    fn multi(self, v: Validators, parts: &[ByteRange]) -> Response {
        let response = self.metadata(Response::new(206), &v, true);
        let body = multipart(self.entity.content, parts, self.entity.len, &self.content_type);
        response.header("Content-Type", body.content_type).body(body.body)
    }

    /// The validator and caching headers; `Last-Modified` and `Accept-Ranges`
    /// only when a representation is sent (not on 304, RFC 9110 §15.4.5).
    fn metadata(&self, mut response: Response, v: &Validators, sending: bool) -> Response {
        response = response.header("ETag", v.etag.clone());
        if sending {
            if let Some(text) = v.last_modified_text() {
                response = response.header("Last-Modified", text);
            }
        }
        if let Some(value) = &self.cache_control {
            response = response.header("Cache-Control", value.clone());
        }
        if self.vary {
            // RFC 9110 §12.5.5: the choice of a precompressed sibling depends on Accept-Encoding.
            response = response.header("Vary", "Accept-Encoding");
        }
        if sending {
            response = response.header("Accept-Ranges", "bytes");
        }
        response
    }
}

/// The conditional fields of `ask`.
fn conditions(ask: &impl Ask) -> Conditions {
    Conditions {
        if_match: ask.header_list("if-match"),
        if_none_match: ask.header_list("if-none-match"),
        if_modified_since: ask.header_once("if-modified-since"),
        if_unmodified_since: ask.header_once("if-unmodified-since"),
    }
}

/// RFC 9110 §14.2: ranges for GET only, one `Range` field, and `If-Range` holding if sent.
fn range_plan(ask: &impl Ask, v: &Validators, len: u64, now: SystemTime) -> Plan {
    if ask.method() != "GET" {
        return Plan::Ignore;
    }
    let Some(Some(value)) = ask.header_once("range") else { return Plan::Ignore };
    if let Some(if_range) = ask.header_once("if-range") {
        if !conditional::if_range_holds(if_range.as_deref(), v, now) {
            return Plan::Ignore;
        }
    }
    range::plan(&value, len)
}

/// `len` bytes of `content` from `offset`: a sendfile region, or a slice of memory.
fn body_of(content: Content, offset: u64, len: u64) -> Body {
    match content {
        Content::File(file) => Body::file(file, offset, len),
        Content::Memory(bytes) => {
            let start = usize::try_from(offset).unwrap_or(usize::MAX).min(bytes.len());
            let end = usize::try_from(offset.saturating_add(len)).unwrap_or(usize::MAX).min(bytes.len());
            Body::from(bytes.slice(start..end))
        }
    }
}
