//! The plan that makes a hostclass's load balancer as its spec says, or takes it away: pure, from
//! what exists ([`ElbLive`], read by `sila-cloud`). A re-run with nothing changed plans nothing.
//! Steps name things (load balancer, target groups) by name; the runner keeps the ARNs that
//! creations return, so a plan can be printed before anything exists.

use super::{Kind, LoadBalancerSpec, TargetGroupSpec};
use crate::dns::{self, Alias, ChangeAction, Record, RecordChange, Zone, ZoneChange};
use crate::plan::Plan;
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt;

/// A load balancer as read.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct LiveLoadBalancer {
    /// Its ARN.
    pub arn: String,
    /// Its name.
    pub name: String,
    /// `application` or `network`.
    pub kind: String,
    /// Internal (not internet-facing).
    pub internal: bool,
    /// Its DNS name.
    pub dns_name: String,
    /// The hosted zone of its DNS name (an alias record's target zone).
    pub canonical_zone: String,
    /// Its subnets.
    pub subnets: Vec<String>,
    /// Its security groups.
    pub security_groups: Vec<String>,
    /// Its attributes.
    pub attributes: BTreeMap<String, String>,
    /// Its tags.
    pub tags: BTreeMap<String, String>,
    /// Its listeners.
    pub listeners: Vec<LiveListener>,
}

/// A listener as read.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct LiveListener {
    /// Its ARN.
    pub arn: String,
    /// Its port.
    pub port: u16,
    /// Its protocol.
    pub protocol: String,
    /// The target group its default action forwards to.
    pub target_group: Option<String>,
    /// Its certificate ARN.
    pub certificate: Option<String>,
}

/// A target group as read.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct LiveTargetGroup {
    /// Its ARN.
    pub arn: String,
    /// Its name.
    pub name: String,
    /// Its port.
    pub port: u16,
    /// Its protocol.
    pub protocol: String,
    /// Health check protocol, port (as text: a number or `traffic-port`) and path.
    pub health: (String, String, Option<String>),
    /// Its attributes.
    pub attributes: BTreeMap<String, String>,
    /// Its tags.
    pub tags: BTreeMap<String, String>,
}

/// What exists of a hostclass's load balancer.
#[derive(Debug, Clone, Default)]
pub struct ElbLive {
    /// The load balancer of the spec's name, if any.
    pub load_balancer: Option<LiveLoadBalancer>,
    /// The target groups named by the spec or tagged as this load balancer's.
    pub target_groups: Vec<LiveTargetGroup>,
    /// The zone of the DNS names and its records, when the hostclass has a domain.
    pub zone: Option<(Zone, Vec<Record>)>,
}

/// Where the load balancer goes and what it presents: the subnets and security group of its
/// metanetwork, and its certificate (for HTTPS and TLS listeners).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Placement {
    /// The subnets (one per zone).
    pub subnets: Vec<String>,
    /// The security groups.
    pub security_groups: Vec<String>,
    /// The certificate ARN.
    pub certificate: Option<String>,
    /// The VPC, for target groups.
    pub vpc_id: String,
}

/// Where `spec`'s load balancer goes in the environment of `facts`: its metanetwork's subnets and
/// security group, and the certificate its HTTPS or TLS listeners present (chosen among `acm` and
/// `iam`); why not, when it cannot go anywhere or has no certificate.
pub fn placement(
    spec: &LoadBalancerSpec,
    facts: &crate::spinup::EnvironmentFacts,
    acm: &[crate::elb::certs::AcmCertificate],
    iam: &[crate::elb::certs::ServerCertificate],
) -> Result<Placement, String> {
    let meta = spec.meta_network.clone().unwrap_or_else(|| "intranet".to_string());
    let subnets = facts.subnets.get(&meta).cloned().unwrap_or_default();
    if subnets.is_empty() {
        return Err(format!(
            "hostclass {}: metanetwork {meta} has no subnets in this environment: its load balancer has nowhere to go",
            spec.hostclass
        ));
    }
    let certificate = match &spec.certificate_name {
        None => None,
        Some(name) => Some(crate::elb::certs::choose(acm, iam, name).ok_or_else(|| {
            format!(
                "{}: no certificate for {name} in ACM (issued) or among IAM server certificates: the HTTPS/TLS listener cannot be made; nothing changed",
                spec.certificate_origin
            )
        })?),
    };
    Ok(Placement {
        subnets,
        security_groups: facts.groups.get(&meta).cloned().into_iter().collect(),
        certificate,
        vpc_id: facts.vpc_id.clone(),
    })
}

