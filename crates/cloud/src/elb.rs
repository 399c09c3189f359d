//! Application and network load balancers (elbv2): reading a hostclass's load balancer, its
//! listeners and target groups with their attributes and tags, the certificates its secure
//! listeners can use (ACM, IAM server certificates), and one change at a time.

use crate::error::Classify as _;
use crate::error::{created, CloudError};
use crate::finders::gone;
use crate::Clients;
use aws_sdk_elasticloadbalancingv2::types::{
    Action, ActionTypeEnum, Certificate, LoadBalancer, LoadBalancerAttribute, LoadBalancerSchemeEnum,
    LoadBalancerTypeEnum, ProtocolEnum, Tag, TargetGroup, TargetGroupAttribute, TargetTypeEnum,
};
use sila_core::elb::certs::{AcmCertificate, ServerCertificate};
use sila_core::elb::plan::{LiveListener, LiveLoadBalancer, LiveTargetGroup};
use sila_core::elb::{Kind, TargetGroupSpec, HEALTH_INTERVAL, HEALTH_THRESHOLD, HEALTH_TIMEOUT};
use sila_core::teardown::ElbRef;
use std::collections::BTreeMap;
use std::time::Duration;

/// How long a deleted load balancer may take to go (its target groups cannot go before).
pub const DELETE_WAIT: Duration = Duration::from_secs(600);

/// A load balancer just made: what its alias records point at.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MadeLoadBalancer {
    /// Its ARN.
    pub arn: String,
    /// Its DNS name.
    pub dns_name: String,
    /// The hosted zone of its DNS name.
    pub canonical_zone: String,
}

fn tags_of(tags: &BTreeMap<String, String>) -> Vec<Tag> {
    tags.iter().map(|(k, v)| Tag::builder().key(k).value(v).build()).collect()
}

fn protocol(p: &str) -> ProtocolEnum {
    ProtocolEnum::from(p)
}

/// The health check of `group` on a create or modify request (their builders differ only in type).
trait HealthCheckSettings: Sized {
    fn health(self, group: &TargetGroupSpec) -> Self;
}

macro_rules! health_check_settings {
    ($builder:ty) => {
        impl HealthCheckSettings for $builder {
            fn health(self, group: &TargetGroupSpec) -> Self {
                self.health_check_protocol(protocol(group.health.protocol.as_str()))
                    .health_check_port(group.health.port.to_string())
                    .set_health_check_path(group.health.path.clone())
                    .health_check_interval_seconds(HEALTH_INTERVAL)
                    .health_check_timeout_seconds(HEALTH_TIMEOUT)
                    .healthy_threshold_count(HEALTH_THRESHOLD)
                    .unhealthy_threshold_count(HEALTH_THRESHOLD)
            }
        }
    };
}

health_check_settings!(
    aws_sdk_elasticloadbalancingv2::operation::create_target_group::builders::CreateTargetGroupFluentBuilder
);
health_check_settings!(
    aws_sdk_elasticloadbalancingv2::operation::modify_target_group::builders::ModifyTargetGroupFluentBuilder
);

fn forward(target_group: &str) -> Action {
    Action::builder().r#type(ActionTypeEnum::Forward).target_group_arn(target_group).build()
}

impl Clients {
    /// Tags by ARN (20 ARNs a call).
    async fn elb_tags(&self, arns: &[String]) -> Result<BTreeMap<String, BTreeMap<String, String>>, CloudError> {
        let mut tags = BTreeMap::new();
        for chunk in arns.chunks(20) {
            let out = self
                .elb
                .describe_tags()
                .set_resource_arns(Some(chunk.to_vec()))
                .send()
                .await
                .classify("DescribeTags")?;
            for d in out.tag_descriptions() {
                let map =
                    d.tags().iter().filter_map(|t| Some((t.key()?.to_string(), t.value()?.to_string()))).collect();
                tags.insert(d.resource_arn().unwrap_or_default().to_string(), map);
            }
        }
        Ok(tags)
    }

