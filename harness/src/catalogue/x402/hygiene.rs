//! http/hygiene: clean errors, free routes, HEAD, CORS, header case, speed.

use super::{Spec, add, body, leak_in, paid, settlements, transport, valid_payment};
use crate::catalogue::{Check, Ctx, Level, Need, Outcome};
use crate::protocol::Dialect;
use crate::protocol::codec::encode_base64;
use crate::target::tally::tolerating_no_answer;
use reqwest::Method;
use std::time::Duration;

/// The 402 answer-time bound of the `fast-402` check.
const FAST_402: Duration = Duration::from_millis(500);

/// Malformed payment header values (x402-conformance R24 sends five of this kind).
fn malformed_values(dialect: Dialect) -> Vec<(&'static str, String)> {
    let key = dialect.version_key();
    vec![
        ("not base64", "%%% not base64 %%%".to_string()),
        ("base64 of non-JSON", encode_base64(b"hello, world")),
        ("base64 of an empty object", encode_base64(b"{}")),
        ("base64 of a JSON array", encode_base64(b"[1,2,3]")),
        (
            "wrong version, no payload",
            encode_base64(format!("{{\"{key}\":99}}").as_bytes()),
        ),
    ]
}

pub(super) fn register(d: Dialect, out: &mut Vec<Check>) {
    add(
        out,
        d,
        Spec {
            section: "http/hygiene",
            name: "payment-header-limit".into(),
            title: "an oversized payment header is refused".into(),
            level: Level::Should,
            requirement: "A valid payment padded to about 40 KB (JSON whitespace) is refused with a 4xx such as 431 or at the connection, not decoded and served: the payment header has a size limit of its own (8 KiB is common) or falls under the server's header limit (Node: 16 KiB; uvicorn's h11 limit applies only to a header block that arrives in pieces).",
            source: "operations practice (RFC 6585 §5; a bounded decode of the payment header)",
            needs: &[],
        },
        body(payment_header_limit),
    );
    add(
        out,
        d,
        Spec {
            section: "http/hygiene",
            name: "no-facilitator-internals".into(),
            title: "facilitator internals never reach the client".into(),
            level: Level::Should,
            requirement: "When a facilitator call fails, the client's answer names neither the facilitator's URL nor what it answered (its error bodies, an HTML error page, garbage); the settlement response in the payment response header is the only facilitator answer a client sees.",
            source: "operations practice (OWASP: no internal details in errors); landscape.md §3",
            needs: &[Need::Facilitator],
        },
        body(no_facilitator_internals),
    );
    let s = |name: &str, title: &str, level, requirement, source, needs| {
        Spec::new(
            "http/hygiene",
            name,
            title,
            level,
            requirement,
            source,
            needs,
        )
    };
    add(
        out,
        d,
        s(
            "malformed-400",
            "a malformed payment header gets 400",
            Level::Must,
            "A malformed payment payload is answered 400 Bad Request (reference SDKs answer 402, accepted with a warning).",
            transport(d),
            &[],
        ),
        body(malformed),
    );
    add(
        out,
        d,
        s(
            "no-internals",
            "error answers carry no stack trace or internals",
            Level::BestPractice,
            "Error answers to malformed input are clean: no stack traces, file paths or exception text.",
            "operations practice",
            &[],
        ),
        body(no_internals),
    );
    add(
        out,
        d,
        s(
            "head-not-charged",
            "a HEAD is never charged",
            Level::Must,
            "A HEAD request carrying a payment is not settled: a HEAD gets no content, so a payer charged for it paid for nothing.",
            "operations practice (x402-conformance R16)",
            &[Need::Facilitator],
        ),
        body(head_not_charged),
    );
    add(
        out,
        d,
        s(
            "json-not-html",
            "an API client never gets HTML",
            Level::Should,
            "A client that accepts application/json gets the JSON 402, not a browser paywall page.",
            "x402 reference servers (isWebBrowser needs Accept: text/html)",
            &[],
        ),
        body(json_not_html),
    );
    {
        add(
            out,
            d,
            s(
                "cors-expose",
                "CORS exposes the payment headers",
                Level::BestPractice,
                "Cross-origin responses list the payment headers a client must read (v2 and t402: PAYMENT-REQUIRED, PAYMENT-RESPONSE; v1: X-PAYMENT-RESPONSE) in Access-Control-Expose-Headers.",
                "protocols.md §1.1 (CORS, no spec text)",
                &[],
            ),
            body(cors_expose),
        );
    }
    add(
        out,
        d,
        s(
            "fast-402",
            "the 402 comes back quickly",
            Level::BestPractice,
            "An unpaid request is answered within 500 ms: a 402 needs no facilitator call.",
            "operations practice",
            &[],
        ),
        body(fast_402),
    );
}

