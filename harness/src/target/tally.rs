//! What the exchanges of one check got: how many whole answers, and the first broken one.
//!
//! The runner wraps each check in [`tallied`]; every exchange made inside it (on the
//! check's own task) is counted. A check that passes although the server never answered,
//! or although one of its answers broke off, is not a pass: the runner turns it into an
//! error with the broken exchange as evidence. A check whose meaning is "no answer is
//! fine" (a hanging facilitator may make the server hang too) sends that request with
//! [`tolerating_no_answer`].

use super::Exchange;
use std::cell::RefCell;
use std::future::Future;

/// The exchanges of one check.
#[derive(Debug, Default)]
pub struct Tally {
    /// Exchanges that got a whole answer.
    pub answered: usize,
    /// The first exchange that did not, and was not tolerated, as evidence.
    pub first_broken: Option<Exchange>,
}

tokio::task_local! {
    static TALLY: RefCell<Tally>;
    static TOLERATE: bool;
}

/// Runs `work`, counting the exchanges it makes.
pub async fn tallied<F: Future>(work: F) -> (F::Output, Tally) {
    TALLY
        .scope(RefCell::new(Tally::default()), async {
            let out = work.await;
            let tally = TALLY.with(|t| t.take());
            (out, tally)
        })
        .await
}

/// Runs `work`, whose requests may get no answer without that being held against the
/// check (the check grades the silence itself).
pub async fn tolerating_no_answer<F: Future>(work: F) -> F::Output {
    TOLERATE.scope(true, work).await
}

/// Counts one exchange (the last attempt of a send) in the running check's tally, if a
/// check is running.
pub(super) fn record(ex: &Exchange) {
    let tolerated = TOLERATE.try_with(|t| *t).unwrap_or(false);
    let _ = TALLY.try_with(|t| {
        let mut t = t.borrow_mut();
        if ex.answered() {
            t.answered += 1;
        } else if !tolerated {
            t.first_broken.get_or_insert_with(|| ex.evidence());
        }
    });
}
