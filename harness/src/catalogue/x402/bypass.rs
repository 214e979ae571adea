//! bypass: paid content is never served without payment through another spelling of the
//! route or another method. A variant may be refused, routed elsewhere or asked to pay;
//! it fails only when it answers 2xx with the very body a paid request gets.

use super::{Spec, add, body, pay_first_route};
use crate::catalogue::{Check, CheckFuture, Ctx, Level, Outcome};
use crate::protocol::Dialect;
use crate::target::{Exchange, RouteSpec};
use reqwest::Method;
use serde_json::Value;

pub(super) fn register(d: Dialect, out: &mut Vec<Check>) {
    add(
        out,
        d,
        Spec {
            section: "bypass",
            name: "path-variants".into(),
            title: "no other spelling of a paid path serves it free".into(),
            level: Level::Must,
            requirement: "A request for another spelling of a paid route (a trailing slash, another case, //, dot segments, %2e and %2f escapes, an escaped letter, a query string, a fragment-like # or ;) that reaches the paid handler asks for payment: the paid content is never served unpaid.",
            source: "x402-specification-v2.md §2 (a protected resource is served only for a valid payment); x402-conformance R11e (landscape.md §4)",
            needs: &[],
        },
        body(path_variants),
    );
    add(
        out,
        d,
        Spec {
            section: "bypass",
            name: "other-methods".into(),
            title: "no other method on a paid path serves it free".into(),
            level: Level::Must,
            requirement: "A request with another method (OPTIONS, POST, PUT, PATCH, DELETE, or GET on a POST route) to a paid path never gets the paid content unpaid; an OPTIONS preflight answers without it.",
            source: "x402-specification-v2.md §2; operations practice (payment middleware keyed on one method)",
            needs: &[],
        },
        body(other_methods),
    );
}

/// The spellings of `path` tried, each with what it is. Sent byte for byte.
fn variants(path: &str) -> Vec<(&'static str, String)> {
    let rest = path.trim_start_matches('/');
    let mut out = vec![
        ("a trailing slash", format!("{path}/")),
        ("upper case", path.to_uppercase()),
        ("a capital first letter", capitalised(path)),
        ("a leading //", format!("/{path}")),
        ("a ./ segment", format!("/.{path}")),
        ("a ../ segment", format!("/paycheck-bypass/..{path}")),
        (
            "an escaped ../ (%2e%2e)",
            format!("/paycheck-bypass/%2e%2e{path}"),
        ),
        (
            "escaped slashes (%2f)",
            format!("/paycheck-bypass%2f..%2f{rest}"),
        ),
        ("an escaped letter", escaped_first_letter(path)),
        ("a query string", format!("{path}?paycheck=1")),
        ("a fragment-like #", format!("{path}#paycheck")),
        ("an escaped # (%23)", format!("{path}%23paycheck")),
        ("a ;parameter", format!("{path};paycheck")),
    ];
    out.retain(|(_, v)| v != path);
    out
}

/// `/premium` as `/Premium`: the first letter of the last segment in upper case.
fn capitalised(path: &str) -> String {
    let cut = path.rfind('/').map_or(0, |i| i + 1);
    let (head, last) = path.split_at(cut);
    let mut chars = last.chars();
    match chars.next() {
        Some(c) => format!("{head}{}{}", c.to_uppercase(), chars.as_str()),
        None => path.to_string(),
    }
}

/// `/premium` as `/%70remium`: the first letter of the last segment percent-encoded.
fn escaped_first_letter(path: &str) -> String {
    let cut = path.rfind('/').map_or(0, |i| i + 1);
    let (head, last) = path.split_at(cut);
    match last.chars().next() {
        Some(c) if c.is_ascii_alphanumeric() => format!("{head}%{:02x}{}", c as u32, &last[1..]),
        _ => path.to_string(),
    }
}

