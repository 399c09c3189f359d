//! Tests of `vpc_plan.rs`.

use super::*;
use crate::config::VpcConfig;
use crate::environment::{desired, RegionFacts};
use crate::ini::Ini;
use std::path::Path;

fn sample() -> EnvironmentSpec {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/vpc.ini");
    let vpc = VpcConfig::new(Ini::load(&path).unwrap());
    let facts = RegionFacts { zones: ["a", "b", "c"].map(String::from).to_vec(), ..RegionFacts::default() };
    desired(&vpc, "demo", "sandbox", &BTreeMap::new(), &facts).unwrap()
}

#[test]
fn a_new_environment_is_planned_in_few_levels() {
    let plan = plan_environment(&sample(), &LiveEnvironment::default(), "2026-11-22T00:00:00Z").unwrap();
    let count = |f: fn(&Step) -> bool| plan.steps.iter().filter(|s| f(&s.step.action)).count();
    assert_eq!(count(|s| matches!(s, Step::CreateSubnet { .. })), 12);
    assert_eq!(count(|s| matches!(s, Step::CreateRouteTable { .. })), 12);
    assert_eq!(count(|s| matches!(s, Step::AssociateRouteTable { .. })), 12);
    assert_eq!(count(|s| matches!(s, Step::CreateSecurityGroup { .. })), 4);
    assert_eq!(count(|s| matches!(s, Step::AuthorizeIngress { .. })), 4);
    assert_eq!(count(|s| matches!(s, Step::CreateNatGateway { .. })), 3);
    // igw routes: tunnel, dmz, maintenance × 3 zones; NAT default route: intranet × 3.
    assert_eq!(count(|s| matches!(s, Step::CreateRoute { .. })), 12);
    // VPC → subnet/table/group → association, rules, NAT → NAT routes.
    assert_eq!(plan.depth(), 4);
    let levels = plan.levels();
    assert!(levels[0].iter().any(|s| matches!(s.step.action, Step::CreateVpc { .. })));
    assert!(levels[3]
        .iter()
        .all(|s| matches!(s.step.action, Step::CreateRoute { target: RouteTarget::NatGateway(_), .. })));
    // Every step comes after what it needs.
    for s in &plan.steps {
        for need in &s.step.needs {
            if let Some(p) = plan.steps.iter().find(|p| p.step.provides.as_ref() == Some(need)) {
                assert!(p.level < s.level && p.id < s.id, "{s:?} needs {p:?}");
            }
        }
    }
    let vpc = plan.steps.iter().find_map(|s| match &s.step.action {
        Step::CreateVpc { tags, .. } => Some(tags.clone()),
        _ => None,
    });
    assert_eq!(vpc.unwrap()["create_date"], "2026-11-22T00:00:00Z");
}

#[test]
fn a_complete_environment_needs_nothing_and_a_partial_one_only_the_rest() {
    let spec = sample();
    let full = plan_environment(&spec, &LiveEnvironment::default(), "d").unwrap();
    let mut live = LiveEnvironment::default();
    for s in &full.steps {
        if let Some(k) = &s.step.provides {
            live.ids.insert(k.clone(), format!("id-{}", s.id));
        }
    }
    live.vpc_dhcp_options = live.ids.get(&Key::DhcpOptions).cloned();
    live.s3_endpoint = true;
    for (meta, m) in &spec.metanetworks {
        live.rules.insert(*meta, m.sg_rules.clone());
        for s in &m.subnets {
            live.associated.insert((*meta, s.zone.clone()));
            let igw = live.ids[&Key::InternetGateway].clone();
            let mut routes: BTreeMap<String, String> =
                m.igw_routes.iter().map(|c| (c.to_string(), igw.clone())).collect();
            if let Some(via) = m.nat_route_via {
                routes
                    .insert("0.0.0.0/0".into(), live.ids[&Key::NatGateway { meta: via, zone: s.zone.clone() }].clone());
            }
            live.subnet_cidrs.insert((*meta, s.zone.clone()), s.cidr.to_string());
            live.routes.insert((*meta, s.zone.clone()), routes);
        }
    }
    assert!(plan_environment(&spec, &live, "d").unwrap().is_empty());

    // Interrupted after the subnets of one zone were made: only the rest is planned.
    live.ids.remove(&Key::Subnet { meta: Metanetwork::Dmz, zone: "b".into() });
    live.associated.remove(&(Metanetwork::Dmz, "b".into()));
    let rest = plan_environment(&spec, &live, "d").unwrap();
    let steps: Vec<String> = rest.steps.iter().map(|s| s.step.to_string()).collect();
    assert_eq!(steps, ["create subnet demo_dmz_b 10.200.9.0/24", "associate route table dmz b"]);
    assert_eq!(rest.depth(), 2);
    live.ids.insert(Key::Subnet { meta: Metanetwork::Dmz, zone: "b".into() }, "subnet-b".into());
    live.associated.insert((Metanetwork::Dmz, "b".into()));

    // Config drift: a rule and a route too many, a route elsewhere, another domain name.
    let foreign = SgRule {
        target: Metanetwork::Dmz,
        protocol: "tcp".into(),
        from_port: 8080,
        to_port: 8080,
        source: crate::net::SgSource::Cidr("192.0.2.0/24".parse().unwrap()),
    };
    live.rules.get_mut(&Metanetwork::Dmz).unwrap().insert(foreign.clone());
    let dmz_a = live.routes.get_mut(&(Metanetwork::Dmz, "a".into())).unwrap();
    dmz_a.insert("198.51.100.0/24".into(), "igw-old".into());
    dmz_a.insert("0.0.0.0/0".into(), "nat-elsewhere".into());
    // A host-bits spelling in the config matches AWS's normal form (no churn).
    let intranet_b = live.routes.get_mut(&(Metanetwork::Intranet, "b".into())).unwrap();
    intranet_b.insert("10.1.0.0/16".into(), "pcx-peer".into());
    live.dhcp_configurations = Some((BTreeMap::from([("domain-name".into(), vec!["old".into()])]), true));
    let plan = plan_environment(&spec, &live, "d").unwrap();
    let steps: Vec<String> = plan.steps.iter().map(|s| s.step.to_string()).collect();
    let delete_old = format!("delete the previous DHCP options {}", live.ids[&Key::DhcpOptions]);
    assert_eq!(
        steps,
        [
            "create DHCP options domain-name=sandbox.sila.internal domain-name-servers=AmazonProvidedDNS ntp-servers=10.200.4.5",
            "associate DHCP options",
            delete_old.as_str(),
            "revoke 1 ingress rule(s) on dmz",
            "route 0.0.0.0/0 via internet gateway instead in dmz a",
            "delete route 198.51.100.0/24 in dmz a",
        ]
    );
    assert!(plan.destructive().is_empty());
    match &plan.steps[3].step.action {
        Step::RevokeIngress { rules, .. } => assert_eq!(rules, &[foreign]),
        other => panic!("{other:?}"),
    }

    // A metanetwork the config no longer has is destructive, after the other groups' revokes.
    let mut smaller = spec.clone();
    smaller.metanetworks.remove(&Metanetwork::Maintenance);
    let plan = plan_environment(&smaller, &live, "d").unwrap();
    let removal = plan.destructive();
    assert_eq!(removal.len(), 1);
    assert!(matches!(removal[0].step.action, Step::RemoveMetanetwork { meta: Metanetwork::Maintenance }));
    let revokes: Vec<_> = plan.steps.iter().filter(|s| matches!(s.step.action, Step::RevokeIngress { .. })).collect();
    assert!(revokes.iter().all(|r| r.level < removal[0].level), "{revokes:?} then {removal:?}");
}

