//! Command-line flags.

use super::exit::EXIT_CODES_HELP;
use crate::catalogue::money_path::Scope;
use crate::duration::parse_duration;
use crate::mocks::facilitator::faults::FaultRule;
use crate::mocks::lightning::LnFaultRule;
use crate::protocol::Suite;
use crate::target::{BodyLimits, RouteSpec};
use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;
use std::time::Duration;

/// paycheck: conformance and load testing for HTTP 402 payment servers (x402 v1 and v2, t402,
/// L402).
///
/// With no command, runs the conformance catalogue against the embedded reference servers
/// and their mock facilitator, prints the results and writes reports.
#[derive(Debug, Parser)]
#[command(name = "paycheck", version, after_help = EXIT_CODES_HELP)]
pub struct Cli {
    /// What to do; `run` when omitted.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the conformance catalogue (default: every suite, against the embedded servers).
    #[command(after_help = EXIT_CODES_HELP)]
    Run(Box<RunArgs>),
    /// Property-test payment validation and replay: generated payments, shrunk failures.
    #[command(after_help = EXIT_CODES_HELP)]
    Props(Box<PropsArgs>),
    /// Record or check regression snapshots of the 402 answers of every paid route.
    #[command(after_help = EXIT_CODES_HELP)]
    Snapshot(Box<SnapshotArgs>),
    /// List the checks: id, level and title.
    List(ListArgs),
    /// Show what one check requires, at which level, and where the requirement comes from.
    Explain(ExplainArgs),
    /// Run a load profile: open (arrival rate) or closed (goose users) load with thresholds.
    #[command(after_help = EXIT_CODES_HELP)]
    Load(Box<LoadArgs>),
    /// Merge the load.json of several shards of one profile (exact: histograms are added).
    #[command(after_help = EXIT_CODES_HELP)]
    Merge(MergeArgs),
    /// Start the mock facilitator and the mock Lightning backend on loopback; serve until
    /// Ctrl-C.
    #[command(
        after_help = "Admin routes on each: GET /_paycheck/journal, PUT|DELETE /_paycheck/faults, POST /_paycheck/reset"
    )]
    Mocks(MocksArgs),
    /// Serve an embedded reference 402 server on loopback until Ctrl-C.
    ServeReference(ServeReferenceArgs),
}