/// True when `ex` served the same body as the paid answer (as JSON when both are JSON).
fn serves_paid_content(ex: &Exchange, paid: &Exchange) -> bool {
    if !ex.is_success() || paid.body.trim().is_empty() {
        return false;
    }
    if ex.body.trim() == paid.body.trim() {
        return true;
    }
    match (
        serde_json::from_str::<Value>(&ex.body),
        serde_json::from_str::<Value>(&paid.body),
    ) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

/// The paid answer of the first paid route: the content a bypass would give away.
async fn paid_content(ctx: &Ctx) -> Result<(RouteSpec, Exchange), Outcome> {
    let (_, paid) = pay_first_route(ctx).await?;
    if !paid.is_success() || paid.body.trim().is_empty() {
        return Err(Outcome::not_exercised(format!(
            "the valid payment did not get content to compare with ({})",
            paid.describe()
        ))
        .with(&paid));
    }
    Ok((ctx.target.paid[0].clone(), paid))
}

/// Grades what each probe got: a failure naming every probe that served the content.
fn grade(tried: Vec<(String, Exchange)>, paid: &Exchange) -> Outcome {
    let served: Vec<&(String, Exchange)> = tried
        .iter()
        .filter(|(_, ex)| serves_paid_content(ex, paid))
        .collect();
    if let Some((_, first)) = served.first() {
        let what: Vec<&str> = served.iter().map(|(w, _)| w.as_str()).collect();
        return Outcome::fail(
            "a 402 (or no content) for every unpaid variant",
            format!("the paid content was served unpaid to {}", what.join("; ")),
        )
        .with(first);
    }
    // A 2xx with another body is no proof of a bypass (a page of its own), but paid
    // content that changes per request would look so: the letter's failure, a warning by
    // default. An OPTIONS preflight answers 2xx without content by design.
    if let Some((what, ex)) = tried
        .iter()
        .find(|(_, ex)| ex.is_success() && ex.method != "OPTIONS")
    {
        return Outcome::lenient(
            "a 402 (or no 2xx) for every unpaid variant",
            format!(
                "{what} answered {} unpaid with a body unlike the paid one; check that it is not the paid content",
                ex.describe()
            ),
        )
        .with(ex);
    }
    let answers: Vec<String> = tried
        .iter()
        .map(|(w, ex)| format!("{w}: {}", ex.describe()))
        .collect();
    Outcome::pass(format!(
        "{} variant(s), none served the content ({})",
        tried.len(),
        answers.join(", ")
    ))
}

fn path_variants(ctx: &Ctx) -> CheckFuture<'_> {
    Box::pin(async move {
        let (route, paid) = match paid_content(ctx).await {
            Ok(v) => v,
            Err(o) => return o,
        };
        let mut tried = Vec::new();
        for (what, path) in variants(&route.path) {
            let ex = ctx.target.send_raw(&route, &path).await;
            tried.push((format!("{what} ({} {path})", route.method), ex));
        }
        grade(tried, &paid)
    })
}

fn other_methods(ctx: &Ctx) -> CheckFuture<'_> {
    Box::pin(async move {
        let (route, paid) = match paid_content(ctx).await {
            Ok(v) => v,
            Err(o) => return o,
        };
        let methods = [
            Method::GET,
            Method::OPTIONS,
            Method::POST,
            Method::PUT,
            Method::PATCH,
            Method::DELETE,
        ];
        let mut tried = Vec::new();
        for method in methods.into_iter().filter(|m| *m != route.method) {
            let ex = ctx.target.send_as(&route, &method, None, &[]).await;
            tried.push((format!("{method} {}", route.path), ex));
        }
        grade(tried, &paid)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variants_respell_the_path_and_never_repeat_it() {
        let all: Vec<String> = variants("/premium").into_iter().map(|(_, p)| p).collect();
        for expected in [
            "/premium/",
            "/PREMIUM",
            "/Premium",
            "//premium",
            "/./premium",
            "/paycheck-bypass/../premium",
            "/paycheck-bypass/%2e%2e/premium",
            "/paycheck-bypass%2f..%2fpremium",
            "/%70remium",
            "/premium?paycheck=1",
            "/premium#paycheck",
            "/premium%23paycheck",
            "/premium;paycheck",
        ] {
            assert!(all.iter().any(|p| p == expected), "{expected} in {all:?}");
        }
        assert!(!all.iter().any(|p| p == "/premium"));
        assert_eq!(capitalised("/api/v1/data"), "/api/v1/Data");
        assert_eq!(escaped_first_letter("/api/data"), "/api/%64ata");
    }
}
