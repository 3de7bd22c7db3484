//! Shared fixtures for the `files_*` loopback tests: a scratch site on disk,
//! a server over it, one-request helpers, curl, and a tiny gzip writer (stored
//! blocks, so real clients can decode it without porter compressing anything).

#![allow(dead_code)]

use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, SystemTime};

use porter::{Files, ServerHandle};

use crate::common::{pattern, require_tool, serve, Client, Reply, TempDir};

/// The size of `big.bin`: several socket buffers, so sendfile goes out in many calls.
pub const BIG: usize = 8 << 20;

/// A modification time well in the past (a strong Last-Modified validator).
pub fn long_ago() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_600_000_000)
}

/// A scratch site: `base/root` is served, `base/outside` is not.
///
/// ```text
/// root/index.html  a.txt ("alpha")  big.bin (BIG bytes of `pattern`)  ten.txt ("0123456789")
///      my file.txt  café.txt  data.json  logo.svg  app.js  pic.png  noext  empty.txt
///      .env  .git/config  sub/b.css  empty/  evil.example/
///      link-in -> a.txt  link-out -> ../outside  secret-link -> ../outside/secret.txt  link-hidden -> .env
/// outside/secret.txt
/// ```
pub struct Site {
    pub dir: TempDir,
}

impl Site {
    pub fn new(tag: &str) -> Site {
        let dir = TempDir::new(tag);
        let base = dir.path();
        for d in ["root/sub", "root/empty", "root/evil.example", "root/.git", "outside"] {
            std::fs::create_dir_all(base.join(d)).expect("mkdir");
        }
        let files: &[(&str, &[u8])] = &[
            ("root/index.html", b"<!doctype html><h1>home</h1>"),
            ("root/a.txt", b"alpha"),
            ("root/ten.txt", b"0123456789"),
            ("root/my file.txt", b"spaced"),
            ("root/caf\u{e9}.txt", b"accent"),
            ("root/data.json", b"{}"),
            ("root/logo.svg", b"<svg xmlns=\"http://www.w3.org/2000/svg\"/>"),
            ("root/app.js", b"1;"),
            ("root/pic.png", b"\x89PNG\r\n\x1a\n"),
            ("root/noext", b"?"),
            ("root/empty.txt", b""),
            ("root/.env", b"SECRET=1"),
            ("root/.git/config", b"[core]"),
            ("root/sub/b.css", b"b{color:red}"),
            ("outside/secret.txt", b"top secret"),
        ];
        for (name, body) in files {
            std::fs::write(base.join(name), body).expect("write fixture");
        }
        std::fs::write(base.join("root/big.bin"), pattern(BIG)).expect("write big.bin");
        symlink("a.txt", base.join("root/link-in")).expect("symlink");
        symlink("../outside", base.join("root/link-out")).expect("symlink");
        symlink("../outside/secret.txt", base.join("root/secret-link")).expect("symlink");
        symlink(".env", base.join("root/link-hidden")).expect("symlink");
        Site { dir }
    }

    pub fn root(&self) -> PathBuf {
        self.dir.path().join("root")
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.root().join(rel)
    }

    /// `Files` over the root, with default settings.
    pub fn files(&self) -> Files {
        Files::new(self.root()).expect("Files::new")
    }

    /// A server over the root with default settings.
    pub fn serve(&self) -> ServerHandle {
        serve(self.files())
    }

    /// Sets a file's modification time.
    pub fn touch(&self, rel: &str, when: SystemTime) {
        let file = std::fs::File::options().write(true).open(self.path(rel)).expect("open for touch");
        file.set_modified(when).expect("set_modified");
    }
}

/// `GET path` with `extra` header lines (each ending in CRLF) on a fresh connection.
pub fn get(server: &ServerHandle, path: &str, extra: &str) -> Reply {
    request(server, "GET", path, extra)
}

/// `METHOD path` with `extra` header lines on a fresh connection; reads the reply.
pub fn request(server: &ServerHandle, method: &str, path: &str, extra: &str) -> Reply {
    let mut c = Client::connect(server.local_addr());
    c.send(format!("{method} {path} HTTP/1.1\r\nHost: t\r\n{extra}\r\n"));
    let reply = c.read_reply_to(method);
    c.assert_alive(&format!("after {method} {path}"));
    reply
}

/// Runs curl with `args` (plus `-s`), failing the test if curl itself is missing.
pub fn curl(args: &[&str]) -> Output {
    require_tool("curl");
    Command::new("curl").arg("-s").args(args).output().expect("run curl")
}

/// The URL of `path` on `server`.
pub fn url(server: &ServerHandle, path: &str) -> String {
    format!("http://{}{path}", server.local_addr())
}

/// Splits a multipart/byteranges body into (part headers, part data).
pub fn multipart_parts(content_type: &str, body: &[u8]) -> Vec<(String, Vec<u8>)> {
    let boundary = content_type.strip_prefix("multipart/byteranges; boundary=").expect("multipart content type");
    let delimiter = format!("--{boundary}");
    let text = body;
    let mut parts = Vec::new();
    let mut rest = text.strip_prefix(delimiter.as_bytes()).expect("body starts with the boundary");
    loop {
        if rest.starts_with(b"--\r\n") {
            assert_eq!(rest, b"--\r\n", "nothing after the closing delimiter");
            return parts;
        }
        rest = rest.strip_prefix(b"\r\n").expect("CRLF after the delimiter");
        let head_end = crate::common::find(rest, b"\r\n\r\n").expect("part head");
        let head = String::from_utf8(rest[..head_end].to_vec()).expect("ASCII part head");
        rest = &rest[head_end + 4..];
        let next = crate::common::find(rest, format!("\r\n{delimiter}").as_bytes()).expect("next delimiter");
        parts.push((head, rest[..next].to_vec()));
        rest = &rest[next + 2 + delimiter.len()..];
    }
}

/// `data` as a gzip member (RFC 1952) of stored deflate blocks (RFC 1951 §3.2.4).
pub fn gzip_stored(data: &[u8]) -> Vec<u8> {
    let mut out = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];
    let chunks: Vec<&[u8]> = if data.is_empty() { vec![&[][..]] } else { data.chunks(65_535).collect() };
    for (i, chunk) in chunks.iter().enumerate() {
        out.push(u8::from(i + 1 == chunks.len()));
        let len = chunk.len() as u16;
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&(!len).to_le_bytes());
        out.extend_from_slice(chunk);
    }
    out.extend_from_slice(&crc32(data).to_le_bytes());
    out.extend_from_slice(&(data.len() as u32).to_le_bytes());
    out
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 { (crc >> 1) ^ 0xedb8_8320 } else { crc >> 1 };
        }
    }
    !crc
}

/// How many of this process's open file descriptors point at `path`.
pub fn open_fds_to(path: &Path) -> usize {
    let Ok(dir) = std::fs::read_dir("/proc/self/fd") else { return 0 };
    dir.filter_map(|e| e.ok()).filter(|e| std::fs::read_link(e.path()).is_ok_and(|target| target == path)).count()
}

#[test]
fn crc32_reference_value() {
    assert_eq!(crc32(b"123456789"), 0xcbf4_3926);
}
