//! Environments in EC2: reading what exists (every describe filtered by VPC id or tags), running
//! one step of a plan, and taking an environment apart.

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
use serde::Serialize;
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

    /// What exists of environment `name` in VPC `vpc_id` (or, without a VPC, the pieces that can exist
    /// before it: the internet gateway and the DHCP options tagged with the name).
    pub async fn read_environment(&self, name: &str, vpc_id: Option<&str>) -> Result<LiveEnvironment, CloudError> {
        let mut live = LiveEnvironment::default();
        // Everything is read at once: each describe is independent, so the read costs one round trip
        // (two when a DHCP set's options are needed) however much the environment holds.
        let (attached_igws, named_igws, vgws, named_dhcp) = tokio::try_join!(
            self.internet_gateways_of(vpc_id),
            self.internet_gateways_named(name),
            self.vpn_gateways_named(name),
            self.dhcp_named(name),
        )?;
        // The two reads run at once, so an attachment made between them (by a run that was
        // interrupted with the call in flight) shows in at most one: the named gateways say where
        // they are attached themselves.
        let named_here = named_igws.iter().find(|(_, vpcs)| vpc_id.is_some_and(|v| vpcs.iter().any(|a| a == v)));
        let named_free = named_igws.iter().find(|(_, vpcs)| vpcs.is_empty());
        if let Some(id) = attached_igws.first().or(named_here.map(|(id, _)| id)) {
            live.ids.insert(Key::InternetGateway, id.clone());
            live.ids.insert(Key::InternetGatewayAttachment, id.clone());
        } else if let Some((id, _)) = named_free {
            // One an interrupted create made and did not attach yet.
            live.ids.insert(Key::InternetGateway, id.clone());
        }
        // The VPN gateway is never created: the one tagged with the environment's name is used.
        if let Some(vgw) = vgws.first() {
            let id = vgw.vpn_gateway_id().unwrap_or_default().to_string();
            live.ids.insert(Key::VpnGateway, id.clone());
            let attached = vgw
                .vpc_attachments()
                .iter()
                .find(|a| matches!(a.state().map(|s| s.as_str()), Some("attached" | "attaching")));
            match attached.and_then(|a| a.vpc_id()) {
                Some(v) if Some(v) == vpc_id => {
                    live.ids.insert(Key::VpnGatewayAttachment, id);
                }
                Some(other) => live.vpn_gateway_elsewhere = Some(other.to_string()),
                None => {}
            }
        }
        if let Some(id) = named_dhcp {
            live.ids.insert(Key::DhcpOptions, id);
        }
        if let Some(vpc) = vpc_id {
            self.read_vpc(vpc, &mut live).await?;
        }
        if let Some(id) = live.ids.get(&Key::DhcpOptions).cloned() {
            live.dhcp_configurations = self.dhcp_configurations(&id, name).await?;
        }
        Ok(live)
    }

    /// The parts of an environment inside its VPC.
    async fn read_vpc(&self, vpc: &str, live: &mut LiveEnvironment) -> Result<(), CloudError> {
        let ec2 = &self.ec2;
        let by_vpc = [vpc];
        live.ids.insert(Key::Vpc, vpc.to_string());
        let (vpcs, subnets, tables, groups, nats, endpoints, interfaces) = tokio::try_join!(
            async { ec2.describe_vpcs().vpc_ids(vpc).send().await.classify("DescribeVpcs") },
            self.subnets_in(vpc),
            self.route_tables_in(vpc),
            self.metanetwork_groups_in(vpc),
            self.nat_gateways_in(vpc, &["pending", "available"]),
            async {
                ec2.describe_vpc_endpoints()
                    .filters(filter("vpc-id", &by_vpc))
                    .filters(filter("service-name", &[&self.s3_service()]))
                    .send()
                    .await
                    .classify("DescribeVpcEndpoints")
            },
            async {
                // Floating interfaces (Asiaq marks them with this description; Sila also tags them).
                let request = ec2
                    .describe_network_interfaces()
                    .filters(filter("vpc-id", &by_vpc))
                    .filters(filter("description", &[FLOATING_INTERFACE]));
                paginated!(request, "DescribeNetworkInterfaces")
            },
        )?;

        live.vpc_dhcp_options = vpcs.vpcs().first().and_then(|v| v.dhcp_options_id()).map(str::to_string);
        // The set the VPC uses is the environment's, tagged or not (sets made elsewhere, or by an API
        // that dropped the tags), unless it is AWS's default; only then does a set tagged with the
        // name (one an interrupted create made) stand in.
        if let Some(current) = live.vpc_dhcp_options.as_ref().filter(|id| id.as_str() != "default") {
            live.ids.insert(Key::DhcpOptions, current.clone());
        }

        // Subnets and their route tables.
        let mut subnet_ids = BTreeMap::new();
        for s in &subnets {
            if let (Some(place), Some(id)) = (placement(s.tags()), s.subnet_id()) {
                subnet_ids.insert(id.to_string(), place.clone());
                live.subnet_cidrs.insert(place.clone(), s.cidr_block().unwrap_or_default().to_string());
                live.ids.insert(Key::Subnet { meta: place.0, zone: place.1 }, id.to_string());
            }
        }
        for t in &tables {
            let Some((place, id)) = placement(t.tags()).zip(t.route_table_id()) else { continue };
            if t.associations().iter().any(|a| a.main() == Some(true)) {
                continue;
            }
            let associated =
                t.associations().iter().any(|a| a.subnet_id().and_then(|s| subnet_ids.get(s)) == Some(&place));
            // Two tables with the same tags (a create killed with the call in flight): the one that is
            // associated with the subnet is the subnet's; the other is left for destroy.
            if live.associated.contains(&place) && !associated {
                continue;
            }
            live.ids.insert(Key::RouteTable { meta: place.0, zone: place.1.clone() }, id.to_string());
            if associated {
                live.associated.insert(place.clone());
            }
            let routes = t
                .routes()
                .iter()
                .filter(|r| r.gateway_id() != Some("local"))
                .filter_map(|r| {
                    let target = r.gateway_id().or(r.nat_gateway_id()).or(r.vpc_peering_connection_id())?;
                    Some((r.destination_cidr_block()?.to_string(), target.to_string()))
                })
                .collect();
            live.routes.insert(place, routes);
        }

        // Security groups: the environment's own, with their rules in Sila's terms.
        let meta_of: BTreeMap<String, Metanetwork> = groups
            .iter()
            .filter_map(|g| Some((g.group_id()?.to_string(), Metanetwork::from_name(tag(g.tags(), "meta_network")?)?)))
            .collect();
        for g in &groups {
            let Some(&meta) = g.group_id().and_then(|id| meta_of.get(id)) else { continue };
            live.ids.insert(Key::SecurityGroup { meta }, g.group_id().unwrap_or_default().to_string());
            let rules = live.rules.entry(meta).or_default();
            for p in g.ip_permissions() {
                let Some(protocol) = p.ip_protocol().and_then(normalize_protocol) else { continue };
                let (from_port, to_port) = current_rule_ports(&protocol, p.from_port(), p.to_port());
                let rule = |source| SgRule { target: meta, protocol: protocol.clone(), from_port, to_port, source };
                for r in p.ip_ranges() {
                    if let Some(cidr) = r.cidr_ip().and_then(|c| c.parse().ok()) {
                        rules.insert(rule(SgSource::Cidr(cidr)));
                    }
                }
                for pair in p.user_id_group_pairs() {
                    if let Some(&source) = pair.group_id().and_then(|id| meta_of.get(id)) {
                        rules.insert(rule(SgSource::Metanetwork(source)));
                    }
                }
            }
        }

        // NAT gateways with their address, and whether that address is a dynamic one.
        let allocations: Vec<(String, Vec<String>)> = nats.iter().map(nat_allocations).collect();
        let dynamic: std::collections::BTreeSet<String> =
            self.dynamic_addresses(&allocations).await?.into_iter().collect();
        for n in &nats {
            if let Some(place) = n.subnet_id().and_then(|s| subnet_ids.get(s)) {
                let key = Key::NatGateway { meta: place.0, zone: place.1.clone() };
                live.ids.insert(key, n.nat_gateway_id().unwrap_or_default().to_string());
                if let Some(address) = n.nat_gateway_addresses().first() {
                    let allocation = address.allocation_id().unwrap_or_default().to_string();
                    let ip = address.public_ip().unwrap_or_default().to_string();
                    live.nat_addresses.insert(place.clone(), (ip, allocation.clone(), dynamic.contains(&allocation)));
                }
            }
        }
        for n in &interfaces {
            if let (Some(ip), Some(id)) = (n.private_ip_address(), n.network_interface_id()) {
                live.ids.insert(Key::Interface { ip: ip.to_string() }, id.to_string());
            }
        }
        live.s3_endpoint = endpoints.vpc_endpoints().iter().any(|e| !endpoint_going(e));
        Ok(())
    }

    async fn internet_gateways_of(&self, vpc_id: Option<&str>) -> Result<Vec<String>, CloudError> {
        let Some(vpc) = vpc_id else { return Ok(Vec::new()) };
        let out = self
            .ec2
            .describe_internet_gateways()
            .filters(filter("attachment.vpc-id", &[vpc]))
            .send()
            .await
            .classify("DescribeInternetGateways")?;
        Ok(out.internet_gateways().iter().filter_map(|g| g.internet_gateway_id().map(str::to_string)).collect())
    }

    /// Internet gateways tagged with the name, with the VPCs each is attached to.
    async fn internet_gateways_named(&self, name: &str) -> Result<Vec<(String, Vec<String>)>, CloudError> {
        let out = self
            .ec2
            .describe_internet_gateways()
            .filters(tag_eq("DescribeInternetGateways", "Name", name)?)
            .send()
            .await
            .classify("DescribeInternetGateways")?;
        Ok(out
            .internet_gateways()
            .iter()
            .filter(|g| has_tag(g.tags(), "Name", name))
            .filter_map(|g| {
                let vpcs = g.attachments().iter().filter_map(|a| a.vpc_id().map(str::to_string)).collect();
                Some((g.internet_gateway_id()?.to_string(), vpcs))
            })
            .collect())
    }

    async fn vpn_gateways_named(&self, name: &str) -> Result<Vec<aws_sdk_ec2::types::VpnGateway>, CloudError> {
        let out = self
            .ec2
            .describe_vpn_gateways()
            .filters(tag_eq("DescribeVpnGateways", "Name", name)?)
            .filters(filter("state", &["available"]))
            .send()
            .await
            .classify("DescribeVpnGateways")?;
        Ok(out.vpn_gateways().iter().filter(|g| has_tag(g.tags(), "Name", name)).cloned().collect())
    }

    async fn dhcp_named(&self, name: &str) -> Result<Option<String>, CloudError> {
        let out = self
            .ec2
            .describe_dhcp_options()
            .filters(tag_eq("DescribeDhcpOptions", "Name", name)?)
            .send()
            .await
            .classify("DescribeDhcpOptions")?;
        Ok(out
            .dhcp_options()
            .iter()
            .find(|d| has_tag(d.tags(), "Name", name))
            .and_then(|d| d.dhcp_options_id())
            .map(str::to_string))
    }

    /// The options of DHCP set `id`, and whether it is tagged `Name=<name>` (ours to delete).
    async fn dhcp_configurations(
        &self,
        id: &str,
        name: &str,
    ) -> Result<Option<(BTreeMap<String, Vec<String>>, bool)>, CloudError> {
        let out = self.ec2.describe_dhcp_options().dhcp_options_ids(id).send().await.classify("DescribeDhcpOptions")?;
        Ok(out.dhcp_options().first().map(|d| {
            let options = d
                .dhcp_configurations()
                .iter()
                .filter_map(|c| {
                    let values = c.values().iter().filter_map(|v| v.value().map(str::to_string)).collect();
                    Some((c.key()?.to_string(), values))
                })
                .collect();
            (options, tag(d.tags(), "Name") == Some(name))
        }))
    }

    fn s3_service(&self) -> String {
        format!("com.amazonaws.{}.s3", self.region())
    }

    /// Runs one step. `ids` holds what exists (from the read and from earlier steps); the result is
    /// the key and id of what the step created, if it created something.
    pub async fn run_step(
        &self,
        step: &Step,
        ids: &BTreeMap<Key, String>,
    ) -> Result<Option<(Key, String)>, CloudError> {
        let ec2 = &self.ec2;
        let id = |key: &Key| ids.get(key).cloned().ok_or_else(|| missing(&format!("{key:?}")));
        match step {
            Step::CreateVpc { cidr, tags } => {
                let out = ec2
                    .create_vpc()
                    .cidr_block(cidr)
                    .tag_specifications(tag_spec(ResourceType::Vpc, tags))
                    .send()
                    .await
                    .classify("CreateVpc")?;
                let vpc = created("CreateVpc", out.vpc().and_then(|v| v.vpc_id()))?;
                Ok(Some((Key::Vpc, vpc)))
            }
            Step::EnableDns => {
                let vpc = id(&Key::Vpc)?;
                let on = || AttributeBooleanValue::builder().value(true).build();
                // One attribute per call (the API refuses both in one request), both at once.
                tokio::try_join!(
                    async {
                        ec2.modify_vpc_attribute()
                            .vpc_id(&vpc)
                            .enable_dns_support(on())
                            .send()
                            .await
                            .classify("ModifyVpcAttribute")
                    },
                    async {
                        ec2.modify_vpc_attribute()
                            .vpc_id(&vpc)
                            .enable_dns_hostnames(on())
                            .send()
                            .await
                            .classify("ModifyVpcAttribute")
                    },
                )?;
                Ok(None)
            }
            Step::CreateInternetGateway { tags } => {
                let out = ec2
                    .create_internet_gateway()
                    .tag_specifications(tag_spec(ResourceType::InternetGateway, tags))
                    .send()
                    .await
                    .classify("CreateInternetGateway")?;
                let igw =
                    created("CreateInternetGateway", out.internet_gateway().and_then(|g| g.internet_gateway_id()))?;
                Ok(Some((Key::InternetGateway, igw.to_string())))
            }
            Step::AttachInternetGateway => {
                let igw = id(&Key::InternetGateway)?;
                ec2.attach_internet_gateway()
                    .internet_gateway_id(&igw)
                    .vpc_id(id(&Key::Vpc)?)
                    .send()
                    .await
                    .classify("AttachInternetGateway")?;
                Ok(Some((Key::InternetGatewayAttachment, igw)))
            }
            Step::AttachVpnGateway { detach_from } => {
                let vgw = id(&Key::VpnGateway)?;
                let vpc = id(&Key::Vpc)?;
                if let Some(other) = detach_from {
                    ec2.detach_vpn_gateway()
                        .vpn_gateway_id(&vgw)
                        .vpc_id(other)
                        .send()
                        .await
                        .classify("DetachVpnGateway")?;
                    self.wait_vpn_attachment(&vgw, other, "detached").await?;
                }
                ec2.attach_vpn_gateway().vpn_gateway_id(&vgw).vpc_id(&vpc).send().await.classify("AttachVpnGateway")?;
                self.wait_vpn_attachment(&vgw, &vpc, "attached").await?;
                Ok(Some((Key::VpnGatewayAttachment, vgw)))
            }
            Step::CreateDhcpOptions { configurations, tags } => {
                let mut request =
                    ec2.create_dhcp_options().tag_specifications(tag_spec(ResourceType::DhcpOptions, tags));
                for (key, values) in configurations {
                    request = request.dhcp_configurations(
                        NewDhcpConfiguration::builder().key(key).set_values(Some(values.clone())).build(),
                    );
                }
                let out = request.send().await.classify("CreateDhcpOptions")?;
                let dhcp = created("CreateDhcpOptions", out.dhcp_options().and_then(|d| d.dhcp_options_id()))?;
                Ok(Some((Key::DhcpOptions, dhcp.to_string())))
            }
            Step::AssociateDhcpOptions => {
                ec2.associate_dhcp_options()
                    .dhcp_options_id(id(&Key::DhcpOptions)?)
                    .vpc_id(id(&Key::Vpc)?)
                    .send()
                    .await
                    .classify("AssociateDhcpOptions")?;
                Ok(Some((Key::DhcpAssociation, id(&Key::DhcpOptions)?)))
            }
            Step::DeleteDhcpOptions { id: old } => {
                ec2.delete_dhcp_options().dhcp_options_id(old).send().await.classify("DeleteDhcpOptions")?;
                Ok(None)
            }
            Step::RevokeIngress { meta, rules } => {
                let group = id(&Key::SecurityGroup { meta: *meta })?;
                let permissions = rules.iter().map(|r| self.permission(r, ids)).collect::<Result<Vec<_>, _>>()?;
                ec2.revoke_security_group_ingress()
                    .group_id(group)
                    .set_ip_permissions(Some(permissions))
                    .send()
                    .await
                    .classify("RevokeSecurityGroupIngress")?;
                Ok(Some((Key::RulesRevoked { meta: *meta }, String::new())))
            }
            Step::ReplaceRoute { meta, zone, destination, target } => {
                let table = id(&Key::RouteTable { meta: *meta, zone: zone.clone() })?;
                self.replace_route(&table, destination, &route_target(target, zone, &id)?).await?;
                Ok(None)
            }
            Step::DeleteRoute { meta, zone, destination } => {
                ec2.delete_route()
                    .route_table_id(id(&Key::RouteTable { meta: *meta, zone: zone.clone() })?)
                    .destination_cidr_block(destination)
                    .send()
                    .await
                    .classify("DeleteRoute")?;
                Ok(None)
            }
            Step::RemoveMetanetwork { meta } => {
                let contents = self.metanetwork_contents(*meta, ids).await?;
                self.take_apart(&contents).await?;
                Ok(None)
            }
            Step::CreateSecurityGroup { meta, name, description, tags } => {
                let out = ec2
                    .create_security_group()
                    .group_name(name)
                    .description(description)
                    .vpc_id(id(&Key::Vpc)?)
                    .tag_specifications(tag_spec(ResourceType::SecurityGroup, tags))
                    .send()
                    .await
                    .classify("CreateSecurityGroup")?;
                Ok(Some((Key::SecurityGroup { meta: *meta }, created("CreateSecurityGroup", out.group_id())?)))
            }
            Step::AuthorizeIngress { meta, rules } => {
                let permissions = rules.iter().map(|r| self.permission(r, ids)).collect::<Result<Vec<_>, _>>()?;
                self.authorize_ingress(&id(&Key::SecurityGroup { meta: *meta })?, permissions).await?;
                Ok(None)
            }
            Step::CreateSubnet { meta, zone, cidr, tags } => {
                let out = ec2
                    .create_subnet()
                    .vpc_id(id(&Key::Vpc)?)
                    .cidr_block(cidr)
                    .availability_zone(zone)
                    .tag_specifications(tag_spec(ResourceType::Subnet, tags))
                    .send()
                    .await
                    .classify("CreateSubnet")?;
                let subnet = created("CreateSubnet", out.subnet().and_then(|s| s.subnet_id()))?;
                Ok(Some((Key::Subnet { meta: *meta, zone: zone.clone() }, subnet)))
            }
            Step::CreateRouteTable { meta, zone, tags } => {
                let out = ec2
                    .create_route_table()
                    .vpc_id(id(&Key::Vpc)?)
                    .tag_specifications(tag_spec(ResourceType::RouteTable, tags))
                    .send()
                    .await
                    .classify("CreateRouteTable")?;
                let table = created("CreateRouteTable", out.route_table().and_then(|t| t.route_table_id()))?;
                Ok(Some((Key::RouteTable { meta: *meta, zone: zone.clone() }, table)))
            }
            Step::AssociateRouteTable { meta, zone } => {
                ec2.associate_route_table()
                    .route_table_id(id(&Key::RouteTable { meta: *meta, zone: zone.clone() })?)
                    .subnet_id(id(&Key::Subnet { meta: *meta, zone: zone.clone() })?)
                    .send()
                    .await
                    .classify("AssociateRouteTable")?;
                Ok(None)
            }
            Step::AllocateNatAddress { meta, zone, static_ip, tags } => {
                let allocation = self.nat_address(static_ip.as_deref(), tags).await?;
                Ok(Some((Key::NatAddress { meta: *meta, zone: zone.clone() }, allocation)))
            }
            Step::CreateNatGateway { meta, zone, tags, .. } => {
                let allocation = id(&Key::NatAddress { meta: *meta, zone: zone.clone() })?;
                let subnet = id(&Key::Subnet { meta: *meta, zone: zone.clone() })?;
                // Idempotent: a request repeated after a lost answer (or by a run that was killed
                // with it in flight) returns the same gateway. The allocation is part of the token so
                // that a replacement in the same subnet is a new gateway.
                let token = format!("sila-{subnet}-{allocation}");
                let out = ec2
                    .create_nat_gateway()
                    .client_token(token)
                    .subnet_id(subnet)
                    .allocation_id(allocation)
                    .tag_specifications(tag_spec(ResourceType::Natgateway, tags))
                    .send()
                    .await
                    .classify("CreateNatGateway")?;
                let nat = created("CreateNatGateway", out.nat_gateway().and_then(|n| n.nat_gateway_id()))?;
                tracing::info!("waiting for NAT gateway {nat} to become available (up to {}s)", NAT_WAIT.as_secs());
                use aws_sdk_ec2::client::Waiters as _;
                ec2.wait_until_nat_gateway_available()
                    .nat_gateway_ids(&nat)
                    .wait(NAT_WAIT)
                    .await
                    .map_err(|e| CloudError::waiting("NatGatewayAvailable", &nat, &e))?;
                Ok(Some((Key::NatGateway { meta: *meta, zone: zone.clone() }, nat)))
            }
            Step::DeleteNatGateway { meta, zone, id: nat, release } => {
                use aws_sdk_ec2::client::Waiters as _;
                gone(ec2.delete_nat_gateway().nat_gateway_id(nat).send().await.classify("DeleteNatGateway"))?;
                tracing::info!("waiting for NAT gateway {nat} to be deleted (up to {}s)", NAT_WAIT.as_secs());
                ec2.wait_until_nat_gateway_deleted()
                    .nat_gateway_ids(nat)
                    .wait(NAT_WAIT)
                    .await
                    .map_err(|e| CloudError::waiting("NatGatewayDeleted", nat, &e))?;
                if let Some(allocation) = release {
                    gone(ec2.release_address().allocation_id(allocation).send().await.classify("ReleaseAddress"))?;
                }
                Ok(Some((Key::NatGatewayGone { meta: *meta, zone: zone.clone() }, nat.clone())))
            }
            Step::CreateRoute { meta, zone, destination, target } => {
                let table = id(&Key::RouteTable { meta: *meta, zone: zone.clone() })?;
                self.put_route(&table, destination, &route_target(target, zone, &id)?).await?;
                Ok(None)
            }
            Step::CreateInterface { meta, zone, ip, tags, .. } => {
                let subnet = id(&Key::Subnet { meta: *meta, zone: zone.clone() })?;
                let group = id(&Key::SecurityGroup { meta: *meta })?;
                let eni = self.create_floating_interface(&subnet, &group, ip, tags).await?;
                Ok(Some((Key::Interface { ip: ip.clone() }, eni)))
            }
            Step::CreateS3Endpoint => {
                let tables: Vec<String> =
                    ids.iter().filter(|(k, _)| matches!(k, Key::RouteTable { .. })).map(|(_, v)| v.clone()).collect();
                ec2.create_vpc_endpoint()
                    .vpc_id(id(&Key::Vpc)?)
                    .vpc_endpoint_type(VpcEndpointType::Gateway)
                    .service_name(self.s3_service())
                    .set_route_table_ids(Some(tables))
                    .send()
                    .await
                    .classify("CreateVpcEndpoint")?;
                Ok(None)
            }
        }
    }

    /// Polls (every 2 s, up to [`VGW_WAIT`]) until VPN gateway `vgw`'s attachment to `vpc` is in
    /// `state` (`attached`, or `detached`, which also covers an attachment that is gone). EC2 has
    /// no waiter for this.
    async fn wait_vpn_attachment(&self, vgw: &str, vpc: &str, state: &str) -> Result<(), CloudError> {
        let deadline = tokio::time::Instant::now() + VGW_WAIT;
        let last = loop {
            let out =
                self.ec2.describe_vpn_gateways().vpn_gateway_ids(vgw).send().await.classify("DescribeVpnGateways")?;
            let attachment =
                out.vpn_gateways().first().and_then(|g| g.vpc_attachments().iter().find(|a| a.vpc_id() == Some(vpc)));
            let last = attachment.and_then(|a| a.state()).map_or("detached".to_string(), |s| s.as_str().to_string());
            if last == state {
                return Ok(());
            }
            if tokio::time::Instant::now() >= deadline {
                break last;
            }
            tracing::info!("VPN gateway {vgw} is {last} on {vpc}; waiting for {state}");
            tokio::time::sleep(Duration::from_secs(2)).await;
        };
        Err(CloudError {
            op: "AttachVpnGateway",
            kind: crate::ErrorKind::Other,
            code: None,
            message: format!("VPN gateway {vgw} still {last} on {vpc} after {}s (wanted {state})", VGW_WAIT.as_secs()),
            request_id: None,
        })
    }

    /// One rule as an EC2 permission (a metanetwork source becomes that group's id).
    fn permission(&self, r: &SgRule, ids: &BTreeMap<Key, String>) -> Result<IpPermission, CloudError> {
        let mut p = IpPermission::builder().ip_protocol(&r.protocol);
        if r.protocol != "-1" {
            p = p.from_port(r.from_port).to_port(r.to_port);
        }
        p = match &r.source {
            SgSource::Cidr(c) => p.ip_ranges(IpRange::builder().cidr_ip(c.to_string()).build()),
            SgSource::Metanetwork(m) => {
                let group =
                    ids.get(&Key::SecurityGroup { meta: *m }).ok_or_else(|| missing(&format!("the {m} group")))?;
                p.user_id_group_pairs(UserIdGroupPair::builder().group_id(group).build())
            }
        };
        Ok(p.build())
    }

    /// What belongs to metanetwork `meta`: its NAT gateways (and their dynamic EIPs), route tables,
    /// subnets and security group, by the ids the read found.
    async fn metanetwork_contents(
        &self,
        meta: Metanetwork,
        ids: &BTreeMap<Key, String>,
    ) -> Result<VpcContents, CloudError> {
        let mut c = VpcContents { vpc_id: ids.get(&Key::Vpc).cloned().unwrap_or_default(), ..VpcContents::default() };
        let mut nats = Vec::new();
        for (key, id) in ids {
            match key {
                Key::SecurityGroup { meta: m } if *m == meta => c.security_groups.push(id.clone()),
                Key::Subnet { meta: m, .. } if *m == meta => c.subnets.push(id.clone()),
                Key::RouteTable { meta: m, .. } if *m == meta => c.route_tables.push((id.clone(), Vec::new())),
                Key::NatGateway { meta: m, .. } if *m == meta => nats.push(id.clone()),
                _ => {}
            }
        }
        if !c.route_tables.is_empty() {
            let table_ids: Vec<String> = c.route_tables.iter().map(|(t, _)| t.clone()).collect();
            let out = self
                .ec2
                .describe_route_tables()
                .set_route_table_ids(Some(table_ids))
                .send()
                .await
                .classify("DescribeRouteTables")?;
            c.route_tables = out.route_tables().iter().map(table_associations).collect();
        }
        if !nats.is_empty() {
            let out = self
                .ec2
                .describe_nat_gateways()
                .set_nat_gateway_ids(Some(nats))
                .send()
                .await
                .classify("DescribeNatGateways")?;
            c.nat_gateways = out.nat_gateways().iter().map(nat_allocations).collect();
            c.dynamic_addresses = self.dynamic_addresses(&c.nat_gateways).await?;
        }
        Ok(c)
    }

    /// Of the EIPs the NAT gateways use, those tagged `dynamic=true` (released with them).
    async fn dynamic_addresses(&self, nats: &[(String, Vec<String>)]) -> Result<Vec<String>, CloudError> {
        let allocations: Vec<&str> = nats.iter().flat_map(|(_, a)| a.iter().map(String::as_str)).collect();
        if allocations.is_empty() {
            return Ok(Vec::new());
        }
        let out = self
            .ec2
            .describe_addresses()
            .filters(filter("allocation-id", &allocations))
            .filters(filter("tag:dynamic", &["true"]))
            .send()
            .await
            .classify("DescribeAddresses")?;
        Ok(out.addresses().iter().filter_map(|a| a.allocation_id().map(str::to_string)).collect())
    }

    /// The allocation id for a NAT gateway: the configured static EIP, an unassociated dynamic one
    /// left tagged for this NAT by an interrupted run, or a new dynamic one tagged `dynamic=true`.
    async fn nat_address(
        &self,
        static_ip: Option<&str>,
        tags: &BTreeMap<String, String>,
    ) -> Result<String, CloudError> {
        let ec2 = &self.ec2;
        let find = |filters: Vec<Filter>| async move {
            ec2.describe_addresses().set_filters(Some(filters)).send().await.classify("DescribeAddresses")
        };
        if let Some(ip) = static_ip {
            let out = find(vec![filter("public-ip", &[ip])]).await?;
            return out.addresses().first().and_then(|a| a.allocation_id()).map(str::to_string).ok_or_else(|| {
                CloudError {
                    op: "DescribeAddresses",
                    kind: crate::ErrorKind::NotFound,
                    code: None,
                    message: format!("no elastic IP {ip} in this account and region"),
                    request_id: None,
                }
            });
        }
        let name = tags.get("Name").map(String::as_str).unwrap_or_default();
        let out = find(vec![tag_eq("DescribeAddresses", "Name", name)?, filter("tag:dynamic", &["true"])]).await?;
        if let Some(free) = out
            .addresses()
            .iter()
            .find(|a| a.association_id().is_none() && has_tag(a.tags(), "Name", name))
            .and_then(|a| a.allocation_id())
        {
            return Ok(free.to_string());
        }
        let mut eip_tags = tags.clone();
        eip_tags.insert("dynamic".into(), "true".into());
        let out = ec2
            .allocate_address()
            .domain(DomainType::Vpc)
            .tag_specifications(tag_spec(ResourceType::ElasticIp, &eip_tags))
            .send()
            .await
            .classify("AllocateAddress")?;
        created("AllocateAddress", out.allocation_id())
    }
}

