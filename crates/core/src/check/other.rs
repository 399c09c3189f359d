//! Pipelines, discoroot, and the ini files of the peripheral tools (alarms, log metrics, RDS,
//! ElastiCache, Elasticsearch).

use crate::config::{AwsConfig, ConfigDir};
use crate::diag::{Diagnostic, Diagnostics};
use crate::discoroot::parse_acfg_metadata;
use crate::ini::Ini;
use crate::pipeline::Pipeline;
use std::path::{Path, PathBuf};

/// Every `pipelines/*.csv`: parse, sequences present, hostclasses known.
pub(super) fn pipelines(dir: &ConfigDir, aws: Option<&AwsConfig>, out: &mut Vec<Diagnostic>) {
    for path in files_with_extension(&dir.pipelines_dir(), "csv") {
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) => {
                out.push(Diagnostic::error(&path, None, format!("cannot read: {e}")));
                continue;
            }
        };
        let (pipeline, problems) = Pipeline::parse_all(&path, &text);
        out.extend(problems);
        if let Err(Diagnostics(missing_sequence)) = pipeline.sequence_batches() {
            out.extend(missing_sequence);
        }
        for row in &pipeline.rows {
            if let Some(aws) = aws {
                if aws.ini.section(&row.hostclass).is_none() {
                    out.push(Diagnostic::warning(
                        &path,
                        Some(row.line),
                        format!(
                            "hostclass {} has no [{}] section in {}: every option comes from [disco_aws] default_*",
                            row.hostclass,
                            row.hostclass,
                            aws.ini.path.display()
                        ),
                    ));
                }
            }
        }
    }
}

/// `discoroot/acfg.metadata`: parse it, and warn about entries for files the overlay does not have.
pub(super) fn discoroot(dir: &ConfigDir, out: &mut Vec<Diagnostic>) {
    let root = dir.discoroot_dir();
    let path = root.join("acfg.metadata");
    let Ok(text) = std::fs::read_to_string(&path) else { return };
    match parse_acfg_metadata(&path, &text) {
        Err(Diagnostics(problems)) => out.extend(problems),
        Ok(entries) => {
            for entry in entries {
                let name = match &entry.hostclass {
                    Some(h) => format!("{}~{h}", entry.path.trim_start_matches('/')),
                    None => entry.path.trim_start_matches('/').to_string(),
                };
                if !root.join(&name).exists() {
                    out.push(Diagnostic::warning(
                        &path,
                        Some(entry.line),
                        format!("discoroot/{name} does not exist: this entry only applies if the file is on the host"),
                    ));
                }
            }
        }
    }
}

/// `alarms.ini` (reference §3.7).
pub(super) fn alarms(ini: &Ini, out: &mut Vec<Diagnostic>) {
    for section in ini.sections() {
        match section.name.as_str() {
            "notifications" => {
                for (name, entry) in section.options() {
                    let fields: Vec<&str> = name.split('_').collect();
                    if fields.len() < 3 {
                        out.push(Diagnostic::error(
                            &ini.path,
                            Some(entry.line),
                            format!("{name}: notification keys are <team>_<env>_<level>"),
                        ));
                    } else if !matches!(fields[fields.len() - 1], "critical" | "info") {
                        out.push(Diagnostic::warning(
                            &ini.path,
                            Some(entry.line),
                            format!("{name}: level should be critical or info"),
                        ));
                    }
                    for endpoint in entry.value.split(',').map(str::trim).filter(|e| !e.is_empty()) {
                        let ok = endpoint.starts_with("http://")
                            || endpoint.starts_with("https://")
                            || endpoint.contains('@');
                        if !ok {
                            out.push(Diagnostic::error(
                                &ini.path,
                                Some(entry.line),
                                format!("{name}: {endpoint:?} is neither an email address nor an http(s) URL"),
                            ));
                        }
                    }
                }
            }
            "defaults" => {}
            name => {
                if name.split('.').count() < 3 {
                    out.push(Diagnostic::error(
                        &ini.path,
                        Some(section.line),
                        format!("[{name}]: alarm sections are <team>.<Namespace>.<Metric>[.<hostclass>]"),
                    ));
                }
                for key in ["threshold_max", "threshold_min"] {
                    if let Some(e) = section.get(key) {
                        if e.value.is_empty() || !e.value.chars().all(|c| c.is_ascii_digit()) {
                            out.push(Diagnostic::error(
                                &ini.path,
                                Some(e.line),
                                format!("{key} must be a whole number, not {:?}", e.value),
                            ));
                        }
                    }
                }
                if section.get("threshold_max").is_none() && section.get("threshold_min").is_none() {
                    out.push(Diagnostic::warning(
                        &ini.path,
                        Some(section.line),
                        format!("[{name}] has no threshold_max or threshold_min: no alarm"),
                    ));
                }
            }
        }
    }
}

