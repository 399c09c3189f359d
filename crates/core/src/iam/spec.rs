//! What one account environment's IAM should be: the `iam/` tree and the `[iam]` options of aws.ini
//! (reference §3.1 `[iam]`, §3.9), read and validated completely before anything talks to AWS.

use crate::config::{AwsConfig, ConfigDir, Resolved};
use crate::diag::{Diagnostic, Diagnostics};
use crate::policy::{parse_lenient, validate, PolicyKind};
use crate::truth::truthy;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Prefix of instance roles and instance profiles (`instance_<policy>`), as in Asiaq.
pub const INSTANCE_PREFIX: &str = "instance_";

/// Group prefix when `[iam] group_prefix` is not set: Asiaq's hard-coded `disco`.
pub const DEFAULT_GROUP_PREFIX: &str = "disco";

/// The tag sila-iam puts on the users it creates or adopts, and on the `<role_prefix>_<E>_` roles it
/// creates. Users carry no name prefix, so this tag is how a later sync knows that a user dropped
/// from `group_membership/` is one it may delete.
pub const MANAGED_USER_TAG: (&str, &str) = ("managed_by", "sila-iam");

/// The tag naming the account environment whose sync made (or adopted) a user or role: with it,
/// the `dev` sync never takes what the `dev_eu` sync of the same account made for its own.
pub const ACCOUNT_ENV_TAG: &str = "account_environment";

/// Which sync a user or role belongs to, by its tags.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Owner {
    /// No `managed_by=sila-iam` tag: made by hand, by Asiaq or by another tool.
    #[default]
    Untagged,
    /// `managed_by=sila-iam` without an account environment: tagged by an older sila-iam, which did
    /// not record which environment's sync it was, so no sync may assume it is its own.
    NoEnvironment,
    /// `managed_by=sila-iam` and `account_environment=<E>`: the sync of E's.
    Environment(String),
}

impl Owner {
    /// The owner a set of `(key, value)` tags names.
    pub fn from_tags<'a>(tags: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        let (mut managed, mut env) = (false, None);
        for (key, value) in tags {
            if (key, value) == MANAGED_USER_TAG {
                managed = true;
            } else if key == ACCOUNT_ENV_TAG && !value.is_empty() {
                env = Some(value.to_string());
            }
        }
        match (managed, env) {
            (false, _) => Self::Untagged,
            (true, None) => Self::NoEnvironment,
            (true, Some(env)) => Self::Environment(env),
        }
    }

    /// The account environment of another sync that owns it, if any (not `env`).
    pub fn other_environment(&self, env: &str) -> Option<&str> {
        match self {
            Self::Environment(e) if e != env => Some(e),
            _ => None,
        }
    }

    /// The tags that make it the sync of `env`'s.
    pub fn tags(env: &str) -> [(&'static str, String); 2] {
        [(MANAGED_USER_TAG.0, MANAGED_USER_TAG.1.to_string()), (ACCOUNT_ENV_TAG, env.to_string())]
    }
}

/// The trust document of instance roles: EC2 may assume them.
pub fn ec2_trust() -> Value {
    serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]
    })
}

/// A policy file: its base name (the policy's name), path and document.
#[derive(Debug, Clone, PartialEq)]
pub struct PolicyFile {
    /// File name without `.iam`.
    pub name: String,
    /// Where it was read from.
    pub path: PathBuf,
    /// The parsed document.
    pub document: Value,
}

/// A user policy: a group `<group_prefix>_<name>` and (unless blacklisted) a role, trusted through
/// its `.tr` file when there is one, else through SAML federation.
#[derive(Debug, Clone, PartialEq)]
pub struct UserPolicy {
    /// The policy itself.
    pub policy: PolicyFile,
    /// `user_policies/<name>.tr`, when present.
    pub trust: Option<PolicyFile>,
}

/// The SAML provider to keep in the account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SamlSpec {
    /// `saml_provider_name`.
    pub name: String,
    /// `saml_provider_url`: where the metadata document is downloaded from (`http(s)://`, or a path
    /// relative to the config dir).
    pub url: String,
}

