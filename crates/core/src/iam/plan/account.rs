//! What the account holds, as read before planning, and the steps that change it.

use crate::iam::spec::Owner;
use serde::Serialize;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

/// A group as it is in the account.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LiveGroup {
    /// Inline policies by name.
    pub policies: BTreeMap<String, Value>,
}

/// A role as it is in the account.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LiveRole {
    /// Its trust (assume-role) document.
    pub trust: Option<Value>,
    /// Inline policies by name.
    pub policies: BTreeMap<String, Value>,
    /// Whose it is, by its tags.
    pub owner: Owner,
}

/// A user as it is in the account.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LiveUser {
    /// The groups it is a member of.
    pub groups: BTreeSet<String>,
    /// Whose it is, by its tags.
    pub owner: Owner,
}

/// A SAML provider as it is in the account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveSamlProvider {
    /// Its ARN.
    pub arn: String,
    /// Its metadata document, when it was read.
    pub metadata: Option<String>,
}

impl LiveSamlProvider {
    /// The name: the part of the ARN after `saml-provider/`.
    pub fn name(&self) -> &str {
        self.arn.rsplit_once("saml-provider/").map_or(self.arn.as_str(), |(_, name)| name)
    }
}

/// The account as read before planning.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LiveIam {
    /// The account id.
    pub account_id: String,
    /// The ARN partition (`aws`, `aws-cn`, `aws-us-gov`).
    pub partition: String,
    /// Groups by name.
    pub groups: BTreeMap<String, LiveGroup>,
    /// Roles by name.
    pub roles: BTreeMap<String, LiveRole>,
    /// Instance profiles by name, with the roles in each.
    pub profiles: BTreeMap<String, Vec<String>>,
    /// Users by name.
    pub users: BTreeMap<String, LiveUser>,
    /// SAML providers.
    pub saml_providers: Vec<LiveSamlProvider>,
}

/// One change to the account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum IamStep {
    /// Create the SAML provider.
    CreateSamlProvider {
        /// The provider's name.
        name: String,
        /// Its SAML metadata document (never printed).
        #[serde(skip)]
        metadata: String,
    },
    /// Replace the SAML provider's metadata.
    UpdateSamlProvider {
        /// The provider's ARN.
        arn: String,
        /// Its SAML metadata document (never printed).
        #[serde(skip)]
        metadata: String,
    },
    /// Create a group.
    CreateGroup {
        /// The group.
        group: String,
    },
    /// Create or replace a group's inline policy.
    PutGroupPolicy {
        /// The group.
        group: String,
        /// The inline policy's name.
        policy: String,
        /// The policy document, compact JSON.
        document: String,
    },
    /// Delete a group's inline policy.
    DeleteGroupPolicy {
        /// The group.
        group: String,
        /// The inline policy's name.
        policy: String,
    },
    /// Create a user, tagged as the sync of `account_environment`'s.
    CreateUser {
        /// The user.
        user: String,
        /// The account environment it is tagged with.
        account_environment: String,
    },
    /// Tag an existing user as the sync of `account_environment`'s.
    TagUser {
        /// The user.
        user: String,
        /// The account environment it is tagged with.
        account_environment: String,
    },
    /// Add a user to a group.
    AddUserToGroup {
        /// The user.
        user: String,
        /// The group.
        group: String,
    },
    /// Remove a user from a group.
    RemoveUserFromGroup {
        /// The user.
        user: String,
        /// The group.
        group: String,
    },
    /// Create a role with its trust document, tagged as the sync of `account_environment`'s when
    /// its name is that environment's (not for naked and instance roles, which have no environment).
    CreateRole {
        /// The role.
        role: String,
        /// The trust document, compact JSON.
        trust: String,
        /// The account environment it is tagged with.
        #[serde(skip_serializing_if = "Option::is_none")]
        account_environment: Option<String>,
    },
    /// Tag an existing role as the sync of `account_environment`'s.
    TagRole {
        /// The role.
        role: String,
        /// The account environment it is tagged with.
        account_environment: String,
    },
    /// Replace a role's trust document.
    UpdateTrust {
        /// The role.
        role: String,
        /// The trust document, compact JSON.
        trust: String,
    },
    /// Create or replace a role's inline policy.
    PutRolePolicy {
        /// The role.
        role: String,
        /// The inline policy's name.
        policy: String,
        /// The policy document, compact JSON.
        document: String,
    },
    /// Delete a role's inline policy.
    DeleteRolePolicy {
        /// The role.
        role: String,
        /// The inline policy's name.
        policy: String,
    },
    /// Create an instance profile.
    CreateInstanceProfile {
        /// The instance profile.
        profile: String,
    },
    /// Put a role into an instance profile.
    AddRoleToInstanceProfile {
        /// The instance profile.
        profile: String,
        /// The role.
        role: String,
    },
    /// Take a role out of an instance profile.
    RemoveRoleFromInstanceProfile {
        /// The instance profile.
        profile: String,
        /// The role.
        role: String,
    },
    /// Delete a user with its keys, password, certificates, MFA devices and policies.
    DeleteUser {
        /// The user.
        user: String,
    },
    /// Delete a group, its members and policies first.
    DeleteGroup {
        /// The group.
        group: String,
    },
    /// Delete a role, its policies and instance-profile memberships first; `profiles` are deleted too.
    DeleteRole {
        /// The role.
        role: String,
        /// The instance profiles it is taken out of first.
        profiles: Vec<String>,
    },
    /// Delete an instance profile that holds no role of the sync.
    DeleteInstanceProfile {
        /// The instance profile.
        profile: String,
    },
}

