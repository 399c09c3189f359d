//! Machine images: reading them as [`Image`]s, what still uses them, tagging, sharing and deleting.

use crate::error::Classify as _;
use crate::error::CloudError;
use crate::finders::{filter, gone, paginated};
use crate::Clients;
use aws_sdk_ec2::types::{LaunchPermission, LaunchPermissionModifications, Tag};
use sila_core::ami::{Image, PipelineImages};
use sila_core::pipeline::Pipeline;
use std::collections::BTreeMap;

fn image(i: &aws_sdk_ec2::types::Image) -> Image {
    Image {
        id: i.image_id().unwrap_or_default().to_string(),
        name: i.name().unwrap_or_default().to_string(),
        state: i.state().map(|s| s.as_str().to_string()).unwrap_or_default(),
        created: i.creation_date().unwrap_or_default().to_string(),
        owner: i.owner_id().unwrap_or_default().to_string(),
        tags: i
            .tags()
            .iter()
            .filter_map(|t| Some((t.key()?.to_string(), t.value().unwrap_or_default().to_string())))
            .collect(),
        snapshots: i
            .block_device_mappings()
            .iter()
            .filter_map(|b| b.ebs().and_then(|e| e.snapshot_id()).map(str::to_string))
            .collect(),
        devices: i.block_device_mappings().iter().filter_map(|b| b.device_name().map(str::to_string)).collect(),
        root_device: i.root_device_name().unwrap_or("/dev/sda1").to_string(),
    }
}

impl Clients {
    /// The images owned by this account (`self`) and by `trusted` accounts, optionally only those whose
    /// name matches `name` (wildcards allowed, e.g. `mhcweb *`).
    pub async fn images(&self, trusted: &[String], name: Option<&str>) -> Result<Vec<Image>, CloudError> {
        let mut owners = vec!["self".to_string()];
        owners.extend(trusted.iter().cloned());
        let mut request = self.ec2.describe_images().set_owners(Some(owners));
        if let Some(name) = name {
            request = request.filters(filter("name", &[name]));
        }
        let found: Vec<aws_sdk_ec2::types::Image> = paginated!(request, "DescribeImages")?;
        Ok(found.iter().map(image).collect())
    }

    /// The images owned by this account and `trusted` accounts whose names match any of `patterns`
    /// (e.g. `mhcweb *`), one call per 200 patterns.
    pub async fn images_named(&self, trusted: &[String], patterns: &[String]) -> Result<Vec<Image>, CloudError> {
        let mut owners = vec!["self".to_string()];
        owners.extend(trusted.iter().cloned());
        let mut images = Vec::new();
        for chunk in patterns.chunks(200) {
            let values: Vec<&str> = chunk.iter().map(String::as_str).collect();
            let request = self.ec2.describe_images().set_owners(Some(owners.clone())).filters(filter("name", &values));
            let found: Vec<aws_sdk_ec2::types::Image> = paginated!(request, "DescribeImages")?;
            images.extend(found.iter().map(image));
        }
        Ok(images)
    }

