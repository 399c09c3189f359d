//! `plan_pipeline`: from the settings and what was read, each row's group, sizes, subnets, launch
//! template and what changes. Pure: no AWS, no clock, no environment variables (the caller passes
//! the time and the acting user).

use super::settings::{HostclassSettings, ServiceHostclasses};
use super::state::{EnvironmentFacts, GroupState, TemplateSpec};
use crate::ami::PipelineImages;
use crate::pipeline::{self, GroupSizes, Pipeline, PipelineRow, ScheduledAction};
use crate::provision::{self as prov, UserData};
use ipnetwork::Ipv4Network;
use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;

/// What a spinup plan reads from AWS, all of it before planning (one call of each kind for all
/// hostclasses, side by side).
#[derive(Debug, Clone, Default)]
pub struct SpinupReads {
    /// The environment's VPC, subnets and groups.
    pub facts: EnvironmentFacts,
    /// The images the rows can run (with their device names).
    pub images: PipelineImages,
    /// Newest snapshot by hostclass: (id, size in GB, completed).
    pub snapshots: BTreeMap<String, (String, u32, bool)>,
    /// The environment's groups by hostclass.
    pub groups: BTreeMap<String, Vec<GroupState>>,
    /// Existing launch templates by name: (id, latest version, what it holds).
    pub templates: BTreeMap<String, (String, String, TemplateSpec)>,
    /// Recurring scheduled actions by group.
    pub schedules: BTreeMap<String, Vec<(String, ScheduledAction)>>,
    /// Groups whose default scaling policies are in place.
    pub policies: BTreeSet<String>,
    /// The configured elastic IPs that are allocated to the account.
    pub eips: Vec<String>,
}

impl SpinupReads {
    /// The reads as they will be once the pipeline's hostclasses are spun down: without their
    /// groups and launch templates (what spindownandup plans its spinup from).
    pub fn spun_down(&mut self, env: &str, pipeline: &Pipeline) {
        for row in &pipeline.rows {
            self.groups.remove(&row.hostclass);
            self.templates.remove(&format!("{env}_{}", row.hostclass));
        }
    }
}

/// Everything a spinup decides from besides the reads.
#[derive(Debug, Clone)]
pub struct SpinupInput<'a> {
    /// The environment.
    pub env: &'a str,
    /// The pipeline.
    pub pipeline: &'a Pipeline,
    /// The image stages to run, in preference order (`--stage`, else the type's `ami_stage`).
    pub stages: Vec<String>,
    /// The acting user (the `owner` tag and user data).
    pub owner: String,
    /// `project_name` of `[disco_aws]`.
    pub project: Option<String>,
    /// The environment's credential buckets.
    pub credential_buckets: Vec<String>,
    /// `--testing`.
    pub testing: bool,
    /// `--no-smoke-test`.
    pub no_smoke_test: bool,
    /// Now, in seconds since the epoch (the name of a new group).
    pub epoch: u64,
    /// The settings of every hostclass of the pipeline and of the service hostclasses.
    pub hostclasses: BTreeMap<String, HostclassSettings>,
    /// The service hostclasses whose addresses go into user data.
    pub services: ServiceHostclasses,
    /// The load balancer of each hostclass that has one (`elb = true`).
    pub load_balancers: BTreeMap<String, crate::elb::LoadBalancerSpec>,
}

