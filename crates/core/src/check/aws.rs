//! `aws.ini`: global, bake and hostclass options, and the files they refer to.

use super::is_boolean_word;
use crate::config::{AwsConfig, ConfigDir, GLOBAL_SECTION};
use crate::diag::Diagnostic;
use crate::ini::{split_env_suffix, Entry};
use crate::net::{parse_ip_spec, Metanetwork};

const BOOLEAN_OPTIONS: &[&str] = &[
    "public_ip",
    "enable_proxy",
    "smoketest_termination",
    "chaos",
    "spotinst",
    "elb",
    "target_group",
    "enhanced_networking",
    "prune_empty_groups",
];

pub(super) fn check(aws: &AwsConfig, dir: &ConfigDir, out: &mut Vec<Diagnostic>) {
    let path = aws.ini.path.clone();
    match aws.ini.section(GLOBAL_SECTION) {
        None => out.push(Diagnostic::error(&path, None, "no [disco_aws] section: every tool needs its global options")),
        Some(global) if global.get("default_environment").is_none() => out.push(Diagnostic::warning(
            &path,
            Some(global.line),
            "no default_environment in [disco_aws]: every command will need --env",
        )),
        Some(_) => {}
    }
    let stages = aws.ini.get("bake", "ami_stages");
    if let Some(stages) = stages {
        if stages.value.split_whitespace().next().is_none() {
            out.push(Diagnostic::error(&path, Some(stages.line), "ami_stages is empty: bakes need at least one stage"));
        }
    }
    for section in aws.ini.sections() {
        for (name, entry) in section.options() {
            let base = split_env_suffix(name).0;
            let option = base.strip_prefix("default_").filter(|_| section.name == GLOBAL_SECTION).unwrap_or(base);
            let bad = |message: String| {
                Diagnostic::error(&path, Some(entry.line), format!("[{}] {name}: {message}", section.name))
            };
            let v = entry.value.trim();
            match option {
                "meta_network" | "elb_meta_network" if Metanetwork::from_name(v).is_none() => {
                    out.push(bad(format!("{v:?} is not one of intranet, tunnel, dmz, maintenance")));
                }
                "ip_address" if !v.is_empty() => {
                    if let Err(e) = parse_ip_spec(v) {
                        out.push(bad(e.to_string()));
                    }
                }
                "instance_profile_name" | "bake_instance_profile" if !v.is_empty() => {
                    instance_profile(dir, &path, section.name.as_str(), name, entry, out);
                }
                "tags" => {
                    for item in v.split(',').map(str::trim).filter(|i| !i.is_empty()) {
                        let parts: Vec<&str> = item.split(':').map(str::trim).collect();
                        if parts.len() != 2 || parts.iter().any(|p| p.is_empty()) {
                            out.push(bad(format!("tag {item:?} is not key:value")));
                        }
                    }
                }
                "phase" if !matches!(v, "1" | "2") => out.push(bad(format!("phase must be 1 or 2, not {v:?}"))),
                "ami_available_wait_time" => {
                    if let Err(e) = crate::bake::parse_image_wait(v) {
                        out.push(bad(e));
                    }
                }
                "prod_account_ids" | "trusted_account_ids" => {
                    for id in v.split_whitespace() {
                        if id.len() != 12 || !id.chars().all(|c| c.is_ascii_digit()) {
                            out.push(bad(format!("{id:?} is not a 12-digit AWS account id")));
                        }
                    }
                }
                "phase1_ami_name" if !v.is_empty() => match aws.ini.section(v) {
                    None => out.push(bad(format!("no [{v}] section describes this phase-1 image"))),
                    Some(s) if s.get("bake_ami").is_none_or(|e| e.value.is_empty()) => {
                        out.push(bad(format!("[{v}] has no bake_ami")));
                    }
                    Some(_) => {}
                },
                o if BOOLEAN_OPTIONS.contains(&o) && !is_boolean_word(v) => out.push(Diagnostic::warning(
                    &path,
                    Some(entry.line),
                    format!("[{}] {name}: {v:?} counts as false (true values: true, yes, t, y, aye, 1)", section.name),
                )),
                _ => {}
            }
        }
    }
}

/// An instance profile `instance_<P>` is made from `iam/instance_policies/<P>.iam` (Asiaq's naming);
/// `<name>.iam` is accepted too.
fn instance_profile(
    dir: &ConfigDir,
    path: &std::path::Path,
    section: &str,
    option: &str,
    entry: &Entry,
    out: &mut Vec<Diagnostic>,
) {
    let policies = dir.iam_dir().join("instance_policies");
    let name = entry.value.trim();
    let stem = name.strip_prefix("instance_").unwrap_or(name);
    if policies.join(format!("{stem}.iam")).is_file() || policies.join(format!("{name}.iam")).is_file() {
        return;
    }
    let message = format!("[{section}] {option}: {name} has no iam/instance_policies/{stem}.iam");
    if dir.iam_dir().is_dir() {
        out.push(Diagnostic::error(path, Some(entry.line), message));
    } else {
        out.push(Diagnostic::warning(path, Some(entry.line), format!("{message} (no iam/ directory here)")));
    }
}
