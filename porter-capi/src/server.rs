//! Running a server from C: on porter's threads (`porter_server_start`), on
//! the caller's thread (`porter_server_run`), or inside the caller's own event
//! loop (`porter_server_embed` + `porter_server_run_once`); and stopping it.
//!
//! Invariants: a server moves Built → (Started | Running | Embedded) →
//! Finished, once; a call that needs another state answers
//! `PORTER_ERR_STATE`. Stopping goes through porter's `ShutdownHandle`, which
//! any thread may use at any time, without the state lock, so a stop never
//! waits for a running server. An embedded server is touched only on the
//! thread that embedded it (checked, `PORTER_ERR_THREAD`).

use std::io;
use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use std::os::raw::{c_char, c_int};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use porter::{EmbeddedServer, Server, ShutdownHandle};

use crate::config::PorterConfig;
use crate::error::{guard, need, Error, Result, PORTER_DONE, PORTER_OK};
use crate::ffi::{self, ThreadBound};

/// A bound server (opaque).
pub struct PorterServer {
    shutdown: ShutdownHandle,
    addrs: Vec<SocketAddr>,
    state: Mutex<State>,
}

impl PorterServer {
    /// The handle that stops this server or reopens its logs, from any thread.
    pub(crate) fn shutdown_handle(&self) -> &ShutdownHandle {
        &self.shutdown
    }
}

enum State {
    Built(Server),
    /// Running on a thread of ours (which runs worker 0 and spawns the rest).
    Started(JoinHandle<io::Result<()>>),
    /// `porter_server_run` is blocking some caller's thread.
    Running,
    Embedded(Box<ThreadBound<EmbeddedServer>>),
    Finished,
}

impl State {
    fn name(&self) -> &'static str {
        match self {
            State::Built(_) => "built",
            State::Started(_) => "started",
            State::Running => "running",
            State::Embedded(_) => "embedded",
            State::Finished => "finished",
        }
    }
}

impl PorterServer {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Takes the built server out, leaving `next` in its place.
    fn take_built(&self, next: State) -> Result<Server> {
        let mut state = self.lock();
        match std::mem::replace(&mut *state, next) {
            State::Built(server) => Ok(server),
            other => {
                let name = other.name();
                *state = other;
                Err(Error::state(format!("the server is already {name}")))
            }
        }
    }

    fn with_embedded<T>(&self, f: impl FnOnce(&mut EmbeddedServer) -> Result<T>) -> Result<T> {
        match &mut *self.lock() {
            State::Embedded(bound) => f(bound.get_mut()?),
            other => Err(Error::state(format!("the server is {}, not embedded", other.name()))),
        }
    }
}

fn io_result(result: io::Result<()>) -> Result<c_int> {
    result.map(|()| PORTER_OK).map_err(|e| Error::io("the server failed", &e))
}

/// Binds every listen address of `config` and makes a server, into `*server`.
/// Nothing runs until `porter_server_start`, `porter_server_run` or
/// `porter_server_embed`.
///
/// Errors: `PORTER_ERR_NULL`, `PORTER_ERR_INVALID` (no address), `PORTER_ERR_IO`
/// (an address is busy or not allowed). Ownership: consumes `config` on every
/// path; the caller owns `*server` and frees it with `porter_server_free`.
/// Thread-safety: any thread.
#[no_mangle]
pub extern "C" fn porter_server_new(
    config: Option<Box<PorterConfig>>,
    server: Option<&mut *mut PorterServer>,
) -> c_int {
    guard(|| {
        let config = need(config, "config")?;
        let out = need(server, "server")?;
        let (builder, router) = config.into_parts()?;
        let built = builder.build(router).map_err(|e| Error::io("cannot start the server", &e))?;
        let made = PorterServer {
            shutdown: built.shutdown_handle(),
            addrs: built.local_addrs().to_vec(),
            state: Mutex::new(State::Built(built)),
        };
        *out = Box::into_raw(Box::new(made));
        Ok(PORTER_OK)
    })
}

fn local_addr(server: Option<&PorterServer>, index: usize) -> Result<SocketAddr> {
    let server = need(server, "server")?;
    server.addrs.get(index).copied().ok_or_else(|| Error::invalid(format!("no listen address number {index}")))
}

/// The port of listen address number `index` (0-based, in the order added),
/// into `*port`: the real one when 0 was asked for.
///
/// Errors: `PORTER_ERR_NULL`, `PORTER_ERR_INVALID` (no such index).
/// Thread-safety: any thread.
#[no_mangle]
pub extern "C" fn porter_server_port(server: Option<&PorterServer>, index: usize, port: Option<&mut u16>) -> c_int {
    guard(|| {
        let out = need(port, "port")?;
        *out = local_addr(server, index)?.port();
        Ok(PORTER_OK)
    })
}

