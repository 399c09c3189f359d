//! Snapshots of what `sila-aws` prints when it plans and runs a pipeline, as text and as JSON:
//! spinup's dry run, the applied spinup, the re-run that changes nothing, a provision's dry run,
//! spindown's dry run and the spindown. Taken before spinup moved to read → pure plan → apply;
//! they prove the move changed no output (ids, times and group name stamps are placeholders).

use sila_testkit::fixtures::{environment, image};
use sila_testkit::{session, Outcome, Session};
use std::path::Path;

const BIN: &str = env!("CARGO_BIN_EXE_sila-aws");

/// Two sequences, the second with a schedule, one hostclass with a static address and one with a
/// data disk; no smoke tests, so the spinup does not wait for one.
const CSV: &str = "sequence,hostclass,min_size,desired_size,max_size,instance_type,smoke_test,extra_disk,iops\n\
1,mhcapi,1,1,2,t3.small,no,,\n\
2,mhcweb,1,2@0 8 * * 1-5:1@0 20 * * *,3,t3.micro,no,20,\n";

fn config(dir: &Path) {
    std::fs::write(
        dir.join("aws.ini"),
        "[disco_aws]\ndefault_environment=ci\nproject_name=acme\ndefault_meta_network=intranet\n\
         default_domain_name=ci.acme.internal\ndefault_ssh_key_name=None\n\n\
         [mhcapi]\nip_address=10.80.0.10\n\n\
         [mhcweb]\nmeta_network=dmz\npublic_ip=True\ntags=team:web,tier:front\nchaos=no\n",
    )
    .unwrap();
    std::fs::write(dir.join("vpc.ini"), "[envtype:sandbox]\nami_stage=tested\ncredential_buckets=ci\n").unwrap();
    std::fs::write(dir.join("pipeline.csv"), CSV).unwrap();
}

fn aws(s: &Session, dir: &Path, args: &[&str]) -> String {
    let out = Outcome::of(s.command(BIN).env("USER", "ci-runner").arg("--config-dir").arg(dir).args(args));
    assert!(matches!(out.code, Some(0 | 1)), "{args:?}: {out:?}");
    out.transcript().replace(&dir.display().to_string(), "<dir>")
}

#[test]
fn a_pipeline_planned_spun_up_and_down() {
    let s = session();
    let ec2 = s.ec2();
    let subnets = [
        ("intranet", "10.80.0.0/24", "us-west-2a"),
        ("intranet", "10.80.1.0/24", "us-west-2b"),
        ("dmz", "10.80.2.0/24", "us-west-2a"),
    ];
    environment(&ec2, "ci", "sandbox", "10.80.0.0/16", &subnets);
    image(&ec2, "mhcapi 0000000100", &[("stage", "tested")]);
    image(&ec2, "mhcweb 0000000200", &[("stage", "tested")]);
    image(&ec2, "mhcweb 0000000300", &[("stage", "untested")]);
    let dir = tempfile::tempdir().unwrap();
    config(dir.path());
    let csv = dir.path().join("pipeline.csv").display().to_string();
    let spinup = ["spinup", "--pipeline", csv.as_str()];

    insta::assert_snapshot!("spinup_dry_run", aws(&s, dir.path(), &[&spinup[..], &["--dry-run"]].concat()));
    insta::assert_snapshot!(
        "spinup_dry_run_json",
        aws(&s, dir.path(), &[&spinup[..], &["--dry-run", "--output", "json"]].concat())
    );
    insta::assert_snapshot!("spinup", aws(&s, dir.path(), &spinup));
    insta::assert_snapshot!("spinup_again_json", aws(&s, dir.path(), &[&spinup[..], &["--output", "json"]].concat()));
    insta::assert_snapshot!(
        "provision_dry_run",
        aws(&s, dir.path(), &["provision", "--hostclass", "mhcweb", "--min-size", "2", "--dry-run"])
    );
    let spindown = ["spindown", "--pipeline", csv.as_str()];
    insta::assert_snapshot!("spindown_dry_run", aws(&s, dir.path(), &[&spindown[..], &["--dry-run"]].concat()));
    insta::assert_snapshot!("spindown_json", aws(&s, dir.path(), &[&spindown[..], &["--output", "json"]].concat()));
}
