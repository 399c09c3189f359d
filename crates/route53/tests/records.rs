//! `sila-route53` against the emulator: zones and records listed, a record created, changed and
//! deleted plan first, re-runs that send nothing, bad input refused before any change, and a
//! change retried while Route 53 says an earlier one is not complete. Every outcome is checked with
//! an independent Route 53 client.

use aws_sdk_route53::types::{HostedZoneConfig, Vpc, VpcRegion};
use sila_testkit::{block_on, session, FaultRule, Outcome, Session};

const BIN: &str = env!("CARGO_BIN_EXE_sila-route53");

fn r53(s: &Session, args: &[&str]) -> Outcome {
    Outcome::of(s.command(BIN).args(args))
}

/// A public zone `name`; its id.
fn zone(s: &Session, name: &str) -> String {
    let out = block_on(s.route53().create_hosted_zone().name(name).caller_reference(name).send()).unwrap();
    out.hosted_zone().unwrap().id().trim_start_matches("/hostedzone/").to_string()
}

/// A private zone `name` in a new VPC; its id.
fn private_zone(s: &Session, name: &str) -> String {
    let vpc = block_on(s.ec2().create_vpc().cidr_block("10.50.0.0/16").send()).unwrap();
    let vpc = vpc.vpc().unwrap().vpc_id().unwrap().to_string();
    let out = block_on(
        s.route53()
            .create_hosted_zone()
            .name(name)
            .caller_reference(format!("{name}-private"))
            .hosted_zone_config(HostedZoneConfig::builder().private_zone(true).build())
            .vpc(Vpc::builder().vpc_id(vpc).vpc_region(VpcRegion::UsWest2).build())
            .send(),
    )
    .unwrap();
    out.hosted_zone().unwrap().id().trim_start_matches("/hostedzone/").to_string()
}

/// `(type, ttl, sorted values)` of the record `name` in zone `id`, read independently.
fn record(s: &Session, id: &str, name: &str, kind: &str) -> Option<(i64, Vec<String>)> {
    let out = block_on(s.route53().list_resource_record_sets().hosted_zone_id(id).send()).unwrap();
    out.resource_record_sets().iter().find(|r| r.name() == name && r.r#type().as_str() == kind).map(|r| {
        let mut values: Vec<String> = r.resource_records().iter().map(|v| v.value().to_string()).collect();
        values.sort();
        (r.ttl().unwrap_or_default(), values)
    })
}

fn mutating(s: &Session) -> usize {
    s.requests().mutating().len()
}

#[test]
fn a_record_is_created_changed_and_deleted_plan_first_and_reruns_send_nothing() {
    let s = session();
    let id = zone(&s, "example.com");

    // Dry run: the plan, no change.
    let out = r53(
        &s,
        &[
            "create-record",
            "--zone",
            "example.com",
            "--name",
            "www.example.com",
            "--type",
            "A",
            "--value",
            "10.0.0.1",
            "--dry-run",
        ],
    );
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert!(out.stdout.contains("+ in zone example.com.: create A www.example.com. 60 10.0.0.1"), "{}", out.stdout);
    assert_eq!(record(&s, &id, "www.example.com.", "A"), None);

    // Created, with the zone named with its trailing dot this time; in one change batch.
    s.forget_requests();
    let out = r53(
        &s,
        &[
            "create-record",
            "--zone",
            "example.com.",
            "--name",
            "www.example.com",
            "--type",
            "A",
            "--value",
            "10.0.0.1",
            "--value",
            "10.0.0.2",
        ],
    );
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert!(out.stdout.contains("changed: in sync"), "{}", out.stdout);
    assert_eq!(mutating(&s), 1, "one change batch");
    assert_eq!(record(&s, &id, "www.example.com.", "A"), Some((60, vec!["10.0.0.1".into(), "10.0.0.2".into()])));

    // The same again (values in another order): nothing to change, nothing sent.
    s.forget_requests();
    let out = r53(
        &s,
        &[
            "create-record",
            "--zone",
            &id,
            "--name",
            "WWW.example.com.",
            "--type",
            "A",
            "--value",
            "10.0.0.2",
            "--value",
            "10.0.0.1",
        ],
    );
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert_eq!(out.stdout.trim(), "nothing to change");
    assert_eq!(mutating(&s), 0);

    // Another answer: the plan says what it replaces; JSON for a job.
    let out = r53(
        &s,
        &[
            "create-record",
            "--zone",
            "example.com",
            "--name",
            "www.example.com",
            "--type",
            "A",
            "--value",
            "10.0.0.3",
            "--ttl",
            "300",
            "--output",
            "json",
        ],
    );
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let json: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(json["applied"], true);
    assert_eq!(json["changes"][0]["changes"][0]["action"], "UPSERT");
    assert_eq!(json["changes"][0]["changes"][0]["replaces"]["ttl"], 60);
    assert_eq!(record(&s, &id, "www.example.com.", "A"), Some((300, vec!["10.0.0.3".into()])));

    // Listed, alone or among every zone's records.
    let out = r53(&s, &["list-records", "--zone", "example.com"]);
    assert!(
        out.stdout
            .lines()
            .any(|l| l.contains("A") && l.contains("www.example.com.") && l.contains("300") && l.contains("10.0.0.3")),
        "{}",
        out.stdout
    );
    let out = r53(&s, &["list-zones", "--output", "json"]);
    let zones: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(zones[0]["name"], "example.com.");
    assert_eq!(zones[0]["id"], id.as_str());

    // Deleted exactly as it is; deleting again is nothing to do.
    let out =
        r53(&s, &["delete-record", "--zone", "example.com", "--name", "www.example.com", "--type", "A", "--dry-run"]);
    assert!(out.stdout.contains("! in zone example.com.: delete A www.example.com. (300 10.0.0.3)"), "{}", out.stdout);
    assert!(record(&s, &id, "www.example.com.", "A").is_some());
    let out = r53(&s, &["delete-record", "--zone", "example.com", "--name", "www.example.com", "--type", "A"]);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert_eq!(record(&s, &id, "www.example.com.", "A"), None);
    s.forget_requests();
    let out = r53(&s, &["delete-record", "--zone", "example.com", "--name", "www.example.com", "--type", "A"]);
    assert_eq!((out.code, out.stdout.trim()), (Some(0), "nothing to change"));
    assert_eq!(mutating(&s), 0);
}

