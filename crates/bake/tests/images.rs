//! Image management against the emulator: listings, promotion and sharing rules, deletion and
//! cleanup (with the images in use kept), checked with an independent EC2 client.

use aws_sdk_ec2::types::ImageAttributeName;
use serde_json::Value;
use sila_testkit::fixtures::image;
use sila_testkit::{block_on, session, Outcome, Session};
use std::collections::BTreeMap;
use std::path::Path;

const BIN: &str = env!("CARGO_BIN_EXE_sila-bake");
const DAY: u64 = 86_400;

fn sila(s: &Session, config: &Path, args: &[&str]) -> Outcome {
    Outcome::of(s.command(BIN).arg("--config-dir").arg(config).args(args))
}

fn now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs()
}

/// A config dir: `[bake]` with stages, production accounts and baker, and a pipeline pinning `pinned`.
fn config(pinned: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("aws.ini"),
        "[disco_aws]\ndefault_environment=ci\n\n[bake]\nami_stages=untested failed tested\nprod_baker=jenkins\nprod_account_ids=111111111111 222222222222\n",
    )
    .unwrap();
    std::fs::create_dir(dir.path().join("pipelines")).unwrap();
    std::fs::write(
        dir.path().join("pipelines/ci.csv"),
        format!(
            "sequence,hostclass,min_size,desired_size,max_size,instance_type,ami\n1,mhcweb,1,1,1,t3.micro,{pinned}\n"
        ),
    )
    .unwrap();
    dir
}

fn exists(ec2: &aws_sdk_ec2::Client, id: &str) -> bool {
    block_on(ec2.describe_images().image_ids(id).send()).is_ok_and(|o| !o.images().is_empty())
}

fn snapshots(ec2: &aws_sdk_ec2::Client, id: &str) -> Vec<String> {
    let out = block_on(ec2.describe_images().image_ids(id).send()).unwrap();
    out.images()[0]
        .block_device_mappings()
        .iter()
        .filter_map(|b| b.ebs().and_then(|e| e.snapshot_id()).map(str::to_string))
        .collect()
}

fn snapshot_exists(ec2: &aws_sdk_ec2::Client, id: &str) -> bool {
    block_on(ec2.describe_snapshots().snapshot_ids(id).send()).is_ok()
}

fn tags(ec2: &aws_sdk_ec2::Client, id: &str) -> BTreeMap<String, String> {
    let out = block_on(ec2.describe_images().image_ids(id).send()).unwrap();
    out.images()[0].tags().iter().map(|t| (t.key().unwrap().to_string(), t.value().unwrap().to_string())).collect()
}

fn shared_with(ec2: &aws_sdk_ec2::Client, id: &str) -> Vec<String> {
    let out =
        block_on(ec2.describe_image_attribute().image_id(id).attribute(ImageAttributeName::LaunchPermission).send())
            .unwrap();
    let mut accounts: Vec<String> =
        out.launch_permissions().iter().filter_map(|p| p.user_id().map(str::to_string)).collect();
    accounts.sort();
    accounts
}

