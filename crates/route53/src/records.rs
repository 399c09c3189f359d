//! The commands: listings, and one record put or deleted through the shared plan flow (the plan is
//! decided by `sila_core::dns`, each change batch sent by `sila_cloud::route53`).

use clap::Args;
use serde::Serialize;
use sila_cli::converge::{self, Decision, Mode};
use sila_cli::{Settings, Table, UsageError};
use sila_cloud::Clients;
use sila_core::dns::{self, Record, Zone, ZoneChange, RECORD_TYPES};
use sila_core::plan::Plan;

/// Arguments of `list-records`.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Only this zone (its name, with or without the trailing dot, or its id)
    #[arg(long, value_name = "ZONE")]
    pub zone: Option<String>,
}

/// Arguments of `create-record`.
#[derive(Debug, Args)]
pub struct CreateArgs {
    /// The zone (its name, with or without the trailing dot, or its id)
    #[arg(long, value_name = "ZONE")]
    pub zone: String,
    /// The record's name, inside the zone (a trailing dot is added when missing)
    #[arg(long, value_name = "NAME")]
    pub name: String,
    /// The record's type
    #[arg(long = "type", value_name = "TYPE", value_parser = clap::builder::PossibleValuesParser::new(RECORD_TYPES))]
    pub kind: String,
    /// A value (repeat for a record of several values)
    #[arg(long, value_name = "VALUE", required = true)]
    pub value: Vec<String>,
    /// Time to live, in seconds
    #[arg(long, value_name = "SECONDS", default_value_t = 60,
          value_parser = clap::value_parser!(i64).range(0..=2_147_483_647))]
    pub ttl: i64,
    /// Print the plan and change nothing
    #[arg(long)]
    pub dry_run: bool,
}

/// Arguments of `delete-record`.
#[derive(Debug, Args)]
pub struct DeleteArgs {
    /// The zone (its name, with or without the trailing dot, or its id)
    #[arg(long, value_name = "ZONE")]
    pub zone: String,
    /// The record's name (a trailing dot is added when missing)
    #[arg(long, value_name = "NAME")]
    pub name: String,
    /// The record's type
    #[arg(long = "type", value_name = "TYPE")]
    pub kind: String,
    /// Print the plan and change nothing
    #[arg(long)]
    pub dry_run: bool,
}

/// `list-zones`.
pub async fn list_zones(settings: &Settings) -> anyhow::Result<()> {
    let zones = settings.clients().await?.hosted_zones().await?;
    let mut table = Table::new(["NAME", "ID", "PRIVATE", "RECORDS"]);
    for z in &zones {
        table.row([z.name.clone(), z.id.clone(), yes_no(z.private), z.records.to_string()]);
    }
    Ok(settings.printer().print(&table, &zones)?)
}

/// A record with the zone it is in, as `list-records --output json` prints it.
#[derive(Debug, Serialize)]
struct Listed<'a> {
    zone: &'a str,
    #[serde(flatten)]
    record: &'a Record,
}

/// `list-records`.
pub async fn list_records(settings: &Settings, args: &ListArgs) -> anyhow::Result<()> {
    let clients = settings.clients().await?;
    let zones = clients.hosted_zones().await?;
    let chosen: Vec<&Zone> = match &args.zone {
        Some(given) => vec![dns::find_zone(&zones, given).map_err(UsageError)?],
        None => zones.iter().collect(),
    };
    let mut listed = Vec::new();
    for zone in &chosen {
        listed.push((*zone, clients.records(&zone.id).await?));
    }
    let rows: Vec<Listed<'_>> =
        listed.iter().flat_map(|(z, records)| records.iter().map(|r| Listed { zone: &z.name, record: r })).collect();
    let mut table = Table::new(["ZONE", "TYPE", "NAME", "TTL", "VALUES"]);
    for row in &rows {
        let r = row.record;
        let values = match &r.alias {
            Some(alias) => format!("alias {}", alias.dns_name),
            None => r.values.join(", "),
        };
        table.row([row.zone.to_string(), r.kind.clone(), r.name.clone(), ttl(r.ttl), values]);
    }
    Ok(settings.printer().print(&table, &rows)?)
}

