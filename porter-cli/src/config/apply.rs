//! From a checked [`Config`] to a `porter::ServerBuilder`: the one place
//! where listener and logging settings meet the library. Settings the library
//! cannot honour yet are named by [`unsupported`], and `porter --config`
//! refuses to start with them rather than ignore them (`porter check` accepts
//! them: the file is valid).

use std::net::SocketAddr;

use porter::{ListenOptions, Server, ServerBuilder};

use super::{AccessLog, Config, ListenSource, LocationKind, LogFormat};

/// The builder for `config`: threads, limits, server name, access log and every listener.
pub fn apply(config: &Config) -> Result<ServerBuilder, String> {
    let mut builder = Server::builder()
        .threads(config.threads)
        .limits(config.limits.clone())
        .server_name(config.server_name.as_deref())
        // WIRING (access log): file target and format from `config.log`.
        .access_log(config.log.access != AccessLog::Off);
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

fn tls_config(pairs: &[super::TlsFiles]) -> Result<Option<porter::TlsConfig>, String> {
    let Some((first, rest)) = pairs.split_first() else { return Ok(None) };
    let loaded = porter::TlsConfig::from_pem_files(&first.cert, &first.key);
    let config = rest.iter().try_fold(loaded.map_err(|e| e.to_string())?, |config, pair| {
        config.add_pem_files(&pair.cert, &pair.key).map_err(|e| e.to_string())
    })?;
    Ok(Some(config))
}

/// Settings in `config` this build parses but cannot honour yet, one line
/// each; empty when it can run as written. (Each goes away as the library
/// feature is wired in `apply` or `site::build`.)
pub fn unsupported(config: &Config) -> Vec<String> {
    let mut missing = Vec::new();
    if let AccessLog::File(path) = &config.log.access {
        missing.push(format!("`access = \"{}\"` (an access log file)", path.display()));
    }
    if config.log.format != LogFormat::Porter {
        missing.push("`format` in [log] (combined and JSON access logs)".to_string());
    }
    let locations = config.hosts.iter().flat_map(|h| &h.locations);
    if locations.into_iter().any(|l| matches!(l.kind, LocationKind::Metrics)) {
        missing.push("`metrics = true` locations".to_string());
    }
    missing
}
