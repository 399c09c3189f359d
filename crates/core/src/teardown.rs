//! Taking an environment apart: what a VPC holds ([`VpcContents`], filled in by `sila-cloud` by
//! VPC id) and the plan that deletes it, one step per resource ([`DestroyStep`]). Each step waits
//! only for what AWS needs gone before it (a subnet for the instances, NAT gateways and interfaces
//! in it; a security group for its rules and users; the VPC for everything), so deletions that do
//! not depend on each other run together on the plan kernel's runner. `sila-vpc destroy` takes the
//! whole environment; `sila-vpc update` takes a removed metanetwork apart with the same plan.

use crate::dns::ZoneChange;
use crate::peering_plan::Peering;
use crate::plan::Plan;
use serde::Serialize;
use std::fmt;

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
    /// ([`crate::environment::VPC_ID_TAG`]); never one just because of its `environment` tag.
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
    pub peerings: Vec<Peering>,
    /// Load balancers in the VPC.
    pub load_balancers: Vec<ElbRef>,
    /// Target groups in the VPC.
    pub target_groups: Vec<ElbRef>,
    /// Alias records (in any zone) that point at those load balancers, one change per zone; no
    /// other record is touched.
    pub dns_records: Vec<ZoneChange>,
}

/// A load balancer or target group, by ARN and name.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ElbRef {
    /// Its ARN.
    pub arn: String,
    /// Its name.
    pub name: String,
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
            ("DNS records (aliases of its load balancers)", self.dns_records.iter().map(|z| z.changes.len()).sum()),
            ("load balancers", self.load_balancers.len()),
            ("target groups", self.target_groups.len()),
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

/// One deletion. Every step counts a resource that is already gone as done, so a destroy that
/// stopped half-way is finished by running it again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum DestroyStep {
    /// Force-delete these autoscaling groups (with their instances) and wait until they are gone.
    DeleteAutoscalingGroups {
        /// Group names.
        names: Vec<String>,
    },
    /// Delete a launch template (after the groups that used it).
    DeleteLaunchTemplate {
        /// The template.
        template: LaunchTemplateRef,
    },
    /// Terminate the instances still running in the VPC when the step runs (those outside any
    /// group, and any a group left behind) and wait until they are terminated.
    TerminateInstances {
        /// The VPC.
        vpc_id: String,
    },
    /// Delete a peering connection with every route through it, on both sides.
    DeletePeering {
        /// The peering.
        peering: Peering,
    },
    /// Delete a NAT gateway and wait until it is deleted.
    DeleteNatGateway {
        /// `nat-...`.
        id: String,
    },
    /// Release an elastic IP a NAT gateway of the VPC used and Sila allocated (`dynamic=true`).
    ReleaseAddress {
        /// `eipalloc-...`.
        allocation: String,
    },
    /// Delete the VPC endpoints (one call for all).
    DeleteEndpoints {
        /// `vpce-...` ids.
        ids: Vec<String>,
    },
    /// Detach an internet gateway from the VPC and delete it.
    DeleteInternetGateway {
        /// `igw-...`.
        id: String,
        /// The VPC it is attached to.
        vpc_id: String,
    },
    /// Detach a VPN gateway from the VPC (kept: it is not the environment's to delete).
    DetachVpnGateway {
        /// `vgw-...`.
        id: String,
        /// The VPC it is attached to.
        vpc_id: String,
    },
    /// Delete the detached interfaces left in these subnets when the step runs (what a deleted
    /// NAT gateway or instance can leave behind), never one another service manages.
    DeleteLeftoverInterfaces {
        /// The VPC.
        vpc_id: String,
        /// Its subnets being deleted.
        subnets: Vec<String>,
    },
    /// Revoke every rule of a security group (groups may reference each other: all are emptied
    /// before any is deleted).
    RevokeGroupRules {
        /// `sg-...`.
        group: String,
    },
    /// Delete a security group.
    DeleteSecurityGroup {
        /// `sg-...`.
        group: String,
    },
    /// Take a subnet off a route table (deleting a subnet does not always drop it: the emulator
    /// keeps it).
    DisassociateRouteTable {
        /// `rtbassoc-...`.
        association: String,
    },
    /// Delete a subnet.
    DeleteSubnet {
        /// `subnet-...`.
        id: String,
    },
    /// Delete a route table.
    DeleteRouteTable {
        /// `rtb-...`.
        id: String,
    },
    /// Hand the VPC back the default DHCP options set, then delete the environment's own.
    DeleteDhcpOptions {
        /// `dopt-...`.
        id: String,
        /// The VPC that uses it.
        vpc_id: String,
    },
    /// Delete alias records of the VPC's load balancers (one change batch per zone).
    DeleteRecords {
        /// The zone and the records, exactly as read.
        change: ZoneChange,
    },
    /// Delete a load balancer and wait until it is gone (its interfaces go with it).
    DeleteLoadBalancer {
        /// The load balancer.
        load_balancer: ElbRef,
    },
    /// Delete a target group (once no load balancer uses it).
    DeleteTargetGroup {
        /// The target group.
        target_group: ElbRef,
    },
    /// Delete the VPC.
    DeleteVpc {
        /// `vpc-...`.
        id: String,
    },
}

