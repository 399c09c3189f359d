//! Adopting an environment Asiaq built: the calls and tags of Asiaq 2.4.50's `disco_vpc_ui.py
//! create` (reference §4.1, §1.8), made here with an independent SDK client from the same config
//! Sila reads, must leave `sila-vpc update` nothing to do.

use aws_sdk_ec2::types::{
    AttributeBooleanValue, DomainType, Filter, IpPermission, IpRange, NewDhcpConfiguration, Tag, UserIdGroupPair,
    VpcEndpointType,
};
use sila_testkit::{block_on, session, Outcome, Session};
use std::collections::BTreeMap;

const BIN: &str = env!("CARGO_BIN_EXE_sila-vpc");
const ZONES: [&str; 3] = ["us-west-2a", "us-west-2b", "us-west-2c"];

/// One config for both tools: static CIDRs (Asiaq picks `auto` ones at random, §4.1.2), rules with
/// `all`, a metanetwork source, CIDR sources, ICMP and customer ports, gateway and NAT routes, and
/// Asiaq's own DNS lines (`AmazonProvidedDNS` for internal and external DNS).
const CONFIG: &str = "[envtype:legacy]
vpc_cidr=10.30.0.0/16
intranet_cidr=10.30.0.0/20
tunnel_cidr=10.30.16.0/20
dmz_cidr=10.30.32.0/20
intranet_sg_rules=tcp all 22, udp intranet 53
tunnel_sg_rules=tcp 0.0.0.0/0 80 443, icmp 10.0.0.0/8 -1
dmz_sg_rules=tcp intranet 8080:8090
customer_ports=443
customer_cidr=0.0.0.0/0
tunnel_igw_routes=0.0.0.0/0
dmz_igw_routes=0.0.0.0/0
tunnel_nat_gateways=auto
nat_gateway_routes=intranet/tunnel
internal_dns=AmazonProvidedDNS
external_dns=AmazonProvidedDNS
domain_name=legacy.example.internal
ntp_server=10.30.16.5
application=legacy-app
";

const METAS: [(&str, &str, &str); 3] = [
    ("intranet", "10.30.0.0/20", "Inter host"),
    ("tunnel", "10.30.16.0/20", "internet http proxy"),
    ("dmz", "10.30.32.0/20", "Client facing"),
];

fn f(name: &str, value: &str) -> Filter {
    Filter::builder().name(name).values(value).build()
}

fn tag(k: &str, v: &str) -> Tag {
    Tag::builder().key(k).value(v).build()
}

/// The rule (protocol, from, to, source) as Asiaq authorizes it: one call per rule (§4.2.1–4.2.2).
fn permission(protocol: &str, from: i32, to: i32, source: &str, groups: &BTreeMap<&str, String>) -> IpPermission {
    let p = IpPermission::builder().ip_protocol(protocol).from_port(from).to_port(to);
    match groups.get(source) {
        Some(group) => p.user_id_group_pairs(UserIdGroupPair::builder().group_id(group).build()),
        None => p.ip_ranges(IpRange::builder().cidr_ip(source).build()),
    }
    .build()
}

