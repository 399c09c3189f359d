//! `bake`: make a machine image in the bakery environment, as steps that each register their undo.
//!
//! Everything is checked and read before anything is made (config, init script, overlay, bakery,
//! source image, key): a bad input changes nothing. Then: temporary key pair and SSH security group
//! → builder (IMDSv2 required, run tags) → running → SSH (host key trusted on first contact) →
//! upload the config tree → install the overlay (phase 2) → run `init/phase<N>.sh` (the ssh-agent
//! forwarded only with `[bake] forward_agent`; ended at the deadline) → remove authorized_keys →
//! stop → image (tagged, run-tagged until done) → available → snapshots tagged → builder
//! terminated, temporary key pair and group deleted. A failure, Ctrl-C or SIGTERM takes back what
//! was made, newest first, and names the step; then a failure exits 1 and an interruption 130, as
//! in every tool.

mod exposure;
mod keyfile;
mod payload;
mod prepare;
pub(crate) mod reap;
mod steps;
mod undo;
mod view;

use anyhow::{anyhow, bail, Context as _};
use clap::Args;
use prepare::{prepare, KeyChoice, Prepared};
use serde::Serialize;
use sila_cli::{Printer, Settings, UsageError};
use sila_cloud::bake::{Bakery, BuilderSpec, Machine};
use sila_cloud::Clients;
use sila_core::ami::ImageSettings;
use sila_core::bake::{
    self as plan, bake_value, BakeRequest, BakeRun, BakeTarget, ImageTagInput, Source, RUN_TAG, UNTIL_TAG,
};
use sila_core::config::{AwsConfig, ConfigDir};
use sila_core::truth::truthy;
use sila_ssh::{Connection, Credential, HostKeys};
use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use steps::steps;
use tokio::time::Instant;
use undo::{Undo, UndoLog};
use view::print_plan;

/// Arguments of `bake`.
#[derive(Debug, Args)]
pub struct BakeArgs {
    /// Hostclass to bake (phase 2 unless its `phase` is 1), or a phase-1 image section; without it,
    /// phase 1 of [bake] phase1_ami_name
    #[arg(long, value_name = "HOSTCLASS")]
    pub hostclass: Option<String>,
    /// Stage to tag the image with [default: the first of [bake] ami_stages]
    #[arg(long, value_name = "STAGE")]
    pub stage: Option<String>,
    /// Start from this image instead of the configured one
    #[arg(long = "source-ami", alias = "source_ami", value_name = "AMI")]
    pub source_ami: Option<String>,
    /// Reach the builder on its private address (from inside the network) instead of its public one;
    /// it then gets no public address (nor does it in a bakery without a route to the internet)
    #[arg(long = "use-local-ip", alias = "use_local_ip")]
    pub use_local_ip: bool,
    /// Keep the builder after the init script (or after a failure) and print how to reach it
    #[arg(long = "no-destroy", alias = "no_destroy")]
    pub no_destroy: bool,
    /// Extra image tag KEY:VALUE (repeatable; cannot override the standard tags)
    #[arg(long = "tag", value_name = "KEY:VALUE")]
    pub tags: Vec<String>,
    /// Mark the image private: never picked as a phase-1 source, nor shared
    #[arg(long)]
    pub private: bool,
    /// Time the whole bake may take; every wait stops there, and `reap` may remove what the run
    /// left after it (e.g. 45m, 2h)
    #[arg(long, value_name = "DURATION", default_value = "1h", value_parser = sila_cli::values::deadline)]
    pub deadline: Duration,
    /// Private key to log into the builder with (besides the ssh-agent and the temporary key)
    #[arg(long = "ssh-key", value_name = "FILE")]
    pub ssh_key: Option<PathBuf>,
    /// Print what the bake would do, and change nothing
    #[arg(long = "dry-run", alias = "dryrun")]
    pub dry_run: bool,
}

/// What a finished bake prints.
#[derive(Debug, Serialize)]
struct BakeResult {
    run_id: String,
    image_id: Option<String>,
    image_name: String,
    hostclass: String,
    stage: String,
    source_ami: String,
    /// Set with `--no-destroy`: the builder left running and how to reach it.
    kept_builder: Option<KeptBuilder>,
    /// Undos that failed after the image was made (what they left has the run tag, for `reap`).
    cleanup_failures: Vec<String>,
}

#[derive(Debug, Serialize)]
struct KeptBuilder {
    instance_id: String,
    address: String,
    user: String,
    ssh: String,
    /// The host key the bake trusted on first contact (SHA-256), to check on your first login.
    host_key: Option<String>,
    /// The temporary key pair's private key, when the bake made one (`reap` removes it).
    key_file: Option<String>,
}

