//! VPC peering connections between environments: what exists, creating and accepting, routes on
//! both sides, and deleting a peering together with every route through it.

use crate::ec2::RouteVia;
use crate::error::created;
use crate::error::Classify as _;
use crate::error::CloudError;
use crate::finders::{filter, gone, paginated};
use crate::Clients;
use ipnetwork::Ipv4Network;
use sila_core::net::{reconstruct_metanetwork, Metanetwork, VpcRef};
use std::collections::BTreeMap;

/// Peerings in these states count as existing.
const LIVE_STATES: [&str; 3] = ["pending-acceptance", "provisioning", "active"];

pub use sila_core::peering_plan::Peering;

/// A route table of one metanetwork of a VPC, with its routes (destination → target).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetaTable {
    /// `rtb-...`.
    pub id: String,
    /// Its routes.
    pub routes: BTreeMap<String, String>,
}

/// The metanetworks of a VPC: each one's CIDR (rebuilt from its zone subnets) and route tables.
#[derive(Debug, Clone, Default)]
pub struct VpcMetanetworks {
    /// CIDR per metanetwork.
    pub cidrs: BTreeMap<Metanetwork, Ipv4Network>,
    /// Route tables per metanetwork.
    pub tables: BTreeMap<Metanetwork, Vec<MetaTable>>,
    /// Security group per metanetwork, with the CIDRs it admits for all traffic.
    pub groups: BTreeMap<Metanetwork, (String, std::collections::BTreeSet<String>)>,
}

impl Clients {
    /// Every VPC of the region that is an environment (has `Name` and `type` tags).
    pub async fn environments(&self) -> Result<Vec<VpcRef>, CloudError> {
        let vpcs = self.describe_vpcs(&[crate::ec2::Ec2Filter::eq("tag-key", "type")]).await?;
        Ok(vpcs
            .into_iter()
            .filter_map(|v| Some(VpcRef { id: v.vpc_id, name: v.name?, vpc_type: v.vpc_type? }))
            .collect())
    }

    /// The metanetworks of VPC `vpc_id`, from the `meta_network` tags of its subnets and route tables.
    pub async fn vpc_metanetworks(&self, vpc_id: &str) -> Result<VpcMetanetworks, CloudError> {
        let (subnets, tables, groups) = tokio::try_join!(
            self.subnets_in(vpc_id),
            self.route_tables_in(vpc_id),
            self.metanetwork_groups_in(vpc_id)
        )?;
        let meta_of = |tags: &[aws_sdk_ec2::types::Tag]| {
            tags.iter()
                .find(|t| t.key() == Some("meta_network"))
                .and_then(|t| t.value())
                .and_then(Metanetwork::from_name)
        };
        let mut by_meta: BTreeMap<Metanetwork, Vec<Ipv4Network>> = BTreeMap::new();
        for s in &subnets {
            if let (Some(meta), Some(cidr)) = (meta_of(s.tags()), s.cidr_block().and_then(|c| c.parse().ok())) {
                by_meta.entry(meta).or_default().push(cidr);
            }
        }
        let mut result = VpcMetanetworks::default();
        for g in &groups {
            let Some(meta) = meta_of(g.tags()) else { continue };
            let open: std::collections::BTreeSet<String> = g
                .ip_permissions()
                .iter()
                .filter(|p| p.ip_protocol() == Some("-1"))
                .flat_map(|p| p.ip_ranges().iter().filter_map(|r| r.cidr_ip().map(str::to_string)))
                .collect();
            result.groups.insert(meta, (g.group_id().unwrap_or_default().to_string(), open));
        }
        for (meta, nets) in by_meta {
            if let Some(cidr) = reconstruct_metanetwork(&nets) {
                result.cidrs.insert(meta, cidr);
            }
        }
        for t in &tables {
            let Some(meta) = meta_of(t.tags()) else { continue };
            let routes = t
                .routes()
                .iter()
                .filter_map(|r| {
                    let target = r.vpc_peering_connection_id().or(r.gateway_id()).or(r.nat_gateway_id())?;
                    Some((r.destination_cidr_block()?.to_string(), target.to_string()))
                })
                .collect();
            result
                .tables
                .entry(meta)
                .or_default()
                .push(MetaTable { id: t.route_table_id().unwrap_or_default().into(), routes });
        }
        Ok(result)
    }

