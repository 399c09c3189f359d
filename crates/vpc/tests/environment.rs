//! `sila-vpc create / update / show / destroy` of the repo's sample environment against the local
//! emulator, checked with independent describe calls (never through sila-cloud).

use aws_sdk_ec2::types::Filter;
use sila_testkit::{block_on, project_root, session, FaultRule, Outcome, Session};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

const BIN: &str = env!("CARGO_BIN_EXE_sila-vpc");
const ZONES: [&str; 3] = ["us-west-2a", "us-west-2b", "us-west-2c"];

fn vpc(s: &Session, config: &Path, args: &[&str]) -> Outcome {
    Outcome::of(s.command(BIN).arg("--config-dir").arg(config).args(args))
}

fn f(name: &str, value: &str) -> Filter {
    Filter::builder().name(name).values(value).build()
}

/// An independent picture of what the emulator holds for one VPC.
#[derive(Debug)]
struct Picture {
    vpc_id: String,
    vpc_cidr: String,
    vpc_tags: BTreeMap<String, String>,
    /// subnet Name tag → (cidr, zone)
    subnets: BTreeMap<String, (String, String)>,
    /// group name → number of (permission × source) ingress rules
    rules: BTreeMap<String, usize>,
    /// route table Name tag → (associated subnet's Name tag, destination → target)
    tables: BTreeMap<String, (String, BTreeMap<String, String>)>,
    /// NAT gateway id → subnet Name tag
    nats: BTreeMap<String, String>,
    igws: usize,
    endpoints: usize,
    /// floating interfaces: (private IP, subnet Name tag, group name)
    interfaces: Vec<(String, String, String)>,
    dhcp: BTreeMap<String, Vec<String>>,
}

fn picture(s: &Session, name: &str) -> Option<Picture> {
    let ec2 = s.ec2();
    block_on(async {
        let vpcs = ec2.describe_vpcs().filters(f("tag:Name", name)).send().await.unwrap();
        let [v] = vpcs.vpcs() else { return None };
        let vpc_id = v.vpc_id().unwrap().to_string();
        let tags = |t: &[aws_sdk_ec2::types::Tag]| -> BTreeMap<String, String> {
            t.iter().map(|t| (t.key().unwrap().to_string(), t.value().unwrap_or_default().to_string())).collect()
        };
        let by_vpc = || f("vpc-id", &vpc_id);
        let subnets = ec2.describe_subnets().filters(by_vpc()).send().await.unwrap();
        let subnet_names: BTreeMap<String, String> = subnets
            .subnets()
            .iter()
            .map(|s| (s.subnet_id().unwrap().to_string(), tags(s.tags()).get("Name").cloned().unwrap_or_default()))
            .collect();
        let groups = ec2.describe_security_groups().filters(by_vpc()).send().await.unwrap();
        let tables = ec2.describe_route_tables().filters(by_vpc()).send().await.unwrap();
        let nats = ec2.describe_nat_gateways().filter(by_vpc()).filter(f("state", "available")).send().await.unwrap();
        let igws = ec2.describe_internet_gateways().filters(f("attachment.vpc-id", &vpc_id)).send().await.unwrap();
        let endpoints = ec2.describe_vpc_endpoints().filters(by_vpc()).send().await.unwrap();
        let dhcp_id = v.dhcp_options_id().unwrap();
        let dhcp = match dhcp_id {
            "default" => BTreeMap::new(),
            id => ec2.describe_dhcp_options().dhcp_options_ids(id).send().await.unwrap().dhcp_options()[0]
                .dhcp_configurations()
                .iter()
                .map(|c| {
                    let values = c.values().iter().filter_map(|v| v.value().map(str::to_string)).collect();
                    (c.key().unwrap().to_string(), values)
                })
                .collect(),
        };
        let enis = ec2
            .describe_network_interfaces()
            .filters(by_vpc())
            .filters(f("description", "floating interface"))
            .send()
            .await
            .unwrap();
        let group_names: BTreeMap<String, String> = groups
            .security_groups()
            .iter()
            .map(|g| (g.group_id().unwrap().to_string(), g.group_name().unwrap().to_string()))
            .collect();
        Some(Picture {
            vpc_cidr: v.cidr_block().unwrap().to_string(),
            vpc_tags: tags(v.tags()),
            subnets: subnets
                .subnets()
                .iter()
                .map(|s| {
                    let name = tags(s.tags())["Name"].clone();
                    (name, (s.cidr_block().unwrap().to_string(), s.availability_zone().unwrap().to_string()))
                })
                .collect(),
            rules: groups
                .security_groups()
                .iter()
                .filter(|g| g.group_name() != Some("default"))
                .map(|g| {
                    let n =
                        g.ip_permissions().iter().map(|p| p.ip_ranges().len() + p.user_id_group_pairs().len()).sum();
                    (g.group_name().unwrap().to_string(), n)
                })
                .collect(),
            tables: tables
                .route_tables()
                .iter()
                .filter(|t| !t.associations().iter().any(|a| a.main() == Some(true)))
                .map(|t| {
                    let subnet = t.associations().iter().find_map(|a| a.subnet_id()).map(|id| subnet_names[id].clone());
                    let routes = t
                        .routes()
                        .iter()
                        .filter(|r| r.gateway_id() != Some("local"))
                        // Prefix-list routes (the S3 endpoint's) have no destination CIDR.
                        .filter_map(|r| {
                            let target =
                                r.gateway_id().or(r.nat_gateway_id()).or(r.vpc_peering_connection_id()).unwrap_or("?");
                            Some((r.destination_cidr_block()?.to_string(), target.to_string()))
                        })
                        .collect();
                    (tags(t.tags())["Name"].clone(), (subnet.unwrap_or_default(), routes))
                })
                .collect(),
            nats: nats
                .nat_gateways()
                .iter()
                .map(|n| (n.nat_gateway_id().unwrap().to_string(), subnet_names[n.subnet_id().unwrap()].clone()))
                .collect(),
            interfaces: enis
                .network_interfaces()
                .iter()
                .map(|n| {
                    let group = n.groups().first().and_then(|g| g.group_id()).map(|g| group_names[g].clone());
                    (
                        n.private_ip_address().unwrap().to_string(),
                        subnet_names[n.subnet_id().unwrap()].clone(),
                        group.unwrap_or_default(),
                    )
                })
                .collect(),
            igws: igws.internet_gateways().len(),
            endpoints: endpoints.vpc_endpoints().len(),
            dhcp,
            vpc_id,
        })
    })
}

