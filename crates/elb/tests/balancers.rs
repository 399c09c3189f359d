//! `sila-elb` against the emulator: an HTTP, an HTTPS and a TCP hostclass get the right load
//! balancers, listeners, target groups, health checks, attributes and alias records (each read back
//! with independent clients); a re-run sends nothing; turning `elb` off takes them away (only with
//! --allow-destructive) and leaves another environment's alone; bad input changes nothing.

use aws_sdk_elasticloadbalancingv2::types::LoadBalancer;
use sila_testkit::{block_on, fixtures, session, Outcome, Session};
use std::collections::BTreeMap;
use std::path::Path;

const BIN: &str = env!("CARGO_BIN_EXE_sila-elb");

const AWS_INI: &str = "\
[disco_aws]
default_environment=ci

[mhcweb]
meta_network=intranet
elb=yes
elb_health_check_url=/health
elb_sticky_app_cookie=JSESSIONID
elb_connection_draining=30
elb_cross_zone_load_balancing=false
domain_name=example.com

[mhcsecure]
meta_network=intranet
elb=yes
elb_port=443
elb_protocol=HTTPS
elb_instance_port=8080
elb_instance_protocol=HTTP
elb_dns_alias=secure
domain_name=example.com

[mhcdb]
meta_network=intranet
elb=yes
elb_port=27017
elb_protocol=TCP
elb_cross_zone_load_balancing=false

[mhcmixed]
meta_network=intranet
elb=yes
elb_port=443, 27017
elb_protocol=HTTPS, TCP

[mhcnocert]
meta_network=intranet
elb=yes
elb_protocol=HTTPS
elb_cert_name=nothing.example.org

[mhcverylonghostclassnameforanlb]
meta_network=intranet
elb=yes

[mhcgopher]
elb=yes
elb_protocol=GOPHER

[mhcnoport]
elb=yes
elb_protocol=TCP
";

fn config(text: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("disco_aws.ini"), text).unwrap();
    dir
}

fn elb(s: &Session, dir: &Path, args: &[&str]) -> Outcome {
    Outcome::of(s.command(BIN).arg("--config-dir").arg(dir).args(args))
}

/// The environment `name` with two intranet subnets, and the zone `example.com`.
fn environment(s: &Session, name: &str, cidr16: &str) -> String {
    let subnets = [
        ("intranet", format!("{cidr16}.1.0/24"), "us-west-2a"),
        ("intranet", format!("{cidr16}.2.0/24"), "us-west-2b"),
    ];
    let subnets: Vec<(&str, &str, &str)> = subnets.iter().map(|(m, c, z)| (*m, c.as_str(), *z)).collect();
    fixtures::environment(&s.ec2(), name, "sandbox", &format!("{cidr16}.0.0/16"), &subnets)
}

fn zone(s: &Session) -> String {
    let out =
        block_on(s.route53().create_hosted_zone().name("example.com").caller_reference("example").send()).unwrap();
    out.hosted_zone().unwrap().id().trim_start_matches("/hostedzone/").to_string()
}

fn load_balancer(s: &Session, name: &str) -> Option<LoadBalancer> {
    let out = block_on(s.elb().describe_load_balancers().send()).unwrap();
    out.load_balancers().iter().find(|l| l.load_balancer_name() == Some(name)).cloned()
}

/// Alias A records of the zone: name → target DNS name.
fn aliases(s: &Session, zone: &str) -> BTreeMap<String, String> {
    let out = block_on(s.route53().list_resource_record_sets().hosted_zone_id(zone).send()).unwrap();
    out.resource_record_sets()
        .iter()
        .filter_map(|r| Some((r.name().to_string(), r.alias_target()?.dns_name().trim_end_matches('.').to_string())))
        .collect()
}

fn lb_attributes(s: &Session, arn: &str) -> BTreeMap<String, String> {
    let out = block_on(s.elb().describe_load_balancer_attributes().load_balancer_arn(arn).send()).unwrap();
    out.attributes().iter().filter_map(|a| Some((a.key()?.to_string(), a.value()?.to_string()))).collect()
}

fn tg_attributes(s: &Session, arn: &str) -> BTreeMap<String, String> {
    let out = block_on(s.elb().describe_target_group_attributes().target_group_arn(arn).send()).unwrap();
    out.attributes().iter().filter_map(|a| Some((a.key()?.to_string(), a.value()?.to_string()))).collect()
}

fn mutating(s: &Session) -> usize {
    s.requests().mutating().len()
}

