//! Environment names in `sila-aws` (issue 11): `--env` and `default_environment` follow the one
//! rule for names (no wildcard ever reaches a `tag:Name` filter), and two VPCs with one name are
//! refused with their ids instead of taking the first.

use aws_sdk_ec2::types::{ResourceType, Tag, TagSpecification};
use sila_testkit::{block_on, session, Outcome, Session};
use std::path::Path;

const BIN: &str = env!("CARGO_BIN_EXE_sila-aws");

fn sila(s: &Session, config: &Path, args: &[&str]) -> Outcome {
    Outcome::of(s.command(BIN).arg("--config-dir").arg(config).args(args))
}

fn config(default_environment: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let text = format!("[disco_aws]\ndefault_environment={default_environment}\ndefault_meta_network=intranet\n");
    std::fs::write(dir.path().join("aws.ini"), text).unwrap();
    dir
}

fn vpc_named(s: &Session, name: &str, cidr: &str) -> String {
    let tags = TagSpecification::builder()
        .resource_type(ResourceType::Vpc)
        .tags(Tag::builder().key("Name").value(name).build())
        .tags(Tag::builder().key("type").value("sandbox").build())
        .build();
    let out = block_on(s.ec2().create_vpc().cidr_block(cidr).tag_specifications(tags).send()).unwrap();
    out.vpc().unwrap().vpc_id().unwrap().to_string()
}

#[test]
fn names_with_wildcards_are_refused_before_any_call() {
    let s = session();
    vpc_named(&s, "scratch", "10.50.0.0/16");
    vpc_named(&s, "bakery", "10.51.0.0/16");
    let dir = config("ci");
    s.forget_requests();
    for env in ["*", "scr?tch", "sand*", "a_b"] {
        for args in [&["listhosts"][..], &["stop", "--hostclass", "mhcweb"], &["terminate", "--hostclass", "mhcweb"]] {
            let out = sila(&s, dir.path(), &[&["--env", env][..], args].concat());
            assert_eq!(out.code, Some(2), "--env {env} {args:?}: {out:?}");
            assert!(out.stderr.contains("--env"), "{}", out.stderr);
        }
    }
    assert!(s.requests().log.is_empty(), "no AWS call at all: {:?}", s.requests().log);

    // A default environment breaking the rule is named with its file and line.
    let dir = config("scr?tch");
    let out = sila(&s, dir.path(), &["listhosts"]);
    assert_eq!(out.code, Some(1), "{out:?}");
    assert!(out.stderr.contains("aws.ini:2: [disco_aws] default_environment"), "{}", out.stderr);
    assert!(s.requests().log.is_empty(), "no AWS call at all: {:?}", s.requests().log);
}

#[test]
fn two_vpcs_with_one_name_are_refused_with_their_ids() {
    let s = session();
    let first = vpc_named(&s, "ci", "10.50.0.0/16");
    let second = vpc_named(&s, "ci", "10.52.0.0/16");
    let dir = config("ci");
    s.forget_requests();
    for args in [&["listhosts"][..], &["--env", "ci", "terminate", "--hostclass", "mhcweb"]] {
        let out = sila(&s, dir.path(), args);
        assert_eq!(out.code, Some(1), "{args:?}: {out:?}");
        let error = out.stderr.trim();
        assert_eq!(error.lines().count(), 1, "{error}");
        assert!(error.contains(&first) && error.contains(&second), "{args:?}: {error}");
    }
    assert!(s.requests().mutating().is_empty(), "{:?}", s.requests().mutating());
}
