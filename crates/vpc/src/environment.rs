//! What every environment command needs: vpc.ini, the environment's VPC, the desired shape.

use anyhow::Context as _;
use sila_cli::{Settings, UsageError};
use sila_cloud::ec2::{Ec2Filter, VpcSummary};
use sila_cloud::Clients;
use sila_core::config::{AwsConfig, VpcConfig};
use sila_core::environment::{desired, floating_interfaces, EnvironmentSpec, RegionFacts, IDENTITY_TAGS};
use std::collections::BTreeMap;

/// `--name N` or `--vpc-id ID`: which environment.
#[derive(Debug, Clone, clap::Args)]
#[group(required = true, multiple = false)]
pub struct Target {
    /// The environment's name (the VPC's `Name` tag)
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,
    /// The environment's VPC id
    #[arg(long, value_name = "VPC_ID")]
    pub vpc_id: Option<String>,
}

/// `vpc.ini` (or `disco_vpc.ini`) of the config dir; an error naming the directory when there is none.
pub fn vpc_config(settings: &Settings) -> anyhow::Result<&VpcConfig> {
    settings.vpc()?.with_context(|| {
        format!(
            "no vpc.ini, config/vpc.ini or disco_vpc.ini in {} (set --config-dir or SILA_CONFIG_DIR)",
            settings.config_dir.root.display()
        )
    })
}

/// Refuses a `--type` that vpc.ini does not describe.
pub fn known_type(vpc: &VpcConfig, vpc_type: &str) -> anyhow::Result<()> {
    if vpc.has_envtype(vpc_type) {
        return Ok(());
    }
    let types: Vec<&str> = vpc.envtypes().collect();
    Err(UsageError(format!(
        "unknown --type {vpc_type}: {} has no [envtype:{vpc_type}] (types: {})",
        vpc.ini.path.display(),
        types.join(", ")
    ))
    .into())
}

/// `--tag key:value` (split on the first `:`); never `Name` or `type`, which every tool finds the
/// environment by (`--name` and `--type` set them).
pub fn parse_tag(value: &str) -> Result<(String, String), String> {
    match value.split_once(':') {
        Some((k, _)) if IDENTITY_TAGS.contains(&k.trim()) => {
            Err(format!("{value:?}: the {} tag is set by --{}, not --tag", k.trim(), k.trim().to_ascii_lowercase()))
        }
        Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_string(), v.trim().to_string())),
        _ => Err(format!("{value:?} is not key:value")),
    }
}

/// The VPCs named exactly `name` (normally one).
pub async fn find_by_name(clients: &Clients, name: &str) -> anyhow::Result<Vec<VpcSummary>> {
    Ok(clients.describe_vpcs(&[Ec2Filter::eq("tag:Name", name)]).await?)
}

/// The environment's VPC, which must exist and be exactly one, and be an environment (a VPC with a
/// `type` tag): Sila never touches a VPC it cannot tell is one of its environments.
pub async fn find(clients: &Clients, target: &Target) -> anyhow::Result<VpcSummary> {
    check_target(target)?;
    let found = match (&target.name, &target.vpc_id) {
        (Some(name), _) => find_by_name(clients, name).await?,
        (None, Some(id)) => clients.describe_vpcs_by_id(id).await?,
        (None, None) => Vec::new(),
    };
    let what = target.name.as_deref().or(target.vpc_id.as_deref()).unwrap_or_default();
    match found.as_slice() {
        [] => Err(UsageError(format!("no environment {what} in {}", clients.region())).into()),
        [vpc] if vpc.vpc_type.is_none() || vpc.name.is_none() => {
            Err(anyhow::anyhow!("{} is not an environment (no Name and type tags); Sila leaves it alone", vpc.vpc_id))
        }
        [vpc] => Ok(vpc.clone()),
        many => {
            let ids: Vec<&str> = many.iter().map(|v| v.vpc_id.as_str()).collect();
            Err(anyhow::anyhow!("{} VPCs are named {what} ({}); pass --vpc-id", many.len(), ids.join(", ")))
        }
    }
}

/// Refuses a `--name` or `--vpc-id` that could match anything but one environment.
pub fn check_target(target: &Target) -> Result<(), UsageError> {
    if let Some(name) = &target.name {
        sila_cli::check_environment_name("--name", name)?;
    }
    if let Some(id) = &target.vpc_id {
        let hex = id.strip_prefix("vpc-").unwrap_or_default();
        if hex.is_empty() || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err(UsageError(format!("--vpc-id {id:?} is not a VPC id (vpc- and hexadecimal digits)")));
        }
    }
    Ok(())
}

/// The desired shape of environment `name` of `vpc_type`, with the region's facts read from AWS.
pub async fn desired_shape(
    clients: &Clients,
    vpc: &VpcConfig,
    name: &str,
    vpc_type: &str,
    tags: &BTreeMap<String, String>,
    existing: Option<&VpcSummary>,
) -> anyhow::Result<EnvironmentSpec> {
    let existing_cidr = match existing {
        Some(v) => Some(v.cidr.parse().with_context(|| format!("{} has CIDR {:?}", v.vpc_id, v.cidr))?),
        None => None,
    };
    // Dynamic CIDRs must avoid every VPC of the region, whoever owns it (not needed for an existing one).
    let state = Ec2Filter { name: "state".into(), values: vec!["available".into(), "pending".into()] };
    let others = async {
        match existing {
            Some(_) => Ok(Vec::new()),
            None => clients.describe_vpcs(&[state]).await,
        }
    };
    let (zones, others) = tokio::try_join!(clients.availability_zones(), others)?;
    let vpc_cidrs = others.iter().filter_map(|v| v.cidr.parse().ok()).collect();
    let facts = RegionFacts { zones, vpc_cidrs, existing_cidr };
    desired(vpc, name, vpc_type, tags, &facts).map_err(|d| anyhow::anyhow!("{d}"))
}

/// Adds the floating interfaces of hostclasses with static IPs to `spec`; returns notes about
/// addresses that do not apply to this environment.
pub fn with_interfaces(spec: &mut EnvironmentSpec, aws: Option<&AwsConfig>) -> anyhow::Result<Vec<String>> {
    let Some(aws) = aws else { return Ok(Vec::new()) };
    let (interfaces, skipped) = floating_interfaces(spec, aws).map_err(|d| anyhow::anyhow!("{d}"))?;
    spec.interfaces = interfaces;
    Ok(skipped.iter().map(ToString::to_string).collect())
}
