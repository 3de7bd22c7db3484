//! Media types from file names (RFC 9110 §8.3), via the `mime_guess` table.
//!
//! The type comes from the extension of the name in the URL (as requested, not
//! a symlink's target); no extension or an unknown one is
//! `application/octet-stream`. Text types get `charset=utf-8`: `text/*`,
//! JavaScript (always `text/javascript`, RFC 9239) and the XML family
//! (RFC 7303). JSON gets none: RFC 8259 defines no charset parameter for it.

use std::borrow::Cow;

/// The `Content-Type` for a file named `name` (a path's last segment counts):
/// what [`Files`](crate::Files) sends, for programs that serve files of their
/// own, e.g. `media_type("index.html")` is `text/html; charset=utf-8`.
pub fn media_type(name: &str) -> Cow<'static, str> {
    content_type(name.as_bytes())
}

/// The `Content-Type` for the file at `path` (segments joined by `/`).
pub(super) fn content_type(path: &[u8]) -> Cow<'static, str> {
    let name = path.rsplit(|&b| b == b'/').next().unwrap_or(path);
    let ext = match name.iter().rposition(|&b| b == b'.') {
        Some(dot) if dot > 0 => std::str::from_utf8(&name[dot + 1..]).unwrap_or(""),
        _ => "",
    };
    let essence = if ext.eq_ignore_ascii_case("js") || ext.eq_ignore_ascii_case("mjs") {
        "text/javascript"
    } else {
        mime_guess::from_ext(ext).first_raw().unwrap_or("application/octet-stream")
    };
    if is_text(essence) {
        with_charset(essence)
    } else {
        Cow::Borrowed(essence)
    }
}

/// `essence; charset=utf-8`, without an allocation for the common text types.
fn with_charset(essence: &str) -> Cow<'static, str> {
    Cow::Borrowed(match essence {
        "text/html" => "text/html; charset=utf-8",
        "text/css" => "text/css; charset=utf-8",
        "text/javascript" => "text/javascript; charset=utf-8",
        "text/plain" => "text/plain; charset=utf-8",
        "text/xml" => "text/xml; charset=utf-8",
        "text/csv" => "text/csv; charset=utf-8",
        "text/markdown" => "text/markdown; charset=utf-8",
        "image/svg+xml" => "image/svg+xml; charset=utf-8",
        "application/xml" => "application/xml; charset=utf-8",
        "application/xhtml+xml" => "application/xhtml+xml; charset=utf-8",
        _ => return Cow::Owned(format!("{essence}; charset=utf-8")),
    })
}

fn is_text(essence: &str) -> bool {
    essence.starts_with("text/")
        || matches!(essence, "application/xml" | "application/xhtml+xml" | "image/svg+xml" | "application/rss+xml")
        || essence == "application/atom+xml"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_by_extension() {
        let cases = [
            ("a.html", "text/html; charset=utf-8"),
            ("dir/a.HTM", "text/html; charset=utf-8"),
            ("a.css", "text/css; charset=utf-8"),
            ("a.js", "text/javascript; charset=utf-8"),
            ("a.mjs", "text/javascript; charset=utf-8"),
            ("a.txt", "text/plain; charset=utf-8"),
            ("a.svg", "image/svg+xml; charset=utf-8"),
            ("a.xml", "text/xml; charset=utf-8"),
            ("a.json", "application/json"),
            ("a.png", "image/png"),
            ("a.wasm", "application/wasm"),
            ("a.tar.gz", "application/gzip"),
            ("plaintext", "application/octet-stream"),
            ("a.unknownext", "application/octet-stream"),
            ("dotted.dir/noext", "application/octet-stream"),
            ("a.\u{e9}", "application/octet-stream"),
        ];
        for (path, want) in cases {
            assert_eq!(content_type(path.as_bytes()), want, "{path}");
        }
        assert_eq!(content_type(b"caf\xe9.css"), "text/css; charset=utf-8");
        assert!(matches!(content_type(b"a.html"), Cow::Borrowed(_)), "common text types are not formatted per reply");
        assert_eq!(content_type(b"a.ics"), "text/calendar; charset=utf-8");
    }
}
