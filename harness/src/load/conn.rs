//! What paycheck's own executors share: a worker's one HTTP/1.1 connection ([`crate::target::http1`],
//! opened when first needed, reopened after a failure or a close) and sending a planned
//! request on it, timed and judged. The open model ([`super::open`]) and the closed model's lean engine
//! ([`super::users`]) both send this way.

use super::metrics::{Metrics, Sample, Violation};
use super::profile::Txn;
use super::txn::{Plan, Planned};
use crate::target::http1::{Answer, Failure, Http1};
use std::net::SocketAddr;
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
    /// Where the server is.
    server: Server,
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
    /// A client of the plan's server (its address resolved once, here).
    pub async fn new(
        plan: Arc<Plan>,
        metrics: Arc<Metrics>,
        served: Arc<Mutex<Vec<String>>>,
        timeout: Duration,
    ) -> Result<Self, String> {
        let server = Server::resolve(&plan.base_url).await?;
        Ok(Self {
            server,
            plan,
            metrics,
            served,
            timeout,
        })
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
            tokio::time::timeout(self.timeout, conn.exchange(&self.server, &planned)).await;
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
    /// new one, as browsers and reqwest do; its latency includes both tries. A request that
    /// spends a payment never goes twice: the server may have taken it.
    async fn exchange(&mut self, server: &Server, planned: &Planned) -> Result<Answer, Failure> {
        if self.open.as_ref().is_some_and(Http1::is_stale) {
            self.close();
        }
        match self.send_once(server, planned).await {
            Err(e) if e.stale && planned.method.is_safe() && planned.ticket.is_none() => {
                self.close();
                self.send_once(server, planned).await
            }
            other => other,
        }
    }

    async fn send_once(&mut self, server: &Server, planned: &Planned) -> Result<Answer, Failure> {
        let http = match &mut self.open {
            Some(open) => open,
            None => self.open.insert(Http1::connect(&server.addrs).await?),
        };
        let path = if server.prefix.is_empty() {
            std::borrow::Cow::Borrowed(planned.path.as_str())
        } else {
            std::borrow::Cow::Owned(format!("{}{}", server.prefix, planned.path))
        };
        let (answer, keep_alive) = http
            .exchange(
                &planned.method,
                &path,
                &server.authority,
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

/// Waits up to `grace` for the workers to finish the requests they have, then cancels the
/// rest and waits for them to go, so no sample lands after the run. A worker that
/// panicked stops the run with the reason (its share of the load was missing).
pub async fn drain(mut workers: tokio::task::JoinSet<()>, grace: Duration, stop: &super::Stop) {
    let deadline = tokio::time::Instant::now() + grace;
    loop {
        let joined = match tokio::time::timeout_at(deadline, workers.join_next()).await {
            Ok(Some(joined)) => joined,
            Ok(None) => return,
            Err(_) => {
                workers.abort_all();
                while workers.join_next().await.is_some() {}
                return;
            }
        };
        if let Err(e) = joined
            && e.is_panic()
        {
            stop.stop(format!("a load worker failed: {e}"));
        }
    }
}

/// Where a run's server is: resolved once, so that no connection waits on a lookup.
#[derive(Debug)]
struct Server {
    /// Its addresses.
    addrs: Vec<SocketAddr>,
    /// `host:port`, for the Host header.
    authority: String,
    /// The base URL's path, prefixed to every route's (`""` for none).
    prefix: String,
}

impl Server {
    /// The server of an `http://` base URL. paycheck's executors speak plain HTTP/1.1.
    async fn resolve(base_url: &str) -> Result<Self, String> {
        let (host, port, prefix) = parts(base_url)?;
        let authority = if host.contains(':') {
            format!("[{host}]:{port}")
        } else {
            format!("{host}:{port}")
        };
        let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), port))
            .await
            .map_err(|e| format!("{base_url}: cannot resolve {host}: {e}"))?
            .collect();
        if addrs.is_empty() {
            return Err(format!("{base_url}: {host} has no address"));
        }
        Ok(Self {
            addrs,
            authority,
            prefix,
        })
    }
}

/// Whether paycheck's executors can load this base URL (plain `http://`).
pub fn check_base_url(base_url: &str) -> Result<(), String> {
    parts(base_url).map(|_| ())
}

/// Host, port (the default when none is given) and path prefix of an `http://` base URL.
fn parts(base_url: &str) -> Result<(String, u16, String), String> {
    let url = reqwest::Url::parse(base_url).map_err(|e| format!("{base_url}: {e}"))?;
    if url.scheme() != "http" {
        return Err(format!(
            "{base_url}: paycheck's load executors speak plain HTTP; for an {} server use the closed model on goose (model = \"closed\", the default engine)",
            url.scheme()
        ));
    }
    let host = url
        .host_str()
        .ok_or_else(|| format!("{base_url}: no host"))?
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_string();
    let port = url.port_or_known_default().unwrap_or(80);
    let prefix = url.path().trim_end_matches('/').to_string();
    Ok((host, port, prefix))
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
        let server = Server::resolve(&format!("http://{at}")).await.unwrap();
        let mut conn = Connection::default();
        for _ in 0..5 {
            let answer = conn.exchange(&server, &planned).await.unwrap();
            assert_eq!(answer.status, 402);
        }
    }

    #[test]
    fn a_base_url_gives_host_port_and_prefix() {
        let p = |u| parts(u).unwrap();
        assert_eq!(
            p("http://127.0.0.1:8080/"),
            ("127.0.0.1".into(), 8080, "".into())
        );
        assert_eq!(p("http://[::1]"), ("::1".into(), 80, "".into()));
        assert_eq!(
            p("http://localhost:9/api/"),
            ("localhost".into(), 9, "/api".into())
        );
        assert!(parts("https://127.0.0.1").unwrap_err().contains("goose"));
    }
}
