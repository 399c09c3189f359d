//! The instances of an environment, and what `sila-aws` does to them: stop, terminate (with the
//! routes that point at them), tag.

use crate::ec2::tag_map;
use crate::error::Classify as _;
use crate::error::CloudError;
use crate::finders::{ambiguous, filter, gone, has_tag, paginated, tag_eq};
use crate::Clients;
use sila_core::hosts::Host;

fn host(i: &aws_sdk_ec2::types::Instance) -> Host {
    let mut interfaces: Vec<(i32, String)> = i
        .network_interfaces()
        .iter()
        .filter_map(|n| {
            let index = n.attachment().and_then(|a| a.device_index()).unwrap_or(0);
            Some((index, n.private_ip_address()?.to_string()))
        })
        .collect();
    interfaces.sort();
    let mut private_ips: Vec<String> = interfaces.into_iter().map(|(_, ip)| ip).collect();
    if private_ips.is_empty() {
        private_ips.extend(i.private_ip_address().map(str::to_string));
    }
    Host {
        id: i.instance_id().unwrap_or_default().to_string(),
        state: i.state().and_then(|s| s.name()).map(|n| n.as_str().to_string()).unwrap_or_default(),
        tags: tag_map(i.tags()),
        public_ip: i.public_ip_address().map(str::to_string),
        private_ips,
        instance_type: i.instance_type().map(|t| t.as_str().to_string()).unwrap_or_default(),
        image_id: i.image_id().unwrap_or_default().to_string(),
        launched: i.launch_time().map_or(0, |t| u64::try_from(t.secs()).unwrap_or(0)),
        zone: i.placement().and_then(|p| p.availability_zone()).unwrap_or_default().to_string(),
        groups: i.security_groups().iter().filter_map(|g| g.group_name().map(str::to_string)).collect(),
    }
}

impl Clients {
    /// The VPC of environment `name` (tagged exactly `Name=name`), if there is one; two are refused
    /// with their ids (which one is meant cannot be guessed).
    pub(crate) async fn vpc_named(&self, name: &str) -> Result<Option<aws_sdk_ec2::types::Vpc>, CloudError> {
        let request = self.ec2.describe_vpcs().filters(tag_eq("DescribeVpcs", "Name", name)?);
        let found: Vec<aws_sdk_ec2::types::Vpc> = paginated!(request, "DescribeVpcs")?;
        let named: Vec<&aws_sdk_ec2::types::Vpc> = found.iter().filter(|v| has_tag(v.tags(), "Name", name)).collect();
        match named.as_slice() {
            [] => Ok(None),
            [vpc] => Ok(Some((*vpc).clone())),
            many => {
                let ids: Vec<&str> = many.iter().filter_map(|v| v.vpc_id()).collect();
                Err(ambiguous("DescribeVpcs", name, &ids, "rename or destroy one (sila-vpc destroy --vpc-id)"))
            }
        }
    }

    /// The id of the VPC of environment `name`, if there is one.
    pub async fn environment_vpc(&self, name: &str) -> Result<Option<String>, CloudError> {
        Ok(self.vpc_named(name).await?.and_then(|v| v.vpc_id().map(str::to_string)))
    }

    /// The `type` tag of environment `name`'s VPC: `None` when there is no such VPC, `Some(None)`
    /// when its VPC has no `type` tag.
    pub async fn environment_type(&self, name: &str) -> Result<Option<Option<String>>, CloudError> {
        Ok(self.vpc_named(name).await?.map(|v| tag_map(v.tags()).get("type").cloned()))
    }

    /// Every instance in `vpc_id` that is not terminated.
    pub async fn hosts(&self, vpc_id: &str) -> Result<Vec<Host>, CloudError> {
        let request = self.ec2.describe_instances().set_filters(Some(vec![
            filter("vpc-id", &[vpc_id]),
            filter("instance-state-name", &["pending", "running", "stopping", "stopped", "shutting-down"]),
        ]));
        let found: Vec<aws_sdk_ec2::types::Reservation> = paginated!(request, "DescribeInstances")?;
        Ok(found.iter().flat_map(|r| r.instances()).map(host).collect())
    }

    /// Stops instances.
    pub async fn stop_hosts(&self, ids: &[String]) -> Result<(), CloudError> {
        if ids.is_empty() {
            return Ok(());
        }
        self.ec2.stop_instances().set_instance_ids(Some(ids.to_vec())).send().await.classify("StopInstances")?;
        Ok(())
    }

    /// Terminates instances after deleting the routes of `vpc_id` that send traffic to them (a
    /// route to a terminated instance blackholes its destination).
    pub async fn terminate_hosts(&self, vpc_id: &str, ids: &[String]) -> Result<(), CloudError> {
        if ids.is_empty() {
            return Ok(());
        }
        // The VPC's tables, and their routes to these instances picked here (the `route.instance-id`
        // filter would do it server-side, but the emulator does not know it).
        let request = self.ec2.describe_route_tables().filters(filter("vpc-id", &[vpc_id]));
        let tables: Vec<aws_sdk_ec2::types::RouteTable> = paginated!(request, "DescribeRouteTables")?;
        for table in &tables {
            for route in table.routes().iter().filter(|r| r.instance_id().is_some_and(|i| ids.iter().any(|x| x == i))) {
                let Some(destination) = route.destination_cidr_block() else { continue };
                gone(
                    self.ec2
                        .delete_route()
                        .route_table_id(table.route_table_id().unwrap_or_default())
                        .destination_cidr_block(destination)
                        .send()
                        .await
                        .classify("DeleteRoute"),
                )?;
            }
        }
        gone(
            self.ec2
                .terminate_instances()
                .set_instance_ids(Some(ids.to_vec()))
                .send()
                .await
                .classify("TerminateInstances"),
        )
    }
}
