//! `spinup` and `spindown`: a pipeline CSV's hostclasses as launch templates and autoscaling groups.
//!
//! Spinup resolves every row first (image, metanetwork, subnets, group): a missing image or network
//! stops it with nothing changed. Then, sequence by sequence in ascending order, it provisions the
//! rows of a sequence at once and waits until each smoke-tested group has its minimum of instances,
//! all tagged `smoketest`; a failed instance or the deadline stops it before the next sequence.

use anyhow::{anyhow, bail, Context as _};
use clap::Args;
use ipnetwork::Ipv4Network;
use serde::Serialize;
use sila_cli::{GlobalArgs, Printer, Progress, UsageError};
use sila_cloud::provision::{EnvironmentFacts, GroupSpec, GroupState, TemplateSpec};
use sila_cloud::Clients;
use sila_core::ami;
use sila_core::config::{AwsConfig, ConfigFile, VpcConfig, GLOBAL_SECTION};
use sila_core::pipeline::{self, GroupSizes, Pipeline, PipelineRow, ScheduledAction, Size};
use sila_core::provision::{self as prov, UserData};
use sila_core::truth::truthy;
use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::time::Duration;
use tokio::time::Instant;

/// Arguments of `spinup`.
#[derive(Debug, Args)]
pub struct SpinupArgs {
    /// The pipeline CSV
    #[arg(long, value_name = "CSV")]
    pub pipeline: PathBuf,
    #[command(flatten)]
    pub run: RunArgs,
}

/// Arguments of `provision`: one hostclass, as a one-row pipeline.
#[derive(Debug, Args)]
pub struct ProvisionArgs {
    /// The hostclass
    #[arg(long, value_name = "HOSTCLASS")]
    pub hostclass: String,
    /// This image instead of the newest in the stage
    #[arg(long, value_name = "AMI")]
    pub ami: Option<String>,
    /// Instance type [default: m3.large]
    #[arg(long = "instance-type", alias = "instance_type", value_name = "TYPE")]
    pub instance_type: Option<String>,
    /// GB added to the 8 GB root volume
    #[arg(long = "extra-space", alias = "extra_space", value_name = "GB", value_parser = sila_cli::values::extra_space_gb)]
    pub extra_space: Option<u32>,
    /// GB of an extra volume
    #[arg(long = "extra-disk", alias = "extra_disk", value_name = "GB", value_parser = sila_cli::values::extra_disk_gb)]
    pub extra_disk: Option<u32>,
    /// Provisioned IOPS (io1) of the extra volume
    #[arg(long, value_name = "N", value_parser = sila_cli::values::iops)]
    pub iops: Option<u32>,
    /// Minimum size (a number, or N@cron:M@cron)
    #[arg(long = "min-size", alias = "min_size", value_name = "SIZE")]
    pub min_size: Option<String>,
    /// Desired size (a number, or N@cron:M@cron)
    #[arg(long = "desired-size", alias = "desired_size", value_name = "SIZE")]
    pub desired_size: Option<String>,
    /// Maximum size (a number, or N@cron:M@cron)
    #[arg(long = "max-size", alias = "max_size", value_name = "SIZE")]
    pub max_size: Option<String>,
    /// Take the hostclass out of chaos
    #[arg(long = "no-chaos", alias = "no_chaos")]
    pub no_chaos: bool,
    #[command(flatten)]
    pub run: RunArgs,
}

/// What `spinup` and `provision` share.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Image stage(s) to pick from, in priority order (a,b) [default: the environment type's ami_stage]
    #[arg(long, value_name = "STAGE")]
    pub stage: Option<String>,
    /// Do not wait for smoke tests
    #[arg(long = "no-smoke-test", alias = "no_smoke_test")]
    pub no_smoke_test: bool,
    /// Tag the groups is_testing=1
    #[arg(long)]
    pub testing: bool,
    /// How long smoke tests may take, all sequences together (e.g. 20m)
    #[arg(long, value_name = "DURATION", default_value = "20m", value_parser = sila_cli::values::deadline)]
    pub deadline: Duration,
    /// Print every group that would be created or changed, and why; change nothing
    #[arg(long = "dry-run")]
    pub dry_run: bool,
}

/// Arguments of `spindown`.
#[derive(Debug, Args)]
pub struct SpindownArgs {
    /// The pipeline CSV
    #[arg(long, value_name = "CSV")]
    pub pipeline: PathBuf,
    /// Print what would be removed; change nothing
    #[arg(long = "dry-run")]
    pub dry_run: bool,
}

