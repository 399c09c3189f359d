//! IAM: reading the account in a few calls, running the steps of a sync plan (with IAM's eventual
//! consistency waited out), listings and access keys.

use crate::error::Classify as _;
use crate::error::{CloudError, ErrorKind};
use crate::finders::{gone, paginated};
use crate::Clients;
use aws_sdk_iam::types::{EntityType, Tag};
use serde::Serialize;
use serde_json::Value;
use sila_core::iam::plan::{is_federated, IamStep, LiveGroup, LiveIam, LiveRole, LiveSamlProvider, LiveUser};
use sila_core::iam::spec::Owner;
use std::future::Future;
use std::time::{Duration, Instant};

/// How long a call that names something just created is retried while IAM propagates it. AWS says
/// changes are "eventually consistent"; Control Tower waits 65 s after creating roles.
const PROPAGATION: Duration = Duration::from_secs(90);

/// Who the credentials belong to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Caller {
    /// The account id.
    pub account: String,
    /// The caller's ARN.
    pub arn: String,
}

impl Caller {
    /// The ARN partition (`aws`, `aws-cn`, `aws-us-gov`), `aws` when the ARN does not say.
    pub fn partition(&self) -> String {
        self.arn.split(':').nth(1).filter(|p| !p.is_empty()).unwrap_or("aws").to_string()
    }
}

/// A user and the groups it belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UserRow {
    /// User name.
    pub user: String,
    /// Its groups, sorted.
    pub groups: Vec<String>,
}

/// A role and whether it is federated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RoleRow {
    /// Role name.
    pub role: String,
    /// Its ARN.
    pub arn: String,
    /// True when its trust's first statement names a federated principal.
    pub federated: bool,
}

/// An instance profile and its roles.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProfileRow {
    /// Profile name.
    pub profile: String,
    /// Its ARN.
    pub arn: String,
    /// The roles in it.
    pub roles: Vec<String>,
}

/// Parses a policy document as IAM returns it: URL-encoded JSON (or plain JSON, which some
/// endpoints send).
pub fn decode_document(text: &str) -> Option<Value> {
    if let Ok(value) = serde_json::from_str(text) {
        return Some(value);
    }
    let decoded = percent_encoding::percent_decode_str(text).decode_utf8().ok()?;
    serde_json::from_str(&decoded).ok()
}

fn iso(date: Option<&aws_smithy_types::DateTime>) -> String {
    date.and_then(|d| d.fmt(aws_smithy_types::date_time::Format::DateTime).ok()).unwrap_or_default()
}

/// True for errors that mean "not visible yet": the entity a call names was created moments ago.
fn propagating(e: &CloudError) -> bool {
    e.kind == ErrorKind::NotFound
        || (e.code.as_deref() == Some("MalformedPolicyDocument")
            && e.message.to_ascii_lowercase().contains("principal"))
}

/// Runs `call` until it succeeds, fails for another reason than propagation, or [`PROPAGATION`] has
/// passed, backing off from 0.25 s to 8 s.
async fn settled<T, F, Fut>(what: &str, mut call: F) -> Result<T, CloudError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, CloudError>>,
{
    let deadline = Instant::now() + PROPAGATION;
    let mut delay = Duration::from_millis(250);
    loop {
        match call().await {
            Err(e) if propagating(&e) && Instant::now() + delay < deadline => {
                tracing::info!("{what}: not visible to IAM yet ({e}); retrying in {:.1}s", delay.as_secs_f64());
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(8));
            }
            other => return other,
        }
    }
}

/// A creation that finds its target already there has done its job.
fn exists_ok<T>(result: Result<T, CloudError>) -> Result<(), CloudError> {
    match result {
        Err(e) if e.kind != ErrorKind::AlreadyExists => Err(e),
        _ => Ok(()),
    }
}

/// The tags that make a user or role the sync of account environment `env`'s.
fn owner_tags(env: &str) -> Vec<Tag> {
    Owner::tags(env)
        .into_iter()
        .map(|(key, value)| Tag::builder().key(key).value(value).build().expect("tag with key and value"))
        .collect()
}

