//! Running one step of an environment's plan.

use super::*;

impl Clients {
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
                Ok(Some((Key::InternetGateway, igw.clone())))
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
                Ok(Some((Key::DhcpOptions, dhcp.clone())))
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
    pub(super) async fn wait_vpn_attachment(&self, vgw: &str, vpc: &str, state: &str) -> Result<(), CloudError> {
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
    pub(super) fn permission(&self, r: &SgRule, ids: &BTreeMap<Key, String>) -> Result<IpPermission, CloudError> {
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
    pub(super) async fn metanetwork_contents(
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
    pub(super) async fn dynamic_addresses(&self, nats: &[(String, Vec<String>)]) -> Result<Vec<String>, CloudError> {
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
    pub(super) async fn nat_address(
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
