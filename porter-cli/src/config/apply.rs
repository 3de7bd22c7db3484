//! From a checked [`Config`] to a `porter::ServerBuilder`: the one place
//! where listener, logging and metrics settings meet the library.

use std::net::SocketAddr;

use porter::{ListenOptions, Server, ServerBuilder};

use super::{AccessLog, Config, ListenSource, Listener, LocationKind};

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
        let options = listen_options(listener)?;
        builder = match &listener.source {
            ListenSource::Address(addrs) => builder.listen_with(&addrs[..], options),
            ListenSource::Systemd => builder.listen_systemd_with(options),
        };
    }
    Ok(builder)
}

/// How `listener` speaks: its certificates loaded (PEM files read now) and the PROXY protocol.
pub fn listen_options(listener: &Listener) -> Result<ListenOptions, String> {
    let options = ListenOptions::new().proxy_protocol(listener.proxy_protocol);
    Ok(match tls_config(&listener.tls)? {
        Some(tls) => options.tls(tls),
        None => options,
    })
}

/// One socket a running server listens on, and the config entry it is for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bound {
    /// The address as the file gives it (port 0 stays 0); `None`: a socket systemd passed.
    pub named: Option<SocketAddr>,
    /// The address bound.
    pub addr: SocketAddr,
    /// HTTPS.
    pub tls: bool,
}

impl Bound {
    /// `http://ADDR` or `https://ADDR`.
    pub fn url(&self) -> String {
        format!("{}://{}", if self.tls { "https" } else { "http" }, self.addr)
    }
}

/// Pairs `config`'s listeners with `bound`, the addresses `Server::local_addrs` lists (in the same order).
pub fn bound(config: &Config, bound: &[SocketAddr]) -> Vec<Bound> {
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
    let entries = config.listeners.iter().flat_map(|l| {
        let names: Vec<Option<SocketAddr>> = match &l.source {
            ListenSource::Address(addrs) => addrs.iter().copied().map(Some).collect(),
            ListenSource::Systemd => vec![None; inherited],
        };
        names.into_iter().map(|named| (named, !l.tls.is_empty()))
    });
    bound.iter().zip(entries).map(|(&addr, (named, tls))| Bound { named, addr, tls }).collect()
}

/// `[log]` as the library's access log (None: `access = "off"`).
pub fn access_log(config: &Config) -> Option<porter::AccessLog> {
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
