//! Carrying out a load balancer plan (`sila_core::elb::plan`) one step at a time, for `sila-elb`
//! and for spinup alike: the runner (`sila_cli::converge`) decides when each step starts; this
//! keeps the ARNs and DNS name that creations return for the steps after them.

use crate::elb::MadeLoadBalancer;
use crate::{Clients, CloudError};
use sila_core::dns::{ChangeAction, RecordChange};
use sila_core::elb::plan::{alias_record, ElbLive, ElbStep, LiveLoadBalancer, Placement};
use sila_core::elb::Kind;
use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

/// What the steps learn as they run: the load balancer and the target groups' ARNs by name.
#[derive(Debug, Default)]
struct Known {
    load_balancer: Option<MadeLoadBalancer>,
    target_groups: BTreeMap<String, String>,
}

/// One load balancer's plan being carried out.
#[derive(Debug)]
pub struct ElbRun<'c> {
    clients: &'c Clients,
    kind: Kind,
    place: Placement,
    known: Mutex<Known>,
}

fn missing(what: &str) -> CloudError {
    CloudError {
        op: "plan",
        kind: crate::ErrorKind::Other,
        code: None,
        message: format!("{what} is not known: the step that makes it did not run"),
        request_id: None,
    }
}

/// The certificate of a listener of `protocol`: the placement's, for HTTPS and TLS.
fn certificate_for<'p>(protocol: &str, place: &'p Placement) -> Option<&'p str> {
    matches!(protocol, "HTTPS" | "TLS").then_some(place.certificate.as_deref()).flatten()
}

impl<'c> ElbRun<'c> {
    /// A run for a load balancer of `kind` placed by `place`, starting from what `live` found.
    pub fn new(clients: &'c Clients, kind: Kind, place: Placement, live: &ElbLive) -> Self {
        let known = Known {
            load_balancer: live.load_balancer.as_ref().map(|l| MadeLoadBalancer {
                arn: l.arn.clone(),
                dns_name: l.dns_name.clone(),
                canonical_zone: l.canonical_zone.clone(),
            }),
            target_groups: live.target_groups.iter().map(|t| (t.name.clone(), t.arn.clone())).collect(),
        };
        ElbRun { clients, kind, place, known: Mutex::new(known) }
    }

    fn known(&self) -> MutexGuard<'_, Known> {
        self.known.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn load_balancer(&self) -> Result<MadeLoadBalancer, CloudError> {
        self.known().load_balancer.clone().ok_or_else(|| missing("the load balancer"))
    }

    /// The ARN of target group `name`, once it exists.
    pub fn target_group(&self, name: &str) -> Result<String, CloudError> {
        self.known().target_groups.get(name).cloned().ok_or_else(|| missing(&format!("target group {name}")))
    }

    /// Carries out `step`.
    pub async fn step(&self, step: &ElbStep) -> Result<(), CloudError> {
        let (clients, place) = (self.clients, &self.place);
        match step {
            ElbStep::CreateTargetGroup { group, tags } => {
                let arn = clients.create_target_group(group, &place.vpc_id, tags).await?;
                self.known().target_groups.insert(group.name.clone(), arn);
            }
            ElbStep::SetTargetGroupAttributes { name, attributes } => {
                clients.set_target_group_attributes(&self.target_group(name)?, attributes).await?;
            }
            ElbStep::UpdateTargetGroup { group } => {
                clients.update_target_group(&self.target_group(&group.name)?, group).await?;
            }
            ElbStep::CreateLoadBalancer { name, kind, internal, tags } => {
                let made = clients
                    .create_load_balancer(name, *kind, *internal, &place.subnets, &place.security_groups, tags)
                    .await?;
                self.known().load_balancer = Some(made);
            }
            ElbStep::UpdatePlacement { .. } => {
                let arn = self.load_balancer()?.arn;
                clients.place_load_balancer(&arn, self.kind, &place.subnets, &place.security_groups).await?;
            }
            ElbStep::SetAttributes { attributes, .. } => {
                clients.set_load_balancer_attributes(&self.load_balancer()?.arn, attributes).await?;
            }
            ElbStep::CreateListener { port, protocol, target_group } => {
                let (lb, tg) = (self.load_balancer()?.arn, self.target_group(target_group)?);
                clients.create_listener(&lb, *port, protocol, &tg, certificate_for(protocol, place)).await?;
            }
            ElbStep::ModifyListener { arn, protocol, target_group, .. } => {
                let tg = self.target_group(target_group)?;
                clients.modify_listener(arn, protocol, &tg, certificate_for(protocol, place)).await?;
            }
            ElbStep::DeleteListener { arn, .. } => clients.delete_listener(arn).await?,
            ElbStep::DeleteLoadBalancer { arn, .. } => {
                clients.delete_load_balancer(arn).await?;
                let mut known = self.known();
                if known.load_balancer.as_ref().is_some_and(|l| &l.arn == arn) {
                    known.load_balancer = None;
                }
            }
            ElbStep::DeleteTargetGroup { name, arn } => {
                clients.delete_target_group(arn).await?;
                self.known().target_groups.remove(name);
            }
            ElbStep::PointNames { zone, names } => {
                let lb = self.load_balancer()?;
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
                clients.change_records(&zone.id, &changes, "sila load balancer").await?;
            }
            ElbStep::Dns(change) => {
                clients.change_records(&change.zone_id, &change.changes, "sila load balancer").await?;
            }
        }
        Ok(())
    }
}