    /// The load balancer named `name`, with its attributes, tags and listeners; `None` when there
    /// is none.
    pub async fn load_balancer(&self, name: &str) -> Result<Option<LiveLoadBalancer>, CloudError> {
        let out = match self.elb.describe_load_balancers().names(name).send().await.classify("DescribeLoadBalancers") {
            Err(e) if e.kind == crate::ErrorKind::NotFound => return Ok(None),
            other => other?,
        };
        let Some(lb) = out.load_balancers().first() else { return Ok(None) };
        let arn = lb.load_balancer_arn().unwrap_or_default().to_string();
        let (attributes, tags, listeners) = tokio::try_join!(
            async {
                let out = self
                    .elb
                    .describe_load_balancer_attributes()
                    .load_balancer_arn(&arn)
                    .send()
                    .await
                    .classify("DescribeLoadBalancerAttributes")?;
                Ok::<_, CloudError>(
                    out.attributes()
                        .iter()
                        .filter_map(|a| Some((a.key()?.to_string(), a.value()?.to_string())))
                        .collect::<BTreeMap<_, _>>(),
                )
            },
            self.elb_tags(std::slice::from_ref(&arn)),
            async {
                let out =
                    self.elb.describe_listeners().load_balancer_arn(&arn).send().await.classify("DescribeListeners")?;
                Ok::<_, CloudError>(
                    out.listeners()
                        .iter()
                        .map(|l| LiveListener {
                            arn: l.listener_arn().unwrap_or_default().to_string(),
                            port: l.port().and_then(|p| u16::try_from(p).ok()).unwrap_or_default(),
                            protocol: l.protocol().map(|p| p.as_str().to_string()).unwrap_or_default(),
                            target_group: l
                                .default_actions()
                                .first()
                                .and_then(|a| a.target_group_arn())
                                .map(str::to_string),
                            certificate: l.certificates().first().and_then(|c| c.certificate_arn()).map(str::to_string),
                        })
                        .collect::<Vec<_>>(),
                )
            },
        )?;
        Ok(Some(LiveLoadBalancer {
            name: lb.load_balancer_name().unwrap_or_default().to_string(),
            kind: lb.r#type().map(|t| t.as_str().to_string()).unwrap_or_default(),
            internal: lb.scheme() == Some(&LoadBalancerSchemeEnum::Internal),
            dns_name: lb.dns_name().unwrap_or_default().to_string(),
            canonical_zone: lb.canonical_hosted_zone_id().unwrap_or_default().to_string(),
            subnets: lb.availability_zones().iter().filter_map(|z| z.subnet_id().map(str::to_string)).collect(),
            security_groups: lb.security_groups().to_vec(),
            attributes,
            tags: tags.get(&arn).cloned().unwrap_or_default(),
            listeners,
            arn,
        }))
    }

    /// Every load balancer of the account (every page).
    async fn all_load_balancers(&self) -> Result<Vec<LoadBalancer>, CloudError> {
        let mut all = Vec::new();
        let mut marker = None;
        loop {
            let out =
                self.elb.describe_load_balancers().set_marker(marker).send().await.classify("DescribeLoadBalancers")?;
            all.extend(out.load_balancers().iter().cloned());
            marker = out.next_marker().map(str::to_string);
            if marker.is_none() {
                return Ok(all);
            }
        }
    }

    /// Every target group of the account (every page).
    async fn all_target_groups(&self) -> Result<Vec<TargetGroup>, CloudError> {
        let mut all = Vec::new();
        let mut marker = None;
        loop {
            let out =
                self.elb.describe_target_groups().set_marker(marker).send().await.classify("DescribeTargetGroups")?;
            all.extend(out.target_groups().iter().cloned());
            marker = out.next_marker().map(str::to_string);
            if marker.is_none() {
                return Ok(all);
            }
        }
    }

