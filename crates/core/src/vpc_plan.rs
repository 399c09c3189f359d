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

/// A resource of an environment, as the plan names it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Key {
    /// The VPC.
    Vpc,
    /// The internet gateway.
    InternetGateway,
    /// The internet gateway, attached to the VPC.
    InternetGatewayAttachment,
    /// The environment's DHCP options set.
    DhcpOptions,
    /// The security group of a metanetwork.
    SecurityGroup {
        /// Metanetwork.
        meta: Metanetwork,
    },
    /// A subnet.
    Subnet {
        /// Metanetwork.
        meta: Metanetwork,
        /// Availability zone.
        zone: String,
    },
    /// The route table of a subnet.
    RouteTable {
        /// Metanetwork.
        meta: Metanetwork,
        /// Availability zone.
        zone: String,
    },
    /// A NAT gateway (with its elastic IP).
    NatGateway {
        /// Metanetwork.
        meta: Metanetwork,
        /// Availability zone.
        zone: String,
    },
}

/// Where a route sends traffic.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RouteTarget {
    /// The internet gateway.
    InternetGateway,
    /// The NAT gateway of this metanetwork in the same zone.
    NatGateway(Metanetwork),
}

/// One change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Step {
    /// CreateVpc with its tags.
    CreateVpc {
        /// CIDR.
        cidr: String,
        /// Tags (including `create_date`).
        tags: BTreeMap<String, String>,
    },
    /// DNS support and DNS hostnames on the VPC.
    EnableDns,
    /// CreateInternetGateway.
    CreateInternetGateway {
        /// Tags.
        tags: BTreeMap<String, String>,
    },
    /// AttachInternetGateway.
    AttachInternetGateway,
    /// CreateDhcpOptions.
    CreateDhcpOptions {
        /// AWS option key → values.
        configurations: BTreeMap<String, Vec<String>>,
        /// Tags.
        tags: BTreeMap<String, String>,
    },
    /// AssociateDhcpOptions with the VPC.
    AssociateDhcpOptions,
    /// CreateSecurityGroup.
    CreateSecurityGroup {
        /// Metanetwork.
        meta: Metanetwork,
        /// Group name.
        name: String,
        /// Group description.
        description: String,
        /// Tags.
        tags: BTreeMap<String, String>,
    },
    /// AuthorizeSecurityGroupIngress with every missing rule of a group in one call.
    AuthorizeIngress {
        /// Metanetwork of the group.
        meta: Metanetwork,
        /// The rules.
        rules: Vec<SgRule>,
    },
    /// CreateSubnet.
    CreateSubnet {
        /// Metanetwork.
        meta: Metanetwork,
        /// Zone.
        zone: String,
        /// CIDR.
        cidr: String,
        /// Tags.
        tags: BTreeMap<String, String>,
    },
    /// CreateRouteTable.
    CreateRouteTable {
        /// Metanetwork.
        meta: Metanetwork,
        /// Zone.
        zone: String,
        /// Tags.
        tags: BTreeMap<String, String>,
    },
    /// AssociateRouteTable with its subnet.
    AssociateRouteTable {
        /// Metanetwork.
        meta: Metanetwork,
        /// Zone.
        zone: String,
    },
    /// AllocateAddress (or reuse the tagged one) and CreateNatGateway, then wait until available.
    CreateNatGateway {
        /// Metanetwork.
        meta: Metanetwork,
        /// Zone.
        zone: String,
        /// A static EIP (public address) to use, or none for a dynamic one.
        static_ip: Option<String>,
        /// Tags (of the NAT gateway and of a dynamic EIP).
        tags: BTreeMap<String, String>,
    },
    /// CreateRoute in one route table.
    CreateRoute {
        /// Metanetwork of the route table.
        meta: Metanetwork,
        /// Zone of the route table.
        zone: String,
        /// Destination CIDR.
        destination: String,
        /// Target.
        target: RouteTarget,
    },
    /// CreateVpcEndpoint for S3 (gateway type), attached to every route table.
    CreateS3Endpoint,
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::CreateVpc { cidr, tags } => {
                write!(f, "create VPC {} {cidr}", tags.get("Name").map_or("", String::as_str))
            }
            Self::EnableDns => write!(f, "enable DNS support and hostnames"),
            Self::CreateInternetGateway { .. } => write!(f, "create internet gateway"),
            Self::AttachInternetGateway => write!(f, "attach internet gateway"),
            Self::CreateDhcpOptions { configurations, .. } => {
                let parts: Vec<String> = configurations.iter().map(|(k, v)| format!("{k}={}", v.join(","))).collect();
                write!(f, "create DHCP options {}", parts.join(" "))
            }
            Self::AssociateDhcpOptions => write!(f, "associate DHCP options"),
            Self::CreateSecurityGroup { name, .. } => write!(f, "create security group {name}"),
            Self::AuthorizeIngress { meta, rules } => write!(f, "authorize {} ingress rule(s) on {meta}", rules.len()),
            Self::CreateSubnet { tags, cidr, .. } => {
                write!(f, "create subnet {} {cidr}", tags.get("Name").map_or("", String::as_str))
            }
            Self::CreateRouteTable { tags, .. } => {
                write!(f, "create route table {}", tags.get("Name").map_or("", String::as_str))
            }
            Self::AssociateRouteTable { meta, zone } => write!(f, "associate route table {meta} {zone}"),
            Self::CreateNatGateway { meta, zone, static_ip, .. } => match static_ip {
                Some(ip) => write!(f, "create NAT gateway {meta} {zone} with EIP {ip}"),
                None => write!(f, "create NAT gateway {meta} {zone} with a new EIP"),
            },
            Self::CreateRoute { meta, zone, destination, target } => {
                let via = match target {
                    RouteTarget::InternetGateway => "internet gateway".to_string(),
                    RouteTarget::NatGateway(m) => format!("NAT gateway of {m}"),
                };
                write!(f, "route {destination} via {via} in {meta} {zone}")
            }
            Self::CreateS3Endpoint => write!(f, "create S3 gateway endpoint on every route table"),
        }
    }
}

