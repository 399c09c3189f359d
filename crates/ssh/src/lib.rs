//! SSH for the Sila tools: reach a freshly launched machine before a deadline, trust its host key on
//! first contact (and refuse a different one later), log in with a private key or the ssh-agent, and
//! run commands with their output streamed line by line, optionally with the agent forwarded, and
//! ended at a deadline.
//!
//! The server gets no channel back to this machine that this client did not ask for: an agent
//! channel is accepted only while a command that asked for forwarding runs, and every other
//! server-opened channel (port forwardings, X11, sessions) is refused. russh accepts them all by
//! default; OpenSSH's client refuses an unasked agent channel as "probably a break-in attempt".
//! Lines of remote output are passed on with control characters spelled out (see
//! [`sila_core::terminal::printable`]), so a remote machine cannot drive the operator's terminal.
//!
//! Built on russh rather than the ssh2 crate: libssh2 hands a forwarded agent channel to a C callback
//! that libssh2-sys does not bind, so forwarding the agent with ssh2 would need unsafe code, which the
//! workspace forbids.

use russh::client::{self, Handle};
use russh::keys::agent::client::AgentClient;
use russh::keys::agent::AgentIdentity;
use russh::keys::PrivateKeyWithHashAlg;
use russh::{ChannelMsg, Sig};
use sila_core::shell::quote;
use sila_core::terminal::printable;
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::AtomicUsize;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::time::Instant;

mod credentials;
mod handler;
pub use credentials::{Credential, HostKeys};
use handler::{Client, Forwarding};

/// What went wrong, in terms an operator can act on.
#[derive(Debug, thiserror::Error)]
pub enum SshError {
    /// Nothing answered, or the connection broke, before the deadline.
    #[error("{addr} did not answer SSH within {waited:?} (last: {last})")]
    Unreachable {
        /// The address tried.
        addr: SocketAddr,
        /// How long it was tried.
        waited: Duration,
        /// The last failure.
        last: String,
    },
    /// The host presented another key than the one recorded on first contact.
    #[error("{addr} presented host key {got}, not {expected} seen before: refusing to go on")]
    HostKeyChanged {
        /// The host.
        addr: SocketAddr,
        /// The key recorded on first contact.
        expected: String,
        /// The key presented now.
        got: String,
    },
    /// No credential was accepted for any of the users tried.
    #[error("{addr} accepted none of the keys for {users}")]
    Rejected {
        /// The host.
        addr: SocketAddr,
        /// The users tried.
        users: String,
    },
    /// A key file could not be read.
    #[error("{path}: {message}")]
    Key {
        /// The key file.
        path: PathBuf,
        /// What was wrong with it.
        message: String,
    },
    /// The SSH protocol failed on an established connection.
    #[error("ssh to {addr}: {message}")]
    Protocol {
        /// The host.
        addr: SocketAddr,
        /// What failed.
        message: String,
    },
}

/// How long one attempt to connect may take before it is retried.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);
/// Pause between attempts while the machine boots.
const RETRY_PAUSE: Duration = Duration::from_secs(2);
/// How long a command that outlived its deadline has to end after SIGTERM, before SIGKILL.
const TERM_GRACE: Duration = Duration::from_secs(5);
/// How long to wait for the end after SIGKILL, before the channel is closed regardless.
const KILL_GRACE: Duration = Duration::from_secs(2);
/// How long the `kill` of a command past its deadline may take.
const KILL_CALL: Duration = Duration::from_secs(5);
/// The first line a command with a deadline prints: its process group (taken out of its output).
const PGID_MARK: &str = "sila-pgid ";

/// An authenticated SSH connection.
pub struct Connection {
    handle: Handle<Client>,
    addr: SocketAddr,
    user: String,
    /// Commands go through `sudo -n` (logged in as a user other than root).
    sudo: bool,
    agent: bool,
    /// Shared with the connection's [`Client`]: commands that asked for the agent and still run.
    forwarding: Arc<AtomicUsize>,
    /// Commands still running then are ended (see [`Connection::end_commands_by`]).
    commands_end_by: Option<Instant>,
}