    /// Live peerings of `vpc_id` (as requester or accepter), or of the whole region.
    pub async fn peerings(&self, vpc_id: Option<&str>) -> Result<Vec<Peering>, CloudError> {
        let query = |side: Option<&'static str>| async move {
            let mut request = self.ec2.describe_vpc_peering_connections().filters(filter("status-code", &LIVE_STATES));
            if let (Some(side), Some(vpc)) = (side, vpc_id) {
                request = request.filters(filter(side, &[vpc]));
            }
            paginated!(request, "DescribeVpcPeeringConnections")
        };
        let found: Vec<aws_sdk_ec2::types::VpcPeeringConnection> = match vpc_id {
            None => query(None).await?,
            Some(_) => {
                let (a, b) = tokio::try_join!(
                    query(Some("requester-vpc-info.vpc-id")),
                    query(Some("accepter-vpc-info.vpc-id"))
                )?;
                a.into_iter().chain(b).collect()
            }
        };
        let mut peerings: Vec<Peering> = found
            .iter()
            .map(|p| Peering {
                id: p.vpc_peering_connection_id().unwrap_or_default().into(),
                requester_vpc: p.requester_vpc_info().and_then(|i| i.vpc_id()).unwrap_or_default().into(),
                accepter_vpc: p.accepter_vpc_info().and_then(|i| i.vpc_id()).unwrap_or_default().into(),
                status: p.status().and_then(|s| s.code()).map(|c| c.as_str().to_string()).unwrap_or_default(),
                name: p.tags().iter().find(|t| t.key() == Some("Name")).and_then(|t| t.value()).map(str::to_string),
            })
            .collect();
        // The filters above already say this; checking the answer too costs nothing and keeps a
        // server that ignores them (the emulator does) from widening a per-VPC operation.
        peerings.retain(|p| LIVE_STATES.contains(&p.status.as_str()));
        if let Some(vpc) = vpc_id {
            peerings.retain(|p| p.requester_vpc == vpc || p.accepter_vpc == vpc);
        }
        peerings.sort_by(|a, b| a.id.cmp(&b.id));
        peerings.dedup();
        Ok(peerings)
    }

    /// Creates a peering from `requester` to `accepter` (same account and region) and accepts it.
    pub async fn create_peering(&self, requester: &str, accepter: &str, name: &str) -> Result<String, CloudError> {
        let tags = aws_sdk_ec2::types::TagSpecification::builder()
            .resource_type(aws_sdk_ec2::types::ResourceType::VpcPeeringConnection)
            .tags(aws_sdk_ec2::types::Tag::builder().key("Name").value(name).build())
            .build();
        let out = self
            .ec2
            .create_vpc_peering_connection()
            .vpc_id(requester)
            .peer_vpc_id(accepter)
            .tag_specifications(tags)
            .send()
            .await
            .classify("CreateVpcPeeringConnection")?;
        let id = created(
            "CreateVpcPeeringConnection",
            out.vpc_peering_connection().and_then(|p| p.vpc_peering_connection_id()),
        )?;
        self.ec2
            .accept_vpc_peering_connection()
            .vpc_peering_connection_id(&id)
            .send()
            .await
            .classify("AcceptVpcPeeringConnection")?;
        Ok(id)
    }

    /// Routes `destination` in `table` through peering `pcx`, replacing a route to elsewhere.
    pub async fn route_via_peering(
        &self,
        table: &str,
        destination: &str,
        pcx: &str,
        replace: bool,
    ) -> Result<(), CloudError> {
        let via = RouteVia::Peering(pcx.to_string());
        if replace {
            self.replace_route(table, destination, &via).await
        } else {
            self.put_route(table, destination, &via).await
        }
    }

    /// Lets all traffic from `cidr` into group `group_id` (a peered metanetwork).
    pub async fn admit_all_from(&self, group_id: &str, cidr: &str) -> Result<(), CloudError> {
        let permission = aws_sdk_ec2::types::IpPermission::builder()
            .ip_protocol("-1")
            .ip_ranges(aws_sdk_ec2::types::IpRange::builder().cidr_ip(cidr).build())
            .build();
        self.authorize_ingress(group_id, vec![permission]).await
    }

    /// Revokes, in the metanetwork groups of `vpc_id`, the all-traffic rules admitting addresses
    /// inside `peer_cidr` (what a peering with that VPC added): a later VPC that reuses the CIDR must
    /// not inherit the access.
    async fn revoke_peer_rules(&self, vpc_id: &str, peer_cidr: Ipv4Network) -> Result<(), CloudError> {
        let groups = self.metanetwork_groups_in(vpc_id).await?;
        for g in &groups {
            let ranges: Vec<aws_sdk_ec2::types::IpRange> = g
                .ip_permissions()
                .iter()
                .filter(|p| p.ip_protocol() == Some("-1"))
                .flat_map(|p| p.ip_ranges().iter())
                .filter(|r| {
                    r.cidr_ip()
                        .and_then(|c| c.parse::<Ipv4Network>().ok())
                        .is_some_and(|c| peer_cidr.contains(c.network()) && c.prefix() >= peer_cidr.prefix())
                })
                .map(|r| aws_sdk_ec2::types::IpRange::builder().cidr_ip(r.cidr_ip().unwrap_or_default()).build())
                .collect();
            if ranges.is_empty() {
                continue;
            }
            let permission =
                aws_sdk_ec2::types::IpPermission::builder().ip_protocol("-1").set_ip_ranges(Some(ranges)).build();
            // A rule (or group) already gone counts as revoked.
            gone(
                self.ec2
                    .revoke_security_group_ingress()
                    .group_id(g.group_id().unwrap_or_default())
                    .ip_permissions(permission)
                    .send()
                    .await
                    .classify("RevokeSecurityGroupIngress"),
            )?;
        }
        Ok(())
    }

    /// Deletes every route through `peering` in both VPCs and the rules that admitted the other
    /// VPC's addresses, then the peering itself.
    pub async fn delete_peering(&self, peering: &Peering) -> Result<(), CloudError> {
        let summaries = self
            .describe_vpcs(&[crate::ec2::Ec2Filter {
                name: "vpc-id".into(),
                values: vec![peering.requester_vpc.clone(), peering.accepter_vpc.clone()],
            }])
            .await?;
        let cidr_of =
            |vpc: &str| summaries.iter().find(|v| v.vpc_id == vpc).and_then(|v| v.cidr.parse::<Ipv4Network>().ok());
        for (vpc, peer) in
            [(&peering.requester_vpc, &peering.accepter_vpc), (&peering.accepter_vpc, &peering.requester_vpc)]
        {
            if let Some(peer_cidr) = cidr_of(peer) {
                self.revoke_peer_rules(vpc, peer_cidr).await?;
            }
        }
        for vpc in [&peering.requester_vpc, &peering.accepter_vpc] {
            let through = self
                .ec2
                .describe_route_tables()
                .filters(filter("vpc-id", &[vpc.as_str()]))
                .filters(filter("route.vpc-peering-connection-id", &[peering.id.as_str()]));
            let tables: Vec<aws_sdk_ec2::types::RouteTable> = paginated!(through, "DescribeRouteTables")?;
            for t in &tables {
                for r in t.routes().iter().filter(|r| r.vpc_peering_connection_id() == Some(peering.id.as_str())) {
                    let Some(destination) = r.destination_cidr_block() else { continue };
                    self.ec2
                        .delete_route()
                        .route_table_id(t.route_table_id().unwrap_or_default())
                        .destination_cidr_block(destination)
                        .send()
                        .await
                        .classify("DeleteRoute")?;
                }
            }
        }
        gone(
            self.ec2
                .delete_vpc_peering_connection()
                .vpc_peering_connection_id(&peering.id)
                .send()
                .await
                .classify("DeleteVpcPeeringConnection"),
        )
    }
}