/// The repo's sample `sandbox` type, as built by `create --name demo`.
fn assert_sample_sandbox(p: &Picture) {
    assert_eq!(p.vpc_cidr, "10.200.0.0/20");
    assert_eq!(p.vpc_tags["Name"], "demo");
    assert_eq!(p.vpc_tags["type"], "sandbox");
    assert_eq!(p.vpc_tags["application"], "sila-demo");
    assert!(p.vpc_tags.contains_key("create_date"));
    // Each metanetwork gets a quarter of the /20 and a /24 per zone (2^n over-division, 3 of 4 used).
    let mut expected = BTreeMap::new();
    for (meta, base) in [("intranet", 0), ("tunnel", 4), ("dmz", 8), ("maintenance", 12)] {
        for (i, zone) in ZONES.iter().enumerate() {
            expected.insert(format!("demo_{meta}_{zone}"), (format!("10.200.{}.0/24", base + i), zone.to_string()));
        }
    }
    assert_eq!(p.subnets, expected);
    let rules: BTreeMap<String, usize> =
        [("demo_intranet", 7), ("demo_tunnel", 13), ("demo_dmz", 5), ("demo_maintenance", 3)]
            .map(|(k, v)| (k.to_string(), v))
            .into_iter()
            .collect();
    assert_eq!(p.rules, rules);
    assert_eq!(p.tables.len(), 12);
    let nat_by_subnet: BTreeMap<&str, &str> =
        p.nats.iter().map(|(id, subnet)| (subnet.as_str(), id.as_str())).collect();
    assert_eq!(nat_by_subnet.len(), 3, "one NAT gateway per tunnel subnet: {:?}", p.nats);
    for (table, (subnet, routes)) in &p.tables {
        assert_eq!(table, subnet, "each subnet has its own route table");
        let default = routes.get("0.0.0.0/0").map(String::as_str);
        if let Some(zone) = table.strip_prefix("demo_intranet_") {
            let nat = nat_by_subnet[format!("demo_tunnel_{zone}").as_str()];
            assert_eq!(default, Some(nat), "intranet {zone} goes out through the tunnel NAT of its zone");
        } else {
            assert!(default.is_some_and(|t| t.starts_with("igw-")), "{table}: {routes:?}");
        }
        assert_eq!(routes.len(), 1, "{table}: {routes:?}");
    }
    assert_eq!(p.igws, 1);
    assert_eq!(p.endpoints, 1);
    assert_eq!(p.dhcp["domain-name"], ["sandbox.sila.internal"]);
    assert_eq!(p.dhcp["ntp-servers"], ["10.200.4.5"]);
    // mhcjump's ip_address=+10 in maintenance: the first maintenance subnet's base address + 10.
    assert_eq!(
        p.interfaces,
        [("10.200.12.10".to_string(), "demo_maintenance_us-west-2a".to_string(), "demo_maintenance".to_string())]
    );
}

#[test]
fn dry_run_prints_the_plan_and_changes_nothing() {
    let s = session();
    let out = vpc(&s, &project_root(), &["create", "--name", "demo", "--type", "sandbox", "--dry-run"]);
    assert_eq!(out.code, Some(0), "{out:?}");
    // 3 of the 70 steps allocate the NAT gateways' addresses beside the VPC.
    assert!(out.stdout.contains("plan: 70 step(s) in 4 level(s)"), "{}", out.stdout);
    assert!(out.stdout.contains("  level 1:\n    + create VPC demo"), "{}", out.stdout);
    assert!(out.stdout.contains("    + allocate an EIP for NAT gateway tunnel us-west-2a\n"), "{}", out.stdout);
    assert!(out.stdout.contains("+ create subnet demo_dmz_us-west-2b 10.200.9.0/24"), "{}", out.stdout);
    assert!(s.requests().mutating().is_empty(), "{:?}", s.requests().mutating());
    assert!(picture(&s, "demo").is_none());

    let out =
        vpc(&s, &project_root(), &["create", "--name", "demo", "--type", "sandbox", "--dry-run", "--output", "json"]);
    let json: serde_json::Value = serde_json::from_str(&out.stdout).expect("JSON");
    assert_eq!(json["dry_run"], true);
    assert_eq!(json["plan"]["steps"].as_array().unwrap().len(), 70);
    assert_eq!(json["environment"]["cidr"], "10.200.0.0/20");
    assert!(s.requests().mutating().is_empty());
}

#[test]
fn create_builds_the_sample_environment_and_update_then_changes_nothing() {
    let s = session();
    let out = vpc(&s, &project_root(), &["create", "--name", "demo", "--type", "sandbox", "--tag", "owner:ops"]);
    assert_eq!(out.code, Some(0), "{out:?}");
    let p = picture(&s, "demo").expect("the VPC exists");
    assert!(out.stdout.contains(&format!("created environment demo ({})", p.vpc_id)), "{}", out.stdout);
    assert_sample_sandbox(&p);
    assert_eq!(p.vpc_tags["owner"], "ops");
    // Tags at creation, rules batched per group: no CreateTags, one authorize call per group.
    let requests = s.requests();
    assert_eq!(requests.count("CreateTags"), 0);
    assert_eq!(requests.count("AuthorizeSecurityGroupIngress"), 4);
    // Every describe names a filter or an id.
    for r in requests.log.iter().filter(|r| r.action.starts_with("Describe") && r.action != "DescribeAvailabilityZones")
    {
        assert!(r.params.iter().any(|p| p.starts_with("Filter") || p.ends_with("Id.1")), "unfiltered {r:?}");
    }

    s.forget_requests();
    let out = vpc(&s, &project_root(), &["update", "--name", "demo"]);
    assert_eq!(out.code, Some(0), "{out:?}");
    assert!(out.stdout.contains("nothing to change"), "{}", out.stdout);
    assert!(s.requests().mutating().is_empty(), "{:?}", s.requests().mutating());

    // The name is taken now.
    s.forget_requests();
    let out = vpc(&s, &project_root(), &["create", "--name", "demo", "--type", "sandbox"]);
    assert_eq!(out.code, Some(2), "{out:?}");
    assert!(out.stderr.contains("environment demo exists already"), "{}", out.stderr);
    assert!(s.requests().mutating().is_empty());

    let out = vpc(&s, &project_root(), &["show", "--name", "demo", "--output", "json"]);
    assert_eq!(out.code, Some(0), "{out:?}");
    let shown: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(shown["vpc_id"], p.vpc_id.as_str());
    assert_eq!(shown["metanetworks"]["tunnel"]["zones"].as_array().unwrap().len(), 3);
    assert_eq!(shown["metanetworks"]["dmz"]["ingress_rules"], 5);
}

