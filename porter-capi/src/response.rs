//! Building a reply from C: status, headers, and a body that is copied,
//! borrowed (given back through a free callback), a file, or streamed from
//! another thread through a `porter_body_sender`.
//!
//! Invariants: a `porter_response` is owned by the caller until a respond call
//! consumes it; a refused setter leaves it as it was. A borrowed body's free
//! callback runs exactly once, on every path (sent, dropped, or refused).

use std::fs::File;
use std::os::raw::{c_char, c_int, c_void};

use bytes::Bytes;
use porter::{Body, BodySender, Response};

use crate::error::{guard, guard_new, need, Error, PORTER_ERR_CLOSED, PORTER_OK};
use crate::ffi::{self, BorrowedBytes, PorterFreeFn};

/// A response under construction (opaque).
pub struct PorterResponse {
    response: Response,
}

impl PorterResponse {
    pub(crate) fn into_response(self) -> Response {
        self.response
    }

    /// A copy to send, leaving this one as it is (`porter_*_respond_copy`).
    ///
    /// C may call this from several threads at once on one response (porter.h
    /// allows it while nobody changes the response). That is sound although
    /// `Response` is not `Sync` (a reader body is not): `try_clone` only reads
    /// the status and flags, clones `Bytes` (atomic reference counts, the
    /// promotion of a vec-backed one included), `dup`s a file, and never
    /// touches a reader or channel body beyond matching its variant.
    pub(crate) fn copy(&self) -> crate::error::Result<Response> {
        self.response.try_clone().map_err(|e| match e.kind() {
            std::io::ErrorKind::Unsupported => Error::invalid(e.to_string()),
            _ => Error::io("cannot duplicate the body's file", &e),
        })
    }

    fn update(&mut self, change: impl FnOnce(Response) -> Response) {
        let response = std::mem::replace(&mut self.response, Response::new(500));
        self.response = change(response);
    }

    fn set_body(&mut self, body: impl Into<Body>) {
        self.response.set_body(body);
    }

    /// The two `porter_response_header` calls' common end: checked, added, or refused as invalid.
    fn add_header(&mut self, name: Bytes, value: Bytes) -> crate::error::Result<c_int> {
        self.response.add_header(name, value).map_err(|e| Error::invalid(format!("header refused: {e}")))?;
        Ok(PORTER_OK)
    }
}

/// The producer end of a streamed response body (opaque).
pub struct PorterBodySender(BodySender);

fn check_status(status: u16) -> crate::error::Result<()> {
    if !(200..=599).contains(&status) {
        return Err(Error::invalid(format!("status {status} is not a final status (200-599)")));
    }
    Ok(())
}

/// A new response with `status` (200-599), no headers and an empty body.
/// porter adds `Date`, `Server`, `Content-Length` or `Transfer-Encoding`.
///
/// Ownership: the caller owns the result until a respond call consumes it, or
/// frees it with `porter_response_free`. Returns null (and sets the last
/// error) for a status outside 200-599. Thread-safety: any thread; one thread
/// at a time per response.
#[no_mangle]
pub extern "C" fn porter_response_new(status: u16) -> Option<Box<PorterResponse>> {
    guard_new(|| {
        check_status(status)?;
        Ok(Box::new(PorterResponse { response: Response::new(status) }))
    })
}

/// Frees a response that was never sent. Null is ignored.
///
/// Ownership: consumes `response` (a borrowed body's free callback runs, a
/// streamed body's sender sees the client as gone). Thread-safety: any thread.
#[no_mangle]
pub extern "C" fn porter_response_free(response: Option<Box<PorterResponse>>) {
    guard(|| {
        drop(response);
        Ok(PORTER_OK)
    });
}

/// Changes the status (200-599).
///
/// Errors: `PORTER_ERR_NULL`, `PORTER_ERR_INVALID`. Thread-safety: one thread
/// at a time per response.
#[no_mangle]
pub extern "C" fn porter_response_set_status(response: Option<&mut PorterResponse>, status: u16) -> c_int {
    guard(|| {
        let response = need(response, "response")?;
        check_status(status)?;
        response.update(|r| r.status(status));
        Ok(PORTER_OK)
    })
}

/// Adds a header. Names must be tokens; values may not hold CR, LF, NUL or
/// other control characters (that would split the response). Framing headers
/// (`Content-Length`, `Transfer-Encoding`, `Connection`, `Date`, `Server`) are
/// porter's and are ignored.
///
/// Errors: `PORTER_ERR_NULL`, `PORTER_ERR_INVALID` (the response is unchanged).
/// Ownership: `name` and `value` are copied. Thread-safety: one thread at a
/// time per response.
#[no_mangle]
pub extern "C" fn porter_response_header(
    response: Option<&mut PorterResponse>,
    name: *const c_char,
    value: *const c_char,
) -> c_int {
    guard(|| {
        let response = need(response, "response")?;
        let name = Bytes::copy_from_slice(ffi::str_arg(name, "name")?.as_bytes());
        let value = Bytes::copy_from_slice(ffi::str_arg(value, "value")?.as_bytes());
        response.add_header(name, value)
    })
}

