//! Host commands against the emulator: instances made with the SDK in an environment's VPC (and one
//! in another VPC, which no command may see or touch), checked with an independent EC2 client.

use aws_sdk_ec2::types::{Filter, ResourceType, Tag, TagSpecification};
use serde_json::Value;
use sila_testkit::{block_on, session, Outcome, Session};
use std::collections::BTreeMap;
use std::path::Path;

const BIN: &str = env!("CARGO_BIN_EXE_sila-aws");

fn f(name: &str, value: &str) -> Filter {
    Filter::builder().name(name).values(value).build()
}

fn tags(kind: ResourceType, tags: &[(&str, &str)]) -> TagSpecification {
    let tags = tags.iter().map(|(k, v)| Tag::builder().key(*k).value(*v).build()).collect();
    TagSpecification::builder().resource_type(kind).set_tags(Some(tags)).build()
}

fn config() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("aws.ini"),
        "[disco_aws]\ndefault_environment=ci\ndefault_meta_network=intranet\n\n[mhcweb]\nmeta_network=dmz\nmeta_network@prod=edge\n",
    )
    .unwrap();
    dir
}

fn sila(s: &Session, config: &Path, args: &[&str]) -> Outcome {
    Outcome::of(s.command(BIN).arg("--config-dir").arg(config).args(args))
}

/// A VPC named `name` with one subnet; returns the subnet.
fn environment(ec2: &aws_sdk_ec2::Client, name: &str, cidr: &str) -> String {
    let vpc = block_on(
        ec2.create_vpc().cidr_block(cidr).tag_specifications(tags(ResourceType::Vpc, &[("Name", name)])).send(),
    )
    .unwrap();
    let vpc = vpc.vpc().unwrap().vpc_id().unwrap();
    let subnet =
        block_on(ec2.create_subnet().vpc_id(vpc).cidr_block(cidr).availability_zone("us-west-2a").send()).unwrap();
    subnet.subnet().unwrap().subnet_id().unwrap().to_string()
}

fn launch(ec2: &aws_sdk_ec2::Client, subnet: &str, host_tags: &[(&str, &str)]) -> String {
    let out = block_on(
        ec2.run_instances()
            .image_id("ami-0000000000000de12")
            .instance_type("t3.micro".into())
            .min_count(1)
            .max_count(1)
            .subnet_id(subnet)
            .tag_specifications(tags(ResourceType::Instance, host_tags))
            .send(),
    )
    .unwrap();
    out.instances()[0].instance_id().unwrap().to_string()
}

fn state(ec2: &aws_sdk_ec2::Client, id: &str) -> String {
    let out = block_on(ec2.describe_instances().instance_ids(id).send()).unwrap();
    out.reservations()[0].instances()[0].state().unwrap().name().unwrap().as_str().to_string()
}

fn instance_tags(ec2: &aws_sdk_ec2::Client, id: &str) -> BTreeMap<String, String> {
    let out = block_on(ec2.describe_instances().instance_ids(id).send()).unwrap();
    out.reservations()[0].instances()[0]
        .tags()
        .iter()
        .map(|t| (t.key().unwrap().to_string(), t.value().unwrap().to_string()))
        .collect()
}

struct Fixture {
    web_a: String,
    web_b: String,
    api: String,
    stranger: String,
}

fn fixture(s: &Session) -> Fixture {
    let ec2 = s.ec2();
    let subnet = environment(&ec2, "ci", "10.50.0.0/24");
    let other = environment(&ec2, "elsewhere", "10.60.0.0/24");
    let web_b = launch(&ec2, &subnet, &[("hostclass", "mhcweb"), ("hostname", "web-b"), ("smoketest", "tested")]);
    let web_a = launch(
        &ec2,
        &subnet,
        &[
            ("hostclass", "mhcweb"),
            ("hostname", "web-a"),
            ("owner", "ann"),
            ("aws:autoscaling:groupName", "ci_mhcweb_1"),
        ],
    );
    let api = launch(&ec2, &subnet, &[("hostclass", "mhcapi"), ("smoketest", "tested")]);
    let stranger = launch(&ec2, &other, &[("hostclass", "mhcweb"), ("hostname", "web-z")]);
    Fixture { web_a, web_b, api, stranger }
}

