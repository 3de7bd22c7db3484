//! The user an authenticator accepted, for the access log's `%u`.
//!
//! Any [`Authenticator`](crate::Authenticator) names the user it accepts
//! ([`Check::Accept`](crate::Check::Accept)). A check decided on the loop runs
//! inside a handler call ([`Protected`](crate::Protected)), which sees the
//! request only by shared reference; the connection asks for the accepted user
//! right after that call returns. A thread-local slot carries the name between
//! the two. (A check decided off the loop, on a verifier thread, sends the name
//! with its deferred answer instead, through the request's `Pending` state.) It is switched on only on the threads of
//! loops that keep an access log (elsewhere nothing is stored), and emptied
//! after every handler call, so a name never outlives the request that
//! presented it.

use std::cell::{Cell, RefCell};

thread_local! {
    static WANTED: Cell<bool> = const { Cell::new(false) };
    static ACCEPTED: RefCell<Option<Box<str>>> = const { RefCell::new(None) };
}

/// Marks the calling thread as a loop thread that logs users.
pub(crate) fn want_on_this_thread() {
    WANTED.with(|w| w.set(true));
}

/// Records `user` as accepted for the request being handled on this thread.
pub(crate) fn accepted(user: String) {
    if WANTED.with(Cell::get) {
        ACCEPTED.with(|a| *a.borrow_mut() = Some(user.into_boxed_str()));
    }
}

/// Takes the user accepted during the handler call that just returned.
pub(crate) fn take() -> Option<Box<str>> {
    ACCEPTED.with(|a| a.borrow_mut().take())
}
