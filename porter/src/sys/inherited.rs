//! File descriptors inherited from the process that started this one: the
//! listening sockets of systemd socket activation (sd_listen_fds(3)). The one
//! place porter turns fd numbers into fds, hence its only `unsafe` blocks: a
//! check that each number is open, then the taking.
//!
//! Invariant: each process takes its inherited fds at most once (a
//! process-wide flag), so no fd number is ever owned twice.

#![allow(unsafe_code)]

use std::io;
use std::ops::Range;
use std::os::fd::{BorrowedFd, FromRawFd, OwnedFd, RawFd};
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
    for raw in fds.clone() {
        check_open(raw)?;
    }
    let owned: Vec<OwnedFd> = fds
        .map(|raw| {
            // SAFETY: per sd_listen_fds(3), when LISTEN_PID names this process,
            // fds 3..3+LISTEN_FDS are open and were passed for this process to
            // own (the caller checked LISTEN_PID); stdio (0..3) is never taken,
            // `check_open` saw each open, and `TAKEN` ensures no fd in the
            // range is wrapped twice.
            unsafe { OwnedFd::from_raw_fd(raw) }
        })
        .collect();
    for fd in &owned {
        set_nonblocking_cloexec(fd)?;
    }
    Ok(owned)
}

/// Fails unless fd number `raw` is open, so a manager's miscount is an error
/// instead of an `OwnedFd` for a closed (or later reused) number.
fn check_open(raw: RawFd) -> io::Result<()> {
    // SAFETY: the borrow lives for this one `fcntl(F_GETFD)` call, which only
    // asks whether the number is open (EBADF if not) and changes nothing.
    let fd = unsafe { BorrowedFd::borrow_raw(raw) };
    match rustix::io::fcntl_getfd(fd) {
        Ok(_) => Ok(()),
        Err(e) => Err(io::Error::new(io::Error::from(e).kind(), format!("inherited fd {raw} is not open: {e}"))),
    }
}
