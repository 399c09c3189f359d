//! The desired shape of one environment (a VPC and its metanetworks), computed from `vpc.ini` and a
//! few facts about the region. Pure: `sila-vpc` reads the facts from AWS, calls [`desired`], and
//! plans the difference to what exists.
//!
//! Names and tags follow Asiaq (reference §1.7–1.8) so environments Asiaq built are recognized.

use crate::config::{AwsConfig, Resolved, VpcConfig};
use crate::diag::{Diagnostic, Diagnostics};
use crate::net::{
    expand_sg_rules, ip_by_offset, metanetwork_cidrs, parse_cidr, parse_ip_spec, parse_nat_routes, parse_route_list,
    split_for_zones, vpc_cidr, CustomerPorts, IpSpec, MetaCidrSpec, Metanetwork, NatGateways, NetError, SgRule,
};
use ipnetwork::Ipv4Network;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// Availability zones used when neither `az_count` nor `availability_zones` is set (as Asiaq).
pub const DEFAULT_AZ_COUNT: usize = 3;

/// What the region tells us before planning.
#[derive(Debug, Clone, Default)]
pub struct RegionFacts {
    /// Availability zone names in the region's order.
    pub zones: Vec<String>,
    /// CIDRs of every VPC in the region (dynamic allocation avoids them).
    pub vpc_cidrs: Vec<Ipv4Network>,
    /// The CIDR of the environment's VPC when it exists already: it is what it is, whatever the
    /// config says now (a VPC's CIDR cannot change).
    pub existing_cidr: Option<Ipv4Network>,
}

/// One subnet of a metanetwork (and its own route table, named and tagged alike).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SubnetSpec {
    /// Availability zone.
    pub zone: String,
    /// Its CIDR.
    #[serde(serialize_with = "crate::environment::as_string")]
    pub cidr: Ipv4Network,
    /// `<env>_<meta>_<zone>`.
    pub name: String,
}

/// One metanetwork: a security group, a subnet and route table per zone, rules and routes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MetanetworkSpec {
    /// Which one.
    pub meta: Metanetwork,
    /// Its CIDR.
    #[serde(serialize_with = "crate::environment::as_string")]
    pub cidr: Ipv4Network,
    /// `<env>_<meta>`: the security group's name.
    pub sg_name: String,
    /// A subnet per zone, in zone order.
    pub subnets: Vec<SubnetSpec>,
    /// The security group's ingress rules.
    pub sg_rules: BTreeSet<SgRule>,
    /// Destinations routed to the internet gateway.
    #[serde(serialize_with = "crate::environment::all_as_strings")]
    pub igw_routes: Vec<Ipv4Network>,
    /// Destinations routed to the VPN gateway (when one tagged with the environment name exists).
    #[serde(serialize_with = "crate::environment::all_as_strings")]
    pub vgw_routes: Vec<Ipv4Network>,
    /// NAT gateways this metanetwork hosts (one per subnet).
    pub nat_gateways: NatGateways,
    /// The metanetwork whose NAT gateways carry this one's default route (`nat_gateway_routes`).
    pub nat_route_via: Option<Metanetwork>,
}

/// DHCP options of the environment.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DhcpSpec {
    /// `domain-name`.
    pub domain_name: Option<String>,
    /// `domain-name-servers`: `internal_dns`, `external_dns`.
    pub dns_servers: Vec<String>,
    /// `ntp-servers`: `ntp_server` literals, or the metanetwork offset address.
    pub ntp_servers: Vec<String>,
}

impl DhcpSpec {
    /// True when no option is set (the environment keeps AWS's default set).
    pub fn is_empty(&self) -> bool {
        self.domain_name.is_none() && self.dns_servers.is_empty() && self.ntp_servers.is_empty()
    }

