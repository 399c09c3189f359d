//! What load balancer plans are decided from, read for `sila-elb` and spinup alike, for any number
//! of hostclasses in the same round trips: each load balancer, the target groups of their names
//! (one listing), the zones of their DNS names and those zones' records (one listing, then each
//! zone once), and the certificates when a listener is HTTPS or TLS (one listing of each kind).

use crate::{Clients, CloudError};
use sila_core::dns;
use sila_core::elb::certs::{AcmCertificate, ServerCertificate};
use sila_core::elb::plan::ElbLive;
use sila_core::elb::{names, LoadBalancerSpec};
use std::collections::BTreeMap;

/// What was read for a set of load balancers.
#[derive(Debug, Clone, Default)]
pub struct ElbReads {
    /// What exists of each, in the order of the specs.
    pub live: Vec<ElbLive>,
    /// The issued ACM certificates and the IAM server certificates (read only when a listener
    /// needs one).
    pub certificates: (Vec<AcmCertificate>, Vec<ServerCertificate>),
    /// What the operator should know: a `domain_name` with no hosted zone (those load balancers
    /// get no DNS name).
    pub warnings: Vec<String>,
}

/// The names of a load balancer's target groups start with this (`<env>-<hostclass>[-test]-`).
fn target_group_prefix(env: &str, spec: &LoadBalancerSpec) -> String {
    names::target_group_name(env, &spec.hostclass, spec.testing, 1).trim_end_matches('1').to_string()
}

impl Clients {
    /// What exists of each of `specs` in environment `env`. A domain that has no hosted zone is a
    /// warning (its DNS names cannot be made), said once per domain.
    pub async fn read_elbs(&self, specs: &[LoadBalancerSpec], env: &str) -> Result<ElbReads, CloudError> {
        if specs.is_empty() {
            return Ok(ElbReads::default());
        }
        let wanted: Vec<String> = specs.iter().flat_map(|s| s.target_groups.iter().map(|t| t.name.clone())).collect();
        let prefixes: Vec<String> = specs.iter().map(|s| target_group_prefix(env, s)).collect();
        let secure = specs.iter().any(|s| s.certificate_name.is_some());
        // Every read at once: one round trip, then the records of the zones found.
        let (balancers, groups, zones, certificates) = tokio::try_join!(
            futures::future::try_join_all(specs.iter().map(|s| self.load_balancer(&s.name))),
            self.target_groups(&wanted, &prefixes),
            async {
                if specs.iter().all(|s| s.dns_names.is_empty()) {
                    Ok(Vec::new())
                } else {
                    self.hosted_zones().await
                }
            },
            async {
                if secure {
                    self.certificates().await
                } else {
                    Ok((Vec::new(), Vec::new()))
                }
            },
        )?;
        let mut zone_of = Vec::new();
        let mut warnings: Vec<String> = Vec::new();
        for spec in specs {
            let domain = spec.dns_names.first().and_then(|n| n.split_once('.')).map(|(_, d)| d.to_string());
            let zone = match domain {
                None => None,
                Some(domain) => match dns::zone_for(&zones, &domain, spec.internal) {
                    Some(zone) => Some(zone.clone()),
                    None => {
                        let warning = format!(
                            "domain_name {domain} has no hosted zone (sila-route53 list-zones): load balancers in it get no DNS name"
                        );
                        if !warnings.contains(&warning) {
                            warnings.push(warning);
                        }
                        None
                    }
                },
            };
            zone_of.push(zone);
        }
        let mut ids: Vec<String> = zone_of.iter().flatten().map(|z| z.id.clone()).collect();
        ids.sort();
        ids.dedup();
        let records: BTreeMap<String, Vec<dns::Record>> = futures::future::try_join_all(
            ids.iter().map(|id| async move { Ok::<_, CloudError>((id.clone(), self.records(id).await?)) }),
        )
        .await?
        .into_iter()
        .collect();
        let live = specs
            .iter()
            .zip(balancers)
            .zip(zone_of)
            .map(|((spec, load_balancer), zone)| {
                let prefix = target_group_prefix(env, spec);
                let target_groups = groups
                    .iter()
                    .filter(|t| spec.target_groups.iter().any(|w| w.name == t.name) || t.name.starts_with(&prefix))
                    .cloned()
                    .collect();
                let zone = zone.map(|z| {
                    let held = records.get(&z.id).cloned().unwrap_or_default();
                    (z, held)
                });
                ElbLive { load_balancer, target_groups, zone }
            })
            .collect();
        Ok(ElbReads { live, certificates, warnings })
    }
}
