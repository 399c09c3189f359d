//! The commands: what the config says ([`sila_core::elb`]), what exists (read through
//! `sila-cloud`), the plan between them ([`sila_core::elb::plan`]) and the shared flow.

use crate::apply::apply;
use clap::Args;
use serde::Serialize;
use sila_cli::converge::{Decision, Mode};
use sila_cli::{Failure, Settings, Table, UsageError};
use sila_cloud::Clients;
use sila_core::elb::plan::{plan_delete, plan_update, ElbLive, ElbStep, Placement};
use sila_core::elb::{ElbSettings, LoadBalancerSpec};
use sila_core::plan::Plan;
use std::io::{BufRead as _, IsTerminal as _, Write as _};

/// `--hostclass H [--testing]`.
#[derive(Debug, Args)]
pub struct HostclassArgs {
    /// The hostclass
    #[arg(long, value_name = "HOSTCLASS")]
    pub hostclass: String,
    /// The testing load balancer (`<env>-<hostclass>-test`) instead of the hostclass's own
    #[arg(long)]
    pub testing: bool,
}

/// Arguments of `update`.
#[derive(Debug, Args)]
pub struct UpdateArgs {
    #[command(flatten)]
    pub target: HostclassArgs,
    /// Print the plan and change nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Allow steps that delete (listeners, target groups, a load balancer replaced or no longer
    /// configured)
    #[arg(long)]
    pub allow_destructive: bool,
}

/// Arguments of `delete`.
#[derive(Debug, Args)]
pub struct DeleteArgs {
    #[command(flatten)]
    pub target: HostclassArgs,
    /// Print the plan and change nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Do not ask for confirmation (required when stdin is not a terminal)
    #[arg(long)]
    pub yes: bool,
}

/// The environment, its facts, and the hostclass's section of aws.ini checked.
struct Context<'s> {
    env: String,
    clients: &'s Clients,
    facts: sila_core::spinup::EnvironmentFacts,
}

async fn context<'s>(settings: &'s Settings, hostclass: &str) -> anyhow::Result<Context<'s>> {
    let aws = settings.aws()?;
    if aws.ini.section(hostclass).is_none() {
        return Err(
            UsageError(format!("--hostclass {hostclass}: {} has no [{hostclass}]", aws.ini.path.display())).into()
        );
    }
    let env = settings.environment()?;
    let clients = settings.clients().await?;
    let facts = clients
        .environment_facts(&env)
        .await?
        .ok_or_else(|| UsageError(format!("environment {env} does not exist (no VPC tagged Name={env})")))?;
    Ok(Context { env, clients, facts })
}

/// The spec of the hostclass's load balancer, or (when the config has none) what identifies the
/// one it may still have.
fn spec_of(settings: &Settings, ctx: &Context<'_>, target: &HostclassArgs) -> anyhow::Result<(LoadBalancerSpec, bool)> {
    let aws = settings.aws()?;
    let elb = ElbSettings::resolve(aws, &target.hostclass, &ctx.env).map_err(anyhow::Error::msg)?;
    Ok(match elb {
        Some(s) => (LoadBalancerSpec::of(&s, &ctx.env, target.testing).map_err(anyhow::Error::msg)?, true),
        None => {
            let domain = aws
                .hostclass_option(&target.hostclass, "domain_name", Some(&ctx.env))
                .map(|r| r.value.trim().to_string());
            let spec = LoadBalancerSpec::identity(
                &ctx.env,
                &target.hostclass,
                target.testing,
                domain.as_deref().filter(|d| !d.is_empty()),
            );
            (spec.map_err(anyhow::Error::msg)?, false)
        }
    })
}

/// What exists of the load balancer, and (when configured) where it goes.
async fn read(ctx: &Context<'_>, spec: &LoadBalancerSpec, configured: bool) -> anyhow::Result<(Placement, ElbLive)> {
    let mut reads = ctx.clients.read_elbs(std::slice::from_ref(spec), &ctx.env).await?;
    if configured {
        for warning in &reads.warnings {
            eprintln!("sila-elb: warning: {warning}");
        }
    }
    let live = reads.live.pop().unwrap_or_default();
    if !configured {
        return Ok((Placement::default(), live));
    }
    let (acm, iam) = &reads.certificates;
    let place = sila_core::elb::plan::placement(spec, &ctx.facts, acm, iam).map_err(anyhow::Error::msg)?;
    Ok((place, live))
}

/// A row of `list`.
#[derive(Debug, Serialize)]
struct Listed {
    name: String,
    hostclass: String,
    testing: bool,
    kind: String,
    internal: bool,
    dns_name: String,
}

/// `list`.
pub async fn list(settings: &Settings) -> anyhow::Result<()> {
    let env = settings.environment()?;
    let clients = settings.clients().await?;
    let rows: Vec<Listed> = clients
        .environment_load_balancers(&env)
        .await?
        .into_iter()
        .map(|l| Listed {
            hostclass: l.tags.get("hostclass").cloned().unwrap_or_default(),
            testing: l.tags.get("is_testing").is_some_and(|t| t == "1"),
            name: l.name,
            kind: l.kind,
            internal: l.internal,
            dns_name: l.dns_name,
        })
        .collect();
    let mut table = Table::new(["NAME", "HOSTCLASS", "TESTING", "TYPE", "SCHEME", "DNS NAME"]);
    for r in &rows {
        let scheme = if r.internal { "internal" } else { "internet-facing" };
        table.row([
            r.name.clone(),
            r.hostclass.clone(),
            yes_no(r.testing),
            r.kind.clone(),
            scheme.into(),
            r.dns_name.clone(),
        ]);
    }
    Ok(settings.printer().print(&table, &rows)?)
}

