//! Streamed request bodies (body-reader mode): [`BodyReader`].
//!
//! A handler that streams bodies ([`Handler::streams_body`](crate::Handler::streams_body))
//! is called as soon as the head is parsed. The connection then pushes body
//! bytes into a bounded pipe as they arrive (no copy: pieces of the read buffer)
//! and the handler's thread reads them with [`std::io::Read`]. When the pipe is
//! full the connection stops reading the socket, so TCP pushes back on the
//! client and a 10 GiB upload passes through bounded memory. The first read
//! asks the loop to send `100 Continue` when the client expects it.
//!
//! Invariants: the loop never blocks on the pipe (it pushes only while there is
//! room and otherwise leaves a wake-up target); the reader never touches the
//! connection, only the pipe.

use std::collections::VecDeque;
use std::fmt;
use std::io::{self, Read};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};

use bytes::{Buf, Bytes};

use crate::event_loop::remote::{Message, Remote};
use crate::sys::poller::Token;

/// Body bytes buffered between the connection and a slow reader.
pub(crate) const PIPE_CAPACITY: usize = 256 * 1024;

struct Pipe {
    state: Mutex<PipeState>,
    readable: Condvar,
}

#[derive(Default)]
struct PipeState {
    chunks: VecDeque<Bytes>,
    buffered: usize,
    /// The whole body has been pushed.
    complete: bool,
    /// The body cannot be completed (bad framing, too large, connection gone).
    failed: Option<(io::ErrorKind, &'static str)>,
    /// The reader has started reading (time for `100 Continue`).
    started: bool,
    /// The reader was dropped: the rest of the body is nobody's.
    reader_gone: bool,
    /// The loop to wake when there is room again or the reader starts or goes.
    waiting: Option<(Arc<Remote>, Token)>,
}

impl Pipe {
    fn lock(&self) -> MutexGuard<'_, PipeState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

fn wake_loop(state: &mut PipeState) {
    if let Some((remote, token)) = state.waiting.take() {
        remote.send(Message::Wake { token });
    }
}

/// A new pipe: the connection's end and the reader (which the request holds
/// until the handler takes it; dropped unread, it still tells the loop).
pub(crate) fn pipe() -> (PipeWriter, BodyReader) {
    let pipe = Arc::new(Pipe { state: Mutex::new(PipeState::default()), readable: Condvar::new() });
    (PipeWriter(pipe.clone()), BodyReader { current: Bytes::new(), pipe: Some(pipe) })
}

/// The connection's end of a body pipe.
pub(crate) struct PipeWriter(Arc<Pipe>);

impl PipeWriter {
    /// True while the pipe takes more bytes; otherwise the loop registers to be
    /// woken when it does.
    pub(crate) fn has_room(&self, remote: &Arc<Remote>, token: Token) -> bool {
        let mut state = self.0.lock();
        let room = state.buffered < PIPE_CAPACITY || state.reader_gone;
        if !room {
            state.waiting = Some((remote.clone(), token));
        }
        room
    }

    /// True when the pipe holds as much as it may (no wake-up registered).
    pub(crate) fn is_full(&self) -> bool {
        let state = self.0.lock();
        state.buffered >= PIPE_CAPACITY && !state.reader_gone
    }

    /// Hands body bytes to the reader.
    pub(crate) fn push(&self, data: Bytes) {
        let mut state = self.0.lock();
        if state.reader_gone || data.is_empty() {
            return;
        }
        state.buffered += data.len();
        state.chunks.push_back(data);
        self.0.readable.notify_all();
    }

    /// The body is complete.
    pub(crate) fn complete(&self) {
        self.0.lock().complete = true;
        self.0.readable.notify_all();
    }

    /// The body cannot be completed; the reader gets an error of `kind`.
    pub(crate) fn fail(&self, kind: io::ErrorKind, why: &'static str) {
        let mut state = self.0.lock();
        if !state.complete && state.failed.is_none() {
            state.failed = Some((kind, why));
        }
        self.0.readable.notify_all();
    }

