//! hygiene and limits: what l402-kit's go-live checklist asks that a client can see:
//! malformed credentials get clean answers, a dead Lightning backend gets a clean 503 (the
//! free route and CORS are scenario files), and invoice creation is rate-limited (in the
//! `limits` section, which runs last: it uses up the server's allowance).

use super::{paid, send_credential};
use crate::catalogue::spec::{Spec, add, body};
use crate::catalogue::{Check, Ctx, Level, Need, Outcome, leak_in};
use crate::protocol::Suite;
use std::time::{Duration, Instant};

/// The rate-limit check stops after this many unpaid requests ...
const RATE_PROBE_REQUESTS: usize = 500;
/// ... or after this long.
const RATE_PROBE_TIME: Duration = Duration::from_secs(10);

/// Malformed `Authorization` values.
fn malformed() -> Vec<(&'static str, String)> {
    vec![
        ("no colon", "L402 AgEEbHNhdA".into()),
        ("a short preimage", "L402 AgEEbHNhdA==:abcd".into()),
        (
            "a non-hex preimage",
            format!("L402 AgEEbHNhdA==:{}", "zz".repeat(32)),
        ),
        (
            "a token that is not base64",
            format!("L402 %%%:{}", "00".repeat(32)),
        ),
        (
            "base64 that is not a macaroon",
            format!("L402 aGVsbG8=:{}", "00".repeat(32)),
        ),
        ("an empty token", format!("L402 :{}", "00".repeat(32))),
        (
            "an 8 KiB token",
            format!("L402 {}:{}", "A".repeat(8192), "00".repeat(32)),
        ),
    ]
}

pub(super) fn register(suite: Suite, out: &mut Vec<Check>) {
    let s = |name: &str, title: &str, level, requirement, source, needs| {
        Spec::new("hygiene", name, title, level, requirement, source, needs)
    };
    add(
        out,
        suite,
        s(
            "no-internals",
            "malformed credentials get clean answers",
            Level::BestPractice,
            "Malformed credentials are refused with a 4xx, never a 5xx, a dropped connection or a stack trace.",
            "operations practice; l402-kit docs/reference/errors.mdx",
            &[],
        ),
        body(|ctx| Box::pin(no_internals(ctx))),
    );
    add(
        out,
        suite,
        s(
            "backend-down",
            "a dead Lightning backend gets a clean 503",
            Level::BestPractice,
            "When no invoice can be created (the Lightning backend fails or hangs), an unpaid request gets a prompt 503 without internals, never a challenge without an invoice or a 500 with a stack trace.",
            "l402-kit docs/reference/errors.mdx (NODE_UNREACHABLE, 503)",
            &[Need::Lightning],
        ),
        body(|ctx| Box::pin(backend_down(ctx))),
    );
    add(
        out,
        suite,
        Spec {
            section: "limits",
            ..s(
                "invoice-rate",
                "invoice creation is rate-limited",
                Level::Should,
                "Unpaid requests cannot make the server create invoices without limit: a burst of them is eventually answered 429.",
                "l402-kit docs/guides/security.mdx checklist (rate limiter on invoice creation)",
                &[],
            )
        },
        body(|ctx| Box::pin(invoice_rate_limit(ctx))),
    );
}

async fn no_internals(ctx: &Ctx) -> Outcome {
    let route = paid(ctx);
    for (what, value) in malformed() {
        let ex = send_credential(ctx, route, &value).await;
        let bad = if ex.error.is_some() || ex.status >= 500 {
            Some(ex.describe())
        } else if let Some(m) = leak_in(&ex.body) {
            Some(format!("a body showing internals ('{m}')"))
        } else if ex.is_success() {
            Some(format!("served ({})", ex.describe()))
        } else {
            None
        };
        if let Some(actual) = bad {
            return Outcome::fail(format!("a clean 4xx for {what}"), actual).with(&ex);
        }
    }
    Outcome::pass(format!(
        "{} malformed credentials refused cleanly",
        malformed().len()
    ))
}

async fn backend_down(ctx: &Ctx) -> Outcome {
    let route = paid(ctx);
    let lightning = ctx.lightning.as_deref().expect("the runner checks needs");
    let mut answers = Vec::new();
    for rule in ["create=status:503x1", "create=hangx1"] {
        lightning
            .faults()
            .set(vec![rule.parse().expect("a valid rule")]);
        answers.push((rule, ctx.target.send(route, None, &[]).await));
        lightning.faults().clear();
    }
    let mut lenient = None;
    for (rule, ex) in &answers {
        let leak = leak_in(&ex.body);
        if ex.error.is_some() || ex.is_success() || ex.status < 500 || leak.is_some() {
            let actual = match leak {
                Some(m) => format!("{} showing internals ('{m}')", ex.describe()),
                None => ex.describe(),
            };
            return Outcome::fail(format!("a clean 503 with the backend at {rule}"), actual)
                .with(ex);
        }
        if ex.status != 503 && lenient.is_none() {
            lenient = Some((rule, ex));
        }
    }
    match lenient {
        Some((rule, ex)) => Outcome::lenient(
            format!("503 with the backend at {rule}"),
            format!("{} (a clean refusal, not the usual status)", ex.describe()),
        )
        .with(ex),
        None => Outcome::pass("503 while the backend fails and while it hangs"),
    }
}

async fn invoice_rate_limit(ctx: &Ctx) -> Outcome {
    let route = paid(ctx);
    let started = Instant::now();
    let mut challenges = 0;
    for n in 1..=RATE_PROBE_REQUESTS {
        let ex = ctx.target.send(route, None, &[]).await;
        match ex.status {
            429 => {
                let ms = started.elapsed().as_millis();
                return Outcome::pass(format!(
                    "429 after {challenges} challenge(s) in {ms} ms (request {n}); Retry-After: {}",
                    ex.header("retry-after").unwrap_or("none")
                ));
            }
            402 => challenges += 1,
            _ => {
                return Outcome::not_exercised(format!(
                    "request {n} got {} instead of a challenge",
                    ex.describe()
                ))
                .with(&ex);
            }
        }
        if started.elapsed() > RATE_PROBE_TIME {
            break;
        }
    }
    Outcome::fail(
        "a 429 once unpaid requests come too fast",
        format!(
            "{challenges} invoices created in {} ms without a 429",
            started.elapsed().as_millis()
        ),
    )
}
