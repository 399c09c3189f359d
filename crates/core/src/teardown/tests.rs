//! The destroy plan's order: what waits for what, and that nothing waits for more than AWS needs.

use super::*;

fn sandbox() -> VpcContents {
    VpcContents {
        vpc_id: "vpc-1".into(),
        name: "sandbox".into(),
        instances: vec!["i-1".into()],
        autoscaling_groups: vec!["web".into()],
        launch_templates: vec![LaunchTemplateRef { id: "lt-1".into(), name: "web".into() }],
        nat_gateways: vec![("nat-a".into(), vec!["eip-a".into()]), ("nat-b".into(), vec!["eip-b".into()])],
        dynamic_addresses: vec!["eip-b".into()],
        endpoints: vec!["vpce-1".into()],
        internet_gateways: vec!["igw-1".into()],
        vpn_gateways: vec!["vgw-1".into()],
        network_interfaces: vec!["eni-1".into()],
        security_groups: vec!["sg-1".into(), "sg-2".into()],
        subnets: vec!["subnet-a".into(), "subnet-b".into()],
        route_tables: vec![("rtb-a".into(), vec!["assoc-a".into()]), ("rtb-b".into(), vec!["assoc-b".into()])],
        dhcp_options: Some("dopt-1".into()),
        peerings: vec![Peering {
            id: "pcx-1".into(),
            requester_vpc: "vpc-1".into(),
            accepter_vpc: "vpc-2".into(),
            status: "active".into(),
            name: Some("sandbox-ci".into()),
        }],
        ..VpcContents::default()
    }
}

fn id_of(plan: &Plan<DestroyStep>, shown: &str) -> usize {
    plan.steps.iter().find(|s| s.step.to_string() == shown).unwrap_or_else(|| panic!("no step {shown:?}")).id
}

/// True when `later` waits, directly or through other steps, for `first`.
fn waits_for(plan: &Plan<DestroyStep>, later: usize, first: usize) -> bool {
    plan.steps[later].after.iter().any(|&a| a == first || waits_for(plan, a, first))
}

#[test]
fn every_resource_has_one_destructive_step_and_the_vpc_goes_last() {
    let plan = destroy_plan(&sandbox(), Scope::Environment);
    // groups, template, instances, peering, 2 NATs, 1 address, endpoints, igw, vgw, interfaces,
    // 2 revokes, 2 groups, 2 associations, 2 subnets, 2 tables, DHCP, VPC.
    assert_eq!(plan.steps.len(), 23);
    assert!(plan.steps.iter().all(|s| s.destructive));
    let vpc = id_of(&plan, "delete VPC vpc-1");
    assert_eq!(vpc, plan.steps.len() - 1);
    assert!((0..vpc).all(|other| waits_for(&plan, vpc, other)));
    // Only the dynamic address is released; the other NAT gateway's stays.
    assert!(plan.steps.iter().all(|s| s.step.to_string() != "release elastic IP eip-a"));
}

#[test]
fn each_deletion_waits_for_what_aws_needs_gone_first() {
    let plan = destroy_plan(&sandbox(), Scope::Environment);
    let id = |shown: &str| id_of(&plan, shown);
    let instances = id("terminate the instances left in vpc-1");
    assert!(waits_for(&plan, instances, id("delete autoscaling group(s) web with their instances")));
    assert!(waits_for(
        &plan,
        id("delete launch template web (lt-1)"),
        id("delete autoscaling group(s) web with their instances")
    ));
    assert!(waits_for(&plan, id("release elastic IP eip-b"), id("delete NAT gateway nat-b")));
    assert!(!waits_for(&plan, id("release elastic IP eip-b"), id("delete NAT gateway nat-a")));
    let igw = id("detach and delete internet gateway igw-1");
    assert!(waits_for(&plan, igw, instances) && waits_for(&plan, igw, id("delete NAT gateway nat-a")));
    let interfaces = id("delete the detached network interfaces left");
    for first in [instances, id("delete NAT gateway nat-a"), id("delete VPC endpoint(s) vpce-1")] {
        assert!(waits_for(&plan, interfaces, first));
    }
    // A peering's deletion revokes rules too: the groups' revokes wait for it.
    assert!(waits_for(
        &plan,
        id("revoke the rules of security group sg-1"),
        id("delete peering pcx-1 (vpc-1 - vpc-2) and its routes")
    ));
    // Every group is emptied before any is deleted (groups may reference each other).
    for group in ["sg-1", "sg-2"] {
        let delete = id(&format!("delete security group {group}"));
        assert!(waits_for(&plan, delete, id("revoke the rules of security group sg-1")));
        assert!(waits_for(&plan, delete, id("revoke the rules of security group sg-2")));
        assert!(waits_for(&plan, delete, interfaces));
    }
    for subnet in ["subnet-a", "subnet-b"] {
        let delete = id(&format!("delete subnet {subnet}"));
        for first in [instances, interfaces, id("disassociate route table association assoc-a")] {
            assert!(waits_for(&plan, delete, first));
        }
    }
    let table = id("delete route table rtb-a");
    for first in [id("delete subnet subnet-b"), id("delete peering pcx-1 (vpc-1 - vpc-2) and its routes")] {
        assert!(waits_for(&plan, table, first));
    }
}

