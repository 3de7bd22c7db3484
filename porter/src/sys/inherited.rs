//! File descriptors inherited from the process that started this one: the
//! listening sockets of systemd socket activation (sd_listen_fds(3)). The one
//! place porter turns fd numbers into owned fds, hence the one `unsafe` block.
//!
//! Invariant: each process takes its inherited fds at most once (a
//! process-wide flag), so no fd number is ever owned twice.

#![allow(unsafe_code)]

use std::io;
use std::ops::Range;
use std::os::fd::{FromRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicBool, Ordering};

use super::socket::set_nonblocking_cloexec;

/// Set once the inherited fds have been taken.
static TAKEN: AtomicBool = AtomicBool::new(false);

/// Takes ownership of the inherited fds `fds` (validated by the caller
/// against `LISTEN_PID`/`LISTEN_FDS`) and makes each close-on-exec and
/// non-blocking. Fails if this process took its inherited fds before.
pub(crate) fn take(fds: Range<RawFd>) -> io::Result<Vec<OwnedFd>> {
    if fds.is_empty() {
        return Ok(Vec::new());
    }
    if fds.start < 3 {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, "inherited fds start at 3, after stdio"));
    }
    if TAKEN.swap(true, Ordering::SeqCst) {
        return Err(io::Error::new(io::ErrorKind::AlreadyExists, "the inherited sockets were taken already"));
    }
    let owned: Vec<OwnedFd> = fds
        .map(|raw| {
            // SAFETY: per sd_listen_fds(3), when LISTEN_PID names this process,
            // fds 3..3+LISTEN_FDS are open and were passed for this process to
            // own (the caller checked LISTEN_PID); stdio (0..3) is never taken,
            // and `TAKEN` ensures no fd in the range is wrapped twice.
            unsafe { OwnedFd::from_raw_fd(raw) }
        })
        .collect();
    for fd in &owned {
        set_nonblocking_cloexec(fd)?;
    }
    Ok(owned)
}
