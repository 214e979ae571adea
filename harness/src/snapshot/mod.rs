//! Regression snapshots of a server's 402 answers: for every paid route, the unpaid 402,
//! each kind of refused payment (x402: malformed header, bad signature, underpayment,
//! replay; L402: malformed credential, wrong preimage, replay) and the paid answer,
//! normalised and stored as insta snapshot files; for L402 with the challenge's invoice
//! and token decoded. `record` stores them; `check` compares and shows a diff per changed
//! snapshot. Results go into the same reports and exit codes as `run`.

mod l402;
pub mod normalize;
pub mod store;

use crate::catalogue::runner::CheckResult;
use crate::catalogue::{Ctx, Level, Status};
use crate::payer::WrongPayment;
use crate::protocol::Suite;
use crate::protocol::codec::decode_base64;
use crate::target::{Exchange, PaymentHeader, RouteSpec};
use serde_json::{Value, json};
use std::path::PathBuf;
use std::time::Instant;

/// What `paycheck snapshot` does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Store snapshots; a changed one is stored only with `accept`.
    Record {
        /// Replace changed snapshots and remove ones no longer produced.
        accept: bool,
    },
    /// Compare with the stored snapshots.
    Check,
}

/// Where and how snapshots are kept.
#[derive(Debug, Clone)]
pub struct SnapshotConfig {
    /// Record or check.
    pub action: Action,
    /// The snapshot directory.
    pub dir: PathBuf,
    /// A server's own volatile fields, redacted in every snapshot document.
    pub redact: Vec<normalize::Redaction>,
    /// Each paid route must have a served paid answer to snapshot (`--profile full`): a
    /// payment paycheck cannot make, or one the server does not serve, is a failure, not
    /// a missing file.
    pub require_paid: bool,
}

/// A route's name in snapshot file names: `get-premium`.
pub(crate) fn slug(route: &RouteSpec) -> String {
    let path: String = route
        .path
        .trim_matches('/')
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    format!(
        "{}-{}",
        route.method.as_str().to_lowercase(),
        if path.is_empty() { "root" } else { &path }
    )
}

/// One snapshot as captured: its normalised document, or why the answer cannot be one
/// (a broken or missing answer is never a baseline).
pub(crate) type Captured = (String, Result<String, String>);

/// One answer as a normalised document; an answer that did not arrive whole is an error.
pub(crate) fn document(
    ctx: &Ctx,
    ex: &Exchange,
    config: &SnapshotConfig,
) -> Result<String, String> {
    if !ex.answered() {
        return Err(format!("{} to {} {}", ex.describe(), ex.method, ex.url));
    }
    let mut headers = serde_json::Map::new();
    for name in normalize::KEPT_HEADERS {
        let values = ex.headers_all(name);
        if !values.is_empty() {
            let values: Vec<String> = values
                .into_iter()
                .map(normalize::redact_challenge_params)
                .collect();
            headers.insert((*name).to_string(), json!(values.join(", ")));
        }
    }
    let decoded = |name: &str| {
        ex.header(name)
            .and_then(|h| decode_base64(h).ok())
            .and_then(|(bytes, _)| serde_json::from_slice::<Value>(&bytes).ok())
    };
    let mut doc = json!({
        "status": ex.status,
        "headers": headers,
        "body": serde_json::from_str::<Value>(&ex.body).unwrap_or_else(|_| json!(ex.body)),
    });
    match ctx.target.suite {
        Suite::X402(dialect) => {
            if let Some(name) = dialect.required_header()
                && let Some(v) = decoded(name)
            {
                doc["payment-required"] = v;
            }
            if let Some(v) = decoded(dialect.response_header()) {
                doc["payment-response"] = v;
            }
        }
        Suite::L402(_) => {
            if let Some(v) = l402::decoded_challenges(ex) {
                doc["l402-challenges"] = v;
            }
        }
    }
    let mut doc = normalize::sort_keys(doc);
    normalize::redact(&mut doc, &ctx.target.base_url);
    normalize::redact_selected(&mut doc, &config.redact);
    Ok(serde_json::to_string_pretty(&doc).expect("JSON serialises"))
}

/// The paid and replay cases of a route: `payment` (the header value, or why paycheck
/// could not make one) sent twice. The paid case must be served to be a baseline; with
/// `require_paid`, no payment is a failure of the paid case, not a missing file.
pub(crate) async fn capture_paid(
    ctx: &Ctx,
    route: &RouteSpec,
    base: &str,
    payment: Result<PaymentHeader, String>,
    config: &SnapshotConfig,
    out: &mut Vec<Captured>,
) {
    let name = |case: &str| format!("{base}__{case}");
    let payment = match payment {
        Ok(p) => p,
        Err(why) => {
            if config.require_paid {
                out.push((
                    name("paid"),
                    Err(format!(
                        "no paid answer: {why} (or pass --profile signal-only to snapshot the unpaid answers alone)"
                    )),
                ));
            }
            return;
        }
    };
    let paid = ctx.target.send(route, Some(&payment.value), &[]).await;
    let doc = if paid.answered() && !paid.is_success() && config.require_paid {
        Err(format!(
            "{} to a valid payment: an answer that was not served is no baseline for the paid case",
            paid.describe()
        ))
    } else {
        document(ctx, &paid, config)
    };
    out.push((name("paid"), doc));
    // Under a fresh payment-identifier id: the same id would rightly get the paid answer.
    let replay = ctx
        .target
        .send(route, Some(&payment.replayed().value), &[])
        .await;
    out.push((name("replay"), document(ctx, &replay, config)));
}

