//! HTTP Basic authentication (RFC 7617): [`BasicAuth`].
//!
//! Refusals are `401` with `WWW-Authenticate: Basic realm="...",
//! charset="UTF-8"` (RFC 7617 §2, §2.1), the same for a missing, malformed or
//! wrong credential, so a client learns nothing about which part failed.
//! Passwords are never logged; failures log at debug level without the
//! credential.
//!
//! **htpasswd formats**: bcrypt only (`$2y$`, `$2b$`, `$2a$`, as written by
//! `htpasswd -B`). Apache's `{SHA}` (unsalted SHA-1), `$apr1$` (MD5), `crypt`
//! and plain text are refused when the file is loaded, with the line number:
//! they are cheap to brute-force from a leaked file.
//!
//! **Cost and timing**: bcrypt is deliberately slow (milliseconds per check,
//! ~250 ms at cost 12), so it runs as a [`Check::costly`] job, off the loop.
//! A successful check is remembered in a bounded [`Cache`] (never the
//! password), so a client's later requests cost one hash and a constant-time
//! comparison, on the loop, with no wait. A failed one is never remembered:
//! every wrong password costs a full check. An unknown user is checked against
//! a stand-in hash at the file's highest cost, so its refusal takes as long as
//! a wrong password's for the slowest user (user names cannot be told apart
//! by timing). Every entry is parsed as bcrypt when the file is loaded, so
//! none fails later, faster than a real check.

use std::collections::HashMap;
use std::io;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine;

use super::cache::{Cache, Key};
use super::{Check, Protected};
use crate::handler::Handler;
use crate::request::Request;
use crate::response::Response;

/// Verified credentials remembered at most, by default, for htpasswd files.
const CACHE_LIMIT: usize = 4096;
/// How long a callback's verdict is trusted, by default, once caching is on.
const CALLBACK_TTL: Duration = Duration::from_secs(5 * 60);
/// The costs bcrypt computes (its log2 rounds); a hash outside never verifies.
const BCRYPT_COSTS: std::ops::RangeInclusive<u32> = 4..=31;

type Callback = Box<dyn Fn(&str, &str) -> bool + Send + Sync>;

/// Where Basic credentials are checked.
enum Verifier {
    Htpasswd(Htpasswd),
    Callback(Callback),
}

/// An htpasswd file's entries, each a well-formed bcrypt hash.
struct Htpasswd {
    /// user → bcrypt hash.
    users: HashMap<String, String>,
    /// What an unknown user's password is checked against: a bcrypt hash at
    /// the highest cost of `users` (it matches no password that matters: the
    /// user is refused whatever the outcome).
    dummy: String,
}

/// HTTP Basic authentication (RFC 7617) against an htpasswd file or a callback.
///
/// htpasswd entries must be bcrypt (`$2y$`, `$2b$`, `$2a$`: `htpasswd -B`);
/// `{SHA}`, MD5, crypt and plain text are refused when loaded. Every refusal
/// (missing, malformed or wrong credentials, unknown user) is the same `401`
/// with `WWW-Authenticate: Basic realm="...", charset="UTF-8"`; an unknown user
/// costs a bcrypt check like a wrong password. Checks run off the loop (see
/// [`Check::costly`]); successful ones are remembered as a salted SHA-256
/// (never the password), so a client's later requests skip the check. The
/// accepted user is the access log's `%u`. Passwords are never logged.
pub struct BasicAuth {
    shared: Arc<Shared>,
}

/// What the loop and the verifier threads both use.
struct Shared {
    realm: String,
    verifier: Verifier,
    cache: Cache,
}

impl std::fmt::Debug for BasicAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BasicAuth").field("realm", &self.shared.realm).finish_non_exhaustive()
    }
}

