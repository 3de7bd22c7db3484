//! `TlsStream`: a rustls server session over a non-blocking `TcpStream`,
//! driven by porter's own loop (no thread, no blocking call).
//!
//! - **Reading** pulls ciphertext with `read_tls`, decrypts with
//!   `process_new_packets` (which also advances the handshake) and hands out
//!   plaintext, filling the caller's buffer until it is full or the socket says
//!   `WouldBlock` (or a short read shows it drained). So a short return means
//!   "nothing is left, neither in the socket nor inside rustls": the
//!   connection's skip-the-EAGAIN-read optimisation stays correct under
//!   edge-triggered epoll. What rustls still holds after a return (plaintext
//!   after a `close_notify`, an EOF not yet reported) shows in
//!   [`TlsStream::has_buffered_input`].
//! - **Writing** hands plaintext to rustls (which encrypts into records, at
//!   most its 64 KiB buffer limit) and keeps the records there:
//!   [`TlsStream::wants_write`] says so and [`TlsStream::flush_pending`] sends
//!   them all in one `sendmsg`, which the connection does as soon as its own
//!   buffer is empty, and again when the socket is writable after a full one.
//!   Only when rustls holds its limit does `write` flush first (returning
//!   `WouldBlock` while it cannot), so rustls never buffers more than that.
//! - **Handshake** messages and TLS 1.3 tickets are produced on the read path
//!   and sent by the flush that follows every read: a handshake flight is one
//!   write, and a ticket shares its write with the first reply when the
//!   request came in the same read as the client's Finished.
//! - **Errors**: a protocol error sends rustls' alert (best effort) and fails
//!   the read, so the connection closes. A client speaking plain HTTP to the
//!   TLS port gets a short plaintext `400` instead of binary it cannot read.
//! - **Close**: `close_notify` (RFC 8446 §6.1) is queued when the connection
//!   says its output has ended (`end_of_output`), so it leaves in the same
//!   write as the last reply; [`TlsStream::shutdown_write`] sends it if it has
//!   not left yet, then the TCP FIN. Dropping an established session also
//!   sends one, best effort, so idle keep-alive connections close cleanly;
//!   but not when a reply was cut short (`end_abruptly`): the client must see
//!   an incomplete close then (RFC 9112 §9.8).
//!
//! Socket writes go through `send`/`sendmsg` with MSG_NOSIGNAL, never
//! `writev`, so a vanished client cannot raise SIGPIPE in a host program that
//! did not ignore it; all pending records leave in one `sendmsg`.

