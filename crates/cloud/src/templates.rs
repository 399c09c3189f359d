//! Launch templates: a new version per provision, read back to compare, found by name or by the
//! VPC they were made for, and deleted.

use crate::error::created;
use crate::error::Classify as _;
use crate::error::CloudError;
use crate::finders::{filter, gone, paginated};
use crate::Clients;
use aws_sdk_ec2::types::{
    HttpTokensState, LaunchTemplateBlockDeviceMappingRequest, LaunchTemplateEbsBlockDeviceRequest,
    LaunchTemplateIamInstanceProfileSpecificationRequest, LaunchTemplateInstanceMetadataOptionsRequest,
    LaunchTemplateInstanceNetworkInterfaceSpecificationRequest, RequestLaunchTemplateData, VolumeType,
};
use sila_core::provision::BlockDevice;
use sila_core::spinup::TemplateSpec;
use std::collections::BTreeMap;

/// What a launch template version read back holds, in the terms Sila writes it.
fn template_spec(data: &aws_sdk_ec2::types::ResponseLaunchTemplateData) -> TemplateSpec {
    let interface = data.network_interfaces().first();
    let user_data = data
        .user_data()
        .and_then(|u| aws_smithy_types::base64::decode(u).ok())
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default();
    TemplateSpec {
        image: data.image_id().unwrap_or_default().to_string(),
        instance_type: data.instance_type().map(|t| t.as_str().to_string()).unwrap_or_default(),
        key_name: data.key_name().map(str::to_string),
        instance_profile: data.iam_instance_profile().and_then(|p| p.name()).map(str::to_string),
        security_group: interface.and_then(|i| i.groups().first()).cloned().unwrap_or_default(),
        public_ip: interface.and_then(|i| i.associate_public_ip_address()).unwrap_or(false),
        user_data,
        block_devices: data
            .block_device_mappings()
            .iter()
            .map(|b| {
                let ebs = b.ebs();
                BlockDevice {
                    device: b.device_name().unwrap_or_default().to_string(),
                    size_gb: ebs.and_then(|e| e.volume_size()).and_then(|n| u32::try_from(n).ok()),
                    snapshot: ebs.and_then(|e| e.snapshot_id()).map(str::to_string),
                    iops: ebs
                        .filter(|e| e.volume_type() == Some(&VolumeType::Io1))
                        .and_then(|e| e.iops())
                        .and_then(|n| u32::try_from(n).ok()),
                }
            })
            .collect(),
        tags: Vec::new(),
    }
}

fn base64(data: &[u8]) -> String {
    aws_smithy_types::base64::encode(data)
}

impl Clients {
    /// Puts a new version of launch template `name` (creating the template the first time); returns
    /// the template id and the new version number.
    pub async fn put_launch_template(
        &self,
        name: &str,
        existing: Option<&str>,
        spec: &TemplateSpec,
    ) -> Result<(String, String), CloudError> {
        let interface = LaunchTemplateInstanceNetworkInterfaceSpecificationRequest::builder()
            .device_index(0)
            .associate_public_ip_address(spec.public_ip)
            .groups(&spec.security_group)
            .delete_on_termination(true);
        let mut data = RequestLaunchTemplateData::builder()
            .image_id(&spec.image)
            .instance_type(spec.instance_type.as_str().into())
            .user_data(base64(spec.user_data.as_bytes()))
            .network_interfaces(interface.build())
            .metadata_options(
                LaunchTemplateInstanceMetadataOptionsRequest::builder()
                    .http_tokens(HttpTokensState::Required.as_str().into())
                    .build(),
            );
        if let Some(key) = &spec.key_name {
            data = data.key_name(key);
        }
        if let Some(profile) = &spec.instance_profile {
            data = data.iam_instance_profile(
                LaunchTemplateIamInstanceProfileSpecificationRequest::builder().name(profile).build(),
            );
        }
        for d in &spec.block_devices {
            let mut ebs = LaunchTemplateEbsBlockDeviceRequest::builder().delete_on_termination(true);
            if let Some(size) = d.size_gb {
                ebs = ebs.volume_size(i32::try_from(size).unwrap_or(i32::MAX));
            }
            if let Some(snapshot) = &d.snapshot {
                ebs = ebs.snapshot_id(snapshot);
            }
            if let Some(iops) = d.iops {
                ebs = ebs.volume_type(VolumeType::Io1).iops(i32::try_from(iops).unwrap_or(i32::MAX));
            }
            data = data.block_device_mappings(
                LaunchTemplateBlockDeviceMappingRequest::builder().device_name(&d.device).ebs(ebs.build()).build(),
            );
        }
        let data = data.build();
        if let Some(id) = existing {
            let out = self
                .ec2
                .create_launch_template_version()
                .launch_template_id(id)
                .launch_template_data(data)
                .send()
                .await
                .classify("CreateLaunchTemplateVersion")?;
            let version = out.launch_template_version().and_then(|v| v.version_number()).unwrap_or(1);
            return Ok((id.to_string(), version.to_string()));
        }
        let out = self
            .ec2
            .create_launch_template()
            .launch_template_name(name)
            .launch_template_data(data)
            .set_tag_specifications((!spec.tags.is_empty()).then(|| {
                vec![crate::ec2::tag_spec(
                    aws_sdk_ec2::types::ResourceType::LaunchTemplate,
                    spec.tags.iter().map(|(k, v)| (k, v)),
                )]
            }))
            .send()
            .await
            .classify("CreateLaunchTemplate")?;
        let template = out.launch_template();
        Ok((
            created("CreateLaunchTemplate", template.and_then(|t| t.launch_template_id()))?,
            template.and_then(|t| t.latest_version_number()).unwrap_or(1).to_string(),
        ))
    }