/// A step with its place in the plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlannedStep {
    /// Position in the plan.
    pub id: usize,
    /// 0 for steps that wait for nothing; otherwise one more than the deepest step waited for.
    pub level: usize,
    /// The change.
    #[serde(flatten)]
    pub step: Step,
    /// What it creates, if anything.
    pub provides: Option<Key>,
    /// What must exist first.
    pub needs: Vec<Key>,
}

/// An ordered set of steps for one environment.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Plan {
    /// The steps, in an order where each comes after what it needs.
    pub steps: Vec<PlannedStep>,
}

impl Plan {
    /// True when nothing needs to change.
    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }

    /// The number of levels (the critical path, in calls that must follow each other).
    pub fn depth(&self) -> usize {
        self.steps.iter().map(|s| s.level + 1).max().unwrap_or(0)
    }

    /// The steps of each level, in order.
    pub fn levels(&self) -> Vec<Vec<&PlannedStep>> {
        let mut levels = vec![Vec::new(); self.depth()];
        for s in &self.steps {
            levels[s.level].push(s);
        }
        levels
    }

    fn push(&mut self, step: Step, provides: Option<Key>, needs: Vec<Key>) {
        let level = needs
            .iter()
            .filter_map(|k| self.steps.iter().find(|s| s.provides.as_ref() == Some(k)))
            .map(|s| s.level + 1)
            .max()
            .unwrap_or(0);
        self.steps.push(PlannedStep { id: self.steps.len(), level, step, provides, needs });
    }
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
    /// True when an S3 gateway endpoint exists.
    pub s3_endpoint: bool,
}

impl LiveEnvironment {
    fn has(&self, key: &Key) -> bool {
        self.ids.contains_key(key)
    }
}

