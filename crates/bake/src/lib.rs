//! sila-bake: machine images: two-phase baking over SSH, and the images' life after: listing,
//! lookup, promotion through stages, sharing with production, cleanup, scaffolding and reaping.

mod bake;
mod images;
mod promote;
mod scaffold;

use clap::{Parser, Subcommand};
use sila_cli::GlobalArgs;

/// Bake machine images over SSH, and list, promote, share and clean them up.
///
/// Images are named `<hostclass> <epoch seconds>` and tagged with their `stage`; the stages are
/// `[bake] ami_stages` (first: new bakes; last: the final, production-eligible stage). Phase 1 turns
/// an upstream image into a base; phase 2 makes a base into a hostclass.
///
/// Exit status: 0 success, 1 failure (configuration, input or AWS; or nothing found), 2 bad usage.
#[derive(Debug, Parser)]
#[command(name = "sila-bake", version, arg_required_else_help = true, after_help = sila_cli::INTERRUPTED_HELP)]
pub struct Cli {
    /// The options every tool shares.
    #[command(flatten)]
    pub global: GlobalArgs,

    /// The command to run.
    #[command(subcommand)]
    pub command: Command,
}

/// The sub-commands (Asiaq's names).
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Bake an image: launch a builder in the bakery, upload the config, run init/phase<N>.sh,
    /// image it, and remove the builder (everything is taken back on failure or Ctrl-C).
    Bake(bake::BakeArgs),
    /// Remove what finished bake runs left: builders, temporary key pairs and groups, unfinished
    /// images (only what a bake made; asks on a terminal, else needs --yes).
    Reap(bake::reap::ReapArgs),
    /// List images owned by this account and the trusted accounts, oldest first.
    #[command(name = "listamis")]
    ListAmis(images::ListArgs),
    /// The image a spinup would pick for a hostclass in a stage (private images included).
    #[command(name = "listlatestami")]
    ListLatestAmi(images::LatestArgs),
    /// Hostclasses whose newest bake has not reached the final stage within --days.
    #[command(name = "liststragglers")]
    ListStragglers(images::StragglersArgs),
    /// Set an image's stage; with --promote-to-prod also share it with the production accounts.
    Promote(promote::PromoteArgs),
    /// Share a hostclass's newest final-stage image with the production accounts.
    #[command(name = "hostclasspromote")]
    HostclassPromote(promote::HostclassPromoteArgs),
    /// Deregister an image and delete its snapshots (refused while an instance uses it).
    #[command(name = "deleteami")]
    DeleteAmi(images::DeleteArgs),
    /// Delete a stage's images that are old and not among the newest of their hostclass, keeping
    /// any that an instance, a launch template or a pipeline still uses.
    #[command(name = "cleanupamis")]
    CleanupAmis(images::CleanupArgs),
    /// Scaffold init/<hostclass>.sh from init/template.sh.
    Create(scaffold::CreateArgs),
}

/// Runs the parsed command line.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let settings = &sila_cli::Settings::load(&cli.global);
    match &cli.command {
        Command::Bake(args) => bake::bake(settings, args).await,
        Command::Reap(args) => bake::reap::reap(settings, args).await,
        Command::ListAmis(args) => images::list(settings, args).await,
        Command::ListLatestAmi(args) => images::latest(settings, args).await,
        Command::ListStragglers(args) => images::stragglers(settings, args).await,
        Command::Promote(args) => promote::promote(settings, args).await,
        Command::HostclassPromote(args) => promote::hostclass(settings, args).await,
        Command::DeleteAmi(args) => images::delete(settings, args).await,
        Command::CleanupAmis(args) => images::cleanup(settings, args).await,
        Command::Create(args) => scaffold::create(settings, args),
    }
}
