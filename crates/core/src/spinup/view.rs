//! What `--dry-run` and `--output json` show of a spinup plan: a view of the data apply executes,
//! in the fields and words the tool has always printed.

use super::plan::{GroupPlan, ProvisionPlan};
use crate::pipeline::GroupSizes;
use serde::Serialize;
use std::path::Path;

/// One row of the plan as shown.
#[derive(Debug, Clone, Serialize)]
pub struct GroupView {
    /// The pipeline sequence.
    pub sequence: u32,
    /// The hostclass.
    pub hostclass: String,
    /// The image.
    pub image: String,
    /// The metanetwork.
    pub metanetwork: String,
    /// The instance type.
    pub instance_type: String,
    /// The group.
    pub group: String,
    /// A new group.
    pub create: bool,
    /// Its sizes.
    pub sizes: GroupSizes,
    /// The number of scheduled actions.
    pub scheduled_actions: usize,
    /// Waits for the smoke test.
    pub smoke_test: bool,
    /// Static private addresses (`ip_address`): their floating interfaces are made if missing, and
    /// the group runs only in their subnets.
    pub static_ips: Vec<String>,
    /// The hostclass's newest snapshot, restored as a volume.
    pub snapshot: Option<String>,
    /// Nothing to change: the template's latest version, the group, its policies and its schedule
    /// are as wanted (a re-run changes nothing).
    pub unchanged: bool,
    /// What changes in an existing group.
    pub changes: Vec<&'static str>,
    /// The load balancer its instances serve (`elb = true`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub load_balancer: Option<String>,
}

impl From<&GroupPlan> for GroupView {
    fn from(p: &GroupPlan) -> Self {
        GroupView {
            sequence: p.sequence,
            hostclass: p.hostclass.clone(),
            image: p.template.image.clone(),
            metanetwork: p.metanetwork.clone(),
            instance_type: p.template.instance_type.clone(),
            group: p.group.clone(),
            create: p.create,
            sizes: p.sizes,
            scheduled_actions: p.actions.len(),
            smoke_test: p.smoke_test,
            static_ips: p.interfaces.iter().map(|(ip, _)| ip.clone()).collect(),
            snapshot: p.snapshot.as_ref().map(|(id, _)| id.clone()),
            unchanged: p.unchanged,
            changes: p.changes.clone(),
            load_balancer: p.load_balancer.clone(),
        }
    }
}

impl ProvisionPlan {
    /// The view of every row.
    pub fn view(&self) -> Vec<GroupView> {
        self.groups.iter().map(GroupView::from).collect()
    }

    /// The plan as people read it: `spinup PATH in ENV (N hostclass(es))`, then a line per row:
    /// `+ create`, `= unchanged` or `~ update (why)`, with its type, image, network and sizes.
    pub fn render(&self, pipeline: &Path, env: &str) -> String {
        let mut text = format!("spinup {} in {env} ({} hostclass(es))\n", pipeline.display(), self.groups.len());
        for p in self.view() {
            text.push_str(&format!(
                "  sequence {}: {} {} {} from {} in {} (min {}, desired {}, max {}, {} scheduled action(s)){}{}{}{}\n",
                p.sequence,
                if p.create {
                    "+ create".to_string()
                } else if p.unchanged {
                    "= unchanged".to_string()
                } else {
                    format!("~ update ({})", p.changes.join(", "))
                },
                p.group,
                p.instance_type,
                p.image,
                p.metanetwork,
                p.sizes.min,
                p.sizes.desired,
                p.sizes.max,
                p.scheduled_actions,
                if p.smoke_test { ", smoke test" } else { "" },
                if p.static_ips.is_empty() { String::new() } else { format!(", static {}", p.static_ips.join(" ")) },
                p.snapshot.as_ref().map(|s| format!(", volume from {s}")).unwrap_or_default(),
                p.load_balancer.as_ref().map(|l| format!(", behind load balancer {l}")).unwrap_or_default(),
            ));
        }
        text
    }
}
