//! Provisioning in EC2 and Auto Scaling: an environment's networks, autoscaling groups created or
//! updated in place, scheduled actions, scaling policies, and removal (launch templates are in
//! `templates`).

use crate::ec2::tag_map;
use crate::error::created;
use crate::error::Classify as _;
use crate::error::CloudError;
use crate::finders::{filter, gone, paginated};
use crate::Clients;
use aws_sdk_autoscaling::types::{LaunchTemplateSpecification, Tag as GroupTag};
use sila_core::pipeline::{GroupSizes, ScheduledAction};
use std::collections::BTreeMap;

// The plain data provisioning reads and writes lives in core, where the spinup plan decides it.
pub use sila_core::spinup::{EnvironmentFacts, GroupSpec, GroupState, TemplateSpec};

/// The default scaling policies: name and percent change (vector 50).
const DEFAULT_POLICIES: [(&str, i32); 2] = [("up", 10), ("down", -10)];

impl Clients {
    /// The metanetworks (subnets and groups, by their `meta_network` tag) of environment `name`;
    /// `None` when it does not exist.
    pub async fn environment_facts(&self, name: &str) -> Result<Option<EnvironmentFacts>, CloudError> {
        let Some(vpc) = self.vpc_named(name).await? else { return Ok(None) };
        let vpc_id = vpc.vpc_id().unwrap_or_default().to_string();
        let tags = tag_map(vpc.tags());
        let in_vpc = || filter("vpc-id", &[&vpc_id]);
        let (subnets, groups) = tokio::try_join!(
            async {
                let r = self.ec2.describe_subnets().filters(in_vpc());
                let found: Vec<aws_sdk_ec2::types::Subnet> = paginated!(r, "DescribeSubnets")?;
                Ok::<_, CloudError>(found)
            },
            async {
                let r = self.ec2.describe_security_groups().filters(in_vpc());
                let found: Vec<aws_sdk_ec2::types::SecurityGroup> = paginated!(r, "DescribeSecurityGroups")?;
                Ok::<_, CloudError>(found)
            },
        )?;
        let mut facts = EnvironmentFacts {
            vpc_id: vpc_id.clone(),
            vpc_type: tags.get("type").cloned(),
            environment_class: tags.get("environment_class").cloned().unwrap_or_else(|| "development".into()),
            ..EnvironmentFacts::default()
        };
        let mut by_zone: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
        for s in &subnets {
            if let (Some(id), Some(cidr)) = (s.subnet_id(), s.cidr_block()) {
                facts.subnet_cidrs.insert(id.to_string(), cidr.to_string());
            }
            if let Some(meta) = tag_map(s.tags()).get("meta_network") {
                let zone = s.availability_zone().unwrap_or_default().to_string();
                by_zone.entry(meta.clone()).or_default().push((zone, s.subnet_id().unwrap_or_default().to_string()));
            }
        }
        for (meta, mut list) in by_zone {
            list.sort();
            facts.subnets.insert(meta, list.into_iter().map(|(_, id)| id).collect());
        }
        for g in &groups {
            if let Some(meta) = tag_map(g.tags()).get("meta_network") {
                facts.groups.insert(meta.clone(), g.group_id().unwrap_or_default().to_string());
            }
        }
        Ok(Some(facts))
    }

    /// The floating interface with private address `ip` in VPC `vpc_id`, made in `subnet` with
    /// `group` (and `tags`) when there is none yet; its id and whether it was made. On-box scripts
    /// attach it (reference §4.1.4, §4.10.3).
    pub async fn ensure_floating_interface(
        &self,
        vpc_id: &str,
        subnet: &str,
        group: &str,
        ip: &str,
        tags: &BTreeMap<String, String>,
    ) -> Result<(String, bool), CloudError> {
        let found = self
            .ec2
            .describe_network_interfaces()
            .filters(filter("vpc-id", &[vpc_id]))
            .filters(filter("addresses.private-ip-address", &[ip]))
            .send()
            .await
            .classify("DescribeNetworkInterfaces")?;
        if let Some(id) = found.network_interfaces().iter().find_map(|n| n.network_interface_id()) {
            return Ok((id.to_string(), false));
        }
        Ok((self.create_floating_interface(subnet, group, ip, tags).await?, true))
    }

    /// Creates the floating interface for private address `ip` in `subnet` with `group`, marked
    /// with Asiaq's description and tagged `tags`; its id.
    pub(crate) async fn create_floating_interface(
        &self,
        subnet: &str,
        group: &str,
        ip: &str,
        tags: &BTreeMap<String, String>,
    ) -> Result<String, CloudError> {
        let out = self
            .ec2
            .create_network_interface()
            .subnet_id(subnet)
            .private_ip_address(ip)
            .groups(group)
            .description(crate::vpc::FLOATING_INTERFACE)
            .tag_specifications(crate::ec2::tag_spec(aws_sdk_ec2::types::ResourceType::NetworkInterface, tags))
            .send()
            .await
            .classify("CreateNetworkInterface")?;
        created("CreateNetworkInterface", out.network_interface().and_then(|n| n.network_interface_id()))
    }

