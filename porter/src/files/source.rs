//! Where files come from: a directory on disk, or assets embedded in memory.
//!
//! Both answer the same question, "what is at this clean relative path?", with
//! a [`Node`]: a file ([`Entity`]: content, length, modification time, an
//! identity for its ETag) or a directory. Everything above this module (ranges,
//! validators, encodings, listings) works on `Entity` and never knows which
//! source it came from.
//!
//! Disk invariants: no file outside the canonical root is ever opened through a
//! request path. The fast path is one `openat2(2)` beneath the root's directory
//! fd with `RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS`: the kernel refuses any `..`
//! escape and any symlink. A path that meets a symlink (or a kernel without
//! `openat2`) takes the slow path: `canonicalize`, then require the result to be
//! under the root with no hidden component below it (a symlink to `.git` is as
//! hidden as `.git`), unless following symlinks anywhere was switched on.
//! Known limit of the slow path: it canonicalizes and then opens, so someone who
//! can rename files inside the root while it is served could race the two steps.
//! Only regular files and directories are served; errors carry a status, never a
//! path (details go to the debug log).

use std::collections::{HashMap, HashSet};
use std::ffi::OsStr;
use std::fs::{File, Metadata, OpenOptions};
use std::hash::Hasher;
use std::io;
use std::os::fd::OwnedFd;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

use bytes::Bytes;
use rustix::fs::{Mode, OFlags, ResolveFlags};
use rustix::io::Errno;

use super::path::is_hidden;

/// What a path names.
pub(super) enum Node {
    File(Entity),
    Dir,
}

/// One servable file: its bytes (an open file or memory) and what validators need.
pub(super) struct Entity {
    pub(super) content: Content,
    pub(super) len: u64,
    pub(super) modified: Option<SystemTime>,
    /// What makes this file's ETag: its metadata on disk, its hash in memory.
    pub(super) identity: Identity,
}

/// The bytes of an [`Entity`].
pub(super) enum Content {
    File(File),
    Memory(Bytes),
}

/// The source-specific part of an ETag (see `conditional::Validators`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Identity {
    /// Modification time (seconds, nanoseconds) and length, as nginx does (plus nanoseconds).
    Stamp { secs: u64, nanos: u32, len: u64 },
    /// A 64-bit FNV-1a hash of the content.
    Hash(u64),
}

/// One directory entry, for listings.
pub(super) struct Listed {
    pub(super) name: Vec<u8>,
    pub(super) is_dir: bool,
    pub(super) len: u64,
    pub(super) modified: Option<SystemTime>,
}

/// Files on disk under `root`, or in memory.
#[derive(Clone, Debug)]
pub(super) enum Source {
    Disk(Disk),
    Memory(Arc<Memory>),
}

impl Source {
    /// What the clean relative path `rel` (segments joined by `/`) names; `Err` is a status.
    pub(super) fn find(&self, rel: &[u8], hidden_ok: bool) -> Result<Node, u16> {
        match self {
            Source::Disk(disk) => disk.find(rel, hidden_ok),
            Source::Memory(memory) => memory.find(rel),
        }
    }

    /// The names in directory `rel` that [`Source::find`] would serve, unsorted.
    pub(super) fn list(&self, rel: &[u8], hidden_ok: bool) -> Result<Vec<Listed>, u16> {
        match self {
            Source::Disk(disk) => disk.list(rel, hidden_ok),
            Source::Memory(memory) => Ok(memory.list(rel)),
        }
    }
}

/// A directory tree on disk.
#[derive(Clone, Debug)]
pub(super) struct Disk {
    pub(super) root: PathBuf,
    root_fd: Arc<OwnedFd>,
    pub(super) follow_symlinks: bool,
}

impl Disk {
    /// Opens `root`, which must be a directory; it is canonicalized now.
    pub(super) fn open(root: PathBuf) -> io::Result<Disk> {
        let root = std::fs::canonicalize(root)?;
        let flags = OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC;
        let root_fd = rustix::fs::open(&root, flags, Mode::empty())?;
        Ok(Disk { root, root_fd: Arc::new(root_fd), follow_symlinks: false })
    }

    fn find(&self, rel: &[u8], hidden_ok: bool) -> Result<Node, u16> {
        let file = match self.open_beneath(rel) {
            Ok(file) => file,
            // A symlink on the way, or no openat2: resolve in user space.
            Err(e) if needs_slow_path(e) => self.open_resolved(rel, hidden_ok)?,
            Err(e) => return Err(io_status(e.into())),
        };
        node_of(file)
    }

