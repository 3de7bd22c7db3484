//! systemd socket activation (sd_listen_fds(3)): serving on listening sockets
//! the service manager opened and passed down, so the service can start on
//! demand, restart without refusing a connection, and bind privileged ports
//! without privileges.
//!
//! The protocol: the manager passes the sockets as fds 3, 4, ... and sets
//! `LISTEN_PID` (the process they are for), `LISTEN_FDS` (how many) and,
//! optionally, `LISTEN_FDNAMES` (colon-separated names, one per fd).
//! [`parse_listen_env`] reads the three values (pure: tested without touching
//! the environment); [`systemd_sockets`] reads them from the environment,
//! unsets them so child processes do not take the fds too, and takes the fds
//! ([`crate::sys::inherited`]).

use std::io;
use std::os::fd::{OwnedFd, RawFd};

use crate::proto::parse::parse_decimal;

/// `SD_LISTEN_FDS_START`: the first passed fd.
const FIRST_FD: RawFd = 3;
/// More passed sockets than any service uses: a larger `LISTEN_FDS` is garbage.
const MAX_PASSED: RawFd = 65_536;

/// The passed fds, first to last, each with its name from `LISTEN_FDNAMES`.
pub(crate) type Passed = Vec<(RawFd, Option<String>)>;

/// Reads sd_listen_fds(3)'s variables. Empty when no sockets were passed to
/// process `my_pid` (a variable unset, or `LISTEN_PID` naming another process:
/// the variables leaked from a parent); an error when a value is malformed.
pub(crate) fn parse_listen_env(
    pid: Option<&str>,
    fds: Option<&str>,
    names: Option<&str>,
    my_pid: u32,
) -> io::Result<Passed> {
    let (Some(pid), Some(fds)) = (pid, fds) else { return Ok(Vec::new()) };
    let pid = parse_decimal(pid.as_bytes())
        .filter(|&p| p > 0 && p <= u64::from(u32::MAX))
        .ok_or_else(|| bad("LISTEN_PID", pid))?;
    if pid != u64::from(my_pid) {
        return Ok(Vec::new());
    }
    let count = parse_decimal(fds.as_bytes())
        .and_then(|n| RawFd::try_from(n).ok())
        .filter(|&n| n <= MAX_PASSED)
        .ok_or_else(|| bad("LISTEN_FDS", fds))?;
    let labels: Vec<Option<String>> = match names {
        None => vec![None; count as usize],
        Some(list) => list.split(':').map(|n| Some(n.to_string())).collect(),
    };
    if labels.len() != count as usize {
        return Err(bad("LISTEN_FDNAMES (not one name per fd)", names.unwrap_or_default()));
    }
    Ok((FIRST_FD..FIRST_FD + count).zip(labels).collect())
}

fn bad(variable: &str, value: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, format!("socket activation: malformed {variable}: {value:?}"))
}

/// The listening sockets systemd passed to this process (sd_listen_fds(3)),
/// each with its name from `LISTEN_FDNAMES` (`FileDescriptorName=` in the
/// socket unit) if the manager set one. Empty when the process was not
/// socket-activated.
///
/// The fds become close-on-exec and non-blocking. `LISTEN_PID`, `LISTEN_FDS`
/// and `LISTEN_FDNAMES` are removed from the environment, so programs this
/// process starts do not take the sockets too; call it early, before other
/// threads read the environment. The sockets are handed out once: a second
/// call returns nothing.
///
/// [`ServerBuilder::listen_systemd`](crate::ServerBuilder::listen_systemd)
/// listens on all of them; use this function to treat them differently by
/// name, with [`ServerBuilder::listen_fd_with`](crate::ServerBuilder::listen_fd_with).
pub fn systemd_sockets() -> io::Result<Vec<(OwnedFd, Option<String>)>> {
    const VARIABLES: [&str; 3] = ["LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES"];
    let [pid, fds, names] = VARIABLES.map(|name| std::env::var(name).ok());
    for name in VARIABLES {
        std::env::remove_var(name);
    }
    let passed = parse_listen_env(pid.as_deref(), fds.as_deref(), names.as_deref(), std::process::id())?;
    let Some(&(first, _)) = passed.first() else { return Ok(Vec::new()) };
    let owned = crate::sys::inherited::take(first..first + passed.len() as RawFd)?;
    Ok(owned.into_iter().zip(passed.into_iter().map(|(_, name)| name)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(pid: Option<&str>, fds: Option<&str>, names: Option<&str>) -> Result<Passed, String> {
        parse_listen_env(pid, fds, names, 4242).map_err(|e| e.to_string())
    }

    #[test]
    fn passed_fds_start_at_three() {
        assert_eq!(parse(Some("4242"), Some("1"), None), Ok(vec![(3, None)]));
        assert_eq!(parse(Some("4242"), Some("3"), None), Ok(vec![(3, None), (4, None), (5, None)]));
        let named = parse(Some("4242"), Some("2"), Some("http:https")).unwrap();
        assert_eq!(named, vec![(3, Some("http".into())), (4, Some("https".into()))]);
        assert_eq!(parse(Some("4242"), Some("0"), None), Ok(vec![]));
    }

    #[test]
    fn nothing_passed_to_this_process() {
        assert_eq!(parse(None, None, None), Ok(vec![]));
        assert_eq!(parse(None, Some("2"), None), Ok(vec![]));
        assert_eq!(parse(Some("4242"), None, None), Ok(vec![]));
        // The variables leaked from a parent: they are not for us.
        assert_eq!(parse(Some("4241"), Some("2"), None), Ok(vec![]));
        assert_eq!(parse(Some("1"), Some("2"), None), Ok(vec![]));
    }

    #[test]
    fn malformed_values_are_errors() {
        let rows = [
            (Some("abc"), Some("1"), None),
            (Some(""), Some("1"), None),
            (Some("0"), Some("1"), None),
            (Some("-4242"), Some("1"), None),
            (Some("+4242"), Some("1"), None),
            (Some(" 4242"), Some("1"), None),
            (Some("99999999999"), Some("1"), None),
            (Some("4242"), Some("x"), None),
            (Some("4242"), Some("-1"), None),
            (Some("4242"), Some(""), None),
            (Some("4242"), Some("1 "), None),
            (Some("4242"), Some("2147483647"), None),
            (Some("4242"), Some("65537"), None),
            (Some("4242"), Some("99999999999999999999999"), None),
            (Some("4242"), Some("2"), Some("one")),
            (Some("4242"), Some("1"), Some("a:b")),
        ];
        for (pid, fds, names) in rows {
            assert!(parse(pid, fds, names).is_err(), "{pid:?} {fds:?} {names:?} must be refused");
        }
    }
}
