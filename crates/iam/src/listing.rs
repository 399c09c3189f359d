//! The read-only commands: users, groups, roles, profiles, providers, keys, and `decode`.

use clap::Args;
use serde_json::Value;
use sila_cli::{Settings, Table};

/// `--group-name G`.
#[derive(Debug, Args)]
pub struct GroupArgs {
    /// The group
    #[arg(long = "group-name", alias = "group_name", value_name = "GROUP")]
    pub group: String,
}

/// `--group-name G --policy-name P`.
#[derive(Debug, Args)]
pub struct GroupPolicyArgs {
    /// The group
    #[arg(long = "group-name", alias = "group_name", value_name = "GROUP")]
    pub group: String,
    /// The inline policy
    #[arg(long = "policy-name", alias = "policy_name", value_name = "POLICY")]
    pub policy: String,
}

/// `--user-name U`.
#[derive(Debug, Args)]
pub struct UserArgs {
    /// The user
    #[arg(long = "user-name", alias = "user_name", value_name = "USER")]
    pub user: String,
}

/// `--role-name R`.
#[derive(Debug, Args)]
pub struct RoleArgs {
    /// The role
    #[arg(long = "role-name", alias = "role_name", value_name = "ROLE")]
    pub role: String,
}

/// Arguments of `listroles`.
#[derive(Debug, Args)]
pub struct RolesArgs {
    /// Add a column saying whether each role is federated (trusts a SAML provider)
    #[arg(long)]
    pub federation: bool,
}

/// Arguments of `decode`.
#[derive(Debug, Args)]
pub struct DecodeArgs {
    /// The encoded message from an "encoded authorization failure message" error
    #[arg(long, value_name = "MESSAGE")]
    pub message: String,
}

/// A one-column listing.
fn names(settings: &Settings, header: &str, names: &[String]) -> anyhow::Result<()> {
    let mut table = Table::new([header]);
    names.iter().for_each(|n| table.row([n.as_str()]));
    settings.printer().print(&table, names)?;
    Ok(())
}

/// `listusers`: `USER  GROUPS`.
pub async fn users(settings: &Settings) -> anyhow::Result<()> {
    let rows = settings.clients().await?.iam_users().await?;
    let mut table = Table::new(["USER", "GROUPS"]);
    rows.iter().for_each(|r| table.row([r.user.clone(), r.groups.join(",")]));
    settings.printer().print(&table, &rows)?;
    Ok(())
}

/// `listgroups`.
pub async fn groups(settings: &Settings) -> anyhow::Result<()> {
    names(settings, "GROUP", &settings.clients().await?.iam_groups().await?)
}

/// `listgrouppolicies`.
pub async fn group_policies(settings: &Settings, args: &GroupArgs) -> anyhow::Result<()> {
    names(settings, "POLICY", &settings.clients().await?.group_policy_names(&args.group).await?)
}

/// `getgrouppolicy`: the decoded document, pretty-printed (JSON either way).
pub async fn group_policy(settings: &Settings, args: &GroupPolicyArgs) -> anyhow::Result<()> {
    let document = settings.clients().await?.group_policy(&args.group, &args.policy).await?;
    settings.printer().print_json(&document)?;
    Ok(())
}

/// `listusergroups`.
pub async fn user_groups(settings: &Settings, args: &UserArgs) -> anyhow::Result<()> {
    names(settings, "GROUP", &settings.clients().await?.user_groups(&args.user).await?)
}

/// `listroles [--federation]`.
pub async fn roles(settings: &Settings, args: &RolesArgs) -> anyhow::Result<()> {
    let rows = settings.clients().await?.iam_roles().await?;
    let mut table = Table::new(if args.federation { vec!["ROLE", "TRUST"] } else { vec!["ROLE"] });
    for r in &rows {
        let trust = if r.federated { "federated" } else { "unfederated" };
        table.row(if args.federation { vec![r.role.as_str(), trust] } else { vec![r.role.as_str()] });
    }
    settings.printer().print(&table, &rows)?;
    Ok(())
}

/// `listrolepolicies`.
pub async fn role_policies(settings: &Settings, args: &RoleArgs) -> anyhow::Result<()> {
    names(settings, "POLICY", &settings.clients().await?.role_policy_names(&args.role).await?)
}

/// `listinstanceprofiles`: `PROFILE  ROLES`.
pub async fn instance_profiles(settings: &Settings) -> anyhow::Result<()> {
    let rows = settings.clients().await?.instance_profiles().await?;
    let mut table = Table::new(["PROFILE", "ROLES"]);
    rows.iter().for_each(|r| table.row([r.profile.clone(), r.roles.join(",")]));
    settings.printer().print(&table, &rows)?;
    Ok(())
}

/// `listproviders`.
pub async fn providers(settings: &Settings) -> anyhow::Result<()> {
    names(settings, "SAML PROVIDER", &settings.clients().await?.saml_provider_arns().await?)
}

/// `listkeys`: `USER  ACCESS KEY ID  STATUS  CREATED`.
pub async fn keys(settings: &Settings, args: &UserArgs) -> anyhow::Result<()> {
    let rows = settings.clients().await?.access_keys(&args.user).await?;
    let mut table = Table::new(["USER", "ACCESS KEY ID", "STATUS", "CREATED"]);
    for k in &rows {
        table.row([k.user.clone(), k.access_key_id.clone(), k.status.clone(), k.created.clone()]);
    }
    settings.printer().print(&table, &rows)?;
    Ok(())
}

/// `decode`: the decoded message is JSON; print it pretty (as is when it is not).
pub async fn decode(settings: &Settings, args: &DecodeArgs) -> anyhow::Result<()> {
    let decoded = settings.clients().await?.decode_authorization_message(&args.message).await?;
    let printer = settings.printer();
    match serde_json::from_str::<Value>(&decoded) {
        Ok(value) => printer.print_json(&value)?,
        Err(_) if printer.json() => printer.print_json(&Value::String(decoded))?,
        Err(_) => printer.line(&decoded)?,
    }
    Ok(())
}
