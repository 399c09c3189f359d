//! Snapshots of what `sila-vpc` prints for the sample environments, as text and as JSON: the plan
//! of a create, the report of an applied create, an update with nothing to do, the peerings and a
//! destroy's dry run. They were taken before the tools moved onto the shared plan kernel and prove
//! that the move changed no output (ids, times and durations are placeholders: `stable`).

use sila_testkit::{project_root, session, Outcome, Session};

const BIN: &str = env!("CARGO_BIN_EXE_sila-vpc");

fn vpc(s: &Session, args: &[&str]) -> String {
    let out = Outcome::of(s.command(BIN).arg("--config-dir").arg(project_root()).args(args));
    assert!(matches!(out.code, Some(0 | 1)), "{args:?}: {out:?}");
    out.transcript()
}

#[test]
fn the_sample_environments_plans_and_reports() {
    let s = session();
    insta::assert_snapshot!("create_bakery", vpc(&s, &["create", "--name", "bakery", "--type", "bakery"]));
    let create = ["create", "--name", "snap", "--type", "sandbox"];
    insta::assert_snapshot!("create_sandbox_dry_run", vpc(&s, &[&create[..], &["--dry-run"]].concat()));
    insta::assert_snapshot!(
        "create_sandbox_dry_run_json",
        vpc(&s, &[&create[..], &["--dry-run", "--output", "json"]].concat())
    );
    insta::assert_snapshot!("create_sandbox_json", vpc(&s, &[&create[..], &["--output", "json"]].concat()));
    insta::assert_snapshot!("update_sandbox_dry_run", vpc(&s, &["update", "--name", "snap", "--dry-run"]));
    insta::assert_snapshot!("update_sandbox_json", vpc(&s, &["update", "--name", "snap", "--output", "json"]));
    insta::assert_snapshot!("peerings_dry_run", vpc(&s, &["peerings", "--create", "--dry-run"]));
    insta::assert_snapshot!("destroy_sandbox_dry_run", vpc(&s, &["destroy", "--name", "snap", "--dry-run"]));
    insta::assert_snapshot!(
        "destroy_sandbox_dry_run_json",
        vpc(&s, &["destroy", "--name", "snap", "--dry-run", "--output", "json"])
    );
    insta::assert_snapshot!("destroy_sandbox", vpc(&s, &["destroy", "--name", "snap", "--yes"]));
}
