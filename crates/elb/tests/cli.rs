//! The command-line contract every Sila tool shares (help, global options, usage errors).

#[test]
fn cli_contract() {
    sila_testkit::assert_cli_contract(std::path::Path::new(env!("CARGO_BIN_EXE_sila-elb")));
}

/// Every `--help` page, as it was when the snapshot was taken: flags, defaults and wording change
/// only on purpose (`cargo insta review` shows the difference).
#[test]
fn help_pages_are_unchanged() {
    insta::assert_snapshot!(sila_testkit::help_pages(std::path::Path::new(env!("CARGO_BIN_EXE_sila-elb"))));
}

#[test]
fn an_unreachable_endpoint_is_one_line_soon() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("aws.ini"), "[disco_aws]\ndefault_environment=ci\n").unwrap();
    sila_testkit::assert_unreachable_endpoint_is_one_line(
        std::path::Path::new(env!("CARGO_BIN_EXE_sila-elb")),
        &["--config-dir", dir.path().to_str().unwrap(), "list"],
    );
}