/// Everything inside a VPC that destroy has to remove, found by VPC id (not by Sila's tags, so an
/// environment built by Asiaq or by hand goes too).
#[derive(Debug, Clone, Default, Serialize)]
pub struct VpcContents {
    /// The VPC.
    pub vpc_id: String,
    /// Its `Name` tag.
    pub name: String,
    /// Instances that are not terminated.
    pub instances: Vec<String>,
    /// Autoscaling groups with a subnet in the VPC (deleted first, with their instances).
    pub autoscaling_groups: Vec<String>,
    /// Launch templates those groups use, and those spinup tagged with this VPC's id
    /// ([`sila_core::environment::VPC_ID_TAG`]); never one just because of its `environment` tag.
    pub launch_templates: Vec<LaunchTemplateRef>,
    /// NAT gateways (not deleted) and their elastic IP allocations.
    pub nat_gateways: Vec<(String, Vec<String>)>,
    /// Elastic IP allocations tagged `dynamic=true` that NAT gateways of this VPC use.
    pub dynamic_addresses: Vec<String>,
    /// VPC endpoints.
    pub endpoints: Vec<String>,
    /// Internet gateways attached to it.
    pub internet_gateways: Vec<String>,
    /// VPN gateways attached to it (detached, never deleted).
    pub vpn_gateways: Vec<String>,
    /// Network interfaces.
    pub network_interfaces: Vec<String>,
    /// Security groups other than `default`.
    pub security_groups: Vec<String>,
    /// Subnets.
    pub subnets: Vec<String>,
    /// Route tables other than the main one, with their subnet associations.
    pub route_tables: Vec<(String, Vec<String>)>,
    /// The DHCP options set the VPC uses when it is tagged with the environment name and no other
    /// VPC uses it.
    pub dhcp_options: Option<String>,
    /// Peering connections of the VPC (deleted with every route through them, on both sides).
    pub peerings: Vec<crate::peering::Peering>,
}

