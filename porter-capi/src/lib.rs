//! # porter-capi: porter for C programs
//!
//! The C ABI of porter, built as `libporter_capi.so` / `libporter_capi.a`
//! (installed as `libporter.so` / `libporter.a`) with `include/porter.h`,
//! which cbindgen generates from this crate (a test fails when the committed
//! header is stale).
//!
//! Invariants every exported function keeps:
//! - **No panic crosses the boundary**: each entry point runs inside
//!   `error::guard` (`catch_unwind`), and so does each trampoline that calls
//!   C back (handlers, free and cancel callbacks are C functions, which cannot
//!   unwind; the Rust around them is caught).
//! - **Every fallible call returns a code** (`PORTER_OK` or a negative
//!   `PORTER_ERR_*`) and leaves a message for `porter_last_error()` on the
//!   calling thread.
//! - **Null and invalid arguments are refused** with `PORTER_ERR_NULL` /
//!   `PORTER_ERR_INVALID`, never dereferenced.
//! - **Pointer handling lives in `ffi`**: handles cross as `Option<&T>`,
//!   `Option<&mut T>` and `Option<Box<T>>` (nullable pointers by the ABI), and
//!   the few raw pointers (C strings, byte buffers, out-pointers) are read and
//!   written only by `ffi`'s helpers. Everything else is safe code.
//!
//! Module map: [`error`] (codes, last error, guard), [`config`] (building a
//! server, routes, the handler trampoline), [`request`] (accessors, body
//! reader), [`response`] (building replies, bodies, streaming), [`reply`]
//! (answering now or later), [`server`] (run, spawn, embed, stop), [`deploy`]
//! (PROXY protocol listeners, access log, metrics).

#![deny(unsafe_op_in_unsafe_fn)]
#![deny(missing_docs)]
#![warn(clippy::unwrap_used, clippy::expect_used)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

pub mod config;
pub mod deploy;
pub mod error;
mod ffi;
pub mod reply;
pub mod request;
pub mod response;
pub mod server;

pub use error::*;

/// A run of bytes owned by porter: `ptr` points at `len` bytes, **not**
/// NUL-terminated (print with `"%.*s", (int)s.len, s.ptr`). Valid as long as
/// the object it was read from (the request, during its handler call).
/// An empty string may have a null `ptr`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct PorterStr {
    /// The first byte (null when `len` is 0 and there is nothing to point at).
    pub ptr: *const std::os::raw::c_char,
    /// The number of bytes.
    pub len: usize,
}

impl PorterStr {
    /// The empty string (null pointer, zero length).
    pub const EMPTY: PorterStr = PorterStr { ptr: std::ptr::null(), len: 0 };

    /// Points at `bytes`; the caller keeps `bytes` alive as long as C may read it.
    pub(crate) fn of(bytes: &[u8]) -> PorterStr {
        PorterStr { ptr: bytes.as_ptr().cast(), len: bytes.len() }
    }
}
