//! `create` and `update`: compute the desired environment, read what exists, plan the missing
//! pieces, print the plan, and (unless `--dry-run`) apply it.

use crate::apply::apply;
use crate::environment::{self, Target};
use clap::Args;
use serde::Serialize;
use sila_cli::{GlobalArgs, Printer, UsageError};
use sila_cloud::vpc::extra_rules;
use sila_core::environment::{validate_name, EnvironmentSpec};
use sila_core::net::{Metanetwork, SgRule};
use sila_core::vpc_plan::{plan_create, Key, Plan};
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
    /// Extra VPC tag; repeatable (may override the defaults)
    #[arg(long = "tag", value_name = "KEY:VALUE", value_parser = environment::parse_tag)]
    pub tags: Vec<(String, String)>,
    /// Print the plan and change nothing
    #[arg(long)]
    pub dry_run: bool,
}

/// Arguments of `update`.
#[derive(Debug, Args)]
pub struct UpdateArgs {
    #[command(flatten)]
    pub target: Target,
    /// Print the plan and change nothing
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Serialize)]
struct Report<'a> {
    environment: &'a EnvironmentSpec,
    vpc_id: Option<String>,
    dry_run: bool,
    plan: &'a Plan,
    /// Rules that exist but are not configured; this version of update does not revoke them.
    not_revoked: BTreeMap<Metanetwork, Vec<SgRule>>,
}

/// `sila-vpc create`.
pub async fn create(global: &GlobalArgs, args: &CreateArgs) -> anyhow::Result<()> {
    validate_name(&args.name).map_err(|e| UsageError(format!("--name: {e}")))?;
    let vpc = environment::vpc_config(global)?;
    environment::known_type(&vpc, &args.vpc_type)?;
    let clients = sila_cloud::connect(&global.aws.settings()).await?;
    if let Some(existing) = environment::find_by_name(&clients, &args.name).await?.first() {
        return Err(UsageError(format!(
            "environment {} exists already ({}); `sila-vpc update --name {}` brings it in line with the config",
            args.name, existing.vpc_id, args.name
        ))
        .into());
    }
    let tags: BTreeMap<String, String> = args.tags.iter().cloned().collect();
    let spec = environment::desired_shape(&clients, &vpc, &args.name, &args.vpc_type, &tags, None).await?;
    // Pieces an interrupted create made before its VPC existed (internet gateway, DHCP options).
    let live = clients.read_environment(&args.name, None).await?;
    converge(global, &clients, &spec, live, args.dry_run, "created").await
}

/// `sila-vpc update`.
pub async fn update(global: &GlobalArgs, args: &UpdateArgs) -> anyhow::Result<()> {
    let vpc = environment::vpc_config(global)?;
    let clients = sila_cloud::connect(&global.aws.settings()).await?;
    let found = environment::find(&clients, &args.target).await?;
    let (name, vpc_type) = (found.name.clone().unwrap_or_default(), found.vpc_type.clone().unwrap_or_default());
    environment::known_type(&vpc, &vpc_type)?;
    let tags: BTreeMap<String, String> =
        found.tags.iter().filter(|(k, _)| k.as_str() != "create_date").map(|(k, v)| (k.clone(), v.clone())).collect();
    let spec = environment::desired_shape(&clients, &vpc, &name, &vpc_type, &tags, Some(&found)).await?;
    let live = clients.read_environment(&name, Some(&found.vpc_id)).await?;
    converge(global, &clients, &spec, live, args.dry_run, "updated").await
}

async fn converge(
    global: &GlobalArgs,
    clients: &sila_cloud::Clients,
    spec: &EnvironmentSpec,
    live: sila_core::vpc_plan::LiveEnvironment,
    dry_run: bool,
    done: &str,
) -> anyhow::Result<()> {
    let started = Instant::now();
    let plan = plan_create(spec, &live, &chrono::Utc::now().format("%Y-%m-%dT%H:%M:%S%.6f").to_string());
    let not_revoked = extra_rules(&live.rules, spec);
    let printer = Printer::new(global.output);
    if !printer.json() {
        printer.line(&render(spec, &plan, &not_revoked))?;
    }
    let mut report =
        Report { environment: spec, vpc_id: live.ids.get(&Key::Vpc).cloned(), dry_run, plan: &plan, not_revoked };
    if dry_run || plan.is_empty() {
        if printer.json() {
            printer.print_json(&report)?;
        }
        return Ok(());
    }
    let ids = apply(clients, &plan, live.ids.clone(), &spec.name).await?;
    report.vpc_id = ids.get(&Key::Vpc).cloned();
    if printer.json() {
        printer.print_json(&report)?;
    } else {
        let vpc = report.vpc_id.as_deref().unwrap_or("?");
        printer.line(&format!(
            "{done} environment {} ({vpc}) in {:.1}s",
            spec.name,
            started.elapsed().as_secs_f64()
        ))?;
    }
    Ok(())
}

/// The plan as people read it: a header, then one `+` line per step, level by level.
fn render(spec: &EnvironmentSpec, plan: &Plan, not_revoked: &BTreeMap<Metanetwork, Vec<SgRule>>) -> String {
    let mut out = format!(
        "environment {} (type {}, VPC {}, zones {})\n",
        spec.name,
        spec.vpc_type,
        spec.cidr,
        spec.zones.join(" ")
    );
    if plan.is_empty() {
        out.push_str("nothing to change\n");
    } else {
        out.push_str(&format!("plan: {} step(s) in {} level(s)\n", plan.steps.len(), plan.depth()));
        for (n, level) in plan.levels().iter().enumerate() {
            out.push_str(&format!("  level {}:\n", n + 1));
            for s in level {
                out.push_str(&format!("    + {}\n", s.step));
            }
        }
    }
    for (meta, rules) in not_revoked {
        out.push_str(&format!(
            "note: {} rule(s) on {meta} are not in the config; this version of update does not revoke rules\n",
            rules.len()
        ));
    }
    out.trim_end().to_string()
}