fn owner(tags: &[Tag]) -> Owner {
    Owner::from_tags(tags.iter().map(|t| (t.key(), t.value())))
}

macro_rules! call {
    ($request:expr, $op:literal) => {
        $request.send().await.map_err(|e| CloudError::from_sdk($op, &e))
    };
}

mod keys;

pub use keys::{KeyRow, NewKey};

impl Clients {
    /// Who the credentials belong to (STS GetCallerIdentity).
    pub async fn caller(&self) -> Result<Caller, CloudError> {
        let out = call!(self.sts.get_caller_identity(), "GetCallerIdentity")?;
        Ok(Caller { account: out.account.unwrap_or_default(), arn: out.arn.unwrap_or_default() })
    }

    /// Reads everything a sync compares: users (with groups and tags), groups and roles (with inline
    /// policies and trust) in one paginated GetAccountAuthorizationDetails, instance profiles, and the
    /// SAML providers (the metadata of `saml_name` only).
    pub async fn read_iam(&self, caller: &Caller, saml_name: Option<&str>) -> Result<LiveIam, CloudError> {
        let details = async {
            let request = self
                .iam
                .get_account_authorization_details()
                .filter(EntityType::User)
                .filter(EntityType::Group)
                .filter(EntityType::Role);
            let pages: Vec<_> =
                request.into_paginator().send().try_collect().await.classify("GetAccountAuthorizationDetails")?;
            Ok::<_, CloudError>(pages)
        };
        let profiles = async { self.instance_profiles().await };
        let providers = async {
            let out = call!(self.iam.list_saml_providers(), "ListSAMLProviders")?;
            let mut providers = Vec::new();
            for entry in out.saml_provider_list() {
                let arn = entry.arn().unwrap_or_default().to_string();
                let mut provider = LiveSamlProvider { arn: arn.clone(), metadata: None };
                if saml_name.is_some_and(|name| provider.name() == name) {
                    let got = call!(self.iam.get_saml_provider().saml_provider_arn(&arn), "GetSAMLProvider")?;
                    provider.metadata = got.saml_metadata_document().map(str::to_string);
                }
                providers.push(provider);
            }
            Ok::<_, CloudError>(providers)
        };
        let (pages, profiles, saml_providers) = tokio::try_join!(details, profiles, providers)?;
        let mut live = LiveIam {
            account_id: caller.account.clone(),
            partition: caller.partition(),
            saml_providers,
            profiles: profiles.into_iter().map(|p| (p.profile, p.roles)).collect(),
            ..LiveIam::default()
        };
        let policies = |list: &[aws_sdk_iam::types::PolicyDetail]| {
            list.iter()
                .filter_map(|p| Some((p.policy_name()?.to_string(), decode_document(p.policy_document()?)?)))
                .collect()
        };
        for page in &pages {
            for u in page.user_detail_list() {
                let groups = u.group_list().iter().cloned().collect();
                live.users
                    .insert(u.user_name().unwrap_or_default().to_string(), LiveUser { groups, owner: owner(u.tags()) });
            }
            for g in page.group_detail_list() {
                let group = LiveGroup { policies: policies(g.group_policy_list()) };
                live.groups.insert(g.group_name().unwrap_or_default().to_string(), group);
            }
            for r in page.role_detail_list() {
                let role = LiveRole {
                    trust: r.assume_role_policy_document().and_then(decode_document),
                    policies: policies(r.role_policy_list()),
                    owner: owner(r.tags()),
                };
                live.roles.insert(r.role_name().unwrap_or_default().to_string(), role);
            }
        }
        Ok(live)
    }

