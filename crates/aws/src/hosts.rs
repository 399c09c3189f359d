//! The host commands: listhosts, gethostclassoption, isready, tag, stop, terminate.

use clap::Args;
use serde::Serialize;
use sila_cli::{Failure, Settings, Table, UsageError};
use sila_cloud::Clients;
use sila_core::hosts::{self, Columns, Host, Readiness, Selectors};
use std::collections::BTreeMap;

/// The environment's name and VPC; an error naming it when it does not exist.
pub(crate) async fn environment(settings: &Settings, clients: &Clients) -> anyhow::Result<(String, String)> {
    // --env alone needs no aws.ini: only the default environment is read from it.
    let env = match settings.env_flag()? {
        Some(env) => env,
        None => settings.environment()?,
    };
    let vpc = clients
        .environment_vpc(&env)
        .await?
        .ok_or_else(|| anyhow::anyhow!("environment {env} does not exist (no VPC tagged Name={env})"))?;
    Ok((env, vpc))
}

/// Arguments of `listhosts`.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Only hosts of this hostclass
    #[arg(long, value_name = "HOSTCLASS")]
    pub hostclass: Option<String>,
    /// Add the state column
    #[arg(long)]
    pub state: bool,
    /// Add a column saying whether the host has a hostname tag
    #[arg(long)]
    pub hostname: bool,
    /// Add the owner tag column
    #[arg(long)]
    pub owner: bool,
    /// Add the instance type column
    #[arg(long = "instance-type", alias = "instance_type")]
    pub instance_type: bool,
    /// Add the image id column
    #[arg(long)]
    pub ami: bool,
    /// Add a column saying whether the host passed its smoke test
    #[arg(long)]
    pub smoke: bool,
    /// Add the image's age in hours
    #[arg(long = "ami-age", alias = "ami_age")]
    pub ami_age: bool,
    /// Add the hours since launch
    #[arg(long)]
    pub uptime: bool,
    /// Add the private address (the floating interface's when there is one)
    #[arg(long = "private-ip", alias = "private_ip")]
    pub private_ip: bool,
    /// Add the availability zone
    #[arg(long = "availability-zone", alias = "availability_zone")]
    pub availability_zone: bool,
    /// Add the productline tag
    #[arg(long)]
    pub productline: bool,
    /// Add the first security group's name
    #[arg(long)]
    pub securitygroup: bool,
    /// State through uptime
    #[arg(long)]
    pub most: bool,
    /// Every column
    #[arg(long)]
    pub all: bool,
}

impl ListArgs {
    fn columns(&self) -> Columns {
        let chosen = Columns {
            state: self.state,
            hostname: self.hostname,
            owner: self.owner,
            instance_type: self.instance_type,
            ami: self.ami,
            smoke: self.smoke,
            ami_age: self.ami_age,
            uptime: self.uptime,
            private_ip: self.private_ip,
            availability_zone: self.availability_zone,
            productline: self.productline,
            securitygroup: self.securitygroup,
        };
        match (self.all, self.most) {
            (true, _) => chosen.all(),
            (false, true) => chosen.most(),
            _ => chosen,
        }
    }
}

/// One host in `--output json`.
#[derive(Debug, Serialize)]
struct HostView<'a> {
    #[serde(flatten)]
    host: &'a Host,
    hostclass: &'a str,
    address: &'a str,
    preferred_private_ip: Option<&'a str>,
    smoke_test: Readiness,
}

/// Runs `listhosts`.
pub(crate) async fn list(settings: &Settings, args: &ListArgs) -> anyhow::Result<()> {
    let printer = settings.printer();
    let clients = settings.clients().await?;
    let (_, vpc) = environment(settings, clients).await?;
    let mut found = clients.hosts(&vpc).await?;
    if let Some(h) = &args.hostclass {
        found.retain(|host| host.hostclass() == h);
    }
    hosts::sort_for_listing(&mut found);
    let columns = args.columns();
    // Image ages need the images: one call for all of them, and only when asked for.
    let mut created: BTreeMap<String, u64> = BTreeMap::new();
    if columns.ami_age && !found.is_empty() {
        let mut ids: Vec<String> = found.iter().map(|h| h.image_id.clone()).collect();
        ids.sort();
        ids.dedup();
        // Baked images carry their time in their name (`<hostclass> <epoch>`).
        for image in clients.images_by_id(&ids).await.unwrap_or_default() {
            if image.timestamp() > 0 {
                created.insert(image.id.clone(), image.timestamp());
            }
        }
    }
    let now = sila_core::epoch_seconds();
    let mut table = Table::new(hosts::listing_headers(&columns));
    for host in &found {
        table.row(hosts::listing_row(host, &columns, created.get(&host.image_id).copied(), now));
    }
    let views: Vec<HostView<'_>> = found
        .iter()
        .map(|host| HostView {
            host,
            hostclass: host.hostclass(),
            address: host.address(),
            preferred_private_ip: host.preferred_private_ip(),
            smoke_test: host.readiness(),
        })
        .collect();
    printer.print(&table, &views)?;
    Ok(())
}

