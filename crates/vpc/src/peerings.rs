//! `sila-vpc peerings`: list, create (reconcile the `[peerings]` of vpc.ini) and delete peering
//! connections between environments. `create` and `update` also reconcile the peerings of their
//! environment after building it.

use crate::environment;
use clap::Args;
use serde::Serialize;
use sila_cli::{GlobalArgs, Printer, Table, UsageError};
use sila_cloud::peering::Peering;
use sila_cloud::Clients;
use sila_core::config::VpcConfig;
use sila_core::diag::Diagnostic;
use sila_core::net::{connections_of_vpc, parse_peering, resolve_peerings};
use sila_core::peering_plan::{peering_routes, vpc_pair};
use std::collections::{BTreeMap, BTreeSet};

/// Arguments of `peerings`.
#[derive(Debug, Args)]
pub struct PeeringsArgs {
    /// List live peerings (of one environment with --name, else of the region)
    #[arg(long, conflicts_with_all = ["create", "delete"])]
    pub list: bool,
    /// Create the configured peerings and their routes on both sides (of one environment with
    /// --name, else of every environment)
    #[arg(long, conflicts_with = "delete")]
    pub create: bool,
    /// Delete the peerings of the environment given with --name, and every route through them
    #[arg(long, requires = "name")]
    pub delete: bool,
    /// The environment
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,
    /// Print what would change and change nothing
    #[arg(long)]
    pub dry_run: bool,
    /// With --delete: do not ask for confirmation (required when stdin is not a terminal)
    #[arg(long)]
    pub yes: bool,
}

/// What a peering reconcile did (or would do).
#[derive(Debug, Default, Serialize)]
pub struct PeeringReport {
    /// Peerings created (`name <-> name`).
    pub created: Vec<String>,
    /// Routes added or replaced (`vpc meta dest -> peer`).
    pub routes: Vec<String>,
    /// Things that were left alone, and why.
    pub notes: Vec<String>,
}

impl PeeringReport {
    /// Text lines for people.
    pub fn render(&self) -> String {
        let mut out = Vec::new();
        out.extend(self.created.iter().map(|c| format!("    + create peering {c}")));
        out.extend(self.routes.iter().map(|r| format!("    + route {r}")));
        out.extend(self.notes.iter().map(|n| format!("note: {n}")));
        if out.is_empty() {
            "peerings: nothing to change".to_string()
        } else {
            format!("peerings:\n{}", out.join("\n"))
        }
    }
}

/// The `connection_*` lines of `[peerings]`, parsed; errors name their line.
fn configured(
    vpc: &VpcConfig,
) -> anyhow::Result<Vec<(sila_core::net::PeeringEndpoint, sila_core::net::PeeringEndpoint)>> {
    let Some(section) = vpc.ini.section("peerings") else { return Ok(Vec::new()) };
    let mut lines = Vec::new();
    let mut errors = Vec::new();
    for (key, entry) in section.options().filter(|(k, _)| k.starts_with("connection_")) {
        match parse_peering(&entry.value) {
            Ok(line) => lines.push(line),
            Err(e) => {
                errors.push(Diagnostic::error(&vpc.ini.path, Some(entry.line), format!("{key}: {e}")).to_string())
            }
        }
    }
    if errors.is_empty() {
        Ok(lines)
    } else {
        Err(anyhow::anyhow!("{}", errors.join("\n")))
    }
}