/// Flags of `paycheck run`.
#[derive(Debug, Args, Default)]
pub struct RunArgs {
    /// Suites to run (repeatable): x402-v2, x402-v1, t402, l402, l402-single-use.
    /// Default: all.
    #[arg(long = "suite", value_name = "SUITE")]
    pub suites: Vec<Suite>,
    /// Test the server at this loopback URL (paycheck does not start or stop it).
    #[arg(long, value_name = "URL", conflicts_with = "spawn")]
    pub target: Option<String>,
    /// Start the server with this shell command, with PORT, FACILITATOR_URL (paycheck's mock
    /// facilitator), LIGHTNING_URL and LIGHTNING_API_KEY (its mock Lightning backend, an
    /// LNbits API) in its environment; stop it at the end. Its output goes to
    /// REPORT_DIR/server.log.
    #[arg(long, value_name = "CMD")]
    pub spawn: Option<String>,
    /// A paid route, 'METHOD PATH [JSON BODY]' (repeatable; two with different prices
    /// enable the binding checks). Needed with --target and --spawn.
    #[arg(long = "paid", value_name = "ROUTE")]
    pub paid: Vec<RouteSpec>,
    /// A free route, 'METHOD PATH'.
    #[arg(long, value_name = "ROUTE")]
    pub free: Option<RouteSpec>,
    /// A paid request whose handler fails, 'METHOD PATH [JSON BODY]'.
    #[arg(long, value_name = "ROUTE")]
    pub failing: Option<RouteSpec>,
    /// A paid request whose handler answers 201 Created or 202 Accepted, 'METHOD PATH [JSON
    /// BODY]' (payment/handler-status-kept).
    #[arg(long, value_name = "ROUTE")]
    pub queued: Option<RouteSpec>,
    #[command(flatten)]
    pub mocks: MockPorts,
    /// Bound on every request of a check.
    #[arg(long, value_name = "DUR", default_value = "10s", value_parser = parse_duration)]
    pub timeout: Duration,
    /// Bound on a request made while the mock facilitator or Lightning backend hangs on
    /// purpose (resilience/bounded-answer): longer than --timeout, so that a server whose
    /// own calls time out after 10 s passes and one without a timeout fails.
    #[arg(long, value_name = "DUR", default_value = "30s", value_parser = parse_duration)]
    pub hang_window: Duration,
    /// How long a --spawn server may take to answer on its port.
    #[arg(long, value_name = "DUR", default_value = "120s", value_parser = parse_duration)]
    pub startup_timeout: Duration,
    /// With --spawn: start the command this many times, each on its own port and all
    /// paying through the same mocks (server.log, server-2.log, ...). The suite runs
    /// against the first; the replicas/* checks replay and race payments across all.
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=8))]
    pub replicas: u16,
    /// Add the checks of a scenario file (repeatable); see scenarios/ for examples and
    /// schemas/scenario.schema.json for the format.
    #[arg(long = "scenario", value_name = "FILE")]
    pub scenarios: Vec<PathBuf>,
    /// Run only checks whose id matches this glob (repeatable), e.g. 'x402-v2/replay/*'.
    #[arg(long = "only", value_name = "GLOB")]
    pub only: Vec<String>,
    /// Skip checks whose id matches this glob (repeatable).
    #[arg(long = "exclude", value_name = "GLOB")]
    pub exclude: Vec<String>,
    /// Count SHOULD and best-practice misses as failures.
    #[arg(long)]
    pub strict: bool,
    /// What a pass must prove. `full` (default): the money path (a valid payment served
    /// and settled once, a wrong one refused, a used one refused) and every MUST graded;
    /// a run that could not exercise them exits 1. `signal-only`: a server paycheck cannot
    /// pay (a mainnet-only offer, a real facilitator) is graded on what it answers unpaid.
    #[arg(long = "profile", value_name = "PROFILE", default_value = "full")]
    pub profile: Scope,
    /// How much of each response body to keep for the checks (the rest is counted, not
    /// kept); paycheck stops reading a body at 16 times this, or 16 MiB, whichever is more.
    #[arg(long, value_name = "BYTES", value_parser = parse_size)]
    pub max_body: Option<usize>,
    /// Where to write the reports.
    #[arg(long, value_name = "DIR", default_value = "reports/latest")]
    pub report_dir: PathBuf,
    /// Allow signing for mainnet networks. Needs a key in PAYCHECK_PRIVATE_KEY: the public
    /// test keys never sign for mainnet.
    #[arg(long)]
    pub allow_mainnet: bool,
    /// Print the results as JSON on stdout instead of text.
    #[arg(long, value_name = "FORMAT", default_value = "text", value_parser = ["text", "json"])]
    pub format: String,
}

impl RunArgs {
    /// The body limits the flags ask for.
    pub fn body_limits(&self) -> BodyLimits {
        self.max_body
            .map_or(BodyLimits::DEFAULT, BodyLimits::keeping)
    }
}

/// A size in bytes: `65536`, `64KiB`, `1MiB`, `1GiB` (also `KB`, `MB`, `k`, `m`).
pub fn parse_size(text: &str) -> Result<usize, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (digits, unit) = text.split_at(split);
    let n: usize = digits
        .parse()
        .map_err(|_| format!("'{text}' is not a size: write bytes, or 64KiB, 1MiB"))?;
    let factor: usize = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        other => {
            return Err(format!(
                "unknown size unit '{other}' in '{text}': use KiB, MiB or GiB"
            ));
        }
    };
    let size = n
        .checked_mul(factor)
        .ok_or_else(|| format!("'{text}' is too large"))?;
    if size < 1024 {
        return Err(format!(
            "'{text}' keeps too little to read any 402: use at least 1KiB"
        ));
    }
    Ok(size)
}

