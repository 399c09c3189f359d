//! Topics and alarms from Asiaq's sample `disco_alarms.ini` and from edge cases.

use super::*;
use std::path::Path;

fn ini(text: &str) -> Ini {
    Ini::parse(Path::new("alarms.ini"), text).unwrap()
}

fn sample() -> Ini {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures/asiaq-sample-config/disco_alarms.ini");
    Ini::parse(&path, &std::fs::read_to_string(&path).unwrap()).unwrap()
}

fn ctx<'a>(hostclass: &'a str) -> AlarmContext<'a> {
    AlarmContext {
        env: "ci",
        hostclass,
        group: Some("ci_mhcntp_1700000000"),
        load_balancer: None,
        account: "123456789012",
        region: "us-west-2",
    }
}

#[test]
fn the_sample_gives_each_hostclass_its_alarms_with_the_defaults() {
    let file = sample();
    let alarms = alarms_for(&file, &ctx("mhcntp")).unwrap();
    let cpu = alarms.iter().find(|a| a.name == "astro_ci_mhcntp_CPUUtilization_max").expect("the EC2 alarm");
    assert_eq!((cpu.namespace.as_str(), cpu.metric.as_str()), ("AWS/EC2", "CPUUtilization"));
    assert_eq!(cpu.dimensions, BTreeMap::from([("AutoScalingGroupName".into(), "ci_mhcntp_1700000000".into())]));
    assert_eq!((cpu.comparison.as_str(), cpu.threshold), ("GreaterThanThreshold", 99.0));
    assert_eq!((cpu.period, cpu.evaluation_periods, cpu.statistic.as_str()), (300, 5, "Average"));
    assert_eq!(cpu.actions, ["arn:aws:sns:us-west-2:123456789012:astro_ci_critical"]);
    let iowait = alarms.iter().find(|a| a.name == "astro_ci_mhcntp_iowait_max").unwrap();
    assert_eq!(
        iowait.dimensions,
        BTreeMap::from([("env_hostclass".into(), "ci_mhcntp".into())]),
        "custom_metric from [defaults]"
    );
    // Another hostclass's sections do not apply.
    assert!(alarms.iter().all(|a| a.name.contains("_mhcntp_")));
    let zk = alarms_for(&file, &ctx("mhczookeeper")).unwrap();
    let disk = zk.iter().find(|a| a.metric == "/dev/xvde").expect("a metric with dots in it");
    assert_eq!((disk.namespace.as_str(), disk.name.as_str()), ("EC2/Disk", "astro_ci_mhczookeeper_/dev/xvde_max"));
    let free = zk.iter().find(|a| a.metric == "%MemFree").unwrap();
    assert_eq!((free.comparison.as_str(), free.threshold), ("LessThanThreshold", 10.0));
}

#[test]
fn a_generic_section_applies_unless_the_hostclass_has_its_own() {
    let file = ini("[defaults]\nlevel=info\n\
                    [web.AWS/EC2.CPUUtilization]\nthreshold_max=90\nperiod=60\n\
                    [web.AWS/EC2.CPUUtilization.mhcapi]\nthreshold_max=95\n\
                    [web.App/Errors.count]\nthreshold_max=5\nlog_pattern_metric=true\n");
    let api = alarms_for(&file, &ctx("mhcapi")).unwrap();
    let cpu: Vec<&AlarmSpec> = api.iter().filter(|a| a.metric == "CPUUtilization").collect();
    assert_eq!(cpu.len(), 1, "the specific section replaces the generic one");
    assert_eq!((cpu[0].threshold, cpu[0].period), (95.0, 60), "the generic parent's options still apply");
    assert_eq!(cpu[0].actions, ["arn:aws:sns:us-west-2:123456789012:web_ci_info"]);
    let web = alarms_for(&file, &ctx("mhcweb")).unwrap();
    assert_eq!(web.iter().find(|a| a.metric == "CPUUtilization").unwrap().threshold, 90.0);
    let log = web.iter().find(|a| a.name == "web_ci_mhcweb_count_max").unwrap();
    assert_eq!((log.namespace.as_str(), log.metric.as_str()), ("App/Errors/ci", "mhcweb-count"));
    assert!(log.dimensions.is_empty());
}

#[test]
fn min_and_max_make_two_alarms_and_rds_and_load_balancers_get_their_dimensions() {
    let file = ini("[defaults]\nlevel=critical\n\
                    [db.AWS/RDS.FreeStorageSpace.mhcdb]\nthreshold_min=10\nthreshold_max=900\n\
                    [web.AWS/ApplicationELB.HTTPCode_Target_5XX_Count.mhcweb]\nthreshold_max=10\n");
    let db = alarms_for(&file, &ctx("mhcdb")).unwrap();
    let names: Vec<&str> = db.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(names, ["db_ci_mhcdb_FreeStorageSpace_max", "db_ci_mhcdb_FreeStorageSpace_min"]);
    assert_eq!(db[0].dimensions["DBInstanceIdentifier"], "ci-mhcdb");
    let mut web = ctx("mhcweb");
    assert!(alarms_for(&file, &web).unwrap_err().contains("has no load balancer"));
    web.load_balancer = Some(("app/ci-mhcweb/1", "targetgroup/ci-mhcweb-80/2"));
    let alarm = &alarms_for(&file, &web).unwrap()[0];
    assert_eq!(alarm.dimensions["LoadBalancer"], "app/ci-mhcweb/1");
    assert_eq!(alarm.dimensions["TargetGroup"], "targetgroup/ci-mhcweb-80/2");
}

#[test]
fn topics_are_the_environments_with_their_endpoints() {
    let topics = topics(&sample(), "ci").unwrap();
    assert_eq!(topics.len(), 1);
    assert_eq!(topics[0].name, "teamname_ci_critical");
    assert_eq!(topics[0].endpoints[0].protocol, "https");
    let file =
        ini("[notifications]\nops_qa_info=ops@example.com, http://hooks.example.com/x,\nops_ci_critical=a@b.c\n");
    let qa = super::topics(&file, "qa").unwrap();
    let protocols: Vec<&str> = qa[0].endpoints.iter().map(|e| e.protocol.as_str()).collect();
    assert_eq!((qa.len(), protocols), (1, vec!["email", "http"]));
}

#[test]
fn bad_entries_name_their_line() {
    let err = |text: &str| topics(&ini(text), "ci").unwrap_err();
    assert_eq!(
        err("[notifications]\nops_ci=a@b.c\n"),
        "alarms.ini:2: [notifications] ops_ci: keys are <team>_<env>_<level>"
    );
    assert!(err("[notifications]\nops_ci_loud=a@b.c\n")
        .starts_with("alarms.ini:2: [notifications] ops_ci_loud: level \"loud\""));
    assert!(err("[notifications]\nops_ci_info=ftp://x\n")
        .contains("\"ftp://x\" is neither an email address nor an http(s) URL"));
    let alarm = |text: &str| alarms_for(&ini(text), &ctx("mhcntp")).unwrap_err();
    assert!(alarm("[a.B.c]\nlevel=critical\nthreshold_max=9x\n")
        .starts_with("alarms.ini:3: [a.B.c] threshold_max must be a whole number"));
    assert!(alarm("[a.B.c]\nlevel=page\nthreshold_max=9\n").starts_with("alarms.ini:2: [a.B.c] level \"page\""));
    assert!(alarm("[a.B.c]\nlevel=info\nperiod=soon\nthreshold_max=9\n").starts_with("alarms.ini:3: [a.B.c] period"));
}