    /// The launch templates spinup made for the environment in VPC `vpc_id` (tagged with its id:
    /// an `environment` tag alone proves nothing, another VPC may carry the same name).
    pub async fn vpc_templates(&self, vpc_id: &str) -> Result<Vec<crate::vpc::LaunchTemplateRef>, CloudError> {
        let tag = sila_core::environment::VPC_ID_TAG;
        let request = self
            .ec2
            .describe_launch_templates()
            .filters(crate::finders::tag_eq("DescribeLaunchTemplates", tag, vpc_id)?)
            .max_results(200);
        let found: Vec<aws_sdk_ec2::types::LaunchTemplate> = paginated!(request, "DescribeLaunchTemplates")?;
        Ok(found
            .iter()
            .filter(|t| crate::finders::has_tag(t.tags(), tag, vpc_id))
            .filter_map(|t| {
                let id = t.launch_template_id()?.to_string();
                Some(crate::vpc::LaunchTemplateRef { name: t.launch_template_name().unwrap_or(&id).to_string(), id })
            })
            .collect())
    }

    /// Deletes the launch templates `ids`; gone already counts as done.
    pub async fn delete_launch_templates(&self, ids: &[String]) -> Result<(), CloudError> {
        futures::future::try_join_all(ids.iter().map(|id| async move {
            gone(self.ec2.delete_launch_template().launch_template_id(id).send().await.classify("DeleteLaunchTemplate"))
        }))
        .await?;
        Ok(())
    }

    /// Launch template ids by name, for those of `names` that exist (one call per 200 names).
    pub async fn launch_templates_named(&self, names: &[String]) -> Result<BTreeMap<String, String>, CloudError> {
        let mut found = BTreeMap::new();
        for chunk in names.chunks(200) {
            let values: Vec<&str> = chunk.iter().map(String::as_str).collect();
            // MaxResults set: the emulator cuts the answer at its default of 15 without a NextToken.
            let request =
                self.ec2.describe_launch_templates().filters(filter("launch-template-name", &values)).max_results(200);
            let templates: Vec<aws_sdk_ec2::types::LaunchTemplate> = paginated!(request, "DescribeLaunchTemplates")?;
            for t in templates {
                if let (Some(name), Some(id)) = (t.launch_template_name(), t.launch_template_id()) {
                    found.insert(name.to_string(), id.to_string());
                }
            }
        }
        Ok(found)
    }

    /// The latest version of each of the launch templates `names` that exists, as name → (id,
    /// version, what it holds), read side by side.
    pub async fn latest_template_versions(
        &self,
        names: &[String],
    ) -> Result<BTreeMap<String, (String, String, TemplateSpec)>, CloudError> {
        let read = names.iter().map(|name| async move {
            let out = match self
                .ec2
                .describe_launch_template_versions()
                .launch_template_name(name)
                .versions("$Latest")
                .send()
                .await
                .classify("DescribeLaunchTemplateVersions")
            {
                Err(e) if e.kind == crate::ErrorKind::NotFound => return Ok(None),
                other => other?,
            };
            let Some(v) = out.launch_template_versions().first() else { return Ok(None) };
            let (Some(id), Some(number), Some(data)) =
                (v.launch_template_id(), v.version_number(), v.launch_template_data())
            else {
                return Ok(None);
            };
            Ok::<_, CloudError>(Some((name.clone(), (id.to_string(), number.to_string(), template_spec(data)))))
        });
        Ok(futures::future::try_join_all(read).await?.into_iter().flatten().collect())
    }
}
