//! The user-code boundary: every call porter makes into code it did not write
//! goes through [`call`], so that a panic there is caught, logged once (with
//! the request it concerns) and handed back as [`Panicked`] for the caller to
//! answer: a `500` while nothing of the reply has been sent, else the
//! connection is cut. A worker thread never unwinds, and no other client
//! notices.
//!
//! The calls: [`Handler`](crate::Handler) methods (and so the routers,
//! authenticators, error pages and C handlers they reach), response body
//! readers ([`Body::reader`](crate::Body::reader)), cancellation callbacks
//! ([`Responder::on_cancel`](crate::Responder::on_cancel)), the access log's
//! `log` crate destination, and the drops of the user's values porter owns
//! ([`Owned`]: readers and callbacks, wherever porter lets go of them).
//!
//! Unwind safety: a caught panic leaves the value that panicked unused from
//! then on (the reader or callback is dropped, the handler's request is gone),
//! so no broken invariant of the user's is observed again by porter.

use std::any::Any;
use std::cell::Cell;
use std::fmt;
use std::io::{self, Read};
use std::net::SocketAddr;
use std::panic::{catch_unwind, AssertUnwindSafe};

use crate::request::Request;

/// A call into user code panicked (already logged).
#[derive(Debug)]
pub(crate) struct Panicked;

/// Runs user code `f`; a panic is logged as `what` panicking on `request`.
pub(crate) fn call<R>(what: &str, request: Option<&RequestId>, f: impl FnOnce() -> R) -> Result<R, Panicked> {
    call_naming(what, || request.copied(), f)
}

/// Like [`call`], but the request is named only if `f` panics: `request`
/// runs then, so a call that does not panic copies nothing of the request.
pub(crate) fn call_naming<R>(
    what: &str,
    request: impl FnOnce() -> Option<RequestId>,
    f: impl FnOnce() -> R,
) -> Result<R, Panicked> {
    catch_unwind(AssertUnwindSafe(f)).map_err(|payload| {
        report(what, request().as_ref(), &*payload);
        drop_payload(payload);
        Panicked
    })
}

/// Drops a caught panic's payload inside the boundary: it is the user's value
/// (`panic_any`), and its drop may panic too. Then that second payload is
/// leaked, not dropped (its drop could panic again).
fn drop_payload(payload: Box<dyn Any + Send>) {
    if let Err(again) = catch_unwind(AssertUnwindSafe(|| drop(payload))) {
        std::mem::forget(again);
    }
}

/// Logs a caught panic, once. The logger is user code too (a `log`
/// implementation): if it panics, the line goes to stderr instead.
fn report(what: &str, request: Option<&RequestId>, payload: &(dyn Any + Send)) {
    let message = panic_message(payload);
    let on = match request {
        Some(request) => format!(" on {request}"),
        None => String::new(),
    };
    if let Err(payload) = catch_unwind(|| log::error!("{what} panicked{on}: {message}")) {
        eprintln!("porter: {what} panicked{on}: {message} (and so did the logger)");
        drop_payload(payload);
    }
}

/// The text a panic was raised with.
fn panic_message(payload: &(dyn Any + Send)) -> &str {
    match (payload.downcast_ref::<&str>(), payload.downcast_ref::<String>()) {
        (Some(s), _) => s,
        (_, Some(s)) => s,
        _ => "(not a string)",
    }
}

/// Bytes of `METHOD target` a [`RequestId`] keeps.
const LINE: usize = 80;

thread_local! {
    /// The identity of the last request dropped on this thread while it
    /// unwound ([`RequestId::note_unwinding`]).
    static UNWOUND: Cell<Option<RequestId>> = const { Cell::new(None) };
}

/// Names a request in a panic's log line: its method and target where known,
/// its number on its connection and its peer. Made only when a panic is
/// reported (or a request deferred): nothing is copied on the way to a
/// handler that does not panic. A handler that panics owned its request;
/// that request, dropped as the panic unwinds, leaves its identity behind
/// ([`RequestId::note_unwinding`], [`RequestId::unwound`]).
#[derive(Clone, Copy)]
pub(crate) struct RequestId {
    peer: Option<SocketAddr>,
    seq: u64,
    line: [u8; LINE],
    line_len: usize,
}

impl RequestId {
    /// The identity of `request`, the `seq`-th on its connection.
    pub(crate) fn of(request: &Request, seq: u64) -> Self {
        let mut id = RequestId::numbered(request.peer_addr(), seq);
        let parts = [request.method().as_bytes(), b" ", request.target().as_bytes()];
        for part in parts {
            let n = part.len().min(LINE - id.line_len);
            id.line[id.line_len..id.line_len + n].copy_from_slice(&part[..n]);
            id.line_len += n;
        }
        id
    }

