//! What travels to the builder: the config tree (minus `.nosync` excludes) and the hostclass's
//! discoroot overlay, each as one tar stream that the builder's own `tar` unpacks.

use sila_core::bake::{secret_kind, Excludes};
use sila_core::discoroot::{self, EntryKind};
use std::collections::BTreeSet;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// The file in a directory that lists what of it is not uploaded.
const NOSYNC: &str = ".nosync";

/// A tar archive in memory and how many files it holds.
pub(crate) struct Archive {
    pub bytes: Vec<u8>,
    pub files: usize,
}

/// The config tree as it travels: the archive, every path in it (relative to the tree's root), and
/// the files in it that look like secrets, each as `path (why)`.
pub(crate) struct Tree {
    pub archive: Archive,
    pub included: BTreeSet<PathBuf>,
    pub secrets: Vec<String>,
}

fn header(kind: tar::EntryType, mode: u32, size: u64) -> tar::Header {
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(kind);
    h.set_mode(mode);
    h.set_size(size);
    h.set_uid(0);
    h.set_gid(0);
    h.set_mtime(0);
    h
}

fn mode_of(meta: &fs::Metadata) -> u32 {
    use std::os::unix::fs::PermissionsExt as _;
    meta.permissions().mode() & 0o7777
}

/// Appends the file, link or directory at `source` to `builder` as `name`.
fn append(builder: &mut tar::Builder<Vec<u8>>, source: &Path, name: &Path) -> io::Result<bool> {
    let meta = fs::symlink_metadata(source)?;
    if meta.file_type().is_symlink() {
        let mut h = header(tar::EntryType::Symlink, 0o777, 0);
        builder.append_link(&mut h, name, fs::read_link(source)?)?;
        Ok(true)
    } else if meta.is_dir() {
        let mut h = header(tar::EntryType::Directory, mode_of(&meta), 0);
        builder.append_data(&mut h, name, io::empty())?;
        Ok(false)
    } else {
        let mut h = header(tar::EntryType::Regular, mode_of(&meta), meta.len());
        builder.append_data(&mut h, name, fs::File::open(source)?)?;
        Ok(true)
    }
}

/// The tree at `root`, as rsync with `--filter=:e /.nosync` would send it: each directory's `.nosync`
/// excludes names below it, and is not sent itself. Files that look like secrets
/// ([`secret_kind`]) are listed unless `allowed` (`[bake] allow_upload_patterns`, patterns as in
/// `.nosync`, relative to `root`) matches them.
pub(crate) fn config_tree(root: &Path, allowed: &Excludes) -> io::Result<Tree> {
    let mut walker = Walker {
        root,
        allowed,
        builder: tar::Builder::new(Vec::new()),
        files: 0,
        included: BTreeSet::new(),
        secrets: Vec::new(),
    };
    walker.walk(Path::new(""), &mut Vec::new())?;
    let Walker { builder, files, included, secrets, .. } = walker;
    Ok(Tree { archive: Archive { bytes: builder.into_inner()?, files }, included, secrets })
}

struct Walker<'a> {
    root: &'a Path,
    allowed: &'a Excludes,
    builder: tar::Builder<Vec<u8>>,
    files: usize,
    included: BTreeSet<PathBuf>,
    secrets: Vec<String>,
}

impl Walker<'_> {
    /// Packs one entry; a regular file is read whole, to be checked for secrets and packed.
    fn add(&mut self, source: &Path, name: &Path) -> io::Result<()> {
        let meta = fs::symlink_metadata(source)?;
        self.included.insert(name.to_path_buf());
        if !meta.file_type().is_file() {
            if append(&mut self.builder, source, name)? {
                self.files += 1;
            }
            return Ok(());
        }
        let content = fs::read(source)?;
        let file_name = name.file_name().map(|n| n.to_string_lossy()).unwrap_or_default();
        if let Some(why) = secret_kind(&file_name, &content) {
            if !self.allowed.excludes(&name.to_string_lossy(), false) {
                self.secrets.push(format!("{} ({why})", name.display()));
            }
        }
        let mut h = header(tar::EntryType::Regular, mode_of(&meta), content.len() as u64);
        self.builder.append_data(&mut h, name, &content[..])?;
        self.files += 1;
        Ok(())
    }

    fn walk(&mut self, rel: &Path, excludes: &mut Vec<(PathBuf, Excludes)>) -> io::Result<()> {
        let root = self.root;
        let dir = root.join(rel);
        let own = match fs::read_to_string(dir.join(NOSYNC)) {
            Ok(text) => Some(Excludes::parse(&text)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => None,
            Err(e) => return Err(io::Error::new(e.kind(), format!("{}: {e}", dir.join(NOSYNC).display()))),
        };
        let pushed = own.is_some();
        if let Some(own) = own {
            excludes.push((rel.to_path_buf(), own));
        }
        let mut names: Vec<_> = fs::read_dir(&dir)?.collect::<Result<Vec<_>, _>>()?;
        names.sort_by_key(|e| e.file_name());
        for entry in names {
            let name = entry.file_name();
            if name == NOSYNC {
                continue;
            }
            let path = rel.join(&name);
            let is_dir = entry.file_type()?.is_dir();
            let excluded = excludes.iter().any(|(base, x)| {
                let below = path.strip_prefix(base).unwrap_or(&path);
                x.excludes(&below.to_string_lossy(), is_dir)
            });
            if excluded {
                continue;
            }
            self.add(&entry.path(), &path)?;
            if is_dir {
                self.walk(&path, excludes)?;
            }
        }
        if pushed {
            excludes.pop();
        }
        Ok(())
    }
}

