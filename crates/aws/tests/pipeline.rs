//! spinup and spindown against the emulator, checked with independent EC2 and Auto Scaling clients.
//! The test plays the on-box smoke test: it tags instances `smoketest` when it is told to.

use aws_sdk_ec2::types::Tag;
use sila_testkit::fixtures;
use sila_testkit::{block_on, session, Outcome, Session};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

const BIN: &str = env!("CARGO_BIN_EXE_sila-aws");

const CSV: &str = "sequence,hostclass,min_size,desired_size,max_size,instance_type,smoke_test\n\
1,mhcapi,1,1,2,t3.small,yes\n\
2,mhcweb,1,2@0 8 * * 1-5:1@0 20 * * *,3,t3.micro,no\n";

/// Environment `ci`: intranet in two zones and dmz in one, each with its group, as sila-vpc tags them.
fn environment(ec2: &aws_sdk_ec2::Client) -> String {
    let subnets = [
        ("intranet", "10.80.0.0/24", "us-west-2a"),
        ("intranet", "10.80.1.0/24", "us-west-2b"),
        ("dmz", "10.80.2.0/24", "us-west-2a"),
    ];
    fixtures::environment(ec2, "ci", "sandbox", "10.80.0.0/16", &subnets)
}

/// An image of `stage`.
fn image(ec2: &aws_sdk_ec2::Client, name: &str, stage: &str) -> String {
    fixtures::image(ec2, name, &[("stage", stage)])
}

fn config(dir: &Path) {
    std::fs::write(
        dir.join("aws.ini"),
        "[disco_aws]\ndefault_environment=ci\nproject_name=acme\ndefault_meta_network=intranet\n\
         default_domain_name=ci.acme.internal\ndefault_ssh_key_name=None\n\n\
         [mhcweb]\nmeta_network=dmz\npublic_ip=True\ntags=team:web,tier:front\nchaos=no\n",
    )
    .unwrap();
    std::fs::write(dir.join("vpc.ini"), "[envtype:sandbox]\nami_stage=tested\ncredential_buckets=ci\n").unwrap();
    std::fs::write(dir.join("pipeline.csv"), CSV).unwrap();
}

fn sila(s: &Session, dir: &Path, args: &[&str]) -> Outcome {
    Outcome::of(s.command(BIN).env("USER", "ci-runner").arg("--config-dir").arg(dir).args(args))
}

/// Tags every instance of the VPC `smoketest` while `on` (the on-box smoke test passing).
fn smoke_tester(s: &Session, vpc: &str, on: Arc<AtomicBool>, stop: Arc<AtomicBool>) -> std::thread::JoinHandle<()> {
    let ec2 = s.ec2();
    let vpc = vpc.to_string();
    std::thread::spawn(move || {
        while !stop.load(Ordering::Relaxed) {
            if on.load(Ordering::Relaxed) {
                let filter = aws_sdk_ec2::types::Filter::builder().name("vpc-id").values(&vpc).build();
                if let Ok(out) = block_on(ec2.describe_instances().filters(filter).send()) {
                    let ids: Vec<String> = out
                        .reservations()
                        .iter()
                        .flat_map(|r| r.instances())
                        .filter(|i| !i.tags().iter().any(|t| t.key() == Some("smoketest")))
                        .filter_map(|i| i.instance_id().map(str::to_string))
                        .collect();
                    if !ids.is_empty() {
                        let tag = Tag::builder().key("smoketest").value("tested").build();
                        let _ = block_on(ec2.create_tags().set_resources(Some(ids)).tags(tag).send());
                    }
                }
            }
            std::thread::sleep(std::time::Duration::from_millis(200));
        }
    })
}

fn groups(s: &Session) -> BTreeMap<String, aws_sdk_autoscaling::types::AutoScalingGroup> {
    let out = block_on(s.autoscaling().describe_auto_scaling_groups().send()).unwrap();
    out.auto_scaling_groups().iter().map(|g| (g.auto_scaling_group_name().unwrap().to_string(), g.clone())).collect()
}