/// Flags of `paycheck mocks`.
/// Where paycheck's mocks listen, and which of them a `--target` server already uses.
#[derive(Debug, Args, Default, Clone, Copy)]
pub struct MockPorts {
    /// With --target: the server already uses paycheck's mock facilitator, which paycheck
    /// starts on --facilitator-port.
    #[arg(long, requires = "target", requires = "facilitator_port")]
    pub facilitator_wired: bool,
    /// The port of paycheck's mock facilitator (default: a free one).
    #[arg(long, value_name = "N")]
    pub facilitator_port: Option<u16>,
    /// With --target: the L402 server already uses paycheck's mock Lightning backend
    /// (LNbits API), which paycheck starts on --lightning-port.
    #[arg(long, requires = "target", requires = "lightning_port")]
    pub lightning_wired: bool,
    /// The port of paycheck's mock Lightning backend (default: a free one).
    #[arg(long, value_name = "N")]
    pub lightning_port: Option<u16>,
}

impl MockPorts {
    /// The mocks to start, each with its port (None: a free one): both for a server
    /// paycheck spawns, only the wired ones for a `--target` server.
    pub fn wanted(&self, spawned: bool) -> (Option<Option<u16>>, Option<Option<u16>>) {
        if spawned {
            (Some(self.facilitator_port), Some(self.lightning_port))
        } else {
            (
                self.facilitator_wired.then_some(self.facilitator_port),
                self.lightning_wired.then_some(self.lightning_port),
            )
        }
    }
}

#[derive(Debug, Args)]
pub struct MocksArgs {
    /// Port of the mock facilitator on 127.0.0.1 (0 picks a free one).
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub facilitator_port: u16,
    /// A facilitator fault rule ENDPOINT=FAULT[xN] (repeatable), e.g. settle=pending,
    /// verify=status:503x2, '*=latency:200ms'. Endpoints: verify, settle, supported. Faults:
    /// latency:DUR, hang, status:CODE, html502, non-json, truncated, settle-failure, pending.
    #[arg(long = "fault", value_name = "RULE")]
    pub faults: Vec<FaultRule>,
    /// Port of the mock Lightning backend (LNbits API) on 127.0.0.1 (0 picks a free one).
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub lightning_port: u16,
    /// A Lightning fault rule (repeatable), e.g. create=status:503, lookup=latency:200ms,
    /// pay=settle-failure. Endpoints: create, pay, lookup; the same faults.
    #[arg(long = "lightning-fault", value_name = "RULE")]
    pub lightning_faults: Vec<LnFaultRule>,
}

/// Flags of `paycheck serve-reference`.
#[derive(Debug, Args)]
pub struct ServeReferenceArgs {
    /// Which suite's server: x402-v2, x402-v1, t402, t402-v1 (t402 version 1: graded by
    /// the t402 suite, which detects it), l402 or l402-single-use.
    #[arg(long, value_name = "PROTOCOL", default_value = "x402-v2")]
    pub protocol: Suite,
    /// Port on 127.0.0.1 (0 picks a free one).
    #[arg(long, env = "PORT", value_name = "N", default_value_t = 0)]
    pub port: u16,
    /// x402: the facilitator to verify and settle with; without it, an embedded mock
    /// facilitator is started too.
    #[arg(long, env = "FACILITATOR_URL", value_name = "URL")]
    pub facilitator_url: Option<String>,
    /// L402: the Lightning backend (LNbits API) to create invoices with; without it, an
    /// embedded mock Lightning backend is started too.
    #[arg(long, env = "LIGHTNING_URL", value_name = "URL")]
    pub lightning_url: Option<String>,
    /// L402: the API key sent to the Lightning backend.
    #[arg(
        long,
        env = "LIGHTNING_API_KEY",
        value_name = "KEY",
        hide_env_values = true
    )]
    pub lightning_api_key: Option<String>,
    /// Price of GET /premium: atomic units for x402 (default 10000), sat for L402 (100).
    #[arg(long, value_name = "N")]
    pub premium_price: Option<u64>,
    /// Price of POST /compute: atomic units for x402 (default 50000), sat for L402 (500).
    #[arg(long, value_name = "N")]
    pub compute_price: Option<u64>,
    /// How long a call to the facilitator may take before the request fails with 504.
    #[arg(long, value_name = "DUR", default_value = "5s", value_parser = parse_duration)]
    pub facilitator_timeout: Duration,
    /// x402: a payment header longer than this many bytes gets 431.
    #[arg(long, value_name = "BYTES", default_value_t = 8 * 1024)]
    pub max_payment_header: usize,
    /// x402: declare and follow the upfront payment flow (extra.paymentFlow = "upfront":
    /// settle, then run the handler, no /verify) instead of the authorization flow.
    #[arg(long)]
    pub upfront: bool,
    /// x402 v2 and t402: whether to offer the payment-identifier extension (an idempotency
    /// key: a resent payment gets its first answer, not a second charge). Default: required
    /// for x402 v2, optional for t402; v1 has no extensions.
    #[arg(long, value_enum, value_name = "MODE")]
    pub payment_id: Option<crate::reference::PaymentIdMode>,
    /// L402: how long a call to the Lightning backend may take before the request fails
    /// with 503.
    #[arg(long, value_name = "DUR", default_value = "5s", value_parser = parse_duration)]
    pub lightning_timeout: Duration,
    /// L402: do not rate-limit invoice creation (for load tests of the 402 path).
    #[arg(long)]
    pub no_invoice_rate_limit: bool,
    /// Serve a deliberately faulty build (for paycheck's own mutation tests).
    #[arg(long, value_name = "NAME", hide = true)]
    pub fault: Option<String>,
}

