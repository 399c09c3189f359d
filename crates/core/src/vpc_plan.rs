//! Plans for an environment: what to create so that the live environment matches the desired one,
//! as steps with dependencies. A step's level is one more than the deepest step it waits for, so
//! every level can run concurrently and the number of levels is the critical path.
//!
//! The live side ([`LiveEnvironment`]) is plain data filled in by `sila-cloud`; keys, not AWS ids,
//! connect the steps, so a plan can be printed and reviewed before anything exists.

use crate::environment::EnvironmentSpec;
use crate::net::{Metanetwork, NatGateways, SgRule};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

mod step;

pub use step::{Key, RouteTarget, Step};

/// A change with the keys that connect it to the rest of the plan: what it creates, what must
/// exist first. The plan kernel's `after` is derived from these.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    /// The change.
    #[serde(flatten)]
    pub action: Step,
    /// What it creates, if anything.
    pub provides: Option<Key>,
    /// What must exist first.
    pub needs: Vec<Key>,
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.action.fmt(f)
    }
}

/// The steps for one environment, on the plan kernel (`crate::plan`).
pub type Plan = crate::plan::Plan<Change>;

impl crate::plan::Plan<Change> {
    /// Adds `action`, after the steps of this plan that provide what it `needs` (what exists
    /// already has no step); destructive as [`Step::is_destructive`] says.
    fn push(&mut self, action: Step, provides: Option<Key>, needs: Vec<Key>) {
        let after: Vec<usize> = needs
            .iter()
            .filter_map(|k| self.steps.iter().find(|s| s.step.provides.as_ref() == Some(k)))
            .map(|s| s.id)
            .collect();
        let destructive = action.is_destructive();
        self.add(Change { action, provides, needs }, after).destructive(destructive);
    }
}

/// The plan as `sila-vpc --output json` has always shown it (levels counted from 0), kept as it
/// was when the tool moved onto the plan kernel, so no consumer of the JSON breaks.
#[derive(Debug, Serialize)]
pub struct PlanView<'a> {
    /// The steps.
    pub steps: Vec<StepView<'a>>,
    /// The notes.
    pub notes: &'a [String],
}

/// One step of [`PlanView`].
#[derive(Debug, Serialize)]
pub struct StepView<'a> {
    /// Position in the plan.
    pub id: usize,
    /// 0 for steps that wait for nothing; otherwise one more than the deepest step waited for.
    pub level: usize,
    /// The change.
    #[serde(flatten)]
    pub step: &'a Step,
    /// What it creates, if anything.
    pub provides: &'a Option<Key>,
    /// What must exist first.
    pub needs: &'a [Key],
    /// Deletes or replaces a subnet, route table, security group, gateway or the VPC.
    pub destructive: bool,
}

/// The JSON view of `plan`.
pub fn view(plan: &Plan) -> PlanView<'_> {
    let steps = plan
        .steps
        .iter()
        .map(|s| StepView {
            id: s.id,
            level: s.level - 1,
            step: &s.step.action,
            provides: &s.step.provides,
            needs: &s.step.needs,
            destructive: s.destructive,
        })
        .collect();
    PlanView { steps, notes: &plan.notes }
}

/// What exists of an environment: the ids Sila found for each key, the rules of each group (sources
/// as metanetworks when they are groups of this environment), routes of each route table, and which
/// subnets have their route table associated.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct LiveEnvironment {
    /// Resource ids by key.
    pub ids: BTreeMap<Key, String>,
    /// Ingress rules per security group.
    pub rules: BTreeMap<Metanetwork, BTreeSet<SgRule>>,
    /// Route destinations (as written by AWS) per route table, with the target id.
    pub routes: BTreeMap<(Metanetwork, String), BTreeMap<String, String>>,
    /// Subnets whose own route table is associated.
    pub associated: BTreeSet<(Metanetwork, String)>,
    /// The DHCP options set the VPC uses now.
    pub vpc_dhcp_options: Option<String>,
    /// The options of the environment's DHCP set, and whether it carries the environment's `Name`
    /// tag (only such a set is deleted when it is replaced).
    pub dhcp_configurations: Option<(BTreeMap<String, Vec<String>>, bool)>,
    /// The CIDR of each subnet.
    pub subnet_cidrs: BTreeMap<(Metanetwork, String), String>,
    /// The EIP of each NAT gateway: public address, allocation, and whether it is dynamic (tagged
    /// `dynamic=true`: allocated for the gateway and released with it).
    pub nat_addresses: BTreeMap<(Metanetwork, String), (String, String, bool)>,
    /// True when an S3 gateway endpoint exists.
    pub s3_endpoint: bool,
    /// The VPC the environment's VPN gateway is attached to, when it is another one.
    pub vpn_gateway_elsewhere: Option<String>,
}

