//! A server under test started by paycheck (`--spawn CMD`): run through the shell in its
//! own process group with `PORT` and the mock URLs in its environment, waited for until
//! its port answers, and stopped with all its children. Its output goes to a log file.

use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};
use tokio::process::{Child, Command};

/// How often readiness is probed while the server starts.
const PROBE_INTERVAL: Duration = Duration::from_millis(100);
/// How long a stopping server gets after SIGTERM before SIGKILL.
const STOP_GRACE: Duration = Duration::from_secs(5);

/// Why a spawned server is not usable.
#[derive(Debug, thiserror::Error)]
pub enum SpawnError {
    /// The shell could not be started.
    #[error("cannot run '{command}': {error}")]
    Start {
        /// The command.
        command: String,
        /// Why.
        error: std::io::Error,
    },
    /// The command ended before its port answered.
    #[error(
        "'{command}' exited with {status} before port {port} answered; its last output:\n{output}"
    )]
    Exited {
        /// The command.
        command: String,
        /// Its exit status.
        status: String,
        /// The port it was given.
        port: u16,
        /// The end of what it printed.
        output: String,
    },
    /// The port did not answer in time.
    #[error(
        "'{command}' did not answer on port {port} within {waited:?}; does it listen on $PORT?"
    )]
    NotReady {
        /// The command.
        command: String,
        /// The port it was given.
        port: u16,
        /// How long paycheck waited.
        waited: Duration,
    },
}

/// A running spawned server.
#[derive(Debug)]
pub struct Spawned {
    child: Child,
    command: String,
    /// The environment it was started with (beyond `PORT`), for a restart.
    env: Vec<(String, String)>,
    /// Its process group (the shell's pid), kept once the shell itself is gone.
    group: Option<i32>,
    /// The port it was told to listen on.
    pub port: u16,
    /// Where its output goes.
    pub log: PathBuf,
}

/// A free port on 127.0.0.1, found by binding port 0 and letting go.
pub fn free_port() -> std::io::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

impl Spawned {
    /// Runs `command` through `sh -c` with `PORT` and `env` set, in its own process group,
    /// its output going to `log`. Call [`Spawned::wait_ready`] next.
    pub fn spawn(command: &str, env: &[(&str, String)], log: &Path) -> Result<Self, SpawnError> {
        let port = free_port().map_err(|error| SpawnError::Start {
            command: command.into(),
            error,
        })?;
        let env = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect();
        Self::start(command, env, log, port, false)
    }

    /// Starts `command` on `port`; `append` keeps what `log` holds (a restart).
    fn start(
        command: &str,
        env: Vec<(String, String)>,
        log: &Path,
        port: u16,
        append: bool,
    ) -> Result<Self, SpawnError> {
        let start_error = |error| SpawnError::Start {
            command: command.into(),
            error,
        };
        if let Some(dir) = log.parent() {
            std::fs::create_dir_all(dir).map_err(start_error)?;
        }
        let out = std::fs::OpenOptions::new()
            .create(true)
            .write(true)
            .append(append)
            .truncate(!append)
            .open(log)
            .map_err(start_error)?;
        let err = out.try_clone().map_err(start_error)?;
        let mut cmd = Command::new("sh");
        cmd.arg("-c")
            .arg(command)
            .env("PORT", port.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::from(out))
            .stderr(Stdio::from(err))
            .process_group(0)
            .kill_on_drop(true);
        for (k, v) in &env {
            cmd.env(k, v);
        }
        let child = cmd.spawn().map_err(start_error)?;
        Ok(Spawned {
            group: child.id().map(|pid| -(pid as i32)),
            child,
            command: command.to_string(),
            env,
            port,
            log: log.to_path_buf(),
        })
    }

    /// Waits until the server accepts connections on 127.0.0.1:PORT (at most `startup`).
    /// On an error the caller still owns the server and should [`Spawned::stop`] it.
    pub async fn wait_ready(&mut self, startup: Duration) -> Result<(), SpawnError> {
        let started = Instant::now();
        let addr = SocketAddr::from(([127, 0, 0, 1], self.port));
        loop {
            if tokio::net::TcpStream::connect(addr).await.is_ok() {
                return Ok(());
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(SpawnError::Exited {
                    command: self.command.clone(),
                    status: status.to_string(),
                    port: self.port,
                    output: self.tail_output(),
                });
            }
            if started.elapsed() > startup {
                return Err(SpawnError::NotReady {
                    command: self.command.clone(),
                    port: self.port,
                    waited: startup,
                });
            }
            tokio::time::sleep(PROBE_INTERVAL).await;
        }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The last 20 lines the server printed (read from the last 64 KiB of its log, however
    /// much it wrote).
    pub fn tail_output(&self) -> String {
        use std::io::{Read, Seek, SeekFrom};
        const TAIL: u64 = 64 * 1024;
        let mut bytes = Vec::new();
        if let Ok(mut file) = std::fs::File::open(&self.log) {
            let len = file.metadata().map_or(0, |m| m.len());
            let _ = file.seek(SeekFrom::Start(len.saturating_sub(TAIL)));
            let _ = file.take(TAIL).read_to_end(&mut bytes);
        }
        let text = String::from_utf8_lossy(&bytes);
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }

    /// Kills the server and everything it started at once (SIGKILL to its process group,
    /// as a crash does), then starts the same command on the same port, its output going
    /// on in the same log, and waits for its port.
    pub async fn kill_and_restart(&mut self, startup: Duration) -> Result<(), SpawnError> {
        if let Some(group) = self.group {
            // SAFETY: kill(2) with a negative pid signals the process group paycheck created.
            unsafe { libc::kill(group, libc::SIGKILL) };
        }
        let _ = self.child.wait().await;
        // The group's processes close their sockets as they die: wait (bounded) until the
        // port no longer answers, so that "ready" below is the new server's port.
        let addr = SocketAddr::from(([127, 0, 0, 1], self.port));
        let closing = Instant::now();
        while tokio::net::TcpStream::connect(addr).await.is_ok() && closing.elapsed() < STOP_GRACE {
            tokio::time::sleep(PROBE_INTERVAL / 10).await;
        }
        let mut again = Self::start(&self.command, self.env.clone(), &self.log, self.port, true)?;
        std::mem::swap(self, &mut again);
        // `again` now holds the killed child, which has been waited for.
        self.wait_ready(startup).await
    }

    /// Stops the server and everything it started: SIGTERM to its process group, then
    /// SIGKILL after a grace period.
    pub async fn stop(mut self) {
        let Some(group) = self.group else { return };
        // SAFETY: kill(2) with a negative pid signals the process group paycheck created.
        unsafe { libc::kill(group, libc::SIGTERM) };
        if tokio::time::timeout(STOP_GRACE, self.child.wait())
            .await
            .is_err()
        {
            // SAFETY: as above.
            unsafe { libc::kill(group, libc::SIGKILL) };
            let _ = self.child.wait().await;
        } else {
            // The shell is gone; make sure nothing it started outlives it.
            // SAFETY: as above.
            unsafe { libc::kill(group, libc::SIGKILL) };
        }
    }
}
