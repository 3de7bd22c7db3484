//! The config file's shape, as serde reads it: every section and field, with
//! `Spanned` wherever a later check needs to point at a value. Unknown fields
//! are refused (`deny_unknown_fields`), so a typo is an error, not a silently
//! ignored setting. Meaning (addresses, files, statuses) is checked later, in
//! `validate`.

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use toml::Spanned;

use super::units::{Interval, Size};

/// `[server]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawServer {
    pub threads: Option<Spanned<i64>>,
    pub server_name: Option<Spanned<String>>,
    pub drain_delay: Option<Spanned<Interval>>,
    pub limits: Option<RawLimits>,
}

/// `[server.limits]` and a host's `limits`: every field of `porter::Limits`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLimits {
    pub max_request_line: Option<Spanned<Size>>,
    pub max_head: Option<Spanned<Size>>,
    pub max_headers: Option<Spanned<Size>>,
    pub max_body: Option<Spanned<Size>>,
    pub max_chunk_line: Option<Spanned<Size>>,
    pub max_trailers: Option<Spanned<Size>>,
    pub max_pipelined: Option<Spanned<Size>>,
    pub header_timeout: Option<Spanned<Interval>>,
    pub body_timeout: Option<Spanned<Interval>>,
    pub idle_timeout: Option<Spanned<Interval>>,
    pub write_timeout: Option<Spanned<Interval>>,
    pub max_connections: Option<Spanned<Size>>,
}

/// `[log]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLog {
    pub access: Option<Spanned<String>>,
    pub format: Option<Spanned<String>>,
}

/// One `[[listen]]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawListen {
    pub address: Option<Spanned<String>>,
    pub systemd: Option<Spanned<bool>>,
    #[serde(default)]
    pub tls: TlsPairs,
    #[serde(default)]
    pub proxy_protocol: bool,
}

/// A listener's `tls`: one `{ cert, key }` table or an array of them.
#[derive(Debug, Default)]
pub struct TlsPairs(pub Vec<RawTls>);

/// One certificate chain and its key.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTls {
    pub cert: Spanned<String>,
    pub key: Spanned<String>,
}

/// One `[[host]]`, without its locations (read one by one, see `read`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawHost {
    pub names: Spanned<Vec<Spanned<String>>>,
    pub default: Option<Spanned<bool>>,
    pub limits: Option<RawLimits>,
    #[serde(default)]
    pub error_pages: BTreeMap<String, Spanned<String>>,
}

/// One `[[host.location]]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLocation {
    pub path: Spanned<String>,
    pub root: Option<Spanned<String>>,
    pub redirect: Option<Spanned<RawRedirect>>,
    pub status: Option<Spanned<RawStatus>>,
    pub metrics: Option<Spanned<bool>>,
    pub auth: Option<Spanned<RawAuth>>,
    // The static-file options of a `root` location (the CLI's file flags).
    pub index: Option<Spanned<String>>,
    pub listing: Option<Spanned<bool>>,
    pub cache_control: Option<Spanned<String>>,
    pub cache: Option<Spanned<Vec<RawCacheRule>>>,
    pub precompressed: Option<Spanned<bool>>,
    pub follow_symlinks: Option<Spanned<bool>>,
    pub hidden_files: Option<Spanned<bool>>,
}

/// One `cache = [{ pattern, value }]` entry.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCacheRule {
    pub pattern: Spanned<String>,
    pub value: Spanned<String>,
}

/// `redirect = { status, to }`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRedirect {
    pub status: Option<Spanned<i64>>,
    pub to: Spanned<String>,
}

/// `status = { code, body, content_type, health }`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawStatus {
    pub code: Spanned<i64>,
    #[serde(default)]
    pub body: String,
    pub content_type: Option<Spanned<String>>,
    #[serde(default)]
    pub health: bool,
}

/// `auth = { htpasswd, realm }`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAuth {
    pub htpasswd: Spanned<String>,
    pub realm: Option<Spanned<String>>,
}

impl<'de> Deserialize<'de> for TlsPairs {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(TlsVisitor)
    }
}

struct TlsVisitor;

impl<'de> Visitor<'de> for TlsVisitor {
    type Value = TlsPairs;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a table { cert = \"FILE\", key = \"FILE\" } or an array of them")
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<TlsPairs, A::Error> {
        let pair = RawTls::deserialize(de::value::MapAccessDeserializer::new(map))?;
        Ok(TlsPairs(vec![pair]))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<TlsPairs, A::Error> {
        let mut pairs = Vec::new();
        while let Some(pair) = seq.next_element::<RawTls>()? {
            pairs.push(pair);
        }
        Ok(TlsPairs(pairs))
    }
}