fn malformed(ctx: &Ctx) -> crate::catalogue::CheckFuture<'_> {
    Box::pin(async move {
        let mut lenient = None;
        for (what, value) in malformed_values(ctx.target.dialect()) {
            let ex = ctx.target.send(paid(ctx), Some(&value), &[]).await;
            match ex.status {
                400 => {}
                402 => {
                    lenient.get_or_insert((what, ex));
                }
                _ => {
                    return Outcome::fail(
                        format!("400 for a {what} payment header"),
                        ex.describe(),
                    )
                    .with(&ex);
                }
            }
        }
        match lenient {
            None => Outcome::pass("all five answered 400"),
            Some((what, ex)) => Outcome::lenient(
                format!("400 for a {what} payment header"),
                "402, as the TypeScript and Python SDKs answer",
            )
            .with(&ex),
        }
    })
}

fn no_internals(ctx: &Ctx) -> crate::catalogue::CheckFuture<'_> {
    Box::pin(async move {
        for (what, value) in malformed_values(ctx.target.dialect()) {
            let ex = ctx.target.send(paid(ctx), Some(&value), &[]).await;
            if let Some(marker) = leak_in(&ex.body) {
                return Outcome::fail(
                    format!("a clean answer to a {what} payment header"),
                    format!("the body contains '{marker}'"),
                )
                .with(&ex);
            }
        }
        Outcome::pass("no internals in five error answers")
    })
}

fn head_not_charged(ctx: &Ctx) -> crate::catalogue::CheckFuture<'_> {
    Box::pin(async move {
        let (_, payment) = match valid_payment(ctx).await {
            Ok(v) => v,
            Err(o) => return o,
        };
        let ex = ctx
            .target
            .send_as(paid(ctx), &Method::HEAD, Some(&payment.value), &[])
            .await;
        match settlements(ctx, &payment.nonce) {
            Some(0) => Outcome::pass(format!(
                "HEAD answered {} and nothing settled",
                ex.describe()
            )),
            Some(n) => {
                Outcome::fail("no settlement for a HEAD", format!("{n} settlement(s)")).with(&ex)
            }
            None => Outcome::unsupported("needs the facilitator journal"),
        }
    })
}

fn json_not_html(ctx: &Ctx) -> crate::catalogue::CheckFuture<'_> {
    Box::pin(async move {
        let ex = ctx
            .target
            .send(paid(ctx), None, &[("User-Agent", "Mozilla/5.0 (paycheck)")])
            .await;
        let ct = ex.header("content-type").unwrap_or("").to_lowercase();
        if ct.contains("text/html") {
            Outcome::fail(
                "a JSON answer to Accept: application/json",
                format!("content-type: {ct}"),
            )
            .with(&ex)
        } else {
            Outcome::pass(format!("content-type: {ct}"))
        }
    })
}

fn cors_expose(ctx: &Ctx) -> crate::catalogue::CheckFuture<'_> {
    Box::pin(async move {
        let ex = ctx
            .target
            .send(paid(ctx), None, &[("Origin", "https://app.example")])
            .await;
        let exposed = ex
            .header("access-control-expose-headers")
            .unwrap_or("")
            .to_lowercase();
        let listed: Vec<&str> = exposed.split(',').map(str::trim).collect();
        let wanted: &[&str] = if ctx.target.dialect().is_v1() {
            &["x-payment-response"]
        } else {
            &["payment-required", "payment-response"]
        };
        let missing: Vec<&str> = wanted
            .iter()
            .copied()
            .filter(|h| !listed.contains(h) && !listed.contains(&"*"))
            .collect();
        if missing.is_empty() {
            Outcome::pass(format!("exposes: {exposed}"))
        } else {
            Outcome::fail(
                format!("{} exposed", wanted.join(" and ")),
                format!("expose-headers: '{exposed}'"),
            )
            .with(&ex)
        }
    })
}

fn fast_402(ctx: &Ctx) -> crate::catalogue::CheckFuture<'_> {
    Box::pin(async move {
        let ex = ctx.target.send(paid(ctx), None, &[]).await;
        if !ex.answered() {
            return Outcome::fail(
                format!("a 402 within {} ms", FAST_402.as_millis()),
                ex.describe(),
            )
            .with(&ex);
        }
        if ex.elapsed <= FAST_402 {
            Outcome::pass(format!("{:.1} ms", ex.elapsed.as_secs_f64() * 1000.0))
        } else {
            Outcome::fail(
                format!("a 402 within {} ms", FAST_402.as_millis()),
                format!("{} ms", ex.elapsed.as_millis()),
            )
            .with(&ex)
        }
    })
}

/// How large the padded payment of `payment-header-limit` is.
const PADDED_PAYMENT_BYTES: usize = 40 * 1024;

