//! Thresholds: `"METRIC" = "OP VALUE"`, such as `"paid.p99" = "< 250ms"`,
//! `"errors.rate" = "< 0.1%"` or `"all.rps" = "> 100"`.
//!
//! METRIC is `[TRANSACTION.]STAT`: TRANSACTION is `unpaid`, `paid`, `free`, `replay` or `all`
//! (the default); STAT is a latency (`p50`, `p90`, `p95`, `p99`, `p99.9`, `max`, `mean`,
//! judged on the corrected latency, from each request's intended start), `rps`,
//! `errors.rate` or `dropped.rate`. OP is `<`, `<=`, `>` or `>=`. A latency VALUE takes a
//! unit (`us`, `ms`, `s`); a rate is a percentage (`0.1%`) or a fraction (`0.001`).
//! A threshold on something that was never measured fails: a run never passes on nothing.

use super::profile::Txn;
use std::fmt;

/// What a threshold is about: every request, or one transaction's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    /// Every request.
    All,
    /// One transaction's requests.
    Txn(Txn),
}

/// A statistic of a scope.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Stat {
    /// A latency percentile (0–100), milliseconds.
    Percentile(f64),
    /// The largest latency, milliseconds.
    Max,
    /// The mean latency, milliseconds.
    Mean,
    /// Requests completed per second.
    Rps,
    /// The share of requests that failed (no answer, or an answer breaking its
    /// transaction's expectation).
    ErrorRate,
    /// The share of scheduled arrivals that were dropped (open model).
    DroppedRate,
}

impl Stat {
    fn is_latency(self) -> bool {
        matches!(self, Stat::Percentile(_) | Stat::Max | Stat::Mean)
    }

    fn is_rate(self) -> bool {
        matches!(self, Stat::ErrorRate | Stat::DroppedRate)
    }
}

/// A comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Op {
    /// `<`
    #[serde(rename = "<")]
    Lt,
    /// `<=`
    #[serde(rename = "<=")]
    Le,
    /// `>`
    #[serde(rename = ">")]
    Gt,
    /// `>=`
    #[serde(rename = ">=")]
    Ge,
}

impl Op {
    fn holds(self, actual: f64, limit: f64) -> bool {
        match self {
            Op::Lt => actual < limit,
            Op::Le => actual <= limit,
            Op::Gt => actual > limit,
            Op::Ge => actual >= limit,
        }
    }
}

/// One threshold.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Threshold {
    /// As written: `paid.p99 < 250ms`.
    pub expr: String,
    /// The metric as written: `paid.p99`.
    pub metric: String,
    /// What it is about.
    pub scope: Scope,
    /// Which statistic.
    pub stat: Stat,
    /// The comparison.
    pub op: Op,
    /// The limit: milliseconds for a latency, a fraction for a rate, per second for rps.
    pub limit: f64,
}

/// A threshold judged.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Verdict {
    /// The threshold.
    #[serde(flatten)]
    pub threshold: Threshold,
    /// What was measured (`None`: nothing was).
    pub actual: Option<f64>,
    /// Whether it holds.
    pub passed: bool,
}

/// What thresholds are judged against: a run's measurements so far.
pub trait Observed {
    /// The value of `stat` over `scope`, if anything was measured.
    fn observe(&self, scope: Scope, stat: Stat) -> Option<f64>;
}

/// The statistic names, longest first so that `p99.9` is not read as `p99`.
const STATS: &[(&str, Stat)] = &[
    ("errors.rate", Stat::ErrorRate),
    ("dropped.rate", Stat::DroppedRate),
    ("p99.9", Stat::Percentile(99.9)),
    ("p50", Stat::Percentile(50.0)),
    ("p90", Stat::Percentile(90.0)),
    ("p95", Stat::Percentile(95.0)),
    ("p99", Stat::Percentile(99.0)),
    ("max", Stat::Max),
    ("mean", Stat::Mean),
    ("rps", Stat::Rps),
];

fn parse_metric(metric: &str) -> Result<(Scope, Stat), String> {
    let (prefix, stat) = STATS
        .iter()
        .find_map(|(name, stat)| {
            metric
                .strip_suffix(name)
                .filter(|p| p.is_empty() || p.ends_with('.'))
                .map(|p| (p.trim_end_matches('.'), *stat))
        })
        .ok_or_else(|| {
            format!(
                "'{metric}': unknown statistic; use p50, p90, p95, p99, p99.9, max, mean, rps, errors.rate or dropped.rate, after an optional unpaid., paid., free., replay. or all."
            )
        })?;
    let scope = match prefix {
        "" | "all" => Scope::All,
        name => Scope::Txn(
            Txn::ALL
                .into_iter()
                .find(|t| t.name() == name)
                .ok_or_else(|| format!("'{metric}': unknown transaction '{name}'"))?,
        ),
    };
    Ok((scope, stat))
}

