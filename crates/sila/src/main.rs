//! `sila`: a thin front; the umbrella is in `lib.rs`.
use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = sila::Cli::parse();
    let verbose = cli.global.verbose;
    sila_cli::run("sila", verbose, sila::run(cli))
}
