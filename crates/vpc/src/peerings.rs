//! `sila-vpc peerings`: list, create (reconcile the `[peerings]` of vpc.ini) and delete peering
//! connections between environments. `create` and `update` also reconcile the peerings of their
//! environment after building it.

use crate::environment;
use clap::Args;
use serde::Serialize;
use sila_cli::converge;
use sila_cli::{Settings, Table, UsageError};
use sila_cloud::peering::Peering;
use sila_cloud::Clients;
use sila_core::config::VpcConfig;
use sila_core::diag::Diagnostic;
use sila_core::environment::EnvironmentSpec;
use sila_core::net::{connections_of_vpc, parse_peering, resolve_peerings};
use sila_core::net::{Metanetwork, SgRule, VpcRef};
use sila_core::peering_plan::{peering_name, peering_routes, peering_rules, vpc_pair};
use sila_core::plan::Plan;
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
    /// With --create: also delete the peerings Sila made for lines that left the config (without
    /// it, such a run is refused and nothing is changed)
    #[arg(long)]
    pub allow_destructive: bool,
}

/// What a peering reconcile did (or would do).
#[derive(Debug, Default, Serialize)]
pub struct PeeringReport {
    /// Peerings created (`name <-> name`).
    pub created: Vec<String>,
    /// Routes added or replaced (`vpc meta dest -> peer`).
    pub routes: Vec<String>,
    /// Security-group rules added (`vpc meta admits cidr`).
    pub rules: Vec<String>,
    /// Peerings deleted because their line left the config (`name <-> name`).
    pub removed: Vec<String>,
    /// Things that were left alone, and why.
    pub notes: Vec<String>,
}

impl PeeringReport {
    /// True when nothing changes (notes aside).
    pub fn is_empty(&self) -> bool {
        self.created.is_empty() && self.routes.is_empty() && self.rules.is_empty() && self.removed.is_empty()
    }

    /// Text lines for people.
    pub fn render(&self) -> String {
        let mut out = Vec::new();
        out.extend(self.created.iter().map(|c| format!("    + create peering {c}")));
        out.extend(self.routes.iter().map(|r| format!("    + route {r}")));
        out.extend(self.rules.iter().map(|r| format!("    + rule {r}")));
        // Deleting a peering cuts the traffic between two environments: destructive, like deleting a
        // metanetwork, so it is marked `!` and needs --allow-destructive.
        out.extend(self.removed.iter().map(|r| format!("    ! delete peering {r} (its line left the config)")));
        out.extend(self.notes.iter().map(|n| format!("note: {n}")));
        if out.is_empty() {
            "peerings: nothing to change".to_string()
        } else {
            format!("peerings:\n{}", out.join("\n"))
        }
    }
}

/// `a <-> b` with the names in order, however the peering was requested.
fn pair_label(a: &str, b: &str) -> String {
    if a <= b {
        format!("{a} <-> {b}")
    } else {
        format!("{b} <-> {a}")
    }
}

/// The `connection_*` lines of `[peerings]`, parsed; errors name their line.
pub(crate) fn configured(
    vpc: &VpcConfig,
) -> anyhow::Result<Vec<(sila_core::net::PeeringEndpoint, sila_core::net::PeeringEndpoint)>> {
    let Some(section) = vpc.ini.section("peerings") else { return Ok(Vec::new()) };
    let mut lines = Vec::new();
    let mut errors = Vec::new();
    for (key, entry) in section.options().filter(|(k, _)| k.starts_with("connection_")) {
        match parse_peering(&entry.value) {
            Ok(line) => lines.push(line),
            Err(e) => {
                errors.push(Diagnostic::error(&vpc.ini.path, Some(entry.line), format!("{key}: {e}")).to_string());
            }
        }
    }
    if errors.is_empty() {
        Ok(lines)
    } else {
        Err(anyhow::anyhow!("{}", errors.join("\n")))
    }
}

/// Refuses peerings with an environment whose name another VPC carries too: which one a line
/// means cannot be told (and the peering's name would be the same for both).
fn refuse_ambiguous<'a>(environments: &[VpcRef], ids: impl IntoIterator<Item = &'a String>) -> anyhow::Result<()> {
    for id in ids {
        let Some(env) = environments.iter().find(|e| e.id == *id) else { continue };
        let twins: Vec<&str> = environments.iter().filter(|e| e.name == env.name).map(|e| e.id.as_str()).collect();
        if twins.len() > 1 {
            anyhow::bail!(
                "{} VPCs are named {} ({}); [peerings] cannot tell which one it means: rename or destroy one (sila-vpc destroy --vpc-id)",
                twins.len(),
                env.name,
                twins.join(", ")
            );
        }
    }
    Ok(())
}

