//! A hostile SSH server (`scripts/hostile_sshd.py`, paramiko in the project's `.venv`): it takes any
//! key, answers commands as a booted builder would, and opens an `auth-agent@openssh.com` channel
//! back to the client unasked, after the login and at each command (and port-forwarding and X11
//! channels). If an agent channel is accepted it lists the agent's keys and has it sign data of
//! its choosing. Its log says what it got.
//!
//! Listens on port 22 of a loopback address, like [`crate::TestHost`]: run tests that use it under
//! `flock /tmp/sila-sshd.lock`.

use std::net::IpAddr;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The hostile server, running until dropped.
pub struct HostileHost {
    /// The address it listens on (port 22).
    pub addr: IpAddr,
    dir: tempfile::TempDir,
    child: Child,
}

impl HostileHost {
    /// Starts it on port 22 of `addr`; with `relay`, it also relays `direct-tcpip` channels (a
    /// jump host). Waits until it listens.
    pub fn start(addr: IpAddr, relay: bool) -> Self {
        let root = crate::project_root();
        let dir = tempfile::Builder::new().prefix("hostile-").tempdir().expect("hostile host dir");
        let key = dir.path().join("host_key");
        let made = Command::new("ssh-keygen").args(["-q", "-t", "ed25519", "-N", "", "-f"]).arg(&key).status();
        assert!(made.expect("ssh-keygen").success(), "ssh-keygen failed");
        let mut command = Command::new(root.join(".venv/bin/python"));
        command
            .arg(root.join("scripts/hostile_sshd.py"))
            .args(["--listen", &addr.to_string(), "--port", "22", "--host-key"])
            .arg(&key)
            .arg("--log")
            .arg(dir.path().join("log"));
        if relay {
            command.arg("--relay");
        }
        let child = command
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.path().join("stderr")).expect("stderr file"))
            .spawn()
            .expect(".venv/bin/python (scripts/emulator setup installs paramiko)");
        let host = HostileHost { addr, dir, child };
        let deadline = Instant::now() + Duration::from_secs(20);
        while !host.log().contains("listening") {
            assert!(Instant::now() < deadline, "the hostile server did not listen on {addr}:22: {}", host.stderr());
            std::thread::sleep(Duration::from_millis(50));
        }
        host
    }

    /// What it saw, one event a line (see the script's doc).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("log")).unwrap_or_default()
    }

    fn stderr(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("stderr")).unwrap_or_default()
    }

    /// Panics unless it opened an agent channel and every one was refused (no key list, no
    /// signature), and so were the port-forwarding and X11 channels it opened.
    pub fn assert_agent_refused(&self) {
        let log = self.log();
        for tried in ["agent channel refused", "forwarded-tcpip channel refused", "x11 channel refused"] {
            assert!(log.contains(tried), "{tried}: never tried? {log}");
        }
        for got in ["channel accepted", "agent keys", "agent signature", "forwarding requested"] {
            assert!(!log.contains(got), "{got}: {log}");
        }
    }
}

impl Drop for HostileHost {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An ssh-agent holding one fresh key, on a socket in a directory of the test's; killed when dropped.
pub struct Agent {
    /// Its socket (`SSH_AUTH_SOCK`).
    pub socket: std::path::PathBuf,
    /// The SHA-256 fingerprint of its key, as `ssh-add -l` prints it.
    pub fingerprint: String,
    /// Its private key file (the agent holds the same key).
    pub key: std::path::PathBuf,
    pid: String,
}

impl Agent {
    /// Starts ssh-agent on `dir/agent.sock` and adds a new key, `dir/agent_key`.
    pub fn start(dir: &std::path::Path) -> Self {
        let socket = dir.join("agent.sock");
        let out = Command::new("ssh-agent").arg("-a").arg(&socket).output().expect("ssh-agent");
        let text = String::from_utf8_lossy(&out.stdout);
        let pid = text.split("SSH_AGENT_PID=").nth(1).and_then(|t| t.split(';').next()).expect("agent pid").to_string();
        let key = dir.join("agent_key");
        let made = Command::new("ssh-keygen")
            .args(["-q", "-t", "ed25519", "-N", "", "-C", "forwarded-test-key", "-f"])
            .arg(&key)
            .status()
            .expect("ssh-keygen");
        assert!(made.success());
        let added = Command::new("ssh-add").arg(&key).env("SSH_AUTH_SOCK", &socket).output().expect("ssh-add");
        assert!(added.status.success(), "ssh-add: {added:?}");
        let listed = Command::new("ssh-add").arg("-l").env("SSH_AUTH_SOCK", &socket).output().expect("ssh-add -l");
        let fingerprint = String::from_utf8_lossy(&listed.stdout).split_whitespace().nth(1).unwrap_or("").to_string();
        Agent { socket, fingerprint, key, pid }
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = Command::new("kill").arg(&self.pid).status();
    }
}
