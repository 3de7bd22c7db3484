//! `Files`: static files to nginx's standard, from a directory or from memory.
//!
//! One request goes through these steps, each in its own module:
//!
//! 1. method: `GET` and `HEAD` are served, `OPTIONS` answers `204` with
//!    `Allow`, anything else `405` with `Allow` (RFC 9110 §15.5.6), from the head
//!    alone so a refused body is never read;
//! 2. [`path`]: normalize ([`CleanPath`]: percent-decode,
//!    refuse, remove dot-segments), hide dotfiles;
//! 3. [`source`]: find what the path names (disk: `openat2` beneath the root,
//!    symlinks checked; memory: a table); a directory redirects to its slashed
//!    form, serves its index file, or (optionally) a [`listing`];
//! 4. [`encoding`]: a precompressed `.br`/`.gz` sibling when `Accept-Encoding`
//!    prefers it;
//! 5. [`conditional`]: validators and the preconditions of RFC 9110 §13.2.2
//!    (304, 412);
//! 6. [`range`] and [`multipart`]: 206, multipart/byteranges or 416;
//! 7. the reply: a sendfile(2) region of the open file (or memory), with
//!    `Content-Type` ([`media`]), `ETag`, `Last-Modified`, `Cache-Control`
//!    ([`cache`]), `Vary` and `Accept-Ranges`.
//!
//! Invariants: no response body or header ever carries a filesystem path (errors
//! are [`Response::error`] bodies; details go to the debug log); no file outside
//! the root is opened through a request path unless following symlinks was
//! switched on; a file's bytes never pass through memory on the full and
//! single-range paths (sendfile), and through a bounded buffer on the multipart
//! path. Refusals: malformed paths 400; hidden, missing, special files and
//! directories without an index 404 (indistinguishable); permission 403.

mod cache;
mod conditional;
mod encoding;
mod listing;
mod media;
mod multipart;
mod path;
mod range;
mod reply;
mod source;

pub use media::media_type;

use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

use bytes::Bytes;

use crate::handler::{Handler, Reply};
use crate::path::CleanPath;
use crate::request::Request;
use crate::response::Response;

use cache::CacheRules;
use path::{clean_path, directory_url, relative};
use reply::{Ask, Representation};
use source::{Disk, Memory, Node, Source};

/// The methods `Files` answers, for `Allow`.
const ALLOW: &str = "GET, HEAD, OPTIONS";

/// Serves static files: a directory on disk ([`Files::new`]) or assets held in
/// memory ([`Files::embedded`]).
///
/// ```no_run
/// use porter::{Files, Server};
///
/// fn main() -> std::io::Result<()> {
///     let files = Files::new("./public")?
///         .cache_rule("/assets/**", "max-age=31536000, immutable")?
///         .cache_control("no-cache")?;
///     Server::bind("127.0.0.1:8080").run(files)
/// }
/// ```
///
/// Every file is sent with `ETag`, `Last-Modified` and `Accept-Ranges: bytes`,
/// and answers conditional requests (304, 412) and ranges (206, 416) as RFC 9110
/// says. A directory named with a trailing slash is served by its index file
/// (`index.html` unless [`Files::index_file`] says otherwise) or, if switched
/// on, an HTML listing; without the slash it answers `301` to the slashed path.
/// Dotfiles, paths that climb above the root and symlinks that lead out of it
/// are never served (unless switched on).
#[derive(Clone, Debug)]
pub struct Files {
    source: Source,
    index: Vec<u8>,
    listing: bool,
    precompressed: bool,
    hidden: bool,
    cache: CacheRules,
}

impl Files {
    /// Serves the directory `root`, which is canonicalized now: it must exist and be a directory.
    pub fn new(root: impl Into<PathBuf>) -> io::Result<Files> {
        Ok(Files::with_source(Source::Disk(Disk::open(root.into())?)))
    }

    /// Serves `assets` from memory: `(path, bytes)` pairs such as
    /// `("/index.html", include_bytes!("index.html"))`. Every asset is sent as
    /// last modified at `modified` (e.g. the build or the executable's time), and
    /// its ETag is a hash of its bytes. Directories are implied by the paths.
    pub fn embedded<I>(assets: I, modified: SystemTime) -> Files
    where
        I: IntoIterator<Item = (&'static str, &'static [u8])>,
    {
        let assets = assets.into_iter().map(|(path, bytes)| (path, Bytes::from_static(bytes)));
        Files::with_source(Source::Memory(Arc::new(Memory::new(assets, modified))))
    }

    fn with_source(source: Source) -> Files {
        Files {
            source,
            index: b"index.html".to_vec(),
            listing: false,
            precompressed: true,
            hidden: false,
            cache: CacheRules::default(),
        }
    }

    /// The file that serves a directory requested with a trailing slash (default `index.html`).
    pub fn index_file(mut self, name: impl Into<PathBuf>) -> Files {
        self.index = name.into().as_os_str().as_bytes().to_vec();
        self
    }

    /// Serves an HTML listing of a directory that has no index file (default off: 404).
    pub fn listing(mut self, on: bool) -> Files {
        self.listing = on;
        self
    }

    /// Serves `NAME.br` / `NAME.gz` instead of `NAME` when the client's
    /// `Accept-Encoding` prefers it and the sibling is a file at least as new
    /// (default on). File responses then carry `Vary: Accept-Encoding`.
    pub fn precompressed(mut self, on: bool) -> Files {
        self.precompressed = on;
        self
    }

    /// Follows symlinks wherever they lead (default off: a symlink is followed
    /// only when its target is inside the root and not hidden). No effect on
    /// embedded assets.
    pub fn follow_symlinks(mut self, on: bool) -> Files {
        if let Source::Disk(disk) = &mut self.source {
            disk.follow_symlinks = on;
        }
        self
    }