/// One row, resolved.
#[derive(Debug, Serialize)]
struct Planned {
    sequence: u32,
    hostclass: String,
    image: String,
    metanetwork: String,
    instance_type: String,
    group: String,
    create: bool,
    sizes: GroupSizes,
    scheduled_actions: usize,
    smoke_test: bool,
    /// Static private addresses (`ip_address`): their floating interfaces are made if missing,
    /// and the group runs only in their subnets.
    static_ips: Vec<String>,
    /// The hostclass's newest snapshot, restored as a volume.
    snapshot: Option<String>,
    #[serde(skip)]
    subnets: Vec<String>,
    /// (address, subnet) of each static address.
    #[serde(skip)]
    interfaces: Vec<(String, String)>,
    /// Nothing to change: the template's latest version, the group, its policies and its schedule
    /// are as wanted (a re-run changes nothing).
    unchanged: bool,
    /// What changes in an existing group.
    changes: Vec<&'static str>,
    /// The launch template `<env>_<hostclass>`, when it exists.
    #[serde(skip)]
    template_id: Option<String>,
    /// Its latest version, when that holds what is wanted (no new version then).
    #[serde(skip)]
    template_version: Option<String>,
    /// The group already is as wanted (template version, sizes, subnets, termination policies, tags).
    #[serde(skip)]
    group_unchanged: bool,
    /// Its default scaling policies are in place.
    #[serde(skip)]
    policies_in_place: bool,
    /// The group's recurring scheduled actions now.
    #[serde(skip)]
    schedules: Vec<(String, ScheduledAction)>,
    #[serde(skip)]
    template: TemplateSpec,
    #[serde(skip)]
    row: PipelineRow,
    #[serde(skip)]
    tags: Vec<(String, String)>,
}

pub(crate) struct Context {
    pub(crate) env: String,
    pub(crate) aws: AwsConfig,
    pub(crate) facts: EnvironmentFacts,
    pub(crate) clients: Clients,
}

pub(crate) async fn context(global: &GlobalArgs) -> anyhow::Result<Context> {
    let aws = global.aws_config()?;
    let env = global.environment(&aws)?;
    let clients = global.clients().await?;
    let facts = clients
        .environment_facts(&env)
        .await?
        .ok_or_else(|| anyhow!("environment {env} does not exist (no VPC tagged Name={env})"))?;
    Ok(Context { env, aws, facts, clients })
}

/// What a spinup plan reads from AWS: one call of each kind for all hostclasses, made beside the
/// environment's own reads (they do not depend on each other), so planning 20 hostclasses costs the
/// round trips of one.
struct Reads {
    /// The images the rows can run.
    images: ami::PipelineImages,
    /// Newest snapshot by hostclass: (id, size, completed).
    snapshots: BTreeMap<String, (String, u32, bool)>,
    /// The environment's groups by hostclass.
    groups: BTreeMap<String, Vec<GroupState>>,
    /// Existing launch templates by name: (id, latest version, what it holds).
    templates: BTreeMap<String, (String, String, TemplateSpec)>,
    /// Recurring scheduled actions by group.
    schedules: BTreeMap<String, Vec<(String, ScheduledAction)>>,
    /// Groups whose default scaling policies are in place.
    policies: std::collections::BTreeSet<String>,
    /// The configured elastic IPs that are allocated to the account.
    eips: Vec<String>,
}

async fn read_for_plan(clients: &Clients, aws: &AwsConfig, env: &str, pipeline: &Pipeline) -> anyhow::Result<Reads> {
    let mut hostclasses: Vec<String> = pipeline.rows.iter().map(|r| r.hostclass.clone()).collect();
    hostclasses.sort();
    hostclasses.dedup();
    let trusted = ami::ImageSettings::of(Some(aws)).trusted;
    let templates: Vec<String> = hostclasses.iter().map(|h| format!("{env}_{h}")).collect();
    let eips: Vec<String> = hostclasses
        .iter()
        .filter_map(|h| aws.hostclass_option(h, "eip", Some(env)).map(|r| r.value.trim().to_string()))
        .filter(|e| !e.is_empty() && e != "None")
        .collect();
    let (images, snapshots, groups, templates, schedules, policies, eips) = tokio::try_join!(
        clients.pipeline_images(&trusted, pipeline),
        clients.hostclass_snapshots(&hostclasses, env),
        clients.environment_groups(env),
        clients.latest_template_versions(&templates),
        clients.recurring_actions(),
        clients.groups_with_default_policies(),
        clients.allocated_addresses(&eips),
    )?;
    Ok(Reads { images, snapshots, groups, templates, schedules, policies, eips })
}

impl Reads {
    /// The reads as they will be once the pipeline's hostclasses are spun down: without their
    /// groups and launch templates (what spindownandup plans its spinup from).
    fn spun_down(&mut self, env: &str, pipeline: &Pipeline) {
        for row in &pipeline.rows {
            self.groups.remove(&row.hostclass);
            self.templates.remove(&format!("{env}_{}", row.hostclass));
        }
    }
}

