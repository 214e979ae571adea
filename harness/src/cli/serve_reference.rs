//! `paycheck serve-reference`: an embedded reference server as a standalone server.

use super::args::ServeReferenceArgs;
use super::{Exit, wait_for_stop};
use crate::mocks::MockFacilitator;
use crate::reference::{ReferenceConfig, ReferenceServer};
use std::io::Write;
use std::net::SocketAddr;

pub(super) async fn serve_reference(args: ServeReferenceArgs) -> Exit {
    let mut own_facilitator = None;
    let facilitator_url = match args.facilitator_url {
        Some(url) => url,
        None => match MockFacilitator::start_default().await {
            Ok(f) => {
                let url = f.url();
                own_facilitator = Some(f);
                url
            }
            Err(e) => {
                eprintln!("error: cannot start the mock facilitator: {e}");
                return Exit::Internal;
            }
        },
    };
    let mut config = ReferenceConfig::new(args.protocol, facilitator_url.clone());
    config.bind = SocketAddr::from(([127, 0, 0, 1], args.port));
    config.premium_price = args.premium_price;
    config.compute_price = args.compute_price;
    config.fault = args.fault;
    config.facilitator_timeout = args.facilitator_timeout;
    let server = match ReferenceServer::start(config).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!(
                "error: cannot listen on 127.0.0.1:{}: {e}. Pick another --port (or PORT), or 0 for a free one.",
                args.port
            );
            return Exit::Unreachable;
        }
    };
    println!("reference {}: {}", args.protocol, server.url());
    println!("facilitator: {facilitator_url}");
    let _ = std::io::stdout().flush();
    eprintln!("serving until Ctrl-C: GET /health (free), GET /premium and POST /compute (paid)");
    wait_for_stop().await;
    server.stop().await;
    if let Some(f) = own_facilitator {
        f.stop().await;
    }
    eprintln!("stopped");
    Exit::Ok
}
