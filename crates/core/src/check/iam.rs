//! The `iam/` tree: policy JSON and shape, trust documents, S3 bucket documents, group membership.

use crate::config::ConfigDir;
use crate::diag::Diagnostic;
use crate::iam::spec::{read_membership, read_policy_file};
use crate::policy::{parse_lenient, PolicyKind};
use std::path::{Path, PathBuf};

pub(super) fn check(dir: &ConfigDir, out: &mut Vec<Diagnostic>) {
    let iam = dir.iam_dir();
    if !iam.is_dir() {
        return;
    }
    let mut files = Vec::new();
    walk(&iam, &mut files);
    for path in &files {
        let relative = path.strip_prefix(&iam).unwrap_or(path);
        let top =
            relative.components().next().map(|c| c.as_os_str().to_string_lossy().into_owned()).unwrap_or_default();
        let ext = path.extension().map(|e| e.to_string_lossy().into_owned()).unwrap_or_default();
        match (top.as_str(), ext.as_str()) {
            ("s3", "lifecycle" | "iam" | "acp" | "versioning" | "web" | "logging") => json_only(path, out),
            ("s3", _) => {}
            ("federation", "iam") | (_, "tr") => policy(path, PolicyKind::Trust, out),
            (_, "iam") => policy(path, PolicyKind::Identity, out),
            _ => {}
        }
    }
    membership(&iam, out);
}

fn walk(dir: &Path, files: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    for path in paths {
        if path.is_dir() {
            walk(&path, files);
        } else {
            files.push(path);
        }
    }
}

fn read(path: &Path, out: &mut Vec<Diagnostic>) -> Option<String> {
    match std::fs::read_to_string(path) {
        Ok(text) => Some(text),
        Err(e) => {
            out.push(Diagnostic::error(path, None, format!("cannot read: {e}")));
            None
        }
    }
}

fn policy(path: &Path, kind: PolicyKind, out: &mut Vec<Diagnostic>) {
    let name = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    read_policy_file(path.to_path_buf(), &name, kind, out);
}

/// S3 bucket documents may be empty (an empty file switches the default off) and hold `$PLACEHOLDERS`
/// inside strings; when present they must be JSON.
fn json_only(path: &Path, out: &mut Vec<Diagnostic>) {
    let Some(text) = read(path, out) else { return };
    if text.trim().is_empty() {
        return;
    }
    match parse_lenient(&text) {
        Err((line, message)) => out.push(Diagnostic::error(path, Some(line), message)),
        Ok(doc) if doc.had_trailing_commas => {
            out.push(Diagnostic::warning(path, None, "trailing comma: not strict JSON"));
        }
        Ok(_) => {}
    }
}

/// `group_membership/<account-env>/<user>.grp`: every group named must have a `user_policies/<g>.iam`.
fn membership(iam: &Path, out: &mut Vec<Diagnostic>) {
    let mut files = Vec::new();
    walk(&iam.join("group_membership"), &mut files);
    for path in files.iter().filter(|p| p.extension().is_some_and(|e| e == "grp")) {
        read_membership(path, &iam.join("user_policies"), out);
    }
}
