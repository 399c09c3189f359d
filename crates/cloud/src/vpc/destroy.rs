//! Taking an environment apart: everything its VPC holds, found by VPC id, then the VPC.

use super::*;

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
    pub(super) async fn vpc_interfaces(&self, vpc_id: &str, subnets: &[String]) -> Result<Vec<String>, CloudError> {
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
    pub(super) async fn take_apart(&self, c: &VpcContents) -> Result<(), CloudError> {
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

    pub(super) async fn revoke_all(&self, group_id: &str) -> Result<(), CloudError> {
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
