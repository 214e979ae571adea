//! Runs an axum router on a loopback address until told to stop.

use axum::Router;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use std::io;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// How long a stopping server waits for requests in flight before it drops them.
const STOP_GRACE: Duration = Duration::from_secs(5);

/// A JSON answer with its status (every paycheck server answers JSON this way).
pub fn json_response(status: StatusCode, body: &Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

/// A server running on loopback.
#[derive(Debug)]
pub struct RunningServer {
    addr: SocketAddr,
    shutdown: watch::Sender<bool>,
    task: JoinHandle<()>,
}

/// Refuses any address that is not loopback: paycheck's servers are for local tests.
pub fn ensure_loopback(addr: SocketAddr) -> io::Result<()> {
    if addr.ip().is_loopback() {
        Ok(())
    } else {
        Err(io::Error::new(
            io::ErrorKind::PermissionDenied,
            format!("{addr} is not a loopback address; paycheck serves on 127.0.0.1 or ::1 only"),
        ))
    }
}

/// A stop signal that handlers can wait on (a hanging fault ends when the server stops).
pub type StopSignal = watch::Receiver<bool>;

/// Waits until `signal` says stop.
pub async fn stopped(mut signal: StopSignal) {
    while !*signal.borrow_and_update() {
        if signal.changed().await.is_err() {
            return;
        }
    }
}

/// A fresh stop signal pair, for state that must exist before the server starts.
pub fn stop_channel() -> (watch::Sender<bool>, StopSignal) {
    watch::channel(false)
}

/// Binds `addr` (port 0 picks a free port) and serves `router` until [`RunningServer::stop`].
pub async fn serve(
    router: Router,
    addr: SocketAddr,
    shutdown: watch::Sender<bool>,
) -> io::Result<RunningServer> {
    ensure_loopback(addr)?;
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let addr = listener.local_addr()?;
    let signal = shutdown.subscribe();
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, router)
            .with_graceful_shutdown(stopped(signal))
            .await;
    });
    Ok(RunningServer {
        addr,
        shutdown,
        task,
    })
}

impl RunningServer {
    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://ADDR` with no trailing slash.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops accepting, lets requests in flight finish for a few seconds, then drops them.
    pub async fn stop(self) {
        let _ = self.shutdown.send(true);
        let mut task = self.task;
        if tokio::time::timeout(STOP_GRACE, &mut task).await.is_err() {
            task.abort();
        }
    }
}
