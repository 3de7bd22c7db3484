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
//! SIGHUP reloads the config file (see `reload`); without `--config` there is
//! nothing to reload, and it is logged and ignored.

use std::io;
use std::thread;
use std::time::Duration;

use porter::ShutdownHandle;

use crate::reload::Reloader;
use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM, SIGUSR1};
use signal_hook::iterator::Signals;

/// Takes over SIGTERM, SIGINT, SIGUSR1 and SIGHUP for `server` (no longer
/// fatal to the process) and answers them from a background thread; a
/// shutdown begins with the lame-duck period `delay`.
pub fn drain_on_signals(
    server: ShutdownHandle,
    grace: Duration,
    delay: Duration,
    mut reloader: Option<Reloader>,
) -> io::Result<()> {
    let mut signals = Signals::new([SIGTERM, SIGINT, SIGUSR1, SIGHUP])?;
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
                match reloader.as_mut() {
                    Some(reloader) if !draining => reloader.reload(),
                    Some(_) => log::warn!("SIGHUP: shutting down; not reloading"),
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
