//! `sila sandbox NAME` (reference §2.25): a developer's whole environment in one line. Reads
//! `sandboxes/<DIR>/pipeline.csv`, uploads the sandbox's files named by `sandbox_sync_config`,
//! creates the VPC `NAME` (type `sandbox`) or updates it when it exists, and spins the pipeline up
//! in it, by running `sila-vpc` and `sila-aws` with the same global flags.
//!
//! Everything that can be checked offline (the pipeline, the sync lines and their files) is
//! checked before anything changes. Asiaq's `--config-dir DIR` (the folder under `sandboxes/`) is
//! `--sandbox-dir DIR` here: in every Sila tool `--config-dir` is the config root.

use anyhow::{anyhow, bail, Context as _};
use clap::Args;
use serde::Serialize;
use sila_cli::{GlobalArgs, OutputFormat, Printer, UsageError};
use sila_core::config::GLOBAL_SECTION;
use sila_core::pipeline::Pipeline;
use std::path::{Path, PathBuf};
use std::process::Stdio;

/// Arguments of `sandbox`.
#[derive(Debug, Args)]
pub struct SandboxArgs {
    /// The sandbox (its VPC's name)
    pub name: String,
    /// The folder under `sandboxes/` holding pipeline.csv and the synced files [default: NAME]
    #[arg(long = "sandbox-dir", value_name = "DIR")]
    pub sandbox_dir: Option<String>,
    /// How long smoke tests may take (passed to spinup)
    #[arg(long, value_name = "DURATION", default_value = "20m")]
    pub deadline: String,
    /// Do not wait for smoke tests
    #[arg(long = "no-smoke-test")]
    pub no_smoke_test: bool,
    /// Print what would be uploaded, created and spun up; change nothing
    #[arg(long = "dry-run")]
    pub dry_run: bool,
}

/// One file to upload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
struct Upload {
    local: PathBuf,
    bucket: String,
    key: String,
}

/// The uploads `sandbox_sync_config` asks for: each line `local_file remote_dir` uploads
/// `sandboxes/<dir>/<local_file>` to `s3://<bucket>/<remote_dir>/<name>`.
fn uploads(sync: &str, bucket: &str, folder: &Path, name: &str, origin: &str) -> Result<Vec<Upload>, String> {
    let mut found = Vec::new();
    for (i, line) in sync.lines().map(str::trim).enumerate().filter(|(_, l)| !l.is_empty()) {
        let words: Vec<&str> = line.split_whitespace().collect();
        let [local, remote] = words[..] else {
            return Err(format!(
                "{origin}: sandbox_sync_config line {}: {line:?} is not `local_file remote_dir`",
                i + 1
            ));
        };
        found.push(Upload {
            local: folder.join(local),
            bucket: bucket.to_string(),
            key: format!("{}/{name}", remote.trim_matches('/')),
        });
    }
    Ok(found)
}

/// Runs a sibling tool with the umbrella's global flags (and `--env` when given); with JSON output,
/// returns its JSON document (its stdout), else lets it print.
fn step(
    tool: &str,
    global: &GlobalArgs,
    env: Option<&str>,
    args: &[String],
) -> anyhow::Result<Option<serde_json::Value>> {
    let mut command = crate::dispatch::tool_command(tool, global, env);
    command.args(args).stdin(Stdio::null());
    let shown =
        format!("sila-{tool} {}", command.get_args().map(|a| a.to_string_lossy()).collect::<Vec<_>>().join(" "));
    tracing::info!("{shown}");
    if global.output != OutputFormat::Json {
        let status = command.status().with_context(|| format!("cannot run sila-{tool}"))?;
        if !status.success() {
            bail!("{shown} failed ({status})");
        }
        return Ok(None);
    }
    let out = command.stderr(Stdio::inherit()).output().with_context(|| format!("cannot run sila-{tool}"))?;
    if !out.status.success() {
        bail!("{shown} failed ({})", out.status);
    }
    let doc = serde_json::from_slice(&out.stdout).map_err(|e| anyhow!("sila-{tool} printed no JSON document: {e}"))?;
    Ok(Some(doc))
}