/// The context of a spinup, and its plan's reads, read side by side.
async fn context_with_reads(global: &GlobalArgs, pipeline: &Pipeline) -> anyhow::Result<(Context, Reads)> {
    let aws = global.aws_config()?;
    let env = global.environment(&aws)?;
    let clients = global.clients().await?;
    let (facts, reads) = tokio::try_join!(
        async {
            clients
                .environment_facts(&env)
                .await?
                .ok_or_else(|| anyhow!("environment {env} does not exist (no VPC tagged Name={env})"))
        },
        read_for_plan(&clients, &aws, &env, pipeline),
    )?;
    Ok((Context { env, aws, facts, clients }, reads))
}

fn load_pipeline(path: &std::path::Path) -> anyhow::Result<Pipeline> {
    Pipeline::load(path).map_err(|d| anyhow!("{d}"))
}

/// The environment type's settings in vpc.ini: (ami_stage, credential_buckets).
fn vpc_settings(global: &GlobalArgs, ctx: &Context) -> anyhow::Result<(Option<String>, Option<String>)> {
    let Some(vpc_type) = &ctx.facts.vpc_type else { return Ok((None, None)) };
    let Some(ini) = global.config_dir().load(ConfigFile::Vpc).map_err(|d| anyhow!("{d}"))? else {
        return Ok((None, None));
    };
    let vpc = VpcConfig::new(ini);
    let get = |o: &str| vpc.option(&ctx.env, vpc_type, o).map(|r| r.value.trim().to_string()).filter(|v| !v.is_empty());
    Ok((get("ami_stage"), get("credential_buckets")))
}

/// The environment's credential buckets: `credential_buckets` of its type in vpc.ini, as bucket
/// names.
pub(crate) fn credential_buckets(global: &GlobalArgs, ctx: &Context) -> anyhow::Result<Vec<String>> {
    let (_, postfixes) = vpc_settings(global, ctx)?;
    let project = ctx.aws.ini.get(GLOBAL_SECTION, "project_name").map(|e| e.value.trim().to_string());
    Ok(postfixes
        .map(|b| sila_core::environment::credential_buckets(ctx.clients.region(), project.as_deref().unwrap_or(""), &b))
        .unwrap_or_default())
}

/// How long spinup waits for a hostclass snapshot that is still being taken.
const SNAPSHOT_WAIT: Duration = Duration::from_secs(600);

/// The static addresses of `hostclass` in this environment (`ip_address`, offsets resolved in its
/// metanetwork's subnets), each with the subnet holding it; an error names the config line.
fn static_addresses(ctx: &Context, hostclass: &str) -> Result<Vec<(Ipv4Addr, String)>, String> {
    let Some(r) =
        ctx.aws.hostclass_option(hostclass, "ip_address", Some(&ctx.env)).filter(|r| !r.value.trim().is_empty())
    else {
        return Ok(Vec::new());
    };
    let origin = format!("{}:{}: [{hostclass}] {}", ctx.aws.ini.path.display(), r.line, r.option);
    let meta = ctx
        .aws
        .hostclass_option(hostclass, "meta_network", Some(&ctx.env))
        .map(|m| m.value.trim().to_string())
        .unwrap_or_default();
    let subnets: Vec<(String, Ipv4Network)> = ctx
        .facts
        .subnets
        .get(&meta)
        .into_iter()
        .flatten()
        .filter_map(|id| Some((id.clone(), ctx.facts.subnet_cidrs.get(id)?.parse().ok()?)))
        .collect();
    if subnets.is_empty() {
        return Err(format!("{origin}: environment {} has no {meta:?} subnets", ctx.env));
    }
    let cidrs: Vec<Ipv4Network> = subnets.iter().map(|(_, c)| *c).collect();
    let ips = sila_core::net::static_ips(&r.value, &cidrs).map_err(|e| format!("{origin}: {e}"))?;
    Ok(ips
        .into_iter()
        .map(|ip| (ip, subnets.iter().find(|(_, c)| c.contains(ip)).map(|(id, _)| id.clone()).unwrap_or_default()))
        .collect())
}

