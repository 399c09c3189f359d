//! What a bake does in EC2: find the bakery, make its temporary key pair and security group, launch,
//! stop and terminate the builder, make the image, and find what a run left behind (for `reap`).

use crate::ec2::tag_map;
use crate::error::created;
use crate::error::Classify as _;
use crate::error::CloudError;
use crate::finders::{filter, gone, paginated};
use crate::Clients;
use aws_sdk_ec2::types::{
    HttpTokensState, IamInstanceProfileSpecification, InstanceMetadataOptionsRequest,
    InstanceNetworkInterfaceSpecification, IpPermission, IpRange, KeyType, ResourceType, Tag, TagSpecification,
};
use std::collections::BTreeMap;
use std::time::Duration;
use tokio::time::Instant;

/// How often a wait looks again.
const POLL: Duration = Duration::from_secs(2);

/// Tags at creation from a list.
fn tag_spec(kind: ResourceType, tags: &[(String, String)]) -> TagSpecification {
    crate::ec2::tag_spec(kind, tags.iter().map(|(k, v)| (k, v)))
}

fn timed_out(what: &str, id: &str, last: &str) -> CloudError {
    CloudError {
        op: "wait",
        kind: crate::ErrorKind::Other,
        code: None,
        message: format!("{what} {id}: deadline passed (last seen: {last})"),
        request_id: None,
    }
}

/// The bakery environment: where builders are launched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bakery {
    /// Its VPC.
    pub vpc_id: String,
    /// The VPC's CIDR.
    pub cidr: String,
    /// Its `type` tag: the environment type in `vpc.ini`.
    pub vpc_type: Option<String>,
    /// Subnets of its `tunnel` metanetwork, by zone name.
    pub subnets: Vec<String>,
    /// The `tunnel` metanetwork's security group, when it has one.
    pub tunnel_group: Option<String>,
}

/// A builder (or any instance) as a bake sees it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Machine {
    /// `i-...`.
    pub id: String,
    /// `pending`, `running`, `stopped`, ...
    pub state: String,
    /// Public address, when it has one.
    pub public_ip: Option<String>,
    /// Private address.
    pub private_ip: Option<String>,
    /// Launch time, epoch seconds.
    pub launched: Option<u64>,
    /// Every tag.
    pub tags: BTreeMap<String, String>,
    /// Its security groups' ids.
    pub groups: Vec<String>,
}

fn machine(i: &aws_sdk_ec2::types::Instance) -> Machine {
    Machine {
        id: i.instance_id().unwrap_or_default().to_string(),
        state: i.state().and_then(|s| s.name()).map(|n| n.as_str().to_string()).unwrap_or_default(),
        public_ip: i.public_ip_address().map(str::to_string),
        private_ip: i.private_ip_address().map(str::to_string),
        launched: i.launch_time().map(|t| u64::try_from(t.secs()).unwrap_or(0)),
        tags: tag_map(i.tags()),
        // The instance's groups and its interfaces' (the emulator lists only the latter for an
        // instance launched with an interface specification; AWS lists both).
        groups: {
            let mut ids: Vec<String> = i
                .security_groups()
                .iter()
                .chain(i.network_interfaces().iter().flat_map(|n| n.groups()))
                .filter_map(|g| g.group_id().map(str::to_string))
                .collect();
            ids.sort();
            ids.dedup();
            ids
        },
    }
}

/// What to launch as the builder.
#[derive(Debug, Clone)]
pub struct BuilderSpec {
    /// The source image.
    pub image: String,
    /// `[bake] bakery_instance_type`.
    pub instance_type: String,
    /// The tunnel subnet.
    pub subnet: String,
    /// Security groups (the temporary SSH group, and the tunnel group).
    pub groups: Vec<String>,
    /// The key pair.
    pub key_name: String,
    /// `bake_instance_profile`, when configured.
    pub instance_profile: Option<String>,
    /// Whether it gets a public address (only when it is reached on one).
    pub public_ip: bool,
    /// Tags of the instance and its volumes.
    pub tags: Vec<(String, String)>,
    /// Idempotency token: a retried launch returns the same instance.
    pub token: String,
}

/// Resources a bake run tagged, for `reap`.
#[derive(Debug, Clone, Default)]
pub struct Leftovers {
    /// Instances (not terminated).
    pub instances: Vec<Machine>,
    /// Key pairs: name, tags, creation (epoch seconds).
    pub key_pairs: Vec<(String, BTreeMap<String, String>, Option<u64>)>,
    /// Security groups: id, name, tags.
    pub groups: Vec<(String, String, BTreeMap<String, String>)>,
    /// Images (owned by this account), with their creation date.
    pub images: Vec<sila_core::ami::Image>,
    /// The images' descriptions, by id.
    pub image_descriptions: BTreeMap<String, String>,
}

