//! The command line: every flag, its default, and the checks clap does for us.
//!
//! A bad flag or value ends the process in clap's usual way (a message and exit
//! status 2). Addresses are resolved here, so `--listen nowhere:80` is a flag
//! error too; everything that needs the filesystem or the network (the root
//! directory, binding the port) is checked later, in `main`.
//!
//! `--config FILE` takes everything from a config file (see `config`); only
//! the flags in [`WITH_CONFIG`] may be given with it, and every other flag is
//! refused as conflicting (a new flag too, until it is added there): both the
//! conflicts and `--config`'s help are made from that list, in [`command`].
//! `porter check FILE` validates a config file.

use std::net::{SocketAddr, ToSocketAddrs};
use std::path::PathBuf;
use std::time::Duration;

use clap::{CommandFactory, FromArgMatches, Parser};

/// porter: serve a directory over HTTP/1.1.
///
/// With no --root, porter serves a small built-in demo site (and /plaintext,
/// "Hello, World!", for benchmarks).
#[derive(Debug, Parser)]
#[command(name = "porter", version)]
#[command(args_conflicts_with_subcommands = true)]
pub struct Args {
    // Its help and conflicts come from WITH_CONFIG (see `command`).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    #[command(subcommand)]
    pub command: Option<Command>,

    /// Address to listen on, as HOST:PORT (repeat for several)
    /// [default: 127.0.0.1:8080 when no --tls-listen is given either]
    #[arg(long, value_name = "ADDR", value_parser = parse_listen)]
    pub listen: Vec<ListenAddr>,

    /// HTTPS address to listen on, as HOST:PORT (repeat for several); beside --listen,
    /// or alone for HTTPS only
    #[arg(long, value_name = "ADDR", value_parser = parse_listen, requires = "tls_cert")]
    pub tls_listen: Vec<ListenAddr>,

    /// PEM certificate chain for HTTPS, paired in order with --tls-key. Repeat for
    /// SNI: the first pair is the default, later ones serve the DNS names in their certificates
    #[arg(long, value_name = "FILE", requires = "tls_listen")]
    pub tls_cert: Vec<PathBuf>,

    /// PEM private key for the --tls-cert at the same position
    #[arg(long, value_name = "FILE")]
    pub tls_key: Vec<PathBuf>,

    /// Serve the files under this directory [default: the built-in demo site]
    #[arg(long, value_name = "DIR")]
    pub root: Option<PathBuf>,

    /// Worker threads; 0 means one per CPU core
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub threads: usize,

    /// Do not log a line per request (the access log goes to stderr by default)
    #[arg(long)]
    pub no_access_log: bool,

    /// Append the access log to FILE instead of stderr (reopened on SIGUSR1, for log rotation)
    #[arg(long, value_name = "FILE")]
    pub access_log_file: Option<PathBuf>,

    /// Access log lines: Apache/nginx combined format, or one JSON object per line
    #[arg(long, value_name = "FORMAT", default_value = "combined", value_parser = ["combined", "json"])]
    pub log_format: String,

    /// Print only warnings and errors: no startup line, no access log
    #[arg(long, short)]
    pub quiet: bool,

    /// Largest request body accepted, in bytes; larger bodies get 413
    #[arg(long, value_name = "BYTES", default_value_t = porter::Limits::default().max_body)]
    pub max_body: u64,

    /// Seconds a client has to send a whole request head; then 408
    #[arg(long, value_name = "SECS", default_value_t = porter::Limits::default().header_timeout.as_secs())]
    pub header_timeout: u64,

    /// Seconds an idle keep-alive connection is kept open
    #[arg(long, value_name = "SECS", default_value_t = porter::Limits::default().idle_timeout.as_secs())]
    pub idle_timeout: u64,

    /// Serve an HTML listing of directories that have no index file
    #[arg(long)]
    pub listing: bool,

    /// The file that serves a directory asked for with a trailing slash
    #[arg(long, value_name = "NAME", default_value = "index.html")]
    pub index: String,

    /// Cache-Control value for files no --cache rule matches (the demo site: no-cache)
    #[arg(long, value_name = "VALUE")]
    pub cache_control: Option<String>,

