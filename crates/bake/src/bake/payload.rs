//! What travels to the builder: the config tree (minus `.nosync` excludes) and the hostclass's
//! discoroot overlay, each as one tar stream that the builder's own `tar` unpacks.

use sila_core::bake::Excludes;
use sila_core::discoroot::{self, EntryKind};
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
/// excludes names below it, and is not sent itself.
pub(crate) fn config_tree(root: &Path) -> io::Result<Archive> {
    let mut builder = tar::Builder::new(Vec::new());
    let mut files = 0;
    walk(root, Path::new(""), &mut Vec::new(), &mut builder, &mut files)?;
    Ok(Archive { bytes: builder.into_inner()?, files })
}

fn walk(
    root: &Path,
    rel: &Path,
    excludes: &mut Vec<(PathBuf, Excludes)>,
    builder: &mut tar::Builder<Vec<u8>>,
    files: &mut usize,
) -> io::Result<()> {
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
        if append(builder, &entry.path(), &path)? {
            *files += 1;
        }
        if is_dir {
            walk(root, &path, excludes, builder, files)?;
        }
    }
    if pushed {
        excludes.pop();
    }
    Ok(())
}

/// The overlay of `discoroot` for `hostclass`: the chosen files and links at their installed paths
/// (relative to `/`), and the script that creates its directories and applies `acfg.metadata`.
pub(crate) struct Overlay {
    pub archive: Archive,
    pub script: String,
    pub metadata_lines: usize,
}

/// Plans and packs the overlay; an error names the file (bad metadata line, unreadable tree).
pub(crate) fn overlay(discoroot: &Path, hostclass: &str) -> anyhow::Result<Overlay> {
    let priority = [hostclass];
    let plan =
        discoroot::plan_overlay(discoroot, &priority).map_err(|e| anyhow::anyhow!("{}: {e}", discoroot.display()))?;
    let metadata = discoroot::load_acfg_metadata(discoroot).map_err(|d| anyhow::anyhow!("{d}"))?;
    let chosen = discoroot::effective_metadata(&metadata, &priority);
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
        let archive = config_tree(root).unwrap();
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
        let overlay = overlay(root, "mhcweb").unwrap();
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
}
