//! Diagnostics: one problem in a config file, located by a byte span, and its
//! rendering as `FILE:LINE:COL: message` (lines and columns count from 1,
//! columns in characters, as editors and compilers do).

use std::fmt;
use std::ops::Range;
use std::path::Path;

/// One problem found in a config file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    /// Where in the file (byte offsets); `None` for the file as a whole.
    pub span: Option<Range<usize>>,
    /// What is wrong, in one line.
    pub message: String,
}

impl Diagnostic {
    /// A problem at `span`.
    pub fn at(span: Range<usize>, message: impl Into<String>) -> Self {
        Diagnostic { span: Some(span), message: message.into() }
    }

    /// A problem with no better place than the file itself.
    pub fn whole_file(message: impl Into<String>) -> Self {
        Diagnostic { span: None, message: message.into() }
    }

    /// `FILE:LINE:COL: message` for the config file `path` whose text is `text`.
    pub fn render(&self, path: &Path, text: &str) -> String {
        match &self.span {
            Some(span) => {
                let (line, col) = line_col(text, span.start);
                format!("{}:{line}:{col}: {}", path.display(), self.message)
            }
            None => format!("{}: {}", path.display(), self.message),
        }
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// The 1-based line and character column of byte `offset` in `text`.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, before[line_start..].chars().count() + 1)
}

/// Collects diagnostics while a config is read and checked.
#[derive(Debug, Default)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl Diagnostics {
    /// Records a problem at `span`.
    pub fn at(&mut self, span: Range<usize>, message: impl Into<String>) {
        self.0.push(Diagnostic::at(span, message));
    }

    /// Records a TOML error (syntax or shape) at its span, else at `fallback`.
    pub fn toml(&mut self, error: &toml::de::Error, fallback: Option<Range<usize>>) {
        let message = error.message().trim_end().to_string();
        self.0.push(Diagnostic { span: error.span().or(fallback), message });
    }

    /// True when nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_and_columns_count_from_one() {
        let text = "a = 1\nbé = 2\n";
        assert_eq!(line_col(text, 0), (1, 1));
        assert_eq!(line_col(text, 4), (1, 5));
        assert_eq!(line_col(text, 6), (2, 1));
        assert_eq!(line_col(text, 9), (2, 3), "é is one column");
        assert_eq!(line_col(text, 999), (3, 1));
    }

    #[test]
    fn renders_file_line_col() {
        let d = Diagnostic::at(6..7, "bad");
        assert_eq!(d.render(Path::new("p.toml"), "a = 1\nb = 2\n"), "p.toml:2:1: bad");
        assert_eq!(Diagnostic::whole_file("empty").render(Path::new("p.toml"), ""), "p.toml: empty");
    }
}
