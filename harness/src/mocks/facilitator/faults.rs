//! The fault schedule: what the mock facilitator does instead of answering correctly.
//!
//! A rule is written `ENDPOINT=FAULT[xN]`: ENDPOINT is `verify`, `settle`, `supported` or
//! `*`; FAULT is one of `latency:DUR`, `hang`, `status:CODE`, `html502`, `non-json`,
//! `truncated`, `settle-failure`, `pending`; `xN` limits the rule to the next N calls.
//! Faults other than `latency` answer without verifying or settling anything.

use super::journal::Endpoint;
use crate::duration::parse_duration;
use std::fmt;
use std::str::FromStr;
use std::sync::Mutex;
use std::time::Duration;

/// One way to answer wrongly.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// Answer correctly, after this delay.
    Latency(Duration),
    /// Never answer (until the facilitator stops).
    Hang,
    /// Answer this HTTP status with a JSON error body.
    Status(u16),
    /// Answer 502 with an HTML page, as a proxy in front of a dead facilitator does.
    Html502,
    /// Answer 200 with a body that is not JSON.
    NonJson,
    /// Answer 200 with the correct JSON cut in half.
    Truncated,
    /// `/settle` answers `success: false` (`unexpected_settle_error`).
    SettleFailure,
    /// `/settle` answers `success: false` with `settlement_pending` and a transaction hash.
    Pending,
}

impl Fault {
    /// The name used in rules, journals and reports.
    pub fn name(&self) -> String {
        match self {
            Fault::Latency(d) => format!("latency:{}ms", d.as_millis()),
            Fault::Hang => "hang".into(),
            Fault::Status(c) => format!("status:{c}"),
            Fault::Html502 => "html502".into(),
            Fault::NonJson => "non-json".into(),
            Fault::Truncated => "truncated".into(),
            Fault::SettleFailure => "settle-failure".into(),
            Fault::Pending => "pending".into(),
        }
    }
}

impl FromStr for Fault {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (name, arg) = s.split_once(':').unwrap_or((s, ""));
        match (name, arg) {
            ("latency", d) => parse_duration(d).map(Fault::Latency),
            ("status", c) => match c.parse::<u16>() {
                Ok(code @ 100..=599) => Ok(Fault::Status(code)),
                _ => Err(format!(
                    "'{s}': status needs an HTTP code, as in status:503"
                )),
            },
            ("hang", "") => Ok(Fault::Hang),
            ("html502", "") => Ok(Fault::Html502),
            ("non-json", "") => Ok(Fault::NonJson),
            ("truncated", "") => Ok(Fault::Truncated),
            ("settle-failure", "") => Ok(Fault::SettleFailure),
            ("pending", "") => Ok(Fault::Pending),
            _ => Err(format!(
                "unknown fault '{s}': expected latency:DUR, hang, status:CODE, html502, non-json, truncated, settle-failure or pending"
            )),
        }
    }
}

/// A fault for some endpoint(s), optionally for the next N calls only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FaultRule {
    /// The endpoint it applies to; `None` for all.
    pub endpoint: Option<Endpoint>,
    /// What happens.
    pub fault: Fault,
    /// How many more calls it applies to; `None` for every call.
    pub remaining: Option<u32>,
}

impl FromStr for FaultRule {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (endpoint, rest) = s.split_once('=').ok_or_else(|| {
            format!("fault rule '{s}' needs ENDPOINT=FAULT, as in settle=pending")
        })?;
        let endpoint = match endpoint {
            "verify" => Some(Endpoint::Verify),
            "settle" => Some(Endpoint::Settle),
            "supported" => Some(Endpoint::Supported),
            "*" => None,
            other => {
                return Err(format!(
                    "fault rule '{s}': unknown endpoint '{other}'; use verify, settle, supported or *"
                ));
            }
        };
        let (fault, remaining) = match rest.rsplit_once('x') {
            Some((f, n)) if !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) => (
                f,
                Some(n.parse::<u32>().map_err(|e| format!("'{s}': {e}"))?),
            ),
            _ => (rest, None),
        };
        Ok(FaultRule {
            endpoint,
            fault: fault.parse()?,
            remaining,
        })
    }
}

impl fmt::Display for FaultRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ep = self.endpoint.map_or("*", Endpoint::name);
        write!(f, "{ep}={}", self.fault.name())?;
        if let Some(n) = self.remaining {
            write!(f, "x{n}")?;
        }
        Ok(())
    }
}

/// The rules in force; the first rule that matches a call applies.
#[derive(Debug, Default)]
pub struct FaultSchedule {
    rules: Mutex<Vec<FaultRule>>,
}

impl FaultSchedule {
    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<FaultRule>> {
        self.rules.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Replaces every rule.
    pub fn set(&self, rules: Vec<FaultRule>) {
        *self.lock() = rules;
    }

    /// Adds a rule after the existing ones.
    pub fn push(&self, rule: FaultRule) {
        self.lock().push(rule);
    }

    /// Removes every rule.
    pub fn clear(&self) {
        self.lock().clear();
    }

    /// The rules in force.
    pub fn rules(&self) -> Vec<FaultRule> {
        self.lock().clone()
    }

    /// Takes the fault for one call to `endpoint`, counting down limited rules.
    pub fn take(&self, endpoint: Endpoint) -> Option<Fault> {
        let mut rules = self.lock();
        let i = rules
            .iter()
            .position(|r| r.endpoint.is_none_or(|e| e == endpoint))?;
        let fault = rules[i].fault.clone();
        if let Some(n) = rules[i].remaining.as_mut() {
            *n = n.saturating_sub(1);
            if *n == 0 {
                rules.remove(i);
            }
        }
        Some(fault)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_parse_and_print_back() {
        for text in [
            "settle=pending",
            "verify=status:503x2",
            "*=latency:250ms",
            "settle=hang",
        ] {
            assert_eq!(text.parse::<FaultRule>().unwrap().to_string(), text);
        }
        assert!(
            "settle"
                .parse::<FaultRule>()
                .unwrap_err()
                .contains("ENDPOINT=FAULT")
        );
        assert!(
            "pay=hang"
                .parse::<FaultRule>()
                .unwrap_err()
                .contains("unknown endpoint")
        );
        assert!(
            "settle=explode"
                .parse::<FaultRule>()
                .unwrap_err()
                .contains("unknown fault")
        );
        assert!("settle=status:99".parse::<FaultRule>().is_err());
    }

    #[test]
    fn limited_rules_expire_and_the_first_match_wins() {
        let s = FaultSchedule::default();
        s.set(vec![
            "settle=pendingx1".parse().unwrap(),
            "*=status:500".parse().unwrap(),
        ]);
        assert_eq!(s.take(Endpoint::Settle), Some(Fault::Pending));
        assert_eq!(s.take(Endpoint::Settle), Some(Fault::Status(500)));
        assert_eq!(s.take(Endpoint::Verify), Some(Fault::Status(500)));
        s.clear();
        assert_eq!(s.take(Endpoint::Verify), None);
    }
}
