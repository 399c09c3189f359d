//! Safety of `sila-vpc` around names and ownership (issue 11): names with wildcard characters are
//! refused before any call, two VPCs with one name are refused, `--tag` never renames or retypes,
//! destroy takes only what provably belongs to its VPC, and deleting a peering or moving a VPN
//! gateway needs `--allow-destructive`. Checked with independent SDK calls and the request log.

use aws_sdk_ec2::types::{Filter, ResourceType, Tag, TagSpecification};
use sila_testkit::{block_on, project_root, session, Outcome, Session};
use std::path::Path;

const BIN: &str = env!("CARGO_BIN_EXE_sila-vpc");

fn vpc(s: &Session, config: &Path, args: &[&str]) -> Outcome {
    Outcome::of(s.command(BIN).arg("--config-dir").arg(config).args(args))
}

fn f(name: &str, value: &str) -> Filter {
    Filter::builder().name(name).values(value).build()
}

fn tags(kind: ResourceType, tags: &[(&str, &str)]) -> TagSpecification {
    let tags = tags.iter().map(|(k, v)| Tag::builder().key(*k).value(*v).build()).collect();
    TagSpecification::builder().resource_type(kind).set_tags(Some(tags)).build()
}

/// The ids of the VPCs tagged `Name=name`, by an independent describe.
fn vpcs_named(s: &Session, name: &str) -> Vec<String> {
    let out = block_on(s.ec2().describe_vpcs().filters(f("tag:Name", name)).send()).unwrap();
    out.vpcs().iter().map(|v| v.vpc_id().unwrap().to_string()).collect()
}

/// A VPC made by hand with these tags; its id.
fn hand_made_vpc(s: &Session, cidr: &str, with: &[(&str, &str)]) -> String {
    let out = block_on(s.ec2().create_vpc().cidr_block(cidr).tag_specifications(tags(ResourceType::Vpc, with)).send())
        .unwrap();
    out.vpc().unwrap().vpc_id().unwrap().to_string()
}

/// A launch template with these tags; its id.
fn template(s: &Session, name: &str, with: &[(&str, &str)]) -> String {
    let data = aws_sdk_ec2::types::RequestLaunchTemplateData::builder().image_id("ami-12c6146b").build();
    let mut request = s.ec2().create_launch_template().launch_template_name(name).launch_template_data(data);
    if !with.is_empty() {
        request = request.tag_specifications(tags(ResourceType::LaunchTemplate, with));
    }
    let out = block_on(request.send()).unwrap();
    out.launch_template().unwrap().launch_template_id().unwrap().to_string()
}

fn template_names(s: &Session) -> Vec<String> {
    let out = block_on(s.ec2().describe_launch_templates().max_results(200).send()).unwrap();
    let mut names: Vec<String> =
        out.launch_templates().iter().filter_map(|t| t.launch_template_name().map(str::to_string)).collect();
    names.sort();
    names
}

#[test]
fn names_with_wildcards_are_refused_before_any_call() {
    let s = session();
    let root = project_root();
    assert_eq!(vpc(&s, &root, &["create", "--name", "scratch", "--type", "bakery"]).code, Some(0));
    s.forget_requests();
    let cases: [&[&str]; 9] = [
        &["destroy", "--name", "scr?tch", "--yes"],
        &["destroy", "--name", "*", "--yes"],
        &["update", "--name", "scr*"],
        &["show", "--name", "*"],
        &["peerings", "--list", "--name", "scr?tch"],
        &["peerings", "--create", "--name", "*"],
        &["peerings", "--delete", "--name", "scr?tch", "--yes"],
        &["destroy", "--vpc-id", "vpc-*", "--yes"],
        &["create", "--name", "sand*", "--type", "bakery"],
    ];
    for args in cases {
        let out = vpc(&s, &root, args);
        assert_eq!(out.code, Some(2), "{args:?}: {out:?}");
        assert_eq!(out.stderr.trim().lines().count(), 1, "one line: {args:?}: {}", out.stderr);
        assert!(out.stderr.contains("may only use") || out.stderr.contains("--vpc-id"), "{args:?}: {}", out.stderr);
    }
    assert!(s.requests().log.is_empty(), "no AWS call at all: {:?}", s.requests().log);
    assert_eq!(vpcs_named(&s, "scratch").len(), 1, "still there");

    // A type is matched exactly too.
    s.forget_requests();
    let out = vpc(&s, &root, &["list", "--type", "bak*"]);
    assert_eq!(out.code, Some(2), "{out:?}");
    assert!(s.requests().log.is_empty(), "no AWS call at all: {:?}", s.requests().log);
}

#[test]
fn tags_never_rename_or_retype_an_environment() {
    let s = session();
    for tag in ["Name:sandbox", "type:bakery", " Name :x"] {
        let out = vpc(&s, &project_root(), &["create", "--name", "x", "--type", "bakery", "--tag", tag]);
        assert_eq!(out.code, Some(2), "{tag}: {out:?}");
        assert!(out.stderr.contains("--tag"), "{tag}: {}", out.stderr);
    }
    assert!(s.requests().mutating().is_empty(), "{:?}", s.requests().mutating());
    assert!(vpcs_named(&s, "x").is_empty() && vpcs_named(&s, "sandbox").is_empty());
}

