//! The HTTP/1.1 wire: pure code, no I/O.
//!
//! - [`parse`]: request heads, with `httparse` for the syntax and porter's own
//!   RFC 9112 framing rules (Host, Content-Length, Transfer-Encoding, ...).
//! - [`body`]: request body decoders (Content-Length and chunked).
//! - [`encode`]: response heads and chunked framing.
//! - [`date`]: the `Date` header, formatted once a second.
//! - [`proxy`]: the PROXY protocol header (v1 and v2) a load balancer sends first.

pub(crate) mod body;
pub(crate) mod date;
pub(crate) mod encode;
pub(crate) mod parse;
pub(crate) mod proxy;
