//! `exec`: run a command over SSH on the selected hosts (reference §2.1, §4.21); `exec-ssm`:
//! run an SSM document on them (§4.22).
//!
//! Each host is reached on its private address, directly when its port 22 answers within 2 s,
//! else through the jump host: the first hostclass of `jump_box_hostclasses` with a running,
//! smoke-tested instance (one with a public address preferred). Unlike Asiaq, which runs `ssh` on
//! the jump host with the agent forwarded, the jump host only relays the TCP stream (as `ssh -J`
//! does), so no key or agent is handed to it; nor is the agent forwarded to the hosts (sila-ssh
//! refuses an agent channel a server opens unasked). Keys: `--ssh-key`, the environment's
//! credential buckets (`private_keys/ssh/`), then the ssh-agent.
//!
//! What hosts print reaches the terminal and the JSON with control characters spelled out
//! (`\x1b`), so a host cannot drive the operator's terminal.

use crate::hosts::{environment, SelectorArgs};
use crate::pipeline::read::context;
use anyhow::{anyhow, bail};
use clap::{Args, ValueEnum};
use futures::StreamExt as _;
use serde::Serialize;
use sila_cli::{ExitStatus, Failure, Progress, Settings};
use sila_cloud::ssm::{CommandSpec, Invocation};
use sila_core::hosts::{Host, Readiness};
use sila_core::terminal::printable;
use sila_ssh::{Connection, Credential, HostKeys};
use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;
use tokio::time::Instant;

/// How long a host's port 22 may take to answer before the jump host is used (Asiaq's 2 s).
const REACH_TIMEOUT: Duration = Duration::from_secs(2);
/// At most this many hosts at once with `--concurrent`.
const CONCURRENCY: usize = 32;
/// The exit status standing for "could not run the command there" (as `ssh` itself uses).
const SSH_FAILED: u8 = 255;
/// The exit status of a command ended by `--timeout` (as `timeout(1)` uses).
const TIMED_OUT: u8 = 124;

/// When to go through the jump host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Jump {
    /// When the host's port 22 does not answer within 2 s
    Auto,
    /// Always (e.g. from outside the VPC)
    Always,
    /// Never
    Never,
}

/// Arguments of `exec`.
#[derive(Debug, Args)]
pub struct ExecArgs {
    #[command(flatten)]
    pub select: SelectorArgs,
    /// The command, run by the user's login shell on each host
    #[arg(long, value_name = "COMMAND")]
    pub command: String,
    /// The user to log in and run the command as
    #[arg(long, value_name = "USER")]
    pub user: String,
    /// Run on all selected hosts at once (lines are prefixed by the instance when there are several)
    #[arg(long)]
    pub concurrent: bool,
    /// A private key to log in with, tried before the credential buckets' keys and the ssh-agent
    #[arg(long = "ssh-key", value_name = "FILE")]
    pub ssh_key: Option<PathBuf>,
    /// When to go through the jump host
    #[arg(long, value_enum, default_value = "auto")]
    pub jump: Jump,
    /// How long each host (and the jump host) may take to accept the SSH login
    #[arg(long = "connect-timeout", value_name = "DURATION", default_value = "10s", value_parser = sila_cli::values::timeout)]
    pub connect_timeout: Duration,
    /// End the command on a host where it runs longer than this (SIGTERM, then SIGKILL); that
    /// host's status is then 124 (1 s to 7 days) [default: no limit]
    #[arg(long, value_name = "DURATION", value_parser = sila_cli::values::deadline)]
    pub timeout: Option<Duration>,
}

/// One host's result in `--output json`.
#[derive(Debug, Serialize)]
struct Ran {
    instance: String,
    hostclass: String,
    address: String,
    /// The jump host's address, when the host was reached through it.
    through: Option<String>,
    /// The command's exit status; 255 when it could not be run (see `error`), 124 when
    /// `--timeout` ended it.
    status: u8,
    /// `--timeout` ended the command.
    timed_out: bool,
    error: Option<String>,
    /// stdout and stderr, merged, in order.
    output: Vec<String>,
}

