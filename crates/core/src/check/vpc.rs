//! `vpc.ini`: every value's grammar, and for each `[envtype:X]` the whole network plan (VPC and
//! metanetwork CIDRs, AZ subnets, SG rules, NAT, NTP, static IPs of hostclasses) computed offline.

use crate::config::{AwsConfig, VpcConfig};
use crate::diag::Diagnostic;
use crate::ini::{Entry, Section};
use crate::net::{
    check_static_count, expand_sg_rules, has_host_bits, ip_by_offset, metanetwork_cidrs, parse_cidr, parse_ip_spec,
    parse_nat_routes, parse_peering, parse_route_list, parse_sg_rules, split_for_zones, vpc_cidr, CustomerPorts,
    IpSpec, MetaCidrSpec, Metanetwork, NatGateways,
};
use ipnetwork::Ipv4Network;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// The number of availability zones when `az_count` is not set (Asiaq always used three).
pub const DEFAULT_AZ_COUNT: usize = 3;

const PLAIN_KEYS: &[&str] = &[
    "vpc_cidr",
    "ip_space",
    "vpc_cidr_size",
    "az_count",
    "availability_zones",
    "customer_ports",
    "customer_cidr",
    "nat_gateway_routes",
    "internal_dns",
    "external_dns",
    "domain_name",
    "ntp_server",
    "ntp_server_metanetwork",
    "ntp_server_offset",
    "ami_stage",
    "credential_buckets",
    "application",
];
const META_SUFFIXES: &[&str] = &["_cidr", "_sg_rules", "_igw_routes", "_vgw_routes", "_nat_gateways"];

pub(super) fn check(vpc: &VpcConfig, aws: Option<&AwsConfig>, out: &mut Vec<Diagnostic>) {
    let path = vpc.ini.path.clone();
    for section in vpc.ini.sections() {
        if let Some(vpc_type) = section.name.strip_prefix("envtype:") {
            syntax(&path, section, out);
            plan(&path, section, vpc_type, aws, out);
        } else if section.name.starts_with("env:") {
            syntax(&path, section, out);
        } else if section.name == "peerings" {
            peerings(vpc, section, out);
        } else {
            out.push(Diagnostic::warning(
                &path,
                Some(section.line),
                format!("unknown section [{}] (Sila reads [envtype:TYPE], [env:NAME] and [peerings])", section.name),
            ));
        }
    }
}

fn err(path: &Path, entry: &Entry, message: impl std::fmt::Display) -> Diagnostic {
    Diagnostic::error(path, Some(entry.line), message.to_string())
}

/// Each option on its own: known, and well formed.
fn syntax(path: &Path, section: &Section, out: &mut Vec<Diagnostic>) {
    for (key, entry) in section.options() {
        let v = entry.value.as_str();
        let meta_key = META_SUFFIXES
            .iter()
            .find_map(|suffix| key.strip_suffix(suffix).map(|m| (m, *suffix)))
            .filter(|(m, _)| Metanetwork::from_name(m).is_some());
        let result: Result<(), String> = match (key, meta_key) {
            (_, Some((_, "_cidr"))) if v.is_empty() => Ok(()),
            (_, Some((_, "_cidr"))) => MetaCidrSpec::parse(v).map(drop).map_err(|e| e.to_string()),
            (_, Some((_, "_sg_rules"))) => parse_sg_rules(v).map(drop).map_err(|e| e.to_string()),
            (_, Some((_, "_igw_routes" | "_vgw_routes"))) => routes(path, entry, out),
            (_, Some((_, "_nat_gateways"))) => NatGateways::parse(v).map(drop).map_err(|e| e.to_string()),
            ("vpc_cidr", _) => cidr(path, entry, out).and_then(|()| match parse_cidr(v) {
                Ok(c) if !(16..=28).contains(&c.prefix()) => {
                    Err(format!("AWS VPCs are /16 to /28, not /{}", c.prefix()))
                }
                _ => Ok(()),
            }),
            ("ip_space", _) => cidr(path, entry, out),
            ("vpc_cidr_size", _) => match v.parse::<u8>() {
                Ok(16..=28) => Ok(()),
                _ => Err(format!("vpc_cidr_size must be a prefix length from 16 to 28, not {v:?}")),
            },
            ("az_count", _) => match v.parse::<usize>() {
                Ok(1..=16) => Ok(()),
                _ => Err(format!("az_count must be a number of availability zones from 1 to 16, not {v:?}")),
            },
            ("availability_zones", _) if v.split_whitespace().next().is_none() => {
                Err("availability_zones is empty (list zone names, or remove it)".into())
            }
            ("customer_ports", _) => {
                CustomerPorts::parse(v, section.get("customer_cidr").map_or("", |e| e.value.as_str()))
                    .map(drop)
                    .map_err(|e| e.to_string())
            }
            ("nat_gateway_routes", _) => parse_nat_routes(v).map(drop).map_err(|e| e.to_string()),
            ("ntp_server_metanetwork", _) if Metanetwork::from_name(v).is_none() => {
                Err(format!("ntp_server_metanetwork {v:?} is not one of intranet, tunnel, dmz, maintenance"))
            }
            ("ntp_server_offset", _) => match parse_ip_spec(v) {
                Ok(IpSpec::Offset(_)) => Ok(()),
                _ => Err(format!("ntp_server_offset must be an offset like +5 or -2, not {v:?}")),
            },
            ("tunnel_key", _) => {
                out.push(Diagnostic::warning(path, Some(entry.line), "tunnel_key is not used by Asiaq or Sila"));
                Ok(())
            }
            (key, _) if PLAIN_KEYS.contains(&key) || meta_key.is_some() => Ok(()),
            (key, _) => {
                out.push(Diagnostic::warning(
                    path,
                    Some(entry.line),
                    format!("unknown option {key:?} in [{}], ignored", section.name),
                ));
                Ok(())
            }
        };
        if let Err(message) = result {
            out.push(err(path, entry, format!("{key}: {message}")));
        }
    }
}

