//! The server under test and how checks talk to it: routes, an HTTP client that records
//! every exchange, and payments for its offers.

pub mod embedded;
mod exchange;
pub(crate) mod http1;
mod raw;
pub mod restart;
mod routes;
pub mod spawn;
pub mod tally;

pub use exchange::{BodyLimits, Exchange, cause_chain, not_declared_json};
pub use routes::RouteSpec;

use crate::payer::{PayError, Payer, WrongPayment};
use crate::protocol::l402::{Challenges, read_challenges};
use crate::protocol::payment_id;
use crate::protocol::v1::PaymentRequiredV1;
use crate::protocol::v2::{PaymentPayload, PaymentRequired};
use crate::protocol::{
    DecodeError, Dialect, Mode, Suite, decode_header, decode_json, encode_header,
};
use reqwest::Method;
use serde_json::{Map, Value};
use std::time::Duration;

/// Headers a response may have; more is a broken answer. The response head as a whole is
/// bounded by hyper's read buffer (about 400 KiB), so a 1 MiB header is one too.
pub const MAX_RESPONSE_HEADERS: usize = 100;

/// The default `--hang-window`: long enough for a server whose facilitator calls time out
/// after 10 to 20 s, short enough that one with none is told apart within a run.
pub const DEFAULT_HANG_WINDOW: Duration = Duration::from_secs(30);

/// A server under test, tested for one suite.
#[derive(Debug, Clone)]
pub struct Target {
    /// Base URL, without a trailing slash.
    pub base_url: String,
    /// The suite it is tested for.
    pub suite: Suite,
    /// Paid routes; the first is the one most checks use.
    pub paid: Vec<RouteSpec>,
    /// A free route, if one was named.
    pub free: Option<RouteSpec>,
    /// A paid request whose handler fails, if one was named.
    pub failing: Option<RouteSpec>,
    /// A paid request whose handler answers 201 or 202, if one was named.
    pub queued: Option<RouteSpec>,
    /// How long one request may take, body included.
    pub timeout: Duration,
    /// How long a request may take while the facilitator or backend hangs on purpose: a
    /// server with a timeout on its own calls answers within it (`--hang-window`).
    pub hang_window: Duration,
    /// How much of each body is kept and read.
    pub limits: BodyLimits,
    http: reqwest::Client,
    /// A client that never reuses a connection, for the one retry of [`Target::send_as`].
    fresh: reqwest::Client,
}

/// A 402 challenge read from a response.
#[derive(Debug, Clone)]
pub enum Challenge {
    /// v2 and t402: the decoded `PAYMENT-REQUIRED` header.
    V2(PaymentRequired),
    /// v1: the decoded body.
    V1(PaymentRequiredV1),
    /// L402: the `WWW-Authenticate` challenges.
    L402(Challenges),
}

impl Challenge {
    /// The `error` field (x402 only).
    pub fn error(&self) -> Option<&str> {
        match self {
            Challenge::V2(r) => r.error.as_deref(),
            Challenge::V1(r) => r.error.as_deref(),
            Challenge::L402(_) => None,
        }
    }

    /// Whether the challenge advertises the `payment-identifier` extension: `None` when
    /// it does not (or cannot: v1 and L402), else whether it requires an id.
    pub fn payment_id(&self) -> Option<bool> {
        match self {
            Challenge::V2(r) => payment_id::advertised(r.extensions.as_ref()),
            Challenge::V1(_) | Challenge::L402(_) => None,
        }
    }

    /// True when the first offer declares `extra.paymentFlow = "upfront"` (settle, then do
    /// the work); an offer that declares nothing is the `authorization` flow.
    pub fn is_upfront(&self) -> bool {
        let extra = match self {
            Challenge::V2(r) => r.accepts.first().and_then(|a| a.extra.as_ref()),
            Challenge::V1(r) => r.accepts.first().and_then(|a| a.extra.as_ref()),
            Challenge::L402(_) => None,
        };
        extra
            .and_then(|e| e.get("paymentFlow"))
            .and_then(|f| f.as_str())
            == Some("upfront")
    }