async fn plan(
    global: &GlobalArgs,
    ctx: &Context,
    reads: &Reads,
    args: &RunArgs,
    pipeline: &Pipeline,
) -> anyhow::Result<Vec<Planned>> {
    let batches = pipeline.sequence_batches().map_err(|d| anyhow!("{d}"))?;
    let (ami_stage, _) = vpc_settings(global, ctx)?;
    let stage = args
        .stage
        .clone()
        .or(ami_stage)
        .ok_or_else(|| UsageError("no --stage, and the environment type sets no ami_stage".into()))?;
    let stages: Vec<&str> = stage.split(',').map(str::trim).collect();
    let credential_buckets = credential_buckets(global, ctx)?;
    let project = ctx.aws.ini.get(GLOBAL_SECTION, "project_name").map(|e| e.value.trim().to_string());
    let owner = sila_cli::acting_user();
    let option = |h: &str, o: &str| {
        ctx.aws.hostclass_option(h, o, Some(&ctx.env)).map(|r| r.value.trim().to_string()).filter(|v| !v.is_empty())
    };
    // Other hostclasses' static addresses on-box scripts use (§3.13); `None` when unset.
    let ip_of = |key: &str| {
        let hostclass = ctx.aws.ini.get(GLOBAL_SECTION, key).map(|e| e.value.trim().to_string())?;
        match static_addresses(ctx, &hostclass) {
            Ok(found) => found.first().map(|(ip, _)| ip.to_string()),
            Err(e) => {
                tracing::warn!("{key}={hostclass}: {e}");
                None
            }
        }
    };
    let (proxy_ip, logger_ip, logforwarder_ip) =
        (ip_of("http_proxy_hostclass"), ip_of("logger_hostclass"), ip_of("logforwarder_hostclass"));
    let mut eips: Vec<(String, String)> = Vec::new();
    let mut planned = Vec::new();
    let mut missing = Vec::new();
    let epoch = sila_core::epoch_seconds();
    // Images whose device names a row needs (to place a volume after the root), one round trip.
    let mut need_devices: Vec<String> = Vec::new();
    for (_, rows) in &batches {
        for row in rows {
            if row.extra_space.is_some() || row.extra_disk.is_some() || reads.snapshots.contains_key(&row.hostclass) {
                if let Some(image) = reads.images.of(row, &stages) {
                    need_devices.push(image.id.clone());
                }
            }
        }
    }
    need_devices.sort();
    need_devices.dedup();
    let devices: BTreeMap<String, (Vec<String>, String)> =
        futures::future::try_join_all(need_devices.iter().map(|id| async move {
            Ok::<_, sila_cloud::CloudError>((id.clone(), ctx.clients.image_devices(id).await?))
        }))
        .await?
        .into_iter()
        .collect();
    for (sequence, rows) in batches {
        for row in rows {
            let h = &row.hostclass;
            let Some(image) = reads.images.of(row, &stages).cloned() else {
                missing.push(ami::PipelineImages::missing_reason(&pipeline.path, row, &stages));
                continue;
            };
            let meta = option(h, "meta_network")
                .with_context(|| format!("{h}: no meta_network (nor default_meta_network)"))?;
            let subnets = ctx.facts.subnets.get(&meta).cloned().unwrap_or_default();
            let group_id = ctx.facts.groups.get(&meta).cloned();
            let (Some(group_id), false) = (group_id, subnets.is_empty()) else {
                bail!("{h}: environment {} has no {meta} metanetwork (subnets and security group)", ctx.env);
            };
            let statics = match static_addresses(ctx, h) {
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
            let eip = option(h, "eip").filter(|e| e != "None");
            if let Some(e) = &eip {
                eips.push((h.clone(), e.clone()));
            }
            let snapshot = match reads.snapshots.get(h) {
                Some((id, size, completed)) => {
                    // A dry run does not wait: it only says which snapshot would be restored.
                    if !completed && !args.dry_run {
                        tracing::info!("waiting for snapshot {id} of {h} to complete");
                        ctx.clients.wait_snapshot(id, SNAPSHOT_WAIT).await?;
                    }
                    Some((id.clone(), *size))
                }
                None => None,
            };
            // io1 IOPS must suit the restored volume too, whose size is known only now.
            if let Some((_, gb)) = &snapshot {
                for (column, problem) in sila_core::limits::check_volumes(None, None, row.iops, Some(*gb)) {
                    missing.push(format!("{}:{}: {h}: {column}: {problem}", pipeline.path.display(), row.line));
                }
            }
            let existing: &[GroupState] = reads.groups.get(h).map_or(&[], Vec::as_slice);
            if existing.len() > 1 {
                let names: Vec<&str> = existing.iter().map(|g| g.name.as_str()).collect();
                bail!("{h}: more than one autoscaling group ({}); remove the extra ones first", names.join(", "));
            }
            let wanted = row.wanted_sizes();
            let (group, create, sizes) = match existing.first() {
                Some(g) => (g.name.clone(), false, pipeline::updated_group_sizes(g.sizes, wanted)),
                None => (pipeline::group_name(&ctx.env, h, epoch), true, pipeline::new_group_sizes(wanted)),
            };
            let (devices, root) = devices.get(&image.id).cloned().unwrap_or_default();
            let key = option(h, "ssh_key_name").filter(|k| k != "None");
            let user_data = UserData {
                hostclass: h.clone(),
                environment_name: ctx.env.clone(),
                domain_name: option(h, "domain_name"),
                owner: owner.clone(),
                project_name: project.clone(),
                credential_buckets: credential_buckets.clone(),
                enable_proxy: option(h, "enable_proxy").is_some_and(|v| truthy(&v)),
                http_proxy_ip: proxy_ip.clone(),
                logger_ip: logger_ip.clone(),
                logforwarder_ip: logforwarder_ip.clone(),
                floating_ips: statics.iter().map(|(ip, _)| ip.to_string()).collect(),
                eip: eip.clone(),
                smoketest_termination: option(h, "smoketest_termination").is_some_and(|v| truthy(&v)),
                ..UserData::default()
            };
            let extra_tags = match option(h, "tags") {
                Some(t) => prov::parse_hostclass_tags(&t).map_err(|e| anyhow!("[{h}] {e}"))?,
                None => Vec::new(),
            };
            let chaos = prov::chaos(&ctx.aws, h, &ctx.env, row.chaos);
            let tags =
                prov::group_tags(h, &owner, &ctx.env, &ctx.facts.environment_class, chaos, args.testing, &extra_tags);
            let instance_type = row.first_instance_type().unwrap_or("m3.large").to_string();
            let template_spec = TemplateSpec {
                image: image.id.clone(),
                instance_type: instance_type.clone(),
                key_name: key,
                instance_profile: option(h, "instance_profile_name"),
                security_group: group_id,
                public_ip: option(h, "public_ip").is_some_and(|v| truthy(&v)),
                user_data: user_data.render(),
                block_devices: prov::block_devices(
                    &devices,
                    &root,
                    row.extra_space,
                    snapshot.clone(),
                    row.extra_disk,
                    row.iops,
                ),
                tags: vec![
                    ("environment".into(), ctx.env.clone()),
                    ("hostclass".into(), h.clone()),
                    (sila_core::environment::VPC_ID_TAG.into(), ctx.facts.vpc_id.clone()),
                ],
            };
            let schedules = reads.schedules.get(&group).cloned().unwrap_or_default();
            // What is already as wanted is left alone, so a re-run changes nothing.
            let template = reads.templates.get(&format!("{}_{h}", ctx.env));
            let template_version =
                template.filter(|(_, _, held)| template_spec.same_version(held)).map(|(_, version, _)| version.clone());
            let mut subnets_sorted = subnets.clone();
            subnets_sorted.sort();
            // Why an existing group changes (what `--dry-run` says); empty when nothing does.
            let mut changes: Vec<&'static str> = Vec::new();
            if let Some(g) = existing.first() {
                if template_version.is_none() {
                    changes.push("new template version");
                } else if g.template.as_ref().map(|(id, v)| (Some(id), Some(v)))
                    != Some((template.map(|(id, _, _)| id), template_version.as_ref()))
                {
                    changes.push("template version");
                }
                if g.sizes != sizes {
                    changes.push("sizes");
                }
                if g.subnets != subnets_sorted {
                    changes.push("subnets");
                }
                if !row.termination_policies.is_empty() && g.termination_policies != row.termination_policies {
                    changes.push("termination policies");
                }
                if !tags.iter().all(|(k, v)| g.tags.get(k) == Some(v)) {
                    changes.push("tags");
                }
            }
            // Only the group's own settings are listed so far; policies and actions come next.
            let group_unchanged = !existing.is_empty() && changes.is_empty();
            let policies_in_place = reads.policies.contains(&group);
            if !create && !policies_in_place {
                changes.push("scaling policies");
            }
            let wanted_actions: Vec<(String, ScheduledAction)> = row
                .scheduled_actions()
                .into_iter()
                .map(|a| (pipeline::scheduled_action_name(&group, &a.cron), a))
                .collect();
            let schedule_unchanged =
                wanted_actions.len() == schedules.len() && wanted_actions.iter().all(|w| schedules.contains(w));
            if !create && !schedule_unchanged {
                changes.push("scheduled actions");
            }
            let unchanged = !create && changes.is_empty();
            planned.push(Planned {
                schedules,
                sequence,
                hostclass: h.clone(),
                image: image.id.clone(),
                metanetwork: meta,
                instance_type: instance_type.clone(),
                group,
                create,
                sizes,
                scheduled_actions: row.scheduled_actions().len(),
                smoke_test: row.smoke_test && !args.no_smoke_test,
                static_ips: statics.iter().map(|(ip, _)| ip.to_string()).collect(),
                snapshot: snapshot.as_ref().map(|(id, _)| id.clone()),
                subnets,
                interfaces: statics.iter().map(|(ip, subnet)| (ip.to_string(), subnet.clone())).collect(),
                template_id: template.map(|(id, _, _)| id.clone()),
                template_version,
                group_unchanged,
                policies_in_place,
                unchanged,
                changes,
                template: template_spec,
                row: row.clone(),
                tags,
            });
        }
    }
    // Elastic IPs the on-box scripts associate must exist: checked now, not found at boot.
    for (h, eip) in &eips {
        if !reads.eips.contains(eip) {
            missing.push(format!("[{h}] eip {eip}: no such elastic IP in this account"));
        }
    }
    if !missing.is_empty() {
        bail!("nothing changed; {}", missing.join("; "));
    }
    Ok(planned)
}

/// Runs `spinup`.
pub(crate) async fn spinup(global: &GlobalArgs, args: &SpinupArgs) -> anyhow::Result<()> {
    let pipeline = load_pipeline(&args.pipeline)?;
    run_pipeline(global, &args.run, &pipeline).await
}

/// Runs `provision`: the spinup of a one-row pipeline (sequence 1, smoke test unless
/// `--no-smoke-test`).
pub(crate) async fn provision_one(global: &GlobalArgs, args: &ProvisionArgs) -> anyhow::Result<()> {
    let size = |flag: &str, value: &Option<String>| -> anyhow::Result<Size> {
        match value {
            None => Ok(Size::Unset),
            Some(v) => Size::parse(v).map_err(|e| UsageError(format!("--{flag} {v}: {e}")).into()),
        }
    };
    let row = PipelineRow {
        line: 1,
        sequence: Some(1),
        hostclass: args.hostclass.clone(),
        min_size: size("min-size", &args.min_size)?,
        desired_size: size("desired-size", &args.desired_size)?,
        max_size: size("max-size", &args.max_size)?,
        instance_type: args.instance_type.clone(),
        extra_space: args.extra_space,
        extra_disk: args.extra_disk,
        iops: args.iops,
        smoke_test: true,
        ami: args.ami.clone(),
        chaos: args.no_chaos.then_some(false),
        ..PipelineRow::default()
    };
    let pipeline = Pipeline { path: PathBuf::from("--hostclass"), rows: vec![row], warnings: Vec::new() };
    run_pipeline(global, &args.run, &pipeline).await
}

/// `spindownandup --output json`: one document.
#[derive(Serialize)]
struct DownAndUp<'a> {
    spindown: &'a [Removed],
    /// The spinup's plan.
    spinup: &'a [Planned],
}