/// What apply does for one row (the view `--dry-run` prints is [`super::GroupView`]).
#[derive(Debug, Clone, Default)]
pub struct GroupPlan {
    /// The pipeline sequence.
    pub sequence: u32,
    /// The hostclass.
    pub hostclass: String,
    /// The group: the existing one, or `<env>_<hostclass>_<epoch>`.
    pub group: String,
    /// A new group (else one updated in place, or left alone).
    pub create: bool,
    /// Its sizes.
    pub sizes: GroupSizes,
    /// The subnets it runs in (pinned to its static addresses' subnets when it has any).
    pub subnets: Vec<String>,
    /// The metanetwork.
    pub metanetwork: String,
    /// (address, subnet) of each static address: its floating interface is made if missing.
    pub interfaces: Vec<(String, String)>,
    /// The launch template `<env>_<hostclass>`, when it exists.
    pub template_id: Option<String>,
    /// Its latest version, when that holds what is wanted (no new version then).
    pub template_version: Option<String>,
    /// What the template version holds.
    pub template: TemplateSpec,
    /// The group already is as wanted (template version, sizes, subnets, termination policies, tags).
    pub group_unchanged: bool,
    /// Its default scaling policies are in place.
    pub policies_in_place: bool,
    /// The group's recurring scheduled actions now.
    pub schedules: Vec<(String, ScheduledAction)>,
    /// The scheduled actions wanted.
    pub actions: Vec<ScheduledAction>,
    /// Termination policies (none: left as they are).
    pub termination_policies: Vec<String>,
    /// The group's tags.
    pub tags: Vec<(String, String)>,
    /// Wait for the smoke test of its instances before the next sequence.
    pub smoke_test: bool,
    /// The hostclass's newest snapshot, restored as a volume: (id, still being taken).
    pub snapshot: Option<(String, bool)>,
    /// Nothing changes at all (a re-run).
    pub unchanged: bool,
    /// Why an existing group changes.
    pub changes: Vec<&'static str>,
    /// The load balancer its instances serve, by name.
    pub load_balancer: Option<String>,
    /// The names of the target groups it registers with (its load balancer's).
    pub target_groups: Vec<String>,
    /// The ARNs of the target groups it registers with now.
    pub current_target_groups: Vec<String>,
}

/// The plan of a spinup: its groups in sequence order, and warnings that change nothing.
#[derive(Debug, Clone, Default)]
pub struct ProvisionPlan {
    /// One per row, by sequence.
    pub groups: Vec<GroupPlan>,
    /// Things to log (a service hostclass whose address cannot be resolved).
    pub warnings: Vec<String>,
}

/// The static addresses of `settings`' hostclass in this environment (`ip_address`, offsets
/// resolved in its metanetwork's subnets), each with the subnet holding it; an error names the
/// config line.
fn static_addresses(
    settings: &HostclassSettings,
    facts: &EnvironmentFacts,
    env: &str,
) -> Result<Vec<(Ipv4Addr, String)>, String> {
    let Some(r) = &settings.ip_address else { return Ok(Vec::new()) };
    let meta = settings.meta_network.clone().unwrap_or_default();
    let subnets: Vec<(String, Ipv4Network)> = facts
        .subnets
        .get(&meta)
        .into_iter()
        .flatten()
        .filter_map(|id| Some((id.clone(), facts.subnet_cidrs.get(id)?.parse().ok()?)))
        .collect();
    if subnets.is_empty() {
        return Err(format!("{}: environment {env} has no {meta:?} subnets", r.origin));
    }
    let cidrs: Vec<Ipv4Network> = subnets.iter().map(|(_, c)| *c).collect();
    let ips = crate::net::static_ips(&r.value, &cidrs).map_err(|e| format!("{}: {e}", r.origin))?;
    Ok(ips
        .into_iter()
        .map(|ip| (ip, subnets.iter().find(|(_, c)| c.contains(ip)).map(|(id, _)| id.clone()).unwrap_or_default()))
        .collect())
}

