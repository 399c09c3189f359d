//! `spinup`, `provision`, `spindown` and `spindownandup`: the one shape of every command that
//! changes AWS. Settings come resolved ([`Settings`]); [`read`] gathers everything the plan needs
//! from AWS at once; `sila_core::spinup::plan_pipeline` decides, purely, each row's group, sizes,
//! subnets and template; [`apply`] runs it on the shared plan runner, each sequence's templates
//! after the previous sequence's groups (and smoke tests). [`down`] takes pipelines down.

mod apply;
mod balancers;
mod down;
pub(crate) mod read;

use anyhow::{anyhow, Context as _};
use clap::Args;
use serde::Serialize;
use sila_cli::{Settings, UsageError};
use sila_core::pipeline::{Pipeline, PipelineRow, Size};
use sila_core::spinup::{plan_pipeline, GroupView, ProvisionPlan};
use std::path::PathBuf;
use std::time::Duration;

use down::{take_down, Removed};
use read::{context, context_with_reads, Context};

/// Arguments of `spinup`.
#[derive(Debug, Args)]
pub struct SpinupArgs {
    /// The pipeline CSV
    #[arg(long, value_name = "CSV")]
    pub pipeline: PathBuf,
    #[command(flatten)]
    pub run: RunArgs,
}

/// Arguments of `provision`: one hostclass, as a one-row pipeline.
#[derive(Debug, Args)]
pub struct ProvisionArgs {
    /// The hostclass
    #[arg(long, value_name = "HOSTCLASS")]
    pub hostclass: String,
    /// This image instead of the newest in the stage
    #[arg(long, value_name = "AMI")]
    pub ami: Option<String>,
    /// Instance type [default: m3.large]
    #[arg(long = "instance-type", alias = "instance_type", value_name = "TYPE")]
    pub instance_type: Option<String>,
    /// GB added to the 8 GB root volume
    #[arg(long = "extra-space", alias = "extra_space", value_name = "GB", value_parser = sila_cli::values::extra_space_gb)]
    pub extra_space: Option<u32>,
    /// GB of an extra volume
    #[arg(long = "extra-disk", alias = "extra_disk", value_name = "GB", value_parser = sila_cli::values::extra_disk_gb)]
    pub extra_disk: Option<u32>,
    /// Provisioned IOPS (io1) of the extra volume
    #[arg(long, value_name = "N", value_parser = sila_cli::values::iops)]
    pub iops: Option<u32>,
    /// Minimum size (a number, or N@cron:M@cron)
    #[arg(long = "min-size", alias = "min_size", value_name = "SIZE")]
    pub min_size: Option<String>,
    /// Desired size (a number, or N@cron:M@cron)
    #[arg(long = "desired-size", alias = "desired_size", value_name = "SIZE")]
    pub desired_size: Option<String>,
    /// Maximum size (a number, or N@cron:M@cron)
    #[arg(long = "max-size", alias = "max_size", value_name = "SIZE")]
    pub max_size: Option<String>,
    /// Take the hostclass out of chaos
    #[arg(long = "no-chaos", alias = "no_chaos")]
    pub no_chaos: bool,
    #[command(flatten)]
    pub run: RunArgs,
}

/// What `spinup` and `provision` share.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Image stage(s) to pick from, in priority order (a,b) [default: the environment type's ami_stage]
    #[arg(long, value_name = "STAGE")]
    pub stage: Option<String>,
    /// Do not wait for smoke tests
    #[arg(long = "no-smoke-test", alias = "no_smoke_test")]
    pub no_smoke_test: bool,
    /// Tag the groups is_testing=1
    #[arg(long)]
    pub testing: bool,
    /// How long smoke tests may take, all sequences together (e.g. 20m)
    #[arg(long, value_name = "DURATION", default_value = "20m", value_parser = sila_cli::values::deadline)]
    pub deadline: Duration,
    /// Print every group that would be created or changed, and why; change nothing
    #[arg(long = "dry-run")]
    pub dry_run: bool,
}

/// Arguments of `spindown`.
#[derive(Debug, Args)]
pub struct SpindownArgs {
    /// The pipeline CSV
    #[arg(long, value_name = "CSV")]
    pub pipeline: PathBuf,
    /// Print what would be removed; change nothing
    #[arg(long = "dry-run")]
    pub dry_run: bool,
}

fn load_pipeline(path: &std::path::Path) -> anyhow::Result<Pipeline> {
    Pipeline::load(path).map_err(|d| anyhow!("{d}"))
}

/// Plans a spinup from what was read: the stages, then the pure plan; its warnings are logged.
fn plan(
    settings: &Settings,
    ctx: &Context,
    reads: &sila_core::spinup::SpinupReads,
    args: &RunArgs,
    pipeline: &Pipeline,
    lbs: &read::BalancerReads,
    spun_down: bool,
) -> anyhow::Result<(ProvisionPlan, Vec<balancers::BalancerPlan>)> {
    let input = read::plan_input(settings, ctx, args, pipeline, &lbs.specs)?;
    let plan = plan_pipeline(&input, reads).map_err(anyhow::Error::msg)?;
    for warning in &plan.warnings {
        tracing::warn!("{warning}");
    }
    let balancers = balancers::plan(ctx, &lbs.specs, &lbs.reads, spun_down)?;
    Ok((plan, balancers))
}

