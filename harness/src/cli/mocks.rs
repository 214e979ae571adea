//! `paycheck mocks`: the mock facilitator as a standalone server.

use super::args::MocksArgs;
use super::{Exit, wait_for_stop};
use crate::mocks::{FacilitatorConfig, MockFacilitator};
use std::io::Write;
use std::net::SocketAddr;

pub(super) async fn mocks(args: MocksArgs) -> Exit {
    let config = FacilitatorConfig {
        bind: SocketAddr::from(([127, 0, 0, 1], args.facilitator_port)),
        ..FacilitatorConfig::default()
    };
    let facilitator = match MockFacilitator::start(config).await {
        Ok(f) => f,
        Err(e) => {
            eprintln!(
                "error: cannot listen on 127.0.0.1:{}: {e}. Pick another --facilitator-port, or 0 for a free one.",
                args.facilitator_port
            );
            return Exit::Unreachable;
        }
    };
    facilitator.faults().set(args.faults);
    println!("facilitator: {}", facilitator.url());
    let _ = std::io::stdout().flush();
    eprintln!(
        "serving until Ctrl-C; journal at {}/_paycheck/journal",
        facilitator.url()
    );
    wait_for_stop().await;
    facilitator.stop().await;
    eprintln!("stopped");
    Exit::Ok
}