/// Flags of `paycheck load`.
#[derive(Debug, Args)]
pub struct LoadArgs {
    /// The load profile (TOML): phases, mix, thresholds. See scenarios/load/ and
    /// schemas/load-profile.schema.json.
    pub profile: PathBuf,
    /// Load the server at this loopback URL (paycheck does not start or stop it).
    #[arg(long, value_name = "URL", conflicts_with = "spawn")]
    pub target: Option<String>,
    /// Start the server with this shell command (PORT, FACILITATOR_URL, LIGHTNING_URL and
    /// LIGHTNING_API_KEY set), load it, stop it. Without --target or --spawn: the embedded
    /// server of the profile's suite, with its mock.
    #[arg(long, value_name = "CMD")]
    pub spawn: Option<String>,
    /// The paid route, 'METHOD PATH [JSON BODY]' (overrides the profile's).
    #[arg(long, value_name = "ROUTE")]
    pub paid: Option<RouteSpec>,
    /// The free route, 'METHOD PATH' (overrides the profile's).
    #[arg(long, value_name = "ROUTE")]
    pub free: Option<RouteSpec>,
    #[command(flatten)]
    pub mocks: MockPorts,
    /// Run shard I of N: a 1/N share of the arrival rate (or users); merge the shards'
    /// load.json with `paycheck merge`.
    #[arg(long, value_name = "I/N", value_parser = parse_shard)]
    pub shard: Option<(u32, u32)>,
    /// How long a --spawn server may take to answer on its port.
    #[arg(long, value_name = "DUR", default_value = "120s", value_parser = parse_duration)]
    pub startup_timeout: Duration,
    /// Where to write load.json, load.md (and goose-report.html for a closed model).
    #[arg(long, value_name = "DIR", default_value = "reports/latest")]
    pub report_dir: PathBuf,
    /// Allow signing for mainnet networks (with a key in PAYCHECK_PRIVATE_KEY).
    #[arg(long)]
    pub allow_mainnet: bool,
    /// Print the report as JSON on stdout instead of the summary.
    #[arg(long, value_name = "FORMAT", default_value = "text", value_parser = ["text", "json"])]
    pub format: String,
}

/// Reads `I/N` with 1 ≤ I ≤ N.
fn parse_shard(s: &str) -> Result<(u32, u32), String> {
    let (i, n) = s
        .split_once('/')
        .ok_or_else(|| format!("'{s}': write the shard as I/N, as in 2/3"))?;
    let (i, n): (u32, u32) = (
        i.trim()
            .parse()
            .map_err(|_| format!("'{s}': I is not a number"))?,
        n.trim()
            .parse()
            .map_err(|_| format!("'{s}': N is not a number"))?,
    );
    if i == 0 || i > n {
        return Err(format!("'{s}': shards are numbered 1 to N"));
    }
    Ok((i, n))
}

