//! The L402 gate of a paid route: challenge with an invoice and a macaroon bound to it,
//! verify credentials (token signature, preimage, caveats), and, for the single-use
//! profile, refuse a credential used before. The [`L402Fault`] hooks break one step each
//! for the mutation matrix; with no fault the gate is the correct one.

use super::L402Config;
use super::faults::L402Fault;
use super::limiter::Bucket;
use super::lnbits::{LnError, LnbitsClient};
use crate::protocol::L402Profile;
use crate::protocol::l402::{
    CredentialError, Identifier, L402Challenge, Macaroon, parse_credential, sha256,
};
use crate::serve::json_response;
use alloy::primitives::{B256, hex};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use hmac::{Hmac, KeyInit, Mac};
use serde_json::{Value, json};
use std::collections::HashSet;
use std::sync::Mutex;
use std::time::Duration;

/// The location written into the reference server's macaroons.
const LOCATION: &str = "paycheck-reference";

/// A paid route's service: its name in caveats, and its price.
#[derive(Debug, Clone)]
pub struct Service {
    /// The name in `services=` and `<name>_valid_until` caveats.
    pub name: &'static str,
    /// Price in satoshis.
    pub price_sat: u64,
}

/// The shared state of one reference L402 server.
pub struct Gate {
    config: L402Config,
    lnbits: LnbitsClient,
    /// Root keys are derived from this per token: `HMAC(secret, token_id)`.
    secret: [u8; 32],
    /// Single-use profile: payment hashes (or, under `raw-replay-key`, header texts) used.
    used: Mutex<HashSet<Vec<u8>>>,
    bucket: Option<Bucket>,
    /// Under `static-invoice`: the one challenge handed to everyone.
    static_challenge: tokio::sync::OnceCell<(String, String)>,
}