/// Builds environment `legacy` the way Asiaq does; returns the VPC id.
async fn asiaq_create(ec2: &aws_sdk_ec2::Client) -> String {
    let created = "2016-03-01T12:00:00.000000";
    // 1. The VPC, then its tags (Asiaq tags after creation).
    let vpc = ec2.create_vpc().cidr_block("10.30.0.0/16").send().await.unwrap();
    let vpc = vpc.vpc().unwrap().vpc_id().unwrap().to_string();
    let vpc_tags =
        [tag("Name", "legacy"), tag("type", "legacy"), tag("create_date", created), tag("application", "legacy-app")];
    ec2.create_tags().resources(&vpc).set_tags(Some(vpc_tags.to_vec())).send().await.unwrap();
    // 2. DNS support and hostnames, one call each.
    let on = || AttributeBooleanValue::builder().value(true).build();
    ec2.modify_vpc_attribute().vpc_id(&vpc).enable_dns_support(on()).send().await.unwrap();
    ec2.modify_vpc_attribute().vpc_id(&vpc).enable_dns_hostnames(on()).send().await.unwrap();
    // 3. Per metanetwork: its group, then a subnet and route table per zone (2^n split: /22s).
    let mut groups: BTreeMap<&str, String> = BTreeMap::new();
    let mut subnets: BTreeMap<(&str, &str), String> = BTreeMap::new();
    let mut tables: BTreeMap<(&str, &str), String> = BTreeMap::new();
    for (meta, cidr, description) in METAS {
        let name = format!("legacy_{meta}");
        let g =
            ec2.create_security_group().group_name(&name).description(description).vpc_id(&vpc).send().await.unwrap();
        let g = g.group_id().unwrap().to_string();
        ec2.create_tags().resources(&g).tags(tag("Name", &name)).tags(tag("meta_network", meta)).send().await.unwrap();
        groups.insert(meta, g);
        let base: ipnetwork::Ipv4Network = cidr.parse().unwrap();
        for (i, zone) in ZONES.iter().enumerate() {
            let third = base.network().octets()[2] + 4 * i as u8;
            let subnet_cidr = format!("10.30.{third}.0/22");
            let s =
                ec2.create_subnet().vpc_id(&vpc).cidr_block(subnet_cidr).availability_zone(*zone).send().await.unwrap();
            let s = s.subnet().unwrap().subnet_id().unwrap().to_string();
            let t = ec2.create_route_table().vpc_id(&vpc).send().await.unwrap();
            let t = t.route_table().unwrap().route_table_id().unwrap().to_string();
            ec2.associate_route_table().route_table_id(&t).subnet_id(&s).send().await.unwrap();
            let mut tags = vpc_tags.to_vec();
            tags.retain(|t| t.key() != Some("Name"));
            tags.extend([
                tag("Name", &format!("legacy_{meta}_{zone}")),
                tag("meta_network", meta),
                tag("subnet", zone),
            ]);
            ec2.create_tags().resources(&s).resources(&t).set_tags(Some(tags)).send().await.unwrap();
            subnets.insert((meta, *zone), s);
            tables.insert((meta, *zone), t);
        }
    }
    // 5. DHCP options: domain-name-servers is [internal_dns, external_dns], so the value twice.
    let option = |k: &str, values: &[&str]| {
        NewDhcpConfiguration::builder()
            .key(k)
            .set_values(Some(values.iter().map(ToString::to_string).collect()))
            .build()
    };
    let dhcp = ec2
        .create_dhcp_options()
        .dhcp_configurations(option("domain-name", &["legacy.example.internal"]))
        .dhcp_configurations(option("domain-name-servers", &["AmazonProvidedDNS", "AmazonProvidedDNS"]))
        .dhcp_configurations(option("ntp-servers", &["10.30.16.5"]))
        .send()
        .await
        .unwrap();
    let dhcp = dhcp.dhcp_options().unwrap().dhcp_options_id().unwrap().to_string();
    ec2.create_tags().resources(&dhcp).tags(tag("Name", "legacy")).send().await.unwrap();
    ec2.associate_dhcp_options().dhcp_options_id(&dhcp).vpc_id(&vpc).send().await.unwrap();
    // 6. The rules, each its own call: `all` is every metanetwork, the group itself included;
    // customer ports go to dmz from customer_cidr and from dmz, and to intranet from dmz.
    let rules: [(&str, &str, i32, i32, &str); 11] = [
        ("intranet", "tcp", 22, 22, "intranet"),
        ("intranet", "tcp", 22, 22, "tunnel"),
        ("intranet", "tcp", 22, 22, "dmz"),
        ("intranet", "udp", 53, 53, "intranet"),
        ("intranet", "tcp", 443, 443, "dmz"),
        ("tunnel", "tcp", 80, 80, "0.0.0.0/0"),
        ("tunnel", "tcp", 443, 443, "0.0.0.0/0"),
        ("tunnel", "icmp", -1, -1, "10.0.0.0/8"),
        ("dmz", "tcp", 8080, 8090, "intranet"),
        ("dmz", "tcp", 443, 443, "0.0.0.0/0"),
        ("dmz", "tcp", 443, 443, "dmz"),
    ];
    for (meta, protocol, from, to, source) in rules {
        ec2.authorize_security_group_ingress()
            .group_id(&groups[meta])
            .ip_permissions(permission(protocol, from, to, source, &groups))
            .send()
            .await
            .unwrap();
    }
    // 7. The internet gateway (untagged), attached, and the gateway routes in every subnet's table.
    let igw = ec2.create_internet_gateway().send().await.unwrap();
    let igw = igw.internet_gateway().unwrap().internet_gateway_id().unwrap().to_string();
    ec2.attach_internet_gateway().internet_gateway_id(&igw).vpc_id(&vpc).send().await.unwrap();
    for meta in ["tunnel", "dmz"] {
        for zone in ZONES {
            let t = &tables[&(meta, zone)];
            ec2.create_route()
                .route_table_id(t)
                .destination_cidr_block("0.0.0.0/0")
                .gateway_id(&igw)
                .send()
                .await
                .unwrap();
        }
    }
    // 8. NAT gateways with dynamic EIPs (tagged dynamic=true), tagged like their subnet, which gets
    // `dynonat`; then intranet's default route to the tunnel NAT of its zone.
    for zone in ZONES {
        let eip = ec2.allocate_address().domain(DomainType::Vpc).send().await.unwrap();
        let allocation = eip.allocation_id().unwrap().to_string();
        ec2.create_tags().resources(&allocation).tags(tag("dynamic", "true")).send().await.unwrap();
        let subnet = &subnets[&("tunnel", zone)];
        let nat = ec2.create_nat_gateway().subnet_id(subnet).allocation_id(&allocation).send().await.unwrap();
        let nat = nat.nat_gateway().unwrap().nat_gateway_id().unwrap().to_string();
        let name = format!("legacy_tunnel_{zone}");
        let nat_tags = [tag("Name", &name), tag("meta_network", "tunnel"), tag("subnet", zone)];
        ec2.create_tags().resources(&nat).set_tags(Some(nat_tags.to_vec())).send().await.unwrap();
        ec2.create_tags().resources(subnet).tags(tag("dynonat", "")).send().await.unwrap();
        let intranet = &tables[&("intranet", zone)];
        ec2.create_route()
            .route_table_id(intranet)
            .destination_cidr_block("0.0.0.0/0")
            .nat_gateway_id(&nat)
            .send()
            .await
            .unwrap();
    }
    // 9. The S3 gateway endpoint on every route table of the VPC, with an allow-all policy.
    let all_tables = ec2.describe_route_tables().filters(f("vpc-id", &vpc)).send().await.unwrap();
    let ids: Vec<String> =
        all_tables.route_tables().iter().filter_map(|t| t.route_table_id().map(str::to_string)).collect();
    let policy =
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"}]}"#;
    ec2.create_vpc_endpoint()
        .vpc_id(&vpc)
        .vpc_endpoint_type(VpcEndpointType::Gateway)
        .service_name("com.amazonaws.us-west-2.s3")
        .set_route_table_ids(Some(ids))
        .policy_document(policy)
        .send()
        .await
        .unwrap();
    vpc
}

