//! Scenario files: declarative checks in TOML (see [`model`] for the format). Each file
//! is one check, registered once per suite it lists; a mistake in a file is reported with
//! its file, line and column.

mod builtin;
mod exec;
pub mod model;

use crate::catalogue::{Check, Level, Need};
use crate::payer::WrongPayment;
use crate::protocol::{Dialect, Suite};
/// A problem in a scenario file, at its file, line and column.
pub type ScenarioError = crate::file_error::FileError;
use model::ScenarioFile;
use std::collections::HashSet;
use std::ops::Range;
use std::path::Path;
use std::sync::Arc;
use toml::Spanned;

/// A scenario file that parsed and validated.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// The file it came from.
    pub file: String,
    /// Its content.
    pub spec: ScenarioFile,
    /// Its level.
    pub level: Level,
    /// Its needs.
    pub needs: Vec<Need>,
    /// Its suites.
    pub suites: Vec<Suite>,
}

/// The named routes a request may use.
pub const ROUTES: [&str; 4] = ["paid", "paid-2", "free", "failing"];

/// Parses and validates a scenario file's text.
pub fn parse(file: &str, text: &str) -> Result<Scenario, ScenarioError> {
    let spec: ScenarioFile = toml::from_str(text)
        .map_err(|e| ScenarioError::at(file, text, e.span(), e.message().trim()))?;
    let err = |span: Range<usize>, msg: String| ScenarioError::at(file, text, Some(span), msg);
    let level = match spec.level.get_ref().as_str() {
        "MUST" => Level::Must,
        "SHOULD" => Level::Should,
        "BEST-PRACTICE" => Level::BestPractice,
        "INFO" => Level::Info,
        other => {
            return Err(err(
                spec.level.span(),
                format!("level '{other}': expected MUST, SHOULD, BEST-PRACTICE or INFO"),
            ));
        }
    };
    let mut suites = Vec::new();
    for s in spec.suites.get_ref() {
        suites.push(s.parse::<Suite>().map_err(|e| err(spec.suites.span(), e))?);
    }
    if suites.is_empty() {
        return Err(err(
            spec.suites.span(),
            format!(
                "suites is empty: list at least one of {}",
                Suite::ALL.map(Suite::id).join(", ")
            ),
        ));
    }
    let id = spec.id.get_ref();
    let id_ok = id.split('/').count() >= 2
        && id.split('/').all(|p| {
            !p.is_empty()
                && p.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        });
    if !id_ok {
        return Err(err(
            spec.id.span(),
            format!(
                "id '{id}': expected SECTION/NAME in lower-case kebab-case, as in replay/sequential"
            ),
        ));
    }
    let mut needs = Vec::new();
    let declared = spec
        .needs
        .as_ref()
        .map_or(&[][..], |n| n.get_ref().as_slice());
    let needs_span = spec.needs.as_ref().map_or(0..0, |n| n.span());
    for n in declared {
        needs.push(match n.as_str() {
            "facilitator" => Need::Facilitator,
            "free-route" => Need::FreeRoute,
            "failing-route" => Need::FailingRoute,
            "two-prices" => Need::TwoPrices,
            "lightning" => Need::Lightning,
            other => {
                return Err(err(needs_span.clone(), format!("need '{other}': expected facilitator, lightning, free-route, failing-route or two-prices")));
            }
        });
    }
    match (&spec.props, spec.steps.is_empty()) {
        (None, true) => {
            return Err(ScenarioError::at(
                file,
                text,
                None,
                "no [[step]] and no [props]: a scenario needs one of them",
            ));
        }
        (Some(p), false) => {
            return Err(err(
                p.property.span(),
                "a scenario has [[step]]s or [props], not both".into(),
            ));
        }
        (Some(p), true) => {
            if !["payload", "replay"].contains(&p.property.get_ref().as_str()) {
                return Err(err(
                    p.property.span(),
                    format!(
                        "property '{}': expected payload or replay",
                        p.property.get_ref()
                    ),
                ));
            }
            if let Some(b) = &p.time_budget {
                crate::duration::parse_duration(b.get_ref()).map_err(|e| err(b.span(), e))?;
            }
        }
        (None, false) => {}
    }
    validate_steps(&spec, &err)?;
    if suites.iter().any(|s| s.l402_profile().is_some()) {
        validate_l402_steps(&spec, &err)?;
    }
    Ok(Scenario {
        file: file.to_string(),
        spec,
        level,
        needs,
        suites,
    })
}

