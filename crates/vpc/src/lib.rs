//! sila-vpc: VPC environments (four metanetworks, a subnet per availability zone, gateways, NAT,
//! peerings) built from `vpc.ini`. This version lists environments; create, update, destroy and
//! peerings come next.

mod list;

use clap::{Parser, Subcommand};
use sila_cli::GlobalArgs;

/// Create, update, destroy, list and peer VPC environments.
///
/// An environment is a VPC tagged `Name=<env>` and `type=<envtype>`; its shape comes from the
/// `[envtype:<type>]` and `[env:<name>]` sections of vpc.ini (or Asiaq's disco_vpc.ini).
///
/// Exit status: 0 success, 1 failure (configuration, input or AWS), 2 bad usage.
#[derive(Debug, Parser)]
#[command(name = "sila-vpc", version, arg_required_else_help = true)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,

    #[command(subcommand)]
    pub command: Command,
}

/// The sub-commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// List the VPCs of the region, with their environment name and type.
    List(list::ListArgs),
}

/// Runs the parsed command line.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match &cli.command {
        Command::List(args) => list::run(&cli.global, args).await,
    }
}
