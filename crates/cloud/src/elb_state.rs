//! What a load balancer plan is decided from, read for `sila-elb` and spinup alike: the load
//! balancer and target groups as they exist, its zone's records, and its placement (the
//! metanetwork's subnets and group, the certificate of its secure listeners).

use crate::{Clients, CloudError};
use sila_core::dns;
use sila_core::elb::plan::{ElbLive, Placement};
use sila_core::elb::{certs, names, LoadBalancerSpec};
use sila_core::spinup::EnvironmentFacts;

impl Clients {
    /// What exists of `spec`'s load balancer in environment `env` (VPC of `facts`): the load
    /// balancer, the target groups of its names, and the records of its zone. With `configured`,
    /// a domain that has no hosted zone is an error (its DNS names could not be made).
    pub async fn read_elb(
        &self,
        spec: &LoadBalancerSpec,
        env: &str,
        facts: &EnvironmentFacts,
        configured: bool,
    ) -> Result<ElbLive, CloudError> {
        let wanted: Vec<String> = spec.target_groups.iter().map(|t| t.name.clone()).collect();
        let prefix = names::target_group_name(env, &spec.hostclass, spec.testing, 1);
        let prefix = prefix.trim_end_matches('1').to_string();
        // Every read at once: one round trip.
        let (load_balancer, target_groups, zones) = tokio::try_join!(
            self.load_balancer(&spec.name),
            self.target_groups(&facts.vpc_id, &wanted, &prefix),
            async {
                if spec.dns_names.is_empty() {
                    Ok(Vec::new())
                } else {
                    self.hosted_zones().await
                }
            },
        )?;
        let domain = spec.dns_names.first().and_then(|n| n.split_once('.')).map(|(_, d)| d.to_string());
        let zone = match domain {
            None => None,
            Some(domain) => match dns::zone_for(&zones, &domain, spec.internal) {
                Some(zone) => Some((zone.clone(), self.records(&zone.id).await?)),
                None if configured => {
                    return Err(CloudError::config(format!(
                        "domain_name {domain} of hostclass {} has no hosted zone (sila-route53 list-zones): the load balancer's DNS name cannot be made; nothing changed",
                        spec.hostclass
                    )))
                }
                None => None,
            },
        };
        Ok(ElbLive { load_balancer, target_groups, zone })
    }

    /// Where `spec`'s load balancer goes in the environment of `facts`: its metanetwork's subnets
    /// and security group, and the certificate its HTTPS or TLS listeners present (an error
    /// before anything is made when there is none).
    pub async fn elb_placement(
        &self,
        spec: &LoadBalancerSpec,
        facts: &EnvironmentFacts,
    ) -> Result<Placement, CloudError> {
        let meta = spec.meta_network.clone().unwrap_or_else(|| "intranet".to_string());
        let subnets = facts.subnets.get(&meta).cloned().unwrap_or_default();
        if subnets.is_empty() {
            return Err(CloudError::config(format!(
                "hostclass {}: metanetwork {meta} has no subnets in this environment: its load balancer has nowhere to go",
                spec.hostclass
            )));
        }
        let certificate = match &spec.certificate_name {
            None => None,
            Some(name) => {
                let (acm, iam) = self.certificates().await?;
                Some(certs::choose(&acm, &iam, name).ok_or_else(|| {
                    CloudError::config(format!(
                        "hostclass {}: no certificate for {name} in ACM (issued) or among IAM server certificates: the HTTPS/TLS listener cannot be made; nothing changed",
                        spec.hostclass
                    ))
                })?)
            }
        };
        Ok(Placement {
            subnets,
            security_groups: facts.groups.get(&meta).cloned().into_iter().collect(),
            certificate,
            vpc_id: facts.vpc_id.clone(),
        })
    }
}
