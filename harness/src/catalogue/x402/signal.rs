//! http/402-signal: an unpaid request gets a 402 that carries well-formed requirements.

use super::{Spec, add, body, offer, paid, transport};
use crate::catalogue::{Check, Ctx, Level, Outcome};
use crate::protocol::codec::is_encoding;
use crate::protocol::{Dialect, Mode};
use crate::target::ChallengeError;

pub(super) fn register(d: Dialect, out: &mut Vec<Check>) {
    let s = |name: &str, title: &str, level, requirement, source| {
        Spec::new(
            "http/402-signal",
            name,
            title,
            level,
            requirement,
            source,
            &[],
        )
    };
    add(
        out,
        d,
        s(
            "status",
            "an unpaid request gets HTTP 402",
            Level::Must,
            "If no valid payment is attached, the server responds with status 402 Payment Required.",
            transport(d),
        ),
        body(status),
    );
    let carrier = if d.is_v1() {
        "The 402 response body is a JSON PaymentRequirementsResponse."
    } else {
        "The 402 response carries the PaymentRequired object, base64-encoded, in the PAYMENT-REQUIRED header."
    };
    add(
        out,
        d,
        s(
            "requirements-present",
            "the 402 carries decodable requirements",
            Level::Must,
            carrier,
            transport(d),
        ),
        body(requirements_present),
    );
    add(
        out,
        d,
        s(
            "requirements-schema",
            "the requirements match the schema and formats",
            Level::Must,
            "PaymentRequired has the version, resource and a non-empty accepts list; each entry has scheme, network, an atomic-unit amount that fits uint256, asset, payTo and a positive maxTimeoutSeconds.",
            if d.is_v1() {
                "x402-specification-v1.md §5.1"
            } else {
                "x402-specification-v2.md §5.1.2"
            },
        ),
        body(requirements_schema),
    );
    if !d.is_v1() {
        add(
            out,
            d,
            s(
                "header-budget",
                "the PAYMENT-REQUIRED header fits in 8 KiB",
                Level::BestPractice,
                "The PAYMENT-REQUIRED header stays under 8 KiB, the header limit of common proxies.",
                "x402-foundation/x402#3803; x402-conformance P6",
            ),
            body(header_budget),
        );
        add(
            out,
            d,
            s(
                "requirements-encoding",
                "the header is padded standard base64 of compact JSON",
                Level::Should,
                "Header values use the standard base64 alphabet with padding, around compact JSON, as every example and reference SDK does.",
                "x402 transports-v2/http.md examples; protocols.md §1.1",
            ),
            body(requirements_encoding),
        );
    }
    add(
        out,
        d,
        s(
            "error-reason",
            "the 402 says why payment is required",
            Level::BestPractice,
            "The payment-required answer carries an error string saying why.",
            if d.is_v1() {
                "x402-specification-v1.md §5.1"
            } else {
                "x402-specification-v2.md §5.1.2 (error)"
            },
        ),
        body(error_reason),
    );
    add(
        out,
        d,
        s(
            "resource-url",
            "the offer names the resource that was asked for",
            Level::Should,
            "The resource URL in the requirements is the URL the client requested, on every paid route.",
            if d.is_v1() {
                "x402-specification-v1.md §5.1.2 (resource)"
            } else {
                "x402-specification-v2.md §5.1.2 (ResourceInfo.url)"
            },
        ),
        body(resource_url),
    );
}

fn status(ctx: &Ctx) -> crate::catalogue::CheckFuture<'_> {
    Box::pin(async move {
        for route in &ctx.target.paid {
            let ex = ctx.target.send(route, None, &[]).await;
            if ex.status != 402 {
                return Outcome::fail(format!("402 for unpaid {route}"), ex.describe()).with(&ex);
            }
        }
        Outcome::pass(format!(
            "{} paid route(s) answer 402",
            ctx.target.paid.len()
        ))
    })
}

fn requirements_present(ctx: &Ctx) -> crate::catalogue::CheckFuture<'_> {
    Box::pin(async move {
        let ex = ctx.target.send(paid(ctx), None, &[]).await;
        match ctx.target.read_challenge(&ex, Mode::Lenient) {
            Ok(_) => Outcome::pass("requirements decode"),
            Err(ChallengeError::Missing(h)) => {
                Outcome::fail(format!("a {h} header"), "none").with(&ex)
            }
            Err(e) => Outcome::fail("decodable requirements", e.to_string()).with(&ex),
        }
    })
}

