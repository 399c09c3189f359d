//! sila-vpc: VPC environments (four metanetworks, a subnet per availability zone, gateways, NAT,
//! peerings) built from `vpc.ini`, plan first.

mod apply;
mod converge;
mod destroy;
mod environment;
mod list;
mod peerings;
mod show;

use clap::{Parser, Subcommand};
use sila_cli::{GlobalArgs, Settings};

/// Create, update, destroy, list and peer VPC environments.
///
/// An environment is a VPC tagged `Name=<env>` and `type=<envtype>`; its shape comes from the
/// `[envtype:<type>]` and `[env:<name>]` sections of vpc.ini (or Asiaq's disco_vpc.ini).
///
/// Exit status: 0 success, 1 failure (configuration, input or AWS), 2 bad usage.
#[derive(Debug, Parser)]
#[command(name = "sila-vpc", version, arg_required_else_help = true, after_help = sila_cli::INTERRUPTED_HELP)]
pub struct Cli {
    /// The options every tool shares.
    #[command(flatten)]
    pub global: GlobalArgs,

    /// The command to run.
    #[command(subcommand)]
    pub command: Command,
}

/// The sub-commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create an environment: print the plan, then build it level by level.
    Create(converge::CreateArgs),
    /// Bring an environment in line with the config: create what is missing (also after an
    /// interrupted create), revoke rules and delete routes the config dropped, replace changed routes
    /// and DHCP options. Removing a metanetwork is destructive and needs --allow-destructive.
    Update(converge::UpdateArgs),
    /// Delete everything the environment's VPC holds (autoscaling groups and instances first), then
    /// the VPC (VPN gateways are only detached, static elastic IPs stay allocated). Asks for
    /// confirmation unless --yes.
    Destroy(destroy::DestroyArgs),
    /// List the VPCs of the region, with their environment name and type.
    List(list::ListArgs),
    /// Show every resource of an environment, grouped by metanetwork.
    Show(show::ShowArgs),
    /// List, create (from [peerings] of vpc.ini) or delete peering connections between environments.
    Peerings(peerings::PeeringsArgs),
}

/// Runs the parsed command line.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let settings = &Settings::load(&cli.global);
    match &cli.command {
        Command::Create(args) => converge::create(settings, args).await,
        Command::Update(args) => converge::update(settings, args).await,
        Command::Destroy(args) => destroy::run(settings, args).await,
        Command::List(args) => list::run(settings, args).await,
        Command::Show(args) => show::run(settings, args).await,
        Command::Peerings(args) => peerings::run(settings, args).await,
    }
}