impl fmt::Display for DestroyStep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DestroyStep::DeleteAutoscalingGroups { names } => {
                write!(f, "delete autoscaling group(s) {} with their instances", names.join(", "))
            }
            DestroyStep::DeleteLaunchTemplate { template } => {
                write!(f, "delete launch template {} ({})", template.name, template.id)
            }
            DestroyStep::TerminateInstances { vpc_id } => write!(f, "terminate the instances left in {vpc_id}"),
            DestroyStep::DeletePeering { peering } => {
                write!(
                    f,
                    "delete peering {} ({} - {}) and its routes",
                    peering.id, peering.requester_vpc, peering.accepter_vpc
                )
            }
            DestroyStep::DeleteNatGateway { id } => write!(f, "delete NAT gateway {id}"),
            DestroyStep::ReleaseAddress { allocation } => write!(f, "release elastic IP {allocation}"),
            DestroyStep::DeleteEndpoints { ids } => write!(f, "delete VPC endpoint(s) {}", ids.join(", ")),
            DestroyStep::DeleteInternetGateway { id, .. } => write!(f, "detach and delete internet gateway {id}"),
            DestroyStep::DetachVpnGateway { id, .. } => write!(f, "detach VPN gateway {id}"),
            DestroyStep::DeleteLeftoverInterfaces { .. } => write!(f, "delete the detached network interfaces left"),
            DestroyStep::RevokeGroupRules { group } => write!(f, "revoke the rules of security group {group}"),
            DestroyStep::DeleteSecurityGroup { group } => write!(f, "delete security group {group}"),
            DestroyStep::DisassociateRouteTable { association } => {
                write!(f, "disassociate route table association {association}")
            }
            DestroyStep::DeleteSubnet { id } => write!(f, "delete subnet {id}"),
            DestroyStep::DeleteRouteTable { id } => write!(f, "delete route table {id}"),
            DestroyStep::DeleteDhcpOptions { id, .. } => write!(f, "delete DHCP options {id}"),
            DestroyStep::DeleteRecords { change } => change.fmt(f),
            DestroyStep::DeleteLoadBalancer { load_balancer } => {
                write!(f, "delete load balancer {}", load_balancer.name)
            }
            DestroyStep::DeleteTargetGroup { target_group } => write!(f, "delete target group {}", target_group.name),
            DestroyStep::DeleteVpc { id } => write!(f, "delete VPC {id}"),
        }
    }
}

/// How much of the VPC a plan takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Everything, then the VPC (`sila-vpc destroy`).
    Environment,
    /// What the contents list, and not the VPC (a metanetwork an update removes).
    Part,
}

