//! sila-elb: Manage the load balancers of hostclasses.
//!
//! Its commands are not built yet; the binary exists so the suite's layout, global flags and help are
//! in place from the start.

use clap::Parser;
use sila_cli::GlobalArgs;

/// Manage the load balancers of hostclasses.
///
/// No commands yet in this version.
#[derive(Debug, Parser)]
#[command(name = "sila-elb", version, arg_required_else_help = true, after_help = sila_cli::INTERRUPTED_HELP)]
pub struct Cli {
    /// The options every tool shares.
    #[command(flatten)]
    pub global: GlobalArgs,
}

/// Runs the parsed command line.
// Async like every tool's `run`, which `sila_cli::run` drives; this one has nothing to wait for yet.
#[allow(clippy::unused_async)]
pub async fn run(_cli: Cli) -> anyhow::Result<()> {
    Err(sila_cli::UsageError("sila-elb has no commands yet; see --help".to_string()).into())
}