#[test]
fn destroy_leaves_nothing_behind() {
    let s = session();
    assert_eq!(vpc(&s, &project_root(), &["create", "--name", "demo", "--type", "sandbox"]).code, Some(0));
    let vpc_id = picture(&s, "demo").unwrap().vpc_id;

    s.forget_requests();
    let out = vpc(&s, &project_root(), &["destroy", "--name", "demo", "--dry-run"]);
    assert_eq!(out.code, Some(0), "{out:?}");
    assert!(out.stdout.contains("subnets") && out.stdout.contains("12"), "{}", out.stdout);
    let out = vpc(&s, &project_root(), &["destroy", "--name", "demo"]);
    assert_eq!(out.code, Some(2), "no --yes and no terminal: {out:?}");
    assert!(s.requests().mutating().is_empty(), "{:?}", s.requests().mutating());

    let out = vpc(&s, &project_root(), &["destroy", "--name", "demo", "--yes"]);
    assert_eq!(out.code, Some(0), "{out:?}");
    assert!(out.stdout.contains(&format!("destroyed environment demo ({vpc_id})")), "{}", out.stdout);

    let ec2 = s.ec2();
    block_on(async {
        let by_vpc = || f("vpc-id", &vpc_id);
        assert!(ec2.describe_vpcs().filters(f("tag:Name", "demo")).send().await.unwrap().vpcs().is_empty());
        assert!(ec2.describe_subnets().filters(by_vpc()).send().await.unwrap().subnets().is_empty());
        assert!(ec2.describe_route_tables().filters(by_vpc()).send().await.unwrap().route_tables().is_empty());
        assert!(ec2.describe_security_groups().filters(by_vpc()).send().await.unwrap().security_groups().is_empty());
        assert!(ec2
            .describe_network_interfaces()
            .filters(by_vpc())
            .send()
            .await
            .unwrap()
            .network_interfaces()
            .is_empty());
        let endpoints = ec2.describe_vpc_endpoints().filters(by_vpc()).send().await.unwrap();
        let deleted =
            |e: &aws_sdk_ec2::types::VpcEndpoint| e.state().is_some_and(|s| s.as_str().eq_ignore_ascii_case("deleted"));
        assert!(endpoints.vpc_endpoints().iter().all(deleted), "{endpoints:?}");
        let nats = ec2.describe_nat_gateways().filter(by_vpc()).send().await.unwrap();
        assert!(nats.nat_gateways().iter().all(|n| n.state().map(|s| s.as_str()) == Some("deleted")), "{nats:?}");
        assert!(ec2
            .describe_internet_gateways()
            .filters(f("tag:Name", "demo"))
            .send()
            .await
            .unwrap()
            .internet_gateways()
            .is_empty());
        assert!(ec2
            .describe_addresses()
            .filters(f("tag:dynamic", "true"))
            .send()
            .await
            .unwrap()
            .addresses()
            .is_empty());
        let dhcp = ec2.describe_dhcp_options().send().await.unwrap();
        let ours = |d: &aws_sdk_ec2::types::DhcpOptions| {
            d.dhcp_configurations()
                .iter()
                .any(|c| c.values().iter().any(|v| v.value() == Some("sandbox.sila.internal")))
        };
        assert!(!dhcp.dhcp_options().iter().any(ours), "{dhcp:?}");
    });
}

#[test]
fn destroy_never_touches_a_vpc_that_is_not_an_environment() {
    let s = session();
    let default_vpc = block_on(s.ec2().describe_vpcs().filters(f("is-default", "true")).send()).unwrap();
    let id = default_vpc.vpcs()[0].vpc_id().unwrap().to_string();
    s.forget_requests();
    let out = vpc(&s, &project_root(), &["destroy", "--vpc-id", &id, "--yes"]);
    assert_eq!(out.code, Some(1), "{out:?}");
    assert!(out.stderr.contains("is not an environment"), "{}", out.stderr);
    assert!(s.requests().mutating().is_empty());
    let out = vpc(&s, &project_root(), &["destroy", "--name", "nosuch", "--yes"]);
    assert_eq!(out.code, Some(2), "{out:?}");
    assert!(out.stderr.contains("no environment nosuch"), "{}", out.stderr);
}

#[test]
fn bad_input_is_refused_before_any_change() {
    let s = session();
    let cases: [(&[&str], i32, &str); 3] = [
        (&["create", "--name", "demo", "--type", "nosuchtype"], 2, "unknown --type nosuchtype"),
        (&["create", "--name", "my_env", "--type", "sandbox"], 2, "contains '_'"),
        (&["create", "--name", "demo", "--type", "sandbox", "--tag", "novalue"], 2, "is not key:value"),
    ];
    for (args, code, message) in cases {
        let out = vpc(&s, &project_root(), args);
        assert_eq!(out.code, Some(code), "{args:?}: {out:?}");
        assert!(out.stderr.contains(message), "{args:?}: {}", out.stderr);
    }
    // A bad rule and overlapping CIDRs in a config of our own: the error names file and line.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("disco_vpc.ini"),
        "[envtype:t]\nvpc_cidr=10.9.0.0/16\nintranet_cidr=10.9.0.0/20\ntunnel_cidr=10.9.8.0/21\n",
    )
    .unwrap();
    let out = vpc(&s, dir.path(), &["create", "--name", "e", "--type", "t"]);
    assert_eq!(out.code, Some(1), "{out:?}");
    assert!(out.stderr.contains("disco_vpc.ini:3: error:") && out.stderr.contains("overlaps"), "{}", out.stderr);
    std::fs::write(
        dir.path().join("disco_vpc.ini"),
        "[envtype:t]\nvpc_cidr=10.9.0.0/16\nintranet_cidr=auto\nintranet_sg_rules=tcp all 22, tcp everywhere 80\n",
    )
    .unwrap();
    let out = vpc(&s, dir.path(), &["create", "--name", "e", "--type", "t"]);
    assert_eq!(out.code, Some(1), "{out:?}");
    assert!(out.stderr.contains("disco_vpc.ini:4: error: intranet_sg_rules:"), "{}", out.stderr);
    assert!(s.requests().mutating().is_empty(), "{:?}", s.requests().mutating());
}