/// `log_metrics.ini` (reference §3.8).
pub(super) fn log_metrics(ini: &Ini, out: &mut Vec<Diagnostic>) {
    for section in ini.sections() {
        match section.name.split_once('.') {
            Some((_, metric)) if !metric.contains('.') && !metric.is_empty() => {}
            _ => out.push(Diagnostic::error(
                &ini.path,
                Some(section.line),
                format!("[{}]: sections are <hostclass>.<MetricName> (no '.' in the metric name)", section.name),
            )),
        }
        for key in ["log_file", "filter_pattern", "metric_value"] {
            if section.get(key).is_none() {
                out.push(Diagnostic::error(&ini.path, Some(section.line), format!("[{}] has no {key}", section.name)));
            }
        }
        if let Some(e) = section.get("log_file") {
            if !e.value.starts_with('/') {
                out.push(Diagnostic::error(&ini.path, Some(e.line), "log_file must be an absolute path"));
            }
        }
    }
}

/// `rds.ini` (reference §3.4) and `rds/engine_specific/*.ini`.
pub(super) fn rds(ini: &Ini, dir: &ConfigDir, out: &mut Vec<Diagnostic>) {
    for section in ini.sections() {
        if !section.name.contains('-') {
            out.push(Diagnostic::warning(
                &ini.path,
                Some(section.line),
                format!(
                    "[{}] is not an <env>-<db> section and is ignored (engine parameters belong in rds/engine_specific/<db>.ini)",
                    section.name
                ),
            ));
            continue;
        }
        for key in ["engine", "engine_version", "db_instance_class", "allocated_storage", "master_username"] {
            if section.get(key).is_none_or(|e| e.value.is_empty()) {
                out.push(Diagnostic::error(&ini.path, Some(section.line), format!("[{}] needs {key}", section.name)));
            }
        }
        for key in ["allocated_storage", "iops", "port", "backup_retention_period"] {
            if let Some(e) = section.get(key) {
                if e.value.parse::<u32>().is_err() {
                    out.push(Diagnostic::error(
                        &ini.path,
                        Some(e.line),
                        format!("{key} must be a whole number, not {:?}", e.value),
                    ));
                }
            }
        }
        let family =
            section.get("engine").map(|e| e.value.split('-').next().unwrap_or("").to_string()).unwrap_or_default();
        if section.get("port").is_none() && !family.is_empty() && !matches!(family.as_str(), "oracle" | "postgres") {
            out.push(Diagnostic::error(
                &ini.path,
                Some(section.line),
                format!("[{}] needs a port (engine family {family} has no default)", section.name),
            ));
        }
    }
    for path in files_with_extension(&dir.resolve("rds/engine_specific"), "ini") {
        if let Err(Diagnostics(problems)) = Ini::load(&path) {
            out.extend(problems);
        }
    }
}

/// The files of `dir` (not below it) whose extension is `ext`, sorted; none when `dir` is absent.
fn files_with_extension(dir: &Path, ext: &str) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    let mut paths: Vec<PathBuf> =
        entries.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.extension().is_some_and(|e| e == ext)).collect();
    paths.sort();
    paths
}

/// ElastiCache and Elasticsearch: sections are `<env>:<name>` (plus the allowed extra names).
pub(super) fn env_colon_sections(ini: &Ini, allowed: &[&str], out: &mut Vec<Diagnostic>) {
    for section in ini.sections() {
        if !section.name.contains(':') && !allowed.contains(&section.name.as_str()) {
            out.push(Diagnostic::error(
                &ini.path,
                Some(section.line),
                format!("[{}]: sections are <env>:<name>", section.name),
            ));
        }
    }
}