    /// Runs one step of a sync plan. Creations that find their target already there, and deletions
    /// that find it gone, count as done; calls naming something just created wait for IAM to see it.
    pub async fn run_iam_step(&self, step: &IamStep) -> Result<(), CloudError> {
        let iam = &self.iam;
        let what = step.to_string();
        match step {
            IamStep::CreateSamlProvider { name, metadata } => exists_ok(call!(
                iam.create_saml_provider().name(name).saml_metadata_document(metadata),
                "CreateSAMLProvider"
            )),
            IamStep::UpdateSamlProvider { arn, metadata } => {
                call!(
                    iam.update_saml_provider().saml_provider_arn(arn).saml_metadata_document(metadata),
                    "UpdateSAMLProvider"
                )?;
                Ok(())
            }
            IamStep::CreateGroup { group } => exists_ok(call!(iam.create_group().group_name(group), "CreateGroup")),
            IamStep::PutGroupPolicy { group, policy, document } => settled(&what, || async {
                call!(
                    iam.put_group_policy().group_name(group).policy_name(policy).policy_document(document),
                    "PutGroupPolicy"
                )
            })
            .await
            .map(drop),
            IamStep::DeleteGroupPolicy { group, policy } => {
                gone(call!(iam.delete_group_policy().group_name(group).policy_name(policy), "DeleteGroupPolicy"))
            }
            IamStep::CreateUser { user, account_environment: env } => {
                match call!(iam.create_user().user_name(user).set_tags(Some(owner_tags(env))), "CreateUser") {
                    // Made by someone else meanwhile: adopt it.
                    Err(e) if e.kind == ErrorKind::AlreadyExists => {
                        call!(iam.tag_user().user_name(user).set_tags(Some(owner_tags(env))), "TagUser").map(drop)
                    }
                    other => other.map(drop),
                }
            }
            IamStep::TagUser { user, account_environment: env } => {
                call!(iam.tag_user().user_name(user).set_tags(Some(owner_tags(env))), "TagUser").map(drop)
            }
            IamStep::TagRole { role, account_environment: env } => {
                call!(iam.tag_role().role_name(role).set_tags(Some(owner_tags(env))), "TagRole").map(drop)
            }
            IamStep::AddUserToGroup { user, group } => settled(&what, || async {
                call!(iam.add_user_to_group().user_name(user).group_name(group), "AddUserToGroup")
            })
            .await
            .map(drop),
            IamStep::RemoveUserFromGroup { user, group } => {
                gone(call!(iam.remove_user_from_group().user_name(user).group_name(group), "RemoveUserFromGroup"))
            }
            IamStep::CreateRole { role, trust, account_environment: env } => {
                let tags = env.as_deref().map(owner_tags);
                let created = settled(&what, || async {
                    call!(
                        iam.create_role().role_name(role).assume_role_policy_document(trust).set_tags(tags.clone()),
                        "CreateRole"
                    )
                })
                .await;
                match created {
                    // Made by someone else meanwhile: adopt it.
                    Err(e) if e.kind == ErrorKind::AlreadyExists => {
                        if let Some(tags) = tags {
                            call!(iam.tag_role().role_name(role).set_tags(Some(tags)), "TagRole")?;
                        }
                        self.update_trust(role, trust, &what).await
                    }
                    other => other.map(drop),
                }
            }
            IamStep::UpdateTrust { role, trust } => self.update_trust(role, trust, &what).await,
            IamStep::PutRolePolicy { role, policy, document } => settled(&what, || async {
                call!(
                    iam.put_role_policy().role_name(role).policy_name(policy).policy_document(document),
                    "PutRolePolicy"
                )
            })
            .await
            .map(drop),
            IamStep::DeleteRolePolicy { role, policy } => {
                gone(call!(iam.delete_role_policy().role_name(role).policy_name(policy), "DeleteRolePolicy"))
            }
            IamStep::CreateInstanceProfile { profile } => {
                exists_ok(call!(iam.create_instance_profile().instance_profile_name(profile), "CreateInstanceProfile"))
            }
            IamStep::AddRoleToInstanceProfile { profile, role } => settled(&what, || async {
                call!(
                    iam.add_role_to_instance_profile().instance_profile_name(profile).role_name(role),
                    "AddRoleToInstanceProfile"
                )
            })
            .await
            .map(drop),
            IamStep::RemoveRoleFromInstanceProfile { profile, role } => gone(call!(
                iam.remove_role_from_instance_profile().instance_profile_name(profile).role_name(role),
                "RemoveRoleFromInstanceProfile"
            )),
            IamStep::DeleteUser { user } => gone(self.delete_user(user).await),
            IamStep::DeleteGroup { group } => gone(self.delete_group(group).await),
            IamStep::DeleteRole { role, profiles } => gone(self.delete_role(role, profiles).await),
            IamStep::DeleteInstanceProfile { profile } => gone(self.delete_instance_profile(profile).await),
        }
    }