    /// Which of the elastic IPs `ips` are allocated to this account.
    pub async fn allocated_addresses(&self, ips: &[String]) -> Result<Vec<String>, CloudError> {
        if ips.is_empty() {
            return Ok(Vec::new());
        }
        let out = self
            .ec2
            .describe_addresses()
            .filters(filter("public-ip", &ips.iter().map(String::as_str).collect::<Vec<_>>()))
            .send()
            .await
            .classify("DescribeAddresses")?;
        Ok(out.addresses().iter().filter_map(|a| a.public_ip().map(str::to_string)).collect())
    }

    /// The newest snapshot of each of `hostclasses` in `env` (tagged `hostclass` and `env`,
    /// §4.10.4), one listing for all: hostclass → (id, size in GiB, completed).
    pub async fn hostclass_snapshots(
        &self,
        hostclasses: &[String],
        env: &str,
    ) -> Result<BTreeMap<String, (String, u32, bool)>, CloudError> {
        let mut newest: BTreeMap<String, (String, u32, bool)> = BTreeMap::new();
        for chunk in hostclasses.chunks(200) {
            let values: Vec<&str> = chunk.iter().map(String::as_str).collect();
            let request = self
                .ec2
                .describe_snapshots()
                .owner_ids("self")
                .filters(filter("tag:hostclass", &values))
                .filters(filter("tag:env", &[env]));
            let mut found: Vec<aws_sdk_ec2::types::Snapshot> = paginated!(request, "DescribeSnapshots")?;
            found.retain(|s| s.state().is_some_and(|st| st.as_str() != "error"));
            found.sort_by_key(|s| s.start_time().map(|t| (t.secs(), t.subsec_nanos())));
            for snapshot in found {
                let Some(hostclass) = tag_map(snapshot.tags()).remove("hostclass") else { continue };
                let id = snapshot.snapshot_id().unwrap_or_default().to_string();
                let size = u32::try_from(snapshot.volume_size().unwrap_or(0)).unwrap_or(0);
                let completed = snapshot.state().map(|s| s.as_str()) == Some("completed");
                newest.insert(hostclass, (id, size, completed)); // sorted oldest first: the newest wins
            }
        }
        Ok(newest)
    }

    /// Waits up to `wait` until snapshot `id` is complete.
    pub async fn wait_snapshot(&self, id: &str, wait: std::time::Duration) -> Result<(), CloudError> {
        use aws_sdk_ec2::client::Waiters as _;
        self.ec2
            .wait_until_snapshot_completed()
            .snapshot_ids(id)
            .wait(wait)
            .await
            .map(drop)
            .map_err(|e| CloudError::waiting("SnapshotCompleted", id, &e))
    }

    /// Every group of environment `env` by hostclass (vector 51), oldest first; one listing.
    pub async fn environment_groups(&self, env: &str) -> Result<BTreeMap<String, Vec<GroupState>>, CloudError> {
        let all: Vec<aws_sdk_autoscaling::types::AutoScalingGroup> =
            paginated!(self.autoscaling.describe_auto_scaling_groups(), "DescribeAutoScalingGroups")?;
        let mut groups: BTreeMap<String, Vec<GroupState>> = BTreeMap::new();
        for g in &all {
            let name = g.auto_scaling_group_name().unwrap_or_default();
            let Some(hostclass) = sila_core::pipeline::hostclass_from_group_name(name, env) else { continue };
            groups.entry(hostclass.clone()).or_default().push(GroupState {
                name: name.to_string(),
                sizes: GroupSizes {
                    min: u32::try_from(g.min_size().unwrap_or(0)).unwrap_or(0),
                    desired: u32::try_from(g.desired_capacity().unwrap_or(0)).unwrap_or(0),
                    max: u32::try_from(g.max_size().unwrap_or(0)).unwrap_or(0),
                },
                instances: g
                    .instances()
                    .iter()
                    .map(|i| {
                        (
                            i.instance_id().unwrap_or_default().to_string(),
                            i.lifecycle_state().map(|s| s.as_str().to_string()).unwrap_or_default(),
                        )
                    })
                    .collect(),
                template: g.launch_template().and_then(|t| {
                    Some((t.launch_template_id()?.to_string(), t.version().unwrap_or_default().to_string()))
                }),
                subnets: {
                    let mut subnets: Vec<String> = g
                        .vpc_zone_identifier()
                        .unwrap_or_default()
                        .split(',')
                        .map(str::trim)
                        .filter(|s| !s.is_empty())
                        .map(str::to_string)
                        .collect();
                    subnets.sort();
                    subnets
                },
                termination_policies: g.termination_policies().to_vec(),
                target_groups: g.target_group_arns().to_vec(),
                tags: g
                    .tags()
                    .iter()
                    .filter(|t| t.propagate_at_launch() == Some(true))
                    .filter_map(|t| Some((t.key()?.to_string(), t.value().unwrap_or_default().to_string())))
                    .collect(),
            });
        }
        for list in groups.values_mut() {
            list.sort_by(|a, b| a.name.cmp(&b.name));
        }
        Ok(groups)
    }

