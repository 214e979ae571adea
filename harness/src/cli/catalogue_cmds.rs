//! `paycheck list` and `paycheck explain ID`.

use super::Exit;
use super::args::{ExplainArgs, ListArgs};
use crate::catalogue::catalogue;
use crate::protocol::Suite;

pub(super) fn list(args: ListArgs) -> Exit {
    let suites = if args.suites.is_empty() {
        Suite::ALL.to_vec()
    } else {
        args.suites
    };
    for d in suites {
        for c in catalogue(d) {
            out!("{:<58} {:<13} {}", c.id, c.level.to_string(), c.title);
            if args.sources {
                out!("{:<58} {:<13} source: {}", "", "", c.source);
            }
        }
    }
    Exit::Ok
}

pub(super) fn explain(args: ExplainArgs) -> Exit {
    let found = Suite::ALL
        .into_iter()
        .flat_map(catalogue)
        .find(|c| c.id == args.id);
    let Some(c) = found else {
        eprintln!(
            "error: no check '{}'; `paycheck list` shows every id",
            args.id
        );
        return Exit::Usage;
    };
    out!("{}\n  {}\n", c.id, c.title);
    out!("level:       {}", c.level);
    out!("requirement: {}", c.requirement);
    out!("source:      {}", c.source);
    if !c.needs.is_empty() {
        out!("needs:");
        for n in &c.needs {
            out!("  - {}", n.how());
        }
    }
    Exit::Ok
}