impl LiveEnvironment {
    fn has(&self, key: &Key) -> bool {
        self.ids.contains_key(key)
    }
}

/// Why an environment cannot be brought in line by `update`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", .0.join("; "))]
pub struct PlanError(pub Vec<String>);

/// The steps that make `live` into `spec`: create what is missing, revoke rules and delete routes
/// the config no longer has, replace changed routes and DHCP options, and remove metanetworks the
/// config dropped (destructive). An interrupted create is completed by the same plan. `create_date`
/// is the value of that tag on new resources. Subnets whose CIDR differs from the config are an
/// error: moving a subnet means replacing it and everything in it.
pub fn plan_environment(spec: &EnvironmentSpec, live: &LiveEnvironment, create_date: &str) -> Result<Plan, PlanError> {
    let drift: Vec<String> = spec
        .metanetworks
        .values()
        .flat_map(|m| m.subnets.iter().map(move |s| (m.meta, s)))
        .filter_map(|(meta, s)| {
            let have = live.subnet_cidrs.get(&(meta, s.zone.clone()))?;
            (*have != s.cidr.to_string()).then(|| {
                format!("subnet {} is {have} but the config wants {}; update cannot move a subnet", s.name, s.cidr)
            })
        })
        .collect();
    if !drift.is_empty() {
        return Err(PlanError(drift));
    }
    let mut plan = Plan::default();
    let dated = |mut tags: BTreeMap<String, String>| {
        tags.insert("create_date".into(), create_date.into());
        tags
    };
    if !live.has(&Key::Vpc) {
        plan.push(
            Step::CreateVpc { cidr: spec.cidr.to_string(), tags: dated(spec.tags.clone()) },
            Some(Key::Vpc),
            vec![],
        );
        plan.push(Step::EnableDns, None, vec![Key::Vpc]);
    }
    if !live.has(&Key::InternetGateway) {
        let tags = BTreeMap::from([("Name".to_string(), spec.name.clone())]);
        plan.push(Step::CreateInternetGateway { tags }, Some(Key::InternetGateway), vec![]);
    }
    if !live.has(&Key::InternetGatewayAttachment) {
        plan.push(
            Step::AttachInternetGateway,
            Some(Key::InternetGatewayAttachment),
            vec![Key::InternetGateway, Key::Vpc],
        );
    }
    dhcp(spec, live, &mut plan);
    if live.has(&Key::VpnGateway) && !live.has(&Key::VpnGatewayAttachment) {
        let step = Step::AttachVpnGateway { detach_from: live.vpn_gateway_elsewhere.clone() };
        plan.push(step, Some(Key::VpnGatewayAttachment), vec![Key::VpnGateway, Key::Vpc]);
    }

    // Metanetworks the config dropped go first in their level; their groups only after the other
    // groups stop referring to them (see the revokes below).
    let dropped: BTreeSet<Metanetwork> = live
        .ids
        .keys()
        .filter_map(|k| match k {
            Key::SecurityGroup { meta } | Key::Subnet { meta, .. } | Key::RouteTable { meta, .. } => Some(*meta),
            _ => None,
        })
        .filter(|m| !spec.metanetworks.contains_key(m))
        .collect();

    for (meta, m) in &spec.metanetworks {
        let sg = Key::SecurityGroup { meta: *meta };
        if !live.has(&sg) {
            let step = Step::CreateSecurityGroup {
                meta: *meta,
                name: m.sg_name.clone(),
                description: meta.sg_description().into(),
                tags: spec.sg_tags(*meta),
            };
            plan.push(step, Some(sg), vec![Key::Vpc]);
        }
        for subnet in &m.subnets {
            let zone = subnet.zone.clone();
            let subnet_key = Key::Subnet { meta: *meta, zone: zone.clone() };
            let table_key = Key::RouteTable { meta: *meta, zone: zone.clone() };
            let tags = dated(spec.subnet_tags(*meta, &zone));
            if !live.has(&subnet_key) {
                let step = Step::CreateSubnet {
                    meta: *meta,
                    zone: zone.clone(),
                    cidr: subnet.cidr.to_string(),
                    tags: tags.clone(),
                };
                plan.push(step, Some(subnet_key.clone()), vec![Key::Vpc]);
            }
            if !live.has(&table_key) {
                let step = Step::CreateRouteTable { meta: *meta, zone: zone.clone(), tags: tags.clone() };
                plan.push(step, Some(table_key.clone()), vec![Key::Vpc]);
            }
            if !live.associated.contains(&(*meta, zone.clone())) {
                plan.push(
                    Step::AssociateRouteTable { meta: *meta, zone: zone.clone() },
                    None,
                    vec![subnet_key.clone(), table_key],
                );
            }
            let nat_key = Key::NatGateway { meta: *meta, zone: zone.clone() };
            let index = m.subnets.iter().position(|s| s.zone == zone).unwrap_or(0);
            let static_ip = match &m.nat_gateways {
                NatGateways::Static(ips) => ips.get(index).map(ToString::to_string),
                _ => None,
            };
            // A NAT gateway whose address no longer matches the config goes before its successor
            // comes (a static EIP can serve one gateway only).
            let mut needs = vec![subnet_key, Key::InternetGatewayAttachment];
            if let (Some(id), Some((ip, allocation, dynamic))) =
                (live.ids.get(&nat_key), live.nat_addresses.get(&(*meta, zone.clone())))
            {
                let fits = match &m.nat_gateways {
                    NatGateways::None => false,
                    NatGateways::Auto => *dynamic,
                    NatGateways::Static(_) => static_ip.as_deref() == Some(ip.as_str()),
                };
                if !fits {
                    let gone = Key::NatGatewayGone { meta: *meta, zone: zone.clone() };
                    let release = dynamic.then(|| allocation.clone());
                    let step = Step::DeleteNatGateway { meta: *meta, zone: zone.clone(), id: id.clone(), release };
                    plan.push(step, Some(gone.clone()), vec![]);
                    needs.push(gone);
                }
            }
            let replaced = needs.len() > 2;
            if m.nat_gateways != NatGateways::None && (!live.has(&nat_key) || replaced) {
                // The address needs nothing but the predecessor's removal (which frees a static EIP).
                let address = Key::NatAddress { meta: *meta, zone: zone.clone() };
                let gone: Vec<Key> =
                    needs.iter().filter(|k| matches!(k, Key::NatGatewayGone { .. })).cloned().collect();
                let (ip, eip_tags) = (static_ip.clone(), tags.clone());
                let step = Step::AllocateNatAddress { meta: *meta, zone: zone.clone(), static_ip: ip, tags: eip_tags };
                plan.push(step, Some(address.clone()), gone);
                needs.push(address);
                let step = Step::CreateNatGateway { meta: *meta, zone: zone.clone(), static_ip, tags };
                plan.push(step, Some(nat_key), needs);
            }
        }
    }
    // Rules once every group exists (rules name other groups as sources).
    for (meta, m) in &spec.metanetworks {
        let have = live.rules.get(meta);
        let missing: Vec<SgRule> = m.sg_rules.iter().filter(|r| have.is_none_or(|h| !h.contains(r))).cloned().collect();
        if !missing.is_empty() {
            let mut needs = vec![Key::SecurityGroup { meta: *meta }];
            for r in &missing {
                if let crate::net::SgSource::Metanetwork(source) = r.source {
                    let key = Key::SecurityGroup { meta: source };
                    if !needs.contains(&key) {
                        needs.push(key);
                    }
                }
            }
            plan.push(Step::AuthorizeIngress { meta: *meta, rules: missing }, None, needs);
        }
        let extra: Vec<SgRule> = have.into_iter().flatten().filter(|r| !m.sg_rules.contains(r)).cloned().collect();
        if !extra.is_empty() {
            plan.push(
                Step::RevokeIngress { meta: *meta, rules: extra },
                Some(Key::RulesRevoked { meta: *meta }),
                vec![Key::SecurityGroup { meta: *meta }],
            );
        }
    }
    routes(spec, live, &mut plan);
    for i in &spec.interfaces {
        let key = Key::Interface { ip: i.ip.to_string() };
        if !live.has(&key) {
            let step = Step::CreateInterface {
                hostclass: i.hostclass.clone(),
                meta: i.meta,
                zone: i.zone.clone(),
                ip: i.ip.to_string(),
                tags: spec.interface_tags(&i.hostclass),
            };
            let needs = vec![Key::Subnet { meta: i.meta, zone: i.zone.clone() }, Key::SecurityGroup { meta: i.meta }];
            plan.push(step, Some(key), needs);
        }
    }
    for meta in dropped {
        let needs = spec.metanetworks.keys().map(|m| Key::RulesRevoked { meta: *m }).collect();
        plan.push(Step::RemoveMetanetwork { meta }, None, needs);
    }
    if !live.s3_endpoint {
        let mut needs = vec![Key::Vpc];
        needs.extend(
            spec.metanetworks
                .values()
                .flat_map(|m| m.subnets.iter().map(move |s| Key::RouteTable { meta: m.meta, zone: s.zone.clone() })),
        );
        plan.push(Step::CreateS3Endpoint, None, needs);
    }
    Ok(plan)
}

