//! Tests of `environment.rs`.

use super::*;
use crate::ini::Ini;
use std::path::Path;

fn vpc(text: &str) -> VpcConfig {
    VpcConfig::new(Ini::parse(Path::new("vpc.ini"), text).unwrap())
}

fn facts() -> RegionFacts {
    RegionFacts {
        zones: ["us-west-2a", "us-west-2b", "us-west-2c", "us-west-2d"].map(String::from).to_vec(),
        vpc_cidrs: vec!["172.31.0.0/16".parse().unwrap()],
        existing_cidr: None,
    }
}

fn repo_vpc() -> VpcConfig {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/vpc.ini");
    VpcConfig::new(Ini::load(&path).unwrap())
}

#[test]
fn vector_99_credential_bucket_names() {
    assert_eq!(
        credential_buckets("us-west-2", "sample_project", "build ci"),
        ["us-west-2.sample_project.credentials.build", "us-west-2.sample_project.credentials.ci"]
    );
    assert_eq!(
        credential_buckets("us-east-1", "sample_project", "build"),
        ["us-east-1--sample_project--credentials--build"]
    );
    assert!(credential_buckets("us-west-2", "p", "  ").is_empty());
}
#[test]
fn the_sample_sandbox() {
    let spec = desired(&repo_vpc(), "mine", "sandbox", &BTreeMap::new(), &facts()).unwrap();
    assert_eq!(spec.cidr.to_string(), "10.200.0.0/20");
    assert_eq!(spec.zones, ["us-west-2a", "us-west-2b", "us-west-2c"]);
    let intranet = &spec.metanetworks[&Metanetwork::Intranet];
    assert_eq!(intranet.cidr.to_string(), "10.200.0.0/22");
    let subnets: Vec<String> = intranet.subnets.iter().map(|s| format!("{} {} {}", s.name, s.zone, s.cidr)).collect();
    assert_eq!(
        subnets,
        [
            "mine_intranet_us-west-2a us-west-2a 10.200.0.0/24",
            "mine_intranet_us-west-2b us-west-2b 10.200.1.0/24",
            "mine_intranet_us-west-2c us-west-2c 10.200.2.0/24"
        ]
    );
    assert_eq!(spec.metanetworks[&Metanetwork::Maintenance].cidr.to_string(), "10.200.12.0/22");
    assert_eq!(intranet.nat_route_via, Some(Metanetwork::Tunnel));
    assert_eq!(spec.metanetworks[&Metanetwork::Tunnel].nat_gateways, NatGateways::Auto);
    // ntp: tunnel 10.200.4.0/22 → first subnet 10.200.4.0/24, +5.
    assert_eq!(spec.dhcp.ntp_servers, ["10.200.4.5"]);
    assert_eq!(spec.dhcp.dns_servers, ["AmazonProvidedDNS"]);
    assert_eq!(spec.tags["application"], "sila-demo");
    assert_eq!(spec.subnet_tags(Metanetwork::Dmz, "us-west-2b")["Name"], "mine_dmz_us-west-2b");
    // dmz: tcp 22 from maintenance, customer ports 80 443 from 0.0.0.0/0 and from dmz.
    assert_eq!(spec.metanetworks[&Metanetwork::Dmz].sg_rules.len(), 5);
}

#[test]
fn dynamic_cidr_skips_existing_vpcs() {
    let mut f = facts();
    f.vpc_cidrs.push("10.200.0.0/20".parse().unwrap());
    let spec = desired(&repo_vpc(), "second", "sandbox", &BTreeMap::new(), &f).unwrap();
    assert_eq!(spec.cidr.to_string(), "10.200.16.0/20");
    // An existing VPC keeps its CIDR, and its auto metanetworks come out as at creation.
    f.existing_cidr = Some("10.200.0.0/20".parse().unwrap());
    let again = desired(&repo_vpc(), "mine", "sandbox", &BTreeMap::new(), &f).unwrap();
    assert_eq!(again, desired(&repo_vpc(), "mine", "sandbox", &BTreeMap::new(), &facts()).unwrap());
}