    /// The options as AWS key → values pairs, sorted by key.
    pub fn configurations(&self) -> BTreeMap<String, Vec<String>> {
        let mut map = BTreeMap::new();
        if let Some(d) = &self.domain_name {
            map.insert("domain-name".to_string(), vec![d.clone()]);
        }
        if !self.dns_servers.is_empty() {
            map.insert("domain-name-servers".to_string(), self.dns_servers.clone());
        }
        if !self.ntp_servers.is_empty() {
            map.insert("ntp-servers".to_string(), self.ntp_servers.clone());
        }
        map
    }
}

/// Everything an environment should be.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EnvironmentSpec {
    /// The environment (VPC `Name` tag).
    pub name: String,
    /// Its type (VPC `type` tag).
    pub vpc_type: String,
    /// The VPC CIDR.
    #[serde(serialize_with = "crate::environment::as_string")]
    pub cidr: Ipv4Network,
    /// Availability zones used.
    pub zones: Vec<String>,
    /// VPC tags (`Name`, `type`, `application`, extra `--tag`s; `create_date` is added at creation).
    pub tags: BTreeMap<String, String>,
    /// The configured metanetworks.
    pub metanetworks: BTreeMap<Metanetwork, MetanetworkSpec>,
    /// DHCP options.
    pub dhcp: DhcpSpec,
    /// Floating network interfaces reserved for hostclasses with a static `ip_address` (filled by
    /// [`floating_interfaces`]; empty with `--skip-enis`).
    pub interfaces: Vec<InterfaceSpec>,
}

/// A floating network interface: a static private IP kept for a hostclass across its instances.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InterfaceSpec {
    /// The hostclass it is for.
    pub hostclass: String,
    /// Its private address.
    pub ip: std::net::Ipv4Addr,
    /// The metanetwork (and so the security group) it belongs to.
    pub meta: Metanetwork,
    /// The zone of the subnet holding the address.
    pub zone: String,
}

/// Tags of the floating interface of `hostclass` in environment `env` (sila-vpc and spinup make
/// them alike).
pub fn interface_tags(env: &str, hostclass: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        ("Name".into(), format!("{env}_{hostclass}_floating")),
        ("hostclass".into(), hostclass.into()),
        ("environment".into(), env.into()),
    ])
}

/// The floating interfaces of `spec` from the hostclass sections of `aws.ini` (reference §4.1.4):
/// `ip_address` and `meta_network` resolved for this environment, offsets counted in the
/// metanetwork's subnets. A value set for this environment (`ip_address@<env>`) that does not fit is
/// an error; a general one that does not fit this environment is skipped with a warning.
pub fn floating_interfaces(
    spec: &EnvironmentSpec,
    aws: &AwsConfig,
) -> Result<(Vec<InterfaceSpec>, Vec<Diagnostic>), Diagnostics> {
    let (mut interfaces, mut notes, mut errors) = (Vec::new(), Vec::new(), Vec::new());
    for hostclass in aws.hostclass_sections() {
        let Some(ip) = aws.hostclass_option(hostclass, "ip_address", Some(&spec.name)).filter(|r| !r.value.is_empty())
        else {
            continue;
        };
        let meta_name =
            aws.hostclass_option(hostclass, "meta_network", Some(&spec.name)).map(|r| r.value).unwrap_or_default();
        let mut problem = |message: String| {
            if ip.option.contains('@') {
                errors.push(Diagnostic::error(
                    &aws.ini.path,
                    Some(ip.line),
                    format!("[{hostclass}] {}: {message}", ip.option),
                ));
            } else {
                notes.push(Diagnostic::warning(
                    &aws.ini.path,
                    Some(ip.line),
                    format!("[{hostclass}] {} skipped: {message}", ip.option),
                ));
            }
        };
        let Some(meta) = Metanetwork::from_name(&meta_name) else {
            problem(format!("meta_network {meta_name:?} is not a metanetwork"));
            continue;
        };
        let Some(m) = spec.metanetworks.get(&meta) else {
            problem(format!("environment {} has no {meta} metanetwork", spec.name));
            continue;
        };
        let subnets: Vec<Ipv4Network> = m.subnets.iter().map(|s| s.cidr).collect();
        let addresses = match parse_ip_spec(&ip.value) {
            Ok(IpSpec::Offset(offset)) => match ip_by_offset(&subnets, offset) {
                Ok(a) => vec![a],
                Err(e) => {
                    problem(e.to_string());
                    continue;
                }
            },
            Ok(IpSpec::Literal(list)) => list,
            Err(e) => {
                problem(e.to_string());
                continue;
            }
        };
        for address in addresses {
            match m.subnets.iter().find(|s| s.cidr.contains(address)) {
                Some(subnet) => interfaces.push(InterfaceSpec {
                    hostclass: hostclass.to_string(),
                    ip: address,
                    meta,
                    zone: subnet.zone.clone(),
                }),
                None => problem(format!("{address} is in none of the {meta} subnets of {}", spec.name)),
            }
        }
    }
    if errors.is_empty() {
        Ok((interfaces, notes))
    } else {
        Err(Diagnostics(errors))
    }
}

