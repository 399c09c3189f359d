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
mod tests {
    use super::*;

    fn pairs(names: &[&str], priority: &[&str]) -> Vec<(String, String)> {
        select_variants(names, priority)
    }

    fn pair(source: &str, installed: &str) -> (String, String) {
        (source.to_string(), installed.to_string())
    }

    #[test]
    fn metadata_script_applies_each_chosen_line_and_refuses_odd_names() {
        let entry = |line, path: &str, owner: &str| MetadataEntry {
            line,
            path: path.into(),
            hostclass: None,
            mode: 0o640,
            owner: owner.into(),
            group: "web".into(),
        };
        let entries = [entry(2, "/etc/it's.conf", "www-data"), entry(5, "/opt/app", "app")];
        let chosen = effective_metadata(&entries, &["mhcweb"]);
        let script = metadata_script(&chosen).unwrap();
        assert!(script.starts_with("set -e\nensure_group() {"), "{script}");
        assert!(script.contains("apply '/etc/it'\\''s.conf' 0640 www-data web 2\n"), "{script}");
        assert!(script.ends_with("apply '/opt/app' 0640 app web 5\n"), "{script}");
        let bad = [entry(7, "/etc/x", "root;reboot")];
        let err = metadata_script(&effective_metadata(&bad, &[])).unwrap_err();
        assert_eq!(err, "acfg.metadata:7: \"root;reboot\" is not a user or group name");
        let bad = [entry(8, "/etc/app/link/../../shadow", "root")];
        let err = metadata_script(&effective_metadata(&bad, &[])).unwrap_err();
        assert_eq!(err, "acfg.metadata:8: /etc/app/link/../../shadow: no `.` or `..` components");
        assert!(script.contains(
            r#"if [ -L "$1" ]; then ensure_group "$4" && ensure_user "$3" "$4" && chown -h "$3:$4" "$1"; elif"#
        ));
    }

    #[test]
    fn vector_127_variants() {
        let names = ["ntp.conf", "ntp.conf~mhcntp"];
        assert_eq!(pairs(&names, &["mhcntp"]), [pair("ntp.conf~mhcntp", "ntp.conf")]);
        assert_eq!(pairs(&names, &["mhcfoo"]), [pair("ntp.conf", "ntp.conf")]);
        let names = ["x", "x~mhcgeneric", "x~centos6_phase1"];
        assert_eq!(pairs(&names, &["centos6_phase1", "mhcgeneric"]), [pair("x~centos6_phase1", "x")]);
        assert_eq!(pairs(&names, &["mhcgeneric", "centos6_phase1"]), [pair("x~mhcgeneric", "x")]);
        assert_eq!(pairs(&names, &["mhcgeneric"]), [pair("x~mhcgeneric", "x")]);
        assert_eq!(pairs(&names, &[]), [pair("x", "x")]);
    }

    #[test]
    fn variants_without_a_plain_file_and_placeholders() {
        let names = ["ssl.conf~mhcadminproxy", "ssl.conf~mhcdiscojenkins", "empty~mhcdoesnotexist", "plain"];
        assert_eq!(
            pairs(&names, &["mhcdiscojenkins"]),
            [pair("plain", "plain"), pair("ssl.conf~mhcdiscojenkins", "ssl.conf")]
        );
        assert_eq!(
            pairs(&names, &["mhcadminproxy"]),
            [pair("plain", "plain"), pair("ssl.conf~mhcadminproxy", "ssl.conf")]
        );
        assert_eq!(pairs(&names, &["mhcntp"]), [pair("plain", "plain")]);
        // The order of the names does not matter.
        let mut reversed = names;
        reversed.reverse();
        assert_eq!(pairs(&reversed, &["mhcdiscojenkins"]), pairs(&names, &["mhcdiscojenkins"]));
    }

    #[test]
    fn odd_names_are_literal() {
        let names = ["notes~", "~weird", "a~b~c"];
        assert_eq!(pairs(&names, &["b~c"]), [pair("a~b~c", "a"), pair("notes~", "notes~"), pair("~weird", "~weird")]);
        assert_eq!(pairs(&names, &["b"]), [pair("notes~", "notes~"), pair("~weird", "~weird")]);
    }

