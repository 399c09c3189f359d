//! The steps of an environment's plan: the resources they name ([`Key`]), where routes send
//! traffic ([`RouteTarget`]), and each change ([`Step`]) as the plan prints it.

use crate::net::{Metanetwork, SgRule};
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt;

/// A resource of an environment, as the plan names it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Key {
    /// The VPC.
    Vpc,
    /// The internet gateway.
    InternetGateway,
    /// The internet gateway, attached to the VPC.
    InternetGatewayAttachment,
    /// The VPN gateway tagged with the environment's name (found, never created).
    VpnGateway,
    /// The VPN gateway, attached to the VPC.
    VpnGatewayAttachment,
    /// The environment's DHCP options set.
    DhcpOptions,
    /// The DHCP options set, associated with the VPC.
    DhcpAssociation,
    /// The security group of a metanetwork.
    SecurityGroup {
        /// Metanetwork.
        meta: Metanetwork,
    },
    /// A subnet.
    Subnet {
        /// Metanetwork.
        meta: Metanetwork,
        /// Availability zone.
        zone: String,
    },
    /// The route table of a subnet.
    RouteTable {
        /// Metanetwork.
        meta: Metanetwork,
        /// Availability zone.
        zone: String,
    },
    /// The rules a group no longer has, revoked.
    RulesRevoked {
        /// Metanetwork.
        meta: Metanetwork,
    },
    /// A NAT gateway that the config no longer wants, deleted (and its dynamic EIP released).
    NatGatewayGone {
        /// Metanetwork.
        meta: Metanetwork,
        /// Zone.
        zone: String,
    },
    /// A floating network interface, by its private address.
    Interface {
        /// The address.
        ip: String,
    },
    /// A NAT gateway (with its elastic IP).
    NatGateway {
        /// Metanetwork.
        meta: Metanetwork,
        /// Availability zone.
        zone: String,
    },
    /// The elastic IP (allocation) a new NAT gateway will use.
    NatAddress {
        /// Metanetwork.
        meta: Metanetwork,
        /// Availability zone.
        zone: String,
    },
}

/// Where a route sends traffic.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RouteTarget {
    /// The internet gateway.
    InternetGateway,
    /// The NAT gateway of this metanetwork in the same zone.
    NatGateway(Metanetwork),
    /// The VPN gateway.
    VpnGateway,
}