    /// Every load balancer tagged `environment=<env>` (name, kind, scheme, DNS name, subnets,
    /// tags; not their listeners or attributes).
    pub async fn environment_load_balancers(&self, env: &str) -> Result<Vec<LiveLoadBalancer>, CloudError> {
        let all = self.all_load_balancers().await?;
        let arns: Vec<String> = all.iter().filter_map(|l| l.load_balancer_arn().map(str::to_string)).collect();
        let tags = self.elb_tags(&arns).await?;
        Ok(all
            .iter()
            .filter_map(|lb| {
                let arn = lb.load_balancer_arn()?.to_string();
                let tags = tags.get(&arn).cloned().unwrap_or_default();
                (tags.get("environment").map(String::as_str) == Some(env)).then(|| LiveLoadBalancer {
                    name: lb.load_balancer_name().unwrap_or_default().to_string(),
                    kind: lb.r#type().map(|t| t.as_str().to_string()).unwrap_or_default(),
                    internal: lb.scheme() == Some(&LoadBalancerSchemeEnum::Internal),
                    dns_name: lb.dns_name().unwrap_or_default().to_string(),
                    canonical_zone: lb.canonical_hosted_zone_id().unwrap_or_default().to_string(),
                    subnets: lb.availability_zones().iter().filter_map(|z| z.subnet_id().map(str::to_string)).collect(),
                    security_groups: lb.security_groups().to_vec(),
                    tags,
                    arn,
                    ..LiveLoadBalancer::default()
                })
            })
            .collect())
    }

    /// The load balancers in VPC `vpc_id` (whoever made them: the VPC cannot go while they are in
    /// it), with their DNS names; and its target groups.
    pub async fn vpc_load_balancing(&self, vpc_id: &str) -> Result<(Vec<(ElbRef, String)>, Vec<ElbRef>), CloudError> {
        let (balancers, groups) = tokio::try_join!(self.all_load_balancers(), self.all_target_groups())?;
        let balancers = balancers
            .iter()
            .filter(|l| l.vpc_id() == Some(vpc_id))
            .map(|l| {
                let r = ElbRef {
                    arn: l.load_balancer_arn().unwrap_or_default().to_string(),
                    name: l.load_balancer_name().unwrap_or_default().to_string(),
                };
                (r, l.dns_name().unwrap_or_default().to_string())
            })
            .collect();
        let groups = groups
            .iter()
            .filter(|t| t.vpc_id() == Some(vpc_id))
            .map(|t| ElbRef {
                arn: t.target_group_arn().unwrap_or_default().to_string(),
                name: t.target_group_name().unwrap_or_default().to_string(),
            })
            .collect();
        Ok((balancers, groups))
    }

    /// The target groups named `names` or whose name starts with one of `prefixes` (names are the
    /// account's, one listing for all), with their attributes and tags (the caller decides which
    /// are its own by their tags).
    pub async fn target_groups(
        &self,
        names: &[String],
        prefixes: &[String],
    ) -> Result<Vec<LiveTargetGroup>, CloudError> {
        let chosen: Vec<_> = self
            .all_target_groups()
            .await?
            .into_iter()
            .filter(|t| {
                t.target_group_name()
                    .is_some_and(|n| names.iter().any(|w| w == n) || prefixes.iter().any(|p| n.starts_with(p.as_str())))
            })
            .collect();
        let arns: Vec<String> = chosen.iter().filter_map(|t| t.target_group_arn().map(str::to_string)).collect();
        let tags = self.elb_tags(&arns).await?;
        let read = chosen.iter().map(|t| async {
            let arn = t.target_group_arn().unwrap_or_default().to_string();
            let out = self
                .elb
                .describe_target_group_attributes()
                .target_group_arn(&arn)
                .send()
                .await
                .classify("DescribeTargetGroupAttributes")?;
            Ok::<_, CloudError>(LiveTargetGroup {
                name: t.target_group_name().unwrap_or_default().to_string(),
                port: t.port().and_then(|p| u16::try_from(p).ok()).unwrap_or_default(),
                protocol: t.protocol().map(|p| p.as_str().to_string()).unwrap_or_default(),
                health: (
                    t.health_check_protocol().map(|p| p.as_str().to_string()).unwrap_or_default(),
                    t.health_check_port().unwrap_or_default().to_string(),
                    t.health_check_path().map(str::to_string),
                ),
                attributes: out
                    .attributes()
                    .iter()
                    .filter_map(|a| Some((a.key()?.to_string(), a.value()?.to_string())))
                    .collect(),
                tags: tags.get(&arn).cloned().unwrap_or_default(),
                arn,
            })
        });
        futures::future::try_join_all(read).await
    }

