//! `sila-vpc list` against the local emulator: the whole chain (binary → sila-cli → sila-cloud →
//! AWS API), checked against VPCs the test creates itself through an independent SDK client.

use aws_sdk_ec2::types::{ResourceType, Tag, TagSpecification};
use sila_testkit::{block_on, session, FaultRule, Outcome, Session};

const BIN: &str = env!("CARGO_BIN_EXE_sila-vpc");

fn create_vpc(s: &Session, cidr: &str, tags: &[(&str, &str)]) -> String {
    let mut spec = TagSpecification::builder().resource_type(ResourceType::Vpc);
    for (k, v) in tags {
        spec = spec.tags(Tag::builder().key(*k).value(*v).build());
    }
    let out =
        block_on(s.ec2().create_vpc().cidr_block(cidr).tag_specifications(spec.build()).send()).expect("create vpc");
    out.vpc().and_then(|v| v.vpc_id()).expect("vpc id").to_string()
}

#[test]
fn list_shows_the_vpcs_of_the_region_with_name_and_type() {
    let s = session();
    let ci = create_vpc(&s, "10.101.0.0/16", &[("Name", "ci"), ("type", "ci")]);
    let sandbox = create_vpc(&s, "10.102.0.0/16", &[("Name", "mysandbox"), ("type", "sandbox")]);
    s.forget_requests();

    let out = Outcome::of(s.command(BIN).arg("list"));
    assert_eq!(out.code, Some(0), "{out:?}");
    let header = out.stdout.lines().next().expect("header");
    assert!(header.starts_with("VPC ID") && header.contains("NAME") && header.contains("TYPE"), "{header}");
    let ci_line = out.stdout.lines().find(|l| l.starts_with(&ci)).expect("ci listed");
    assert!(
        ci_line.contains(" ci ") && ci_line.contains("10.101.0.0/16") && ci_line.contains("available"),
        "{ci_line}"
    );
    assert!(out.stdout.lines().any(|l| l.starts_with(&sandbox) && l.contains("mysandbox") && l.contains("sandbox")));

    // Only reads: a listing never changes anything.
    let requests = s.requests();
    assert!(requests.count("DescribeVpcs") >= 1);
    assert!(requests.mutating().is_empty(), "{:?}", requests.log);
}

#[test]
fn list_by_type_and_as_json() {
    let s = session();
    create_vpc(&s, "10.101.0.0/16", &[("Name", "ci"), ("type", "ci")]);
    let sandbox = create_vpc(&s, "10.102.0.0/16", &[("Name", "mysandbox"), ("type", "sandbox")]);

    let out = Outcome::of(s.command(BIN).args(["list", "--type", "sandbox", "--output", "json"]));
    assert_eq!(out.code, Some(0), "{out:?}");
    let json: serde_json::Value = serde_json::from_str(&out.stdout).expect("JSON on stdout");
    let list = json.as_array().expect("a list");
    assert_eq!(list.len(), 1, "{json}");
    assert_eq!(list[0]["vpc_id"], sandbox.as_str());
    assert_eq!(list[0]["name"], "mysandbox");
    assert_eq!(list[0]["vpc_type"], "sandbox");
    assert_eq!(list[0]["cidr"], "10.102.0.0/16");
    // The type filter went to AWS as a filter, not applied after fetching everything.
    let describe = s.requests().log.into_iter().find(|r| r.action == "DescribeVpcs").expect("DescribeVpcs sent");
    assert!(describe.params.iter().any(|p| p.starts_with("Filter.")), "{describe:?}");
}

#[test]
fn throttling_is_retried_with_backoff() {
    let s = session();
    let id = create_vpc(&s, "10.101.0.0/16", &[("Name", "ci"), ("type", "ci")]);
    s.set_faults(1, &[FaultRule::throttle("DescribeVpcs", 2)]);

    let out = Outcome::of(s.command(BIN).arg("list"));
    assert_eq!(out.code, Some(0), "{out:?}");
    assert!(out.stdout.contains(&id));
    let calls: Vec<_> = s.requests().log.into_iter().filter(|r| r.action == "DescribeVpcs").collect();
    assert_eq!(calls.len(), 3, "two throttled attempts, then success: {calls:?}");
    assert_eq!(calls.iter().filter(|c| c.fault.as_deref() == Some("RequestLimitExceeded")).count(), 2);
}

