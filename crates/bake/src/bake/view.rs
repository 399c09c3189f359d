//! The bake's plan as printed, and as `--output json` gives it.

use super::*;

/// The plan as printed, and as `--output json` gives it.
#[derive(Debug, Serialize)]
struct PlanView<'a> {
    run_id: &'a str,
    phase: u8,
    hostclass: &'a str,
    source_ami: &'a str,
    source_name: &'a str,
    bakery: &'a str,
    vpc_id: &'a str,
    subnet: &'a str,
    instance_type: &'a str,
    key_pair: String,
    /// `private` or `public`: the builder's address Sila connects to.
    reached_on: &'static str,
    ssh_from: &'a [String],
    upload_files: usize,
    destination: &'a str,
    overlay_files: Option<usize>,
    metadata_lines: Option<usize>,
    command: &'a str,
    forward_agent: bool,
    image_name: &'a str,
    image_tags: BTreeMap<&'a str, &'a str>,
    deadline_seconds: u64,
    dry_run: bool,
}

pub(super) fn print_plan(printer: &Printer, p: &Prepared, args: &BakeArgs) -> anyhow::Result<()> {
    let (dry_run, deadline) = (args.dry_run, args.deadline);
    let reached_on = if p.private { "private" } else { "public" };
    let view = PlanView {
        run_id: &p.run.id,
        phase: p.target.phase,
        hostclass: &p.target.hostclass,
        source_ami: &p.source_ami,
        source_name: &p.source_name,
        bakery: &p.bakery_name,
        vpc_id: &p.bakery.vpc_id,
        subnet: &p.subnet,
        instance_type: &p.instance_type,
        key_pair: match &p.key {
            KeyChoice::Configured(name) => name.clone(),
            KeyChoice::Temporary(name) => format!("{name} (temporary)"),
        },
        reached_on,
        ssh_from: &p.ssh_cidrs,
        upload_files: p.tree.files,
        destination: &p.destination,
        overlay_files: p.overlay.as_ref().map(|o| o.archive.files),
        metadata_lines: p.overlay.as_ref().map(|o| o.metadata_lines),
        command: &p.command,
        forward_agent: p.forward_agent,
        image_name: &p.image_name,
        image_tags: p.image_tags.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect(),
        deadline_seconds: deadline.as_secs(),
        dry_run,
    };
    if printer.json() {
        if dry_run {
            printer.print_json(&view)?;
        }
        return Ok(());
    }
    let mut text = format!(
        "bake {} (phase {}) from {} ({}), run {}\n",
        view.hostclass, view.phase, view.source_ami, view.source_name, view.run_id
    );
    text.push_str(&format!(
        "  + key pair {}\n  + security group {} in {} ({}): SSH from {}\n",
        view.key_pair,
        p.run.resource_name(),
        view.bakery,
        view.vpc_id,
        view.ssh_from.join(" ")
    ));
    text.push_str(&format!(
        "  + builder {} in {} (tunnel), IMDSv2 required, reached on its {} address{}{}\n",
        view.instance_type,
        view.subnet,
        reached_on,
        if p.private { " (no public one)" } else { "" },
        if p.repo_ip.is_some() {
            format!(", repo {}", p.repo_ip.as_deref().unwrap_or_default())
        } else {
            String::new()
        }
    ));
    text.push_str(&format!("  + upload {} file(s) to {}\n", view.upload_files, view.destination));
    if let Some(o) = &p.overlay {
        text.push_str(&format!(
            "  + overlay discoroot for {}: {} file(s), {} metadata line(s)\n",
            view.hostclass, o.archive.files, o.metadata_lines
        ));
    }
    let agent = if p.forward_agent { ", with the ssh-agent forwarded ([bake] forward_agent)" } else { "" };
    text.push_str(&format!("  + run {}{agent}\n", view.command));
    let tags: Vec<String> = p.image_tags.iter().map(|(k, v)| format!("{k}={v}")).collect();
    text.push_str(&format!("  + image \"{}\" tagged {}\n", view.image_name, tags.join(" ")));
    text.push_str(&format!(
        "  - builder, key pair and security group removed afterwards; deadline {}\n",
        humantime::format_duration(deadline)
    ));
    if dry_run {
        text.push_str("dry run: nothing changed\n");
    }
    printer.line(text.trim_end())?;
    Ok(())
}
