use super::check;
use crate::config::ConfigDir;
use crate::diag::{Diagnostic, Severity};
use std::path::{Path, PathBuf};

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn fixture() -> Option<PathBuf> {
    let path = repo_root().join("../shared/fixtures/asiaq-sample-config");
    path.is_dir().then_some(path)
}

fn errors(diags: &[Diagnostic]) -> Vec<String> {
    diags.iter().filter(|d| d.is_error()).map(ToString::to_string).collect()
}

/// A diagnostic whose file name ends with `file`, at `line`, mentioning `needle`.
fn has(diags: &[Diagnostic], severity: Severity, file: &str, line: Option<usize>, needle: &str) -> bool {
    diags.iter().any(|d| {
        d.severity == severity
            && d.path.to_string_lossy().ends_with(file)
            && d.line == line
            && d.message.contains(needle)
    })
}

#[test]
fn the_repo_sample_config_is_spotless() {
    let diags = check(&ConfigDir::new(repo_root()));
    assert!(diags.is_empty(), "{:#?}", diags.iter().map(ToString::to_string).collect::<Vec<_>>());
}

#[test]
fn asiaq_sample_config_has_no_errors_and_its_quirks_are_warnings() {
    let Some(dir) = fixture() else {
        eprintln!("skipped: shared/fixtures/asiaq-sample-config is not beside the repo");
        return;
    };
    let diags = check(&ConfigDir::new(&dir));
    assert!(errors(&diags).is_empty(), "{:#?}", errors(&diags));
    let w = Severity::Warning;
    assert!(has(&diags, w, "iam/user_policies/iamuser.iam", None, "trailing comma"));
    assert!(has(&diags, w, "iam/user_policies/billviewer.iam", None, "no \"Version\""));
    assert!(has(&diags, w, "pipelines/build.csv", Some(4), "mhcjenkinsrelay has no [mhcjenkinsrelay] section"));
    assert!(has(&diags, w, "disco_vpc.ini", Some(41), "tunnel_key is not used"));
    assert!(has(&diags, w, "disco_vpc.ini", Some(151), "10.1.0.22/16 has host bits set"));
    assert!(has(&diags, w, "discoroot/acfg.metadata", Some(6), "discoroot/etc/resolv.conf does not exist"));
}

/// Writes `files` (path, content) under a fresh temp dir.
fn tree(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (path, content) in files {
        let full = dir.path().join(path);
        std::fs::create_dir_all(full.parent().unwrap()).unwrap();
        std::fs::write(full, content).unwrap();
    }
    dir
}

const AWS_OK: &str = "[disco_aws]\ndefault_environment=ci\ndefault_meta_network=intranet\n";

