//! The bake's steps one by one against the emulator: what each makes, that its undo is registered
//! first, and what the undo takes back and keeps. (The whole bake, SSH included, is in
//! `tests/bake.rs`.)

use super::*;
use aws_sdk_ec2::types::Filter;
use sila_cloud::AwsSettings;
use sila_testkit::{block_on, session, Session};

async fn clients(s: &Session) -> Clients {
    // Dummy credentials of this test process only: every call goes to the emulator.
    std::env::set_var("AWS_ACCESS_KEY_ID", "test");
    std::env::set_var("AWS_SECRET_ACCESS_KEY", "test");
    std::env::set_var("AWS_EC2_METADATA_DISABLED", "true");
    let settings = AwsSettings {
        profile: None,
        region: Some("us-west-2".into()),
        endpoint_url: Some(s.endpoint().to_string()),
        max_attempts: Some(3),
    };
    sila_cloud::connect(&settings).await.expect("clients")
}

fn run_tags(run: &str) -> Vec<(String, String)> {
    vec![(RUN_TAG.to_string(), run.to_string())]
}

async fn vpc_and_subnet(ec2: &aws_sdk_ec2::Client) -> (String, String) {
    let vpc = ec2.create_vpc().cidr_block("10.9.0.0/16").send().await.unwrap();
    let vpc = vpc.vpc().unwrap().vpc_id().unwrap().to_string();
    let subnet = ec2.create_subnet().vpc_id(&vpc).cidr_block("10.9.1.0/24").send().await.unwrap();
    (vpc, subnet.subnet().unwrap().subnet_id().unwrap().to_string())
}

#[test]
fn the_key_pair_and_group_are_in_the_undo_log_before_they_exist_and_go_with_it() {
    let s = session();
    let ec2 = s.ec2();
    block_on(async {
        let clients = clients(&s).await;
        let (vpc, _) = vpc_and_subnet(&ec2).await;
        let (undo, step) = (UndoLog::default(), CurrentStep::default());
        let baker = Baker { clients: &clients, undo: &undo, step: &step, tags: run_tags("run-1") };
        let dir = tempfile::tempdir().unwrap();

        let key_dir = dir.path().join("run-1");
        let key = baker.temporary_key("sila-bake-run-1", Some(&key_dir)).await.unwrap();
        assert!(matches!(key, Credential::Key(_)));
        assert!(keyfile::path_in(&key_dir).is_file(), "the kept builder's key file is saved");
        let group = baker.ssh_group(&vpc, "sila-bake-run-1", &["10.0.0.0/8".to_string()]).await.unwrap();
        assert_eq!(step.get(), "security group");

        let keys = ec2.describe_key_pairs().send().await.unwrap();
        assert!(keys.key_pairs().iter().any(|k| k.key_name() == Some("sila-bake-run-1")));
        let found = ec2.describe_security_groups().group_ids(&group).send().await.unwrap();
        let g = &found.security_groups()[0];
        assert_eq!(g.vpc_id(), Some(vpc.as_str()));
        assert!(g
            .ip_permissions()
            .iter()
            .any(|p| p.from_port() == Some(22) && p.ip_ranges().iter().any(|r| r.cidr_ip() == Some("10.0.0.0/8"))));
        assert!(g.tags().iter().any(|t| t.key() == Some(RUN_TAG) && t.value() == Some("run-1")));

        assert_eq!(undo.unwind(&clients).await, Vec::<String>::new());
        let keys = ec2.describe_key_pairs().send().await.unwrap();
        assert!(keys.key_pairs().iter().all(|k| k.key_name() != Some("sila-bake-run-1")));
        let by_id = Filter::builder().name("group-id").values(&group).build();
        assert!(ec2.describe_security_groups().filters(by_id).send().await.unwrap().security_groups().is_empty());
    });
}

#[test]
fn capture_makes_a_tagged_image_that_the_undo_keeps_while_the_builder_goes() {
    let s = session();
    let ec2 = s.ec2();
    let source = sila_testkit::fixtures::image(&ec2, "source", &[]);
    block_on(async {
        let clients = clients(&s).await;
        let (_, subnet) = vpc_and_subnet(&ec2).await;
        let (undo, step) = (UndoLog::default(), CurrentStep::default());
        let baker = Baker { clients: &clients, undo: &undo, step: &step, tags: run_tags("run-2") };
        baker.temporary_key("sila-bake-run-2", None).await.unwrap();
        let mut tags = baker.tags.clone();
        tags.push(("Name".into(), "bake_web".into()));
        let spec = BuilderSpec {
            image: source.clone(),
            instance_type: "t3.micro".into(),
            subnet,
            groups: Vec::new(),
            key_name: "sila-bake-run-2".into(),
            instance_profile: None,
            public_ip: false,
            tags,
            token: "sila-bake-run-2".into(),
        };
        let builder = baker.launch("run-2", &spec).await.unwrap();
        let deadline = Instant::now() + Duration::from_secs(120);
        clients.stop_machine(&builder, deadline).await.unwrap();

        let mut image_tags = vec![("hostclass".to_string(), "web".to_string()), ("stage".into(), "untested".into())];
        image_tags.extend(baker.tags.iter().cloned());
        let order = ImageOrder {
            run_id: "run-2",
            name: "web 0000000001",
            description: "web of run run-2",
            tags: image_tags,
            wait: Duration::from_secs(120),
            deadline,
        };
        let image = baker.capture(&builder, &order).await.unwrap();
        assert_eq!(step.get(), "tag the snapshots");

        let read = ec2.describe_images().image_ids(&image).send().await.unwrap();
        let made = &read.images()[0];
        let tag = |key: &str| made.tags().iter().find(|t| t.key() == Some(key)).and_then(|t| t.value());
        assert_eq!((tag("hostclass"), tag("stage"), tag(RUN_TAG)), (Some("web"), Some("untested"), None));
        for device in made.block_device_mappings() {
            let Some(snapshot) = device.ebs().and_then(|e| e.snapshot_id()) else { continue };
            let snap = ec2.describe_snapshots().snapshot_ids(snapshot).send().await.unwrap();
            let tags = snap.snapshots()[0].tags();
            assert!(tags.iter().any(|t| t.key() == Some("hostclass") && t.value() == Some("web")));
            assert!(tags.iter().all(|t| t.key() != Some(RUN_TAG)), "the run tag is off the finished snapshot");
        }

        // What remains to undo is the builder and the key: the image stays.
        assert_eq!(undo.unwind(&clients).await, Vec::<String>::new());
        let builder_state = ec2.describe_instances().instance_ids(&builder).send().await.unwrap();
        let state = builder_state.reservations()[0].instances()[0]
            .state()
            .and_then(|s| s.name())
            .map(|n| n.as_str().to_string());
        assert_eq!(state.as_deref(), Some("terminated"));
        assert_eq!(ec2.describe_images().image_ids(&image).send().await.unwrap().images().len(), 1);
    });
}
