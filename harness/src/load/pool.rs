//! Payments made before the run, so that signing (x402) or paying an invoice (L402) never
//! sits in the measured path: a pool of fresh ones for `paid`, and a few already used once
//! for `replay`. x402 payments are signed on every core at once; each is about 1 KiB in
//! memory. L402 credentials are paid through the mock Lightning backend; in the `l402`
//! profile they are reusable, so a small pool is cycled.

use crate::catalogue::Ctx;
use crate::protocol::L402Profile;
use crate::protocol::l402::read_challenges;
use crate::target::{PaymentHeader, RouteSpec};
use futures::StreamExt;
use std::sync::atomic::{AtomicUsize, Ordering};

/// How many reusable L402 credentials are cycled.
const REUSABLE_CREDENTIALS: usize = 64;
/// L402 credentials paid at once while the pool is built.
const PAY_CONCURRENCY: usize = 16;

/// The payments of a run.
#[derive(Debug, Default)]
pub struct Pool {
    fresh: Vec<PaymentHeader>,
    next: AtomicUsize,
    /// Fresh payments may be used again (L402 in the specification's profile).
    reusable: bool,
    replays: Vec<PaymentHeader>,
    next_replay: AtomicUsize,
}

impl Pool {
    /// The next unused payment, or `None` when the pool is spent.
    pub fn take_fresh(&self) -> Option<&PaymentHeader> {
        let i = self.next.fetch_add(1, Ordering::Relaxed);
        match (self.reusable, self.fresh.len()) {
            (_, 0) => None,
            (true, n) => self.fresh.get(i % n),
            (false, _) => self.fresh.get(i),
        }
    }

    /// A payment that was used once already, round-robin.
    pub fn take_replay(&self) -> Option<&PaymentHeader> {
        let n = self.replays.len();
        (n > 0).then(|| &self.replays[self.next_replay.fetch_add(1, Ordering::Relaxed) % n])
    }

    /// How many fresh payments it holds.
    pub fn len(&self) -> usize {
        self.fresh.len()
    }

    /// True when it holds none.
    pub fn is_empty(&self) -> bool {
        self.fresh.is_empty()
    }
}

/// Builds the pool for `route`: `fresh` payments, and `replays` more sent once now.
pub async fn build(
    ctx: &Ctx,
    route: &RouteSpec,
    fresh: usize,
    replays: usize,
) -> Result<Pool, String> {
    if fresh + replays == 0 {
        return Ok(Pool::default());
    }
    let mut pool = match ctx.target.suite.l402_profile() {
        None => Pool {
            fresh: sign_x402(ctx, route, fresh + replays).await?,
            ..Pool::default()
        },
        Some(profile) => {
            let reusable = profile == L402Profile::Spec;
            let n = if reusable {
                fresh.min(REUSABLE_CREDENTIALS) + replays
            } else {
                fresh + replays
            };
            Pool {
                fresh: pay_l402(ctx, route, n).await?,
                reusable,
                ..Pool::default()
            }
        }
    };
    let split = pool.fresh.len() - replays;
    let replays: Vec<PaymentHeader> = pool.fresh.split_off(split);
    for p in &replays {
        let ex = ctx.target.send(route, Some(&p.value), &[]).await;
        if !ex.is_success() {
            return Err(format!(
                "{route} refused a valid payment while the replays were prepared ({}); a paid route must serve a paid request",
                ex.describe()
            ));
        }
    }
    // Replayed under fresh payment-identifier ids: the same id would rightly get the
    // first answer back, which is no replay.
    pool.replays = replays.iter().map(PaymentHeader::replayed).collect();
    Ok(pool)
}

/// Signs `n` payments for the route's offer, on every core.
async fn sign_x402(ctx: &Ctx, route: &RouteSpec, n: usize) -> Result<Vec<PaymentHeader>, String> {
    let (challenge, _) = ctx.target.challenge(route).await.map_err(|(e, ex)| {
        format!(
            "{route} gave no readable challenge to pay ({}; {e})",
            ex.describe()
        )
    })?;
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let per = n.div_ceil(threads).max(1);
    let target = &ctx.target;
    let payer = &ctx.payer;
    let signed: Result<Vec<Vec<PaymentHeader>>, String> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let count = per.min(n.saturating_sub(t * per));
                let challenge = challenge.clone();
                let payer = payer.clone();
                s.spawn(move || {
                    (0..count)
                        .map(|_| {
                            target
                                .pay(&payer, &challenge, None)
                                .map_err(|e| format!("cannot pay {route}'s offer: {e}"))
                        })
                        .collect::<Result<Vec<_>, _>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("signing threads do not panic"))
            .collect()
    });
    Ok(signed?.into_iter().flatten().collect())
}

/// Pays `n` challenges of the route through the mock Lightning backend.
async fn pay_l402(ctx: &Ctx, route: &RouteSpec, n: usize) -> Result<Vec<PaymentHeader>, String> {
    let lightning = ctx.lightning.as_deref().ok_or(
        "paid L402 requests need paycheck's mock Lightning backend: use the embedded server, --spawn, or --lightning-wired",
    )?;
    let one = || async {
        let ex = ctx.target.send(route, None, &[]).await;
        let challenges = read_challenges(&ex.headers_all("www-authenticate")).map_err(|e| {
            let hint = if ex.status == 429 {
                "; the server rate-limits invoice creation: start it without that limit for a load test of the paid path"
            } else {
                ""
            };
            format!("{route} gave no challenge to pay ({}: {e}){hint}", ex.describe())
        })?;
        let paid = ctx
            .payer
            .pay_l402(lightning, challenges.preferred())
            .map_err(|e| e.to_string())?;
        Ok::<_, String>(PaymentHeader::opaque(paid.credential, paid.payment_hash))
    };
    futures::stream::iter((0..n).map(|_| one()))
        .buffer_unordered(PAY_CONCURRENCY)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect()
}