/// What `show` prints as JSON.
#[derive(Debug, Serialize)]
struct Shown<'a> {
    configured: bool,
    spec: &'a LoadBalancerSpec,
    load_balancer: Option<&'a sila_core::elb::plan::LiveLoadBalancer>,
    target_groups: &'a [sila_core::elb::plan::LiveTargetGroup],
}

/// `show`.
pub async fn show(settings: &Settings, args: &HostclassArgs) -> anyhow::Result<()> {
    let ctx = context(settings, &args.hostclass).await?;
    let (spec, configured) = spec_of(settings, &ctx, args)?;
    let (_, live) = read(&ctx, &spec, false).await?;
    let printer = settings.printer();
    let ours: Vec<_> =
        live.target_groups.iter().filter(|t| sila_core::elb::plan::owned(&t.tags, &spec.tags)).cloned().collect();
    if printer.json() {
        return Ok(printer.print_json(&Shown {
            configured,
            spec: &spec,
            load_balancer: live.load_balancer.as_ref(),
            target_groups: &ours,
        })?);
    }
    printer.line(&format!(
        "{} ({} load balancer, {}){}",
        spec.name,
        spec.kind.as_str(),
        if spec.internal { "internal" } else { "internet-facing" },
        if configured { "" } else { ": the config has none (elb is not true)" }
    ))?;
    match &live.load_balancer {
        None => printer.line("  does not exist")?,
        Some(l) => printer.line(&format!("  exists: {} ({} subnets), {}", l.dns_name, l.subnets.len(), l.arn))?,
    }
    let mut table = Table::new(["LISTENER", "PROTOCOL", "TARGET GROUP"]);
    for l in &spec.listeners {
        table.row([l.port.to_string(), l.protocol.to_string(), l.target_group.clone()]);
    }
    if configured {
        printer.line(&table.render())?;
    }
    for name in &spec.dns_names {
        printer.line(&format!("  DNS name {name}"))?;
    }
    Ok(())
}

/// What `update` and `delete` print as JSON.
#[derive(Debug, Serialize)]
struct Report<'a> {
    load_balancer: &'a str,
    dry_run: bool,
    applied: bool,
    steps: Vec<&'a ElbStep>,
}

/// `update`.
pub async fn update(settings: &Settings, args: &UpdateArgs) -> anyhow::Result<()> {
    let ctx = context(settings, &args.target.hostclass).await?;
    let (spec, configured) = spec_of(settings, &ctx, &args.target)?;
    let (place, live) = read(&ctx, &spec, configured).await?;
    let plan = match configured {
        true => plan_update(&spec, &place, &live),
        false => plan_delete(&spec, &live),
    }
    .map_err(anyhow::Error::msg)?;
    converge(
        settings,
        &ctx,
        &spec,
        &place,
        live,
        &plan,
        Mode { dry_run: args.dry_run, allow_destructive: args.allow_destructive },
    )
    .await
}

/// `delete`.
pub async fn delete(settings: &Settings, args: &DeleteArgs) -> anyhow::Result<()> {
    let ctx = context(settings, &args.target.hostclass).await?;
    let (spec, _) = spec_of(settings, &ctx, &args.target)?;
    let (_, live) = read(&ctx, &spec, false).await?;
    let plan = plan_delete(&spec, &live).map_err(anyhow::Error::msg)?;
    if !args.dry_run && !args.yes && !plan.is_empty() {
        if !std::io::stdin().is_terminal() {
            return Err(UsageError("refusing to delete without --yes when stdin is not a terminal".into()).into());
        }
        settings.printer().line(plan.render(ToString::to_string).trim_end())?;
        eprint!("Delete load balancer {}? Type its name to confirm: ", spec.name);
        std::io::stderr().flush()?;
        let mut answer = String::new();
        std::io::stdin().lock().read_line(&mut answer)?;
        if answer.trim() != spec.name {
            eprintln!("not confirmed; nothing was changed");
            return Err(Failure.into());
        }
    }
    converge(
        settings,
        &ctx,
        &spec,
        &Placement::default(),
        live,
        &plan,
        Mode { dry_run: args.dry_run, allow_destructive: true },
    )
    .await
}

/// Shows the plan, stops on a dry run, when there is nothing to change, or (refused) on
/// destructive steps not allowed; else runs it and reports.
async fn converge(
    settings: &Settings,
    ctx: &Context<'_>,
    spec: &LoadBalancerSpec,
    place: &Placement,
    live: ElbLive,
    plan: &Plan<ElbStep>,
    mode: Mode,
) -> anyhow::Result<()> {
    let started = std::time::Instant::now();
    let printer = settings.printer();
    if !printer.json() {
        printer.line(&format!("load balancer {} of hostclass {} in {}:", spec.name, spec.hostclass, ctx.env))?;
        printer.line(plan.render(ToString::to_string).trim_end())?;
    }
    let mut report = Report {
        load_balancer: &spec.name,
        dry_run: mode.dry_run,
        applied: false,
        steps: plan.steps.iter().map(|s| &s.step).collect(),
    };
    let destructive: Vec<String> = plan.destructive().iter().map(|s| s.step.to_string()).collect();
    let decision = mode.decide(plan.is_empty(), &destructive);
    if !matches!(decision, Decision::Apply) {
        if printer.json() {
            printer.print_json(&report)?;
        }
        return decision.stop();
    }
    apply(ctx.clients, spec, place, live, plan).await?;
    report.applied = true;
    if printer.json() {
        printer.print_json(&report)?;
    } else {
        printer.line(&format!("done in {:.1}s: {} step(s)", started.elapsed().as_secs_f64(), plan.steps.len()))?;
    }
    Ok(())
}

fn yes_no(b: bool) -> String {
    if b { "yes" } else { "no" }.to_string()
}
