//! `sila-vpc list`: every VPC of the region, or those of one type.

use clap::Args;
use sila_cli::{Settings, Table};
use sila_cloud::ec2::Ec2Filter;

/// Arguments of `list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Only environments of this type (the VPC's `type` tag)
    #[arg(long = "type", value_name = "TYPE")]
    pub vpc_type: Option<String>,
}

/// Lists VPCs: `VPC ID  NAME  TYPE  CIDR  STATE`, sorted by name; JSON with `--output json`.
pub async fn run(settings: &Settings, args: &ListArgs) -> anyhow::Result<()> {
    // The type goes into a tag filter, where `*` and `?` are wildcards: it is matched exactly.
    if let Some(t) = args.vpc_type.as_deref().filter(|t| t.is_empty() || t.contains(['*', '?', '\\'])) {
        return Err(sila_cli::UsageError(format!("--type {t:?}: a type is matched exactly, without wildcards")).into());
    }
    let clients = settings.clients().await?;
    let filters: Vec<Ec2Filter> = args.vpc_type.iter().map(|t| Ec2Filter::eq("tag:type", t.as_str())).collect();
    let vpcs = clients.describe_vpcs(&filters).await?;
    let mut table = Table::new(["VPC ID", "NAME", "TYPE", "CIDR", "STATE"]);
    for vpc in &vpcs {
        table.row([
            vpc.vpc_id.clone(),
            vpc.name.clone().unwrap_or_default(),
            vpc.vpc_type.clone().unwrap_or_default(),
            vpc.cidr.clone(),
            vpc.state.clone(),
        ]);
    }
    settings.printer().print(&table, &vpcs)?;
    Ok(())
}
