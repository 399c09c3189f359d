//! The command-line contract every Sila tool shares (help, global options, usage errors).

#[test]
fn cli_contract() {
    sila_testkit::assert_cli_contract(std::path::Path::new(env!("CARGO_BIN_EXE_sila-chaos")));
}
