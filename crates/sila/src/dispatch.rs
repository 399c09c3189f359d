//! `sila <tool> ARGS` → `sila-<tool> ARGS`.

use anyhow::Context as _;
use sila_cli::{GlobalArgs, OutputFormat, UsageError};
use std::ffi::OsString;
use std::path::PathBuf;

/// The tools `sila` forwards to.
pub const TOOLS: [&str; 9] = ["bake", "vpc", "aws", "iam", "elb", "route53", "rds", "chaos", "snapshot"];

/// Replaces this process with `sila-<tool>` (so signals and exit codes are the tool's own), with
/// the global flags given before the tool's name.
pub fn run(global: &GlobalArgs, args: &[OsString]) -> anyhow::Result<()> {
    let (tool, rest) = args.split_first().context("no tool given")?;
    let tool = tool.to_string_lossy();
    if !TOOLS.contains(&tool.as_ref()) {
        return Err(UsageError(format!(
            "unknown command or tool '{tool}' (tools: {}; or `sila check`)",
            TOOLS.join(", ")
        ))
        .into());
    }
    let mut command = tool_command(&tool, global, global.env.as_deref());
    command.args(rest);
    let program = PathBuf::from(command.get_program());
    exec(command).with_context(|| format!("cannot run {}", program.display()))
}

/// A command running `sila-<tool>` with the umbrella's global flags: the config dir and AWS
/// settings as the environment variables the tools read (so the same flag given to the tool itself
/// still wins), and `--env ENV` (when given), `--output json` and `-v` as flags.
pub(crate) fn tool_command(tool: &str, global: &GlobalArgs, env: Option<&str>) -> std::process::Command {
    let mut command = std::process::Command::new(locate(&format!("sila-{tool}")));
    if let Some(dir) = &global.config_dir {
        command.env("SILA_CONFIG_DIR", dir);
    }
    let aws = &global.aws;
    for (var, value) in
        [("AWS_PROFILE", &aws.profile), ("AWS_REGION", &aws.region), ("AWS_ENDPOINT_URL", &aws.endpoint_url)]
    {
        if let Some(v) = value {
            command.env(var, v);
        }
    }
    // Only a value other than the default: the tool's own default (and its --help) stay as they are.
    if aws.max_attempts != sila_cli::DEFAULT_MAX_ATTEMPTS {
        command.env("AWS_MAX_ATTEMPTS", aws.max_attempts.to_string());
    }
    if let Some(env) = env {
        command.args(["--env", env]);
    }
    if global.output == OutputFormat::Json {
        command.args(["--output", "json"]);
    }
    if global.verbose > 0 {
        command.arg(format!("-{}", "v".repeat(usize::from(global.verbose))));
    }
    command
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