    /// The first offer's amount as a number, for comparing route prices (for L402, the
    /// invoice's millisatoshis).
    pub fn first_amount(&self) -> Option<u128> {
        match self {
            Challenge::V2(r) => r.accepts.first()?.amount.parse().ok(),
            Challenge::V1(r) => r.accepts.first()?.max_amount_required.parse().ok(),
            Challenge::L402(c) => {
                crate::protocol::l402::decode_invoice(&c.preferred().invoice, Mode::Lenient)
                    .ok()?
                    .amount_msat
                    .map(u128::from)
            }
        }
    }
}

/// A payment header and the nonce that identifies it in the facilitator's journal.
#[derive(Debug, Clone)]
pub struct PaymentHeader {
    /// The header value.
    pub value: String,
    /// The authorization nonce (`0x…`, lower case); for L402, the payment hash in hex.
    pub nonce: String,
    /// The `payment-identifier` id it carries: x402 v2 and t402 payments for offers that
    /// advertise the extension.
    pub payment_id: Option<String>,
    /// The v2 payload it encodes, to send the same authorization under another id.
    signed: Option<(Dialect, PaymentPayload)>,
}

impl PaymentHeader {
    /// A header with no payload paycheck can rewrite (L402 credentials).
    pub fn opaque(value: String, nonce: String) -> Self {
        Self {
            value,
            nonce,
            payment_id: None,
            signed: None,
        }
    }

    /// The same authorization with its `payment-identifier` id replaced by `id`, or the
    /// extension removed (`None`). A v1 or L402 payment has no extensions: it is unchanged.
    pub fn with_payment_id(&self, id: Option<&str>) -> Self {
        let Some((dialect, payload)) = &self.signed else {
            return self.clone();
        };
        let mut payload = payload.clone();
        let mut extensions = match payload.extensions.take() {
            Some(Value::Object(map)) => map,
            _ => Map::new(),
        };
        match id {
            Some(id) => {
                let declared = extensions
                    .remove(payment_id::EXTENSION)
                    .unwrap_or_else(|| payment_id::declaration(false));
                extensions.insert(
                    payment_id::EXTENSION.into(),
                    payment_id::echo(&declared, id),
                );
            }
            None => {
                extensions.remove(payment_id::EXTENSION);
            }
        }
        payload.extensions = (!extensions.is_empty()).then_some(Value::Object(extensions));
        Self {
            value: encode_header(*dialect, &payload),
            nonce: self.nonce.clone(),
            payment_id: id.map(str::to_string),
            signed: Some((*dialect, payload)),
        }
    }

    /// The same authorization as a replay: under a fresh id when it carries one (the same
    /// id would rightly get the cached answer), else byte for byte.
    pub fn replayed(&self) -> Self {
        match self.payment_id {
            Some(_) => self.with_payment_id(Some(&payment_id::fresh_id())),
            None => self.clone(),
        }
    }
}

impl Target {
    /// A target at `base_url`; `timeout` bounds every request, body included.
    pub fn new(base_url: &str, suite: impl Into<Suite>, timeout: Duration) -> Self {
        let client = |idle: usize| {
            reqwest::Client::builder()
                .http1_max_headers(MAX_RESPONSE_HEADERS)
                .no_proxy()
                .redirect(reqwest::redirect::Policy::none())
                .pool_max_idle_per_host(idle)
                .build()
                .expect("a plain HTTP client builds")
        };
        let (http, fresh) = (client(usize::MAX), client(0));
        Self {
            base_url: base_url.trim_end_matches('/').to_string(),
            suite: suite.into(),
            paid: Vec::new(),
            free: None,
            failing: None,
            queued: None,
            timeout,
            hang_window: DEFAULT_HANG_WINDOW.max(timeout),
            limits: BodyLimits::DEFAULT,
            http,
            fresh,
        }
    }

    /// The x402-family dialect of the target.
    ///
    /// # Panics
    /// On an L402 target: x402 checks, properties and snapshots run only in x402 suites.
    pub fn dialect(&self) -> Dialect {
        self.suite
            .dialect()
            .expect("an x402 code path ran on an L402 target")
    }

    /// Sends a request, recording it; `payment` goes in the suite's payment header.
    pub async fn send(
        &self,
        route: &RouteSpec,
        payment: Option<&str>,
        extra_headers: &[(&str, &str)],
    ) -> Exchange {
        self.send_as(route, &route.method, payment, extra_headers)
            .await
    }

