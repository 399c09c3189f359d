//! sila-aws: Provision, spin up and spin down pipelines of hostclasses; list and act on hosts.
//!
//! Its commands are not built yet; the binary exists so the suite's layout, global flags and help are
//! in place from the start.

use clap::Parser;
use sila_cli::GlobalArgs;

/// Provision, spin up and spin down pipelines of hostclasses; list and act on hosts.
///
/// No commands yet in this version: provision, spinup, spindown, listhosts, terminate, exec are planned.
#[derive(Debug, Parser)]
#[command(name = "sila-aws", version, arg_required_else_help = true)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
}

/// Runs the parsed command line.
pub async fn run(_cli: Cli) -> anyhow::Result<()> {
    Err(sila_cli::UsageError("sila-aws has no commands yet; see --help".to_string()).into())
}