    /// A request known by its number on its connection only.
    pub(crate) fn numbered(peer: Option<SocketAddr>, seq: u64) -> Self {
        RequestId { peer, seq, line: [0; LINE], line_len: 0 }
    }

    /// Called as `request` (the `seq`-th of its connection) is dropped: while
    /// the thread unwinds, its identity is kept for [`RequestId::unwound`].
    /// Otherwise (every drop but a panic's) it costs one load.
    pub(crate) fn note_unwinding(request: &Request, seq: u64) {
        if std::thread::panicking() {
            UNWOUND.set(Some(RequestId::of(request, seq)));
        }
    }

    /// The identity of request `seq` from `peer`, which a handler took and
    /// panicked with: the one its drop left, or else its number alone (the
    /// handler had passed it on, to another thread say).
    pub(crate) fn unwound(peer: Option<SocketAddr>, seq: u64) -> Self {
        match UNWOUND.take() {
            Some(id) if id.seq == seq && id.peer == peer => id,
            _ => RequestId::numbered(peer, seq),
        }
    }
}

impl fmt::Display for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line_len > 0 {
            // The parser admits only visible ASCII in the method and target.
            let line = String::from_utf8_lossy(&self.line[..self.line_len]);
            let cut = if self.line_len == LINE { "..." } else { "" };
            write!(f, "\"{line}{cut}\", ")?;
        }
        write!(f, "request {} of its connection", self.seq + 1)?;
        match self.peer {
            Some(peer) => write!(f, " from {peer}"),
            None => Ok(()),
        }
    }
}

impl fmt::Debug for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RequestId({self})")
    }
}

/// A value of the user's that porter owns (a body reader, a callback): when
/// porter lets go of it, its drop runs inside the boundary.
pub(crate) struct Owned<T: ?Sized + 'static>(Option<Box<T>>);

impl<T: ?Sized + 'static> Owned<T> {
    pub(crate) fn new(value: Box<T>) -> Self {
        Owned(Some(value))
    }

    /// Takes the value out, to be consumed inside [`call`].
    pub(crate) fn take(mut self) -> Option<Box<T>> {
        self.0.take()
    }
}

impl<T: ?Sized + 'static> Drop for Owned<T> {
    fn drop(&mut self) {
        if let Some(value) = self.0.take() {
            let _ = call("dropping a value of the application's (a body or a callback)", None, || drop(value));
        }
    }
}

/// A body reader: reading it is a user call the caller guards (see
/// `conn::output`), dropping it is guarded here.
impl Read for Owned<dyn Read + Send> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match &mut self.0 {
            Some(reader) => reader.read(buf),
            None => Ok(0),
        }
    }
}

impl<T: ?Sized + 'static> fmt::Debug for Owned<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Owned(..)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct PanicsOnDrop;

    impl Drop for PanicsOnDrop {
        fn drop(&mut self) {
            panic!("drop panic (expected by the test)");
        }
    }

    #[test]
    fn a_panic_becomes_panicked_and_a_value_passes() {
        assert!(call("test code", None, || panic!("boom (expected by the test)")).is_err());
        assert_eq!(call("test code", None, || 7).ok(), Some(7));
    }

    #[test]
    fn an_owned_value_drops_inside_the_boundary() {
        let owned: Owned<PanicsOnDrop> = Owned::new(Box::new(PanicsOnDrop));
        drop(owned); // would unwind out of this test without the guard
        let taken = Owned::new(Box::new(PanicsOnDrop)).take();
        assert!(call("test code", None, || drop(taken)).is_err());
    }

    #[test]
    fn a_panic_payload_that_panics_when_dropped_stays_inside() {
        // The payload is the user's value; dropping it panics a second time.
        assert!(call("test code", None, || std::panic::panic_any(PanicsOnDrop)).is_err());
    }

    #[test]
    fn the_request_is_named_only_when_the_call_panics() {
        let named = Cell::new(0);
        let name = || {
            named.set(named.get() + 1);
            Some(RequestId::numbered(None, 0))
        };
        assert_eq!(call_naming("test code", name, || 7).ok(), Some(7));
        assert_eq!(named.get(), 0, "nothing of the request is copied on the way to code that does not panic");
        assert!(call_naming("test code", name, || panic!("boom (expected by the test)")).is_err());
        assert_eq!(named.get(), 1);
    }

    #[test]
    fn a_request_id_is_bounded() {
        let id = RequestId::numbered(None, 2);
        assert_eq!(id.to_string(), "request 3 of its connection");
        let mut long = RequestId::numbered(Some(SocketAddr::from(([127, 0, 0, 1], 9))), 0);
        long.line = [b'a'; LINE];
        long.line_len = LINE;
        assert!(long.to_string().ends_with("...\", request 1 of its connection from 127.0.0.1:9"), "{long}");
    }
}