#[test]
fn an_interrupted_create_is_completed_by_update_without_duplicates() {
    let s = session();
    // The last route (a NAT route: they wait for their gateways) fails for good: the create stops.
    s.set_faults(
        1,
        &[FaultRule {
            action: Some("CreateRoute".into()),
            error: Some("UnauthorizedOperation".into()),
            status: Some(403),
            after: Some(11),
            times: Some(1),
            ..FaultRule::default()
        }],
    );
    let out = vpc(&s, &project_root(), &["create", "--name", "demo", "--type", "sandbox"]);
    assert_eq!(out.code, Some(1), "{out:?}");
    assert!(out.stderr.contains("1 step(s) failed"), "{}", out.stderr);
    assert!(out.stderr.contains("UnauthorizedOperation"), "{}", out.stderr);
    assert!(out.stderr.contains("sila-vpc update --name demo"), "{}", out.stderr);

    s.set_faults(1, &[]);
    let out = vpc(&s, &project_root(), &["update", "--name", "demo"]);
    assert_eq!(out.code, Some(0), "{out:?}");
    assert!(out.stdout.contains("plan: 1 step(s)"), "only the missing route: {}", out.stdout);
    assert_sample_sandbox(&picture(&s, "demo").unwrap());
    assert_eq!(s.requests().count("CreateSubnet"), 12, "no subnet created twice");
}

#[test]
fn create_completes_under_twenty_percent_throttling_without_duplicates() {
    let s = session();
    s.set_faults(
        7,
        &[FaultRule {
            mutating: Some(true),
            error: Some("RequestLimitExceeded".into()),
            status: Some(503),
            probability: Some(0.2),
            ..FaultRule::default()
        }],
    );
    let out = vpc(&s, &project_root(), &["create", "--name", "demo", "--type", "sandbox"]);
    assert_eq!(out.code, Some(0), "{out:?}");
    let throttled = s.requests().log.iter().filter(|r| r.fault.is_some()).count();
    assert!(throttled > 0, "the faults fired");
    s.set_faults(1, &[]);
    let p = picture(&s, "demo").unwrap();
    assert_sample_sandbox(&p);
    let groups: BTreeSet<&String> = p.rules.keys().collect();
    assert_eq!(groups.len(), 4);
}

#[test]
fn rules_and_routes_whose_answer_was_lost_are_not_an_error() {
    let s = session();
    // The work is done, the answer lost: the SDK's retry meets the rule or route that now exists.
    s.set_faults(
        1,
        &[FaultRule::lost_answer("AuthorizeSecurityGroupIngress", 2), FaultRule::lost_answer("CreateRoute", 3)],
    );
    let out = vpc(&s, &project_root(), &["create", "--name", "demo", "--type", "sandbox"]);
    assert_eq!(out.code, Some(0), "{out:?}");
    assert_eq!(s.requests().log.iter().filter(|r| r.fault.is_some()).count(), 5, "the faults fired");
    s.set_faults(1, &[]);
    assert_sample_sandbox(&picture(&s, "demo").unwrap());
}

/// Subnet ids of the environment by Name tag.
fn subnet_ids(s: &Session, vpc_id: &str) -> BTreeMap<String, String> {
    let out = block_on(s.ec2().describe_subnets().filters(f("vpc-id", vpc_id)).send()).unwrap();
    out.subnets()
        .iter()
        .map(|s| {
            let name = s.tags().iter().find(|t| t.key() == Some("Name")).and_then(|t| t.value()).unwrap_or_default();
            (name.to_string(), s.subnet_id().unwrap().to_string())
        })
        .collect()
}

#[test]
fn update_follows_config_edits_and_refuses_destruction_without_the_flag() {
    let s = session();
    assert_eq!(vpc(&s, &project_root(), &["create", "--name", "demo", "--type", "sandbox"]).code, Some(0));
    let before = picture(&s, "demo").unwrap();
    let subnets_before = subnet_ids(&s, &before.vpc_id);

    // The same config with edits: intranet loses its udp rule and gains tcp 8443 from 192.0.2.0/24;
    // dmz routes 198.51.100.0/24 to the internet instead of 0.0.0.0/0; another domain; and the
    // maintenance metanetwork is gone (with the rules that named it).
    let sample = std::fs::read_to_string(project_root().join("config/vpc.ini")).unwrap();
    let edited = sample
        .replace(
            "intranet_sg_rules=tcp all 0:65535, udp intranet 0:65535",
            "intranet_sg_rules=tcp all 0:65535, tcp 192.0.2.0/24 8443",
        )
        .replace("dmz_igw_routes=0.0.0.0/0", "dmz_igw_routes=198.51.100.0/24")
        .replace("domain_name=sandbox.sila.internal", "domain_name=edited.sila.internal")
        .replace("maintenance_cidr=auto\n", "")
        .replace(
            "tunnel_sg_rules=tcp all 80 443, tcp maintenance 22, udp all 123",
            "tunnel_sg_rules=tcp all 80 443, udp all 123",
        )
        .replace("dmz_sg_rules=tcp maintenance 22\n", "")
        .replace("maintenance_sg_rules=tcp maintenance 22, tcp 203.0.113.0/24 22, icmp 203.0.113.0/24 -1\n", "")
        .replace("maintenance_igw_routes=0.0.0.0/0\n", "");
    assert_ne!(sample, edited);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("vpc.ini"), edited).unwrap();

    s.forget_requests();
    let out = vpc(&s, dir.path(), &["update", "--name", "demo"]);
    assert_eq!(out.code, Some(2), "{out:?}");
    assert!(out.stderr.contains("1 destructive step(s) refused (DELETE metanetwork maintenance"), "{}", out.stderr);
    assert!(out.stdout.contains("! DELETE metanetwork maintenance"), "{}", out.stdout);
    assert!(s.requests().mutating().is_empty(), "{:?}", s.requests().mutating());

    let out = vpc(&s, dir.path(), &["update", "--name", "demo", "--allow-destructive"]);
    assert_eq!(out.code, Some(0), "{out:?}");
    let after = picture(&s, "demo").unwrap();
    assert_eq!(after.vpc_id, before.vpc_id);
    // intranet: tcp from 3 groups + tcp 8443 + customer ports 80/443 from dmz = 6; tunnel: 2 ports and
    // udp 123 from 3 groups = 9; dmz: customer ports from 0.0.0.0/0 and from dmz = 4.
    let rules: Vec<(&str, usize)> = after.rules.iter().map(|(k, v)| (k.as_str(), *v)).collect();
    assert_eq!(rules, [("demo_dmz", 4), ("demo_intranet", 6), ("demo_tunnel", 9)]);
    for zone in ZONES {
        let (_, routes) = &after.tables[&format!("demo_dmz_{zone}")];
        assert_eq!(routes.keys().collect::<Vec<_>>(), ["198.51.100.0/24"], "dmz {zone}");
        assert!(!after.tables.contains_key(&format!("demo_maintenance_{zone}")));
    }
    assert_eq!(after.dhcp["domain-name"], ["edited.sila.internal"]);
    // Nothing else was touched: the remaining subnets are the same ones.
    let subnets_after = subnet_ids(&s, &after.vpc_id);
    assert_eq!(subnets_after.len(), 9);
    for (name, id) in &subnets_after {
        assert_eq!(subnets_before.get(name), Some(id), "{name} was replaced");
    }
    assert_eq!(after.nats, before.nats);

    s.forget_requests();
    let out = vpc(&s, dir.path(), &["update", "--name", "demo"]);
    assert!(out.stdout.contains("nothing to change"), "{out:?}");
    assert!(s.requests().mutating().is_empty(), "{:?}", s.requests().mutating());
}