/// Runs `spindownandup`: spindown, then spinup with the defaults. Like every composite command, it
/// plans all of it before its first change: the spinup is planned as if the spindown were done, so
/// a row it could not start (no image, no network, ...) stops it with the pipeline still up. A
/// failure after the spindown says what the spindown removed.
pub(crate) async fn spindown_and_up(global: &GlobalArgs, args: &SpindownArgs) -> anyhow::Result<()> {
    let printer = Printer::new(global.output);
    let pipeline = load_pipeline(&args.pipeline)?;
    let run = RunArgs {
        stage: None,
        no_smoke_test: false,
        testing: false,
        deadline: Duration::from_secs(20 * 60),
        dry_run: args.dry_run,
    };
    let (ctx, mut reads) = context_with_reads(global, &pipeline).await?;
    reads.spun_down(&ctx.env, &pipeline);
    let planned = plan(global, &ctx, &reads, &run, &pipeline).await?;
    let removed = take_down(&ctx, &pipeline, args.dry_run, &printer).await?;
    apply(&ctx, &run, &pipeline, &planned, &printer).await.with_context(|| {
        let groups: Vec<&str> = removed.iter().flat_map(|r| r.groups.iter().map(String::as_str)).collect();
        let templates: Vec<&str> = removed.iter().map(|r| r.launch_template.as_str()).collect();
        format!(
            "the spindown removed {} and the launch templates {}, then the spinup failed",
            if groups.is_empty() { "no group".to_string() } else { format!("the groups {}", groups.join(", ")) },
            templates.join(", ")
        )
    })?;
    if printer.json() {
        printer.print_json(&DownAndUp { spindown: &removed, spinup: &planned })?;
    }
    Ok(())
}

