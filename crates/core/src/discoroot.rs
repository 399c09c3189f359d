//! The `discoroot/` overlay that a bake copies onto `/` (Asiaq's `acfg1.py`; reference §3.11, §4.23,
//! vector 127): which file variant each hostclass gets, and the owner/mode lines of `acfg.metadata`.
//!
//! Planning is separated from copying so that `sila check` and `--dry-run` can show exactly what a
//! hostclass would receive, and so the choice can be tested without root. This module only reads the
//! source tree; it never writes anywhere.

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::diag::{Diagnostic, Diagnostics};

/// Name of the owner/mode file at the root of `discoroot/`; never installed itself.
pub const METADATA_FILE_NAME: &str = "acfg.metadata";

/// Splits `name` into (installed name, hostclass) at its first `~`.
///
/// A name with nothing before or after the `~` (`~x`, `notes~`, the latter an editor backup) is not a
/// variant: it keeps its literal name. (Asiaq installed `notes~` as `notes`, possibly over the real one.)
fn split_variant(name: &str) -> (&str, Option<&str>) {
    match name.split_once('~') {
        Some((base, hostclass)) if !base.is_empty() && !hostclass.is_empty() => (base, Some(hostclass)),
        _ => (name, None),
    }
}

/// Chooses, among the file names of one directory, which ones to install and under which name.
///
/// `base~X` is the variant of `base` for hostclass `X`. For each base name the variant of the
/// highest-priority hostclass (earliest in `priority`) wins, else the plain file, else nothing. Returns
/// `(source name, installed name)` pairs sorted by installed name.
pub fn select_variants(names: &[&str], priority: &[&str]) -> Vec<(String, String)> {
    // installed name → (rank, source); rank 0..n for hostclasses in `priority`, n for the plain file.
    let mut chosen: BTreeMap<&str, (usize, &str)> = BTreeMap::new();
    for &name in names {
        let (base, hostclass) = split_variant(name);
        let rank = match hostclass {
            None => priority.len(),
            Some(hc) => match priority.iter().position(|p| *p == hc) {
                Some(rank) => rank,
                None => continue,
            },
        };
        let better = chosen.get(base).is_none_or(|(best, _)| rank < *best);
        if better {
            chosen.insert(base, (rank, name));
        }
    }
    chosen.into_iter().map(|(installed, (_, source))| (source.to_string(), installed.to_string())).collect()
}

/// What an overlay entry is in the source tree (symbolic links are never followed).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum EntryKind {
    /// A directory; always created.
    Dir,
    /// A regular file; copied with its permission bits.
    File,
    /// A symbolic link; recreated as a link.
    Symlink,
}

/// One thing the overlay installs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OverlayEntry {
    /// Path in the source tree, relative to its root (with the `~hostclass` suffix).
    pub source: PathBuf,
    /// Path at the destination, relative to `/` (suffix dropped).
    pub dest: PathBuf,
    /// Directory, file or link.
    pub kind: EntryKind,
}

/// Plans the overlay of the tree at `root` for a hostclass priority list (most specific first).
///
/// Walks the tree depth-first in name order: a directory comes before its contents, and every
/// directory is listed (a `~` in a directory name is literal). Files and links go through
/// [`select_variants`] per directory. `acfg.metadata` is never installed (Asiaq skips that name in
/// every directory). A file whose installed name collides with a directory is an `InvalidData` error.
pub fn plan_overlay(root: &Path, priority: &[&str]) -> io::Result<Vec<OverlayEntry>> {
    let mut plan = Vec::new();
    walk(root, Path::new(""), priority, &mut plan)?;
    Ok(plan)
}

