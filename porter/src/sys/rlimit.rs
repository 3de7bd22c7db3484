//! The open-file limit (`RLIMIT_NOFILE`): read it, and raise the soft limit to
//! the hard one, as nginx's `worker_rlimit_nofile` and the Go runtime do at
//! start. The soft limit is often 1024 for compatibility with `select`, which
//! porter never uses; the hard limit is what the administrator allows.

use std::io;

use rustix::process::{getrlimit, setrlimit, Resource, Rlimit};

/// The soft open-file limit before and after [`raise_fd_limit`]; `u64::MAX`
/// stands for "unlimited".
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FdLimit {
    /// The soft limit the process started with.
    pub before: u64,
    /// The soft limit now in force (the hard limit, when raising it worked).
    pub now: u64,
}

/// Raises this process's soft `RLIMIT_NOFILE` to its hard limit, so that the
/// server may hold as many connections (and the files they are sent) as the
/// system allows. Call it once at start, before building the server: the
/// number of connections each worker takes is derived from the limit then in
/// force. An unlimited hard limit leaves the soft limit as it is (Linux refuses
/// a soft limit above `fs.nr_open`).
pub fn raise_fd_limit() -> io::Result<FdLimit> {
    let limit = getrlimit(Resource::Nofile);
    let before = limit.current.unwrap_or(u64::MAX);
    match limit.maximum {
        Some(hard) if hard > before => {
            setrlimit(Resource::Nofile, Rlimit { current: Some(hard), maximum: Some(hard) })?;
            Ok(FdLimit { before, now: hard })
        }
        _ => Ok(FdLimit { before, now: before }),
    }
}

/// The soft open-file limit in force (`u64::MAX`: unlimited).
pub(crate) fn fd_limit() -> u64 {
    getrlimit(Resource::Nofile).current.unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raising_reaches_the_hard_limit_and_is_idempotent() {
        let first = raise_fd_limit().unwrap();
        assert!(first.now >= first.before);
        assert_eq!(fd_limit(), first.now);
        let again = raise_fd_limit().unwrap();
        assert_eq!(again, FdLimit { before: first.now, now: first.now });
    }
}
