//! Streamed response bodies fed from any thread: [`Body::channel`](crate::Body::channel).
//!
//! The producer holds a [`BodySender`]; the connection pulls from the shared
//! queue only while its output buffer has room, i.e. as fast as the client
//! reads. The queue holds at most `capacity` bytes: beyond that
//! [`BodySender::send`] blocks, so a 10 GiB response passes through bounded
//! memory and a slow reader slows the producer instead of filling porter.
//!
//! Invariants: the loop never blocks on the queue (it takes what is there and,
//! when it finds the queue empty, leaves a wake-up target that the next `send`
//! or `finish` uses); the producer never touches the connection, only the queue.

use std::collections::VecDeque;
use std::fmt;
use std::io;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};

use bytes::Bytes;

use crate::event_loop::remote::{Message, Remote};
use crate::sys::poller::Token;

/// Bytes a channel body buffers before `send` blocks, by default.
pub(crate) const DEFAULT_CAPACITY: usize = 256 * 1024;

/// The queue between a producer thread and a connection.
struct Channel {
    state: Mutex<State>,
    room: Condvar,
    capacity: usize,
}

#[derive(Default)]
struct State {
    chunks: VecDeque<Bytes>,
    buffered: usize,
    /// The producer is done (finished or dropped its sender).
    finished: bool,
    /// The producer gave up: the body is incomplete.
    aborted: bool,
    /// The connection is gone: sending is pointless.
    receiver_gone: bool,
    /// Who to wake when data arrives (set by the loop when it found no data).
    waiting: Option<(Arc<Remote>, Token)>,
}

/// What the connection found in the queue.
pub(crate) enum Pull {
    /// Some data (the queue may hold more).
    Data(Bytes),
    /// Nothing now; the loop will be woken when there is.
    Empty,
    /// The producer finished: the body is complete.
    Finished,
    /// The producer aborted: the body cannot be completed.
    Aborted,
}

/// A new channel body: the producer's end and the connection's end.
pub(crate) fn channel(capacity: usize) -> (BodySender, Receiver) {
    let channel = Arc::new(Channel::new(capacity));
    (BodySender { channel: channel.clone() }, Receiver(channel))
}

impl Channel {
    fn new(capacity: usize) -> Self {
        Channel { state: Mutex::new(State::default()), room: Condvar::new(), capacity: capacity.max(1) }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn pull(&self, remote: &Arc<Remote>, token: Token) -> Pull {
        let mut state = self.lock();
        if let Some(chunk) = state.chunks.pop_front() {
            let was_full = state.buffered >= self.capacity;
            state.buffered -= chunk.len();
            if was_full && state.buffered < self.capacity {
                self.room.notify_all();
            }
            return Pull::Data(chunk);
        }
        match (state.finished, state.aborted) {
            (true, false) => Pull::Finished,
            (true, true) => Pull::Aborted,
            (false, _) => {
                state.waiting = Some((remote.clone(), token));
                Pull::Empty
            }
        }
    }

    /// The connection is gone: wake a blocked producer and make it fail.
    fn close_receiver(&self) {
        let mut state = self.lock();
        state.receiver_gone = true;
        state.chunks.clear();
        state.buffered = 0;
        self.room.notify_all();
    }

    fn end(&self, aborted: bool) {
        let mut state = self.lock();
        if state.finished {
            return;
        }
        state.finished = true;
        state.aborted = aborted;
        wake(&mut state);
    }
}

/// The connection's end of a channel. Dropping it (the body was sent, skipped
/// for HEAD or 304, or the connection died) releases a blocked producer.
pub(crate) struct Receiver(Arc<Channel>);

impl Receiver {
    /// Takes the next piece for connection `token` of loop `remote`.
    pub(crate) fn pull(&self, remote: &Arc<Remote>, token: Token) -> Pull {
        self.0.pull(remote, token)
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.0.close_receiver();
    }
}

/// Wakes the loop waiting for this channel, if any.
fn wake(state: &mut State) {
    if let Some((remote, token)) = state.waiting.take() {
        remote.send(Message::Wake { token });
    }
}

/// The producing end of a [`Body::channel`](crate::Body::channel). `Send`: move it
/// to the thread that makes the body. Dropping it finishes the body.
pub struct BodySender {
    channel: Arc<Channel>,
}

impl BodySender {
    /// Queues `data`, blocking while the queue is full (the client reads slower
    /// than this thread produces). Fails with `BrokenPipe` once the connection
    /// is gone: stop producing then.
    pub fn send(&self, data: impl Into<Bytes>) -> io::Result<()> {
        let data = data.into();
        let mut state = self.channel.lock();
        while state.buffered >= self.channel.capacity && !state.receiver_gone {
            state = self.channel.room.wait(state).unwrap_or_else(PoisonError::into_inner);
        }
        if state.receiver_gone {
            return Err(io::Error::new(io::ErrorKind::BrokenPipe, "the client connection is gone"));
        }
        if data.is_empty() {
            return Ok(());
        }
        state.buffered += data.len();
        state.chunks.push_back(data);
        wake(&mut state);
        Ok(())
    }

    /// True once the connection is gone (sending would fail).
    pub fn is_closed(&self) -> bool {
        self.channel.lock().receiver_gone
    }

    /// Ends the body normally (the same as dropping the sender).
    pub fn finish(self) {
        drop(self);
    }

    /// Ends the body as failed: the client sees the connection close before the
    /// body is complete (no final chunk), so it knows the body is truncated.
    pub fn abort(self) {
        self.channel.end(true);
    }
}

impl Drop for BodySender {
    fn drop(&mut self) {
        self.channel.end(false);
    }
}

impl fmt::Debug for BodySender {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BodySender").field("closed", &self.is_closed()).finish()
    }
}