#[test]
fn dhcp_options_are_compared_as_sets() {
    let spec = sample();
    let mut live = LiveEnvironment::default();
    live.ids.insert(Key::Vpc, "vpc-1".into());
    live.ids.insert(Key::DhcpOptions, "dopt-1".into());
    live.vpc_dhcp_options = Some("dopt-1".into());
    // What Asiaq sends: both DNS options, each AmazonProvidedDNS, and the options in its order.
    let mut asiaq = spec.dhcp.configurations();
    asiaq.insert("domain-name-servers".into(), vec!["AmazonProvidedDNS".into(), "AmazonProvidedDNS".into()]);
    live.dhcp_configurations = Some((asiaq.clone(), true));
    let plan = plan_environment(&spec, &live, "d").unwrap();
    assert!(!plan.steps.iter().any(|s| matches!(s.step.action, Step::CreateDhcpOptions { .. })), "{:?}", plan.steps);
    // A real difference still replaces the set.
    asiaq.insert("ntp-servers".into(), vec!["10.9.9.9".into()]);
    live.dhcp_configurations = Some((asiaq, true));
    let plan = plan_environment(&spec, &live, "d").unwrap();
    assert!(plan.steps.iter().any(|s| matches!(s.step.action, Step::CreateDhcpOptions { .. })));
}

#[test]
fn routes_are_a_set() {
    let mut spec = sample();
    let dmz = spec.metanetworks.get_mut(&Metanetwork::Dmz).unwrap();
    dmz.igw_routes = ["10.1.0.22/16", "10.1.0.0/16", "0.0.0.0/0", "0.0.0.0/0"].map(|c| c.parse().unwrap()).to_vec();
    let plan = plan_environment(&spec, &LiveEnvironment::default(), "d").unwrap();
    let dmz_a: Vec<String> = plan
        .steps
        .iter()
        .filter_map(|s| match &s.step.action {
            Step::CreateRoute { meta: Metanetwork::Dmz, zone, destination, .. } if zone == "a" => {
                Some(destination.clone())
            }
            _ => None,
        })
        .collect();
    assert_eq!(dmz_a, ["10.1.0.0/16", "0.0.0.0/0"]);
}

#[test]
fn moving_the_vpn_gateway_from_another_vpc_is_destructive() {
    let spec = sample();
    let mut live = LiveEnvironment::default();
    live.ids.insert(Key::VpnGateway, "vgw-1".into());
    live.vpn_gateway_elsewhere = Some("vpc-other".into());
    let plan = plan_environment(&spec, &live, "d").unwrap();
    let destructive: Vec<String> = plan.destructive().iter().map(|s| s.step.to_string()).collect();
    assert_eq!(destructive, ["move VPN gateway from vpc-other to this VPC (detaching it cuts vpc-other off)"]);
    live.vpn_gateway_elsewhere = None;
    assert!(plan_environment(&spec, &live, "d").unwrap().destructive().is_empty());
}

#[test]
fn a_subnet_the_config_moved_is_refused() {
    let spec = sample();
    let mut live = LiveEnvironment::default();
    live.subnet_cidrs.insert((Metanetwork::Tunnel, "a".into()), "10.200.99.0/24".into());
    let err = plan_environment(&spec, &live, "d").unwrap_err();
    assert_eq!(
        err.to_string(),
        "subnet demo_tunnel_a is 10.200.99.0/24 but the config wants 10.200.4.0/24; update cannot move a subnet"
    );
}
