//! sila-aws: hosts of an environment: list them, read hostclass options, tag, check readiness, stop
//! and terminate. Provisioning and pipelines (provision, spinup, spindown) are not built yet.

mod hosts;

use clap::{Parser, Subcommand};
use sila_cli::GlobalArgs;

/// List and act on the hosts of an environment; read hostclass options.
///
/// The environment is `--env`, else `[disco_aws] default_environment`. Provisioning and pipelines
/// (provision, spinup, spindown, exec) are not built yet.
///
/// Exit status: 0 success, 1 failure (or, for isready, a host not ready), 2 bad usage.
#[derive(Debug, Parser)]
#[command(name = "sila-aws", version, arg_required_else_help = true)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,

    #[command(subcommand)]
    pub command: Command,
}

/// The sub-commands (Asiaq's names).
#[derive(Debug, Subcommand)]
pub enum Command {
    /// List the environment's hosts, sorted by state, hostclass and hostname.
    #[command(name = "listhosts")]
    ListHosts(hosts::ListArgs),
    /// Print a hostclass option as provisioning resolves it ([hostclass] opt@env, [hostclass] opt,
    /// [disco_aws] default_opt@env, [disco_aws] default_opt).
    #[command(name = "gethostclassoption")]
    GetHostclassOption(hosts::OptionArgs),
    /// Say for each selected host whether it passed its smoke test (a `smoketest` tag); exit 0 only
    /// when all did.
    #[command(name = "isready")]
    IsReady(hosts::ReadyArgs),
    /// Set (or, without --value, remove) a tag on instances.
    Tag(hosts::TagArgs),
    /// Stop the selected hosts.
    Stop(hosts::ActArgs),
    /// Terminate the selected hosts (routes that point at them are deleted first). Their
    /// autoscaling groups replace them.
    Terminate(hosts::ActArgs),
}

/// Runs the parsed command line.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let g = &cli.global;
    match &cli.command {
        Command::ListHosts(args) => hosts::list(g, args).await,
        Command::GetHostclassOption(args) => hosts::option(g, args),
        Command::IsReady(args) => hosts::ready(g, args).await,
        Command::Tag(args) => hosts::tag(g, args).await,
        Command::Stop(args) => hosts::act(g, args, hosts::Action::Stop).await,
        Command::Terminate(args) => hosts::act(g, args, hosts::Action::Terminate).await,
    }
}
