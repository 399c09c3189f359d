//! The reference's vectors for port mappings (84-89), names (81-83), health checks (91), defaults
//! (90) and certificates (93), and the configuration errors.

use super::certs::{best_acm, choose, covers, AcmCertificate, ServerCertificate};
use super::names::{asiaq_id, dns_name, load_balancer_name, target_group_name};
use super::ports::{mappings, Endpoint, Mapping, Protocol};
use super::*;
use crate::ini::Ini;

fn m(ip: u16, iproto: Protocol, ep: u16, eproto: Protocol) -> Mapping {
    Mapping { internal: Endpoint { port: ip, protocol: iproto }, external: Endpoint { port: ep, protocol: eproto } }
}

use Protocol::{Http, Https, Tcp, Tls};

#[test]
fn port_mappings_follow_the_reference_vectors() {
    assert_eq!(mappings("", "", "", "").unwrap(), [m(80, Http, 80, Http)]);
    assert_eq!(mappings("80, 80", "HTTP", "443", "HTTPS, HTTPS").unwrap(), [m(80, Http, 443, Https); 2]);
    assert_eq!(
        mappings("80, 80, 27017", "HTTP, HTTP, TCP", "443, 443, 27017", "HTTPS, HTTPS, TCP").unwrap(),
        [m(80, Http, 443, Https), m(80, Http, 443, Https), m(27017, Tcp, 27017, Tcp)]
    );
    assert_eq!(mappings("80", "http", "443", "https").unwrap(), [m(80, Http, 443, Https)]);
    assert_eq!(
        mappings("80, 9001", "HTTP, HTTP", "443, 80, 9002", "HTTPS, HTTP, HTTP").unwrap(),
        [m(80, Http, 443, Https), m(9001, Http, 80, Http), m(9002, Http, 9002, Http)]
    );
    assert_eq!(mappings("80", "HTTP", "", "").unwrap(), [m(80, Http, 80, Http)]);
    assert_eq!(
        mappings("80", "HTTP", "443, 9001", "HTTPS, HTTP").unwrap(),
        [m(80, Http, 443, Https), m(80, Http, 9001, Http)]
    );
    assert_eq!(mappings("", "", "443", "SSL").unwrap(), [m(443, Tls, 443, Tls)]);
}

#[test]
fn ports_and_protocols_that_cannot_be_paired_are_errors() {
    assert!(mappings("", "", "", "TCP").unwrap_err().contains("TCP needs a port"));
    assert!(mappings("", "", "80", "GOPHER").unwrap_err().contains("unknown protocol \"GOPHER\""));
    assert!(mappings("http", "", "", "").unwrap_err().contains("\"http\" is not a port"));
    assert!(mappings("70000", "", "", "").unwrap_err().contains("not a port"));
}

#[test]
fn names_follow_the_reference_vectors() {
    assert_eq!(asiaq_id("unittestenv-mhcunit"), "6e0b48fdffb9f6c0cc717b8b9b061dcc");
    assert_eq!(asiaq_id("unittestenv-mhcunit-test"), "c407e61efb22fe8984d52f25d15e0ebc");
    assert_eq!(asiaq_id("ci-mhcunderscore"), "5de42e4e0ad136d72d993f1ca3af086a");
    assert_eq!(load_balancer_name("ci", "mhc_under_score", false).unwrap(), "ci-mhcunderscore");
    assert_eq!(load_balancer_name("unittestenv", "mhcunit", true).unwrap(), "unittestenv-mhcunit-test");
    let long = load_balancer_name("production", "mhcverylonghostclassname", true).unwrap_err();
    assert!(long.contains("is 40 characters; elbv2 allows 32"), "{long}");
    assert_eq!(target_group_name("ci", "mhc_foo", false, 80), "ci-mhc-foo-80");
    let tg = target_group_name("production", "mhcverylonghostclassname", false, 8080);
    assert_eq!(tg.len(), 32);
    assert!(tg.starts_with("production-mhcverylonghostc"));
    assert_ne!(tg, target_group_name("production", "mhcverylonghostclassname", true, 8080));
    assert_eq!(dns_name("unittestenv", "mhcunit", false, "test.example.com"), "mhcunit-unittestenv.test.example.com");
    assert_eq!(
        dns_name("unittestenv", "mhcunit", true, "test.example.com."),
        "mhcunit-test-unittestenv.test.example.com"
    );
}