#[test]
fn two_vpcs_with_one_name_are_refused_with_their_ids() {
    let s = session();
    let root = project_root();
    assert_eq!(vpc(&s, &root, &["create", "--name", "bakery", "--type", "bakery"]).code, Some(0));
    assert_eq!(vpc(&s, &root, &["create", "--name", "demo", "--type", "sandbox"]).code, Some(0));
    let twin = hand_made_vpc(&s, "10.250.0.0/16", &[("Name", "demo"), ("type", "sandbox")]);
    let ids = vpcs_named(&s, "demo");
    assert_eq!(ids.len(), 2);
    s.forget_requests();
    // By name, demo is ambiguous; so is the bakery's peering to "every sandbox", which names it.
    for args in [
        &["show", "--name", "demo"][..],
        &["update", "--name", "demo"],
        &["destroy", "--name", "demo", "--yes"],
        &["peerings", "--create", "--name", "demo"],
        &["update", "--name", "bakery"],
        &["peerings", "--create"],
    ] {
        let out = vpc(&s, &root, args);
        assert_ne!(out.code, Some(0), "{args:?}: {out:?}");
        let error = out.stderr.trim();
        assert_eq!(error.lines().count(), 1, "{args:?}: {error}");
        assert!(ids.iter().all(|id| error.contains(id.as_str())), "{args:?} lists both VPCs: {error}");
    }
    assert!(s.requests().mutating().is_empty(), "{:?}", s.requests().mutating());
    // By id, each can still be reached: the twin goes, demo stays whole.
    let out = vpc(&s, &root, &["destroy", "--vpc-id", &twin, "--yes"]);
    assert_eq!(out.code, Some(0), "{out:?}");
    assert_eq!(vpcs_named(&s, "demo").len(), 1);
    let out = vpc(&s, &root, &["update", "--name", "demo"]);
    assert_eq!(out.code, Some(0), "{out:?}");
    assert!(out.stdout.contains("nothing to change"), "{}", out.stdout);
}

#[test]
fn destroy_takes_only_the_templates_and_dhcp_options_of_its_own_vpc() {
    let s = session();
    let root = project_root();
    assert_eq!(vpc(&s, &root, &["create", "--name", "demo", "--type", "sandbox"]).code, Some(0));
    let live = vpcs_named(&s, "demo")[0].clone();
    let dopt = |vpc_id: &str| {
        let out = block_on(s.ec2().describe_vpcs().vpc_ids(vpc_id).send()).unwrap();
        out.vpcs()[0].dhcp_options_id().unwrap().to_string()
    };
    let live_dhcp = dopt(&live);
    assert_ne!(live_dhcp, "default");
    // Sila tags the set at creation; the emulator drops tags given to CreateDhcpOptions, so the
    // test puts the tag AWS would have kept.
    block_on(s.ec2().create_tags().resources(&live_dhcp).tags(Tag::builder().key("Name").value("demo").build()).send())
        .unwrap();
    // What spinup makes for the live environment, a template someone tagged with the name only,
    // and a duplicate VPC named like the live one.
    template(&s, "demo_mhcweb", &[("environment", "demo"), ("hostclass", "mhcweb"), ("sila-vpc-id", &live)]);
    template(&s, "loose", &[("environment", "demo")]);
    template(&s, "other_mhcweb", &[("environment", "other")]);
    let twin = hand_made_vpc(&s, "10.250.0.0/16", &[("Name", "demo"), ("type", "sandbox")]);

    let out = vpc(&s, &root, &["destroy", "--vpc-id", &twin, "--dry-run"]);
    assert_eq!(out.code, Some(0), "{out:?}");
    assert!(!out.stdout.contains("launch template"), "{}", out.stdout);
    assert!(!out.stdout.contains("DHCP"), "{}", out.stdout);
    let out = vpc(&s, &root, &["destroy", "--vpc-id", &twin, "--yes"]);
    assert_eq!(out.code, Some(0), "{out:?}");
    assert_eq!(vpcs_named(&s, "demo"), std::slice::from_ref(&live));
    assert_eq!(template_names(&s), ["demo_mhcweb", "loose", "other_mhcweb"], "nothing of another VPC's");
    assert_eq!(dopt(&live), live_dhcp, "the live environment keeps its DHCP options");
    let sets = block_on(s.ec2().describe_dhcp_options().dhcp_options_ids(&live_dhcp).send()).unwrap();
    assert_eq!(sets.dhcp_options().len(), 1);

    // The live one's own destroy names its template, and leaves the others.
    let out = vpc(&s, &root, &["destroy", "--name", "demo", "--dry-run"]);
    assert_eq!(out.code, Some(0), "{out:?}");
    assert!(out.stdout.contains("demo_mhcweb"), "{}", out.stdout);
    assert!(!out.stdout.contains("loose") && !out.stdout.contains("other_mhcweb"), "{}", out.stdout);
    assert!(out.stdout.contains(&live_dhcp), "{}", out.stdout);
    s.forget_requests();
    let out = vpc(&s, &root, &["destroy", "--name", "demo", "--yes"]);
    assert_eq!(out.code, Some(0), "{out:?}");
    assert_eq!(template_names(&s), ["loose", "other_mhcweb"]);
    assert_eq!(s.requests().count("DeleteDhcpOptions"), 1);
}