fn cidr(path: &Path, entry: &Entry, out: &mut Vec<Diagnostic>) -> Result<(), String> {
    let cidr = parse_cidr(&entry.value).map_err(|e| e.to_string())?;
    if has_host_bits(&cidr) {
        out.push(Diagnostic::warning(
            path,
            Some(entry.line),
            format!("{} has host bits set; it means {}/{}", entry.value, cidr.network(), cidr.prefix()),
        ));
    }
    Ok(())
}

fn routes(path: &Path, entry: &Entry, out: &mut Vec<Diagnostic>) -> Result<(), String> {
    for route in parse_route_list(&entry.value).map_err(|e| e.to_string())? {
        if has_host_bits(&route) {
            out.push(Diagnostic::warning(
                path,
                Some(entry.line),
                format!("route {route} has host bits set; AWS routes {}/{}", route.network(), route.prefix()),
            ));
        }
    }
    Ok(())
}

/// The number of AZs an environment of this section spreads over.
fn az_count(section: &Section) -> usize {
    if let Some(zones) = section.get("availability_zones") {
        return zones.value.split_whitespace().count().max(1);
    }
    section
        .get("az_count")
        .and_then(|e| e.value.parse().ok())
        .filter(|n| (1..=16).contains(n))
        .unwrap_or(DEFAULT_AZ_COUNT)
}