#[test]
fn listhosts_lists_the_environment_only_in_asiaqs_order_with_the_chosen_columns() {
    let s = session();
    let x = fixture(&s);
    let cfg = config();
    let out = sila(&s, cfg.path(), &["listhosts"]);
    assert_eq!(out.code, Some(0), "{out:?}");
    let ids: Vec<&str> = out.stdout.lines().skip(1).map(|l| l.split_whitespace().next().unwrap()).collect();
    assert_eq!(ids, [x.api.as_str(), x.web_a.as_str(), x.web_b.as_str()], "{}", out.stdout);
    assert!(!out.stdout.contains(&x.stranger), "another environment's host");

    let out = sila(&s, cfg.path(), &["listhosts", "--hostclass", "mhcweb", "--most"]);
    let header = out.stdout.lines().next().unwrap();
    for column in
        ["Instance", "Hostclass", "Address", "State", "Hostname", "Owner", "Type", "AMI", "Smoke", "Uptime (h)"]
    {
        assert!(header.contains(column), "{header}");
    }
    let web_a = out.stdout.lines().find(|l| l.starts_with(&x.web_a)).unwrap();
    let cells: Vec<&str> = web_a.split_whitespace().collect();
    assert_eq!(
        cells[1..],
        ["mhcweb", cells[2], "running", "y", "ann", "t3.micro", "ami-0000000000000de12", "-", "-", "0"]
    );
    assert!(cells[2].starts_with("10.50.0."), "{web_a}");

    let out = sila(&s, cfg.path(), &["--env", "ci", "listhosts", "--output", "json"]);
    let hosts: Value = serde_json::from_str(&out.stdout).unwrap();
    let hosts = hosts.as_array().unwrap();
    assert_eq!(hosts.len(), 3);
    assert_eq!(hosts[0]["smoke_test"], "ready");
    assert_eq!(hosts[1]["tags"]["aws:autoscaling:groupName"], "ci_mhcweb_1");
    assert_eq!(hosts[1]["smoke_test"], "not_ready");

    let out = sila(&s, cfg.path(), &["--env", "nowhere", "listhosts"]);
    assert_eq!(out.code, Some(1));
    assert_eq!(out.stderr.trim(), "sila-aws: error: environment nowhere does not exist (no VPC tagged Name=nowhere)");
}

#[test]
fn gethostclassoption_resolves_like_provisioning() {
    let s = session();
    let cfg = config();
    let out = sila(&s, cfg.path(), &["gethostclassoption", "--hostclass", "mhcweb", "--option", "meta_network"]);
    assert_eq!((out.code, out.stdout.as_str()), (Some(0), "dmz\n"));
    let out = sila(
        &s,
        cfg.path(),
        &["--env", "prod", "gethostclassoption", "--hostclass", "mhcweb", "--option", "meta_network"],
    );
    assert_eq!(out.stdout, "edge\n");
    let out = sila(&s, cfg.path(), &["gethostclassoption", "--hostclass", "mhcapi", "--option", "meta_network"]);
    assert_eq!(out.stdout, "intranet\n", "[disco_aws] default_meta_network");
    let out =
        sila(&s, cfg.path(), &["gethostclassoption", "--hostclass", "mhcapi", "--option", "nope", "--output", "json"]);
    assert_eq!(out.code, Some(1));
    assert_eq!(out.stderr, "Hostclass mhcapi doesn't have option nope.\n");
    let out = sila(
        &s,
        cfg.path(),
        &["gethostclassoption", "--hostclass", "mhcweb", "--option", "meta_network", "--output", "json"],
    );
    let v: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(v["value"], "dmz");
    assert!(v["from"].as_str().unwrap().ends_with("aws.ini:6 [mhcweb] meta_network"), "{v}");
    assert!(s.requests().log.is_empty(), "no AWS call for a config lookup");
}

