//! Everything a spinup plan needs, gathered before planning: the environment (its VPC, subnets and
//! groups) beside one call of each kind for all hostclasses (images with their devices, snapshots,
//! groups, templates, schedules, policies, elastic IPs), so planning 20 hostclasses costs the round
//! trips of one; and the plan's input from the settings.

use super::RunArgs;
use anyhow::anyhow;
use sila_cli::{Settings, UsageError};
use sila_cloud::Clients;
use sila_core::ami;
use sila_core::config::AwsConfig;
use sila_core::pipeline::Pipeline;
use sila_core::spinup::{EnvironmentFacts, HostclassSettings, ServiceHostclasses, SpinupInput, SpinupReads};
use std::collections::BTreeMap;

/// The environment a command acts in, found in AWS.
pub(crate) struct Context {
    pub(crate) env: String,
    pub(crate) facts: EnvironmentFacts,
    pub(crate) clients: Clients,
}

impl Context {
    /// The environment's credential buckets (`credential_buckets` of its type in vpc.ini).
    pub(crate) fn credential_buckets(&self, settings: &Settings) -> anyhow::Result<Vec<String>> {
        match &self.facts.vpc_type {
            Some(vpc_type) => settings.credential_buckets(self.clients.region(), &self.env, vpc_type),
            None => Ok(Vec::new()),
        }
    }
}

fn no_environment(env: &str) -> anyhow::Error {
    anyhow!("environment {env} does not exist (no VPC tagged Name={env})")
}

/// The environment of the settings, read from AWS.
pub(crate) async fn context(settings: &Settings) -> anyhow::Result<Context> {
    let env = settings.environment()?;
    let clients = settings.clients().await?;
    let facts = clients.environment_facts(&env).await?.ok_or_else(|| no_environment(&env))?;
    Ok(Context { env, facts, clients: clients.clone() })
}

/// What a spinup reads besides its plan's reads: its hostclasses' load balancers (`elb = true`),
/// what exists of them and the certificates they may present.
pub(crate) struct BalancerReads {
    pub(crate) specs: Vec<sila_core::elb::LoadBalancerSpec>,
    pub(crate) reads: sila_cloud::elb_state::ElbReads,
}

/// The context of a spinup, its plan's reads and its load balancers' reads, read side by side
/// (the load balancers' specs are checked first: a bad `elb_*` option changes nothing).
pub(crate) async fn context_with_reads(
    settings: &Settings,
    pipeline: &Pipeline,
    testing: bool,
) -> anyhow::Result<(Context, SpinupReads, BalancerReads)> {
    let aws = settings.aws()?;
    let env = settings.environment()?;
    let specs = super::balancers::specs(settings, &env, pipeline, testing)?;
    let clients = settings.clients().await?;
    let (facts, mut reads, balancers) = tokio::try_join!(
        async { clients.environment_facts(&env).await?.ok_or_else(|| no_environment(&env)) },
        read_for_plan(clients, aws, &env, pipeline),
        async { Ok(clients.read_elbs(&specs, &env).await?) },
    )?;
    reads.facts = facts.clone();
    for warning in &balancers.warnings {
        tracing::warn!("{warning}");
    }
    Ok((Context { env, facts, clients: clients.clone() }, reads, BalancerReads { specs, reads: balancers }))
}

async fn read_for_plan(
    clients: &Clients,
    aws: &AwsConfig,
    env: &str,
    pipeline: &Pipeline,
) -> anyhow::Result<SpinupReads> {
    let hostclasses = hostclasses(pipeline);
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
    Ok(SpinupReads {
        facts: EnvironmentFacts::default(),
        images,
        snapshots,
        groups,
        templates,
        schedules,
        policies,
        eips,
    })
}

/// The pipeline's hostclasses, sorted, each once.
fn hostclasses(pipeline: &Pipeline) -> Vec<String> {
    let mut hostclasses: Vec<String> = pipeline.rows.iter().map(|r| r.hostclass.clone()).collect();
    hostclasses.sort();
    hostclasses.dedup();
    hostclasses
}

/// The plan's input: the stages (`--stage`, else the environment type's `ami_stage`), the acting
/// user, the project, the credential buckets, and every hostclass's settings resolved once.
pub(crate) fn plan_input<'a>(
    settings: &Settings,
    ctx: &'a Context,
    args: &RunArgs,
    pipeline: &'a Pipeline,
    balancers: &[sila_core::elb::LoadBalancerSpec],
) -> anyhow::Result<SpinupInput<'a>> {
    let aws = settings.aws()?;
    let ami_stage = match &ctx.facts.vpc_type {
        Some(vpc_type) => settings.env_type_option(&ctx.env, vpc_type, "ami_stage")?,
        None => None,
    };
    let stage = args
        .stage
        .clone()
        .or(ami_stage)
        .ok_or_else(|| UsageError("no --stage, and the environment type sets no ami_stage".into()))?;
    let services = ServiceHostclasses::of(aws);
    let mut names = hostclasses(pipeline);
    names.extend(services.named().into_iter().map(|(_, h)| h.to_string()));
    let hostclasses: BTreeMap<String, HostclassSettings> =
        names.into_iter().map(|h| (h.clone(), HostclassSettings::resolve(aws, &h, &ctx.env))).collect();
    Ok(SpinupInput {
        env: &ctx.env,
        pipeline,
        stages: stage.split(',').map(|s| s.trim().to_string()).collect(),
        owner: settings.owner().to_string(),
        project: settings.project()?,
        credential_buckets: ctx.credential_buckets(settings)?,
        testing: args.testing,
        no_smoke_test: args.no_smoke_test,
        epoch: sila_core::epoch_seconds(),
        hostclasses,
        services,
        load_balancers: balancers.iter().map(|b| (b.hostclass.clone(), b.clone())).collect(),
    })
}
