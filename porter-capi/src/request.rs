//! Reading a request from C: method, path, query, headers, parameters, the
//! body (whole, or streamed through a `porter_body_reader`).
//!
//! Invariants: a `porter_request` lives on the worker's stack for exactly one
//! handler call; every `porter_str` read from it points into it and is valid
//! until the handler returns. A body reader is a separate object the caller
//! owns and may move to any thread.

use std::io::Read;
use std::os::raw::{c_char, c_int, c_void};

use porter::{BodyReader, Reply, Request};

use crate::error::{guard, need, Error, Result, PORTER_ERR_NOT_FOUND, PORTER_OK};
use crate::ffi;
use crate::PorterStr;

/// A request being handled (opaque); valid only during the handler call.
pub struct PorterRequest {
    pub(crate) request: Request,
    pub(crate) reply: Option<Reply>,
}

impl PorterRequest {
    pub(crate) fn new(request: Request) -> Self {
        PorterRequest { request, reply: None }
    }

    /// The answer the handler gave (now, or the promise of one later).
    pub(crate) fn into_reply(self) -> Option<Reply> {
        self.reply
    }
}

/// A request body read piece by piece (opaque); see `porter_request_body_reader`.
pub struct PorterBodyReader(BodyReader);

fn not_found(what: &str) -> Error {
    Error::new(PORTER_ERR_NOT_FOUND, format!("no {what}"))
}

/// Reads one text field of the request into `*out`.
fn read_str(
    request: Option<&PorterRequest>,
    out: Option<&mut PorterStr>,
    field: impl FnOnce(&Request) -> Result<&[u8]>,
) -> c_int {
    guard(|| {
        let request = need(request, "request")?;
        let out = need(out, "out")?;
        *out = PorterStr::of(field(&request.request)?);
        Ok(PORTER_OK)
    })
}

/// 1 once the server's graceful shutdown has been asked
/// (`porter_server_shutdown`), from its lame-duck period
/// (`porter_config_shutdown_delay`) on, else 0: a health check should then
/// answer 503. While it is 1, the reply says `Connection: close`.
///
/// Errors: `PORTER_ERR_NULL`. Thread-safety: the handler's thread, during the call.
#[no_mangle]
pub extern "C" fn porter_request_is_draining(request: Option<&PorterRequest>) -> c_int {
    guard(|| Ok(c_int::from(need(request, "request")?.request.is_draining())))
}

/// The method, e.g. `GET` (case-sensitive), into `*out`.
///
/// Errors: `PORTER_ERR_NULL`. Ownership: `*out` points into the request, valid
/// until the handler returns. Thread-safety: the handler's thread only.
#[no_mangle]
pub extern "C" fn porter_request_method(request: Option<&PorterRequest>, out: Option<&mut PorterStr>) -> c_int {
    read_str(request, out, |r| Ok(r.method().as_bytes()))
}

/// The client's address as text (`203.0.113.7:51234`, `[2001:db8::1]:443`),
/// NUL-terminated, into `buf` of `cap` bytes (64 is always enough): on a
/// `porter_config_listen_proxy` address, the one the PROXY header carries.
///
/// Errors: `PORTER_ERR_NULL`, `PORTER_ERR_NOT_FOUND` (no address known: an
/// embedded or scripted connection), `PORTER_ERR_INVALID` (`cap` too small).
/// Ownership: `buf` is written during the call only. Thread-safety: the
/// handler's thread, during the call.
#[no_mangle]
pub extern "C" fn porter_request_peer_addr(request: Option<&PorterRequest>, buf: *mut c_char, cap: usize) -> c_int {
    guard(|| {
        let request = need(request, "request")?;
        let peer = request
            .request
            .peer_addr()
            .ok_or_else(|| Error::new(PORTER_ERR_NOT_FOUND, "no client address is known"))?;
        ffi::write_c_text(buf, cap, &peer.to_string(), "address")?;
        Ok(PORTER_OK)
    })
}

/// The path, still percent-encoded and without the query (`/a%20b`), into `*out`.
///
/// Errors, ownership, thread-safety: as `porter_request_method`.
#[no_mangle]
pub extern "C" fn porter_request_path(request: Option<&PorterRequest>, out: Option<&mut PorterStr>) -> c_int {
    read_str(request, out, |r| Ok(r.path().as_bytes()))
}

/// The request-target exactly as sent (`/a?b=1`), into `*out`.
///
/// Errors, ownership, thread-safety: as `porter_request_method`.
#[no_mangle]
pub extern "C" fn porter_request_target(request: Option<&PorterRequest>, out: Option<&mut PorterStr>) -> c_int {
    read_str(request, out, |r| Ok(r.target().as_bytes()))
}

/// The query after `?` (without the `?`), into `*out`.
///
/// Errors: `PORTER_ERR_NULL`, `PORTER_ERR_NOT_FOUND` (no `?` in the target).
/// Ownership, thread-safety: as `porter_request_method`.
#[no_mangle]
pub extern "C" fn porter_request_query(request: Option<&PorterRequest>, out: Option<&mut PorterStr>) -> c_int {
    read_str(request, out, |r| r.query().map(str::as_bytes).ok_or_else(|| not_found("query")))
}