    async fn update_trust(&self, role: &str, trust: &str, what: &str) -> Result<(), CloudError> {
        settled(what, || async {
            call!(self.iam.update_assume_role_policy().role_name(role).policy_document(trust), "UpdateAssumeRolePolicy")
        })
        .await
        .map(drop)
    }

    /// Deletes a user and everything AWS wants gone first: access keys, password, signing
    /// certificates, SSH keys, MFA devices, inline and attached policies, group memberships.
    async fn delete_user(&self, user: &str) -> Result<(), CloudError> {
        let iam = &self.iam;
        let keys: Vec<_> = paginated!(iam.list_access_keys().user_name(user), "ListAccessKeys")?;
        for key in keys {
            let id = key.access_key_id().unwrap_or_default();
            gone(call!(iam.delete_access_key().user_name(user).access_key_id(id), "DeleteAccessKey"))?;
        }
        gone(call!(iam.delete_login_profile().user_name(user), "DeleteLoginProfile"))?;
        let certificates: Vec<_> =
            paginated!(iam.list_signing_certificates().user_name(user), "ListSigningCertificates")?;
        for c in certificates {
            let id = c.certificate_id();
            gone(call!(
                iam.delete_signing_certificate().user_name(user).certificate_id(id),
                "DeleteSigningCertificate"
            ))?;
        }
        let ssh_keys: Vec<_> = paginated!(iam.list_ssh_public_keys().user_name(user), "ListSSHPublicKeys")?;
        for k in ssh_keys {
            let id = k.ssh_public_key_id();
            gone(call!(iam.delete_ssh_public_key().user_name(user).ssh_public_key_id(id), "DeleteSSHPublicKey"))?;
        }
        let devices: Vec<_> = paginated!(iam.list_mfa_devices().user_name(user), "ListMFADevices")?;
        for d in devices {
            let serial = d.serial_number();
            gone(call!(iam.deactivate_mfa_device().user_name(user).serial_number(serial), "DeactivateMFADevice"))?;
        }
        let inline: Vec<String> = paginated!(iam.list_user_policies().user_name(user), "ListUserPolicies")?;
        for policy in inline {
            gone(call!(iam.delete_user_policy().user_name(user).policy_name(policy), "DeleteUserPolicy"))?;
        }
        let attached: Vec<_> =
            paginated!(iam.list_attached_user_policies().user_name(user), "ListAttachedUserPolicies")?;
        for p in attached {
            let arn = p.policy_arn().unwrap_or_default();
            gone(call!(iam.detach_user_policy().user_name(user).policy_arn(arn), "DetachUserPolicy"))?;
        }
        let groups: Vec<_> = paginated!(iam.list_groups_for_user().user_name(user), "ListGroupsForUser")?;
        for g in groups {
            let group = g.group_name();
            gone(call!(iam.remove_user_from_group().user_name(user).group_name(group), "RemoveUserFromGroup"))?;
        }
        call!(iam.delete_user().user_name(user), "DeleteUser").map(drop)
    }

