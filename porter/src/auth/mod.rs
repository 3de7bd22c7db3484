//! Authentication: a handler wrapper that checks each request before the inner
//! handler sees it, with HTTP Basic (RFC 7617) built in and a hook for other
//! schemes.
//!
//! - [`Authenticator`] is the hook: `check` returns a [`Check`]: let the request
//!   through (as a named user, who fills the access log's `%u`), refuse it with
//!   a response, or [`Check::costly`]: "deciding is slow (a password hash, a
//!   call to another service): do it off the loop". Closures
//!   `Fn(&Request) -> Result<(), Response>` (or `Result<String, Response>`, the
//!   user's name) are authenticators.
//! - [`Protected`] runs the check in [`Handler::before_body`] too, so an
//!   unauthenticated upload is refused from its head and never read. It
//!   protects everything it wraps (put it on one route of a [`Router`](crate::Router)),
//!   or only paths under a prefix ([`Protected::under`]).
//! - [`BasicAuth`] checks `Authorization: Basic` credentials against an
//!   htpasswd file or a callback, bcrypt off the loop, successes remembered.
//!
//! **Costly checks run off the loop.** A loop thread serves many connections,
//! so a check that takes milliseconds (bcrypt at cost 12 takes ~250 ms) would
//! stall every one of them. The job of a [`Check::costly`] runs on the
//! `Protected`'s small pool of verifier threads instead; the
//! request waits as a deferred one does (its reply keeps its place in line),
//! and is cancelled if its client leaves. The queue in front of the pool is
//! bounded: when it is full the request is answered `503` at once rather than
//! queued without end. Once the job accepts, the inner handler runs on the
//! verifier thread (it is quick, as every handler must be), as the loop would
//! run it: its `before_body` first for a request with a body (asked only once
//! the client is accepted, so that an unknown one learns nothing of the inner
//! routes), then `handle`; a reply it defers is answered in the request's
//! place, with its own error pages and accepted user. Because the answer
//! comes after the head, a request with a body whose check is costly has its
//! body (at most `max_body`) read before the verdict, unless the inner handler
//! streams bodies ([`Handler::streams_body`]): then nothing is read (and no
//! `100 Continue` sent) until it is accepted. A missing or malformed
//! credential, or one [`BasicAuth`] remembers, is still decided from the head.

mod basic;
mod cache;
mod verify;

use std::fmt;
use std::sync::Arc;

use crate::handler::{Handler, Reply};
use crate::request::Request;
use crate::responder::Responder;
use crate::response::Response;

pub use basic::BasicAuth;

/// What an [`Authenticator`] decided about a request.
///
/// To act on a verdict that may still be costly (a wrapper authenticator
/// adding its own rule to another's), use [`Check::map`] rather than matching:
/// more variants may come.
#[non_exhaustive]
pub enum Check {
    /// Let it through. The name, if any, is the access log's `%u`.
    Accept(Option<String>),
    /// Refuse it with this response (usually a `401` with a challenge).
    Refuse(Response),
    /// Decide off the loop: see [`Check::costly`].
    Costly(Costly),
}

