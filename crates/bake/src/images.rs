//! Listing, lookup, stragglers, deletion and cleanup of images.

use clap::Args;
use serde::Serialize;
use sila_cli::{Failure, Settings, Table, UsageError};
use sila_cloud::Clients;
use sila_core::ami::{self, CleanupRequest, Image, ImageSettings, InUse, ListFilter};
use sila_core::pipeline::Pipeline;
use std::collections::BTreeMap;

/// `[bake]` of aws.ini (the defaults when there is no aws.ini).
pub(crate) fn ami_settings(settings: &Settings) -> anyhow::Result<ImageSettings> {
    Ok(ImageSettings::of(settings.optional_aws()?))
}

/// Arguments of `listamis`.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Only this image
    #[arg(long, value_name = "AMI")]
    pub ami: Option<String>,
    /// Only the image of this instance
    #[arg(long, value_name = "INSTANCE_ID")]
    pub instance: Option<String>,
    /// Only images in this stage
    #[arg(long, value_name = "STAGE")]
    pub stage: Option<String>,
    /// Only images of this product line
    #[arg(long, value_name = "PRODUCTLINE")]
    pub productline: Option<String>,
    /// Only images in this state (available, pending, failed, ...)
    #[arg(long, value_name = "STATE")]
    pub state: Option<String>,
    /// Only images of this hostclass
    #[arg(long, value_name = "HOSTCLASS")]
    pub hostclass: Option<String>,
    /// Add a column saying whether each image is shared with every production account
    #[arg(long)]
    pub in_prod: bool,
    /// Add a column with the other tags
    #[arg(long)]
    pub show_tags: bool,
}

/// One row of an image listing.
#[derive(Debug, Serialize)]
struct Row<'a> {
    #[serde(flatten)]
    image: &'a Image,
    hostclass: &'a str,
    stage: Option<&'a str>,
    productline: Option<&'a str>,
    age_hours: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    in_prod: Option<bool>,
}

/// Prints images as `listamis` does; exit 1 when there are none.
async fn print_images(
    settings: &Settings,
    clients: &Clients,
    ami_settings: &ImageSettings,
    images: &[Image],
    in_prod: bool,
    show_tags: bool,
) -> anyhow::Result<()> {
    let now = sila_core::epoch_seconds();
    let mut shared = BTreeMap::new();
    if in_prod {
        for image in images {
            let accounts = clients.launch_permissions(&image.id).await?;
            shared.insert(image.id.clone(), ami_settings.prod_accounts.iter().all(|a| accounts.contains(a)));
        }
    }
    let mut headers = vec!["ID", "CREATED", "NAME", "STATE", "STAGE", "PRODUCT LINE", "AGE (H)"];
    if in_prod {
        headers.push("PRODUCTION");
    }
    if show_tags {
        headers.push("TAGS");
    }
    let mut table = Table::new(headers);
    let mut rows = Vec::new();
    for image in images {
        let name = if ami::is_baked_name(&image.name) { image.hostclass() } else { image.name.as_str() };
        let mut cells = vec![
            image.id.clone(),
            image.created.clone(),
            name.to_string(),
            image.state.clone(),
            image.stage().unwrap_or_default().to_string(),
            image.productline().unwrap_or_default().to_string(),
            image.age_hours(now).map_or("-".to_string(), |h| h.to_string()),
        ];
        if in_prod {
            cells.push(if shared[&image.id] { "prod" } else { "non-prod" }.to_string());
        }
        if show_tags {
            let other: Vec<String> = image
                .tags
                .iter()
                .filter(|(k, _)| !matches!(k.as_str(), "stage" | "productline"))
                .map(|(k, v)| format!("{k}:{v}"))
                .collect();
            cells.push(other.join(","));
        }
        table.row(cells);
        rows.push(Row {
            image,
            hostclass: image.hostclass(),
            stage: image.stage(),
            productline: image.productline(),
            age_hours: image.age_hours(now),
            in_prod: shared.get(&image.id).copied(),
        });
    }
    settings.printer().print(&table, &rows)?;
    if images.is_empty() {
        if settings.output != sila_cli::OutputFormat::Json {
            eprintln!("no images found");
        }
        return Err(Failure.into());
    }
    Ok(())
}