/// One change to a load balancer, its target groups or its DNS names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum ElbStep {
    /// Create a target group.
    CreateTargetGroup {
        /// What it is.
        group: TargetGroupSpec,
        /// Its tags.
        tags: BTreeMap<String, String>,
    },
    /// Set a new target group's attributes (a step of its own: a group registering with the
    /// target group need not wait for them).
    SetTargetGroupAttributes {
        /// The target group.
        name: String,
        /// The attributes.
        attributes: BTreeMap<String, String>,
    },
    /// Set a target group's health check and attributes.
    UpdateTargetGroup {
        /// What it should be.
        group: TargetGroupSpec,
    },
    /// Create the load balancer.
    CreateLoadBalancer {
        /// Its name.
        name: String,
        /// Application or network.
        kind: Kind,
        /// Internal or internet-facing.
        internal: bool,
        /// Its tags.
        tags: BTreeMap<String, String>,
    },
    /// Move the load balancer to these subnets and security groups.
    UpdatePlacement {
        /// Its name.
        name: String,
    },
    /// Set the load balancer's attributes.
    SetAttributes {
        /// Its name.
        name: String,
        /// The attributes.
        attributes: BTreeMap<String, String>,
    },
    /// Create a listener.
    CreateListener {
        /// The port.
        port: u16,
        /// Its protocol.
        protocol: String,
        /// The target group it forwards to.
        target_group: String,
    },
    /// Change a listener's protocol, certificate or target group.
    ModifyListener {
        /// Its ARN.
        arn: String,
        /// The port.
        port: u16,
        /// Its protocol.
        protocol: String,
        /// The target group it forwards to.
        target_group: String,
    },
    /// Delete a listener the config no longer has.
    DeleteListener {
        /// Its ARN.
        arn: String,
        /// Its port.
        port: u16,
    },
    /// Delete the load balancer (its listeners go with it).
    DeleteLoadBalancer {
        /// Its name.
        name: String,
        /// Its ARN.
        arn: String,
    },
    /// Delete a target group.
    DeleteTargetGroup {
        /// Its name.
        name: String,
        /// Its ARN.
        arn: String,
    },
    /// Point DNS names at the load balancer (alias records, one change batch), once its DNS name
    /// is known.
    PointNames {
        /// The zone.
        zone: Zone,
        /// The records' names.
        names: Vec<String>,
    },
    /// Record changes in one zone (removing the names of a load balancer that goes).
    Dns(ZoneChange),
}

impl fmt::Display for ElbStep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ElbStep::CreateTargetGroup { group, .. } => {
                write!(f, "create target group {} ({} {})", group.name, group.protocol, group.port)
            }
            ElbStep::SetTargetGroupAttributes { name, attributes } => {
                let set: Vec<String> = attributes.iter().map(|(k, v)| format!("{k}={v}")).collect();
                write!(f, "set {} on target group {name}", set.join(", "))
            }
            ElbStep::UpdateTargetGroup { group } => {
                write!(f, "update target group {} (health check, attributes)", group.name)
            }
            ElbStep::CreateLoadBalancer { name, kind, internal, .. } => write!(
                f,
                "create {} load balancer {name} ({})",
                kind.as_str(),
                if *internal { "internal" } else { "internet-facing" }
            ),
            ElbStep::UpdatePlacement { name } => {
                write!(f, "move load balancer {name} to its metanetwork's subnets and group")
            }
            ElbStep::SetAttributes { name, attributes } => {
                let set: Vec<String> = attributes.iter().map(|(k, v)| format!("{k}={v}")).collect();
                write!(f, "set {} on load balancer {name}", set.join(", "))
            }
            ElbStep::CreateListener { port, protocol, target_group } => {
                write!(f, "create listener {protocol} {port} → {target_group}")
            }
            ElbStep::ModifyListener { port, protocol, target_group, .. } => {
                write!(f, "change listener {port} to {protocol} → {target_group}")
            }
            ElbStep::DeleteListener { port, .. } => write!(f, "delete listener {port}"),
            ElbStep::DeleteLoadBalancer { name, .. } => write!(f, "delete load balancer {name}"),
            ElbStep::DeleteTargetGroup { name, .. } => write!(f, "delete target group {name}"),
            ElbStep::PointNames { zone, names } => {
                write!(f, "point {} at the load balancer (alias in {})", names.join(", "), zone.name)
            }
            ElbStep::Dns(change) => change.fmt(f),
        }
    }
}