/// Reconciles the configured peerings that involve `scope` (a VPC id), or all of them. Peerings
/// Sila made for a line that left the config are deleted only when `allow_removal` (they are
/// reported in `removed` either way, and are never deleted on a dry run).
pub async fn sync(
    clients: &Clients,
    vpc: &VpcConfig,
    scope: Option<&str>,
    dry_run: bool,
    allow_removal: bool,
) -> anyhow::Result<PeeringReport> {
    let lines = configured(vpc)?;
    let mut report = PeeringReport::default();
    // Without lines there is nothing to create, but an environment may still have peerings to remove.
    if lines.is_empty() && scope.is_none() {
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
    refuse_ambiguous(&environments, &involved)?;
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
        live.iter().map(|p| (vpc_pair(&p.requester_vpc, &p.accepter_vpc), p.id.clone())).collect();
    let missing: Vec<&(String, String)> = pairs.iter().filter(|p| !existing.contains_key(*p)).collect();
    report.created = missing.iter().map(|(a, b)| pair_label(&name(a), &name(b))).collect();
    // The reconcile as a plan on the shared runner: a route waits only for its own new peering;
    // rules and removals wait for nothing.
    let mut plan = Plan::new();
    let mut creating: BTreeMap<(String, String), usize> = BTreeMap::new();
    for pair in &missing {
        let label = peering_name(&name(&pair.0), &name(&pair.1));
        creating.insert((*pair).clone(), plan.add(PeeringStep::Create { pair, label }, []).id);
    }
    let mut described: BTreeMap<String, usize> = BTreeMap::new();
    for r in &routes {
        let pair = vpc_pair(&r.vpc_id, &r.peer_vpc_id);
        let pcx = existing.get(&pair);
        let tables = metanetworks.get(&r.vpc_id).and_then(|m| m.tables.get(&r.meta)).cloned().unwrap_or_default();
        for t in tables {
            let destination = r.destination.to_string();
            let current = t.routes.get(&destination);
            if current.is_some() && current == pcx {
                continue;
            }
            *described
                .entry(format!("{} {} {destination} -> {}", name(&r.vpc_id), r.meta, name(&r.peer_vpc_id)))
                .or_default() += 1;
            let replace = current.is_some();
            let after = creating.get(&pair).copied();
            plan.add(PeeringStep::Route { table: t.id.clone(), destination, pair: pair.clone(), replace }, after);
        }
    }
    report.routes = described.into_iter().map(|(route, tables)| format!("{route} ({tables} route table(s))")).collect();
    // Both sides admit the other side's metanetwork.
    for r in &routes {
        let Some((group, open)) = metanetworks.get(&r.vpc_id).and_then(|m| m.groups.get(&r.meta)) else { continue };
        let cidr = r.destination.to_string();
        if !open.contains(&cidr) {
            report.rules.push(format!("{} {} admits {cidr}", name(&r.vpc_id), r.meta));
            plan.add(PeeringStep::Admit { group: group.clone(), cidr }, []);
        }
    }
    // Peerings Sila made for a line that is gone (only those: Asiaq's and hand-made ones stay).
    let removable: Vec<Peering> = match scope {
        None => Vec::new(),
        Some(_) => live
            .into_iter()
            .filter(|p| !pairs.contains(&vpc_pair(&p.requester_vpc, &p.accepter_vpc)))
            .filter(|p| {
                p.name.as_deref() == Some(peering_name(&name(&p.requester_vpc), &name(&p.accepter_vpc)).as_str())
            })
            .collect(),
    };
    report.removed = removable.iter().map(|p| pair_label(&name(&p.requester_vpc), &name(&p.accepter_vpc))).collect();
    if allow_removal {
        for p in &removable {
            plan.add(PeeringStep::Delete(p), []).destructive(true);
        }
    }
    if !dry_run && !plan.is_empty() {
        apply(clients, &plan, existing).await?;
    }
    Ok(report)
}

/// One change of a peering reconcile.
enum PeeringStep<'a> {
    /// Request and accept a peering between the pair's VPCs, named `label`.
    Create { pair: &'a (String, String), label: String },
    /// A route in `table` to `destination` through the pair's peering.
    Route { table: String, destination: String, pair: (String, String), replace: bool },
    /// All traffic from `cidr` into `group`.
    Admit { group: String, cidr: String },
    /// A peering whose line left the config.
    Delete(&'a Peering),
}

impl std::fmt::Display for PeeringStep<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PeeringStep::Create { label, .. } => write!(f, "create peering {label}"),
            PeeringStep::Route { table, destination, .. } => {
                write!(f, "route {destination} in {table} via the peering")
            }
            PeeringStep::Admit { group, cidr } => write!(f, "admit {cidr} in {group}"),
            PeeringStep::Delete(p) => write!(f, "delete peering {}", p.id),
        }
    }
}

