//! sila-bake: Bake machine images in two phases over SSH, promote them through stages, share and clean them up.
//!
//! Its commands are not built yet; the binary exists so the suite's layout, global flags and help are
//! in place from the start.

use clap::Parser;
use sila_cli::GlobalArgs;

/// Bake machine images in two phases over SSH, promote them through stages, share and clean them up.
///
/// No commands yet in this version: bake, promote, listamis, cleanupamis and reap are planned.
#[derive(Debug, Parser)]
#[command(name = "sila-bake", version, arg_required_else_help = true)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
}

/// Runs the parsed command line.
pub async fn run(_cli: Cli) -> anyhow::Result<()> {
    Err(sila_cli::UsageError("sila-bake has no commands yet; see --help".to_string()).into())
}
