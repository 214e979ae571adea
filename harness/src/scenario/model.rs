//! The scenario file format (TOML; JSON Schema in `schemas/scenario.schema.json`).
//!
//! ```toml
//! id = "replay/sequential"            # registered as SUITE/replay/sequential
//! suites = ["x402-v2", "x402-v1", "t402"]
//! title = "a settled payment sent again is refused"
//! level = "MUST"
//! requirement = "A payment that was settled is not accepted a second time."
//! source = "x402-specification-v2.md §10.1"
//! needs = ["facilitator"]
//!
//! [[step]]
//! name = "challenge"
//! request = { route = "paid" }
//! expect = { status = 402, payment_required = "strict" }
//!
//! [[step]]
//! name = "pay"
//! request = { route = "paid", pay = { offer = "challenge" } }
//! expect = { status = 200, payment_response = { success = true }, facilitator = { order = ["verify", "settle"] } }
//!
//! [[step]]
//! name = "replay"
//! request = { route = "paid", pay = { replay = "pay" } }
//! expect = { status = 402, facilitator = { settle = 0 } }
//! ```

use serde::Deserialize;
use std::collections::BTreeMap;
use toml::Spanned;

/// A whole scenario file: one check, run once per listed suite.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScenarioFile {
    /// The id without its suite prefix, such as `replay/sequential`.
    pub id: Spanned<String>,
    /// The suites it belongs to: `x402-v2`, `x402-v1`, `t402`, `t402-v1`, `l402`,
    /// `l402-single-use`.
    pub suites: Spanned<Vec<String>>,
    /// A short title.
    pub title: String,
    /// `MUST`, `SHOULD`, `BEST-PRACTICE` or `INFO`.
    pub level: Spanned<String>,
    /// The requirement sentence.
    pub requirement: String,
    /// Where it comes from.
    pub source: String,
    /// What it needs: `facilitator`, `free-route`, `failing-route`, `two-prices`.
    #[serde(default)]
    pub needs: Option<Spanned<Vec<String>>>,
    /// The steps, in order.
    #[serde(rename = "step", default)]
    pub steps: Vec<Step>,
    /// Instead of steps: a property test of the first paid route.
    #[serde(default)]
    pub props: Option<PropsSection>,
}

/// A property test run as a scenario's check (see `paycheck props`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PropsSection {
    /// `payload` (generated payments) or `replay` (replays and concurrent copies).
    pub property: Spanned<String>,
    /// Generated cases (default 500).
    #[serde(default)]
    pub cases: Option<u32>,
    /// The generator's seed (default 402, so the check is repeatable).
    #[serde(default)]
    pub seed: Option<u64>,
    /// Wall-time cap, such as `30s` (default 60s).
    #[serde(default)]
    pub time_budget: Option<Spanned<String>>,
}

/// One request and what must be true of its answer.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    /// A name later steps refer to.
    pub name: Spanned<String>,
    /// What to send.
    pub request: Request,
    /// What must hold.
    #[serde(default)]
    pub expect: Expect,
}

/// What a step sends.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Request {
    /// A named route of the run: `paid`, `paid-2`, `free`, `failing`.
    #[serde(default)]
    pub route: Option<Spanned<String>>,
    /// Method: with a route, replaces the route's (for HEAD or OPTIONS); else default GET.
    #[serde(default)]
    pub method: Option<String>,
    /// Path, when no route is named.
    #[serde(default)]
    pub path: Option<String>,
    /// Extra request headers.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// A JSON body (overrides the route's).
    #[serde(default)]
    pub body: Option<String>,
    /// A payment to attach.
    #[serde(default)]
    pub pay: Option<Pay>,
}

/// A payment to attach to a request.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pay {
    /// Pay the challenge that the named earlier step received.
    #[serde(default)]
    pub offer: Option<Spanned<String>>,
    /// Make it wrong in this way (`underpaid`, `expired`, … as in `paycheck explain`).
    #[serde(default)]
    pub wrong: Option<Spanned<String>>,
    /// Send again the exact payment header of the named earlier step.
    #[serde(default)]
    pub replay: Option<Spanned<String>>,
    /// Send this many concurrent copies (default 1).
    #[serde(default)]
    pub copies: Option<u32>,
}

/// What must be true of a step's answer(s).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    /// The status (with `copies`, the status of every copy but the successes).
    #[serde(default)]
    pub status: Option<u16>,
    /// Any status in this class: `2xx`, `4xx`, …
    #[serde(default)]
    pub status_class: Option<String>,
    /// Response headers that must be present.
    #[serde(default)]
    pub headers_present: Vec<String>,
    /// Response headers that must be absent.
    #[serde(default)]
    pub headers_absent: Vec<String>,
    /// Response headers whose value must contain a text (case-insensitive).
    #[serde(default)]
    pub headers_contain: BTreeMap<String, String>,
    /// The challenge must decode: `"lenient"` or `"strict"` (no deviation).
    #[serde(default)]
    pub payment_required: Option<String>,
    /// The settlement header must decode, with this `success`.
    #[serde(default)]
    pub payment_response: Option<PaymentResponse>,
    /// JSON pointers into the body and the values they must have.
    #[serde(default)]
    pub json: BTreeMap<String, toml::Value>,
    /// The answer must come within this many milliseconds.
    #[serde(default)]
    pub max_latency_ms: Option<u64>,
    /// With `copies`: at most this many 2xx answers.
    #[serde(default)]
    pub successes_at_most: Option<u32>,
    /// What the mock facilitator saw during this step.
    #[serde(default)]
    pub facilitator: Option<FacilitatorExpect>,
}

/// The settlement header's expected `success`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PaymentResponse {
    /// `success` in the decoded settlement response.
    pub success: bool,
}

/// Calls the mock facilitator must have received during a step.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FacilitatorExpect {
    /// Number of `/verify` calls.
    #[serde(default)]
    pub verify: Option<usize>,
    /// Number of successful settlements.
    #[serde(default)]
    pub settle: Option<usize>,
    /// The exact sequence of endpoints called.
    #[serde(default)]
    pub order: Option<Vec<String>>,
    /// Another sequence accepted when the paid offer declares `extra.paymentFlow =
    /// "upfront"` (settle before the handler, no `/verify` needed).
    #[serde(default)]
    pub upfront_order: Option<Vec<String>>,
}