/// Reconciles the configured peerings that involve `scope` (a VPC id), or all of them.
pub async fn sync(
    clients: &Clients,
    vpc: &VpcConfig,
    scope: Option<&str>,
    dry_run: bool,
) -> anyhow::Result<PeeringReport> {
    let lines = configured(vpc)?;
    let mut report = PeeringReport::default();
    if lines.is_empty() {
        return Ok(report);
    }
    let environments = clients.environments().await?;
    let names: BTreeMap<String, String> = environments.iter().map(|e| (e.id.clone(), e.name.clone())).collect();
    let name = |id: &str| names.get(id).cloned().unwrap_or_else(|| id.to_string());
    let mut connections = resolve_peerings(&lines, &environments);
    if let Some(vpc_id) = scope {
        connections = connections_of_vpc(&connections, vpc_id);
    }
    let involved: BTreeSet<String> =
        connections.iter().flat_map(|c| [c.first().vpc_id.clone(), c.second().vpc_id.clone()]).collect();
    let (read, live) = tokio::try_join!(
        futures::future::try_join_all(involved.iter().map(|id| clients.vpc_metanetworks(id))),
        clients.peerings(scope),
    )?;
    let metanetworks: BTreeMap<String, sila_cloud::peering::VpcMetanetworks> =
        involved.iter().cloned().zip(read).collect();
    let cidrs = metanetworks
        .iter()
        .flat_map(|(id, m)| m.cidrs.iter().map(move |(meta, cidr)| ((id.clone(), *meta), *cidr)))
        .collect();
    let (pairs, routes, problems) = peering_routes(&connections, &cidrs);
    report.notes.extend(problems);

    let existing: BTreeMap<(String, String), String> =
        live.into_iter().map(|p| (vpc_pair(&p.requester_vpc, &p.accepter_vpc), p.id)).collect();
    let mut ids = existing.clone();
    let missing: Vec<&(String, String)> = pairs.iter().filter(|p| !existing.contains_key(*p)).collect();
    report.created = missing
        .iter()
        .map(|(a, b)| {
            let mut pair = [name(a), name(b)];
            pair.sort();
            format!("{} <-> {}", pair[0], pair[1])
        })
        .collect();
    if !dry_run {
        let created = futures::future::try_join_all(missing.iter().map(|(a, b)| {
            let label = format!("{}-{}", name(a), name(b));
            async move { clients.create_peering(a, b, &label).await }
        }))
        .await?;
        ids.extend(missing.iter().map(|p| (*p).clone()).zip(created));
    }
    let mut changes = Vec::new();
    let mut described: BTreeMap<String, usize> = BTreeMap::new();
    for r in &routes {
        let pcx = ids.get(&vpc_pair(&r.vpc_id, &r.peer_vpc_id)).cloned();
        let tables = metanetworks.get(&r.vpc_id).and_then(|m| m.tables.get(&r.meta)).cloned().unwrap_or_default();
        for t in tables {
            let destination = r.destination.to_string();
            let current = t.routes.get(&destination);
            if current.is_some() && current == pcx.as_ref() {
                continue;
            }
            *described
                .entry(format!("{} {} {destination} -> {}", name(&r.vpc_id), r.meta, name(&r.peer_vpc_id)))
                .or_default() += 1;
            changes.push((t.id.clone(), destination, pcx.clone(), current.is_some()));
        }
    }
    report.routes = described.into_iter().map(|(route, tables)| format!("{route} ({tables} route table(s))")).collect();
    if !dry_run {
        futures::future::try_join_all(changes.iter().map(|(table, destination, pcx, replace)| async move {
            let pcx = pcx.as_deref().unwrap_or_default();
            clients.route_via_peering(table, destination, pcx, *replace).await
        }))
        .await?;
    }
    Ok(report)
}

#[derive(Serialize)]
struct Listed<'a> {
    #[serde(flatten)]
    peering: &'a Peering,
    requester_name: String,
    accepter_name: String,
}

/// `sila-vpc peerings`.
pub async fn run(global: &GlobalArgs, args: &PeeringsArgs) -> anyhow::Result<()> {
    if !(args.list || args.create || args.delete) {
        return Err(UsageError("peerings needs one of --list, --create, --delete".into()).into());
    }
    let clients = sila_cloud::connect(&global.aws.settings()).await?;
    let printer = Printer::new(global.output);
    let scope = match &args.name {
        Some(name) => {
            let target = environment::Target { name: Some(name.clone()), vpc_id: None };
            Some(environment::find(&clients, &target).await?.vpc_id)
        }
        None => None,
    };
    if args.list {
        let names: BTreeMap<String, String> =
            clients.environments().await?.into_iter().map(|e| (e.id, e.name)).collect();
        let name = |id: &str| names.get(id).cloned().unwrap_or_else(|| id.to_string());
        let peerings = clients.peerings(scope.as_deref()).await?;
        let listed: Vec<Listed<'_>> = peerings
            .iter()
            .map(|p| Listed {
                peering: p,
                requester_name: name(&p.requester_vpc),
                accepter_name: name(&p.accepter_vpc),
            })
            .collect();
        let mut table = Table::new(["PEERING", "STATUS", "REQUESTER", "ACCEPTER"]);
        for l in &listed {
            table.row([
                l.peering.id.clone(),
                l.peering.status.clone(),
                l.requester_name.clone(),
                l.accepter_name.clone(),
            ]);
        }
        return Ok(printer.print(&table, &listed)?);
    }
    if args.create {
        let vpc = environment::vpc_config(global)?;
        let report = sync(&clients, &vpc, scope.as_deref(), args.dry_run).await?;
        if printer.json() {
            printer.print_json(&report)?;
        } else {
            printer.line(&report.render())?;
        }
        return Ok(());
    }
    // --delete (clap guarantees --name).
    let peerings = clients.peerings(scope.as_deref()).await?;
    let ids: Vec<&str> = peerings.iter().map(|p| p.id.as_str()).collect();
    if printer.json() {
        printer.print_json(&peerings)?;
    } else {
        printer.line(&format!("will delete {} peering(s) and their routes: {}", ids.len(), ids.join(" ")))?;
    }
    if args.dry_run || peerings.is_empty() {
        return Ok(());
    }
    if !args.yes {
        return Err(UsageError("deleting peerings needs --yes".into()).into());
    }
    for p in &peerings {
        clients.delete_peering(p).await?;
    }
    Ok(())
}
