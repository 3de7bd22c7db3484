//! Listeners: how a server speaks on each ([`ListenOptions`]: TLS, the PROXY
//! protocol) and where its sockets come from.
//!
//! A socket porter binds itself is bound once per worker with SO_REUSEPORT, so
//! the kernel spreads connections and each worker owns its listener; the first
//! bind is exclusive, so a port another process holds (another porter too) is
//! an error ([`crate::sys::socket::Sharing`]). A socket
//! bound elsewhere (systemd socket activation, [`ServerBuilder::listen_fd`])
//! cannot be bound again: every worker accepts on a duplicate of it, registered
//! with `EPOLLEXCLUSIVE` so that one new connection wakes one waiting worker,
//! not all of them (see [`crate::sys::poller`]).
//!
//! [`ServerBuilder::listen_fd`]: crate::ServerBuilder::listen_fd

use std::io;
use std::net::SocketAddr;
use std::os::fd::OwnedFd;

use crate::event_loop::Listener;
use crate::sys::socket::{self, Sharing};
use crate::tls::config::ServerTls;
use crate::tls::TlsConfig;

const BACKLOG: i32 = 4096;
/// Default bound on a PROXY v2 header: room for both IPv6 addresses and the
/// TLVs balancers add (AWS, GCP and Azure endpoint ids, TLS details).
const DEFAULT_MAX_PROXY_HEADER: usize = 4096;
/// The largest PROXY v2 header accepted at all (the read scratch buffer's size).
const MAX_PROXY_HEADER: usize = 64 * 1024;

/// How a listener speaks to what it accepts: plain HTTP or HTTPS, with or
/// without a PROXY protocol header first. Pass it to
/// [`ServerBuilder::listen_with`](crate::ServerBuilder::listen_with),
/// [`listen_fd_with`](crate::ServerBuilder::listen_fd_with) or
/// [`listen_systemd_with`](crate::ServerBuilder::listen_systemd_with).
///
/// **PROXY protocol** (HAProxy's versions 1 and 2, as sent by HAProxy, nginx's
/// `proxy_protocol on`, AWS NLB, GCP and Azure load balancers): every
/// connection must begin with the balancer's header (before the TLS handshake
/// on an HTTPS listener). Its source address becomes the connection's peer
/// address: [`Request::peer_addr`](crate::Request::peer_addr) and the access
/// log show the real client. A `LOCAL` header (the balancer's health check)
/// keeps the socket's address. A connection with a missing or malformed header
/// is closed without a reply. Enable it only on a port the balancer alone can
/// reach: anyone who can connect can claim any address.
///
/// ```no_run
/// use porter::{ListenOptions, Response, Server, TlsConfig};
///
/// fn main() -> std::io::Result<()> {
///     let tls = TlsConfig::from_pem_files("cert.pem", "key.pem")?;
///     Server::builder()
///         // Behind HAProxy or an NLB: plain HTTP and HTTPS, both after a PROXY header.
///         .listen_with("10.0.0.5:8080", ListenOptions::new().proxy_protocol(true))
///         .listen_with("10.0.0.5:8443", ListenOptions::new().tls(tls).proxy_protocol(true))
///         .run(|req: porter::Request| Response::text(format!("hello {:?}", req.peer_addr())))
/// }
/// ```
#[derive(Clone, Debug)]
pub struct ListenOptions {
    tls: Option<TlsConfig>,
    proxy_protocol: bool,
    max_proxy_header: usize,
}

impl Default for ListenOptions {
    fn default() -> Self {
        ListenOptions { tls: None, proxy_protocol: false, max_proxy_header: DEFAULT_MAX_PROXY_HEADER }
    }
}

impl ListenOptions {
    /// Plain HTTP, no PROXY header: what [`ServerBuilder::listen`](crate::ServerBuilder::listen) does.
    pub fn new() -> Self {
        ListenOptions::default()
    }

    /// Speak HTTPS with these certificates (see [`TlsConfig`]).
    pub fn tls(mut self, tls: TlsConfig) -> Self {
        self.tls = Some(tls);
        self
    }

    /// Expect a PROXY protocol header (v1 or v2) at the start of every
    /// connection. Off by default.
    pub fn proxy_protocol(mut self, on: bool) -> Self {
        self.proxy_protocol = on;
        self
    }

    /// The longest PROXY v2 header accepted, in bytes (default 4096, at most
    /// 65536); a longer one closes the connection. v1 headers are at most 107
    /// bytes by definition.
    pub fn max_proxy_header(mut self, bytes: usize) -> Self {
        self.max_proxy_header = bytes.min(MAX_PROXY_HEADER);
        self
    }

