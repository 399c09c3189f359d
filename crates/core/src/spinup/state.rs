//! What provisioning reads and writes, as plain data: `sila-cloud` fills and sends these, the
//! spinup plan decides them.

use crate::pipeline::GroupSizes;
use crate::provision::BlockDevice;
use std::collections::BTreeMap;

/// The parts of an environment provisioning needs.
#[derive(Debug, Clone, Default)]
pub struct EnvironmentFacts {
    /// Its VPC.
    pub vpc_id: String,
    /// The VPC's `type` tag.
    pub vpc_type: Option<String>,
    /// The VPC's `environment_class` tag (Asiaq's default: `development`).
    pub environment_class: String,
    /// Subnet ids by metanetwork, sorted by zone.
    pub subnets: BTreeMap<String, Vec<String>>,
    /// Security group id by metanetwork.
    pub groups: BTreeMap<String, String>,
    /// CIDR by subnet id.
    pub subnet_cidrs: BTreeMap<String, String>,
}

/// What a launch template version holds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TemplateSpec {
    /// The image.
    pub image: String,
    /// The instance type.
    pub instance_type: String,
    /// The SSH key pair, if any.
    pub key_name: Option<String>,
    /// The instance profile, if any.
    pub instance_profile: Option<String>,
    /// The metanetwork's security group.
    pub security_group: String,
    /// Whether instances get a public address.
    pub public_ip: bool,
    /// The user data, as text (sent base64-encoded).
    pub user_data: String,
    /// The block devices.
    pub block_devices: Vec<BlockDevice>,
    /// Tags of the template itself (set when it is created): `environment` and `hostclass`, by
    /// which `sila-vpc destroy` finds the environment's templates.
    pub tags: Vec<(String, String)>,
}

impl TemplateSpec {
    /// Whether a version made from `self` would hold what `other` (a version read back) holds:
    /// everything but the template's own tags.
    pub fn same_version(&self, other: &TemplateSpec) -> bool {
        let mut mine = self.clone();
        mine.tags.clone_from(&other.tags);
        mine == *other
    }
}

/// An autoscaling group of a hostclass, as read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GroupState {
    /// Its name.
    pub name: String,
    /// Its sizes.
    pub sizes: GroupSizes,
    /// Instance ids and their lifecycle state (`InService`, `Pending`, ...).
    pub instances: Vec<(String, String)>,
    /// The launch template (id, version) it launches from.
    pub template: Option<(String, String)>,
    /// Its subnets, sorted.
    pub subnets: Vec<String>,
    /// Its termination policies.
    pub termination_policies: Vec<String>,
    /// Its tags that propagate at launch.
    pub tags: BTreeMap<String, String>,
    /// The ARNs of the target groups it registers its instances with.
    pub target_groups: Vec<String>,
}

/// What a group is set to.
#[derive(Debug, Clone, Default)]
pub struct GroupSpec {
    /// Its name.
    pub name: String,
    /// The launch template.
    pub template_id: String,
    /// The template version.
    pub template_version: String,
    /// Its sizes.
    pub sizes: GroupSizes,
    /// Its subnets.
    pub subnets: Vec<String>,
    /// Its termination policies.
    pub termination_policies: Vec<String>,
    /// Its tags, propagated at launch.
    pub tags: Vec<(String, String)>,
    /// The ARNs of the target groups its instances are registered with.
    pub target_groups: Vec<String>,
}
