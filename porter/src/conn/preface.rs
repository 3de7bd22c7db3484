//! The PROXY protocol preface of a connection accepted on a PROXY listener.
//!
//! Before anything else (the first request head, or the TLS handshake on an
//! HTTPS listener) the balancer's header ([`crate::proto::proxy`]) is read
//! straight from the socket: peeked (`MSG_PEEK`) until it is complete, then
//! exactly its bytes are consumed. Whatever follows stays in the socket for
//! the usual read path, plain or TLS, which never sees the header.
//!
//! - It runs under the header timeout, which starts at accept; a timeout
//!   closes the connection without a word, as for any silent connection.
//! - The source address it names replaces the socket's peer address for
//!   everything after: [`crate::Request::peer_addr`] and the access log; the
//!   destination becomes [`crate::Request::local_addr`]. A `LOCAL` command
//!   (the balancer's health check), v1 `UNKNOWN`, or a family porter does not
//!   map keeps the socket's own addresses.
//! - A bad header, a missing one (plain HTTP on a PROXY listener), or the
//!   peer's EOF before the header is complete closes the connection without
//!   an HTTP reply: the receiver "must not try to guess" (spec §2).
//!
//! Edge-triggered epoll wakes the loop on every new segment even when earlier
//! bytes were only peeked, so an incomplete header waits for the next event.

use std::io::{self, ErrorKind, Read};
use std::net::TcpStream;

use super::Conn;
use crate::conn::transport::Transport;
use crate::proto::proxy::{self, ProxyHeader};

/// Where reading the preface stands after a turn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Preface {
    /// Read (or none expected): requests may be read now.
    Done,
    /// Incomplete: wait for more bytes (or the header timeout).
    Wait,
    /// Refused, missing or cut short: close without a reply.
    Failed,
}

impl<T: Transport> Conn<T> {
    /// Reads the PROXY header if one is still expected.
    pub(super) fn try_read_preface(&mut self, scratch: &mut [u8]) -> Preface {
        let Some(max_v2) = self.proxy_header else { return Preface::Done };
        if !self.readable {
            return Preface::Wait;
        }
        let Some(socket) = self.io.raw_socket() else { return Preface::Failed };
        let window = max_v2.max(proxy::V1_MAX).min(scratch.len());
        let peeked = match peek(socket, &mut scratch[..window]) {
            Ok(0) => Err("the peer closed before sending its PROXY header".to_string()),
            Ok(n) => Ok(n),
            Err(e) if e.kind() == ErrorKind::WouldBlock => {
                self.readable = false;
                return Preface::Wait;
            }
            Err(e) => Err(format!("reading the PROXY header failed: {e}")),
        };
        let verdict = peeked.and_then(|n| match proxy::decode(&scratch[..n], max_v2) {
            Ok(Some(header)) => consume(socket, &mut scratch[..header.len]).map(|()| Some(header)),
            // Nothing more will come (or no room for more): it stays incomplete.
            Ok(None) if self.hangup || n == window => Err("incomplete PROXY header".to_string()),
            Ok(None) => Ok(None),
            Err(e) => Err(e.to_string()),
        });
        match verdict {
            Ok(Some(header)) => self.on_preface(header),
            Ok(None) => {
                self.readable = false; // everything there was peeked: wait for more
                Preface::Wait
            }
            Err(why) => {
                log::debug!("{:?}: closing: {why}", self.peer);
                Preface::Failed
            }
        }
    }

    fn on_preface(&mut self, header: ProxyHeader) -> Preface {
        self.proxy_header = None;
        if let Some(addrs) = header.addrs {
            self.peer = Some(addrs.source);
            self.local = Some(addrs.destination);
        }
        Preface::Done
    }
}

/// Looks at the socket's waiting bytes without taking them.
fn peek(socket: &TcpStream, buf: &mut [u8]) -> io::Result<usize> {
    loop {
        match socket.peek(buf) {
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            other => return other,
        }
    }
}

/// Takes exactly the header's bytes, already peeked, off the socket.
fn consume(mut socket: &TcpStream, header: &mut [u8]) -> Result<(), String> {
    socket.read_exact(header).map_err(|e| format!("consuming the PROXY header failed: {e}"))
}
