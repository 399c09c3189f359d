//! Filtered, paginated finders that several parts of the adapter need (environments, peerings,
//! destroy), so each describe is written once.

use crate::error::CloudError;
use crate::Clients;
use aws_sdk_ec2::types::{Filter, NatGateway, RouteTable, SecurityGroup, Subnet, VpcEndpoint};

/// An EC2 filter: `name` matches any of `values`.
pub(crate) fn filter(name: &str, values: &[&str]) -> Filter {
    Filter::builder().name(name).set_values(Some(values.iter().map(ToString::to_string).collect())).build()
}

/// Characters EC2 reads in a filter value as wildcards (`*`, `?`) or as their escape (`\\`).
const FILTER_WILDCARDS: [char; 3] = ['*', '?', '\\'];

/// A filter on tag `key` equal to `value`, for finding things by name. A value with a wildcard
/// character is refused rather than sent: `tag:Name=scr?tch` would match `scratch`. Callers also
/// compare the answer's tags exactly ([`has_tag`]).
pub(crate) fn tag_eq(op: &'static str, key: &str, value: &str) -> Result<Filter, CloudError> {
    if value.is_empty() || value.contains(FILTER_WILDCARDS) {
        return Err(CloudError {
            op,
            kind: crate::ErrorKind::Invalid,
            code: None,
            message: format!(
                "refusing to look for {key}={value:?}: EC2 reads '*', '?' and '\\' in a filter as wildcards"
            ),
            request_id: None,
        });
    }
    Ok(filter(&format!("tag:{key}"), &[value]))
}

/// True when `tags` has `key` set to exactly `value`.
pub(crate) fn has_tag(tags: &[aws_sdk_ec2::types::Tag], key: &str, value: &str) -> bool {
    tags.iter().any(|t| t.key() == Some(key) && t.value() == Some(value))
}

/// The one-line refusal of a name that more than one VPC carries, listing them.
pub(crate) fn ambiguous(op: &'static str, name: &str, ids: &[&str], hint: &str) -> CloudError {
    CloudError {
        op,
        kind: crate::ErrorKind::Ambiguous,
        code: None,
        message: format!("{} VPCs are named {name} ({}); {hint}", ids.len(), ids.join(", ")),
        request_id: None,
    }
}

/// Sends a paginated request and collects every item; errors are classified as operation `$op`.
macro_rules! paginated {
    ($request:expr, $op:literal) => {
        $request.into_paginator().items().send().try_collect().await.map_err(|e| $crate::CloudError::from_sdk($op, &e))
    };
}
pub(crate) use paginated;

/// A deletion whose target is already gone has done its job.
pub(crate) fn gone<T>(result: Result<T, CloudError>) -> Result<(), CloudError> {
    match result {
        Err(e) if e.kind != crate::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

/// A NAT gateway's id and the allocation ids of its addresses.
pub(crate) fn nat_allocations(n: &NatGateway) -> (String, Vec<String>) {
    let allocations = n.nat_gateway_addresses().iter().filter_map(|a| a.allocation_id().map(str::to_string)).collect();
    (n.nat_gateway_id().unwrap_or_default().to_string(), allocations)
}

/// A route table's id and the ids of its associations.
pub(crate) fn table_associations(t: &RouteTable) -> (String, Vec<String>) {
    let associations =
        t.associations().iter().filter_map(|a| a.route_table_association_id().map(str::to_string)).collect();
    (t.route_table_id().unwrap_or_default().to_string(), associations)
}

/// True for an endpoint on its way out (AWS shows deleted ones for a while).
pub(crate) fn endpoint_going(e: &VpcEndpoint) -> bool {
    e.state().is_some_and(|s| matches!(s.as_str().to_ascii_lowercase().as_str(), "deleted" | "deleting"))
}

impl Clients {
    /// Ids of the instances of VPC `vpc` that are not terminated (or terminating past return).
    pub(crate) async fn live_instances_in(&self, vpc: &str) -> Result<Vec<String>, CloudError> {
        let states = ["pending", "running", "stopping", "stopped", "shutting-down"];
        let request = self
            .ec2
            .describe_instances()
            .filters(filter("vpc-id", &[vpc]))
            .filters(filter("instance-state-name", &states));
        let reservations: Vec<aws_sdk_ec2::types::Reservation> = paginated!(request, "DescribeInstances")?;
        Ok(reservations
            .iter()
            .flat_map(|r| r.instances().iter().filter_map(|i| i.instance_id().map(str::to_string)))
            .collect())
    }

    /// Every subnet of VPC `vpc`.
    pub(crate) async fn subnets_in(&self, vpc: &str) -> Result<Vec<Subnet>, CloudError> {
        paginated!(self.ec2.describe_subnets().filters(filter("vpc-id", &[vpc])), "DescribeSubnets")
    }

    /// Every route table of VPC `vpc` (the main one included).
    pub(crate) async fn route_tables_in(&self, vpc: &str) -> Result<Vec<RouteTable>, CloudError> {
        paginated!(self.ec2.describe_route_tables().filters(filter("vpc-id", &[vpc])), "DescribeRouteTables")
    }

    /// Every security group of VPC `vpc` (`default` included).
    pub(crate) async fn groups_in(&self, vpc: &str) -> Result<Vec<SecurityGroup>, CloudError> {
        paginated!(self.ec2.describe_security_groups().filters(filter("vpc-id", &[vpc])), "DescribeSecurityGroups")
    }

    /// The metanetwork security groups of VPC `vpc` (those with a `meta_network` tag).
    pub(crate) async fn metanetwork_groups_in(&self, vpc: &str) -> Result<Vec<SecurityGroup>, CloudError> {
        paginated!(
            self.ec2
                .describe_security_groups()
                .filters(filter("vpc-id", &[vpc]))
                .filters(filter("tag-key", &["meta_network"])),
            "DescribeSecurityGroups"
        )
    }

    /// The NAT gateways of VPC `vpc` in one of `states`.
    pub(crate) async fn nat_gateways_in(&self, vpc: &str, states: &[&str]) -> Result<Vec<NatGateway>, CloudError> {
        paginated!(
            self.ec2.describe_nat_gateways().filter(filter("vpc-id", &[vpc])).filter(filter("state", states)),
            "DescribeNatGateways"
        )
    }
}
