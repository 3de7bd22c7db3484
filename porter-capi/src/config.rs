//! Building a server from C: addresses, threads, limits, routes with C
//! callbacks, static files. Also the handler trampoline that calls C.
//!
//! Invariants: a `porter_config` is plain data until `porter_server_new`
//! consumes it; every setter validates its argument before changing anything,
//! so a refused call leaves the config as it was. A route's pattern is checked
//! here (porter's `Router::route` would panic on a malformed one).

use std::net::{SocketAddr, ToSocketAddrs};
use std::os::raw::{c_char, c_int, c_void};
use std::time::Duration;

use porter::{Files, Handler, Limits, ListenOptions, Reply, Request, Response, Router, ServerBuilder, TlsConfig};

use crate::error::{guard, guard_new, need, Error, Result, PORTER_OK};
use crate::ffi::{self, UserData};
use crate::request::PorterRequest;

/// A request handler: called on a porter worker thread (or the thread running
/// or embedding the server) with the request and the route's `user_data`.
/// Before returning it must either answer (`porter_request_respond`) or defer
/// (`porter_request_defer`); a handler that does neither gets its client a
/// `500`. The `request` pointer is valid only until the handler returns.
pub type PorterHandlerFn = Option<extern "C" fn(request: &mut PorterRequest, user_data: *mut c_void)>;

/// Settings for a server under construction (opaque).
pub struct PorterConfig {
    /// Listen addresses in the order added (that is the order of `local_addrs`).
    pub(crate) listens: Vec<Listen>,
    threads: usize,
    limits: Limits,
    server_name: Option<String>,
    pub(crate) router: Router,
    /// Set by `porter_config_access_log`.
    pub(crate) access_log: Option<porter::AccessLog>,
    /// Set by `porter_config_metrics`.
    pub(crate) metrics: Option<porter::Metrics>,
    /// Set by `porter_config_shutdown_delay`.
    shutdown_delay: Duration,
}

/// Request and connection limits, in the units named (see the README's table).
/// Fill one with `porter_limits_default`, change fields, pass it to
/// `porter_config_limits`, which refuses what porter cannot work with: zero
/// (except `max_body` and `max_trailers`) and timeouts over one year.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct PorterLimits {
    /// Longest request line in bytes; beyond: 414.
    pub max_request_line: usize,
    /// Largest request head in bytes; beyond: 431.
    pub max_head: usize,
    /// Most header fields in one request; beyond: 431.
    pub max_headers: usize,
    /// Largest request body in bytes (0: no bodies); beyond: 413.
    pub max_body: u64,
    /// Longest chunk-size line of a chunked body; beyond: 400.
    pub max_chunk_line: usize,
    /// Largest trailer section of a chunked body (0: no trailers); beyond: 400.
    pub max_trailers: usize,
    /// Most requests parsed ahead of their replies on one connection.
    pub max_pipelined: usize,
    /// Milliseconds allowed for a whole request head; then 408.
    pub header_timeout_ms: u64,
    /// Longest pause between two body reads, in milliseconds; then 408.
    pub body_timeout_ms: u64,
    /// Keep-alive idle time in milliseconds; then the connection closes.
    pub idle_timeout_ms: u64,
    /// Longest time without write progress, in milliseconds; then close.
    pub write_timeout_ms: u64,
    /// Most open connections per worker thread.
    pub max_connections: usize,
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

impl From<&Limits> for PorterLimits {
    fn from(l: &Limits) -> Self {
        PorterLimits {
            max_request_line: l.max_request_line,
            max_head: l.max_head,
            max_headers: l.max_headers,
            max_body: l.max_body,
            max_chunk_line: l.max_chunk_line,
            max_trailers: l.max_trailers,
            max_pipelined: l.max_pipelined,
            header_timeout_ms: millis(l.header_timeout),
            body_timeout_ms: millis(l.body_timeout),
            idle_timeout_ms: millis(l.idle_timeout),
            write_timeout_ms: millis(l.write_timeout),
            max_connections: l.max_connections,
        }
    }
}

