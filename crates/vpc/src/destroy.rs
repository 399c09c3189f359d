//! `sila-vpc destroy`: everything the environment's VPC holds, then the VPC, as a plan of one
//! deletion per resource (`sila_core::teardown::destroy_plan`) run by the shared runner.

use crate::environment::{self, Target};
use clap::Args;
use sila_cli::{converge, Failure, Settings, Table, UsageError};
use sila_core::teardown::{destroy_plan, Scope};
use std::io::{BufRead as _, IsTerminal as _, Write as _};
use std::time::Instant;

/// Arguments of `destroy`.
#[derive(Debug, Args)]
pub struct DestroyArgs {
    #[command(flatten)]
    pub target: Target,
    /// Print what would be deleted and change nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Do not ask for confirmation (required when stdin is not a terminal)
    #[arg(long)]
    pub yes: bool,
}

/// Destroys the environment after showing what goes and asking (unless `--yes`).
pub async fn run(settings: &Settings, args: &DestroyArgs) -> anyhow::Result<()> {
    let started = Instant::now();
    let clients = settings.clients().await?;
    let vpc = environment::find(clients, &args.target).await?;
    let name = vpc.name.clone().unwrap_or_default();
    let contents = clients.vpc_contents(&vpc.vpc_id, &name).await?;
    let printer = settings.printer();
    if printer.json() && (args.dry_run || !args.yes) {
        printer.print_json(&contents)?;
    } else if !printer.json() {
        let mut table = Table::new(["WILL DELETE", "COUNT"]);
        for (what, count) in contents.summary().into_iter().filter(|(_, n)| *n > 0) {
            table.row([what.to_string(), count.to_string()]);
        }
        printer.line(&format!("environment {name} ({}, {})", vpc.vpc_id, vpc.cidr))?;
        printer.line(&table.render())?;
        // What is not inside the VPC goes only because it is provably this VPC's: each by name.
        for t in &contents.launch_templates {
            printer.line(&format!("  launch template {} ({})", t.name, t.id))?;
        }
        if let Some(dhcp) = &contents.dhcp_options {
            printer.line(&format!("  DHCP options {dhcp} (tagged Name={name}, used by this VPC only)"))?;
        }
    }
    if args.dry_run {
        return Ok(());
    }
    if !args.yes {
        if !std::io::stdin().is_terminal() {
            return Err(UsageError("refusing to destroy without --yes when stdin is not a terminal".into()).into());
        }
        eprint!("Destroy environment {name} ({})? Type its name to confirm: ", vpc.vpc_id);
        std::io::stderr().flush()?;
        let mut answer = String::new();
        std::io::stdin().lock().read_line(&mut answer)?;
        if answer.trim() != name {
            eprintln!("not confirmed; nothing was changed");
            return Err(Failure.into());
        }
    }
    let plan = destroy_plan(&contents, Scope::Environment);
    tracing::debug!("destroy plan:\n{}", plan.render(ToString::to_string));
    converge::apply(&plan, crate::apply::CONCURRENCY, ToString::to_string, |s| clients.destroy_step(&s.step))
        .await
        .map_err(converge::StepsFailed::into_error)?;
    // In JSON mode the inventory is printed once: before asking, or (with --yes) after the deletion.
    if printer.json() && args.yes {
        printer.print_json(&contents)?;
    } else if !printer.json() {
        printer.line(&format!(
            "destroyed environment {name} ({}) in {:.1}s",
            vpc.vpc_id,
            started.elapsed().as_secs_f64()
        ))?;
    }
    Ok(())
}
