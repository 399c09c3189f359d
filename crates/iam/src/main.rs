//! `sila-iam`: a thin front; the tool is in `lib.rs`.
use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = sila_iam::Cli::parse();
    let verbose = cli.global.verbose;
    sila_cli::run("sila-iam", verbose, sila_iam::run(cli))
}
