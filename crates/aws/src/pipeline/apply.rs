//! Running a spinup plan on the shared plan runner (`sila_cli::converge::apply`). Each row becomes
//! steps: its floating interfaces and (after a snapshot still being taken) its launch template
//! version, then its group, then its scaling policies and scheduled actions. A sequence's first
//! steps wait for the previous sequence's groups, or for its smoke tests when it has any; policies
//! and schedules run beside the next sequence. A hostclass's load balancer steps start with its
//! sequence, beside its launch template; its group waits only for its target groups. A re-run with
//! nothing to change calls nothing.

use super::balancers::BalancerPlan;
use super::read::Context;
use super::RunArgs;
use anyhow::bail;
use sila_cli::{converge, Printer, Progress, UsageError};
use sila_cloud::elb_apply::ElbRun;
use sila_core::elb::plan::ElbStep;
use sila_core::pipeline::Pipeline;
use sila_core::plan::Plan;
use sila_core::spinup::{GroupPlan, GroupSpec, ProvisionPlan};
use std::collections::BTreeMap;
use std::fmt;
use std::sync::Mutex;
use std::time::Duration;
use tokio::time::Instant;

/// Calls in flight at once: a whole sequence of a large pipeline goes out together; Auto Scaling's
/// throttling beyond that is retried with backoff.
const CONCURRENCY: usize = 32;

/// How long spinup waits for a hostclass snapshot that is still being taken.
const SNAPSHOT_WAIT: Duration = Duration::from_secs(600);

/// One step of a spinup.
enum Work<'a> {
    /// Wait for the hostclass's snapshot to complete (its volume is restored from it).
    Snapshot(&'a GroupPlan, &'a str),
    /// A floating interface for a static address: (address, subnet).
    Interface(&'a GroupPlan, &'a (String, String)),
    /// The launch template version (none when the latest one holds what is wanted).
    Template(&'a GroupPlan),
    /// The group, created or brought in line (nothing when it is as wanted).
    Group(&'a GroupPlan),
    /// Its scaling policies and scheduled actions (what is missing or different).
    Finish(&'a GroupPlan),
    /// The smoke tests of a sequence's hostclasses that have one.
    Smoke(u32, Vec<&'a GroupPlan>),
    /// A step of a hostclass's load balancer plan (the index of its plan, and the step).
    Balancer(usize, &'a BalancerPlan, &'a ElbStep),
}

impl fmt::Display for Work<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Work::Snapshot(p, id) => write!(f, "wait for snapshot {id} of {}", p.hostclass),
            Work::Interface(p, (ip, _)) => write!(f, "floating interface {ip} for {}", p.hostclass),
            Work::Template(p) => write!(f, "launch template of {}", p.hostclass),
            Work::Group(p) => write!(f, "group {}", p.group),
            Work::Finish(p) => write!(f, "scaling policies and scheduled actions of {}", p.group),
            Work::Smoke(sequence, _) => write!(f, "smoke tests of sequence {sequence}"),
            Work::Balancer(_, b, step) => write!(f, "{step} (load balancer of {})", b.hostclass),
        }
    }
}

