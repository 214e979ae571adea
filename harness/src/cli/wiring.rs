//! Target wiring shared by the commands that test a server (`run`, `props`, `snapshot`,
//! `load`): the mocks a spawned or wired server talks to, starting a server with their
//! URLs in its environment, and the loopback rule.

use super::Exit;
use super::args::MockPorts;
use crate::mocks::lightning::TEST_API_KEY;
use crate::mocks::{FacilitatorConfig, LightningConfig, MockFacilitator, MockLightning};
use crate::serve::{StopSignal, stopped};
use crate::target::spawn::Spawned;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// Refuses a URL that is not on loopback: paycheck sends traffic to 127.0.0.1, ::1 or
/// localhost only.
pub(super) fn check_loopback(url: &str) -> Result<(), String> {
    let parsed = reqwest::Url::parse(url).map_err(|e| format!("--target '{url}': {e}"))?;
    let host = parsed
        .host_str()
        .unwrap_or("")
        .trim_start_matches('[')
        .trim_end_matches(']');
    let loopback = host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    if loopback {
        Ok(())
    } else {
        Err(format!(
            "--target '{url}' is not a loopback address: paycheck tests servers on 127.0.0.1, ::1 or localhost only"
        ))
    }
}

/// `Err` with the reason (the run then exits 3) unless something accepts TCP at `url`
/// within `timeout`.
pub(super) async fn ensure_reachable(url: &str, timeout: Duration) -> Result<(), String> {
    let addr = reqwest::Url::parse(url)
        .ok()
        .and_then(|u| u.socket_addrs(|| Some(80)).ok())
        .and_then(|a| a.into_iter().next());
    let Some(addr) = addr else {
        return Err(format!("cannot resolve {url} to an address"));
    };
    match tokio::time::timeout(timeout, tokio::net::TcpStream::connect(addr)).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(format!(
            "cannot connect to {url}: {e}: is the server running?"
        )),
        Err(_) => Err(format!(
            "no connection to {url} within {:.1} s: is the server running?",
            timeout.as_secs_f64()
        )),
    }
}

/// The mocks a spawned or wired server talks to.
pub(super) struct Mocks {
    /// The mock facilitator, when started.
    pub(super) facilitator: Option<Arc<MockFacilitator>>,
    /// The mock Lightning backend, when started.
    pub(super) lightning: Option<Arc<MockLightning>>,
}

impl Mocks {
    /// Starts the mock facilitator and the mock Lightning backend as `ports` asks for a
    /// spawned or a `--target` server ([`MockPorts::wanted`]); `journal` bounds the
    /// facilitator's journal (load runs).
    pub(super) async fn start(
        ports: &MockPorts,
        spawned: bool,
        journal: Option<usize>,
    ) -> Result<Self, Exit> {
        let (facilitator, lightning) = ports.wanted(spawned);
        let bind = |port: Option<u16>| SocketAddr::from(([127, 0, 0, 1], port.unwrap_or(0)));
        let cannot = |what: &str, port: Option<u16>, e: std::io::Error| {
            eprintln!(
                "error: cannot start the mock {what} on 127.0.0.1:{}: {e}",
                port.unwrap_or(0)
            );
            Exit::Unreachable
        };
        let facilitator = match facilitator {
            Some(port) => Some(Arc::new(
                MockFacilitator::start(FacilitatorConfig {
                    bind: bind(port),
                    journal_capacity: journal,
                    ..FacilitatorConfig::default()
                })
                .await
                .map_err(|e| cannot("facilitator", port, e))?,
            )),
            None => None,
        };
        let lightning = match lightning {
            Some(port) => Some(Arc::new(
                MockLightning::start(LightningConfig {
                    bind: bind(port),
                    ..LightningConfig::default()
                })
                .await
                .map_err(|e| cannot("Lightning backend", port, e))?,
            )),
            None => None,
        };
        Ok(Self {
            facilitator,
            lightning,
        })
    }

    /// Stops both.
    pub(super) async fn stop(self) {
        if let Some(f) = self.facilitator.and_then(|f| Arc::try_unwrap(f).ok()) {
            f.stop().await;
        }
        if let Some(l) = self.lightning.and_then(|l| Arc::try_unwrap(l).ok()) {
            l.stop().await;
        }
    }
}

/// How a server is spawned.
pub(super) struct SpawnSettings {
    /// Where its output goes.
    pub(super) log: PathBuf,
    /// How long it may take to answer on its port.
    pub(super) startup: Duration,
}

/// Starts `command` with `PORT` and the mocks' URLs in its environment and waits for its
/// port. `Ok(None)` when Ctrl-C came first.
pub(super) async fn spawn_server(
    command: &str,
    mocks: &Mocks,
    settings: &SpawnSettings,
    stop: &StopSignal,
) -> Result<Option<Spawned>, Exit> {
    let mut env = Vec::new();
    if let Some(f) = &mocks.facilitator {
        env.push(("FACILITATOR_URL", f.url()));
    }
    if let Some(l) = &mocks.lightning {
        env.push(("LIGHTNING_URL", l.url()));
        env.push(("LIGHTNING_API_KEY", TEST_API_KEY.to_string()));
    }
    eprintln!(
        "starting: {command} (PORT, FACILITATOR_URL, LIGHTNING_URL and LIGHTNING_API_KEY set; output in {})",
        settings.log.display()
    );
    let mut server = match Spawned::spawn(command, &env, &settings.log) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return Err(Exit::Unreachable);
        }
    };
    let ready = tokio::select! {
        r = server.wait_ready(settings.startup) => Some(r),
        _ = stopped(stop.clone()) => None,
    };
    match ready {
        Some(Ok(())) => Ok(Some(server)),
        Some(Err(e)) => {
            eprintln!("error: {e}");
            server.stop().await;
            Err(Exit::Unreachable)
        }
        None => {
            server.stop().await;
            Ok(None)
        }
    }
}
