//! Load balancer plans: made from nothing, a re-run that plans nothing, the changes a config edit
//! makes, what is not ours, and taking it away.

use super::*;
use crate::config::AwsConfig;
use crate::elb::ElbSettings;
use crate::ini::Ini;

fn spec(text: &str) -> LoadBalancerSpec {
    let aws = AwsConfig::new(Ini::parse(std::path::Path::new("aws.ini"), text).unwrap());
    LoadBalancerSpec::of(&ElbSettings::resolve(&aws, "web", "ci").unwrap().unwrap(), "ci", false).unwrap()
}

const WEB: &str = "[web]\nelb=yes\nelb_health_check_url=/up\ndomain_name=example.com\n";

fn place() -> Placement {
    Placement {
        subnets: vec!["subnet-a".into(), "subnet-b".into()],
        security_groups: vec!["sg-1".into()],
        certificate: None,
        vpc_id: "vpc-1".into(),
    }
}

fn zone() -> Zone {
    Zone { id: "Z1".into(), name: "example.com.".into(), private: false, records: 2 }
}

/// What exists after `spec` was applied.
fn applied(s: &LoadBalancerSpec) -> ElbLive {
    let lb = LiveLoadBalancer {
        arn: "arn:lb".into(),
        name: s.name.clone(),
        kind: s.kind.as_str().into(),
        internal: s.internal,
        dns_name: "ci-web-1.elb.example".into(),
        canonical_zone: "ZLB".into(),
        subnets: place().subnets,
        security_groups: place().security_groups,
        attributes: s.attributes.clone(),
        tags: s.tags.clone(),
        listeners: s
            .listeners
            .iter()
            .map(|l| LiveListener {
                arn: format!("arn:listener:{}", l.port),
                port: l.port,
                protocol: l.protocol.as_str().into(),
                target_group: Some(format!("arn:tg:{}", l.target_group)),
                certificate: None,
            })
            .collect(),
    };
    let groups = s
        .target_groups
        .iter()
        .map(|t| LiveTargetGroup {
            arn: format!("arn:tg:{}", t.name),
            name: t.name.clone(),
            port: t.port,
            protocol: t.protocol.as_str().into(),
            health: (t.health.protocol.as_str().into(), t.health.port.to_string(), t.health.path.clone()),
            attributes: t.attributes.clone(),
            tags: s.tags.clone(),
        })
        .collect();
    let records = s.dns_names.iter().map(|n| alias_record(n, &lb)).collect();
    ElbLive { load_balancer: Some(lb), target_groups: groups, zone: Some((zone(), records)) }
}

fn shown(plan: &Plan<ElbStep>) -> Vec<String> {
    plan.steps.iter().map(|s| s.step.to_string()).collect()
}

#[test]
fn from_nothing_the_groups_and_load_balancer_come_first_then_listener_and_name() {
    let s = spec(WEB);
    let live = ElbLive { zone: Some((zone(), Vec::new())), ..ElbLive::default() };
    let plan = plan_update(&s, &place(), &live).unwrap();
    assert_eq!(
        shown(&plan),
        [
            "create target group ci-web-80 (HTTP 80)",
            "set deregistration_delay.timeout_seconds=300, load_balancing.cross_zone.enabled=true, stickiness.enabled=false on target group ci-web-80",
            "create application load balancer ci-web (internal)",
            "set idle_timeout.timeout_seconds=300 on load balancer ci-web",
            "create listener HTTP 80 → ci-web-80",
            "point web-ci.example.com. at the load balancer (alias in example.com.)",
        ]
    );
    assert_eq!(plan.depth(), 2, "groups and load balancer together, then what needs them");
    let attributes = &plan.steps[1];
    assert_eq!(attributes.after, [0], "a target group's attributes wait only for it");
    assert!(plan.destructive().is_empty());
}

#[test]
fn a_rerun_plans_nothing() {
    let s = spec(WEB);
    assert!(plan_update(&s, &place(), &applied(&s)).unwrap().is_empty());
}