impl PorterLimits {
    /// The library's `Limits`, checked by the library (`Limits::validate`):
    /// its message, naming each refused field, becomes the error.
    fn to_limits(self) -> Result<Limits> {
        let limits = Limits {
            max_request_line: self.max_request_line,
            max_head: self.max_head,
            max_headers: self.max_headers,
            max_body: self.max_body,
            max_chunk_line: self.max_chunk_line,
            max_trailers: self.max_trailers,
            max_pipelined: self.max_pipelined,
            header_timeout: Duration::from_millis(self.header_timeout_ms),
            body_timeout: Duration::from_millis(self.body_timeout_ms),
            idle_timeout: Duration::from_millis(self.idle_timeout_ms),
            write_timeout: Duration::from_millis(self.write_timeout_ms),
            max_connections: self.max_connections,
        };
        limits.validate().map_err(|e| Error::invalid(e.to_string()))?;
        Ok(limits)
    }
}

/// One `porter_config_listen`, `porter_config_tls_files` or `porter_config_listen_proxy` call.
pub(crate) struct Listen {
    pub(crate) addrs: Vec<SocketAddr>,
    pub(crate) options: ListenOptions,
}

impl PorterConfig {
    /// The builder and the handler this config describes.
    pub(crate) fn into_parts(self) -> Result<(ServerBuilder, Router)> {
        if self.listens.is_empty() {
            return Err(Error::invalid("no listen address (porter_config_listen)"));
        }
        let mut builder = porter::Server::builder();
        for listen in self.listens {
            builder = builder.listen_with(&listen.addrs[..], listen.options);
        }
        let builder = builder.threads(self.threads).limits(self.limits).server_name(self.server_name.as_deref());
        let builder = builder.shutdown_delay(self.shutdown_delay);
        let builder = builder.access_log(self.access_log);
        let builder = match &self.metrics {
            Some(metrics) => builder.metrics(metrics),
            None => builder,
        };
        Ok((builder, self.router))
    }

    pub(crate) fn add_route(&mut self, method: &str, pattern: &str, handler: impl Handler) -> Result<()> {
        check_method(method)?;
        check_pattern(pattern)?;
        let router = std::mem::take(&mut self.router);
        self.router = router.route(method, pattern, handler);
        Ok(())
    }
}

fn check_method(method: &str) -> Result<()> {
    let token = |b: u8| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b);
    if method.is_empty() || !method.bytes().all(token) {
        return Err(Error::invalid(format!("method {method:?} is not an HTTP token")));
    }
    Ok(())
}

/// A pattern starts with `/`; a `*name` wildcard may only be the last segment.
fn check_pattern(pattern: &str) -> Result<()> {
    if !pattern.starts_with('/') {
        return Err(Error::invalid(format!("pattern {pattern:?} must start with '/'")));
    }
    let segments: Vec<&str> = pattern[1..].split('/').collect();
    let early_wildcard = segments.iter().rev().skip(1).any(|s| s.starts_with('*'));
    if early_wildcard {
        return Err(Error::invalid(format!("pattern {pattern:?}: a *wildcard must be the last segment")));
    }
    Ok(())
}

/// A C function registered as a handler, with its `user_data`.
struct CHandler {
    func: extern "C" fn(&mut PorterRequest, *mut c_void),
    user_data: UserData,
    streams: bool,
}

impl Handler for CHandler {
    fn handle(&self, request: Request) -> Reply {
        let mut request = PorterRequest::new(request);
        let (func, user_data) = (self.func, self.user_data.0);
        crate::error::in_callback("a request handler", || func(&mut request, user_data));
        request.into_reply().unwrap_or_else(|| Response::error(500).into())
    }

    fn streams_body(&self, _request: &Request) -> Option<porter::BodyLimit> {
        self.streams.then_some(porter::BodyLimit::Server)
    }
}

/// A new, empty config: no address, one thread per core, default limits,
/// `Server: porter`, every path 404 until routes are added.
///
/// Ownership: the caller owns the result; pass it to `porter_server_new`
/// (which consumes it) or `porter_config_free`. Returns null only if memory
/// ran out. Thread-safety: a config is used by one thread at a time.
#[no_mangle]
pub extern "C" fn porter_config_new() -> Option<Box<PorterConfig>> {
    guard_new(|| {
        Ok(Box::new(PorterConfig {
            listens: Vec::new(),
            threads: 0,
            limits: Limits::default(),
            server_name: Some("porter".into()),
            router: Router::new(),
            access_log: None,
            metrics: None,
            shutdown_delay: Duration::ZERO,
        }))
    })
}

