//! The IAM sync as a plan (reference §4.17, with Asiaq's dangers fixed): what exists in the account,
//! what the config wants, and the steps between them, each with its reason.
//!
//! Ownership decides what may change, and it is the account environment E's exactly: one account
//! may hold several (`dev` and `dev_eu`). The sync owns groups under the group prefix, the trust
//! roles tagged `account_environment=E` or named `<role_prefix>_<E>_` on whole segments (not
//! another environment's `<role_prefix>_<E>_eu_`), the naked roles its config names, roles and
//! instance profiles under `instance_`, and the users listed in `group_membership/<E>/` or tagged
//! `account_environment=E`. Everything else is reported as unmanaged: never created, tagged or
//! deleted, and taken out of a group only as a destructive step; what another environment's sync
//! tagged is not touched at all. Deleting something owned that the config dropped is destructive.

use super::spec::{ec2_trust, IamSpec, Owner, PolicyFile, ACCOUNT_ENV_TAG, INSTANCE_PREFIX};
use crate::plan::Plan;
use crate::policy::same_policy;
use serde::Serialize;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

mod account;

pub use account::{IamStep, LiveGroup, LiveIam, LiveRole, LiveSamlProvider, LiveUser};

/// What the sync found in the account and leaves alone.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Unmanaged {
    /// Users neither listed nor tagged for this account environment (taken out of a group only by
    /// a destructive step), but for those of other environments.
    pub users: Vec<String>,
    /// Users another account environment's sync manages, with that environment: never touched.
    pub other_environments_users: BTreeMap<String, String>,
    /// Groups outside the group prefix.
    pub groups: Vec<String>,
    /// Roles outside the sync's prefixes and names.
    pub roles: Vec<String>,
    /// Instance profiles outside `instance_`.
    pub instance_profiles: Vec<String>,
}

/// The plan of a sync: the steps on the plan kernel, and what the sync leaves alone.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IamPlan {
    /// The steps, each after every step of the kind-level before it (see `IamStep::level`: a
    /// role before its policies, policies before deletions), with their reasons and notes.
    pub changes: Plan<IamStep>,
    /// What is left alone.
    pub unmanaged: Unmanaged,
}

impl IamPlan {
    /// True when nothing would change.
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }
}

/// `--output json` of a plan, as it was before the sync moved onto the plan kernel: each step with
/// its kind-level, reason and mark; what is left alone; the notes.
impl Serialize for IamPlan {
    fn serialize<Ser: serde::Serializer>(&self, serializer: Ser) -> Result<Ser::Ok, Ser::Error> {
        #[derive(Serialize)]
        struct StepView<'a> {
            level: usize,
            #[serde(flatten)]
            step: &'a IamStep,
            reason: &'a str,
            destructive: bool,
        }
        #[derive(Serialize)]
        struct View<'a> {
            steps: Vec<StepView<'a>>,
            unmanaged: &'a Unmanaged,
            notes: &'a [String],
        }
        let steps = self
            .changes
            .steps
            .iter()
            .map(|s| StepView { level: s.step.level(), step: &s.step, reason: &s.reason, destructive: s.destructive })
            .collect();
        View { steps, unmanaged: &self.unmanaged, notes: &self.changes.notes }.serialize(serializer)
    }
}

/// Collects steps with their reasons and marks, in the order the planner decides them.
struct Builder {
    steps: Vec<(IamStep, String, bool)>,
}

impl Builder {
    fn add(&mut self, step: IamStep, reason: impl Into<String>) {
        self.steps.push((step, reason.into(), false));
    }

    fn destroy(&mut self, step: IamStep, reason: impl Into<String>) {
        self.steps.push((step, reason.into(), true));
    }

    /// The plan: steps ordered by kind-level (then as added), each after every step of the nearest
    /// kind-level below its own that has steps.
    fn into_plan(self, notes: Vec<String>) -> Plan<IamStep> {
        let mut steps = self.steps;
        steps.sort_by_key(|(step, _, _)| step.level());
        let mut plan = Plan::new();
        let (mut previous, mut current): (Vec<usize>, Vec<usize>) = (Vec::new(), Vec::new());
        let mut rank = 0;
        for (step, reason, destructive) in steps {
            if step.level() != rank {
                rank = step.level();
                if !current.is_empty() {
                    previous = std::mem::take(&mut current);
                }
            }
            current.push(plan.add(step, previous.iter().copied()).because(reason).destructive(destructive).id);
        }
        plan.notes = notes;
        plan
    }
}