/// True when `live` belongs to the hostclass, environment and testing flag of `tags`.
pub fn owned(live: &BTreeMap<String, String>, tags: &BTreeMap<String, String>) -> bool {
    ["hostclass", "environment", "is_testing"].iter().all(|k| live.get(*k).is_some() && live.get(*k) == tags.get(*k))
}

fn group_differs(live: &LiveTargetGroup, want: &TargetGroupSpec) -> bool {
    let health = (want.health.protocol.as_str().to_string(), want.health.port.to_string(), want.health.path.clone());
    live.health != health || want.attributes.iter().any(|(k, v)| live.attributes.get(k) != Some(v))
}

/// The plan that makes the load balancer of `spec` exist as it says, placed by `place`.
/// A load balancer of the name that is not this hostclass's is an error; one of another kind or
/// scheme is replaced (destructive).
pub fn plan_update(spec: &LoadBalancerSpec, place: &Placement, live: &ElbLive) -> Result<Plan<ElbStep>, String> {
    let mut plan = Plan::new();
    let lb = live.load_balancer.as_ref();
    if let Some(lb) = lb {
        if !owned(&lb.tags, &spec.tags) {
            return Err(format!("a load balancer named {} exists and is not hostclass {}'s (its tags say otherwise); Sila leaves it alone", spec.name, spec.hostclass));
        }
    }
    let replace = lb.is_some_and(|l| l.kind != spec.kind.as_str() || l.internal != spec.internal);
    let mut groups: BTreeMap<String, usize> = BTreeMap::new();
    for want in &spec.target_groups {
        match live.target_groups.iter().find(|t| t.name == want.name) {
            None => {
                let id = plan.add(ElbStep::CreateTargetGroup { group: want.clone(), tags: spec.tags.clone() }, []).id;
                if !want.attributes.is_empty() {
                    let attributes = ElbStep::SetTargetGroupAttributes {
                        name: want.name.clone(),
                        attributes: want.attributes.clone(),
                    };
                    plan.add(attributes, [id]);
                }
                groups.insert(want.name.clone(), id);
            }
            Some(t) if !owned(&t.tags, &spec.tags) => {
                return Err(format!(
                    "a target group named {} exists and is not hostclass {}'s; Sila leaves it alone",
                    t.name, spec.hostclass
                ));
            }
            Some(t) if t.port != want.port || t.protocol != want.protocol.as_str() => {
                return Err(format!(
                    "target group {} exists for {} {} but the config says {} {}: delete the load balancer first (sila-elb delete)",
                    t.name, t.protocol, t.port, want.protocol, want.port
                ));
            }
            Some(t) if group_differs(t, want) => {
                plan.add(ElbStep::UpdateTargetGroup { group: want.clone() }, []);
            }
            Some(_) => {}
        }
    }
    let mut after_delete = Vec::new();
    if let (true, Some(old)) = (replace, lb) {
        let id = plan
            .add(ElbStep::DeleteLoadBalancer { name: old.name.clone(), arn: old.arn.clone() }, [])
            .destructive(true)
            .because(format!(
                "it is {} {}; the config says {} {}",
                scheme(old.internal),
                old.kind,
                scheme(spec.internal),
                spec.kind.as_str()
            ))
            .id;
        after_delete.push(id);
    }
    let existing = lb.filter(|_| !replace);
    let lb_step = match existing {
        Some(_) => None,
        None => {
            let step = ElbStep::CreateLoadBalancer {
                name: spec.name.clone(),
                kind: spec.kind,
                internal: spec.internal,
                tags: spec.tags.clone(),
            };
            Some(plan.add(step, after_delete.clone()).id)
        }
    };
    let lb_wait: Vec<usize> = lb_step.into_iter().collect();
    if let Some(l) = existing {
        let mut subnets = l.subnets.clone();
        subnets.sort();
        let mut want = place.subnets.clone();
        want.sort();
        let groups_differ = spec.kind == Kind::Application && {
            let mut have = l.security_groups.clone();
            have.sort();
            let mut want = place.security_groups.clone();
            want.sort();
            have != want
        };
        if subnets != want || groups_differ {
            plan.add(ElbStep::UpdatePlacement { name: spec.name.clone() }, []);
        }
    }
    let attributes: BTreeMap<String, String> = spec
        .attributes
        .iter()
        .filter(|(k, v)| existing.is_none_or(|l| l.attributes.get(*k) != Some(*v)))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    if !attributes.is_empty() {
        plan.add(ElbStep::SetAttributes { name: spec.name.clone(), attributes }, lb_wait.clone());
    }
    for l in &spec.listeners {
        let mut waits = lb_wait.clone();
        waits.extend(groups.get(&l.target_group));
        let have = existing.and_then(|lb| lb.listeners.iter().find(|h| h.port == l.port));
        let tg_live = live.target_groups.iter().find(|t| t.name == l.target_group).map(|t| t.arn.as_str());
        let cert = l.protocol.is_secure().then(|| place.certificate.clone()).flatten();
        match have {
            None => {
                plan.add(
                    ElbStep::CreateListener {
                        port: l.port,
                        protocol: l.protocol.as_str().into(),
                        target_group: l.target_group.clone(),
                    },
                    waits,
                );
            }
            Some(h)
                if h.protocol != l.protocol.as_str()
                    || h.certificate != cert
                    || tg_live.is_none_or(|arn| h.target_group.as_deref() != Some(arn)) =>
            {
                plan.add(
                    ElbStep::ModifyListener {
                        arn: h.arn.clone(),
                        port: l.port,
                        protocol: l.protocol.as_str().into(),
                        target_group: l.target_group.clone(),
                    },
                    waits,
                )
                .because("the listener differs from the config");
            }
            Some(_) => {}
        }
    }
    let mut removed_listeners = Vec::new();
    for h in existing.map(|l| l.listeners.as_slice()).unwrap_or_default() {
        if !spec.listeners.iter().any(|l| l.port == h.port) {
            let id = plan.add(ElbStep::DeleteListener { arn: h.arn.clone(), port: h.port }, []).destructive(true).id;
            removed_listeners.push(id);
        }
    }
    // Target groups of this load balancer the config no longer names go after their listeners
    // (deleted, changed, or gone with a replaced load balancer).
    for t in &live.target_groups {
        if owned(&t.tags, &spec.tags) && !spec.target_groups.iter().any(|w| w.name == t.name) {
            let mut waits = [removed_listeners.as_slice(), &after_delete].concat();
            waits.extend(plan.steps.iter().filter(|s| matches!(s.step, ElbStep::ModifyListener { .. })).map(|s| s.id));
            plan.add(ElbStep::DeleteTargetGroup { name: t.name.clone(), arn: t.arn.clone() }, waits).destructive(true);
        }
    }
    if let Some((zone, records)) = &live.zone {
        let mut names = Vec::new();
        for name in &spec.dns_names {
            let wanted = existing.map(|l| alias_record(name, l));
            let current = records.iter().find(|r| dns::same_name(&r.name, name) && r.kind == "A");
            if wanted.as_ref().zip(current).is_some_and(|(w, c)| w.same_as(c)) {
                continue;
            }
            // A record that aliases this load balancer (or the one being replaced) is ours to point.
            if let Some(c) = current.filter(|c| !points_at_us(c, lb)) {
                return Err(format!(
                    "{} already answers {} in zone {}; it is not this load balancer's, so Sila leaves it",
                    c.name,
                    c.answer(),
                    zone.name
                ));
            }
            names.push(dns::absolute(name));
        }
        if !names.is_empty() {
            plan.add(ElbStep::PointNames { zone: zone.clone(), names }, lb_wait.clone());
        }
    }
    Ok(plan)
}