#[test]
fn env_section_overrides_and_extra_tags() {
    let v = vpc("[envtype:t]\nvpc_cidr=10.0.0.0/16\nintranet_cidr=auto\naz_count=2\n[env:special]\naz_count=1\n");
    let tags = BTreeMap::from([("owner".to_string(), "me".to_string())]);
    let spec = desired(&v, "special", "t", &tags, &facts()).unwrap();
    assert_eq!(spec.zones, ["us-west-2a"]);
    assert_eq!(spec.tags["owner"], "me");
    assert_eq!(desired(&v, "other", "t", &tags, &facts()).unwrap().zones.len(), 2);
}

#[test]
fn errors_name_their_lines() {
    let v =
        vpc("[envtype:t]\nvpc_cidr=10.0.0.0/16\nintranet_cidr=auto\nintranet_sg_rules=tcp nowhere 22\naz_count=9\n");
    let err = desired(&v, "e", "t", &BTreeMap::new(), &facts()).unwrap_err();
    let text = err.to_string();
    assert!(text.contains("vpc.ini:5: error: 9 availability zones wanted, the region has 4"), "{text}");
    let unknown = desired(&v, "e", "nosuchtype", &BTreeMap::new(), &facts()).unwrap_err();
    assert!(unknown.to_string().contains("has no metanetwork"), "{unknown}");
}

#[test]
fn floating_interfaces_by_offset_and_literal() {
    let spec = desired(&repo_vpc(), "mine", "sandbox", &BTreeMap::new(), &facts()).unwrap();
    let text = "[disco_aws]\ndefault_meta_network=intranet\n[mhcjump]\nmeta_network=maintenance\nip_address=+10\n\
                [mhcpair]\nip_address=10.200.1.7 10.200.2.7\n[mhcelsewhere]\nip_address=10.9.9.9\n\
                [mhcnone]\nmeta_network=dmz\n";
    let aws = |text: &str| AwsConfig::new(Ini::parse(Path::new("aws.ini"), text).unwrap());
    let wrong = format!("{text}[mhcwrong]\nip_address@mine=10.9.9.9\n");
    let err = floating_interfaces(&spec, &aws(&wrong)).unwrap_err();
    assert!(err.to_string().contains("aws.ini:13: error: [mhcwrong] ip_address@mine: 10.9.9.9 is in none"), "{err}");
    let aws = aws(text);
    let (interfaces, notes) = floating_interfaces(&spec, &aws).unwrap();
    let got: Vec<String> =
        interfaces.iter().map(|i| format!("{} {} {} {}", i.hostclass, i.ip, i.meta, i.zone)).collect();
    assert_eq!(
        got,
        [
            "mhcjump 10.200.12.10 maintenance us-west-2a",
            "mhcpair 10.200.1.7 intranet us-west-2b",
            "mhcpair 10.200.2.7 intranet us-west-2c"
        ]
    );
    assert_eq!(notes.len(), 1);
    assert!(
        notes[0].to_string().starts_with("aws.ini:9: warning: [mhcelsewhere] ip_address skipped: 10.9.9.9 is in none"),
        "{notes:?}"
    );
}

#[test]
fn names() {
    assert!(validate_name("ci").is_ok());
    assert!(validate_name("my-sandbox.1").is_ok());
    assert!(validate_name("my_sandbox").unwrap_err().contains("'_'"));
    assert!(validate_name("").is_err());
    assert!(validate_name("a b").is_err());
    for wild in ["scr?tch", "*", "sand*", "a\\b", "[ab]"] {
        assert!(validate_name(wild).is_err(), "{wild}");
    }
}

#[test]
fn extra_tags_never_override_name_or_type() {
    let tags = BTreeMap::from([
        ("Name".to_string(), "sandbox".to_string()),
        ("type".to_string(), "bakery".to_string()),
        ("owner".to_string(), "me".to_string()),
    ]);
    let spec = desired(&repo_vpc(), "x", "sandbox", &tags, &facts()).unwrap();
    assert_eq!(spec.tags["Name"], "x");
    assert_eq!(spec.tags["type"], "sandbox");
    assert_eq!(spec.tags["owner"], "me");
}
