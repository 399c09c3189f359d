//! Benchmark of `sila-aws listhosts` for an environment of 500 instances against the local emulator,
//! beside the AWS CLI's `aws ec2 describe-instances` for the same VPC on the same emulator (the
//! reference the issue names). Start to last line, median of several runs. A figure, not a test:
//!
//!     cargo bench -p sila-aws --bench listhosts --profile dev
//!
//! The AWS CLI (v1, from PyPI) is installed into the project's `.venv` on first use.

use aws_sdk_ec2::types::{ResourceType, Tag, TagSpecification};
use sila_testkit::{block_on, project_root, session, Outcome};
use std::process::Command;
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_sila-aws");
const HOSTS: usize = 500;
const RUNS: usize = 7;

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn main() {
    let s = session();
    let ec2 = s.ec2();
    let spec = |kind, tags: &[(&str, &str)]| {
        let tags = tags.iter().map(|(k, v)| Tag::builder().key(*k).value(*v).build()).collect();
        TagSpecification::builder().resource_type(kind).set_tags(Some(tags)).build()
    };
    let vpc = block_on(
        ec2.create_vpc()
            .cidr_block("10.70.0.0/16")
            .tag_specifications(spec(ResourceType::Vpc, &[("Name", "bench")]))
            .send(),
    )
    .unwrap();
    let vpc = vpc.vpc().unwrap().vpc_id().unwrap().to_string();
    let subnet =
        block_on(ec2.create_subnet().vpc_id(&vpc).cidr_block("10.70.0.0/20").availability_zone("us-west-2a").send())
            .unwrap();
    let subnet = subnet.subnet().unwrap().subnet_id().unwrap().to_string();
    for (i, hostclass) in ["mhcweb", "mhcapi", "mhcqueue", "mhcdb", "mhcjump"].iter().enumerate() {
        block_on(
            ec2.run_instances()
                .image_id("ami-0000000000000de12")
                .min_count((HOSTS / 5) as i32)
                .max_count((HOSTS / 5) as i32)
                .subnet_id(&subnet)
                .tag_specifications(spec(
                    ResourceType::Instance,
                    &[("hostclass", hostclass), ("owner", &format!("o{i}"))],
                ))
                .send(),
        )
        .unwrap();
    }

    let venv = project_root().join(".venv");
    let aws = venv.join("bin/aws");
    if !aws.exists() {
        let pip = Command::new(venv.join("bin/pip")).args(["install", "--quiet", "awscli"]).status().unwrap();
        assert!(pip.success(), "pip install awscli");
    }

    let sila = || {
        let started = Instant::now();
        let out = Outcome::of(s.command(BIN).args(["--env", "bench", "listhosts", "--most"]));
        assert_eq!(out.code, Some(0), "{out:?}");
        assert_eq!(out.stdout.lines().count(), HOSTS + 1);
        started.elapsed()
    };
    let cli = || {
        let started = Instant::now();
        let out = Outcome::of(
            s.command(&aws)
                .env("AWS_ACCESS_KEY_ID", "test")
                .env("AWS_SECRET_ACCESS_KEY", "test")
                .env("AWS_DEFAULT_REGION", "us-west-2")
                .args(["--endpoint-url", s.endpoint(), "ec2", "describe-instances", "--output", "text"])
                .args(["--filters", &format!("Name=vpc-id,Values={vpc}")])
                .args(["--query", "Reservations[].Instances[].[InstanceId,State.Name,PrivateIpAddress]"]),
        );
        assert_eq!(out.code, Some(0), "{out:?}");
        assert_eq!(out.stdout.lines().count(), HOSTS);
        started.elapsed()
    };
    // Warm both (the emulator's first describe of many instances, Python's imports).
    sila();
    cli();
    // The emulator's own time for the one describe both make (it grows ~2.7 ms per instance).
    let raw = || {
        let started = Instant::now();
        let request =
            ec2.describe_instances().filters(aws_sdk_ec2::types::Filter::builder().name("vpc-id").values(&vpc).build());
        block_on(request.send()).unwrap();
        started.elapsed()
    };
    let emulator = median((0..RUNS).map(|_| raw()).collect());
    let ours = median((0..RUNS).map(|_| sila()).collect());
    let theirs = median((0..RUNS).map(|_| cli()).collect());
    let calls = {
        s.forget_requests();
        sila();
        s.requests().log.len()
    };
    println!("listhosts of {HOSTS} instances, median of {RUNS} runs, start to last line:");
    println!("  sila-aws listhosts --most          {:>6} ms  ({calls} API calls)", ours.as_millis());
    println!("  aws ec2 describe-instances (CLI v1) {:>6} ms", theirs.as_millis());
    println!("  ratio                               {:.1}x", theirs.as_secs_f64() / ours.as_secs_f64());
    println!("  the emulator's own describe          {:>6} ms (in both)", emulator.as_millis());
    let own = |d: Duration| d.saturating_sub(emulator).as_millis().max(1);
    println!(
        "  beyond it: sila {} ms, CLI {} ms ({:.1}x)",
        own(ours),
        own(theirs),
        own(theirs) as f64 / own(ours) as f64
    );
}
