use super::*;
use crate::ini::Ini;
use std::path::Path;

const INI: &str = "\
[bake]
phase1_ami_name=debian12_phase1
phase1_hostclass=mhcbase
phase=2
ami_stages=untested failed tested

[debian12_phase1]
bake_ami=ami-upstream
phase=1

[mhcweb]
product_line=web

[mhcold]
phase1_ami_name=centos6_phase1

[mhcone]
phase=1
bake_ami=ami-one
";

fn aws() -> AwsConfig {
    AwsConfig::new(Ini::parse(Path::new("aws.ini"), INI).unwrap())
}

fn stages() -> Stages {
    Stages::parse(Some("untested failed tested"))
}

fn request(hostclass: Option<&str>, source: Option<&str>, stage: Option<&str>) -> BakeRequest {
    BakeRequest {
        hostclass: hostclass.map(str::to_string),
        source_ami: source.map(str::to_string),
        stage: stage.map(str::to_string),
    }
}

#[test]
fn without_a_hostclass_phase_one_bakes_the_configured_base_image() {
    let t = resolve(&aws(), &request(None, None, None), &stages()).unwrap();
    assert_eq!(
        t,
        BakeTarget {
            phase: 1,
            hostclass: "mhcbase".into(),
            base_name: "debian12_phase1".into(),
            source: Source::Ami("ami-upstream".into()),
            stage: "untested".into(),
        }
    );
    // A phase-1 section named as the hostclass bakes that base; --source-ami wins over bake_ami.
    let t = resolve(&aws(), &request(Some("debian12_phase1"), Some("ami-x"), Some("tested")), &stages()).unwrap();
    assert_eq!((t.phase, t.base_name.as_str(), &t.source), (1, "debian12_phase1", &Source::Ami("ami-x".into())));
    assert_eq!(t.stage, "tested");
}

#[test]
fn a_hostclass_bakes_phase_two_from_the_newest_final_phase_one_image() {
    let t = resolve(&aws(), &request(Some("mhcweb"), None, None), &stages()).unwrap();
    assert_eq!((t.phase, t.hostclass.as_str(), t.base_name.as_str()), (2, "mhcweb", "mhcweb"));
    assert_eq!(t.source, Source::NewestPhase1 { prefix: "debian12_phase1".into() });
    // The hostclass's own phase1_ami_name (resolver D) wins over [bake]'s.
    let t = resolve(&aws(), &request(Some("mhcold"), None, None), &stages()).unwrap();
    assert_eq!(t.source, Source::NewestPhase1 { prefix: "centos6_phase1".into() });
    // A hostclass whose phase is 1 bakes phase 1 from its own bake_ami, as the phase-1 hostclass.
    let t = resolve(&aws(), &request(Some("mhcone"), None, None), &stages()).unwrap();
    assert_eq!((t.phase, t.hostclass.as_str(), t.base_name.as_str()), (1, "mhcbase", "mhcone"));
    assert_eq!(t.source, Source::Ami("ami-one".into()));
}

#[test]
fn bad_requests_are_refused_with_the_reason() {
    let err = resolve(&aws(), &request(Some("mhcweb"), None, Some("shipped")), &stages()).unwrap_err();
    assert!(err.contains("--stage shipped: not one of [bake] ami_stages"), "{err}");
    let err = resolve(&aws(), &request(Some("web"), None, None), &stages()).unwrap_err();
    assert!(err.contains("start with mhc"), "{err}");
    let empty = AwsConfig::new(Ini::parse(Path::new("aws.ini"), "[bake]\n").unwrap());
    assert!(resolve(&empty, &request(None, None, None), &stages()).unwrap_err().contains("phase1_ami_name"));
    assert!(resolve(&empty, &request(Some("mhcweb"), None, None), &stages()).unwrap_err().contains("phase1_ami_name"));
}

#[test]
fn vector_65_phase_one_source_is_the_newest_public_image_of_the_final_stage() {
    let img = |id: &str, name: &str, stage: &str, private: bool| Image {
        id: id.into(),
        name: name.into(),
        state: "available".into(),
        tags: [("stage", stage), ("is_private", if private { "True" } else { "False" })]
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        ..Image::default()
    };
    let stages = Stages::parse(Some("a b c"));
    let images = vec![
        img("ami-2", "mhcphase1 0000000002", "c", false),
        img("ami-3", "mhcphase1 0000000003", "c", true),
        img("ami-5", "mhcphase1 0000000005", "b", false),
        img("ami-9", "other 0000000009", "c", false),
    ];
    assert_eq!(newest_phase1(&images, "mhcphase1", &stages).map(|i| i.id.as_str()), Some("ami-2"));
    assert_eq!(newest_phase1(&images[2..], "mhcphase1", &stages), None);
}