/// A launch template, by id and name.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct LaunchTemplateRef {
    /// `lt-...`.
    pub id: String,
    /// Its name.
    pub name: String,
}

impl VpcContents {
    /// `(what, count)` pairs for a summary.
    pub fn summary(&self) -> Vec<(&'static str, usize)> {
        vec![
            ("autoscaling groups (force-deleted with their instances)", self.autoscaling_groups.len()),
            ("launch templates", self.launch_templates.len()),
            ("instances (terminated)", self.instances.len()),
            ("peering connections (and their routes on both sides)", self.peerings.len()),
            ("NAT gateways", self.nat_gateways.len()),
            ("dynamic elastic IPs (released)", self.dynamic_addresses.len()),
            ("VPC endpoints", self.endpoints.len()),
            ("internet gateways", self.internet_gateways.len()),
            ("VPN gateways (detached, kept)", self.vpn_gateways.len()),
            ("network interfaces", self.network_interfaces.len()),
            ("security groups", self.security_groups.len()),
            ("subnets", self.subnets.len()),
            ("route tables", self.route_tables.len()),
            ("DHCP options sets", usize::from(self.dhcp_options.is_some())),
            ("VPCs", 1),
        ]
    }
}

impl Clients {
    /// Everything in VPC `vpc_id`.
    pub async fn vpc_contents(&self, vpc_id: &str, name: &str) -> Result<VpcContents, CloudError> {
        let ec2 = &self.ec2;
        let by_vpc = [vpc_id];
        // Every describe is independent: one round trip for all of them, a second for what depends
        // on the first (the NAT gateways' addresses, the subnets' interfaces).
        let (instances, nats, endpoints, igws, vgws, groups, subnets, tables, vpcs, dhcp, peerings) = tokio::try_join!(
            self.live_instances_in(vpc_id),
            self.nat_gateways_in(vpc_id, &["pending", "available", "failed"]),
            async {
                ec2.describe_vpc_endpoints()
                    .filters(filter("vpc-id", &by_vpc))
                    .send()
                    .await
                    .classify("DescribeVpcEndpoints")
            },
            async {
                ec2.describe_internet_gateways()
                    .filters(filter("attachment.vpc-id", &by_vpc))
                    .send()
                    .await
                    .classify("DescribeInternetGateways")
            },
            async {
                ec2.describe_vpn_gateways()
                    .filters(filter("attachment.vpc-id", &by_vpc))
                    .filters(filter("attachment.state", &["attaching", "attached"]))
                    .send()
                    .await
                    .classify("DescribeVpnGateways")
            },
            self.groups_in(vpc_id),
            self.subnets_in(vpc_id),
            self.route_tables_in(vpc_id),
            async { ec2.describe_vpcs().vpc_ids(vpc_id).send().await.classify("DescribeVpcs") },
            async {
                ec2.describe_dhcp_options()
                    .filters(tag_eq("DescribeDhcpOptions", "Name", name)?)
                    .send()
                    .await
                    .classify("DescribeDhcpOptions")
            },
            self.peerings(Some(vpc_id)),
        )?;
        let mut c =
            VpcContents { vpc_id: vpc_id.into(), name: name.into(), instances, peerings, ..VpcContents::default() };
        c.nat_gateways = nats.iter().map(nat_allocations).collect();
        c.endpoints = endpoints
            .vpc_endpoints()
            .iter()
            .filter(|e| !endpoint_going(e))
            .filter_map(|e| e.vpc_endpoint_id().map(str::to_string))
            .collect();
        c.internet_gateways =
            igws.internet_gateways().iter().filter_map(|g| g.internet_gateway_id().map(str::to_string)).collect();
        c.vpn_gateways = vgws.vpn_gateways().iter().filter_map(|g| g.vpn_gateway_id().map(str::to_string)).collect();
        let groups: Vec<aws_sdk_ec2::types::SecurityGroup> = groups;
        c.security_groups = groups
            .iter()
            .filter(|g| g.group_name() != Some("default"))
            .filter_map(|g| g.group_id().map(str::to_string))
            .collect();
        let subnets: Vec<aws_sdk_ec2::types::Subnet> = subnets;
        c.subnets = subnets.iter().filter_map(|s| s.subnet_id().map(str::to_string)).collect();
        let tables: Vec<aws_sdk_ec2::types::RouteTable> = tables;
        c.route_tables = tables
            .iter()
            .filter(|t| !t.associations().iter().any(|a| a.main() == Some(true)))
            .map(table_associations)
            .collect();
        // The DHCP options set goes only when it provably is this VPC's: the one it uses, tagged with
        // the environment's name (reference §4.3), and used by no other VPC. Another set tagged with
        // the name may be a live environment's that shares it (a duplicate destroyed by --vpc-id).
        let current = vpcs.vpcs().first().and_then(|v| v.dhcp_options_id()).unwrap_or_default().to_string();
        let ours = dhcp
            .dhcp_options()
            .iter()
            .any(|d| d.dhcp_options_id() == Some(current.as_str()) && has_tag(d.tags(), "Name", name));
        let shared = async {
            if !ours {
                return Ok(true);
            }
            let users = self.describe_vpcs(&[crate::ec2::Ec2Filter::eq("dhcp-options-id", current.as_str())]).await?;
            Ok::<_, CloudError>(users.iter().any(|v| v.vpc_id != vpc_id))
        };
        let (dynamic, interfaces, (groups, mut templates), tagged, shared) = tokio::try_join!(
            self.dynamic_addresses(&c.nat_gateways),
            self.vpc_interfaces(vpc_id, &c.subnets),
            self.groups_in_subnets(&c.subnets),
            self.vpc_templates(vpc_id),
            shared,
        )?;
        c.dhcp_options = (!shared).then_some(current);
        c.dynamic_addresses = dynamic;
        c.network_interfaces = interfaces;
        c.autoscaling_groups = groups;
        templates.extend(tagged);
        templates.sort();
        templates.dedup_by(|a, b| a.id == b.id);
        c.launch_templates = templates;
        Ok(c)
    }