/// Arguments of `gethostclassoption`.
#[derive(Debug, Args)]
pub struct OptionArgs {
    /// The hostclass
    #[arg(long, value_name = "HOSTCLASS")]
    pub hostclass: String,
    /// The option, e.g. meta_network
    #[arg(long, value_name = "OPTION")]
    pub option: String,
}

/// Runs `gethostclassoption`: exit 1 (and Asiaq's message) when the hostclass has no such option.
pub(crate) fn option(settings: &Settings, args: &OptionArgs) -> anyhow::Result<()> {
    let aws = settings.aws()?;
    let env = settings.optional_environment()?;
    let printer = settings.printer();
    match aws.hostclass_option(&args.hostclass, &args.option, env.as_deref()) {
        Some(found) => {
            #[derive(Serialize)]
            struct View<'a> {
                hostclass: &'a str,
                option: &'a str,
                value: &'a str,
                from: String,
            }
            let from = format!("{}:{} [{}] {}", aws.ini.path.display(), found.line, found.section, found.option);
            if printer.json() {
                printer.print_json(&View {
                    hostclass: &args.hostclass,
                    option: &args.option,
                    value: &found.value,
                    from,
                })?;
            } else {
                printer.line(&found.value)?;
            }
            Ok(())
        }
        None => {
            eprintln!("Hostclass {} doesn't have option {}.", args.hostclass, args.option);
            Err(Failure.into())
        }
    }
}

/// The selectors shared by `isready`, `stop` and `terminate`.
#[derive(Debug, Args)]
pub struct SelectorArgs {
    /// Instance id (repeatable)
    #[arg(long = "instance", value_name = "ID")]
    pub instances: Vec<String>,
    /// hostname tag (repeatable)
    #[arg(long = "hostname", value_name = "NAME")]
    pub hostnames: Vec<String>,
    /// Hostclass (repeatable)
    #[arg(long = "hostclass", value_name = "HOSTCLASS")]
    pub hostclasses: Vec<String>,
    /// Image id (repeatable)
    #[arg(long = "ami", value_name = "AMI")]
    pub amis: Vec<String>,
    /// Autoscaling group name (repeatable)
    #[arg(long = "asg", value_name = "GROUP")]
    pub groups: Vec<String>,
}

impl SelectorArgs {
    /// The selectors, which must be of exactly one kind (Asiaq's rule for commands that act on
    /// hosts), so that a typo cannot widen the selection.
    pub(crate) fn exactly_one_kind(&self) -> Result<Selectors, UsageError> {
        let selectors = self.selectors();
        if selectors.kinds() != 1 {
            return Err(UsageError(
                "give exactly one kind of selector: --instance, --hostname, --hostclass, --ami or --asg (each repeatable)"
                    .into(),
            ));
        }
        Ok(selectors)
    }

    pub(crate) fn selectors(&self) -> Selectors {
        Selectors {
            instances: self.instances.clone(),
            hostnames: self.hostnames.clone(),
            hostclasses: self.hostclasses.clone(),
            amis: self.amis.clone(),
            groups: self.groups.clone(),
        }
    }
}

/// Arguments of `isready`.
#[derive(Debug, Args)]
pub struct ReadyArgs {
    #[command(flatten)]
    pub select: SelectorArgs,
}

/// Runs `isready`.
pub(crate) async fn ready(settings: &Settings, args: &ReadyArgs) -> anyhow::Result<()> {
    let printer = settings.printer();
    let clients = settings.clients().await?;
    let (_, vpc) = environment(settings, clients).await?;
    let selectors = args.select.selectors();
    let mut found = clients.hosts(&vpc).await?;
    found.retain(|h| selectors.is_empty() || selectors.matches(h));
    hosts::sort_for_listing(&mut found);
    #[derive(Serialize)]
    struct View<'a> {
        instance: &'a str,
        hostclass: &'a str,
        smoke_test: Readiness,
    }
    let views: Vec<View<'_>> =
        found.iter().map(|h| View { instance: &h.id, hostclass: h.hostclass(), smoke_test: h.readiness() }).collect();
    let mut table = Table::new(["Instance", "Hostclass", "Smoke test"]);
    for v in &views {
        let said = match v.smoke_test {
            Readiness::Ready => "ready",
            Readiness::NotReady => "NOT ready",
            Readiness::Failed => "failed",
        };
        table.row([v.instance.to_string(), v.hostclass.to_string(), said.to_string()]);
    }
    printer.print(&table, &views)?;
    if found.is_empty() && !printer.json() {
        eprintln!("No instances found");
    }
    if views.iter().all(|v| v.smoke_test == Readiness::Ready) {
        Ok(())
    } else {
        Err(Failure.into())
    }
}

