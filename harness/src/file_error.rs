//! Errors in the files users write (scenario files, load profiles), pointing at file,
//! line and column.

use std::fmt;
use std::ops::Range;

/// A problem in a scenario file or load profile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileError {
    /// The file (or built-in name).
    pub file: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
    /// What is wrong and what was expected.
    pub message: String,
}

impl FileError {
    /// An error at the byte range `span` of `text`.
    pub fn at(
        file: &str,
        text: &str,
        span: Option<Range<usize>>,
        message: impl Into<String>,
    ) -> Self {
        let offset = span.map_or(0, |s| s.start.min(text.len()));
        let before = &text[..offset];
        let line = before.matches('\n').count() + 1;
        let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        Self {
            file: file.to_string(),
            line,
            column,
            message: message.into(),
        }
    }
}

impl fmt::Display for FileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}",
            self.file, self.line, self.column, self.message
        )
    }
}

impl std::error::Error for FileError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_are_one_based_lines_and_columns() {
        let text = "a = 1\nbb = x\n";
        let e = FileError::at("f.toml", text, Some(11..12), "bad");
        assert_eq!((e.line, e.column), (2, 6));
        assert_eq!(e.to_string(), "f.toml:2:6: bad");
        assert_eq!(FileError::at("f", text, None, "x").line, 1);
    }
}