/// The whole network of an environment type, as `create` would compute it.
fn plan(path: &Path, section: &Section, vpc_type: &str, aws: Option<&AwsConfig>, out: &mut Vec<Diagnostic>) {
    let get = |k: &str| section.get(k).filter(|e| !e.value.is_empty());
    let header = section.line;
    let mut specs = BTreeMap::new();
    for meta in Metanetwork::ALL {
        if let Some(entry) = get(&format!("{meta}_cidr")) {
            match MetaCidrSpec::parse(&entry.value) {
                Ok(spec) => {
                    specs.insert(meta, spec);
                }
                Err(_) => return, // already reported by `syntax`
            }
        }
    }
    if specs.is_empty() {
        out.push(Diagnostic::error(
            path,
            Some(header),
            format!(
                "[{}] has no metanetwork: set at least one of intranet_cidr, tunnel_cidr, dmz_cidr, maintenance_cidr",
                section.name
            ),
        ));
        return;
    }
    let configured: BTreeSet<Metanetwork> = specs.keys().copied().collect();
    let zones = az_count(section);

    // VPC and metanetwork CIDRs (for a dynamic VPC, as if it got the first block of its space).
    let parsed = |k: &str| get(k).and_then(|e| parse_cidr(&e.value).ok());
    let size = get("vpc_cidr_size").and_then(|e| e.value.parse::<u8>().ok());
    let dynamic = get("vpc_cidr").is_none();
    let statics = specs.values().any(|s| matches!(s, MetaCidrSpec::Static(_)));
    let metas = match vpc_cidr(parsed("vpc_cidr"), parsed("ip_space"), size, &[]) {
        Err(e) => {
            out.push(Diagnostic::error(path, Some(header), format!("[{}]: {e}", section.name)));
            None
        }
        Ok(_) if dynamic && statics => {
            out.push(Diagnostic::warning(
                path,
                Some(header),
                format!(
                    "[{}]: static metanetwork CIDRs with a dynamic VPC CIDR must fit whichever block the VPC gets",
                    section.name
                ),
            ));
            None
        }
        Ok(vpc) => match metanetwork_cidrs(vpc, &specs) {
            Ok(m) => Some(m),
            Err(e) => {
                let line = Metanetwork::ALL.iter().find_map(|m| get(&format!("{m}_cidr"))).map_or(header, |e| e.line);
                out.push(Diagnostic::error(path, Some(line), format!("[{}]: {e}", section.name)));
                None
            }
        },
    };
    let subnets: Option<BTreeMap<Metanetwork, Vec<Ipv4Network>>> = metas.as_ref().and_then(|metas| {
        let mut all = BTreeMap::new();
        for (meta, cidr) in metas {
            match split_for_zones(*cidr, zones) {
                Ok(s) => {
                    all.insert(*meta, s);
                }
                Err(e) => {
                    out.push(Diagnostic::error(
                        path,
                        Some(header),
                        format!("[{}] {meta} over {zones} zones: {e}", section.name),
                    ));
                    return None;
                }
            }
        }
        Some(all)
    });

    // Security-group rules, including the customer-port rules.
    let customer_entry = section.get("customer_ports");
    let customer = CustomerPorts::parse(
        customer_entry.map_or("", |e| e.value.as_str()),
        section.get("customer_cidr").map_or("", |e| e.value.as_str()),
    )
    .unwrap_or_default();
    for meta in Metanetwork::ALL {
        let key = format!("{meta}_sg_rules");
        let entry = section.get(&key);
        if !configured.contains(&meta) {
            for suffix in META_SUFFIXES.iter().filter(|s| **s != "_cidr") {
                if let Some(e) = get(&format!("{meta}{suffix}")) {
                    out.push(Diagnostic::warning(
                        path,
                        Some(e.line),
                        format!("{meta}{suffix} is ignored: this type has no {meta}_cidr"),
                    ));
                }
            }
            continue;
        }
        if let Err(e) = expand_sg_rules(meta, entry.map_or("", |e| e.value.as_str()), &configured, &customer) {
            let line = entry.or(customer_entry).map_or(header, |e| e.line);
            out.push(Diagnostic::error(path, Some(line), format!("{key}: {e}")));
        }
    }

    // NAT gateways and the routes through them.
    let mut nat = BTreeMap::new();
    for meta in &configured {
        if let Some(entry) = section.get(&format!("{meta}_nat_gateways")) {
            if let Ok(n) = NatGateways::parse(&entry.value) {
                if let Err(e) = check_static_count(&n, zones) {
                    out.push(err(path, entry, format!("{meta}_nat_gateways: {e}")));
                }
                nat.insert(*meta, n);
            }
        }
    }
    if let Some(entry) = get("nat_gateway_routes") {
        for (src, dst) in parse_nat_routes(&entry.value).unwrap_or_default() {
            for m in [src, dst] {
                if !configured.contains(&m) {
                    out.push(err(
                        path,
                        entry,
                        format!("nat_gateway_routes: {src}/{dst} names {m}, which this type does not have"),
                    ));
                }
            }
            if configured.contains(&dst) && nat.get(&dst).is_none_or(|n| *n == NatGateways::None) {
                out.push(err(
                    path,
                    entry,
                    format!("nat_gateway_routes: {src}/{dst} needs NAT gateways in {dst} (set {dst}_nat_gateways)"),
                ));
            }
        }
    }

    // NTP server by metanetwork offset.
    if get("ntp_server").is_none() {
        if let (Some(m), Some(o)) = (get("ntp_server_metanetwork"), get("ntp_server_offset")) {
            if let (Some(meta), Ok(IpSpec::Offset(offset))) =
                (Metanetwork::from_name(&m.value), parse_ip_spec(&o.value))
            {
                if !configured.contains(&meta) {
                    out.push(err(path, m, format!("ntp_server_metanetwork {meta} is not configured in this type")));
                } else if let Some(Err(e)) = subnets.as_ref().map(|s| ip_by_offset(&s[&meta], offset)) {
                    out.push(err(path, o, format!("ntp_server_offset: {e}")));
                }
            }
        }
    }

    if let Some(aws) = aws {
        ami_stage(path, section, aws, out);
        if let Some(subnets) = &subnets {
            static_ips(path, section, vpc_type, aws, subnets, out);
        }
    }
}