/// Arguments of `tag`.
#[derive(Debug, Args)]
pub struct TagArgs {
    /// Instance id (repeatable)
    #[arg(long = "instance", value_name = "ID", required = true)]
    pub instances: Vec<String>,
    /// Tag key
    #[arg(long, value_name = "KEY")]
    pub key: String,
    /// Tag value; without it the tag is removed
    #[arg(long, value_name = "VALUE")]
    pub value: Option<String>,
    /// Say what would change, and change nothing
    #[arg(long = "dry-run")]
    pub dry_run: bool,
}

/// Runs `tag`: only instances of the environment are tagged.
pub(crate) async fn tag(settings: &Settings, args: &TagArgs) -> anyhow::Result<()> {
    let clients = settings.clients().await?;
    let (env, vpc) = environment(settings, clients).await?;
    let known: Vec<String> = clients.hosts(&vpc).await?.into_iter().map(|h| h.id).collect();
    if let Some(stranger) = args.instances.iter().find(|i| !known.contains(i)) {
        return Err(UsageError(format!("--instance {stranger}: not an instance of environment {env}")).into());
    }
    let what = match &args.value {
        Some(v) => format!("tag {}={v}", args.key),
        None => format!("remove tag {}", args.key),
    };
    if !args.dry_run {
        clients.untag_resources(&args.instances, &[args.key.as_str()]).await?;
        if let Some(value) = &args.value {
            clients.tag_resources(&args.instances, &[(args.key.clone(), value.clone())]).await?;
        }
    }
    #[derive(Serialize)]
    struct View<'a> {
        instances: &'a [String],
        key: &'a str,
        value: Option<&'a str>,
        dry_run: bool,
    }
    let printer = settings.printer();
    if printer.json() {
        let view =
            View { instances: &args.instances, key: &args.key, value: args.value.as_deref(), dry_run: args.dry_run };
        printer.print_json(&view)?;
    } else if args.dry_run {
        printer.line(&format!("would {what} on {} (dry run: nothing changed)", args.instances.join(" ")))?;
    } else {
        printer.line(&format!("{what} on {}", args.instances.join(" ")))?;
    }
    Ok(())
}

/// Arguments of `stop` and `terminate`.
#[derive(Debug, Args)]
pub struct ActArgs {
    #[command(flatten)]
    pub select: SelectorArgs,
    /// List the hosts it would act on, and change nothing
    #[arg(long = "dry-run")]
    pub dry_run: bool,
}

/// What `act` does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Action {
    Stop,
    Terminate,
}

/// Runs `stop` or `terminate` on the selected hosts of the environment.
pub(crate) async fn act(settings: &Settings, args: &ActArgs, action: Action) -> anyhow::Result<()> {
    let selectors = args.select.exactly_one_kind()?;
    let printer = settings.printer();
    let clients = settings.clients().await?;
    let (env, vpc) = environment(settings, clients).await?;
    let chosen: Vec<Host> = clients.hosts(&vpc).await?.into_iter().filter(|h| selectors.matches(h)).collect();
    let ids: Vec<String> = chosen.iter().map(|h| h.id.clone()).collect();
    let verb = match action {
        Action::Stop => "Stopped",
        Action::Terminate => "Terminated",
    };
    #[derive(Serialize)]
    struct View<'a> {
        action: &'a str,
        environment: &'a str,
        instances: &'a [String],
        dry_run: bool,
    }
    if !args.dry_run {
        match action {
            Action::Stop => clients.stop_hosts(&ids).await?,
            Action::Terminate => clients.terminate_hosts(&vpc, &ids).await?,
        }
    }
    if printer.json() {
        printer.print_json(&View { action: verb, environment: &env, instances: &ids, dry_run: args.dry_run })?;
    } else if ids.is_empty() {
        eprintln!("No instances of {env} match");
    } else if args.dry_run {
        printer.line(&format!("Would be {}: {} (dry run: nothing changed)", verb.to_lowercase(), ids.join(" ")))?;
    } else {
        printer.line(&format!("{verb}: {}", ids.join(" ")))?;
    }
    Ok(())
}
