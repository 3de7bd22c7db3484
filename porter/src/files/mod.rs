//! `Files`: serves the regular files under one directory with `GET` and `HEAD`.
//!
//! A request path goes through two stages, each its own function:
//!
//! 1. [`clean_path`] (pure, no filesystem): percent-decode each segment, refuse
//!    what cannot name a file safely, remove dot-segments (RFC 3986 §5.2.4) and
//!    hide dotfiles. Its result is a list of plain file-name segments.
//! 2. `Files::open` (filesystem): join the segments onto the root,
//!    `canonicalize`, and require the result to be still under the root (so a
//!    symlink pointing out of the root is not followed) and free of dot
//!    components below it; then open the file once and take its metadata from
//!    the open handle.
//!
//! Then `file_response` builds the reply (Content-Type, Last-Modified, the body
//! as a sendfile(2) region of the open file).
//!
//! Refusals and their statuses:
//! - malformed paths: a bad `%` escape, a NUL, an encoded `/` (`%2F`), a `\`
//!   (raw or `%5C`), a path not starting with `/`, or a `..` that would climb
//!   above the root: **400** (no correct client sends them; browsers and curl
//!   resolve `..` themselves);
//! - a dotfile or dot-directory, a path leaving the root after symlinks, a
//!   missing file, a special file (FIFO, device, socket), a file named with a
//!   trailing slash, a directory without an index file: **404**, indistinguishable
//!   from a missing file;
//! - a permission error: **403**; any other filesystem error: **500**.
//!
//! Invariants: no response body ever contains a filesystem path (errors are
//! [`Response::error`] bodies; details go to the `log` at debug level), and no
//! file outside the canonical root is ever opened through a request path.
//! Known limit: a path is canonicalized and then opened, so someone who can
//! rename files inside the root while it is served could race the two steps.

use std::ffi::OsStr;
use std::fs::{File, Metadata, OpenOptions};
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Component, Path, PathBuf};

use rustix::io::Errno;

use crate::handler::{Handler, Reply};
use crate::request::Request;
use crate::response::{Body, Response};

/// Serves the files under a root directory (`GET` and `HEAD`).
///
/// ```no_run
/// use porter::{Files, Server};
///
/// fn main() -> std::io::Result<()> {
///     Server::bind("127.0.0.1:8080").run(Files::new("./public")?)
/// }
/// ```
///
/// A directory named with a trailing slash is served by its index file
/// (`index.html` unless [`Files::index_file`] says otherwise); without the slash
/// it answers `301` to the slashed path. Dotfiles, paths that climb above the
/// root and symlinks that lead out of it are never served.
#[derive(Clone, Debug)]
pub struct Files {
    root: PathBuf,
    index: PathBuf,
}

/// Why a request path was refused before touching the filesystem.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum PathError {
    /// The path does not start with `/` (e.g. the `*` of `OPTIONS *`).
    NotAbsolute,
    /// A `%` not followed by two hex digits.
    BadEscape,
    /// A NUL, an encoded `/` or a `\`: bytes a file name here must not carry.
    ForbiddenByte,
    /// A `..` that would climb above the root.
    AboveRoot,
    /// A segment starting with `.`: dotfiles are hidden.
    Hidden,
}

impl PathError {
    fn status(self) -> u16 {
        match self {
            PathError::Hidden => 404,
            _ => 400,
        }
    }
}

/// A request path after [`clean_path`]: plain file-name segments, none of them
/// empty, `.`, `..`, starting with `.`, or holding `/`, `\` or NUL.
#[derive(Debug, PartialEq, Eq)]
struct CleanPath {
    segments: Vec<Vec<u8>>,
    /// The path ended with `/` (or a dot-segment): it asks for a directory.
    trailing_slash: bool,
}

impl CleanPath {
    /// The path relative to the root, ready to join onto it.
    fn relative(&self) -> PathBuf {
        self.segments.iter().map(|s| OsStr::from_bytes(s)).collect()
    }

