//! [`AccessLog`]: where access-log lines go and in which format; and the
//! per-server side of the log, which owns the writer thread.
//!
//! Workers format lines into their own buffers ([`super::Observer`]) and hand
//! full buffers (and what is left at the end of each loop iteration) to the
//! writer with `try_send`: the loop never waits for the disk. When the bounded
//! queue is full the buffer's lines are dropped and counted
//! ([`LogShared::dropped`], also shown by [`Metrics`](crate::Metrics)), with one
//! warning through the `log` crate.

use std::io;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{self, SyncSender, TrySendError};
use std::sync::Arc;
use std::thread::{self, JoinHandle};

use super::format::LogFormat;
use super::writer::{self, Message, Sink};

/// Default size at which a worker hands its buffer to the writer.
const BUFFER_SIZE: usize = 32 * 1024;
/// Default number of buffers waiting for the writer before lines are dropped.
const QUEUE: usize = 64;

/// An access log: one line per reply, in [`LogFormat::Combined`] (default) or
/// [`LogFormat::Json`], written by a thread of its own so the loops never block
/// on it. Give it to [`ServerBuilder::access_log`](crate::ServerBuilder::access_log).
///
/// ```no_run
/// use porter::{AccessLog, LogFormat, Response, Server};
/// # fn main() -> std::io::Result<()> {
/// let log = AccessLog::file("/var/log/porter/access.log").format(LogFormat::Json);
/// let server = Server::bind("127.0.0.1:8080").access_log(log).build(|_req| Response::text("hi"))?;
/// let handle = server.shutdown_handle(); // handle.reopen_logs() after logrotate renamed the file
/// # Ok(()) }
/// ```
///
/// A line is written once the reply's last byte has been handed to the socket;
/// a reply cut short is logged when its connection ends, with the status sent
/// and the body bytes that went out, and a request that got no byte of a
/// reply with `499` (the client left) or `444` (porter closed the connection),
/// as nginx logs them. Untrusted bytes are
/// escaped as nginx does (`"`, `\` and non-printable bytes as `\xHH`). The user
/// field (`%u`) is the user an [`Authenticator`](crate::Authenticator) (e.g.
/// [`BasicAuth`](crate::BasicAuth)) accepted for the request, else `-` (`null`
/// in JSON): a 401 or an unprotected route shows none.
#[derive(Clone, Debug)]
pub struct AccessLog {
    destination: Destination,
    format: LogFormat,
    buffer_size: usize,
    queue: usize,
}

#[derive(Clone, Debug)]
enum Destination {
    File(PathBuf),
    Stderr,
    LogCrate,
}

impl AccessLog {
    fn to(destination: Destination) -> Self {
        AccessLog { destination, format: LogFormat::default(), buffer_size: BUFFER_SIZE, queue: QUEUE }
    }

    /// Appends to the file at `path` (created if missing when the server is
    /// built; an error then is [`build`](crate::ServerBuilder::build)'s error).
    /// After a rotation, [`ShutdownHandle::reopen_logs`](crate::ShutdownHandle::reopen_logs)
    /// reopens the path.
    pub fn file(path: impl Into<PathBuf>) -> Self {
        AccessLog::to(Destination::File(path.into()))
    }

    /// Writes to the process's standard error.
    pub fn stderr() -> Self {
        AccessLog::to(Destination::Stderr)
    }

    /// Logs each line through the `log` crate at `info` level, target
    /// `porter::access` (no line is formatted while that target is disabled).
    pub fn log_crate() -> Self {
        AccessLog::to(Destination::LogCrate)
    }

    /// The line format (default [`LogFormat::Combined`]).
    pub fn format(mut self, format: LogFormat) -> Self {
        self.format = format;
        self
    }

    /// Bytes a worker collects before handing them to the writer (default
    /// 32 KiB); the rest is handed over at the end of each loop iteration.
    pub fn buffer_size(mut self, bytes: usize) -> Self {
        self.buffer_size = bytes.max(1);
        self
    }

