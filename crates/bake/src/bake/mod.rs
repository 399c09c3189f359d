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
pub(crate) mod reap;
mod undo;

use anyhow::{anyhow, bail, Context as _};
use clap::Args;
use serde::Serialize;
use sila_cli::{GlobalArgs, Printer, UsageError};
use sila_cloud::bake::{Bakery, BuilderSpec, Machine};
use sila_cloud::Clients;
use sila_core::ami::ImageSettings;
use sila_core::bake::{
    self as plan, bake_value, BakeRequest, BakeRun, BakeTarget, ImageTagInput, Source, RUN_TAG, UNTIL_TAG,
};
use sila_core::config::{AwsConfig, ConfigDir, ConfigFile, VpcConfig, GLOBAL_SECTION};
use sila_core::truth::truthy;
use sila_ssh::{Connection, Credential, HostKeys};
use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::time::Instant;
use undo::{Undo, UndoLog};

/// Users a builder is logged into as, in this order: root, then the default users of common images
/// (which then act as root through `sudo -n`).
const LOGIN_USERS: [&str; 5] = ["root", "admin", "ubuntu", "ec2-user", "centos"];

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

/// The key pair the builder is launched with.
#[derive(Debug, Clone, PartialEq, Eq)]
enum KeyChoice {
    /// `[bake] bake_key`: an existing pair; its private key comes from the agent or `--ssh-key`.
    Configured(String),
    /// A pair made for this run and deleted after it.
    Temporary(String),
}

/// Everything a bake needs, resolved and checked before anything is made.
struct Prepared {
    target: BakeTarget,
    run: BakeRun,
    source_ami: String,
    source_name: String,
    bakery_name: String,
    bakery: Bakery,
    subnet: String,
    repo_ip: Option<String>,
    key: KeyChoice,
    credentials: Vec<Credential>,
    /// `[bake] forward_agent`: the init script gets the operator's ssh-agent (off by default: a
    /// builder, or whoever controls it, could use every key the agent holds).
    forward_agent: bool,
    /// Reached on its private address, with no public one.
    private: bool,
    ssh_cidrs: Vec<String>,
    instance_type: String,
    instance_profile: Option<String>,
    destination: String,
    tree: payload::Archive,
    overlay: Option<payload::Overlay>,
    command: String,
    image_name: String,
    image_tags: Vec<(String, String)>,
    enhanced_networking: bool,
    image_wait: Duration,
    deadline: Instant,
}

/// The plan as printed, and as `--output json` gives it.
#[derive(Debug, Serialize)]
struct PlanView<'a> {
    run_id: &'a str,
    phase: u8,
    hostclass: &'a str,
    source_ami: &'a str,
    source_name: &'a str,
    bakery: &'a str,
    vpc_id: &'a str,
    subnet: &'a str,
    instance_type: &'a str,
    key_pair: String,
    /// `private` or `public`: the builder's address Sila connects to.
    reached_on: &'static str,
    ssh_from: &'a [String],
    upload_files: usize,
    destination: &'a str,
    overlay_files: Option<usize>,
    metadata_lines: Option<usize>,
    command: &'a str,
    forward_agent: bool,
    image_name: &'a str,
    image_tags: BTreeMap<&'a str, &'a str>,
    deadline_seconds: u64,
    dry_run: bool,
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

fn parse_tags(tags: &[String]) -> anyhow::Result<Vec<(String, String)>> {
    tags.iter()
        .map(|t| match t.split_once(':') {
            Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_string(), v.trim().to_string())),
            _ => Err(UsageError(format!("--tag {t}: expected KEY:VALUE")).into()),
        })
        .collect()
}

/// `<branch>-<short hash>` of the config dir's git work tree, when it is one.
fn config_version(dir: &std::path::Path) -> Option<String> {
    let git = |args: &[&str]| {
        let out = std::process::Command::new("git").arg("-C").arg(dir).args(args).output().ok()?;
        out.status.success().then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
    };
    Some(format!("{}-{}", git(&["rev-parse", "--abbrev-ref", "HEAD"])?, git(&["rev-parse", "--short", "HEAD"])?))
}

