//! EC2 finders and actions, returning plain Sila types.

use crate::error::Classify as _;
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

/// Tags at creation, for one kind of resource.
pub(crate) fn tag_spec<'a>(
    kind: aws_sdk_ec2::types::ResourceType,
    tags: impl IntoIterator<Item = (&'a String, &'a String)>,
) -> aws_sdk_ec2::types::TagSpecification {
    let mut spec = aws_sdk_ec2::types::TagSpecification::builder().resource_type(kind);
    for (k, v) in tags {
        spec = spec.tags(Tag::builder().key(k).value(v).build());
    }
    spec.build()
}

/// A VPC in Sila's terms.
fn summary(vpc: &aws_sdk_ec2::types::Vpc) -> VpcSummary {
    let tags = tag_map(vpc.tags());
    VpcSummary {
        vpc_id: vpc.vpc_id().unwrap_or_default().to_string(),
        cidr: vpc.cidr_block().unwrap_or_default().to_string(),
        state: vpc.state().map(|s| s.as_str().to_string()).unwrap_or_default(),
        name: tags.get("Name").cloned(),
        vpc_type: tags.get("type").cloned(),
        tags,
    }
}

/// An EC2 tag list as a map.
pub(crate) fn tag_map(tags: &[Tag]) -> BTreeMap<String, String> {
    tags.iter().filter_map(|t| Some((t.key()?.to_string(), t.value().unwrap_or_default().to_string()))).collect()
}

impl Clients {
    /// VPCs matching every filter (all VPCs of the region when `filters` is empty), sorted by name
    /// then id. Paginated. A `tag:K` filter matches its values exactly: a value with a wildcard
    /// character is refused, and the answer's tags are compared again.
    pub async fn describe_vpcs(&self, filters: &[Ec2Filter]) -> Result<Vec<VpcSummary>, CloudError> {
        let mut request = self.ec2.describe_vpcs();
        let mut exact = Vec::new();
        for f in filters {
            if let Some(key) = f.name.strip_prefix("tag:") {
                for value in &f.values {
                    crate::finders::tag_eq("DescribeVpcs", key, value)?;
                }
                exact.push((key, &f.values));
            }
            request = request.filters(f.to_sdk());
        }
        let mut pages = request.into_paginator().items().send();
        let mut vpcs = Vec::new();
        while let Some(vpc) = pages.try_next().await.classify("DescribeVpcs")? {
            let vpc = summary(&vpc);
            if exact.iter().all(|(key, values)| vpc.tags.get(*key).is_some_and(|v| values.contains(v))) {
                vpcs.push(vpc);
            }
        }
        vpcs.sort_by(|a, b| (&a.name, &a.vpc_id).cmp(&(&b.name, &b.vpc_id)));
        Ok(vpcs)
    }
}

impl Clients {
    /// The VPC with id `id` (none when it does not exist); the id goes as an id, never as a filter.
    pub async fn describe_vpcs_by_id(&self, id: &str) -> Result<Vec<VpcSummary>, CloudError> {
        match self.ec2.describe_vpcs().vpc_ids(id).send().await.classify("DescribeVpcs") {
            Err(e) if e.kind == crate::ErrorKind::NotFound => Ok(Vec::new()),
            Err(e) => Err(e),
            Ok(out) => Ok(out.vpcs().iter().map(summary).collect()),
        }
    }
}

/// Where a route sends its traffic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RouteVia {
    /// An internet or VPN gateway (`igw-…`, `vgw-…`).
    Gateway(String),
    /// A NAT gateway (`nat-…`).
    NatGateway(String),
    /// A VPC peering connection (`pcx-…`).
    Peering(String),
}

/// Sets the target of a CreateRoute or ReplaceRoute request; the two builders differ only in type.
macro_rules! route_to {
    ($request:expr, $via:expr) => {
        match $via {
            RouteVia::Gateway(id) => $request.gateway_id(id),
            RouteVia::NatGateway(id) => $request.nat_gateway_id(id),
            RouteVia::Peering(id) => $request.vpc_peering_connection_id(id),
        }
    };
}

impl Clients {
    /// Adds the ingress `permissions` (one rule each) to group `group_id`, many in one call. Rules
    /// that exist already count as added: a run killed with the call in flight, or the request that
    /// lands after a lost answer, makes them exist while the plan says they do not, and AWS refuses
    /// the whole call for one duplicate. Then the rules go one call each, the duplicates skipped.
    pub(crate) async fn authorize_ingress(
        &self,
        group_id: &str,
        permissions: Vec<aws_sdk_ec2::types::IpPermission>,
    ) -> Result<(), CloudError> {
        let send = |permissions: Vec<aws_sdk_ec2::types::IpPermission>| async move {
            let sent = self
                .ec2
                .authorize_security_group_ingress()
                .group_id(group_id)
                .set_ip_permissions(Some(permissions))
                .send()
                .await
                .classify("AuthorizeSecurityGroupIngress");
            match sent {
                Err(e) if e.kind == crate::ErrorKind::AlreadyExists => Ok(false),
                other => other.map(|_| true),
            }
        };
        if send(permissions.clone()).await? || permissions.len() == 1 {
            return Ok(());
        }
        // One of them existed: the others go one by one.
        futures::future::try_join_all(permissions.into_iter().map(|p| send(vec![p]))).await?;
        Ok(())
    }

    /// Routes `destination` in route table `table` via `via`. A route for the destination that
    /// exists already (made by a run killed with the call in flight) is replaced, so the table ends
    /// as planned either way.
    pub(crate) async fn put_route(&self, table: &str, destination: &str, via: &RouteVia) -> Result<(), CloudError> {
        let request = self.ec2.create_route().route_table_id(table).destination_cidr_block(destination);
        match route_to!(request, via.clone()).send().await.classify("CreateRoute") {
            Err(e) if e.kind == crate::ErrorKind::AlreadyExists => self.replace_route(table, destination, via).await,
            other => other.map(drop),
        }
    }

    /// Points the existing route for `destination` in `table` at `via`.
    pub(crate) async fn replace_route(&self, table: &str, destination: &str, via: &RouteVia) -> Result<(), CloudError> {
        let request = self.ec2.replace_route().route_table_id(table).destination_cidr_block(destination);
        route_to!(request, via.clone()).send().await.classify("ReplaceRoute")?;
        Ok(())
    }
}