/// Live peerings, as (requester, accepter) ids.
fn live_peerings(s: &Session) -> Vec<(String, String)> {
    let out = block_on(s.ec2().describe_vpc_peering_connections().filters(f("status-code", "active")).send()).unwrap();
    out.vpc_peering_connections()
        .iter()
        .filter(|p| p.status().and_then(|s| s.code()).map(|c| c.as_str()) == Some("active"))
        .map(|p| {
            let side = |i: Option<&aws_sdk_ec2::types::VpcPeeringConnectionVpcInfo>| {
                i.and_then(|i| i.vpc_id()).unwrap_or_default().to_string()
            };
            (side(p.requester_vpc_info()), side(p.accepter_vpc_info()))
        })
        .collect()
}

#[test]
fn deleting_a_peering_needs_allow_destructive() {
    let s = session();
    let root = project_root();
    assert_eq!(vpc(&s, &root, &["create", "--name", "bakery", "--type", "bakery"]).code, Some(0));
    assert_eq!(vpc(&s, &root, &["create", "--name", "demo", "--type", "sandbox"]).code, Some(0));
    assert_eq!(live_peerings(&s).len(), 1);
    // A copy of the config without [peerings].
    let sample = std::fs::read_to_string(root.join("config/vpc.ini")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let cut = sample.split("[peerings]").next().unwrap().to_string();
    std::fs::write(dir.path().join("vpc.ini"), cut).unwrap();

    s.forget_requests();
    for args in [
        &["update", "--name", "demo"][..],
        &["update", "--name", "bakery"],
        &["peerings", "--create", "--name", "demo"],
    ] {
        let out = vpc(&s, dir.path(), args);
        assert_eq!(out.code, Some(2), "{args:?}: {out:?}");
        assert!(out.stdout.contains("! delete peering bakery <-> demo"), "{args:?}: {}", out.stdout);
        assert!(out.stderr.contains("--allow-destructive"), "{args:?}: {}", out.stderr);
    }
    assert!(s.requests().mutating().is_empty(), "{:?}", s.requests().mutating());
    assert_eq!(live_peerings(&s).len(), 1, "still peered");
    let out = vpc(&s, dir.path(), &["update", "--name", "demo", "--dry-run"]);
    assert_eq!(out.code, Some(0), "{out:?}");
    assert!(out.stdout.contains("! delete peering bakery <-> demo"), "{}", out.stdout);

    let out = vpc(&s, dir.path(), &["update", "--name", "demo", "--allow-destructive"]);
    assert_eq!(out.code, Some(0), "{out:?}");
    assert!(live_peerings(&s).is_empty());
}

#[test]
fn moving_a_vpn_gateway_from_another_vpc_needs_allow_destructive() {
    let s = session();
    let root = project_root();
    assert_eq!(vpc(&s, &root, &["create", "--name", "bakery", "--type", "bakery"]).code, Some(0));
    let bakery = vpcs_named(&s, "bakery")[0].clone();
    let ec2 = s.ec2();
    let vgw = block_on(async {
        let out = ec2
            .create_vpn_gateway()
            .r#type(aws_sdk_ec2::types::GatewayType::Ipsec1)
            .tag_specifications(tags(ResourceType::VpnGateway, &[("Name", "corp")]))
            .send()
            .await
            .unwrap();
        let vgw = out.vpn_gateway().unwrap().vpn_gateway_id().unwrap().to_string();
        ec2.attach_vpn_gateway().vpn_gateway_id(&vgw).vpc_id(&bakery).send().await.unwrap();
        vgw
    });
    let attached_to = || {
        let out = block_on(ec2.describe_vpn_gateways().vpn_gateway_ids(&vgw).send()).unwrap();
        out.vpn_gateways()[0]
            .vpc_attachments()
            .iter()
            .filter(|a| a.state().map(|s| s.as_str()) == Some("attached"))
            .filter_map(|a| a.vpc_id().map(str::to_string))
            .collect::<Vec<_>>()
    };
    s.forget_requests();
    let out = vpc(&s, &root, &["create", "--name", "corp", "--type", "sandbox"]);
    assert_eq!(out.code, Some(2), "{out:?}");
    assert!(out.stdout.contains(&format!("! move VPN gateway from {bakery} to this VPC")), "{}", out.stdout);
    assert!(out.stderr.contains("--allow-destructive"), "{}", out.stderr);
    assert!(s.requests().mutating().is_empty(), "{:?}", s.requests().mutating());
    assert_eq!(attached_to(), std::slice::from_ref(&bakery));
    assert!(vpcs_named(&s, "corp").is_empty());

    let out = vpc(&s, &root, &["create", "--name", "corp", "--type", "sandbox", "--allow-destructive"]);
    assert_eq!(out.code, Some(0), "{out:?}");
    assert_eq!(attached_to(), vpcs_named(&s, "corp"));
}
