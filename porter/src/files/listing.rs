//! The optional HTML directory listing.
//!
//! Invariants: every name is HTML-escaped in text and percent-encoded in links
//! (a file named `<script>` or `a"b` is shown, never run or broken out of an
//! attribute); entries are sorted by name, directories first; only entries a
//! request would be served are listed (the caller filters through the same
//! lookup); the page shows URL paths only, never a filesystem path.

use std::fmt::Write;
use std::time::SystemTime;

use super::source::Listed;
use crate::path::percent_encode_into;

/// The listing page of the directory at URL path `url_path` (decoded, ending with `/`).
pub(super) fn render(url_path: &str, mut entries: Vec<Listed>) -> String {
    entries.sort_by(|a, b| b.is_dir.cmp(&a.is_dir).then_with(|| a.name.cmp(&b.name)));
    let title = escape(url_path);
    let mut page = format!(
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>Index of {title}</title>\n\
         <style>body{{font-family:system-ui,sans-serif;margin:2rem}}td{{padding:0 1.5rem 0 0}}\
         td.size{{text-align:right}}</style>\n</head>\n<body>\n<h1>Index of {title}</h1>\n<table>\n\
         <tr><th>Name</th><th>Size</th><th>Modified</th></tr>\n"
    );
    if url_path != "/" {
        page.push_str("<tr><td><a href=\"../\">../</a></td><td></td><td></td></tr>\n");
    }
    for entry in &entries {
        push_row(&mut page, entry);
    }
    page.push_str("</table>\n</body>\n</html>\n");
    page
}

fn push_row(page: &mut String, entry: &Listed) {
    let mut href = String::new();
    percent_encode_into(&entry.name, &mut href);
    let mut text = escape(&String::from_utf8_lossy(&entry.name));
    let size = if entry.is_dir { String::from("-") } else { entry.len.to_string() };
    if entry.is_dir {
        href.push('/');
        text.push('/');
    }
    let modified = entry.modified.map(format_date).unwrap_or_default();
    // Infallible: writing to a String.
    let _ = writeln!(
        page,
        "<tr><td><a href=\"./{href}\">{text}</a></td><td class=\"size\">{size}</td><td>{modified}</td></tr>"
    );
}

/// An HTTP-date (IMF-fixdate), the one date format porter already speaks.
fn format_date(t: SystemTime) -> String {
    httpdate::fmt_http_date(t)
}

/// Escapes the five characters that matter in HTML text and attribute values.
pub(super) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn entry(name: &[u8], is_dir: bool, len: u64) -> Listed {
        Listed {
            name: name.to_vec(),
            is_dir,
            len,
            modified: Some(SystemTime::UNIX_EPOCH + Duration::from_secs(86_400)),
        }
    }

    #[test]
    fn names_are_escaped_and_encoded() {
        let page = render("/a&b/", vec![entry(b"<script>alert(1)</script>", false, 3), entry(b"a\"b c", false, 1)]);
        assert!(!page.contains("<script>"), "{page}");
        assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"), "{page}");
        assert!(page.contains("href=\"./%3Cscript%3Ealert(1)%3C%2Fscript%3E\""), "{page}");
        assert!(page.contains("href=\"./a%22b%20c\">a&quot;b c</a>"), "{page}");
        assert!(page.contains("<title>Index of /a&amp;b/</title>"), "{page}");
    }

    #[test]
    fn entries_are_sorted_directories_first_with_sizes_and_dates() {
        let page = render("/", vec![entry(b"b.txt", false, 10), entry(b"z", true, 0), entry(b"a.txt", false, 2048)]);
        let at = |needle: &str| page.find(needle).unwrap_or_else(|| panic!("{needle} in {page}"));
        assert!(at(">z/<") < at(">a.txt<") && at(">a.txt<") < at(">b.txt<"));
        assert!(page.contains("<td class=\"size\">2048</td><td>Fri, 02 Jan 1970 00:00:00 GMT</td>"), "{page}");
        assert!(!page.contains("../"), "no parent link at the root");
        assert!(render("/sub/", vec![]).contains("href=\"../\""));
    }

    #[test]
    fn non_utf8_names_are_shown_lossily_and_linked_exactly() {
        let page = render("/", vec![entry(b"caf\xe9.txt", false, 1)]);
        assert!(page.contains("href=\"./caf%E9.txt\">caf\u{fffd}.txt</a>"), "{page}");
    }
}
