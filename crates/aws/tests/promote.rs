//! `promoterunning` against the emulator: images and instances made with the SDK, launch
//! permissions checked with an independent EC2 client.

use aws_sdk_ec2::types::{ImageAttributeName, ResourceType};
use serde_json::Value;
use sila_testkit::fixtures::tag_spec as spec;
use sila_testkit::{block_on, session, Outcome, Session};
use std::path::Path;

const BIN: &str = env!("CARGO_BIN_EXE_sila-aws");
const PROD: [&str; 2] = ["111111111111", "222222222222"];

fn config(prod: bool) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let accounts = if prod { PROD.join(" ") } else { String::new() };
    std::fs::write(
        dir.path().join("aws.ini"),
        format!(
            "[disco_aws]\ndefault_environment=ci\n\n[bake]\nami_stages=untested tested\nprod_baker=jenkins\nprod_account_ids={accounts}\n"
        ),
    )
    .unwrap();
    dir
}

/// A VPC named `name` with one subnet; returns the subnet.
fn vpc(ec2: &aws_sdk_ec2::Client, name: &str, cidr: &str) -> String {
    let vpc = block_on(
        ec2.create_vpc().cidr_block(cidr).tag_specifications(spec(ResourceType::Vpc, &[("Name", name)])).send(),
    )
    .unwrap();
    let vpc = vpc.vpc().unwrap().vpc_id().unwrap();
    let subnet =
        block_on(ec2.create_subnet().vpc_id(vpc).cidr_block(cidr).availability_zone("us-west-2a").send()).unwrap();
    subnet.subnet().unwrap().subnet_id().unwrap().to_string()
}

fn image(ec2: &aws_sdk_ec2::Client, name: &str, stage: &str, baker: &str) -> String {
    sila_testkit::fixtures::image(ec2, name, &[("stage", stage), ("baker", baker)])
}

fn launch(ec2: &aws_sdk_ec2::Client, subnet: &str, image: &str) {
    block_on(ec2.run_instances().image_id(image).min_count(1).max_count(1).subnet_id(subnet).send()).unwrap();
}

fn shared_with(ec2: &aws_sdk_ec2::Client, image: &str) -> Vec<String> {
    let out =
        block_on(ec2.describe_image_attribute().image_id(image).attribute(ImageAttributeName::LaunchPermission).send())
            .unwrap();
    let mut accounts: Vec<String> =
        out.launch_permissions().iter().filter_map(|p| p.user_id().map(str::to_string)).collect();
    accounts.sort();
    accounts
}

fn sila(s: &Session, config: &Path, args: &[&str]) -> Outcome {
    Outcome::of(s.command(BIN).arg("--config-dir").arg(config).args(args))
}

fn outcome<'a>(out: &'a Value, ami: &str) -> &'a str {
    out.as_array().unwrap().iter().find(|d| d["ami"] == ami).map_or("(not listed)", |d| d["outcome"].as_str().unwrap())
}

#[test]
fn promoterunning_shares_final_stage_images_of_the_production_baker_that_ran_long_enough() {
    let s = session();
    let ec2 = s.ec2();
    let subnet = vpc(&ec2, "ci", "10.70.0.0/24");
    let elsewhere = vpc(&ec2, "elsewhere", "10.71.0.0/24");
    let web = image(&ec2, "mhcweb 1700000000", "tested", "jenkins");
    let api = image(&ec2, "mhcapi 1700000000", "untested", "jenkins");
    let db = image(&ec2, "mhcdb 1700000000", "tested", "bob");
    let stranger = image(&ec2, "mhcother 1700000000", "tested", "jenkins");
    for i in [&web, &web, &api, &db] {
        launch(&ec2, &subnet, i);
    }
    launch(&ec2, &elsewhere, &stranger);
    let cfg = config(true);

    // Nothing has run three hours yet.
    let out = sila(&s, cfg.path(), &["--output", "json", "promoterunning"]);
    assert_eq!(out.code, Some(0), "{out:?}");
    let decisions: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(outcome(&decisions, &web), "running less than 3 hours");
    assert!(shared_with(&ec2, &web).is_empty());

    s.forget_requests();
    let out = sila(&s, cfg.path(), &["--output", "json", "promoterunning", "--hours", "0", "--dry-run"]);
    assert_eq!(out.code, Some(0), "{out:?}");
    let decisions: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(outcome(&decisions, &web), "would be shared");
    assert_eq!(s.requests().mutating().len(), 0, "a dry run changes nothing");

    let out = sila(&s, cfg.path(), &["--output", "json", "promoterunning", "--hours", "0"]);
    assert_eq!(out.code, Some(0), "{out:?}");
    let decisions: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(outcome(&decisions, &web), "shared");
    assert_eq!(decisions.as_array().unwrap().iter().find(|d| d["ami"] == web.as_str()).unwrap()["instances"], 2);
    assert!(outcome(&decisions, &api).contains("only images in the final stage (tested)"), "{decisions}");
    assert!(outcome(&decisions, &db).contains("not by the production baker jenkins"), "{decisions}");
    assert_eq!(outcome(&decisions, &stranger), "(not listed)", "another environment's image");
    assert_eq!(shared_with(&ec2, &web), PROD);
    for other in [&api, &db, &stranger] {
        assert!(shared_with(&ec2, other).is_empty(), "{other}");
    }

    // Again: nothing more to do.
    s.forget_requests();
    let out = sila(&s, cfg.path(), &["promoterunning", "--hours", "0"]);
    assert_eq!(out.code, Some(0), "{out:?}");
    assert!(out.stdout.lines().any(|l| l.starts_with(&web) && l.ends_with("already shared")), "{}", out.stdout);
    assert_eq!(s.requests().mutating().len(), 0);

    // Without production accounts there is nothing to share with.
    let out = sila(&s, config(false).path(), &["promoterunning"]);
    assert_eq!(out.code, Some(1), "{out:?}");
    assert!(out.stderr.contains("no [bake] prod_account_ids configured"), "{out:?}");
}