/// DHCP options: create and associate when missing or different; delete a replaced set that is ours.
fn dhcp(spec: &EnvironmentSpec, live: &LiveEnvironment, plan: &mut Plan) {
    if spec.dhcp.is_empty() {
        return;
    }
    let wanted = spec.dhcp.configurations();
    let current = live.dhcp_configurations.as_ref();
    let same = live.has(&Key::DhcpOptions) && current.is_none_or(|(c, _)| same_options(c, &wanted));
    if !same {
        let tags = BTreeMap::from([("Name".to_string(), spec.name.clone())]);
        plan.push(Step::CreateDhcpOptions { configurations: wanted, tags }, Some(Key::DhcpOptions), vec![]);
        plan.push(Step::AssociateDhcpOptions, Some(Key::DhcpAssociation), vec![Key::DhcpOptions, Key::Vpc]);
        if let (Some(old), Some((_, true))) = (live.ids.get(&Key::DhcpOptions), current) {
            plan.push(Step::DeleteDhcpOptions { id: old.clone() }, None, vec![Key::DhcpAssociation]);
        }
    } else if live.vpc_dhcp_options.is_none() || live.vpc_dhcp_options != live.ids.get(&Key::DhcpOptions).cloned() {
        plan.push(Step::AssociateDhcpOptions, Some(Key::DhcpAssociation), vec![Key::DhcpOptions, Key::Vpc]);
    }
}

