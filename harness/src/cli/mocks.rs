//! `paycheck mocks`: the mock facilitator and the mock Lightning backend as standalone
//! servers.

use super::args::MocksArgs;
use super::{Exit, wait_for_stop};
use crate::mocks::{FacilitatorConfig, LightningConfig, MockFacilitator, MockLightning};
use std::io::Write;
use std::net::SocketAddr;

pub(super) async fn mocks(args: MocksArgs) -> Exit {
    let bind = |port| SocketAddr::from(([127, 0, 0, 1], port));
    let facilitator = match MockFacilitator::start(FacilitatorConfig {
        bind: bind(args.facilitator_port),
        ..FacilitatorConfig::default()
    })
    .await
    {
        Ok(f) => f,
        Err(e) => {
            eprintln!(
                "error: cannot listen on 127.0.0.1:{}: {e}. Pick another --facilitator-port, or 0 for a free one.",
                args.facilitator_port
            );
            return Exit::Unreachable;
        }
    };
    let lightning = match MockLightning::start(LightningConfig {
        bind: bind(args.lightning_port),
        ..LightningConfig::default()
    })
    .await
    {
        Ok(l) => l,
        Err(e) => {
            eprintln!(
                "error: cannot listen on 127.0.0.1:{}: {e}. Pick another --lightning-port, or 0 for a free one.",
                args.lightning_port
            );
            facilitator.stop().await;
            return Exit::Unreachable;
        }
    };
    facilitator.faults().set(args.faults);
    lightning.faults().set(args.lightning_faults);
    out!("facilitator: {}", facilitator.url());
    out!("lightning: {}", lightning.url());
    let _ = std::io::stdout().flush();
    eprintln!(
        "serving until Ctrl-C; journals at {0}/_paycheck/journal and {1}/_paycheck/journal; the Lightning backend speaks LNbits' /api/v1/payments (any X-Api-Key)",
        facilitator.url(),
        lightning.url()
    );
    wait_for_stop().await;
    facilitator.stop().await;
    lightning.stop().await;
    eprintln!("stopped");
    Exit::Ok
}
