//! Reading a config file into its raw shape, collecting as many errors as one
//! pass can find.
//!
//! Syntax errors come first (toml's recovering parser reports each). Then
//! each section, each `[[listen]]`, each `[[host]]` and each of its
//! `[[host.location]]` entries is deserialized on its own, so an unknown field
//! in one location does not hide a mistake in the next.

use serde::de::DeserializeOwned;
use toml::de::{DeTable, DeValue, ValueDeserializer};
use toml::Spanned;

use super::diag::Diagnostics;
use super::raw::{RawHost, RawListen, RawLocation, RawLog, RawServer};

/// The whole file, as read.
#[derive(Debug, Default)]
pub struct RawConfig {
    pub server: RawServer,
    pub log: RawLog,
    pub listen: Vec<Spanned<RawListen>>,
    pub hosts: Vec<HostEntry>,
    /// Which sections the file has (a broken one is reported where it is, not as missing).
    pub seen: Vec<String>,
}

/// One `[[host]]` with its locations.
#[derive(Debug)]
pub struct HostEntry {
    pub host: Option<RawHost>,
    pub locations: Vec<Spanned<RawLocation>>,
}

const SECTIONS: &str = "`server`, `log`, `listen` or `host`";

/// Reads `text`; every problem found goes to `diags`. Returns `None` when the
/// TOML syntax itself is broken.
pub fn read(text: &str, diags: &mut Diagnostics) -> Option<RawConfig> {
    let (root, errors) = DeTable::parse_recoverable(text);
    if !errors.is_empty() {
        errors.iter().for_each(|e| diags.toml(e, None));
        return None;
    }
    let mut config = RawConfig::default();
    for (key, value) in root.into_inner() {
        config.seen.push(key.get_ref().to_string());
        match key.get_ref().as_ref() {
            "server" => config.server = section(value, diags).unwrap_or_default(),
            "log" => config.log = section(value, diags).unwrap_or_default(),
            "listen" => config.listen = entries(value, "listen", diags).filter_map(|v| spanned(v, diags)).collect(),
            "host" => config.hosts = entries(value, "host", diags).map(|v| host(v, diags)).collect(),
            other => diags.at(key.span(), format!("unknown section `{other}`, expected {SECTIONS}")),
        }
    }
    Some(config)
}

/// Deserializes one value; a problem is recorded and gives `None`.
///
/// serde stops at a table's first problem; to report them all, the field at
/// fault is taken out and the table read again, until it reads or a problem
/// is not one field's (a missing field); a problem inside a nested table takes
/// out the field of that table. Only unknown fields leave a value whose
/// meaning is whole: otherwise the table gives `None`, so that later
/// checks do not report the field taken out as missing.
fn section<T: DeserializeOwned>(value: Spanned<DeValue<'_>>, diags: &mut Diagnostics) -> Option<T> {
    let span = value.span();
    if !matches!(value.get_ref(), DeValue::Table(_)) {
        return T::deserialize(ValueDeserializer::from(value)).map_err(|e| diags.toml(&e, Some(span))).ok();
    }
    let DeValue::Table(mut table) = value.into_inner() else { return None };
    let mut whole = true;
    let mut taken_out: Vec<String> = Vec::new();
    loop {
        let attempt = Spanned::new(span.clone(), DeValue::Table(table.clone()));
        let error = match T::deserialize(ValueDeserializer::from(attempt)) {
            Ok(value) => return whole.then_some(value),
            Err(error) => error,
        };
        let message = error.message();
        if taken_out.iter().any(|key| message.starts_with(&format!("missing field `{key}`"))) {
            return None; // reported already, as the bad value it was
        }
        diags.toml(&error, Some(span.clone()));
        let (key, on_key) = take_out(&mut table, error.span()?.start)?;
        whole &= on_key && message.starts_with("unknown field");
        taken_out.push(key);
    }
}

/// Takes out of `table` the innermost entry whose key or value holds the
/// offset `at`, looking into tables nested in it (`limits = { ... }`), so that
/// an unknown field inside an inline table takes out that field, not the
/// table. Returns its key and whether `at` is on the key itself (an unknown
/// field is reported there; a bad value, on the value).
fn take_out(table: &mut DeTable<'_>, at: usize) -> Option<(String, bool)> {
    let (key, on_key) = table.iter().find_map(|(key, value)| {
        let on_key = key.span().contains(&at);
        (on_key || value.span().contains(&at)).then(|| (key.get_ref().to_string(), on_key))
    })?;
    if let (false, Some(DeValue::Table(inner))) = (on_key, table.get_mut(key.as_str()).map(Spanned::get_mut)) {
        if let Some(found) = take_out(inner, at) {
            return Some(found);
        }
    }
    table.remove(key.as_str());
    Some((key, on_key))
}

/// Like [`section`], keeping the value's span.
fn spanned<T: DeserializeOwned>(value: Spanned<DeValue<'_>>, diags: &mut Diagnostics) -> Option<Spanned<T>> {
    let span = value.span();
    section(value, diags).map(|v| Spanned::new(span, v))
}

/// The items of an array of tables (`[[name]]`); anything else is an error.
fn entries<'i>(
    value: Spanned<DeValue<'i>>,
    name: &str,
    diags: &mut Diagnostics,
) -> impl Iterator<Item = Spanned<DeValue<'i>>> {
    let span = value.span();
    let items = match value.into_inner() {
        DeValue::Array(items) if items.is_empty() => {
            diags.at(span, format!("`{name}` has no entries"));
            None
        }
        DeValue::Array(items) => Some(items),
        _ => {
            diags.at(span, format!("`{name}` must be an array of tables: write `[[{name}]]`"));
            None
        }
    };
    items.into_iter().flatten()
}

/// One `[[host]]`: the host's own fields, then each location separately.
fn host(value: Spanned<DeValue<'_>>, diags: &mut Diagnostics) -> HostEntry {
    let span = value.span();
    let mut entry = HostEntry { host: None, locations: Vec::new() };
    let DeValue::Table(mut table) = value.into_inner() else {
        diags.at(span, "a `[[host]]` entry must be a table");
        return entry;
    };
    if let Some(locations) = table.remove("location") {
        entry.locations = entries(locations, "host.location", diags).filter_map(|v| spanned(v, diags)).collect();
    }
    entry.host = section(Spanned::new(span, DeValue::Table(table)), diags);
    entry
}
