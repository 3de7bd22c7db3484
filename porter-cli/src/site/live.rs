//! The site in use, swapped whole when the config file is reloaded (SIGHUP).
//!
//! Every request looks the site up as it begins, so a request runs start to
//! end on the site it began with, and the next one sees the new site. The
//! lookup takes no lock and touches no shared counter on the usual path: each
//! worker thread keeps the site it used last beside the generation it was
//! stored under, and only an atomic load tells it whether that is still
//! current (a reference count bumped per request would bounce one cache line
//! between the workers). A worker that sees a newer generation takes the read
//! lock once and keeps the new site.

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
    fn with<T>(&self, f: impl FnOnce(&Site) -> T) -> T {
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
    fn handle(&self, request: Request) -> Reply {
        self.with(|site| site.handle(request))
    }

    fn before_body(&self, request: &Request) -> Option<Response> {
        self.with(|site| site.before_body(request))
    }
}
