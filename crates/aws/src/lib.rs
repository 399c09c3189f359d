//! sila-aws: pipelines of hostclasses (spinup, spindown) as launch templates and autoscaling
//! groups, and the hosts of an environment: list them, read hostclass options, tag, check
//! readiness, stop and terminate them, run commands on them (SSH through the jump host, or SSM),
//! and share the images they run with production.

mod hosts;
mod pipeline;
mod promote;
mod remote;

use clap::{Parser, Subcommand};
use sila_cli::GlobalArgs;

/// Spin pipelines of hostclasses up and down; list and act on the hosts of an environment.
///
/// The environment is `--env`, else `[disco_aws] default_environment`.
///
/// Exit status: 0 success, 1 failure (or, for isready, a host not ready), 2 bad usage; exec exits
/// with the highest exit status of its command (255: could not run it; 124: ended by --timeout).
#[derive(Debug, Parser)]
#[command(name = "sila-aws", version, arg_required_else_help = true, after_help = sila_cli::INTERRUPTED_HELP)]
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
    /// Create or update the launch template and autoscaling group of every hostclass of a pipeline
    /// CSV, sequence by sequence, waiting for smoke tests between sequences.
    Spinup(pipeline::SpinupArgs),
    /// Remove the autoscaling groups (and their instances) and launch templates of a pipeline's
    /// hostclasses.
    Spindown(pipeline::SpindownArgs),
    /// Spindown, then spinup with the defaults.
    #[command(name = "spindownandup")]
    SpindownAndUp(pipeline::SpindownArgs),
    /// Create or update one hostclass's launch template and group (a one-row spinup).
    Provision(pipeline::ProvisionArgs),
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
    /// Run a command over SSH on the selected hosts, through the jump host when they are not
    /// reachable directly. Exits with the highest exit status of the command (255: not run; 124:
    /// ended by --timeout).
    Exec(remote::ExecArgs),
    /// Run an SSM document on the selected hosts and print each one's output; exit 0 only when
    /// the command succeeded everywhere.
    #[command(name = "exec-ssm")]
    ExecSsm(remote::ExecSsmArgs),
    /// Share with production ([bake] prod_account_ids) the final-stage images whose youngest
    /// running instance in the environment has run at least --hours.
    #[command(name = "promoterunning")]
    PromoteRunning(promote::PromoteRunningArgs),
}

/// Runs the parsed command line.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let settings = &sila_cli::Settings::load(&cli.global);
    match &cli.command {
        Command::Spinup(args) => pipeline::spinup(settings, args).await,
        Command::Spindown(args) => pipeline::spindown(settings, args).await,
        Command::SpindownAndUp(args) => pipeline::spindown_and_up(settings, args).await,
        Command::Provision(args) => pipeline::provision_one(settings, args).await,
        Command::ListHosts(args) => hosts::list(settings, args).await,
        Command::GetHostclassOption(args) => hosts::option(settings, args),
        Command::IsReady(args) => hosts::ready(settings, args).await,
        Command::Tag(args) => hosts::tag(settings, args).await,
        Command::Stop(args) => hosts::act(settings, args, hosts::Action::Stop).await,
        Command::Terminate(args) => hosts::act(settings, args, hosts::Action::Terminate).await,
        Command::Exec(args) => remote::exec(settings, args).await,
        Command::ExecSsm(args) => remote::exec_ssm(settings, args).await,
        Command::PromoteRunning(args) => promote::promote_running(settings, args).await,
    }
}