#[test]
fn http_https_and_tcp_hostclasses_get_their_load_balancers_and_names_and_a_rerun_sends_nothing() {
    let s = session();
    let vpc = environment(&s, "ci", "10.10");
    let zone = zone(&s);
    let cert = block_on(
        s.acm().request_certificate().domain_name("*.example.com").subject_alternative_names("*.example.com").send(),
    )
    .unwrap()
    .certificate_arn()
    .unwrap()
    .to_string();
    let dir = config(AWS_INI);

    // HTTP: an internal application load balancer in the intranet subnets, sticky, draining 30 s.
    let out = elb(&s, dir.path(), &["update", "--hostclass", "mhcweb"]);
    assert_eq!(out.code, Some(0), "{}{}", out.stdout, out.stderr);
    let web = load_balancer(&s, "ci-mhcweb").expect("ci-mhcweb");
    assert_eq!(web.r#type().unwrap().as_str(), "application");
    assert_eq!(web.scheme().unwrap().as_str(), "internal");
    assert_eq!(web.vpc_id(), Some(vpc.as_str()));
    assert_eq!(web.availability_zones().len(), 2);
    assert_eq!(web.security_groups().len(), 1);
    let web_arn = web.load_balancer_arn().unwrap();
    assert_eq!(lb_attributes(&s, web_arn)["idle_timeout.timeout_seconds"], "300");
    let listeners = block_on(s.elb().describe_listeners().load_balancer_arn(web_arn).send()).unwrap();
    let listener = &listeners.listeners()[0];
    assert_eq!((listener.port(), listener.protocol().unwrap().as_str()), (Some(80), "HTTP"));
    let tgs = block_on(s.elb().describe_target_groups().names("ci-mhcweb-80").send()).unwrap();
    let tg = &tgs.target_groups()[0];
    assert_eq!(listener.default_actions()[0].target_group_arn(), tg.target_group_arn());
    assert_eq!(
        (tg.port(), tg.health_check_path(), tg.health_check_interval_seconds()),
        (Some(80), Some("/health"), Some(5))
    );
    let attributes = tg_attributes(&s, tg.target_group_arn().unwrap());
    assert_eq!(attributes["stickiness.type"], "app_cookie");
    assert_eq!(attributes["stickiness.app_cookie.cookie_name"], "JSESSIONID");
    assert_eq!(attributes["deregistration_delay.timeout_seconds"], "30");
    assert_eq!(attributes["load_balancing.cross_zone.enabled"], "false");
    let tags = block_on(s.elb().describe_tags().resource_arns(web_arn).send()).unwrap();
    let tags: BTreeMap<&str, &str> =
        tags.tag_descriptions()[0].tags().iter().filter_map(|t| Some((t.key()?, t.value()?))).collect();
    assert_eq!((tags["hostclass"], tags["environment"], tags["is_testing"]), ("mhcweb", "ci", "0"));
    assert_eq!(aliases(&s, &zone)["mhcweb-ci.example.com."], web.dns_name().unwrap().trim_end_matches('.'));

    // HTTPS: the ACM certificate matched by its wildcard, and the alias name too.
    let out = elb(&s, dir.path(), &["update", "--hostclass", "mhcsecure"]);
    assert_eq!(out.code, Some(0), "{}{}", out.stdout, out.stderr);
    let secure = load_balancer(&s, "ci-mhcsecure").expect("ci-mhcsecure");
    let listeners =
        block_on(s.elb().describe_listeners().load_balancer_arn(secure.load_balancer_arn().unwrap()).send()).unwrap();
    let listener = &listeners.listeners()[0];
    assert_eq!((listener.port(), listener.protocol().unwrap().as_str()), (Some(443), "HTTPS"));
    assert_eq!(listener.certificates()[0].certificate_arn(), Some(cert.as_str()));
    let tgs = block_on(s.elb().describe_target_groups().names("ci-mhcsecure-8080").send()).unwrap();
    assert_eq!(tgs.target_groups()[0].protocol().unwrap().as_str(), "HTTP");
    let names = aliases(&s, &zone);
    assert!(names.contains_key("mhcsecure-ci.example.com.") && names.contains_key("secure.example.com."), "{names:?}");

    // TCP: a network load balancer, cross-zone off as configured.
    let out = elb(&s, dir.path(), &["update", "--hostclass", "mhcdb"]);
    assert_eq!(out.code, Some(0), "{}{}", out.stdout, out.stderr);
    let db = load_balancer(&s, "ci-mhcdb").expect("ci-mhcdb");
    assert_eq!(db.r#type().unwrap().as_str(), "network");
    assert_eq!(lb_attributes(&s, db.load_balancer_arn().unwrap())["load_balancing.cross_zone.enabled"], "false");
    let tgs = block_on(s.elb().describe_target_groups().names("ci-mhcdb-27017").send()).unwrap();
    assert_eq!(tgs.target_groups()[0].protocol().unwrap().as_str(), "TCP");

    // Re-runs: nothing to change, nothing sent.
    s.forget_requests();
    for hostclass in ["mhcweb", "mhcsecure", "mhcdb"] {
        let out = elb(&s, dir.path(), &["update", "--hostclass", hostclass]);
        assert_eq!(out.code, Some(0), "{}{}", out.stdout, out.stderr);
        assert!(out.stdout.contains("nothing to change"), "{hostclass}: {}", out.stdout);
    }
    assert_eq!(mutating(&s), 0, "{:?}", s.requests().mutating());

    // Listed by the environment's tags.
    let out = elb(&s, dir.path(), &["list", "--output", "json"]);
    let listed: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let mut names: Vec<&str> = listed.as_array().unwrap().iter().map(|l| l["name"].as_str().unwrap()).collect();
    names.sort_unstable();
    assert_eq!(names, ["ci-mhcdb", "ci-mhcsecure", "ci-mhcweb"]);
}

#[test]
fn turning_elb_off_takes_the_load_balancer_away_and_leaves_another_environments() {
    let s = session();
    environment(&s, "ci", "10.10");
    environment(&s, "qa", "10.11");
    let zone = zone(&s);
    let dir = config(AWS_INI);
    for env in ["ci", "qa"] {
        let out = elb(&s, dir.path(), &["--env", env, "update", "--hostclass", "mhcweb"]);
        assert_eq!(out.code, Some(0), "{}{}", out.stdout, out.stderr);
    }
    let off =
        config(&AWS_INI.replacen("elb=yes\nelb_health_check_url=/health", "elb=no\nelb_health_check_url=/health", 1));

    // Refused without --allow-destructive: nothing changes.
    s.forget_requests();
    let out = elb(&s, off.path(), &["update", "--hostclass", "mhcweb"]);
    assert_eq!(out.code, Some(2), "{}{}", out.stdout, out.stderr);
    assert!(out.stdout.contains("! delete load balancer ci-mhcweb"), "{}", out.stdout);
    assert_eq!(mutating(&s), 0);
    assert!(load_balancer(&s, "ci-mhcweb").is_some());

    let out = elb(&s, off.path(), &["update", "--hostclass", "mhcweb", "--allow-destructive"]);
    assert_eq!(out.code, Some(0), "{}{}", out.stdout, out.stderr);
    assert!(load_balancer(&s, "ci-mhcweb").is_none());
    let groups = block_on(s.elb().describe_target_groups().send()).unwrap();
    let left: Vec<&str> = groups.target_groups().iter().filter_map(|t| t.target_group_name()).collect();
    assert_eq!(left, ["qa-mhcweb-80"], "only the other environment's group is left");
    let names = aliases(&s, &zone);
    assert!(!names.contains_key("mhcweb-ci.example.com."), "{names:?}");
    assert!(names.contains_key("mhcweb-qa.example.com."), "{names:?}");
    assert!(load_balancer(&s, "qa-mhcweb").is_some());

    // delete: asks for --yes off a terminal; then takes qa's away.
    let out = elb(&s, dir.path(), &["--env", "qa", "delete", "--hostclass", "mhcweb"]);
    assert_eq!(out.code, Some(2), "{}", out.stderr);
    assert!(load_balancer(&s, "qa-mhcweb").is_some());
    let out = elb(&s, dir.path(), &["--env", "qa", "delete", "--hostclass", "mhcweb", "--yes"]);
    assert_eq!(out.code, Some(0), "{}{}", out.stdout, out.stderr);
    assert!(load_balancer(&s, "qa-mhcweb").is_none());
    assert!(block_on(s.elb().describe_target_groups().send()).unwrap().target_groups().is_empty());
    assert!(aliases(&s, &zone).is_empty());
}

#[test]
fn bad_input_is_one_line_and_changes_nothing() {
    let s = session();
    environment(&s, "ci", "10.10");
    zone(&s);
    let dir = config(AWS_INI);
    s.forget_requests();
    let cases: [(&[&str], Option<i32>, &str); 7] = [
        (
            &["update", "--hostclass", "mhcmixed"],
            Some(1),
            "disco_aws.ini:34: [mhcmixed] elb_protocol: HTTP(S) and TCP/TLS listeners cannot share",
        ),
        (&["update", "--hostclass", "mhcnocert"], Some(1), "disco_aws.ini:40: [mhcnocert] elb_cert_name: no certificate for nothing.example.org"),
        (&["update", "--hostclass", "mhcnosuch"], Some(2), "--hostclass mhcnosuch:"),
        (&["update", "--hostclass", "mhcverylonghostclassnameforanlb"], Some(1), "disco_aws.ini:44: [mhcverylonghostclassnameforanlb] elb: the load balancer name ci-mhcverylonghostclassnameforanlb is 34 characters; elbv2 allows 32"),
        (&["update", "--hostclass", "mhcgopher"], Some(1), "disco_aws.ini:48: [mhcgopher] elb_protocol: unknown protocol \"GOPHER\""),
        (&["update", "--hostclass", "mhcnoport"], Some(1), "disco_aws.ini:52: [mhcnoport] elb_protocol: TCP needs a port: it has no default"),
        (&["--env", "nosuch", "update", "--hostclass", "mhcweb"], Some(2), "environment nosuch does not exist"),
    ];
    for (args, code, says) in cases {
        let out = elb(&s, dir.path(), args);
        assert_eq!(out.code, code, "{args:?}: {}", out.stderr);
        assert!(out.stderr.contains(says), "{args:?}: {}", out.stderr);
        assert_eq!(out.stderr.trim().lines().count(), 1, "{args:?}: one line: {}", out.stderr);
    }
    assert_eq!(mutating(&s), 0, "{:?}", s.requests().mutating());
}