/// The overlay of `discoroot` for `hostclass`: the chosen files and links at their installed paths
/// (relative to `/`), and the script that creates its directories and applies `acfg.metadata`.
pub(crate) struct Overlay {
    pub archive: Archive,
    pub script: String,
    pub metadata_lines: usize,
}

/// Plans and packs the overlay; an error names the file (bad metadata line, unreadable tree). Only
/// what the config tree carries (`uploaded`, paths relative to the tree, where the discoroot is
/// `discoroot/`) is installed: Asiaq's acfg installed from the uploaded copy, so `.nosync` excludes
/// hold for the overlay too.
pub(crate) fn overlay(discoroot: &Path, hostclass: &str, uploaded: &BTreeSet<PathBuf>) -> anyhow::Result<Overlay> {
    let priority = [hostclass];
    let plan =
        discoroot::plan_overlay(discoroot, &priority).map_err(|e| anyhow::anyhow!("{}: {e}", discoroot.display()))?;
    let plan: Vec<_> =
        plan.into_iter().filter(|e| uploaded.contains(&Path::new("discoroot").join(&e.source))).collect();
    let metadata = discoroot::load_acfg_metadata(discoroot).map_err(|d| anyhow::anyhow!("{d}"))?;
    let chosen = discoroot::effective_metadata(&metadata, &priority);
    // A metadata line below a link the overlay installs would chown and chmod wherever it points.
    for entry in chosen.values() {
        let below = plan.iter().filter(|e| e.kind == EntryKind::Symlink).find(|link| {
            Path::new(&entry.path).strip_prefix("/").is_ok_and(|p| p.starts_with(&link.dest) && p != link.dest)
        });
        if let Some(link) = below {
            anyhow::bail!(
                "{}/acfg.metadata:{}: {} is below /{}, a symbolic link the overlay installs",
                discoroot.display(),
                entry.line,
                entry.path,
                link.dest.display()
            );
        }
    }
    let mut script = String::from("set -e\n");
    let mut builder = tar::Builder::new(Vec::new());
    let mut files = 0;
    for entry in &plan {
        match entry.kind {
            // Directories are made by the script (mkdir -p): an archive entry would also reset the
            // mode of a directory that is already there, such as /etc.
            EntryKind::Dir => {
                script.push_str(&format!(
                    "mkdir -p {}\n",
                    sila_core::shell::quote(&format!("/{}", entry.dest.display()))
                ));
            }
            EntryKind::File | EntryKind::Symlink => {
                append(&mut builder, &discoroot.join(&entry.source), &entry.dest)?;
                files += 1;
            }
        }
    }
    script.push_str(&discoroot::metadata_script(&chosen).map_err(|e| anyhow::anyhow!("{}/{e}", discoroot.display()))?);
    Ok(Overlay { archive: Archive { bytes: builder.into_inner()?, files }, script, metadata_lines: chosen.len() })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(archive: &Archive) -> Vec<(String, u32)> {
        let mut reader = tar::Archive::new(&archive.bytes[..]);
        reader
            .entries()
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                (e.path().unwrap().display().to_string(), e.header().mode().unwrap())
            })
            .collect()
    }

    #[test]
    fn the_config_tree_leaves_out_what_nosync_files_exclude() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        for (path, text) in [
            ("aws.ini", "x"),
            ("init/phase1.sh", "#!/bin/sh"),
            ("target/big", "x"),
            ("sub/keep.txt", "x"),
            ("sub/skip.log", "x"),
            ("sub/deep/skip.log", "x"),
            ("sub/target/kept", "x"),
        ] {
            fs::create_dir_all(root.join(path).parent().unwrap()).unwrap();
            fs::write(root.join(path), text).unwrap();
        }
        fs::write(root.join(".nosync"), "/target/\n").unwrap();
        fs::write(root.join("sub/.nosync"), "*.log\n").unwrap();
        let tree = config_tree(root, &Excludes::default()).unwrap();
        assert!(tree.secrets.is_empty());
        let archive = tree.archive;
        let got: Vec<String> = names(&archive).into_iter().map(|(n, _)| n).collect();
        assert_eq!(
            got,
            ["aws.ini", "init", "init/phase1.sh", "sub", "sub/deep", "sub/keep.txt", "sub/target", "sub/target/kept"]
        );
        assert_eq!(archive.files, 4);
    }

    #[test]
    fn the_overlay_packs_the_hostclass_variants_with_their_modes() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        fs::create_dir_all(root.join("etc/app")).unwrap();
        fs::write(root.join("etc/app/app.conf"), "plain").unwrap();
        fs::write(root.join("etc/app/app.conf~mhcweb"), "web").unwrap();
        fs::write(root.join("etc/app/only~mhcother"), "other").unwrap();
        fs::write(root.join("etc/app/run.sh"), "#!/bin/sh").unwrap();
        fs::set_permissions(root.join("etc/app/run.sh"), fs::Permissions::from_mode(0o750)).unwrap();
        fs::write(root.join("acfg.metadata"), "/etc/app/app.conf 0640 app app\n").unwrap();
        let everything = [
            "discoroot/etc",
            "discoroot/etc/app",
            "discoroot/etc/app/app.conf",
            "discoroot/etc/app/app.conf~mhcweb",
            "discoroot/etc/app/run.sh",
        ];
        let uploaded = everything.iter().map(PathBuf::from).collect();
        let overlay = overlay(root, "mhcweb", &uploaded).unwrap();
        assert_eq!(
            names(&overlay.archive),
            [("etc/app/app.conf".to_string(), 0o644), ("etc/app/run.sh".to_string(), 0o750)]
        );
        let mut reader = tar::Archive::new(&overlay.archive.bytes[..]);
        let mut first = reader.entries().unwrap().next().unwrap().unwrap();
        let mut text = String::new();
        io::Read::read_to_string(&mut first, &mut text).unwrap();
        assert_eq!(text, "web", "the hostclass variant wins");
        assert!(overlay.script.starts_with("set -e\nmkdir -p '/etc'\nmkdir -p '/etc/app'\n"), "{}", overlay.script);
        assert!(overlay.script.contains("apply '/etc/app/app.conf' 0640 app app 1\n"), "{}", overlay.script);
        assert_eq!(overlay.metadata_lines, 1);
    }

    #[test]
    fn metadata_below_a_link_the_overlay_installs_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        fs::create_dir_all(root.join("etc/app")).unwrap();
        std::os::unix::fs::symlink("/root", root.join("etc/app/home")).unwrap();
        fs::write(root.join("acfg.metadata"), "# x\n/etc/app/home/.ssh 0777 app app\n").unwrap();
        let uploaded =
            ["discoroot/etc", "discoroot/etc/app", "discoroot/etc/app/home"].iter().map(PathBuf::from).collect();
        let err = overlay(root, "mhcweb", &uploaded).err().unwrap().to_string();
        assert!(
            err.ends_with(
                "acfg.metadata:2: /etc/app/home/.ssh is below /etc/app/home, a symbolic link the overlay installs"
            ),
            "{err}"
        );
        // The link itself may be named: it is chowned without being followed.
        fs::write(root.join("acfg.metadata"), "/etc/app/home 0700 app app\n").unwrap();
        assert!(overlay(root, "mhcweb", &uploaded).is_ok());
    }

    #[test]
    fn secrets_in_the_tree_are_listed_unless_allowed() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        fs::create_dir_all(root.join("certs")).unwrap();
        fs::write(root.join("certs/site.pem"), "-----BEGIN CERTIFICATE-----").unwrap();
        fs::write(root.join("certs/backup"), "-----BEGIN RSA PRIVATE KEY-----\nMII").unwrap();
        fs::write(root.join("aws.ini"), "[bake]").unwrap();
        let tree = config_tree(root, &Excludes::default()).unwrap();
        assert_eq!(
            tree.secrets,
            ["certs/backup (a private key)", "certs/site.pem (a PEM file (keys or certificates))"]
        );
        let tree = config_tree(root, &Excludes::parse("*.pem\n/certs/backup")).unwrap();
        assert!(tree.secrets.is_empty(), "{:?}", tree.secrets);
        assert_eq!(tree.archive.files, 3, "allowed files travel");
    }
}
