//! From a checked [`Config`] to a `porter::ServerBuilder`: the one place
//! where listener, logging and metrics settings meet the library.

use std::net::SocketAddr;

use porter::{ListenOptions, Server, ServerBuilder};

use super::{AccessLog, Config, ListenSource, LocationKind};

/// The builder for `config`: threads, limits, server name, access log, every
/// listener, and `metrics` counting when a location shows them.
pub fn apply(config: &Config, metrics: &porter::Metrics) -> Result<ServerBuilder, String> {
    let mut builder = Server::builder()
        .threads(config.threads)
        .limits(config.limits.clone())
        .server_name(config.server_name.as_deref())
        .access_log(access_log(config));
    let mut locations = config.hosts.iter().flat_map(|h| &h.locations);
    if locations.any(|l| matches!(l.kind, LocationKind::Metrics)) {
        builder = builder.metrics(metrics);
    }
    for listener in &config.listeners {
        let mut options = ListenOptions::new().proxy_protocol(listener.proxy_protocol);
        if let Some(tls) = tls_config(&listener.tls)? {
            options = options.tls(tls);
        }
        builder = match &listener.source {
            ListenSource::Address(addrs) => builder.listen_with(&addrs[..], options),
            ListenSource::Systemd => builder.listen_systemd_with(options),
        };
    }
    Ok(builder)
}

/// The listeners' URLs in the order `Server::local_addrs` lists them, given those addresses.
pub fn urls(config: &Config, bound: &[SocketAddr]) -> Vec<String> {
    let named: usize = config
        .listeners
        .iter()
        .map(|l| match &l.source {
            ListenSource::Address(addrs) => addrs.len(),
            ListenSource::Systemd => 0,
        })
        .sum();
    // Systemd passes as many sockets as it likes: the bound addresses not named in the file.
    let inherited = bound.len().saturating_sub(named);
    let schemes = config.listeners.iter().flat_map(|l| {
        let scheme = if l.tls.is_empty() { "http" } else { "https" };
        let count = match &l.source {
            ListenSource::Address(addrs) => addrs.len(),
            ListenSource::Systemd => inherited,
        };
        std::iter::repeat_n(scheme, count)
    });
    bound.iter().zip(schemes).map(|(addr, scheme)| format!("{scheme}://{addr}")).collect()
}

/// `[log]` as the library's access log (None: `access = "off"`).
fn access_log(config: &Config) -> Option<porter::AccessLog> {
    let log = match &config.log.access {
        AccessLog::Off => return None,
        AccessLog::Stderr => porter::AccessLog::stderr(),
        AccessLog::File(path) => porter::AccessLog::file(path),
    };
    Some(log.format(config.log.format))
}

fn tls_config(pairs: &[super::TlsFiles]) -> Result<Option<porter::TlsConfig>, String> {
    let Some((first, rest)) = pairs.split_first() else { return Ok(None) };
    let loaded = porter::TlsConfig::from_pem_files(&first.cert, &first.key);
    let config = rest.iter().try_fold(loaded.map_err(|e| e.to_string())?, |config, pair| {
        config.add_pem_files(&pair.cert, &pair.key).map_err(|e| e.to_string())
    })?;
    Ok(Some(config))
}