/// The jump host: the first of `hostclasses` with a running, smoke-tested instance, preferring one
/// with a public address; its address is the public one, else the private one.
fn jump_host<'a>(hosts: &'a [Host], hostclasses: &[&str]) -> Option<(&'a Host, IpAddr)> {
    for hostclass in hostclasses {
        let mut ready: Vec<&Host> = hosts
            .iter()
            .filter(|h| h.hostclass() == *hostclass && h.state == "running" && h.readiness() == Readiness::Ready)
            .collect();
        ready.sort_by_key(|h| h.public_ip.is_none());
        for host in ready {
            let address = host.public_ip.as_deref().or(host.private_ips.first().map(String::as_str));
            if let Some(ip) = address.and_then(|a| a.parse().ok()) {
                return Some((host, ip));
            }
        }
    }
    None
}

/// Whether `addr` answers on TCP within [`REACH_TIMEOUT`].
async fn reachable(addr: SocketAddr) -> bool {
    matches!(tokio::time::timeout(REACH_TIMEOUT, tokio::net::TcpStream::connect(addr)).await, Ok(Ok(_)))
}

/// What every host's run shares.
struct Session<'a> {
    args: &'a ExecArgs,
    credentials: &'a [Credential],
    host_keys: &'a HostKeys,
    /// Lines are prefixed with the instance (several hosts).
    prefixed: bool,
    json: bool,
    /// Keeps concurrent hosts' lines whole.
    stdout: Mutex<()>,
}

impl Session<'_> {
    /// Logs in to `host` (through `via` when given), runs the command, and streams its lines.
    async fn run_on(&self, host: &Host, addr: SocketAddr, via: Option<&Connection>) -> Ran {
        let args = self.args;
        let mut ran = Ran {
            instance: host.id.clone(),
            hostclass: host.hostclass().to_string(),
            address: addr.ip().to_string(),
            through: via.map(|j| j.addr().ip().to_string()),
            status: SSH_FAILED,
            timed_out: false,
            error: None,
            output: Vec::new(),
        };
        let deadline = Instant::now() + args.connect_timeout;
        let opened = match via {
            None => Connection::open_as(addr, &args.user, self.credentials, self.host_keys, deadline).await,
            Some(j) => j.open_through(addr, &args.user, self.credentials, self.host_keys, deadline).await,
        };
        let mut connection = match opened {
            Ok(c) => c,
            Err(e) => {
                ran.error = Some(e.to_string());
                return ran;
            }
        };
        // A timeout too far off to be a time is no limit.
        if let Some(at) = args.timeout.and_then(|t| Instant::now().checked_add(t)) {
            connection.end_commands_by(at);
        }
        let prefix = if self.prefixed { format!("{}: ", host.id) } else { String::new() };
        let mut lines = Vec::new();
        let mut on_line = |line: &str| {
            if !self.json {
                let _whole = self.stdout.lock().unwrap_or_else(|e| e.into_inner());
                println!("{prefix}{line}");
            }
            lines.push(line.to_string());
        };
        // The agent is never forwarded to a host (nor to the jump host).
        match connection.run(&args.command, None, false, &mut on_line).await {
            Ok(out) if out.timed_out => {
                ran.status = TIMED_OUT;
                ran.timed_out = true;
                let limit = humantime::format_duration(args.timeout.unwrap_or_default());
                ran.error = Some(format!("timed out after {limit}: the command was ended"));
            }
            Ok(out) => ran.status = out.status.map_or(SSH_FAILED, |s| u8::try_from(s).unwrap_or(SSH_FAILED)),
            Err(e) => ran.error = Some(e.to_string()),
        }
        connection.close().await;
        ran.output = lines;
        ran
    }
}