/// The first value of header `name` (case-insensitive), into `*out`.
///
/// Errors: `PORTER_ERR_NULL`, `PORTER_ERR_INVALID` (`name` not UTF-8),
/// `PORTER_ERR_NOT_FOUND`. Ownership: `name` is read during the call; `*out`
/// as `porter_request_method`. Thread-safety: the handler's thread only.
#[no_mangle]
pub extern "C" fn porter_request_header(
    request: Option<&PorterRequest>,
    name: *const c_char,
    out: Option<&mut PorterStr>,
) -> c_int {
    read_str(request, out, |r| {
        let name = ffi::str_arg(name, "name")?;
        r.header_bytes(name).ok_or_else(|| not_found(&format!("header {name:?}")))
    })
}

/// The number of header fields, into `*out` (a repeated header counts each time).
///
/// Errors: `PORTER_ERR_NULL`. Thread-safety: the handler's thread only.
#[no_mangle]
pub extern "C" fn porter_request_header_count(request: Option<&PorterRequest>, out: Option<&mut usize>) -> c_int {
    guard(|| {
        let request = need(request, "request")?;
        *need(out, "out")? = request.request.headers().count();
        Ok(PORTER_OK)
    })
}

/// Header field number `index` (0-based, in the order received): its name
/// into `*name` and value into `*value`. Iterate with
/// `for (i = 0; porter_request_header_at(req, i, &n, &v) == PORTER_OK; i++)`.
///
/// Errors: `PORTER_ERR_NULL`, `PORTER_ERR_NOT_FOUND` (`index` past the last).
/// Ownership, thread-safety: as `porter_request_method`.
#[no_mangle]
pub extern "C" fn porter_request_header_at(
    request: Option<&PorterRequest>,
    index: usize,
    name: Option<&mut PorterStr>,
    value: Option<&mut PorterStr>,
) -> c_int {
    guard(|| {
        let request = need(request, "request")?;
        let (name_out, value_out) = (need(name, "name")?, need(value, "value")?);
        let (n, v) = request.request.headers().nth(index).ok_or_else(|| not_found("header at that index"))?;
        *name_out = PorterStr::of(n.as_bytes());
        *value_out = PorterStr::of(v);
        Ok(PORTER_OK)
    })
}

/// The path parameter `name` captured by the route pattern (`id` in
/// `/users/:id`, `rest` in `/files/*rest`), raw (percent-encoded), into `*out`.
///
/// Errors: `PORTER_ERR_NULL`, `PORTER_ERR_INVALID`, `PORTER_ERR_NOT_FOUND`.
/// Ownership, thread-safety: as `porter_request_header`.
#[no_mangle]
pub extern "C" fn porter_request_param(
    request: Option<&PorterRequest>,
    name: *const c_char,
    out: Option<&mut PorterStr>,
) -> c_int {
    read_str(request, out, |r| {
        let name = ffi::str_arg(name, "name")?;
        r.param(name).map(str::as_bytes).ok_or_else(|| not_found(&format!("parameter {name:?}")))
    })
}

/// The whole request body (empty when there is none), into `*out`. For a
/// route added with `porter_config_route_stream` it is empty: use
/// `porter_request_body_reader`.
///
/// Errors, ownership, thread-safety: as `porter_request_method`.
#[no_mangle]
pub extern "C" fn porter_request_body(request: Option<&PorterRequest>, out: Option<&mut PorterStr>) -> c_int {
    read_str(request, out, |r| Ok(r.body()))
}

/// Takes the body as a reader, into `*out`. On a streaming route it yields the
/// body as it arrives and blocks while none is there, so read it on another
/// thread after `porter_request_defer`; otherwise it reads the body already
/// received. Taken once: a second reader reads nothing.
///
/// Errors: `PORTER_ERR_NULL`. Ownership: the caller owns `*out` and frees it
/// with `porter_body_reader_free` (an unread streamed body is then drained or
/// the connection closed). Thread-safety: call on the handler's thread; the
/// reader itself may then move to any one thread.
#[no_mangle]
pub extern "C" fn porter_request_body_reader(
    request: Option<&mut PorterRequest>,
    out: Option<&mut *mut PorterBodyReader>,
) -> c_int {
    guard(|| {
        let request = need(request, "request")?;
        let out = need(out, "out")?;
        *out = Box::into_raw(Box::new(PorterBodyReader(request.request.body_reader())));
        Ok(PORTER_OK)
    })
}

/// Reads up to `cap` bytes of the body into `buf`, blocking until some are
/// there; `*nread` gets the count, 0 at the end of the body.
///
/// Errors: `PORTER_ERR_NULL`, `PORTER_ERR_IO` (the client went away or the
/// body was malformed or too large; the request is then cancelled).
/// Ownership: `buf` is written during the call only. Thread-safety: one thread
/// at a time per reader; never the thread running the server's loop (it would
/// wait for itself).
#[no_mangle]
pub extern "C" fn porter_body_reader_read(
    reader: Option<&mut PorterBodyReader>,
    buf: *mut c_void,
    cap: usize,
    nread: Option<&mut usize>,
) -> c_int {
    guard(|| {
        let reader = need(reader, "reader")?;
        let nread = need(nread, "nread")?;
        let buf = ffi::buf_arg(buf, cap, "buf")?;
        *nread = 0;
        *nread = reader.0.read(buf).map_err(|e| Error::io("reading the request body", &e))?;
        Ok(PORTER_OK)
    })
}

/// Frees a body reader. Null is ignored.
///
/// Ownership: consumes `reader`. Thread-safety: any thread, not concurrently
/// with a read on the same reader.
#[no_mangle]
pub extern "C" fn porter_body_reader_free(reader: Option<Box<PorterBodyReader>>) {
    guard(|| {
        drop(reader);
        Ok(PORTER_OK)
    });
}