    /// Cache-Control for files matching a pattern, as PATTERN=VALUE: `*.css=max-age=3600`,
    /// `/assets/**=max-age=31536000, immutable` (repeat; the first match wins)
    #[arg(long = "cache", value_name = "PATTERN=VALUE", value_parser = parse_cache_rule)]
    pub cache_rules: Vec<CacheRule>,

    /// Do not serve precompressed NAME.br / NAME.gz siblings
    #[arg(long)]
    pub no_precompressed: bool,

    /// Follow symlinks that lead out of the root (by default only those that stay inside)
    #[arg(long)]
    pub follow_symlinks: bool,

    /// Serve dotfiles and dot-directories (hidden by default)
    #[arg(long)]
    pub hidden_files: bool,

    /// Most open connections per worker thread
    #[arg(long, value_name = "N", default_value_t = porter::Limits::default().max_connections)]
    pub max_connections: usize,

    /// On SIGTERM or SIGINT, seconds to let requests in flight finish before
    /// closing what is left (a second signal stops at once)
    #[arg(long, value_name = "SECS", default_value_t = 30)]
    pub shutdown_grace: u64,

    /// On SIGTERM or SIGINT, seconds to go on accepting and serving first, every
    /// reply saying `Connection: close` and health checks answering 503,
    /// so that a load balancer stops sending clients before porter stops accepting
    /// (`[server] drain_delay` in a config file wins)
    #[arg(long, value_name = "SECS", default_value_t = 0)]
    pub drain_delay: u64,
}

/// The flags that may be given with `--config` (by their ids); a config file
/// replaces every other one.
pub const WITH_CONFIG: [&str; 4] = ["quiet", "no_access_log", "shutdown_grace", "drain_delay"];

/// The plain-HTTP address when no listener at all is given.
const DEFAULT_LISTEN: &str = "127.0.0.1:8080";

/// The command line's definition: [`Args`]' flags, with `--config`'s help and
/// conflicts made from [`WITH_CONFIG`].
pub fn command() -> clap::Command {
    let command = Args::command();
    let flags: Vec<clap::Id> = command.get_arguments().map(|a| a.get_id().clone()).collect();
    let allowed: Vec<String> = WITH_CONFIG
        .iter()
        .filter_map(|id| command.get_arguments().find(|a| a.get_id() == id))
        .filter_map(|a| a.get_long().map(|long| format!("--{long}")))
        .collect();
    let conflicts = flags.into_iter().filter(|id| id != "config" && !WITH_CONFIG.contains(&id.as_str()));
    let help = format!(
        "Run the server described by this config file (see examples/config/porter.toml in porter's \
         repository); only {} may be given with it",
        list(&allowed)
    );
    command.mut_arg("config", |arg| arg.help(help).conflicts_with_all(conflicts))
}

impl Args {
    /// The command line of this process, parsed by [`command`]; a flag error
    /// ends the process as clap does.
    pub fn from_env() -> Args {
        Args::from_arg_matches(&command().get_matches()).unwrap_or_else(|e| e.exit())
    }
}

/// `a`, `a and b`, `a, b and c`.
fn list(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

/// `porter SUBCOMMAND`.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Check a config file: print each problem as FILE:LINE:COL: message
    /// (exit status 1), or a one-line summary (exit status 0)
    Check {
        /// The config file
        file: PathBuf,
    },
}

/// The static-file options: from the flags, or from a config file's `root` location.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileOptions {
    /// The file that serves a directory (`--index`).
    pub index: String,
    /// HTML listings of directories without an index file (`--listing`).
    pub listing: bool,
    /// Cache-Control for files no rule matches (`--cache-control`).
    pub cache_control: Option<String>,
    /// Cache-Control per path pattern, first match wins (`--cache`).
    pub cache_rules: Vec<CacheRule>,
    /// Serve `.br`/`.gz` siblings (off with `--no-precompressed`).
    pub precompressed: bool,
    /// Follow symlinks out of the root (`--follow-symlinks`).
    pub follow_symlinks: bool,
    /// Serve dotfiles (`--hidden-files`).
    pub hidden_files: bool,
}

impl Default for FileOptions {
    fn default() -> Self {
        FileOptions {
            index: "index.html".into(),
            listing: false,
            cache_control: None,
            cache_rules: Vec::new(),
            precompressed: true,
            follow_symlinks: false,
            hidden_files: false,
        }
    }
}