impl BasicAuth {
    /// Users and bcrypt hashes from an htpasswd file (`user:$2y$...` per line,
    /// `#` comments). Any other hash format is an error naming the line.
    pub fn from_htpasswd(realm: &str, path: impl AsRef<Path>) -> io::Result<Self> {
        let path = path.as_ref();
        let text =
            std::fs::read_to_string(path).map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))?;
        Self::from_htpasswd_str(realm, &text).map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))
    }

    /// Like [`BasicAuth::from_htpasswd`], from the file's text.
    pub fn from_htpasswd_str(realm: &str, text: &str) -> io::Result<Self> {
        let htpasswd = parse_htpasswd(text)?;
        Ok(Self::with_verifier(realm, Verifier::Htpasswd(htpasswd), CACHE_LIMIT))
    }

    /// Checks credentials with `verify(user, password)`, off the loop (it may
    /// be slow). It should compare in constant time itself (e.g. with a
    /// password hash's verify). Its answers are not remembered, since they may
    /// change (a revoked password), unless [`BasicAuth::cache`] says so; then
    /// each is trusted for 5 minutes ([`BasicAuth::cache_for`]).
    pub fn with_callback(realm: &str, verify: impl Fn(&str, &str) -> bool + Send + Sync + 'static) -> Self {
        let auth = Self::with_verifier(realm, Verifier::Callback(Box::new(verify)), 0);
        auth.cache_for(CALLBACK_TTL)
    }

    /// Remembers up to `limit` verified credentials (0: none), the oldest
    /// forgotten first. The default is 4096 for an htpasswd file, 0 for a
    /// callback.
    pub fn cache(self, limit: usize) -> Self {
        self.shared.cache.set_limit(limit);
        self
    }

    /// Trusts a remembered credential for `ttl` after it was verified; then
    /// it is verified again (a password the callback stopped accepting stops
    /// working). The default is 5 minutes for a callback; for an htpasswd file
    /// (read once, when loaded) a credential is trusted as long as it is
    /// remembered.
    pub fn cache_for(self, ttl: Duration) -> Self {
        self.shared.cache.set_ttl(Some(ttl));
        self
    }

    fn with_verifier(realm: &str, verifier: Verifier, cache_limit: usize) -> Self {
        let realm = realm.replace(['"', '\\'], "").chars().filter(|c| !c.is_control()).collect();
        BasicAuth { shared: Arc::new(Shared { realm, verifier, cache: Cache::new(cache_limit) }) }
    }

    /// The `401` this realm answers with (RFC 7617 §2, charset per §2.1).
    pub fn challenge(&self) -> Response {
        self.shared.challenge()
    }

    /// Protects `inner` with these credentials (shorthand for [`Protected::new`]).
    pub fn protect<H: Handler>(self, inner: H) -> Protected<Self, H> {
        Protected::new(self, inner)
    }
}

impl Shared {
    fn challenge(&self) -> Response {
        Response::error(401).header("WWW-Authenticate", format!("Basic realm=\"{}\", charset=\"UTF-8\"", self.realm))
    }

    /// The slow check, on a verifier thread; a success is remembered.
    fn verify(&self, user: String, password: &str, key: Key) -> Check {
        let ok = match &self.verifier {
            Verifier::Callback(verify) => verify(&user, password),
            Verifier::Htpasswd(Htpasswd { users, dummy }) => match users.get(&user) {
                Some(hash) => bcrypt::verify(password, hash).unwrap_or(false),
                None => {
                    // As much work as the slowest wrong password: no user-name oracle.
                    let _ = bcrypt::verify(password, dummy);
                    false
                }
            },
        };
        if !ok {
            log::debug!("basic auth: refused a login for realm {:?}", self.realm);
            return Check::Refuse(self.challenge());
        }
        self.cache.insert(key, Instant::now());
        Check::user(user)
    }
}

impl super::Authenticator for BasicAuth {
    fn check(&self, request: &Request) -> Check {
        let Some((user, password)) = request.header_bytes("authorization").and_then(basic_credentials) else {
            log::debug!("basic auth: missing or malformed credentials");
            return Check::Refuse(self.challenge());
        };
        let key = self.shared.cache.key(&user, &password);
        if self.shared.cache.contains(&key, Instant::now()) {
            return Check::user(user);
        }
        let shared = self.shared.clone();
        Check::costly(move |_| shared.verify(user, &password, key))
    }
}

/// Decodes `Basic <base64(user:password)>` (RFC 7617 §2): scheme
/// case-insensitive, standard base64 with padding, UTF-8 (§2.1), a user-id
/// without `:`. `None` for anything else.
fn basic_credentials(value: &[u8]) -> Option<(String, String)> {
    let value = std::str::from_utf8(value).ok()?.trim();
    let (scheme, token) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD.decode(token.trim()).ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (user, password) = text.split_once(':')?;
    if text.chars().any(char::is_control) {
        return None; // RFC 7617 §2: no control characters in user-id or password
    }
    Some((user.to_string(), password.to_string()))
}

