//! Snapshots of what `sila-iam update` prints for the sample config, as text and as JSON: the plan
//! from an empty account, the applied sync, and the re-run with nothing to do. Taken before the
//! sync moved onto the shared plan kernel; they prove the move changed no output.

use sila_testkit::{project_root, session, Outcome, Session};

const BIN: &str = env!("CARGO_BIN_EXE_sila-iam");

fn iam(s: &Session, args: &[&str]) -> String {
    let out = Outcome::of(s.command(BIN).arg("--config-dir").arg(project_root()).args(args));
    assert!(matches!(out.code, Some(0 | 1)), "{args:?}: {out:?}");
    out.transcript()
}

#[test]
fn the_sample_sync_plans_and_reports() {
    let s = session();
    let update = ["update", "--environment", "dev"];
    insta::assert_snapshot!("dry_run", iam(&s, &[&update[..], &["--dry-run"]].concat()));
    insta::assert_snapshot!("dry_run_json", iam(&s, &[&update[..], &["--dry-run", "--output", "json"]].concat()));
    insta::assert_snapshot!("applied_json", iam(&s, &[&update[..], &["--output", "json"]].concat()));
    insta::assert_snapshot!("again", iam(&s, &update));
}