/// `listamis`.
pub async fn list(settings: &Settings, args: &ListArgs) -> anyhow::Result<()> {
    let ami_settings = ami_settings(settings)?;
    let clients = settings.clients().await?;
    let ids = match &args.instance {
        Some(instance) => Some(clients.images_of_instances(std::slice::from_ref(instance)).await?),
        None => None,
    };
    let filter = ListFilter {
        ami: args.ami.clone(),
        ids,
        stage: args.stage.clone(),
        productline: args.productline.clone(),
        state: args.state.clone(),
        hostclass: args.hostclass.clone(),
    };
    let name = args.hostclass.as_ref().map(|h| format!("{h} *"));
    let mut images: Vec<Image> = clients
        .images(&ami_settings.trusted, name.as_deref())
        .await?
        .into_iter()
        .filter(|i| filter.matches(i))
        .collect();
    ami::sort_for_listing(&mut images);
    print_images(settings, clients, &ami_settings, &images, args.in_prod, args.show_tags).await
}

/// Arguments of `listlatestami`.
#[derive(Debug, Args)]
pub struct LatestArgs {
    /// The stage (a comma-separated list is tried in order)
    #[arg(long, value_name = "STAGE")]
    pub stage: String,
    /// The hostclass
    #[arg(long, value_name = "HOSTCLASS")]
    pub hostclass: String,
    /// Add a column saying whether the image is shared with every production account
    #[arg(long)]
    pub in_prod: bool,
    /// Add a column with the other tags
    #[arg(long)]
    pub show_tags: bool,
}

/// `listlatestami`.
pub async fn latest(settings: &Settings, args: &LatestArgs) -> anyhow::Result<()> {
    let ami_settings = ami_settings(settings)?;
    let clients = settings.clients().await?;
    let images = clients.images(&ami_settings.trusted, Some(&format!("{} *", args.hostclass))).await?;
    let stages: Vec<&str> = args.stage.split(',').collect();
    let found: Vec<Image> =
        ami::find_ami(&images, &args.hostclass, Some(&stages), None, true).into_iter().cloned().collect();
    print_images(settings, clients, &ami_settings, &found, args.in_prod, args.show_tags).await
}

/// Arguments of `liststragglers`.
#[derive(Debug, Args)]
pub struct StragglersArgs {
    /// Days a bake may wait for promotion to the final stage
    #[arg(long, default_value = "3", value_name = "N", value_parser = sila_cli::values::days)]
    pub days: u64,
}

/// `liststragglers`: `HOSTCLASS  AMI` (`-` when the hostclass has no unpromoted bake either).
pub async fn stragglers(settings: &Settings, args: &StragglersArgs) -> anyhow::Result<()> {
    let ami_settings = ami_settings(settings)?;
    let images = settings.clients().await?.images(&ami_settings.trusted, None).await?;
    let found = ami::stragglers(&images, &ami_settings.stages, args.days, sila_core::epoch_seconds());
    let mut table = Table::new(["HOSTCLASS", "AMI"]);
    let mut json = BTreeMap::new();
    for (hostclass, image) in &found {
        table.row([hostclass.clone(), image.map(|i| i.id.clone()).unwrap_or_default()]);
        json.insert(hostclass.clone(), image.map(|i| i.id.clone()));
    }
    settings.printer().print(&table, &json)?;
    Ok(())
}

/// Arguments of `deleteami`.
#[derive(Debug, Args)]
pub struct DeleteArgs {
    /// The image
    #[arg(long, value_name = "AMI")]
    pub ami: String,
    /// Say what would be deleted and change nothing
    #[arg(long, alias = "dryrun")]
    pub dry_run: bool,
}

/// `deleteami`: only an image this account owns, and not while an instance uses it.
pub async fn delete(settings: &Settings, args: &DeleteArgs) -> anyhow::Result<()> {
    let clients = settings.clients().await?;
    let caller = clients.caller().await?;
    let image = clients.images_by_id(std::slice::from_ref(&args.ami)).await?.pop();
    let image = image.ok_or_else(|| anyhow::anyhow!("no image {}", args.ami))?;
    if image.owner != caller.account {
        anyhow::bail!(
            "image {} belongs to account {}, not this one ({}); nothing was deleted",
            image.id,
            image.owner,
            caller.account
        );
    }
    if let Some(users) = clients.instances_using(std::slice::from_ref(&image.id)).await?.get(&image.id) {
        anyhow::bail!("image {} is used by instance {}; nothing was deleted", image.id, users.join(", "));
    }
    let printer = settings.printer();
    if !args.dry_run {
        clients.delete_image(&image).await?;
    }
    if printer.json() {
        printer.print_json(&serde_json::json!({"deleted": !args.dry_run, "image": image}))?;
    } else {
        let verb = if args.dry_run { "would delete" } else { "deleted" };
        let snapshots = if image.snapshots.is_empty() { "none".to_string() } else { image.snapshots.join(", ") };
        printer.line(&format!("{verb} image {} ({}) and its snapshots: {snapshots}", image.id, image.name))?;
    }
    Ok(())
}

