//! `create` and `update`: compute the desired environment, read what exists, plan the difference,
//! print the plan, and (unless `--dry-run`) apply it. Destructive steps need `--allow-destructive`.

use crate::apply::apply;
use crate::environment::{self, Target};
use crate::peerings::{self, PeeringReport};
use clap::Args;
use serde::Serialize;
use sila_cli::converge::{Decision, Mode};
use sila_cli::{Settings, UsageError};
use sila_cloud::Clients;
use sila_core::config::VpcConfig;
use sila_core::environment::EnvironmentSpec;
use sila_core::vpc_plan::{self, plan_environment, Key, LiveEnvironment, Plan, PlanView};
use std::collections::BTreeMap;
use std::time::Instant;

/// Arguments of `create`.
#[derive(Debug, Args)]
pub struct CreateArgs {
    /// Name of the new environment (letters, digits, '-', '.'; no '_')
    #[arg(long, value_name = "NAME")]
    pub name: String,
    /// Environment type: an [envtype:TYPE] section of vpc.ini
    #[arg(long = "type", value_name = "TYPE")]
    pub vpc_type: String,
    /// Extra VPC tag; repeatable (may override `application`, never `Name` or `type`)
    #[arg(long = "tag", value_name = "KEY:VALUE", value_parser = environment::parse_tag)]
    pub tags: Vec<(String, String)>,
    /// Do not reserve floating interfaces for hostclasses with a static ip_address (update will)
    #[arg(long)]
    pub skip_enis: bool,
    /// Print the plan and change nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Allow destructive steps: moving the environment's VPN gateway off the VPC it is attached to
    /// (without it, such a plan is refused and nothing is changed)
    #[arg(long)]
    pub allow_destructive: bool,
}

/// Arguments of `update`.
#[derive(Debug, Args)]
pub struct UpdateArgs {
    #[command(flatten)]
    pub target: Target,
    /// Print the plan and change nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Allow steps that delete or replace a subnet, route table, security group, gateway, peering
    /// or the VPC, or move a VPN gateway off another VPC (without it, a plan with such steps is
    /// refused and nothing is changed)
    #[arg(long)]
    pub allow_destructive: bool,
}

#[derive(Serialize)]
struct Report<'a> {
    environment: &'a EnvironmentSpec,
    vpc_id: Option<String>,
    dry_run: bool,
    plan: PlanView<'a>,
    /// The peerings of `[peerings]` that involve this environment (once its VPC exists).
    peerings: Option<PeeringReport>,
}

/// `sila-vpc create`.
pub async fn create(settings: &Settings, args: &CreateArgs) -> anyhow::Result<()> {
    sila_cli::check_environment_name("--name", &args.name)?;
    // All configuration is read before the first AWS call: bad input changes nothing, calls nothing.
    let vpc = environment::vpc_config(settings)?;
    environment::known_type(vpc, &args.vpc_type)?;
    let aws = settings.optional_aws()?;
    let clients = settings.clients().await?;
    let tags: BTreeMap<String, String> = args.tags.iter().cloned().collect();
    // Read everything at once: the name check, the region's facts, and pieces an interrupted create
    // made before its VPC existed (internet gateway, DHCP options).
    let (existing, spec, live) = tokio::try_join!(
        environment::find_by_name(clients, &args.name),
        environment::desired_shape(clients, vpc, &args.name, &args.vpc_type, &tags, None),
        async { Ok(clients.read_environment(&args.name, None).await?) },
    )?;
    if let Some(existing) = existing.first() {
        return Err(UsageError(format!(
            "environment {} exists already ({}); `sila-vpc update --name {}` brings it in line with the config",
            args.name, existing.vpc_id, args.name
        ))
        .into());
    }
    let mut spec = spec;
    with_peering_rules(clients, vpc, &mut spec, None).await?;
    let notes = if args.skip_enis { Vec::new() } else { environment::with_interfaces(&mut spec, aws)? };
    let how = How { mode: Mode { dry_run: args.dry_run, allow_destructive: args.allow_destructive }, done: "created" };
    converge(settings, clients, vpc, &spec, live, notes, how).await
}

/// `sila-vpc update`.
pub async fn update(settings: &Settings, args: &UpdateArgs) -> anyhow::Result<()> {
    let vpc = environment::vpc_config(settings)?;
    let aws = settings.optional_aws()?;
    let clients = settings.clients().await?;
    let found = environment::find(clients, &args.target).await?;
    let (name, vpc_type) = (found.name.clone().unwrap_or_default(), found.vpc_type.clone().unwrap_or_default());
    environment::known_type(vpc, &vpc_type)?;
    let tags: BTreeMap<String, String> =
        found.tags.iter().filter(|(k, _)| k.as_str() != "create_date").map(|(k, v)| (k.clone(), v.clone())).collect();
    let (mut spec, live) =
        tokio::try_join!(environment::desired_shape(clients, vpc, &name, &vpc_type, &tags, Some(&found)), async {
            Ok(clients.read_environment(&name, Some(&found.vpc_id)).await?)
        },)?;
    let notes = environment::with_interfaces(&mut spec, aws)?;
    with_peering_rules(clients, vpc, &mut spec, Some(&found.vpc_id)).await?;
    let how = How { mode: Mode { dry_run: args.dry_run, allow_destructive: args.allow_destructive }, done: "updated" };
    converge(settings, clients, vpc, &spec, live, notes, how).await
}

