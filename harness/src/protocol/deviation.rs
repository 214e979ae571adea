//! A deviation is one way a message differs from what the specification says.

use std::fmt;

/// How strictly a message is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    /// Every deviation from the specification makes decoding fail.
    #[default]
    Strict,
    /// Deviations that real servers are known to produce are accepted and reported.
    Lenient,
}

/// One way a message differs from the letter of the specification.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Deviation {
    /// A stable rule name, such as `base64.url-safe` or `schema`.
    pub rule: &'static str,
    /// Where it is: a JSON pointer into the decoded message, or `header` for the encoding.
    pub path: String,
    /// What was found and what the specification expects.
    pub message: String,
}

impl Deviation {
    /// A deviation of `rule` at `path`.
    pub fn new(rule: &'static str, path: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            rule,
            path: path.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for Deviation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let path = if self.path.is_empty() {
            "/"
        } else {
            &self.path
        };
        write!(f, "{} at {}: {}", self.rule, path, self.message)
    }
}
