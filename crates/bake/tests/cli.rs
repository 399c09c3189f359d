//! The command-line contract every Sila tool shares (help, global options, usage errors), and the
//! range checks of durations and counts that keep user input from ever panicking.

use sila_testkit::{project_root, session, Outcome};

const BIN: &str = env!("CARGO_BIN_EXE_sila-bake");

#[test]
fn cli_contract() {
    sila_testkit::assert_cli_contract(std::path::Path::new(BIN));
}

#[test]
fn an_unreachable_endpoint_is_one_line_soon() {
    let root = project_root().display().to_string();
    sila_testkit::assert_unreachable_endpoint_is_one_line(
        std::path::Path::new(BIN),
        &["--config-dir", &root, "listamis"],
    );
}

#[test]
fn huge_durations_and_counts_are_refused_before_any_call() {
    let s = session();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("aws.ini"),
        "[disco_aws]\ndefault_environment=ci\n\n[bake]\nami_stages=untested tested\nbakery_environment=bakery\n\
         ami_available_wait_time=99999999999999999999\n\n[mhcweb]\nphase=2\n",
    )
    .unwrap();
    let sila = |args: &[&str]| Outcome::of(s.command(BIN).arg("--config-dir").arg(dir.path()).args(args));
    s.forget_requests();
    for args in [
        &["bake", "--hostclass", "mhcweb", "--deadline", "500000000000y", "--dry-run"][..],
        &["reap", "--older-than", "500000000000y", "--dry-run"],
        &["liststragglers", "--days", "999999999999999999"],
        &["cleanupamis", "--stage", "untested", "--age", "999999999999999999", "--dry-run"],
    ] {
        let out = sila(args);
        assert_eq!(out.code, Some(2), "{args:?}: {out:?}");
        assert_eq!(out.stderr.lines().filter(|l| l.contains("error")).count(), 1, "{args:?}: {out:?}");
    }
    // A wait time in the config: the file and line, before anything is asked of AWS.
    let out = sila(&["bake", "--hostclass", "mhcweb", "--source-ami", "ami-0000000000000de12", "--dry-run"]);
    assert_eq!(out.code, Some(1), "{out:?}");
    assert!(out.stderr.contains("aws.ini:7: ") && out.stderr.contains("ami_available_wait_time"), "{out:?}");
    assert!(s.requests().log.is_empty(), "{:?}", s.requests().log);
}

/// Every `--help` page, as it was when the snapshot was taken: flags, defaults and wording change
/// only on purpose (`cargo insta review` shows the difference).
#[test]
fn help_pages_are_unchanged() {
    insta::assert_snapshot!(sila_testkit::help_pages(std::path::Path::new(env!("CARGO_BIN_EXE_sila-bake"))));
}