    /// The path as a percent-encoded absolute URL path ending with `/`, for a
    /// redirect. Built from the clean segments, so it always starts with exactly
    /// one `/` (a raw `//host` path would make a scheme-relative `Location`).
    fn directory_url(&self) -> String {
        let mut url = String::from("/");
        for segment in &self.segments {
            percent_encode_into(segment, &mut url);
            url.push('/');
        }
        url
    }
}

impl Files {
    /// Serves the directory `root`, which is canonicalized now: it must exist and be a directory.
    pub fn new(root: impl Into<PathBuf>) -> io::Result<Files> {
        let root = std::fs::canonicalize(root.into())?;
        if !std::fs::metadata(&root)?.is_dir() {
            return Err(Errno::NOTDIR.into());
        }
        Ok(Files { root, index: PathBuf::from("index.html") })
    }

    /// The file that serves a directory requested with a trailing slash (default `index.html`).
    pub fn index_file(mut self, name: impl Into<PathBuf>) -> Files {
        self.index = name.into();
        self
    }

    /// The canonical root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Answers one request: the file, a redirect, or an error response.
    fn respond(&self, request: &Request) -> Response {
        if let Some(refusal) = refuse_method(request) {
            return refusal;
        }
        match self.serve(request.path(), request.query()) {
            Ok(response) => response,
            Err(status) => Response::error(status),
        }
    }

    /// Serves the raw (percent-encoded) `path`; `Err` is the status of a refusal.
    fn serve(&self, path: &str, query: Option<&str>) -> Result<Response, u16> {
        let clean = clean_path(path).map_err(|e| {
            log::debug!("files: refused path {path:?}: {e:?}");
            e.status()
        })?;
        let relative = clean.relative();
        let (path, file, meta) = self.open(&self.root.join(&relative))?;
        if meta.is_dir() {
            return if clean.trailing_slash {
                self.serve_index(&path)
            } else {
                Ok(redirect_to_directory(&clean, query))
            };
        }
        if clean.trailing_slash {
            return Err(404); // a file named like a directory (`/a.txt/`)
        }
        Ok(file_response(file, &meta, &relative))
    }

    fn serve_index(&self, dir: &Path) -> Result<Response, u16> {
        let (_, file, meta) = self.open(&dir.join(&self.index))?;
        if meta.is_file() {
            Ok(file_response(file, &meta, &self.index))
        } else {
            Err(404)
        }
    }

    /// Resolves `path` (symlinks and all), checks that it stays inside the root
    /// and hides nothing, and opens it. Only regular files and directories pass.
    fn open(&self, path: &Path) -> Result<(PathBuf, File, Metadata), u16> {
        let canonical = std::fs::canonicalize(path).map_err(io_status)?;
        if !self.is_inside_root(&canonical) {
            log::debug!("files: {} leaves the root", canonical.display());
            return Err(404);
        }
        // O_NONBLOCK: opening a FIFO must not wait for a writer (it is refused below).
        let file = OpenOptions::new()
            .read(true)
            .custom_flags(rustix::fs::OFlags::NONBLOCK.bits() as i32)
            .open(&canonical)
            .map_err(io_status)?;
        let meta = file.metadata().map_err(io_status)?;
        if !meta.is_file() && !meta.is_dir() {
            return Err(404);
        }
        Ok((canonical, file, meta))
    }

    /// True when `canonical` is the root or below it, with no dot component
    /// below the root (a symlink to `.git` is as hidden as `.git`).
    fn is_inside_root(&self, canonical: &Path) -> bool {
        match canonical.strip_prefix(&self.root) {
            Ok(rest) => !rest.components().any(|c| matches!(c, Component::Normal(n) if is_hidden(n.as_bytes()))),
            Err(_) => false,
        }
    }
}

impl Handler for Files {
    fn handle(&self, request: Request) -> Reply {
        self.respond(&request).into()
    }

    /// Refuses other methods from the head alone, so their bodies are never read.
    fn before_body(&self, request: &Request) -> Option<Response> {
        refuse_method(request)
    }
}

