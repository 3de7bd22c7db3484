//! `porter`: serve a directory (or the built-in demo site) over HTTP/1.1.
//!
//! Parses the flags (`args`), sets up logging to stderr, builds the handler
//! (`porter::Files` for `--root`, else the embedded `demo` site; with
//! `--config FILE`, the hosts and locations of a `config` file, see `site`),
//! raises its open-file limit to the hard limit (as nginx's
//! `worker_rlimit_nofile` and Go do), binds, prints one startup line and runs
//! until SIGTERM or SIGINT (`signals`: a graceful drain, then exit status 0);
//! with `--config`, SIGHUP reloads the file (`reload`). `porter check FILE`
//! validates a config
//! file and exits. Every failure is one `porter: ...` line on
//! stderr (an invalid config file: then one line per problem) and exit status 1
//! (flag errors: clap's message and status 2).

mod args;
mod config;
mod demo;
mod reload;
mod signals;
mod site;

use std::io;
use std::process::ExitCode;

use porter::{Handler, Server};

use crate::args::Args;

fn main() -> ExitCode {
    let args = Args::from_env();
    if let Some(args::Command::Check { file }) = &args.command {
        return config::check(file);
    }
    init_logging();
    raise_fd_limit();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("porter: {message}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: &Args) -> Result<(), String> {
    if let Some(file) = &args.config {
        let (server, reloader) = config::server(file, args)?;
        let note = capacity_note(&server, reloader.config.limits.max_connections);
        let startup = format!("{} ({})", reloader.serving(), threads(reloader.config.threads, &note));
        return run_until_signalled(server, args, &startup, Some(reloader));
    }
    match &args.root {
        Some(dir) => {
            let files = porter::Files::new(dir).map_err(|e| format!("--root {}: {}", dir.display(), os_message(&e)))?;
            let what = files.root().map(|root| root.display().to_string()).unwrap_or_default();
            let files = args.configure(files, None).map_err(|e| e.to_string())?;
            serve(args, files, &what)
        }
        None => {
            let files = args.configure(demo::files(), Some("no-cache")).map_err(|e| e.to_string())?;
            serve(args, demo::site(files), "built-in demo site")
        }
    }
}

/// Binds every address, announces them and runs the server until the process ends.
fn serve(args: &Args, handler: impl Handler, what: &str) -> Result<(), String> {
    let server = Server::builder()
        .threads(args.threads)
        .limits(args.limits())
        .access_log(args.access_log_config())
        .shutdown_delay(std::time::Duration::from_secs(args.drain_delay));
    let server = args.addrs().into_iter().fold(server, |b, addr| b.listen(addr));
    // HTTPS listeners run beside the plain ones, on the same workers.
    let tls = args.tls_config()?;
    let server = match &tls {
        Some(tls) => args.tls_addrs().into_iter().fold(server, |b, addr| b.listen_tls(addr, tls.clone())),
        None => server,
    };
    let server = server.build(handler).map_err(|e| e.to_string())?;
    // `local_addrs` lists the plain addresses first, then the HTTPS ones.
    let plain = args.addrs().len();
    let urls: Vec<String> = server
        .local_addrs()
        .iter()
        .enumerate()
        .map(|(i, a)| if i < plain { format!("http://{a}") } else { format!("https://{a}") })
        .collect();
    let startup = format!(
        "serving {what} on {} ({})",
        urls.join(", "),
        threads(args.threads, &capacity_note(&server, args.max_connections))
    );
    run_until_signalled(server, args, &startup, None)
}

/// Takes the signals (see `signals`: SIGHUP reloads the config file through
/// `reloader`, if there is one), prints the startup line `porter: {startup}`
/// (unless `--quiet`: once it is out, every signal is handled), and runs
/// `server` until SIGTERM or SIGINT has drained it.
fn run_until_signalled(
    server: Server,
    args: &Args,
    startup: &str,
    reloader: Option<reload::Reloader>,
) -> Result<(), String> {
    let grace = std::time::Duration::from_secs(args.shutdown_grace);
    signals::drain_on_signals(server.shutdown_handle(), grace, reloader)
        .map_err(|e| format!("signal handling: {e}"))?;
    if !args.quiet {
        eprintln!("porter: {startup}");
    }
    server.run().map_err(|e| e.to_string())
}

/// `1 thread`, `4 threads`: the workers porter starts for `--threads N`, and
/// `note` (see [`capacity_note`]).
fn threads(requested: usize, note: &str) -> String {
    let n = thread_count(requested);
    format!("{n} thread{}{note}", if n == 1 { "" } else { "s" })
}

/// Raises the soft open-file limit to the hard one, so that the workers may
/// hold as many connections as the system allows; said at `info` level.
fn raise_fd_limit() {
    match porter::raise_fd_limit() {
        Ok(limit) if limit.now > limit.before => {
            log::info!("open-file limit raised from {} to {}", limit.before, limit.now)
        }
        Ok(_) => {}
        Err(e) => log::warn!("cannot raise the open-file limit: {e}"),
    }
}

/// For the startup line: `, at most N connections each (...)` when the
/// open-file limit holds fewer connections per worker than `max_connections`.
fn capacity_note(server: &Server, max_connections: usize) -> String {
    match server.connection_cap() {
        cap if cap < max_connections => format!(
            ", at most {cap} connections each: the open-file limit is too low for max_connections {max_connections}"
        ),
        _ => String::new(),
    }
}

/// The number of workers porter starts for `--threads N` (0: one per core, as porter decides).
fn thread_count(requested: usize) -> usize {
    match requested {
        0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
        n => n,
    }
}

/// Logs porter's warnings and errors to stderr (`RUST_LOG` wins when set).
/// The access log is not among them: porter's own writer thread keeps it.
fn init_logging() {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("warn")).init();
}

/// An I/O error's text without the ` (os error N)` suffix, for messages about files.
fn os_message(e: &io::Error) -> String {
    let text = e.to_string();
    match text.rfind(" (os error ") {
        Some(at) => text[..at].to_string(),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn os_message_drops_the_error_number() {
        let e = io::Error::from(io::ErrorKind::NotFound);
        assert!(!os_message(&e).is_empty());
        assert_eq!(os_message(&io::Error::from_raw_os_error(2)), "No such file or directory");
        assert_eq!(os_message(&io::Error::other("plain")), "plain");
    }

    #[test]
    fn thread_count_resolves_zero() {
        assert!(thread_count(0) >= 1);
        assert_eq!(thread_count(3), 3);
    }
}
