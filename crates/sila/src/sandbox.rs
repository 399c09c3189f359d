//! `sila sandbox NAME` (reference §2.25): a developer's whole environment in one line. Reads
//! `sandboxes/<DIR>/pipeline.csv`, uploads the sandbox's files named by `sandbox_sync_config`,
//! creates the VPC `NAME` (type `sandbox`) or updates it when it exists, and spins the pipeline up
//! in it, by running `sila-vpc` and `sila-aws` with the same global flags.
//!
//! Unlike Asiaq, it only touches a VPC whose `type` tag is `sandbox` (or makes a new one), and it
//! plans everything before its first change (the upload): the pipeline, the sync lines and their
//! files, every row's image, and dry runs of the environment's plan and (for a sandbox that exists)
//! the spinup's. An error after a change says what was changed. Asiaq's `--config-dir DIR` (the
//! folder under `sandboxes/`) is `--sandbox-dir DIR` here: in every Sila tool `--config-dir` is the
//! config root.

use anyhow::{anyhow, bail, Context as _};
use clap::Args;
use serde::Serialize;
use sila_cli::{GlobalArgs, OutputFormat, Printer, Settings, UsageError};
use sila_core::ami::ImageSettings;
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
    #[arg(long, value_name = "DURATION", default_value = "20m", value_parser = sila_cli::values::deadline)]
    pub deadline: std::time::Duration,
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
/// returns its JSON document (its stdout), else lets it print. A `quiet` run (a check before the
/// real one) keeps its stdout; its errors still reach stderr.
fn step(
    tool: &str,
    global: &GlobalArgs,
    env: Option<&str>,
    args: &[String],
    quiet: bool,
) -> anyhow::Result<Option<serde_json::Value>> {
    let mut command = crate::dispatch::tool_command(tool, global, env);
    command.args(args).stdin(Stdio::null());
    let shown =
        format!("sila-{tool} {}", command.get_args().map(|a| a.to_string_lossy()).collect::<Vec<_>>().join(" "));
    tracing::info!("{shown}");
    if global.output != OutputFormat::Json && !quiet {
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
    if quiet {
        return Ok(None);
    }
    let doc = serde_json::from_slice(&out.stdout).map_err(|e| anyhow!("sila-{tool} printed no JSON document: {e}"))?;
    Ok(Some(doc))
}

/// Every row of the sandbox's pipeline must have an image in the stage a spinup into the sandbox
/// picks from (`ami_stage` of the `sandbox` type): checked before anything changes, also for a
/// sandbox that does not exist yet (whose spinup cannot be planned in full).
async fn check_images(
    settings: &Settings,
    clients: &sila_cloud::Clients,
    pipeline: &Pipeline,
    name: &str,
) -> anyhow::Result<()> {
    let stage = settings
        .env_type_option(name, "sandbox", "ami_stage")?
        .ok_or_else(|| anyhow!("the sandbox type sets no ami_stage in vpc.ini, so its spinup would pick no image"))?;
    let stages: Vec<&str> = stage.split(',').map(str::trim).collect();
    let found = clients.pipeline_images(&ImageSettings::of(Some(settings.aws()?)).trusted, pipeline).await?;
    let missing = found.missing(pipeline, &stages);
    if !missing.is_empty() {
        bail!("nothing changed; {}", missing.join("; "));
    }
    Ok(())
}

/// Runs `sandbox`.
pub async fn run(global: &GlobalArgs, settings: &Settings, args: &SandboxArgs) -> anyhow::Result<()> {
    // The sandbox's name becomes its VPC's Name tag and goes into tag filters: the one rule first.
    sila_cli::check_environment_name("sandbox NAME", &args.name)?;
    let dir = &settings.config_dir;
    let folder_name = args.sandbox_dir.clone().unwrap_or_else(|| args.name.clone());
    let folder = dir.root.join("sandboxes").join(&folder_name);
    let csv = folder.join("pipeline.csv");
    if !csv.is_file() {
        return Err(UsageError(format!("{}: no such file (the sandbox's pipeline)", csv.display())).into());
    }
    let pipeline = Pipeline::load(&csv).map_err(|d| anyhow!("{d}"))?;
    pipeline.sequence_batches().map_err(|d| anyhow!("{d}"))?;

    // The sync lines are read with the tool's environment (--env or the default), not the sandbox.
    let aws = settings.aws()?;
    let env = settings.optional_environment()?;
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

    // Only a sandbox, or a name no VPC has: `sila sandbox bakery` must not touch the bakery.
    let clients = settings.clients().await?;
    let exists = match clients.environment_type(&args.name).await? {
        None => false,
        Some(Some(kind)) if kind == "sandbox" => true,
        Some(kind) => bail!(
            "environment {} is not a sandbox (its VPC's type tag is {}); sila sandbox only creates or updates \
             sandboxes; nothing changed",
            args.name,
            kind.map_or("missing".to_string(), |k| format!("{k:?}"))
        ),
    };

    let dry_run: Vec<String> = if args.dry_run { vec!["--dry-run".into()] } else { Vec::new() };
    let mut vpc_args: Vec<String> = if exists {
        vec!["update".into(), "--name".into(), args.name.clone()]
    } else {
        vec!["create".into(), "--name".into(), args.name.clone(), "--type".into(), "sandbox".into()]
    };
    let mut spin_args: Vec<String> = vec!["spinup".into(), "--pipeline".into(), csv.display().to_string()];
    spin_args.extend(["--deadline".into(), format!("{}s", args.deadline.as_secs())]);
    if args.no_smoke_test {
        spin_args.push("--no-smoke-test".into());
    }

    // Everything is planned before the first change: every row's image, then (a real run) the
    // environment's plan and, for a sandbox that exists, the whole spinup's, as dry runs.
    check_images(settings, clients, &pipeline, &args.name).await?;
    if !args.dry_run {
        let checks = [("vpc", None, &vpc_args), ("aws", Some(args.name.as_str()), &spin_args)];
        for (tool, env, tool_args) in checks.into_iter().take(if exists { 2 } else { 1 }) {
            let mut tool_args = tool_args.clone();
            tool_args.push("--dry-run".into());
            step(tool, global, env, &tool_args, true).context("nothing changed")?;
        }
    }

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
    // What has changed so far, for the error of a later step.
    let mut done: Vec<String> = Vec::new();
    let said = |done: &[String]| format!("sandbox {}: {}", args.name, done.join(", "));
    if !args.dry_run {
        for (i, u) in uploads.iter().enumerate() {
            let put = async {
                let body = std::fs::read(&u.local).with_context(|| u.local.display().to_string())?;
                clients.put_object(&u.bucket, &u.key, body).await?;
                Ok::<_, anyhow::Error>(())
            };
            put.await.map_err(|e| match i {
                0 => e.context("nothing changed"),
                _ => e.context(said(&[format!("uploaded {i} file(s)")])),
            })?;
        }
        if !uploads.is_empty() {
            done.push(format!("uploaded {} file(s)", uploads.len()));
        }
    }

    vpc_args.extend(dry_run.iter().cloned());
    // sila-vpc's own error says what of the environment exists.
    let vpc = step("vpc", global, None, &vpc_args, false).map_err(|e| {
        if done.is_empty() {
            e
        } else {
            e.context(said(&done))
        }
    })?;
    if !args.dry_run {
        done.push(format!("{} environment {}", if exists { "updated" } else { "created" }, args.name));
    }
    // A dry run of a new sandbox stops here: there is no environment to plan a spinup into.
    let spinup = if args.dry_run && !exists {
        None
    } else {
        spin_args.extend(dry_run);
        step("aws", global, Some(&args.name), &spin_args, false).with_context(|| said(&done))?
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