/// What the config and the command line say, checked without AWS.
struct Local {
    aws: AwsConfig,
    dir: ConfigDir,
    target: BakeTarget,
    settings: ImageSettings,
    extra: Vec<(String, String)>,
}

/// Checks everything that needs no AWS call and resolves the bake.
fn prepare_local(global: &GlobalArgs, args: &BakeArgs) -> anyhow::Result<Local> {
    let aws = global.aws_config()?;
    let dir = global.config_dir();
    let settings = ImageSettings::of(Some(&aws));
    let extra = parse_tags(&args.tags)?;
    if let Some(key) = &args.ssh_key {
        Credential::from_file(key)?;
    }
    let request = BakeRequest {
        hostclass: args.hostclass.clone(),
        source_ami: args.source_ami.clone(),
        stage: args.stage.clone(),
    };
    let target = plan::resolve(&aws, &request, &settings.stages).map_err(UsageError)?;
    // Config values are checked before anything is read or made.
    plan::image_wait(&aws, &target.hostclass).map_err(|e| anyhow!(e))?;
    if target.phase == 2
        && aws.ini.section(&target.hostclass).is_none()
        && !dir.init_dir().join(format!("{}.sh", target.hostclass)).is_file()
    {
        return Err(UsageError(format!(
            "--hostclass {}: unknown hostclass (no [{0}] in {} and no init/{0}.sh)",
            target.hostclass,
            aws.ini.path.display()
        ))
        .into());
    }
    Ok(Local { aws, dir, target, settings, extra })
}