/// Everything the sync of one account environment wants.
#[derive(Debug, Clone, PartialEq)]
pub struct IamSpec {
    /// The account environment (`dev`, `prod`, ...): selects `group_membership/<E>/` and `@E` options.
    pub account_env: String,
    /// `[iam] account_id(@E)`: the account this environment must be synced into.
    pub account_id: Option<String>,
    /// `[iam] group_prefix(@E)`, default `disco`.
    pub group_prefix: String,
    /// `[iam] role_prefix(@E)`.
    pub role_prefix: Option<String>,
    /// `<role_prefix@E2>_<E2>_` of every other account environment E2 in `group_membership/`: a role
    /// name that one of these matches more closely than this environment's is E2's, not E's.
    pub other_role_prefixes: Vec<String>,
    /// `[iam] naked_roles(@E)`: policies whose role is named just `<policy>`.
    pub naked_roles: BTreeSet<String>,
    /// `[iam] policy_blacklist(@E)`: policies that get a group but no role.
    pub blacklist: BTreeSet<String>,
    /// `[iam] prune_empty_groups(@E)`: no group for a policy no user is a member of.
    pub prune_empty_groups: bool,
    /// The SAML provider, when both its name and URL are configured.
    pub saml: Option<SamlSpec>,
    /// `federation/AssumeRolePolicyDocument.iam`, the trust template of federated roles.
    pub federation: Option<PolicyFile>,
    /// `user_policies/*.iam`, by name.
    pub user_policies: BTreeMap<String, UserPolicy>,
    /// `instance_policies/*.iam`, by name.
    pub instance_policies: BTreeMap<String, PolicyFile>,
    /// `group_membership/<E>/<user>.grp`: user → policy names of its groups.
    pub memberships: BTreeMap<String, BTreeSet<String>>,
    /// Problems that do not stop the sync.
    pub warnings: Vec<Diagnostic>,
}

impl IamSpec {
    /// Reads `iam/` under `dir` and the `[iam]` options of `aws` for account environment `env`. Every
    /// problem is collected; any error means the sync must not start.
    pub fn load(dir: &ConfigDir, aws: Option<&AwsConfig>, env: &str) -> Result<Self, Diagnostics> {
        let iam = dir.iam_dir();
        let mut out = Vec::new();
        let option = |name: &str| -> Option<Resolved> { aws.and_then(|a| a.iam_option(name, Some(env))) };
        let words = |name: &str| -> BTreeSet<String> {
            option(name).map(|r| r.value.split_whitespace().map(str::to_string).collect()).unwrap_or_default()
        };
        let nonempty = |name: &str| option(name).map(|r| r.value.trim().to_string()).filter(|v| !v.is_empty());
        if !iam.is_dir() {
            return Err(Diagnostics(vec![Diagnostic::error(&iam, None, "no iam/ directory in the config dir")]));
        }
        let membership_dir = iam.join("group_membership").join(env);
        if env.is_empty() || env.contains(['/', '\\']) || env.starts_with('.') || !membership_dir.is_dir() {
            let known: Vec<String> = files(&iam.join("group_membership"), None, true);
            let known = if known.is_empty() { "none".to_string() } else { known.join(", ") };
            return Err(Diagnostics(vec![Diagnostic::error(
                &membership_dir,
                None,
                format!("unknown account environment {env:?}: no such directory (known: {known})"),
            )]));
        }

        let user_policy_dir = iam.join("user_policies");
        let mut user_policies = BTreeMap::new();
        for name in files(&user_policy_dir, Some("iam"), false) {
            let Some(policy) = read_policy(&user_policy_dir, &name, "iam", PolicyKind::Identity, &mut out) else {
                continue;
            };
            let trust = user_policy_dir
                .join(format!("{name}.tr"))
                .is_file()
                .then(|| read_policy(&user_policy_dir, &name, "tr", PolicyKind::Trust, &mut out))
                .flatten();
            user_policies.insert(name, UserPolicy { policy, trust });
        }
        let instance_dir = iam.join("instance_policies");
        let mut instance_policies = BTreeMap::new();
        for name in files(&instance_dir, Some("iam"), false) {
            if let Some(policy) = read_policy(&instance_dir, &name, "iam", PolicyKind::Identity, &mut out) {
                instance_policies.insert(name, policy);
            }
        }
        let federation_dir = iam.join("federation");
        let federation = federation_dir
            .join("AssumeRolePolicyDocument.iam")
            .is_file()
            .then(|| read_policy(&federation_dir, "AssumeRolePolicyDocument", "iam", PolicyKind::Trust, &mut out))
            .flatten();

        let mut memberships = BTreeMap::new();
        for user in files(&membership_dir, Some("grp"), false) {
            if let Some(groups) =
                read_membership(&membership_dir.join(format!("{user}.grp")), &user_policy_dir, &mut out)
            {
                memberships.insert(user, groups);
            }
        }

        let saml = match (nonempty("saml_provider_name"), nonempty("saml_provider_url")) {
            (Some(name), Some(url)) => Some(SamlSpec { name, url }),
            (None, None) => None,
            (name, _) => {
                let (present, missing) = if name.is_some() {
                    ("saml_provider_name", "saml_provider_url")
                } else {
                    ("saml_provider_url", "saml_provider_name")
                };
                let at = option(present);
                out.push(Diagnostic::warning(
                    aws.map(|a| a.ini.path.clone()).unwrap_or_default(),
                    at.map(|r| r.line),
                    format!("[iam] {present} is set but {missing} is not: no SAML provider is managed"),
                ));
                None
            }
        };
        let account_id = nonempty("account_id");
        if let (Some(id), Some(r)) = (&account_id, option("account_id")) {
            if id.len() != 12 || !id.bytes().all(|b| b.is_ascii_digit()) {
                out.push(Diagnostic::error(
                    aws.map(|a| a.ini.path.clone()).unwrap_or_default(),
                    Some(r.line),
                    format!("[iam] {} = {id:?}: an AWS account id is 12 digits", r.option),
                ));
            }
        }
        let other_role_prefixes = files(&iam.join("group_membership"), None, true)
            .into_iter()
            .filter(|other| other != env)
            .filter_map(|other| {
                let prefix = aws.and_then(|a| a.iam_option("role_prefix", Some(&other)))?;
                let prefix = prefix.value.trim();
                (!prefix.is_empty()).then(|| format!("{prefix}_{other}_"))
            })
            .collect();
        let (errors, warnings): (Vec<_>, Vec<_>) = out.into_iter().partition(Diagnostic::is_error);
        if !errors.is_empty() {
            return Err(Diagnostics(errors));
        }
        Ok(Self {
            account_env: env.to_string(),
            account_id,
            group_prefix: nonempty("group_prefix").unwrap_or_else(|| DEFAULT_GROUP_PREFIX.to_string()),
            role_prefix: nonempty("role_prefix"),
            other_role_prefixes,
            naked_roles: words("naked_roles"),
            blacklist: words("policy_blacklist"),
            prune_empty_groups: option("prune_empty_groups").is_some_and(|r| truthy(&r.value)),
            saml,
            federation,
            user_policies,
            instance_policies,
            memberships,
            warnings,
        })
    }