#[test]
fn every_problem_is_reported_with_its_line() {
    let dir = tree(&[
        (
            "disco_aws.ini",
            "[disco_aws]\ndefault_environment=ci\ndefault_meta_network=intranet\ndefault_instance_profile_name=instance_nope\n\
             [bake]\nami_stages=untested tested\nphase1_ami_name=missing_phase1\n\
             [mhcfoo]\nmeta_network=dmzz\nip_address=10.0.0.1.5\ntags=team:x,oops\nphase=3\npublic_ip=on\n\
             [mhcstatic]\nmeta_network=tunnel\nip_address@good=10.7.99.5\n",
        ),
        (
            "disco_vpc.ini",
            "[envtype:ci]\nvpc_cidr=10.9.0.0/16\nintranet_cidr=10.9.0.0/20\ntunnel_cidr=10.9.8.0/20\n\
             intranet_sg_rules=tcp all\ntunnel_sg_rules=tcp dmz 22\ntunnel_nat_gateways=1.2.3.4\n\
             nat_gateway_routes=intranet/dmz\nvpc_cidr_size=40\nfancy=1\n\
             [envtype:small]\nvpc_cidr=10.8.0.0/30\nintranet_cidr=auto\ntunnel_cidr=auto\ndmz_cidr=auto\n\
             [peerings]\nconnection_1=ci/intranet ci/tunnel small/intranet\nconnection_2=ci/dmz small/intranet\n\
             [envtype:good]\nvpc_cidr=10.7.0.0/16\ntunnel_cidr=10.7.16.0/20\n",
        ),
        ("pipelines/ci.csv", "sequence,hostclass,min_size\n1,mhcfoo,1@61 * * * *\n,mhcstatic,1\nx,mhcfoo,1\n"),
        ("iam/user_policies/good.iam", "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"*\",\"Resource\":\"*\"}]}"),
        ("iam/user_policies/broken.iam", "{\n  \"Statement\": [\n    {\"Effect\": \"Allow\" \"Action\": \"*\"}\n  ]\n}\n"),
        ("iam/group_membership/dev/bob.grp", "good\nnosuchgroup\n"),
        ("discoroot/acfg.metadata", "/etc/x 0644 root\n/etc/y 0999 root root\n"),
        ("disco_alarms.ini", "[notifications]\nteam_ci_critical=ftp://x\n[x.y]\nthreshold_max=abc\n"),
    ]);
    let diags = check(&ConfigDir::new(dir.path()));
    let e = Severity::Error;
    let expect = [
        ("disco_aws.ini", Some(4), "instance_nope has no iam/instance_policies/nope.iam"),
        ("disco_aws.ini", Some(7), "no [missing_phase1] section"),
        ("disco_aws.ini", Some(9), "\"dmzz\" is not one of intranet"),
        ("disco_aws.ini", Some(10), "ip_address"),
        ("disco_aws.ini", Some(11), "tag \"oops\" is not key:value"),
        ("disco_aws.ini", Some(12), "phase must be 1 or 2"),
        ("disco_aws.ini", Some(16), "10.7.99.5 is in none of the tunnel subnets of good"),
        ("disco_vpc.ini", Some(3), "overlap"),
        ("disco_vpc.ini", Some(5), "Cannot make heads or tails"),
        ("disco_vpc.ini", Some(6), "dmz"),
        ("disco_vpc.ini", Some(7), "tunnel_nat_gateways"),
        ("disco_vpc.ini", Some(8), "nat_gateway_routes: intranet/dmz"),
        ("disco_vpc.ini", Some(9), "vpc_cidr_size must be a prefix length"),
        ("disco_vpc.ini", Some(13), "Cannot divide 10.8.0.0/32 into 3 pieces"),
        ("disco_vpc.ini", Some(12), "vpc_cidr: AWS VPCs are /16 to /28"),
        ("disco_vpc.ini", Some(17), "connection_1"),
        ("disco_vpc.ini", Some(18), "type ci has no dmz metanetwork"),
        ("pipelines/ci.csv", Some(2), ""),
        ("pipelines/ci.csv", Some(3), "has no sequence"),
        ("pipelines/ci.csv", Some(4), ""),
        ("iam/user_policies/broken.iam", Some(3), "not valid JSON"),
        ("iam/group_membership/dev/bob.grp", Some(2), "group \"nosuchgroup\" has no iam/user_policies/nosuchgroup.iam"),
        ("discoroot/acfg.metadata", Some(1), ""),
        ("discoroot/acfg.metadata", Some(2), ""),
        ("disco_alarms.ini", Some(2), "neither an email address nor an http(s) URL"),
        ("disco_alarms.ini", Some(4), "threshold_max must be a whole number"),
    ];
    let all: Vec<String> = diags.iter().map(ToString::to_string).collect();
    for (file, line, needle) in expect {
        assert!(has(&diags, e, file, line, needle), "missing error {file}:{line:?} {needle:?} in\n{all:#?}");
    }
    assert!(has(&diags, Severity::Warning, "disco_aws.ini", Some(13), "\"on\" counts as false"), "{all:#?}");
    assert!(has(&diags, Severity::Warning, "disco_vpc.ini", Some(10), "unknown option \"fancy\""), "{all:#?}");
    // Sorted by file then line, errors before warnings on the same line.
    let mut sorted = diags.clone();
    sorted.sort_by(|a, b| (&a.path, a.line, a.severity).cmp(&(&b.path, b.line, b.severity)));
    assert_eq!(sorted, diags);
}