#[test]
fn vector_69_image_tags_in_order_and_extra_tags_cannot_override() {
    let extra = vec![("mock".to_string(), "gecko".to_string()), ("baker".to_string(), "innocent_user".to_string())];
    let input = ImageTagInput {
        hostclass: "mhcbar",
        stage: "mock_stage",
        source_ami: "mock_source",
        baker: "mock_user",
        version: "0.1.0",
        private: false,
        productline: Some("mock_productline"),
        extra: &extra,
    };
    let tags = image_tags(&input);
    let expected = [
        ("hostclass", "mhcbar"),
        ("stage", "mock_stage"),
        ("source_ami", "mock_source"),
        ("baker", "mock_user"),
        ("version-sila", "0.1.0"),
        ("is_private", "False"),
        ("productline", "mock_productline"),
        ("mock", "gecko"),
    ];
    assert_eq!(tags, expected.map(|(k, v)| (k.to_string(), v.to_string())));
    let private = image_tags(&ImageTagInput { private: true, productline: None, ..input });
    assert!(private.contains(&("is_private".to_string(), "True".to_string())));
    assert!(!private.iter().any(|(k, _)| k == "productline"));
}

#[test]
fn run_tags_mark_what_reap_may_remove() {
    let run = BakeRun::new(1_700_000_000_123_456_789, 42, 3600);
    assert_eq!((run.started, run.until), (1_700_000_000, 1_700_003_600));
    assert!(run.resource_name().starts_with("sila-bake-"));
    assert_ne!(run.id, BakeRun::new(1_700_000_000_123_456_790, 42, 3600).id, "distinct runs, distinct ids");
    let tags: BTreeMap<String, String> = run.tags().into_iter().collect();
    assert!(!reapable(&tags, run.until - 1, None, None), "running");
    assert!(reapable(&tags, run.until, None, None), "deadline passed");
    assert!(reapable(&tags, run.started + 600, Some(300), Some(run.started)), "older than asked");
    assert!(!reapable(&tags, run.started + 100, Some(300), Some(run.started)));
    assert!(!reapable(&BTreeMap::new(), u64::MAX, Some(0), Some(0)), "not a bake's");
    assert_eq!(run_started(&run.id), Some(run.started), "the id tells when the run began");
    assert!(reapable(&tags, run.started + 600, Some(300), None), "no creation time: the run's start counts");
    assert!(reapable(&tags, run.until + 1, Some(1_000_000), Some(run.started)), "past the deadline anyway");
}

#[test]
fn only_what_a_bake_made_counts_as_a_runs() {
    let tags: BTreeMap<String, String> = BakeRun::new(1_700_000_000_123_456_789, 42, 3600).tags().into_iter().collect();
    let run = tags[RUN_TAG].clone();
    assert_eq!(run_of_named(&resource_name(&run), &tags), Some(run.as_str()));
    assert_eq!(run_of_named("ops", &tags), None, "run tags on something else");
    assert_eq!(run_of_named(&resource_name("other"), &tags), None, "another run's name");
    assert_eq!(run_of_named(&resource_name(&run), &BTreeMap::new()), None);
    let description = image_description("mhcweb", &run, "ami-1");
    assert!(described_for_run(&description, &tags));
    assert!(!described_for_run("a production image", &tags));
    assert!(!described_for_run(&image_description("mhcweb", "other", "ami-1"), &tags));
    assert!(!described_for_run(&description, &BTreeMap::new()));
}

#[test]
fn nosync_excludes_follow_rsync_per_directory_rules() {
    let x = Excludes::parse("# comment\n*.pyc\n/build/\nsecret?.txt\ndocs/draft.md\n");
    assert!(x.excludes("a.pyc", false));
    assert!(x.excludes("deep/down/b.pyc", false), "unanchored names match at any depth");
    assert!(x.excludes("build", true));
    assert!(!x.excludes("build", false), "trailing / matches directories only");
    assert!(!x.excludes("sub/build", true), "leading / anchors to the directory of the file");
    assert!(x.excludes("secret1.txt", false));
    assert!(!x.excludes("secret12.txt", false));
    assert!(x.excludes("docs/draft.md", false));
    assert!(!x.excludes("other/docs/draft.md", false));
    assert!(!x.excludes("keep.py", false));
    assert!(Excludes::parse("").patterns.is_empty());
}