fn scheme(internal: bool) -> &'static str {
    if internal {
        "internal"
    } else {
        "internet-facing"
    }
}

/// The alias A record that points `name` at load balancer `lb`.
pub fn alias_record(name: &str, lb: &LiveLoadBalancer) -> Record {
    Record {
        name: dns::absolute(name),
        kind: "A".into(),
        ttl: None,
        values: Vec::new(),
        alias: Some(Alias {
            zone_id: lb.canonical_zone.clone(),
            dns_name: dns::absolute(&lb.dns_name),
            evaluate_health: false,
        }),
    }
}

/// True when record `r` is an alias to load balancer `lb` (or there is no load balancer yet).
fn points_at_us(r: &Record, lb: Option<&LiveLoadBalancer>) -> bool {
    match (lb, &r.alias) {
        (Some(l), Some(a)) => dns::same_name(&a.dns_name, &l.dns_name),
        _ => false,
    }
}

/// The plan that takes the load balancer of `spec` away: its DNS records that point at it (and
/// no other), the load balancer, then its target groups. Nothing of another hostclass or
/// environment is touched.
pub fn plan_delete(spec: &LoadBalancerSpec, live: &ElbLive) -> Result<Plan<ElbStep>, String> {
    let delete = |r: &Record| RecordChange { action: ChangeAction::Delete, record: r.clone(), replaces: None };
    let candidates: Vec<ZoneChange> = live
        .zone
        .iter()
        .map(|(zone, records)| ZoneChange {
            zone_id: zone.id.clone(),
            zone_name: zone.name.clone(),
            changes: records.iter().map(delete).collect(),
        })
        .collect();
    plan_delete_among(spec, live, &candidates)
}

