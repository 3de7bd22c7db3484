//! Signals for the `porter` binary, handled on a thread of their own.
//!
//! SIGTERM or SIGINT starts a graceful shutdown: porter stops accepting, closes
//! idle connections, lets requests in flight finish (their replies say
//! `Connection: close`) and closes whatever is left after the grace period. A
//! second SIGTERM or SIGINT stops at once. This is what a rolling restart behind
//! a load balancer needs: no request that porter accepted is lost.

use std::io;
use std::thread;
use std::time::Duration;

use porter::ShutdownHandle;
use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook::iterator::Signals;

/// Takes over SIGTERM and SIGINT for `server` (no longer fatal to the process)
/// and answers them from a background thread.
pub fn drain_on_signals(server: ShutdownHandle, grace: Duration) -> io::Result<()> {
    let mut signals = Signals::new([SIGTERM, SIGINT])?;
    thread::Builder::new().name("porter-signals".into()).spawn(move || {
        let mut draining = false;
        for signal in signals.forever() {
            let name = if signal == SIGTERM { "SIGTERM" } else { "SIGINT" };
            if draining {
                log::warn!("{name} again: stopping now");
                server.stop();
                return;
            }
            draining = true;
            log::warn!(
                "{name}: finishing requests in flight ({}s at most); send it again to stop now",
                grace.as_secs()
            );
            server.shutdown(grace);
        }
    })?;
    Ok(())
}