async fn prepare(global: &GlobalArgs, args: &BakeArgs, clients: &Clients) -> anyhow::Result<Prepared> {
    let Local { aws, dir, target, settings, extra } = prepare_local(global, args)?;
    let started = Instant::now();
    let source_root = dir.resolve(bake_value(&aws, "bake", "config_data_source").unwrap_or_else(|| ".".into()));
    let discoroot = source_root.join("discoroot");
    if !discoroot.is_dir() {
        bail!("{}: no discoroot/ ([bake] config_data_source must hold it)", source_root.display());
    }
    let init = source_root.join(format!("init/phase{}.sh", target.phase));
    if !init.is_file() {
        bail!("{}: missing (the bake runs it on the builder)", init.display());
    }
    let tree = payload::config_tree(&source_root, &exposure::allowed_uploads(&aws))
        .with_context(|| format!("reading {}", source_root.display()))?;
    // The image may be shared with production: no obvious secrets in it unless said so.
    if !tree.secrets.is_empty() {
        bail!(
            "{}: {} file(s) look like secrets and would be baked into the image: {}; exclude them in a .nosync file, or allow them with [bake] allow_upload_patterns",
            source_root.display(),
            tree.secrets.len(),
            tree.secrets.join(", ")
        );
    }
    let overlay = match target.phase {
        2 => Some(payload::overlay(&discoroot, &target.hostclass, &tree.included)?),
        _ => None,
    };

    let bakery_name = bake_value(&aws, "bake", "bakery_environment").context("[bake] bakery_environment is not set")?;
    let instance_type =
        bake_value(&aws, &target.hostclass, "bakery_instance_type").unwrap_or_else(|| "t3.micro".into());
    let destination = exposure::destination(&aws)?;
    let image_wait = plan::image_wait(&aws, &target.hostclass).map_err(|e| anyhow!(e))?;

    // What AWS has: the bakery, the source image, the key pair, the repository.
    // The name goes into a tag:Name filter: the one rule for environment names first.
    if let Err(e) = sila_core::environment::validate_name(&bakery_name) {
        let line = aws.bake_option("bake", "bakery_environment").map_or(0, |r| r.line);
        bail!("{}:{line}: [bake] bakery_environment: {e}", aws.ini.path.display());
    }
    let bakery = clients.bakery(&bakery_name).await?.with_context(|| {
        format!("bakery environment {bakery_name} does not exist ([bake] bakery_environment); create it with sila-vpc create")
    })?;
    let (source_ami, source_name) = match &target.source {
        Source::Ami(id) => {
            let found = match clients.images_by_id(std::slice::from_ref(id)).await {
                Err(e) if e.kind == sila_cloud::ErrorKind::NotFound => Vec::new(),
                other => other?,
            };
            let image = found.into_iter().next().with_context(|| format!("source image {id} does not exist"))?;
            (image.id, image.name)
        }
        Source::NewestPhase1 { prefix } => {
            let images = clients.images(&settings.trusted, Some(&format!("{prefix} *"))).await?;
            let image = plan::newest_phase1(&images, prefix, &settings.stages).with_context(|| {
                format!(
                    "no phase-1 image to start from: none named \"{prefix} <time>\" is in the final stage {} and not private (bake phase 1, then promote it)",
                    settings.stages.last()
                )
            })?;
            (image.id.clone(), image.name.clone())
        }
    };
    let run = BakeRun::new(
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0),
        std::process::id(),
        args.deadline.as_secs(),
    );
    if bakery.subnets.is_empty() {
        bail!("bakery environment {bakery_name} ({}) has no tunnel subnets", bakery.vpc_id);
    }
    // Spread builders over the zones.
    let subnet = bakery.subnets[(run.started % bakery.subnets.len() as u64) as usize].clone();
    let reach = exposure::reach(clients, &aws, &bakery_name, &bakery, &subnet, args.use_local_ip).await?;
    let mut credentials: Vec<Credential> = Vec::new();
    if let Some(path) = &args.ssh_key {
        credentials.push(Credential::from_file(path)?);
    }
    let key = match bake_value(&aws, "bake", "bake_key") {
        Some(name) => {
            if !clients.key_pair_exists(&name).await? {
                bail!("[bake] bake_key {name}: no such key pair");
            }
            credentials.extend(bucket_credentials(&dir, &aws, clients, &bakery_name, &bakery).await?);
            if credentials.is_empty() && Credential::agent_from_env().is_none() {
                bail!("[bake] bake_key {name}: its private key must be in the ssh-agent (SSH_AUTH_SOCK), given with --ssh-key, or under private_keys/ssh/ in the bakery's credential bucket");
            }
            KeyChoice::Configured(name)
        }
        None => KeyChoice::Temporary(run.resource_name()),
    };
    credentials.extend(Credential::agent_from_env());
    let forward_agent = bake_value(&aws, "bake", "forward_agent").is_some_and(|v| truthy(&v));
    if forward_agent && Credential::agent_from_env().is_none() {
        tracing::warn!("[bake] forward_agent is on, but there is no ssh-agent to forward (SSH_AUTH_SOCK)");
    }
    let repo_ip = match bake_value(&aws, "bake", "repo_hostclass") {
        Some(h) => clients.repo_address(&bakery.vpc_id, &h).await?,
        None => None,
    };

    let baker = sila_cli::acting_user();
    let version = match config_version(&dir.root) {
        Some(v) => format!("{} {v}", env!("CARGO_PKG_VERSION")),
        None => env!("CARGO_PKG_VERSION").to_string(),
    };
    let productline = bake_value(&aws, &target.hostclass, "product_line");
    let image_tags = plan::image_tags(&ImageTagInput {
        hostclass: &target.hostclass,
        stage: &target.stage,
        source_ami: &source_ami,
        baker: &baker,
        version: &version,
        private: args.private,
        productline: productline.as_deref(),
        extra: &extra,
    });
    // Every word quoted: the destination may hold any character (§3.12's one remote command).
    let command = format!(
        "{} {} {} {}",
        sila_core::shell::quote(&format!("{destination}/init/phase{}.sh", target.phase)),
        sila_core::shell::quote(&target.hostclass),
        sila_core::shell::quote(repo_ip.as_deref().unwrap_or("#None")),
        run.id
    );
    Ok(Prepared {
        image_name: format!("{} {}", target.base_name, sila_core::epoch_seconds()),
        enhanced_networking: bake_value(&aws, &target.hostclass, "enhanced_networking").is_some_and(|v| truthy(&v)),
        instance_profile: bake_value(&aws, &target.hostclass, "bake_instance_profile"),
        deadline: started + args.deadline,
        target,
        run,
        source_ami,
        source_name,
        bakery_name,
        bakery,
        subnet,
        repo_ip,
        key,
        credentials,
        forward_agent,
        private: reach.private,
        ssh_cidrs: reach.ssh_cidrs,
        instance_type,
        destination,
        tree: tree.archive,
        overlay,
        command,
        image_tags,
        image_wait,
    })
}