    /// The recurring scheduled actions of every group, by group name, as (name, action) (one
    /// listing).
    pub async fn recurring_actions(&self) -> Result<BTreeMap<String, Vec<(String, ScheduledAction)>>, CloudError> {
        let all: Vec<aws_sdk_autoscaling::types::ScheduledUpdateGroupAction> =
            paginated!(self.autoscaling.describe_scheduled_actions(), "DescribeScheduledActions")?;
        let mut by_group: BTreeMap<String, Vec<(String, ScheduledAction)>> = BTreeMap::new();
        let size = |n: Option<i32>| n.and_then(|n| u32::try_from(n).ok());
        for a in &all {
            if let (Some(group), Some(name), Some(cron)) =
                (a.auto_scaling_group_name(), a.scheduled_action_name(), a.recurrence())
            {
                let action = ScheduledAction {
                    cron: cron.to_string(),
                    min: size(a.min_size()),
                    desired: size(a.desired_capacity()),
                    max: size(a.max_size()),
                };
                by_group.entry(group.to_string()).or_default().push((name.to_string(), action));
            }
        }
        Ok(by_group)
    }

    /// The groups that have both default scaling policies as [`Clients::put_scaling_policies`]
    /// puts them (one listing).
    pub async fn groups_with_default_policies(&self) -> Result<std::collections::BTreeSet<String>, CloudError> {
        let all: Vec<aws_sdk_autoscaling::types::ScalingPolicy> =
            paginated!(self.autoscaling.describe_policies(), "DescribePolicies")?;
        let mut found: BTreeMap<String, usize> = BTreeMap::new();
        for p in &all {
            let ours = DEFAULT_POLICIES.iter().any(|(name, adjustment)| {
                p.policy_name() == Some(*name)
                    && p.adjustment_type() == Some("PercentChangeInCapacity")
                    && p.scaling_adjustment() == Some(*adjustment)
                    && p.min_adjustment_magnitude() == Some(1)
                    && p.cooldown() == Some(600)
            });
            if let (true, Some(group)) = (ours, p.auto_scaling_group_name()) {
                *found.entry(group.to_string()).or_default() += 1;
            }
        }
        Ok(found.into_iter().filter(|(_, n)| *n == DEFAULT_POLICIES.len()).map(|(g, _)| g).collect())
    }

    /// Creates group `spec.name`, or (with `update`) points the existing one at the new template
    /// version and sets its sizes, subnets, termination policies and tags in place.
    ///
    /// Its instances are registered with `spec.target_groups` through the group's own target-group
    /// list (set at creation; on an update, those missing attached and those no longer wanted
    /// detached, given the ARNs it has now in `current_target_groups`).
    pub async fn put_group(
        &self,
        spec: &GroupSpec,
        update: bool,
        current_target_groups: &[String],
    ) -> Result<(), CloudError> {
        let template = LaunchTemplateSpecification::builder()
            .launch_template_id(&spec.template_id)
            .version(&spec.template_version)
            .build();
        let size = |n: u32| i32::try_from(n).unwrap_or(i32::MAX);
        let policies = (!spec.termination_policies.is_empty()).then(|| spec.termination_policies.clone());
        // Create and update take the same shape; their builders differ only in type.
        macro_rules! shaped {
            ($request:expr) => {
                $request
                    .auto_scaling_group_name(&spec.name)
                    .launch_template(template.clone())
                    .min_size(size(spec.sizes.min))
                    .max_size(size(spec.sizes.max))
                    .desired_capacity(size(spec.sizes.desired))
                    .vpc_zone_identifier(spec.subnets.join(","))
            };
        }
        if update {
            tokio::try_join!(
                async {
                    shaped!(self.autoscaling.update_auto_scaling_group())
                        .set_termination_policies(policies)
                        .send()
                        .await
                        .classify("UpdateAutoScalingGroup")
                },
                async {
                    self.autoscaling
                        .create_or_update_tags()
                        .set_tags(Some(self.group_tags(spec)))
                        .send()
                        .await
                        .classify("CreateOrUpdateTags")
                },
                self.register_target_groups(&spec.name, &spec.target_groups, current_target_groups),
            )?;
        } else {
            shaped!(self.autoscaling.create_auto_scaling_group())
                .set_termination_policies(policies.or_else(|| Some(vec!["OldestLaunchTemplate".into()])))
                .set_tags(Some(self.group_tags(spec)))
                .set_target_group_arns((!spec.target_groups.is_empty()).then(|| spec.target_groups.clone()))
                .send()
                .await
                .classify("CreateAutoScalingGroup")?;
        }
        Ok(())
    }

