//! What paycheck's own executors share: a worker's one HTTP/1.1 connection ([`super::http1`],
//! opened when first needed, reopened after a failure or a close) and sending a planned
//! request on it, timed and judged. The open model ([`super::open`]) and the closed model's lean engine
//! ([`super::users`]) both send this way.

use super::http1::{Answer, Failure, Http1};
use super::metrics::{Metrics, Sample, Violation};
use super::profile::Txn;
use super::txn::{Plan, Planned};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Where requests go and where their results go: shared by every worker of a run.
pub struct Client {
    /// What to send and how to judge answers.
    pub plan: Arc<Plan>,
    /// Where samples go.
    pub metrics: Arc<Metrics>,
    /// The ids of the paid payments served.
    pub served: Arc<Mutex<Vec<String>>>,
    /// `host:port` of the server, for connecting.
    authority: String,
    /// Each request gives up after this.
    timeout: Duration,
}

/// A request to send, and when it was meant to go (closed model: when it was made).
pub struct Arrival {
    /// The request.
    pub planned: Planned,
    /// When it was meant to be sent; latency is corrected from here.
    pub intended: Instant,
}

impl Client {
    /// A client of the plan's server.
    pub fn new(
        plan: Arc<Plan>,
        metrics: Arc<Metrics>,
        served: Arc<Mutex<Vec<String>>>,
        timeout: Duration,
    ) -> Self {
        let authority = authority(&plan.base_url);
        Self {
            authority,
            plan,
            metrics,
            served,
            timeout,
        }
    }

    /// Sends one request on `conn`, judges the answer and records it.
    pub async fn send(&self, conn: &mut Connection, arrival: Arrival) {
        let ticket = arrival.planned.ticket.clone();
        // Boxed: a waiting worker then holds only its connection, not the state of a
        // request in progress (10k idle workers cost a few MB, not 150).
        let (sample, served) = Box::pin(self.exchange(conn, arrival)).await;
        self.metrics.record(sample);
        if served && let Some(t) = ticket {
            self.served
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(t);
        }
    }

    async fn exchange(&self, conn: &mut Connection, arrival: Arrival) -> (Sample, bool) {
        let Arrival { planned, intended } = arrival;
        let txn: Txn = planned.txn;
        let sent = Instant::now();
        let answer =
            tokio::time::timeout(self.timeout, conn.exchange(&self.authority, &planned)).await;
        let done = Instant::now();
        let failure = |kind: &str, message: String| {
            Some(Violation {
                kind: kind.into(),
                message,
            })
        };
        let (status, violation) = match answer {
            Ok(Ok(Answer {
                status,
                headers,
                body,
            })) => (Some(status), self.plan.judge(txn, status, &headers, &body)),
            Ok(Err(e)) => {
                conn.close();
                (None, failure("no-answer", e.message))
            }
            Err(_) => {
                conn.close();
                let ms = self.timeout.as_millis();
                (
                    None,
                    failure("timeout", format!("no answer within {ms} ms")),
                )
            }
        };
        let served = status.is_some_and(|s| (200..300).contains(&s)) && violation.is_none();
        let sample = Sample {
            txn,
            intended,
            sent,
            done,
            status,
            violation,
        };
        (sample, served)
    }
}

/// A worker's connection: opened when first needed, dropped after a failure or when the
/// server closes it.
#[derive(Debug, Default)]
pub struct Connection {
    open: Option<Http1>,
}

impl Connection {
    /// Drops the connection; the next request opens a new one.
    pub fn close(&mut self) {
        self.open = None;
    }

    /// Sends `planned` (opening the connection if need be) and reads the answer. A safe
    /// request that finds its kept-alive connection closed by the server goes again on a
    /// new one, as browsers and reqwest do; its latency includes both tries.
    async fn exchange(&mut self, authority: &str, planned: &Planned) -> Result<Answer, Failure> {
        if self.open.as_mut().is_some_and(Http1::is_stale) {
            self.close();
        }
        match self.send_once(authority, planned).await {
            Err(e) if e.stale && planned.method.is_safe() => {
                self.close();
                self.send_once(authority, planned).await
            }
            other => other,
        }
    }

    async fn send_once(&mut self, authority: &str, planned: &Planned) -> Result<Answer, Failure> {
        let http = match &mut self.open {
            Some(open) => open,
            None => self.open.insert(Http1::connect(authority).await?),
        };
        let (answer, keep_alive) = http
            .exchange(
                &planned.method,
                &planned.path,
                authority,
                &planned.headers,
                &planned.body,
            )
            .await?;
        if !keep_alive {
            self.close();
        }
        Ok(answer)
    }
}

/// `host:port` of a base URL (`http://127.0.0.1:8080` → `127.0.0.1:8080`).
fn authority(base_url: &str) -> String {
    base_url
        .split("://")
        .nth(1)
        .unwrap_or(base_url)
        .trim_end_matches('/')
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A server that answers one request per connection, then closes it without saying
    /// so (a keep-alive timeout of zero).
    async fn one_answer_per_connection() -> String {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let at = listener.local_addr().unwrap().to_string();
        tokio::spawn(async move {
            while let Ok((mut s, _)) = listener.accept().await {
                let mut buf = vec![0u8; 4096];
                let mut n = 0;
                while !buf[..n].ends_with(b"\r\n\r\n") {
                    n += s.read(&mut buf[n..]).await.unwrap();
                }
                s.write_all(b"HTTP/1.1 402 Payment Required\r\ncontent-length: 0\r\n\r\n")
                    .await
                    .unwrap();
            }
        });
        at
    }

    #[tokio::test]
    async fn a_safe_request_survives_the_server_closing_idle_connections() {
        let at = one_answer_per_connection().await;
        let planned = Planned {
            txn: Txn::Unpaid,
            method: axum::http::Method::GET,
            path: "/premium".into(),
            headers: Default::default(),
            body: Default::default(),
            ticket: None,
        };
        let mut conn = Connection::default();
        for _ in 0..5 {
            let answer = conn.exchange(&at, &planned).await.unwrap();
            assert_eq!(answer.status, 402);
        }
    }

    #[test]
    fn the_authority_is_host_and_port() {
        assert_eq!(authority("http://127.0.0.1:8080/"), "127.0.0.1:8080");
        assert_eq!(authority("http://[::1]:80"), "[::1]:80");
    }
}