/// Compact JSON of a document, the form sent to AWS.
fn compact(document: &Value) -> String {
    document.to_string()
}

/// The file's path as shown in reasons: from `iam/` on.
fn shown(file: &PolicyFile) -> String {
    let path = file.path.to_string_lossy();
    match path.rfind("iam/") {
        Some(i) => path[i..].to_string(),
        None => path.into_owned(),
    }
}

/// The steps that make the inline policies of an entity exactly `[file]`: nothing when one of them
/// already means the same (whatever its name, so Asiaq's timestamp-named policies are adopted), else
/// a put under the file's name; every other inline policy is deleted.
fn inline_policies(
    b: &mut Builder,
    existing: Option<&BTreeMap<String, Value>>,
    file: &PolicyFile,
    put: impl Fn(String, String) -> IamStep,
    delete: impl Fn(String) -> IamStep,
) {
    let empty = BTreeMap::new();
    let existing = existing.unwrap_or(&empty);
    let keep = existing.iter().find(|(_, doc)| same_policy(doc, &file.document)).map(|(name, _)| name.clone());
    let keep = match keep {
        Some(name) => name,
        None => {
            let why = if existing.contains_key(&file.name) { "changed in" } else { "from" };
            b.add(put(file.name.clone(), compact(&file.document)), format!("{why} {}", shown(file)));
            file.name.clone()
        }
    };
    for name in existing.keys().filter(|n| **n != keep) {
        b.add(delete(name.clone()), format!("not in {}", shown(file)));
    }
}

/// The trust document of a federated role: the template with its first statement's
/// `Principal.Federated` set to the provider.
fn federated_trust(template: &Value, provider_arn: &str) -> Value {
    let mut doc = template.clone();
    let first = match doc.get_mut("Statement") {
        Some(Value::Array(list)) => list.first_mut(),
        Some(single @ Value::Object(_)) => Some(single),
        _ => None,
    };
    if let Some(Value::Object(statement)) = first {
        let principal = statement.entry("Principal").or_insert_with(|| Value::Object(Default::default()));
        if let Value::Object(kinds) = principal {
            kinds.insert("Federated".into(), Value::String(provider_arn.to_string()));
        } else {
            *principal = serde_json::json!({ "Federated": provider_arn });
        }
    }
    doc
}

/// True when a trust document's first statement trusts a federated (SAML) principal, as Asiaq
/// decides `listroles --federation`.
pub fn is_federated(trust: &Value) -> bool {
    let first = match trust.get("Statement") {
        Some(Value::Array(list)) => list.first(),
        other => other,
    };
    first.and_then(|s| s.get("Principal")).and_then(|p| p.get("Federated")).is_some()
}

