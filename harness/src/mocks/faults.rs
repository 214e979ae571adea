//! Fault schedules: what a mock does instead of answering correctly, shared by the mock
//! facilitator and the mock Lightning backend.
//!
//! A rule is written `ENDPOINT=FAULT[xN]`: ENDPOINT is one of the mock's endpoints (the
//! facilitator's `verify`, `settle`, `supported`; Lightning's `create`, `pay`, `lookup`) or
//! `*`; FAULT is one of `latency:DUR`, `hang`, `status:CODE`, `html502`, `non-json`,
//! `truncated`, `settle-failure`, `pending`; `xN` limits the rule to the next N calls.
//! Faults other than `latency` answer without doing what was asked.

use crate::duration::parse_duration;
use crate::serve::json_response;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use std::fmt;
use std::str::FromStr;
use std::sync::Mutex;
use std::time::Duration;

/// The longest a `hang` fault holds a request when its mock is not stopped.
pub const HANG_LIMIT: Duration = Duration::from_secs(300);

/// An endpoint of a mock, as fault rules and journals name it.
pub trait MockEndpoint: Copy + Eq + fmt::Debug + Send + Sync + 'static {
    /// Every endpoint of the mock.
    const ALL: &'static [Self];
    /// The lower-case name used in rules.
    fn name(self) -> &'static str;
}

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
    /// The settlement or payment fails: `/settle` answers `success: false`
    /// (`unexpected_settle_error`); a Lightning payment fails.
    SettleFailure,
    /// The settlement or payment stays pending: `/settle` answers `success: false` with
    /// `settlement_pending` and a transaction hash; a Lightning payment stays in flight.
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

/// A fault for some endpoint(s) of a mock, optionally for the next N calls only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FaultRule<E> {
    /// The endpoint it applies to; `None` for all.
    pub endpoint: Option<E>,
    /// What happens.
    pub fault: Fault,
    /// How many more calls it applies to; `None` for every call.
    pub remaining: Option<u32>,
}

impl<E: MockEndpoint> FromStr for FaultRule<E> {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let example = format!("{}=status:503", E::ALL[0].name());
        let (endpoint, rest) = s
            .split_once('=')
            .ok_or_else(|| format!("fault rule '{s}' needs ENDPOINT=FAULT, as in {example}"))?;
        let endpoint = match endpoint {
            "*" => None,
            name => Some(
                E::ALL
                    .iter()
                    .copied()
                    .find(|e| e.name() == name)
                    .ok_or_else(|| {
                        let names: Vec<&str> = E::ALL.iter().map(|e| e.name()).collect();
                        format!(
                            "fault rule '{s}': unknown endpoint '{name}'; use {} or *",
                            names.join(", ")
                        )
                    })?,
            ),
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

impl<E: MockEndpoint> fmt::Display for FaultRule<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ep = self.endpoint.map_or("*", E::name);
        write!(f, "{ep}={}", self.fault.name())?;
        if let Some(n) = self.remaining {
            write!(f, "x{n}")?;
        }
        Ok(())
    }
}

/// The rules in force; the first rule that matches a call applies.
#[derive(Debug)]
pub struct FaultSchedule<E> {
    rules: Mutex<Vec<FaultRule<E>>>,
}

impl<E> Default for FaultSchedule<E> {
    fn default() -> Self {
        Self {
            rules: Mutex::new(Vec::new()),
        }
    }
}

