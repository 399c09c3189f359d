//! Reading what exists of an environment: every describe at once, filtered by VPC id or tags.

use super::*;

impl Clients {
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
    pub(super) async fn read_vpc(&self, vpc: &str, live: &mut LiveEnvironment) -> Result<(), CloudError> {
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

    pub(super) async fn internet_gateways_of(&self, vpc_id: Option<&str>) -> Result<Vec<String>, CloudError> {
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
    pub(super) async fn internet_gateways_named(&self, name: &str) -> Result<Vec<(String, Vec<String>)>, CloudError> {
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

    pub(super) async fn vpn_gateways_named(
        &self,
        name: &str,
    ) -> Result<Vec<aws_sdk_ec2::types::VpnGateway>, CloudError> {
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

    pub(super) async fn dhcp_named(&self, name: &str) -> Result<Option<String>, CloudError> {
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
    pub(super) async fn dhcp_configurations(
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

    pub(super) fn s3_service(&self) -> String {
        format!("com.amazonaws.{}.s3", self.region())
    }
}
