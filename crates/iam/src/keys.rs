//! Access-key rotation: create, activate, deactivate, remove.

use clap::Args;
use sila_cli::Settings;

/// Arguments of `createkey`.
#[derive(Debug, Args)]
pub struct CreateKeyArgs {
    /// The user
    #[arg(long = "user-name", alias = "user_name", value_name = "USER")]
    pub user: String,
    /// Say what would be done and change nothing
    #[arg(long)]
    pub dry_run: bool,
}

/// Arguments of `activatekey`, `deactivatekey` and `removekey`.
#[derive(Debug, Args)]
pub struct KeyArgs {
    /// The user
    #[arg(long = "user-name", alias = "user_name", value_name = "USER")]
    pub user: String,
    /// The access key id
    #[arg(long = "access-key-id", alias = "access_key_id", value_name = "KEY_ID")]
    pub key: String,
    /// Say what would be done and change nothing
    #[arg(long)]
    pub dry_run: bool,
}

/// Prints what a key command did (or would do), as a line or as JSON.
fn report(settings: &Settings, dry_run: bool, action: &str, user: &str, key: &str) -> anyhow::Result<()> {
    let printer = settings.printer();
    if printer.json() {
        printer.print_json(
            &serde_json::json!({"action": action, "user": user, "access_key_id": key, "dry_run": dry_run}),
        )?;
    } else {
        let prefix = if dry_run { "would " } else { "" };
        let verb = match (dry_run, action) {
            (true, a) => a.to_string(),
            (false, "activate") => "activated".into(),
            (false, "deactivate") => "deactivated".into(),
            (false, _) => "removed".into(),
        };
        printer.line(&format!("{prefix}{verb} access key {key} of user {user}"))?;
    }
    Ok(())
}

/// `createkey`: the secret goes to stdout once, in Asiaq's `[Credentials]` block (or JSON), and
/// nowhere else (not to the log).
pub async fn create(settings: &Settings, args: &CreateKeyArgs) -> anyhow::Result<()> {
    let clients = settings.clients().await?;
    if args.dry_run {
        // Read the keys so a dry run finds a missing user or a user already at two keys.
        let keys = clients.access_keys(&args.user).await?;
        return report(settings, true, &format!("create a key ({} exist)", keys.len()), &args.user, "(new)");
    }
    let key = clients.create_access_key(&args.user).await?;
    let printer = settings.printer();
    if printer.json() {
        printer.print_json(&key)?;
    } else {
        printer.line(&format!(
            "[Credentials]\naws_access_key_id = {}\naws_secret_access_key = {}",
            key.access_key_id, key.secret_access_key
        ))?;
    }
    Ok(())
}

/// `activatekey` / `deactivatekey`.
pub async fn set_active(settings: &Settings, args: &KeyArgs, active: bool) -> anyhow::Result<()> {
    let clients = settings.clients().await?;
    let action = if active { "activate" } else { "deactivate" };
    if args.dry_run {
        ensure_key(clients, args).await?;
    } else {
        clients.set_access_key_active(&args.user, &args.key, active).await?;
    }
    report(settings, args.dry_run, action, &args.user, &args.key)
}

/// `removekey`.
pub async fn remove(settings: &Settings, args: &KeyArgs) -> anyhow::Result<()> {
    let clients = settings.clients().await?;
    if args.dry_run {
        ensure_key(clients, args).await?;
    } else {
        clients.delete_access_key(&args.user, &args.key).await?;
    }
    report(settings, args.dry_run, "remove", &args.user, &args.key)
}

/// A dry run still checks that the key exists, so it fails where the real run would.
async fn ensure_key(clients: &sila_cloud::Clients, args: &KeyArgs) -> anyhow::Result<()> {
    let keys = clients.access_keys(&args.user).await?;
    if !keys.iter().any(|k| k.access_key_id == args.key) {
        anyhow::bail!("user {} has no access key {}", args.user, args.key);
    }
    Ok(())
}
