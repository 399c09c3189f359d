//! `sila-iam update` against the emulator, checked with an independent IAM client.

use aws_sdk_iam::Client;
use serde_json::Value;
use sila_testkit::{block_on, project_root, session, FaultRule, Outcome, Session};
use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_sila-iam");

fn sila(s: &Session, config: &Path, args: &[&str]) -> Outcome {
    Outcome::of(s.command(BIN).arg("--config-dir").arg(config).args(args))
}

fn policy(actions: &[&str]) -> String {
    serde_json::json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": actions, "Resource": "*"}]})
        .to_string()
}

const TRUST: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Principal":{"AWS":"arn:aws:iam::123456789012:root"}}]}"#;

/// A config dir with `aws.ini` holding `iam_section` and the given files.
fn config(iam_section: &str, files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("aws.ini"),
        format!("[disco_aws]\ndefault_environment=ci\n\n[iam]\n{iam_section}\n"),
    )
    .unwrap();
    write(dir.path(), files);
    dir
}

fn write(root: &Path, files: &[(&str, &str)]) {
    for (path, text) in files {
        let path = root.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
}

fn names<T>(items: &[T], name: impl Fn(&T) -> &str) -> BTreeSet<String> {
    items.iter().map(|i| name(i).to_string()).collect()
}

fn groups(iam: &Client) -> BTreeSet<String> {
    let out = block_on(iam.list_groups().send()).unwrap();
    names(out.groups(), |g| g.group_name())
}

fn users(iam: &Client) -> BTreeSet<String> {
    let out = block_on(iam.list_users().send()).unwrap();
    names(out.users(), |u| u.user_name())
}

fn roles(iam: &Client) -> BTreeSet<String> {
    let out = block_on(iam.list_roles().send()).unwrap();
    names(out.roles(), |r| r.role_name())
}

fn members(iam: &Client, group: &str) -> BTreeSet<String> {
    let out = block_on(iam.get_group().group_name(group).send()).unwrap();
    names(out.users(), |u| u.user_name())
}

/// IAM answers policy documents URL-encoded.
fn document(text: &str) -> Value {
    let decoded = percent_encoding::percent_decode_str(text).decode_utf8().unwrap();
    serde_json::from_str(&decoded).unwrap_or_else(|e| panic!("{text}: {e}"))
}

fn group_policy(iam: &Client, group: &str) -> Vec<(String, Value)> {
    let listed = block_on(iam.list_group_policies().group_name(group).send()).unwrap();
    listed
        .policy_names()
        .iter()
        .map(|p| {
            let got = block_on(iam.get_group_policy().group_name(group).policy_name(p).send()).unwrap();
            (p.clone(), document(got.policy_document()))
        })
        .collect()
}

fn mutating(s: &Session) -> Vec<String> {
    s.requests().mutating().iter().map(|r| r.action.clone()).collect()
}

#[test]
fn the_sample_from_an_empty_account_then_nothing_to_do() {
    let s = session();
    let iam = s.iam();
    let root = project_root();

    let dry = sila(&s, &root, &["update", "--environment", "dev", "--dry-run"]);
    assert_eq!(dry.code, Some(0), "{dry:?}");
    assert!(dry.stdout.contains("+ create group disco_developer"), "{}", dry.stdout);
    assert!(mutating(&s).is_empty(), "a dry run changes nothing: {:?}", mutating(&s));

    let run = sila(&s, &root, &["update", "--environment", "dev"]);
    assert_eq!(run.code, Some(0), "{run:?}");
    assert!(run.stderr.contains("syncing account 123456789012"), "no account configured: says which: {}", run.stderr);
    assert_eq!(groups(&iam), BTreeSet::from(["disco_developer".to_string()]));
    assert_eq!(members(&iam, "disco_developer"), BTreeSet::from(["alice@example.com".to_string()]));
    let on_group = group_policy(&iam, "disco_developer");
    let file: Value =
        serde_json::from_str(&std::fs::read_to_string(root.join("iam/user_policies/developer.iam")).unwrap()).unwrap();
    assert_eq!(on_group, vec![("developer".to_string(), file)]);
    // The developer policy has a .tr, so its role exists with that trust and the same policy.
    let role = block_on(iam.get_role().role_name("sila_dev_developer").send()).unwrap();
    let trust = document(role.role().unwrap().assume_role_policy_document().unwrap());
    assert_eq!(trust["Statement"][0]["Principal"]["AWS"], "arn:aws:iam::123456789012:root");
    let profile = block_on(iam.get_instance_profile().instance_profile_name("instance_sila_common").send()).unwrap();
    let in_profile = names(profile.instance_profile().unwrap().roles(), |r| r.role_name());
    assert_eq!(in_profile, BTreeSet::from(["instance_sila_common".to_string()]));
    let tags = block_on(iam.list_user_tags().user_name("alice@example.com").send()).unwrap();
    assert!(tags.tags().iter().any(|t| t.key() == "managed_by" && t.value() == "sila-iam"));

    s.forget_requests();
    let again = sila(&s, &root, &["update", "--environment", "dev"]);
    assert_eq!(again.code, Some(0), "{again:?}");
    assert!(again.stdout.contains("nothing to change"), "{}", again.stdout);
    assert!(mutating(&s).is_empty(), "second run: {:?}", mutating(&s));
    // The whole read is a handful of calls, whatever the number of users, groups and roles.
    assert!(s.requests().log.len() <= 4, "{:?}", s.requests().counts);
}

#[test]
fn edits_change_only_what_they_touch_and_strangers_survive() {
    let s = session();
    let iam = s.iam();
    let dir = config(
        "role_prefix=acme\naccount_id@dev=123456789012",
        &[
            ("iam/user_policies/app.iam", &policy(&["s3:GetObject"])),
            ("iam/user_policies/app.tr", TRUST),
            ("iam/user_policies/ops.iam", &policy(&["ec2:*"])),
            ("iam/user_policies/ops.tr", TRUST),
            ("iam/instance_policies/web.iam", &policy(&["s3:GetObject"])),
            ("iam/group_membership/dev/alice.grp", "app ops\n"),
            ("iam/group_membership/dev/bob.grp", "app\n"),
        ],
    );
    // Things the sync does not own.
    block_on(iam.create_user().user_name("carol").send()).unwrap();
    block_on(iam.create_group().group_name("admins").send()).unwrap();
    block_on(iam.add_user_to_group().group_name("admins").user_name("carol").send()).unwrap();
    block_on(iam.create_role().role_name("OrganizationAccountAccessRole").assume_role_policy_document(TRUST).send())
        .unwrap();
    block_on(iam.create_role().role_name("acme_prod_app").assume_role_policy_document(TRUST).send()).unwrap();

    let first = sila(&s, dir.path(), &["update", "--environment", "dev"]);
    assert_eq!(first.code, Some(0), "{first:?}");
    assert!(first.stdout.contains("unmanaged users (never created, tagged or deleted; taken out of groups only with --allow-destructive): carol"), "{}", first.stdout);
    assert!(!first.stderr.contains("note: no [iam] account_id"), "{}", first.stderr);
    assert_eq!(members(&iam, "disco_app"), BTreeSet::from(["alice".to_string(), "bob".to_string()]));
    assert!(roles(&iam).contains("acme_dev_ops") && roles(&iam).contains("instance_web"));

    // Edit a policy, drop bob, add a group, drop the ops policy (its role is owned: destructive).
    write(
        dir.path(),
        &[
            ("iam/user_policies/app.iam", &policy(&["s3:GetObject", "s3:ListBucket"])),
            ("iam/user_policies/data.iam", &policy(&["dynamodb:Query"])),
            ("iam/group_membership/dev/alice.grp", "app data\n"),
        ],
    );
    std::fs::remove_file(dir.path().join("iam/group_membership/dev/bob.grp")).unwrap();
    std::fs::remove_file(dir.path().join("iam/user_policies/ops.iam")).unwrap();
    std::fs::remove_file(dir.path().join("iam/user_policies/ops.tr")).unwrap();

    s.forget_requests();
    let refused = sila(&s, dir.path(), &["update", "--environment", "dev"]);
    assert_eq!(refused.code, Some(2), "{refused:?}");
    assert!(refused.stdout.contains("! delete user bob"), "{}", refused.stdout);
    assert!(refused.stdout.contains("! delete role acme_dev_ops"), "{}", refused.stdout);
    assert!(refused.stdout.contains("! delete group disco_ops"), "{}", refused.stdout);
    assert!(refused.stderr.contains("--allow-destructive"), "{}", refused.stderr);
    assert!(mutating(&s).is_empty(), "refused: nothing changed: {:?}", mutating(&s));

    let run = sila(&s, dir.path(), &["update", "--environment", "dev", "--allow-destructive", "--output", "json"]);
    assert_eq!(run.code, Some(0), "{run:?}");
    let report: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(report["applied"], true);
    let mut planned: Vec<String> =
        report["plan"]["steps"].as_array().unwrap().iter().map(|s| s["action"].as_str().unwrap().to_string()).collect();
    planned.sort();
    assert_eq!(
        planned,
        [
            "add_user_to_group",
            "create_group",
            "delete_group",
            "delete_role",
            "delete_user",
            "put_group_policy",
            "put_group_policy",
            "put_role_policy",
        ],
        "{}",
        run.stdout
    );
    assert_eq!(groups(&iam), ["admins", "disco_app", "disco_data"].map(String::from).into());
    assert_eq!(users(&iam), ["alice", "carol"].map(String::from).into());
    assert_eq!(members(&iam, "disco_app"), BTreeSet::from(["alice".to_string()]));
    assert_eq!(members(&iam, "disco_data"), BTreeSet::from(["alice".to_string()]));
    assert_eq!(members(&iam, "admins"), BTreeSet::from(["carol".to_string()]));
    assert_eq!(
        roles(&iam),
        ["OrganizationAccountAccessRole", "acme_dev_app", "acme_prod_app", "instance_web"].map(String::from).into()
    );
    let app = group_policy(&iam, "disco_app");
    assert_eq!(app.len(), 1);
    assert_eq!(app[0].1["Statement"][0]["Action"], serde_json::json!(["s3:GetObject", "s3:ListBucket"]));
    // The data policy has no .tr and there is no federation: no role is made, and the plan said so.
    assert!(report["plan"]["notes"].to_string().contains("acme_dev_data is not created"), "{}", run.stdout);

    s.forget_requests();
    let again = sila(&s, dir.path(), &["update", "--environment", "dev"]);
    assert_eq!(again.code, Some(0), "{again:?}");
    assert!(mutating(&s).is_empty(), "{:?}", mutating(&s));
}

#[test]
fn the_wrong_account_is_refused() {
    let s = session();
    let files =
        [("iam/user_policies/app.iam", policy(&["s3:GetObject"])), ("iam/group_membership/prod/a.grp", "app".into())];
    let files: Vec<(&str, &str)> = files.iter().map(|(p, t)| (*p, t.as_str())).collect();
    let dir = config("account_id=999999999999\naccount_id@dev=123456789012", &files);
    let run = sila(&s, dir.path(), &["update", "--environment", "prod"]);
    assert_eq!(run.code, Some(1), "{run:?}");
    assert!(
        run.stderr.contains("refusing to sync: the credentials are for account 123456789012")
            && run.stderr.contains("aws.ini:5: [iam] account_id says prod is account 999999999999"),
        "{}",
        run.stderr
    );
    assert!(mutating(&s).is_empty(), "{:?}", mutating(&s));
    assert!(groups(&s.iam()).is_empty());
}

#[test]
fn bad_input_changes_nothing() {
    let s = session();
    let dir = config(
        "",
        &[
            (
                "iam/user_policies/app.iam",
                "{\n  \"Version\": \"2012-10-17\",\n  \"Statement\": [\n    {\"Effect\": \"Allow\"\n",
            ),
            ("iam/group_membership/dev/a.grp", "app"),
        ],
    );
    let run = sila(&s, dir.path(), &["update", "--environment", "dev"]);
    assert_eq!(run.code, Some(1), "{run:?}");
    assert!(run.stderr.contains("iam/user_policies/app.iam:5: error: not valid JSON"), "{}", run.stderr);
    assert_eq!(run.stderr.lines().count(), 1, "one line: {}", run.stderr);
    assert!(s.requests().log.is_empty(), "not a single AWS call: {:?}", s.requests().counts);

    // A valid JSON file that is not an IAM policy.
    write(dir.path(), &[("iam/user_policies/app.iam", r#"{"Version":"2012-10-17","Statement":[{"Effect":"allow"}]}"#)]);
    let run = sila(&s, dir.path(), &["update", "--environment", "dev"]);
    assert_eq!(run.code, Some(1), "{run:?}");
    assert!(run.stderr.contains("app.iam: error: statement 1: \"Effect\" must be"), "{}", run.stderr);

    let unknown = sila(&s, dir.path(), &["update", "--environment", "qa"]);
    assert_eq!(unknown.code, Some(1), "{unknown:?}");
    assert!(unknown.stderr.contains("unknown account environment \"qa\"") && unknown.stderr.contains("known: dev"));
    let usage = sila(&s, dir.path(), &["update"]);
    assert_eq!(usage.code, Some(2), "{usage:?}");
    assert!(s.requests().log.is_empty(), "{:?}", s.requests().counts);
}

#[test]
fn iam_propagation_is_waited_out() {
    let s = session();
    let dir = config(
        "",
        &[("iam/instance_policies/web.iam", &policy(&["s3:GetObject"])), ("iam/group_membership/dev/.keep", "")],
    );
    // A fresh role is not visible to the instance-profile API at once on AWS.
    s.set_faults(1, &[FaultRule::error("AddRoleToInstanceProfile", "NoSuchEntity", 404, 2)]);
    let run = sila(&s, dir.path(), &["update", "--environment", "dev"]);
    assert_eq!(run.code, Some(0), "{run:?}");
    assert_eq!(s.requests().count("AddRoleToInstanceProfile"), 3);
    let profile = block_on(s.iam().get_instance_profile().instance_profile_name("instance_web").send()).unwrap();
    assert_eq!(profile.instance_profile().unwrap().roles().len(), 1);
}

/// Serves `body` once per request on a loopback port, for the SAML metadata download.
fn serve(body: &'static str) -> String {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/metadata.xml", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut buf = [0u8; 4096];
            let _ = stream.read(&mut buf);
            let _ =
                write!(stream, "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len());
        }
    });
    url
}

#[test]
fn federated_roles_trust_the_saml_provider() {
    let s = session();
    let iam = s.iam();
    let metadata: &'static str =
        Box::leak(format!("<EntityDescriptor>{}</EntityDescriptor>", "x".repeat(1100)).into_boxed_str());
    let url = serve(metadata);
    let federation = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRoleWithSAML","Principal":{"Federated":"set by the sync"},"Condition":{"StringEquals":{"SAML:aud":"https://signin.aws.amazon.com/saml"}}}]}"#;
    let dir = config(
        &format!("role_prefix=acme\nsaml_provider_name=corp-idp\nsaml_provider_url={url}"),
        &[
            ("iam/user_policies/app.iam", &policy(&["s3:GetObject"])),
            ("iam/federation/AssumeRolePolicyDocument.iam", federation),
            ("iam/group_membership/dev/a.grp", "app"),
        ],
    );
    let run = sila(&s, dir.path(), &["update", "--environment", "dev"]);
    assert_eq!(run.code, Some(0), "{run:?}");
    let providers = block_on(iam.list_saml_providers().send()).unwrap();
    let arn = "arn:aws:iam::123456789012:saml-provider/corp-idp";
    assert_eq!(names(providers.saml_provider_list(), |p| p.arn().unwrap()), BTreeSet::from([arn.to_string()]));
    let role = block_on(iam.get_role().role_name("acme_dev_app").send()).unwrap();
    let trust = document(role.role().unwrap().assume_role_policy_document().unwrap());
    assert_eq!(trust["Statement"][0]["Principal"]["Federated"], arn);

    let listed = sila(&s, dir.path(), &["listroles", "--federation"]);
    assert!(listed.stdout.lines().any(|l| l.starts_with("acme_dev_app") && l.ends_with(" federated")), "{listed:?}");
    let providers = sila(&s, dir.path(), &["listproviders", "--output", "json"]);
    assert_eq!(serde_json::from_str::<Value>(&providers.stdout).unwrap(), serde_json::json!([arn]));

    s.forget_requests();
    let again = sila(&s, dir.path(), &["update", "--environment", "dev"]);
    assert_eq!(again.code, Some(0), "{again:?}");
    assert!(mutating(&s).is_empty(), "{:?}", mutating(&s));
    // Other providers in the account are never deleted (Asiaq deleted them all).
    block_on(iam.create_saml_provider().name("other").saml_metadata_document(metadata).send()).unwrap();
    let third = sila(&s, dir.path(), &["update", "--environment", "dev"]);
    assert_eq!(third.code, Some(0), "{third:?}");
    assert_eq!(block_on(iam.list_saml_providers().send()).unwrap().saml_provider_list().len(), 2);
}

#[test]
fn listings() {
    let s = session();
    let root = project_root();
    assert_eq!(sila(&s, &root, &["update", "--environment", "dev"]).code, Some(0));
    let users = sila(&s, &root, &["listusers"]);
    assert_eq!(users.stdout, "USER               GROUPS\nalice@example.com  disco_developer\n", "{users:?}");
    let json = sila(&s, &root, &["listusers", "--output", "json"]);
    let json: Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(json, serde_json::json!([{"user": "alice@example.com", "groups": ["disco_developer"]}]));
    let groups = sila(&s, &root, &["listgroups"]);
    assert_eq!(groups.stdout, "GROUP\ndisco_developer\n");
    let policies = sila(&s, &root, &["listgrouppolicies", "--group_name", "disco_developer"]);
    assert_eq!(policies.stdout, "POLICY\ndeveloper\n");
    let doc = sila(&s, &root, &["getgrouppolicy", "--group-name", "disco_developer", "--policy-name", "developer"]);
    let doc: Value = serde_json::from_str(&doc.stdout).unwrap();
    assert_eq!(doc["Statement"][0]["Effect"], "Allow");
    let user_groups = sila(&s, &root, &["listusergroups", "--user_name", "alice@example.com"]);
    assert_eq!(user_groups.stdout, "GROUP\ndisco_developer\n");
    let role_policies = sila(&s, &root, &["listrolepolicies", "--role_name", "instance_sila_common"]);
    assert_eq!(role_policies.stdout, "POLICY\nsila_common\n");
    let profiles = sila(&s, &root, &["listinstanceprofiles", "--output", "json"]);
    let profiles: Value = serde_json::from_str(&profiles.stdout).unwrap();
    assert_eq!(profiles[0]["profile"], "instance_sila_common");
    assert_eq!(profiles[0]["roles"], serde_json::json!(["instance_sila_common"]));
    let missing = sila(&s, &root, &["listusergroups", "--user-name", "nobody"]);
    assert_eq!(missing.code, Some(1), "{missing:?}");
    assert!(missing.stderr.contains("NoSuchEntity"), "{}", missing.stderr);
}

#[test]
fn access_key_rotation() {
    let s = session();
    let iam = s.iam();
    let root = project_root();
    block_on(iam.create_user().user_name("deploy").send()).unwrap();
    let keys = |iam: &Client| {
        let out = block_on(iam.list_access_keys().user_name("deploy").send()).unwrap();
        out.access_key_metadata()
            .iter()
            .map(|k| (k.access_key_id().unwrap().to_string(), k.status().unwrap().as_str().to_string()))
            .collect::<Vec<_>>()
    };

    let dry = sila(&s, &root, &["createkey", "--user-name", "deploy", "--dry-run"]);
    assert_eq!(dry.code, Some(0), "{dry:?}");
    assert!(keys(&iam).is_empty());

    let created = sila(&s, &root, &["createkey", "--user_name", "deploy"]);
    assert_eq!(created.code, Some(0), "{created:?}");
    let (id, status) = keys(&iam).pop().unwrap();
    assert_eq!(status, "Active");
    assert!(created.stdout.starts_with(&format!("[Credentials]\naws_access_key_id = {id}\naws_secret_access_key = ")));
    let secret = created.stdout.lines().nth(2).unwrap().rsplit(' ').next().unwrap().to_string();
    assert!(secret.len() >= 20 && !created.stderr.contains(&secret), "the secret goes to stdout only");

    let listed = sila(&s, &root, &["listkeys", "--user-name", "deploy"]);
    assert!(listed.stdout.lines().nth(1).unwrap().starts_with(&format!("deploy  {id}  Active  ")), "{listed:?}");

    let run = |args: &[&str]| sila(&s, &root, &[args, &["--user-name", "deploy", "--access-key-id", &id]].concat());
    assert_eq!(run(&["deactivatekey"]).code, Some(0));
    assert_eq!(keys(&iam), [(id.clone(), "Inactive".to_string())]);
    assert_eq!(run(&["activatekey"]).code, Some(0));
    assert_eq!(keys(&iam), [(id.clone(), "Active".to_string())]);
    let dry_remove = run(&["removekey", "--dry-run"]);
    assert_eq!(dry_remove.code, Some(0), "{dry_remove:?}");
    assert!(dry_remove.stdout.contains("would remove access key"), "{dry_remove:?}");
    assert_eq!(keys(&iam).len(), 1);
    let removed = run(&["removekey"]);
    assert_eq!(removed.code, Some(0), "{removed:?}");
    assert!(keys(&iam).is_empty());
    let again = run(&["removekey", "--dry-run"]);
    assert_eq!(again.code, Some(1), "{again:?}");
    assert!(again.stderr.contains(&format!("user deploy has no access key {id}")), "{again:?}");

    let json = sila(&s, &root, &["createkey", "--user-name", "deploy", "--output", "json"]);
    let json: Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(json["user"], "deploy");
    assert_eq!(json["access_key_id"].as_str().unwrap(), keys(&iam)[0].0);
    assert!(json["secret_access_key"].as_str().is_some_and(|s| !s.is_empty()));
}

#[test]
fn decode_reaches_sts() {
    let s = session();
    let run = Outcome::of(Command::new(BIN).args(["decode", "--help"]));
    assert_eq!(run.code, Some(0));
    // The emulator has no DecodeAuthorizationMessage: the call is made, and its failure is one clear line.
    let out = sila(&s, &project_root(), &["decode", "--message", "abc", "--max-attempts", "1"]);
    assert_eq!(out.code, Some(1), "{out:?}");
    assert!(out.stderr.starts_with("sila-iam: error: DecodeAuthorizationMessage failed"), "{out:?}");
    assert_eq!(s.requests().count("DecodeAuthorizationMessage"), 1);
}

fn user_tags(iam: &Client, user: &str) -> BTreeSet<(String, String)> {
    let out = block_on(iam.list_user_tags().user_name(user).send()).unwrap();
    out.tags().iter().map(|t| (t.key().to_string(), t.value().to_string())).collect()
}

/// Two account environments in one account, `dev` and `dev_eu`: the `dev` sync owns none of what
/// the `dev_eu` sync made (issue 11, item 7), even with --allow-destructive.
#[test]
fn ownership_is_the_account_environments_own() {
    let s = session();
    let iam = s.iam();
    let dir = config(
        "role_prefix=acme\naccount_id=123456789012",
        &[
            ("iam/user_policies/app.iam", &policy(&["s3:GetObject"])),
            ("iam/user_policies/app.tr", TRUST),
            ("iam/user_policies/legacy.iam", &policy(&["s3:ListBucket"])),
            ("iam/user_policies/legacy.tr", TRUST),
            ("iam/group_membership/dev/alice.grp", "app\n"),
            ("iam/group_membership/dev_eu/erin.grp", "app\n"),
        ],
    );
    let eu = sila(&s, dir.path(), &["update", "--environment", "dev_eu"]);
    assert_eq!(eu.code, Some(0), "{eu:?}");
    assert!(roles(&iam).contains("acme_dev_eu_app"), "{eu:?}");
    // dev_eu's roles as Asiaq made them (untagged), and a dev role the dev config dropped.
    for role in ["acme_dev_eu_old", "acme_dev_gone"] {
        block_on(iam.create_role().role_name(role).assume_role_policy_document(TRUST).send()).unwrap();
    }

    s.forget_requests();
    let dev = sila(&s, dir.path(), &["update", "--environment", "dev", "--dry-run"]);
    assert_eq!(dev.code, Some(0), "{dev:?}");
    let steps: Vec<&str> = dev.stdout.lines().filter(|l| l.starts_with("    + ") || l.starts_with("    ! ")).collect();
    assert!(!steps.iter().any(|l| l.contains("erin") || l.contains("acme_dev_eu_")), "{}", dev.stdout);
    assert!(dev.stdout.contains("! delete role acme_dev_gone"), "{}", dev.stdout);
    assert!(mutating(&s).is_empty(), "{:?}", mutating(&s));

    let dev = sila(&s, dir.path(), &["update", "--environment", "dev", "--allow-destructive"]);
    assert_eq!(dev.code, Some(0), "{dev:?}");
    assert_eq!(users(&iam), ["alice", "erin"].map(String::from).into());
    assert_eq!(members(&iam, "disco_app"), ["alice", "erin"].map(String::from).into());
    assert_eq!(
        roles(&iam),
        ["acme_dev_app", "acme_dev_eu_app", "acme_dev_eu_legacy", "acme_dev_eu_old", "acme_dev_legacy"]
            .map(String::from)
            .into()
    );
    assert!(user_tags(&iam, "alice").contains(&("account_environment".to_string(), "dev".to_string())));
    assert!(user_tags(&iam, "erin").contains(&("account_environment".to_string(), "dev_eu".to_string())));

    // And the other way round: dev_eu's sync leaves dev's user and roles alone; the Asiaq-made role
    // it does own (by name), its config dropped.
    let eu = sila(&s, dir.path(), &["update", "--environment", "dev_eu", "--dry-run"]);
    assert_eq!(eu.code, Some(0), "{eu:?}");
    let steps: Vec<&str> = eu.stdout.lines().filter(|l| l.starts_with("    + ") || l.starts_with("    ! ")).collect();
    assert_eq!(steps.len(), 1, "{}", eu.stdout);
    assert!(steps[0].starts_with("    ! delete role acme_dev_eu_old "), "{}", eu.stdout);
    assert!(eu.stdout.contains("users of other account environments (left alone): alice (dev)"), "{}", eu.stdout);
}

/// Taking anyone the sync does not manage out of a `disco_` group is destructive (issue 11, item 7);
/// a user tagged by an older sila-iam (no account environment) is not the sync's to delete.
#[test]
fn removing_an_unmanaged_user_from_a_group_is_destructive() {
    let s = session();
    let iam = s.iam();
    let dir = config(
        "",
        &[("iam/user_policies/app.iam", &policy(&["s3:GetObject"])), ("iam/group_membership/dev/alice.grp", "app\n")],
    );
    assert_eq!(sila(&s, dir.path(), &["update", "--environment", "dev"]).code, Some(0));
    let old_tag = aws_sdk_iam::types::Tag::builder().key("managed_by").value("sila-iam").build().unwrap();
    block_on(iam.create_user().user_name("carol").send()).unwrap();
    block_on(iam.create_user().user_name("dave").tags(old_tag).send()).unwrap();
    for user in ["carol", "dave"] {
        block_on(iam.add_user_to_group().group_name("disco_app").user_name(user).send()).unwrap();
    }

    s.forget_requests();
    let refused = sila(&s, dir.path(), &["update", "--environment", "dev"]);
    assert_eq!(refused.code, Some(2), "{refused:?}");
    assert!(refused.stdout.contains("! remove user carol from group disco_app"), "{}", refused.stdout);
    assert!(refused.stdout.contains("! remove user dave from group disco_app"), "{}", refused.stdout);
    assert!(!refused.stdout.contains("delete user dave"), "{}", refused.stdout);
    assert!(mutating(&s).is_empty(), "{:?}", mutating(&s));
    assert_eq!(members(&iam, "disco_app"), ["alice", "carol", "dave"].map(String::from).into());

    let run = sila(&s, dir.path(), &["update", "--environment", "dev", "--allow-destructive"]);
    assert_eq!(run.code, Some(0), "{run:?}");
    assert_eq!(members(&iam, "disco_app"), BTreeSet::from(["alice".to_string()]));
    assert_eq!(users(&iam), ["alice", "carol", "dave"].map(String::from).into());
}

/// Without `account_id@E` the sync says loudly which account it changes, on stderr and in the plan.
#[test]
fn an_unpinned_account_is_named_loudly() {
    let s = session();
    let dir = config(
        "",
        &[("iam/user_policies/app.iam", &policy(&["s3:GetObject"])), ("iam/group_membership/dev/a.grp", "app")],
    );
    let run = sila(&s, dir.path(), &["update", "--environment", "dev", "--dry-run"]);
    assert_eq!(run.code, Some(0), "{run:?}");
    assert!(
        run.stderr.contains("sila-iam: WARNING: syncing account 123456789012") && run.stderr.contains("account_id@dev"),
        "{}",
        run.stderr
    );
    assert!(run.stdout.contains("account 123456789012 (unchecked: no [iam] account_id@dev)"), "{}", run.stdout);
    let json = sila(&s, dir.path(), &["update", "--environment", "dev", "--dry-run", "--output", "json"]);
    let report: Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(report["account_checked"], false, "{}", json.stdout);
}

/// Interrupted, every tool exits 130, SIGTERM as SIGINT (issue 11, item 18).
#[test]
fn an_interrupted_sync_exits_130() {
    for signal in ["TERM", "INT"] {
        let s = session();
        s.set_faults(
            1,
            &[FaultRule {
                action: Some("GetAccountAuthorizationDetails".into()),
                delay_ms: Some(10_000),
                ..FaultRule::default()
            }],
        );
        let child = s
            .command(BIN)
            .arg("--config-dir")
            .arg(project_root())
            .args(["update", "--environment", "dev"])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while s.requests().count("GetAccountAuthorizationDetails") == 0 {
            assert!(std::time::Instant::now() < deadline, "the sync never read the account");
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        let kill = Command::new("kill").arg(format!("-{signal}")).arg(child.id().to_string()).status();
        assert!(kill.unwrap().success());
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(130), "SIG{signal}: {:?} {stderr}", out.status);
        assert!(stderr.contains(&format!("interrupted by SIG{signal}")), "{stderr}");
        assert!(mutating(&s).is_empty(), "{:?}", mutating(&s));
    }
}
