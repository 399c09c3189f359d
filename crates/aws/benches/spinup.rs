//! Benchmark of `sila-aws spinup` for a 20-hostclass pipeline in 3 sequences (smoke tests off)
//! under 50 ms of injected latency per AWS call, against the critical-path bound: the round trips
//! that must follow one another × 50 ms. A figure, not a test:
//!
//!     cargo bench -p sila-aws --bench spinup --profile dev
//!
//! The bound: the environment's VPC, then its subnets and groups, with the plan's reads (images,
//! snapshots, groups, templates, schedules, addresses) beside them: 2 levels; then per sequence a
//! launch template version, the group, and its policies and scheduled actions side by side: 3
//! levels. 2 + 3 × 3 = 11 round trips.

use aws_sdk_ec2::types::{ResourceType, Tag, TagSpecification};
use sila_testkit::{block_on, session, FaultRule, Outcome, Session};
use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_sila-aws");
const HOSTCLASSES: usize = 20;
const SEQUENCES: u64 = 3;
const LATENCY_MS: u64 = 50;
const LEVELS: u64 = 2 + 3 * SEQUENCES;

fn spec(kind: ResourceType, tags: &[(&str, &str)]) -> TagSpecification {
    let tags = tags.iter().map(|(k, v)| Tag::builder().key(*k).value(*v).build()).collect();
    TagSpecification::builder().resource_type(kind).set_tags(Some(tags)).build()
}

/// Environment `bench` as sila-vpc tags it: intranet and dmz in three zones, with their groups.
fn environment(ec2: &aws_sdk_ec2::Client) {
    let vpc = block_on(
        ec2.create_vpc()
            .cidr_block("10.90.0.0/16")
            .tag_specifications(spec(ResourceType::Vpc, &[("Name", "bench"), ("type", "sandbox")]))
            .send(),
    )
    .unwrap();
    let vpc = vpc.vpc().unwrap().vpc_id().unwrap().to_string();
    for (i, meta) in ["intranet", "dmz"].iter().enumerate() {
        for (j, zone) in ["us-west-2a", "us-west-2b", "us-west-2c"].iter().enumerate() {
            block_on(
                ec2.create_subnet()
                    .vpc_id(&vpc)
                    .cidr_block(format!("10.90.{}.0/24", i * 10 + j))
                    .availability_zone(*zone)
                    .tag_specifications(spec(ResourceType::Subnet, &[("meta_network", meta)]))
                    .send(),
            )
            .unwrap();
        }
        block_on(
            ec2.create_security_group()
                .vpc_id(&vpc)
                .group_name(format!("bench_{meta}"))
                .description(*meta)
                .tag_specifications(spec(ResourceType::SecurityGroup, &[("meta_network", meta)]))
                .send(),
        )
        .unwrap();
    }
}

fn images(ec2: &aws_sdk_ec2::Client) {
    let run = block_on(ec2.run_instances().image_id("ami-0000000000000de12").min_count(1).max_count(1).send()).unwrap();
    let instance = run.instances()[0].instance_id().unwrap().to_string();
    for i in 0..HOSTCLASSES {
        block_on(
            ec2.create_image()
                .instance_id(&instance)
                .name(format!("mhc{i:02} 0000000100"))
                .tag_specifications(spec(ResourceType::Image, &[("stage", "tested")]))
                .send(),
        )
        .unwrap();
    }
    block_on(ec2.terminate_instances().instance_ids(&instance).send()).unwrap();
}

fn config(dir: &Path) {
    std::fs::write(
        dir.join("aws.ini"),
        "[disco_aws]\ndefault_environment=bench\nproject_name=acme\ndefault_meta_network=intranet\n\
         default_ssh_key_name=None\n\n[mhc03]\nmeta_network=dmz\n[mhc07]\nmeta_network=dmz\n",
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
    environment(&ec2);
    images(&ec2);
    let dir = tempfile::tempdir().unwrap();
    config(dir.path());
    let bound = Duration::from_millis(LEVELS * LATENCY_MS);
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;

    // Without injected latency: the emulator's own work and process start-up.
    spinup(&s, dir.path());
    spindown(&s, dir.path());
    let baseline = spinup(&s, dir.path());
    spindown(&s, dir.path());

    s.set_faults(0, &[FaultRule::latency(LATENCY_MS)]);
    s.forget_requests();
    let create = spinup(&s, dir.path());
    let requests = s.requests();
    let update = spinup(&s, dir.path());
    let update_calls = s.requests().log.len() - requests.log.len();
    s.set_faults(0, &[]);

    let mut by_action: BTreeMap<&str, usize> = BTreeMap::new();
    for r in &requests.log {
        *by_action.entry(r.action.as_str()).or_default() += 1;
    }
    println!("sila-aws spinup: {HOSTCLASSES} hostclasses in {SEQUENCES} sequences, smoke tests off, {LATENCY_MS} ms per call");
    println!(
        "  API calls (create) {} = {:.1} per hostclass; re-run {update_calls}",
        requests.log.len(),
        requests.log.len() as f64 / HOSTCLASSES as f64
    );
    for (action, n) in &by_action {
        println!("    {n:>4}  {action}");
    }
    println!("  critical-path bound {LEVELS} round trips = {:.0} ms", ms(bound));
    println!("  create wall {:.0} ms = {:.2} × the bound", ms(create), create.as_secs_f64() / bound.as_secs_f64());
    println!("  re-run wall {:.0} ms ({update_calls} calls, reads only: nothing to change)", ms(update));
    println!(
        "  same create with no injected latency {:.0} ms (emulator work, process start); the latency's share {:.0} ms = {:.2} × the bound",
        ms(baseline),
        ms(create.saturating_sub(baseline)),
        create.saturating_sub(baseline).as_secs_f64() / bound.as_secs_f64()
    );
}