#[test]
fn the_vpn_gateway_named_for_the_environment_is_attached_routed_and_only_detached_on_destroy() {
    let s = session();
    let sample = std::fs::read_to_string(project_root().join("config/vpc.ini")).unwrap();
    let with_vgw = sample.replace(
        "maintenance_igw_routes=0.0.0.0/0\n",
        "maintenance_igw_routes=0.0.0.0/0\nmaintenance_vgw_routes=10.1.0.0/16\n",
    );
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("vpc.ini"), with_vgw).unwrap();

    // Without a VPN gateway the routes are skipped, and the plan says so.
    let out = vpc(&s, dir.path(), &["create", "--name", "demo", "--type", "sandbox", "--dry-run"]);
    assert!(
        out.stdout.contains("note: maintenance_vgw_routes skipped: no VPN gateway is tagged Name=demo"),
        "{}",
        out.stdout
    );

    // A VGW tagged for the environment, attached to some other VPC for now.
    let ec2 = s.ec2();
    let (vgw, other) = block_on(async {
        let other = ec2
            .create_vpc()
            .cidr_block("10.250.0.0/16")
            .send()
            .await
            .unwrap()
            .vpc()
            .unwrap()
            .vpc_id()
            .unwrap()
            .to_string();
        let tags = aws_sdk_ec2::types::TagSpecification::builder()
            .resource_type(aws_sdk_ec2::types::ResourceType::VpnGateway)
            .tags(aws_sdk_ec2::types::Tag::builder().key("Name").value("demo").build())
            .build();
        let vgw = ec2
            .create_vpn_gateway()
            .r#type(aws_sdk_ec2::types::GatewayType::Ipsec1)
            .tag_specifications(tags)
            .send()
            .await
            .unwrap()
            .vpn_gateway()
            .unwrap()
            .vpn_gateway_id()
            .unwrap()
            .to_string();
        ec2.attach_vpn_gateway().vpn_gateway_id(&vgw).vpc_id(&other).send().await.unwrap();
        (vgw, other)
    });
    // Taking the gateway from the VPC it serves is destructive.
    let out = vpc(&s, dir.path(), &["create", "--name", "demo", "--type", "sandbox", "--allow-destructive"]);
    assert_eq!(out.code, Some(0), "{out:?}");
    assert!(out.stdout.contains(&format!("! move VPN gateway from {other} to this VPC")), "{}", out.stdout);
    let p = picture(&s, "demo").unwrap();
    let attachments = |ec2: &aws_sdk_ec2::Client| {
        let out = block_on(ec2.describe_vpn_gateways().vpn_gateway_ids(&vgw).send()).unwrap();
        out.vpn_gateways()[0]
            .vpc_attachments()
            .iter()
            .map(|a| (a.vpc_id().unwrap().to_string(), a.state().unwrap().as_str().to_string()))
            .collect::<Vec<_>>()
    };
    assert!(attachments(&ec2).contains(&(p.vpc_id.clone(), "attached".to_string())), "{:?}", attachments(&ec2));
    assert!(!attachments(&ec2).contains(&(other.clone(), "attached".to_string())));
    for zone in ZONES {
        let (_, routes) = &p.tables[&format!("demo_maintenance_{zone}")];
        assert_eq!(routes.get("10.1.0.0/16"), Some(&vgw), "{zone}: {routes:?}");
    }

    let out = vpc(&s, dir.path(), &["destroy", "--name", "demo", "--yes"]);
    assert_eq!(out.code, Some(0), "{out:?}");
    let gateways = block_on(ec2.describe_vpn_gateways().vpn_gateway_ids(&vgw).send()).unwrap();
    assert_eq!(gateways.vpn_gateways()[0].state().unwrap().as_str(), "available", "kept");
    assert!(
        !attachments(&ec2).iter().any(|(v, state)| *v == p.vpc_id && state == "attached"),
        "{:?}",
        attachments(&ec2)
    );
}

#[test]
fn skip_enis_leaves_static_addresses_for_a_later_update() {
    let s = session();
    let out = vpc(&s, &project_root(), &["create", "--name", "demo", "--type", "sandbox", "--skip-enis"]);
    assert_eq!(out.code, Some(0), "{out:?}");
    assert!(picture(&s, "demo").unwrap().interfaces.is_empty());
    let out = vpc(&s, &project_root(), &["update", "--name", "demo"]);
    assert_eq!(out.code, Some(0), "{out:?}");
    assert!(
        out.stdout.contains("+ create floating interface 10.200.12.10 for mhcjump in maintenance us-west-2a"),
        "{}",
        out.stdout
    );
    assert_sample_sandbox(&picture(&s, "demo").unwrap());
}

/// Live peerings: (requester name, accepter name) → id, by independent describes.
fn peerings(s: &Session) -> BTreeMap<(String, String), String> {
    block_on(async {
        let ec2 = s.ec2();
        let vpcs = ec2.describe_vpcs().send().await.unwrap();
        let name = |id: &str| {
            let v = vpcs.vpcs().iter().find(|v| v.vpc_id() == Some(id)).unwrap();
            v.tags().iter().find(|t| t.key() == Some("Name")).and_then(|t| t.value()).unwrap().to_string()
        };
        let out = ec2.describe_vpc_peering_connections().filters(f("status-code", "active")).send().await.unwrap();
        out.vpc_peering_connections()
            .iter()
            .filter(|p| p.status().and_then(|s| s.code()).map(|c| c.as_str()) == Some("active"))
            .map(|p| {
                let a = name(p.requester_vpc_info().unwrap().vpc_id().unwrap());
                let b = name(p.accepter_vpc_info().unwrap().vpc_id().unwrap());
                let pair = if a <= b { (a, b) } else { (b, a) };
                (pair, p.vpc_peering_connection_id().unwrap().to_string())
            })
            .collect()
    })
}