/// Plans the sync of `spec` into the account `live`. `saml_metadata` is the downloaded metadata of
/// the configured provider. Fails when a federated role is wanted but no SAML provider is known.
pub fn plan_sync(spec: &IamSpec, live: &LiveIam, saml_metadata: Option<&str>) -> Result<IamPlan, String> {
    let mut b = Builder { steps: Vec::new() };
    let mut notes = Vec::new();
    let env = &spec.account_env;
    let membership = format!("iam/group_membership/{env}/");

    // SAML provider: the configured one is created or its metadata updated; others are left alone.
    let provider_arn = if let Some(saml) = &spec.saml {
        let metadata = saml_metadata.unwrap_or_default().to_string();
        match live.saml_providers.iter().find(|p| p.name() == saml.name) {
            None => b.add(
                IamStep::CreateSamlProvider { name: saml.name.clone(), metadata },
                format!("[iam] saml_provider_name, metadata from {}", saml.url),
            ),
            Some(p) if p.metadata.as_deref().map(str::trim) != Some(metadata.trim()) => b.add(
                IamStep::UpdateSamlProvider { arn: p.arn.clone(), metadata },
                format!("metadata at {} changed", saml.url),
            ),
            Some(_) => {}
        }
        Some(format!("arn:{}:iam::{}:saml-provider/{}", live.partition, live.account_id, saml.name))
    } else {
        let mut arns: Vec<&str> = live.saml_providers.iter().map(|p| p.arn.as_str()).collect();
        arns.sort();
        arns.first().map(|a| a.to_string())
    };

    // Users: the listed ones exist and carry the tags of E; those tagged for E and no longer listed
    // are deleted. A listed user another environment's sync manages is taken over only as a
    // destructive step (the two syncs would otherwise undo each other's memberships).
    let ours = Owner::Environment(env.clone());
    for user in spec.memberships.keys() {
        let file = format!("{membership}{user}.grp");
        let tag = IamStep::TagUser { user: user.clone(), account_environment: env.clone() };
        match live.users.get(user).map(|u| &u.owner) {
            None => b.add(
                IamStep::CreateUser { user: user.clone(), account_environment: env.clone() },
                format!("listed in {file}"),
            ),
            Some(owner) if *owner == ours => {}
            Some(Owner::Environment(other)) => b.destroy(
                tag,
                format!(
                    "listed in {file}, but tagged {ACCOUNT_ENV_TAG}={other}: taken over from that environment's sync"
                ),
            ),
            Some(Owner::NoEnvironment) => {
                b.add(tag, format!("listed in {file} (tagged by an older sila-iam, without {ACCOUNT_ENV_TAG})"));
            }
            Some(Owner::Untagged) => b.add(tag, format!("listed in {file}")),
        }
    }
    let dropped_users: BTreeSet<&String> = live
        .users
        .iter()
        .filter(|(name, u)| u.owner == ours && !spec.memberships.contains_key(*name))
        .map(|(n, _)| n)
        .collect();
    for user in &dropped_users {
        b.destroy(
            IamStep::DeleteUser { user: (*user).clone() },
            format!("tagged by sila-iam for {env}, no longer in {membership}"),
        );
    }
    // Users of other account environments not listed here: their syncs manage them, this one never
    // touches them.
    let other_users: BTreeMap<&String, &str> = live
        .users
        .iter()
        .filter(|(name, _)| !spec.memberships.contains_key(*name))
        .filter_map(|(name, u)| Some((name, u.owner.other_environment(env)?)))
        .collect();

    // Groups: one per user policy (unless pruned), exactly its policy, exactly its listed members.
    let mut wanted_groups = BTreeSet::new();
    for (name, user_policy) in &spec.user_policies {
        let group = spec.group_name(name);
        let members: BTreeSet<&String> =
            spec.memberships.iter().filter(|(_, groups)| groups.contains(name)).map(|(user, _)| user).collect();
        if spec.prune_empty_groups && members.is_empty() {
            continue;
        }
        wanted_groups.insert(group.clone());
        let existing = live.groups.get(&group);
        if existing.is_none() {
            b.add(IamStep::CreateGroup { group: group.clone() }, format!("from {}", shown(&user_policy.policy)));
        }
        inline_policies(
            &mut b,
            existing.map(|g| &g.policies),
            &user_policy.policy,
            |policy, document| IamStep::PutGroupPolicy { group: group.clone(), policy, document },
            |policy| IamStep::DeleteGroupPolicy { group: group.clone(), policy },
        );
        let live_members: BTreeSet<&String> =
            live.users.iter().filter(|(_, u)| u.groups.contains(&group)).map(|(n, _)| n).collect();
        for user in members.difference(&live_members) {
            b.add(
                IamStep::AddUserToGroup { user: (*user).clone(), group: group.clone() },
                format!("{membership}{user}.grp lists {name}"),
            );
        }
        let extra =
            live_members.difference(&members).filter(|u| !dropped_users.contains(*u) && !other_users.contains_key(*u));
        for user in extra {
            let step = IamStep::RemoveUserFromGroup { user: (*user).clone(), group: group.clone() };
            if spec.memberships.contains_key(*user) {
                b.add(step, format!("not listed as a member of {name} in {membership}"));
            } else {
                // Someone the sync does not manage (made by hand, or tagged without an environment).
                b.destroy(
                    step,
                    format!("not managed by this sync: not in {membership}, not tagged {ACCOUNT_ENV_TAG}={env}"),
                );
            }
        }
    }
    for group in live.groups.keys().filter(|g| spec.owns_group(g) && !wanted_groups.contains(*g)) {
        let policy = &group[spec.group_prefix.len() + 1..];
        let reason = if spec.user_policies.contains_key(policy) {
            // Empty for E, but the group is the account's: other environments' users may need it.
            let others: Vec<&str> = other_users
                .iter()
                .filter(|(u, _)| live.users[**u].groups.contains(group))
                .map(|(u, _)| u.as_str())
                .collect();
            if !others.is_empty() {
                notes.push(format!(
                    "group {group} is kept although no user of {membership} is a member: users of other account environments are ({})",
                    others.join(", ")
                ));
                continue;
            }
            format!("prune_empty_groups: no user of {membership} is a member")
        } else {
            format!("no iam/user_policies/{policy}.iam")
        };
        b.destroy(IamStep::DeleteGroup { group: group.clone() }, reason);
    }

    // Trust roles: one per user policy not blacklisted, trusted through its .tr or federation.
    let mut wanted_roles = BTreeSet::new();
    for (name, user_policy) in &spec.user_policies {
        if spec.blacklist.contains(name) {
            continue;
        }
        let role = spec.role_name(name);
        wanted_roles.insert(role.clone());
        let trust = match (&user_policy.trust, &spec.federation) {
            (Some(tr), _) => Some(tr.document.clone()),
            (None, Some(template)) => {
                let arn = provider_arn.as_deref().ok_or_else(|| {
                    format!(
                        "{} needs a SAML provider for role {role}: set [iam] saml_provider_name and saml_provider_url, or add iam/user_policies/{name}.tr",
                        shown(template)
                    )
                })?;
                Some(federated_trust(&template.document, arn))
            }
            (None, None) => None,
        };
        let trust_source = match &user_policy.trust {
            Some(tr) => shown(tr),
            None => "iam/federation/AssumeRolePolicyDocument.iam".to_string(),
        };
        let existing = live.roles.get(&role);
        // Roles named for E carry E's tags; naked roles have no environment in their name.
        let tagged_for = (!spec.naked_roles.contains(name)).then(|| env.clone());
        if let (Some(r), Some(env)) = (existing, &tagged_for) {
            let tag = IamStep::TagRole { role: role.clone(), account_environment: env.clone() };
            match &r.owner {
                Owner::Environment(e) if e == env => {}
                Owner::Environment(other) => b.destroy(
                    tag,
                    format!("tagged {ACCOUNT_ENV_TAG}={other}: taken over from that environment's sync (its role names collide with {env}'s)"),
                ),
                _ => b.add(tag, format!("role of {} for {env}", shown(&user_policy.policy))),
            }
        }
        match (existing, &trust) {
            (None, None) => {
                notes.push(format!(
                    "role {role} is not created: no trust document (add iam/user_policies/{name}.tr or iam/federation/AssumeRolePolicyDocument.iam)"
                ));
                continue;
            }
            (None, Some(trust)) => b.add(
                IamStep::CreateRole { role: role.clone(), trust: compact(trust), account_environment: tagged_for },
                format!("trust from {trust_source}"),
            ),
            (Some(r), Some(trust)) if !r.trust.as_ref().is_some_and(|t| same_policy(t, trust)) => b.add(
                IamStep::UpdateTrust { role: role.clone(), trust: compact(trust) },
                format!("trust changed in {trust_source}"),
            ),
            _ => {}
        }
        inline_policies(
            &mut b,
            existing.map(|r| &r.policies),
            &user_policy.policy,
            |policy, document| IamStep::PutRolePolicy { role: role.clone(), policy, document },
            |policy| IamStep::DeleteRolePolicy { role: role.clone(), policy },
        );
    }

    // Instance roles and profiles: `instance_<P>`, trusted by EC2, the role in the profile.
    let mut wanted_instance = BTreeSet::new();
    for (name, policy) in &spec.instance_policies {
        let role = IamSpec::instance_name(name);
        wanted_instance.insert(role.clone());
        let existing = live.roles.get(&role);
        let trust = ec2_trust();
        match existing {
            None => b.add(
                IamStep::CreateRole { role: role.clone(), trust: compact(&trust), account_environment: None },
                format!("from {}", shown(policy)),
            ),
            Some(r) if !r.trust.as_ref().is_some_and(|t| same_policy(t, &trust)) => b.add(
                IamStep::UpdateTrust { role: role.clone(), trust: compact(&trust) },
                "instance roles are trusted by ec2.amazonaws.com",
            ),
            Some(_) => {}
        }
        inline_policies(
            &mut b,
            existing.map(|r| &r.policies),
            policy,
            |policy, document| IamStep::PutRolePolicy { role: role.clone(), policy, document },
            |policy| IamStep::DeleteRolePolicy { role: role.clone(), policy },
        );
        match live.profiles.get(&role) {
            None => {
                b.add(IamStep::CreateInstanceProfile { profile: role.clone() }, format!("from {}", shown(policy)));
                b.add(
                    IamStep::AddRoleToInstanceProfile { profile: role.clone(), role: role.clone() },
                    "an instance profile carries its role",
                );
            }
            Some(roles) if !roles.contains(&role) => {
                for other in roles {
                    b.add(
                        IamStep::RemoveRoleFromInstanceProfile { profile: role.clone(), role: other.clone() },
                        format!("instance profile {role} must carry role {role}"),
                    );
                }
                b.add(
                    IamStep::AddRoleToInstanceProfile { profile: role.clone(), role: role.clone() },
                    "an instance profile carries its role",
                );
            }
            Some(_) => {}
        }
    }

    // Roles the sync owns that the config dropped. A trust role is E's by its tag, else (made by
    // Asiaq, or by hand) by its name on whole segments; one tagged for another environment never is.
    let owns_trust_role = |role: &String, r: &LiveRole| match &r.owner {
        Owner::Environment(e) => e == env,
        Owner::Untagged | Owner::NoEnvironment => spec.owns_role_name(role) || spec.naked_roles.contains(role),
    };
    let mut deleted_profiles = BTreeSet::new();
    for (role, r) in &live.roles {
        let instance = role.starts_with(INSTANCE_PREFIX);
        if (instance && wanted_instance.contains(role))
            || (!instance && (!owns_trust_role(role, r) || wanted_roles.contains(role)))
        {
            continue;
        }
        // Instance profiles of the sync that hold this role go with it.
        let profiles: Vec<String> = live
            .profiles
            .iter()
            .filter(|(name, roles)| {
                roles.contains(role) && name.starts_with(INSTANCE_PREFIX) && !wanted_instance.contains(*name)
            })
            .map(|(name, _)| name.clone())
            .collect();
        deleted_profiles.extend(profiles.iter().cloned());
        let policy = role.strip_prefix(INSTANCE_PREFIX).unwrap_or(role);
        let reason = if instance {
            format!("no iam/instance_policies/{policy}.iam")
        } else {
            let name = spec.user_policies.keys().find(|p| spec.role_name(p) == *role);
            match name {
                Some(p) if spec.blacklist.contains(p) => format!("{p} is in [iam] policy_blacklist"),
                _ => format!("no user policy for role {role} in iam/user_policies/"),
            }
        };
        b.destroy(IamStep::DeleteRole { role: role.clone(), profiles }, reason);
    }
    for (profile, _) in live.profiles.iter().filter(|(name, _)| {
        name.starts_with(INSTANCE_PREFIX) && !wanted_instance.contains(*name) && !deleted_profiles.contains(*name)
    }) {
        let policy = &profile[INSTANCE_PREFIX.len()..];
        b.destroy(
            IamStep::DeleteInstanceProfile { profile: profile.clone() },
            format!("no iam/instance_policies/{policy}.iam"),
        );
    }
    if spec.owned_role_prefix().is_none() {
        notes.push(format!(
            "no [iam] role_prefix: roles the config no longer names are looked for only by their tag {ACCOUNT_ENV_TAG}={env}"
        ));
    }

    let unmanaged = Unmanaged {
        users: live
            .users
            .iter()
            .filter(|(n, u)| u.owner != ours && !spec.memberships.contains_key(*n) && !other_users.contains_key(n))
            .map(|(n, _)| n.clone())
            .collect(),
        other_environments_users: other_users.iter().map(|(n, e)| ((*n).clone(), e.to_string())).collect(),
        groups: live.groups.keys().filter(|g| !spec.owns_group(g)).cloned().collect(),
        roles: live
            .roles
            .iter()
            .filter(|(name, r)| {
                !name.starts_with(INSTANCE_PREFIX) && !wanted_roles.contains(*name) && !owns_trust_role(name, r)
            })
            .map(|(name, _)| name.clone())
            .collect(),
        instance_profiles: live.profiles.keys().filter(|p| !p.starts_with(INSTANCE_PREFIX)).cloned().collect(),
    };
    Ok(IamPlan { changes: b.into_plan(notes), unmanaged })
}

#[cfg(test)]
mod tests;
