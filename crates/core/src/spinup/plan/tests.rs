//! `plan_pipeline` without AWS: the reads are built by hand, as sila-cloud would fill them.

use super::*;
use crate::ami::Image;
use crate::config::AwsConfig;
use crate::ini::Ini;
use std::path::Path;

const AWS_INI: &str = "[disco_aws]\ndefault_meta_network=intranet\ndefault_ssh_key_name=None\n\
logger_hostclass=mhclogger\n\n\
[mhcweb]\nmeta_network=dmz\ntags=team:web\nelb=yes\n\n\
[mhcdb]\nip_address=+10\n\n\
[mhclogger]\nip_address=10.0.0.20\n";

fn aws() -> AwsConfig {
    AwsConfig::new(Ini::parse(Path::new("aws.ini"), AWS_INI).unwrap())
}

fn pipeline(csv: &str) -> Pipeline {
    Pipeline::parse(Path::new("pipeline.csv"), csv).unwrap()
}

const CSV: &str = "sequence,hostclass,min_size,desired_size,max_size,instance_type,smoke_test\n\
1,mhcdb,1,1,1,t3.small,no\n\
2,mhcweb,1,2@0 8 * * 1-5:1@0 20 * * *,3,t3.micro,yes\n";

fn image(id: &str, hostclass: &str) -> Image {
    Image {
        id: id.into(),
        name: format!("{hostclass} 0000000100"),
        state: "available".into(),
        tags: [("stage".to_string(), "tested".to_string())].into(),
        devices: vec!["/dev/sda1".into()],
        root_device: "/dev/sda1".into(),
        ..Image::default()
    }
}

fn reads() -> SpinupReads {
    let mut facts = EnvironmentFacts {
        vpc_id: "vpc-1".into(),
        vpc_type: Some("sandbox".into()),
        environment_class: "development".into(),
        ..EnvironmentFacts::default()
    };
    facts.subnets.insert("intranet".into(), vec!["subnet-a".into(), "subnet-b".into()]);
    facts.subnets.insert("dmz".into(), vec!["subnet-d".into()]);
    facts.groups.insert("intranet".into(), "sg-i".into());
    facts.groups.insert("dmz".into(), "sg-d".into());
    facts.subnet_cidrs.insert("subnet-a".into(), "10.0.0.0/24".into());
    facts.subnet_cidrs.insert("subnet-b".into(), "10.0.1.0/24".into());
    facts.subnet_cidrs.insert("subnet-d".into(), "10.0.2.0/24".into());
    SpinupReads {
        facts,
        images: PipelineImages {
            images: vec![image("ami-db", "mhcdb"), image("ami-web", "mhcweb")],
            pinned: BTreeMap::new(),
        },
        ..SpinupReads::default()
    }
}

fn plan_of(pipeline: &Pipeline, reads: &SpinupReads) -> Result<ProvisionPlan, String> {
    let aws = aws();
    let hostclasses = ["mhcdb", "mhcweb", "mhclogger"]
        .into_iter()
        .map(|h| (h.to_string(), HostclassSettings::resolve(&aws, h, "ci")))
        .collect();
    let input = SpinupInput {
        env: "ci",
        pipeline,
        stages: vec!["tested".into()],
        owner: "jenkins".into(),
        project: Some("acme".into()),
        credential_buckets: vec![],
        testing: false,
        no_smoke_test: false,
        epoch: 1_700_000_000,
        hostclasses,
        services: ServiceHostclasses::of(&aws),
        load_balancers: ["mhcdb", "mhcweb"]
            .into_iter()
            .filter_map(|h| crate::elb::ElbSettings::resolve(&aws, h, "ci").unwrap())
            .map(|s| (s.hostclass.clone(), crate::elb::LoadBalancerSpec::of(&s, "ci", false).unwrap()))
            .collect(),
    };
    plan_pipeline(&input, reads)
}

