//! `sila` itself: the shared command-line contract, and `check` on real config dirs.

use sila_testkit::{assert_cli_contract, project_root, Outcome};
use std::path::Path;
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_sila");

fn sila() -> Command {
    let mut c = Command::new(BIN);
    c.env_remove("SILA_CONFIG_DIR").env_remove("ASIAQ_CONFIG");
    c
}

#[test]
fn cli_contract() {
    assert_cli_contract(Path::new(BIN));
}

#[test]
fn check_passes_on_the_repo_sample_config() {
    let out = Outcome::of(sila().args(["check", "--config-dir"]).arg(project_root()));
    assert_eq!(out.code, Some(0), "{out:?}");
    assert_eq!(out.stdout, "", "the sample config is spotless");
    assert!(out.stderr.contains("0 error(s), 0 warning(s)"), "{}", out.stderr);
}

#[test]
fn check_passes_on_asiaq_sample_config_with_warnings() {
    let fixture = project_root().join("../shared/fixtures/asiaq-sample-config");
    if !fixture.is_dir() {
        eprintln!("skipped: {} is not there", fixture.display());
        return;
    }
    let out = Outcome::of(sila().args(["check", "--output", "json", "--config-dir"]).arg(&fixture));
    assert_eq!(out.code, Some(0), "{out:?}");
    let report: serde_json::Value = serde_json::from_str(&out.stdout).expect("JSON");
    assert_eq!(report["errors"], 0, "{report:#}");
    assert!(report["warnings"].as_u64().unwrap() > 0);
    let first = &report["diagnostics"][0];
    for key in ["severity", "path", "line", "message"] {
        assert!(first.get(key).is_some(), "diagnostic lacks {key}: {first}");
    }
}

#[test]
fn config_dir_falls_back_to_asiaq_config_then_cwd() {
    let broken = tempfile::tempdir().unwrap();
    std::fs::write(
        broken.path().join("disco_aws.ini"),
        "[disco_aws]\ndefault_environment=ci\n[mhcx]\nmeta_network=nowhere\n",
    )
    .unwrap();
    // ASIAQ_CONFIG is honoured...
    let out = Outcome::of(sila().arg("check").env("ASIAQ_CONFIG", broken.path()));
    assert_eq!(out.code, Some(1), "{out:?}");
    assert!(
        out.stdout.contains("disco_aws.ini:4: error: [mhcx] meta_network: \"nowhere\" is not one of"),
        "{}",
        out.stdout
    );
    // ...SILA_CONFIG_DIR wins over it...
    let out =
        Outcome::of(sila().arg("check").env("ASIAQ_CONFIG", broken.path()).env("SILA_CONFIG_DIR", project_root()));
    assert_eq!(out.code, Some(0), "{out:?}");
    // ...and without either, the current directory is the config dir.
    let out = Outcome::of(sila().arg("check").current_dir(broken.path()));
    assert_eq!(out.code, Some(1), "{out:?}");
    assert!(out.stdout.starts_with("./disco_aws.ini:4: error:"), "{}", out.stdout);
}

#[test]
fn check_of_a_missing_dir_is_a_usage_error() {
    let out = Outcome::of(sila().args(["check", "--config-dir", "/nonexistent/sila"]));
    assert_eq!(out.code, Some(2), "{out:?}");
    assert!(out.stderr.contains("/nonexistent/sila is not a directory"), "{}", out.stderr);
}

#[test]
fn global_flags_before_the_tool_name_reach_the_tool() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("aws.ini"),
        "[disco_aws]\ndefault_environment=ci\n[mhcweb]\nmeta_network=dmz\nmeta_network@prod=edge\n",
    )
    .unwrap();
    let out = Outcome::of(
        sila()
            .arg("--config-dir")
            .arg(dir.path())
            .args(["--output", "json", "--env", "prod", "aws", "gethostclassoption", "--hostclass", "mhcweb"])
            .args(["--option", "meta_network"]),
    );
    assert_eq!(out.code, Some(0), "{out:?}");
    let answer: serde_json::Value = serde_json::from_str(&out.stdout).expect("JSON");
    assert_eq!(answer["value"], "edge", "{answer}");
}

/// Every `--help` page, as it was when the snapshot was taken: flags, defaults and wording change
/// only on purpose (`cargo insta review` shows the difference).
#[test]
fn help_pages_are_unchanged() {
    insta::assert_snapshot!(sila_testkit::help_pages(std::path::Path::new(env!("CARGO_BIN_EXE_sila"))));
}
