//! Filtered, paginated finders that several parts of the adapter need (environments, peerings,
//! destroy), so each describe is written once.

use crate::error::CloudError;
use crate::Clients;
use aws_sdk_ec2::types::{Filter, NatGateway, RouteTable, SecurityGroup, Subnet};

/// An EC2 filter: `name` matches any of `values`.
pub(crate) fn filter(name: &str, values: &[&str]) -> Filter {
    Filter::builder().name(name).set_values(Some(values.iter().map(ToString::to_string).collect())).build()
}

/// Sends a paginated request and collects every item; errors are classified as operation `$op`.
macro_rules! paginated {
    ($request:expr, $op:literal) => {
        $request.into_paginator().items().send().try_collect().await.map_err(|e| $crate::CloudError::from_sdk($op, e))
    };
}
pub(crate) use paginated;

impl Clients {
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
