//! The reference server's `payment-identifier` store: each id is reserved by the first
//! request that carries it, bound to that request's method, route and exact payment
//! payload, and holds the answer once the payment was settled. A resend of the same payload
//! gets that answer (no second `/settle`); another payload or route under the id gets 409;
//! a resend while the first is still in flight waits for its answer.

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::watch;

/// The largest answer the store keeps (the reference's answers are a few hundred bytes).
const MAX_CACHED_BODY: usize = 1024 * 1024;
/// How many answered ids the store keeps; the oldest go first (a load run pays tens of
/// thousands of times).
const MAX_KEPT_IDS: usize = 10_000;

/// What an id is bound to: the first request that carried it.
#[derive(Debug, Clone, PartialEq)]
pub struct Binding {
    /// The method.
    pub method: String,
    /// The route's path.
    pub path: &'static str,
    /// The payment payload as decoded JSON (key order does not matter).
    pub payload: Value,
}

/// A settled answer, as it was sent.
#[derive(Debug, Clone)]
pub struct Cached {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
}

impl Cached {
    /// The answer again, headers and body as first sent.
    pub fn response(&self) -> Response {
        let mut response = Response::new(Body::from(self.body.clone()));
        *response.status_mut() = self.status;
        *response.headers_mut() = self.headers.clone();
        response
    }
}

enum Slot {
    /// The first request is still being processed; the sender publishes its answer.
    InFlight(watch::Receiver<Option<Arc<Cached>>>),
    /// The first request was settled and answered.
    Done(Arc<Cached>),
}

struct Entry {
    binding: Binding,
    slot: Slot,
}

/// What a request carrying an id gets from the store.
pub enum Lookup {
    /// The id is new: the request is processed and its answer kept through the guard.
    Fresh(Reservation),
    /// The same request was answered before: its answer.
    Cached(Arc<Cached>),
    /// The same request is being processed: wait for its answer.
    InFlight(watch::Receiver<Option<Arc<Cached>>>),
    /// The id is bound to another request.
    Conflict,
}

/// The ids seen, shared by all requests of one server.
#[derive(Clone, Default)]
pub struct IdempotencyStore {
    entries: Arc<Mutex<Entries>>,
}

/// The entries by id, and the answered ids oldest first (to bound what is kept).
#[derive(Default)]
struct Entries {
    by_id: HashMap<String, Entry>,
    answered: std::collections::VecDeque<String>,
}

impl Entries {
    /// Keeps an answered id, forgetting the oldest answered ones past [`MAX_KEPT_IDS`].
    fn keep(&mut self, id: String, entry: Entry) {
        let before = self.by_id.insert(id.clone(), entry);
        // Under `id-no-reservation` two requests may answer one id: it is queued once.
        if !before.is_some_and(|e| matches!(e.slot, Slot::Done(_))) {
            self.answered.push_back(id);
        }
        while self.answered.len() > MAX_KEPT_IDS {
            if let Some(old) = self.answered.pop_front()
                && self
                    .by_id
                    .get(&old)
                    .is_some_and(|e| matches!(e.slot, Slot::Done(_)))
            {
                self.by_id.remove(&old);
            }
        }
    }
}

