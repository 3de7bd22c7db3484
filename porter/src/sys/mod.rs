//! The operating-system layer: the only place porter makes raw system calls.
//!
//! Everything goes through `rustix`, whose wrappers are safe: file descriptors are
//! `OwnedFd`s (closed exactly once, on drop) and every failing call is an
//! `io::Error`. The single exception is [`inherited`], which must turn the fd
//! numbers systemd passed down into `OwnedFd`s: it alone may use `unsafe` (the
//! crate denies it everywhere else), each block with its `// SAFETY:` argument.
//!
//! - [`poller`]: epoll (create, add, delete, wait) with generation-tagged tokens.
//! - [`socket`]: listening sockets (SO_REUSEPORT, adopted, duplicated), `accept4`, TCP_NODELAY.
//! - [`inherited`]: the listening sockets of systemd socket activation.
//! - [`sendfile`]: zero-copy file bodies on plain TCP.
//! - [`waker`]: an eventfd that wakes a loop from another thread.
//! - [`rlimit`]: the open-file limit, read and raised to the hard limit.

pub(crate) mod inherited;
pub(crate) mod poller;
pub(crate) mod rlimit;
pub(crate) mod sendfile;
pub(crate) mod socket;
pub(crate) mod waker;
