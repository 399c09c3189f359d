//! sila-elb: each hostclass's load balancer as its `elb*` options say (reference §2.5, §4.13, with
//! application and network load balancers instead of classic ones): listed, shown, made or
//! changed plan first, and taken away with its target groups and DNS names.

mod apply;
mod commands;

use clap::{Parser, Subcommand};
use sila_cli::{GlobalArgs, Settings};

/// Make, change, list and delete the load balancers of hostclasses.
///
/// A hostclass with `elb = true` in aws.ini gets an application load balancer (HTTP, HTTPS
/// listeners) or a network one (TCP, TLS), a target group per instance port, and alias records
/// `<hostclass>-<env>.<domain_name>` (and `elb_dns_alias`) in the zone of its `domain_name`.
///
/// Exit status: 0 success (also when there was nothing to change), 1 failure (configuration or
/// AWS), 2 bad usage or a refused plan (destructive steps without --allow-destructive).
#[derive(Debug, Parser)]
#[command(name = "sila-elb", version, arg_required_else_help = true, after_help = sila_cli::INTERRUPTED_HELP)]
pub struct Cli {
    /// The options every tool shares.
    #[command(flatten)]
    pub global: GlobalArgs,

    /// The command to run.
    #[command(subcommand)]
    pub command: Command,
}

/// The commands of `sila-elb`.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// List the environment's load balancers.
    List,
    /// Show a hostclass's load balancer: what the config says and what exists.
    Show(commands::HostclassArgs),
    /// Make or change a hostclass's load balancer as the config says (or take it away when the
    /// hostclass no longer has `elb = true`), plan first.
    Update(commands::UpdateArgs),
    /// Delete a hostclass's load balancer, its target groups and its DNS names.
    Delete(commands::DeleteArgs),
}

/// Runs the parsed command line.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let settings = &Settings::load(&cli.global);
    match &cli.command {
        Command::List => commands::list(settings).await,
        Command::Show(args) => commands::show(settings, args).await,
        Command::Update(args) => commands::update(settings, args).await,
        Command::Delete(args) => commands::delete(settings, args).await,
    }
}