/// Spins `pipeline` up; its plan, for `--output json`.
async fn spin_up(global: &GlobalArgs, args: &RunArgs, pipeline: &Pipeline) -> anyhow::Result<Vec<Planned>> {
    let printer = Printer::new(global.output);
    let (ctx, reads) = context_with_reads(global, pipeline).await?;
    let planned = plan(global, &ctx, &reads, args, pipeline).await?;
    apply(&ctx, args, pipeline, &planned, &printer).await?;
    Ok(planned)
}

/// Prints the plan (text output) and, unless a dry run, carries it out sequence by sequence.
async fn apply(
    ctx: &Context,
    args: &RunArgs,
    pipeline: &Pipeline,
    planned: &[Planned],
    printer: &Printer,
) -> anyhow::Result<()> {
    if printer.json() && args.dry_run {
        return Ok(());
    }
    if !printer.json() {
        let mut text = format!("spinup {} in {} ({} hostclass(es))\n", pipeline.path.display(), ctx.env, planned.len());
        for p in planned {
            text.push_str(&format!(
                "  sequence {}: {} {} {} from {} in {} (min {}, desired {}, max {}, {} scheduled action(s)){}{}{}\n",
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
            ));
        }
        if args.dry_run {
            text.push_str("dry run: nothing changed\n");
        }
        printer.line(text.trim_end())?;
    }
    if args.dry_run {
        return Ok(());
    }
    let deadline = Instant::now() + args.deadline;
    let mut sequences: Vec<u32> = planned.iter().map(|p| p.sequence).collect();
    sequences.dedup();
    // Hostclasses whose sequence completed: the report of what is up when a later one fails.
    let mut up: Vec<&str> = Vec::new();
    for sequence in sequences {
        let batch: Vec<&Planned> = planned.iter().filter(|p| p.sequence == sequence).collect();
        futures::future::try_join_all(batch.iter().map(|p| provision(ctx, p))).await?;
        let smoke: Vec<&Planned> = batch.iter().copied().filter(|p| p.smoke_test).collect();
        if !smoke.is_empty() {
            wait_for_smoke(ctx, &smoke, deadline).await.with_context(|| {
                let up = if up.is_empty() { "none".to_string() } else { up.join(", ") };
                format!("spinup stopped at sequence {sequence} (up from earlier sequences: {up}); later sequences were not started")
            })?;
        }
        up.extend(batch.iter().map(|p| p.hostclass.as_str()));
    }
    if !printer.json() {
        printer.line(&format!("spinup of {} done", pipeline.path.display()))?;
    }
    Ok(())
}