#[test]
fn what_does_not_depend_on_anything_starts_at_once() {
    let plan = destroy_plan(&sandbox(), Scope::Environment);
    let first: Vec<String> = plan.levels()[0].iter().map(|s| s.step.to_string()).collect();
    for shown in [
        "delete autoscaling group(s) web with their instances",
        "delete peering pcx-1 (vpc-1 - vpc-2) and its routes",
        "delete NAT gateway nat-a",
        "delete NAT gateway nat-b",
        "delete VPC endpoint(s) vpce-1",
        "detach VPN gateway vgw-1",
        "disassociate route table association assoc-a",
        "delete DHCP options dopt-1",
    ] {
        assert!(first.iter().any(|s| s == shown), "{shown} should start at once: {first:?}");
    }
    // groups → instances → interfaces → security groups/subnets → route tables → VPC.
    assert_eq!(plan.depth(), 6);
}

#[test]
fn a_metanetwork_goes_without_the_vpc_or_its_instances() {
    let part = VpcContents {
        vpc_id: "vpc-1".into(),
        nat_gateways: vec![("nat-a".into(), vec!["eip-a".into()])],
        dynamic_addresses: vec!["eip-a".into()],
        security_groups: vec!["sg-1".into()],
        subnets: vec!["subnet-a".into()],
        route_tables: vec![("rtb-a".into(), vec![])],
        ..VpcContents::default()
    };
    let plan = destroy_plan(&part, Scope::Part);
    let shown: Vec<String> = plan.steps.iter().map(|s| s.step.to_string()).collect();
    assert_eq!(
        shown,
        [
            "delete NAT gateway nat-a",
            "release elastic IP eip-a",
            "delete the detached network interfaces left",
            "revoke the rules of security group sg-1",
            "delete security group sg-1",
            "delete subnet subnet-a",
            "delete route table rtb-a",
        ]
    );
}

#[test]
fn an_empty_vpc_is_one_read_and_one_deletion() {
    let plan = destroy_plan(&VpcContents { vpc_id: "vpc-9".into(), ..VpcContents::default() }, Scope::Environment);
    let shown: Vec<String> = plan.steps.iter().map(|s| s.step.to_string()).collect();
    assert_eq!(shown, ["terminate the instances left in vpc-9", "delete VPC vpc-9"]);
}

#[test]
fn load_balancers_go_after_their_names_and_before_their_groups_subnets_and_gateway() {
    use crate::dns::{ChangeAction, Record, RecordChange};
    let mut c = sandbox();
    c.load_balancers = vec![ElbRef { arn: "arn:lb".into(), name: "sandbox-web".into() }];
    c.target_groups = vec![ElbRef { arn: "arn:tg".into(), name: "sandbox-web-80".into() }];
    let record =
        Record { name: "web-sandbox.example.com.".into(), kind: "A".into(), ttl: None, values: vec![], alias: None };
    c.dns_records = vec![ZoneChange {
        zone_id: "Z1".into(),
        zone_name: "example.com.".into(),
        changes: vec![RecordChange { action: ChangeAction::Delete, record, replaces: None }],
    }];
    let plan = destroy_plan(&c, Scope::Environment);
    let id = |shown: &str| id_of(&plan, shown);
    let lb = id("delete load balancer sandbox-web");
    assert!(waits_for(&plan, lb, id("in zone example.com.: delete A web-sandbox.example.com. (0 )")));
    assert!(waits_for(&plan, id("delete target group sandbox-web-80"), lb));
    for later in ["delete subnet subnet-a", "delete security group sg-1", "detach and delete internet gateway igw-1"] {
        assert!(waits_for(&plan, id(later), lb), "{later} waits for the load balancer");
    }
    assert_eq!(c.summary()[1], ("DNS records (aliases of its load balancers)", 1));
}
