//! `Remote`: the part of a loop other threads may touch.
//!
//! Other threads never call into a loop; they leave a [`Message`] in its inbox and
//! wake it through an eventfd. The inbox is only used by deferred answers,
//! streamed bodies and the server's own orders (shutdown, listeners opened or
//! closed, a new access log), never by requests answered on the loop, so the
//! common path takes no lock. The loop drains the eventfd *before* taking the inbox, and a
//! sender wakes it when the inbox goes from empty to non-empty, so no message
//! waits for a wake-up that never comes.

use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use super::Listener;
use crate::listen::Resolved;
use crate::observe::access_log::LogShared;
use crate::responder::Answer;
use crate::sys::poller::Token;
use crate::sys::waker::Waker;

/// What another thread can tell a loop.
pub(crate) enum Message {
    /// The answer to request `seq` on connection `token`, with the state of
    /// the responder that gave it.
    Answer { token: Token, seq: u64, response: Box<Answer> },
    /// Connection `token` has something to do (body data or room arrived).
    Wake { token: Token },
    /// Serve on as a lame duck until `stop_at`; then stop accepting and close
    /// connections as they become idle; at `deadline` close everything.
    Shutdown { stop_at: Instant, deadline: Instant },
    /// Accept on this listener too (this worker's socket for it).
    AddListener(Listener),
    /// Speak to connections accepted on `addr` from now on this way.
    SetListenOptions { addr: SocketAddr, options: Resolved },
    /// Stop accepting on `addr` and close its socket; then say so on `done`.
    RemoveListener { addr: SocketAddr, done: std::sync::mpsc::Sender<()> },
    /// Log to this access log from now on (`None`: no access log).
    SetAccessLog(Option<Arc<LogShared>>),
}

/// A loop's inbox, waker and stop flag.
pub(crate) struct Remote {
    waker: Waker,
    inbox: Mutex<Vec<Message>>,
    stop: AtomicBool,
    /// A graceful shutdown has begun (see [`crate::Request::is_draining`]).
    draining: AtomicBool,
    /// Connections the loop holds (open or closed-but-awaiting), updated on
    /// accept and free only.
    live: AtomicUsize,
}

impl Remote {
    pub(crate) fn new() -> io::Result<Self> {
        Ok(Remote {
            waker: Waker::new()?,
            inbox: Mutex::new(Vec::new()),
            stop: AtomicBool::new(false),
            draining: AtomicBool::new(false),
            live: AtomicUsize::new(0),
        })
    }

    /// Leaves a message and wakes the loop if it may be asleep.
    pub(crate) fn send(&self, message: Message) {
        let mut inbox = self.inbox.lock().unwrap_or_else(PoisonError::into_inner);
        let was_empty = inbox.is_empty();
        inbox.push(message);
        drop(inbox);
        if was_empty {
            self.waker.wake();
        }
    }

    /// Takes every waiting message (into `into`, reusing its allocation).
    pub(crate) fn take_messages(&self, into: &mut Vec<Message>) {
        self.waker.drain();
        let mut inbox = self.inbox.lock().unwrap_or_else(PoisonError::into_inner);
        std::mem::swap(&mut *inbox, into);
    }

    /// Asks the loop to stop at once and wakes it.
    pub(crate) fn stop(&self) {
        self.stop.store(true, Ordering::Release);
        self.waker.wake();
    }

    pub(crate) fn is_stopped(&self) -> bool {
        self.stop.load(Ordering::Acquire)
    }

    /// Marks the server as draining, from the moment its shutdown is asked:
    /// every reply from then on says `Connection: close`.
    pub(crate) fn set_draining(&self) {
        self.draining.store(true, Ordering::Release);
    }

    /// True once a graceful shutdown has been asked.
    pub(crate) fn is_draining(&self) -> bool {
        self.draining.load(Ordering::Acquire)
    }

    /// Records how many connections the loop holds.
    pub(crate) fn set_live(&self, n: usize) {
        self.live.store(n, Ordering::Relaxed);
    }

    /// How many connections the loop holds.
    pub(crate) fn live(&self) -> usize {
        self.live.load(Ordering::Relaxed)
    }

    pub(crate) fn waker(&self) -> &Waker {
        &self.waker
    }
}

impl std::fmt::Debug for Remote {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Remote").field("stopped", &self.is_stopped()).finish()
    }
}