/// Spins `pipeline` up and prints the plan as JSON when asked.
async fn run_pipeline(global: &GlobalArgs, args: &RunArgs, pipeline: &Pipeline) -> anyhow::Result<()> {
    let planned = spin_up(global, args, pipeline).await?;
    let printer = Printer::new(global.output);
    if printer.json() {
        printer.print_json(&planned)?;
    }
    Ok(())
}

async fn provision(ctx: &Context, p: &Planned) -> anyhow::Result<()> {
    let tags = sila_core::environment::interface_tags(&ctx.env, &p.hostclass);
    let interfaces = futures::future::try_join_all(p.interfaces.iter().map(|(ip, subnet)| {
        let tags = &tags;
        async move {
            let (id, made) = ctx
                .clients
                .ensure_floating_interface(&ctx.facts.vpc_id, subnet, &p.template.security_group, ip, tags)
                .await?;
            if made {
                tracing::info!("made floating interface {id} ({ip}) for {}", p.hostclass);
            }
            Ok::<_, sila_cloud::CloudError>(())
        }
    }));
    let template = format!("{}_{}", ctx.env, p.hostclass);
    let put_template = async {
        match (&p.template_id, &p.template_version) {
            (Some(id), Some(version)) => Ok((id.clone(), version.clone())),
            _ => ctx.clients.put_launch_template(&template, p.template_id.as_deref(), &p.template).await,
        }
    };
    let ((id, version), _) = tokio::try_join!(put_template, interfaces)?;
    let spec = GroupSpec {
        name: p.group.clone(),
        template_id: id,
        template_version: version,
        sizes: p.sizes,
        subnets: p.subnets.clone(),
        termination_policies: p.row.termination_policies.clone(),
        tags: p.tags.clone(),
    };
    if !p.group_unchanged {
        ctx.clients.put_group(&spec, !p.create).await?;
    }
    let actions = p.row.scheduled_actions();
    let policies = async {
        match p.policies_in_place {
            true => Ok(()),
            false => ctx.clients.put_scaling_policies(&p.group).await,
        }
    };
    tokio::try_join!(policies, ctx.clients.put_scheduled_actions(&p.group, &actions, &p.schedules))?;
    let done = if p.create {
        "created"
    } else if p.unchanged {
        "left unchanged"
    } else {
        "updated"
    };
    tracing::info!("{done} {} ({})", p.group, p.hostclass);
    Ok(())
}

