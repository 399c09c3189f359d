//! `sila <tool> ARGS` → `sila-<tool> ARGS`.

use anyhow::Context as _;
use sila_cli::UsageError;
use std::ffi::OsString;
use std::path::PathBuf;

/// The tools `sila` forwards to.
pub const TOOLS: [&str; 8] = ["bake", "vpc", "aws", "iam", "elb", "rds", "chaos", "snapshot"];

/// Replaces this process with `sila-<tool>` (so signals and exit codes are the tool's own).
pub fn run(args: &[OsString]) -> anyhow::Result<()> {
    let (tool, rest) = args.split_first().context("no tool given")?;
    let tool = tool.to_string_lossy();
    if !TOOLS.contains(&tool.as_ref()) {
        return Err(UsageError(format!(
            "unknown command or tool '{tool}' (tools: {}; or `sila check`)",
            TOOLS.join(", ")
        ))
        .into());
    }
    let program = locate(&format!("sila-{tool}"));
    let mut command = std::process::Command::new(&program);
    command.args(rest);
    exec(command).with_context(|| format!("cannot run {}", program.display()))
}

/// `sila-<tool>` next to this binary if it is there (an installed or built suite), else by PATH.
pub(crate) fn locate(name: &str) -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(|dir| dir.join(name)))
        .filter(|p| p.is_file())
        .unwrap_or_else(|| PathBuf::from(name))
}

#[cfg(unix)]
fn exec(mut command: std::process::Command) -> anyhow::Result<()> {
    use std::os::unix::process::CommandExt as _;
    Err(command.exec().into())
}

#[cfg(not(unix))]
fn exec(mut command: std::process::Command) -> anyhow::Result<()> {
    let status = command.status()?;
    std::process::exit(status.code().unwrap_or(1));
}