/// DHCP options compared as sets: Asiaq sends `domain-name-servers` as `[internal_dns,
/// external_dns]`, so `AmazonProvidedDNS` twice, and Sila once; order and repeats mean nothing to
/// DHCP, and comparing lists would replace the set on every run (reference §4.2.6).
fn same_options(a: &BTreeMap<String, Vec<String>>, b: &BTreeMap<String, Vec<String>>) -> bool {
    let sets = |m: &BTreeMap<String, Vec<String>>| -> BTreeMap<String, BTreeSet<String>> {
        m.iter().map(|(k, v)| (k.clone(), v.iter().cloned().collect())).collect()
    };
    sets(a) == sets(b)
}

/// A route destination in the form AWS reports it (host bits cleared), so `10.1.0.22/16` in the
/// config matches `10.1.0.0/16` in the route table.
fn network(destination: &str) -> String {
    destination
        .parse::<ipnetwork::Ipv4Network>()
        .ok()
        .and_then(|n| ipnetwork::Ipv4Network::new(n.network(), n.prefix()).ok())
        .map_or_else(|| destination.to_string(), |n| n.to_string())
}

/// True when `target` is the NAT gateway of `in_zone` that this plan replaces (routes through it must
/// move to the new one).
fn replaced_nat(plan: &Plan, target: &RouteTarget, in_zone: &str) -> bool {
    let RouteTarget::NatGateway(via) = target else { return false };
    plan.steps
        .iter()
        .any(|s| matches!(&s.step.action, Step::DeleteNatGateway { meta, zone, .. } if meta == via && zone == in_zone))
}

