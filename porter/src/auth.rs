//! Authentication: a handler wrapper that checks each request before the inner
//! handler sees it, with HTTP Basic (RFC 7617) built in and a hook for other
//! schemes.
//!
//! - [`Authenticator`] is the hook: `check` returns `Ok(())` to let a request
//!   through or the refusal to send (a bearer-token scheme is ten lines).
//!   Closures `Fn(&Request) -> Result<(), Response>` are authenticators.
//! - [`Protected`] runs the check in [`Handler::before_body`] too, so an
//!   unauthenticated upload is refused from its head and never read. It
//!   protects everything it wraps (put it on one route of a [`Router`](crate::Router)),
//!   or only paths under a prefix ([`Protected::under`]).
//! - [`BasicAuth`] checks `Authorization: Basic` credentials against an
//!   htpasswd file or a callback. Refusals are `401` with `WWW-Authenticate:
//!   Basic realm="...", charset="UTF-8"` (RFC 7617 §2, §2.1), the same for a
//!   missing, malformed or wrong credential, so a client learns nothing about
//!   which part failed. Passwords are never logged; failures log at debug level
//!   without the credential.
//!
//! **htpasswd formats**: bcrypt only (`$2y$`, `$2b$`, `$2a$`, as written by
//! `htpasswd -B`). Apache's `{SHA}` (unsalted SHA-1), `$apr1$` (MD5), `crypt`
//! and plain text are refused when the file is loaded, with the line number:
//! they are cheap to brute-force from a leaked file.
//!
//! **Cost and timing**: bcrypt is deliberately slow (milliseconds per check)
//! and runs on the loop thread. A successful check is remembered as a salted
//! SHA-256 of user and password (never the password itself), so a client's
//! later requests cost one hash and a constant-time comparison; the cache is
//! bounded. An unknown user is checked against a real entry's hash anyway, so
//! its refusal takes as long as a wrong password's.

use std::collections::HashMap;
use std::io;
use std::path::Path;
use std::sync::Mutex;

use base64::Engine;
use ring::digest::{Context, SHA256};
use subtle::ConstantTimeEq;

use crate::handler::{Handler, Reply};
use crate::request::Request;
use crate::response::Response;

/// Successful logins remembered at most (then the cache starts over).
const CACHE_LIMIT: usize = 4096;

/// Decides whether a request may go on: `Ok(())`, or the response to send
/// instead (usually a 401 with a challenge).
pub trait Authenticator: Send + Sync + 'static {
    /// Checks one request from its head (the body has not been read).
    fn check(&self, request: &Request) -> Result<(), Response>;
}

impl<F> Authenticator for F
where
    F: Fn(&Request) -> Result<(), Response> + Send + Sync + 'static,
{
    fn check(&self, request: &Request) -> Result<(), Response> {
        self(request)
    }
}

/// A handler behind an [`Authenticator`]: refused requests never reach it.
///
/// ```no_run
/// use porter::{BasicAuth, Protected, Response, Router, Server};
/// # fn main() -> std::io::Result<()> {
/// let auth = BasicAuth::from_htpasswd("admin area", "/etc/porter/htpasswd")?;
/// let app = Router::new()
///     .get("/", |_req| Response::text("public"))
///     .get("/admin", Protected::new(auth, |_req| Response::text("secret")));
/// Server::bind("127.0.0.1:8080").run(app)
/// # }
/// ```
#[derive(Debug)]
pub struct Protected<A, H> {
    auth: A,
    inner: H,
    /// The protected prefix's decoded segments (`under`); `None`: everything.
    prefix: Option<Vec<Vec<u8>>>,
}

impl<A: Authenticator, H: Handler> Protected<A, H> {
    /// Protects every request `inner` gets.
    pub fn new(auth: A, inner: H) -> Self {
        Protected { auth, inner, prefix: None }
    }

    /// Protects only paths equal to `prefix` or below it (`/admin` covers
    /// `/admin` and `/admin/x`, not `/administrator`); others pass freely.
    /// Paths are compared as [`CleanPath`](crate::CleanPath)s, decoded and
    /// normalized as `Files` serves them, so `/%61dmin`, `//admin` and
    /// `/x/../admin` are protected too; a request path that does not normalize
    /// is protected. A `prefix` that is not an absolute path protects everything.
    pub fn under(mut self, prefix: &str) -> Self {
        let segments = crate::CleanPath::parse(prefix).map(|p| p.segments().to_vec());
        self.prefix = Some(segments.unwrap_or_default());
        self
    }

    fn applies_to(&self, request: &Request) -> bool {
        let Some(prefix) = &self.prefix else { return true };
        crate::CleanPath::parse(request.path()).map_or(true, |path| path.starts_with(prefix))
    }

    fn refusal(&self, request: &Request) -> Option<Response> {
        if !self.applies_to(request) {
            return None;
        }
        self.auth.check(request).err()
    }
}

impl<A: Authenticator, H: Handler> Handler for Protected<A, H> {
    fn handle(&self, request: Request) -> Reply {
        match self.refusal(&request) {
            Some(refused) => refused.into(),
            None => self.inner.handle(request),
        }
    }

    fn before_body(&self, request: &Request) -> Option<Response> {
        // Refused from the head: the body is never read (no 100 Continue).
        self.refusal(request).or_else(|| self.inner.before_body(request))
    }

    fn streams_body(&self, request: &Request) -> bool {
        self.inner.streams_body(request)
    }
}

type Callback = Box<dyn Fn(&str, &str) -> bool + Send + Sync>;

/// Where Basic credentials are checked.
enum Verifier {
    /// user → bcrypt hash.
    Htpasswd(HashMap<String, String>),
    Callback(Callback),
}