/// Runs `spinup`.
pub(crate) async fn spinup(settings: &Settings, args: &SpinupArgs) -> anyhow::Result<()> {
    let pipeline = load_pipeline(&args.pipeline)?;
    run_pipeline(settings, &args.run, &pipeline).await
}

/// Runs `provision`: the spinup of a one-row pipeline (sequence 1, smoke test unless
/// `--no-smoke-test`).
pub(crate) async fn provision_one(settings: &Settings, args: &ProvisionArgs) -> anyhow::Result<()> {
    let size = |flag: &str, value: &Option<String>| -> anyhow::Result<Size> {
        match value {
            None => Ok(Size::Unset),
            Some(v) => Size::parse(v).map_err(|e| UsageError(format!("--{flag} {v}: {e}")).into()),
        }
    };
    let row = PipelineRow {
        line: 1,
        sequence: Some(1),
        hostclass: args.hostclass.clone(),
        min_size: size("min-size", &args.min_size)?,
        desired_size: size("desired-size", &args.desired_size)?,
        max_size: size("max-size", &args.max_size)?,
        instance_type: args.instance_type.clone(),
        extra_space: args.extra_space,
        extra_disk: args.extra_disk,
        iops: args.iops,
        smoke_test: true,
        ami: args.ami.clone(),
        chaos: args.no_chaos.then_some(false),
        ..PipelineRow::default()
    };
    let pipeline = Pipeline { path: PathBuf::from("--hostclass"), rows: vec![row], warnings: Vec::new() };
    run_pipeline(settings, &args.run, &pipeline).await
}

/// `spindownandup --output json`: one document.
#[derive(Serialize)]
struct DownAndUp<'a> {
    spindown: &'a [Removed],
    /// The spinup's plan.
    spinup: &'a [GroupView],
}

/// Runs `spindownandup`: spindown, then spinup with the defaults. Like every composite command, it
/// plans all of it before its first change: the spinup is planned as if the spindown were done, so
/// a row it could not start (no image, no network, ...) stops it with the pipeline still up. A
/// failure after the spindown says what the spindown removed.
pub(crate) async fn spindown_and_up(settings: &Settings, args: &SpindownArgs) -> anyhow::Result<()> {
    let printer = settings.printer();
    let pipeline = load_pipeline(&args.pipeline)?;
    let run = RunArgs {
        stage: None,
        no_smoke_test: false,
        testing: false,
        deadline: Duration::from_secs(20 * 60),
        dry_run: args.dry_run,
    };
    let (ctx, mut reads, lbs) = context_with_reads(settings, &pipeline, run.testing).await?;
    reads.spun_down(&ctx.env, &pipeline);
    let (planned, balancers) = plan(settings, &ctx, &reads, &run, &pipeline, &lbs, true)?;
    let removed = take_down(&ctx, &pipeline, args.dry_run, &printer).await?;
    apply::apply(&ctx, &run, &pipeline, &planned, &balancers, &printer).await.with_context(|| {
        let groups: Vec<&str> = removed.iter().flat_map(|r| r.groups.iter().map(String::as_str)).collect();
        let templates: Vec<&str> = removed.iter().map(|r| r.launch_template.as_str()).collect();
        format!(
            "the spindown removed {} and the launch templates {}, then the spinup failed",
            if groups.is_empty() { "no group".to_string() } else { format!("the groups {}", groups.join(", ")) },
            templates.join(", ")
        )
    })?;
    if printer.json() {
        printer.print_json(&DownAndUp { spindown: &removed, spinup: &planned.view() })?;
    }
    Ok(())
}

/// Spins `pipeline` up: read, plan, apply; prints the plan as JSON when asked.
async fn run_pipeline(settings: &Settings, args: &RunArgs, pipeline: &Pipeline) -> anyhow::Result<()> {
    let printer = settings.printer();
    let (ctx, reads, lbs) = context_with_reads(settings, pipeline, args.testing).await?;
    let (planned, balancers) = plan(settings, &ctx, &reads, args, pipeline, &lbs, false)?;
    apply::apply(&ctx, args, pipeline, &planned, &balancers, &printer).await?;
    if printer.json() {
        printer.print_json(&planned.view())?;
    }
    Ok(())
}

/// Runs `spindown`: every group and the launch template of each hostclass in the pipeline.
pub(crate) async fn spindown(settings: &Settings, args: &SpindownArgs) -> anyhow::Result<()> {
    let pipeline = load_pipeline(&args.pipeline)?;
    let ctx = context(settings).await?;
    let printer = settings.printer();
    let removed = take_down(&ctx, &pipeline, args.dry_run, &printer).await?;
    if printer.json() {
        printer.print_json(&removed)?;
    }
    Ok(())
}
