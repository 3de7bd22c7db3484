//! Sockets: bind a non-blocking listener (alone, or one of a SO_REUSEPORT group
//! of one per worker, see [`Sharing`]; an IPv6 one with `IPV6_V6ONLY`),
//! adopt one bound elsewhere (inherited, or made by the caller) and duplicate it
//! for each worker, accept connections with `accept4(SOCK_NONBLOCK | SOCK_CLOEXEC)`,
//! send a reply head with MSG_MORE when a file body follows it, and send
//! several buffers (TLS records) in one call.

use std::io::{self, IoSlice};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::fd::{AsFd, OwnedFd};

use rustix::fs::OFlags;
use rustix::io::FdFlags;
use rustix::net::{self, AddressFamily, SocketFlags, SocketType};

/// How a listening socket shares its address with porter's other workers.
///
/// A taken port must be an error, even against another porter, while one
/// porter's workers share it. Linux lets a socket bind an address that
/// SO_REUSEPORT sockets hold only if it sets SO_REUSEPORT itself (and has the
/// same user): so a second porter binding its workers with SO_REUSEPORT would
/// silently join the first one's group and take half its clients. Hence the
/// first socket of a group binds **without** SO_REUSEPORT, which the kernel
/// refuses (`EADDRINUSE`) if anything at all holds the address, and sets
/// SO_REUSEPORT only after its bind, before `listen`, so that it forms the
/// group the other workers' sockets join. Every porter's first bind being
/// exclusive, a second porter's first bind fails while the first porter holds
/// any socket there, and of two starting at once one wins: no race window (a
/// probe socket bound and closed before the real binds would leave one).
/// (nginx's `reuseport` binds every socket with SO_REUSEPORT, so a second
/// nginx does join; porter does not follow it there.)
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Sharing {
    /// The only socket on the address (one worker): no SO_REUSEPORT.
    Alone,
    /// The first of a group: an exclusive bind, then SO_REUSEPORT for the others.
    First,
    /// Joins the group a `First` socket of this server formed.
    Joining,
}

/// Opens a non-blocking, close-on-exec listening socket on `addr`, alone or as
/// one of a SO_REUSEPORT group (one per worker loop; the kernel spreads new
/// connections among them). See [`Sharing`].
pub(crate) fn bind_listener(addr: SocketAddr, sharing: Sharing, backlog: i32) -> io::Result<TcpListener> {
    let family = if addr.is_ipv4() { AddressFamily::INET } else { AddressFamily::INET6 };
    let flags = SocketFlags::NONBLOCK | SocketFlags::CLOEXEC;
    let fd: OwnedFd = net::socket_with(family, SocketType::STREAM, flags, None)?;
    net::sockopt::set_socket_reuseaddr(&fd, true)?;
    if addr.is_ipv6() {
        // IPv6 only, as nginx does: `[::]:P` then leaves `0.0.0.0:P` to its
        // own listener (dual-stack, the two would collide: the exclusive first
        // bind of each group takes the port for both families).
        net::sockopt::set_ipv6_v6only(&fd, true)?;
    }
    if sharing == Sharing::Joining {
        net::sockopt::set_socket_reuseport(&fd, true)?;
    }
    net::bind(&fd, &addr)?;
    if sharing == Sharing::First {
        // After the exclusive bind, before listen (which forms the group).
        net::sockopt::set_socket_reuseport(&fd, true)?;
    }
    net::listen(&fd, backlog)?;
    Ok(TcpListener::from(fd))
}

/// Takes a socket bound and listening elsewhere (systemd, the caller): checks
/// that it is a listening TCP socket and makes it non-blocking and close-on-exec.
pub(crate) fn adopt_listener(fd: OwnedFd) -> io::Result<TcpListener> {
    let invalid = |what: &str| io::Error::new(io::ErrorKind::InvalidInput, format!("inherited socket: {what}"));
    let family = net::sockopt::socket_domain(&fd)?;
    if family != AddressFamily::INET && family != AddressFamily::INET6 {
        return Err(invalid("not an IPv4 or IPv6 socket"));
    }
    if net::sockopt::socket_type(&fd)? != SocketType::STREAM {
        return Err(invalid("not a stream (TCP) socket"));
    }
    if !net::sockopt::socket_acceptconn(&fd)? {
        return Err(invalid("not listening (bind and listen before handing it over)"));
    }
    set_nonblocking_cloexec(&fd)?;
    Ok(TcpListener::from(fd))
}