/// `porter_response_header` for a name and value that are string literals (or
/// otherwise stay valid and unchanged until the program ends): porter keeps
/// pointers to them instead of copying, which saves two allocations per reply.
///
/// Errors: as `porter_response_header`. Ownership: `name` and `value` are
/// borrowed for the rest of the program. Thread-safety: one thread at a time
/// per response.
#[no_mangle]
pub extern "C" fn porter_response_header_static(
    response: Option<&mut PorterResponse>,
    name: *const c_char,
    value: *const c_char,
) -> c_int {
    guard(|| {
        let response = need(response, "response")?;
        let name = Bytes::from_static(ffi::static_bytes_arg(name, "name")?);
        let value = Bytes::from_static(ffi::static_bytes_arg(value, "value")?);
        response.add_header(name, value)
    })
}

/// Asks porter to close the connection after this response.
///
/// Errors: `PORTER_ERR_NULL`. Thread-safety: one thread at a time per response.
#[no_mangle]
pub extern "C" fn porter_response_close(response: Option<&mut PorterResponse>) -> c_int {
    guard(|| {
        need(response, "response")?.update(Response::close);
        Ok(PORTER_OK)
    })
}

/// Sets the body to a copy of `len` bytes at `data` (null allowed when `len` is 0).
///
/// Errors: `PORTER_ERR_NULL`. Ownership: `data` is copied during the call.
/// Thread-safety: one thread at a time per response.
#[no_mangle]
pub extern "C" fn porter_response_body_copy(
    response: Option<&mut PorterResponse>,
    data: *const c_void,
    len: usize,
) -> c_int {
    guard(|| {
        let response = need(response, "response")?;
        let bytes = Bytes::copy_from_slice(ffi::bytes_arg(data, len, "data")?);
        response.set_body(bytes);
        Ok(PORTER_OK)
    })
}

/// Sets the body to a copy of the NUL-terminated string `text` (without the NUL).
///
/// Errors: `PORTER_ERR_NULL`, `PORTER_ERR_INVALID` (not UTF-8).
/// Ownership, thread-safety: as `porter_response_body_copy`.
#[no_mangle]
pub extern "C" fn porter_response_body_string(response: Option<&mut PorterResponse>, text: *const c_char) -> c_int {
    guard(|| {
        let response = need(response, "response")?;
        let bytes = Bytes::copy_from_slice(ffi::str_arg(text, "text")?.as_bytes());
        response.set_body(bytes);
        Ok(PORTER_OK)
    })
}

/// Sets the body to `len` bytes at `data` **without copying**. porter calls
/// `free_fn(user_data)` once when it is done with them (sent, or the response
/// dropped), from any thread; also right away when this call fails. With a
/// null `free_fn` the bytes must live for the rest of the program (string
/// literals, static tables): the fastest body there is.
///
/// Errors: `PORTER_ERR_NULL`. Ownership: the bytes stay the caller's but must
/// stay valid and unchanged until `free_fn` runs. Thread-safety: one thread at
/// a time per response; `free_fn` may run on any thread.
#[no_mangle]
pub extern "C" fn porter_response_body_borrow(
    response: Option<&mut PorterResponse>,
    data: *const c_void,
    len: usize,
    free_fn: PorterFreeFn,
    user_data: *mut c_void,
) -> c_int {
    guard(|| {
        // Built first so that `free_fn` runs (on drop) whatever fails next.
        let borrowed = BorrowedBytes::new(data, len, free_fn, user_data);
        let response = need(response, "response")?;
        let borrowed = borrowed?;
        let bytes = match borrowed.as_static() {
            Some(forever) => Bytes::from_static(forever),
            None => Bytes::from_owner(borrowed),
        };
        response.set_body(bytes);
        Ok(PORTER_OK)
    })
}

