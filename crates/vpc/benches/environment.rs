//! Benchmark of `sila-vpc create` in effective round trips (`sila_testkit::bench`): the same
//! create at 0 ms and at 50 ms added per AWS call, `(t50 − t0) / 50 ms`, against the dependency
//! minimum of the work. A figure, not a test:
//!
//!     cargo bench -p sila-vpc --bench environment --profile dev
//!
//! 1. A prodlike environment with NAT gateways (3 zones, 4 metanetworks, a NAT gateway per zone,
//!    no peering). Its minimum is 6 round trips: the reads; the VPC, internet gateway, DHCP options
//!    and NAT addresses; subnets, route tables, groups and attachments; associations, rules, NAT
//!    gateways, gateway routes and the S3 endpoint; the NAT gateways available; the NAT routes.
//!    Target: ≤ 1.15 × the minimum.
//! 2. The repo's sample sandbox (the same, plus a floating interface and a peering with the bakery
//!    environment): API calls by action, describes without a filter, and its effective round trips.

use sila_testkit::bench::round_trips;
use sila_testkit::{project_root, session, Outcome, Session};
use std::path::Path;
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_sila-vpc");
/// The dependency minimum of a prodlike create (see above), and the target ratio.
const PRODLIKE_MINIMUM: f64 = 6.0;
const TARGET: f64 = 1.15;

const PRODLIKE: &str = "[envtype:prodlike]\n\
vpc_cidr=10.50.0.0/16\nintranet_cidr=10.50.0.0/20\ntunnel_cidr=10.50.16.0/20\n\
dmz_cidr=10.50.32.0/20\nmaintenance_cidr=10.50.48.0/20\naz_count=3\n\
intranet_sg_rules=tcp all 0:65535, udp intranet 0:65535\ntunnel_sg_rules=tcp all 80 443, udp all 123\n\
dmz_sg_rules=tcp maintenance 22\nmaintenance_sg_rules=tcp maintenance 22, tcp 203.0.113.0/24 22\n\
customer_ports=80 443\ncustomer_cidr=0.0.0.0/0\n\
tunnel_igw_routes=0.0.0.0/0\ndmz_igw_routes=0.0.0.0/0\nmaintenance_igw_routes=0.0.0.0/0\n\
tunnel_nat_gateways=auto\nnat_gateway_routes=intranet/tunnel\n\
internal_dns=AmazonProvidedDNS\nexternal_dns=AmazonProvidedDNS\ndomain_name=prodlike.internal\n";

fn create(s: &Session, config: &Path, name: &str, vpc_type: &str) -> (Duration, String) {
    let started = Instant::now();
    let out = Outcome::of(
        s.command(BIN)
            .arg("--config-dir")
            .arg(config)
            .args(["create", "--name", name, "--type", vpc_type, "--output", "json"]),
    );
    let wall = started.elapsed();
    assert_eq!(out.code, Some(0), "{out:?}");
    (wall, out.stdout)
}

fn main() {
    let s = session();
    // The emulator's first EC2 call builds its backend (~1.5 s); keep that out of the figures.
    Outcome::of(s.command(BIN).arg("list"));

    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("vpc.ini"), PRODLIKE).expect("vpc.ini");
    let prodlike = round_trips(&s, |n| create(&s, dir.path(), &format!("prod{n}"), "prodlike").0);
    s.forget_requests();
    let (_, stdout) = create(&s, dir.path(), "counted", "prodlike");
    let report: serde_json::Value = serde_json::from_str(&stdout).expect("JSON report");
    let steps = report["plan"]["steps"].as_array().map_or(0, Vec::len);
    println!("sila-vpc create, prodlike: 3 zones, 4 metanetworks, 3 NAT gateways, no peering");
    println!("  steps {steps}; API calls {}", s.requests().log.len());
    println!("  {}", prodlike.report("create", PRODLIKE_MINIMUM, TARGET));

    // The sample sandbox, peered with the bakery environment (whose creation is not measured).
    let config = project_root();
    create(&s, &config, "bakery", "bakery");
    let sandbox = round_trips(&s, |n| create(&s, &config, &format!("sandbox{n}"), "sandbox").0);
    s.forget_requests();
    let (_, stdout) = create(&s, &config, "bench", "sandbox");
    let requests = s.requests();
    let report: serde_json::Value = serde_json::from_str(&stdout).expect("JSON report");
    let peered = report["peerings"]["created"].as_array().is_some_and(|c| !c.is_empty());
    println!("sila-vpc create, sample sandbox: 3 zones, 4 metanetworks, 3 NAT gateways, peered: {peered}");
    println!("  API calls {}", requests.log.len());
    for (action, n) in &requests.counts {
        println!("    {n:>4}  {action}");
    }
    let unfiltered: Vec<_> = requests
        .log
        .iter()
        .filter(|r| r.action.starts_with("Describe"))
        .filter(|r| !r.params.iter().any(|p| p.starts_with("Filter") || p.ends_with("Id.1")))
        .collect();
    println!("  describes without a filter or id: {}", unfiltered.len());
    for r in &unfiltered {
        println!("    {} {:?}", r.action, r.params);
    }
    println!(
        "  {:.2} effective round trips (t0 {:.0} ms, t{} {:.0} ms)",
        sandbox.effective(),
        sandbox.at_zero.as_secs_f64() * 1000.0,
        sandbox.latency_ms,
        sandbox.at_latency.as_secs_f64() * 1000.0
    );

    s.forget_requests();
    let started = Instant::now();
    let out = Outcome::of(s.command(BIN).args(["destroy", "--name", "bench", "--yes"]));
    let wall = started.elapsed();
    assert_eq!(out.code, Some(0), "{out:?}");
    println!("sila-vpc destroy: API calls {}, wall {:.0} ms", s.requests().log.len(), wall.as_secs_f64() * 1000.0);
}