use std::io::{self, ErrorKind, IoSlice, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::os::fd::{AsFd, BorrowedFd};
use std::sync::Arc;

use rustls::{ServerConfig, ServerConnection};

use crate::conn::transport::Transport;

/// What nginx answers as well: a client that sent plain HTTP learns why it failed.
const PLAIN_HTTP_ANSWER: &[u8] = b"HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\
Content-Type: text/plain\r\nContent-Length: 38\r\n\r\nThis port speaks HTTPS, not plain HTTP\n";

/// A server-side TLS session on a non-blocking socket.
pub(crate) struct TlsStream {
    tls: ServerConnection,
    tcp: TcpStream,
    /// The last socket read returned fewer bytes than asked: the socket was
    /// drained then, and more bytes will raise a new edge.
    drained: bool,
    /// Any ciphertext byte has arrived (the plain-HTTP check looks at the first).
    seen_bytes: bool,
    /// The peer closed (close_notify or TCP EOF); reported as `Ok(0)` once the
    /// plaintext before it is read.
    peer_closed: bool,
    /// A read returned plaintext after the peer closed: the next read is the EOF.
    eof_pending: bool,
    /// Dropped with a reply cut short: no close_notify (see `end_abruptly`).
    abrupt: bool,
}

impl TlsStream {
    /// Starts a server session on an accepted socket.
    pub(crate) fn new(tcp: TcpStream, config: &Arc<ServerConfig>) -> io::Result<Self> {
        let tls = ServerConnection::new(config.clone()).map_err(io::Error::other)?;
        Ok(TlsStream {
            tls,
            tcp,
            drained: false,
            seen_bytes: false,
            peer_closed: false,
            eof_pending: false,
            abrupt: false,
        })
    }

    /// The socket under the session (a PROXY header is read from it before
    /// the handshake begins).
    pub(crate) fn tcp(&self) -> &TcpStream {
        &self.tcp
    }

    /// Moves decrypted bytes into `buf`; `None` when rustls has none.
    fn take_plaintext(&mut self, buf: &mut [u8]) -> io::Result<Option<usize>> {
        match self.tls.reader().read(buf) {
            Ok(0) => {
                self.peer_closed = true; // close_notify received
                Ok(None)
            }
            Ok(n) => Ok(Some(n)),
            Err(e) if e.kind() == ErrorKind::WouldBlock => Ok(None),
            // TCP EOF without close_notify: most HTTP clients end that way, and
            // HTTP framing tells a complete message from a cut one, so it is an EOF.
            Err(e) if e.kind() == ErrorKind::UnexpectedEof => {
                self.peer_closed = true;
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    /// Reads ciphertext once and processes it (handshake or records).
    /// `Ok(())` means something was read; EOF sets `peer_closed`.
    fn pull_ciphertext(&mut self) -> io::Result<()> {
        let mut tracked = Tracked { tcp: &self.tcp, drained: false, first: None };
        let read = self.tls.read_tls(&mut tracked);
        self.drained = tracked.drained;
        if let (false, Some(first)) = (self.seen_bytes, tracked.first) {
            self.seen_bytes = true;
            if first.is_ascii_uppercase() {
                // A TLS record starts with 0x14..0x17: this is plain HTTP.
                let _ = (&self.tcp).write(PLAIN_HTTP_ANSWER);
                return Err(io::Error::new(ErrorKind::InvalidData, "plain HTTP on a TLS port"));
            }
        }
        if read? == 0 {
            self.peer_closed = true;
        }
        if let Err(e) = self.tls.process_new_packets() {
            // rustls queued an alert describing the failure: try to send it.
            let _ = self.flush_pending();
            return Err(io::Error::new(ErrorKind::InvalidData, e));
        }
        // Handshake replies and tickets wait for the connection's flush, which
        // follows every read (with the first reply, if its request came too).
        Ok(())
    }
}

impl Transport for TlsStream {
    /// True while the handshake is still going on.
    fn is_handshaking(&self) -> bool {
        self.tls.is_handshaking()
    }

    /// True when rustls holds ciphertext the socket has not taken yet.
    fn wants_write(&self) -> bool {
        self.tls.wants_write()
    }

    /// True when a read would return something without touching the socket:
    /// buffered plaintext, or a close not yet reported.
    fn has_buffered_input(&self) -> bool {
        self.eof_pending
    }

    /// Writes pending ciphertext: the bytes written, or `WouldBlock` if none could be.
    fn flush_pending(&mut self) -> io::Result<usize> {
        let mut total = 0;
        while self.tls.wants_write() {
            match self.tls.write_tls(&mut NoSignal(&self.tcp)) {
                Ok(0) => return Err(ErrorKind::WriteZero.into()),
                Ok(n) => total += n,
                Err(e) if e.kind() == ErrorKind::WouldBlock && total > 0 => break,
                Err(e) => return Err(e),
            }
        }
        Ok(total)
    }

    /// Queues `close_notify` (RFC 8446 §6.1) behind the last reply's records
    /// (rustls sends it once, however often this is called).
    fn end_of_output(&mut self) {
        self.tls.send_close_notify();
    }

    /// No `close_notify` on drop: a reply was cut short, and an incomplete
    /// close is how the client learns it (RFC 9112 §9.8).
    fn end_abruptly(&mut self) {
        self.abrupt = true;
    }

    /// Sends `close_notify` (RFC 8446 §6.1) if it has not left yet, then the TCP FIN.
    fn shutdown_write(&mut self) -> io::Result<()> {
        self.tls.send_close_notify();
        match self.flush_pending() {
            Ok(_) => {}
            Err(e) if e.kind() == ErrorKind::WouldBlock => {} // the alert is best effort
            Err(e) => return Err(e),
        }
        self.tcp.shutdown(Shutdown::Write)
    }
    // `send_file`: the trait's default, 16 KiB pieces through memory (sendfile
    // cannot encrypt).
}

impl Read for TlsStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let mut filled = 0;
        loop {
            // (An empty slice would read as Ok(0), which means close_notify.)
            if filled < buf.len() {
                if let Some(n) = self.take_plaintext(&mut buf[filled..])? {
                    filled += n;
                    continue;
                }
            }
            if filled == buf.len() || (filled > 0 && self.drained) || self.peer_closed {
                // Plaintext first; after a close the next read returns the EOF.
                self.eof_pending = self.peer_closed && filled > 0;
                return Ok(filled);
            }
            match self.pull_ciphertext() {
                Ok(()) => {}
                Err(e) if e.kind() == ErrorKind::WouldBlock && filled > 0 => return Ok(filled),
                Err(e) => return Err(e),
            }
        }
    }
}

impl Write for TlsStream {
    /// Encrypts `buf` (as much as rustls takes) and keeps the records: the
    /// connection flushes once its own buffer is empty, so everything a turn
    /// produced (a ticket, several replies) leaves in one `sendmsg`. Only when
    /// rustls holds its limit of ciphertext is some of it sent first.
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.encrypt(std::slice::from_ref(&IoSlice::new(buf)))
    }

    /// The pieces encrypted together (a reply head and the shared body behind
    /// it): they share records instead of taking one each.
    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        self.encrypt(bufs)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.flush_pending().map(|_| ())
    }
}

