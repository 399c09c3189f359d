//! `update --environment E`: validate iam/, check the account, read it, plan, print, apply.

use anyhow::Context as _;
use clap::Args;
use serde::Serialize;
use sila_cli::converge::{self, Decision, Mode};
use sila_cli::Settings;
use sila_cloud::iam::Caller;
use sila_cloud::Clients;
use sila_core::config::ConfigDir;
use sila_core::iam::plan::{plan_sync, IamPlan};
use sila_core::iam::spec::{IamSpec, SamlSpec};
use std::time::Instant;

/// IAM calls in flight at once. IAM's limits are account-wide and cannot be raised, so the sync
/// stays modest; the SDK's backoff handles the rest.
const CONCURRENCY: usize = 8;

/// Arguments of `update`.
#[derive(Debug, Args)]
pub struct UpdateArgs {
    /// Account environment: selects iam/group_membership/<E>/ and `@E` options of [iam]
    #[arg(long, value_name = "E")]
    pub environment: String,
    /// Print the plan and change nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Allow deleting users, groups, roles and instance profiles the config dropped (without it, a
    /// plan with such steps is refused and nothing is changed)
    #[arg(long)]
    pub allow_destructive: bool,
}

#[derive(Serialize)]
struct Report<'a> {
    account_id: &'a str,
    account_environment: &'a str,
    /// False when no `account_id@E` confirmed that the credentials are for the right account.
    account_checked: bool,
    dry_run: bool,
    applied: bool,
    plan: &'a IamPlan,
}

/// `sila-iam update`.
pub async fn run(settings: &Settings, args: &UpdateArgs) -> anyhow::Result<()> {
    let started = Instant::now();
    // Everything local first: a bad file stops the sync before the first AWS call.
    let (dir, aws) = (&settings.config_dir, settings.optional_aws()?);
    let spec = IamSpec::load(dir, aws, &args.environment).map_err(|d| anyhow::anyhow!("{d}"))?;
    for warning in &spec.warnings {
        eprintln!("{warning}");
    }
    let metadata = match &spec.saml {
        Some(saml) => Some(saml_metadata(dir, saml).await?),
        None => None,
    };

    let clients = settings.clients().await?;
    let caller = clients.caller().await?;
    check_account(&spec, aws, &caller)?;
    let live = clients.read_iam(&caller, spec.saml.as_ref().map(|s| s.name.as_str())).await?;
    let plan = plan_sync(&spec, &live, metadata.as_deref()).map_err(anyhow::Error::msg)?;

    let printer = settings.printer();
    if !printer.json() {
        printer.line(&render(&spec, &caller.account, &plan))?;
        if spec.account_id.is_none() {
            // Once more after a long plan, where it is read.
            eprintln!("{}", unchecked_warning(&spec, &caller));
        }
    }
    let destructive: Vec<String> = plan.changes.destructive().iter().map(|s| s.step.to_string()).collect();
    let mut report = Report {
        account_id: &caller.account,
        account_environment: &spec.account_env,
        account_checked: spec.account_id.is_some(),
        dry_run: args.dry_run,
        applied: false,
        plan: &plan,
    };
    let decision =
        Mode { dry_run: args.dry_run, allow_destructive: args.allow_destructive }.decide(plan.is_empty(), &destructive);
    if !matches!(decision, Decision::Apply) {
        if printer.json() {
            printer.print_json(&report)?;
        }
        return decision.stop();
    }
    apply(clients, &plan).await?;
    report.applied = true;
    if printer.json() {
        printer.print_json(&report)?;
    } else {
        printer.line(&format!(
            "synced account {} for {} in {:.1}s: {} change(s)",
            caller.account,
            spec.account_env,
            started.elapsed().as_secs_f64(),
            plan.changes.steps.len()
        ))?;
    }
    Ok(())
}

