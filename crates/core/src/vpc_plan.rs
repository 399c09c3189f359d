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
    /// The VPN gateway tagged with the environment's name (found, never created).
    VpnGateway,
    /// The VPN gateway, attached to the VPC.
    VpnGatewayAttachment,
    /// The environment's DHCP options set.
    DhcpOptions,
    /// The DHCP options set, associated with the VPC.
    DhcpAssociation,
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
    /// The rules a group no longer has, revoked.
    RulesRevoked {
        /// Metanetwork.
        meta: Metanetwork,
    },
    /// A NAT gateway that the config no longer wants, deleted (and its dynamic EIP released).
    NatGatewayGone {
        /// Metanetwork.
        meta: Metanetwork,
        /// Zone.
        zone: String,
    },
    /// A floating network interface, by its private address.
    Interface {
        /// The address.
        ip: String,
    },
    /// A NAT gateway (with its elastic IP).
    NatGateway {
        /// Metanetwork.
        meta: Metanetwork,
        /// Availability zone.
        zone: String,
    },
    /// The elastic IP (allocation) a new NAT gateway will use.
    NatAddress {
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
    /// The VPN gateway.
    VpnGateway,
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
    /// AttachVpnGateway (detaching it from another VPC first), then wait until attached.
    AttachVpnGateway {
        /// The VPC it is attached to now, if another one.
        detach_from: Option<String>,
    },
    /// CreateDhcpOptions.
    CreateDhcpOptions {
        /// AWS option key → values.
        configurations: BTreeMap<String, Vec<String>>,
        /// Tags.
        tags: BTreeMap<String, String>,
    },
    /// AssociateDhcpOptions with the VPC.
    AssociateDhcpOptions,
    /// DeleteDhcpOptions of a set the environment no longer uses.
    DeleteDhcpOptions {
        /// The set.
        id: String,
    },
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
    /// RevokeSecurityGroupIngress of every rule of a group that the config no longer has.
    RevokeIngress {
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
    /// The elastic IP of a new NAT gateway: the configured static one (found by its address), or a
    /// dynamic one (a free one an interrupted run allocated, else AllocateAddress). A step of its
    /// own, so that it runs beside the VPC and its subnets rather than before the gateway.
    AllocateNatAddress {
        /// Metanetwork.
        meta: Metanetwork,
        /// Zone.
        zone: String,
        /// A static EIP (public address) to use, or none for a dynamic one.
        static_ip: Option<String>,
        /// Tags (of a dynamic EIP).
        tags: BTreeMap<String, String>,
    },
    /// CreateNatGateway with the address of its `AllocateNatAddress`, then wait until available.
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
    /// CreateNetworkInterface with a fixed private address, for a hostclass's static IP.
    CreateInterface {
        /// The hostclass.
        hostclass: String,
        /// Metanetwork (subnet and security group).
        meta: Metanetwork,
        /// Zone of the subnet.
        zone: String,
        /// The address.
        ip: String,
        /// Tags.
        tags: BTreeMap<String, String>,
    },
    /// DeleteNatGateway (waiting until it is gone) and release its EIP when it was dynamic.
    /// Destructive: the metanetworks routed through it lose their way out until a new one is up.
    DeleteNatGateway {
        /// Metanetwork.
        meta: Metanetwork,
        /// Zone.
        zone: String,
        /// The gateway.
        id: String,
        /// Its EIP allocation, released with it (dynamic addresses only).
        release: Option<String>,
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
    /// ReplaceRoute: same destination, another target.
    ReplaceRoute {
        /// Metanetwork of the route table.
        meta: Metanetwork,
        /// Zone of the route table.
        zone: String,
        /// Destination CIDR.
        destination: String,
        /// New target.
        target: RouteTarget,
    },
    /// DeleteRoute of a gateway route the config no longer has.
    DeleteRoute {
        /// Metanetwork of the route table.
        meta: Metanetwork,
        /// Zone of the route table.
        zone: String,
        /// Destination CIDR.
        destination: String,
    },
    /// CreateVpcEndpoint for S3 (gateway type), attached to every route table.
    CreateS3Endpoint,
    /// Delete a metanetwork the config dropped: its NAT gateways, route tables, subnets and
    /// security group. Destructive.
    RemoveMetanetwork {
        /// Metanetwork.
        meta: Metanetwork,
    },
}

impl Step {
    /// True for changes that delete or replace a subnet, route table, security group, gateway or the
    /// VPC, or take the VPN gateway away from the VPC it serves now: refused unless the operator
    /// allows destructive changes.
    pub fn is_destructive(&self) -> bool {
        matches!(
            self,
            Self::RemoveMetanetwork { .. }
                | Self::DeleteNatGateway { .. }
                | Self::AttachVpnGateway { detach_from: Some(_) }
        )
    }
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
            Self::AttachVpnGateway { detach_from: None } => write!(f, "attach VPN gateway"),
            Self::AttachVpnGateway { detach_from: Some(vpc) } => {
                write!(f, "move VPN gateway from {vpc} to this VPC (detaching it cuts {vpc} off)")
            }
            Self::CreateDhcpOptions { configurations, .. } => {
                let parts: Vec<String> = configurations.iter().map(|(k, v)| format!("{k}={}", v.join(","))).collect();
                write!(f, "create DHCP options {}", parts.join(" "))
            }
            Self::AssociateDhcpOptions => write!(f, "associate DHCP options"),
            Self::DeleteDhcpOptions { id } => write!(f, "delete the previous DHCP options {id}"),
            Self::RevokeIngress { meta, rules } => write!(f, "revoke {} ingress rule(s) on {meta}", rules.len()),
            Self::ReplaceRoute { meta, zone, destination, target } => {
                write!(f, "route {destination} via {} instead in {meta} {zone}", target_text(target))
            }
            Self::DeleteRoute { meta, zone, destination } => write!(f, "delete route {destination} in {meta} {zone}"),
            Self::DeleteNatGateway { meta, zone, id, release } => match release {
                Some(_) => write!(f, "DELETE NAT gateway {id} of {meta} {zone} and release its dynamic EIP"),
                None => write!(f, "DELETE NAT gateway {id} of {meta} {zone} (its EIP stays allocated)"),
            },
            Self::RemoveMetanetwork { meta } => {
                write!(f, "DELETE metanetwork {meta}: its NAT gateways, route tables, subnets and security group")
            }
            Self::CreateSecurityGroup { name, .. } => write!(f, "create security group {name}"),
            Self::AuthorizeIngress { meta, rules } => write!(f, "authorize {} ingress rule(s) on {meta}", rules.len()),
            Self::CreateSubnet { tags, cidr, .. } => {
                write!(f, "create subnet {} {cidr}", tags.get("Name").map_or("", String::as_str))
            }
            Self::CreateRouteTable { tags, .. } => {
                write!(f, "create route table {}", tags.get("Name").map_or("", String::as_str))
            }
            Self::AssociateRouteTable { meta, zone } => write!(f, "associate route table {meta} {zone}"),
            Self::AllocateNatAddress { meta, zone, static_ip, .. } => match static_ip {
                Some(ip) => write!(f, "find EIP {ip} for NAT gateway {meta} {zone}"),
                None => write!(f, "allocate an EIP for NAT gateway {meta} {zone}"),
            },
            Self::CreateNatGateway { meta, zone, static_ip, .. } => match static_ip {
                Some(ip) => write!(f, "create NAT gateway {meta} {zone} with EIP {ip}"),
                None => write!(f, "create NAT gateway {meta} {zone} with a new EIP"),
            },
            Self::CreateRoute { meta, zone, destination, target } => {
                write!(f, "route {destination} via {} in {meta} {zone}", target_text(target))
            }
            Self::CreateS3Endpoint => write!(f, "create S3 gateway endpoint on every route table"),
            Self::CreateInterface { hostclass, meta, zone, ip, .. } => {
                write!(f, "create floating interface {ip} for {hostclass} in {meta} {zone}")
            }
        }
    }
}