    /// The group of user policy `policy`: `<group_prefix>_<policy>`.
    pub fn group_name(&self, policy: &str) -> String {
        format!("{}_{policy}", self.group_prefix)
    }

    /// True for group names under the group prefix: the groups the sync owns.
    pub fn owns_group(&self, group: &str) -> bool {
        group.strip_prefix(&self.group_prefix).is_some_and(|rest| rest.starts_with('_'))
    }

    /// The role of user policy `policy`: the policy name for naked roles, else
    /// `<role_prefix>_<E>_<policy>` (`<E>_<policy>` without a prefix), reference test vector 102.
    pub fn role_name(&self, policy: &str) -> String {
        if self.naked_roles.contains(policy) {
            return policy.to_string();
        }
        match &self.role_prefix {
            Some(prefix) => format!("{prefix}_{}_{policy}", self.account_env),
            None => format!("{}_{policy}", self.account_env),
        }
    }

    /// The name prefix of the trust roles this sync owns: `<role_prefix>_<E>_`. Without a role prefix
    /// the sync owns only the roles its config names (it cannot tell other `<E>_` roles from its own).
    pub fn owned_role_prefix(&self) -> Option<String> {
        self.role_prefix.as_ref().map(|p| format!("{p}_{}_", self.account_env))
    }

    /// True when `role` is named as one of this environment's trust roles: it starts with
    /// `<role_prefix>_<E>_` and no other account environment's prefix that is longer matches it too.
    /// Prefixes are matched on whole `_` segments: with environments `dev` and `dev_eu`,
    /// `acme_dev_eu_app` is dev_eu's role of policy `app`, not dev's of policy `eu_app`.
    pub fn owns_role_name(&self, role: &str) -> bool {
        let Some(own) = self.owned_role_prefix() else { return false };
        role.starts_with(&own) && !self.other_role_prefixes.iter().any(|p| p.len() > own.len() && role.starts_with(p))
    }