/// Output of a command: exit status and the last lines it printed (stdout and stderr).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Output {
    /// Exit status; `None` when the command ended without one (killed by a signal, or the
    /// connection closed).
    pub status: Option<u32>,
    /// The last [`TAIL_LINES`] lines, for error messages.
    pub tail: Vec<String>,
    /// Everything printed to stdout, as it came.
    pub stdout: String,
    /// The command was still running at the connection's deadline and was ended (SIGTERM, then
    /// SIGKILL, then the channel closed); `status` is what it ended with, if anything.
    pub timed_out: bool,
}

/// How many of a command's last lines are kept for the error message.
pub const TAIL_LINES: usize = 20;

impl Connection {
    /// Connects to `addr` as the first of `users` that one of `credentials` logs in as, retrying
    /// while nothing answers (a machine that is still booting) until `deadline`. A user that logs in
    /// but is not root must be able to `sudo -n`; a root login that is not really root (images that
    /// answer root with "log in as ubuntu" and exit) is skipped.
    pub async fn open(
        addr: SocketAddr,
        users: &[&str],
        credentials: &[Credential],
        host_keys: &HostKeys,
        deadline: Instant,
    ) -> Result<Self, SshError> {
        Self::open_with(addr, None, Login::Root(users), credentials, host_keys, deadline).await
    }

    /// Connects to `addr` as exactly `user`, whose commands then run as that user (no root check,
    /// no sudo): an operator's command on a host. Retries until `deadline` like [`Connection::open`].
    pub async fn open_as(
        addr: SocketAddr,
        user: &str,
        credentials: &[Credential],
        host_keys: &HostKeys,
        deadline: Instant,
    ) -> Result<Self, SshError> {
        Self::open_with(addr, None, Login::As(user), credentials, host_keys, deadline).await
    }

    /// Connects to `addr` as `user` through this connection (a jump host), as `ssh -J` does: the
    /// jump host only relays the TCP stream, so the keys never leave this machine and the target's
    /// host key is checked here.
    pub async fn open_through(
        &self,
        addr: SocketAddr,
        user: &str,
        credentials: &[Credential],
        host_keys: &HostKeys,
        deadline: Instant,
    ) -> Result<Connection, SshError> {
        Self::open_with(addr, Some(self), Login::As(user), credentials, host_keys, deadline).await
    }

    async fn open_with(
        addr: SocketAddr,
        jump: Option<&Connection>,
        login: Login<'_>,
        credentials: &[Credential],
        host_keys: &HostKeys,
        deadline: Instant,
    ) -> Result<Self, SshError> {
        let started = Instant::now();
        let agent = credentials.iter().find_map(|c| match c {
            Credential::Agent(p) => Some(p.clone()),
            Credential::Key(_) => None,
        });
        let users = match login {
            Login::Root(users) => users.join(", "),
            Login::As(user) => user.to_string(),
        };
        loop {
            let last = match Self::attempt(addr, jump, login, credentials, host_keys, agent.clone(), deadline).await {
                Ok(Some(connection)) => return Ok(connection),
                Ok(None) => return Err(SshError::Rejected { addr, users }),
                Err(Attempt::Fatal(e)) => return Err(e),
                Err(Attempt::Retry(last)) => last,
            };
            if Instant::now() + RETRY_PAUSE >= deadline {
                return Err(SshError::Unreachable { addr, waited: started.elapsed(), last });
            }
            tracing::debug!("{addr}: not yet ({last}); retrying");
            tokio::time::sleep(RETRY_PAUSE).await;
        }
    }