    /// Serves dotfiles and dot-directories such as `.well-known/` (default off: 404).
    pub fn hidden_files(mut self, serve: bool) -> Files {
        self.hidden = serve;
        self
    }

    /// The `Cache-Control` value for files no [`Files::cache_rule`] matches.
    /// Fails on a value that is empty or not visible ASCII.
    pub fn cache_control(mut self, value: &str) -> io::Result<Files> {
        self.cache.set_default(value)?;
        Ok(self)
    }

    /// Sends `Cache-Control: value` with files whose path matches `pattern`:
    /// `*.css` (file names), `/assets/**` (paths from the root; `*` and `?`
    /// within a segment, `**` any segments). The first matching rule wins.
    pub fn cache_rule(mut self, pattern: &str, value: &str) -> io::Result<Files> {
        self.cache.add(pattern, value)?;
        Ok(self)
    }

    /// The canonical root directory (`None` for embedded assets).
    pub fn root(&self) -> Option<&Path> {
        match &self.source {
            Source::Disk(disk) => Some(&disk.root),
            Source::Memory(_) => None,
        }
    }

    /// Answers one request.
    fn respond(&self, ask: &impl Ask) -> Response {
        let result = match ask.method() {
            "GET" | "HEAD" => self.serve(ask),
            "OPTIONS" => self.options(ask),
            _ => return method_not_allowed(),
        };
        result.unwrap_or_else(Response::error)
    }

    /// `GET`/`HEAD`: the file, a redirect, a listing; `Err` is the status of a refusal.
    fn serve(&self, ask: &impl Ask) -> Result<Response, u16> {
        let clean = self.clean(ask.path())?;
        let rel = relative(&clean);
        match self.source.find(&rel, self.hidden)? {
            Node::Dir if !clean.has_trailing_slash() => Ok(redirect_to_directory(&clean, ask.query())),
            Node::Dir => self.serve_directory(ask, &rel),
            // A file named like a directory (`/a.txt/`).
            Node::File(_) if clean.has_trailing_slash() => Err(404),
            Node::File(entity) => Ok(self.representation(ask, entity, &rel).respond(ask)),
        }
    }

    fn clean(&self, raw: &str) -> Result<CleanPath, u16> {
        clean_path(raw, self.hidden).map_err(|e| {
            log::debug!("files: refused path {raw:?}: {e:?}");
            e.status()
        })
    }

    /// The index file, else the listing if switched on, else 404.
    fn serve_directory(&self, ask: &impl Ask, rel: &[u8]) -> Result<Response, u16> {
        let index = if rel.is_empty() { self.index.clone() } else { [rel, b"/", &self.index].concat() };
        match self.source.find(&index, self.hidden) {
            Ok(Node::File(entity)) => return Ok(self.representation(ask, entity, &index).respond(ask)),
            Ok(Node::Dir) | Err(404) => {}
            Err(status) => return Err(status),
        }
        if !self.listing {
            return Err(404);
        }
        let entries = self.source.list(rel, self.hidden)?;
        let slash: &[u8] = if rel.is_empty() { b"" } else { b"/" };
        let url_path = String::from_utf8_lossy(&[b"/", rel, slash].concat()).into_owned();
        Ok(Response::html(listing::render(&url_path, entries)).header("Cache-Control", "no-cache"))
    }

    /// Picks the variant to send (a precompressed sibling or the file itself).
    fn representation(&self, ask: &impl Ask, original: source::Entity, rel: &[u8]) -> Representation {
        let mut rep = Representation::new(original, rel, self.cache.for_path(rel).cloned(), self.precompressed);
        // With a Range, the identity bytes: Content-Range then means the file
        // itself, which is what resuming downloads and media players expect.
        let wants_range = ask.method() == "GET" && ask.header_once("range").is_some();
        if !self.precompressed || wants_range {
            return rep;
        }
        let Some(accept) = ask.header_list("accept-encoding") else { return rep };
        for coding in encoding::preferences(&accept) {
            let sibling = [rel, coding.suffix()].concat();
            if let Ok(Node::File(variant)) = self.source.find(&sibling, self.hidden) {
                // A sibling older than its original is stale: never serve it.
                if variant.modified >= rep.entity.modified {
                    rep.entity = variant;
                    rep.coding = Some(coding);
                    break;
                }
            }
        }
        rep
    }

    /// RFC 9110 §9.3.7: `OPTIONS *` and `OPTIONS /existing` list the methods.
    fn options(&self, ask: &impl Ask) -> Result<Response, u16> {
        if ask.path() != "*" {
            let clean = self.clean(ask.path())?;
            self.source.find(&relative(&clean), self.hidden)?;
        }
        Ok(Response::new(204).header("Allow", ALLOW))
    }
}

impl Handler for Files {
    fn handle(&self, request: Request) -> Reply {
        self.respond(&request).into()
    }

    /// Refuses other methods from the head alone, so their bodies are never read.
    fn before_body(&self, request: &Request) -> Option<Response> {
        match request.method() {
            "GET" | "HEAD" | "OPTIONS" => None,
            _ => Some(method_not_allowed()),
        }
    }
}

/// `405` with `Allow` (RFC 9110 §15.5.6).
fn method_not_allowed() -> Response {
    Response::error(405).header("Allow", ALLOW)
}

/// `301` to the directory's slashed path, keeping the query.
fn redirect_to_directory(clean: &CleanPath, query: Option<&str>) -> Response {
    let mut location = directory_url(clean);
    if let Some(query) = query {
        location.push('?');
        location.push_str(query);
    }
    Response::error(301).header("Location", location)
}

#[cfg(test)]
mod tests;