    /// Like [`Target::send`], bounded by the hang window instead of the timeout: for a
    /// request made while the server's backend hangs on purpose.
    pub async fn send_hanging(&self, route: &RouteSpec, payment: Option<&str>) -> Exchange {
        let bound = self.hang_window.max(self.timeout);
        self.send_bounded(route, &route.method, payment, &[], bound)
            .await
    }

    /// Sends `route`'s request to `path` exactly as written (dot segments and escapes
    /// untouched), unpaid, on a new connection, recording it.
    pub async fn send_raw(&self, route: &RouteSpec, path: &str) -> Exchange {
        let ex = raw::perform_raw(raw::RawRequest {
            base_url: &self.base_url,
            method: &route.method,
            path,
            headers: vec![("accept".into(), "application/json".into())],
            body: route.body.as_deref(),
            timeout: self.timeout,
            limits: self.limits,
        })
        .await;
        tally::record(&ex);
        ex
    }

    /// Like [`Target::send`] with another method (HEAD, OPTIONS) on the same path.
    pub async fn send_as(
        &self,
        route: &RouteSpec,
        method: &Method,
        payment: Option<&str>,
        extra_headers: &[(&str, &str)],
    ) -> Exchange {
        self.send_bounded(route, method, payment, extra_headers, self.timeout)
            .await
    }

    async fn send_bounded(
        &self,
        route: &RouteSpec,
        method: &Method,
        payment: Option<&str>,
        extra_headers: &[(&str, &str)],
        timeout: Duration,
    ) -> Exchange {
        let mut headers: Vec<(String, String)> = vec![("Accept".into(), "application/json".into())];
        if let Some(p) = payment {
            headers.push((self.suite.payment_header().into(), p.into()));
        }
        for (k, v) in extra_headers {
            headers.push(((*k).into(), (*v).into()));
        }
        let body = if *method == Method::HEAD {
            None
        } else {
            route.body.clone()
        };
        if body.is_some() {
            headers.push(("Content-Type".into(), "application/json".into()));
        }
        let url = format!("{}{}", self.base_url, route.path);
        let request = |http| exchange::Request {
            http,
            method,
            url: &url,
            headers: headers.clone(),
            body: body.clone(),
            timeout,
            limits: self.limits,
        };
        let ex = exchange::perform(request(&self.http)).await;
        // A server may close a kept-alive connection just as the next request goes out on
        // it (after a 500, for example). An idempotent request may then be sent again on a
        // new connection (RFC 9112 §9.3.1): only when no status line came back and time
        // is left; a server that really drops connections fails both times.
        let idempotent = matches!(
            *method,
            Method::GET | Method::HEAD | Method::OPTIONS | Method::PUT | Method::DELETE
        );
        let stale = !ex.answered() && ex.head_status.is_none() && ex.elapsed < timeout / 2;
        let ex = if idempotent && stale {
            let mut again = exchange::perform(request(&self.fresh)).await;
            again.retried = true;
            again
        } else {
            ex
        };
        // What the check got is the last attempt: a stale connection that a retry
        // recovered from is no broken answer.
        tally::record(&ex);
        ex
    }

    /// Asks the first paid route once, unpaid, before a suite runs. `Err` with the reason
    /// when the server gave no status line or stalled past the timeout, so that a suite
    /// against a server that does not answer ends after one timeout instead of one per
    /// request (an answer that arrived but broke off is left to the checks, which grade
    /// it). A `t402` target whose 402 carries `t402Version: 1` in its body becomes t402 v1.
    pub async fn preflight(&mut self) -> Result<(), String> {
        let Some(route) = self.paid.first() else {
            return Ok(());
        };
        let ex = self.send(route, None, &[]).await;
        if let Suite::X402(dialect) = self.suite {
            let has_header = ex.header("payment-required").is_some();
            self.suite = Suite::X402(dialect.detect_t402(has_header, &ex.body));
        }
        if ex.answered() || (ex.head_status.is_some() && !ex.timed_out) {
            return Ok(());
        }
        Err(format!(
            "the target did not answer {route}: {}",
            ex.describe()
        ))
    }