impl Clients {
    /// The environment `name` (VPC tagged `Name=name`) with its tunnel subnets and group; `None` when
    /// there is no such VPC.
    pub async fn bakery(&self, name: &str) -> Result<Option<Bakery>, CloudError> {
        let Some(vpc) = self.vpc_named(name).await? else { return Ok(None) };
        let vpc_id = vpc.vpc_id().unwrap_or_default().to_string();
        let in_tunnel = || [filter("vpc-id", &[&vpc_id]), filter("tag:meta_network", &["tunnel"])];
        let (subnets, groups) = tokio::try_join!(
            async {
                let r = self.ec2.describe_subnets().set_filters(Some(in_tunnel().to_vec()));
                let found: Vec<aws_sdk_ec2::types::Subnet> = paginated!(r, "DescribeSubnets")?;
                Ok::<_, CloudError>(found)
            },
            async {
                let r = self.ec2.describe_security_groups().set_filters(Some(in_tunnel().to_vec()));
                let found: Vec<aws_sdk_ec2::types::SecurityGroup> = paginated!(r, "DescribeSecurityGroups")?;
                Ok::<_, CloudError>(found)
            },
        )?;
        let mut subnets: Vec<(String, String)> = subnets
            .iter()
            .map(|s| {
                (s.availability_zone().unwrap_or_default().to_string(), s.subnet_id().unwrap_or_default().to_string())
            })
            .collect();
        subnets.sort();
        Ok(Some(Bakery {
            vpc_id,
            cidr: vpc.cidr_block().unwrap_or_default().to_string(),
            vpc_type: vpc.tags().iter().find(|t| t.key() == Some("type")).and_then(|t| t.value()).map(str::to_string),
            subnets: subnets.into_iter().map(|(_, id)| id).collect(),
            tunnel_group: groups.first().and_then(|g| g.group_id()).map(str::to_string),
        }))
    }

    /// The private address of the first running instance tagged `hostclass=<hostclass>` in `vpc_id`
    /// (the package repository the init scripts are told about).
    pub async fn repo_address(&self, vpc_id: &str, hostclass: &str) -> Result<Option<String>, CloudError> {
        let request = self.ec2.describe_instances().set_filters(Some(vec![
            filter("vpc-id", &[vpc_id]),
            filter("tag:hostclass", &[hostclass]),
            filter("instance-state-name", &["running"]),
        ]));
        let found: Vec<aws_sdk_ec2::types::Reservation> = paginated!(request, "DescribeInstances")?;
        Ok(found.iter().flat_map(|r| r.instances()).find_map(|i| i.private_ip_address().map(str::to_string)))
    }

    /// Whether subnet `subnet` of `vpc_id` has a default route to an internet gateway (through its
    /// own route table, else the VPC's main one): only then can a builder there be reached on a
    /// public address.
    pub async fn subnet_reaches_internet(&self, vpc_id: &str, subnet: &str) -> Result<bool, CloudError> {
        let tables = |filters: Vec<aws_sdk_ec2::types::Filter>| async move {
            let request = self.ec2.describe_route_tables().set_filters(Some(filters));
            let found: Vec<aws_sdk_ec2::types::RouteTable> = paginated!(request, "DescribeRouteTables")?;
            Ok::<_, CloudError>(found)
        };
        let mut found = tables(vec![filter("association.subnet-id", &[subnet])]).await?;
        if found.is_empty() {
            found = tables(vec![filter("vpc-id", &[vpc_id]), filter("association.main", &["true"])]).await?;
        }
        Ok(found.iter().flat_map(|t| t.routes()).any(|r| {
            let default =
                r.destination_cidr_block() == Some("0.0.0.0/0") || r.destination_ipv6_cidr_block() == Some("::/0");
            default && r.gateway_id().is_some_and(|g| g.starts_with("igw-"))
        }))
    }

    /// Whether key pair `name` exists.
    pub async fn key_pair_exists(&self, name: &str) -> Result<bool, CloudError> {
        let out = self
            .ec2
            .describe_key_pairs()
            .filters(filter("key-name", &[name]))
            .send()
            .await
            .classify("DescribeKeyPairs")?;
        Ok(!out.key_pairs().is_empty())
    }