/// Refuses to touch an account other than the one configured for the environment; without one
/// configured, says loudly which account is being changed.
fn check_account(spec: &IamSpec, aws: Option<&sila_core::config::AwsConfig>, caller: &Caller) -> anyhow::Result<()> {
    let account = &caller.account;
    match &spec.account_id {
        Some(expected) if expected != account => {
            let at = aws
                .and_then(|a| {
                    let r = a.iam_option("account_id", Some(&spec.account_env))?;
                    Some(format!("{}:{}: [iam] {}", a.ini.path.display(), r.line, r.option))
                })
                .unwrap_or_else(|| "[iam] account_id".to_string());
            anyhow::bail!(
                "refusing to sync: the credentials are for account {account}, but {at} says {} is account {expected}; nothing was changed",
                spec.account_env
            )
        }
        Some(_) => Ok(()),
        None => {
            eprintln!("{}", unchecked_warning(spec, caller));
            Ok(())
        }
    }
}

/// What is said when nothing confirms the account: which account, whose credentials, and how to pin it.
fn unchecked_warning(spec: &IamSpec, caller: &Caller) -> String {
    let env = &spec.account_env;
    format!(
        "sila-iam: WARNING: syncing account {} as account environment {env}, unchecked: no [iam] account_id@{env} (or account_id) says which account {env} is; credentials: {}; set account_id@{env} = {} in [iam] if that is right",
        caller.account, caller.arn, caller.account
    )
}

/// The SAML metadata document: downloaded from an `http(s)://` URL, else read from a file (relative
/// to the config dir).
async fn saml_metadata(dir: &ConfigDir, saml: &SamlSpec) -> anyhow::Result<String> {
    let url = saml.url.clone();
    if url.starts_with("http://") || url.starts_with("https://") {
        let fetched = tokio::task::spawn_blocking(move || {
            let agent = ureq::AgentBuilder::new().timeout(std::time::Duration::from_secs(30)).build();
            agent.get(&url).call().map_err(|e| e.to_string())?.into_string().map_err(|e| e.to_string())
        })
        .await?;
        return fetched.map_err(|e| anyhow::anyhow!("[iam] saml_provider_url {}: {e}", saml.url));
    }
    let path = dir.resolve(url.strip_prefix("file://").unwrap_or(&url));
    std::fs::read_to_string(&path).with_context(|| format!("[iam] saml_provider_url {}", path.display()))
}

/// Applies the plan on the shared runner: each step once the steps of the kind-level before it are
/// done; a failure stops new steps and lists what failed (a rerun picks up where this one stopped).
async fn apply(clients: &Clients, plan: &IamPlan) -> anyhow::Result<()> {
    converge::apply(&plan.changes, CONCURRENCY, ToString::to_string, |s| clients.run_iam_step(&s.step)).await.map_err(
        |failed| {
            anyhow::anyhow!(
                "{failed}\nhint: `sila-iam update` again completes the sync (finished steps are not repeated)"
            )
        },
    )?;
    Ok(())
}

/// The plan as people read it: `+` adds or changes, `!` deletes what the config dropped.
fn render(spec: &IamSpec, account: &str, plan: &IamPlan) -> String {
    let env = &spec.account_env;
    let mut out = match spec.account_id {
        Some(_) => format!("IAM of account {account} for account environment {env}\n"),
        None => {
            format!("IAM of account {account} (unchecked: no [iam] account_id@{env}) for account environment {env}\n")
        }
    };
    out.push_str(&plan.changes.render(ToString::to_string));
    let u = &plan.unmanaged;
    if !u.users.is_empty() {
        out.push_str(&format!(
            "unmanaged users (never created, tagged or deleted; taken out of groups only with --allow-destructive): {}\n",
            u.users.join(", ")
        ));
    }
    if !u.other_environments_users.is_empty() {
        let users: Vec<String> =
            u.other_environments_users.iter().map(|(user, env)| format!("{user} ({env})")).collect();
        out.push_str(&format!("users of other account environments (left alone): {}\n", users.join(", ")));
    }
    for (kind, names) in [("groups", &u.groups), ("roles", &u.roles), ("instance profiles", &u.instance_profiles)] {
        if !names.is_empty() {
            out.push_str(&format!("unmanaged {kind} (left alone): {}\n", names.join(", ")));
        }
    }
    for note in &plan.changes.notes {
        out.push_str(&format!("note: {note}\n"));
    }
    out.trim_end().to_string()
}