#[test]
fn ini_syntax_errors_are_reported_and_the_rest_still_checked() {
    let dir = tree(&[("disco_aws.ini", "orphan=1\n[disco_aws]\n"), ("pipelines/p.csv", "hostclass\nmhcx\n")]);
    let diags = check(&ConfigDir::new(dir.path()));
    assert!(has(&diags, Severity::Error, "disco_aws.ini", Some(1), "option before any [section] header"), "{diags:#?}");
}

#[test]
fn sila_names_win_over_asiaq_names_with_a_warning() {
    let dir = tree(&[("config/aws.ini", AWS_OK), ("disco_aws.ini", "this is not ini\n")]);
    let diags = check(&ConfigDir::new(dir.path()));
    assert!(errors(&diags).is_empty(), "{diags:#?}");
    assert!(has(&diags, Severity::Warning, "disco_aws.ini", None, "ignored:"));
}

#[test]
fn a_dir_without_aws_ini_is_an_error() {
    let dir = tree(&[("pipelines/x.csv", "sequence,hostclass\n1,mhcx\n")]);
    let diags = check(&ConfigDir::new(dir.path()));
    assert_eq!(errors(&diags).len(), 1, "{diags:#?}");
    assert!(errors(&diags)[0].contains("no aws.ini"));
}

#[test]
fn env_sections_are_planned_with_their_type() {
    let vpc = "[envtype:ci]\nvpc_cidr=10.9.0.0/16\nintranet_cidr=10.9.0.0/20\ntunnel_cidr=10.9.16.0/20\n\
               intranet_sg_rules=tcp tunnel 22\n\
               [env:ci]\nvpc_cidr=10.5.0.0/16\nintranet_cidr=10.5.0.0/20\ntunnel_cidr=10.5.16.0/20\n\
               [env:outside]\nvpc_cidr=10.7.0.0/16\nintranet_cidr=10.7.0.0/20\ntunnel_cidr=10.8.0.0/20\n\
               [env:overlap]\nvpc_cidr=10.6.0.0/16\nintranet_cidr=10.6.0.0/20\ntunnel_cidr=10.6.8.0/24\n\
               [env:rules]\ndmz_sg_rules=tcp maintenance 22\nintranet_sg_rules=tcp dmz 22\n";
    let dir = tree(&[("disco_aws.ini", AWS_OK), ("disco_vpc.ini", vpc)]);
    let diags = check(&ConfigDir::new(dir.path()));
    let e = Severity::Error;
    // A metanetwork outside the section's own vpc_cidr, at that metanetwork's line.
    assert!(
        has(&diags, e, "disco_vpc.ini", Some(13), "10.8.0.0/20 is not inside the VPC CIDR 10.7.0.0/16"),
        "{diags:#?}"
    );
    // Overlapping metanetworks there.
    assert!(
        has(&diags, e, "disco_vpc.ini", Some(16), "[env:overlap] as type ci: intranet_cidr 10.6.0.0/20 overlaps"),
        "{diags:#?}"
    );
    // A rule naming a metanetwork the environment does not have.
    assert!(has(&diags, e, "disco_vpc.ini", Some(20), "[env:rules] as type ci: intranet_sg_rules"), "{diags:#?}");
    // A consistent [env:ci] (its own addresses) is fine, and nothing is reported twice.
    assert!(!diags.iter().any(|d| d.message.contains("[env:ci]")), "{diags:#?}");
    assert_eq!(errors(&diags).len(), 3, "{:#?}", errors(&diags));
}
