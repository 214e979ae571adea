//! What a check concluded.

use crate::target::Exchange;
use serde::Serialize;
use std::fmt;

/// The graded result of a check (DESIGN.md "Outcomes").
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, serde::Deserialize,
)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// The requirement holds.
    Pass,
    /// A requirement was broken.
    Fail,
    /// A SHOULD or best practice was missed, or the server does what reference SDKs do
    /// rather than the letter of the specification.
    Warn,
    /// The server does not offer what the check needs.
    Unsupported,
    /// The check could not reach the behaviour it tests.
    NotExercised,
    /// The harness or the network failed.
    Error,
}

impl Status {
    /// True when the check graded the server (pass, fail or warn).
    pub fn graded(self) -> bool {
        matches!(self, Status::Pass | Status::Fail | Status::Warn)
    }

    /// The marker printed on the console.
    pub fn marker(self) -> &'static str {
        match self {
            Status::Pass => "✔",
            Status::Fail => "✘",
            Status::Warn => "!",
            Status::Unsupported => "-",
            Status::NotExercised => "?",
            Status::Error => "E",
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Status::Pass => "pass",
            Status::Fail => "fail",
            Status::Warn => "warn",
            Status::Unsupported => "unsupported",
            Status::NotExercised => "not-exercised",
            Status::Error => "error",
        })
    }
}

/// A check's conclusion, with the evidence.
#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    /// The status before grading by level.
    pub status: Status,
    /// One line saying what happened.
    pub message: String,
    /// What the requirement expects, on a failure.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expected: Option<String>,
    /// What the server did, on a failure.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub actual: Option<String>,
    /// The requests and responses that show it.
    pub exchanges: Vec<Exchange>,
}

impl Outcome {
    fn new(status: Status, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
            expected: None,
            actual: None,
            exchanges: Vec::new(),
        }
    }

    /// The requirement holds.
    pub fn pass(message: impl Into<String>) -> Self {
        Self::new(Status::Pass, message)
    }

    /// The requirement is broken: what was expected and what happened.
    pub fn fail(expected: impl Into<String>, actual: impl Into<String>) -> Self {
        let (expected, actual) = (expected.into(), actual.into());
        let mut o = Self::new(Status::Fail, format!("expected {expected}; got {actual}"));
        o.expected = Some(expected);
        o.actual = Some(actual);
        o
    }

    /// The server does what reference SDKs do, not the letter (a failure with `--strict`).
    pub fn lenient(expected: impl Into<String>, actual: impl Into<String>) -> Self {
        let mut o = Self::fail(expected, actual);
        o.status = Status::Warn;
        o
    }

    /// The server does not offer what the check needs.
    pub fn unsupported(message: impl Into<String>) -> Self {
        Self::new(Status::Unsupported, message)
    }

    /// The behaviour could not be reached.
    pub fn not_exercised(message: impl Into<String>) -> Self {
        Self::new(Status::NotExercised, message)
    }

    /// The harness or network failed.
    pub fn error(message: impl Into<String>) -> Self {
        Self::new(Status::Error, message)
    }

    /// Adds an exchange as evidence (its body cut to the display length).
    pub fn with(mut self, exchange: &crate::target::Exchange) -> Self {
        self.exchanges.push(exchange.evidence());
        self
    }
}