    /// Detached network interfaces of the VPC that nobody else manages (what a deleted NAT gateway can
    /// leave behind; attached ones go with their instance or service).
    async fn vpc_interfaces(&self, vpc_id: &str, subnets: &[String]) -> Result<Vec<String>, CloudError> {
        let mut ids = Vec::new();
        let subnets: Vec<&str> = subnets.iter().map(String::as_str).collect();
        if subnets.is_empty() {
            return Ok(ids);
        }
        let request = self
            .ec2
            .describe_network_interfaces()
            .filters(filter("vpc-id", &[vpc_id]))
            .filters(filter("subnet-id", &subnets))
            .filters(filter("status", &["available"]));
        let found: Vec<aws_sdk_ec2::types::NetworkInterface> = paginated!(request, "DescribeNetworkInterfaces")?;
        for n in found {
            if n.requester_managed() != Some(true) {
                ids.extend(n.network_interface_id().map(str::to_string));
            }
        }
        Ok(ids)
    }

    /// Deletes the VPC's autoscaling groups and terminates its instances (waiting for both), takes
    /// the VPC apart in dependency order, then deletes it; gone-already counts as done.
    pub async fn destroy_vpc(&self, c: &VpcContents) -> Result<(), CloudError> {
        self.delete_groups(&c.autoscaling_groups).await?;
        let templates: Vec<String> = c.launch_templates.iter().map(|t| t.id.clone()).collect();
        self.delete_launch_templates(&templates).await?;
        // Instances outside any group, and any a group left behind.
        let remaining = self.live_instances_in(&c.vpc_id).await?;
        self.terminate_instances(&remaining).await?;
        self.take_apart(c).await?;
        gone(self.ec2.delete_vpc().vpc_id(&c.vpc_id).send().await.classify("DeleteVpc"))
    }