/// The slow part of a check, made by [`Check::costly`].
pub struct Costly(Box<dyn FnOnce(&Verifying<'_>) -> Check + Send>);

impl Check {
    /// Accepts the request as `user` (shown as `%u` in the access log).
    pub fn user(user: impl Into<String>) -> Check {
        Check::Accept(Some(user.into()))
    }

    /// A check too slow for the loop thread: [`Protected`] runs `job` on its
    /// verifier pool, and the request waits for its verdict without holding
    /// up the loop's other connections. Take from the request what the job
    /// needs (the job is `'static`); the job may return another `Costly`,
    /// which runs next on the same thread.
    ///
    /// ```
    /// use porter::{Check, Request, Response};
    /// fn check(req: &Request) -> Check {
    ///     let Some(token) = req.header("authorization").map(str::to_string) else {
    ///         return Check::Refuse(Response::error(401).header("WWW-Authenticate", "Bearer"));
    ///     };
    ///     Check::costly(move |_verifying| {
    ///         // e.g. ask a token service: may block, it is not on the loop
    ///         if token == "Bearer s3cret" { Check::user("svc") } else { Check::Refuse(Response::error(401)) }
    ///     })
    /// }
    /// let api = porter::Protected::new(check, |_req| Response::text("api"));
    /// ```
    pub fn costly(job: impl FnOnce(&Verifying<'_>) -> Check + Send + 'static) -> Check {
        Check::Costly(Costly(Box::new(job)))
    }

    /// Passes the final verdict (an `Accept` or a `Refuse`) through `then`:
    /// now, on the loop, if there is one, or else off the loop, on the
    /// verifier thread, once the costly job has decided (see [`Costly::map`]).
    /// How an authenticator wraps another's verdict without waiting for it.
    ///
    /// ```
    /// use porter::{BasicAuth, Check, Request, Response};
    /// // Only alice may in, whatever else the password file holds.
    /// let basic = BasicAuth::with_callback("staff", |_user, password| password == "s3cret");
    /// let alice_only = move |req: &Request| {
    ///     porter::Authenticator::check(&basic, req).map(|verdict| match verdict {
    ///         Check::Accept(Some(user)) if user == "alice" => Check::user(user),
    ///         Check::Accept(_) => Check::Refuse(Response::error(403)),
    ///         other => other,
    ///     })
    /// };
    /// let app = porter::Protected::new(alice_only, |_req| Response::text("hi alice"));
    /// # let _ = app;
    /// ```
    pub fn map(self, then: impl FnOnce(Check) -> Check + Send + 'static) -> Check {
        match self {
            Check::Costly(costly) => Check::Costly(costly.map(then)),
            decided => then(decided),
        }
    }
}

impl Costly {
    /// This job, its final verdict then passed through `then`, on the same
    /// verifier thread (a job returning another `Costly` is followed to its end
    /// first). `then` may itself return a `Costly`, which runs next.
    pub fn map(self, then: impl FnOnce(Check) -> Check + Send + 'static) -> Costly {
        let Costly(job) = self;
        Costly(Box::new(move |verifying: &Verifying<'_>| job(verifying).map(then)))
    }
}

impl From<Result<(), Response>> for Check {
    fn from(result: Result<(), Response>) -> Self {
        result.map_or_else(Check::Refuse, |()| Check::Accept(None))
    }
}

impl From<Result<String, Response>> for Check {
    fn from(result: Result<String, Response>) -> Self {
        result.map_or_else(Check::Refuse, |user| Check::Accept(Some(user)))
    }
}

impl fmt::Debug for Check {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Check::Accept(user) => f.debug_tuple("Accept").field(user).finish(),
            Check::Refuse(response) => f.debug_tuple("Refuse").field(response).finish(),
            Check::Costly(_) => f.write_str("Costly(..)"),
        }
    }
}

impl fmt::Debug for Costly {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Costly(..)")
    }
}

/// What a [`Check::costly`] job may ask about its request while it runs.
pub struct Verifying<'a> {
    responder: &'a Responder,
}

impl Verifying<'_> {
    /// True once the client has gone away: the verdict will not be used.
    pub fn is_cancelled(&self) -> bool {
        self.responder.is_cancelled()
    }

    /// Runs `callback` if the client goes away while this job runs, e.g. to
    /// abort a call to another service: on the loop thread (keep it short),
    /// or at once on this thread if the client is already gone. It is
    /// forgotten (dropped) when the job returns, so it never fires for a later
    /// job of the same check nor after the verdict; a second call in the same
    /// job replaces the first's callback.
    pub fn on_cancel(&self, callback: impl FnOnce() + Send + 'static) {
        self.responder.on_cancel(callback);
    }
}

impl fmt::Debug for Verifying<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Verifying").field("cancelled", &self.is_cancelled()).finish()
    }
}

/// Decides whether a request may go on (see [`Check`]).
pub trait Authenticator: Send + Sync + 'static {
    /// Checks one request from its head. Runs on the loop thread: anything
    /// slow belongs in a [`Check::costly`] job.
    ///
    /// A request without a body is checked once, when it is handled. One with
    /// a body is checked twice by [`Protected`]: from its head, before the
    /// body is read ([`Handler::before_body`]: a refusal then saves reading
    /// it; a `Costly` then is dropped unrun), and again once the body is in
    /// ([`Handler::handle`]), when the verdict is the one that counts. So a
    /// check must give the same verdict for the same head, and keep any side
    /// effect (counting failures, say) in its costly job, which runs at most
    /// once per request.
    fn check(&self, request: &Request) -> Check;
}

impl<F, R> Authenticator for F
where
    F: Fn(&Request) -> R + Send + Sync + 'static,
    R: Into<Check>,
{
    fn check(&self, request: &Request) -> Check {
        self(request).into()
    }
}

