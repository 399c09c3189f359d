//! `sila sandbox` end to end against the emulator: the umbrella runs the real sila-vpc and sila-aws
//! binaries (built next to it by `cargo test --workspace`); the VPC, the uploaded files and the
//! autoscaling group are checked with independent SDK clients.

use aws_sdk_ec2::types::{Filter, ResourceType, Tag, TagSpecification};
use serde_json::Value;
use sila_testkit::{block_on, project_root, session, Outcome, Session};
use std::path::Path;

const BIN: &str = env!("CARGO_BIN_EXE_sila");

fn sila(s: &Session, config: &Path, args: &[&str]) -> Outcome {
    Outcome::of(s.command(BIN).arg("--config-dir").arg(config).args(args))
}

/// A config dir with the repo's environment types, a sandbox `dev` with two files to sync, and
/// the sync settings under the default environment (`ci`), as Asiaq reads them.
fn config() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(project_root().join("config/vpc.ini"), dir.path().join("vpc.ini")).unwrap();
    std::fs::write(
        dir.path().join("aws.ini"),
        "[disco_aws]\ndefault_environment=ci\nproject_name=acme\ndefault_meta_network=intranet\n\
         sandbox_config_bucket@ci=acme-sandbox\nsandbox_sync_config@ci=app.conf config/app\n    users.json users/\n",
    )
    .unwrap();
    let sandbox = dir.path().join("sandboxes/dev");
    std::fs::create_dir_all(&sandbox).unwrap();
    std::fs::write(
        sandbox.join("pipeline.csv"),
        "sequence,hostclass,min_size,desired_size,max_size,instance_type,smoke_test\n1,mhcweb,1,1,2,t3.micro,yes\n",
    )
    .unwrap();
    std::fs::write(sandbox.join("app.conf"), "debug=true\n").unwrap();
    std::fs::write(sandbox.join("users.json"), "[\"ann\"]\n").unwrap();
    dir
}

/// The image spinup picks for mhcweb (stage tested, the sandbox type's ami_stage).
fn image(ec2: &aws_sdk_ec2::Client) {
    let run = block_on(ec2.run_instances().image_id("ami-0000000000000de12").min_count(1).max_count(1).send()).unwrap();
    let instance = run.instances()[0].instance_id().unwrap().to_string();
    let tags = TagSpecification::builder()
        .resource_type(ResourceType::Image)
        .tags(Tag::builder().key("stage").value("tested").build())
        .build();
    block_on(ec2.create_image().instance_id(&instance).name("mhcweb 1700000000").tag_specifications(tags).send())
        .unwrap();
    block_on(ec2.terminate_instances().instance_ids(&instance).send()).unwrap();
}

fn vpcs_named(ec2: &aws_sdk_ec2::Client, name: &str) -> Vec<aws_sdk_ec2::types::Vpc> {
    let f = Filter::builder().name("tag:Name").values(name).build();
    block_on(ec2.describe_vpcs().filters(f).send()).unwrap().vpcs().to_vec()
}

fn object(s: &Session, bucket: &str, key: &str) -> String {
    let out = block_on(s.s3().get_object().bucket(bucket).key(key).send()).unwrap();
    String::from_utf8(block_on(out.body.collect()).unwrap().into_bytes().to_vec()).unwrap()
}

fn groups(s: &Session) -> Vec<(String, i32)> {
    let out = block_on(s.autoscaling().describe_auto_scaling_groups().send()).unwrap();
    out.auto_scaling_groups()
        .iter()
        .map(|g| (g.auto_scaling_group_name().unwrap().to_string(), g.min_size().unwrap()))
        .collect()
}

