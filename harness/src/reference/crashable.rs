//! A reference server that can crash as a process does: it runs on a tokio runtime of its
//! own, so that [`CrashableServer::crash_and_restart`] drops at once every task it runs
//! (in-flight requests, detached settlements, its in-memory payment-identifier store) and
//! starts it afresh on the same port, as SIGKILL and a restart do to a spawned server.

use super::{ReferenceConfig, ReferenceServer};
use std::net::SocketAddr;
use std::thread::JoinHandle;
use std::time::Duration;
use tokio::sync::{Mutex, oneshot};

/// How long ending a life waits for its tasks to be dropped.
const SHUTDOWN_WAIT: Duration = Duration::from_secs(2);
/// How long a restart keeps trying to bind the port a crashed life held.
const REBIND_WAIT: Duration = Duration::from_secs(2);

/// How the server's runtime is ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum End {
    /// Stop accepting, finish what is in flight.
    Graceful,
    /// Drop everything at once.
    Crash,
}

/// One life of the server: its runtime thread and the way to end it.
#[derive(Debug)]
struct Life {
    end: oneshot::Sender<End>,
    thread: JoinHandle<()>,
}

/// A reference server on its own runtime, which can be crashed and restarted.
#[derive(Debug)]
pub struct CrashableServer {
    config: ReferenceConfig,
    addr: SocketAddr,
    life: Mutex<Option<Life>>,
}

impl CrashableServer {
    /// Starts a reference server on a runtime of its own.
    pub async fn start(mut config: ReferenceConfig) -> std::io::Result<Self> {
        let (life, addr) = live(config.clone()).await?;
        // Every later life listens where the first one did.
        config.bind = addr;
        Ok(Self {
            config,
            addr,
            life: Mutex::new(Some(life)),
        })
    }

    /// Its base URL, `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Kills it at once (nothing in flight completes, nothing in memory survives) and
    /// starts it again on the same port with the same configuration.
    pub async fn crash_and_restart(&self) -> std::io::Result<()> {
        let mut life = self.life.lock().await;
        if let Some(old) = life.take() {
            end(old, End::Crash).await;
        }
        let started = std::time::Instant::now();
        let new = loop {
            match live(self.config.clone()).await {
                Ok((new, _)) => break new,
                Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => {
                    if started.elapsed() > REBIND_WAIT {
                        return Err(e);
                    }
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                Err(e) => return Err(e),
            }
        };
        *life = Some(new);
        Ok(())
    }

    /// Stops it, letting what is in flight finish.
    pub async fn stop(&self) {
        if let Some(life) = self.life.lock().await.take() {
            end(life, End::Graceful).await;
        }
    }
}

/// Starts one life of the server: a thread with a one-worker runtime serving `config`.
async fn live(config: ReferenceConfig) -> std::io::Result<(Life, SocketAddr)> {
    let (started_tx, started_rx) = oneshot::channel();
    let (end_tx, end_rx) = oneshot::channel::<End>();
    let thread = std::thread::Builder::new()
        .name("paycheck-reference".into())
        .spawn(move || {
            let runtime = match tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .enable_all()
                .build()
            {
                Ok(rt) => rt,
                Err(e) => {
                    let _ = started_tx.send(Err(e));
                    return;
                }
            };
            runtime.block_on(async move {
                let server = match ReferenceServer::start(config).await {
                    Ok(s) => s,
                    Err(e) => {
                        let _ = started_tx.send(Err(e));
                        return;
                    }
                };
                let _ = started_tx.send(Ok(server.addr()));
                match end_rx.await.unwrap_or(End::Graceful) {
                    End::Graceful => server.stop().await,
                    // Its tasks are dropped with the runtime below, unfinished.
                    End::Crash => drop(server),
                }
            });
            // Waits for the worker to drop every task (and so the listener), so that the
            // next life can bind the port at once.
            runtime.shutdown_timeout(SHUTDOWN_WAIT);
        })?;
    let addr = started_rx
        .await
        .map_err(|_| std::io::Error::other("the reference server's thread ended at start"))??;
    Ok((
        Life {
            end: end_tx,
            thread,
        },
        addr,
    ))
}

/// Ends one life and waits for its thread.
async fn end(life: Life, how: End) {
    let _ = life.end.send(how);
    let _ = tokio::task::spawn_blocking(move || life.thread.join()).await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::Dialect;

    #[tokio::test]
    async fn a_crashed_server_answers_again_on_the_same_port() {
        let config = ReferenceConfig::new(Dialect::X402V2, "http://127.0.0.1:9");
        let server = CrashableServer::start(config).await.unwrap();
        let url = format!("{}/health", server.url());
        let client = reqwest::Client::builder().no_proxy().build().unwrap();
        assert_eq!(client.get(&url).send().await.unwrap().status(), 200);
        server.crash_and_restart().await.unwrap();
        assert_eq!(client.get(&url).send().await.unwrap().status(), 200);
        server.stop().await;
    }
}