/// One change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Step {
    /// CreateVpc with its tags.
    CreateVpc {
        /// CIDR.
        cidr: String,
        /// Tags (including `create_date`).
        tags: BTreeMap<String, String>,
    },
    /// DNS support and DNS hostnames on the VPC.
    EnableDns,
    /// CreateInternetGateway.
    CreateInternetGateway {
        /// Tags.
        tags: BTreeMap<String, String>,
    },
    /// AttachInternetGateway.
    AttachInternetGateway,
    /// AttachVpnGateway (detaching it from another VPC first), then wait until attached.
    AttachVpnGateway {
        /// The VPC it is attached to now, if another one.
        detach_from: Option<String>,
    },
    /// CreateDhcpOptions.
    CreateDhcpOptions {
        /// AWS option key → values.
        configurations: BTreeMap<String, Vec<String>>,
        /// Tags.
        tags: BTreeMap<String, String>,
    },
    /// AssociateDhcpOptions with the VPC.
    AssociateDhcpOptions,
    /// DeleteDhcpOptions of a set the environment no longer uses.
    DeleteDhcpOptions {
        /// The set.
        id: String,
    },
    /// CreateSecurityGroup.
    CreateSecurityGroup {
        /// Metanetwork.
        meta: Metanetwork,
        /// Group name.
        name: String,
        /// Group description.
        description: String,
        /// Tags.
        tags: BTreeMap<String, String>,
    },
    /// AuthorizeSecurityGroupIngress with every missing rule of a group in one call.
    AuthorizeIngress {
        /// Metanetwork of the group.
        meta: Metanetwork,
        /// The rules.
        rules: Vec<SgRule>,
    },
    /// RevokeSecurityGroupIngress of every rule of a group that the config no longer has.
    RevokeIngress {
        /// Metanetwork of the group.
        meta: Metanetwork,
        /// The rules.
        rules: Vec<SgRule>,
    },
    /// CreateSubnet.
    CreateSubnet {
        /// Metanetwork.
        meta: Metanetwork,
        /// Zone.
        zone: String,
        /// CIDR.
        cidr: String,
        /// Tags.
        tags: BTreeMap<String, String>,
    },
    /// CreateRouteTable.
    CreateRouteTable {
        /// Metanetwork.
        meta: Metanetwork,
        /// Zone.
        zone: String,
        /// Tags.
        tags: BTreeMap<String, String>,
    },
    /// AssociateRouteTable with its subnet.
    AssociateRouteTable {
        /// Metanetwork.
        meta: Metanetwork,
        /// Zone.
        zone: String,
    },
    /// The elastic IP of a new NAT gateway: the configured static one (found by its address), or a
    /// dynamic one (a free one an interrupted run allocated, else AllocateAddress). A step of its
    /// own, so that it runs beside the VPC and its subnets rather than before the gateway.
    AllocateNatAddress {
        /// Metanetwork.
        meta: Metanetwork,
        /// Zone.
        zone: String,
        /// A static EIP (public address) to use, or none for a dynamic one.
        static_ip: Option<String>,
        /// Tags (of a dynamic EIP).
        tags: BTreeMap<String, String>,
    },
    /// CreateNatGateway with the address of its `AllocateNatAddress`, then wait until available.
    CreateNatGateway {
        /// Metanetwork.
        meta: Metanetwork,
        /// Zone.
        zone: String,
        /// A static EIP (public address) to use, or none for a dynamic one.
        static_ip: Option<String>,
        /// Tags (of the NAT gateway and of a dynamic EIP).
        tags: BTreeMap<String, String>,
    },
    /// CreateNetworkInterface with a fixed private address, for a hostclass's static IP.
    CreateInterface {
        /// The hostclass.
        hostclass: String,
        /// Metanetwork (subnet and security group).
        meta: Metanetwork,
        /// Zone of the subnet.
        zone: String,
        /// The address.
        ip: String,
        /// Tags.
        tags: BTreeMap<String, String>,
    },
    /// DeleteNatGateway (waiting until it is gone) and release its EIP when it was dynamic.
    /// Destructive: the metanetworks routed through it lose their way out until a new one is up.
    DeleteNatGateway {
        /// Metanetwork.
        meta: Metanetwork,
        /// Zone.
        zone: String,
        /// The gateway.
        id: String,
        /// Its EIP allocation, released with it (dynamic addresses only).
        release: Option<String>,
    },
    /// CreateRoute in one route table.
    CreateRoute {
        /// Metanetwork of the route table.
        meta: Metanetwork,
        /// Zone of the route table.
        zone: String,
        /// Destination CIDR.
        destination: String,
        /// Target.
        target: RouteTarget,
    },
    /// ReplaceRoute: same destination, another target.
    ReplaceRoute {
        /// Metanetwork of the route table.
        meta: Metanetwork,
        /// Zone of the route table.
        zone: String,
        /// Destination CIDR.
        destination: String,
        /// New target.
        target: RouteTarget,
    },
    /// DeleteRoute of a gateway route the config no longer has.
    DeleteRoute {
        /// Metanetwork of the route table.
        meta: Metanetwork,
        /// Zone of the route table.
        zone: String,
        /// Destination CIDR.
        destination: String,
    },
    /// CreateVpcEndpoint for S3 (gateway type), attached to every route table.
    CreateS3Endpoint,
    /// Delete a metanetwork the config dropped: its NAT gateways, route tables, subnets and
    /// security group. Destructive.
    RemoveMetanetwork {
        /// Metanetwork.
        meta: Metanetwork,
    },
}

