//! `TlsConfig`: certificates and keys from PEM, the SNI choice between them, and
//! the rustls `ServerConfig` a TLS listener shares across its worker loops.
//!
//! - **Certificates**: a PEM chain (end-entity first) and a PEM private key
//!   (PKCS#8, PKCS#1 or SEC1), checked against each other when loaded, so a
//!   mismatched pair is an error at startup, not a handshake failure later.
//! - **SNI** (RFC 6066 §3): each extra pair is chosen for its exact host name
//!   (case-insensitive) or a `*.example.com` wildcard name (one label). A client
//!   that sends no name or an unknown one gets the **default** certificate (the
//!   first pair), as nginx's default server does: clients reaching the server by
//!   IP address still connect, and a client that expected another name rejects
//!   the certificate itself with its own alert. [`TlsConfig::strict_sni`] makes
//!   an unknown name fail the handshake with an alert (`access_denied`, rustls'
//!   choice) instead; an absent name still gets the default certificate.
//! - **ALPN** (RFC 7301): only `http/1.1` is offered. A client offering only
//!   other protocols (say `h2`) gets a `no_application_protocol` alert; a client
//!   that offers none is served HTTP/1.1.
//! - **Resumption**: stateful (a 1024-entry session cache) and stateless
//!   (tickets sealed by ring's rotating `Ticketer`, one per handshake); one
//!   `ServerConfig` per listener is shared by every worker, so a ticket issued
//!   by one worker is accepted by the others.
//! - **Crypto provider: ring.** It builds with nothing more than a C compiler
//!   and quickly, which matters for a small embeddable module and its C users;
//!   aws-lc-rs (rustls' default) was measured too and handshakes no faster here
//!   (`bench/tls.sh`: 0.88x nginx against ring's 0.90x). TLS 1.2 and 1.3 with
//!   rustls' safe default cipher suites.
//! - **Certificates change on a running server** (a reload,
//!   [`ShutdownHandle::listen`](crate::ShutdownHandle::listen)): a listener's
//!   rustls configuration reads them from a slot that is swapped whole, so
//!   every handshake from then on gets the new ones, while the session cache
//!   and ticket keys stay (clients still resume).
//! - **No rustls logging** (its `logging` feature is off): rustls warns about
//!   peer mistakes, such as an IP address sent as SNI (what wrk and many
//!   clients do), once per handshake, and a client could flood the log with them.

use std::collections::HashMap;
use std::fmt;
use std::io;
use std::path::Path;
use std::sync::{Arc, PoisonError, RwLock};

use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert, ServerSessionMemoryCache};
use rustls::sign::CertifiedKey;
use rustls::ServerConfig;

/// Sessions remembered for stateful resumption (per listener, all workers).
const SESSION_CACHE: usize = 1024;

/// TLS settings for a listener: a default certificate, more certificates chosen
/// by SNI, and whether an unknown SNI name is refused.
///
/// ```no_run
/// # fn main() -> std::io::Result<()> {
/// let tls = porter::TlsConfig::from_pem_files("cert.pem", "key.pem")?
///     .add_sni("api.example.com", "api-cert.pem", "api-key.pem")?;
/// porter::Server::builder()
///     .listen("0.0.0.0:80")
///     .listen_tls("0.0.0.0:443", tls)
///     .run(|_req| porter::Response::text("hello"))
/// # }
/// ```
#[derive(Clone)]
pub struct TlsConfig {
    default: Arc<CertifiedKey>,
    by_name: HashMap<String, Arc<CertifiedKey>>,
    strict_sni: bool,
}

impl fmt::Debug for TlsConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut names: Vec<&String> = self.by_name.keys().collect();
        names.sort();
        f.debug_struct("TlsConfig").field("sni_names", &names).field("strict_sni", &self.strict_sni).finish()
    }
}

impl TlsConfig {
    /// The default certificate chain and key, from PEM files.
    pub fn from_pem_files(cert: impl AsRef<Path>, key: impl AsRef<Path>) -> io::Result<Self> {
        Ok(Self::with_default(load_files(cert.as_ref(), key.as_ref())?))
    }

    /// The default certificate chain and key, from PEM text in memory.
    pub fn from_pem(cert: &[u8], key: &[u8]) -> io::Result<Self> {
        Ok(Self::with_default(load_pem(cert, key, &Names::in_memory("PEM"))?))
    }