/// Frees a config that was not passed to `porter_server_new`. Null is ignored.
///
/// Ownership: consumes `config`. Thread-safety: not concurrently with other
/// calls on the same config.
#[no_mangle]
pub extern "C" fn porter_config_free(config: Option<Box<PorterConfig>>) {
    guard(|| {
        drop(config);
        Ok(PORTER_OK)
    });
}

/// Adds an address to listen on: `"127.0.0.1:8080"`, `"[::1]:0"`,
/// `"localhost:8080"` (every address the name resolves to). Port 0 picks a
/// free port (see `porter_server_local_addr`). May be called several times.
///
/// Errors: `PORTER_ERR_NULL`, `PORTER_ERR_INVALID` (does not parse or resolve).
/// Ownership: `addr` is read during the call only. Thread-safety: one thread
/// at a time per config.
#[no_mangle]
pub extern "C" fn porter_config_listen(config: Option<&mut PorterConfig>, addr: *const c_char) -> c_int {
    guard(|| listen_on(config, addr, ListenOptions::new()))
}

/// The common end of the `porter_config_listen*` calls: `addr` resolved and
/// added with `options`.
pub(crate) fn listen_on(
    config: Option<&mut PorterConfig>,
    addr: *const c_char,
    options: ListenOptions,
) -> Result<c_int> {
    let config = need(config, "config")?;
    let addrs = resolve(ffi::str_arg(addr, "addr")?)?;
    config.listens.push(Listen { addrs, options });
    Ok(PORTER_OK)
}

fn resolve(addr: &str) -> Result<Vec<SocketAddr>> {
    let resolved: Vec<SocketAddr> =
        addr.to_socket_addrs().map_err(|e| Error::invalid(format!("cannot use address {addr:?}: {e}")))?.collect();
    if resolved.is_empty() {
        return Err(Error::invalid(format!("address {addr:?} resolves to nothing")));
    }
    Ok(resolved)
}

/// Adds an HTTPS address: connections accepted on `addr` speak TLS (1.2 and
/// 1.3, ALPN `http/1.1`) with the certificate chain in the PEM file `cert`
/// and the private key in the PEM file `key`, both read now. Plain and TLS
/// addresses run side by side on the same workers; `porter_server_local_addr`
/// lists every address in the order added.
///
/// Errors: `PORTER_ERR_NULL`, `PORTER_ERR_INVALID` (address, or not UTF-8),
/// `PORTER_ERR_IO` (a file cannot be read, or holds no usable certificate or
/// key). Ownership: the strings are read during the call only.
/// Thread-safety: one thread at a time per config.
#[no_mangle]
pub extern "C" fn porter_config_tls_files(
    config: Option<&mut PorterConfig>,
    addr: *const c_char,
    cert: *const c_char,
    key: *const c_char,
) -> c_int {
    guard(|| {
        let config = need(config, "config")?;
        let addrs = resolve(ffi::str_arg(addr, "addr")?)?;
        let (cert, key) = (ffi::str_arg(cert, "cert")?, ffi::str_arg(key, "key")?);
        let tls = TlsConfig::from_pem_files(cert, key).map_err(|e| Error::io("cannot load the TLS files", &e))?;
        config.listens.push(Listen { addrs, options: ListenOptions::new().tls(tls) });
        Ok(PORTER_OK)
    })
}

/// Sets the number of worker threads (shared-nothing event loops); 0 (the
/// default) means one per core. Embedding (`porter_server_embed`) needs 1.
///
/// Errors: `PORTER_ERR_NULL`, `PORTER_ERR_INVALID` (more than 1024).
/// Thread-safety: one thread at a time per config.
#[no_mangle]
pub extern "C" fn porter_config_threads(config: Option<&mut PorterConfig>, threads: u32) -> c_int {
    guard(|| {
        let config = need(config, "config")?;
        if threads > 1024 {
            return Err(Error::invalid("threads must be at most 1024"));
        }
        config.threads = threads as usize;
        Ok(PORTER_OK)
    })
}

/// Fills `*out` with porter's default limits.
///
/// Errors: `PORTER_ERR_NULL`. Thread-safety: any thread.
#[no_mangle]
pub extern "C" fn porter_limits_default(out: Option<&mut PorterLimits>) -> c_int {
    guard(|| {
        *need(out, "out")? = PorterLimits::from(&Limits::default());
        Ok(PORTER_OK)
    })
}

