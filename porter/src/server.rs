//! `Server`: configuration, listening sockets and worker threads.
//!
//! `threads(N)` runs N shared-nothing loops, each with its own epoll and its own
//! SO_REUSEPORT listener on every address, so the kernel spreads connections
//! and no lock is taken on the request path. With one thread no SO_REUSEPORT is
//! set and [`Server::run`] runs the loop on the caller's thread: no other thread
//! exists. Sockets are bound in [`ServerBuilder::build`], so a busy port is an
//! error there (`AddrInUse`, also against another porter: see
//! [`crate::sys::socket::Sharing`]), before anything runs.
//!
//! HTTPS listeners ([`ServerBuilder::listen_tls`]) run beside plain ones on the
//! same loops; each carries its rustls configuration, built once and shared by
//! every worker (so session tickets and the session cache span workers).
//!
//! Behind a load balancer: a listener may expect a PROXY protocol header
//! ([`ListenOptions::proxy_protocol`]), and sockets bound elsewhere (systemd
//! socket activation, [`ServerBuilder::listen_fd`]) are served beside bound
//! ones, every worker accepting on a duplicate ([`crate::listen`]).
//!
//! A graceful shutdown may begin with a lame-duck period
//! ([`ServerBuilder::shutdown_delay`]): porter still accepts and serves while
//! [`Request::is_draining`](crate::Request::is_draining) lets a health check
//! fail, then stops accepting and drains (see [`crate::event_loop`]). Each
//! worker holds at most [`Server::connection_cap`] connections, from the
//! open-file limit in force at [`ServerBuilder::build`].
//!
//! A running server changes through its [`ShutdownHandle`]: listeners opened,
//! changed (new certificates) or closed, the access log replaced, as a config
//! reload needs. Each order goes to every worker's inbox; connections accepted
//! before an order carry on as they began.

use std::io;
use std::net::{SocketAddr, ToSocketAddrs};
use std::os::fd::OwnedFd;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use crate::event_loop::remote::{Message, Remote};
use crate::event_loop::Listener;
use crate::event_loop::{connection_cap, EventLoop, LoopConfig};
use crate::handler::Handler;
use crate::limits::Limits;
use crate::listen::{self, ListenOptions, Resolved, Source, Spec};
use crate::observe::access_log::LogShared;
use crate::observe::{AccessLog, Metrics, ObserveConfig};
use crate::tls::TlsConfig;

/// Collects a server's settings; [`ServerBuilder::build`] binds the sockets.
#[derive(Debug)]
pub struct ServerBuilder {
    /// Every listener, in the order added.
    listeners: Vec<Spec>,
    error: Option<io::Error>,
    threads: usize,
    limits: Limits,
    server_name: Option<String>,
    access_log: Option<AccessLog>,
    metrics: Option<Metrics>,
    shutdown_delay: Duration,
}

/// A bound server, ready to [`run`](Server::run) or [`spawn`](Server::spawn).
pub struct Server {
    workers: Vec<Vec<Listener>>,
    addrs: Vec<SocketAddr>,
    config: Arc<LoopConfig>,
    /// Read once by each loop as it starts, then dropped: only the loops hold
    /// the access log, so replacing it lets the old one end.
    observe: ObserveConfig,
    shutdown: ShutdownHandle,
}

/// A running server started by [`Server::spawn`]. Dropping it stops the server
/// at once; [`ServerHandle::shutdown`] stops it gracefully.
#[derive(Debug)]
pub struct ServerHandle {
    addrs: Vec<SocketAddr>,
    shutdown: ShutdownHandle,
    threads: Vec<JoinHandle<io::Result<()>>>,
}

/// Stops a server from any thread (or a signal-handling thread), and changes
/// it while it runs: listeners, the access log; cheap to clone.
#[derive(Clone, Debug)]
pub struct ShutdownHandle {
    remotes: Arc<[Arc<Remote>]>,
    live: Arc<Mutex<Live>>,
    /// The lame-duck period before a graceful shutdown stops accepting, in
    /// nanoseconds (changeable: [`ShutdownHandle::set_shutdown_delay`]).
    delay: Arc<AtomicU64>,
}