/// The steps of `plan`, sequence after sequence, with each hostclass's load balancer steps.
fn steps<'a>(plan: &'a ProvisionPlan, balancers: &'a [BalancerPlan]) -> Plan<Work<'a>> {
    let mut steps = Plan::new();
    let mut gate: Vec<usize> = Vec::new();
    let mut sequences: Vec<u32> = plan.groups.iter().map(|p| p.sequence).collect();
    sequences.dedup();
    for sequence in sequences {
        let batch: Vec<&GroupPlan> = plan.groups.iter().filter(|p| p.sequence == sequence).collect();
        let mut groups = Vec::new();
        for p in &batch {
            let mut before_template = gate.clone();
            if let Some((id, true)) = &p.snapshot {
                before_template.push(steps.add(Work::Snapshot(p, id), gate.clone()).id);
            }
            let mut before_group = vec![steps.add(Work::Template(p), before_template).id];
            if let Some((index, b)) = balancers.iter().enumerate().find(|(_, b)| b.hostclass == p.hostclass) {
                let mut ids: Vec<usize> = Vec::new();
                for planned in &b.plan.steps {
                    let mut after = gate.clone();
                    after.extend(planned.after.iter().map(|a| ids[*a]));
                    let id = steps.add(Work::Balancer(index, b, &planned.step), after).id;
                    ids.push(id);
                    // The group registers with its target groups: it waits for them, not for the
                    // load balancer.
                    if matches!(planned.step, ElbStep::CreateTargetGroup { .. }) {
                        before_group.push(id);
                    }
                }
            }
            for interface in &p.interfaces {
                before_group.push(steps.add(Work::Interface(p, interface), gate.clone()).id);
            }
            let group = steps.add(Work::Group(p), before_group).id;
            steps.add(Work::Finish(p), [group]);
            groups.push(group);
        }
        let smoke: Vec<&GroupPlan> = batch.iter().copied().filter(|p| p.smoke_test).collect();
        gate = if smoke.is_empty() { groups } else { vec![steps.add(Work::Smoke(sequence, smoke), groups).id] };
    }
    steps
}

/// Prints the plan (text output) and, unless a dry run, carries it out.
pub(crate) async fn apply(
    ctx: &Context,
    args: &RunArgs,
    pipeline: &Pipeline,
    plan: &ProvisionPlan,
    balancers: &[BalancerPlan],
    printer: &Printer,
) -> anyhow::Result<()> {
    if printer.json() && args.dry_run {
        return Ok(());
    }
    if !printer.json() {
        let mut text = plan.render(&pipeline.path, &ctx.env);
        text.push_str(&super::balancers::render(balancers));
        if args.dry_run {
            text.push_str("dry run: nothing changed\n");
        }
        printer.line(text.trim_end())?;
    }
    if args.dry_run {
        return Ok(());
    }
    // A load balancer change that deletes something is not spinup's to make unasked.
    let destructive: Vec<String> = balancers
        .iter()
        .flat_map(|b| b.plan.destructive().into_iter().map(move |s| format!("{} ({})", s.step, b.hostclass)))
        .collect();
    if !destructive.is_empty() {
        return Err(UsageError(format!(
            "nothing changed: the load balancer plan deletes ({}); run sila-elb update --hostclass H --allow-destructive first",
            destructive.join("; ")
        ))
        .into());
    }
    let deadline = Instant::now() + args.deadline;
    let graph = steps(plan, balancers);
    let runs: Vec<ElbRun<'_>> =
        balancers.iter().map(|b| ElbRun::new(&ctx.clients, b.spec.kind, b.place.clone(), &b.live)).collect();
    // The launch template (id, version) each group launches from, once its template step is done.
    let templates: Mutex<BTreeMap<&str, (String, String)>> = Mutex::new(BTreeMap::new());
    let ran = converge::apply(&graph, CONCURRENCY, ToString::to_string, |s| {
        let (templates, runs) = (&templates, &runs);
        async move {
            let done = match &s.step {
                Work::Snapshot(p, id) => {
                    tracing::info!("waiting for snapshot {id} of {} to complete", p.hostclass);
                    ctx.clients.wait_snapshot(id, SNAPSHOT_WAIT).await.map_err(anyhow::Error::from)
                }
                Work::Interface(p, (ip, subnet)) => interface(ctx, p, ip, subnet).await,
                Work::Template(p) => {
                    let made = template(ctx, p).await;
                    made.map(|t| {
                        templates.lock().unwrap_or_else(|e| e.into_inner()).insert(&p.hostclass, t);
                    })
                }
                Work::Group(p) => {
                    let template = templates.lock().unwrap_or_else(|e| e.into_inner()).get(p.hostclass.as_str()).cloned();
                    let run = balancers.iter().position(|b| b.hostclass == p.hostclass).map(|i| &runs[i]);
                    let arns: Result<Vec<String>, _> = match run {
                        Some(run) => p.target_groups.iter().map(|name| run.target_group(name)).collect(),
                        None => Ok(Vec::new()),
                    };
                    match arns {
                        Ok(arns) => group(ctx, p, template.unwrap_or_default(), arns).await,
                        Err(e) => Err(e.into()),
                    }
                }
                Work::Balancer(index, _, step) => runs[*index].step(step).await.map_err(anyhow::Error::from),
                Work::Finish(p) => finish(ctx, p).await,
                Work::Smoke(sequence, batch) => wait_for_smoke(ctx, batch, deadline).await.map_err(|e| {
                    let earlier: Vec<&str> =
                        plan.groups.iter().filter(|p| p.sequence < *sequence).map(|p| p.hostclass.as_str()).collect();
                    let up = if earlier.is_empty() { "none".to_string() } else { earlier.join(", ") };
                    e.context(format!(
                        "spinup stopped at sequence {sequence} (up from earlier sequences: {up}); later sequences were not started"
                    ))
                }),
            };
            // The whole chain of causes, as the error line shows it.
            done.map_err(|e| format!("{e:#}"))
        }
    })
    .await;
    ran.map_err(converge::StepsFailed::into_error)?;
    if !printer.json() {
        printer.line(&format!("spinup of {} done", pipeline.path.display()))?;
    }
    Ok(())
}

