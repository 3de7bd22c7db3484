//! The operating-system layer: the only place porter makes raw system calls.
//!
//! Everything goes through `rustix`, whose wrappers are safe: file descriptors are
//! `OwnedFd`s (closed exactly once, on drop) and every failing call is an
//! `io::Error`. This module therefore needs no `unsafe` at all; the crate-wide
//! `#![forbid(unsafe_code)]` holds here too.
//!
//! - [`poller`]: epoll (create, add, delete, wait) with generation-tagged tokens.
//! - [`socket`]: listening sockets (SO_REUSEPORT), `accept4`, TCP_NODELAY.
//! - [`sendfile`]: zero-copy file bodies on plain TCP.
//! - [`waker`]: an eventfd that wakes a loop from another thread.

pub(crate) mod poller;
pub(crate) mod sendfile;
pub(crate) mod socket;
pub(crate) mod waker;
