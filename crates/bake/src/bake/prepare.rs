//! Everything a bake needs, resolved and checked before anything is made: the config, the init
//! script and overlay, the bakery, the source image, the key and the credentials.

use super::*;

/// The key pair the builder is launched with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum KeyChoice {
    /// `[bake] bake_key`: an existing pair; its private key comes from the agent or `--ssh-key`.
    Configured(String),
    /// A pair made for this run and deleted after it.
    Temporary(String),
}

/// Everything a bake needs, resolved and checked before anything is made.
pub(super) struct Prepared {
    pub(super) target: BakeTarget,
    pub(super) run: BakeRun,
    pub(super) source_ami: String,
    pub(super) source_name: String,
    pub(super) bakery_name: String,
    pub(super) bakery: Bakery,
    pub(super) subnet: String,
    pub(super) repo_ip: Option<String>,
    pub(super) key: KeyChoice,
    pub(super) credentials: Vec<Credential>,
    /// `[bake] forward_agent`: the init script gets the operator's ssh-agent (off by default: a
    /// builder, or whoever controls it, could use every key the agent holds).
    pub(super) forward_agent: bool,
    /// Reached on its private address, with no public one.
    pub(super) private: bool,
    pub(super) ssh_cidrs: Vec<String>,
    pub(super) instance_type: String,
    pub(super) instance_profile: Option<String>,
    pub(super) destination: String,
    pub(super) tree: payload::Archive,
    pub(super) overlay: Option<payload::Overlay>,
    pub(super) command: String,
    pub(super) image_name: String,
    pub(super) image_tags: Vec<(String, String)>,
    pub(super) enhanced_networking: bool,
    pub(super) image_wait: Duration,
    pub(super) deadline: Instant,
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
struct Local<'a> {
    aws: &'a AwsConfig,
    dir: &'a ConfigDir,
    target: BakeTarget,
    images: ImageSettings,
    extra: Vec<(String, String)>,
}

/// Checks everything that needs no AWS call and resolves the bake.
fn prepare_local<'a>(settings: &'a Settings, args: &BakeArgs) -> anyhow::Result<Local<'a>> {
    let (aws, dir) = (settings.aws()?, &settings.config_dir);
    let images = ImageSettings::of(Some(aws));
    let extra = parse_tags(&args.tags)?;
    if let Some(key) = &args.ssh_key {
        Credential::from_file(key)?;
    }
    let request = BakeRequest {
        hostclass: args.hostclass.clone(),
        source_ami: args.source_ami.clone(),
        stage: args.stage.clone(),
    };
    let target = plan::resolve(aws, &request, &images.stages).map_err(UsageError)?;
    // Config values are checked before anything is read or made.
    plan::image_wait(aws, &target.hostclass).map_err(|e| anyhow!(e))?;
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
    Ok(Local { aws, dir, target, images, extra })
}

pub(super) async fn prepare(settings: &Settings, args: &BakeArgs, clients: &Clients) -> anyhow::Result<Prepared> {
    let Local { aws, dir, target, images: image_settings, extra } = prepare_local(settings, args)?;
    let started = Instant::now();
    let source_root = dir.resolve(bake_value(aws, "bake", "config_data_source").unwrap_or_else(|| ".".into()));
    let discoroot = source_root.join("discoroot");
    if !discoroot.is_dir() {
        bail!("{}: no discoroot/ ([bake] config_data_source must hold it)", source_root.display());
    }
    let init = source_root.join(format!("init/phase{}.sh", target.phase));
    if !init.is_file() {
        bail!("{}: missing (the bake runs it on the builder)", init.display());
    }
    let tree = payload::config_tree(&source_root, &exposure::allowed_uploads(aws))
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

    let bakery_name = bake_value(aws, "bake", "bakery_environment").context("[bake] bakery_environment is not set")?;
    let instance_type = bake_value(aws, &target.hostclass, "bakery_instance_type").unwrap_or_else(|| "t3.micro".into());
    let destination = exposure::destination(aws)?;
    let image_wait = plan::image_wait(aws, &target.hostclass).map_err(|e| anyhow!(e))?;

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
            let images = clients.images(&image_settings.trusted, Some(&format!("{prefix} *"))).await?;
            let image = plan::newest_phase1(&images, prefix, &image_settings.stages).with_context(|| {
                format!(
                    "no phase-1 image to start from: none named \"{prefix} <time>\" is in the final stage {} and not private (bake phase 1, then promote it)",
                    image_settings.stages.last()
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
    let reach = exposure::reach(clients, aws, &bakery_name, &bakery, &subnet, args.use_local_ip).await?;
    let mut credentials: Vec<Credential> = Vec::new();
    if let Some(path) = &args.ssh_key {
        credentials.push(Credential::from_file(path)?);
    }
    let key = match bake_value(aws, "bake", "bake_key") {
        Some(name) => {
            if !clients.key_pair_exists(&name).await? {
                bail!("[bake] bake_key {name}: no such key pair");
            }
            credentials.extend(bucket_credentials(settings, clients, &bakery_name, &bakery).await?);
            if credentials.is_empty() && Credential::agent_from_env().is_none() {
                bail!("[bake] bake_key {name}: its private key must be in the ssh-agent (SSH_AUTH_SOCK), given with --ssh-key, or under private_keys/ssh/ in the bakery's credential bucket");
            }
            KeyChoice::Configured(name)
        }
        None => KeyChoice::Temporary(run.resource_name()),
    };
    credentials.extend(Credential::agent_from_env());
    let forward_agent = bake_value(aws, "bake", "forward_agent").is_some_and(|v| truthy(&v));
    if forward_agent && Credential::agent_from_env().is_none() {
        tracing::warn!("[bake] forward_agent is on, but there is no ssh-agent to forward (SSH_AUTH_SOCK)");
    }
    let repo_ip = match bake_value(aws, "bake", "repo_hostclass") {
        Some(h) => clients.repo_address(&bakery.vpc_id, &h).await?,
        None => None,
    };

    let baker = settings.owner().to_string();
    let version = match config_version(&dir.root) {
        Some(v) => format!("{} {v}", env!("CARGO_PKG_VERSION")),
        None => env!("CARGO_PKG_VERSION").to_string(),
    };
    let productline = bake_value(aws, &target.hostclass, "product_line");
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
        enhanced_networking: bake_value(aws, &target.hostclass, "enhanced_networking").is_some_and(|v| truthy(&v)),
        instance_profile: bake_value(aws, &target.hostclass, "bake_instance_profile"),
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
    settings: &Settings,
    clients: &Clients,
    bakery_name: &str,
    bakery: &Bakery,
) -> anyhow::Result<Vec<Credential>> {
    let Some(vpc_type) = &bakery.vpc_type else { return Ok(Vec::new()) };
    let buckets = settings.credential_buckets(clients.region(), bakery_name, vpc_type)?;
    if buckets.is_empty() {
        return Ok(Vec::new());
    }
    Ok(Credential::keys_among(clients.ssh_keys(&buckets).await?))
}