#[test]
fn isready_tag_stop_and_terminate_act_on_the_selection_only() {
    let s = session();
    let ec2 = s.ec2();
    let x = fixture(&s);
    let cfg = config();

    // isready: exit 0 only when every selected host passed its smoke test.
    assert_eq!(sila(&s, cfg.path(), &["isready", "--hostclass", "mhcapi"]).code, Some(0));
    let out = sila(&s, cfg.path(), &["isready", "--hostclass", "mhcweb"]);
    assert_eq!(out.code, Some(1), "{out:?}");
    assert!(out.stdout.contains("NOT ready") && out.stdout.contains("ready"), "{}", out.stdout);

    // tag: set, then remove; instances of other environments are refused.
    let out = sila(&s, cfg.path(), &["tag", "--instance", &x.web_a, "--key", "smoketest", "--value", "tested"]);
    assert_eq!(out.code, Some(0), "{out:?}");
    assert_eq!(instance_tags(&ec2, &x.web_a).get("smoketest").map(String::as_str), Some("tested"));
    assert_eq!(sila(&s, cfg.path(), &["isready", "--hostclass", "mhcweb"]).code, Some(0));
    let out = sila(&s, cfg.path(), &["tag", "--instance", &x.web_a, "--key", "smoketest", "--output", "json"]);
    assert_eq!(out.code, Some(0), "{out:?}");
    let v: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(
        (v["key"].as_str(), v["value"].is_null(), v["dry_run"].as_bool()),
        (Some("smoketest"), true, Some(false))
    );
    assert!(!instance_tags(&ec2, &x.web_a).contains_key("smoketest"));
    s.forget_requests();
    let out = sila(&s, cfg.path(), &["tag", "--instance", &x.stranger, "--key", "k", "--value", "v"]);
    assert_eq!(out.code, Some(2), "{out:?}");
    assert!(s.requests().mutating().is_empty());

    // Exactly one kind of selector.
    s.forget_requests();
    assert_eq!(sila(&s, cfg.path(), &["stop"]).code, Some(2));
    assert_eq!(sila(&s, cfg.path(), &["terminate", "--hostclass", "mhcweb", "--ami", "ami-1"]).code, Some(2));
    let out = sila(&s, cfg.path(), &["terminate", "--hostclass", "mhcweb", "--dry-run"]);
    assert_eq!(out.code, Some(0));
    assert!(out.stdout.contains(&x.web_a) && out.stdout.contains(&x.web_b) && !out.stdout.contains(&x.stranger));
    assert!(s.requests().mutating().is_empty(), "{:?}", s.requests().mutating());

    // stop by group; terminate by hostname, with the route that points at the host.
    let out = sila(&s, cfg.path(), &["stop", "--asg", "ci_mhcweb_1"]);
    assert_eq!(out.stdout.trim(), format!("Stopped: {}", x.web_a));
    assert_eq!(state(&ec2, &x.web_a), "stopped");
    assert_eq!(state(&ec2, &x.web_b), "running");
    let vpc = block_on(ec2.describe_vpcs().filters(f("tag:Name", "ci")).send()).unwrap().vpcs()[0]
        .vpc_id()
        .unwrap()
        .to_string();
    let table = block_on(ec2.create_route_table().vpc_id(&vpc).send()).unwrap();
    let table = table.route_table().unwrap().route_table_id().unwrap().to_string();
    block_on(
        ec2.create_route().route_table_id(&table).destination_cidr_block("192.168.0.0/16").instance_id(&x.web_b).send(),
    )
    .unwrap();
    let out = sila(&s, cfg.path(), &["terminate", "--hostname", "web-b", "--hostname", "web-z", "--output", "json"]);
    let v: Value = serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("{e}: {out:?}"));
    assert_eq!(v["instances"], serde_json::json!([x.web_b]), "web-z is in another environment");
    assert_eq!(state(&ec2, &x.web_b), "terminated");
    assert_eq!(state(&ec2, &x.stranger), "running");
    assert_eq!(state(&ec2, &x.api), "running");
    let routes = block_on(ec2.describe_route_tables().route_table_ids(&table).send()).unwrap();
    assert!(
        !routes.route_tables()[0].routes().iter().any(|r| r.destination_cidr_block() == Some("192.168.0.0/16")),
        "the route to the terminated host is gone"
    );
}

