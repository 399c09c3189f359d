use super::*;
use crate::config::{AwsConfig, ConfigDir};
use crate::iam::spec::Owner;
use crate::ini::Ini;
use std::path::Path;

const DEV: &str =
    r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["ec2:Describe*","s3:Get*"],"Resource":"*"}]}"#;
const OPS: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#;
const TRUST: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Principal":{"AWS":"arn:aws:iam::111111111111:root"}}]}"#;
const FEDERATION: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRoleWithSAML","Principal":{"Federated":"placeholder"}}]}"#;

fn spec_with(extra: &[(&str, &str)], ini: &str) -> (tempfile::TempDir, IamSpec) {
    let dir = tempfile::tempdir().unwrap();
    let mut files = vec![
        ("iam/user_policies/dev.iam", DEV),
        ("iam/user_policies/ops.iam", OPS),
        ("iam/user_policies/ops.tr", TRUST),
        ("iam/instance_policies/common.iam", DEV),
        ("iam/group_membership/dev/alice.grp", "dev ops"),
        ("iam/group_membership/dev/bob.grp", "dev"),
    ];
    files.extend_from_slice(extra);
    for (path, text) in files {
        let path = dir.path().join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    let aws = AwsConfig::new(Ini::parse(Path::new("aws.ini"), ini).unwrap());
    let spec = IamSpec::load(&ConfigDir::new(dir.path()), Some(&aws), "dev").unwrap();
    (dir, spec)
}

fn spec() -> (tempfile::TempDir, IamSpec) {
    spec_with(&[], "[iam]\nrole_prefix=sila\n")
}

fn account() -> LiveIam {
    LiveIam { account_id: "123456789012".into(), partition: "aws".into(), ..LiveIam::default() }
}

fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap()
}

/// The account exactly as the sync of `spec()` leaves it (with layout differences and an Asiaq-style
/// timestamp-named policy, which must not count as changes).
fn synced() -> LiveIam {
    let mut live = account();
    let policies = |name: &str, doc: &str| BTreeMap::from([(name.to_string(), json(doc))]);
    live.groups.insert("disco_dev".into(), LiveGroup { policies: policies("dev_2016-01-14T00.00.00.123456", DEV) });
    live.groups.insert(
        "disco_ops".into(),
        LiveGroup {
            policies: policies(
                "ops",
                r#"{"Statement":{"Effect":"Allow","Action":["*"],"Resource":"*"},"Version":"2012-10-17"}"#,
            ),
        },
    );
    live.roles.insert(
        "sila_dev_ops".into(),
        LiveRole { trust: Some(json(TRUST)), policies: policies("ops", OPS), owner: dev() },
    );
    live.roles.insert(
        "instance_common".into(),
        LiveRole { trust: Some(ec2_trust()), policies: policies("common", DEV), owner: Owner::Untagged },
    );
    live.profiles.insert("instance_common".into(), vec!["instance_common".into()]);
    let user = |groups: &[&str]| LiveUser { groups: groups.iter().map(|g| g.to_string()).collect(), owner: dev() };
    live.users.insert("alice".into(), user(&["disco_dev", "disco_ops"]));
    live.users.insert("bob".into(), user(&["disco_dev"]));
    live
}

/// Tagged by the sync of account environment `dev`.
fn dev() -> Owner {
    Owner::Environment("dev".into())
}

fn lines(plan: &IamPlan) -> Vec<String> {
    plan.changes
        .steps
        .iter()
        .map(|s| format!("{}{} {}", s.step.level(), if s.destructive { "!" } else { "+" }, s.step))
        .collect()
}

#[test]
fn from_an_empty_account() {
    let (_dir, spec) = spec();
    let plan = plan_sync(&spec, &account(), None).unwrap();
    assert_eq!(
        lines(&plan),
        [
            "1+ create user alice",
            "1+ create user bob",
            "1+ create group disco_dev",
            "1+ create group disco_ops",
            "1+ create instance profile instance_common",
            "2+ put policy dev on group disco_dev",
            "2+ add user alice to group disco_dev",
            "2+ add user bob to group disco_dev",
            "2+ put policy ops on group disco_ops",
            "2+ add user alice to group disco_ops",
            "2+ create role sila_dev_ops",
            "2+ create role instance_common",
            "3+ put policy ops on role sila_dev_ops",
            "3+ put policy common on role instance_common",
            "3+ add role instance_common to instance profile instance_common",
        ]
    );
    assert_eq!(plan.changes.levels().len(), 3);
    // The dev policy has no trust document and no federation: its role is not made, and the plan says why.
    assert!(
        plan.changes.notes.iter().any(|n| n.contains("role sila_dev_dev is not created: no trust document")),
        "{:?}",
        plan.changes.notes
    );
    let create = plan.changes.steps.iter().find(|s| s.step.to_string() == "create role instance_common").unwrap();
    let IamStep::CreateRole { trust, .. } = &create.step else { panic!() };
    assert!(trust.contains("ec2.amazonaws.com"));
}