impl EnvironmentSpec {
    /// Tags of the floating interface of `hostclass`.
    pub fn interface_tags(&self, hostclass: &str) -> BTreeMap<String, String> {
        interface_tags(&self.name, hostclass)
    }

    /// Tags of a subnet, route table or NAT gateway of `meta` in `zone`: the VPC's plus `Name`,
    /// `meta_network` and `subnet` (reference §1.8).
    pub fn subnet_tags(&self, meta: Metanetwork, zone: &str) -> BTreeMap<String, String> {
        let mut tags = self.tags.clone();
        tags.insert("Name".into(), format!("{}_{}_{}", self.name, meta, zone));
        tags.insert("meta_network".into(), meta.name().into());
        tags.insert("subnet".into(), zone.into());
        tags
    }

    /// Tags of the security group of `meta`.
    pub fn sg_tags(&self, meta: Metanetwork) -> BTreeMap<String, String> {
        BTreeMap::from([("Name".into(), format!("{}_{meta}", self.name)), ("meta_network".into(), meta.name().into())])
    }
}

/// The credential buckets of an environment (reference §1.7, vector 99): for each postfix of
/// `credential_buckets`, `<region>.<project>.credentials.<postfix>` in us-west-2 (Asiaq's first
/// region) and `<region>--<project>--credentials--<postfix>` elsewhere.
pub fn credential_buckets(region: &str, project: &str, postfixes: &str) -> Vec<String> {
    let sep = if region == "us-west-2" { "." } else { "--" };
    postfixes.split_whitespace().map(|p| [region, project, "credentials", p].join(sep)).collect()
}

/// The tag spinup puts on each launch template with the id of the environment's VPC, by which
/// `sila-vpc destroy` knows the template is that environment's (an `environment` tag alone proves
/// nothing: another VPC may carry the same name).
pub const VPC_ID_TAG: &str = "sila-vpc-id";

/// The tags `--tag` may not set: every tool finds an environment by them.
pub const IDENTITY_TAGS: [&str; 2] = ["Name", "type"];

/// The one rule for environment names, wherever a tool takes one (`--env`, `--name`, `sila sandbox
/// NAME`, `default_environment`, `bakery_environment`): names become resource names joined with
/// `_`, so they may not contain one, and they go into EC2 `tag:Name` filters, where `*` and `?` are
/// wildcards, so only letters, digits, `-` and `.` are allowed.
pub fn validate_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("the environment name is empty".into());
    }
    if name.contains('_') {
        return Err(format!("environment name {name:?} contains '_', which Sila uses to join resource names"));
    }
    if !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.') {
        return Err(format!("environment name {name:?} may only use letters, digits, '-' and '.'"));
    }
    Ok(())
}

