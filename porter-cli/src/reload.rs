//! Reloading the config file on SIGHUP, without a restart.
//!
//! The file is read and checked as `porter check` does; an invalid file is
//! reported problem by problem and changes nothing. A valid one is applied in
//! an order that keeps the old configuration whole if a step fails: the new
//! site is built (every root, htpasswd file and error page loaded), then the
//! certificates, then new listeners are opened and the access log is opened;
//! if any of that fails, what was opened is closed again. Only then does the
//! new site replace the old one (requests under way finish on the old: see
//! `site::live`), listeners that stay get their new certificates, and the
//! listeners the file no longer names are closed.
//!
//! Listeners are matched by the address the file gives (so `127.0.0.1:0`
//! keeps the port it got). A listener the file drops is closed before a new
//! one that needs its port opens (`127.0.0.1:8080` moved to `0.0.0.0:8080`),
//! leaving a short gap in which that port refuses connections; if the reload
//! then fails, it is opened again. Sockets systemd passed stay while the file keeps
//! its `systemd = true` listener; one cannot be added by a reload. The
//! `drain_delay` applies to the next SIGTERM. What the workers were built with
//! (threads, `[server.limits]`, `server_name`, and whether metrics are
//! counted) changes only with a restart: a reload whose file differs from what
//! runs says so in a warning (each time, until the file matches again).

use std::net::SocketAddr;
use std::time::Duration;

use porter::{ListenOptions, ShutdownHandle};

use crate::config::{self, Bound, Config, ListenSource};
use crate::site::live::Live;

/// What a reload needs: the running configuration and the handles to change it.
pub struct Reloader {
    /// The configuration being served (and the file it came from).
    pub config: Config,
    /// Its listeners' sockets.
    pub bound: Vec<Bound>,
    /// The site requests see.
    pub site: Live,
    /// The server's counters (shown by `metrics` locations).
    pub metrics: porter::Metrics,
    /// Listeners and the access log of the running server.
    pub control: ShutdownHandle,
    /// False with `--quiet` or `--no-access-log`: no access log, whatever the file says.
    pub access_log: bool,
    /// `--drain-delay`: the lame-duck period when the file sets none.
    pub drain_delay: Duration,
    /// What the workers were built with (the file loaded at startup).
    pub built: Fixed,
}

/// The settings the workers are built with, which change only with a restart.
#[derive(Debug)]
pub struct Fixed {
    threads: usize,
    limits: porter::Limits,
    server_name: Option<String>,
    counts_metrics: bool,
}

impl Fixed {
    /// What a server built from `config` runs with.
    pub fn of(config: &Config) -> Fixed {
        let metrics = |l: &config::Location| matches!(l.kind, config::LocationKind::Metrics);
        Fixed {
            threads: config.threads,
            limits: config.limits.clone(),
            server_name: config.server_name.clone(),
            counts_metrics: config.hosts.iter().flat_map(|h| &h.locations).any(metrics),
        }
    }

    /// The settings of `new` that differ from these.
    fn changed_in(&self, new: &Config) -> Vec<&'static str> {
        let new = Fixed::of(new);
        let mut changed = Vec::new();
        if self.threads != new.threads {
            changed.push("[server] threads");
        }
        if self.limits != new.limits {
            changed.push("[server.limits]");
        }
        if self.server_name != new.server_name {
            changed.push("[server] server_name");
        }
        if new.counts_metrics && !self.counts_metrics {
            changed.push("counting metrics for a new `metrics` location");
        }
        changed
    }
}

/// A socket of the new configuration.
struct Planned {
    named: Option<SocketAddr>,
    /// Its socket: a running one it keeps, or (once opened) a new one.
    addr: Option<SocketAddr>,
    /// True when it keeps a running socket.
    kept: bool,
    options: ListenOptions,
    tls: bool,
}

impl Reloader {
    /// `serving FILE on URLS`, for the startup line.
    pub fn serving(&self) -> String {
        format!("serving {} on {}", self.config.file.display(), self.urls().join(", "))
    }

    fn urls(&self) -> Vec<String> {
        self.bound.iter().map(Bound::url).collect()
    }

    /// Re-reads the file and applies it, or logs why not and keeps serving as before.
    pub fn reload(&mut self) {
        let file = self.config.file.display().to_string();
        let config = match config::load(&self.config.file) {
            Ok(config) => config,
            Err(problems) => {
                for problem in &problems {
                    log::error!("{problem}");
                }
                let summary = config::problems_summary(&problems, &self.config.file);
                return log::error!("SIGHUP: {summary}; still serving the previous configuration");
            }
        };
        match self.apply(config) {
            Ok(urls) => log::warn!("SIGHUP: reloaded {file}: serving on {}", urls.join(", ")),
            Err(e) => log::error!("SIGHUP: cannot apply {file}: {e}; still serving the previous configuration"),
        }
    }

