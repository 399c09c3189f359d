//! `sila-snapshot`: a thin front; the tool is in `lib.rs`.
use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = sila_snapshot::Cli::parse();
    let verbose = cli.global.verbose;
    sila_cli::run("sila-snapshot", verbose, sila_snapshot::run(cli))
}