    /// The images with these ids (any owner).
    pub async fn images_by_id(&self, ids: &[String]) -> Result<Vec<Image>, CloudError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let request = self.ec2.describe_images().set_image_ids(Some(ids.to_vec()));
        let found: Vec<aws_sdk_ec2::types::Image> = paginated!(request, "DescribeImages")?;
        Ok(found.iter().map(image).collect())
    }

    /// The images among `ids` that exist: one call, or one per id when some are missing (a missing
    /// id fails the whole call).
    pub async fn existing_images(&self, ids: &[String]) -> Result<Vec<Image>, CloudError> {
        match self.images_by_id(ids).await {
            Err(e) if e.kind == crate::ErrorKind::NotFound => {
                let mut found = Vec::new();
                for id in ids {
                    match self.images_by_id(std::slice::from_ref(id)).await {
                        Err(e) if e.kind == crate::ErrorKind::NotFound => {}
                        other => found.extend(other?),
                    }
                }
                Ok(found)
            }
            other => other,
        }
    }

    /// The images `pipeline`'s rows can run, this account's and `trusted` accounts' (see
    /// [`PipelineImages`]), in two reads side by side.
    pub async fn pipeline_images(&self, trusted: &[String], pipeline: &Pipeline) -> Result<PipelineImages, CloudError> {
        let (patterns, ids) = PipelineImages::wanted(pipeline);
        let (images, pinned) = tokio::try_join!(self.images_named(trusted, &patterns), self.existing_images(&ids))?;
        Ok(PipelineImages { images, pinned: pinned.into_iter().map(|i| (i.id.clone(), i)).collect() })
    }

    /// Image id → instances (not terminated) using it, for the images in `ids`.
    pub async fn instances_using(&self, ids: &[String]) -> Result<BTreeMap<String, Vec<String>>, CloudError> {
        let mut users: BTreeMap<String, Vec<String>> = BTreeMap::new();
        // The image-id filter takes up to 200 values a call.
        for chunk in ids.chunks(200) {
            let values: Vec<&str> = chunk.iter().map(String::as_str).collect();
            let states = ["pending", "running", "stopping", "stopped"];
            let request = self
                .ec2
                .describe_instances()
                .filters(filter("image-id", &values))
                .filters(filter("instance-state-name", &states));
            let reservations: Vec<aws_sdk_ec2::types::Reservation> = paginated!(request, "DescribeInstances")?;
            for i in reservations.iter().flat_map(|r| r.instances()) {
                if let (Some(image), Some(id)) = (i.image_id(), i.instance_id()) {
                    users.entry(image.to_string()).or_default().push(id.to_string());
                }
            }
        }
        Ok(users)
    }

    /// The images of these instances.
    pub async fn images_of_instances(&self, instances: &[String]) -> Result<Vec<String>, CloudError> {
        let request = self.ec2.describe_instances().set_instance_ids(Some(instances.to_vec()));
        let reservations: Vec<aws_sdk_ec2::types::Reservation> = paginated!(request, "DescribeInstances")?;
        Ok(reservations.iter().flat_map(|r| r.instances()).filter_map(|i| i.image_id().map(str::to_string)).collect())
    }

    /// Image id → launch template versions (`name v3`) that name it, over every version of every
    /// launch template of the region.
    pub async fn templates_using(&self) -> Result<BTreeMap<String, Vec<String>>, CloudError> {
        let templates: Vec<aws_sdk_ec2::types::LaunchTemplate> =
            paginated!(self.ec2.describe_launch_templates(), "DescribeLaunchTemplates")?;
        let mut users: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for t in &templates {
            let id = t.launch_template_id().unwrap_or_default();
            let request = self.ec2.describe_launch_template_versions().launch_template_id(id);
            let versions: Vec<aws_sdk_ec2::types::LaunchTemplateVersion> =
                paginated!(request, "DescribeLaunchTemplateVersions")?;
            for v in versions {
                if let Some(image) = v.launch_template_data().and_then(|d| d.image_id()) {
                    let name = t.launch_template_name().unwrap_or(id);
                    users
                        .entry(image.to_string())
                        .or_default()
                        .push(format!("{name} v{}", v.version_number().unwrap_or(0)));
                }
            }
        }
        Ok(users)
    }

    /// Sets tags on an image (replacing values of existing keys).
    pub async fn tag_image(&self, id: &str, tags: &[(String, String)]) -> Result<(), CloudError> {
        let tags: Vec<Tag> = tags.iter().map(|(k, v)| Tag::builder().key(k).value(v).build()).collect();
        self.ec2.create_tags().resources(id).set_tags(Some(tags)).send().await.classify("CreateTags")?;
        Ok(())
    }

    /// The accounts an image is shared with.
    pub async fn launch_permissions(&self, id: &str) -> Result<Vec<String>, CloudError> {
        let out = self
            .ec2
            .describe_image_attribute()
            .image_id(id)
            .attribute(aws_sdk_ec2::types::ImageAttributeName::LaunchPermission)
            .send()
            .await
            .classify("DescribeImageAttribute")?;
        Ok(out.launch_permissions().iter().filter_map(|p| p.user_id().map(str::to_string)).collect())
    }

    /// Shares an image with `accounts` and records them in its `shared_with_account_ids` tag.
    pub async fn share_image(&self, id: &str, accounts: &[String]) -> Result<(), CloudError> {
        let permissions: Vec<LaunchPermission> =
            accounts.iter().map(|a| LaunchPermission::builder().user_id(a).build()).collect();
        self.ec2
            .modify_image_attribute()
            .image_id(id)
            .launch_permission(LaunchPermissionModifications::builder().set_add(Some(permissions)).build())
            .send()
            .await
            .classify("ModifyImageAttribute")?;
        self.tag_image(id, &[("shared_with_account_ids".to_string(), accounts.join(","))]).await
    }

    /// Deregisters an image, then deletes the snapshots its block devices referenced (the
    /// deregistration frees them; AWS refuses to delete a snapshot a registered image uses).
    pub async fn delete_image(&self, image: &Image) -> Result<(), CloudError> {
        gone(self.ec2.deregister_image().image_id(&image.id).send().await.classify("DeregisterImage"))?;
        for snapshot in &image.snapshots {
            gone(self.ec2.delete_snapshot().snapshot_id(snapshot).send().await.classify("DeleteSnapshot"))?;
        }
        Ok(())
    }
}