    /// The instance role and profile of instance policy `policy`: `instance_<policy>`.
    pub fn instance_name(policy: &str) -> String {
        format!("{INSTANCE_PREFIX}{policy}")
    }
}

/// Base names (without `.ext`) of the files with extension `ext` in `dir`, sorted; or, with `dirs`,
/// the names of its subdirectories. A missing directory has none.
fn files(dir: &Path, ext: Option<&str>, dirs: bool) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .filter_map(|entry| {
            let path = entry.ok()?.path();
            if dirs {
                return path.is_dir().then(|| path.file_name().map(|n| n.to_string_lossy().into_owned()))?;
            }
            (path.is_file() && path.extension()?.to_str()? == ext?)
                .then(|| path.file_stem().map(|s| s.to_string_lossy().into_owned()))?
        })
        .collect();
    names.sort();
    names
}

/// Reads a `group_membership/<E>/<user>.grp` file: the policy names of the user's groups, each of
/// which must have its `user_policies/<name>.iam`. Problems go to `out` (`sila check` reads every
/// environment's files with this too); `None` when the file cannot be read.
pub(crate) fn read_membership(
    path: &Path,
    user_policy_dir: &Path,
    out: &mut Vec<Diagnostic>,
) -> Option<BTreeSet<String>> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) => {
            out.push(Diagnostic::error(path, None, format!("cannot read: {e}")));
            return None;
        }
    };
    let mut groups = BTreeSet::new();
    for (i, line) in text.lines().enumerate() {
        for group in line.split_whitespace() {
            if !user_policy_dir.join(format!("{group}.iam")).is_file() {
                out.push(Diagnostic::error(
                    path,
                    Some(i + 1),
                    format!("group {group:?} has no iam/user_policies/{group}.iam"),
                ));
            }
            groups.insert(group.to_string());
        }
    }
    Some(groups)
}

/// Reads and validates `<dir>/<name>.<ext>`; problems go to `out`, and `None` when it is unusable.
fn read_policy(dir: &Path, name: &str, ext: &str, kind: PolicyKind, out: &mut Vec<Diagnostic>) -> Option<PolicyFile> {
    read_policy_file(dir.join(format!("{name}.{ext}")), name, kind, out)
}

/// Reads and validates the policy at `path` (named `name`); problems go to `out` (`sila check` uses
/// this for every policy file), and `None` when it is unusable.
pub(crate) fn read_policy_file(
    path: PathBuf,
    name: &str,
    kind: PolicyKind,
    out: &mut Vec<Diagnostic>,
) -> Option<PolicyFile> {
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) => {
            out.push(Diagnostic::error(&path, None, format!("cannot read: {e}")));
            return None;
        }
    };
    let document = match parse_lenient(&text) {
        Ok(doc) => doc,
        Err((line, message)) => {
            out.push(Diagnostic::error(&path, Some(line), message));
            return None;
        }
    };
    let mut usable = true;
    for problem in validate(&document, kind) {
        usable &= !problem.is_error;
        out.push(if problem.is_error {
            Diagnostic::error(&path, problem.line, problem.message)
        } else {
            Diagnostic::warning(&path, problem.line, problem.message)
        });
    }
    let mut json = document.json;
    with_current_version(&mut json);
    usable.then(|| PolicyFile { name: name.to_string(), path, document: json })
}

