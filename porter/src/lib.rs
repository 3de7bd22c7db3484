//! # porter
//!
//! A small, fast HTTP/1.1 server module: its own edge-triggered epoll loop over
//! raw non-blocking sockets (through `rustix`), `httparse` for the wire syntax
//! and porter's own RFC 9112 framing rules around it.
//!
//! ```no_run
//! use porter::{Response, Server};
//!
//! fn main() -> std::io::Result<()> {
//!     Server::bind("127.0.0.1:8080")
//!         .threads(1)
//!         .run(|_req| Response::text("Hello, World!"))
//! }
//! ```
//!
//! The map of the crate:
//! - [`Server`] / [`ServerBuilder`]: addresses, threads, [`Limits`], the handler.
//! - [`ListenOptions`]: TLS and the PROXY protocol per listener; sockets from
//!   systemd socket activation ([`systemd_sockets`]) or the caller.
//! - [`AccessLog`] and [`Metrics`]: a non-blocking access log (Combined or JSON
//!   lines; file, stderr or the `log` crate) and Prometheus counters.
//! - [`Handler`]: anything answering a [`Request`] with a [`Response`]; closures,
//!   [`Router`] and [`Files`] are handlers.
//! - [`CleanPath`]: a request path normalized exactly as [`Files`] serves it,
//!   for routing of your own in front of it.
//! - `event_loop`, `conn`, `proto`, `sys`: the loop, the connection state machine,
//!   the HTTP/1.1 wire, and the system calls (private).

#![deny(unsafe_code)] // allowed in `sys::inherited` alone
#![deny(missing_docs)]
#![warn(clippy::unwrap_used, clippy::expect_used)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

mod activation;
mod auth;
mod conn;
mod error_pages;
mod event_loop;
mod files;
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;
mod guard;
mod handler;
mod limits;
mod listen;
mod observe;
mod path;
mod proto;
mod request;
mod responder;
mod response;
mod router;
mod server;
mod stream;
mod sys;
mod tls;
mod upload;

pub use activation::systemd_sockets;
pub use auth::{Authenticator, BasicAuth, Check, Costly, Protected, Verifying};
pub use error_pages::ErrorPages;
pub use files::{media_type, Files};
pub use handler::{stream_body, BodyLimit, Handler, Reply, StreamBody};
pub use limits::{InvalidLimit, Limits, LimitsError};
pub use listen::ListenOptions;
pub use observe::{AccessLog, LogFormat, Metrics};
pub use path::{CleanPath, PathError};
pub use proto::encode::reason_phrase;
pub use request::{Request, Version};
pub use responder::Responder;
pub use response::{Body, HeaderError, Response};
pub use router::Router;
pub use server::{EmbeddedServer, Server, ServerBuilder, ServerHandle, ShutdownHandle};
pub use stream::BodySender;
pub use sys::rlimit::{raise_fd_limit, FdLimit};
pub use tls::TlsConfig;
pub use upload::BodyReader;

/// The README's Rust programs, compiled by `cargo test --doc` so that none
/// goes stale (the README says they are complete; this keeps it true).
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;
