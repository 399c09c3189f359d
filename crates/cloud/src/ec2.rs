//! EC2 finders and actions, returning plain Sila types.

use crate::error::CloudError;
use crate::Clients;
use aws_sdk_ec2::types::{Filter, Tag};
use serde::Serialize;
use std::collections::BTreeMap;

/// A VPC as Sila sees it: id, CIDR, state and tags (`Name` is the environment, `type` its type).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VpcSummary {
    /// `vpc-...`.
    pub vpc_id: String,
    /// Primary IPv4 CIDR.
    pub cidr: String,
    /// `pending` or `available`.
    pub state: String,
    /// The `Name` tag: the environment name.
    pub name: Option<String>,
    /// The `type` tag: the environment type.
    pub vpc_type: Option<String>,
    /// Every tag.
    pub tags: BTreeMap<String, String>,
}

/// A describe filter: `name` matches any of `values` (EC2 filter semantics).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ec2Filter {
    /// Filter name, e.g. `tag:type` or `vpc-id`.
    pub name: String,
    /// Accepted values.
    pub values: Vec<String>,
}

impl Ec2Filter {
    /// `name` = `value`.
    pub fn eq(name: impl Into<String>, value: impl Into<String>) -> Self {
        Self { name: name.into(), values: vec![value.into()] }
    }

    fn to_sdk(&self) -> Filter {
        Filter::builder().name(&self.name).set_values(Some(self.values.clone())).build()
    }
}

fn tag_map(tags: &[Tag]) -> BTreeMap<String, String> {
    tags.iter().filter_map(|t| Some((t.key()?.to_string(), t.value().unwrap_or_default().to_string()))).collect()
}

impl Clients {
    /// VPCs matching every filter (all VPCs of the region when `filters` is empty), sorted by name
    /// then id. Paginated.
    pub async fn describe_vpcs(&self, filters: &[Ec2Filter]) -> Result<Vec<VpcSummary>, CloudError> {
        let mut request = self.ec2.describe_vpcs();
        for f in filters {
            request = request.filters(f.to_sdk());
        }
        let mut pages = request.into_paginator().items().send();
        let mut vpcs = Vec::new();
        while let Some(vpc) = pages.try_next().await.map_err(|e| CloudError::from_sdk("DescribeVpcs", e))? {
            let tags = tag_map(vpc.tags());
            vpcs.push(VpcSummary {
                vpc_id: vpc.vpc_id().unwrap_or_default().to_string(),
                cidr: vpc.cidr_block().unwrap_or_default().to_string(),
                state: vpc.state().map(|s| s.as_str().to_string()).unwrap_or_default(),
                name: tags.get("Name").cloned(),
                vpc_type: tags.get("type").cloned(),
                tags,
            });
        }
        vpcs.sort_by(|a, b| (&a.name, &a.vpc_id).cmp(&(&b.name, &b.vpc_id)));
        Ok(vpcs)
    }
}