#[test]
fn cleanup_keeps_the_newest_the_young_the_excluded_and_everything_in_use() {
    let s = session();
    let ec2 = s.ec2();
    let t = now();
    let name = |days: u64| format!("mhcweb {}", t - days * DAY);
    let tested = [("stage", "tested")];
    let ids: BTreeMap<u64, String> =
        [60, 50, 40, 30, 25, 20, 10, 5, 1].iter().map(|d| (*d, image(&ec2, &name(*d), &tested))).collect();
    let untested = image(&ec2, &format!("mhcweb {}", t - 90 * DAY), &[("stage", "untested")]);
    // In use: a running instance, a launch template version, a pipeline row.
    block_on(ec2.run_instances().image_id(&ids[&60]).min_count(1).max_count(1).send()).unwrap();
    let data = aws_sdk_ec2::types::RequestLaunchTemplateData::builder().image_id(&ids[&50]).build();
    block_on(ec2.create_launch_template().launch_template_name("ci_mhcweb").launch_template_data(data).send()).unwrap();
    let dir = config(&ids[&40]);
    let doomed: Vec<String> = [30, 20].iter().map(|d| ids[d].clone()).collect();
    let doomed_snapshots: Vec<String> = doomed.iter().flat_map(|id| snapshots(&ec2, id)).collect();
    assert_eq!(doomed_snapshots.len(), 2);

    s.forget_requests();
    let exclude = format!("--exclude-amis={}", ids[&25]);
    let dry = sila(&s, dir.path(), &["cleanupamis", "--stage", "tested", &exclude, "--dry-run"]);
    assert_eq!(dry.code, Some(0), "{dry:?}");
    assert!(s.requests().mutating().is_empty(), "{:?}", s.requests().counts);
    let line = |id: &str| {
        dry.stdout.lines().find(|l| l.starts_with(id)).unwrap_or_else(|| panic!("{id}: {dry:?}")).to_string()
    };
    assert!(line(&ids[&60]).contains("keep          used by instance i-"), "{}", dry.stdout);
    assert!(line(&ids[&50]).contains("used by launch template ci_mhcweb v1"), "{}", dry.stdout);
    assert!(line(&ids[&40]).contains("pinned in pipelines/ci.csv:2"), "{}", dry.stdout);
    assert!(line(&ids[&25]).contains("excluded (--exclude-amis)"), "{}", dry.stdout);
    assert!(line(&ids[&30]).contains("would delete  older than 14 days and not among the newest 3"), "{}", dry.stdout);
    assert!(line(&ids[&20]).contains("would delete"), "{}", dry.stdout);
    for d in [10, 5, 1] {
        assert!(line(&ids[&d]).contains("among the newest 3 of mhcweb"), "{}", dry.stdout);
    }
    assert!(!dry.stdout.contains(&untested), "other stages are not considered: {}", dry.stdout);

    let run = sila(&s, dir.path(), &["cleanupamis", "--stage", "tested", &exclude, "--output", "json"]);
    assert_eq!(run.code, Some(0), "{run:?}");
    let report: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(report["images"].as_array().unwrap().iter().filter(|v| v["delete"] == true).count(), 2);
    for (d, id) in &ids {
        assert_eq!(exists(&ec2, id), !doomed.contains(id), "image of {d} days");
    }
    assert!(exists(&ec2, &untested));
    for snapshot in &doomed_snapshots {
        assert!(!snapshot_exists(&ec2, snapshot), "snapshot {snapshot} of a deleted image is gone");
    }

    let bad = sila(&s, dir.path(), &["cleanupamis", "--stage", "production"]);
    assert_eq!(bad.code, Some(2), "{bad:?}");
    assert!(bad.stderr.contains("--stage production: not one of [bake] ami_stages (untested failed tested)"));
}