/// `405` with `Allow` for anything but `GET` and `HEAD` (RFC 9110 §15.5.6).
fn refuse_method(request: &Request) -> Option<Response> {
    match request.method() {
        "GET" | "HEAD" => None,
        _ => Some(Response::error(405).header("Allow", "GET, HEAD")),
    }
}

/// `301` to the directory's slashed path, keeping the query.
fn redirect_to_directory(clean: &CleanPath, query: Option<&str>) -> Response {
    let mut location = clean.directory_url();
    if let Some(query) = query {
        location.push('?');
        location.push_str(query);
    }
    Response::error(301).header("Location", location)
}

/// `200` with the open file as a sendfile(2) body; its type comes from the name
/// in the URL (as requested, not a symlink's target).
fn file_response(file: File, meta: &Metadata, name: &Path) -> Response {
    let mut response = Response::new(200).header("Content-Type", content_type(name));
    if let Ok(modified) = meta.modified() {
        response = response.header("Last-Modified", httpdate::fmt_http_date(modified));
    }
    response.body(Body::file(file, 0, meta.len()))
}

/// The media type guessed from the extension; text types get `charset=utf-8`.
fn content_type(path: &Path) -> String {
    let mime = mime_guess::from_path(path).first_or_octet_stream();
    let essence = mime.essence_str();
    let is_text =
        mime.type_() == mime_guess::mime::TEXT || essence == "application/javascript" || essence == "application/json";
    if is_text {
        format!("{essence}; charset=utf-8")
    } else {
        essence.to_string()
    }
}

/// The status for a filesystem error; the error itself goes to the debug log only.
fn io_status(e: io::Error) -> u16 {
    // A file used as a directory, a symlink loop, a name too long: nothing to serve there.
    const NOTHING_THERE: [Errno; 3] = [Errno::NOTDIR, Errno::LOOP, Errno::NAMETOOLONG];
    log::debug!("files: {e}");
    match e.kind() {
        io::ErrorKind::NotFound => 404,
        io::ErrorKind::PermissionDenied => 403,
        _ if Errno::from_io_error(&e).is_some_and(|n| NOTHING_THERE.contains(&n)) => 404,
        _ => 500,
    }
}

/// Stage 1 of serving a path: decode, refuse, remove dot-segments, hide dotfiles.
///
/// Works segment by segment on the raw path, so an encoded `/` can be told from a
/// real one. `%2e%2e` is a dot-segment like `..` (RFC 3986 §6.2.2.2: encoded
/// unreserved characters are equivalent to the characters themselves). Empty
/// segments (`//`) are skipped.
fn clean_path(raw: &str) -> Result<CleanPath, PathError> {
    let rest = raw.strip_prefix('/').ok_or(PathError::NotAbsolute)?;
    let mut segments: Vec<Vec<u8>> = Vec::new();
    let mut trailing_slash = true; // "/" itself names the root directory
    for raw_segment in rest.split('/') {
        let segment = percent_decode(raw_segment.as_bytes())?;
        if segment.iter().any(|&b| matches!(b, b'\0' | b'/' | b'\\')) {
            return Err(PathError::ForbiddenByte);
        }
        // RFC 3986 §5.2.4: "." is dropped, ".." removes the previous segment; a
        // path ending in either names a directory ("/a/.." is "/").
        match segment.as_slice() {
            b"" | b"." => trailing_slash = true,
            b".." => {
                segments.pop().ok_or(PathError::AboveRoot)?;
                trailing_slash = true;
            }
            _ => {
                segments.push(segment);
                trailing_slash = false;
            }
        }
    }
    if segments.iter().any(|s| is_hidden(s)) {
        return Err(PathError::Hidden);
    }
    Ok(CleanPath { segments, trailing_slash })
}

fn is_hidden(name: &[u8]) -> bool {
    name.first() == Some(&b'.')
}