impl Step {
    /// True for changes that delete or replace a subnet, route table, security group, gateway or the
    /// VPC, or take the VPN gateway away from the VPC it serves now: refused unless the operator
    /// allows destructive changes.
    pub fn is_destructive(&self) -> bool {
        matches!(
            self,
            Self::RemoveMetanetwork { .. }
                | Self::DeleteNatGateway { .. }
                | Self::AttachVpnGateway { detach_from: Some(_) }
        )
    }
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::CreateVpc { cidr, tags } => {
                write!(f, "create VPC {} {cidr}", tags.get("Name").map_or("", String::as_str))
            }
            Self::EnableDns => write!(f, "enable DNS support and hostnames"),
            Self::CreateInternetGateway { .. } => write!(f, "create internet gateway"),
            Self::AttachInternetGateway => write!(f, "attach internet gateway"),
            Self::AttachVpnGateway { detach_from: None } => write!(f, "attach VPN gateway"),
            Self::AttachVpnGateway { detach_from: Some(vpc) } => {
                write!(f, "move VPN gateway from {vpc} to this VPC (detaching it cuts {vpc} off)")
            }
            Self::CreateDhcpOptions { configurations, .. } => {
                let parts: Vec<String> = configurations.iter().map(|(k, v)| format!("{k}={}", v.join(","))).collect();
                write!(f, "create DHCP options {}", parts.join(" "))
            }
            Self::AssociateDhcpOptions => write!(f, "associate DHCP options"),
            Self::DeleteDhcpOptions { id } => write!(f, "delete the previous DHCP options {id}"),
            Self::RevokeIngress { meta, rules } => write!(f, "revoke {} ingress rule(s) on {meta}", rules.len()),
            Self::ReplaceRoute { meta, zone, destination, target } => {
                write!(f, "route {destination} via {} instead in {meta} {zone}", target_text(target))
            }
            Self::DeleteRoute { meta, zone, destination } => write!(f, "delete route {destination} in {meta} {zone}"),
            Self::DeleteNatGateway { meta, zone, id, release } => match release {
                Some(_) => write!(f, "DELETE NAT gateway {id} of {meta} {zone} and release its dynamic EIP"),
                None => write!(f, "DELETE NAT gateway {id} of {meta} {zone} (its EIP stays allocated)"),
            },
            Self::RemoveMetanetwork { meta } => {
                write!(f, "DELETE metanetwork {meta}: its NAT gateways, route tables, subnets and security group")
            }
            Self::CreateSecurityGroup { name, .. } => write!(f, "create security group {name}"),
            Self::AuthorizeIngress { meta, rules } => write!(f, "authorize {} ingress rule(s) on {meta}", rules.len()),
            Self::CreateSubnet { tags, cidr, .. } => {
                write!(f, "create subnet {} {cidr}", tags.get("Name").map_or("", String::as_str))
            }
            Self::CreateRouteTable { tags, .. } => {
                write!(f, "create route table {}", tags.get("Name").map_or("", String::as_str))
            }
            Self::AssociateRouteTable { meta, zone } => write!(f, "associate route table {meta} {zone}"),
            Self::AllocateNatAddress { meta, zone, static_ip, .. } => match static_ip {
                Some(ip) => write!(f, "find EIP {ip} for NAT gateway {meta} {zone}"),
                None => write!(f, "allocate an EIP for NAT gateway {meta} {zone}"),
            },
            Self::CreateNatGateway { meta, zone, static_ip, .. } => match static_ip {
                Some(ip) => write!(f, "create NAT gateway {meta} {zone} with EIP {ip}"),
                None => write!(f, "create NAT gateway {meta} {zone} with a new EIP"),
            },
            Self::CreateRoute { meta, zone, destination, target } => {
                write!(f, "route {destination} via {} in {meta} {zone}", target_text(target))
            }
            Self::CreateS3Endpoint => write!(f, "create S3 gateway endpoint on every route table"),
            Self::CreateInterface { hostclass, meta, zone, ip, .. } => {
                write!(f, "create floating interface {ip} for {hostclass} in {meta} {zone}")
            }
        }
    }
}

fn target_text(target: &RouteTarget) -> String {
    match target {
        RouteTarget::InternetGateway => "internet gateway".to_string(),
        RouteTarget::NatGateway(m) => format!("NAT gateway of {m}"),
        RouteTarget::VpnGateway => "VPN gateway".to_string(),
    }
}