/// Adds the rules the configured peerings give this environment to its desired state.
async fn with_peering_rules(
    clients: &Clients,
    vpc: &VpcConfig,
    spec: &mut EnvironmentSpec,
    vpc_id: Option<&str>,
) -> anyhow::Result<()> {
    for (meta, rules) in peerings::rules_for(clients, vpc, spec, vpc_id).await? {
        if let Some(m) = spec.metanetworks.get_mut(&meta) {
            m.sg_rules.extend(rules);
        }
    }
    Ok(())
}

/// How to apply (dry run, destructive steps allowed), and the verb of the result line.
struct How {
    mode: Mode,
    done: &'static str,
}

/// The shared flow (`sila_cli::converge`) for an environment: plan, show, decide, apply, then the
/// peerings, which need the VPC.
async fn converge(
    settings: &Settings,
    clients: &Clients,
    vpc: &VpcConfig,
    spec: &EnvironmentSpec,
    live: LiveEnvironment,
    notes: Vec<String>,
    How { mode, done }: How,
) -> anyhow::Result<()> {
    let started = Instant::now();
    let now = chrono::Utc::now().format("%Y-%m-%dT%H:%M:%S%.6f").to_string();
    let mut plan =
        plan_environment(spec, &live, &now).map_err(|e| anyhow::anyhow!("environment {}: {e}", spec.name))?;
    plan.notes.extend(notes);
    let printer = settings.printer();
    if !printer.json() {
        printer.line(&render(spec, &plan))?;
    }
    let mut report = Report {
        environment: spec,
        vpc_id: live.ids.get(&Key::Vpc).cloned(),
        dry_run: mode.dry_run,
        plan: vpc_plan::view(&plan),
        peerings: None,
    };
    let mut destructive: Vec<String> = plan.destructive().iter().map(|s| s.step.to_string()).collect();
    // Peerings need the VPC: an update plans them now, before anything changes, so that deleting
    // one (its line left the config) is refused like any destructive step; a create's new VPC has
    // none to delete.
    if let Some(vpc_id) = report.vpc_id.clone() {
        let planned = peerings::sync(clients, vpc, Some(&vpc_id), true, false).await?;
        destructive.extend(planned.removed.iter().map(|r| format!("delete peering {r}")));
        report.peerings = Some(planned);
    }
    let settled = plan.is_empty() && report.peerings.as_ref().is_none_or(PeeringReport::is_empty);
    let decision = mode.decide(settled, &destructive);
    if !matches!(decision, Decision::Apply) {
        if let (false, Some(planned)) = (printer.json(), &report.peerings) {
            printer.line(&planned.render())?;
        }
        if printer.json() {
            printer.print_json(&report)?;
        }
        return decision.stop();
    }
    let ids = apply(clients, &plan, live.ids.clone(), &spec.name).await?;
    report.vpc_id = ids.get(&Key::Vpc).cloned();
    // A VPC this run created has no peering to remove: without [peerings] lines there is nothing
    // to read (two round trips saved on every create of an environment that peers with nobody).
    let created = !live.ids.contains_key(&Key::Vpc);
    if let Some(vpc_id) = &report.vpc_id {
        let peering = if created && peerings::configured(vpc)?.is_empty() {
            PeeringReport::default()
        } else {
            peerings::sync(clients, vpc, Some(vpc_id), false, mode.allow_destructive).await?
        };
        if !printer.json() {
            printer.line(&peering.render())?;
        }
        report.peerings = Some(peering);
    }
    if printer.json() {
        printer.print_json(&report)?;
    } else {
        let vpc = report.vpc_id.as_deref().unwrap_or("?");
        let seconds = started.elapsed().as_secs_f64();
        printer.line(&format!("{done} environment {} ({vpc}) in {seconds:.1}s", spec.name))?;
    }
    Ok(())
}

/// The plan as people read it: a header, then one line per step, level by level (`+` adds or
/// changes, `!` deletes or replaces something that needs --allow-destructive).
fn render(spec: &EnvironmentSpec, plan: &Plan) -> String {
    let mut out = format!(
        "environment {} (type {}, VPC {}, zones {})\n",
        spec.name,
        spec.vpc_type,
        spec.cidr,
        spec.zones.join(" ")
    );
    out.push_str(&plan.render(ToString::to_string));
    for note in &plan.notes {
        out.push_str(&format!("note: {note}\n"));
    }
    out.trim_end().to_string()
}