    /// True once the reader has asked for data; registers for a wake-up otherwise.
    pub(crate) fn is_started(&self, remote: &Arc<Remote>, token: Token) -> bool {
        let mut state = self.0.lock();
        if !state.started && !state.reader_gone {
            state.waiting = Some((remote.clone(), token));
        }
        state.started
    }

    /// True once the reader was dropped.
    pub(crate) fn is_reader_gone(&self) -> bool {
        self.0.lock().reader_gone
    }
}

impl Drop for PipeWriter {
    fn drop(&mut self) {
        self.fail(io::ErrorKind::ConnectionAborted, "the connection closed before the body was complete");
    }
}

/// Reads a request body: the buffered body of an ordinary request, or the body
/// as it arrives for a handler that streams bodies. `read` blocks while a
/// streamed body has no data yet, so read it on a thread other than the loop's
/// (e.g. after [`Request::defer`](crate::Request::defer)).
pub struct BodyReader {
    current: Bytes,
    pipe: Option<Arc<Pipe>>,
}

impl BodyReader {
    pub(crate) fn buffered(body: Bytes) -> Self {
        BodyReader { current: body, pipe: None }
    }

    /// Waits for the next piece of a streamed body; `None` at the end.
    fn next_piece(pipe: &Pipe) -> io::Result<Option<Bytes>> {
        let mut state = pipe.lock();
        if !state.started {
            state.started = true;
            wake_loop(&mut state); // `100 Continue` goes out now, if expected
        }
        loop {
            if let Some(chunk) = state.chunks.pop_front() {
                let was_full = state.buffered >= PIPE_CAPACITY;
                state.buffered -= chunk.len();
                if was_full && state.buffered < PIPE_CAPACITY {
                    wake_loop(&mut state);
                }
                return Ok(Some(chunk));
            }
            if let Some((kind, why)) = state.failed {
                return Err(io::Error::new(kind, why));
            }
            if state.complete {
                return Ok(None);
            }
            state = pipe.readable.wait(state).unwrap_or_else(PoisonError::into_inner);
        }
    }
}

impl BodyReader {
    /// Takes every streamed byte that has arrived, without blocking: how many,
    /// and whether the body has ended; a fault is the error `read` would give
    /// once past them. For the scripted harness, whose one thread cannot block.
    #[cfg(feature = "fuzzing")]
    pub(crate) fn take_arrived(&mut self) -> io::Result<(usize, bool)> {
        let mut taken = std::mem::take(&mut self.current).len();
        let Some(pipe) = &self.pipe else { return Ok((taken, true)) };
        let mut state = pipe.lock();
        // As a first read does: `100 Continue` goes out now, if expected.
        let wake = !state.started || state.buffered >= PIPE_CAPACITY;
        state.started = true;
        taken += std::mem::take(&mut state.buffered);
        state.chunks.clear();
        if wake {
            wake_loop(&mut state);
        }
        match state.failed {
            Some((kind, why)) => Err(io::Error::new(kind, why)),
            None => Ok((taken, state.complete)),
        }
    }
}

impl Read for BodyReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.current.is_empty() {
            let Some(pipe) = &self.pipe else { return Ok(0) };
            match BodyReader::next_piece(pipe)? {
                Some(piece) => self.current = piece,
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.current.len());
        buf[..n].copy_from_slice(&self.current[..n]);
        self.current.advance(n);
        Ok(n)
    }
}

impl Drop for BodyReader {
    fn drop(&mut self) {
        if let Some(pipe) = &self.pipe {
            let mut state = pipe.lock();
            state.reader_gone = true;
            state.chunks.clear();
            state.buffered = 0;
            wake_loop(&mut state);
        }
    }
}

impl fmt::Debug for BodyReader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BodyReader").field("streamed", &self.pipe.is_some()).finish()
    }
}