    fn with_default(default: Arc<CertifiedKey>) -> Self {
        TlsConfig { default, by_name: HashMap::new(), strict_sni: false }
    }

    /// Adds a certificate chosen when the client asks for `name` by SNI
    /// (`host.example.com`, or `*.example.com` for any one label), from PEM files.
    pub fn add_sni(self, name: &str, cert: impl AsRef<Path>, key: impl AsRef<Path>) -> io::Result<Self> {
        let certified = load_files(cert.as_ref(), key.as_ref())?;
        self.insert_sni(name, certified)
    }

    /// Adds a certificate chosen for every DNS name in its subject alternative
    /// names (what the `porter` binary does with its second and later
    /// `--tls-cert`/`--tls-key` pairs). A certificate without DNS names is an error.
    pub fn add_pem_files(mut self, cert: impl AsRef<Path>, key: impl AsRef<Path>) -> io::Result<Self> {
        let certified = load_files(cert.as_ref(), key.as_ref())?;
        let names = dns_names(&certified)?;
        if names.is_empty() {
            return Err(invalid(format!("{}: the certificate names no DNS host", cert.as_ref().display())));
        }
        for name in names {
            self = self.insert_sni(&name, certified.clone())?;
        }
        Ok(self)
    }

    /// Like [`TlsConfig::add_sni`], from PEM text in memory.
    pub fn add_sni_pem(self, name: &str, cert: &[u8], key: &[u8]) -> io::Result<Self> {
        let certified = load_pem(cert, key, &Names::in_memory(name))?;
        self.insert_sni(name, certified)
    }

    /// Refuse (with a TLS alert) a client whose SNI names none of the
    /// certificates, instead of answering with the default one. Off by default.
    pub fn strict_sni(mut self, on: bool) -> Self {
        self.strict_sni = on;
        self
    }

    fn insert_sni(mut self, name: &str, certified: Arc<CertifiedKey>) -> io::Result<Self> {
        let name = name.trim_end_matches('.').to_ascii_lowercase();
        if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b"-.*".contains(&b)) {
            return Err(invalid(format!("invalid SNI host name {name:?}")));
        }
        self.by_name.insert(name, certified);
        Ok(self)
    }

    /// The rustls configuration for one listener (shared by all its workers).
    pub(crate) fn server_config(&self) -> io::Result<ServerTls> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let certs = Arc::new(CertSlot(RwLock::new(Arc::new(self.resolver()))));
        let mut config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(tls_error)?
            .with_no_client_auth()
            .with_cert_resolver(certs.clone());
        // RFC 7301: the one application protocol porter speaks.
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        config.session_storage = ServerSessionMemoryCache::new(SESSION_CACHE);
        config.ticketer = rustls::crypto::ring::Ticketer::new().map_err(tls_error)?;
        // One ticket per handshake, as OpenSSL sends after a resumption (rustls'
        // default of two costs ~10% of the new-connection rate, bench/tls.sh);
        // RFC 8446 §C.4: a client resumes each later connection with a new one.
        config.send_tls13_tickets = 1;
        Ok(ServerTls { config: Arc::new(config), certs })
    }

    fn resolver(&self) -> SniResolver {
        SniResolver { default: self.default.clone(), by_name: self.by_name.clone(), strict: self.strict_sni }
    }
}

/// A listener's rustls configuration, and the slot it reads certificates from.
#[derive(Clone, Debug)]
pub(crate) struct ServerTls {
    pub(crate) config: Arc<ServerConfig>,
    certs: Arc<CertSlot>,
}

impl ServerTls {
    /// Every handshake from now on gets `tls`'s certificates (and SNI
    /// strictness); the session cache and ticket keys stay.
    pub(crate) fn set_certificates(&self, tls: &TlsConfig) {
        *self.certs.0.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(tls.resolver());
    }
}

/// The certificates a listener serves now (a read lock per handshake, which
/// costs far less than the handshake).
#[derive(Debug)]
struct CertSlot(RwLock<Arc<SniResolver>>);

impl ResolvesServerCert for CertSlot {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        let current = self.0.read().unwrap_or_else(PoisonError::into_inner).clone();
        current.resolve(hello)
    }
}

/// Picks the certificate by SNI (RFC 6066 §3), falling back to the default.
#[derive(Debug)]
struct SniResolver {
    default: Arc<CertifiedKey>,
    by_name: HashMap<String, Arc<CertifiedKey>>,
    strict: bool,
}