fn deviations_outcome(
    ctx: &Ctx,
    ex: &crate::target::Exchange,
    keep: impl Fn(&str) -> bool,
    what: &str,
) -> Outcome {
    match ctx.target.read_challenge(ex, Mode::Strict) {
        Ok(_) => Outcome::pass(format!("no {what} deviation")),
        Err(ChallengeError::Decode(e)) if !e.deviations().is_empty() => {
            let found: Vec<String> = e
                .deviations()
                .iter()
                .filter(|d| keep(d.rule))
                .map(ToString::to_string)
                .collect();
            if found.is_empty() {
                Outcome::pass(format!("no {what} deviation"))
            } else {
                Outcome::fail(format!("no {what} deviation"), found.join("; ")).with(ex)
            }
        }
        Err(e) => Outcome::fail("requirements that decode", e.to_string()).with(ex),
    }
}

fn requirements_schema(ctx: &Ctx) -> crate::catalogue::CheckFuture<'_> {
    Box::pin(async move {
        let ex = ctx.target.send(paid(ctx), None, &[]).await;
        deviations_outcome(ctx, &ex, |r| !is_encoding(r), "schema or format")
    })
}

fn requirements_encoding(ctx: &Ctx) -> crate::catalogue::CheckFuture<'_> {
    Box::pin(async move {
        let ex = ctx.target.send(paid(ctx), None, &[]).await;
        deviations_outcome(ctx, &ex, is_encoding, "encoding")
    })
}

fn error_reason(ctx: &Ctx) -> crate::catalogue::CheckFuture<'_> {
    Box::pin(async move {
        match offer(ctx, paid(ctx)).await {
            Err(o) => o,
            Ok((c, ex)) => match c.error() {
                Some(e) if !e.trim().is_empty() => Outcome::pass(format!("error: {e}")),
                _ => Outcome::fail("a non-empty error", "none").with(&ex),
            },
        }
    })
}

fn resource_url(ctx: &Ctx) -> crate::catalogue::CheckFuture<'_> {
    Box::pin(async move {
        let mut named = Vec::new();
        for route in &ctx.target.paid {
            let (c, ex) = match offer(ctx, route).await {
                Err(o) => return o,
                Ok(v) => v,
            };
            let url = match &c {
                crate::target::Challenge::V2(r) => r.resource.url.clone(),
                crate::target::Challenge::V1(r) => r
                    .accepts
                    .first()
                    .map(|a| a.resource.clone())
                    .unwrap_or_default(),
                crate::target::Challenge::L402(_) => String::new(),
            };
            if url_path(&url) != route.path {
                return Outcome::fail(
                    format!("{route}: a resource URL whose path is {}", route.path),
                    format!("'{url}'"),
                )
                .with(&ex);
            }
            named.push(url);
        }
        Outcome::pass(format!("resource {}", named.join(", ")))
    })
}

/// The path of an absolute URL, without its query (empty when there is none).
fn url_path(url: &str) -> &str {
    let path = url
        .split("://")
        .nth(1)
        .and_then(|rest| rest.find('/').map(|i| &rest[i..]))
        .unwrap_or("");
    path.split('?').next().unwrap_or("")
}

/// Proxies commonly cap a header at 8 KiB.
const HEADER_BUDGET: usize = 8 * 1024;

fn header_budget(ctx: &Ctx) -> crate::catalogue::CheckFuture<'_> {
    Box::pin(async move {
        let ex = ctx.target.send(paid(ctx), None, &[]).await;
        let Some(value) = ex.header("payment-required") else {
            return Outcome::not_exercised("no PAYMENT-REQUIRED header").with(&ex);
        };
        if value.len() <= HEADER_BUDGET {
            Outcome::pass(format!("{} bytes", value.len()))
        } else {
            Outcome::fail(
                format!("at most {HEADER_BUDGET} bytes"),
                format!("{} bytes", value.len()),
            )
            .with(&ex)
        }
    })
}
