//! Answering from C: at once inside the handler, or later from any thread
//! through a `porter_responder`, with a cancelled flag and callback.
//!
//! Invariants: a request is answered exactly once. `porter_request_respond`
//! and `porter_request_defer` refuse a second answer; a responder answers
//! once (respond consumes it; freeing it unanswered answers `500`). Respond
//! calls consume the response on every path, success or failure.

use std::os::raw::{c_int, c_void};

use porter::Responder;

use crate::error::{guard, need, Error, PORTER_OK};
use crate::ffi::UserData;
use crate::request::PorterRequest;
use crate::response::PorterResponse;

/// A promise to answer a request later, from any thread (opaque).
pub struct PorterResponder(Responder);

/// A cancellation callback: called once, with its `user_data`.
pub type PorterCancelFn = Option<extern "C" fn(user_data: *mut c_void)>;

fn check_unanswered(request: &PorterRequest) -> crate::error::Result<()> {
    if request.reply.is_some() {
        return Err(Error::state("this request was already answered or deferred"));
    }
    Ok(())
}

/// Answers the request now with `response`.
///
/// Errors: `PORTER_ERR_NULL`, `PORTER_ERR_STATE` (already answered or
/// deferred). Ownership: consumes `response` on every path (it is freed on
/// failure). Thread-safety: inside the handler, on its thread.
#[no_mangle]
pub extern "C" fn porter_request_respond(
    request: Option<&mut PorterRequest>,
    response: Option<Box<PorterResponse>>,
) -> c_int {
    guard(|| {
        let request = need(request, "request")?;
        let response = need(response, "response")?;
        check_unanswered(request)?;
        request.reply = Some(response.into_response().into());
        Ok(PORTER_OK)
    })
}

/// Answers the request now with a copy of `response`, which stays the
/// caller's: build a response once (a canned page, a health answer, a fixed
/// reply) and answer any number of requests with it, from any number of
/// handler threads at once. This is the quickest answer there is: no
/// response handle is made and no header checked per request, and an
/// in-memory body is shared, not copied (a file body gets its own descriptor
/// each time). A borrowed body's `free_fn` runs when the response and its last
/// copy are gone, which may be after `porter_response_free`, on a loop thread.
/// Bodies from `porter_response_body_stream` can be sent only once and are
/// refused.
///
/// Errors: `PORTER_ERR_NULL`, `PORTER_ERR_STATE` (already answered or
/// deferred), `PORTER_ERR_INVALID` (a streamed body), `PORTER_ERR_IO` (the
/// file could not be duplicated). Ownership: borrows `response`, which must
/// not be changed or freed while another thread is copying it. Thread-safety:
/// inside the handler, on its thread; `response` may be shared by threads.
#[no_mangle]
pub extern "C" fn porter_request_respond_copy(
    request: Option<&mut PorterRequest>,
    response: Option<&PorterResponse>,
) -> c_int {
    guard(|| {
        let request = need(request, "request")?;
        let response = need(response, "response")?;
        check_unanswered(request)?;
        request.reply = Some(response.copy()?.into());
        Ok(PORTER_OK)
    })
}

/// Answers a deferred request with a copy of `response`, which stays the
/// caller's (see `porter_request_respond_copy`). Harmless after cancellation.
///
/// Errors: as `porter_request_respond_copy`; on failure the client gets
/// `500`. Ownership: consumes `responder` on every path; borrows `response`.
/// Thread-safety: any thread; `response` may be shared by threads.
#[no_mangle]
pub extern "C" fn porter_responder_respond_copy(
    responder: Option<Box<PorterResponder>>,
    response: Option<&PorterResponse>,
) -> c_int {
    guard(|| {
        let responder = need(responder, "responder")?;
        let response = need(response, "response")?;
        responder.0.respond(response.copy()?);
        Ok(PORTER_OK)
    })
}

/// Promises to answer later: `*responder` gets the object to answer with,
/// from any thread, after the handler has returned. Replies still leave in
/// request order. Copy what you need from the request first: it is gone when
/// the handler returns (take the body with `porter_request_body_reader`).
///
/// Errors: `PORTER_ERR_NULL`, `PORTER_ERR_STATE` (already answered or
/// deferred). Ownership: the caller owns `*responder` and must end it with
/// `porter_responder_respond` or `porter_responder_free`. Thread-safety:
/// inside the handler, on its thread; the responder may move to any thread.
#[no_mangle]
pub extern "C" fn porter_request_defer(
    request: Option<&mut PorterRequest>,
    responder: Option<&mut *mut PorterResponder>,
) -> c_int {
    guard(|| {
        let request = need(request, "request")?;
        let out = need(responder, "responder")?;
        check_unanswered(request)?;
        let (reply, responder) = request.request.defer();
        request.reply = Some(reply);
        *out = Box::into_raw(Box::new(PorterResponder(responder)));
        Ok(PORTER_OK)
    })
}

/// Answers a deferred request with `response`. Harmless after cancellation
/// (the answer is dropped).
///
/// Errors: `PORTER_ERR_NULL` (a null `response` answers `500`).
/// Ownership: consumes both `responder` and `response` on every path.
/// Thread-safety: any thread.
#[no_mangle]
pub extern "C" fn porter_responder_respond(
    responder: Option<Box<PorterResponder>>,
    response: Option<Box<PorterResponse>>,
) -> c_int {
    guard(|| {
        let responder = need(responder, "responder")?;
        let response = need(response, "response")?;
        responder.0.respond(response.into_response());
        Ok(PORTER_OK)
    })
}

/// 1 if the request was cancelled (the client went away or the server shut
/// down: an answer would be dropped), 0 if not.
///
/// Errors: `PORTER_ERR_NULL`. Thread-safety: any thread.
#[no_mangle]
pub extern "C" fn porter_responder_is_cancelled(responder: Option<&PorterResponder>) -> c_int {
    guard(|| Ok(c_int::from(need(responder, "responder")?.0.is_cancelled())))
}

/// Calls `callback(user_data)` once when the request is cancelled: on the
/// server's loop thread, or at once on this thread if it already is. Keep it
/// short and non-blocking; it replaces an earlier callback.
///
/// Errors: `PORTER_ERR_NULL`. Ownership: `user_data` must stay valid until the
/// callback runs or the responder is answered or freed. Thread-safety: any
/// thread; `callback` may run on another thread.
#[no_mangle]
pub extern "C" fn porter_responder_on_cancel(
    responder: Option<&PorterResponder>,
    callback: PorterCancelFn,
    user_data: *mut c_void,
) -> c_int {
    guard(|| {
        let responder = need(responder, "responder")?;
        let callback = need(callback, "callback")?;
        let user_data = UserData(user_data);
        responder.0.on_cancel(move || {
            let user_data = user_data;
            crate::error::in_callback("a cancel callback", || callback(user_data.0));
        });
        Ok(PORTER_OK)
    })
}

/// Frees a responder without answering: the client gets `500`. Null is ignored.
///
/// Ownership: consumes `responder`. Thread-safety: any thread.
#[no_mangle]
pub extern "C" fn porter_responder_free(responder: Option<Box<PorterResponder>>) {
    guard(|| {
        drop(responder);
        Ok(PORTER_OK)
    });
}