#[test]
fn peerings_follow_the_config_with_routes_on_both_sides_and_go_with_destroy() {
    let s = session();
    let root = project_root();
    // The sample says: bakery/tunnel <-> every sandbox's intranet.
    assert_eq!(vpc(&s, &root, &["create", "--name", "bakery", "--type", "bakery"]).code, Some(0));
    assert!(peerings(&s).is_empty(), "no sandbox yet");
    let out = vpc(&s, &root, &["create", "--name", "demo", "--type", "sandbox"]);
    assert_eq!(out.code, Some(0), "{out:?}");
    assert!(out.stdout.contains("+ create peering bakery <-> demo"), "{}", out.stdout);
    let out = vpc(&s, &root, &["create", "--name", "demo2", "--type", "sandbox"]);
    assert_eq!(out.code, Some(0), "{out:?}");
    let live = peerings(&s);
    assert_eq!(live.len(), 2, "{live:?}");
    let to_demo = live[&("bakery".to_string(), "demo".to_string())].clone();
    let to_demo2 = live[&("bakery".to_string(), "demo2".to_string())].clone();

    // Routes on both sides: every bakery tunnel table reaches each sandbox's intranet (/22 of its /20),
    // every sandbox intranet table reaches the bakery's tunnel (10.99.0.0/20).
    let bakery = picture(&s, "bakery").unwrap();
    for zone in ["us-west-2a", "us-west-2b"] {
        let (_, routes) = &bakery.tables[&format!("bakery_tunnel_{zone}")];
        assert_eq!(routes.get("10.200.0.0/22"), Some(&to_demo), "{zone}: {routes:?}");
        assert_eq!(routes.get("10.200.16.0/22"), Some(&to_demo2), "{zone}: {routes:?}");
    }
    let demo = picture(&s, "demo").unwrap();
    for zone in ZONES {
        assert_eq!(demo.tables[&format!("demo_intranet_{zone}")].1.get("10.99.0.0/20"), Some(&to_demo));
    }

    // Security groups on both sides admit the other side's metanetwork.
    let admits = |vpc_name: &str, group: &str| -> BTreeSet<String> {
        let p = picture(&s, vpc_name).unwrap();
        let out = block_on(ec2_groups(&s, &p.vpc_id, group)).unwrap();
        out.security_groups()[0]
            .ip_permissions()
            .iter()
            .filter(|p| p.ip_protocol() == Some("-1"))
            .flat_map(|p| p.ip_ranges().iter().map(|r| r.cidr_ip().unwrap().to_string()))
            .collect()
    };
    assert_eq!(admits("bakery", "bakery_tunnel"), ["10.200.0.0/22", "10.200.16.0/22"].map(String::from).into());
    assert_eq!(admits("demo", "demo_intranet"), ["10.99.0.0/20"].map(String::from).into());

    let out = vpc(&s, &root, &["peerings", "--list", "--name", "demo", "--output", "json"]);
    let listed: serde_json::Value = serde_json::from_str(&out.stdout).expect("JSON");
    assert_eq!(listed.as_array().unwrap().len(), 1, "{listed}");
    assert_eq!(listed[0]["id"], to_demo.as_str());
    s.forget_requests();
    let out = vpc(&s, &root, &["update", "--name", "bakery"]);
    assert!(out.stdout.contains("peerings: nothing to change"), "{}", out.stdout);
    assert!(s.requests().mutating().is_empty(), "{:?}", s.requests().mutating());

    // Destroying demo takes its peering and the bakery's routes to it, and nothing of demo2's.
    assert_eq!(vpc(&s, &root, &["destroy", "--name", "demo", "--yes"]).code, Some(0));
    assert_eq!(peerings(&s).keys().collect::<Vec<_>>(), [&("bakery".to_string(), "demo2".to_string())]);
    let bakery = picture(&s, "bakery").unwrap();
    let (_, routes) = &bakery.tables["bakery_tunnel_us-west-2a"];
    assert!(!routes.contains_key("10.200.0.0/22"), "{routes:?}");
    assert_eq!(routes.get("10.200.16.0/22"), Some(&to_demo2));
    // A later VPC reusing demo's CIDR must not inherit its access.
    assert_eq!(admits("bakery", "bakery_tunnel"), ["10.200.16.0/22"].map(String::from).into());

    // A line leaving the config takes the peering Sila made for it, and the rules of this side.
    let sample = std::fs::read_to_string(root.join("config/vpc.ini")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("vpc.ini"), sample.replace("connection_1=bakery/tunnel *:sandbox/intranet\n", ""))
        .unwrap();
    let out = vpc(&s, dir.path(), &["update", "--name", "demo2", "--allow-destructive"]);
    assert_eq!(out.code, Some(0), "{out:?}");
    assert!(out.stdout.contains("! delete peering bakery <-> demo2 (its line left the config)"), "{}", out.stdout);
    assert!(peerings(&s).is_empty());
    assert!(admits("demo2", "demo2_intranet").is_empty());
    assert!(admits("bakery", "bakery_tunnel").is_empty());
    let out = vpc(&s, &root, &["update", "--name", "demo2"]);
    assert!(out.stdout.contains("+ create peering bakery <-> demo2"), "the line is back: {}", out.stdout);

    // peerings --delete needs a name, and --yes.
    assert_eq!(vpc(&s, &root, &["peerings", "--delete"]).code, Some(2));
    assert_eq!(vpc(&s, &root, &["peerings", "--delete", "--name", "bakery"]).code, Some(2));
    assert_eq!(vpc(&s, &root, &["peerings", "--delete", "--name", "bakery", "--yes"]).code, Some(0));
    assert!(peerings(&s).is_empty());
    let (_, routes) = &picture(&s, "demo2").unwrap().tables["demo2_intranet_us-west-2a"];
    assert!(!routes.contains_key("10.99.0.0/20"), "{routes:?}");
}

