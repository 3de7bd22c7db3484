//! The access log's writer thread: the only place that does the log's I/O.
//!
//! Workers hand it whole buffers of lines through a bounded channel and never
//! wait for it ([`super::access_log`] drops and counts what does not fit). It
//! writes each buffer with one `write_all`, in the order received, so the lines
//! of one worker stay in order. A reopen request (log rotation) is a message
//! too: every buffer received before it goes to the old file, every one after
//! it to the new one, and none is lost. The thread ends when the last sender is
//! dropped, after writing everything it was given.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender};
use std::sync::Arc;

/// What the workers and handles tell the writer.
pub(crate) enum Message {
    /// Complete lines, each ending in `\n`.
    Lines(Vec<u8>),
    /// Reopen the file (after a rename by logrotate); the result goes back.
    Reopen(SyncSender<io::Result<()>>),
}

/// Where the writer puts lines.
pub(crate) enum Sink {
    /// A file opened for appending (created if missing).
    File { path: PathBuf, file: File },
    /// The process's standard error.
    Stderr,
    /// The `log` crate, one record per line at `info` on target `porter::access`.
    LogCrate,
}

impl Sink {
    /// Opens `path` for appending, creating it if missing.
    pub(crate) fn file(path: &Path) -> io::Result<Sink> {
        let file = open_append(path)?;
        Ok(Sink::File { path: path.to_path_buf(), file })
    }

    fn write(&mut self, lines: &[u8]) -> io::Result<()> {
        match self {
            Sink::File { file, .. } => file.write_all(lines),
            Sink::Stderr => io::stderr().lock().write_all(lines),
            Sink::LogCrate => {
                for line in lines.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
                    // Escaped lines are ASCII; lossy conversion never alters them.
                    // The logger is the application's: a panic in it loses this
                    // line, not the writer thread (see `crate::guard`).
                    let _ = crate::guard::call(
                        "the access log's logger (AccessLog::log_crate)",
                        None,
                        || log::info!(target: "porter::access", "{}", String::from_utf8_lossy(line)),
                    );
                }
                Ok(())
            }
        }
    }

    /// Opens the path anew; on failure the old file stays in use.
    fn reopen(&mut self) -> io::Result<()> {
        if let Sink::File { path, file } = self {
            *file = open_append(path).map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))?;
        }
        Ok(())
    }
}

fn open_append(path: &Path) -> io::Result<File> {
    OpenOptions::new().create(true).append(true).open(path)
}

/// Runs the writer until every sender is gone. Lines that cannot be written
/// are counted in `dropped`, with one warning per run of failures.
pub(crate) fn run(messages: Receiver<Message>, mut sink: Sink, dropped: Arc<AtomicU64>) {
    let mut failing = false;
    for message in messages {
        match message {
            Message::Lines(lines) => match sink.write(&lines) {
                Ok(()) => failing = false,
                Err(e) => {
                    let n = lines.iter().filter(|&&b| b == b'\n').count() as u64;
                    dropped.fetch_add(n, Ordering::Relaxed);
                    if !std::mem::replace(&mut failing, true) {
                        log::warn!("access log: write failed ({e}); dropping lines until it works again");
                    }
                }
            },
            Message::Reopen(reply) => {
                let result = sink.reopen();
                if let Err(e) = &result {
                    log::warn!("access log: reopen failed ({e}); still writing to the old file");
                }
                let _ = reply.send(result);
            }
        }
    }
}
