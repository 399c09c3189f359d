//! `sila <tool> ...` reaches the tool; `sila check` works on the repo's sample config.

use aws_sdk_ec2::types::{ResourceType, Tag, TagSpecification};
use sila_testkit::{bin, block_on, project_root, session, Outcome};

#[test]
fn sila_vpc_list_runs_the_vpc_tool_against_aws() {
    let s = session();
    let tags = TagSpecification::builder()
        .resource_type(ResourceType::Vpc)
        .tags(Tag::builder().key("Name").value("e2e").build())
        .tags(Tag::builder().key("type").value("sandbox").build())
        .build();
    let vpc =
        block_on(s.ec2().create_vpc().cidr_block("10.200.0.0/20").tag_specifications(tags).send()).expect("create vpc");
    let id = vpc.vpc().and_then(|v| v.vpc_id()).unwrap().to_string();

    let out = Outcome::of(s.command(bin("sila")).args(["vpc", "list", "--output", "json"]));
    assert_eq!(out.code, Some(0), "{out:?}");
    let json: serde_json::Value = serde_json::from_str(&out.stdout).expect("JSON");
    assert!(json.as_array().unwrap().iter().any(|v| v["vpc_id"] == id.as_str() && v["name"] == "e2e"), "{json}");
}

#[test]
fn sila_forwards_exit_codes_and_refuses_unknown_tools() {
    let s = session();
    let out = Outcome::of(s.command(bin("sila")).args(["vpc", "list", "--bogus"]));
    assert_eq!(out.code, Some(2), "{out:?}");
    let out = Outcome::of(s.command(bin("sila")).arg("frobnicate"));
    assert_eq!(out.code, Some(2), "{out:?}");
    assert!(out.stderr.contains("unknown command or tool 'frobnicate'"), "{}", out.stderr);
}

#[test]
fn sila_tool_help_is_the_tools_own_help() {
    let s = session();
    for tool in ["bake", "vpc", "aws", "iam", "elb", "route53", "rds", "chaos", "snapshot"] {
        let direct = Outcome::of(s.command(bin(&format!("sila-{tool}"))).arg("--help"));
        let via_umbrella = Outcome::of(s.command(bin("sila")).args([tool, "--help"]));
        assert_eq!(via_umbrella.code, Some(0), "sila {tool} --help: {via_umbrella:?}");
        assert_eq!(via_umbrella.stdout, direct.stdout, "sila {tool} --help");
    }
}

#[test]
fn sila_check_passes_on_the_repo_sample_config_from_anywhere() {
    let s = session();
    // Run from another directory: everything resolves against the config dir, not the CWD.
    let elsewhere = std::env::temp_dir();
    let out =
        Outcome::of(s.command(bin("sila")).arg("check").env("SILA_CONFIG_DIR", project_root()).current_dir(&elsewhere));
    assert_eq!(out.code, Some(0), "{out:?}");
    assert!(!out.stdout.contains("error:"), "{}", out.stdout);
    assert!(s.requests().log.is_empty(), "check is offline");
}