/// [`plan_delete`], with the alias records looked for among `candidates` (record deletions in any
/// zones, e.g. those of several load balancers going at once): only the ones that point at this
/// load balancer are taken.
pub fn plan_delete_among(
    spec: &LoadBalancerSpec,
    live: &ElbLive,
    candidates: &[ZoneChange],
) -> Result<Plan<ElbStep>, String> {
    let mut plan = Plan::new();
    let lb = live.load_balancer.as_ref().filter(|l| owned(&l.tags, &spec.tags));
    if let (Some(l), None) = (&live.load_balancer, lb) {
        return Err(format!(
            "load balancer {} is not hostclass {}'s (its tags say otherwise); Sila leaves it alone",
            l.name, spec.hostclass
        ));
    }
    let mut first = Vec::new();
    for zone in candidates.iter().filter(|_| lb.is_some()) {
        let ours: Vec<RecordChange> = zone.changes.iter().filter(|c| points_at_us(&c.record, lb)).cloned().collect();
        if !ours.is_empty() {
            let change = ZoneChange { changes: ours, ..zone.clone() };
            first.push(plan.add(ElbStep::Dns(change), []).destructive(true).id);
        }
    }
    let mut lb_gone = Vec::new();
    if let Some(l) = lb {
        lb_gone.push(
            plan.add(ElbStep::DeleteLoadBalancer { name: l.name.clone(), arn: l.arn.clone() }, first)
                .destructive(true)
                .id,
        );
    }
    for t in live.target_groups.iter().filter(|t| owned(&t.tags, &spec.tags)) {
        plan.add(ElbStep::DeleteTargetGroup { name: t.name.clone(), arn: t.arn.clone() }, lb_gone.clone())
            .destructive(true);
    }
    Ok(plan)
}

#[cfg(test)]
mod tests;
