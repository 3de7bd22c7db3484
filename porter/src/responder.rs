//! `Responder`: an answer given later, from any thread.
//!
//! `Request::defer` returns a [`Reply`](crate::Reply) for the handler to return
//! and a `Responder` to answer with later. The answer travels to the request's
//! own loop through that loop's inbox and an eventfd wake-up; replies still leave
//! in request order, whichever is answered first. A `Responder` dropped without
//! answering answers 500, so a client never hangs on a forgotten request.
//!
//! Cancellation: when the client goes away (or its connection is closed for a
//! timeout or shutdown) every pending request is cancelled: [`Responder::is_cancelled`]
//! turns true and a callback registered with [`Responder::on_cancel`] runs (on
//! the loop thread: keep it short, and a panic in it is caught by
//! [`crate::guard`]). An answer to a cancelled request is dropped.

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError, Weak};

use crate::event_loop::remote::{Message, Remote};
use crate::guard::{self, Owned, RequestId};
use crate::handler::{Reply, ReplyKind};
use crate::response::Response;
use crate::sys::poller::Token;

/// A cancellation callback: the application's, dropped inside the boundary
/// if it never runs (its captures may be dropped on the loop thread).
type Callback = Owned<dyn FnOnce() + Send>;
type Restyle = Box<dyn FnOnce(Response) -> Response + Send>;

/// The state a pending request shares between its loop and its responder.
pub(crate) struct Pending {
    cancelled: AtomicBool,
    on_cancel: Mutex<Option<Callback>>,
    /// The user an authenticator accepted off the loop, for the access log.
    user: Mutex<Option<Box<str>>>,
    /// What the wrapping handlers do to the answer when it arrives.
    restyle: Mutex<Option<Restyle>>,
    /// The request, for the log line of a panicking callback.
    request: RequestId,
    /// Whether the answer waits for the handler call to return.
    hold: Mutex<Hold>,
    /// The deferral this one answers in the place of (set by
    /// [`Responder::follow`]): its restyles and user apply after this one's.
    /// Weak: the outer one keeps this one (to cancel it).
    outer: OnceLock<Weak<Pending>>,
}

/// An answer held back while the handler call that deferred it runs off the
/// loop: the loop takes answers in only after every wrapping handler has
/// registered its restyle, which on the loop its one thread ensures, and off
/// it [`Responder::follow`] (called once the handler returned) releases.
enum Hold {
    /// Answers go on (outward, then to the loop).
    Open,
    /// Not yet released; no answer yet.
    Holding,
    /// Not yet released; the answer, given through the second, waits here.
    Held(Response, Arc<Pending>),
}

/// An answer on its way, and the deferral it was given through.
type Routed = (Response, Arc<Pending>);

impl fmt::Debug for Pending {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pending").field("cancelled", &self.is_cancelled()).finish()
    }
}

impl Pending {
    pub(crate) fn new(request: RequestId) -> Self {
        Pending {
            cancelled: AtomicBool::new(false),
            on_cancel: Mutex::new(None),
            user: Mutex::new(None),
            restyle: Mutex::new(None),
            request,
            hold: Mutex::new(Hold::Open),
            outer: OnceLock::new(),
        }
    }

    /// Holds the answer until [`Pending::release`] (see [`Hold`]).
    pub(crate) fn hold(&mut self) {
        *self.hold.get_mut().unwrap_or_else(PoisonError::into_inner) = Hold::Holding;
    }

    /// The deferral this one answers for, if any (see `outer`).
    fn outer(&self) -> Option<Arc<Pending>> {
        self.outer.get().and_then(Weak::upgrade)
    }

    /// This deferral, then those it answers for, outward.
    fn chain(self: &Arc<Self>) -> impl Iterator<Item = Arc<Pending>> {
        std::iter::successors(Some(self.clone()), |pending| pending.outer())
    }

    /// Keeps `routed` in the first deferral from this one outward that holds
    /// its answer; gives it back, to go to the loop, if none does. (A second
    /// answer where one is held already is a stale one: dropped.)
    fn park(self: &Arc<Self>, routed: Routed) -> Option<Routed> {
        for pending in self.chain() {
            let mut hold = pending.hold.lock().unwrap_or_else(PoisonError::into_inner);
            match *hold {
                Hold::Holding => {
                    *hold = Hold::Held(routed.0, routed.1);
                    return None;
                }
                Hold::Held(..) => return None,
                Hold::Open => {}
            }
        }
        Some(routed)
    }

    /// Lets answers through from now on; returns one that was held.
    fn release(&self) -> Option<Routed> {
        match std::mem::replace(&mut *self.hold.lock().unwrap_or_else(PoisonError::into_inner), Hold::Open) {
            Hold::Held(response, from) => Some((response, from)),
            Hold::Open | Hold::Holding => None,
        }
    }

    /// Marks the request cancelled and runs its callback, once, inside the
    /// user-code boundary (a panic there is logged and goes no further).
    pub(crate) fn cancel(&self) {
        if self.cancelled.swap(true, Ordering::AcqRel) {
            return;
        }
        let callback = self.on_cancel.lock().unwrap_or_else(PoisonError::into_inner).take();
        if let Some(callback) = callback.and_then(Owned::take) {
            let _ = guard::call("a cancellation callback (Responder::on_cancel)", Some(&self.request), callback);
        }
    }

    fn is_cancelled(&self) -> bool {
        self.cancelled.load(Ordering::Acquire)
    }