/// Peerings in flight at once (each step is one or two EC2 calls).
const CONCURRENCY: usize = 16;

/// Runs a reconcile's plan; `ids` are the peerings that exist, by VPC pair.
async fn apply(
    clients: &Clients,
    plan: &Plan<PeeringStep<'_>>,
    ids: BTreeMap<(String, String), String>,
) -> anyhow::Result<()> {
    let ids = std::sync::Mutex::new(ids);
    let ran = converge::apply(plan, CONCURRENCY, ToString::to_string, |s| {
        let ids = &ids;
        async move {
            match &s.step {
                PeeringStep::Create { pair, label } => {
                    let id = clients.create_peering(&pair.0, &pair.1, label).await?;
                    ids.lock().unwrap_or_else(std::sync::PoisonError::into_inner).insert((*pair).clone(), id);
                    Ok(())
                }
                PeeringStep::Route { table, destination, pair, replace } => {
                    let pcx = ids.lock().unwrap_or_else(std::sync::PoisonError::into_inner).get(pair).cloned();
                    clients.route_via_peering(table, destination, pcx.as_deref().unwrap_or_default(), *replace).await
                }
                PeeringStep::Admit { group, cidr } => clients.admit_all_from(group, cidr).await,
                PeeringStep::Delete(p) => clients.delete_peering(p).await,
            }
        }
    })
    .await;
    ran.map(drop).map_err(converge::StepsFailed::into_error)
}

/// The security-group rules the configured peerings give environment `spec` (all traffic from each
/// peer metanetwork's CIDR), so they are part of its desired state and never revoked by an update.
pub async fn rules_for(
    clients: &Clients,
    vpc: &VpcConfig,
    spec: &EnvironmentSpec,
    vpc_id: Option<&str>,
) -> anyhow::Result<BTreeMap<Metanetwork, BTreeSet<SgRule>>> {
    let lines = configured(vpc)?;
    if lines.is_empty() {
        return Ok(BTreeMap::new());
    }
    // A VPC about to be created takes part under a placeholder id.
    let me = vpc_id.unwrap_or("(new)").to_string();
    let mut environments = clients.environments().await?;
    if vpc_id.is_none() {
        environments.push(VpcRef { id: me.clone(), name: spec.name.clone(), vpc_type: spec.vpc_type.clone() });
    }
    let connections = connections_of_vpc(&resolve_peerings(&lines, &environments), &me);
    let peers: BTreeSet<String> = connections
        .iter()
        .flat_map(|c| [c.first().vpc_id.clone(), c.second().vpc_id.clone()])
        .filter(|id| *id != me)
        .collect();
    refuse_ambiguous(&environments, &peers)?;
    let read = futures::future::try_join_all(peers.iter().map(|id| clients.vpc_metanetworks(id))).await?;
    let mut cidrs: BTreeMap<(String, Metanetwork), ipnetwork::Ipv4Network> = peers
        .iter()
        .zip(&read)
        .flat_map(|(id, m)| m.cidrs.iter().map(move |(meta, cidr)| ((id.clone(), *meta), *cidr)))
        .collect();
    cidrs.extend(spec.metanetworks.iter().map(|(meta, m)| ((me.clone(), *meta), m.cidr)));
    let (_, routes, _) = peering_routes(&connections, &cidrs);
    Ok(peering_rules(&routes, &me))
}

#[derive(Serialize)]
struct Listed<'a> {
    #[serde(flatten)]
    peering: &'a Peering,
    requester_name: String,
    accepter_name: String,
}

/// `sila-vpc peerings`.
pub async fn run(settings: &Settings, args: &PeeringsArgs) -> anyhow::Result<()> {
    if !(args.list || args.create || args.delete) {
        return Err(UsageError("peerings needs one of --list, --create, --delete".into()).into());
    }
    let target = environment::Target { name: args.name.clone(), vpc_id: None };
    environment::check_target(&target)?;
    let clients = settings.clients().await?;
    let printer = settings.printer();
    let scope = match &args.name {
        Some(_) => Some(environment::find(clients, &target).await?.vpc_id),
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
        let vpc = environment::vpc_config(settings)?;
        // Planned first: a deletion is refused before anything changes.
        let planned = sync(clients, vpc, scope.as_deref(), true, false).await?;
        let refused = !planned.removed.is_empty() && !args.allow_destructive;
        let report = match args.dry_run || refused {
            true => planned,
            false => sync(clients, vpc, scope.as_deref(), false, args.allow_destructive).await?,
        };
        if printer.json() {
            printer.print_json(&report)?;
        } else {
            printer.line(&report.render())?;
        }
        if refused && !args.dry_run {
            let steps: Vec<String> = report.removed.iter().map(|r| format!("delete peering {r}")).collect();
            return Err(sila_cli::destructive_refused(&steps).into());
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