    /// One TCP (or relayed) connection and key exchange, checking the host key.
    async fn handshake(
        addr: SocketAddr,
        jump: Option<&Connection>,
        host_keys: &HostKeys,
        agent: Option<PathBuf>,
        forwarding: Arc<AtomicUsize>,
    ) -> Result<Handle<Client>, Attempt> {
        let mismatch = Arc::new(Mutex::new(None));
        let client = Client { addr, host_keys: host_keys.clone(), agent, forwarding, mismatch: mismatch.clone() };
        let config = Arc::new(client::Config {
            inactivity_timeout: None,
            keepalive_interval: Some(Duration::from_secs(15)),
            keepalive_max: 4,
            ..client::Config::default()
        });
        let connecting = async {
            match jump {
                None => client::connect(config, addr, client).await,
                Some(jump) => {
                    let relay = jump
                        .handle
                        .channel_open_direct_tcpip(addr.ip().to_string(), u32::from(addr.port()), "127.0.0.1", 0)
                        .await?;
                    client::connect_stream(config, relay.into_stream(), client).await
                }
            }
        };
        match tokio::time::timeout(ATTEMPT_TIMEOUT, connecting).await {
            Err(_) => Err(Attempt::Retry("timed out".into())),
            Ok(Err(e)) => {
                if let Some((expected, got)) = mismatch.lock().unwrap_or_else(|e| e.into_inner()).take() {
                    return Err(Attempt::Fatal(SshError::HostKeyChanged { addr, expected, got }));
                }
                let through = jump.map(|j| format!(" (through {})", j.addr)).unwrap_or_default();
                Err(Attempt::Retry(format!("{e}{through}")))
            }
            Ok(Ok(handle)) => Ok(handle),
        }
    }

    async fn attempt(
        addr: SocketAddr,
        jump: Option<&Connection>,
        login: Login<'_>,
        credentials: &[Credential],
        host_keys: &HostKeys,
        agent: Option<PathBuf>,
        deadline: Instant,
    ) -> Result<Option<Self>, Attempt> {
        let users = match login {
            Login::Root(users) => users,
            Login::As(ref user) => std::slice::from_ref(user),
        };
        for user in users {
            let forwarding = Arc::new(AtomicUsize::new(0));
            let mut handle = Self::handshake(addr, jump, host_keys, agent.clone(), forwarding.clone()).await?;
            if !login_with(&mut handle, user, credentials).await.map_err(Attempt::Retry)? {
                continue;
            }
            let mut connection = Connection {
                handle,
                addr,
                user: (*user).to_string(),
                sudo: false,
                agent: agent.is_some(),
                forwarding,
                // The probes below must not hang on a machine that never answers them.
                commands_end_by: Some(deadline),
            };
            if matches!(login, Login::As(_)) {
                connection.commands_end_by = None;
                return Ok(Some(connection));
            }
            let id = connection
                .run_raw("id -u", None, false, &mut |_| {})
                .await
                .map_err(|e| Attempt::Retry(e.to_string()))?;
            if id.status == Some(0) && id.stdout.trim() == "0" {
                connection.commands_end_by = None;
                return Ok(Some(connection));
            }
            if *user != "root" {
                let sudo = connection
                    .run_raw("sudo -n true", None, false, &mut |_| {})
                    .await
                    .map_err(|e| Attempt::Retry(e.to_string()))?;
                if sudo.status == Some(0) {
                    connection.sudo = true;
                    connection.commands_end_by = None;
                    return Ok(Some(connection));
                }
            }
            tracing::debug!("{addr}: {user} logs in but cannot act as root; trying the next user");
            connection.close().await;
        }
        Ok(None)
    }

    /// The user logged in as.
    pub fn user(&self) -> &str {
        &self.user
    }

    /// The address connected to.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Commands of this connection still running at `deadline` are ended there: sent SIGTERM,
    /// then SIGKILL (sshd signals the command's whole process group), then their channel is
    /// closed; their [`Output`] says `timed_out`.
    pub fn end_commands_by(&mut self, deadline: Instant) {
        self.commands_end_by = Some(deadline);
    }

    /// Runs `command` as root (through `sudo -n` when logged in as another user), feeding it `stdin`
    /// and then end-of-file, passing each line it prints to `on_line` (control characters spelled
    /// out). With `forward_agent`, the agent of this connection's credentials is forwarded to it,
    /// and only to it: the server may open agent channels only while it runs.
    pub async fn run(
        &self,
        command: &str,
        stdin: Option<Vec<u8>>,
        forward_agent: bool,
        on_line: &mut (dyn FnMut(&str) + Send),
    ) -> Result<Output, SshError> {
        let command = if self.sudo { format!("sudo -n -E sh -c {}", quote(command)) } else { command.to_string() };
        self.run_raw(&command, stdin, forward_agent && self.agent, on_line).await
    }

