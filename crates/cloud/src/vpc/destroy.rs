//! Taking an environment apart: reading everything its VPC holds, by VPC id, and running one step
//! of the plan that deletes it (`sila_core::teardown`, which decides the order).

use super::*;
use sila_core::teardown::{destroy_plan, DestroyStep, Scope, VpcContents};

/// How many deletions of a removed metanetwork run at once.
const TAKE_APART_CONCURRENCY: usize = 16;

impl Clients {
    /// Everything in VPC `vpc_id`.
    pub async fn vpc_contents(&self, vpc_id: &str, name: &str) -> Result<VpcContents, CloudError> {
        let ec2 = &self.ec2;
        let by_vpc = [vpc_id];
        // Every describe is independent: one round trip for all of them, a second for what depends
        // on the first (the NAT gateways' addresses, the subnets' interfaces).
        let (instances, nats, endpoints, igws, vgws, groups, subnets, tables, vpcs, dhcp, peerings, balancing) = tokio::try_join!(
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
            self.vpc_load_balancing(vpc_id),
        )?;
        let (balancers, target_groups) = balancing;
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
        let balancer_names: Vec<String> = balancers.iter().map(|(_, dns)| dns.clone()).collect();
        c.load_balancers = balancers.into_iter().map(|(r, _)| r).collect();
        c.target_groups = target_groups;
        let (dynamic, interfaces, (groups, mut templates), tagged, shared, records) = tokio::try_join!(
            self.dynamic_addresses(&c.nat_gateways),
            self.vpc_interfaces(vpc_id, &c.subnets),
            self.groups_in_subnets(&c.subnets),
            self.vpc_templates(vpc_id),
            shared,
            self.aliases_of(&balancer_names),
        )?;
        c.dns_records = records;
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

    /// Runs one step of a destroy plan; a resource already gone counts as done.
    pub async fn destroy_step(&self, step: &DestroyStep) -> Result<(), CloudError> {
        use aws_sdk_ec2::client::Waiters as _;
        let ec2 = &self.ec2;
        match step {
            DestroyStep::DeleteAutoscalingGroups { names } => self.delete_groups(names).await,
            DestroyStep::DeleteLaunchTemplate { template } => {
                self.delete_launch_templates(std::slice::from_ref(&template.id)).await
            }
            DestroyStep::TerminateInstances { vpc_id } => {
                let remaining = self.live_instances_in(vpc_id).await?;
                self.terminate_instances(&remaining).await
            }
            DestroyStep::DeletePeering { peering } => self.delete_peering(peering).await,
            DestroyStep::DeleteNatGateway { id } => {
                gone(ec2.delete_nat_gateway().nat_gateway_id(id).send().await.classify("DeleteNatGateway"))?;
                tracing::info!("waiting for NAT gateway {id} to be deleted (up to {}s)", NAT_WAIT.as_secs());
                ec2.wait_until_nat_gateway_deleted()
                    .nat_gateway_ids(id)
                    .wait(NAT_WAIT)
                    .await
                    .map(drop)
                    .map_err(|e| CloudError::waiting("NatGatewayDeleted", id, &e))
            }
            DestroyStep::ReleaseAddress { allocation } => {
                gone(ec2.release_address().allocation_id(allocation).send().await.classify("ReleaseAddress"))
            }
            DestroyStep::DeleteEndpoints { ids } => gone(
                ec2.delete_vpc_endpoints()
                    .set_vpc_endpoint_ids(Some(ids.clone()))
                    .send()
                    .await
                    .classify("DeleteVpcEndpoints"),
            ),
            DestroyStep::DeleteInternetGateway { id, vpc_id } => {
                gone(
                    ec2.detach_internet_gateway()
                        .internet_gateway_id(id)
                        .vpc_id(vpc_id)
                        .send()
                        .await
                        .classify("DetachInternetGateway"),
                )?;
                gone(
                    ec2.delete_internet_gateway()
                        .internet_gateway_id(id)
                        .send()
                        .await
                        .classify("DeleteInternetGateway"),
                )
            }
            DestroyStep::DetachVpnGateway { id, vpc_id } => gone(
                ec2.detach_vpn_gateway().vpn_gateway_id(id).vpc_id(vpc_id).send().await.classify("DetachVpnGateway"),
            ),
            DestroyStep::DeleteLeftoverInterfaces { vpc_id, subnets } => {
                let interfaces = self.vpc_interfaces(vpc_id, subnets).await?;
                all(interfaces.iter().map(|eni| async move {
                    gone(
                        ec2.delete_network_interface()
                            .network_interface_id(eni)
                            .send()
                            .await
                            .classify("DeleteNetworkInterface"),
                    )
                }))
                .await
            }
            DestroyStep::RevokeGroupRules { group } => self.revoke_all(group).await,
            DestroyStep::DeleteSecurityGroup { group } => {
                gone(ec2.delete_security_group().group_id(group).send().await.classify("DeleteSecurityGroup"))
            }
            DestroyStep::DisassociateRouteTable { association } => gone(
                ec2.disassociate_route_table()
                    .association_id(association)
                    .send()
                    .await
                    .classify("DisassociateRouteTable"),
            ),
            DestroyStep::DeleteSubnet { id } => {
                gone(ec2.delete_subnet().subnet_id(id).send().await.classify("DeleteSubnet"))
            }
            DestroyStep::DeleteRouteTable { id } => {
                gone(ec2.delete_route_table().route_table_id(id).send().await.classify("DeleteRouteTable"))
            }
            DestroyStep::DeleteDhcpOptions { id, vpc_id } => {
                // Hand the VPC back the default set so ours can go before the VPC does.
                gone(
                    ec2.associate_dhcp_options()
                        .dhcp_options_id("default")
                        .vpc_id(vpc_id)
                        .send()
                        .await
                        .classify("AssociateDhcpOptions"),
                )?;
                gone(ec2.delete_dhcp_options().dhcp_options_id(id).send().await.classify("DeleteDhcpOptions"))
            }
            DestroyStep::DeleteRecords { change } => {
                self.change_records(&change.zone_id, &change.changes, "sila-vpc destroy").await.map(drop)
            }
            DestroyStep::DeleteLoadBalancer { load_balancer } => self.delete_load_balancer(&load_balancer.arn).await,
            DestroyStep::DeleteTargetGroup { target_group } => self.delete_target_group(&target_group.arn).await,
            DestroyStep::DeleteVpc { id } => gone(ec2.delete_vpc().vpc_id(id).send().await.classify("DeleteVpc")),
        }
    }

    /// Deletes what `c` lists (a metanetwork an update removes; not the VPC) by the same plan as
    /// `sila-vpc destroy`, run inside the update's own step.
    pub(super) async fn take_apart(&self, c: &VpcContents) -> Result<(), CloudError> {
        let plan = destroy_plan(c, Scope::Part);
        let ran = sila_core::plan::execute(&plan, TAKE_APART_CONCURRENCY, |s| self.destroy_step(&s.step)).await;
        match ran.failed.into_iter().next() {
            Some((_, e)) => Err(e),
            None => Ok(()),
        }
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
