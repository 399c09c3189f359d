//! `sila check`: offline validation of a whole config dir. Every problem is reported (not just the
//! first) as a [`Diagnostic`] with its file and line. Asiaq's known quirks in a real Asiaq config
//! are warnings, so an Asiaq config repo checks clean; anything that would make a tool fail or do
//! the wrong thing in AWS is an error.

mod aws;
mod iam;
mod other;
mod vpc;

use crate::config::{AwsConfig, ConfigDir, ConfigFile, VpcConfig};
use crate::diag::{Diagnostic, Diagnostics};
use crate::ini::Ini;
use std::collections::BTreeMap;

/// Checks everything under `dir`, sorted by file and line.
pub fn check(dir: &ConfigDir) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let mut files: BTreeMap<ConfigFile, Ini> = BTreeMap::new();
    for file in ConfigFile::ALL {
        let winner = dir.file_path(file);
        for shadowed in dir.shadowed(file) {
            let used = winner.as_ref().map(|p| p.display().to_string()).unwrap_or_default();
            out.push(Diagnostic::warning(&shadowed, None, format!("ignored: {used} takes precedence")));
        }
        match dir.load(file) {
            Ok(Some(ini)) => {
                interpolation(&ini, &mut out);
                files.insert(file, ini);
            }
            Ok(None) => {}
            Err(Diagnostics(problems)) => out.extend(problems),
        }
    }
    let aws = files.remove(&ConfigFile::Aws).map(AwsConfig::new);
    let vpc = files.remove(&ConfigFile::Vpc).map(VpcConfig::new);
    match &aws {
        Some(aws) => aws::check(aws, dir, &mut out),
        None if dir.file_path(ConfigFile::Aws).is_none() => out.push(Diagnostic::error(
            &dir.root,
            None,
            "no aws.ini, config/aws.ini or disco_aws.ini: every tool needs it",
        )),
        None => {}
    }
    if let Some(vpc) = &vpc {
        vpc::check(vpc, aws.as_ref(), &mut out);
    }
    iam::check(dir, &mut out);
    other::pipelines(dir, aws.as_ref(), &mut out);
    other::discoroot(dir, &mut out);
    if let Some(ini) = files.get(&ConfigFile::Alarms) {
        other::alarms(ini, &mut out);
    }
    if let Some(ini) = files.get(&ConfigFile::LogMetrics) {
        other::log_metrics(ini, &mut out);
    }
    if let Some(ini) = files.get(&ConfigFile::Rds) {
        other::rds(ini, dir, &mut out);
    }
    if let Some(ini) = files.get(&ConfigFile::Elasticache) {
        other::env_colon_sections(ini, &[], &mut out);
    }
    if let Some(ini) = files.get(&ConfigFile::Elasticsearch) {
        other::env_colon_sections(ini, &["defaults"], &mut out);
    }
    out.sort_by(|a, b| (&a.path, a.line, a.severity).cmp(&(&b.path, b.line, b.severity)));
    out.dedup();
    out
}

/// `%(name)s` references that cannot be expanded are errors wherever they are.
fn interpolation(ini: &Ini, out: &mut Vec<Diagnostic>) {
    for section in ini.sections() {
        for (name, entry) in section.options() {
            if entry.value.contains("%(") {
                if let Err(e) = ini.interpolate(&section.name, &entry.value, 0) {
                    out.push(Diagnostic::error(&ini.path, Some(entry.line), format!("[{}] {name}: {e}", section.name)));
                }
            }
        }
    }
}

/// Words Asiaq's truthiness understands as "no" (anything else that is not truthy is suspicious).
pub(crate) fn is_boolean_word(value: &str) -> bool {
    crate::truth::truthy(value)
        || matches!(value.trim().to_ascii_lowercase().as_str(), "" | "false" | "no" | "f" | "n" | "0" | "none" | "nay")
}

#[cfg(test)]
mod tests;
