//! Spinup, provision and spindown of a load-balanced hostclass: its load balancer, target group and
//! DNS name are made in the same run as its group, which registers with the target group; a re-run
//! sends nothing; a group made before `elb` was set is registered in place; spindown takes the
//! load balancer, its group and its name away. Checked with independent clients.

use sila_testkit::{block_on, fixtures, session, Outcome, Session};
use std::path::Path;

const BIN: &str = env!("CARGO_BIN_EXE_sila-aws");

const CSV: &str = "sequence,hostclass,min_size,desired_size,max_size,instance_type,smoke_test\n\
1,mhcapi,1,1,1,t3.small,no\n\
1,mhcdb,1,1,1,t3.small,no\n\
2,mhcweb,1,1,2,t3.micro,no\n\
2,mhcsecure,1,1,1,t3.micro,no\n";

fn config(dir: &Path, web_elb: bool) {
    let elb = if web_elb { "elb=yes\nelb_health_check_url=/up\n" } else { "" };
    std::fs::write(
        dir.join("aws.ini"),
        format!(
            "[disco_aws]\ndefault_environment=ci\nproject_name=acme\ndefault_meta_network=intranet\n\
             default_domain_name=ci.acme.internal\ndefault_ssh_key_name=None\n\n\
             [mhcweb]\nmeta_network=intranet\n{elb}\n\
             [mhcsecure]\nelb=yes\nelb_port=443\nelb_protocol=HTTPS\nelb_instance_port=8443\nelb_instance_protocol=HTTPS\n\n\
             [mhcdb]\nelb=yes\nelb_port=5432\nelb_protocol=TCP\n"
        ),
    )
    .unwrap();
    std::fs::write(dir.join("vpc.ini"), "[envtype:sandbox]\nami_stage=tested\n").unwrap();
    std::fs::write(dir.join("pipeline.csv"), CSV).unwrap();
}

fn sila(s: &Session, dir: &Path, args: &[&str]) -> Outcome {
    Outcome::of(s.command(BIN).env("USER", "ci-runner").arg("--config-dir").arg(dir).args(args))
}

fn setup(s: &Session) -> String {
    let ec2 = s.ec2();
    let subnets = [("intranet", "10.81.0.0/24", "us-west-2a"), ("intranet", "10.81.1.0/24", "us-west-2b")];
    fixtures::environment(&ec2, "ci", "sandbox", "10.81.0.0/16", &subnets);
    fixtures::image(&ec2, "mhcapi 0000000100", &[("stage", "tested")]);
    fixtures::image(&ec2, "mhcweb 0000000100", &[("stage", "tested")]);
    fixtures::image(&ec2, "mhcsecure 0000000100", &[("stage", "tested")]);
    fixtures::image(&ec2, "mhcdb 0000000100", &[("stage", "tested")]);
    block_on(s.acm().request_certificate().domain_name("*.ci.acme.internal").send()).unwrap();
    let zone =
        block_on(s.route53().create_hosted_zone().name("ci.acme.internal").caller_reference("ci").send()).unwrap();
    zone.hosted_zone().unwrap().id().trim_start_matches("/hostedzone/").to_string()
}

/// The target group ARNs of each hostclass's group.
fn registered(s: &Session, hostclass: &str) -> Vec<String> {
    let out = block_on(s.autoscaling().describe_auto_scaling_groups().send()).unwrap();
    out.auto_scaling_groups()
        .iter()
        .filter(|g| g.auto_scaling_group_name().is_some_and(|n| n.starts_with(&format!("ci_{hostclass}_"))))
        .flat_map(|g| g.target_group_arns().to_vec())
        .collect()
}

fn target_group(s: &Session, name: &str) -> Option<String> {
    let out = block_on(s.elb().describe_target_groups().send()).unwrap();
    out.target_groups()
        .iter()
        .find(|t| t.target_group_name() == Some(name))
        .and_then(|t| t.target_group_arn())
        .map(str::to_string)
}

/// (type, listener protocol, listener certificate) of load balancer `name`.
fn load_balancer_kind(s: &Session, name: &str) -> (String, String, Option<String>) {
    let out = block_on(s.elb().describe_load_balancers().names(name).send()).unwrap();
    let lb = &out.load_balancers()[0];
    let listeners =
        block_on(s.elb().describe_listeners().load_balancer_arn(lb.load_balancer_arn().unwrap()).send()).unwrap();
    let l = &listeners.listeners()[0];
    (
        lb.r#type().unwrap().as_str().to_string(),
        l.protocol().unwrap().as_str().to_string(),
        l.certificates().first().and_then(|c| c.certificate_arn()).map(str::to_string),
    )
}

fn load_balancer_dns(s: &Session, name: &str) -> Option<String> {
    let out = block_on(s.elb().describe_load_balancers().send()).unwrap();
    out.load_balancers()
        .iter()
        .find(|l| l.load_balancer_name() == Some(name))
        .and_then(|l| l.dns_name())
        .map(str::to_string)
}

fn alias(s: &Session, zone: &str, name: &str) -> Option<String> {
    let out = block_on(s.route53().list_resource_record_sets().hosted_zone_id(zone).send()).unwrap();
    out.resource_record_sets()
        .iter()
        .find(|r| r.name() == name)
        .and_then(|r| r.alias_target())
        .map(|a| a.dns_name().trim_end_matches('.').to_string())
}

