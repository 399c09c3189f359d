//! sila-iam: Sync IAM groups, roles, instance profiles and users from the iam/ policy directory.
//!
//! Its commands are not built yet; the binary exists so the suite's layout, global flags and help are
//! in place from the start.

use clap::Parser;
use sila_cli::GlobalArgs;

/// Sync IAM groups, roles, instance profiles and users from the iam/ policy directory.
///
/// No commands yet in this version: update (the sync), list commands and key rotation are planned.
#[derive(Debug, Parser)]
#[command(name = "sila-iam", version, arg_required_else_help = true)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
}

/// Runs the parsed command line.
pub async fn run(_cli: Cli) -> anyhow::Result<()> {
    Err(sila_cli::UsageError("sila-iam has no commands yet; see --help".to_string()).into())
}