#[test]
fn a_synced_account_needs_nothing() {
    let (_dir, spec) = spec();
    let plan = plan_sync(&spec, &synced(), None).unwrap();
    assert!(plan.is_empty(), "{:?}", lines(&plan));
}

#[test]
fn edits_change_only_what_they_touch() {
    let (_dir, spec) = spec_with(
        &[
            ("iam/user_policies/dev.iam", OPS),
            ("iam/user_policies/new.iam", DEV),
            ("iam/group_membership/dev/bob.grp", "new"),
        ],
        "[iam]\nrole_prefix=sila\n",
    );
    let mut live = synced();
    live.groups.get_mut("disco_dev").unwrap().policies.insert("extra".into(), json(OPS));
    let plan = plan_sync(&spec, &live, None).unwrap();
    assert_eq!(
        lines(&plan),
        [
            "1+ create group disco_new",
            "2+ delete policy dev_2016-01-14T00.00.00.123456 of group disco_dev",
            "2+ remove user bob from group disco_dev",
            "2+ put policy new on group disco_new",
            "2+ add user bob to group disco_new",
        ]
    );
    let delete = &plan.changes.steps[1];
    assert_eq!(delete.reason, "not in iam/user_policies/dev.iam");
}

#[test]
fn dropped_items_are_destructive_and_strangers_are_left_alone() {
    let (_dir, spec) = spec();
    let mut live = synced();
    // Owned, dropped from the config:
    live.users.insert("carol".into(), LiveUser { groups: ["disco_dev".to_string()].into(), owner: dev() });
    live.groups.insert("disco_gone".into(), LiveGroup::default());
    live.roles.insert("sila_dev_gone".into(), LiveRole::default());
    live.roles.insert("instance_gone".into(), LiveRole::default());
    live.profiles.insert("instance_gone".into(), vec!["instance_gone".into()]);
    live.profiles.insert("instance_empty".into(), vec![]);
    // Not owned:
    live.users.insert(
        "dave".into(),
        LiveUser { groups: ["disco_dev".to_string(), "admins".to_string()].into(), owner: Owner::Untagged },
    );
    live.groups.insert("admins".into(), LiveGroup::default());
    live.roles.insert("sila_prod_ops".into(), LiveRole::default());
    live.roles.insert("OrganizationAccountAccessRole".into(), LiveRole::default());
    live.profiles.insert("ecsInstanceRole".into(), vec![]);
    let plan = plan_sync(&spec, &live, None).unwrap();
    assert_eq!(
        lines(&plan),
        [
            "2! remove user dave from group disco_dev",
            "4! delete user carol",
            "4! delete instance profile instance_empty",
            "5! delete group disco_gone",
            "5! delete role instance_gone and instance profile instance_gone",
            "5! delete role sila_dev_gone",
        ]
    );
    assert_eq!(plan.changes.destructive().len(), 6);
    assert_eq!(plan.unmanaged.users, ["dave"]);
    assert_eq!(plan.unmanaged.groups, ["admins"]);
    assert_eq!(plan.unmanaged.roles, ["OrganizationAccountAccessRole", "sila_prod_ops"]);
    assert_eq!(plan.unmanaged.instance_profiles, ["ecsInstanceRole"]);
}

#[test]
fn blacklist_naked_roles_and_adoption() {
    let (_dir, spec) = spec_with(&[], "[iam]\nrole_prefix=sila\npolicy_blacklist@dev=ops\nnaked_roles=dev\n");
    let mut live = synced();
    live.users.get_mut("bob").unwrap().owner = Owner::Untagged;
    live.roles.insert("dev".into(), LiveRole { trust: Some(json(TRUST)), ..LiveRole::default() });
    let plan = plan_sync(&spec, &live, None).unwrap();
    assert_eq!(
        lines(&plan),
        [
            "1+ tag user bob as managed by sila-iam for dev",
            "3+ put policy dev on role dev",
            "5! delete role sila_dev_ops"
        ]
    );
    assert_eq!(plan.changes.steps[2].reason, "ops is in [iam] policy_blacklist");
}