impl SniResolver {
    fn lookup(&self, name: &str) -> Option<&Arc<CertifiedKey>> {
        let name = name.trim_end_matches('.').to_ascii_lowercase();
        if let Some(found) = self.by_name.get(&name) {
            return Some(found);
        }
        // A wildcard covers exactly one leftmost label.
        let (_, parent) = name.split_once('.')?;
        self.by_name.get(&format!("*.{parent}"))
    }
}

impl ResolvesServerCert for SniResolver {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        match hello.server_name() {
            None => Some(self.default.clone()),
            Some(name) => match self.lookup(name) {
                Some(found) => Some(found.clone()),
                None if self.strict => {
                    log::debug!("TLS: refusing unknown SNI name {name:?}");
                    None
                }
                None => Some(self.default.clone()),
            },
        }
    }
}

fn load_files(cert: &Path, key: &Path) -> io::Result<Arc<CertifiedKey>> {
    let cert_pem = std::fs::read(cert).map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", cert.display())))?;
    let key_pem = std::fs::read(key).map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", key.display())))?;
    let names = Names { cert: cert.display().to_string(), key: key.display().to_string() };
    load_pem(&cert_pem, &key_pem, &names)
}

/// What errors call a certificate and its key: their file names, or what
/// stands for them when they come from memory.
struct Names {
    cert: String,
    key: String,
}

impl Names {
    fn in_memory(what: &str) -> Self {
        Names { cert: format!("{what} certificate"), key: format!("{what} private key") }
    }
}

/// Parses a PEM chain and key and checks that the key belongs to the first certificate.
fn load_pem(cert_pem: &[u8], key_pem: &[u8], names: &Names) -> io::Result<Arc<CertifiedKey>> {
    let Names { cert, key: key_name } = names;
    let chain = CertificateDer::pem_slice_iter(cert_pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| invalid(format!("{cert}: bad certificate PEM: {e}")))?;
    if chain.is_empty() {
        return Err(invalid(format!("{cert}: no CERTIFICATE block in the PEM")));
    }
    let key = PrivateKeyDer::from_pem_slice(key_pem).map_err(|e| invalid(key_problem(key_pem, key_name, e)))?;
    let provider: CryptoProvider = rustls::crypto::ring::default_provider();
    let certified = CertifiedKey::from_der(chain, key, &provider)
        .map_err(|e| invalid(format!("{cert} and {key_name}: the certificate and the key do not fit: {e}")))?;
    Ok(Arc::new(certified))
}

/// Why `pem` gave no private key. An encrypted key (PKCS#8 `ENCRYPTED PRIVATE
/// KEY`, or OpenSSL's legacy `Proc-Type: 4,ENCRYPTED` header) is named as
/// such: rustls reads only unencrypted keys and porter asks for no passphrase.
fn key_problem(pem: &[u8], name: &str, error: rustls::pki_types::pem::Error) -> String {
    let has = |marker: &[u8]| pem.windows(marker.len()).any(|w| w == marker);
    if has(b"ENCRYPTED PRIVATE KEY-----") || has(b"Proc-Type: 4,ENCRYPTED") {
        return format!(
            "{name}: the private key is encrypted (it needs a passphrase), which porter does not support; \
             decrypt it first: openssl pkey -in {name} -out {name}.plain"
        );
    }
    match error {
        rustls::pki_types::pem::Error::NoItemsFound => {
            format!(
                "{name}: no private key in the PEM (expected a PRIVATE KEY, RSA PRIVATE KEY or EC PRIVATE KEY block)"
            )
        }
        other => format!("{name}: bad private key PEM: {other}"),
    }
}

/// The DNS names (SAN) of a certificate chain's end-entity certificate.
fn dns_names(certified: &CertifiedKey) -> io::Result<Vec<String>> {
    let leaf = certified.end_entity_cert().map_err(tls_error)?;
    let parsed = webpki::EndEntityCert::try_from(leaf).map_err(|e| invalid(format!("certificate: {e}")))?;
    Ok(parsed.valid_dns_names().map(str::to_owned).collect())
}

fn invalid(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, message)
}

fn tls_error(e: rustls::Error) -> io::Error {
    io::Error::other(format!("TLS setup: {e}"))
}