fn update(s: &Session, config: &std::path::Path, extra: &[&str]) -> Outcome {
    Outcome::of(s.command(BIN).arg("--config-dir").arg(config).args(["update", "--name", "legacy"]).args(extra))
}

#[test]
fn an_environment_asiaq_built_from_the_same_config_is_left_alone() {
    let s = session();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("disco_vpc.ini"), CONFIG).unwrap();
    let vpc = block_on(asiaq_create(&s.ec2()));
    let dhcp_before =
        block_on(s.ec2().describe_vpcs().vpc_ids(&vpc).send()).unwrap().vpcs()[0].dhcp_options_id().map(str::to_string);

    s.forget_requests();
    let out = update(&s, dir.path(), &["--dry-run"]);
    assert_eq!(out.code, Some(0), "{out:?}");
    assert!(out.stdout.contains("nothing to change"), "{}", out.stdout);
    assert!(!out.stdout.contains("DHCP"), "{}", out.stdout);
    let out = update(&s, dir.path(), &[]);
    assert_eq!(out.code, Some(0), "{out:?}");
    assert!(out.stdout.contains("nothing to change"), "{}", out.stdout);
    assert!(s.requests().mutating().is_empty(), "{:?}", s.requests().mutating());
    let dhcp_after =
        block_on(s.ec2().describe_vpcs().vpc_ids(&vpc).send()).unwrap().vpcs()[0].dhcp_options_id().map(str::to_string);
    assert_eq!(dhcp_after, dhcp_before, "Asiaq's DHCP options stay");
}