/// Parses htpasswd text: well-formed bcrypt entries only, at least one.
fn parse_htpasswd(text: &str) -> io::Result<Htpasswd> {
    let mut users = HashMap::new();
    let mut highest_cost = 0;
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let bad = |why: String| io::Error::new(io::ErrorKind::InvalidData, format!("htpasswd line {}: {why}", i + 1));
        let (user, hash) = line.split_once(':').ok_or_else(|| bad("expected user:hash".into()))?;
        if !["$2y$", "$2b$", "$2a$"].iter().any(|p| hash.starts_with(p)) {
            return Err(bad(format!(
                "user {user:?} has a {} password; only bcrypt is accepted (re-create it with `htpasswd -B`)",
                weak_format_name(hash)
            )));
        }
        let cost = bcrypt_cost(hash).ok_or_else(|| {
            bad(format!("user {user:?} has a malformed bcrypt hash (re-create it with `htpasswd -B`)"))
        })?;
        highest_cost = highest_cost.max(cost);
        users.insert(user.to_string(), hash.to_string());
    }
    if users.is_empty() {
        return Err(io::Error::new(io::ErrorKind::InvalidData, "htpasswd: no users"));
    }
    Ok(Htpasswd { users, dummy: dummy_hash(highest_cost) })
}

/// The cost of a well-formed bcrypt hash (one `bcrypt::verify` can check).
fn bcrypt_cost(hash: &str) -> Option<u32> {
    let parts: bcrypt::HashParts = hash.parse().ok()?;
    let cost = parts.get_cost();
    BCRYPT_COSTS.contains(&cost).then_some(cost)
}

/// A well-formed bcrypt hash at `cost` (a zero salt and digest: checking a
/// password against it costs what checking a real entry of that cost does).
fn dummy_hash(cost: u32) -> String {
    format!("$2y${cost:02}${}", ".".repeat(53))
}

fn weak_format_name(hash: &str) -> &'static str {
    if hash.starts_with("{SHA}") {
        "{SHA} (unsalted SHA-1)"
    } else if hash.starts_with("$apr1$") || hash.starts_with("$1$") {
        "MD5"
    } else if hash.starts_with("$5$") || hash.starts_with("$6$") {
        "SHA-crypt"
    } else {
        "crypt or plain-text"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_credentials_table() {
        let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
        let ok = |v: String, u: &str, p: &str| {
            assert_eq!(basic_credentials(v.as_bytes()), Some((u.into(), p.into())), "{v}")
        };
        ok(format!("Basic {}", b64("alice:secret")), "alice", "secret");
        ok(format!("basic {}", b64("alice:se:cret")), "alice", "se:cret");
        ok(format!("BASIC {}", b64("jürgen:pä55")), "jürgen", "pä55");
        ok(format!("Basic {}", b64(":")), "", "");
        for bad in [
            "".to_string(),
            "Basic".into(),
            "Basic !!!".into(),
            format!("Bearer {}", b64("alice:secret")),
            format!("Basic {}", b64("no-colon")),
            format!("Basic {}", b64("a:b\nc")),
            format!("Basic {}", b64("alice:secre").trim_end_matches('=')),
        ] {
            assert_eq!(basic_credentials(bad.as_bytes()), None, "{bad:?}");
        }
        assert_eq!(basic_credentials(b"Basic \xff\xfe"), None);
    }

    #[test]
    fn htpasswd_accepts_bcrypt_and_refuses_weak_formats() {
        let alice = bcrypt::hash("x", 4).unwrap();
        let htpasswd = parse_htpasswd(&format!("# comment\n\nalice:{alice}\n")).unwrap();
        assert!(htpasswd.users.contains_key("alice"));
        for (line, word) in [
            ("bob:{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=", "{SHA}"),
            ("bob:$apr1$abc$def", "MD5"),
            ("bob:plain", "plain"),
            ("no colon here", "user:hash"),
            ("bob:$2y$junk", "malformed bcrypt"),
            (&format!("bob:{}", alice.replacen("$04$", "$03$", 1)), "malformed bcrypt"), // below bcrypt's least cost
            (&format!("bob:{}", &alice[..59]), "malformed bcrypt"),
        ] {
            let err = parse_htpasswd(&format!("# x\n{line}\n")).err().expect("refused").to_string();
            assert!(err.contains("line 2") && err.contains(word), "{err}");
        }
    }

    #[test]
    fn an_unknown_user_costs_what_the_slowest_entry_does() {
        let (cheap, dear) = (bcrypt::hash("x", 4).unwrap(), bcrypt::hash("x", 5).unwrap());
        for text in [format!("a:{cheap}\nb:{dear}\n"), format!("b:{dear}\na:{cheap}\n")] {
            let htpasswd = parse_htpasswd(&text).unwrap();
            assert_eq!(bcrypt_cost(&htpasswd.dummy), Some(5), "{}", htpasswd.dummy);
            assert_eq!(bcrypt::verify("x", &htpasswd.dummy).ok(), Some(false), "checkable, matching nothing");
        }
    }
}