#[test]
fn promotion_and_production_sharing_follow_the_stage_rules() {
    let s = session();
    let ec2 = s.ec2();
    let t = now();
    let dir = config("ami-none");
    let by_jenkins = image(&ec2, &format!("mhcapi {}", t - 3 * DAY), &[("stage", "untested"), ("baker", "jenkins")]);
    let newer_by_alice = image(&ec2, &format!("mhcapi {}", t - DAY), &[("stage", "tested"), ("baker", "alice")]);

    // Not the production baker's bake: refused, nothing changed.
    let refused =
        sila(&s, dir.path(), &["promote", "--ami", &newer_by_alice, "--stage", "tested", "--promote-to-prod"]);
    assert_eq!(refused.code, Some(2), "{refused:?}");
    assert!(refused.stderr.contains("baked by alice, not by the production baker jenkins"), "{}", refused.stderr);
    assert!(shared_with(&ec2, &newer_by_alice).is_empty());
    // Sharing needs the final stage.
    let early = sila(&s, dir.path(), &["promote", "--ami", &by_jenkins, "--stage", "failed", "--promote-to-prod"]);
    assert_eq!(early.code, Some(2), "{early:?}");
    assert_eq!(tags(&ec2, &by_jenkins)["stage"], "untested");
    let unknown = sila(&s, dir.path(), &["promote", "--ami", &by_jenkins, "--stage", "prod"]);
    assert_eq!(unknown.code, Some(2), "{unknown:?}");

    // hostclasspromote finds no eligible image yet (alice's is newer but not the production baker's).
    let none = sila(&s, dir.path(), &["hostclasspromote", "--hostclass", "mhcapi"]);
    assert_eq!(none.code, Some(1), "{none:?}");

    let dry =
        sila(&s, dir.path(), &["promote", "--ami", &by_jenkins, "--stage", "tested", "--promote-to-prod", "--dry-run"]);
    assert_eq!(dry.code, Some(0), "{dry:?}");
    assert_eq!(tags(&ec2, &by_jenkins)["stage"], "untested");
    let promoted = sila(&s, dir.path(), &["promote", "--ami", &by_jenkins, "--stage", "tested", "--promote-to-prod"]);
    assert_eq!(promoted.code, Some(0), "{promoted:?}");
    assert!(promoted.stdout.contains("and share it with 111111111111, 222222222222"), "{}", promoted.stdout);
    let t = tags(&ec2, &by_jenkins);
    assert_eq!((t["stage"].as_str(), t["shared_with_account_ids"].as_str()), ("tested", "111111111111,222222222222"));
    assert_eq!(shared_with(&ec2, &by_jenkins), ["111111111111", "222222222222"]);

    let hostclass = sila(&s, dir.path(), &["hostclasspromote", "--hostclass", "mhcapi", "--output", "json"]);
    assert_eq!(hostclass.code, Some(0), "{hostclass:?}");
    let out: Value = serde_json::from_str(&hostclass.stdout).unwrap();
    assert_eq!(out["ami"], by_jenkins.as_str());
    assert!(shared_with(&ec2, &newer_by_alice).is_empty());
}

#[test]
fn listings_lookup_and_stragglers() {
    let s = session();
    let ec2 = s.ec2();
    let t = now();
    let dir = config("ami-none");
    let web_old = image(&ec2, &format!("mhcweb {}", t - 10 * DAY), &[("stage", "tested"), ("productline", "shop")]);
    let web_new = image(&ec2, &format!("mhcweb {}", t - DAY), &[("stage", "untested")]);
    let web_private = image(&ec2, &format!("mhcweb {}", t - 3600), &[("stage", "tested"), ("is_private", "True")]);
    let api = image(&ec2, &format!("mhcapi {}", t - 2 * DAY), &[("stage", "untested")]);

    let all = sila(&s, dir.path(), &["listamis"]);
    assert_eq!(all.code, Some(0), "{all:?}");
    let order: Vec<&str> = all.stdout.lines().skip(1).map(|l| l.split_whitespace().next().unwrap()).collect();
    assert_eq!(order, [web_old.as_str(), api.as_str(), web_new.as_str(), web_private.as_str()], "oldest first");
    assert!(all.stdout.lines().next().unwrap().starts_with("ID"));
    let row = all.stdout.lines().find(|l| l.starts_with(&web_old)).unwrap();
    let cells: Vec<&str> = row.split_whitespace().collect();
    assert_eq!((cells[2], cells[3], cells[4], cells[5], cells[6]), ("mhcweb", "available", "tested", "shop", "240"));

    let json = sila(
        &s,
        dir.path(),
        &["listamis", "--hostclass", "mhcweb", "--stage", "tested", "--output", "json", "--in-prod"],
    );
    let json: Value = serde_json::from_str(&json.stdout).unwrap();
    let listed: Vec<&str> = json.as_array().unwrap().iter().map(|i| i["id"].as_str().unwrap()).collect();
    assert_eq!(listed, [web_old.as_str(), web_private.as_str()]);
    assert_eq!(json[0]["in_prod"], false);
    let nothing = sila(&s, dir.path(), &["listamis", "--productline", "none"]);
    assert_eq!(nothing.code, Some(1), "{nothing:?}");

    // The image a spinup in "tested" would use, private ones included (as Asiaq's listlatestami).
    let latest = sila(&s, dir.path(), &["listlatestami", "--stage", "tested", "--hostclass", "mhcweb"]);
    assert_eq!(latest.code, Some(0), "{latest:?}");
    assert!(latest.stdout.lines().nth(1).unwrap().starts_with(&web_private), "{}", latest.stdout);
    let missing = sila(&s, dir.path(), &["listlatestami", "--stage", "tested", "--hostclass", "mhcapi"]);
    assert_eq!(missing.code, Some(1), "{missing:?}");

    // Stragglers: nothing of mhcapi is in the final stage; mhcweb's final-stage image is 10 days old.
    let stragglers = sila(&s, dir.path(), &["liststragglers", "--days", "3", "--output", "json"]);
    let stragglers: Value = serde_json::from_str(&stragglers.stdout).unwrap();
    assert_eq!(stragglers, serde_json::json!({"mhcapi": api, "mhcweb": web_new}));
    let patient = sila(&s, dir.path(), &["liststragglers", "--days", "30", "--output", "json"]);
    assert_eq!(serde_json::from_str::<Value>(&patient.stdout).unwrap(), serde_json::json!({"mhcapi": api}));
}

