//! Environments in EC2: reading what exists (every describe filtered by VPC id or tags), running
//! one step of a plan, and taking an environment apart: [`read`], [`steps`] and [`destroy`].

mod destroy;
mod read;
mod steps;

pub use sila_core::teardown::{LaunchTemplateRef, VpcContents};

use crate::ec2::RouteVia;
use crate::error::created;
use crate::error::Classify as _;
use crate::error::CloudError;
use crate::finders::{endpoint_going, filter, gone, has_tag, nat_allocations, paginated, table_associations, tag_eq};
use crate::Clients;
use aws_sdk_ec2::types::{
    AttributeBooleanValue, DomainType, Filter, IpPermission, IpRange, NewDhcpConfiguration, ResourceType, Tag,
    TagSpecification, UserIdGroupPair, VpcEndpointType,
};
use sila_core::net::{current_rule_ports, normalize_protocol, Metanetwork, SgRule, SgSource};
use sila_core::vpc_plan::{Key, LiveEnvironment, RouteTarget, Step};
use std::collections::BTreeMap;
use std::time::Duration;

/// How long to wait for a NAT gateway to become available or to go away.
pub const NAT_WAIT: Duration = Duration::from_secs(600);

/// Runs every future at once; the first error wins (the others still finish, so nothing is left
/// half-sent).
async fn all<F, T>(futures: impl IntoIterator<Item = F>) -> Result<(), CloudError>
where
    F: std::future::Future<Output = Result<T, CloudError>>,
{
    for result in futures::future::join_all(futures).await {
        result?;
    }
    Ok(())
}

/// The description of the network interfaces kept for static hostclass IPs (Asiaq's, kept so its
/// environments are recognized).
pub const FLOATING_INTERFACE: &str = "floating interface";

/// How long to wait for a VPN gateway to attach or detach.
pub const VGW_WAIT: Duration = Duration::from_secs(600);

fn tag_spec(kind: ResourceType, tags: &BTreeMap<String, String>) -> TagSpecification {
    crate::ec2::tag_spec(kind, tags)
}

fn tag<'a>(tags: &'a [Tag], key: &str) -> Option<&'a str> {
    tags.iter().find(|t| t.key() == Some(key)).and_then(Tag::value)
}

/// The `(metanetwork, zone)` a subnet, route table or NAT gateway belongs to, from its tags.
fn placement(tags: &[Tag]) -> Option<(Metanetwork, String)> {
    Some((Metanetwork::from_name(tag(tags, "meta_network")?)?, tag(tags, "subnet")?.to_string()))
}

/// The gateway or NAT gateway a route goes through, for both CreateRoute and ReplaceRoute.
fn route_target(
    target: &RouteTarget,
    zone: &str,
    id: &impl Fn(&Key) -> Result<String, CloudError>,
) -> Result<RouteVia, CloudError> {
    Ok(match target {
        RouteTarget::InternetGateway => RouteVia::Gateway(id(&Key::InternetGateway)?),
        RouteTarget::VpnGateway => RouteVia::Gateway(id(&Key::VpnGateway)?),
        RouteTarget::NatGateway(via) => {
            RouteVia::NatGateway(id(&Key::NatGateway { meta: *via, zone: zone.to_string() })?)
        }
    })
}

fn missing(what: &str) -> CloudError {
    CloudError {
        op: "plan",
        kind: crate::ErrorKind::Other,
        code: None,
        message: format!("{what} is not known yet (a step it depends on did not run)"),
        request_id: None,
    }
}

impl Clients {
    /// Availability zones of the region that are `available`, sorted by name.
    pub async fn availability_zones(&self) -> Result<Vec<String>, CloudError> {
        let out = self
            .ec2
            .describe_availability_zones()
            .filters(filter("state", &["available"]))
            .send()
            .await
            .classify("DescribeAvailabilityZones")?;
        let mut zones: Vec<String> =
            out.availability_zones().iter().filter_map(|z| z.zone_name().map(str::to_string)).collect();
        zones.sort();
        Ok(zones)
    }
}