fn no_store(mut response: Response) -> Response {
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// A 500 with a stack trace, as a careless server answers.
fn stack_trace(detail: &str) -> Response {
    let trace = format!(
        "thread 'tokio-runtime-worker' panicked at src/l402.rs:88:14: {detail}\nstack backtrace:\n   0: l402::gate::verify"
    );
    (StatusCode::INTERNAL_SERVER_ERROR, trace).into_response()
}

impl Gate {
    /// A gate for `config`.
    pub fn new(config: L402Config) -> Self {
        let bucket = config
            .invoice_rate
            .filter(|_| config.fault != Some(L402Fault::NoRateLimit))
            .map(Bucket::new);
        Self {
            lnbits: LnbitsClient::new(
                &config.lightning_url,
                &config.lightning_api_key,
                config.lightning_timeout,
            ),
            secret: B256::random().0,
            used: Mutex::new(HashSet::new()),
            bucket,
            static_challenge: tokio::sync::OnceCell::new(),
            config,
        }
    }

    fn has(&self, fault: L402Fault) -> bool {
        self.config.fault == Some(fault)
    }

    fn root_key(&self, token_id: &[u8; 32]) -> [u8; 32] {
        let mut mac =
            Hmac::<sha2::Sha256>::new_from_slice(&self.secret).expect("any key length works");
        mac.update(token_id);
        mac.finalize().into_bytes().into()
    }

    /// Handles a request to a paid route; `handler` runs only for a valid credential.
    pub async fn handle(
        &self,
        service: &Service,
        headers: &HeaderMap,
        handler: impl FnOnce() -> (StatusCode, Value),
    ) -> Response {
        let Some(value) = self.credential_header(headers) else {
            if self.has(L402Fault::No402) {
                return serve(handler);
            }
            return self.challenge(service, "payment_required").await;
        };
        let parsed = match parse_credential(&value) {
            Ok(c) => Ok(c),
            Err(CredentialError::Malformed(_)) if self.has(L402Fault::LenientCredentials) => {
                lenient_parse(&value)
            }
            Err(e) => Err(e.to_string()),
        };
        let credential = match parsed {
            Ok(c) => c,
            Err(reason) if self.has(L402Fault::Malformed500) => return stack_trace(&reason),
            Err(reason) => return self.invalid(service, &reason).await,
        };
        let payment_hash = match self.verify(service, &credential.tokens, &credential.preimage) {
            Ok(h) => h,
            Err(reason) => return self.invalid(service, &reason).await,
        };
        if let Err(reason) = self.use_once(&payment_hash, &value).await {
            return self.invalid(service, &reason).await;
        }
        serve(handler)
    }

    /// The first `Authorization` value with the L402 or LSAT scheme.
    fn credential_header(&self, headers: &HeaderMap) -> Option<String> {
        // Read lossily: a tab is legal in a header value, and must reach the grammar check.
        headers
            .get_all(header::AUTHORIZATION)
            .iter()
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
            .find(|v| {
                let scheme = v.split(' ').next().unwrap_or("");
                scheme.eq_ignore_ascii_case("L402")
                    || (scheme.eq_ignore_ascii_case("LSAT") && !self.has(L402Fault::RejectLsat))
            })
    }

    /// Checks a credential's token and preimage; returns the payment hash it pays.
    fn verify(
        &self,
        service: &Service,
        tokens: &[String],
        preimage: &[u8; 32],
    ) -> Result<[u8; 32], String> {
        let [token] = tokens else {
            return Err("send one token per credential".into());
        };
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(token)
            .map_err(|_| "the token is not padded standard base64".to_string())?;
        let macaroon = Macaroon::from_bytes(&bytes).map_err(|e| e.to_string())?;
        let id = Identifier::decode(&macaroon.identifier)?;
        if !self.has(L402Fault::NoSignatureCheck)
            && !macaroon.verify_signature(&self.root_key(&id.token_id))
        {
            return Err(
                "the token's signature does not verify: it was not issued here, or it was altered"
                    .into(),
            );
        }
        if !self.has(L402Fault::NoPreimageCheck) {
            let hash = if self.has(L402Fault::HashOfHex) {
                sha256(hex::encode(preimage).as_bytes())
            } else {
                sha256(preimage)
            };
            if hash != id.payment_hash {
                return Err("the preimage does not match the token's payment hash".into());
            }
        }
        if !self.has(L402Fault::IgnoreCaveats) {
            check_caveats(&macaroon, service)?;
        }
        Ok(id.payment_hash)
    }

    /// The single-use profile's record of used credentials.
    async fn use_once(&self, payment_hash: &[u8; 32], header: &str) -> Result<(), String> {
        let single_use = self.config.profile == L402Profile::SingleUse
            || self.has(L402Fault::ConsumeCredentials);
        if !single_use || self.has(L402Fault::NoReplayStore) {
            return Ok(());
        }
        let key = if self.has(L402Fault::RawReplayKey) {
            header.as_bytes().to_vec()
        } else {
            payment_hash.to_vec()
        };
        let used = "this credential was used already; pay a new invoice";
        if self.has(L402Fault::RacyReplayStore) {
            if self.lock_used().contains(&key) {
                return Err(used.into());
            }
            // Asking the backend between the check and the write leaves a window open.
            let _ = self.lnbits.is_paid(&hex::encode(payment_hash)).await;
            self.lock_used().insert(key);
            return Ok(());
        }
        if self.lock_used().insert(key) {
            Ok(())
        } else {
            Err(used.into())
        }
    }

    fn lock_used(&self) -> std::sync::MutexGuard<'_, HashSet<Vec<u8>>> {
        self.used.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The answer to an invalid credential: 401 (under `challenge-on-invalid`, a new 402).
    async fn invalid(&self, service: &Service, reason: &str) -> Response {
        if self.has(L402Fault::ChallengeOnInvalid) {
            return self.challenge(service, reason).await;
        }
        json_response(
            StatusCode::UNAUTHORIZED,
            &json!({"error": "invalid_credential", "message": reason}),
        )
    }

    /// A 402 with a fresh invoice and a macaroon bound to it, or why there is none.
    async fn challenge(&self, service: &Service, error: &str) -> Response {
        if let Some(bucket) = &self.bucket
            && !bucket.take()
        {
            let mut r = json_response(
                StatusCode::TOO_MANY_REQUESTS,
                &json!({"error": "rate_limited", "message": "too many invoices requested; retry in a second"}),
            );
            r.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            return r;
        }
        let minted = if self.has(L402Fault::StaticInvoice) {
            self.static_challenge
                .get_or_try_init(|| self.mint(service))
                .await
                .cloned()
        } else {
            self.mint(service).await
        };
        let (token, mut invoice) = match minted {
            Ok(m) => m,
            Err(e) if self.has(L402Fault::Backend500) => return stack_trace(&e.to_string()),
            Err(e) => {
                tracing::warn!(error = %e, "the Lightning backend failed");
                let mut r = json_response(
                    StatusCode::SERVICE_UNAVAILABLE,
                    &json!({"error": "lightning_backend_unavailable", "message": "no invoice can be created now; retry later"}),
                );
                r.headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
                return r;
            }
        };
        if self.has(L402Fault::CorruptInvoice) {
            invoice = corrupt(&invoice);
        }
        let body = json!({"error": error, "price_sats": service.price_sat});
        let mut response = no_store(json_response(StatusCode::PAYMENT_REQUIRED, &body));
        if self.has(L402Fault::NoChallenge) {
            return response;
        }
        let values = if self.has(L402Fault::BadGrammar) {
            vec![format!("L402 macaroon=\"{token}\" invoice=\"{invoice}\"")]
        } else {
            // L402 protocol-specification.md §11: LSAT first, then L402.
            ["LSAT", "L402"]
                .iter()
                .map(|scheme| {
                    L402Challenge {
                        scheme: (*scheme).into(),
                        version: None,
                        token: token.clone(),
                        token_param: "macaroon",
                        invoice: invoice.clone(),
                    }
                    .to_string()
                })
                .collect()
        };
        for v in values {
            response.headers_mut().append(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_str(&v).expect("base64 and bech32 are valid header text"),
            );
        }
        response
    }

    /// Creates an invoice at the backend and mints a macaroon for it.
    async fn mint(&self, service: &Service) -> Result<(String, String), LnError> {
        let amount = if self.has(L402Fault::WrongAmount) {
            1
        } else {
            service.price_sat
        };
        let expiry = if self.has(L402Fault::ExpiredInvoice) {
            Duration::ZERO
        } else {
            self.config.invoice_expiry
        };
        let memo = format!("paycheck reference: {}", service.name);
        let created = self.lnbits.create_invoice(amount, &memo, expiry).await?;
        let payment_hash: [u8; 32] = hex::decode(&created.payment_hash)
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| LnError::BadAnswer("payment_hash is not 32 bytes of hex".into()))?;
        let bound = if self.has(L402Fault::UnboundToken) {
            B256::random().0
        } else {
            payment_hash
        };
        let token_id = B256::random().0;
        let mut macaroon = Macaroon::mint(
            &self.root_key(&token_id),
            Identifier::new(bound, token_id).encode(),
            LOCATION,
        );
        macaroon.add_first_party_caveat(&format!("services={}:0", service.name));
        let until = crate::payer::unix_now() + self.config.token_ttl.as_secs();
        macaroon.add_first_party_caveat(&format!("{}_valid_until={until}", service.name));
        Ok((macaroon.to_base64(), created.bolt11))
    }
}