/// What the handle knows of a server's changeable parts.
#[derive(Debug)]
struct Live {
    /// Every listener's address and options, as the workers have them.
    listeners: Vec<(SocketAddr, Resolved)>,
    /// The access log, while the server (or an unstarted `Server`) holds it.
    access_log: Option<Weak<LogShared>>,
    /// Counts the access log's dropped lines too.
    metrics: Option<Metrics>,
    /// Set by a shutdown or stop: nothing opens any more.
    ending: bool,
}

impl ShutdownHandle {
    /// Graceful shutdown. From now on every reply says `Connection: close`
    /// and [`Request::is_draining`](crate::Request::is_draining) is true; for
    /// the [`shutdown_delay`](ServerBuilder::shutdown_delay) (the lame-duck
    /// period) porter still accepts and serves, so that a load balancer whose
    /// health check fails stops sending clients before anything is refused.
    /// Then porter stops accepting, serves the connections the kernel already
    /// accepted, lets requests in flight finish, closes idle connections in an
    /// orderly way (RFC 9112 §9.6), and closes whatever is left `grace` after
    /// the delay (each at most [`Limits::MAX_TIMEOUT`]). Returns at once; the
    /// workers end by then.
    pub fn shutdown(&self, grace: Duration) {
        self.live().ending = true;
        let stop_at = crate::limits::deadline_after(Instant::now(), self.shutdown_delay());
        let deadline = crate::limits::deadline_after(stop_at, grace);
        for remote in self.remotes.iter() {
            remote.set_draining();
            remote.send(Message::Shutdown { stop_at, deadline });
        }
    }

    /// The lame-duck period the next [`ShutdownHandle::shutdown`] begins with.
    pub fn shutdown_delay(&self) -> Duration {
        Duration::from_nanos(self.delay.load(Ordering::Relaxed))
    }

    /// Changes the lame-duck period (see [`ServerBuilder::shutdown_delay`])
    /// of a shutdown that has not begun yet, as a config reload needs.
    pub fn set_shutdown_delay(&self, delay: Duration) {
        self.delay.store(u64::try_from(delay.as_nanos()).unwrap_or(u64::MAX), Ordering::Relaxed);
    }

    /// Stops every worker at once: open connections are closed, pending
    /// requests cancelled.
    pub fn stop(&self) {
        self.live().ending = true;
        for remote in self.remotes.iter() {
            remote.stop();
        }
    }

    /// Reopens the access-log file at its path, for log rotation: call it after
    /// the file was renamed (logrotate, `SIGUSR1` in a signal thread). Every
    /// line handed to the writer before the call goes to the old file, every
    /// later one to the new file; none is lost. Waits until the writer thread
    /// has reopened the file (the loops never wait), so call it from a thread
    /// of your own rather than from a handler. A no-op without a file log
    /// or once the server has ended; on error the old file stays in use.
    pub fn reopen_logs(&self) -> io::Result<()> {
        let log = self.live().access_log.as_ref().and_then(Weak::upgrade);
        match log {
            Some(log) => log.reopen(),
            None => Ok(()),
        }
    }