/// `create-record`: plan the upsert (nothing when the record already answers so), then apply it.
pub async fn create(settings: &Settings, args: &CreateArgs) -> anyhow::Result<()> {
    dns::check_values(&args.kind, &args.value).map_err(|e| UsageError(format!("--value: {e}")))?;
    let clients = settings.clients().await?;
    let zone = zone(clients, &args.zone).await?;
    let name = dns::name_in_zone(&args.name, &zone).map_err(|e| UsageError(format!("--name: {e}")))?;
    let wanted = Record { name, kind: args.kind.clone(), ttl: Some(args.ttl), values: args.value.clone(), alias: None };
    let existing = clients.records(&zone.id).await?;
    let plan = dns::plan_put(&zone, &existing, wanted);
    converge_zone(settings, clients, &plan, Mode { dry_run: args.dry_run, allow_destructive: true }).await
}

/// `delete-record`: plan the deletion of the record exactly as it is (nothing when there is none).
pub async fn delete(settings: &Settings, args: &DeleteArgs) -> anyhow::Result<()> {
    let kind = args.kind.to_ascii_uppercase();
    let clients = settings.clients().await?;
    let zone = zone(clients, &args.zone).await?;
    let name = dns::name_in_zone(&args.name, &zone).map_err(|e| UsageError(format!("--name: {e}")))?;
    let existing = clients.records(&zone.id).await?;
    let plan = dns::plan_delete(&zone, &existing, &name, &kind);
    // Deleting is what the command asks for: the plan marks it, the operator already chose it.
    converge_zone(settings, clients, &plan, Mode { dry_run: args.dry_run, allow_destructive: true }).await
}

async fn zone(clients: &Clients, given: &str) -> anyhow::Result<Zone> {
    let zones = clients.hosted_zones().await?;
    Ok(dns::find_zone(&zones, given).map_err(|e| UsageError(format!("--zone: {e}")))?.clone())
}

/// What `create-record` and `delete-record` print with `--output json`.
#[derive(Debug, Serialize)]
struct Report<'a> {
    dry_run: bool,
    applied: bool,
    changes: Vec<&'a ZoneChange>,
    change_ids: Vec<String>,
}

/// Shows the plan, stops on a dry run or when there is nothing to change, else sends each zone's
/// batch and reports.
async fn converge_zone(
    settings: &Settings,
    clients: &Clients,
    plan: &Plan<ZoneChange>,
    mode: Mode,
) -> anyhow::Result<()> {
    let printer = settings.printer();
    if !printer.json() {
        printer.line(plan.render(ToString::to_string).trim_end())?;
    }
    let mut report = Report {
        dry_run: mode.dry_run,
        applied: false,
        changes: plan.steps.iter().map(|s| &s.step).collect(),
        change_ids: Vec::new(),
    };
    let decision = mode.decide(plan.is_empty(), &[]);
    if !matches!(decision, Decision::Apply) {
        if printer.json() {
            printer.print_json(&report)?;
        }
        return decision.stop();
    }
    let ran = converge::apply(plan, 1, ToString::to_string, |s| {
        let batch = &s.step;
        clients.change_records(&batch.zone_id, &batch.changes, "sila-route53")
    })
    .await
    .map_err(converge::StepsFailed::into_error)?;
    report.applied = true;
    report.change_ids = ran.into_values().collect();
    if printer.json() {
        printer.print_json(&report)?;
    } else {
        printer.line(&format!("changed: in sync ({})", report.change_ids.join(", ")))?;
    }
    Ok(())
}

fn yes_no(b: bool) -> String {
    if b { "yes" } else { "no" }.to_string()
}

fn ttl(ttl: Option<i64>) -> String {
    ttl.map_or_else(|| "-".to_string(), |t| t.to_string())
}