#[test]
fn certificates_match_exactly_or_by_one_level_wildcard() {
    let cert = |arn: &str, names: &[&str], issued_at| AcmCertificate {
        arn: arn.into(),
        names: names.iter().map(ToString::to_string).collect(),
        issued_at,
    };
    let exact = cert("exact", &["a.b.c"], 1);
    let wild = cert("wild", &["*.b.c"], 2);
    assert!(covers("a.b.c", "a.b.c") && covers("*.b.c", "a.b.c"));
    assert!(!covers("*.b.c", "*.b.c") && !covers("*.b.c", "") && !covers("*.example.com", ".example.com"));
    assert!(!covers("test.example.com", "test.example") && !covers("*.c", "a.b.c"));
    let api = cert("api", &["api.example.com"], 1);
    let star = cert("star", &["*.example.com"], 2);
    assert_eq!(best_acm(&[star, api], "api.example.com").unwrap().arn, "api", "the longer name wins");
    assert_eq!(best_acm(std::slice::from_ref(&wild), "x.b.c").unwrap().arn, "wild");
    let newer = cert("newer", &["a.b.c"], 9);
    assert_eq!(best_acm(&[exact.clone(), newer], "a.b.c").unwrap().arn, "newer", "then the newest");
    let multi = cert("multi", &["x.y", "a.b.c"], 1);
    assert_eq!(best_acm(&[multi], "a.b.c").unwrap().arn, "multi");
    let iam = [ServerCertificate { arn: "iam-arn".into(), name: "a.b.c".into() }];
    assert_eq!(choose(&[exact], &iam, "a.b.c").as_deref(), Some("exact"), "ACM before IAM");
    assert_eq!(choose(&[], &iam, "a.b.c").as_deref(), Some("iam-arn"));
    assert_eq!(choose(&[], &iam, "other"), None);
}

fn aws(text: &str) -> AwsConfig {
    AwsConfig::new(Ini::parse(std::path::Path::new("aws.ini"), text).unwrap())
}

#[test]
fn a_hostclass_without_elb_has_no_load_balancer() {
    let a = aws("[mhcweb]\nmeta_network=intranet\n[mhcoff]\nelb=no\n");
    assert_eq!(ElbSettings::resolve(&a, "mhcweb", "ci").unwrap(), None);
    assert_eq!(ElbSettings::resolve(&a, "mhcoff", "ci").unwrap(), None);
}

#[test]
fn only_elb_and_a_health_check_url_gives_the_reference_defaults() {
    let a = aws("[disco_aws]\ndefault_domain_name=example.com\n[mhcweb]\nelb=yes\nelb_health_check_url=/foo\nmeta_network=intranet\nproduct_line=web\n");
    let s = ElbSettings::resolve(&a, "mhcweb", "ci").unwrap().unwrap();
    assert_eq!(
        (s.public, s.sticky_cookie.as_deref(), s.idle_timeout, s.draining, s.cross_zone),
        (false, None, 300, 300, true)
    );
    assert_eq!((s.cert_name.as_deref(), s.dns_alias.as_deref()), (None, None));
    let spec = LoadBalancerSpec::of(&s, "ci", false).unwrap();
    assert_eq!((spec.name.as_str(), spec.kind, spec.internal), ("ci-mhcweb", Kind::Application, true));
    assert_eq!(spec.meta_network.as_deref(), Some("intranet"));
    assert_eq!(spec.listeners, [ListenerSpec { port: 80, protocol: Http, target_group: "ci-mhcweb-80".into() }]);
    let tg = &spec.target_groups[0];
    assert_eq!(tg.health, HealthCheck { protocol: Http, port: 80, path: Some("/foo".into()) });
    assert_eq!(tg.attributes["deregistration_delay.timeout_seconds"], "300");
    assert_eq!(tg.attributes["stickiness.enabled"], "false");
    assert_eq!(spec.attributes["idle_timeout.timeout_seconds"], "300");
    let tags: Vec<(&str, &str)> = spec.tags.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    assert_eq!(tags, [("environment", "ci"), ("hostclass", "mhcweb"), ("is_testing", "0"), ("productline", "web")]);
    assert_eq!(spec.dns_names, ["mhcweb-ci.example.com"]);
    assert_eq!(spec.certificate_name, None);
}

#[test]
fn health_checks_ask_the_first_http_instance_port() {
    let check = |ports: &str, protos: &str| {
        let a = aws(&format!("[h]\nelb=yes\nelb_health_check_url=/health/check/endpoint/\nelb_instance_port={ports}\nelb_instance_protocol={protos}\nelb_port={ports}\nelb_protocol=TCP,TCP\n"));
        let s = ElbSettings::resolve(&a, "h", "ci").unwrap().unwrap();
        LoadBalancerSpec::of(&s, "ci", false).unwrap().target_groups[0].health.clone()
    };
    let path = Some("/health/check/endpoint/".to_string());
    assert_eq!(check("9001, 4271", "TCP, HTTP"), HealthCheck { protocol: Http, port: 4271, path: path.clone() });
    assert_eq!(check("9001, 4271", "TCP, HTTPS"), HealthCheck { protocol: Https, port: 4271, path });
    assert_eq!(check("9001, 9002", "TCP, TCP"), HealthCheck { protocol: Tcp, port: 9001, path: None });
}