fn parse_value(stat: Stat, text: &str) -> Result<f64, String> {
    let text = text.trim();
    let number = |s: &str| {
        s.trim()
            .parse::<f64>()
            .ok()
            .filter(|v| v.is_finite() && *v >= 0.0)
            .ok_or_else(|| format!("'{text}' is not a number"))
    };
    if stat.is_latency() {
        for (unit, to_ms) in [("ms", 1.0), ("us", 0.001), ("µs", 0.001), ("s", 1000.0)] {
            if let Some(n) = text.strip_suffix(unit) {
                return Ok(number(n)? * to_ms);
            }
        }
        Err(format!(
            "'{text}': a latency needs a unit: us, ms or s (as in 250ms)"
        ))
    } else if stat.is_rate() {
        match text.strip_suffix('%') {
            Some(n) => Ok(number(n)? / 100.0),
            None => number(text).and_then(|v| {
                if v <= 1.0 {
                    Ok(v)
                } else {
                    Err(format!(
                        "'{text}': a rate is a fraction (0.001) or a percentage (0.1%)"
                    ))
                }
            }),
        }
    } else {
        number(text.trim_end_matches("/s"))
    }
}

impl Threshold {
    /// Parses `metric` and `spec` (`"< 250ms"`).
    pub fn parse(metric: &str, spec: &str) -> Result<Self, String> {
        let (scope, stat) = parse_metric(metric.trim())?;
        let spec = spec.trim();
        let (op, rest) = [("<=", Op::Le), (">=", Op::Ge), ("<", Op::Lt), (">", Op::Gt)]
            .iter()
            .find_map(|(s, op)| spec.strip_prefix(s).map(|r| (*op, r)))
            .ok_or_else(|| format!("'{spec}': start with <, <=, > or >=, as in \"< 250ms\""))?;
        let limit = parse_value(stat, rest)?;
        Ok(Self {
            expr: format!("{} {spec}", metric.trim()),
            metric: metric.trim().to_string(),
            scope,
            stat,
            op,
            limit,
        })
    }

    /// Judges the threshold against what was measured.
    pub fn judge(&self, observed: &dyn Observed) -> Verdict {
        let actual = observed.observe(self.scope, self.stat);
        Verdict {
            threshold: self.clone(),
            passed: actual.is_some_and(|a| self.op.holds(a, self.limit)),
            actual,
        }
    }

    /// True when a miss in the middle of a run can be trusted to stand: latencies and
    /// rates can; a throughput floor cannot be judged before the end.
    pub fn judged_mid_run(&self) -> bool {
        self.stat != Stat::Rps
    }

    /// The unit its values are shown in.
    pub fn unit(&self) -> &'static str {
        if self.stat.is_latency() {
            "ms"
        } else if self.stat.is_rate() {
            "%"
        } else {
            "/s"
        }
    }

    /// A value of this threshold's kind, for messages (rates as percentages).
    pub fn show(&self, value: f64) -> String {
        if self.stat.is_rate() {
            format!("{:.3}%", value * 100.0)
        } else if self.stat.is_latency() {
            format!("{value:.2} ms")
        } else {
            format!("{value:.1}/s")
        }
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let actual = self
            .actual
            .map_or("nothing measured".to_string(), |a| self.threshold.show(a));
        write!(
            f,
            "{} {}: {actual}",
            if self.passed { "✔" } else { "✘" },
            self.threshold.expr
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Fixed;
    impl Observed for Fixed {
        fn observe(&self, scope: Scope, stat: Stat) -> Option<f64> {
            match (scope, stat) {
                (Scope::Txn(Txn::Paid), Stat::Percentile(99.0)) => Some(120.0),
                (Scope::All, Stat::ErrorRate) => Some(0.002),
                (Scope::All, Stat::Rps) => Some(450.0),
                _ => None,
            }
        }
    }

    #[test]
    fn thresholds_parse_and_judge() {
        let t = Threshold::parse("paid.p99", "< 250ms").unwrap();
        assert_eq!(
            (t.scope, t.stat, t.op, t.limit),
            (Scope::Txn(Txn::Paid), Stat::Percentile(99.0), Op::Lt, 250.0)
        );
        assert!(t.judge(&Fixed).passed);
        let e = Threshold::parse("errors.rate", "< 0.1%").unwrap();
        assert!((e.limit - 0.001).abs() < 1e-12);
        let v = e.judge(&Fixed);
        assert!(!v.passed);
        assert_eq!(v.to_string(), "✘ errors.rate < 0.1%: 0.200%");
        assert!(
            Threshold::parse("all.rps", ">= 400")
                .unwrap()
                .judge(&Fixed)
                .passed
        );
        assert_eq!(
            Threshold::parse("p99.9", "< 1s").unwrap().stat,
            Stat::Percentile(99.9)
        );
        assert_eq!(
            Threshold::parse("unpaid.max", "< 500us").unwrap().limit,
            0.5
        );
        // Nothing measured: failed.
        let none = Threshold::parse("free.p50", "< 1s").unwrap().judge(&Fixed);
        assert!(!none.passed && none.actual.is_none());
    }

    #[test]
    fn bad_thresholds_say_what_is_expected() {
        for (metric, spec, want) in [
            ("paid.p42", "< 1s", "unknown statistic"),
            ("cheap.p99", "< 1s", "unknown transaction"),
            ("paid.p99", "250ms", "start with"),
            ("paid.p99", "< 250", "needs a unit"),
            ("errors.rate", "< 5", "percentage"),
        ] {
            let e = Threshold::parse(metric, spec).unwrap_err();
            assert!(e.contains(want), "{metric} {spec}: {e}");
        }
    }
}
