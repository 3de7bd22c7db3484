//! The verifier pool: the threads where [`Check::costly`](super::Check::costly)
//! jobs run, off the loop.
//!
//! A [`Protected`](super::Protected) hands each costly check over as a
//! [`Task`]: the job, the request, its [`Responder`] (the request was deferred)
//! and the inner handler to run once the job accepts. The queue is a bounded
//! channel: a full queue gives the task back, and the request is answered `503`
//! rather than waiting behind an ever longer line. Threads start with the first
//! task, and end when the `Protected` (holding the only sender) is dropped.
//! A task whose client has left is answered without running its job. Each task
//! runs whole inside the user-code boundary ([`guard`]): a job or handler that
//! panics answers `500`, and so does any other panic in the task (a value of
//! the application's panicking as it is dropped); the thread lives on. Should
//! every thread be gone all the same, the queue is closed (the pool keeps no
//! receiver of its own once they start) and requests are answered `503`.

use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use super::{Check, Costly, Verifying};
use crate::guard;
use crate::handler::{Handler, Reply};
use crate::proto::parse::BodyKind;
use crate::request::Request;
use crate::responder::Responder;
use crate::response::Response;

/// Verifier threads by default: one per core, at most this many.
const DEFAULT_THREADS: usize = 4;
/// Tasks waiting for a verifier, at most, by default.
const DEFAULT_QUEUE: usize = 64;

/// One costly check and what to do with its verdict.
pub(super) struct Task {
    pub(super) job: Costly,
    pub(super) request: Request,
    pub(super) responder: Responder,
    /// The handler the request goes to once accepted.
    pub(super) then: Arc<dyn Handler>,
}

/// A bounded queue and the threads that serve it.
pub(super) struct Pool {
    threads: usize,
    sender: SyncSender<Box<Task>>,
    /// Until the threads start; then only they hold it, so that the queue
    /// closes if they are all gone.
    receiver: Mutex<Option<Receiver<Box<Task>>>>,
    /// Whether any thread could be started (set on the first task).
    running: OnceLock<bool>,
}

impl Default for Pool {
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        Pool::new(cores.min(DEFAULT_THREADS), DEFAULT_QUEUE)
    }
}

impl Pool {
    pub(super) fn new(threads: usize, queue: usize) -> Self {
        // At least one place: with none, a task could only be handed to a thread
        // already waiting, and one just finishing its last task would see a 503.
        let (sender, receiver) = mpsc::sync_channel(queue.max(1));
        Pool { threads: threads.max(1), sender, receiver: Mutex::new(Some(receiver)), running: OnceLock::new() }
    }

    /// Queues `task`, or gives it back when the queue is full (or no verifier
    /// thread could be started).
    pub(super) fn submit(&self, task: Box<Task>) -> Result<(), Box<Task>> {
        if !*self.running.get_or_init(|| self.start()) {
            return Err(task);
        }
        self.sender.try_send(task).map_err(|e| match e {
            TrySendError::Full(task) | TrySendError::Disconnected(task) => task,
        })
    }

    /// Starts the threads; false if none could be.
    fn start(&self) -> bool {
        let Some(receiver) = self.receiver.lock().unwrap_or_else(PoisonError::into_inner).take() else {
            return false;
        };
        let receiver = Arc::new(Mutex::new(receiver));
        let mut started = 0;
        for i in 0..self.threads {
            let receiver = receiver.clone();
            let spawned =
                std::thread::Builder::new().name(format!("porter-verify-{i}")).spawn(move || serve(&receiver));
            match spawned {
                Ok(_) => started += 1,
                Err(e) => log::error!("authentication: cannot start a verifier thread: {e}"),
            }
        }
        started > 0
    }
}

/// A verifier thread: runs tasks until the pool is dropped.
fn serve(receiver: &Mutex<Receiver<Box<Task>>>) {
    // A check decided on this thread by a handler (a `Protected` inside the
    // `Protected`) names its user as on a loop; `run` hands it on.
    crate::observe::user::want_on_this_thread();
    loop {
        let next = receiver.lock().unwrap_or_else(PoisonError::into_inner).recv();
        match next {
            // A panic outside the job and handler calls (which answer `500`
            // themselves): the task's responder, dropped unanswered as it
            // unwinds, answers `500`.
            Ok(task) => drop(guard::call("a costly authentication task", None, || run(*task))),
            Err(_) => return,
        }
    }
}

/// Runs one task to its answer (every task is answered: the loop keeps a
/// closed connection's slot until its deferred answers are in).
fn run(task: Task) {
    let Task { job: Costly(mut job), mut request, responder, then } = task;
    loop {
        if responder.is_cancelled() {
            // The client left: nobody will read the verdict.
            return responder.respond(Response::error(503));
        }
        let verifying = Verifying { responder: &responder };
        let verdict = guarded("a costly authentication check", || job(&verifying));
        // The job is over: its cancellation callback (if any) goes with it.
        responder.clear_on_cancel();
        match verdict {
            Ok(Check::Costly(Costly(next))) => job = next,
            Ok(Check::Accept(_)) if responder.is_cancelled() => return responder.respond(Response::error(503)),
            Ok(Check::Accept(user)) => {
                request.set_off_loop();
                let reply = hand_over(request, &*then);
                // The user is this check's, else one a check inside the
                // handler (a nested `Protected`) accepted on this thread
                // (taken either way: it must not outlive this request).
                let inner = crate::observe::user::take();
                if let Some(user) = user.or(inner.map(String::from)) {
                    responder.set_user(user);
                }
                return responder.follow(reply);
            }
            Ok(Check::Refuse(refused)) | Err(refused) => return responder.respond(refused),
        }
    }
}

/// Gives an accepted request to the handler as the loop would have: a request
/// with a body to its `before_body` first, asked only now that the client is
/// known (see `Protected::before_body`), then to `handle`.
fn hand_over(request: Request, then: &dyn Handler) -> Reply {
    let has_body = !matches!(request.parsed().body, BodyKind::None);
    let refused = match has_body {
        true => guarded("the request handler's before_body", || then.before_body(&request)),
        false => Ok(None),
    };
    match refused.unwrap_or_else(Some) {
        Some(refused) => refused.into(),
        None => guarded("the request handler", || then.handle(request)).unwrap_or_else(Reply::from),
    }
}

/// Runs the application's code through the user-code boundary
/// ([`crate::guard`]): a panic is logged and becomes a 500.
fn guarded<R>(what: &str, f: impl FnOnce() -> R) -> Result<R, Response> {
    guard::call(what, None, f).map_err(|_| Response::error(500))
}
