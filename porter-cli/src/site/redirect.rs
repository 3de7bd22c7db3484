//! Redirect locations: `redirect = { status = 301, to = "https://$host$path$is_args$query" }`.
//!
//! The target is a small template. Variables (also written `${name}`):
//!
//! | variable    | value |
//! |-------------|-------|
//! | `$scheme`   | `http` or `https` (allowed only when every listener is the same kind) |
//! | `$host`     | the request's host name, lowercased, without its port; the host's first name when the request has none |
//! | `$path`     | the request path, normalized (dot-segments removed, `//` collapsed) and percent-encoded; always starts with exactly one `/` |
//! | `$query`    | the query string as sent, without `?` (empty when none) |
//! | `$is_args`  | `?` when the request has a query, else empty |
//! | `$request_uri` | `$path$is_args$query` |
//! | `$$`        | a literal `$` |
//!
//! The `Location` value can never carry CR, LF or another control character:
//! the template's own text is refused when loaded if it has one, the values
//! substituted come from the parsed request target (visible ASCII only) or a
//! host name checked against RFC 3986's `reg-name`/IP-literal characters, and
//! the result is checked once more (RFC 9110 §5.5) before it is sent.

use std::borrow::Cow;

use porter::{CleanPath, Handler, Reply, Request, Response};

/// A parsed `to` template.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Template(Vec<Piece>);

#[derive(Clone, Debug, PartialEq, Eq)]
enum Piece {
    Text(String),
    Scheme,
    Host,
    Path,
    Query,
    IsArgs,
    RequestUri,
}

/// What a template is expanded with.
#[derive(Clone, Debug)]
pub struct Values<'a> {
    pub scheme: &'a str,
    pub host: &'a str,
    pub path: &'a CleanPath,
    pub query: Option<&'a str>,
}

impl Template {
    /// Parses `text`; unknown variables and control characters are errors.
    pub fn parse(text: &str) -> Result<Template, String> {
        if text.chars().any(|c| c.is_control()) {
            return Err("a redirect target must not contain control characters (CR, LF, ...)".into());
        }
        if text.is_empty() {
            return Err("a redirect target must not be empty".into());
        }
        let mut pieces = Vec::new();
        let mut rest = text;
        while let Some(at) = rest.find('$') {
            push_text(&mut pieces, &rest[..at]);
            let (piece, after) = variable(&rest[at + 1..])?;
            pieces.push(piece);
            rest = after;
        }
        push_text(&mut pieces, rest);
        Ok(Template(pieces))
    }

    /// True when the template uses `$scheme`.
    pub fn uses_scheme(&self) -> bool {
        self.0.contains(&Piece::Scheme)
    }

    /// The `Location` value for one request.
    pub fn expand(&self, values: &Values<'_>) -> String {
        let mut out = String::new();
        for piece in &self.0 {
            match piece {
                Piece::Text(text) => out.push_str(text),
                Piece::Scheme => out.push_str(values.scheme),
                Piece::Host => out.push_str(values.host),
                Piece::Path => out.push_str(&values.path.encoded()),
                Piece::Query => out.push_str(values.query.unwrap_or("")),
                Piece::IsArgs => out.push_str(if values.query.is_some() { "?" } else { "" }),
                Piece::RequestUri => {
                    out.push_str(&values.path.encoded());
                    if let Some(query) = values.query {
                        out.push('?');
                        out.push_str(query);
                    }
                }
            }
        }
        out
    }
}

fn push_text(pieces: &mut Vec<Piece>, text: &str) {
    if text.is_empty() {
        return;
    }
    match pieces.last_mut() {
        Some(Piece::Text(last)) => last.push_str(text),
        _ => pieces.push(Piece::Text(text.to_string())),
    }
}