/// Sets every limit from `*limits` (copied; start from `porter_limits_default`).
///
/// Errors: `PORTER_ERR_NULL`, `PORTER_ERR_INVALID` (a field porter refuses:
/// zero other than `max_body` and `max_trailers`, a timeout over one year;
/// `porter_last_error` names each). Thread-safety: one thread at a time per config.
#[no_mangle]
pub extern "C" fn porter_config_limits(config: Option<&mut PorterConfig>, limits: Option<&PorterLimits>) -> c_int {
    guard(|| {
        let config = need(config, "config")?;
        config.limits = need(limits, "limits")?.to_limits()?;
        Ok(PORTER_OK)
    })
}

/// Sets the lame-duck period of a graceful shutdown, in milliseconds
/// (default 0): for this long after `porter_server_shutdown` the server still
/// accepts and serves, every reply says `Connection: close` and
/// `porter_request_is_draining` is 1 (a health check should answer 503, so
/// that the load balancer stops sending clients); then it stops accepting and
/// the grace period begins. Any value is safe (deadlines are capped at one year).
///
/// Errors: `PORTER_ERR_NULL`. Thread-safety: one thread at a time per config.
#[no_mangle]
pub extern "C" fn porter_config_shutdown_delay(config: Option<&mut PorterConfig>, delay_ms: u64) -> c_int {
    guard(|| {
        need(config, "config")?.shutdown_delay = Duration::from_millis(delay_ms);
        Ok(PORTER_OK)
    })
}

/// Sets the `Server` header value; null sends no `Server` header. Default `porter`.
///
/// Errors: `PORTER_ERR_NULL` (config), `PORTER_ERR_INVALID` (not UTF-8).
/// Thread-safety: one thread at a time per config.
#[no_mangle]
pub extern "C" fn porter_config_server_name(config: Option<&mut PorterConfig>, name: *const c_char) -> c_int {
    guard(|| {
        let config = need(config, "config")?;
        config.server_name = if name.is_null() { None } else { Some(ffi::str_arg(name, "name")?.to_owned()) };
        Ok(PORTER_OK)
    })
}

fn route(
    config: Option<&mut PorterConfig>,
    method: *const c_char,
    pattern: *const c_char,
    handler: PorterHandlerFn,
    user_data: *mut c_void,
    streams: bool,
) -> c_int {
    guard(|| {
        let config = need(config, "config")?;
        let method = ffi::str_arg(method, "method")?;
        let pattern = ffi::str_arg(pattern, "pattern")?;
        let func = need(handler, "handler")?;
        config.add_route(method, pattern, CHandler { func, user_data: UserData(user_data), streams })?;
        Ok(PORTER_OK)
    })
}

/// Routes `method` requests (`"GET"` also serves `HEAD`) whose path matches
/// `pattern` to `handler`, which runs once the whole body has arrived (read it
/// with `porter_request_body`). Patterns: literal segments, `:name` (one
/// segment) and a last `*name` (the rest); read captures with
/// `porter_request_param`. Routes are tried in the order added.
///
/// Errors: `PORTER_ERR_NULL`, `PORTER_ERR_INVALID` (method not a token,
/// pattern not starting with `/`, `*` not last).
/// Ownership: `method` and `pattern` are copied. `user_data` is not touched by
/// porter, only passed to `handler`; it must stay valid while the server
/// exists. Thread-safety: one thread at a time per config. `handler` may run
/// on several worker threads at once with the same `user_data`: make what it
/// points at thread-safe (or use one thread).
#[no_mangle]
pub extern "C" fn porter_config_route(
    config: Option<&mut PorterConfig>,
    method: *const c_char,
    pattern: *const c_char,
    handler: PorterHandlerFn,
    user_data: *mut c_void,
) -> c_int {
    route(config, method, pattern, handler, user_data, false)
}

/// Like `porter_config_route`, but `handler` runs as soon as the request head
/// is in: take the body with `porter_request_body_reader` and read it on
/// another thread (after `porter_request_defer`), as it arrives. porter stops
/// reading the socket while the reader lags, and sends `100 Continue` when the
/// reader first reads.
///
/// Errors, ownership, thread-safety: as `porter_config_route`.
#[no_mangle]
pub extern "C" fn porter_config_route_stream(
    config: Option<&mut PorterConfig>,
    method: *const c_char,
    pattern: *const c_char,
    handler: PorterHandlerFn,
    user_data: *mut c_void,
) -> c_int {
    route(config, method, pattern, handler, user_data, true)
}