impl TlsStream {
    /// Hands `bufs` to rustls (see [`TlsStream::write`]).
    fn encrypt(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        let n = self.tls.writer().write_vectored(bufs)?;
        if n > 0 || bufs.iter().all(|b| b.is_empty()) {
            return Ok(n);
        }
        if self.tls.wants_write() {
            // Full: send what is pending (or say WouldBlock), then encrypt more.
            self.flush_pending()?;
            let n = self.tls.writer().write_vectored(bufs)?;
            if n > 0 {
                return Ok(n);
            }
        }
        // Still handshaking with the plaintext buffer full: wait for the peer.
        Err(ErrorKind::WouldBlock.into())
    }
}

impl AsFd for TlsStream {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.tcp.as_fd()
    }
}

impl Drop for TlsStream {
    fn drop(&mut self) {
        // A clean end for an established session closed by us (idle timeout,
        // shutdown), unless a reply was cut short. Records already queued go
        // out either way (reply bytes, or a handshake flight or alert). One
        // non-blocking attempt, never waited for.
        if !self.tls.is_handshaking() && !self.peer_closed && !self.abrupt {
            self.tls.send_close_notify();
        }
        let _ = self.flush_pending();
    }
}

/// The socket as rustls reads it: notes a short read (the socket drained) and
/// the very first byte (to recognise plain HTTP).
struct Tracked<'a> {
    tcp: &'a TcpStream,
    drained: bool,
    first: Option<u8>,
}

impl Read for Tracked<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.tcp.read(buf)?;
        self.drained = n < buf.len();
        if n > 0 && self.first.is_none() {
            self.first = Some(buf[0]);
        }
        Ok(n)
    }
}

/// The socket as rustls writes it: with MSG_NOSIGNAL always, since `writev`
/// would raise SIGPIPE on a vanished peer. rustls hands over every pending
/// record at once (`write_vectored`), and they leave in one `sendmsg`: a
/// handshake flight (ServerHello, ChangeCipherSpec, the encrypted rest) or
/// several pipelined replies reach the client as one write, not one per record.
struct NoSignal<'a>(&'a TcpStream);

impl Write for NoSignal<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.write(buf)
    }

    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        crate::sys::socket::send_vectored(self.0, bufs)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
