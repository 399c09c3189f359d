//! `reap`: remove what bake runs that are over left behind: builders, temporary key pairs and
//! security groups, and images that never finished (a finished image loses its run tags).
//!
//! Only what a bake made counts, not whatever carries its tags (anyone who may tag can write those,
//! `sila-aws tag` included): a key pair or group must be named after the run in its tags, a builder
//! must sit in that run's group and is judged by the group's deadline, an image must be described
//! as that run's. A run still within its deadline is left alone unless `--older-than` says
//! otherwise. It asks on a terminal, and needs `--yes` elsewhere.

use super::keyfile;
use clap::Args;
use serde::Serialize;
use sila_cli::{Failure, Settings, Table, UsageError};
use sila_core::bake::{described_for_run, reapable, run_of_named, RUN_TAG};
use std::collections::BTreeMap;
use std::io::{BufRead as _, IsTerminal as _, Write as _};
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
    /// Do not ask for confirmation (required when stdin is not a terminal)
    #[arg(long)]
    pub yes: bool,
}

/// One resource a finished run left.
#[derive(Debug, Serialize)]
struct Leftover {
    kind: &'static str,
    id: String,
    run: String,
}

type Tags = BTreeMap<String, String>;

/// Runs `reap`.
pub(crate) async fn reap(settings: &Settings, args: &ReapArgs) -> anyhow::Result<()> {
    let printer = settings.printer();
    let clients = settings.clients().await?;
    let found = clients.leftovers(RUN_TAG).await?;
    let now = sila_core::epoch_seconds();
    let older = args.older_than.map(|d| d.as_secs());
    let run_of = |tags: &Tags| tags.get(RUN_TAG).cloned().unwrap_or_default();
    // The groups bakes made, by id: their tags were written with them, and their names are fixed.
    let bake_groups: BTreeMap<&str, &Tags> = found
        .groups
        .iter()
        .filter(|(_, name, tags)| run_of_named(name, tags).is_some())
        .map(|(id, _, tags)| (id.as_str(), tags))
        .collect();
    let instances: Vec<_> = found
        .instances
        .iter()
        .filter(|m| {
            let run = m.tags.get(RUN_TAG);
            // In its run's group; judged by that group's tags, not by its own.
            let group = m.groups.iter().find_map(|g| bake_groups.get(g.as_str()).filter(|t| t.get(RUN_TAG) == run));
            group.is_some_and(|tags| reapable(tags, now, older, m.launched))
        })
        .collect();
    let images: Vec<_> = found
        .images
        .iter()
        .filter(|i| described_for_run(found.image_descriptions.get(&i.id).map_or("", String::as_str), &i.tags))
        .filter(|i| reapable(&i.tags, now, older, Some(i.timestamp()).filter(|t| *t > 0)))
        .collect();
    let groups: Vec<_> = found
        .groups
        .iter()
        .filter(|(_, name, tags)| run_of_named(name, tags).is_some() && reapable(tags, now, older, None))
        .collect();
    let keys: Vec<_> = found
        .key_pairs
        .iter()
        .filter(|(name, tags, c)| run_of_named(name, tags).is_some() && reapable(tags, now, older, *c))
        .collect();

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
    if !args.yes {
        if !std::io::stdin().is_terminal() {
            return Err(UsageError("refusing to reap without --yes when stdin is not a terminal".into()).into());
        }
        eprintln!("{}", table.render());
        eprint!("Remove these {} leftover(s) of bake runs? [y/N] ", rows.len());
        std::io::stderr().flush()?;
        let mut answer = String::new();
        std::io::stdin().lock().read_line(&mut answer)?;
        if !matches!(answer.trim(), "y" | "Y" | "yes" | "YES" | "Yes") {
            eprintln!("not confirmed; nothing was changed");
            return Err(Failure.into());
        }
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
    for (name, tags, _) in &keys {
        clients.delete_key_pair(name).await?;
        // The key file `--no-destroy` left on this machine for the run, if it did.
        if let Err(e) = keyfile::remove(&run_of(tags)) {
            tracing::warn!("{e:#}");
        }
    }
    printer.print(&table, &rows)?;
    if !printer.json() {
        eprintln!("removed {} leftover(s) of finished bake runs", rows.len());
    }
    Ok(())
}