impl<E: MockEndpoint> FaultSchedule<E> {
    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<FaultRule<E>>> {
        self.rules.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Replaces every rule.
    pub fn set(&self, rules: Vec<FaultRule<E>>) {
        *self.lock() = rules;
    }

    /// Adds a rule after the existing ones.
    pub fn push(&self, rule: FaultRule<E>) {
        self.lock().push(rule);
    }

    /// Removes every rule.
    pub fn clear(&self) {
        self.lock().clear();
    }

    /// The rules in force.
    pub fn rules(&self) -> Vec<FaultRule<E>> {
        self.lock().clone()
    }

    /// Replaces the rules with ones parsed from text (the admin API's `PUT`).
    pub fn set_texts(&self, texts: &[String]) -> Result<(), String> {
        let rules = texts
            .iter()
            .map(|t| t.parse::<FaultRule<E>>())
            .collect::<Result<Vec<_>, _>>()?;
        self.set(rules);
        Ok(())
    }

    /// The admin API: `GET` lists the rules in force, `PUT` replaces them with a JSON
    /// array of rule texts (`example` shows one in the error), `DELETE` clears them.
    pub fn admin(&self, method: &axum::http::Method, body: &[u8], example: &str) -> Response {
        match *method {
            axum::http::Method::PUT => {
                let texts: Vec<String> = match serde_json::from_slice(body) {
                    Ok(t) => t,
                    Err(e) => {
                        let error =
                            format!("expected a JSON array of rules such as [\"{example}\"]: {e}");
                        return json_response(StatusCode::BAD_REQUEST, &json!({ "error": error }));
                    }
                };
                match self.set_texts(&texts) {
                    Ok(()) => json_response(StatusCode::OK, &json!(texts)),
                    Err(e) => json_response(StatusCode::BAD_REQUEST, &json!({ "error": e })),
                }
            }
            axum::http::Method::DELETE => {
                self.clear();
                json_response(StatusCode::OK, &json!([]))
            }
            _ => {
                let rules: Vec<String> = self.rules().iter().map(ToString::to_string).collect();
                json_response(StatusCode::OK, &json!(rules))
            }
        }
    }

    /// Takes the fault for one call to `endpoint`, counting down limited rules.
    pub fn take(&self, endpoint: E) -> Option<Fault> {
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

/// Acts out a fault that any endpoint can have. `correct` is the answer the endpoint would
/// give (for `truncated`); `stop` ends a `hang` early. Returns the status and response to
/// send instead, or `None` when the endpoint should go on (after `latency`, and for the
/// endpoint-specific `settle-failure` and `pending`).
pub async fn act(
    fault: &Fault,
    correct: &Value,
    stop: crate::serve::StopSignal,
) -> Option<(StatusCode, Response)> {
    match fault {
        Fault::Latency(d) => {
            tokio::time::sleep(*d).await;
            None
        }
        Fault::Hang => {
            tokio::select! {
                _ = tokio::time::sleep(HANG_LIMIT) => {}
                _ = crate::serve::stopped(stop) => {}
            }
            let status = StatusCode::GATEWAY_TIMEOUT;
            Some((status, json_response(status, &json!({"error": "hung"}))))
        }
        Fault::Status(code) => {
            let status = StatusCode::from_u16(*code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let body = json!({"error": format!("injected status {code}")});
            Some((status, json_response(status, &body)))
        }
        Fault::Html502 => {
            let html = "<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1></body></html>";
            let resp = (
                StatusCode::BAD_GATEWAY,
                [(header::CONTENT_TYPE, "text/html")],
                html,
            )
                .into_response();
            Some((StatusCode::BAD_GATEWAY, resp))
        }
        Fault::NonJson => {
            let resp = (
                StatusCode::OK,
                [(header::CONTENT_TYPE, "application/json")],
                "this is not JSON",
            )
                .into_response();
            Some((StatusCode::OK, resp))
        }
        Fault::Truncated => {
            let full = correct.to_string();
            let cut = full[..full.len() / 2].to_string();
            let resp = (
                StatusCode::OK,
                [(header::CONTENT_TYPE, "application/json")],
                cut,
            )
                .into_response();
            Some((StatusCode::OK, resp))
        }
        Fault::SettleFailure | Fault::Pending => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mocks::facilitator::journal::Endpoint;

    type FaultRule = super::FaultRule<Endpoint>;

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
        let s = FaultSchedule::<Endpoint>::default();
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
