//! The cache of verified credentials: what lets a client's later requests skip
//! bcrypt.
//!
//! An entry is a salted SHA-256 of user and password (the salt is random per
//! cache, the password is never stored), added only after a successful check,
//! so a wrong password can never be found here. A lookup is one hash and a
//! hash-set probe whose key comparison is constant-time. The cache holds at
//! most `limit` entries; past that the oldest is forgotten (its user pays one
//! more verification). An entry may also be trusted for a time only (`ttl`,
//! counted from its verification): then it is verified again, so that a
//! password the verifier no longer accepts stops working. The caller gives
//! the time (`now`), so tests need no sleeping. It is shared by every loop
//! that checks through it.

use std::collections::{HashMap, VecDeque};
use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use ring::digest::{Context, SHA256};
use subtle::ConstantTimeEq;

/// A credential's salted digest.
#[derive(Clone, Copy)]
pub(super) struct Key([u8; 32]);

impl PartialEq for Key {
    fn eq(&self, other: &Self) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}

impl Eq for Key {}

impl Hash for Key {
    fn hash<S: Hasher>(&self, state: &mut S) {
        state.write(&self.0);
    }
}

/// Verified credentials, oldest first.
#[derive(Default)]
struct Entries {
    /// Each with when it was (last) verified.
    known: HashMap<Key, Instant>,
    order: VecDeque<Key>,
    /// How long an entry is trusted; `None`: as long as it is kept.
    ttl: Option<Duration>,
}

/// A bounded set of verified credentials (see the module docs).
pub(super) struct Cache {
    salt: [u8; 32],
    /// Entries at most (0: the cache is off).
    limit: AtomicUsize,
    entries: Mutex<Entries>,
}

impl Cache {
    /// An empty cache holding up to `limit` credentials (0: remembers nothing).
    pub(super) fn new(limit: usize) -> Self {
        let mut salt = [0u8; 32];
        // Without system randomness, the clock salts it.
        if ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut salt).is_err() {
            let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
            salt[..16].copy_from_slice(&nanos.to_le_bytes());
        }
        Cache { salt, limit: AtomicUsize::new(limit), entries: Mutex::default() }
    }

    /// Changes the bound (for a cache being configured, still empty).
    pub(super) fn set_limit(&self, limit: usize) {
        self.limit.store(limit, Ordering::Relaxed);
    }

    /// Trusts each entry for `ttl` after its verification (`None`: for as
    /// long as it is kept).
    pub(super) fn set_ttl(&self, ttl: Option<Duration>) {
        self.lock().ttl = ttl;
    }

    /// The key of `user` with `password`.
    pub(super) fn key(&self, user: &str, password: &str) -> Key {
        let mut ctx = Context::new(&SHA256);
        ctx.update(&self.salt);
        ctx.update(&(user.len() as u64).to_le_bytes());
        ctx.update(user.as_bytes());
        ctx.update(password.as_bytes());
        let mut out = [0u8; 32];
        out.copy_from_slice(ctx.finish().as_ref());
        Key(out)
    }

    /// True if this credential was verified before, not yet forgotten and,
    /// at `now`, still trusted.
    pub(super) fn contains(&self, key: &Key, now: Instant) -> bool {
        if self.limit.load(Ordering::Relaxed) == 0 {
            return false;
        }
        let entries = self.lock();
        let Some(&verified) = entries.known.get(key) else { return false };
        entries.ttl.is_none_or(|ttl| now.saturating_duration_since(verified) < ttl)
    }

    /// Remembers a credential verified at `now` (an entry already there is
    /// trusted anew, keeping its place in line).
    pub(super) fn insert(&self, key: Key, now: Instant) {
        let limit = self.limit.load(Ordering::Relaxed);
        if limit == 0 {
            return;
        }
        let mut entries = self.lock();
        if entries.known.insert(key, now).is_some() {
            return;
        }
        entries.order.push_back(key);
        while entries.order.len() > limit {
            if let Some(oldest) = entries.order.pop_front() {
                entries.known.remove(&oldest);
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Entries> {
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_inserted_keys_are_found_and_the_oldest_goes_first() {
        let (cache, now) = (Cache::new(2), Instant::now());
        let (a, b, c) = (cache.key("alice", "1"), cache.key("bob", "2"), cache.key("carol", "3"));
        assert!(!cache.contains(&a, now));
        cache.insert(a, now);
        assert!(cache.contains(&a, now));
        assert!(!cache.contains(&cache.key("alice", "2"), now), "another password");
        assert!(!cache.contains(&cache.key("alic", "e1"), now), "the user's length is in the key");
        cache.insert(b, now);
        cache.insert(a, now); // already known: no second entry
        cache.insert(c, now);
        assert!(!cache.contains(&a, now), "the oldest was forgotten");
        assert!(cache.contains(&b, now) && cache.contains(&c, now));
        assert_eq!(cache.lock().order.len(), 2);
    }

    #[test]
    fn a_zero_limit_remembers_nothing() {
        let (cache, now) = (Cache::new(0), Instant::now());
        let key = cache.key("alice", "1");
        cache.insert(key, now);
        assert!(!cache.contains(&key, now));
    }

    #[test]
    fn caches_are_salted_apart() {
        let (one, two) = (Cache::new(1), Cache::new(1));
        assert!(one.key("alice", "1") != two.key("alice", "1"));
    }

    #[test]
    fn an_entry_is_trusted_for_its_ttl_then_verified_again() {
        let (cache, t0) = (Cache::new(4), Instant::now());
        let minute = Duration::from_secs(60);
        let key = cache.key("alice", "1");
        cache.insert(key, t0);
        assert!(cache.contains(&key, t0 + 10 * minute), "no ttl: kept as long as there is room");
        cache.set_ttl(Some(minute));
        assert!(cache.contains(&key, t0 + minute - Duration::from_millis(1)));
        assert!(!cache.contains(&key, t0 + minute), "expired");
        cache.insert(key, t0 + 2 * minute); // verified again
        assert!(cache.contains(&key, t0 + 2 * minute + Duration::from_secs(59)));
        assert_eq!(cache.lock().order.len(), 1, "trusted anew, not added twice");
    }
}
