//! The private key `--no-destroy` leaves for reaching a kept builder: `<tmp>/sila-bake-<run>/key`, in
//! a directory made for it alone (0700). Both are created exclusively, so nothing planted at either
//! name in a shared temporary directory (a file, a symbolic link) is written through or followed;
//! `reap` removes them with the run's other leftovers.

use anyhow::Context as _;
use std::io::Write as _;
use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _};
use std::path::{Path, PathBuf};

/// The directory of run `run_id`'s key file.
pub(crate) fn dir_of(run_id: &str) -> PathBuf {
    std::env::temp_dir().join(sila_core::bake::resource_name(run_id))
}

/// The key file of a run whose key directory is `dir`.
pub(crate) fn path_in(dir: &Path) -> PathBuf {
    dir.join("key")
}

/// Makes `dir` (0700, which must not exist yet) and writes `material` to its key file (0600 from
/// the start, which must not exist either); returns the key file's path.
pub(crate) fn save(material: &str, dir: &Path) -> anyhow::Result<PathBuf> {
    std::fs::DirBuilder::new()
        .mode(0o700)
        .create(dir)
        .with_context(|| format!("{}: cannot make a private directory for the key", dir.display()))?;
    let path = path_in(dir);
    // create_new is O_CREAT|O_EXCL: it fails on anything already there, links included.
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)
        .with_context(|| format!("{}", path.display()))?;
    file.write_all(material.as_bytes()).with_context(|| format!("{}", path.display()))?;
    Ok(path)
}

/// Removes run `run_id`'s key file and its directory when they are there (and are what `save`
/// made: a directory, not a link to one).
pub(crate) fn remove(run_id: &str) -> anyhow::Result<bool> {
    let dir = dir_of(run_id);
    match std::fs::symlink_metadata(&dir) {
        Ok(meta) if meta.file_type().is_dir() => {}
        _ => return Ok(false),
    }
    match std::fs::remove_file(path_in(&dir)) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            return Err(e).with_context(|| format!("{}", path_in(&dir).display()))
        }
        _ => {}
    }
    std::fs::remove_dir(&dir).with_context(|| format!("{}", dir.display()))?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};

    #[test]
    fn the_key_is_made_exclusively_in_a_private_directory() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("sila-bake-run");
        let path = save("KEY", &dir).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "KEY");
        assert_eq!(std::fs::metadata(&path).unwrap().mode() & 0o777, 0o600);
        assert_eq!(std::fs::metadata(&dir).unwrap().mode() & 0o777, 0o700);
        assert!(save("OTHER", &dir).is_err(), "never over an existing directory");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "KEY");
    }

    #[test]
    fn nothing_planted_is_followed() {
        let tmp = tempfile::tempdir().unwrap();
        // A link where the directory would be, pointing at a directory the attacker can read.
        let elsewhere = tmp.path().join("elsewhere");
        std::fs::create_dir(&elsewhere).unwrap();
        std::fs::set_permissions(&elsewhere, std::fs::Permissions::from_mode(0o777)).unwrap();
        let dir = tmp.path().join("sila-bake-run");
        std::os::unix::fs::symlink(&elsewhere, &dir).unwrap();
        assert!(save("KEY", &dir).is_err());
        assert!(std::fs::read_dir(&elsewhere).unwrap().next().is_none(), "nothing written through the link");
    }
}