#[test]
fn throttling_past_the_retry_budget_is_a_clear_failure() {
    let s = session();
    s.set_faults(1, &[FaultRule::throttle("DescribeVpcs", 10)]);

    let out = Outcome::of(s.command(BIN).args(["list", "--max-attempts", "2"]));
    assert_eq!(out.code, Some(1), "{out:?}");
    assert_eq!(s.requests().count("DescribeVpcs"), 2);
    let line = out.stderr.lines().find(|l| l.contains("error:")).expect("an error line");
    assert!(line.contains("DescribeVpcs failed: RequestLimitExceeded"), "{line}");
    assert!(out.stdout.is_empty());
}

#[test]
fn an_unreachable_endpoint_is_one_clear_line() {
    let s = session();
    // A loopback port nobody listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let out = Outcome::of(s.command(BIN).args([
        "list",
        "--max-attempts",
        "1",
        "--endpoint-url",
        &format!("http://127.0.0.1:{port}"),
    ]));
    assert_eq!(out.code, Some(1), "{out:?}");
    assert!(out.stderr.contains("could not reach the AWS endpoint"), "{}", out.stderr);
}

#[test]
fn an_unreachable_endpoint_is_one_line_soon_with_the_default_retries() {
    sila_testkit::assert_unreachable_endpoint_is_one_line(std::path::Path::new(BIN), &["list"]);
    sila_testkit::assert_unreachable_endpoint_is_one_line(std::path::Path::new(BIN), &["show", "--name", "ci"]);
}

#[test]
fn no_region_is_refused_before_any_call() {
    let s = session();
    let out = Outcome::of(s.command(BIN).arg("list").env_remove("AWS_REGION"));
    assert_eq!(out.code, Some(1), "{out:?}");
    assert!(out.stderr.contains("no AWS region"), "{}", out.stderr);
    assert_eq!(s.requests().log.len(), 0);
}

#[test]
fn usage_errors_exit_2() {
    let s = session();
    let out = Outcome::of(s.command(BIN).args(["list", "--no-such-flag"]));
    assert_eq!(out.code, Some(2), "{out:?}");
    let out = Outcome::of(s.command(BIN).args(["list", "--output", "yaml"]));
    assert_eq!(out.code, Some(2), "{out:?}");
    sila_testkit::assert_cli_contract(std::path::Path::new(BIN));
}

#[test]
fn server_errors_are_retried_as_transient() {
    let s = session();
    let id = create_vpc(&s, "10.101.0.0/16", &[("Name", "ci"), ("type", "ci")]);
    s.set_faults(
        1,
        &[FaultRule { action: Some("DescribeVpcs".into()), status: Some(503), times: Some(1), ..FaultRule::default() }],
    );
    let out = Outcome::of(s.command(BIN).arg("list"));
    assert_eq!(out.code, Some(0), "{out:?}");
    assert!(out.stdout.contains(&id));
    let calls: Vec<_> = s.requests().log.into_iter().filter(|r| r.action == "DescribeVpcs").collect();
    assert_eq!(calls.len(), 2, "{calls:?}");
    assert_eq!(calls[0].fault.as_deref(), Some("ServiceUnavailable"));
}

#[test]
fn injected_latency_slows_every_call() {
    let s = session();
    s.set_faults(1, &[FaultRule::latency(400)]);
    let started = std::time::Instant::now();
    let out = Outcome::of(s.command(BIN).arg("list"));
    assert_eq!(out.code, Some(0), "{out:?}");
    assert!(started.elapsed() >= std::time::Duration::from_millis(400), "{:?}", started.elapsed());
}

/// Every `--help` page, as it was when the snapshot was taken: flags, defaults and wording change
/// only on purpose (`cargo insta review` shows the difference).
#[test]
fn help_pages_are_unchanged() {
    insta::assert_snapshot!(sila_testkit::help_pages(std::path::Path::new(BIN)));
}