/// Computes the environment `name` of type `vpc_type`. Every problem is reported with the line of
/// the option it comes from.
pub fn desired(
    vpc: &VpcConfig,
    name: &str,
    vpc_type: &str,
    extra_tags: &BTreeMap<String, String>,
    facts: &RegionFacts,
) -> Result<EnvironmentSpec, Diagnostics> {
    let path = vpc.ini.path.clone();
    let mut errors = Vec::new();
    let opt = |key: &str| vpc.option(name, vpc_type, key).filter(|r| !r.value.is_empty());

    // Metanetwork specs.
    let mut specs = BTreeMap::new();
    for meta in Metanetwork::ALL {
        if let Some(r) = opt(&format!("{meta}_cidr")) {
            match MetaCidrSpec::parse(&r.value) {
                Ok(s) => {
                    specs.insert(meta, s);
                }
                Err(e) => fail(&mut errors, &path, Some(&r), format!("{meta}_cidr: {e}")),
            }
        }
    }
    if specs.is_empty() && errors.is_empty() {
        fail(
            &mut errors,
            &path,
            None,
            format!("environment type {vpc_type:?} has no metanetwork (no [envtype:{vpc_type}] with a *_cidr)"),
        );
    }

    // Zones.
    let zones = match (opt("availability_zones"), opt("az_count")) {
        (Some(r), _) => {
            let list: Vec<String> = r.value.split_whitespace().map(str::to_string).collect();
            if let Some(bad) = list.iter().find(|z| !facts.zones.contains(z)) {
                fail(
                    &mut errors,
                    &path,
                    Some(&r),
                    format!("availability zone {bad} is not in this region ({})", facts.zones.join(" ")),
                );
            }
            list
        }
        (None, count) => {
            let n = match count.as_ref().map(|r| r.value.parse::<usize>()) {
                None => DEFAULT_AZ_COUNT,
                Some(Ok(n)) if n >= 1 => n,
                Some(_) => {
                    fail(&mut errors, &path, count.as_ref(), "az_count must be a positive number".into());
                    DEFAULT_AZ_COUNT
                }
            };
            if facts.zones.len() < n {
                fail(
                    &mut errors,
                    &path,
                    count.as_ref(),
                    format!("{n} availability zones wanted, the region has {}", facts.zones.len()),
                );
            }
            facts.zones.iter().take(n).cloned().collect()
        }
    };

    // VPC CIDR.
    let cidr_of = |key: &str| opt(key).map(|r| (parse_cidr(&r.value), r));
    let mut parsed = |key: &str| match cidr_of(key) {
        None => None,
        Some((Ok(c), _)) => Some(c),
        Some((Err(e), r)) => {
            errors.push(Diagnostic::error(&path, Some(r.line), format!("{key}: {e}")));
            None
        }
    };
    let static_vpc = parsed("vpc_cidr");
    let ip_space = parsed("ip_space");
    let size = opt("vpc_cidr_size").and_then(|r| r.value.parse::<u8>().ok());
    let computed = match facts.existing_cidr {
        Some(cidr) => Ok(cidr),
        None => vpc_cidr(static_vpc, ip_space, size, &facts.vpc_cidrs),
    };
    let vpc_cidr = match computed {
        Ok(c) => Some(c),
        Err(e) => {
            errors.push(Diagnostic::error(
                &path,
                opt("vpc_cidr").or_else(|| opt("ip_space")).map(|r| r.line),
                e.to_string(),
            ));
            None
        }
    };
    // Without CIDRs the checks that do not need them still run: every problem is reported at once.
    let meta_cidrs = match vpc_cidr.map(|v| metanetwork_cidrs(v, &specs)) {
        Some(Ok(cidrs)) => cidrs,
        Some(Err(e)) => {
            // At the line of the metanetwork at fault, else of the first one.
            let at_fault = match &e {
                NetError::MetaOutsideVpc { meta, .. } | NetError::NoFreeMetaCidr { meta, .. } => Some(*meta),
                NetError::MetaOverlap { first, .. } => Some(*first),
                _ => None,
            };
            let line = at_fault
                .and_then(|m| opt(&format!("{m}_cidr")))
                .or_else(|| Metanetwork::ALL.iter().find_map(|m| opt(&format!("{m}_cidr"))))
                .map(|r| r.line);
            errors.push(Diagnostic::error(&path, line, e.to_string()));
            BTreeMap::new()
        }
        None => BTreeMap::new(),
    };
    let configured: BTreeSet<Metanetwork> = specs.keys().copied().collect();

    let customer_ports = opt("customer_ports");
    let customer = CustomerPorts::parse(
        customer_ports.as_ref().map_or("", |r| r.value.as_str()),
        opt("customer_cidr").map_or(String::new(), |r| r.value).as_str(),
    )
    .unwrap_or_else(|e| {
        errors.push(Diagnostic::error(&path, customer_ports.as_ref().map(|r| r.line), format!("customer_ports: {e}")));
        CustomerPorts::default()
    });
    let nat_routes: BTreeMap<Metanetwork, Metanetwork> = match opt("nat_gateway_routes") {
        None => BTreeMap::new(),
        Some(r) => {
            match parse_nat_routes(&r.value) {
                Ok(pairs) => {
                    for (src, dst) in &pairs {
                        if !configured.contains(src) || !configured.contains(dst) {
                            errors.push(Diagnostic::error(&path, Some(r.line), format!("nat_gateway_routes: {src}/{dst} names a metanetwork this environment does not have")));
                        }
                    }
                    pairs.into_iter().collect()
                }
                Err(e) => {
                    errors.push(Diagnostic::error(&path, Some(r.line), format!("nat_gateway_routes: {e}")));
                    BTreeMap::new()
                }
            }
        }
    };

    let mut metanetworks = BTreeMap::new();
    let mut nats = BTreeMap::new();
    for &meta in &configured {
        let cidr = meta_cidrs.get(&meta).copied();
        let subnets = match cidr.map(|c| split_for_zones(c, zones.len().max(1))) {
            Some(Ok(s)) => s,
            Some(Err(e)) => {
                errors.push(Diagnostic::error(
                    &path,
                    opt(&format!("{meta}_cidr")).map(|r| r.line),
                    format!("{meta}: {e}"),
                ));
                Vec::new()
            }
            None => Vec::new(),
        };
        let rules_opt = opt(&format!("{meta}_sg_rules"));
        let sg_rules =
            expand_sg_rules(meta, rules_opt.as_ref().map_or("", |r| r.value.as_str()), &configured, &customer)
                .unwrap_or_else(|e| {
                    let line = rules_opt.as_ref().or(customer_ports.as_ref()).map(|r| r.line);
                    errors.push(Diagnostic::error(&path, line, format!("{meta}_sg_rules: {e}")));
                    BTreeSet::new()
                });
        let mut routes = |suffix: &str| match opt(&format!("{meta}{suffix}")) {
            None => Vec::new(),
            Some(r) => parse_route_list(&r.value).unwrap_or_else(|e| {
                errors.push(Diagnostic::error(&path, Some(r.line), format!("{meta}{suffix}: {e}")));
                Vec::new()
            }),
        };
        let igw_routes = routes("_igw_routes");
        let vgw_routes = routes("_vgw_routes");
        let nat_gateways = match opt(&format!("{meta}_nat_gateways")) {
            None => NatGateways::None,
            Some(r) => NatGateways::parse(&r.value)
                .and_then(|n| crate::net::check_static_count(&n, zones.len()).map(|()| n))
                .unwrap_or_else(|e| {
                    errors.push(Diagnostic::error(&path, Some(r.line), format!("{meta}_nat_gateways: {e}")));
                    NatGateways::None
                }),
        };
        nats.insert(meta, nat_gateways.clone());
        let (Some(cidr), false) = (cidr, subnets.is_empty()) else { continue };
        let subnets = zones
            .iter()
            .zip(subnets)
            .map(|(zone, cidr)| SubnetSpec { zone: zone.clone(), cidr, name: format!("{name}_{meta}_{zone}") })
            .collect();
        metanetworks.insert(
            meta,
            MetanetworkSpec {
                meta,
                cidr,
                sg_name: format!("{name}_{meta}"),
                subnets,
                sg_rules,
                igw_routes,
                vgw_routes,
                nat_gateways,
                nat_route_via: nat_routes.get(&meta).copied(),
            },
        );
    }
    for (src, dst) in &nat_routes {
        if nats.get(dst) == Some(&NatGateways::None) {
            let line = opt("nat_gateway_routes").map(|r| r.line);
            errors.push(Diagnostic::error(
                &path,
                line,
                format!("nat_gateway_routes: {src}/{dst} needs NAT gateways in {dst}"),
            ));
        }
    }

    // NTP by offset needs the subnets; without CIDRs its error would only repeat the CIDR one.
    let dhcp =
        if meta_cidrs.is_empty() { DhcpSpec::default() } else { dhcp(vpc, name, vpc_type, &metanetworks, &mut errors) };
    let Some(vpc_cidr) = vpc_cidr.filter(|_| errors.is_empty()) else {
        return Err(Diagnostics(errors));
    };
    let mut tags =
        BTreeMap::from([("application".to_string(), opt("application").map(|r| r.value).unwrap_or_default())]);
    tags.extend(extra_tags.iter().map(|(k, v)| (k.clone(), v.clone())));
    // `Name` and `type` are what every tool finds the environment by: extra tags never override them
    // (Asiaq let `--tag Name:x` make a second VPC named like another, reference §1.8).
    tags.insert("Name".to_string(), name.to_string());
    tags.insert("type".to_string(), vpc_type.to_string());
    Ok(EnvironmentSpec {
        name: name.into(),
        vpc_type: vpc_type.into(),
        cidr: vpc_cidr,
        zones,
        tags,
        metanetworks,
        dhcp,
        interfaces: Vec::new(),
    })
}

