//! `Server`: configuration, listening sockets and worker threads.
//!
//! `threads(N)` runs N shared-nothing loops, each with its own epoll and its own
//! SO_REUSEPORT listener on every address, so the kernel spreads connections
//! and no lock is taken on the request path. With one thread no SO_REUSEPORT is
//! set and [`Server::run`] runs the loop on the caller's thread: no other thread
//! exists. Sockets are bound in [`ServerBuilder::build`], so a busy port is an
//! error there, before anything runs.

use std::io;
use std::net::{SocketAddr, TcpListener, ToSocketAddrs};
use std::sync::Arc;
use std::thread::{self, JoinHandle};

use crate::event_loop::{EventLoop, LoopConfig, Remote};
use crate::handler::Handler;
use crate::limits::Limits;
use crate::sys::socket;

const BACKLOG: i32 = 4096;

/// Collects a server's settings; [`ServerBuilder::build`] binds the sockets.
#[derive(Debug)]
pub struct ServerBuilder {
    addrs: Vec<SocketAddr>,
    error: Option<io::Error>,
    threads: usize,
    limits: Limits,
    server_name: Option<String>,
    access_log: bool,
}

/// A bound server, ready to [`run`](Server::run) or [`spawn`](Server::spawn).
pub struct Server {
    workers: Vec<Vec<TcpListener>>,
    addrs: Vec<SocketAddr>,
    config: Arc<LoopConfig>,
}

/// A running server started by [`Server::spawn`]. Dropping it stops the server.
#[derive(Debug)]
pub struct ServerHandle {
    addrs: Vec<SocketAddr>,
    remotes: Vec<Arc<Remote>>,
    threads: Vec<JoinHandle<io::Result<()>>>,
}

impl Server {
    /// Starts configuring a server.
    pub fn builder() -> ServerBuilder {
        ServerBuilder {
            addrs: Vec::new(),
            error: None,
            threads: 0,
            limits: Limits::default(),
            server_name: Some("porter".into()),
            access_log: false,
        }
    }

    /// Shorthand for `Server::builder().listen(addr)`.
    pub fn bind(addr: impl ToSocketAddrs) -> ServerBuilder {
        Server::builder().listen(addr)
    }

    /// The addresses actually bound (a port 0 request shows its real port).
    pub fn local_addrs(&self) -> &[SocketAddr] {
        &self.addrs
    }

    /// Runs every worker until the process ends; the first worker runs on the
    /// calling thread. Returns the first worker error.
    pub fn run(self) -> io::Result<()> {
        let mut workers = self.workers.into_iter();
        let first = workers.next().unwrap_or_default();
        let others: Vec<_> = workers
            .enumerate()
            .map(|(i, listeners)| spawn_worker(i + 1, listeners, self.config.clone(), Arc::new(Remote::new()?)))
            .collect::<io::Result<_>>()?;
        let result = EventLoop::new(first, self.config, Arc::new(Remote::new()?))?.run();
        for (handle, _) in others {
            join_worker(handle)?;
        }
        result
    }

    /// Runs every worker on its own thread and returns at once.
    pub fn spawn(self) -> io::Result<ServerHandle> {
        let mut remotes = Vec::new();
        let mut threads = Vec::new();
        for (i, listeners) in self.workers.into_iter().enumerate() {
            let (thread, remote) = spawn_worker(i, listeners, self.config.clone(), Arc::new(Remote::new()?))?;
            threads.push(thread);
            remotes.push(remote);
        }
        Ok(ServerHandle { addrs: self.addrs, remotes, threads })
    }
}

fn spawn_worker(
    index: usize,
    listeners: Vec<TcpListener>,
    config: Arc<LoopConfig>,
    remote: Arc<Remote>,
) -> io::Result<(JoinHandle<io::Result<()>>, Arc<Remote>)> {
    // The loop is built on its own thread (its poller is not `Send`); a setup
    // error comes back before this function returns.
    let (ready_tx, ready_rx) = std::sync::mpsc::sync_channel(1);
    let loop_remote = remote.clone();
    let thread = thread::Builder::new().name(format!("porter-{index}")).spawn(move || {
        let mut event_loop = match EventLoop::new(listeners, config, loop_remote) {
            Ok(l) => l,
            Err(e) => {
                let kind = e.kind();
                let _ = ready_tx.send(Err(e));
                return Err(io::Error::from(kind));
            }
        };
        let _ = ready_tx.send(Ok(()));
        event_loop.run()
    })?;
    match ready_rx.recv() {
        Ok(Ok(())) => Ok((thread, remote)),
        Ok(Err(e)) => Err(e),
        Err(_) => Err(io::Error::other("porter worker exited during setup")),
    }
}