#[test]
fn config_edits_change_only_what_differs() {
    let before = spec(WEB);
    let after = spec(
        "[web]\nelb=yes\nelb_health_check_url=/ready\nelb_port=8080\nelb_protocol=HTTP\nelb_instance_port=80\nelb_idle_timeout=60\ndomain_name=example.com\n",
    );
    let plan = plan_update(&after, &place(), &applied(&before)).unwrap();
    assert_eq!(
        shown(&plan),
        [
            "update target group ci-web-80 (health check, attributes)",
            "set idle_timeout.timeout_seconds=60 on load balancer ci-web",
            "create listener HTTP 8080 → ci-web-80",
            "delete listener 80",
        ]
    );
    assert_eq!(plan.destructive().len(), 1);
}

#[test]
fn another_kind_or_scheme_replaces_the_load_balancer() {
    let before = spec(WEB);
    let after = spec("[web]\nelb=yes\nelb_public=yes\ndomain_name=example.com\n");
    let plan = plan_update(&after, &place(), &applied(&before)).unwrap();
    let first = &plan.steps.iter().find(|s| matches!(s.step, ElbStep::DeleteLoadBalancer { .. })).unwrap();
    assert!(first.destructive);
    assert_eq!(first.reason, "it is internal application; the config says internet-facing application");
    assert!(shown(&plan).contains(&"create application load balancer ci-web (internet-facing)".to_string()));
}

#[test]
fn what_is_not_ours_is_refused_and_left_alone() {
    let s = spec(WEB);
    let mut live = applied(&s);
    live.load_balancer.as_mut().unwrap().tags.insert("environment".into(), "prod".into());
    assert!(plan_update(&s, &place(), &live).unwrap_err().contains("is not hostclass web's"));
    assert!(plan_delete(&s, &live).unwrap_err().contains("is not hostclass web's"));

    let mut live = ElbLive { zone: Some((zone(), Vec::new())), ..ElbLive::default() };
    let foreign = Record {
        name: "web-ci.example.com.".into(),
        kind: "A".into(),
        ttl: Some(60),
        values: vec!["10.0.0.9".into()],
        alias: None,
    };
    live.zone.as_mut().unwrap().1.push(foreign);
    assert!(plan_update(&s, &place(), &live).unwrap_err().contains("already answers 60 10.0.0.9"));
}

#[test]
fn deleting_takes_the_names_then_the_load_balancer_then_its_groups() {
    let s = spec(WEB);
    let mut live = applied(&s);
    let other = Record {
        name: "other.example.com.".into(),
        kind: "CNAME".into(),
        ttl: Some(60),
        values: vec!["x.example.com".into()],
        alias: None,
    };
    live.zone.as_mut().unwrap().1.push(other);
    let plan = plan_delete(&s, &live).unwrap();
    assert_eq!(
        shown(&plan),
        [
            "in zone example.com.: delete A web-ci.example.com. (alias ci-web-1.elb.example.)",
            "delete load balancer ci-web",
            "delete target group ci-web-80",
        ]
    );
    assert_eq!(plan.depth(), 3);
    assert!(plan_delete(&s, &ElbLive::default()).unwrap().is_empty());
}

#[test]
fn a_replaced_load_balancers_old_target_groups_go_after_it() {
    let before = spec(WEB);
    let after = spec("[web]\nelb=yes\nelb_public=yes\nelb_instance_port=8080\nelb_instance_protocol=HTTP\nelb_port=80\nelb_protocol=HTTP\ndomain_name=example.com\n");
    let plan = plan_update(&after, &place(), &applied(&before)).unwrap();
    let delete_lb = plan.steps.iter().find(|s| matches!(s.step, ElbStep::DeleteLoadBalancer { .. })).unwrap().id;
    let old_group = plan.steps.iter().find(|s| s.step.to_string() == "delete target group ci-web-80").unwrap();
    assert!(old_group.after.contains(&delete_lb), "{:?}", old_group.after);
    assert!(shown(&plan).contains(&"create target group ci-web-8080 (HTTP 8080)".to_string()));
}