#[test]
fn a_sandbox_is_created_with_its_files_and_pipeline_then_updated_in_place() {
    let s = session();
    let ec2 = s.ec2();
    image(&ec2);
    let location = aws_sdk_s3::types::CreateBucketConfiguration::builder()
        .location_constraint(aws_sdk_s3::types::BucketLocationConstraint::UsWest2)
        .build();
    block_on(s.s3().create_bucket().bucket("acme-sandbox").create_bucket_configuration(location).send()).unwrap();
    let cfg = config();
    let args = ["sandbox", "ann", "--sandbox-dir", "dev", "--no-smoke-test"];

    s.forget_requests();
    let out = sila(&s, cfg.path(), &[&args[..], &["--dry-run"]].concat());
    assert_eq!(out.code, Some(0), "{out:?}");
    assert!(out.stdout.contains("would upload"), "{out:?}");
    assert!(out.stdout.contains("would create (type sandbox) environment ann"), "{out:?}");
    assert_eq!(s.requests().mutating().len(), 0, "a dry run changes nothing: {:?}", s.requests().mutating());

    let out = sila(&s, cfg.path(), &args);
    assert_eq!(out.code, Some(0), "{out:?}");
    let vpcs = vpcs_named(&ec2, "ann");
    assert_eq!(vpcs.len(), 1);
    let type_tag = vpcs[0].tags().iter().find(|t| t.key() == Some("type")).and_then(|t| t.value());
    assert_eq!(type_tag, Some("sandbox"));
    assert_eq!(object(&s, "acme-sandbox", "config/app/ann"), "debug=true\n");
    assert_eq!(object(&s, "acme-sandbox", "users/ann"), "[\"ann\"]\n");
    let made = groups(&s);
    assert_eq!(made.len(), 1, "{made:?}");
    assert!(made[0].0.starts_with("ann_mhcweb_"), "{made:?}");
    assert_eq!(made[0].1, 1);

    // Again, with a bigger minimum: the environment is updated, the group changed in place.
    let csv = cfg.path().join("sandboxes/dev/pipeline.csv");
    let text = std::fs::read_to_string(&csv).unwrap();
    std::fs::write(&csv, text.replace("1,mhcweb,1,1,2", "1,mhcweb,2,2,2")).unwrap();
    let out = sila(&s, cfg.path(), &[&["--output", "json"][..], &args[..]].concat());
    assert_eq!(out.code, Some(0), "{out:?}");
    let doc: Value = serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("{e}: {out:?}"));
    assert_eq!(doc["created"], false);
    assert_eq!(doc["uploads"].as_array().unwrap().len(), 2);
    assert!(!doc["environment"].is_null() && !doc["spinup"].is_null(), "both tools' documents: {doc}");
    assert_eq!(vpcs_named(&ec2, "ann").len(), 1);
    let again = groups(&s);
    assert_eq!(again, vec![(made[0].0.clone(), 2)], "the same group, resized");
}

#[test]
fn bad_sandbox_input_changes_nothing() {
    let s = session();
    let cfg = config();
    let sandbox = cfg.path().join("sandboxes/dev");

    s.forget_requests();
    let out = sila(&s, cfg.path(), &["sandbox", "nobody"]);
    assert_eq!(out.code, Some(2), "{out:?}");
    assert!(out.stderr.contains("sandboxes/nobody/pipeline.csv: no such file"), "{out:?}");

    std::fs::remove_file(sandbox.join("users.json")).unwrap();
    let out = sila(&s, cfg.path(), &["sandbox", "ann", "--sandbox-dir", "dev"]);
    assert_eq!(out.code, Some(1), "{out:?}");
    assert!(
        out.stderr.contains("aws.ini:6: sandbox_sync_config names") && out.stderr.contains("users.json"),
        "{out:?}"
    );
    assert_eq!(out.stderr.lines().count(), 1, "{out:?}");

    std::fs::write(sandbox.join("users.json"), "[]").unwrap();
    std::fs::write(sandbox.join("pipeline.csv"), "sequence,hostclass,min_size\n1,mhcweb,lots\n").unwrap();
    let out = sila(&s, cfg.path(), &["sandbox", "ann", "--sandbox-dir", "dev"]);
    assert_eq!(out.code, Some(1), "{out:?}");
    assert!(out.stderr.contains("pipeline.csv:2"), "{out:?}");
    assert_eq!(s.requests().mutating().len(), 0, "{:?}", s.requests().mutating());
}

fn bucket(s: &Session) {
    let location = aws_sdk_s3::types::CreateBucketConfiguration::builder()
        .location_constraint(aws_sdk_s3::types::BucketLocationConstraint::UsWest2)
        .build();
    block_on(s.s3().create_bucket().bucket("acme-sandbox").create_bucket_configuration(location).send()).unwrap();
}