    async fn run_raw(
        &self,
        command: &str,
        stdin: Option<Vec<u8>>,
        forward_agent: bool,
        on_line: &mut (dyn FnMut(&str) + Send),
    ) -> Result<Output, SshError> {
        let protocol = |e: russh::Error| SshError::Protocol { addr: self.addr, message: e.to_string() };
        // With a deadline, the command first says its process group (sshd makes each command the
        // leader of a new session), so that `kill` can end it and what it started where sshd
        // refuses signal requests (OpenSSH does for root, whose sessions skip privilege separation).
        let bounded = self.commands_end_by.is_some();
        let command =
            if bounded { format!("printf '{PGID_MARK}%s\\n' \"$$\"\n{command}") } else { command.to_string() };
        let command = command.as_str();
        let mut head: Option<Vec<u8>> = bounded.then(Vec::new);
        let mut pgid: Option<u32> = None;
        let mut channel = self.handle.channel_open_session().await.map_err(protocol)?;
        // Counted before the request goes out, uncounted however this ends.
        let _forwarding = forward_agent.then(|| Forwarding::start(&self.forwarding));
        if forward_agent {
            channel.agent_forward(false).await.map_err(protocol)?;
        }
        channel.exec(true, command).await.map_err(protocol)?;
        let mut lines = Lines::default();
        let mut status = None;
        let mut wait_until = self.commands_end_by;
        let sending = async {
            if let Some(bytes) = stdin {
                channel.data(&bytes[..]).await?;
            }
            channel.eof().await
        };
        // The input is bounded by the deadline too: a machine that stops reading must not hang us.
        match wait_until {
            Some(at) => match tokio::time::timeout_at(at, sending).await {
                Ok(sent) => sent.map_err(protocol)?,
                Err(_) => wait_until = Some(Instant::now()),
            },
            None => sending.await.map_err(protocol)?,
        }
        // The output until the command ends. Past the deadline: SIGTERM, a grace period, SIGKILL,
        // another, then the channel is closed whatever the server does.
        let mut ending = [(Sig::TERM, TERM_GRACE), (Sig::KILL, KILL_GRACE)].into_iter();
        let mut timed_out = false;
        loop {
            let message = match wait_until {
                None => channel.wait().await,
                Some(at) => match tokio::time::timeout_at(at, channel.wait()).await {
                    Ok(message) => message,
                    Err(_) => {
                        timed_out = true;
                        match ending.next() {
                            Some((signal, grace)) => {
                                tracing::debug!("{}: `{command}` outlived its deadline: SIG{signal:?}", self.addr);
                                if let Some(pgid) = pgid {
                                    self.kill_group(pgid, &format!("{signal:?}")).await;
                                }
                                let _ = channel.signal(signal).await;
                                wait_until = Some(Instant::now() + grace);
                                continue;
                            }
                            None => {
                                let _ = channel.close().await;
                                break;
                            }
                        }
                    }
                },
            };
            match message {
                Some(ChannelMsg::Data { data }) => match head.as_mut() {
                    None => lines.push(&data, true, on_line),
                    Some(first) => {
                        first.extend_from_slice(&data);
                        if let Some(end) = first.iter().position(|b| *b == b'\n') {
                            let first = head.take().unwrap_or_default();
                            let line = String::from_utf8_lossy(&first[..end]);
                            pgid = line.strip_prefix(PGID_MARK).and_then(|p| p.trim().parse().ok());
                            lines.push(if pgid.is_some() { &first[end + 1..] } else { &first[..] }, true, on_line);
                        }
                    }
                },
                Some(ChannelMsg::ExtendedData { data, .. }) => lines.push(&data, false, on_line),
                Some(ChannelMsg::ExitStatus { exit_status }) => status = Some(exit_status),
                Some(_) => {}
                None => break,
            }
        }
        if let Some(rest) = head.take() {
            lines.push(&rest, true, on_line);
        }
        lines.finish(on_line);
        Ok(Output { status, tail: lines.tail.into(), stdout: lines.stdout, timed_out })
    }