fn validate_steps(
    spec: &ScenarioFile,
    err: &dyn Fn(Range<usize>, String) -> ScenarioError,
) -> Result<(), ScenarioError> {
    let mut earlier: HashSet<&str> = HashSet::new();
    let refer = |name: &Spanned<String>, earlier: &HashSet<&str>, what: &str| {
        if earlier.contains(name.get_ref().as_str()) {
            Ok(())
        } else {
            Err(err(
                name.span(),
                format!("{what} = '{}' names no earlier step", name.get_ref()),
            ))
        }
    };
    for step in &spec.steps {
        let r = &step.request;
        match (&r.route, &r.path) {
            (Some(route), None) if !ROUTES.contains(&route.get_ref().as_str()) => {
                return Err(err(
                    route.span(),
                    format!(
                        "route '{}': expected one of {}",
                        route.get_ref(),
                        ROUTES.join(", ")
                    ),
                ));
            }
            (Some(_), None) | (None, Some(_)) => {}
            _ => {
                return Err(err(
                    step.name.span(),
                    format!(
                        "step '{}': give either request.route or request.path",
                        step.name.get_ref()
                    ),
                ));
            }
        }
        if let Some(pay) = &r.pay {
            match (&pay.offer, &pay.replay) {
                (Some(o), None) => refer(o, &earlier, "offer")?,
                (None, Some(rp)) => refer(rp, &earlier, "replay")?,
                _ => {
                    return Err(err(
                        step.name.span(),
                        format!(
                            "step '{}': pay needs exactly one of offer or replay",
                            step.name.get_ref()
                        ),
                    ));
                }
            }
            if let Some(w) = &pay.wrong {
                w.get_ref()
                    .parse::<WrongPayment>()
                    .map_err(|e| err(w.span(), e))?;
            }
        }
        let e = &step.expect;
        if let Some(class) = &e.status_class {
            let ok =
                class.len() == 3 && class.as_bytes()[0].is_ascii_digit() && &class[1..] == "xx";
            if !ok {
                return Err(err(
                    step.name.span(),
                    format!(
                        "step '{}': status_class '{class}' should look like 2xx",
                        step.name.get_ref()
                    ),
                ));
            }
        }
        if let Some(mode) = &e.payment_required
            && mode != "strict"
            && mode != "lenient"
        {
            return Err(err(
                step.name.span(),
                format!(
                    "step '{}': payment_required '{mode}': expected strict or lenient",
                    step.name.get_ref()
                ),
            ));
        }
        if let Some(f) = &e.facilitator
            && f.upfront_order.is_some()
            && f.order.is_none()
        {
            return Err(err(
                step.name.span(),
                format!(
                    "step '{}': facilitator upfront_order is the alternative to an order: give the order too",
                    step.name.get_ref()
                ),
            ));
        }
        let orders = e
            .facilitator
            .iter()
            .flat_map(|f| f.order.iter().chain(f.upfront_order.iter()));
        if let Some(bad) = orders
            .flatten()
            .find(|n| !["verify", "settle", "supported"].contains(&n.as_str()))
        {
            return Err(err(
                step.name.span(),
                format!(
                    "step '{}': facilitator order names '{bad}': expected verify, settle or supported",
                    step.name.get_ref()
                ),
            ));
        }
        if !earlier.insert(step.name.get_ref().as_str()) {
            return Err(err(
                step.name.span(),
                format!("a step named '{}' comes earlier", step.name.get_ref()),
            ));
        }
    }
    Ok(())
}

/// Refuses what only x402 has in a scenario that lists an L402 suite.
fn validate_l402_steps(
    spec: &ScenarioFile,
    err: &dyn Fn(Range<usize>, String) -> ScenarioError,
) -> Result<(), ScenarioError> {
    for step in &spec.steps {
        let x402_only = if step.request.pay.as_ref().is_some_and(|p| p.wrong.is_some()) {
            Some("pay.wrong (wrong payments are x402 payments)")
        } else if step.expect.payment_response.is_some() {
            Some("expect.payment_response (L402 has no settlement header)")
        } else if step.expect.facilitator.is_some() {
            Some("expect.facilitator (L402 servers use no facilitator)")
        } else {
            None
        };
        if let Some(what) = x402_only {
            return Err(err(
                step.name.span(),
                format!(
                    "step '{}' uses {what}, but the scenario lists an L402 suite",
                    step.name.get_ref()
                ),
            ));
        }
    }
    if spec.props.is_some() {
        return Err(err(
            spec.suites.span(),
            "[props] scenarios are x402 properties; list only x402 suites".into(),
        ));
    }
    Ok(())
}

/// Reads and validates a scenario file from disk.
pub fn load(path: &Path) -> Result<Scenario, ScenarioError> {
    let name = path.display().to_string();
    let text = std::fs::read_to_string(path)
        .map_err(|e| ScenarioError::at(&name, "", None, format!("cannot read: {e}")))?;
    parse(&name, &text)
}

impl Scenario {
    /// The check this scenario makes in `suite`, if it lists that suite.
    /// True when the scenario belongs to `suite`. A t402 v1 server (graded in the `t402`
    /// suite) gets the scenarios that name `t402-v1`, and those written for both t402 and
    /// the v1 wire (`t402` with `x402-v1`); a scenario for the v2 wire alone is not its.
    pub fn applies_to(&self, suite: Suite) -> bool {
        let has = |d: Dialect| self.suites.contains(&Suite::X402(d));
        if suite == Suite::X402(Dialect::T402V1) {
            return has(Dialect::T402V1) || (has(Dialect::T402) && has(Dialect::X402V1));
        }
        self.suites.contains(&suite)
    }

    /// The scenario as a check of `suite`, if it belongs to it.
    pub fn check(&self, suite: Suite) -> Option<Check> {
        if !self.applies_to(suite) {
            return None;
        }
        let id = self.spec.id.get_ref();
        let section = id
            .rsplit_once('/')
            .map_or(id.as_str(), |(s, _)| s)
            .to_string();
        let scenario = Arc::new(self.clone());
        Some(Check {
            id: format!("{}/{id}", suite.id()),
            section,
            title: self.spec.title.clone(),
            level: self.level,
            requirement: self.spec.requirement.clone(),
            source: self.spec.source.clone(),
            needs: self.needs.clone(),
            run: Arc::new(move |ctx| {
                let scenario = scenario.clone();
                Box::pin(async move { exec::run(&scenario, ctx).await })
            }),
        })
    }
}

/// The built-in scenarios from `scenarios/`.
pub fn builtin() -> Vec<Scenario> {
    builtin::FILES
        .iter()
        .map(|(name, text)| parse(name, text).unwrap_or_else(|e| panic!("built-in scenario: {e}")))
        .collect()
}

#[cfg(test)]
mod tests;