    /// Builds a small tree with the sample discoroot's quirks.
    fn sample_tree() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        for d in ["etc/httpd/conf.d", "etc/httpd/conf", "home/apache", "opt/wgen/log", "odd~dir"] {
            fs::create_dir_all(root.join(d)).unwrap();
        }
        for f in [
            "acfg.metadata",
            "etc/ntp.conf",
            "etc/ntp.conf~mhcntp",
            "etc/httpd/conf.d/ssl.conf~mhcadminproxy",
            "etc/httpd/conf.d/ssl.conf~mhcdiscojenkins",
            "etc/httpd/conf.d/server_status.conf",
            "etc/httpd/conf/httpd.conf",
            "etc/httpd/conf/httpd.conf~for_centos7",
            "etc/httpd/conf/httpd.conf~mhcadminproxy",
            "home/apache/empty~mhcdoesnotexist",
            "opt/wgen/log/empty~mhcdoesnotexist",
            "odd~dir/file",
        ] {
            fs::write(root.join(f), f).unwrap();
        }
        dir
    }

    fn installed(plan: &[OverlayEntry]) -> Vec<(String, String, EntryKind)> {
        plan.iter().map(|e| (e.source.display().to_string(), e.dest.display().to_string(), e.kind)).collect()
    }

    fn entry(source: &str, dest: &str, kind: EntryKind) -> (String, String, EntryKind) {
        (source.to_string(), dest.to_string(), kind)
    }

    #[test]
    fn plan_for_mhcntp() {
        use EntryKind::{Dir, File};
        let tree = sample_tree();
        let plan = plan_overlay(tree.path(), &["mhcntp"]).unwrap();
        assert_eq!(
            installed(&plan),
            [
                entry("etc", "etc", Dir),
                entry("etc/httpd", "etc/httpd", Dir),
                entry("etc/httpd/conf", "etc/httpd/conf", Dir),
                entry("etc/httpd/conf/httpd.conf", "etc/httpd/conf/httpd.conf", File),
                entry("etc/httpd/conf.d", "etc/httpd/conf.d", Dir),
                entry("etc/httpd/conf.d/server_status.conf", "etc/httpd/conf.d/server_status.conf", File),
                entry("etc/ntp.conf~mhcntp", "etc/ntp.conf", File),
                entry("home", "home", Dir),
                entry("home/apache", "home/apache", Dir),
                entry("odd~dir", "odd~dir", Dir),
                entry("odd~dir/file", "odd~dir/file", File),
                entry("opt", "opt", Dir),
                entry("opt/wgen", "opt/wgen", Dir),
                entry("opt/wgen/log", "opt/wgen/log", Dir),
            ]
        );
    }

    #[test]
    fn plan_for_other_hostclasses() {
        let tree = sample_tree();
        let find = |plan: &[OverlayEntry], dest: &str| {
            plan.iter().find(|e| e.dest == Path::new(dest)).map(|e| e.source.display().to_string())
        };
        let plan = plan_overlay(tree.path(), &["mhcfoo"]).unwrap();
        assert_eq!(find(&plan, "etc/ntp.conf").as_deref(), Some("etc/ntp.conf"));
        assert_eq!(find(&plan, "etc/httpd/conf.d/ssl.conf"), None);

        let plan = plan_overlay(tree.path(), &["mhcadminproxy"]).unwrap();
        assert_eq!(
            find(&plan, "etc/httpd/conf.d/ssl.conf").as_deref(),
            Some("etc/httpd/conf.d/ssl.conf~mhcadminproxy")
        );
        assert_eq!(
            find(&plan, "etc/httpd/conf/httpd.conf").as_deref(),
            Some("etc/httpd/conf/httpd.conf~mhcadminproxy")
        );

        let plan = plan_overlay(tree.path(), &["mhcdiscojenkins", "for_centos7"]).unwrap();
        assert_eq!(
            find(&plan, "etc/httpd/conf.d/ssl.conf").as_deref(),
            Some("etc/httpd/conf.d/ssl.conf~mhcdiscojenkins")
        );
        assert_eq!(find(&plan, "etc/httpd/conf/httpd.conf").as_deref(), Some("etc/httpd/conf/httpd.conf~for_centos7"));

        let plan = plan_overlay(tree.path(), &["mhcadminproxy", "for_centos7"]).unwrap();
        assert_eq!(
            find(&plan, "etc/httpd/conf/httpd.conf").as_deref(),
            Some("etc/httpd/conf/httpd.conf~mhcadminproxy")
        );

        for plan in [plan_overlay(tree.path(), &["mhcdoesnotexist"]).unwrap(), plan] {
            assert!(plan.iter().all(|e| e.dest != Path::new("acfg.metadata")));
        }
        let plan = plan_overlay(tree.path(), &["mhcdoesnotexist"]).unwrap();
        assert_eq!(find(&plan, "home/apache/empty").as_deref(), Some("home/apache/empty~mhcdoesnotexist"));
    }

    #[test]
    fn plan_is_deterministic() {
        let tree = sample_tree();
        let a = plan_overlay(tree.path(), &["mhcadminproxy"]).unwrap();
        let b = plan_overlay(tree.path(), &["mhcadminproxy"]).unwrap();
        assert_eq!(a, b);
    }

    #[cfg(unix)]
    #[test]
    fn symlinks_are_entries_not_followed() {
        let tree = sample_tree();
        std::os::unix::fs::symlink("/etc", tree.path().join("etc/link~mhcntp")).unwrap();
        std::os::unix::fs::symlink("../etc", tree.path().join("dirlink")).unwrap();
        let plan = plan_overlay(tree.path(), &["mhcntp"]).unwrap();
        let links: Vec<_> = installed(&plan).into_iter().filter(|(_, _, k)| *k == EntryKind::Symlink).collect();
        assert_eq!(
            links,
            [entry("dirlink", "dirlink", EntryKind::Symlink), entry("etc/link~mhcntp", "etc/link", EntryKind::Symlink)]
        );
    }

    #[test]
    fn file_colliding_with_a_directory_is_an_error() {
        let tree = sample_tree();
        fs::write(tree.path().join("etc/httpd~mhcntp"), "x").unwrap();
        let err = plan_overlay(tree.path(), &["mhcntp"]).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        assert!(plan_overlay(tree.path(), &["mhcfoo"]).is_ok());
    }

    #[test]
    fn missing_root_is_an_io_error() {
        let tree = sample_tree();
        assert!(plan_overlay(&tree.path().join("absent"), &["mhcntp"]).is_err());
    }

    fn meta(text: &str) -> Vec<MetadataEntry> {
        parse_acfg_metadata(Path::new("discoroot/acfg.metadata"), text).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn metadata_lines() {
        let entries = meta(
            "# comment\n\n/etc/rsyslog.d 755 root root\n  /etc/sudoers 0440 root root   # inline comment\n\
             /etc/pki/tls/private/server.key~mhcdiscojenkins 0400 root root\n/opt/x/ 4755 a b\n",
        );
        assert_eq!(
            entries[0],
            MetadataEntry {
                line: 3,
                path: "/etc/rsyslog.d".into(),
                hostclass: None,
                mode: 0o755,
                owner: "root".into(),
                group: "root".into(),
            }
        );
        assert_eq!((entries[1].line, entries[1].mode), (4, 0o440));
        assert_eq!(entries[2].path, "/etc/pki/tls/private/server.key");
        assert_eq!(entries[2].hostclass.as_deref(), Some("mhcdiscojenkins"));
        assert_eq!(entries[2].mode, 0o400);
        assert_eq!((entries[3].path.as_str(), entries[3].mode), ("/opt/x", 0o4755));
        assert_eq!(meta("/ 0755 root root\n")[0].path, "/");
        assert_eq!(meta("/odd~dir/file 0644 root root\n")[0].path, "/odd~dir/file");
        assert_eq!(meta("/odd~dir/file 0644 root root\n")[0].hostclass, None);
        assert_eq!(meta("/backup~ 0644 root root\n")[0].path, "/backup~");
        assert_eq!(meta("/a 00755 r r\n")[0].mode, 0o755);
        assert_eq!(meta("/a 7777 r r\n")[0].mode, 0o7777);
        assert!(meta("# only comments\n\n   \n").is_empty());
    }

    #[test]
    fn metadata_errors_are_all_reported() {
        let text = "/ok 0644 root root\n/too few 0644\nrelative 0644 root root\n/bad 0855 root root\n\
                    /big 17777 root root\n/five 0644 root root extra\n/x 0644 root root # fine\n/neg -644 r r\n";
        let Err(Diagnostics(errs)) = parse_acfg_metadata(Path::new("m"), text) else { panic!("accepted") };
        let lines: Vec<Option<usize>> = errs.iter().map(|d| d.line).collect();
        assert_eq!(lines, [Some(2), Some(3), Some(4), Some(5), Some(6), Some(8)]);
        assert!(errs[0].message.contains("found 3"));
        assert!(errs[1].message.contains("absolute"));
        assert!(errs[2].message.contains("0855"));
        assert!(errs.iter().all(Diagnostic::is_error));
    }

    #[test]
    fn applies_to_and_effective_metadata() {
        let entries = meta(
            "/etc/ssh/sshd_config 0600 root root\n\
             /etc/ssh/sshd_config~mhcgeneric 0644 root root\n\
             /etc/ssh/sshd_config~centos6_phase1 0640 root root\n\
             /etc/ssh/sshd_config 0777 nobody nobody\n\
             /etc/x~mhcgeneric 0600 a a\n\
             /etc/x 0644 b b\n\
             /etc/y~mhcother 0600 a a\n",
        );
        assert!(entries[0].applies_to(&[]));
        assert!(entries[1].applies_to(&["centos6_phase1", "mhcgeneric"]));
        assert!(!entries[1].applies_to(&["mhcntp"]));

        let pick = |priority: &[&str]| -> Vec<(String, u32)> {
            effective_metadata(&entries, priority).into_iter().map(|(p, e)| (p.to_string(), e.mode)).collect()
        };
        assert_eq!(pick(&["mhcntp"]), [("/etc/ssh/sshd_config".into(), 0o600), ("/etc/x".into(), 0o644)]);
        assert_eq!(pick(&["mhcgeneric"]), [("/etc/ssh/sshd_config".into(), 0o644), ("/etc/x".into(), 0o600)]);
        assert_eq!(
            pick(&["centos6_phase1", "mhcgeneric"]),
            [("/etc/ssh/sshd_config".into(), 0o640), ("/etc/x".into(), 0o600)]
        );
        assert_eq!(
            pick(&["mhcgeneric", "centos6_phase1"]),
            [("/etc/ssh/sshd_config".into(), 0o644), ("/etc/x".into(), 0o600)]
        );
        assert_eq!(pick(&["mhcother"]).last().cloned(), Some(("/etc/y".into(), 0o600)));
    }

    #[test]
    fn load_metadata_from_a_tree() {
        let tree = sample_tree();
        fs::write(tree.path().join(METADATA_FILE_NAME), "/etc/ntp.conf 0644 root root\n").unwrap();
        assert_eq!(load_acfg_metadata(tree.path()).unwrap().len(), 1);
        let empty = tempfile::tempdir().unwrap();
        assert!(load_acfg_metadata(empty.path()).unwrap().is_empty());
    }

    fn sample_discoroot() -> Option<PathBuf> {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures/asiaq-sample-config/discoroot");
        if root.join(METADATA_FILE_NAME).is_file() {
            return Some(root);
        }
        eprintln!("skipping: sample discoroot not found at {}", root.display());
        None
    }

    #[test]
    fn sample_acfg_metadata_parses() {
        let Some(root) = sample_discoroot() else { return };
        let path = root.join(METADATA_FILE_NAME);
        let text = fs::read_to_string(&path).unwrap();
        let entries = parse_acfg_metadata(&path, &text).unwrap_or_else(|e| panic!("{e}"));
        assert!(entries.len() >= 28, "{} entries", entries.len());
        let rsyslog = entries.iter().find(|e| e.path == "/etc/rsyslog.d").unwrap();
        assert_eq!((rsyslog.mode, rsyslog.owner.as_str()), (0o755, "root"));
        let snapshot = entries.iter().find(|e| e.path == "/opt/wgen/bin/take_snapshot.sh").unwrap();
        assert_eq!((snapshot.mode, snapshot.owner.as_str(), snapshot.group.as_str()), (0o555, "snapshot", "snapshot"));
        let key = entries.iter().find(|e| e.path == "/etc/pki/tls/private/server.key").unwrap();
        assert_eq!((key.hostclass.as_deref(), key.mode), (Some("mhcdiscojenkins"), 0o400));
        let generic = effective_metadata(&entries, &["mhcgeneric"]);
        assert!(!generic.contains_key("/etc/pki/tls/private/server.key"));
        assert!(effective_metadata(&entries, &["mhcdiscojenkins"]).contains_key("/etc/pki/tls/private/server.key"));
    }

    #[test]
    fn sample_discoroot_plans() {
        let Some(root) = sample_discoroot() else { return };
        let jenkins = plan_overlay(&root, &["mhcdiscojenkins"]).unwrap();
        let source_of = |plan: &[OverlayEntry], dest: &str| {
            plan.iter().find(|e| e.dest == Path::new(dest)).map(|e| e.source.display().to_string())
        };
        assert_eq!(
            source_of(&jenkins, "etc/httpd/conf.d/ssl.conf").as_deref(),
            Some("etc/httpd/conf.d/ssl.conf~mhcdiscojenkins")
        );
        assert_eq!(source_of(&jenkins, "etc/disco-boot.conf").as_deref(), Some("etc/disco-boot.conf~mhcdiscojenkins"));
        let ntp = plan_overlay(&root, &["mhcntp"]).unwrap();
        assert_eq!(source_of(&ntp, "etc/ntp.conf").as_deref(), Some("etc/ntp.conf~mhcntp"));
        assert_eq!(source_of(&ntp, "etc/disco-boot.conf").as_deref(), Some("etc/disco-boot.conf"));
        // Placeholder directories are created, their placeholder files are not installed.
        assert!(ntp.iter().any(|e| e.dest == Path::new("opt/wgen/gitrepos") && e.kind == EntryKind::Dir));
        assert!(ntp.iter().all(|e| !e.dest.ends_with("empty") && e.dest != Path::new("acfg.metadata")));
        assert!(ntp
            .iter()
            .all(|e| !e.source.to_string_lossy().contains('~') || e.source.to_string_lossy().ends_with("~mhcntp")));
        let phase1 = plan_overlay(&root, &["centos6_phase1", "mhcgeneric"]).unwrap();
        assert_eq!(source_of(&phase1, "etc/ssh/sshd_config").as_deref(), Some("etc/ssh/sshd_config~mhcgeneric"));
    }
}