fn serve(handler: impl FnOnce() -> (StatusCode, Value)) -> Response {
    let (status, body) = handler();
    no_store(json_response(status, &body))
}

/// Every `services` caveat names this service; every `<service>_valid_until` is ahead.
/// Other conditions are skipped, as the specification says.
fn check_caveats(macaroon: &Macaroon, service: &Service) -> Result<(), String> {
    let expiry_key = format!("{}_valid_until", service.name);
    let now = crate::payer::unix_now();
    for (key, value) in macaroon.conditions() {
        if key == "services" {
            let names: Vec<&str> = value
                .split(',')
                .map(|s| s.split(':').next().unwrap_or("").trim())
                .collect();
            if !names.contains(&service.name) {
                return Err(format!(
                    "the token is not for this service ({}): services={value}",
                    service.name
                ));
            }
        } else if key == expiry_key {
            let until: u64 = value
                .parse()
                .map_err(|_| format!("{key}={value} is not a Unix time"))?;
            if now >= until {
                return Err(format!("the token expired ({key}={value})"));
            }
        }
    }
    Ok(())
}

/// Under `lenient-credentials`: control characters dropped, the preimage after the last
/// colon, the token before the first.
fn lenient_parse(value: &str) -> Result<crate::protocol::l402::Credential, String> {
    let cleaned: String = value.chars().filter(|c| !c.is_control()).collect();
    let (head, preimage) = cleaned.rsplit_once(':').ok_or("no ':'")?;
    let token = head.split(':').next().unwrap_or(head);
    parse_credential(&format!("{token}:{preimage}")).map_err(|e| e.to_string())
}

/// One character of the invoice's data changed: the bech32 checksum no longer holds.
fn corrupt(invoice: &str) -> String {
    let mut chars: Vec<char> = invoice.chars().collect();
    let i = chars.len() / 2;
    chars[i] = if chars[i] == 'q' { 'p' } else { 'q' };
    chars.into_iter().collect()
}