/// Serves the directory `root` for every request no route matches (instead of
/// 404): the request path names the file under `root`, with ETag,
/// Last-Modified, ranges and conditional requests; a directory serves its
/// `index.html`. Dotfiles and paths leaving `root` are refused.
///
/// Errors: `PORTER_ERR_NULL`, `PORTER_ERR_INVALID` (not UTF-8), `PORTER_ERR_IO`
/// (`root` is not an existing directory). Ownership: `root` is copied.
/// Thread-safety: one thread at a time per config.
#[no_mangle]
pub extern "C" fn porter_config_files(config: Option<&mut PorterConfig>, root: *const c_char) -> c_int {
    guard(|| {
        let config = need(config, "config")?;
        let root = ffi::str_arg(root, "root")?;
        let files = Files::new(root).map_err(|e| Error::io(&format!("cannot serve {root:?}"), &e))?;
        let router = std::mem::take(&mut config.router);
        config.router = router.fallback(files);
        Ok(PORTER_OK)
    })
}

/// Answers every request no route matches with `handler` (instead of 404).
/// Replaces a directory set with `porter_config_files`, and vice versa.
///
/// Errors: `PORTER_ERR_NULL`. Ownership and thread-safety: as `porter_config_route`.
#[no_mangle]
pub extern "C" fn porter_config_fallback(
    config: Option<&mut PorterConfig>,
    handler: PorterHandlerFn,
    user_data: *mut c_void,
) -> c_int {
    guard(|| {
        let config = need(config, "config")?;
        let func = need(handler, "handler")?;
        let router = std::mem::take(&mut config.router);
        config.router = router.fallback(CHandler { func, user_data: UserData(user_data), streams: false });
        Ok(PORTER_OK)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_are_checked_before_the_router_sees_them() {
        assert!(check_pattern("/a/:id/*rest").is_ok());
        assert!(check_pattern("/").is_ok());
        assert!(check_pattern("a").is_err());
        assert!(check_pattern("/*a/b").is_err());
        assert!(check_method("GET").is_ok());
        assert!(check_method("G T").is_err());
        assert!(check_method("").is_err());
    }

    #[test]
    fn limits_round_trip_and_the_librarys_check_applies() {
        let c = PorterLimits::from(&Limits::default());
        assert_eq!(c.to_limits().unwrap(), Limits::default());
        assert!(PorterLimits { max_body: 0, max_trailers: 0, ..c }.to_limits().is_ok());
        let refused = [
            (PorterLimits { idle_timeout_ms: 0, ..c }, "`idle_timeout` must be longer than zero"),
            (PorterLimits { max_pipelined: 0, ..c }, "`max_pipelined` must be at least 1"),
            (PorterLimits { write_timeout_ms: u64::MAX, ..c }, "`write_timeout` must be at most"),
        ];
        let mut config = porter_config_new();
        for (limits, message) in refused {
            let e = format!("{:?}", limits.to_limits().unwrap_err());
            assert!(e.contains(message), "{e}");
            let code = porter_config_limits(config.as_deref_mut(), Some(&limits));
            assert_eq!(code, crate::error::PORTER_ERR_INVALID, "{message}");
        }
        porter_config_free(config);
    }
}

#[cfg(test)]
mod tls_tests {
    use super::*;
    use crate::error::{PORTER_ERR_INVALID, PORTER_ERR_IO, PORTER_ERR_NULL};

    #[test]
    fn tls_files_are_checked_when_given() {
        let mut config = porter_config_new();
        let missing = c"/nonexistent/porter.pem".as_ptr();
        let addr = c"127.0.0.1:0".as_ptr();
        assert_eq!(porter_config_tls_files(config.as_deref_mut(), addr, missing, missing), PORTER_ERR_IO);
        assert_eq!(porter_config_tls_files(config.as_deref_mut(), std::ptr::null(), missing, missing), PORTER_ERR_NULL);
        assert_eq!(porter_config_tls_files(None, addr, missing, missing), PORTER_ERR_NULL);
        assert_eq!(porter_config_listen(config.as_deref_mut(), c"not an address".as_ptr()), PORTER_ERR_INVALID);
        porter_config_free(config);
    }
}