/// Listen address number `index` as text (`127.0.0.1:8080`, `[::1]:8080`),
/// NUL-terminated, into `buf` of `cap` bytes (64 is always enough).
///
/// Errors: `PORTER_ERR_NULL`, `PORTER_ERR_INVALID` (no such index, or `cap`
/// too small). Ownership: `buf` is written during the call only.
/// Thread-safety: any thread.
#[no_mangle]
pub extern "C" fn porter_server_local_addr(
    server: Option<&PorterServer>,
    index: usize,
    buf: *mut c_char,
    cap: usize,
) -> c_int {
    guard(|| {
        ffi::write_c_text(buf, cap, &local_addr(server, index)?.to_string(), "address")?;
        Ok(PORTER_OK)
    })
}

/// Starts serving on porter's own threads (as many as configured) and
/// returns at once. Stop with `porter_server_shutdown` (then
/// `porter_server_wait`) or `porter_server_free`.
///
/// Errors: `PORTER_ERR_NULL`, `PORTER_ERR_STATE` (not freshly built),
/// `PORTER_ERR_IO`. Thread-safety: any thread.
#[no_mangle]
pub extern "C" fn porter_server_start(server: Option<&PorterServer>) -> c_int {
    guard(|| {
        let server = need(server, "server")?;
        let built = server.take_built(State::Finished)?;
        let thread = thread::Builder::new()
            .name("porter-0".into())
            .spawn(move || built.run())
            .map_err(|e| Error::io("cannot start a thread", &e))?;
        *server.lock() = State::Started(thread);
        Ok(PORTER_OK)
    })
}

/// Serves on the calling thread (plus `threads - 1` porter threads) until
/// the server is shut down from another thread or a handler.
///
/// Errors: `PORTER_ERR_NULL`, `PORTER_ERR_STATE`, `PORTER_ERR_IO`.
/// Thread-safety: blocks this thread; others may call
/// `porter_server_shutdown`/`stop`/`port`/`local_addr` meanwhile, but not
/// `porter_server_free`.
#[no_mangle]
pub extern "C" fn porter_server_run(server: Option<&PorterServer>) -> c_int {
    guard(|| {
        let server = need(server, "server")?;
        let built = server.take_built(State::Running)?;
        let result = built.run();
        *server.lock() = State::Finished;
        io_result(result)
    })
}

/// Makes the server one the caller drives from its own event loop, the way
/// libmicrohttpd's external-select mode works: watch `porter_server_poll_fd`
/// for readability, wake no later than `porter_server_next_timeout`, and call
/// `porter_server_run_once`. Needs `porter_config_threads(config, 1)`.
///
/// Errors: `PORTER_ERR_NULL`, `PORTER_ERR_STATE`, `PORTER_ERR_INVALID` (more
/// than one thread configured), `PORTER_ERR_IO`. Thread-safety: the calling
/// thread becomes the server's; the embedded calls (`poll_fd`,
/// `next_timeout`, `run_once`) and `porter_server_free` must be made on it.
#[no_mangle]
pub extern "C" fn porter_server_embed(server: Option<&PorterServer>) -> c_int {
    guard(|| {
        let server = need(server, "server")?;
        let built = server.take_built(State::Finished)?;
        let embedded = built.into_embedded().map_err(|e| match e.kind() {
            io::ErrorKind::InvalidInput => Error::invalid(format!("cannot embed: {e}")),
            _ => Error::io("cannot embed", &e),
        })?;
        *server.lock() = State::Embedded(Box::new(ThreadBound::new(embedded)));
        Ok(PORTER_OK)
    })
}

/// The file descriptor to watch for readability (`POLLIN`), into `*fd`. It
/// belongs to porter: never read, write or close it.
///
/// Errors: `PORTER_ERR_NULL`, `PORTER_ERR_STATE` (not embedded),
/// `PORTER_ERR_THREAD`. Thread-safety: the embedding thread only.
#[no_mangle]
pub extern "C" fn porter_server_poll_fd(server: Option<&PorterServer>, fd: Option<&mut c_int>) -> c_int {
    guard(|| {
        let server = need(server, "server")?;
        let out = need(fd, "fd")?;
        *out = server.with_embedded(|e| Ok(e.poll_fd().as_raw_fd()))?;
        Ok(PORTER_OK)
    })
}