fn walk(root: &Path, rel: &Path, priority: &[&str], plan: &mut Vec<OverlayEntry>) -> io::Result<()> {
    let mut dirs: Vec<String> = Vec::new();
    let mut others: BTreeMap<String, EntryKind> = BTreeMap::new();
    for entry in fs::read_dir(root.join(rel))? {
        let entry = entry?;
        let name = entry.file_name().into_string().map_err(|raw| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("{}: file name is not UTF-8", root.join(rel).join(raw).display()),
            )
        })?;
        let file_type = entry.file_type()?;
        if file_type.is_dir() {
            dirs.push(name);
        } else if name != METADATA_FILE_NAME {
            let kind = if file_type.is_symlink() { EntryKind::Symlink } else { EntryKind::File };
            others.insert(name, kind);
        }
    }

    let names: Vec<&str> = others.keys().map(String::as_str).collect();
    let mut items: Vec<(String, String, EntryKind)> = select_variants(&names, priority)
        .into_iter()
        .map(|(source, dest)| {
            let kind = others[&source];
            (source, dest, kind)
        })
        .collect();
    if let Some((source, dest, _)) = items.iter().find(|(_, dest, _)| dirs.contains(dest)) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "{} would be installed as {}, which is a directory in the overlay",
                rel.join(source).display(),
                rel.join(dest).display()
            ),
        ));
    }
    items.extend(dirs.into_iter().map(|d| (d.clone(), d, EntryKind::Dir)));
    // Sort by installed name so the plan reads like the destination tree.
    items.sort_by(|a, b| a.1.cmp(&b.1));

    for (source, dest, kind) in items {
        let source = rel.join(source);
        plan.push(OverlayEntry { source: source.clone(), dest: rel.join(dest), kind });
        if kind == EntryKind::Dir {
            walk(root, &source, priority, plan)?;
        }
    }
    Ok(())
}

/// One line of `acfg.metadata`: give `path` this mode and owner.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MetadataEntry {
    /// 1-based line in the metadata file.
    pub line: usize,
    /// Absolute destination path, without the `~hostclass` suffix.
    pub path: String,
    /// The hostclass the line is limited to, if it has a suffix.
    pub hostclass: Option<String>,
    /// Permission bits (at most `0o7777`).
    pub mode: u32,
    /// Owning user (created as a system user on demand).
    pub owner: String,
    /// Owning group (created on demand).
    pub group: String,
}

impl MetadataEntry {
    /// True when the line concerns a host with this priority list: no suffix, or a listed hostclass.
    pub fn applies_to(&self, priority: &[&str]) -> bool {
        self.hostclass.as_deref().is_none_or(|hc| priority.contains(&hc))
    }

    /// Rank in `priority` (lower wins); `None` for a line without a suffix.
    fn rank(&self, priority: &[&str]) -> Option<usize> {
        self.hostclass.as_deref().and_then(|hc| priority.iter().position(|p| *p == hc))
    }
}

/// Parses `acfg.metadata`: lines `/absolute/path[~hostclass] <octal mode> <owner> <group>`, `#` starting
/// a comment anywhere, blank lines ignored. Every bad line is reported.
///
/// The suffix is looked for in the last path component only, as directories never carry one.
pub fn parse_acfg_metadata(path: &Path, text: &str) -> Result<Vec<MetadataEntry>, Diagnostics> {
    let mut entries = Vec::new();
    let mut errors = Vec::new();
    for (index, raw) in text.lines().enumerate() {
        let line = index + 1;
        let content = raw.split('#').next().unwrap_or("").trim();
        if content.is_empty() {
            continue;
        }
        let fields: Vec<&str> = content.split_whitespace().collect();
        let [target, mode, owner, group] = fields[..] else {
            errors.push(Diagnostic::error(
                path,
                Some(line),
                format!("expected 4 fields `/path[~hostclass] mode owner group`, found {}", fields.len()),
            ));
            continue;
        };
        let mut line_ok = true;
        let mut fail = |message: String| {
            errors.push(Diagnostic::error(path, Some(line), message));
            line_ok = false;
        };
        if !target.starts_with('/') {
            fail(format!("`{target}` is not an absolute path"));
        }
        let mode_value = parse_mode(mode);
        if mode_value.is_none() {
            fail(format!("`{mode}` is not an octal mode (like 755 or 0644, at most 7777)"));
        }
        if let (true, Some(mode)) = (line_ok, mode_value) {
            let (dir, name) = target.rsplit_once('/').unwrap_or(("", target));
            let (base, hostclass) = split_variant(name);
            entries.push(MetadataEntry {
                line,
                path: trim_trailing_slash(&format!("{dir}/{base}")),
                hostclass: hostclass.map(str::to_string),
                mode,
                owner: owner.to_string(),
                group: group.to_string(),
            });
        }
    }
    if errors.is_empty() {
        Ok(entries)
    } else {
        Err(Diagnostics(errors))
    }
}

/// Reads and parses `<root>/acfg.metadata`; a missing file means no metadata (Asiaq only warned).
pub fn load_acfg_metadata(root: &Path) -> Result<Vec<MetadataEntry>, Diagnostics> {
    let path = root.join(METADATA_FILE_NAME);
    match fs::read_to_string(&path) {
        Ok(text) => parse_acfg_metadata(&path, &text),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(Diagnostics(vec![Diagnostic::error(&path, None, format!("cannot read: {e}"))])),
    }
}