    /// Builds the shared per-listener state (the rustls configuration, built
    /// once for every address and worker using it).
    pub(crate) fn resolve(&self) -> io::Result<Resolved> {
        let tls = self.tls.as_ref().map(TlsConfig::server_config).transpose()?;
        Ok(Resolved { tls, proxy_header: self.proxy_header() })
    }

    /// These options for a listener that runs with `current`: when both speak
    /// TLS, the running rustls configuration is kept and its certificates are
    /// replaced at once (the session cache and ticket keys stay); otherwise,
    /// as [`ListenOptions::resolve`].
    pub(crate) fn resolve_over(&self, current: &Resolved) -> io::Result<Resolved> {
        match (&self.tls, &current.tls) {
            (Some(tls), Some(running)) => {
                running.set_certificates(tls);
                Ok(Resolved { tls: Some(running.clone()), proxy_header: self.proxy_header() })
            }
            _ => self.resolve(),
        }
    }

    fn proxy_header(&self) -> Option<usize> {
        self.proxy_protocol.then_some(self.max_proxy_header)
    }
}

/// [`ListenOptions`] made ready for the loops.
#[derive(Clone, Debug)]
pub(crate) struct Resolved {
    /// `None`: plain HTTP.
    pub(crate) tls: Option<ServerTls>,
    /// `Some(largest v2 header)` on a PROXY protocol listener.
    pub(crate) proxy_header: Option<usize>,
}

/// Where a listener's socket comes from.
#[derive(Debug)]
pub(crate) enum Source {
    /// Bound by porter, once per worker.
    Bind(SocketAddr),
    /// Bound and listening already (inherited or made by the caller).
    Adopt(OwnedFd),
}

/// One listener as the builder records it.
#[derive(Debug)]
pub(crate) struct Spec {
    pub(crate) source: Source,
    pub(crate) options: Resolved,
}

/// Each worker's listeners, and every listener's address in the order given.
pub(crate) type Bound = (Vec<Vec<Listener>>, Vec<SocketAddr>);

/// Opens every listener for every worker; port 0 becomes the port the first
/// bind got, so all workers share it.
pub(crate) fn open_all(specs: Vec<Spec>, threads: usize) -> io::Result<Bound> {
    let mut addrs = Vec::with_capacity(specs.len());
    let mut workers: Vec<Vec<Listener>> = (0..threads).map(|_| Vec::new()).collect();
    for spec in specs {
        let (sockets, shared) = match spec.source {
            Source::Bind(addr) => (bind_each(addr, threads)?, false),
            Source::Adopt(fd) => (share(fd, threads)?, threads > 1),
        };
        let addr = sockets[0].local_addr()?;
        addrs.push(addr);
        for (worker, socket) in workers.iter_mut().zip(sockets) {
            worker.push(Listener {
                socket,
                addr,
                shared,
                options: spec.options.clone(),
                closing: false,
                on_closed: None,
            });
        }
    }
    Ok((workers, addrs))
}

/// One SO_REUSEPORT socket per worker (a plain one with a single worker). The
/// first binds exclusively, so an address anyone holds, another porter
/// included, is an `AddrInUse` error ([`Sharing`]).
fn bind_each(addr: SocketAddr, threads: usize) -> io::Result<Vec<std::net::TcpListener>> {
    let sharing = if threads > 1 { Sharing::First } else { Sharing::Alone };
    let first = socket::bind_listener(addr, sharing, BACKLOG).map_err(|e| describe(e, addr))?;
    let actual = first.local_addr()?;
    let mut sockets = vec![first];
    for _ in 1..threads {
        sockets.push(socket::bind_listener(actual, Sharing::Joining, BACKLOG).map_err(|e| describe(e, actual))?);
    }
    Ok(sockets)
}

/// The adopted socket for the first worker and a duplicate for each other.
fn share(fd: OwnedFd, threads: usize) -> io::Result<Vec<std::net::TcpListener>> {
    let mut sockets = vec![socket::adopt_listener(fd)?];
    for _ in 1..threads {
        sockets.push(socket::duplicate_listener(&sockets[0])?);
    }
    Ok(sockets)
}

fn describe(e: io::Error, addr: SocketAddr) -> io::Error {
    io::Error::new(e.kind(), format!("cannot listen on {addr}: {e}"))
}
