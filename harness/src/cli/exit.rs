//! The exit codes users script against (DESIGN.md "Exit codes").

use std::process::ExitCode;

/// How a paycheck command ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// 0: every required check passed (or a server stopped cleanly).
    Ok,
    /// 1: a check failed, the money path was not proven, or a threshold was missed.
    Failed,
    /// 2: usage or scenario-file error.
    Usage,
    /// 3: the target could not be reached or started.
    Unreachable,
    /// 4: internal error.
    Internal,
}

impl Exit {
    /// The numeric code.
    pub fn code(self) -> u8 {
        match self {
            Exit::Ok => 0,
            Exit::Failed => 1,
            Exit::Usage => 2,
            Exit::Unreachable => 3,
            Exit::Internal => 4,
        }
    }
}

impl From<Exit> for ExitCode {
    fn from(e: Exit) -> Self {
        ExitCode::from(e.code())
    }
}

/// The exit-code table, as printed in `--help`.
pub const EXIT_CODES_HELP: &str = "\
Exit codes:
  0  every required check passed, and the money path was proven
  1  a check failed, the money path or a MUST was not proven (NOT PROVEN lists what is
     missing), a threshold was missed, or the run was interrupted
  2  usage or scenario-file error
  3  the target could not be reached or started, or never answered (reports are written)
  4  internal error";
