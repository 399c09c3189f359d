//! A real OpenSSH server standing in for a freshly booted builder: it listens on port 22 of one
//! loopback address (the builder's, as the emulator handed it out), and confines every login with
//! `ChrootDirectory` to a busybox-static root in a fresh directory, so what a bake does over SSH
//! lands there and nowhere else on this machine.
//!
//! Needs root (port 22, chroot), `/usr/sbin/sshd`, `ssh-keygen` and `/usr/bin/busybox` (Debian's
//! busybox-static): `.ci/run` installs them.

use std::net::IpAddr;
use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Busybox applets linked into the root: what a bake and the test init scripts use. Deliberately
/// without `poweroff`, `halt` or `reboot`: the chroot is not a boundary for root.
const APPLETS: &[&str] = &[
    "sh", "ash", "cat", "chmod", "chown", "cp", "cut", "date", "echo", "env", "grep", "id", "ls", "mkdir", "mv", "rm",
    "sed", "sleep", "stat", "sync", "tar", "test", "[", "touch", "true", "false", "wc", "printf", "head", "tail",
    "expr", "ln", "dirname", "basename",
];

/// Stand-ins for the distribution's account tools (busybox-static has no adduser): enough of
/// `groupadd`/`useradd` for the system accounts `acfg.metadata` asks for.
const GROUPADD: &str = r#"#!/bin/sh
for name; do :; done
gid=$((200 + $(wc -l < /etc/group)))
echo "$name:x:$gid:" >> /etc/group
"#;
const USERADD: &str = r#"#!/bin/sh
group=
while [ $# -gt 1 ]; do
  case "$1" in -g) group=$2; shift ;; esac
  shift
done
name=$1
gid=$(grep "^$group:" /etc/group | cut -d: -f3)
uid=$((200 + $(wc -l < /etc/passwd)))
echo "$name:x:$uid:${gid:-$uid}::/nonexistent:/sbin/nologin" >> /etc/passwd
"#;

/// The host's sshd confined to a busybox root.
pub struct TestHost {
    /// The root every login is confined to (a builder's `/`).
    pub root: PathBuf,
    /// The address sshd listens on (port 22).
    pub addr: IpAddr,
    dir: tempfile::TempDir,
    sshd: Option<Child>,
}

/// Where the roots go: sshd wants every component of a `ChrootDirectory` root-owned and writable by
/// root only, which rules out `/tmp`.
fn base_dir() -> PathBuf {
    let safe =
        |p: &Path| p.ancestors().all(|a| std::fs::metadata(a).is_ok_and(|m| m.uid() == 0 && m.mode() & 0o022 == 0));
    for candidate in [PathBuf::from("/run/sila-test"), crate::project_root().join("target/sila-test")] {
        if candidate.parent().is_some_and(safe) {
            std::fs::create_dir_all(&candidate).expect("test host base directory");
            std::fs::set_permissions(&candidate, std::fs::Permissions::from_mode(0o755)).expect("chmod base");
            if safe(&candidate) {
                return candidate;
            }
        }
    }
    panic!("no directory fit for sshd's ChrootDirectory (root-owned, not group/world-writable): tried /run and target/")
}

fn write(path: &Path, text: &str, mode: u32) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

impl TestHost {
    /// Prepares a root with busybox, `root` and its `authorized_keys`, and the account stand-ins.
    /// sshd is not started yet: a builder's sshd comes up only after it booted ([`TestHost::listen`]).
    pub fn prepare() -> Self {
        let dir = tempfile::Builder::new().prefix("host-").tempdir_in(base_dir()).expect("test host dir");
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let root = dir.path().join("root");
        for d in ["bin", "sbin", "etc", "tmp", "root/.ssh", "dev", "var/log", "usr/bin"] {
            std::fs::create_dir_all(root.join(d)).unwrap();
        }
        std::fs::set_permissions(root.join("tmp"), std::fs::Permissions::from_mode(0o1777)).unwrap();
        std::fs::copy("/usr/bin/busybox", root.join("bin/busybox")).expect("busybox (apt-get install busybox-static)");
        for applet in APPLETS {
            std::os::unix::fs::symlink("busybox", root.join("bin").join(applet)).unwrap();
        }
        // sshd starts the user's login shell of *this* machine (root: /bin/bash) inside the root.
        write(&root.join("bin/bash"), "#!/bin/sh\nexec /bin/busybox sh \"$@\"\n", 0o755);
        write(&root.join("usr/sbin/groupadd"), GROUPADD, 0o755);
        write(&root.join("usr/sbin/useradd"), USERADD, 0o755);
        write(&root.join("etc/passwd"), "root:x:0:0:root:/root:/bin/sh\n", 0o644);
        write(&root.join("etc/group"), "root:x:0:\n", 0o644);
        // /dev/null for the shell; creating device nodes may be refused in a container.
        let _ = Command::new("mknod").arg(root.join("dev/null")).args(["c", "1", "3"]).status();
        let _ = std::fs::set_permissions(root.join("dev/null"), std::fs::Permissions::from_mode(0o666));
        let keygen = Command::new("ssh-keygen")
            .args(["-q", "-t", "ed25519", "-N", "", "-f"])
            .arg(dir.path().join("host_key"))
            .status()
            .expect("ssh-keygen");
        assert!(keygen.success(), "ssh-keygen failed");
        TestHost { root, addr: IpAddr::from([127, 0, 0, 1]), dir, sshd: None }
    }

