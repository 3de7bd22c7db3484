//! Unit tests of the request flow through `Files`, without a connection.
//! (Loopback tests with literal bytes and curl live in `tests/files_*.rs`.)

use std::path::PathBuf;

use super::reply::Ask;
use super::*;

/// A request as `Files` sees it.
struct Fake {
    method: &'static str,
    path: String,
    query: Option<&'static str>,
    headers: Vec<(&'static str, String)>,
}

fn get(path: &str) -> Fake {
    Fake { method: "GET", path: path.to_string(), query: None, headers: Vec::new() }
}

impl Fake {
    fn with(mut self, name: &'static str, value: &str) -> Fake {
        self.headers.push((name, value.to_string()));
        self
    }
}

impl Ask for Fake {
    fn method(&self) -> &str {
        self.method
    }
    fn path(&self) -> &str {
        &self.path
    }
    fn query(&self) -> Option<&str> {
        self.query
    }
    fn each_header(&self, name: &str, f: &mut dyn FnMut(&[u8])) {
        for (n, v) in &self.headers {
            if n.eq_ignore_ascii_case(name) {
                f(v.as_bytes());
            }
        }
    }
}

/// A scratch tree: `root/{index.html, a.txt, .env, sub/{b.css}, empty/, link-out -> outside,
/// secret-link -> outside/secret.txt, link-in -> a.txt, link-hidden -> .env}` and
/// `outside/secret.txt` beside root.
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

fn header<'r>(r: &'r Response, name: &str) -> &'r str {
    std::str::from_utf8(r.header_value(name).unwrap_or_else(|| panic!("no {name}"))).unwrap()
}

fn status_of(files: &Files, path: &str) -> u16 {
    files.respond(&get(path)).status
}

#[test]
fn root_must_be_an_existing_directory() {
    assert!(Files::new("/definitely/not/here").is_err());
    assert!(Files::new(std::env::current_exe().unwrap()).is_err());
    let files = Files::new(".").unwrap();
    assert!(files.root().unwrap().is_absolute());
    assert!(Files::embedded([], SystemTime::UNIX_EPOCH).root().is_none());
}

#[test]
fn serves_files_with_type_length_and_validators() {
    let (base, files) = tree("serve");
    let r = files.respond(&get("/a.txt"));
    assert_eq!(r.status, 200);
    assert_eq!(header(&r, "content-type"), "text/plain; charset=utf-8");
    assert!(header(&r, "last-modified").ends_with(" GMT"));
    assert!(header(&r, "etag").starts_with('"'));
    assert_eq!(header(&r, "accept-ranges"), "bytes");
    assert_eq!(header(&r, "vary"), "Accept-Encoding");
    assert_eq!(r.body.len(), Some(5));
    assert_eq!(files.respond(&get("/sub/b.css")).body.len(), Some(3));
    assert_eq!(status_of(&files, "/link-in"), 200);
    std::fs::remove_dir_all(base).unwrap();
}