#[test]
fn deleteami_removes_the_image_and_its_snapshots_but_not_while_in_use() {
    let s = session();
    let ec2 = s.ec2();
    let dir = config("ami-none");
    let free = image(&ec2, &format!("mhcweb {}", now()), &[("stage", "tested")]);
    let busy = image(&ec2, &format!("mhcapi {}", now()), &[("stage", "tested")]);
    block_on(ec2.run_instances().image_id(&busy).min_count(1).max_count(1).send()).unwrap();
    let snapshot = snapshots(&ec2, &free).pop().unwrap();

    let dry = sila(&s, dir.path(), &["deleteami", "--ami", &free, "--dry-run"]);
    assert_eq!(dry.code, Some(0), "{dry:?}");
    assert!(exists(&ec2, &free) && dry.stdout.contains(&snapshot));
    let run = sila(&s, dir.path(), &["deleteami", "--ami", &free]);
    assert_eq!(run.code, Some(0), "{run:?}");
    assert!(!exists(&ec2, &free) && !snapshot_exists(&ec2, &snapshot));

    let refused = sila(&s, dir.path(), &["deleteami", "--ami", &busy]);
    assert_eq!(refused.code, Some(1), "{refused:?}");
    assert!(refused.stderr.contains("is used by instance i-"), "{}", refused.stderr);
    assert!(exists(&ec2, &busy));
}

#[test]
fn create_scaffolds_a_hostclass_script() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("init")).unwrap();
    let template = dir.path().join("init/template.sh");
    std::fs::write(&template, "#!/bin/sh\n# $TEMPLATED_HOSTCLASS\necho $TEMPLATED_NAME\n").unwrap();
    std::fs::set_permissions(&template, std::fs::Permissions::from_mode(0o750)).unwrap();
    let run =
        |args: &[&str]| Outcome::of(std::process::Command::new(BIN).arg("--config-dir").arg(dir.path()).args(args));

    let made = run(&["create", "--hostclass", "mhcqueue"]);
    assert_eq!(made.code, Some(0), "{made:?}");
    let script = dir.path().join("init/mhcqueue.sh");
    assert_eq!(std::fs::read_to_string(&script).unwrap(), "#!/bin/sh\n# mhcqueue\necho queue\n");
    assert_eq!(std::fs::metadata(&script).unwrap().permissions().mode() & 0o777, 0o750);
    let again = run(&["create", "--hostclass", "mhcqueue"]);
    assert_eq!(again.code, Some(1), "{again:?}");
    assert!(again.stderr.contains("exists already"));
    let bad = run(&["create", "--hostclass", "queue"]);
    assert_eq!(bad.code, Some(2), "{bad:?}");
    assert!(!dir.path().join("init/queue.sh").exists());
}
