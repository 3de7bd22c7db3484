//! `Transport`: the byte stream under a connection.
//!
//! The connection state machine is generic over it, so tests drive the very same
//! code with scripted input chunks and `WouldBlock`s, and TLS can slot in later.

use std::fs::File;
use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::os::unix::fs::FileExt;

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
}

impl Transport for TcpStream {
    fn shutdown_write(&mut self) -> io::Result<()> {
        self.shutdown(Shutdown::Write)
    }

    fn send_file(&mut self, file: &File, offset: &mut u64, len: usize) -> io::Result<usize> {
        crate::sys::sendfile::send_file(&*self, file, offset, len)
    }
}
