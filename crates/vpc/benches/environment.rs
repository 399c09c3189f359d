//! Benchmark of `sila-vpc create` and `destroy` for the sample sandbox (3 zones, 4 metanetworks,
//! 3 NAT gateways, a floating interface, one peering with the bakery environment) against the local
//! emulator with 50 ms added to every call.
//!
//! Prints the API calls by action, any describe without a filter, the wall time, and the
//! critical-path bound: the round trips that must follow one another × 50 ms. A figure, not a test:
//!
//!     cargo bench -p sila-vpc --bench environment --profile dev

use sila_testkit::{project_root, session, FaultRule, Outcome};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_sila-vpc");
const LATENCY_MS: u64 = 50;
/// Round trips of a new peering after the VPC exists (see `peerings::sync`): the environments; their
/// metanetworks and live peerings at once; create; accept; routes, rules and removals at once.
const PEERING_CHAIN: u64 = 5;

/// Round trips a step costs one after another (see `Clients::run_step`): a NAT gateway looks for an
/// address left by an interrupted run, allocates one, creates the gateway and polls it once.
fn chain(action: &str) -> u64 {
    match action {
        "create_nat_gateway" => 4,
        _ => 1,
    }
}

fn main() {
    let s = session();
    // The emulator's first EC2 call builds its backend (~1.5 s); keep that out of the figures.
    Outcome::of(s.command(BIN).arg("list"));
    let config = project_root().display().to_string();
    // The bakery environment the sample peers every sandbox with (its own creation is not measured).
    let out =
        Outcome::of(s.command(BIN).args(["--config-dir", &config, "create", "--name", "bakery", "--type", "bakery"]));
    assert_eq!(out.code, Some(0), "{out:?}");
    s.forget_requests();
    let create = |name: &str| {
        let started = Instant::now();
        let out = Outcome::of(s.command(BIN).args([
            "--config-dir",
            &config,
            "create",
            "--name",
            name,
            "--type",
            "sandbox",
            "--output",
            "json",
        ]));
        assert_eq!(out.code, Some(0), "{out:?}");
        (started.elapsed(), out.stdout)
    };
    // Without injected latency: what the emulator's own work and process start-up cost.
    let (baseline, _) = create("baseline");
    s.forget_requests();
    s.set_faults(0, &[FaultRule::latency(LATENCY_MS)]);
    let (wall, stdout) = create("bench");
    let report: serde_json::Value = serde_json::from_str(&stdout).expect("JSON report");
    let requests = s.requests();

    // The critical path: one round trip for the reads (all concurrent), then per level the longest
    // chain of any of its steps.
    let steps = report["plan"]["steps"].as_array().expect("steps");
    let depth = steps.iter().filter_map(|s| s["level"].as_u64()).max().map_or(0, |d| d + 1);
    let mut path = 1;
    for level in 0..depth {
        path += steps
            .iter()
            .filter(|s| s["level"].as_u64() == Some(level))
            .map(|s| chain(s["action"].as_str().unwrap_or_default()))
            .max()
            .unwrap_or(0);
    }
    // The peering, once the VPC exists: environments; their metanetworks and live peerings at once;
    // create; accept; the routes of both sides at once.
    let peered = report["peerings"]["created"].as_array().is_some_and(|c| !c.is_empty());
    if peered {
        // Before planning, the rules the peering gives: the environments, then the peer's metanetworks.
        path += 2 + PEERING_CHAIN;
    }
    let bound = Duration::from_millis(path * LATENCY_MS);

    println!(
        "sila-vpc create, sample sandbox: 3 zones, 4 metanetworks, 3 NAT gateways, peered: {peered} ({LATENCY_MS} ms per call)"
    );
    println!("  steps {} in {depth} levels; API calls {}", steps.len(), requests.log.len());
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
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "  wall {:.0} ms; critical path {path} round trips × {LATENCY_MS} ms = {:.0} ms; ratio {:.2}",
        ms(wall),
        ms(bound),
        wall.as_secs_f64() / bound.as_secs_f64()
    );
    println!(
        "  same create with no injected latency {:.0} ms (emulator work, process start); the latency's share {:.0} ms = {:.2} × the bound",
        ms(baseline),
        ms(wall.saturating_sub(baseline)),
        wall.saturating_sub(baseline).as_secs_f64() / bound.as_secs_f64()
    );

    s.forget_requests();
    let started = Instant::now();
    let out = Outcome::of(s.command(BIN).args(["destroy", "--name", "bench", "--yes"]));
    let wall = started.elapsed();
    assert_eq!(out.code, Some(0), "{out:?}");
    println!("sila-vpc destroy: API calls {}, wall {:.0} ms", s.requests().log.len(), wall.as_secs_f64() * 1000.0);
}
