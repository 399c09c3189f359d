//! `promote` and `hostclasspromote`: stages and production sharing (reference §4.7).

use crate::images::ami_settings;
use clap::Args;
use sila_cli::{Settings, UsageError};
use sila_core::ami::ImageSettings;
use sila_core::ami::{self, Image};

/// Arguments of `promote`.
#[derive(Debug, Args)]
pub struct PromoteArgs {
    /// The image
    #[arg(long, value_name = "AMI")]
    pub ami: String,
    /// The new stage (one of [bake] ami_stages)
    #[arg(long, value_name = "STAGE")]
    pub stage: String,
    /// Also share it with [bake] prod_account_ids (final stage only; the production baker's bakes only)
    #[arg(long)]
    pub promote_to_prod: bool,
    /// Say what would be done and change nothing
    #[arg(long)]
    pub dry_run: bool,
}

/// Arguments of `hostclasspromote`.
#[derive(Debug, Args)]
pub struct HostclassPromoteArgs {
    /// The hostclass
    #[arg(long, value_name = "HOSTCLASS")]
    pub hostclass: String,
    /// Say what would be done and change nothing
    #[arg(long)]
    pub dry_run: bool,
}

fn prod_accounts(ami_settings: &ImageSettings) -> anyhow::Result<&[String]> {
    if ami_settings.prod_accounts.is_empty() {
        anyhow::bail!("no [bake] prod_account_ids configured: nothing to share with");
    }
    Ok(&ami_settings.prod_accounts)
}

fn report(settings: &Settings, image: &Image, stage: &str, shared: &[String], dry_run: bool) -> anyhow::Result<()> {
    let printer = settings.printer();
    if printer.json() {
        printer.print_json(&serde_json::json!({"ami": image.id, "name": image.name, "stage": stage, "shared_with": shared, "dry_run": dry_run}))?;
        return Ok(());
    }
    let would = if dry_run { "would " } else { "" };
    let mut line = format!("{would}set {} ({}) to stage {stage}", image.id, image.name);
    if !shared.is_empty() {
        line.push_str(&format!(" and share it with {}", shared.join(", ")));
    }
    printer.line(&line)?;
    Ok(())
}

/// `promote`.
pub async fn promote(settings: &Settings, args: &PromoteArgs) -> anyhow::Result<()> {
    let ami_settings = ami_settings(settings)?;
    ami_settings.known_stage("--stage", &args.stage).map_err(UsageError)?;
    let clients = settings.clients().await?;
    let image = clients.images_by_id(std::slice::from_ref(&args.ami)).await?.pop();
    let image = image.ok_or_else(|| anyhow::anyhow!("no image {}", args.ami))?;
    let mut share = Vec::new();
    if args.promote_to_prod {
        ami::may_share(&image, &args.stage, &ami_settings.stages, ami_settings.prod_baker.as_deref())
            .map_err(|e| UsageError(format!("--promote-to-prod: {e}; nothing was changed")))?;
        share = prod_accounts(&ami_settings)?.to_vec();
    }
    if !args.dry_run {
        clients.tag_image(&image.id, &[("stage".to_string(), args.stage.clone())]).await?;
        if !share.is_empty() {
            clients.share_image(&image.id, &share).await?;
        }
    }
    report(settings, &image, &args.stage, &share, args.dry_run)
}

/// `hostclasspromote`: the newest non-private image of the hostclass in the final stage (the
/// production baker's, when one is configured) is shared with production.
pub async fn hostclass(settings: &Settings, args: &HostclassPromoteArgs) -> anyhow::Result<()> {
    let ami_settings = ami_settings(settings)?;
    let accounts = prod_accounts(&ami_settings)?.to_vec();
    let clients = settings.clients().await?;
    let images = clients.images(&ami_settings.trusted, Some(&format!("{} *", args.hostclass))).await?;
    let eligible: Vec<Image> = images
        .into_iter()
        .filter(|i| {
            ami::may_share(i, ami_settings.stages.last(), &ami_settings.stages, ami_settings.prod_baker.as_deref())
                .is_ok()
        })
        .collect();
    let final_stage = ami_settings.stages.last();
    let image = ami::find_ami(&eligible, &args.hostclass, Some(&[final_stage]), None, false).ok_or_else(|| {
        anyhow::anyhow!("no image of {} in the final stage {final_stage} that may go to production", args.hostclass)
    })?;
    if !args.dry_run {
        clients.share_image(&image.id, &accounts).await?;
    }
    report(settings, image, final_stage, &accounts, args.dry_run)
}