fn parse_mode(mode: &str) -> Option<u32> {
    if mode.is_empty() || !mode.bytes().all(|b| (b'0'..=b'7').contains(&b)) {
        return None;
    }
    u32::from_str_radix(mode, 8).ok().filter(|m| *m <= 0o7777)
}

/// `/etc/rsyslog.d/` and `/etc/rsyslog.d` name the same thing; keep `/` itself.
fn trim_trailing_slash(path: &str) -> String {
    let trimmed = path.trim_end_matches('/');
    if trimmed.is_empty() {
        "/".to_string()
    } else {
        trimmed.to_string()
    }
}

/// For each path, the metadata line to apply on a host with this priority list, as `acfg1.py` decides:
/// in file order, lines for other hostclasses are skipped; the first applicable line for a path is
/// taken; a later line replaces it only if it has a suffix of higher priority than the taken one (a
/// suffixed line beats a plain one, a plain line never replaces anything).
pub fn effective_metadata<'a>(entries: &'a [MetadataEntry], priority: &[&str]) -> BTreeMap<&'a str, &'a MetadataEntry> {
    let mut chosen: BTreeMap<&str, &MetadataEntry> = BTreeMap::new();
    for entry in entries.iter().filter(|e| e.applies_to(priority)) {
        let replace = match chosen.get(entry.path.as_str()) {
            None => true,
            Some(current) => match (entry.rank(priority), current.rank(priority)) {
                (Some(new), Some(old)) => new < old,
                (Some(_), None) => true,
                (None, _) => false,
            },
        };
        if replace {
            chosen.insert(entry.path.as_str(), entry);
        }
    }
    chosen
}

/// Makes sure a group exists: tries `groupadd --system`, `groupadd -r` and busybox's `addgroup -S`.
const ENSURE_GROUP: &str = r#"ensure_group() { grep -q "^$1:" /etc/group || groupadd --system "$1" 2>/dev/null || groupadd -r "$1" 2>/dev/null || addgroup -S "$1"; }"#;
/// Makes sure a user exists, as a system user with no login shell, in group `$2`.
const ENSURE_USER: &str = r#"ensure_user() { grep -q "^$1:" /etc/passwd || useradd --system -M -s /sbin/nologin -g "$2" "$1" 2>/dev/null || useradd -r -s /sbin/nologin -g "$2" "$1" 2>/dev/null || adduser -S -D -H -s /sbin/nologin -G "$2" "$1"; }"#;
/// Applies one metadata line to a path that exists; says which line it skipped otherwise. A symbolic
/// link is never followed: its own owner is set (`chown -h`) and it has no mode of its own, so that a
/// link the overlay installs (say to `/etc/shadow`) cannot hand its target to the line's owner.
const APPLY: &str = r#"apply() { if [ -L "$1" ]; then ensure_group "$4" && ensure_user "$3" "$4" && chown -h "$3:$4" "$1"; elif [ -e "$1" ]; then ensure_group "$4" && ensure_user "$3" "$4" && chown -h "$3:$4" "$1" && chmod "$2" "$1"; else echo "acfg.metadata:$5: $1 is not on this machine; skipped" >&2; fi; }"#;

/// The shell script that gives installed files the modes and owners `acfg.metadata` chose
/// ([`effective_metadata`]), creating missing users and groups as system accounts with no login
/// shell. Paths that are not on the machine are skipped with a message naming the line. Owner and
/// group names are refused unless they are plain account names, as the script passes them on.
pub fn metadata_script(chosen: &BTreeMap<&str, &MetadataEntry>) -> Result<String, String> {
    let plain = |name: &str| {
        !name.is_empty()
            && !name.starts_with('-')
            && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
    };
    let mut script = format!("set -e\n{ENSURE_GROUP}\n{ENSURE_USER}\n{APPLY}\n");
    for entry in chosen.values() {
        // `..` would reach past a link the path seems to stay below.
        if entry.path.split('/').any(|c| c == "." || c == "..") {
            return Err(format!("acfg.metadata:{}: {}: no `.` or `..` components", entry.line, entry.path));
        }
        for name in [&entry.owner, &entry.group] {
            if !plain(name) {
                return Err(format!("acfg.metadata:{}: {name:?} is not a user or group name", entry.line));
            }
        }
        script.push_str(&format!(
            "apply {} {:04o} {} {} {}\n",
            crate::shell::quote(&entry.path),
            entry.mode,
            entry.owner,
            entry.group,
            entry.line
        ));
    }
    Ok(script)
}

#[cfg(test)]
mod tests;