    /// Opens a listener on the running server, every worker accepting on it;
    /// or, when the server listens on `addr` already, changes how that
    /// listener speaks: the PROXY protocol, for the connections it accepts
    /// from now on; its TLS certificates, for every handshake from now on, so
    /// a connection accepted before whose client has not sent its ClientHello
    /// yet gets the new ones too (one whose handshake is done keeps its own).
    /// Returns the address (port 0 gives a free port, as in
    /// [`ServerBuilder::listen`]). Fails when the port cannot be bound, the
    /// TLS configuration cannot be built, or a shutdown began.
    ///
    /// ```no_run
    /// # fn main() -> std::io::Result<()> {
    /// let server = porter::Server::bind("127.0.0.1:8080").build(|_req| porter::Response::text("hi"))?;
    /// let control = server.shutdown_handle();
    /// let server = server.spawn()?;
    /// control.listen("127.0.0.1:8081".parse().unwrap(), porter::ListenOptions::new())?;
    /// control.stop_listening("127.0.0.1:8080".parse().unwrap())?;
    /// # server.stop() }
    /// ```
    pub fn listen(&self, addr: SocketAddr, options: ListenOptions) -> io::Result<SocketAddr> {
        let mut live = self.live();
        if live.ending {
            return Err(io::Error::other("the server is shutting down"));
        }
        if let Some((_, current)) = live.listeners.iter_mut().find(|(a, _)| *a == addr) {
            *current = options.resolve_over(current)?;
            for remote in self.remotes.iter() {
                remote.send(Message::SetListenOptions { addr, options: current.clone() });
            }
            return Ok(addr);
        }
        let spec = Spec { source: Source::Bind(addr), options: options.resolve()? };
        let resolved = spec.options.clone();
        let (workers, addrs) = listen::open_all(vec![spec], self.remotes.len())?;
        for (remote, listener) in self.remotes.iter().zip(workers.into_iter().flatten()) {
            remote.send(Message::AddListener(listener));
        }
        let bound = addrs.first().copied().ok_or_else(|| io::Error::other("no socket bound"))?;
        live.listeners.push((bound, resolved));
        Ok(bound)
    }

    /// Closes the listener on `addr`: the connections waiting to be accepted
    /// are accepted first, and every connection accepted there carries on.
    /// Returns once every worker has closed its socket, so the address can be
    /// bound again at once (or once the server is ending: a worker that has
    /// stopped closes nothing more). Fails with `NotFound` when the server
    /// does not listen on `addr`.
    pub fn stop_listening(&self, addr: SocketAddr) -> io::Result<()> {
        let (done, closed) = std::sync::mpsc::channel();
        {
            let mut live = self.live();
            let Some(at) = live.listeners.iter().position(|(a, _)| *a == addr) else {
                return Err(io::Error::new(io::ErrorKind::NotFound, format!("not listening on {addr}")));
            };
            live.listeners.remove(at);
            for remote in self.remotes.iter() {
                remote.send(Message::RemoveListener { addr, done: done.clone() });
            }
        }
        drop(done);
        let mut waiting = self.remotes.len();
        while waiting > 0 {
            // A worker's loop takes its inbox at its next turn, at once when idle;
            // one that has stopped never will, so the wait ends with the server.
            match closed.recv_timeout(Duration::from_millis(50)) {
                Ok(()) => waiting -= 1,
                Err(std::sync::mpsc::RecvTimeoutError::Timeout) if !self.live().ending => {}
                Err(_) => break,
            }
        }
        Ok(())
    }

    /// The addresses the server listens on now, in the order opened.
    pub fn local_addrs(&self) -> Vec<SocketAddr> {
        self.live().listeners.iter().map(|(addr, _)| *addr).collect()
    }

    /// Replaces the access log (`None`: stop logging). The new one is opened
    /// here, so an error (a file that cannot be opened) leaves the old one in
    /// use. Each worker switches at its next iteration: every line of a reply
    /// finished before goes to the old log, which then closes once its writer
    /// has written them.
    pub fn set_access_log(&self, log: impl Into<Option<AccessLog>>) -> io::Result<()> {
        let mut live = self.live();
        let observe = observe_config(log.into(), live.metrics.clone())?;
        if let Some(old) = live.access_log.as_ref().and_then(Weak::upgrade) {
            old.retire();
        }
        live.access_log = observe.log.as_ref().map(Arc::downgrade);
        for remote in self.remotes.iter() {
            remote.send(Message::SetAccessLog(observe.log.clone()));
        }
        Ok(())
    }