#[test]
fn exec_ssm_sends_the_document_to_the_selected_hosts_and_reports_each() {
    let s = session();
    let x = fixture(&s);
    let cfg = config();
    let ini = cfg.path().join("aws.ini");
    let text = std::fs::read_to_string(&ini).unwrap();
    std::fs::write(&ini, text.replace("[disco_aws]\n", "[disco_aws]\ns3_bucket_base=acme\ns3_bucket_suffix=x\n"))
        .unwrap();
    let location = aws_sdk_s3::types::CreateBucketConfiguration::builder()
        .location_constraint(aws_sdk_s3::types::BucketLocationConstraint::UsWest2)
        .build();
    block_on(s.s3().create_bucket().bucket("acme--ssm--x").create_bucket_configuration(location).send()).unwrap();
    let base = ["exec-ssm", "--document", "AWS-RunShellScript", "--hostclass", "mhcweb"];
    let params = ["--parameters", "commands=echo a=b", "--parameters", "commands=uptime", "--comment", "deploy 7"];

    s.forget_requests();
    let out = sila(&s, cfg.path(), &[&base[..], &params[..], &["--dry-run"]].concat());
    assert_eq!(out.code, Some(0), "{out:?}");
    assert!(out.stdout.contains(&format!("would send AWS-RunShellScript to {} {}", x.web_a, x.web_b)), "{out:?}");
    assert_eq!(s.requests().count("SendCommand"), 0, "a dry run sends nothing");

    let out = sila(&s, cfg.path(), &[&["--output", "json"][..], &base[..], &params[..]].concat());
    assert_eq!(out.code, Some(0), "{out:?}");
    let v: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(v["status"], "Success");
    assert_eq!(v["output_bucket"], "acme--ssm--x");
    let reported: Vec<&str> =
        v["invocations"].as_array().unwrap().iter().map(|i| i["instance"].as_str().unwrap()).collect();
    assert_eq!(reported, [x.web_a.as_str(), x.web_b.as_str()]);

    // The emulator's own record of the command.
    let listed = block_on(s.ssm().list_commands().send()).unwrap();
    let command = &listed.commands()[0];
    assert_eq!(command.command_id(), v["command_ids"][0].as_str());
    assert_eq!(command.document_name(), Some("AWS-RunShellScript"));
    assert_eq!(command.comment(), Some("deploy 7"));
    assert_eq!(command.output_s3_bucket_name(), Some("acme--ssm--x"));
    let sent = command.parameters().unwrap().get("commands").unwrap();
    assert_eq!(sent, &["echo a=b".to_string(), "uptime".to_string()]);

    // Text: one block per host, and the overall status.
    let out = sila(&s, cfg.path(), &[&base[..], &params[..]].concat());
    assert_eq!(out.code, Some(0), "{out:?}");
    assert!(out.stdout.contains(&format!("== {} (Success, exit 0) ==", x.web_b)), "{out:?}");
    assert!(out.stdout.lines().last().unwrap().ends_with(": Success"), "{out:?}");
    assert!(!out.stdout.contains(&x.api), "{out:?}");

    // Bad usage changes nothing.
    s.forget_requests();
    for bad in [
        &["exec-ssm", "--document", "AWS-RunShellScript", "--parameters", "commands"][..],
        &["exec-ssm", "--document", "AWS-RunShellScript"][..],
    ] {
        let out = sila(&s, cfg.path(), bad);
        assert_eq!(out.code, Some(2), "{out:?}");
    }
    assert_eq!(s.requests().mutating().len(), 0);
}