/// The step under way, for messages.
#[derive(Debug, Clone, Default)]
struct CurrentStep(Arc<Mutex<&'static str>>);

impl CurrentStep {
    fn set(&self, step: &'static str) {
        tracing::info!("step: {step}");
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = step;
    }
    fn get(&self) -> &'static str {
        *self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// How the steps ended.
enum Done {
    /// The image is made (its undo forgotten); the builder's cleanup remains.
    Image(String),
    /// `--no-destroy`: the builder is up after the init script.
    Kept(Machine, String, String),
}

/// Waits for SIGINT or SIGTERM (the handlers are installed at once, so none is missed).
struct Signals(tokio::signal::unix::Signal, tokio::signal::unix::Signal);

impl Signals {
    fn install() -> anyhow::Result<Self> {
        use tokio::signal::unix::{signal, SignalKind};
        Ok(Self(signal(SignalKind::interrupt())?, signal(SignalKind::terminate())?))
    }
    async fn recv(&mut self) -> &'static str {
        tokio::select! {
            _ = self.0.recv() => "SIGINT",
            _ = self.1.recv() => "SIGTERM",
        }
    }
}

/// Runs `bake`.
pub(crate) async fn bake(settings: &Settings, args: &BakeArgs) -> anyhow::Result<()> {
    let mut signals = Signals::install()?;
    let printer = settings.printer();
    let clients = settings.clients().await?;
    let p = prepare(settings, args, clients).await?;
    print_plan(&printer, &p, args)?;
    if args.dry_run {
        return Ok(());
    }
    let undo = UndoLog::default();
    let step = CurrentStep::default();
    let host_keys = HostKeys::default();
    let outcome = tokio::select! {
        result = steps(clients, &p, args, &undo, &step, &host_keys) => result,
        signal = signals.recv() => Err(sila_cli::Interrupted(signal).into()),
    };
    let mut result = BakeResult {
        run_id: p.run.id.clone(),
        image_id: None,
        image_name: p.image_name.clone(),
        hostclass: p.target.hostclass.clone(),
        stage: p.target.stage.clone(),
        source_ami: p.source_ami.clone(),
        kept_builder: None,
        cleanup_failures: Vec::new(),
    };
    match outcome {
        Ok(Done::Image(image)) => {
            result.image_id = Some(image.clone());
            result.cleanup_failures = undo.unwind(clients).await;
            for failure in &result.cleanup_failures {
                tracing::warn!("cleanup: {failure} (sila-bake reap removes it after the deadline)");
            }
            if printer.json() {
                printer.print_json(&result)?;
            } else {
                printer.line(&format!("baked {image} \"{}\"", p.image_name))?;
            }
            Ok(())
        }
        Ok(Done::Kept(machine, address, user)) => {
            let mut k = kept(&machine, &address, &user, &p);
            k.host_key = address.parse().ok().and_then(|ip| host_keys.fingerprint(SocketAddr::new(ip, 22)));
            result.kept_builder = Some(k);
            if printer.json() {
                printer.print_json(&result)?;
            } else if let Some(k) = &result.kept_builder {
                let key = k.key_file.as_deref().map(|f| format!("\nits key: {f}")).unwrap_or_default();
                printer.line(&format!(
                    "builder {} kept (--no-destroy); reach it with: {}\nits host key: {}{key}\nsila-bake reap removes it (and its key pair, group and key file) after the deadline",
                    k.instance_id,
                    k.ssh,
                    k.host_key.as_deref().unwrap_or("unknown")
                ))?;
            }
            Ok(())
        }
        Err(e) => {
            let during = step.get();
            if args.no_destroy {
                eprintln!(
                    "sila-bake: {during} failed; builder and temporary resources kept (--no-destroy), run {}",
                    p.run.id
                );
                return Err(e.context(format!("bake failed at step {during}")));
            }
            eprintln!("sila-bake: step \"{during}\" failed; taking back what run {} made", p.run.id);
            let failures = undo.unwind(clients).await;
            if failures.is_empty() {
                return Err(e.context(format!("bake failed at step {during}; everything it made is removed")));
            }
            Err(e.context(format!(
                "bake failed at step {during}; could not remove: {} (they carry {RUN_TAG}={}: sila-bake reap removes them)",
                failures.join("; "),
                p.run.id
            )))
        }
    }
}

fn kept(machine: &Machine, address: &str, user: &str, p: &Prepared) -> KeptBuilder {
    let key_file = match &p.key {
        KeyChoice::Temporary(_) => Some(keyfile::path_in(&keyfile::dir_of(&p.run.id)).display().to_string()),
        KeyChoice::Configured(_) => None,
    };
    let key = key_file.as_deref().map(|f| format!(" -i {}", sila_core::shell::quote(f))).unwrap_or_default();
    KeptBuilder {
        instance_id: machine.id.clone(),
        address: address.to_string(),
        user: user.to_string(),
        ssh: format!("ssh{key} {user}@{address}"),
        host_key: None,
        key_file,
    }
}
