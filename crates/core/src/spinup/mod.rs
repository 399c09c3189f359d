//! Spinup as read → pure plan → apply (reference §4.10, §4.12).
//!
//! `sila-aws` resolves every hostclass's options once ([`HostclassSettings`]), reads everything the
//! plan needs from AWS at once ([`SpinupReads`]: the environment, images and their devices,
//! snapshots, groups, templates, schedules, policies, elastic IPs), and calls [`plan_pipeline`], a
//! pure function: for each row, the group's name, sizes, subnets, launch template and what
//! changes. The result is data apply executes ([`GroupPlan`]); what `--dry-run` and `--output json`
//! show is a separate view of it ([`GroupView`]). Waits (a snapshot still being taken, smoke
//! tests) belong to apply.

mod plan;
pub mod settings;
pub mod state;
mod view;

pub use plan::{plan_pipeline, target_group_of_arn, GroupPlan, ProvisionPlan, SpinupInput, SpinupReads};
pub use settings::{HostclassSettings, ServiceHostclasses};
pub use state::{EnvironmentFacts, GroupSpec, GroupState, TemplateSpec};
pub use view::GroupView;
