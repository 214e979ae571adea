//! Declaring checks: the static description of each, and how it joins a suite's list.

use super::{Check, CheckFuture, Ctx, Level, Need};
use crate::protocol::Suite;
use std::sync::Arc;

/// The static description of a check.
pub(super) struct Spec {
    /// The section, such as `replay` or `http/402-signal`.
    pub section: &'static str,
    /// The last part of the id.
    pub name: String,
    /// A short title.
    pub title: String,
    /// How binding it is.
    pub level: Level,
    /// The requirement sentence.
    pub requirement: &'static str,
    /// Where the requirement comes from.
    pub source: &'static str,
    /// What it needs.
    pub needs: &'static [Need],
}

impl Spec {
    /// A check of `section`: what every section's `register` builds its specs with.
    pub fn new(
        section: &'static str,
        name: &str,
        title: &str,
        level: Level,
        requirement: &'static str,
        source: &'static str,
        needs: &'static [Need],
    ) -> Self {
        Self {
            section,
            name: name.into(),
            title: title.into(),
            level,
            requirement,
            source,
            needs,
        }
    }
}

/// Pins the higher-ranked signature of a check closure.
pub(super) fn body<F>(f: F) -> F
where
    F: for<'a> Fn(&'a Ctx) -> CheckFuture<'a> + Send + Sync + 'static,
{
    f
}

/// Adds a check to `suite`'s list, with the id `SUITE/SECTION/NAME`.
pub(super) fn add<F>(out: &mut Vec<Check>, suite: impl Into<Suite>, spec: Spec, run: F)
where
    F: for<'a> Fn(&'a Ctx) -> CheckFuture<'a> + Send + Sync + 'static,
{
    out.push(Check {
        id: format!("{}/{}/{}", suite.into().id(), spec.section, spec.name),
        section: spec.section.to_string(),
        title: spec.title,
        level: spec.level,
        requirement: spec.requirement.to_string(),
        source: spec.source.to_string(),
        needs: spec.needs.to_vec(),
        run: Arc::new(run),
    });
}