/// The plan of a spinup. Errors: the first that stops planning (a hostclass with no metanetwork,
/// two groups for one hostclass, a bad `tags` option), else every row that cannot start (no image,
/// a bad static address, IOPS that do not suit the restored volume, an elastic IP that does not
/// exist), joined, after `nothing changed; `.
pub fn plan_pipeline(input: &SpinupInput<'_>, reads: &SpinupReads) -> Result<ProvisionPlan, String> {
    let env = input.env;
    let facts = &reads.facts;
    let batches = input.pipeline.sequence_batches().map_err(|d| d.to_string())?;
    let stages: Vec<&str> = input.stages.iter().map(String::as_str).collect();
    let no_settings = HostclassSettings::default();
    let settings_of = |h: &str| input.hostclasses.get(h).unwrap_or(&no_settings);
    let mut plan = ProvisionPlan::default();
    // Other hostclasses' static addresses on-box scripts use (§3.13); `None` when unset.
    let mut ip_of = |key: &str, hostclass: Option<&String>| {
        let hostclass = hostclass?;
        match static_addresses(settings_of(hostclass), facts, env) {
            Ok(found) => found.first().map(|(ip, _)| ip.to_string()),
            Err(e) => {
                plan.warnings.push(format!("{key}={hostclass}: {e}"));
                None
            }
        }
    };
    let services = &input.services;
    let proxy_ip = ip_of("http_proxy_hostclass", services.http_proxy.as_ref());
    let logger_ip = ip_of("logger_hostclass", services.logger.as_ref());
    let logforwarder_ip = ip_of("logforwarder_hostclass", services.logforwarder.as_ref());
    let mut eips: Vec<(String, String)> = Vec::new();
    let mut missing = Vec::new();
    for (sequence, rows) in batches {
        for row in rows {
            let h = &row.hostclass;
            let settings = settings_of(h);
            let Some(image) = reads.images.of(row, &stages).cloned() else {
                missing.push(PipelineImages::missing_reason(&input.pipeline.path, row, &stages));
                continue;
            };
            let meta = settings
                .meta_network
                .clone()
                .ok_or_else(|| format!("{h}: no meta_network (nor default_meta_network)"))?;
            let subnets = facts.subnets.get(&meta).cloned().unwrap_or_default();
            let (Some(group_id), false) = (facts.groups.get(&meta).cloned(), subnets.is_empty()) else {
                return Err(format!("{h}: environment {env} has no {meta} metanetwork (subnets and security group)"));
            };
            let statics = match static_addresses(settings, facts, env) {
                Ok(found) => found,
                Err(e) => {
                    missing.push(e);
                    continue;
                }
            };
            // A static address fixes the subnet (and so the zone) the group may run in.
            let subnets = if statics.is_empty() {
                subnets
            } else {
                let mut pinned: Vec<String> = Vec::new();
                for (_, subnet) in &statics {
                    if !pinned.contains(subnet) {
                        pinned.push(subnet.clone());
                    }
                }
                pinned
            };
            if let Some(e) = &settings.eip {
                eips.push((h.clone(), e.clone()));
            }
            let snapshot = reads.snapshots.get(h).map(|(id, size, completed)| (id.clone(), *size, *completed));
            // io1 IOPS must suit the restored volume too, whose size is known only now.
            if let Some((_, gb, _)) = &snapshot {
                for (column, problem) in crate::limits::check_volumes(None, None, row.iops, Some(*gb)) {
                    missing.push(format!("{}:{}: {h}: {column}: {problem}", input.pipeline.path.display(), row.line));
                }
            }
            let existing: &[GroupState] = reads.groups.get(h).map_or(&[], Vec::as_slice);
            if existing.len() > 1 {
                let names: Vec<&str> = existing.iter().map(|g| g.name.as_str()).collect();
                return Err(format!(
                    "{h}: more than one autoscaling group ({}); remove the extra ones first",
                    names.join(", ")
                ));
            }
            let wanted = row.wanted_sizes();
            let (group, create, sizes) = match existing.first() {
                Some(g) => (g.name.clone(), false, pipeline::updated_group_sizes(g.sizes, wanted)),
                None => (pipeline::group_name(env, h, input.epoch), true, pipeline::new_group_sizes(wanted)),
            };
            let user_data = UserData {
                hostclass: h.clone(),
                environment_name: env.to_string(),
                domain_name: settings.domain_name.clone(),
                owner: input.owner.clone(),
                project_name: input.project.clone(),
                credential_buckets: input.credential_buckets.clone(),
                enable_proxy: settings.enable_proxy,
                http_proxy_ip: proxy_ip.clone(),
                logger_ip: logger_ip.clone(),
                logforwarder_ip: logforwarder_ip.clone(),
                floating_ips: statics.iter().map(|(ip, _)| ip.to_string()).collect(),
                eip: settings.eip.clone(),
                smoketest_termination: settings.smoketest_termination,
                ..UserData::default()
            };
            let extra_tags = settings.tags.clone()?;
            let chaos = settings.chaos(row.chaos);
            let tags =
                prov::group_tags(h, &input.owner, env, &facts.environment_class, chaos, input.testing, &extra_tags);
            let instance_type = row.first_instance_type().unwrap_or("m3.large").to_string();
            let template = TemplateSpec {
                image: image.id.clone(),
                instance_type: instance_type.clone(),
                key_name: settings.ssh_key_name.clone(),
                instance_profile: settings.instance_profile.clone(),
                security_group: group_id,
                public_ip: settings.public_ip,
                user_data: user_data.render(),
                block_devices: prov::block_devices(
                    &image.devices,
                    &image.root_device,
                    row.extra_space,
                    snapshot.as_ref().map(|(id, size, _)| (id.clone(), *size)),
                    row.extra_disk,
                    row.iops,
                ),
                tags: vec![
                    ("environment".into(), env.to_string()),
                    ("hostclass".into(), h.clone()),
                    (crate::environment::VPC_ID_TAG.into(), facts.vpc_id.clone()),
                ],
            };
            let live_template = reads.templates.get(&format!("{env}_{h}"));
            let mut planned = GroupPlan {
                sequence,
                hostclass: h.clone(),
                schedules: reads.schedules.get(&group).cloned().unwrap_or_default(),
                policies_in_place: reads.policies.contains(&group),
                group,
                create,
                sizes,
                subnets,
                metanetwork: meta,
                interfaces: statics.iter().map(|(ip, subnet)| (ip.to_string(), subnet.clone())).collect(),
                template_id: live_template.map(|(id, _, _)| id.clone()),
                // What is already as wanted is left alone, so a re-run changes nothing.
                template_version: live_template
                    .filter(|(_, _, held)| template.same_version(held))
                    .map(|(_, version, _)| version.clone()),
                template,
                actions: row.scheduled_actions(),
                termination_policies: row.termination_policies.clone(),
                tags,
                smoke_test: row.smoke_test && !input.no_smoke_test,
                snapshot: snapshot.map(|(id, _, completed)| (id, !completed)),
                load_balancer: input.load_balancers.get(h).map(|lb| lb.name.clone()),
                target_groups: input
                    .load_balancers
                    .get(h)
                    .map(|lb| lb.target_groups.iter().map(|t| t.name.clone()).collect())
                    .unwrap_or_default(),
                current_target_groups: existing.first().map(|g| g.target_groups.clone()).unwrap_or_default(),
                ..GroupPlan::default()
            };
            decide_changes(&mut planned, existing.first(), row);
            plan.groups.push(planned);
        }
    }
    // Elastic IPs the on-box scripts associate must exist: checked now, not found at boot.
    for (h, eip) in &eips {
        if !reads.eips.contains(eip) {
            missing.push(format!("[{h}] eip {eip}: no such elastic IP in this account"));
        }
    }
    if !missing.is_empty() {
        return Err(format!("nothing changed; {}", missing.join("; ")));
    }
    Ok(plan)
}