#[test]
fn a_killed_create_is_completed_by_update_without_duplicates() {
    let s = session();
    s.set_faults(1, &[FaultRule::latency(150)]);
    let mut child = s
        .command(BIN)
        .arg("--config-dir")
        .arg(project_root())
        .args(["create", "--name", "demo", "--type", "sandbox"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Kill it (SIGKILL: no chance to clean up) once the VPC exists and the next level is under way.
    let ec2 = s.ec2();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while block_on(ec2.describe_vpcs().filters(f("tag:Name", "demo")).send()).unwrap().vpcs().is_empty() {
        assert!(std::time::Instant::now() < deadline, "the VPC never appeared");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    std::thread::sleep(std::time::Duration::from_millis(100));
    child.kill().unwrap();
    assert!(!child.wait().unwrap().success());
    s.set_faults(1, &[]);
    // Requests the killed run had in flight still land, within the injected latency (on AWS within
    // moments); the operator's re-run comes after them. Rules and routes that land during a run are
    // covered by the lost-answer test.
    std::thread::sleep(std::time::Duration::from_millis(400));
    let partial = picture(&s, "demo").unwrap();
    assert!(partial.subnets.len() < 12 || partial.nats.len() < 3, "killed before the end: {partial:?}");

    let out = vpc(&s, &project_root(), &["update", "--name", "demo"]);
    assert_eq!(out.code, Some(0), "{out:?}");
    let p = picture(&s, "demo").unwrap();
    assert_sample_sandbox(&p);
    // Raw counts: nothing made twice.
    block_on(async {
        let by_vpc = || f("vpc-id", &p.vpc_id);
        assert_eq!(ec2.describe_subnets().filters(by_vpc()).send().await.unwrap().subnets().len(), 12);
        assert_eq!(ec2.describe_route_tables().filters(by_vpc()).send().await.unwrap().route_tables().len(), 13);
        assert_eq!(ec2.describe_security_groups().filters(by_vpc()).send().await.unwrap().security_groups().len(), 5);
        assert_eq!(
            ec2.describe_internet_gateways()
                .filters(f("tag:Name", "demo"))
                .send()
                .await
                .unwrap()
                .internet_gateways()
                .len(),
            1
        );
        let nats = ec2.describe_nat_gateways().filter(by_vpc()).send().await.unwrap();
        assert_eq!(nats.nat_gateways().len(), 3, "{nats:?}");
    });
}

#[test]
fn destroy_takes_autoscaling_groups_and_instances_first() {
    let s = session();
    assert_eq!(vpc(&s, &project_root(), &["create", "--name", "demo", "--type", "sandbox"]).code, Some(0));
    let vpc_id = picture(&s, "demo").unwrap().vpc_id;
    let ec2 = s.ec2();
    let subnets = subnet_ids(&s, &vpc_id);
    let (dmz_a, dmz_b, intranet_a) = (
        subnets["demo_dmz_us-west-2a"].clone(),
        subnets["demo_dmz_us-west-2b"].clone(),
        subnets["demo_intranet_us-west-2a"].clone(),
    );
    block_on(async {
        let template = ec2
            .create_launch_template()
            .launch_template_name("demo-web")
            .launch_template_data(
                aws_sdk_ec2::types::RequestLaunchTemplateData::builder()
                    .image_id("ami-12c6146b")
                    .instance_type(aws_sdk_ec2::types::InstanceType::T3Micro)
                    .build(),
            )
            .send()
            .await
            .unwrap();
        let id = template.launch_template().unwrap().launch_template_id().unwrap().to_string();
        s.autoscaling()
            .create_auto_scaling_group()
            .auto_scaling_group_name("demo_mhcweb_1700000000")
            .launch_template(
                aws_sdk_autoscaling::types::LaunchTemplateSpecification::builder()
                    .launch_template_id(id)
                    .version("$Latest")
                    .build(),
            )
            .min_size(2)
            .max_size(2)
            .desired_capacity(2)
            .vpc_zone_identifier(format!("{dmz_a},{dmz_b}"))
            .send()
            .await
            .unwrap();
        ec2.run_instances()
            .image_id("ami-12c6146b")
            .min_count(1)
            .max_count(1)
            .subnet_id(&intranet_a)
            .send()
            .await
            .unwrap();
        // Templates spinup made (tagged with their environment and VPC) whose groups are gone: this
        // environment's goes, another's stays.
        for (name, env, vpc) in [("demo_mhcapi", "demo", vpc_id.as_str()), ("other_mhcapi", "other", "vpc-0other")] {
            ec2.create_launch_template()
                .launch_template_name(name)
                .launch_template_data(
                    aws_sdk_ec2::types::RequestLaunchTemplateData::builder().image_id("ami-12c6146b").build(),
                )
                .tag_specifications(
                    aws_sdk_ec2::types::TagSpecification::builder()
                        .resource_type(aws_sdk_ec2::types::ResourceType::LaunchTemplate)
                        .tags(aws_sdk_ec2::types::Tag::builder().key("environment").value(env).build())
                        .tags(aws_sdk_ec2::types::Tag::builder().key("sila-vpc-id").value(vpc).build())
                        .build(),
                )
                .send()
                .await
                .unwrap();
        }
    });
    let templates = || {
        let out = block_on(ec2.describe_launch_templates().send()).unwrap();
        let mut names: Vec<String> =
            out.launch_templates().iter().filter_map(|t| t.launch_template_name().map(str::to_string)).collect();
        names.sort();
        names
    };
    let running = || {
        let out = block_on(
            ec2.describe_instances().filters(f("vpc-id", &vpc_id)).filters(f("instance-state-name", "running")).send(),
        )
        .unwrap();
        out.reservations().iter().map(|r| r.instances().len()).sum::<usize>()
    };
    assert_eq!(running(), 3);

    let out = vpc(&s, &project_root(), &["destroy", "--name", "demo", "--dry-run"]);
    assert_eq!(out.code, Some(0), "{out:?}");
    let line = |what: &str| {
        out.stdout.lines().find(|l| l.starts_with(what)).map(|l| l.split_whitespace().last().unwrap().to_string())
    };
    assert_eq!(line("autoscaling groups").as_deref(), Some("1"), "{}", out.stdout);
    assert_eq!(line("instances").as_deref(), Some("3"), "{}", out.stdout);
    assert_eq!(line("launch templates").as_deref(), Some("2"), "the group's and the tagged one: {}", out.stdout);
    assert_eq!(running(), 3, "a dry run changes nothing");

    let out = vpc(&s, &project_root(), &["destroy", "--name", "demo", "--yes"]);
    assert_eq!(out.code, Some(0), "{out:?}");
    assert_eq!(running(), 0);
    let groups = block_on(s.autoscaling().describe_auto_scaling_groups().send()).unwrap();
    assert!(groups.auto_scaling_groups().is_empty(), "{groups:?}");
    assert_eq!(templates(), ["other_mhcapi"], "only another environment's template is left");
    assert!(picture(&s, "demo").is_none(), "the VPC is gone");
}

#[test]
fn nat_gateways_follow_the_config_and_their_replacement_is_destructive() {
    let s = session();
    let root = project_root();
    assert_eq!(vpc(&s, &root, &["create", "--name", "demo", "--type", "sandbox"]).code, Some(0));
    let before = picture(&s, "demo").unwrap();
    let ec2 = s.ec2();
    // Three EIPs of the operator's, to use instead of dynamic ones.
    let static_ips: Vec<String> = block_on(async {
        let mut ips = Vec::new();
        for _ in 0..3 {
            let a = ec2.allocate_address().domain(aws_sdk_ec2::types::DomainType::Vpc).send().await.unwrap();
            ips.push(a.public_ip().unwrap().to_string());
        }
        ips
    });
    let sample = std::fs::read_to_string(root.join("config/vpc.ini")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("vpc.ini"),
        sample.replace("tunnel_nat_gateways=auto", &format!("tunnel_nat_gateways={}", static_ips.join(","))),
    )
    .unwrap();

    s.forget_requests();
    let out = vpc(&s, dir.path(), &["update", "--name", "demo"]);
    assert_eq!(out.code, Some(2), "{out:?}");
    assert!(out.stderr.contains("3 destructive step(s) refused"), "{}", out.stderr);
    assert!(s.requests().mutating().is_empty());

    let out = vpc(&s, dir.path(), &["update", "--name", "demo", "--allow-destructive"]);
    assert_eq!(out.code, Some(0), "{out:?}");
    let after = picture(&s, "demo").unwrap();
    assert_eq!(after.nats.len(), 3);
    assert!(after.nats.keys().all(|id| !before.nats.contains_key(id)), "all three replaced");
    let nat_ips: BTreeSet<String> =
        block_on(ec2.describe_nat_gateways().filter(f("vpc-id", &after.vpc_id)).filter(f("state", "available")).send())
            .unwrap()
            .nat_gateways()
            .iter()
            .map(|n| n.nat_gateway_addresses()[0].public_ip().unwrap().to_string())
            .collect();
    assert_eq!(nat_ips, static_ips.iter().cloned().collect());
    assert_sample_sandbox(&after); // intranet routes follow the new gateways
    let dynamic = block_on(ec2.describe_addresses().filters(f("tag:dynamic", "true")).send()).unwrap();
    assert!(dynamic.addresses().is_empty(), "the dynamic EIPs were released: {dynamic:?}");

    // No NAT at all: gateways and the routes through them go, the operator's EIPs stay.
    std::fs::write(
        dir.path().join("vpc.ini"),
        sample.replace("tunnel_nat_gateways=auto\n", "").replace("nat_gateway_routes=intranet/tunnel\n", ""),
    )
    .unwrap();
    let out = vpc(&s, dir.path(), &["update", "--name", "demo", "--allow-destructive"]);
    assert_eq!(out.code, Some(0), "{out:?}");
    let last = picture(&s, "demo").unwrap();
    assert!(last.nats.is_empty(), "{:?}", last.nats);
    for zone in ZONES {
        assert!(last.tables[&format!("demo_intranet_{zone}")].1.is_empty(), "{zone}");
    }
    let kept = block_on(ec2.describe_addresses().send()).unwrap();
    let kept: BTreeSet<String> = kept.addresses().iter().filter_map(|a| a.public_ip().map(str::to_string)).collect();
    assert!(static_ips.iter().all(|ip| kept.contains(ip)), "{kept:?}");
}

async fn ec2_groups(
    s: &Session,
    vpc_id: &str,
    name: &str,
) -> Result<
    aws_sdk_ec2::operation::describe_security_groups::DescribeSecurityGroupsOutput,
    aws_sdk_ec2::error::SdkError<aws_sdk_ec2::operation::describe_security_groups::DescribeSecurityGroupsError>,
> {
    s.ec2().describe_security_groups().filters(f("vpc-id", vpc_id)).filters(f("group-name", name)).send().await
}

#[test]
fn destroy_on_a_terminal_asks_for_the_environment_name() {
    let s = session();
    if std::process::Command::new("script").arg("--version").output().is_err() {
        eprintln!("skipped: no `script` to give the command a terminal");
        return;
    }
    assert_eq!(vpc(&s, &project_root(), &["create", "--name", "tty", "--type", "bakery"]).code, Some(0));
    // `script` runs the command on a pseudo-terminal; the answer comes on its stdin.
    let on_terminal = |answer: &str| {
        let command = format!("{BIN} --config-dir {} destroy --name tty", project_root().display());
        let mut child = s
            .command("script")
            .args(["-qec", &command, "/dev/null"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write as _;
        writeln!(child.stdin.take().unwrap(), "{answer}").unwrap();
        let out = child.wait_with_output().unwrap();
        (out.status.code(), String::from_utf8_lossy(&out.stdout).into_owned())
    };
    let (code, text) = on_terminal("not-the-name");
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("Type its name to confirm") && text.contains("not confirmed"), "{text}");
    assert!(picture(&s, "tty").is_some(), "still there");
    let (code, text) = on_terminal("tty");
    assert_eq!(code, Some(0), "{text}");
    assert!(picture(&s, "tty").is_none(), "gone: {text}");
}

#[test]
fn a_duplicate_route_table_from_a_killed_run_does_not_confuse_update() {
    let s = session();
    assert_eq!(vpc(&s, &project_root(), &["create", "--name", "demo", "--type", "sandbox"]).code, Some(0));
    let vpc_id = picture(&s, "demo").unwrap().vpc_id;
    // What a create killed with CreateRouteTable in flight can leave: a second table, same tags.
    let ec2 = s.ec2();
    block_on(async {
        let tags = aws_sdk_ec2::types::TagSpecification::builder()
            .resource_type(aws_sdk_ec2::types::ResourceType::RouteTable)
            .tags(aws_sdk_ec2::types::Tag::builder().key("Name").value("demo_dmz_us-west-2a").build())
            .tags(aws_sdk_ec2::types::Tag::builder().key("meta_network").value("dmz").build())
            .tags(aws_sdk_ec2::types::Tag::builder().key("subnet").value("us-west-2a").build())
            .build();
        ec2.create_route_table().vpc_id(&vpc_id).tag_specifications(tags).send().await.unwrap();
    });
    s.forget_requests();
    let out = vpc(&s, &project_root(), &["update", "--name", "demo"]);
    assert_eq!(out.code, Some(0), "{out:?}");
    assert!(out.stdout.contains("nothing to change"), "{}", out.stdout);
    assert!(s.requests().mutating().is_empty(), "{:?}", s.requests().mutating());
    assert_eq!(vpc(&s, &project_root(), &["destroy", "--name", "demo", "--yes"]).code, Some(0));
    let left = block_on(ec2.describe_route_tables().filters(f("vpc-id", &vpc_id)).send()).unwrap();
    assert!(left.route_tables().is_empty(), "{left:?}");
}