fn target_text(target: &RouteTarget) -> String {
    match target {
        RouteTarget::InternetGateway => "internet gateway".to_string(),
        RouteTarget::NatGateway(m) => format!("NAT gateway of {m}"),
        RouteTarget::VpnGateway => "VPN gateway".to_string(),
    }
}

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
        let plan = plan_environment(&sample(), &LiveEnvironment::default(), "2026-11-22T00:00:00Z").unwrap();
        let count = |f: fn(&Step) -> bool| plan.steps.iter().filter(|s| f(&s.step.action)).count();
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
        assert!(levels[0].iter().any(|s| matches!(s.step.action, Step::CreateVpc { .. })));
        assert!(levels[3]
            .iter()
            .all(|s| matches!(s.step.action, Step::CreateRoute { target: RouteTarget::NatGateway(_), .. })));
        // Every step comes after what it needs.
        for s in &plan.steps {
            for need in &s.step.needs {
                if let Some(p) = plan.steps.iter().find(|p| p.step.provides.as_ref() == Some(need)) {
                    assert!(p.level < s.level && p.id < s.id, "{s:?} needs {p:?}");
                }
            }
        }
        let vpc = plan.steps.iter().find_map(|s| match &s.step.action {
            Step::CreateVpc { tags, .. } => Some(tags.clone()),
            _ => None,
        });
        assert_eq!(vpc.unwrap()["create_date"], "2026-11-22T00:00:00Z");
    }

    #[test]
    fn a_complete_environment_needs_nothing_and_a_partial_one_only_the_rest() {
        let spec = sample();
        let full = plan_environment(&spec, &LiveEnvironment::default(), "d").unwrap();
        let mut live = LiveEnvironment::default();
        for s in &full.steps {
            if let Some(k) = &s.step.provides {
                live.ids.insert(k.clone(), format!("id-{}", s.id));
            }
        }
        live.vpc_dhcp_options = live.ids.get(&Key::DhcpOptions).cloned();
        live.s3_endpoint = true;
        for (meta, m) in &spec.metanetworks {
            live.rules.insert(*meta, m.sg_rules.clone());
            for s in &m.subnets {
                live.associated.insert((*meta, s.zone.clone()));
                let igw = live.ids[&Key::InternetGateway].clone();
                let mut routes: BTreeMap<String, String> =
                    m.igw_routes.iter().map(|c| (c.to_string(), igw.clone())).collect();
                if let Some(via) = m.nat_route_via {
                    routes.insert(
                        "0.0.0.0/0".into(),
                        live.ids[&Key::NatGateway { meta: via, zone: s.zone.clone() }].clone(),
                    );
                }
                live.subnet_cidrs.insert((*meta, s.zone.clone()), s.cidr.to_string());
                live.routes.insert((*meta, s.zone.clone()), routes);
            }
        }
        assert!(plan_environment(&spec, &live, "d").unwrap().is_empty());

        // Interrupted after the subnets of one zone were made: only the rest is planned.
        live.ids.remove(&Key::Subnet { meta: Metanetwork::Dmz, zone: "b".into() });
        live.associated.remove(&(Metanetwork::Dmz, "b".into()));
        let rest = plan_environment(&spec, &live, "d").unwrap();
        let steps: Vec<String> = rest.steps.iter().map(|s| s.step.to_string()).collect();
        assert_eq!(steps, ["create subnet demo_dmz_b 10.200.9.0/24", "associate route table dmz b"]);
        assert_eq!(rest.depth(), 2);
        live.ids.insert(Key::Subnet { meta: Metanetwork::Dmz, zone: "b".into() }, "subnet-b".into());
        live.associated.insert((Metanetwork::Dmz, "b".into()));

        // Config drift: a rule and a route too many, a route elsewhere, another domain name.
        let foreign = SgRule {
            target: Metanetwork::Dmz,
            protocol: "tcp".into(),
            from_port: 8080,
            to_port: 8080,
            source: crate::net::SgSource::Cidr("192.0.2.0/24".parse().unwrap()),
        };
        live.rules.get_mut(&Metanetwork::Dmz).unwrap().insert(foreign.clone());
        let dmz_a = live.routes.get_mut(&(Metanetwork::Dmz, "a".into())).unwrap();
        dmz_a.insert("198.51.100.0/24".into(), "igw-old".into());
        dmz_a.insert("0.0.0.0/0".into(), "nat-elsewhere".into());
        // A host-bits spelling in the config matches AWS's normal form (no churn).
        let intranet_b = live.routes.get_mut(&(Metanetwork::Intranet, "b".into())).unwrap();
        intranet_b.insert("10.1.0.0/16".into(), "pcx-peer".into());
        live.dhcp_configurations = Some((BTreeMap::from([("domain-name".into(), vec!["old".into()])]), true));
        let plan = plan_environment(&spec, &live, "d").unwrap();
        let steps: Vec<String> = plan.steps.iter().map(|s| s.step.to_string()).collect();
        let delete_old = format!("delete the previous DHCP options {}", live.ids[&Key::DhcpOptions]);
        assert_eq!(
            steps,
            [
                "create DHCP options domain-name=sandbox.sila.internal domain-name-servers=AmazonProvidedDNS ntp-servers=10.200.4.5",
                "associate DHCP options",
                delete_old.as_str(),
                "revoke 1 ingress rule(s) on dmz",
                "route 0.0.0.0/0 via internet gateway instead in dmz a",
                "delete route 198.51.100.0/24 in dmz a",
            ]
        );
        assert!(plan.destructive().is_empty());
        match &plan.steps[3].step.action {
            Step::RevokeIngress { rules, .. } => assert_eq!(rules, &[foreign]),
            other => panic!("{other:?}"),
        }

        // A metanetwork the config no longer has is destructive, after the other groups' revokes.
        let mut smaller = spec.clone();
        smaller.metanetworks.remove(&Metanetwork::Maintenance);
        let plan = plan_environment(&smaller, &live, "d").unwrap();
        let removal = plan.destructive();
        assert_eq!(removal.len(), 1);
        assert!(matches!(removal[0].step.action, Step::RemoveMetanetwork { meta: Metanetwork::Maintenance }));
        let revokes: Vec<_> =
            plan.steps.iter().filter(|s| matches!(s.step.action, Step::RevokeIngress { .. })).collect();
        assert!(revokes.iter().all(|r| r.level < removal[0].level), "{revokes:?} then {removal:?}");
    }

    #[test]
    fn dhcp_options_are_compared_as_sets() {
        let spec = sample();
        let mut live = LiveEnvironment::default();
        live.ids.insert(Key::Vpc, "vpc-1".into());
        live.ids.insert(Key::DhcpOptions, "dopt-1".into());
        live.vpc_dhcp_options = Some("dopt-1".into());
        // What Asiaq sends: both DNS options, each AmazonProvidedDNS, and the options in its order.
        let mut asiaq = spec.dhcp.configurations();
        asiaq.insert("domain-name-servers".into(), vec!["AmazonProvidedDNS".into(), "AmazonProvidedDNS".into()]);
        live.dhcp_configurations = Some((asiaq.clone(), true));
        let plan = plan_environment(&spec, &live, "d").unwrap();
        assert!(
            !plan.steps.iter().any(|s| matches!(s.step.action, Step::CreateDhcpOptions { .. })),
            "{:?}",
            plan.steps
        );
        // A real difference still replaces the set.
        asiaq.insert("ntp-servers".into(), vec!["10.9.9.9".into()]);
        live.dhcp_configurations = Some((asiaq, true));
        let plan = plan_environment(&spec, &live, "d").unwrap();
        assert!(plan.steps.iter().any(|s| matches!(s.step.action, Step::CreateDhcpOptions { .. })));
    }

    #[test]
    fn routes_are_a_set() {
        let mut spec = sample();
        let dmz = spec.metanetworks.get_mut(&Metanetwork::Dmz).unwrap();
        dmz.igw_routes = ["10.1.0.22/16", "10.1.0.0/16", "0.0.0.0/0", "0.0.0.0/0"].map(|c| c.parse().unwrap()).to_vec();
        let plan = plan_environment(&spec, &LiveEnvironment::default(), "d").unwrap();
        let dmz_a: Vec<String> = plan
            .steps
            .iter()
            .filter_map(|s| match &s.step.action {
                Step::CreateRoute { meta: Metanetwork::Dmz, zone, destination, .. } if zone == "a" => {
                    Some(destination.clone())
                }
                _ => None,
            })
            .collect();
        assert_eq!(dmz_a, ["10.1.0.0/16", "0.0.0.0/0"]);
    }

    #[test]
    fn moving_the_vpn_gateway_from_another_vpc_is_destructive() {
        let spec = sample();
        let mut live = LiveEnvironment::default();
        live.ids.insert(Key::VpnGateway, "vgw-1".into());
        live.vpn_gateway_elsewhere = Some("vpc-other".into());
        let plan = plan_environment(&spec, &live, "d").unwrap();
        let destructive: Vec<String> = plan.destructive().iter().map(|s| s.step.to_string()).collect();
        assert_eq!(destructive, ["move VPN gateway from vpc-other to this VPC (detaching it cuts vpc-other off)"]);
        live.vpn_gateway_elsewhere = None;
        assert!(plan_environment(&spec, &live, "d").unwrap().destructive().is_empty());
    }

    #[test]
    fn a_subnet_the_config_moved_is_refused() {
        let spec = sample();
        let mut live = LiveEnvironment::default();
        live.subnet_cidrs.insert((Metanetwork::Tunnel, "a".into()), "10.200.99.0/24".into());
        let err = plan_environment(&spec, &live, "d").unwrap_err();
        assert_eq!(
            err.to_string(),
            "subnet demo_tunnel_a is 10.200.99.0/24 but the config wants 10.200.4.0/24; update cannot move a subnet"
        );
    }
}