/// A handler behind an [`Authenticator`]: refused requests never reach it.
///
/// ```no_run
/// use porter::{BasicAuth, Protected, Response, Router, Server};
/// # fn main() -> std::io::Result<()> {
/// let auth = BasicAuth::from_htpasswd("admin area", "/etc/porter/htpasswd")?;
/// let app = Router::new()
///     .get("/", |_req| Response::text("public"))
///     .get("/admin", Protected::new(auth, |_req| Response::text("secret")));
/// Server::bind("127.0.0.1:8080").run(app)
/// # }
/// ```
pub struct Protected<A, H> {
    auth: A,
    inner: Arc<H>,
    /// The protected prefix's decoded segments (`under`); `None`: everything.
    prefix: Option<Vec<Vec<u8>>>,
    /// Where costly checks run.
    pool: verify::Pool,
}

impl<A: fmt::Debug, H: fmt::Debug> fmt::Debug for Protected<A, H> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Protected")
            .field("auth", &self.auth)
            .field("inner", &self.inner)
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

impl<A: Authenticator, H: Handler> Protected<A, H> {
    /// Protects every request `inner` gets.
    pub fn new(auth: A, inner: H) -> Self {
        Protected { auth, inner: Arc::new(inner), prefix: None, pool: verify::Pool::default() }
    }

    /// Protects only paths equal to `prefix` or below it (`/admin` covers
    /// `/admin` and `/admin/x`, not `/administrator`); others pass freely.
    /// Paths are compared as [`CleanPath`](crate::CleanPath)s, decoded and
    /// normalized as `Files` serves them, so `/%61dmin`, `//admin` and
    /// `/x/../admin` are protected too; a request path that does not normalize
    /// is protected. A `prefix` that is not an absolute path protects everything.
    pub fn under(mut self, prefix: &str) -> Self {
        let segments = crate::CleanPath::parse(prefix).map(|p| p.segments().to_vec());
        self.prefix = Some(segments.unwrap_or_default());
        self
    }

    /// Runs costly checks on `threads` verifier threads (at least one; by
    /// default up to four, one per core), with at most `queue` more waiting
    /// (at least one; 64 by default); beyond that a request is answered `503`. The threads
    /// start with the first costly check and end with this handler.
    pub fn verifiers(mut self, threads: usize, queue: usize) -> Self {
        self.pool = verify::Pool::new(threads, queue);
        self
    }

    fn applies_to(&self, request: &Request) -> bool {
        let Some(prefix) = &self.prefix else { return true };
        crate::CleanPath::parse(request.path()).map_or(true, |path| path.starts_with(prefix))
    }

    /// Verifies off the loop, then answers through the request's responder.
    fn verify_later(&self, request: Request, job: Costly) -> Reply {
        let (reply, responder) = request.defer();
        let then: Arc<dyn Handler> = self.inner.clone();
        if let Err(task) = self.pool.submit(Box::new(verify::Task { job, request, responder, then })) {
            log::warn!("authentication: every verifier is busy and the queue is full; answering 503");
            task.responder.respond(Response::error(503));
        }
        reply
    }
}

impl<A: Authenticator, H: Handler> Handler for Protected<A, H> {
    fn handle(&self, request: Request) -> Reply {
        if !self.applies_to(&request) {
            return self.inner.handle(request);
        }
        match self.auth.check(&request) {
            Check::Accept(user) => {
                accepted(user);
                self.inner.handle(request)
            }
            Check::Refuse(refused) => refused.into(),
            Check::Costly(job) => self.verify_later(request, job),
        }
    }

    fn before_body(&self, request: &Request) -> Option<Response> {
        if self.applies_to(request) {
            match self.auth.check(request) {
                Check::Accept(user) => accepted(user),
                // Refused from the head: the body is never read (no 100 Continue).
                Check::Refuse(refused) => return Some(refused),
                // Decided in `handle`, off the loop (see the module docs),
                // where the inner `before_body` is asked once accepted: asked
                // here, it would tell an unknown client the inner 404 or 405.
                Check::Costly(_) => return None,
            }
        }
        self.inner.before_body(request)
    }

    fn streams_body(&self, request: &Request) -> Option<crate::BodyLimit> {
        self.inner.streams_body(request)
    }
}

/// Hands the accepted user to the access log of the loop running this check.
fn accepted(user: Option<String>) {
    if let Some(user) = user {
        crate::observe::user::accepted(user);
    }
}