/// Flags of `paycheck merge`.
#[derive(Debug, Args)]
pub struct MergeArgs {
    /// The shards' load.json files.
    #[arg(required = true)]
    pub reports: Vec<PathBuf>,
    /// Where to write the merged load.json and load.md.
    #[arg(long, value_name = "DIR", default_value = "reports/merged")]
    pub report_dir: PathBuf,
    /// Print the merged report as JSON on stdout instead of the summary.
    #[arg(long, value_name = "FORMAT", default_value = "text", value_parser = ["text", "json"])]
    pub format: String,
}

/// Flags of `paycheck list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Only these suites (repeatable).
    #[arg(long = "suite", value_name = "SUITE")]
    pub suites: Vec<Suite>,
    /// Under each check, the source of its requirement (`paycheck explain ID` shows the
    /// requirement itself).
    #[arg(long)]
    pub sources: bool,
}

/// Flags of `paycheck explain`.
#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// The check id, as printed by `paycheck list`.
    pub id: String,
}

/// Flags of `paycheck props` (the target flags are those of `run`).
#[derive(Debug, Args)]
pub struct PropsArgs {
    /// Target, routes, suites and reports, as for `paycheck run`.
    #[command(flatten)]
    pub run: RunArgs,
    /// Generated cases per property (the replay property runs a tenth as many).
    #[arg(long, value_name = "N", default_value_t = 1000)]
    pub cases: u32,
    /// Seed of the case generator; printed with every run so it can be repeated.
    #[arg(long, value_name = "S")]
    pub seed: Option<u64>,
    /// Wall-time cap per property and suite; cases past it are skipped and counted.
    #[arg(long, value_name = "DUR", default_value = "60s", value_parser = parse_duration)]
    pub time_budget: Duration,
    /// Where minimal failing cases are stored (SUITE.jsonl) and replayed first.
    #[arg(long, value_name = "DIR", default_value = "fixtures/regressions")]
    pub regressions: PathBuf,
}

/// What `paycheck snapshot` does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SnapshotAction {
    /// Store the snapshots (a changed one only with --accept).
    Record,
    /// Compare with the stored snapshots: exit 1 with a diff per changed one.
    Check,
}

/// Flags of `paycheck snapshot` (the target flags are those of `run`).
#[derive(Debug, Args)]
pub struct SnapshotArgs {
    /// record or check.
    #[arg(value_enum)]
    pub action: SnapshotAction,
    /// Target, routes, suites and reports, as for `paycheck run`.
    #[command(flatten)]
    pub run: RunArgs,
    /// The snapshot directory (default: reports/snapshots/embedded, /spawned or /target).
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// Also redact what this JSONPath or JSON pointer selects in every snapshot
    /// (repeatable), for a server's own volatile fields: '$..requestId',
    /// '$.body.requestId' or /body/requestId.
    #[arg(long = "redact", value_name = "PATH")]
    pub redact: Vec<crate::snapshot::normalize::Redaction>,
    /// With record: replace changed snapshots and remove ones no longer produced.
    #[arg(long)]
    pub accept: bool,
    /// Embedded servers only: the price of GET /premium (to see a price change in a diff).
    #[arg(long, value_name = "N")]
    pub premium_price: Option<u64>,
}

#[cfg(test)]
mod tests {
    use super::parse_size;

    #[test]
    fn sizes_take_binary_units_and_refuse_what_reads_no_402() {
        assert_eq!(parse_size("65536"), Ok(65536));
        assert_eq!(parse_size("64KiB"), Ok(64 << 10));
        assert_eq!(parse_size("1MiB"), Ok(1 << 20));
        assert_eq!(parse_size("2 mb"), Ok(2 << 20));
        assert!(parse_size("10").unwrap_err().contains("at least 1KiB"));
        assert!(parse_size("1TB").unwrap_err().contains("unknown size unit"));
        assert!(parse_size("lots").is_err());
    }
}