fn objects(s: &Session) -> usize {
    block_on(s.s3().list_objects_v2().bucket("acme-sandbox").send()).unwrap().contents().len()
}

#[test]
fn only_sandbox_environments_are_touched_and_only_after_every_check() {
    let s = session();
    let ec2 = s.ec2();
    image(&ec2);
    bucket(&s);
    let cfg = config();
    // Environments that are not sandboxes: another type, or no type at all.
    for (name, tags) in [("bakery", &[("Name", "bakery"), ("type", "bakery")][..]), ("legacy", &[("Name", "legacy")])] {
        let tags: Vec<Tag> = tags.iter().map(|(k, v)| Tag::builder().key(*k).value(*v).build()).collect();
        let spec = TagSpecification::builder().resource_type(ResourceType::Vpc).set_tags(Some(tags)).build();
        block_on(ec2.create_vpc().cidr_block("10.77.0.0/16").tag_specifications(spec).send()).unwrap();
        s.forget_requests();
        let out = sila(&s, cfg.path(), &["sandbox", name, "--sandbox-dir", "dev", "--no-smoke-test"]);
        assert_eq!(out.code, Some(1), "{out:?}");
        assert!(out.stderr.contains(&format!("environment {name} is not a sandbox")), "{out:?}");
        assert_eq!(s.requests().mutating().len(), 0, "{:?}", s.requests().mutating());
    }
    assert_eq!(objects(&s), 0, "nothing uploaded");
    s.forget_requests();

    // A row without an image: a new sandbox is neither uploaded to nor created.
    let csv = cfg.path().join("sandboxes/dev/pipeline.csv");
    let good = std::fs::read_to_string(&csv).unwrap();
    std::fs::write(&csv, format!("{good}2,mhcnoimage,1,1,1,t3.micro,no\n")).unwrap();
    let out = sila(&s, cfg.path(), &["sandbox", "ann", "--sandbox-dir", "dev", "--no-smoke-test"]);
    assert_eq!(out.code, Some(1), "{out:?}");
    assert!(out.stderr.contains("pipeline.csv:3: mhcnoimage: no image"), "{out:?}");
    assert_eq!(s.requests().mutating().len(), 0, "{:?}", s.requests().mutating());
    assert!(vpcs_named(&ec2, "ann").is_empty());

    // A deadline out of range is a usage error before anything.
    let out = sila(&s, cfg.path(), &["sandbox", "ann", "--sandbox-dir", "dev", "--deadline", "500000000000y"]);
    assert_eq!(out.code, Some(2), "{out:?}");
    assert_eq!(s.requests().mutating().len(), 0, "{:?}", s.requests().mutating());

    // A failure after changes were made says what they were.
    std::fs::write(&csv, &good).unwrap();
    s.set_faults(1, &[sila_testkit::FaultRule::error("CreateLaunchTemplate", "InvalidParameterValue", 400, 10)]);
    let out = sila(&s, cfg.path(), &["sandbox", "ann", "--sandbox-dir", "dev", "--no-smoke-test"]);
    assert_eq!(out.code, Some(1), "{out:?}");
    assert!(!out.stderr.contains("nothing changed"), "{out:?}");
    let line = out.stderr.lines().rfind(|l| l.starts_with("sila: error:")).expect("an error line");
    assert!(line.contains("uploaded 2 file(s)") && line.contains("created environment ann"), "{line}");
    assert_eq!(vpcs_named(&ec2, "ann").len(), 1);
    s.set_faults(1, &[]);

    // The sandbox exists now: a row without an image is refused before the update and the upload.
    std::fs::write(&csv, format!("{good}2,mhcnoimage,1,1,1,t3.micro,no\n")).unwrap();
    block_on(s.s3().delete_object().bucket("acme-sandbox").key("users/ann").send()).unwrap();
    s.forget_requests();
    let out = sila(&s, cfg.path(), &["sandbox", "ann", "--sandbox-dir", "dev", "--no-smoke-test"]);
    assert_eq!(out.code, Some(1), "{out:?}");
    assert!(out.stderr.contains("pipeline.csv:3: mhcnoimage: no image"), "{out:?}");
    assert_eq!(s.requests().mutating().len(), 0, "{:?}", s.requests().mutating());
    assert_eq!(objects(&s), 1);
}