/// Sets the body to the file at `path` (opened now, sent with sendfile).
/// Sets no `Content-Type`: add one with `porter_response_header`. (To serve a
/// whole directory with types, ranges and validators, use `porter_config_files`.)
///
/// Errors: `PORTER_ERR_NULL`, `PORTER_ERR_INVALID`, `PORTER_ERR_IO` (cannot
/// open, or not a regular file). Ownership: `path` is read during the call.
/// Thread-safety: one thread at a time per response.
#[no_mangle]
pub extern "C" fn porter_response_body_file(response: Option<&mut PorterResponse>, path: *const c_char) -> c_int {
    guard(|| {
        let response = need(response, "response")?;
        let path = ffi::str_arg(path, "path")?;
        let file = File::open(path).map_err(|e| Error::io(&format!("cannot open {path:?}"), &e))?;
        let meta = file.metadata().map_err(|e| Error::io(&format!("cannot stat {path:?}"), &e))?;
        if !meta.is_file() {
            return Err(Error::invalid(format!("{path:?} is not a regular file")));
        }
        response.set_body(Body::file(file, 0, meta.len()));
        Ok(PORTER_OK)
    })
}

/// Sets the body to `len` bytes of the open file `fd` from `offset` (sent with
/// sendfile). porter takes `fd` over and closes it when done, also when this
/// call fails (unless `fd` is negative).
///
/// Errors: `PORTER_ERR_NULL`, `PORTER_ERR_INVALID` (negative fd), `PORTER_ERR_IO`.
/// Ownership: consumes `fd`. Thread-safety: one thread at a time per response.
#[no_mangle]
pub extern "C" fn porter_response_body_fd(
    response: Option<&mut PorterResponse>,
    fd: c_int,
    offset: u64,
    len: u64,
) -> c_int {
    guard(|| {
        let file = File::from(ffi::take_fd(fd)?);
        let response = need(response, "response")?;
        response.set_body(Body::file(file, offset, len));
        Ok(PORTER_OK)
    })
}

/// Makes the body a stream fed from another thread: `*sender` gets the
/// producer end. With `len` >= 0 it is sent with that `Content-Length` (the
/// sender must supply exactly that many bytes, else the connection is
/// closed); with `len` < 0 it is sent chunked.
///
/// Errors: `PORTER_ERR_NULL`. Ownership: the caller owns `*sender` and ends it
/// with `porter_body_sender_finish` or `porter_body_sender_abort`.
/// Thread-safety: one thread at a time per response; the sender may move to
/// any thread.
#[no_mangle]
pub extern "C" fn porter_response_body_stream(
    response: Option<&mut PorterResponse>,
    len: i64,
    sender: Option<&mut *mut PorterBodySender>,
) -> c_int {
    guard(|| {
        let response = need(response, "response")?;
        let out = need(sender, "sender")?;
        let (producer, body) = Body::channel(u64::try_from(len).ok());
        response.set_body(body);
        *out = Box::into_raw(Box::new(PorterBodySender(producer)));
        Ok(PORTER_OK)
    })
}

/// Sends `len` bytes of a streamed body (copied). Blocks while the client is
/// slow (bounded memory), so call it on your own thread, never in a handler.
///
/// Errors: `PORTER_ERR_NULL`, `PORTER_ERR_CLOSED` (the client is gone, or the
/// response was dropped: stop producing and finish). Ownership: `data` is
/// copied. Thread-safety: any thread.
#[no_mangle]
pub extern "C" fn porter_body_sender_send(sender: Option<&PorterBodySender>, data: *const c_void, len: usize) -> c_int {
    guard(|| {
        let sender = need(sender, "sender")?;
        let bytes = Bytes::copy_from_slice(ffi::bytes_arg(data, len, "data")?);
        sender.0.send(bytes).map_err(|e| Error::new(PORTER_ERR_CLOSED, format!("body stream closed: {e}")))?;
        Ok(PORTER_OK)
    })
}

/// 1 if the client is gone (sending would fail), 0 if not.
///
/// Errors: `PORTER_ERR_NULL`. Thread-safety: any thread.
#[no_mangle]
pub extern "C" fn porter_body_sender_is_closed(sender: Option<&PorterBodySender>) -> c_int {
    guard(|| Ok(c_int::from(need(sender, "sender")?.0.is_closed())))
}

/// Ends a streamed body normally (the last chunk goes out).
///
/// Errors: `PORTER_ERR_NULL`. Ownership: consumes `sender`. Thread-safety: any thread.
#[no_mangle]
pub extern "C" fn porter_body_sender_finish(sender: Option<Box<PorterBodySender>>) -> c_int {
    guard(|| {
        need(sender, "sender")?.0.finish();
        Ok(PORTER_OK)
    })
}

