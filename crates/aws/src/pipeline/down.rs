//! Taking a pipeline down: every group of its hostclasses at once, one wait for all of them, then
//! their launch templates.

use super::read::Context;
use serde::Serialize;
use sila_cli::Printer;
use sila_core::pipeline::Pipeline;

/// What spindown removed from one hostclass.
#[derive(Debug, Serialize)]
pub(crate) struct Removed {
    pub(crate) hostclass: String,
    pub(crate) groups: Vec<String>,
    pub(crate) launch_template: String,
    /// Its load balancers (with their target groups and alias records).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) load_balancers: Vec<String>,
}

/// Removes the groups and launch templates of `pipeline`'s hostclasses; prints what (text output
/// only: the caller prints JSON).
pub(crate) async fn take_down(
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
    let mut removed: Vec<Removed> = hostclasses
        .iter()
        .map(|h| Removed {
            hostclass: h.to_string(),
            groups: existing.remove(*h).unwrap_or_default().into_iter().map(|g| g.name).collect(),
            launch_template: format!("{}_{h}", ctx.env),
            load_balancers: Vec::new(),
        })
        .collect();
    if !dry_run {
        let groups: Vec<String> = removed.iter().flat_map(|r| r.groups.clone()).collect();
        ctx.clients.delete_groups(&groups).await?;
        let names: Vec<String> = removed.iter().map(|r| r.launch_template.clone()).collect();
        let ids: Vec<String> = ctx.clients.launch_templates_named(&names).await?.into_values().collect();
        ctx.clients.delete_launch_templates(&ids).await?;
    }
    // The load balancers last: the groups no longer register with their target groups.
    let mut balancers = super::balancers::take_down(ctx, &hostclasses, dry_run).await?;
    for r in &mut removed {
        r.load_balancers = balancers.remove(&r.hostclass).unwrap_or_default();
    }
    if !printer.json() {
        let mut text = String::new();
        for r in &removed {
            let groups = if r.groups.is_empty() { "no group".to_string() } else { r.groups.join(" ") };
            let balancers = match r.load_balancers.as_slice() {
                [] => String::new(),
                names => format!(", load balancer {}", names.join(" ")),
            };
            text.push_str(&format!(
                "  - {}: {groups}, launch template {}{balancers}\n",
                r.hostclass, r.launch_template
            ));
        }
        text.push_str(if dry_run { "dry run: nothing changed" } else { "spindown done" });
        printer.line(&text)?;
    }
    Ok(removed)
}