    /// Sends `signal` (TERM, KILL) to process group `pgid` with `kill`, as the command ran (through
    /// `sudo -n` when logged in as another user than root); gives up after [`KILL_CALL`].
    async fn kill_group(&self, pgid: u32, signal: &str) {
        let kill = format!("kill -{signal} -{pgid}");
        let kill = if self.sudo { format!("sudo -n sh -c {}", quote(&kill)) } else { kill };
        let killing = async {
            let mut channel = self.handle.channel_open_session().await?;
            channel.exec(true, kill.as_str()).await?;
            channel.eof().await?;
            while channel.wait().await.is_some() {}
            Ok::<(), russh::Error>(())
        };
        match tokio::time::timeout(KILL_CALL, killing).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::warn!("{}: `{kill}`: {e}", self.addr),
            Err(_) => tracing::warn!("{}: `{kill}` did not finish within {KILL_CALL:?}", self.addr),
        }
    }

    /// Ends the session politely.
    pub async fn close(self) {
        let _ = self.handle.disconnect(russh::Disconnect::ByApplication, "", "en").await;
    }
}

/// Whom a connection logs in as.
#[derive(Clone, Copy)]
enum Login<'a> {
    /// The first of these users that is root or may `sudo -n` (a builder).
    Root(&'a [&'a str]),
    /// Exactly this user; commands run as it.
    As(&'a str),
}

enum Attempt {
    /// Worth trying again (nothing answered yet, the connection broke).
    Retry(String),
    /// Not worth trying again.
    Fatal(SshError),
}

/// Tries each credential for `user`; whether one was accepted. An error is a broken connection.
async fn login_with(handle: &mut Handle<Client>, user: &str, credentials: &[Credential]) -> Result<bool, String> {
    let rsa_hash = handle.best_supported_rsa_hash().await.map_err(|e| e.to_string())?.flatten();
    for credential in credentials {
        match credential {
            Credential::Key(key) => {
                let key = PrivateKeyWithHashAlg::new(key.clone(), rsa_hash);
                if handle.authenticate_publickey(user, key).await.map_err(|e| e.to_string())?.success() {
                    return Ok(true);
                }
            }
            Credential::Agent(socket) => {
                let Ok(mut agent) = AgentClient::connect_uds(socket).await else {
                    tracing::warn!("ssh-agent at {} does not answer", socket.display());
                    continue;
                };
                let identities = agent.request_identities().await.unwrap_or_default();
                for identity in identities {
                    let AgentIdentity::PublicKey { key, .. } = identity else { continue };
                    if let Ok(result) = handle.authenticate_publickey_with(user, key, rsa_hash, &mut agent).await {
                        if result.success() {
                            return Ok(true);
                        }
                    }
                }
            }
        }
    }
    Ok(false)
}

/// Splits a command's output into lines as it arrives; keeps the last few, and stdout whole.
#[derive(Default)]
struct Lines {
    partial: [Vec<u8>; 2],
    tail: VecDeque<String>,
    stdout: String,
}

impl Lines {
    fn push(&mut self, data: &[u8], is_stdout: bool, on_line: &mut (dyn FnMut(&str) + Send)) {
        if is_stdout {
            self.stdout.push_str(&String::from_utf8_lossy(data));
        }
        let i = usize::from(!is_stdout);
        self.partial[i].extend_from_slice(data);
        while let Some(end) = self.partial[i].iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = self.partial[i].drain(..=end).collect();
            self.emit(&line[..line.len() - 1], on_line);
        }
    }

    /// Passes on what is left after the last newline.
    fn finish(&mut self, on_line: &mut (dyn FnMut(&str) + Send)) {
        for i in 0..2 {
            let rest = std::mem::take(&mut self.partial[i]);
            if !rest.is_empty() {
                self.emit(&rest, on_line);
            }
        }
    }

    /// Passes on one line, and keeps it for the tail, with its control characters spelled out:
    /// both reach the operator's terminal (streamed, or quoted in an error).
    fn emit(&mut self, line: &[u8], on_line: &mut (dyn FnMut(&str) + Send)) {
        let line = printable(String::from_utf8_lossy(line).trim_end_matches('\r')).into_owned();
        on_line(&line);
        if self.tail.len() == TAIL_LINES {
            self.tail.pop_front();
        }
        self.tail.push_back(line);
    }
}

#[cfg(test)]
mod tests;
