//! Benchmark of `sila-aws spinup` for a 20-hostclass pipeline in 3 sequences (smoke tests off), 5 of
//! them behind load balancers (with their DNS names), in
//! effective round trips (`sila_testkit::bench`): the same spinup at 0 ms and at 50 ms added per
//! AWS call, `(t50 − t0) / 50 ms`, against the dependency minimum of the work. A figure, not a test:
//!
//!     cargo bench -p sila-aws --bench spinup --profile dev
//!
//! The minimum: the reads (the environment, images, groups, templates) in two round trips, then per
//! sequence the launch template versions and then the groups (their policies and scheduled actions
//! beside the next sequence's templates), and the last sequence's policies: 2 + 2 × 3 + 1 = 9.
//! Load balancers add none: their reads go beside the others (the zone's records after the zone
//! listing, inside the two read round trips), their target groups and the load balancer beside a
//! sequence's templates, the group after its target groups, listeners and DNS names beside the
//! group. Target: ≤ 1.15 × the minimum.

use sila_testkit::bench::round_trips;
use sila_testkit::fixtures::{environment, image};
use sila_testkit::{session, Outcome, Session};
use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_sila-aws");
const HOSTCLASSES: usize = 20;
const SEQUENCES: u64 = 3;
const MINIMUM: f64 = (2 + 2 * SEQUENCES + 1) as f64;
const TARGET: f64 = 1.15;
/// The hostclasses behind a load balancer: spread over the three sequences.
const BALANCED: [usize; 5] = [0, 5, 9, 14, 19];

fn config(dir: &Path) {
    std::fs::write(
        dir.join("aws.ini"),
        format!(
            "[disco_aws]\ndefault_environment=bench\nproject_name=acme\ndefault_meta_network=intranet\n\
             default_domain_name=bench.example.com\ndefault_ssh_key_name=None\n\n[mhc03]\nmeta_network=dmz\n\
             [mhc07]\nmeta_network=dmz\n{}",
            BALANCED.iter().map(|i| format!("[mhc{i:02}]\nelb=yes\nelb_health_check_url=/up\n")).collect::<String>()
        ),
    )
    .unwrap();
    std::fs::write(dir.join("vpc.ini"), "[envtype:sandbox]\nami_stage=tested\n").unwrap();
    let mut csv = String::from("sequence,hostclass,min_size,desired_size,max_size,instance_type,smoke_test\n");
    for i in 0..HOSTCLASSES {
        let sequence = 1 + (i as u64 * SEQUENCES) / HOSTCLASSES as u64;
        // Every fourth hostclass scales on a schedule (two scheduled actions).
        let desired = if i % 4 == 0 { "2@0 8 * * 1-5:1@0 20 * * *" } else { "1" };
        csv.push_str(&format!("{sequence},mhc{i:02},1,{desired},2,t3.micro,no\n"));
    }
    std::fs::write(dir.join("pipeline.csv"), csv).unwrap();
}

fn spinup(s: &Session, dir: &Path) -> Duration {
    let csv = dir.join("pipeline.csv");
    let started = Instant::now();
    let out = Outcome::of(
        s.command(BIN).arg("--config-dir").arg(dir).args(["spinup", "--no-smoke-test", "--pipeline"]).arg(&csv),
    );
    let wall = started.elapsed();
    assert_eq!(out.code, Some(0), "{out:?}");
    wall
}

fn spindown(s: &Session, dir: &Path) {
    let csv = dir.join("pipeline.csv");
    let out = Outcome::of(s.command(BIN).arg("--config-dir").arg(dir).args(["spindown", "--pipeline"]).arg(&csv));
    assert_eq!(out.code, Some(0), "{out:?}");
}

fn main() {
    let s = session();
    let ec2 = s.ec2();
    let mut subnets = Vec::new();
    for (i, meta) in ["intranet", "dmz"].iter().enumerate() {
        for (j, zone) in ["us-west-2a", "us-west-2b", "us-west-2c"].iter().enumerate() {
            subnets.push((*meta, format!("10.90.{}.0/24", i * 10 + j), *zone));
        }
    }
    let subnets: Vec<(&str, &str, &str)> = subnets.iter().map(|(m, c, z)| (*m, c.as_str(), *z)).collect();
    environment(&ec2, "bench", "sandbox", "10.90.0.0/16", &subnets);
    for i in 0..HOSTCLASSES {
        image(&ec2, &format!("mhc{i:02} 0000000100"), &[("stage", "tested")]);
    }
    sila_testkit::block_on(s.route53().create_hosted_zone().name("bench.example.com").caller_reference("bench").send())
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    config(dir.path());
    // The emulator's first Auto Scaling calls build its backend; keep that out of the figures.
    spinup(&s, dir.path());
    spindown(&s, dir.path());

    let trips = round_trips(&s, |_| {
        let wall = spinup(&s, dir.path());
        spindown(&s, dir.path());
        wall
    });
    s.forget_requests();
    spinup(&s, dir.path());
    let requests = s.requests();
    let started = Instant::now();
    spinup(&s, dir.path());
    let rerun = started.elapsed();
    let rerun_calls = s.requests().log.len() - requests.log.len();
    spindown(&s, dir.path());

    let mut by_action: BTreeMap<&str, usize> = BTreeMap::new();
    for r in &requests.log {
        *by_action.entry(r.action.as_str()).or_default() += 1;
    }
    let elb_calls = requests
        .log
        .iter()
        .filter(|r| ["elasticloadbalancing", "route53", "acm"].contains(&r.service.as_str()))
        .count();
    println!(
        "sila-aws spinup: {HOSTCLASSES} hostclasses in {SEQUENCES} sequences, {} behind load balancers, smoke tests off",
        BALANCED.len()
    );
    println!(
        "  load balancer calls {elb_calls} = {:.1} per load-balanced hostclass (reads, target group, load balancer, attributes, listener, DNS names)",
        elb_calls as f64 / BALANCED.len() as f64
    );
    println!(
        "  API calls (create) {} = {:.1} per hostclass; re-run {rerun_calls} ({:.0} ms, reads only: nothing to change)",
        requests.log.len(),
        requests.log.len() as f64 / HOSTCLASSES as f64,
        rerun.as_secs_f64() * 1000.0
    );
    for (action, n) in &by_action {
        println!("    {n:>4}  {action}");
    }
    println!("  {}", trips.report("spinup", MINIMUM, TARGET));
}