/// Runs `exec`.
pub(crate) async fn exec(settings: &Settings, args: &ExecArgs) -> anyhow::Result<()> {
    let selectors = args.select.exactly_one_kind()?;
    let printer = settings.printer();
    let ctx = context(settings).await?;
    let mut all = ctx.clients.hosts(&ctx.facts.vpc_id).await?;
    sila_core::hosts::sort_for_listing(&mut all);
    let chosen: Vec<&Host> = all.iter().filter(|h| h.state == "running" && selectors.matches(h)).collect();
    if chosen.is_empty() {
        bail!("no running instance of environment {} matches the selectors", ctx.env);
    }
    let mut credentials = Vec::new();
    if let Some(path) = &args.ssh_key {
        credentials.push(Credential::from_file(path)?);
    }
    let buckets = ctx.credential_buckets(settings)?;
    credentials.extend(Credential::keys_among(ctx.clients.ssh_keys(&buckets).await?));
    credentials.extend(Credential::agent_from_env());
    if credentials.is_empty() {
        bail!("no key to log in with: give --ssh-key, start an ssh-agent (SSH_AUTH_SOCK), or keep the keys under private_keys/ssh/ in the environment's credential buckets");
    }

    // Where each host is reached: decided before anything runs, so a missing jump host is said
    // once and up front.
    let mut targets = Vec::new();
    for host in &chosen {
        let ip: IpAddr = host
            .private_ips
            .first()
            .and_then(|a| a.parse().ok())
            .ok_or_else(|| anyhow!("{} has no private address", host.id))?;
        targets.push((*host, SocketAddr::new(ip, 22)));
    }
    let direct: Vec<bool> = match args.jump {
        Jump::Always => vec![false; targets.len()],
        Jump::Never => vec![true; targets.len()],
        Jump::Auto => futures::future::join_all(targets.iter().map(|(_, a)| reachable(*a))).await,
    };
    let jump_classes = settings
        .aws()?
        .general_option(sila_core::config::GLOBAL_SECTION, "jump_box_hostclasses", Some(&ctx.env))
        .map(|r| r.value)
        .unwrap_or_default();
    let jump_classes: Vec<&str> = jump_classes.split_whitespace().collect();
    let host_keys = HostKeys::default();
    let jump = if direct.iter().all(|d| *d) {
        None
    } else {
        let Some((host, ip)) = jump_host(&all, &jump_classes) else {
            let unreachable: Vec<&str> =
                targets.iter().zip(&direct).filter(|(_, d)| !**d).map(|((h, _), _)| h.id.as_str()).collect();
            bail!(
                "{} not reachable on port 22, and there is no jump host (no running, smoke-tested instance of jump_box_hostclasses={:?})",
                unreachable.join(" "),
                jump_classes.join(" ")
            );
        };
        tracing::info!("through jump host {} ({ip})", host.id);
        let deadline = Instant::now() + args.connect_timeout;
        let connection = Connection::open_as(SocketAddr::new(ip, 22), &args.user, &credentials, &host_keys, deadline)
            .await
            .map_err(|e| anyhow!("jump host {}: {e}", host.id))?;
        Some(connection)
    };

    let session = Session {
        args,
        credentials: &credentials,
        host_keys: &host_keys,
        prefixed: chosen.len() > 1,
        json: printer.json(),
        stdout: Mutex::new(()),
    };
    let work = targets.iter().zip(&direct).map(|((host, addr), direct)| {
        let via = if *direct { None } else { jump.as_ref() };
        session.run_on(host, *addr, via)
    });
    let results: Vec<Ran> = if args.concurrent {
        futures::stream::iter(work).buffered(CONCURRENCY).collect().await
    } else {
        let mut results = Vec::new();
        for one in work {
            results.push(one.await);
        }
        results
    };
    if let Some(j) = jump {
        j.close().await;
    }
    for ran in results.iter().filter(|r| r.error.is_some()) {
        eprintln!("{} ({}): {}", ran.instance, ran.address, printable(ran.error.as_deref().unwrap_or_default()));
    }
    if printer.json() {
        printer.print_json(&results)?;
    }
    match results.iter().map(|r| r.status).max().unwrap_or(0) {
        0 => Ok(()),
        worst => Err(ExitStatus(worst).into()),
    }
}

/// Arguments of `exec-ssm`.
#[derive(Debug, Args)]
pub struct ExecSsmArgs {
    #[command(flatten)]
    pub select: SelectorArgs,
    /// The SSM document, e.g. AWS-RunShellScript
    #[arg(long, value_name = "NAME")]
    pub document: String,
    /// A document parameter as key=value (the first = splits; a key given again adds a value)
    #[arg(long = "parameters", alias = "parameter", value_name = "KEY=VALUE", value_parser = parse_parameter)]
    pub parameters: Vec<(String, String)>,
    /// A comment for the command
    #[arg(long, value_name = "TEXT")]
    pub comment: Option<String>,
    /// How long to wait for the command to finish
    #[arg(long, value_name = "DURATION", default_value = "30m", value_parser = sila_cli::values::deadline)]
    pub deadline: Duration,
    /// Print what would be sent, and send nothing
    #[arg(long = "dry-run")]
    pub dry_run: bool,
}

/// `key=value`, split at the first `=`.
fn parse_parameter(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((key, value)) if !key.is_empty() => Ok((key.to_string(), value.to_string())),
        _ => Err(format!("{text:?} is not key=value")),
    }
}

