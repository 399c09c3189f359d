//! Names, zones, values and the record plans.

use super::*;

fn zone(id: &str, name: &str, private: bool) -> Zone {
    Zone { id: id.into(), name: name.into(), private, records: 2 }
}

fn a(name: &str, ttl: i64, values: &[&str]) -> Record {
    Record {
        name: name.into(),
        kind: "A".into(),
        ttl: Some(ttl),
        values: values.iter().map(ToString::to_string).collect(),
        alias: None,
    }
}

#[test]
fn names_are_absolute_and_compared_without_case_or_dot() {
    assert_eq!(absolute("www.example.com"), "www.example.com.");
    assert_eq!(absolute("www.example.com."), "www.example.com.");
    assert_eq!(absolute("\\052.example.com."), "*.example.com.");
    assert!(same_name("WWW.Example.com", "www.example.com."));
    assert!(!same_name("www.example.com", "www.example.org"));
}

#[test]
fn a_zone_is_found_by_name_with_or_without_its_dot_or_by_id() {
    let zones =
        [zone("Z1", "example.com.", false), zone("Z2", "example.org.", false), zone("Z3", "example.org.", true)];
    assert_eq!(find_zone(&zones, "example.com").unwrap().id, "Z1");
    assert_eq!(find_zone(&zones, "example.com.").unwrap().id, "Z1");
    assert_eq!(find_zone(&zones, "/hostedzone/Z3").unwrap().id, "Z3");
    let twice = find_zone(&zones, "example.org").unwrap_err();
    assert!(twice.contains("Z2 (public)") && twice.contains("Z3 (private)"), "{twice}");
    assert!(find_zone(&zones, "example.net").unwrap_err().starts_with("no hosted zone example.net"));
}

#[test]
fn a_record_name_must_be_in_its_zone() {
    let z = zone("Z1", "example.com.", false);
    assert_eq!(name_in_zone("www.example.com", &z).unwrap(), "www.example.com.");
    assert_eq!(name_in_zone("example.com", &z).unwrap(), "example.com.");
    assert_eq!(name_in_zone("*.Example.COM.", &z).unwrap(), "*.Example.COM.");
    assert_eq!(name_in_zone("www.badexample.com", &z).unwrap_err(), "www.badexample.com is not in zone example.com.");
    assert!(name_in_zone(&format!("{}.example.com", "a".repeat(64)), &z).unwrap_err().contains("63 per label"));
}

#[test]
fn values_are_checked_by_type() {
    let v = |s: &[&str]| s.iter().map(ToString::to_string).collect::<Vec<_>>();
    assert!(check_values("A", &v(&["10.0.0.1", "10.0.0.2"])).is_ok());
    assert!(check_values("A", &v(&["10.0.0.300"])).unwrap_err().contains("not an IPv4 address"));
    assert!(check_values("AAAA", &v(&["::1"])).is_ok());
    assert!(check_values("AAAA", &v(&["10.0.0.1"])).is_err());
    assert!(check_values("CNAME", &v(&["a.example.com", "b.example.com"])).unwrap_err().contains("exactly one"));
    assert!(check_values("TXT", &v(&["\"hello world\""])).is_ok());
    assert!(check_values("SOA", &v(&["x"])).unwrap_err().starts_with("unknown record type SOA"));
    assert!(check_values("A", &[]).is_err());
}

#[test]
fn putting_a_record_that_answers_the_same_plans_nothing() {
    let z = zone("Z1", "example.com.", false);
    let existing = [a("www.example.com.", 60, &["10.0.0.2", "10.0.0.1"])];
    assert!(plan_put(&z, &existing, a("WWW.example.com", 60, &["10.0.0.1", "10.0.0.2"])).is_empty());

    let created = plan_put(&z, &[], a("www.example.com.", 60, &["10.0.0.1"]));
    assert_eq!(created.steps.len(), 1);
    assert_eq!(created.steps[0].step.to_string(), "in zone example.com.: create A www.example.com. 60 10.0.0.1");
    assert!(!created.steps[0].destructive);

    let changed = plan_put(&z, &existing, a("www.example.com.", 300, &["10.0.0.1"]));
    let step = &changed.steps[0];
    assert_eq!(step.step.changes[0].replaces.as_ref(), Some(&existing[0]));
    assert_eq!(
        step.step.to_string(),
        "in zone example.com.: change A www.example.com. to 300 10.0.0.1 (was 60 10.0.0.2, 10.0.0.1)"
    );
    assert_eq!(step.reason, "the record exists with another answer");
}

#[test]
fn deleting_takes_the_record_exactly_as_read_and_nothing_when_absent() {
    let z = zone("Z1", "example.com.", false);
    let existing = [a("www.example.com.", 60, &["10.0.0.1"])];
    let plan = plan_delete(&z, &existing, "www.example.com", "A");
    assert_eq!(plan.steps[0].step.changes[0].record, existing[0]);
    assert!(plan.steps[0].destructive);
    assert!(plan_delete(&z, &existing, "www.example.com", "CNAME").is_empty());
    assert!(plan_delete(&z, &existing, "api.example.com", "A").is_empty());
}