impl IamStep {
    /// The level the step runs at: what it needs exists after the levels before it.
    pub(super) fn level(&self) -> usize {
        use IamStep::*;
        match self {
            CreateSamlProvider { .. }
            | UpdateSamlProvider { .. }
            | CreateGroup { .. }
            | CreateUser { .. }
            | TagUser { .. }
            | TagRole { .. }
            | CreateInstanceProfile { .. } => 1,
            CreateRole { .. }
            | UpdateTrust { .. }
            | PutGroupPolicy { .. }
            | DeleteGroupPolicy { .. }
            | AddUserToGroup { .. }
            | RemoveUserFromGroup { .. }
            | RemoveRoleFromInstanceProfile { .. } => 2,
            PutRolePolicy { .. } | DeleteRolePolicy { .. } | AddRoleToInstanceProfile { .. } => 3,
            DeleteUser { .. } | DeleteInstanceProfile { .. } => 4,
            DeleteGroup { .. } | DeleteRole { .. } => 5,
        }
    }
}

impl fmt::Display for IamStep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use IamStep::*;
        match self {
            CreateSamlProvider { name, .. } => write!(f, "create SAML provider {name}"),
            UpdateSamlProvider { arn, .. } => write!(f, "update the metadata of SAML provider {arn}"),
            CreateGroup { group } => write!(f, "create group {group}"),
            PutGroupPolicy { group, policy, .. } => write!(f, "put policy {policy} on group {group}"),
            DeleteGroupPolicy { group, policy } => write!(f, "delete policy {policy} of group {group}"),
            CreateUser { user, .. } => write!(f, "create user {user}"),
            TagUser { user, account_environment } => {
                write!(f, "tag user {user} as managed by sila-iam for {account_environment}")
            }
            TagRole { role, account_environment } => {
                write!(f, "tag role {role} as managed by sila-iam for {account_environment}")
            }
            AddUserToGroup { user, group } => write!(f, "add user {user} to group {group}"),
            RemoveUserFromGroup { user, group } => write!(f, "remove user {user} from group {group}"),
            CreateRole { role, .. } => write!(f, "create role {role}"),
            UpdateTrust { role, .. } => write!(f, "replace the trust document of role {role}"),
            PutRolePolicy { role, policy, .. } => write!(f, "put policy {policy} on role {role}"),
            DeleteRolePolicy { role, policy } => write!(f, "delete policy {policy} of role {role}"),
            CreateInstanceProfile { profile } => write!(f, "create instance profile {profile}"),
            AddRoleToInstanceProfile { profile, role } => write!(f, "add role {role} to instance profile {profile}"),
            RemoveRoleFromInstanceProfile { profile, role } => {
                write!(f, "remove role {role} from instance profile {profile}")
            }
            DeleteUser { user } => write!(f, "delete user {user}"),
            DeleteGroup { group } => write!(f, "delete group {group}"),
            DeleteRole { role, profiles } if profiles.is_empty() => write!(f, "delete role {role}"),
            DeleteRole { role, profiles } => {
                write!(f, "delete role {role} and instance profile {}", profiles.join(", "))
            }
            DeleteInstanceProfile { profile } => write!(f, "delete instance profile {profile}"),
        }
    }
}