    /// Creates an ed25519 key pair; returns its private key (OpenSSH format).
    pub async fn create_key_pair(&self, name: &str, tags: &[(String, String)]) -> Result<String, CloudError> {
        let out = self
            .ec2
            .create_key_pair()
            .key_name(name)
            .key_type(KeyType::Ed25519)
            .tag_specifications(tag_spec(ResourceType::KeyPair, tags))
            .send()
            .await
            .classify("CreateKeyPair")?;
        created("CreateKeyPair", out.key_material())
    }

    /// Deletes key pair `name` (gone already is fine).
    pub async fn delete_key_pair(&self, name: &str) -> Result<(), CloudError> {
        gone(self.ec2.delete_key_pair().key_name(name).send().await.classify("DeleteKeyPair"))
    }

    /// Creates security group `name` in `vpc_id` admitting SSH from `cidrs`; returns its id.
    pub async fn create_ssh_group(
        &self,
        vpc_id: &str,
        name: &str,
        cidrs: &[String],
        tags: &[(String, String)],
    ) -> Result<String, CloudError> {
        let out = self
            .ec2
            .create_security_group()
            .vpc_id(vpc_id)
            .group_name(name)
            .description("SSH to a Sila bake builder (temporary)")
            .tag_specifications(tag_spec(ResourceType::SecurityGroup, tags))
            .send()
            .await
            .classify("CreateSecurityGroup")?;
        let id = created("CreateSecurityGroup", out.group_id())?;
        let mut permission = IpPermission::builder().ip_protocol("tcp").from_port(22).to_port(22);
        for cidr in cidrs {
            permission = permission.ip_ranges(IpRange::builder().cidr_ip(cidr).build());
        }
        self.authorize_ingress(&id, vec![permission.build()]).await?;
        Ok(id)
    }

    /// The ids of the security groups named `name` in `vpc_id`.
    pub async fn groups_named(&self, vpc_id: &str, name: &str) -> Result<Vec<String>, CloudError> {
        let request = self
            .ec2
            .describe_security_groups()
            .set_filters(Some(vec![filter("vpc-id", &[vpc_id]), filter("group-name", &[name])]));
        let found: Vec<aws_sdk_ec2::types::SecurityGroup> = paginated!(request, "DescribeSecurityGroups")?;
        Ok(found.iter().filter_map(|g| g.group_id().map(str::to_string)).collect())
    }

    /// Deletes security group `id`, waiting out `DependencyViolation` (a terminated instance's
    /// interface lets go of it a little later) until `deadline`.
    pub async fn delete_group_when_free(&self, id: &str, deadline: Instant) -> Result<(), CloudError> {
        loop {
            let result = self.ec2.delete_security_group().group_id(id).send().await.classify("DeleteSecurityGroup");
            match result {
                Err(e) if e.code.as_deref() == Some("DependencyViolation") && Instant::now() + POLL < deadline => {
                    tokio::time::sleep(POLL).await;
                }
                other => return gone(other),
            }
        }
    }

    /// Launches the builder; returns its id.
    pub async fn launch_builder(&self, spec: &BuilderSpec) -> Result<String, CloudError> {
        let interface = InstanceNetworkInterfaceSpecification::builder()
            .device_index(0)
            .subnet_id(&spec.subnet)
            .associate_public_ip_address(spec.public_ip)
            .set_groups(Some(spec.groups.clone()))
            .delete_on_termination(true)
            .build();
        let mut request = self
            .ec2
            .run_instances()
            .image_id(&spec.image)
            .instance_type(spec.instance_type.as_str().into())
            .min_count(1)
            .max_count(1)
            .key_name(&spec.key_name)
            .client_token(&spec.token)
            .network_interfaces(interface)
            .metadata_options(InstanceMetadataOptionsRequest::builder().http_tokens(HttpTokensState::Required).build())
            .tag_specifications(tag_spec(ResourceType::Instance, &spec.tags))
            .tag_specifications(tag_spec(ResourceType::Volume, &spec.tags));
        if let Some(profile) = &spec.instance_profile {
            request = request.iam_instance_profile(IamInstanceProfileSpecification::builder().name(profile).build());
        }
        let out = request.send().await.classify("RunInstances")?;
        created("RunInstances", out.instances().first().and_then(|i| i.instance_id()))
    }

