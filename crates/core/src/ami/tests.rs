use super::*;

fn image(id: &str, name: &str, tags: &[(&str, &str)]) -> Image {
    Image {
        id: id.into(),
        name: name.into(),
        state: "available".into(),
        tags: tags.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        ..Image::default()
    }
}

#[test]
fn vector_62_baked_names() {
    for good in ["mhcfoo 0000000001", "centos6_phase1 1457381234", "mhcfoo 2 1457381234", "mhcfoo 1457381234 extra"] {
        assert!(is_baked_name(good), "{good}");
    }
    for bad in ["mhcfoo 1", "mhc-foo 1457381234", "mhcfoo  1457381234", "", " 1457381234", "mhcfoo"] {
        assert!(!is_baked_name(bad), "{bad}");
    }
    let i = image("ami-1", "mhcfoo 2 1457381234", &[]);
    assert_eq!((i.hostclass(), i.timestamp()), ("mhcfoo", 1457381234));
    assert_eq!(image("ami-1", "weird name", &[]).timestamp(), 0);
}

/// Vector 63's images.
fn v63() -> Vec<Image> {
    let mut one = image("ami-1", "mhcfoo 1", &[("stage", "tested"), ("productline", "astro")]);
    one.state = "unavailable".into();
    vec![
        one,
        image("ami-2", "mhcfoo 2", &[("stage", "tested")]),
        image("ami-3", "mhcfoo 3", &[("stage", "tested"), ("is_private", "True")]),
        image("ami-4", "mhcfoo 4", &[("stage", "tested"), ("productline", "astro"), ("is_private", "True")]),
        image("ami-5", "mhcfoo 5", &[("stage", "failed")]),
    ]
}

#[test]
fn vector_63_and_65_find_ami() {
    let images = v63();
    assert_eq!(find_ami(&images, "mhcfoo", Some(&["tested"]), None, false).unwrap().id, "ami-2");
    assert_eq!(find_ami(&images, "mhcfoo", Some(&["tested"]), None, true).unwrap().id, "ami-4");
    assert_eq!(find_ami(&images, "mhcfoo", Some(&["tested"]), Some("astro"), false).unwrap().id, "ami-1");
    assert!(find_ami(&images, "mhcbar", Some(&["tested"]), None, false).is_none());
    // No stage: the newest of any stage.
    assert_eq!(find_ami(&images, "mhcfoo", None, None, false).unwrap().id, "ami-5");
}

#[test]
fn vector_70_stage_priority() {
    let images = vec![image("a", "h 100", &[("stage", "tested")]), image("b", "h 200", &[("stage", "untested")])];
    assert_eq!(find_ami(&images, "h", Some(&["tested", "untested"]), None, false).unwrap().id, "a");
    assert_eq!(find_ami(&images, "h", Some(&["untested", "tested"]), None, false).unwrap().id, "b");
    // Asiaq's untrimmed split never matched " untested"; Sila trims.
    assert_eq!(find_ami(&images, "h", Some(&["tested", " untested"]), None, false).unwrap().id, "a");
}

/// Vector 64's images.
fn v64() -> Vec<Image> {
    let mut foo1 = image("foo1", "mhcfoo 0000000001", &[("stage", "untested"), ("productline", "astro")]);
    foo1.state = "unavailable".into();
    let mut bar1 = image("bar1", "mhcbar 0000000001", &[("stage", "tested"), ("productline", "someone_else")]);
    bar1.state = "unavailable".into();
    vec![
        foo1,
        image("bar2", "mhcbar 0000000002", &[("stage", "tested")]),
        image("foo4", "mhcfoo 0000000004", &[("stage", "tested"), ("productline", "astro")]),
        image("foo5", "mhcfoo 0000000005", &[("stage", "failed")]),
        bar1,
    ]
}

#[test]
fn vector_64_list_filters() {
    let images = v64();
    let listed = |f: ListFilter| -> Vec<String> {
        let mut found: Vec<Image> = images.iter().filter(|i| f.matches(i)).cloned().collect();
        sort_for_listing(&mut found);
        found.into_iter().map(|i| i.id).collect()
    };
    assert_eq!(listed(ListFilter { productline: Some("astro".into()), ..Default::default() }), ["foo1", "foo4"]);
    assert_eq!(listed(ListFilter { stage: Some("failed".into()), ..Default::default() }), ["foo5"]);
    assert_eq!(listed(ListFilter { state: Some("unavailable".into()), ..Default::default() }), ["bar1", "foo1"]);
    assert_eq!(listed(ListFilter { hostclass: Some("mhcfoo".into()), ..Default::default() }), ["foo1", "foo4", "foo5"]);
    let f = ListFilter { stage: Some("tested".into()), productline: Some("someone_else".into()), ..Default::default() };
    assert_eq!(listed(f), ["bar1"]);
    assert_eq!(listed(ListFilter::default()).len(), 5);
}