    /// Attaches the target groups of `wanted` that `group` lacks and detaches those of `current` no
    /// longer wanted (nothing to do: no call).
    async fn register_target_groups(
        &self,
        group: &str,
        wanted: &[String],
        current: &[String],
    ) -> Result<(), CloudError> {
        let attach: Vec<String> = wanted.iter().filter(|t| !current.contains(t)).cloned().collect();
        let detach: Vec<String> = current.iter().filter(|t| !wanted.contains(t)).cloned().collect();
        if !attach.is_empty() {
            self.autoscaling
                .attach_load_balancer_target_groups()
                .auto_scaling_group_name(group)
                .set_target_group_arns(Some(attach))
                .send()
                .await
                .classify("AttachLoadBalancerTargetGroups")?;
        }
        if !detach.is_empty() {
            self.autoscaling
                .detach_load_balancer_target_groups()
                .auto_scaling_group_name(group)
                .set_target_group_arns(Some(detach))
                .send()
                .await
                .classify("DetachLoadBalancerTargetGroups")?;
        }
        Ok(())
    }

    /// The group's default scaling policies `up` and `down` (vector 50), put side by side.
    pub async fn put_scaling_policies(&self, group: &str) -> Result<(), CloudError> {
        futures::future::try_join_all(DEFAULT_POLICIES.map(|(name, adjustment)| async move {
            self.autoscaling
                .put_scaling_policy()
                .auto_scaling_group_name(group)
                .policy_name(name)
                .adjustment_type("PercentChangeInCapacity")
                .scaling_adjustment(adjustment)
                .min_adjustment_magnitude(1)
                .cooldown(600)
                .send()
                .await
                .classify("PutScalingPolicy")
        }))
        .await?;
        Ok(())
    }

    fn group_tags(&self, spec: &GroupSpec) -> Vec<GroupTag> {
        spec.tags
            .iter()
            .map(|(k, v)| {
                GroupTag::builder()
                    .resource_id(&spec.name)
                    .resource_type("auto-scaling-group")
                    .key(k)
                    .value(v)
                    .propagate_at_launch(true)
                    .build()
            })
            .collect()
    }

    /// Replaces the group's recurring scheduled actions (`existing`, by name) with `actions`
    /// (§4.10.2): the ones no longer wanted are deleted while the wanted ones are put (a put of an
    /// existing name replaces it), all at once.
    pub async fn put_scheduled_actions(
        &self,
        group: &str,
        actions: &[ScheduledAction],
        existing: &[(String, ScheduledAction)],
    ) -> Result<(), CloudError> {
        let wanted: Vec<String> =
            actions.iter().map(|a| sila_core::pipeline::scheduled_action_name(group, &a.cron)).collect();
        let deletes =
            existing.iter().map(|(name, _)| name).filter(|name| !wanted.contains(name)).map(|name| async move {
                gone(
                    self.autoscaling
                        .delete_scheduled_action()
                        .auto_scaling_group_name(group)
                        .scheduled_action_name(name)
                        .send()
                        .await
                        .classify("DeleteScheduledAction"),
                )
            });
        let size = |n: Option<u32>| n.map(|n| i32::try_from(n).unwrap_or(i32::MAX));
        // An action already there as wanted is left alone.
        let changed = actions
            .iter()
            .zip(&wanted)
            .filter(|(action, name)| !existing.contains(&((*name).clone(), (*action).clone())));
        let puts = changed.map(|(action, name)| async move {
            self.autoscaling
                .put_scheduled_update_group_action()
                .auto_scaling_group_name(group)
                .scheduled_action_name(name)
                .recurrence(&action.cron)
                .set_min_size(size(action.min))
                .set_desired_capacity(size(action.desired))
                .set_max_size(size(action.max))
                .send()
                .await
                .map(drop)
                .classify("PutScheduledUpdateGroupAction")
        });
        tokio::try_join!(futures::future::try_join_all(deletes), futures::future::try_join_all(puts))?;
        Ok(())
    }
}
