//! `reap`: remove what bake runs that are over left behind: builders, temporary key pairs and
//! security groups, and images that never finished (a finished image loses its run tags).

use clap::Args;
use serde::Serialize;
use sila_cli::{GlobalArgs, Printer, Table};
use sila_core::bake::{reapable, RUN_TAG};
use std::time::Duration;
use tokio::time::Instant;

/// Arguments of `reap`.
#[derive(Debug, Args)]
pub struct ReapArgs {
    /// Also take what runs started longer ago than this left, deadline or not (e.g. 2h)
    #[arg(long = "older-than", value_name = "DURATION", value_parser = sila_cli::values::age)]
    pub older_than: Option<Duration>,
    /// List what would be removed, and change nothing
    #[arg(long = "dry-run", alias = "dryrun")]
    pub dry_run: bool,
}

/// One resource a finished run left.
#[derive(Debug, Serialize)]
struct Leftover {
    kind: &'static str,
    id: String,
    run: String,
}

/// Runs `reap`.
pub(crate) async fn reap(global: &GlobalArgs, args: &ReapArgs) -> anyhow::Result<()> {
    let printer = Printer::new(global.output);
    let clients = global.clients().await?;
    let found = clients.leftovers(RUN_TAG).await?;
    let now = sila_core::epoch_seconds();
    let older = args.older_than.map(|d| d.as_secs());
    let run_of = |tags: &std::collections::BTreeMap<String, String>| tags.get(RUN_TAG).cloned().unwrap_or_default();
    let created = |image: &sila_core::ami::Image| image.timestamp();
    let instances: Vec<_> = found.instances.iter().filter(|m| reapable(&m.tags, now, older, m.launched)).collect();
    let images: Vec<_> =
        found.images.iter().filter(|i| reapable(&i.tags, now, older, Some(created(i)).filter(|t| *t > 0))).collect();
    let groups: Vec<_> = found.groups.iter().filter(|(_, _, tags)| reapable(tags, now, older, None)).collect();
    let keys: Vec<_> = found.key_pairs.iter().filter(|(_, tags, c)| reapable(tags, now, older, *c)).collect();

    let mut rows: Vec<Leftover> = Vec::new();
    rows.extend(images.iter().map(|i| Leftover { kind: "image", id: i.id.clone(), run: run_of(&i.tags) }));
    rows.extend(instances.iter().map(|m| Leftover { kind: "instance", id: m.id.clone(), run: run_of(&m.tags) }));
    rows.extend(groups.iter().map(|(id, _, t)| Leftover { kind: "security group", id: id.clone(), run: run_of(t) }));
    rows.extend(keys.iter().map(|(name, t, _)| Leftover { kind: "key pair", id: name.clone(), run: run_of(t) }));
    let mut table = Table::new(["Kind", "Id", "Run"]);
    for r in &rows {
        table.row([r.kind.to_string(), r.id.clone(), r.run.clone()]);
    }
    if args.dry_run || rows.is_empty() {
        printer.print(&table, &rows)?;
        if !printer.json() {
            eprintln!(
                "{} leftover(s) of finished bake runs{}",
                rows.len(),
                if args.dry_run { "; dry run: nothing changed" } else { "" }
            );
        }
        return Ok(());
    }
    // Images first (nothing depends on them), then builders, whose end frees the groups.
    let deadline = Instant::now() + Duration::from_secs(15 * 60);
    for image in &images {
        clients.delete_image(image).await?;
    }
    let ids: Vec<String> = instances.iter().map(|m| m.id.clone()).collect();
    clients.terminate_machines(&ids, deadline).await?;
    for (id, _, _) in &groups {
        clients.delete_group_when_free(id, deadline).await?;
    }
    for (name, _, _) in &keys {
        clients.delete_key_pair(name).await?;
    }
    printer.print(&table, &rows)?;
    if !printer.json() {
        eprintln!("removed {} leftover(s) of finished bake runs", rows.len());
    }
    Ok(())
}
