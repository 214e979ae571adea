//! `paycheck serve-reference`: an embedded reference server as a standalone server, with
//! its own mock (facilitator or Lightning backend) unless told where the real one is.

use super::args::ServeReferenceArgs;
use super::{Exit, wait_for_stop};
use crate::mocks::{MockFacilitator, MockLightning};
use crate::protocol::{Dialect, L402Profile, Suite};
use crate::reference::l402::{L402Config, L402Fault, L402Server};
use crate::reference::{ReferenceConfig, ReferenceFault, ReferenceServer};
use std::io::Write;
use std::net::SocketAddr;

/// A running reference server of either kind, and the mock it started for itself.
enum Running {
    X402(ReferenceServer, Option<MockFacilitator>),
    L402(L402Server, Option<MockLightning>),
}

pub(super) async fn serve_reference(args: ServeReferenceArgs) -> Exit {
    let started = match args.protocol {
        Suite::X402(d) => start_x402(&args, d).await,
        Suite::L402(p) => start_l402(&args, p).await,
    };
    let (running, url, upstream) = match started {
        Ok(s) => s,
        Err(exit) => return exit,
    };
    let name = match args.protocol {
        Suite::X402(d) => d.wire_name(),
        other => other.id(),
    };
    out!("reference {name}: {url}");
    out!("{upstream}");
    let _ = std::io::stdout().flush();
    eprintln!("serving until Ctrl-C: GET /health (free), GET /premium and POST /compute (paid)");
    wait_for_stop().await;
    match running {
        Running::X402(server, mock) => {
            server.stop().await;
            if let Some(m) = mock {
                m.stop().await;
            }
        }
        Running::L402(server, mock) => {
            server.stop().await;
            if let Some(m) = mock {
                m.stop().await;
            }
        }
    }
    eprintln!("stopped");
    Exit::Ok
}

fn bind(args: &ServeReferenceArgs) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], args.port))
}

fn cannot_listen(args: &ServeReferenceArgs, e: std::io::Error) -> Exit {
    eprintln!(
        "error: cannot listen on 127.0.0.1:{}: {e}. Pick another --port (or PORT), or 0 for a free one.",
        args.port
    );
    Exit::Unreachable
}

/// Parses `--fault` for the protocol: `Err` is a usage error already printed.
fn fault<F: std::str::FromStr<Err = String>>(args: &ServeReferenceArgs) -> Result<Option<F>, Exit> {
    args.fault
        .as_deref()
        .map(str::parse)
        .transpose()
        .map_err(|e: String| {
            eprintln!("error: --fault: {e}");
            Exit::Usage
        })
}

async fn start_x402(
    args: &ServeReferenceArgs,
    dialect: Dialect,
) -> Result<(Running, String, String), Exit> {
    let fault = fault::<ReferenceFault>(args)?;
    if args.upfront && fault.is_some_and(|f| f != ReferenceFault::FailOpen) {
        eprintln!(
            "error: --upfront serves the upfront flow, which the faulty builds (other than fail-open) do not break; drop --fault or --upfront"
        );
        return Err(Exit::Usage);
    }
    let mut own = None;
    let facilitator_url = match &args.facilitator_url {
        Some(url) => url.clone(),
        None => {
            let f = MockFacilitator::start_default().await.map_err(|e| {
                eprintln!("error: cannot start the mock facilitator: {e}");
                Exit::Internal
            })?;
            let url = f.url();
            own = Some(f);
            url
        }
    };
    let mut config = ReferenceConfig::new(dialect, facilitator_url.clone());
    config.bind = bind(args);
    config.premium_price = args.premium_price.unwrap_or(config.premium_price);
    config.compute_price = args.compute_price.unwrap_or(config.compute_price);
    config.fault = fault;
    config.facilitator_timeout = args.facilitator_timeout;
    config.max_payment_header_bytes = args.max_payment_header;
    config.upfront = args.upfront;
    config.payment_id = args.payment_id.unwrap_or(config.payment_id);
    let server = ReferenceServer::start(config)
        .await
        .map_err(|e| cannot_listen(args, e))?;
    let url = server.url();
    Ok((
        Running::X402(server, own),
        url,
        format!("facilitator: {facilitator_url}"),
    ))
}

async fn start_l402(
    args: &ServeReferenceArgs,
    profile: L402Profile,
) -> Result<(Running, String, String), Exit> {
    let fault = fault::<L402Fault>(args)?;
    let mut own = None;
    let lightning_url = match &args.lightning_url {
        Some(url) => url.clone(),
        None => {
            let l = MockLightning::start_default().await.map_err(|e| {
                eprintln!("error: cannot start the mock Lightning backend: {e}");
                Exit::Internal
            })?;
            let url = l.url();
            own = Some(l);
            url
        }
    };
    let mut config = L402Config::new(profile, lightning_url.clone());
    config.bind = bind(args);
    if let Some(key) = &args.lightning_api_key {
        config.lightning_api_key = key.clone();
    }
    config.premium_price_sat = args.premium_price.unwrap_or(config.premium_price_sat);
    config.compute_price_sat = args.compute_price.unwrap_or(config.compute_price_sat);
    config.lightning_timeout = args.lightning_timeout;
    if args.no_invoice_rate_limit {
        config.invoice_rate = None;
    }
    config.fault = fault;
    let server = L402Server::start(config)
        .await
        .map_err(|e| cannot_listen(args, e))?;
    let url = server.url();
    Ok((
        Running::L402(server, own),
        url,
        format!("lightning: {lightning_url}"),
    ))
}