/// The plan that deletes everything in `c` (and, for [`Scope::Environment`], the instances still
/// running and then the VPC). Every step is destructive. The waits are AWS's dependencies:
/// - groups first, then the instances outside them, then the launch templates the groups used;
/// - the alias records of the VPC's load balancers, then the load balancers, then their target
///   groups;
/// - an internet gateway after the instances, NAT gateways and load balancers (it cannot be
///   detached while a public address is mapped), a NAT gateway's dynamic address after that NAT
///   gateway;
/// - leftover interfaces after the instances, NAT gateways, endpoints and load balancers that left
///   them;
/// - a security group's rules revoked after the peerings (which revoke the rules that admitted
///   the other side), the group after every group's rules are revoked and after everything that
///   used it;
/// - a subnet after what lives in it and its route-table association; a route table after its
///   associations, subnets, peering routes and endpoints; the VPC after everything.
pub fn destroy_plan(c: &VpcContents, scope: Scope) -> Plan<DestroyStep> {
    let mut plan = Plan::new();
    let add = |plan: &mut Plan<DestroyStep>, step: DestroyStep, after: &[usize]| {
        plan.add(step, after.iter().copied()).destructive(true).id
    };
    let groups: Vec<usize> = if c.autoscaling_groups.is_empty() {
        Vec::new()
    } else {
        vec![add(&mut plan, DestroyStep::DeleteAutoscalingGroups { names: c.autoscaling_groups.clone() }, &[])]
    };
    for template in &c.launch_templates {
        add(&mut plan, DestroyStep::DeleteLaunchTemplate { template: template.clone() }, &groups);
    }
    // Read again when it runs: instances launched after the read, or left by a group, go too.
    let instances: Vec<usize> = match scope {
        Scope::Environment => {
            vec![add(&mut plan, DestroyStep::TerminateInstances { vpc_id: c.vpc_id.clone() }, &groups)]
        }
        Scope::Part => groups,
    };
    // The load balancers' names first, then the load balancers (their interfaces are in the
    // subnets, their public addresses keep the internet gateway), then their target groups.
    let records: Vec<usize> =
        c.dns_records.iter().map(|z| add(&mut plan, DestroyStep::DeleteRecords { change: z.clone() }, &[])).collect();
    let balancers: Vec<usize> = c
        .load_balancers
        .iter()
        .map(|lb| add(&mut plan, DestroyStep::DeleteLoadBalancer { load_balancer: lb.clone() }, &records))
        .collect();
    for tg in &c.target_groups {
        add(&mut plan, DestroyStep::DeleteTargetGroup { target_group: tg.clone() }, &balancers);
    }
    let peerings: Vec<usize> =
        c.peerings.iter().map(|p| add(&mut plan, DestroyStep::DeletePeering { peering: p.clone() }, &[])).collect();
    let nats: Vec<(usize, &Vec<String>)> = c
        .nat_gateways
        .iter()
        .map(|(nat, allocations)| (add(&mut plan, DestroyStep::DeleteNatGateway { id: nat.clone() }, &[]), allocations))
        .collect();
    let nat_ids: Vec<usize> = nats.iter().map(|(id, _)| *id).collect();
    for allocation in &c.dynamic_addresses {
        let user: Vec<usize> = nats.iter().filter(|(_, a)| a.contains(allocation)).map(|(id, _)| *id).collect();
        add(&mut plan, DestroyStep::ReleaseAddress { allocation: allocation.clone() }, &user);
    }
    let endpoints: Vec<usize> = if c.endpoints.is_empty() {
        Vec::new()
    } else {
        vec![add(&mut plan, DestroyStep::DeleteEndpoints { ids: c.endpoints.clone() }, &[])]
    };
    let occupants: Vec<usize> = [instances.as_slice(), &nat_ids, &endpoints, &balancers].concat();
    for igw in &c.internet_gateways {
        let after = [instances.as_slice(), &nat_ids, &balancers].concat();
        add(&mut plan, DestroyStep::DeleteInternetGateway { id: igw.clone(), vpc_id: c.vpc_id.clone() }, &after);
    }
    for vgw in &c.vpn_gateways {
        add(&mut plan, DestroyStep::DetachVpnGateway { id: vgw.clone(), vpc_id: c.vpc_id.clone() }, &[]);
    }
    // Interfaces left by the NAT gateways and instances just deleted show up only once they are gone.
    let interfaces: Vec<usize> = if c.subnets.is_empty() {
        Vec::new()
    } else {
        let step = DestroyStep::DeleteLeftoverInterfaces { vpc_id: c.vpc_id.clone(), subnets: c.subnets.clone() };
        vec![add(&mut plan, step, &occupants)]
    };
    let users: Vec<usize> = [occupants.as_slice(), &interfaces].concat();
    // Deleting a peering revokes the rules that admitted the other side: the groups' own revokes
    // and deletions wait for it, so the two never race over one rule.
    let revoke_waits = [instances.as_slice(), &peerings].concat();
    let revokes: Vec<usize> = c
        .security_groups
        .iter()
        .map(|sg| add(&mut plan, DestroyStep::RevokeGroupRules { group: sg.clone() }, &revoke_waits))
        .collect();
    let after_revokes = [revokes.as_slice(), &users].concat();
    for sg in &c.security_groups {
        add(&mut plan, DestroyStep::DeleteSecurityGroup { group: sg.clone() }, &after_revokes);
    }
    let associations: Vec<(usize, &str)> = c
        .route_tables
        .iter()
        .flat_map(|(table, associations)| associations.iter().map(move |a| (table.as_str(), a)))
        .map(|(table, a)| (add(&mut plan, DestroyStep::DisassociateRouteTable { association: a.clone() }, &[]), table))
        .collect();
    let association_ids: Vec<usize> = associations.iter().map(|(id, _)| *id).collect();
    let subnet_waits = [users.as_slice(), &association_ids].concat();
    let subnets: Vec<usize> =
        c.subnets.iter().map(|s| add(&mut plan, DestroyStep::DeleteSubnet { id: s.clone() }, &subnet_waits)).collect();
    for (table, _) in &c.route_tables {
        let own: Vec<usize> = associations.iter().filter(|(_, t)| t == table).map(|(id, _)| *id).collect();
        let after = [own.as_slice(), &subnets, &peerings, &endpoints].concat();
        add(&mut plan, DestroyStep::DeleteRouteTable { id: table.clone() }, &after);
    }
    if let Some(dhcp) = &c.dhcp_options {
        add(&mut plan, DestroyStep::DeleteDhcpOptions { id: dhcp.clone(), vpc_id: c.vpc_id.clone() }, &[]);
    }
    if scope == Scope::Environment {
        let everything: Vec<usize> = (0..plan.steps.len()).collect();
        add(&mut plan, DestroyStep::DeleteVpc { id: c.vpc_id.clone() }, &everything);
    }
    plan
}

#[cfg(test)]
mod tests;