#[test]
fn spinup_puts_the_hostclass_behind_its_load_balancer_and_spindown_takes_it_away() {
    let s = session();
    let zone = setup(&s);
    let dir = tempfile::tempdir().unwrap();
    config(dir.path(), true);
    let csv = dir.path().join("pipeline.csv").display().to_string();

    let out = sila(&s, dir.path(), &["spinup", "--pipeline", &csv, "--dry-run"]);
    assert_eq!(out.code, Some(0), "{out:?}");
    assert!(out.stdout.contains(", behind load balancer ci-mhcweb"), "{}", out.stdout);
    assert!(out.stdout.contains("load balancer ci-mhcweb of mhcweb: plan:"), "{}", out.stdout);
    assert!(load_balancer_dns(&s, "ci-mhcweb").is_none(), "a dry run changes nothing");

    let out = sila(&s, dir.path(), &["spinup", "--pipeline", &csv]);
    assert_eq!(out.code, Some(0), "{out:?}");
    let dns = load_balancer_dns(&s, "ci-mhcweb").expect("the load balancer");
    let tg = target_group(&s, "ci-mhcweb-80").expect("the target group");
    assert_eq!(registered(&s, "mhcweb"), std::slice::from_ref(&tg));
    assert!(registered(&s, "mhcapi").is_empty());
    assert_eq!(alias(&s, &zone, "mhcweb-ci.ci.acme.internal.").as_deref(), Some(dns.trim_end_matches('.')));
    // HTTPS: its certificate found by the wildcard; TCP: a network load balancer.
    let (kind, protocol, certificate) = load_balancer_kind(&s, "ci-mhcsecure");
    assert_eq!((kind.as_str(), protocol.as_str()), ("application", "HTTPS"));
    assert!(certificate.is_some_and(|c| c.contains(":certificate/")));
    assert_eq!(registered(&s, "mhcsecure"), [target_group(&s, "ci-mhcsecure-8443").unwrap()]);
    let (kind, protocol, _) = load_balancer_kind(&s, "ci-mhcdb");
    assert_eq!((kind.as_str(), protocol.as_str()), ("network", "TCP"));
    assert_eq!(registered(&s, "mhcdb"), [target_group(&s, "ci-mhcdb-5432").unwrap()]);

    s.forget_requests();
    let out = sila(&s, dir.path(), &["spinup", "--pipeline", &csv]);
    assert_eq!(out.code, Some(0), "{out:?}");
    assert!(s.requests().mutating().is_empty(), "a re-run sends nothing: {:?}", s.requests().mutating());

    // Another environment's load balancer of the same hostclass, which spindown must leave.
    let qa =
        fixtures::environment(&s.ec2(), "qa", "sandbox", "10.82.0.0/16", &[("intranet", "10.82.0.0/24", "us-west-2a")]);
    let filter = aws_sdk_ec2::types::Filter::builder().name("vpc-id").values(&qa).build();
    let qa_subnet = block_on(s.ec2().describe_subnets().filters(filter).send()).unwrap().subnets()[0]
        .subnet_id()
        .unwrap()
        .to_string();
    let tag = |k: &str, v: &str| aws_sdk_elasticloadbalancingv2::types::Tag::builder().key(k).value(v).build();
    block_on(
        s.elb()
            .create_load_balancer()
            .name("qa-mhcweb")
            .subnets(qa_subnet)
            .tags(tag("hostclass", "mhcweb"))
            .tags(tag("environment", "qa"))
            .tags(tag("is_testing", "0"))
            .send(),
    )
    .unwrap();

    let out = sila(&s, dir.path(), &["spindown", "--pipeline", &csv]);
    assert_eq!(out.code, Some(0), "{out:?}");
    assert!(
        out.stdout.contains("mhcweb: ci_mhcweb_") && out.stdout.contains("load balancer ci-mhcweb"),
        "{}",
        out.stdout
    );
    for (lb, tg) in
        [("ci-mhcweb", "ci-mhcweb-80"), ("ci-mhcsecure", "ci-mhcsecure-8443"), ("ci-mhcdb", "ci-mhcdb-5432")]
    {
        assert!(load_balancer_dns(&s, lb).is_none(), "{lb}");
        assert!(target_group(&s, tg).is_none(), "{tg}");
    }
    assert_eq!(alias(&s, &zone, "mhcweb-ci.ci.acme.internal."), None);
    assert!(load_balancer_dns(&s, "qa-mhcweb").is_some(), "another environment's load balancer stays");
}

#[test]
fn a_group_made_before_elb_was_set_is_registered_in_place() {
    let s = session();
    setup(&s);
    let dir = tempfile::tempdir().unwrap();
    config(dir.path(), false);
    let csv = dir.path().join("pipeline.csv").display().to_string();
    assert_eq!(sila(&s, dir.path(), &["spinup", "--pipeline", &csv]).code, Some(0));
    assert!(registered(&s, "mhcweb").is_empty());

    config(dir.path(), true);
    let out = sila(&s, dir.path(), &["spinup", "--pipeline", &csv]);
    assert_eq!(out.code, Some(0), "{out:?}");
    assert!(out.stdout.contains("~ update (target groups)"), "{}", out.stdout);
    let tg = target_group(&s, "ci-mhcweb-80").expect("the target group");
    assert_eq!(registered(&s, "mhcweb"), [tg]);
}