/// The longest the caller may wait before calling `porter_server_run_once`
/// even if the fd stays quiet, in milliseconds (rounded up), into `*ms`; -1
/// when there is no deadline.
///
/// Errors, thread-safety: as `porter_server_poll_fd`.
#[no_mangle]
pub extern "C" fn porter_server_next_timeout(server: Option<&PorterServer>, ms: Option<&mut i64>) -> c_int {
    guard(|| {
        let server = need(server, "server")?;
        let out = need(ms, "ms")?;
        let timeout = server.with_embedded(|e| Ok(e.next_timeout()))?;
        *out = timeout.map_or(-1, |d| i64::try_from(d.as_nanos().div_ceil(1_000_000)).unwrap_or(i64::MAX));
        Ok(PORTER_OK)
    })
}

/// Handles whatever is ready, waiting at most `timeout_ms` for something to
/// happen (0: do not wait; negative: until the next timer or event).
/// Returns `PORTER_OK` while the server runs and `PORTER_DONE` once it has
/// stopped (after `porter_server_shutdown` and its grace period).
///
/// Errors: `PORTER_ERR_NULL`, `PORTER_ERR_STATE`, `PORTER_ERR_THREAD`,
/// `PORTER_ERR_IO`. Thread-safety: the embedding thread only; handlers run
/// inside this call, on this thread.
#[no_mangle]
pub extern "C" fn porter_server_run_once(server: Option<&PorterServer>, timeout_ms: c_int) -> c_int {
    guard(|| {
        let server = need(server, "server")?;
        let wait = match u64::try_from(timeout_ms) {
            Ok(ms) => Duration::from_millis(ms),
            Err(_) => Duration::from_secs(24 * 3600),
        };
        let running =
            server.with_embedded(|e| e.run_once(wait).map_err(|e| Error::io("porter_server_run_once", &e)))?;
        Ok(if running { PORTER_OK } else { PORTER_DONE })
    })
}

/// Stops gracefully: stop accepting, close idle connections, let requests in
/// flight finish (with `Connection: close`), and close what is left after
/// `grace_ms`. Returns at once; a started server's threads end by then (wait
/// with `porter_server_wait`), `porter_server_run` returns, and
/// `porter_server_run_once` says `PORTER_DONE`.
///
/// Errors: `PORTER_ERR_NULL`. Thread-safety: any thread, any time (also from
/// a handler, or while `porter_server_run` blocks another thread).
#[no_mangle]
pub extern "C" fn porter_server_shutdown(server: Option<&PorterServer>, grace_ms: u64) -> c_int {
    guard(|| {
        need(server, "server")?.shutdown.shutdown(Duration::from_millis(grace_ms));
        Ok(PORTER_OK)
    })
}

/// Stops at once: open connections close, pending requests are cancelled.
/// Returns at once.
///
/// Errors: `PORTER_ERR_NULL`. Thread-safety: any thread, any time.
#[no_mangle]
pub extern "C" fn porter_server_stop(server: Option<&PorterServer>) -> c_int {
    guard(|| {
        need(server, "server")?.shutdown.stop();
        Ok(PORTER_OK)
    })
}

/// Waits until a started server's threads have ended (after a shutdown or
/// stop). Returns at once for a server that is not started.
///
/// Errors: `PORTER_ERR_NULL`, `PORTER_ERR_IO` (a worker failed).
/// Thread-safety: one waiting thread at a time; not on a handler's thread.
#[no_mangle]
pub extern "C" fn porter_server_wait(server: Option<&PorterServer>) -> c_int {
    guard(|| {
        let server = need(server, "server")?;
        let mut state = server.lock();
        let State::Started(_) = &*state else { return Ok(PORTER_OK) };
        let State::Started(thread) = std::mem::replace(&mut *state, State::Finished) else {
            return Ok(PORTER_OK);
        };
        drop(state);
        match thread.join() {
            Ok(result) => io_result(result),
            Err(_) => Err(Error::io("the server thread", &io::Error::other("panicked"))),
        }
    })
}

/// Frees a server: a running one is stopped at once and its threads joined
/// first (call `porter_server_shutdown` and `porter_server_wait` before, for a
/// graceful end). Null is ignored.
///
/// Ownership: consumes `server`. Thread-safety: not while another thread is
/// inside a call on this server (in particular `porter_server_run`); an
/// embedded server is freed on its embedding thread (elsewhere it is stopped
/// and leaked).
#[no_mangle]
pub extern "C" fn porter_server_free(server: Option<Box<PorterServer>>) {
    guard(|| {
        let Some(server) = server else { return Ok(PORTER_OK) };
        server.shutdown.stop();
        let state = server.state.into_inner().unwrap_or_else(PoisonError::into_inner);
        if let State::Started(thread) = state {
            let _ = thread.join();
        }
        Ok(PORTER_OK)
    });
}