/// The reads after `plan` was applied: its groups, templates, policies and schedules exist.
fn applied(plan: &ProvisionPlan, mut reads: SpinupReads) -> SpinupReads {
    for (n, p) in plan.groups.iter().enumerate() {
        let template = (format!("lt-{n}"), "1".to_string());
        reads
            .templates
            .insert(format!("ci_{}", p.hostclass), (template.0.clone(), template.1.clone(), p.template.clone()));
        let mut subnets = p.subnets.clone();
        subnets.sort();
        reads.groups.insert(
            p.hostclass.clone(),
            vec![GroupState {
                name: p.group.clone(),
                sizes: p.sizes,
                template: Some(template),
                subnets,
                tags: p.tags.iter().cloned().collect(),
                target_groups: p
                    .target_groups
                    .iter()
                    .map(|t| format!("arn:aws:elasticloadbalancing:us-west-2:1:targetgroup/{t}/0f"))
                    .collect(),
                ..GroupState::default()
            }],
        );
        reads.policies.insert(p.group.clone());
        let actions =
            p.actions.iter().map(|a| (pipeline::scheduled_action_name(&p.group, &a.cron), a.clone())).collect();
        reads.schedules.insert(p.group.clone(), actions);
    }
    reads
}

#[test]
fn a_new_pipeline_creates_each_group_with_its_settings() {
    let pipeline = pipeline(CSV);
    let plan = plan_of(&pipeline, &reads()).unwrap();
    assert_eq!(plan.groups.len(), 2);
    let (db, web) = (&plan.groups[0], &plan.groups[1]);
    assert!(db.create && web.create);
    assert_eq!(db.group, "ci_mhcdb_1700000000");
    assert_eq!((db.sequence, web.sequence), (1, 2));
    // The static address (+10 of the first intranet subnet) pins the group to its subnet.
    assert_eq!(db.interfaces, [("10.0.0.10".to_string(), "subnet-a".to_string())]);
    assert_eq!(db.subnets, ["subnet-a"]);
    assert_eq!(web.subnets, ["subnet-d"]);
    assert_eq!((web.template.image.as_str(), web.template.security_group.as_str()), ("ami-web", "sg-d"));
    assert_eq!(web.actions.len(), 2, "the desired size's two schedules");
    assert!(web.smoke_test && !db.smoke_test);
    assert!(web.tags.contains(&("team".to_string(), "web".to_string())), "{:?}", web.tags);
    assert!(web.tags.contains(&("owner".to_string(), "jenkins".to_string())));
    // Every host's user data carries the logger's static address.
    assert!(web.template.user_data.contains("logger_ip='10.0.0.20'"), "{}", web.template.user_data);
    assert!(plan.warnings.is_empty(), "{:?}", plan.warnings);
}

#[test]
fn a_rerun_of_an_applied_plan_changes_nothing() {
    let pipeline = pipeline(CSV);
    let first = plan_of(&pipeline, &reads()).unwrap();
    let again = plan_of(&pipeline, &applied(&first, reads())).unwrap();
    for p in &again.groups {
        assert!(!p.create && p.unchanged && p.group_unchanged, "{}: {:?}", p.hostclass, p.changes);
        assert!(p.template_version.is_some(), "the template's latest version is reused");
    }
    assert_eq!(again.groups[0].group, first.groups[0].group, "the existing group keeps its name");
}

#[test]
fn each_reason_a_group_changes_is_named() {
    let pipeline = pipeline(CSV);
    let first = plan_of(&pipeline, &reads()).unwrap();
    let mut live = applied(&first, reads());
    let web = &first.groups[1];
    // Another image: a new template version. Other sizes, subnets and tags, no policies, one schedule.
    live.templates.get_mut("ci_mhcweb").unwrap().2.image = "ami-old".into();
    let group = &mut live.groups.get_mut("mhcweb").unwrap()[0];
    group.sizes.max = 9;
    group.subnets = vec!["subnet-x".into()];
    group.tags.insert("team".into(), "ops".into());
    live.policies.remove(&web.group);
    live.schedules.get_mut(&web.group).unwrap().pop();
    let plan = plan_of(&pipeline, &live).unwrap();
    let web = &plan.groups[1];
    assert!(!web.create && !web.unchanged && !web.group_unchanged);
    assert_eq!(
        web.changes,
        ["new template version", "sizes", "subnets", "tags", "scaling policies", "scheduled actions"]
    );
    assert!(plan.groups[0].unchanged, "the other group is left alone");
}