/// IGW and NAT routes: create what is missing, replace what points elsewhere, delete gateway routes
/// the config no longer has. Routes through peerings, endpoints and instances are left alone.
fn routes(spec: &EnvironmentSpec, live: &LiveEnvironment, plan: &mut Plan) {
    if !live.has(&Key::VpnGateway) {
        for meta in spec.metanetworks.values().filter(|m| !m.vgw_routes.is_empty()).map(|m| m.meta) {
            plan.notes.push(format!(
                "{meta}_vgw_routes skipped: no VPN gateway is tagged Name={} (Sila attaches one, never creates it)",
                spec.name
            ));
        }
    }
    for (meta, m) in &spec.metanetworks {
        for subnet in &m.subnets {
            let zone = &subnet.zone;
            let table = Key::RouteTable { meta: *meta, zone: zone.clone() };
            let existing: BTreeMap<String, &String> =
                live.routes.get(&(*meta, zone.clone())).into_iter().flatten().map(|(d, t)| (network(d), t)).collect();
            let mut wanted: Vec<(String, RouteTarget, Key)> = m
                .igw_routes
                .iter()
                .map(|c| (network(&c.to_string()), RouteTarget::InternetGateway, Key::InternetGateway))
                .collect();
            if live.has(&Key::VpnGateway) {
                wanted.extend(
                    m.vgw_routes.iter().map(|c| (network(&c.to_string()), RouteTarget::VpnGateway, Key::VpnGateway)),
                );
            }
            if let Some(via) = m.nat_route_via {
                wanted.push((
                    "0.0.0.0/0".into(),
                    RouteTarget::NatGateway(via),
                    Key::NatGateway { meta: via, zone: zone.clone() },
                ));
            }
            // A set of routes: a destination written twice (`10.1.0.22/16 10.1.0.0/16`) is one route,
            // the first target given wins.
            let mut seen = BTreeSet::new();
            wanted.retain(|(destination, _, _)| seen.insert(destination.clone()));
            for (destination, target, target_key) in &wanted {
                let attached = match target {
                    RouteTarget::InternetGateway => Key::InternetGatewayAttachment,
                    RouteTarget::VpnGateway => Key::VpnGatewayAttachment,
                    RouteTarget::NatGateway(_) => target_key.clone(),
                };
                let needs = vec![table.clone(), attached];
                match existing.get(destination) {
                    None => {
                        let step = Step::CreateRoute {
                            meta: *meta,
                            zone: zone.clone(),
                            destination: destination.clone(),
                            target: target.clone(),
                        };
                        plan.push(step, None, needs);
                    }
                    Some(current) if live.ids.get(target_key) != Some(*current) || replaced_nat(plan, target, zone) => {
                        let step = Step::ReplaceRoute {
                            meta: *meta,
                            zone: zone.clone(),
                            destination: destination.clone(),
                            target: target.clone(),
                        };
                        plan.push(step, None, needs);
                    }
                    Some(_) => {}
                }
            }
            for (destination, target) in &existing {
                let managed = ["igw-", "nat-", "vgw-"].iter().any(|p| target.starts_with(p));
                if managed && !wanted.iter().any(|(d, _, _)| d == destination) {
                    let step = Step::DeleteRoute { meta: *meta, zone: zone.clone(), destination: destination.clone() };
                    plan.push(step, None, vec![table.clone()]);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests;