#[test]
fn https_stickiness_alias_and_certificate_name() {
    let a = aws("[w]\nelb=yes\nelb_port=443\nelb_protocol=HTTPS\nelb_instance_port=8080\nelb_instance_protocol=HTTP\nelb_sticky_app_cookie=JSESSIONID\nelb_connection_draining=0\nelb_public=yes\nelb_dns_alias=www\ndomain_name=example.com\n[lb]\nelb=yes\nelb_sticky_app_cookie=AWSELB\n");
    let s = ElbSettings::resolve(&a, "w", "prod").unwrap().unwrap();
    let spec = LoadBalancerSpec::of(&s, "prod", false).unwrap();
    assert!(!spec.internal);
    assert_eq!(spec.dns_names, ["w-prod.example.com", "www.example.com"]);
    assert_eq!(spec.certificate_name.as_deref(), Some("www.example.com"), "the alias before the DNS name");
    let tg = &spec.target_groups[0];
    assert_eq!((tg.port, tg.protocol), (8080, Http));
    assert_eq!(tg.attributes["stickiness.type"], "app_cookie");
    assert_eq!(tg.attributes["stickiness.app_cookie.cookie_name"], "JSESSIONID");
    assert_eq!(tg.attributes["deregistration_delay.timeout_seconds"], "0");
    let testing = LoadBalancerSpec::of(&s, "prod", true).unwrap();
    assert_eq!(testing.dns_names, ["w-test-prod.example.com"], "no alias for the testing one");
    let lb = LoadBalancerSpec::of(&ElbSettings::resolve(&a, "lb", "prod").unwrap().unwrap(), "prod", false).unwrap();
    assert_eq!(lb.target_groups[0].attributes["stickiness.type"], "lb_cookie");
}

#[test]
fn tcp_makes_a_network_load_balancer() {
    let a = aws("[db]\nelb=yes\nelb_port=27017\nelb_protocol=TCP\nelb_cross_zone_load_balancing=false\n");
    let spec = LoadBalancerSpec::of(&ElbSettings::resolve(&a, "db", "ci").unwrap().unwrap(), "ci", false).unwrap();
    assert_eq!(spec.kind, Kind::Network);
    assert_eq!(spec.attributes["load_balancing.cross_zone.enabled"], "false");
    assert_eq!((spec.target_groups[0].port, spec.target_groups[0].protocol), (27017, Tcp));
    assert!(!spec.target_groups[0].attributes.contains_key("stickiness.enabled"));
}

#[test]
fn bad_configurations_name_their_file_and_line() {
    let a = aws("[mixed]\nelb=yes\nelb_port=443, 27017\nelb_protocol=HTTPS, TCP\n[unknown]\nelb=yes\nelb_protocol=GOPHER\n[tcp_to_alb]\nelb=yes\nelb_port=80\nelb_instance_protocol=TCP\nelb_instance_port=9000\n[idle]\nelb=yes\nelb_idle_timeout=soon\n[nocert]\nelb=yes\nelb_protocol=HTTPS\n");
    let err = |h: &str| ElbSettings::resolve(&a, h, "ci").unwrap_err();
    assert!(
        err("mixed").starts_with("aws.ini:4: [mixed] elb_protocol: HTTP(S) and TCP/TLS listeners cannot share"),
        "{}",
        err("mixed")
    );
    assert!(
        err("unknown").starts_with("aws.ini:7: [unknown] elb_protocol: unknown protocol \"GOPHER\""),
        "{}",
        err("unknown")
    );
    assert!(err("tcp_to_alb").contains("forwards to HTTP or HTTPS instance ports only"), "{}", err("tcp_to_alb"));
    assert!(
        err("idle").starts_with("aws.ini:15: [idle] elb_idle_timeout: \"soon\" is not a number"),
        "{}",
        err("idle")
    );
    let long = aws("[averyveryverylonghostclassname]\nelb=yes\n");
    let s = ElbSettings::resolve(&long, "averyveryverylonghostclassname", "production").unwrap().unwrap();
    let e = LoadBalancerSpec::of(&s, "production", false).unwrap_err();
    assert!(e.starts_with("aws.ini:2: [averyveryverylonghostclassname] elb: the load balancer name"), "{e}");
    let nocert = ElbSettings::resolve(&a, "nocert", "ci").unwrap().unwrap();
    assert!(LoadBalancerSpec::of(&nocert, "ci", false).unwrap_err().contains("needs a certificate"));
}
