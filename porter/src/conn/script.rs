//! A scripted transport: input plays back in chosen pieces with `WouldBlock`
//! between them, writes may be cut short or refused, and everything written is
//! recorded. Unit tests and the fuzz targets drive the real connection with it.

use std::collections::VecDeque;
use std::io::{self, IoSlice, Read, Write};
use std::sync::Arc;
use std::time::Instant;

use super::transport::Transport;
use super::{After, Conn, Ctx};
use crate::event_loop::remote::{Message, Remote};
use crate::handler::Handler;
use crate::limits::Limits;
use crate::sys::poller::Token;

/// A transport that plays back input pieces and records what is written.
#[derive(Default)]
pub(crate) struct Script {
    pub(crate) input: VecDeque<Option<Vec<u8>>>,
    pub(crate) eof: bool,
    pub(crate) output: Vec<u8>,
    pub(crate) writes: usize,
    /// Most bytes one write call accepts (None: all).
    pub(crate) write_cap: Option<usize>,
    /// Writes accepted before the next write says WouldBlock (None: unlimited).
    pub(crate) write_budget: Option<usize>,
    pub(crate) shut_down: bool,
    /// The bytes written with `write_more` (output that more output follows).
    pub(crate) corked: Vec<u8>,
    /// Each call of `write_pieces` with more than one piece (a head and a
    /// shared body): the first piece's length and the bytes that call wrote.
    pub(crate) vectored: Vec<(usize, usize)>,
    /// Acts like TLS: writes are taken whole into `held` (records not yet on
    /// the wire), which `flush_pending` moves to `output` within the budget.
    pub(crate) hold_writes: bool,
    pub(crate) held: Vec<u8>,
    /// Each time the connection said its output ended (where TLS queues
    /// close_notify): how much output there was, and whether the FIN was sent.
    pub(crate) end_of_output_at: Vec<(usize, bool)>,
}

impl Script {
    pub(crate) fn new(pieces: &[&[u8]]) -> Self {
        let mut s = Script { eof: true, ..Script::default() };
        for p in pieces {
            s.input.push_back(Some(p.to_vec()));
            s.input.push_back(None); // WouldBlock between pieces
        }
        s
    }
}

impl Read for Script {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self.input.pop_front() {
            Some(Some(mut data)) => {
                let n = data.len().min(buf.len());
                buf[..n].copy_from_slice(&data[..n]);
                if n < data.len() {
                    self.input.push_front(Some(data.split_off(n)));
                }
                Ok(n)
            }
            Some(None) => Err(io::ErrorKind::WouldBlock.into()),
            None if self.eof => Ok(0),
            None => Err(io::ErrorKind::WouldBlock.into()),
        }
    }
}

impl Write for Script {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.hold_writes {
            self.held.extend_from_slice(buf);
            return Ok(buf.len());
        }
        self.write_through(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Script {
    /// A write to the wire, within the budget and the cap.
    fn write_through(&mut self, buf: &[u8]) -> io::Result<usize> {
        match &mut self.write_budget {
            Some(0) => return Err(io::ErrorKind::WouldBlock.into()),
            Some(n) => *n -= 1,
            None => {}
        }
        let n = self.write_cap.map_or(buf.len(), |c| c.min(buf.len()));
        self.output.extend_from_slice(&buf[..n]);
        self.writes += 1;
        Ok(n)
    }
}

impl Transport for Script {
    fn shutdown_write(&mut self) -> io::Result<()> {
        self.shut_down = true;
        Ok(())
    }

    fn write_more(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.write(buf)?;
        self.corked.extend_from_slice(&buf[..n]);
        Ok(n)
    }

    /// One write of the pieces joined (within `write_cap`), as `writev` does.
    fn write_pieces(&mut self, pieces: &[IoSlice<'_>]) -> io::Result<usize> {
        let total: usize = pieces.iter().map(|p| p.len()).sum();
        let cap = self.write_cap.map_or(total, |c| c.min(total));
        let joined: Vec<u8> = pieces.iter().flat_map(|p| p.iter().copied()).take(cap).collect();
        let written = self.write(&joined)?;
        if pieces.len() > 1 {
            self.vectored.push((pieces[0].len(), written));
        }
        Ok(written)
    }

    fn wants_write(&self) -> bool {
        !self.held.is_empty()
    }

    fn flush_pending(&mut self) -> io::Result<usize> {
        let held = std::mem::take(&mut self.held);
        let result = self.write_through(&held);
        let n = *result.as_ref().unwrap_or(&0);
        self.held = held[n..].to_vec();
        result
    }

    fn end_of_output(&mut self) {
        self.end_of_output_at.push((self.output.len(), self.shut_down));
    }
}

/// What a scripted run observed, for invariant checks.
#[derive(Debug, Default)]
pub(crate) struct ScriptRun {
    /// Every byte the connection wrote.
    pub(crate) output: Vec<u8>,
    /// The largest read buffer seen after any turn.
    pub(crate) max_read_buffer: usize,
    /// The most output seen waiting after any turn.
    pub(crate) max_pending_output: usize,
    /// The most replies seen queued after any turn.
    pub(crate) max_queued: usize,
    /// The connection ended (freed) before the script ran out.
    pub(crate) freed: bool,
}

/// Feeds `pieces` (then EOF) to a fresh connection answered by `handler`,
/// turn after turn, and records what it did. `write_cap` cuts every write short.
#[cfg(test)]
pub(crate) fn run_script(
    handler: &dyn Handler,
    limits: &Limits,
    pieces: &[&[u8]],
    write_cap: Option<usize>,
) -> ScriptRun {
    run_script_with(handler, limits, pieces, write_cap, &|| {})
}

/// [`run_script`] that calls `between` after every turn, where a loop would
/// let other threads run (a streaming handler's reader reads there), and then
/// hands the connection the answers its deferred requests got.
// Test and fuzz harness only: failing to create an eventfd is a broken machine, not input.
#[allow(clippy::expect_used)]
pub(crate) fn run_script_with(
    handler: &dyn Handler,
    limits: &Limits,
    pieces: &[&[u8]],
    write_cap: Option<usize>,
    between: &dyn Fn(),
) -> ScriptRun {
    let now = Instant::now();
    let remote = Arc::new(Remote::new().expect("an eventfd for the scripted loop"));
    let cx = Ctx {
        handler,
        limits,
        date_line: b"Date: Thu, 01 Jan 1970 00:00:00 GMT\r\n",
        server_line: b"Server: porter\r\n",
        observe: None,
        now,
        remote: &remote,
    };
    let mut script = Script::new(pieces);
    script.write_cap = write_cap;
    let mut scratch = vec![0u8; 4096];
    let mut conn = Conn::new(script, Token(0), None, now, limits);
    let mut run = ScriptRun::default();
    let turns = 4 * pieces.len() + 64 + pieces.iter().map(|p| p.len()).sum::<usize>();
    for _ in 0..turns {
        conn.readable = true;
        conn.writable = true;
        let after = conn.on_ready(&cx, &mut scratch);
        run.max_read_buffer = run.max_read_buffer.max(conn.rbuf.len());
        run.max_pending_output = run.max_pending_output.max(conn.out.pending());
        run.max_queued = run.max_queued.max(conn.replies.len());
        if after == After::Free {
            run.freed = true;
            break;
        }
        between();
        let mut messages = Vec::new();
        remote.take_messages(&mut messages);
        for message in messages {
            if let Message::Answer { seq, response, .. } = message {
                conn.on_answer(seq, *response);
            }
        }
    }
    run.output = std::mem::take(&mut conn.io.output);
    run
}
