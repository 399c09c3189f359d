//! The load balancers of a pipeline's hostclasses (`elb = true`): their specs from the settings,
//! their plans from what was read beside the spinup's other reads, and taking them away on
//! spindown. Spinup runs their steps in its own graph (see `apply`), so a sequence's load
//! balancers are made beside its launch templates and groups.

use super::read::Context;
use sila_cli::{converge, Settings};
use sila_cloud::elb_apply::ElbRun;
use sila_cloud::elb_state::ElbReads;
use sila_core::elb::plan::{owned, placement, plan_delete_among, plan_update, ElbLive, ElbStep, Placement};
use sila_core::elb::{ElbSettings, LoadBalancerSpec};
use sila_core::pipeline::Pipeline;
use sila_core::plan::Plan;
use std::collections::BTreeMap;

/// One hostclass's load balancer: what it should be, where, what exists, and the plan between.
pub(crate) struct BalancerPlan {
    pub(crate) hostclass: String,
    pub(crate) spec: LoadBalancerSpec,
    pub(crate) place: Placement,
    pub(crate) live: ElbLive,
    pub(crate) plan: Plan<ElbStep>,
}

/// The load balancer spec of each of `pipeline`'s hostclasses that has `elb = true` in `env`, in
/// pipeline order; a configuration error names its file and line.
pub(crate) fn specs(
    settings: &Settings,
    env: &str,
    pipeline: &Pipeline,
    testing: bool,
) -> anyhow::Result<Vec<LoadBalancerSpec>> {
    let aws = settings.aws()?;
    let mut specs: Vec<LoadBalancerSpec> = Vec::new();
    for row in &pipeline.rows {
        if specs.iter().any(|s| s.hostclass == row.hostclass) {
            continue;
        }
        if let Some(s) = ElbSettings::resolve(aws, &row.hostclass, env).map_err(anyhow::Error::msg)? {
            let spec = LoadBalancerSpec::of(&s, env, testing).map_err(anyhow::Error::msg)?;
            specs.push(spec);
        }
    }
    Ok(specs)
}

/// Plans each load balancer from what was read (`reads`, in the order of `specs`). With
/// `spun_down`, plans as if the pipeline's spindown had taken them away (spindownandup).
pub(crate) fn plan(
    ctx: &Context,
    specs: &[LoadBalancerSpec],
    reads: &ElbReads,
    spun_down: bool,
) -> anyhow::Result<Vec<BalancerPlan>> {
    let (acm, iam) = &reads.certificates;
    specs
        .iter()
        .zip(&reads.live)
        .map(|(spec, live)| {
            let mut live = live.clone();
            if spun_down {
                forget(&mut live, spec);
            }
            let place = placement(spec, &ctx.facts, acm, iam).map_err(anyhow::Error::msg)?;
            let plan = plan_update(spec, &place, &live).map_err(anyhow::Error::msg)?;
            Ok(BalancerPlan { hostclass: spec.hostclass.clone(), spec: spec.clone(), place, live, plan })
        })
        .collect()
}

/// `live` as it will be once spindown took this hostclass's load balancer away.
fn forget(live: &mut ElbLive, spec: &LoadBalancerSpec) {
    if let Some(lb) = live.load_balancer.take().filter(|l| owned(&l.tags, &spec.tags)) {
        if let Some((_, records)) = &mut live.zone {
            records.retain(|r| r.alias.as_ref().is_none_or(|a| !sila_core::dns::same_name(&a.dns_name, &lb.dns_name)));
        }
    }
    live.target_groups.retain(|t| !owned(&t.tags, &spec.tags));
}

/// The plans as people read them (nothing for a load balancer that is as wanted).
pub(crate) fn render(plans: &[BalancerPlan]) -> String {
    let mut text = String::new();
    for b in plans.iter().filter(|b| !b.plan.is_empty()) {
        text.push_str(&format!("  load balancer {} of {}: ", b.spec.name, b.hostclass));
        text.push_str(&b.plan.render(ToString::to_string));
    }
    text
}

/// Takes away the load balancers (testing ones too) of `hostclasses` in the environment: their
/// alias records (in whichever zone), the load balancers, their target groups. Returns their
/// names by hostclass.
pub(crate) async fn take_down(
    ctx: &Context,
    hostclasses: &[&str],
    dry_run: bool,
) -> anyhow::Result<BTreeMap<String, Vec<String>>> {
    let found = ctx.clients.environment_load_balancers(&ctx.env).await?;
    let mut removed: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut work = Vec::new();
    for lb in &found {
        let Some(hostclass) = lb.tags.get("hostclass").filter(|h| hostclasses.contains(&h.as_str())) else { continue };
        let testing = lb.tags.get("is_testing").is_some_and(|t| t == "1");
        // Only a load balancer named as Sila names this hostclass's is taken.
        let Ok(spec) = LoadBalancerSpec::identity(&ctx.env, hostclass, testing, None) else { continue };
        if spec.name != lb.name {
            continue;
        }
        removed.entry(hostclass.clone()).or_default().push(lb.name.clone());
        work.push(spec);
    }
    if dry_run || work.is_empty() {
        return Ok(removed);
    }
    let reads = ctx.clients.read_elbs(&work, &ctx.env).await?;
    // Their alias records, in whichever zone: every zone read once for all of them.
    let dns_names: Vec<String> =
        reads.live.iter().filter_map(|l| l.load_balancer.as_ref().map(|lb| lb.dns_name.clone())).collect();
    let aliases = ctx.clients.aliases_of(&dns_names).await?;
    let runs = work.iter().zip(reads.live).map(|(spec, live)| {
        let aliases = &aliases;
        async move {
            if live.load_balancer.is_none() {
                return Ok(());
            }
            let plan = plan_delete_among(spec, &live, aliases).map_err(anyhow::Error::msg)?;
            let run = ElbRun::new(&ctx.clients, spec.kind, Placement::default(), &live);
            converge::apply(&plan, 8, ToString::to_string, |s| run.step(&s.step))
                .await
                .map_err(converge::StepsFailed::into_error)?;
            Ok::<_, anyhow::Error>(())
        }
    });
    futures::future::try_join_all(runs).await?;
    Ok(removed)
}
