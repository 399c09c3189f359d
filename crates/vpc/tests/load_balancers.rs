//! `sila-vpc destroy` of an environment with load balancers: their alias records, the load
//! balancers and their target groups go before the subnets; another environment's load balancer
//! and its record, and a record that is not an alias of ours, stay.

use aws_sdk_elasticloadbalancingv2::types::{Action, ActionTypeEnum, LoadBalancerSchemeEnum};
use aws_sdk_route53::types::{
    AliasTarget, Change, ChangeAction, ChangeBatch, ResourceRecord, ResourceRecordSet, RrType,
};
use sila_testkit::{block_on, fixtures, project_root, session, Outcome, Session};

const BIN: &str = env!("CARGO_BIN_EXE_sila-vpc");

fn subnets_of(s: &Session, vpc: &str) -> Vec<String> {
    let filter = aws_sdk_ec2::types::Filter::builder().name("vpc-id").values(vpc).build();
    let out = block_on(s.ec2().describe_subnets().filters(filter).send()).unwrap();
    out.subnets().iter().filter_map(|s| s.subnet_id().map(str::to_string)).collect()
}

/// An internet-facing application load balancer `name` over `subnets`, with a target group and
/// a listener; its DNS name and canonical zone.
fn load_balancer(s: &Session, name: &str, vpc: &str, subnets: &[String]) -> (String, String) {
    let elb = s.elb();
    block_on(async {
        let lb = elb
            .create_load_balancer()
            .name(name)
            .scheme(LoadBalancerSchemeEnum::InternetFacing)
            .set_subnets(Some(subnets.to_vec()))
            .send()
            .await
            .unwrap();
        let lb = lb.load_balancers()[0].clone();
        let tg = elb
            .create_target_group()
            .name(format!("{name}-80"))
            .protocol(aws_sdk_elasticloadbalancingv2::types::ProtocolEnum::Http)
            .port(80)
            .vpc_id(vpc)
            .send()
            .await
            .unwrap();
        let tg = tg.target_groups()[0].target_group_arn().unwrap().to_string();
        elb.create_listener()
            .load_balancer_arn(lb.load_balancer_arn().unwrap())
            .port(80)
            .protocol(aws_sdk_elasticloadbalancingv2::types::ProtocolEnum::Http)
            .default_actions(Action::builder().r#type(ActionTypeEnum::Forward).target_group_arn(tg).build())
            .send()
            .await
            .unwrap();
        (lb.dns_name().unwrap().to_string(), lb.canonical_hosted_zone_id().unwrap().to_string())
    })
}

fn record(name: &str, alias: Option<(&str, &str)>) -> Change {
    let mut set = ResourceRecordSet::builder().name(name);
    set = match alias {
        Some((dns, zone)) => set.r#type(RrType::A).alias_target(
            AliasTarget::builder().dns_name(dns).hosted_zone_id(zone).evaluate_target_health(false).build().unwrap(),
        ),
        None => set
            .r#type(RrType::Cname)
            .ttl(60)
            .resource_records(ResourceRecord::builder().value("elsewhere.example.org").build().unwrap()),
    };
    Change::builder().action(ChangeAction::Upsert).resource_record_set(set.build().unwrap()).build().unwrap()
}

fn record_names(s: &Session, zone: &str) -> Vec<String> {
    let out = block_on(s.route53().list_resource_record_sets().hosted_zone_id(zone).send()).unwrap();
    out.resource_record_sets()
        .iter()
        .filter(|r| matches!(r.r#type(), RrType::A | RrType::Cname))
        .map(|r| r.name().to_string())
        .collect()
}

#[test]
fn destroy_takes_the_load_balancers_their_groups_and_alias_records_and_nothing_else() {
    let s = session();
    let out = Outcome::of(
        s.command(BIN).arg("--config-dir").arg(project_root()).args(["create", "--name", "demo", "--type", "sandbox"]),
    );
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let filter = aws_sdk_ec2::types::Filter::builder().name("tag:Name").values("demo").build();
    let demo =
        block_on(s.ec2().describe_vpcs().filters(filter).send()).unwrap().vpcs()[0].vpc_id().unwrap().to_string();
    let other = fixtures::environment(
        &s.ec2(),
        "other",
        "sandbox",
        "10.77.0.0/16",
        &[("dmz", "10.77.1.0/24", "us-west-2a"), ("dmz", "10.77.2.0/24", "us-west-2b")],
    );
    let demo_subnets: Vec<String> = subnets_of(&s, &demo).into_iter().take(2).collect();
    let ours = load_balancer(&s, "demo-mhcweb", &demo, &demo_subnets);
    let theirs = load_balancer(&s, "other-mhcweb", &other, &subnets_of(&s, &other));
    let zone = block_on(s.route53().create_hosted_zone().name("example.com").caller_reference("z").send()).unwrap();
    let zone = zone.hosted_zone().unwrap().id().trim_start_matches("/hostedzone/").to_string();
    let batch = ChangeBatch::builder()
        .changes(record("mhcweb-demo.example.com", Some((&ours.0, &ours.1))))
        .changes(record("mhcweb-other.example.com", Some((&theirs.0, &theirs.1))))
        .changes(record("www.example.com", None))
        .build()
        .unwrap();
    block_on(s.route53().change_resource_record_sets().hosted_zone_id(&zone).change_batch(batch).send()).unwrap();

    let out = Outcome::of(s.command(BIN).arg("--config-dir").arg(project_root()).args([
        "destroy",
        "--name",
        "demo",
        "--dry-run",
    ]));
    assert!(
        out.stdout.contains("load balancers ") && out.stdout.contains("DNS records (aliases of its load balancers)"),
        "{}",
        out.stdout
    );
    let out = Outcome::of(
        s.command(BIN).arg("--config-dir").arg(project_root()).args(["destroy", "--name", "demo", "--yes"]),
    );
    assert_eq!(out.code, Some(0), "{}{}", out.stdout, out.stderr);

    let balancers = block_on(s.elb().describe_load_balancers().send()).unwrap();
    let left: Vec<&str> = balancers.load_balancers().iter().filter_map(|l| l.load_balancer_name()).collect();
    assert_eq!(left, ["other-mhcweb"]);
    let groups = block_on(s.elb().describe_target_groups().send()).unwrap();
    let left: Vec<&str> = groups.target_groups().iter().filter_map(|t| t.target_group_name()).collect();
    assert_eq!(left, ["other-mhcweb-80"]);
    let mut names = record_names(&s, &zone);
    names.sort();
    assert_eq!(names, ["mhcweb-other.example.com.", "www.example.com."]);
    let filter = aws_sdk_ec2::types::Filter::builder().name("vpc-id").values(&demo).build();
    assert!(block_on(s.ec2().describe_vpcs().filters(filter).send()).unwrap().vpcs().is_empty());
}