/// The steps that make `live` into `spec`, creating only what is missing (so a create that was
/// interrupted is completed by running the same plan again). `create_date` is the value of the tag of
/// that name for new resources.
pub fn plan_create(spec: &EnvironmentSpec, live: &LiveEnvironment, create_date: &str) -> Plan {
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
    if !spec.dhcp.is_empty() {
        if !live.has(&Key::DhcpOptions) {
            let tags = BTreeMap::from([("Name".to_string(), spec.name.clone())]);
            let step = Step::CreateDhcpOptions { configurations: spec.dhcp.configurations(), tags };
            plan.push(step, Some(Key::DhcpOptions), vec![]);
        }
        if live.vpc_dhcp_options.is_none() || live.vpc_dhcp_options != live.ids.get(&Key::DhcpOptions).cloned() {
            plan.push(Step::AssociateDhcpOptions, None, vec![Key::DhcpOptions, Key::Vpc]);
        }
    }
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
            if m.nat_gateways != NatGateways::None && !live.has(&nat_key) {
                let index = m.subnets.iter().position(|s| s.zone == zone).unwrap_or(0);
                let static_ip = match &m.nat_gateways {
                    NatGateways::Static(ips) => ips.get(index).map(ToString::to_string),
                    _ => None,
                };
                let step = Step::CreateNatGateway { meta: *meta, zone: zone.clone(), static_ip, tags };
                plan.push(step, Some(nat_key), vec![subnet_key, Key::InternetGatewayAttachment]);
            }
        }
    }
    // Rules once every group exists (rules name other groups as sources).
    for (meta, m) in &spec.metanetworks {
        let have = live.rules.get(meta);
        let missing: Vec<SgRule> = m.sg_rules.iter().filter(|r| have.is_none_or(|h| !h.contains(r))).cloned().collect();
        if missing.is_empty() {
            continue;
        }
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
    // Routes.
    for (meta, m) in &spec.metanetworks {
        for subnet in &m.subnets {
            let zone = &subnet.zone;
            let table = Key::RouteTable { meta: *meta, zone: zone.clone() };
            let existing = live.routes.get(&(*meta, zone.clone()));
            let mut wanted: Vec<(String, RouteTarget, Key)> = m
                .igw_routes
                .iter()
                .map(|c| (c.to_string(), RouteTarget::InternetGateway, Key::InternetGatewayAttachment))
                .collect();
            if let Some(via) = m.nat_route_via {
                wanted.push((
                    "0.0.0.0/0".into(),
                    RouteTarget::NatGateway(via),
                    Key::NatGateway { meta: via, zone: zone.clone() },
                ));
            }
            for (destination, target, target_key) in wanted {
                if existing.is_some_and(|r| r.contains_key(&destination)) {
                    continue;
                }
                let step = Step::CreateRoute { meta: *meta, zone: zone.clone(), destination, target };
                plan.push(step, None, vec![table.clone(), target_key]);
            }
        }
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
    plan
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::VpcConfig;
    use crate::environment::{desired, RegionFacts};
    use crate::ini::Ini;
    use std::path::Path;

    fn sample() -> EnvironmentSpec {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/vpc.ini");
        let vpc = VpcConfig::new(Ini::load(&path).unwrap());
        let facts = RegionFacts { zones: ["a", "b", "c"].map(String::from).to_vec(), ..RegionFacts::default() };
        desired(&vpc, "demo", "sandbox", &BTreeMap::new(), &facts).unwrap()
    }

    #[test]
    fn a_new_environment_is_planned_in_few_levels() {
        let plan = plan_create(&sample(), &LiveEnvironment::default(), "2026-11-22T00:00:00Z");
        let count = |f: fn(&Step) -> bool| plan.steps.iter().filter(|s| f(&s.step)).count();
        assert_eq!(count(|s| matches!(s, Step::CreateSubnet { .. })), 12);
        assert_eq!(count(|s| matches!(s, Step::CreateRouteTable { .. })), 12);
        assert_eq!(count(|s| matches!(s, Step::AssociateRouteTable { .. })), 12);
        assert_eq!(count(|s| matches!(s, Step::CreateSecurityGroup { .. })), 4);
        assert_eq!(count(|s| matches!(s, Step::AuthorizeIngress { .. })), 4);
        assert_eq!(count(|s| matches!(s, Step::CreateNatGateway { .. })), 3);
        // igw routes: tunnel, dmz, maintenance × 3 zones; NAT default route: intranet × 3.
        assert_eq!(count(|s| matches!(s, Step::CreateRoute { .. })), 12);
        // VPC → subnet/table/group → association, rules, NAT → NAT routes.
        assert_eq!(plan.depth(), 4);
        let levels = plan.levels();
        assert!(levels[0].iter().any(|s| matches!(s.step, Step::CreateVpc { .. })));
        assert!(levels[3]
            .iter()
            .all(|s| matches!(s.step, Step::CreateRoute { target: RouteTarget::NatGateway(_), .. })));
        // Every step comes after what it needs.
        for s in &plan.steps {
            for need in &s.needs {
                if let Some(p) = plan.steps.iter().find(|p| p.provides.as_ref() == Some(need)) {
                    assert!(p.level < s.level && p.id < s.id, "{s:?} needs {p:?}");
                }
            }
        }
        let vpc = plan.steps.iter().find_map(|s| match &s.step {
            Step::CreateVpc { tags, .. } => Some(tags.clone()),
            _ => None,
        });
        assert_eq!(vpc.unwrap()["create_date"], "2026-11-22T00:00:00Z");
    }

    #[test]
    fn a_complete_environment_needs_nothing_and_a_partial_one_only_the_rest() {
        let spec = sample();
        let full = plan_create(&spec, &LiveEnvironment::default(), "d");
        let mut live = LiveEnvironment::default();
        for s in &full.steps {
            if let Some(k) = &s.provides {
                live.ids.insert(k.clone(), format!("id-{}", s.id));
            }
        }
        live.vpc_dhcp_options = live.ids.get(&Key::DhcpOptions).cloned();
        live.s3_endpoint = true;
        for (meta, m) in &spec.metanetworks {
            live.rules.insert(*meta, m.sg_rules.clone());
            for s in &m.subnets {
                live.associated.insert((*meta, s.zone.clone()));
                let mut routes: BTreeMap<String, String> =
                    m.igw_routes.iter().map(|c| (c.to_string(), "igw".to_string())).collect();
                if m.nat_route_via.is_some() {
                    routes.insert("0.0.0.0/0".into(), "nat".into());
                }
                live.routes.insert((*meta, s.zone.clone()), routes);
            }
        }
        assert!(plan_create(&spec, &live, "d").is_empty());

        // Interrupted after the subnets of one zone were made: only the rest is planned.
        live.ids.remove(&Key::Subnet { meta: Metanetwork::Dmz, zone: "b".into() });
        live.associated.remove(&(Metanetwork::Dmz, "b".into()));
        let rest = plan_create(&spec, &live, "d");
        let steps: Vec<String> = rest.steps.iter().map(|s| s.step.to_string()).collect();
        assert_eq!(steps, ["create subnet demo_dmz_b 10.200.9.0/24", "associate route table dmz b"]);
        assert_eq!(rest.depth(), 2);
    }
}