#[test]
fn spinup_sequences_smoke_tests_reruns_and_spindown() {
    let s = session();
    let ec2 = s.ec2();
    let vpc = environment(&ec2);
    let api_image = image(&ec2, "mhcapi 0000000100", "tested");
    image(&ec2, "mhcweb 0000000100", "tested");
    let web_image = image(&ec2, "mhcweb 0000000200", "tested");
    image(&ec2, "mhcweb 0000000300", "untested");
    let dir = tempfile::tempdir().unwrap();
    config(dir.path());
    let csv = dir.path().join("pipeline.csv").display().to_string();

    // Dry run: the plan, nothing changed.
    s.forget_requests();
    let out = sila(&s, dir.path(), &["spinup", "--pipeline", &csv, "--dry-run"]);
    assert_eq!(out.code, Some(0), "{out:?}");
    assert!(out.stdout.contains("sequence 1: + create ci_mhcapi_"), "{}", out.stdout);
    assert!(
        out.stdout
            .contains(&format!("t3.micro from {web_image} in dmz (min 1, desired 2, max 3, 2 scheduled action(s))")),
        "{}",
        out.stdout
    );
    assert!(s.requests().mutating().is_empty(), "{:?}", s.requests().mutating());

    // Nobody passes the smoke test: the spinup stops after sequence 1.
    let out = sila(&s, dir.path(), &["spinup", "--pipeline", &csv, "--deadline", "6s"]);
    assert_eq!(out.code, Some(1), "{out:?}");
    assert!(
        out.stderr.contains(
            "spinup stopped at sequence 1 (up from earlier sequences: none); later sequences were not started"
        ),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("mhcapi (0 of 1 smoke-tested, min 1)"), "{}", out.stderr);
    let names: Vec<String> = groups(&s).into_keys().collect();
    assert_eq!(names.len(), 1, "nothing of sequence 2: {names:?}");
    assert!(names[0].starts_with("ci_mhcapi_"));

    // With the smoke test passing, the same spinup completes, keeping the existing group.
    let on = Arc::new(AtomicBool::new(true));
    let stop = Arc::new(AtomicBool::new(false));
    let tester = smoke_tester(&s, &vpc, on.clone(), stop.clone());
    let out = sila(&s, dir.path(), &["spinup", "--pipeline", &csv]);
    assert_eq!(out.code, Some(0), "{out:?}");
    assert!(out.stdout.contains("= unchanged ci_mhcapi_"), "sequence 1's group is as wanted: {}", out.stdout);
    let all = groups(&s);
    assert_eq!(all.len(), 2, "{:?}", all.keys());
    let web = all.values().find(|g| g.auto_scaling_group_name().unwrap().starts_with("ci_mhcweb_")).unwrap();
    assert_eq!((web.min_size(), web.desired_capacity(), web.max_size()), (Some(1), Some(2), Some(3)));
    let tags: BTreeMap<&str, &str> = web.tags().iter().map(|t| (t.key().unwrap(), t.value().unwrap())).collect();
    for (k, v) in [
        ("hostclass", "mhcweb"),
        ("environment", "ci"),
        ("owner", "ci-runner"),
        ("chaos", "False"),
        ("is_testing", "0"),
        ("team", "web"),
    ] {
        assert_eq!(tags.get(k), Some(&v), "{k} in {tags:?}");
    }
    assert!(web.tags().iter().all(|t| t.propagate_at_launch() == Some(true)));
    // The launch template: the newest tested image, the dmz group, IMDSv2, user data.
    let lt =
        block_on(ec2.describe_launch_template_versions().launch_template_name("ci_mhcweb").versions("$Latest").send())
            .unwrap();
    let data = lt.launch_template_versions()[0].launch_template_data().unwrap();
    assert_eq!(data.image_id(), Some(web_image.as_str()));
    let made = block_on(ec2.describe_launch_templates().launch_template_names("ci_mhcweb").send()).unwrap();
    let template_tags: BTreeMap<&str, &str> =
        made.launch_templates()[0].tags().iter().map(|t| (t.key().unwrap(), t.value().unwrap())).collect();
    assert_eq!(template_tags.get("environment"), Some(&"ci"));
    assert_eq!(template_tags.get("hostclass"), Some(&"mhcweb"));
    assert!(
        template_tags.get("sila-vpc-id").is_some_and(|v| v.starts_with("vpc-")),
        "for sila-vpc destroy: {template_tags:?}"
    );
    assert_eq!(data.instance_type().map(|t| t.as_str()), Some("t3.micro"));
    assert!(data.key_name().is_none(), "ssh_key_name=None: no key pair");
    let user_data = String::from_utf8(aws_smithy_types::base64::decode(data.user_data().unwrap()).unwrap()).unwrap();
    assert!(user_data.lines().any(|l| l == "hostclass='mhcweb'"), "{user_data}");
    assert!(user_data.lines().any(|l| l == "credential_buckets='us-west-2.acme.credentials.ci'"), "{user_data}");
    assert!(user_data.lines().any(|l| l == r#"zookeepers='["mhczookeeper-ci.ci.acme.internal:2181"]'"#), "{user_data}");
    let actions = block_on(
        s.autoscaling()
            .describe_scheduled_actions()
            .auto_scaling_group_name(web.auto_scaling_group_name().unwrap())
            .send(),
    )
    .unwrap();
    let mut crons: Vec<&str> = actions.scheduled_update_group_actions().iter().filter_map(|a| a.recurrence()).collect();
    crons.sort();
    assert_eq!(crons, ["0 20 * * *", "0 8 * * 1-5"]);
    let api = all.values().find(|g| g.auto_scaling_group_name().unwrap().starts_with("ci_mhcapi_")).unwrap();
    let lt =
        block_on(ec2.describe_launch_template_versions().launch_template_name("ci_mhcapi").versions("$Latest").send())
            .unwrap();
    assert_eq!(lt.launch_template_versions()[0].launch_template_data().unwrap().image_id(), Some(api_image.as_str()));
    assert_eq!(lt.launch_template_versions()[0].version_number(), Some(1), "the same template: no new version");
    assert_eq!(api.desired_capacity(), Some(1));

    // A re-run changes nothing: not a call that changes anything. (The test's smoke tester pauses, so
    // its own tagging is not counted.)
    on.store(false, Ordering::Relaxed);
    std::thread::sleep(std::time::Duration::from_millis(500));
    s.forget_requests();
    let out = sila(&s, dir.path(), &["spinup", "--pipeline", &csv, "--no-smoke-test"]);
    assert_eq!(out.code, Some(0), "{out:?}");
    assert!(out.stdout.contains("= unchanged ci_mhcapi_") && out.stdout.contains("= unchanged ci_mhcweb_"), "{out:?}");
    assert!(s.requests().mutating().is_empty(), "{:?}", s.requests().mutating());

    // A size changed in the CSV changes that group only; no new group, no new template version.
    std::fs::write(&csv, CSV.replace("1,mhcapi,1,1,2", "1,mhcapi,1,2,4")).unwrap();
    s.forget_requests();
    let out = sila(&s, dir.path(), &["spinup", "--pipeline", &csv, "--no-smoke-test"]);
    assert_eq!(out.code, Some(0), "{out:?}");
    let after = groups(&s);
    assert_eq!(after.keys().collect::<Vec<_>>(), all.keys().collect::<Vec<_>>());
    let api = after.values().find(|g| g.auto_scaling_group_name().unwrap().starts_with("ci_mhcapi_")).unwrap();
    assert_eq!((api.desired_capacity(), api.max_size()), (Some(2), Some(4)));
    let requests = s.requests();
    let changed: Vec<&str> = requests.mutating().iter().map(|r| r.action.as_str()).collect();
    assert!(changed.iter().all(|a| ["UpdateAutoScalingGroup", "CreateOrUpdateTags"].contains(a)), "{changed:?}");
    assert_eq!(requests.count("UpdateAutoScalingGroup"), 1, "only mhcapi's group: {changed:?}");
    stop.store(true, Ordering::Relaxed);
    tester.join().unwrap();

    // Spindown: no group, no template, no instance of theirs left.
    let out = sila(&s, dir.path(), &["spindown", "--pipeline", &csv]);
    assert_eq!(out.code, Some(0), "{out:?}");
    assert!(groups(&s).is_empty());
    let templates = block_on(ec2.describe_launch_templates().send()).unwrap();
    assert!(templates.launch_templates().is_empty(), "{templates:?}");
    let filter = aws_sdk_ec2::types::Filter::builder().name("vpc-id").values(&vpc).build();
    let left = block_on(ec2.describe_instances().filters(filter).send()).unwrap();
    let running: Vec<_> = left
        .reservations()
        .iter()
        .flat_map(|r| r.instances())
        .filter(|i| i.state().and_then(|s| s.name()).map(|n| n.as_str()) != Some("terminated"))
        .collect();
    assert!(running.is_empty(), "{running:?}");
}

#[test]
fn spinup_refuses_bad_input_before_changing_anything() {
    let s = session();
    let ec2 = s.ec2();
    environment(&ec2);
    image(&ec2, "mhcapi 0000000100", "tested");
    let dir = tempfile::tempdir().unwrap();
    config(dir.path());
    let csv = dir.path().join("pipeline.csv").display().to_string();
    s.forget_requests();
    // mhcweb has no image in stage tested.
    let out = sila(&s, dir.path(), &["spinup", "--pipeline", &csv]);
    assert_eq!(out.code, Some(1), "{out:?}");
    assert!(out.stderr.contains("pipeline.csv:3: mhcweb: no image (none in stage tested)"), "{}", out.stderr);
    // A bad schedule in the CSV, an environment that does not exist.
    std::fs::write(&csv, CSV.replace("2@0 8 * * 1-5", "2@99 8 * * 1-5")).unwrap();
    let out = sila(&s, dir.path(), &["spinup", "--pipeline", &csv]);
    assert_eq!(out.code, Some(1), "{out:?}");
    assert!(out.stderr.contains("pipeline.csv:3"), "{}", out.stderr);
    std::fs::write(&csv, CSV).unwrap();
    let out = sila(&s, dir.path(), &["--env", "nowhere", "spinup", "--pipeline", &csv]);
    assert_eq!(out.code, Some(1), "{out:?}");
    assert!(out.stderr.contains("environment nowhere does not exist"), "{}", out.stderr);
    assert!(s.requests().mutating().is_empty(), "{:?}", s.requests().mutating());
}

#[test]
fn provision_one_hostclass_and_spindownandup() {
    let s = session();
    let ec2 = s.ec2();
    let vpc = environment(&ec2);
    image(&ec2, "mhcapi 0000000100", "tested");
    image(&ec2, "mhcweb 0000000100", "tested");
    let dir = tempfile::tempdir().unwrap();
    config(dir.path());

    s.forget_requests();
    assert_eq!(sila(&s, dir.path(), &["provision", "--hostclass", "mhcapi", "--min-size", "x@y"]).code, Some(2));
    let out = sila(&s, dir.path(), &["provision", "--hostclass", "mhcapi", "--ami", "ami-00000000000000bad"]);
    assert_eq!(out.code, Some(1), "{out:?}");
    assert!(out.stderr.contains("mhcapi: no image (ami-00000000000000bad does not exist)"), "{}", out.stderr);
    assert!(s.requests().mutating().is_empty());
    let out = sila(
        &s,
        dir.path(),
        &[
            "provision",
            "--hostclass",
            "mhcapi",
            "--desired-size",
            "2",
            "--max-size",
            "3",
            "--instance-type",
            "t3.nano",
            "--no-chaos",
            "--no-smoke-test",
        ],
    );
    assert_eq!(out.code, Some(0), "{out:?}");
    let all = groups(&s);
    let api = all.values().next().unwrap();
    assert!(api.auto_scaling_group_name().unwrap().starts_with("ci_mhcapi_"));
    assert_eq!((api.min_size(), api.desired_capacity(), api.max_size()), (Some(0), Some(2), Some(3)));
    let chaos = api.tags().iter().find(|t| t.key() == Some("chaos")).and_then(|t| t.value());
    assert_eq!(chaos, Some("False"), "--no-chaos");
    let lt =
        block_on(ec2.describe_launch_template_versions().launch_template_name("ci_mhcapi").versions("$Latest").send())
            .unwrap();
    let data = lt.launch_template_versions()[0].launch_template_data().unwrap();
    assert_eq!(data.instance_type().map(|t| t.as_str()), Some("t3.nano"));

    // spindownandup: the pipeline's groups are replaced by new ones (smoke tests played by the test).
    let on = Arc::new(AtomicBool::new(true));
    let stop = Arc::new(AtomicBool::new(false));
    let tester = smoke_tester(&s, &vpc, on, stop.clone());
    let csv = dir.path().join("pipeline.csv").display().to_string();
    let old = api.auto_scaling_group_name().unwrap().to_string();
    std::thread::sleep(std::time::Duration::from_millis(1100)); // a new group name needs a new second
    let out = sila(&s, dir.path(), &["--output", "json", "spindownandup", "--pipeline", &csv]);
    stop.store(true, Ordering::Relaxed);
    tester.join().unwrap();
    assert_eq!(out.code, Some(0), "{out:?}");
    let names: Vec<String> = groups(&s).into_keys().collect();
    assert_eq!(names.len(), 2, "{names:?}");
    assert!(!names.contains(&old), "the old group went: {names:?}");
    // One JSON document: what went, then what came.
    let doc: serde_json::Value = serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("{e}: {out:?}"));
    let went: Vec<&str> = doc["spindown"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|r| r["groups"].as_array().unwrap())
        .map(|g| g.as_str().unwrap())
        .collect();
    assert!(went.contains(&old.as_str()), "{doc}");
    let came: Vec<&str> = doc["spinup"].as_array().unwrap().iter().map(|p| p["group"].as_str().unwrap()).collect();
    assert_eq!(came.len(), 2, "{doc}");
    assert!(came.iter().all(|g| names.iter().any(|n| n == g)), "{doc}");
}

#[test]
fn static_addresses_snapshots_and_elastic_ips_are_provisioned_and_checked_first() {
    let s = session();
    let ec2 = s.ec2();
    let vpc = environment(&ec2);
    image(&ec2, "mhcapi 0000000100", "tested");
    image(&ec2, "mhcweb 0000000100", "tested");
    let eip = block_on(ec2.allocate_address().domain(aws_sdk_ec2::types::DomainType::Vpc).send()).unwrap();
    let eip = eip.public_ip().unwrap().to_string();
    // The newest of mhcapi's snapshots in ci is restored; another environment's is not.
    let volume = |size| {
        let v = block_on(ec2.create_volume().availability_zone("us-west-2a").size(size).send()).unwrap();
        v.volume_id().unwrap().to_string()
    };
    let snapshot = |size, env: &str| {
        let made = block_on(ec2.create_snapshot().volume_id(volume(size)).send()).unwrap();
        let id = made.snapshot_id().unwrap().to_string();
        let tags = [("hostclass", "mhcapi"), ("env", env)].map(|(k, v)| Tag::builder().key(k).value(v).build());
        block_on(ec2.create_tags().resources(&id).set_tags(Some(tags.to_vec())).send()).unwrap();
        std::thread::sleep(std::time::Duration::from_millis(1100)); // distinct start times
        id
    };
    snapshot(10, "ci");
    let newest = snapshot(30, "ci");
    snapshot(50, "elsewhere");

    let dir = tempfile::tempdir().unwrap();
    config(dir.path());
    let ini = dir.path().join("aws.ini");
    let text = std::fs::read_to_string(&ini).unwrap().replace(
        "[disco_aws]\n",
        "[disco_aws]\nlogger_hostclass=mhclog\nhttp_proxy_hostclass=mhcproxy\ndefault_enable_proxy=True\n",
    );
    let extra = format!(
        "ip_address=-2\neip={eip}\n\n[mhclog]\nip_address=10.80.1.20\n\n[mhcproxy]\nmeta_network=dmz\nip_address=+5\n"
    );
    std::fs::write(&ini, format!("{text}{extra}")).unwrap();
    let csv = dir.path().join("pipeline.csv").display().to_string();

    // An elastic IP that is not allocated is refused before anything changes.
    std::fs::write(&ini, format!("{text}{}", extra.replace(&eip, "203.0.113.9"))).unwrap();
    s.forget_requests();
    let out = sila(&s, dir.path(), &["spinup", "--pipeline", &csv, "--no-smoke-test"]);
    assert_eq!(out.code, Some(1), "{out:?}");
    assert!(out.stderr.contains("[mhcweb] eip 203.0.113.9: no such elastic IP"), "{out:?}");
    assert!(s.requests().mutating().is_empty(), "{:?}", s.requests().mutating());
    // So is a static address outside the metanetwork.
    std::fs::write(&ini, format!("{text}{}", extra.replace("ip_address=-2", "ip_address=10.80.0.9"))).unwrap();
    let out = sila(&s, dir.path(), &["spinup", "--pipeline", &csv, "--no-smoke-test"]);
    assert_eq!(out.code, Some(1), "{out:?}");
    assert!(
        out.stderr.contains("[mhcweb] ip_address: 10.80.0.9 is not inside any of the subnets 10.80.2.0/24"),
        "{out:?}"
    );
    assert!(s.requests().mutating().is_empty(), "{:?}", s.requests().mutating());

    std::fs::write(&ini, format!("{text}{extra}")).unwrap();
    let out = sila(&s, dir.path(), &["spinup", "--pipeline", &csv, "--no-smoke-test"]);
    assert_eq!(out.code, Some(0), "{out:?}");
    assert!(out.stdout.contains("static 10.80.2.253"), "{}", out.stdout);
    assert!(out.stdout.contains(&format!("volume from {newest}")), "{}", out.stdout);

    // mhcweb's floating interface exists, with the dmz group, and the group runs in its subnet only.
    let f = |n: &str, v: &str| aws_sdk_ec2::types::Filter::builder().name(n).values(v).build();
    let enis = block_on(
        ec2.describe_network_interfaces()
            .filters(f("vpc-id", &vpc))
            .filters(f("addresses.private-ip-address", "10.80.2.253"))
            .send(),
    )
    .unwrap();
    let eni = &enis.network_interfaces()[0];
    assert_eq!(eni.description(), Some("floating interface"));
    let eni_tags: BTreeMap<&str, &str> = eni.tag_set().iter().map(|t| (t.key().unwrap(), t.value().unwrap())).collect();
    assert_eq!(eni_tags.get("hostclass"), Some(&"mhcweb"));
    let web =
        groups(&s).into_values().find(|g| g.auto_scaling_group_name().unwrap().starts_with("ci_mhcweb_")).unwrap();
    assert_eq!(web.vpc_zone_identifier(), eni.subnet_id());

    // User data: the floating address, the elastic IP, other hostclasses' addresses.
    let user_data = |name: &str| {
        let lt =
            block_on(ec2.describe_launch_template_versions().launch_template_name(name).versions("$Latest").send())
                .unwrap();
        let data = lt.launch_template_versions()[0].launch_template_data().unwrap().clone();
        let text = String::from_utf8(aws_smithy_types::base64::decode(data.user_data().unwrap()).unwrap()).unwrap();
        (data, text)
    };
    let (_, text) = user_data("ci_mhcweb");
    for line in [
        "floating_ips='10.80.2.253'".to_string(),
        "floating_ip='10.80.2.253'".to_string(),
        format!("eip='{eip}'"),
        "logger_ip='10.80.1.20'".to_string(),
        "http_proxy_ip='10.80.2.5'".to_string(),
    ] {
        assert!(text.lines().any(|l| l == line), "{line} in {text}");
    }
    // mhcapi restores its newest snapshot as the second device, at the snapshot's size.
    let (data, _) = user_data("ci_mhcapi");
    let restored: Vec<_> = data
        .block_device_mappings()
        .iter()
        .filter_map(|b| Some((b.device_name()?, b.ebs()?.snapshot_id()?, b.ebs()?.volume_size()?)))
        .collect();
    assert_eq!(restored, [("/dev/sdb", newest.as_str(), 30)]);

    // Again: the interface is reused, not duplicated.
    let out = sila(&s, dir.path(), &["spinup", "--pipeline", &csv, "--no-smoke-test"]);
    assert_eq!(out.code, Some(0), "{out:?}");
    let all =
        block_on(ec2.describe_network_interfaces().filters(f("description", "floating interface")).send()).unwrap();
    assert_eq!(all.network_interfaces().len(), 1, "{all:?}");
}

/// The test pipeline (mhcapi and mhcweb, images in `tested`) spun up without smoke tests in a fresh
/// environment; its config dir and the pipeline's path.
fn spun_up(s: &Session) -> (tempfile::TempDir, String) {
    let ec2 = s.ec2();
    environment(&ec2);
    image(&ec2, "mhcapi 0000000100", "tested");
    image(&ec2, "mhcweb 0000000100", "tested");
    let dir = tempfile::tempdir().unwrap();
    config(dir.path());
    let csv = dir.path().join("pipeline.csv").display().to_string();
    let out = sila(s, dir.path(), &["spinup", "--pipeline", &csv, "--no-smoke-test"]);
    assert_eq!(out.code, Some(0), "{out:?}");
    (dir, csv)
}

#[test]
fn spindownandup_plans_the_spinup_before_it_takes_anything_down() {
    let s = session();
    let (dir, csv) = spun_up(&s);
    let before: Vec<String> = groups(&s).into_keys().collect();
    assert_eq!(before.len(), 2, "{before:?}");

    // A row whose hostclass has no image: refused before the first change, the pipeline still up.
    std::fs::write(&csv, format!("{CSV}3,mhcnoimage,1,1,1,t3.micro,no\n")).unwrap();
    s.forget_requests();
    let out = sila(&s, dir.path(), &["spindownandup", "--pipeline", &csv]);
    assert_eq!(out.code, Some(1), "{out:?}");
    assert!(out.stderr.contains("pipeline.csv:4: mhcnoimage: no image"), "{out:?}");
    assert!(s.requests().mutating().is_empty(), "{:?}", s.requests().mutating());
    assert_eq!(groups(&s).into_keys().collect::<Vec<_>>(), before);

    // A failure after the spindown says what the spindown removed, never "nothing changed".
    std::fs::write(&csv, CSV).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1100)); // a new group name needs a new second
    s.set_faults(1, &[sila_testkit::FaultRule::error("CreateLaunchTemplate", "InvalidParameterValue", 400, 10)]);
    let out = sila(&s, dir.path(), &["spindownandup", "--pipeline", &csv]);
    assert_eq!(out.code, Some(1), "{out:?}");
    assert!(!out.stderr.contains("nothing changed"), "{out:?}");
    let line = out.stderr.lines().find(|l| l.contains("error:")).expect("an error line");
    assert!(line.contains("spindown removed") && line.contains(&before[0]), "{line}");
    assert!(groups(&s).is_empty());
}