impl FileOptions {
    /// Applies these options to `files`; `default_cache` is the Cache-Control
    /// used when no `cache_control` is set.
    pub fn configure(&self, files: porter::Files, default_cache: Option<&str>) -> std::io::Result<porter::Files> {
        let mut files = files
            .index_file(&self.index)
            .listing(self.listing)
            .precompressed(self.precompressed)
            .follow_symlinks(self.follow_symlinks)
            .hidden_files(self.hidden_files);
        for rule in &self.cache_rules {
            files = files.cache_rule(&rule.pattern, &rule.value)?;
        }
        match self.cache_control.as_deref().or(default_cache) {
            Some(value) => files.cache_control(value),
            None => Ok(files),
        }
    }
}

/// One `--cache PATTERN=VALUE` rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CacheRule {
    /// The path pattern (see `porter::Files::cache_rule`).
    pub pattern: String,
    /// The Cache-Control value.
    pub value: String,
}

/// One `--listen` value: every address its host name resolved to.
#[derive(Clone, Debug)]
pub struct ListenAddr(pub Vec<SocketAddr>);

impl Args {
    /// Every plain-HTTP address to listen on, in the order given; with no
    /// --listen and no --tls-listen, 127.0.0.1:8080 (HTTPS alone opens no plain port).
    pub fn addrs(&self) -> Vec<SocketAddr> {
        if self.listen.is_empty() && self.tls_listen.is_empty() {
            return DEFAULT_LISTEN.parse().into_iter().collect();
        }
        self.listen.iter().flat_map(|l| l.0.iter().copied()).collect()
    }

    /// Every HTTPS address to listen on, in the order given.
    pub fn tls_addrs(&self) -> Vec<SocketAddr> {
        self.tls_listen.iter().flat_map(|l| l.0.iter().copied()).collect()
    }

    /// The TLS configuration from the --tls-cert/--tls-key pairs (`None` without any).
    pub fn tls_config(&self) -> Result<Option<porter::TlsConfig>, String> {
        if self.tls_cert.len() != self.tls_key.len() {
            return Err(format!(
                "{} --tls-cert but {} --tls-key: give them in pairs",
                self.tls_cert.len(),
                self.tls_key.len()
            ));
        }
        let mut pairs = self.tls_cert.iter().zip(&self.tls_key);
        let Some((cert, key)) = pairs.next() else { return Ok(None) };
        let mut config = porter::TlsConfig::from_pem_files(cert, key).map_err(|e| e.to_string())?;
        for (cert, key) in pairs {
            config = config.add_pem_files(cert, key).map_err(|e| e.to_string())?;
        }
        Ok(Some(config))
    }

    /// True when a line per request should be logged.
    pub fn access_log(&self) -> bool {
        !self.no_access_log && !self.quiet
    }

    /// The access log the flags ask for: None when it is off.
    pub fn access_log_config(&self) -> Option<porter::AccessLog> {
        if !self.access_log() {
            return None;
        }
        let log = match &self.access_log_file {
            Some(path) => porter::AccessLog::file(path),
            None => porter::AccessLog::stderr(),
        };
        // clap admits only the names LogFormat parses.
        Some(log.format(self.log_format.parse().unwrap_or_default()))
    }

    /// Applies the static-file flags to `files`; `default_cache` is the
    /// Cache-Control used when `--cache-control` is not given.
    pub fn configure(&self, files: porter::Files, default_cache: Option<&str>) -> std::io::Result<porter::Files> {
        self.file_options().configure(files, default_cache)
    }

    /// The static-file flags as [`FileOptions`].
    pub fn file_options(&self) -> FileOptions {
        FileOptions {
            index: self.index.clone(),
            listing: self.listing,
            cache_control: self.cache_control.clone(),
            cache_rules: self.cache_rules.clone(),
            precompressed: !self.no_precompressed,
            follow_symlinks: self.follow_symlinks,
            hidden_files: self.hidden_files,
        }
    }

    /// porter's defaults with the limits given on the command line, unchecked:
    /// `ServerBuilder::build` checks them (`porter::Limits::validate`) and its
    /// error is what porter reports.
    pub fn limits(&self) -> porter::Limits {
        porter::Limits {
            max_body: self.max_body,
            header_timeout: Duration::from_secs(self.header_timeout),
            idle_timeout: Duration::from_secs(self.idle_timeout),
            max_connections: self.max_connections,
            ..porter::Limits::default()
        }
    }
}