impl IdempotencyStore {
    fn lock(&self) -> std::sync::MutexGuard<'_, Entries> {
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Looks `id` up for `binding`. `bound` false matches on the id alone (the
    /// `id-unbound` fault); `reserve` false keeps no in-flight entry (the
    /// `id-no-reservation` fault: a resend while the first is in flight is processed too).
    pub fn lookup(&self, id: &str, binding: Binding, bound: bool, reserve: bool) -> Lookup {
        let mut entries = self.lock();
        if let Some(entry) = entries.by_id.get(id) {
            if bound && entry.binding != binding {
                return Lookup::Conflict;
            }
            return match &entry.slot {
                Slot::Done(cached) => Lookup::Cached(cached.clone()),
                Slot::InFlight(rx) => Lookup::InFlight(rx.clone()),
            };
        }
        let (tx, rx) = watch::channel(None);
        if reserve {
            entries.by_id.insert(
                id.to_string(),
                Entry {
                    binding: binding.clone(),
                    slot: Slot::InFlight(rx),
                },
            );
        }
        Lookup::Fresh(Reservation {
            store: self.clone(),
            id: id.to_string(),
            binding,
            tx,
            kept: false,
        })
    }
}

/// A fresh id's reservation: [`Reservation::keep`] stores the settled answer; dropped
/// without it (a refusal, a failure, the task cancelled), the id is released.
pub struct Reservation {
    store: IdempotencyStore,
    id: String,
    binding: Binding,
    tx: watch::Sender<Option<Arc<Cached>>>,
    kept: bool,
}

impl Reservation {
    /// Keeps `response` as the id's answer when the payment was settled (`settled`), and
    /// returns it to send; otherwise releases the id.
    pub async fn keep(mut self, response: Response, settled: bool) -> Response {
        if !settled {
            return response;
        }
        let (parts, body) = response.into_parts();
        let Ok(body) = axum::body::to_bytes(body, MAX_CACHED_BODY).await else {
            return Response::from_parts(parts, Body::empty());
        };
        let cached = Arc::new(Cached {
            status: parts.status,
            headers: parts.headers.clone(),
            body: body.clone(),
        });
        self.store.lock().keep(
            self.id.clone(),
            Entry {
                binding: self.binding.clone(),
                slot: Slot::Done(cached.clone()),
            },
        );
        self.kept = true;
        let _ = self.tx.send(Some(cached));
        Response::from_parts(parts, Body::from(body))
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        if self.kept {
            return;
        }
        let mut entries = self.store.lock();
        if entries
            .by_id
            .get(&self.id)
            .is_some_and(|e| matches!(e.slot, Slot::InFlight(_)))
        {
            entries.by_id.remove(&self.id);
        }
    }
}

/// Waits up to `bound` for an in-flight request's answer: `None` when it was released
/// (not settled) or is still running.
pub async fn wait_for(
    mut rx: watch::Receiver<Option<Arc<Cached>>>,
    bound: Duration,
) -> Option<Arc<Cached>> {
    let done = tokio::time::timeout(bound, rx.wait_for(Option::is_some)).await;
    match done {
        Ok(Ok(cached)) => cached.clone(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn binding(payload: Value) -> Binding {
        Binding {
            method: "GET".into(),
            path: "/premium",
            payload,
        }
    }

    fn fresh(store: &IdempotencyStore, payload: Value) -> Reservation {
        match store.lookup("id", binding(payload), true, true) {
            Lookup::Fresh(r) => r,
            _ => panic!("a new or released id is fresh"),
        }
    }

    fn in_flight(store: &IdempotencyStore, payload: Value) -> watch::Receiver<Option<Arc<Cached>>> {
        match store.lookup("id", binding(payload), true, true) {
            Lookup::InFlight(rx) => rx,
            _ => panic!("a reserved id is in flight"),
        }
    }

    fn answer() -> Response {
        let mut r = Response::new(Body::from("paid"));
        r.headers_mut()
            .insert("payment-response", "receipt".parse().unwrap());
        r
    }

    #[tokio::test]
    async fn a_settled_answer_is_kept_and_bound_to_its_request() {
        let store = IdempotencyStore::default();
        let r = fresh(&store, json!({"a": 1}));
        in_flight(&store, json!({"a": 1}));
        r.keep(answer(), true).await;
        let Lookup::Cached(c) = store.lookup("id", binding(json!({"a": 1})), true, true) else {
            panic!("a settled id is cached");
        };
        let again = c.response();
        assert_eq!(again.headers()["payment-response"], "receipt");
        let body = axum::body::to_bytes(again.into_body(), 100).await.unwrap();
        assert_eq!(&body[..], b"paid");
        assert!(matches!(
            store.lookup("id", binding(json!({"a": 2})), true, true),
            Lookup::Conflict
        ));
        assert!(matches!(
            store.lookup("id", binding(json!({"a": 2})), false, true),
            Lookup::Cached(_)
        ));
    }

    #[tokio::test]
    async fn an_unsettled_or_dropped_reservation_releases_the_id() {
        let store = IdempotencyStore::default();
        fresh(&store, json!(1)).keep(answer(), false).await;
        let r = fresh(&store, json!(2));
        let rx = in_flight(&store, json!(2));
        drop(r);
        assert!(wait_for(rx, Duration::from_secs(5)).await.is_none());
        fresh(&store, json!(3));
    }

    #[tokio::test]
    async fn the_oldest_answers_go_past_the_bound() {
        let store = IdempotencyStore::default();
        for n in 0..=MAX_KEPT_IDS {
            let id = format!("id-{n}");
            let Lookup::Fresh(r) = store.lookup(&id, binding(json!(n)), true, true) else {
                panic!("fresh");
            };
            r.keep(answer(), true).await;
        }
        assert!(matches!(
            store.lookup("id-0", binding(json!(0)), true, true),
            Lookup::Fresh(_)
        ));
        let last = format!("id-{MAX_KEPT_IDS}");
        assert!(matches!(
            store.lookup(&last, binding(json!(MAX_KEPT_IDS)), true, true),
            Lookup::Cached(_)
        ));
        assert_eq!(store.lock().answered.len(), MAX_KEPT_IDS);
    }

    #[tokio::test]
    async fn a_waiter_gets_the_answer_of_the_request_in_flight() {
        let store = IdempotencyStore::default();
        let r = fresh(&store, json!(1));
        let rx = in_flight(&store, json!(1));
        let waiter = tokio::spawn(wait_for(rx, Duration::from_secs(30)));
        r.keep(answer(), true).await;
        assert!(waiter.await.unwrap().is_some());
    }
}