#[test]
fn short_rows_and_sizes_aws_would_refuse_change_nothing() {
    let s = session();
    let (dir, csv) = spun_up(&s);

    // mhcweb's row lost its instance type and smoke test cells: an error, not m3.large.
    s.forget_requests();
    std::fs::write(&csv, CSV.replace(",3,t3.micro,no\n", ",3\n")).unwrap();
    let out = sila(&s, dir.path(), &["spinup", "--pipeline", &csv, "--no-smoke-test"]);
    assert_eq!(out.code, Some(1), "{out:?}");
    assert!(out.stderr.contains("pipeline.csv:3: error: the row has 5 cells but the header names 7"), "{out:?}");
    std::fs::write(&csv, CSV.replace("1,mhcapi,1,1,2", "1,mhcapi,1,1,3000000000")).unwrap();
    let out = sila(&s, dir.path(), &["spinup", "--pipeline", &csv, "--no-smoke-test"]);
    assert_eq!(out.code, Some(1), "{out:?}");
    assert!(out.stderr.contains("pipeline.csv:2: error: column `max_size`"), "{out:?}");
    for (flag, value) in [
        ("--max-size", "3000000000"),
        ("--extra-space", "20000"),
        ("--extra-disk", "0"),
        ("--iops", "70000"),
        ("--deadline", "500000000000y"),
    ] {
        let out = sila(&s, dir.path(), &["provision", "--hostclass", "mhcapi", "--no-smoke-test", flag, value]);
        assert_eq!(out.code, Some(2), "{flag} {value}: {out:?}");
        assert!(out.stderr.contains(flag), "{flag} {value}: {out:?}");
    }
    assert!(s.requests().mutating().is_empty(), "{:?}", s.requests().mutating());
    let api = groups(&s).into_values().find(|g| g.auto_scaling_group_name().unwrap().starts_with("ci_mhcapi_"));
    assert_eq!(api.unwrap().max_size(), Some(2));
}