    /// Issued ACM certificates with their names, and IAM server certificates.
    pub async fn certificates(&self) -> Result<(Vec<AcmCertificate>, Vec<ServerCertificate>), CloudError> {
        let mut acm = Vec::new();
        let mut token = None;
        loop {
            let out = self
                .acm
                .list_certificates()
                .certificate_statuses(aws_sdk_acm::types::CertificateStatus::Issued)
                .set_next_token(token)
                .send()
                .await
                .classify("ListCertificates")?;
            for c in out.certificate_summary_list() {
                let mut names: Vec<String> = c.subject_alternative_name_summaries().to_vec();
                names.extend(c.domain_name().map(str::to_string));
                acm.push(AcmCertificate {
                    arn: c.certificate_arn().unwrap_or_default().to_string(),
                    names,
                    issued_at: c.issued_at().map(|t| t.secs()).unwrap_or_default(),
                });
            }
            token = out.next_token().map(str::to_string);
            if token.is_none() {
                break;
            }
        }
        let out = self.iam.list_server_certificates().send().await.classify("ListServerCertificates")?;
        let iam = out
            .server_certificate_metadata_list()
            .iter()
            .map(|c| ServerCertificate { arn: c.arn().to_string(), name: c.server_certificate_name().to_string() })
            .collect();
        Ok((acm, iam))
    }

    /// Creates target group `group` in `vpc_id` (instances as targets) with its health check and
    /// tags (its attributes are a step of their own); its ARN.
    pub async fn create_target_group(
        &self,
        group: &TargetGroupSpec,
        vpc_id: &str,
        tags: &BTreeMap<String, String>,
    ) -> Result<String, CloudError> {
        let out = self
            .elb
            .create_target_group()
            .name(&group.name)
            .protocol(protocol(group.protocol.as_str()))
            .port(i32::from(group.port))
            .vpc_id(vpc_id)
            .target_type(TargetTypeEnum::Instance)
            .health(group)
            .set_tags(Some(tags_of(tags)))
            .send()
            .await
            .classify("CreateTargetGroup")?;
        created("CreateTargetGroup", out.target_groups().first().and_then(|t| t.target_group_arn()))
    }

    /// Sets target group `arn`'s health check and attributes as `group` says.
    pub async fn update_target_group(&self, arn: &str, group: &TargetGroupSpec) -> Result<(), CloudError> {
        self.elb
            .modify_target_group()
            .target_group_arn(arn)
            .health(group)
            .send()
            .await
            .classify("ModifyTargetGroup")?;
        self.set_target_group_attributes(arn, &group.attributes).await
    }

    /// Sets target group `arn`'s attributes.
    pub async fn set_target_group_attributes(
        &self,
        arn: &str,
        attributes: &BTreeMap<String, String>,
    ) -> Result<(), CloudError> {
        let attributes =
            attributes.iter().map(|(k, v)| TargetGroupAttribute::builder().key(k).value(v).build()).collect();
        self.elb
            .modify_target_group_attributes()
            .target_group_arn(arn)
            .set_attributes(Some(attributes))
            .send()
            .await
            .classify("ModifyTargetGroupAttributes")?;
        Ok(())
    }

    /// Creates load balancer `name` in `subnets` (with `groups`, for an application one).
    pub async fn create_load_balancer(
        &self,
        name: &str,
        kind: Kind,
        internal: bool,
        subnets: &[String],
        groups: &[String],
        tags: &BTreeMap<String, String>,
    ) -> Result<MadeLoadBalancer, CloudError> {
        let kind_enum = match kind {
            Kind::Application => LoadBalancerTypeEnum::Application,
            Kind::Network => LoadBalancerTypeEnum::Network,
        };
        let scheme = if internal { LoadBalancerSchemeEnum::Internal } else { LoadBalancerSchemeEnum::InternetFacing };
        let out = self
            .elb
            .create_load_balancer()
            .name(name)
            .r#type(kind_enum)
            .scheme(scheme)
            .set_subnets(Some(subnets.to_vec()))
            .set_security_groups((kind == Kind::Application).then(|| groups.to_vec()))
            .set_tags(Some(tags_of(tags)))
            .send()
            .await
            .classify("CreateLoadBalancer")?;
        let lb = out.load_balancers().first();
        Ok(MadeLoadBalancer {
            arn: created("CreateLoadBalancer", lb.and_then(|l| l.load_balancer_arn()))?,
            dns_name: lb.and_then(|l| l.dns_name()).unwrap_or_default().to_string(),
            canonical_zone: lb.and_then(|l| l.canonical_hosted_zone_id()).unwrap_or_default().to_string(),
        })
    }

