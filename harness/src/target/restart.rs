//! Crashing the server under test and starting it again, for `retry/crash-restart`: a
//! spawned server gets SIGKILL and its command runs again on the same port; the embedded
//! reference server loses its runtime (every task, all it held in memory) and starts afresh.

use super::spawn::Spawned;
use crate::reference::CrashableServer;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

/// What [`Restart::crash_and_restart`] returns.
pub type RestartFuture<'a> = Pin<Box<dyn Future<Output = Result<(), String>> + Send + 'a>>;

/// A server under test that paycheck can crash and start again.
pub trait Restart: Send + Sync {
    /// Kills the server at once (nothing in flight completes) and starts it again on the
    /// same port; `Err` says why it did not come back.
    fn crash_and_restart(&self) -> RestartFuture<'_>;
}

/// A spawned server that checks may crash and restart (`--spawn`).
#[derive(Debug)]
pub struct SpawnedRestart {
    server: tokio::sync::Mutex<Spawned>,
    startup: Duration,
}

impl SpawnedRestart {
    /// Wraps a spawned server; a restart waits up to `startup` for its port.
    pub fn new(server: Spawned, startup: Duration) -> Self {
        Self {
            server: tokio::sync::Mutex::new(server),
            startup,
        }
    }

    /// The spawned server, to stop it.
    pub fn into_inner(self) -> Spawned {
        self.server.into_inner()
    }
}

impl Restart for SpawnedRestart {
    fn crash_and_restart(&self) -> RestartFuture<'_> {
        Box::pin(async move {
            let mut server = self.server.lock().await;
            server
                .kill_and_restart(self.startup)
                .await
                .map_err(|e| format!("after SIGKILL, the server did not come back: {e}"))
        })
    }
}

impl Restart for CrashableServer {
    fn crash_and_restart(&self) -> RestartFuture<'_> {
        Box::pin(async move {
            CrashableServer::crash_and_restart(self)
                .await
                .map_err(|e| format!("the embedded server did not restart: {e}"))
        })
    }
}
