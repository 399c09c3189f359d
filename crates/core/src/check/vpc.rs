//! `vpc.ini`: every value's grammar, and for each `[envtype:X]` the whole network plan (VPC and
//! metanetwork CIDRs, AZ subnets, SG rules, NAT, NTP, static IPs of hostclasses) computed offline.

use crate::config::{AwsConfig, VpcConfig};
use crate::diag::{Diagnostic, Diagnostics};
use crate::environment::{desired, floating_interfaces, RegionFacts, DEFAULT_AZ_COUNT};
use crate::ini::{Entry, Section};
use crate::net::{
    has_host_bits, parse_cidr, parse_ip_spec, parse_nat_routes, parse_peering, parse_route_list, parse_sg_rules,
    CustomerPorts, IpSpec, MetaCidrSpec, Metanetwork, NatGateways,
};
use std::collections::BTreeMap;
use std::path::Path;

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
            plan(vpc, section, vpc_type, aws, out);
        } else if let Some(name) = section.name.strip_prefix("env:") {
            syntax(&path, section, out);
            env_plan(vpc, section, name, aws, out);
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

/// The zones to plan with offline: the listed ones, or as many placeholders as `az_count` asks.
fn zones(vpc: &VpcConfig, name: &str, vpc_type: &str) -> Vec<String> {
    let value = |key: &str| vpc.option(name, vpc_type, key).map(|r| r.value).filter(|v| !v.trim().is_empty());
    if let Some(zones) = value("availability_zones") {
        return zones.split_whitespace().map(str::to_string).collect();
    }
    let count = value("az_count").and_then(|v| v.parse().ok()).filter(|n| (1..=16).contains(n));
    (1..=count.unwrap_or(DEFAULT_AZ_COUNT)).map(|i| format!("zone-{i}")).collect()
}

/// The whole environment of this type as `create` computes it (for an environment named like its
/// type, Asiaq's convention: the `ci` environment is of type `ci`), with the same code `create` uses.
fn plan(vpc: &VpcConfig, section: &Section, vpc_type: &str, aws: Option<&AwsConfig>, out: &mut Vec<Diagnostic>) {
    plan_environment(vpc, section, vpc_type, vpc_type, aws, out);
}

/// The environment `name` of type `vpc_type` as `create` computes it; `section` is where a problem
/// without a line of its own is reported.
fn plan_environment(
    vpc: &VpcConfig,
    section: &Section,
    name: &str,
    vpc_type: &str,
    aws: Option<&AwsConfig>,
    out: &mut Vec<Diagnostic>,
) {
    let path = &vpc.ini.path;
    let value = |key: &str| vpc.option(name, vpc_type, key).map(|r| r.value).filter(|v| !v.is_empty());
    let dynamic = value("vpc_cidr").is_none();
    let statics =
        Metanetwork::ALL.iter().filter_map(|m| value(&format!("{m}_cidr"))).any(|v| !v.eq_ignore_ascii_case("auto"));
    if dynamic && statics {
        out.push(Diagnostic::warning(
            path,
            Some(section.line),
            "static metanetwork CIDRs with a dynamic VPC CIDR must fit whichever block the VPC gets",
        ));
        return;
    }
    let facts = RegionFacts { zones: zones(vpc, name, vpc_type), vpc_cidrs: Vec::new(), existing_cidr: None };
    let spec = match desired(vpc, name, vpc_type, &BTreeMap::new(), &facts) {
        Ok(spec) => spec,
        Err(Diagnostics(problems)) => {
            out.extend(problems);
            return;
        }
    };
    if let Some(aws) = aws {
        ami_stage(path, section, aws, out);
        match floating_interfaces(&spec, aws) {
            Ok((_, skipped)) => out.extend(skipped),
            Err(Diagnostics(problems)) => out.extend(problems),
        }
    }
}

/// An `[env:NAME]` section changes the environment NAME, whatever its type: its values are planned
/// together with each type it may have (the `[envtype:NAME]` of the same name when there is one,
/// Asiaq's convention, else every type), and what that finds beyond the type's own problems is
/// reported as this section's (a metanetwork CIDR outside its `vpc_cidr`, overlapping metanetworks,
/// rules naming a metanetwork the environment does not have, ...).
fn env_plan(vpc: &VpcConfig, section: &Section, name: &str, aws: Option<&AwsConfig>, out: &mut Vec<Diagnostic>) {
    let path = &vpc.ini.path;
    if let Err(e) = crate::environment::validate_name(name) {
        out.push(Diagnostic::warning(path, Some(section.line), format!("[{}] never applies: {e}", section.name)));
        return;
    }
    let types: Vec<&str> = match vpc.has_envtype(name) {
        true => vec![name],
        false => vpc.envtypes().collect(),
    };
    if types.is_empty() {
        out.push(Diagnostic::warning(
            path,
            Some(section.line),
            format!("[{}]: no [envtype:...] section to combine it with", section.name),
        ));
        return;
    }
    for vpc_type in types {
        // The type's own problems are reported at its section; here only what the env section adds.
        let mut own = Vec::new();
        if let Some(envtype) = vpc.ini.section(&format!("envtype:{vpc_type}")) {
            plan_environment(vpc, envtype, vpc_type, vpc_type, aws, &mut own);
        }
        let mut combined = Vec::new();
        plan_environment(vpc, section, name, vpc_type, aws, &mut combined);
        let at_type = |d: &Diagnostic| own.iter().any(|o| o.message == d.message);
        for d in combined.into_iter().filter(|d| !at_type(d)) {
            // Problems without a line are the section's; one the syntax check found is not repeated.
            let line = d.line.or(Some(section.line));
            if out.iter().any(|o| o.line == line && o.message == d.message) {
                continue;
            }
            let message = format!("[{}] as type {vpc_type}: {}", section.name, d.message);
            out.push(Diagnostic { message, line, ..d });
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