    /// The fast path: one `openat2` that cannot leave the root or follow a symlink.
    fn open_beneath(&self, rel: &[u8]) -> Result<File, Errno> {
        let path = if rel.is_empty() { OsStr::new(".") } else { OsStr::from_bytes(rel) };
        // O_NONBLOCK: opening a FIFO must not wait for a writer (it is refused later).
        let flags = OFlags::RDONLY | OFlags::CLOEXEC | OFlags::NONBLOCK | OFlags::NOCTTY;
        let resolve = ResolveFlags::BENEATH | ResolveFlags::NO_SYMLINKS | ResolveFlags::NO_MAGICLINKS;
        rustix::fs::openat2(&*self.root_fd, path, flags, Mode::empty(), resolve).map(File::from)
    }

    /// The slow path: canonicalize, check containment and hidden names, open.
    fn open_resolved(&self, rel: &[u8], hidden_ok: bool) -> Result<File, u16> {
        let canonical = std::fs::canonicalize(self.root.join(OsStr::from_bytes(rel))).map_err(io_status)?;
        if !self.may_serve(&canonical, hidden_ok) {
            log::debug!("files: {} leaves the root or is hidden", canonical.display());
            return Err(404);
        }
        OpenOptions::new()
            .read(true)
            .custom_flags((OFlags::NONBLOCK | OFlags::NOCTTY).bits() as i32)
            .open(&canonical)
            .map_err(io_status)
    }

    /// True when `canonical` may be served: under the root with no hidden
    /// component below it, or anywhere when following symlinks is switched on.
    fn may_serve(&self, canonical: &Path, hidden_ok: bool) -> bool {
        match canonical.strip_prefix(&self.root) {
            Ok(rest) => {
                hidden_ok || !rest.components().any(|c| matches!(c, Component::Normal(n) if is_hidden(n.as_bytes())))
            }
            Err(_) => self.follow_symlinks,
        }
    }

    fn list(&self, rel: &[u8], hidden_ok: bool) -> Result<Vec<Listed>, u16> {
        let dir = self.root.join(OsStr::from_bytes(rel));
        let mut out = Vec::new();
        for entry in std::fs::read_dir(dir).map_err(io_status)? {
            let name = entry.map_err(io_status)?.file_name().into_encoded_bytes();
            if !hidden_ok && is_hidden(&name) {
                continue;
            }
            let child = if rel.is_empty() { name.clone() } else { [rel, b"/", &name].concat() };
            // Listed exactly when a request for it would be served.
            if let Ok(node) = self.find(&child, hidden_ok) {
                out.push(listed(name, node));
            }
        }
        Ok(out)
    }
}

fn needs_slow_path(e: Errno) -> bool {
    // ELOOP: a symlink (RESOLVE_NO_SYMLINKS); EXDEV, EAGAIN: openat2's own
    // refusals and races; ENOSYS, EPERM: no openat2 here (old kernel, seccomp).
    [Errno::LOOP, Errno::XDEV, Errno::AGAIN, Errno::NOSYS, Errno::PERM].contains(&e)
}

/// Turns an open file into a node: regular files and directories only.
fn node_of(file: File) -> Result<Node, u16> {
    let meta = file.metadata().map_err(io_status)?;
    if meta.is_dir() {
        Ok(Node::Dir)
    } else if meta.is_file() {
        Ok(Node::File(entity_of(file, &meta)))
    } else {
        Err(404) // a FIFO, socket or device
    }
}

fn entity_of(file: File, meta: &Metadata) -> Entity {
    let modified = meta.modified().ok();
    let since_epoch = modified.and_then(|m| m.duration_since(SystemTime::UNIX_EPOCH).ok()).unwrap_or_default();
    let identity = Identity::Stamp { secs: since_epoch.as_secs(), nanos: since_epoch.subsec_nanos(), len: meta.len() };
    Entity { content: Content::File(file), len: meta.len(), modified, identity }
}

fn listed(name: Vec<u8>, node: Node) -> Listed {
    match node {
        Node::File(e) => Listed { name, is_dir: false, len: e.len, modified: e.modified },
        Node::Dir => Listed { name, is_dir: true, len: 0, modified: None },
    }
}