#[test]
fn federation_through_the_saml_provider() {
    let (_dir, spec) = spec_with(
        &[("iam/federation/AssumeRolePolicyDocument.iam", FEDERATION)],
        "[iam]\nrole_prefix=sila\nsaml_provider_name=okta\nsaml_provider_url=https://idp.example.com/metadata\n",
    );
    let plan = plan_sync(&spec, &synced(), Some("<md/>")).unwrap();
    assert_eq!(
        lines(&plan),
        ["1+ create SAML provider okta", "2+ create role sila_dev_dev", "3+ put policy dev on role sila_dev_dev"]
    );
    let IamStep::CreateRole { trust, .. } = &plan.changes.steps[1].step else { panic!() };
    let trust = json(trust);
    assert_eq!(trust["Statement"][0]["Principal"]["Federated"], "arn:aws:iam::123456789012:saml-provider/okta");
    assert!(is_federated(&trust) && !is_federated(&json(TRUST)));
    // Same metadata: nothing; new metadata: an update.
    let mut live = synced();
    live.saml_providers.push(LiveSamlProvider {
        arn: "arn:aws:iam::123456789012:saml-provider/okta".into(),
        metadata: Some("<md/>\n".into()),
    });
    live.roles.insert(
        "sila_dev_dev".into(),
        LiveRole { trust: Some(trust.clone()), policies: BTreeMap::from([("dev".into(), json(DEV))]), owner: dev() },
    );
    assert!(plan_sync(&spec, &live, Some("<md/>")).unwrap().is_empty());
    assert_eq!(
        lines(&plan_sync(&spec, &live, Some("<md2/>")).unwrap()),
        ["1+ update the metadata of SAML provider arn:aws:iam::123456789012:saml-provider/okta"]
    );
    // A federation template without any provider is refused before anything happens.
    let (_dir, bare) =
        spec_with(&[("iam/federation/AssumeRolePolicyDocument.iam", FEDERATION)], "[iam]\nrole_prefix=sila\n");
    let err = plan_sync(&bare, &synced(), None).unwrap_err();
    assert!(err.contains("needs a SAML provider for role sila_dev_dev"), "{err}");
}

#[test]
fn instance_roles_are_repaired_in_place() {
    let (_dir, spec) = spec();
    let mut live = synced();
    live.roles.get_mut("instance_common").unwrap().trust = Some(json(FEDERATION));
    live.profiles.insert("instance_common".into(), vec!["someone_else".into()]);
    let plan = plan_sync(&spec, &live, None).unwrap();
    assert_eq!(
        lines(&plan),
        [
            "2+ replace the trust document of role instance_common",
            "2+ remove role someone_else from instance profile instance_common",
            "3+ add role instance_common to instance profile instance_common",
        ]
    );
}

#[test]
fn prune_empty_groups() {
    let (_dir, spec) = spec_with(
        &[("iam/group_membership/dev/alice.grp", "dev")],
        "[iam]\nrole_prefix=sila\nprune_empty_groups=yes\n",
    );
    let plan = plan_sync(&spec, &synced(), None).unwrap();
    assert_eq!(lines(&plan), ["5! delete group disco_ops"]);
    assert!(plan.changes.steps[0].reason.starts_with("prune_empty_groups"));
}

/// One account, two account environments `dev` and `dev_eu` (issue 11, item 7): what belongs to
/// dev_eu by tag or by name is never dev's, whatever dev's prefix matches.
#[test]
fn ownership_is_scoped_to_the_account_environment() {
    let (_dir, spec) = spec_with(
        &[("iam/group_membership/dev_eu/erin.grp", "dev"), ("iam/group_membership/prod/x.grp", "")],
        "[iam]\nrole_prefix=sila\nrole_prefix@prod=p\n",
    );
    assert!(spec.owns_role_name("sila_dev_gone") && spec.owns_role_name("sila_dev_e"));
    assert!(!spec.owns_role_name("sila_dev_eu_app") && !spec.owns_role_name("sila_prod_x"));
    let mut live = synced();
    let eu = || Owner::Environment("dev_eu".into());
    // dev_eu's: its user (in a shared group), its role by tag, an Asiaq-made role of it by name.
    live.users.insert("erin".into(), LiveUser { groups: ["disco_dev".to_string()].into(), owner: eu() });
    live.roles.insert("sila_dev_eu_ops".into(), LiveRole { owner: eu(), ..LiveRole::default() });
    live.roles.insert("sila_dev_eu_old".into(), LiveRole::default());
    live.roles.insert("sila_dev_moved".into(), LiveRole { owner: eu(), ..LiveRole::default() });
    // dev's: a role by name, one by tag under a prefix dev no longer uses.
    live.roles.insert("sila_dev_gone".into(), LiveRole::default());
    live.roles.insert("old_dev_app".into(), LiveRole { owner: dev(), ..LiveRole::default() });
    // Tagged by an older sila-iam, no environment: not dev's to delete, a stranger in its groups.
    live.users
        .insert("frank".into(), LiveUser { groups: ["disco_dev".to_string()].into(), owner: Owner::NoEnvironment });
    let plan = plan_sync(&spec, &live, None).unwrap();
    assert_eq!(
        lines(&plan),
        ["2! remove user frank from group disco_dev", "5! delete role old_dev_app", "5! delete role sila_dev_gone",]
    );
    assert_eq!(plan.unmanaged.users, ["frank"]);
    assert_eq!(plan.unmanaged.other_environments_users, BTreeMap::from([("erin".into(), "dev_eu".into())]));
    assert_eq!(plan.unmanaged.roles, ["sila_dev_eu_old", "sila_dev_eu_ops", "sila_dev_moved"]);
}

