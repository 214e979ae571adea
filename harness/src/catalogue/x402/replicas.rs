//! replicas: a server run as several replicas behind one facilitator takes each payment
//! once across all of them: served by one, refused by the others, and raced copies settle
//! once. Each answer is reported with the replica that gave it.

use super::{
    Faults, Spec, add, body, facilitator, paid, served_payment, settlements, valid_payment,
};
use crate::catalogue::{Check, CheckFuture, Ctx, Level, Need, Outcome};
use crate::protocol::Dialect;
use crate::target::{Exchange, Target};

/// Copies of one payment raced across the replicas.
const RACED_COPIES: usize = 8;

pub(super) fn register(d: Dialect, out: &mut Vec<Check>) {
    add(
        out,
        d,
        Spec {
            section: "replicas",
            name: "cross-replay".into(),
            title: "a payment served by one replica is refused by the others".into(),
            level: Level::Must,
            requirement: "A payment already served by one replica of the server is refused by every other replica, and settled once in all: replay protection does not live in one process's memory.",
            source: "x402-specification-v2.md §2 (a payment is used once); x402-conformance R13 (landscape.md §4)",
            needs: &[Need::Facilitator, Need::Replicas],
        },
        body(cross_replay),
    );
    add(
        out,
        d,
        Spec {
            section: "replicas",
            name: "concurrent".into(),
            title: "copies of one payment raced across replicas are served once".into(),
            level: Level::Must,
            requirement: "Eight concurrent copies of one payment, spread over the replicas, are served at most once and settled at most once.",
            source: "x402-foundation/x402#1805 (one payment debited four times; landscape.md §3); x402-conformance R13",
            needs: &[Need::Facilitator, Need::Replicas],
        },
        body(concurrent),
    );
}

/// Every server of the run: the primary first, then its replicas.
fn servers(ctx: &Ctx) -> Vec<&Target> {
    std::iter::once(&ctx.target)
        .chain(ctx.replicas.iter())
        .collect()
}

/// `replica N (URL): HTTP S` for each answer, N counting from 1 (the primary).
fn per_replica(answers: &[(usize, &Target, Exchange)]) -> String {
    answers
        .iter()
        .map(|(n, t, ex)| format!("replica {n} ({}): {}", t.base_url, ex.describe()))
        .collect::<Vec<_>>()
        .join("; ")
}

/// `replica N (URL): K copies, S served` for each of `count` replicas.
fn tallies(answers: &[(usize, &Target, Exchange)], count: usize) -> String {
    (1..=count)
        .filter_map(|n| {
            let mine: Vec<_> = answers.iter().filter(|(m, _, _)| *m == n).collect();
            let (_, target, _) = mine.first()?;
            let served = mine.iter().filter(|(_, _, ex)| ex.is_success()).count();
            Some(format!(
                "replica {n} ({}): {} copies, {served} served",
                target.base_url,
                mine.len()
            ))
        })
        .collect::<Vec<_>>()
        .join("; ")
}

fn cross_replay(ctx: &Ctx) -> CheckFuture<'_> {
    Box::pin(async move {
        let (payment, first) = match served_payment(ctx).await {
            Ok(v) => v,
            Err(o) => return o,
        };
        let mut answers = Vec::new();
        for (i, replica) in ctx.replicas.iter().enumerate() {
            let ex = replica
                .send(paid(ctx), Some(&payment.replayed().value), &[])
                .await;
            answers.push((i + 2, replica, ex));
        }
        let settled = settlements(ctx, &payment.nonce).unwrap_or(0);
        if let Some((n, _, ex)) = answers.iter().find(|(_, _, ex)| ex.is_success()) {
            return Outcome::fail(
                "every other replica refuses a payment replica 1 served",
                format!(
                    "replica {n} served it again; settled {settled} time(s) ({})",
                    per_replica(&answers)
                ),
            )
            .with(ex);
        }
        if settled != 1 {
            return Outcome::fail(
                "one settlement across the replicas",
                format!("{settled} ({})", per_replica(&answers)),
            )
            .with(&first);
        }
        Outcome::pass(format!(
            "served by replica 1, settled once, refused by the others ({})",
            per_replica(&answers)
        ))
    })
}

fn concurrent(ctx: &Ctx) -> CheckFuture<'_> {
    Box::pin(async move {
        let (_, payment) = match valid_payment(ctx).await {
            Ok(v) => v,
            Err(o) => return o,
        };
        let all = servers(ctx);
        let count = all.len();
        // A slow /settle widens the race window, as a real chain does.
        let _slow = Faults::set(facilitator(ctx), &["settle=latency:200ms"]);
        let sends = (0..RACED_COPIES).map(|i| {
            let target = all[i % count];
            let value = payment.replayed().value;
            async move {
                let ex = target.send(paid(ctx), Some(&value), &[]).await;
                (i % count + 1, target, ex)
            }
        });
        let answers = futures::future::join_all(sends).await;
        let served = answers.iter().filter(|(_, _, ex)| ex.is_success()).count();
        let settled = settlements(ctx, &payment.nonce).unwrap_or(0);
        if served == 0 && settled == 0 {
            return Outcome::not_exercised(format!(
                "no copy was served or settled; the payment itself may be refused ({})",
                tallies(&answers, count)
            ));
        }
        // More settlements than answers served: a payer charged for nothing.
        if served > 1 || settled > 1 || settled > served {
            let first = answers
                .iter()
                .find(|(_, _, ex)| ex.is_success())
                .map(|(_, _, ex)| ex);
            let outcome = Outcome::fail(
                format!(
                    "{RACED_COPIES} copies over {count} replicas served and settled at most once"
                ),
                format!(
                    "served {served}, settled {settled} ({})",
                    tallies(&answers, count)
                ),
            );
            return match first {
                Some(ex) => outcome.with(ex),
                None => outcome,
            };
        }
        Outcome::pass(format!(
            "{RACED_COPIES} copies over {count} replicas: served {served}, settled {settled} ({})",
            tallies(&answers, count)
        ))
    })
}