/// Runs `sandbox`.
pub async fn run(global: &GlobalArgs, args: &SandboxArgs) -> anyhow::Result<()> {
    // The sandbox's name becomes its VPC's Name tag and goes into tag filters: the one rule first.
    sila_core::environment::validate_name(&args.name).map_err(|e| UsageError(format!("sandbox NAME: {e}")))?;
    let dir = global.config_dir();
    let folder_name = args.sandbox_dir.clone().unwrap_or_else(|| args.name.clone());
    let folder = dir.root.join("sandboxes").join(&folder_name);
    let csv = folder.join("pipeline.csv");
    if !csv.is_file() {
        return Err(UsageError(format!("{}: no such file (the sandbox's pipeline)", csv.display())).into());
    }
    Pipeline::load(&csv).and_then(|p| p.sequence_batches().map(|_| ())).map_err(|d| anyhow!("{d}"))?;

    // The sync lines are read with the tool's environment (--env or the default), not the sandbox.
    let aws = global.aws_config()?;
    let env = global.optional_environment(&aws)?;
    let sync = aws.hostclass_option(GLOBAL_SECTION, "sandbox_sync_config", env.as_deref());
    let uploads = match sync.filter(|s| !s.value.trim().is_empty()) {
        None => Vec::new(),
        Some(sync) => {
            let origin = format!("{}:{}", aws.ini.path.display(), sync.line);
            let bucket = aws
                .hostclass_option(GLOBAL_SECTION, "sandbox_config_bucket", env.as_deref())
                .map(|b| b.value.trim().to_string())
                .filter(|b| !b.is_empty())
                .ok_or_else(|| anyhow!("{origin}: sandbox_sync_config is set but sandbox_config_bucket is not"))?;
            let uploads = uploads(&sync.value, &bucket, &folder, &args.name, &origin).map_err(|e| anyhow!(e))?;
            if let Some(missing) = uploads.iter().find(|u| !u.local.is_file()) {
                bail!("{origin}: sandbox_sync_config names {}, which does not exist", missing.local.display());
            }
            uploads
        }
    };

    let clients = global.clients().await?;
    let exists = clients.environment_vpc(&args.name).await?.is_some();
    let printer = Printer::new(global.output);
    let json = global.output == OutputFormat::Json;
    if !json {
        let verb = if args.dry_run { "would" } else { "will" };
        for u in &uploads {
            printer.line(&format!("{verb} upload {} to s3://{}/{}", u.local.display(), u.bucket, u.key))?;
        }
        let action = if exists { "update" } else { "create (type sandbox)" };
        printer.line(&format!("{verb} {action} environment {} and spin up {}", args.name, csv.display()))?;
    }
    if !args.dry_run {
        for u in &uploads {
            let body = std::fs::read(&u.local).with_context(|| u.local.display().to_string())?;
            clients.put_object(&u.bucket, &u.key, body).await?;
        }
    }

    let dry_run: Vec<String> = if args.dry_run { vec!["--dry-run".into()] } else { Vec::new() };
    let mut vpc_args: Vec<String> = if exists {
        vec!["update".into(), "--name".into(), args.name.clone()]
    } else {
        vec!["create".into(), "--name".into(), args.name.clone(), "--type".into(), "sandbox".into()]
    };
    vpc_args.extend(dry_run.iter().cloned());
    let vpc = step("vpc", global, None, &vpc_args)?;
    // A dry run of a new sandbox stops here: there is no environment to plan a spinup into.
    let spinup = if args.dry_run && !exists {
        None
    } else {
        let mut spin_args: Vec<String> = vec!["spinup".into(), "--pipeline".into(), csv.display().to_string()];
        spin_args.extend(["--deadline".into(), args.deadline.clone()]);
        if args.no_smoke_test {
            spin_args.push("--no-smoke-test".into());
        }
        spin_args.extend(dry_run);
        step("aws", global, Some(&args.name), &spin_args)?
    };
    if json {
        printer.print_json(&serde_json::json!({
            "sandbox": args.name,
            "created": !exists,
            "uploads": uploads,
            "environment": vpc,
            "spinup": spinup,
            "dry_run": args.dry_run,
        }))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_sync_line_uploads_a_sandbox_file_under_its_remote_dir_named_for_the_sandbox() {
        let folder = Path::new("/cfg/sandboxes/dev");
        let found =
            uploads("\napp.conf  config/app/\n  users.json users\n", "acme-sandbox", folder, "ann", "aws.ini:7")
                .unwrap();
        assert_eq!(
            found,
            [
                Upload { local: folder.join("app.conf"), bucket: "acme-sandbox".into(), key: "config/app/ann".into() },
                Upload { local: folder.join("users.json"), bucket: "acme-sandbox".into(), key: "users/ann".into() },
            ]
        );
        let bad = uploads("app.conf", "b", folder, "ann", "aws.ini:7").unwrap_err();
        assert!(bad.starts_with("aws.ini:7: sandbox_sync_config line 1"), "{bad}");
    }
}
