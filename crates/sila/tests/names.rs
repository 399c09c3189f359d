//! `sila sandbox NAME` follows the one rule for environment names before anything is read from or
//! sent to AWS (issue 11): the name becomes a VPC's Name tag and goes into tag filters.

use sila_testkit::{session, Outcome};

const BIN: &str = env!("CARGO_BIN_EXE_sila");

#[test]
fn sandbox_names_with_wildcards_or_underscores_are_refused() {
    let s = session();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("aws.ini"), "[disco_aws]\ndefault_environment=ci\n").unwrap();
    for name in ["scr?tch", "*", "my_box"] {
        // The sandbox's folder exists: only the name is wrong.
        let folder = dir.path().join("sandboxes").join(name);
        std::fs::create_dir_all(&folder).unwrap();
        std::fs::write(folder.join("pipeline.csv"), "sequence,hostclass,min_size\n1,mhcweb,1\n").unwrap();
        let out = Outcome::of(s.command(BIN).arg("--config-dir").arg(dir.path()).args(["sandbox", name, "--dry-run"]));
        assert_eq!(out.code, Some(2), "{name}: {out:?}");
        assert!(out.stderr.contains("sandbox NAME"), "{name}: {}", out.stderr);
    }
    // The tool's own environment (for the sync lines) follows the rule too.
    let folder = dir.path().join("sandboxes/dev");
    std::fs::create_dir_all(&folder).unwrap();
    std::fs::write(
        folder.join("pipeline.csv"),
        "sequence,hostclass,min_size
1,mhcweb,1
",
    )
    .unwrap();
    let out = Outcome::of(s.command(BIN).arg("--config-dir").arg(dir.path()).args(["--env", "c*", "sandbox", "dev"]));
    assert_eq!(out.code, Some(2), "{out:?}");
    assert!(out.stderr.contains("--env"), "{}", out.stderr);
    assert!(s.requests().log.is_empty(), "no AWS call at all: {:?}", s.requests().log);
}