    /// Moves load balancer `arn` to `subnets` (and `groups`, for an application one).
    pub async fn place_load_balancer(
        &self,
        arn: &str,
        kind: Kind,
        subnets: &[String],
        groups: &[String],
    ) -> Result<(), CloudError> {
        self.elb
            .set_subnets()
            .load_balancer_arn(arn)
            .set_subnets(Some(subnets.to_vec()))
            .send()
            .await
            .classify("SetSubnets")?;
        if kind == Kind::Application {
            self.elb
                .set_security_groups()
                .load_balancer_arn(arn)
                .set_security_groups(Some(groups.to_vec()))
                .send()
                .await
                .classify("SetSecurityGroups")?;
        }
        Ok(())
    }

    /// Sets load balancer `arn`'s attributes.
    pub async fn set_load_balancer_attributes(
        &self,
        arn: &str,
        attributes: &BTreeMap<String, String>,
    ) -> Result<(), CloudError> {
        let attributes =
            attributes.iter().map(|(k, v)| LoadBalancerAttribute::builder().key(k).value(v).build()).collect();
        self.elb
            .modify_load_balancer_attributes()
            .load_balancer_arn(arn)
            .set_attributes(Some(attributes))
            .send()
            .await
            .classify("ModifyLoadBalancerAttributes")?;
        Ok(())
    }

    /// Creates a listener on `load_balancer` forwarding to `target_group` (with `certificate` for
    /// HTTPS and TLS).
    pub async fn create_listener(
        &self,
        load_balancer: &str,
        port: u16,
        listener_protocol: &str,
        target_group: &str,
        certificate: Option<&str>,
    ) -> Result<(), CloudError> {
        self.elb
            .create_listener()
            .load_balancer_arn(load_balancer)
            .port(i32::from(port))
            .protocol(protocol(listener_protocol))
            .default_actions(forward(target_group))
            .set_certificates(certificate.map(|c| vec![Certificate::builder().certificate_arn(c).build()]))
            .send()
            .await
            .classify("CreateListener")?;
        Ok(())
    }

    /// Changes listener `arn`'s protocol, certificate and target group.
    pub async fn modify_listener(
        &self,
        arn: &str,
        listener_protocol: &str,
        target_group: &str,
        certificate: Option<&str>,
    ) -> Result<(), CloudError> {
        self.elb
            .modify_listener()
            .listener_arn(arn)
            .protocol(protocol(listener_protocol))
            .default_actions(forward(target_group))
            .set_certificates(certificate.map(|c| vec![Certificate::builder().certificate_arn(c).build()]))
            .send()
            .await
            .classify("ModifyListener")?;
        Ok(())
    }

    /// Deletes listener `arn` (gone already counts as done).
    pub async fn delete_listener(&self, arn: &str) -> Result<(), CloudError> {
        gone(self.elb.delete_listener().listener_arn(arn).send().await.classify("DeleteListener"))
    }

    /// Deletes load balancer `arn` and waits until it is gone (its target groups can go then).
    pub async fn delete_load_balancer(&self, arn: &str) -> Result<(), CloudError> {
        gone(self.elb.delete_load_balancer().load_balancer_arn(arn).send().await.classify("DeleteLoadBalancer"))?;
        use aws_sdk_elasticloadbalancingv2::client::Waiters as _;
        match self.elb.wait_until_load_balancers_deleted().load_balancer_arns(arn).wait(DELETE_WAIT).await {
            Ok(_) => Ok(()),
            Err(e) => Err(CloudError::waiting("LoadBalancersDeleted", arn, &e)),
        }
    }

    /// Deletes target group `arn` (gone already counts as done).
    pub async fn delete_target_group(&self, arn: &str) -> Result<(), CloudError> {
        gone(self.elb.delete_target_group().target_group_arn(arn).send().await.classify("DeleteTargetGroup"))
    }
}
