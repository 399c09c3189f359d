//! Auto Scaling, as far as environments need it so far: finding the groups that live in an
//! environment's subnets and deleting them with their instances.

use crate::error::Classify as _;
use crate::error::CloudError;
use crate::finders::paginated;
use crate::Clients;
use std::collections::BTreeSet;
use std::time::Duration;

/// How long to wait for groups to go and instances to terminate.
pub const INSTANCE_WAIT: Duration = Duration::from_secs(600);

impl Clients {
    /// The autoscaling groups with a subnet among `subnets` (found by where they run, not by tags,
    /// so groups made by other tools count too), and the launch templates they use.
    pub async fn groups_in_subnets(
        &self,
        subnets: &[String],
    ) -> Result<(Vec<String>, Vec<crate::vpc::LaunchTemplateRef>), CloudError> {
        if subnets.is_empty() {
            return Ok((Vec::new(), Vec::new()));
        }
        let ours: BTreeSet<&str> = subnets.iter().map(String::as_str).collect();
        let groups: Vec<aws_sdk_autoscaling::types::AutoScalingGroup> =
            paginated!(self.autoscaling.describe_auto_scaling_groups(), "DescribeAutoScalingGroups")?;
        let here: Vec<_> = groups
            .iter()
            .filter(|g| g.vpc_zone_identifier().unwrap_or_default().split(',').any(|s| ours.contains(s.trim())))
            .collect();
        let names = here.iter().filter_map(|g| g.auto_scaling_group_name().map(str::to_string)).collect();
        let mut templates: Vec<crate::vpc::LaunchTemplateRef> = here
            .iter()
            .filter_map(|g| {
                let t = g.launch_template()?;
                let id = t.launch_template_id()?.to_string();
                Some(crate::vpc::LaunchTemplateRef { name: t.launch_template_name().unwrap_or(&id).to_string(), id })
            })
            .collect();
        templates.sort();
        templates.dedup();
        Ok((names, templates))
    }

    /// Force-deletes `names` (their instances go too) and polls until none of them is left.
    pub async fn delete_groups(&self, names: &[String]) -> Result<(), CloudError> {
        if names.is_empty() {
            return Ok(());
        }
        futures::future::try_join_all(names.iter().map(|name| async move {
            self.autoscaling
                .delete_auto_scaling_group()
                .auto_scaling_group_name(name)
                .force_delete(true)
                .send()
                .await
                .classify("DeleteAutoScalingGroup")
        }))
        .await?;
        let deadline = tokio::time::Instant::now() + INSTANCE_WAIT;
        loop {
            let out = self
                .autoscaling
                .describe_auto_scaling_groups()
                .set_auto_scaling_group_names(Some(names.to_vec()))
                .send()
                .await
                .classify("DescribeAutoScalingGroups")?;
            let left: Vec<&str> =
                out.auto_scaling_groups().iter().filter_map(|g| g.auto_scaling_group_name()).collect();
            if left.is_empty() {
                return Ok(());
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(CloudError {
                    op: "DeleteAutoScalingGroup",
                    kind: crate::ErrorKind::Other,
                    code: None,
                    message: format!("groups still there after {}s: {}", INSTANCE_WAIT.as_secs(), left.join(" ")),
                    request_id: None,
                });
            }
            tracing::info!("waiting for autoscaling group(s) {} to be deleted", left.join(" "));
            tokio::time::sleep(Duration::from_secs(5)).await;
        }
    }

    /// Terminates `ids` and waits until they are terminated.
    pub async fn terminate_instances(&self, ids: &[String]) -> Result<(), CloudError> {
        if ids.is_empty() {
            return Ok(());
        }
        self.ec2
            .terminate_instances()
            .set_instance_ids(Some(ids.to_vec()))
            .send()
            .await
            .classify("TerminateInstances")?;
        tracing::info!("waiting for {} instance(s) to terminate (up to {}s)", ids.len(), INSTANCE_WAIT.as_secs());
        use aws_sdk_ec2::client::Waiters as _;
        self.ec2
            .wait_until_instance_terminated()
            .set_instance_ids(Some(ids.to_vec()))
            .wait(INSTANCE_WAIT)
            .await
            .map(drop)
            .map_err(|e| CloudError::waiting("InstanceTerminated", &ids.join(" "), &e))
    }
}