fn join_worker(handle: JoinHandle<io::Result<()>>) -> io::Result<()> {
    handle.join().map_err(|_| io::Error::other("porter worker thread panicked"))?
}

impl ServerHandle {
    /// The addresses the server listens on.
    pub fn local_addrs(&self) -> &[SocketAddr] {
        &self.addrs
    }

    /// The first listening address.
    pub fn local_addr(&self) -> SocketAddr {
        self.addrs[0]
    }

    /// Tells every worker to stop (open connections are closed) without waiting.
    pub fn shutdown(&self) {
        for remote in &self.remotes {
            remote.stop();
        }
    }

    /// Stops the server and waits for its threads.
    pub fn stop(mut self) -> io::Result<()> {
        self.shutdown();
        self.join_all()
    }

    fn join_all(&mut self) -> io::Result<()> {
        let mut result = Ok(());
        for handle in self.threads.drain(..) {
            if let Err(e) = join_worker(handle) {
                result = Err(e);
            }
        }
        result
    }
}

impl Drop for ServerHandle {
    fn drop(&mut self) {
        self.shutdown();
        let _ = self.join_all();
    }
}

impl ServerBuilder {
    /// Adds an address to listen on (`"127.0.0.1:8080"`, `"[::]:80"`, `("0.0.0.0", 0)`).
    /// A name resolving to several addresses listens on each.
    pub fn listen(mut self, addr: impl ToSocketAddrs) -> Self {
        match addr.to_socket_addrs() {
            Ok(addrs) => self.addrs.extend(addrs),
            Err(e) => self.error = self.error.or(Some(e)),
        }
        self
    }

    /// Number of worker loops (threads); 0 (the default) means one per available core.
    pub fn threads(mut self, n: usize) -> Self {
        self.threads = n;
        self
    }

    /// Request and connection limits.
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// The `Server` header value (`None`: send no `Server` header). Default `porter`.
    pub fn server_name(mut self, name: Option<&str>) -> Self {
        self.server_name = name.map(str::to_owned);
        self
    }

    /// Log one line per request at `info` level to the `porter::access` target. Off by default.
    pub fn access_log(mut self, on: bool) -> Self {
        self.access_log = on;
        self
    }

    /// Binds every address for every worker and returns the server, ready to run.
    pub fn build(self, handler: impl Handler) -> io::Result<Server> {
        if let Some(e) = self.error {
            return Err(e);
        }
        if self.addrs.is_empty() {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "no listen address"));
        }
        let threads = match self.threads {
            0 => thread::available_parallelism().map_or(1, |n| n.get()),
            n => n,
        };
        let (workers, addrs) = bind_all(&self.addrs, threads)?;
        let server_line = self.server_name.as_deref().map_or_else(Vec::new, server_line);
        let config =
            LoopConfig { handler: Arc::new(handler), limits: self.limits, server_line, access_log: self.access_log };
        Ok(Server { workers, addrs, config: Arc::new(config) })
    }

    /// Builds and runs the server on this thread (plus `threads - 1` others).
    pub fn run(self, handler: impl Handler) -> io::Result<()> {
        self.build(handler)?.run()
    }
}

/// One listener per address per worker; port 0 becomes the port the first bind got.
fn bind_all(addrs: &[SocketAddr], threads: usize) -> io::Result<(Vec<Vec<TcpListener>>, Vec<SocketAddr>)> {
    let reuse_port = threads > 1;
    let mut bound = Vec::with_capacity(addrs.len());
    let mut workers: Vec<Vec<TcpListener>> = (0..threads).map(|_| Vec::new()).collect();
    for &addr in addrs {
        let first = socket::bind_listener(addr, reuse_port, BACKLOG).map_err(|e| describe(e, addr))?;
        let actual = first.local_addr()?;
        workers[0].push(first);
        for worker in workers.iter_mut().skip(1) {
            worker.push(socket::bind_listener(actual, true, BACKLOG).map_err(|e| describe(e, actual))?);
        }
        bound.push(actual);
    }
    Ok((workers, bound))
}

fn describe(e: io::Error, addr: SocketAddr) -> io::Error {
    io::Error::new(e.kind(), format!("cannot listen on {addr}: {e}"))
}

fn server_line(name: &str) -> Vec<u8> {
    let clean: String = name.chars().filter(|c| c.is_ascii_graphic() || *c == ' ').collect();
    format!("Server: {clean}\r\n").into_bytes()
}