#[test]
fn tags_record_the_account_environment_and_takeovers_are_destructive() {
    let (_dir, spec) = spec_with(&[("iam/user_policies/dev.tr", TRUST)], "[iam]\nrole_prefix=sila\nnaked_roles=ops\n");
    let plan = plan_sync(&spec, &account(), None).unwrap();
    let step = |text: &str| plan.changes.steps.iter().find(|s| s.step.to_string() == text).unwrap().step.clone();
    assert_eq!(
        step("create user alice"),
        IamStep::CreateUser { user: "alice".into(), account_environment: "dev".into() }
    );
    let IamStep::CreateRole { account_environment, .. } = step("create role sila_dev_dev") else { panic!() };
    assert_eq!(account_environment.as_deref(), Some("dev"));
    // Naked and instance roles are named for no environment: no environment tag.
    for role in ["ops", "instance_common"] {
        let IamStep::CreateRole { account_environment, .. } = step(&format!("create role {role}")) else { panic!() };
        assert_eq!(account_environment, None, "{role}");
    }

    let mut live = synced();
    let eu = || Owner::Environment("dev_eu".into());
    live.users.get_mut("alice").unwrap().owner = eu();
    live.users.get_mut("bob").unwrap().owner = Owner::NoEnvironment;
    live.roles.insert(
        "sila_dev_dev".into(),
        LiveRole { trust: Some(json(TRUST)), policies: BTreeMap::from([("dev".into(), json(DEV))]), owner: eu() },
    );
    let ops = live.roles.remove("sila_dev_ops").unwrap();
    live.roles.insert("ops".into(), LiveRole { owner: Owner::Untagged, ..ops });
    let plan = plan_sync(&spec, &live, None).unwrap();
    assert_eq!(
        lines(&plan),
        [
            "1! tag user alice as managed by sila-iam for dev",
            "1+ tag user bob as managed by sila-iam for dev",
            "1! tag role sila_dev_dev as managed by sila-iam for dev",
        ]
    );
    assert!(
        plan.changes.steps[0].reason.contains("tagged account_environment=dev_eu"),
        "{}",
        plan.changes.steps[0].reason
    );
    // An Asiaq-made role of dev is adopted.
    live.roles.get_mut("sila_dev_dev").unwrap().owner = Owner::Untagged;
    live.users.get_mut("alice").unwrap().owner = dev();
    live.users.get_mut("bob").unwrap().owner = dev();
    assert_eq!(
        lines(&plan_sync(&spec, &live, None).unwrap()),
        ["1+ tag role sila_dev_dev as managed by sila-iam for dev"]
    );
}

#[test]
fn a_pruned_group_other_environments_use_is_kept() {
    let (_dir, spec) = spec_with(
        &[("iam/group_membership/dev/alice.grp", "dev"), ("iam/group_membership/dev_eu/erin.grp", "ops")],
        "[iam]\nrole_prefix=sila\nprune_empty_groups=yes\n",
    );
    let mut live = synced();
    live.users.insert(
        "erin".into(),
        LiveUser { groups: ["disco_ops".to_string()].into(), owner: Owner::Environment("dev_eu".into()) },
    );
    let plan = plan_sync(&spec, &live, None).unwrap();
    assert!(plan.is_empty(), "{:?}", lines(&plan));
    assert!(
        plan.changes.notes.iter().any(|n| n.contains("group disco_ops is kept") && n.contains("erin")),
        "{:?}",
        plan.changes.notes
    );
}