/// Captures every snapshot of one suite.
pub async fn capture(ctx: &Ctx, config: &SnapshotConfig) -> Vec<Captured> {
    if ctx.target.suite.l402_profile().is_some() {
        return l402::capture(ctx, config).await;
    }
    let suite = ctx.target.suite.id();
    let mut out = Vec::new();
    for route in &ctx.target.paid {
        let base = format!("{suite}__{}", slug(route));
        let mut add = |case: &str, ex: &Exchange| {
            out.push((format!("{base}__{case}"), document(ctx, ex, config)))
        };
        let unpaid = ctx.target.send(route, None, &[]).await;
        add("unpaid", &unpaid);
        let malformed = ctx
            .target
            .send(route, Some("%%% not base64 %%%"), &[])
            .await;
        add("malformed-header", &malformed);
        let challenge = match ctx
            .target
            .read_challenge(&unpaid, crate::protocol::Mode::Lenient)
        {
            Ok(c) => c,
            Err(e) => {
                let why = format!("the unpaid answer has no readable challenge ({e})");
                capture_paid(ctx, route, &base, Err(why), config, &mut out).await;
                continue;
            }
        };
        for wrong in [WrongPayment::BadSignature, WrongPayment::Underpaid] {
            if let Ok(p) = ctx.target.pay(&ctx.payer, &challenge, Some(&wrong)) {
                let ex = ctx.target.send(route, Some(&p.value), &[]).await;
                add(wrong.name(), &ex);
            }
        }
        let payment = ctx
            .target
            .pay(&ctx.payer, &challenge, None)
            .map_err(|e| format!("paycheck cannot pay this offer: {e}"));
        capture_paid(ctx, route, &base, payment, config, &mut out).await;
    }
    out
}

fn result(
    suite: &str,
    name: &str,
    status: Status,
    message: String,
    started: Instant,
) -> CheckResult {
    let short = name
        .strip_prefix(&format!("{suite}__"))
        .unwrap_or(name)
        .replace("__", "/");
    CheckResult {
        id: format!("{suite}/snapshot/{short}"),
        section: "snapshot".into(),
        title: format!("the {short} answer matches its snapshot"),
        level: Level::Must,
        requirement: "The answer is the one recorded: a price, an offer, a header or an error shape never changes by accident.".into(),
        source: "reports/snapshots (recorded with paycheck snapshot record)".into(),
        status,
        message,
        expected: None,
        actual: None,
        exchanges: Vec::new(),
        elapsed_ms: started.elapsed().as_secs_f64() * 1000.0,
    }
}

fn write(path: &std::path::Path, text: &str) -> Result<(), String> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    std::fs::write(path, text).map_err(|e| format!("{}: {e}", path.display()))
}

/// Captures one suite and records or checks its snapshots.
pub async fn run(ctx: &Ctx, config: &SnapshotConfig) -> Vec<CheckResult> {
    let started = Instant::now();
    let suite = ctx.target.suite.id();
    let captured = capture(ctx, config).await;
    let mut results = Vec::new();
    for (name, content) in &captured {
        let content = match content {
            Ok(c) => c,
            Err(why) => {
                let message = format!("no snapshot: the server's answer was {why}");
                results.push(result(suite, name, Status::Fail, message, started));
                continue;
            }
        };
        let path = store::path(&config.dir, name);
        let pending = path.with_extension("snap.new");
        let rendered = store::render(name, content);
        let outcome = match (store::read(&path), config.action) {
            (Some(old), _) if old == *content => {
                let _ = std::fs::remove_file(&pending);
                Ok((Status::Pass, "unchanged".to_string()))
            }
            (None, Action::Record { .. }) => {
                write(&path, &rendered).map(|_| (Status::Pass, "recorded (new)".into()))
            }
            (Some(_), Action::Record { accept: true }) => {
                let _ = std::fs::remove_file(&pending);
                write(&path, &rendered).map(|_| (Status::Pass, "updated".into()))
            }
            (None, Action::Check) => write(&pending, &rendered).map(|_| {
                (
                    Status::Fail,
                    format!(
                        "new snapshot, not recorded; run `paycheck snapshot record` (pending: {})",
                        pending.display()
                    ),
                )
            }),
            (Some(old), action) => write(&pending, &rendered).map(|_| {
                let hint = match action {
                    Action::Check => "changed",
                    Action::Record { .. } => "changed; pass --accept to record it",
                };
                (
                    Status::Fail,
                    format!(
                        "{hint} (pending: {})\n{}",
                        pending.display(),
                        store::diff(&old, content)
                    ),
                )
            }),
        };
        let (status, message) =
            outcome.unwrap_or_else(|e| (Status::Error, format!("cannot write the snapshot: {e}")));
        results.push(result(suite, name, status, message, started));
    }
    let produced: Vec<&str> = captured.iter().map(|(n, _)| n.as_str()).collect();
    for name in store::stored(&config.dir)
        .into_iter()
        .filter(|n| n.starts_with(&format!("{suite}__")))
    {
        if produced.contains(&name.as_str()) {
            continue;
        }
        let r = if config.action == (Action::Record { accept: true }) {
            let _ = std::fs::remove_file(store::path(&config.dir, &name));
            result(
                suite,
                &name,
                Status::Pass,
                "removed: no longer produced".into(),
                started,
            )
        } else {
            result(
                suite,
                &name,
                Status::Fail,
                "recorded, but not produced now (a route or an answer is gone)".into(),
                started,
            )
        };
        results.push(r);
    }
    results
}