/// Ends a streamed body as failed: the client sees the connection close
/// without a proper end, so it cannot take the body as complete.
///
/// Errors: `PORTER_ERR_NULL`. Ownership: consumes `sender`. Thread-safety: any thread.
#[no_mangle]
pub extern "C" fn porter_body_sender_abort(sender: Option<Box<PorterBodySender>>) -> c_int {
    guard(|| {
        need(sender, "sender")?.0.abort();
        Ok(PORTER_OK)
    })
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;
    use crate::error::{PORTER_ERR_INVALID, PORTER_ERR_NULL};

    #[test]
    fn headers_are_checked_whether_copied_or_static() {
        let mut response = porter_response_new(200);
        let res = response.as_deref_mut();
        assert_eq!(porter_response_header(res, c"X-Copied".as_ptr(), c"1".as_ptr()), PORTER_OK);
        let res = response.as_deref_mut();
        assert_eq!(porter_response_header_static(res, c"X-Static".as_ptr(), c"2".as_ptr()), PORTER_OK);
        let res = response.as_deref_mut();
        let split = c"3\r\nX-Evil: 1".as_ptr();
        assert_eq!(porter_response_header_static(res, c"X-Bad".as_ptr(), split), PORTER_ERR_INVALID);
        let res = response.as_deref_mut();
        assert_eq!(porter_response_header_static(res, std::ptr::null(), c"v".as_ptr()), PORTER_ERR_NULL);
        let res = response.as_deref_mut();
        assert_eq!(porter_response_header(res, c"X Bad".as_ptr(), c"v".as_ptr()), PORTER_ERR_INVALID);
        let sent = response.map(|r| r.into_response()).expect("a response");
        assert_eq!(sent.header_value("x-copied"), Some(&b"1"[..]));
        assert_eq!(sent.header_value("x-static"), Some(&b"2"[..]));
        assert!(sent.header_value("x-bad").is_none(), "a refused header leaves the response unchanged");
    }

    extern "C" fn count_free(user_data: *mut c_void) {
        // SAFETY (test): user_data is the AtomicUsize the test passed, alive until it checks.
        unsafe { &*user_data.cast::<AtomicUsize>() }.fetch_add(1, Ordering::SeqCst);
    }

    #[test]
    fn a_copy_shares_the_body_and_a_stream_is_refused() {
        static BODY: &[u8] = b"ready";
        let freed = AtomicUsize::new(0);
        let mut canned = porter_response_new(200);
        let res = canned.as_deref_mut();
        assert_eq!(porter_response_header(res, c"X-Canned".as_ptr(), c"1".as_ptr()), PORTER_OK);
        let (data, user_data) = (BODY.as_ptr().cast(), std::ptr::from_ref(&freed).cast_mut().cast());
        let res = canned.as_deref_mut();
        assert_eq!(porter_response_body_borrow(res, data, BODY.len(), Some(count_free), user_data), PORTER_OK);
        let canned = canned.expect("a response");
        // Copies made on several threads at once, as porter.h allows C to.
        struct SharedByC<'a>(&'a PorterResponse);
        // SAFETY (test): what C does with a `const porter_response *`; see `PorterResponse::copy`.
        unsafe impl Sync for SharedByC<'_> {}
        impl SharedByC<'_> {
            fn copy(&self) -> Response {
                self.0.copy().expect("an in-memory body copies")
            }
        }
        let shared = SharedByC(&canned);
        let copies: Vec<Response> = std::thread::scope(|s| {
            let copy = || shared.copy();
            let threads: Vec<_> = (0..4).map(|_| s.spawn(copy)).collect();
            threads.into_iter().map(|t| t.join().expect("a copying thread")).collect()
        });
        for copy in &copies {
            assert_eq!((copy.status_code(), copy.header_value("x-canned")), (200, Some(&b"1"[..])));
        }
        porter_response_free(Some(canned));
        assert_eq!(freed.load(Ordering::SeqCst), 0, "the copies share the borrowed body: it is not freed yet");
        drop(copies);
        assert_eq!(freed.load(Ordering::SeqCst), 1, "freed once, after the last copy");

        let mut streamed = porter_response_new(200);
        let mut sender = std::ptr::null_mut();
        assert_eq!(porter_response_body_stream(streamed.as_deref_mut(), -1, Some(&mut sender)), PORTER_OK);
        let refused = streamed.as_deref().expect("a response").copy().expect_err("a stream is sent once");
        assert_eq!(crate::error::fail(refused), PORTER_ERR_INVALID);
        // SAFETY (test): `sender` was just handed out by porter_response_body_stream.
        porter_body_sender_abort(Some(unsafe { Box::from_raw(sender) }));
        porter_response_free(streamed);
        let canned = porter_response_new(204).expect("a response");
        assert_eq!(crate::reply::porter_request_respond_copy(None, Some(&canned)), PORTER_ERR_NULL);
        assert_eq!(crate::reply::porter_responder_respond_copy(None, Some(&canned)), PORTER_ERR_NULL);
        porter_response_free(Some(canned));
    }
}
