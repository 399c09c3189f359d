//! The command-line contract every Sila tool shares (help, global options, usage errors).

#[test]
fn cli_contract() {
    sila_testkit::assert_cli_contract(std::path::Path::new(env!("CARGO_BIN_EXE_sila-route53")));
}

/// Every `--help` page, as it was when the snapshot was taken: flags, defaults and wording change
/// only on purpose (`cargo insta review` shows the difference).
#[test]
fn help_pages_are_unchanged() {
    insta::assert_snapshot!(sila_testkit::help_pages(std::path::Path::new(env!("CARGO_BIN_EXE_sila-route53"))));
}

#[test]
fn an_unreachable_endpoint_is_one_line_soon() {
    sila_testkit::assert_unreachable_endpoint_is_one_line(
        std::path::Path::new(env!("CARGO_BIN_EXE_sila-route53")),
        &["list-zones"],
    );
}