    /// Has the answer pass through `f` when it reaches the loop, after any
    /// earlier `f`: how a wrapping handler ([`ErrorPages`](crate::ErrorPages))
    /// treats a deferred answer as it treats one given at once. Set during the
    /// handler call on the loop, so before any answer is taken in.
    pub(crate) fn then_restyle(&self, f: impl FnOnce(Response) -> Response + Send + 'static) {
        let mut slot = self.restyle.lock().unwrap_or_else(PoisonError::into_inner);
        let next: Restyle = match slot.take() {
            Some(first) => Box::new(move |response| f(first(response))),
            None => Box::new(f),
        };
        *slot = Some(next);
    }

    /// The answer as the wrapping handlers want it (see [`Pending::then_restyle`]).
    pub(crate) fn restyle(&self, response: Response) -> Response {
        let restyle = self.restyle.lock().unwrap_or_else(PoisonError::into_inner).take();
        match restyle {
            Some(restyle) => restyle(response),
            None => response,
        }
    }

    /// Takes the user recorded by [`Responder::set_user`].
    pub(crate) fn take_user(&self) -> Option<Box<str>> {
        self.user.lock().unwrap_or_else(PoisonError::into_inner).take()
    }
}

/// A deferred answer on its way to the loop, with the state of the responder
/// that gave it: the request's own, or that of an inner handler's deferral
/// answering in its place ([`Responder::follow`]), whose restyles and user
/// apply too.
pub(crate) struct Answer {
    pub(crate) response: Response,
    pub(crate) from: Arc<Pending>,
}

impl Answer {
    /// The response as every handler it passed wants it, innermost first,
    /// ending with the request's own deferral (`own`), and the user accepted
    /// for it (the outermost one named). Each restyle and user is taken
    /// once, so a deferral met twice counts once.
    pub(crate) fn finish(self, own: &Arc<Pending>) -> (Response, Option<Box<str>>) {
        let Answer { mut response, from } = self;
        let mut user = None;
        for pending in from.chain().chain(std::iter::once(own.clone())) {
            response = pending.restyle(response);
            user = pending.take_user().or(user);
        }
        (response, user)
    }
}

/// Where a request came from: its loop, its connection and its place in line.
#[derive(Clone)]
pub(crate) struct Origin {
    pub(crate) remote: Arc<Remote>,
    pub(crate) token: Token,
    pub(crate) seq: u64,
}

/// Answers one deferred request, from any thread. See the module docs.
pub struct Responder {
    origin: Origin,
    pending: Arc<Pending>,
    answered: bool,
}

impl Responder {
    pub(crate) fn new(origin: Origin, pending: Arc<Pending>) -> Self {
        Responder { origin, pending, answered: false }
    }

    /// Sends the answer. It is written when every earlier reply on the
    /// connection has gone out; if the request was cancelled it is dropped.
    pub fn respond(mut self, response: Response) {
        self.send(response);
    }

    fn send(&mut self, response: Response) {
        self.answered = true;
        self.route((response, self.pending.clone()));
    }

    /// Sends an answer to the loop, unless a deferral on its way holds it.
    fn route(&self, routed: Routed) {
        if let Some((response, from)) = self.pending.park(routed) {
            let Origin { remote, token, seq } = &self.origin;
            let answer = Answer { response, from };
            remote.send(Message::Answer { token: *token, seq: *seq, response: Box::new(answer) });
        }
    }

    /// Answers with what a handler gave back for this request: its response,
    /// or its own deferred reply (which then answers in this one's place, and
    /// is cancelled with it).
    pub(crate) fn follow(mut self, reply: Reply) {
        match reply.0 {
            ReplyKind::Now(response) => self.send(response),
            ReplyKind::Later { seq, pending } if seq == self.origin.seq => {
                self.answered = true;
                // Its answers go on through this one from now on.
                let _ = pending.outer.set(Arc::downgrade(&self.pending));
                if let Some(early) = pending.release() {
                    self.route(early);
                }
                self.on_cancel(move || pending.cancel());
            }
            ReplyKind::Later { .. } => {
                log::error!("a handler returned another request's deferred reply; answering 500");
                self.send(Response::error(500));
            }
        }
    }

    /// Records the user an authenticator accepted for this request, for the
    /// access log's `%u` (set before answering).
    pub(crate) fn set_user(&self, user: String) {
        *self.pending.user.lock().unwrap_or_else(PoisonError::into_inner) = Some(user.into_boxed_str());
    }

    /// True once the client has gone away (or the connection was closed):
    /// further work for this request is wasted.
    pub fn is_cancelled(&self) -> bool {
        self.pending.is_cancelled()
    }

    /// Runs `callback` when the request is cancelled (at once, on this thread,
    /// if it already is). It runs on the loop thread, so it must not block; a
    /// panic in it is caught and logged there.
    pub fn on_cancel(&self, callback: impl FnOnce() + Send + 'static) {
        let mut slot = self.pending.on_cancel.lock().unwrap_or_else(PoisonError::into_inner);
        if self.pending.is_cancelled() {
            drop(slot);
            callback();
        } else {
            *slot = Some(Owned::new(Box::new(callback)));
        }
    }
}

impl Responder {
    /// Forgets the callback registered with [`Responder::on_cancel`] (dropped
    /// inside the user-code boundary), when what it would cancel is over.
    pub(crate) fn clear_on_cancel(&self) {
        let callback = self.pending.on_cancel.lock().unwrap_or_else(PoisonError::into_inner).take();
        drop(callback);
    }
}

impl Drop for Responder {
    fn drop(&mut self) {
        if !self.answered {
            log::warn!("a deferred request was dropped unanswered; answering 500");
            self.send(Response::error(500));
        }
    }
}

impl fmt::Debug for Responder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Responder").field("seq", &self.origin.seq).field("cancelled", &self.is_cancelled()).finish()
    }
}