/// Gives a document without `Version` the current one when that cannot change its meaning. The two
/// versions differ only in policy variables (`${aws:username}`), which 2008-10-17 reads as literal
/// text; a document without `${` means the same under both. Asiaq's own sample has two such
/// files; AWS accepts them as they are, the emulator does not, and the explicit version works on both.
fn with_current_version(document: &mut Value) {
    let uses_variables = document.to_string().contains("${");
    if let Some(object) = document.as_object_mut() {
        if !object.contains_key("Version") && !uses_variables {
            object.insert("Version".into(), Value::String("2012-10-17".into()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ini::Ini;

    const POLICY: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}"#;

    fn tree(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for (path, text) in files {
            let path = dir.path().join(path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        dir
    }

    fn aws(text: &str) -> AwsConfig {
        AwsConfig::new(Ini::parse(Path::new("aws.ini"), text).unwrap())
    }

    #[test]
    fn reads_the_tree_and_options() {
        let dir = tree(&[
            ("iam/user_policies/dev.iam", POLICY),
            ("iam/user_policies/ops.iam", POLICY),
            (
                "iam/user_policies/ops.tr",
                r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Principal":{"AWS":"arn:aws:iam::111111111111:root"}}]}"#,
            ),
            ("iam/user_policies/README.rst", "not a policy"),
            ("iam/instance_policies/common.iam", POLICY),
            ("iam/group_membership/dev/a@example.com.grp", "dev\nops"),
            ("iam/group_membership/dev/b.grp", ""),
        ]);
        let cfg = aws("[iam]\nrole_prefix=sila\nrole_prefix@prod=p\nnaked_roles=ops\naccount_id@dev=123456789012\n");
        let spec = IamSpec::load(&ConfigDir::new(dir.path()), Some(&cfg), "dev").unwrap();
        assert_eq!(spec.user_policies.keys().collect::<Vec<_>>(), ["dev", "ops"]);
        assert!(spec.user_policies["ops"].trust.is_some() && spec.user_policies["dev"].trust.is_none());
        assert_eq!(spec.memberships["a@example.com"].iter().collect::<Vec<_>>(), ["dev", "ops"]);
        assert!(spec.memberships["b"].is_empty());
        assert_eq!(spec.account_id.as_deref(), Some("123456789012"));
        assert_eq!(spec.group_name("dev"), "disco_dev");
        assert!(spec.owns_group("disco_x") && !spec.owns_group("discothek") && !spec.owns_group("admins"));
        assert_eq!(spec.role_name("dev"), "sila_dev_dev");
        assert_eq!(spec.role_name("ops"), "ops");
        assert_eq!(spec.owned_role_prefix().as_deref(), Some("sila_dev_"));
        assert_eq!(IamSpec::instance_name("common"), "instance_common");
    }

    #[test]
    fn a_missing_version_is_made_explicit_when_that_means_the_same() {
        let dir = tree(&[
            ("iam/user_policies/plain.iam", r#"{"Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}"#),
            (
                "iam/user_policies/vars.iam",
                r#"{"Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::b/${aws:username}/*"}]}"#,
            ),
            ("iam/group_membership/dev/x.grp", ""),
        ]);
        let spec = IamSpec::load(&ConfigDir::new(dir.path()), None, "dev").unwrap();
        assert_eq!(spec.user_policies["plain"].policy.document["Version"], "2012-10-17");
        assert!(spec.user_policies["vars"].policy.document.get("Version").is_none());
        assert_eq!(spec.warnings.len(), 2, "both still warned about: {:?}", spec.warnings);
    }

    #[test]
    fn reference_vector_102() {
        let dir = tree(&[("iam/user_policies/iamuser.iam", POLICY), ("iam/group_membership/dev/x.grp", "")]);
        let cfg = aws("[iam]\nrole_prefix=disco\nnaked_roles=SecurityMonkey\n");
        let spec = IamSpec::load(&ConfigDir::new(dir.path()), Some(&cfg), "dev").unwrap();
        assert_eq!(spec.role_name("iamuser"), "disco_dev_iamuser");
        assert_eq!(spec.role_name("SecurityMonkey"), "SecurityMonkey");
        assert_eq!(spec.group_name("cloudhealth"), "disco_cloudhealth");
        assert_eq!(IamSpec::instance_name("disco_common"), "instance_disco_common");
    }

    #[test]
    fn bad_input_is_refused_with_the_file() {
        let dir = tree(&[
            ("iam/user_policies/dev.iam", "{\n  \"Version\": \"2012-10-17\",\n  \"Statement\": [\n"),
            ("iam/group_membership/dev/a.grp", "dev\nnosuch"),
        ]);
        let err = IamSpec::load(&ConfigDir::new(dir.path()), None, "dev").unwrap_err().to_string();
        assert!(err.contains("user_policies/dev.iam:4: error: not valid JSON"), "{err}");
        assert!(err.contains("a.grp:2: error: group \"nosuch\""), "{err}");
        let err = IamSpec::load(&ConfigDir::new(dir.path()), None, "prdo").unwrap_err().to_string();
        assert!(err.contains("unknown account environment \"prdo\"") && err.contains("known: dev"), "{err}");
        let err = IamSpec::load(&ConfigDir::new(dir.path()), None, "../dev").unwrap_err().to_string();
        assert!(err.contains("unknown account environment"), "{err}");
    }
}