/// Sets `O_NONBLOCK` (on the open file description, keeping its other flags)
/// and `FD_CLOEXEC` (on this descriptor).
pub(crate) fn set_nonblocking_cloexec(fd: &OwnedFd) -> io::Result<()> {
    let flags = rustix::fs::fcntl_getfl(fd)?;
    rustix::fs::fcntl_setfl(fd, flags | OFlags::NONBLOCK)?;
    rustix::io::fcntl_setfd(fd, FdFlags::CLOEXEC)?;
    Ok(())
}

/// A second descriptor (close-on-exec) for the same listening socket, for
/// another worker to accept on.
pub(crate) fn duplicate_listener(listener: &TcpListener) -> io::Result<TcpListener> {
    Ok(TcpListener::from(rustix::io::fcntl_dupfd_cloexec(listener, 0)?))
}

/// Accepts one pending connection: non-blocking, close-on-exec, TCP_NODELAY set.
/// `WouldBlock` means the backlog is empty.
pub(crate) fn accept(listener: &TcpListener) -> io::Result<(TcpStream, Option<SocketAddr>)> {
    let flags = SocketFlags::NONBLOCK | SocketFlags::CLOEXEC;
    let (fd, peer) = net::acceptfrom_with(listener.as_fd(), flags)?;
    // Replies are written whole, once per wake-up: Nagle would only add latency.
    net::sockopt::set_tcp_nodelay(&fd, true)?;
    let peer = peer.and_then(|a| SocketAddr::try_from(a).ok());
    Ok((TcpStream::from(fd), peer))
}

/// Writes `buf` with MSG_MORE: the kernel holds a partial segment back for the
/// bytes that follow (a file body through sendfile), so a reply's head and the
/// start of its body share packets even with TCP_NODELAY on. MSG_NOSIGNAL: a
/// closed peer is an `EPIPE` error, never a SIGPIPE.
pub(crate) fn send_more(socket: impl AsFd, buf: &[u8]) -> io::Result<usize> {
    Ok(net::send(socket, buf, net::SendFlags::MORE | net::SendFlags::NOSIGNAL)?)
}

/// Writes `bufs` in one `sendmsg`: one system call and, where they fit, one
/// packet for several pieces (a TLS handshake flight is several records).
/// MSG_NOSIGNAL, as `send_more`: `writev` would raise SIGPIPE on a closed peer.
pub(crate) fn send_vectored(socket: impl AsFd, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
    Ok(net::sendmsg(socket, bufs, &mut net::SendAncillaryBuffer::default(), net::SendFlags::NOSIGNAL)?)
}

/// True for accept errors that mean "out of file descriptors or memory": the
/// caller should back off instead of retrying at once (it would spin).
pub(crate) fn is_resource_exhaustion(err: &io::Error) -> bool {
    matches!(
        err.raw_os_error(),
        Some(libc_codes::EMFILE | libc_codes::ENFILE | libc_codes::ENOBUFS | libc_codes::ENOMEM)
    )
}

/// True for accept errors that concern only the connection being accepted
/// (it was reset before we took it): skip it and accept the next one.
pub(crate) fn is_transient_accept_error(err: &io::Error) -> bool {
    matches!(
        err.raw_os_error(),
        Some(libc_codes::ECONNABORTED | libc_codes::EPROTO | libc_codes::EPERM | libc_codes::EINTR)
    )
}

/// The few errno values the accept path distinguishes.
mod libc_codes {
    use rustix::io::Errno;
    pub(super) const EMFILE: i32 = Errno::MFILE.raw_os_error();
    pub(super) const ENFILE: i32 = Errno::NFILE.raw_os_error();
    pub(super) const ENOBUFS: i32 = Errno::NOBUFS.raw_os_error();
    pub(super) const ENOMEM: i32 = Errno::NOMEM.raw_os_error();
    pub(super) const ECONNABORTED: i32 = Errno::CONNABORTED.raw_os_error();
    pub(super) const EPROTO: i32 = Errno::PROTO.raw_os_error();
    pub(super) const EPERM: i32 = Errno::PERM.raw_os_error();
    pub(super) const EINTR: i32 = Errno::INTR.raw_os_error();
}
