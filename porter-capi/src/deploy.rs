//! Running behind a load balancer, from C: listeners that expect the PROXY
//! protocol, the access log (and reopening it for log rotation), and
//! Prometheus metrics on a route.
//!
//! Invariants: as in `config`, a setter validates everything before it changes
//! the config, so a refused call leaves it as it was.

use std::os::raw::{c_char, c_int};

use porter::{AccessLog, ListenOptions, LogFormat, Metrics};

use crate::config::PorterConfig;
use crate::error::{guard, need, Error, PORTER_OK};
use crate::ffi;
use crate::server::PorterServer;

/// `porter_config_access_log` format: Apache/nginx Combined Log Format.
pub const PORTER_LOG_COMBINED: c_int = 0;
/// `porter_config_access_log` format: one JSON object per line.
pub const PORTER_LOG_JSON: c_int = 1;

/// Adds a plain-HTTP address whose connections start with a PROXY protocol
/// header (version 1 or 2, as HAProxy's `send-proxy`/`send-proxy-v2`, nginx,
/// and cloud balancers send): the client address it carries becomes
/// `porter_request_peer_addr`'s and the access log's. A connection without a
/// valid header is closed unanswered. Open it only where the balancer alone
/// can connect.
///
/// Errors: `PORTER_ERR_NULL`, `PORTER_ERR_INVALID` (does not parse or resolve).
/// Ownership: `addr` is read during the call only. Thread-safety: one thread
/// at a time per config.
#[no_mangle]
pub extern "C" fn porter_config_listen_proxy(config: Option<&mut PorterConfig>, addr: *const c_char) -> c_int {
    guard(|| crate::config::listen_on(config, addr, ListenOptions::new().proxy_protocol(true)))
}

/// Logs one line per reply, once its last byte is sent, to the file `path`
/// (appended, created if missing; opened when the server is made) or, with
/// `path` null, to stderr. `format` is `PORTER_LOG_COMBINED` or
/// `PORTER_LOG_JSON`. Lines are written by a thread of porter's, never by the
/// event loops; see `porter_server_reopen_logs` for log rotation.
///
/// Errors: `PORTER_ERR_NULL` (config), `PORTER_ERR_INVALID` (format, or `path`
/// not UTF-8). Ownership: `path` is read during the call only.
/// Thread-safety: one thread at a time per config.
#[no_mangle]
pub extern "C" fn porter_config_access_log(
    config: Option<&mut PorterConfig>,
    path: *const c_char,
    format: c_int,
) -> c_int {
    guard(|| {
        let config = need(config, "config")?;
        let format = match format {
            PORTER_LOG_COMBINED => LogFormat::Combined,
            PORTER_LOG_JSON => LogFormat::Json,
            other => return Err(Error::invalid(format!("unknown access log format {other}"))),
        };
        let log = match path.is_null() {
            true => AccessLog::stderr(),
            false => AccessLog::file(ffi::str_arg(path, "path")?),
        };
        config.access_log = Some(log.format(format));
        Ok(PORTER_OK)
    })
}

/// Counts requests, bytes, connections and request durations (per worker,
/// without locks) and serves them in Prometheus text format on `GET path`
/// (e.g. `"/metrics"`; a route pattern as for `porter_config_route`).
///
/// Errors: `PORTER_ERR_NULL`, `PORTER_ERR_INVALID` (a bad pattern, or metrics
/// already set). Ownership: `path` is read during the call only.
/// Thread-safety: one thread at a time per config.
#[no_mangle]
pub extern "C" fn porter_config_metrics(config: Option<&mut PorterConfig>, path: *const c_char) -> c_int {
    guard(|| {
        let config = need(config, "config")?;
        let path = ffi::str_arg(path, "path")?;
        if config.metrics.is_some() {
            return Err(Error::invalid("metrics are already served (porter_config_metrics)"));
        }
        let metrics = Metrics::new();
        config.add_route("GET", path, metrics.clone())?;
        config.metrics = Some(metrics);
        Ok(PORTER_OK)
    })
}

/// Reopens the access-log file (after logrotate renamed it; call it on
/// SIGUSR1 from a thread of yours, never from a handler): lines handed over
/// before the call go to the old file, later ones to the new one. Waits until
/// the log's writer thread has reopened it. Does nothing without a file log.
///
/// Errors: `PORTER_ERR_NULL`, `PORTER_ERR_IO` (the file cannot be reopened; the
/// old one stays in use). Thread-safety: any thread.
#[no_mangle]
pub extern "C" fn porter_server_reopen_logs(server: Option<&PorterServer>) -> c_int {
    guard(|| {
        let server = need(server, "server")?;
        server.shutdown_handle().reopen_logs().map_err(|e| Error::io("cannot reopen the access log", &e))?;
        Ok(PORTER_OK)
    })
}
