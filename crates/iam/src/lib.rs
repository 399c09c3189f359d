//! sila-iam: IAM groups, roles, instance profiles and users from the `iam/` policy directory, synced
//! plan first and only within what Sila owns; listings and access-key rotation.

mod keys;
mod listing;
mod sync;

use clap::{Parser, Subcommand};
use sila_cli::GlobalArgs;

/// Sync IAM from the iam/ policy directory, list IAM, rotate access keys.
///
/// `update --environment E` makes the account match iam/ for account environment E (dev, prod, ...):
/// groups `disco_<policy>` from iam/user_policies, roles `<role_prefix>_<E>_<policy>`, instance roles
/// and profiles `instance_<policy>` from iam/instance_policies, users and memberships from
/// iam/group_membership/E. Anything else in the account is left alone.
///
/// Exit status: 0 success, 1 failure (configuration, input or AWS), 2 bad usage or refused plan.
#[derive(Debug, Parser)]
#[command(name = "sila-iam", version, arg_required_else_help = true, after_help = sila_cli::INTERRUPTED_HELP)]
pub struct Cli {
    /// The options every tool shares.
    #[command(flatten)]
    pub global: GlobalArgs,

    /// The command to run.
    #[command(subcommand)]
    pub command: Command,
}

/// The sub-commands (Asiaq's names).
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Sync the account with iam/ for an account environment: print the plan, then apply it.
    /// Deleting what the config dropped needs --allow-destructive.
    Update(sync::UpdateArgs),
    /// List users with their groups.
    #[command(name = "listusers")]
    ListUsers,
    /// List groups.
    #[command(name = "listgroups")]
    ListGroups,
    /// List the inline policies of a group.
    #[command(name = "listgrouppolicies")]
    ListGroupPolicies(listing::GroupArgs),
    /// Print an inline policy of a group.
    #[command(name = "getgrouppolicy")]
    GetGroupPolicy(listing::GroupPolicyArgs),
    /// List the groups of a user.
    #[command(name = "listusergroups")]
    ListUserGroups(listing::UserArgs),
    /// List roles (with --federation: whether each is federated).
    #[command(name = "listroles")]
    ListRoles(listing::RolesArgs),
    /// List the inline policies of a role.
    #[command(name = "listrolepolicies")]
    ListRolePolicies(listing::RoleArgs),
    /// List instance profiles with their roles.
    #[command(name = "listinstanceprofiles")]
    ListInstanceProfiles,
    /// List the SAML providers' ARNs.
    #[command(name = "listproviders")]
    ListProviders,
    /// List a user's access keys.
    #[command(name = "listkeys")]
    ListKeys(listing::UserArgs),
    /// Create an access key for a user; the secret is printed once, on stdout only.
    #[command(name = "createkey")]
    CreateKey(keys::CreateKeyArgs),
    /// Activate an access key.
    #[command(name = "activatekey")]
    ActivateKey(keys::KeyArgs),
    /// Deactivate an access key.
    #[command(name = "deactivatekey")]
    DeactivateKey(keys::KeyArgs),
    /// Delete an access key.
    #[command(name = "removekey")]
    RemoveKey(keys::KeyArgs),
    /// Decode an encoded authorization-failure message (STS DecodeAuthorizationMessage).
    Decode(listing::DecodeArgs),
}

/// Runs the parsed command line.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let settings = &sila_cli::Settings::load(&cli.global);
    match &cli.command {
        Command::Update(args) => sync::run(settings, args).await,
        Command::ListUsers => listing::users(settings).await,
        Command::ListGroups => listing::groups(settings).await,
        Command::ListGroupPolicies(args) => listing::group_policies(settings, args).await,
        Command::GetGroupPolicy(args) => listing::group_policy(settings, args).await,
        Command::ListUserGroups(args) => listing::user_groups(settings, args).await,
        Command::ListRoles(args) => listing::roles(settings, args).await,
        Command::ListRolePolicies(args) => listing::role_policies(settings, args).await,
        Command::ListInstanceProfiles => listing::instance_profiles(settings).await,
        Command::ListProviders => listing::providers(settings).await,
        Command::ListKeys(args) => listing::keys(settings, args).await,
        Command::CreateKey(args) => keys::create(settings, args).await,
        Command::ActivateKey(args) => keys::set_active(settings, args, true).await,
        Command::DeactivateKey(args) => keys::set_active(settings, args, false).await,
        Command::RemoveKey(args) => keys::remove(settings, args).await,
        Command::Decode(args) => listing::decode(settings, args).await,
    }
}
