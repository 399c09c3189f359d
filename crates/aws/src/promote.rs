//! `promoterunning` (reference §4.8): images that have run long enough in an environment go to
//! production. The environment's running instances are grouped by image; an image qualifies when
//! its youngest instance has run at least `--hours`, and it is shared with `[bake] prod_account_ids`
//! when it is in the final stage. Sila also applies its own sharing rule (as `sila-bake
//! hostclasspromote` does): with `[bake] prod_baker` set, only that baker's images are shared.

use crate::hosts::environment;
use anyhow::bail;
use clap::Args;
use serde::Serialize;
use sila_cli::{Settings, Table};
use sila_core::ami::{self, ImageSettings};
use std::collections::BTreeMap;

/// Arguments of `promoterunning`.
#[derive(Debug, Args)]
pub struct PromoteRunningArgs {
    /// How long the youngest instance of an image must have run
    #[arg(long, value_name = "HOURS", default_value = "3", value_parser = sila_cli::values::hours)]
    pub hours: u64,
    /// Say what would be shared, and change nothing
    #[arg(long = "dry-run")]
    pub dry_run: bool,
}

/// What happened to one image.
#[derive(Debug, Serialize)]
struct Decision {
    ami: String,
    name: String,
    stage: String,
    instances: usize,
    /// Hours the youngest instance has run.
    youngest_hours: u64,
    /// `shared`, `already shared`, or why not.
    outcome: String,
}

/// Runs `promoterunning`.
pub(crate) async fn promote_running(settings: &Settings, args: &PromoteRunningArgs) -> anyhow::Result<()> {
    let ami_settings = ImageSettings::of(settings.optional_aws()?);
    if ami_settings.prod_accounts.is_empty() {
        bail!("no [bake] prod_account_ids configured: nothing to share with");
    }
    let clients = settings.clients().await?;
    let (_, vpc) = environment(settings, clients).await?;
    let now = sila_core::epoch_seconds();
    // The youngest launch of each image among the running instances.
    let mut images: BTreeMap<String, (u64, usize)> = BTreeMap::new();
    for host in clients.hosts(&vpc).await?.into_iter().filter(|h| h.state == "running") {
        let entry = images.entry(host.image_id.clone()).or_insert((0, 0));
        entry.0 = entry.0.max(host.launched);
        entry.1 += 1;
    }
    let ids: Vec<String> = images.keys().cloned().collect();
    let found = if ids.is_empty() { Vec::new() } else { clients.images_by_id(&ids).await? };
    let final_stage = ami_settings.stages.last();
    let mut decisions = Vec::new();
    for image in &found {
        let (youngest, instances) = images[&image.id];
        let hours = now.saturating_sub(youngest) / 3600;
        let stage = image.tags.get("stage").cloned().unwrap_or_default();
        let outcome = if now.saturating_sub(youngest) < args.hours * 3600 {
            format!("running less than {} hours", args.hours)
        } else if let Err(why) = ami::may_share(image, &stage, &ami_settings.stages, ami_settings.prod_baker.as_deref())
        {
            why
        } else if clients
            .launch_permissions(&image.id)
            .await?
            .iter()
            .filter(|a| ami_settings.prod_accounts.contains(a))
            .count()
            == ami_settings.prod_accounts.len()
        {
            "already shared".to_string()
        } else {
            if !args.dry_run {
                clients.share_image(&image.id, &ami_settings.prod_accounts).await?;
            }
            if args.dry_run { "would be shared" } else { "shared" }.to_string()
        };
        decisions.push(Decision {
            ami: image.id.clone(),
            name: image.name.clone(),
            stage,
            instances,
            youngest_hours: hours,
            outcome,
        });
    }
    tracing::debug!("final stage {final_stage}; production accounts {:?}", ami_settings.prod_accounts);
    let printer = settings.printer();
    let mut table = Table::new(["AMI", "Name", "Stage", "Instances", "Youngest (h)", "Outcome"]);
    for d in &decisions {
        table.row([
            d.ami.clone(),
            d.name.clone(),
            d.stage.clone(),
            d.instances.to_string(),
            d.youngest_hours.to_string(),
            d.outcome.clone(),
        ]);
    }
    printer.print(&table, &decisions)?;
    Ok(())
}