    fn live(&self) -> MutexGuard<'_, Live> {
        self.live.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Server {
    /// Starts configuring a server.
    pub fn builder() -> ServerBuilder {
        ServerBuilder {
            listeners: Vec::new(),
            error: None,
            threads: 0,
            limits: Limits::default(),
            server_name: Some("porter".into()),
            access_log: None,
            metrics: None,
            shutdown_delay: Duration::ZERO,
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

    /// The most connections each worker holds: the limits' `max_connections`,
    /// or fewer when the open-file limit (`RLIMIT_NOFILE`, see
    /// [`raise_fd_limit`](crate::raise_fd_limit)) in force at build cannot hold
    /// that many with a file open for each. Clients beyond wait in the listen
    /// backlog.
    pub fn connection_cap(&self) -> usize {
        self.config.connection_cap
    }

    /// The lame-duck period set with [`ServerBuilder::shutdown_delay`] (or
    /// changed since, [`ShutdownHandle::set_shutdown_delay`]).
    pub fn shutdown_delay(&self) -> Duration {
        self.shutdown.shutdown_delay()
    }

    /// A handle that stops this server from another thread, also while
    /// [`Server::run`] blocks.
    pub fn shutdown_handle(&self) -> ShutdownHandle {
        self.shutdown.clone()
    }

    /// Runs every worker until shut down; the first worker runs on the calling
    /// thread (with `threads(1)` no other thread exists). Returns the first
    /// worker error.
    pub fn run(self) -> io::Result<()> {
        let remotes = self.shutdown.remotes.clone();
        let mut workers = self.workers.into_iter().zip(remotes.iter().cloned());
        let Some((first, first_remote)) = workers.next() else { return Ok(()) };
        let others: Vec<_> = workers
            .enumerate()
            .map(|(i, (listeners, remote))| spawn_worker(i + 1, listeners, self.config.clone(), &self.observe, remote))
            .collect::<io::Result<_>>()?;
        let mut first = EventLoop::new(first, self.config, &self.observe, first_remote)?;
        drop(self.observe);
        let result = first.run();
        for handle in others {
            join_worker(handle)?;
        }
        result
    }

    /// Runs every worker on its own thread and returns at once.
    pub fn spawn(self) -> io::Result<ServerHandle> {
        let remotes = self.shutdown.remotes.clone();
        let mut threads = Vec::new();
        for (i, (listeners, remote)) in self.workers.into_iter().zip(remotes.iter().cloned()).enumerate() {
            threads.push(spawn_worker(i, listeners, self.config.clone(), &self.observe, remote)?);
        }
        Ok(ServerHandle { addrs: self.addrs, shutdown: self.shutdown, threads })
    }
}

fn spawn_worker(
    index: usize,
    listeners: Vec<Listener>,
    config: Arc<LoopConfig>,
    observe: &ObserveConfig,
    remote: Arc<Remote>,
) -> io::Result<JoinHandle<io::Result<()>>> {
    // The loop is built on its own thread (its poller is not `Send`); a setup
    // error comes back before this function returns.
    let (ready_tx, ready_rx) = std::sync::mpsc::sync_channel(1);
    let loop_remote = remote;
    let observe = observe.clone();
    let thread = thread::Builder::new().name(format!("porter-{index}")).spawn(move || {
        let mut event_loop = match EventLoop::new(listeners, config, &observe, loop_remote) {
            Ok(l) => l,
            Err(e) => {
                let kind = e.kind();
                let _ = ready_tx.send(Err(e));
                return Err(io::Error::from(kind));
            }
        };
        drop(observe);
        let _ = ready_tx.send(Ok(()));
        event_loop.run()
    })?;
    match ready_rx.recv() {
        Ok(Ok(())) => Ok(thread),
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

    /// Graceful shutdown (see [`ShutdownHandle::shutdown`]); then waits for the
    /// workers, which end within `grace`.
    pub fn shutdown(mut self, grace: Duration) -> io::Result<()> {
        self.shutdown.shutdown(grace);
        self.join_all()
    }

    /// Stops at once (open connections closed, pending requests cancelled) and
    /// waits for the workers.
    pub fn stop(mut self) -> io::Result<()> {
        self.shutdown.stop();
        self.join_all()
    }

    /// A handle that stops this server from another thread.
    pub fn shutdown_handle(&self) -> ShutdownHandle {
        self.shutdown.clone()
    }

    /// Reopens the access-log file (see [`ShutdownHandle::reopen_logs`]).
    pub fn reopen_logs(&self) -> io::Result<()> {
        self.shutdown.reopen_logs()
    }

    /// Connections the workers hold right now: open ones, and closed ones whose
    /// deferred requests have not all answered yet.
    pub fn connections(&self) -> usize {
        self.shutdown.remotes.iter().map(|r| r.live()).sum()
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
        self.shutdown.stop();
        let _ = self.join_all();
    }
}

impl ServerBuilder {
    /// Adds an address to listen on (`"127.0.0.1:8080"`, `"[::]:80"`, `("0.0.0.0", 0)`).
    /// A name resolving to several addresses listens on each.
    pub fn listen(self, addr: impl ToSocketAddrs) -> Self {
        self.listen_with(addr, ListenOptions::new())
    }

    /// Adds an HTTPS address: connections accepted there speak TLS (see
    /// [`TlsConfig`]). Plain and TLS listeners run side by side on the same
    /// workers; [`Server::local_addrs`] lists every address in the order added.
    pub fn listen_tls(self, addr: impl ToSocketAddrs, tls: TlsConfig) -> Self {
        self.listen_with(addr, ListenOptions::new().tls(tls))
    }

    /// Adds an address with [`ListenOptions`]: TLS, the PROXY protocol.
    pub fn listen_with(mut self, addr: impl ToSocketAddrs, options: ListenOptions) -> Self {
        let resolved = options.resolve().and_then(|options| Ok((options, addr.to_socket_addrs()?)));
        match resolved {
            Ok((options, addrs)) => {
                self.listeners.extend(addrs.map(|addr| Spec { source: Source::Bind(addr), options: options.clone() }))
            }
            Err(e) => self.error = self.error.or(Some(e)),
        }
        self
    }

    /// Serves plain HTTP on a TCP socket that is bound and listening already
    /// (made by the caller, or inherited). With several threads every worker
    /// accepts on it (through a duplicate fd). A socket that is not a listening
    /// TCP socket is an error in [`ServerBuilder::build`].
    ///
    /// ```no_run
    /// let listener = std::net::TcpListener::bind("127.0.0.1:8080")?;
    /// porter::Server::builder()
    ///     .listen_fd(listener.into())
    ///     .run(|_req| porter::Response::text("hello"))
    /// # ; Ok::<(), std::io::Error>(())
    /// ```
    pub fn listen_fd(self, fd: OwnedFd) -> Self {
        self.listen_fd_with(fd, ListenOptions::new())
    }

    /// [`ServerBuilder::listen_fd`] with [`ListenOptions`].
    pub fn listen_fd_with(mut self, fd: OwnedFd, options: ListenOptions) -> Self {
        match options.resolve() {
            Ok(options) => self.listeners.push(Spec { source: Source::Adopt(fd), options }),
            Err(e) => self.error = self.error.or(Some(e)),
        }
        self
    }

    /// Serves plain HTTP on every socket systemd passed to this process
    /// (socket activation, see [`systemd_sockets`](crate::systemd_sockets)).
    /// Not having been socket-activated is an error in [`ServerBuilder::build`].
    ///
    /// ```no_run
    /// // porter.socket: [Socket] ListenStream=80
    /// // porter.service: [Service] ExecStart=/usr/local/bin/my-service
    /// porter::Server::builder()
    ///     .listen_systemd()
    ///     .run(|_req| porter::Response::text("started on demand"))
    /// # ; Ok::<(), std::io::Error>(())
    /// ```
    pub fn listen_systemd(self) -> Self {
        self.listen_systemd_with(ListenOptions::new())
    }

    /// [`ServerBuilder::listen_systemd`] with [`ListenOptions`] for every socket.
    pub fn listen_systemd_with(mut self, options: ListenOptions) -> Self {
        // The options (a TLS config, its ticket keys) are built once for every socket.
        let resolved = options.resolve().and_then(|options| Ok((options, crate::activation::systemd_sockets()?)));
        match resolved {
            Ok((_, sockets)) if sockets.is_empty() => {
                let e = io::Error::new(io::ErrorKind::NotFound, "no sockets passed by systemd (LISTEN_FDS/LISTEN_PID)");
                self.error = self.error.or(Some(e));
            }
            Ok((options, sockets)) => self.listeners.extend(
                sockets.into_iter().map(|(fd, _name)| Spec { source: Source::Adopt(fd), options: options.clone() }),
            ),
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

    /// The lame-duck period of a graceful shutdown (default zero): for this
    /// long after [`ShutdownHandle::shutdown`], porter still accepts and
    /// serves, every reply says `Connection: close` and
    /// [`Request::is_draining`](crate::Request::is_draining) is true; only
    /// then does it stop accepting. Behind a load balancer, make it longer
    /// than the balancer takes to mark the server down (health-check interval
    /// times failures), so that no client is sent to a closed listener. The
    /// grace period of the shutdown starts after it.
    pub fn shutdown_delay(mut self, delay: Duration) -> Self {
        self.shutdown_delay = delay;
        self
    }

    /// The `Server` header value (`None`: send no `Server` header). Default `porter`.
    pub fn server_name(mut self, name: Option<&str>) -> Self {
        self.server_name = name.map(str::to_owned);
        self
    }

    /// Writes an access log (see [`AccessLog`]): `AccessLog::file(path)`,
    /// `AccessLog::stderr()` or `AccessLog::log_crate()`; `None` for none (the default).
    pub fn access_log(mut self, log: impl Into<Option<AccessLog>>) -> Self {
        self.access_log = log.into();
        self
    }

    /// Counts requests, bytes and connections into `metrics` (see [`Metrics`];
    /// several servers may share one). Off by default.
    pub fn metrics(mut self, metrics: &Metrics) -> Self {
        self.metrics = Some(metrics.clone());
        self
    }

    /// Binds every address for every worker and returns the server, ready to run.
    /// Limits that fail [`Limits::validate`] are an `InvalidInput` error
    /// carrying the [`LimitsError`](crate::LimitsError).
    pub fn build(self, handler: impl Handler) -> io::Result<Server> {
        if let Some(e) = self.error {
            return Err(e);
        }
        self.limits.validate()?;
        if self.listeners.is_empty() {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "no listen address"));
        }
        let threads = match self.threads {
            0 => thread::available_parallelism().map_or(1, |n| n.get()),
            n => n,
        };
        let (workers, addrs) = listen::open_all(self.listeners, threads)?;
        let server_line = self.server_name.as_deref().map_or_else(Vec::new, server_line);
        let observe = observe_config(self.access_log, self.metrics.clone())?;
        let access_log = observe.log.as_ref().map(Arc::downgrade);
        let connection_cap =
            connection_cap(self.limits.max_connections, crate::sys::rlimit::fd_limit(), threads, addrs.len());
        let config = LoopConfig { handler: Arc::new(handler), limits: self.limits, connection_cap, server_line };
        let remotes = (0..threads).map(|_| Remote::new().map(Arc::new)).collect::<io::Result<Vec<_>>>()?;
        let listeners = workers.first().into_iter().flatten().map(|l| (l.addr, l.options.clone())).collect();
        let live = Live { listeners, access_log, metrics: self.metrics, ending: false };
        let shutdown =
            ShutdownHandle { remotes: remotes.into(), live: Arc::new(Mutex::new(live)), delay: Arc::default() };
        shutdown.set_shutdown_delay(self.shutdown_delay);
        Ok(Server { workers, addrs, config: Arc::new(config), observe, shutdown })
    }

    /// Builds and runs the server on this thread (plus `threads - 1` others).
    pub fn run(self, handler: impl Handler) -> io::Result<()> {
        self.build(handler)?.run()
    }
}

/// Opens the access log (starting its writer) and ties its dropped-line count to the metrics.
fn observe_config(log: Option<AccessLog>, metrics: Option<Metrics>) -> io::Result<ObserveConfig> {
    let log = log.map(LogShared::start).transpose()?.map(Arc::new);
    if let (Some(log), Some(metrics)) = (&log, &metrics) {
        metrics.watch_log_drops(log.dropped().clone());
    }
    Ok(ObserveConfig { log, metrics })
}

fn server_line(name: &str) -> Vec<u8> {
    let clean: String = name.chars().filter(|c| c.is_ascii_graphic() || *c == ' ').collect();
    format!("Server: {clean}\r\n").into_bytes()
}

/// A one-worker server driven by the caller's own event loop, the way
/// libmicrohttpd's external-select mode works: watch [`EmbeddedServer::poll_fd`]
/// for readability (with `poll`, `select`, epoll, ...), wake up no later than
/// [`EmbeddedServer::next_timeout`], and call [`EmbeddedServer::run_once`].
/// Everything happens on the caller's thread; deferred answers and streamed
/// bodies from other threads wake the fd.
pub struct EmbeddedServer {
    event_loop: EventLoop,
    addrs: Vec<SocketAddr>,
    shutdown: ShutdownHandle,
}

impl Server {
    /// Turns a one-thread server into one the caller drives (see
    /// [`EmbeddedServer`]). Fails unless built with `threads(1)`.
    pub fn into_embedded(self) -> io::Result<EmbeddedServer> {
        let mut workers = self.workers.into_iter();
        let (Some(listeners), None) = (workers.next(), workers.next()) else {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "an embedded server needs threads(1)"));
        };
        let remote = self.shutdown.remotes[0].clone();
        let event_loop = EventLoop::new(listeners, self.config, &self.observe, remote)?;
        Ok(EmbeddedServer { event_loop, addrs: self.addrs, shutdown: self.shutdown })
    }
}

impl EmbeddedServer {
    /// The fd to watch for readability: the server has work when it is readable.
    pub fn poll_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        self.event_loop.poll_fd()
    }

    /// The longest the caller may wait before calling [`EmbeddedServer::run_once`]
    /// even if the fd stays quiet (timers); `None`: no deadline.
    pub fn next_timeout(&self) -> Option<Duration> {
        self.event_loop.next_wake()
    }

    /// Handles whatever is ready, waiting at most `max_wait` (zero: do not
    /// wait). Returns `false` once the server has stopped (after a shutdown).
    pub fn run_once(&mut self, max_wait: Duration) -> io::Result<bool> {
        if self.event_loop.is_finished() {
            return Ok(false);
        }
        self.event_loop.iterate(Some(max_wait))?;
        if self.event_loop.is_finished() {
            self.event_loop.close();
            return Ok(false);
        }
        Ok(true)
    }

    /// The addresses the server listens on.
    pub fn local_addrs(&self) -> &[SocketAddr] {
        &self.addrs
    }

    /// A handle that stops this server (from any thread).
    pub fn shutdown_handle(&self) -> ShutdownHandle {
        self.shutdown.clone()
    }
}

impl std::fmt::Debug for EmbeddedServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmbeddedServer").field("addrs", &self.addrs).finish()
    }
}