    /// Instances (not terminated) tagged `key=value`.
    pub async fn machines_tagged(&self, key: &str, value: &str) -> Result<Vec<Machine>, CloudError> {
        let request = self.ec2.describe_instances().set_filters(Some(vec![
            filter(&format!("tag:{key}"), &[value]),
            filter("instance-state-name", &["pending", "running", "stopping", "stopped", "shutting-down"]),
        ]));
        let found: Vec<aws_sdk_ec2::types::Reservation> = paginated!(request, "DescribeInstances")?;
        Ok(found.iter().flat_map(|r| r.instances()).map(machine).collect())
    }

    /// Polls instance `id` every few seconds until it is in state `want`; fails when it reaches a
    /// state it cannot come back from (`terminated`, or `shutting-down` when not waiting for that),
    /// or at `deadline`.
    pub async fn wait_machine(&self, id: &str, want: &str, deadline: Instant) -> Result<Machine, CloudError> {
        let mut last = String::from("nothing yet");
        loop {
            let out = self.ec2.describe_instances().instance_ids(id).send().await.classify("DescribeInstances");
            match out {
                Ok(out) => {
                    if let Some(m) = out.reservations().iter().flat_map(|r| r.instances()).map(machine).next() {
                        if m.state == want {
                            return Ok(m);
                        }
                        if want != "terminated" && matches!(m.state.as_str(), "terminated" | "shutting-down") {
                            return Err(timed_out("instance", id, &format!("{} instead of {want}", m.state)));
                        }
                        if m.state != last {
                            tracing::info!("{id} is {}; waiting for {want}", m.state);
                        }
                        last = m.state;
                    }
                }
                // Just launched: EC2 may not know the id yet (eventual consistency).
                Err(e) if e.kind == crate::ErrorKind::NotFound => last = e.to_string(),
                Err(e) => return Err(e),
            }
            if Instant::now() + POLL >= deadline {
                return Err(timed_out("instance", id, &last));
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Stops instance `id` (the OS shuts down cleanly) and waits until it is stopped.
    pub async fn stop_machine(&self, id: &str, deadline: Instant) -> Result<Machine, CloudError> {
        self.ec2.stop_instances().instance_ids(id).send().await.classify("StopInstances")?;
        self.wait_machine(id, "stopped", deadline).await
    }

    /// Marks a stopped instance for enhanced networking (`sriovNetSupport=simple`).
    pub async fn enable_sriov(&self, id: &str) -> Result<(), CloudError> {
        self.ec2
            .modify_instance_attribute()
            .instance_id(id)
            .sriov_net_support(aws_sdk_ec2::types::AttributeValue::builder().value("simple").build())
            .send()
            .await
            .classify("ModifyInstanceAttribute")?;
        Ok(())
    }

    /// Terminates instances and waits until they are gone (`terminated`), up to `deadline`.
    pub async fn terminate_machines(&self, ids: &[String], deadline: Instant) -> Result<(), CloudError> {
        if ids.is_empty() {
            return Ok(());
        }
        gone(
            self.ec2
                .terminate_instances()
                .set_instance_ids(Some(ids.to_vec()))
                .send()
                .await
                .classify("TerminateInstances"),
        )?;
        for id in ids {
            match self.wait_machine(id, "terminated", deadline).await {
                Err(e) if e.kind == crate::ErrorKind::NotFound => {}
                other => {
                    other?;
                }
            }
        }
        Ok(())
    }

    /// Makes image `name` of a stopped instance (no reboot), tagged at creation; returns its id.
    pub async fn create_image(
        &self,
        instance: &str,
        name: &str,
        description: &str,
        tags: &[(String, String)],
    ) -> Result<String, CloudError> {
        let out = self
            .ec2
            .create_image()
            .instance_id(instance)
            .name(name)
            .description(description)
            .no_reboot(true)
            .tag_specifications(tag_spec(ResourceType::Image, tags))
            .send()
            .await
            .classify("CreateImage")?;
        created("CreateImage", out.image_id())
    }

    /// Polls image `id` until it is `available`; fails if it fails, or at `deadline`.
    pub async fn wait_image(&self, id: &str, deadline: Instant) -> Result<sila_core::ami::Image, CloudError> {
        let mut last = String::from("nothing yet");
        loop {
            match self.images_by_id(&[id.to_string()]).await {
                Ok(found) => {
                    if let Some(image) = found.into_iter().next() {
                        match image.state.as_str() {
                            "available" => return Ok(image),
                            "failed" | "invalid" | "error" | "deregistered" => {
                                return Err(timed_out("image", id, &image.state))
                            }
                            _ => last = image.state,
                        }
                    }
                }
                Err(e) if e.kind == crate::ErrorKind::NotFound => last = e.to_string(),
                Err(e) => return Err(e),
            }
            if Instant::now() + POLL >= deadline {
                return Err(timed_out("image", id, &last));
            }
            tracing::info!("image {id} is {last}; waiting for available");
            tokio::time::sleep(POLL).await;
        }
    }

    /// Adds `tags` to resources.
    pub async fn tag_resources(&self, ids: &[String], tags: &[(String, String)]) -> Result<(), CloudError> {
        if ids.is_empty() || tags.is_empty() {
            return Ok(());
        }
        self.ec2
            .create_tags()
            .set_resources(Some(ids.to_vec()))
            .set_tags(Some(tags.iter().map(|(k, v)| Tag::builder().key(k).value(v).build()).collect()))
            .send()
            .await
            .classify("CreateTags")?;
        Ok(())
    }

    /// Removes the tags with these keys from resources.
    pub async fn untag_resources(&self, ids: &[String], keys: &[&str]) -> Result<(), CloudError> {
        if ids.is_empty() {
            return Ok(());
        }
        self.ec2
            .delete_tags()
            .set_resources(Some(ids.to_vec()))
            .set_tags(Some(keys.iter().map(|k| Tag::builder().key(*k).build()).collect()))
            .send()
            .await
            .classify("DeleteTags")?;
        Ok(())
    }

    /// Images of this account tagged `key=value`.
    pub async fn images_tagged(&self, key: &str, value: &str) -> Result<Vec<sila_core::ami::Image>, CloudError> {
        let request = self.ec2.describe_images().owners("self").filters(filter(&format!("tag:{key}"), &[value]));
        let found: Vec<aws_sdk_ec2::types::Image> = paginated!(request, "DescribeImages")?;
        let ids: Vec<String> = found.iter().filter_map(|i| i.image_id().map(str::to_string)).collect();
        self.images_by_id(&ids).await
    }

    /// Everything carrying tag key `key` (a bake run's): instances, key pairs, security groups and
    /// images of this account.
    pub async fn leftovers(&self, key: &str) -> Result<Leftovers, CloudError> {
        let tagged = || filter("tag-key", &[key]);
        let (instances, keys, groups, images) = tokio::try_join!(
            async {
                let request = self.ec2.describe_instances().set_filters(Some(vec![
                    tagged(),
                    filter("instance-state-name", &["pending", "running", "stopping", "stopped"]),
                ]));
                let found: Vec<aws_sdk_ec2::types::Reservation> = paginated!(request, "DescribeInstances")?;
                Ok::<_, CloudError>(found.iter().flat_map(|r| r.instances()).map(machine).collect::<Vec<_>>())
            },
            async {
                let out = self.ec2.describe_key_pairs().filters(tagged()).send().await.classify("DescribeKeyPairs")?;
                Ok(out
                    .key_pairs()
                    .iter()
                    .map(|k| {
                        let created = k.create_time().map(|t| u64::try_from(t.secs()).unwrap_or(0));
                        (k.key_name().unwrap_or_default().to_string(), tag_map(k.tags()), created)
                    })
                    .collect::<Vec<_>>())
            },
            async {
                let request = self.ec2.describe_security_groups().filters(tagged());
                let found: Vec<aws_sdk_ec2::types::SecurityGroup> = paginated!(request, "DescribeSecurityGroups")?;
                Ok(found
                    .iter()
                    .map(|g| {
                        (
                            g.group_id().unwrap_or_default().to_string(),
                            g.group_name().unwrap_or_default().to_string(),
                            tag_map(g.tags()),
                        )
                    })
                    .collect::<Vec<_>>())
            },
            async {
                let request = self.ec2.describe_images().owners("self").filters(tagged());
                let found: Vec<aws_sdk_ec2::types::Image> = paginated!(request, "DescribeImages")?;
                let ids: Vec<String> = found.iter().filter_map(|i| i.image_id().map(str::to_string)).collect();
                let descriptions: BTreeMap<String, String> = found
                    .iter()
                    .filter_map(|i| Some((i.image_id()?.to_string(), i.description().unwrap_or_default().to_string())))
                    .collect();
                Ok((self.images_by_id(&ids).await?, descriptions))
            },
        )?;
        let (images, image_descriptions) = images;
        Ok(Leftovers { instances, key_pairs: keys, groups, images, image_descriptions })
    }
}