/// Decodes `%XX` escapes (RFC 3986 §2.1); any other `%` is an error. Bytes, not
/// text: file names on Unix need not be UTF-8.
fn percent_decode(input: &[u8]) -> Result<Vec<u8>, PathError> {
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while i < input.len() {
        if input[i] != b'%' {
            out.push(input[i]);
            i += 1;
            continue;
        }
        let hi = input.get(i + 1).copied().and_then(hex_value);
        let lo = input.get(i + 2).copied().and_then(hex_value);
        match (hi, lo) {
            (Some(hi), Some(lo)) => out.push(hi << 4 | lo),
            _ => return Err(PathError::BadEscape),
        }
        i += 3;
    }
    Ok(out)
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Appends `segment` with every byte outside RFC 3986 `pchar` (less `%`) percent-encoded.
fn percent_encode_into(segment: &[u8], out: &mut String) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for &b in segment {
        if b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 0xf)]));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clean(raw: &str) -> Result<(Vec<&'static str>, bool), PathError> {
        clean_path(raw).map(|c| {
            let segs = c.segments.iter().map(|s| &*String::from_utf8(s.clone()).unwrap().leak()).collect();
            (segs, c.trailing_slash)
        })
    }

    #[test]
    fn percent_decoding() {
        let cases: &[(&str, Result<&[u8], PathError>)] = &[
            ("abc", Ok(b"abc")),
            ("a%20b", Ok(b"a b")),
            ("%41%6a%6A", Ok(b"Ajj")),
            ("%e2%82%ac", Ok("€".as_bytes())),
            ("%ff", Ok(b"\xff")),
            ("%", Err(PathError::BadEscape)),
            ("%4", Err(PathError::BadEscape)),
            ("a%4", Err(PathError::BadEscape)),
            ("%zz", Err(PathError::BadEscape)),
            ("%g0", Err(PathError::BadEscape)),
            ("%+1", Err(PathError::BadEscape)),
        ];
        for (input, want) in cases {
            assert_eq!(percent_decode(input.as_bytes()).as_deref(), want.as_deref(), "{input:?}");
        }
    }

    #[test]
    fn plain_paths() {
        assert_eq!(clean("/"), Ok((vec![], true)));
        assert_eq!(clean("/a.txt"), Ok((vec!["a.txt"], false)));
        assert_eq!(clean("/a/b.css"), Ok((vec!["a", "b.css"], false)));
        assert_eq!(clean("/a/"), Ok((vec!["a"], true)));
        assert_eq!(clean("//a//b"), Ok((vec!["a", "b"], false)));
        assert_eq!(clean("/my%20file.txt"), Ok((vec!["my file.txt"], false)));
        assert_eq!(clean("/a..b/c."), Ok((vec!["a..b", "c."], false)));
    }

    #[test]
    fn dot_segments_are_removed() {
        assert_eq!(clean("/./a"), Ok((vec!["a"], false)));
        assert_eq!(clean("/a/./b"), Ok((vec!["a", "b"], false)));
        assert_eq!(clean("/a/b/../c"), Ok((vec!["a", "c"], false)));
        assert_eq!(clean("/a/.."), Ok((vec![], true)));
        assert_eq!(clean("/a/."), Ok((vec!["a"], true)));
        assert_eq!(clean("/a/b/../../c/"), Ok((vec!["c"], true)));
        assert_eq!(clean("/a/%2e%2E/b"), Ok((vec!["b"], false)));
        assert_eq!(clean("/a/%2e/b"), Ok((vec!["a", "b"], false)));
        assert_eq!(clean("/.git/../x"), Ok((vec!["x"], false)));
    }

    #[test]
    fn climbing_above_the_root_is_refused() {
        for raw in ["/..", "/../etc/passwd", "/a/../../etc/passwd", "/%2e%2e/etc/passwd", "/%2E%2E", "/./../x"] {
            assert_eq!(clean(raw), Err(PathError::AboveRoot), "{raw}");
        }
        assert_eq!(PathError::AboveRoot.status(), 400);
    }

    #[test]
    fn forbidden_bytes_are_refused() {
        for raw in ["/a%00b", "/a%2fb", "/a%2Fb", "/..%2f..%2fetc", "/a\\b", "/a%5cb", "/a%5C..%5Cb", "/%00"] {
            assert_eq!(clean(raw), Err(PathError::ForbiddenByte), "{raw}");
        }
        assert_eq!(PathError::ForbiddenByte.status(), 400);
    }

    #[test]
    fn bad_escapes_and_relative_paths_are_refused() {
        assert_eq!(clean("/a%zz"), Err(PathError::BadEscape));
        assert_eq!(clean("/a%"), Err(PathError::BadEscape));
        assert_eq!(clean("*"), Err(PathError::NotAbsolute));
        assert_eq!(clean("a/b"), Err(PathError::NotAbsolute));
        assert_eq!(clean(""), Err(PathError::NotAbsolute));
        assert_eq!(PathError::BadEscape.status(), 400);
    }

    #[test]
    fn dotfiles_are_hidden() {
        for raw in ["/.env", "/.git/config", "/a/.htpasswd", "/%2egit/HEAD", "/a/.../b", "/.well-known/x"] {
            assert_eq!(clean(raw), Err(PathError::Hidden), "{raw}");
        }
        assert_eq!(PathError::Hidden.status(), 404);
    }

    #[test]
    fn directory_urls_are_single_slashed_and_encoded() {
        let url = |raw: &str| clean_path(raw).unwrap().directory_url();
        assert_eq!(url("/"), "/");
        assert_eq!(url("/a"), "/a/");
        assert_eq!(url("//evil.example"), "/evil.example/");
        assert_eq!(url("/my%20dir/x"), "/my%20dir/x/");
        assert_eq!(url("/a/../b"), "/b/");
        assert_eq!(url("/%e2%82%ac%3f%23"), "/%E2%82%AC%3F%23/");
    }

    #[test]
    fn relative_paths_join_under_the_root() {
        let rel = clean_path("/a/b/../c%20d").unwrap().relative();
        assert_eq!(rel, Path::new("a/c d"));
        assert_eq!(Path::new("/srv").join(rel), Path::new("/srv/a/c d"));
        assert_eq!(clean_path("/").unwrap().relative(), Path::new(""));
    }

    #[test]
    fn content_types() {
        assert_eq!(content_type(Path::new("a.html")), "text/html; charset=utf-8");
        assert_eq!(content_type(Path::new("a.css")), "text/css; charset=utf-8");
        assert!(content_type(Path::new("a.js")).ends_with("javascript; charset=utf-8"));
        assert_eq!(content_type(Path::new("a.json")), "application/json; charset=utf-8");
        assert_eq!(content_type(Path::new("a.png")), "image/png");
        assert_eq!(content_type(Path::new("a.svg")), "image/svg+xml");
        assert_eq!(content_type(Path::new("plaintext")), "application/octet-stream");
    }

    #[test]
    fn root_must_be_an_existing_directory() {
        assert!(Files::new("/definitely/not/here").is_err());
        let file = std::env::current_exe().unwrap();
        assert!(Files::new(file).is_err());
        let files = Files::new(".").unwrap();
        assert!(files.root().is_absolute());
    }

    #[test]
    fn containment_check_uses_whole_components() {
        let files = Files { root: PathBuf::from("/srv/www"), index: PathBuf::from("index.html") };
        assert!(files.is_inside_root(Path::new("/srv/www")));
        assert!(files.is_inside_root(Path::new("/srv/www/a/b.txt")));
        assert!(!files.is_inside_root(Path::new("/srv/www2/a")));
        assert!(!files.is_inside_root(Path::new("/etc/passwd")));
        assert!(!files.is_inside_root(Path::new("/srv/www/.git/config")));
    }

    /// A scratch tree: `root/{index.html, a.txt, .env, sub/{b.css}, empty/, link-out -> outside,
    /// link-in -> a.txt, link-hidden -> .env}` and `outside/secret.txt` beside root.
    fn tree(name: &str) -> (PathBuf, Files) {
        use std::os::unix::fs::symlink;
        let base = std::env::temp_dir().join(format!("porter-files-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&base);
        let root = base.join("root");
        for dir in ["root/sub", "root/empty", "outside"] {
            std::fs::create_dir_all(base.join(dir)).unwrap();
        }
        for (file, text) in [
            ("root/index.html", "<h1>hi</h1>"),
            ("root/a.txt", "alpha"),
            ("root/.env", "SECRET=1"),
            ("root/sub/b.css", "b{}"),
            ("outside/secret.txt", "secret"),
        ] {
            std::fs::write(base.join(file), text).unwrap();
        }
        symlink(base.join("outside"), root.join("link-out")).unwrap();
        symlink(base.join("outside/secret.txt"), root.join("secret-link")).unwrap();
        symlink("a.txt", root.join("link-in")).unwrap();
        symlink(".env", root.join("link-hidden")).unwrap();
        let files = Files::new(&root).unwrap();
        (base, files)
    }

    fn status_of(files: &Files, path: &str) -> u16 {
        match files.serve(path, None) {
            Ok(r) => r.status,
            Err(status) => status,
        }
    }

    fn header<'r>(r: &'r Response, name: &str) -> &'r str {
        std::str::from_utf8(r.header_value(name).unwrap()).unwrap()
    }

    #[test]
    fn serves_files_with_type_length_and_date() {
        let (base, files) = tree("serve");
        let r = files.serve("/a.txt", None).unwrap();
        assert_eq!(r.status, 200);
        assert_eq!(header(&r, "content-type"), "text/plain; charset=utf-8");
        assert!(header(&r, "last-modified").ends_with(" GMT"));
        assert_eq!(r.body.len(), Some(5));
        assert_eq!(files.serve("/sub/b.css", None).unwrap().body.len(), Some(3));
        assert_eq!(status_of(&files, "/link-in"), 200);
        std::fs::remove_dir_all(base).unwrap();
    }

    #[test]
    fn directories_redirect_or_serve_their_index() {
        let (base, files) = tree("dirs");
        let r = files.serve("/sub", Some("x=1")).unwrap();
        assert_eq!(r.status, 301);
        assert_eq!(header(&r, "location"), "/sub/?x=1");
        assert_eq!(header(&files.serve("/sub", None).unwrap(), "location"), "/sub/");
        let index = files.serve("/", None).unwrap();
        assert_eq!((index.status, index.body.len()), (200, Some(11)));
        assert_eq!(header(&index, "content-type"), "text/html; charset=utf-8");
        assert_eq!(status_of(&files, "/sub/"), 404, "no index.html in sub");
        assert_eq!(status_of(&files, "/empty/"), 404);
        let css_index = files.clone().index_file("b.css");
        assert_eq!(status_of(&css_index, "/sub/"), 200);
        std::fs::remove_dir_all(base).unwrap();
    }

    #[test]
    fn refusals_have_their_statuses() {
        let (base, files) = tree("refuse");
        for (path, want) in [
            ("/missing.txt", 404),
            ("/a.txt/", 404),
            ("/a.txt/x", 404),
            ("/.env", 404),
            ("/link-hidden", 404),
            ("/link-out/secret.txt", 404),
            ("/link-out", 404),
            ("/secret-link", 404),
            ("/../outside/secret.txt", 400),
            ("/%2e%2e/outside/secret.txt", 400),
            ("/sub/../../outside/secret.txt", 400),
            ("/..%2foutside%2fsecret.txt", 400),
            ("/a%00.txt", 400),
            ("/a%zz", 400),
        ] {
            assert_eq!(status_of(&files, path), want, "{path}");
        }
        std::fs::remove_dir_all(base).unwrap();
    }

    #[test]
    fn special_files_are_not_served() {
        let (base, files) = tree("fifo");
        let fifo = files.root().join("pipe");
        let made = std::process::Command::new("mkfifo").arg(&fifo).status().map(|s| s.success());
        if made.unwrap_or(false) {
            assert_eq!(status_of(&files, "/pipe"), 404, "a FIFO is refused, and without blocking");
        }
        std::fs::remove_dir_all(base).unwrap();
    }
}