fn parse_cache_rule(value: &str) -> Result<CacheRule, String> {
    match value.split_once('=') {
        Some((pattern, rule)) if !pattern.trim().is_empty() && !rule.trim().is_empty() => {
            Ok(CacheRule { pattern: pattern.trim().to_string(), value: rule.trim().to_string() })
        }
        _ => Err("expected PATTERN=VALUE, e.g. *.css=max-age=3600".into()),
    }
}

fn parse_listen(value: &str) -> Result<ListenAddr, String> {
    let addrs: Vec<SocketAddr> = value.to_socket_addrs().map_err(|e| format!("{e} (expected HOST:PORT)"))?.collect();
    if addrs.is_empty() {
        return Err("resolves to no address".into());
    }
    Ok(ListenAddr(addrs))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn parse(args: &[&str]) -> Result<Args, clap::Error> {
        let matches = command().try_get_matches_from(std::iter::once("porter").chain(args.iter().copied()))?;
        Args::from_arg_matches(&matches)
    }

    #[test]
    fn command_is_well_formed() {
        command().debug_assert();
    }

    #[test]
    fn defaults() {
        let args = parse(&[]).unwrap();
        assert_eq!(args.addrs(), vec!["127.0.0.1:8080".parse::<SocketAddr>().unwrap()]);
        assert_eq!((args.root.is_none(), args.threads, args.access_log()), (true, 0, true));
        assert_eq!(args.limits(), porter::Limits::default());
    }

    #[test]
    fn listen_repeats_and_replaces_the_default() {
        let args = parse(&["--listen", "127.0.0.1:1", "--listen", "[::1]:2"]).unwrap();
        let want: Vec<SocketAddr> = vec!["127.0.0.1:1".parse().unwrap(), "[::1]:2".parse().unwrap()];
        assert_eq!(args.addrs(), want);
    }

    #[test]
    fn tls_flags_pair_up() {
        let args = parse(&["--tls-listen", "127.0.0.1:8443", "--tls-cert", "a.pem", "--tls-key", "a.key"]).unwrap();
        assert_eq!(args.tls_addrs(), vec!["127.0.0.1:8443".parse::<SocketAddr>().unwrap()]);
        assert!(args.addrs().is_empty(), "HTTPS only: no default plain listener");
        let both =
            parse(&["--listen", "127.0.0.1:1", "--tls-listen", "127.0.0.1:2", "--tls-cert", "a", "--tls-key", "k"]);
        assert_eq!(both.unwrap().addrs(), vec!["127.0.0.1:1".parse::<SocketAddr>().unwrap()]);
        let odd = parse(&["--tls-listen", "127.0.0.1:8443", "--tls-cert", "a.pem"]).unwrap();
        assert!(odd.tls_config().unwrap_err().contains("pairs"));
        assert!(parse(&["--tls-listen", "127.0.0.1:8443"]).is_err(), "no certificate");
        assert!(parse(&["--tls-cert", "a.pem", "--tls-key", "a.key"]).is_err(), "no HTTPS address");
        assert!(parse(&[]).unwrap().tls_config().unwrap().is_none());
    }

    #[test]
    fn limits_are_applied() {
        let args =
            parse(&["--max-body", "10", "--header-timeout", "3", "--idle-timeout", "4", "--max-connections", "5"])
                .unwrap();
        let limits = args.limits();
        assert_eq!(limits.max_body, 10);
        assert_eq!(limits.header_timeout, Duration::from_secs(3));
        assert_eq!(limits.idle_timeout, Duration::from_secs(4));
        assert_eq!(limits.max_connections, 5);
    }

    #[test]
    fn static_file_flags() {
        let args = parse(&[]).unwrap();
        assert!(!args.listing && !args.no_precompressed && !args.follow_symlinks && !args.hidden_files);
        assert_eq!((args.index.as_str(), args.cache_control.as_deref()), ("index.html", None));
        let args = parse(&[
            "--listing",
            "--index",
            "home.html",
            "--cache-control",
            "no-cache",
            "--cache",
            "*.css=max-age=60",
            "--cache",
            "/assets/**=max-age=31536000, immutable",
            "--no-precompressed",
            "--follow-symlinks",
            "--hidden-files",
        ])
        .unwrap();
        assert!(args.listing && args.no_precompressed && args.follow_symlinks && args.hidden_files);
        assert_eq!(args.index, "home.html");
        let rule = |p: &str, v: &str| CacheRule { pattern: p.into(), value: v.into() };
        assert_eq!(args.cache_rules, [rule("*.css", "max-age=60"), rule("/assets/**", "max-age=31536000, immutable")]);
        let files = porter::Files::new(std::env::temp_dir()).unwrap();
        assert!(args.configure(files, None).is_ok());
        for bad in ["*.css", "=x", "*.css=", "*.css= "] {
            assert!(parse(&["--cache", bad]).is_err(), "{bad:?}");
        }
        let bad_value = parse(&["--cache-control", "a\u{1}"]).unwrap();
        assert!(bad_value.configure(porter::Files::new(std::env::temp_dir()).unwrap(), None).is_err());
    }

    #[test]
    fn config_takes_only_the_flags_its_help_names() {
        let args = parse(&[
            "--config",
            "porter.toml",
            "--quiet",
            "--no-access-log",
            "--shutdown-grace",
            "5",
            "--drain-delay",
            "1",
        ])
        .unwrap();
        assert_eq!(args.config.as_deref(), Some(std::path::Path::new("porter.toml")));
        let mut command = command();
        let help = command.render_help().to_string();
        assert!(
            help.contains("only --quiet, --no-access-log, --shutdown-grace and --drain-delay may be given with it"),
            "{help}"
        );
        // The example the help names is in the repository.
        let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/config/porter.toml");
        assert!(help.contains("examples/config/porter.toml") && example.is_file());
        // Every other flag conflicts, whichever it is.
        let config = command.get_arguments().find(|a| a.get_id() == "config").unwrap();
        let mut conflicting: Vec<&str> =
            command.get_arg_conflicts_with(config).iter().map(|a| a.get_id().as_str()).collect();
        let mut others: Vec<&str> = command
            .get_arguments()
            .map(|a| a.get_id().as_str())
            .filter(|id| !["config", "help", "version"].contains(id) && !WITH_CONFIG.contains(id))
            .collect();
        conflicting.sort_unstable();
        others.sort_unstable();
        assert_eq!(conflicting, others);
        for flag in [
            &["--listen", "127.0.0.1:1"][..],
            &["--root", "."],
            &["--threads", "2"],
            &["--max-body", "10"],
            &["--listing"],
            &["--cache", "*.css=max-age=1"],
            &["--tls-listen", "127.0.0.1:2", "--tls-cert", "c", "--tls-key", "k"],
        ] {
            let with_config: Vec<&str> = ["--config", "porter.toml"].iter().chain(flag).copied().collect();
            let err = parse(&with_config).unwrap_err();
            assert_eq!(err.kind(), clap::error::ErrorKind::ArgumentConflict, "{flag:?}");
        }
    }

    #[test]
    fn check_is_a_subcommand() {
        let args = parse(&["check", "porter.toml"]).unwrap();
        assert!(matches!(args.command, Some(Command::Check { ref file }) if file.as_os_str() == "porter.toml"));
        assert!(parse(&["check"]).is_err(), "check needs a file");
        assert!(parse(&["--root", ".", "check", "porter.toml"]).is_err(), "no flags beside check");
    }

    #[test]
    fn file_flags_become_file_options() {
        let defaults = parse(&[]).unwrap().file_options();
        assert_eq!(defaults, FileOptions::default());
        let args = parse(&["--no-precompressed", "--index", "home.html"]).unwrap().file_options();
        assert_eq!((args.precompressed, args.index.as_str()), (false, "home.html"));
    }

    #[test]
    fn quiet_and_no_access_log_turn_the_log_off() {
        assert!(!parse(&["--quiet"]).unwrap().access_log());
        assert!(!parse(&["--no-access-log"]).unwrap().access_log());
    }

    #[test]
    fn bad_values_are_flag_errors() {
        for bad in [
            &["--listen", "nonsense"][..],
            &["--listen", "127.0.0.1"],
            &["--threads", "-1"],
            &["--header-timeout", "-1"],
            &["--max-connections", "many"],
            &["--max-body", "lots"],
            &["--frobnicate"],
        ] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
    }
}
