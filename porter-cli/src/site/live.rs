//! The site in use, swapped whole when the config file is reloaded (SIGHUP).
//!
//! Every request looks the site up as it begins, so a request runs start to
//! end on the site it began with, and the next one sees the new site: a
//! request with a body is checked from its head (`before_body`) and answered
//! once its body is read (`handle`), so it keeps the site of its check with
//! it ([`Request::keep`], one reference count for such a request). The
//! lookup takes no lock and touches no shared counter on the usual path: each
//! worker thread keeps the site it used last beside the generation it was
//! stored under, and only an atomic load tells it whether that is still
//! current (a reference count bumped per request would bounce one cache line
//! between the workers). A worker that sees a newer generation takes the read
//! lock once and keeps the new site.
//!
//! So an old site (its open files, its htpasswd users) lives on after a
//! reload until every worker that used it has handled one more request: a
//! worker left idle keeps its copy until then (or until porter exits).
//! Nothing is served from it; only its memory and file handles are held.

use std::cell::RefCell;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock};

use porter::{Handler, Reply, Request, Response};

use super::Site;

/// Generations are unique across every `Live` of the process, so a thread's
/// cached site can never be mistaken for another `Live`'s.
static NEXT_GENERATION: AtomicU64 = AtomicU64::new(1);

thread_local! {
    /// The site this thread used last, and the generation it was current in.
    static CACHED: RefCell<Option<(u64, Arc<Site>)>> = const { RefCell::new(None) };
}

/// The site requests see now; clones share it.
#[derive(Clone)]
pub struct Live(Arc<Slot>);

struct Slot {
    generation: AtomicU64,
    site: RwLock<Arc<Site>>,
}

impl Live {
    /// Serves `site` until the next [`Live::replace`].
    pub fn new(site: Site) -> Self {
        let generation = AtomicU64::new(NEXT_GENERATION.fetch_add(1, Ordering::Relaxed));
        Live(Arc::new(Slot { generation, site: RwLock::new(Arc::new(site)) }))
    }

    /// Requests that begin from now on see `site`; those under way finish on the old one.
    pub fn replace(&self, site: Site) {
        *self.0.site.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(site);
        self.0.generation.store(NEXT_GENERATION.fetch_add(1, Ordering::Relaxed), Ordering::Release);
    }

    /// Runs `f` with the current site.
    fn with<T>(&self, f: impl FnOnce(&Arc<Site>) -> T) -> T {
        let now = self.0.generation.load(Ordering::Acquire);
        // Taken out of the cache while in use, so no borrow is held across `f`.
        let cached = CACHED.with(|c| c.borrow_mut().take()).filter(|(generation, _)| *generation == now);
        let (generation, site) =
            cached.unwrap_or_else(|| (now, self.0.site.read().unwrap_or_else(PoisonError::into_inner).clone()));
        let result = f(&site);
        CACHED.with(|c| *c.borrow_mut() = Some((generation, site)));
        result
    }
}

impl Handler for Live {
    fn handle(&self, mut request: Request) -> Reply {
        match request.take_kept::<Site>() {
            Some(checked_on) => checked_on.handle(request),
            None => self.with(|site| site.handle(request)),
        }
    }

    fn before_body(&self, request: &Request) -> Option<Response> {
        self.with(|site| {
            request.keep(site.clone());
            site.before_body(request)
        })
    }
}

#[cfg(test)]
mod tests {
    use std::io::{BufRead, BufReader, Read, Write};
    use std::net::TcpStream;
    use std::path::{Path, PathBuf};
    use std::time::Duration;

    use super::*;

    /// A site whose one location is `location` (with `{dir}` for `dir`).
    fn site(dir: &Path, location: &str) -> Site {
        let text = format!(
            "[[listen]]\naddress = \"127.0.0.1:0\"\n[[host]]\nnames = [\"t\"]\n[[host.location]]\npath = \"/\"\n{}\n",
            location.replace("{dir}", &dir.display().to_string())
        );
        let config = crate::config::parse(&dir.join("p.toml"), &text).unwrap_or_else(|e| panic!("{e:?}"));
        crate::site::build(&config, &porter::Metrics::new()).expect("site")
    }

    fn scratch() -> PathBuf {
        let dir = std::env::temp_dir().join(format!("porter-live-unit-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        std::fs::write(dir.join("x.txt"), "from A").expect("file");
        dir
    }

    /// A request with a body is checked on site A (its `100 Continue` says
    /// so), the site is replaced by B before the body comes, and A answers.
    #[test]
    fn a_request_with_a_body_is_answered_by_the_site_that_checked_it() {
        let dir = scratch();
        let live = Live::new(site(&dir, "root = \"{dir}\""));
        let server = porter::Server::bind("127.0.0.1:0").threads(1).build(live.clone()).expect("build");
        let server = server.spawn().expect("spawn");
        let mut tcp = TcpStream::connect(server.local_addr()).expect("connect");
        tcp.set_read_timeout(Some(Duration::from_secs(60))).expect("timeout");
        tcp.write_all(b"GET /x.txt HTTP/1.1\r\nHost: t\r\nContent-Length: 1\r\nExpect: 100-continue\r\n\r\n")
            .expect("head");
        let mut reader = BufReader::new(tcp.try_clone().expect("clone"));
        let mut line = String::new();
        reader.read_line(&mut line).expect("100 Continue");
        assert_eq!(line, "HTTP/1.1 100 Continue\r\n", "before_body ran on site A");
        live.replace(site(&dir, "status = { code = 200, body = \"from B\" }"));
        tcp.write_all(b"z").expect("body");
        let mut reply = Vec::new();
        tcp.shutdown(std::net::Shutdown::Write).expect("shutdown");
        reader.read_to_end(&mut reply).expect("reply");
        let reply = String::from_utf8_lossy(&reply);
        assert!(reply.contains("200 OK") && reply.ends_with("from A"), "{reply}");
        let mut next = TcpStream::connect(server.local_addr()).expect("connect");
        next.write_all(b"GET /x.txt HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n").expect("request");
        let mut reply = String::new();
        next.read_to_string(&mut reply).expect("reply");
        assert!(reply.ends_with("from B"), "the next request sees site B: {reply}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
