//! Running a load balancer plan: each step's AWS calls (in `sila_cloud::elb` and
//! `sila_cloud::route53`), with the ARNs and DNS name that creations return kept for the steps
//! after them.

use sila_cli::converge;
use sila_cloud::elb::MadeLoadBalancer;
use sila_cloud::{Clients, CloudError};
use sila_core::dns::{ChangeAction, RecordChange};
use sila_core::elb::plan::{alias_record, ElbLive, ElbStep, LiveLoadBalancer, Placement};
use sila_core::elb::LoadBalancerSpec;
use sila_core::plan::Plan;
use std::collections::BTreeMap;
use std::sync::Mutex;

/// How many steps run at once (a load balancer has a handful; elbv2 allows tens of calls a second).
const CONCURRENCY: usize = 8;

/// What the steps learn as they run: the load balancer and the target groups' ARNs by name.
#[derive(Debug, Default)]
struct Known {
    load_balancer: Option<MadeLoadBalancer>,
    target_groups: BTreeMap<String, String>,
}

fn missing(what: &str) -> CloudError {
    CloudError {
        op: "plan",
        kind: sila_cloud::ErrorKind::Other,
        code: None,
        message: format!("{what} is not known: the step that makes it did not run"),
        request_id: None,
    }
}

/// Runs `plan` for `spec`, placed by `place`, starting from what `live` found.
pub async fn apply(
    clients: &Clients,
    spec: &LoadBalancerSpec,
    place: &Placement,
    live: ElbLive,
    plan: &Plan<ElbStep>,
) -> anyhow::Result<()> {
    let known = Mutex::new(Known {
        load_balancer: live.load_balancer.as_ref().map(|l| MadeLoadBalancer {
            arn: l.arn.clone(),
            dns_name: l.dns_name.clone(),
            canonical_zone: l.canonical_zone.clone(),
        }),
        target_groups: live.target_groups.iter().map(|t| (t.name.clone(), t.arn.clone())).collect(),
    });
    let lock = || known.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let lb_arn = || lock().load_balancer.as_ref().map(|l| l.arn.clone()).ok_or_else(|| missing("the load balancer"));
    let tg_arn =
        |name: &str| lock().target_groups.get(name).cloned().ok_or_else(|| missing(&format!("target group {name}")));
    let ran = converge::apply(plan, CONCURRENCY, ToString::to_string, |s| async {
        match &s.step {
            ElbStep::CreateTargetGroup { group, tags } => {
                let arn = clients.create_target_group(group, &place.vpc_id, tags).await?;
                lock().target_groups.insert(group.name.clone(), arn);
            }
            ElbStep::UpdateTargetGroup { group } => clients.update_target_group(&tg_arn(&group.name)?, group).await?,
            ElbStep::CreateLoadBalancer { name, kind, internal, tags } => {
                let made = clients
                    .create_load_balancer(name, *kind, *internal, &place.subnets, &place.security_groups, tags)
                    .await?;
                lock().load_balancer = Some(made);
            }
            ElbStep::UpdatePlacement { .. } => {
                clients.place_load_balancer(&lb_arn()?, spec.kind, &place.subnets, &place.security_groups).await?;
            }
            ElbStep::SetAttributes { attributes, .. } => {
                clients.set_load_balancer_attributes(&lb_arn()?, attributes).await?;
            }
            ElbStep::CreateListener { port, protocol, target_group } => {
                let certificate = certificate_for(protocol, place);
                clients.create_listener(&lb_arn()?, *port, protocol, &tg_arn(target_group)?, certificate).await?;
            }
            ElbStep::ModifyListener { arn, protocol, target_group, .. } => {
                let certificate = certificate_for(protocol, place);
                clients.modify_listener(arn, protocol, &tg_arn(target_group)?, certificate).await?;
            }
            ElbStep::DeleteListener { arn, .. } => clients.delete_listener(arn).await?,
            ElbStep::DeleteLoadBalancer { arn, .. } => {
                clients.delete_load_balancer(arn).await?;
                let mut known = lock();
                if known.load_balancer.as_ref().is_some_and(|l| &l.arn == arn) {
                    known.load_balancer = None;
                }
            }
            ElbStep::DeleteTargetGroup { name, arn } => {
                clients.delete_target_group(arn).await?;
                lock().target_groups.remove(name);
            }
            ElbStep::PointNames { zone, names } => {
                let lb = lock().load_balancer.clone().ok_or_else(|| missing("the load balancer"))?;
                let target = LiveLoadBalancer {
                    dns_name: lb.dns_name,
                    canonical_zone: lb.canonical_zone,
                    ..LiveLoadBalancer::default()
                };
                let changes: Vec<RecordChange> = names
                    .iter()
                    .map(|n| RecordChange {
                        action: ChangeAction::Upsert,
                        record: alias_record(n, &target),
                        replaces: None,
                    })
                    .collect();
                clients.change_records(&zone.id, &changes, "sila-elb").await?;
            }
            ElbStep::Dns(change) => {
                clients.change_records(&change.zone_id, &change.changes, "sila-elb").await?;
            }
        }
        Ok::<_, CloudError>(())
    })
    .await;
    ran.map(drop).map_err(converge::StepsFailed::into_error)
}

/// The certificate of a listener of `protocol`: the placement's, for HTTPS and TLS.
fn certificate_for<'p>(protocol: &str, place: &'p Placement) -> Option<&'p str> {
    matches!(protocol, "HTTPS" | "TLS").then_some(place.certificate.as_deref()).flatten()
}
