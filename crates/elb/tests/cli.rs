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
