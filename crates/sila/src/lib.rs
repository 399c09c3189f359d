//! `sila`: the umbrella. `sila check` validates a whole config dir offline; `sila sandbox NAME`
//! builds a developer's sandbox in one line; `sila <tool> ARGS` runs `sila-<tool> ARGS` (found next
//! to this binary, else on PATH), so one name reaches the whole suite.

mod check;
mod dispatch;
mod sandbox;

use clap::{Parser, Subcommand};
use sila_cli::{GlobalArgs, Settings};
use std::ffi::OsString;

/// Sila: run production infrastructure on AWS from an Asiaq-compatible config dir.
///
/// Tools: bake (machine images), vpc (environments), aws (pipelines and hosts), iam (IAM sync),
/// elb (load balancers), rds (databases), chaos, snapshot (EBS snapshots).
/// `sila <tool> --help` shows a tool's commands.
///
/// Exit status: 0 success, 1 failure (configuration, input or AWS), 2 bad usage.
#[derive(Debug, Parser)]
#[command(name = "sila", version, arg_required_else_help = true, after_help = sila_cli::INTERRUPTED_HELP)]
pub struct Cli {
    /// The options every tool shares.
    #[command(flatten)]
    pub global: GlobalArgs,

    /// The command to run.
    #[command(subcommand)]
    pub command: Command,
}

/// The umbrella's own commands, and the tools it forwards to.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Validate the config dir offline: ini files, pipelines, IAM policies, acfg.metadata, SG rules,
    /// CIDRs, schedules and references. Prints `PATH:LINE: error|warning: message`; exit 1 on errors.
    Check,
    /// Create or update the sandbox environment NAME (type sandbox), upload its files
    /// (sandbox_sync_config), and spin up sandboxes/<DIR>/pipeline.csv in it.
    Sandbox(sandbox::SandboxArgs),
    /// Run a Sila tool: `sila vpc list` is `sila-vpc list`.
    #[command(external_subcommand)]
    Tool(Vec<OsString>),
}

/// Runs the parsed command line.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match &cli.command {
        Command::Check => check::run(&Settings::load(&cli.global)),
        Command::Sandbox(args) => sandbox::run(&cli.global, &Settings::load(&cli.global), args).await,
        Command::Tool(args) => dispatch::run(&cli.global, args),
    }
}