    /// Reads the challenge in an exchange; `Strict` names every deviation as an error.
    pub fn read_challenge(&self, ex: &Exchange, mode: Mode) -> Result<Challenge, ChallengeError> {
        if let Some(e) = &ex.error {
            return Err(ChallengeError::NoAnswer(e.clone()));
        }
        if self.suite.l402_profile().is_some() {
            let read = read_challenges(&ex.headers_all("www-authenticate"))
                .map_err(|e| ChallengeError::L402(e.to_string()))?;
            if mode == Mode::Strict && !read.deviations.is_empty() {
                let all: Vec<String> = read.deviations.iter().map(ToString::to_string).collect();
                return Err(ChallengeError::L402(all.join("; ")));
            }
            return Ok(Challenge::L402(read));
        }
        let dialect = self.dialect();
        match dialect.required_header() {
            Some(name) => {
                let value = ex.header(name).ok_or(ChallengeError::Missing(name))?;
                decode_header::<PaymentRequired>(dialect, mode, value)
                    .map(|d| Challenge::V2(d.value))
                    .map_err(ChallengeError::Decode)
            }
            None if ex.body_cut() => Err(ChallengeError::TooLarge {
                bytes: ex.body_bytes,
                kept: self.limits.keep,
            }),
            None => decode_json::<PaymentRequiredV1>(dialect, mode, ex.body.as_bytes())
                .map(|d| Challenge::V1(d.value))
                .map_err(ChallengeError::Decode),
        }
    }

    /// Fetches the challenge of a paid route, leniently (for checks that need an offer to
    /// pay, not to grade the challenge).
    pub async fn challenge(
        &self,
        route: &RouteSpec,
    ) -> Result<(Challenge, Exchange), (ChallengeError, Exchange)> {
        let ex = self.send(route, None, &[]).await;
        match self.read_challenge(&ex, Mode::Lenient) {
            Ok(c) => Ok((c, ex)),
            Err(e) => Err((e, ex)),
        }
    }

    /// A payment for the challenge's first offer, wrong as asked.
    pub fn pay(
        &self,
        payer: &Payer,
        challenge: &Challenge,
        wrong: Option<&WrongPayment>,
    ) -> Result<PaymentHeader, PayError> {
        let (value, payload) = match challenge {
            Challenge::V2(r) => {
                let offer = r
                    .accepts
                    .first()
                    .ok_or_else(|| PayError::Unpayable("accepts is empty".into()))?;
                let mut p = payer.pay_v2(offer, Some(r.resource.clone()), wrong)?;
                let id = payment_id::attach(&mut p, r.extensions.as_ref());
                let header = PaymentHeader {
                    value: encode_header(self.dialect(), &p),
                    nonce: nonce_of(&p.payload),
                    payment_id: id,
                    signed: Some((self.dialect(), p)),
                };
                return Ok(header);
            }
            Challenge::V1(r) => {
                let offer = r
                    .accepts
                    .first()
                    .ok_or_else(|| PayError::Unpayable("accepts is empty".into()))?;
                let p = payer.pay_v1(offer, wrong)?;
                (encode_header(self.dialect(), &p), p.payload)
            }
            Challenge::L402(_) => {
                return Err(PayError::Unpayable(
                    "an L402 invoice is paid through the mock Lightning backend (Ctx::pay)".into(),
                ));
            }
        };
        Ok(PaymentHeader::opaque(value, nonce_of(&payload)))
    }
}

/// The authorization nonce of an exact EVM payload, lower case.
fn nonce_of(payload: &Value) -> String {
    payload["authorization"]["nonce"]
        .as_str()
        .unwrap_or_default()
        .to_lowercase()
}

/// Why a challenge could not be read.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ChallengeError {
    /// No whole answer arrived.
    #[error("no whole answer: {0}")]
    NoAnswer(String),
    /// The body that carries it is longer than paycheck keeps.
    #[error("a {bytes}-byte body, over the {kept} bytes paycheck keeps (raise --max-body)")]
    TooLarge {
        /// The body's length.
        bytes: u64,
        /// What paycheck keeps.
        kept: usize,
    },
    /// The header that carries it is absent.
    #[error("no {0} header")]
    Missing(&'static str),
    /// It does not decode.
    #[error("{0}")]
    Decode(DecodeError),
    /// No readable L402 challenge.
    #[error("{0}")]
    L402(String),
}