/// The private keys in the bakery environment's credential buckets (`credential_buckets` of its
/// type in `vpc.ini`), under `private_keys/ssh/`, as Asiaq kept them. Objects that are not private
/// keys are skipped with a warning.
async fn bucket_credentials(
    dir: &ConfigDir,
    aws: &AwsConfig,
    clients: &Clients,
    bakery_name: &str,
    bakery: &Bakery,
) -> anyhow::Result<Vec<Credential>> {
    let Some(vpc_type) = &bakery.vpc_type else { return Ok(Vec::new()) };
    let Some(ini) = dir.load(ConfigFile::Vpc).map_err(|d| anyhow!("{d}"))? else { return Ok(Vec::new()) };
    let Some(postfixes) = VpcConfig::new(ini).option(bakery_name, vpc_type, "credential_buckets") else {
        return Ok(Vec::new());
    };
    let project = aws.ini.get(GLOBAL_SECTION, "project_name").map(|e| e.value.trim().to_string()).unwrap_or_default();
    let buckets = sila_core::environment::credential_buckets(clients.region(), &project, &postfixes.value);
    Ok(Credential::keys_among(clients.ssh_keys(&buckets).await?))
}

fn print_plan(printer: &Printer, p: &Prepared, args: &BakeArgs) -> anyhow::Result<()> {
    let (dry_run, deadline) = (args.dry_run, args.deadline);
    let reached_on = if p.private { "private" } else { "public" };
    let view = PlanView {
        run_id: &p.run.id,
        phase: p.target.phase,
        hostclass: &p.target.hostclass,
        source_ami: &p.source_ami,
        source_name: &p.source_name,
        bakery: &p.bakery_name,
        vpc_id: &p.bakery.vpc_id,
        subnet: &p.subnet,
        instance_type: &p.instance_type,
        key_pair: match &p.key {
            KeyChoice::Configured(name) => name.clone(),
            KeyChoice::Temporary(name) => format!("{name} (temporary)"),
        },
        reached_on,
        ssh_from: &p.ssh_cidrs,
        upload_files: p.tree.files,
        destination: &p.destination,
        overlay_files: p.overlay.as_ref().map(|o| o.archive.files),
        metadata_lines: p.overlay.as_ref().map(|o| o.metadata_lines),
        command: &p.command,
        forward_agent: p.forward_agent,
        image_name: &p.image_name,
        image_tags: p.image_tags.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect(),
        deadline_seconds: deadline.as_secs(),
        dry_run,
    };
    if printer.json() {
        if dry_run {
            printer.print_json(&view)?;
        }
        return Ok(());
    }
    let mut text = format!(
        "bake {} (phase {}) from {} ({}), run {}\n",
        view.hostclass, view.phase, view.source_ami, view.source_name, view.run_id
    );
    text.push_str(&format!(
        "  + key pair {}\n  + security group {} in {} ({}): SSH from {}\n",
        view.key_pair,
        p.run.resource_name(),
        view.bakery,
        view.vpc_id,
        view.ssh_from.join(" ")
    ));
    text.push_str(&format!(
        "  + builder {} in {} (tunnel), IMDSv2 required, reached on its {} address{}{}\n",
        view.instance_type,
        view.subnet,
        reached_on,
        if p.private { " (no public one)" } else { "" },
        if p.repo_ip.is_some() {
            format!(", repo {}", p.repo_ip.as_deref().unwrap_or_default())
        } else {
            String::new()
        }
    ));
    text.push_str(&format!("  + upload {} file(s) to {}\n", view.upload_files, view.destination));
    if let Some(o) = &p.overlay {
        text.push_str(&format!(
            "  + overlay discoroot for {}: {} file(s), {} metadata line(s)\n",
            view.hostclass, o.archive.files, o.metadata_lines
        ));
    }
    let agent = if p.forward_agent { ", with the ssh-agent forwarded ([bake] forward_agent)" } else { "" };
    text.push_str(&format!("  + run {}{agent}\n", view.command));
    let tags: Vec<String> = p.image_tags.iter().map(|(k, v)| format!("{k}={v}")).collect();
    text.push_str(&format!("  + image \"{}\" tagged {}\n", view.image_name, tags.join(" ")));
    text.push_str(&format!(
        "  - builder, key pair and security group removed afterwards; deadline {}\n",
        humantime::format_duration(deadline)
    ));
    if dry_run {
        text.push_str("dry run: nothing changed\n");
    }
    printer.line(text.trim_end())?;
    Ok(())
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
pub(crate) async fn bake(global: &GlobalArgs, args: &BakeArgs) -> anyhow::Result<()> {
    let mut signals = Signals::install()?;
    let printer = Printer::new(global.output);
    let clients = global.clients().await?;
    let p = prepare(global, args, &clients).await?;
    print_plan(&printer, &p, args)?;
    if args.dry_run {
        return Ok(());
    }
    let undo = UndoLog::default();
    let step = CurrentStep::default();
    let host_keys = HostKeys::default();
    let outcome = tokio::select! {
        result = steps(&clients, &p, args, &undo, &step, &host_keys) => result,
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
            result.cleanup_failures = undo.unwind(&clients).await;
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
            let failures = undo.unwind(&clients).await;
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

async fn steps(
    clients: &Clients,
    p: &Prepared,
    args: &BakeArgs,
    undo: &UndoLog,
    step: &CurrentStep,
    host_keys: &HostKeys,
) -> anyhow::Result<Done> {
    let tags = p.run.tags();
    let mut credentials = p.credentials.clone();
    step.set("key pair");
    let key_name = match &p.key {
        KeyChoice::Configured(name) => name.clone(),
        KeyChoice::Temporary(name) => {
            undo.push(Undo::KeyPair(name.clone()));
            let material = clients.create_key_pair(name, &tags).await?;
            if args.no_destroy {
                keyfile::save(&material, &keyfile::dir_of(&p.run.id))?;
            }
            credentials.insert(0, Credential::from_text(&material, &format!("key pair {name}"))?);
            name.clone()
        }
    };

    step.set("security group");
    let group_name = p.run.resource_name();
    undo.push(Undo::Group { vpc_id: p.bakery.vpc_id.clone(), name: group_name.clone() });
    let group = clients.create_ssh_group(&p.bakery.vpc_id, &group_name, &p.ssh_cidrs, &tags).await?;

    step.set("launch builder");
    undo.push(Undo::Builders(p.run.id.clone()));
    let mut builder_tags = vec![
        ("Name".to_string(), format!("bake_{}", p.target.hostclass)),
        ("hostclass".to_string(), format!("bake_{}", p.target.hostclass)),
    ];
    builder_tags.extend(tags.iter().cloned());
    let mut groups = vec![group];
    groups.extend(p.bakery.tunnel_group.clone());
    let spec = BuilderSpec {
        image: p.source_ami.clone(),
        instance_type: p.instance_type.clone(),
        subnet: p.subnet.clone(),
        groups,
        key_name,
        instance_profile: p.instance_profile.clone(),
        public_ip: !p.private,
        tags: builder_tags,
        token: group_name,
    };
    let id = clients.launch_builder(&spec).await?;
    tracing::info!("builder {id} launched from {}", p.source_ami);

    step.set("wait for the builder to run");
    let machine = clients.wait_machine(&id, "running", p.deadline).await?;
    let address = if p.private { machine.private_ip.clone() } else { machine.public_ip.clone() };
    let address = address.with_context(|| {
        format!("builder {id} has no {} address", if p.private { "private" } else { "public (try --use-local-ip)" })
    })?;
    let ip: IpAddr = address.parse().with_context(|| format!("builder address {address}"))?;

    step.set("wait for SSH");
    tracing::info!("waiting for SSH on {address}");
    let mut ssh = Connection::open(SocketAddr::new(ip, 22), &LOGIN_USERS, &credentials, host_keys, p.deadline).await?;
    // Every command, the init script above all, ends by the run's deadline.
    ssh.end_commands_by(p.deadline);
    tracing::info!("logged into {address} as {}", ssh.user());

    step.set("upload the config tree");
    let unpack = format!(
        "rm -rf {dest} && mkdir -p {dest} && tar -xf - -C {dest}",
        dest = sila_core::shell::quote(&p.destination)
    );
    expect_success(&ssh, &unpack, Some(p.tree.bytes.clone()), false, "upload").await?;

    if let Some(overlay) = &p.overlay {
        step.set("install the overlay");
        expect_success(&ssh, "tar -xf - -C /", Some(overlay.archive.bytes.clone()), false, "overlay").await?;
        expect_success(&ssh, "sh -s", Some(overlay.script.clone().into_bytes()), false, "overlay").await?;
    }

    step.set("run the init script");
    let prefix = format!("phase{} {}", p.target.phase, p.target.hostclass);
    expect_success(&ssh, &p.command, None, p.forward_agent, &prefix).await?;

    if args.no_destroy {
        let user = ssh.user().to_string();
        ssh.close().await;
        return Ok(Done::Kept(machine, address, user));
    }

    step.set("shut the builder down");
    let mut remove = String::from("rm -f /root/.ssh/authorized_keys");
    if ssh.user() != "root" {
        remove.push_str(&format!(" ~{}/.ssh/authorized_keys", ssh.user()));
    }
    remove.push_str(" && sync");
    expect_success(&ssh, &remove, None, false, "shutdown").await?;
    ssh.close().await;
    clients.stop_machine(&id, p.deadline).await?;
    if p.enhanced_networking {
        clients.enable_sriov(&id).await?;
    }

    step.set("create the image");
    let image_undo = Undo::Images(p.run.id.clone());
    undo.push(image_undo.clone());
    let mut image_tags = p.image_tags.clone();
    image_tags.extend(tags.iter().cloned());
    let description = plan::image_description(&p.target.hostclass, &p.run.id, &p.source_ami);
    let image_id = clients.create_image(&id, &p.image_name, &description, &image_tags).await?;
    tracing::info!("image {image_id} requested");

    step.set("wait for the image");
    let image_deadline = p.deadline.min(Instant::now() + p.image_wait);
    let image = clients.wait_image(&image_id, image_deadline).await?;

    step.set("tag the snapshots");
    clients.tag_resources(&image.snapshots, &image_tags).await?;
    // Done: the run tags go, so reap leaves the image alone.
    let mut finished = vec![image_id.clone()];
    finished.extend(image.snapshots.iter().cloned());
    clients.untag_resources(&finished, &[RUN_TAG, UNTIL_TAG]).await?;
    undo.keep(&image_undo);
    step.set("clean up");
    Ok(Done::Image(image_id))
}

/// Runs `command` as root on the builder; a non-zero exit, or still running at the deadline, is an
/// error that quotes its last lines (control characters spelled out, as when streamed).
async fn expect_success(
    ssh: &Connection,
    command: &str,
    stdin: Option<Vec<u8>>,
    forward_agent: bool,
    prefix: &str,
) -> anyhow::Result<()> {
    let mut show = |line: &str| eprintln!("[{prefix}] {line}");
    let out = ssh.run(command, stdin, forward_agent, &mut show).await?;
    let tail = if out.tail.is_empty() { String::new() } else { format!(":\n  {}", out.tail.join("\n  ")) };
    if out.timed_out {
        return Err(anyhow!("`{command}` was still running at the bake's deadline (--deadline) and was ended{tail}"));
    }
    match out.status {
        Some(0) => Ok(()),
        status => {
            let status = status.map_or("no exit status".to_string(), |s| format!("exit status {s}"));
            Err(anyhow!("`{command}` ended with {status}{tail}"))
        }
    }
}