    /// Applies a checked configuration; returns the URLs served.
    fn apply(&mut self, config: Config) -> Result<Vec<String>, String> {
        let site = crate::site::build(&config, &self.metrics)?;
        let mut planned = self.plan(&config)?;
        let freed = self.free_ports(&planned);
        let opened = self.open(&mut planned).inspect_err(|_| self.restore(&freed))?;
        if let Err(e) = self.switch_log(&config) {
            self.close(opened);
            self.restore(&freed);
            return Err(e);
        }
        self.site.replace(site);
        self.control.set_shutdown_delay(config.drain_delay.unwrap_or(self.drain_delay));
        for restart in self.built.changed_in(&config) {
            log::warn!("SIGHUP: {restart} changes only when porter restarts");
        }
        let mut bound = Vec::new();
        for plan in planned {
            let Some(addr) = plan.addr else { continue };
            // Only fails for a TLS setup rustls refuses: new connections then get the old certificates.
            if let Err(e) = plan.kept.then(|| self.control.listen(addr, plan.options)).transpose() {
                log::error!("SIGHUP: listener {addr} keeps its old settings: {e}");
            }
            bound.push(Bound { named: plan.named, addr, tls: plan.tls });
        }
        let gone = self.bound.iter().map(|b| b.addr).filter(|old| !bound.iter().any(|b| b.addr == *old));
        let gone = gone.filter(|old| !freed.contains(old));
        self.close(gone.collect::<Vec<_>>());
        self.config = config;
        self.bound = bound;
        Ok(self.urls())
    }

    /// The new configuration's listeners, each kept from the running ones or to be opened.
    fn plan(&self, config: &Config) -> Result<Vec<Planned>, String> {
        let mut unclaimed: Vec<&Bound> = self.bound.iter().collect();
        let mut planned = Vec::new();
        for listener in &config.listeners {
            let names: Vec<Option<SocketAddr>> = match &listener.source {
                ListenSource::Address(addrs) => addrs.iter().copied().map(Some).collect(),
                ListenSource::Systemd => {
                    let inherited: Vec<_> = self.bound.iter().filter(|b| b.named.is_none()).collect();
                    if inherited.is_empty() {
                        return Err("the sockets systemd passes can be taken only at startup: restart porter".into());
                    }
                    vec![None; inherited.len()]
                }
            };
            let options = config::listen_options(listener)?;
            for named in names {
                let at = unclaimed.iter().position(|b| b.named == named);
                let addr = at.map(|at| unclaimed.remove(at).addr);
                let tls = !listener.tls.is_empty();
                planned.push(Planned { named, addr, kept: addr.is_some(), options: options.clone(), tls });
            }
        }
        Ok(planned)
    }

    /// Opens a socket for every planned listener that has none; returns
    /// their addresses. On a failure closes those opened and fails.
    fn open(&self, planned: &mut [Planned]) -> Result<Vec<SocketAddr>, String> {
        let mut opened = Vec::new();
        for plan in planned.iter_mut().filter(|p| p.addr.is_none()) {
            let Some(named) = plan.named else { continue };
            match self.control.listen(named, plan.options.clone()) {
                Ok(addr) => {
                    plan.addr = Some(addr);
                    opened.push(addr);
                }
                Err(e) => {
                    self.close(opened);
                    return Err(e.to_string());
                }
            }
        }
        Ok(opened)
    }

    /// Closes the running listeners the new file drops whose port a listener
    /// it adds needs (`127.0.0.1:8080` moved to `0.0.0.0:8080`: one port is
    /// not bound twice), before that one opens; returns their addresses. In
    /// the short gap between, connections to that port are refused.
    fn free_ports(&self, planned: &[Planned]) -> Vec<SocketAddr> {
        let kept: Vec<SocketAddr> = planned.iter().filter_map(|p| p.addr).collect();
        let added: Vec<SocketAddr> = planned.iter().filter(|p| p.addr.is_none()).filter_map(|p| p.named).collect();
        let freed: Vec<SocketAddr> = (self.bound.iter().map(|b| b.addr))
            .filter(|old| !kept.contains(old) && added.iter().any(|new| same_port(*new, *old)))
            .collect();
        self.close(freed.iter().copied());
        freed
    }

    /// Opens again, as they were, the listeners [`Reloader::free_ports`] closed
    /// for a reload that then failed.
    fn restore(&self, freed: &[SocketAddr]) {
        let Ok(running) = self.plan(&self.config) else { return };
        let again = running.into_iter().filter_map(|p| p.addr.filter(|a| freed.contains(a)).map(|a| (a, p.options)));
        for (addr, options) in again {
            if let Err(e) = self.control.listen(addr, options) {
                log::error!("SIGHUP: cannot reopen listener {addr}: {e}");
            }
        }
    }

    /// Replaces the access log when the `[log]` settings changed.
    fn switch_log(&self, config: &Config) -> Result<(), String> {
        if config.log == self.config.log || !self.access_log {
            return Ok(());
        }
        self.control.set_access_log(config::access_log(config)).map_err(|e| e.to_string())
    }

    fn close(&self, addrs: impl IntoIterator<Item = SocketAddr>) {
        for addr in addrs {
            if let Err(e) = self.control.stop_listening(addr) {
                log::error!("SIGHUP: closing listener {addr}: {e}");
            }
        }
    }
}

/// True when `a` and `b` cannot both be bound: one port, and one address or a
/// wildcard on either side.
fn same_port(a: SocketAddr, b: SocketAddr) -> bool {
    a.port() == b.port() && a.port() != 0 && (a.ip() == b.ip() || a.ip().is_unspecified() || b.ip().is_unspecified())
}