async fn interface(ctx: &Context, p: &GroupPlan, ip: &str, subnet: &str) -> anyhow::Result<()> {
    let tags = sila_core::environment::interface_tags(&ctx.env, &p.hostclass);
    let (id, made) =
        ctx.clients.ensure_floating_interface(&ctx.facts.vpc_id, subnet, &p.template.security_group, ip, &tags).await?;
    if made {
        tracing::info!("made floating interface {id} ({ip}) for {}", p.hostclass);
    }
    Ok(())
}

/// The (id, version) the group launches from: the latest version when it holds what is wanted,
/// else a new one.
async fn template(ctx: &Context, p: &GroupPlan) -> anyhow::Result<(String, String)> {
    if let (Some(id), Some(version)) = (&p.template_id, &p.template_version) {
        return Ok((id.clone(), version.clone()));
    }
    let name = format!("{}_{}", ctx.env, p.hostclass);
    Ok(ctx.clients.put_launch_template(&name, p.template_id.as_deref(), &p.template).await?)
}

async fn group(
    ctx: &Context,
    p: &GroupPlan,
    (template_id, template_version): (String, String),
    target_groups: Vec<String>,
) -> anyhow::Result<()> {
    if p.group_unchanged {
        return Ok(());
    }
    let spec = GroupSpec {
        name: p.group.clone(),
        template_id,
        template_version,
        sizes: p.sizes,
        subnets: p.subnets.clone(),
        termination_policies: p.termination_policies.clone(),
        tags: p.tags.clone(),
        target_groups,
    };
    Ok(ctx.clients.put_group(&spec, !p.create, &p.current_target_groups).await?)
}

async fn finish(ctx: &Context, p: &GroupPlan) -> anyhow::Result<()> {
    let policies = async {
        match p.policies_in_place {
            true => Ok(()),
            false => ctx.clients.put_scaling_policies(&p.group).await,
        }
    };
    tokio::try_join!(policies, ctx.clients.put_scheduled_actions(&p.group, &p.actions, &p.schedules))?;
    let done = if p.create {
        "created"
    } else if p.unchanged {
        "left unchanged"
    } else {
        "updated"
    };
    tracing::info!("{done} {} ({})", p.group, p.hostclass);
    Ok(())
}