/// The variable at the start of `after_dollar`, and what follows it.
fn variable(after_dollar: &str) -> Result<(Piece, &str), String> {
    if let Some(rest) = after_dollar.strip_prefix('$') {
        return Ok((Piece::Text("$".into()), rest));
    }
    let (name, rest) = match after_dollar.strip_prefix('{') {
        Some(braced) => braced.split_once('}').ok_or("`${` without its closing `}`")?,
        None => {
            let end =
                after_dollar.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(after_dollar.len());
            after_dollar.split_at(end)
        }
    };
    let piece = match name {
        "scheme" => Piece::Scheme,
        "host" => Piece::Host,
        "path" => Piece::Path,
        "query" => Piece::Query,
        "is_args" => Piece::IsArgs,
        "request_uri" => Piece::RequestUri,
        "" => return Err("a lone `$` (write `$$` for a literal dollar sign)".into()),
        other => {
            return Err(format!(
            "unknown variable `${other}` (known: $scheme, $host, $path, $query, $is_args, $request_uri; `${{name}}` \
                 separates a name from following letters)"
        ))
        }
    };
    Ok((piece, rest))
}

/// A location that answers every request with a redirect, from the head
/// (a request body is never read).
#[derive(Debug)]
pub struct Redirect {
    pub status: u16,
    pub to: Template,
    /// `http` or `https` for `$scheme`.
    pub scheme: &'static str,
    /// `$host` when the request names none.
    pub fallback_host: String,
}

impl Redirect {
    fn respond(&self, request: &Request) -> Response {
        let Ok(path) = CleanPath::parse(request.path()) else { return Response::error(400) };
        let host = match request.host() {
            Some(authority) => match super::hosts::host_name(authority) {
                Some(name) => name,
                None => return Response::error(400),
            },
            None => Cow::Borrowed(self.fallback_host.as_str()),
        };
        let values = Values { scheme: self.scheme, host: &host, path: &path, query: request.query() };
        let location = self.to.expand(&values);
        // RFC 9110 §5.5: a field value has no CR, LF or other controls; checked again here.
        match Response::new(self.status).try_header("Location", location) {
            Ok(response) => response,
            Err(_) => Response::error(500),
        }
    }
}

impl Handler for Redirect {
    fn handle(&self, request: Request) -> Reply {
        self.respond(&request).into()
    }

    fn before_body(&self, request: &Request) -> Option<Response> {
        Some(self.respond(request))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expand(template: &str, path: &str, query: Option<&str>) -> String {
        let path = CleanPath::parse(path).unwrap();
        let values = Values { scheme: "https", host: "example.com", path: &path, query };
        Template::parse(template).unwrap().expand(&values)
    }

    #[test]
    fn variables_expand() {
        assert_eq!(
            expand("https://example.com$path$is_args$query", "/a/b", Some("x=1")),
            "https://example.com/a/b?x=1"
        );
        assert_eq!(expand("https://example.com$path$is_args$query", "/a/b", None), "https://example.com/a/b");
        assert_eq!(expand("$scheme://$host$request_uri", "/x/", Some("q")), "https://example.com/x/?q");
        assert_eq!(expand("/new${path}index", "/old", None), "/new/oldindex");
        assert_eq!(expand("/price$$", "/", None), "/price$");
        assert_eq!(expand("https://other.example/", "/ignored", Some("q")), "https://other.example/");
    }

    #[test]
    fn paths_cannot_become_scheme_relative_or_split_headers() {
        assert_eq!(expand("$path", "//evil.example/x", None), "/evil.example/x");
        assert_eq!(expand("$path", "/a%0D%0ASet-Cookie:%20x", None), "/a%0D%0ASet-Cookie:%20x");
    }

    #[test]
    fn bad_templates_are_refused() {
        let err = |t: &str| Template::parse(t).unwrap_err();
        assert!(err("https://x\r\nSet-Cookie: a=b").contains("control characters"));
        assert!(err("https://x\n").contains("control characters"));
        assert!(err("$hostname").contains("unknown variable `$hostname`"));
        assert!(err("${host").contains("closing"));
        assert!(err("a$").contains("lone `$`"));
        assert!(err("").contains("empty"));
        assert!(Template::parse("$scheme://$host").unwrap().uses_scheme());
        assert!(!Template::parse("https://$host").unwrap().uses_scheme());
    }
}