#[test]
fn huge_durations_and_counts_are_usage_errors_before_any_call() {
    let s = session();
    let dir = tempfile::tempdir().unwrap();
    config(dir.path());
    let csv = dir.path().join("pipeline.csv").display().to_string();
    s.forget_requests();
    for args in [
        &["spinup", "--pipeline", &csv, "--deadline", "500000000000y"][..],
        &["spinup", "--pipeline", &csv, "--deadline", "30days"],
        &["exec-ssm", "--document", "AWS-RunShellScript", "--hostclass", "mhcapi", "--deadline", "500000000000y"],
        &["exec", "--command", "true", "--user", "u", "--hostclass", "mhcapi", "--connect-timeout", "500000000000y"],
        &["promoterunning", "--hours", "99999999999999999"],
    ] {
        let out = sila(&s, dir.path(), args);
        assert_eq!(out.code, Some(2), "{args:?}: {out:?}");
        assert_eq!(out.stderr.lines().filter(|l| l.contains("error")).count(), 1, "{args:?}: {out:?}");
    }
    assert!(s.requests().log.is_empty(), "{:?}", s.requests().log);
}

#[test]
fn without_user_or_logname_the_owner_is_the_password_database_user() {
    let s = session();
    let ec2 = s.ec2();
    environment(&ec2);
    image(&ec2, "mhcapi 0000000100", "tested");
    let dir = tempfile::tempdir().unwrap();
    config(dir.path());
    let out = Outcome::of(
        s.command(BIN).env_remove("USER").env_remove("LOGNAME").arg("--config-dir").arg(dir.path()).args([
            "provision",
            "--hostclass",
            "mhcapi",
            "--no-smoke-test",
        ]),
    );
    assert_eq!(out.code, Some(0), "{out:?}");
    let id = std::process::Command::new("id").arg("-un").output().unwrap();
    let me = String::from_utf8_lossy(&id.stdout).trim().to_string();
    assert!(!me.is_empty());
    let all = groups(&s);
    let owner = all.values().next().unwrap().tags().iter().find(|t| t.key() == Some("owner")).and_then(|t| t.value());
    assert_eq!(owner, Some(me.as_str()), "as Asiaq's getpass.getuser()");
}
