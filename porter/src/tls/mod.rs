//! TLS with rustls, driven by porter's own loop.
//!
//! - [`config`]: [`TlsConfig`] (PEM loading, SNI choice, ALPN, resumption) and
//!   the shared rustls `ServerConfig` per listener; why the ring provider.
//! - [`stream`]: `TlsStream`, a rustls session over a non-blocking socket, the
//!   TLS arm of the loop's `Stream` transport.
//!
//! A TLS listener's connections run the same state machine as plain ones; the
//! handshake is part of reading, and is bounded by the header timeout (a
//! connection still handshaking is waiting for its first request head).

pub(crate) mod config;
pub(crate) mod stream;

pub use config::TlsConfig;