/// How often the command's status is read while it runs.
const SSM_POLL: Duration = Duration::from_secs(2);
/// SendCommand takes at most this many instance ids: more hosts get more commands.
const SSM_INSTANCES_PER_COMMAND: usize = 50;

/// The command in `--output json`.
#[derive(Debug, Serialize)]
struct SsmView<'a> {
    /// One command per 50 hosts.
    command_ids: &'a [String],
    document: &'a str,
    parameters: &'a BTreeMap<String, Vec<String>>,
    instances: &'a [String],
    output_bucket: Option<&'a str>,
    status: Option<&'a str>,
    invocations: &'a [Invocation],
    dry_run: bool,
}

/// Runs `exec-ssm`: exit 0 only when the command's status is `Success`.
pub(crate) async fn exec_ssm(settings: &Settings, args: &ExecSsmArgs) -> anyhow::Result<()> {
    let selectors = args.select.exactly_one_kind()?;
    let printer = settings.printer();
    let aws = settings.aws()?;
    let clients = settings.clients().await?;
    let (env, vpc) = environment(settings, clients).await?;
    let mut chosen: Vec<Host> =
        clients.hosts(&vpc).await?.into_iter().filter(|h| h.state == "running" && selectors.matches(h)).collect();
    sila_core::hosts::sort_for_listing(&mut chosen);
    let instances: Vec<String> = chosen.into_iter().map(|h| h.id).collect();
    if instances.is_empty() {
        bail!("no running instance of environment {env} matches the selectors");
    }
    let mut parameters: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (key, value) in &args.parameters {
        parameters.entry(key.clone()).or_default().push(value.clone());
    }
    // Asiaq's output bucket, `<s3_bucket_base>--ssm[--<s3_bucket_suffix>]`, used only if it exists.
    let option = |o: &str| {
        aws.general_option(sila_core::config::GLOBAL_SECTION, o, Some(&env))
            .map(|r| r.value.trim().to_string())
            .filter(|v| !v.is_empty())
    };
    let mut output_bucket = option("s3_bucket_base").map(|base| match option("s3_bucket_suffix") {
        Some(suffix) => format!("{base}--ssm--{suffix}"),
        None => format!("{base}--ssm"),
    });
    if let Some(bucket) = output_bucket.clone() {
        if !clients.bucket_exists(&bucket).await? {
            tracing::warn!("no output bucket {bucket}: each instance's output is cut at 24,000 characters");
            output_bucket = None;
        }
    }
    let spec = |instances: &[String]| CommandSpec {
        instances: instances.to_vec(),
        document: args.document.clone(),
        parameters: parameters.clone(),
        comment: args.comment.clone(),
        output_bucket: output_bucket.clone(),
    };
    let view = |command_ids, status, invocations| SsmView {
        command_ids,
        document: &args.document,
        parameters: &parameters,
        instances: &instances,
        output_bucket: output_bucket.as_deref(),
        status,
        invocations,
        dry_run: args.dry_run,
    };
    if args.dry_run {
        if printer.json() {
            printer.print_json(&view(&[], None, &[]))?;
        } else {
            printer.line(&format!(
                "would send {} to {} (dry run: nothing sent)",
                args.document,
                instances.join(" ")
            ))?;
        }
        return Ok(());
    }
    let chunks: Vec<&[String]> = instances.chunks(SSM_INSTANCES_PER_COMMAND).collect();
    let specs: Vec<CommandSpec> = chunks.iter().map(|chunk| spec(chunk)).collect();
    let command_ids: Vec<String> = futures::future::try_join_all(specs.iter().map(|s| clients.send_command(s))).await?;
    tracing::info!("sent {} as command(s) {} to {}", args.document, command_ids.join(" "), instances.join(" "));
    let deadline = Instant::now() + args.deadline;
    let mut progress = Progress::start();
    let mut statuses: BTreeMap<&str, String> = BTreeMap::new();
    loop {
        let pending: Vec<&String> = command_ids.iter().filter(|id| !statuses.contains_key(id.as_str())).collect();
        if pending.is_empty() {
            break;
        }
        let read = futures::future::try_join_all(pending.iter().map(|id| clients.command_status(id))).await?;
        let mut waiting = Vec::new();
        for (id, status) in pending.into_iter().zip(read) {
            match status {
                Some(s) if s != "Pending" && s != "InProgress" => {
                    statuses.insert(id.as_str(), s);
                }
                other => waiting.push(format!("{id} {}", other.as_deref().unwrap_or("not listed yet"))),
            }
        }
        if waiting.is_empty() {
            break;
        }
        if Instant::now() + SSM_POLL > deadline {
            bail!("still waiting after {}: {}", humantime::format_duration(args.deadline), waiting.join(", "));
        }
        progress.set(&format!("waiting for {}: {}", args.document, waiting.join(", ")));
        tokio::time::sleep(SSM_POLL).await;
    }
    drop(progress);
    // The command's status: Success only when every command succeeded, else the first that did not.
    let status = command_ids
        .iter()
        .map(|id| statuses[id.as_str()].clone())
        .find(|s| s != "Success")
        .unwrap_or_else(|| "Success".to_string());
    let reads = chunks.iter().zip(&command_ids).flat_map(|(chunk, id)| chunk.iter().map(move |i| (id, i)));
    let mut invocations = futures::future::try_join_all(reads.map(|(id, i)| clients.command_invocation(id, i))).await?;
    // What the instances printed, with control characters spelled out (CRLF line ends are ends).
    for i in &mut invocations {
        i.stdout = printable(&i.stdout.replace("\r\n", "\n")).into_owned();
        i.stderr = printable(&i.stderr.replace("\r\n", "\n")).into_owned();
    }
    if printer.json() {
        printer.print_json(&view(&command_ids, Some(&status), &invocations))?;
    } else {
        for i in &invocations {
            printer.line(&format!("== {} ({}, exit {}) ==", i.instance, i.status, i.response_code))?;
            for line in i.stdout.lines() {
                printer.line(line)?;
            }
            for line in i.stderr.lines() {
                printer.line(&format!("stderr: {line}"))?;
            }
            if let Some(url) = &i.stdout_url {
                printer.line(&format!("(all of it: {url})"))?;
            }
        }
        printer.line(&format!("command {}: {status}", command_ids.join(" ")))?;
    }
    if status == "Success" {
        Ok(())
    } else {
        Err(Failure.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn host(id: &str, hostclass: &str, state: &str, smoke: bool, public: Option<&str>, private: &str) -> Host {
        let mut tags = BTreeMap::from([("hostclass".to_string(), hostclass.to_string())]);
        if smoke {
            tags.insert("smoketest".into(), "2026".into());
        }
        Host {
            id: id.into(),
            state: state.into(),
            tags,
            public_ip: public.map(str::to_string),
            private_ips: vec![private.into()],
            ..Host::default()
        }
    }

    #[test]
    fn the_jump_host_is_a_ready_instance_of_the_first_listed_hostclass_with_one_public_preferred() {
        let hosts = vec![
            host("i-1", "mhcadminproxy", "running", false, Some("1.1.1.1"), "10.0.0.1"),
            host("i-2", "mhcadminproxy", "stopped", true, Some("2.2.2.2"), "10.0.0.2"),
            host("i-3", "mhcadminproxy", "running", true, None, "10.0.0.3"),
            host("i-4", "mhcadminproxy", "running", true, Some("4.4.4.4"), "10.0.0.4"),
            host("i-5", "mhcbastion", "running", true, Some("5.5.5.5"), "10.0.0.5"),
        ];
        let (h, ip) = jump_host(&hosts, &["mhcadminproxy", "mhcbastion"]).unwrap();
        assert_eq!((h.id.as_str(), ip.to_string().as_str()), ("i-4", "4.4.4.4"));
        let (h, ip) = jump_host(&hosts[..4], &["mhcbastion", "mhcadminproxy"]).unwrap();
        assert_eq!((h.id.as_str(), ip.to_string().as_str()), ("i-4", "4.4.4.4"), "a listed class with none is skipped");
        let (h, ip) = jump_host(&hosts[..3], &["mhcadminproxy"]).unwrap();
        assert_eq!(
            (h.id.as_str(), ip.to_string().as_str()),
            ("i-3", "10.0.0.3"),
            "the private address without a public one"
        );
        assert!(jump_host(&hosts[..2], &["mhcadminproxy"]).is_none(), "not smoke-tested, or not running");
        assert!(jump_host(&hosts, &[]).is_none());
    }

    #[test]
    fn a_parameter_splits_at_the_first_equals_sign() {
        assert_eq!(parse_parameter("commands=echo a=b"), Ok(("commands".into(), "echo a=b".into())));
        assert_eq!(parse_parameter("empty="), Ok(("empty".into(), String::new())));
        assert!(parse_parameter("no-equals").is_err());
        assert!(parse_parameter("=value").is_err());
    }
}