#[test]
fn vector_66_promotion_shares_only_final_stage_bakes_of_the_prod_baker() {
    let stages = Stages::parse(Some("untested failed tested"));
    let by_jenkins = image("a", "h 1", &[("baker", "jenkins")]);
    let by_alice = image("b", "h 1", &[("baker", "alice")]);
    assert!(shares_on_promotion(&by_jenkins, "tested", &stages, Some("jenkins")));
    assert!(!shares_on_promotion(&by_jenkins, "failed", &stages, Some("jenkins")));
    assert!(!shares_on_promotion(&by_alice, "tested", &stages, Some("jenkins")));
    assert!(!shares_on_promotion(&by_jenkins, "tested", &stages, Some("")));
    assert!(!shares_on_promotion(&by_jenkins, "tested", &stages, None));
    assert_eq!((stages.first(), stages.last()), ("untested", "tested"));
    assert!(may_share(&by_jenkins, "tested", &stages, Some("jenkins")).is_ok());
    assert!(may_share(&by_alice, "tested", &stages, None).is_ok(), "no production baker: any bake");
    assert!(may_share(&by_alice, "tested", &stages, Some("jenkins"))
        .unwrap_err()
        .contains("not by the production baker jenkins"));
    assert!(may_share(&by_jenkins, "failed", &stages, Some("jenkins")).unwrap_err().contains("final stage (tested)"));
    assert_eq!(Stages::parse(None).0, ["untested", "failed", "tested"]);
}

#[test]
fn vector_67_stragglers() {
    let now = 2_000_000_000;
    let stages = Stages::parse(None);
    let mut images = vec![
        image("ami-1", "mhcfoo 1", &[("stage", "untested")]),
        image("ami-2", "mhcfoo 2", &[("stage", "untested")]),
        image("ami-3", "mhcfoo 3", &[("stage", "untested"), ("is_private", "True")]),
        image("ami-4", "mhcfoo 4", &[("stage", "untested"), ("is_private", "True")]),
    ];
    images[0].state = "unavailable".into();
    let found = stragglers(&images, &stages, 3, now);
    assert_eq!(found.len(), 1);
    assert_eq!(found["mhcfoo"].unwrap().id, "ami-2");
    // A recent promotion to the final stage: not a straggler; an old one: still one.
    let recent = format!("mhcfoo {}", now - 86_400);
    images.push(image("ami-5", &recent, &[("stage", "tested")]));
    assert!(stragglers(&images, &stages, 3, now).is_empty());
    assert_eq!(stragglers(&images, &stages, 0, now).len(), 1);
}

fn days_ago(now: u64, days: u64) -> String {
    format!("h {}", now - days * 86_400)
}

#[test]
fn vector_68_cleanup_everything_old_except_excluded() {
    let images = v64();
    let request = |exclude: Vec<String>| CleanupRequest {
        stage: "tested".into(),
        keep: 0,
        age_days: -1,
        hostclass: None,
        productline: None,
        exclude,
        now: 2_000_000_000,
    };
    let deleted = |v: Vec<Verdict>| -> Vec<String> { v.into_iter().filter(|v| v.delete).map(|v| v.image.id).collect() };
    assert_eq!(deleted(cleanup(&images, &request(vec![]), &InUse::default())), ["bar2", "bar1", "foo4"]);
    let kept = cleanup(&images, &request(vec!["bar2".into()]), &InUse::default());
    assert_eq!(deleted(kept.clone()), ["bar1", "foo4"]);
    assert_eq!(kept.iter().find(|v| v.image.id == "bar2").unwrap().reason, "excluded (--exclude-amis)");
}

#[test]
fn vector_71_keep_and_age_and_what_is_in_use() {
    let now = 2_000_000_000;
    let mut images: Vec<Image> =
        [20, 15, 10, 1].iter().map(|d| image(&format!("d{d}"), &days_ago(now, *d), &[("stage", "tested")])).collect();
    images.push(image("d30", &days_ago(now, 30), &[("stage", "tested")]));
    images.push(image("d40", &days_ago(now, 40), &[("stage", "tested")]));
    images.push(image("d50", &days_ago(now, 50), &[("stage", "tested")]));
    images.push(image("d60", &days_ago(now, 60), &[("stage", "untested")]));
    let request = CleanupRequest {
        stage: "tested".into(),
        keep: 3,
        age_days: 14,
        hostclass: None,
        productline: None,
        exclude: vec![],
        now,
    };
    let in_use = InUse {
        instances: BTreeMap::from([("d30".to_string(), vec!["i-1".to_string()])]),
        templates: BTreeMap::from([("d40".to_string(), vec!["lt-1 v2".to_string()])]),
        pipelines: BTreeMap::from([("d50".to_string(), vec!["pipelines/ci.csv:3".to_string()])]),
    };
    let verdicts = cleanup(&images, &request, &in_use);
    let table: Vec<(String, bool, String)> =
        verdicts.iter().map(|v| (v.image.id.clone(), v.delete, v.reason.clone())).collect();
    assert_eq!(
        table,
        [
            ("d1".into(), false, "among the newest 3 of h".into()),
            ("d10".into(), false, "among the newest 3 of h".into()),
            ("d15".into(), false, "among the newest 3 of h".into()),
            ("d20".into(), true, "older than 14 days and not among the newest 3".into()),
            ("d30".into(), false, "used by instance i-1".into()),
            ("d40".into(), false, "used by launch template lt-1 v2".into()),
            ("d50".into(), false, "pinned in pipelines/ci.csv:3".into()),
        ]
    );
}