/// The name in a target group ARN (`arn:aws:elasticloadbalancing:...:targetgroup/<name>/<id>`).
pub fn target_group_of_arn(arn: &str) -> Option<&str> {
    arn.split_once(":targetgroup/").and_then(|(_, rest)| rest.split('/').next())
}

/// Why an existing group changes (what `--dry-run` says), and whether anything changes at all.
fn decide_changes(p: &mut GroupPlan, existing: Option<&GroupState>, row: &PipelineRow) {
    let mut subnets_sorted = p.subnets.clone();
    subnets_sorted.sort();
    if let Some(g) = existing {
        if p.template_version.is_none() {
            p.changes.push("new template version");
        } else if g.template.as_ref().map(|(id, v)| (Some(id), Some(v)))
            != Some((p.template_id.as_ref(), p.template_version.as_ref()))
        {
            p.changes.push("template version");
        }
        if g.sizes != p.sizes {
            p.changes.push("sizes");
        }
        if g.subnets != subnets_sorted {
            p.changes.push("subnets");
        }
        if !row.termination_policies.is_empty() && g.termination_policies != row.termination_policies {
            p.changes.push("termination policies");
        }
        if !p.tags.iter().all(|(k, v)| g.tags.get(k) == Some(v)) {
            p.changes.push("tags");
        }
        let mut registered: Vec<&str> = g.target_groups.iter().filter_map(|arn| target_group_of_arn(arn)).collect();
        registered.sort_unstable();
        let mut wanted: Vec<&str> = p.target_groups.iter().map(String::as_str).collect();
        wanted.sort_unstable();
        if registered != wanted {
            p.changes.push("target groups");
        }
    }
    // Only the group's own settings are listed so far; policies and actions come next.
    p.group_unchanged = existing.is_some() && p.changes.is_empty();
    if !p.create && !p.policies_in_place {
        p.changes.push("scaling policies");
    }
    let wanted: Vec<(String, ScheduledAction)> =
        p.actions.iter().map(|a| (pipeline::scheduled_action_name(&p.group, &a.cron), a.clone())).collect();
    let schedule_unchanged = wanted.len() == p.schedules.len() && wanted.iter().all(|w| p.schedules.contains(w));
    if !p.create && !schedule_unchanged {
        p.changes.push("scheduled actions");
    }
    p.unchanged = !p.create && p.changes.is_empty();
}

#[cfg(test)]
mod tests;