    /// The file sshd reads root's authorized keys from (inside the root, as on a builder).
    pub fn authorized_keys(&self) -> PathBuf {
        self.root.join("root/.ssh/authorized_keys")
    }

    /// Starts sshd on port 22 of `addr` with `authorized` as root's keys, and waits until it listens.
    pub fn listen(&mut self, addr: IpAddr, authorized: &str) {
        write(&self.authorized_keys(), authorized, 0o600);
        std::fs::create_dir_all("/run/sshd").expect("sshd privilege separation directory");
        let config = self.dir.path().join("sshd_config");
        let text = format!(
            "Port 22\nListenAddress {addr}\nHostKey {key}\nPidFile {pid}\nAuthorizedKeysFile {keys}\n\
             PermitRootLogin prohibit-password\nPasswordAuthentication no\nKbdInteractiveAuthentication no\n\
             UsePAM no\nStrictModes no\nAllowAgentForwarding yes\nChrootDirectory {root}\nPrintMotd no\n\
             LogLevel DEBUG1\n",
            key = self.dir.path().join("host_key").display(),
            pid = self.dir.path().join("sshd.pid").display(),
            keys = self.authorized_keys().display(),
            root = self.root.display(),
        );
        std::fs::write(&config, text).unwrap();
        // The log goes to a file with -E (not stderr with -e): at DEBUG1, a session's own stderr would
        // otherwise carry sshd's messages to the client. Tests read it to see what sshd did (a
        // relayed connection, say).
        let child = Command::new("/usr/sbin/sshd")
            .args(["-D", "-E"])
            .arg(self.dir.path().join("sshd.log"))
            .arg("-f")
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("/usr/sbin/sshd (apt-get install openssh-server)");
        self.sshd = Some(child);
        self.addr = addr;
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect_timeout(&(addr, 22).into(), Duration::from_millis(200)).is_err() {
            assert!(Instant::now() < deadline, "sshd did not listen on {addr}:22: {}", self.log());
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// What sshd logged (for assertion messages).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("sshd.log")).unwrap_or_default()
    }

    /// A file inside the root, by its path on the builder (`/etc/app.conf`).
    pub fn path(&self, inside: &str) -> PathBuf {
        self.root.join(inside.trim_start_matches('/'))
    }

    /// Waits up to `within` for the process whose id a command on the host wrote to `pid_file` to
    /// end (the host shares this machine's process ids); an error names it when it still runs.
    pub fn wait_ended(&self, pid_file: &str, within: Duration) -> Result<(), String> {
        let pid = std::fs::read_to_string(self.path(pid_file)).map_err(|e| format!("{pid_file}: {e}"))?;
        let deadline = Instant::now() + within;
        while !ended(&pid) {
            if Instant::now() >= deadline {
                return Err(format!("process {} (from {pid_file}) still runs after {within:?}", pid.trim()));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Ok(())
    }
}

/// Whether process `pid` has ended: gone, or a zombie nobody reaped yet.
fn ended(pid: &str) -> bool {
    match std::fs::read_to_string(format!("/proc/{}/stat", pid.trim())) {
        Err(_) => true,
        Ok(stat) => stat.rsplit(") ").next().is_some_and(|rest| rest.starts_with('Z')),
    }
}

impl Drop for TestHost {
    fn drop(&mut self) {
        if let Some(mut child) = self.sshd.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