    /// Buffers that may wait for the writer (default 64); beyond that, lines
    /// are dropped and counted rather than making a loop wait.
    pub fn queue(mut self, buffers: usize) -> Self {
        self.queue = buffers.max(1);
        self
    }
}

/// A server's running access log: the writer thread and the way to it.
#[derive(Debug)]
pub(crate) struct LogShared {
    pub(crate) format: LogFormat,
    pub(crate) buffer_size: usize,
    /// Lines are formatted only while the `log` crate would keep them.
    is_log_crate: bool,
    /// `None` only while dropping (the writer ends once it is gone).
    sender: Option<SyncSender<Message>>,
    writer: Option<JoinHandle<()>>,
    dropped: Arc<AtomicU64>,
    warned: AtomicBool,
    /// Replaced by another log on a running server: dropping it need not wait for the writer.
    retired: AtomicBool,
}

impl LogShared {
    /// Opens the destination and starts the writer thread.
    pub(crate) fn start(config: AccessLog) -> io::Result<LogShared> {
        let is_log_crate = matches!(config.destination, Destination::LogCrate);
        let sink = match &config.destination {
            Destination::File(path) => {
                Sink::file(path).map_err(|e| io::Error::new(e.kind(), format!("access log {}: {e}", path.display())))?
            }
            Destination::Stderr => Sink::Stderr,
            Destination::LogCrate => Sink::LogCrate,
        };
        let (sender, messages) = mpsc::sync_channel(config.queue);
        let dropped = Arc::new(AtomicU64::new(0));
        let counter = dropped.clone();
        let writer =
            thread::Builder::new().name("porter-log".into()).spawn(move || writer::run(messages, sink, counter))?;
        Ok(LogShared {
            format: config.format,
            buffer_size: config.buffer_size,
            is_log_crate,
            sender: Some(sender),
            writer: Some(writer),
            dropped,
            warned: AtomicBool::new(false),
            retired: AtomicBool::new(false),
        })
    }

    /// True when lines would be kept (a `log` crate destination may be filtered out).
    pub(crate) fn is_enabled(&self) -> bool {
        !self.is_log_crate || log::log_enabled!(target: "porter::access", log::Level::Info)
    }

    /// Hands `buf` (holding `lines` lines) to the writer without waiting; when
    /// the queue is full the lines are dropped and counted.
    pub(crate) fn hand_off(&self, buf: Vec<u8>, lines: u64) {
        let Some(sender) = &self.sender else { return };
        match sender.try_send(Message::Lines(buf)) {
            Ok(()) => {}
            Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => {
                self.dropped.fetch_add(lines, Ordering::Relaxed);
                if !self.warned.swap(true, Ordering::Relaxed) {
                    log::warn!("access log: the writer falls behind; dropping lines (counted in metrics)");
                }
            }
        }
    }

    /// Makes the writer reopen its file after every line handed over so far
    /// has been written to the old one; waits for the outcome.
    pub(crate) fn reopen(&self) -> io::Result<()> {
        let Some(sender) = &self.sender else { return Ok(()) };
        let (reply, outcome) = mpsc::sync_channel(1);
        // Blocks only while the queue is full: this runs on the caller's thread, not a loop.
        sender.send(Message::Reopen(reply)).map_err(|_| io::Error::other("the access-log writer has stopped"))?;
        outcome.recv().map_err(|_| io::Error::other("the access-log writer has stopped"))?
    }

    /// Marks this log as replaced: whoever drops it last (a worker loop,
    /// which must not wait) closes its queue and leaves the writer to write
    /// what is queued and end by itself.
    pub(crate) fn retire(&self) {
        self.retired.store(true, Ordering::Relaxed);
    }

    /// Lines dropped so far (queue full or write errors).
    pub(crate) fn dropped(&self) -> &Arc<AtomicU64> {
        &self.dropped
    }
}

impl Drop for LogShared {
    /// Closes the queue and waits until the writer has written everything
    /// (unless [retired](LogShared::retire): then the writer finishes alone).
    fn drop(&mut self) {
        self.sender = None;
        if let Some(writer) = self.writer.take().filter(|_| !self.retired.load(Ordering::Relaxed)) {
            let _ = writer.join();
        }
    }
}
