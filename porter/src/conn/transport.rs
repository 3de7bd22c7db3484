//! `Transport`: the byte stream under a connection, and `Stream`, the one the
//! event loop uses: plain TCP or TLS.
//!
//! The connection state machine is generic over it, so tests drive the very same
//! code with scripted input chunks and `WouldBlock`s. The TLS hooks
//! (`wants_write`, `flush_pending`, `has_buffered_input`, `is_handshaking`)
//! default to "nothing held", and the closing ones (`end_of_output`,
//! `end_abruptly`) to "nothing to say", which is what plain TCP and scripts
//! are. `raw_socket` reaches under TLS for what precedes it on the wire (a PROXY
//! protocol header); scripts have no socket.

use std::fs::File;
use std::io::{self, IoSlice, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::fs::FileExt;

use crate::tls::stream::TlsStream;

/// A non-blocking byte stream: `read`/`write` return `WouldBlock` when they would wait.
pub(crate) trait Transport: Read + Write {
    /// Half-closes the sending side (FIN) while reading stays possible.
    fn shutdown_write(&mut self) -> io::Result<()>;

    /// Sends up to `len` bytes of `file` from `*offset`, advancing it. The default
    /// copies through memory; plain TCP overrides it with sendfile(2).
    fn send_file(&mut self, file: &File, offset: &mut u64, len: usize) -> io::Result<usize> {
        let mut buf = [0u8; 16 * 1024];
        let want = len.min(buf.len());
        let got = file.read_at(&mut buf[..want], *offset)?;
        if got == 0 {
            return Ok(0);
        }
        let sent = self.write(&buf[..got])?;
        *offset += sent as u64;
        Ok(sent)
    }

    /// Writes bytes that more output will follow at once (a reply head before
    /// its file body): transports that can, hold back a partial packet for it.
    fn write_more(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.write(buf)
    }

    /// Writes `pieces` in order, in one system call where the transport can
    /// (`writev`-style): a reply head and the shared body behind it leave
    /// together without being copied into one buffer. The default is the
    /// stream's `write_vectored` (TLS encrypts the pieces into shared records).
    fn write_pieces(&mut self, pieces: &[IoSlice<'_>]) -> io::Result<usize> {
        self.write_vectored(pieces)
    }

    /// True when the transport holds output of its own not yet on the wire
    /// (TLS ciphertext the socket did not take): the connection is not done
    /// writing even with its own buffer empty.
    fn wants_write(&self) -> bool {
        false
    }

    /// Writes that held output: the bytes written, or `WouldBlock`.
    fn flush_pending(&mut self) -> io::Result<usize> {
        Ok(0)
    }

    /// The connection has handed over its last reply and will close: a
    /// transport with a closing message of its own (TLS `close_notify`) queues
    /// it now, so it leaves in the same write as that reply. Called on every
    /// write pass once that is so: it must be idempotent.
    fn end_of_output(&mut self) {}

    /// The connection is dropped with a reply not (all) sent: a transport must
    /// not then say it closed cleanly. TLS sends no `close_notify`, so the
    /// client sees an incomplete close and cannot take a cut body for a whole
    /// one (RFC 9112 §9.8).
    fn end_abruptly(&mut self) {}

    /// True when a read would return something (data or EOF) without new bytes
    /// from the socket, so a short read must not end reading (edge-triggered).
    fn has_buffered_input(&self) -> bool {
        false
    }

    /// True while a handshake is going on (no request can have begun yet).
    fn is_handshaking(&self) -> bool {
        false
    }

    /// The TCP socket under any encryption, before anything was read from it
    /// (see [`crate::conn::preface`]); `None` when there is no socket.
    fn raw_socket(&self) -> Option<&TcpStream> {
        None
    }
}

impl Transport for TcpStream {
    fn shutdown_write(&mut self) -> io::Result<()> {
        self.shutdown(Shutdown::Write)
    }

    fn raw_socket(&self) -> Option<&TcpStream> {
        Some(self)
    }

    fn send_file(&mut self, file: &File, offset: &mut u64, len: usize) -> io::Result<usize> {
        crate::sys::sendfile::send_file(&*self, file, offset, len)
    }

    fn write_more(&mut self, buf: &[u8]) -> io::Result<usize> {
        crate::sys::socket::send_more(&*self, buf)
    }

    fn write_pieces(&mut self, pieces: &[IoSlice<'_>]) -> io::Result<usize> {
        crate::sys::socket::send_vectored(&*self, pieces)
    }
}

/// A connection's socket as the event loop holds it.
pub(crate) enum Stream {
    /// Plain TCP: replies written directly, files with sendfile(2).
    Plain(TcpStream),
    /// TLS: everything through rustls; files in bounded pieces through memory.
    Tls(Box<TlsStream>),
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(s) => s.read(buf),
            Stream::Tls(s) => s.read(buf),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(s) => s.write(buf),
            Stream::Tls(s) => s.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Stream::Plain(s) => s.flush(),
            Stream::Tls(s) => s.flush(),
        }
    }
}

impl Transport for Stream {
    fn shutdown_write(&mut self) -> io::Result<()> {
        match self {
            Stream::Plain(s) => s.shutdown_write(),
            Stream::Tls(s) => s.shutdown_write(),
        }
    }

    fn send_file(&mut self, file: &File, offset: &mut u64, len: usize) -> io::Result<usize> {
        match self {
            Stream::Plain(s) => s.send_file(file, offset, len),
            Stream::Tls(s) => s.send_file(file, offset, len),
        }
    }

    fn write_more(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(s) => s.write_more(buf),
            Stream::Tls(s) => s.write(buf),
        }
    }

    fn write_pieces(&mut self, pieces: &[IoSlice<'_>]) -> io::Result<usize> {
        match self {
            Stream::Plain(s) => s.write_pieces(pieces),
            Stream::Tls(s) => s.write_vectored(pieces),
        }
    }

    fn wants_write(&self) -> bool {
        matches!(self, Stream::Tls(s) if s.wants_write())
    }

    fn flush_pending(&mut self) -> io::Result<usize> {
        match self {
            Stream::Plain(_) => Ok(0),
            Stream::Tls(s) => s.flush_pending(),
        }
    }

    fn end_of_output(&mut self) {
        if let Stream::Tls(s) = self {
            s.end_of_output();
        }
    }

    fn end_abruptly(&mut self) {
        if let Stream::Tls(s) = self {
            s.end_abruptly();
        }
    }

    fn has_buffered_input(&self) -> bool {
        matches!(self, Stream::Tls(s) if s.has_buffered_input())
    }

    fn is_handshaking(&self) -> bool {
        matches!(self, Stream::Tls(s) if s.is_handshaking())
    }

    fn raw_socket(&self) -> Option<&TcpStream> {
        match self {
            Stream::Plain(s) => Some(s),
            Stream::Tls(s) => Some(s.tcp()),
        }
    }
}

impl AsFd for Stream {
    fn as_fd(&self) -> BorrowedFd<'_> {
        match self {
            Stream::Plain(s) => s.as_fd(),
            Stream::Tls(s) => s.as_fd(),
        }
    }
}
