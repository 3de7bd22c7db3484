//! Signals for the `porter` binary, handled on a thread of their own.
//!
//! SIGTERM or SIGINT starts a graceful shutdown: for the drain delay (the
//! lame-duck period) porter still accepts and serves while its health checks
//! answer 503 and every reply says `Connection: close`; then it stops
//! accepting, serves what the kernel already accepted, lets requests in flight
//! finish, closes idle connections in an orderly way and closes whatever is
//! left after the grace period. A second SIGTERM or SIGINT stops at once. This
//! is what a rolling restart behind a load balancer needs: no request is lost.
//!
//! SIGUSR1 reopens the access-log file (after logrotate renamed it).
//!
//! SIGHUP reloads the config file (see `reload`) on a thread of its own, so
//! that a reload that hangs (an htpasswd path naming a FIFO) or panics never
//! keeps SIGTERM and SIGINT from being answered; SIGHUPs that arrive while a
//! reload waits to start make one reload. Without `--config` there is nothing
//! to reload, and it is logged and ignored.

use std::io;
use std::panic::{self, AssertUnwindSafe};
use std::sync::mpsc::{self, SyncSender, TrySendError};
use std::thread;
use std::time::Duration;

use porter::ShutdownHandle;

use crate::reload::Reloader;
use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM, SIGUSR1};
use signal_hook::iterator::Signals;

/// Takes over SIGTERM, SIGINT, SIGUSR1 and SIGHUP for `server` (no longer
/// fatal to the process) and answers them from a background thread; a
/// shutdown begins with the server's lame-duck period as it is then (a reload
/// may change it).
pub fn drain_on_signals(server: ShutdownHandle, grace: Duration, reloader: Option<Reloader>) -> io::Result<()> {
    let mut signals = Signals::new([SIGTERM, SIGINT, SIGUSR1, SIGHUP])?;
    let reloads = reloader.map(reload_thread).transpose()?;
    thread::Builder::new().name("porter-signals".into()).spawn(move || {
        let mut draining = false;
        for signal in signals.forever() {
            if signal == SIGUSR1 {
                if let Err(e) = server.reopen_logs() {
                    log::error!("SIGUSR1: cannot reopen the access log: {e}");
                }
                continue;
            }
            if signal == SIGHUP {
                match &reloads {
                    Some(_) if draining => log::warn!("SIGHUP: shutting down; not reloading"),
                    Some(reloads) => ask_reload(reloads),
                    None => log::warn!("SIGHUP: ignored: there is no config file to reload (see --config)"),
                }
                continue;
            }
            let name = if signal == SIGTERM { "SIGTERM" } else { "SIGINT" };
            if draining {
                log::warn!("{name} again: stopping now");
                server.stop();
                return;
            }
            draining = true;
            let delay = server.shutdown_delay();
            if !delay.is_zero() {
                log::warn!("{name}: health checks fail for {}s before porter stops accepting", delay.as_secs_f64());
            }
            log::warn!(
                "{name}: finishing requests in flight ({}s at most); send it again to stop now",
                grace.as_secs()
            );
            server.shutdown(grace);
        }
    })?;
    Ok(())
}

/// Starts the thread that runs reloads, one at a time; returns the channel
/// that asks for one. A reload that panics is logged, and the next SIGHUP
/// tries again.
fn reload_thread(mut reloader: Reloader) -> io::Result<SyncSender<()>> {
    let (ask, asked) = mpsc::sync_channel(1);
    thread::Builder::new().name("porter-reload".into()).spawn(move || {
        for () in asked {
            if panic::catch_unwind(AssertUnwindSafe(|| reloader.reload())).is_err() {
                log::error!("SIGHUP: the reload failed (a bug: see the panic above); it may be applied in part");
            }
        }
    })?;
    Ok(ask)
}

/// Asks for a reload; one already waiting to start reads the file anew, so
/// this SIGHUP merges into it.
fn ask_reload(reloads: &SyncSender<()>) {
    match reloads.try_send(()) {
        Ok(()) | Err(TrySendError::Full(())) => {}
        Err(TrySendError::Disconnected(())) => log::error!("SIGHUP: cannot reload: the reload thread has ended"),
    }
}