/// Waits until every group has its minimum of instances and each of them carries `smoketest`.
async fn wait_for_smoke(ctx: &Context, batch: &[&Planned], deadline: Instant) -> anyhow::Result<()> {
    let mut waiting: Vec<String> = Vec::new();
    let mut progress = Progress::start();
    loop {
        waiting.clear();
        // One listing of groups and one of hosts per poll, for the whole batch.
        let (groups, all_hosts) =
            tokio::try_join!(ctx.clients.environment_groups(&ctx.env), ctx.clients.hosts(&ctx.facts.vpc_id))?;
        for p in batch {
            let Some(group) = groups.get(&p.hostclass).into_iter().flatten().find(|g| g.name == p.group) else {
                waiting.push(format!("{} (group not visible yet)", p.group));
                continue;
            };
            let ids: Vec<&String> = group.instances.iter().map(|(id, _)| id).collect();
            let hosts: Vec<&sila_core::hosts::Host> = all_hosts.iter().filter(|h| ids.contains(&&h.id)).collect();
            if let Some(failed) = hosts.iter().find(|h| h.readiness() == sila_core::hosts::Readiness::Failed) {
                bail!("{}: instance {} of {} is {}", p.hostclass, failed.id, p.group, failed.state);
            }
            let ready = hosts.iter().filter(|h| h.readiness() == sila_core::hosts::Readiness::Ready).count();
            if ready < p.sizes.min as usize || ready < hosts.len() {
                waiting.push(format!("{} ({ready} of {} smoke-tested, min {})", p.hostclass, hosts.len(), p.sizes.min));
            }
        }
        if waiting.is_empty() {
            return Ok(());
        }
        if Instant::now() + Duration::from_secs(5) >= deadline {
            bail!("smoke tests did not pass before the deadline: {}", waiting.join(", "));
        }
        // No countdown in the status: off a terminal, a line is logged only when it changes.
        progress.set(&format!("sequence {}: waiting for smoke tests: {}", batch[0].sequence, waiting.join(", ")));
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
}

/// Runs `spindown`: every group and the launch template of each hostclass in the pipeline.
pub(crate) async fn spindown(global: &GlobalArgs, args: &SpindownArgs) -> anyhow::Result<()> {
    let removed = spin_down(global, args).await?;
    let printer = Printer::new(global.output);
    if printer.json() {
        printer.print_json(&removed)?;
    }
    Ok(())
}

/// What spindown removed from one hostclass.
#[derive(Debug, Serialize)]
struct Removed {
    hostclass: String,
    groups: Vec<String>,
    launch_template: String,
}

/// Removes the pipeline's groups and templates (text output only; the caller prints JSON).
async fn spin_down(global: &GlobalArgs, args: &SpindownArgs) -> anyhow::Result<Vec<Removed>> {
    let pipeline = load_pipeline(&args.pipeline)?;
    let ctx = context(global).await?;
    take_down(&ctx, &pipeline, args.dry_run, &Printer::new(global.output)).await
}

/// Removes the groups and launch templates of `pipeline`'s hostclasses (all groups at once, one wait
/// for all of them, then the templates).
async fn take_down(
    ctx: &Context,
    pipeline: &Pipeline,
    dry_run: bool,
    printer: &Printer,
) -> anyhow::Result<Vec<Removed>> {
    let mut hostclasses: Vec<&str> = Vec::new();
    for row in &pipeline.rows {
        if !hostclasses.contains(&row.hostclass.as_str()) {
            hostclasses.push(&row.hostclass);
        }
    }
    let mut existing = ctx.clients.environment_groups(&ctx.env).await?;
    let removed: Vec<Removed> = hostclasses
        .iter()
        .map(|h| Removed {
            hostclass: h.to_string(),
            groups: existing.remove(*h).unwrap_or_default().into_iter().map(|g| g.name).collect(),
            launch_template: format!("{}_{h}", ctx.env),
        })
        .collect();
    if !dry_run {
        let groups: Vec<String> = removed.iter().flat_map(|r| r.groups.clone()).collect();
        ctx.clients.delete_groups(&groups).await?;
        let names: Vec<String> = removed.iter().map(|r| r.launch_template.clone()).collect();
        let ids: Vec<String> = ctx.clients.launch_templates_named(&names).await?.into_values().collect();
        ctx.clients.delete_launch_templates(&ids).await?;
    }
    if !printer.json() {
        let mut text = String::new();
        for r in &removed {
            let groups = if r.groups.is_empty() { "no group".to_string() } else { r.groups.join(" ") };
            text.push_str(&format!("  - {}: {groups}, launch template {}\n", r.hostclass, r.launch_template));
        }
        text.push_str(if dry_run { "dry run: nothing changed" } else { "spindown done" });
        printer.line(&text)?;
    }
    Ok(removed)
}