/// A payment header's JSON with `bytes` of whitespace after its opening brace, re-encoded.
fn padded(header: &str, bytes: usize) -> Option<String> {
    use base64::Engine as _;
    let json = base64::engine::general_purpose::STANDARD
        .decode(header.trim())
        .ok()?;
    let brace = json.iter().position(|b| *b == b'{')?;
    let mut out = Vec::with_capacity(json.len() + bytes);
    out.extend_from_slice(&json[..=brace]);
    out.resize(out.len() + bytes, b' ');
    out.extend_from_slice(&json[brace + 1..]);
    Some(encode_base64(&out))
}

fn payment_header_limit(ctx: &Ctx) -> crate::catalogue::CheckFuture<'_> {
    Box::pin(async move {
        let (_, payment) = match valid_payment(ctx).await {
            Ok(v) => v,
            Err(o) => return o,
        };
        let Some(value) = padded(&payment.value, PADDED_PAYMENT_BYTES) else {
            return Outcome::not_exercised("paycheck's payment header is not base64 of JSON");
        };
        let ex = tolerating_no_answer(ctx.target.send(paid(ctx), Some(&value), &[])).await;
        let settled = settlements(ctx, &payment.nonce).unwrap_or(0);
        let kb = value.len() / 1024;
        // What the server said is its status line, whole answer or not.
        let said = if ex.answered() {
            Some(ex.status)
        } else {
            ex.head_status
        };
        match (&ex.error, said) {
            _ if settled > 0 => Outcome::fail(
                format!("the {kb} KiB payment header refused"),
                format!("settled {settled} time(s); answered {}", ex.describe()),
            )
            .with(&ex),
            (Some(e), None) if ex.timed_out => Outcome::fail(
                "a 4xx refusal such as 431, or a closed connection",
                format!("no answer at all ({e})"),
            )
            .with(&ex),
            (Some(e), None) => Outcome::pass(format!(
                "the {kb} KiB header was refused at the connection ({e})"
            )),
            (_, Some(status @ 400..=499)) => {
                Outcome::pass(format!("the {kb} KiB header got HTTP {status}"))
            }
            _ => Outcome::fail(
                format!("the {kb} KiB payment header refused with a 4xx"),
                format!("{}: it was decoded and processed", ex.describe()),
            )
            .with(&ex),
        }
    })
}

/// The facilitator faults under which `no-facilitator-internals` reads the answers.
const INTERNALS_FAULTS: [&str; 4] = [
    "verify=status:500",
    "settle=status:503",
    "settle=html502",
    "settle=non-json",
];

/// What the mock facilitator answers under [`INTERNALS_FAULTS`] that no client should see.
const FACILITATOR_BODIES: [&str; 3] = [
    "injected status",
    "<h1>502 Bad Gateway</h1>",
    "this is not JSON",
];

/// True when `text` names `authority` (`HOST:PORT`) itself, not a longer port after it.
fn names_authority(text: &str, authority: &str) -> bool {
    text.match_indices(authority).any(|(at, _)| {
        !text[at + authority.len()..]
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_digit())
    })
}

fn no_facilitator_internals(ctx: &Ctx) -> crate::catalogue::CheckFuture<'_> {
    Box::pin(async move {
        let facilitator = super::facilitator(ctx);
        let url = facilitator.url();
        let authority = url.trim_start_matches("http://").to_string();
        let receipt = ctx.target.dialect().response_header().to_lowercase();
        for rule in INTERNALS_FAULTS {
            let (_, payment) = match valid_payment(ctx).await {
                Ok(v) => v,
                Err(o) => return o,
            };
            let ex = {
                let _faults = super::Faults::set(facilitator, &[rule]);
                ctx.target.send(paid(ctx), Some(&payment.value), &[]).await
            };
            let headers = ex
                .response_headers
                .iter()
                .filter(|(k, _)| *k != receipt)
                .map(|(k, v)| format!("{k}: {v}"));
            let seen: Vec<String> = std::iter::once(ex.body.clone()).chain(headers).collect();
            let named = seen
                .iter()
                .any(|t| names_authority(t, &authority))
                .then_some(authority.as_str());
            let quoted = FACILITATOR_BODIES
                .into_iter()
                .find(|m| seen.iter().any(|t| t.contains(m)));
            if let Some(marker) = named.or(quoted) {
                return Outcome::fail(
                    format!("an answer without facilitator internals under {rule}"),
                    format!("the answer contains '{marker}' ({})", ex.describe()),
                )
                .with(&ex);
            }
        }
        Outcome::pass(format!(
            "no facilitator URL or answer in {} error answers",
            INTERNALS_FAULTS.len()
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::names_authority;

    #[test]
    fn an_authority_is_named_only_with_its_own_port() {
        assert!(names_authority(
            "POST http://127.0.0.1:4021/verify",
            "127.0.0.1:4021"
        ));
        assert!(names_authority("at 127.0.0.1:4021", "127.0.0.1:4021"));
        assert!(!names_authority(
            "http://127.0.0.1:40210/x",
            "127.0.0.1:4021"
        ));
    }
}