#[test]
fn the_newest_snapshot_is_restored_and_one_still_being_taken_is_waited_for() {
    let pipeline = pipeline(CSV);
    let mut live = reads();
    live.snapshots.insert("mhcweb".into(), ("snap-1".into(), 50, false));
    let plan = plan_of(&pipeline, &live).unwrap();
    let web = &plan.groups[1];
    assert_eq!(web.snapshot, Some(("snap-1".to_string(), true)), "not completed: apply waits");
    let volume = web.template.block_devices.iter().find(|d| d.snapshot.is_some()).unwrap();
    assert_eq!((volume.device.as_str(), volume.size_gb), ("/dev/sdb", Some(50)));
}

#[test]
fn rows_that_cannot_start_are_all_named_and_nothing_is_planned() {
    let csv = "sequence,hostclass,min_size,desired_size,max_size,instance_type,smoke_test\n\
               1,mhcdb,1,1,1,t3.small,no\n\
               1,mhcnothing,1,1,1,t3.small,no\n";
    let mut live = reads();
    live.facts.subnet_cidrs.clear(); // the static address can no longer be placed
    let err = plan_of(&pipeline(csv), &live).unwrap_err();
    assert!(err.starts_with("nothing changed; "), "{err}");
    assert!(err.contains("aws.ini:12: [mhcdb] ip_address: environment ci has no \"intranet\" subnets"), "{err}");
    assert!(err.contains("pipeline.csv:3: mhcnothing: no image"), "{err}");
}

#[test]
fn two_groups_for_one_hostclass_stop_the_plan() {
    let pipeline = pipeline(CSV);
    let mut live = reads();
    let group = |name: &str| GroupState { name: name.into(), ..GroupState::default() };
    live.groups.insert("mhcweb".into(), vec![group("ci_mhcweb_1"), group("ci_mhcweb_2")]);
    let err = plan_of(&pipeline, &live).unwrap_err();
    assert_eq!(err, "mhcweb: more than one autoscaling group (ci_mhcweb_1, ci_mhcweb_2); remove the extra ones first");
}

#[test]
fn a_load_balanced_hostclass_registers_with_its_target_groups() {
    let pipeline = pipeline(CSV);
    let plan = plan_of(&pipeline, &reads()).unwrap();
    let web = plan.groups.iter().find(|p| p.hostclass == "mhcweb").unwrap();
    assert_eq!(web.load_balancer.as_deref(), Some("ci-mhcweb"));
    assert_eq!(web.target_groups, ["ci-mhcweb-80"]);
    assert!(plan.render(std::path::Path::new("p.csv"), "ci").contains(", behind load balancer ci-mhcweb"));
    let db = plan.groups.iter().find(|p| p.hostclass == "mhcdb").unwrap();
    assert!(db.target_groups.is_empty());

    // Registered: nothing changes. A group that is not registered (made before elb was set) is.
    let mut reads = applied(&plan, reads());
    let again = plan_of(&pipeline, &reads).unwrap();
    assert!(again.groups.iter().all(|p| p.unchanged), "{:?}", again.view());
    reads.groups.get_mut("mhcweb").unwrap()[0].target_groups.clear();
    let changed = plan_of(&pipeline, &reads).unwrap();
    let web = changed.groups.iter().find(|p| p.hostclass == "mhcweb").unwrap();
    assert_eq!(web.changes, ["target groups"]);
    assert!(!web.group_unchanged);
}