    /// Deletes a group after removing its members and policies.
    async fn delete_group(&self, group: &str) -> Result<(), CloudError> {
        let iam = &self.iam;
        let members: Vec<_> = paginated!(iam.get_group().group_name(group), "GetGroup")?;
        for u in members {
            let user = u.user_name();
            gone(call!(iam.remove_user_from_group().user_name(user).group_name(group), "RemoveUserFromGroup"))?;
        }
        let inline: Vec<String> = paginated!(iam.list_group_policies().group_name(group), "ListGroupPolicies")?;
        for policy in inline {
            gone(call!(iam.delete_group_policy().group_name(group).policy_name(policy), "DeleteGroupPolicy"))?;
        }
        let attached: Vec<_> =
            paginated!(iam.list_attached_group_policies().group_name(group), "ListAttachedGroupPolicies")?;
        for p in attached {
            let arn = p.policy_arn().unwrap_or_default();
            gone(call!(iam.detach_group_policy().group_name(group).policy_arn(arn), "DetachGroupPolicy"))?;
        }
        call!(iam.delete_group().group_name(group), "DeleteGroup").map(drop)
    }

    /// Deletes a role after taking it out of its instance profiles (deleting `profiles` among them)
    /// and removing its policies.
    async fn delete_role(&self, role: &str, profiles: &[String]) -> Result<(), CloudError> {
        let iam = &self.iam;
        let holding: Vec<_> =
            paginated!(iam.list_instance_profiles_for_role().role_name(role), "ListInstanceProfilesForRole")?;
        for p in holding {
            let profile = p.instance_profile_name();
            gone(call!(
                iam.remove_role_from_instance_profile().instance_profile_name(profile).role_name(role),
                "RemoveRoleFromInstanceProfile"
            ))?;
        }
        for profile in profiles {
            gone(self.delete_instance_profile(profile).await)?;
        }
        let inline: Vec<String> = paginated!(iam.list_role_policies().role_name(role), "ListRolePolicies")?;
        for policy in inline {
            gone(call!(iam.delete_role_policy().role_name(role).policy_name(policy), "DeleteRolePolicy"))?;
        }
        let attached: Vec<_> =
            paginated!(iam.list_attached_role_policies().role_name(role), "ListAttachedRolePolicies")?;
        for p in attached {
            let arn = p.policy_arn().unwrap_or_default();
            gone(call!(iam.detach_role_policy().role_name(role).policy_arn(arn), "DetachRolePolicy"))?;
        }
        call!(iam.delete_role().role_name(role), "DeleteRole").map(drop)
    }

    /// Deletes an instance profile after taking its roles out.
    async fn delete_instance_profile(&self, profile: &str) -> Result<(), CloudError> {
        let iam = &self.iam;
        let out = call!(iam.get_instance_profile().instance_profile_name(profile), "GetInstanceProfile")?;
        for r in out.instance_profile().map(|p| p.roles()).unwrap_or_default() {
            gone(call!(
                iam.remove_role_from_instance_profile().instance_profile_name(profile).role_name(r.role_name()),
                "RemoveRoleFromInstanceProfile"
            ))?;
        }
        call!(iam.delete_instance_profile().instance_profile_name(profile), "DeleteInstanceProfile").map(drop)
    }

    /// Every user with its groups, sorted by name.
    pub async fn iam_users(&self) -> Result<Vec<UserRow>, CloudError> {
        let pages: Vec<_> = self
            .iam
            .get_account_authorization_details()
            .filter(EntityType::User)
            .into_paginator()
            .send()
            .try_collect()
            .await
            .classify("GetAccountAuthorizationDetails")?;
        let mut rows: Vec<UserRow> = pages
            .iter()
            .flat_map(|p| p.user_detail_list())
            .map(|u| {
                let mut groups = u.group_list().to_vec();
                groups.sort();
                UserRow { user: u.user_name().unwrap_or_default().to_string(), groups }
            })
            .collect();
        rows.sort_by(|a, b| a.user.cmp(&b.user));
        Ok(rows)
    }

    /// Every group name, sorted.
    pub async fn iam_groups(&self) -> Result<Vec<String>, CloudError> {
        let groups: Vec<_> = paginated!(self.iam.list_groups(), "ListGroups")?;
        let mut names: Vec<String> = groups.iter().map(|g| g.group_name().to_string()).collect();
        names.sort();
        Ok(names)
    }