/// HTTP Basic authentication (RFC 7617) against an htpasswd file or a callback.
///
/// htpasswd entries must be bcrypt (`$2y$`, `$2b$`, `$2a$`: `htpasswd -B`);
/// `{SHA}`, MD5, crypt and plain text are refused when loaded. Every refusal
/// (missing, malformed or wrong credentials, unknown user) is the same `401`
/// with `WWW-Authenticate: Basic realm="...", charset="UTF-8"`; an unknown user
/// costs a bcrypt check like a wrong password. Successful checks are cached as
/// a salted SHA-256 (never the password), so a client's later requests skip
/// bcrypt. Passwords are never logged.
pub struct BasicAuth {
    realm: String,
    verifier: Verifier,
    /// user → salted SHA-256 of (user, password) of the last successful check.
    cache: Mutex<HashMap<String, [u8; 32]>>,
    salt: [u8; 32],
}

impl std::fmt::Debug for BasicAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BasicAuth").field("realm", &self.realm).finish_non_exhaustive()
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
        let users = parse_htpasswd(text)?;
        if users.is_empty() {
            return Err(io::Error::new(io::ErrorKind::InvalidData, "htpasswd: no users"));
        }
        Ok(Self::with_verifier(realm, Verifier::Htpasswd(users)))
    }

    /// Checks credentials with `verify(user, password)`. The callback should
    /// compare in constant time itself (e.g. with a password hash's verify).
    pub fn with_callback(realm: &str, verify: impl Fn(&str, &str) -> bool + Send + Sync + 'static) -> Self {
        Self::with_verifier(realm, Verifier::Callback(Box::new(verify)))
    }

    fn with_verifier(realm: &str, verifier: Verifier) -> Self {
        let mut salt = [0u8; 32];
        // Only the cache needs it; without system randomness, the clock keys it.
        if ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut salt).is_err() {
            let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
            salt[..16].copy_from_slice(&nanos.to_le_bytes());
        }
        let realm = realm.replace(['"', '\\'], "").chars().filter(|c| !c.is_control()).collect();
        BasicAuth { realm, verifier, cache: Mutex::new(HashMap::new()), salt }
    }

    /// The `401` this realm answers with (RFC 7617 §2, charset per §2.1).
    pub fn challenge(&self) -> Response {
        Response::error(401).header("WWW-Authenticate", format!("Basic realm=\"{}\", charset=\"UTF-8\"", self.realm))
    }

    fn verify(&self, user: &str, password: &str) -> bool {
        let digest = self.digest(user, password);
        if self.is_cached(user, &digest) {
            return true;
        }
        let ok = match &self.verifier {
            Verifier::Callback(verify) => return verify(user, password),
            Verifier::Htpasswd(users) => match users.get(user) {
                Some(hash) => bcrypt::verify(password, hash).unwrap_or(false),
                None => {
                    // Same work as a wrong password: no user-name oracle.
                    if let Some(any) = users.values().next() {
                        let _ = bcrypt::verify(password, any);
                    }
                    false
                }
            },
        };
        if ok {
            self.remember(user, digest);
        }
        ok
    }

    fn digest(&self, user: &str, password: &str) -> [u8; 32] {
        let mut ctx = Context::new(&SHA256);
        ctx.update(&self.salt);
        ctx.update(&(user.len() as u64).to_le_bytes());
        ctx.update(user.as_bytes());
        ctx.update(password.as_bytes());
        let mut out = [0u8; 32];
        out.copy_from_slice(ctx.finish().as_ref());
        out
    }

    fn is_cached(&self, user: &str, digest: &[u8; 32]) -> bool {
        if matches!(self.verifier, Verifier::Callback(_)) {
            return false;
        }
        let cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        cache.get(user).is_some_and(|known| bool::from(known.ct_eq(digest)))
    }

    fn remember(&self, user: &str, digest: [u8; 32]) {
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        if cache.len() >= CACHE_LIMIT {
            cache.clear();
        }
        cache.insert(user.to_string(), digest);
    }

    /// Protects `inner` with these credentials (shorthand for [`Protected::new`]).
    pub fn protect<H: Handler>(self, inner: H) -> Protected<Self, H> {
        Protected::new(self, inner)
    }
}

impl Authenticator for BasicAuth {
    fn check(&self, request: &Request) -> Result<(), Response> {
        let Some((user, password)) = request.header_bytes("authorization").and_then(basic_credentials) else {
            log::debug!("basic auth: missing or malformed credentials");
            return Err(self.challenge());
        };
        if self.verify(&user, &password) {
            crate::observe::user::accepted(user); // the access log's `%u`
            return Ok(());
        }
        log::debug!("basic auth: refused a login for realm {:?}", self.realm);
        Err(self.challenge())
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

/// Parses htpasswd text: bcrypt entries only.
fn parse_htpasswd(text: &str) -> io::Result<HashMap<String, String>> {
    let mut users = HashMap::new();
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
        users.insert(user.to_string(), hash.to_string());
    }
    Ok(users)
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
        let users = parse_htpasswd("# comment\n\nalice:$2y$04$abcdefghijklmnopqrstuuVpWwXZ1rB6Wk4YsPQ6Lk1a0F7sQwZ8e\n")
            .unwrap();
        assert!(users.contains_key("alice"));
        for (line, word) in [
            ("bob:{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=", "{SHA}"),
            ("bob:$apr1$abc$def", "MD5"),
            ("bob:plain", "plain"),
            ("no colon here", "user:hash"),
        ] {
            let err = parse_htpasswd(&format!("# x\n{line}\n")).unwrap_err().to_string();
            assert!(err.contains("line 2") && err.contains(word), "{err}");
        }
    }
}