fn fail(errors: &mut Vec<Diagnostic>, path: &std::path::Path, at: Option<&Resolved>, message: String) {
    errors.push(Diagnostic::error(path, at.map(|r| r.line), message));
}

fn dhcp(
    vpc: &VpcConfig,
    name: &str,
    vpc_type: &str,
    metanetworks: &BTreeMap<Metanetwork, MetanetworkSpec>,
    errors: &mut Vec<Diagnostic>,
) -> DhcpSpec {
    let opt = |key: &str| vpc.option(name, vpc_type, key).filter(|r| !r.value.is_empty());
    let mut dns_servers: Vec<String> = Vec::new();
    for server in ["internal_dns", "external_dns"].iter().filter_map(|k| opt(k).map(|r| r.value)) {
        // AmazonProvidedDNS twice (Asiaq's sample) is one server.
        if !dns_servers.contains(&server) {
            dns_servers.push(server);
        }
    }
    let ntp_servers = match (opt("ntp_server"), opt("ntp_server_metanetwork"), opt("ntp_server_offset")) {
        (Some(r), _, _) => r.value.split_whitespace().map(str::to_string).collect(),
        (None, Some(m), Some(o)) => {
            let address = Metanetwork::from_name(&m.value)
                .and_then(|meta| metanetworks.get(&meta))
                .ok_or_else(|| format!("ntp_server_metanetwork {} is not configured", m.value))
                .and_then(|spec| match parse_ip_spec(&o.value) {
                    Ok(IpSpec::Offset(offset)) => {
                        let nets: Vec<Ipv4Network> = spec.subnets.iter().map(|s| s.cidr).collect();
                        ip_by_offset(&nets, offset).map_err(|e| e.to_string())
                    }
                    _ => Err(format!("ntp_server_offset {:?} is not an offset like +5", o.value)),
                });
            match address {
                Ok(a) => vec![a.to_string()],
                Err(e) => {
                    errors.push(Diagnostic::error(&vpc.ini.path, Some(o.line), e));
                    Vec::new()
                }
            }
        }
        _ => Vec::new(),
    };
    DhcpSpec { domain_name: opt("domain_name").map(|r| r.value), dns_servers, ntp_servers }
}

pub(crate) fn as_string<S: serde::Serializer>(cidr: &Ipv4Network, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(cidr)
}

pub(crate) fn all_as_strings<S: serde::Serializer>(cidrs: &[Ipv4Network], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(cidrs.iter().map(ToString::to_string))
}

#[cfg(test)]
mod tests;