/// `ami_stage` must name stages from `[bake] ami_stages`.
fn ami_stage(path: &Path, section: &Section, aws: &AwsConfig, out: &mut Vec<Diagnostic>) {
    let (Some(entry), Some(stages)) = (section.get("ami_stage"), aws.ini.get("bake", "ami_stages")) else { return };
    let known: Vec<&str> = stages.value.split_whitespace().collect();
    for stage in entry.value.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        if !known.contains(&stage) {
            out.push(Diagnostic::warning(
                path,
                Some(entry.line),
                format!("ami_stage {stage:?} is not in [bake] ami_stages ({})", known.join(" ")),
            ));
        }
    }
}

/// Hostclasses with a static `ip_address` for an environment named like this type (Asiaq's
/// convention: the `ci` environment is of type `ci`) must get an address inside one of the subnets
/// of their metanetwork, or `create` cannot reserve it.
fn static_ips(
    path: &Path,
    section: &Section,
    env: &str,
    aws: &AwsConfig,
    subnets: &BTreeMap<Metanetwork, Vec<Ipv4Network>>,
    out: &mut Vec<Diagnostic>,
) {
    for hostclass in aws.hostclass_sections() {
        let Some(ip) = aws.hostclass_option(hostclass, "ip_address", Some(env)).filter(|r| !r.value.is_empty()) else {
            continue;
        };
        let meta_name = aws.hostclass_option(hostclass, "meta_network", Some(env)).map(|r| r.value).unwrap_or_default();
        let Some(meta) = Metanetwork::from_name(&meta_name) else { continue };
        let specific = ip.option.contains('@');
        let report = |message: String| {
            let at = Some(ip.line);
            if specific {
                Diagnostic::error(&aws.ini.path, at, message)
            } else {
                Diagnostic::warning(&aws.ini.path, at, message)
            }
        };
        let Some(nets) = subnets.get(&meta) else {
            out.push(report(format!(
                "[{hostclass}] {} is in {meta}, which [{}] in {} does not configure",
                ip.option,
                section.name,
                path.display()
            )));
            continue;
        };
        let addresses = match parse_ip_spec(&ip.value) {
            Ok(IpSpec::Offset(offset)) => match ip_by_offset(nets, offset) {
                Ok(a) => vec![a],
                Err(e) => {
                    out.push(report(format!("[{hostclass}] {} for environment {env}: {e}", ip.option)));
                    continue;
                }
            },
            Ok(IpSpec::Literal(list)) => list,
            Err(_) => continue, // reported by the aws.ini checks
        };
        for address in addresses {
            if !nets.iter().any(|n| n.contains(address)) {
                let list: Vec<String> = nets.iter().map(ToString::to_string).collect();
                out.push(report(format!(
                    "[{hostclass}] {} = {address} for environment {env} is outside its {meta} subnets ({})",
                    ip.option,
                    list.join(", ")
                )));
            }
        }
    }
}

/// `[peerings]`: each `connection_*` line parses; types should exist; other keys are Asiaq's quirk.
fn peerings(vpc: &VpcConfig, section: &Section, out: &mut Vec<Diagnostic>) {
    let path = &vpc.ini.path;
    for (key, entry) in section.options() {
        if !key.starts_with("connection_") {
            out.push(Diagnostic::warning(path, Some(entry.line), format!("{key} in [peerings] is not a connection_*; it only acts as a last-resort fallback for every environment")));
            continue;
        }
        match parse_peering(&entry.value) {
            Err(e) => out.push(err(path, entry, format!("{key}: {e}"))),
            Ok((a, b)) => {
                for end in [a, b] {
                    let Some(envtype) = vpc.ini.section(&format!("envtype:{}", end.vpc_type)) else {
                        out.push(Diagnostic::warning(
                            path,
                            Some(entry.line),
                            format!("{key}: no [envtype:{}] section", end.vpc_type),
                        ));
                        continue;
                    };
                    let has_meta =
                        envtype.get(&format!("{}_cidr", end.metanetwork)).is_some_and(|e| !e.value.is_empty());
                    if !has_meta {
                        out.push(err(
                            path,
                            entry,
                            format!("{key}: type {} has no {} metanetwork", end.vpc_type, end.metanetwork),
                        ));
                    }
                }
            }
        }
    }
}