/// The status for a filesystem error; the error itself goes to the debug log only.
pub(super) fn io_status(e: io::Error) -> u16 {
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

/// Assets held in memory (e.g. compiled in with `include_bytes!`).
#[derive(Debug, Default)]
pub(super) struct Memory {
    files: HashMap<Box<[u8]>, (Bytes, u64)>,
    dirs: HashSet<Box<[u8]>>,
    modified: Option<SystemTime>,
}

impl Memory {
    /// Indexes `assets` by path (leading `/` optional; empty segments are dropped).
    pub(super) fn new<'a>(assets: impl IntoIterator<Item = (&'a str, Bytes)>, modified: SystemTime) -> Memory {
        let mut memory = Memory { modified: Some(modified), ..Memory::default() };
        memory.dirs.insert(Box::default());
        for (path, bytes) in assets {
            let segments: Vec<&[u8]> = path.as_bytes().split(|&b| b == b'/').filter(|s| !s.is_empty()).collect();
            for depth in 1..segments.len() {
                memory.dirs.insert(segments[..depth].join(&b'/').into());
            }
            let hash = fnv1a(&bytes);
            memory.files.insert(segments.join(&b'/').into(), (bytes, hash));
        }
        memory
    }

    fn find(&self, rel: &[u8]) -> Result<Node, u16> {
        if let Some((bytes, hash)) = self.files.get(rel) {
            let entity = Entity {
                content: Content::Memory(bytes.clone()),
                len: bytes.len() as u64,
                modified: self.modified,
                identity: Identity::Hash(*hash),
            };
            return Ok(Node::File(entity));
        }
        if self.dirs.contains(rel) {
            Ok(Node::Dir)
        } else {
            Err(404)
        }
    }

    fn list<'a>(&'a self, rel: &[u8]) -> Vec<Listed> {
        let prefix: Vec<u8> = if rel.is_empty() { Vec::new() } else { [rel, b"/"].concat() };
        let child = |path: &'a [u8]| -> Option<&'a [u8]> {
            path.strip_prefix(&prefix[..]).filter(|rest| !rest.is_empty() && !rest.contains(&b'/'))
        };
        let files = self.files.iter().filter_map(|(path, (bytes, _))| {
            child(path).map(|name| Listed {
                name: name.to_vec(),
                is_dir: false,
                len: bytes.len() as u64,
                modified: self.modified,
            })
        });
        let dirs = self.dirs.iter().filter_map(|path| {
            child(path).map(|name| Listed { name: name.to_vec(), is_dir: true, len: 0, modified: None })
        });
        files.chain(dirs).collect()
    }
}

/// FNV-1a, 64-bit: a stable content hash for in-memory ETags (not a defence
/// against crafted collisions, which only the asset's author could make).
fn fnv1a(bytes: &[u8]) -> u64 {
    struct Fnv(u64);
    impl Hasher for Fnv {
        fn finish(&self) -> u64 {
            self.0
        }
        fn write(&mut self, bytes: &[u8]) {
            for &b in bytes {
                self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
            }
        }
    }
    let mut h = Fnv(0xcbf2_9ce4_8422_2325);
    h.write(bytes);
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn memory() -> Memory {
        let assets = [("/index.html", "<h1>x</h1>"), ("/css/site.css", "b{}"), ("js/a/app.js", "1")];
        Memory::new(assets.map(|(p, b)| (p, Bytes::from_static(b.as_bytes()))), SystemTime::UNIX_EPOCH)
    }

    #[test]
    fn fnv1a_matches_reference_values() {
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a(b"foobar"), 0x8594_4171_f739_67e8);
    }

    #[test]
    fn memory_finds_files_and_implied_directories() {
        let m = memory();
        assert!(matches!(m.find(b"index.html"), Ok(Node::File(e)) if e.len == 10));
        assert!(matches!(m.find(b"js/a/app.js"), Ok(Node::File(_))));
        for dir in [&b""[..], b"css", b"js", b"js/a"] {
            assert!(matches!(m.find(dir), Ok(Node::Dir)), "{dir:?}");
        }
        for missing in [&b"nope"[..], b"css/", b"js/a/app", b"/index.html"] {
            assert!(matches!(m.find(missing), Err(404)), "{missing:?}");
        }
    }

    #[test]
    fn memory_lists_direct_children_only() {
        let m = memory();
        let mut names: Vec<(Vec<u8>, bool)> = m.list(b"").into_iter().map(|l| (l.name, l.is_dir)).collect();
        names.sort();
        assert_eq!(names, [(b"css".to_vec(), true), (b"index.html".to_vec(), false), (b"js".to_vec(), true)]);
        let names: Vec<Vec<u8>> = m.list(b"js").into_iter().map(|l| l.name).collect();
        assert_eq!(names, [b"a".to_vec()]);
    }

    #[test]
    fn containment_uses_whole_components() {
        let mut disk = Disk::open(std::env::temp_dir()).unwrap();
        disk.root = PathBuf::from("/srv/www");
        assert!(disk.may_serve(Path::new("/srv/www"), false));
        assert!(disk.may_serve(Path::new("/srv/www/a/b.txt"), false));
        assert!(!disk.may_serve(Path::new("/srv/www2/a"), false));
        assert!(!disk.may_serve(Path::new("/etc/passwd"), false));
        assert!(!disk.may_serve(Path::new("/srv/www/.git/config"), false));
        assert!(disk.may_serve(Path::new("/srv/www/.git/config"), true));
        disk.follow_symlinks = true;
        assert!(disk.may_serve(Path::new("/etc/passwd"), false));
    }
}