/// Arguments of `cleanupamis`.
#[derive(Debug, Args)]
pub struct CleanupArgs {
    /// The stage to clean up
    #[arg(long, value_name = "STAGE")]
    pub stage: String,
    /// Keep the newest N images of each hostclass
    #[arg(long, default_value_t = 3, value_name = "N")]
    pub keep: usize,
    /// Keep images younger than D days
    #[arg(long, default_value = "14", value_name = "D", allow_negative_numbers = true, value_parser = sila_cli::values::age_days)]
    pub age: i64,
    /// Only this hostclass
    #[arg(long, value_name = "HOSTCLASS")]
    pub hostclass: Option<String>,
    /// Only this product line
    #[arg(long, value_name = "PRODUCTLINE")]
    pub productline: Option<String>,
    /// Never these images (comma-separated)
    #[arg(long, value_name = "AMI,...", value_delimiter = ',')]
    pub exclude_amis: Vec<String>,
    /// Print the decisions and delete nothing
    #[arg(long, alias = "dryrun")]
    pub dry_run: bool,
}

/// Image id → `pipelines/<file>:<line>` of rows that pin it.
fn pinned_in_pipelines(settings: &Settings) -> BTreeMap<String, Vec<String>> {
    let dir = settings.config_dir.pipelines_dir();
    let mut pinned: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut paths: Vec<_> = std::fs::read_dir(&dir)
        .into_iter()
        .flatten()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "csv"))
        .collect();
    paths.sort();
    for path in paths {
        let Ok(text) = std::fs::read_to_string(&path) else { continue };
        let (pipeline, _) = Pipeline::parse_all(&path, &text);
        let file = path.file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default();
        for row in &pipeline.rows {
            if let Some(ami) = &row.ami {
                pinned.entry(ami.clone()).or_default().push(format!("pipelines/{file}:{}", row.line));
            }
        }
    }
    pinned
}

/// `cleanupamis`: a table of every image of the stage with the decision and the rule behind it,
/// then the deletions (none with `--dry-run`).
pub async fn cleanup(settings: &Settings, args: &CleanupArgs) -> anyhow::Result<()> {
    let ami_settings = ami_settings(settings)?;
    ami_settings.known_stage("--stage", &args.stage).map_err(UsageError)?;
    let pipelines = pinned_in_pipelines(settings);
    let clients = settings.clients().await?;
    // Only this account's images: trusted accounts' images are theirs to clean.
    let images = clients.images(&[], None).await?;
    let ids: Vec<String> =
        images.iter().filter(|i| i.stage() == Some(args.stage.as_str())).map(|i| i.id.clone()).collect();
    let (instances, templates) = tokio::try_join!(clients.instances_using(&ids), clients.templates_using())?;
    let request = CleanupRequest {
        stage: args.stage.clone(),
        keep: args.keep,
        age_days: args.age,
        hostclass: args.hostclass.clone(),
        productline: args.productline.clone(),
        exclude: args.exclude_amis.clone(),
        now: sila_core::epoch_seconds(),
    };
    let verdicts = ami::cleanup(&images, &request, &InUse { instances, templates, pipelines });
    let printer = settings.printer();
    let mut table = Table::new(["ID", "NAME", "AGE (D)", "ACTION", "WHY"]);
    for v in &verdicts {
        let action = match (v.delete, args.dry_run) {
            (true, true) => "would delete",
            (true, false) => "delete",
            (false, _) => "keep",
        };
        table.row([
            v.image.id.clone(),
            v.image.name.clone(),
            v.image.age_hours(request.now).map_or("-".to_string(), |h| (h / 24).to_string()),
            action.into(),
            v.reason.clone(),
        ]);
    }
    if !printer.json() {
        printer.line(&table.render())?;
    }
    let mut failures = Vec::new();
    if !args.dry_run {
        for v in verdicts.iter().filter(|v| v.delete) {
            if let Err(e) = clients.delete_image(&v.image).await {
                failures.push(format!("{}: {e}", v.image.id));
            }
        }
    }
    if printer.json() {
        printer.print_json(&serde_json::json!({"dry_run": args.dry_run, "images": verdicts}))?;
    } else {
        let deleted = verdicts.iter().filter(|v| v.delete).count() - failures.len();
        let verb = if args.dry_run { "would delete" } else { "deleted" };
        printer.line(&format!("{verb} {deleted} image(s), kept {}", verdicts.len() - deleted - failures.len()))?;
    }
    if !failures.is_empty() {
        anyhow::bail!("{} image(s) could not be deleted:\n  {}", failures.len(), failures.join("\n  "));
    }
    Ok(())
}
