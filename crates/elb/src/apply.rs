//! Running a load balancer plan on the shared runner; each step's calls are made by
//! `sila_cloud::elb_apply::ElbRun`, which spinup uses too.

use sila_cli::converge;
use sila_cloud::elb_apply::ElbRun;
use sila_cloud::Clients;
use sila_core::elb::plan::{ElbLive, ElbStep, Placement};
use sila_core::elb::LoadBalancerSpec;
use sila_core::plan::Plan;

/// How many steps run at once (a load balancer has a handful; elbv2 allows tens of calls a second).
const CONCURRENCY: usize = 8;

/// Runs `plan` for `spec`, placed by `place`, starting from what `live` found.
pub async fn apply(
    clients: &Clients,
    spec: &LoadBalancerSpec,
    place: &Placement,
    live: ElbLive,
    plan: &Plan<ElbStep>,
) -> anyhow::Result<()> {
    let run = ElbRun::new(clients, spec.kind, place.clone(), &live);
    let ran = converge::apply(plan, CONCURRENCY, ToString::to_string, |s| run.step(&s.step)).await;
    ran.map(drop).map_err(converge::StepsFailed::into_error)
}