#[test]
fn directories_redirect_or_serve_their_index() {
    let (base, files) = tree("dirs");
    let r = files.respond(&Fake { query: Some("x=1"), ..get("/sub") });
    assert_eq!(r.status, 301);
    assert_eq!(header(&r, "location"), "/sub/?x=1");
    assert_eq!(header(&files.respond(&get("/sub")), "location"), "/sub/");
    let index = files.respond(&get("/"));
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
fn switches_for_symlinks_and_hidden_files() {
    let (base, files) = tree("switches");
    let following = files.clone().follow_symlinks(true);
    assert_eq!(status_of(&following, "/secret-link"), 200);
    assert_eq!(status_of(&following, "/link-out/secret.txt"), 200);
    assert_eq!(status_of(&following, "/.env"), 404, "following links does not show dotfiles");
    let hidden = files.clone().hidden_files(true);
    assert_eq!(status_of(&hidden, "/.env"), 200);
    assert_eq!(status_of(&hidden, "/link-hidden"), 200);
    assert_eq!(status_of(&hidden, "/secret-link"), 404, "showing dotfiles does not follow links out");
    std::fs::remove_dir_all(base).unwrap();
}

#[test]
fn special_files_are_not_served() {
    let (base, files) = tree("fifo");
    let fifo = files.root().unwrap().join("pipe");
    let made = std::process::Command::new("mkfifo").arg(&fifo).status().map(|s| s.success());
    assert!(made.unwrap_or(false), "mkfifo");
    assert_eq!(status_of(&files, "/pipe"), 404, "a FIFO is refused, and without blocking");
    std::fs::remove_dir_all(base).unwrap();
}

#[test]
fn methods() {
    let (base, files) = tree("methods");
    let head = files.respond(&Fake { method: "HEAD", ..get("/a.txt") });
    assert_eq!((head.status, head.body.len()), (200, Some(5)));
    for path in ["*", "/a.txt", "/"] {
        let r = files.respond(&Fake { method: "OPTIONS", ..get(path) });
        assert_eq!((r.status, header(&r, "allow")), (204, ALLOW), "{path}");
    }
    assert_eq!(files.respond(&Fake { method: "OPTIONS", ..get("/nope") }).status, 404);
    for method in ["POST", "PUT", "DELETE", "PATCH", "get"] {
        let r = files.respond(&Fake { method, ..get("/a.txt") });
        assert_eq!((r.status, header(&r, "allow")), (405, ALLOW), "{method}");
    }
    std::fs::remove_dir_all(base).unwrap();
}

#[test]
fn conditional_and_range_flow() {
    let (base, files) = tree("flow");
    let etag = header(&files.respond(&get("/a.txt")), "etag").to_string();
    let r = files.respond(&get("/a.txt").with("If-None-Match", &etag));
    assert_eq!(r.status, 304);
    assert!(r.header_value("last-modified").is_none() && r.header_value("content-type").is_none());
    assert_eq!(header(&r, "etag"), etag);
    assert_eq!(files.respond(&get("/a.txt").with("If-Match", "\"nope\"")).status, 412);
    let r = files.respond(&get("/a.txt").with("Range", "bytes=1-2"));
    assert_eq!((r.status, header(&r, "content-range"), r.body.len()), (206, "bytes 1-2/5", Some(2)));
    let r = files.respond(&Fake { method: "HEAD", ..get("/a.txt") }.with("Range", "bytes=1-2"));
    assert_eq!(r.status, 200, "HEAD ignores Range");
    let r = files.respond(&get("/a.txt").with("Range", "bytes=1-2").with("If-Range", "\"old\""));
    assert_eq!(r.status, 200);
    let r = files.respond(&get("/a.txt").with("Range", "bytes=9-"));
    assert_eq!((r.status, header(&r, "content-range")), (416, "bytes */5"));
    std::fs::remove_dir_all(base).unwrap();
}

#[test]
fn precompressed_siblings() {
    let (base, files) = tree("precompressed");
    let root = files.root().unwrap().to_path_buf();
    std::fs::write(root.join("sub/b.css.gz"), "gz!").unwrap();
    std::fs::write(root.join("sub/b.css.br"), "br!!").unwrap();
    let plain = files.respond(&get("/sub/b.css"));
    let br = files.respond(&get("/sub/b.css").with("Accept-Encoding", "gzip, br"));
    assert_eq!((header(&br, "content-encoding"), br.body.len()), ("br", Some(4)));
    assert_eq!(header(&br, "content-type"), "text/css; charset=utf-8");
    assert_ne!(header(&br, "etag"), header(&plain, "etag"));
    let gz = files.respond(&get("/sub/b.css").with("Accept-Encoding", "gzip;q=1, br;q=0.1"));
    assert_eq!(header(&gz, "content-encoding"), "gzip");
    let ranged = files.respond(&get("/sub/b.css").with("Accept-Encoding", "br").with("Range", "bytes=0-0"));
    assert!(ranged.header_value("content-encoding").is_none(), "ranges are of the file itself");
    let off = files.clone().precompressed(false).respond(&get("/sub/b.css").with("Accept-Encoding", "br"));
    assert!(off.header_value("content-encoding").is_none() && off.header_value("vary").is_none());
    std::fs::remove_dir_all(base).unwrap();
}

#[test]
fn cache_control_rules() {
    let (base, files) = tree("cache");
    let files = files.cache_rule("*.css", "max-age=60").unwrap().cache_control("no-cache").unwrap();
    assert_eq!(header(&files.respond(&get("/sub/b.css")), "cache-control"), "max-age=60");
    assert_eq!(header(&files.respond(&get("/a.txt")), "cache-control"), "no-cache");
    assert_eq!(header(&files.respond(&get("/")), "cache-control"), "no-cache", "index.html is matched by name");
    assert!(files.respond(&get("/missing")).header_value("cache-control").is_none());
    std::fs::remove_dir_all(base).unwrap();
}

#[test]
fn listing_is_opt_in() {
    let (base, files) = tree("listing");
    assert_eq!(status_of(&files, "/empty/"), 404);
    let listing = files.listing(true);
    let r = listing.respond(&get("/sub/"));
    assert_eq!((r.status, header(&r, "content-type")), (200, "text/html; charset=utf-8"));
    let crate::response::BodyKind::Bytes(page) = &r.body.0 else { panic!("listing body") };
    let page = String::from_utf8_lossy(page);
    assert!(page.contains(">b.css</a>") && page.contains("Index of /sub/"), "{page}");
    let r = listing.respond(&get("/"));
    assert!(matches!(r.body.0, crate::response::BodyKind::File { len: 11, .. }), "an index file wins over the listing");
    std::fs::remove_dir_all(base).unwrap();
}

#[test]
fn embedded_assets_go_through_the_same_rules() {
    let assets: [(&'static str, &'static [u8]); 3] =
        [("/index.html", b"<p>x</p>"), ("/css/site.css", b"b{}"), ("/css/site.css.br", b"BR")];
    let files = Files::embedded(assets, SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_000_000));
    let r = files.respond(&get("/"));
    assert_eq!((r.status, header(&r, "last-modified")), (200, "Mon, 12 Jan 1970 13:46:40 GMT"));
    let etag = header(&r, "etag").to_string();
    assert_eq!(files.respond(&get("/index.html").with("If-None-Match", &etag)).status, 304);
    assert_eq!(header(&files.respond(&get("/css")), "location"), "/css/");
    let br = files.respond(&get("/css/site.css").with("Accept-Encoding", "br"));
    assert_eq!((header(&br, "content-encoding"), br.body.len()), ("br", Some(2)));
    let r = files.respond(&get("/css/site.css").with("Range", "bytes=1-"));
    assert_eq!((r.status, r.body.len()), (206, Some(2)));
    assert_eq!(status_of(&files, "/nope"), 404);
    assert_eq!(status_of(&files, "/../index.html"), 400);
}