    /// Deletes everything listed in `c` (not the VPC), in dependency order: each phase waits for the
    /// one before, and everything inside a phase runs at once.
    async fn take_apart(&self, c: &VpcContents) -> Result<(), CloudError> {
        let ec2 = &self.ec2;
        use aws_sdk_ec2::client::Waiters as _;
        all(c.peerings.iter().map(|p| self.delete_peering(p))).await?;
        all(c.nat_gateways.iter().map(|(nat, _)| async move {
            gone(ec2.delete_nat_gateway().nat_gateway_id(nat).send().await.classify("DeleteNatGateway"))
        }))
        .await?;
        all(c.nat_gateways.iter().map(|(nat, _)| async move {
            tracing::info!("waiting for NAT gateway {nat} to be deleted (up to {}s)", NAT_WAIT.as_secs());
            ec2.wait_until_nat_gateway_deleted()
                .nat_gateway_ids(nat)
                .wait(NAT_WAIT)
                .await
                .map(drop)
                .map_err(|e| CloudError::waiting("NatGatewayDeleted", nat, &e))
        }))
        .await?;
        let releases = all(c.dynamic_addresses.iter().map(|allocation| async move {
            gone(ec2.release_address().allocation_id(allocation).send().await.classify("ReleaseAddress"))
        }));
        let endpoints = async {
            if c.endpoints.is_empty() {
                return Ok(());
            }
            gone(
                ec2.delete_vpc_endpoints()
                    .set_vpc_endpoint_ids(Some(c.endpoints.clone()))
                    .send()
                    .await
                    .classify("DeleteVpcEndpoints"),
            )
        };
        let igws = all(c.internet_gateways.iter().map(|igw| async move {
            gone(
                ec2.detach_internet_gateway()
                    .internet_gateway_id(igw)
                    .vpc_id(&c.vpc_id)
                    .send()
                    .await
                    .classify("DetachInternetGateway"),
            )?;
            gone(ec2.delete_internet_gateway().internet_gateway_id(igw).send().await.classify("DeleteInternetGateway"))
        }));
        let vgws = all(c.vpn_gateways.iter().map(|vgw| async move {
            gone(
                ec2.detach_vpn_gateway()
                    .vpn_gateway_id(vgw)
                    .vpc_id(&c.vpc_id)
                    .send()
                    .await
                    .classify("DetachVpnGateway"),
            )
        }));
        tokio::try_join!(releases, endpoints, igws, vgws)?;
        // Interfaces left by the NAT gateways just deleted show up only now.
        let interfaces = self.vpc_interfaces(&c.vpc_id, &c.subnets).await?;
        all(interfaces.iter().map(|eni| async move {
            gone(
                ec2.delete_network_interface()
                    .network_interface_id(eni)
                    .send()
                    .await
                    .classify("DeleteNetworkInterface"),
            )
        }))
        .await?;
        // Groups may reference each other: empty them all before deleting any.
        all(c.security_groups.iter().map(|sg| self.revoke_all(sg))).await?;
        let groups = all(c.security_groups.iter().map(|sg| async move {
            gone(ec2.delete_security_group().group_id(sg).send().await.classify("DeleteSecurityGroup"))
        }));
        // Explicitly: deleting a subnet does not always drop its association (the emulator keeps it).
        let associations = all(c.route_tables.iter().flat_map(|(_, a)| a).map(|association| async move {
            gone(
                ec2.disassociate_route_table()
                    .association_id(association)
                    .send()
                    .await
                    .classify("DisassociateRouteTable"),
            )
        }));
        tokio::try_join!(groups, associations)?;
        all(c.subnets.iter().map(|subnet| async move {
            gone(ec2.delete_subnet().subnet_id(subnet).send().await.classify("DeleteSubnet"))
        }))
        .await?;
        all(c.route_tables.iter().map(|(table, _)| async move {
            gone(ec2.delete_route_table().route_table_id(table).send().await.classify("DeleteRouteTable"))
        }))
        .await?;
        if let Some(dhcp) = &c.dhcp_options {
            // Hand the VPC back the default set so ours can go before the VPC does.
            gone(
                ec2.associate_dhcp_options()
                    .dhcp_options_id("default")
                    .vpc_id(&c.vpc_id)
                    .send()
                    .await
                    .classify("AssociateDhcpOptions"),
            )?;
            gone(ec2.delete_dhcp_options().dhcp_options_id(dhcp).send().await.classify("DeleteDhcpOptions"))?;
        }
        Ok(())
    }

    async fn revoke_all(&self, group_id: &str) -> Result<(), CloudError> {
        let out =
            self.ec2.describe_security_groups().group_ids(group_id).send().await.classify("DescribeSecurityGroups")?;
        let Some(g) = out.security_groups().first() else { return Ok(()) };
        if !g.ip_permissions().is_empty() {
            self.ec2
                .revoke_security_group_ingress()
                .group_id(group_id)
                .set_ip_permissions(Some(g.ip_permissions().to_vec()))
                .send()
                .await
                .classify("RevokeSecurityGroupIngress")?;
        }
        if !g.ip_permissions_egress().is_empty() {
            self.ec2
                .revoke_security_group_egress()
                .group_id(group_id)
                .set_ip_permissions(Some(g.ip_permissions_egress().to_vec()))
                .send()
                .await
                .classify("RevokeSecurityGroupEgress")?;
        }
        Ok(())
    }
}
