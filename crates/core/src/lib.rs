//! Sila's pure logic: everything that can be decided without talking to AWS.
//!
//! This crate never depends on the AWS SDK and never performs network I/O; it reads the config tree
//! from disk and nothing else. Tools turn its results into plans and hand those to `sila-cloud`.

/// Seconds since the epoch, now (0 if the clock is before 1970).
pub fn epoch_seconds() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

pub mod alarms;
pub mod ami;
pub mod bake;
pub mod check;
pub mod config;
pub mod diag;
pub mod discoroot;
pub mod dns;
pub mod elb;
pub mod environment;
pub mod hosts;
pub mod iam;
pub mod ini;
pub mod limits;
pub mod net;
pub mod peering_plan;
pub mod pipeline;
pub mod plan;
pub mod policy;
pub mod provision;
pub mod shell;
pub mod spinup;
pub mod teardown;
pub mod terminal;
pub mod truth;
pub mod vpc_plan;