/// Waits until every group has its minimum of instances and each of them carries `smoketest`.
async fn wait_for_smoke(ctx: &Context, batch: &[&GroupPlan], deadline: Instant) -> anyhow::Result<()> {
    let mut waiting: Vec<String> = Vec::new();
    let mut progress = Progress::start();
    loop {
        waiting.clear();
        // One listing of groups and one of hosts per poll, for the whole batch.
        let (groups, all_hosts) =
            tokio::try_join!(ctx.clients.environment_groups(&ctx.env), ctx.clients.hosts(&ctx.facts.vpc_id))?;
        for p in batch {
            let Some(group) = groups.get(&p.hostclass).into_iter().flatten().find(|g| g.name == p.group) else {
                waiting.push(format!("{} (group not visible yet)", p.group));
                continue;
            };
            let ids: Vec<&String> = group.instances.iter().map(|(id, _)| id).collect();
            let hosts: Vec<&sila_core::hosts::Host> = all_hosts.iter().filter(|h| ids.contains(&&h.id)).collect();
            if let Some(failed) = hosts.iter().find(|h| h.readiness() == sila_core::hosts::Readiness::Failed) {
                bail!("{}: instance {} of {} is {}", p.hostclass, failed.id, p.group, failed.state);
            }
            let ready = hosts.iter().filter(|h| h.readiness() == sila_core::hosts::Readiness::Ready).count();
            if ready < p.sizes.min as usize || ready < hosts.len() {
                waiting.push(format!("{} ({ready} of {} smoke-tested, min {})", p.hostclass, hosts.len(), p.sizes.min));
            }
        }
        if waiting.is_empty() {
            return Ok(());
        }
        if Instant::now() + Duration::from_secs(5) >= deadline {
            bail!("smoke tests did not pass before the deadline: {}", waiting.join(", "));
        }
        // No countdown in the status: off a terminal, a line is logged only when it changes.
        progress.set(&format!("sequence {}: waiting for smoke tests: {}", batch[0].sequence, waiting.join(", ")));
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(sequence: u32, hostclass: &str, smoke_test: bool) -> GroupPlan {
        GroupPlan {
            sequence,
            hostclass: hostclass.into(),
            group: format!("ci_{hostclass}_1"),
            smoke_test,
            ..GroupPlan::default()
        }
    }

    #[test]
    fn a_sequence_starts_after_the_groups_or_smoke_tests_before_it_and_policies_run_beside_it() {
        let mut db = row(1, "mhcdb", true);
        db.interfaces = vec![("10.0.0.10".into(), "subnet-a".into())];
        db.snapshot = Some(("snap-1".into(), true));
        let plan =
            ProvisionPlan { groups: vec![db, row(2, "mhcweb", false), row(3, "mhcapi", false)], ..Default::default() };
        let graph = steps(&plan, &[]);
        let shown: Vec<(String, Vec<usize>)> =
            graph.steps.iter().map(|s| (s.step.to_string(), s.after.clone())).collect();
        let expected: Vec<(&str, Vec<usize>)> = vec![
            ("wait for snapshot snap-1 of mhcdb", vec![]),
            ("launch template of mhcdb", vec![0]),
            ("floating interface 10.0.0.10 for mhcdb", vec![]),
            ("group ci_mhcdb_1", vec![1, 2]),
            ("scaling policies and scheduled actions of ci_mhcdb_1", vec![3]),
            ("smoke tests of sequence 1", vec![3]),
            ("launch template of mhcweb", vec![5]),
            ("group ci_mhcweb_1", vec![6]),
            ("scaling policies and scheduled actions of ci_mhcweb_1", vec![7]),
            ("launch template of mhcapi", vec![7]),
            ("group ci_mhcapi_1", vec![9]),
            ("scaling policies and scheduled actions of ci_mhcapi_1", vec![10]),
        ];
        let expected: Vec<(String, Vec<usize>)> = expected.into_iter().map(|(s, a)| (s.to_string(), a)).collect();
        assert_eq!(shown, expected);
        // Without smoke tests, a sequence costs two round trips (template, group) and the last
        // policies one more.
        assert_eq!(graph.depth(), 9);
    }
}