    /// The inline policy names of a group.
    pub async fn group_policy_names(&self, group: &str) -> Result<Vec<String>, CloudError> {
        paginated!(self.iam.list_group_policies().group_name(group), "ListGroupPolicies")
    }

    /// One inline policy of a group, decoded.
    pub async fn group_policy(&self, group: &str, policy: &str) -> Result<Value, CloudError> {
        let out = call!(self.iam.get_group_policy().group_name(group).policy_name(policy), "GetGroupPolicy")?;
        Ok(decode_document(out.policy_document()).unwrap_or_else(|| Value::String(out.policy_document().to_string())))
    }

    /// The groups of a user, sorted.
    pub async fn user_groups(&self, user: &str) -> Result<Vec<String>, CloudError> {
        let groups: Vec<_> = paginated!(self.iam.list_groups_for_user().user_name(user), "ListGroupsForUser")?;
        let mut names: Vec<String> = groups.iter().map(|g| g.group_name().to_string()).collect();
        names.sort();
        Ok(names)
    }

    /// Every role, sorted by name.
    pub async fn iam_roles(&self) -> Result<Vec<RoleRow>, CloudError> {
        let roles: Vec<_> = paginated!(self.iam.list_roles(), "ListRoles")?;
        let mut rows: Vec<RoleRow> = roles
            .iter()
            .map(|r| RoleRow {
                role: r.role_name().to_string(),
                arn: r.arn().to_string(),
                federated: r.assume_role_policy_document().and_then(decode_document).is_some_and(|t| is_federated(&t)),
            })
            .collect();
        rows.sort_by(|a, b| a.role.cmp(&b.role));
        Ok(rows)
    }

    /// The inline policy names of a role.
    pub async fn role_policy_names(&self, role: &str) -> Result<Vec<String>, CloudError> {
        paginated!(self.iam.list_role_policies().role_name(role), "ListRolePolicies")
    }

    /// Every instance profile with its roles, sorted by name.
    pub async fn instance_profiles(&self) -> Result<Vec<ProfileRow>, CloudError> {
        let profiles: Vec<_> = paginated!(self.iam.list_instance_profiles(), "ListInstanceProfiles")?;
        let mut rows: Vec<ProfileRow> = profiles
            .iter()
            .map(|p| ProfileRow {
                profile: p.instance_profile_name().to_string(),
                arn: p.arn().to_string(),
                roles: p.roles().iter().map(|r| r.role_name().to_string()).collect(),
            })
            .collect();
        rows.sort_by(|a, b| a.profile.cmp(&b.profile));
        Ok(rows)
    }

    /// The ARNs of the account's SAML providers, sorted.
    pub async fn saml_provider_arns(&self) -> Result<Vec<String>, CloudError> {
        let out = call!(self.iam.list_saml_providers(), "ListSAMLProviders")?;
        let mut arns: Vec<String> =
            out.saml_provider_list().iter().filter_map(|p| p.arn().map(str::to_string)).collect();
        arns.sort();
        Ok(arns)
    }

    /// Decodes an encoded authorization-failure message (STS DecodeAuthorizationMessage).
    pub async fn decode_authorization_message(&self, message: &str) -> Result<String, CloudError> {
        let out =
            call!(self.sts.decode_authorization_message().encoded_message(message), "DecodeAuthorizationMessage")?;
        Ok(out.decoded_message().unwrap_or_default().to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_are_decoded_either_way() {
        let plain = r#"{"Version":"2012-10-17","Statement":[]}"#;
        let encoded = "%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%5D%7D";
        assert_eq!(decode_document(plain), decode_document(encoded));
        assert!(decode_document(plain).is_some());
        assert!(decode_document("%7Bnot json").is_none());
    }

    #[test]
    fn partition_from_the_caller_arn() {
        let caller = |arn: &str| Caller { account: "1".into(), arn: arn.into() };
        assert_eq!(caller("arn:aws-us-gov:iam::1:user/x").partition(), "aws-us-gov");
        assert_eq!(caller("arn:aws:sts::1:assumed-role/r/s").partition(), "aws");
        assert_eq!(caller("").partition(), "aws");
    }
}