#[test]
fn bad_input_is_one_line_exit_2_and_changes_nothing() {
    let s = session();
    let id = zone(&s, "example.com");
    zone(&s, "example.org");
    private_zone(&s, "example.org");
    s.forget_requests();
    let cases: [(&[&str], &str); 6] = [
        (
            &["--zone", "example.net", "--name", "a.example.net", "--type", "A", "--value", "10.0.0.1"],
            "--zone: no hosted zone example.net",
        ),
        (
            &["--zone", "example.com", "--name", "a.example.org", "--type", "A", "--value", "10.0.0.1"],
            "--name: a.example.org is not in zone example.com.",
        ),
        (
            &["--zone", "example.com", "--name", "a.example.com", "--type", "A", "--value", "10.0.0.256"],
            "is not an IPv4 address",
        ),
        (
            &[
                "--zone",
                "example.com",
                "--name",
                "a.example.com",
                "--type",
                "CNAME",
                "--value",
                "b.example.com",
                "--value",
                "c.example.com",
            ],
            "exactly one value",
        ),
        (
            &["--zone", "example.org", "--name", "a.example.org", "--type", "A", "--value", "10.0.0.1"],
            "2 zones are named example.org",
        ),
        (&["--zone", "example.com", "--name", "a.example.com", "--type", "SOA", "--value", "x"], "invalid value 'SOA'"),
    ];
    for (args, says) in cases {
        let mut all = vec!["create-record"];
        all.extend_from_slice(args);
        let out = r53(&s, &all);
        assert_eq!(out.code, Some(2), "{args:?}: {}", out.stderr);
        assert!(out.stderr.contains(says), "{args:?}: {}", out.stderr);
        assert!(out.stdout.is_empty(), "{args:?}: {}", out.stdout);
    }
    assert_eq!(mutating(&s), 0, "no bad input sends a change");
    assert_eq!(record(&s, &id, "a.example.com.", "A"), None);
}

#[test]
fn a_change_refused_while_an_earlier_one_completes_is_retried() {
    let s = session();
    let id = zone(&s, "example.com");
    s.set_faults(7, &[FaultRule::error("POST /2013-04-01/hostedzone/*/rrset*", "PriorRequestNotComplete", 400, 2)]);
    let out = r53(
        &s,
        &[
            "create-record",
            "--zone",
            "example.com",
            "--name",
            "api.example.com",
            "--type",
            "CNAME",
            "--value",
            "lb.example.com",
        ],
    );
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let faults = s.requests().log.iter().filter(|r| r.fault.as_deref() == Some("PriorRequestNotComplete")).count();
    assert_eq!(faults, 2, "both refusals were seen and retried");
    assert_eq!(record(&s, &id, "api.example.com.", "CNAME"), Some((60, vec!["lb.example.com".into()])));
}
